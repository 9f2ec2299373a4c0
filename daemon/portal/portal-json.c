/* SPDX-License-Identifier: Apache-2.0 */
/* Portal JSON → engine types. Field names follow Firezone's client protocol (see
 * docs/portal-protocol.md). Unknown fields are ignored; an element with a known field of the
 * wrong type or an unusable value is skipped (see portal-json.h for the three levels). The
 * text is read by json-reader.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "big-alloc.h"
#include "log.h"
#include "portal-json.h"
#include "swar.h"
#include "text.h"

/* Whatever one init may carry fits the table. */
_Static_assert(FZD_PORTAL_MAX_RESOURCES <= FZD_RESOURCE_TABLE_MAX, "init may carry more than the table holds");

/* ---- documents ------------------------------------------------------------------------------- */

/* data is copied, or owned (taken, read in place, freed with the document or on failure). */
static int doc_parse(const char *data, char *owned, size_t len, FzdPortalDoc *ret, const char **ret_reason) {
        _cleanup_(fzd_big_freep) char *text = owned;
        FzdJsonArena *a = NULL;
        const FzdJson *root = NULL;
        size_t offset = 0;
        int r;

        *ret = (FzdPortalDoc){};
        if (!data || len == 0) {
                *ret_reason = "the frame is empty";
                return -EBADMSG;
        }
        if (len > FZD_PORTAL_MAX_FRAME) {
                *ret_reason = "the frame is too large";
                return -EMSGSIZE;
        }
        /* A NUL byte is an error to the reader (its offset says where). */
        if (text)
                r = fzd_json_parse_in_place(text, len, FZD_PORTAL_MAX_PARSED, &a, &root, &offset);
        else
                r = fzd_json_parse(data, len, FZD_PORTAL_MAX_PARSED, &a, &root, &offset);
        switch (r) {
        case 0:
                *ret = (FzdPortalDoc){ .arena = a, .root = root, .text = TAKE_PTR(text) };
                return 0;
        case -E2BIG:
                *ret_reason = "the frame takes too much memory to parse";
                return -EBADMSG;
        case -ELOOP:
                *ret_reason = "the frame is nested too deeply";
                return -EBADMSG;
        case -ENOMEM:
                *ret_reason = "out of memory";
                return -ENOMEM;
        default:
                if (offset < len && data[offset] == '\0') {
                        *ret_reason = "the frame contains a NUL byte";
                        return -EBADMSG;
                }
                /* Where, not what: the log never quotes the input. */
                log_debug("Portal frame: not JSON at byte %zu of %zu.", offset, len);
                *ret_reason = "the frame is not valid JSON";
                return -EBADMSG;
        }
}

int fzd_portal_doc_parse(const char *data, size_t len, FzdPortalDoc *ret, const char **ret_reason) {
        return doc_parse(data, NULL, len, ret, ret_reason);
}

void fzd_portal_doc_done(FzdPortalDoc *d) {
        if (!d)
                return;
        fzd_json_arena_free(d->arena);
        fzd_big_free(d->text);
        *d = (FzdPortalDoc){};
}

/* A JSON string without embedded NUL, of at most max bytes (its length in *ret_len). */
static const char *string_ok(const FzdJson *v, size_t max, size_t *ret_len) {
        size_t len;
        const char *s = fzd_json_text(v, &len);

        if (!s || len > max)
                return NULL;
        if (ret_len)
                *ret_len = len;
        return s;
}

/* Looks up key; *ret is NULL if absent or JSON null. -EINVAL if present with another type,
 * too long, or with a NUL. */
static int get_string(const FzdJson *obj, const char *key, size_t max, const char **ret, size_t *ret_len) {
        const FzdJson *v = fzd_json_get(obj, key);

        *ret = NULL;
        if (ret_len)
                *ret_len = 0;
        if (fzd_json_is_null(v))
                return 0;
        *ret = string_ok(v, max, ret_len);
        return *ret ? 0 : -EINVAL;
}

bool fzd_portal_text_ok(const char *s) {
        return fzd_text_is_clean_utf8(s, strlen(s));
}

/* ---- frames ---------------------------------------------------------------------------------- */

void fzd_portal_frame_done(FzdPortalFrame *f) {
        if (!f)
                return;
        fzd_portal_doc_done(&f->doc);
        *f = (FzdPortalFrame){};
}

static int parse_ref(const FzdJson *v, uint64_t *ret, const char **ret_reason) {
        const char *s;
        char *end = NULL;
        unsigned long long u;
        int64_t i;

        if (fzd_json_int(v, &i)) {
                if (i < 0) {
                        *ret_reason = "\"ref\" is negative";
                        return -EINVAL;
                }
                *ret = (uint64_t) i;
                return 0;
        }
        s = string_ok(v, 20, NULL);
        if (!s) {
                *ret_reason = "\"ref\" is neither null, an integer nor a string";
                return -EINVAL;
        }
        if (*s < '0' || *s > '9') {
                *ret_reason = "\"ref\" is not a number";
                return -EINVAL;
        }
        errno = 0;
        u = strtoull(s, &end, 10);
        if (errno != 0 || !end || *end != 0) {
                *ret_reason = "\"ref\" is not a number";
                return -EINVAL;
        }
        *ret = u;
        return 0;
}

