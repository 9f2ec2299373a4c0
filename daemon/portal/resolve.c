/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/eventfd.h>

#include "log.h"
#include "resolve.h"

/* Shared between the loop and the thread; freed by whoever drops the last reference. */
typedef struct Job {
        atomic_int refs;
        int efd;
        char *host;
        char service[8];
        int gai_error;
        int error;
        size_t n;
        struct sockaddr_storage addrs[FZD_RESOLVE_MAX_ADDRESSES];
        socklen_t addr_lens[FZD_RESOLVE_MAX_ADDRESSES];
} Job;

struct FzdResolve {
        Job *job;
        sd_event_source *source;
        fzd_resolve_callback_t callback;
        void *userdata;
};

static void job_unref(Job *j) {
        if (!j || atomic_fetch_sub(&j->refs, 1) != 1)
                return;
        safe_close(j->efd);
        free(j->host);
        free(j);
}

static void *resolve_thread(void *p) {
        Job *j = p;
        struct addrinfo hints = {
                .ai_family = AF_UNSPEC,
                .ai_socktype = SOCK_STREAM,
                /* No AI_ADDRCONFIG: it hides loopback-only answers (a local portal); an address we
                 * cannot use fails fast and the next one is tried. */
                .ai_flags = AI_NUMERICSERV,
        }, *res = NULL;
        uint64_t one = 1;

        j->gai_error = getaddrinfo(j->host, j->service, &hints, &res);
        if (j->gai_error == EAI_SYSTEM)
                j->error = -errno;
        else if (j->gai_error != 0)
                j->error = -EHOSTUNREACH;
        for (struct addrinfo *ai = res; ai && j->n < FZD_RESOLVE_MAX_ADDRESSES; ai = ai->ai_next) {
                if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) || ai->ai_addrlen > sizeof(j->addrs[0]))
                        continue;
                memcpy(&j->addrs[j->n], ai->ai_addr, ai->ai_addrlen);
                j->addr_lens[j->n] = ai->ai_addrlen;
                j->n++;
        }
        if (res)
                freeaddrinfo(res);
        if (j->gai_error == 0 && j->n == 0)
                j->error = -EADDRNOTAVAIL;

        /* Even if the loop lost interest, the eventfd is still ours until we unref. */
        (void) !write(j->efd, &one, sizeof(one));
        job_unref(j);
        return NULL;
}

static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        FzdResolve *r = userdata;
        Job *j = r->job;
        fzd_resolve_callback_t cb = r->callback;
        void *ud = r->userdata;

        /* The callback may free r; read everything first, keep the job alive through it. */
        r->source = sd_event_source_disable_unref(r->source);
        r->job = NULL;
        cb(ud, j->error, j->gai_error, j->addrs, j->addr_lens, j->n);
        job_unref(j);
        return 0;
}

/* A literal address needs no lookup (and no thread). */
static bool numeric_address(const char *host, unsigned port, struct sockaddr_storage *ret, socklen_t *ret_len) {
        struct sockaddr_in *in = (struct sockaddr_in *) ret;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) ret;

        memset(ret, 0, sizeof *ret);
        if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
                in->sin_family = AF_INET;
                in->sin_port = htons((uint16_t) port);
                *ret_len = sizeof *in;
                return true;
        }
        if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons((uint16_t) port);
                *ret_len = sizeof *in6;
                return true;
        }
        return false;
}

int fzd_resolve_start(sd_event *event, const char *host, unsigned port, fzd_resolve_callback_t callback,
                      void *userdata, FzdResolve **ret) {
        _cleanup_(fzd_resolve_cancelp) FzdResolve *r = NULL;
        pthread_attr_t attr;
        pthread_t thread;
        sigset_t all, old;
        Job *j;
        int k;

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->callback = callback;
        r->userdata = userdata;

        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        atomic_init(&j->refs, 1);
        j->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        j->host = strdup(host);
        r->job = j;
        if (j->efd < 0)
                return -errno;
        if (!j->host)
                return -ENOMEM;
        (void) snprintf(j->service, sizeof(j->service), "%u", port);

        k = sd_event_add_io(event, &r->source, j->efd, EPOLLIN, on_done, r);
        if (k < 0)
                return k;
        (void) sd_event_source_set_description(r->source, "portal-resolve");

        if (numeric_address(host, port, &j->addrs[0], &j->addr_lens[0])) {
                uint64_t one = 1;
                j->n = 1;
                /* Still answered from the loop, like a lookup. */
                if (write(j->efd, &one, sizeof one) != sizeof one)
                        return -errno;
                *ret = TAKE_PTR(r);
                return 0;
        }

        /* The thread must not take our signals (sd-event may use signalfd). */
        k = pthread_attr_init(&attr);
        if (k != 0)
                return -k;
        (void) pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        (void) pthread_attr_setstacksize(&attr, 256 * 1024);
        sigfillset(&all);
        (void) pthread_sigmask(SIG_SETMASK, &all, &old);
        atomic_fetch_add(&j->refs, 1);
        k = pthread_create(&thread, &attr, resolve_thread, j);
        (void) pthread_sigmask(SIG_SETMASK, &old, NULL);
        (void) pthread_attr_destroy(&attr);
        if (k != 0) {
                atomic_fetch_sub(&j->refs, 1);
                return -k;
        }

        *ret = TAKE_PTR(r);
        return 0;
}

FzdResolve *fzd_resolve_cancel(FzdResolve *r) {
        if (!r)
                return NULL;
        r->source = sd_event_source_disable_unref(r->source);
        job_unref(r->job);
        return mfree(r);
}
