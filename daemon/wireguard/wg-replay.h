/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The receive-side replay window of a WireGuard session (RFC 6479's bitmap ring), sized
 * like the kernel's: 8192 bits in 64-bit blocks, of which one block is always being
 * recycled, so counters up to 8128 behind the highest seen are judged exactly. Not
 * thread-safe: the keypair holds it under its own lock. */

#include <stdbool.h>
#include <stdint.h>

#define FZD_WG_REPLAY_BLOCKS 128u
#define FZD_WG_REPLAY_WINDOW ((FZD_WG_REPLAY_BLOCKS - 1) * 64u) /* 8128 */

typedef struct FzdWgReplay {
        uint64_t last;
        uint64_t ring[FZD_WG_REPLAY_BLOCKS];
} FzdWgReplay;

void fzd_wg_replay_reset(FzdWgReplay *r);
/* Marks counter as seen and returns true if it is new and below limit; returns false
 * (window unchanged) for a counter seen before, too far behind, or >= limit. Call it only
 * after the packet authenticated, so that forged counters cannot move the window. */
bool fzd_wg_replay_check_and_set(FzdWgReplay *r, uint64_t counter, uint64_t limit);
