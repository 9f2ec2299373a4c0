/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "dp-offload.h"

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_CWR 0x80

static uint16_t be16(const uint8_t *p) {
        return (uint16_t) (p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static void put_be16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) (v >> 8);
        p[1] = (uint8_t) v;
}

static void put_be32(uint8_t *p, uint32_t v) {
        put_be16(p, (uint16_t) (v >> 16));
        put_be16(p + 2, (uint16_t) v);
}

/* ---- checksums: summed in native byte order, which RFC 1071 §2(B) allows as long as the
 * result is stored back the same way ---------------------------------------------------- */

uint64_t fzd_csum_add(uint64_t sum, const void *data, size_t len) {
        const uint8_t *b = data;

        while (len >= 16) {
                uint32_t w[4];
                memcpy(w, b, sizeof w);
                sum += (uint64_t) w[0] + w[1] + w[2] + w[3];
                b += 16;
                len -= 16;
        }
        while (len >= 4) {
                uint32_t w;
                memcpy(&w, b, 4);
                sum += w;
                b += 4;
                len -= 4;
        }
        if (len >= 2) {
                uint16_t w;
                memcpy(&w, b, 2);
                sum += w;
                b += 2;
                len -= 2;
        }
        if (len) {
                uint8_t t[2] = { b[0], 0 };
                uint16_t w;
                memcpy(&w, t, 2);
                sum += w;
        }
        return sum;
}

uint16_t fzd_csum_fold(uint64_t sum) {
        sum = (sum & 0xffffffffu) + (sum >> 32);
        sum = (sum & 0xffffffffu) + (sum >> 32);
        sum = (sum & 0xffffu) + (sum >> 16);
        sum = (sum & 0xffffu) + (sum >> 16);
        sum = (sum & 0xffffu) + (sum >> 16);
        return (uint16_t) ~sum;
}

uint64_t fzd_csum_pseudo(int family, const uint8_t *src, const uint8_t *dst, uint8_t proto, uint32_t len) {
        size_t alen = family == AF_INET ? 4 : 16;
        uint64_t sum = fzd_csum_add(0, src, alen);

        sum = fzd_csum_add(sum, dst, alen);
        sum += htons(proto);
        sum += htons((uint16_t) (len >> 16));
        sum += htons((uint16_t) len);
        return sum;
}

static void store_csum(uint8_t *field, uint16_t v) {
        memcpy(field, &v, 2);
}

int fzd_dp_ip_info(const uint8_t *p, size_t len, FzdDpIpInfo *ret) {
        if (len < 1)
                return -EINVAL;
        switch (p[0] >> 4) {
        case 4: {
                size_t ihl = (size_t) (p[0] & 0x0f) * 4, total;
                if (len < 20 || ihl < 20 || ihl > len)
                        return -EINVAL;
                total = be16(p + 2);
                if (total < ihl || total > len)
                        return -EINVAL;
                *ret = (FzdDpIpInfo) { .family = AF_INET, .src = p + 12, .dst = p + 16, .total_len = total };
                return 0;
        }
        case 6: {
                size_t total;
                if (len < 40)
                        return -EINVAL;
                total = 40 + (size_t) be16(p + 4);
                if (total > len)
                        return -EINVAL;
                *ret = (FzdDpIpInfo) { .family = AF_INET6, .src = p + 8, .dst = p + 24, .total_len = total };
                return 0;
        }
        default:
                return -EINVAL;
        }
}

/* ---- splitting ------------------------------------------------------------------------------- */

static void ipv4_header_checksum(uint8_t *ip, size_t ihl) {
        ip[10] = ip[11] = 0;
        store_csum(ip + 10, fzd_csum_fold(fzd_csum_add(0, ip, ihl)));
}

static int emit_copy(const FzdDpSegmentSink *sink, const uint8_t *p, size_t len) {
        uint8_t *buf = sink->next(sink->userdata, len);

        if (!buf)
                return -ENOBUFS;
        memcpy(buf, p, len);
        sink->done(sink->userdata, buf, len);
        return 1;
}

