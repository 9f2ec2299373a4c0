/* SPDX-License-Identifier: Apache-2.0 */
/* The tunnel facade: desired state (addresses, resource prefixes, Internet resource) and
 * the rtnetlink changes that take the kernel there, one batch per call. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fib_rules.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "netlink.h"
#include "routeset.h"
#include "rtnl.h"
#include "tun.h"
#include "tunnel.h"

static const int families[2] = { AF_INET, AF_INET6 };

#define FZD_TUNNEL_MAX_SENTINELS 32

struct FzdTunnel {
        sd_event *event;
        FzdNetlink *nl;
        FzdNlBatch *batch;
        FzdRouteSet *routes;
        FzdNetMonitor *monitor;
        FzdTunnelEvents events;
        void *userdata;

        int fd;
        int ifindex;
        FzdCidr addr[2]; /* [0] IPv4 /32, [1] IPv6 /128; family 0 = that family is off */
        bool internet;
        FzdCidr sentinels[FZD_TUNNEL_MAX_SENTINELS]; /* local addresses for the DNS stub */
        size_t n_sentinels;
        bool ipv6_off_logged; /* "IPv6 is disabled" said once per tunnel */
};

static bool family_on(const FzdTunnel *t, int family);

static int family_slot(int family) {
        return family == AF_INET6 ? 1 : 0;
}

/* ---- base ranges -------------------------------------------------------------------------- */

static const char *const base_range_strings[] = {
        "100.64.0.0/11",      "fd00:2021:1111::/107",                  /* tunnel */
        "100.96.0.0/11",      "fd00:2021:1111:8000::/107",             /* DNS proxy */
        "100.100.111.0/24",   "fd00:2021:1111:8000:100:100:111:0/120", /* DNS sentinels */
};

size_t fzd_tunnel_base_ranges(const FzdCidr **ret) {
        static FzdCidr ranges[ELEMENTSOF(base_range_strings)];
        static bool parsed = false;

        if (!parsed) {
                for (size_t i = 0; i < ELEMENTSOF(base_range_strings); i++)
                        if (fzd_cidr_parse(base_range_strings[i], false, &ranges[i]) < 0)
                                abort(); /* constants */
                parsed = true;
        }
        *ret = ranges;
        return ELEMENTSOF(ranges);
}

static bool is_base_range(const FzdCidr *c) {
        const FzdCidr *base;
        size_t n = fzd_tunnel_base_ranges(&base);

        for (size_t i = 0; i < n; i++)
                if (fzd_cidr_equal(&base[i], c))
                        return true;
        return false;
}

static FzdCidr default_route(int family) {
        return (FzdCidr) { .family = family, .prefixlen = 0 };
}

/* ---- life cycle ----------------------------------------------------------------------------- */

static void on_network_change(FzdNetMonitor *m, unsigned changes, void *userdata) {
        FzdTunnel *t = userdata;
        char what[96];

        fzd_net_change_to_string(changes, what, sizeof what);
        if (t->events.network_changed)
                t->events.network_changed(t->userdata, changes, what);
}

int fzd_tunnel_new(sd_event *event, const FzdTunnelEvents *events, void *userdata, FzdTunnel **ret) {
        _cleanup_(fzd_tunnel_freep) FzdTunnel *t = NULL;
        int r;

        t = calloc(1, sizeof *t);
        if (!t)
                return log_oom();
        t->fd = -EBADF;
        t->userdata = userdata;
        if (events)
                t->events = *events;

        r = fzd_netlink_open(&t->nl);
        if (r < 0)
                return r;
        r = fzd_nl_batch_new(&t->batch);
        if (r < 0)
                return log_oom();
        r = fzd_route_set_new(&t->routes);
        if (r < 0)
                return log_oom();

        if (event && t->events.network_changed) {
                t->event = sd_event_ref(event);
                r = fzd_net_monitor_new(event, FZD_ROUTE_TABLE, on_network_change, t, &t->monitor);
                if (r < 0)
                        return r;
                fzd_net_monitor_set_own_link(t->monitor, FZD_TUN_NAME, 0);
        }

        *ret = TAKE_PTR(t);
        return 0;
}

