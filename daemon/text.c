/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>

#include "text.h"

static bool is_c1(const unsigned char *p) {
        return p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f;
}

bool fzd_text_is_clean(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if ((*p < 0x20 && *p != '\t') || *p == 0x7f || is_c1(p))
                        return false;
        return true;
}

size_t fzd_text_escape(const char *s, char *buf, size_t size) {
        size_t n = 0;

        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                char esc[8];
                size_t k;

                if (*p == '\n')
                        k = (size_t) snprintf(esc, sizeof esc, "\\n");
                else if (*p == '\r')
                        k = (size_t) snprintf(esc, sizeof esc, "\\r");
                else if (*p == '\t')
                        k = (size_t) snprintf(esc, sizeof esc, "\\t");
                else if (*p < 0x20 || *p == 0x7f)
                        k = (size_t) snprintf(esc, sizeof esc, "\\x%02x", *p);
                else if (is_c1(p)) {
                        k = (size_t) snprintf(esc, sizeof esc, "\\u%04x", p[1]);
                        p++;
                } else {
                        esc[0] = (char) *p;
                        k = 1;
                }
                if (n + k >= size)
                        break;
                for (size_t i = 0; i < k; i++)
                        buf[n++] = esc[i];
        }
        buf[n] = 0;
        return n;
}
