/* SPDX-License-Identifier: Apache-2.0 */
/* Strict parsing and printing of IPv4/IPv6 prefixes, and the checks every prefix or
 * address from the portal goes through before it reaches the kernel. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cidr.h"

size_t fzd_family_address_size(int family) {
        switch (family) {
        case AF_INET:
                return sizeof(struct in_addr);
        case AF_INET6:
                return sizeof(struct in6_addr);
        default:
                return 0;
        }
}

unsigned fzd_family_max_prefixlen(int family) {
        return (unsigned) fzd_family_address_size(family) * 8;
}

/* A decimal prefix length: 1-3 digits, no sign, no leading zero (except "0" itself). */
static int parse_prefixlen(const char *s, unsigned max, unsigned char *ret) {
        unsigned v = 0;
        size_t n = strlen(s);

        if (n == 0 || n > 3)
                return -EINVAL;
        if (n > 1 && s[0] == '0')
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                v = v * 10 + (unsigned) (s[i] - '0');
        }
        if (v > max)
                return -EINVAL;
        *ret = (unsigned char) v;
        return 0;
}

int fzd_cidr_parse(const char *s, bool allow_host_bits, FzdCidr *ret) {
        char buf[FZD_CIDR_STRING_MAX];
        const char *slash;
        FzdCidr c = {};
        size_t len;

        if (!s || !ret)
                return -EINVAL;
        len = strnlen(s, sizeof buf);
        if (len == 0 || len >= sizeof buf)
                return -EINVAL;
        memcpy(buf, s, len + 1);

        slash = strchr(buf, '/');
        if (slash)
                buf[slash - buf] = '\0';

        /* inet_pton is strict for both families: no leading zeros or shorthand in IPv4,
         * no zone index ("%eth0") in IPv6, no surrounding space. */
        if (strchr(buf, ':')) {
                if (inet_pton(AF_INET6, buf, &c.addr.in6) != 1)
                        return -EINVAL;
                c.family = AF_INET6;
        } else {
                if (inet_pton(AF_INET, buf, &c.addr.in) != 1)
                        return -EINVAL;
                c.family = AF_INET;
        }

        if (slash) {
                if (parse_prefixlen(slash + 1, fzd_family_max_prefixlen(c.family), &c.prefixlen) < 0)
                        return -EINVAL;
        } else
                c.prefixlen = (unsigned char) fzd_family_max_prefixlen(c.family);

        if (!allow_host_bits && fzd_cidr_has_host_bits(&c))
                return -EINVAL;

        *ret = c;
        return 0;
}

int fzd_cidr_to_string(const FzdCidr *c, char *buf, size_t size) {
        char a[INET6_ADDRSTRLEN];
        int n;

        if (!c || !buf || size == 0)
                return -EINVAL;
        if (fzd_family_address_size(c->family) == 0)
                return -EAFNOSUPPORT;
        if (c->prefixlen > fzd_family_max_prefixlen(c->family))
                return -EINVAL;
        if (!inet_ntop(c->family, &c->addr, a, sizeof a))
                return -errno;
        n = snprintf(buf, size, "%s/%u", a, (unsigned) c->prefixlen);
        if (n < 0 || (size_t) n >= size)
                return -ENOSPC;
        return 0;
}

bool fzd_cidr_equal(const FzdCidr *a, const FzdCidr *b) {
        size_t n;

        if (!a || !b)
                return a == b;
        if (a->family != b->family || a->prefixlen != b->prefixlen)
                return false;
        n = fzd_family_address_size(a->family);
        return n > 0 && memcmp(&a->addr, &b->addr, n) == 0;
}

bool fzd_cidr_has_host_bits(const FzdCidr *c) {
        const uint8_t *p = (const uint8_t *) &c->addr;
        size_t n = fzd_family_address_size(c->family);

        for (size_t i = 0; i < n; i++) {
                unsigned bit = (unsigned) i * 8;
                uint8_t host;

                if (bit + 8 <= c->prefixlen)
                        continue;
                host = bit >= c->prefixlen ? 0xff : (uint8_t) (0xff >> (c->prefixlen - bit));
                if (p[i] & host)
                        return true;
        }
        return false;
}

void fzd_cidr_mask(FzdCidr *c) {
        uint8_t *p = (uint8_t *) &c->addr;
        size_t n = fzd_family_address_size(c->family);

        for (size_t i = 0; i < sizeof c->addr; i++) {
                unsigned bit = (unsigned) i * 8;

                if (i >= n || bit >= c->prefixlen)
                        p[i] = 0;
                else if (bit + 8 > c->prefixlen)
                        p[i] &= (uint8_t) (0xff << (8 - (c->prefixlen - bit)));
        }
}