static int frame_parse(const char *data, char *owned, size_t len, FzdPortalFrame *ret, const char **ret_reason) {
        FzdPortalFrame f = {};
        const FzdJson *root, *v;
        const char *reason;
        int r;

        *ret = (FzdPortalFrame){};
        r = doc_parse(data, owned, len, &f.doc, ret_reason);
        if (r < 0)
                return r;

        root = f.doc.root;
        if (fzd_json_type(root) != FZD_JSON_OBJECT) {
                reason = "the frame is not a JSON object";
                goto invalid;
        }
        r = get_string(root, "topic", 256, &f.topic, NULL);
        if (r < 0 || !f.topic) {
                reason = "\"topic\" is missing or not a string";
                goto invalid;
        }
        r = get_string(root, "event", 256, &f.event, NULL);
        if (r < 0 || !f.event) {
                reason = "\"event\" is missing or not a string";
                goto invalid;
        }
        /* Both are logged (unknown events and topics, at debug level). */
        if (!fzd_portal_text_ok(f.topic) || !fzd_portal_text_ok(f.event)) {
                reason = "\"topic\" or \"event\" is not UTF-8 or contains control characters";
                goto invalid;
        }
        v = fzd_json_get(root, "payload");
        if (!fzd_json_is_null(v))
                f.payload = v;
        v = fzd_json_get(root, "ref");
        if (!fzd_json_is_null(v)) {
                if (parse_ref(v, &f.ref, &reason) < 0)
                        goto invalid;
                f.has_ref = true;
        }

        *ret = f;
        return 0;

invalid:
        fzd_portal_frame_done(&f);
        *ret_reason = reason;
        return -EINVAL;
}

int fzd_portal_frame_parse(const char *data, size_t len, FzdPortalFrame *ret, const char **ret_reason) {
        return frame_parse(data, NULL, len, ret, ret_reason);
}

int fzd_portal_frame_parse_owned(char *data, size_t len, FzdPortalFrame *ret, const char **ret_reason) {
        return frame_parse(data, data, len, ret, ret_reason);
}

int fzd_portal_reply_parse(const FzdJson *payload, bool *ret_ok, const char **ret_error_reason) {
        const char *status = NULL, *reason = NULL;
        const FzdJson *response;

        *ret_error_reason = NULL;
        if (fzd_json_type(payload) != FZD_JSON_OBJECT)
                return -EINVAL;
        if (get_string(payload, "status", 64, &status, NULL) < 0 || !status)
                return -EINVAL;
        if (streq(status, "ok")) {
                *ret_ok = true;
                return 0;
        }
        if (!streq(status, "error"))
                return -EINVAL;
        *ret_ok = false;
        *ret_error_reason = "unknown";
        response = fzd_json_get(payload, "response");
        /* Shown to the user (LastError) and logged. */
        if (get_string(response, "reason", 128, &reason, NULL) >= 0 && reason)
                *ret_error_reason = fzd_portal_text_ok(reason) ? reason
                                                               : "a reason with control characters, not shown";
        return 0;
}

int fzd_portal_disconnect_reason(const FzdJson *payload, const char **ret) {
        *ret = NULL;
        if (fzd_json_type(payload) != FZD_JSON_OBJECT)
                return -EINVAL;
        return get_string(payload, "reason", 128, ret, NULL);
}

/* ---- tolerance ---------------------------------------------------------------------------------- */

int fzd_portal_bad(FzdPortalElement *e, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        (void) vsnprintf(e->why, sizeof e->why, format, ap);
        va_end(ap);
        return -EINVAL;
}

/* "site 1 of resource 7f1c…": the element, then what it belongs to (by id, if known). */
static void describe(const FzdPortalElement *e, char *buf, size_t size) {
        const FzdPortalElement *p = e->parent;
        char index[32] = "", id[FZD_PORTAL_MAX_ID + 4] = "";

        if (e->index != FZD_PORTAL_NO_INDEX)
                (void) snprintf(index, sizeof index, " %zu", e->index);
        if (e->id)
                (void) snprintf(id, sizeof id, e->index != FZD_PORTAL_NO_INDEX ? " (%s)" : " %s", e->id);
        if (p)
                (void) snprintf(buf, size, "%s%s%s of %s%s%s", e->what ?: "element", index, id, p->what ?: "element",
                                p->id ? " " : "", strempty(p->id));
        else
                (void) snprintf(buf, size, "%s%s%s", e->what ?: "element", index, id);
}

void fzd_portal_skip(FzdPortalSkips *s, const FzdPortalElement *e) {
        char name[2 * FZD_PORTAL_MAX_ID + 200];
        int level = LOG_WARNING;

        s->skipped++;
        if (s->logged >= FZD_PORTAL_SKIPS_LOGGED)
                level = LOG_DEBUG;
        else
                s->logged++;
        if (level > fzd_log_get_max_level())
                return; /* a hostile list of millions: not even formatted */
        describe(e, name, sizeof name);
        log_full(level, "Portal: skipping %s of %s: %s.", name, s->where ?: "a message",
                 e->why[0] ? e->why : "it cannot be used");
}

