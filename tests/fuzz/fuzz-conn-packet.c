/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: packets from the TUN and from gateways as daemon/connections reads them. Besides
 * "no crash": what parses stays within the buffer, an ICMP answer is a well-formed packet that
 * quotes the original, and a control packet's payload lies inside it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conn-packet.h"
#include "dataplane.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FzdPacketInfo pi, back;
        uint8_t out[1280];
        const uint8_t *payload;
        size_t plen;
        uint8_t event;

        if (fzd_packet_parse(data, size, &pi) == 0) {
                ssize_t n;
                if (pi.total_len > size)
                        abort();
                n = fzd_packet_icmp_prohibited(data, size, out, sizeof out);
                if (n > 0 && (fzd_packet_parse(out, (size_t) n, &back) < 0 || back.total_len != (size_t) n ||
                              (back.proto != 1 && back.proto != 58)))
                        abort();
        }
        if (fzd_dp_is_p2p_control(data, size) && fzd_p2p_parse(data, size, &event, &payload, &plen) == 0 &&
            (payload < data || payload + plen > data + size))
                abort();
        return 0;
}
