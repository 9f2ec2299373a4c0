/* SPDX-License-Identifier: Apache-2.0 */
/* The portal's JSON reader (see json-reader.h).
 *
 * One pass, no recursion: a container's values are kept on a scratch stack while it is open,
 * and copied into the arena in one piece when it closes (so an array's elements and an
 * object's members are contiguous, and no value is allocated alone). The text is copied into
 * the arena once, and read in place there: a string (or key) is found eight bytes at a time,
 * its closing quote becomes its NUL, and escapes are decoded where they stand (a decoded
 * escape is never longer than its text) — no allocation or copy per string. Numbers without
 * fraction or exponent that fit int64_t are read here; the others go through strtod() in the
 * C locale. */
#include <assert.h>
#include <errno.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "big-alloc.h"
#include "json-reader.h"
#include "swar.h"

/* ---- the arena ------------------------------------------------------------------------------- */

#define ARENA_ALIGN     8U
#define ARENA_MIN_CHUNK 16384U

/* Chunks come from fzd_big_alloc(): an init's parsed values (3.5 MB for 10,000 resources)
 * are a mapping of their own, faulted in at once and unmapped with the document. */

typedef struct Chunk {
        struct Chunk *next;
        size_t used, size;
        max_align_t data[];
} Chunk;

struct FzdJsonArena {
        Chunk *chunks;
};

FzdJsonArena *fzd_json_arena_free(FzdJsonArena *a) {
        if (!a)
                return NULL;
        for (Chunk *c = a->chunks, *next; c; c = next) {
                next = c->next;
                fzd_big_free(c);
        }
        free(a);
        return NULL;
}

size_t fzd_json_arena_bytes(const FzdJsonArena *a) {
        size_t n = 0;

        for (const Chunk *c = a ? a->chunks : NULL; c; c = c->next)
                n += sizeof *c + c->size;
        return n;
}

/* ---- the parser ------------------------------------------------------------------------------ */

typedef struct Open {
        uint8_t type; /* FZD_JSON_ARRAY or FZD_JSON_OBJECT */
        size_t base;  /* its first value on the scratch stack */
        size_t slot;  /* where it goes when it closes (see value_slot()) */
} Open;

typedef struct Parser {
        char *start, *p, *end; /* the arena's copy of the text */
        FzdJsonArena *arena;
        size_t mem, max_mem;   /* arena chunks and scratch space taken, and the cap */
        FzdJsonMember *stack;  /* values of the open containers (name NULL in arrays) */
        size_t top, cap;
        Open open[FZD_JSON_MAX_DEPTH];
        size_t depth;
        size_t next_chunk; /* the size of the arena's next chunk of values */
        int error;
} Parser;

static bool charge(Parser *ps, size_t bytes) {
        if (bytes > ps->max_mem - ps->mem) {
                ps->error = -E2BIG;
                return false;
        }
        ps->mem += bytes;
        return true;
}

static bool grow(Parser *ps, size_t size) {
        Chunk *c;

        if (!charge(ps, size))
                return false;
        c = size <= SIZE_MAX - sizeof(Chunk) ? fzd_big_alloc(sizeof(Chunk) + size) : NULL;
        if (!c) {
                ps->error = -ENOMEM;
                return false;
        }
        c->next = ps->arena->chunks;
        c->used = 0;
        c->size = size;
        ps->arena->chunks = c;
        return true;
}

static void *take(Parser *ps, size_t size) {
        Chunk *c = ps->arena->chunks;
        void *p;

        size = (size + ARENA_ALIGN - 1) & ~(size_t) (ARENA_ALIGN - 1);
        if (!c || c->size - c->used < size) {
                size_t want = ps->next_chunk;

                if (!grow(ps, want < size ? size : want))
                        return NULL;
                c = ps->arena->chunks;
        }
        p = (char *) c->data + c->used;
        c->used += size;
        return p;
}

static int fail(Parser *ps) {
        if (ps->error == 0)
                ps->error = -EBADMSG;
        return ps->error;
}

static inline void skip_ws(Parser *ps) {
        while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t'))
                ps->p++;
}

/* The bytes of w (swar.h) that end a string's plain run: '"', '\\' or NUL. */
static inline uint64_t word_specials(uint64_t w) {
        return fzd_swar_eq(w, '"') | fzd_swar_eq(w, '\\') | fzd_swar_zero(w);
}

