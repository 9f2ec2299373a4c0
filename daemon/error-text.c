/* SPDX-License-Identifier: Apache-2.0 */
/* The one table of sentences for errors (error.h). Templates name their placeholders —
 * {subject}, {detail}, {errno}, {number}, {duration} — instead of printf positions, so that a
 * translation may reorder them and a template can never read a missing argument. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "macro.h"
#include "utf8.h"

typedef enum Retry {
        NO_RETRY,
        RETRYING,     /* "; retrying in 4.0 s." */
        RECONNECTING, /* "; reconnecting in 4.0 s." */
} Retry;

typedef struct ErrorEntry {
        const char *name;
        FzdErrorKind kind;
        Retry retry;
        const char *text;
} ErrorEntry;

#define PORTAL_AT "the Firezone portal at {subject}"

static const ErrorEntry table[_FZD_ERR_MAX] = {
        [FZD_ERR_NONE] = { "none", FZD_ERROR_KIND_NONE, NO_RETRY, "" },

        [FZD_ERR_PORTAL_PREPARE] = { "portal-prepare", FZD_ERROR_KIND_TRANSIENT, RETRYING,
                                     "Could not prepare the connection to the Firezone portal ({errno})" },
        [FZD_ERR_PORTAL_RESOLVE] = { "portal-resolve", FZD_ERROR_KIND_TRANSIENT, RETRYING,
                                     "Could not resolve the Firezone portal's name {subject}: {detail}. "
                                     "Check your network and DNS" },
        [FZD_ERR_PORTAL_UNREACHABLE] = { "portal-unreachable", FZD_ERROR_KIND_TRANSIENT, RETRYING,
                                         "Could not reach " PORTAL_AT ": {errno}. Check your network" },
        [FZD_ERR_PORTAL_TIMEOUT] = { "portal-timeout", FZD_ERROR_KIND_TRANSIENT, RETRYING,
                                     "The Firezone portal at {subject} did not answer in time. Check your "
                                     "network" },
        [FZD_ERR_PORTAL_TLS_VERIFY] = { "portal-tls-verify", FZD_ERROR_KIND_TRANSIENT, RETRYING,
                                        "The TLS certificate of " PORTAL_AT
                                        " could not be verified ({detail}). Check the portal URL, the "
                                        "system clock, and for a proxy that intercepts HTTPS" },
        [FZD_ERR_PORTAL_TLS] = { "portal-tls", FZD_ERROR_KIND_TRANSIENT, RETRYING,
                                 "The TLS connection to " PORTAL_AT " failed ({detail})" },
        [FZD_ERR_PORTAL_BUSY] = { "portal-busy", FZD_ERROR_KIND_TRANSIENT, RETRYING,
                                  "The Firezone portal at {subject} is busy (HTTP {number}) and asked to "
                                  "retry later" },
        [FZD_ERR_PORTAL_HTTP] = { "portal-http", FZD_ERROR_KIND_TRANSIENT, RETRYING,
                                  "The Firezone portal at {subject} answered HTTP {number}" },
        [FZD_ERR_PORTAL_NOT_WEBSOCKET] = { "portal-not-websocket", FZD_ERROR_KIND_TRANSIENT, RETRYING,
                                           "The server at {subject} did not accept a WebSocket connection "
                                           "({detail}). Check the portal URL" },
        [FZD_ERR_PORTAL_TOO_BIG] = { "portal-message-too-big", FZD_ERROR_KIND_TRANSIENT, RECONNECTING,
                                     "The Firezone portal at {subject} sent a message larger than {number} "
                                     "MiB, which this client "
                                     "refuses" },
        [FZD_ERR_PORTAL_UNREADABLE] = { "portal-message-unreadable", FZD_ERROR_KIND_TRANSIENT, RECONNECTING,
                                        "The Firezone portal at {subject} sent a message this client could "
                                        "not read ({detail})" },
        [FZD_ERR_PORTAL_CLOSED] = { "portal-closed", FZD_ERROR_KIND_TRANSIENT, RECONNECTING,
                                    "The Firezone portal at {subject} closed the connection (WebSocket code "
                                    "{number})" },
        [FZD_ERR_PORTAL_LOST] = { "portal-lost", FZD_ERROR_KIND_TRANSIENT, RECONNECTING,
                                  "Lost the connection to " PORTAL_AT " ({detail})" },
        [FZD_ERR_PORTAL_CONNECT_FAILED] = { "portal-connect-failed", FZD_ERROR_KIND_TRANSIENT, RECONNECTING,
                                            "Could not connect to " PORTAL_AT " ({detail})" },
        [FZD_ERR_PORTAL_NO_INIT] = { "portal-no-init", FZD_ERROR_KIND_TRANSIENT, RECONNECTING,
                                     "The Firezone portal at {subject} accepted the connection but did not "
                                     "send this device's "
                                     "configuration within {duration}" },
        [FZD_ERR_PORTAL_NO_HEARTBEAT] = { "portal-no-heartbeat", FZD_ERROR_KIND_TRANSIENT, RECONNECTING,
                                          "The Firezone portal at {subject} stopped answering (no heartbeat "
                                          "reply for {duration})" },
        [FZD_ERR_PORTAL_JOIN_FAILED] = { "portal-join-failed", FZD_ERROR_KIND_TRANSIENT, RECONNECTING,
                                         "Could not join the Firezone portal's client channel ({errno})" },

        [FZD_ERR_TOKEN_REJECTED] = { "token-rejected", FZD_ERROR_KIND_NEEDS_SIGN_IN, NO_RETRY,
                                     "The Firezone portal rejected the sign-in token (HTTP 401): it is "
                                     "invalid, expired or revoked. "
                                     "Sign in again." },
        [FZD_ERR_SIGN_IN_REFUSED] = { "sign-in-refused", FZD_ERROR_KIND_NEEDS_SIGN_IN, NO_RETRY,
                                      "The Firezone portal refused this sign-in (HTTP 403): the account or "
                                      "client may be disabled. "
                                      "Sign in again, or ask your administrator." },
        [FZD_ERR_SESSION_EXPIRED] = { "session-expired", FZD_ERROR_KIND_NEEDS_SIGN_IN, NO_RETRY,
                                      "The Firezone session expired (the portal said token_expired). Sign "
                                      "in again." },
        [FZD_ERR_PORTAL_REFUSED_CLIENT] = { "portal-refused-client", FZD_ERROR_KIND_CONFIGURATION, NO_RETRY,
                                            "The Firezone portal at {subject} refused the client connection "
                                            "(HTTP {number}). Check the portal "
                                            "URL (FIREZONE_API_URL or api-url in "
                                            "/etc/dev.firezone.client/config) and update the client." },
        [FZD_ERR_PORTAL_JOIN_REFUSED] = { "portal-join-refused", FZD_ERROR_KIND_CONFIGURATION, NO_RETRY,
                                          "The Firezone portal refused this client ({detail}). Update the "
                                          "client, or ask your administrator "
                                          "whether the account is enabled." },
        [FZD_ERR_PORTAL_WS_NOT_LOOPBACK] = { "portal-ws-not-loopback", FZD_ERROR_KIND_CONFIGURATION,
                                             NO_RETRY,
                                             "The portal URL ws://{subject} uses plain ws://, which is "
                                             "allowed only for a portal on "
                                             "this "
                                             "machine, but the name does not resolve to a loopback address. "
                                             "Use wss://." },

        [FZD_ERR_START_FAILED] = { "start-failed", FZD_ERROR_KIND_TRANSIENT, NO_RETRY,
                                   "Could not start the connection to the portal ({errno}). Try signing in "
                                   "again." },

        [FZD_ERR_TOKEN_FILE_REMOVED] = { "token-file-removed", FZD_ERROR_KIND_CONFIGURATION, NO_RETRY,
                                         "The service-account token file {subject} was removed. Write a new "
                                         "token to it and send SIGHUP "
                                         "(systemctl reload firezone-client)." },
        [FZD_ERR_TOKEN_FILE_UNUSABLE] = { "token-file-unusable", FZD_ERROR_KIND_CONFIGURATION, NO_RETRY,
                                          "The service-account token file {subject} is unusable (see the "
                                          "log). Fix it and send SIGHUP "
                                          "(systemctl reload firezone-client)." },

        [FZD_ERR_TUNNEL_DEVICE] = { "tunnel-device", FZD_ERROR_KIND_TRANSIENT, RETRYING,
                                    "Could not set up the tunnel device {subject} ({errno}). Check that "
                                    "/dev/net/tun exists and the "
                                    "service has CAP_NET_ADMIN" },

        [FZD_ERR_DNS_BUS_UNREACHABLE] = { "dns-bus-unreachable", FZD_ERROR_KIND_DEGRADED, NO_RETRY,
                                          "Cannot reach the system bus to talk to systemd-resolved "
                                          "({errno})." },
        [FZD_ERR_DNS_RESOLVED_MISSING] = { "dns-resolved-missing", FZD_ERROR_KIND_DEGRADED, NO_RETRY,
                                           "systemd-resolved is not running; start it (systemctl enable "
                                           "--now systemd-resolved) or set "
                                           "dns-control=etc-resolv-conf in {subject}." },
        [FZD_ERR_DNS_RESOLVED_TIMEOUT] = { "dns-resolved-timeout", FZD_ERROR_KIND_DEGRADED, NO_RETRY,
                                           "systemd-resolved did not answer within {number} s; check it "
                                           "with \"systemctl status "
                                           "systemd-resolved\"." },
        [FZD_ERR_DNS_RESOLVED_DENIED] = { "dns-resolved-denied", FZD_ERROR_KIND_DEGRADED, NO_RETRY,
                                          "systemd-resolved refused to change the tunnel's DNS settings "
                                          "({detail}); the tunnel service needs "
                                          "to run as root with CAP_NET_ADMIN." },
        [FZD_ERR_DNS_RESOLVED_REJECTED] = { "dns-resolved-rejected", FZD_ERROR_KIND_DEGRADED, NO_RETRY,
                                            "systemd-resolved rejected the tunnel's DNS settings: "
                                            "{detail}." },
        [FZD_ERR_DNS_RESOLVED_FAILED] = { "dns-resolved-failed", FZD_ERROR_KIND_DEGRADED, NO_RETRY,
                                          "Failed to talk to systemd-resolved: {errno}." },
        [FZD_ERR_DNS_RESOLV_CONF] = { "dns-resolv-conf", FZD_ERROR_KIND_DEGRADED, NO_RETRY,
                                      "Could not point {subject} at Firezone's DNS ({errno}); see the "
                                      "tunnel service's log." },
        [FZD_ERR_DNS_FAILED] = { "dns-failed", FZD_ERROR_KIND_DEGRADED, NO_RETRY,
                                 "Could not set up DNS for the tunnel; see the tunnel service's log." },
        [FZD_ERR_DNS_REVERT_FAILED] = { "dns-revert-failed", FZD_ERROR_KIND_DEGRADED, NO_RETRY,
                                        "Could not undo the tunnel's DNS settings; see the tunnel service's "
                                        "log." },
};

