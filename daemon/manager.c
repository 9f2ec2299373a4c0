/* SPDX-License-Identifier: Apache-2.0 */
/* The model (manager.h): facts → one derived view → one change set for the observers.
 *
 * Event handlers change facts only. commit() is the one place that derives the view,
 * compares it with the published one, runs entry and exit actions and tells the
 * observers. Nothing else writes the view, so no handler can publish a state its facts do
 * not support (e.g. "connected" while the portal connection is down). */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "connections/connections.h"
#include "dnsstub/dns-stub.h"
#include "fz-names.h"
#include "log.h"
#include "manager.h"
#include "manager-private.h"
#include "message-ids.h"

typedef enum PortalPhase {
        PORTAL_IDLE,       /* no session */
        PORTAL_CONNECTING, /* started, or reconnecting on request: no error to show */
        PORTAL_RETRYING,   /* the connection failed; the engine retries (portal_error) */
        PORTAL_UP,         /* "init" received */
} PortalPhase;

typedef enum TunnelPhase {
        TUNNEL_DOWN,
        TUNNEL_UP,
        TUNNEL_FAILED, /* retried by a timer while the portal is up (tunnel_error) */
} TunnelPhase;

typedef enum DnsPhase {
        DNS_NONE,     /* nothing to wait for (no tunnel, or DNS control disabled) */
        DNS_APPLYING, /* "connected" waits for it */
        DNS_DONE,     /* applied, or failed (dns_error) */
} DnsPhase;

typedef struct Observer {
        const FzdManagerObserver *ops;
        void *userdata;
} Observer;

struct FzdManager {
        sd_event *event;
        const FzdOptions *options;
        char *device_id, *device_name;

        const FzdEngineOps *engine_ops;
        FzdEngine *engine;
        const FzdOsOps *os_ops;
        FzdOs *os;            /* NULL: no tunnel (tests, portal only) */
        FzdDnsStub *dns_stub; /* NULL: no DNS stub (tests) */

        /* Connections to gateways (DESIGN §7.2–7.4): while the tunnel is up in a session. */
        FzdConnections *conns;
        int udp_fd[2];
        FzdRelay relays[16]; /* the portal's current set */
        size_t n_relays;

        Observer observers[FZD_MANAGER_MAX_OBSERVERS];
        size_t n_observers;

        /* ---- facts ---- */
        bool session; /* a token is in use: the engine runs */
        FzdMode mode;
        FzdTokenSource token_source;
        char *api_url; /* of the current session */
        char *account_slug, *actor_name;
        bool ever_connected; /* this session has been "connected" */
        FzdError end_error;  /* why the last session ended (shown while signed out) */

        PortalPhase portal;
        FzdError portal_error;
        bool has_config;
        FzdInterfaceConfig config;
        FzdResourceTable *resources;
        size_t n_internet;     /* Internet resources in the table (0 or 1 in practice) */
        bool internet_enabled; /* the user's (or the options') choice */
        bool internet_routed;  /* what the OS layer has: default routes in our table */

        TunnelPhase tunnel;
        FzdError tunnel_error;
        DnsPhase dns;
        FzdError dns_error;

        /* ---- published ---- */
        FzdManagerView view;
        bool committing;

        sd_event_source *tunnel_retry_timer;
        uint64_t tunnel_retry_usec;
        sd_event_source *resources_changed_timer; /* coalesces bursts into one call */
};

static const char *const state_names[_FZD_STATE_MAX] = {
        [FZD_STATE_SIGNED_OUT] = FZ_STATE_SIGNED_OUT,
        [FZD_STATE_CONNECTING] = FZ_STATE_CONNECTING,
        [FZD_STATE_CONNECTED] = FZ_STATE_CONNECTED,
        [FZD_STATE_RECONNECTING] = FZ_STATE_RECONNECTING,
};

