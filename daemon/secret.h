/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

#include "macro.h"

/* A token in locked memory: its own mmap'd pages, mlock'd (never swapped), excluded from
 * core dumps (MADV_DONTDUMP) and from forked children (MADV_WIPEONFORK), and wiped with
 * explicit_bzero before it is unmapped. Always NUL-terminated. */
typedef struct FzdSecret FzdSecret;

/* Copies len bytes of s. */
int fzd_secret_new(const char *s, size_t len, FzdSecret **ret);
/* An empty one with room for size bytes (and the NUL), to build text that holds a token
 * (the HTTP upgrade request) without a copy of it anywhere else: fill it through
 * fzd_secret_append(). */
int fzd_secret_new_empty(size_t size, FzdSecret **ret);
/* Appends len bytes; -ENOBUFS (and nothing appended) if they do not fit. */
int fzd_secret_append(FzdSecret *s, const char *data, size_t len);
int fzd_secret_dup(const FzdSecret *s, FzdSecret **ret);
FzdSecret *fzd_secret_free(FzdSecret *s);
DEFINE_POINTER_CLEANUP_FUNC(FzdSecret, fzd_secret_free);

const char *fzd_secret_get(const FzdSecret *s);
size_t fzd_secret_len(const FzdSecret *s);
