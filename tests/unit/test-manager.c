/* SPDX-License-Identifier: Apache-2.0 */
/* The state machine with a fake engine underneath and a recording bus layer on top. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fz-check.h"
#include "manager.h"

/* ---- fake engine ---- */
struct FzdEngine {
        const FzdEngineEvents *events;
        void *userdata;
        FzdSecret *token;
        char api_url[256];
        int starts, stops, reconnects;
};
static FzdEngine *engine;

int fzd_engine_new(sd_event *event, const FzdEngineEvents *events, void *userdata, FzdEngine **ret) {
        engine = calloc(1, sizeof *engine);
        engine->events = events;
        engine->userdata = userdata;
        *ret = engine;
        return 0;
}
FzdEngine *fzd_engine_free(FzdEngine *e) {
        if (e) {
                fzd_secret_free(e->token);
                free(e);
        }
        engine = NULL;
        return NULL;
}
int fzd_engine_start(FzdEngine *e, const FzdEngineParams *p, FzdSecret **token) {
        fzd_secret_free(e->token);
        e->token = TAKE_PTR(*token);
        snprintf(e->api_url, sizeof e->api_url, "%s", p->api_url);
        e->starts++;
        return 0;
}
void fzd_engine_stop(FzdEngine *e) {
        if (e->token)
                e->stops++;
        e->token = fzd_secret_free(e->token);
}
int fzd_engine_reconnect(FzdEngine *e) {
        e->reconnects++;
        return 0;
}
int fzd_engine_replace_token(FzdEngine *e, FzdSecret **token) {
        fzd_secret_free(e->token);
        e->token = TAKE_PTR(*token);
        return 0;
}
bool fzd_engine_is_running(const FzdEngine *e) {
        return e->token != NULL;
}

/* ---- recording OS layer ---- */
static int os_ups, os_downs, os_route_adds, os_route_removes, os_internet, os_up_result;
struct FzdOs {
        int unused;
};
FzdOs *fzd_os_free(FzdOs *os) {
        free(os);
        return NULL;
}
int fzd_os_tunnel_up(FzdOs *os, const FzdInterfaceConfig *config, int *ret_fd) {
        os_ups++;
        return os_up_result;
}
void fzd_os_tunnel_down(FzdOs *os) {
        os_downs++;
}
int fzd_os_route_add(FzdOs *os, const FzdCidr *cidr) {
        os_route_adds++;
        return 0;
}
int fzd_os_route_remove(FzdOs *os, const FzdCidr *cidr) {
        os_route_removes++;
        return 0;
}
int fzd_os_routes_add(FzdOs *os, const FzdCidr *cidrs, size_t n) {
        os_route_adds += (int) n;
        return 0;
}
int fzd_os_set_internet_resource(FzdOs *os, bool enabled) {
        os_internet = enabled;
        return 0;
}
const char *fzd_os_dns_control(const FzdOs *os) {
        return "disabled";
}
const char *fzd_os_interface_name(const FzdOs *os) {
        return "tun-firezone";
}
/* Only what the manager uses of cidr.c: a minimal strict parser for the tests' addresses. */
int fzd_cidr_parse(const char *s, bool allow_host_bits, FzdCidr *ret) {
        unsigned a, b, c, d, len;
        if (sscanf(s, "%u.%u.%u.%u/%u", &a, &b, &c, &d, &len) != 5 || len > 32)
                return -EINVAL;
        memset(ret, 0, sizeof *ret);
        ret->family = AF_INET;
        ret->addr.in.s_addr = htonl(a << 24 | b << 16 | c << 8 | d);
        ret->prefixlen = (unsigned char) len;
        return 0;
}
bool fzd_cidr_equal(const FzdCidr *x, const FzdCidr *y) {
        return x->family == y->family && x->prefixlen == y->prefixlen && x->addr.in.s_addr == y->addr.in.s_addr;
}

/* ---- recording bus layer ---- */
static int emitted_changes, emitted_resources;
static FzdChange last_changes;
static char last_reason[64];