static const char *const mode_names[_FZD_MODE_MAX] = {
        [FZD_MODE_INTERACTIVE] = FZ_MODE_INTERACTIVE,
        [FZD_MODE_SERVICE_ACCOUNT] = FZ_MODE_SERVICE_ACCOUNT,
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

static const char *const state_message_ids[_FZD_STATE_MAX] = {
        [FZD_STATE_SIGNED_OUT] = FZD_MESSAGE_SIGNED_OUT,
        [FZD_STATE_CONNECTING] = FZD_MESSAGE_CONNECTING,
        [FZD_STATE_CONNECTED] = FZD_MESSAGE_CONNECTED,
        [FZD_STATE_RECONNECTING] = FZD_MESSAGE_RECONNECTING,
};

/* ---- derivation ------------------------------------------------------------------------- */

static FzdState derive_state(const FzdManager *m) {
        if (!m->session)
                return FZD_STATE_SIGNED_OUT;
        if (m->portal == PORTAL_UP && (m->tunnel == TUNNEL_UP || !m->os) && m->dns != DNS_APPLYING)
                return FZD_STATE_CONNECTED;
        return m->ever_connected ? FZD_STATE_RECONNECTING : FZD_STATE_CONNECTING;
}

/* The one error to show: what keeps the session from working, most fundamental first. */
static FzdError derive_last_error(const FzdManager *m) {
        if (!m->session)
                return m->end_error;
        if (m->portal == PORTAL_RETRYING)
                return m->portal_error;
        if (m->tunnel == TUNNEL_FAILED)
                return m->tunnel_error;
        if (m->dns == DNS_DONE && fzd_error_is_set(&m->dns_error))
                return m->dns_error;
        return FZD_ERROR_NULL;
}

static void derive_view(const FzdManager *m, FzdManagerView *v) {
        *v = (FzdManagerView){
                .state = derive_state(m),
                .mode = m->mode,
                .last_error = derive_last_error(m),
                .requires_sign_in =
                        !m->session && fzd_error_kind(m->end_error.code) == FZD_ERROR_KIND_NEEDS_SIGN_IN,
                .connected_since = m->view.connected_since,
                .internet_resource_enabled = m->internet_enabled,
        };
        (void) snprintf(v->account_slug, sizeof v->account_slug, "%s", strempty(m->account_slug));
        (void) snprintf(v->actor_name, sizeof v->actor_name, "%s", strempty(m->actor_name));
        if (m->os && m->tunnel == TUNNEL_UP)
                (void) snprintf(v->interface_name, sizeof v->interface_name, "%s",
                                strempty(m->os_ops->interface_name(m->os)));
        if (m->session && m->has_config) {
                v->has_ipv4 = m->config.has_ipv4;
                v->has_ipv6 = m->config.has_ipv6;
                v->ipv4 = m->config.ipv4;
                v->ipv6 = m->config.ipv6;
        }
}

static FzdChange diff_views(const FzdManagerView *a, const FzdManagerView *b) {
        FzdChange c = 0;

        if (a->state != b->state)
                c |= FZD_CHANGE_STATE;
        if (a->mode != b->mode)
                c |= FZD_CHANGE_MODE;
        if (!streq(a->account_slug, b->account_slug) || !streq(a->actor_name, b->actor_name))
                c |= FZD_CHANGE_ACCOUNT;
        if (!streq(a->interface_name, b->interface_name) || a->has_ipv4 != b->has_ipv4 ||
            a->has_ipv6 != b->has_ipv6 || memcmp(&a->ipv4, &b->ipv4, sizeof a->ipv4) != 0 ||
            memcmp(&a->ipv6, &b->ipv6, sizeof a->ipv6) != 0)
                c |= FZD_CHANGE_INTERFACE;
        if (!fzd_error_equal(&a->last_error, &b->last_error))
                c |= FZD_CHANGE_LAST_ERROR;
        if (a->requires_sign_in != b->requires_sign_in)
                c |= FZD_CHANGE_REQUIRES_SIGN_IN;
        if (a->internet_resource_enabled != b->internet_resource_enabled)
                c |= FZD_CHANGE_INTERNET_RESOURCE;
        return c;
}

static void dns_stub_sync_all(FzdManager *m);
static void connections_start(FzdManager *m);
static void connections_stop(FzdManager *m);
static void connections_load_resources(FzdManager *m);
static void dns_stub_resource_changed(FzdManager *m, const char *id, const FzdResource *r);

/* ---- the commit step ---------------------------------------------------------------------- */

static void arm_timer(sd_event_source *s, bool want, uint64_t usec) {
        int enabled = SD_EVENT_OFF;

        if (!s)
                return;
        (void) sd_event_source_get_enabled(s, &enabled);
        if (!want) {
                if (enabled != SD_EVENT_OFF)
                        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
                return;
        }
        if (enabled != SD_EVENT_OFF)
                return; /* keep the deadline it has */
        if (sd_event_source_set_time_relative(s, usec) < 0 ||
            sd_event_source_set_enabled(s, SD_EVENT_ONESHOT) < 0)
                log_warning("Failed to arm a timer, ignoring.");
}

/* Derive, diff, act, publish. Re-entrant calls (an observer or an action changing facts)
 * are folded into the running one. */
static void commit(FzdManager *m, const char *reason) {
        FzdManagerView old = m->view, new;
        FzdChange changes;

        if (m->committing)
                return;
        m->committing = true;

        derive_view(m, &new);
        /* Entry and exit actions. */
        if (new.state == FZD_STATE_CONNECTED && old.state != FZD_STATE_CONNECTED) {
                new.connected_since = now_realtime_usec();
                m->ever_connected = true;
        } else if (new.state != FZD_STATE_CONNECTED)
                new.connected_since = 0;
        arm_timer(m->tunnel_retry_timer, m->session && m->portal == PORTAL_UP && m->tunnel == TUNNEL_FAILED,
                  m->tunnel_retry_usec);

        changes = diff_views(&old, &new);
        m->view = new;
        if (changes & FZD_CHANGE_STATE)
                log_struct(LOG_INFO, state_message_ids[new.state],
                           FZD_LOG_FIELDS({ "FIREZONE_STATE", fzd_state_to_string(new.state) },
                                          { "FIREZONE_PREVIOUS_STATE", fzd_state_to_string(old.state) },
                                          { "FIREZONE_REASON", reason },
                                          { "FIREZONE_MODE", fzd_mode_to_string(new.mode) },
                                          /* on sign-out, the account that was signed out of */
                                          { "FIREZONE_ACCOUNT", new.account_slug[0] ? new.account_slug
                                                                                    : old.account_slug }),
                           "State: %s → %s (%s).", fzd_state_to_string(old.state), fzd_state_to_string(new.state),
                           strempty(reason));
        if (changes)
                for (size_t i = 0; i < m->n_observers; i++)
                        if (m->observers[i].ops->changed)
                                m->observers[i].ops->changed(m->observers[i].userdata, m, changes, old.state,
                                                             reason);
        m->committing = false;
}

/* ---- resources -------------------------------------------------------------------------- */

static void notify_resources(FzdManager *m) {
        for (size_t i = 0; i < m->n_observers; i++)
                if (m->observers[i].ops->resources_changed)
                        m->observers[i].ops->resources_changed(m->observers[i].userdata, m);
        /* A large list makes a large signal: give the freed pages back to the system. */
        if (fzd_resource_table_size(m->resources) >= 256)
                (void) malloc_trim(0);
}

static int on_resources_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        notify_resources(userdata);
        /* A big list (an init with thousands of resources: its parse, the signal) leaves the
         * heap full of free blocks; give them back. */
        (void) malloc_trim(0);
        return 0;
}

