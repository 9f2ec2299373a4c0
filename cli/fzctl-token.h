/* SPDX-License-Identifier: Apache-2.0 */
/* Reading a token for sign-in: from standard input (a pipe, a file, or the terminal
 * with echo off) or from a file named with --token-file, into locked memory that is
 * wiped when freed. Never from the command line or the environment. */
#pragma once

#include <gio/gio.h>

#define FZCTL_TOKEN_MAX 4096 /* the daemon's limit (dev.firezone.Client1.xml) */

typedef struct {
        char *data; /* NUL-terminated once read */
        size_t len;
        size_t size;
        gboolean locked;
} FzctlSecret;

FzctlSecret *fzctl_secret_new(void);
void fzctl_secret_free(FzctlSecret *secret); /* wipes; accepts NULL */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FzctlSecret, fzctl_secret_free)

/* Reads all of @fd (up to one line if it is a terminal) and checks it is one line of
 * printable text of at most FZCTL_TOKEN_MAX bytes. Surrounding whitespace (the newline
 * of `echo`) is dropped. @source names the input in messages. Errors are in G_IO_ERROR:
 * G_IO_ERROR_INVALID_DATA for what was read, other codes for reading. */
gboolean fzctl_token_read_fd(int fd, const char *source, FzctlSecret *secret, GError **error);

gboolean fzctl_token_read_file(const char *path, FzctlSecret *secret, GError **error);
/* Standard input; on a terminal, prompts on stderr and turns echo off. */
gboolean fzctl_token_read_stdin(FzctlSecret *secret, GError **error);
