/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The manager: the daemon's model. It keeps *facts* (is there a session, what the portal
 * connection, the tunnel and DNS are doing, which resources we have), and one function
 * derives the public view from them (state, last error, …). Every event handler changes
 * facts and ends in one commit step, which diffs the view before and after, runs the entry
 * and exit actions (timers), and hands one change set to the observers — the D-Bus API
 * and sd_notify. The manager calls nothing of the bus layer.
 *
 * Below it, the engine (portal connection, engine.h) and the OS layer (tunnel, routes, DNS
 * control, os.h) are reached through their operation tables, so tests pass in fakes. */

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "connections/connections.h"
#include "engine.h"
#include "error.h"
#include "options.h"
#include "os.h"
#include "resource.h"
#include "secret.h"
#include "token.h"

typedef struct FzdDnsStub FzdDnsStub; /* dnsstub/dns-stub.h */

typedef enum FzdState {
        FZD_STATE_SIGNED_OUT,
        FZD_STATE_CONNECTING,
        FZD_STATE_CONNECTED,
        FZD_STATE_RECONNECTING,
        _FZD_STATE_MAX,
} FzdState;

typedef enum FzdMode {
        FZD_MODE_INTERACTIVE,
        FZD_MODE_SERVICE_ACCOUNT,
        _FZD_MODE_MAX,
} FzdMode;

const char *fzd_state_to_string(FzdState s);
const char *fzd_mode_to_string(FzdMode m);

/* The longest account slug or actor name SignIn accepts, in bytes. */
#define FZD_DISPLAY_STRING_MAX 256

/* What the daemon publishes (Status, the properties, StateChanged). Derived; never set.
 * A value: it holds copies, so the previous view stays valid after the facts change. */
typedef struct FzdManagerView {
        FzdState state;
        FzdMode mode;
        char account_slug[FZD_DISPLAY_STRING_MAX + 1]; /* "": none */
        char actor_name[FZD_DISPLAY_STRING_MAX + 1];   /* "": none */
        char interface_name[16];                       /* "" while there is no tunnel */
        bool has_ipv4, has_ipv6;
        struct in_addr ipv4;
        struct in6_addr ipv6;
        FzdError last_error;
        bool requires_sign_in;
        uint64_t connected_since; /* CLOCK_REALTIME µs, 0 when not connected */
        bool internet_resource_enabled;
} FzdManagerView;

/* What differs between two published views. */
typedef enum FzdChange {
        FZD_CHANGE_STATE = 1 << 0,
        FZD_CHANGE_MODE = 1 << 1,
        FZD_CHANGE_ACCOUNT = 1 << 2,
        FZD_CHANGE_INTERFACE = 1 << 3,
        FZD_CHANGE_LAST_ERROR = 1 << 4,
        FZD_CHANGE_REQUIRES_SIGN_IN = 1 << 5,
        FZD_CHANGE_INTERNET_RESOURCE = 1 << 6,
} FzdChange;

typedef struct FzdManager FzdManager;

/* The observers of the view: the D-Bus API and sd_notify. Called from the event loop, after
 * the view is in place (fzd_manager_view() returns the new one). */
typedef struct FzdManagerObserver {
        /* changes != 0. reason names what happened ("sign-in", "portal-connected", …). */
        void (*changed)(void *userdata, const FzdManager *m, FzdChange changes, FzdState old_state,
                        const char *reason);
        /* The resource list changed (bursts are coalesced into one call). */
        void (*resources_changed)(void *userdata, const FzdManager *m);
        /* The manager is being freed: forget it (an observer may outlive it). */
        void (*detached)(void *userdata);
} FzdManagerObserver;

#define FZD_MANAGER_MAX_OBSERVERS 4

/* The tunnel device is retried this long after it failed to come up. */
#define FZD_MANAGER_TUNNEL_RETRY_USEC (10 * USEC_PER_SEC)
/* How long a burst of resource updates may take before observers hear of it. */
#define FZD_MANAGER_RESOURCES_COALESCE_USEC (25 * USEC_PER_MSEC)

int fzd_manager_new(sd_event *event, const FzdOptions *options, FzdManager **ret);
/* Frees the engine and the OS layer too (which wipes the token and removes the tunnel). */
FzdManager *fzd_manager_free(FzdManager *m);
DEFINE_POINTER_CLEANUP_FUNC(FzdManager, fzd_manager_free);

/* The events the engine and the OS layer must be created with (userdata = the manager). */
const FzdEngineEvents *fzd_manager_engine_events(void);
const FzdOsEvents *fzd_manager_os_events(void);
/* Hand the manager its engine and OS layer; it takes ownership of both. The OS layer is
 * optional (a test, or a run that only talks to the portal). */
void fzd_manager_attach_engine(FzdManager *m, const FzdEngineOps *ops, FzdEngine *engine);
void fzd_manager_attach_os(FzdManager *m, const FzdOsOps *ops, FzdOs *os);
int fzd_manager_add_observer(FzdManager *m, const FzdManagerObserver *observer, void *userdata);
void fzd_manager_remove_observer(FzdManager *m, const FzdManagerObserver *observer, void *userdata);
/* Give the manager the DNS stub (issue #11); it takes ownership. The stub lives as long as
 * the manager: its proxy IPs must stay the same across sessions. */
void fzd_manager_attach_dns_stub(FzdManager *m, FzdDnsStub *stub);

/* Identity of this device for the portal (owned copies). */
int fzd_manager_set_device(FzdManager *m, const char *device_id, const char *device_name);

/* Service-account mode: the token came from the environment, a credential or the token file. */
int fzd_manager_start_service_account(FzdManager *m, FzdTokenSource source, FzdSecret **token);
/* Interactive sign-in (D-Bus SignIn): takes ownership of *token. -EBUSY in
 * service-account mode. */
int fzd_manager_sign_in(FzdManager *m, FzdSecret **token, const char *account_slug, const char *actor_name,
                        const char *api_url);
/* Idempotent. */
void fzd_manager_sign_out(FzdManager *m, const char *reason);
/* -ENOTCONN when signed out. */
int fzd_manager_reconnect(FzdManager *m, const char *reason);
/* SIGHUP: service-account file mode re-reads the token file; otherwise as reconnect. */
int fzd_manager_reload(FzdManager *m);
/* Switch the Internet resource on or off (while the portal grants one, the default route
 * goes through it). -EBUSY in service-account mode (options decide there). */
int fzd_manager_set_internet_resource_enabled(FzdManager *m, bool enabled);

const FzdManagerView *fzd_manager_view(const FzdManager *m);
const FzdResourceTable *fzd_manager_resources(const FzdManager *m);
/* The DNS control mode in use ("systemd-resolved", …; "" if not decided yet). */
const char *fzd_manager_dns_control(const FzdManager *m);
/* The data plane's figures (Status: gateways, rx-bytes, tx-bytes); -ENOTCONN (zeros) while
 * there is none. */
int fzd_manager_connection_stats(const FzdManager *m, FzdConnStats *ret);