/* A key's first four bytes, zeros for fewer (compared as a whole, never as a number). */
static inline uint32_t head_of(const char *s, size_t len) {
        uint32_t h = 0;

        if (len >= sizeof h) {
                memcpy(&h, s, sizeof h); /* a constant size: one load, no call */
                return h;
        }
        /* Byte by byte into a register, as the load would have placed them (bytes written to
         * memory and read back as a word would stall the read). */
        for (size_t i = 0; i < len; i++)
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
                h |= (uint32_t) (uint8_t) s[i] << (8 * i);
#else
                h |= (uint32_t) (uint8_t) s[i] << (8 * (3 - i));
#endif
        return h;
}

static int hex4(const char *s, unsigned *ret) {
        unsigned v = 0;

        for (int i = 0; i < 4; i++) {
                char c = s[i];
                v <<= 4;
                if (c >= '0' && c <= '9')
                        v |= (unsigned) (c - '0');
                else if (c >= 'a' && c <= 'f')
                        v |= (unsigned) (c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                        v |= (unsigned) (c - 'A' + 10);
                else
                        return -1;
        }
        *ret = v;
        return 0;
}

static char *put_utf8(char *o, unsigned cp) {
        if (cp < 0x80)
                *o++ = (char) cp;
        else if (cp < 0x800) {
                *o++ = (char) (0xc0 | (cp >> 6));
                *o++ = (char) (0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
                *o++ = (char) (0xe0 | (cp >> 12));
                *o++ = (char) (0x80 | ((cp >> 6) & 0x3f));
                *o++ = (char) (0x80 | (cp & 0x3f));
        } else {
                *o++ = (char) (0xf0 | (cp >> 18));
                *o++ = (char) (0x80 | ((cp >> 12) & 0x3f));
                *o++ = (char) (0x80 | ((cp >> 6) & 0x3f));
                *o++ = (char) (0x80 | (cp & 0x3f));
        }
        return o;
}

/* Decodes the escaped text [s, e) (the string's bytes between its quotes) into o, which is s
 * itself (in place) or has room for e - s bytes: an escape never decodes to more bytes than
 * it takes, so o never overtakes s. Returns the end, or NULL with ps->p at the bad escape. */
static char *unescape(Parser *ps, char *s, const char *e, char *o, bool *ret_nul) {
        while (s < e) {
                unsigned cp, lo;

                if (*s != '\\') {
                        *o++ = *s++;
                        continue;
                }
                s++; /* the scan made sure a byte follows */
                switch (*s++) {
                case '"': *o++ = '"'; continue;
                case '\\': *o++ = '\\'; continue;
                case '/': *o++ = '/'; continue;
                case 'b': *o++ = '\b'; continue;
                case 'f': *o++ = '\f'; continue;
                case 'n': *o++ = '\n'; continue;
                case 'r': *o++ = '\r'; continue;
                case 't': *o++ = '\t'; continue;
                case 'u': break;
                default: *o++ = s[-1]; continue; /* "\x" reads as "x", as json-parser did */
                }
                if (e - s < 4 || hex4(s, &cp) < 0) {
                        ps->p = s - 2;
                        return NULL;
                }
                s += 4;
                if (cp >= 0xdc00 && cp <= 0xdfff) { /* a low surrogate alone */
                        ps->p = s - 6;
                        return NULL;
                }
                if (cp >= 0xd800 && cp <= 0xdbff) {
                        if (e - s < 6 || s[0] != '\\' || s[1] != 'u' || hex4(s + 2, &lo) < 0 || lo < 0xdc00 ||
                            lo > 0xdfff) {
                                ps->p = s - 6;
                                return NULL;
                        }
                        s += 6;
                        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                }
                if (cp == 0)
                        *ret_nul = true;
                o = put_utf8(o, cp);
        }
        return o;
}

/* ps->p is at the opening quote. The string is read in place: *ret points into the text.
 * *ret_nul says whether it holds a NUL (decoded from \u0000; a NUL byte in the text is an
 * error). */
static int read_string(Parser *ps, const char **ret, uint32_t *ret_len, bool *ret_nul) {
        char *s = ps->p + 1, *q = s, *o;
        bool escaped = false;

        *ret_nul = false;
        for (;;) {
                uint64_t m = 0;

                while (ps->end - q >= 8 && !(m = word_specials(fzd_swar_load(q))))
                        q += 8;
                if (m)
                        q += __builtin_ctzll(m) / 8;
                else
                        while (q < ps->end && *q != '"' && *q != '\\' && *q != '\0')
                                q++;
                if (q >= ps->end || *q == '\0') {
                        ps->p = q;
                        return fail(ps);
                }
                if (*q == '"')
                        break;
                /* a backslash: the escaped byte is skipped here, checked by unescape() — but
                 * for a NUL byte, an error wherever it is */
                escaped = true;
                if (ps->end - q > 1 && q[1] == '\0') {
                        ps->p = q + 1;
                        return fail(ps);
                }
                q += 2;
                if (q > ps->end) {
                        ps->p = ps->end;
                        return fail(ps);
                }
        }
        if (!escaped)
                o = q;
        else {
                o = unescape(ps, s, q, s, ret_nul);
                if (!o)
                        return fail(ps);
        }
        if ((size_t) (o - s) > UINT32_MAX) {
                ps->p = s;
                return fail(ps);
        }
        *o = '\0'; /* the closing quote, or a byte the decoding freed before it */
        *ret = s;
        *ret_len = (uint32_t) (o - s);
        ps->p = q + 1;
        return 0;
}

static locale_t c_locale(void) {
        static locale_t loc = (locale_t) 0;

        if (loc == (locale_t) 0)
                loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t) 0);
        return loc;
}