FzdTunnel *fzd_tunnel_free(FzdTunnel *t) {
        if (!t)
                return NULL;
        fzd_tunnel_down(t);
        fzd_net_monitor_free(t->monitor);
        fzd_route_set_free(t->routes);
        fzd_nl_batch_free(t->batch);
        fzd_netlink_free(t->nl);
        sd_event_unref(t->event);
        return mfree(t);
}

bool fzd_tunnel_is_up(const FzdTunnel *t) {
        return t->fd >= 0;
}

bool fzd_tunnel_has_family(const FzdTunnel *t, int family) {
        return family_on(t, family);
}

const char *fzd_tunnel_interface_name(const FzdTunnel *t) {
        return t->fd >= 0 ? FZD_TUN_NAME : NULL;
}

int fzd_tunnel_ifindex(const FzdTunnel *t) {
        return t->fd >= 0 ? t->ifindex : 0;
}

int fzd_tunnel_fd(const FzdTunnel *t) {
        return t->fd;
}

void fzd_tunnel_get_stats(const FzdTunnel *t, FzdTunnelStats *ret) {
        FzdNetlinkStats s;

        fzd_netlink_get_stats(t->nl, &s);
        *ret = (FzdTunnelStats) {
                .netlink_requests = s.requests,
                .netlink_sends = s.sends,
                .routes = fzd_route_set_size(t->routes),
        };
}

void fzd_tunnel_set_debounce(FzdTunnel *t, uint64_t usec) {
        if (t->monitor)
                fzd_net_monitor_set_debounce(t->monitor, usec);
}

/* ---- building blocks ------------------------------------------------------------------------- */

static bool family_on(const FzdTunnel *t, int family) {
        return t->fd >= 0 && t->addr[family_slot(family)].family != 0;
}

static int put_rule(FzdTunnel *t, uint16_t type, int family) {
        return fzd_rtnl_put_rule(t->batch, type, family, FZD_RULE_PRIORITY, FZD_ROUTE_TABLE, FZD_FIREWALL_MARK);
}

static int put_route(FzdTunnel *t, uint16_t type, const FzdCidr *c) {
        return fzd_rtnl_put_route(t->batch, type, t->ifindex, FZD_ROUTE_TABLE, c);
}

