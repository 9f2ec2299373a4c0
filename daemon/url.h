/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The portal URL: one grammar (fzd_url_parse), with the daemon's policy layered on top
 * (fzd_api_url_check: wss:// anywhere, ws:// only to this machine). Options, the D-Bus
 * API and the engine all use these, so they cannot disagree about what a URL is. */

#include <stdbool.h>
#include <sys/socket.h>

#define FZD_URL_MAX 2048

/* ws[s]://host[:port][/path][?query][#fragment] */
typedef struct FzdUrl {
        bool tls;          /* wss:// */
        char *host;        /* without brackets for IPv6 literals */
        bool host_is_ip;
        bool host_bracketed;
        unsigned port;     /* the default (443/80) if none was given */
        char *base_path;   /* always ends in '/'; query and fragment are dropped */
        char *host_header; /* "host", "host:port" or "[v6]:port" */
} FzdUrl;

void fzd_url_done(FzdUrl *u);

/* Parses a ws:// or wss:// URL. Returns 0, -ENOMEM, or -EINVAL with a reason (a static
 * string that never quotes the URL) in *ret_reason if ret_reason is non-NULL. */
int fzd_url_parse(const char *url, FzdUrl *ret, const char **ret_reason);

/* The daemon's policy on top of the grammar: wss:// anywhere, ws:// only to localhost or a
 * loopback address. Returns 0 or -EINVAL with a reason (static string). */
int fzd_api_url_check(const char *url, const char **ret_reason);

/* "localhost" or a literal loopback address (127.0.0.0/8, ::1, ::ffff:127.x). */
bool fzd_host_is_loopback(const char *host);
/* The same for a resolved address. */
bool fzd_sockaddr_is_loopback(const struct sockaddr *sa);