static int read_number(Parser *ps, FzdJson *v) {
        char *s = ps->p, *p = s;
        bool neg = false, integral = true, overflow = false;
        uint64_t u = 0;

        if (*p == '-') {
                neg = true;
                p++;
        }
        if (p < ps->end && *p == '0')
                p++;
        else if (p < ps->end && *p >= '1' && *p <= '9')
                for (; p < ps->end && *p >= '0' && *p <= '9'; p++) {
                        unsigned d = (unsigned) (*p - '0');
                        if (u > (UINT64_MAX - d) / 10)
                                overflow = true;
                        else
                                u = u * 10 + d;
                }
        else {
                ps->p = p;
                return fail(ps);
        }
        if (p < ps->end && *p == '.') {
                integral = false;
                if (++p >= ps->end || *p < '0' || *p > '9') {
                        ps->p = p;
                        return fail(ps);
                }
                while (p < ps->end && *p >= '0' && *p <= '9')
                        p++;
        }
        if (p < ps->end && (*p == 'e' || *p == 'E')) {
                integral = false;
                if (++p < ps->end && (*p == '+' || *p == '-'))
                        p++;
                if (p >= ps->end || *p < '0' || *p > '9') {
                        ps->p = p;
                        return fail(ps);
                }
                while (p < ps->end && *p >= '0' && *p <= '9')
                        p++;
        }
        ps->p = p;
        if (integral && !overflow && u <= (uint64_t) INT64_MAX + neg) {
                v->type = FZD_JSON_INT;
                v->u.i = neg ? (int64_t) (0 - u) : (int64_t) u;
                return 0;
        }
        {
                /* strtod() wants a NUL-terminated text: a copy (numbers are short). */
                size_t n = (size_t) (p - s);
                char small[64], *buf = n < sizeof small ? small : take(ps, n + 1);
                locale_t loc = c_locale();

                if (!buf)
                        return ps->error;
                if (loc == (locale_t) 0) {
                        ps->error = -ENOMEM;
                        return ps->error;
                }
                memcpy(buf, s, n);
                buf[n] = '\0';
                v->type = FZD_JSON_DOUBLE;
                v->u.d = strtod_l(buf, NULL, loc);
        }
        return 0;
}

/* ps->p ends at the first byte that differs, if one does. */
static int read_literal(Parser *ps, const char *word, size_t n) {
        for (size_t i = 0; i < n; i++, ps->p++)
                if (ps->p >= ps->end || *ps->p != word[i])
                        return fail(ps);
        return 0;
}

/* One more value on the scratch stack: its slot. */
static FzdJsonMember *push(Parser *ps) {
        if (ps->top == ps->cap) {
                size_t cap = ps->cap ? ps->cap * 2 : 256;
                FzdJsonMember *s;

                if (!charge(ps, (cap - ps->cap) * sizeof *s))
                        return NULL;
                s = realloc(ps->stack, cap * sizeof *s);
                if (!s) {
                        ps->error = -ENOMEM;
                        return NULL;
                }
                ps->stack = s;
                ps->cap = cap;
        }
        return &ps->stack[ps->top++];
}

