/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

#include "fzctl-token.h"

FzctlSecret *fzctl_secret_new(void) {
        FzctlSecret *s = g_new0(FzctlSecret, 1);

        /* Room for the limit, a newline and one byte more, to tell "too long" from "at the limit". */
        s->size = FZCTL_TOKEN_MAX + 8;
        s->data = g_malloc0(s->size);
        /* Best effort: keep it out of swap. Unprivileged users have a small RLIMIT_MEMLOCK,
         * which one page fits in. */
        s->locked = mlock(s->data, s->size) == 0;
        return s;
}

void fzctl_secret_free(FzctlSecret *s) {
        if (s == NULL)
                return;
        explicit_bzero(s->data, s->size);
        if (s->locked)
                (void)munlock(s->data, s->size);
        g_free(s->data);
        g_free(s);
}

static gboolean is_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static gboolean too_long(const char *source, GError **error) {
        g_set_error(
                error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                "The token from %s is longer than %d bytes: that is not a Firezone token. Copy the token "
                "itself (one line) and try again.",
                source, FZCTL_TOKEN_MAX);
        return FALSE;
}

static gboolean check(const char *source, FzctlSecret *s, GError **error) {
        size_t start = 0, end = s->len;

        while (start < end && is_space(s->data[start]))
                start++;
        while (end > start && is_space(s->data[end - 1]))
                end--;
        if (end - start > FZCTL_TOKEN_MAX)
                return too_long(source, error);
        if (end == start) {
                g_set_error(
                        error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                        "No token on %s: pipe the token in (firezonectl sign-in < FILE) or name a file with "
                        "--token-file PATH.",
                        source);
                return FALSE;
        }
        for (size_t i = start; i < end; i++) {
                unsigned char c = (unsigned char)s->data[i];
                if (c < 0x20 || c == 0x7f) {
                        g_set_error(
                                error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                                "The token from %s is not one line of printable text (byte %zu is a "
                                "control character or a line break): copy the token itself and try again.",
                                source, i - start + 1);
                        return FALSE;
                }
        }
        memmove(s->data, s->data + start, end - start);
        explicit_bzero(s->data + (end - start), s->size - (end - start));
        s->len = end - start;
        return TRUE;
}

gboolean fzctl_token_read_fd(int fd, const char *source, FzctlSecret *s, GError **error) {
        gboolean tty = isatty(fd);

        s->len = 0;
        /* Read one byte short of the buffer, so the data stays NUL-terminated. */
        while (s->len < s->size - 1) {
                ssize_t n = read(fd, s->data + s->len, s->size - 1 - s->len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int e = errno;
                        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e),
                                    "Cannot read the token from %s: %s", source, g_strerror(e));
                        return FALSE;
                }
                if (n == 0)
                        break;
                s->len += (size_t)n;
                if (tty && s->data[s->len - 1] == '\n')
                        break;
        }
        s->data[s->len] = '\0';
        /* Filled up: far more than a token (and its newline). */
        if (s->len == s->size - 1)
                return too_long(source, error);
        return check(source, s, error);
}

gboolean fzctl_token_read_file(const char *path, FzctlSecret *s, GError **error) {
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        gboolean ok;

        if (fd < 0) {
                int e = errno;
                g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e), "Cannot open the token file %s: %s",
                            path, g_strerror(e));
                return FALSE;
        }
        ok = fzctl_token_read_fd(fd, path, s, error);
        close(fd);
        return ok;
}

gboolean fzctl_token_read_stdin(FzctlSecret *s, GError **error) {
        struct termios old, quiet;
        gboolean echo_off = FALSE, ok;

        if (isatty(STDIN_FILENO)) {
                /* Echo off before the prompt: whatever is typed after the prompt is not shown. */
                if (tcgetattr(STDIN_FILENO, &old) == 0) {
                        quiet = old;
                        quiet.c_lflag &= ~(tcflag_t)ECHO;
                        quiet.c_lflag |= ECHONL;
                        echo_off = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
                }
                fputs("Paste the token, then press Enter (it is not shown): ", stderr);
                fflush(stderr);
        }
        ok = fzctl_token_read_fd(STDIN_FILENO, "standard input", s, error);
        if (echo_off)
                (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        return ok;
}
