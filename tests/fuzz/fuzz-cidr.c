/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: a prefix string from the portal. Besides "no crash", checks the parser's
 * promises: what parses prints and parses back to the same prefix, and masking removes
 * all host bits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char s[256], out[FZD_CIDR_STRING_MAX];
        FzdCidr c, back;

        if (size >= sizeof s)
                size = sizeof s - 1;
        memcpy(s, data, size);
        s[size] = '\0';

        if (fzd_cidr_parse(s, false, &c) == 0) {
                if (fzd_cidr_has_host_bits(&c))
                        abort();
                if (fzd_cidr_to_string(&c, out, sizeof out) != 0)
                        abort();
                if (fzd_cidr_parse(out, false, &back) != 0 || !fzd_cidr_equal(&c, &back))
                        abort();
                (void) fzd_cidr_route_problem(&c);
        }
        if (fzd_cidr_parse(s, true, &c) == 0) {
                (void) fzd_address_problem(c.family, &c.addr);
                fzd_cidr_mask(&c);
                if (fzd_cidr_has_host_bits(&c))
                        abort();
                if (fzd_cidr_route_problem(&c) == NULL && c.prefixlen == 0)
                        abort(); /* a default route must never pass */
        }
        return 0;
}
