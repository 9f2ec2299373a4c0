/* SPDX-License-Identifier: Apache-2.0 */
/* The state machine: signed-out → connecting → connected ⇄ reconnecting; any → signed-out.
 * Owns the session (mode, account, last error), the resource table and the engine, and
 * tells the bus layer what changed. */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "config.h"
#include "dnsstub/dns-stub.h"
#include "log.h"
#include "manager.h"

/* How long a burst of resource updates may take before ResourcesChanged goes out. */
#define RESOURCES_COALESCE_USEC (25 * USEC_PER_MSEC)

static const char *const state_names[_FZD_STATE_MAX] = {
        [FZD_STATE_SIGNED_OUT] = "signed-out",
        [FZD_STATE_CONNECTING] = "connecting",
        [FZD_STATE_CONNECTED] = "connected",
        [FZD_STATE_RECONNECTING] = "reconnecting",
};

static const char *const mode_names[_FZD_MODE_MAX] = {
        [FZD_MODE_INTERACTIVE] = "interactive",
        [FZD_MODE_SERVICE_ACCOUNT] = "service-account",
};

const char *fzd_state_to_string(FzdState s) {
        return (unsigned) s < _FZD_STATE_MAX ? state_names[s] : NULL;
}

const char *fzd_mode_to_string(FzdMode m) {
        return (unsigned) m < _FZD_MODE_MAX ? mode_names[m] : NULL;
}

static uint64_t now_realtime_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

static void notify_status(FzdManager *m);

static FzdChange set_last_error(FzdManager *m, const char *error) {
        if (streq_ptr(m->last_error, error) || (isempty(m->last_error) && isempty(error)))
                return 0;
        if (free_and_strdup(&m->last_error, isempty(error) ? NULL : error) < 0)
                log_oom();
        return FZD_CHANGE_LAST_ERROR;
}

static void set_state(FzdManager *m, FzdState state, FzdChange changes, const char *reason) {
        if (m->state != state) {
                log_info("State: %s → %s (%s).", fzd_state_to_string(m->state), fzd_state_to_string(state),
                         strempty(reason));
                m->state = state;
                changes |= FZD_CHANGE_STATE;
                m->connected_since = state == FZD_STATE_CONNECTED ? now_realtime_usec() : 0;
        }
        if (changes) {
                fzd_bus_api_emit_changes(m, changes, reason);
                notify_status(m);
        }
}

static void notify_status(FzdManager *m) {
        /* systemctl status shows it. */
        (void) sd_notifyf(false, "STATUS=%s%s%s", fzd_state_to_string(m->state),
                          m->last_error ? ": " : "", strempty(m->last_error));
}

static void resources_changed(FzdManager *m);
static void dns_stub_sync_all(FzdManager *m);

static void clear_session(FzdManager *m) {
        if (m->engine)
                fzd_engine_stop(m->engine);
        if (m->os)
                fzd_os_tunnel_down(m->os); /* also forgets the routes and the Internet resource */
        (void) sd_event_source_set_enabled(m->tunnel_retry_timer, SD_EVENT_OFF);
        m->awaiting_dns = false;
        m->dns_error = mfree(m->dns_error);
        m->has_interface_config = false;
        memset(&m->interface_config, 0, sizeof m->interface_config);
        if (fzd_resource_table_size(m->resources) > 0) {
                fzd_resource_table_clear(m->resources);
                resources_changed(m);
        }
        dns_stub_sync_all(m);
}

/* ---- the tunnel ------------------------------------------------------------------------- */

/* The route a resource needs, if any. A bad address from the portal is skipped with a log
 * line (the rest is applied). */
static bool resource_route(const FzdResource *r, FzdCidr *ret) {
        if (!r || r->type != FZD_RESOURCE_CIDR)
                return false;
        if (fzd_cidr_parse(strempty(r->address), false, ret) < 0) {
                log_warning("Resource %s has an invalid address, skipping its route.", r->id);
                return false;
        }
        return true;
}

