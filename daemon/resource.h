/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/* A resource the portal grants this device (DESIGN §2, ListResources). */

typedef enum FzdResourceType {
        FZD_RESOURCE_DNS,
        FZD_RESOURCE_CIDR,
        FZD_RESOURCE_INTERNET,
        _FZD_RESOURCE_TYPE_MAX,
} FzdResourceType;

typedef enum FzdResourceStatus {
        FZD_RESOURCE_STATUS_UNKNOWN,
        FZD_RESOURCE_STATUS_ONLINE,
        FZD_RESOURCE_STATUS_OFFLINE,
        _FZD_RESOURCE_STATUS_MAX,
} FzdResourceStatus;

/* Which proxy IPs the DNS stub gives a DNS resource's names (the portal's "ip_stack"). */
typedef enum FzdResourceIpStack {
        FZD_RESOURCE_IP_STACK_DUAL, /* also when the portal says nothing */
        FZD_RESOURCE_IP_STACK_IPV4_ONLY,
        FZD_RESOURCE_IP_STACK_IPV6_ONLY,
        _FZD_RESOURCE_IP_STACK_MAX,
} FzdResourceIpStack;

typedef struct FzdSite {
        char *id;
        char *name;
} FzdSite;

/* One filter of a resource (the portal's "filters"): TCP or UDP with a port range, or ICMP.
 * A resource without filters allows everything. */
typedef struct FzdResourceFilter {
        uint8_t protocol; /* 6 TCP, 17 UDP, 1 ICMP (ICMPv6 too) */
        uint16_t port_start, port_end;
} FzdResourceFilter;

#define FZD_RESOURCE_MAX_FILTERS 64

/* Pointers first, the enums together: 80 bytes (a table holds up to 50,000). */
typedef struct FzdResource {
        char *id;
        char *name;
        char *address;     /* dns: a name pattern ("*.example.com"); cidr: "10.0.0.0/24"; internet: "" */
        char *description; /* the portal's address_description; may be empty */
        FzdSite *sites;
        size_t n_sites;
        FzdResourceFilter *filters;
        size_t n_filters;
        FzdResourceType type;
        FzdResourceStatus status;
        FzdResourceIpStack ip_stack; /* dns only */
        bool packed;                 /* made by fzd_resource_new(): one allocation */
} FzdResource;

/* What a resource is made of, for fzd_resource_new(). Strings may be NULL (they stay NULL);
 * site_names may be NULL (no names). */
typedef struct FzdResourceSpec {
        FzdResourceType type;
        FzdResourceStatus status;
        FzdResourceIpStack ip_stack;
        const char *id, *name, *address, *description;
        /* Their lengths, if the caller knows them (0: measured here). */
        size_t id_len, name_len, address_len, description_len;
        const char *const *site_ids;
        const char *const *site_names;
        const size_t *site_id_lens, *site_name_lens; /* NULL: measured here */
        size_t n_sites;
        const FzdResourceFilter *filters;
        size_t n_filters;
} FzdResourceSpec;

/* A resource in one allocation: the struct, its sites, its filters and copies of every
 * string. The portal parser makes them this way: 10,000 resources are 10,000 allocations
 * instead of 80,000, and freeing them is as cheap. The fields of such a resource are not to
 * be replaced in place (status aside): make a new one. NULL on ENOMEM. */
FzdResource *fzd_resource_new(const FzdResourceSpec *spec);
/* Frees either kind: packed, or built field by field (each string, the sites and the
 * filters allocated on their own). */
FzdResource *fzd_resource_free(FzdResource *r);
/* A packed copy. */
int fzd_resource_dup(const FzdResource *r, FzdResource **ret);
DEFINE_POINTER_CLEANUP_FUNC(FzdResource, fzd_resource_free);

const char *fzd_resource_type_to_string(FzdResourceType t);
int fzd_resource_type_from_string(const char *s); /* or -EINVAL */
const char *fzd_resource_status_to_string(FzdResourceStatus s);
int fzd_resource_status_from_string(const char *s); /* or -EINVAL */
/* "dual", "ipv4_only", "ipv6_only" (the portal's spelling); from_string: or -EINVAL. */
const char *fzd_resource_ip_stack_to_string(FzdResourceIpStack s);
int fzd_resource_ip_stack_from_string(const char *s);

/* Resource table: id → resource, sorted output by name for ListResources. It holds at most
 * FZD_RESOURCE_TABLE_MAX resources: as many as one init may carry (the portal's parser
 * refuses more), and a portal that adds them one event at a time gets no further. */
typedef struct FzdResourceTable FzdResourceTable;
#define FZD_RESOURCE_TABLE_MAX 50000U

int fzd_resource_table_new(FzdResourceTable **ret);
FzdResourceTable *fzd_resource_table_free(FzdResourceTable *t);
DEFINE_POINTER_CLEANUP_FUNC(FzdResourceTable, fzd_resource_table_free);

/* Takes ownership of r. If ret_old is non-NULL, the replaced resource (or NULL) is
 * returned there for the caller to diff and free; otherwise it is freed. A new id when
 * the table is full: -E2BIG, and r stays the caller's (as on every error). */
int fzd_resource_table_put(FzdResourceTable *t, FzdResource *r, FzdResource **ret_old);
/* Room for n resources in all (at most FZD_RESOURCE_TABLE_MAX) before a known series of puts. */
int fzd_resource_table_reserve(FzdResourceTable *t, size_t n);
/* Removes and returns the resource (caller frees), or NULL if absent. */
FzdResource *fzd_resource_table_take(FzdResourceTable *t, const char *id);
const FzdResource *fzd_resource_table_get(const FzdResourceTable *t, const char *id);
size_t fzd_resource_table_size(const FzdResourceTable *t);
void fzd_resource_table_clear(FzdResourceTable *t);
/* Iterates in no particular order: start with *i = 0; returns NULL at the end. The table
 * must not change during the walk. */
const FzdResource *fzd_resource_table_next(const FzdResourceTable *t, size_t *i);
/* Fills a newly allocated array (caller frees the array only) with the resources
 * sorted by name, then id. */
int fzd_resource_table_sorted(const FzdResourceTable *t, const FzdResource ***ret, size_t *ret_n);
