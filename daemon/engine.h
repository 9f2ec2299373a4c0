/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The engine: everything that parses untrusted network input (the portal's JSON today;
 * later the data plane). It talks to the rest of the daemon through this interface only
 * — events up to the manager, and (through the manager) OS operations in os.h — so that
 * it can move into an unprivileged helper that receives the TUN fd.
 *
 * The engine owns the token while connected; it wipes it when it stops or the session
 * ends. All callbacks run on the sd-event loop. */

#include <netinet/in.h>
#include <stdbool.h>
#include <systemd/sd-event.h>

#include "error.h"
#include "gateway-messages.h"
#include "interface-config.h"
#include "resource.h"
#include "secret.h"

typedef struct FzdEngineParams {
        const char *api_url;      /* wss://… (or ws:// to loopback), validated */
        const char *device_id;    /* external_id: stable, derived from machine-id */
        const char *device_name;  /* hostname, for the portal's device list */
        unsigned firewall_mark;   /* SO_MARK for the engine's own sockets (0 = none) */
} FzdEngineParams;

typedef struct FzdEngineEvents {
        /* The portal accepted the token and sent its configuration and resource list
         * ("init"). Called again after every reconnect. The callee may take any
         * resources[i] (and set it to NULL); the engine frees the array and what is left
         * in it. (Taking instead of copying: with 10,000 resources a copy costs as much as
         * parsing them.) */
        void (*init)(void *userdata, const FzdInterfaceConfig *config, FzdResource **resources, size_t n);
        void (*config_changed)(void *userdata, const FzdInterfaceConfig *config);
        /* Ownership of r passes to the callee. */
        void (*resource_upserted)(void *userdata, FzdResource *r);
        void (*resource_deleted)(void *userdata, const char *id);
        /* The connection dropped; the engine retries by itself with backoff (error->retry_usec
         * says when). */
        void (*reconnecting)(void *userdata, const FzdError *error);
        /* The session ended for good (401, token expired, account gone, a refused
         * configuration): the engine has wiped its token and stopped. The token will never
         * work again if fzd_error_kind(error->code) is FZD_ERROR_KIND_NEEDS_SIGN_IN. */
        void (*session_ended)(void *userdata, const FzdError *error);

        /* Connections to gateways (DESIGN §7.2). Relays: with replace_all (init) the list is
         * the whole set; otherwise (relays_presence) the removed ids go and the given ones are
         * added or updated. Every callback may be NULL. */
        void (*relays)(void *userdata, const FzdRelay *relays, size_t n, const char *const *removed, size_t n_removed,
                       bool replace_all);
        void (*authorization_created)(void *userdata, const FzdAuthorization *a);
        void (*authorization_failed)(void *userdata, const char *resource_id, const char *reason);
        void (*ice_candidates)(void *userdata, const char *gateway_id, const char *const *candidates, size_t n,
                               bool invalidate);
} FzdEngineEvents;

typedef struct FzdEngine FzdEngine;

int fzd_engine_new(sd_event *event, const FzdEngineEvents *events, void *userdata, FzdEngine **ret);
FzdEngine *fzd_engine_free(FzdEngine *e);
DEFINE_POINTER_CLEANUP_FUNC(FzdEngine, fzd_engine_free);

/* Start a session. Takes ownership of *token (sets it to NULL). Returns once the
 * connection attempt is under way; progress arrives through the events. */
int fzd_engine_start(FzdEngine *e, const FzdEngineParams *params, FzdSecret **token);
/* Stop the session, close the connection, wipe the token. Idempotent. */
void fzd_engine_stop(FzdEngine *e);
/* Drop the connection and connect again now (Reconnect(), SIGHUP, network change). */
int fzd_engine_reconnect(FzdEngine *e);
/* Replace the token of a running session and reconnect (SIGHUP re-read the token file). */
int fzd_engine_replace_token(FzdEngine *e, FzdSecret **token);
bool fzd_engine_is_running(const FzdEngine *e);
/* Messages about connections to gateways (DESIGN §7.2). -ENOTCONN while not joined: the
 * caller asks again later (a resource asks again on its next packet). */
int fzd_engine_request_authorization(FzdEngine *e, const char *resource_id, const char *const *connected_gateway_ids,
                                     size_t n);
int fzd_engine_send_candidates(FzdEngine *e, const char *gateway_id, const char *const *candidates, size_t n,
                               bool invalidate);
int fzd_engine_no_relays(FzdEngine *e);
/* The session's X25519 private key (its public half is what the portal and the gateways
 * know): -ENOKEY before the first connection attempt of the session. */
int fzd_engine_private_key(FzdEngine *e, uint8_t ret[32]);

/* The engine as the manager uses it: an operation table, so tests pass in a fake. */
typedef struct FzdEngineOps {
        int (*start)(FzdEngine *e, const FzdEngineParams *params, FzdSecret **token);
        void (*stop)(FzdEngine *e);
        int (*reconnect)(FzdEngine *e);
        int (*replace_token)(FzdEngine *e, FzdSecret **token);
        FzdEngine *(*free)(FzdEngine *e);
        int (*private_key)(FzdEngine *e, uint8_t ret[32]);
        int (*request_authorization)(FzdEngine *e, const char *resource_id, const char *const *connected_gateway_ids,
                                     size_t n);
        int (*send_candidates)(FzdEngine *e, const char *gateway_id, const char *const *candidates, size_t n,
                               bool invalidate);
        int (*no_relays)(FzdEngine *e);
} FzdEngineOps;

extern const FzdEngineOps fzd_engine_ops;
