/* SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "utf8.h"

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */
#define ELLIPSIS    "\xe2\x80\xa6" /* U+2026 */

size_t fzd_utf8_char_len(const char *str, size_t len) {
        const unsigned char *s = (const unsigned char *) str;
        uint32_t cp;
        size_t n;

        if (len == 0)
                return 0;
        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                n = 2, cp = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                n = 3, cp = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                n = 4, cp = s[0] & 0x07;
        else
                return 0; /* continuation byte, overlong lead (C0, C1) or beyond U+10FFFF */
        if (len < n)
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return n;
}

bool fzd_utf8_is_valid(const char *s, size_t len) {
        for (size_t i = 0; i < len;) {
                size_t n;
                uint64_t w;

#ifdef __SSE2__
                /* ASCII 32 bytes at a time where every x86-64 has the instructions. */
                while (len - i >= 32) {
                        __m128i a = _mm_loadu_si128((const __m128i *) (const void *) (s + i)),
                                b = _mm_loadu_si128((const __m128i *) (const void *) (s + i + 16));
                        if (_mm_movemask_epi8(_mm_or_si128(a, b)) != 0)
                                break;
                        i += 32;
                }
                if (i == len)
                        break;
#endif

                /* ASCII eight bytes at a time (a portal init is almost all ASCII). */
                if (len - i >= 8 && (memcpy(&w, s + i, 8), (w & 0x8080808080808080ULL) == 0)) {
                        i += 8;
                        continue;
                }
                n = fzd_utf8_char_len(s + i, len - i);
                if (n == 0)
                        return false;
                i += n;
        }
        return true;
}

size_t fzd_utf8_check_part(const char *s, size_t len) {
        size_t stop;

        if (len <= 3)
                return 0;
        /* In valid UTF-8 at most three continuation bytes come in a row, and any other byte
         * begins a character: back from len - 3 to such a byte. */
        stop = len - 3;
        for (int i = 0; i < 3 && stop > 0 && ((unsigned char) s[stop] & 0xc0) == 0x80; i++)
                stop--;
        return fzd_utf8_is_valid(s, stop) ? stop : SIZE_MAX;
}

size_t fzd_utf8_prefix(const char *s, size_t max) {
        size_t len = strlen(s), i = 0;

        while (i < len) {
                size_t n = fzd_utf8_char_len(s + i, len - i);
                if (n == 0 || i + n > max)
                        break;
                i += n;
        }
        return i;
}

static bool is_control(const char *s, size_t n) {
        unsigned char c = (unsigned char) s[0];

        if (n == 1)
                return c < 0x20 || c == 0x7f;
        /* C1 controls U+0080–U+009F are encoded as C2 80 – C2 9F. */
        return n == 2 && c == 0xc2 && (unsigned char) s[1] < 0xa0;
}

/* Appends piece (n bytes) if it fits with room for the NUL; false if not. */
static bool put(char *buf, size_t size, size_t *pos, const char *piece, size_t n) {
        if (*pos + n + 1 > size)
                return false;
        memcpy(buf + *pos, piece, n);
        *pos += n;
        buf[*pos] = 0;
        return true;
}

static bool append(char *buf, size_t size, size_t *pos, const char *s, bool keep_newlines) {
        size_t len = strlen(s);

        for (size_t i = 0; i < len;) {
                size_t n = fzd_utf8_char_len(s + i, len - i);
                const char *piece = s + i;
                size_t pn = n;

                if (n == 0) {
                        piece = REPLACEMENT, pn = 3, n = 1;
                } else if (is_control(s + i, n) && !(keep_newlines && (s[i] == '\n' || s[i] == '\t'))) {
                        piece = REPLACEMENT, pn = 3;
                }
                if (!put(buf, size, pos, piece, pn)) {
                        /* Cut: end with an ellipsis, making room for it if need be. */
                        while (*pos > 0 && *pos + sizeof(ELLIPSIS) > size) {
                                do
                                        (*pos)--;
                                while (*pos > 0 && ((unsigned char) buf[*pos] & 0xc0) == 0x80);
                        }
                        buf[*pos] = 0;
                        (void) put(buf, size, pos, ELLIPSIS, sizeof(ELLIPSIS) - 1);
                        return false;
                }
                i += n;
        }
        return true;
}

bool fzd_utf8_append(char *buf, size_t size, size_t *pos, const char *s) {
        if (size == 0)
                return false;
        if (*pos >= size)
                *pos = size - 1;
        buf[*pos] = 0;
        return append(buf, size, pos, s ? s : "", false);
}

char *fzd_utf8_sanitize(const char *s, bool keep_newlines, char *buf, size_t size) {
        size_t pos = 0;

        if (size == 0)
                return buf;
        buf[0] = 0;
        (void) append(buf, size, &pos, s ? s : "", keep_newlines);
        return buf;
}
