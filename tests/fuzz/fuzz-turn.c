/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the TURN client fed by a hostile relay. The input is a program of operations:
 * raw datagrams from the relay's address, answers to the client's last request built from fuzz
 * bytes but signed with the right key (so that the success paths are reached, not only the
 * integrity check), the clock moving, peers added and data wrapped. Besides "no crash" and no
 * leak: the client's promises hold (a bounded number of in-flight requests and queued items, a
 * timer that is never in the past once handled, channel numbers in range). */
#include <stdlib.h>
#include <string.h>

#include "fuzz-input.h"
#include "stun.h"
#include "turn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FzdAddr server, local;
static uint8_t last[2048];
static size_t last_len;
static uint8_t key[16];

static void drain(FzdTurn *t) {
        FzdIceTransmit tx;
        FzdTurnEvent e;
        unsigned n = 0;

        while (fzd_turn_poll_transmit(t, &tx)) {
                if (!fzd_addr_eq(&tx.dest, &server) || tx.len > sizeof(last))
                        abort();
                if (tx.data[0] <= 3) {
                        memcpy(last, tx.data, tx.len);
                        last_len = tx.len;
                }
                n++;
        }
        while (fzd_turn_poll_event(t, &e))
                if (e.type == FZD_TURN_EVENT_CHANNEL_BOUND && (e.channel < 0x4000 || e.channel > 0x4fff))
                        abort();
        if (n > 300)
                abort();
}

/* An answer to the last request: its method and txid, the fuzzer's class and attributes, the
 * relay's MESSAGE-INTEGRITY. */
static size_t answer(FuzzInput *in, uint8_t *buf, size_t cap) {
        FzdStunMsg req;
        FzdStunBuilder b;
        uint8_t flags = fi_u8(in), nattrs = fi_u8(in) % 8;
        int n;

        if (!last_len || fzd_stun_parse(last, last_len, &req) < 0)
                return 0;
        fzd_stun_begin(&b, buf, cap, req.method, flags & 1 ? FZD_STUN_ERROR : FZD_STUN_SUCCESS, req.txid);
        if (flags & 1) {
                static const int codes[] = {401, 438, 437, 441, 420, 440, 486, 508, 403, 500};
                fzd_stun_put_error(&b, codes[(flags >> 1) % 10], "x");
                fzd_stun_put_str(&b, FZD_STUN_ATTR_REALM, flags & 0x40 ? "other" : "firezone");
                fzd_stun_put_str(&b, FZD_STUN_ATTR_NONCE, flags & 0x20 ? "n2" : "n1");
        } else {
                FzdAddr a = server;
                a.port = fi_u16(in);
                fzd_stun_put_xor_addr(&b, FZD_STUN_ATTR_XOR_MAPPED_ADDRESS, &a);
                if (flags & 2)
                        fzd_stun_put_xor_addr(&b, FZD_STUN_ATTR_XOR_RELAYED_ADDRESS, &a);
                if (flags & 4)
                        fzd_stun_put_u32(&b, FZD_STUN_ATTR_LIFETIME, fi_u16(in));
        }
        for (uint8_t i = 0; i < nattrs; i++) {
                size_t len;
                uint16_t type = fi_u16(in);
                const uint8_t *v = fi_bytes(in, 64, &len);
                fzd_stun_put(&b, type, v, len);
        }
        if (!(flags & 0x80))
                fzd_stun_put_integrity(&b, key, sizeof(key));
        n = fzd_stun_finish(&b);
        return n < 0 ? 0 : (size_t)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FuzzInput in = {data, size};
        FzdTurnParams p = {.username = "1700000000:x", .password = "pw", .requested_lifetime = 0};
        FzdTurn *t;
        uint64_t now = 1000000000ULL;
        uint8_t buf[4096];

        (void)fzd_addr_parse("198.51.100.1:3478", &server);
        (void)fzd_addr_parse("10.0.0.2:52625", &local);
        (void)fzd_stun_long_term_key("1700000000:x", "firezone", "pw", key);
        p.server = server;
        last_len = 0;
        if (fzd_turn_new(&p, now, &t) < 0)
                return 0;
        drain(t);
        for (unsigned steps = 0; in.n > 0 && steps < 200; steps++) {
                uint8_t op = fi_u8(&in);
                FzdAddr peer, from = server;
                const uint8_t *pl;
                size_t len;

                switch (op % 8) {
                case 0: { /* a raw datagram from the relay (or, sometimes, someone else) */
                        const uint8_t *d = fi_bytes(&in, 2048, &len);
                        if (op & 0x80)
                                from.port++;
                        memcpy(buf, d, len);
                        (void)fzd_turn_handle_input(t, now, &local, &from, buf, len, &peer, &pl, &len);
                        break;
                }
                case 1:
                case 2: /* an answer to the last request */
                        len = answer(&in, buf, sizeof(buf));
                        if (len)
                                (void)fzd_turn_handle_input(t, now, &local, &server, buf, len, &peer, &pl,
                                                            &len);
                        break;
                case 3: { /* time passes: to the next timer, or by a fuzzed amount */
                        uint64_t next = fzd_turn_poll_timeout(t);
                        if (op & 0x80 && next != UINT64_MAX && next > now)
                                now = next;
                        else
                                now += (uint64_t)fi_u16(&in) * 10000ULL;
                        fzd_turn_handle_timeout(t, now);
                        drain(t);
                        /* Nothing is left due: a timer in the past would spin the daemon's loop. */
                        if (fzd_turn_poll_timeout(t) <= now)
                                abort();
                        break;
                }
                case 4:
                        peer = server;
                        peer.port = fi_u16(&in);
                        peer.ip[3] = fi_u8(&in);
                        (void)fzd_turn_add_peer(t, &peer, now);
                        break;
                case 5: {
                        uint16_t ch;
                        const uint8_t *d = fi_bytes(&in, 1500, &len);
                        peer = server;
                        peer.port = fi_u16(&in);
                        peer.ip[3] = fi_u8(&in);
                        (void)fzd_turn_encapsulate(t, &peer, d, len, now, buf, sizeof(buf), &ch);
                        break;
                }
                case 6:
                        (void)fzd_turn_update_credentials(t, op & 0x80 ? "1800000000:y" : "1700000000:x",
                                                          "pw", now + 1000000, now);
                        break;
                case 7:
                        if (op & 0x80)
                                fzd_turn_restart(t, now);
                        else {
                                peer = server;
                                peer.port = fi_u16(&in);
                                fzd_turn_remove_peer(t, &peer);
                        }
                        break;
                }
                drain(t);
        }
        fzd_turn_free(t);
        return 0;
}
