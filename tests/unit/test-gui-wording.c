/* SPDX-License-Identifier: Apache-2.0 */
/* fz-wording: one wording per state for the window, the tray and the notifications, with
 * the names from outside in it made fit to show. (C locale: the English source texts.) */
#include <string.h>

#include "fz-check.h"
#include "fz-wording.h"

START_TEST(test_phase_titles_are_distinct_and_honest) {
        static const FzPhase phases[] = {FZ_PHASE_STARTING,   FZ_PHASE_NO_DAEMON,   FZ_PHASE_NOT_IN_GROUP,
                                         FZ_PHASE_SIGNED_OUT, FZ_PHASE_SIGNING_IN,  FZ_PHASE_CONNECTING,
                                         FZ_PHASE_CONNECTED,  FZ_PHASE_RECONNECTING};

        for (gsize i = 0; i < G_N_ELEMENTS(phases); i++) {
                ck_assert_str_ne(fz_phase_get_title(phases[i]), "");
                for (gsize j = 0; j < i; j++)
                        ck_assert_str_ne(fz_phase_get_title(phases[i]), fz_phase_get_title(phases[j]));
                /* Only the connected phase says "Connected". */
                if (phases[i] != FZ_PHASE_CONNECTED)
                        ck_assert_ptr_null(strstr(fz_phase_get_title(phases[i]), "Connected"));
        }
        ck_assert_str_eq(fz_phase_get_title(FZ_PHASE_CONNECTED), "Connected");
        ck_assert(fz_phase_has_session(FZ_PHASE_RECONNECTING));
        ck_assert(!fz_phase_has_session(FZ_PHASE_SIGNING_IN));
        ck_assert_str_eq(fz_phase_get_icon_name(FZ_PHASE_CONNECTED),
                         "dev.firezone.Client-connected-symbolic");
        ck_assert_str_eq(fz_phase_get_icon_name(FZ_PHASE_RECONNECTING), "dev.firezone.Client-busy-symbolic");
}
END_TEST

START_TEST(test_identity) {
        g_autofree gchar *both = fz_identity_text(FALSE, "Jane Doe", "acme");
        g_autofree gchar *actor = fz_identity_text(FALSE, "Jane Doe", "");
        g_autofree gchar *slug = fz_identity_text(FALSE, NULL, "acme");
        g_autofree gchar *none = fz_identity_text(FALSE, "", NULL);
        g_autofree gchar *managed = fz_identity_text(TRUE, "svc", "acme");

        ck_assert_str_eq(both, "Signed in as Jane Doe (acme)");
        ck_assert_str_eq(actor, "Signed in as Jane Doe");
        ck_assert_str_eq(slug, "Signed in as acme");
        ck_assert_str_eq(none, "Signed in");
        ck_assert_str_eq(managed, "Managed by your organization");
}
END_TEST

START_TEST(test_identity_with_hostile_names) {
        g_autoptr(GString) long_name = g_string_new(NULL);
        g_autofree gchar *markup = fz_identity_text(FALSE,
                                                    "<b>Jane</b>\n\xe2\x80\xae"
                                                    "gnp.exe\x1b[0m",
                                                    "acme");
        g_autofree gchar *cut = NULL;

        /* Text stays text (escaping is the caller's, per surface); controls go. */
        ck_assert_str_eq(markup, "Signed in as <b>Jane</b> gnp.exe[0m (acme)");
        for (int i = 0; i < 100; i++)
                g_string_append(long_name, "Ωμέγα ");
        cut = fz_identity_text(FALSE, long_name->str, "acme");
        ck_assert(g_utf8_validate(cut, -1, NULL));
        ck_assert(g_str_has_suffix(cut, "… (acme)"));
        ck_assert_uint_le(g_utf8_strlen(cut, -1), strlen("Signed in as  (acme)") + 120);
}
END_TEST

START_TEST(test_resource_status_and_reasons) {
        ck_assert_str_eq(fz_resource_status_get_title(FZ_RESOURCE_STATUS_ONLINE), "Online");
        ck_assert_str_eq(fz_resource_status_get_title(FZ_RESOURCE_STATUS_OFFLINE), "Offline");
        ck_assert_str_eq(fz_resource_status_get_title(FZ_RESOURCE_STATUS_UNKNOWN), "Status unknown");
        ck_assert_str_eq(fz_resource_status_get_css_class(FZ_RESOURCE_STATUS_OFFLINE), "error");
        ck_assert_str_eq(fz_reason_text("sign-out"), "You signed out.");
        ck_assert_ptr_null(fz_reason_text("session-ended"));
        ck_assert_ptr_null(fz_reason_text(NULL));
}
END_TEST

static Suite *wording_suite(void) {
        Suite *s = suite_create("gui-wording");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_phase_titles_are_distinct_and_honest);
        tcase_add_test(tc, test_identity);
        tcase_add_test(tc, test_identity_with_hostile_names);
        tcase_add_test(tc, test_resource_status_and_reasons);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(wording_suite)
