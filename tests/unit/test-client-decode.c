/* SPDX-License-Identifier: Apache-2.0 */
/* Decoding what the daemon sends: good input, and bad input (wrong types, missing keys,
 * unknown values) that is ignored without a crash. */
#include <check.h>

#include "fz-check.h"
#include "fz-client-private.h"

static void store_result(GObject *source, GAsyncResult *res, gpointer user_data) {
        *(GAsyncResult **)user_data = g_object_ref(res);
}

static GVariant *parse(const char *type, const char *text) {
        g_autoptr(GError) error = NULL;
        GVariant *v = g_variant_parse(G_VARIANT_TYPE(type), text, NULL, NULL, &error);

        ck_assert_msg(v != NULL, "%s", error ? error->message : "");
        return g_variant_ref_sink(v);
}

START_TEST(test_status_full) {
        g_autoptr(GVariant) v = parse(
                "a{sv}", "{'state': <'connected'>, 'mode': <'service-account'>, 'account-slug': <'acme'>,"
                         " 'actor-name': <'Ada'>, 'interface': <'tun-firezone'>, 'ipv4': <'100.64.0.2'>,"
                         " 'ipv6': <'fd00:2021:1111::2'>, 'dns-control': <'systemd-resolved'>,"
                         " 'last-error': <''>, 'requires-sign-in': <true>,"
                         " 'connected-since': <uint64 1700000000000000>, 'resource-count': <uint32 3>,"
                         " 'version': <'0.1.0'>, 'internet-resource-enabled': <true>,"
                         " 'from-the-future': <[1, 2]>}");
        g_autoptr(FzClientStatus) s = fz_client_status_new_from_variant(v);

        ck_assert_int_eq(fz_client_status_get_state(s), FZ_CLIENT_STATE_CONNECTED);
        ck_assert_int_eq(fz_client_status_get_mode(s), FZ_CLIENT_MODE_SERVICE_ACCOUNT);
        ck_assert_str_eq(fz_client_status_get_account_slug(s), "acme");
        ck_assert_str_eq(fz_client_status_get_actor_name(s), "Ada");
        ck_assert_str_eq(fz_client_status_get_interface_name(s), "tun-firezone");
        ck_assert_str_eq(fz_client_status_get_ipv4(s), "100.64.0.2");
        ck_assert_str_eq(fz_client_status_get_ipv6(s), "fd00:2021:1111::2");
        ck_assert_str_eq(fz_client_status_get_dns_control(s), "systemd-resolved");
        ck_assert_str_eq(fz_client_status_get_last_error(s), "");
        ck_assert(fz_client_status_get_requires_sign_in(s));
        ck_assert_uint_eq(fz_client_status_get_connected_since(s), 1700000000000000ULL);
        ck_assert_uint_eq(fz_client_status_get_resource_count(s), 3);
        ck_assert_str_eq(fz_client_status_get_version(s), "0.1.0");
        ck_assert(fz_client_status_get_internet_resource_enabled(s));
}
END_TEST

START_TEST(test_status_bad_input) {
        /* Wrong types are as if absent; unknown states are "unknown"; strings are never NULL. */
        g_autoptr(GVariant) v =
                parse("a{sv}", "{'state': <'exploded'>, 'mode': <5>, 'account-slug': <uint32 1>,"
                               " 'requires-sign-in': <'yes'>, 'connected-since': <int32 -1>,"
                               " 'resource-count': <uint64 7>, 'internet-resource-enabled': <'on'>}");
        g_autoptr(FzClientStatus) s = fz_client_status_new_from_variant(v);
        g_autoptr(GVariant) not_a_dict = parse("as", "['state', 'connected']");
        g_autoptr(FzClientStatus) t = fz_client_status_new_from_variant(not_a_dict);
        g_autoptr(FzClientStatus) u = fz_client_status_new_from_variant(NULL);

        ck_assert_int_eq(fz_client_status_get_state(s), FZ_CLIENT_STATE_UNKNOWN);
        ck_assert_int_eq(fz_client_status_get_mode(s), FZ_CLIENT_MODE_UNKNOWN);
        ck_assert_str_eq(fz_client_status_get_account_slug(s), "");
        ck_assert(!fz_client_status_get_requires_sign_in(s));
        ck_assert_uint_eq(fz_client_status_get_connected_since(s), 0);
        ck_assert_uint_eq(fz_client_status_get_resource_count(s), 0);
        ck_assert_str_eq(fz_client_status_get_version(s), "");
        ck_assert(!fz_client_status_get_internet_resource_enabled(s));
        ck_assert_int_eq(fz_client_status_get_state(t), FZ_CLIENT_STATE_UNKNOWN);
        ck_assert_str_eq(fz_client_status_get_ipv6(u), "");
}
END_TEST

