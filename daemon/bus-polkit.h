/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <systemd/sd-bus.h>

#include "macro.h"

/* Asynchronous polkit checks for method handlers, in the shape systemd uses: the handler
 * calls fzd_polkit_check(); the first time it starts CheckAuthorization and returns 0, and
 * the handler returns without replying. When polkit answers, the original message is put
 * back into the bus's read queue (sd_bus_enqueue_for_read), the handler runs again from the
 * top (parse → validate → authorize → mutate), and this time fzd_polkit_check() returns the
 * answer. The loop never blocks, even while an authentication agent prompts.
 *
 * Subject: system-bus-name with the sender's unique name. No shortcut for callers with
 * our uid. If polkit is not running, only uid 0 (from sd_bus_query_sender_creds) is
 * allowed. */

#define FZD_POLKIT_MAX_PENDING_PER_SENDER 8
#define FZD_POLKIT_MAX_PENDING            256

typedef struct FzdPolkit FzdPolkit;

int fzd_polkit_new(sd_bus *bus, FzdPolkit **ret);
FzdPolkit *fzd_polkit_free(FzdPolkit *p);
DEFINE_POINTER_CLEANUP_FUNC(FzdPolkit, fzd_polkit_free);

/* Returns 1 if authorized, 0 if the answer is pending (return 1 from the handler without
 * replying), or a negative errno with error set (AccessDenied,
 * InteractiveAuthorizationRequired, LimitsExceeded). `what` is a short phrase for the
 * error message ("sign in to Firezone"). */
int fzd_polkit_check(FzdPolkit *p, sd_bus_message *m, const char *action, const char *what, sd_bus_error *error);

/* Drop the answers kept for m. Call once the handler has replied (or failed). */
void fzd_polkit_forget(FzdPolkit *p, sd_bus_message *m);

