/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw-orders.h"
#include "macro.h"
#include "wg-crypto.h"

#define JSON_DEPTH 16

static const char *const op_names[_FZGW_OP_MAX] = {
        [FZGW_OP_INIT] = "init",
        [FZGW_OP_RELAYS] = "relays",
        [FZGW_OP_AUTHORIZE] = "authorize",
        [FZGW_OP_REMOTE_CANDIDATES] = "remote_candidates",
        [FZGW_OP_INVALIDATE_REMOTE_CANDIDATES] = "invalidate_remote_candidates",
        [FZGW_OP_REJECT_ACCESS] = "reject_access",
        [FZGW_OP_RESOURCE_UPDATED] = "resource_updated",
        [FZGW_OP_STATS] = "stats",
};

const char *fzgw_op_to_string(FzgwOp op) {
        return op < _FZGW_OP_MAX ? op_names[op] : "?";
}

typedef struct Parser {
        char *err;
} Parser;

_printf_(2, 3) static int fail(Parser *p, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        vsnprintf(p->err, FZGW_ERROR_MAX, format, ap);
        va_end(ap);
        return -EINVAL;
}

static json_object *field(json_object *o, const char *key) {
        json_object *v;

        return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* A string field of at most max bytes; missing is an error when required (*ret = NULL then). */
static int get_str(Parser *p, json_object *o, const char *what, const char *key, size_t max, bool required,
                   const char **ret) {
        json_object *v = field(o, key);
        const char *s;

        *ret = NULL;
        if (!v || json_object_is_type(v, json_type_null))
                return required ? fail(p, "%s: \"%s\" is missing", what, key) : 0;
        if (!json_object_is_type(v, json_type_string))
                return fail(p, "%s: \"%s\" is not a string", what, key);
        s = json_object_get_string(v);
        if ((size_t) json_object_get_string_len(v) != strlen(s))
                return fail(p, "%s: \"%s\" holds a NUL byte", what, key);
        if (strlen(s) > max)
                return fail(p, "%s: \"%s\" is longer than %zu bytes", what, key, max);
        if (required && !*s)
                return fail(p, "%s: \"%s\" is empty", what, key);
        *ret = s;
        return 0;
}

static int copy_str(Parser *p, json_object *o, const char *what, const char *key, char *out, size_t size,
                    bool required) {
        const char *s;
        int r = get_str(p, o, what, key, size - 1, required, &s);

        if (r < 0)
                return r;
        snprintf(out, size, "%s", s ? s : "");
        return 0;
}

static int get_object(Parser *p, json_object *o, const char *what, const char *key, json_object **ret) {
        json_object *v = field(o, key);

        if (!v || !json_object_is_type(v, json_type_object))
                return fail(p, "%s: \"%s\" is %s", what, key, v ? "not an object" : "missing");
        *ret = v;
        return 0;
}

/* An array field; missing or null is an empty array unless required. */
static int get_array(Parser *p, json_object *o, const char *what, const char *key, size_t max, bool required,
                     json_object **ret, size_t *ret_n) {
        json_object *v = field(o, key);

        *ret = NULL;
        *ret_n = 0;
        if (!v || json_object_is_type(v, json_type_null))
                return required ? fail(p, "%s: \"%s\" is missing", what, key) : 0;
        if (!json_object_is_type(v, json_type_array))
                return fail(p, "%s: \"%s\" is not an array", what, key);
        if (json_object_array_length(v) > max)
                return fail(p, "%s: \"%s\" has more than %zu entries", what, key, max);
        *ret = v;
        *ret_n = json_object_array_length(v);
        return 0;
}

/* An integer; null or missing is 0 (e.g. "expires_at": null: never). */
static int get_int(Parser *p, json_object *o, const char *what, const char *key, int64_t min, int64_t max,
                   int64_t *ret) {
        json_object *v = field(o, key);
        int64_t n;

        *ret = 0;
        if (!v || json_object_is_type(v, json_type_null))
                return 0;
        if (!json_object_is_type(v, json_type_int))
                return fail(p, "%s: \"%s\" is not an integer", what, key);
        errno = 0;
        n = json_object_get_int64(v);
        if (errno != 0 || n < min || n > max)
                return fail(p, "%s: \"%s\" is out of range", what, key);
        *ret = n;
        return 0;
}

static int get_key(Parser *p, json_object *o, const char *what, const char *key,
                   uint8_t out[FZD_WG_KEY_LEN]) {
        const char *s;
        int r = get_str(p, o, what, key, 64, true, &s);

        if (r < 0)
                return r;
        if (fzd_wg_key_from_base64(out, s) < 0)
                return fail(p, "%s: \"%s\" is not a base64 key of 32 bytes", what, key);
        return 0;
}

/* ---- pieces ------------------------------------------------------------------------------------ */

static int parse_relay(Parser *p, json_object *o, FzgwRelayEntry *ret, bool *ret_skip) {
        const char *type, *addr;
        int r;

        *ret_skip = false;
        if (!json_object_is_type(o, json_type_object))
                return fail(p, "relay: not an object");
        r = get_str(p, o, "relay", "type", 32, false, &type);
        if (r < 0)
                return r;
        if (type && strcmp(type, "turn") != 0) {
                *ret_skip = true; /* a kind of relay we do not speak: not an error */
                return 0;
        }
        if ((r = copy_str(p, o, "relay", "id", ret->id, sizeof ret->id, true)) < 0 ||
            (r = get_str(p, o, "relay", "addr", 64, true, &addr)) < 0 ||
            (r = copy_str(p, o, "relay", "username", ret->username, sizeof ret->username, true)) < 0 ||
            (r = copy_str(p, o, "relay", "password", ret->password, sizeof ret->password, true)) < 0 ||
            (r = get_int(p, o, "relay", "expires_at", 0, INT64_MAX / 2, &ret->expires_at)) < 0)
                return r;
        if (fzd_addr_parse(addr, &ret->addr) < 0 || ret->addr.port == 0 ||
            fzd_addr_is_unspecified(&ret->addr))
                return fail(p, "relay: \"addr\" is not an address and port");
        return 0;
}

static int parse_relays(Parser *p, json_object *o, const char *key, FzgwOrder *ret) {
        json_object *a;
        size_t n;
        int r = get_array(p, o, fzgw_op_to_string(ret->op), key, FZGW_MAX_RELAYS, false, &a, &n);

        if (r < 0 || n == 0)
                return r;
        ret->relays = calloc(n, sizeof *ret->relays);
        if (!ret->relays)
                return -ENOMEM;
        ret->relays_allocated = n;
        for (size_t i = 0; i < n; i++) {
                bool skip;
                r = parse_relay(p, json_object_array_get_idx(a, i), &ret->relays[ret->n_relays], &skip);
                if (r < 0)
                        return r;
                if (!skip)
                        ret->n_relays++;
        }
        return 0;
}

static int parse_filters(Parser *p, json_object *o, FzgwResource *res) {
        json_object *a;
        size_t n;
        int r = get_array(p, o, "resource", "filters", FZGW_MAX_FILTERS, false, &a, &n);

        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                json_object *f = json_object_array_get_idx(a, i);
                FzgwFilter *out = &res->filters[i];
                const char *proto;
                int64_t start, end;

                if (!json_object_is_type(f, json_type_object))
                        return fail(p, "resource: a filter is not an object");
                if ((r = get_str(p, f, "filter", "protocol", 16, true, &proto)) < 0)
                        return r;
                if (strcmp(proto, "icmp") == 0) {
                        *out = (FzgwFilter){ .proto = FZGW_PROTO_ICMP };
                        continue;
                }
                if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0)
                        return fail(p, "filter: unknown protocol \"%s\"", proto);
                if ((r = get_int(p, f, "filter", "port_range_start", 0, 65535, &start)) < 0)
                        return r;
                /* The end defaults to 65535 (Firezone's Filter). */
                if (!field(f, "port_range_end") ||
                    json_object_is_type(field(f, "port_range_end"), json_type_null))
                        end = 65535;
                else if ((r = get_int(p, f, "filter", "port_range_end", 0, 65535, &end)) < 0)
                        return r;
                if (start > end)
                        return fail(p, "filter: port_range_start %lld is above port_range_end %lld",
                                    (long long) start, (long long) end);
                *out = (FzgwFilter){ .proto = proto[0] == 't' ? FZGW_PROTO_TCP : FZGW_PROTO_UDP,
                                     .start = (uint16_t) start,
                                     .end = (uint16_t) end };
        }
        res->n_filters = n;
        return 0;
}

