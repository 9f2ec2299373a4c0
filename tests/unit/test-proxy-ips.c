/* SPDX-License-Identifier: Apache-2.0 */
/* Proxy IPs (daemon/dnsstub/proxy-ips.c): ranges, stability, no reuse, the sentinel
 * ranges stepped over, the bound, reverse lookups, and readers on other threads. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "fz-check.h"
#include "proxy-ips.h"

static bool in_v4(const struct in_addr *a, const char *net, unsigned bits) {
        struct in_addr n;
        ck_assert_int_eq(inet_pton(AF_INET, net, &n), 1);
        return (ntohl(a->s_addr) >> (32 - bits)) == (ntohl(n.s_addr) >> (32 - bits));
}

static bool in_v6(const struct in6_addr *a, const char *net, unsigned bits) {
        struct in6_addr n;
        ck_assert_int_eq(inet_pton(AF_INET6, net, &n), 1);
        for (unsigned i = 0; i < bits; i++) {
                unsigned byte = i / 8, bit = 7 - i % 8;
                if (((a->s6_addr[byte] >> bit) & 1) != ((n.s6_addr[byte] >> bit) & 1))
                        return false;
        }
        return true;
}

START_TEST(test_assign_stable_and_distinct) {
        _cleanup_(fzd_proxy_ips_freep) FzdProxyIps *t = NULL;
        FzdProxyAddresses a, b, again;
        char name[FZD_DNS_NAME_TEXT_MAX + 1], id[FZD_PROXY_IPS_ID_MAX + 1];

        ck_assert_int_eq(fzd_proxy_ips_new(&t), 0);
        ck_assert_int_eq(fzd_proxy_ips_assign(t, "git.corp.example", "res-1", &a), 1);
        ck_assert_int_eq(fzd_proxy_ips_assign(t, "wiki.corp.example", "res-2", &b), 1);
        ck_assert_int_eq(fzd_proxy_ips_assign(t, "git.corp.example", "res-1", &again), 0);
        ck_assert_mem_eq(&a, &again, sizeof a);
        ck_assert_uint_eq(fzd_proxy_ips_count(t), 2);
        for (int i = 0; i < FZD_PROXY_IPS_PER_FAMILY; i++) {
                ck_assert(in_v4(&a.v4[i], "100.96.0.0", 11));
                ck_assert(in_v6(&a.v6[i], "fd00:2021:1111:8000::", 107));
                for (int j = 0; j < FZD_PROXY_IPS_PER_FAMILY; j++) {
                        ck_assert_uint_ne(a.v4[i].s_addr, b.v4[j].s_addr);
                        ck_assert(memcmp(&a.v6[i], &b.v6[j], 16) != 0);
                        if (i != j)
                                ck_assert_uint_ne(a.v4[i].s_addr, a.v4[j].s_addr);
                }
                ck_assert_int_eq(fzd_proxy_ips_lookup(t, AF_INET, &b.v4[i], name, id), 0);
                ck_assert_str_eq(name, "wiki.corp.example");
                ck_assert_str_eq(id, "res-2");
                ck_assert_int_eq(fzd_proxy_ips_lookup(t, AF_INET6, &a.v6[i], name, id), 0);
                ck_assert_str_eq(name, "git.corp.example");
                ck_assert_str_eq(id, "res-1");
        }
        ck_assert_int_eq(fzd_proxy_ips_get(t, "git.corp.example", &again), 0);
        ck_assert_mem_eq(&a, &again, sizeof a);
        ck_assert_int_eq(fzd_proxy_ips_get(t, "nope.example", &again), -ENOENT);
}
END_TEST

static const char *no_resource(void *userdata, const char *name) {
        return strncmp(name, "git", 3) == 0 ? "res-9" : NULL;
}

START_TEST(test_resource_follows) {
        _cleanup_(fzd_proxy_ips_freep) FzdProxyIps *t = NULL;
        FzdProxyAddresses a, b;
        char id[FZD_PROXY_IPS_ID_MAX + 1];
        uint64_t g;
        char long_id[FZD_PROXY_IPS_ID_MAX + 2];

        ck_assert_int_eq(fzd_proxy_ips_new(&t), 0);
        ck_assert_int_eq(fzd_proxy_ips_assign(t, "git.corp.example", "res-1", &a), 1);
        ck_assert_int_eq(fzd_proxy_ips_assign(t, "docs.corp.example", "res-1", &b), 1);
        g = fzd_proxy_ips_generation(t);
        /* Another resource takes the name over: same addresses, new resource. */
        ck_assert_int_eq(fzd_proxy_ips_assign(t, "git.corp.example", "res-2", &b), 0);
        ck_assert_mem_eq(&a, &b, sizeof a);
        ck_assert_uint_gt(fzd_proxy_ips_generation(t), g);
        ck_assert_int_eq(fzd_proxy_ips_lookup(t, AF_INET, &a.v4[0], NULL, id), 0);
        ck_assert_str_eq(id, "res-2");
        /* Resources changed: names follow; one without a resource keeps its addresses. */
        fzd_proxy_ips_rebind(t, no_resource, NULL);
        ck_assert_int_eq(fzd_proxy_ips_lookup(t, AF_INET, &a.v4[0], NULL, id), 0);
        ck_assert_str_eq(id, "res-9");
        ck_assert_int_eq(fzd_proxy_ips_get(t, "docs.corp.example", &b), 0);
        ck_assert_int_eq(fzd_proxy_ips_lookup(t, AF_INET6, &b.v6[3], NULL, id), 0);
        ck_assert_str_eq(id, "");
        memset(long_id, 'x', sizeof long_id - 1);
        long_id[sizeof long_id - 1] = 0;
        ck_assert_int_eq(fzd_proxy_ips_assign(t, "x.example", long_id, NULL), -EINVAL);
}
END_TEST

