/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

#include "secret.h"

#define FZD_TOKEN_MAX 4096

typedef enum FzdTokenSource {
        FZD_TOKEN_SOURCE_NONE,
        FZD_TOKEN_SOURCE_ENV,        /* FIREZONE_TOKEN */
        FZD_TOKEN_SOURCE_CREDENTIAL, /* $CREDENTIALS_DIRECTORY/firezone-token */
        FZD_TOKEN_SOURCE_FILE,       /* /etc/dev.firezone.client/token */
        FZD_TOKEN_SOURCE_IPC,  /* SignIn over D-Bus */
} FzdTokenSource;

/* A token is 1..4096 bytes of printable, non-space ASCII. Returns 0, or -EINVAL with a
 * reason (static string, safe to show: it never quotes the token). */
int fzd_token_check(const char *s, size_t len, const char **ret_reason);

/* FIREZONE_TOKEN: copied into locked memory, then erased from the process — unsetenv()
 * and the original "FIREZONE_TOKEN=…" bytes overwritten, so /proc/PID/environ no longer
 * shows it. Returns 1 with *ret set, 0 if the variable is absent or empty (it is erased
 * either way), or a negative errno after logging why the token is unusable. */
int fzd_token_take_from_env(FzdSecret **ret);

/* The systemd credential's name (DESIGN §4): LoadCredential=firezone-token:…,
 * LoadCredentialEncrypted=firezone-token:…, SetCredentialEncrypted=firezone-token:… */
#define FZD_TOKEN_CREDENTIAL "firezone-token"

/* $CREDENTIALS_DIRECTORY/firezone-token, which systemd provides for a unit's credentials
 * (0400 root, in a directory only the service sees). The same checks as the token file.
 * Returns 1 with *ret set, 0 if there is no credentials directory or no such credential,
 * or a negative errno after logging what is wrong and what to do. */
int fzd_token_read_credential(FzdSecret **ret);

/* The service-account token file. Opened with O_NOFOLLOW; must be a regular file owned by
 * root with no group/other permission bits. Returns 1 with *ret set, 0 if it does not
 * exist, or a negative errno after logging a message that names the file, the fix and
 * asks to regenerate the token. */
int fzd_token_read_file(const char *path, FzdSecret **ret);