static void resources_changed(FzdManager *m) {
        int enabled = SD_EVENT_OFF;

        (void) sd_event_source_get_enabled(m->resources_changed_timer, &enabled);
        if (enabled != SD_EVENT_OFF)
                return; /* one call for the whole burst */
        if (sd_event_source_set_time_relative(m->resources_changed_timer,
                                              FZD_MANAGER_RESOURCES_COALESCE_USEC) < 0 ||
            sd_event_source_set_enabled(m->resources_changed_timer, SD_EVENT_ONESHOT) < 0) {
                log_warning("Failed to schedule the resources-changed notification, sending it now.");
                notify_resources(m);
        }
}

/* ---- routes ----------------------------------------------------------------------------- */

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

static bool is_internet(const FzdResource *r) {
        return r && r->type == FZD_RESOURCE_INTERNET;
}

/* The default routes of the Internet resource: in place while the portal grants one and
 * it is switched on. */
static void sync_internet_route(FzdManager *m) {
        bool want = m->os && m->n_internet > 0 && m->internet_enabled;

        if (want == m->internet_routed)
                return;
        if (m->os_ops->set_internet_resource(m->os, want) >= 0)
                m->internet_routed = want;
}

/* Routes for a resource that replaced `old` (either may be NULL). */
static void update_resource_routes(FzdManager *m, const FzdResource *old, const FzdResource *new) {
        FzdCidr a, b;
        bool had = resource_route(old, &a), has = resource_route(new, &b);

        m->n_internet = m->n_internet - is_internet(old) + is_internet(new);
        if (!m->os)
                return;
        sync_internet_route(m);
        if (had && has && fzd_cidr_equal(&a, &b))
                return;
        if (had)
                (void) m->os_ops->route_remove(m->os, &a);
        if (has)
                (void) m->os_ops->route_add(m->os, &b);
}

/* The routes of the whole table (in no particular order: the OS layer counts them). */
static int collect_routes(FzdManager *m, FzdCidr **ret, size_t *ret_n) {
        _cleanup_(freep) FzdCidr *cidrs = NULL;
        const FzdResource *r;
        size_t n = fzd_resource_table_size(m->resources), k = 0, i = 0;

        cidrs = calloc(n ? n : 1, sizeof *cidrs);
        if (!cidrs)
                return -ENOMEM;
        while ((r = fzd_resource_table_next(m->resources, &i)) && k < n)
                if (resource_route(r, &cidrs[k]))
                        k++;
        *ret = TAKE_PTR(cidrs);
        *ret_n = k;
        return 0;
}

/* Replace the resource table with the portal's complete list (the table takes the
 * resources; what it cannot take stays in the array for the engine to free). After a
 * reconnect the tunnel is still up: the new routes go in first, then the old ones out.
 * Routes are counted per prefix, so only real differences reach the kernel and nothing that
 * stays is ever missing. */
static void replace_resources(FzdManager *m, FzdResource **resources, size_t n) {
        _cleanup_(freep) FzdCidr *old_routes = NULL, *new_routes = NULL;
        size_t n_old = 0, n_new = 0;

        if (m->os && collect_routes(m, &old_routes, &n_old) < 0)
                log_oom();
        fzd_resource_table_clear(m->resources);
        (void) fzd_resource_table_reserve(m->resources, n); /* or it grows */
        m->n_internet = 0;
        for (size_t i = 0; i < n; i++) {
                FzdResource *old = NULL;
                if (fzd_resource_table_put(m->resources, resources[i], &old) < 0) {
                        log_oom();
                        continue;
                }
                m->n_internet = m->n_internet - is_internet(old) + is_internet(resources[i]);
                resources[i] = NULL;
                fzd_resource_free(old);
        }
        dns_stub_sync_all(m);
        connections_load_resources(m);
        resources_changed(m);

        if (m->os && collect_routes(m, &new_routes, &n_new) >= 0) {
                (void) m->os_ops->routes_add(m->os, new_routes, n_new);
                for (size_t i = 0; i < n_old; i++)
                        (void) m->os_ops->route_remove(m->os, &old_routes[i]);
        }
        if (m->os)
                sync_internet_route(m);
}

