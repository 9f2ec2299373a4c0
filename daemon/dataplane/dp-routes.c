/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dp-routes.h"

typedef struct Route {
        struct Route *next;
        uint8_t family, prefixlen;
        uint8_t addr[16];
        void *value;
        uint64_t cookie;
} Route;

struct FzdDpRoutes {
        Route **buckets;
        size_t nbuckets, n;
        /* How many routes use each length, and the lengths in use, longest first. */
        unsigned count4[33], count6[129];
        uint8_t lens4[33], lens6[129];
        unsigned n_lens4, n_lens6;
};

static size_t addr_len(int family) {
        return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

static void mask(uint8_t *out, const uint8_t *addr, size_t alen, unsigned prefixlen) {
        memset(out, 0, 16);
        memcpy(out, addr, prefixlen / 8);
        if (prefixlen % 8)
                out[prefixlen / 8] = addr[prefixlen / 8] & (uint8_t) (0xff00u >> (prefixlen % 8));
        (void) alen;
}

static size_t hash(int family, unsigned prefixlen, const uint8_t masked[16], size_t nbuckets) {
        uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t) family << 8 ^ prefixlen;

        for (size_t i = 0; i < 16; i++)
                h = (h ^ masked[i]) * 0x100000001b3ULL;
        return (size_t) (h ^ h >> 29) & (nbuckets - 1);
}

int fzd_dp_routes_new(FzdDpRoutes **ret) {
        FzdDpRoutes *r = calloc(1, sizeof *r);

        if (!r)
                return -ENOMEM;
        r->nbuckets = 64;
        r->buckets = calloc(r->nbuckets, sizeof *r->buckets);
        if (!r->buckets) {
                free(r);
                return -ENOMEM;
        }
        *ret = r;
        return 0;
}

FzdDpRoutes *fzd_dp_routes_free(FzdDpRoutes *r) {
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->nbuckets; i++)
                while (r->buckets[i]) {
                        Route *e = r->buckets[i];
                        r->buckets[i] = e->next;
                        free(e);
                }
        free(r->buckets);
        free(r);
        return NULL;
}

FzdDpRoutes *fzd_dp_routes_free_values(FzdDpRoutes *r, void (*fn)(void *value)) {
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->nbuckets; i++)
                for (Route *e = r->buckets[i]; e; e = e->next)
                        fn(e->value);
        return fzd_dp_routes_free(r);
}

static void rebuild_lens(FzdDpRoutes *r) {
        r->n_lens4 = r->n_lens6 = 0;
        for (int l = 32; l >= 0; l--)
                if (r->count4[l])
                        r->lens4[r->n_lens4++] = (uint8_t) l;
        for (int l = 128; l >= 0; l--)
                if (r->count6[l])
                        r->lens6[r->n_lens6++] = (uint8_t) l;
}

static unsigned *count_of(FzdDpRoutes *r, int family, unsigned prefixlen) {
        return family == AF_INET ? &r->count4[prefixlen] : &r->count6[prefixlen];
}

static Route **find(const FzdDpRoutes *r, int family, unsigned prefixlen, const uint8_t masked[16]) {
        Route **p = &r->buckets[hash(family, prefixlen, masked, r->nbuckets)];

        while (*p && ((*p)->family != family || (*p)->prefixlen != prefixlen || memcmp((*p)->addr, masked, 16) != 0))
                p = &(*p)->next;
        return p;
}

static void grow(FzdDpRoutes *r) {
        size_t nb = r->nbuckets * 2;
        Route **b = calloc(nb, sizeof *b);

        if (!b)
                return;
        for (size_t i = 0; i < r->nbuckets; i++)
                while (r->buckets[i]) {
                        Route *e = r->buckets[i];
                        size_t h = hash(e->family, e->prefixlen, e->addr, nb);
                        r->buckets[i] = e->next;
                        e->next = b[h];
                        b[h] = e;
                }
        free(r->buckets);
        r->buckets = b;
        r->nbuckets = nb;
}

