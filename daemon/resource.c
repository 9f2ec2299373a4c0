/* SPDX-License-Identifier: Apache-2.0 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resource.h"
#include "table-alloc.h"

static const char *const type_names[_FZD_RESOURCE_TYPE_MAX] = {
        [FZD_RESOURCE_DNS] = "dns",
        [FZD_RESOURCE_CIDR] = "cidr",
        [FZD_RESOURCE_INTERNET] = "internet",
};

static const char *const status_names[_FZD_RESOURCE_STATUS_MAX] = {
        [FZD_RESOURCE_STATUS_UNKNOWN] = "unknown",
        [FZD_RESOURCE_STATUS_ONLINE] = "online",
        [FZD_RESOURCE_STATUS_OFFLINE] = "offline",
};

static const char *const ip_stack_names[_FZD_RESOURCE_IP_STACK_MAX] = {
        [FZD_RESOURCE_IP_STACK_DUAL] = "dual",
        [FZD_RESOURCE_IP_STACK_IPV4_ONLY] = "ipv4_only",
        [FZD_RESOURCE_IP_STACK_IPV6_ONLY] = "ipv6_only",
};

static int lookup(const char *const *names, size_t n, const char *s) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (streq(names[i], s))
                        return (int) i;
        return -EINVAL;
}

const char *fzd_resource_type_to_string(FzdResourceType t) {
        return (unsigned) t < _FZD_RESOURCE_TYPE_MAX ? type_names[t] : NULL;
}

int fzd_resource_type_from_string(const char *s) {
        return lookup(type_names, _FZD_RESOURCE_TYPE_MAX, s);
}

const char *fzd_resource_status_to_string(FzdResourceStatus s) {
        return (unsigned) s < _FZD_RESOURCE_STATUS_MAX ? status_names[s] : NULL;
}

int fzd_resource_status_from_string(const char *s) {
        return lookup(status_names, _FZD_RESOURCE_STATUS_MAX, s);
}

const char *fzd_resource_ip_stack_to_string(FzdResourceIpStack s) {
        return (unsigned) s < _FZD_RESOURCE_IP_STACK_MAX ? ip_stack_names[s] : NULL;
}

int fzd_resource_ip_stack_from_string(const char *s) {
        return lookup(ip_stack_names, _FZD_RESOURCE_IP_STACK_MAX, s);
}

FzdResource *fzd_resource_free(FzdResource *r) {
        if (!r)
                return NULL;
        if (!r->packed) {
                for (size_t i = 0; i < r->n_sites; i++) {
                        free(r->sites[i].id);
                        free(r->sites[i].name);
                }
                free(r->sites);
                free(r->filters);
                free(r->id);
                free(r->name);
                free(r->address);
                free(r->description);
        }
        free(r);
        return NULL;
}

/* A site string's length from the spec, if it gives them. */
#define SITE_LEN(spec, lens, i) ((spec)->lens ? (spec)->lens[i] : 0)

/* What s takes with its NUL (0 for NULL); known is its length if the caller knew it. */
static size_t str_size(const char *s, size_t known) {
        if (!s)
                return 0;
        assert(!known || s[known] == '\0');
        return (known ? known : strlen(s)) + 1;
}

/* Copies s with its NUL to *p and advances *p; NULL stays NULL. known: as for str_size(). */
static char *pack_str(char **p, const char *s, size_t known) {
        char *at = *p;
        size_t n = str_size(s, known);

        if (!s)
                return NULL;
        memcpy(at, s, n);
        *p += n;
        return at;
}

FzdResource *fzd_resource_new(const FzdResourceSpec *spec) {
        size_t n_sites = spec->n_sites, n_filters = spec->n_filters;
        size_t size = sizeof(FzdResource) + n_sites * sizeof(FzdSite) + n_filters * sizeof(FzdResourceFilter) +
                      str_size(spec->id, spec->id_len) + str_size(spec->name, spec->name_len) +
                      str_size(spec->address, spec->address_len) +
                      str_size(spec->description, spec->description_len);
        FzdResource *r;
        char *p;

        /* (A string's length not given is measured twice, here and when it is copied: only
         * callers off the init path leave them out.) */
        for (size_t i = 0; i < n_sites; i++)
                size += str_size(spec->site_ids[i], SITE_LEN(spec, site_id_lens, i)) +
                        str_size(spec->site_names ? spec->site_names[i] : NULL, SITE_LEN(spec, site_name_lens, i));
        r = malloc(size);
        if (!r)
                return NULL;
        *r = (FzdResource){
                .type = spec->type,
                .status = spec->status,
                .ip_stack = spec->ip_stack,
                .n_sites = n_sites,
                .n_filters = n_filters,
                .packed = true,
        };
        /* The sites (pointers) first, then the filters (16-bit fields), then the strings. */
        p = (char *) (r + 1);
        if (n_sites > 0)
                r->sites = (FzdSite *) (void *) p;
        p += n_sites * sizeof(FzdSite);
        if (n_filters > 0) {
                r->filters = (FzdResourceFilter *) (void *) p;
                memcpy(r->filters, spec->filters, n_filters * sizeof(FzdResourceFilter));
        }
        p += n_filters * sizeof(FzdResourceFilter);
        r->id = pack_str(&p, spec->id, spec->id_len);
        r->name = pack_str(&p, spec->name, spec->name_len);
        r->address = pack_str(&p, spec->address, spec->address_len);
        r->description = pack_str(&p, spec->description, spec->description_len);
        for (size_t i = 0; i < n_sites; i++) {
                r->sites[i].id = pack_str(&p, spec->site_ids[i], SITE_LEN(spec, site_id_lens, i));
                r->sites[i].name = pack_str(&p, spec->site_names ? spec->site_names[i] : NULL,
                                            SITE_LEN(spec, site_name_lens, i));
        }
        return r;
}

