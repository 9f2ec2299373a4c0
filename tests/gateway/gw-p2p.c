/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "gw-p2p.h"

#define IPV6_HEADER 40

int fzgw_p2p_parse(const uint8_t *p, size_t len, uint8_t *ret_event, const uint8_t **ret_body,
                   size_t *ret_body_len) {
        static const uint8_t zero[32];
        size_t payload;

        if (len < IPV6_HEADER + FZGW_P2P_HEADER || (p[0] >> 4) != 6 || p[6] != 0xff || p[7] != 0 ||
            memcmp(p + 8, zero, 32) != 0)
                return -EBADMSG;
        payload = (size_t) (p[4] << 8 | p[5]);
        if (payload < FZGW_P2P_HEADER || IPV6_HEADER + payload > len)
                return -EBADMSG;
        *ret_event = p[IPV6_HEADER];
        *ret_body = p + IPV6_HEADER + FZGW_P2P_HEADER;
        *ret_body_len = payload - FZGW_P2P_HEADER;
        return 0;
}

static const char *get_string(json_object *o, const char *key) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

int fzgw_p2p_parse_assigned_ips(const uint8_t *body, size_t len, FzgwAssignedIps *ret) {
        json_tokener *tok;
        json_object *o, *ips;
        FzgwAssignedIps a = {};
        const char *resource, *domain;
        size_t n, dlen;
        int r = -EBADMSG;

        if (len == 0 || len > 4096)
                return -EBADMSG;
        tok = json_tokener_new_ex(8);
        if (!tok)
                return -ENOMEM;
        o = json_tokener_parse_ex(tok, (const char *) body, (int) len);
        /* Exactly one object, nothing but white space after it. */
        if (!o || json_tokener_get_error(tok) != json_tokener_success ||
            !json_object_is_type(o, json_type_object))
                goto out;
        for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
                if (!isspace(body[i]))
                        goto out;
        resource = get_string(o, "resource");
        domain = get_string(o, "domain");
        if (!resource || !domain || !*resource || strlen(resource) > FZGW_ID_MAX)
                goto out;
        dlen = strlen(domain);
        if (dlen > 0 && domain[dlen - 1] == '.')
                dlen--;
        if (dlen == 0 || dlen > FZGW_DOMAIN_MAX)
                goto out;
        if (!json_object_object_get_ex(o, "proxy_ips", &ips) || !json_object_is_type(ips, json_type_array))
                goto out;
        n = json_object_array_length(ips);
        if (n == 0 || n > FZGW_MAX_PROXY_IPS)
                goto out;
        for (size_t i = 0; i < n; i++) {
                json_object *v = json_object_array_get_idx(ips, i);
                if (!json_object_is_type(v, json_type_string) ||
                    fzgw_ip_parse(json_object_get_string(v), &a.proxy_ips[i]) < 0)
                        goto out;
        }
        a.n_proxy_ips = n;
        strcpy(a.resource, resource);
        for (size_t i = 0; i < dlen; i++)
                a.domain[i] = (char) tolower((unsigned char) domain[i]);
        *ret = a;
        r = 0;
out:
        json_object_put(o);
        json_tokener_free(tok);
        return r;
}

int fzgw_p2p_build(uint8_t event, const uint8_t *body, size_t body_len, uint8_t *out, size_t size) {
        size_t payload = FZGW_P2P_HEADER + body_len;

        if (IPV6_HEADER + payload > size || payload > UINT16_MAX)
                return -ENOBUFS;
        memset(out, 0, IPV6_HEADER + FZGW_P2P_HEADER);
        out[0] = 0x60;
        out[4] = (uint8_t) (payload >> 8);
        out[5] = (uint8_t) payload;
        out[6] = 0xff; /* next header: reserved, never real traffic */
        out[7] = 0;    /* hop limit 0: never forwarded */
        out[IPV6_HEADER] = event;
        if (body_len)
                memcpy(out + IPV6_HEADER + FZGW_P2P_HEADER, body, body_len);
        return (int) (IPV6_HEADER + payload);
}

int fzgw_p2p_build_domain_status(const char *resource, const char *domain, bool active, uint8_t *out,
                                 size_t size) {
        json_object *o = json_object_new_object();
        const char *s;
        int r;

        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "resource", json_object_new_string(resource));
        json_object_object_add(o, "domain", json_object_new_string(domain));
        json_object_object_add(o, "status", json_object_new_string(active ? "Active" : "Inactive"));
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        r = fzgw_p2p_build(FZGW_P2P_DOMAIN_STATUS, (const uint8_t *) s, strlen(s), out, size);
        json_object_put(o);
        return r;
}