/* Every route of one family: base ranges, resource prefixes, Internet resource. */
static int put_family_routes(FzdTunnel *t, uint16_t type, int family) {
        const FzdCidr *base;
        size_t n = fzd_tunnel_base_ranges(&base), i = 0;
        FzdCidr c;
        int r;

        for (size_t k = 0; k < n; k++)
                if (base[k].family == family) {
                        r = put_route(t, type, &base[k]);
                        if (r < 0)
                                return r;
                }
        while (fzd_route_set_next(t->routes, &i, &c))
                if (c.family == family && !is_base_range(&c)) {
                        r = put_route(t, type, &c);
                        if (r < 0)
                                return r;
                }
        if (t->internet) {
                c = default_route(family);
                r = put_route(t, type, &c);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* After a commit: resource prefixes the kernel refused are not kept (they were logged);
 * any other failure is returned. */
static int settle_batch(FzdTunnel *t) {
        int essential = 0;

        for (size_t i = 0; i < fzd_nl_batch_count(t->batch); i++) {
                const struct nlmsghdr *nlh = fzd_nl_batch_request(t->batch, i);
                int error = fzd_nl_batch_result(t->batch, i);
                FzdRtnlRoute route;

                if (error >= 0)
                        continue;
                if (nlh->nlmsg_type == RTM_NEWROUTE && fzd_rtnl_parse_route(nlh, &route) >= 0 &&
                    route.dst.prefixlen > 0 && !is_base_range(&route.dst) &&
                    fzd_route_set_remove(t->routes, &route.dst))
                        continue;
                if (essential == 0)
                        essential = error;
        }
        return essential;
}

static const char *address_check(const FzdCidr *a) {
        return fzd_address_problem(a->family, &a->addr);
}

/* Whether the kernel lets the interface have IPv6. Not when IPv6 is disabled for it
 * (net.ipv6.conf.<if>.disable_ipv6, which net.ipv6.conf.all.disable_ipv6=1 sets on every
 * interface, ours included), nor when the kernel runs without IPv6 (ipv6.disable=1: there
 * is no /proc/sys/net/ipv6). /proc/sys/net is the caller's network namespace. Anything else
 * unclear: assume it is there, and netlink will say otherwise. */
static bool ipv6_available(const char *ifname, const char **ret_why) {
        char path[sizeof "/proc/sys/net/ipv6/conf//disable_ipv6" + IF_NAMESIZE], value = 0;
        int fd;

        /* Not from /proc/sys: the shipped unit hides it (ProcSubset=pid), and its absence would
         * read as a kernel without IPv6. */
        fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 && errno == EAFNOSUPPORT) {
                *ret_why = "the kernel runs without IPv6";
                return false;
        }
        if (fd >= 0)
                (void) close(fd);
        (void) snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return true;
        if (read(fd, &value, 1) != 1)
                value = 0;
        (void) close(fd);
        *ret_why = "net.ipv6.conf.all.disable_ipv6 or net.ipv6.conf." FZD_TUN_NAME ".disable_ipv6 is 1";
        return value != '1';
}

/* ---- up and down ------------------------------------------------------------------------------ */

static void teardown(FzdTunnel *t, bool forget);

int fzd_tunnel_up(FzdTunnel *t, const FzdInterfaceConfig *config, int *ret_fd) {
        FzdCidr want[2] = {};
        bool created = false;
        int r;

        if (!config)
                return -EINVAL;
        if (config->has_ipv4)
                (void) fzd_cidr_from_address(AF_INET, &config->ipv4, 32, &want[0]);
        if (config->has_ipv6)
                (void) fzd_cidr_from_address(AF_INET6, &config->ipv6, 128, &want[1]);
        for (size_t f = 0; f < 2; f++) {
                const char *problem;
                char s[FZD_CIDR_STRING_MAX];

                if (want[f].family == 0)
                        continue;
                problem = address_check(&want[f]);
                if (problem) {
                        (void) fzd_cidr_to_string(&want[f], s, sizeof s);
                        log_warning("Ignoring interface address %s from the portal: %s; %s stays off.", s, problem,
                                    fzd_family_name(want[f].family));
                        want[f] = (FzdCidr) {};
                }
        }
        if (want[0].family == 0 && want[1].family == 0)
                return log_error_errno(EINVAL, "Refusing to bring up %s: the portal sent no usable interface address.",
                                       FZD_TUN_NAME);

        if (t->fd < 0) {
                /* With a virtio-net header: the data plane reads TSO super-packets from it. */
                r = fzd_tun_create_with(FZD_TUN_NAME, FZD_TUN_VNET_HDR, &t->fd, &t->ifindex);
                if (r == -EEXIST)
                        return log_error_errno(r,
                                               "Failed to create %s: an interface of that name already exists. Is "
                                               "another Firezone client running?",
                                               FZD_TUN_NAME);
                if (r < 0)
                        return r;
                created = true;
                if (t->monitor)
                        fzd_net_monitor_set_own_link(t->monitor, FZD_TUN_NAME, t->ifindex);
        }

        /* A host without IPv6 gets an IPv4-only tunnel instead of none. */
        if (want[1].family != 0) {
                const char *why = NULL;

                if (!ipv6_available(FZD_TUN_NAME, &why)) {
                        if (!t->ipv6_off_logged)
                                log_warning("IPv6 is disabled on this host (%s); %s runs IPv4-only, and IPv6 "
                                            "resources are not routed.",
                                            why, FZD_TUN_NAME);
                        t->ipv6_off_logged = true;
                        want[1] = (FzdCidr) {};
                        if (want[0].family == 0) {
                                r = log_error_errno(EAFNOSUPPORT, "Refusing to bring up %s: the portal sent only an "
                                                                  "IPv6 address and IPv6 is disabled on this host.",
                                                    FZD_TUN_NAME);
                                goto fail;
                        }
                }
        }

        fzd_nl_batch_reset(t->batch);
        r = 0;
        if (created)
                r = fzd_rtnl_put_link_up(t->batch, t->ifindex, FZD_TUN_MTU);

        for (size_t f = 0; f < 2 && r >= 0; f++) {
                FzdCidr *old = &t->addr[f], *new = &want[f];
                bool was_on = old->family != 0, on = new->family != 0;
                int family = families[f];

                if (fzd_cidr_equal(old, new) || (!was_on && !on))
                        continue;
                if (was_on && on) {
                        /* New address, same family: routes and rule stay. New first: when
                         * a device loses its last IPv4 address, the kernel flushes its IPv4
                         * routes. */
                        r = fzd_rtnl_put_addr(t->batch, RTM_NEWADDR, t->ifindex, new);
                        if (r >= 0)
                                r = fzd_rtnl_put_addr(t->batch, RTM_DELADDR, t->ifindex, old);
                } else if (on) {
                        r = fzd_rtnl_put_addr(t->batch, RTM_NEWADDR, t->ifindex, new);
                        if (r >= 0)
                                r = put_family_routes(t, RTM_NEWROUTE, family);
                        /* Rules last: traffic is diverted only once the table is complete. */
                        if (r >= 0)
                                r = put_rule(t, RTM_NEWRULE, family);
                } else {
                        r = put_rule(t, RTM_DELRULE, family);
                        if (r >= 0)
                                r = put_family_routes(t, RTM_DELROUTE, family);
                        if (r >= 0)
                                r = fzd_rtnl_put_addr(t->batch, RTM_DELADDR, t->ifindex, old);
                }
                *old = *new;
        }
        if (r < 0) {
                log_error_errno(r, "Failed to build the rtnetlink requests for %s: %m", FZD_TUN_NAME);
                goto fail;
        }

        r = fzd_netlink_commit(t->nl, t->batch);
        if (r < 0)
                r = settle_batch(t);
        if (r < 0) {
                log_error_errno(r, "Failed to set up %s: %m", FZD_TUN_NAME);
                goto fail;
        }

        if (created)
                log_info("Created %s (#%d, MTU %d).", FZD_TUN_NAME, t->ifindex, FZD_TUN_MTU);
        if (ret_fd)
                *ret_fd = t->fd;
        return 0;

fail:
        /* A half-created device is worse than none; an update that failed leaves what
         * worked in place. */
        if (created)
                teardown(t, false);
        return r;
}

/* Removes what is in the kernel; with forget, also the wanted routes and the Internet
 * resource (sign-out), without (a first up that failed) they stay for the next up. */
static void teardown(FzdTunnel *t, bool forget) {
        if (t->fd >= 0) {
                fzd_nl_batch_reset(t->batch);
                for (size_t f = 0; f < 2; f++)
                        if (t->addr[f].family != 0)
                                (void) put_rule(t, RTM_DELRULE, families[f]);
                /* Explicitly, not only by closing our fd: a data plane may hold a dup. */
                (void) fzd_rtnl_put_link_delete(t->batch, t->ifindex);
                if (fzd_netlink_commit(t->nl, t->batch) < 0)
                        log_warning("Some of %s could not be removed; the next start cleans up what is left.",
                                    FZD_TUN_NAME);
                t->fd = safe_close(t->fd);
                log_info("Removed %s.", FZD_TUN_NAME);
        }
        t->ifindex = 0;
        t->ipv6_off_logged = false;
        memset(t->addr, 0, sizeof t->addr);
        t->n_sentinels = 0; /* they went with the device */
        if (forget) {
                t->internet = false;
                fzd_route_set_clear(t->routes);
        }
}

void fzd_tunnel_down(FzdTunnel *t) {
        teardown(t, true);
}

/* ---- DNS sentinels ------------------------------------------------------------------------------ */

static bool cidr_in(const FzdCidr *c, const FzdCidr *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (fzd_cidr_equal(c, &v[i]))
                        return true;
        return false;
}

int fzd_tunnel_set_sentinels(FzdTunnel *t, const FzdCidr *addrs, size_t n) {
        int r = 0;

        if (n > FZD_TUNNEL_MAX_SENTINELS)
                return -EINVAL;
        if (t->fd < 0)
                return n == 0 ? 0 : -ENETDOWN;
        fzd_nl_batch_reset(t->batch);
        /* New ones first: a query on its way to one that stays is never refused. */
        for (size_t i = 0; i < n && r >= 0; i++)
                if (!cidr_in(&addrs[i], t->sentinels, t->n_sentinels))
                        r = fzd_rtnl_put_sentinel_addr(t->batch, RTM_NEWADDR, t->ifindex, &addrs[i]);
        for (size_t i = 0; i < t->n_sentinels && r >= 0; i++)
                if (!cidr_in(&t->sentinels[i], addrs, n))
                        r = fzd_rtnl_put_sentinel_addr(t->batch, RTM_DELADDR, t->ifindex, &t->sentinels[i]);
        if (r >= 0 && fzd_nl_batch_count(t->batch) > 0)
                r = fzd_netlink_commit(t->nl, t->batch);
        if (r < 0)
                return log_error_errno(r, "Failed to put the DNS sentinels on %s: %m", FZD_TUN_NAME);
        memcpy(t->sentinels, addrs, n * sizeof addrs[0]);
        t->n_sentinels = n;
        return 0;
}

/* ---- resource routes ------------------------------------------------------------------------------ */

static bool check_route(const FzdCidr *c) {
        const char *problem = fzd_cidr_route_problem(c);
        char s[FZD_CIDR_STRING_MAX];

        if (!problem)
                return true;
        if (fzd_cidr_to_string(c, s, sizeof s) < 0)
                strcpy(s, "(invalid)");
        log_warning("Ignoring route %s from the portal: %s.", s, problem);
        return false;
}

/* Whether a prefix whose count just went 0→1 or 1→0 needs a kernel change now. */
static bool installable(const FzdTunnel *t, const FzdCidr *c) {
        return family_on(t, c->family) && !is_base_range(c);
}

int fzd_tunnel_routes_add(FzdTunnel *t, const FzdCidr *cidrs, size_t n, size_t *ret_skipped) {
        size_t skipped = 0;
        int r, result = 0;

        fzd_nl_batch_reset(t->batch);
        for (size_t i = 0; i < n; i++) {
                if (!check_route(&cidrs[i])) {
                        skipped++;
                        continue;
                }
                r = fzd_route_set_ref(t->routes, &cidrs[i]);
                if (r < 0) {
                        char s[FZD_CIDR_STRING_MAX];
                        (void) fzd_cidr_to_string(&cidrs[i], s, sizeof s);
                        log_error_errno(r, "Failed to add route %s: %m", s);
                        skipped++;
                        continue;
                }
                if (r == 1 && installable(t, &cidrs[i])) {
                        r = put_route(t, RTM_NEWROUTE, &cidrs[i]);
                        if (r < 0) {
                                /* Out of memory: send what is built, keep the books straight
                                 * for the rest (not added). */
                                (void) fzd_route_set_unref(t->routes, &cidrs[i]);
                                result = log_error_errno(r, "Failed to build route requests: %m");
                                skipped += n - i;
                                break;
                        }
                }
        }
        if (ret_skipped)
                *ret_skipped = skipped;
        if (fzd_nl_batch_count(t->batch) > 0) {
                r = fzd_netlink_commit(t->nl, t->batch);
                if (r < 0) {
                        (void) settle_batch(t); /* failed prefixes are not kept */
                        if (result == 0)
                                result = r;
                }
        }
        return result;
}

int fzd_tunnel_route_add(FzdTunnel *t, const FzdCidr *cidr) {
        size_t skipped = 0;
        int r;

        r = fzd_tunnel_routes_add(t, cidr, 1, &skipped);
        if (r < 0)
                return r;
        return skipped > 0 ? -EINVAL : 0;
}

int fzd_tunnel_routes_remove(FzdTunnel *t, const FzdCidr *cidrs, size_t n) {
        int r, result = 0;

        fzd_nl_batch_reset(t->batch);
        for (size_t i = 0; i < n; i++) {
                r = fzd_route_set_unref(t->routes, &cidrs[i]);
                if (r == -ENOENT) {
                        char s[FZD_CIDR_STRING_MAX];
                        if (fzd_cidr_to_string(&cidrs[i], s, sizeof s) < 0)
                                strcpy(s, "(invalid)");
                        log_debug("Route %s was not added, not removing it.", s);
                        if (result == 0)
                                result = r;
                        continue;
                }
                if (r == 0 && installable(t, &cidrs[i])) {
                        r = put_route(t, RTM_DELROUTE, &cidrs[i]);
                        if (r < 0) {
                                /* Out of memory: this one and the rest stay as they are. */
                                (void) fzd_route_set_ref(t->routes, &cidrs[i]);
                                result = log_error_errno(r, "Failed to build route requests: %m");
                                break;
                        }
                }
        }
        if (fzd_nl_batch_count(t->batch) > 0) {
                r = fzd_netlink_commit(t->nl, t->batch);
                if (r < 0)
                        return r;
        }
        return result;
}

int fzd_tunnel_route_remove(FzdTunnel *t, const FzdCidr *cidr) {
        return fzd_tunnel_routes_remove(t, cidr, 1);
}

int fzd_tunnel_set_internet_resource(FzdTunnel *t, bool enabled) {
        int sent[2], n_sent = 0, r = 0;

        if (t->internet == enabled)
                return 0;
        fzd_nl_batch_reset(t->batch);
        for (size_t f = 0; f < 2 && r >= 0; f++)
                if (family_on(t, families[f])) {
                        FzdCidr c = default_route(families[f]);
                        r = put_route(t, enabled ? RTM_NEWROUTE : RTM_DELROUTE, &c);
                        sent[n_sent++] = families[f];
                }
        if (r >= 0 && n_sent > 0)
                r = fzd_netlink_commit(t->nl, t->batch);
        if (r < 0) {
                log_error_errno(r, "Failed to %s the Internet resource: %m", enabled ? "enable" : "disable");
                /* Enabling is all or nothing: take back a family that made it. */
                if (enabled && n_sent == 2 && fzd_nl_batch_count(t->batch) == 2) {
                        for (int i = 0; i < 2; i++)
                                if (fzd_nl_batch_result(t->batch, (size_t) i) == 0) {
                                        FzdCidr c = default_route(sent[i]);
                                        fzd_nl_batch_reset(t->batch);
                                        (void) put_route(t, RTM_DELROUTE, &c);
                                        (void) fzd_netlink_commit(t->nl, t->batch);
                                        break;
                                }
                }
                return r;
        }
        t->internet = enabled;
        log_info("Internet resource %s.", enabled ? "enabled" : "disabled");
        return 0;
}

/* ---- stale state of a killed run ------------------------------------------------------------------ */

typedef struct Stale {
        FzdTunnel *t;
        size_t batch_start; /* where the current dump's requests begin */
        FzdRtnlLink link;
        bool link_found;
} Stale;

static int stale_link(const struct nlmsghdr *nlh, void *userdata) {
        Stale *s = userdata;

        if (nlh && nlh->nlmsg_type == RTM_NEWLINK && fzd_rtnl_parse_link(nlh, &s->link) >= 0)
                s->link_found = true;
        return 0;
}

static int stale_rule(const struct nlmsghdr *nlh, void *userdata) {
        Stale *s = userdata;
        FzdRtnlRule rule;

        if (!nlh) { /* dump restarted */
                fzd_nl_batch_truncate(s->t->batch, s->batch_start);
                return 0;
        }
        if (fzd_rtnl_parse_rule(nlh, &rule) < 0 || rule.table != FZD_ROUTE_TABLE)
                return 0;
        /* Sent back as it was dumped, so the kernel matches every field of it. */
        return fzd_nl_batch_put_copy(s->t->batch, nlh, RTM_DELRULE, 0, FZD_NL_IGNORE_MISSING);
}

static int stale_route(const struct nlmsghdr *nlh, void *userdata) {
        Stale *s = userdata;
        FzdRtnlRoute route;

        if (!nlh) {
                fzd_nl_batch_truncate(s->t->batch, s->batch_start);
                return 0;
        }
        if (fzd_rtnl_parse_route(nlh, &route) < 0 || route.table != FZD_ROUTE_TABLE)
                return 0;
        return fzd_rtnl_put_route_delete_like(s->t->batch, &route);
}

int fzd_tunnel_cleanup_stale(FzdTunnel *t) {
        Stale s = { .t = t };
        FzdNlBuffer buf;
        struct nlmsghdr *req;
        size_t removed = 0;
        int r, result = 0;

        if (t->fd >= 0)
                return -EBUSY;

        req = fzd_rtnl_link_get_by_name(&buf, FZD_TUN_NAME);
        if (!req)
                return -ENOBUFS;
        r = fzd_netlink_call(t->nl, req, stale_link, &s);
        if (r < 0 && r != -ENODEV)
                return log_error_errno(r, "Failed to look for a stale %s: %m", FZD_TUN_NAME);
        if (s.link_found) {
                if (!streq(s.link.kind, "tun"))
                        /* Not something we create: leave it, but say why we cannot start. */
                        result = log_error_errno(EEXIST,
                                                 "An interface named %s exists and is not a TUN device (kind "
                                                 "'%s'); not touching it. Remove it to use Firezone.",
                                                 FZD_TUN_NAME, s.link.kind);
                else {
                        fzd_nl_batch_reset(t->batch);
                        r = fzd_rtnl_put_link_delete(t->batch, s.link.ifindex);
                        if (r >= 0)
                                r = fzd_netlink_commit(t->nl, t->batch);
                        if (r < 0)
                                return log_error_errno(r, "Failed to remove the stale %s: %m", FZD_TUN_NAME);
                        log_info("Removed a stale %s (#%d) left by a previous run.", FZD_TUN_NAME, s.link.ifindex);
                        removed++;
                }
        }

        /* Rules first, so no lookup goes to the table while it is being emptied. */
        fzd_nl_batch_reset(t->batch);
        for (size_t f = 0; f < 2; f++) {
                s.batch_start = fzd_nl_batch_count(t->batch);
                req = fzd_rtnl_rule_dump_request(&buf, families[f]);
                r = fzd_netlink_dump(t->nl, req, stale_rule, &s);
                if (r == -EAFNOSUPPORT)
                        continue;
                if (r < 0)
                        return log_error_errno(r, "Failed to list %s policy rules: %m", fzd_family_name(families[f]));
        }
        for (size_t f = 0; f < 2; f++) {
                s.batch_start = fzd_nl_batch_count(t->batch);
                req = fzd_rtnl_route_dump_request(&buf, families[f], FZD_ROUTE_TABLE);
                if (!req)
                        return -ENOBUFS;
                r = fzd_netlink_dump(t->nl, req, stale_route, &s);
                if (r == -EAFNOSUPPORT || r == -ENOENT) /* no IPv6; table does not exist (yet) */
                        continue;
                if (r < 0)
                        return log_error_errno(r, "Failed to list the %s routes of table %u: %m",
                                               fzd_family_name(families[f]), (unsigned) FZD_ROUTE_TABLE);
        }
        if (fzd_nl_batch_count(t->batch) > 0) {
                size_t n = fzd_nl_batch_count(t->batch);

                r = fzd_netlink_commit(t->nl, t->batch);
                if (r < 0)
                        return log_error_errno(r, "Failed to remove stale rules and routes of table %u: %m",
                                               (unsigned) FZD_ROUTE_TABLE);
                log_info("Removed %zu stale policy rules and routes of table %u left by a previous run.", n,
                         (unsigned) FZD_ROUTE_TABLE);
                removed += n;
        }
        if (result < 0)
                return result;
        return (int) (removed > INT32_MAX ? INT32_MAX : removed);
}