void fzd_portal_skip_unknown(FzdPortalSkips *s, const FzdPortalElement *e) {
        char name[2 * FZD_PORTAL_MAX_ID + 200];

        s->unknown++;
        if (LOG_DEBUG > fzd_log_get_max_level())
                return;
        describe(e, name, sizeof name);
        log_debug("Portal: ignoring %s of %s: a kind this client does not know.", name, s->where ?: "a message");
}

void fzd_portal_skips_done(FzdPortalSkips *s) {
        if (s->skipped > s->logged)
                log_warning("Portal: skipped %u more elements of %s (only the first %u are logged).",
                            s->skipped - s->logged, s->where ?: "a message", s->logged);
}

int fzd_portal_each(const FzdJson *list, FzdPortalSkips *s, const char *what, const FzdPortalElement *parent,
                    size_t max, FzdPortalElementParse parse, void *userdata) {
        size_t n;

        if (fzd_json_is_null(list))
                return 0;
        if (fzd_json_type(list) != FZD_JSON_ARRAY)
                return -EINVAL;
        n = fzd_json_array_size(list);
        for (size_t i = 0; i < n && i < max; i++) {
                FzdPortalElement e;
                int k;

                /* Field by field: zeroing all of it (the reason's 200 bytes) for each of an
                 * init's 10,000 resources cost more than reading the resource's id. */
                e.what = what;
                e.parent = parent;
                e.index = i;
                e.id = NULL;
                e.why[0] = '\0';
                k = parse(fzd_json_array_at(list, i), &e, userdata);

                if (k == -EOPNOTSUPP)
                        fzd_portal_skip_unknown(s, &e);
                else if (k == -EINVAL)
                        fzd_portal_skip(s, &e);
                else if (k < 0)
                        return k;
        }
        if (n > max) {
                FzdPortalElement e = { .what = what, .parent = parent, .index = FZD_PORTAL_NO_INDEX };
                (void) fzd_portal_bad(&e, "the list has %zu entries; only the first %zu are used", n, max);
                fzd_portal_skip(s, &e);
        }
        return 0;
}

/* ---- field readers ---------------------------------------------------------------------------- */

/* Eight bytes of an id (swar.h): each from '!' to '~', none '"' or '\\'. */
static inline bool word_is_id(uint64_t w) {
        return !(fzd_swar_high(w) | fzd_swar_below(w, 0x21) | fzd_swar_eq(w, 0x7f) | fzd_swar_eq(w, '"') |
                 fzd_swar_eq(w, '\\'));
}

#ifdef __SSE2__
/* Sixteen bytes of an id, as word_is_id(). Signed compares: bytes from 0x80 up are negative. */
static inline bool vector_is_id(const char *s) {
        __m128i v = _mm_loadu_si128((const __m128i *) (const void *) s);
        __m128i printable = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(0x20)), _mm_cmplt_epi8(v, _mm_set1_epi8(0x7f)));
        __m128i quote = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));

        return _mm_movemask_epi8(_mm_andnot_si128(quote, printable)) == 0xffff;
}
#endif

/* Ids: printable ASCII without spaces or quotes (the portal sends UUIDs). Whole blocks, the
 * last one ending at the last byte (overlapping the one before): no byte-by-byte tail for a
 * UUID's 36 bytes. */
static bool id_ok(const char *s, size_t len) {
        size_t i = 0;

        if (len == 0)
                return false;
#ifdef __SSE2__
        if (len >= 16) {
                for (; len - i > 16; i += 16)
                        if (!vector_is_id(s + i))
                                return false;
                return vector_is_id(s + len - 16);
        }
#endif
        if (len >= 8) {
                for (; len - i > 8; i += 8)
                        if (!word_is_id(fzd_swar_load(s + i)))
                                return false;
                return word_is_id(fzd_swar_load(s + len - 8));
        }
        for (; i < len; i++)
                if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == '"' || s[i] == '\\')
                        return false;
        return true;
}

/* The checks of a field's value (found by fzd_json_get()); key is for the log line. */

static int value_string(const FzdJson *v, const char *key, size_t max, bool required, FzdPortalElement *e,
                        const char **ret, size_t *ret_len) {
        *ret = NULL;
        if (ret_len)
                *ret_len = 0;
        if (!fzd_json_is_null(v) && !(*ret = string_ok(v, max, ret_len)))
                return fzd_portal_bad(e, "\"%s\" is not a string of at most %zu bytes", key, max);
        if (!*ret && required)
                return fzd_portal_bad(e, "\"%s\" is missing", key);
        return 0;
}

static int value_id(const FzdJson *v, const char *key, FzdPortalElement *e, const char **ret, size_t *ret_len) {
        size_t len;
        int k = value_string(v, key, FZD_PORTAL_MAX_ID, true, e, ret, &len);

        if (ret_len)
                *ret_len = len;
        if (k < 0)
                return k;
        if (!id_ok(*ret, len)) {
                *ret = NULL;
                return fzd_portal_bad(e, "\"%s\" is not an id", key);
        }
        if (!e->id)
                e->id = *ret;
        return 0;
}

