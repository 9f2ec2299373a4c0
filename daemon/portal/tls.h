/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

/* A client context: TLS ≥ 1.2, peer verification against the system trust store
 * (SSL_CTX_set_default_verify_paths, which honours SSL_CERT_FILE/SSL_CERT_DIR — the tests
 * point these at a CA they generate). */
int fzd_tls_context_new(SSL_CTX **ret);

/* A connection on fd for host: SNI (names only), hostname or IP verification. */
int fzd_tls_new(SSL_CTX *ctx, int fd, const char *host, bool host_is_ip, SSL **ret);

/* The first error on OpenSSL's queue (or the verify result), as text, and clears the queue. */
void fzd_tls_error_string(SSL *ssl, char *buf, size_t size, bool *ret_verify_failed);

static inline void SSL_CTX_freep(SSL_CTX **p) {
        if (*p)
                SSL_CTX_free(*p);
}
