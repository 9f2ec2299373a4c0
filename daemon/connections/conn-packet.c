/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "conn-packet.h"
#include "dp-offload.h"

static uint16_t be16(const uint8_t *p) {
        return (uint16_t) (p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) (v >> 8);
        p[1] = (uint8_t) v;
}

static void transport(FzdPacketInfo *pi, const uint8_t *p, size_t avail, bool first_fragment) {
        if (first_fragment && (pi->proto == FZD_PROTO_TCP || pi->proto == FZD_PROTO_UDP) && avail >= 4) {
                pi->has_ports = true;
                pi->sport = be16(p);
                pi->dport = be16(p + 2);
        }
}

int fzd_packet_parse(const uint8_t *p, size_t len, FzdPacketInfo *ret) {
        FzdPacketInfo pi = {};

        if (len < 1)
                return -EINVAL;
        if (p[0] >> 4 == 4) {
                size_t ihl = (size_t) (p[0] & 0x0f) * 4, total;
                if (len < 20 || ihl < 20 || ihl > len)
                        return -EINVAL;
                total = be16(p + 2);
                if (total < ihl || total > len)
                        return -EINVAL;
                pi.family = AF_INET;
                memcpy(pi.src, p + 12, 4);
                memcpy(pi.dst, p + 16, 4);
                pi.proto = p[9];
                pi.total_len = total;
                transport(&pi, p + ihl, total - ihl, (be16(p + 6) & 0x1fff) == 0);
        } else if (p[0] >> 4 == 6) {
                size_t total, off = 40;
                uint8_t next;
                bool first = true;

                if (len < 40)
                        return -EINVAL;
                total = 40 + (size_t) be16(p + 4);
                if (total > len)
                        return -EINVAL;
                pi.family = AF_INET6;
                memcpy(pi.src, p + 8, 16);
                memcpy(pi.dst, p + 24, 16);
                pi.total_len = total;
                next = p[6];
                /* Walk the extension headers (at most 8: a packet with more is odd enough). */
                for (unsigned i = 0; i < 8; i++) {
                        if (next == 0 || next == 43 || next == 60) { /* hop-by-hop, routing, destination */
                                if (off + 8 > total)
                                        return -EINVAL;
                                next = p[off];
                                off += 8 + (size_t) p[off + 1] * 8;
                        } else if (next == 44) { /* fragment */
                                if (off + 8 > total)
                                        return -EINVAL;
                                first = (be16(p + off + 2) & 0xfff8) == 0;
                                next = p[off];
                                off += 8;
                        } else
                                break;
                }
                if (off > total)
                        return -EINVAL;
                pi.proto = next;
                transport(&pi, p + off, total - off, first);
        } else
                return -EINVAL;
        *ret = pi;
        return 0;
}

static bool is_icmp_error(const FzdPacketInfo *pi, const uint8_t *transport_hdr, size_t avail) {
        if (avail < 1)
                return false;
        if (pi->proto == FZD_PROTO_ICMP)
                return transport_hdr[0] != 0 && transport_hdr[0] != 8; /* not an echo reply/request */
        if (pi->proto == FZD_PROTO_ICMPV6)
                return transport_hdr[0] < 128; /* 0–127 are errors */
        return false;
}

ssize_t fzd_packet_icmp_prohibited(const uint8_t *p, size_t len, uint8_t *out, size_t size) {
        FzdPacketInfo pi;
        size_t hdr, quote, n;
        uint64_t sum;

        if (size < 1280 || fzd_packet_parse(p, len, &pi) < 0)
                return -EINVAL;
        hdr = pi.family == AF_INET ? (size_t) (p[0] & 0x0f) * 4 : 40;
        if (pi.total_len >= hdr && is_icmp_error(&pi, p + hdr, pi.total_len - hdr))
                return -EINVAL;

        if (pi.family == AF_INET) {
                quote = pi.total_len < 576 - 28 ? pi.total_len : 576 - 28;
                n = 28 + quote;
                memset(out, 0, 28);
                out[0] = 0x45;
                put16(out + 2, (uint16_t) n);
                out[8] = 64; /* TTL */
                out[9] = FZD_PROTO_ICMP;
                memcpy(out + 12, pi.dst, 4);
                memcpy(out + 16, pi.src, 4);
                sum = fzd_csum_add(0, out, 20);
                memcpy(out + 10, &(uint16_t) { fzd_csum_fold(sum) }, 2);
                out[20] = 3;  /* destination unreachable */
                out[21] = 13; /* communication administratively prohibited */
                memcpy(out + 28, p, quote);
                sum = fzd_csum_add(0, out + 20, 8 + quote);
                memcpy(out + 22, &(uint16_t) { fzd_csum_fold(sum) }, 2);
                return (ssize_t) n;
        }
        quote = pi.total_len < 1280 - 48 ? pi.total_len : 1280 - 48;
        n = 48 + quote;
        memset(out, 0, 48);
        out[0] = 0x60;
        put16(out + 4, (uint16_t) (8 + quote));
        out[6] = FZD_PROTO_ICMPV6;
        out[7] = 64; /* hop limit */
        memcpy(out + 8, pi.dst, 16);
        memcpy(out + 24, pi.src, 16);
        out[40] = 1; /* destination unreachable */
        out[41] = 1; /* communication with destination administratively prohibited */
        memcpy(out + 48, p, quote);
        sum = fzd_csum_pseudo(AF_INET6, out + 8, out + 24, FZD_PROTO_ICMPV6, (uint32_t) (8 + quote));
        sum = fzd_csum_add(sum, out + 40, 8 + quote);
        memcpy(out + 42, &(uint16_t) { fzd_csum_fold(sum) }, 2);
        return (ssize_t) n;
}

ssize_t fzd_p2p_build(uint8_t event, const char *payload, size_t payload_len, uint8_t *out, size_t size) {
        if (payload_len > FZD_P2P_PAYLOAD_MAX || FZD_P2P_HEADER_LEN + payload_len > size)
                return -EMSGSIZE;
        memset(out, 0, FZD_P2P_HEADER_LEN);
        out[0] = 0x60;
        put16(out + 4, (uint16_t) (8 + payload_len));
        out[6] = 0xff; /* next header: reserved, ours */
        out[7] = 0;    /* hop limit 0: never forwarded */
        out[40] = event;
        memcpy(out + FZD_P2P_HEADER_LEN, payload, payload_len);
        return (ssize_t) (FZD_P2P_HEADER_LEN + payload_len);
}

int fzd_p2p_parse(const uint8_t *p, size_t len, uint8_t *ret_event, const uint8_t **ret_payload,
                  size_t *ret_payload_len) {
        size_t total;

        if (len < FZD_P2P_HEADER_LEN || p[0] >> 4 != 6 || p[6] != 0xff)
                return -EBADMSG;
        total = 40 + (size_t) be16(p + 4);
        if (total < FZD_P2P_HEADER_LEN || total > len)
                return -EBADMSG;
        *ret_event = p[40];
        *ret_payload = p + FZD_P2P_HEADER_LEN;
        *ret_payload_len = total - FZD_P2P_HEADER_LEN;
        return 0;
}
