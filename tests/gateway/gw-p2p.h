/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Firezone's in-tunnel control protocol between clients and gateways (DESIGN §7.4;
 * connlib's p2p_control.rs): an IPv6 packet from :: to ::, next header 0xFF, hop limit 0,
 * whose payload is an 8-byte header [event, 0 × 7] and a JSON body.
 *   event 0 (client → gateway) assigned IPs: {"resource", "domain", "proxy_ips": [ip…]}
 *   event 1 (gateway → client) domain status: {"resource", "domain", "status": "Active"|"Inactive"}
 *   event 2 (client → gateway) goodbye: no body
 * Pure. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw-packet.h"
#include "gw-policy.h"

#define FZGW_P2P_ASSIGNED_IPS  0
#define FZGW_P2P_DOMAIN_STATUS 1
#define FZGW_P2P_GOODBYE       2

#define FZGW_P2P_HEADER 8
#define FZGW_DOMAIN_MAX 253

typedef struct FzgwAssignedIps {
        char resource[FZGW_ID_MAX + 1];
        char domain[FZGW_DOMAIN_MAX + 1]; /* as sent, but lower case and without a trailing dot */
        FzgwIp proxy_ips[FZGW_MAX_PROXY_IPS];
        size_t n_proxy_ips;
} FzgwAssignedIps;

/* The event type and body of a control packet. -EBADMSG if it is not one (header fields,
 * lengths). */
int fzgw_p2p_parse(const uint8_t *packet, size_t len, uint8_t *ret_event, const uint8_t **ret_body,
                   size_t *ret_body_len);
/* An assigned-IPs body. -EBADMSG for bad JSON, a missing or mistyped field, an empty or
 * overlong name, a proxy IP that does not parse, none or more than FZGW_MAX_PROXY_IPS. */
int fzgw_p2p_parse_assigned_ips(const uint8_t *body, size_t len, FzgwAssignedIps *ret);
/* A domain-status packet (whole IPv6 packet) into out. Returns its length or -ENOBUFS. */
int fzgw_p2p_build_domain_status(const char *resource, const char *domain, bool active, uint8_t *out,
                                 size_t size);
/* Any control packet: header + body (for tests and the scripted client's mirror). */
int fzgw_p2p_build(uint8_t event, const uint8_t *body, size_t body_len, uint8_t *out, size_t size);
