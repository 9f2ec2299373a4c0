/* SPDX-License-Identifier: Apache-2.0 */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"

struct FzdQueueItem {
        FzdQueueItem *next;
        alignas(max_align_t) uint8_t data[];
};

void *fzd_queue_push(FzdQueue *q, size_t size) {
        FzdQueueItem *it;

        if (q->n >= q->cap) {
                q->dropped++;
                return NULL;
        }
        it = calloc(1, sizeof(*it) + size);
        if (!it) {
                q->dropped++;
                return NULL;
        }
        if (q->tail)
                q->tail->next = it;
        else
                q->head = it;
        q->tail = it;
        q->n++;
        return it->data;
}

void *fzd_queue_pop(FzdQueue *q) {
        FzdQueueItem *it = q->head;

        free(q->popped);
        q->popped = NULL;
        if (!it)
                return NULL;
        q->head = it->next;
        if (!q->head)
                q->tail = NULL;
        q->n--;
        q->popped = it;
        return it->data;
}

void *fzd_queue_peek(const FzdQueue *q) {
        return q->head ? q->head->data : NULL;
}

void fzd_queue_remove_if(FzdQueue *q, int (*match)(void *item, void *userdata), void *userdata) {
        FzdQueueItem **pp = &q->head, *prev = NULL;

        while (*pp) {
                FzdQueueItem *it = *pp;
                if (match(it->data, userdata)) {
                        *pp = it->next;
                        q->n--;
                        free(it);
                        continue;
                }
                prev = it;
                pp = &it->next;
        }
        q->tail = prev;
}

void fzd_queue_clear(FzdQueue *q) {
        while (q->head) {
                FzdQueueItem *it = q->head;
                q->head = it->next;
                free(it);
        }
        free(q->popped);
        q->popped = NULL;
        q->tail = NULL;
        q->n = 0;
}
