/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* WireGuard's four messages (whitepaper §5.4), as byte offsets: every field is read and
 * written with explicit little-endian helpers, never through a packed struct. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum {
        FZD_WG_MSG_INITIATION = 1,
        FZD_WG_MSG_RESPONSE = 2,
        FZD_WG_MSG_COOKIE_REPLY = 3,
        FZD_WG_MSG_DATA = 4,
};

/* Initiation: type | sender | ephemeral(32) | static(32+16) | timestamp(12+16) | mac1 | mac2 */
#define FZD_WG_INITIATION_LEN        148
#define FZD_WG_INITIATION_SENDER     4
#define FZD_WG_INITIATION_NOISE      8 /* e || enc(s) || enc(timestamp): 32 + 48 + 28 */
#define FZD_WG_INITIATION_MAC1       116
#define FZD_WG_INITIATION_MAC2       132
/* Response: type | sender | receiver | ephemeral(32) | empty(0+16) | mac1 | mac2 */
#define FZD_WG_RESPONSE_LEN          92
#define FZD_WG_RESPONSE_SENDER       4
#define FZD_WG_RESPONSE_RECEIVER     8
#define FZD_WG_RESPONSE_NOISE        12 /* e || enc(empty): 32 + 16 */
#define FZD_WG_RESPONSE_MAC1         60
#define FZD_WG_RESPONSE_MAC2         76
/* Cookie reply: type | receiver | nonce(24) | enc(cookie)(16+16) */
#define FZD_WG_COOKIE_REPLY_LEN      64
#define FZD_WG_COOKIE_REPLY_RECEIVER 4
#define FZD_WG_COOKIE_REPLY_NONCE    8
#define FZD_WG_COOKIE_REPLY_COOKIE   32
/* Transport data: type | receiver | counter(8) | enc(packet, padded to 16)(n+16) */
#define FZD_WG_DATA_HEADER_LEN       16
#define FZD_WG_DATA_RECEIVER         4
#define FZD_WG_DATA_COUNTER          8
#define FZD_WG_DATA_MIN_LEN          (FZD_WG_DATA_HEADER_LEN + 16) /* a keepalive */
/* What encryption adds to a packet, padding aside. */
#define FZD_WG_DATA_OVERHEAD         (FZD_WG_DATA_HEADER_LEN + 16)

#define FZD_WG_TIMESTAMP_LEN         12

static inline uint32_t fzd_wg_le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static inline uint64_t fzd_wg_le64(const uint8_t *p) {
        return (uint64_t) fzd_wg_le32(p) | (uint64_t) fzd_wg_le32(p + 4) << 32;
}

static inline void fzd_wg_put_le32(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
        p[2] = (uint8_t) (v >> 16);
        p[3] = (uint8_t) (v >> 24);
}

static inline void fzd_wg_put_le64(uint8_t *p, uint64_t v) {
        fzd_wg_put_le32(p, (uint32_t) v);
        fzd_wg_put_le32(p + 4, (uint32_t) (v >> 32));
}

/* The message type of a datagram if its length is right for that type (the three
 * reserved bytes must be zero), else 0. Transport data needs at least a keepalive's
 * length; its padding is not checked (senders pad to 16 only up to their MTU). */
static inline int fzd_wg_message_type(const uint8_t *p, size_t len) {
        uint32_t t;

        if (len < 4)
                return 0;
        t = fzd_wg_le32(p);
        switch (t) {
        case FZD_WG_MSG_INITIATION:
                return len == FZD_WG_INITIATION_LEN ? (int) t : 0;
        case FZD_WG_MSG_RESPONSE:
                return len == FZD_WG_RESPONSE_LEN ? (int) t : 0;
        case FZD_WG_MSG_COOKIE_REPLY:
                return len == FZD_WG_COOKIE_REPLY_LEN ? (int) t : 0;
        case FZD_WG_MSG_DATA:
                return len >= FZD_WG_DATA_MIN_LEN ? (int) t : 0;
        default:
                return 0;
        }
}
