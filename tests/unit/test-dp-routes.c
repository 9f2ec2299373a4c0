/* SPDX-License-Identifier: Apache-2.0 */
/* Longest-prefix match of the data plane's routes, against a brute-force reference. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>

#include "dp-routes.h"
#include "fz-check.h"

static void *V(uintptr_t v) {
        return (void *) v;
}

static void *lookup4(FzdDpRoutes *r, const char *a, uint64_t *cookie) {
        struct in_addr in;
        void *v = NULL;

        ck_assert_int_eq(inet_pton(AF_INET, a, &in), 1);
        if (!fzd_dp_routes_lookup(r, AF_INET, &in, &v, cookie))
                return NULL;
        return v;
}

static void add4(FzdDpRoutes *r, const char *a, unsigned len, uintptr_t v) {
        struct in_addr in;
        ck_assert_int_eq(inet_pton(AF_INET, a, &in), 1);
        ck_assert_int_eq(fzd_dp_routes_add(r, AF_INET, &in, len, V(v), v * 10, NULL), 0);
}

START_TEST(test_lpm4) {
        FzdDpRoutes *r;
        uint64_t cookie = 0;
        struct in_addr in;
        void *old;

        ck_assert_int_eq(fzd_dp_routes_new(&r), 0);
        ck_assert_ptr_null(lookup4(r, "10.1.2.3", NULL));
        add4(r, "0.0.0.0", 0, 1);
        add4(r, "10.0.0.0", 8, 2);
        add4(r, "10.1.2.0", 24, 3);
        add4(r, "10.1.2.3", 32, 4);
        add4(r, "10.1.2.77", 25, 5); /* host bits ignored: 10.1.2.0/25 */
        ck_assert_ptr_eq(lookup4(r, "10.1.2.3", &cookie), V(4));
        ck_assert_uint_eq(cookie, 40);
        ck_assert_ptr_eq(lookup4(r, "10.1.2.4", NULL), V(5));
        ck_assert_ptr_eq(lookup4(r, "10.1.2.200", NULL), V(3));
        ck_assert_ptr_eq(lookup4(r, "10.9.9.9", NULL), V(2));
        ck_assert_ptr_eq(lookup4(r, "192.0.2.1", NULL), V(1));
        ck_assert_uint_eq(fzd_dp_routes_count(r), 5);

        /* Replace keeps one entry and hands back the old value. */
        ck_assert_int_eq(inet_pton(AF_INET, "10.0.0.0", &in), 1);
        ck_assert_int_eq(fzd_dp_routes_add(r, AF_INET, &in, 8, V(9), 0, &old), 0);
        ck_assert_ptr_eq(old, V(2));
        ck_assert_uint_eq(fzd_dp_routes_count(r), 5);
        ck_assert_ptr_eq(lookup4(r, "10.9.9.9", NULL), V(9));
        /* Remove. */
        ck_assert_int_eq(fzd_dp_routes_remove(r, AF_INET, &in, 8, &old), 0);
        ck_assert_ptr_eq(old, V(9));
        ck_assert_int_eq(fzd_dp_routes_remove(r, AF_INET, &in, 8, &old), -ENOENT);
        ck_assert_ptr_eq(lookup4(r, "10.9.9.9", NULL), V(1));
        /* Every route of one value. */
        add4(r, "172.16.0.0", 12, 4);
        ck_assert_uint_eq(fzd_dp_routes_remove_value(r, V(4)), 2);
        ck_assert_ptr_eq(lookup4(r, "10.1.2.3", NULL), V(5));
        ck_assert_ptr_eq(lookup4(r, "172.16.1.1", NULL), V(1));
        /* Exactly one prefix: not the longest match, not a shorter one. */
        ck_assert_int_eq(inet_pton(AF_INET, "10.1.2.99", &in), 1);
        old = NULL;
        ck_assert(fzd_dp_routes_get(r, AF_INET, &in, 25, &old)); /* 10.1.2.0/25, host bits ignored */
        ck_assert_ptr_eq(old, V(5));
        ck_assert(fzd_dp_routes_get(r, AF_INET, &in, 24, &old));
        ck_assert_ptr_eq(old, V(3));
        ck_assert(!fzd_dp_routes_get(r, AF_INET, &in, 23, &old));
        ck_assert(!fzd_dp_routes_get(r, AF_INET, &in, 32, NULL));
        ck_assert(!fzd_dp_routes_get(r, AF_INET, &in, 33, &old));
        ck_assert(!fzd_dp_routes_get(r, AF_UNIX, &in, 8, &old));
        ck_assert_uint_eq(fzd_dp_routes_count(r), 3);
        /* Bad input. */
        ck_assert_int_eq(fzd_dp_routes_add(r, AF_INET, &in, 33, V(1), 0, NULL), -EINVAL);
        ck_assert_int_eq(fzd_dp_routes_add(r, AF_UNIX, &in, 8, V(1), 0, NULL), -EINVAL);
        fzd_dp_routes_free(r);
}
END_TEST

