/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h> /* the payloads we send */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "portal-gateway.h"

/* An id the element walker accepts fits the messages' id buffers. */
_Static_assert(FZD_PORTAL_MAX_ID <= FZD_MSG_ID_MAX, "a portal id may not fit FzdRelay.id");

/* Printable ASCII, no spaces: ids, keys, credentials. */
static bool token_like(const char *s) {
        if (isempty(s))
                return false;
        for (; *s; s++)
                if ((unsigned char) *s <= 0x20 || (unsigned char) *s >= 0x7f)
                        return false;
        return true;
}

/* A required token (no spaces, printable ASCII) copied into dst[size]. */
static int field_token(const FzdJson *o, const char *key, char *dst, size_t size, FzdPortalElement *e) {
        const char *s;
        int k = fzd_portal_field_string(o, key, size - 1, true, e, &s);

        if (k < 0)
                return k;
        if (!token_like(s))
                return fzd_portal_bad(e, "\"%s\" has spaces or characters other than printable ASCII", key);
        (void) snprintf(dst, size, "%s", s);
        return 0;
}

/* A required 32-byte key in base64 (44 characters with the padding). */
static int field_key(const FzdJson *o, const char *key, uint8_t ret[32], FzdPortalElement *e) {
        unsigned char buf[48];
        const char *s;
        int k = fzd_portal_field_string(o, key, 64, true, e, &s);

        if (k < 0)
                return k;
        if (strlen(s) != 44 || s[43] != '=' || EVP_DecodeBlock(buf, (const unsigned char *) s, 44) != 33)
                return fzd_portal_bad(e, "\"%s\" is not a 32-byte key in base64", key);
        memcpy(ret, buf, 32);
        explicit_bzero(buf, sizeof buf);
        return 0;
}

/* "1.2.3.4:3478" or "[2001:db8::1]:3478" */
static int parse_addr(const char *s, struct sockaddr_storage *ret) {
        char host[INET6_ADDRSTRLEN + 2];
        const char *colon;
        unsigned long port;
        char *end;
        size_t n;

        memset(ret, 0, sizeof *ret);
        if (!s || !(colon = strrchr(s, ':')))
                return -EINVAL;
        n = (size_t) (colon - s);
        if (n == 0 || n >= sizeof host)
                return -EINVAL;
        memcpy(host, s, n);
        host[n] = 0;
        errno = 0;
        port = strtoul(colon + 1, &end, 10);
        if (errno || *end || port == 0 || port > 65535 || colon[1] < '0' || colon[1] > '9')
                return -EINVAL;
        if (host[0] == '[' && host[n - 1] == ']') {
                struct sockaddr_in6 *a = (struct sockaddr_in6 *) ret;
                host[n - 1] = 0;
                if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
                        return -EINVAL;
                a->sin6_family = AF_INET6;
                a->sin6_port = htons((uint16_t) port);
                return 0;
        }
        {
                struct sockaddr_in *a = (struct sockaddr_in *) ret;
                if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
                        return -EINVAL;
                a->sin_family = AF_INET;
                a->sin_port = htons((uint16_t) port);
        }
        return 0;
}

typedef struct Relays {
        FzdRelay *v;
        size_t n;
} Relays;

/* {"type": "turn", "id", "addr": "ip:port", "username", "password", "expires_at": unix s}. */
static int parse_relay(const FzdJson *o, FzdPortalElement *e, void *userdata) {
        Relays *relays = userdata;
        FzdRelay *r = &relays->v[relays->n];
        const char *id, *type, *addr;
        int64_t expires = 0;
        int k, k_id;

        memset(r, 0, sizeof *r);
        if (fzd_json_type(o) != FZD_JSON_OBJECT)
                return fzd_portal_bad(e, "it is not an object");
        k_id = fzd_portal_field_id(o, "id", e, &id); /* first: for the log line */
        k = fzd_portal_field_string(o, "type", 32, true, e, &type);
        if (k < 0)
                return k;
        if (!streq(type, "turn"))
                return -EOPNOTSUPP; /* a kind of relay this client does not use */
        if (k_id < 0)
                return k_id; /* e->why still says what is wrong with the id */
        (void) snprintf(r->id, sizeof r->id, "%s", id);
        k = field_token(o, "username", r->username, sizeof r->username, e);
        if (k >= 0)
                k = field_token(o, "password", r->password, sizeof r->password, e);
        if (k >= 0)
                k = fzd_portal_field_string(o, "addr", 64, true, e, &addr);
        if (k >= 0 && parse_addr(addr, &r->addr) < 0)
                k = fzd_portal_bad(e, "\"addr\" is not address:port");
        if (k >= 0)
                k = fzd_portal_field_int(o, "expires_at", 0, INT64_MAX, e, &expires);
        if (k < 0) {
                explicit_bzero(r, sizeof *r);
                return k;
        }
        r->expires_at = (uint64_t) expires;
        relays->n++;
        return 0;
}