static const ErrorEntry *entry(FzdErrorCode code) {
        if ((unsigned) code >= _FZD_ERR_MAX || !table[code].name)
                return &table[FZD_ERR_NONE];
        return &table[code];
}

FzdErrorKind fzd_error_kind(FzdErrorCode code) {
        return entry(code)->kind;
}

const char *fzd_error_code_to_string(FzdErrorCode code) {
        return entry(code)->name;
}

FzdError fzd_error_make(FzdErrorCode code, int errnum) {
        FzdError e = FZD_ERROR_NULL;

        e.code = code;
        e.errnum = errnum < 0 ? -errnum : errnum;
        return e;
}

void fzd_error_set_subject(FzdError *e, const char *s) {
        fzd_utf8_sanitize(s, false, e->subject, sizeof e->subject);
}

void fzd_error_set_detail(FzdError *e, const char *s) {
        fzd_utf8_sanitize(s, false, e->detail, sizeof e->detail);
}

bool fzd_error_equal(const FzdError *a, const FzdError *b) {
        return a->code == b->code && a->errnum == b->errnum && a->number == b->number &&
               a->retry_usec == b->retry_usec && a->duration_usec == b->duration_usec &&
               streq(a->subject, b->subject) && streq(a->detail, b->detail);
}

/* strerror() text starting with a lower-case letter, as it reads inside a sentence. */
static void errno_text(int errnum, char *buf, size_t size) {
        (void) snprintf(buf, size, "%s", errnum ? strerror(errnum) : "unknown error");
        if (buf[0] >= 'A' && buf[0] <= 'Z' && buf[1] >= 'a' && buf[1] <= 'z')
                buf[0] = (char) (buf[0] - 'A' + 'a');
}

