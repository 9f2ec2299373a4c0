/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* One WebSocket client connection driven from sd-event: non-blocking TCP connect (trying
 * each address in turn), optional TLS, the HTTP/1.1 upgrade, then wslay for framing. No
 * reconnect logic here: a connection that ends reports why, once, and is then dead. */

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "macro.h"

typedef enum FzdWsErrorKind {
        FZD_WS_ERROR_CONNECT,    /* TCP connect failed on every address (errnum) */
        FZD_WS_ERROR_TIMEOUT,    /* connect/TLS/upgrade took too long */
        FZD_WS_ERROR_TLS,        /* TLS handshake failed (detail) */
        FZD_WS_ERROR_TLS_VERIFY, /* the certificate could not be verified (detail) */
        FZD_WS_ERROR_HTTP,       /* the server answered with http_status instead of 101 */
        FZD_WS_ERROR_HANDSHAKE,  /* a malformed or non-WebSocket answer */
        FZD_WS_ERROR_EOF,        /* the server closed the TCP connection */
        FZD_WS_ERROR_IO,         /* read/write failed (errnum) */
        FZD_WS_ERROR_CLOSED,     /* the server sent a WebSocket close frame (close_code) */
        FZD_WS_ERROR_TOO_BIG,    /* a message exceeded the size limit */
        FZD_WS_ERROR_PROTOCOL,   /* a WebSocket framing error */
        FZD_WS_ERROR_REJECTED,   /* our message callback refused a message */
} FzdWsErrorKind;

typedef struct FzdWsError {
        FzdWsErrorKind kind;
        int errnum; /* positive errno, or 0 */
        unsigned http_status;
        bool has_retry_after;
        char retry_after[64];
        unsigned close_code;
        char detail[160];
} FzdWsError;

typedef struct FzdWsCallbacks {
        void (*open)(void *userdata);
        /* A complete text message, valid UTF-8 (wslay refuses others with close code 1007:
         * the parser relies on it), of at most max_message bytes over all its frames; data
         * is valid only during the call. Return <0 to drop the connection (reported as
         * REJECTED). Binary messages are dropped. */
        int (*message)(void *userdata, const char *data, size_t len);
        /* The connection is over. The callee may free the connection from here. */
        void (*closed)(void *userdata, const FzdWsError *error);
} FzdWsCallbacks;

typedef struct FzdWsParams {
        const struct sockaddr_storage *addrs;
        const socklen_t *addr_lens;
        size_t n_addrs;
        SSL_CTX *tls; /* NULL: plain ws:// */
        const char *host; /* for SNI and certificate checks */
        bool host_is_ip;
        const char *host_header;
        const char *target; /* request target, e.g. "/client/v2/websocket?…" */
        const char *user_agent;
        const char *token;  /* must stay valid until open or closed */
        unsigned firewall_mark;
        uint64_t max_message;
        uint64_t connect_timeout_usec;   /* per address */
        uint64_t handshake_timeout_usec; /* connect + TLS + upgrade */
} FzdWsParams;

typedef struct FzdWs FzdWs;

int fzd_ws_new(sd_event *event, const FzdWsParams *params, const FzdWsCallbacks *callbacks, void *userdata,
               FzdWs **ret);
/* Closes (a close frame is attempted once, without waiting) and frees. No callbacks after
 * this; safe to call from inside any of the callbacks. */
FzdWs *fzd_ws_free(FzdWs *ws);
DEFINE_POINTER_CLEANUP_FUNC(FzdWs, fzd_ws_free);

int fzd_ws_send_text(FzdWs *ws, const char *data, size_t len);
/* From inside the message callback only: takes the message's buffer (the message in its
 * first len bytes) for the callee to keep and free with fzd_big_free() (big-alloc.h), so a
 * large message can be read in place; the connection takes a new buffer for the next one.
 * NULL if there is none to take (an empty message, or outside the callback). */
char *fzd_ws_take_message(FzdWs *ws);
