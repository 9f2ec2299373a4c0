/* SPDX-License-Identifier: Apache-2.0 */
/* The node (daemon/ice/ice.c): relays, agents and the socket demultiplexer together, on a
 * simulated network with a fake TURN relay and a fake clock. The relayed path end to end:
 * candidates, channel binding, checks through ChannelData, the path the data plane gets, and
 * WireGuard-like datagrams both ways through the relay. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fake-turn.h"
#include "fz-check.h"
#include "ice.h"
#include "stun.h"

#define T0 FZD_SEC(1000)

typedef struct Node {
        FzdIce *ice;
        FzdIceAgent *agent;
        FzdAddr host;
        FzdIceEvent ev[128];
        size_t n_ev;
        unsigned wg_in; /* datagrams handed back as not-ICE or unwrapped */
        char wg_last[64];
        FzdAddr wg_from;
        bool wg_unwrapped;
} Node;

typedef struct World {
        uint64_t now;
        Node a, b;
        FakeTurn relay;
        Datagram q[256];
        size_t n;
        bool block_direct;
        unsigned relay_in;
} World;

static void queue(World *w, const FzdAddr *src, const FzdAddr *dst, const uint8_t *data, size_t len) {
        if (w->n >= 256 || len > sizeof(w->q[0].data))
                return;
        w->q[w->n].src = *src;
        w->q[w->n].dst = *dst;
        memcpy(w->q[w->n].data, data, len);
        w->q[w->n].len = len;
        w->n++;
}

static void collect(World *w, Node *x) {
        FzdIceTransmit t;
        FzdIceEvent e;

        while (fzd_ice_poll_transmit(x->ice, &t)) {
                FzdAddr src = fzd_addr_is_unspecified(&t.source) || !fzd_addr_is_set(&t.source) ? x->host
                                                                                                : t.source;
                ck_assert_int_eq(t.source.family, t.dest.family);
                queue(w, &src, &t.dest, t.data, t.len);
        }
        while (fzd_ice_poll_event(x->ice, &e))
                if (x->n_ev < 128)
                        x->ev[x->n_ev++] = e;
}

static void node_input(World *w, Node *x, const Datagram *d) {
        FzdIceUnwrapped u;
        FzdIceInput in = fzd_ice_handle_input(x->ice, w->now, &x->host, &d->src, d->data, d->len, &u);

        if (in == FZD_ICE_INPUT_NOT_ICE || in == FZD_ICE_INPUT_UNWRAPPED) {
                const uint8_t *p = in == FZD_ICE_INPUT_UNWRAPPED ? u.data : d->data;
                size_t n = in == FZD_ICE_INPUT_UNWRAPPED ? u.len : d->len;
                x->wg_in++;
                x->wg_unwrapped = in == FZD_ICE_INPUT_UNWRAPPED;
                x->wg_from = in == FZD_ICE_INPUT_UNWRAPPED ? u.peer : d->src;
                snprintf(x->wg_last, sizeof(x->wg_last), "%.*s", (int)n, (const char *)p);
        }
        collect(w, x);
}

static void deliver_all(World *w) {
        for (unsigned guard = 0; w->n > 0 && guard < 100000; guard++) {
                Datagram d = w->q[0];
                memmove(&w->q[0], &w->q[1], (w->n - 1) * sizeof(Datagram));
                w->n--;
                if (w->block_direct &&
                    ((fzd_addr_eq(&d.src, &w->a.host) && fzd_addr_eq(&d.dst, &w->b.host)) ||
                     (fzd_addr_eq(&d.src, &w->b.host) && fzd_addr_eq(&d.dst, &w->a.host))))
                        continue;
                if (fzd_addr_eq(&d.dst, &w->relay.server)) {
                        Datagram out[FAKE_TURN_MAX_OUT];
                        unsigned k = fake_turn_from_client(&w->relay, &d.src, d.data, d.len, out);
                        w->relay_in++;
                        for (unsigned i = 0; i < k; i++)
                                queue(w, &out[i].src, &out[i].dst, out[i].data, out[i].len);
                } else if (fzd_addr_eq(&d.dst, &w->relay.relayed)) {
                        Datagram out[FAKE_TURN_MAX_OUT];
                        unsigned k = fake_turn_from_peer(&w->relay, &d.src, d.data, d.len, out);
                        for (unsigned i = 0; i < k; i++)
                                queue(w, &out[i].src, &out[i].dst, out[i].data, out[i].len);
                } else if (fzd_addr_eq(&d.dst, &w->a.host))
                        node_input(w, &w->a, &d);
                else if (fzd_addr_eq(&d.dst, &w->b.host))
                        node_input(w, &w->b, &d);
        }
}

