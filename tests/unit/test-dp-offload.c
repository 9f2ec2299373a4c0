/* SPDX-License-Identifier: Apache-2.0 */
/* The TUN offload code: Internet checksums against RFC 1071's example arithmetic and an
 * independent bytewise sum; splitting TCP (IPv4/IPv6) and UDP super-packets as the kernel
 * hands them to a TUN with TSO/USO; completing partial checksums; and coalescing the
 * segments back into one super-packet — checked by splitting what the coalescer wrote and
 * getting the original segments back, byte for byte. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "dp-offload.h"
#include "fz-check.h"
#include "macro.h"

/* Reference checksum: 16-bit big-endian words, the textbook way. */
static uint16_t ref_csum(const uint8_t *p, size_t len, uint32_t sum) {
        for (size_t i = 0; i + 1 < len; i += 2)
                sum += (uint32_t) (p[i] << 8 | p[i + 1]);
        if (len % 2)
                sum += (uint32_t) p[len - 1] << 8;
        while (sum >> 16)
                sum = (sum & 0xffff) + (sum >> 16);
        return (uint16_t) ~sum;
}

static uint16_t be16(const uint8_t *p) {
        return (uint16_t) (p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

START_TEST(test_checksum) {
        /* The IPv4 header of the classic example: checksum b861. */
        uint8_t ip[] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                         0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };
        uint8_t buf[1001];
        uint16_t c;

        c = fzd_csum_fold(fzd_csum_add(0, ip, sizeof ip));
        ck_assert_uint_eq(be16((uint8_t *) &c), 0xb861);
        memcpy(ip + 10, &c, 2);
        ck_assert_uint_eq(fzd_csum_fold(fzd_csum_add(0, ip, sizeof ip)), 0);

        /* Against the textbook sum for every length, odd ones included. */
        srand(7);
        for (size_t i = 0; i < sizeof buf; i++)
                buf[i] = (uint8_t) rand();
        for (size_t len = 0; len <= sizeof buf; len += (len < 70 ? 1 : 37)) {
                uint16_t got = fzd_csum_fold(fzd_csum_add(0, buf, len));
                ck_assert_msg(be16((uint8_t *) &got) == ref_csum(buf, len, 0), "length %zu", len);
        }
}
END_TEST

/* ---- building super-packets as the kernel gives them ------------------------------------------ */

static const uint8_t src4[4] = { 10, 0, 0, 1 }, dst4[4] = { 10, 0, 0, 2 };
static const uint8_t src6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
static const uint8_t dst6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 };

/* IP + TCP (with a 12-byte timestamp option) + payload; the transport checksum field holds
 * the pseudo-header sum (CHECKSUM_PARTIAL), as a TSO packet from the kernel does. */
static size_t build_tcp(uint8_t *p, int family, size_t payload, uint32_t seq, uint8_t flags) {
        size_t iph = family == AF_INET ? 20 : 40, thl = 32, len = iph + thl + payload;
        uint8_t *th = p + iph;
        uint64_t sum;
        uint16_t c;

        memset(p, 0, iph + thl);
        if (family == AF_INET) {
                p[0] = 0x45;
                p[2] = (uint8_t) (len >> 8);
                p[3] = (uint8_t) len;
                p[4] = 0x12;
                p[5] = 0x34;
                p[6] = 0x40; /* DF */
                p[8] = 64;
                p[9] = IPPROTO_TCP;
                memcpy(p + 12, src4, 4);
                memcpy(p + 16, dst4, 4);
                c = fzd_csum_fold(fzd_csum_add(0, p, 20));
                memcpy(p + 10, &c, 2);
        } else {
                p[0] = 0x60;
                p[4] = (uint8_t) ((len - 40) >> 8);
                p[5] = (uint8_t) (len - 40);
                p[6] = IPPROTO_TCP;
                p[7] = 64;
                memcpy(p + 8, src6, 16);
                memcpy(p + 24, dst6, 16);
        }
        th[0] = 0x9c;
        th[1] = 0x40; /* 40000 */
        th[2] = 0x14;
        th[3] = 0x51; /* 5201 */
        th[4] = (uint8_t) (seq >> 24);
        th[5] = (uint8_t) (seq >> 16);
        th[6] = (uint8_t) (seq >> 8);
        th[7] = (uint8_t) seq;
        th[8] = 0xaa;
        th[11] = 0x01; /* ack */
        th[12] = (uint8_t) ((thl / 4) << 4);
        th[13] = flags;
        th[14] = 0x01;
        th[20] = 1; /* NOP NOP TS */
        th[21] = 1;
        th[22] = 8;
        th[23] = 10;
        th[27] = 0x77;
        for (size_t i = 0; i < payload; i++)
                p[iph + thl + i] = (uint8_t) (i * 13 + seq);
        sum = fzd_csum_pseudo(family, family == AF_INET ? p + 12 : p + 8, family == AF_INET ? p + 16 : p + 24,
                              IPPROTO_TCP, (uint32_t) (thl + payload));
        c = (uint16_t) ~fzd_csum_fold(sum);
        memcpy(th + 16, &c, 2);
        return len;
}

