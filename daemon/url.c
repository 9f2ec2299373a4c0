/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "url.h"

void fzd_url_done(FzdUrl *u) {
        if (!u)
                return;
        free(u->host);
        free(u->base_path);
        free(u->host_header);
        *u = (FzdUrl){};
}

static int fail(const char *why, const char **ret_reason) {
        if (ret_reason)
                *ret_reason = why;
        return -EINVAL;
}

int fzd_url_parse(const char *url, FzdUrl *ret, const char **ret_reason) {
        _cleanup_(fzd_url_done) FzdUrl u = {};
        const char *rest, *host_start, *host_end, *p;
        unsigned long port = 0;
        size_t host_len, path_len;
        int r;

        if (isempty(url))
                return fail("the URL is empty", ret_reason);
        if (strlen(url) > FZD_URL_MAX)
                return fail("the URL is longer than 2048 bytes", ret_reason);
        for (p = url; *p; p++)
                if ((unsigned char) *p <= 0x20 || (unsigned char) *p >= 0x7f)
                        return fail("the URL contains spaces, control or non-ASCII characters", ret_reason);
        if (strncmp(url, "wss://", 6) == 0) {
                u.tls = true;
                rest = url + 6;
        } else if (strncmp(url, "ws://", 5) == 0)
                rest = url + 5;
        else
                return fail("the URL must start with wss:// (or ws:// for a portal on this machine)", ret_reason);

        /* host is up to the first '/', '?', '#', or ':' that is not inside [ ] */
        if (rest[0] == '[') {
                host_start = rest + 1;
                host_end = strchr(host_start, ']');
                if (!host_end)
                        return fail("the URL has an unterminated IPv6 address", ret_reason);
                p = host_end + 1;
                u.host_bracketed = true;
        } else {
                host_start = rest;
                host_end = host_start + strcspn(host_start, ":/?#@");
                p = host_end;
        }
        if (*p == '@' || strchr(rest, '@') != NULL)
                return fail("the URL must not contain user information", ret_reason);
        host_len = (size_t) (host_end - host_start);
        if (host_len == 0)
                return fail("the URL has no host", ret_reason);
        if (host_len > 253)
                return fail("the URL's host name is longer than 253 bytes", ret_reason);

        if (*p == ':') {
                size_t n = strspn(p + 1, "0123456789");
                if (n == 0 || n > 5 || (p[1 + n] && !strchr("/?#", p[1 + n])))
                        return fail("the URL has an invalid port", ret_reason);
                port = strtoul(p + 1, NULL, 10);
                if (port == 0 || port > 65535)
                        return fail("the URL has an invalid port", ret_reason);
                p += 1 + n;
        } else if (*p && !strchr("/?#", *p))
                return fail("the URL has garbage after the host", ret_reason);

        u.port = port ? (unsigned) port : (u.tls ? 443 : 80);
        u.host = strndup(host_start, host_len);
        if (!u.host)
                return -ENOMEM;
        if (u.host_bracketed) {
                struct in6_addr a6;
                if (inet_pton(AF_INET6, u.host, &a6) != 1)
                        return fail("the URL has an invalid IPv6 address", ret_reason);
                u.host_is_ip = true;
        } else {
                struct in_addr a4;
                u.host_is_ip = inet_pton(AF_INET, u.host, &a4) == 1;
        }

        /* Path: up to '?' or '#', always ending in '/'. */
        path_len = *p == '/' ? strcspn(p, "?#") : 0;
        u.base_path = malloc(path_len + 2);
        if (!u.base_path)
                return -ENOMEM;
        memcpy(u.base_path, path_len ? p : "/", path_len ? path_len : 1);
        u.base_path[path_len ? path_len : 1] = 0;
        if (u.base_path[strlen(u.base_path) - 1] != '/')
                strcat(u.base_path, "/");

        if ((u.tls && u.port == 443) || (!u.tls && u.port == 80))
                r = asprintf(&u.host_header, u.host_bracketed ? "[%s]" : "%s", u.host);
        else
                r = asprintf(&u.host_header, u.host_bracketed ? "[%s]:%u" : "%s:%u", u.host, u.port);
        if (r < 0) {
                u.host_header = NULL;
                return -ENOMEM;
        }

        if (ret_reason)
                *ret_reason = NULL;
        *ret = u;
        u = (FzdUrl){};
        return 0;
}

bool fzd_sockaddr_is_loopback(const struct sockaddr *sa) {
        if (!sa)
                return false;
        if (sa->sa_family == AF_INET)
                return (ntohl(((const struct sockaddr_in *) sa)->sin_addr.s_addr) >> 24) == 127;
        if (sa->sa_family == AF_INET6) {
                const struct in6_addr *a = &((const struct sockaddr_in6 *) sa)->sin6_addr;
                return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
        }
        return false;
}

bool fzd_host_is_loopback(const char *host) {
        /* One storage for either family: with a sockaddr_in of its own, GCC's -O3 inlining
         * saw the IPv6 branch of fzd_sockaddr_is_loopback() read past it (-Warray-bounds). */
        struct sockaddr_storage ss = {};
        struct sockaddr_in *sin = (struct sockaddr_in *) &ss;
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &ss;

        if (isempty(host))
                return false;
        if (strcasecmp(host, "localhost") == 0)
                return true;
        if (inet_pton(AF_INET, host, &sin->sin_addr) == 1)
                sin->sin_family = AF_INET;
        else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1)
                sin6->sin6_family = AF_INET6;
        else
                return false;
        return fzd_sockaddr_is_loopback((const struct sockaddr *) &ss);
}

int fzd_api_url_check(const char *url, const char **ret_reason) {
        _cleanup_(fzd_url_done) FzdUrl u = {};
        const char *reason = NULL;
        int r;

        r = fzd_url_parse(url, &u, &reason);
        if (r == -ENOMEM)
                reason = "out of memory";
        if (r < 0) {
                *ret_reason = reason;
                return -EINVAL;
        }
        if (!u.tls && !fzd_host_is_loopback(u.host)) {
                *ret_reason = "plain ws:// is only allowed to a portal on this machine (localhost, 127.0.0.0/8, "
                              "[::1]); use wss://";
                return -EINVAL;
        }
        *ret_reason = NULL;
        return 0;
}