/* Trickle candidates between the agents as the portal would. */
static void exchange(World *w) {
        for (int side = 0; side < 2; side++) {
                Node *x = side ? &w->b : &w->a, *y = side ? &w->a : &w->b;
                for (size_t i = 0; i < x->n_ev; i++) {
                        FzdIceEvent *e = &x->ev[i];
                        const char *reason = NULL;
                        if (e->type == FZD_ICE_EVENT_CANDIDATE && e->agent && y->agent) {
                                ck_assert_msg(fzd_ice_add_remote_candidate(y->ice, y->agent, e->candidate,
                                                                           w->now, &reason) == 0,
                                              "%s: %s", e->candidate, reason);
                                e->type = _FZD_ICE_EVENT_MAX; /* consumed */
                        } else if (e->type == FZD_ICE_EVENT_CANDIDATE_INVALIDATED && e->agent && y->agent) {
                                (void)fzd_ice_remove_remote_candidate(y->ice, y->agent, e->candidate, w->now,
                                                                      &reason);
                                e->type = _FZD_ICE_EVENT_MAX;
                        }
                }
                collect(w, y);
        }
}

static void run_until(World *w, uint64_t until) {
        for (unsigned guard = 0; guard < 100000; guard++) {
                uint64_t ta, tb, t;
                exchange(w);
                deliver_all(w);
                exchange(w);
                deliver_all(w);
                ta = fzd_ice_poll_timeout(w->a.ice);
                tb = fzd_ice_poll_timeout(w->b.ice);
                t = ta < tb ? ta : tb;
                if (t > until)
                        break;
                if (t > w->now)
                        w->now = t;
                if (ta <= w->now) {
                        fzd_ice_handle_timeout(w->a.ice, w->now);
                        collect(w, &w->a);
                }
                if (tb <= w->now) {
                        fzd_ice_handle_timeout(w->b.ice, w->now);
                        collect(w, &w->b);
                }
        }
        if (until > w->now)
                w->now = until;
}

static const FzdIceEvent *last_event(const Node *x, FzdIceEventType type) {
        for (size_t i = x->n_ev; i > 0; i--)
                if (x->ev[i - 1].type == type)
                        return &x->ev[i - 1];
        return NULL;
}

static size_t count_events(const Node *x, FzdIceEventType type) {
        size_t n = 0;
        for (size_t i = 0; i < x->n_ev; i++)
                n += x->ev[i].type == type;
        return n;
}

static void setup(World *w) {
        FzdIceConfig c = {.learn_host_candidates = true};

        memset(w, 0, sizeof(*w));
        w->now = T0;
        fake_turn_init(&w->relay, "198.51.100.1:3478", "198.51.100.1:49152", "1700000000:x", "relay-pw");
        (void)fzd_addr_parse("10.0.0.1:52625", &w->a.host);
        (void)fzd_addr_parse("192.0.2.20:51820", &w->b.host);
        ck_assert_int_eq(fzd_ice_new(&c, &w->a.ice), 0);
        ck_assert_int_eq(fzd_ice_new(&c, &w->b.ice), 0);
}

static void add_relay(World *w) {
        FzdIceRelay r = {.id = "relay-1", .username = "1700000000:x", .password = "relay-pw"};

        r.addr = w->relay.server;
        ck_assert_int_eq(fzd_ice_upsert_relay(w->a.ice, &r, w->now), 1);
        collect(w, &w->a);
        deliver_all(w);
}