static bool transport_ok(const uint8_t *p, size_t len, int family, uint8_t proto) {
        size_t iph = family == AF_INET ? (size_t) (p[0] & 15) * 4 : 40;
        uint64_t sum = fzd_csum_pseudo(family, family == AF_INET ? p + 12 : p + 8, family == AF_INET ? p + 16 : p + 24,
                                       proto, (uint32_t) (len - iph));
        return fzd_csum_fold(fzd_csum_add(sum, p + iph, len - iph)) == 0 &&
               (family != AF_INET || fzd_csum_fold(fzd_csum_add(0, p, iph)) == 0);
}

/* ---- a sink that collects segments -------------------------------------------------------------- */

typedef struct Collect {
        uint8_t bufs[80][2048];
        size_t lens[80];
        unsigned n, limit;
} Collect;

static uint8_t *c_next(void *userdata, size_t max) {
        Collect *c = userdata;
        if (c->n >= c->limit || max > sizeof c->bufs[0])
                return NULL;
        return c->bufs[c->n];
}

static void c_done(void *userdata, uint8_t *buf, size_t len) {
        Collect *c = userdata;
        ck_assert_ptr_eq(buf, c->bufs[c->n]);
        c->lens[c->n++] = len;
}

static Collect *collect(void) {
        Collect *c = calloc(1, sizeof *c);
        c->limit = 80;
        return c;
}

static FzdDpSegmentSink sink_of(Collect *c) {
        return (FzdDpSegmentSink) { .next = c_next, .done = c_done, .userdata = c };
}

static void check_tcp_split(int family) {
        static uint8_t p[70000];
        Collect *c = collect();
        FzdDpSegmentSink s = sink_of(c);
        size_t iph = family == AF_INET ? 20 : 40, mss = 1188, payload = 10 * mss + 500;
        size_t len = build_tcp(p, family, payload, 1000000, 0x18 /* ACK|PSH */);
        struct virtio_net_hdr h = {
                .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                .gso_type = family == AF_INET ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6,
                .hdr_len = (uint16_t) len, /* the kernel may say the whole linear part: not trusted */
                .gso_size = (uint16_t) mss,
                .csum_start = (uint16_t) iph,
                .csum_offset = 16,
        };

        ck_assert_int_eq(fzd_dp_split(&h, p, len, &s), 11);
        for (unsigned i = 0; i < c->n; i++) {
                const uint8_t *q = c->bufs[i], *th = q + iph;
                size_t want = i < 10 ? mss : 500;
                ck_assert_uint_eq(c->lens[i], iph + 32 + want);
                ck_assert_msg(transport_ok(q, c->lens[i], family, IPPROTO_TCP), "checksum of segment %u", i);
                ck_assert_uint_eq(be32(th + 4), 1000000 + i * mss);
                /* PSH only on the last segment */
                ck_assert_uint_eq(th[13], i < 10 ? 0x10 : 0x18);
                if (family == AF_INET) {
                        ck_assert_uint_eq(be16(q + 2), c->lens[i]);
                        ck_assert_uint_eq(be16(q + 4), 0x1234 + i);
                } else
                        ck_assert_uint_eq(be16(q + 4), c->lens[i] - 40);
                for (size_t k = 0; k < want; k++) {
                        size_t off = i * mss + k;
                        ck_assert_uint_eq(q[iph + 32 + k], (uint8_t) (off * 13 + 1000000));
                }
        }
        free(c);
}

START_TEST(test_split_tcp4) {
        check_tcp_split(AF_INET);
}
END_TEST

START_TEST(test_split_tcp6) {
        check_tcp_split(AF_INET6);
}
END_TEST

