/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus-polkit.h"
#include "engine.h"
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

/* Changes that the bus layer turns into PropertiesChanged/StateChanged. */
typedef enum FzdChange {
        FZD_CHANGE_STATE = 1 << 0,
        FZD_CHANGE_MODE = 1 << 1,
        FZD_CHANGE_ACCOUNT = 1 << 2,
        FZD_CHANGE_INTERFACE = 1 << 3,
        FZD_CHANGE_LAST_ERROR = 1 << 4,
} FzdChange;

typedef struct FzdManager {
        sd_event *event;
        sd_bus *bus; /* NULL with --no-ipc */
        FzdPolkit *polkit;
        const FzdOptions *options;
        char *api_url; /* in effect for the current session */
        char *device_id;
        char *device_name;

        FzdState state;
        FzdMode mode;
        FzdTokenSource token_source;
        char *account_slug;
        char *actor_name;
        char *last_error;
        bool requires_sign_in;
        uint64_t connected_since; /* CLOCK_REALTIME µs, 0 when not connected */
        FzdInterfaceConfig interface_config;
        bool has_interface_config;

        FzdEngine *engine;
        FzdOs *os; /* NULL until fzd_manager_attach_os() */
        FzdDnsStub *dns_stub; /* NULL until fzd_manager_attach_dns_stub() */
        sd_event_source *tunnel_retry_timer;
        bool awaiting_dns; /* "connected" once DNS is in place */
        char *dns_error;
        FzdResourceTable *resources;
        sd_event_source *resources_changed_timer; /* coalesces bursts into one signal */
        uint64_t resources_generation;
} FzdManager;

int fzd_manager_new(sd_event *event, const FzdOptions *options, FzdManager **ret);
FzdManager *fzd_manager_free(FzdManager *m);
DEFINE_POINTER_CLEANUP_FUNC(FzdManager, fzd_manager_free);

/* Give the manager the OS layer (TUN, routes, DNS); it takes ownership. */
void fzd_manager_attach_os(FzdManager *m, FzdOs *os);
const FzdOsEvents *fzd_manager_os_events(void);
/* Give the manager the DNS stub (issue #11); it takes ownership. The stub lives as long as
 * the manager: its proxy IPs must stay the same across sessions. */
void fzd_manager_attach_dns_stub(FzdManager *m, FzdDnsStub *stub);

/* Service-account mode: the token came from the environment or the token file. */
int fzd_manager_start_service_account(FzdManager *m, FzdTokenSource source, FzdSecret **token);

/* Interactive sign-in (D-Bus SignIn): takes ownership of *token. */
int fzd_manager_sign_in(FzdManager *m, FzdSecret **token, const char *account_slug, const char *actor_name,
                        const char *api_url);
/* Idempotent. */
void fzd_manager_sign_out(FzdManager *m, const char *reason);
int fzd_manager_reconnect(FzdManager *m, const char *reason);
/* SIGHUP: service-account file mode re-reads the token file; otherwise as reconnect. */
int fzd_manager_reload(FzdManager *m);

/* For Status and properties: what the OS layer has in place. */
const char *fzd_manager_interface_name(const FzdManager *m); /* NULL while there is no tunnel */
const char *fzd_manager_dns_control(const FzdManager *m);

/* Bus side (bus-api.c); no-ops without a bus. */
int fzd_bus_api_register(FzdManager *m);
void fzd_bus_api_emit_changes(FzdManager *m, FzdChange changes, const char *reason);
void fzd_bus_api_emit_resources_changed(FzdManager *m);
