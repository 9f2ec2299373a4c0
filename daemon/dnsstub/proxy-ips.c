/* SPDX-License-Identifier: Apache-2.0 */
/* Proxy IPs of DNS resource names (proxy-ips.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "proxy-ips.h"
#include "strmap.h"

/* Entry k owns block k + 1 of 4 addresses in each range (block 0 holds the network
 * address). IPv4: 100.96.0.0/11 is 2^19 blocks; the last holds the broadcast address,
 * and 100.100.111.0/24 — the sentinels, inside this range — is 64 blocks to step over.
 * IPv6: fd00:2021:1111:8000::/107 is 2^19 blocks as well; the sentinels'
 * fd00:2021:1111:8000:100:100:111:0/120 lies outside it (its low 64 bits are far above
 * 2^21), so nothing to step over there (a unit test checks both). */
#define V4_BASE            0x64600000u /* 100.96.0.0 */
#define V4_BLOCKS          (1u << 19)
#define V4_SENTINEL_BLOCK  ((0x64646f00u - V4_BASE) / 4) /* 100.100.111.0 */
#define V4_SENTINEL_BLOCKS 64u
#define V6_BLOCKS          (1u << 19)

static const uint8_t v6_base[16] = {0xfd, 0x00, 0x20, 0x21,
                                    0x11, 0x11, 0x80, 0x00}; /* /107: low 21 bits free */

_Static_assert(FZD_PROXY_IPS_MAX_NAMES < V4_BLOCKS - 2 - V4_SENTINEL_BLOCKS, "IPv4 proxy range too small");
_Static_assert(FZD_PROXY_IPS_MAX_NAMES < V6_BLOCKS - 1, "IPv6 proxy range too small");

typedef struct Entry {
        char *name;
        char *resource_id; /* NULL: none now */
        size_t index;
} Entry;

struct FzdProxyIps {
        pthread_rwlock_t lock; /* readers: other threads; writer: the owner when it changes */
        FzdStrMap *names;      /* name → Entry */
        Entry **entries;       /* by index */
        size_t n, cap;
        uint64_t generation;
};

static uint32_t v4_block(size_t k) {
        uint32_t j = (uint32_t)k + 1;
        return j >= V4_SENTINEL_BLOCK ? j + V4_SENTINEL_BLOCKS : j;
}

void fzd_proxy_ips_addresses_of(size_t k, FzdProxyAddresses *ret) {
        uint32_t b4 = v4_block(k), b6 = (uint32_t)k + 1;

        for (unsigned i = 0; i < FZD_PROXY_IPS_PER_FAMILY; i++) {
                uint32_t low = b6 * 4 + i;
                ret->v4[i].s_addr = htonl(V4_BASE + b4 * 4 + i);
                memcpy(ret->v6[i].s6_addr, v6_base, 16);
                ret->v6[i].s6_addr[13] = (uint8_t)(low >> 16);
                ret->v6[i].s6_addr[14] = (uint8_t)(low >> 8);
                ret->v6[i].s6_addr[15] = (uint8_t)low;
        }
}

/* Entry index of a proxy IP, or -1. */
long fzd_proxy_ips_index_of(int family, const void *addr) {
        if (family == AF_INET) {
                uint32_t a = ntohl(((const struct in_addr *)addr)->s_addr), j;
                if ((a & 0xffe00000u) != V4_BASE)
                        return -1;
                j = (a - V4_BASE) / 4;
                if (j == 0 || j >= V4_BLOCKS - 1)
                        return -1;
                if (j >= V4_SENTINEL_BLOCK && j < V4_SENTINEL_BLOCK + V4_SENTINEL_BLOCKS)
                        return -1;
                return (long)(j >= V4_SENTINEL_BLOCK ? j - V4_SENTINEL_BLOCKS : j) - 1;
        }
        if (family == AF_INET6) {
                const uint8_t *b = ((const struct in6_addr *)addr)->s6_addr;
                uint32_t low, j;
                if (memcmp(b, v6_base, 13) != 0 || (b[13] & 0xe0) != 0)
                        return -1;
                low = ((uint32_t)b[13] << 16) | ((uint32_t)b[14] << 8) | b[15];
                j = low / 4;
                if (j == 0)
                        return -1;
                return (long)j - 1;
        }
        return -1;
}

bool fzd_proxy_ips_in_range(int family, const void *addr) {
        if (family == AF_INET)
                return (ntohl(((const struct in_addr *)addr)->s_addr) & 0xffe00000u) == V4_BASE;
        if (family == AF_INET6) {
                const uint8_t *b = ((const struct in6_addr *)addr)->s6_addr;
                return memcmp(b, v6_base, 13) == 0 && (b[13] & 0xe0) == 0;
        }
        return false;
}

int fzd_proxy_ips_new(FzdProxyIps **ret) {
        FzdProxyIps *t = calloc(1, sizeof *t);

        if (!t)
                return -ENOMEM;
        if (pthread_rwlock_init(&t->lock, NULL) != 0) {
                free(t);
                return -ENOMEM;
        }
        if (fzd_strmap_new(&t->names) < 0) {
                pthread_rwlock_destroy(&t->lock);
                free(t);
                return -ENOMEM;
        }
        *ret = t;
        return 0;
}

