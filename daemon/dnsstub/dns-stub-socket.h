/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What the DNS stub and the OS layer exchange (the engine ↔ os split of DESIGN §1): the
 * sentinels to serve with their upstreams (os.c computes them), and the sockets the stub
 * needs but must not have to make itself (os.c makes them). Plain types only, so that
 * os.h can include this without pulling in the stub. */

#include <netinet/in.h>
#include <sys/socket.h>

typedef union FzdSockaddr {
        struct sockaddr sa;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
} FzdSockaddr;

/* One sentinel the system is pointed at, and the resolver it forwards to. */
typedef struct FzdDnsStubServer {
        FzdSockaddr sentinel; /* address and port (53) to serve on */
        FzdSockaddr upstream; /* sa_family 0: none (forwarded queries get SERVFAIL) */
} FzdDnsStubServer;

/* The sockets the stub may not be allowed to make itself. Each returns a non-blocking,
 * close-on-exec fd, or a negative errno. */
typedef struct FzdDnsSocketFactory {
        /* A socket on addr (SOCK_DGRAM; or SOCK_STREAM, already listening) that only
         * this host can reach. */
        int (*listen)(void *userdata, int type, const FzdSockaddr *addr);
        /* An unbound socket (SOCK_DGRAM or SOCK_STREAM) of family for one query to an
         * upstream, carrying the daemon's firewall mark so that it bypasses the tunnel. */
        int (*upstream)(void *userdata, int family, int type);
        void *userdata;
} FzdDnsSocketFactory;
