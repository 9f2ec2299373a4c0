/* SPDX-License-Identifier: Apache-2.0 */
/* Packets for the test gateway's unit tests: well-formed IPv4/IPv6 TCP, UDP and ICMP packets
 * with correct checksums, and checks that a packet's checksums are right. */
#pragma once

#include <arpa/inet.h>
#include <check.h>
#include <string.h>

#include "dp-offload.h"
#include "gw-packet.h"

static inline void gwt_put16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) (v >> 8);
        p[1] = (uint8_t) v;
}

static inline FzgwIp gwt_ip(const char *s) {
        FzgwIp ip;
        ck_assert_int_eq(fzgw_ip_parse(s, &ip), 0);
        return ip;
}

/* An IP packet of family src's from src to dst carrying proto with the given L4 bytes (whose
 * checksum field is filled in). Returns its length. */
static inline size_t gwt_packet(uint8_t *out, const char *src, const char *dst, uint8_t proto,
                                const uint8_t *l4, size_t l4len) {
        FzgwIp s = gwt_ip(src), d = gwt_ip(dst);
        size_t hdr = s.family == AF_INET ? 20 : 40;
        uint8_t *t = out + hdr;
        uint16_t sum;
        size_t off;

        memset(out, 0, hdr);
        memcpy(t, l4, l4len);
        if (s.family == AF_INET) {
                out[0] = 0x45;
                gwt_put16(out + 2, (uint16_t) (hdr + l4len));
                out[8] = 64;
                out[9] = proto;
                memcpy(out + 12, s.a, 4);
                memcpy(out + 16, d.a, 4);
                sum = fzd_csum_fold(fzd_csum_add(0, out, 20));
                memcpy(out + 10, &sum, 2);
        } else {
                out[0] = 0x60;
                gwt_put16(out + 4, (uint16_t) l4len);
                out[6] = proto;
                out[7] = 64;
                memcpy(out + 8, s.a, 16);
                memcpy(out + 24, d.a, 16);
        }
        off = proto == FZGW_PROTO_TCP ? 16 : proto == FZGW_PROTO_UDP ? 6 : 2;
        memset(t + off, 0, 2);
        sum = fzgw_checksum(s.family, s.a, d.a, proto, t, l4len, proto != FZGW_PROTO_ICMP);
        memcpy(t + off, &sum, 2);
        return hdr + l4len;
}

static inline size_t gwt_tcp(uint8_t *out, const char *src, uint16_t sport, const char *dst, uint16_t dport,
                             uint8_t flags, size_t payload) {
        uint8_t l4[1500] = {};
        gwt_put16(l4, sport);
        gwt_put16(l4 + 2, dport);
        l4[12] = 5 << 4;
        l4[13] = flags;
        for (size_t i = 0; i < payload; i++)
                l4[20 + i] = (uint8_t) i;
        return gwt_packet(out, src, dst, FZGW_PROTO_TCP, l4, 20 + payload);
}

static inline size_t gwt_udp(uint8_t *out, const char *src, uint16_t sport, const char *dst, uint16_t dport,
                             size_t payload) {
        uint8_t l4[1500] = {};
        gwt_put16(l4, sport);
        gwt_put16(l4 + 2, dport);
        gwt_put16(l4 + 4, (uint16_t) (8 + payload));
        for (size_t i = 0; i < payload; i++)
                l4[8 + i] = (uint8_t) (i * 7);
        return gwt_packet(out, src, dst, FZGW_PROTO_UDP, l4, 8 + payload);
}

/* An echo request (v4: type 8; v6: 128) with this id. */
static inline size_t gwt_echo(uint8_t *out, const char *src, const char *dst, uint16_t id) {
        bool v6 = strchr(src, ':') != NULL;
        uint8_t l4[16] = { v6 ? 128 : 8, 0 };
        gwt_put16(l4 + 4, id);
        gwt_put16(l4 + 6, 1);
        return gwt_packet(out, src, dst, v6 ? FZGW_PROTO_ICMPV6 : FZGW_PROTO_ICMP, l4, sizeof l4);
}

/* Every checksum of a packet is right: the IPv4 header's, and the TCP/UDP/ICMP one. */
static inline void gwt_assert_checksums(const uint8_t *p, size_t len) {
        FzgwPacket pi;
        uint64_t sum;
        size_t n;

        ck_assert_int_eq(fzgw_packet_parse(p, len, &pi), 0);
        if (pi.family == AF_INET)
                ck_assert_uint_eq(fzd_csum_fold(fzd_csum_add(0, p, pi.l4_off)), 0);
        n = pi.len - pi.l4_off;
        if (pi.proto == FZGW_PROTO_UDP && pi.family == AF_INET && p[pi.l4_off + 6] == 0 &&
            p[pi.l4_off + 7] == 0)
                return;
        sum = pi.proto == FZGW_PROTO_ICMP ? 0
                                          : fzd_csum_pseudo(pi.family, fzgw_packet_src(p, &pi),
                                                            fzgw_packet_dst(p, &pi), pi.proto, (uint32_t) n);
        ck_assert_uint_eq(fzd_csum_fold(fzd_csum_add(sum, p + pi.l4_off, n)), 0);
}
