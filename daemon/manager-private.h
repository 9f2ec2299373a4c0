/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Knobs and probes for tests only (the daemon never calls these). */

#include <stdbool.h>
#include <stdint.h>

#include "manager.h"

/* How long after a failure the tunnel device is tried again (default
 * FZD_MANAGER_TUNNEL_RETRY_USEC). */
void fzd_manager_set_tunnel_retry_usec(FzdManager *m, uint64_t usec);
/* Whether that retry is armed now. */
bool fzd_manager_tunnel_retry_pending(const FzdManager *m);
