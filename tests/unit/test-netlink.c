/* SPDX-License-Identifier: Apache-2.0 */
/* The rtnetlink transport and the tunnel facade against the real kernel, each test in a
 * network namespace of its own (needs root, like the integration tests; nothing outside
 * the namespace is touched). */
#include <arpa/inet.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fz-check.h"
#include "log.h"
#include "netlink.h"
#include "rtnl.h"
#include "tun.h"
#include "tunnel.h"

static void setup_netns(void) {
        /* Check forks each test: this only moves the test's own process. */
        ck_assert_msg(unshare(CLONE_NEWNET) == 0, "unshare(CLONE_NEWNET) failed: %m (run the tests as root)");
}

static FzdCidr v4(uint32_t a, unsigned len) {
        FzdCidr c = { .family = AF_INET, .prefixlen = (unsigned char) len };
        c.addr.in.s_addr = htonl(a);
        return c;
}

static int count_route(const struct nlmsghdr *nlh, void *userdata) {
        size_t *n = userdata;
        FzdRtnlRoute r;

        if (!nlh) {
                *n = 0;
                return 0;
        }
        if (fzd_rtnl_parse_route(nlh, &r) >= 0 && r.table == FZD_ROUTE_TABLE)
                (*n)++;
        return 0;
}

static size_t routes_in_table(FzdNetlink *nl, int family) {
        FzdNlBuffer buf;
        size_t n = 0;

        ck_assert_int_eq(fzd_netlink_dump(nl, fzd_rtnl_route_dump_request(&buf, family, FZD_ROUTE_TABLE),
                                          count_route, &n),
                         0);
        return n;
}

/* Log lines go to stderr: catch them in a memfd. */
static int capture_stderr(void) {
        int fd = memfd_create("log", MFD_CLOEXEC), saved = dup(STDERR_FILENO);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_ge(saved, 0);
        ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
        close(fd);
        return saved;
}

static char *restore_stderr(int saved) {
        static char text[64 * 1024];
        ssize_t n;

        fflush(stderr);
        ck_assert_int_eq(lseek(STDERR_FILENO, 0, SEEK_SET), 0);
        n = read(STDERR_FILENO, text, sizeof text - 1);
        ck_assert_int_ge(n, 0);
        text[n] = '\0';
        ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
        close(saved);
        return text;
}

START_TEST(test_batch_errors_map_to_requests) {
        _cleanup_(fzd_netlink_freep) FzdNetlink *nl = NULL;
        _cleanup_(fzd_nl_batch_freep) FzdNlBatch *b = NULL;
        _cleanup_(closep) int fd = -EBADF;
        FzdNetlinkStats before, after;
        int ifindex, saved;
        size_t good = 0;
        char *log;

        ck_assert_int_eq(fzd_tun_create("fzt0", &fd, &ifindex), 0);
        ck_assert_int_eq(fzd_netlink_open(&nl), 0);
        ck_assert_int_eq(fzd_nl_batch_new(&b), 0);
        ck_assert_int_eq(fzd_rtnl_put_link_up(b, ifindex, 1280), 0);
        ck_assert_int_eq(fzd_netlink_commit(nl, b), 0);

        /* Every 7th route names a device that does not exist. */
        fzd_nl_batch_reset(b);
        for (uint32_t i = 0; i < 3000; i++) {
                FzdCidr c = v4(0x0a000000u | (i << 8), 24);
                ck_assert_int_eq(fzd_rtnl_put_route(b, RTM_NEWROUTE, i % 7 == 3 ? 99999 : ifindex, FZD_ROUTE_TABLE, &c),
                                 0);
                good += i % 7 != 3;
        }
        fzd_netlink_set_max_per_send(nl, 100);
        fzd_netlink_get_stats(nl, &before);
        saved = capture_stderr();
        ck_assert_int_eq(fzd_netlink_commit(nl, b), -ENODEV);
        log = restore_stderr(saved);
        fzd_netlink_get_stats(nl, &after);

        for (uint32_t i = 0; i < 3000; i++)
                ck_assert_msg(fzd_nl_batch_result(b, i) == (i % 7 == 3 ? -ENODEV : 0), "request %u: %d", i,
                              fzd_nl_batch_result(b, i));
        ck_assert_uint_eq(after.requests - before.requests, 3000);
        ck_assert_uint_eq(after.sends - before.sends, 30);
        ck_assert_uint_eq(routes_in_table(nl, AF_INET), good);

        /* The failure names the prefix and the table; the flood is cut short. */
        ck_assert_msg(strstr(log, "Failed to add route 10.0.3.0/24 to table 7946: No such device"), "log: %s", log);
        ck_assert_msg(strstr(log, "more failed rtnetlink requests"), "log: %s", log);
}
END_TEST