/* Routes for a resource that replaced `old` (either may be NULL). */
static void update_resource_routes(FzdManager *m, const FzdResource *old, const FzdResource *new) {
        FzdCidr a, b;
        bool had = resource_route(old, &a), has = resource_route(new, &b);
        bool was_internet = old && old->type == FZD_RESOURCE_INTERNET;
        bool is_internet = new && new->type == FZD_RESOURCE_INTERNET;

        if (!m->os)
                return;
        if (had && has && fzd_cidr_equal(&a, &b))
                return;
        if (had)
                (void) fzd_os_route_remove(m->os, &a);
        if (has)
                (void) fzd_os_route_add(m->os, &b);
        if (was_internet != is_internet)
                (void) fzd_os_set_internet_resource(m->os, is_internet);
}

/* The routes (and whether the Internet resource is there) of the whole table. */
static int collect_routes(FzdManager *m, FzdCidr **ret, size_t *ret_n, bool *ret_internet) {
        _cleanup_(freep) const FzdResource **v = NULL;
        _cleanup_(freep) FzdCidr *cidrs = NULL;
        size_t n = 0, k = 0;
        bool internet = false;
        int r;

        r = fzd_resource_table_sorted(m->resources, &v, &n);
        if (r < 0)
                return r;
        cidrs = calloc(n ? n : 1, sizeof *cidrs);
        if (!cidrs)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (resource_route(v[i], &cidrs[k]))
                        k++;
                internet = internet || v[i]->type == FZD_RESOURCE_INTERNET;
        }
        *ret = TAKE_PTR(cidrs);
        *ret_n = k;
        *ret_internet = internet;
        return 0;
}

/* Returns < 0 on failure (retried by a timer), 1 if DNS is still being applied (the state
 * becomes "connected" when it is), 0 if the tunnel is ready. */
static int tunnel_up(FzdManager *m) {
        int r;

        if (!m->os)
                return 0;
        r = fzd_os_tunnel_up(m->os, &m->interface_config, NULL);
        if (r > 0)
                m->awaiting_dns = true;
        if (r < 0) {
                _cleanup_(freep) char *msg = NULL;
                if (asprintf(&msg, "Could not set up the tunnel device %s (%s). Retrying; check that /dev/net/tun "
                                   "exists and the service has CAP_NET_ADMIN.",
                             FZD_TUN_NAME, strerror(-r)) < 0)
                        msg = NULL;
                log_error_errno(r, "Failed to set up %s: %m", FZD_TUN_NAME);
                set_state(m, FZD_STATE_RECONNECTING, set_last_error(m, msg), "tunnel-failed");
                /* Try again on our own; the portal connection is fine. */
                if (m->tunnel_retry_timer) {
                        (void) sd_event_source_set_time_relative(m->tunnel_retry_timer, 10 * USEC_PER_SEC);
                        (void) sd_event_source_set_enabled(m->tunnel_retry_timer, SD_EVENT_ONESHOT);
                }
        }
        return r;
}

static int on_tunnel_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        FzdManager *m = userdata;

        if (m->has_interface_config && tunnel_up(m) == 0)
                set_state(m, FZD_STATE_CONNECTED, set_last_error(m, m->dns_error) | FZD_CHANGE_INTERFACE,
                          "tunnel-up");
        return 0;
}

static void on_os_network_changed(void *userdata, const char *what) {
        FzdManager *m = userdata;

        if (m->state == FZD_STATE_CONNECTED || m->state == FZD_STATE_RECONNECTING) {
                log_info("The default route changed (%s); reconnecting to the portal.", what);
                (void) fzd_manager_reconnect(m, "network-changed");
        }
}

static void on_os_dns_applied(void *userdata, const char *message) {
        FzdManager *m = userdata;

        if (free_and_strdup(&m->dns_error, message) < 0)
                log_oom();
        if (m->awaiting_dns) {
                m->awaiting_dns = false;
                set_state(m, FZD_STATE_CONNECTED, set_last_error(m, message), "portal-connected");
        } else if (m->state == FZD_STATE_CONNECTED)
                set_state(m, m->state, set_last_error(m, message), message ? "dns-failed" : "dns-ok");
}

/* ---- the DNS stub (issue #11): the resource table and the OS layer's sentinels feed it ------ */

/* One resource changed: r put (a resource that is no DNS resource any more leaves the stub),
 * or the resource with this id removed (r NULL). */
