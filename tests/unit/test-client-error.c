/* SPDX-License-Identifier: Apache-2.0 */
/* FZ_CLIENT_ERROR: registered to dev.firezone.Client1.Error.* both ways, and every way a
 * call can fail mapped into it with a sentence that says what to do. */
#include <check.h>

#include "fz-check.h"
#include "fz-client-private.h"

static GError *remote(const char *name, const char *message) {
        return g_dbus_error_new_for_dbus_error(name, message);
}

START_TEST(test_names_decode_into_the_domain) {
        static const struct {
                const char *name;
                int code;
        } table[] = {
                {"dev.firezone.Client1.Error.Failed", FZ_CLIENT_ERROR_FAILED},
                {"dev.firezone.Client1.Error.ManagedByServiceAccount",
                 FZ_CLIENT_ERROR_MANAGED_BY_SERVICE_ACCOUNT},
                {"dev.firezone.Client1.Error.InvalidToken", FZ_CLIENT_ERROR_INVALID_TOKEN},
                {"dev.firezone.Client1.Error.NotSignedIn", FZ_CLIENT_ERROR_NOT_SIGNED_IN},
                {"dev.firezone.Client1.Error.InvalidArgument", FZ_CLIENT_ERROR_INVALID_ARGUMENT},
                {"dev.firezone.Client1.Error.DaemonNotRunning", FZ_CLIENT_ERROR_DAEMON_NOT_RUNNING},
                {"dev.firezone.Client1.Error.PermissionDenied", FZ_CLIENT_ERROR_PERMISSION_DENIED},
                {"dev.firezone.Client1.Error.AuthorizationRequired", FZ_CLIENT_ERROR_AUTHORIZATION_REQUIRED},
        };

        (void)FZ_CLIENT_ERROR;
        for (size_t i = 0; i < G_N_ELEMENTS(table); i++) {
                g_autoptr(GError) e = remote(table[i].name, "Do this.");
                g_autofree char *back = NULL;

                ck_assert_msg(g_error_matches(e, FZ_CLIENT_ERROR, table[i].code), "%s", table[i].name);
                back = g_dbus_error_encode_gerror(e);
                ck_assert_str_eq(back, table[i].name);
        }
}
END_TEST

START_TEST(test_codes_encode_to_names) {
        g_autoptr(GError) e = g_error_new_literal(FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_NOT_SIGNED_IN, "x");
        g_autofree char *name = g_dbus_error_encode_gerror(e);

        ck_assert_str_eq(name, "dev.firezone.Client1.Error.NotSignedIn");
}
END_TEST

START_TEST(test_daemon_errors_keep_the_daemons_sentence) {
        g_autoptr(GError) e =
                fz_client_error_from_call(remote("dev.firezone.Client1.Error.InvalidToken",
                                                 "The token is not valid: too long. Sign in again."),
                                          FALSE, "SignIn");

        ck_assert(g_error_matches(e, FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_INVALID_TOKEN));
        /* Without GDBus's "GDBus.Error:…" prefix. */
        ck_assert_str_eq(e->message, "The token is not valid: too long. Sign in again.");
}
END_TEST

START_TEST(test_managed_gets_the_librarys_sentence) {
        g_autoptr(GError) e = fz_client_error_from_call(
                remote("dev.firezone.Client1.Error.ManagedByServiceAccount", "whatever the daemon says"),
                FALSE, "SignOut");

        ck_assert(g_error_matches(e, FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_MANAGED_BY_SERVICE_ACCOUNT));
        ck_assert_str_eq(e->message, FZ_CLIENT_MSG_MANAGED);
        ck_assert_ptr_nonnull(strstr(e->message, "managed by an administrator"));
}
END_TEST

START_TEST(test_not_running) {
        const char *names[] = {
                "org.freedesktop.DBus.Error.ServiceUnknown",
                "org.freedesktop.DBus.Error.NameHasNoOwner",
                "org.freedesktop.DBus.Error.Spawn.ChildExited",
                "org.freedesktop.DBus.Error.Spawn.NoSuchThing", /* unknown to GIO: matched by prefix */
                "org.freedesktop.systemd1.UnitMasked",
        };

        for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
                g_autoptr(GError) e = fz_client_error_from_call(remote(names[i], "m"), TRUE, "Status");
                ck_assert_msg(g_error_matches(e, FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_DAEMON_NOT_RUNNING), "%s",
                              names[i]);
                ck_assert_str_eq(e->message,
                                 "The Firezone tunnel service is not running. Start it with: sudo "
                                 "systemctl start firezone-client");
        }
}
END_TEST

