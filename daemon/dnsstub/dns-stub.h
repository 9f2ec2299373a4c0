/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The DNS stub (DESIGN §7.1, issue #11): a DNS server over UDP and TCP on every sentinel
 * address the system is pointed at. Names of DNS resources are answered here (their proxy
 * IPs: proxy-ips.h); everything else goes to the sentinel's own upstream resolver (the
 * portal's upstream_do53, else the system's resolvers from before we took over): over
 * UDP for a UDP query, over TCP for a TCP one, the answer relayed unchanged but for the
 * ID, at most 5 s to wait, at most max_inflight queries forwarded at once.
 *
 * How queries reach it (design (b) of issue #11, chosen by measurement — see
 * docs/data-plane.md): the sentinels are local addresses on the TUN, and the kernel
 * delivers queries to ordinary sockets, bound to the tunnel device so that only this
 * host reaches them. The stub never makes those sockets itself: binding port 53 and the
 * device, and the firewall mark on the upstream sockets, need privileges, so a socket
 * factory (os.c in the daemon) hands them over — later an unprivileged engine can get
 * them over a Unix socket.
 *
 * Over UDP, queries to an upstream go out on a small pool of connected sockets, each on a
 * random port the kernel chose, each replaced by a fresh one (a new random port) after
 * 1,000 queries or 60 s, with a random ID of ours unique on its socket: as many (port, ID)
 * pairs are valid at any moment as queries are in flight, as with a socket per query
 * (RFC 5452's concern), and a connected socket takes datagrams from the upstream only. A
 * socket per query was measured first: 16.7 µs of the daemon's CPU per forwarded query,
 * 0.63x the direct rate; the pool, with sendmmsg/recvmmsg batches, 6.6-8 µs and 0.83x
 * at the median of 5 rounds (bench/bench_dns.py). Over TCP each query gets a connection of
 * its own.
 *
 * Runs on the sd-event loop of the caller; everything here is main-thread only except
 * the proxy IP table (fzd_dns_stub_proxy_ips()), which says how other threads use it. */

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "dns-resources.h"
#include "dns-stub-socket.h"
#include "macro.h"
#include "proxy-ips.h"

typedef struct FzdDnsStubParams {
        uint64_t timeout_usec;    /* for an upstream's answer; 0: 5 s */
        unsigned max_inflight;    /* queries forwarded at once; 0: 512 */
        unsigned max_tcp_clients; /* 0: 64; one more closes the oldest */
        uint64_t tcp_idle_usec;   /* a TCP client with no complete query for this long is closed; 0: 10 s */
} FzdDnsStubParams;

typedef struct FzdDnsStubStats {
        uint64_t queries_udp, queries_tcp;
        uint64_t answered_locally; /* resource names, PTR of proxy IPs, the canary */
        uint64_t forwarded;
        uint64_t malformed; /* FORMERR, NOTIMP, BADVERS, or dropped */
        uint64_t upstream_answers, upstream_failures, upstream_timeouts, upstream_mismatches;
        uint64_t upstream_sockets; /* UDP sockets to upstreams opened (pool, rotated) */
        uint64_t dropped_inflight_limit;
        uint64_t tcp_accepted, tcp_evicted, tcp_closed_idle, tcp_closed_bad;
        unsigned inflight, tcp_clients;
} FzdDnsStubStats;

typedef struct FzdDnsStub FzdDnsStub;

/* params may be NULL. factory is copied. */
int fzd_dns_stub_new(sd_event *event, const FzdDnsSocketFactory *factory, const FzdDnsStubParams *params,
                     FzdDnsStub **ret);
FzdDnsStub *fzd_dns_stub_free(FzdDnsStub *s);
DEFINE_POINTER_CLEANUP_FUNC(FzdDnsStub, fzd_dns_stub_free);

/* Serve exactly these sentinels, with these upstreams: sentinels that stay keep their
 * sockets (only the upstream changes), new ones get sockets, gone ones are closed. n = 0
 * stops serving. A sentinel that cannot get sockets is logged and left out; the first
 * such error is returned, the rest is applied. */
int fzd_dns_stub_set_servers(FzdDnsStub *s, const FzdDnsStubServer *servers, size_t n);

/* DNS resources. put adds or replaces by id; a resource whose pattern is unusable is left
 * out (-EINVAL, logged by the caller). */
int fzd_dns_stub_resource_put(FzdDnsStub *s, const char *id, const char *pattern, FzdDnsIpStack ip_stack);
int fzd_dns_stub_resource_remove(FzdDnsStub *s, const char *id);
void fzd_dns_stub_resources_clear(FzdDnsStub *s);
/* Room for n more resources before a known series of puts (a failure only means growing). */
int fzd_dns_stub_resources_reserve(FzdDnsStub *s, size_t n);

/* The proxy IP table: lives as long as the stub, i.e. the daemon. */
FzdProxyIps *fzd_dns_stub_proxy_ips(FzdDnsStub *s);

void fzd_dns_stub_get_stats(const FzdDnsStub *s, FzdDnsStubStats *ret);
/* The address the i-th server's socket of type is bound to (tests bind to port 0). */
int fzd_dns_stub_get_server_address(const FzdDnsStub *s, size_t i, int type, FzdSockaddr *ret);