size_t fzd_portal_relays_parse(const FzdJson *list, FzdPortalSkips *s, FzdRelay *ret, size_t size) {
        Relays relays = { .v = ret };

        if (fzd_portal_each(list, s, "relay", NULL, size, parse_relay, &relays) == -EINVAL) {
                FzdPortalElement e = { .what = "relay list", .index = FZD_PORTAL_NO_INDEX };
                (void) fzd_portal_bad(&e, "it is not a list");
                fzd_portal_skip(s, &e);
        }
        return relays.n;
}

typedef struct Ids {
        const char **v;
        size_t n;
} Ids;

static int parse_relay_id(const FzdJson *v, FzdPortalElement *e, void *userdata) {
        Ids *ids = userdata;
        size_t len;
        const char *s = fzd_json_string(v, &len);

        if (!s || len > FZD_MSG_ID_MAX || strlen(s) != len || !token_like(s))
                return fzd_portal_bad(e, "it is not an id");
        ids->v[ids->n++] = s;
        return 0;
}

int fzd_portal_relays_presence_parse(const FzdJson *payload, FzdPortalSkips *s, FzdRelay *ret_connected, size_t size,
                                     size_t *ret_n, const char **ret_disconnected, size_t disconnected_size,
                                     size_t *ret_n_disconnected) {
        FzdPortalElement e = { .what = "disconnected relay list", .index = FZD_PORTAL_NO_INDEX };
        Ids ids = { .v = ret_disconnected };

        if (fzd_json_type(payload) != FZD_JSON_OBJECT)
                return -EINVAL;
        *ret_n = fzd_portal_relays_parse(fzd_json_get(payload, "connected"), s, ret_connected, size);
        if (fzd_portal_each(fzd_json_get(payload, "disconnected_ids"), s, "disconnected relay id", NULL,
                            disconnected_size, parse_relay_id, &ids) == -EINVAL) {
                (void) fzd_portal_bad(&e, "it is not a list");
                fzd_portal_skip(s, &e);
        }
        *ret_n_disconnected = ids.n;
        return 0;
}

static int ice_credentials(const FzdJson *o, const char *key, FzdIceCredentials *ret, FzdPortalElement *e) {
        const FzdJson *v;
        int k = fzd_portal_field_object(o, key, e, &v);

        if (k >= 0 && !v)
                k = fzd_portal_bad(e, "\"%s\" is missing", key);
        if (k >= 0)
                k = field_token(v, "username", ret->username, sizeof ret->username, e);
        if (k >= 0)
                k = field_token(v, "password", ret->password, sizeof ret->password, e);
        return k;
}

/* An optional address of the gateway in the tunnel. */
static int field_address(const FzdJson *o, const char *key, int family, void *addr, bool *ret_has,
                         FzdPortalElement *e) {
        const char *s;
        int k = fzd_portal_field_string(o, key, INET6_ADDRSTRLEN, false, e, &s);

        *ret_has = false;
        if (k < 0 || !s)
                return k;
        if (inet_pton(family, s, addr) != 1)
                return fzd_portal_bad(e, "\"%s\" is not an %s address", key, family == AF_INET ? "IPv4" : "IPv6");
        *ret_has = true;
        return 0;
}

int fzd_portal_authorization_parse(const FzdJson *payload, FzdPortalElement *e, FzdAuthorization *ret) {
        const FzdJson *v;
        const char *id;
        int k;

        memset(ret, 0, sizeof *ret);
        if (fzd_json_type(payload) != FZD_JSON_OBJECT)
                return fzd_portal_bad(e, "it is not an object");
        k = fzd_portal_field_id(payload, "resource_id", e, &id); /* for the log line */
        if (k >= 0)
                k = field_token(payload, "resource_id", ret->resource_id, sizeof ret->resource_id, e);
        if (k >= 0)
                k = field_token(payload, "gateway_id", ret->gateway_id, sizeof ret->gateway_id, e);
        /* Older portals call the site gateway_group_id. */
        if (k >= 0)
                k = field_token(payload, fzd_json_is_null(fzd_json_get(payload, "site_id")) ? "gateway_group_id" : "site_id",
                                ret->site_id, sizeof ret->site_id, e);
        if (k >= 0)
                k = field_key(payload, "gateway_public_key", ret->gateway_public_key, e);
        if (k >= 0)
                k = field_key(payload, "preshared_key", ret->preshared_key, e);
        if (k >= 0)
                k = field_address(payload, "gateway_ipv4", AF_INET, &ret->gateway_ipv4, &ret->has_gateway_ipv4, e);
        if (k >= 0)
                k = field_address(payload, "gateway_ipv6", AF_INET6, &ret->gateway_ipv6, &ret->has_gateway_ipv6, e);
        if (k >= 0)
                k = ice_credentials(payload, "client_ice_credentials", &ret->client_ice, e);
        if (k >= 0)
                k = ice_credentials(payload, "gateway_ice_credentials", &ret->gateway_ice, e);
        v = fzd_json_get(payload, "use_iceless");
        if (k >= 0 && !fzd_json_is_null(v) && !fzd_json_bool(v, &ret->use_iceless))
                k = fzd_portal_bad(e, "\"use_iceless\" is not true or false");
        if (k < 0)
                explicit_bzero(ret, sizeof *ret); /* the keys and passwords read so far */
        return k;
}

