/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* OS operations: the privileged side of the engine ↔ os split. Everything here needs
 * CAP_NET_ADMIN or root: the TUN device, addresses, routes and policy rules (rtnetlink
 * through libmnl), and DNS control (systemd-resolved's D-Bus API or /etc/resolv.conf).
 * The manager calls these with data the engine produced; they validate what they get. */

#include <netinet/in.h>
#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "cidr.h"
#include "dnsstub/dns-stub-socket.h"
#include "dns-control-mode.h"
#include "error.h"
#include "interface-config.h"
#include "macro.h"
#include "net-constants.h"

typedef struct FzdOsEvents {
        /* The default route changed: the portal connection may be stale. Debounced. */
        void (*network_changed)(void *userdata, const char *what);
        /* The DNS settings that fzd_os_tunnel_up() started to apply are in place (error
         * NULL), or failed (the tunnel stays up, but names of DNS resources will not resolve
         * until it is fixed). */
        void (*dns_applied)(void *userdata, const FzdError *error);
        /* The DNS sentinels on the TUN, each with the upstream it forwards to, changed (the
         * tunnel came up, the portal's or the system's resolvers changed; n = 0: the tunnel
         * is going down). Called synchronously, after the addresses are on the TUN and
         * before DNS control points the system at them: the DNS stub serves them from
         * here on (fzd_dns_stub_set_servers()). */
        void (*dns_servers_changed)(void *userdata, const FzdDnsStubServer *servers, size_t n);
} FzdOsEvents;

typedef struct FzdOsParams {
        FzdDnsControl dns_control; /* AUTO = detect */
        const char *state_dir;     /* resolv.conf backup lives here */
        sd_bus *system_bus;        /* unused: DNS control opens a connection of its own (see os.c) */
        bool no_ipc;               /* never ask the bus unless DNS control needs systemd-resolved */
} FzdOsParams;

typedef struct FzdOs FzdOs;

int fzd_os_new(sd_event *event, const FzdOsParams *params, const FzdOsEvents *events, void *userdata, FzdOs **ret);
FzdOs *fzd_os_free(FzdOs *os);
DEFINE_POINTER_CLEANUP_FUNC(FzdOs, fzd_os_free);

/* At start: remove a stale tun-firezone, our rules and routes, and DNS settings left by a
 * killed run (restoring /etc/resolv.conf from the backup). */
int fzd_os_cleanup_stale(FzdOs *os);

/* Create (or update) tun-firezone with the interface addresses, the tunnel, DNS-proxy and
 * sentinel routes, our table and policy rules, and DNS control. Returns the TUN fd
 * (owned by os) in *ret_fd if non-NULL. Returns 1 if DNS settings are being applied (the
 * dns_applied event follows), 0 if there is nothing to wait for (DNS control disabled). */
int fzd_os_tunnel_up(FzdOs *os, const FzdInterfaceConfig *config, int *ret_fd);
/* Remove everything tunnel_up created (DNS settings reverted asynchronously). Idempotent.
 * fzd_os_free() does the same synchronously, for the exit path. */
void fzd_os_tunnel_down(FzdOs *os);

/* Routes of CIDR resources: a handful of netlink messages each, never a re-sync.
 * Reference-counted per prefix; allowed while down (installed at up). Bad prefixes (/0,
 * host bits, loopback, …) are refused with -EINVAL and a log line. */
int fzd_os_route_add(FzdOs *os, const FzdCidr *cidr);
int fzd_os_route_remove(FzdOs *os, const FzdCidr *cidr);
/* Many at once, in one batch (the initial resource list); bad ones are skipped. */
int fzd_os_routes_add(FzdOs *os, const FzdCidr *cidrs, size_t n);
/* The Internet resource: default routes in our table while enabled. */
int fzd_os_set_internet_resource(FzdOs *os, bool enabled);

/* The sockets the DNS stub needs and may not make itself: UDP and TCP on a sentinel,
 * bound to tun-firezone so that only this host reaches them (the kernel delivers a
 * packet that came in on another interface to no socket bound to the TUN), and upstream
 * sockets carrying FZD_FIREWALL_MARK. Valid as long as os. */
const FzdDnsSocketFactory *fzd_os_dns_socket_factory(FzdOs *os);

/* The DNS control mode in use ("systemd-resolved", "etc-resolv-conf", "disabled"). */
const char *fzd_os_dns_control(const FzdOs *os);
const char *fzd_os_interface_name(const FzdOs *os); /* NULL while down */

/* The TUN fd while up (opened with IFF_VNET_HDR), or -EBADF. Owned by the OS layer. */
int fzd_os_tun_fd(const FzdOs *os);
/* A UDP socket of the data plane (DESIGN §7.3): port 52625 (else ephemeral), the daemon's
 * firewall mark, IP_PKTINFO, large buffers, GRO. The caller owns the fd. */
int fzd_os_open_udp(FzdOs *os, int family, int *ret_fd);

/* The OS layer as the manager uses it: an operation table, so tests pass in a fake. */
typedef struct FzdOsOps {
        /* As fzd_os_tunnel_up() without the fd. */
        int (*tunnel_up)(FzdOs *os, const FzdInterfaceConfig *config);
        void (*tunnel_down)(FzdOs *os);
        int (*route_add)(FzdOs *os, const FzdCidr *cidr);
        int (*route_remove)(FzdOs *os, const FzdCidr *cidr);
        int (*routes_add)(FzdOs *os, const FzdCidr *cidrs, size_t n);
        int (*set_internet_resource)(FzdOs *os, bool enabled);
        const char *(*dns_control)(const FzdOs *os);
        const char *(*interface_name)(const FzdOs *os);
        int (*tun_fd)(const FzdOs *os);
        int (*open_udp)(FzdOs *os, int family, int *ret_fd);
        FzdOs *(*free)(FzdOs *os);
} FzdOsOps;

extern const FzdOsOps fzd_os_ops;
