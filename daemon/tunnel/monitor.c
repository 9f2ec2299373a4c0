/* SPDX-License-Identifier: Apache-2.0 */
/* rtnetlink multicast listener with a debounce timer. */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/rtnetlink.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "monitor.h"
#include "netlink.h"
#include "rtnl.h"

#define RCVBUF_WANTED       (4 * 1024 * 1024)
#define RECV_BUFFER_SIZE    (64U * 1024U)
#define DEFAULT_ROUTES_MAX  256
#define DEBOUNCE_CAP_FACTOR 4 /* a steady stream of events still reports this often */

typedef struct DefaultRoute {
        int family;
        uint32_t table, priority;
        uint8_t type, tos;
        int oif;
        bool has_gateway;
        uint8_t gateway[16];
} DefaultRoute;

typedef struct DefaultRoutes {
        DefaultRoute items[DEFAULT_ROUTES_MAX];
        size_t n;
        bool truncated;
} DefaultRoutes;

struct FzdNetMonitor {
        sd_event *event;
        struct mnl_socket *sock;
        sd_event_source *io, *timer;
        FzdNetlink *query; /* separate socket for dumps */
        uint8_t *rbuf;

        uint32_t own_table;
        char own_ifname[IF_NAMESIZE];
        int own_ifindex;

        uint64_t debounce_usec;
        uint64_t first_event_usec; /* of the pending window; 0 if none */
        unsigned pending;
        bool default_route_touched;

        DefaultRoutes *known;

        FzdNetMonitorHandler handler;
        void *userdata;
};

void fzd_net_change_to_string(unsigned changes, char *buf, size_t size) {
        static const struct {
                unsigned bit;
                const char *name;
        } names[] = {
                { FZD_NET_CHANGE_LINK, "link" },
                { FZD_NET_CHANGE_ADDRESS, "address" },
                { FZD_NET_CHANGE_ROUTE, "route" },
                { FZD_NET_CHANGE_DEFAULT_ROUTE, "default-route" },
                { FZD_NET_CHANGE_OVERRUN, "overrun" },
        };
        size_t used = 0;

        if (size == 0)
                return;
        buf[0] = '\0';
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                int n;
                if (!(changes & names[i].bit))
                        continue;
                n = snprintf(buf + used, size - used, "%s%s", used ? "," : "", names[i].name);
                if (n < 0 || (size_t) n >= size - used)
                        return;
                used += (size_t) n;
        }
}

/* ---- the set of default routes ----------------------------------------------------------- */

static bool is_tracked_default(const FzdNetMonitor *m, const FzdRtnlRoute *r) {
        if (r->dst.prefixlen != 0 || (r->rtm_flags & RTM_F_CLONED))
                return false;
        if (r->table == m->own_table || r->table == RT_TABLE_LOCAL)
                return false;
        return r->type == RTN_UNICAST || r->type == RTN_BLACKHOLE || r->type == RTN_UNREACHABLE ||
               r->type == RTN_PROHIBIT || r->type == RTN_THROW;
}

static int compare_default(const void *a, const void *b) {
        return memcmp(a, b, sizeof(DefaultRoute));
}

typedef struct Collect {
        FzdNetMonitor *m;
        DefaultRoutes *routes;
} Collect;

static int collect_handler(const struct nlmsghdr *nlh, void *userdata) {
        Collect *c = userdata;
        FzdRtnlRoute r;
        DefaultRoute *d;

        if (!nlh) { /* dump restarted */
                c->routes->n = 0;
                c->routes->truncated = false;
                return 0;
        }
        if (fzd_rtnl_parse_route(nlh, &r) < 0 || !is_tracked_default(c->m, &r))
                return 0;
        if (c->routes->n >= DEFAULT_ROUTES_MAX) {
                c->routes->truncated = true;
                return 0;
        }
        d = &c->routes->items[c->routes->n++];
        memset(d, 0, sizeof *d); /* memcmp-compared: no stray padding bytes */
        d->family = r.dst.family;
        d->table = r.table;
        d->priority = r.priority;
        d->type = r.type;
        d->tos = r.tos;
        d->oif = r.oif;
        d->has_gateway = r.has_gateway;
        if (r.has_gateway)
                memcpy(d->gateway, &r.gateway, fzd_family_address_size(r.dst.family));
        return 0;
}

