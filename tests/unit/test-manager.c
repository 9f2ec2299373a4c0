/* SPDX-License-Identifier: Apache-2.0 */
/* The model with fakes passed in through its interfaces: an engine and an OS layer behind
 * their operation tables, and a recording observer. Everything else is the real code. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fz-check.h"
#include "manager.h"
#include "manager-private.h"

/* ---- a fake engine ---- */
struct FzdEngine {
        const FzdEngineEvents *events;
        void *userdata;
        FzdSecret *token;
        char api_url[256];
        int starts, stops, reconnects;
};

static int fake_engine_start(FzdEngine *e, const FzdEngineParams *p, FzdSecret **token) {
        fzd_secret_free(e->token);
        e->token = TAKE_PTR(*token);
        snprintf(e->api_url, sizeof e->api_url, "%s", p->api_url);
        e->starts++;
        return 0;
}
static void fake_engine_stop(FzdEngine *e) {
        if (e->token)
                e->stops++;
        e->token = fzd_secret_free(e->token);
}
static int fake_engine_reconnect(FzdEngine *e) {
        e->reconnects++;
        return 0;
}
static int fake_engine_replace_token(FzdEngine *e, FzdSecret **token) {
        fzd_secret_free(e->token);
        e->token = TAKE_PTR(*token);
        return 0;
}
static FzdEngine *fake_engine_free(FzdEngine *e) {
        if (e) {
                fzd_secret_free(e->token);
                free(e);
        }
        return NULL;
}
static const FzdEngineOps fake_engine_ops = {
        .start = fake_engine_start,
        .stop = fake_engine_stop,
        .reconnect = fake_engine_reconnect,
        .replace_token = fake_engine_replace_token,
        .free = fake_engine_free,
};

/* ---- a recording OS layer ---- */
struct FzdOs {
        int ups, downs, route_adds, route_removes, internet, up_result;
        bool up;
};
static int fake_os_tunnel_up(FzdOs *os, const FzdInterfaceConfig *config) {
        os->ups++;
        if (os->up_result >= 0)
                os->up = true;
        return os->up_result;
}
static void fake_os_tunnel_down(FzdOs *os) {
        os->downs++;
        os->up = false;
}
static int fake_os_route_add(FzdOs *os, const FzdCidr *cidr) {
        os->route_adds++;
        return 0;
}
static int fake_os_route_remove(FzdOs *os, const FzdCidr *cidr) {
        os->route_removes++;
        return 0;
}
static int fake_os_routes_add(FzdOs *os, const FzdCidr *cidrs, size_t n) {
        os->route_adds += (int) n;
        return 0;
}
static int fake_os_set_internet_resource(FzdOs *os, bool enabled) {
        os->internet = enabled;
        return 0;
}
static const char *fake_os_dns_control(const FzdOs *os) {
        return "disabled";
}
static const char *fake_os_interface_name(const FzdOs *os) {
        return os->up ? "tun-firezone" : NULL;
}
static FzdOs *fake_os_free(FzdOs *os) {
        free(os);
        return NULL;
}
static const FzdOsOps fake_os_ops = {
        .tunnel_up = fake_os_tunnel_up,
        .tunnel_down = fake_os_tunnel_down,
        .route_add = fake_os_route_add,
        .route_remove = fake_os_route_remove,
        .routes_add = fake_os_routes_add,
        .set_internet_resource = fake_os_set_internet_resource,
        .dns_control = fake_os_dns_control,
        .interface_name = fake_os_interface_name,
        .free = fake_os_free,
};

/* ---- a recording observer ---- */
typedef struct Recorder {
        int changes, resources;
        FzdChange last_changes;
        FzdState last_old_state;
        char last_reason[64];
        /* every state published, in order */
        FzdState states[64];
        size_t n_states;
} Recorder;

