/* SPDX-License-Identifier: Apache-2.0 */
/* A bounded FIFO of variable-sized items (outgoing datagrams, events). What pop returns stays
 * valid until the next pop or clear, so sans-IO poll functions can hand out pointers. */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef struct FzdQueueItem FzdQueueItem;

typedef struct FzdQueue {
        FzdQueueItem *head, *tail;
        FzdQueueItem *popped; /* freed by the next pop or clear */
        size_t n, cap;
        uint64_t dropped; /* pushes refused because the queue was full */
} FzdQueue;

static inline void fzd_queue_init(FzdQueue *q, size_t cap) {
        *q = (FzdQueue){.cap = cap};
}

/* Zeroed storage of `size` bytes at the tail, or NULL (full: counted in dropped; or no memory). */
void *fzd_queue_push(FzdQueue *q, size_t size);
/* The head item, or NULL. */
void *fzd_queue_pop(FzdQueue *q);
/* The head item without removing it, or NULL. */
void *fzd_queue_peek(const FzdQueue *q);
/* Drops every item for which match(item, userdata) is true. */
void fzd_queue_remove_if(FzdQueue *q, int (*match)(void *item, void *userdata), void *userdata);
void fzd_queue_clear(FzdQueue *q);
static inline size_t fzd_queue_size(const FzdQueue *q) {
        return q->n;
}
