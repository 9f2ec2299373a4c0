/* SPDX-License-Identifier: Apache-2.0 */
/* Stand-in for daemon/secret.c while that is not on main: the same API on plain heap memory,
 * wiped on free. Linked only into test programs, and only if daemon/secret.c is absent. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "secret.h"

struct FzdSecret {
        size_t len;
        char data[];
};

int fzd_secret_new(const char *s, size_t len, FzdSecret **ret) {
        FzdSecret *x;

        if (!s || len > 65536)
                return -EINVAL;
        x = malloc(sizeof(*x) + len + 1);
        if (!x)
                return -ENOMEM;
        x->len = len;
        memcpy(x->data, s, len);
        x->data[len] = 0;
        *ret = x;
        return 0;
}

int fzd_secret_dup(const FzdSecret *s, FzdSecret **ret) {
        return fzd_secret_new(s->data, s->len, ret);
}

FzdSecret *fzd_secret_free(FzdSecret *s) {
        if (!s)
                return NULL;
        explicit_bzero(s->data, s->len);
        free(s);
        return NULL;
}

const char *fzd_secret_get(const FzdSecret *s) {
        return s ? s->data : NULL;
}

size_t fzd_secret_len(const FzdSecret *s) {
        return s ? s->len : 0;
}