static void on_changed(void *userdata, const FzdManager *mgr, FzdChange changes, FzdState old_state,
                       const char *reason) {
        Recorder *rec = userdata;

        ck_assert_uint_ne(changes, 0);
        rec->changes++;
        rec->last_changes = changes;
        rec->last_old_state = old_state;
        snprintf(rec->last_reason, sizeof rec->last_reason, "%s", reason ?: "");
        if ((changes & FZD_CHANGE_STATE) && rec->n_states < ELEMENTSOF(rec->states))
                rec->states[rec->n_states++] = fzd_manager_view(mgr)->state;
}
static void on_resources_changed(void *userdata, const FzdManager *mgr) {
        ((Recorder *) userdata)->resources++;
}
static const FzdManagerObserver recorder_ops = {
        .changed = on_changed,
        .resources_changed = on_resources_changed,
};

/* ---- fixtures ---- */
static sd_event *event;
static FzdOptions options;
static FzdManager *m;
static FzdEngine *engine;
static FzdOs *os;
static Recorder rec;

static void setup(void) {
        ck_assert_int_eq(sd_event_new(&event), 0);
        fzd_options_init(&options);
        ck_assert_int_eq(fzd_manager_new(event, &options, &m), 0);
        engine = calloc(1, sizeof *engine);
        engine->events = fzd_manager_engine_events();
        engine->userdata = m;
        fzd_manager_attach_engine(m, &fake_engine_ops, engine);
        os = calloc(1, sizeof *os);
        fzd_manager_attach_os(m, &fake_os_ops, os);
        memset(&rec, 0, sizeof rec);
        ck_assert_int_eq(fzd_manager_add_observer(m, &recorder_ops, &rec), 0);
        ck_assert_int_eq(fzd_manager_set_device(m, "device-1", "host"), 0);
        fzd_manager_set_tunnel_retry_usec(m, 20 * USEC_PER_MSEC);
}

static void teardown(void) {
        m = fzd_manager_free(m); /* frees the fakes */
        event = sd_event_unref(event);
        fzd_options_done(&options);
}

static const FzdManagerView *view(void) {
        return fzd_manager_view(m);
}

static const char *last_error(void) {
        static char buf[FZD_ERROR_TEXT_MAX];
        return fzd_error_format(&view()->last_error, buf, sizeof buf);
}

static FzdSecret *token(const char *s) {
        FzdSecret *t = NULL;
        ck_assert_int_eq(fzd_secret_new(s, strlen(s), &t), 0);
        return t;
}

static FzdResource *resource(const char *id, const char *name) {
        FzdResource *r = calloc(1, sizeof *r);
        r->id = strdup(id);
        r->name = strdup(name);
        r->address = strdup("10.1.0.0/16");
        return r;
}

static FzdError portal_error(FzdErrorCode code) {
        FzdError e = fzd_error_make(code, ECONNREFUSED);
        fzd_error_set_subject(&e, "portal.example");
        e.retry_usec = 2 * USEC_PER_SEC;
        return e;
}

/* Run the loop until the coalescing timer has fired (bounded). */
static void run_until_resources_emitted(int want) {
        for (int i = 0; i < 100 && rec.resources < want; i++)
                ck_assert_int_ge(sd_event_run(event, 100 * USEC_PER_MSEC), 0);
        ck_assert_int_eq(rec.resources, want);
}

static void sign_in(void) {
        FzdSecret *t = token("tok-abc");
        ck_assert_int_eq(fzd_manager_sign_in(m, &t, "acme", "Ada", NULL), 0);
        ck_assert_ptr_null(t); /* ownership moved to the engine */
}

static void init(const FzdInterfaceConfig *cfg) {
        engine->events->init(engine->userdata, cfg, NULL, 0);
}

