/* SPDX-License-Identifier: Apache-2.0 */
/* TURN ChannelData framing (RFC 8656 §12) and the demultiplexer of the shared UDP socket
 * (DESIGN §7.3). Pure functions over bytes: the data plane's receive path may call them from
 * any thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FZD_TURN_CHANNEL_MIN    0x4000
#define FZD_TURN_CHANNEL_MAX    0x4FFF
#define FZD_CHANNEL_DATA_HEADER 4
/* Relays listen here (Firezone's and coturn's default); DESIGN §7.3's demultiplexing keys on it. */
#define FZD_TURN_PORT 3478

/* A ChannelData message: channel in 0x4000-0x4FFF, payload of the length the header says,
 * followed by nothing or by padding to a multiple of 4 (over UDP padding is optional: coturn
 * sends none, RFC 8656 §12.5 allows it). 0, or -EBADMSG. */
int fzd_channel_data_parse(const uint8_t *buf, size_t len, uint16_t *ret_channel,
                           const uint8_t **ret_payload, size_t *ret_payload_len);
/* Writes the 4-byte header; ChannelData is sent unpadded, as Firezone does. */
void fzd_channel_data_header(uint8_t out[static FZD_CHANNEL_DATA_HEADER], uint16_t channel,
                             uint16_t payload_len);

typedef enum FzdDemux {
        FZD_DEMUX_RELAY_STUN, /* from a relay, first byte 0-3, valid STUN framing: TURN/STUN control */
        FZD_DEMUX_RELAY_CHANNEL_DATA, /* from a relay, first byte 64-79, valid ChannelData: unwrap */
        FZD_DEMUX_STUN,               /* STUN from anyone else: ICE connectivity checks */
        FZD_DEMUX_OTHER,              /* everything else: WireGuard */
} FzdDemux;

/* DESIGN §7.3's order. from_relay: the datagram came from a relay's address (port 3478) that
 * the caller knows; a peer that happens to send from port 3478 is not a relay. */
FzdDemux fzd_demux_classify(const uint8_t *buf, size_t len, bool from_relay);
const char *fzd_demux_to_string(FzdDemux d);
