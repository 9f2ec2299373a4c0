/* SPDX-License-Identifier: Apache-2.0 */
/* A fuzz input read as a program: small helpers to take bytes and lengths off the front. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct FuzzInput {
        const uint8_t *p;
        size_t n;
} FuzzInput;

static inline uint8_t fi_u8(FuzzInput *in) {
        uint8_t v = 0;
        if (in->n) {
                v = in->p[0];
                in->p++;
                in->n--;
        }
        return v;
}

static inline uint16_t fi_u16(FuzzInput *in) {
        return (uint16_t)(fi_u8(in) << 8 | fi_u8(in));
}

/* Up to max bytes (the length is the next byte pair), pointing into the input. */
static inline const uint8_t *fi_bytes(FuzzInput *in, size_t max, size_t *ret_len) {
        size_t len = fi_u16(in);
        const uint8_t *p = in->p;
        if (len > max)
                len = max;
        if (len > in->n)
                len = in->n;
        in->p += len;
        in->n -= len;
        *ret_len = len;
        return p;
}
