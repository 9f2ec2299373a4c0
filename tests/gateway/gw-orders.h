/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The controller's orders (tests/gateway/README.md, "Orders"): one JSON object per line,
 * parsed and checked into plain C values before the gateway acts on them, so that every
 * refusal ("a missing or mistyped field") is decided here, in one place. Unknown fields are
 * ignored. Pure: no I/O, no state. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "candidate.h"
#include "gw-packet.h"
#include "gw-policy.h"
#include "wg-crypto.h"

#define FZGW_LINE_MAX        (4u << 20) /* the README asks for at least 1 MiB */
#define FZGW_MAX_RELAYS      16
#define FZGW_MAX_ORDER_AUTHS 65536 /* init.authorizations */
#define FZGW_MAX_CANDIDATES  64    /* per order */
#define FZGW_CREDENTIAL_MAX  256   /* ICE and TURN usernames and passwords */

typedef enum FzgwOp {
        FZGW_OP_INIT,
        FZGW_OP_RELAYS,
        FZGW_OP_AUTHORIZE,
        FZGW_OP_REMOTE_CANDIDATES,
        FZGW_OP_INVALIDATE_REMOTE_CANDIDATES,
        FZGW_OP_REJECT_ACCESS,
        FZGW_OP_RESOURCE_UPDATED,
        FZGW_OP_STATS,
        _FZGW_OP_MAX,
} FzgwOp;

typedef struct FzgwRelayEntry {
        char id[FZGW_ID_MAX + 1];
        FzdAddr addr;
        char username[FZGW_CREDENTIAL_MAX + 1];
        char password[FZGW_CREDENTIAL_MAX + 1];
        int64_t expires_at; /* Unix seconds; 0: unknown */
} FzgwRelayEntry;

typedef struct FzgwAuthRef {
        char client_id[FZGW_ID_MAX + 1];
        char resource_id[FZGW_ID_MAX + 1];
        int64_t expires_at; /* 0: never */
} FzgwAuthRef;

typedef struct FzgwClientInfo {
        char id[FZGW_ID_MAX + 1];
        uint8_t public_key[FZD_WG_KEY_LEN];
        uint8_t psk[FZD_WG_KEY_LEN];
        FzgwIp ipv4, ipv6; /* family 0 when absent; at least one is there */
} FzgwClientInfo;

typedef struct FzgwIceCredentials {
        char username[FZGW_CREDENTIAL_MAX + 1];
        char password[FZGW_CREDENTIAL_MAX + 1];
} FzgwIceCredentials;

typedef struct FzgwOrder {
        FzgwOp op;
        bool has_id;
        int64_t id;

        /* init */
        FzgwIp iface_ipv4, iface_ipv6; /* family 0 when absent */
        /* init (relays), relays (connected) */
        FzgwRelayEntry *relays;
        size_t n_relays, relays_allocated;
        /* init */
        FzgwAuthRef *auths;
        size_t n_auths;
        /* relays */
        char (*disconnected)[FZGW_ID_MAX + 1];
        size_t n_disconnected;
        /* authorize */
        FzgwClientInfo client;
        FzgwIceCredentials local_ice, remote_ice;
        int64_t expires_at; /* 0: never */
        /* authorize, resource_updated */
        FzgwResource resource;
        bool has_resource;
        /* remote_candidates, invalidate_remote_candidates, reject_access */
        char client_id[FZGW_ID_MAX + 1];
        char (*candidates)[FZD_ICE_CANDIDATE_MAX];
        size_t n_candidates;
        /* reject_access */
        char resource_id[FZGW_ID_MAX + 1];
} FzgwOrder;

#define FZGW_ERROR_MAX 256

/* Parses one line (without its newline). On error returns -EINVAL (or -ENOMEM) with a
 * sentence in err, and ret->has_id/ret->id set if the order had a usable id (it must be
 * answered then). Release with fzgw_order_done() either way. */
int fzgw_order_parse(const char *line, size_t len, FzgwOrder *ret, char err[static FZGW_ERROR_MAX]);
/* Frees and wipes (the PSK and passwords are secrets). */
void fzgw_order_done(FzgwOrder *o);
const char *fzgw_op_to_string(FzgwOp op);