START_TEST(test_ignored_errors) {
        _cleanup_(fzd_netlink_freep) FzdNetlink *nl = NULL;
        _cleanup_(fzd_nl_batch_freep) FzdNlBatch *b = NULL;
        _cleanup_(closep) int fd = -EBADF;
        FzdCidr c = v4(0xc0000200u, 24);
        int ifindex;

        ck_assert_int_eq(fzd_tun_create("fzt0", &fd, &ifindex), 0);
        ck_assert_int_eq(fzd_netlink_open(&nl), 0);
        ck_assert_int_eq(fzd_nl_batch_new(&b), 0);
        ck_assert_int_eq(fzd_rtnl_put_link_up(b, ifindex, 1280), 0);
        /* Deleting what is not there, adding a rule twice: both "done". */
        ck_assert_int_eq(fzd_rtnl_put_route(b, RTM_DELROUTE, ifindex, FZD_ROUTE_TABLE, &c), 0);
        ck_assert_int_eq(fzd_rtnl_put_rule(b, RTM_NEWRULE, AF_INET, 5200, FZD_ROUTE_TABLE, 0x1f0a), 0);
        ck_assert_int_eq(fzd_rtnl_put_rule(b, RTM_NEWRULE, AF_INET, 5200, FZD_ROUTE_TABLE, 0x1f0a), 0);
        ck_assert_int_eq(fzd_netlink_commit(nl, b), 0);
        for (size_t i = 0; i < 4; i++)
                ck_assert_int_eq(fzd_nl_batch_result(b, i), 0);
}
END_TEST

START_TEST(test_extack_reason_is_logged) {
        _cleanup_(fzd_netlink_freep) FzdNetlink *nl = NULL;
        _cleanup_(fzd_nl_batch_freep) FzdNlBatch *b = NULL;
        FzdCidr host_bits = v4(0x0a000001u, 8);
        int saved, r;
        char *log;

        ck_assert_int_eq(fzd_netlink_open(&nl), 0);
        ck_assert_int_eq(fzd_nl_batch_new(&b), 0);
        ck_assert_int_eq(fzd_rtnl_put_route(b, RTM_NEWROUTE, 1, FZD_ROUTE_TABLE, &host_bits), 0);
        saved = capture_stderr();
        r = fzd_netlink_commit(nl, b);
        log = restore_stderr(saved);
        ck_assert_int_eq(r, -EINVAL);
        /* The kernel's own words come along in parentheses. */
        ck_assert_msg(strstr(log, "Failed to add route 10.0.0.1/8 to table 7946: Invalid argument ("), "log: %s", log);
}
END_TEST

static FzdInterfaceConfig config(const char *a4, const char *a6) {
        FzdInterfaceConfig c = {};
        if (a4)
                c.has_ipv4 = inet_pton(AF_INET, a4, &c.ipv4) == 1;
        if (a6)
                c.has_ipv6 = inet_pton(AF_INET6, a6, &c.ipv6) == 1;
        return c;
}

