/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

static size_t ip_len(const FzdAddr *a) {
        return a->family == AF_INET ? 4 : a->family == AF_INET6 ? 16 : 0;
}

bool fzd_addr_ip_eq(const FzdAddr *a, const FzdAddr *b) {
        return a->family == b->family && memcmp(a->ip, b->ip, ip_len(a)) == 0;
}

bool fzd_addr_eq(const FzdAddr *a, const FzdAddr *b) {
        return fzd_addr_ip_eq(a, b) && a->port == b->port;
}

bool fzd_addr_is_set(const FzdAddr *a) {
        return a->family == AF_INET || a->family == AF_INET6;
}

bool fzd_addr_is_unspecified(const FzdAddr *a) {
        static const uint8_t zero[16];
        return fzd_addr_is_set(a) && memcmp(a->ip, zero, ip_len(a)) == 0;
}

bool fzd_addr_is_private(const FzdAddr *a) {
        const uint8_t *p = a->ip;

        if (a->family == AF_INET)
                return p[0] == 127 || p[0] == 10 || (p[0] == 172 && (p[1] & 0xf0) == 16) ||
                       (p[0] == 192 && p[1] == 168) || (p[0] == 169 && p[1] == 254) ||
                       (p[0] == 100 && (p[1] & 0xc0) == 64);
        if (a->family == AF_INET6) {
                static const uint8_t loopback[16] = {[15] = 1};
                /* IPv4-mapped: judge the IPv4 address. */
                static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
                if (memcmp(p, mapped, 12) == 0) {
                        FzdAddr v4 = {.family = AF_INET};
                        memcpy(v4.ip, p + 12, 4);
                        return fzd_addr_is_private(&v4);
                }
                return memcmp(p, loopback, 16) == 0 || (p[0] & 0xfe) == 0xfc ||
                       (p[0] == 0xfe && (p[1] & 0xc0) == 0x80);
        }
        return false;
}

const char *fzd_addr_format_ip(const FzdAddr *a, char buf[static FZD_ADDR_STRLEN]) {
        if (!fzd_addr_is_set(a) || !inet_ntop(a->family, a->ip, buf, FZD_ADDR_STRLEN))
                snprintf(buf, FZD_ADDR_STRLEN, "(none)");
        return buf;
}

const char *fzd_addr_format(const FzdAddr *a, char buf[static FZD_ADDR_STRLEN]) {
        char ip[INET6_ADDRSTRLEN];

        if (!fzd_addr_is_set(a) || !inet_ntop(a->family, a->ip, ip, sizeof(ip)))
                snprintf(buf, FZD_ADDR_STRLEN, "(none)");
        else
                snprintf(buf, FZD_ADDR_STRLEN, a->family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, a->port);
        return buf;
}

int fzd_addr_parse_ip(const char *s, FzdAddr *ret) {
        FzdAddr a = {};

        if (!s)
                return -EINVAL;
        if (inet_pton(AF_INET, s, a.ip) == 1)
                a.family = AF_INET;
        else if (inet_pton(AF_INET6, s, a.ip) == 1)
                a.family = AF_INET6;
        else
                return -EINVAL;
        *ret = a;
        return 0;
}

int fzd_addr_parse(const char *s, FzdAddr *ret) {
        char ip[INET6_ADDRSTRLEN + 1];
        const char *colon, *port;
        size_t n;
        char *end;
        unsigned long p;
        FzdAddr a = {};

        if (!s)
                return -EINVAL;
        if (s[0] == '[') {
                const char *close = strchr(s, ']');
                if (!close || close[1] != ':')
                        return -EINVAL;
                n = (size_t)(close - s - 1);
                if (n == 0 || n >= sizeof(ip))
                        return -EINVAL;
                memcpy(ip, s + 1, n);
                ip[n] = 0;
                port = close + 2;
                if (inet_pton(AF_INET6, ip, a.ip) != 1)
                        return -EINVAL;
                a.family = AF_INET6;
        } else {
                colon = strrchr(s, ':');
                if (!colon)
                        return -EINVAL;
                n = (size_t)(colon - s);
                if (n == 0 || n >= sizeof(ip))
                        return -EINVAL;
                memcpy(ip, s, n);
                ip[n] = 0;
                port = colon + 1;
                if (inet_pton(AF_INET, ip, a.ip) != 1)
                        return -EINVAL;
                a.family = AF_INET;
        }
        if (*port < '0' || *port > '9')
                return -EINVAL;
        errno = 0;
        p = strtoul(port, &end, 10);
        if (errno || *end || p > 65535)
                return -EINVAL;
        a.port = (uint16_t)p;
        *ret = a;
        return 0;
}

int fzd_addr_from_sockaddr(const struct sockaddr *sa, socklen_t len, FzdAddr *ret) {
        FzdAddr a = {};

        if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
                const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
                a.family = AF_INET;
                a.port = ntohs(in->sin_port);
                memcpy(a.ip, &in->sin_addr, 4);
        } else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
                const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
                a.family = AF_INET6;
                a.port = ntohs(in6->sin6_port);
                memcpy(a.ip, &in6->sin6_addr, 16);
        } else
                return -EAFNOSUPPORT;
        *ret = a;
        return 0;
}

socklen_t fzd_addr_to_sockaddr(const FzdAddr *a, struct sockaddr_storage *ret) {
        memset(ret, 0, sizeof(*ret));
        if (a->family == AF_INET) {
                struct sockaddr_in *in = (struct sockaddr_in *)ret;
                in->sin_family = AF_INET;
                in->sin_port = htons(a->port);
                memcpy(&in->sin_addr, a->ip, 4);
                return sizeof(*in);
        }
        if (a->family == AF_INET6) {
                struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ret;
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons(a->port);
                memcpy(&in6->sin6_addr, a->ip, 16);
                return sizeof(*in6);
        }
        return 0;
}
