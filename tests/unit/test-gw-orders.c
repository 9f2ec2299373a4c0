/* SPDX-License-Identifier: Apache-2.0 */
/* The controller's orders as the test gateway parses them (tests/gateway/gw-orders.c): every
 * field of tests/gateway/README.md's table, and the refusals (with the id kept when there
 * is one, so that the refusal is answered). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fz-check.h"
#include "gw-orders.h"
#include "gw-test-util.h"

#define KEY_A "qfBGIIiOj6pOsxXeBGY3PZXe60/T4uNXZyLkaNU+nV8="
#define KEY_B "YzGBibxPDGmZyA64lT8VSOwpOnZv6P6gzQ3HSZh9rhg="

static int parse(const char *line, FzgwOrder *o, char err[FZGW_ERROR_MAX]) {
        return fzgw_order_parse(line, strlen(line), o, err);
}

static void refused(const char *line, bool with_id, const char *needle) {
        char err[FZGW_ERROR_MAX];
        FzgwOrder o;

        ck_assert_msg(parse(line, &o, err) == -EINVAL, "accepted: %s", line);
        ck_assert_msg(o.has_id == with_id, "id of %s", line);
        ck_assert_msg(strstr(err, needle), "\"%s\" lacks \"%s\"", err, needle);
        fzgw_order_done(&o);
}

START_TEST(test_init) {
        static const char line[] =
                "{\"op\":\"init\",\"id\":1,\"interface\":{\"ipv4\":\"100.66.0.1\",\"ipv6\":\"fd00:2021:1111:"
                ":66:1\"},"
                "\"config\":{\"ipv4_masquerade_enabled\":true},\"account_slug\":\"x\","
                "\"relays\":[{\"id\":\"r1\",\"type\":\"turn\",\"addr\":\"203.0.113.20:3478\",\"username\":"
                "\"2145916800:s\","
                "\"password\":\"pw\",\"expires_at\":2145916800},"
                "{\"id\":\"r1\",\"type\":\"turn\",\"addr\":\"[2001:db8:1::20]:3478\",\"username\":\"u\","
                "\"password\":\"p\"},"
                "{\"id\":\"r2\",\"type\":\"stun\",\"addr\":\"1.2.3.4:3478\"}],"
                "\"authorizations\":[{\"client_id\":\"c1\",\"resource_id\":\"r\",\"expires_at\":null}]}";
        char err[FZGW_ERROR_MAX], buf[FZD_ADDR_STRLEN];
        FzgwOrder o;

        ck_assert_int_eq(parse(line, &o, err), 0);
        ck_assert_int_eq(o.op, FZGW_OP_INIT);
        ck_assert(o.has_id);
        ck_assert_int_eq(o.id, 1);
        ck_assert_int_eq(o.iface_ipv4.family, AF_INET);
        ck_assert_int_eq(o.iface_ipv6.family, AF_INET6);
        ck_assert_uint_eq(o.n_relays, 2); /* the STUN-only entry is not ours to use */
        ck_assert_str_eq(o.relays[0].id, "r1");
        ck_assert_str_eq(fzd_addr_format(&o.relays[1].addr, buf), "[2001:db8:1::20]:3478");
        ck_assert_int_eq(o.relays[0].expires_at, 2145916800);
        ck_assert_int_eq(o.relays[1].expires_at, 0);
        ck_assert_uint_eq(o.n_auths, 1);
        ck_assert_str_eq(o.auths[0].client_id, "c1");
        ck_assert_int_eq(o.auths[0].expires_at, 0);
        fzgw_order_done(&o);
}
END_TEST