int fzd_cidr_from_address(int family, const void *addr, unsigned prefixlen, FzdCidr *ret) {
        size_t n = fzd_family_address_size(family);
        FzdCidr c = {};

        if (n == 0)
                return -EAFNOSUPPORT;
        if (!addr || prefixlen > fzd_family_max_prefixlen(family))
                return -EINVAL;
        c.family = family;
        c.prefixlen = (unsigned char) prefixlen;
        memcpy(&c.addr, addr, n);
        *ret = c;
        return 0;
}

bool fzd_cidr_contains(const FzdCidr *a, const FzdCidr *b) {
        FzdCidr x;

        if (a->family != b->family || fzd_family_address_size(a->family) == 0)
                return false;
        if (b->prefixlen < a->prefixlen)
                return false;
        x = *b;
        x.prefixlen = a->prefixlen;
        fzd_cidr_mask(&x);
        return memcmp(&x.addr, &a->addr, fzd_family_address_size(a->family)) == 0;
}

/* Ranges that belong to the host, parsed once (the checks run for every prefix of a
 * resource list that may hold tens of thousands). */
typedef enum HostRange {
        LOOPBACK4,
        LOOPBACK6,
        MULTICAST4,
        MULTICAST6,
        BROADCAST4,
        LINKLOCAL6,
        THIS_NETWORK4,
        UNSPECIFIED6,
        RESERVED4,
        MAPPED6,
        _HOST_RANGE_MAX,
} HostRange;

static const FzdCidr *host_range(HostRange which) {
        static const char *const strings[_HOST_RANGE_MAX] = {
                [LOOPBACK4] = "127.0.0.0/8",         [LOOPBACK6] = "::1/128",
                [MULTICAST4] = "224.0.0.0/4",        [MULTICAST6] = "ff00::/8",
                [BROADCAST4] = "255.255.255.255/32", [LINKLOCAL6] = "fe80::/10",
                [THIS_NETWORK4] = "0.0.0.0/8",       [UNSPECIFIED6] = "::/128",
                [RESERVED4] = "224.0.0.0/3",         [MAPPED6] = "::ffff:0:0/96",
        };
        static FzdCidr ranges[_HOST_RANGE_MAX];
        static bool parsed = false;

        if (!parsed) {
                for (size_t i = 0; i < _HOST_RANGE_MAX; i++)
                        if (fzd_cidr_parse(strings[i], false, &ranges[i]) < 0)
                                abort(); /* constants */
                parsed = true;
        }
        return &ranges[which];
}

static bool within(const FzdCidr *c, HostRange range) {
        return fzd_cidr_contains(host_range(range), c);
}

const char *fzd_cidr_route_problem(const FzdCidr *c) {
        if (!c || fzd_family_address_size(c->family) == 0)
                return "not an IPv4 or IPv6 prefix";
        if (c->prefixlen > fzd_family_max_prefixlen(c->family))
                return "prefix length out of range";
        if (fzd_cidr_has_host_bits(c))
                return "host bits set";
        if (c->prefixlen == 0)
                return "a default route is only allowed for the Internet resource";
        /* These belong to the host: routing them into the tunnel would break it (loopback
         * is answered by the local table first anyway; multicast and link-local are
         * per-link by definition). */
        if (within(c, LOOPBACK4) || within(c, LOOPBACK6))
                return "loopback range";
        if (within(c, MULTICAST4) || within(c, MULTICAST6))
                return "multicast range";
        if (within(c, BROADCAST4))
                return "broadcast address";
        if (within(c, LINKLOCAL6))
                return "IPv6 link-local range";
        if (within(c, THIS_NETWORK4) || within(c, UNSPECIFIED6))
                return "unspecified address range";
        return NULL;
}

const char *fzd_address_problem(int family, const void *addr) {
        FzdCidr c;

        if (fzd_cidr_from_address(family, addr, fzd_family_max_prefixlen(family), &c) < 0)
                return "not an IPv4 or IPv6 address";
        if (within(&c, THIS_NETWORK4) || within(&c, UNSPECIFIED6))
                return "unspecified address";
        if (within(&c, LOOPBACK4) || within(&c, LOOPBACK6))
                return "loopback address";
        if (within(&c, RESERVED4) || within(&c, MULTICAST6))
                return "multicast or reserved address";
        if (within(&c, LINKLOCAL6))
                return "IPv6 link-local address";
        if (within(&c, MAPPED6))
                return "IPv4-mapped IPv6 address";
        return NULL;
}
