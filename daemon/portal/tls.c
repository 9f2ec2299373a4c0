/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "tls.h"

int fzd_tls_context_new(SSL_CTX **ret) {
        SSL_CTX *ctx;

        ctx = SSL_CTX_new(TLS_client_method());
        if (!ctx)
                return -ENOMEM;
        if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 || SSL_CTX_set_default_verify_paths(ctx) != 1) {
                SSL_CTX_free(ctx);
                return -EIO;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        /* Writes come from wslay in pieces whose buffer may move between retries; a peer that
         * closes without close_notify is an ordinary EOF to us, not an error. */
        SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
        *ret = ctx;
        return 0;
}

int fzd_tls_new(SSL_CTX *ctx, int fd, const char *host, bool host_is_ip, SSL **ret) {
        SSL *ssl;

        ssl = SSL_new(ctx);
        if (!ssl)
                return -ENOMEM;
        if (SSL_set_fd(ssl, fd) != 1)
                goto fail;
        if (host_is_ip) {
                /* RFC 6066: no SNI for literal addresses; check the certificate's IP SANs. */
                if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1)
                        goto fail;
        } else {
                if (SSL_set_tlsext_host_name(ssl, host) != 1 || SSL_set1_host(ssl, host) != 1)
                        goto fail;
                SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        }
        SSL_set_connect_state(ssl);
        *ret = ssl;
        return 0;
fail:
        SSL_free(ssl);
        return -EIO;
}

void fzd_tls_error_string(SSL *ssl, char *buf, size_t size, bool *ret_verify_failed) {
        unsigned long e = ERR_peek_error();
        long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
        bool verify = false;

        if (v != X509_V_OK) {
                (void) snprintf(buf, size, "%s", X509_verify_cert_error_string(v));
                verify = true;
        } else if (e != 0) {
                const char *reason = ERR_reason_error_string(e);
                (void) snprintf(buf, size, "%s", reason ? reason : "TLS error");
                verify = ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED;
        } else
                (void) snprintf(buf, size, "%s", "the TLS handshake failed");
        ERR_clear_error();
        if (ret_verify_failed)
                *ret_verify_failed = verify;
}