static int value_text(const FzdJson *v, const char *key, size_t max, bool required, FzdPortalElement *e,
                      const char **ret, size_t *ret_len) {
        size_t len;
        int k = value_string(v, key, max, required, e, ret, &len);

        if (ret_len)
                *ret_len = len;
        if (k < 0)
                return k;
        if (!*ret)
                *ret = "";
        if (!fzd_text_is_clean_utf8(*ret, len))
                return fzd_portal_bad(e, "\"%s\" is not UTF-8 or has control characters", key);
        return 0;
}

static int value_container(const FzdJson *v, const char *key, FzdJsonType type, FzdPortalElement *e,
                           const FzdJson **ret) {
        *ret = NULL;
        if (fzd_json_is_null(v))
                return 0;
        if (fzd_json_type(v) != type)
                return fzd_portal_bad(e, "\"%s\" is not %s", key, type == FZD_JSON_ARRAY ? "a list" : "an object");
        *ret = v;
        return 0;
}

int fzd_portal_field_string(const FzdJson *obj, const char *key, size_t max, bool required, FzdPortalElement *e,
                            const char **ret) {
        return value_string(fzd_json_get(obj, key), key, max, required, e, ret, NULL);
}

int fzd_portal_field_id(const FzdJson *obj, const char *key, FzdPortalElement *e, const char **ret) {
        return value_id(fzd_json_get(obj, key), key, e, ret, NULL);
}

int fzd_portal_field_text(const FzdJson *obj, const char *key, size_t max, bool required, FzdPortalElement *e,
                          const char **ret) {
        return value_text(fzd_json_get(obj, key), key, max, required, e, ret, NULL);
}

int fzd_portal_field_int(const FzdJson *obj, const char *key, int64_t min, int64_t max, FzdPortalElement *e,
                         int64_t *ret) {
        const FzdJson *v = fzd_json_get(obj, key);
        int64_t i;

        if (fzd_json_is_null(v))
                return 0;
        if (!fzd_json_int(v, &i) || i < min || i > max)
                return fzd_portal_bad(e, "\"%s\" is not an integer from %" PRIi64 " to %" PRIi64, key, min, max);
        *ret = i;
        return 0;
}

int fzd_portal_field_array(const FzdJson *obj, const char *key, FzdPortalElement *e, const FzdJson **ret) {
        return value_container(fzd_json_get(obj, key), key, FZD_JSON_ARRAY, e, ret);
}

int fzd_portal_field_object(const FzdJson *obj, const char *key, FzdPortalElement *e, const FzdJson **ret) {
        return value_container(fzd_json_get(obj, key), key, FZD_JSON_OBJECT, e, ret);
}

/* ---- value checks ----------------------------------------------------------------------------- */

/* "10.0.0.0/24", "fd00::/64", or a bare address; the prefix must fit the family. */
static bool cidr_ok(const char *s) {
        char buf[INET6_ADDRSTRLEN + 8];
        const char *slash;
        size_t addr_len;
        unsigned char addr[sizeof(struct in6_addr)];
        unsigned max, prefix = 0;

        slash = strchr(s, '/');
        addr_len = slash ? (size_t) (slash - s) : strlen(s);
        if (addr_len == 0 || addr_len >= INET6_ADDRSTRLEN)
                return false;
        memcpy(buf, s, addr_len);
        buf[addr_len] = 0;
        if (inet_pton(AF_INET, buf, addr) == 1)
                max = 32;
        else if (inet_pton(AF_INET6, buf, addr) == 1)
                max = 128;
        else
                return false;
        if (!slash)
                return true;
        slash++;
        if (!*slash || strlen(slash) > 3)
                return false;
        for (const char *p = slash; *p; p++) {
                if (*p < '0' || *p > '9')
                        return false;
                prefix = prefix * 10 + (unsigned) (*p - '0');
        }
        if (slash[0] == '0' && slash[1] != 0)
                return false;
        return prefix <= max;
}

/* DNS resource address: a name, possibly with wildcard labels ("*.corp", "**.corp", "?.corp"). */
static bool dns_pattern_ok(const char *s) {
        size_t len = strlen(s), label = 0;

        if (len == 0 || len > 253 + 3)
                return false;
        for (const char *p = s; *p; p++) {
                char c = *p;
                if (c == '.') {
                        if (label == 0 && p != s + len - 1)
                                return false;
                        label = 0;
                        continue;
                }
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '_' || c == '*' || c == '?'))
                        return false;
                if (++label > 63)
                        return false;
        }
        return true;
}

static bool domain_ok(const char *s) {
        if (strchr(s, '*') || strchr(s, '?'))
                return false;
        return dns_pattern_ok(s);
}

/* ---- interface ----------------------------------------------------------------------------------- */

static int add_upstream(FzdInterfaceConfig *c, const char *ip, unsigned port) {
        int family;
        unsigned char addr[sizeof(struct in6_addr)];

        if (inet_pton(AF_INET, ip, addr) == 1)
                family = AF_INET;
        else if (inet_pton(AF_INET6, ip, addr) == 1)
                family = AF_INET6;
        else
                return -EINVAL;
        if (c->n_upstream_dns >= FZD_MAX_UPSTREAM_DNS)
                return 0; /* more than we use; the rest is ignored */
        c->upstream_dns[c->n_upstream_dns].family = family;
        if (family == AF_INET)
                memcpy(&c->upstream_dns[c->n_upstream_dns].addr.in, addr, sizeof(struct in_addr));
        else
                memcpy(&c->upstream_dns[c->n_upstream_dns].addr.in6, addr, sizeof(struct in6_addr));
        c->upstream_dns[c->n_upstream_dns].port = port;
        c->n_upstream_dns++;
        return 0;
}