static int parse_resource(Parser *p, json_object *o, FzgwResource *ret) {
        const char *type;
        int r, t;

        if ((r = copy_str(p, o, "resource", "id", ret->id, sizeof ret->id, true)) < 0 ||
            (r = get_str(p, o, "resource", "type", 32, true, &type)) < 0)
                return r;
        t = fzgw_resource_type_from_string(type);
        if (t < 0)
                return fail(p, "resource: unknown type \"%s\"", type);
        ret->type = (FzgwResourceType) t;
        if (ret->type != FZGW_RESOURCE_INTERNET &&
            (r = copy_str(p, o, "resource", "address", ret->address, sizeof ret->address, true)) < 0)
                return r;
        if ((r = parse_filters(p, o, ret)) < 0)
                return r;
        switch (ret->type) {
        case FZGW_RESOURCE_CIDR:
                if (fzd_cidr_parse(ret->address, true, &ret->cidr) < 0)
                        return fail(p, "resource: \"%s\" is not a CIDR range", ret->address);
                fzd_cidr_mask(&ret->cidr);
                return 0;
        case FZGW_RESOURCE_DNS:
                r = fzd_dns_pattern_compile(ret->address, &ret->pattern);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return fail(p, "resource: \"%s\" is not a DNS name pattern", ret->address);
                return 0;
        default:
                return 0;
        }
}

