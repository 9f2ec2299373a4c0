/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Helpers around FzdCidr (declared in os.h, where fzd_cidr_parse/to_string/equal live). */

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "os.h"

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
