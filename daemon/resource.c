/* SPDX-License-Identifier: Apache-2.0 */
/* Resources and the resource table: an open-addressing hash map keyed by resource id, so that
 * an update or a delete of one resource among 10,000 costs one lookup, not a scan. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resource.h"

static const char *const resource_type_table[_FZD_RESOURCE_TYPE_MAX] = {
        [FZD_RESOURCE_DNS] = "dns",
        [FZD_RESOURCE_CIDR] = "cidr",
        [FZD_RESOURCE_INTERNET] = "internet",
};

static const char *const resource_status_table[_FZD_RESOURCE_STATUS_MAX] = {
        [FZD_RESOURCE_STATUS_UNKNOWN] = "unknown",
        [FZD_RESOURCE_STATUS_ONLINE] = "online",
        [FZD_RESOURCE_STATUS_OFFLINE] = "offline",
};

const char *fzd_resource_type_to_string(FzdResourceType t) {
        if ((unsigned) t >= _FZD_RESOURCE_TYPE_MAX)
                return NULL;
        return resource_type_table[t];
}

int fzd_resource_type_from_string(const char *s) {
        if (!s)
                return -EINVAL;
        for (int i = 0; i < _FZD_RESOURCE_TYPE_MAX; i++)
                if (streq(s, resource_type_table[i]))
                        return i;
        return -EINVAL;
}

const char *fzd_resource_status_to_string(FzdResourceStatus s) {
        if ((unsigned) s >= _FZD_RESOURCE_STATUS_MAX)
                return NULL;
        return resource_status_table[s];
}

int fzd_resource_status_from_string(const char *s) {
        if (!s)
                return -EINVAL;
        for (int i = 0; i < _FZD_RESOURCE_STATUS_MAX; i++)
                if (streq(s, resource_status_table[i]))
                        return i;
        return -EINVAL;
}

FzdResource *fzd_resource_free(FzdResource *r) {
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->n_sites; i++) {
                free(r->sites[i].id);
                free(r->sites[i].name);
        }
        free(r->sites);
        free(r->id);
        free(r->name);
        free(r->address);
        free(r->description);
        return mfree(r);
}

/* ---- the table ------------------------------------------------------------------------- */

/* A slot is empty (NULL), a tombstone (TOMBSTONE), or holds a resource. */
#define TOMBSTONE ((FzdResource *) (uintptr_t) 1)
#define MIN_SLOTS 16

struct FzdResourceTable {
        FzdResource **slots;
        size_t n_slots; /* a power of two */
        size_t n_items;
        size_t n_tombstones;
};

static uint64_t hash_id(const char *s) {
        /* FNV-1a: ids come from the portal, but a collision flood only slows the daemon down
         * (linear probing stays correct), and ids are capped in count and length upstream. */
        uint64_t h = 0xcbf29ce484222325ULL;
        for (; *s; s++) {
                h ^= (unsigned char) *s;
                h *= 0x100000001b3ULL;
        }
        return h ^ (h >> 29);
}

int fzd_resource_table_new(FzdResourceTable **ret) {
        FzdResourceTable *t;

        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->slots = calloc(MIN_SLOTS, sizeof(FzdResource *));
        if (!t->slots) {
                free(t);
                return -ENOMEM;
        }
        t->n_slots = MIN_SLOTS;
        *ret = t;
        return 0;
}

static void free_items(FzdResourceTable *t) {
        for (size_t i = 0; i < t->n_slots; i++) {
                if (t->slots[i] && t->slots[i] != TOMBSTONE)
                        fzd_resource_free(t->slots[i]);
                t->slots[i] = NULL;
        }
        t->n_items = t->n_tombstones = 0;
}

FzdResourceTable *fzd_resource_table_free(FzdResourceTable *t) {
        if (!t)
                return NULL;
        free_items(t);
        free(t->slots);
        return mfree(t);
}

/* Index of the slot holding id, or SIZE_MAX. */
static size_t find_slot(const FzdResourceTable *t, const char *id) {
        size_t mask = t->n_slots - 1;

        for (size_t i = hash_id(id) & mask, n = 0; n < t->n_slots; i = (i + 1) & mask, n++) {
                FzdResource *r = t->slots[i];
                if (!r)
                        return SIZE_MAX;
                if (r != TOMBSTONE && streq(r->id, id))
                        return i;
        }
        return SIZE_MAX;
}

