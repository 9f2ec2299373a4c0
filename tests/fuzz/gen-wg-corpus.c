/* SPDX-License-Identifier: Apache-2.0 */
/* Writes the seed corpora of fuzz-wg-message, fuzz-wg-decrypt and fuzz-dp-offload into
 * the directory given (tests/fuzz/corpus): real handshake messages and transport data
 * from the same deterministic instances the fuzz targets set up, and super-packets as a
 * TUN with offloads hands them over. Run it again if those set-ups change:
 *   build/tests/fuzz/gen-wg-corpus tests/fuzz/corpus */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "dp-offload.h"
#include "fuzz-wg-common.h"
#include "wg-internal.h"

static const char *root;

static void put(const char *target, const char *name, uint8_t mode, const uint8_t *data, size_t len) {
        char path[4096];
        FILE *f;

        snprintf(path, sizeof path, "%s/%s", root, target);
        (void) mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
        f = fopen(path, "wb");
        if (!f || (mode != 0xff && fwrite(&mode, 1, 1, f) != 1) || fwrite(data, 1, len, f) != len)
                abort();
        fclose(f);
}

/* An IPv4 or IPv6 TCP segment (checksums right) with `payload` bytes. */
static size_t tcp_packet(uint8_t *p, int family, uint32_t seq, size_t payload, uint8_t flags, bool partial) {
        size_t iph = family == AF_INET ? 20 : 40, len = iph + 20 + payload;
        uint8_t *th = p + iph;
        uint16_t c;

        memset(p, 0, len);
        if (family == AF_INET) {
                p[0] = 0x45;
                p[2] = (uint8_t) (len >> 8);
                p[3] = (uint8_t) len;
                p[8] = 64;
                p[9] = 6;
                p[12] = 10, p[13] = 66, p[15] = 2;
                p[16] = 10, p[17] = 66, p[19] = 1;
                c = fzd_csum_fold(fzd_csum_add(0, p, 20));
                memcpy(p + 10, &c, 2);
        } else {
                p[0] = 0x60;
                p[4] = (uint8_t) ((len - 40) >> 8);
                p[5] = (uint8_t) (len - 40);
                p[6] = 6;
                p[7] = 64;
                p[8] = 0xfd, p[9] = 0x66, p[23] = 2;
                p[24] = 0xfd, p[25] = 0x66, p[39] = 1;
        }
        th[1] = 80;
        th[3] = 99;
        th[4] = (uint8_t) (seq >> 24), th[5] = (uint8_t) (seq >> 16), th[6] = (uint8_t) (seq >> 8), th[7] = (uint8_t) seq;
        th[11] = 1;
        th[12] = 0x50;
        th[13] = flags;
        th[14] = 0xff;
        for (size_t i = 0; i < payload; i++)
                th[20 + i] = (uint8_t) (i + seq);
        {
                uint64_t sum = fzd_csum_pseudo(family, family == AF_INET ? p + 12 : p + 8,
                                               family == AF_INET ? p + 16 : p + 24, 6, (uint32_t) (20 + payload));
                if (partial)
                        c = (uint16_t) ~fzd_csum_fold(sum);
                else
                        c = fzd_csum_fold(fzd_csum_add(sum, th, 20 + payload));
                memcpy(th + 16, &c, 2);
        }
        return len;
}

static void message_seeds(void) {
        FuzzSide i, r;
        FzdWgInput in;
        const uint64_t now = 1000 * FZD_WG_NSEC_PER_SEC;
        uint8_t stun[28] = { 0, 1, 0, 8, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x80, 0x22, 0, 4, 'f', 'z', 0, 0 };
        uint8_t cd[4 + 148];

        /* As fuzz-wg-message sets up: the initiator's initiation is in flight. */
        fuzz_pair(&i, &r);
        fzd_wg_peer_initiate(i.wg, i.peer, now);
        put("fuzz-wg-message", "initiation", 0x00, i.last, i.last_len);
        put("fuzz-wg-message", "initiation-mac1-fixed", 0x01, i.last, i.last_len);
        put("fuzz-wg-message", "initiation-under-load", 0x04, i.last, i.last_len);
        if (fzd_wg_handle_handshake(r.wg, i.last, i.last_len, "src", 3, now, false, &in) < 0)
                abort();
        put("fuzz-wg-message", "response", 0x02, r.last, r.last_len);
        put("fuzz-wg-message", "response-mac1-fixed", 0x03, r.last, r.last_len);
        if (fzd_wg_handle_handshake(r.wg, i.last, i.last_len, "src", 3, now + FZD_WG_NSEC_PER_SEC, true, &in) != -EAGAIN)
                abort();
        put("fuzz-wg-message", "cookie-reply", 0x02, in.reply, in.reply_len);
        put("fuzz-wg-message", "stun", 0x00, stun, sizeof stun);
        put("fuzz-wg-message", "stun-from-relay", 0x08, stun, sizeof stun);
        cd[0] = 0x40, cd[1] = 0x02, cd[2] = 0, cd[3] = 148;
        memcpy(cd + 4, i.last, 148);
        put("fuzz-wg-message", "channel-data", 0x08, cd, sizeof cd);
        fzd_wg_free(i.wg);
        fzd_wg_free(r.wg);
}