static void add_agents(World *w) {
        FzdIceAgentConfig ca = {
                .controlling = true,
                .local_ufrag = "cli",
                .local_pwd = "client-password-0123",
                .remote_ufrag = "gw",
                .remote_pwd = "gateway-password-0123",
        };
        FzdIceAgentConfig cb = {
                .controlling = false,
                .local_ufrag = "gw",
                .local_pwd = "gateway-password-0123",
                .remote_ufrag = "cli",
                .remote_pwd = "client-password-0123",
        };

        ck_assert_int_eq(fzd_ice_add_agent(w->a.ice, &ca, &w->a, w->now, &w->a.agent), 0);
        ck_assert_int_eq(fzd_ice_add_agent(w->b.ice, &cb, &w->b, w->now, &w->b.agent), 0);
        collect(w, &w->a);
        collect(w, &w->b);
}

static void teardown(World *w) {
        w->a.ice = fzd_ice_free(w->a.ice);
        w->b.ice = fzd_ice_free(w->b.ice);
}

/* Send a WireGuard-like datagram along a path as the data plane would. */
static void send_on_path(World *w, Node *x, const char *payload) {
        FzdIcePath p;
        uint8_t buf[128];
        size_t n = strlen(payload), off = 0;

        ck_assert_int_eq(fzd_ice_get_path(x->ice, x->agent, &p), 0);
        if (p.channel) {
                fzd_channel_data_header(buf, p.channel, (uint16_t)n);
                off = 4;
        }
        memcpy(buf + off, payload, n);
        queue(w, fzd_addr_is_set(&p.source) && !fzd_addr_is_unspecified(&p.source) ? &p.source : &x->host,
              &p.dest, buf, off + n);
        deliver_all(w);
}

START_TEST(test_relayed_only_path) {
        World w;
        const FzdIceEvent *e;
        FzdIcePath pa, pb;

        setup(&w);
        w.block_direct = true;
        add_relay(&w);
        /* The allocation is made before any connection exists. */
        e = last_event(&w.a, FZD_ICE_EVENT_RELAY_READY);
        ck_assert_ptr_nonnull(e);
        ck_assert_str_eq(e->relay_id, "relay-1");
        ck_assert(fzd_addr_eq(&e->addr, &w.relay.relayed));
        {
                FzdAddr host = w.b.host;
                ck_assert_int_eq(fzd_ice_set_host_candidates(w.b.ice, &host, 1, w.now), 0);
        }
        add_agents(&w);
        run_until(&w, T0 + FZD_SEC(5));

        /* A announced a host candidate (learned from the relay's answer), its server-reflexive
         * address and the relayed address. */
        {
                bool host = false, relay = false;
                for (size_t i = 0; i < w.a.n_ev; i++) {
                        if (w.a.ev[i].type != _FZD_ICE_EVENT_MAX)
                                continue;
                }
                for (size_t i = 0; i < w.a.n_ev; i++) {
                        const char *c = w.a.ev[i].candidate;
                        host |= strstr(c, "10.0.0.1 52625 typ host") != NULL;
                        relay |= strstr(c, "198.51.100.1 49152 typ relay") != NULL;
                }
                ck_assert(host);
                ck_assert(relay);
        }
        e = last_event(&w.a, FZD_ICE_EVENT_CONNECTED);
        ck_assert_ptr_nonnull(e);
        ck_assert_ptr_eq(e->userdata, &w.a);
        ck_assert_int_eq(fzd_ice_get_path(w.a.ice, w.a.agent, &pa), 0);
        ck_assert_int_eq(pa.local_type, FZD_ICE_CANDIDATE_RELAY);
        ck_assert(fzd_addr_eq(&pa.dest, &w.relay.server));
        ck_assert_uint_ge(pa.channel, 0x4000);
        ck_assert(fzd_addr_eq(&pa.peer, &w.b.host));
        ck_assert(fzd_addr_eq(&pa.relayed, &w.relay.relayed));
        ck_assert_str_eq(pa.relay_id, "relay-1");
        ck_assert_ptr_nonnull(last_event(&w.b, FZD_ICE_EVENT_CONNECTED));
        ck_assert_int_eq(fzd_ice_get_path(w.b.ice, w.b.agent, &pb), 0);
        ck_assert_int_eq(pb.remote_type, FZD_ICE_CANDIDATE_RELAY);
        ck_assert(fzd_addr_eq(&pb.dest, &w.relay.relayed));
        ck_assert_uint_eq(pb.channel, 0);

        /* WireGuard's datagrams, both ways, through the relay. */
        send_on_path(&w, &w.a, "wg-from-a");
        ck_assert_uint_eq(w.b.wg_in, 1);
        ck_assert_str_eq(w.b.wg_last, "wg-from-a");
        ck_assert(fzd_addr_eq(&w.b.wg_from, &w.relay.relayed));
        send_on_path(&w, &w.b, "wg-from-b");
        ck_assert_uint_eq(w.a.wg_in, 1);
        ck_assert(w.a.wg_unwrapped);
        ck_assert_str_eq(w.a.wg_last, "wg-from-b");
        ck_assert(fzd_addr_eq(&w.a.wg_from, &w.b.host));
        ck_assert_uint_ge(fzd_ice_get_stats(w.a.ice)->inputs_unwrapped, 1);
        teardown(&w);
}
END_TEST

