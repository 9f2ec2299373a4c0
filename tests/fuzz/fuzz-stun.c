/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: one datagram through the STUN parser, every getter, the integrity check and the
 * demultiplexer. Besides "no crash", checks the parser's promises: what parses is re-encoded
 * attribute by attribute and parses again to the same attributes; ChannelData's payload lies
 * inside the datagram. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "channel-data.h"
#include "stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const uint8_t key[] = "VOkJxbRl1RmTxUk/WvJxBt";
        FzdStunMsg m, again;
        FzdAddr a;
        uint32_t u32;
        uint64_t u64;
        uint16_t ch;
        const uint8_t *p;
        size_t n;
        int code;

        (void)fzd_demux_classify(data, size, size & 1);
        if (fzd_channel_data_parse(data, size, &ch, &p, &n) == 0 &&
            (p < data || p + n > data + size || ch < FZD_TURN_CHANNEL_MIN || ch > FZD_TURN_CHANNEL_MAX))
                abort();
        if (fzd_stun_parse(data, size, &m) < 0)
                return 0;
        if (m.n_attrs > FZD_STUN_MAX_ATTRS || m.n_unknown > FZD_STUN_MAX_UNKNOWN)
                abort();
        (void)fzd_stun_get_xor_addr(&m, FZD_STUN_ATTR_XOR_MAPPED_ADDRESS, &a);
        (void)fzd_stun_get_xor_addr(&m, FZD_STUN_ATTR_XOR_PEER_ADDRESS, &a);
        (void)fzd_stun_get_xor_addr(&m, FZD_STUN_ATTR_XOR_RELAYED_ADDRESS, &a);
        (void)fzd_stun_get_addr(&m, FZD_STUN_ATTR_MAPPED_ADDRESS, &a);
        (void)fzd_stun_get_u32(&m, FZD_STUN_ATTR_PRIORITY, &u32);
        (void)fzd_stun_get_u32(&m, FZD_STUN_ATTR_LIFETIME, &u32);
        (void)fzd_stun_get_u64(&m, FZD_STUN_ATTR_ICE_CONTROLLING, &u64);
        (void)fzd_stun_get_channel(&m, &ch);
        (void)fzd_stun_get_error(&m, &code, (const char **)&p, &n);
        (void)fzd_stun_get_bytes(&m, FZD_STUN_ATTR_USERNAME, &p, &n);
        (void)fzd_stun_check_integrity(&m, key, sizeof(key) - 1);

        /* Re-encode without integrity/fingerprint: the same attributes come back. */
        {
                static uint8_t buf[70000];
                FzdStunBuilder b;
                int len;
                size_t k = 0;

                fzd_stun_begin(&b, buf, sizeof(buf), m.method, m.cls, m.txid);
                for (size_t i = 0; i < m.n_attrs; i++)
                        if (m.attrs[i].type != FZD_STUN_ATTR_FINGERPRINT &&
                            m.attrs[i].type != FZD_STUN_ATTR_MESSAGE_INTEGRITY)
                                fzd_stun_put(&b, m.attrs[i].type, fzd_stun_value(&m, &m.attrs[i]),
                                             m.attrs[i].len);
                len = fzd_stun_finish(&b);
                if (len < 0 || fzd_stun_parse(buf, (size_t)len, &again) < 0)
                        abort();
                for (size_t i = 0; i < m.n_attrs; i++) {
                        const FzdStunAttr *x = &m.attrs[i];
                        if (x->type == FZD_STUN_ATTR_FINGERPRINT ||
                            x->type == FZD_STUN_ATTR_MESSAGE_INTEGRITY)
                                continue;
                        if (x->type == FZD_STUN_ATTR_MESSAGE_INTEGRITY_SHA256)
                                break; /* what follows it is ignored on the second parse */
                        if (k >= again.n_attrs || again.attrs[k].type != x->type ||
                            again.attrs[k].len != x->len ||
                            memcmp(fzd_stun_value(&again, &again.attrs[k]), fzd_stun_value(&m, x), x->len) !=
                                    0)
                                abort();
                        k++;
                }
                if (again.method != m.method || again.cls != m.cls)
                        abort();
        }
        return 0;
}