START_TEST(test_resources) {
        g_autoptr(GVariant) v = parse(
                "aa{sv}",
                "[{'id': <'r1'>, 'type': <'dns'>, 'name': <'GitLab'>, 'address': <'gitlab.corp'>,"
                "  'description': <'Code'>, 'status': <'online'>, 'sites': <[('s1', 'HQ'), ('s2', 'DR')]>},"
                " {'id': <'r2'>, 'type': <'cidr'>, 'name': <'Lab'>, 'address': <'10.0.0.0/8'>},"
                " {'name': <'no id: skipped'>},"
                " {'id': <''>, 'name': <'empty id: skipped'>},"
                " {'id': <uint32 3>, 'name': <'id of the wrong type: skipped'>},"
                " {'id': <'r3'>, 'type': <'teleport'>, 'status': <'sleepy'>, 'sites': <['not', 'pairs']>,"
                "  'name': <42>}]");
        g_autoptr(GPtrArray) list = fz_resource_list_new_from_variant(v);
        FzResource *r;
        GPtrArray *sites;

        ck_assert_uint_eq(list->len, 3);
        r = g_ptr_array_index(list, 0);
        ck_assert_str_eq(fz_resource_get_id(r), "r1");
        ck_assert_int_eq(fz_resource_get_resource_type(r), FZ_RESOURCE_TYPE_DNS);
        ck_assert_str_eq(fz_resource_get_name(r), "GitLab");
        ck_assert_str_eq(fz_resource_get_address(r), "gitlab.corp");
        ck_assert_str_eq(fz_resource_get_description(r), "Code");
        ck_assert_int_eq(fz_resource_get_status(r), FZ_RESOURCE_STATUS_ONLINE);
        sites = fz_resource_get_sites(r);
        ck_assert_uint_eq(sites->len, 2);
        ck_assert_str_eq(fz_resource_site_get_id(g_ptr_array_index(sites, 1)), "s2");
        ck_assert_str_eq(fz_resource_site_get_name(g_ptr_array_index(sites, 1)), "DR");

        r = g_ptr_array_index(list, 1);
        ck_assert_int_eq(fz_resource_get_resource_type(r), FZ_RESOURCE_TYPE_CIDR);
        ck_assert_int_eq(fz_resource_get_status(r), FZ_RESOURCE_STATUS_UNKNOWN);
        ck_assert_str_eq(fz_resource_get_description(r), "");
        ck_assert_uint_eq(fz_resource_get_sites(r)->len, 0);

        r = g_ptr_array_index(list, 2);
        ck_assert_int_eq(fz_resource_get_resource_type(r), FZ_RESOURCE_TYPE_UNKNOWN);
        ck_assert_int_eq(fz_resource_get_status(r), FZ_RESOURCE_STATUS_UNKNOWN);
        ck_assert_str_eq(fz_resource_get_name(r), "");
        ck_assert_uint_eq(fz_resource_get_sites(r)->len, 0);
}
END_TEST

START_TEST(test_resource_list_of_the_wrong_type) {
        g_autoptr(GVariant) v = parse("as", "['r1']");
        g_autoptr(GPtrArray) a = fz_resource_list_new_from_variant(v);
        g_autoptr(GPtrArray) b = fz_resource_list_new_from_variant(NULL);

        ck_assert_uint_eq(a->len, 0);
        ck_assert_uint_eq(b->len, 0);
}
END_TEST

START_TEST(test_resource_equality_and_properties) {
        g_autoptr(GVariant) v =
                parse("aa{sv}", "[{'id': <'r1'>, 'name': <'A'>}, {'id': <'r1'>, 'name': <'A'>},"
                                " {'id': <'r1'>, 'name': <'B'>}]");
        g_autoptr(GPtrArray) list = fz_resource_list_new_from_variant(v);
        g_autofree char *name = NULL;
        FzResourceType type;

        ck_assert(fz_resource_equal(g_ptr_array_index(list, 0), g_ptr_array_index(list, 1)));
        ck_assert(!fz_resource_equal(g_ptr_array_index(list, 0), g_ptr_array_index(list, 2)));
        g_object_get(g_ptr_array_index(list, 2), "name", &name, "resource-type", &type, NULL);
        ck_assert_str_eq(name, "B");
        ck_assert_int_eq(type, FZ_RESOURCE_TYPE_UNKNOWN);
}
END_TEST

