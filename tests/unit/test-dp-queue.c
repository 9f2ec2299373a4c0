/* SPDX-License-Identifier: Apache-2.0 */
/* The bounded queue from the workers to the main loop: order, bound and overflow count,
 * the eventfd written only on empty → non-empty, the wake flag, and producers on other
 * threads. */
#include <poll.h>
#include <pthread.h>

#include "dp-queue.h"
#include "fz-check.h"

static bool readable(int fd) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        return poll(&p, 1, 0) == 1;
}

START_TEST(test_order_bound_signal) {
        FzdDpQueue q;
        FzdDpItemHeader h = { .kind = FZD_DP_ITEM_DATAGRAM };
        static uint8_t data[FZD_DP_ITEM_DATA_MAX + 1];
        FzdDpItem *it;

        ck_assert_int_eq(fzd_dp_queue_init(&q), 0);
        ck_assert(!readable(q.eventfd));
        for (unsigned i = 0; i < FZD_DP_QUEUE_SLOTS; i++) {
                data[0] = (uint8_t) i;
                h.handshake = i % 2;
                ck_assert(fzd_dp_queue_push(&q, &h, data, 10 + i));
        }
        ck_assert(readable(q.eventfd));
        ck_assert_uint_eq(fzd_dp_queue_handshakes(&q), FZD_DP_QUEUE_SLOTS / 2);
        /* Full: dropped and counted, never blocking. Oversized too. */
        ck_assert(!fzd_dp_queue_push(&q, &h, data, 10));
        ck_assert(!fzd_dp_queue_push(&q, &h, data, 10));
        ck_assert_uint_eq(q.overflow, 2);
        ck_assert(!fzd_dp_queue_drain_signal(&q)); /* no wake was asked for */
        ck_assert(!readable(q.eventfd));

        for (unsigned i = 0; i < FZD_DP_QUEUE_SLOTS; i++) {
                it = fzd_dp_queue_peek(&q);
                ck_assert_ptr_nonnull(it);
                ck_assert_uint_eq(it->data[0], (uint8_t) i);
                ck_assert_uint_eq(it->h.len, 10 + i);
                fzd_dp_queue_pop(&q);
        }
        ck_assert_ptr_null(fzd_dp_queue_peek(&q));
        ck_assert_uint_eq(fzd_dp_queue_handshakes(&q), 0);
        ck_assert(!fzd_dp_queue_push(&q, &h, data, FZD_DP_ITEM_DATA_MAX + 1));
        ck_assert_uint_eq(q.overflow, 3);

        /* A push onto a non-empty queue does not signal again; onto an empty one it does. */
        ck_assert(fzd_dp_queue_push(&q, &h, data, 1));
        ck_assert(readable(q.eventfd));
        (void) fzd_dp_queue_drain_signal(&q);
        ck_assert(fzd_dp_queue_push(&q, &h, data, 1));
        ck_assert(!readable(q.eventfd));

        /* Wake: signals once, reported once. */
        fzd_dp_queue_wake(&q);
        fzd_dp_queue_wake(&q);
        ck_assert(readable(q.eventfd));
        ck_assert(fzd_dp_queue_drain_signal(&q));
        ck_assert(!fzd_dp_queue_drain_signal(&q));
        fzd_dp_queue_done(&q);
}
END_TEST

static FzdDpQueue shared;

static void *producer(void *arg) {
        FzdDpItemHeader h = { .kind = FZD_DP_ITEM_PACKET, .cookie = (uintptr_t) arg };
        uint8_t d[8];

        for (unsigned i = 0; i < 20000; i++) {
                memcpy(d, &i, sizeof i);
                while (!fzd_dp_queue_push(&shared, &h, d, sizeof d))
                        ;
        }
        return NULL;
}

START_TEST(test_threads) {
        pthread_t t[3];
        unsigned next[3] = {}, total = 0;

        ck_assert_int_eq(fzd_dp_queue_init(&shared), 0);
        for (uintptr_t i = 0; i < 3; i++)
                ck_assert_int_eq(pthread_create(&t[i], NULL, producer, (void *) i), 0);
        while (total < 60000) {
                FzdDpItem *it = fzd_dp_queue_peek(&shared);
                unsigned v;
                if (!it) {
                        struct pollfd p = { .fd = shared.eventfd, .events = POLLIN };
                        (void) poll(&p, 1, 10);
                        (void) fzd_dp_queue_drain_signal(&shared);
                        continue;
                }
                memcpy(&v, it->data, sizeof v);
                /* Each producer's items arrive in its order, none lost except overflow
                 * retries (which the producer repeats). */
                ck_assert_uint_eq(v, next[it->h.cookie]);
                next[it->h.cookie]++;
                total++;
                fzd_dp_queue_pop(&shared);
        }
        for (int i = 0; i < 3; i++)
                pthread_join(t[i], NULL);
        fzd_dp_queue_done(&shared);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("dp-queue");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_order_bound_signal);
        tcase_add_test(tc, test_threads);
        tcase_set_timeout(tc, 60);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(suite)