START_TEST(test_no_reply_from_the_bus_means_it_stopped) {
        g_autoptr(GError) e = fz_client_error_from_call(
                remote("org.freedesktop.DBus.Error.NoReply", "Message recipient disconnected"), TRUE,
                "Status");

        ck_assert(g_error_matches(e, FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_DAEMON_NOT_RUNNING));
        ck_assert_ptr_nonnull(strstr(e->message, "stopped before it answered Status()"));
        ck_assert_ptr_nonnull(strstr(e->message, "sudo systemctl start firezone-client"));
}
END_TEST

START_TEST(test_access_denied_by_the_bus_names_the_group) {
        g_autoptr(GError) e = fz_client_error_from_call(
                remote("org.freedesktop.DBus.Error.AccessDenied", "Rejected send message, 2 matched rules"),
                TRUE, "Status");

        ck_assert(g_error_matches(e, FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_PERMISSION_DENIED));
        ck_assert_str_eq(e->message,
                         "You are not allowed to use Firezone: add yourself to group firezone with "
                         "`sudo usermod -aG firezone $USER`, then log out and in again.");
}
END_TEST

START_TEST(test_access_denied_by_the_daemon_keeps_its_reason) {
        g_autoptr(GError) e = fz_client_error_from_call(
                remote("org.freedesktop.DBus.Error.AccessDenied", "Not allowed by polkit: ask your admin."),
                FALSE, "SignOut");

        ck_assert(g_error_matches(e, FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_PERMISSION_DENIED));
        ck_assert_str_eq(e->message, "Not allowed by polkit: ask your admin.");
}
END_TEST

START_TEST(test_interactive_authorization_required) {
        g_autoptr(GError) e = fz_client_error_from_call(
                remote("org.freedesktop.DBus.Error.InteractiveAuthorizationRequired", "x"), FALSE, "SignIn");

        ck_assert(g_error_matches(e, FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_AUTHORIZATION_REQUIRED));
}
END_TEST

START_TEST(test_cancelled_stays_cancelled) {
        g_autoptr(GError) e = fz_client_error_from_call(
                g_error_new_literal(G_IO_ERROR, G_IO_ERROR_CANCELLED, "Operation was cancelled"), FALSE,
                "Status");

        ck_assert(g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CANCELLED));
}
END_TEST

START_TEST(test_other_failures) {
        g_autoptr(GError) unknown = fz_client_error_from_call(
                remote("org.freedesktop.DBus.Error.UnknownMethod", "No such method"), FALSE, "Status");
        g_autoptr(GError) timeout = fz_client_error_from_call(
                g_error_new_literal(G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "Timeout was reached"), FALSE,
                "Status");
        g_autoptr(GError) args = fz_client_error_from_call(
                remote("org.freedesktop.DBus.Error.InvalidArgs", "Bad."), FALSE, "SignIn");
        g_autoptr(GError) other =
                fz_client_error_from_call(remote("com.example.Weird", "odd"), FALSE, "Reconnect");
        g_autoptr(GError) empty = fz_client_error_from_call(
                remote("dev.firezone.Client1.Error.NotSignedIn", ""), FALSE, "Reconnect");

        ck_assert(g_error_matches(unknown, FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_FAILED));
        ck_assert_ptr_nonnull(strstr(unknown->message, "Update the firezone-client package"));
        ck_assert(g_error_matches(timeout, FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_FAILED));
        ck_assert_ptr_nonnull(strstr(timeout->message, "did not answer Status() in time"));
        ck_assert(g_error_matches(args, FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_INVALID_ARGUMENT));
        ck_assert(g_error_matches(other, FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_FAILED));
        ck_assert_ptr_nonnull(strstr(other->message, "Reconnect() failed: odd"));
        /* A daemon error without a sentence still gets one. */
        ck_assert(g_error_matches(empty, FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_NOT_SIGNED_IN));
        ck_assert_str_eq(empty->message, "Not signed in: sign in first.");
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("client-error");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_names_decode_into_the_domain);
        tcase_add_test(tc, test_codes_encode_to_names);
        tcase_add_test(tc, test_daemon_errors_keep_the_daemons_sentence);
        tcase_add_test(tc, test_managed_gets_the_librarys_sentence);
        tcase_add_test(tc, test_not_running);
        tcase_add_test(tc, test_no_reply_from_the_bus_means_it_stopped);
        tcase_add_test(tc, test_access_denied_by_the_bus_names_the_group);
        tcase_add_test(tc, test_access_denied_by_the_daemon_keeps_its_reason);
        tcase_add_test(tc, test_interactive_authorization_required);
        tcase_add_test(tc, test_cancelled_stays_cancelled);
        tcase_add_test(tc, test_other_failures);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(suite)
