/* SPDX-License-Identifier: Apache-2.0 */
/* Deterministic WireGuard instances for the fuzz targets (and their seed generator):
 * fixed keys, a counter for randomness, sends into a small buffer. */
#pragma once

#include <stdlib.h>
#include <string.h>

#include "wg.h"

typedef struct FuzzSide {
        FzdWg *wg;
        FzdWgPeer *peer;
        uint64_t rng;
        uint8_t last[256];
        size_t last_len;
} FuzzSide;

static inline int fuzz_random(void *userdata, void *buf, size_t len) {
        FuzzSide *s = userdata;
        uint8_t *b = buf;

        for (size_t i = 0; i < len; i++) {
                s->rng = s->rng * 6364136223846793005ULL + 1442695040888963407ULL;
                b[i] = (uint8_t) (s->rng >> 56);
        }
        return 0;
}

static inline void fuzz_send(void *userdata, FzdWgPeer *peer, const uint8_t *data, size_t len) {
        FuzzSide *s = userdata;

        if (len <= sizeof s->last) {
                memcpy(s->last, data, len);
                s->last_len = len;
        }
}

static inline void fuzz_key(uint8_t key[32], uint8_t seed) {
        for (unsigned i = 0; i < 32; i++)
                key[i] = (uint8_t) (seed + i * 11);
        fzd_wg_clamp(key);
}

static inline void fuzz_psk(uint8_t psk[32]) {
        memset(psk, 0x42, 32);
}

static inline void fuzz_side(FuzzSide *s, uint8_t seed) {
        FzdWgConfig c = { .realtime_base = 1700000000ULL * FZD_WG_NSEC_PER_SEC, .mtu = 1280 };
        FzdWgCallbacks cb = { .send = fuzz_send, .random = fuzz_random };

        memset(s, 0, sizeof *s);
        s->rng = seed;
        fuzz_key(c.private_key, seed);
        fzd_wg_timers_default(&c.timers);
        if (fzd_wg_new(&c, &cb, s, &s->wg) < 0)
                abort();
}

static inline void fuzz_pair(FuzzSide *a, FuzzSide *b) {
        uint8_t psk[32];

        fuzz_side(a, 1);
        fuzz_side(b, 2);
        fuzz_psk(psk);
        if (fzd_wg_peer_new(a->wg, fzd_wg_public_key(b->wg), psk, NULL, &a->peer) < 0 ||
            fzd_wg_peer_new(b->wg, fzd_wg_public_key(a->wg), psk, NULL, &b->peer) < 0)
                abort();
}

/* A handshake between the two, deterministically: a initiates, b responds, a's keepalive
 * confirms b's session. Afterwards a->last holds nothing of interest. */
static inline void fuzz_session(FuzzSide *a, FuzzSide *b) {
        const uint64_t now = 1000 * FZD_WG_NSEC_PER_SEC;
        uint8_t out[64];
        FzdWgInput in;

        fzd_wg_peer_initiate(a->wg, a->peer, now);
        if (fzd_wg_handle_handshake(b->wg, a->last, a->last_len, "a", 1, now, false, &in) < 0 ||
            fzd_wg_handle_handshake(a->wg, b->last, b->last_len, "b", 1, now, false, &in) < 0 ||
            fzd_wg_decrypt(b->wg, a->last, a->last_len, now, out, NULL) != 0)
                abort();
}
