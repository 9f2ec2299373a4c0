/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "gw-resolver.h"
#include "log.h"

#define MAX_THREADS 4

struct FzgwResolver {
        sd_event_source *source;
        int efd;
        FzgwResolvedFn fn;
        void *userdata;

        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool stop;
        FzgwResolution *todo[FZGW_RESOLVE_QUEUE], *done[FZGW_RESOLVE_QUEUE];
        size_t todo_head, n_todo, done_head, n_done;
        pthread_t threads[MAX_THREADS];
        unsigned n_threads;
};

static void add_unique(FzgwIp *list, size_t *n, const FzgwIp *ip) {
        for (size_t i = 0; i < *n; i++)
                if (fzgw_ip_eq(&list[i], ip))
                        return;
        if (*n < FZGW_RESOLVE_MAX_ADDRS)
                list[(*n)++] = *ip;
}

static void lookup(FzgwResolution *res) {
        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai = NULL;

        res->error = getaddrinfo(res->name, NULL, &hints, &ai);
        for (struct addrinfo *i = ai; i; i = i->ai_next) {
                FzgwIp ip;
                if (i->ai_family == AF_INET) {
                        ip = fzgw_ip_make(AF_INET,
                                          (const uint8_t *) &((struct sockaddr_in *) i->ai_addr)->sin_addr);
                        add_unique(res->v4, &res->n_v4, &ip);
                } else if (i->ai_family == AF_INET6) {
                        ip = fzgw_ip_make(
                                AF_INET6,
                                (const uint8_t *) &((struct sockaddr_in6 *) i->ai_addr)->sin6_addr);
                        add_unique(res->v6, &res->n_v6, &ip);
                }
        }
        if (ai)
                freeaddrinfo(ai);
}

static void *worker(void *arg) {
        FzgwResolver *r = arg;

        pthread_mutex_lock(&r->lock);
        for (;;) {
                FzgwResolution *res;
                while (!r->stop && r->n_todo == 0)
                        pthread_cond_wait(&r->cond, &r->lock);
                if (r->stop)
                        break;
                res = r->todo[r->todo_head];
                r->todo_head = (r->todo_head + 1) % FZGW_RESOLVE_QUEUE;
                r->n_todo--;
                pthread_mutex_unlock(&r->lock);

                lookup(res);

                pthread_mutex_lock(&r->lock);
                /* The done ring has room: at most FZGW_RESOLVE_QUEUE lookups exist at once. */
                r->done[(r->done_head + r->n_done) % FZGW_RESOLVE_QUEUE] = res;
                r->n_done++;
                (void) !write(r->efd, &(uint64_t){ 1 }, sizeof(uint64_t));
        }
        pthread_mutex_unlock(&r->lock);
        return NULL;
}

static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        FzgwResolver *r = userdata;
        uint64_t v;

        (void) !read(r->efd, &v, sizeof v);
        for (;;) {
                FzgwResolution *res = NULL;
                pthread_mutex_lock(&r->lock);
                if (r->n_done > 0) {
                        res = r->done[r->done_head];
                        r->done_head = (r->done_head + 1) % FZGW_RESOLVE_QUEUE;
                        r->n_done--;
                }
                pthread_mutex_unlock(&r->lock);
                if (!res)
                        return 0;
                r->fn(r->userdata, res);
                free(res);
        }
}

int fzgw_resolver_new(sd_event *event, unsigned threads, FzgwResolvedFn fn, void *userdata,
                      FzgwResolver **ret) {
        FzgwResolver *r = calloc(1, sizeof *r);
        sigset_t all, old;
        int k;

        if (!r)
                return -ENOMEM;
        r->efd = -EBADF;
        r->fn = fn;
        r->userdata = userdata;
        pthread_mutex_init(&r->lock, NULL);
        pthread_cond_init(&r->cond, NULL);
        r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (r->efd < 0) {
                k = -errno;
                goto fail;
        }
        k = sd_event_add_io(event, &r->source, r->efd, EPOLLIN, on_done, r);
        if (k < 0)
                goto fail;
        (void) sd_event_source_set_description(r->source, "resolver");
        /* Signals are the main loop's. */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        for (unsigned i = 0; i < threads && i < MAX_THREADS; i++) {
                k = -pthread_create(&r->threads[i], NULL, worker, r);
                if (k < 0)
                        break;
                r->n_threads++;
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r->n_threads == 0)
                goto fail;
        *ret = r;
        return 0;
fail:
        fzgw_resolver_free(r);
        return k < 0 ? k : -EIO;
}

FzgwResolver *fzgw_resolver_free(FzgwResolver *r) {
        if (!r)
                return NULL;
        pthread_mutex_lock(&r->lock);
        r->stop = true;
        pthread_cond_broadcast(&r->cond);
        pthread_mutex_unlock(&r->lock);
        for (unsigned i = 0; i < r->n_threads; i++)
                pthread_join(r->threads[i], NULL);
        for (size_t i = 0; i < r->n_todo; i++)
                free(r->todo[(r->todo_head + i) % FZGW_RESOLVE_QUEUE]);
        for (size_t i = 0; i < r->n_done; i++)
                free(r->done[(r->done_head + i) % FZGW_RESOLVE_QUEUE]);
        r->source = sd_event_source_disable_unref(r->source);
        if (r->efd >= 0)
                close(r->efd);
        pthread_cond_destroy(&r->cond);
        pthread_mutex_destroy(&r->lock);
        free(r);
        return NULL;
}

int fzgw_resolver_submit(FzgwResolver *r, uint64_t tag, const char *name) {
        FzgwResolution *res;
        size_t in_flight;

        if (strlen(name) > FZGW_RESOLVE_NAME_MAX)
                return -EINVAL;
        res = calloc(1, sizeof *res);
        if (!res)
                return -ENOMEM;
        res->tag = tag;
        strcpy(res->name, name);
        pthread_mutex_lock(&r->lock);
        /* Queued, being looked up, and answered but not yet handed over, together. */
        in_flight = r->n_todo + r->n_done;
        for (unsigned i = 0; i < r->n_threads; i++)
                in_flight++;
        if (in_flight >= FZGW_RESOLVE_QUEUE) {
                pthread_mutex_unlock(&r->lock);
                free(res);
                return -EBUSY;
        }
        r->todo[(r->todo_head + r->n_todo) % FZGW_RESOLVE_QUEUE] = res;
        r->n_todo++;
        pthread_cond_signal(&r->cond);
        pthread_mutex_unlock(&r->lock);
        return 0;
}