FzdProxyIps *fzd_proxy_ips_free(FzdProxyIps *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n; i++) {
                free(t->entries[i]->name);
                free(t->entries[i]->resource_id);
                free(t->entries[i]);
        }
        free(t->entries);
        fzd_strmap_free(t->names);
        pthread_rwlock_destroy(&t->lock);
        free(t);
        return NULL;
}

static bool same_id(const char *a, const char *b) {
        return streq_ptr(isempty(a) ? NULL : a, isempty(b) ? NULL : b);
}

/* Replaces e's resource id (owner thread). */
static int set_resource(FzdProxyIps *t, Entry *e, const char *resource_id) {
        char *copy = NULL, *old;

        if (same_id(e->resource_id, resource_id))
                return 0;
        if (!isempty(resource_id)) {
                copy = strdup(resource_id);
                if (!copy)
                        return -ENOMEM;
        }
        pthread_rwlock_wrlock(&t->lock);
        old = e->resource_id;
        e->resource_id = copy;
        __atomic_add_fetch(&t->generation, 1, __ATOMIC_RELEASE);
        pthread_rwlock_unlock(&t->lock);
        free(old); /* readers copy under the lock: none can still hold it */
        return 0;
}

int fzd_proxy_ips_assign(FzdProxyIps *t, const char *name, const char *resource_id, FzdProxyAddresses *ret) {
        Entry *e;
        int r;

        if (resource_id && strlen(resource_id) > FZD_PROXY_IPS_ID_MAX)
                return -EINVAL;
        e = fzd_strmap_get(t->names, name);
        if (e) {
                r = set_resource(t, e, resource_id);
                if (r < 0)
                        return r;
                if (ret)
                        fzd_proxy_ips_addresses_of(e->index, ret);
                return 0;
        }
        if (t->n >= FZD_PROXY_IPS_MAX_NAMES || strlen(name) > FZD_DNS_NAME_TEXT_MAX)
                return t->n >= FZD_PROXY_IPS_MAX_NAMES ? -ENOSPC : -EINVAL;

        e = calloc(1, sizeof *e);
        if (!e)
                return -ENOMEM;
        e->name = strdup(name);
        e->resource_id = isempty(resource_id) ? NULL : strdup(resource_id);
        if (!e->name || (!isempty(resource_id) && !e->resource_id))
                goto oom;
        e->index = t->n;

        pthread_rwlock_wrlock(&t->lock);
        if (t->n == t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 64;
                Entry **v = reallocarray(t->entries, cap, sizeof *v);
                if (!v) {
                        pthread_rwlock_unlock(&t->lock);
                        goto oom;
                }
                t->entries = v;
                t->cap = cap;
        }
        if (fzd_strmap_put(t->names, e->name, e) < 0) {
                pthread_rwlock_unlock(&t->lock);
                goto oom;
        }
        t->entries[t->n] = e;
        __atomic_store_n(&t->n, t->n + 1, __ATOMIC_RELEASE);
        __atomic_add_fetch(&t->generation, 1, __ATOMIC_RELEASE);
        pthread_rwlock_unlock(&t->lock);

        if (ret)
                fzd_proxy_ips_addresses_of(e->index, ret);
        return 1;

oom:
        free(e->name);
        free(e->resource_id);
        free(e);
        return -ENOMEM;
}

void fzd_proxy_ips_rebind(FzdProxyIps *t, const char *(*resource_of)(void *userdata, const char *name),
                          void *userdata) {
        for (size_t i = 0; i < t->n; i++) {
                Entry *e = t->entries[i];
                if (set_resource(t, e, resource_of(userdata, e->name)) < 0)
                        break; /* out of memory: the old ids stay, which is still consistent */
        }
}

int fzd_proxy_ips_lookup(FzdProxyIps *t, int family, const void *addr, char *ret_name,
                         char *ret_resource_id) {
        long k = fzd_proxy_ips_index_of(family, addr);
        int r = -ENOENT;

        if (k < 0)
                return -ENOENT;
        pthread_rwlock_rdlock(&t->lock);
        if ((size_t)k < t->n) {
                const Entry *e = t->entries[k];
                if (ret_name)
                        strcpy(ret_name, e->name);
                if (ret_resource_id)
                        strcpy(ret_resource_id, strempty(e->resource_id));
                r = 0;
        }
        pthread_rwlock_unlock(&t->lock);
        return r;
}

int fzd_proxy_ips_get(FzdProxyIps *t, const char *name, FzdProxyAddresses *ret) {
        const Entry *e;
        size_t k = 0;

        pthread_rwlock_rdlock(&t->lock);
        e = fzd_strmap_get(t->names, name);
        if (e)
                k = e->index;
        pthread_rwlock_unlock(&t->lock);
        if (!e)
                return -ENOENT;
        if (ret)
                fzd_proxy_ips_addresses_of(k, ret);
        return 0;
}

size_t fzd_proxy_ips_count(FzdProxyIps *t) {
        return __atomic_load_n(&t->n, __ATOMIC_ACQUIRE);
}

uint64_t fzd_proxy_ips_generation(FzdProxyIps *t) {
        return __atomic_load_n(&t->generation, __ATOMIC_ACQUIRE);
}
