/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A string-keyed hash map (open addressing, linear probing, backward-shift deletion) for
 * the stub's tables. Keys come from untrusted queries, so the hash is SipHash-1-3 with a
 * random key per map: nobody outside can aim names at one bucket. The map does not own
 * keys or values: a key must stay valid while it is in the map (it usually points into
 * its value). */

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

typedef struct FzdStrMap FzdStrMap;

int fzd_strmap_new(FzdStrMap **ret);
FzdStrMap *fzd_strmap_free(FzdStrMap *m);
DEFINE_POINTER_CLEANUP_FUNC(FzdStrMap, fzd_strmap_free);

/* key of length len (not necessarily NUL-terminated there). NULL if absent. */
void *fzd_strmap_getn(const FzdStrMap *m, const char *key, size_t len);
static inline void *fzd_strmap_get(const FzdStrMap *m, const char *key) {
        return fzd_strmap_getn(m, key, __builtin_strlen(key));
}
/* Room for n keys in all without growing (a known number of puts follows: one allocation
 * instead of a doubling series left behind as free blocks). 0 or -ENOMEM. */
int fzd_strmap_reserve(FzdStrMap *m, size_t n);
/* Inserts or replaces. Returns 0 or -ENOMEM. */
int fzd_strmap_put(FzdStrMap *m, const char *key, void *value);
/* Removes and returns the value (NULL if absent). */
void *fzd_strmap_remove(FzdStrMap *m, const char *key);
size_t fzd_strmap_size(const FzdStrMap *m);
/* Empties the map and gives its memory back. */
void fzd_strmap_clear(FzdStrMap *m);
/* Iteration: start with *i = 0; not across changes, with one exception: after removing the
 * entry just returned, step back with (*i)-- and go on. Removal shifts entries of the same
 * cluster back into the freed slot and never into one already passed, so every entry is still
 * seen (one that wrapped around from the table's start may be seen twice). */
bool fzd_strmap_next(const FzdStrMap *m, size_t *i, const char **ret_key, void **ret_value);