START_TEST(test_direct_path_preferred) {
        World w;
        FzdIcePath pa;

        setup(&w);
        add_relay(&w);
        {
                FzdAddr host = w.b.host;
                ck_assert_int_eq(fzd_ice_set_host_candidates(w.b.ice, &host, 1, w.now), 0);
        }
        add_agents(&w);
        run_until(&w, T0 + FZD_SEC(5));
        ck_assert_int_eq(fzd_ice_get_path(w.a.ice, w.a.agent, &pa), 0);
        ck_assert_int_eq(pa.local_type, FZD_ICE_CANDIDATE_HOST);
        ck_assert_uint_eq(pa.channel, 0);
        ck_assert(fzd_addr_eq(&pa.dest, &w.b.host));
        send_on_path(&w, &w.a, "direct");
        ck_assert_uint_eq(w.b.wg_in, 1);
        ck_assert(!w.b.wg_unwrapped);
        teardown(&w);
}
END_TEST

START_TEST(test_path_moves_to_relay_when_direct_dies) {
        World w;
        FzdIcePath pa;

        setup(&w);
        add_relay(&w);
        {
                FzdAddr host = w.b.host;
                ck_assert_int_eq(fzd_ice_set_host_candidates(w.b.ice, &host, 1, w.now), 0);
        }
        add_agents(&w);
        run_until(&w, T0 + FZD_SEC(5));
        ck_assert_int_eq(fzd_ice_get_path(w.a.ice, w.a.agent, &pa), 0);
        ck_assert_int_eq(pa.local_type, FZD_ICE_CANDIDATE_HOST);
        /* The direct path breaks (a NAT rebinding, a firewall): after the ICE timeout the
         * selected pair fails and the relayed pair, kept valid meanwhile, takes over. */
        w.block_direct = true;
        fzd_ice_agent_note_traffic(w.a.agent, w.now);
        run_until(&w, w.now + FZD_SEC(30));
        ck_assert_int_eq(fzd_ice_get_path(w.a.ice, w.a.agent, &pa), 0);
        ck_assert_int_eq(pa.local_type, FZD_ICE_CANDIDATE_RELAY);
        ck_assert_uint_ge(count_events(&w.a, FZD_ICE_EVENT_PATH_CHANGED), 1);
        ck_assert_uint_eq(count_events(&w.a, FZD_ICE_EVENT_FAILED), 0);
        teardown(&w);
}
END_TEST

/* Reconnect() / roaming: every allocation starts again from the Binding with the same
 * credentials; the relay still holds the old one (437), which is deleted and made again. The
 * relayed candidate is withdrawn and announced anew; learned host candidates go. */
START_TEST(test_reset_reallocates) {
        World w;
        size_t ready_before, invalidated = 0;

        setup(&w);
        add_relay(&w);
        add_agents(&w);
        collect(&w, &w.a);
        ready_before = count_events(&w.a, FZD_ICE_EVENT_RELAY_READY);
        ck_assert_uint_eq(ready_before, 1);
        fzd_ice_reset(w.a.ice, w.now);
        collect(&w, &w.a);
        deliver_all(&w);
        collect(&w, &w.a);
        ck_assert_uint_eq(count_events(&w.a, FZD_ICE_EVENT_RELAY_READY), 2);
        for (size_t i = 0; i < w.a.n_ev; i++)
                if (w.a.ev[i].type == FZD_ICE_EVENT_CANDIDATE_INVALIDATED)
                        invalidated++;
        ck_assert_uint_ge(invalidated, 2); /* the relayed and the learned host candidate */
        ck_assert_uint_eq(w.relay.requests[FZD_STUN_REFRESH], 1); /* the delete after 437 */
        teardown(&w);
}
END_TEST

