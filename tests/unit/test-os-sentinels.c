/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
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

static Suite *sentinels_suite(void) {
        Suite *s = suite_create("os-sentinels");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_table);
        tcase_add_test(tc, test_cap);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(sentinels_suite)
