/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>

#include "fz-check.h"
#include "log.h"
#include "options.h"
#include "url.h"

static int parse(FzdOptions *o, const char *const *args) {
        char *argv[16];
        int argc = 0;

        argv[argc++] = (char *) "firezone-client-tunnel";
        for (; *args; args++)
                argv[argc++] = (char *) *args;
        argv[argc] = NULL;
        return fzd_options_parse_argv(o, argc, argv);
}

START_TEST(test_defaults) {
        FzdOptions o;
        fzd_options_init(&o);
        ck_assert_int_eq(parse(&o, (const char *[]) { NULL }), 0);
        ck_assert_int_eq(o.action, FZD_ACTION_RUN);
        ck_assert(!o.no_ipc);
        ck_assert_int_eq(o.dns_control, FZD_DNS_CONTROL_AUTO);
        ck_assert_int_eq(o.log_level, LOG_INFO);
        ck_assert_ptr_null(o.api_url);
        fzd_options_done(&o);
}
END_TEST

START_TEST(test_argv_values) {
        FzdOptions o;
        fzd_options_init(&o);
        ck_assert_int_eq(parse(&o, (const char *[]) { "--no-ipc", "--dns-control=etc-resolv-conf", "--log-level",
                                                       "debug", NULL }),
                         0);
        ck_assert(o.no_ipc);
        ck_assert_int_eq(o.dns_control, FZD_DNS_CONTROL_ETC_RESOLV_CONF);
        ck_assert_int_eq(o.log_level, LOG_DEBUG);
        fzd_options_done(&o);
}
END_TEST

START_TEST(test_argv_rejects) {
        static const char *const bad[][3] = {
                { "--dns-control=nope", NULL },
                { "--dns-control=auto", NULL }, /* auto is the absence of a setting, not a value */
                { "--log-level=loud", NULL },
                { "--token=abc", NULL },
                { "positional", NULL },
                { "--log-level", NULL }, /* missing value */
                { "-x", NULL },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                FzdOptions o;
                fzd_options_init(&o);
                ck_assert_msg(parse(&o, bad[i]) == -EINVAL, "accepted %s", bad[i][0]);
                fzd_options_done(&o);
        }
}
END_TEST

START_TEST(test_help_and_version) {
        FzdOptions o;
        fzd_options_init(&o);
        ck_assert_int_eq(parse(&o, (const char *[]) { "--help", NULL }), 0);
        ck_assert_int_eq(o.action, FZD_ACTION_HELP);
        fzd_options_init(&o);
        ck_assert_int_eq(parse(&o, (const char *[]) { "--version", NULL }), 0);
        ck_assert_int_eq(o.action, FZD_ACTION_VERSION);
}
END_TEST

START_TEST(test_env_then_argv_precedence) {
        FzdOptions o;
        fzd_options_init(&o);
        setenv("FIREZONE_DNS_CONTROL", "disabled", 1);
        setenv("FIREZONE_LOG_LEVEL", "warning", 1);
        setenv("FIREZONE_API_URL", "ws://127.0.0.1:8080/", 1);
        ck_assert_int_eq(fzd_options_parse_env(&o), 0);
        ck_assert_int_eq(o.dns_control, FZD_DNS_CONTROL_DISABLED);
        ck_assert_int_eq(o.log_level, LOG_WARNING);
        ck_assert_str_eq(o.api_url, "ws://127.0.0.1:8080/");
        ck_assert_int_eq(parse(&o, (const char *[]) { "--log-level=error", NULL }), 0);
        ck_assert_int_eq(o.log_level, LOG_ERR);
        ck_assert_int_eq(o.dns_control, FZD_DNS_CONTROL_DISABLED);

        setenv("FIREZONE_API_URL", "ws://portal.example.com/", 1);
        ck_assert_int_eq(fzd_options_parse_env(&o), -EINVAL);
        unsetenv("FIREZONE_DNS_CONTROL");
        unsetenv("FIREZONE_LOG_LEVEL");
        unsetenv("FIREZONE_API_URL");
        fzd_options_done(&o);
}
END_TEST

