/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fz-check.h"
#include "resource.h"

static FzdResource *make(const char *id, const char *name) {
        FzdResource *r = calloc(1, sizeof *r);
        ck_assert_ptr_nonnull(r);
        r->id = strdup(id);
        r->name = strdup(name);
        r->address = strdup("10.0.0.0/8");
        r->type = FZD_RESOURCE_CIDR;
        return r;
}

START_TEST(test_names) {
        for (int i = 0; i < _FZD_RESOURCE_TYPE_MAX; i++)
                ck_assert_int_eq(fzd_resource_type_from_string(fzd_resource_type_to_string(i)), i);
        for (int i = 0; i < _FZD_RESOURCE_STATUS_MAX; i++)
                ck_assert_int_eq(fzd_resource_status_from_string(fzd_resource_status_to_string(i)), i);
        ck_assert_int_eq(fzd_resource_type_from_string("ip"), -EINVAL);
        ck_assert_int_eq(fzd_resource_type_from_string(NULL), -EINVAL);
        ck_assert_ptr_null(fzd_resource_type_to_string(_FZD_RESOURCE_TYPE_MAX));
        for (int i = 0; i < _FZD_RESOURCE_IP_STACK_MAX; i++)
                ck_assert_int_eq(fzd_resource_ip_stack_from_string(fzd_resource_ip_stack_to_string(i)), i);
        ck_assert_int_eq(fzd_resource_ip_stack_from_string("ipv4"), -EINVAL);
}
END_TEST

START_TEST(test_put_get_replace_take) {
        _cleanup_(fzd_resource_table_freep) FzdResourceTable *t = NULL;
        FzdResource *old = (FzdResource *) 1;

        ck_assert_int_eq(fzd_resource_table_new(&t), 0);
        ck_assert_int_eq(fzd_resource_table_put(t, make("a", "Alpha"), &old), 0);
        ck_assert_ptr_null(old);
        ck_assert_int_eq(fzd_resource_table_put(t, make("a", "Alpha 2"), &old), 0);
        ck_assert_ptr_nonnull(old);
        ck_assert_str_eq(old->name, "Alpha");
        fzd_resource_free(old);
        ck_assert_uint_eq(fzd_resource_table_size(t), 1);
        ck_assert_str_eq(fzd_resource_table_get(t, "a")->name, "Alpha 2");
        ck_assert_ptr_null(fzd_resource_table_get(t, "b"));
        ck_assert_ptr_null(fzd_resource_table_take(t, "b"));
        FzdResource *r = fzd_resource_table_take(t, "a");
        ck_assert_ptr_nonnull(r);
        fzd_resource_free(r);
        ck_assert_uint_eq(fzd_resource_table_size(t), 0);
        ck_assert_int_eq(fzd_resource_table_put(t, NULL, NULL), -EINVAL);
}
END_TEST

/* Random operations against a plain array as the reference, across many grow cycles and
 * deletions that exercise the backward shift (ids chosen from a small pool so they collide). */
START_TEST(test_randomized_against_reference) {
        _cleanup_(fzd_resource_table_freep) FzdResourceTable *t = NULL;
        enum { POOL = 3000, OPS = 60000 };
        static bool present[POOL];
        static unsigned version[POOL];
        size_t count = 0;
        unsigned seed = 12345;

        memset(present, 0, sizeof present);
        ck_assert_int_eq(fzd_resource_table_new(&t), 0);
        for (int op = 0; op < OPS; op++) {
                unsigned k = (unsigned) rand_r(&seed) % POOL;
                char id[32], name[32];
                snprintf(id, sizeof id, "res-%u", k);
                if (rand_r(&seed) % 3) {
                        snprintf(name, sizeof name, "n%u-%u", k, ++version[k]);
                        ck_assert_int_eq(fzd_resource_table_put(t, make(id, name), NULL), 0);
                        if (!present[k])
                                count++;
                        present[k] = true;
                } else {
                        FzdResource *r = fzd_resource_table_take(t, id);
                        ck_assert_int_eq(r != NULL, present[k]);
                        fzd_resource_free(r);
                        if (present[k])
                                count--;
                        present[k] = false;
                }
                if (op % 997 == 0)
                        for (unsigned i = 0; i < POOL; i++) {
                                snprintf(id, sizeof id, "res-%u", i);
                                const FzdResource *r = fzd_resource_table_get(t, id);
                                ck_assert_int_eq(r != NULL, present[i]);
                                if (r) {
                                        snprintf(name, sizeof name, "n%u-%u", i, version[i]);
                                        ck_assert_str_eq(r->name, name);
                                }
                        }
        }
        ck_assert_uint_eq(fzd_resource_table_size(t), count);
}
END_TEST

START_TEST(test_sorted_by_name_then_id) {
        _cleanup_(fzd_resource_table_freep) FzdResourceTable *t = NULL;
        _cleanup_(freep) const FzdResource **v = NULL;
        size_t n;

        ck_assert_int_eq(fzd_resource_table_new(&t), 0);
        fzd_resource_table_put(t, make("3", "beta"), NULL);
        fzd_resource_table_put(t, make("2", "alpha"), NULL);
        fzd_resource_table_put(t, make("1", "beta"), NULL);
        ck_assert_int_eq(fzd_resource_table_sorted(t, &v, &n), 0);
        ck_assert_uint_eq(n, 3);
        ck_assert_str_eq(v[0]->id, "2");
        ck_assert_str_eq(v[1]->id, "1");
        ck_assert_str_eq(v[2]->id, "3");
}
END_TEST

