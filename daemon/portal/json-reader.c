/* SPDX-License-Identifier: Apache-2.0 */
/* The portal's JSON reader (see json-reader.h).
 *
 * One pass, no recursion: a container's values are kept on a scratch stack while it is open,
 * and copied into the arena in one piece when it closes (so an array's elements and an
 * object's members are contiguous, and no value is allocated alone). Strings are copied into
 * the arena as they are met; a string without escapes is found with eight bytes at a time and
 * copied with memcpy. Numbers without fraction or exponent that fit int64_t are read here;
 * the others go through strtod() in the C locale. */
#include <errno.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "json-reader.h"

/* ---- the arena ------------------------------------------------------------------------------- */

#define ARENA_ALIGN     8U
#define ARENA_MIN_CHUNK 16384U

/* Chunks of 1 MiB and more are mappings of their own, populated at once: an init's parsed
 * form (8 MB for 10,000 resources) is written straight through, and one mmap() that faults
 * every page in costs less than a page fault per 4 KiB as the copy goes. */
#define ARENA_POPULATE_MIN (1U << 20)

typedef struct Chunk {
        struct Chunk *next;
        size_t used, size;
        bool mapped;
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
                if (c->mapped)
                        (void) munmap(c, sizeof(Chunk) + c->size);
                else
                        free(c);
        }
        free(a);
        return NULL;
}

/* ---- the parser ------------------------------------------------------------------------------ */

typedef struct Open {
        uint8_t type; /* FZD_JSON_ARRAY or FZD_JSON_OBJECT */
        size_t base;  /* its first value on the scratch stack */
} Open;

