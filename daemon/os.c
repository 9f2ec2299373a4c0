/* SPDX-License-Identifier: Apache-2.0 */
/* OS operations (os.h): the tunnel (daemon/tunnel/) and DNS control (daemon/dns/) behind
 * one interface for the manager. */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dns/dns-control.h"
#include "log.h"
#include "os.h"
#include "os-sentinels.h"
#include "dataplane/dp-socket.h"
#include "tunnel/tunnel.h"

struct FzdOs {
        sd_event *event;
        FzdTunnel *tunnel;
        FzdDns *dns;
        FzdOsEvents events;
        void *userdata;

        /* What DNS is pointed at while the tunnel is up. */
        bool want_dns;
        FzdInterfaceConfig config;
        FzdDnsResolver *system_resolvers;
        size_t n_system_resolvers;
        bool have_system_resolvers;

        /* An apply that failed at once, reported from the loop. */
        sd_event_source *failure_defer;
        FzdError failure;
        int failure_error;

        /* What the DNS stub was last told to serve. */
        FzdDnsStubServer servers[FZD_DNS_MAX_SENTINELS];
        size_t n_servers;
        FzdDnsSocketFactory factory;

        /* The host's addresses outside the tunnel (a fingerprint): a change means new paths. */
        uint64_t addresses;
};

/* An order-independent fingerprint of the addresses the data plane could send from: up,
 * not loopback, not the tunnel, not IPv6 link-local. 0 if they cannot be read. */
static uint64_t host_addresses(void) {
        struct ifaddrs *ifa = NULL;
        uint64_t sum = 0;

        if (getifaddrs(&ifa) < 0)
                return 0;
        for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
                const uint8_t *p;
                size_t n;
                uint64_t h = 1469598103934665603ULL; /* FNV-1a */
                if (!i->ifa_addr || (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP) ||
                    streq(i->ifa_name, FZD_TUN_NAME))
                        continue;
                if (i->ifa_addr->sa_family == AF_INET) {
                        p = (const uint8_t *) &((const struct sockaddr_in *) i->ifa_addr)->sin_addr;
                        n = 4;
                } else if (i->ifa_addr->sa_family == AF_INET6) {
                        const struct in6_addr *a = &((const struct sockaddr_in6 *) i->ifa_addr)->sin6_addr;
                        if (IN6_IS_ADDR_LINKLOCAL(a))
                                continue;
                        p = (const uint8_t *) a;
                        n = 16;
                } else
                        continue;
                for (size_t k = 0; k < n; k++)
                        h = (h ^ p[k]) * 1099511628211ULL;
                sum += h;
        }
        freeifaddrs(ifa);
        return sum;
}

static void on_dns_applied(void *userdata, int error, const FzdError *err) {
        FzdOs *os = userdata;
        char msg[FZD_ERROR_TEXT_MAX];

        if (error < 0)
                log_warning_errno(error, "DNS control failed: %s", fzd_error_format(err, msg, sizeof msg));
        else
                log_info("DNS for %s is in place (%s).", FZD_TUN_NAME, fzd_dns_mode_in_use(os->dns));
        if (os->events.dns_applied)
                os->events.dns_applied(os->userdata, error < 0 ? err : NULL);
}

static void on_dns_reverted(void *userdata, int error, const FzdError *err) {
        char msg[FZD_ERROR_TEXT_MAX];

        if (error < 0)
                log_warning_errno(error, "Failed to revert DNS settings, ignoring: %s",
                                  fzd_error_format(err, msg, sizeof msg));
}

static bool dns_wanted(const FzdOs *os) {
        return os->want_dns && fzd_tunnel_is_up(os->tunnel) && fzd_dns_mode(os->dns) != FZD_DNS_CONTROL_DISABLED;
}

/* The sentinels as local addresses on the TUN, and the stub told what to serve on them
 * (and forward where) — whatever the DNS control mode: with "disabled" the stub still
 * answers whoever asks it. Only what changed reaches the kernel and the stub. */
