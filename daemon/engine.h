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
         * ("init"). Called again after every reconnect. The engine keeps ownership of
         * the resources array; the callee copies what it keeps. */
        void (*init)(void *userdata, const FzdInterfaceConfig *config, FzdResource *const *resources, size_t n);
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

/* The engine as the manager uses it: an operation table, so tests pass in a fake. */
typedef struct FzdEngineOps {
        int (*start)(FzdEngine *e, const FzdEngineParams *params, FzdSecret **token);
        void (*stop)(FzdEngine *e);
        int (*reconnect)(FzdEngine *e);
        int (*replace_token)(FzdEngine *e, FzdSecret **token);
        FzdEngine *(*free)(FzdEngine *e);
} FzdEngineOps;

extern const FzdEngineOps fzd_engine_ops;
