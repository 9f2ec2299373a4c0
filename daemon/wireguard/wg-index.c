/* SPDX-License-Identifier: Apache-2.0 */
/* The receiver-index table: our random 32-bit indices → pending handshakes and sessions.
 * Chained buckets (indices are random, so the low bits spread well), grown by the state
 * machine under the write lock; the fast path looks sessions up under the read lock and
 * leaves with a reference, never holding the lock across anything else. */
#include <errno.h>
#include <stdlib.h>

#include "wg-internal.h"

int fzd_wg_index_init(FzdWgIndex *idx) {
        *idx = (FzdWgIndex) { .nbuckets = 64 };
        idx->buckets = calloc(idx->nbuckets, sizeof *idx->buckets);
        if (!idx->buckets)
                return -ENOMEM;
        if (pthread_rwlock_init(&idx->lock, NULL) != 0) {
                free(idx->buckets);
                return -ENOMEM;
        }
        return 0;
}

void fzd_wg_index_done(FzdWgIndex *idx) {
        if (!idx->buckets)
                return;
        for (size_t i = 0; i < idx->nbuckets; i++)
                while (idx->buckets[i]) {
                        FzdWgIndexEntry *e = idx->buckets[i];
                        idx->buckets[i] = e->next;
                        free(e);
                }
        free(idx->buckets);
        idx->buckets = NULL;
        pthread_rwlock_destroy(&idx->lock);
}

static FzdWgIndexEntry **slot_of(FzdWgIndex *idx, uint32_t index) {
        FzdWgIndexEntry **p = &idx->buckets[index & (idx->nbuckets - 1)];

        while (*p && (*p)->index != index)
                p = &(*p)->next;
        return p;
}

FzdWgIndexEntry *fzd_wg_index_get(FzdWgIndex *idx, uint32_t index) {
        return *slot_of(idx, index);
}

static void grow_locked(FzdWgIndex *idx) {
        size_t nb = idx->nbuckets * 2;
        FzdWgIndexEntry **b = calloc(nb, sizeof *b);

        if (!b)
                return; /* longer chains, still correct */
        for (size_t i = 0; i < idx->nbuckets; i++)
                while (idx->buckets[i]) {
                        FzdWgIndexEntry *e = idx->buckets[i];
                        idx->buckets[i] = e->next;
                        e->next = b[e->index & (nb - 1)];
                        b[e->index & (nb - 1)] = e;
                }
        free(idx->buckets);
        idx->buckets = b;
        idx->nbuckets = nb;
}

int fzd_wg_index_add(FzdWgIndex *idx, uint32_t index, FzdWgPeer *peer, FzdWgKeypair *kp) {
        FzdWgIndexEntry *e;

        if (*slot_of(idx, index))
                return -EEXIST;
        e = malloc(sizeof *e);
        if (!e)
                return -ENOMEM;
        *e = (FzdWgIndexEntry) { .index = index, .peer = peer, .keypair = kp };
        pthread_rwlock_wrlock(&idx->lock);
        if (idx->n >= idx->nbuckets)
                grow_locked(idx);
        e->next = idx->buckets[index & (idx->nbuckets - 1)];
        idx->buckets[index & (idx->nbuckets - 1)] = e;
        idx->n++;
        pthread_rwlock_unlock(&idx->lock);
        return 0;
}

void fzd_wg_index_set_keypair(FzdWgIndex *idx, uint32_t index, FzdWgKeypair *kp) {
        FzdWgIndexEntry *e = *slot_of(idx, index);

        if (!e)
                return;
        pthread_rwlock_wrlock(&idx->lock);
        e->keypair = kp;
        pthread_rwlock_unlock(&idx->lock);
}

void fzd_wg_index_remove(FzdWgIndex *idx, uint32_t index) {
        FzdWgIndexEntry **p = slot_of(idx, index), *e = *p;

        if (!e)
                return;
        pthread_rwlock_wrlock(&idx->lock);
        *p = e->next;
        idx->n--;
        pthread_rwlock_unlock(&idx->lock);
        free(e);
}

FzdWgKeypair *fzd_wg_index_lookup_keypair(FzdWgIndex *idx, uint32_t index) {
        FzdWgKeypair *kp = NULL;
        FzdWgIndexEntry *e;

        pthread_rwlock_rdlock(&idx->lock);
        e = *slot_of(idx, index);
        if (e && e->keypair)
                kp = fzd_wg_keypair_ref(e->keypair);
        pthread_rwlock_unlock(&idx->lock);
        return kp;
}
