/* SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "swar.h"
#include "text.h"
#include "utf8.h"

static bool is_c1(const unsigned char *p) {
        return p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f;
}

bool fzd_text_is_clean(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if ((*p < 0x20 && *p != '\t') || *p == 0x7f || is_c1(p))
                        return false;
        return true;
}

/* Eight bytes, all printable ASCII (0x20 to 0x7e)? (swar.h) */
static inline bool word_is_printable_ascii(uint64_t w) {
        return !(fzd_swar_high(w) | fzd_swar_below(w, 0x20) | fzd_swar_eq(w, 0x7f));
}

bool fzd_text_is_clean_utf8(const char *s, size_t len) {
        const unsigned char *p = (const unsigned char *) s;

        for (size_t i = 0; i < len;) {
                size_t n;

                if (len - i >= 8 && word_is_printable_ascii(fzd_swar_load(s + i))) {
                        i += 8;
                        continue;
                }
                if (p[i] < 0x80) {
                        if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
                                return false;
                        i++;
                        continue;
                }
                n = fzd_utf8_char_len(s + i, len - i);
                if (n == 0 || (n == 2 && is_c1(p + i)))
                        return false;
                i += n;
        }
        return true;
}

size_t fzd_text_escape(const char *s, char *buf, size_t size) {
        size_t n = 0, len = strlen(s);

        for (size_t i = 0; i < len;) {
                const unsigned char *p = (const unsigned char *) s + i;
                size_t c = fzd_utf8_char_len(s + i, len - i), k;
                char esc[8];

                if (*p == '\n')
                        k = (size_t) snprintf(esc, sizeof esc, "\\n");
                else if (*p == '\r')
                        k = (size_t) snprintf(esc, sizeof esc, "\\r");
                else if (*p == '\t')
                        k = (size_t) snprintf(esc, sizeof esc, "\\t");
                else if (c == 0 || *p < 0x20 || *p == 0x7f) /* invalid UTF-8 too: the output stays valid */
                        k = (size_t) snprintf(esc, sizeof esc, "\\x%02x", *p);
                else if (is_c1(p))
                        k = (size_t) snprintf(esc, sizeof esc, "\\u%04x", p[1]);
                else {
                        /* A whole character or nothing: never cut inside one. */
                        if (n + c >= size)
                                break;
                        memcpy(buf + n, p, c);
                        n += c;
                        i += c;
                        continue;
                }
                if (n + k >= size)
                        break;
                memcpy(buf + n, esc, k);
                n += k;
                i += c ? c : 1;
        }
        buf[n] = 0;
        return n;
}
