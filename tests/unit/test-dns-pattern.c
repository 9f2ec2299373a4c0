/* SPDX-License-Identifier: Apache-2.0 */
/* Name patterns of DNS resources and the resource index (daemon/dnsstub/dns-pattern.c,
 * dns-resources.c), table-tested: DESIGN §7.1's rules and the cases Firezone's client
 * documents for its own patterns. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "dns-pattern.h"
#include "dns-resources.h"
#include "fz-check.h"

static bool matches(const char *pattern, const char *name) {
        FzdDnsPattern p;
        bool r;

        ck_assert_int_eq(fzd_dns_pattern_compile(pattern, &p), 0);
        r = fzd_dns_pattern_matches(&p, name);
        fzd_dns_pattern_done(&p);
        return r;
}

START_TEST(test_matching) {
        static const struct {
                const char *pattern, *name;
                bool match;
        } cases[] = {
                /* exact names, any case */
                {"app.example.com", "app.example.com", true},
                {"App.Example.COM", "app.example.com", true},
                {"app.example.com.", "app.example.com", true},
                {"app.example.com", "example.com", false},
                {"app.example.com", "x.app.example.com", false},
                /* `*`: one label; `*.x` also matches x */
                {"*.example.com", "foo.example.com", true},
                {"*.example.com", "example.com", true},
                {"*.example.com", "foo.bar.example.com", false},
                {"foo.*.example.com", "foo.bar.example.com", true},
                {"app.*.example.com", "app.foo.bar.example.com", false},
                {"app.*.*.example.com", "app.foo.bar.example.com", true},
                {"app.*com", "app.foo.com", false},
                {"*ample.com", "example.com", true},
                {"*ample.com", "x.example.com", false},
                {"*", "localhost", true},
                {"*", "a.b", false},
                /* `?`: one character, never a dot */
                {"app.f??.example.com", "app.foo.example.com", true},
                {"app.f??.example.com", "app.fo.example.com", false},
                {"app?com", "app.com", false},
                {"?.example.com", "a.example.com", true},
                {"?.example.com", "ab.example.com", false},
                {"*?*.example.com", "app.example.com", true},
                /* `**`: any number of labels, none included */
                {"**.example.com", "example.com", true},
                {"**.example.com", "foo.example.com", true},
                {"**.example.com", "foo.bar.example.com", true},
                {"**.example.com", "fooexample.com", false},
                {"app.**.example.com", "app.bar.foo.example.com", true},
                {"app.**.example.com", "app.example.com", true},
                {"app.**.web.**.example.com", "app.web.example.com", true},
                {"app.**.web.**.example.com", "app.a.b.web.c.example.com", true},
                {"app.**.web.**.example.com", "app.a.b.c.example.com", false},
                {"**", "anything.at.all", true},
                {"**.b.**.b.**.b", "b.b.b", true},
                {"**.b.**.b.**.b", "b.a.b", false},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                ck_assert_msg(matches(cases[i].pattern, cases[i].name) == cases[i].match,
                              "%s ~ %s should be %s", cases[i].pattern, cases[i].name,
                              cases[i].match ? "true" : "false");
}
END_TEST