START_TEST(test_sign_in_connect_sign_out) {
        FzdInterfaceConfig cfg = { .has_ipv4 = true, .ipv4.s_addr = htonl(0x64400001) };
        FzdResource *list[2];

        sign_in();
        ck_assert_int_eq(view()->state, FZD_STATE_CONNECTING);
        ck_assert_str_eq(view()->account_slug, "acme");
        ck_assert_str_eq(engine->api_url, "wss://api.firezone.dev/");
        ck_assert_str_eq(fzd_secret_get(engine->token), "tok-abc");
        ck_assert(rec.last_changes & FZD_CHANGE_STATE);
        ck_assert(rec.last_changes & FZD_CHANGE_ACCOUNT);
        ck_assert_str_eq(rec.last_reason, "sign-in");
        ck_assert_uint_eq(view()->connected_since, 0);

        list[0] = resource("r1", "one");
        list[1] = resource("r2", "two");
        engine->events->init(engine->userdata, &cfg, list, 2);
        fzd_resource_free(list[0]); /* what the manager did not take (NULL: it took them) */
        fzd_resource_free(list[1]);
        ck_assert_int_eq(view()->state, FZD_STATE_CONNECTED);
        ck_assert_uint_gt(view()->connected_since, 0);
        ck_assert(view()->has_ipv4);
        ck_assert_str_eq(view()->interface_name, "tun-firezone");
        ck_assert(rec.last_changes & FZD_CHANGE_INTERFACE);
        ck_assert_uint_eq(fzd_resource_table_size(fzd_manager_resources(m)), 2);
        run_until_resources_emitted(1);

        fzd_manager_sign_out(m, "sign-out");
        ck_assert_int_eq(view()->state, FZD_STATE_SIGNED_OUT);
        ck_assert_ptr_null(engine->token); /* wiped */
        ck_assert_int_eq(engine->stops, 1);
        ck_assert_str_eq(view()->account_slug, "");
        ck_assert_str_eq(view()->interface_name, "");
        ck_assert(!view()->has_ipv4);
        ck_assert_uint_eq(fzd_resource_table_size(fzd_manager_resources(m)), 0);
        run_until_resources_emitted(2);

        /* idempotent: no change, nothing published */
        int before = rec.changes;
        fzd_manager_sign_out(m, "sign-out");
        ck_assert_int_eq(rec.changes, before);
}
END_TEST

START_TEST(test_burst_of_updates_is_one_notification) {
        FzdInterfaceConfig cfg = {};

        sign_in();
        init(&cfg);
        for (int i = 0; i < 500; i++) {
                char id[16];
                snprintf(id, sizeof id, "r%d", i);
                engine->events->resource_upserted(engine->userdata, resource(id, id));
        }
        engine->events->resource_deleted(engine->userdata, "r7");
        engine->events->resource_deleted(engine->userdata, "does-not-exist");
        run_until_resources_emitted(1);
        ck_assert_uint_eq(fzd_resource_table_size(fzd_manager_resources(m)), 499);
        /* A later, separate change gets its own notification. */
        engine->events->resource_deleted(engine->userdata, "r8");
        run_until_resources_emitted(2);
}
END_TEST

/* A portal that adds resources one event at a time cannot grow the table without bound:
 * new ids beyond FZD_RESOURCE_TABLE_MAX are refused, updates of known ones still apply. */
START_TEST(test_resources_added_one_by_one_are_capped) {
        FzdInterfaceConfig cfg = {};
        char id[32];

        sign_in();
        engine->events->init(engine->userdata, &cfg, NULL, 0);
        for (unsigned i = 0; i < FZD_RESOURCE_TABLE_MAX + 100; i++) {
                snprintf(id, sizeof id, "r%u", i);
                engine->events->resource_upserted(engine->userdata, resource(id, id));
        }
        ck_assert_uint_eq(fzd_resource_table_size(fzd_manager_resources(m)), FZD_RESOURCE_TABLE_MAX);
        ck_assert_ptr_null(fzd_resource_table_get(fzd_manager_resources(m), "r50000"));
        /* A known one still changes ... */
        engine->events->resource_upserted(engine->userdata, resource("r7", "renamed"));
        ck_assert_str_eq(fzd_resource_table_get(fzd_manager_resources(m), "r7")->name, "renamed");
        /* ... and once one goes, a new one fits again. */
        engine->events->resource_deleted(engine->userdata, "r8");
        engine->events->resource_upserted(engine->userdata, resource("new", "new"));
        ck_assert_ptr_nonnull(fzd_resource_table_get(fzd_manager_resources(m), "new"));
        ck_assert_uint_eq(fzd_resource_table_size(fzd_manager_resources(m)), FZD_RESOURCE_TABLE_MAX);
        fzd_manager_sign_out(m, "test");
}
END_TEST

