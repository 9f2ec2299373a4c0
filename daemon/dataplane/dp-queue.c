/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "dp-queue.h"

int fzd_dp_queue_init(FzdDpQueue *q) {
        *q = (FzdDpQueue) { .eventfd = -1 };
        q->slots = calloc(FZD_DP_QUEUE_SLOTS, sizeof *q->slots);
        if (!q->slots)
                return -ENOMEM;
        q->eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (q->eventfd < 0) {
                int r = -errno;
                free(q->slots);
                q->slots = NULL;
                return r;
        }
        pthread_mutex_init(&q->lock, NULL);
        return 0;
}

void fzd_dp_queue_done(FzdDpQueue *q) {
        if (!q->slots)
                return;
        while (fzd_dp_queue_peek(q))
                fzd_dp_queue_pop(q);
        free(q->slots);
        q->slots = NULL;
        safe_close(q->eventfd);
        q->eventfd = -1;
        pthread_mutex_destroy(&q->lock);
}

static void signal_fd(FzdDpQueue *q) {
        uint64_t one = 1;
        /* EAGAIN only when the counter is near overflow: it is readable anyway. */
        (void) !write(q->eventfd, &one, sizeof one);
}

bool fzd_dp_queue_push(FzdDpQueue *q, const FzdDpItemHeader *header, const uint8_t *data, size_t len) {
        FzdDpItem *it;
        bool was_empty;

        if (len > FZD_DP_ITEM_DATA_MAX) {
                atomic_fetch_add_explicit(&q->overflow, 1, memory_order_relaxed);
                fzd_wg_peer_unref(header->peer);
                return false;
        }
        pthread_mutex_lock(&q->lock);
        if (q->count == FZD_DP_QUEUE_SLOTS) {
                pthread_mutex_unlock(&q->lock);
                atomic_fetch_add_explicit(&q->overflow, 1, memory_order_relaxed);
                fzd_wg_peer_unref(header->peer);
                return false;
        }
        it = &q->slots[(q->head + q->count) % FZD_DP_QUEUE_SLOTS];
        it->h = *header;
        it->h.len = (uint16_t) len;
        if (len > 0)
                memcpy(it->data, data, len);
        was_empty = q->count == 0;
        q->count++;
        q->handshakes += header->handshake;
        pthread_mutex_unlock(&q->lock);
        if (was_empty)
                signal_fd(q);
        return true;
}

void fzd_dp_queue_wake(FzdDpQueue *q) {
        if (!atomic_exchange(&q->wake, true))
                signal_fd(q);
}

FzdDpItem *fzd_dp_queue_peek(FzdDpQueue *q) {
        FzdDpItem *it = NULL;

        /* Producers only write slots past head + count, so the head slot is ours to read
         * without the lock until pop. */
        pthread_mutex_lock(&q->lock);
        if (q->count > 0)
                it = &q->slots[q->head];
        pthread_mutex_unlock(&q->lock);
        return it;
}

void fzd_dp_queue_pop(FzdDpQueue *q) {
        FzdWgPeer *peer;

        pthread_mutex_lock(&q->lock);
        if (q->count == 0) {
                pthread_mutex_unlock(&q->lock);
                return;
        }
        peer = q->slots[q->head].h.peer;
        q->handshakes -= q->slots[q->head].h.handshake;
        q->slots[q->head].h.peer = NULL;
        q->head = (q->head + 1) % FZD_DP_QUEUE_SLOTS;
        q->count--;
        pthread_mutex_unlock(&q->lock);
        fzd_wg_peer_unref(peer);
}

unsigned fzd_dp_queue_handshakes(FzdDpQueue *q) {
        unsigned n;

        pthread_mutex_lock(&q->lock);
        n = q->handshakes;
        pthread_mutex_unlock(&q->lock);
        return n;
}

bool fzd_dp_queue_drain_signal(FzdDpQueue *q) {
        uint64_t v;

        (void) !read(q->eventfd, &v, sizeof v);
        return atomic_exchange(&q->wake, false);
}