int fzd_dp_split(const struct virtio_net_hdr *h, uint8_t *p, size_t len, const FzdDpSegmentSink *sink) {
        unsigned gso = h->gso_type & (uint8_t) ~VIRTIO_NET_HDR_GSO_ECN;
        size_t cs = h->csum_start, co = h->csum_offset, hdr_len, gso_size = h->gso_size, off;
        bool tcp;
        uint32_t seq = 0;
        int family, n = 0;
        uint8_t proto;

        if (len < 1 || len > FZD_DP_MAX_PACKET + 1)
                return -EINVAL;
        family = (p[0] >> 4) == 4 ? AF_INET : (p[0] >> 4) == 6 ? AF_INET6 : AF_UNSPEC;
        if (family == AF_UNSPEC)
                return -EINVAL;

        if (gso == VIRTIO_NET_HDR_GSO_NONE) {
                if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
                        /* The field holds the pseudo-header sum; add the rest. */
                        uint16_t init;
                        if (cs >= len || co + 2 > len - cs)
                                return -EINVAL;
                        memcpy(&init, p + cs + co, 2);
                        p[cs + co] = p[cs + co + 1] = 0;
                        store_csum(p + cs + co, fzd_csum_fold(fzd_csum_add(init, p + cs, len - cs)));
                }
                return emit_copy(sink, p, len);
        }

        switch (gso) {
        case VIRTIO_NET_HDR_GSO_TCPV4:
                tcp = true;
                if (family != AF_INET)
                        return -EINVAL;
                break;
        case VIRTIO_NET_HDR_GSO_TCPV6:
                tcp = true;
                if (family != AF_INET6)
                        return -EINVAL;
                break;
        case VIRTIO_NET_HDR_GSO_UDP_L4:
                tcp = false;
                break;
        default:
                return -EINVAL;
        }
        /* csum_start is where the transport header begins (the IP header's length, options
         * or extension headers included); hdr_len is recomputed from the transport header,
         * as the kernel may report the whole linear part there. */
        if (family == AF_INET ? cs < (size_t) (p[0] & 0x0f) * 4 || cs < 20 : cs < 40)
                return -EINVAL;
        if (cs + 20 > len)
                return -EINVAL;
        if (tcp) {
                size_t thl = (size_t) (p[cs + 12] >> 4) * 4;
                if (thl < 20 || co != 16)
                        return -EINVAL;
                hdr_len = cs + thl;
                seq = be32(p + cs + 4);
                proto = IPPROTO_TCP;
        } else {
                if (co != 6)
                        return -EINVAL;
                hdr_len = cs + 8;
                proto = IPPROTO_UDP;
        }
        if (hdr_len > len || gso_size == 0)
                return -EINVAL;
        if (hdr_len == len) /* headers only: nothing to split */
                return emit_copy(sink, p, len);

        for (off = hdr_len; off < len; off += gso_size, n++) {
                size_t payload = len - off < gso_size ? len - off : gso_size, seg_len = hdr_len + payload;
                bool last = off + payload == len;
                uint8_t *buf = sink->next(sink->userdata, seg_len), *th;
                uint64_t sum;

                if (!buf)
                        return n > 0 ? n : -ENOBUFS;
                memcpy(buf, p, hdr_len);
                memcpy(buf + hdr_len, p + off, payload);
                if (family == AF_INET) {
                        put_be16(buf + 4, (uint16_t) (be16(p + 4) + n)); /* IP ID: one per segment */
                        put_be16(buf + 2, (uint16_t) seg_len);
                        ipv4_header_checksum(buf, cs);
                } else
                        put_be16(buf + 4, (uint16_t) (seg_len - 40));
                th = buf + cs;
                if (tcp) {
                        put_be32(th + 4, seq + (uint32_t) (off - hdr_len));
                        if (!last)
                                th[13] &= (uint8_t) ~(TCP_FIN | TCP_PSH);
                        if (n > 0)
                                th[13] &= (uint8_t) ~TCP_CWR;
                } else
                        put_be16(th + 4, (uint16_t) (seg_len - cs));
                th[co] = th[co + 1] = 0;
                sum = fzd_csum_pseudo(family, family == AF_INET ? buf + 12 : buf + 8,
                                      family == AF_INET ? buf + 16 : buf + 24, proto, (uint32_t) (seg_len - cs));
                store_csum(th + co, fzd_csum_fold(fzd_csum_add(sum, th, seg_len - cs)));
                sink->done(sink->userdata, buf, seg_len);
        }
        return n;
}