START_TEST(test_tunnel_incremental) {
        _cleanup_(fzd_tunnel_freep) FzdTunnel *t = NULL;
        _cleanup_(fzd_netlink_freep) FzdNetlink *nl = NULL;
        FzdInterfaceConfig cfg = config("100.64.0.2", "fd00:2021:1111::2");
        FzdTunnelStats s0, s1;
        FzdCidr a = v4(0x0a000000u, 8);
        FzdCidr *many;
        int fd = -1;

        ck_assert_int_eq(fzd_netlink_open(&nl), 0);
        ck_assert_int_eq(fzd_tunnel_new(NULL, NULL, NULL, &t), 0);
        ck_assert_int_eq(fzd_tunnel_up(t, &cfg, &fd), 0);
        ck_assert_int_ge(fd, 0);
        ck_assert_str_eq(fzd_tunnel_interface_name(t), "tun-firezone");
        ck_assert_uint_eq(routes_in_table(nl, AF_INET), 3);
        ck_assert_uint_eq(routes_in_table(nl, AF_INET6), 3);

#define REQUESTS_FOR(expr, n)                                                           \
        do {                                                                            \
                fzd_tunnel_get_stats(t, &s0);                                           \
                ck_assert_int_eq((expr), 0);                                            \
                fzd_tunnel_get_stats(t, &s1);                                           \
                ck_assert_uint_eq(s1.netlink_requests - s0.netlink_requests, (n));      \
        } while (0)

        REQUESTS_FOR(fzd_tunnel_route_add(t, &a), 1);
        REQUESTS_FOR(fzd_tunnel_route_add(t, &a), 0); /* shared prefix */
        REQUESTS_FOR(fzd_tunnel_route_remove(t, &a), 0);
        ck_assert_uint_eq(routes_in_table(nl, AF_INET), 4);
        REQUESTS_FOR(fzd_tunnel_route_remove(t, &a), 1);
        ck_assert_uint_eq(routes_in_table(nl, AF_INET), 3);
        ck_assert_int_eq(fzd_tunnel_route_remove(t, &a), -ENOENT);

        /* A resource equal to a base range neither duplicates nor removes it. */
        FzdCidr base = v4(0x64400000u, 11);
        REQUESTS_FOR(fzd_tunnel_route_add(t, &base), 0);
        REQUESTS_FOR(fzd_tunnel_route_remove(t, &base), 0);
        ck_assert_uint_eq(routes_in_table(nl, AF_INET), 3);

        /* Refused: a default route outside the Internet resource. */
        FzdCidr def = v4(0, 0);
        ck_assert_int_eq(fzd_tunnel_route_add(t, &def), -EINVAL);
        REQUESTS_FOR(fzd_tunnel_set_internet_resource(t, true), 2);
        ck_assert_uint_eq(routes_in_table(nl, AF_INET), 4);
        REQUESTS_FOR(fzd_tunnel_set_internet_resource(t, false), 2);

        many = calloc(5000, sizeof *many);
        ck_assert_ptr_nonnull(many);
        for (uint32_t i = 0; i < 5000; i++)
                many[i] = v4(0x0b000000u | (i << 8), 24);
        fzd_tunnel_get_stats(t, &s0);
        ck_assert_int_eq(fzd_tunnel_routes_add(t, many, 5000, NULL), 0);
        fzd_tunnel_get_stats(t, &s1);
        ck_assert_uint_eq(s1.netlink_requests - s0.netlink_requests, 5000);
        ck_assert_uint_le(s1.netlink_sends - s0.netlink_sends, 10);
        ck_assert_uint_eq(routes_in_table(nl, AF_INET), 5003);
        REQUESTS_FOR(fzd_tunnel_routes_remove(t, many, 5000), 5000);
        ck_assert_uint_eq(routes_in_table(nl, AF_INET), 3);
        free(many);

        /* Readdressing replaces the address only. */
        cfg = config("100.64.0.9", "fd00:2021:1111::2");
        REQUESTS_FOR(fzd_tunnel_up(t, &cfg, NULL), 2);
        ck_assert_uint_eq(routes_in_table(nl, AF_INET), 3); /* the kernel's flush did not hit us */

        fzd_tunnel_down(t);
        ck_assert(!fzd_tunnel_is_up(t));
        ck_assert_uint_eq(routes_in_table(nl, AF_INET), 0);
        ck_assert_uint_eq(routes_in_table(nl, AF_INET6), 0);
        fzd_tunnel_down(t); /* idempotent */
#undef REQUESTS_FOR
}
END_TEST

START_TEST(test_tunnel_refuses_existing_device) {
        _cleanup_(fzd_tunnel_freep) FzdTunnel *t = NULL;
        _cleanup_(closep) int fd = -EBADF;
        FzdInterfaceConfig cfg = config("100.64.0.2", NULL);
        int ifindex;

        FzdCidr wanted = v4(0x0a000000u, 8);
        FzdTunnelStats s;

        ck_assert_int_eq(fzd_tun_create("tun-firezone", &fd, &ifindex), 0);
        ck_assert_int_eq(fzd_tunnel_new(NULL, NULL, NULL, &t), 0);
        ck_assert_int_eq(fzd_tunnel_route_add(t, &wanted), 0);
        ck_assert_int_eq(fzd_tunnel_up(t, &cfg, NULL), -EEXIST);
        fzd_tunnel_get_stats(t, &s);
        ck_assert_uint_eq(s.routes, 1); /* a failed up keeps what was wanted */
        /* Someone else's fd: cleanup removes the device all the same (it is a TUN). */
        ck_assert_int_eq(fzd_tunnel_cleanup_stale(t), 1);
        ck_assert_int_eq(fzd_tunnel_up(t, &cfg, NULL), 0);
        ck_assert_int_eq(fzd_tunnel_cleanup_stale(t), -EBUSY);
        fzd_tunnel_down(t);
        fzd_tunnel_get_stats(t, &s);
        ck_assert_uint_eq(s.routes, 0); /* down (sign-out) forgets */
}
END_TEST

