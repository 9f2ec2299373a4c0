/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Demultiplexing one UDP datagram on the shared socket, in DESIGN §7.3's order:
 *   1. from a relay (its address and port) with first byte 0–3: a TURN/STUN response
 *      → control; first byte 64–79: ChannelData — unwrapped if the channel is bound
 *      (the inner payload is classified again, as if it came from the peer behind the
 *      channel), else → control;
 *   2. other STUN (first byte 0–3, the magic cookie at 4..7) → control (ICE);
 *   3. WireGuard: transport data → the fast path; handshake and cookie messages →
 *      control; anything else is dropped.
 * Pure: the relay table is passed in. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum FzdDpClass {
        FZD_DP_DROP,          /* not ours: malformed or unknown */
        FZD_DP_WG_DATA,       /* WireGuard transport data: the fast path */
        FZD_DP_WG_HANDSHAKE,  /* WireGuard initiation, response or cookie reply */
        FZD_DP_TURN,          /* a relay's TURN/STUN message */
        FZD_DP_STUN,          /* STUN from anyone else (ICE connectivity checks) */
        FZD_DP_CHANNEL_UNKNOWN, /* ChannelData on a channel not bound here */
} FzdDpClass;

typedef struct FzdDpClassified {
        FzdDpClass class;
        size_t offset, len; /* the payload to act on (after a ChannelData header) */
        uint16_t channel;   /* 0, or the channel it came through */
} FzdDpClassified;

/* Whether the source is a relay, and whether a channel of that relay is bound. */
typedef struct FzdDpRelayView {
        bool from_relay;
        bool (*channel_bound)(const void *userdata, uint16_t channel);
        const void *userdata;
} FzdDpRelayView;

#define FZD_DP_STUN_MAGIC 0x2112A442u

FzdDpClassified fzd_dp_classify(const uint8_t *p, size_t len, const FzdDpRelayView *relay);
