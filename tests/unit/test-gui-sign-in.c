/* SPDX-License-Identifier: Apache-2.0 */
/* Browser sign-in: nonce/state, the auth URL, and the deep link the portal sends back
 * (bad input must be refused with a clear error, and never crash). */
#include <string.h>

#include "fz-check.h"
#include "fz-sign-in.h"

#define STATE64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define CB      "firezone-fd0020211111://handle_client_sign_in_callback/"

static gboolean all_hex(const gchar *s) {
        for (; *s; s++)
                if (!g_ascii_isxdigit(*s) || g_ascii_isupper(*s))
                        return FALSE;
        return TRUE;
}

START_TEST(test_request_is_random_hex) {
        g_autoptr(FzSignInRequest) a = fz_sign_in_request_new(NULL);
        g_autoptr(FzSignInRequest) b = fz_sign_in_request_new(NULL);

        ck_assert_ptr_nonnull(a);
        ck_assert_ptr_nonnull(b);
        ck_assert_uint_eq(strlen(a->nonce), 64);
        ck_assert_uint_eq(strlen(a->state), 64);
        ck_assert(all_hex(a->nonce));
        ck_assert(all_hex(a->state));
        ck_assert_str_ne(a->nonce, a->state);
        ck_assert_str_ne(a->nonce, b->nonce);
        ck_assert_str_ne(a->state, b->state);
}
END_TEST

static FzSignInRequest *fixed_request(void) {
        FzSignInRequest *req = fz_sign_in_request_new(NULL);
        memcpy(req->nonce, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 64);
        memcpy(req->state, STATE64, 64);
        return req;
}

START_TEST(test_url_is_built_as_designed) {
        g_autoptr(FzSignInRequest) req = fixed_request();
        g_autofree gchar *u1 = fz_sign_in_build_url("https://app.firezone.dev", "acme", req, NULL);
        g_autofree gchar *u2 = fz_sign_in_build_url("https://app.firezone.dev/", "acme", req, NULL);
        g_autofree gchar *u3 = fz_sign_in_build_url("https://example.com:8443/base//", "acme_2", req, NULL);
        g_autofree gchar *u4 = fz_sign_in_build_url("http://127.0.0.1:4000", "", req, NULL);
        g_autofree gchar *u5 = fz_sign_in_build_url("http://localhost:4000", "x", req, NULL);
        g_autofree gchar *u6 = fz_sign_in_build_url("http://[::1]:4000", "x", req, NULL);
        const gchar *q = "?as=gui-client&nonce="
                         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&state=" STATE64;
        g_autofree gchar *e1 = g_strconcat("https://app.firezone.dev/acme", q, NULL);
        g_autofree gchar *e3 = g_strconcat("https://example.com:8443/base/acme_2", q, NULL);
        g_autofree gchar *e4 = g_strconcat("http://127.0.0.1:4000/", q, NULL);

        ck_assert_str_eq(u1, e1);
        ck_assert_str_eq(u2, e1);
        ck_assert_str_eq(u3, e3);
        ck_assert_str_eq(u4, e4);
        ck_assert_ptr_nonnull(u5);
        ck_assert_ptr_nonnull(u6);
}
END_TEST

