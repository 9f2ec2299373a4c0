/* SPDX-License-Identifier: Apache-2.0 */
/* Firezone's in-tunnel control packets as the test gateway reads and writes them
 * (tests/gateway/gw-p2p.c), with the bytes connlib's p2p_control.rs produces. */
#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "dataplane.h"
#include "fz-check.h"
#include "gw-p2p.h"
#include "macro.h"

static size_t packet(uint8_t *out, uint8_t event, const char *body) {
        int n = fzgw_p2p_build(event, (const uint8_t *) body, strlen(body), out, 2048);
        ck_assert_int_gt(n, 0);
        return (size_t) n;
}

START_TEST(test_parse_assigned_ips) {
        /* What connlib sends: serde's field order, no spaces. */
        static const char body[] =
                "{\"resource\":\"11111111-1111-4111-8111-0000000000d5\",\"domain\":\"Files.Corp.Test.\","
                "\"proxy_ips\":[\"100.96.0.1\",\"100.96.0.2\",\"100.96.0.3\",\"100.96.0.4\","
                "\"fd00:2021:1111:8000::1\",\"fd00:2021:1111:8000::2\",\"fd00:2021:1111:8000::3\","
                "\"fd00:2021:1111:8000::4\"]}";
        uint8_t p[2048];
        const uint8_t *b;
        size_t n = packet(p, FZGW_P2P_ASSIGNED_IPS, body), blen;
        FzgwAssignedIps a;
        uint8_t ev;
        char buf[FZGW_IP_STRLEN];

        ck_assert_uint_eq(n, 40 + 8 + strlen(body));
        /* The data plane hands such packets to the control side. */
        ck_assert(fzd_dp_is_p2p_control(p, n));
        ck_assert_int_eq(fzgw_p2p_parse(p, n, &ev, &b, &blen), 0);
        ck_assert_uint_eq(ev, FZGW_P2P_ASSIGNED_IPS);
        ck_assert_uint_eq(blen, strlen(body));
        ck_assert_int_eq(fzgw_p2p_parse_assigned_ips(b, blen, &a), 0);
        ck_assert_str_eq(a.resource, "11111111-1111-4111-8111-0000000000d5");
        ck_assert_str_eq(a.domain, "files.corp.test");
        ck_assert_uint_eq(a.n_proxy_ips, 8);
        ck_assert_str_eq(fzgw_ip_format(&a.proxy_ips[3], buf), "100.96.0.4");
        ck_assert_str_eq(fzgw_ip_format(&a.proxy_ips[7], buf), "fd00:2021:1111:8000::4");
}
END_TEST

START_TEST(test_refuses_what_is_not_a_control_packet) {
        uint8_t p[2048];
        const uint8_t *b;
        size_t n = packet(p, FZGW_P2P_GOODBYE, ""), blen;
        uint8_t ev;

        ck_assert_int_eq(fzgw_p2p_parse(p, n, &ev, &b, &blen), 0);
        ck_assert_uint_eq(ev, FZGW_P2P_GOODBYE);
        ck_assert_uint_eq(blen, 0);
        ck_assert_int_eq(fzgw_p2p_parse(p, n - 1, &ev, &b, &blen),
                         -EBADMSG); /* payload length past the end */
        p[7] = 1;                   /* hop limit */
        ck_assert_int_eq(fzgw_p2p_parse(p, n, &ev, &b, &blen), -EBADMSG);
        p[7] = 0;
        p[6] = 17;
        ck_assert_int_eq(fzgw_p2p_parse(p, n, &ev, &b, &blen), -EBADMSG);
        p[6] = 0xff;
        p[39] = 1; /* dst ::1 */
        ck_assert_int_eq(fzgw_p2p_parse(p, n, &ev, &b, &blen), -EBADMSG);
        p[39] = 0;
        p[5] = 4; /* shorter than the 8-byte header */
        ck_assert_int_eq(fzgw_p2p_parse(p, n, &ev, &b, &blen), -EBADMSG);
        p[0] = 0x45;
        ck_assert_int_eq(fzgw_p2p_parse(p, n, &ev, &b, &blen), -EBADMSG);
}
END_TEST

START_TEST(test_assigned_ips_bad_bodies) {
        static const char *const bad[] = {
                "",
                "[]",
                "{\"resource\":\"r\",\"domain\":\"a.test\"}",
                "{\"resource\":\"r\",\"domain\":\"a.test\",\"proxy_ips\":[]}",
                "{\"resource\":\"r\",\"domain\":\"a.test\",\"proxy_ips\":[\"100.96.0.1/32\"]}",
                "{\"resource\":\"r\",\"domain\":\"a.test\",\"proxy_ips\":[1]}",
                "{\"resource\":\"r\",\"domain\":\".\",\"proxy_ips\":[\"100.96.0.1\"]}",
                "{\"resource\":7,\"domain\":\"a.test\",\"proxy_ips\":[\"100.96.0.1\"]}",
                "{\"resource\":\"r\",\"domain\":\"a.test\",\"proxy_ips\":[\"1.1.1.1\",\"1.1.1.1\",\"1.1.1."
                "1\",\"1.1.1.1\","
                "\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\"]}",
                "{\"resource\":\"r\",\"domain\":\"a.test\",\"proxy_ips\":[\"100.96.0.1\"]} x",
                "{\"resource\":\"r\",\"domain\":\"a.test\",\"proxy_ips\":[\"100.96.0.1\"]",
        };
        static const char extra[] =
                "{\"resource\":\"r\",\"domain\":\"a\",\"proxy_ips\":[\"100.96.0.1\"],\"x\":1}\n";
        FzgwAssignedIps a;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(fzgw_p2p_parse_assigned_ips((const uint8_t *) bad[i], strlen(bad[i]), &a) ==
                                      -EBADMSG,
                              "accepted: %s", bad[i]);
        /* Unknown fields and white space after the object are fine. */
        ck_assert_int_eq(fzgw_p2p_parse_assigned_ips((const uint8_t *) extra, strlen(extra), &a), 0);
}
END_TEST

START_TEST(test_domain_status) {
        uint8_t p[2048];
        const uint8_t *b;
        size_t blen;
        uint8_t ev;
        json_object *o;
        int n = fzgw_p2p_build_domain_status("res-1", "app.svc.corp.test", true, p, sizeof p);

        ck_assert_int_gt(n, 48);
        ck_assert(fzd_dp_is_p2p_control(p, (size_t) n));
        ck_assert_int_eq(fzgw_p2p_parse(p, (size_t) n, &ev, &b, &blen), 0);
        ck_assert_uint_eq(ev, FZGW_P2P_DOMAIN_STATUS);
        {
                json_tokener *tok = json_tokener_new();
                o = json_tokener_parse_ex(tok, (const char *) b, (int) blen);
                json_tokener_free(tok);
        }
        ck_assert_ptr_nonnull(o);
        ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "resource")), "res-1");
        ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "domain")), "app.svc.corp.test");
        ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "status")), "Active");
        json_object_put(o);
        n = fzgw_p2p_build_domain_status("res-1", "x.test", false, p, sizeof p);
        ck_assert_ptr_nonnull(memmem(p, (size_t) n, "\"Inactive\"", 10));
        ck_assert_int_eq(fzgw_p2p_build_domain_status("res-1", "x.test", false, p, 60), -ENOBUFS);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("gw-p2p");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_parse_assigned_ips);
        tcase_add_test(tc, test_refuses_what_is_not_a_control_packet);
        tcase_add_test(tc, test_assigned_ips_bad_bodies);
        tcase_add_test(tc, test_domain_status);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(suite)
