/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fz-check.h"
#include "resource.h"

static FzdResource *mk(const char *id, const char *name) {
        FzdResource *r = calloc(1, sizeof(*r));
        ck_assert_ptr_nonnull(r);
        r->id = strdup(id);
        r->name = strdup(name);
        r->address = strdup("10.0.0.0/24");
        r->description = strdup("");
        r->type = FZD_RESOURCE_CIDR;
        return r;
}

START_TEST(test_type_strings) {
        ck_assert_str_eq(fzd_resource_type_to_string(FZD_RESOURCE_DNS), "dns");
        ck_assert_str_eq(fzd_resource_type_to_string(FZD_RESOURCE_INTERNET), "internet");
        ck_assert_ptr_null(fzd_resource_type_to_string(_FZD_RESOURCE_TYPE_MAX));
        ck_assert_int_eq(fzd_resource_type_from_string("cidr"), FZD_RESOURCE_CIDR);
        ck_assert_int_eq(fzd_resource_type_from_string("ip"), -EINVAL);
        ck_assert_int_eq(fzd_resource_type_from_string(NULL), -EINVAL);
        ck_assert_int_eq(fzd_resource_status_from_string("online"), FZD_RESOURCE_STATUS_ONLINE);
        ck_assert_str_eq(fzd_resource_status_to_string(FZD_RESOURCE_STATUS_OFFLINE), "offline");
        ck_assert_int_eq(fzd_resource_status_from_string("up"), -EINVAL);
}
END_TEST

START_TEST(test_put_get_take_replace) {
        FzdResourceTable *t = NULL;
        FzdResource *old = NULL;

        ck_assert_int_eq(fzd_resource_table_new(&t), 0);
        ck_assert_int_eq(fzd_resource_table_put(t, mk("a", "Alpha"), NULL), 0);
        ck_assert_int_eq(fzd_resource_table_put(t, mk("b", "Beta"), &old), 0);
        ck_assert_ptr_null(old);
        ck_assert_uint_eq(fzd_resource_table_size(t), 2);
        ck_assert_str_eq(fzd_resource_table_get(t, "a")->name, "Alpha");

        ck_assert_int_eq(fzd_resource_table_put(t, mk("a", "Alpha 2"), &old), 0);
        ck_assert_ptr_nonnull(old);
        ck_assert_str_eq(old->name, "Alpha");
        fzd_resource_free(old);
        ck_assert_uint_eq(fzd_resource_table_size(t), 2);
        ck_assert_str_eq(fzd_resource_table_get(t, "a")->name, "Alpha 2");

        old = fzd_resource_table_take(t, "b");
        ck_assert_ptr_nonnull(old);
        fzd_resource_free(old);
        ck_assert_ptr_null(fzd_resource_table_take(t, "b"));
        ck_assert_ptr_null(fzd_resource_table_get(t, "b"));
        ck_assert_ptr_null(fzd_resource_table_get(t, NULL));
        ck_assert_uint_eq(fzd_resource_table_size(t), 1);
        ck_assert_int_eq(fzd_resource_table_put(t, NULL, NULL), -EINVAL);

        fzd_resource_table_clear(t);
        ck_assert_uint_eq(fzd_resource_table_size(t), 0);
        ck_assert_ptr_null(fzd_resource_table_get(t, "a"));
        fzd_resource_table_free(t);
        ck_assert_ptr_null(fzd_resource_table_free(NULL));
        ck_assert_ptr_null(fzd_resource_free(NULL));
}
END_TEST

START_TEST(test_many_with_churn) {
        FzdResourceTable *t = NULL;
        char id[32], name[32];
        const FzdResource **sorted = NULL;
        size_t n = 0;

        ck_assert_int_eq(fzd_resource_table_new(&t), 0);
        for (int i = 0; i < 20000; i++) {
                snprintf(id, sizeof id, "id-%d", i);
                snprintf(name, sizeof name, "name-%05d", 19999 - i);
                ck_assert_int_eq(fzd_resource_table_put(t, mk(id, name), NULL), 0);
        }
        ck_assert_uint_eq(fzd_resource_table_size(t), 20000);
        /* delete every other one, then re-add some: tombstones must not break lookups */
        for (int i = 0; i < 20000; i += 2) {
                snprintf(id, sizeof id, "id-%d", i);
                fzd_resource_free(fzd_resource_table_take(t, id));
        }
        for (int i = 0; i < 20000; i += 4) {
                snprintf(id, sizeof id, "id-%d", i);
                snprintf(name, sizeof name, "name-%05d", 19999 - i);
                ck_assert_int_eq(fzd_resource_table_put(t, mk(id, name), NULL), 0);
        }
        ck_assert_uint_eq(fzd_resource_table_size(t), 15000);
        for (int i = 0; i < 20000; i++) {
                snprintf(id, sizeof id, "id-%d", i);
                bool present = (i % 2 == 1) || (i % 4 == 0);
                ck_assert_int_eq(fzd_resource_table_get(t, id) != NULL, present);
        }
        ck_assert_int_eq(fzd_resource_table_sorted(t, &sorted, &n), 0);
        ck_assert_uint_eq(n, 15000);
        for (size_t i = 1; i < n; i++)
                ck_assert_int_lt(strcmp(sorted[i - 1]->name, sorted[i]->name), 0);
        free(sorted);
        fzd_resource_table_free(t);
}
END_TEST

START_TEST(test_sorted_ties_by_id) {
        FzdResourceTable *t = NULL;
        const FzdResource **sorted = NULL;
        size_t n = 0;

        ck_assert_int_eq(fzd_resource_table_new(&t), 0);
        ck_assert_int_eq(fzd_resource_table_put(t, mk("z", "Same"), NULL), 0);
        ck_assert_int_eq(fzd_resource_table_put(t, mk("a", "Same"), NULL), 0);
        ck_assert_int_eq(fzd_resource_table_put(t, mk("m", "Earlier"), NULL), 0);
        ck_assert_int_eq(fzd_resource_table_sorted(t, &sorted, &n), 0);
        ck_assert_uint_eq(n, 3);
        ck_assert_str_eq(sorted[0]->id, "m");
        ck_assert_str_eq(sorted[1]->id, "a");
        ck_assert_str_eq(sorted[2]->id, "z");
        free(sorted);
        fzd_resource_table_clear(t);
        ck_assert_int_eq(fzd_resource_table_sorted(t, &sorted, &n), 0);
        ck_assert_uint_eq(n, 0);
        free(sorted);
        fzd_resource_table_free(t);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("resource");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_type_strings);
        tcase_add_test(tc, test_put_get_take_replace);
        tcase_add_test(tc, test_many_with_churn);
        tcase_add_test(tc, test_sorted_ties_by_id);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(suite)