START_TEST(test_url_refuses_bad_settings) {
        g_autoptr(FzSignInRequest) req = fixed_request();
        const gchar *bad_urls[] = {
                "",
                "app.firezone.dev",
                "http://app.firezone.dev",
                "ftp://x",
                "https://",
                "https://x/?q=1",
                "https://x/#f",
                "https://user@x/",
                "http://10.0.0.1/",
                "javascript:alert(1)",
                "https://x y/",
        };
        const gchar *bad_slugs[] = {"a/b",
                                    "a?b",
                                    "a b",
                                    "../x",
                                    "é",
                                    "a#",
                                    "%41",
                                    /* 101 bytes: one over the limit */
                                    ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")};

        for (gsize i = 0; i < G_N_ELEMENTS(bad_urls); i++) {
                g_autoptr(GError) error = NULL;
                g_autofree gchar *u = fz_sign_in_build_url(bad_urls[i], "acme", req, &error);
                ck_assert_msg(u == NULL, "accepted %s", bad_urls[i]);
                ck_assert(g_error_matches(error, FZ_SIGN_IN_ERROR, FZ_SIGN_IN_ERROR_BAD_SETTINGS));
                ck_assert(strstr(error->message, "settings") != NULL);
        }
        ck_assert_ptr_null(fz_sign_in_build_url(NULL, "acme", req, NULL));
        for (gsize i = 0; i < G_N_ELEMENTS(bad_slugs); i++) {
                g_autoptr(GError) error = NULL;
                g_autofree gchar *u = fz_sign_in_build_url("https://x", bad_slugs[i], req, &error);
                ck_assert_msg(u == NULL, "accepted slug %s", bad_slugs[i]);
                ck_assert(g_error_matches(error, FZ_SIGN_IN_ERROR, FZ_SIGN_IN_ERROR_BAD_SETTINGS));
        }
        ck_assert_ptr_null(fz_sign_in_build_url("https://x", NULL, req, NULL));
}
END_TEST

START_TEST(test_callback_parses) {
        FzSignInCallback cb;
        g_autoptr(GError) error = NULL;

        ck_assert(fz_sign_in_callback_parse(
                CB "?account_slug=acme&actor_name=Jane+Doe%20%C3%A9&fragment=abc.DEF-_~"
                   "&state=" STATE64 "&extra=ignored",
                &cb, &error));
        ck_assert_ptr_null(error);
        ck_assert_str_eq(cb.account_slug, "acme");
        ck_assert_str_eq(cb.actor_name, "Jane Doe \xc3\xa9");
        ck_assert_str_eq(cb.fragment, "abc.DEF-_~");
        ck_assert_str_eq(cb.state, STATE64);
        fz_sign_in_callback_clear(&cb);
        ck_assert_ptr_null(cb.fragment);
        fz_sign_in_callback_clear(&cb);

        /* No slash before the query, and an empty actor name, are fine. */
        ck_assert(fz_sign_in_callback_parse(
                "FIREZONE-FD0020211111://handle_client_sign_in_callback?account_slug=a"
                "&actor_name=&fragment=f&state=s",
                &cb, NULL));
        ck_assert_str_eq(cb.actor_name, "");
        fz_sign_in_callback_clear(&cb);
}
END_TEST

START_TEST(test_callback_refuses_bad_input) {
        g_autofree gchar *huge = g_strnfill(FZ_SIGN_IN_MAX_URI_LEN + 1, 'a');
        g_autofree gchar *long_fragment = g_strnfill(FZ_SIGN_IN_MAX_FRAGMENT_LEN + 1, 'f');
        g_autofree gchar *long_fragment_uri =
                g_strconcat(CB "?account_slug=a&actor_name=b&state=s&fragment=", long_fragment, NULL);
        const gchar *bad[] = {
                "",
                huge,
                long_fragment_uri,
                "https://handle_client_sign_in_callback/?account_slug=a&actor_name=b&fragment=f&state=s",
                "firezone-fd0020211111:",
                "firezone-fd0020211111://",
                "firezone-fd0020211111://evil/?account_slug=a&actor_name=b&fragment=f&state=s",
                "firezone-fd0020211111://handle_client_sign_in_callback:1/"
                "?account_slug=a&actor_name=b&fragment=f&state=s",
                "firezone-fd0020211111://u@handle_client_sign_in_callback/"
                "?account_slug=a&actor_name=b&fragment=f&state=s",
                CB "x?account_slug=a&actor_name=b&fragment=f&state=s",
                CB,
                CB "?",
                CB "?actor_name=b&fragment=f&state=s",
                CB "?account_slug=a&fragment=f&state=s",
                CB "?account_slug=a&actor_name=b&state=s",
                CB "?account_slug=a&actor_name=b&fragment=f",
                CB "?account_slug=&actor_name=b&fragment=f&state=s",
                CB "?account_slug=a/b&actor_name=b&fragment=f&state=s",
                CB "?account_slug=a&actor_name=b&fragment=&state=s",
                CB "?account_slug=a&actor_name=b&fragment=f&state=",
                CB "?account_slug=a&actor_name=b&fragment=f+g&state=s",
                CB "?account_slug=a&actor_name=b&fragment=f%0Ag&state=s",
                CB "?account_slug=a&actor_name=b&fragment=f%00g&state=s",
                CB "?account_slug=a&actor_name=b&fragment=f%FFg&state=s",
                CB "?account_slug=a&actor_name=b%0A&fragment=f&state=s",
                CB "?account_slug=a&actor_name=%FF&fragment=f&state=s",
                CB "?account_slug=a&actor_name=b&fragment=f&state=s&state=t",
                CB "?account_slug=a&actor_name=b&fragment=f&fragment=g&state=s",
                CB "?account_slug=a&actor_name=b&fragment=f%&state=s",
                CB "?account_slug=a&actor_name=b&fragment=f%4&state=s",
        };

        for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
                FzSignInCallback cb;
                g_autoptr(GError) error = NULL;

                ck_assert_msg(!fz_sign_in_callback_parse(bad[i], &cb, &error), "accepted [%zu] %.200s", i,
                              bad[i]);
                ck_assert_msg(g_error_matches(error, FZ_SIGN_IN_ERROR, FZ_SIGN_IN_ERROR_BAD_CALLBACK),
                              "[%zu]", i);
                ck_assert(strstr(error->message, "Sign in again") != NULL);
                ck_assert_ptr_null(cb.fragment);
                ck_assert_ptr_null(cb.state);
        }
        ck_assert(!fz_sign_in_callback_parse(NULL, &(FzSignInCallback){}, NULL));
}
END_TEST