START_TEST(test_string_tables_round_trip) {
        for (int s = FZ_CLIENT_STATE_UNKNOWN; s <= FZ_CLIENT_STATE_RECONNECTING; s++)
                ck_assert_int_eq(fz_client_state_from_string(fz_client_state_to_string(s)), s);
        for (int m = FZ_CLIENT_MODE_UNKNOWN; m <= FZ_CLIENT_MODE_SERVICE_ACCOUNT; m++)
                ck_assert_int_eq(fz_client_mode_from_string(fz_client_mode_to_string(m)), m);
        for (int t = FZ_RESOURCE_TYPE_UNKNOWN; t <= FZ_RESOURCE_TYPE_INTERNET; t++)
                ck_assert_int_eq(fz_resource_type_from_string(fz_resource_type_to_string(t)), t);
        for (int t = FZ_RESOURCE_STATUS_UNKNOWN; t <= FZ_RESOURCE_STATUS_OFFLINE; t++)
                ck_assert_int_eq(fz_resource_status_from_string(fz_resource_status_to_string(t)), t);
        ck_assert_str_eq(fz_client_state_to_string(FZ_CLIENT_STATE_SIGNED_OUT), "signed-out");
        ck_assert_str_eq(fz_client_state_to_string((FzClientState)99), "unknown");
        ck_assert_int_eq(fz_client_state_from_string(NULL), FZ_CLIENT_STATE_UNKNOWN);
        ck_assert_int_eq(fz_client_state_from_string("unknown"), FZ_CLIENT_STATE_UNKNOWN);
        ck_assert_str_eq(fz_client_mode_to_string(FZ_CLIENT_MODE_SERVICE_ACCOUNT), "service-account");
}
END_TEST

typedef struct {
        int state_changed;
        FzClientState last_state;
        char *last_reason;
        int resources_changed;
        guint last_count;
        int notified;
} Seen;

static void on_state(FzClient *c, FzClientState state, const char *reason, Seen *seen) {
        seen->state_changed++;
        seen->last_state = state;
        g_free(seen->last_reason);
        seen->last_reason = g_strdup(reason);
}

static void on_notify(FzClient *c, GParamSpec *pspec, Seen *seen) {
        seen->notified++;
}

static void on_resources(FzClient *c, GPtrArray *resources, Seen *seen) {
        seen->resources_changed++;
        seen->last_count = resources->len;
}

static void signal_text(FzClient *c, const char *iface, const char *member, const char *type,
                        const char *text) {
        g_autoptr(GVariant) v = parse(type, text);
        fz_client_handle_signal(c, iface, member, v);
}

