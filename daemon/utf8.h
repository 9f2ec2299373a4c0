/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Text that leaves the daemon (D-Bus strings, log lines, sentences) must be valid UTF-8:
 * sd-bus refuses to send anything else, which once left a caller without a reply (#18).
 * These helpers make that hold by construction. */

#include <stdbool.h>
#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (1–4), or 0 if s[0..len) does not start with
 * one (overlong forms, surrogates and code points above U+10FFFF are invalid). */
size_t fzd_utf8_char_len(const char *s, size_t len);
bool fzd_utf8_is_valid(const char *s, size_t len);

/* For text that arrives in pieces (s[0, len) so far, more to come): checks it up to where a
 * character might still be cut (at most its first three bytes are held back) and returns how
 * many bytes from the start are whole, valid characters — the point to go on from once more
 * has come — or SIZE_MAX if something checked is not UTF-8. The check of the whole text is
 * then fzd_utf8_is_valid() of the rest. */
size_t fzd_utf8_check_part(const char *s, size_t len);

/* The longest prefix of the NUL-terminated s that is at most max bytes and ends on a
 * character boundary (s is assumed valid UTF-8; an invalid byte ends the prefix). */
size_t fzd_utf8_prefix(const char *s, size_t max);

/* Copies s into buf (size > 0) as valid UTF-8: invalid bytes become U+FFFD, C0/C1 control
 * characters and DEL become U+FFFD too unless keep_newlines and the byte is '\n' or '\t';
 * the copy is cut at a character boundary so that it fits, with "…" appended when it was
 * cut and there is room. Returns buf. NULL s gives "". */
char *fzd_utf8_sanitize(const char *s, bool keep_newlines, char *buf, size_t size);

/* Appends to buf at *pos the same way, keeping buf NUL-terminated; used to build one
 * sentence from pieces. Returns false once something had to be cut. */
bool fzd_utf8_append(char *buf, size_t size, size_t *pos, const char *s);