/* ---- coalescing --------------------------------------------------------------------------------- */

void fzd_dp_gro_init(FzdDpGro *g, bool vnet, bool enabled, FzdDpWriteFn write, void *userdata) {
        *g = (FzdDpGro) { .write = write, .userdata = userdata, .vnet = vnet, .enabled = enabled && vnet };
}

static void write_iov(FzdDpGro *g, struct iovec *iov, int n, unsigned packets) {
        /* Without a virtio-net header, iov[0] (an empty header) is skipped. */
        if (!g->vnet) {
                iov++;
                n--;
        }
        if (g->write(g->userdata, iov, n) < 0)
                g->write_errors++;
        g->writes++;
        g->packets += packets;
}

static void write_single(FzdDpGro *g, uint8_t *p, size_t len) {
        struct virtio_net_hdr h = {};
        struct iovec iov[2] = {
                { .iov_base = &h, .iov_len = sizeof h },
                { .iov_base = p, .iov_len = len },
        };
        write_iov(g, iov, 2, 1);
}

static void flow_write(FzdDpGro *g, FzdDpGroFlow *f) {
        uint8_t *p = f->head, *th;
        size_t iph = f->family == AF_INET ? 20 : 40;

        if (f->n == 1) {
                write_single(g, p, f->iov[1].iov_len);
                return;
        }
        if (f->family == AF_INET) {
                put_be16(p + 2, (uint16_t) f->total);
                ipv4_header_checksum(p, iph);
        } else
                put_be16(p + 4, (uint16_t) (f->total - iph));
        th = p + iph;
        if (f->psh)
                th[13] |= TCP_PSH;
        /* CHECKSUM_PARTIAL: the field holds the (uncomplemented) pseudo-header sum; the
         * kernel adds the rest when it segments or delivers. */
        th[16] = th[17] = 0;
        store_csum(th + 16, (uint16_t) ~fzd_csum_fold(fzd_csum_pseudo(f->family, f->family == AF_INET ? p + 12 : p + 8,
                                                                        f->family == AF_INET ? p + 16 : p + 24,
                                                                        IPPROTO_TCP, (uint32_t) (f->total - iph))));
        f->vnet = (struct virtio_net_hdr) {
                .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                .gso_type = f->family == AF_INET ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6,
                .hdr_len = (uint16_t) f->hdr_len,
                .gso_size = (uint16_t) f->gso_size,
                .csum_start = (uint16_t) iph,
                .csum_offset = 16,
        };
        f->iov[0] = (struct iovec) { .iov_base = &f->vnet, .iov_len = sizeof f->vnet };
        write_iov(g, f->iov, (int) f->n + 1, f->n);
        g->coalesced += f->n - 1;
}

static void flow_flush_at(FzdDpGro *g, unsigned i) {
        flow_write(g, &g->flows[i]);
        memmove(&g->flows[i], &g->flows[i + 1], sizeof g->flows[0] * (g->n_flows - i - 1));
        g->n_flows--;
}

void fzd_dp_gro_flush(FzdDpGro *g) {
        for (unsigned i = 0; i < g->n_flows; i++)
                flow_write(g, &g->flows[i]);
        g->n_flows = 0;
}

/* Same connection, same ACK, same IP header fields that GRO would keep, same TCP options. */
static bool same_flow(const FzdDpGroFlow *f, const uint8_t *p, size_t iph, size_t thl) {
        const uint8_t *h = f->head;

        if (f->family != (iph == 20 ? AF_INET : AF_INET6) || f->hdr_len != iph + thl)
                return false;
        if (iph == 20) {
                if (memcmp(h + 12, p + 12, 8) != 0 || h[1] != p[1] || h[8] != p[8] || (h[6] & 0x40) != (p[6] & 0x40))
                        return false;
        } else if (memcmp(h + 8, p + 8, 32) != 0 || memcmp(h, p, 4) != 0 || h[7] != p[7])
                return false;
        /* ports, then ack number, then options */
        return memcmp(h + iph, p + iph, 4) == 0 && memcmp(h + iph + 8, p + iph + 8, 4) == 0 &&
               memcmp(h + iph + 20, p + iph + 20, thl - 20) == 0;
}