static void dns_stub_resource_changed(FzdManager *m, const char *id, const FzdResource *r) {
        static const FzdDnsIpStack stacks[_FZD_RESOURCE_IP_STACK_MAX] = {
                [FZD_RESOURCE_IP_STACK_DUAL] = FZD_DNS_IP_STACK_DUAL,
                [FZD_RESOURCE_IP_STACK_IPV4_ONLY] = FZD_DNS_IP_STACK_IPV4_ONLY,
                [FZD_RESOURCE_IP_STACK_IPV6_ONLY] = FZD_DNS_IP_STACK_IPV6_ONLY,
        };

        if (!m->dns_stub)
                return;
        if (r && r->type == FZD_RESOURCE_DNS && (unsigned) r->ip_stack < _FZD_RESOURCE_IP_STACK_MAX) {
                int k = fzd_dns_stub_resource_put(m->dns_stub, r->id, strempty(r->address), stacks[r->ip_stack]);
                if (k == -EINVAL)
                        log_warning("DNS resource %s has a pattern the DNS stub cannot use; its names are not "
                                    "answered locally.", r->id);
                else if (k < 0)
                        log_oom();
        } else
                (void) fzd_dns_stub_resource_remove(m->dns_stub, id);
}

/* The whole table again (after init replaced it, or a sign-out emptied it). */
static void dns_stub_sync_all(FzdManager *m) {
        _cleanup_(freep) const FzdResource **v = NULL;
        size_t n = 0;

        if (!m->dns_stub)
                return;
        fzd_dns_stub_resources_clear(m->dns_stub);
        if (fzd_resource_table_sorted(m->resources, &v, &n) < 0) {
                log_oom();
                return;
        }
        for (size_t i = 0; i < n; i++)
                dns_stub_resource_changed(m, v[i]->id, v[i]);
}

static void on_os_dns_servers_changed(void *userdata, const FzdDnsStubServer *servers, size_t n) {
        FzdManager *m = userdata;

        if (m->dns_stub)
                (void) fzd_dns_stub_set_servers(m->dns_stub, servers, n); /* failures are logged */
}

void fzd_manager_attach_dns_stub(FzdManager *m, FzdDnsStub *stub) {
        fzd_dns_stub_free(m->dns_stub);
        m->dns_stub = stub;
        dns_stub_sync_all(m);
}

static const FzdOsEvents os_events = {
        .network_changed = on_os_network_changed,
        .dns_applied = on_os_dns_applied,
        .dns_servers_changed = on_os_dns_servers_changed,
};

const FzdOsEvents *fzd_manager_os_events(void) {
        return &os_events;
}

void fzd_manager_attach_os(FzdManager *m, FzdOs *os) {
        fzd_os_free(m->os);
        m->os = os;
}

/* ---- engine events ----------------------------------------------------------------------- */

static void on_engine_init(void *userdata, const FzdInterfaceConfig *config, FzdResource *const *resources,
                           size_t n) {
        FzdManager *m = userdata;
        FzdChange changes = FZD_CHANGE_INTERFACE;
        _cleanup_(freep) FzdCidr *old_routes = NULL, *new_routes = NULL;
        size_t n_old = 0, n_new = 0;
        bool old_internet = false, new_internet = false;
        int r;

        m->interface_config = *config;
        m->has_interface_config = true;

        /* init carries the complete list: replace the table. */
        if (m->os && collect_routes(m, &old_routes, &n_old, &old_internet) < 0)
                log_oom();
        fzd_resource_table_clear(m->resources);
        for (size_t i = 0; i < n; i++) {
                FzdResource *copy = NULL;
                /* The engine keeps its array; we keep our own copy. */
                if (fzd_resource_dup(resources[i], &copy) < 0 || fzd_resource_table_put(m->resources, copy, NULL) < 0) {
                        fzd_resource_free(copy);
                        log_oom();
                }
        }
        resources_changed(m);
        dns_stub_sync_all(m);

        /* After a reconnect the tunnel is still up: add the new routes first, then drop the
         * old ones. Routes are counted per prefix, so only real differences reach the
         * kernel and nothing that stays is ever missing. */
        if (m->os && collect_routes(m, &new_routes, &n_new, &new_internet) >= 0) {
                (void) fzd_os_routes_add(m->os, new_routes, n_new);
                for (size_t i = 0; i < n_old; i++)
                        (void) fzd_os_route_remove(m->os, &old_routes[i]);
                if (new_internet != old_internet)
                        (void) fzd_os_set_internet_resource(m->os, new_internet);
        }

        m->requires_sign_in = false;
        r = tunnel_up(m);
        if (r < 0)
                return;
        if (r > 0) { /* connected once DNS is in place (on_os_dns_applied) */
                set_state(m, m->state, changes, "tunnel-up");
                return;
        }
        changes |= set_last_error(m, m->dns_error);
        set_state(m, FZD_STATE_CONNECTED, changes, "portal-connected");
}

