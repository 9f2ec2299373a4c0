/* SPDX-License-Identifier: Apache-2.0 */
/* Portal JSON → engine types. Field names follow Firezone's client protocol (see
 * docs/portal-protocol.md). Unknown fields are ignored; known fields of the wrong type are
 * errors. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "portal-json.h"
#include "text.h"

/* Whatever one init may carry fits the table. */
_Static_assert(FZD_PORTAL_MAX_RESOURCES <= FZD_RESOURCE_TABLE_MAX, "init may carry more than the table holds");

void fzd_portal_frame_done(FzdPortalFrame *f) {
        if (!f)
                return;
        if (f->root)
                json_object_put(f->root);
        *f = (FzdPortalFrame){};
}

static void set_err(char *err, size_t err_size, const char *format, ...) _printf_(3, 4);
static void set_err(char *err, size_t err_size, const char *format, ...) {
        va_list ap;

        if (!err || err_size == 0)
                return;
        va_start(ap, format);
        (void) vsnprintf(err, err_size, format, ap);
        va_end(ap);
}

/* A JSON string without embedded NUL, of at most max bytes. */
static bool string_ok(json_object *o, size_t max) {
        int len;
        const char *s;

        if (!json_object_is_type(o, json_type_string))
                return false;
        len = json_object_get_string_len(o);
        s = json_object_get_string(o);
        if (len < 0 || !s || (size_t) len > max)
                return false;
        return strlen(s) == (size_t) len;
}

/* Looks up key; *ret is NULL if absent or JSON null. -EINVAL if present with another type
 * or too long. */
static int get_string(json_object *obj, const char *key, size_t max, const char **ret) {
        json_object *v = NULL;

        *ret = NULL;
        if (!json_object_object_get_ex(obj, key, &v) || !v)
                return 0;
        if (!string_ok(v, max))
                return -EINVAL;
        *ret = json_object_get_string(v);
        return 0;
}

int fzd_portal_frame_parse(const char *data, size_t len, FzdPortalFrame *ret, const char **ret_reason) {
        json_tokener *tok = NULL;
        json_object *root, *v;
        enum json_tokener_error jerr;
        FzdPortalFrame f = {};
        const char *reason = NULL;
        int r;

        *ret = (FzdPortalFrame){};
        if (!data || len == 0) {
                *ret_reason = "the frame is empty";
                return -EBADMSG;
        }
        if (len > FZD_PORTAL_MAX_FRAME) {
                *ret_reason = "the frame is too large";
                return -EMSGSIZE;
        }
        if (len > INT32_MAX || memchr(data, 0, len)) {
                *ret_reason = "the frame contains a NUL byte";
                return -EBADMSG;
        }

        tok = json_tokener_new_ex(FZD_PORTAL_MAX_JSON_DEPTH);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        root = json_tokener_parse_ex(tok, data, (int) len);
        jerr = json_tokener_get_error(tok);
        if (!root || jerr != json_tokener_success) {
                /* json_tokener_continue: the text ended inside a value. */
                reason = jerr == json_tokener_error_depth ? "the JSON is nested too deeply" : "the frame is not valid JSON";
                if (root)
                        json_object_put(root);
                json_tokener_free(tok);
                *ret_reason = reason;
                return -EBADMSG;
        }
        /* Only whitespace may follow the value. */
        for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
                if (!strchr(" \t\r\n", data[i])) {
                        json_object_put(root);
                        json_tokener_free(tok);
                        *ret_reason = "the frame has data after the JSON value";
                        return -EBADMSG;
                }
        json_tokener_free(tok);

        f.root = root;
        if (!json_object_is_type(root, json_type_object)) {
                reason = "the frame is not a JSON object";
                goto invalid;
        }

        r = get_string(root, "topic", 256, &f.topic);
        if (r < 0 || !f.topic) {
                reason = "\"topic\" is missing or not a string";
                goto invalid;
        }
        r = get_string(root, "event", 256, &f.event);
        if (r < 0 || !f.event) {
                reason = "\"event\" is missing or not a string";
                goto invalid;
        }
        /* Both are logged (unknown events and topics, at debug level). */
        if (!fzd_text_is_clean(f.topic) || !fzd_text_is_clean(f.event)) {
                reason = "\"topic\" or \"event\" contains control characters";
                goto invalid;
        }
        if (json_object_object_get_ex(root, "payload", &v) && v)
                f.payload = v;

        if (json_object_object_get_ex(root, "ref", &v) && v) {
                if (json_object_is_type(v, json_type_int)) {
                        int64_t i = json_object_get_int64(v);
                        if (i < 0) {
                                reason = "\"ref\" is negative";
                                goto invalid;
                        }
                        f.ref = (uint64_t) i;
                        f.has_ref = true;
                } else if (string_ok(v, 20)) {
                        const char *s = json_object_get_string(v);
                        char *end = NULL;
                        unsigned long long u;

                        if (*s < '0' || *s > '9') {
                                reason = "\"ref\" is not a number";
                                goto invalid;
                        }
                        errno = 0;
                        u = strtoull(s, &end, 10);
                        if (errno != 0 || !end || *end != 0) {
                                reason = "\"ref\" is not a number";
                                goto invalid;
                        }
                        f.ref = u;
                        f.has_ref = true;
                } else {
                        reason = "\"ref\" is neither null, a number nor a string";
                        goto invalid;
                }
        }

        *ret = f;
        return 0;

invalid:
        fzd_portal_frame_done(&f);
        *ret_reason = reason;
        return -EINVAL;
}

