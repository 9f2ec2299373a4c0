/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* IPv4 and IPv6 prefixes: a type every layer uses (resources, routes, the data plane), so
 * it lives in a header that includes nothing of the daemon. */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An IPv4 or IPv6 prefix. */
typedef struct FzdCidr {
        int family; /* AF_INET or AF_INET6 */
        union {
                struct in_addr in;
                struct in6_addr in6;
        } addr;
        unsigned char prefixlen;
} FzdCidr;

/* Parses "10.0.0.0/24", "fd00::/64", or a bare address (as /32 or /128). Host bits must
 * be zero unless allow_host_bits. Returns 0 or -EINVAL. */
int fzd_cidr_parse(const char *s, bool allow_host_bits, FzdCidr *ret);
int fzd_cidr_to_string(const FzdCidr *c, char *buf, size_t size);
bool fzd_cidr_equal(const FzdCidr *a, const FzdCidr *b);

/* "ffff:ffff:…:ffff/128" plus NUL. */
#define FZD_CIDR_STRING_MAX (INET6_ADDRSTRLEN + 4)

/* Bytes of the address of family (4 or 16), or 0 for anything else. */
size_t fzd_family_address_size(int family);
/* 32 or 128, or 0 for anything else. */
unsigned fzd_family_max_prefixlen(int family);

bool fzd_cidr_has_host_bits(const FzdCidr *c);
/* Clears the host bits (and everything past the family's address size). */
void fzd_cidr_mask(FzdCidr *c);
/* Builds a CIDR from an address of the given family; -EINVAL/-EAFNOSUPPORT on bad input. */
int fzd_cidr_from_address(int family, const void *addr, unsigned prefixlen, FzdCidr *ret);
/* Whether a (masked) contains b. Families must match. */
bool fzd_cidr_contains(const FzdCidr *a, const FzdCidr *b);

/* Why c must not become a route of a CIDR resource in our table (NULL if it may): a default
 * route (only the Internet resource routes /0), a bad family or prefix length, host bits,
 * or a range that belongs to the host itself (loopback, multicast, IPv6 link-local). */
const char *fzd_cidr_route_problem(const FzdCidr *c);

/* Same idea for an interface address from the portal (a /32 or /128). */
const char *fzd_address_problem(int family, const void *addr);
