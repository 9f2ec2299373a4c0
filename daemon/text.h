/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Text from outside (the portal, bus callers) that ends up in the journal, on terminals
 * and in notifications. Control characters are what turns such text into something else
 * there: a newline starts a new (forged) journal line, ESC and CSI start terminal escape
 * sequences. "Control characters" here are C0 (U+0000-U+001F), DEL (U+007F) and C1
 * (U+0080-U+009F, the UTF-8 bytes C2 80 to C2 9F); tab is the one C0 character allowed
 * in display text. */

#include <stdbool.h>
#include <stddef.h>

/* Display text: no control characters but tab. */
bool fzd_text_is_clean(const char *s);

/* Both checks on len bytes in one pass: valid UTF-8 (fzd_utf8_is_valid) and display text
 * (fzd_text_is_clean) — so also without a NUL among them. Printable ASCII goes eight bytes
 * at a time. */
bool fzd_text_is_clean_utf8(const char *s, size_t len);

/* The bytes of s with every control character (tab included) written as an escape:
 * \n, \r, \t, \xNN for the rest of C0 and DEL (and for bytes that are not valid UTF-8),
 * \u0080-\u009f for C1. Every other character is copied as it is. Writes at most size
 * bytes (size > 0) into buf, NUL-terminated, cutting before an escape or a character that
 * does not fit, so the result is always valid UTF-8. Returns the length written. */
size_t fzd_text_escape(const char *s, char *buf, size_t size);

/* The buffer fzd_text_escape() needs for n bytes of input, NUL included: every byte
 * may become "\xNN". */
#define FZD_TEXT_ESCAPED_MAX(n) ((n) * 4 + 1)
