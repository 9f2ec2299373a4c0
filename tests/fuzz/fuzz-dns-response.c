/* SPDX-License-Identifier: Apache-2.0 */
/* What an upstream (or anyone who spoofs one) sends back: checked against the query it
 * would answer. Input: a 2-byte length L, L bytes of query, then the answer. A match
 * must at least have the query's ID, QR and opcode. */
#include <stdint.h>
#include <stdlib.h>

#include "dns-wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FzdDnsQuery q;
        size_t l;

        if (size < 2)
                return 0;
        l = (size_t)((data[0] << 8) | data[1]);
        data += 2, size -= 2;
        if (l > size)
                return 0;
        if (fzd_dns_query_parse(data, l, &q) != 0)
                return 0;
        if (fzd_dns_response_matches(data + l, size - l, data, q.question_end)) {
                const uint8_t *r = data + l;
                if (size - l < FZD_DNS_HEADER_SIZE || fzd_dns_get_id(r) != q.id || !(r[2] & 0x80) ||
                    ((r[2] >> 3) & 0xf) != ((data[2] >> 3) & 0xf))
                        abort();
        }
        return 0;
}
