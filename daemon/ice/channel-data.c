/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>

#include "channel-data.h"
#include "stun.h"

int fzd_channel_data_parse(const uint8_t *buf, size_t len, uint16_t *ret_channel,
                           const uint8_t **ret_payload, size_t *ret_payload_len) {
        uint16_t channel, n;

        if (len < FZD_CHANNEL_DATA_HEADER)
                return -EBADMSG;
        channel = (uint16_t)(buf[0] << 8 | buf[1]);
        n = (uint16_t)(buf[2] << 8 | buf[3]);
        if (channel < FZD_TURN_CHANNEL_MIN || channel > FZD_TURN_CHANNEL_MAX)
                return -EBADMSG;
        /* Exactly the payload, or the payload and up to 3 bytes of padding to a multiple of 4. */
        if (len - FZD_CHANNEL_DATA_HEADER < n ||
            len - FZD_CHANNEL_DATA_HEADER > (((size_t)n + 3) & ~(size_t)3))
                return -EBADMSG;
        *ret_channel = channel;
        *ret_payload = buf + FZD_CHANNEL_DATA_HEADER;
        *ret_payload_len = n;
        return 0;
}

void fzd_channel_data_header(uint8_t out[static FZD_CHANNEL_DATA_HEADER], uint16_t channel,
                             uint16_t payload_len) {
        out[0] = (uint8_t)(channel >> 8);
        out[1] = (uint8_t)channel;
        out[2] = (uint8_t)(payload_len >> 8);
        out[3] = (uint8_t)payload_len;
}

FzdDemux fzd_demux_classify(const uint8_t *buf, size_t len, bool from_relay) {
        uint16_t channel;
        const uint8_t *payload;
        size_t n;

        if (len == 0)
                return FZD_DEMUX_OTHER;
        if (buf[0] <= 3 && fzd_stun_looks_like(buf, len))
                return from_relay ? FZD_DEMUX_RELAY_STUN : FZD_DEMUX_STUN;
        if (from_relay && buf[0] >= 64 && buf[0] <= 79 &&
            fzd_channel_data_parse(buf, len, &channel, &payload, &n) == 0)
                return FZD_DEMUX_RELAY_CHANNEL_DATA;
        return FZD_DEMUX_OTHER;
}

const char *fzd_demux_to_string(FzdDemux d) {
        switch (d) {
        case FZD_DEMUX_RELAY_STUN:
                return "relay-stun";
        case FZD_DEMUX_RELAY_CHANNEL_DATA:
                return "channel-data";
        case FZD_DEMUX_STUN:
                return "stun";
        default:
                return "other";
        }
}
