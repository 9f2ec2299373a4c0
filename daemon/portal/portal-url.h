/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The portal URL, split for connecting: wss://host[:port][/path]. */
typedef struct FzdPortalUrl {
        bool tls;
        char *host;      /* without brackets for IPv6 literals */
        bool host_is_ip;
        unsigned port;
        char *base_path; /* always ends in '/' */
        char *host_header; /* "host", "host:port" or "[v6]:port" */
} FzdPortalUrl;

void fzd_portal_url_done(FzdPortalUrl *u);

/* Parses ws:// or wss:// URLs (fzd_api_url_check() has vetted them). -EINVAL on anything else. */
int fzd_portal_url_parse(const char *url, FzdPortalUrl *ret);

/* The request target: "{base_path}client/v2/websocket?external_id=…&name=…&public_key=…",
 * every value percent-encoded. */
int fzd_portal_url_request_target(const FzdPortalUrl *u, const char *external_id, const char *name,
                                  const char *public_key_b64, char **ret);

/* Percent-encodes everything but RFC 3986 unreserved characters. */
int fzd_percent_encode(const char *s, char **ret);
