/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "portal-gateway.h"
#include "text.h"

static const char *get_string(json_object *o, const char *key, size_t max) {
        json_object *v;
        const char *s;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        s = json_object_get_string(v);
        if (!s || (size_t) json_object_get_string_len(v) > max || strlen(s) != (size_t) json_object_get_string_len(v))
                return NULL;
        return s;
}

/* Printable ASCII, no spaces: ids, keys, credentials. */
static bool token_like(const char *s) {
        if (isempty(s))
                return false;
        for (; *s; s++)
                if ((unsigned char) *s <= 0x20 || (unsigned char) *s >= 0x7f)
                        return false;
        return true;
}

static int copy_token(json_object *o, const char *key, char *dst, size_t size) {
        const char *s = get_string(o, key, size - 1);

        if (!s || !token_like(s))
                return -EINVAL;
        (void) snprintf(dst, size, "%s", s);
        return 0;
}

static int base64_key(const char *s, uint8_t ret[32]) {
        unsigned char buf[48];

        if (!s || strlen(s) != 44 || EVP_DecodeBlock(buf, (const unsigned char *) s, 44) != 33 || s[43] != '=')
                return -EINVAL;
        memcpy(ret, buf, 32);
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

static int relay_parse(json_object *o, FzdRelay *ret) {
        json_object *v;
        const char *type = get_string(o, "type", 32);

        memset(ret, 0, sizeof *ret);
        if (!json_object_is_type(o, json_type_object) || !type || !streq(type, "turn"))
                return -EINVAL;
        if (copy_token(o, "id", ret->id, sizeof ret->id) < 0 ||
            copy_token(o, "username", ret->username, sizeof ret->username) < 0 ||
            copy_token(o, "password", ret->password, sizeof ret->password) < 0 ||
            parse_addr(get_string(o, "addr", 64), &ret->addr) < 0)
                return -EINVAL;
        if (json_object_object_get_ex(o, "expires_at", &v) && json_object_is_type(v, json_type_int)) {
                int64_t t = json_object_get_int64(v);
                ret->expires_at = t > 0 ? (uint64_t) t : 0;
        }
        return 0;
}

size_t fzd_portal_relays_parse(json_object *list, FzdRelay *ret, size_t size, size_t *ret_skipped) {
        size_t n = 0, skipped = 0, len;

        if (!json_object_is_type(list, json_type_array)) {
                if (ret_skipped)
                        *ret_skipped = list ? 1 : 0;
                return 0;
        }
        len = json_object_array_length(list);
        for (size_t i = 0; i < len; i++) {
                if (n >= size || relay_parse(json_object_array_get_idx(list, i), &ret[n]) < 0) {
                        skipped++;
                        continue;
                }
                n++;
        }
        if (skipped > 0)
                log_notice("Skipped %zu relay entries the client cannot use (another type, a bad address or "
                           "credentials, or more than %d).",
                           skipped, FZD_PORTAL_MAX_RELAYS);
        if (ret_skipped)
                *ret_skipped = skipped;
        return n;
}

int fzd_portal_relays_presence_parse(json_object *payload, FzdRelay *ret_connected, size_t size, size_t *ret_n,
                                     const char **ret_disconnected, size_t disconnected_size, size_t *ret_n_disconnected,
                                     size_t *ret_skipped) {
        json_object *v;
        size_t nd = 0;

        if (!json_object_is_type(payload, json_type_object))
                return -EINVAL;
        *ret_n = json_object_object_get_ex(payload, "connected", &v)
                         ? fzd_portal_relays_parse(v, ret_connected, size, ret_skipped)
                         : 0;
        if (json_object_object_get_ex(payload, "disconnected_ids", &v) && json_object_is_type(v, json_type_array)) {
                size_t len = json_object_array_length(v);
                for (size_t i = 0; i < len && nd < disconnected_size; i++) {
                        json_object *id = json_object_array_get_idx(v, i);
                        const char *s = json_object_is_type(id, json_type_string) ? json_object_get_string(id) : NULL;
                        if (s && strlen(s) <= FZD_MSG_ID_MAX && token_like(s))
                                ret_disconnected[nd++] = s;
                }
        }
        *ret_n_disconnected = nd;
        return 0;
}

static int ice_credentials(json_object *o, const char *key, FzdIceCredentials *ret) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_object))
                return -EINVAL;
        if (copy_token(v, "username", ret->username, sizeof ret->username) < 0 ||
            copy_token(v, "password", ret->password, sizeof ret->password) < 0)
                return -EINVAL;
        return 0;
}

