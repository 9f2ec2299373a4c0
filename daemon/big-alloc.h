/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Buffers that are written through at once, from a megabyte up: a portal init's text as it
 * arrives (3 MB for 10,000 resources) and its parsed values. Such a buffer is a mapping of its
 * own, in transparent huge pages where the kernel offers them ("madvise" or "always"), with
 * every page faulted in by one call (MADV_POPULATE_WRITE, Linux 5.14; before, the pages come
 * as they are touched) — two faults instead of 700 — and unmapped when freed, so nothing of it
 * stays in the heap. Smaller ones come from malloc(). (table-alloc.h uses the same mappings for
 * tables from 64 KiB.)
 *
 * Why not malloc() for the large ones too: glibc maps them as well, but page by page as they
 * are touched, and after such a block is freed it raises its mapping threshold, so the next
 * one lands in the heap, where it stays resident after a sign-out. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define FZD_BIG_ALLOC_MIN (1024U * 1024U)

typedef struct FzdBigHeader {
        size_t size;   /* what the caller asked for */
        size_t mapped; /* the mapping's size, header included; 0: from malloc() */
} FzdBigHeader; /* 16 bytes: what follows stays 16-byte aligned */

static inline void *fzd_big_map_(size_t bytes) {
        void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        if (p == MAP_FAILED)
                return NULL;
        (void) madvise(p, bytes, MADV_HUGEPAGE);
        (void) madvise(p, bytes, MADV_POPULATE_WRITE);
        return p;
}

/* size bytes; a mapping from map_min bytes up (else malloc(), or calloc() if zero: a
 * mapping is zeroed anyway). NULL on overflow or failure. */
static inline void *fzd_big_alloc_from(size_t size, size_t map_min, bool zero) {
        FzdBigHeader *h;

        if (size > SIZE_MAX - sizeof *h - 4096)
                return NULL;
        if (size < map_min) {
                h = zero ? calloc(1, sizeof *h + size) : malloc(sizeof *h + size);
                if (!h)
                        return NULL;
                h->mapped = 0;
        } else {
                h = fzd_big_map_(sizeof *h + size);
                if (!h)
                        return NULL;
                h->mapped = sizeof *h + size;
        }
        h->size = size;
        return h + 1;
}

/* size bytes, not zeroed (a mapping's are); NULL on overflow or failure. */
static inline void *fzd_big_alloc(size_t size) {
        return fzd_big_alloc_from(size, FZD_BIG_ALLOC_MIN, false);
}

static inline void fzd_big_free(void *p) {
        FzdBigHeader *h;

        if (!p)
                return;
        h = (FzdBigHeader *) p - 1;
        if (h->mapped == 0)
                free(h);
        else
                (void) munmap(h, h->mapped);
}

/* As realloc(): p may be NULL; on failure p stays as it was. */
static inline void *fzd_big_realloc(void *p, size_t size) {
        FzdBigHeader *h = p ? (FzdBigHeader *) p - 1 : NULL;
        void *q;

        if (size > SIZE_MAX - sizeof *h - 4096)
                return NULL;
        if (h && h->mapped == 0 && size < FZD_BIG_ALLOC_MIN) {
                h = realloc(h, sizeof *h + size);
                if (!h)
                        return NULL;
                h->size = size;
                return h + 1;
        }
        if (h && h->mapped != 0 && size >= FZD_BIG_ALLOC_MIN) {
                /* A mapping grows (or shrinks) in place or moves, without a copy. */
                h = mremap(h, h->mapped, sizeof *h + size, MREMAP_MAYMOVE);
                if (h == MAP_FAILED)
                        return NULL;
                h->mapped = sizeof *h + size;
                h->size = size;
                return h + 1;
        }
        /* From malloc() to a mapping or back: a copy. */
        q = fzd_big_alloc(size);
        if (!q)
                return NULL;
        if (h) {
                memcpy(q, p, h->size < size ? h->size : size);
                fzd_big_free(p);
        }
        return q;
}

static inline void fzd_big_freep(void *p) {
        fzd_big_free(*(void **) p);
}