START_TEST(test_reconnecting_and_back) {
        FzdInterfaceConfig cfg = {};
        FzdError e = portal_error(FZD_ERR_PORTAL_UNREACHABLE);

        sign_in();
        /* A failure before the first connection keeps "connecting", with the error. */
        engine->events->reconnecting(engine->userdata, &e);
        ck_assert_int_eq(view()->state, FZD_STATE_CONNECTING);
        ck_assert_int_eq(view()->last_error.code, FZD_ERR_PORTAL_UNREACHABLE);
        ck_assert_str_eq(last_error(),
                         "Could not reach the Firezone portal at portal.example: connection refused. "
                         "Check your network; retrying in 2.0 s.");
        init(&cfg);
        ck_assert_int_eq(view()->state, FZD_STATE_CONNECTED);
        ck_assert_str_eq(last_error(), "");
        e = portal_error(FZD_ERR_PORTAL_LOST);
        engine->events->reconnecting(engine->userdata, &e);
        ck_assert_int_eq(view()->state, FZD_STATE_RECONNECTING);
        ck_assert_uint_eq(view()->connected_since, 0);
        init(&cfg);
        ck_assert_int_eq(view()->state, FZD_STATE_CONNECTED);

        ck_assert_int_eq(fzd_manager_reconnect(m, "reconnect"), 0);
        ck_assert_int_eq(engine->reconnects, 1);
        ck_assert_int_eq(view()->state, FZD_STATE_RECONNECTING);
        ck_assert_str_eq(rec.last_reason, "reconnect");
        /* The tunnel stays up through a reconnect. */
        ck_assert_int_eq(os->downs, 0);
        ck_assert_str_eq(view()->interface_name, "tun-firezone");
}
END_TEST

START_TEST(test_token_expired) {
        FzdError e = fzd_error_make(FZD_ERR_SESSION_EXPIRED, 0);

        sign_in();
        engine->events->session_ended(engine->userdata, &e);
        ck_assert_int_eq(view()->state, FZD_STATE_SIGNED_OUT);
        ck_assert(view()->requires_sign_in);
        ck_assert(rec.last_changes & FZD_CHANGE_REQUIRES_SIGN_IN);
        ck_assert_str_eq(last_error(),
                         "The Firezone session expired (the portal said token_expired). Sign in again.");
        ck_assert_str_eq(rec.last_reason, "token-expired");
        ck_assert_str_eq(view()->account_slug, "");
        /* Signing in again clears requires-sign-in and the error. */
        sign_in();
        ck_assert(!view()->requires_sign_in);
        ck_assert_str_eq(last_error(), "");
}
END_TEST

START_TEST(test_session_ended_by_configuration) {
        FzdError e = portal_error(FZD_ERR_PORTAL_REFUSED_CLIENT);

        e.number = 404;
        sign_in();
        engine->events->session_ended(engine->userdata, &e);
        ck_assert_int_eq(view()->state, FZD_STATE_SIGNED_OUT);
        ck_assert(!view()->requires_sign_in);
        ck_assert_str_eq(rec.last_reason, "session-ended");
        ck_assert(strstr(last_error(), "(HTTP 404)"));
        /* Signing out clears it. */
        fzd_manager_sign_out(m, "sign-out");
        ck_assert_str_eq(last_error(), "");
}
END_TEST