/* ---- the tunnel ------------------------------------------------------------------------- */

/* Bring the tunnel up (or update it) with the current configuration; sets the tunnel and
 * DNS facts. The caller commits. */
static void tunnel_up(FzdManager *m) {
        int r;

        if (!m->os || !m->has_config)
                return;
        r = m->os_ops->tunnel_up(m->os, &m->config);
        if (r < 0) {
                log_error_errno(r, "Failed to set up %s: %m", FZD_TUN_NAME);
                m->tunnel = TUNNEL_FAILED;
                m->tunnel_error = fzd_error_make(FZD_ERR_TUNNEL_DEVICE, r);
                m->tunnel_error.retry_usec = m->tunnel_retry_usec;
                fzd_error_set_subject(&m->tunnel_error, FZD_TUN_NAME);
                return;
        }
        m->tunnel = TUNNEL_UP;
        m->tunnel_error = FZD_ERROR_NULL;
        connections_start(m);
        if (r > 0) /* DNS is being applied: on_os_dns_applied() follows */
                m->dns = DNS_APPLYING;
        else {
                m->dns = DNS_NONE;
                m->dns_error = FZD_ERROR_NULL;
        }
}

static int on_tunnel_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        FzdManager *m = userdata;

        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        if (m->session && m->portal == PORTAL_UP && m->tunnel == TUNNEL_FAILED)
                tunnel_up(m);
        commit(m, "tunnel-retry");
        return 0;
}

static void on_os_network_changed(void *userdata, const char *what) {
        FzdManager *m = userdata;

        if (m->session && m->ever_connected) {
                log_info("The network changed (%s); reconnecting to the portal and looking for new paths to gateways.",
                         what);
                (void) fzd_manager_reconnect(m, "network-changed");
        }
}