typedef struct Parser {
        const char *start, *p, *end;
        FzdJsonArena *arena;
        size_t mem, max_mem;   /* arena chunks and scratch space taken, and the cap */
        FzdJsonMember *stack;  /* values of the open containers (name NULL in arrays) */
        size_t top, cap;
        Open open[FZD_JSON_MAX_DEPTH];
        size_t depth;
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
        if (size >= ARENA_POPULATE_MIN) {
                c = mmap(NULL, sizeof(Chunk) + size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                         -1, 0);
                if (c == MAP_FAILED)
                        c = NULL;
                else
                        c->mapped = true;
        } else if ((c = malloc(sizeof(Chunk) + size)))
                c->mapped = false;
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
                size_t want = c ? c->size * 2 : ARENA_MIN_CHUNK;

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

/* Eight bytes at a time: does the word hold '"' or '\\'? */
static inline bool word_has_special(uint64_t w) {
        const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
        uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');

        return (((q - ones) & ~q) | ((b - ones) & ~b)) & high;
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

/* Decodes the escaped text [s, e) (the string's bytes between its quotes) into o, which has
 * room for e - s bytes: an escape never decodes to more bytes than it takes. Returns the end,
 * or NULL with ps->p at the bad escape. */
static char *unescape(Parser *ps, const char *s, const char *e, char *o) {
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
                o = put_utf8(o, cp);
        }
        return o;
}

/* ps->p is at the opening quote. */
static int read_string(Parser *ps, const char **ret, uint32_t *ret_len) {
        const char *s = ps->p + 1, *q = s;
        bool escaped = false;
        char *out, *o;

        for (;;) {
                while (ps->end - q >= 8) {
                        uint64_t w;
                        memcpy(&w, q, 8);
                        if (word_has_special(w))
                                break;
                        q += 8;
                }
                while (q < ps->end && *q != '"' && *q != '\\')
                        q++;
                if (q >= ps->end) {
                        ps->p = q;
                        return fail(ps);
                }
                if (*q == '"')
                        break;
                /* a backslash: the escaped byte is skipped here, checked by unescape() */
                escaped = true;
                q += 2;
                if (q > ps->end) {
                        ps->p = ps->end;
                        return fail(ps);
                }
        }
        out = take(ps, (size_t) (q - s) + 1);
        if (!out)
                return ps->error;
        if (!escaped) {
                memcpy(out, s, (size_t) (q - s));
                o = out + (q - s);
        } else {
                o = unescape(ps, s, q, out);
                if (!o)
                        return fail(ps);
        }
        *o = '\0';
        *ret = out;
        *ret_len = (uint32_t) (o - out);
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
        const char *s = ps->p, *p = s;
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

static int read_literal(Parser *ps, const char *word, size_t n) {
        if ((size_t) (ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
                return fail(ps);
        ps->p += n;
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

        if (ps->p >= ps->end || *ps->p != '"')
                return fail(ps);
        m = push(ps);
        if (!m)
                return ps->error;
        m->value = (FzdJson){ .type = FZD_JSON_NONE };
        if (read_string(ps, &m->name, &m->name_len) < 0)
                return ps->error;
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':')
                return fail(ps);
        ps->p++;
        return 0;
}

static int parse(Parser *ps, FzdJson *root) {
        FzdJson v;

        for (;;) {
                /* A value. */
                skip_ws(ps);
                if (ps->p >= ps->end)
                        return fail(ps);
                v = (FzdJson){};
                switch (*ps->p) {
                case '{':
                case '[':
                        if (ps->depth == FZD_JSON_MAX_DEPTH) {
                                ps->error = -ELOOP;
                                return ps->error;
                        }
                        ps->open[ps->depth++] = (Open){ .type = *ps->p == '{' ? FZD_JSON_OBJECT : FZD_JSON_ARRAY,
                                                        .base = ps->top };
                        ps->p++;
                        skip_ws(ps);
                        if (ps->p < ps->end && *ps->p == (ps->open[ps->depth - 1].type == FZD_JSON_OBJECT ? '}' : ']')) {
                                ps->p++;
                                if (close_container(ps, &v) < 0)
                                        return ps->error;
                                break;
                        }
                        if (ps->open[ps->depth - 1].type == FZD_JSON_OBJECT && read_key(ps) < 0)
                                return ps->error;
                        continue; /* its first value */
                case '"':
                        v.type = FZD_JSON_STRING;
                        if (read_string(ps, &v.u.str, &v.len) < 0)
                                return ps->error;
                        break;
                case 't':
                        v = (FzdJson){ .type = FZD_JSON_BOOL, .u.b = true };
                        if (read_literal(ps, "true", 4) < 0)
                                return ps->error;
                        break;
                case 'f':
                        v = (FzdJson){ .type = FZD_JSON_BOOL, .u.b = false };
                        if (read_literal(ps, "false", 5) < 0)
                                return ps->error;
                        break;
                case 'n':
                        v = (FzdJson){ .type = FZD_JSON_NULL };
                        if (read_literal(ps, "null", 4) < 0)
                                return ps->error;
                        break;
                default:
                        if (*ps->p != '-' && (*ps->p < '0' || *ps->p > '9'))
                                return fail(ps);
                        if (read_number(ps, &v) < 0)
                                return ps->error;
                        break;
                }

                /* A value is complete: where it goes, and what follows it. Closing brackets
                 * complete their container in turn. */
                for (;;) {
                        Open *o;
                        char close;

                        if (ps->depth == 0) {
                                skip_ws(ps);
                                if (ps->p != ps->end)
                                        return fail(ps);
                                *root = v;
                                return 0;
                        }
                        o = &ps->open[ps->depth - 1];
                        if (o->type == FZD_JSON_OBJECT)
                                ps->stack[ps->top - 1].value = v; /* its key is there */
                        else {
                                FzdJsonMember *m = push(ps);
                                if (!m)
                                        return ps->error;
                                *m = (FzdJsonMember){ .value = v };
                        }
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
                        if (close_container(ps, &v) < 0)
                                return ps->error;
                }
        }
}

int fzd_json_parse(const char *text, size_t len, size_t max_mem, FzdJsonArena **ret_arena, const FzdJson **ret_root,
                   size_t *ret_offset) {
        Parser *ps;
        FzdJson *root;
        int r;

        ps = calloc(1, sizeof *ps);
        if (!ps)
                return -ENOMEM;
        *ps = (Parser){ .start = text, .p = text, .end = text + len, .max_mem = max_mem };
        ps->arena = calloc(1, sizeof *ps->arena);
        if (!ps->arena) {
                free(ps);
                return -ENOMEM;
        }
        /* The parsed form of a portal message takes two to three times its text: the first
         * chunk holds the text's size, the next twice that. */
        if (len > ARENA_MIN_CHUNK && !grow(ps, len))
                root = NULL;
        else
                root = take(ps, sizeof *root);
        r = root ? parse(ps, root) : ps->error;
        free(ps->stack);
        if (r < 0) {
                if (ret_offset)
                        *ret_offset = (size_t) (ps->p - ps->start);
                fzd_json_arena_free(ps->arena);
        } else {
                *ret_arena = ps->arena;
                *ret_root = root;
        }
        free(ps);
        return r;
}

/* ---- reading values ------------------------------------------------------------------------- */

FzdJsonType fzd_json_type(const FzdJson *v) {
        return v ? (FzdJsonType) v->type : FZD_JSON_NONE;
}

const FzdJson *fzd_json_get(const FzdJson *v, const char *key) {
        size_t len;

        if (!v || v->type != FZD_JSON_OBJECT)
                return NULL;
        len = strlen(key);
        /* Compared by length too: a key with a NUL of its own ("id\u0000x") is another key. */
        for (uint32_t i = 0; i < v->len; i++) {
                const FzdJsonMember *m = &v->u.members[i];
                if (m->name_len == len && memcmp(m->name, key, len) == 0)
                        return &m->value;
        }
        return NULL;
}

size_t fzd_json_array_size(const FzdJson *v) {
        return v && v->type == FZD_JSON_ARRAY ? v->len : 0;
}

const FzdJson *fzd_json_array_at(const FzdJson *v, size_t i) {
        return i < fzd_json_array_size(v) ? &v->u.items[i] : NULL;
}

const char *fzd_json_string(const FzdJson *v, size_t *ret_len) {
        if (!v || v->type != FZD_JSON_STRING)
                return NULL;
        if (ret_len)
                *ret_len = v->len;
        return v->u.str;
}

bool fzd_json_int(const FzdJson *v, int64_t *ret) {
        if (!v || v->type != FZD_JSON_INT)
                return false;
        *ret = v->u.i;
        return true;
}

bool fzd_json_bool(const FzdJson *v, bool *ret) {
        if (!v || v->type != FZD_JSON_BOOL)
                return false;
        *ret = v->u.b;
        return true;
}