/* Closes the innermost container: its values go from the scratch stack to the arena. */
static int close_container(Parser *ps, FzdJson *v) {
        Open *o = &ps->open[--ps->depth];
        size_t n = ps->top - o->base;
        /* The stack is NULL until the first value: no arithmetic on it for an empty container. */
        const FzdJsonMember *src = n ? ps->stack + o->base : NULL;

        v->type = o->type;
        v->nul = false;
        v->len = (uint32_t) n;
        if (o->type == FZD_JSON_OBJECT) {
                FzdJsonMember *m = n ? take(ps, n * sizeof *m) : NULL;
                if (n && !m)
                        return ps->error;
                if (n)
                        memcpy(m, src, n * sizeof *m);
                v->u.members = m;
        } else {
                FzdJson *items = n ? take(ps, n * sizeof *items) : NULL;
                if (n && !items)
                        return ps->error;
                for (size_t i = 0; i < n; i++)
                        items[i] = src[i].value;
                v->u.items = items;
        }
        ps->top = o->base;
        return 0;
}

/* ps->p is at a key's opening quote (or not, an error): the key goes on the stack, its value
 * follows. */
static int read_key(Parser *ps) {
        FzdJsonMember *m;
        bool nul; /* compared by length, a key needs no mark */

        if (ps->p >= ps->end || *ps->p != '"')
                return fail(ps);
        m = push(ps);
        if (!m)
                return ps->error;
        m->value = (FzdJson){ .type = FZD_JSON_NONE };
        /* Most keys are short and plain: the eight bytes after the quote hold all of one and
         * its closing quote (the first of '"', '\\' and NUL found there). The rest take the
         * long way. */
        if (ps->end - ps->p > 8) {
                char *s = ps->p + 1;
                uint64_t specials = word_specials(fzd_swar_load(s));
                size_t n = specials ? (size_t) __builtin_ctzll(specials) / 8 : 8;

                if (n < 8 && s[n] == '"') {
                        s[n] = '\0';
                        m->name = s;
                        m->name_len = (uint32_t) n;
                        m->name_head = head_of(s, n);
                        ps->p = s + n + 1;
                        goto colon;
                }
        }
        if (read_string(ps, &m->name, &m->name_len, &nul) < 0)
                return ps->error;
        m->name_head = head_of(m->name, m->name_len);
colon:
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':')
                return fail(ps);
        ps->p++;
        return 0;
}

/* Where the next value goes, as an index into the scratch stack (SIZE_MAX: the root): the
 * member whose key was just read, or a new element of an array. Each value is written once,
 * straight into its slot — a value built apart and then copied as a whole would wait for its
 * pieces' stores to land first (a store-forwarding stall, once the parse loop's largest cost). */
static int value_slot(Parser *ps, size_t *ret) {
        FzdJsonMember *m;

        if (ps->depth == 0)
                *ret = SIZE_MAX;
        else if (ps->open[ps->depth - 1].type == FZD_JSON_OBJECT)
                *ret = ps->top - 1; /* its key is there */
        else {
                m = push(ps);
                if (!m)
                        return ps->error;
                m->name = NULL;
                m->name_len = m->name_head = 0;
                *ret = ps->top - 1;
        }
        return 0;
}

static inline FzdJson *slot_at(Parser *ps, FzdJson *root, size_t slot) {
        return slot == SIZE_MAX ? root : &ps->stack[slot].value;
}

