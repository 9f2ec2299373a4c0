/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dns-address.h"
#include "macro.h"

bool fzd_dns_address_is_sentinel(const FzdDnsAddress *a) {
        static const uint8_t v6_prefix[15] = {0xfd, 0x00, 0x20, 0x21, 0x11, 0x11, 0x80, 0x00,
                                              0x01, 0x00, 0x01, 0x00, 0x01, 0x11, 0x00};

        if (a->family == AF_INET)
                return (ntohl(a->addr.in.s_addr) & 0xffffff00u) == 0x64646f00u; /* 100.100.111.0/24 */
        if (a->family == AF_INET6)
                return memcmp(a->addr.in6.s6_addr, v6_prefix, sizeof v6_prefix) == 0; /* /120 */
        return false;
}

bool fzd_dns_address_equal(const FzdDnsAddress *a, const FzdDnsAddress *b) {
        if (a->family != b->family)
                return false;
        if (a->family == AF_INET)
                return a->addr.in.s_addr == b->addr.in.s_addr;
        if (a->family == AF_INET6)
                return memcmp(&a->addr.in6, &b->addr.in6, sizeof a->addr.in6) == 0;
        return false;
}

int fzd_dns_address_from_string(const char *s, FzdDnsAddress *ret) {
        FzdDnsAddress a = {};

        if (!s)
                return -EINVAL;
        if (inet_pton(AF_INET, s, &a.addr.in) == 1)
                a.family = AF_INET;
        else if (inet_pton(AF_INET6, s, &a.addr.in6) == 1)
                a.family = AF_INET6;
        else
                return -EINVAL;
        *ret = a;
        return 0;
}

const char *fzd_dns_address_to_string(const FzdDnsAddress *a, char *buf, size_t size) {
        if (!inet_ntop(a->family, &a->addr, buf, (socklen_t)size))
                (void)snprintf(buf, size, "(family %d)", a->family);
        return buf;
}

const char *fzd_dns_over_tls_to_string(FzdDnsOverTls t) {
        switch (t) {
        case FZD_DNS_OVER_TLS_YES:
                return "yes";
        case FZD_DNS_OVER_TLS_OPPORTUNISTIC:
                return "opportunistic";
        case FZD_DNS_OVER_TLS_NO:
        default:
                return "no";
        }
}

int fzd_dns_over_tls_from_string(const char *s, FzdDnsOverTls *ret) {
        if (!s)
                return -EINVAL;
        if (streq(s, "yes") || streq(s, "true"))
                *ret = FZD_DNS_OVER_TLS_YES;
        else if (streq(s, "opportunistic"))
                *ret = FZD_DNS_OVER_TLS_OPPORTUNISTIC;
        else if (streq(s, "no") || streq(s, "false") || streq(s, ""))
                *ret = FZD_DNS_OVER_TLS_NO;
        else
                return -EINVAL;
        return 0;
}

int fzd_dns_name_check(const char *name) {
        size_t len, label = 0;

        if (isempty(name))
                return -EINVAL;
        len = strlen(name);
        if (len > FZD_DNS_NAME_MAX + 1 || (len == FZD_DNS_NAME_MAX + 1 && name[len - 1] != '.'))
                return -EINVAL;
        if (streq(name, "."))
                return -EINVAL; /* the root is a routing domain, not a search domain */

        for (const char *p = name; *p; p++) {
                char c = *p;

                if (c == '.') {
                        if (label == 0)
                                return -EINVAL; /* leading dot or ".." */
                        label = 0;
                        continue;
                }
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_'))
                        return -EINVAL;
                if (++label > 63)
                        return -EINVAL;
        }
        return 0;
}

const char *fzd_dns_printable(const char *s, char buf[static FZD_DNS_PRINTABLE_MAX]) {
        size_t n = 0;

        for (; s && *s && n < 64; s++)
                buf[n++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
        if (s && *s) {
                memcpy(buf + n, "...", 3);
                n += 3;
        }
        buf[n] = 0;
        return buf;
}

static bool resolver_equal(const FzdDnsResolver *a, const FzdDnsResolver *b) {
        return fzd_dns_address_equal(&a->address, &b->address) && a->port == b->port &&
               a->ifindex == b->ifindex && streq(a->server_name, b->server_name) &&
               a->dns_over_tls == b->dns_over_tls;
}

bool fzd_dns_resolvers_equal(const FzdDnsResolver *a, size_t n_a, const FzdDnsResolver *b, size_t n_b) {
        if (n_a != n_b)
                return false;
        for (size_t i = 0; i < n_a; i++)
                if (!resolver_equal(&a[i], &b[i]))
                        return false;
        return true;
}