int fzd_resource_dup(const FzdResource *r, FzdResource **ret) {
        const char *stack_ids[8] = {}, *stack_names[8] = {};
        const char **ids = stack_ids, **names = stack_names;
        FzdResource *c = NULL;

        if (r->n_sites > ELEMENTSOF(stack_ids)) {
                ids = calloc(r->n_sites, sizeof *ids);
                names = calloc(r->n_sites, sizeof *names);
                if (!ids || !names)
                        goto finish;
        }
        for (size_t i = 0; i < r->n_sites; i++) {
                ids[i] = r->sites[i].id;
                names[i] = r->sites[i].name;
        }
        c = fzd_resource_new(&(FzdResourceSpec){
                .type = r->type,
                .status = r->status,
                .ip_stack = r->ip_stack,
                .id = r->id,
                .name = r->name,
                .address = r->address,
                .description = r->description,
                .site_ids = ids,
                .site_names = names,
                .n_sites = r->n_sites,
                .filters = r->filters,
                .n_filters = r->n_filters,
        });
finish:
        if (ids != stack_ids) {
                free(ids);
                free(names);
        }
        if (!c)
                return -ENOMEM;
        *ret = c;
        return 0;
}

/* Open addressing with linear probing, keyed by id; tombstone-free deletion by
 * backward shift. Sized for the portal's largest accounts (10,000+ resources) with
 * O(1) upsert/delete, so an update never costs a pass over the table. */
struct FzdResourceTable {
        FzdResource **slots;
        /* Each slot's id hash (its low 32 bits), in the same allocation after the slots: a
         * probe compares it before it reads an id (which means a trip to the resource), and
         * it says where an entry belongs without hashing the id again. */
        uint32_t *tags;
        size_t n_slots; /* power of two, at most 2^32 */
        size_t n_items;
};

/* n_slots empty slots and their tags, in one block. */
static FzdResource **slots_alloc(size_t n_slots, uint32_t **ret_tags) {
        FzdResource **slots = fzd_table_alloc(n_slots, sizeof *slots + sizeof **ret_tags);

        if (slots)
                *ret_tags = (uint32_t *) (void *) (slots + n_slots);
        return slots;
}

static uint64_t hash_str(const char *s) {
        /* Eight bytes at a time (a UUID is five steps, not 36 of FNV-1a's), then a
         * finalizer so that the low bits the table uses depend on all of them. Ids come
         * from the portal, but the table only holds what the portal sent us, so adversarial
         * collisions can only slow down the portal's own account. */
        const uint64_t k = 0x9e3779b97f4a7c15ULL;
        size_t len = strlen(s);
        uint64_t h = len * k, w;

        for (; len >= 8; s += 8, len -= 8) {
                memcpy(&w, s, 8);
                h = (((h << 5) | (h >> 59)) ^ w) * k;
        }
        w = 0;
        memcpy(&w, s, len);
        h = (((h << 5) | (h >> 59)) ^ w) * k;
        h ^= h >> 32;
        h *= 0xd6e8feb86659fd93ULL;
        return h ^ (h >> 32);
}

int fzd_resource_table_new(FzdResourceTable **ret) {
        FzdResourceTable *t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        t->n_slots = 64;
        t->slots = slots_alloc(t->n_slots, &t->tags);
        if (!t->slots) {
                free(t);
                return -ENOMEM;
        }
        *ret = t;
        return 0;
}

void fzd_resource_table_clear(FzdResourceTable *t) {
        FzdResource **small;
        uint32_t *small_tags;

        for (size_t i = 0; i < t->n_slots; i++)
                t->slots[i] = fzd_resource_free(t->slots[i]);
        t->n_items = 0;
        /* A big table's slots go back (a sign-out empties it for good, or an init sizes it). */
        if (t->n_slots > 64 && (small = slots_alloc(64, &small_tags))) {
                fzd_table_free(t->slots);
                t->slots = small;
                t->tags = small_tags;
                t->n_slots = 64;
        }
}

FzdResourceTable *fzd_resource_table_free(FzdResourceTable *t) {
        if (!t)
                return NULL;
        fzd_resource_table_clear(t);
        fzd_table_free(t->slots);
        free(t);
        return NULL;
}

