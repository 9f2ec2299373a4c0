/* SPDX-License-Identifier: Apache-2.0 */
/* The string map (daemon/dnsstub/strmap.c): removing entries while iterating, as
 * fzd_connections_resources_retain/clear do, sees every entry and stays linear. */
#include <stdint.h>
#include <stdio.h>

#include "fz-check.h"
#include "strmap.h"

#define N 10000

static FzdStrMap *filled(char keys[][16]) {
        FzdStrMap *m = NULL;

        ck_assert_int_eq(fzd_strmap_new(&m), 0);
        for (uintptr_t k = 0; k < N; k++) {
                snprintf(keys[k], 16, "res-%lu", (unsigned long) k);
                ck_assert_int_eq(fzd_strmap_put(m, keys[k], (void *) (k + 1)), 0);
        }
        ck_assert_uint_eq(fzd_strmap_size(m), N);
        return m;
}

START_TEST(test_remove_while_iterating) {
        static char keys[N][16];
        static unsigned seen[N];
        _cleanup_(fzd_strmap_freep) FzdStrMap *m = filled(keys);
        const char *key;
        void *value;
        size_t i = 0, visits = 0;

        /* Drop the odd ones; the even ones stay (each seen at least once). */
        while (fzd_strmap_next(m, &i, &key, &value)) {
                uintptr_t k = (uintptr_t) value - 1;
                visits++;
                seen[k]++;
                if (k % 2 == 0)
                        continue;
                ck_assert_ptr_eq(fzd_strmap_remove(m, key), value);
                i--;
        }
        ck_assert_uint_eq(fzd_strmap_size(m), N / 2);
        for (size_t k = 0; k < N; k++) {
                ck_assert_uint_ge(seen[k], 1);
                ck_assert(!!fzd_strmap_get(m, keys[k]) == (k % 2 == 0));
        }
        ck_assert_uint_le(visits, N + N / 10); /* linear, not a restart per removal */

        /* And remove everything. */
        i = 0;
        while (fzd_strmap_next(m, &i, &key, &value)) {
                ck_assert_ptr_eq(fzd_strmap_remove(m, key), value);
                i--;
        }
        ck_assert_uint_eq(fzd_strmap_size(m), 0);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("strmap");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_remove_while_iterating);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(suite)