static void on_os_dns_applied(void *userdata, const FzdError *error) {
        FzdManager *m = userdata;

        if (!m->session || m->tunnel != TUNNEL_UP)
                return; /* an answer for a tunnel that is gone */
        m->dns = DNS_DONE;
        m->dns_error = error ? *error : FZD_ERROR_NULL;
        commit(m, error ? "dns-failed" : "dns-applied");
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

/* The whole table again (after init replaced it, or a sign-out emptied it). In table order:
 * the stub's answers do not depend on the order (ties between patterns go by id). */
static void dns_stub_sync_all(FzdManager *m) {
        const FzdResource *r;
        size_t i = 0, n = 0;

        if (!m->dns_stub)
                return;
        fzd_dns_stub_resources_clear(m->dns_stub);
        while ((r = fzd_resource_table_next(m->resources, &i)))
                n += r->type == FZD_RESOURCE_DNS;
        (void) fzd_dns_stub_resources_reserve(m->dns_stub, n); /* or it grows */
        i = 0;
        while ((r = fzd_resource_table_next(m->resources, &i)))
                dns_stub_resource_changed(m, r->id, r);
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

/* ---- engine events ----------------------------------------------------------------------- */

static void on_engine_init(void *userdata, const FzdInterfaceConfig *config, FzdResource **resources, size_t n) {
        FzdManager *m = userdata;

        if (!m->session)
                return;
        m->config = *config;
        m->has_config = true;
        replace_resources(m, resources, n);
        m->portal = PORTAL_UP;
        m->portal_error = FZD_ERROR_NULL;
        tunnel_up(m);
        if (m->conns)
                fzd_connections_portal_up(m->conns);
        commit(m, "portal-connected");
}

static void on_engine_config_changed(void *userdata, const FzdInterfaceConfig *config) {
        FzdManager *m = userdata;

        if (!m->session)
                return;
        m->config = *config;
        m->has_config = true;
        if (m->portal == PORTAL_UP)
                tunnel_up(m); /* updates addresses and DNS in place */
        commit(m, "config-changed");
}

static void on_engine_resource_upserted(void *userdata, FzdResource *r) {
        FzdManager *m = userdata;
        _cleanup_(fzd_resource_freep) FzdResource *old = NULL;
        int k;

        k = fzd_resource_table_put(m->resources, r, &old);
        if (k < 0) {
                if (k == -E2BIG)
                        log_debug("Ignoring new resource %s: the table is full.", r->id);
                else
                        log_oom();
                fzd_resource_free(r);
                return;
        }
        if (!old && fzd_resource_table_size(m->resources) == FZD_RESOURCE_TABLE_MAX)
                log_warning("The portal has granted %u resources, the most this client keeps; it ignores new "
                            "ones until some are deleted.",
                            FZD_RESOURCE_TABLE_MAX);
        dns_stub_resource_changed(m, r->id, r);
        if (m->conns && fzd_connections_resource_upsert(m->conns, r) < 0)
                log_oom();
        update_resource_routes(m, old, r);
        resources_changed(m);
}

static void on_engine_resource_deleted(void *userdata, const char *id) {
        FzdManager *m = userdata;
        _cleanup_(fzd_resource_freep) FzdResource *r = fzd_resource_table_take(m->resources, id);

        if (!r) {
                log_debug("Portal deleted a resource that we do not have, ignoring.");
                return;
        }
        dns_stub_resource_changed(m, id, NULL);
        if (m->conns)
                fzd_connections_resource_remove(m->conns, id);
        update_resource_routes(m, r, NULL);
        resources_changed(m);
}

static void on_engine_reconnecting(void *userdata, const FzdError *error) {
        FzdManager *m = userdata;

        if (!m->session)
                return;
        /* The tunnel stays up across the reconnect; the state says we are not connected. */
        m->portal = PORTAL_RETRYING;
        m->portal_error = *error;
        commit(m, "portal-disconnected");
}

/* Forget the session's connection facts and take the tunnel down. */
static void clear_connection(FzdManager *m) {
        connections_stop(m); /* before the TUN goes */
        m->n_relays = 0;
        explicit_bzero(m->relays, sizeof m->relays);
        if (m->session)
                m->engine_ops->stop(m->engine);
        if (m->os)
                m->os_ops->tunnel_down(m->os); /* also forgets the routes and the Internet resource */
        m->internet_routed = false;
        m->n_internet = 0;
        m->session = false;
        m->ever_connected = false;
        m->portal = PORTAL_IDLE;
        m->portal_error = FZD_ERROR_NULL;
        m->has_config = false;
        memset(&m->config, 0, sizeof m->config);
        m->tunnel = TUNNEL_DOWN;
        m->tunnel_error = FZD_ERROR_NULL;
        m->dns = DNS_NONE;
        m->dns_error = FZD_ERROR_NULL;
        if (fzd_resource_table_size(m->resources) > 0) {
                fzd_resource_table_clear(m->resources);
                dns_stub_sync_all(m);
                resources_changed(m);
        }
}

static void forget_account(FzdManager *m) {
        m->account_slug = mfree(m->account_slug);
        m->actor_name = mfree(m->actor_name);
}

static void on_engine_session_ended(void *userdata, const FzdError *error) {
        FzdManager *m = userdata;
        bool needs_sign_in = fzd_error_kind(error->code) == FZD_ERROR_KIND_NEEDS_SIGN_IN;

        clear_connection(m);
        m->end_error = *error;
        if (m->mode == FZD_MODE_INTERACTIVE)
                forget_account(m);
        commit(m, needs_sign_in ? "token-expired" : "session-ended");
}

/* ---- connections to gateways (DESIGN §7.2–7.4) --------------------------------------------- */

/* The status of every resource from the connections' view of sites and gateways. */
static void sync_resource_status(FzdManager *m) {
        const FzdResource *r;
        bool changed = false;
        size_t i = 0;

        if (!m->conns)
                return;
        while ((r = fzd_resource_table_next(m->resources, &i))) {
                FzdResourceStatus s = fzd_connections_resource_status(m->conns, r->id);
                if (r->status != s) {
                        ((FzdResource *) r)->status = s;
                        changed = true;
                }
        }
        if (changed)
                resources_changed(m);
}

static void portal_sent(const char *what, int r) {
        if (r < 0)
                log_debug_errno(r, "Could not send %s to the portal (it is asked again later): %m", what);
}

static void on_conn_request_authorization(void *userdata, const char *resource_id, const char *const *gateways,
                                          size_t n) {
        FzdManager *m = userdata;

        if (m->engine_ops->request_authorization)
                portal_sent("request_authorization",
                            m->engine_ops->request_authorization(m->engine, resource_id, gateways, n));
}

static void on_conn_candidates(void *userdata, const char *gateway_id, const char *const *candidates, size_t n,
                               bool invalidate) {
        FzdManager *m = userdata;

        if (m->engine_ops->send_candidates)
                portal_sent("candidates", m->engine_ops->send_candidates(m->engine, gateway_id, candidates, n, invalidate));
}

static void on_conn_no_relays(void *userdata) {
        FzdManager *m = userdata;

        if (m->engine_ops->no_relays)
                portal_sent("no_relays", m->engine_ops->no_relays(m->engine));
}

static void on_conn_status_changed(void *userdata) {
        sync_resource_status(userdata);
}

static bool resource_known(void *userdata, const char *id) {
        FzdManager *m = userdata;
        return fzd_resource_table_get(m->resources, id) != NULL;
}

/* Hand the connections the whole resource table (after init, or when they start). By name,
 * so that of two resources with the same prefix the same one routes on every start. */
static void connections_load_resources(FzdManager *m) {
        _cleanup_(freep) const FzdResource **v = NULL;
        size_t n = 0;

        if (!m->conns)
                return;
        fzd_connections_resources_retain(m->conns, resource_known, m);
        if (fzd_resource_table_sorted(m->resources, &v, &n) < 0) {
                log_oom();
                return;
        }
        (void) fzd_connections_resources_reserve(m->conns, n); /* or it grows */
        for (size_t i = 0; i < n; i++)
                if (fzd_connections_resource_upsert(m->conns, v[i]) < 0)
                        log_oom();
        sync_resource_status(m);
}

/* Starts the data plane once the tunnel is up (and the engine has the session's key). */
static void connections_start(FzdManager *m) {
        static const FzdConnEvents events = {
                .request_authorization = on_conn_request_authorization,
                .candidates = on_conn_candidates,
                .no_relays = on_conn_no_relays,
                .status_changed = on_conn_status_changed,
        };
        uint8_t key[32];
        FzdConnParams p = {
                .tun_vnet_hdr = true,
                .udp4_fd = -EBADF,
                .udp6_fd = -EBADF,
                .private_key = key,
                .proxy_ips = m->dns_stub ? fzd_dns_stub_proxy_ips(m->dns_stub) : NULL,
                .tun_name = FZD_TUN_NAME,
        };
        int r;

        if (m->conns) {
                fzd_connections_set_interface(m->conns, &m->config);
                return;
        }
        if (!m->os || !m->os_ops->tun_fd || (p.tun_fd = m->os_ops->tun_fd(m->os)) < 0)
                return; /* no TUN of ours (tests): no data plane */
        if (!m->engine_ops->private_key || m->engine_ops->private_key(m->engine, key) < 0) {
                log_warning("The session has no key yet; the data plane starts with the next configuration.");
                return;
        }
        for (int f = 0; f < 2; f++) {
                int family = f ? AF_INET6 : AF_INET;
                if (!(f ? m->config.has_ipv6 : m->config.has_ipv4))
                        continue;
                if (m->os_ops->open_udp(m->os, family, &m->udp_fd[f]) < 0)
                        m->udp_fd[f] = -EBADF;
        }
        p.udp4_fd = m->udp_fd[0];
        p.udp6_fd = m->udp_fd[1];
        r = p.udp4_fd >= 0 || p.udp6_fd >= 0 ? fzd_connections_new(m->event, &p, &events, m, &m->conns) : -ENETDOWN;
        explicit_bzero(key, sizeof key);
        if (r < 0) {
                log_error_errno(r, "Failed to start the connections to gateways; resources are unreachable: %m");
                connections_stop(m);
                return;
        }
        fzd_connections_set_interface(m->conns, &m->config);
        fzd_connections_set_internet_enabled(m->conns, m->internet_enabled);
        for (size_t i = 0; i < m->n_relays; i++)
                fzd_connections_relay_upsert(m->conns, &m->relays[i]);
        connections_load_resources(m);
}

static void connections_stop(FzdManager *m) {
        m->conns = fzd_connections_free(m->conns);
        for (int f = 0; f < 2; f++)
                m->udp_fd[f] = safe_close(m->udp_fd[f]);
}

static void on_engine_relays(void *userdata, const FzdRelay *relays, size_t n, const char *const *removed,
                             size_t n_removed, bool replace_all) {
        FzdManager *m = userdata;

        /* Keep the set: connections made later (the tunnel comes up after init) need it. */
        for (size_t i = 0; i < m->n_relays; i++) {
                bool gone = replace_all;
                for (size_t k = 0; k < n_removed; k++)
                        gone = gone || streq(m->relays[i].id, removed[k]);
                for (size_t k = 0; k < n && replace_all; k++)
                        if (streq(relays[k].id, m->relays[i].id))
                                gone = false;
                if (!gone)
                        continue;
                if (m->conns)
                        fzd_connections_relay_remove(m->conns, m->relays[i].id);
                m->relays[i] = m->relays[--m->n_relays];
                i--;
        }
        for (size_t k = 0; k < n; k++) {
                size_t i;
                for (i = 0; i < m->n_relays; i++)
                        if (streq(m->relays[i].id, relays[k].id) &&
                            m->relays[i].addr.ss_family == relays[k].addr.ss_family)
                                break;
                if (i == m->n_relays) {
                        if (m->n_relays == ELEMENTSOF(m->relays))
                                continue;
                        m->n_relays++;
                }
                m->relays[i] = relays[k];
                if (m->conns)
                        fzd_connections_relay_upsert(m->conns, &relays[k]);
        }
}

static void on_engine_authorization_created(void *userdata, const FzdAuthorization *a) {
        FzdManager *m = userdata;

        if (!m->conns) {
                log_notice("An authorization arrived while there is no tunnel; ignoring it.");
                return;
        }
        (void) fzd_connections_authorization_created(m->conns, a);
}

static void on_engine_authorization_failed(void *userdata, const char *resource_id, const char *reason) {
        FzdManager *m = userdata;

        if (m->conns)
                fzd_connections_authorization_failed(m->conns, resource_id, reason);
}

static void on_engine_ice_candidates(void *userdata, const char *gateway_id, const char *const *candidates, size_t n,
                                     bool invalidate) {
        FzdManager *m = userdata;

        if (m->conns)
                fzd_connections_remote_candidates(m->conns, gateway_id, candidates, n, invalidate);
}

int fzd_manager_connection_stats(const FzdManager *m, FzdConnStats *ret) {
        if (!m->conns) {
                *ret = (FzdConnStats) {};
                return -ENOTCONN;
        }
        fzd_connections_get_stats(m->conns, ret);
        return 0;
}

static const FzdEngineEvents engine_events = {
        .init = on_engine_init,
        .config_changed = on_engine_config_changed,
        .resource_upserted = on_engine_resource_upserted,
        .resource_deleted = on_engine_resource_deleted,
        .reconnecting = on_engine_reconnecting,
        .session_ended = on_engine_session_ended,
        .relays = on_engine_relays,
        .authorization_created = on_engine_authorization_created,
        .authorization_failed = on_engine_authorization_failed,
        .ice_candidates = on_engine_ice_candidates,
};

const FzdEngineEvents *fzd_manager_engine_events(void) {
        return &engine_events;
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
        int r;

        r = m->engine_ops->start(m->engine, &params, token);
        if (r < 0)
                return r;
        m->session = true;
        m->ever_connected = false;
        m->portal = PORTAL_CONNECTING;
        m->portal_error = FZD_ERROR_NULL;
        m->end_error = FZD_ERROR_NULL;
        return 0;
}

int fzd_manager_start_service_account(FzdManager *m, FzdTokenSource source, FzdSecret **token) {
        int r;

        m->mode = FZD_MODE_SERVICE_ACCOUNT;
        m->token_source = source;
        r = start_engine(m, token);
        if (r < 0) {
                commit(m, "service-account");
                return log_error_errno(r, "Failed to start the portal connection: %m");
        }
        commit(m, "service-account");
        return 0;
}

int fzd_manager_sign_in(FzdManager *m, FzdSecret **token, const char *account_slug, const char *actor_name,
                        const char *api_url) {
        int r;

        if (m->mode == FZD_MODE_SERVICE_ACCOUNT)
                return -EBUSY;

        /* A new sign-in replaces the previous interactive session. */
        if (m->session)
                clear_connection(m);
        r = free_and_strdup(&m->api_url, api_url ?: (m->options->api_url ?: FZ_DEFAULT_API_URL));
        if (r >= 0)
                r = free_and_strdup(&m->account_slug, isempty(account_slug) ? NULL : account_slug);
        if (r >= 0)
                r = free_and_strdup(&m->actor_name, isempty(actor_name) ? NULL : actor_name);
        if (r < 0) {
                forget_account(m);
                commit(m, "sign-in-failed");
                return r;
        }
        m->token_source = FZD_TOKEN_SOURCE_IPC;

        r = start_engine(m, token);
        if (r < 0) {
                m->end_error = fzd_error_make(FZD_ERR_START_FAILED, r);
                commit(m, "sign-in-failed");
                return r;
        }
        log_info("Signed in%s%s; connecting to %s.", account_slug ? " to account " : "", strempty(account_slug),
                 m->api_url);
        commit(m, "sign-in");
        return 0;
}

void fzd_manager_sign_out(FzdManager *m, const char *reason) {
        clear_connection(m);
        forget_account(m);
        m->end_error = FZD_ERROR_NULL;
        if (m->token_source == FZD_TOKEN_SOURCE_IPC)
                m->token_source = FZD_TOKEN_SOURCE_NONE;
        commit(m, reason);
}

int fzd_manager_reconnect(FzdManager *m, const char *reason) {
        int r;

        if (!m->session)
                return -ENOTCONN;
        r = m->engine_ops->reconnect(m->engine);
        if (r < 0)
                return r;
        /* The tunnel stays; the portal connection starts over, and so do the connections to
         * gateways, as Firezone's reset does: new sockets (new NAT mappings: the old ones may
         * point at an address that is gone, and block the port on the router for a while), new
         * relay allocations; the next packet to a resource authorizes again. Flows inside the
         * tunnel keep their addresses and resume. */
        if (m->conns) {
                connections_stop(m);
                connections_start(m);
        }
        m->portal = PORTAL_CONNECTING;
        m->portal_error = FZD_ERROR_NULL;
        commit(m, reason);
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
                clear_connection(m);
                m->end_error =
                        fzd_error_make(r == 0 ? FZD_ERR_TOKEN_FILE_REMOVED : FZD_ERR_TOKEN_FILE_UNUSABLE, r);
                fzd_error_set_subject(&m->end_error, FZ_TOKEN_PATH);
                commit(m, "token-file-invalid");
                return r < 0 ? r : -ENOENT;
        }

        log_info("SIGHUP: re-read the token file; reconnecting.");
        if (m->session) {
                r = m->engine_ops->replace_token(m->engine, &token);
                if (r >= 0) {
                        m->portal = PORTAL_CONNECTING;
                        m->portal_error = FZD_ERROR_NULL;
                }
        } else
                r = start_engine(m, &token);
        commit(m, "reload");
        if (r < 0)
                return log_error_errno(r, "Failed to reconnect with the new token: %m");
        return 0;
}

int fzd_manager_set_internet_resource_enabled(FzdManager *m, bool enabled) {
        if (m->mode == FZD_MODE_SERVICE_ACCOUNT)
                return -EBUSY;
        if (m->internet_enabled != enabled)
                log_info("The Internet resource is switched %s.", enabled ? "on" : "off");
        m->internet_enabled = enabled;
        sync_internet_route(m);
        if (m->conns)
                fzd_connections_set_internet_enabled(m->conns, enabled);
        commit(m, enabled ? "internet-resource-on" : "internet-resource-off");
        return 0;
}

/* ---- accessors, life cycle ------------------------------------------------------------- */

const FzdManagerView *fzd_manager_view(const FzdManager *m) {
        return &m->view;
}

const FzdResourceTable *fzd_manager_resources(const FzdManager *m) {
        return m->resources;
}

const char *fzd_manager_dns_control(const FzdManager *m) {
        if (m->os)
                return m->os_ops->dns_control(m->os);
        return m->options->dns_control == FZD_DNS_CONTROL_AUTO ? "" : fzd_dns_control_to_string(m->options->dns_control);
}

void fzd_manager_attach_engine(FzdManager *m, const FzdEngineOps *ops, FzdEngine *engine) {
        if (m->engine)
                m->engine_ops->free(m->engine);
        m->engine_ops = ops;
        m->engine = engine;
}

void fzd_manager_attach_os(FzdManager *m, const FzdOsOps *ops, FzdOs *os) {
        if (m->os)
                m->os_ops->free(m->os);
        m->os_ops = ops;
        m->os = os;
}

int fzd_manager_add_observer(FzdManager *m, const FzdManagerObserver *observer, void *userdata) {
        if (m->n_observers >= FZD_MANAGER_MAX_OBSERVERS)
                return -ENOSPC;
        m->observers[m->n_observers++] = (Observer){ observer, userdata };
        return 0;
}

void fzd_manager_remove_observer(FzdManager *m, const FzdManagerObserver *observer, void *userdata) {
        for (size_t i = 0; i < m->n_observers; i++)
                if (m->observers[i].ops == observer && m->observers[i].userdata == userdata) {
                        memmove(&m->observers[i], &m->observers[i + 1],
                                (m->n_observers - i - 1) * sizeof m->observers[0]);
                        m->n_observers--;
                        return;
                }
}

void fzd_manager_set_tunnel_retry_usec(FzdManager *m, uint64_t usec) {
        m->tunnel_retry_usec = usec;
}

bool fzd_manager_tunnel_retry_pending(const FzdManager *m) {
        int enabled = SD_EVENT_OFF;
        (void) sd_event_source_get_enabled(m->tunnel_retry_timer, &enabled);
        return enabled != SD_EVENT_OFF;
}

int fzd_manager_set_device(FzdManager *m, const char *device_id, const char *device_name) {
        if (free_and_strdup(&m->device_id, device_id) < 0 ||
            free_and_strdup(&m->device_name, device_name) < 0)
                return -ENOMEM;
        return 0;
}

int fzd_manager_new(sd_event *event, const FzdOptions *options, FzdManager **ret) {
        _cleanup_(fzd_manager_freep) FzdManager *m = NULL;
        int r;

        m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        m->event = sd_event_ref(event);
        m->options = options;
        m->mode = FZD_MODE_INTERACTIVE;
        m->tunnel_retry_usec = FZD_MANAGER_TUNNEL_RETRY_USEC;
        m->udp_fd[0] = m->udp_fd[1] = -EBADF;
        m->internet_enabled = options->activate_internet_resource;
        m->end_error = m->portal_error = m->tunnel_error = m->dns_error = FZD_ERROR_NULL;
        m->api_url = strdup(options->api_url ?: FZ_DEFAULT_API_URL);
        if (!m->api_url)
                return -ENOMEM;
        derive_view(m, &m->view);

        r = fzd_resource_table_new(&m->resources);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(event, &m->tunnel_retry_timer, CLOCK_MONOTONIC,
                                       FZD_MANAGER_TUNNEL_RETRY_USEC, 0, on_tunnel_retry, m);
        if (r >= 0)
                r = sd_event_add_time_relative(event, &m->resources_changed_timer, CLOCK_MONOTONIC,
                                               FZD_MANAGER_RESOURCES_COALESCE_USEC, 0, on_resources_timer,
                                               m);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(m->tunnel_retry_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(m->resources_changed_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(m->tunnel_retry_timer, "tunnel-retry");
        (void) sd_event_source_set_description(m->resources_changed_timer, "resources-changed");
        /* After whatever else is due: the state change a sign-in waits for (DNS applied) goes
         * out before a large ResourcesChanged is built. */
        (void) sd_event_source_set_priority(m->resources_changed_timer, SD_EVENT_PRIORITY_NORMAL + 10);

        *ret = TAKE_PTR(m);
        return 0;
}

FzdManager *fzd_manager_free(FzdManager *m) {
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n_observers; i++)
                if (m->observers[i].ops->detached)
                        m->observers[i].ops->detached(m->observers[i].userdata);
        m->n_observers = 0;
        if (m->engine)
                m->engine_ops->free(m->engine); /* wipes the token */
        connections_stop(m);            /* before the OS layer: it owns the TUN */
        fzd_dns_stub_free(m->dns_stub); /* before the OS layer: it made the stub's sockets */
        if (m->os)
                m->os_ops->free(m->os); /* reverts DNS, removes the tunnel */
        sd_event_source_disable_unref(m->tunnel_retry_timer);
        sd_event_source_disable_unref(m->resources_changed_timer);
        fzd_resource_table_free(m->resources);
        sd_event_unref(m->event);
        free(m->device_id);
        free(m->device_name);
        free(m->api_url);
        free(m->account_slug);
        free(m->actor_name);
        free(m);
        return NULL;
}