int fzd_portal_reply_parse(json_object *payload, bool *ret_ok, const char **ret_error_reason) {
        const char *status = NULL;
        json_object *response = NULL;

        *ret_error_reason = NULL;
        if (!json_object_is_type(payload, json_type_object))
                return -EINVAL;
        if (get_string(payload, "status", 64, &status) < 0 || !status)
                return -EINVAL;
        if (streq(status, "ok")) {
                *ret_ok = true;
                return 0;
        }
        if (!streq(status, "error"))
                return -EINVAL;
        *ret_ok = false;
        *ret_error_reason = "unknown";
        if (json_object_object_get_ex(payload, "response", &response) &&
            json_object_is_type(response, json_type_object)) {
                const char *reason = NULL;
                /* Shown to the user (LastError) and logged. */
                if (get_string(response, "reason", 128, &reason) >= 0 && reason)
                        *ret_error_reason = fzd_text_is_clean(reason) ? reason
                                                                      : "a reason with control characters, not shown";
        }
        return 0;
}

int fzd_portal_disconnect_reason(json_object *payload, const char **ret) {
        *ret = NULL;
        if (!json_object_is_type(payload, json_type_object))
                return -EINVAL;
        return get_string(payload, "reason", 128, ret);
}

/* ---- field validation --------------------------------------------------------------- */

/* Ids: printable ASCII without spaces or quotes (the portal sends UUIDs). */
static bool id_ok(const char *s) {
        if (isempty(s))
                return false;
        for (; *s; s++)
                if (*s <= 0x20 || *s >= 0x7f || *s == '"' || *s == '\\')
                        return false;
        return true;
}

/* Display text (json-c already checked UTF-8): it reaches the journal, terminals and
 * notifications, so no control characters but tab (see text.h). */
static bool text_ok(const char *s) {
        return fzd_text_is_clean(s);
}

