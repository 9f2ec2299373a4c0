/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Proxy IPs of DNS resource names (DESIGN §7.1): the first A or AAAA query for a name that
 * matches a DNS resource gives that name 4 IPv4 addresses from 100.96.0.0/11 and 4 IPv6
 * addresses from fd00:2021:1111:8000::/107 (the sentinel ranges excluded). They stay the
 * name's for the life of the daemon — across reconnects, sign-outs and resource updates —
 * and are never given to another name. The table maps them back to the name and to the
 * resource the name stands for now (the data plane, issue #13, routes by it).
 *
 * Threads. One thread owns the table and is the only one that changes it: the main
 * (sd-event) thread, through the stub. Every other function may be called from any thread
 * at any time: fzd_proxy_ips_lookup() and fzd_proxy_ips_get() take a read lock for the
 * time of a copy (no allocation, no system call, never blocked for longer than the
 * owner's in-memory update of one entry or one table growth), and copy out what they
 * return, so nothing they return can change or go away under the caller. A caller that
 * caches results can compare fzd_proxy_ips_generation() (a lock-free atomic read) to
 * notice that some name's resource changed. The table itself must outlive every caller:
 * it is freed only at exit, after the data plane's threads have stopped.
 *
 * Bounded: at most FZD_PROXY_IPS_MAX_NAMES names; after that, new names get -ENOSPC
 * (the stub answers SERVFAIL and logs it) while known names keep working. */

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns-wire.h"
#include "macro.h"

#define FZD_PROXY_IPS_PER_FAMILY 4
#define FZD_PROXY_IPS_MAX_NAMES  65536
#define FZD_PROXY_IPS_ID_MAX     128 /* resource ids are at most this long (FZD_PORTAL_MAX_ID) */

typedef struct FzdProxyIps FzdProxyIps;

typedef struct FzdProxyAddresses {
        struct in_addr v4[FZD_PROXY_IPS_PER_FAMILY];
        struct in6_addr v6[FZD_PROXY_IPS_PER_FAMILY];
} FzdProxyAddresses;

int fzd_proxy_ips_new(FzdProxyIps **ret);
FzdProxyIps *fzd_proxy_ips_free(FzdProxyIps *t);
DEFINE_POINTER_CLEANUP_FUNC(FzdProxyIps, fzd_proxy_ips_free);

/* Owner thread. The addresses of name (lower-case text), given to it now if it has none,
 * and what resource it stands for from now on (resource_id; NULL or "" for none). Returns
 * 1 if the name was new, 0 if known, -ENOSPC when the table is full, -EINVAL for an id
 * that is too long, -ENOMEM. */
int fzd_proxy_ips_assign(FzdProxyIps *t, const char *name, const char *resource_id, FzdProxyAddresses *ret);

/* Owner thread, after the resources changed: resource_of() tells each known name's
 * resource now (NULL: none). Only names whose resource changed are rewritten. */
void fzd_proxy_ips_rebind(FzdProxyIps *t, const char *(*resource_of)(void *userdata, const char *name),
                          void *userdata);

/* Any thread. What the proxy IP addr (family AF_INET: struct in_addr, AF_INET6: struct
 * in6_addr) stands for: the name (ret_name: FZD_DNS_NAME_TEXT_MAX + 1 bytes) and the
 * resource id (ret_resource_id: FZD_PROXY_IPS_ID_MAX + 1 bytes; "" while the name
 * matches no resource); either may be NULL. Returns 0, or -ENOENT if no name has it. */
int fzd_proxy_ips_lookup(FzdProxyIps *t, int family, const void *addr, char *ret_name,
                         char *ret_resource_id);

/* Any thread. The addresses of a known name: 0, or -ENOENT. */
int fzd_proxy_ips_get(FzdProxyIps *t, const char *name, FzdProxyAddresses *ret);

/* Any thread, lock-free. The number of names, and a counter that changes whenever a
 * name is added or its resource changes. */
size_t fzd_proxy_ips_count(FzdProxyIps *t);
uint64_t fzd_proxy_ips_generation(FzdProxyIps *t);

/* Whether addr lies in the proxy ranges at all (pure). */
bool fzd_proxy_ips_in_range(int family, const void *addr);

/* The arithmetic behind the table, for tests: the addresses of the index-th name, and the
 * index a proxy IP belongs to (-1 if none could). */
void fzd_proxy_ips_addresses_of(size_t index, FzdProxyAddresses *ret);
long fzd_proxy_ips_index_of(int family, const void *addr);
