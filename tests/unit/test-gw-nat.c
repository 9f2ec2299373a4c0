/* SPDX-License-Identifier: Apache-2.0 */
/* The DNS-resource NAT's flows (tests/gateway/gw-nat.c): the way back per flow, several proxy
 * IPs for one real address, lifetimes (Firezone's), forgetting, the cap. */
#include <errno.h>

#include "fz-check.h"
#include "gw-nat.h"
#include "gw-test-util.h"

#define T0 1000

static FzgwNatKey key(uint8_t proto, const char *client, uint16_t cport, const char *real, uint16_t sport) {
        FzgwIp c = gwt_ip(client), r = gwt_ip(real);
        FzgwNatKey k = {
                .family = (uint8_t) c.family, .proto = proto, .client_port = cport, .server_port = sport
        };

        memcpy(k.client, c.a, 16);
        memcpy(k.real, r.a, 16);
        return k;
}

static bool back(FzgwNat *n, const FzgwNatKey *k, uint64_t now, uint8_t flags, const char *want) {
        uint8_t proxy[16] = {};
        FzgwIp w;

        if (!fzgw_nat_reply(n, k, now, flags, 100, proxy))
                return false;
        w = gwt_ip(want);
        ck_assert_int_eq(memcmp(proxy, w.a, fzgw_ip_len(w.family)), 0);
        return true;
}

static unsigned ended;

static void count_end(void *userdata, const FzgwNatFlow *f) {
        ended++;
}

START_TEST(test_way_back_per_flow) {
        FzgwNat *n;
        FzgwNatKey a = key(FZGW_PROTO_TCP, "100.72.0.2", 40000, "10.20.0.10", 80),
                   b = key(FZGW_PROTO_TCP, "100.72.0.2", 40001, "10.20.0.10", 80),
                   e = key(FZGW_PROTO_ICMP, "100.72.0.2", 77, "10.20.0.10", 0);
        FzgwIp p1 = gwt_ip("100.96.0.1"), p2 = gwt_ip("100.96.0.2");

        ck_assert_int_eq(fzgw_nat_new(16, &n), 0);
        /* Two proxy IPs, one real address (round-robin): each flow knows its own. */
        ck_assert_int_eq(fzgw_nat_request(n, &a, p1.a, 1, T0, FZGW_TCP_SYN, 60), 1);
        ck_assert_int_eq(fzgw_nat_request(n, &b, p2.a, 1, T0, FZGW_TCP_SYN, 60), 1);
        ck_assert_int_eq(fzgw_nat_request(n, &e, p2.a, 1, T0, 0, 60), 1);
        ck_assert_int_eq(fzgw_nat_request(n, &a, p1.a, 1, T0 + 1, 0, 60), 0); /* refreshed */
        ck_assert_uint_eq(fzgw_nat_count(n), 3);
        ck_assert(back(n, &a, T0 + 1, 0, "100.96.0.1"));
        ck_assert(back(n, &b, T0 + 1, 0, "100.96.0.2"));
        ck_assert(back(n, &e, T0 + 1, 0, "100.96.0.2"));
        /* Not a flow: another port, another client, another real address. */
        FzgwNatKey x = a;
        x.server_port = 81;
        ck_assert(!back(n, &x, T0 + 1, 0, "100.96.0.1"));
        x = key(FZGW_PROTO_TCP, "100.72.0.3", 40000, "10.20.0.10", 80);
        ck_assert(!back(n, &x, T0 + 1, 0, "100.96.0.1"));
        x = key(FZGW_PROTO_UDP, "100.72.0.2", 40000, "10.20.0.10", 80);
        ck_assert(!back(n, &x, T0 + 1, 0, "100.96.0.1"));
        /* The same flow through another proxy IP: the newest wins. */
        ck_assert_int_eq(fzgw_nat_request(n, &a, p2.a, 1, T0 + 2, 0, 60), 1);
        ck_assert(back(n, &a, T0 + 2, 0, "100.96.0.2"));
        ck_assert_uint_eq(fzgw_nat_count(n), 3);
        fzgw_nat_free(n);
}
END_TEST