START_TEST(test_split_udp) {
        static uint8_t p[8000];
        Collect *c = collect();
        FzdDpSegmentSink s = sink_of(c);
        size_t len = 20 + 8 + 3000;
        uint16_t v;
        struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_UDP_L4,
                                    .gso_size = 1200, .csum_start = 20, .csum_offset = 6 };

        memset(p, 0, sizeof p);
        p[0] = 0x45;
        p[2] = (uint8_t) (len >> 8);
        p[3] = (uint8_t) len;
        p[8] = 64;
        p[9] = IPPROTO_UDP;
        memcpy(p + 12, src4, 4);
        memcpy(p + 16, dst4, 4);
        for (size_t i = 28; i < len; i++)
                p[i] = (uint8_t) i;
        v = (uint16_t) ~fzd_csum_fold(fzd_csum_pseudo(AF_INET, src4, dst4, IPPROTO_UDP, (uint32_t) (len - 20)));
        memcpy(p + 26, &v, 2);
        ck_assert_int_eq(fzd_dp_split(&h, p, len, &s), 3);
        for (unsigned i = 0; i < 3; i++) {
                ck_assert_uint_eq(c->lens[i], 28 + (i < 2 ? 1200 : 600));
                ck_assert_uint_eq(be16(c->bufs[i] + 24), c->lens[i] - 20); /* UDP length */
                ck_assert(transport_ok(c->bufs[i], c->lens[i], AF_INET, IPPROTO_UDP));
        }
        free(c);
}
END_TEST

START_TEST(test_partial_checksum_and_plain) {
        static uint8_t p[2000];
        Collect *c = collect();
        FzdDpSegmentSink s = sink_of(c);
        size_t len = build_tcp(p, AF_INET, 333, 5, 0x18);
        struct virtio_net_hdr partial = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 20, .csum_offset = 16 };
        struct virtio_net_hdr none = {};

        ck_assert_int_eq(fzd_dp_split(&partial, p, len, &s), 1);
        ck_assert_uint_eq(c->lens[0], len);
        ck_assert(transport_ok(c->bufs[0], len, AF_INET, IPPROTO_TCP));
        /* Plain: passed through untouched. */
        ck_assert_int_eq(fzd_dp_split(&none, c->bufs[0], len, &s), 1);
        ck_assert_mem_eq(c->bufs[1], c->bufs[0], len);
        free(c);
}
END_TEST

START_TEST(test_split_rejects) {
        static uint8_t p[4000];
        Collect *c = collect();
        FzdDpSegmentSink s = sink_of(c);
        size_t len = build_tcp(p, AF_INET, 2000, 1, 0x10);
        struct virtio_net_hdr h = { .flags = 1, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1000,
                                    .csum_start = 20, .csum_offset = 16 };
        struct virtio_net_hdr bad;

        bad = h;
        bad.gso_type = VIRTIO_NET_HDR_GSO_TCPV6; /* an IPv4 packet */
        ck_assert_int_eq(fzd_dp_split(&bad, p, len, &s), -EINVAL);
        bad = h;
        bad.csum_start = 10;
        ck_assert_int_eq(fzd_dp_split(&bad, p, len, &s), -EINVAL);
        bad = h;
        bad.csum_start = (uint16_t) (len - 4);
        ck_assert_int_eq(fzd_dp_split(&bad, p, len, &s), -EINVAL);
        bad = h;
        bad.gso_size = 0;
        ck_assert_int_eq(fzd_dp_split(&bad, p, len, &s), -EINVAL);
        bad = h;
        bad.gso_type = 9;
        ck_assert_int_eq(fzd_dp_split(&bad, p, len, &s), -EINVAL);
        bad = (struct virtio_net_hdr) { .flags = 1, .csum_start = (uint16_t) len, .csum_offset = 16 };
        ck_assert_int_eq(fzd_dp_split(&bad, p, len, &s), -EINVAL);
        ck_assert_int_eq(fzd_dp_split(&h, p, 10, &s), -EINVAL);
        p[0] = 0x55;
        ck_assert_int_eq(fzd_dp_split(&h, p, len, &s), -EINVAL);
        ck_assert_uint_eq(c->n, 0);
        /* No room: stops with what fit. */
        p[0] = 0x45;
        c->limit = 1;
        ck_assert_int_eq(fzd_dp_split(&h, p, len, &s), 1);
        free(c);
}
END_TEST