START_TEST(test_authorize) {
        static const char line[] =
                "{\"op\":\"authorize\",\"id\":7,\"client\":{\"id\":\"c1\",\"public_key\":\"" KEY_A
                "\",\"preshared_key\":\"" KEY_B
                "\",\"ipv4\":\"100.72.0.2\",\"ipv6\":\"fd00:2021:1111::72:2\",\"version\":\"1.5.0\"},"
                "\"resource\":{\"id\":\"res\",\"type\":\"cidr\",\"address\":\"10.20.0.7/24\",\"name\":\"N\","
                "\"filters\":[{\"protocol\":\"tcp\",\"port_range_start\":80,\"port_range_end\":443},{"
                "\"protocol\":\"udp\","
                "\"port_range_start\":53},{\"protocol\":\"icmp\"}]},"
                "\"local_ice\":{\"username\":\"gw\",\"password\":\"gwpass\"},"
                "\"remote_ice\":{\"username\":\"cl\",\"password\":\"clpass\"},\"expires_at\":1999999999,"
                "\"use_iceless\":false}";
        char err[FZGW_ERROR_MAX], buf[FZD_CIDR_STRING_MAX];
        uint8_t key[FZD_WG_KEY_LEN];
        FzgwOrder o;

        ck_assert_int_eq(parse(line, &o, err), 0);
        ck_assert_int_eq(o.op, FZGW_OP_AUTHORIZE);
        ck_assert_str_eq(o.client.id, "c1");
        ck_assert_int_eq(fzd_wg_key_from_base64(key, KEY_A), 0);
        ck_assert_int_eq(memcmp(o.client.public_key, key, sizeof key), 0);
        ck_assert_int_eq(fzd_wg_key_from_base64(key, KEY_B), 0);
        ck_assert_int_eq(memcmp(o.client.psk, key, sizeof key), 0);
        ck_assert_int_eq(o.client.ipv6.family, AF_INET6);
        ck_assert_int_eq(o.resource.type, FZGW_RESOURCE_CIDR);
        ck_assert_int_eq(fzd_cidr_to_string(&o.resource.cidr, buf, sizeof buf), 0);
        ck_assert_str_eq(buf, "10.20.0.0/24"); /* host bits of the portal's address cleared */
        ck_assert_uint_eq(o.resource.n_filters, 3);
        ck_assert_uint_eq(o.resource.filters[0].start, 80);
        ck_assert_uint_eq(o.resource.filters[0].end, 443);
        ck_assert_uint_eq(o.resource.filters[1].end, 65535); /* the default end */
        ck_assert_uint_eq(o.resource.filters[2].proto, FZGW_PROTO_ICMP);
        ck_assert_str_eq(o.local_ice.username, "gw");
        ck_assert_str_eq(o.remote_ice.password, "clpass");
        ck_assert_int_eq(o.expires_at, 1999999999);
        fzgw_order_done(&o);
}
END_TEST

START_TEST(test_dns_and_internet_resources) {
        char err[FZGW_ERROR_MAX];
        FzgwOrder o;

        ck_assert_int_eq(
                parse("{\"op\":\"resource_updated\",\"id\":2,\"resource\":{\"id\":\"d\",\"type\":\"dns\","
                      "\"address\":\"*.Svc.corp.test\",\"filters\":[]}}",
                      &o, err),
                0);
        ck_assert_int_eq(o.resource.type, FZGW_RESOURCE_DNS);
        ck_assert(fzd_dns_pattern_matches(&o.resource.pattern, "app.svc.corp.test"));
        ck_assert(!fzd_dns_pattern_matches(&o.resource.pattern, "app.web.corp.test"));
        fzgw_order_done(&o);
        ck_assert_int_eq(
                parse("{\"op\":\"resource_updated\",\"resource\":{\"id\":\"i\",\"type\":\"internet\"}}", &o,
                      err),
                0);
        ck_assert(!o.has_id);
        ck_assert_int_eq(o.resource.type, FZGW_RESOURCE_INTERNET);
        fzgw_order_done(&o);
}
END_TEST

START_TEST(test_small_orders) {
        char err[FZGW_ERROR_MAX];
        FzgwOrder o;

        ck_assert_int_eq(parse("{\"op\":\"remote_candidates\",\"client_id\":\"c\",\"candidates\":["
                               "\"candidate:1 1 udp 1 "
                               "10.0.0.1 1 typ host\",\"garbage is parsed later\"]}",
                               &o, err),
                         0);
        ck_assert_uint_eq(o.n_candidates, 2);
        ck_assert_str_eq(o.candidates[1], "garbage is parsed later");
        fzgw_order_done(&o);
        ck_assert_int_eq(
                parse("{\"op\":\"relays\",\"id\":3,\"connected\":[],\"disconnected_ids\":[\"a\",\"b\"]}", &o,
                      err),
                0);
        ck_assert_uint_eq(o.n_disconnected, 2);
        ck_assert_str_eq(o.disconnected[1], "b");
        fzgw_order_done(&o);
        ck_assert_int_eq(
                parse(" {\"op\":\"reject_access\",\"id\":4,\"client_id\":\"c\",\"resource_id\":\"r\"} \r",
                      &o, err),
                0);
        ck_assert_str_eq(o.resource_id, "r");
        fzgw_order_done(&o);
        ck_assert_int_eq(parse("{\"op\":\"stats\",\"id\":5,\"whatever\":[1,2,3]}", &o, err), 0);
        ck_assert_int_eq(o.op, FZGW_OP_STATS);
        fzgw_order_done(&o);
}
END_TEST