START_TEST(test_tunnel_no_usable_address) {
        _cleanup_(fzd_tunnel_freep) FzdTunnel *t = NULL;
        FzdInterfaceConfig cfg = config("0.0.0.0", "ff02::1");

        ck_assert_int_eq(fzd_tunnel_new(NULL, NULL, NULL, &t), 0);
        ck_assert_int_eq(fzd_tunnel_up(t, &cfg, NULL), -EINVAL);
        ck_assert(!fzd_tunnel_is_up(t));
        cfg = (FzdInterfaceConfig) {};
        ck_assert_int_eq(fzd_tunnel_up(t, &cfg, NULL), -EINVAL);
        ck_assert_int_eq(fzd_tunnel_up(t, NULL, NULL), -EINVAL);
}
END_TEST

typedef struct Seen {
        unsigned changes;
        bool called;
        sd_event *event;
} Seen;

static void on_change(void *userdata, unsigned changes, const char *what) {
        Seen *s = userdata;
        s->changes = changes;
        s->called = true;
}

static void add_main_route(FzdNetlink *nl, int ifindex, const FzdCidr *c) {
        _cleanup_(fzd_nl_batch_freep) FzdNlBatch *b = NULL;

        ck_assert_int_eq(fzd_nl_batch_new(&b), 0);
        ck_assert_int_eq(fzd_rtnl_put_route(b, RTM_NEWROUTE, ifindex, RT_TABLE_MAIN, c), 0);
        ck_assert_int_eq(fzd_netlink_commit(nl, b), 0);
}

/* Runs the loop until the next report (the test's own timeout bounds it). */
static unsigned wait_change(FzdTunnel *t, Seen *s) {
        s->called = false;
        while (!s->called)
                ck_assert_int_ge(sd_event_run(s->event, UINT64_MAX), 0);
        return s->changes;
}

START_TEST(test_monitor) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(fzd_tunnel_freep) FzdTunnel *t = NULL;
        _cleanup_(fzd_netlink_freep) FzdNetlink *nl = NULL;
        _cleanup_(fzd_nl_batch_freep) FzdNlBatch *b = NULL;
        _cleanup_(closep) int fd = -EBADF;
        FzdTunnelEvents events = { .network_changed = on_change };
        FzdInterfaceConfig cfg = config("100.64.0.2", "fd00:2021:1111::2");
        Seen seen = {};
        FzdCidr *many;
        int ifindex;

        ck_assert_int_eq(sd_event_new(&e), 0);
        seen.event = e;
        ck_assert_int_eq(fzd_netlink_open(&nl), 0);
        ck_assert_int_eq(fzd_nl_batch_new(&b), 0);
        ck_assert_int_eq(fzd_tun_create("uplink0", &fd, &ifindex), 0);
        ck_assert_int_eq(fzd_rtnl_put_link_up(b, ifindex, 1500), 0);
        ck_assert_int_eq(fzd_netlink_commit(nl, b), 0);

        ck_assert_int_eq(fzd_tunnel_new(e, &events, &seen, &t), 0);
        fzd_tunnel_set_debounce(t, 50 * USEC_PER_MSEC);

        /* A default route appears: reported as such. */
        FzdCidr def = v4(0, 0);
        add_main_route(nl, ifindex, &def);
        ck_assert_uint_eq(wait_change(t, &seen) & FZD_NET_CHANGE_DEFAULT_ROUTE, FZD_NET_CHANGE_DEFAULT_ROUTE);

        /* Our own device, routes and rules (a lot of them) are not news; the next report
         * is about the route added after them and nothing else. */
        ck_assert_int_eq(fzd_tunnel_up(t, &cfg, NULL), 0);
        many = calloc(20000, sizeof *many);
        ck_assert_ptr_nonnull(many);
        for (uint32_t i = 0; i < 20000; i++)
                many[i] = v4(0x0b000000u | (i << 8), 24);
        ck_assert_int_eq(fzd_tunnel_routes_add(t, many, 20000, NULL), 0);
        free(many);
        FzdCidr other = v4(0xc0000200u, 24);
        add_main_route(nl, ifindex, &other);
        ck_assert_uint_eq(wait_change(t, &seen), FZD_NET_CHANGE_ROUTE); /* no overrun either */
}
END_TEST

static Suite *netlink_suite(void) {
        Suite *s = suite_create("netlink");
        TCase *tc = tcase_create("netns");

        tcase_add_checked_fixture(tc, setup_netns, NULL);
        tcase_add_test(tc, test_batch_errors_map_to_requests);
        tcase_add_test(tc, test_ignored_errors);
        tcase_add_test(tc, test_extack_reason_is_logged);
        tcase_add_test(tc, test_tunnel_incremental);
        tcase_add_test(tc, test_tunnel_refuses_existing_device);
        tcase_add_test(tc, test_tunnel_no_usable_address);
        tcase_add_test(tc, test_monitor);
        tcase_set_timeout(tc, 60);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(netlink_suite)
