/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Outgoing Phoenix channel frames: {"topic": …, "event": …, "payload": …, "ref": …}. */

#include <stdint.h>

#define FZD_PHOENIX_TOPIC_CLIENT  "client"
#define FZD_PHOENIX_TOPIC_PHOENIX "phoenix"

/* topic and event must be plain ASCII identifiers; payload_json is a JSON value. */
int fzd_phoenix_encode(const char *topic, const char *event, const char *payload_json, uint64_t ref, char **ret);
