/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"

int fzd_read_fd_bounded(int fd, void *buf, size_t size, size_t *ret_len) {
        size_t len = 0;
        char extra;

        for (;;) {
                /* Once the buffer is full, one more byte tells a file of exactly size bytes from
                 * a larger one. */
                ssize_t n = len < size ? read(fd, (char *) buf + len, size - len) : read(fd, &extra, 1);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                if (len == size)
                        return -EFBIG;
                len += (size_t) n;
        }
        *ret_len = len;
        return 0;
}

int fzd_read_fd_alloc(int fd, size_t max, char **ret, size_t *ret_len) {
        _cleanup_(freep) char *buf = NULL;
        size_t len;
        int r;

        buf = malloc(max + 1);
        if (!buf)
                return -ENOMEM;
        r = fzd_read_fd_bounded(fd, buf, max, &len);
        if (r < 0)
                return r;
        buf[len] = 0;
        *ret = TAKE_PTR(buf);
        if (ret_len)
                *ret_len = len;
        return 0;
}

int fzd_write_file_atomic(const char *dir, const char *name, const void *data, size_t len, unsigned mode) {
        _cleanup_(closep) int dirfd = -EBADF, fd = -EBADF;
        char tmp[256];
        int r;

        if (snprintf(tmp, sizeof tmp, ".%s.tmp-%d", name, (int) getpid()) >= (int) sizeof tmp)
                return -ENAMETOOLONG;
        dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return -errno;
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0)
                return -errno;
        for (size_t done = 0; done < len;) {
                ssize_t n = write(fd, (const char *) data + done, len - done);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        goto fail;
                }
                done += (size_t) n;
        }
        if (fchmod(fd, mode) < 0 || fsync(fd) < 0) {
                r = -errno;
                goto fail;
        }
        /* rename() replaces a symlink at name with the file; it never follows it. */
        if (renameat(dirfd, tmp, dirfd, name) < 0) {
                r = -errno;
                goto fail;
        }
        (void) fsync(dirfd);
        return 0;
fail:
        (void) unlinkat(dirfd, tmp, 0);
        return r;
}