static void format_delay(uint64_t usec, char *buf, size_t size) {
        if (usec < 10 * USEC_PER_SEC)
                (void) snprintf(buf, size, "%.1f s", (double) usec / (double) USEC_PER_SEC);
        else
                (void) snprintf(buf, size, "%" PRIu64 " s",
                                (uint64_t) ((usec + USEC_PER_SEC / 2) / USEC_PER_SEC));
}

const char *fzd_error_format(const FzdError *e, char *buf, size_t size) {
        const ErrorEntry *t = entry(e ? e->code : FZD_ERR_NONE);
        const char *p = t->text;
        size_t pos = 0;

        if (size == 0)
                return buf;
        buf[0] = 0;
        while (*p) {
                const char *open = strchr(p, '{');
                char piece[FZD_ERROR_SUBJECT_MAX + 32];
                const char *value = NULL;
                size_t lit = open ? (size_t) (open - p) : strlen(p);

                if (lit > 0) {
                        char literal[512];
                        (void) snprintf(literal, sizeof literal, "%.*s", (int) lit, p);
                        if (!fzd_utf8_append(buf, size, &pos, literal))
                                return buf;
                        p += lit;
                        continue;
                }
                if (strncmp(p, "{subject}", 9) == 0)
                        value = e->subject[0] ? e->subject : "the portal", p += 9;
                else if (strncmp(p, "{detail}", 8) == 0)
                        value = e->detail[0] ? e->detail : "no details", p += 8;
                else if (strncmp(p, "{errno}", 7) == 0) {
                        errno_text(e->errnum, piece, sizeof piece);
                        value = piece, p += 7;
                } else if (strncmp(p, "{number}", 8) == 0) {
                        (void) snprintf(piece, sizeof piece, "%u", e->number);
                        value = piece, p += 8;
                } else if (strncmp(p, "{duration}", 10) == 0) {
                        format_delay(e->duration_usec, piece, sizeof piece);
                        value = piece, p += 10;
                } else {
                        value = "{", p += 1; /* not a placeholder */
                }
                if (!fzd_utf8_append(buf, size, &pos, value))
                        return buf;
        }
        if (t->retry != NO_RETRY && e->retry_usec != UINT64_MAX) {
                char when[32], tail[64];
                format_delay(e->retry_usec, when, sizeof when);
                (void) snprintf(tail, sizeof tail, "; %s in %s.",
                                t->retry == RETRYING ? "retrying" : "reconnecting", when);
                (void) fzd_utf8_append(buf, size, &pos, tail);
        } else if (t->retry != NO_RETRY)
                (void) fzd_utf8_append(buf, size, &pos, ".");
        return buf;
}