int fzd_portal_authorization_failed_parse(const FzdJson *payload, const char **ret_resource_id,
                                          const char **ret_reason) {
        FzdPortalElement e = {};
        const char *id, *reason;

        if (fzd_json_type(payload) != FZD_JSON_OBJECT ||
            fzd_portal_field_string(payload, "resource_id", FZD_MSG_ID_MAX, true, &e, &id) < 0 || !token_like(id))
                return -EINVAL;
        if (fzd_portal_field_string(payload, "reason", 64, false, &e, &reason) < 0 || !reason ||
            !fzd_portal_text_ok(reason))
                reason = "unknown";
        *ret_resource_id = id;
        *ret_reason = reason;
        return 0;
}

typedef struct Candidates {
        const char **v;
        size_t n;
} Candidates;

static int parse_candidate(const FzdJson *v, FzdPortalElement *e, void *userdata) {
        Candidates *c = userdata;
        size_t len;
        const char *s = fzd_json_string(v, &len);

        if (!s)
                return fzd_portal_bad(e, "it is not a string");
        if (len == 0 || len >= FZD_PORTAL_MAX_CANDIDATE || strlen(s) != len)
                return fzd_portal_bad(e, "it is empty, longer than %d bytes or has a NUL", FZD_PORTAL_MAX_CANDIDATE - 1);
        if (!fzd_portal_text_ok(s))
                return fzd_portal_bad(e, "it is not UTF-8 or has control characters");
        c->v[c->n++] = s;
        return 0;
}

int fzd_portal_candidates_parse(const FzdJson *payload, FzdPortalSkips *s, const char **ret_gateway_id,
                                const char **ret_candidates, size_t size, size_t *ret_n) {
        FzdPortalElement e = {};
        Candidates c = { .v = ret_candidates };
        const FzdJson *list;
        const char *id;

        if (fzd_json_type(payload) != FZD_JSON_OBJECT ||
            fzd_portal_field_string(payload, "gateway_id", FZD_MSG_ID_MAX, true, &e, &id) < 0 || !token_like(id) ||
            fzd_portal_field_array(payload, "candidates", &e, &list) < 0 || !list)
                return -EINVAL;
        e = (FzdPortalElement){ .what = "gateway", .id = id, .index = FZD_PORTAL_NO_INDEX };
        if (fzd_portal_each(list, s, "candidate", &e, size, parse_candidate, &c) < 0)
                return -EINVAL;
        *ret_gateway_id = id;
        *ret_n = c.n;
        return 0;
}

static int to_text(json_object *o, char **ret) {
        const char *s;

        if (!o)
                return -ENOMEM;
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        *ret = s ? strdup(s) : NULL;
        json_object_put(o);
        return *ret ? 0 : -ENOMEM;
}

int fzd_portal_request_authorization_build(const char *resource_id, const char *const *connected_gateway_ids,
                                           size_t n, char **ret) {
        json_object *o = json_object_new_object(), *ids = json_object_new_array();

        if (!o || !ids) {
                json_object_put(o);
                json_object_put(ids);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
                json_object_array_add(ids, json_object_new_string(connected_gateway_ids[i]));
        json_object_object_add(o, "resource_id", json_object_new_string(resource_id));
        json_object_object_add(o, "connected_gateway_ids", ids);
        return to_text(o, ret);
}

int fzd_portal_candidates_build(const char *gateway_id, const char *const *candidates, size_t n, char **ret) {
        json_object *o = json_object_new_object(), *list = json_object_new_array();

        if (!o || !list) {
                json_object_put(o);
                json_object_put(list);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
                json_object_array_add(list, json_object_new_string(candidates[i]));
        json_object_object_add(o, "gateway_id", json_object_new_string(gateway_id));
        json_object_object_add(o, "candidates", list);
        return to_text(o, ret);
}
