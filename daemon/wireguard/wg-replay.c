/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "wg-replay.h"

void fzd_wg_replay_reset(FzdWgReplay *r) {
        memset(r, 0, sizeof *r);
}

bool fzd_wg_replay_check_and_set(FzdWgReplay *r, uint64_t counter, uint64_t limit) {
        uint64_t block = counter / 64, bit = UINT64_C(1) << (counter % 64), *slot;

        if (counter >= limit)
                return false;
        if (counter > r->last) {
                /* Advance: clear the blocks the window slides over (all of them at most). */
                uint64_t current = r->last / 64, steps = block - current;

                if (steps > FZD_WG_REPLAY_BLOCKS)
                        steps = FZD_WG_REPLAY_BLOCKS;
                for (uint64_t i = 1; i <= steps; i++)
                        r->ring[(current + i) % FZD_WG_REPLAY_BLOCKS] = 0;
                r->last = counter;
        } else if (r->last - counter > FZD_WG_REPLAY_WINDOW)
                return false;

        slot = &r->ring[block % FZD_WG_REPLAY_BLOCKS];
        if (*slot & bit)
                return false;
        *slot |= bit;
        return true;
}
