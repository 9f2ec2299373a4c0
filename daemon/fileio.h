/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Small files: the one bounded reader and the one atomic writer of the daemon. */

#include <stddef.h>

/* Reads fd to its end into buf (the caller's memory: a stack buffer, locked memory for
 * secrets). Returns 0 with *ret_len set, -EFBIG if there is more than size bytes (nothing
 * beyond size is read), or a negative errno. EINTR is retried. */
int fzd_read_fd_bounded(int fd, void *buf, size_t size, size_t *ret_len);

/* The same into a newly allocated, NUL-terminated buffer of at most max bytes. */
int fzd_read_fd_alloc(int fd, size_t max, char **ret, size_t *ret_len);

/* Writes data to dir/name atomically: a temporary file in dir, fsync, rename over name.
 * Never follows a symlink at name. Returns 0 or a negative errno. */
int fzd_write_file_atomic(const char *dir, const char *name, const void *data, size_t len, unsigned mode);
