/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Eight bytes at a time in a 64-bit word ("SIMD within a register"), for the scans of text
 * from the portal: the JSON reader's string scan, id and display-text checks.
 *
 * Each test sets the high bit of every byte that matches — exactly for the lowest matching
 * byte; a byte after one that matched may be marked too (a borrow runs upwards), never one
 * before it. So "any byte matches" is exact, and in a word loaded little-endian the lowest
 * set bit is the first match. */

#include <stdint.h>
#include <string.h>

#define FZD_SWAR_ONES UINT64_C(0x0101010101010101)
#define FZD_SWAR_HIGH UINT64_C(0x8080808080808080)

/* Eight bytes from p, the first in the lowest bits on any machine. */
static inline uint64_t fzd_swar_load(const char *p) {
        uint64_t w;

        memcpy(&w, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        w = __builtin_bswap64(w);
#endif
        return w;
}

/* The bytes that are 0. */
static inline uint64_t fzd_swar_zero(uint64_t w) {
        return (w - FZD_SWAR_ONES) & ~w & FZD_SWAR_HIGH;
}

/* The bytes equal to c. */
static inline uint64_t fzd_swar_eq(uint64_t w, uint8_t c) {
        return fzd_swar_zero(w ^ (FZD_SWAR_ONES * c));
}

/* The bytes below n, among bytes under 0x80 (a test of the high bits, fzd_swar_high(),
 * must rule out the others). */
static inline uint64_t fzd_swar_below(uint64_t w, uint8_t n) {
        return (w - FZD_SWAR_ONES * n) & ~w & FZD_SWAR_HIGH;
}

/* The bytes from 0x80 up. */
static inline uint64_t fzd_swar_high(uint64_t w) {
        return w & FZD_SWAR_HIGH;
}
