/* SPDX-License-Identifier: Apache-2.0 */
/* The stub's DNS resources and their match index (dns-resources.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dns-resources.h"
#include "strmap.h"

/* Resources filed under one key: an exact name, or a wildcard pattern's literal suffix. */
typedef struct Bucket {
        char *key;
        FzdDnsResource **v;
        size_t n, cap;
} Bucket;

struct FzdDnsResources {
        FzdStrMap *by_id;
        FzdStrMap *exact;    /* name → Bucket */
        FzdStrMap *wildcard; /* literal suffix → Bucket */
        uint64_t generation;
};

static void resource_free(FzdDnsResource *r) {
        if (!r)
                return;
        free(r->id);
        fzd_dns_pattern_done(&r->pattern);
        free(r);
}

static FzdStrMap *index_of(FzdDnsResources *s, const FzdDnsResource *r) {
        return r->pattern.has_wildcard ? s->wildcard : s->exact;
}

static const char *key_of(const FzdDnsResource *r) {
        return r->pattern.has_wildcard ? fzd_dns_pattern_literal_suffix(&r->pattern) : r->pattern.text;
}

static int bucket_add(FzdStrMap *index, const char *key, FzdDnsResource *r) {
        Bucket *b = fzd_strmap_get(index, key);

        if (!b) {
                b = calloc(1, sizeof *b);
                if (!b)
                        return -ENOMEM;
                b->key = strdup(key);
                if (!b->key || fzd_strmap_put(index, b->key, b) < 0) {
                        free(b->key);
                        free(b);
                        return -ENOMEM;
                }
        }
        if (b->n == b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 2;
                FzdDnsResource **v = reallocarray(b->v, cap, sizeof *v);
                if (!v) {
                        if (b->n == 0) {
                                fzd_strmap_remove(index, b->key);
                                free(b->key);
                                free(b);
                        }
                        return -ENOMEM;
                }
                b->v = v;
                b->cap = cap;
        }
        b->v[b->n++] = r;
        return 0;
}

static void bucket_free(Bucket *b) {
        if (!b)
                return;
        free(b->v);
        free(b->key);
        free(b);
}

static void bucket_remove(FzdStrMap *index, const char *key, const FzdDnsResource *r) {
        Bucket *b = fzd_strmap_get(index, key);

        if (!b)
                return;
        for (size_t i = 0; i < b->n; i++)
                if (b->v[i] == r) {
                        b->v[i] = b->v[--b->n];
                        break;
                }
        if (b->n == 0) {
                fzd_strmap_remove(index, b->key);
                bucket_free(b);
        }
}

