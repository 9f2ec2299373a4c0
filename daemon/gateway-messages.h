/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What the portal says about connections to gateways (DESIGN §7.2), as the engine parses it
 * and the connections layer uses it. Includes nothing of the daemon. */

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define FZD_MSG_ID_MAX 128

typedef struct FzdIceCredentials {
        char username[64];
        char password[128];
} FzdIceCredentials;

/* authorization_created. */
typedef struct FzdAuthorization {
        char resource_id[FZD_MSG_ID_MAX + 1];
        char gateway_id[FZD_MSG_ID_MAX + 1];
        char site_id[FZD_MSG_ID_MAX + 1];
        uint8_t gateway_public_key[32];
        uint8_t preshared_key[32];
        bool has_gateway_ipv4, has_gateway_ipv6;
        struct in_addr gateway_ipv4;
        struct in6_addr gateway_ipv6;
        FzdIceCredentials client_ice, gateway_ice;
        bool use_iceless; /* always refused here: this client does ICE only */
} FzdAuthorization;

/* A relay of init.relays / relays_presence.connected: one entry per address family. */
typedef struct FzdRelay {
        char id[FZD_MSG_ID_MAX + 1];
        struct sockaddr_storage addr;
        char username[256];
        char password[256];
        uint64_t expires_at; /* unix seconds; 0: unknown */
} FzdRelay;