static int parse(Parser *ps, FzdJson *root) {
        for (;;) {
                FzdJson *v;
                size_t slot = SIZE_MAX;
                bool nul;

                /* A value. */
                skip_ws(ps);
                if (ps->p >= ps->end)
                        return fail(ps);
                if (value_slot(ps, &slot) < 0)
                        return ps->error;
                switch (*ps->p) {
                case '{':
                case '[':
                        if (ps->depth == FZD_JSON_MAX_DEPTH) {
                                ps->error = -ELOOP;
                                return ps->error;
                        }
                        ps->open[ps->depth++] = (Open){ .type = *ps->p == '{' ? FZD_JSON_OBJECT : FZD_JSON_ARRAY,
                                                        .base = ps->top,
                                                        .slot = slot };
                        ps->p++;
                        skip_ws(ps);
                        if (ps->p < ps->end && *ps->p == (ps->open[ps->depth - 1].type == FZD_JSON_OBJECT ? '}' : ']')) {
                                ps->p++;
                                if (close_container(ps, slot_at(ps, root, slot)) < 0)
                                        return ps->error;
                                break;
                        }
                        if (ps->open[ps->depth - 1].type == FZD_JSON_OBJECT && read_key(ps) < 0)
                                return ps->error;
                        continue; /* its first value */
                case '"':
                        v = slot_at(ps, root, slot);
                        v->type = FZD_JSON_STRING;
                        if (read_string(ps, &v->u.str, &v->len, &nul) < 0)
                                return ps->error;
                        v->nul = nul;
                        break;
                case 't':
                        *slot_at(ps, root, slot) = (FzdJson){ .type = FZD_JSON_BOOL, .u.b = true };
                        if (read_literal(ps, "true", 4) < 0)
                                return ps->error;
                        break;
                case 'f':
                        *slot_at(ps, root, slot) = (FzdJson){ .type = FZD_JSON_BOOL, .u.b = false };
                        if (read_literal(ps, "false", 5) < 0)
                                return ps->error;
                        break;
                case 'n':
                        *slot_at(ps, root, slot) = (FzdJson){ .type = FZD_JSON_NULL };
                        if (read_literal(ps, "null", 4) < 0)
                                return ps->error;
                        break;
                default:
                        if (*ps->p != '-' && (*ps->p < '0' || *ps->p > '9'))
                                return fail(ps);
                        v = slot_at(ps, root, slot);
                        *v = (FzdJson){};
                        if (read_number(ps, v) < 0)
                                return ps->error;
                        break;
                }

                /* A value is complete (in its slot): what follows it. Closing brackets complete
                 * their container in turn. */
                for (;;) {
                        Open *o;
                        char close;

                        if (ps->depth == 0) {
                                skip_ws(ps);
                                if (ps->p != ps->end)
                                        return fail(ps);
                                return 0;
                        }
                        o = &ps->open[ps->depth - 1];
                        close = o->type == FZD_JSON_OBJECT ? '}' : ']';
                        skip_ws(ps);
                        if (ps->p < ps->end && *ps->p == ',') {
                                ps->p++;
                                skip_ws(ps);
                                /* A trailing comma is let through, as json-parser did. */
                                if (ps->p < ps->end && *ps->p == close)
                                        goto closing;
                                if (o->type == FZD_JSON_OBJECT && read_key(ps) < 0)
                                        return ps->error;
                                break; /* the next value */
                        }
                        if (ps->p >= ps->end || *ps->p != close)
                                return fail(ps);
                closing:
                        ps->p++;
                        if (close_container(ps, slot_at(ps, root, o->slot)) < 0)
                                return ps->error;
                }
        }
}

/* Parses [text, text + len) in place, with the copy (if copy) in the arena's first chunk. */
static int parse_text(char *text, const char *copy, size_t len, size_t max_mem, FzdJsonArena **ret_arena,
                      const FzdJson **ret_root, size_t *ret_offset) {
        Parser *ps;
        FzdJson *root = NULL;
        int r;

        ps = calloc(1, sizeof *ps);
        if (!ps)
                return -ENOMEM;
        *ps = (Parser){ .max_mem = max_mem };
        ps->arena = calloc(1, sizeof *ps->arena);
        if (!ps->arena) {
                free(ps);
                return -ENOMEM;
        }
        /* The first chunk holds the copy of the text, if one is made, and the parsed values,
         * sized for a portal message: its values take a little more than its text (1.15
         * times for an init). A chunk is a populated mapping (big-alloc.h), so what it has
         * beyond that costs page faults for nothing: a later chunk, for a text of denser
         * values, is half the text's size. */
        if (len > SIZE_MAX / 4)
                ps->error = -E2BIG;
        else {
                ps->next_chunk = (copy ? len + 1 : 0) + len + len / 4 + ARENA_ALIGN;
                if (ps->next_chunk < ARENA_MIN_CHUNK)
                        ps->next_chunk = ARENA_MIN_CHUNK;
                if (copy) {
                        text = take(ps, len + 1);
                        if (text) {
                                if (len > 0)
                                        memcpy(text, copy, len);
                                text[len] = '\0';
                        }
                }
                if (text) {
                        ps->start = ps->p = text;
                        ps->end = text + len;
                        root = take(ps, sizeof *root);
                        ps->next_chunk = len / 2 > ARENA_MIN_CHUNK ? len / 2 : ARENA_MIN_CHUNK;
                }
        }
        r = root ? parse(ps, root) : ps->error;
        free(ps->stack);
        if (r < 0) {
                if (ret_offset)
                        *ret_offset = ps->start ? (size_t) (ps->p - ps->start) : 0;
                fzd_json_arena_free(ps->arena);
        } else {
                *ret_arena = ps->arena;
                *ret_root = root;
        }
        free(ps);
        return r;
}