int fzd_portal_authorization_parse(json_object *payload, FzdAuthorization *ret, char *err, size_t err_size) {
        const char *s;
        json_object *v;

        memset(ret, 0, sizeof *ret);
#define BAD(what) ({ (void) snprintf(err, err_size, "%s", what); -EINVAL; })
        if (!json_object_is_type(payload, json_type_object))
                return BAD("not an object");
        if (copy_token(payload, "resource_id", ret->resource_id, sizeof ret->resource_id) < 0)
                return BAD("resource_id is missing or bad");
        if (copy_token(payload, "gateway_id", ret->gateway_id, sizeof ret->gateway_id) < 0)
                return BAD("gateway_id is missing or bad");
        /* Older portals call the site gateway_group_id. */
        if (copy_token(payload, "site_id", ret->site_id, sizeof ret->site_id) < 0 &&
            copy_token(payload, "gateway_group_id", ret->site_id, sizeof ret->site_id) < 0)
                return BAD("site_id is missing or bad");
        if (base64_key(get_string(payload, "gateway_public_key", 64), ret->gateway_public_key) < 0)
                return BAD("gateway_public_key is not a base64 X25519 key");
        if (base64_key(get_string(payload, "preshared_key", 64), ret->preshared_key) < 0)
                return BAD("preshared_key is not a base64 32-byte key");
        s = get_string(payload, "gateway_ipv4", INET_ADDRSTRLEN);
        ret->has_gateway_ipv4 = s && inet_pton(AF_INET, s, &ret->gateway_ipv4) == 1;
        s = get_string(payload, "gateway_ipv6", INET6_ADDRSTRLEN);
        ret->has_gateway_ipv6 = s && inet_pton(AF_INET6, s, &ret->gateway_ipv6) == 1;
        if (ice_credentials(payload, "client_ice_credentials", &ret->client_ice) < 0 ||
            ice_credentials(payload, "gateway_ice_credentials", &ret->gateway_ice) < 0)
                return BAD("the ICE credentials are missing or bad");
        if (json_object_object_get_ex(payload, "use_iceless", &v) && json_object_is_type(v, json_type_boolean))
                ret->use_iceless = json_object_get_boolean(v);
#undef BAD
        return 0;
}

int fzd_portal_authorization_failed_parse(json_object *payload, const char **ret_resource_id,
                                          const char **ret_reason) {
        const char *id, *reason;

        if (!json_object_is_type(payload, json_type_object))
                return -EINVAL;
        id = get_string(payload, "resource_id", FZD_MSG_ID_MAX);
        if (!id || !token_like(id))
                return -EINVAL;
        reason = get_string(payload, "reason", 64);
        *ret_resource_id = id;
        *ret_reason = reason && fzd_text_is_clean(reason) ? reason : "unknown";
        return 0;
}

int fzd_portal_candidates_parse(json_object *payload, const char **ret_gateway_id, const char **ret_candidates,
                                size_t size, size_t *ret_n) {
        json_object *v;
        const char *id;
        size_t n = 0, len;

        if (!json_object_is_type(payload, json_type_object))
                return -EINVAL;
        id = get_string(payload, "gateway_id", FZD_MSG_ID_MAX);
        if (!id || !token_like(id) || !json_object_object_get_ex(payload, "candidates", &v) ||
            !json_object_is_type(v, json_type_array))
                return -EINVAL;
        len = json_object_array_length(v);
        for (size_t i = 0; i < len && n < size; i++) {
                json_object *c = json_object_array_get_idx(v, i);
                const char *s = json_object_is_type(c, json_type_string) ? json_object_get_string(c) : NULL;
                if (s && strlen(s) < FZD_PORTAL_MAX_CANDIDATE && fzd_text_is_clean(s))
                        ret_candidates[n++] = s;
        }
        *ret_gateway_id = id;
        *ret_n = n;
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