static void decrypt_seeds(void) {
        FuzzSide a, b;
        FzdWgAead *aead = fzd_wg_aead_new();
        FzdWgTimers t;
        FzdWgLimits limits;
        uint8_t key_i2r[32], key_r2i[32], pkt[1400], msg[1500], list[8000];
        size_t n, off = 0;
        FzdWgKeypair *kp;

        fuzz_pair(&a, &b);
        fuzz_session(&a, &b);
        fzd_wg_timers_default(&t);
        limits = (FzdWgLimits) { .rekey_after_time = t.rekey_after_time, .reject_after_time = t.reject_after_time,
                                 .rekey_on_rx_age = t.reject_after_time, .rekey_after_messages = t.rekey_after_messages,
                                 .reject_after_messages = t.reject_after_messages, .mtu = 1280 };
        for (int k = 0; k < 32; k++) {
                key_i2r[k] = (uint8_t) (0xa0 + k);
                key_r2i[k] = (uint8_t) (0x50 + k);
        }
        kp = fzd_wg_keypair_new(a.peer, key_i2r, key_r2i, 1, 7, true, 0, &limits);

        /* Fresh-session seeds (sealed with key_i2r). */
        n = (size_t) fzd_wg_keypair_seal(kp, aead, 1, NULL, 0, msg);
        put("fuzz-wg-decrypt", "keepalive", 0x00, msg, n);
        n = (size_t) fzd_wg_keypair_seal(kp, aead, 1, pkt, tcp_packet(pkt, AF_INET, 1000, 100, 0x18, false), msg);
        put("fuzz-wg-decrypt", "tcp4", 0x00, msg, n);
        n = (size_t) fzd_wg_keypair_seal(kp, aead, 1, pkt, tcp_packet(pkt, AF_INET6, 1000, 1200, 0x10, false), msg);
        put("fuzz-wg-decrypt", "tcp6-full", 0x00, msg, n);
        for (uint32_t s = 0; s < 5; s++) {
                n = (size_t) fzd_wg_keypair_seal(kp, aead, 1, pkt,
                                                 tcp_packet(pkt, AF_INET, 5000 + s * 1200, 1200, s == 4 ? 0x18 : 0x10, false),
                                                 msg);
                list[off++] = (uint8_t) (n >> 8);
                list[off++] = (uint8_t) n;
                memcpy(list + off, msg, n);
                off += n;
        }
        memcpy(list + off, list, 2 + n); /* and a replay of the first */
        off += 2 + n;
        put("fuzz-wg-decrypt", "segments-and-replay", 0x02, list, off);
        fzd_wg_keypair_set_send_counter(kp, t.reject_after_messages - 1);
        n = (size_t) fzd_wg_keypair_seal(kp, aead, 1, pkt, tcp_packet(pkt, AF_INET, 1, 10, 0x10, false), msg);
        put("fuzz-wg-decrypt", "last-counter", 0x00, msg, n);
        fzd_wg_keypair_unref(kp);

        /* Through the instance: what a's real session sends to b. */
        (void) fzd_wg_peer_send(a.wg, a.peer, pkt, tcp_packet(pkt, AF_INET, 77, 300, 0x18, false),
                                1001 * FZD_WG_NSEC_PER_SEC);
        put("fuzz-wg-decrypt", "instance-tcp4", 0x01, a.last, a.last_len);
        fzd_wg_aead_free(aead);
        fzd_wg_free(a.wg);
        fzd_wg_free(b.wg);
}

static void offload_seeds(void) {
        static uint8_t buf[70000];
        struct virtio_net_hdr h;
        size_t n;

        h = (struct virtio_net_hdr) { .flags = 1, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .hdr_len = 40, .gso_size = 1200,
                                      .csum_start = 20, .csum_offset = 16 };
        memcpy(buf, &h, sizeof h);
        n = tcp_packet(buf + sizeof h, AF_INET, 1, 5 * 1200 + 300, 0x18, true);
        put("fuzz-dp-offload", "tso4", 0xff, buf, sizeof h + n);
        h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
        h.csum_start = 40;
        memcpy(buf, &h, sizeof h);
        n = tcp_packet(buf + sizeof h, AF_INET6, 1, 3 * 1200, 0x10, true);
        put("fuzz-dp-offload", "tso6", 0xff, buf, sizeof h + n);
        h = (struct virtio_net_hdr) { .flags = 1, .csum_start = 20, .csum_offset = 16 };
        memcpy(buf, &h, sizeof h);
        n = tcp_packet(buf + sizeof h, AF_INET, 9, 100, 0x18, true);
        put("fuzz-dp-offload", "partial-csum", 0xff, buf, sizeof h + n);
        h = (struct virtio_net_hdr) {};
        memcpy(buf, &h, sizeof h);
        n = tcp_packet(buf + sizeof h, AF_INET, 9, 100, 0x18, false);
        put("fuzz-dp-offload", "plain", 0xff, buf, sizeof h + n);
        {
                /* USO: an IPv4 UDP super-packet */
                uint8_t *p = buf + sizeof h;
                size_t len = 28 + 2500;
                h = (struct virtio_net_hdr) { .flags = 1, .gso_type = VIRTIO_NET_HDR_GSO_UDP_L4, .gso_size = 1000,
                                              .csum_start = 20, .csum_offset = 6 };
                memcpy(buf, &h, sizeof h);
                memset(p, 0, len);
                p[0] = 0x45, p[2] = (uint8_t) (len >> 8), p[3] = (uint8_t) len, p[8] = 64, p[9] = 17;
                p[12] = 10, p[15] = 1, p[16] = 10, p[19] = 2;
                put("fuzz-dp-offload", "uso4", 0xff, buf, sizeof h + len);
        }
}

int main(int argc, char **argv) {
        if (argc != 2) {
                fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
                return 2;
        }
        root = argv[1];
        message_seeds();
        decrypt_seeds();
        offload_seeds();
        return 0;
}