START_TEST(test_refusals) {
        refused("", false, "not JSON");
        refused("nope", false, "not JSON");
        refused("[1]", false, "not a JSON object");
        refused("{\"op\":\"stats\",\"id\":1} {}", false, "more than one value");
        refused("{\"op\":\"stats\",\"id\":\"1\"}", false, "\"id\" is not an integer");
        refused("{\"id\":3}", true, "\"op\" is missing");
        refused("{\"op\":\"launch\",\"id\":3}", true, "unknown op");
        refused("{\"op\":\"init\",\"id\":3,\"interface\":{}}", true, "neither");
        refused("{\"op\":\"init\",\"id\":3,\"interface\":{\"ipv4\":\"fd00::1\"}}", true,
                "not an IPv4 address");
        refused("{\"op\":\"init\",\"id\":3,\"interface\":{\"ipv4\":\"1.2.3.4\"},\"relays\":{}}", true,
                "not an array");
        refused("{\"op\":\"init\",\"id\":3,\"interface\":{\"ipv4\":\"1.2.3.4\"},\"relays\":[{\"id\":\"r\","
                "\"addr\":\"1.2.3.4\","
                "\"username\":\"u\",\"password\":\"p\"}]}",
                true, "not an address and port");
        refused("{\"op\":\"authorize\",\"id\":4,\"client\":{\"id\":\"c\",\"public_key\":\"AAAA\"}}", true,
                "not a base64 key");
        refused("{\"op\":\"authorize\",\"id\":4,\"client\":{\"id\":\"c\",\"public_key\":\"" KEY_A
                "\",\"preshared_key\":\"" KEY_B "\"}}",
                true, "neither \"ipv4\" nor \"ipv6\"");
        refused("{\"op\":\"authorize\",\"id\":4,\"client\":{\"id\":\"c\",\"public_key\":\"" KEY_A
                "\",\"preshared_key\":\"" KEY_B "\",\"ipv4\":\"100.72.0.2\"},\"resource\":{\"id\":\"r\","
                                                "\"type\":\"cidr\",\"address\":\"10.0.0.0/99\"}}",
                true, "not a CIDR range");
        refused("{\"op\":\"authorize\",\"id\":4,\"client\":{\"id\":\"c\",\"public_key\":\"" KEY_A
                "\",\"preshared_key\":\"" KEY_B "\",\"ipv4\":\"100.72.0.2\"},\"resource\":{\"id\":\"r\","
                                                "\"type\":\"dns\",\"address\":\"a..b\"}}",
                true, "not a DNS name pattern");
        refused("{\"op\":\"authorize\",\"id\":4,\"client\":{\"id\":\"c\",\"public_key\":\"" KEY_A
                "\",\"preshared_key\":\"" KEY_B "\",\"ipv4\":\"100.72.0.2\"},\"resource\":{\"id\":\"r\","
                                                "\"type\":\"internet\"},\"local_ice\":{\"username\":"
                "\"a\",\"password\":\"b\"},\"remote_ice\":{\"username\":\"c\",\"password\":\"d\"},\"use_"
                "iceless\":true}",
                true, "ICE-less");
        refused("{\"op\":\"resource_updated\",\"id\":5,\"resource\":{\"id\":\"r\",\"type\":\"cidr\","
                "\"address\":\"1.0.0.0/8\","
                "\"filters\":[{\"protocol\":\"sctp\"}]}}",
                true, "unknown protocol");
        refused("{\"op\":\"resource_updated\",\"id\":5,\"resource\":{\"id\":\"r\",\"type\":\"cidr\","
                "\"address\":\"1.0.0.0/8\","
                "\"filters\":[{\"protocol\":\"tcp\",\"port_range_start\":70000}]}}",
                true, "out of range");
        refused("{\"op\":\"remote_candidates\",\"client_id\":\"c\",\"candidates\":[1]}", false,
                "not a string");
        refused("{\"op\":\"reject_access\",\"id\":6,\"client_id\":\"c\"}", true,
                "\"resource_id\" is missing");
        refused("{\"op\":\"reject_access\",\"id\":6,\"client_id\":\"c\\u0000d\",\"resource_id\":\"r\"}",
                true, "NUL");
}
END_TEST

START_TEST(test_long_lines) {
        /* A relays order a megabyte long is fine; past the limit is refused, not truncated. */
        size_t n = 1 << 20;
        char *line = malloc(FZGW_LINE_MAX + 2), err[FZGW_ERROR_MAX];
        FzgwOrder o;
        int k;

        k = snprintf(line, n, "{\"op\":\"stats\",\"id\":9,\"pad\":\"");
        memset(line + k, 'x', n - (size_t) k - 2);
        line[n - 2] = '"';
        line[n - 1] = '}';
        ck_assert_int_eq(fzgw_order_parse(line, n, &o, err), 0);
        fzgw_order_done(&o);
        memset(line, ' ', FZGW_LINE_MAX + 1);
        ck_assert_int_eq(fzgw_order_parse(line, FZGW_LINE_MAX + 1, &o, err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err, "longer than"));
        fzgw_order_done(&o);
        free(line);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("gw-orders");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_init);
        tcase_add_test(tc, test_authorize);
        tcase_add_test(tc, test_dns_and_internet_resources);
        tcase_add_test(tc, test_small_orders);
        tcase_add_test(tc, test_refusals);
        tcase_add_test(tc, test_long_lines);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(suite)