static int read_default_routes(FzdNetMonitor *m, DefaultRoutes **ret) {
        _cleanup_(freep) DefaultRoutes *routes = calloc(1, sizeof *routes);
        static const int families[] = { AF_INET, AF_INET6 };
        Collect c = { .m = m };
        int r;

        if (!routes)
                return -ENOMEM;
        c.routes = routes;
        for (size_t i = 0; i < ELEMENTSOF(families); i++) {
                FzdNlBuffer buf;
                size_t before = routes->n;
                struct nlmsghdr *req = fzd_rtnl_route_dump_request(&buf, families[i], 0);

                if (!req)
                        return -ENOBUFS;
                r = fzd_netlink_dump(m->query, req, collect_handler, &c);
                if (r == -EAFNOSUPPORT) { /* IPv6 disabled */
                        routes->n = before;
                        continue;
                }
                if (r < 0)
                        return r;
        }
        qsort(routes->items, routes->n, sizeof routes->items[0], compare_default);
        *ret = TAKE_PTR(routes);
        return 0;
}

static bool same_default_routes(const DefaultRoutes *a, const DefaultRoutes *b) {
        if (!a || !b)
                return a == b;
        return a->n == b->n && a->truncated == b->truncated &&
               memcmp(a->items, b->items, a->n * sizeof a->items[0]) == 0;
}

/* ---- events ------------------------------------------------------------------------------ */

static void note(FzdNetMonitor *m, unsigned change) {
        uint64_t now, deadline;

        m->pending |= change;
        if (sd_event_now(m->event, CLOCK_MONOTONIC, &now) < 0)
                return;
        if (m->first_event_usec == 0)
                m->first_event_usec = now;
        /* Trailing debounce, but a steady stream of events cannot postpone the report
         * forever. */
        deadline = now + m->debounce_usec;
        if (deadline > m->first_event_usec + DEBOUNCE_CAP_FACTOR * m->debounce_usec)
                deadline = m->first_event_usec + DEBOUNCE_CAP_FACTOR * m->debounce_usec;
        (void) sd_event_source_set_time(m->timer, deadline);
        (void) sd_event_source_set_enabled(m->timer, SD_EVENT_ONESHOT);
}

static void handle_message(FzdNetMonitor *m, const struct nlmsghdr *nlh) {
        switch (nlh->nlmsg_type) {
        case RTM_NEWLINK:
        case RTM_DELLINK: {
                FzdRtnlLink l;
                if (fzd_rtnl_parse_link(nlh, &l) < 0)
                        return;
                if (l.ifindex == m->own_ifindex || (m->own_ifname[0] && streq(l.ifname, m->own_ifname)))
                        return;
                note(m, FZD_NET_CHANGE_LINK);
                return;
        }
        case RTM_NEWADDR:
        case RTM_DELADDR: {
                FzdRtnlAddr a;
                if (fzd_rtnl_parse_addr(nlh, &a) < 0 || a.ifindex == m->own_ifindex)
                        return;
                note(m, FZD_NET_CHANGE_ADDRESS);
                return;
        }
        case RTM_NEWROUTE:
        case RTM_DELROUTE: {
                FzdRtnlRoute r;
                if (fzd_rtnl_parse_route(nlh, &r) < 0)
                        return;
                if (r.table == m->own_table || r.table == RT_TABLE_LOCAL || (r.rtm_flags & RTM_F_CLONED) ||
                    (m->own_ifindex > 0 && r.oif == m->own_ifindex))
                        return;
                if (is_tracked_default(m, &r))
                        m->default_route_touched = true;
                note(m, FZD_NET_CHANGE_ROUTE);
                return;
        }
        default:
                return;
        }
}