START_TEST(test_service_account) {
        FzdSecret *t = token("sa-token");

        ck_assert_int_eq(fzd_manager_start_service_account(m, FZD_TOKEN_SOURCE_ENV, &t), 0);
        ck_assert_int_eq(view()->mode, FZD_MODE_SERVICE_ACCOUNT);
        ck_assert_int_eq(view()->state, FZD_STATE_CONNECTING);
        t = token("x");
        ck_assert_int_eq(fzd_manager_sign_in(m, &t, NULL, NULL, NULL), -EBUSY);
        fzd_secret_free(t);
        ck_assert_str_eq(fzd_secret_get(engine->token), "sa-token");
        /* SIGHUP with an environment token only reconnects. */
        ck_assert_int_eq(fzd_manager_reload(m), 0);
        ck_assert_int_eq(engine->reconnects, 1);
        /* The options decide about the Internet resource there. */
        ck_assert_int_eq(fzd_manager_set_internet_resource_enabled(m, true), -EBUSY);
        ck_assert(!view()->internet_resource_enabled);
}
END_TEST

START_TEST(test_reconnect_when_signed_out) {
        ck_assert_int_eq(fzd_manager_reconnect(m, "reconnect"), -ENOTCONN);
        ck_assert_int_eq(engine->reconnects, 0);
}
END_TEST

START_TEST(test_api_url_option) {
        FzdSecret *t = token("tok");
        ck_assert_int_eq(fzd_manager_sign_in(m, &t, NULL, NULL, "ws://127.0.0.1:9/"), 0);
        ck_assert_str_eq(engine->api_url, "ws://127.0.0.1:9/");
}
END_TEST

static FzdResource *cidr_resource(const char *id, const char *address) {
        FzdResource *r = resource(id, id);
        free(r->address);
        r->address = strdup(address);
        r->type = FZD_RESOURCE_CIDR;
        return r;
}

START_TEST(test_routes_follow_resources) {
        FzdInterfaceConfig cfg = { .has_ipv4 = true };
        FzdResource *list[3];

        sign_in();
        list[0] = cidr_resource("a", "10.1.0.0/16");
        list[1] = cidr_resource("b", "not-a-cidr"); /* skipped, the rest applied */
        list[2] = resource("c", "dns");
        list[2]->type = FZD_RESOURCE_DNS;
        engine->events->init(engine->userdata, &cfg, list, 3);
        for (int i = 0; i < 3; i++)
                fzd_resource_free(list[i]);
        ck_assert_int_eq(os->route_adds, 1);
        ck_assert_int_eq(os->ups, 1);
        ck_assert_int_eq(view()->state, FZD_STATE_CONNECTED);

        /* Same address again: nothing. A new address: exactly one remove and one add. */
        engine->events->resource_upserted(engine->userdata, cidr_resource("a", "10.1.0.0/16"));
        ck_assert_int_eq(os->route_adds + os->route_removes, 1);
        engine->events->resource_upserted(engine->userdata, cidr_resource("a", "10.2.0.0/16"));
        ck_assert_int_eq(os->route_adds, 2);
        ck_assert_int_eq(os->route_removes, 1);
        engine->events->resource_deleted(engine->userdata, "a");
        ck_assert_int_eq(os->route_removes, 2);

        /* The Internet resource routes the default route only while it is switched on. */
        FzdResource *inet = resource("i", "Internet");
        inet->type = FZD_RESOURCE_INTERNET;
        engine->events->resource_upserted(engine->userdata, inet);
        ck_assert_int_eq(os->internet, 0);
        ck_assert(!view()->internet_resource_enabled);
        ck_assert_int_eq(fzd_manager_set_internet_resource_enabled(m, true), 0);
        ck_assert_int_eq(os->internet, 1);
        ck_assert(view()->internet_resource_enabled);
        ck_assert(rec.last_changes & FZD_CHANGE_INTERNET_RESOURCE);
        ck_assert_int_eq(fzd_manager_set_internet_resource_enabled(m, false), 0);
        ck_assert_int_eq(os->internet, 0);
        ck_assert_int_eq(fzd_manager_set_internet_resource_enabled(m, true), 0);
        engine->events->resource_deleted(engine->userdata, "i");
        ck_assert_int_eq(os->internet, 0);
        ck_assert(view()->internet_resource_enabled); /* the choice stays */
        /* Granted again: routed again at once. */
        inet = resource("i", "Internet");
        inet->type = FZD_RESOURCE_INTERNET;
        engine->events->resource_upserted(engine->userdata, inet);
        ck_assert_int_eq(os->internet, 1);
        engine->events->resource_deleted(engine->userdata, "i");
        ck_assert_int_eq(os->internet, 0);

        /* A re-init after a reconnect: new routes first, then the old ones go. */
        engine->events->resource_upserted(engine->userdata, cidr_resource("x", "10.9.0.0/16"));
        int adds = os->route_adds, removes = os->route_removes, downs = os->downs;
        list[0] = cidr_resource("x", "10.9.0.0/16");
        engine->events->init(engine->userdata, &cfg, list, 1);
        fzd_resource_free(list[0]);
        ck_assert_int_eq(os->route_adds, adds + 1);
        ck_assert_int_eq(os->route_removes, removes + 1);
        ck_assert_int_eq(os->downs, downs); /* the device stays */

        fzd_manager_sign_out(m, "sign-out");
        ck_assert_int_eq(os->downs, downs + 1);
}
END_TEST

