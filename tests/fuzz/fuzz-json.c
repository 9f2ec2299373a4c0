/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the portal's JSON reader (daemon/portal/json-reader.c) on any bytes. Besides
 * "no crash" and the memory cap, checks its promises: every string is NUL-terminated at its
 * length and marked when it holds a NUL; the caller's text is left as it was; reading in
 * place gives the same tree (or the same error, at the same byte); and what it reads, written
 * out again as JSON, reads back to the same tree. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct Out {
        char *buf;
        size_t len, cap;
} Out;

static void put(Out *o, const char *s, size_t n) {
        if (o->len + n + 1 > o->cap) {
                o->cap = (o->len + n + 1) * 2;
                o->buf = realloc(o->buf, o->cap);
                if (!o->buf)
                        abort();
        }
        memcpy(o->buf + o->len, s, n);
        o->len += n;
}

static void put_string(Out *o, const char *s, size_t n) {
        put(o, "\"", 1);
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c < 0x20 || c == '"' || c == '\\') {
                        char esc[8];
                        snprintf(esc, sizeof esc, "\\u%04x", c);
                        put(o, esc, 6);
                } else
                        put(o, s + i, 1);
        }
        put(o, "\"", 1);
}

static void write_json(Out *o, const FzdJson *v) {
        char num[64];

        if (v->type == FZD_JSON_STRING &&
            (v->u.str[v->len] != '\0' || v->nul != (memchr(v->u.str, 0, v->len) != NULL)))
                abort();
        if (v->type != FZD_JSON_STRING && v->nul) /* only a string holds a NUL */
                abort();
        switch (v->type) {
        case FZD_JSON_NULL:
                put(o, "null", 4);
                break;
        case FZD_JSON_BOOL:
                put(o, v->u.b ? "true" : "false", v->u.b ? 4 : 5);
                break;
        case FZD_JSON_INT:
                put(o, num, (size_t) snprintf(num, sizeof num, "%lld", (long long) v->u.i));
                break;
        case FZD_JSON_DOUBLE:
                if (isinf(v->u.d))
                        put(o, v->u.d > 0 ? "1e999" : "-1e999", v->u.d > 0 ? 5 : 6);
                else /* with an exponent, so that it reads back as a double */
                        put(o, num, (size_t) snprintf(num, sizeof num, "%.17e", v->u.d));
                break;
        case FZD_JSON_STRING:
                put_string(o, v->u.str, v->len);
                break;
        case FZD_JSON_ARRAY:
                put(o, "[", 1);
                for (uint32_t i = 0; i < v->len; i++) {
                        if (i)
                                put(o, ",", 1);
                        write_json(o, &v->u.items[i]);
                }
                put(o, "]", 1);
                break;
        case FZD_JSON_OBJECT:
                put(o, "{", 1);
                for (uint32_t i = 0; i < v->len; i++) {
                        const FzdJsonMember *m = &v->u.members[i];
                        if (m->name[m->name_len] != '\0')
                                abort();
                        if (i)
                                put(o, ",", 1);
                        put_string(o, m->name, m->name_len);
                        put(o, ":", 1);
                        write_json(o, &m->value);
                }
                put(o, "}", 1);
                break;
        default:
                abort();
        }
}

static bool same(const FzdJson *a, const FzdJson *b) {
        if (a->type != b->type || a->len != b->len)
                return false;
        switch (a->type) {
        case FZD_JSON_BOOL:
                return a->u.b == b->u.b;
        case FZD_JSON_INT:
                return a->u.i == b->u.i;
        case FZD_JSON_DOUBLE:
                return a->u.d == b->u.d || (isnan(a->u.d) && isnan(b->u.d));
        case FZD_JSON_STRING:
                return a->nul == b->nul && memcmp(a->u.str, b->u.str, a->len) == 0;
        case FZD_JSON_ARRAY:
                for (uint32_t i = 0; i < a->len; i++)
                        if (!same(&a->u.items[i], &b->u.items[i]))
                                return false;
                return true;
        case FZD_JSON_OBJECT:
                for (uint32_t i = 0; i < a->len; i++)
                        if (a->u.members[i].name_len != b->u.members[i].name_len ||
                            memcmp(a->u.members[i].name, b->u.members[i].name, a->u.members[i].name_len) != 0 ||
                            !same(&a->u.members[i].value, &b->u.members[i].value))
                                return false;
                return true;
        default:
                return true;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FzdJsonArena *a = NULL, *b = NULL, *c = NULL;
        const FzdJson *root = NULL, *again = NULL, *in_place = NULL;
        char *text = malloc(size + 1);
        size_t offset = SIZE_MAX, offset_in_place = SIZE_MAX;
        Out o = {};
        int r, r_in_place;

        if (!text)
                abort();
        memcpy(text, data, size);
        r = fzd_json_parse((const char *) data, size, 1U << 22, &a, &root, &offset);
        /* The copying reader leaves the text as it was; the in-place one reads the same. */
        if (memcmp(text, data, size) != 0)
                abort();
        r_in_place = fzd_json_parse_in_place(text, size, 1U << 22, &c, &in_place, &offset_in_place);
        if (r_in_place != r && !(r == -E2BIG && r_in_place == 0)) /* the copy counts against the cap */
                abort();
        if (r == -EBADMSG && offset != offset_in_place)
                abort();
        if (r < 0) {
                if (r != -EBADMSG && r != -ELOOP && r != -E2BIG && r != -ENOMEM)
                        abort();
                if (a || root)
                        abort(); /* nothing handed out on failure */
                fzd_json_arena_free(c);
                free(text);
                return 0;
        }
        if (!same(root, in_place))
                abort();
        fzd_json_arena_free(c);
        free(text);
        write_json(&o, root);
        /* The rewrite is at most 6x the text (every byte escaped) plus numbers' digits. */
        r = fzd_json_parse(o.buf, o.len, 1U << 26, &b, &again, NULL);
        if (r < 0 || !same(root, again))
                abort();
        fzd_json_arena_free(b);
        fzd_json_arena_free(a);
        free(o.buf);
        return 0;
}