/* Legacy "upstream_dns" entry address: "1.1.1.1:53" or "[2606:4700::1111]:53". */
static int parse_ip_port(const char *s, char *ip, size_t ip_size, unsigned *ret_port) {
        const char *colon, *host = s;
        size_t host_len;
        unsigned long port;
        char *end = NULL;

        if (s[0] == '[') {
                const char *close = strchr(s, ']');
                if (!close || close[1] != ':')
                        return -EINVAL;
                host = s + 1;
                host_len = (size_t) (close - host);
                colon = close + 1;
        } else {
                colon = strrchr(s, ':');
                if (!colon || memchr(s, ':', (size_t) (colon - s)))
                        return -EINVAL;
                host_len = (size_t) (colon - s);
        }
        if (host_len == 0 || host_len >= ip_size)
                return -EINVAL;
        memcpy(ip, host, host_len);
        ip[host_len] = 0;
        if (colon[1] < '0' || colon[1] > '9')
                return -EINVAL;
        errno = 0;
        port = strtoul(colon + 1, &end, 10);
        if (errno != 0 || !end || *end != 0 || port == 0 || port > 65535)
                return -EINVAL;
        *ret_port = (unsigned) port;
        return 0;
}

/* upstream_do53 entry: {"ip": "1.1.1.1"}. */
static int parse_do53(const FzdJson *v, FzdPortalElement *e, void *userdata) {
        const char *ip;
        int k;

        if (fzd_json_type(v) != FZD_JSON_OBJECT)
                return fzd_portal_bad(e, "it is not an object");
        k = fzd_portal_field_string(v, "ip", 64, true, e, &ip);
        if (k < 0)
                return k;
        if (add_upstream(userdata, ip, 53) < 0)
                return fzd_portal_bad(e, "\"ip\" is not an IP address");
        return 0;
}

/* upstream_dns entry (legacy): {"protocol": "ip_port", "address": "1.1.1.1:53"}. */
static int parse_legacy_upstream(const FzdJson *v, FzdPortalElement *e, void *userdata) {
        const char *protocol, *address;
        char ip[INET6_ADDRSTRLEN];
        unsigned port;
        int k;

        if (fzd_json_type(v) != FZD_JSON_OBJECT)
                return fzd_portal_bad(e, "it is not an object");
        k = fzd_portal_field_string(v, "protocol", 32, false, e, &protocol);
        if (k >= 0)
                k = fzd_portal_field_string(v, "address", 128, true, e, &address);
        if (k < 0)
                return k;
        if (protocol && !streq(protocol, "ip_port"))
                return -EOPNOTSUPP; /* a kind of server this client does not use */
        if (parse_ip_port(address, ip, sizeof ip, &port) < 0 || add_upstream(userdata, ip, port) < 0)
                return fzd_portal_bad(e, "\"address\" is not address:port");
        return 0;
}

/* An interface address: a bad one is skipped (its family stays off). */
static void interface_address(const FzdJson *o, FzdPortalSkips *s, const char *key, int family, void *addr,
                              bool *ret_has) {
        FzdPortalElement e = { .what = family == AF_INET ? "IPv4 address of the interface"
                                                         : "IPv6 address of the interface",
                               .index = FZD_PORTAL_NO_INDEX };
        const char *v;

        *ret_has = false;
        if (fzd_portal_field_string(o, key, 64, false, &e, &v) < 0 ||
            (v && inet_pton(family, v, addr) != 1 && fzd_portal_bad(&e, "\"%s\" is not an %s address", key,
                                                                    family == AF_INET ? "IPv4" : "IPv6") < 0)) {
                fzd_portal_skip(s, &e);
                return;
        }
        *ret_has = v != NULL;
}

static void interface_upstreams(const FzdJson *o, FzdPortalSkips *s, const char *key, const char *what,
                                FzdPortalElementParse parse, FzdInterfaceConfig *c) {
        FzdPortalElement e = { .what = "upstream server list", .index = FZD_PORTAL_NO_INDEX };
        const FzdJson *list;

        if (fzd_portal_field_array(o, key, &e, &list) < 0) {
                fzd_portal_skip(s, &e);
                return;
        }
        (void) fzd_portal_each(list, s, what, NULL, FZD_PORTAL_MAX_UPSTREAMS, parse, c);
}

