/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Buffers that are written through at once, from a megabyte up: a portal init's text as it
 * arrives (3 MB for 10,000 resources) and its parsed values. Such a buffer is a mapping of its
 * own, in transparent huge pages where the kernel offers them ("madvise" or "always"), and
 * unmapped when freed, so nothing of it stays in the heap. Smaller ones come from malloc().
 * (table-alloc.h uses the same mappings for tables from 64 KiB.)
 *
 * A fresh page costs a fault and the kernel's zeroing of it; for the 6 MB of an init that is
 * 0.7 ms. The pages are faulted in ahead of use (MADV_POPULATE_WRITE, Linux 5.14; before, they
 * come as they are touched), in steps, by a short-lived helper thread when the process may run
 * on more than one CPU: the zeroing then happens on another core while this one receives and
 * parses from the start of the buffer (whatever it reaches first it faults in itself). With
 * one CPU, or if the thread cannot be made, the caller populates it all at once — two faults
 * instead of 700. The helper is stopped and joined before the mapping is moved or unmapped.
 *
 * Why not malloc() for the large ones too: glibc maps them as well, but page by page as they
 * are touched, and after such a block is freed it raises its mapping threshold, so the next
 * one lands in the heap, where it stays resident after a sign-out. */

#include <stdbool.h>
#include <stddef.h>

#define FZD_BIG_ALLOC_MIN (1024U * 1024U)

/* size bytes; a mapping from map_min bytes up (else malloc(), or calloc() if zero: a mapping
 * is zeroed anyway), faulted in by the caller before this returns (a table: its entries land
 * anywhere). NULL on overflow or failure. */
void *fzd_big_alloc_from(size_t size, size_t map_min, bool zero);

/* size bytes, not zeroed (a mapping's are), from FZD_BIG_ALLOC_MIN up faulted in from its
 * start by the helper (see above): for buffers filled front to back. NULL on overflow or
 * failure. */
void *fzd_big_alloc(size_t size);

void fzd_big_free(void *p);

/* As realloc(): p may be NULL; on failure p stays as it was. */
void *fzd_big_realloc(void *p, size_t size);

/* Waits for p's helper, if it has one, to finish (for tests: then every page is in). Returns
 * whether p had one. */
bool fzd_big_settle(void *p);

static inline void fzd_big_freep(void *p) {
        fzd_big_free(*(void **) p);
}