START_TEST(test_demux) {
        World w;
        FzdIceUnwrapped u;
        uint8_t wg[148] = {1, 0, 0, 0, 0x21, 0x12, 0xa4, 0x42};
        uint8_t stun[64];
        FzdStunBuilder b;
        uint8_t txid[12] = {5};
        FzdAddr stranger;
        int n;

        setup(&w);
        add_relay(&w);
        (void)fzd_addr_parse("192.0.2.99:51820", &stranger);
        /* WireGuard (even with a cookie-like word) is not ICE. */
        ck_assert_int_eq(fzd_ice_handle_input(w.a.ice, w.now, &w.a.host, &stranger, wg, sizeof(wg), &u),
                         FZD_ICE_INPUT_NOT_ICE);
        ck_assert_int_eq(
                fzd_ice_handle_input(w.a.ice, w.now, &w.a.host, &w.relay.server, wg, sizeof(wg), &u),
                FZD_ICE_INPUT_NOT_ICE);
        /* A check for no connection of ours: consumed, dropped. */
        fzd_stun_begin(&b, stun, sizeof(stun), FZD_STUN_BINDING, FZD_STUN_REQUEST, txid);
        fzd_stun_put_str(&b, FZD_STUN_ATTR_USERNAME, "nobody:x");
        n = fzd_stun_finish(&b);
        ck_assert_int_eq(fzd_ice_handle_input(w.a.ice, w.now, &w.a.host, &stranger, stun, (size_t)n, &u),
                         FZD_ICE_INPUT_CONSUMED);
        ck_assert(fzd_ice_is_relay(w.a.ice, &w.relay.server));
        ck_assert(!fzd_ice_is_relay(w.a.ice, &stranger));
        /* Removed relays' late packets are dropped, not given to WireGuard. */
        ck_assert_int_eq(fzd_ice_remove_relay(w.a.ice, "relay-1", w.now), 0);
        ck_assert_int_eq(fzd_ice_remove_relay(w.a.ice, "relay-1", w.now), -ENOENT);
        {
                uint8_t cd[] = {0x40, 0x00, 0x00, 0x01, 0x42};
                ck_assert_int_eq(
                        fzd_ice_handle_input(w.a.ice, w.now, &w.a.host, &w.relay.server, cd, sizeof(cd), &u),
                        FZD_ICE_INPUT_CONSUMED);
        }
        ck_assert(fzd_ice_is_relay(w.a.ice, &w.relay.server));
        teardown(&w);
}
END_TEST

START_TEST(test_relay_failure_events) {
        World w;
        const FzdIceEvent *e;

        setup(&w);
        w.relay.silent = true;
        add_relay(&w);
        run_until(&w, T0 + FZD_SEC(9));
        e = last_event(&w.a, FZD_ICE_EVENT_RELAY_FAILED);
        ck_assert_ptr_nonnull(e);
        ck_assert_str_eq(e->relay_id, "relay-1");
        ck_assert_int_eq(e->turn_failure, FZD_TURN_FAILURE_NO_RESPONSE);
        ck_assert_ptr_nonnull(last_event(&w.a, FZD_ICE_EVENT_NO_RELAYS));
        ck_assert_ptr_null(fzd_ice_get_turn(w.a.ice, "relay-1", AF_INET));
        teardown(&w);
}
END_TEST

