/* SPDX-License-Identifier: Apache-2.0 */
/* The test gateway's packet helpers (tests/gateway/gw-packet.c): parsing, address rewriting
 * with checksums (checked against a full recomputation), ICMP errors built and translated. */
#include <errno.h>

#include "fz-check.h"
#include "gw-packet.h"
#include "gw-test-util.h"

START_TEST(test_parse_tcp_udp_icmp) {
        uint8_t p[2048];
        FzgwPacket pi;
        size_t n;

        n = gwt_tcp(p, "100.72.0.2", 40000, "10.20.0.10", 80, FZGW_TCP_SYN, 0);
        ck_assert_int_eq(fzgw_packet_parse(p, n, &pi), 0);
        ck_assert_int_eq(pi.family, AF_INET);
        ck_assert_uint_eq(pi.len, n);
        ck_assert_uint_eq(pi.l4_off, 20);
        ck_assert_uint_eq(pi.proto, FZGW_PROTO_TCP);
        ck_assert(pi.has_ports && pi.first_fragment && !pi.icmp);
        ck_assert_uint_eq(pi.sport, 40000);
        ck_assert_uint_eq(pi.dport, 80);
        ck_assert_uint_eq(pi.tcp_flags, FZGW_TCP_SYN);
        gwt_assert_checksums(p, n);

        n = gwt_udp(p, "fd00:2021:1111::72:2", 5353, "fd00:20::10", 53, 11);
        ck_assert_int_eq(fzgw_packet_parse(p, n + 7, &pi), 0); /* trailing bytes: the header rules */
        ck_assert_int_eq(pi.family, AF_INET6);
        ck_assert_uint_eq(pi.len, n);
        ck_assert_uint_eq(pi.proto, FZGW_PROTO_UDP);
        ck_assert_uint_eq(pi.dport, 53);
        gwt_assert_checksums(p, n);

        n = gwt_echo(p, "100.72.0.2", "100.96.0.1", 4242);
        ck_assert_int_eq(fzgw_packet_parse(p, n, &pi), 0);
        ck_assert(pi.icmp && pi.icmp_echo && !pi.icmp_error && pi.has_ports);
        ck_assert_uint_eq(pi.sport, 4242);
        ck_assert_uint_eq(pi.dport, 0);
        n = gwt_echo(p, "fd00:2021:1111::72:2", "fd00:2021:1111:8000::1", 7);
        ck_assert_int_eq(fzgw_packet_parse(p, n, &pi), 0);
        ck_assert(pi.icmp && pi.icmp_echo && pi.proto == FZGW_PROTO_ICMPV6);
        gwt_assert_checksums(p, n);
}
END_TEST

START_TEST(test_parse_refuses_malformed) {
        uint8_t p[2048];
        FzgwPacket pi;
        size_t n = gwt_tcp(p, "100.72.0.2", 1, "10.0.0.1", 2, 0, 10);

        ck_assert_int_eq(fzgw_packet_parse(p, 0, &pi), -EBADMSG);
        ck_assert_int_eq(fzgw_packet_parse(p, 19, &pi), -EBADMSG);
        ck_assert_int_eq(fzgw_packet_parse(p, n - 1, &pi), -EBADMSG); /* the header claims more */
        p[0] = 0x44;                                                  /* IHL 16 */
        ck_assert_int_eq(fzgw_packet_parse(p, n, &pi), -EBADMSG);
        p[0] = 0x55;
        ck_assert_int_eq(fzgw_packet_parse(p, n, &pi), -EBADMSG);
        n = gwt_udp(p, "fd00::1", 1, "fd00::2", 2, 0);
        ck_assert_int_eq(fzgw_packet_parse(p, 39, &pi), -EBADMSG);
        ck_assert_int_eq(fzgw_packet_parse(p, n - 1, &pi), -EBADMSG);
        /* A TCP header cut short: a packet, without ports. */
        n = gwt_tcp(p, "100.72.0.2", 1, "10.0.0.1", 2, 0, 0);
        gwt_put16(p + 2, 30);
        ck_assert_int_eq(fzgw_packet_parse(p, n, &pi), 0);
        ck_assert(!pi.has_ports);
}
END_TEST