static int parse_ip(Parser *p, json_object *o, const char *what, const char *key, int family, FzgwIp *ret) {
        const char *s;
        int r = get_str(p, o, what, key, 64, false, &s);

        *ret = (FzgwIp){};
        if (r < 0 || !s)
                return r;
        if (fzgw_ip_parse(s, ret) < 0 || ret->family != family)
                return fail(p, "%s: \"%s\" is not an IPv%c address", what, key,
                            family == AF_INET ? '4' : '6');
        return 0;
}

static int parse_credentials(Parser *p, json_object *o, const char *key, FzgwIceCredentials *ret) {
        json_object *c;
        int r = get_object(p, o, "authorize", key, &c);

        if (r < 0)
                return r;
        if ((r = copy_str(p, c, key, "username", ret->username, sizeof ret->username, true)) < 0 ||
            (r = copy_str(p, c, key, "password", ret->password, sizeof ret->password, true)) < 0)
                return r;
        return 0;
}

static int parse_candidates(Parser *p, json_object *o, FzgwOrder *ret) {
        json_object *a;
        size_t n;
        int r;

        if ((r = copy_str(p, o,
                          ret->op == FZGW_OP_REMOTE_CANDIDATES ? "remote_candidates"
                                                               : "invalidate_remote_candidates",
                          "client_id", ret->client_id, sizeof ret->client_id, true)) < 0 ||
            (r = get_array(p, o, fzgw_op_to_string(ret->op), "candidates", FZGW_MAX_CANDIDATES, false, &a,
                           &n)) < 0)
                return r;
        if (n == 0)
                return 0;
        ret->candidates = calloc(n, sizeof *ret->candidates);
        if (!ret->candidates)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *v = json_object_array_get_idx(a, i);
                /* Unparsable candidates are skipped later, with a reason; wrong types here. */
                if (!json_object_is_type(v, json_type_string))
                        return fail(p, "%s: a candidate is not a string", fzgw_op_to_string(ret->op));
                if ((size_t) json_object_get_string_len(v) >= sizeof ret->candidates[0])
                        continue;
                snprintf(ret->candidates[ret->n_candidates++], sizeof ret->candidates[0], "%s",
                         json_object_get_string(v));
        }
        return 0;
}

/* ---- orders -------------------------------------------------------------------------------------- */