START_TEST(test_unknown_addresses) {
        _cleanup_(fzd_proxy_ips_freep) FzdProxyIps *t = NULL;
        static const char *const v4[] = {"100.96.0.0",    "100.96.0.3", "100.96.0.4", "100.127.255.255",
                                         "100.100.111.1", "10.0.0.1",   "100.128.0.4"};
        static const char *const v6[] = {"fd00:2021:1111:8000::", "fd00:2021:1111:8000::4",
                                         "fd00:2021:1111:8000:100:100:111:1", "fd00:2021:1111::4"};

        ck_assert_int_eq(fzd_proxy_ips_new(&t), 0);
        for (size_t i = 0; i < ELEMENTSOF(v4); i++) {
                struct in_addr a;
                inet_pton(AF_INET, v4[i], &a);
                ck_assert_int_eq(fzd_proxy_ips_lookup(t, AF_INET, &a, NULL, NULL), -ENOENT);
        }
        for (size_t i = 0; i < ELEMENTSOF(v6); i++) {
                struct in6_addr a;
                inet_pton(AF_INET6, v6[i], &a);
                ck_assert_int_eq(fzd_proxy_ips_lookup(t, AF_INET6, &a, NULL, NULL), -ENOENT);
        }
        ck_assert_int_eq(fzd_proxy_ips_lookup(t, AF_UNIX, "x", NULL, NULL), -ENOENT);
}
END_TEST

/* The arithmetic for every index the table could ever use (and beyond its bound, up to
 * where the IPv4 range has room): inside the ranges, never a sentinel, never the network
 * or broadcast address, and back to the same index. */