static void serve_dns(FzdOs *os) {
        FzdDnsStubServer servers[FZD_DNS_MAX_SENTINELS];
        FzdCidr addrs[FZD_DNS_MAX_SENTINELS];
        size_t n = 0;
        int r;

        if (os->want_dns && fzd_tunnel_is_up(os->tunnel))
                n = fzd_os_dns_servers(&os->config, os->system_resolvers, os->n_system_resolvers, servers,
                                       ELEMENTSOF(servers));
        if (n == os->n_servers && memcmp(servers, os->servers, n * sizeof servers[0]) == 0)
                return;
        for (size_t i = 0; i < n; i++) {
                const FzdSockaddr *a = &servers[i].sentinel;
                addrs[i] = (FzdCidr) { .family = a->sa.sa_family };
                if (a->sa.sa_family == AF_INET) {
                        addrs[i].addr.in = a->in.sin_addr;
                        addrs[i].prefixlen = 32;
                } else {
                        addrs[i].addr.in6 = a->in6.sin6_addr;
                        addrs[i].prefixlen = 128;
                }
        }
        /* Going down: the stub first lets go of its sockets, then the addresses go. */
        if (n == 0 && os->events.dns_servers_changed)
                os->events.dns_servers_changed(os->userdata, NULL, 0);
        r = fzd_tunnel_set_sentinels(os->tunnel, addrs, n);
        if (r < 0 && n > 0)
                log_warning_errno(r, "DNS queries to the sentinels will not be answered: %m");
        memcpy(os->servers, servers, n * sizeof servers[0]);
        os->n_servers = n;
        if (n > 0 && os->events.dns_servers_changed)
                os->events.dns_servers_changed(os->userdata, servers, n);
}

/* Point DNS at one sentinel per upstream resolver (the portal's, else the system's). The
 * result arrives as on_dns_applied(), always asynchronously. */
static void apply_dns(FzdOs *os) {
        FzdDnsAddress sentinels[FZD_DNS_MAX_SENTINELS];
        size_t n;
        int r;

        serve_dns(os); /* before the system is pointed at them */
        if (!dns_wanted(os))
                return;
        n = fzd_os_sentinels(&os->config, os->system_resolvers, os->n_system_resolvers, sentinels,
                             ELEMENTSOF(sentinels));
        r = fzd_dns_apply(os->dns, fzd_tunnel_ifindex(os->tunnel), sentinels, n, os->config.search_domain,
                          on_dns_applied, os);
        if (r < 0) {
                /* Report from the loop, like every other outcome. */
                const FzdError *e = fzd_dns_last_error(os->dns);
                os->failure_error = r;
                os->failure = e ? *e : fzd_error_make(FZD_ERR_DNS_FAILED, r);
                (void) sd_event_source_set_enabled(os->failure_defer, SD_EVENT_ONESHOT);
        }
}

static int on_failure_defer(sd_event_source *s, void *userdata) {
        FzdOs *os = userdata;

        on_dns_applied(os, os->failure_error, &os->failure);
        return 0;
}

static int store_resolvers(FzdOs *os, const FzdDnsResolver *resolvers, size_t n) {
        FzdDnsResolver *copy = NULL;

        if (n > 0) {
                copy = calloc(n, sizeof *copy);
                if (!copy)
                        return log_oom();
                memcpy(copy, resolvers, n * sizeof *copy);
        }
        free(os->system_resolvers);
        os->system_resolvers = copy;
        os->n_system_resolvers = n;
        os->have_system_resolvers = true;
        return 0;
}

static void on_system_resolvers(void *userdata, int error, const FzdDnsResolver *resolvers, size_t n) {
        FzdOs *os = userdata;

        if (error < 0)
                log_warning_errno(error, "Failed to read the system's resolvers, using one sentinel: %m");
        else if (store_resolvers(os, resolvers, n) < 0)
                return;
        apply_dns(os);
}

static void on_resolvers_changed(void *userdata, const FzdDnsResolver *resolvers, size_t n) {
        FzdOs *os = userdata;
        size_t before = fzd_os_sentinels(&os->config, os->system_resolvers, os->n_system_resolvers, NULL, 0);

        if (store_resolvers(os, resolvers, n) < 0)
                return;
        /* The sentinels follow the number of upstreams; re-apply only if that changed. Which
         * upstream each one forwards to may change either way. */
        if (fzd_os_sentinels(&os->config, os->system_resolvers, os->n_system_resolvers, NULL, 0) != before)
                apply_dns(os);
        else
                serve_dns(os);
}

static void on_network_changed(void *userdata, unsigned changes, const char *what) {
        FzdOs *os = userdata;

        uint64_t addresses = os->addresses;

        log_debug("Network changed: %s.", what);
        /* A new default route, or an address gone or added (a laptop on a new network, a new
         * DHCP lease): the paths to the portal and to gateways must be found again. Events
         * that leave both as they were (flags, our own tunnel) are not. */
        if (changes & (FZD_NET_CHANGE_ADDRESS | FZD_NET_CHANGE_OVERRUN))
                os->addresses = host_addresses();
        if (((changes & FZD_NET_CHANGE_DEFAULT_ROUTE) || os->addresses != addresses) && os->events.network_changed)
                os->events.network_changed(os->userdata, what);
}

