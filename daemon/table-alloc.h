/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Memory for big, long-lived tables (hash slots for thousands of resources, names, routes):
 * from 64 KiB up a mapping of their own, zeroed, given back whole when freed.
 *
 * Why not calloc(): glibc serves a large request from a free block in the heap when it has one
 * — and it has one after a sign-out freed 10,000 resources. The table then sits in the middle
 * of the heap, fully touched, and the resources of the next sign-in go around it: with 10,000
 * resources the daemon's RSS was 0.6 MiB higher from the second sign-in on (bench
 * daemon-portal; the first sign-in, on a fresh heap, mapped the tables). */

#include <stddef.h>
#include <stdint.h>

#include "big-alloc.h"

#define FZD_TABLE_MMAP_MIN (64U * 1024U)

/* n elements of size bytes, zeroed; NULL on overflow or failure. From FZD_TABLE_MMAP_MIN up a
 * mapping populated at once (big-alloc.h): a hash table's entries land all over it, so every
 * page is touched as it fills (a table is sized for its contents). */
static inline void *fzd_table_alloc(size_t n, size_t size) {
        if (size != 0 && n > SIZE_MAX / size)
                return NULL;
        return fzd_big_alloc_from(n * size, FZD_TABLE_MMAP_MIN, true);
}

static inline void fzd_table_free(void *p) {
        fzd_big_free(p);
}
