/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The DNS resources the stub answers for: id → (pattern, IP stack), with an index so that
 * matching a name costs a few hash lookups (one per suffix of the name) and pattern
 * matches only against the patterns filed under those suffixes — not a scan of every
 * resource. Main thread only. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns-pattern.h"
#include "macro.h"

typedef enum FzdDnsIpStack {
        FZD_DNS_IP_STACK_DUAL,
        FZD_DNS_IP_STACK_IPV4_ONLY,
        FZD_DNS_IP_STACK_IPV6_ONLY,
} FzdDnsIpStack;

static inline bool fzd_dns_ip_stack_has_ipv4(FzdDnsIpStack s) {
        return s != FZD_DNS_IP_STACK_IPV6_ONLY;
}

static inline bool fzd_dns_ip_stack_has_ipv6(FzdDnsIpStack s) {
        return s != FZD_DNS_IP_STACK_IPV4_ONLY;
}

typedef struct FzdDnsResource {
        char *id;
        FzdDnsPattern pattern;
        FzdDnsIpStack ip_stack;
        struct FzdDnsResource *next_same_key; /* the index's: others filed under the same key */
} FzdDnsResource;

typedef struct FzdDnsResources FzdDnsResources;

int fzd_dns_resources_new(FzdDnsResources **ret);
FzdDnsResources *fzd_dns_resources_free(FzdDnsResources *s);
DEFINE_POINTER_CLEANUP_FUNC(FzdDnsResources, fzd_dns_resources_free);

/* Adds the resource, or replaces the one with this id. Returns 1 if the set changed, 0 if
 * it held exactly this already, -EINVAL for an unusable pattern (the set is unchanged:
 * a replaced resource stays as it was), -ENOMEM. */
int fzd_dns_resources_put(FzdDnsResources *s, const char *id, const char *pattern, FzdDnsIpStack ip_stack);
/* Returns 1 if it was there, 0 if not. */
int fzd_dns_resources_remove(FzdDnsResources *s, const char *id);
void fzd_dns_resources_clear(FzdDnsResources *s);
/* Room for n resources (most names are exact ones) before a known series of puts. */
int fzd_dns_resources_reserve(FzdDnsResources *s, size_t n);
size_t fzd_dns_resources_size(const FzdDnsResources *s);
/* Counts every change; lets others notice that a match may have changed. */
uint64_t fzd_dns_resources_generation(const FzdDnsResources *s);

/* The most specific resource whose pattern matches name (lower-case text form), ties
 * broken by id; NULL if none. Valid until the next change of the set. */
const FzdDnsResource *fzd_dns_resources_match(const FzdDnsResources *s, const char *name);
