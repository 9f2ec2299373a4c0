/* SPDX-License-Identifier: Apache-2.0 */
#include "dp-classify.h"
#include "wg-messages.h"

static bool is_stun(const uint8_t *p, size_t len) {
        /* RFC 8489 §5: the top two bits are zero, then the magic cookie; 20-byte header. */
        return len >= 20 && p[0] <= 3 &&
               ((uint32_t) p[4] << 24 | (uint32_t) p[5] << 16 | (uint32_t) p[6] << 8 | p[7]) == FZD_DP_STUN_MAGIC;
}

static FzdDpClassified wireguard(const uint8_t *p, size_t len, size_t offset, uint16_t channel) {
        switch (fzd_wg_message_type(p, len)) {
        case FZD_WG_MSG_DATA:
                return (FzdDpClassified) { FZD_DP_WG_DATA, offset, len, channel };
        case FZD_WG_MSG_INITIATION:
        case FZD_WG_MSG_RESPONSE:
        case FZD_WG_MSG_COOKIE_REPLY:
                return (FzdDpClassified) { FZD_DP_WG_HANDSHAKE, offset, len, channel };
        default:
                return (FzdDpClassified) { FZD_DP_DROP, offset, len, channel };
        }
}

FzdDpClassified fzd_dp_classify(const uint8_t *p, size_t len, const FzdDpRelayView *relay) {
        if (len == 0)
                return (FzdDpClassified) { FZD_DP_DROP, 0, 0, 0 };

        if (relay && relay->from_relay) {
                if (p[0] <= 3)
                        return (FzdDpClassified) { FZD_DP_TURN, 0, len, 0 };
                if (p[0] >= 64 && p[0] <= 79) {
                        uint16_t channel = (uint16_t) (p[0] << 8 | (len > 1 ? p[1] : 0));
                        size_t inner;
                        if (len < 4)
                                return (FzdDpClassified) { FZD_DP_DROP, 0, len, 0 };
                        inner = (size_t) (p[2] << 8 | p[3]);
                        /* Over UDP padding is optional (RFC 8656 §12.5): the length field
                         * rules, trailing bytes are ignored. */
                        if (inner > len - 4)
                                return (FzdDpClassified) { FZD_DP_DROP, 0, len, channel };
                        if (!relay->channel_bound || !relay->channel_bound(relay->userdata, channel))
                                return (FzdDpClassified) { FZD_DP_CHANNEL_UNKNOWN, 0, len, channel };
                        /* What the peer behind the channel sent: STUN (ICE through the
                         * relay) or WireGuard. */
                        if (is_stun(p + 4, inner))
                                return (FzdDpClassified) { FZD_DP_STUN, 4, inner, channel };
                        return wireguard(p + 4, inner, 4, channel);
                }
        }
        if (is_stun(p, len))
                return (FzdDpClassified) { FZD_DP_STUN, 0, len, 0 };
        return wireguard(p, len, 0, 0);
}
