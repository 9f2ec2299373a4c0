/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Destination prefixes (IPv4 and IPv6) → a value (the data plane's peer) and an opaque
 * 64-bit cookie (for filter checks by the caller), with longest-prefix match. One hash
 * table keyed by (family, length, masked address), probed once per prefix length in use,
 * longest first: a handful of lookups for the few lengths real configurations use, and
 * O(1) inserts and removals for thousands of resources. Not locked: the data plane holds
 * it under a read-write lock. Memory: one entry per route. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct FzdDpRoutes FzdDpRoutes;

int fzd_dp_routes_new(FzdDpRoutes **ret);
FzdDpRoutes *fzd_dp_routes_free(FzdDpRoutes *r);
/* Frees the table, calling fn on the value of every route first. */
FzdDpRoutes *fzd_dp_routes_free_values(FzdDpRoutes *r, void (*fn)(void *value));

/* Adds a route or replaces the value of an existing one (*ret_old gets the old value,
 * else NULL). Host bits of addr are ignored. -EINVAL for a bad family or length. */
int fzd_dp_routes_add(FzdDpRoutes *r, int family, const void *addr, unsigned prefixlen, void *value, uint64_t cookie,
                      void **ret_old);
/* Removes a route; *ret_value gets its value. -ENOENT if there is none. */
int fzd_dp_routes_remove(FzdDpRoutes *r, int family, const void *addr, unsigned prefixlen, void **ret_value);
/* The route for exactly this prefix (host bits of addr ignored): whether there is one, and
 * its value. */
bool fzd_dp_routes_get(const FzdDpRoutes *r, int family, const void *addr, unsigned prefixlen, void **ret_value);
/* Removes every route whose value is `value`; returns how many. */
size_t fzd_dp_routes_remove_value(FzdDpRoutes *r, const void *value);
/* Longest prefix match of a 4- or 16-byte address. */
bool fzd_dp_routes_lookup(const FzdDpRoutes *r, int family, const void *addr, void **ret_value, uint64_t *ret_cookie);
size_t fzd_dp_routes_count(const FzdDpRoutes *r);