START_TEST(test_connected_once_dns_is_in_place) {
        FzdInterfaceConfig cfg = { .has_ipv4 = true };
        FzdError lost = portal_error(FZD_ERR_PORTAL_LOST);
        FzdError dns = fzd_error_make(FZD_ERR_DNS_RESOLVED_MISSING, EHOSTDOWN);

        fzd_error_set_subject(&dns, "/etc/dev.firezone.client/config");
        os->up_result = 1; /* DNS is being applied */
        sign_in();
        init(&cfg);
        ck_assert_int_eq(view()->state, FZD_STATE_CONNECTING);
        fzd_manager_os_events()->dns_applied(m, NULL);
        ck_assert_int_eq(view()->state, FZD_STATE_CONNECTED);
        ck_assert_str_eq(last_error(), "");

        /* After a reconnect, DNS fails: connected, with the reason in last-error. */
        engine->events->reconnecting(engine->userdata, &lost);
        init(&cfg);
        ck_assert_int_eq(view()->state, FZD_STATE_RECONNECTING);
        fzd_manager_os_events()->dns_applied(m, &dns);
        ck_assert_int_eq(view()->state, FZD_STATE_CONNECTED);
        ck_assert(strstr(last_error(), "systemd-resolved is not running"));
        /* It recovers. */
        fzd_manager_os_events()->dns_applied(m, NULL);
        ck_assert_str_eq(last_error(), "");
}
END_TEST

/* The race the state model removes: DNS comes into place (or the tunnel retry succeeds)
 * while the portal connection is down again. Nothing may say "connected" then. */
START_TEST(test_no_connected_while_the_portal_is_down) {
        FzdInterfaceConfig cfg = { .has_ipv4 = true };
        FzdError lost = portal_error(FZD_ERR_PORTAL_LOST);

        os->up_result = 1; /* DNS is being applied */
        sign_in();
        init(&cfg);
        ck_assert_int_eq(view()->state, FZD_STATE_CONNECTING);
        engine->events->reconnecting(engine->userdata, &lost);
        fzd_manager_os_events()->dns_applied(m, NULL);
        ck_assert_int_eq(view()->state, FZD_STATE_CONNECTING);
        ck_assert_int_eq(view()->last_error.code, FZD_ERR_PORTAL_LOST);
        for (size_t i = 0; i < rec.n_states; i++)
                ck_assert_int_ne(rec.states[i], FZD_STATE_CONNECTED);
        /* Once the portal is back, it is. */
        init(&cfg);
        fzd_manager_os_events()->dns_applied(m, NULL);
        ck_assert_int_eq(view()->state, FZD_STATE_CONNECTED);
}
END_TEST