static int parse_init(Parser *p, json_object *o, FzgwOrder *ret) {
        json_object *iface, *a;
        size_t n;
        int r;

        if ((r = get_object(p, o, "init", "interface", &iface)) < 0 ||
            (r = parse_ip(p, iface, "interface", "ipv4", AF_INET, &ret->iface_ipv4)) < 0 ||
            (r = parse_ip(p, iface, "interface", "ipv6", AF_INET6, &ret->iface_ipv6)) < 0)
                return r;
        if (ret->iface_ipv4.family == 0 && ret->iface_ipv6.family == 0)
                return fail(p, "init: the interface has neither an IPv4 nor an IPv6 address");
        if ((r = parse_relays(p, o, "relays", ret)) < 0 ||
            (r = get_array(p, o, "init", "authorizations", FZGW_MAX_ORDER_AUTHS, false, &a, &n)) < 0)
                return r;
        if (n == 0)
                return 0;
        ret->auths = calloc(n, sizeof *ret->auths);
        if (!ret->auths)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(a, i);
                FzgwAuthRef *out = &ret->auths[i];
                if (!json_object_is_type(e, json_type_object))
                        return fail(p, "init: an authorization is not an object");
                if ((r = copy_str(p, e, "authorization", "client_id", out->client_id, sizeof out->client_id,
                                  true)) < 0 ||
                    (r = copy_str(p, e, "authorization", "resource_id", out->resource_id,
                                  sizeof out->resource_id, true)) < 0 ||
                    (r = get_int(p, e, "authorization", "expires_at", 0, INT64_MAX / 2, &out->expires_at)) <
                            0)
                        return r;
        }
        ret->n_auths = n;
        return 0;
}

static int parse_relays_order(Parser *p, json_object *o, FzgwOrder *ret) {
        json_object *a;
        size_t n;
        int r;

        if ((r = parse_relays(p, o, "connected", ret)) < 0 ||
            (r = get_array(p, o, "relays", "disconnected_ids", FZGW_MAX_RELAYS * 4, false, &a, &n)) < 0)
                return r;
        if (n == 0)
                return 0;
        ret->disconnected = calloc(n, sizeof *ret->disconnected);
        if (!ret->disconnected)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *v = json_object_array_get_idx(a, i);
                if (!json_object_is_type(v, json_type_string) ||
                    (size_t) json_object_get_string_len(v) >= sizeof ret->disconnected[0])
                        return fail(p, "relays: a disconnected id is not a string of at most %d bytes",
                                    FZGW_ID_MAX);
                snprintf(ret->disconnected[i], sizeof ret->disconnected[0], "%s", json_object_get_string(v));
        }
        ret->n_disconnected = n;
        return 0;
}

static int parse_authorize(Parser *p, json_object *o, FzgwOrder *ret) {
        json_object *client, *res, *v;
        int r;

        if ((r = get_object(p, o, "authorize", "client", &client)) < 0 ||
            (r = copy_str(p, client, "client", "id", ret->client.id, sizeof ret->client.id, true)) < 0 ||
            (r = get_key(p, client, "client", "public_key", ret->client.public_key)) < 0 ||
            (r = get_key(p, client, "client", "preshared_key", ret->client.psk)) < 0 ||
            (r = parse_ip(p, client, "client", "ipv4", AF_INET, &ret->client.ipv4)) < 0 ||
            (r = parse_ip(p, client, "client", "ipv6", AF_INET6, &ret->client.ipv6)) < 0)
                return r;
        if (ret->client.ipv4.family == 0 && ret->client.ipv6.family == 0)
                return fail(p, "client: neither \"ipv4\" nor \"ipv6\"");
        if ((r = get_object(p, o, "authorize", "resource", &res)) < 0)
                return r;
        ret->has_resource = true;
        if ((r = parse_resource(p, res, &ret->resource)) < 0 ||
            (r = parse_credentials(p, o, "local_ice", &ret->local_ice)) < 0 ||
            (r = parse_credentials(p, o, "remote_ice", &ret->remote_ice)) < 0 ||
            (r = get_int(p, o, "authorize", "expires_at", 0, INT64_MAX / 2, &ret->expires_at)) < 0)
                return r;
        v = field(o, "use_iceless");
        if (v && !json_object_is_type(v, json_type_null) && !json_object_is_type(v, json_type_boolean))
                return fail(p, "authorize: \"use_iceless\" is not a boolean");
        if (v && json_object_get_boolean(v))
                return fail(p, "authorize: ICE-less connections are not supported");
        return 0;
}