int fzd_os_new(sd_event *event, const FzdOsParams *params, const FzdOsEvents *events, void *userdata, FzdOs **ret) {
        static const FzdTunnelEvents tunnel_events = { .network_changed = on_network_changed };
        static const FzdDnsCallbacks dns_callbacks = { .resolvers_changed = on_resolvers_changed };
        _cleanup_(fzd_os_freep) FzdOs *os = NULL;
        /* The daemon's own connection: the bus policy lets resolved's broadcasts reach it
         * (send_broadcast="false" on the deny), and DNS control believes them only from
         * resolved's unique name. */
        FzdDnsParams dp = {
                .mode = params->dns_control,
                .state_dir = params->state_dir,
                .bus = params->system_bus,
                .no_ipc = params->no_ipc,
        };
        int r;

        os = calloc(1, sizeof *os);
        if (!os)
                return -ENOMEM;
        os->event = sd_event_ref(event);
        os->events = *events;
        os->userdata = userdata;
        os->addresses = host_addresses();

        r = sd_event_add_defer(event, &os->failure_defer, on_failure_defer, os);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(os->failure_defer, SD_EVENT_OFF);
        r = fzd_tunnel_new(event, &tunnel_events, os, &os->tunnel);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the tunnel layer: %m");
        r = fzd_dns_new(event, &dp, &dns_callbacks, os, &os->dns);
        if (r < 0)
                return log_error_errno(r, "Failed to set up DNS control: %m");
        r = fzd_dns_detect(os->dns);
        if (r < 0)
                return log_error_errno(r, "Failed to decide how to control DNS: %m");
        *ret = TAKE_PTR(os);
        return 0;
}

FzdOs *fzd_os_free(FzdOs *os) {
        if (!os)
                return NULL;
        if (os->dns && fzd_dns_is_applied(os->dns))
                (void) fzd_dns_revert_sync(os->dns);
        fzd_dns_free(os->dns);
        fzd_tunnel_free(os->tunnel); /* tears the tunnel down */
        free(os->system_resolvers);
        sd_event_source_disable_unref(os->failure_defer);
        sd_event_unref(os->event);
        free(os);
        return NULL;
}

int fzd_os_cleanup_stale(FzdOs *os) {
        int r, k;

        r = fzd_tunnel_cleanup_stale(os->tunnel);
        if (r > 0)
                log_notice("Removed %d objects a previous run left behind.", r);
        k = fzd_dns_cleanup_stale(os->dns);
        if (k < 0)
                log_warning_errno(k, "Failed to clean up DNS settings of a previous run, ignoring: %m");
        (void) fzd_dns_watch(os->dns, true);
        return r < 0 ? r : 0;
}

int fzd_os_tunnel_up(FzdOs *os, const FzdInterfaceConfig *config, int *ret_fd) {
        int fd = -EBADF, r;

        r = fzd_tunnel_up(os->tunnel, config, &fd);
        if (r < 0)
                return r;
        os->config = *config;
        /* DNS sentinels only of the families the tunnel really has (no IPv6 on the host). */
        os->config.has_ipv4 = config->has_ipv4 && fzd_tunnel_has_family(os->tunnel, AF_INET);
        os->config.has_ipv6 = config->has_ipv6 && fzd_tunnel_has_family(os->tunnel, AF_INET6);
        os->want_dns = true;
        if (ret_fd)
                *ret_fd = fd;
        /* The stub needs the upstreams even when DNS control is disabled. */
        if (config->n_upstream_dns > 0 || os->have_system_resolvers)
                apply_dns(os);
        else {
                r = fzd_dns_get_system_resolvers(os->dns, on_system_resolvers, os);
                if (r < 0)
                        apply_dns(os); /* without them: one sentinel per family */
        }
        return dns_wanted(os) ? 1 : 0;
}

void fzd_os_tunnel_down(FzdOs *os) {
        os->want_dns = false;
        serve_dns(os); /* nothing to serve any more */
        (void) sd_event_source_set_enabled(os->failure_defer, SD_EVENT_OFF);
        if (fzd_dns_is_applied(os->dns)) {
                int r = fzd_dns_revert(os->dns, on_dns_reverted, os);
                if (r < 0)
                        log_warning_errno(r, "Failed to revert DNS settings, ignoring: %m");
        }
        fzd_tunnel_down(os->tunnel);
}

