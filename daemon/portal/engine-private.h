/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Knobs for tests and benchmarks only (the daemon never calls these). */

#include <stdint.h>

#include "engine.h"

/* Heartbeat interval (default 10 s; three unanswered heartbeats drop the connection) and how
 * long to wait for the join reply and "init" after the WebSocket opened (default 10 s). */
void fzd_engine_set_timing(FzdEngine *e, uint64_t heartbeat_usec, uint64_t join_timeout_usec);