static int parse_order(Parser *p, json_object *o, FzgwOrder *ret) {
        json_object *res;
        int r;

        switch (ret->op) {
        case FZGW_OP_INIT:
                return parse_init(p, o, ret);
        case FZGW_OP_RELAYS:
                return parse_relays_order(p, o, ret);
        case FZGW_OP_AUTHORIZE:
                return parse_authorize(p, o, ret);
        case FZGW_OP_REMOTE_CANDIDATES:
        case FZGW_OP_INVALIDATE_REMOTE_CANDIDATES:
                return parse_candidates(p, o, ret);
        case FZGW_OP_REJECT_ACCESS:
                if ((r = copy_str(p, o, "reject_access", "client_id", ret->client_id, sizeof ret->client_id,
                                  true)) < 0)
                        return r;
                return copy_str(p, o, "reject_access", "resource_id", ret->resource_id,
                                sizeof ret->resource_id, true);
        case FZGW_OP_RESOURCE_UPDATED:
                if ((r = get_object(p, o, "resource_updated", "resource", &res)) < 0)
                        return r;
                ret->has_resource = true;
                return parse_resource(p, res, &ret->resource);
        case FZGW_OP_STATS:
                return 0;
        default:
                return fail(p, "unknown op");
        }
}

int fzgw_order_parse(const char *line, size_t len, FzgwOrder *ret, char err[static FZGW_ERROR_MAX]) {
        Parser p = { .err = err };
        json_tokener *tok;
        json_object *o = NULL, *v;
        const char *op;
        int r;

        *ret = (FzgwOrder){ .op = _FZGW_OP_MAX };
        err[0] = '\0';
        if (len > FZGW_LINE_MAX || len > INT32_MAX)
                return fail(&p, "the line is longer than %u bytes", FZGW_LINE_MAX);
        tok = json_tokener_new_ex(JSON_DEPTH);
        if (!tok)
                return -ENOMEM;
        o = json_tokener_parse_ex(tok, line, (int) len);
        if (!o || json_tokener_get_error(tok) != json_tokener_success) {
                r = fail(&p, "not JSON: %s",
                         o ? "trailing data" : json_tokener_error_desc(json_tokener_get_error(tok)));
                goto out;
        }
        for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
                if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
                        r = fail(&p, "not JSON: more than one value on the line");
                        goto out;
                }
        if (!json_object_is_type(o, json_type_object)) {
                r = fail(&p, "not a JSON object");
                goto out;
        }
        v = field(o, "id");
        if (v && json_object_is_type(v, json_type_int)) {
                ret->has_id = true;
                ret->id = json_object_get_int64(v);
        } else if (v && !json_object_is_type(v, json_type_null)) {
                r = fail(&p, "\"id\" is not an integer");
                goto out;
        }
        if ((r = get_str(&p, o, "order", "op", 64, true, &op)) < 0)
                goto out;
        for (int i = 0; i < _FZGW_OP_MAX; i++)
                if (strcmp(op, op_names[i]) == 0)
                        ret->op = (FzgwOp) i;
        if (ret->op == _FZGW_OP_MAX) {
                r = fail(&p, "unknown op \"%.64s\"", op);
                goto out;
        }
        r = parse_order(&p, o, ret);
        if (r == -ENOMEM)
                snprintf(err, FZGW_ERROR_MAX, "out of memory");
out:
        json_object_put(o);
        json_tokener_free(tok);
        return r;
}

void fzgw_order_done(FzgwOrder *o) {
        if (o->has_resource)
                fzgw_resource_done(&o->resource);
        if (o->relays)
                fzd_wg_wipe(o->relays, sizeof *o->relays * o->relays_allocated);
        free(o->relays);
        free(o->auths);
        free(o->disconnected);
        free(o->candidates);
        fzd_wg_wipe(&o->client, sizeof o->client);
        fzd_wg_wipe(&o->local_ice, sizeof o->local_ice);
        fzd_wg_wipe(&o->remote_ice, sizeof o->remote_ice);
        *o = (FzgwOrder){};
}