int fzd_portal_interface_parse(const FzdJson *o, FzdPortalSkips *s, FzdInterfaceConfig *ret, char *err,
                               size_t err_size) {
        FzdInterfaceConfig c = {};
        FzdPortalElement e = { .what = "search domain", .index = FZD_PORTAL_NO_INDEX };
        const char *domain;

        if (fzd_json_type(o) != FZD_JSON_OBJECT) {
                (void) snprintf(err, err_size, "\"interface\" is missing or not an object");
                return -EINVAL;
        }
        interface_address(o, s, "ipv4", AF_INET, &c.ipv4, &c.has_ipv4);
        interface_address(o, s, "ipv6", AF_INET6, &c.ipv6, &c.has_ipv6);
        if (!c.has_ipv4 && !c.has_ipv6) {
                (void) snprintf(err, err_size, "the interface has no usable \"ipv4\" or \"ipv6\" address");
                return -EINVAL;
        }

        if (fzd_portal_field_string(o, "search_domain", 253, false, &e, &domain) < 0 ||
            (!isempty(domain) && !domain_ok(domain) && fzd_portal_bad(&e, "it is not a domain name") < 0))
                fzd_portal_skip(s, &e);
        else if (!isempty(domain))
                (void) snprintf(c.search_domain, sizeof c.search_domain, "%s", domain);

        /* Newer portals send "upstream_do53": [{"ip": "1.1.1.1"}]; older ones only the legacy
         * "upstream_dns": [{"protocol": "ip_port", "address": "1.1.1.1:53"}]. Prefer the former. */
        interface_upstreams(o, s, "upstream_do53", "upstream_do53 server", parse_do53, &c);
        if (c.n_upstream_dns == 0)
                interface_upstreams(o, s, "upstream_dns", "upstream_dns server", parse_legacy_upstream, &c);

        *ret = c;
        return 0;
}

/* ---- resources ----------------------------------------------------------------------------------- */

/* The sites and filters found so far: the sites' strings are the document's, copied when
 * the resource is made. */
typedef struct Parts {
        const char *site_ids[FZD_PORTAL_MAX_SITES];
        const char *site_names[FZD_PORTAL_MAX_SITES];
        size_t site_id_lens[FZD_PORTAL_MAX_SITES], site_name_lens[FZD_PORTAL_MAX_SITES];
        size_t n_sites;
        FzdResourceFilter filters[FZD_RESOURCE_MAX_FILTERS];
        size_t n_filters;
} Parts;

static int parse_site(const FzdJson *v, FzdPortalElement *e, void *userdata) {
        enum { ID, NAME, N_FIELDS };
        const FzdJsonKey keys[N_FIELDS] = { [ID] = FZD_JSON_KEY("id"), [NAME] = FZD_JSON_KEY("name") };
        const FzdJson *f[N_FIELDS];
        Parts *p = userdata;
        const char *id, *name;
        int k;

        if (fzd_json_type(v) != FZD_JSON_OBJECT)
                return fzd_portal_bad(e, "it is not an object");
        fzd_json_get_many(v, keys, N_FIELDS, f);
        k = value_id(f[ID], "id", e, &id, &p->site_id_lens[p->n_sites]);
        if (k >= 0)
                k = value_text(f[NAME], "name", FZD_PORTAL_MAX_NAME, false, e, &name, &p->site_name_lens[p->n_sites]);
        if (k < 0)
                return k;
        p->site_ids[p->n_sites] = id;
        p->site_names[p->n_sites] = name;
        p->n_sites++;
        return 0;
}

/* Sites ("gateway_groups" in the portal's words; newer ones may say "sites"): a bad site is
 * skipped, the resource stays. */
static int parse_sites(const FzdJson *gateway_groups, const FzdJson *sites, FzdPortalSkips *s,
                       FzdPortalElement *e, Parts *p) {
        const FzdJson *list;
        int k;

        k = value_container(gateway_groups, "gateway_groups", FZD_JSON_ARRAY, e, &list);
        if (k >= 0 && !list)
                k = value_container(sites, "sites", FZD_JSON_ARRAY, e, &list);
        if (k < 0 || !list)
                return k;
        return fzd_portal_each(list, s, "site", e, FZD_PORTAL_MAX_SITES, parse_site, p);
}

/* A filter entry: {protocol tcp|udp, port_range_start, port_range_end} or {protocol icmp}. */
static int parse_filter(const FzdJson *v, FzdPortalElement *e, void *userdata) {
        Parts *p = userdata;
        FzdResourceFilter f = {};
        int64_t start = 0, end = 65535;
        const char *proto;
        int k;

        if (fzd_json_type(v) != FZD_JSON_OBJECT)
                return fzd_portal_bad(e, "it is not an object");
        k = fzd_portal_field_string(v, "protocol", 16, true, e, &proto);
        if (k < 0)
                return k;
        if (streq(proto, "icmp"))
                f.protocol = 1;
        else if (streq(proto, "tcp") || streq(proto, "udp")) {
                f.protocol = streq(proto, "tcp") ? 6 : 17;
                k = fzd_portal_field_int(v, "port_range_start", 0, 65535, e, &start);
                if (k >= 0)
                        k = fzd_portal_field_int(v, "port_range_end", 0, 65535, e, &end);
                if (k < 0)
                        return k;
                if (start > end)
                        return fzd_portal_bad(e, "the port range ends before it starts");
                f.port_start = (uint16_t) start;
                f.port_end = (uint16_t) end;
        } else
                return fzd_portal_bad(e, "\"protocol\" is not tcp, udp or icmp");
        p->filters[p->n_filters++] = f;
        return 0;
}

/* "filters": empty or absent allows everything. Filters only ever narrow what may go out,
 * so an entry this client cannot read is left out of the list (with a line) — unless that
 * would leave a non-empty list empty, which would allow everything: then the resource is
 * unusable. */
