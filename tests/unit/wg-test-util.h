/* SPDX-License-Identifier: Apache-2.0 */
/* Hex helpers for the WireGuard tests' known-answer vectors. */
#pragma once

#include <check.h>
#include "macro.h"
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static inline size_t unhex(const char *hex, uint8_t *out, size_t max) {
        size_t n = strlen(hex) / 2;

        ck_assert_msg(strlen(hex) % 2 == 0 && n <= max, "bad test vector length");
        for (size_t i = 0; i < n; i++) {
                unsigned v;
                ck_assert(sscanf(hex + 2 * i, "%2x", &v) == 1);
                out[i] = (uint8_t) v;
        }
        return n;
}

static inline void ck_assert_hex(const uint8_t *got, size_t len, const char *want) {
        char buf[2 * 1024 + 1];

        ck_assert(len * 2 < sizeof buf);
        for (size_t i = 0; i < len; i++)
                snprintf(buf + 2 * i, 3, "%02x", got[i]);
        ck_assert_str_eq(buf, want);
}