START_TEST(test_compile_rejects) {
        static const char *const bad[] = {
                "",     ".",
                "a..b", "a b",
                "a/b",  "ä.example",
                ".a",   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com"};
        FzdDnsPattern p;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(fzd_dns_pattern_compile(bad[i], &p) == -EINVAL, "%s", bad[i]);
        ck_assert_int_eq(fzd_dns_pattern_compile(NULL, &p), -EINVAL);
}
END_TEST

START_TEST(test_literal_suffix) {
        static const struct {
                const char *pattern, *suffix;
        } cases[] = {
                {"a.*.corp.example", "corp.example"},
                {"*.corp.example", "corp.example"},
                {"**.corp", "corp"},
                {"*ample.com", "com"},
                {"host.corp", "host.corp"},
                {"corp.*", ""},
                {"*", ""},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                FzdDnsPattern p;
                ck_assert_int_eq(fzd_dns_pattern_compile(cases[i].pattern, &p), 0);
                ck_assert_str_eq(fzd_dns_pattern_literal_suffix(&p), cases[i].suffix);
                fzd_dns_pattern_done(&p);
        }
}
END_TEST

static int cmp_strings(const void *a, const void *b) {
        FzdDnsPattern x, y;
        int r;

        ck_assert_int_eq(fzd_dns_pattern_compile(*(const char *const *)a, &x), 0);
        ck_assert_int_eq(fzd_dns_pattern_compile(*(const char *const *)b, &y), 0);
        r = fzd_dns_pattern_compare(&x, &y);
        fzd_dns_pattern_done(&x);
        fzd_dns_pattern_done(&y);
        return r;
}

START_TEST(test_specificity_order) {
        /* The order Firezone's client documents for its patterns. */
        const char *v[] = {"**.example.com", "bar.example.com", "foo.example.com",
                           "example.com",    "*ample.com",      "*.bar.example.com",
                           "?.example.com",  "*.com",           "*.example.com"};
        static const char *const want[] = {"example.com",     "bar.example.com", "*.bar.example.com",
                                           "foo.example.com", "?.example.com",   "*.example.com",
                                           "**.example.com",  "*ample.com",      "*.com"};

        qsort(v, ELEMENTSOF(v), sizeof v[0], cmp_strings);
        for (size_t i = 0; i < ELEMENTSOF(v); i++)
                ck_assert_str_eq(v[i], want[i]);
}
END_TEST

/* ---- the resource index --------------------------------------------------------------------- */

static const char *best(FzdDnsResources *s, const char *name) {
        const FzdDnsResource *r = fzd_dns_resources_match(s, name);
        return r ? r->id : NULL;
}

START_TEST(test_resources_most_specific_wins) {
        _cleanup_(fzd_dns_resources_freep) FzdDnsResources *s = NULL;

        ck_assert_int_eq(fzd_dns_resources_new(&s), 0);
        ck_assert_int_eq(fzd_dns_resources_put(s, "wide", "**.corp.example", FZD_DNS_IP_STACK_DUAL), 1);
        ck_assert_int_eq(fzd_dns_resources_put(s, "star", "*.corp.example", FZD_DNS_IP_STACK_DUAL), 1);
        ck_assert_int_eq(fzd_dns_resources_put(s, "q", "?.corp.example", FZD_DNS_IP_STACK_DUAL), 1);
        ck_assert_int_eq(fzd_dns_resources_put(s, "exact", "git.corp.example", FZD_DNS_IP_STACK_IPV4_ONLY),
                         1);
        ck_assert_int_eq(fzd_dns_resources_put(s, "mid", "app.*.corp.example", FZD_DNS_IP_STACK_DUAL), 1);
        ck_assert_int_eq(fzd_dns_resources_put(s, "all", "**", FZD_DNS_IP_STACK_DUAL), 1);
        ck_assert_uint_eq(fzd_dns_resources_size(s), 6);

        ck_assert_str_eq(best(s, "git.corp.example"), "exact");
        ck_assert_str_eq(best(s, "a.corp.example"), "q");
        ck_assert_str_eq(best(s, "wiki.corp.example"), "star");
        ck_assert_str_eq(best(s, "corp.example"), "star"); /* `*.x` matches x, before `**.x` */
        ck_assert_str_eq(best(s, "a.b.corp.example"), "wide");
        ck_assert_str_eq(best(s, "app.eu.corp.example"), "mid");
        ck_assert_str_eq(best(s, "example.org"), "all");
        ck_assert_int_eq(fzd_dns_resources_remove(s, "all"), 1);
        ck_assert_int_eq(fzd_dns_resources_remove(s, "all"), 0);
        ck_assert_ptr_null(best(s, "example.org"));
        ck_assert_ptr_null(best(s, ""));

        /* Two resources with the same pattern: the smaller id, every time. */
        ck_assert_int_eq(fzd_dns_resources_put(s, "b-twin", "git.corp.example", FZD_DNS_IP_STACK_DUAL), 1);
        ck_assert_int_eq(fzd_dns_resources_put(s, "a-twin", "git.corp.example", FZD_DNS_IP_STACK_DUAL), 1);
        ck_assert_str_eq(best(s, "git.corp.example"), "a-twin");
}
END_TEST

/* Resources filed under one key (an exact name, a wildcard's literal suffix) chain behind the
 * first one, whose text is the index's key: removing the first hands the key to the next (the
 * old text is freed with it: ASan sees a key left dangling), removing any other unlinks it. */
START_TEST(test_resources_same_key) {
        _cleanup_(fzd_dns_resources_freep) FzdDnsResources *s = NULL;

        ck_assert_int_eq(fzd_dns_resources_new(&s), 0);
        ck_assert_int_eq(fzd_dns_resources_put(s, "e2", "db.corp.example", FZD_DNS_IP_STACK_DUAL), 1);
        ck_assert_int_eq(fzd_dns_resources_put(s, "e3", "DB.corp.example", FZD_DNS_IP_STACK_DUAL), 1);
        ck_assert_int_eq(fzd_dns_resources_put(s, "e1", "db.corp.example.", FZD_DNS_IP_STACK_DUAL), 1);
        ck_assert_int_eq(fzd_dns_resources_put(s, "w2", "*.corp.example", FZD_DNS_IP_STACK_DUAL), 1);
        ck_assert_int_eq(fzd_dns_resources_put(s, "w1", "?.corp.example", FZD_DNS_IP_STACK_DUAL), 1);
        ck_assert_int_eq(fzd_dns_resources_put(s, "w3", "**.corp.example", FZD_DNS_IP_STACK_DUAL), 1);
        ck_assert_str_eq(best(s, "db.corp.example"), "e1");
        ck_assert_int_eq(fzd_dns_resources_remove(s, "e2"), 1); /* the first: the key moves */
        ck_assert_str_eq(best(s, "db.corp.example"), "e1");
        ck_assert_int_eq(fzd_dns_resources_remove(s, "e1"), 1); /* one behind the first */
        ck_assert_str_eq(best(s, "db.corp.example"), "e3");
        ck_assert_int_eq(fzd_dns_resources_remove(s, "e3"), 1);
        ck_assert_str_eq(best(s, "db.corp.example"), "w2"); /* no exact one left */

        ck_assert_str_eq(best(s, "a.corp.example"), "w1");
        ck_assert_int_eq(fzd_dns_resources_remove(s, "w2"), 1); /* the first under "corp.example" */
        ck_assert_str_eq(best(s, "a.corp.example"), "w1");
        ck_assert_str_eq(best(s, "ab.corp.example"), "w3");
        /* Moved to another key and back: filed anew each time. */
        ck_assert_int_eq(fzd_dns_resources_put(s, "w1", "?.other.example", FZD_DNS_IP_STACK_DUAL), 1);
        ck_assert_str_eq(best(s, "a.corp.example"), "w3");
        ck_assert_str_eq(best(s, "a.other.example"), "w1");
        ck_assert_int_eq(fzd_dns_resources_put(s, "w1", "?.corp.example", FZD_DNS_IP_STACK_DUAL), 1);
        ck_assert_str_eq(best(s, "a.corp.example"), "w1");
        ck_assert_ptr_null(best(s, "a.other.example"));
        ck_assert_int_eq(fzd_dns_resources_remove(s, "w3"), 1);
        ck_assert_int_eq(fzd_dns_resources_remove(s, "w1"), 1);
        ck_assert_ptr_null(best(s, "a.corp.example"));
        ck_assert_uint_eq(fzd_dns_resources_size(s), 0);
}
END_TEST

START_TEST(test_resources_update_and_clear) {
        _cleanup_(fzd_dns_resources_freep) FzdDnsResources *s = NULL;
        uint64_t g;

        ck_assert_int_eq(fzd_dns_resources_new(&s), 0);
        ck_assert_int_eq(fzd_dns_resources_put(s, "r", "*.one.example", FZD_DNS_IP_STACK_DUAL), 1);
        g = fzd_dns_resources_generation(s);
        /* The same again (case and trailing dot do not count): no change. */
        ck_assert_int_eq(fzd_dns_resources_put(s, "r", "*.ONE.example.", FZD_DNS_IP_STACK_DUAL), 0);
        ck_assert_uint_eq(fzd_dns_resources_generation(s), g);
        /* Moved to another pattern: the old one no longer matches. */
        ck_assert_int_eq(fzd_dns_resources_put(s, "r", "*.two.example", FZD_DNS_IP_STACK_DUAL), 1);
        ck_assert_ptr_null(best(s, "x.one.example"));
        ck_assert_str_eq(best(s, "x.two.example"), "r");
        /* A bad pattern leaves the resource as it was. */
        ck_assert_int_eq(fzd_dns_resources_put(s, "r", "bad pattern", FZD_DNS_IP_STACK_DUAL), -EINVAL);
        ck_assert_str_eq(best(s, "x.two.example"), "r");
        /* IP stack alone changes it too. */
        ck_assert_int_eq(fzd_dns_resources_put(s, "r", "*.two.example", FZD_DNS_IP_STACK_IPV6_ONLY), 1);
        ck_assert_int_eq(fzd_dns_resources_match(s, "x.two.example")->ip_stack, FZD_DNS_IP_STACK_IPV6_ONLY);
        fzd_dns_resources_clear(s);
        ck_assert_uint_eq(fzd_dns_resources_size(s), 0);
        ck_assert_ptr_null(best(s, "x.two.example"));
        ck_assert_int_eq(fzd_dns_resources_put(s, "r", "*.two.example", FZD_DNS_IP_STACK_DUAL), 1);
        ck_assert_str_eq(best(s, "x.two.example"), "r");
}
END_TEST

/* The index must agree with a plain scan of every pattern, whatever the set. */
START_TEST(test_resources_against_linear_scan) {
        static const char *const labels[] = {"a", "b", "corp", "*", "**", "?", "x*", "*b"};
        static const char *const names[] = {"a",      "b",          "corp",     "a.corp",
                                            "b.corp", "x.a.corp",   "a.b.corp", "xb.corp",
                                            "corp.a", "a.b.c.corp", "bb",       ""};
        _cleanup_(fzd_dns_resources_freep) FzdDnsResources *s = NULL;
        FzdDnsPattern all[300];
        char ids[300][8];
        size_t n = 0;
        unsigned seed = 42;

        ck_assert_int_eq(fzd_dns_resources_new(&s), 0);
        for (size_t i = 0; i < ELEMENTSOF(all); i++) {
                char text[64] = "";
                int k = 1 + (int)(rand_r(&seed) % 3);
                for (int j = 0; j < k; j++) {
                        if (j > 0)
                                strcat(text, ".");
                        strcat(text, labels[rand_r(&seed) % ELEMENTSOF(labels)]);
                }
                snprintf(ids[n], sizeof ids[n], "%03zu", i);
                ck_assert_int_eq(fzd_dns_pattern_compile(text, &all[n]), 0);
                ck_assert_int_ge(fzd_dns_resources_put(s, ids[n], text, FZD_DNS_IP_STACK_DUAL), 0);
                n++;
        }
        for (size_t k = 0; k < ELEMENTSOF(names); k++) {
                const char *want = NULL;
                const FzdDnsPattern *wp = NULL;
                for (size_t i = 0; i < n; i++) {
                        int c;
                        if (!fzd_dns_pattern_matches(&all[i], names[k]))
                                continue;
                        c = wp ? fzd_dns_pattern_compare(&all[i], wp) : -1;
                        if (!wp || c < 0 || (c == 0 && strcmp(ids[i], want) < 0)) {
                                want = ids[i];
                                wp = &all[i];
                        }
                }
                if (!want)
                        ck_assert_ptr_null(best(s, names[k]));
                else
                        ck_assert_msg(best(s, names[k]) && streq(best(s, names[k]), want), "%s: %s vs %s",
                                      names[k], strempty(best(s, names[k])), want);
        }
        for (size_t i = 0; i < n; i++)
                fzd_dns_pattern_done(&all[i]);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("dns-pattern");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_matching);
        tcase_add_test(tc, test_compile_rejects);
        tcase_add_test(tc, test_literal_suffix);
        tcase_add_test(tc, test_specificity_order);
        tcase_add_test(tc, test_resources_most_specific_wins);
        tcase_add_test(tc, test_resources_same_key);
        tcase_add_test(tc, test_resources_update_and_clear);
        tcase_add_test(tc, test_resources_against_linear_scan);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(suite)
