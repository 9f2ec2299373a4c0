/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the receive path of transport data, as a worker runs it — a session's
 * open (authentication, counter limits, the replay window), then the IP header check and
 * the TCP coalescer that writes to the TUN. Each input meets a fresh session with fixed
 * keys (key_i2r), so valid messages in the seed corpus (sealed with that key) decrypt,
 * and their mutations explore what follows. The first byte: bit 0 — also run it through
 * the responder instance's own decrypt (index lookup, note_rx, timers), whose session
 * comes from a deterministic handshake (fuzz_session(); gen-wg-corpus seals seeds with
 * it); the rest is the message, or with bit 1 a list of messages (2-byte length prefixes)
 * for the replay window and the coalescer. Promise checked: what opens reseals to the
 * same bytes. */
#include <stdlib.h>

#include "dp-offload.h"
#include "fuzz-wg-common.h"
#include "wg-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FuzzSide a, b;
static FzdWgAead *aead;
static FzdWgLimits limits;
static uint8_t key_i2r[32], key_r2i[32];
static size_t writes;

static ssize_t count_write(void *userdata, const struct iovec *iov, int n) {
        size_t total = 0;
        for (int i = 0; i < n; i++)
                total += iov[i].iov_len;
        writes++;
        return (ssize_t) total;
}

static void setup(void) {
        FzdWgTimers t;

        fuzz_pair(&a, &b);
        fuzz_session(&a, &b);
        aead = fzd_wg_aead_new();
        fzd_wg_timers_default(&t);
        limits = (FzdWgLimits) { .rekey_after_time = t.rekey_after_time, .reject_after_time = t.reject_after_time,
                                 .rekey_on_rx_age = t.reject_after_time, .rekey_after_messages = t.rekey_after_messages,
                                 .reject_after_messages = t.reject_after_messages, .mtu = 1280 };
        for (int i = 0; i < 32; i++) {
                key_i2r[i] = (uint8_t) (0xa0 + i);
                key_r2i[i] = (uint8_t) (0x50 + i);
        }
}

static void one(FzdWgKeypair *kp, FzdDpGro *gro, uint8_t *msg, size_t len, bool through_instance) {
        static uint8_t copy[70000];
        FzdDpIpInfo ip;
        ssize_t n;

        memcpy(copy, msg, len);
        n = fzd_wg_keypair_open(kp, aead, 1, msg, len, msg + FZD_WG_DATA_HEADER_LEN);
        if (n >= 0) {
                /* It authenticated: sealing that plaintext with the sender's key and counter
                 * gives the same bytes (when no padding would be added). */
                if (n % 16 == 0 || (size_t) n >= limits.mtu) {
                        static uint8_t again[70000];
                        FzdWgKeypair *tx = fzd_wg_keypair_new(a.peer, key_i2r, key_r2i, 1, fzd_wg_le32(copy + 4), true,
                                                              0, &limits);
                        fzd_wg_keypair_set_send_counter(tx, fzd_wg_le64(copy + 8));
                        if (fzd_wg_keypair_seal(tx, aead, 1, msg + FZD_WG_DATA_HEADER_LEN, (size_t) n, again) !=
                                    (ssize_t) len ||
                            memcmp(again, copy, len) != 0)
                                abort();
                        fzd_wg_keypair_unref(tx);
                }
                if (n > 0 && fzd_dp_ip_info(msg + FZD_WG_DATA_HEADER_LEN, (size_t) n, &ip) == 0)
                        fzd_dp_gro_add(gro, msg + FZD_WG_DATA_HEADER_LEN, ip.total_len);
        }
        if (through_instance) {
                uint8_t out[2048];
                FzdWgPeer *p = NULL;
                if (len <= sizeof out + 32 && fzd_wg_decrypt(b.wg, copy, len, 1, out, &p) >= 0)
                        fzd_wg_peer_unref(p);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static bool ready;
        static uint8_t buf[70000];
        FzdWgKeypair *kp;
        FzdDpGro gro;

        if (!ready) {
                setup();
                ready = true;
        }
        if (size < 1 || size - 1 > sizeof buf)
                return 0;
        /* The receiving side of a session whose sender sealed with key_r2i... as the
         * responder receives from the initiator: recv key i2r. */
        kp = fzd_wg_keypair_new(b.peer, key_r2i, key_i2r, 1, 7, false, 0, &limits);
        fzd_dp_gro_init(&gro, true, true, count_write, NULL);
        memcpy(buf, data + 1, size - 1);
        if (!(data[0] & 2)) {
                if (fzd_wg_message_type(buf, size - 1) == FZD_WG_MSG_DATA)
                        one(kp, &gro, buf, size - 1, data[0] & 1);
        } else {
                size_t off = 0;
                while (off + 2 <= size - 1) {
                        size_t len = (size_t) (buf[off] << 8 | buf[off + 1]);
                        off += 2;
                        if (len > size - 1 - off)
                                break;
                        if (fzd_wg_message_type(buf + off, len) == FZD_WG_MSG_DATA)
                                one(kp, &gro, buf + off, len, data[0] & 1);
                        off += len;
                }
        }
        fzd_dp_gro_flush(&gro);
        fzd_wg_keypair_unref(kp);
        return 0;
}