static int parse_filters(const FzdJson *filters, FzdPortalSkips *s, FzdPortalElement *e, Parts *p) {
        const FzdJson *list;
        size_t n;
        int k;

        k = value_container(filters, "filters", FZD_JSON_ARRAY, e, &list);
        if (k < 0)
                return k;
        n = fzd_json_array_size(list);
        if (n == 0)
                return 0;
        if (n > FZD_RESOURCE_MAX_FILTERS)
                /* Fewer would allow more than the portal means. */
                return fzd_portal_bad(e, "\"filters\" has more than %d entries", FZD_RESOURCE_MAX_FILTERS);
        k = fzd_portal_each(list, s, "filter", e, FZD_RESOURCE_MAX_FILTERS, parse_filter, p);
        if (k < 0)
                return k;
        if (p->n_filters == 0)
                return fzd_portal_bad(e, "no entry of \"filters\" is usable");
        return 0;
}

/* Unusable (or unknown): just the id, if it is valid, for the caller to remove the old copy
 * with. */
static int skeleton(int k, const char *id, FzdResourceType type, FzdResource **ret) {
        if (id) {
                *ret = fzd_resource_new(&(FzdResourceSpec){ .type = type, .id = id });
                if (!*ret)
                        return -ENOMEM;
        }
        return k;
}

int fzd_portal_resource_parse(const FzdJson *o, FzdPortalSkips *s, FzdPortalElement *e, FzdResource **ret) {
        /* In the order the portal sends them. */
        enum { ID, TYPE, NAME, ADDRESS, DESCRIPTION, GATEWAY_GROUPS, SITES, FILTERS, STATUS, IP_STACK, N_FIELDS };
        /* All of them in one pass over its members (an init has thousands of resources). */
        const FzdJsonKey keys[N_FIELDS] = {
                [ID] = FZD_JSON_KEY("id"),
                [TYPE] = FZD_JSON_KEY("type"),
                [NAME] = FZD_JSON_KEY("name"),
                [ADDRESS] = FZD_JSON_KEY("address"),
                [DESCRIPTION] = FZD_JSON_KEY("address_description"),
                [STATUS] = FZD_JSON_KEY("status"),
                [IP_STACK] = FZD_JSON_KEY("ip_stack"),
                [GATEWAY_GROUPS] = FZD_JSON_KEY("gateway_groups"),
                [SITES] = FZD_JSON_KEY("sites"),
                [FILTERS] = FZD_JSON_KEY("filters"),
        };
        const FzdJson *f[N_FIELDS];
        const char *id, *type, *name, *address = "", *description, *status, *stack;
        size_t id_len = 0, name_len = 0, address_len = 0, description_len = 0;
        FzdResourceStatus st = FZD_RESOURCE_STATUS_UNKNOWN;
        FzdResourceIpStack ip_stack = FZD_RESOURCE_IP_STACK_DUAL;
        Parts parts;
        int t, k, k_id;

        *ret = NULL;
        if (fzd_json_type(o) != FZD_JSON_OBJECT)
                return fzd_portal_bad(e, "it is not an object");
        fzd_json_get_many(o, keys, N_FIELDS, f);

        /* The id first: the log line and the skeleton need it. */
        k_id = value_id(f[ID], "id", e, &id, &id_len);
        if (k_id < 0)
                id = NULL;
        k = value_string(f[TYPE], "type", 64, true, e, &type, NULL);
        if (k < 0)
                return skeleton(k, id, FZD_RESOURCE_DNS, ret);
        t = fzd_resource_type_from_string(type);
        if (t < 0)
                return skeleton(-EOPNOTSUPP, id, FZD_RESOURCE_DNS, ret);
        if (k_id < 0)
                return k_id; /* e->why still says what is wrong with the id */

        if (t == FZD_RESOURCE_INTERNET) {
                /* The portal sends neither name nor address for the internet resource. */
                k = value_text(f[NAME], "name", FZD_PORTAL_MAX_NAME, false, e, &name, &name_len);
                if (k >= 0 && isempty(name)) {
                        name = "Internet Resource";
                        name_len = strlen(name);
                }
        } else {
                k = value_text(f[NAME], "name", FZD_PORTAL_MAX_NAME, true, e, &name, &name_len);
                if (k >= 0)
                        k = value_string(f[ADDRESS], "address", FZD_PORTAL_MAX_ADDRESS, true, e, &address, &address_len);
                if (k >= 0 && t == FZD_RESOURCE_CIDR && !cidr_ok(address))
                        k = fzd_portal_bad(e, "\"address\" is not an IP address or prefix");
                else if (k >= 0 && t == FZD_RESOURCE_DNS && !dns_pattern_ok(address))
                        k = fzd_portal_bad(e, "\"address\" is not a DNS name pattern");
        }
        if (k >= 0)
                k = value_text(f[DESCRIPTION], "address_description", FZD_PORTAL_MAX_DESCRIPTION, false, e,
                               &description, &description_len);
        if (k >= 0)
                k = value_string(f[STATUS], "status", 32, false, e, &status, NULL);
        if (k >= 0 && status) {
                /* A status this client does not know yet stays "unknown". */
                int v = fzd_resource_status_from_string(status);
                if (v >= 0)
                        st = (FzdResourceStatus) v;
        }
        if (k >= 0 && t == FZD_RESOURCE_DNS)
                k = value_string(f[IP_STACK], "ip_stack", 32, false, e, &stack, NULL);
        if (k >= 0 && t == FZD_RESOURCE_DNS && stack) {
                /* A value this client does not know yet: both families. */
                int v = fzd_resource_ip_stack_from_string(stack);
                if (v >= 0)
                        ip_stack = (FzdResourceIpStack) v;
        }
        parts.n_sites = parts.n_filters = 0;
        if (k >= 0)
                k = parse_sites(f[GATEWAY_GROUPS], f[SITES], s, e, &parts);
        if (k >= 0)
                k = parse_filters(f[FILTERS], s, e, &parts);
        if (k < 0)
                return k == -EINVAL ? skeleton(k, id, (FzdResourceType) t, ret) : k;

        *ret = fzd_resource_new(&(FzdResourceSpec){
                .type = (FzdResourceType) t,
                .status = st,
                .ip_stack = ip_stack,
                .id = id,
                .name = name,
                .address = address,
                .description = description,
                .id_len = id_len,
                .name_len = name_len,
                .address_len = address_len,
                .description_len = description_len,
                .site_ids = parts.site_ids,
                .site_names = parts.site_names,
                .site_id_lens = parts.site_id_lens,
                .site_name_lens = parts.site_name_lens,
                .n_sites = parts.n_sites,
                .filters = parts.filters,
                .n_filters = parts.n_filters,
        });
        return *ret ? 0 : -ENOMEM;
}