void fzd_bus_api_emit_changes(FzdManager *m, FzdChange changes, const char *reason) {
        emitted_changes++;
        last_changes = changes;
        snprintf(last_reason, sizeof last_reason, "%s", reason ?: "");
}
void fzd_bus_api_emit_resources_changed(FzdManager *m) {
        emitted_resources++;
}
int fzd_bus_api_register(FzdManager *m) {
        return 0;
}

/* ---- fixtures ---- */
static sd_event *event;
static FzdOptions options;
static FzdManager *m;

static void setup(void) {
        ck_assert_int_eq(sd_event_new(&event), 0);
        fzd_options_init(&options);
        ck_assert_int_eq(fzd_manager_new(event, &options, &m), 0);
        fzd_manager_attach_os(m, calloc(1, sizeof(FzdOs)));
        emitted_changes = emitted_resources = 0;
        os_ups = os_downs = os_route_adds = os_route_removes = os_internet = os_up_result = 0;
}

static void teardown(void) {
        m = fzd_manager_free(m);
        event = sd_event_unref(event);
        fzd_options_done(&options);
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

/* Run the loop until the coalescing timer has fired (bounded). */
static void run_until_resources_emitted(int want) {
        for (int i = 0; i < 100 && emitted_resources < want; i++)
                ck_assert_int_ge(sd_event_run(event, 100 * USEC_PER_MSEC), 0);
        ck_assert_int_eq(emitted_resources, want);
}

static void sign_in(void) {
        FzdSecret *t = token("tok-abc");
        ck_assert_int_eq(fzd_manager_sign_in(m, &t, "acme", "Ada", NULL), 0);
        ck_assert_ptr_null(t); /* ownership moved to the engine */
}

START_TEST(test_sign_in_connect_sign_out) {
        FzdInterfaceConfig cfg = { .has_ipv4 = true };
        FzdResource *list[2];

        sign_in();
        ck_assert_int_eq(m->state, FZD_STATE_CONNECTING);
        ck_assert_str_eq(m->account_slug, "acme");
        ck_assert_str_eq(engine->api_url, "wss://api.firezone.dev/");
        ck_assert_str_eq(fzd_secret_get(engine->token), "tok-abc");
        ck_assert(last_changes & FZD_CHANGE_STATE);
        ck_assert(last_changes & FZD_CHANGE_ACCOUNT);
        ck_assert_str_eq(last_reason, "sign-in");
        ck_assert_int_eq(m->connected_since, 0);

        list[0] = resource("r1", "one");
        list[1] = resource("r2", "two");
        engine->events->init(engine->userdata, &cfg, list, 2);
        fzd_resource_free(list[0]); /* the engine keeps ownership of init's array */
        fzd_resource_free(list[1]);
        ck_assert_int_eq(m->state, FZD_STATE_CONNECTED);
        ck_assert_uint_gt(m->connected_since, 0);
        ck_assert_uint_eq(fzd_resource_table_size(m->resources), 2);
        run_until_resources_emitted(1);

        fzd_manager_sign_out(m, "sign-out");
        ck_assert_int_eq(m->state, FZD_STATE_SIGNED_OUT);
        ck_assert_ptr_null(engine->token); /* wiped */
        ck_assert_int_eq(engine->stops, 1);
        ck_assert_ptr_null(m->account_slug);
        ck_assert_uint_eq(fzd_resource_table_size(m->resources), 0);
        run_until_resources_emitted(2);

        /* idempotent */
        int before = emitted_changes;
        fzd_manager_sign_out(m, "sign-out");
        ck_assert_int_eq(emitted_changes, before);
}
END_TEST

START_TEST(test_burst_of_updates_is_one_signal) {
        FzdInterfaceConfig cfg = {};

        sign_in();
        engine->events->init(engine->userdata, &cfg, NULL, 0);
        for (int i = 0; i < 500; i++) {
                char id[16];
                snprintf(id, sizeof id, "r%d", i);
                engine->events->resource_upserted(engine->userdata, resource(id, id));
        }
        engine->events->resource_deleted(engine->userdata, "r7");
        engine->events->resource_deleted(engine->userdata, "does-not-exist");
        run_until_resources_emitted(1);
        ck_assert_uint_eq(fzd_resource_table_size(m->resources), 499);
        /* A later, separate change gets its own signal. */
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
        ck_assert_uint_eq(fzd_resource_table_size(m->resources), FZD_RESOURCE_TABLE_MAX);
        ck_assert_ptr_null(fzd_resource_table_get(m->resources, "r50000"));
        /* A known one still changes ... */
        engine->events->resource_upserted(engine->userdata, resource("r7", "renamed"));
        ck_assert_str_eq(fzd_resource_table_get(m->resources, "r7")->name, "renamed");
        /* ... and once one goes, a new one fits again. */
        engine->events->resource_deleted(engine->userdata, "r8");
        engine->events->resource_upserted(engine->userdata, resource("new", "new"));
        ck_assert_ptr_nonnull(fzd_resource_table_get(m->resources, "new"));
        ck_assert_uint_eq(fzd_resource_table_size(m->resources), FZD_RESOURCE_TABLE_MAX);
        fzd_manager_sign_out(m, "test");
}
END_TEST

START_TEST(test_reconnecting_and_back) {
        FzdInterfaceConfig cfg = {};

        sign_in();
        /* A failure before the first connection keeps "connecting", with the error. */
        engine->events->reconnecting(engine->userdata, "Could not reach the portal.");
        ck_assert_int_eq(m->state, FZD_STATE_CONNECTING);
        ck_assert_str_eq(m->last_error, "Could not reach the portal.");
        engine->events->init(engine->userdata, &cfg, NULL, 0);
        ck_assert_int_eq(m->state, FZD_STATE_CONNECTED);
        ck_assert_ptr_null(m->last_error);
        engine->events->reconnecting(engine->userdata, "Connection lost.");
        ck_assert_int_eq(m->state, FZD_STATE_RECONNECTING);
        ck_assert_int_eq(m->connected_since, 0);
        engine->events->init(engine->userdata, &cfg, NULL, 0);
        ck_assert_int_eq(m->state, FZD_STATE_CONNECTED);

        ck_assert_int_eq(fzd_manager_reconnect(m, "reconnect"), 0);
        ck_assert_int_eq(engine->reconnects, 1);
        ck_assert_int_eq(m->state, FZD_STATE_RECONNECTING);
}
END_TEST

START_TEST(test_token_expired) {
        sign_in();
        engine->events->session_ended(engine->userdata, "Your session expired. Sign in again.", true);
        ck_assert_int_eq(m->state, FZD_STATE_SIGNED_OUT);
        ck_assert(m->requires_sign_in);
        ck_assert_str_eq(m->last_error, "Your session expired. Sign in again.");
        ck_assert_str_eq(last_reason, "token-expired");
        ck_assert_ptr_null(m->account_slug);
        /* Signing in again clears requires-sign-in. */
        sign_in();
        ck_assert(!m->requires_sign_in);
        ck_assert_ptr_null(m->last_error);
}
END_TEST

START_TEST(test_service_account) {
        FzdSecret *t = token("sa-token");

        ck_assert_int_eq(fzd_manager_start_service_account(m, FZD_TOKEN_SOURCE_ENV, &t), 0);
        ck_assert_int_eq(m->mode, FZD_MODE_SERVICE_ACCOUNT);
        ck_assert_int_eq(m->state, FZD_STATE_CONNECTING);
        t = token("x");
        ck_assert_int_eq(fzd_manager_sign_in(m, &t, NULL, NULL, NULL), -EBUSY);
        fzd_secret_free(t);
        ck_assert_str_eq(fzd_secret_get(engine->token), "sa-token");
        /* SIGHUP with an environment token only reconnects. */
        ck_assert_int_eq(fzd_manager_reload(m), 0);
        ck_assert_int_eq(engine->reconnects, 1);
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
        ck_assert_int_eq(os_route_adds, 1);
        ck_assert_int_eq(os_ups, 1);
        ck_assert_int_eq(m->state, FZD_STATE_CONNECTED);

        /* Same address again: nothing. A new address: exactly one remove and one add. */
        engine->events->resource_upserted(engine->userdata, cidr_resource("a", "10.1.0.0/16"));
        ck_assert_int_eq(os_route_adds + os_route_removes, 1);
        engine->events->resource_upserted(engine->userdata, cidr_resource("a", "10.2.0.0/16"));
        ck_assert_int_eq(os_route_adds, 2);
        ck_assert_int_eq(os_route_removes, 1);
        engine->events->resource_deleted(engine->userdata, "a");
        ck_assert_int_eq(os_route_removes, 2);

        /* The Internet resource is a switch. */
        FzdResource *inet = resource("i", "Internet");
        inet->type = FZD_RESOURCE_INTERNET;
        engine->events->resource_upserted(engine->userdata, inet);
        ck_assert_int_eq(os_internet, 1);
        engine->events->resource_deleted(engine->userdata, "i");
        ck_assert_int_eq(os_internet, 0);

        /* A re-init after a reconnect: new routes first, then the old ones go. */
        engine->events->resource_upserted(engine->userdata, cidr_resource("x", "10.9.0.0/16"));
        int adds = os_route_adds, removes = os_route_removes, downs = os_downs;
        list[0] = cidr_resource("x", "10.9.0.0/16");
        engine->events->init(engine->userdata, &cfg, list, 1);
        fzd_resource_free(list[0]);
        ck_assert_int_eq(os_route_adds, adds + 1);
        ck_assert_int_eq(os_route_removes, removes + 1);
        ck_assert_int_eq(os_downs, downs); /* the device stays */

        fzd_manager_sign_out(m, "sign-out");
        ck_assert_int_eq(os_downs, downs + 1);
}
END_TEST

START_TEST(test_connected_once_dns_is_in_place) {
        FzdInterfaceConfig cfg = { .has_ipv4 = true };

        os_up_result = 1; /* DNS is being applied */
        sign_in();
        engine->events->init(engine->userdata, &cfg, NULL, 0);
        ck_assert_int_eq(m->state, FZD_STATE_CONNECTING);
        fzd_manager_os_events()->dns_applied(m, NULL);
        ck_assert_int_eq(m->state, FZD_STATE_CONNECTED);
        ck_assert_ptr_null(m->last_error);

        /* After a reconnect, DNS fails: connected, with the reason in last-error. */
        engine->events->reconnecting(engine->userdata, "Connection lost.");
        engine->events->init(engine->userdata, &cfg, NULL, 0);
        ck_assert_int_eq(m->state, FZD_STATE_RECONNECTING);
        fzd_manager_os_events()->dns_applied(m, "systemd-resolved is not running.");
        ck_assert_int_eq(m->state, FZD_STATE_CONNECTED);
        ck_assert_str_eq(m->last_error, "systemd-resolved is not running.");
        /* It recovers. */
        fzd_manager_os_events()->dns_applied(m, NULL);
        ck_assert_ptr_null(m->last_error);
}
END_TEST

static Suite *manager_suite(void) {
        Suite *s = suite_create("manager");
        TCase *tc = tcase_create("core");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_sign_in_connect_sign_out);
        tcase_add_test(tc, test_burst_of_updates_is_one_signal);
        tcase_add_test(tc, test_reconnecting_and_back);
        tcase_add_test(tc, test_token_expired);
        tcase_add_test(tc, test_service_account);
        tcase_add_test(tc, test_reconnect_when_signed_out);
        tcase_add_test(tc, test_api_url_option);
        tcase_add_test(tc, test_routes_follow_resources);
        tcase_add_test(tc, test_resources_added_one_by_one_are_capped);
        tcase_add_test(tc, test_connected_once_dns_is_in_place);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(manager_suite)
