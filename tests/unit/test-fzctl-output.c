/* SPDX-License-Identifier: Apache-2.0 */
/* firezonectl's output codec: one tree, three renderings that carry the same fields. */
#include <check.h>

#include "fz-check.h"
#include "fz-client-private.h"
#include "fzctl-records.h"

static GPtrArray *resources(void) {
        g_autoptr(GVariant) v = g_variant_ref_sink(g_variant_parse(
                G_VARIANT_TYPE("aa{sv}"),
                "[{'id': <'r1'>, 'type': <'dns'>, 'name': <'Git \"Lab\"'>, 'address': <'gitlab.corp'>,"
                " 'description': <'tab\\there, line\\nbreak, bell\\u0007, é'>, 'status': <'online'>,"
                " 'sites': <[('s1', 'HQ'), ('s2', 'DR')]>},"
                " {'id': <'r2'>, 'type': <'cidr'>, 'name': <'Lab'>, 'address': <'10.0.0.0/8'>}]",
                NULL, NULL, NULL));
        return fz_resource_list_new_from_variant(v);
}

START_TEST(test_json_escapes_and_keys) {
        g_autoptr(GPtrArray) list = resources();
        g_autoptr(FzctlNode) node = fzctl_resources_node(list);
        g_autofree char *json = fzctl_render(node, FZCTL_OUTPUT_JSON);

        ck_assert_str_eq(
                json,
                "[{\"name\": \"Git \\\"Lab\\\"\", \"id\": \"r1\", \"type\": \"dns\", \"address\": "
                "\"gitlab.corp\", \"status\": \"online\", \"description\": \"tab\\there, line\\nbreak, "
                "bell\\u0007, é\", \"sites\": [{\"name\": \"HQ\", \"id\": \"s1\"}, {\"name\": \"DR\", "
                "\"id\": \"s2\"}]}, {\"name\": \"Lab\", \"id\": \"r2\", \"type\": \"cidr\", \"address\": "
                "\"10.0.0.0/8\", \"status\": \"unknown\", \"description\": \"\", \"sites\": []}]\n");
}
END_TEST

START_TEST(test_text_blocks) {
        g_autoptr(GPtrArray) list = resources();
        g_autoptr(FzctlNode) node = fzctl_resources_node(list);
        g_autofree char *text = fzctl_render(node, FZCTL_OUTPUT_TEXT);

        ck_assert_str_eq(text, "Name:        Git \"Lab\"\n"
                               "ID:          r1\n"
                               "Type:        dns\n"
                               "Address:     gitlab.corp\n"
                               "Status:      online\n"
                               "Description: tab\there, line\\nbreak, bell\\u0007, é\n"
                               "Sites:       HQ (s1), DR (s2)\n"
                               "\n"
                               "Name:        Lab\n"
                               "ID:          r2\n"
                               "Type:        cidr\n"
                               "Address:     10.0.0.0/8\n"
                               "Status:      unknown\n"
                               "Description: -\n"
                               "Sites:       -\n");
}
END_TEST

START_TEST(test_empty_list) {
        g_autoptr(GPtrArray) none = g_ptr_array_new();
        g_autoptr(FzctlNode) node = fzctl_resources_node(none);
        g_autofree char *text = fzctl_render(node, FZCTL_OUTPUT_TEXT);
        g_autofree char *json = fzctl_render(node, FZCTL_OUTPUT_JSON);

        ck_assert_str_eq(text, "No resources.\n");
        ck_assert_str_eq(json, "[]\n");
}
END_TEST

START_TEST(test_status_text_and_json) {
        g_autoptr(GVariant) v = g_variant_ref_sink(g_variant_parse(
                G_VARIANT_TYPE("a{sv}"),
                "{'state': <'connecting'>, 'mode': <'interactive'>, 'account-slug': <'acme'>,"
                " 'requires-sign-in': <false>, 'resource-count': <uint32 2>, 'version': <'0.1.0'>,"
                " 'internet-resource-enabled': <true>, 'gateways': <uint32 1>, 'rx-bytes': <uint64 2048>,"
                " 'tx-bytes': <uint64 512>}",
                NULL, NULL, NULL));
        g_autoptr(FzClientStatus) status = fz_client_status_new_from_variant(v);
        g_autoptr(FzctlNode) node = fzctl_status_node(status);
        g_autofree char *json = fzctl_render(node, FZCTL_OUTPUT_JSON);
        g_autofree char *text = fzctl_render(node, FZCTL_OUTPUT_TEXT);

        ck_assert_str_eq(
                json,
                "{\"state\": \"connecting\", \"mode\": \"interactive\", \"account-slug\": \"acme\", "
                "\"actor-name\": \"\", \"interface\": \"\", \"ipv4\": \"\", \"ipv6\": \"\", "
                "\"dns-control\": \"\", \"connected-since\": 0, \"resource-count\": 2, "
                "\"internet-resource-enabled\": true, \"gateways\": 1, \"rx-bytes\": 2048, \"tx-bytes\": 512, "
                "\"requires-sign-in\": false, \"last-error\": \"\", "
                "\"version\": \"0.1.0\"}\n");
        ck_assert_str_eq(text, "State:             connecting\n"
                               "Mode:              interactive\n"
                               "Account:           acme\n"
                               "Signed in as:      -\n"
                               "Interface:         -\n"
                               "IPv4:              -\n"
                               "IPv6:              -\n"
                               "DNS control:       -\n"
                               "Connected since:   never\n"
                               "Resources:         2\n"
                               "Internet resource: yes\n"
                               "Gateways:          1\n"
                               "Received:          2048\n"
                               "Sent:              512\n"
                               "Needs sign-in:     no\n"
                               "Last error:        -\n"
                               "Service version:   0.1.0\n");
}
END_TEST