START_TEST(test_parse_fragments_and_extension_headers) {
        uint8_t p[2048], q[2048];
        FzgwPacket pi;
        size_t n = gwt_udp(p, "10.0.0.1", 1000, "10.0.0.2", 2000, 8);

        /* A later IPv4 fragment has no transport header. */
        gwt_put16(p + 6, 185);
        ck_assert_int_eq(fzgw_packet_parse(p, n, &pi), 0);
        ck_assert(!pi.first_fragment && !pi.has_ports);

        /* IPv6: hop-by-hop options, then a fragment header, then UDP. */
        n = gwt_udp(p, "fd00::1", 1000, "fd00::2", 2000, 8);
        memcpy(q, p, 40);
        q[6] = 0; /* next: hop-by-hop */
        memset(q + 40, 0, 16);
        q[40] = 44;             /* hop-by-hop → fragment */
        q[41] = 0;              /* 8 bytes */
        q[48] = FZGW_PROTO_UDP; /* fragment → UDP */
        memcpy(q + 56, p + 40, n - 40);
        gwt_put16(q + 4, (uint16_t) (n - 40 + 16));
        ck_assert_int_eq(fzgw_packet_parse(q, n + 16, &pi), 0);
        ck_assert_uint_eq(pi.l4_off, 56);
        ck_assert_uint_eq(pi.proto, FZGW_PROTO_UDP);
        ck_assert(pi.first_fragment && pi.has_ports);
        ck_assert_uint_eq(pi.dport, 2000);
        gwt_put16(q + 50, 8 << 3); /* offset 64 */
        ck_assert_int_eq(fzgw_packet_parse(q, n + 16, &pi), 0);
        ck_assert(!pi.first_fragment && !pi.has_ports);
        /* An extension header that runs past the packet. */
        q[41] = 20;
        ck_assert_int_eq(fzgw_packet_parse(q, n + 16, &pi), -EBADMSG);
}
END_TEST

static void rewrite_and_check(uint8_t *p, size_t n, bool dst, const char *to) {
        FzgwIp ip = gwt_ip(to);
        FzgwPacket pi;

        ck_assert_int_eq(fzgw_packet_parse(p, n, &pi), 0);
        fzgw_packet_set_addr(p, &pi, dst, ip.a);
        ck_assert_int_eq(memcmp(dst ? fzgw_packet_dst(p, &pi) : fzgw_packet_src(p, &pi), ip.a,
                                fzgw_ip_len(ip.family)),
                         0);
        gwt_assert_checksums(p, n);
}

START_TEST(test_set_addr_fixes_checksums) {
        uint8_t p[2048];
        size_t n;

        n = gwt_tcp(p, "100.72.0.2", 40000, "100.96.0.1", 80, FZGW_TCP_SYN, 33);
        rewrite_and_check(p, n, true, "10.20.0.10");
        rewrite_and_check(p, n, false, "100.64.255.254");
        n = gwt_udp(p, "100.72.0.2", 40000, "100.96.0.1", 53, 100);
        rewrite_and_check(p, n, true, "203.0.113.77");
        n = gwt_udp(p, "fd00:2021:1111::72:2", 40000, "fd00:2021:1111:8000::3", 53, 1);
        rewrite_and_check(p, n, true, "fd00:20::10");
        n = gwt_tcp(p, "fd00:20::10", 80, "fd00:2021:1111::72:2", 1234, 0x18, 1000);
        rewrite_and_check(p, n, false, "fd00:2021:1111:8000::3");
        n = gwt_echo(p, "100.72.0.2", "100.96.0.1", 9);
        rewrite_and_check(p, n, true, "10.20.0.10");
        n = gwt_echo(p, "fd00:2021:1111::72:2", "fd00:2021:1111:8000::1", 9);
        rewrite_and_check(p, n, true, "fd00:20::10");
        /* IPv4 UDP without a checksum keeps none. */
        n = gwt_udp(p, "100.72.0.2", 1, "100.96.0.1", 2, 4);
        p[26] = p[27] = 0;
        rewrite_and_check(p, n, true, "10.20.0.10");
        ck_assert(p[26] == 0 && p[27] == 0);
}
END_TEST

START_TEST(test_icmp_prohibited) {
        uint8_t p[2048], out[2048];
        FzgwPacket pi, ei;
        size_t n;
        int k;

        n = gwt_tcp(p, "100.72.0.2", 40000, "10.20.0.11", 5201, FZGW_TCP_SYN, 0);
        ck_assert_int_eq(fzgw_packet_parse(p, n, &pi), 0);
        ck_assert(fzgw_packet_may_answer(p, &pi));
        k = fzgw_packet_icmp_prohibited(p, &pi, out, sizeof out);
        ck_assert_int_eq(k, (int) (28 + n));
        ck_assert_int_eq(fzgw_packet_parse(out, (size_t) k, &ei), 0);
        ck_assert(ei.icmp_error && ei.icmp_type == 3 && ei.icmp_code == 13);
        ck_assert_int_eq(memcmp(fzgw_packet_src(out, &ei), fzgw_packet_dst(p, &pi), 4), 0);
        ck_assert_int_eq(memcmp(fzgw_packet_dst(out, &ei), fzgw_packet_src(p, &pi), 4), 0);
        ck_assert_int_eq(memcmp(out + 28, p, n), 0);
        gwt_assert_checksums(out, (size_t) k);
        ck_assert_int_eq(fzgw_packet_icmp_prohibited(p, &pi, out, 30), -ENOBUFS);

        /* At most 576 bytes (IPv4) and 1280 (IPv6), whatever the refused packet's size. */
        n = gwt_udp(p, "100.72.0.2", 1, "10.20.0.11", 2, 1400);
        ck_assert_int_eq(fzgw_packet_parse(p, n, &pi), 0);
        ck_assert_int_eq(fzgw_packet_icmp_prohibited(p, &pi, out, sizeof out), 576);
        n = gwt_udp(p, "fd00:2021:1111::72:2", 1, "fd00:20::11", 2, 1400);
        ck_assert_int_eq(fzgw_packet_parse(p, n, &pi), 0);
        k = fzgw_packet_icmp_prohibited(p, &pi, out, sizeof out);
        ck_assert_int_eq(k, 1280);
        ck_assert_int_eq(fzgw_packet_parse(out, (size_t) k, &ei), 0);
        ck_assert(ei.icmp_error && ei.icmp_type == 1 && ei.icmp_code == 1);
        gwt_assert_checksums(out, (size_t) k);

        /* Never about an ICMP error, a later fragment, or from/to a group. */
        ck_assert(!fzgw_packet_may_answer(out, &ei));
        n = gwt_udp(p, "10.0.0.1", 1, "224.0.0.251", 5353, 0);
        ck_assert_int_eq(fzgw_packet_parse(p, n, &pi), 0);
        ck_assert(!fzgw_packet_may_answer(p, &pi));
        n = gwt_udp(p, "10.0.0.1", 1, "10.0.0.2", 5353, 0);
        gwt_put16(p + 6, 100);
        ck_assert_int_eq(fzgw_packet_parse(p, n, &pi), 0);
        ck_assert(!fzgw_packet_may_answer(p, &pi));
}
END_TEST

