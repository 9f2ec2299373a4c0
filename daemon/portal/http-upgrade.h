/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The HTTP/1.1 upgrade handshake of RFC 6455 §4.1 (client side): the request we send and
 * the parser for the server's answer. */

#include <stdbool.h>
#include <stddef.h>

#include "secret.h"

/* The response header section may be at most this long. */
#define FZD_HTTP_MAX_HEADER 16384

typedef struct FzdHttpResponse {
        unsigned status;
        bool upgraded; /* 101 with Upgrade: websocket, Connection: upgrade and the right accept key */
        bool has_retry_after;
        char retry_after[64];
        size_t header_len; /* bytes up to and including the blank line; the rest is WebSocket data */
} FzdHttpResponse;

/* 16 random bytes, base64 (24 characters + NUL). */
int fzd_websocket_new_key(char ret[25]);
/* base64(SHA-1(key ‖ RFC 6455 GUID)) (28 characters + NUL). */
int fzd_websocket_accept_for_key(const char *key, char ret[29]);

/* Builds the GET request in locked memory (a FzdSecret: it holds the token, in
 * X-Authorization only); the caller frees it, which wipes it, once it is sent. Returns
 * -EINVAL if a value contains characters that cannot go into a header. */
int fzd_http_upgrade_request(const char *target, const char *host_header, const char *user_agent, const char *key,
                             const char *token, FzdSecret **ret);

/* Returns 0 when the header section is complete, -EAGAIN if more data is needed, -EBADMSG on
 * a malformed response, -E2BIG if the header section exceeds FZD_HTTP_MAX_HEADER. */
int fzd_http_response_parse(const char *buf, size_t len, const char *expected_accept, FzdHttpResponse *ret);
