/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: one line from the test gateway's controller (tests/gateway/gw-orders.c).
 * Besides "no crash, no leak": a parsed order keeps within its limits, and a refusal always
 * says why. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw-orders.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char err[FZGW_ERROR_MAX];
        FzgwOrder o;
        int r;

        r = fzgw_order_parse((const char *) data, size, &o, err);
        if (r < 0) {
                if (r != -EINVAL && r != -ENOMEM)
                        abort();
                if (!err[0])
                        abort();
        } else {
                if (o.op >= _FZGW_OP_MAX || o.n_relays > FZGW_MAX_RELAYS ||
                    o.n_candidates > FZGW_MAX_CANDIDATES || o.resource.n_filters > FZGW_MAX_FILTERS)
                        abort();
                for (size_t i = 0; i < o.resource.n_filters; i++)
                        if (o.resource.filters[i].start > o.resource.filters[i].end)
                                abort();
                if (o.op == FZGW_OP_AUTHORIZE && o.client.ipv4.family == 0 && o.client.ipv6.family == 0)
                        abort();
        }
        fzgw_order_done(&o);
        return 0;
}
