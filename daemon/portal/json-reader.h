/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A JSON reader for the portal's frames: RFC 8259, lenient in the three harmless ways
 * json-parser (which it replaced) was — a trailing comma before "]" or "}", an unknown escape
 * ("\x" reads as "x"), raw control characters inside strings — so that such a string costs
 * only its element, where the field checks refuse it, not the whole message. One pass over
 * the text, no recursion, strings read in place (no allocation or copy per string), every
 * value of a document in one arena: an init with 10,000 resources (2.8 MB, ~250,000 values)
 * reads in about an eighth of the time json-parser took (bench/README.md, "Where the time
 * goes").
 *
 * Bounds, for text from the network: a document may take at most max_mem bytes of parsed form
 * and scratch space together (-E2BIG, checked before each allocation), and nest at most
 * FZD_JSON_MAX_DEPTH deep (-ELOOP). A NUL byte anywhere is an error (a string may still hold
 * a NUL of its own, from \u0000: FzdJson.nul says so). The reader does not check UTF-8 (the
 * WebSocket layer does, and text that reaches the log or D-Bus is checked again); it refuses
 * a lone UTF-16 surrogate escape, which has no UTF-8 form. */

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
        bool nul;       /* a string with a NUL of its own (from \u0000) */
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
        uint32_t name_head; /* its first four bytes (fewer: zeros), for fzd_json_get() */
        FzdJson value;
};

typedef struct FzdJsonArena FzdJsonArena;

/* Parses len bytes of text (not NUL-terminated; a NUL byte is an error: -EBADMSG with
 * *ret_offset at it). Returns 0 with the
 * root in *ret_root and its arena in *ret_arena (the document does not point into text), or
 * -EBADMSG (not JSON: *ret_offset is the byte where it went wrong), -ELOOP (nested deeper than
 * FZD_JSON_MAX_DEPTH), -E2BIG (over max_mem), -ENOMEM. */
int fzd_json_parse(const char *text, size_t len, size_t max_mem, FzdJsonArena **ret_arena, const FzdJson **ret_root,
                   size_t *ret_offset);
/* The same on text the caller owns: read in place (strings end where their closing quotes
 * were, escapes are decoded where they stand), so text is changed, and the document points
 * into it — text must outlive the arena. Saves the copy and its memory for large messages. */
int fzd_json_parse_in_place(char *text, size_t len, size_t max_mem, FzdJsonArena **ret_arena,
                            const FzdJson **ret_root, size_t *ret_offset);
FzdJsonArena *fzd_json_arena_free(FzdJsonArena *a);
/* The memory the document holds (its chunks, with the copy of the text if one was made). */
size_t fzd_json_arena_bytes(const FzdJsonArena *a);
DEFINE_POINTER_CLEANUP_FUNC(FzdJsonArena, fzd_json_arena_free);

/* Reading values (the small readers are inline: an init's 10,000 resources make hundreds of
 * thousands of calls). */
static inline FzdJsonType fzd_json_type(const FzdJson *v) {
        return v ? (FzdJsonType) v->type : FZD_JSON_NONE;
}
/* The member key of an object (the first one, if the key is repeated); NULL if v is not an
 * object or has no such member. JSON null is returned as a value (FZD_JSON_NULL). */
const FzdJson *fzd_json_get(const FzdJson *v, const char *key);
/* Several members in one pass over an object, for a reader that wants most of them: ret[i]
 * is what fzd_json_get(v, keys[i].name) returns. Keys are made with FZD_JSON_KEY() (length
 * and first bytes known when compiling); at most 64; fastest in the order the members
 * usually come. */
typedef struct FzdJsonKey {
        const char *name;
        uint32_t len;
        uint32_t head; /* as FzdJsonMember.name_head */
} FzdJsonKey;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define FZD_JSON_KEY_BYTE_(s, i) ((sizeof(s) > (i) + 1 ? (uint32_t) (uint8_t) (s)[i] : 0U) << (8 * (i)))
#else
#define FZD_JSON_KEY_BYTE_(s, i) ((sizeof(s) > (i) + 1 ? (uint32_t) (uint8_t) (s)[i] : 0U) << (8 * (3 - (i))))
#endif
/* s: a string literal. */
#define FZD_JSON_KEY(s)                                                                                    \
        ((FzdJsonKey){ .name = (s),                                                                        \
                       .len = sizeof(s) - 1,                                                               \
                       .head = FZD_JSON_KEY_BYTE_(s, 0) | FZD_JSON_KEY_BYTE_(s, 1) | FZD_JSON_KEY_BYTE_(s, 2) | \
                               FZD_JSON_KEY_BYTE_(s, 3) })
void fzd_json_get_many(const FzdJson *v, const FzdJsonKey *keys, size_t n, const FzdJson **ret);
/* Number of elements of an array (0 for anything else), and element i (NULL past the end). */
static inline size_t fzd_json_array_size(const FzdJson *v) {
        return v && v->type == FZD_JSON_ARRAY ? v->len : 0;
}
static inline const FzdJson *fzd_json_array_at(const FzdJson *v, size_t i) {
        return i < fzd_json_array_size(v) ? &v->u.items[i] : NULL;
}
/* A string's bytes (NUL-terminated, but they may contain a NUL of their own: compare
 * *ret_len with strlen() where that matters); NULL if v is not a string. */
static inline const char *fzd_json_string(const FzdJson *v, size_t *ret_len) {
        if (!v || v->type != FZD_JSON_STRING)
                return NULL;
        if (ret_len)
                *ret_len = v->len;
        return v->u.str;
}
/* A string without a NUL of its own: NULL if v is not a string or holds a NUL (its bytes then
 * are no C string). */
static inline const char *fzd_json_text(const FzdJson *v, size_t *ret_len) {
        const char *s = fzd_json_string(v, ret_len);

        return s && !v->nul ? s : NULL;
}
/* false if v is not of that type. */
static inline bool fzd_json_int(const FzdJson *v, int64_t *ret) {
        if (!v || v->type != FZD_JSON_INT)
                return false;
        *ret = v->u.i;
        return true;
}
static inline bool fzd_json_bool(const FzdJson *v, bool *ret) {
        if (!v || v->type != FZD_JSON_BOOL)
                return false;
        *ret = v->u.b;
        return true;
}
/* Absent or JSON null. */
static inline bool fzd_json_is_null(const FzdJson *v) {
        FzdJsonType t = fzd_json_type(v);
        return t == FZD_JSON_NONE || t == FZD_JSON_NULL;
}