static void on_engine_config_changed(void *userdata, const FzdInterfaceConfig *config) {
        FzdManager *m = userdata;

        m->interface_config = *config;
        m->has_interface_config = true;
        if (m->state == FZD_STATE_CONNECTED)
                (void) tunnel_up(m); /* updates addresses and DNS in place */
        set_state(m, m->state, FZD_CHANGE_INTERFACE, "config-changed");
}

static void on_engine_resource_upserted(void *userdata, FzdResource *r) {
        FzdManager *m = userdata;
        _cleanup_(fzd_resource_freep) FzdResource *old = NULL;

        if (fzd_resource_table_put(m->resources, r, &old) < 0) {
                fzd_resource_free(r);
                log_oom();
                return;
        }
        update_resource_routes(m, old, r);
        dns_stub_resource_changed(m, r->id, r);
        resources_changed(m);
}

static void on_engine_resource_deleted(void *userdata, const char *id) {
        FzdManager *m = userdata;
        FzdResource *r = fzd_resource_table_take(m->resources, id);

        if (!r) {
                log_debug("Portal deleted a resource that we do not have, ignoring.");
                return;
        }
        update_resource_routes(m, r, NULL);
        dns_stub_resource_changed(m, id, NULL);
        fzd_resource_free(r);
        resources_changed(m);
}

static void on_engine_reconnecting(void *userdata, const char *error) {
        FzdManager *m = userdata;
        FzdChange changes = set_last_error(m, error);

        /* Before the first connection we are still "connecting"; after it, "reconnecting". */
        set_state(m, m->state == FZD_STATE_CONNECTING ? FZD_STATE_CONNECTING : FZD_STATE_RECONNECTING, changes,
                  "portal-disconnected");
}

static void on_engine_session_ended(void *userdata, const char *error, bool requires_sign_in) {
        FzdManager *m = userdata;
        FzdChange changes = set_last_error(m, error);

        clear_session(m);
        m->requires_sign_in = requires_sign_in;
        if (m->mode == FZD_MODE_INTERACTIVE && (m->account_slug || m->actor_name)) {
                m->account_slug = mfree(m->account_slug);
                m->actor_name = mfree(m->actor_name);
                changes |= FZD_CHANGE_ACCOUNT;
        }
        set_state(m, FZD_STATE_SIGNED_OUT, changes, requires_sign_in ? "token-expired" : "session-ended");
}

static const FzdEngineEvents engine_events = {
        .init = on_engine_init,
        .config_changed = on_engine_config_changed,
        .resource_upserted = on_engine_resource_upserted,
        .resource_deleted = on_engine_resource_deleted,
        .reconnecting = on_engine_reconnecting,
        .session_ended = on_engine_session_ended,
};

/* ---- resources -------------------------------------------------------------------------- */

static int on_resources_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        FzdManager *m = userdata;

        fzd_bus_api_emit_resources_changed(m);
        /* A large list makes a large signal: give the freed pages back to the system. */
        if (fzd_resource_table_size(m->resources) >= 256)
                (void) malloc_trim(0);
        return 0;
}