static bool same_connection(const FzdDpGroFlow *f, const uint8_t *p, size_t iph) {
        const uint8_t *h = f->head;

        if (f->family != (iph == 20 ? AF_INET : AF_INET6))
                return false;
        return (iph == 20 ? memcmp(h + 12, p + 12, 8) == 0 : memcmp(h + 8, p + 8, 32) == 0) &&
               memcmp(h + iph, p + iph, 4) == 0;
}

/* A TCP packet GRO may merge: no IP options or extension headers, not a fragment, flags
 * ACK or ACK|PSH, some payload, a correct checksum (merging would hide a bad one). */
static bool coalescable(const uint8_t *p, size_t len, size_t *ret_iph, size_t *ret_thl) {
        size_t iph, thl;
        const uint8_t *th;
        int family;

        if ((p[0] >> 4) == 4) {
                if (p[0] != 0x45 || p[9] != IPPROTO_TCP || (be16(p + 6) & 0x3fff) != 0)
                        return false;
                iph = 20;
                family = AF_INET;
        } else if ((p[0] >> 4) == 6) {
                if (p[6] != IPPROTO_TCP)
                        return false;
                iph = 40;
                family = AF_INET6;
        } else
                return false;
        if (len < iph + 20)
                return false;
        th = p + iph;
        thl = (size_t) (th[12] >> 4) * 4;
        if (thl < 20 || iph + thl >= len)
                return false;
        if (th[13] != TCP_ACK && th[13] != (TCP_ACK | TCP_PSH))
                return false;
        if (fzd_csum_fold(fzd_csum_add(fzd_csum_pseudo(family, family == AF_INET ? p + 12 : p + 8,
                                                       family == AF_INET ? p + 16 : p + 24, IPPROTO_TCP,
                                                       (uint32_t) (len - iph)),
                                       th, len - iph)) != 0)
                return false;
        *ret_iph = iph;
        *ret_thl = thl;
        return true;
}

void fzd_dp_gro_add(FzdDpGro *g, uint8_t *p, size_t len) {
        size_t iph, thl, payload;
        FzdDpGroFlow *f;
        uint32_t seq;
        bool psh;

        if (!g->enabled || len > FZD_DP_MAX_PACKET || !coalescable(p, len, &iph, &thl)) {
                /* Keep order within a connection: what is pending for it goes first. */
                if (g->enabled && len >= 40 && ((p[0] >> 4) == 4 || (p[0] >> 4) == 6)) {
                        size_t h = (p[0] >> 4) == 4 ? (size_t) (p[0] & 0x0f) * 4 : 40;
                        for (unsigned i = 0; h + 4 <= len && i < g->n_flows; i++)
                                if (same_connection(&g->flows[i], p, h)) {
                                        flow_flush_at(g, i);
                                        break;
                                }
                }
                write_single(g, p, len);
                return;
        }
        payload = len - iph - thl;
        seq = be32(p + iph + 4);
        psh = p[iph + 13] & TCP_PSH;

        for (unsigned i = 0; i < g->n_flows; i++) {
                f = &g->flows[i];
                if (!same_connection(f, p, iph))
                        continue;
                if (same_flow(f, p, iph, thl) && !f->closed && seq == f->next_seq && payload <= f->gso_size &&
                    f->n < FZD_DP_GRO_SEGMENTS && f->total + payload <= FZD_DP_MAX_PACKET) {
                        f->iov[f->n + 1] = (struct iovec) { .iov_base = p + iph + thl, .iov_len = payload };
                        f->n++;
                        f->total += payload;
                        f->next_seq += (uint32_t) payload;
                        f->closed = payload < f->gso_size || psh;
                        f->psh = psh;
                        return;
                }
                flow_flush_at(g, i);
                break;
        }

        if (g->n_flows == FZD_DP_GRO_FLOWS)
                flow_flush_at(g, 0);
        f = &g->flows[g->n_flows++];
        *f = (FzdDpGroFlow) {
                .head = p,
                .hdr_len = iph + thl,
                .gso_size = payload,
                .total = len,
                .next_seq = seq + (uint32_t) payload,
                .family = iph == 20 ? AF_INET : AF_INET6,
                .closed = psh,
                .psh = psh,
                .n = 1,
        };
        f->iov[1] = (struct iovec) { .iov_base = p, .iov_len = len };
}