START_TEST(test_signals_on_a_bare_client) {
        g_autoptr(FzClient) c = g_object_new(FZ_TYPE_CLIENT, NULL);
        g_autoptr(GPtrArray) resources = NULL;
        Seen seen = {0};
        const char *I = "dev.firezone.Client1", *P = "org.freedesktop.DBus.Properties";

        g_signal_connect(c, "state-changed", G_CALLBACK(on_state), &seen);
        g_signal_connect(c, "resources-changed", G_CALLBACK(on_resources), &seen);

        signal_text(c, I, "StateChanged", "(sa{sv})",
                    "('connected', {'reason': <'portal-connected'>, 'last-error': <'Oops.'>, "
                    "'requires-sign-in': <true>})");
        ck_assert_int_eq(seen.state_changed, 1);
        ck_assert_int_eq(seen.last_state, FZ_CLIENT_STATE_CONNECTED);
        ck_assert_str_eq(seen.last_reason, "portal-connected");
        ck_assert_int_eq(fz_client_get_state(c), FZ_CLIENT_STATE_CONNECTED);
        ck_assert_str_eq(fz_client_get_last_error(c), "Oops.");
        ck_assert(fz_client_get_requires_sign_in(c));

        /* Details of the wrong type are ignored, the state still counts; no reason is "". */
        signal_text(c, I, "StateChanged", "(sa{sv})",
                    "('reconnecting', {'reason': <5>, 'last-error': <[1]>, 'requires-sign-in': <'no'>})");
        ck_assert_int_eq(seen.state_changed, 2);
        ck_assert_str_eq(seen.last_reason, "");
        ck_assert_int_eq(fz_client_get_state(c), FZ_CLIENT_STATE_RECONNECTING);
        ck_assert_str_eq(fz_client_get_last_error(c), "Oops.");
        ck_assert(fz_client_get_requires_sign_in(c));

        /* Wrong signatures, other interfaces and unknown members: nothing happens. */
        signal_text(c, I, "StateChanged", "(s)", "('signed-out',)");
        signal_text(c, I, "StateChanged", "(ia{sv})", "(1, {})");
        signal_text(c, I, "Frobnicated", "(s)", "('signed-out',)");
        signal_text(c, P, "PropertiesChanged", "(sa{sv}as)",
                    "('org.example.Other', {'State': <'signed-out'>}, [])");
        signal_text(c, P, "PropertiesChanged", "(sa{sv})",
                    "('dev.firezone.Client1', {'State': <'signed-out'>})");
        signal_text(c, I, "ResourcesChanged", "(as)", "(['r1'],)");
        ck_assert_int_eq(seen.state_changed, 2);
        ck_assert_int_eq(seen.resources_changed, 0);
        ck_assert_int_eq(fz_client_get_state(c), FZ_CLIENT_STATE_RECONNECTING);

        /* PropertiesChanged updates properties (values of the wrong type are ignored) but does
         * not emit ::state-changed: StateChanged carries the reason. An invalidated property
         * without an owner does nothing. */
        signal_text(c, P, "PropertiesChanged", "(sa{sv}as)",
                    "('dev.firezone.Client1', {'State': <'signed-out'>, 'Mode': <'interactive'>, "
                    "'AccountSlug': <'acme'>, 'ActorName': <uint32 7>, 'InterfaceName': <'tun-firezone'>, "
                    "'Version': <'9.9'>}, ['LastError'])");
        ck_assert_int_eq(seen.state_changed, 2);
        ck_assert_int_eq(fz_client_get_state(c), FZ_CLIENT_STATE_SIGNED_OUT);
        ck_assert_int_eq(fz_client_get_mode(c), FZ_CLIENT_MODE_INTERACTIVE);
        ck_assert_str_eq(fz_client_get_account_slug(c), "acme");
        ck_assert_str_eq(fz_client_get_actor_name(c), "");
        ck_assert_str_eq(fz_client_get_interface_name(c), "tun-firezone");
        ck_assert_str_eq(fz_client_get_daemon_version(c), "9.9");
        ck_assert(!fz_client_get_daemon_running(c));

        /* InternetResourceEnabled: notified once per change; a value of the wrong type is ignored. */
        g_signal_connect(c, "notify::internet-resource-enabled", G_CALLBACK(on_notify), &seen);
        ck_assert(!fz_client_get_internet_resource_enabled(c));
        signal_text(c, P, "PropertiesChanged", "(sa{sv}as)",
                    "('dev.firezone.Client1', {'InternetResourceEnabled': <true>}, @as [])");
        ck_assert(fz_client_get_internet_resource_enabled(c));
        ck_assert_int_eq(seen.notified, 1);
        signal_text(c, P, "PropertiesChanged", "(sa{sv}as)",
                    "('dev.firezone.Client1', {'InternetResourceEnabled': <true>, 'State': <'signed-out'>}, "
                    "@as [])");
        signal_text(c, P, "PropertiesChanged", "(sa{sv}as)",
                    "('dev.firezone.Client1', {'InternetResourceEnabled': <'off'>}, @as [])");
        ck_assert(fz_client_get_internet_resource_enabled(c));
        ck_assert_int_eq(seen.notified, 1);
        signal_text(c, P, "PropertiesChanged", "(sa{sv}as)",
                    "('dev.firezone.Client1', {'InternetResourceEnabled': <false>}, @as [])");
        ck_assert(!fz_client_get_internet_resource_enabled(c));
        ck_assert_int_eq(seen.notified, 2);

        signal_text(c, I, "ResourcesChanged", "(aa{sv})",
                    "([{'id': <'r1'>}, {'name': <'no id'>}, {'id': <'r2'>}],)");
        ck_assert_int_eq(seen.resources_changed, 1);
        ck_assert_uint_eq(seen.last_count, 2);
        resources = fz_client_get_resources(c);
        ck_assert_uint_eq(resources->len, 2);
        ck_assert_str_eq(fz_resource_get_id(g_ptr_array_index(resources, 1)), "r2");

        g_signal_handlers_disconnect_by_data(c, &seen);
        g_free(seen.last_reason);
}
END_TEST

START_TEST(test_calls_on_an_uninitialized_client_fail_cleanly) {
        g_autoptr(FzClient) c = g_object_new(FZ_TYPE_CLIENT, NULL);
        g_autoptr(GMainContext) ctx = g_main_context_new();
        g_autoptr(GAsyncResult) res = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(FzClientStatus) status = NULL;

        g_main_context_push_thread_default(ctx);
        fz_client_get_status_async(c, NULL, store_result, &res);
        while (res == NULL)
                g_main_context_iteration(ctx, TRUE);
        status = fz_client_get_status_finish(c, res, &error);
        ck_assert_ptr_null(status);
        ck_assert(g_error_matches(error, FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_FAILED));
        g_main_context_pop_thread_default(ctx);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("client-decode");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_status_full);
        tcase_add_test(tc, test_status_bad_input);
        tcase_add_test(tc, test_resources);
        tcase_add_test(tc, test_resource_list_of_the_wrong_type);
        tcase_add_test(tc, test_resource_equality_and_properties);
        tcase_add_test(tc, test_string_tables_round_trip);
        tcase_add_test(tc, test_signals_on_a_bare_client);
        tcase_add_test(tc, test_calls_on_an_uninitialized_client_fail_cleanly);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(suite)