START_TEST(test_lifetimes) {
        FzgwNat *n;
        FzgwNatKey udp = key(FZGW_PROTO_UDP, "fd00:2021:1111::72:2", 5353, "fd00:20::10", 53),
                   lone = key(FZGW_PROTO_UDP, "fd00:2021:1111::72:2", 5354, "fd00:20::10", 53),
                   tcp = key(FZGW_PROTO_TCP, "100.72.0.2", 1, "10.20.0.10", 80),
                   fin = key(FZGW_PROTO_TCP, "100.72.0.2", 2, "10.20.0.10", 80),
                   rst = key(FZGW_PROTO_TCP, "100.72.0.2", 3, "10.20.0.10", 80);
        FzgwIp p6 = gwt_ip("fd00:2021:1111:8000::1"), p4 = gwt_ip("100.96.0.1");

        ck_assert_int_eq(fzgw_nat_new(16, &n), 0);
        ck_assert_int_eq(fzgw_nat_request(n, &udp, p6.a, 7, T0, 0, 1), 1);
        ck_assert_int_eq(fzgw_nat_request(n, &lone, p6.a, 7, T0, 0, 1), 1);
        ck_assert_int_eq(fzgw_nat_request(n, &tcp, p4.a, 7, T0, FZGW_TCP_SYN, 1), 1);
        ck_assert_int_eq(fzgw_nat_request(n, &fin, p4.a, 7, T0, FZGW_TCP_SYN, 1), 1);
        ck_assert_int_eq(fzgw_nat_request(n, &rst, p4.a, 7, T0, FZGW_TCP_SYN, 1), 1);
        ck_assert(back(n, &udp, T0 + 1, 0, "fd00:2021:1111:8000::1"));
        ck_assert(back(n, &tcp, T0 + 1, FZGW_TCP_SYN, "100.96.0.1"));
        ck_assert(back(n, &fin, T0 + 1, FZGW_TCP_SYN, "100.96.0.1"));
        ck_assert(back(n, &rst, T0 + 1, 0, "100.96.0.1"));
        /* RST: gone at once. FIN both ways: 5 s later. */
        ck_assert(back(n, &rst, T0 + 2, FZGW_TCP_RST, "100.96.0.1"));
        ck_assert_int_eq(fzgw_nat_request(n, &fin, p4.a, 7, T0 + 2, FZGW_TCP_FIN, 1), 0);
        ck_assert(back(n, &fin, T0 + 2, FZGW_TCP_FIN, "100.96.0.1"));
        ended = 0;
        ck_assert_uint_eq(fzgw_nat_expire(n, T0 + 2, count_end, NULL), 1);
        ck_assert_uint_eq(fzgw_nat_expire(n, T0 + 2 + FZGW_NAT_FIN_TTL - 1, count_end, NULL), 0);
        ck_assert_uint_eq(fzgw_nat_expire(n, T0 + 2 + FZGW_NAT_FIN_TTL, count_end, NULL), 1);
        ck_assert_uint_eq(ended, 2);
        /* Never answered: a minute. */
        ck_assert_uint_eq(fzgw_nat_expire(n, T0 + FZGW_NAT_UNCONFIRMED_TTL, NULL, NULL), 1);
        ck_assert(!back(n, &lone, T0 + FZGW_NAT_UNCONFIRMED_TTL, 0, "fd00:2021:1111:8000::1"));
        /* UDP two minutes after the last packet; TCP over two hours. */
        ck_assert_uint_eq(fzgw_nat_expire(n, T0 + 1 + FZGW_NAT_UDP_TTL - 1, NULL, NULL), 0);
        ck_assert_uint_eq(fzgw_nat_expire(n, T0 + 1 + FZGW_NAT_UDP_TTL, NULL, NULL), 1);
        ck_assert_uint_eq(fzgw_nat_count(n), 1);
        ck_assert_uint_eq(fzgw_nat_expire(n, T0 + 1 + FZGW_NAT_TCP_TTL - 1, NULL, NULL), 0);
        ck_assert_uint_eq(fzgw_nat_expire(n, T0 + 1 + FZGW_NAT_TCP_TTL, NULL, NULL), 1);
        ck_assert_uint_eq(fzgw_nat_count(n), 0);
        fzgw_nat_free(n);
}
END_TEST

START_TEST(test_new_syn_after_fin_is_a_new_connection) {
        FzgwNat *n;
        FzgwNatKey k = key(FZGW_PROTO_TCP, "100.72.0.2", 1, "10.20.0.10", 80);
        FzgwIp p = gwt_ip("100.96.0.1");

        ck_assert_int_eq(fzgw_nat_new(4, &n), 0);
        ck_assert_int_eq(fzgw_nat_request(n, &k, p.a, 1, T0, FZGW_TCP_SYN, 1), 1);
        ck_assert(back(n, &k, T0, FZGW_TCP_FIN, "100.96.0.1"));
        ck_assert_int_eq(fzgw_nat_request(n, &k, p.a, 1, T0, FZGW_TCP_FIN, 1), 0);
        ck_assert_int_eq(fzgw_nat_request(n, &k, p.a, 1, T0 + 1, FZGW_TCP_SYN, 1), 0);
        ck_assert_uint_eq(fzgw_nat_expire(n, T0 + 1 + FZGW_NAT_FIN_TTL, NULL, NULL), 0);
        fzgw_nat_free(n);
}
END_TEST

START_TEST(test_forget_and_cap) {
        FzgwNat *n;
        FzgwIp p1 = gwt_ip("100.96.0.1"), p2 = gwt_ip("100.96.0.2");

        ck_assert_int_eq(fzgw_nat_new(5, &n), 0);
        for (uint16_t i = 0; i < 5; i++) {
                FzgwNatKey k = key(FZGW_PROTO_UDP, "100.72.0.2", i, "10.20.0.10", 53);
                ck_assert_int_eq(fzgw_nat_request(n, &k, i % 2 ? p1.a : p2.a, i < 4 ? 1 : 2, T0, 0, 1), 1);
        }
        {
                FzgwNatKey k = key(FZGW_PROTO_UDP, "100.72.0.2", 99, "10.20.0.10", 53);
                ck_assert_int_eq(fzgw_nat_request(n, &k, p1.a, 1, T0, 0, 1), -ENOSPC);
        }
        ended = 0;
        ck_assert_uint_eq(fzgw_nat_forget(n, 1, AF_INET, p1.a, count_end, NULL), 2); /* ports 1, 3 */
        ck_assert_uint_eq(fzgw_nat_forget(n, 1, 0, NULL, count_end, NULL), 2);       /* ports 0, 2 */
        ck_assert_uint_eq(ended, 4);
        ck_assert_uint_eq(fzgw_nat_count(n), 1);
        fzgw_nat_free(n);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("gw-nat");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_way_back_per_flow);
        tcase_add_test(tc, test_lifetimes);
        tcase_add_test(tc, test_new_syn_after_fin_is_a_new_connection);
        tcase_add_test(tc, test_forget_and_cap);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(suite)