static void resources_changed(FzdManager *m) {
        int r;

        m->resources_generation++;
        if (m->resources_changed_timer) {
                int enabled = 0;
                (void) sd_event_source_get_enabled(m->resources_changed_timer, &enabled);
                if (enabled != SD_EVENT_OFF)
                        return; /* one signal for the whole burst */
                r = sd_event_source_set_time_relative(m->resources_changed_timer, RESOURCES_COALESCE_USEC);
                if (r >= 0)
                        r = sd_event_source_set_enabled(m->resources_changed_timer, SD_EVENT_ONESHOT);
        } else
                r = sd_event_add_time_relative(m->event, &m->resources_changed_timer, CLOCK_MONOTONIC,
                                               RESOURCES_COALESCE_USEC, 0, on_resources_timer, m);
        if (r < 0) {
                log_warning_errno(r, "Failed to schedule ResourcesChanged, sending it now: %m");
                fzd_bus_api_emit_resources_changed(m);
        }
}

/* ---- sessions --------------------------------------------------------------------------- */

static int start_engine(FzdManager *m, FzdSecret **token) {
        FzdEngineParams params = {
                .api_url = m->api_url,
                .device_id = m->device_id,
                .device_name = m->device_name,
                /* The portal connection must bypass the tunnel's policy rule. */
                .firewall_mark = m->os ? FZD_FIREWALL_MARK : 0,
        };

        return fzd_engine_start(m->engine, &params, token);
}

int fzd_manager_start_service_account(FzdManager *m, FzdTokenSource source, FzdSecret **token) {
        int r;

        m->mode = FZD_MODE_SERVICE_ACCOUNT;
        m->token_source = source;
        r = start_engine(m, token);
        if (r < 0)
                return log_error_errno(r, "Failed to start the portal connection: %m");
        set_state(m, FZD_STATE_CONNECTING, FZD_CHANGE_MODE, "service-account");
        return 0;
}

int fzd_manager_sign_in(FzdManager *m, FzdSecret **token, const char *account_slug, const char *actor_name,
                        const char *api_url) {
        FzdChange changes = 0;
        int r;

        if (m->mode == FZD_MODE_SERVICE_ACCOUNT)
                return -EBUSY;

        /* A new sign-in replaces the previous interactive session. */
        if (m->state != FZD_STATE_SIGNED_OUT)
                clear_session(m);

        r = free_and_strdup(&m->api_url, api_url ?: (m->options->api_url ?: FZ_DEFAULT_API_URL));
        if (r < 0)
                return r;
        if (!streq_ptr(m->account_slug, account_slug) || !streq_ptr(m->actor_name, actor_name)) {
                if (free_and_strdup(&m->account_slug, isempty(account_slug) ? NULL : account_slug) < 0 ||
                    free_and_strdup(&m->actor_name, isempty(actor_name) ? NULL : actor_name) < 0)
                        return -ENOMEM;
                changes |= FZD_CHANGE_ACCOUNT;
        }
        m->token_source = FZD_TOKEN_SOURCE_IPC;
        m->requires_sign_in = false;
        changes |= set_last_error(m, NULL);

        r = start_engine(m, token);
        if (r < 0) {
                set_last_error(m, "Could not start the connection to the portal. Try signing in again.");
                set_state(m, FZD_STATE_SIGNED_OUT, changes | FZD_CHANGE_LAST_ERROR, "sign-in-failed");
                return r;
        }
        log_info("Signed in%s%s; connecting to %s.", account_slug ? " to account " : "", strempty(account_slug),
                 m->api_url);
        set_state(m, FZD_STATE_CONNECTING, changes, "sign-in");
        return 0;
}

void fzd_manager_sign_out(FzdManager *m, const char *reason) {
        FzdChange changes = 0;

        clear_session(m);
        if (m->account_slug || m->actor_name) {
                m->account_slug = mfree(m->account_slug);
                m->actor_name = mfree(m->actor_name);
                changes |= FZD_CHANGE_ACCOUNT;
        }
        changes |= set_last_error(m, NULL);
        m->requires_sign_in = false;
        if (m->token_source == FZD_TOKEN_SOURCE_IPC)
                m->token_source = FZD_TOKEN_SOURCE_NONE;
        set_state(m, FZD_STATE_SIGNED_OUT, changes, reason);
}

int fzd_manager_reconnect(FzdManager *m, const char *reason) {
        int r;

        if (m->state == FZD_STATE_SIGNED_OUT)
                return -ENOTCONN;
        r = fzd_engine_reconnect(m->engine);
        if (r < 0)
                return r;
        if (m->state == FZD_STATE_CONNECTED)
                set_state(m, FZD_STATE_RECONNECTING, 0, reason);
        return 0;
}