int fzd_os_route_add(FzdOs *os, const FzdCidr *cidr) {
        return fzd_tunnel_route_add(os->tunnel, cidr);
}

int fzd_os_route_remove(FzdOs *os, const FzdCidr *cidr) {
        return fzd_tunnel_route_remove(os->tunnel, cidr);
}

int fzd_os_routes_add(FzdOs *os, const FzdCidr *cidrs, size_t n) {
        size_t skipped = 0;
        int r = fzd_tunnel_routes_add(os->tunnel, cidrs, n, &skipped);

        if (skipped > 0)
                log_notice("Skipped %zu of %zu resource routes (see above).", skipped, n);
        return r;
}

int fzd_os_set_internet_resource(FzdOs *os, bool enabled) {
        return fzd_tunnel_set_internet_resource(os->tunnel, enabled);
}

/* ---- sockets for the DNS stub ------------------------------------------------------------------ */

static int os_dns_listen(void *userdata, int type, const FzdSockaddr *addr) {
        int family = addr->sa.sa_family, fd, one = 1, r;

        if ((family != AF_INET && family != AF_INET6) || (type != SOCK_DGRAM && type != SOCK_STREAM))
                return -EINVAL;
        fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        /* Bound to the TUN: the kernel hands this socket only what was sent on this host (to a
         * local address of the TUN, by any process, with or without SO_BINDTODEVICE or
         * IP_UNICAST_IF); a packet routed here from another machine comes in on another
         * interface and finds no socket. Measured in issue #11, checked by test_dnsstub. */
        if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, FZD_TUN_NAME, sizeof FZD_TUN_NAME) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
            (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0))
                goto fail;
        if (type == SOCK_DGRAM) {
                /* Room for a burst of queries; ignored if the kernel says no. */
                int size = 1 << 20;
                (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
        }
        if (bind(fd, &addr->sa, family == AF_INET ? sizeof addr->in : sizeof addr->in6) < 0)
                goto fail;
        if (type == SOCK_STREAM && listen(fd, 128) < 0)
                goto fail;
        return fd;
fail:
        r = -errno;
        safe_close(fd);
        return r;
}

static int os_dns_upstream(void *userdata, int family, int type) {
        int fd, mark = FZD_FIREWALL_MARK, r;

        fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        /* Past our policy rule to the main table, even with the Internet resource on. */
        if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0) {
                r = -errno;
                safe_close(fd);
                return r;
        }
        return fd;
}

const FzdDnsSocketFactory *fzd_os_dns_socket_factory(FzdOs *os) {
        os->factory = (FzdDnsSocketFactory) { os_dns_listen, os_dns_upstream, os };
        return &os->factory;
}

const char *fzd_os_dns_control(const FzdOs *os) {
        return fzd_dns_mode_in_use(os->dns);
}

int fzd_os_tun_fd(const FzdOs *os) {
        return fzd_tunnel_fd(os->tunnel);
}

int fzd_os_open_udp(FzdOs *os, int family, int *ret_fd) {
        uint16_t port;
        int r;

        r = fzd_dp_udp_open(family, 52625, true, FZD_FIREWALL_MARK, 0, ret_fd, &port);
        if (r < 0)
                return log_warning_errno(r, "Failed to open the data plane's %s socket: %m",
                                         family == AF_INET ? "IPv4" : "IPv6");
        log_debug("Data plane %s socket on port %u.", family == AF_INET ? "IPv4" : "IPv6", port);
        return 0;
}

const char *fzd_os_interface_name(const FzdOs *os) {
        return fzd_tunnel_interface_name(os->tunnel);
}

static int os_tunnel_up(FzdOs *os, const FzdInterfaceConfig *config) {
        return fzd_os_tunnel_up(os, config, NULL);
}

const FzdOsOps fzd_os_ops = {
        .tunnel_up = os_tunnel_up,
        .tunnel_down = fzd_os_tunnel_down,
        .route_add = fzd_os_route_add,
        .route_remove = fzd_os_route_remove,
        .routes_add = fzd_os_routes_add,
        .set_internet_resource = fzd_os_set_internet_resource,
        .dns_control = fzd_os_dns_control,
        .interface_name = fzd_os_interface_name,
        .tun_fd = fzd_os_tun_fd,
        .open_udp = fzd_os_open_udp,
        .free = fzd_os_free,
};