#define CHECK(cond)                                                                                         \
        do {                                                                                                \
                if (!(cond))                                                                                \
                        ck_abort_msg("%s fails for index %zu", #cond, k);                                   \
        } while (0)

START_TEST(test_arithmetic_whole_range) {
        size_t last = (1u << 19) - 2 - 64 - 1;
        struct in6_addr base6, sentinel6;

        inet_pton(AF_INET6, "fd00:2021:1111:8000::", &base6);
        inet_pton(AF_INET6, "fd00:2021:1111:8000:100:100:111:0", &sentinel6);
        for (size_t k = 0; k < last; k++) {
                FzdProxyAddresses a;
                fzd_proxy_ips_addresses_of(k, &a);
                for (int i = 0; i < FZD_PROXY_IPS_PER_FAMILY; i++) {
                        uint32_t h = ntohl(a.v4[i].s_addr);
                        const uint8_t *b6 = a.v6[i].s6_addr;
                        CHECK((h >> 21) == (0x64600000u >> 21));     /* 100.96.0.0/11 */
                        CHECK((h >> 8) != (0x64646f00u >> 8));       /* not 100.100.111.0/24 */
                        CHECK(h != 0x64600000u && h != 0x647fffffu); /* network, broadcast */
                        CHECK(memcmp(b6, base6.s6_addr, 13) == 0 && (b6[13] & 0xe0) == 0); /* /107 */
                        CHECK(memcmp(b6, sentinel6.s6_addr, 15) != 0); /* not the sentinel /120 */
                        CHECK(fzd_proxy_ips_index_of(AF_INET, &a.v4[i]) == (long)k);
                        CHECK(fzd_proxy_ips_index_of(AF_INET6, &a.v6[i]) == (long)k);
                }
        }
        /* The blocks right around the sentinels: contiguous numbering across the gap. */
        {
                struct in_addr before, after;
                inet_pton(AF_INET, "100.100.110.252", &before);
                inet_pton(AF_INET, "100.100.112.0", &after);
                ck_assert_int_eq(fzd_proxy_ips_index_of(AF_INET, &after),
                                 fzd_proxy_ips_index_of(AF_INET, &before) + 1);
        }
}
END_TEST

START_TEST(test_bounded) {
        _cleanup_(fzd_proxy_ips_freep) FzdProxyIps *t = NULL;
        FzdProxyAddresses first, a;
        char name[64];

        ck_assert_int_eq(fzd_proxy_ips_new(&t), 0);
        for (unsigned i = 0; i < FZD_PROXY_IPS_MAX_NAMES; i++) {
                snprintf(name, sizeof name, "n%u.example", i);
                ck_assert_int_eq(fzd_proxy_ips_assign(t, name, "r", i == 0 ? &first : NULL), 1);
        }
        ck_assert_int_eq(fzd_proxy_ips_assign(t, "one-more.example", "r", &a), -ENOSPC);
        ck_assert_int_eq(fzd_proxy_ips_assign(t, "n0.example", "r", &a), 0);
        ck_assert_mem_eq(&a, &first, sizeof a);
        ck_assert_uint_eq(fzd_proxy_ips_count(t), FZD_PROXY_IPS_MAX_NAMES);
}
END_TEST

typedef struct Reader {
        FzdProxyIps *t;
        volatile bool *stop;
        unsigned long checked;
        bool bad;
} Reader;

static void *reader(void *userdata) {
        Reader *r = userdata;
        char name[FZD_DNS_NAME_TEXT_MAX + 1], id[FZD_PROXY_IPS_ID_MAX + 1], want[64];

        while (!__atomic_load_n(r->stop, __ATOMIC_ACQUIRE)) {
                size_t n = fzd_proxy_ips_count(r->t);
                for (size_t k = 0; k < n; k++) {
                        FzdProxyAddresses a;
                        fzd_proxy_ips_addresses_of(k, &a);
                        if (fzd_proxy_ips_lookup(r->t, AF_INET, &a.v4[k % 4], name, id) < 0) {
                                r->bad = true;
                                continue;
                        }
                        snprintf(want, sizeof want, "n%zu.example", k);
                        /* The id changes under us (res-a ↔ res-b), never into anything else. */
                        if (!streq(name, want) || (!streq(id, "res-a") && !streq(id, "res-b")))
                                r->bad = true;
                        r->checked++;
                }
        }
        return NULL;
}

static const char *flip(void *userdata, const char *name) {
        return *(unsigned *)userdata % 2 ? "res-b" : "res-a";
}

START_TEST(test_readers_on_other_threads) {
        _cleanup_(fzd_proxy_ips_freep) FzdProxyIps *t = NULL;
        volatile bool stop = false;
        Reader r[3];
        pthread_t th[3];
        char name[64];

        ck_assert_int_eq(fzd_proxy_ips_new(&t), 0);
        for (int i = 0; i < 3; i++) {
                r[i] = (Reader){.t = t, .stop = &stop};
                ck_assert_int_eq(pthread_create(&th[i], NULL, reader, &r[i]), 0);
        }
        for (unsigned i = 0; i < 3000; i++) {
                snprintf(name, sizeof name, "n%u.example", i);
                ck_assert_int_eq(fzd_proxy_ips_assign(t, name, "res-a", NULL), 1); /* grows the table */
                if (i % 100 == 0)
                        fzd_proxy_ips_rebind(t, flip, &i);
        }
        __atomic_store_n(&stop, true, __ATOMIC_RELEASE);
        for (int i = 0; i < 3; i++) {
                ck_assert_int_eq(pthread_join(th[i], NULL), 0);
                ck_assert(!r[i].bad);
        }
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("proxy-ips");
        TCase *tc = tcase_create("core");
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_assign_stable_and_distinct);
        tcase_add_test(tc, test_resource_follows);
        tcase_add_test(tc, test_unknown_addresses);
        tcase_add_test(tc, test_arithmetic_whole_range);
        tcase_add_test(tc, test_bounded);
        tcase_add_test(tc, test_readers_on_other_threads);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(suite)