START_TEST(test_relay_upsert_and_credentials) {
        World w;
        FzdIceRelay r = {.id = "relay-1", .username = "1700000000:x", .password = "relay-pw"};

        setup(&w);
        r.addr = w.relay.server;
        ck_assert_int_eq(fzd_ice_upsert_relay(w.a.ice, &r, w.now), 1);
        ck_assert_int_eq(fzd_ice_upsert_relay(w.a.ice, &r, w.now), 0);
        r.username = "1800000000:y";
        ck_assert_int_eq(fzd_ice_upsert_relay(w.a.ice, &r, w.now), 1);
        r.id = "";
        ck_assert_int_eq(fzd_ice_upsert_relay(w.a.ice, &r, w.now), -EINVAL);
        r.id = "relay-2";
        r.addr = (FzdAddr){};
        ck_assert_int_eq(fzd_ice_upsert_relay(w.a.ice, &r, w.now), -EINVAL);
        teardown(&w);
}
END_TEST

START_TEST(test_host_candidates_change) {
        World w;
        FzdAddr hosts[2];
        size_t invalidated = 0;

        setup(&w);
        add_agents(&w);
        (void)fzd_addr_parse("10.0.0.1:52625", &hosts[0]);
        (void)fzd_addr_parse("10.0.5.1:52625", &hosts[1]);
        ck_assert_int_eq(fzd_ice_set_host_candidates(w.a.ice, hosts, 2, w.now), 0);
        collect(&w, &w.a);
        ck_assert_uint_eq(count_events(&w.a, FZD_ICE_EVENT_CANDIDATE), 2);
        /* Roaming: one address goes. */
        ck_assert_int_eq(fzd_ice_set_host_candidates(w.a.ice, &hosts[1], 1, w.now), 0);
        collect(&w, &w.a);
        for (size_t i = 0; i < w.a.n_ev; i++)
                if (w.a.ev[i].type == FZD_ICE_EVENT_CANDIDATE_INVALIDATED) {
                        ck_assert_ptr_nonnull(strstr(w.a.ev[i].candidate, "10.0.0.1 52625 typ host"));
                        invalidated++;
                }
        ck_assert_uint_eq(invalidated, 1);
        hosts[0] = (FzdAddr){};
        ck_assert_int_eq(fzd_ice_set_host_candidates(w.a.ice, hosts, 1, w.now), -EINVAL);
        /* Checks are routed by ufrag: a second agent with the same one is refused. */
        {
                FzdIceAgentConfig c = {
                        .controlling = true,
                        .local_ufrag = "cli",
                        .local_pwd = "p1",
                        .remote_ufrag = "x",
                        .remote_pwd = "p2",
                };
                FzdIceAgent *dup;
                ck_assert_int_eq(fzd_ice_add_agent(w.a.ice, &c, NULL, w.now, &dup), -EEXIST);
        }
        /* Removing an agent drops its queued events. */
        ck_assert_int_eq(fzd_ice_set_host_candidates(w.a.ice, hosts + 1, 1, w.now), 0);
        fzd_ice_remove_agent(w.a.ice, w.a.agent);
        ck_assert_uint_eq(fzd_ice_count_agents(w.a.ice), 0);
        teardown(&w);
}
END_TEST

START_TEST(test_failed_agent_event) {
        World w;
        const FzdIceEvent *e;

        setup(&w);
        add_agents(&w);
        /* No candidates from the peer within 10 s. */
        run_until(&w, T0 + FZD_SEC(11));
        e = last_event(&w.a, FZD_ICE_EVENT_FAILED);
        ck_assert_ptr_nonnull(e);
        ck_assert_int_eq(e->failure, FZD_ICE_FAILURE_NO_CANDIDATES);
        ck_assert_ptr_eq(e->agent, w.a.agent);
        teardown(&w);
}
END_TEST

static Suite *ice_suite(void) {
        Suite *s = suite_create("ice");
        TCase *tc = tcase_create("core");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_relayed_only_path);
        tcase_add_test(tc, test_direct_path_preferred);
        tcase_add_test(tc, test_path_moves_to_relay_when_direct_dies);
        tcase_add_test(tc, test_reset_reallocates);
        tcase_add_test(tc, test_demux);
        tcase_add_test(tc, test_relay_failure_events);
        tcase_add_test(tc, test_relay_upsert_and_credentials);
        tcase_add_test(tc, test_host_candidates_change);
        tcase_add_test(tc, test_failed_agent_event);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(ice_suite)