int fzd_manager_reload(FzdManager *m) {
        _cleanup_(fzd_secret_freep) FzdSecret *token = NULL;
        int r;

        if (m->mode != FZD_MODE_SERVICE_ACCOUNT || m->token_source != FZD_TOKEN_SOURCE_FILE) {
                log_info("SIGHUP: reconnecting.");
                r = fzd_manager_reconnect(m, "reload");
                return r == -ENOTCONN ? 0 : r;
        }

        r = fzd_token_read_file(FZ_TOKEN_PATH, &token);
        if (r <= 0) {
                /* Removed or unusable: stop using the old one too (fail closed). */
                const char *why = r == 0 ? "The service-account token file " FZ_TOKEN_PATH " was removed. "
                                           "Write a new token to it and send SIGHUP (systemctl reload firezone-client)."
                                         : "The service-account token file " FZ_TOKEN_PATH " is unusable (see the log). "
                                           "Fix it and send SIGHUP (systemctl reload firezone-client).";
                FzdChange changes;

                clear_session(m);
                changes = set_last_error(m, why);
                set_state(m, FZD_STATE_SIGNED_OUT, changes, "token-file-invalid");
                return r < 0 ? r : -ENOENT;
        }

        log_info("SIGHUP: re-read the token file; reconnecting.");
        if (fzd_engine_is_running(m->engine))
                r = fzd_engine_replace_token(m->engine, &token);
        else
                r = start_engine(m, &token);
        if (r < 0)
                return log_error_errno(r, "Failed to reconnect with the new token: %m");
        set_state(m, m->state == FZD_STATE_SIGNED_OUT ? FZD_STATE_CONNECTING
                     : m->state == FZD_STATE_CONNECTED ? FZD_STATE_RECONNECTING
                                                       : m->state,
                  set_last_error(m, NULL), "reload");
        return 0;
}

const char *fzd_manager_interface_name(const FzdManager *m) {
        return m->os ? fzd_os_interface_name(m->os) : NULL;
}

const char *fzd_manager_dns_control(const FzdManager *m) {
        if (m->os)
                return fzd_os_dns_control(m->os);
        return m->options->dns_control == FZD_DNS_CONTROL_AUTO ? "" : fzd_dns_control_to_string(m->options->dns_control);
}

int fzd_manager_new(sd_event *event, const FzdOptions *options, FzdManager **ret) {
        _cleanup_(fzd_manager_freep) FzdManager *m = NULL;
        int r;

        m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        m->event = sd_event_ref(event);
        m->options = options;
        m->state = FZD_STATE_SIGNED_OUT;
        m->mode = FZD_MODE_INTERACTIVE;
        m->api_url = strdup(options->api_url ?: FZ_DEFAULT_API_URL);
        if (!m->api_url)
                return -ENOMEM;

        r = fzd_resource_table_new(&m->resources);
        if (r < 0)
                return r;
        r = fzd_engine_new(event, &engine_events, m, &m->engine);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(event, &m->tunnel_retry_timer, CLOCK_MONOTONIC, 10 * USEC_PER_SEC, 0,
                                       on_tunnel_retry, m);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(m->tunnel_retry_timer, SD_EVENT_OFF);

        *ret = TAKE_PTR(m);
        return 0;
}

FzdManager *fzd_manager_free(FzdManager *m) {
        if (!m)
                return NULL;
        fzd_engine_free(m->engine); /* wipes the token */
        fzd_dns_stub_free(m->dns_stub); /* before os: it made the stub's sockets */
        fzd_os_free(m->os);        /* reverts DNS, removes the tunnel */
        sd_event_source_disable_unref(m->tunnel_retry_timer);
        free(m->dns_error);
        fzd_resource_table_free(m->resources);
        sd_event_source_disable_unref(m->resources_changed_timer);
        fzd_polkit_free(m->polkit);
        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);
        free(m->api_url);
        free(m->device_id);
        free(m->device_name);
        free(m->account_slug);
        free(m->actor_name);
        free(m->last_error);
        free(m);
        return NULL;
}