int fzd_dns_resources_new(FzdDnsResources **ret) {
        _cleanup_(fzd_dns_resources_freep) FzdDnsResources *s = calloc(1, sizeof(FzdDnsResources));

        if (!s || fzd_strmap_new(&s->by_id) < 0 || fzd_strmap_new(&s->exact) < 0 ||
            fzd_strmap_new(&s->wildcard) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(s);
        return 0;
}

/* Frees every bucket and resource and empties the maps. */
static void drop_all(FzdDnsResources *s) {
        FzdStrMap *maps[] = {s->exact, s->wildcard};
        void *v;
        size_t i;

        for (size_t k = 0; k < ELEMENTSOF(maps); k++) {
                if (!maps[k])
                        continue;
                i = 0;
                while (fzd_strmap_next(maps[k], &i, NULL, &v))
                        bucket_free(v);
                fzd_strmap_clear(maps[k]);
        }
        if (s->by_id) {
                i = 0;
                while (fzd_strmap_next(s->by_id, &i, NULL, &v))
                        resource_free(v);
                fzd_strmap_clear(s->by_id);
        }
}

void fzd_dns_resources_clear(FzdDnsResources *s) {
        drop_all(s);
        s->generation++;
}

FzdDnsResources *fzd_dns_resources_free(FzdDnsResources *s) {
        if (!s)
                return NULL;
        drop_all(s);
        fzd_strmap_free(s->by_id);
        fzd_strmap_free(s->exact);
        fzd_strmap_free(s->wildcard);
        free(s);
        return NULL;
}

static void unlink_resource(FzdDnsResources *s, FzdDnsResource *r) {
        bucket_remove(index_of(s, r), key_of(r), r);
        fzd_strmap_remove(s->by_id, r->id);
}

int fzd_dns_resources_put(FzdDnsResources *s, const char *id, const char *pattern, FzdDnsIpStack ip_stack) {
        FzdDnsResource *old = fzd_strmap_get(s->by_id, id), *r;
        int k;

        if (old && old->ip_stack == ip_stack) {
                /* Same text after normalisation (case, trailing dot)? Then nothing changes. */
                FzdDnsPattern p;
                k = fzd_dns_pattern_compile(pattern, &p);
                if (k < 0)
                        return k;
                k = strcmp(p.text, old->pattern.text);
                fzd_dns_pattern_done(&p);
                if (k == 0)
                        return 0;
        }

        r = calloc(1, sizeof *r);
        if (!r)
                return -ENOMEM;
        r->ip_stack = ip_stack;
        r->id = strdup(id);
        if (!r->id) {
                free(r);
                return -ENOMEM;
        }
        k = fzd_dns_pattern_compile(pattern, &r->pattern);
        if (k < 0) {
                free(r->id);
                free(r);
                return k;
        }
        if (old) {
                unlink_resource(s, old);
                resource_free(old);
        }
        k = fzd_strmap_put(s->by_id, r->id, r);
        if (k >= 0) {
                k = bucket_add(index_of(s, r), key_of(r), r);
                if (k < 0)
                        fzd_strmap_remove(s->by_id, r->id);
        }
        if (k < 0) {
                resource_free(r);
                s->generation++; /* the old one is gone */
                return k;
        }
        s->generation++;
        return 1;
}

int fzd_dns_resources_remove(FzdDnsResources *s, const char *id) {
        FzdDnsResource *r = fzd_strmap_get(s->by_id, id);

        if (!r)
                return 0;
        unlink_resource(s, r);
        resource_free(r);
        s->generation++;
        return 1;
}

size_t fzd_dns_resources_size(const FzdDnsResources *s) {
        return fzd_strmap_size(s->by_id);
}

uint64_t fzd_dns_resources_generation(const FzdDnsResources *s) {
        return s->generation;
}

static bool better(const FzdDnsResource *r, const FzdDnsResource *best) {
        int c;

        if (!best)
                return true;
        c = fzd_dns_pattern_compare(&r->pattern, &best->pattern);
        return c < 0 || (c == 0 && strcmp(r->id, best->id) < 0);
}

const FzdDnsResource *fzd_dns_resources_match(const FzdDnsResources *s, const char *name) {
        const FzdDnsResource *best = NULL;
        const Bucket *b;
        size_t len = strlen(name);

        /* An exact name is more specific than any wildcard pattern that matches it. */
        b = fzd_strmap_getn(s->exact, name, len);
        if (b) {
                for (size_t i = 0; i < b->n; i++)
                        if (better(b->v[i], best))
                                best = b->v[i];
                return best;
        }
        if (fzd_strmap_size(s->wildcard) == 0)
                return NULL;
        /* Every suffix of the name, itself and the root ("") included. */
        for (size_t off = 0;;) {
                b = fzd_strmap_getn(s->wildcard, name + off, len - off);
                if (b)
                        for (size_t i = 0; i < b->n; i++)
                                if (better(b->v[i], best) &&
                                    fzd_dns_pattern_matches(&b->v[i]->pattern, name))
                                        best = b->v[i];
                if (off == len)
                        break;
                const char *dot = memchr(name + off, '.', len - off);
                off = dot ? (size_t)(dot - name) + 1 : len;
        }
        return best;
}