static int on_readable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        FzdNetMonitor *m = userdata;

        /* Drain everything queued: one wake-up per burst. */
        for (;;) {
                struct sockaddr_nl sa = {};
                struct iovec iov = { .iov_base = m->rbuf, .iov_len = RECV_BUFFER_SIZE };
                struct msghdr msg = { .msg_name = &sa, .msg_namelen = sizeof sa, .msg_iov = &iov, .msg_iovlen = 1 };
                const struct nlmsghdr *nlh = (const struct nlmsghdr *) m->rbuf;
                ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
                size_t len;

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 0;
                        if (errno == ENOBUFS) {
                                /* The kernel dropped events: we no longer know what
                                 * changed. Re-read the default routes when the window ends. */
                                log_debug("rtnetlink monitor overrun; will re-read the default routes.");
                                m->default_route_touched = true;
                                note(m, FZD_NET_CHANGE_OVERRUN);
                                continue;
                        }
                        log_warning_errno(errno, "Failed to read rtnetlink events: %m, ignoring");
                        return 0;
                }
                if (msg.msg_namelen != sizeof sa || sa.nl_pid != 0 || (msg.msg_flags & MSG_TRUNC))
                        continue; /* not from the kernel, or cut: skip */

                len = (size_t) n;
                for (; fzd_nl_msg_ok(nlh, len); nlh = fzd_nl_msg_next(nlh, &len))
                        handle_message(m, nlh);
        }
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        FzdNetMonitor *m = userdata;
        unsigned changes = m->pending;

        m->pending = 0;
        m->first_event_usec = 0;

        if (m->default_route_touched) {
                _cleanup_(freep) DefaultRoutes *now = NULL;
                int r;

                m->default_route_touched = false;
                r = read_default_routes(m, &now);
                if (r < 0) {
                        /* Cannot tell: say it may have changed rather than miss it. */
                        log_warning_errno(r, "Failed to read the default routes: %m, assuming they changed");
                        changes |= FZD_NET_CHANGE_DEFAULT_ROUTE;
                } else if (!same_default_routes(m->known, now)) {
                        changes |= FZD_NET_CHANGE_DEFAULT_ROUTE;
                        free(m->known);
                        m->known = TAKE_PTR(now);
                }
        }

        if (changes != 0 && m->handler) {
                char what[96];
                fzd_net_change_to_string(changes, what, sizeof what);
                log_debug("Network changed: %s", what);
                m->handler(m, changes, m->userdata);
        }
        return 0;
}

/* Drops notifications about routes in our own table before they reach us: installing a
 * big resource list would otherwise queue one event per route, wake us for each and may
 * overflow the socket. The kernel puts RTA_TABLE first in route notifications (IPv4 and
 * IPv6); if a kernel ever does not, the message passes and is filtered in handle_message.
 * BPF loads are big-endian, netlink is host-endian: constants go through htons/htonl. */
static int attach_filter(int fd, uint32_t table) {
        enum {
                OFF_TYPE = offsetof(struct nlmsghdr, nlmsg_type),
                OFF_ATTR = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct rtmsg)),
                OFF_ATTR_TYPE = OFF_ATTR + offsetof(struct nlattr, nla_type),
                OFF_ATTR_VALUE = OFF_ATTR + NLA_HDRLEN,
        };
        struct sock_filter code[] = {
                /* 0 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, OFF_TYPE),
                /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htons(RTM_NEWROUTE), 1, 0),
                /* 2 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htons(RTM_DELROUTE), 0, 4),
                /* 3 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, OFF_ATTR_TYPE),
                /* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htons(RTA_TABLE), 0, 2),
                /* 5 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, OFF_ATTR_VALUE),
                /* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(table), 1, 0),
                /* 7 */ BPF_STMT(BPF_RET | BPF_K, UINT32_MAX), /* keep */
                /* 8 */ BPF_STMT(BPF_RET | BPF_K, 0),          /* drop */
        };
        struct sock_fprog prog = { .len = ELEMENTSOF(code), .filter = code };

        if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0)
                return -errno;
        return 0;
}