START_TEST(test_config_file) {
        FzdOptions o;
        fzd_options_init(&o);
        ck_assert_int_eq(fzd_options_parse_config(&o,
                                                  "# admin settings\n"
                                                  "\n"
                                                  "api-url = \"wss://portal.example.com/\"\n"
                                                  "  dns-control=systemd-resolved  \n"
                                                  "; another comment\n"
                                                  "log-level = notice\n"
                                                  "future-setting = 1\n",
                                                  "config"),
                         0);
        ck_assert_str_eq(o.api_url, "wss://portal.example.com/");
        ck_assert_int_eq(o.dns_control, FZD_DNS_CONTROL_SYSTEMD_RESOLVED);
        ck_assert_int_eq(o.log_level, LOG_NOTICE);
        fzd_options_done(&o);
}
END_TEST

START_TEST(test_config_file_errors) {
        static const char *const bad[] = {
                "api-url\n",
                "dns-control = magic\n",
                "log-level = 9\n",
                "api-url = http://portal.example.com/\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                FzdOptions o;
                fzd_options_init(&o);
                ck_assert_msg(fzd_options_parse_config(&o, bad[i], "config") == -EINVAL, "accepted %s", bad[i]);
                fzd_options_done(&o);
        }
}
END_TEST

START_TEST(test_api_url) {
        static const struct {
                const char *url;
                bool ok;
        } cases[] = {
                { "wss://api.firezone.dev/", true },
                { "wss://api.firezone.dev", true },
                { "wss://api.firezone.dev:443/", true },
                { "wss://[2001:db8::1]:8443/", true },
                { "ws://127.0.0.1:8080/", true },
                { "ws://127.1.2.3/", true },
                { "ws://localhost:4000/", true },
                { "ws://[::1]:4000/", true },
                { "ws://api.firezone.dev/", false },
                { "ws://10.0.0.1/", false },
                { "ws://[2001:db8::1]/", false },
                { "ws://localhost.evil.com/", false },
                { "ws://127.0.0.1.evil.com/", false },
                { "http://127.0.0.1/", false },
                { "wss://user:pw@api.firezone.dev/", false },
                { "wss:///", false },
                { "wss://host:0/", false },
                { "wss://host:65536/", false },
                { "wss://host:12a/", false },
                { "wss://ho st/", false },
                { "wss://[::1/", false },
                { "", false },
                /* one grammar with the engine: these are what it connects to */
                { "ws://[::ffff:127.0.0.1]:8080/", true },
                { "ws://localhost?x#y", true },
                { "wss://host/path?query", true },
                { "wss://a@b/", false },
                { "wss://host:8080@evil/", false },
                { "wss://[::1]x/", false },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const char *reason = NULL;
                int r = fzd_api_url_check(cases[i].url, &reason);
                ck_assert_msg((r == 0) == cases[i].ok, "%s: got %d (%s)", cases[i].url, r, strempty(reason));
                if (r < 0)
                        ck_assert_ptr_nonnull(reason);
        }
}
END_TEST

START_TEST(test_dns_control_names) {
        for (int i = 0; i < _FZD_DNS_CONTROL_MAX; i++)
                ck_assert_int_eq(fzd_dns_control_from_string(fzd_dns_control_to_string(i)), i);
        ck_assert_int_eq(fzd_dns_control_from_string("Systemd-Resolved"), -EINVAL);
        ck_assert_ptr_null(fzd_dns_control_to_string(_FZD_DNS_CONTROL_MAX));
}
END_TEST

static Suite *options_suite(void) {
        Suite *s = suite_create("options");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_defaults);
        tcase_add_test(tc, test_argv_values);
        tcase_add_test(tc, test_argv_rejects);
        tcase_add_test(tc, test_help_and_version);
        tcase_add_test(tc, test_env_then_argv_precedence);
        tcase_add_test(tc, test_config_file);
        tcase_add_test(tc, test_config_file_errors);
        tcase_add_test(tc, test_api_url);
        tcase_add_test(tc, test_dns_control_names);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(options_suite)
