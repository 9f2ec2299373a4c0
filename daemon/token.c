/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "token.h"


int fzd_token_check(const char *s, size_t len, const char **ret_reason) {
        if (len == 0) {
                *ret_reason = "the token is empty";
                return -EINVAL;
        }
        if (len > FZD_TOKEN_MAX) {
                *ret_reason = "the token is longer than 4096 bytes";
                return -EINVAL;
        }
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c <= 0x20 || c >= 0x7f) {
                        *ret_reason = "the token contains spaces, control or non-ASCII characters";
                        return -EINVAL;
                }
        }
        *ret_reason = NULL;
        return 0;
}

int fzd_token_take_from_env(FzdSecret **ret) {
        static const char prefix[] = "FIREZONE_TOKEN=";
        char *entry = NULL;
        const char *value, *reason;
        size_t len;
        int r;

        *ret = NULL;
        for (char **e = environ; e && *e; e++)
                if (strncmp(*e, prefix, sizeof prefix - 1) == 0) {
                        entry = *e;
                        break;
                }
        if (!entry)
                return 0;

        value = entry + sizeof prefix - 1;
        len = strlen(value);
        if (len == 0)
                r = 0;
        else if (fzd_token_check(value, len, &reason) < 0)
                r = log_error_errno(EINVAL, "The token in $FIREZONE_TOKEN is unusable: %s. Set a valid token.", reason);
        else {
                r = fzd_secret_new(value, len, ret);
                if (r < 0)
                        r = log_error_errno(r, "Failed to store the token from $FIREZONE_TOKEN: %m");
                else
                        r = 1;
        }

        /* unsetenv() only drops the pointer; the bytes stay in the initial environment
         * block that /proc/PID/environ shows. Wipe every FIREZONE_TOKEN= entry (execve
         * allows duplicates) and drop the pointers. */
        if (environ) {
                char **d = environ;
                for (char **e = environ; *e; e++) {
                        if (strncmp(*e, prefix, sizeof prefix - 1) == 0) {
                                explicit_bzero(*e, strlen(*e));
                                continue;
                        }
                        *d++ = *e;
                }
                *d = NULL;
        }
        return r;
}

static int refuse(const char *what, const char *path, const char *fix, const char *why) {
        return log_error_errno(EPERM,
                               "Refusing the %s %s: %s. %s — then regenerate the token in the Firezone admin "
                               "portal, since it may have been exposed.",
                               what, path, why, fix);
}

/* One regular file, root's alone, opened without following a symlink; its content a
 * valid token. what/path/fix name it in messages. */
static int read_token_at(int dirfd, const char *name, const char *what, const char *path, const char *fix,
                         FzdSecret **ret) {
        _cleanup_(closep) int fd = -EBADF;
        char buf[FZD_TOKEN_MAX + 2];
        const char *reason;
        struct stat st;
        size_t len = 0;
        int r;

        *ret = NULL;
        fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                if (errno == ELOOP)
                        return refuse(what, path, fix, "it is a symbolic link");
                return log_error_errno(errno, "Failed to open the %s %s: %m", what, path);
        }
        if (fstat(fd, &st) < 0)
                return log_error_errno(errno, "Failed to stat the %s %s: %m", what, path);
        if (!S_ISREG(st.st_mode))
                return refuse(what, path, fix, "it is not a regular file");
        if (st.st_uid != 0)
                return refuse(what, path, fix, "it is not owned by root");
        if (st.st_mode & 0077)
                return refuse(what, path, fix, "group or others have permissions on it");

        for (;;) {
                ssize_t n = read(fd, buf + len, sizeof buf - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = log_error_errno(errno, "Failed to read the %s %s: %m", what, path);
                        goto finish;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len == sizeof buf)
                        break;
        }
        /* A trailing newline (echo "$TOKEN" > file) is not part of the token. */
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
                len--;
        if (fzd_token_check(buf, len, &reason) < 0) {
                r = log_error_errno(EINVAL, "The %s %s is unusable: %s. Write a valid service-account token to it.",
                                    what, path, reason);
                goto finish;
        }
        r = fzd_secret_new(buf, len, ret);
        if (r < 0)
                r = log_error_errno(r, "Failed to store the token from %s: %m", path);
        else
                r = 1;
finish:
        explicit_bzero(buf, sizeof buf);
        return r;
}

int fzd_token_read_file(const char *path, FzdSecret **ret) {
        char fix[3 * PATH_MAX];

        (void) snprintf(fix, sizeof fix, "Fix it with: chown root:root %s; chmod 600 %s", path, path);
        return read_token_at(AT_FDCWD, path, "token file", path, fix, ret);
}

int fzd_token_read_credential(FzdSecret **ret) {
        _cleanup_(closep) int dirfd = -EBADF;
        const char *dir = secure_getenv("CREDENTIALS_DIRECTORY");

        *ret = NULL;
        /* Set by systemd for units with credentials, to a directory of its own. */
        if (isempty(dir))
                return 0;
        if (dir[0] != '/')
                return log_error_errno(EINVAL, "$CREDENTIALS_DIRECTORY (%s) is not an absolute path; ignoring it "
                                               "would hide a misconfiguration, so not starting.",
                                       dir);
        dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0) {
                if (errno == ENOENT)
                        return 0;
                return log_error_errno(errno, "Failed to open $CREDENTIALS_DIRECTORY %s: %m", dir);
        }
        return read_token_at(dirfd, FZD_TOKEN_CREDENTIAL, "systemd credential", FZD_TOKEN_CREDENTIAL,
                             "Load it from a file only root can read, or encrypt it with systemd-creds "
                             "(LoadCredentialEncrypted=), and restart the service",
                             ret);
}