/* ---- coalescing ---------------------------------------------------------------------------------- */

typedef struct Writes {
        uint8_t data[8][70000];
        size_t len[8];
        unsigned n;
} Writes;

static ssize_t w_write(void *userdata, const struct iovec *iov, int n) {
        Writes *w = userdata;
        size_t off = 0;

        ck_assert_uint_lt(w->n, 8);
        for (int i = 0; i < n; i++) {
                memcpy(w->data[w->n] + off, iov[i].iov_base, iov[i].iov_len);
                off += iov[i].iov_len;
        }
        w->len[w->n++] = off;
        return (ssize_t) off;
}

/* Splits each write again as the kernel would, into `out`. */
static unsigned resplit(Writes *w, Collect *out) {
        FzdDpSegmentSink s = sink_of(out);

        for (unsigned i = 0; i < w->n; i++) {
                struct virtio_net_hdr h;
                memcpy(&h, w->data[i], sizeof h);
                ck_assert_int_gt(fzd_dp_split(&h, w->data[i] + sizeof h, w->len[i] - sizeof h, &s), 0);
        }
        return out->n;
}

static Collect *segments(int family, unsigned n, size_t mss, size_t last) {
        static uint8_t p[70000];
        Collect *c = collect();
        FzdDpSegmentSink s = sink_of(c);
        size_t iph = family == AF_INET ? 20 : 40;
        size_t len = build_tcp(p, family, (n - 1) * mss + last, 42, 0x18);
        struct virtio_net_hdr h = {
                .flags = 1,
                .gso_type = family == AF_INET ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6,
                .gso_size = (uint16_t) mss,
                .csum_start = (uint16_t) iph,
                .csum_offset = 16,
        };
        ck_assert_int_eq(fzd_dp_split(&h, p, len, &s), (int) n);
        return c;
}

