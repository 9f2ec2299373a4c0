/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A JSON reader for the portal's frames: RFC 8259, lenient in the three harmless ways
 * json-parser (which it replaced) was — a trailing comma before "]" or "}", an unknown escape
 * ("\x" reads as "x"), raw control characters inside strings — so that such a string costs
 * only its element, where the field checks refuse it, not the whole message. One pass over the text, no recursion, every value of a
 * document in one arena: an init with 10,000 resources (2.8 MB, ~250,000 values) reads in
 * about a fifth of the time json-parser took (bench/README.md, "Where the time goes").
 *
 * Bounds, for text from the network: a document may take at most max_mem bytes of parsed form
 * and scratch space together (-E2BIG, checked before each allocation), and nest at most
 * FZD_JSON_MAX_DEPTH deep (-ELOOP). The reader does not check UTF-8 (the WebSocket layer
 * does, and text that reaches the log or D-Bus is checked again); it refuses a lone UTF-16
 * surrogate escape, which has no UTF-8 form. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define FZD_JSON_MAX_DEPTH 512U

typedef enum FzdJsonType {
        FZD_JSON_NONE, /* no value (a NULL FzdJson: absent) */
        FZD_JSON_NULL,
        FZD_JSON_BOOL,
        FZD_JSON_INT,    /* fits int64_t */
        FZD_JSON_DOUBLE, /* a fraction, an exponent, or an integer too large for int64_t */
        FZD_JSON_STRING,
        FZD_JSON_ARRAY,
        FZD_JSON_OBJECT,
} FzdJsonType;

typedef struct FzdJsonMember FzdJsonMember;

typedef struct FzdJson {
        uint8_t type;   /* FzdJsonType */
        uint32_t len;   /* bytes of a string; elements of an array; members of an object */
        union {
                const char *str; /* NUL-terminated; may hold a NUL of its own (\u0000) */
                int64_t i;
                double d;
                bool b;
                const struct FzdJson *items;
                const FzdJsonMember *members;
        } u;
} FzdJson;

struct FzdJsonMember {
        const char *name;
        uint32_t name_len;
        FzdJson value;
};

typedef struct FzdJsonArena FzdJsonArena;

/* Parses len bytes of text (not NUL-terminated; a NUL byte is an error). Returns 0 with the
 * root in *ret_root and its arena in *ret_arena (the document does not point into text), or
 * -EBADMSG (not JSON: *ret_offset is the byte where it went wrong), -ELOOP (nested deeper than
 * FZD_JSON_MAX_DEPTH), -E2BIG (over max_mem), -ENOMEM. */
int fzd_json_parse(const char *text, size_t len, size_t max_mem, FzdJsonArena **ret_arena, const FzdJson **ret_root,
                   size_t *ret_offset);
FzdJsonArena *fzd_json_arena_free(FzdJsonArena *a);
DEFINE_POINTER_CLEANUP_FUNC(FzdJsonArena, fzd_json_arena_free);

FzdJsonType fzd_json_type(const FzdJson *v);
/* The member key of an object (the first one, if the key is repeated); NULL if v is not an
 * object or has no such member. JSON null is returned as a value (FZD_JSON_NULL). */
const FzdJson *fzd_json_get(const FzdJson *v, const char *key);
/* Number of elements of an array (0 for anything else), and element i (NULL past the end). */
size_t fzd_json_array_size(const FzdJson *v);
const FzdJson *fzd_json_array_at(const FzdJson *v, size_t i);
/* A string's bytes (NUL-terminated, but they may contain a NUL of their own: compare
 * *ret_len with strlen() where that matters); NULL if v is not a string. */
const char *fzd_json_string(const FzdJson *v, size_t *ret_len);
/* false if v is not of that type. */
bool fzd_json_int(const FzdJson *v, int64_t *ret);
bool fzd_json_bool(const FzdJson *v, bool *ret);
/* Absent or JSON null. */
static inline bool fzd_json_is_null(const FzdJson *v) {
        FzdJsonType t = fzd_json_type(v);
        return t == FZD_JSON_NONE || t == FZD_JSON_NULL;
}
