/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "url.h"

/* The request target: "{base_path}client/v2/websocket?external_id=…&name=…&public_key=…",
 * every value percent-encoded. */
int fzd_portal_url_request_target(const FzdUrl *u, const char *external_id, const char *name,
                                  const char *public_key_b64, char **ret);

/* Percent-encodes everything but RFC 3986 unreserved characters. */
int fzd_percent_encode(const char *s, char **ret);