static void check_roundtrip(int family) {
        Collect *in = segments(family, 20, 1188, 700), *out = collect();
        Writes *w = calloc(1, sizeof *w);
        FzdDpGro g;
        struct virtio_net_hdr h;

        fzd_dp_gro_init(&g, true, true, w_write, w);
        for (unsigned i = 0; i < in->n; i++) {
                static uint8_t copies[20][2048];
                memcpy(copies[i], in->bufs[i], in->lens[i]);
                fzd_dp_gro_add(&g, copies[i], in->lens[i]);
        }
        ck_assert_uint_eq(w->n, 0); /* nothing before the flush */
        fzd_dp_gro_flush(&g);
        ck_assert_uint_eq(w->n, 1);
        ck_assert_uint_eq(g.coalesced, 19);
        memcpy(&h, w->data[0], sizeof h);
        ck_assert_uint_eq(h.gso_type, family == AF_INET ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6);
        ck_assert_uint_eq(h.gso_size, 1188);
        ck_assert_uint_eq(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
        ck_assert_uint_eq(resplit(w, out), 20);
        for (unsigned i = 0; i < 20; i++) {
                ck_assert_uint_eq(out->lens[i], in->lens[i]);
                ck_assert_msg(memcmp(out->bufs[i], in->bufs[i], in->lens[i]) == 0, "segment %u differs", i);
        }
        free(in);
        free(out);
        free(w);
}

START_TEST(test_coalesce_roundtrip4) {
        check_roundtrip(AF_INET);
}
END_TEST

START_TEST(test_coalesce_roundtrip6) {
        check_roundtrip(AF_INET6);
}
END_TEST

START_TEST(test_coalesce_rules) {
        Collect *in = segments(AF_INET, 6, 1000, 1000);
        Writes *w = calloc(1, sizeof *w);
        FzdDpGro g;
        static uint8_t c[6][2048];

        for (unsigned i = 0; i < 6; i++)
                memcpy(c[i], in->bufs[i], in->lens[i]);

        /* A gap in the sequence: two writes. */
        fzd_dp_gro_init(&g, true, true, w_write, w);
        fzd_dp_gro_add(&g, c[0], in->lens[0]);
        fzd_dp_gro_add(&g, c[1], in->lens[1]);
        fzd_dp_gro_add(&g, c[3], in->lens[3]);
        fzd_dp_gro_add(&g, c[4], in->lens[4]);
        fzd_dp_gro_flush(&g);
        ck_assert_uint_eq(w->n, 2);

        /* A bad checksum: written alone, the others merged around it in order. */
        w->n = 0;
        for (unsigned i = 0; i < 6; i++)
                memcpy(c[i], in->bufs[i], in->lens[i]);
        c[2][100] ^= 1;
        fzd_dp_gro_init(&g, true, true, w_write, w);
        for (unsigned i = 0; i < 6; i++)
                fzd_dp_gro_add(&g, c[i], in->lens[i]);
        fzd_dp_gro_flush(&g);
        ck_assert_uint_eq(w->n, 3); /* [0,1] flushed before [2], then [2], then [3..5] as a new flow */
        ck_assert_uint_eq(w->len[1], sizeof(struct virtio_net_hdr) + in->lens[2]);

        /* Disabled (no TUN offloads): one write per packet, plain header. */
        w->n = 0;
        for (unsigned i = 0; i < 6; i++)
                memcpy(c[i], in->bufs[i], in->lens[i]);
        fzd_dp_gro_init(&g, true, false, w_write, w);
        for (unsigned i = 0; i < 4; i++)
                fzd_dp_gro_add(&g, c[i], in->lens[i]);
        ck_assert_uint_eq(w->n, 4);
        ck_assert_uint_eq(w->data[0][1], VIRTIO_NET_HDR_GSO_NONE);

        /* Without a virtio-net header at all: just the packets. */
        w->n = 0;
        fzd_dp_gro_init(&g, false, true, w_write, w);
        fzd_dp_gro_add(&g, c[0], in->lens[0]);
        ck_assert_uint_eq(w->n, 1);
        ck_assert_uint_eq(w->len[0], in->lens[0]);
        free(in);
        free(w);
}
END_TEST

START_TEST(test_coalesce_interleaved_flows) {
        Collect *a = segments(AF_INET, 4, 1000, 1000), *b = segments(AF_INET6, 4, 1000, 1000);
        Writes *w = calloc(1, sizeof *w);
        Collect *out = collect();
        static uint8_t ca[4][2048], cb[4][2048];
        FzdDpGro g;

        fzd_dp_gro_init(&g, true, true, w_write, w);
        for (unsigned i = 0; i < 4; i++) {
                memcpy(ca[i], a->bufs[i], a->lens[i]);
                memcpy(cb[i], b->bufs[i], b->lens[i]);
                fzd_dp_gro_add(&g, ca[i], a->lens[i]);
                fzd_dp_gro_add(&g, cb[i], b->lens[i]);
        }
        fzd_dp_gro_flush(&g);
        ck_assert_uint_eq(w->n, 2);
        ck_assert_uint_eq(resplit(w, out), 8);
        free(a);
        free(b);
        free(out);
        free(w);
}
END_TEST

START_TEST(test_ip_info) {
        uint8_t p[100] = { 0x45 };
        FzdDpIpInfo ip;

        p[3] = 60;
        ck_assert_int_eq(fzd_dp_ip_info(p, 100, &ip), 0);
        ck_assert_uint_eq(ip.total_len, 60);
        ck_assert_int_eq(ip.family, AF_INET);
        ck_assert_int_eq(fzd_dp_ip_info(p, 59, &ip), -EINVAL); /* claims more than there is */
        p[0] = 0x44;                                            /* IHL 16 < 20 */
        ck_assert_int_eq(fzd_dp_ip_info(p, 100, &ip), -EINVAL);
        memset(p, 0, sizeof p);
        p[0] = 0x60;
        p[5] = 20;
        ck_assert_int_eq(fzd_dp_ip_info(p, 100, &ip), 0);
        ck_assert_uint_eq(ip.total_len, 60);
        ck_assert_int_eq(fzd_dp_ip_info(p, 39, &ip), -EINVAL);
        p[0] = 0x70;
        ck_assert_int_eq(fzd_dp_ip_info(p, 100, &ip), -EINVAL);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("dp-offload");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_checksum);
        tcase_add_test(tc, test_split_tcp4);
        tcase_add_test(tc, test_split_tcp6);
        tcase_add_test(tc, test_split_udp);
        tcase_add_test(tc, test_partial_checksum_and_plain);
        tcase_add_test(tc, test_split_rejects);
        tcase_add_test(tc, test_coalesce_roundtrip4);
        tcase_add_test(tc, test_coalesce_roundtrip6);
        tcase_add_test(tc, test_coalesce_rules);
        tcase_add_test(tc, test_coalesce_interleaved_flows);
        tcase_add_test(tc, test_ip_info);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(suite)
