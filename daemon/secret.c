/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "log.h"
#include "secret.h"

struct FzdSecret {
        size_t len;
        size_t capacity; /* bytes of data[] before the NUL's place */
        size_t map_size;
        char data[];     /* NUL-terminated */
};

int fzd_secret_new_empty(size_t capacity, FzdSecret **ret) {
        size_t page = (size_t) sysconf(_SC_PAGESIZE);
        size_t need = sizeof(FzdSecret) + capacity + 1, size;
        FzdSecret *x;

        if (capacity > 1024 * 1024)
                return -E2BIG;
        size = (need + page - 1) / page * page;
        x = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (x == MAP_FAILED)
                return -errno;
        /* Keep it out of swap, core dumps and forked children. mlock can fail under
         * RLIMIT_MEMLOCK for unprivileged test runs; the daemon runs as root. */
        if (mlock(x, size) < 0)
                log_debug_errno(errno, "Failed to lock secret memory, continuing unlocked: %m");
        (void) madvise(x, size, MADV_DONTDUMP);
        (void) madvise(x, size, MADV_WIPEONFORK);

        x->len = 0;
        x->capacity = capacity;
        x->map_size = size;
        x->data[0] = 0;
        *ret = x;
        return 0;
}

int fzd_secret_append(FzdSecret *s, const char *data, size_t len) {
        if (len > s->capacity - s->len)
                return -ENOBUFS;
        memcpy(s->data + s->len, data, len);
        s->len += len;
        s->data[s->len] = 0;
        return 0;
}

int fzd_secret_new(const char *s, size_t len, FzdSecret **ret) {
        FzdSecret *x = NULL;
        int r;

        r = fzd_secret_new_empty(len, &x);
        if (r < 0)
                return r;
        (void) fzd_secret_append(x, s, len);
        *ret = x;
        return 0;
}

int fzd_secret_dup(const FzdSecret *s, FzdSecret **ret) {
        return fzd_secret_new(s->data, s->len, ret);
}

FzdSecret *fzd_secret_free(FzdSecret *s) {
        size_t size;

        if (!s)
                return NULL;
        size = s->map_size;
        explicit_bzero(s, size);
        (void) munlock(s, size);
        (void) munmap(s, size);
        return NULL;
}

const char *fzd_secret_get(const FzdSecret *s) {
        return s->data;
}

size_t fzd_secret_len(const FzdSecret *s) {
        return s->len;
}
