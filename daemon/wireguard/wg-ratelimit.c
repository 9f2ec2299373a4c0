/* SPDX-License-Identifier: Apache-2.0 */
/* Per-source token buckets for handshake initiations under load: a fixed table (bounded
 * memory whatever the sources), direct-mapped by a seeded hash of the address; a new
 * source takes over its slot. A collision at worst makes two sources share a budget. */
#include <string.h>

#include "wg-internal.h"

#define PACKETS_PER_SECOND 20
#define PACKETS_BURSTABLE  5
#define PACKET_COST        (FZD_WG_NSEC_PER_SEC / PACKETS_PER_SECOND)
#define MAX_TOKENS         (PACKET_COST * PACKETS_BURSTABLE)

bool fzd_wg_ratelimit_allow(FzdWgRateLimiter *rl, const void *src, size_t srclen, uint64_t now) {
        const uint8_t *b = src;
        uint8_t key[16] = {};
        size_t keylen;
        uint64_t h = 0xcbf29ce484222325ULL ^ rl->seed;
        FzdWgRateEntry *e;

        /* The address without the port; IPv6 sources count per /64, as wireguard-go. */
        keylen = srclen > 2 ? srclen - 2 : srclen;
        if (keylen > 8)
                keylen = keylen >= 16 ? 8 : keylen;
        memcpy(key, b, keylen);
        for (size_t i = 0; i < keylen; i++)
                h = (h ^ key[i]) * 0x100000001b3ULL;
        e = &rl->slots[h % FZD_WG_RATE_SLOTS];

        if (e->keylen != keylen || memcmp(e->key, key, sizeof key) != 0 || e->last == 0) {
                memcpy(e->key, key, sizeof key);
                e->keylen = (uint8_t) keylen;
                e->tokens = MAX_TOKENS - PACKET_COST;
                e->last = now;
                return true;
        }
        if (now > e->last) {
                uint64_t add = now - e->last;
                e->tokens = add >= MAX_TOKENS || e->tokens + add > MAX_TOKENS ? MAX_TOKENS : e->tokens + add;
                e->last = now;
        }
        if (e->tokens < PACKET_COST)
                return false;
        e->tokens -= PACKET_COST;
        return true;
}
