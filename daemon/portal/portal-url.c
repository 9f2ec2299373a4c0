/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "portal-url.h"

void fzd_portal_url_done(FzdPortalUrl *u) {
        if (!u)
                return;
        free(u->host);
        free(u->base_path);
        free(u->host_header);
        *u = (FzdPortalUrl){};
}

int fzd_portal_url_parse(const char *url, FzdPortalUrl *ret) {
        FzdPortalUrl u = {};
        const char *rest, *host_start, *host_end, *p;
        unsigned long port = 0;
        size_t host_len;
        int r;

        if (!url || strlen(url) > 2048)
                return -EINVAL;
        if (strncmp(url, "wss://", 6) == 0) {
                u.tls = true;
                rest = url + 6;
        } else if (strncmp(url, "ws://", 5) == 0) {
                rest = url + 5;
        } else
                return -EINVAL;
        for (p = url; *p; p++)
                if ((unsigned char) *p <= 0x20 || (unsigned char) *p >= 0x7f)
                        return -EINVAL;

        if (rest[0] == '[') {
                host_start = rest + 1;
                host_end = strchr(host_start, ']');
                if (!host_end)
                        return -EINVAL;
                p = host_end + 1;
        } else {
                host_start = rest;
                host_end = host_start + strcspn(host_start, ":/?#");
                p = host_end;
        }
        host_len = (size_t) (host_end - host_start);
        if (host_len == 0 || host_len > 253 || memchr(host_start, '@', host_len))
                return -EINVAL;

        if (*p == ':') {
                char *end = NULL;
                if (p[1] < '0' || p[1] > '9')
                        return -EINVAL;
                errno = 0;
                port = strtoul(p + 1, &end, 10);
                if (errno != 0 || port == 0 || port > 65535 || !end || (*end && *end != '/' && *end != '?' && *end != '#'))
                        return -EINVAL;
                p = end;
        } else if (*p && *p != '/' && *p != '?' && *p != '#')
                return -EINVAL;

        u.port = port ? (unsigned) port : (u.tls ? 443 : 80);
        u.host = strndup(host_start, host_len);
        if (!u.host)
                return -ENOMEM;
        if (rest[0] == '[') {
                struct in6_addr a6;
                if (inet_pton(AF_INET6, u.host, &a6) != 1) {
                        fzd_portal_url_done(&u);
                        return -EINVAL;
                }
                u.host_is_ip = true;
        } else {
                struct in_addr a4;
                u.host_is_ip = inet_pton(AF_INET, u.host, &a4) == 1;
        }

        /* Path: up to '?' or '#', always ending in '/'. Query and fragment are dropped. */
        {
                size_t path_len = *p == '/' ? strcspn(p, "?#") : 0;
                bool slash = path_len > 0 && p[path_len - 1] == '/';

                u.base_path = malloc(path_len + 2);
                if (!u.base_path) {
                        fzd_portal_url_done(&u);
                        return -ENOMEM;
                }
                if (path_len == 0)
                        strcpy(u.base_path, "/");
                else {
                        memcpy(u.base_path, p, path_len);
                        u.base_path[path_len] = 0;
                        if (!slash)
                                strcat(u.base_path, "/");
                }
        }

        if ((u.tls && u.port == 443) || (!u.tls && u.port == 80))
                r = asprintf(&u.host_header, rest[0] == '[' ? "[%s]" : "%s", u.host);
        else
                r = asprintf(&u.host_header, rest[0] == '[' ? "[%s]:%u" : "%s:%u", u.host, u.port);
        if (r < 0) {
                u.host_header = NULL;
                fzd_portal_url_done(&u);
                return -ENOMEM;
        }

        *ret = u;
        return 0;
}

int fzd_percent_encode(const char *s, char **ret) {
        static const char hex[] = "0123456789ABCDEF";
        size_t len = strlen(s);
        char *out, *o;

        if (len > 4096)
                return -EINVAL;
        out = malloc(len * 3 + 1);
        if (!out)
                return -ENOMEM;
        o = out;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
                    *p == '.' || *p == '_' || *p == '~')
                        *o++ = (char) *p;
                else {
                        *o++ = '%';
                        *o++ = hex[*p >> 4];
                        *o++ = hex[*p & 15];
                }
        }
        *o = 0;
        *ret = out;
        return 0;
}

int fzd_portal_url_request_target(const FzdPortalUrl *u, const char *external_id, const char *name,
                                  const char *public_key_b64, char **ret) {
        _cleanup_(freep) char *e_id = NULL, *e_name = NULL, *e_key = NULL;
        int r;

        r = fzd_percent_encode(external_id, &e_id);
        if (r < 0)
                return r;
        r = fzd_percent_encode(name, &e_name);
        if (r < 0)
                return r;
        r = fzd_percent_encode(public_key_b64, &e_key);
        if (r < 0)
                return r;
        if (asprintf(ret, "%sclient/v2/websocket?external_id=%s&name=%s&public_key=%s", u->base_path, e_id, e_name,
                     e_key) < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}