/* "10.0.0.0/24", "fd00::/64", or a bare address; the prefix must fit the family. */
static bool cidr_ok(const char *s) {
        char buf[INET6_ADDRSTRLEN + 8];
        const char *slash;
        size_t addr_len;
        unsigned char addr[sizeof(struct in6_addr)];
        int family;
        unsigned max, prefix = 0;

        slash = strchr(s, '/');
        addr_len = slash ? (size_t) (slash - s) : strlen(s);
        if (addr_len == 0 || addr_len >= INET6_ADDRSTRLEN)
                return false;
        memcpy(buf, s, addr_len);
        buf[addr_len] = 0;
        if (inet_pton(AF_INET, buf, addr) == 1) {
                family = AF_INET;
                max = 32;
        } else if (inet_pton(AF_INET6, buf, addr) == 1) {
                family = AF_INET6;
                max = 128;
        } else
                return false;
        (void) family;
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

/* ---- interface ----------------------------------------------------------------------- */

static int add_upstream(FzdInterfaceConfig *c, const char *ip, unsigned port) {
        int family;
        unsigned char addr[sizeof(struct in6_addr)];

        if (c->n_upstream_dns >= FZD_MAX_UPSTREAM_DNS)
                return 0; /* more than we use; the rest is ignored */
        if (inet_pton(AF_INET, ip, addr) == 1)
                family = AF_INET;
        else if (inet_pton(AF_INET6, ip, addr) == 1)
                family = AF_INET6;
        else
                return -EINVAL;
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

int fzd_portal_interface_parse(json_object *o, FzdInterfaceConfig *ret, char *err, size_t err_size) {
        FzdInterfaceConfig c = {};
        const char *s = NULL;
        json_object *list = NULL;

        if (!json_object_is_type(o, json_type_object)) {
                set_err(err, err_size, "\"interface\" is missing or not an object");
                return -EINVAL;
        }

        if (get_string(o, "ipv4", 64, &s) < 0) {
                set_err(err, err_size, "interface \"ipv4\" is not a string");
                return -EINVAL;
        }
        if (s) {
                if (inet_pton(AF_INET, s, &c.ipv4) != 1) {
                        set_err(err, err_size, "interface \"ipv4\" is not an IPv4 address");
                        return -EINVAL;
                }
                c.has_ipv4 = true;
        }
        if (get_string(o, "ipv6", 64, &s) < 0) {
                set_err(err, err_size, "interface \"ipv6\" is not a string");
                return -EINVAL;
        }
        if (s) {
                if (inet_pton(AF_INET6, s, &c.ipv6) != 1) {
                        set_err(err, err_size, "interface \"ipv6\" is not an IPv6 address");
                        return -EINVAL;
                }
                c.has_ipv6 = true;
        }
        if (!c.has_ipv4 && !c.has_ipv6) {
                set_err(err, err_size, "the interface has neither \"ipv4\" nor \"ipv6\"");
                return -EINVAL;
        }

        if (get_string(o, "search_domain", 253, &s) < 0) {
                set_err(err, err_size, "interface \"search_domain\" is not a string");
                return -EINVAL;
        }
        if (!isempty(s)) {
                if (!domain_ok(s) || strlen(s) >= sizeof(c.search_domain)) {
                        set_err(err, err_size, "interface \"search_domain\" is not a domain name");
                        return -EINVAL;
                }
                strcpy(c.search_domain, s);
        }

        /* Newer portals send "upstream_do53": [{"ip": "1.1.1.1"}]; older ones only the legacy
         * "upstream_dns": [{"protocol": "ip_port", "address": "1.1.1.1:53"}]. Prefer the former. */
        if (json_object_object_get_ex(o, "upstream_do53", &list) && list) {
                size_t n;
                if (!json_object_is_type(list, json_type_array)) {
                        set_err(err, err_size, "interface \"upstream_do53\" is not an array");
                        return -EINVAL;
                }
                n = json_object_array_length(list);
                for (size_t i = 0; i < n; i++) {
                        json_object *e = json_object_array_get_idx(list, i);
                        const char *ip = NULL;
                        if (!json_object_is_type(e, json_type_object) || get_string(e, "ip", 64, &ip) < 0 || !ip ||
                            add_upstream(&c, ip, 53) < 0) {
                                set_err(err, err_size, "interface \"upstream_do53\" entry %zu is not {\"ip\": address}", i);
                                return -EINVAL;
                        }
                }
        }
        if (c.n_upstream_dns == 0 && json_object_object_get_ex(o, "upstream_dns", &list) && list) {
                size_t n;
                if (!json_object_is_type(list, json_type_array)) {
                        set_err(err, err_size, "interface \"upstream_dns\" is not an array");
                        return -EINVAL;
                }
                n = json_object_array_length(list);
                for (size_t i = 0; i < n; i++) {
                        json_object *e = json_object_array_get_idx(list, i);
                        const char *protocol = NULL, *address = NULL;
                        char ip[INET6_ADDRSTRLEN];
                        unsigned port;

                        if (!json_object_is_type(e, json_type_object) || get_string(e, "protocol", 32, &protocol) < 0 ||
                            get_string(e, "address", 128, &address) < 0 || !address) {
                                set_err(err, err_size, "interface \"upstream_dns\" entry %zu is malformed", i);
                                return -EINVAL;
                        }
                        if (protocol && !streq(protocol, "ip_port"))
                                continue; /* a kind of server this client does not use */
                        if (parse_ip_port(address, ip, sizeof(ip), &port) < 0 || add_upstream(&c, ip, port) < 0) {
                                set_err(err, err_size, "interface \"upstream_dns\" entry %zu is not address:port", i);
                                return -EINVAL;
                        }
                }
        }

        *ret = c;
        return 0;
}

/* ---- resources ----------------------------------------------------------------------- */

static int dup_field(json_object *o, const char *key, size_t max, bool required, bool (*check)(const char *),
                     char **ret, const char *what, char *err, size_t err_size) {
        const char *s = NULL;

        if (get_string(o, key, max, &s) < 0) {
                set_err(err, err_size, "%s \"%s\" is not a string of at most %zu bytes", what, key, max);
                return -EINVAL;
        }
        if (!s) {
                if (required) {
                        set_err(err, err_size, "%s \"%s\" is missing", what, key);
                        return -EINVAL;
                }
                s = "";
        }
        if (check && !check(s)) {
                /* The right type with a value we cannot use: -EDOM lets a caller skip just
                 * this object instead of rejecting the whole frame. */
                set_err(err, err_size, "%s \"%s\" is not valid", what, key);
                return -EDOM;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int parse_sites(json_object *o, FzdResource *r, char *err, size_t err_size) {
        json_object *list = NULL;
        size_t n;

        /* The portal still names sites "gateway_groups"; newer ones may say "sites". */
        if (!json_object_object_get_ex(o, "gateway_groups", &list) || !list)
                (void) json_object_object_get_ex(o, "sites", &list);
        if (!list)
                return 0;
        if (!json_object_is_type(list, json_type_array)) {
                set_err(err, err_size, "resource sites are not an array");
                return -EINVAL;
        }
        n = json_object_array_length(list);
        if (n > FZD_PORTAL_MAX_SITES) {
                set_err(err, err_size, "resource has more than %u sites", FZD_PORTAL_MAX_SITES);
                return -EINVAL;
        }
        if (n == 0)
                return 0;
        r->sites = calloc(n, sizeof(FzdSite));
        if (!r->sites)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(list, i);
                int k;

                if (!json_object_is_type(e, json_type_object)) {
                        set_err(err, err_size, "resource site %zu is not an object", i);
                        return -EINVAL;
                }
                r->n_sites = i + 1; /* so that fzd_resource_free() frees what is set so far */
                k = dup_field(e, "id", FZD_PORTAL_MAX_ID, true, id_ok, &r->sites[i].id, "site", err, err_size);
                if (k < 0)
                        return k;
                k = dup_field(e, "name", FZD_PORTAL_MAX_NAME, false, text_ok, &r->sites[i].name, "site", err,
                              err_size);
                if (k < 0)
                        return k;
        }
        return 0;
}

static int filter_port(json_object *f, const char *key, uint16_t dflt, uint16_t *ret) {
        json_object *v;
        int64_t p;

        if (!json_object_object_get_ex(f, key, &v) || json_object_is_type(v, json_type_null)) {
                *ret = dflt;
                return 0;
        }
        if (!json_object_is_type(v, json_type_int))
                return -EINVAL;
        p = json_object_get_int64(v);
        if (p < 0 || p > 65535)
                return -EINVAL;
        *ret = (uint16_t) p;
        return 0;
}

/* "filters": [{protocol tcp|udp, port_range_start, port_range_end} | {protocol icmp}]; empty or
 * absent allows everything. Filters only ever narrow what may go out, so an entry this client
 * cannot read is left out of the list — unless that would leave a non-empty list empty (which
 * would allow everything): then the resource is unusable (-EDOM). */
static int parse_filters(json_object *o, FzdResource *r, char *err, size_t err_size) {
        json_object *list;
        size_t n, bad = 0;

        if (!json_object_object_get_ex(o, "filters", &list) || json_object_is_type(list, json_type_null))
                return 0;
        if (!json_object_is_type(list, json_type_array)) {
                set_err(err, err_size, "resource \"filters\" is not a list");
                return -EDOM;
        }
        n = json_object_array_length(list);
        if (n == 0)
                return 0;
        if (n > FZD_RESOURCE_MAX_FILTERS) {
                set_err(err, err_size, "resource \"filters\" has more entries than this client takes");
                return -EDOM;
        }
        r->filters = calloc(n, sizeof *r->filters);
        if (!r->filters)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *f = json_object_array_get_idx(list, i);
                FzdResourceFilter x = {};
                const char *proto = NULL;

                if (!json_object_is_type(f, json_type_object) || get_string(f, "protocol", 16, &proto) < 0 || !proto) {
                        bad++;
                        continue;
                }
                if (streq(proto, "icmp"))
                        x.protocol = 1;
                else if (streq(proto, "tcp") || streq(proto, "udp")) {
                        x.protocol = streq(proto, "tcp") ? 6 : 17;
                        if (filter_port(f, "port_range_start", 0, &x.port_start) < 0 ||
                            filter_port(f, "port_range_end", 65535, &x.port_end) < 0 || x.port_start > x.port_end) {
                                bad++;
                                continue;
                        }
                } else {
                        bad++;
                        continue;
                }
                r->filters[r->n_filters++] = x;
        }
        if (r->n_filters == 0) {
                set_err(err, err_size, "no entry of resource \"filters\" is usable");
                return -EDOM;
        }
        if (bad > 0)
                log_notice("Resource %s: left out %zu filter entries this client cannot read.", r->id, bad);
        return 0;
}

int fzd_portal_resource_parse(json_object *o, FzdResource **ret, char *err, size_t err_size) {
        _cleanup_(fzd_resource_freep) FzdResource *r = NULL;
        const char *type = NULL, *status = NULL;
        int t, k;

        if (!json_object_is_type(o, json_type_object)) {
                set_err(err, err_size, "the resource is not an object");
                return -EINVAL;
        }
        if (get_string(o, "type", 64, &type) < 0 || !type) {
                set_err(err, err_size, "resource \"type\" is missing or not a string");
                return -EINVAL;
        }
        t = fzd_resource_type_from_string(type);
        if (t < 0)
                return -EOPNOTSUPP;

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->type = (FzdResourceType) t;

        k = dup_field(o, "id", FZD_PORTAL_MAX_ID, true, id_ok, &r->id, "resource", err, err_size);
        if (k < 0)
                goto fail;
        if (r->type == FZD_RESOURCE_INTERNET) {
                /* The portal sends neither name nor address for the internet resource. */
                k = dup_field(o, "name", FZD_PORTAL_MAX_NAME, false, text_ok, &r->name, "resource", err, err_size);
                if (k < 0)
                        goto fail;
                if (isempty(r->name) && free_and_strdup(&r->name, "Internet Resource") < 0)
                        return -ENOMEM;
                r->address = strdup("");
                if (!r->address)
                        return -ENOMEM;
        } else {
                k = dup_field(o, "name", FZD_PORTAL_MAX_NAME, true, text_ok, &r->name, "resource", err, err_size);
                if (k < 0)
                        goto fail;
                k = dup_field(o, "address", FZD_PORTAL_MAX_ADDRESS, true,
                              r->type == FZD_RESOURCE_CIDR ? cidr_ok : dns_pattern_ok, &r->address, "resource", err,
                              err_size);
                if (k < 0)
                        goto fail;
        }
        k = dup_field(o, "address_description", FZD_PORTAL_MAX_DESCRIPTION, false, text_ok, &r->description,
                      "resource", err, err_size);
        if (k < 0)
                goto fail;

        r->status = FZD_RESOURCE_STATUS_UNKNOWN;
        if (get_string(o, "status", 32, &status) < 0) {
                set_err(err, err_size, "resource \"status\" is not a string");
                return -EINVAL;
        }
        if (status) {
                int st = fzd_resource_status_from_string(status);
                if (st >= 0)
                        r->status = (FzdResourceStatus) st;
        }

        if (r->type == FZD_RESOURCE_DNS) {
                const char *stack = NULL;
                if (get_string(o, "ip_stack", 32, &stack) < 0) {
                        set_err(err, err_size, "resource \"ip_stack\" is not a string");
                        return -EINVAL;
                }
                /* Absent, or a value this client does not know yet: both families. */
                k = stack ? fzd_resource_ip_stack_from_string(stack) : -EINVAL;
                r->ip_stack = k >= 0 ? (FzdResourceIpStack) k : FZD_RESOURCE_IP_STACK_DUAL;
        }

        k = parse_sites(o, r, err, err_size);
        if (k < 0)
                return k;
        k = parse_filters(o, r, err, err_size);
        if (k < 0)
                goto fail;

        *ret = TAKE_PTR(r);
        return 0;

fail:
        if (k == -EDOM && r->id) {
                /* Unusable resource with a valid id: hand back just the id, so that an update
                 * that made a resource unusable removes it instead of leaving the old one. */
                FzdResource *skel = calloc(1, sizeof(*skel));
                if (!skel)
                        return -ENOMEM;
                skel->id = TAKE_PTR(r->id);
                skel->type = r->type;
                *ret = skel;
        }
        return k;
}

void fzd_resources_free(FzdResource **resources, size_t n) {
        if (!resources)
                return;
        for (size_t i = 0; i < n; i++)
                fzd_resource_free(resources[i]);
        free(resources);
}

int fzd_portal_init_parse(json_object *payload, FzdInterfaceConfig *ret_config, FzdResource ***ret_resources,
                          size_t *ret_n, char *err, size_t err_size) {
        FzdInterfaceConfig config;
        json_object *iface = NULL, *list = NULL;
        FzdResource **resources = NULL;
        size_t n = 0, count;
        int k;

        if (!json_object_is_type(payload, json_type_object)) {
                set_err(err, err_size, "the init payload is not an object");
                return -EINVAL;
        }
        (void) json_object_object_get_ex(payload, "interface", &iface);
        k = fzd_portal_interface_parse(iface, &config, err, err_size);
        if (k < 0)
                return k;

        if (json_object_object_get_ex(payload, "resources", &list) && list) {
                if (!json_object_is_type(list, json_type_array)) {
                        set_err(err, err_size, "init \"resources\" is not an array");
                        return -EINVAL;
                }
                count = json_object_array_length(list);
                if (count > FZD_PORTAL_MAX_RESOURCES) {
                        set_err(err, err_size, "init has more than %u resources", FZD_PORTAL_MAX_RESOURCES);
                        return -EINVAL;
                }
                resources = calloc(count ? count : 1, sizeof(FzdResource *));
                if (!resources)
                        return -ENOMEM;
                for (size_t i = 0; i < count; i++) {
                        char sub[200];

                        k = fzd_portal_resource_parse(json_object_array_get_idx(list, i), &resources[n], sub,
                                                      sizeof(sub));
                        if (k == -EOPNOTSUPP)
                                continue;
                        if (k == -EDOM) {
                                /* Skip it with a log line; the rest is applied. */
                                log_warning("Skipping resource %zu of init%s%s: %s.", i, resources[n] ? " " : "",
                                            resources[n] ? resources[n]->id : "", sub);
                                resources[n] = fzd_resource_free(resources[n]);
                                continue;
                        }
                        if (k < 0) {
                                if (k == -EINVAL)
                                        set_err(err, err_size, "init resource %zu: %s", i, sub);
                                fzd_resources_free(resources, n);
                                return k;
                        }
                        n++;
                }
        } else {
                resources = calloc(1, sizeof(FzdResource *));
                if (!resources)
                        return -ENOMEM;
        }

        *ret_config = config;
        *ret_resources = resources;
        *ret_n = n;
        return 0;
}

int fzd_portal_config_changed_parse(json_object *payload, FzdInterfaceConfig *ret, char *err, size_t err_size) {
        json_object *iface = NULL;

        if (!json_object_is_type(payload, json_type_object)) {
                set_err(err, err_size, "the config_changed payload is not an object");
                return -EINVAL;
        }
        (void) json_object_object_get_ex(payload, "interface", &iface);
        return fzd_portal_interface_parse(iface, ret, err, err_size);
}

int fzd_portal_resource_deleted_parse(json_object *payload, const char **ret_id, char *err, size_t err_size) {
        /* Tolerate {"id": "…"} too, in case the portal ever wraps it. */
        if (json_object_is_type(payload, json_type_object)) {
                const char *id = NULL;
                if (get_string(payload, "id", FZD_PORTAL_MAX_ID, &id) < 0 || !id || !id_ok(id)) {
                        set_err(err, err_size, "resource_deleted \"id\" is not a resource id");
                        return -EINVAL;
                }
                *ret_id = id;
                return 0;
        }
        if (!string_ok(payload, FZD_PORTAL_MAX_ID) || !id_ok(json_object_get_string(payload))) {
                set_err(err, err_size, "resource_deleted payload is not a resource id");
                return -EINVAL;
        }
        *ret_id = json_object_get_string(payload);
        return 0;
}