static void insert_new(FzdResource **slots, size_t n_slots, FzdResource *r) {
        size_t mask = n_slots - 1, i = hash_id(r->id) & mask;

        while (slots[i] && slots[i] != TOMBSTONE)
                i = (i + 1) & mask;
        slots[i] = r;
}

static int resize(FzdResourceTable *t, size_t n_slots) {
        FzdResource **slots;

        slots = calloc(n_slots, sizeof(FzdResource *));
        if (!slots)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_slots; i++)
                if (t->slots[i] && t->slots[i] != TOMBSTONE)
                        insert_new(slots, n_slots, t->slots[i]);
        free(t->slots);
        t->slots = slots;
        t->n_slots = n_slots;
        t->n_tombstones = 0;
        return 0;
}

int fzd_resource_table_put(FzdResourceTable *t, FzdResource *r, FzdResource **ret_old) {
        size_t i;

        if (!t || !r || !r->id)
                return -EINVAL;

        i = find_slot(t, r->id);
        if (i != SIZE_MAX) {
                FzdResource *old = t->slots[i];
                t->slots[i] = r;
                if (ret_old)
                        *ret_old = old;
                else
                        fzd_resource_free(old);
                return 0;
        }

        /* Keep the load (items + tombstones) under 3/4 so probes stay short. */
        if ((t->n_items + t->n_tombstones + 1) * 4 > t->n_slots * 3) {
                size_t n = t->n_slots;
                while ((t->n_items + 1) * 2 > n)
                        n *= 2;
                if (n > SIZE_MAX / sizeof(FzdResource *))
                        return -ENOMEM;
                int k = resize(t, n);
                if (k < 0)
                        return k;
        }

        size_t mask = t->n_slots - 1;
        for (i = hash_id(r->id) & mask; t->slots[i] && t->slots[i] != TOMBSTONE; i = (i + 1) & mask)
                ;
        if (t->slots[i] == TOMBSTONE)
                t->n_tombstones--;
        t->slots[i] = r;
        t->n_items++;
        if (ret_old)
                *ret_old = NULL;
        return 0;
}

FzdResource *fzd_resource_table_take(FzdResourceTable *t, const char *id) {
        FzdResource *r;
        size_t i;

        if (!t || !id)
                return NULL;
        i = find_slot(t, id);
        if (i == SIZE_MAX)
                return NULL;
        r = t->slots[i];
        t->slots[i] = TOMBSTONE;
        t->n_items--;
        t->n_tombstones++;
        if (t->n_items == 0) {
                /* Nothing left to probe past: drop every tombstone at once. */
                memset(t->slots, 0, t->n_slots * sizeof(FzdResource *));
                t->n_tombstones = 0;
        }
        return r;
}

const FzdResource *fzd_resource_table_get(const FzdResourceTable *t, const char *id) {
        size_t i;

        if (!t || !id)
                return NULL;
        i = find_slot(t, id);
        return i == SIZE_MAX ? NULL : t->slots[i];
}

size_t fzd_resource_table_size(const FzdResourceTable *t) {
        return t ? t->n_items : 0;
}

void fzd_resource_table_clear(FzdResourceTable *t) {
        if (t)
                free_items(t);
}

static int compare_by_name(const void *a, const void *b) {
        const FzdResource *x = *(const FzdResource *const *) a, *y = *(const FzdResource *const *) b;
        int c = strcmp(strempty(x->name), strempty(y->name));
        return c != 0 ? c : strcmp(x->id, y->id);
}

int fzd_resource_table_sorted(const FzdResourceTable *t, const FzdResource ***ret, size_t *ret_n) {
        const FzdResource **array;
        size_t n = 0;

        if (!t || !ret || !ret_n)
                return -EINVAL;
        array = malloc((t->n_items ? t->n_items : 1) * sizeof(FzdResource *));
        if (!array)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_slots; i++)
                if (t->slots[i] && t->slots[i] != TOMBSTONE)
                        array[n++] = t->slots[i];
        qsort(array, n, sizeof(FzdResource *), compare_by_name);
        *ret = array;
        *ret_n = n;
        return 0;
}