int fzd_dp_routes_add(FzdDpRoutes *r, int family, const void *addr, unsigned prefixlen, void *value, uint64_t cookie,
                      void **ret_old) {
        size_t alen = addr_len(family);
        uint8_t masked[16];
        Route **p, *e;

        if (alen == 0 || prefixlen > alen * 8)
                return -EINVAL;
        mask(masked, addr, alen, prefixlen);
        p = find(r, family, prefixlen, masked);
        if (*p) {
                if (ret_old)
                        *ret_old = (*p)->value;
                (*p)->value = value;
                (*p)->cookie = cookie;
                return 0;
        }
        e = calloc(1, sizeof *e);
        if (!e)
                return -ENOMEM;
        *e = (Route) { .family = (uint8_t) family, .prefixlen = (uint8_t) prefixlen, .value = value, .cookie = cookie };
        memcpy(e->addr, masked, 16);
        if (r->n >= r->nbuckets)
                grow(r);
        p = &r->buckets[hash(family, prefixlen, masked, r->nbuckets)];
        e->next = *p;
        *p = e;
        r->n++;
        if ((*count_of(r, family, prefixlen))++ == 0)
                rebuild_lens(r);
        if (ret_old)
                *ret_old = NULL;
        return 0;
}

static void unlink_route(FzdDpRoutes *r, Route **p) {
        Route *e = *p;

        *p = e->next;
        r->n--;
        if (--(*count_of(r, e->family, e->prefixlen)) == 0)
                rebuild_lens(r);
        free(e);
}

int fzd_dp_routes_remove(FzdDpRoutes *r, int family, const void *addr, unsigned prefixlen, void **ret_value) {
        size_t alen = addr_len(family);
        uint8_t masked[16];
        Route **p;

        if (alen == 0 || prefixlen > alen * 8)
                return -EINVAL;
        mask(masked, addr, alen, prefixlen);
        p = find(r, family, prefixlen, masked);
        if (!*p)
                return -ENOENT;
        if (ret_value)
                *ret_value = (*p)->value;
        unlink_route(r, p);
        return 0;
}

bool fzd_dp_routes_get(const FzdDpRoutes *r, int family, const void *addr, unsigned prefixlen, void **ret_value) {
        size_t alen = addr_len(family);
        uint8_t masked[16];
        Route **p;

        if (alen == 0 || prefixlen > alen * 8)
                return false;
        mask(masked, addr, alen, prefixlen);
        p = find(r, family, prefixlen, masked);
        if (!*p)
                return false;
        if (ret_value)
                *ret_value = (*p)->value;
        return true;
}

size_t fzd_dp_routes_remove_value(FzdDpRoutes *r, const void *value) {
        size_t n = 0;

        for (size_t i = 0; i < r->nbuckets; i++) {
                Route **p = &r->buckets[i];
                while (*p)
                        if ((*p)->value == value) {
                                unlink_route(r, p);
                                n++;
                        } else
                                p = &(*p)->next;
        }
        return n;
}

bool fzd_dp_routes_lookup(const FzdDpRoutes *r, int family, const void *addr, void **ret_value, uint64_t *ret_cookie) {
        const uint8_t *lens = family == AF_INET ? r->lens4 : r->lens6;
        unsigned n = family == AF_INET ? r->n_lens4 : family == AF_INET6 ? r->n_lens6 : 0;
        size_t alen = addr_len(family);
        uint8_t masked[16];

        for (unsigned i = 0; i < n; i++) {
                Route *e;
                mask(masked, addr, alen, lens[i]);
                e = *find(r, family, lens[i], masked);
                if (e) {
                        if (ret_value)
                                *ret_value = e->value;
                        if (ret_cookie)
                                *ret_cookie = e->cookie;
                        return true;
                }
        }
        return false;
}

size_t fzd_dp_routes_count(const FzdDpRoutes *r) {
        return r->n;
}