static size_t find_slot_tagged(const FzdResourceTable *t, const char *id, uint32_t tag) {
        size_t mask = t->n_slots - 1;
        size_t i = tag & mask;

        while (t->slots[i] && (t->tags[i] != tag || !streq(t->slots[i]->id, id)))
                i = (i + 1) & mask;
        return i;
}

static size_t find_slot(const FzdResourceTable *t, const char *id) {
        return find_slot_tagged(t, id, (uint32_t) hash_str(id));
}

static int resize(FzdResourceTable *t, size_t n_slots) {
        FzdResource **old = t->slots;
        uint32_t *old_tags = t->tags, *tags;
        size_t old_n = t->n_slots, mask = n_slots - 1;
        FzdResource **slots = slots_alloc(n_slots, &tags);

        if (!slots)
                return -ENOMEM;
        /* Ids are unique: each goes to the first free slot from its home, by its tag. */
        for (size_t i = 0; i < old_n; i++)
                if (old[i]) {
                        size_t j = old_tags[i] & mask;
                        while (slots[j])
                                j = (j + 1) & mask;
                        slots[j] = old[i];
                        tags[j] = old_tags[i];
                }
        t->slots = slots;
        t->tags = tags;
        t->n_slots = n_slots;
        fzd_table_free(old);
        return 0;
}

static int grow(FzdResourceTable *t) {
        return resize(t, t->n_slots * 2);
}

int fzd_resource_table_reserve(FzdResourceTable *t, size_t n) {
        size_t n_slots = t->n_slots;

        if (n > FZD_RESOURCE_TABLE_MAX)
                n = FZD_RESOURCE_TABLE_MAX;
        while (n * 4 > n_slots * 3)
                n_slots *= 2;
        return n_slots > t->n_slots ? resize(t, n_slots) : 0;
}

int fzd_resource_table_put(FzdResourceTable *t, FzdResource *r, FzdResource **ret_old) {
        uint32_t tag;
        size_t i;

        if (!r || !r->id)
                return -EINVAL;
        tag = (uint32_t) hash_str(r->id);
        if (t->n_items >= FZD_RESOURCE_TABLE_MAX && !t->slots[find_slot_tagged(t, r->id, tag)])
                return -E2BIG;
        if ((t->n_items + 1) * 4 > t->n_slots * 3) { /* keep load ≤ 0.75 */
                int k = grow(t);
                if (k < 0)
                        return k;
        }
        i = find_slot_tagged(t, r->id, tag);
        if (t->slots[i]) {
                if (ret_old)
                        *ret_old = t->slots[i];
                else
                        fzd_resource_free(t->slots[i]);
        } else {
                if (ret_old)
                        *ret_old = NULL;
                t->n_items++;
        }
        t->slots[i] = r;
        t->tags[i] = tag;
        return 0;
}

const FzdResource *fzd_resource_table_get(const FzdResourceTable *t, const char *id) {
        return id ? t->slots[find_slot(t, id)] : NULL;
}

FzdResource *fzd_resource_table_take(FzdResourceTable *t, const char *id) {
        size_t mask = t->n_slots - 1, i, j;
        FzdResource *r;

        if (!id)
                return NULL;
        i = find_slot(t, id);
        r = t->slots[i];
        if (!r)
                return NULL;
        t->slots[i] = NULL;
        t->n_items--;

        /* Backward-shift the rest of the cluster so lookups never stop early. */
        for (j = (i + 1) & mask; t->slots[j]; j = (j + 1) & mask) {
                size_t home = t->tags[j] & mask;
                /* Move slot j into the hole at i if its home is not in (i, j]. */
                if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
                        t->slots[i] = t->slots[j];
                        t->tags[i] = t->tags[j];
                        t->slots[j] = NULL;
                        i = j;
                }
        }
        return r;
}

size_t fzd_resource_table_size(const FzdResourceTable *t) {
        return t->n_items;
}

const FzdResource *fzd_resource_table_next(const FzdResourceTable *t, size_t *i) {
        for (; *i < t->n_slots; (*i)++)
                if (t->slots[*i])
                        return t->slots[(*i)++];
        return NULL;
}

static int compare_by_name(const void *a, const void *b) {
        const FzdResource *x = *(const FzdResource *const *) a, *y = *(const FzdResource *const *) b;
        int c = strcmp(strempty(x->name), strempty(y->name));
        return c != 0 ? c : strcmp(x->id, y->id);
}

int fzd_resource_table_sorted(const FzdResourceTable *t, const FzdResource ***ret, size_t *ret_n) {
        const FzdResource **v;
        size_t n = 0;

        v = malloc((t->n_items ? t->n_items : 1) * sizeof *v);
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_slots; i++)
                if (t->slots[i])
                        v[n++] = t->slots[i];
        qsort(v, n, sizeof *v, compare_by_name);
        *ret = v;
        *ret_n = n;
        return 0;
}