START_TEST(test_lpm6_and_families) {
        FzdDpRoutes *r;
        struct in6_addr a, b;
        struct in_addr v4 = {};
        void *v = NULL;

        ck_assert_int_eq(fzd_dp_routes_new(&r), 0);
        inet_pton(AF_INET6, "fd00:2021:1111::", &a);
        ck_assert_int_eq(fzd_dp_routes_add(r, AF_INET6, &a, 107, V(1), 0, NULL), 0);
        inet_pton(AF_INET6, "fd00:2021:1111::5", &a);
        ck_assert_int_eq(fzd_dp_routes_add(r, AF_INET6, &a, 128, V(2), 0, NULL), 0);
        inet_pton(AF_INET6, "fd00:2021:1111::5", &b);
        ck_assert(fzd_dp_routes_lookup(r, AF_INET6, &b, &v, NULL));
        ck_assert_ptr_eq(v, V(2));
        inet_pton(AF_INET6, "fd00:2021:1111::1f:ffff", &b);
        ck_assert(fzd_dp_routes_lookup(r, AF_INET6, &b, &v, NULL));
        ck_assert_ptr_eq(v, V(1));
        inet_pton(AF_INET6, "fd00:2021:1111::20:0", &b); /* just past the /107 */
        ck_assert(!fzd_dp_routes_lookup(r, AF_INET6, &b, &v, NULL));
        /* An IPv4 lookup never matches IPv6 routes (::/0 would not cover 0.0.0.0/0). */
        memset(&a, 0, sizeof a);
        ck_assert_int_eq(fzd_dp_routes_add(r, AF_INET6, &a, 0, V(3), 0, NULL), 0);
        ck_assert(!fzd_dp_routes_lookup(r, AF_INET, &v4, &v, NULL));
        fzd_dp_routes_free(r);
}
END_TEST

/* Thousands of random routes: every lookup equals the longest match found by brute force. */
START_TEST(test_random_against_brute_force) {
        enum { N = 3000 };
        static struct {
                uint32_t addr;
                unsigned len;
        } routes[N];
        FzdDpRoutes *r;

        ck_assert_int_eq(fzd_dp_routes_new(&r), 0);
        srand(1234);
        for (unsigned i = 0; i < N; i++) {
                unsigned len = (unsigned) (rand() % 25) + 8;
                uint32_t a = (uint32_t) rand() & (len == 32 ? 0xffffffffu : ~(0xffffffffu >> len)) & 0x0fffffffu;
                uint32_t be = htonl(a);
                routes[i].addr = a;
                routes[i].len = len;
                ck_assert_int_eq(fzd_dp_routes_add(r, AF_INET, &be, len, V(i + 1), 0, NULL), 0);
        }
        for (unsigned k = 0; k < 20000; k++) {
                uint32_t a = (uint32_t) rand() & 0x0fffffffu, be = htonl(a);
                int best = -1;
                void *v = NULL;
                if (k % 2)
                        a = routes[rand() % N].addr | ((uint32_t) rand() & 0xff), be = htonl(a);
                for (unsigned i = 0; i < N; i++) {
                        uint32_t m = routes[i].len == 32 ? 0xffffffffu : ~(0xffffffffu >> routes[i].len);
                        /* later adds replace earlier ones of the same prefix */
                        if ((a & m) == routes[i].addr && (best < 0 || routes[i].len >= routes[best].len))
                                best = (int) i;
                }
                if (best < 0)
                        ck_assert(!fzd_dp_routes_lookup(r, AF_INET, &be, &v, NULL));
                else {
                        ck_assert(fzd_dp_routes_lookup(r, AF_INET, &be, &v, NULL));
                        ck_assert_uint_eq(routes[(uintptr_t) v - 1].len, routes[best].len);
                        ck_assert_uint_eq(routes[(uintptr_t) v - 1].addr, routes[best].addr);
                }
        }
        fzd_dp_routes_free(r);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("dp-routes");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_lpm4);
        tcase_add_test(tc, test_lpm6_and_families);
        tcase_add_test(tc, test_random_against_brute_force);
        tcase_set_timeout(tc, 60);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(suite)
