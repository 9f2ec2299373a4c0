/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The routing half of the OS operations (os.h): tun-firezone, its addresses, the tunnel,
 * DNS-proxy and sentinel ranges, CIDR resource routes, the Internet resource, and the
 * policy rules that send everything not marked FZD_FIREWALL_MARK to our table first.
 *
 *   table FZD_ROUTE_TABLE: <range> dev tun-firezone proto static scope link   (each range)
 *   rule  FZD_RULE_PRIORITY: not fwmark FZD_FIREWALL_MARK lookup FZD_ROUTE_TABLE  (v4, v6)
 *
 * Routes of a family are installed only while the tunnel has an address of that family.
 * Each change is incremental: adding or removing one resource is one netlink message.
 * All functions are synchronous (rtnetlink answers in microseconds); errors are logged
 * with what failed and returned as negative errno. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "cidr.h"
#include "interface-config.h"
#include "monitor.h"
#include "net-constants.h"

typedef struct FzdTunnel FzdTunnel;

typedef struct FzdTunnelEvents {
        /* Debounced; changes is a mask of FzdNetChange. A portal reconnect is due when
         * FZD_NET_CHANGE_DEFAULT_ROUTE is set. what names the bits ("route,default-route"). */
        void (*network_changed)(void *userdata, unsigned changes, const char *what);
} FzdTunnelEvents;

typedef struct FzdTunnelStats {
        uint64_t netlink_requests; /* request messages sent to the kernel, ever */
        uint64_t netlink_sends;    /* sendmsg calls, ever */
        size_t routes;             /* CIDR resource prefixes wanted (not counting base ranges) */
} FzdTunnelStats;

/* event and events may be NULL: no network monitoring then. */
int fzd_tunnel_new(sd_event *event, const FzdTunnelEvents *events, void *userdata, FzdTunnel **ret);
/* Tears the tunnel down if it is up. */
FzdTunnel *fzd_tunnel_free(FzdTunnel *t);
DEFINE_POINTER_CLEANUP_FUNC(FzdTunnel, fzd_tunnel_free);

/* At start, before fzd_tunnel_up: removes a stale tun-firezone (only if it is a TUN), our
 * policy rules and every route in our table, left by a run that was killed. Returns the
 * number of stale objects removed. -EBUSY while up. */
int fzd_tunnel_cleanup_stale(FzdTunnel *t);

/* Creates tun-firezone (or updates it when up): MTU, the portal's /32 and /128 (a bad or
 * missing one is skipped with a log line, its family stays off; so is IPv6 on a host that
 * has it disabled), the base ranges, the routes added so far, and the policy rules.
 * Returns the TUN fd (owned by t) in *ret_fd. */
int fzd_tunnel_up(FzdTunnel *t, const FzdInterfaceConfig *config, int *ret_fd);
/* Removes the rules and the device (with its routes and addresses); forgets the routes
 * and the Internet resource. Idempotent. */
void fzd_tunnel_down(FzdTunnel *t);

/* CIDR resource routes, reference-counted per prefix (two resources may share one): the
 * kernel sees one message when a prefix's count goes 0→1 or 1→0 and none otherwise.
 * Refused with -EINVAL and a log line: /0 (see fzd_tunnel_set_internet_resource), host
 * bits, loopback, multicast, IPv6 link-local. Allowed while down: installed at up.
 * Removing a prefix that was never added is -ENOENT (logged at debug level). */
int fzd_tunnel_route_add(FzdTunnel *t, const FzdCidr *cidr);
int fzd_tunnel_route_remove(FzdTunnel *t, const FzdCidr *cidr);
/* Many at once, in one batch (initial resource list). Bad prefixes are skipped with a
 * log line and counted in *ret_skipped; the rest is applied. Returns the first kernel
 * error, if any (the failed prefixes are not kept). */
int fzd_tunnel_routes_add(FzdTunnel *t, const FzdCidr *cidrs, size_t n, size_t *ret_skipped);
int fzd_tunnel_routes_remove(FzdTunnel *t, const FzdCidr *cidrs, size_t n);

/* The Internet resource: 0.0.0.0/0 and ::/0 in our table while enabled (the only way a
 * default route gets there). Its traffic would include the daemon's own, which is why
 * the portal and upstream DNS sockets must carry FZD_FIREWALL_MARK. */
int fzd_tunnel_set_internet_resource(FzdTunnel *t, bool enabled);

/* The DNS sentinels the stub serves, as local addresses of tun-firezone (/32, /128; see
 * fzd_rtnl_put_sentinel_addr()), so that the kernel delivers queries to the stub's sockets.
 * Replaces the previous set: one message per address added or removed. Only while up (the
 * set is forgotten at down); -ENETDOWN otherwise. */
int fzd_tunnel_set_sentinels(FzdTunnel *t, const FzdCidr *addrs, size_t n);

bool fzd_tunnel_is_up(const FzdTunnel *t);
/* Whether the tunnel is up with an address of that family (AF_INET, AF_INET6). */
bool fzd_tunnel_has_family(const FzdTunnel *t, int family);
const char *fzd_tunnel_interface_name(const FzdTunnel *t); /* NULL while down */
int fzd_tunnel_ifindex(const FzdTunnel *t);                /* 0 while down */
int fzd_tunnel_fd(const FzdTunnel *t);                     /* -EBADF while down; IFF_VNET_HDR */
void fzd_tunnel_get_stats(const FzdTunnel *t, FzdTunnelStats *ret);
/* Debounce of network change reports (default FZD_NET_MONITOR_DEBOUNCE_USEC). */
void fzd_tunnel_set_debounce(FzdTunnel *t, uint64_t usec);

/* The fixed ranges installed with the tunnel (DESIGN §6), for tests and callers that
 * need to know them. */
size_t fzd_tunnel_base_ranges(const FzdCidr **ret);