void fzd_resources_free(FzdResource **resources, size_t n) {
        if (!resources)
                return;
        for (size_t i = 0; i < n; i++)
                fzd_resource_free(resources[i]);
        free(resources);
}

typedef struct InitResources {
        FzdPortalSkips *skips;
        FzdResource **v;
        size_t n;
} InitResources;

static int parse_init_resource(const FzdJson *o, FzdPortalElement *e, void *userdata) {
        InitResources *ir = userdata;
        FzdResource *r = NULL;
        int k = fzd_portal_resource_parse(o, ir->skips, e, &r);

        if (k < 0) {
                fzd_resource_free(r); /* the skeleton: init replaces everything anyway */
                return k;
        }
        ir->v[ir->n++] = r;
        return 0;
}

int fzd_portal_init_parse(const FzdJson *payload, FzdPortalSkips *s, FzdInterfaceConfig *ret_config,
                          FzdResource ***ret_resources, size_t *ret_n, char *err, size_t err_size) {
        FzdInterfaceConfig config;
        InitResources ir = { .skips = s };
        const FzdJson *list;
        size_t count;
        int k;

        if (fzd_json_type(payload) != FZD_JSON_OBJECT) {
                (void) snprintf(err, err_size, "the init payload is not an object");
                return -EINVAL;
        }
        k = fzd_portal_interface_parse(fzd_json_get(payload, "interface"), s, &config, err, err_size);
        if (k < 0)
                return k;

        /* The resource list as a whole: without it the resource state is unknown. */
        list = fzd_json_get(payload, "resources");
        if (!fzd_json_is_null(list) && fzd_json_type(list) != FZD_JSON_ARRAY) {
                (void) snprintf(err, err_size, "\"resources\" is not a list");
                return -EINVAL;
        }
        count = fzd_json_array_size(list);
        if (count > FZD_PORTAL_MAX_RESOURCES) {
                (void) snprintf(err, err_size, "init has more than %u resources", FZD_PORTAL_MAX_RESOURCES);
                return -EINVAL;
        }
        ir.v = calloc(count ?: 1, sizeof(FzdResource *));
        if (!ir.v)
                return -ENOMEM;
        k = fzd_portal_each(list, s, "resource", NULL, FZD_PORTAL_MAX_RESOURCES, parse_init_resource, &ir);
        if (k < 0) {
                fzd_resources_free(ir.v, ir.n);
                return k;
        }

        *ret_config = config;
        *ret_resources = ir.v;
        *ret_n = ir.n;
        return 0;
}

int fzd_portal_config_changed_parse(const FzdJson *payload, FzdPortalSkips *s, FzdInterfaceConfig *ret, char *err,
                                    size_t err_size) {
        if (fzd_json_type(payload) != FZD_JSON_OBJECT) {
                (void) snprintf(err, err_size, "the config_changed payload is not an object");
                return -EINVAL;
        }
        return fzd_portal_interface_parse(fzd_json_get(payload, "interface"), s, ret, err, err_size);
}

int fzd_portal_resource_deleted_parse(const FzdJson *payload, const char **ret_id, char *err, size_t err_size) {
        const FzdJson *v = payload;
        const char *id;
        size_t len = 0;

        /* Tolerate {"id": "…"} too, in case the portal ever wraps it. */
        if (fzd_json_type(payload) == FZD_JSON_OBJECT)
                v = fzd_json_get(payload, "id");
        id = string_ok(v, FZD_PORTAL_MAX_ID, &len);
        if (!id || !id_ok(id, len)) {
                (void) snprintf(err, err_size, "the payload is not a resource id");
                return -EINVAL;
        }
        *ret_id = id;
        return 0;
}
