/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "fz-check.h"
#include "routeset.h"

static FzdCidr v4(uint32_t a, unsigned len) {
        FzdCidr c = { .family = AF_INET, .prefixlen = (unsigned char) len };
        c.addr.in.s_addr = htonl(a);
        return c;
}

START_TEST(test_refcount) {
        _cleanup_(fzd_route_set_freep) FzdRouteSet *s = NULL;
        FzdCidr a = v4(0x0a000000, 8), b = v4(0x0a000000, 16);

        ck_assert_int_eq(fzd_route_set_new(&s), 0);
        ck_assert_int_eq(fzd_route_set_unref(s, &a), -ENOENT);
        ck_assert_int_eq(fzd_route_set_ref(s, &a), 1);
        ck_assert_int_eq(fzd_route_set_ref(s, &a), 2);
        ck_assert_int_eq(fzd_route_set_ref(s, &b), 1);
        ck_assert_uint_eq(fzd_route_set_size(s), 2);
        ck_assert_uint_eq(fzd_route_set_get(s, &a), 2);
        ck_assert_int_eq(fzd_route_set_unref(s, &a), 1);
        ck_assert_int_eq(fzd_route_set_unref(s, &a), 0);
        ck_assert_uint_eq(fzd_route_set_get(s, &a), 0);
        ck_assert_int_eq(fzd_route_set_unref(s, &a), -ENOENT);
        ck_assert(fzd_route_set_remove(s, &b));
        ck_assert(!fzd_route_set_remove(s, &b));
        ck_assert_uint_eq(fzd_route_set_size(s), 0);
}
END_TEST

START_TEST(test_key_ignores_unused_bytes) {
        _cleanup_(fzd_route_set_freep) FzdRouteSet *s = NULL;
        FzdCidr a = v4(0x0a000000, 8), b = a;

        memset((uint8_t *) &b.addr + 4, 0x55, sizeof b.addr - 4);
        ck_assert_int_eq(fzd_route_set_new(&s), 0);
        ck_assert_int_eq(fzd_route_set_ref(s, &a), 1);
        ck_assert_int_eq(fzd_route_set_ref(s, &b), 2);
        ck_assert_int_eq(fzd_route_set_ref(s, &(FzdCidr) { .family = 0 }), -EAFNOSUPPORT);
}
END_TEST

/* Random operations against a plain array model, across growth and backward-shift
 * deletions. */
START_TEST(test_against_model) {
        enum { KEYS = 3000, OPS = 200000 };
        _cleanup_(fzd_route_set_freep) FzdRouteSet *s = NULL;
        unsigned *model = calloc(KEYS, sizeof *model);
        size_t present = 0, seen = 0, i = 0;
        uint32_t x = 12345;
        FzdCidr c;

        ck_assert_ptr_nonnull(model);
        ck_assert_int_eq(fzd_route_set_new(&s), 0);
        for (int op = 0; op < OPS; op++) {
                unsigned k;
                FzdCidr key;

                x = x * 1103515245u + 12345u;
                k = (x >> 8) % KEYS;
                /* Half IPv4, half IPv6 keys, some differing only in prefix length. */
                if (k % 2) {
                        key = v4(0x0a000000 | (k << 4), 28);
                } else {
                        key = (FzdCidr) { .family = AF_INET6, .prefixlen = (unsigned char) (64 + k % 3) };
                        key.addr.in6.s6_addr[0] = 0xfd;
                        key.addr.in6.s6_addr[6] = (uint8_t) (k >> 8);
                        key.addr.in6.s6_addr[7] = (uint8_t) k;
                }
                if ((x >> 28) < 9) {
                        int r = fzd_route_set_ref(s, &key);
                        ck_assert_int_eq(r, (int) ++model[k]);
                        if (r == 1)
                                present++;
                } else {
                        int r = fzd_route_set_unref(s, &key);
                        if (model[k] == 0)
                                ck_assert_int_eq(r, -ENOENT);
                        else {
                                ck_assert_int_eq(r, (int) --model[k]);
                                if (r == 0)
                                        present--;
                        }
                }
                ck_assert_uint_eq(fzd_route_set_size(s), present);
        }
        while (fzd_route_set_next(s, &i, &c)) {
                ck_assert_uint_gt(fzd_route_set_get(s, &c), 0);
                seen++;
        }
        ck_assert_uint_eq(seen, present);
        fzd_route_set_clear(s);
        ck_assert_uint_eq(fzd_route_set_size(s), 0);
        i = 0;
        ck_assert(!fzd_route_set_next(s, &i, &c));
        free(model);
}
END_TEST

START_TEST(test_limit) {
        _cleanup_(fzd_route_set_freep) FzdRouteSet *s = NULL;

        ck_assert_int_eq(fzd_route_set_new(&s), 0);
        for (uint32_t k = 0; k < FZD_ROUTESET_MAX; k++) {
                FzdCidr c = v4(k << 8, 24);
                ck_assert_int_eq(fzd_route_set_ref(s, &c), 1);
        }
        FzdCidr extra = v4(0xffffff00u, 24);
        ck_assert_int_eq(fzd_route_set_ref(s, &extra), -E2BIG);
        FzdCidr first = v4(0, 24);
        ck_assert_int_eq(fzd_route_set_ref(s, &first), 2); /* existing ones still count */
}
END_TEST

static Suite *routeset_suite(void) {
        Suite *s = suite_create("routeset");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_refcount);
        tcase_add_test(tc, test_key_ignores_unused_bytes);
        tcase_add_test(tc, test_against_model);
        tcase_add_test(tc, test_limit);
        tcase_set_timeout(tc, 60);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(routeset_suite)
