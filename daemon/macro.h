/* SPDX-License-Identifier: Apache-2.0 */
/* Small project-local helpers for the daemon: scope-bound cleanup and friends.
 * Written on public headers only; nothing here is copied from systemd. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_     __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _likely_(x)   __builtin_expect(!!(x), 1)
#define _unlikely_(x) __builtin_expect(!!(x), 0)

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* Take ownership of a pointer out of a _cleanup_ variable. */
#define TAKE_PTR(p)                                \
        ({                                         \
                __typeof__(p) _take_tmp = (p);     \
                (p) = NULL;                        \
                _take_tmp;                         \
        })

#define TAKE_FD(fd)                                \
        ({                                         \
                int _take_fd = (fd);               \
                (fd) = -EBADF;                     \
                _take_fd;                          \
        })

/* Define a cleanup function for a pointer type whose free function accepts NULL. */
#define DEFINE_POINTER_CLEANUP_FUNC(type, func)                 \
        static inline void func##p(type **p) {                  \
                if (*p)                                         \
                        func(*p);                               \
        }

static inline void freep(void *p) {
        free(*(void **) p);
}

static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -EBADF;
}

static inline void closep(int *fd) {
        *fd = safe_close(*fd);
}

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}

#define streq(a, b) (strcmp((a), (b)) == 0)

static inline bool isempty(const char *s) {
        return !s || !*s;
}

static inline const char *strempty(const char *s) {
        return s ? s : "";
}

/* Replace *p with a copy of s (NULL allowed). Returns 0 or -ENOMEM. */
static inline int free_and_strdup(char **p, const char *s) {
        char *t = NULL;

        if (s) {
                t = strdup(s);
                if (!t)
                        return -ENOMEM;
        }
        free(*p);
        *p = t;
        return 0;
}

#define USEC_PER_SEC  1000000ULL
#define USEC_PER_MSEC 1000ULL
#define NSEC_PER_USEC 1000ULL

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}
