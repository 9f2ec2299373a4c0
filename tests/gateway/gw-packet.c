/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "dp-offload.h"
#include "gw-packet.h"

#define IPV4_ICMP_ERROR_MAX   576  /* RFC 1812 §4.3.2.3 */
#define IPV6_ICMP_ERROR_MAX   1280 /* RFC 4443 §2.4(c) */
#define MAX_EXTENSION_HEADERS 8

/* ---- addresses ------------------------------------------------------------------------------ */

size_t fzgw_ip_len(int family) {
        return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

bool fzgw_ip_eq(const FzgwIp *a, const FzgwIp *b) {
        return a->family == b->family && memcmp(a->a, b->a, fzgw_ip_len(a->family)) == 0;
}

FzgwIp fzgw_ip_make(int family, const uint8_t *bytes) {
        FzgwIp ip = { .family = family };

        memcpy(ip.a, bytes, fzgw_ip_len(family));
        return ip;
}

int fzgw_ip_parse(const char *s, FzgwIp *ret) {
        FzgwIp ip = {};

        if (!s)
                return -EINVAL;
        if (inet_pton(AF_INET, s, ip.a) == 1)
                ip.family = AF_INET;
        else if (inet_pton(AF_INET6, s, ip.a) == 1)
                ip.family = AF_INET6;
        else
                return -EINVAL;
        *ret = ip;
        return 0;
}

const char *fzgw_ip_format(const FzgwIp *ip, char buf[static FZGW_IP_STRLEN]) {
        if (!inet_ntop(ip->family, ip->a, buf, FZGW_IP_STRLEN))
                strcpy(buf, "?");
        return buf;
}

/* ---- checksums ------------------------------------------------------------------------------ */

static uint16_t get16(const uint8_t *p) {
        return (uint16_t) (p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) (v >> 8);
        p[1] = (uint8_t) v;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), over the 16-bit words that change. */
static void csum_update(uint8_t *field, const uint8_t *old, const uint8_t *new, size_t n, bool udp) {
        uint32_t sum = (uint16_t) ~get16(field);

        for (size_t i = 0; i + 1 < n; i += 2) {
                sum += (uint16_t) ~get16(old + i);
                sum += get16(new + i);
        }
        while (sum >> 16)
                sum = (sum & 0xffff) + (sum >> 16);
        sum = (uint16_t) ~sum;
        if (udp && sum == 0)
                sum = 0xffff; /* 0 means "no checksum" in UDP */
        put16(field, (uint16_t) sum);
}

uint16_t fzgw_checksum(int family, const uint8_t *src, const uint8_t *dst, uint8_t proto, const uint8_t *msg,
                       size_t len, bool pseudo) {
        uint64_t sum = pseudo ? fzd_csum_pseudo(family, src, dst, proto, (uint32_t) len) : 0;

        return fzd_csum_fold(fzd_csum_add(sum, msg, len));
}

/* ---- parsing -------------------------------------------------------------------------------- */

static bool is_icmp_error(int family, uint8_t type) {
        if (family == AF_INET)
                return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
        return type < 128;
}

static bool is_icmp_echo(int family, uint8_t type) {
        return family == AF_INET ? (type == 0 || type == 8) : (type == 128 || type == 129);
}

/* The transport header at off (bytes left: n). */
static void parse_l4(const uint8_t *l4, size_t n, int family, FzgwPacket *pi) {
        switch (pi->proto) {
        case FZGW_PROTO_TCP:
                if (n >= 20) {
                        pi->has_ports = true;
                        pi->sport = get16(l4);
                        pi->dport = get16(l4 + 2);
                        pi->tcp_flags = l4[13];
                }
                return;
        case FZGW_PROTO_UDP:
                if (n >= 8) {
                        pi->has_ports = true;
                        pi->sport = get16(l4);
                        pi->dport = get16(l4 + 2);
                }
                return;
        case FZGW_PROTO_ICMP:
        case FZGW_PROTO_ICMPV6:
                if ((pi->proto == FZGW_PROTO_ICMP) != (family == AF_INET) || n < 8)
                        return;
                pi->icmp = true;
                pi->icmp_type = l4[0];
                pi->icmp_code = l4[1];
                pi->icmp_error = is_icmp_error(family, l4[0]);
                pi->icmp_echo = is_icmp_echo(family, l4[0]);
                if (pi->icmp_echo) {
                        pi->has_ports = true;
                        pi->sport = get16(l4 + 4);
                        pi->dport = 0;
                }
                return;
        default:
                return;
        }
}

/* IPv6 extension headers from *off on: the transport protocol, and whether this is a first
 * fragment. limit: bytes that may be read. */
static int walk_ipv6(const uint8_t *p, size_t limit, uint8_t next, size_t *off, uint8_t *ret_proto,
                     bool *ret_first) {
        bool first = true;

        for (unsigned i = 0; i < MAX_EXTENSION_HEADERS; i++) {
                size_t hlen;

                switch (next) {
                case 0:  /* hop-by-hop */
                case 43: /* routing */
                case 60: /* destination options */
                        if (*off + 2 > limit)
                                return -EBADMSG;
                        hlen = ((size_t) p[*off + 1] + 1) * 8;
                        break;
                case 44: /* fragment */
                        if (*off + 8 > limit)
                                return -EBADMSG;
                        hlen = 8;
                        if ((get16(p + *off + 2) >> 3) != 0)
                                first = false;
                        break;
                case 51: /* authentication header */
                        if (*off + 2 > limit)
                                return -EBADMSG;
                        hlen = ((size_t) p[*off + 1] + 2) * 4;
                        break;
                default:
                        *ret_proto = next;
                        *ret_first = first;
                        return 0;
                }
                if (*off + hlen > limit)
                        return -EBADMSG;
                next = p[*off];
                *off += hlen;
        }
        return -EBADMSG; /* more extension headers than anyone needs */
}

int fzgw_packet_parse(const uint8_t *p, size_t len, FzgwPacket *ret) {
        FzgwPacket pi = {};

        if (len < 1)
                return -EBADMSG;
        switch (p[0] >> 4) {
        case 4: {
                size_t ihl = (size_t) (p[0] & 0x0f) * 4;
                if (len < 20 || ihl < 20)
                        return -EBADMSG;
                pi.family = AF_INET;
                pi.len = get16(p + 2);
                if (pi.len < ihl || pi.len > len)
                        return -EBADMSG;
                pi.l4_off = ihl;
                pi.proto = p[9];
                pi.first_fragment = (get16(p + 6) & 0x1fff) == 0;
                break;
        }
        case 6:
                if (len < 40)
                        return -EBADMSG;
                pi.family = AF_INET6;
                pi.len = 40 + (size_t) get16(p + 4);
                if (pi.len > len)
                        return -EBADMSG;
                pi.l4_off = 40;
                if (walk_ipv6(p, pi.len, p[6], &pi.l4_off, &pi.proto, &pi.first_fragment) < 0)
                        return -EBADMSG;
                break;
        default:
                return -EBADMSG;
        }
        if (pi.first_fragment)
                parse_l4(p + pi.l4_off, pi.len - pi.l4_off, pi.family, &pi);
        *ret = pi;
        return 0;
}

FzgwIp fzgw_packet_src_ip(const uint8_t *p, const FzgwPacket *pi) {
        return fzgw_ip_make(pi->family, fzgw_packet_src(p, pi));
}

FzgwIp fzgw_packet_dst_ip(const uint8_t *p, const FzgwPacket *pi) {
        return fzgw_ip_make(pi->family, fzgw_packet_dst(p, pi));
}

/* ---- rewriting ------------------------------------------------------------------------------ */

/* Where the transport checksum that covers the addresses is, or NULL. */
static uint8_t *l4_checksum(uint8_t *p, const FzgwPacket *pi, bool *ret_udp) {
        size_t n = pi->len - pi->l4_off;
        uint8_t *l4 = p + pi->l4_off;

        *ret_udp = false;
        if (!pi->first_fragment)
                return NULL;
        switch (pi->proto) {
        case FZGW_PROTO_TCP:
                return n >= 18 ? l4 + 16 : NULL;
        case FZGW_PROTO_UDP:
                if (n < 8)
                        return NULL;
                /* IPv4 UDP without a checksum stays without one. */
                if (pi->family == AF_INET && get16(l4 + 6) == 0)
                        return NULL;
                *ret_udp = true;
                return l4 + 6;
        case FZGW_PROTO_ICMPV6:
                return pi->family == AF_INET6 && n >= 4 ? l4 + 2 : NULL;
        default:
                return NULL; /* ICMPv4's checksum does not cover the addresses */
        }
}

void fzgw_packet_set_addr(uint8_t *p, const FzgwPacket *pi, bool dst, const uint8_t *addr) {
        size_t alen = fzgw_ip_len(pi->family);
        uint8_t *field = (uint8_t *) (dst ? fzgw_packet_dst(p, pi) : fzgw_packet_src(p, pi));
        uint8_t old[16];
        uint8_t *l4sum;
        bool udp;

        if (memcmp(field, addr, alen) == 0)
                return;
        memcpy(old, field, alen);
        memcpy(field, addr, alen);
        if (pi->family == AF_INET)
                csum_update(p + 10, old, addr, 4, false);
        l4sum = l4_checksum(p, pi, &udp);
        if (l4sum)
                csum_update(l4sum, old, addr, alen, udp);
}

int fzgw_packet_quoted(const uint8_t *p, const FzgwPacket *pi, FzgwQuoted *ret) {
        size_t off = pi->l4_off + 8, end = pi->len;
        FzgwQuoted q = {};
        bool first = true;

        if (!pi->icmp_error || off >= end)
                return -EBADMSG;
        q.off = off;
        if (pi->family == AF_INET) {
                size_t ihl;
                if ((p[off] >> 4) != 4 || end - off < 20)
                        return -EBADMSG;
                ihl = (size_t) (p[off] & 0x0f) * 4;
                if (ihl < 20 || off + ihl > end)
                        return -EBADMSG;
                q.proto = p[off + 9];
                q.l4_off = off + ihl;
                first = (get16(p + off + 6) & 0x1fff) == 0;
        } else {
                if ((p[off] >> 4) != 6 || end - off < 40)
                        return -EBADMSG;
                q.l4_off = off + 40;
                if (walk_ipv6(p, end, p[off + 6], &q.l4_off, &q.proto, &first) < 0)
                        return -EBADMSG;
        }
        /* The first 8 bytes of the transport header are all an ICMP error must quote. */
        if (first && q.l4_off + 4 <= end) {
                const uint8_t *l4 = p + q.l4_off;
                if (q.proto == FZGW_PROTO_TCP || q.proto == FZGW_PROTO_UDP) {
                        q.has_ports = true;
                        q.sport = get16(l4);
                        q.dport = get16(l4 + 2);
                } else if ((q.proto == FZGW_PROTO_ICMP || q.proto == FZGW_PROTO_ICMPV6) &&
                           q.l4_off + 8 <= end && is_icmp_echo(pi->family, l4[0])) {
                        q.has_ports = true;
                        q.sport = get16(l4 + 4);
                }
        }
        *ret = q;
        return 0;
}

void fzgw_packet_unnat_icmp_error(uint8_t *p, const FzgwPacket *pi, const FzgwQuoted *q,
                                  const uint8_t *addr) {
        size_t alen = fzgw_ip_len(pi->family);
        uint8_t *inner_dst = p + q->off + (pi->family == AF_INET ? 16 : 24);
        uint8_t *icmp = p + pi->l4_off;
        size_t n = pi->len - pi->l4_off;
        uint16_t sum;

        fzgw_packet_set_addr(p, pi, false, addr);
        if (pi->family == AF_INET) {
                uint8_t old[4];
                memcpy(old, inner_dst, 4);
                memcpy(inner_dst, addr, 4);
                csum_update(p + q->off + 10, old, addr, 4, false);
        } else
                memcpy(inner_dst, addr, alen);
        put16(icmp + 2, 0);
        sum = fzgw_checksum(pi->family, fzgw_packet_src(p, pi), fzgw_packet_dst(p, pi), pi->proto, icmp, n,
                            pi->family == AF_INET6);
        memcpy(icmp + 2, &sum, 2);
}

/* ---- ICMP errors of our own ----------------------------------------------------------------- */

static bool is_one_host(int family, const uint8_t *a) {
        static const uint8_t zero[16];

        if (family == AF_INET)
                return a[0] < 224 && memcmp(a, zero, 4) != 0;
        return a[0] != 0xff && memcmp(a, zero, 16) != 0;
}

bool fzgw_packet_may_answer(const uint8_t *p, const FzgwPacket *pi) {
        return !pi->icmp_error && pi->first_fragment && is_one_host(pi->family, fzgw_packet_src(p, pi)) &&
               is_one_host(pi->family, fzgw_packet_dst(p, pi));
}

int fzgw_packet_icmp_prohibited(const uint8_t *p, const FzgwPacket *pi, uint8_t *out, size_t size) {
        size_t hdr = pi->family == AF_INET ? 20 : 40;
        size_t max = pi->family == AF_INET ? IPV4_ICMP_ERROR_MAX : IPV6_ICMP_ERROR_MAX;
        size_t quote = pi->len, total;
        uint8_t *icmp = out + hdr;
        uint16_t sum;

        if (quote > max - hdr - 8)
                quote = max - hdr - 8;
        total = hdr + 8 + quote;
        if (total > size)
                return -ENOBUFS;
        memset(out, 0, hdr + 8);
        if (pi->family == AF_INET) {
                out[0] = 0x45;
                put16(out + 2, (uint16_t) total);
                out[8] = 64;
                out[9] = FZGW_PROTO_ICMP;
                memcpy(out + 12, fzgw_packet_dst(p, pi), 4);
                memcpy(out + 16, fzgw_packet_src(p, pi), 4);
                sum = fzgw_checksum(AF_INET, NULL, NULL, 0, out, 20, false);
                memcpy(out + 10, &sum, 2);
                icmp[0] = 3;  /* destination unreachable */
                icmp[1] = 13; /* communication administratively prohibited */
        } else {
                out[0] = 0x60;
                put16(out + 4, (uint16_t) (8 + quote));
                out[6] = FZGW_PROTO_ICMPV6;
                out[7] = 64;
                memcpy(out + 8, fzgw_packet_dst(p, pi), 16);
                memcpy(out + 24, fzgw_packet_src(p, pi), 16);
                icmp[0] = 1; /* destination unreachable */
                icmp[1] = 1; /* communication with destination administratively prohibited */
        }
        memcpy(icmp + 8, p, quote);
        sum = fzgw_checksum(pi->family, out + (pi->family == AF_INET ? 12 : 8),
                            out + (pi->family == AF_INET ? 16 : 24),
                            pi->family == AF_INET ? FZGW_PROTO_ICMP : FZGW_PROTO_ICMPV6, icmp, 8 + quote,
                            pi->family == AF_INET6);
        memcpy(icmp + 2, &sum, 2);
        return (int) total;
}