int fzd_json_parse(const char *text, size_t len, size_t max_mem, FzdJsonArena **ret_arena, const FzdJson **ret_root,
                   size_t *ret_offset) {
        return parse_text(NULL, text ? text : "", len, max_mem, ret_arena, ret_root, ret_offset);
}

int fzd_json_parse_in_place(char *text, size_t len, size_t max_mem, FzdJsonArena **ret_arena,
                            const FzdJson **ret_root, size_t *ret_offset) {
        static char empty[1];

        return parse_text(text ? text : empty, NULL, len, max_mem, ret_arena, ret_root, ret_offset);
}

/* ---- reading values ------------------------------------------------------------------------- */

/* Beyond the first four bytes (the head, compared already), eight bytes at a time; the last
 * word ends at len (it may overlap the one before). Both a and b have len bytes. */
static inline bool same_tail(const char *a, const char *b, size_t len) {
        uint64_t x, y;
        uint32_t x4, y4;
        size_t i;

        if (len <= sizeof x4)
                return true;
        if (len < sizeof x) {
                memcpy(&x4, a + len - sizeof x4, sizeof x4);
                memcpy(&y4, b + len - sizeof y4, sizeof y4);
                return x4 == y4;
        }
        for (i = sizeof x4; i + sizeof x <= len; i += sizeof x) {
                memcpy(&x, a + i, sizeof x);
                memcpy(&y, b + i, sizeof y);
                if (x != y)
                        return false;
        }
        if (i < len) {
                memcpy(&x, a + len - sizeof x, sizeof x);
                memcpy(&y, b + len - sizeof y, sizeof y);
                return x == y;
        }
        return true;
}

void fzd_json_get_many(const FzdJson *v, const FzdJsonKey *keys, size_t n, const FzdJson **ret) {
        uint64_t found = 0, all;
        uint32_t next = 0;

        assert(n <= 64);
        all = n == 64 ? UINT64_MAX : (UINT64_C(1) << n) - 1;
        /* Members tend to come in the order the keys are given: each search starts at the key
         * after the last one found. */
        for (uint32_t i = 0; v && v->type == FZD_JSON_OBJECT && i < v->len && found != all; i++) {
                const FzdJsonMember *m = &v->u.members[i];

                for (size_t j = 0, k = next; j < n; j++, k = k + 1 == n ? 0 : k + 1)
                        if (m->name_head == keys[k].head && m->name_len == keys[k].len &&
                            same_tail(m->name, keys[k].name, keys[k].len)) {
                                if (!(found & (UINT64_C(1) << k))) { /* the first one counts */
                                        found |= UINT64_C(1) << k;
                                        ret[k] = &m->value;
                                }
                                next = k + 1 == n ? 0 : (uint32_t) (k + 1);
                                break;
                        }
        }
        /* The rest are absent: set one by one here (clearing all of them up front compiled to a
         * "rep stos", slow to start for a few words: a fifth of this function's time). */
        for (size_t k = 0; k < n; k++)
                if (!(found & (UINT64_C(1) << k)))
                        ret[k] = NULL;
}

const FzdJson *fzd_json_get(const FzdJson *v, const char *key) {
        size_t len = strlen(key);
        FzdJsonKey k = { .name = key, .len = (uint32_t) len, .head = head_of(key, len) };
        const FzdJson *ret;

        /* A key with a NUL of its own ("id\u0000x") is another key: compared by length too. */
        if (len > UINT32_MAX)
                return NULL;
        fzd_json_get_many(v, &k, 1, &ret);
        return ret;
}