/* An ICMP error from a real address about a packet the client sent to a proxy IP (after
 * the NAT) goes back looking as if the proxy IP sent it about the packet the client sent. */
static void icmp_error_translates(const char *client, const char *proxy, const char *real) {
        uint8_t sent[256], err[512], orig[256];
        FzgwPacket si, ei;
        FzgwQuoted q;
        FzgwIp pip = gwt_ip(proxy);
        size_t n = gwt_udp(orig, client, 5000, proxy, 9999, 12);
        int k;

        /* What left the gateway: the client's packet to the real address. */
        memcpy(sent, orig, n);
        rewrite_and_check(sent, n, true, real);
        ck_assert_int_eq(fzgw_packet_parse(sent, n, &si), 0);
        /* The resource's port-unreachable looks like our prohibited, type aside. */
        k = fzgw_packet_icmp_prohibited(sent, &si, err, sizeof err);
        ck_assert_int_gt(k, 0);
        ck_assert_int_eq(fzgw_packet_parse(err, (size_t) k, &ei), 0);
        ck_assert_int_eq(fzgw_packet_quoted(err, &ei, &q), 0);
        ck_assert_uint_eq(q.proto, FZGW_PROTO_UDP);
        ck_assert(q.has_ports);
        ck_assert_uint_eq(q.sport, 5000);
        ck_assert_uint_eq(q.dport, 9999);
        fzgw_packet_unnat_icmp_error(err, &ei, &q, pip.a);
        ck_assert_int_eq(memcmp(fzgw_packet_src(err, &ei), pip.a, fzgw_ip_len(pip.family)), 0);
        ck_assert_int_eq(memcmp(err + q.off, orig, pip.family == AF_INET ? 20 : 40),
                         0); /* quoted = what the client sent */
        gwt_assert_checksums(err, (size_t) k);
}

START_TEST(test_icmp_error_through_the_nat) {
        icmp_error_translates("100.72.0.2", "100.96.0.1", "10.20.0.10");
        icmp_error_translates("fd00:2021:1111::72:2", "fd00:2021:1111:8000::1", "fd00:20::10");
}
END_TEST

START_TEST(test_ip_helpers) {
        FzgwIp a, b;
        char buf[FZGW_IP_STRLEN];

        ck_assert_int_eq(fzgw_ip_parse("10.1.2.3", &a), 0);
        ck_assert_int_eq(a.family, AF_INET);
        ck_assert_str_eq(fzgw_ip_format(&a, buf), "10.1.2.3");
        ck_assert_int_eq(fzgw_ip_parse("FD00::1", &b), 0);
        ck_assert_str_eq(fzgw_ip_format(&b, buf), "fd00::1");
        ck_assert(!fzgw_ip_eq(&a, &b));
        ck_assert_int_eq(fzgw_ip_parse("10.1.2.3/32", &a), -EINVAL);
        ck_assert_int_eq(fzgw_ip_parse("", &a), -EINVAL);
        ck_assert_int_eq(fzgw_ip_parse(NULL, &a), -EINVAL);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("gw-packet");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_parse_tcp_udp_icmp);
        tcase_add_test(tc, test_parse_refuses_malformed);
        tcase_add_test(tc, test_parse_fragments_and_extension_headers);
        tcase_add_test(tc, test_set_addr_fixes_checksums);
        tcase_add_test(tc, test_icmp_prohibited);
        tcase_add_test(tc, test_icmp_error_through_the_nat);
        tcase_add_test(tc, test_ip_helpers);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(suite)
