/* SPDX-License-Identifier: Apache-2.0 */
/* The stub's DNS resources and their match index (dns-resources.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dns-resources.h"
#include "strmap.h"

/* The indexes file each resource under one key, an exact name or a wildcard pattern's literal
 * suffix; the map holds the first resource of that key (its key text is the map's key), the
 * others follow it through next_same_key. No allocation but the map's own slots. */
struct FzdDnsResources {
        FzdStrMap *by_id;
        FzdStrMap *exact;    /* name → the first resource filed under it */
        FzdStrMap *wildcard; /* literal suffix → the first resource filed under it */
        uint64_t generation;
};

static void resource_free(FzdDnsResource *r) {
        if (!r)
                return;
        fzd_dns_pattern_done(&r->pattern); /* the id lives in r's allocation */
        free(r);
}

static FzdStrMap *index_of(FzdDnsResources *s, const FzdDnsResource *r) {
        return r->pattern.has_wildcard ? s->wildcard : s->exact;
}

static const char *key_of(const FzdDnsResource *r) {
        return r->pattern.has_wildcard ? fzd_dns_pattern_literal_suffix(&r->pattern) : r->pattern.text;
}

static int index_add(FzdStrMap *index, FzdDnsResource *r) {
        FzdDnsResource *head = fzd_strmap_get(index, key_of(r));

        if (head) { /* behind the first: the map's key stays */
                r->next_same_key = head->next_same_key;
                head->next_same_key = r;
                return 0;
        }
        r->next_same_key = NULL;
        return fzd_strmap_put(index, key_of(r), r);
}

static void index_remove(FzdStrMap *index, FzdDnsResource *r) {
        FzdDnsResource *head = fzd_strmap_get(index, key_of(r));

        if (head == r) {
                (void) fzd_strmap_remove(index, key_of(r));
                /* The next one takes the key over (its own text: the same string). The map just
                 * lost an entry, so this put never grows it and cannot fail. */
                if (r->next_same_key)
                        (void) fzd_strmap_put(index, key_of(r->next_same_key), r->next_same_key);
        } else if (head)
                for (FzdDnsResource *p = head; p->next_same_key; p = p->next_same_key)
                        if (p->next_same_key == r) {
                                p->next_same_key = r->next_same_key;
                                break;
                        }
        r->next_same_key = NULL;
}

int fzd_dns_resources_new(FzdDnsResources **ret) {
        _cleanup_(fzd_dns_resources_freep) FzdDnsResources *s = calloc(1, sizeof(FzdDnsResources));

        if (!s || fzd_strmap_new(&s->by_id) < 0 || fzd_strmap_new(&s->exact) < 0 ||
            fzd_strmap_new(&s->wildcard) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(s);
        return 0;
}

/* Frees every resource and empties the maps. */
static void drop_all(FzdDnsResources *s) {
        FzdStrMap *maps[] = {s->exact, s->wildcard};
        void *v;
        size_t i;

        for (size_t k = 0; k < ELEMENTSOF(maps); k++)
                if (maps[k])
                        fzd_strmap_clear(maps[k]);
        if (s->by_id) {
                i = 0;
                while (fzd_strmap_next(s->by_id, &i, NULL, &v))
                        resource_free(v);
                fzd_strmap_clear(s->by_id);
        }
}

int fzd_dns_resources_reserve(FzdDnsResources *s, size_t n) {
        int r = fzd_strmap_reserve(s->by_id, n);

        return r < 0 ? r : fzd_strmap_reserve(s->exact, n);
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
        index_remove(index_of(s, r), r);
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

        r = calloc(1, sizeof *r + strlen(id) + 1);
        if (!r)
                return -ENOMEM;
        r->ip_stack = ip_stack;
        r->id = strcpy((char *) (r + 1), id);
        k = fzd_dns_pattern_compile(pattern, &r->pattern);
        if (k < 0) {
                free(r);
                return k;
        }
        if (old) {
                unlink_resource(s, old);
                resource_free(old);
        }
        k = fzd_strmap_put(s->by_id, r->id, r);
        if (k >= 0) {
                k = index_add(index_of(s, r), r);
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
        const FzdDnsResource *best = NULL, *r;
        size_t len = strlen(name);

        /* An exact name is more specific than any wildcard pattern that matches it. */
        r = fzd_strmap_getn(s->exact, name, len);
        if (r) {
                for (; r; r = r->next_same_key)
                        if (better(r, best))
                                best = r;
                return best;
        }
        if (fzd_strmap_size(s->wildcard) == 0)
                return NULL;
        /* Every suffix of the name, itself and the root ("") included. */
        for (size_t off = 0;;) {
                for (r = fzd_strmap_getn(s->wildcard, name + off, len - off); r; r = r->next_same_key)
                        if (better(r, best) && fzd_dns_pattern_matches(&r->pattern, name))
                                best = r;
                if (off == len)
                        break;
                const char *dot = memchr(name + off, '.', len - off);
                off = dot ? (size_t)(dot - name) + 1 : len;
        }
        return best;
}
