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
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define FZD_TABLE_MMAP_MIN (64U * 1024U)

typedef struct FzdTableHeader {
        size_t size; /* of the whole block, header included; 0: from calloc() */
        size_t pad;  /* keeps what follows 16-byte aligned */
} FzdTableHeader;

/* n elements of size bytes, zeroed; NULL on overflow or failure. */
static inline void *fzd_table_alloc(size_t n, size_t size) {
        FzdTableHeader *h;
        size_t bytes;

        if (size != 0 && n > (SIZE_MAX - sizeof *h) / size)
                return NULL;
        bytes = n * size + sizeof *h;
        if (bytes - sizeof *h < FZD_TABLE_MMAP_MIN) {
                h = calloc(1, bytes);
                if (!h)
                        return NULL;
                h->size = 0;
        } else {
                /* Populated at once: a hash table's entries land all over it, so every page
                 * is touched as it fills (a table is sized for its contents). */
                h = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
                if (h == MAP_FAILED)
                        return NULL;
                h->size = bytes;
        }
        return h + 1;
}

static inline void fzd_table_free(void *p) {
        FzdTableHeader *h;

        if (!p)
                return;
        h = (FzdTableHeader *) p - 1;
        if (h->size == 0)
                free(h);
        else
                (void) munmap(h, h->size);
}