START_TEST(test_line) {
        g_autoptr(GPtrArray) list = resources();
        g_autoptr(FzctlNode) o = fzctl_object_new();
        g_autofree char *line = NULL;

        fzctl_object_add_string(o, "event", "Event", "resources-changed");
        fzctl_object_add_string(o, "reason", "Reason", "");
        fzctl_object_add_string(o, "last-error", "Last error", "Say \"hi\" = ok\\");
        fzctl_object_add_bool(o, "requires-sign-in", "Needs sign-in", TRUE);
        fzctl_object_add_uint(o, "count", "Count", 2);
        fzctl_object_add_node(o, "resources", "Resources", fzctl_resources_node(list));
        line = fzctl_render(o, FZCTL_OUTPUT_LINE);
        ck_assert_str_eq(line, "event=resources-changed reason=\"\" last-error=\"Say \\\"hi\\\" = ok\\\\\" "
                               "requires-sign-in=yes count=2 resources=\"Git \\\"Lab\\\",Lab\"\n");
}
END_TEST

/* What a hostile portal or user could put in a name or an error: each rendering prints it
 * as inert text, on one line. */
START_TEST(test_hostile_text_is_escaped) {
        static const char hostile[] = "x\n<0>forged\r\x1b]0;owned\x07\x1b[2J\x7f\xc2\x9b" "31m\tend é";
        g_autoptr(FzctlNode) o = fzctl_object_new();
        g_autofree char *text = NULL, *line = NULL, *json = NULL, *escaped = NULL;

        fzctl_object_add_string(o, "last-error", "Last error", hostile);
        text = fzctl_render(o, FZCTL_OUTPUT_TEXT);
        line = fzctl_render(o, FZCTL_OUTPUT_LINE);
        json = fzctl_render(o, FZCTL_OUTPUT_JSON);
        escaped = fzctl_escape(hostile);
        ck_assert_str_eq(text, "Last error: x\\n<0>forged\\r\\u001b]0;owned\\u0007\\u001b[2J\\u007f\\u009b31m\tend "
                               "é\n");
        ck_assert_str_eq(line, "last-error=\"x\\n<0>forged\\r\\u001b]0;owned\\u0007\\u001b[2J\\u007f\\u009b31m"
                               "\\tend é\"\n");
        ck_assert_str_eq(json, "{\"last-error\": \"x\\n<0>forged\\r\\u001b]0;owned\\u0007\\u001b[2J\\u007f"
                               "\\u009b31m\\tend é\"}\n");
        ck_assert_str_eq(escaped, "x\\n<0>forged\\r\\u001b]0;owned\\u0007\\u001b[2J\\u007f\\u009b31m\tend é");
        /* Line output quotes a value with a control character even without a space. */
        fzctl_node_free(o);
        o = fzctl_object_new();
        fzctl_object_add_string(o, "name", "Name", "a\x1b");
        g_free(line);
        line = fzctl_render(o, FZCTL_OUTPUT_LINE);
        ck_assert_str_eq(line, "name=\"a\\u001b\"\n");
}
END_TEST

START_TEST(test_time) {
        g_autoptr(FzctlNode) o = fzctl_object_new();
        g_autofree char *json = NULL, *text = NULL;

        fzctl_object_add_time_usec(o, "connected-since", "Connected since", 1700000000123456ULL);
        json = fzctl_render(o, FZCTL_OUTPUT_JSON);
        text = fzctl_render(o, FZCTL_OUTPUT_TEXT);
        ck_assert_str_eq(json, "{\"connected-since\": 1700000000123456}\n");
        /* A local date: only its shape is fixed. */
        ck_assert_msg(
                g_regex_match_simple("^Connected since: 20\\d\\d-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d \\S+\n$",
                                     text, 0, 0),
                "%s", text);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("fzctl-output");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_json_escapes_and_keys);
        tcase_add_test(tc, test_text_blocks);
        tcase_add_test(tc, test_empty_list);
        tcase_add_test(tc, test_status_text_and_json);
        tcase_add_test(tc, test_line);
        tcase_add_test(tc, test_time);
        tcase_add_test(tc, test_hostile_text_is_escaped);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(suite)
