/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "fz-check.h"
#include "macro.h"
#include "os-sentinels.h"

static FzdDnsResolver resolver(const char *addr) {
        FzdDnsResolver r = {};
        ck_assert_int_eq(fzd_dns_address_from_string(addr, &r.address), 0);
        return r;
}

static void upstream(FzdInterfaceConfig *c, const char *addr) {
        FzdDnsAddress a;
        ck_assert_int_eq(fzd_dns_address_from_string(addr, &a), 0);
        c->upstream_dns[c->n_upstream_dns].family = a.family;
        memcpy(&c->upstream_dns[c->n_upstream_dns].addr, &a.addr, sizeof a.addr);
        c->n_upstream_dns++;
}

static void expect(const FzdInterfaceConfig *c, const FzdDnsResolver *sys, size_t n_sys, const char *const *want) {
        FzdDnsAddress got[FZD_DNS_MAX_SENTINELS];
        size_t n = fzd_os_sentinels(c, sys, n_sys, got, ELEMENTSOF(got)), i;
        char buf[INET6_ADDRSTRLEN];

        ck_assert_uint_eq(fzd_os_sentinels(c, sys, n_sys, NULL, 0), n); /* counting agrees */
        for (i = 0; want[i]; i++) {
                ck_assert_uint_lt(i, n);
                ck_assert_str_eq(fzd_dns_address_to_string(&got[i], buf, sizeof buf), want[i]);
                ck_assert(fzd_dns_address_is_sentinel(&got[i]));
        }
        ck_assert_uint_eq(n, i);
}

START_TEST(test_table) {
        FzdInterfaceConfig both = { .has_ipv4 = true, .has_ipv6 = true }, v4 = { .has_ipv4 = true }, c;
        FzdDnsResolver sys[] = { resolver("192.0.2.53"), resolver("2001:db8::53"), resolver("198.51.100.53") };

        /* No upstreams at all: one per tunnel family. */
        expect(&both, NULL, 0, (const char *[]) { "100.100.111.1", "fd00:2021:1111:8000:100:100:111:1", NULL });
        expect(&v4, NULL, 0, (const char *[]) { "100.100.111.1", NULL });
        /* The system's resolvers, family by family, numbered per family. */
        expect(&both, sys, 3,
               (const char *[]) { "100.100.111.1", "fd00:2021:1111:8000:100:100:111:1", "100.100.111.2", NULL });
        /* A family without a tunnel address is left out. */
        expect(&v4, sys, 3, (const char *[]) { "100.100.111.1", "100.100.111.2", NULL });
        /* The portal's upstreams win over the system's. */
        c = both;
        upstream(&c, "2001:db8::1");
        expect(&c, sys, 3, (const char *[]) { "fd00:2021:1111:8000:100:100:111:1", NULL });
        /* Only IPv6 upstreams on an IPv4-only tunnel: fall back to one IPv4 sentinel. */
        c = v4;
        upstream(&c, "2001:db8::1");
        expect(&c, NULL, 0, (const char *[]) { "100.100.111.1", NULL });
        /* Nothing at all without tunnel addresses. */
        c = (FzdInterfaceConfig) {};
        expect(&c, sys, 3, (const char *[]) { NULL });
}
END_TEST

START_TEST(test_cap) {
        FzdInterfaceConfig c = { .has_ipv4 = true };
        FzdDnsResolver many[40];

        for (size_t i = 0; i < ELEMENTSOF(many); i++)
                many[i] = resolver("192.0.2.1");
        ck_assert_uint_eq(fzd_os_sentinels(&c, many, ELEMENTSOF(many), NULL, 0), FZD_DNS_MAX_SENTINELS);
}
END_TEST