START_TEST(test_tunnel_retry_waits_for_the_portal) {
        FzdInterfaceConfig cfg = { .has_ipv4 = true };
        FzdError lost = portal_error(FZD_ERR_PORTAL_LOST);

        os->up_result = -ENODEV; /* the device cannot be made */
        sign_in();
        init(&cfg);
        ck_assert_int_eq(view()->state, FZD_STATE_CONNECTING);
        ck_assert_int_eq(view()->last_error.code, FZD_ERR_TUNNEL_DEVICE);
        ck_assert(strstr(last_error(), "tun-firezone"));
        /* The retry is armed while the portal is up ... */
        ck_assert(fzd_manager_tunnel_retry_pending(m));
        ck_assert_int_eq(os->ups, 1);

        /* ... and disarmed when the portal goes away: the device works again meanwhile, but
         * no retry may bring "connected" while the portal reconnects. */
        engine->events->reconnecting(engine->userdata, &lost);
        ck_assert(!fzd_manager_tunnel_retry_pending(m));
        os->up_result = 0;
        ck_assert_int_eq(view()->state, FZD_STATE_CONNECTING);
        ck_assert_int_eq(view()->last_error.code, FZD_ERR_PORTAL_LOST);

        /* The portal is back: init tries the device at once. */
        init(&cfg);
        ck_assert_int_eq(os->ups, 2);
        ck_assert(!fzd_manager_tunnel_retry_pending(m));
        ck_assert_int_eq(view()->state, FZD_STATE_CONNECTED);
        for (size_t i = 0; i + 1 < rec.n_states; i++)
                ck_assert_int_ne(rec.states[i], FZD_STATE_CONNECTED);
}
END_TEST

START_TEST(test_tunnel_retry_brings_the_tunnel_up) {
        FzdInterfaceConfig cfg = { .has_ipv4 = true };

        os->up_result = -ENODEV;
        sign_in();
        init(&cfg);
        ck_assert_int_eq(view()->state, FZD_STATE_CONNECTING);
        os->up_result = 0;
        ck_assert(fzd_manager_tunnel_retry_pending(m));
        /* Wait for the retry timer (20 ms here) to fire. */
        for (int i = 0; i < 100 && os->ups < 2; i++)
                ck_assert_int_ge(sd_event_run(event, 100 * USEC_PER_MSEC), 0);
        ck_assert_int_eq(os->ups, 2);
        ck_assert_int_eq(view()->state, FZD_STATE_CONNECTED);
        ck_assert_str_eq(rec.last_reason, "tunnel-retry");
        ck_assert_str_eq(last_error(), "");
}
END_TEST

START_TEST(test_errors_have_one_sentence_each) {
        char buf[FZD_ERROR_TEXT_MAX];

        for (int c = 1; c < _FZD_ERR_MAX; c++) {
                FzdError e = fzd_error_make(c, EIO);
                ck_assert_str_ne(fzd_error_code_to_string(c), "none");
                fzd_error_format(&e, buf, sizeof buf);
                ck_assert_msg(strlen(buf) > 20, "code %d has no sentence", c);
                ck_assert_msg(buf[strlen(buf) - 1] == '.', "code %d: \"%s\" does not end a sentence", c,
                              buf);
                ck_assert_int_ne(fzd_error_kind(c), FZD_ERROR_KIND_NONE);
        }
}
END_TEST

static Suite *manager_suite(void) {
        Suite *s = suite_create("manager");
        TCase *tc = tcase_create("core");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_sign_in_connect_sign_out);
        tcase_add_test(tc, test_burst_of_updates_is_one_notification);
        tcase_add_test(tc, test_reconnecting_and_back);
        tcase_add_test(tc, test_token_expired);
        tcase_add_test(tc, test_session_ended_by_configuration);
        tcase_add_test(tc, test_service_account);
        tcase_add_test(tc, test_reconnect_when_signed_out);
        tcase_add_test(tc, test_api_url_option);
        tcase_add_test(tc, test_routes_follow_resources);
        tcase_add_test(tc, test_resources_added_one_by_one_are_capped);
        tcase_add_test(tc, test_connected_once_dns_is_in_place);
        tcase_add_test(tc, test_no_connected_while_the_portal_is_down);
        tcase_add_test(tc, test_tunnel_retry_waits_for_the_portal);
        tcase_add_test(tc, test_tunnel_retry_brings_the_tunnel_up);
        tcase_add_test(tc, test_errors_have_one_sentence_each);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(manager_suite)