START_TEST(test_state_check) {
        g_autoptr(FzSignInRequest) req = fixed_request();
        FzSignInCallback cb;
        g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL, e4 = NULL;
        g_autofree gchar *token = NULL;

        ck_assert(fz_sign_in_callback_parse(CB "?account_slug=a&actor_name=b&fragment=FRAG&state=" STATE64,
                                            &cb, NULL));
        ck_assert(fz_sign_in_callback_check(req, &cb, &e1));
        token = fz_sign_in_make_token(req, &cb);
        ck_assert_str_eq(token, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaFRAG");
        ck_assert(!fz_sign_in_callback_check(NULL, &cb, &e2));
        ck_assert(g_error_matches(e2, FZ_SIGN_IN_ERROR, FZ_SIGN_IN_ERROR_WRONG_STATE));
        fz_sign_in_callback_clear(&cb);

        /* One character off, a prefix, and a longer string: all refused. */
        ck_assert(fz_sign_in_callback_parse(
                CB "?account_slug=a&actor_name=b&fragment=F&state="
                   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdee",
                &cb, NULL));
        ck_assert(!fz_sign_in_callback_check(req, &cb, &e3));
        ck_assert(g_error_matches(e3, FZ_SIGN_IN_ERROR, FZ_SIGN_IN_ERROR_WRONG_STATE));
        fz_sign_in_callback_clear(&cb);
        ck_assert(fz_sign_in_callback_parse(CB "?account_slug=a&actor_name=b&fragment=F&state=0123", &cb,
                                            NULL));
        ck_assert(!fz_sign_in_callback_check(req, &cb, &e4));
        fz_sign_in_callback_clear(&cb);

        ck_assert(fz_sign_in_secret_equal("", ""));
        ck_assert(fz_sign_in_secret_equal("abc", "abc"));
        ck_assert(!fz_sign_in_secret_equal("abc", "abcd"));
        ck_assert(!fz_sign_in_secret_equal("abcd", "abc"));
        ck_assert(!fz_sign_in_secret_equal("abc", "abd"));
        ck_assert(!fz_sign_in_secret_equal("", "a"));
}
END_TEST

START_TEST(test_token_free_wipes) {
        gchar *t = g_strdup("secret");
        fz_sign_in_token_free(t);
        fz_sign_in_token_free(NULL);
        fz_sign_in_request_free(NULL);
        fz_sign_in_callback_clear(NULL);
}
END_TEST

START_TEST(test_is_callback_uri) {
        ck_assert(fz_sign_in_is_callback_uri(CB));
        ck_assert(fz_sign_in_is_callback_uri("Firezone-FD0020211111:x"));
        ck_assert(!fz_sign_in_is_callback_uri("firezone-fd0020211111"));
        ck_assert(!fz_sign_in_is_callback_uri("firezone-fd00202111112://"));
        ck_assert(!fz_sign_in_is_callback_uri("https://x"));
        ck_assert(!fz_sign_in_is_callback_uri(NULL));
}
END_TEST

static Suite *sign_in_suite(void) {
        Suite *s = suite_create("gui-sign-in");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_request_is_random_hex);
        tcase_add_test(tc, test_url_is_built_as_designed);
        tcase_add_test(tc, test_url_refuses_bad_settings);
        tcase_add_test(tc, test_callback_parses);
        tcase_add_test(tc, test_callback_refuses_bad_input);
        tcase_add_test(tc, test_state_check);
        tcase_add_test(tc, test_token_free_wipes);
        tcase_add_test(tc, test_is_callback_uri);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(sign_in_suite)
