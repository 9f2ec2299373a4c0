/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Errors between the daemon's layers travel as codes with a few facts, never as sentences.
 * The one table of sentences (error-text.c) is read at the edges only: the D-Bus API
 * (LastError, StateChanged, method errors), sd_notify's STATUS= and the state-change log
 * line. One wording per situation, in one place, ready for translation.
 *
 * An FzdError is a small value: copy it, compare it, keep it without allocating. Its text
 * fields hold names and short technical details (a host name, a file, an OpenSSL verify
 * reason), never a token or a sentence. Everything that fills one goes through
 * fzd_error_set_*(), which truncates at UTF-8 character boundaries and replaces control
 * characters, so the sentence made from it is always valid for D-Bus and the journal. */

#include <stdbool.h>
#include <stdint.h>

typedef enum FzdErrorKind {
        FZD_ERROR_KIND_NONE,
        FZD_ERROR_KIND_TRANSIENT,     /* retried by the daemon on its own */
        FZD_ERROR_KIND_NEEDS_SIGN_IN, /* the token will never work again */
        FZD_ERROR_KIND_CONFIGURATION, /* an administrator has to change something */
        FZD_ERROR_KIND_DEGRADED,      /* connected, but something does not work */
} FzdErrorKind;

typedef enum FzdErrorCode {
        FZD_ERR_NONE,

        /* The portal connection: transient, retried (retry_usec says when). */
        FZD_ERR_PORTAL_PREPARE,        /* errnum */
        FZD_ERR_PORTAL_RESOLVE,        /* subject = host, detail = resolver's reason */
        FZD_ERR_PORTAL_UNREACHABLE,    /* subject = host:port, errnum */
        FZD_ERR_PORTAL_TIMEOUT,        /* subject */
        FZD_ERR_PORTAL_TLS_VERIFY,     /* subject, detail = verify reason */
        FZD_ERR_PORTAL_TLS,            /* subject, detail */
        FZD_ERR_PORTAL_BUSY,           /* subject, number = HTTP status */
        FZD_ERR_PORTAL_HTTP,           /* subject, number = HTTP status */
        FZD_ERR_PORTAL_NOT_WEBSOCKET,  /* subject, detail */
        FZD_ERR_PORTAL_TOO_BIG,        /* subject, number = limit in MiB */
        FZD_ERR_PORTAL_UNREADABLE,     /* subject, detail = which part */
        FZD_ERR_PORTAL_CLOSED,         /* subject, number = WebSocket close code */
        FZD_ERR_PORTAL_LOST,           /* subject, errnum or detail */
        FZD_ERR_PORTAL_CONNECT_FAILED, /* subject, errnum or detail */
        FZD_ERR_PORTAL_NO_INIT,        /* subject, duration_usec */
        FZD_ERR_PORTAL_NO_HEARTBEAT,   /* subject, duration_usec */
        FZD_ERR_PORTAL_JOIN_FAILED,    /* subject, errnum */

        /* The portal ended the session. */
        FZD_ERR_TOKEN_REJECTED,         /* HTTP 401: needs sign-in */
        FZD_ERR_SIGN_IN_REFUSED,        /* HTTP 403: needs sign-in */
        FZD_ERR_SESSION_EXPIRED,        /* "token_expired": needs sign-in */
        FZD_ERR_PORTAL_REFUSED_CLIENT,  /* other 4xx: subject, number */
        FZD_ERR_PORTAL_JOIN_REFUSED,    /* the join was refused: detail = the portal's reason */
        FZD_ERR_PORTAL_WS_NOT_LOOPBACK, /* ws:// to a non-loopback address: subject */

        /* Starting a session. */
        FZD_ERR_START_FAILED, /* errnum */

        /* The service-account token file (SIGHUP). */
        FZD_ERR_TOKEN_FILE_REMOVED,  /* subject = path */
        FZD_ERR_TOKEN_FILE_UNUSABLE, /* subject = path */

        /* The tunnel device: transient, retried. */
        FZD_ERR_TUNNEL_DEVICE, /* subject = interface, errnum */

        /* DNS control: connected, but names of resources may not resolve (degraded). */
        FZD_ERR_DNS_BUS_UNREACHABLE,   /* errnum */
        FZD_ERR_DNS_RESOLVED_MISSING,  /* subject = config file */
        FZD_ERR_DNS_RESOLVED_TIMEOUT,  /* number = seconds */
        FZD_ERR_DNS_RESOLVED_DENIED,   /* detail = resolved's message */
        FZD_ERR_DNS_RESOLVED_REJECTED, /* detail = resolved's message and error name */
        FZD_ERR_DNS_RESOLVED_FAILED,   /* errnum */
        FZD_ERR_DNS_RESOLV_CONF,       /* subject = path, errnum */
        FZD_ERR_DNS_FAILED,            /* errnum */
        FZD_ERR_DNS_REVERT_FAILED,

        _FZD_ERR_MAX,
} FzdErrorCode;

#define FZD_ERROR_SUBJECT_MAX 256
#define FZD_ERROR_DETAIL_MAX  192

typedef struct FzdError {
        FzdErrorCode code;
        int errnum;             /* positive errno, 0 if none */
        unsigned number;        /* an HTTP status, a close code, seconds, … (see the code) */
        uint64_t retry_usec;    /* the daemon tries again in this long; UINT64_MAX: it does not */
        uint64_t duration_usec; /* how long something took or waited (see the code) */
        char subject[FZD_ERROR_SUBJECT_MAX]; /* what it is about: a host, a file, an interface */
        char detail[FZD_ERROR_DETAIL_MAX];   /* a short technical detail */
} FzdError;

#define FZD_ERROR_NULL ((FzdError){ .code = FZD_ERR_NONE, .retry_usec = UINT64_MAX })

FzdErrorKind fzd_error_kind(FzdErrorCode code);
/* A stable machine-readable name ("portal-unreachable"), for logs and tests. */
const char *fzd_error_code_to_string(FzdErrorCode code);

static inline bool fzd_error_is_set(const FzdError *e) {
        return e && e->code != FZD_ERR_NONE;
}
bool fzd_error_equal(const FzdError *a, const FzdError *b);

/* Start an error: code, errno (positive or negative, 0 for none); no retry. */
FzdError fzd_error_make(FzdErrorCode code, int errnum);
/* Sanitised copies: valid UTF-8 cut at a character boundary, control characters replaced. */
void fzd_error_set_subject(FzdError *e, const char *s);
void fzd_error_set_detail(FzdError *e, const char *s);

/* The sentence for users (error-text.c): the one table. Always valid UTF-8, never longer
 * than size-1 bytes (cut at a character boundary). Empty for FZD_ERR_NONE. */
const char *fzd_error_format(const FzdError *e, char *buf, size_t size);
#define FZD_ERROR_TEXT_MAX 768
