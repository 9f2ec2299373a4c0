/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: a candidate string from the portal (ice_candidates, invalidate_ice_candidates).
 * Besides "no crash": a refusal always has a reason, and what parses formats and parses back
 * to the same candidate. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "candidate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char s[FZD_ICE_CANDIDATE_MAX + 64], out[FZD_ICE_CANDIDATE_MAX + 300];
        FzdIceCandidate c, back;
        const char *reason = NULL;

        if (size >= sizeof(s))
                size = sizeof(s) - 1;
        memcpy(s, data, size);
        s[size] = '\0';
        if (fzd_ice_candidate_parse(s, &c, &reason) < 0) {
                if (!reason || !*reason)
                        abort();
                return 0;
        }
        if (fzd_ice_candidate_format(&c, c.ufrag[0] ? c.ufrag : NULL, out, sizeof(out)) < 0)
                abort();
        if (fzd_ice_candidate_parse(out, &back, &reason) < 0)
                abort();
        if (back.type != c.type || !fzd_addr_eq(&back.addr, &c.addr) || back.priority != c.priority ||
            strcmp(back.foundation, c.foundation) != 0 || strcmp(back.ufrag, c.ufrag) != 0)
                abort();
        return 0;
}
