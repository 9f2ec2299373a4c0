/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The portal's messages about connections to gateways (DESIGN §7.2, docs/portal-protocol.md),
 * both ways. Parsers read untrusted input: every type is checked, lengths and counts are
 * capped, and one bad element (a relay, a candidate) is skipped with a log line while the
 * rest applies. Builders produce the JSON payloads we send. */

#include <json-c/json.h>
#include <stddef.h>

#include "gateway-messages.h"

#define FZD_PORTAL_MAX_RELAYS     16
#define FZD_PORTAL_MAX_CANDIDATES 64
#define FZD_PORTAL_MAX_CANDIDATE  512

/* A list of relays (init.relays, relays_presence.connected). Entries of another type than
 * "turn", or with a bad address or credentials, are skipped (counted in *ret_skipped).
 * Returns the number kept in ret (at most size). */
size_t fzd_portal_relays_parse(json_object *list, FzdRelay *ret, size_t size, size_t *ret_skipped);

/* relays_presence: {disconnected_ids: [id…], connected: [Relay…]}. The ids point into
 * payload. Returns 0, or -EINVAL if the payload is not an object. */
int fzd_portal_relays_presence_parse(json_object *payload, FzdRelay *ret_connected, size_t size, size_t *ret_n,
                                     const char **ret_disconnected, size_t disconnected_size, size_t *ret_n_disconnected,
                                     size_t *ret_skipped);

/* authorization_created. -EINVAL with a reason (static or in err) if a required field is
 * missing or bad; the message is then dropped (the resource asks again later). */
int fzd_portal_authorization_parse(json_object *payload, FzdAuthorization *ret, char *err, size_t err_size);

/* authorization_creation_failed: {resource_id, reason}. The strings point into payload. */
int fzd_portal_authorization_failed_parse(json_object *payload, const char **ret_resource_id,
                                          const char **ret_reason);

/* ice_candidates / invalidate_ice_candidates: {gateway_id, candidates: [s…]}. Strings point
 * into payload; candidates that are not short printable strings are skipped. */
int fzd_portal_candidates_parse(json_object *payload, const char **ret_gateway_id, const char **ret_candidates,
                                size_t size, size_t *ret_n);

/* Payloads we send (newly allocated JSON text). */
int fzd_portal_request_authorization_build(const char *resource_id, const char *const *connected_gateway_ids,
                                           size_t n, char **ret);
int fzd_portal_candidates_build(const char *gateway_id, const char *const *candidates, size_t n, char **ret);
