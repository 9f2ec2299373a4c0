/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The portal's messages about connections to gateways (DESIGN §7.2, docs/portal-protocol.md),
 * both ways. Parsers read untrusted input with the tolerance rules of portal-json.h: every
 * type is checked, lengths and counts are capped, one bad element (a relay, a relay id, a
 * candidate) is skipped with one log line while the rest applies, and a message that cannot
 * be used as a whole (an authorization without a usable key) is refused for the engine to
 * drop with one line; the connection stays. Builders produce the JSON payloads we send. */

#include <stddef.h>

#include "gateway-messages.h"
#include "portal-json.h"

#define FZD_PORTAL_MAX_RELAYS     16
#define FZD_PORTAL_MAX_CANDIDATES 64
#define FZD_PORTAL_MAX_CANDIDATE  512

/* A list of relays (init.relays, relays_presence.connected). An entry of another type than
 * "turn" is ignored (debug line); one with a bad address or credentials is skipped (reported
 * to s); at most size entries are looked at. Returns the number kept in ret. list may be
 * NULL or JSON null (none); a list of another type is skipped as a whole. */
size_t fzd_portal_relays_parse(const FzdJson *list, FzdPortalSkips *s, FzdRelay *ret, size_t size);

/* relays_presence: {disconnected_ids: [id…], connected: [Relay…]}. The ids point into the
 * document; bad ones are skipped (reported to s). Returns 0, or -EINVAL if the payload is
 * not an object. */
int fzd_portal_relays_presence_parse(const FzdJson *payload, FzdPortalSkips *s, FzdRelay *ret_connected, size_t size,
                                     size_t *ret_n, const char **ret_disconnected, size_t disconnected_size,
                                     size_t *ret_n_disconnected);

/* authorization_created. -EINVAL with e->why (and e->id: the resource's id, once valid) if
 * a field is missing, of the wrong type or unusable; the message is then dropped (the
 * resource asks again later). */
int fzd_portal_authorization_parse(const FzdJson *payload, FzdPortalElement *e, FzdAuthorization *ret);

/* authorization_creation_failed: {resource_id, reason}. The strings point into the
 * document; a reason that is not display text is "unknown". -EINVAL without a usable
 * resource id. */
int fzd_portal_authorization_failed_parse(const FzdJson *payload, const char **ret_resource_id,
                                          const char **ret_reason);

/* ice_candidates / invalidate_ice_candidates: {gateway_id, candidates: [s…]}. Strings point
 * into the document; a candidate that is not a short line of display text is skipped
 * (reported to s); at most size are looked at. -EINVAL without a usable gateway id or
 * candidate list. */
int fzd_portal_candidates_parse(const FzdJson *payload, FzdPortalSkips *s, const char **ret_gateway_id,
                                const char **ret_candidates, size_t size, size_t *ret_n);

/* Payloads we send (newly allocated JSON text). */
int fzd_portal_request_authorization_build(const char *resource_id, const char *const *connected_gateway_ids,
                                           size_t n, char **ret);
int fzd_portal_candidates_build(const char *gateway_id, const char *const *candidates, size_t n, char **ret);
