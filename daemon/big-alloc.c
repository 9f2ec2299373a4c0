/* SPDX-License-Identifier: Apache-2.0 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "big-alloc.h"

/* The helper faults in this much per call, and looks at its stop flag in between: small
 * enough that a free() waits little for it, large enough that its calls cost nothing. */
#define PREFAULT_STEP (256U * 1024U)

typedef struct Prefault {
        pthread_t thread;
        char *start;
        size_t len;
        atomic_bool stop;
} Prefault;

typedef struct FzdBigHeader {
        size_t size;        /* what the caller asked for */
        size_t mapped;      /* the mapping's size, header included; 0: from malloc() */
        Prefault *prefault; /* the helper faulting the mapping in, until settled */
        size_t unused;
} FzdBigHeader; /* 32 bytes: what follows stays 16-byte aligned */

static void *prefault_main(void *userdata) {
        Prefault *pf = userdata;

        for (size_t off = 0; off < pf->len; off += PREFAULT_STEP) {
                if (atomic_load_explicit(&pf->stop, memory_order_relaxed))
                        break;
                (void) madvise(pf->start + off, pf->len - off < PREFAULT_STEP ? pf->len - off : PREFAULT_STEP,
                               MADV_POPULATE_WRITE);
        }
        return NULL;
}

/* Whether another CPU may take the helper: with one, it would only take turns with us. */
static bool several_cpus(void) {
        cpu_set_t set;

        return sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 1;
}

/* A helper for the mapping at h (bytes long), or NULL (then the caller populates it). */
static Prefault *prefault_start(FzdBigHeader *h, size_t bytes) {
        pthread_attr_t attr;
        sigset_t all, old;
        Prefault *pf;
        int k;

        if (!several_cpus())
                return NULL;
        pf = malloc(sizeof *pf);
        if (!pf)
                return NULL;
        pf->start = (char *) h;
        pf->len = bytes;
        atomic_init(&pf->stop, false);
        if (pthread_attr_init(&attr) != 0) {
                free(pf);
                return NULL;
        }
        (void) pthread_attr_setstacksize(&attr, 64 * 1024);
        /* It must not take our signals (sd-event may use signalfd). */
        sigfillset(&all);
        (void) pthread_sigmask(SIG_SETMASK, &all, &old);
        k = pthread_create(&pf->thread, &attr, prefault_main, pf);
        (void) pthread_sigmask(SIG_SETMASK, &old, NULL);
        (void) pthread_attr_destroy(&attr);
        if (k != 0) {
                free(pf);
                return NULL;
        }
        return pf;
}

/* Joins h's helper, stopped first (at its next step) if stop. */
static void prefault_settle(FzdBigHeader *h, bool stop) {
        if (!h->prefault)
                return;
        if (stop)
                atomic_store_explicit(&h->prefault->stop, true, memory_order_relaxed);
        (void) pthread_join(h->prefault->thread, NULL);
        free(h->prefault);
        h->prefault = NULL;
}

/* A mapping of bytes (header included), faulted in by a helper if helped and one can be
 * had, else here. */
static FzdBigHeader *map(size_t bytes, bool helped) {
        FzdBigHeader *h = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        if (h == MAP_FAILED)
                return NULL;
        (void) madvise(h, bytes, MADV_HUGEPAGE);
        h->prefault = helped ? prefault_start(h, bytes) : NULL;
        if (!h->prefault)
                (void) madvise(h, bytes, MADV_POPULATE_WRITE);
        h->mapped = bytes;
        return h;
}

static void *alloc(size_t size, size_t map_min, bool zero, bool helped) {
        FzdBigHeader *h;

        if (size > SIZE_MAX - sizeof *h - 4096)
                return NULL;
        if (size < map_min) {
                h = zero ? calloc(1, sizeof *h + size) : malloc(sizeof *h + size);
                if (!h)
                        return NULL;
                h->mapped = 0;
                h->prefault = NULL;
        } else {
                h = map(sizeof *h + size, helped);
                if (!h)
                        return NULL;
        }
        h->size = size;
        return h + 1;
}

void *fzd_big_alloc_from(size_t size, size_t map_min, bool zero) {
        return alloc(size, map_min, zero, false);
}

void *fzd_big_alloc(size_t size) {
        return alloc(size, FZD_BIG_ALLOC_MIN, false, true);
}

void fzd_big_free(void *p) {
        FzdBigHeader *h;

        if (!p)
                return;
        h = (FzdBigHeader *) p - 1;
        if (h->mapped == 0) {
                free(h);
                return;
        }
        prefault_settle(h, true);
        (void) munmap(h, h->mapped);
}

void *fzd_big_realloc(void *p, size_t size) {
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
                /* A mapping grows (or shrinks) in place or moves, without a copy — once its
                 * helper is done with the old address. */
                prefault_settle(h, true);
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

bool fzd_big_settle(void *p) {
        FzdBigHeader *h = p ? (FzdBigHeader *) p - 1 : NULL;
        bool had = h && h->prefault;

        if (had)
                prefault_settle(h, false);
        return had;
}
