/* SPDX-License-Identifier: Apache-2.0 */
#include "fz-context-source.h"

typedef struct {
        GSource source;
        GMainContext *inner;
        gboolean acquired;
        gint max_priority;
        /* The inner context's fds as registered with g_source_add_poll(): the outer poll
         * writes their revents, which g_main_context_check() of the inner one reads. */
        GPollFD *fds;
        gint n_fds;
        /* Scratch for g_main_context_query(). */
        GPollFD *query;
        gint n_query;
} ContextSource;

static gboolean same_fds(const GPollFD *a, gint n_a, const GPollFD *b, gint n_b) {
        if (n_a != n_b)
                return FALSE;
        for (gint i = 0; i < n_a; i++)
                if (a[i].fd != b[i].fd || a[i].events != b[i].events)
                        return FALSE;
        return TRUE;
}

static gboolean context_source_prepare(GSource *source, gint *timeout) {
        ContextSource *s = (ContextSource *) source;
        gboolean ready = g_main_context_prepare(s->inner, &s->max_priority);
        gint n;

        while ((n = g_main_context_query(s->inner, s->max_priority, timeout, s->query, s->n_query)) >
               s->n_query) {
                s->query = g_renew(GPollFD, s->query, n);
                s->n_query = n;
        }
        /* Touch the outer context's polls only when the set changes: every change wakes the
         * outer context up, so changing them on each prepare would never let it sleep. */
        if (!same_fds(s->fds, s->n_fds, s->query, n)) {
                for (gint i = 0; i < s->n_fds; i++)
                        g_source_remove_poll(source, &s->fds[i]);
                g_free(s->fds);
                s->fds = g_memdup2(s->query, sizeof(GPollFD) * (gsize) n);
                s->n_fds = n;
                for (gint i = 0; i < s->n_fds; i++)
                        g_source_add_poll(source, &s->fds[i]);
        }
        if (ready)
                *timeout = 0;
        /* Never ready here: check() must run for the inner context to learn what to dispatch. */
        return FALSE;
}

static gboolean context_source_check(GSource *source) {
        ContextSource *s = (ContextSource *) source;

        return g_main_context_check(s->inner, s->max_priority, s->fds, s->n_fds);
}

static gboolean context_source_dispatch(GSource *source, GSourceFunc callback, gpointer user_data) {
        ContextSource *s = (ContextSource *) source;

        g_main_context_dispatch(s->inner);
        return G_SOURCE_CONTINUE;
}

static void context_source_finalize(GSource *source) {
        ContextSource *s = (ContextSource *) source;

        if (s->acquired)
                g_main_context_release(s->inner);
        g_main_context_unref(s->inner);
        g_free(s->fds);
        g_free(s->query);
}

static GSourceFuncs context_source_funcs = {
        .prepare = context_source_prepare,
        .check = context_source_check,
        .dispatch = context_source_dispatch,
        .finalize = context_source_finalize,
};

GSource *fz_context_source_new(GMainContext *inner) {
        GSource *source = g_source_new(&context_source_funcs, sizeof(ContextSource));
        ContextSource *s = (ContextSource *) source;

        g_source_set_static_name(source, "[firezone-client] private context");
        s->inner = g_main_context_ref(inner);
        /* A context wakes up for sources attached from another thread only while some
         * thread owns it. */
        s->acquired = g_main_context_acquire(inner);
        g_warn_if_fail(s->acquired);
        return source;
}
