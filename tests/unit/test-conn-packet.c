/* SPDX-License-Identifier: Apache-2.0 */
/* daemon/connections/conn-packet.c: what the client reads of a TUN packet, the ICMP answers
 * it makes, and the in-tunnel control packets. */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "conn-packet.h"
#include "dataplane.h"
#include "dp-offload.h"
#include "fz-check.h"

static size_t udp4(uint8_t *p, const char *src, const char *dst, uint16_t sport, uint16_t dport, size_t payload) {
        size_t len = 28 + payload;
        memset(p, 0, len);
        p[0] = 0x45;
        p[2] = (uint8_t) (len >> 8);
        p[3] = (uint8_t) len;
        p[8] = 64;
        p[9] = FZD_PROTO_UDP;
        inet_pton(AF_INET, src, p + 12);
        inet_pton(AF_INET, dst, p + 16);
        p[20] = (uint8_t) (sport >> 8);
        p[21] = (uint8_t) sport;
        p[22] = (uint8_t) (dport >> 8);
        p[23] = (uint8_t) dport;
        p[25] = (uint8_t) (8 + payload);
        return len;
}

static size_t tcp6(uint8_t *p, uint16_t dport, bool with_ext) {
        size_t off = 40, len;
        memset(p, 0, 100);
        p[0] = 0x60;
        p[6] = with_ext ? 60 : FZD_PROTO_TCP; /* destination options first */
        p[7] = 64;
        inet_pton(AF_INET6, "fd00:2021:1111::1", p + 8);
        inet_pton(AF_INET6, "fd00:20::5", p + 24);
        if (with_ext) {
                p[40] = FZD_PROTO_TCP;
                p[41] = 0; /* 8 bytes */
                off = 48;
        }
        p[off + 2] = (uint8_t) (dport >> 8);
        p[off + 3] = (uint8_t) dport;
        p[off + 12] = 0x50;
        len = off + 20;
        p[4] = (uint8_t) ((len - 40) >> 8);
        p[5] = (uint8_t) (len - 40);
        return len;
}

START_TEST(test_parse) {
        uint8_t p[200];
        FzdPacketInfo pi;
        size_t n = udp4(p, "100.64.0.2", "10.20.0.5", 4000, 53, 10);

        ck_assert_int_eq(fzd_packet_parse(p, n, &pi), 0);
        ck_assert_int_eq(pi.family, AF_INET);
        ck_assert_int_eq(pi.proto, FZD_PROTO_UDP);
        ck_assert(pi.has_ports);
        ck_assert_uint_eq(pi.dport, 53);
        ck_assert_uint_eq(pi.total_len, n);
        /* A later fragment has no ports. */
        p[6] = 0x00;
        p[7] = 0x10;
        ck_assert_int_eq(fzd_packet_parse(p, n, &pi), 0);
        ck_assert(!pi.has_ports);
        /* Lies about lengths. */
        for (size_t k = 0; k < n; k++)
                ck_assert_int_eq(fzd_packet_parse(p, k, &pi) < 0 || pi.total_len <= k, 1);
        p[0] = 0x4f; /* a header longer than the packet */
        ck_assert_int_lt(fzd_packet_parse(p, 28, &pi), 0);

        n = tcp6(p, 443, true);
        ck_assert_int_eq(fzd_packet_parse(p, n, &pi), 0);
        ck_assert_int_eq(pi.proto, FZD_PROTO_TCP);
        ck_assert_uint_eq(pi.dport, 443);
        p[41] = 200; /* an extension header past the end */
        ck_assert_int_lt(fzd_packet_parse(p, n, &pi), 0);
}
END_TEST

START_TEST(test_icmp_prohibited) {
        uint8_t p[200], out[1280];
        size_t n = udp4(p, "100.64.0.2", "10.20.0.5", 4000, 22, 10);
        ssize_t k = fzd_packet_icmp_prohibited(p, n, out, sizeof out);
        FzdPacketInfo pi;

        ck_assert_int_eq(k, 28 + (ssize_t) n);
        ck_assert_int_eq(fzd_packet_parse(out, (size_t) k, &pi), 0);
        ck_assert_int_eq(pi.proto, FZD_PROTO_ICMP);
        ck_assert_int_eq(memcmp(pi.src, p + 16, 4), 0); /* from the destination ... */
        ck_assert_int_eq(memcmp(pi.dst, p + 12, 4), 0); /* ... back to the source */
        ck_assert_uint_eq(out[20], 3);
        ck_assert_uint_eq(out[21], 13);
        ck_assert_uint_eq(fzd_csum_fold(fzd_csum_add(0, out, 20)), 0);            /* IP header */
        ck_assert_uint_eq(fzd_csum_fold(fzd_csum_add(0, out + 20, (size_t) k - 20)), 0); /* ICMP */
        ck_assert_int_eq(memcmp(out + 28, p, n), 0);
        /* Never an answer to an ICMP error. */
        ck_assert_int_lt(fzd_packet_icmp_prohibited(out, (size_t) k, p, sizeof p), 0);

        n = tcp6(p, 22, false);
        k = fzd_packet_icmp_prohibited(p, n, out, sizeof out);
        ck_assert_int_eq(k, 48 + (ssize_t) n);
        ck_assert_uint_eq(out[6], FZD_PROTO_ICMPV6);
        ck_assert_uint_eq(out[40], 1);
        ck_assert_uint_eq(out[41], 1);
        ck_assert_uint_eq(fzd_csum_fold(fzd_csum_pseudo(AF_INET6, out + 8, out + 24, FZD_PROTO_ICMPV6,
                                                        (uint32_t) (k - 40)) +
                                        fzd_csum_add(0, out + 40, (size_t) k - 40)),
                          0);
}
END_TEST

START_TEST(test_p2p) {
        const char *json = "{\"resource\":\"r\",\"domain\":\"a.example.com\",\"status\":\"Active\"}";
        uint8_t p[1400];
        const uint8_t *payload;
        size_t plen;
        uint8_t event;
        ssize_t n = fzd_p2p_build(FZD_P2P_DOMAIN_STATUS, json, strlen(json), p, sizeof p);

        ck_assert_int_gt(n, 0);
        ck_assert(fzd_dp_is_p2p_control(p, (size_t) n));
        ck_assert_int_eq(fzd_p2p_parse(p, (size_t) n, &event, &payload, &plen), 0);
        ck_assert_uint_eq(event, FZD_P2P_DOMAIN_STATUS);
        ck_assert_uint_eq(plen, strlen(json));
        ck_assert_int_eq(memcmp(payload, json, plen), 0);
        ck_assert_uint_eq(p[7], 0); /* hop limit 0 */
        /* Truncated, or a length that lies. */
        ck_assert_int_lt(fzd_p2p_parse(p, 47, &event, &payload, &plen), 0);
        p[5] = 0xff;
        ck_assert_int_lt(fzd_p2p_parse(p, (size_t) n, &event, &payload, &plen), 0);
        ck_assert_int_eq(fzd_p2p_build(0, json, FZD_P2P_PAYLOAD_MAX + 1, p, sizeof p), -EMSGSIZE);
        /* An ordinary IPv6 packet is none. */
        ck_assert(!fzd_dp_is_p2p_control((const uint8_t *) "\x60", 1));
}
END_TEST

static Suite *conn_packet_suite(void) {
        Suite *s = suite_create("conn-packet");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_parse);
        tcase_add_test(tc, test_icmp_prohibited);
        tcase_add_test(tc, test_p2p);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(conn_packet_suite)
