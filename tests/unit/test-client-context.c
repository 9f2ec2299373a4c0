/* SPDX-License-Identifier: Apache-2.0 */
/* fz-context-source.c: the source through which a client made by fz_client_new_sync()
 * runs its private D-Bus context from the caller's context. Sources attached to the inner
 * context — from this thread or another (as GDBus's worker does) — are dispatched by
 * iterating the outer one; the outer one still sleeps when there is nothing to do. */
#include <check.h>

#include "fz-check.h"
#include "fz-context-source.h"

typedef struct {
        GMainContext *inner;
        GMainContext *outer;
        GSource *source;
} Pair;

static void pair_init(Pair *p) {
        p->inner = g_main_context_new();
        p->outer = g_main_context_new();
        p->source = fz_context_source_new(p->inner);
        g_source_attach(p->source, p->outer);
}

static void pair_clear(Pair *p) {
        g_source_destroy(p->source);
        g_source_unref(p->source);
        g_main_context_unref(p->inner);
        g_main_context_unref(p->outer);
}

static gboolean count_and_remove(gpointer user_data) {
        g_atomic_int_inc((gint *) user_data);
        return G_SOURCE_REMOVE;
}

/* The outer context's poll function tells the thread below when it is about to sleep. */
static GMutex poll_lock;
static GCond poll_cond;
static gboolean sleeping;

static gint poll_and_tell(GPollFD *fds, guint n_fds, gint timeout) {
        if (timeout != 0) {
                g_mutex_lock(&poll_lock);
                sleeping = TRUE;
                g_cond_signal(&poll_cond);
                g_mutex_unlock(&poll_lock);
        }
        return g_poll(fds, n_fds, timeout);
}

static gpointer attach_idle_once_asleep(gpointer user_data) {
        Pair *p = user_data;
        GSource *idle = g_idle_source_new();
        static gint ran;

        g_mutex_lock(&poll_lock);
        while (!sleeping)
                g_cond_wait(&poll_cond, &poll_lock);
        g_mutex_unlock(&poll_lock);
        g_source_set_callback(idle, count_and_remove, &ran, NULL);
        g_source_attach(idle, p->inner);
        g_source_unref(idle);
        return &ran;
}

START_TEST(test_source_from_another_thread_wakes_the_outer_context) {
        Pair p;
        GThread *thread;
        gint *ran = NULL;

        pair_init(&p);
        /* Settle: the first prepare registers the inner context's fds, which wakes the
         * outer context once. */
        for (int i = 0; i < 2; i++)
                g_main_context_iteration(p.outer, FALSE);
        g_main_context_set_poll_func(p.outer, poll_and_tell);
        thread = g_thread_new("attach", attach_idle_once_asleep, &p);
        /* The idle is attached while this thread sleeps in poll(): unless that wakes the
         * outer context up, this hangs and the test times out. */
        while (ran == NULL || g_atomic_int_get(ran) == 0) {
                g_main_context_iteration(p.outer, TRUE);
                if (ran == NULL && g_atomic_int_get(&sleeping))
                        ran = g_thread_join(thread);
        }
        ck_assert_int_eq(g_atomic_int_get(ran), 1);
        pair_clear(&p);
}
END_TEST

START_TEST(test_inner_timeout_fires_through_the_outer_context) {
        Pair p;
        gint ran = 0;
        GSource *timeout;

        pair_init(&p);
        timeout = g_timeout_source_new(20);
        g_source_set_callback(timeout, count_and_remove, &ran, NULL);
        g_source_attach(timeout, p.inner);
        g_source_unref(timeout);
        while (ran == 0)
                g_main_context_iteration(p.outer, TRUE);
        ck_assert_int_eq(ran, 1);
        pair_clear(&p);
}
END_TEST

static gint last_ready = -1;

static gint poll_and_count(GPollFD *fds, guint n_fds, gint timeout) {
        last_ready = g_poll(fds, n_fds, timeout);
        return last_ready;
}

START_TEST(test_idle_outer_context_sleeps) {
        Pair p;
        gint ran = 0;
        GSource *idle = g_idle_source_new();

        pair_init(&p);
        g_source_set_callback(idle, count_and_remove, &ran, NULL);
        g_source_attach(idle, p.inner);
        g_source_unref(idle);
        while (ran == 0)
                g_main_context_iteration(p.outer, TRUE);
        g_main_context_set_poll_func(p.outer, poll_and_count);
        for (int i = 0; i < 2; i++)
                g_main_context_iteration(p.outer, FALSE);
        /* Nothing left to do, so no fd may be ready. Re-registering the inner context's fds
         * on every prepare would wake the outer context each time: it would spin. */
        for (int i = 0; i < 5; i++) {
                ck_assert(!g_main_context_iteration(p.outer, FALSE));
                ck_assert_int_eq(last_ready, 0);
        }
        pair_clear(&p);
}
END_TEST

START_TEST(test_destroying_the_source_releases_the_inner_context) {
        Pair p;

        pair_init(&p);
        ck_assert(g_main_context_is_owner(p.inner));
        g_source_destroy(p.source);
        g_clear_pointer(&p.source, g_source_unref);
        ck_assert(!g_main_context_is_owner(p.inner));
        g_main_context_unref(p.inner);
        g_main_context_unref(p.outer);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("client-context");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_source_from_another_thread_wakes_the_outer_context);
        tcase_add_test(tc, test_inner_timeout_fires_through_the_outer_context);
        tcase_add_test(tc, test_idle_outer_context_sleeps);
        tcase_add_test(tc, test_destroying_the_source_releases_the_inner_context);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(suite)