START_TEST(test_dup_is_deep) {
        FzdResource *r = make("x", "X"), *c = NULL;
        r->n_sites = 2;
        r->sites = calloc(2, sizeof *r->sites);
        r->sites[0].id = strdup("s1");
        r->sites[0].name = strdup("Site 1");
        r->sites[1].id = strdup("s2");
        r->sites[1].name = NULL;
        r->ip_stack = FZD_RESOURCE_IP_STACK_IPV6_ONLY;
        ck_assert_int_eq(fzd_resource_dup(r, &c), 0);
        ck_assert_int_eq(c->ip_stack, FZD_RESOURCE_IP_STACK_IPV6_ONLY);
        ck_assert_ptr_ne(c->id, r->id);
        ck_assert_str_eq(c->sites[0].name, "Site 1");
        ck_assert_ptr_null(c->sites[1].name);
        ck_assert_ptr_null(c->description);
        fzd_resource_free(r);
        ck_assert_str_eq(c->sites[1].id, "s2");
        fzd_resource_free(c);
        ck_assert_ptr_null(fzd_resource_free(NULL));
}
END_TEST

START_TEST(test_packed) {
        static const char *const ids[] = { "s1", "s2", "s3" }, *const names[] = { "One", NULL, "" };
        FzdResource *r, *c = NULL;
        size_t many = 20;
        const char **many_ids = calloc(many, sizeof *many_ids);

        static const FzdResourceFilter filters[] = { { 6, 80, 80 }, { 1, 0, 0 } };
        r = fzd_resource_new(&(FzdResourceSpec){ .type = FZD_RESOURCE_CIDR,
                                                 .status = FZD_RESOURCE_STATUS_ONLINE,
                                                 .id = "id-1",
                                                 .name = "Name",
                                                 .address = "10.0.0.0/8",
                                                 .site_ids = ids,
                                                 .site_names = names,
                                                 .n_sites = 3,
                                                 .filters = filters,
                                                 .n_filters = 2 });
        ck_assert_ptr_nonnull(r);
        ck_assert(r->packed);
        ck_assert_str_eq(r->id, "id-1");
        ck_assert_str_eq(r->address, "10.0.0.0/8");
        ck_assert_ptr_null(r->description);
        ck_assert_int_eq(r->status, FZD_RESOURCE_STATUS_ONLINE);
        ck_assert_uint_eq(r->n_sites, 3);
        ck_assert_str_eq(r->sites[2].id, "s3");
        ck_assert_ptr_null(r->sites[1].name);
        ck_assert_str_eq(r->sites[2].name, "");
        ck_assert_uint_eq(r->n_filters, 2);
        ck_assert_uint_eq(r->filters[0].port_end, 80);
        ck_assert_uint_eq(r->filters[1].protocol, 1);
        /* A copy is packed too, and independent. */
        ck_assert_int_eq(fzd_resource_dup(r, &c), 0);
        fzd_resource_free(r);
        ck_assert(c->packed);
        ck_assert_str_eq(c->sites[0].name, "One");
        ck_assert_uint_eq(c->n_filters, 2);
        ck_assert_uint_eq(c->filters[0].protocol, 6);
        fzd_resource_free(c);

        /* No sites, no names; more sites than dup keeps on its stack. */
        r = fzd_resource_new(&(FzdResourceSpec){ .type = FZD_RESOURCE_INTERNET, .id = "i" });
        ck_assert_ptr_null(r->sites);
        ck_assert_ptr_null(r->filters);
        ck_assert_ptr_null(r->name);
        fzd_resource_free(r);
        for (size_t i = 0; i < many; i++)
                many_ids[i] = "site";
        r = fzd_resource_new(&(FzdResourceSpec){ .type = FZD_RESOURCE_DNS,
                                                 .ip_stack = FZD_RESOURCE_IP_STACK_IPV6_ONLY,
                                                 .id = "d",
                                                 .name = "D",
                                                 .address = "x.example.com",
                                                 .description = "",
                                                 .site_ids = many_ids,
                                                 .n_sites = many });
        ck_assert_int_eq(fzd_resource_dup(r, &c), 0);
        ck_assert_int_eq(c->ip_stack, FZD_RESOURCE_IP_STACK_IPV6_ONLY);
        ck_assert_uint_eq(c->n_sites, many);
        ck_assert_str_eq(c->sites[many - 1].id, "site");
        ck_assert_ptr_null(c->sites[many - 1].name);
        fzd_resource_free(r);
        fzd_resource_free(c);
        free(many_ids);
}
END_TEST

START_TEST(test_next_visits_each_once) {
        _cleanup_(fzd_resource_table_freep) FzdResourceTable *t = NULL;
        const FzdResource *r;
        size_t i = 0, n = 0, sum = 0;

        ck_assert_int_eq(fzd_resource_table_new(&t), 0);
        ck_assert_ptr_null(fzd_resource_table_next(t, &i));
        for (int k = 1; k <= 100; k++) {
                char id[16];
                snprintf(id, sizeof id, "%d", k);
                ck_assert_int_eq(fzd_resource_table_put(t, make(id, "x"), NULL), 0);
        }
        i = 0;
        while ((r = fzd_resource_table_next(t, &i))) {
                n++;
                sum += (size_t) atoi(r->id);
        }
        ck_assert_uint_eq(n, 100);
        ck_assert_uint_eq(sum, 5050);
}
END_TEST

static Suite *resource_suite(void) {
        Suite *s = suite_create("resource");
        TCase *tc = tcase_create("core");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_names);
        tcase_add_test(tc, test_put_get_replace_take);
        tcase_add_test(tc, test_randomized_against_reference);
        tcase_add_test(tc, test_sorted_by_name_then_id);
        tcase_add_test(tc, test_dup_is_deep);
        tcase_add_test(tc, test_packed);
        tcase_add_test(tc, test_next_visits_each_once);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(resource_suite)