/* ---- life cycle --------------------------------------------------------------------------- */

int fzd_net_monitor_new(sd_event *event, uint32_t own_table, FzdNetMonitorHandler handler, void *userdata,
                        FzdNetMonitor **ret) {
        _cleanup_(fzd_net_monitor_freep) FzdNetMonitor *m = NULL;
        static const unsigned groups[] = {
                RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE,
        };
        int rcvbuf = RCVBUF_WANTED, fd, r;

        m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        m->event = sd_event_ref(event);
        m->own_table = own_table;
        m->debounce_usec = FZD_NET_MONITOR_DEBOUNCE_USEC;
        m->handler = handler;
        m->userdata = userdata;
        m->rbuf = malloc(RECV_BUFFER_SIZE);
        if (!m->rbuf)
                return -ENOMEM;

        m->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (!m->sock)
                return log_error_errno(errno, "Failed to open the rtnetlink monitor socket: %m");
        if (mnl_socket_bind(m->sock, 0, MNL_SOCKET_AUTOPID) < 0)
                return log_error_errno(errno, "Failed to bind the rtnetlink monitor socket: %m");
        fd = mnl_socket_get_fd(m->sock);
        for (size_t i = 0; i < ELEMENTSOF(groups); i++) {
                unsigned g = groups[i];
                if (mnl_socket_setsockopt(m->sock, NETLINK_ADD_MEMBERSHIP, &g, sizeof g) < 0) {
                        if (g == RTNLGRP_IPV6_IFADDR || g == RTNLGRP_IPV6_ROUTE)
                                continue; /* no IPv6 in this kernel */
                        return log_error_errno(errno, "Failed to subscribe to rtnetlink group %u: %m", g);
                }
        }
        r = attach_filter(fd, own_table);
        if (r < 0)
                log_debug_errno(r, "Failed to attach the rtnetlink monitor filter: %m, filtering in userspace");
        /* Bursts (a whole routing table coming or going) must not overflow the socket. */
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
                (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);

        r = fzd_netlink_open(&m->query);
        if (r < 0)
                return r;
        /* Subscribed first, read second: a change in between shows up as an event. */
        r = read_default_routes(m, &m->known);
        if (r < 0)
                return log_error_errno(r, "Failed to read the default routes: %m");

        r = sd_event_add_io(event, &m->io, fd, EPOLLIN, on_readable, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the rtnetlink monitor socket: %m");
        (void) sd_event_source_set_description(m->io, "rtnetlink-monitor");
        r = sd_event_add_time(event, &m->timer, CLOCK_MONOTONIC, UINT64_MAX, 0, on_timer, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the network change timer: %m");
        (void) sd_event_source_set_enabled(m->timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(m->timer, "network-change-debounce");

        *ret = TAKE_PTR(m);
        return 0;
}

FzdNetMonitor *fzd_net_monitor_free(FzdNetMonitor *m) {
        if (!m)
                return NULL;
        sd_event_source_disable_unref(m->io);
        sd_event_source_disable_unref(m->timer);
        if (m->sock)
                mnl_socket_close(m->sock);
        fzd_netlink_free(m->query);
        sd_event_unref(m->event);
        free(m->known);
        free(m->rbuf);
        return mfree(m);
}

void fzd_net_monitor_set_debounce(FzdNetMonitor *m, uint64_t usec) {
        m->debounce_usec = usec > 0 ? usec : FZD_NET_MONITOR_DEBOUNCE_USEC;
}

void fzd_net_monitor_set_own_link(FzdNetMonitor *m, const char *ifname, int ifindex) {
        m->own_ifindex = ifindex;
        m->own_ifname[0] = '\0';
        if (ifname && strlen(ifname) < sizeof m->own_ifname)
                strcpy(m->own_ifname, ifname);
}
