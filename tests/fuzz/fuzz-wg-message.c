/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: WireGuard handshake messages and the socket's demultiplexer. The first
 * byte chooses: bit 0 — recompute mac1 (so mutations reach the Noise decryption instead of
 * stopping at the MAC), bit 1 — deliver to the initiator (which has a handshake in flight,
 * so responses and cookie replies find their index) rather than the responder, bit 2 —
 * "under load" (mac2, cookie replies, rate limit), bit 3 — the datagram came from a relay.
 * The rest is the datagram. Promises checked besides "no crash": a message that is not a
 * handshake message by type and length is refused with -EPROTO, and nothing is processed
 * without a valid mac1. */
#include <stdlib.h>

#include "dp-classify.h"
#include "fuzz-wg-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FuzzSide initiator, responder;
static uint64_t now = 1000 * FZD_WG_NSEC_PER_SEC;
static uint8_t mac1_key_r[32], mac1_key_i[32];

static bool bound(const void *userdata, uint16_t channel) {
        return channel % 2 == 0;
}

static void setup(void) {
        fuzz_pair(&initiator, &responder);
        /* The initiator has an initiation in flight: its index is in the table. */
        fzd_wg_peer_initiate(initiator.wg, initiator.peer, now);
        fzd_wg_hash(mac1_key_r, "mac1----", 8, fzd_wg_public_key(responder.wg), 32);
        fzd_wg_hash(mac1_key_i, "mac1----", 8, fzd_wg_public_key(initiator.wg), 32);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static bool ready;
        uint8_t msg[2048];
        FzdWgInput in;
        FuzzSide *to;
        size_t len;
        int type, r;

        if (!ready) {
                setup();
                ready = true;
        }
        if (size < 1 || size - 1 > sizeof msg)
                return 0;
        len = size - 1;
        memcpy(msg, data + 1, len);
        to = data[0] & 2 ? &initiator : &responder;
        type = fzd_wg_message_type(msg, len);
        if (data[0] & 1) {
                const uint8_t *key = to == &responder ? mac1_key_r : mac1_key_i;
                if (type == FZD_WG_MSG_INITIATION)
                        fzd_wg_mac(msg + FZD_WG_INITIATION_MAC1, key, 32, msg, FZD_WG_INITIATION_MAC1);
                else if (type == FZD_WG_MSG_RESPONSE)
                        fzd_wg_mac(msg + FZD_WG_RESPONSE_MAC1, key, 32, msg, FZD_WG_RESPONSE_MAC1);
        }

        now += FZD_WG_NSEC_PER_SEC / 10;
        r = fzd_wg_handle_handshake(to->wg, msg, len, "src", 3, now, data[0] & 4, &in);
        if (type != FZD_WG_MSG_INITIATION && type != FZD_WG_MSG_RESPONSE && type != FZD_WG_MSG_COOKIE_REPLY &&
            r != -EPROTO)
                abort();
        if (r == 0 && type != FZD_WG_MSG_COOKIE_REPLY && !in.authenticated)
                abort();
        if (in.reply_len > sizeof in.reply)
                abort();
        (void) fzd_wg_tick(to->wg, now);

        {
                FzdDpRelayView view = { .from_relay = data[0] & 8, .channel_bound = bound };
                FzdDpClassified c = fzd_dp_classify(msg, len, &view);
                if (c.offset + c.len > len)
                        abort();
        }
        return 0;
}