static const char *sockaddr_str(const FzdSockaddr *a, char *buf, size_t size) {
        char ip[INET6_ADDRSTRLEN] = "";
        if (a->sa.sa_family == 0)
                return strcpy(buf, "none");
        if (a->sa.sa_family == AF_INET)
                snprintf(buf, size, "%s:%u", inet_ntop(AF_INET, &a->in.sin_addr, ip, sizeof ip), ntohs(a->in.sin_port));
        else
                snprintf(buf, size, "[%s%%%u]:%u", inet_ntop(AF_INET6, &a->in6.sin6_addr, ip, sizeof ip),
                         a->in6.sin6_scope_id, ntohs(a->in6.sin6_port));
        return buf;
}

/* Sentinel N forwards to upstream N; pairs "sentinel>upstream". */
static void expect_servers(const FzdInterfaceConfig *c, const FzdDnsResolver *sys, size_t n_sys,
                           const char *const *want) {
        FzdDnsStubServer got[FZD_DNS_MAX_SENTINELS];
        FzdDnsAddress sentinels[FZD_DNS_MAX_SENTINELS];
        size_t n = fzd_os_dns_servers(c, sys, n_sys, got, ELEMENTSOF(got)), i;
        char a[80], b[80], pair[170];

        /* The same sentinels as fzd_os_sentinels(), in the same order. */
        ck_assert_uint_eq(fzd_os_sentinels(c, sys, n_sys, sentinels, ELEMENTSOF(sentinels)), n);
        ck_assert_uint_eq(fzd_os_dns_servers(c, sys, n_sys, NULL, 0), n);
        for (i = 0; want[i]; i++) {
                ck_assert_uint_lt(i, n);
                snprintf(pair, sizeof pair, "%s>%s", sockaddr_str(&got[i].sentinel, a, sizeof a),
                         sockaddr_str(&got[i].upstream, b, sizeof b));
                ck_assert_str_eq(pair, want[i]);
                ck_assert_int_eq(got[i].sentinel.sa.sa_family, sentinels[i].family);
        }
        ck_assert_uint_eq(n, i);
}

START_TEST(test_servers) {
        FzdInterfaceConfig both = { .has_ipv4 = true, .has_ipv6 = true }, v4 = { .has_ipv4 = true }, c;
        FzdDnsResolver sys[] = { resolver("192.0.2.53"), resolver("2001:db8::53"), resolver("198.51.100.53"),
                                 resolver("fe80::1") };

        sys[2].port = 5353;                                 /* plain DNS on another port: kept */
        sys[1].port = 853;                                  /* DNS over TLS: we ask on 53 */
        sys[1].dns_over_tls = FZD_DNS_OVER_TLS_YES;
        sys[3].ifindex = 7;                                 /* link-local: keeps its link */
        expect_servers(&both, sys, 4,
                       (const char *[]) { "100.100.111.1:53>192.0.2.53:53",
                                          "[fd00:2021:1111:8000:100:100:111:1%0]:53>[2001:db8::53%0]:53",
                                          "100.100.111.2:53>198.51.100.53:5353",
                                          "[fd00:2021:1111:8000:100:100:111:2%0]:53>[fe80::1%7]:53", NULL });
        expect_servers(&v4, sys, 4,
                       (const char *[]) { "100.100.111.1:53>192.0.2.53:53", "100.100.111.2:53>198.51.100.53:5353",
                                          NULL });
        /* The portal's upstreams win, with their ports. */
        c = both;
        upstream(&c, "2001:db8::1");
        upstream(&c, "192.0.2.1");
        c.upstream_dns[1].port = 5300;
        expect_servers(&c, sys, 4,
                       (const char *[]) { "[fd00:2021:1111:8000:100:100:111:1%0]:53>[2001:db8::1%0]:53",
                                          "100.100.111.1:53>192.0.2.1:5300", NULL });
        /* Nothing to forward to: sentinels without an upstream (resource names still work). */
        expect_servers(&both, NULL, 0,
                       (const char *[]) { "100.100.111.1:53>none", "[fd00:2021:1111:8000:100:100:111:1%0]:53>none",
                                          NULL });
}
END_TEST

static Suite *sentinels_suite(void) {
        Suite *s = suite_create("os-sentinels");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_table);
        tcase_add_test(tc, test_servers);
        tcase_add_test(tc, test_cap);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(sentinels_suite)
