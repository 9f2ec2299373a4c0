/* SPDX-License-Identifier: Apache-2.0 */
/* The ICE agent (daemon/ice/agent.c): two agents on a simulated network with a fake clock —
 * connectivity, nomination in both roles, Firezone's timers (ICE timeout, idle, keepalives,
 * candidate timeout, disconnect grace), role conflicts, trickle, peer-reflexive candidates,
 * pacing, and bad input. Candidate parsing is here too. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "candidate.h"
#include "fz-check.h"
#include "stun.h"

#define T0      FZD_SEC(1000)
#define MAX_PKT 512

typedef struct Packet {
        uint64_t at;
        FzdAddr src, dst;
        uint8_t data[1024];
        size_t len;
} Packet;

typedef struct Peer {
        FzdIceAgent *a;
        FzdAddr hosts[4];
        size_t n_hosts;
        /* optional NAT in front of hosts[0]: what the network sees as its source */
        bool natted;
        FzdAddr public_addr;
        /* record */
        unsigned states[_FZD_ICE_STATE_MAX];
        uint64_t state_at[_FZD_ICE_STATE_MAX];
        unsigned selections;
        unsigned nominations; /* NOMINATED events */
        uint64_t nominated_at;
        uint64_t selected_at;
        char candidates[16][FZD_ICE_CANDIDATE_MAX];
        size_t n_candidates;
        uint64_t check_times[256];
        size_t n_checks;
        FzdAddr check_from[256];
} Peer;

typedef struct Net {
        uint64_t now;
        Peer p[2];
        Packet q[MAX_PKT];
        size_t n;
        uint64_t latency;
        bool down;         /* drop everything */
        bool auto_trickle; /* hand candidates to the other side as they come */
        uint64_t trickle_delay;
        unsigned delivered;
} Net;

static Peer *other(Net *n, Peer *p) {
        return p == &n->p[0] ? &n->p[1] : &n->p[0];
}

static void new_agent(Net *n, int i, bool controlling, const char *lu, const char *lp, const char *ru,
                      const char *rp, uint64_t ta) {
        FzdIceAgentConfig c = {
                .controlling = controlling,
                .local_ufrag = lu,
                .local_pwd = lp,
                .remote_ufrag = ru,
                .remote_pwd = rp,
                .ta = ta,
                .tie_breaker = controlling ? 1000 + (uint64_t)i : 2000 + (uint64_t)i,
        };
        ck_assert_int_eq(fzd_ice_agent_new(&c, n->now, &n->p[i].a), 0);
}

static void setup(Net *n, uint64_t ta) {
        memset(n, 0, sizeof(*n));
        n->now = T0;
        n->latency = FZD_USEC(10);
        n->auto_trickle = true;
        new_agent(n, 0, true, "ufragA", "passwordA-0123456789", "ufragB", "passwordB-0123456789", ta);
        new_agent(n, 1, false, "ufragB", "passwordB-0123456789", "ufragA", "passwordA-0123456789", ta);
}

static void teardown(Net *n) {
        for (int i = 0; i < 2; i++)
                n->p[i].a = fzd_ice_agent_free(n->p[i].a);
}

static void add_host(Net *n, int i, const char *addr) {
        Peer *p = &n->p[i];
        ck_assert_int_eq(fzd_addr_parse(addr, &p->hosts[p->n_hosts]), 0);
        ck_assert_int_eq(fzd_ice_agent_add_local(p->a, FZD_ICE_CANDIDATE_HOST, &p->hosts[p->n_hosts], NULL,
                                                 NULL, -1, n->now),
                         1);
        p->n_hosts++;
}

static void send_packet(Net *n, Peer *from, const FzdIceAgentTransmit *t) {
        Packet *pk;

        from->check_from[from->n_checks < 256 ? from->n_checks : 255] = t->source;
        from->check_times[from->n_checks < 256 ? from->n_checks++ : 255] = n->now;
        if (n->down || n->n >= MAX_PKT || t->len > sizeof(pk->data))
                return;
        pk = &n->q[n->n++];
        pk->at = n->now + n->latency;
        pk->src = t->source;
        if (from->natted && fzd_addr_eq(&t->source, &from->hosts[0]))
                pk->src = from->public_addr;
        pk->dst = t->dest;
        memcpy(pk->data, t->data, t->len);
        pk->len = t->len;
}

static void drain(Net *n) {
        for (int i = 0; i < 2; i++) {
                Peer *p = &n->p[i];
                FzdIceAgentTransmit t;
                FzdIceAgentEvent e;
                while (fzd_ice_agent_poll_transmit(p->a, &t)) {
                        /* Only checks and their answers go out, and the checks say what they should. */
                        FzdStunMsg m;
                        uint8_t copy[1024];
                        memcpy(copy, t.data, t.len);
                        ck_assert_int_eq(fzd_stun_parse(copy, t.len, &m), 0);
                        ck_assert_uint_eq(m.method, FZD_STUN_BINDING);
                        ck_assert_int_ge(m.fingerprint, 0);
                        ck_assert_int_ge(m.integrity, 0);
                        if (m.cls == FZD_STUN_REQUEST)
                                send_packet(n, p, &t);
                        else {
                                size_t saved = p->n_checks;
                                send_packet(n, p, &t);
                                p->n_checks = saved; /* count requests only */
                        }
                }
                while (fzd_ice_agent_poll_event(p->a, &e)) {
                        if (e.type == FZD_ICE_AGENT_EVENT_STATE) {
                                p->states[e.state]++;
                                p->state_at[e.state] = n->now;
                        } else if (e.type == FZD_ICE_AGENT_EVENT_SELECTED) {
                                FzdIceSelected s;
                                if (fzd_ice_agent_get_selected(p->a, &s) == 0) {
                                        p->selections++;
                                        p->selected_at = n->now;
                                }
                        } else if (e.type == FZD_ICE_AGENT_EVENT_NOMINATED) {
                                FzdIceSelected s;
                                ck_assert_int_eq(fzd_ice_agent_get_selected(p->a, &s), 0);
                                ck_assert(s.nominated);
                                p->nominations++;
                                p->nominated_at = n->now;
                        } else if (e.type == FZD_ICE_AGENT_EVENT_CANDIDATE) {
                                if (p->n_candidates < 16)
                                        snprintf(p->candidates[p->n_candidates++], FZD_ICE_CANDIDATE_MAX,
                                                 "%s", e.candidate);
                                if (n->auto_trickle) {
                                        const char *reason = NULL;
                                        ck_assert_int_eq(fzd_ice_agent_add_remote(other(n, p)->a,
                                                                                  e.candidate, n->now,
                                                                                  &reason),
                                                         0);
                                }
                        }
                }
        }
}

static void deliver(Net *n, Packet *pk) {
        for (int i = 0; i < 2; i++) {
                Peer *p = &n->p[i];
                FzdAddr local = pk->dst;
                bool mine = false;
                FzdStunMsg m;

                if (p->natted && fzd_addr_eq(&pk->dst, &p->public_addr)) {
                        local = p->hosts[0];
                        mine = true;
                }
                for (size_t k = 0; k < p->n_hosts && !mine; k++)
                        mine = fzd_addr_eq(&pk->dst, &p->hosts[k]);
                /* A NATted host address is not reachable from outside. */
                if (p->natted && fzd_addr_eq(&pk->dst, &p->hosts[0]))
                        mine = false;
                if (!mine)
                        continue;
                ck_assert_int_eq(fzd_stun_parse(pk->data, pk->len, &m), 0);
                if (fzd_ice_agent_owns(p->a, &m))
                        fzd_ice_agent_handle_stun(p->a, n->now, &m, &local, &pk->src, -1);
                n->delivered++;
        }
}

static uint64_t next_time(Net *n) {
        uint64_t t = UINT64_MAX;
        for (int i = 0; i < 2; i++) {
                uint64_t x = fzd_ice_agent_poll_timeout(n->p[i].a);
                if (x < t)
                        t = x;
        }
        for (size_t i = 0; i < n->n; i++)
                if (n->q[i].at < t)
                        t = n->q[i].at;
        return t;
}

static void run_until(Net *n, uint64_t until) {
        drain(n);
        for (unsigned guard = 0; guard < 1000000; guard++) {
                uint64_t t = next_time(n);
                if (t > until)
                        break;
                if (t > n->now)
                        n->now = t;
                for (size_t i = 0; i < n->n;) {
                        if (n->q[i].at <= n->now) {
                                Packet pk = n->q[i];
                                n->q[i] = n->q[--n->n];
                                deliver(n, &pk);
                                continue;
                        }
                        i++;
                }
                for (int i = 0; i < 2; i++)
                        if (fzd_ice_agent_poll_timeout(n->p[i].a) <= n->now)
                                fzd_ice_agent_handle_timeout(n->p[i].a, n->now);
                drain(n);
        }
        if (until > n->now)
                n->now = until;
}

static void selected(Net *n, int i, FzdIceSelected *s) {
        ck_assert_int_eq(fzd_ice_agent_get_selected(n->p[i].a, s), 0);
}

/* ---- tests ------------------------------------------------------------------------------ */

START_TEST(test_host_to_host) {
        Net n;
        FzdIceSelected s;

        setup(&n, FZD_ICE_DEFAULT_TA);
        add_host(&n, 0, "10.0.0.1:1000");
        add_host(&n, 1, "10.0.0.2:2000");
        run_until(&n, T0 + FZD_SEC(1));
        for (int i = 0; i < 2; i++) {
                ck_assert_int_eq(fzd_ice_agent_get_state(n.p[i].a), FZD_ICE_STATE_CONNECTED);
                selected(&n, i, &s);
                ck_assert_int_eq(s.local_type, FZD_ICE_CANDIDATE_HOST);
                ck_assert_int_eq(s.remote_type, FZD_ICE_CANDIDATE_HOST);
                ck_assert(fzd_addr_eq(&s.remote, &n.p[1 - i].hosts[0]));
                ck_assert(s.nominated);
                ck_assert_uint_eq(n.p[i].selections, 1);
        }
        /* The controlling agent hears when its nomination was accepted (the node resends a
         * pending WireGuard initiation then), after it selected the pair; the controlled one
         * selects nominated pairs only. */
        ck_assert_uint_eq(n.p[0].nominations, 1);
        ck_assert_uint_ge(n.p[0].nominated_at, n.p[0].selected_at);
        ck_assert_uint_eq(n.p[1].nominations, 0);
        /* A check and its answer: a couple of latencies, well under 100 ms here. */
        ck_assert_uint_le(n.p[0].state_at[FZD_ICE_STATE_CONNECTED] - T0, FZD_USEC(100));
        ck_assert(fzd_ice_agent_is_controlling(n.p[0].a));
        ck_assert(!fzd_ice_agent_is_controlling(n.p[1].a));
        ck_assert_uint_eq(fzd_ice_agent_get_stats(n.p[0].a)->role_conflicts, 0);
        /* Candidates in Firezone's form, with our ufrag. */
        ck_assert_uint_ge(n.p[0].n_candidates, 1);
        ck_assert_msg(strstr(n.p[0].candidates[0], " 1 udp ") && strstr(n.p[0].candidates[0], " typ host") &&
                              strstr(n.p[0].candidates[0], " ufrag ufragA") &&
                              strncmp(n.p[0].candidates[0], "candidate:", 10) == 0,
                      "%s", n.p[0].candidates[0]);
        teardown(&n);
}
END_TEST

/* Checks of a pair that never answers: 0, 250, 750, 1750, 3250, then every 1.5 s; the pair fails
 * 16.5 s after the first, the agent says disconnected then, and failed 2 s later. */
START_TEST(test_ice_timeout_unanswered) {
        Net n;
        const uint64_t expect[] = {0,    250,  750,   1750,  3250,  4750, 6250,
                                   7750, 9250, 10750, 12250, 13750, 15250};

        setup(&n, 0);
        n.down = true;
        add_host(&n, 0, "10.0.0.1:1000");
        add_host(&n, 1, "10.0.0.2:2000");
        run_until(&n, T0 + FZD_SEC(30));
        ck_assert_uint_eq(n.p[0].n_checks, sizeof(expect) / sizeof(expect[0]));
        for (size_t i = 0; i < n.p[0].n_checks; i++)
                ck_assert_uint_eq(n.p[0].check_times[i] - T0, FZD_USEC(expect[i]));
        ck_assert_uint_eq(fzd_ice_timing_timeout(&FZD_ICE_TIMING_ACTIVE), FZD_USEC(16500));
        ck_assert_uint_eq(fzd_ice_timing_timeout(&FZD_ICE_TIMING_IDLE), FZD_SEC(100));
        ck_assert_uint_eq(n.p[0].states[FZD_ICE_STATE_DISCONNECTED], 1);
        ck_assert_uint_eq(n.p[0].state_at[FZD_ICE_STATE_DISCONNECTED] - T0, FZD_USEC(16500));
        ck_assert_uint_eq(n.p[0].state_at[FZD_ICE_STATE_FAILED] - T0, FZD_USEC(18500));
        ck_assert_int_eq(fzd_ice_agent_get_failure(n.p[0].a), FZD_ICE_FAILURE_TIMEOUT);
        /* Once failed, nothing more is scheduled. */
        ck_assert_uint_eq(fzd_ice_agent_poll_timeout(n.p[0].a), UINT64_MAX);
        teardown(&n);
}
END_TEST

/* A connected pair whose path goes dark fails after the ICE timeout: disconnected, then failed. */
START_TEST(test_ice_timeout_after_connected) {
        Net n;
        uint64_t cut, d;

        setup(&n, FZD_ICE_DEFAULT_TA);
        add_host(&n, 0, "10.0.0.1:1000");
        add_host(&n, 1, "10.0.0.2:2000");
        run_until(&n, T0 + FZD_SEC(5));
        ck_assert_int_eq(fzd_ice_agent_get_state(n.p[0].a), FZD_ICE_STATE_CONNECTED);
        n.down = true;
        cut = n.now;
        fzd_ice_agent_note_traffic(n.p[0].a, n.now);
        run_until(&n, cut + FZD_SEC(30));
        d = n.p[0].state_at[FZD_ICE_STATE_DISCONNECTED] - cut;
        /* 16.5 s from the first unanswered check, which is at most one interval (1.5 s) after the cut. */
        ck_assert_msg(d >= FZD_USEC(16500) && d <= FZD_USEC(18000), "disconnected after %lu us",
                      (unsigned long)d);
        ck_assert_uint_eq(n.p[0].state_at[FZD_ICE_STATE_FAILED] -
                                  n.p[0].state_at[FZD_ICE_STATE_DISCONNECTED],
                          FZD_SEC(2));
        teardown(&n);
}
END_TEST

/* A peer that is gone (a gateway that restarted) with two valid pairs: when the selected one
 * times out, the standby pair gets a fresh check and FZD_ICE_REVALIDATE_USEC to answer —
 * the agent fails after one ICE timeout, not one per pair. And a standby pair that still
 * answers takes over at once. */
START_TEST(test_silent_peer_fails_once_with_standby_pairs) {
        Net n;
        uint64_t cut, d;

        setup(&n, FZD_ICE_DEFAULT_TA);
        add_host(&n, 0, "10.0.0.1:1000");
        add_host(&n, 0, "10.0.1.1:1001");
        add_host(&n, 1, "10.0.0.2:2000");
        run_until(&n, T0 + FZD_SEC(5));
        ck_assert_int_eq(fzd_ice_agent_get_state(n.p[0].a), FZD_ICE_STATE_CONNECTED);
        n.down = true;
        cut = n.now;
        for (unsigned t = 1; t <= 40; t++) {
                fzd_ice_agent_note_traffic(n.p[0].a, n.now);
                run_until(&n, cut + FZD_SEC(t));
        }
        ck_assert_int_eq(fzd_ice_agent_get_state(n.p[0].a), FZD_ICE_STATE_FAILED);
        d = n.p[0].state_at[FZD_ICE_STATE_FAILED] - cut;
        /* ≤ 1.5 s to the first unanswered check + 16.5 s + 3 s revalidation + 2 s grace. */
        ck_assert_msg(d <= FZD_USEC(1500 + 16500 + 2000) + FZD_ICE_REVALIDATE_USEC, "failed after %lu us",
                      (unsigned long) d);
        ck_assert_uint_eq(n.p[0].selections, 1); /* the standby pair was never selected unchecked */
        teardown(&n);
}
END_TEST

START_TEST(test_keepalive_active_then_idle) {
        Net n;
        size_t before;
        uint64_t t;

        setup(&n, FZD_ICE_DEFAULT_TA);
        add_host(&n, 0, "10.0.0.1:1000");
        add_host(&n, 1, "10.0.0.2:2000");
        run_until(&n, T0 + FZD_SEC(1));
        /* Traffic every second: the selected pair is checked every 1.5 s. */
        before = n.p[0].n_checks;
        for (t = 1; t <= 15; t++) {
                fzd_ice_agent_note_traffic(n.p[0].a, n.now);
                run_until(&n, T0 + FZD_SEC(1 + t));
        }
        ck_assert(!fzd_ice_agent_is_idle(n.p[0].a));
        ck_assert_uint_ge(n.p[0].n_checks - before, 9);
        ck_assert_uint_le(n.p[0].n_checks - before, 11);
        /* No traffic: idle after 20 s, then a check every 25 s. */
        run_until(&n, n.now + FZD_SEC(20));
        ck_assert(fzd_ice_agent_is_idle(n.p[0].a));
        run_until(&n, n.now + FZD_SEC(5)); /* let a check of the old cadence finish */
        before = n.p[0].n_checks;
        run_until(&n, n.now + FZD_SEC(100));
        ck_assert_uint_ge(n.p[0].n_checks - before, 3);
        ck_assert_uint_le(n.p[0].n_checks - before, 5);
        ck_assert_int_eq(fzd_ice_agent_get_state(n.p[0].a), FZD_ICE_STATE_CONNECTED);
        /* Traffic again: active, a check within 1.5 s. */
        before = n.p[0].n_checks;
        fzd_ice_agent_note_traffic(n.p[0].a, n.now);
        ck_assert(!fzd_ice_agent_is_idle(n.p[0].a));
        run_until(&n, n.now + FZD_USEC(1500));
        ck_assert_uint_ge(n.p[0].n_checks - before, 1);
        teardown(&n);
}
END_TEST

/* The selected pair is checked every 1.5 s while traffic flows; another valid pair, kept for
 * failover, every 25 s (str0m checks it every 1.5 s too). */
START_TEST(test_standby_pair_cadence) {
        Net n;
        FzdIceSelected s;
        unsigned on_selected = 0, on_standby = 0;
        size_t before;

        setup(&n, FZD_ICE_DEFAULT_TA);
        add_host(&n, 0, "10.0.0.1:1000");
        add_host(&n, 0, "10.0.1.1:1001");
        add_host(&n, 1, "10.0.0.2:2000");
        run_until(&n, T0 + FZD_SEC(1));
        selected(&n, 0, &s);
        before = n.p[0].n_checks;
        for (unsigned t = 1; t <= 100; t++) {
                fzd_ice_agent_note_traffic(n.p[0].a, n.now);
                run_until(&n, T0 + FZD_SEC(1 + t));
        }
        for (size_t i = before; i < n.p[0].n_checks && i < 256; i++) {
                if (fzd_addr_eq(&n.p[0].check_from[i], &s.base))
                        on_selected++;
                else
                        on_standby++;
        }
        ck_assert_msg(on_selected >= 64 && on_selected <= 68, "selected pair checked %u times in 100 s",
                      on_selected);
        ck_assert_msg(on_standby >= 3 && on_standby <= 5, "standby pair checked %u times in 100 s",
                      on_standby);
        teardown(&n);
}
END_TEST

/* Three valid direct pairs: the selected one and the best other one are kept alive; the third
 * is not checked again (no relayed pair here to keep as the other standby). */
START_TEST(test_only_the_best_standby_pairs_are_kept_alive) {
        Net n;
        FzdIceSelected s;
        size_t before;
        FzdAddr bases[3];
        unsigned per_base[3] = { 0, 0, 0 };

        setup(&n, FZD_ICE_DEFAULT_TA);
        add_host(&n, 0, "10.0.0.1:1000");
        add_host(&n, 0, "10.0.1.1:1001");
        add_host(&n, 0, "10.0.2.1:1002");
        add_host(&n, 1, "10.0.0.2:2000");
        for (int i = 0; i < 3; i++)
                bases[i] = n.p[0].hosts[i];
        run_until(&n, T0 + FZD_SEC(5));
        selected(&n, 0, &s);
        before = n.p[0].n_checks;
        for (unsigned t = 1; t <= 100; t++) {
                fzd_ice_agent_note_traffic(n.p[0].a, n.now);
                run_until(&n, T0 + FZD_SEC(5 + t));
        }
        for (size_t i = before; i < n.p[0].n_checks && i < 256; i++)
                for (int b = 0; b < 3; b++)
                        if (fzd_addr_eq(&n.p[0].check_from[i], &bases[b]))
                                per_base[b]++;
        {
                unsigned checked = 0, silent = 0;
                for (int b = 0; b < 3; b++) {
                        if (fzd_addr_eq(&bases[b], &s.base))
                                continue;
                        if (per_base[b] >= 3)
                                checked++;
                        else if (per_base[b] == 0)
                                silent++;
                }
                ck_assert_msg(checked == 1 && silent == 1, "standby checks per base: %u %u %u", per_base[0],
                              per_base[1], per_base[2]);
        }
        teardown(&n);
}
END_TEST

START_TEST(test_idle_loss_takes_100s) {
        Net n;
        uint64_t cut, d;

        setup(&n, FZD_ICE_DEFAULT_TA);
        add_host(&n, 0, "10.0.0.1:1000");
        add_host(&n, 1, "10.0.0.2:2000");
        run_until(&n, T0 + FZD_SEC(30));
        ck_assert(fzd_ice_agent_is_idle(n.p[0].a));
        n.down = true;
        cut = n.now;
        run_until(&n, cut + FZD_SEC(200));
        d = n.p[0].state_at[FZD_ICE_STATE_DISCONNECTED] - cut;
        ck_assert_msg(d >= FZD_SEC(100) && d <= FZD_SEC(125), "disconnected after %lu us", (unsigned long)d);
        teardown(&n);
}
END_TEST

START_TEST(test_candidate_timeout) {
        Net n;

        setup(&n, FZD_ICE_DEFAULT_TA);
        n.auto_trickle = false;
        add_host(&n, 0, "10.0.0.1:1000");
        run_until(&n, T0 + FZD_SEC(10) - 1);
        ck_assert_int_eq(fzd_ice_agent_get_state(n.p[0].a), FZD_ICE_STATE_CHECKING);
        run_until(&n, T0 + FZD_SEC(10));
        ck_assert_int_eq(fzd_ice_agent_get_state(n.p[0].a), FZD_ICE_STATE_FAILED);
        ck_assert_int_eq(fzd_ice_agent_get_failure(n.p[0].a), FZD_ICE_FAILURE_NO_CANDIDATES);
        teardown(&n);
}
END_TEST

START_TEST(test_late_trickle) {
        Net n;
        char cand[FZD_ICE_CANDIDATE_MAX];

        setup(&n, FZD_ICE_DEFAULT_TA);
        n.auto_trickle = false;
        add_host(&n, 0, "10.0.0.1:1000");
        add_host(&n, 1, "10.0.0.2:2000");
        run_until(&n, T0 + FZD_SEC(3));
        /* B hears of A first: its checks make A learn B as peer-reflexive, then B's real
         * candidate arrives and replaces it. */
        ck_assert_int_eq(fzd_ice_agent_add_remote(n.p[1].a, n.p[0].candidates[0], n.now, NULL), 0);
        run_until(&n, T0 + FZD_SEC(4));
        ck_assert_uint_eq(fzd_ice_agent_get_stats(n.p[0].a)->prflx_learned, 1);
        ck_assert_int_eq(fzd_ice_agent_get_state(n.p[0].a), FZD_ICE_STATE_CONNECTED);
        snprintf(cand, sizeof(cand), "%s", n.p[1].candidates[0]);
        ck_assert_int_eq(fzd_ice_agent_add_remote(n.p[0].a, cand, n.now, NULL), 0);
        run_until(&n, T0 + FZD_SEC(5));
        {
                FzdIceSelected s;
                selected(&n, 0, &s);
                ck_assert_int_eq(s.remote_type, FZD_ICE_CANDIDATE_HOST);
        }
        ck_assert_int_eq(fzd_ice_agent_get_state(n.p[1].a), FZD_ICE_STATE_CONNECTED);
        teardown(&n);
}
END_TEST

START_TEST(test_better_pair_later_changes_path) {
        Net n;
        FzdIceSelected s;
        FzdAddr b2;
        char sdp[FZD_ICE_CANDIDATE_MAX];
        FzdIceCandidate c = {.type = FZD_ICE_CANDIDATE_SRFLX, .priority = 100u << 24, .component = 1};

        setup(&n, FZD_ICE_DEFAULT_TA);
        n.auto_trickle = false;
        add_host(&n, 0, "10.0.0.1:1000");
        add_host(&n, 1, "10.0.0.2:2000");
        drain(&n);
        /* A learns B's address as a low-priority server-reflexive candidate first. */
        snprintf(c.foundation, sizeof(c.foundation), "f1");
        (void)fzd_addr_parse("10.0.0.2:2000", &c.addr);
        ck_assert_int_ge(fzd_ice_candidate_format(&c, NULL, sdp, sizeof(sdp)), 0);
        ck_assert_int_eq(fzd_ice_agent_add_remote(n.p[0].a, sdp, n.now, NULL), 0);
        ck_assert_int_eq(fzd_ice_agent_add_remote(n.p[1].a, n.p[0].candidates[0], n.now, NULL), 0);
        run_until(&n, T0 + FZD_SEC(1));
        selected(&n, 0, &s);
        ck_assert_int_eq(s.remote_type, FZD_ICE_CANDIDATE_SRFLX);
        ck_assert_uint_eq(n.p[0].selections, 1);
        /* Then a host candidate on a second address: a better pair succeeds, the path moves. */
        add_host(&n, 1, "10.0.1.2:2001");
        drain(&n);
        (void)fzd_addr_parse("10.0.1.2:2001", &b2);
        ck_assert_int_eq(fzd_ice_agent_add_remote(n.p[0].a, n.p[1].candidates[1], n.now, NULL), 0);
        run_until(&n, T0 + FZD_SEC(2));
        selected(&n, 0, &s);
        ck_assert_int_eq(s.remote_type, FZD_ICE_CANDIDATE_HOST);
        ck_assert(fzd_addr_eq(&s.remote, &b2));
        ck_assert_uint_eq(n.p[0].selections, 2);
        /* The controlled side follows: it sends on the pair nominated to it last, from the
         * second address (by its own view of priorities the first pair would do, and it is
         * still valid: after a peer's address change that view kept the old path). */
        selected(&n, 1, &s);
        ck_assert(s.nominated);
        ck_assert(fzd_addr_eq(&s.local, &b2));
        ck_assert_int_eq(fzd_ice_agent_get_state(n.p[1].a), FZD_ICE_STATE_CONNECTED);

        /* Withdrawing that candidate moves the path off it (B's checks from that address
         * still make it a peer-reflexive one). */
        ck_assert_int_eq(fzd_ice_agent_remove_remote(n.p[0].a, n.p[1].candidates[1], n.now, NULL), 0);
        run_until(&n, T0 + FZD_SEC(3));
        selected(&n, 0, &s);
        ck_assert_int_ne(s.remote_type, FZD_ICE_CANDIDATE_HOST);
        ck_assert_int_eq(fzd_ice_agent_get_state(n.p[0].a), FZD_ICE_STATE_CONNECTED);
        teardown(&n);
}
END_TEST

static void role_conflict(bool a_controlling, bool b_controlling) {
        Net n;

        memset(&n, 0, sizeof(n));
        n.now = T0;
        n.latency = FZD_USEC(10);
        n.auto_trickle = true;
        new_agent(&n, 0, a_controlling, "ufragA", "passwordA-0123456789", "ufragB", "passwordB-0123456789",
                  0);
        new_agent(&n, 1, b_controlling, "ufragB", "passwordB-0123456789", "ufragA", "passwordA-0123456789",
                  0);
        add_host(&n, 0, "10.0.0.1:1000");
        add_host(&n, 1, "10.0.0.2:2000");
        run_until(&n, T0 + FZD_SEC(2));
        ck_assert_int_eq(fzd_ice_agent_get_state(n.p[0].a), FZD_ICE_STATE_CONNECTED);
        ck_assert_int_eq(fzd_ice_agent_get_state(n.p[1].a), FZD_ICE_STATE_CONNECTED);
        ck_assert(fzd_ice_agent_is_controlling(n.p[0].a) != fzd_ice_agent_is_controlling(n.p[1].a));
        ck_assert_uint_ge(fzd_ice_agent_get_stats(n.p[0].a)->role_conflicts +
                                  fzd_ice_agent_get_stats(n.p[1].a)->role_conflicts,
                          1);
        teardown(&n);
}

START_TEST(test_role_conflict_both_controlling) {
        role_conflict(true, true);
}
END_TEST

START_TEST(test_role_conflict_both_controlled) {
        role_conflict(false, false);
}
END_TEST

START_TEST(test_pacing) {
        Net n;

        setup(&n, FZD_USEC(50));
        n.down = true;
        add_host(&n, 0, "10.0.0.1:1000");
        add_host(&n, 0, "10.0.1.1:1001");
        add_host(&n, 1, "10.0.0.2:2000");
        add_host(&n, 1, "10.0.1.2:2001");
        run_until(&n, T0 + FZD_USEC(200));
        /* Four pairs, one new check per Ta = 50 ms. */
        ck_assert_uint_eq(n.p[0].n_checks, 4);
        for (size_t i = 1; i < 4; i++)
                ck_assert_uint_ge(n.p[0].check_times[i] - n.p[0].check_times[i - 1], FZD_USEC(50));
        teardown(&n);
}
END_TEST

START_TEST(test_peer_reflexive_through_nat) {
        Net n;
        FzdIceSelected s;

        setup(&n, FZD_ICE_DEFAULT_TA);
        n.p[0].natted = true;
        ck_assert_int_eq(fzd_addr_parse("203.0.113.1:40000", &n.p[0].public_addr), 0);
        add_host(&n, 0, "10.0.0.1:1000");
        add_host(&n, 1, "198.51.100.2:2000");
        run_until(&n, T0 + FZD_SEC(2));
        /* B cannot reach A's private address, but A's checks arrive from its NAT mapping:
         * B learns it as peer-reflexive and its triggered check gets through. */
        ck_assert_uint_ge(fzd_ice_agent_get_stats(n.p[1].a)->prflx_learned, 1);
        ck_assert_int_eq(fzd_ice_agent_get_state(n.p[1].a), FZD_ICE_STATE_CONNECTED);
        selected(&n, 1, &s);
        ck_assert_int_eq(s.remote_type, FZD_ICE_CANDIDATE_PRFLX);
        ck_assert(fzd_addr_eq(&s.remote, &n.p[0].public_addr));
        ck_assert_int_eq(fzd_ice_agent_get_state(n.p[0].a), FZD_ICE_STATE_CONNECTED);
        teardown(&n);
}
END_TEST

START_TEST(test_wrong_password_never_connects) {
        Net n;

        memset(&n, 0, sizeof(n));
        n.now = T0;
        n.latency = FZD_USEC(10);
        n.auto_trickle = true;
        new_agent(&n, 0, true, "ufragA", "passwordA-0123456789", "ufragB", "not-B's-password", 0);
        new_agent(&n, 1, false, "ufragB", "passwordB-0123456789", "ufragA", "passwordA-0123456789", 0);
        add_host(&n, 0, "10.0.0.1:1000");
        add_host(&n, 1, "10.0.0.2:2000");
        run_until(&n, T0 + FZD_SEC(25));
        ck_assert_uint_ge(fzd_ice_agent_get_stats(n.p[1].a)->bad_requests, 1);
        ck_assert_uint_eq(n.p[0].states[FZD_ICE_STATE_CONNECTED], 0);
        ck_assert_int_eq(fzd_ice_agent_get_state(n.p[0].a), FZD_ICE_STATE_FAILED);
        teardown(&n);
}
END_TEST

START_TEST(test_recovers_within_grace) {
        Net n;

        setup(&n, FZD_ICE_DEFAULT_TA);
        add_host(&n, 0, "10.0.0.1:1000");
        add_host(&n, 1, "10.0.0.2:2000");
        run_until(&n, T0 + FZD_SEC(1));
        n.down = true;
        run_until(&n, n.p[0].state_at[FZD_ICE_STATE_CONNECTED] + FZD_SEC(20));
        ck_assert_int_eq(fzd_ice_agent_get_state(n.p[0].a), FZD_ICE_STATE_DISCONNECTED);
        /* A new address for B within the 2 s grace: checks start again and succeed. */
        n.down = false;
        add_host(&n, 1, "10.0.1.2:2001");
        run_until(&n, n.now + FZD_SEC(1));
        ck_assert_int_eq(fzd_ice_agent_get_state(n.p[0].a), FZD_ICE_STATE_CONNECTED);
        run_until(&n, n.now + FZD_SEC(10));
        ck_assert_uint_eq(n.p[0].states[FZD_ICE_STATE_FAILED], 0);
        teardown(&n);
}
END_TEST

START_TEST(test_unknown_attribute_420) {
        Net n;
        uint8_t buf[256];
        FzdStunBuilder b;
        uint8_t txid[12] = {7};
        FzdStunMsg m, r;
        FzdAddr from, local;
        FzdIceAgentTransmit t;
        int len, code;

        setup(&n, FZD_ICE_DEFAULT_TA);
        add_host(&n, 1, "10.0.0.2:2000");
        drain(&n);
        (void)fzd_addr_parse("10.0.0.1:1000", &from);
        local = n.p[1].hosts[0];
        fzd_stun_begin(&b, buf, sizeof(buf), FZD_STUN_BINDING, FZD_STUN_REQUEST, txid);
        fzd_stun_put_str(&b, FZD_STUN_ATTR_USERNAME, "ufragB:ufragA");
        fzd_stun_put_u32(&b, FZD_STUN_ATTR_PRIORITY, 12345);
        fzd_stun_put_u64(&b, FZD_STUN_ATTR_ICE_CONTROLLING, 5);
        fzd_stun_put_u32(&b, 0x0042, 0);
        fzd_stun_put_integrity(&b, (const uint8_t *)"passwordB-0123456789", 20);
        fzd_stun_put_fingerprint(&b);
        len = fzd_stun_finish(&b);
        ck_assert_int_eq(fzd_stun_parse(buf, (size_t)len, &m), 0);
        ck_assert(fzd_ice_agent_owns(n.p[1].a, &m));
        fzd_ice_agent_handle_stun(n.p[1].a, n.now, &m, &local, &from, -1);
        ck_assert(fzd_ice_agent_poll_transmit(n.p[1].a, &t));
        ck_assert_int_eq(fzd_stun_parse(t.data, t.len, &r), 0);
        ck_assert_uint_eq(r.cls, FZD_STUN_ERROR);
        ck_assert_int_eq(fzd_stun_get_error(&r, &code, NULL, NULL), 0);
        ck_assert_int_eq(code, 420);
        ck_assert(fzd_stun_has(&r, FZD_STUN_ATTR_UNKNOWN_ATTRIBUTES));
        ck_assert(fzd_stun_check_integrity(&r, (const uint8_t *)"passwordB-0123456789", 20));
        /* Not the answer to a check of ours: nobody's. */
        ck_assert(!fzd_ice_agent_owns(n.p[0].a, &r));
        teardown(&n);
}
END_TEST

START_TEST(test_limits) {
        Net n;
        char sdp[128];
        const char *reason = NULL;
        int r = 0;

        setup(&n, FZD_ICE_DEFAULT_TA);
        add_host(&n, 0, "10.0.0.1:1000");
        for (int i = 0; i < FZD_ICE_MAX_REMOTE_CANDIDATES + 5; i++) {
                snprintf(sdp, sizeof(sdp), "candidate:f%d 1 udp %d 10.9.%d.%d 3000 typ host", i, 1000 + i,
                         i / 200, i % 200 + 1);
                r = fzd_ice_agent_add_remote(n.p[0].a, sdp, n.now, &reason);
                if (r < 0)
                        break;
        }
        ck_assert_int_eq(r, -ENOSPC);
        ck_assert_str_eq(reason, "too many remote candidates");
        /* Candidates of another session (ufrag) are refused. */
        ck_assert_int_eq(fzd_ice_agent_add_remote(n.p[1].a,
                                                  "candidate:x 1 udp 5 10.1.1.1 5 typ host ufrag other",
                                                  n.now, &reason),
                         -EINVAL);
        teardown(&n);
}
END_TEST

/* ---- candidates ------------------------------------------------------------------------- */

START_TEST(test_candidate_parse_firezone_forms) {
        FzdIceCandidate c;
        const char *reason = NULL;
        char out[FZD_ICE_CANDIDATE_MAX];
        FzdAddr want;

        /* str0m's host, srflx and relay forms, with the ufrag extension. */
        ck_assert_int_eq(
                fzd_ice_candidate_parse(
                        "candidate:7e1c3bbaa5ccf2f1 1 udp 2130706175 172.28.0.100 52625 typ host ufrag abcd",
                        &c, &reason),
                0);
        ck_assert_int_eq(c.type, FZD_ICE_CANDIDATE_HOST);
        ck_assert_uint_eq(c.priority, 2130706175);
        ck_assert_str_eq(c.ufrag, "abcd");
        (void)fzd_addr_parse("172.28.0.100:52625", &want);
        ck_assert(fzd_addr_eq(&c.addr, &want));
        ck_assert_int_eq(fzd_ice_candidate_parse("candidate:d15f1a9 1 udp 1694498559 203.0.113.7 41234 typ "
                                                 "srflx raddr 0.0.0.0 rport 0",
                                                 &c, &reason),
                         0);
        ck_assert_int_eq(c.type, FZD_ICE_CANDIDATE_SRFLX);
        ck_assert_int_eq(c.related.family, AF_INET);
        ck_assert_int_eq(fzd_ice_candidate_parse("candidate:1 1 UDP 16777215 2001:db8::7 49152 typ relay "
                                                 "raddr :: rport 0 generation 0 network-id 1",
                                                 &c, &reason),
                         0);
        ck_assert_int_eq(c.type, FZD_ICE_CANDIDATE_RELAY);
        ck_assert_int_eq(c.addr.family, AF_INET6);
        /* aioice's form with the prefix added */
        ck_assert_int_eq(fzd_ice_candidate_parse("candidate:fc49c7e8ef4b3c2c9d8c1a3f2a6e0b57 1 udp "
                                                 "2130706431 10.0.0.5 47825 typ host",
                                                 &c, &reason),
                         0);
        /* Round trip of what we emit. */
        c = (FzdIceCandidate){.type = FZD_ICE_CANDIDATE_RELAY, .priority = 16777215, .component = 1};
        snprintf(c.foundation, sizeof(c.foundation), "abc123");
        (void)fzd_addr_parse("198.51.100.1:49152", &c.addr);
        ck_assert_int_gt(fzd_ice_candidate_format(&c, "ufragX", out, sizeof(out)), 0);
        ck_assert_str_eq(out, "candidate:abc123 1 udp 16777215 198.51.100.1 49152 typ relay raddr 0.0.0.0 "
                              "rport 0 ufrag ufragX");
        ck_assert_int_eq(fzd_ice_candidate_parse(out, &c, &reason), 0);
        ck_assert_str_eq(c.ufrag, "ufragX");
}
END_TEST

START_TEST(test_candidate_refusals) {
        static const struct {
                const char *s;
                const char *why;
        } bad[] = {
                {"7e1c 1 udp 2130706175 1.2.3.4 5 typ host", "does not start with \"candidate:\""},
                {"candidate:f 1 tcp 5 1.2.3.4 5 typ host", "transport is not UDP"},
                {"candidate:f 2 udp 5 1.2.3.4 5 typ host", "only component 1 is supported"},
                {"candidate:f 1 udp 0 1.2.3.4 5 typ host", "priority is not a number in 1-4294967295"},
                {"candidate:f 1 udp 4294967296 1.2.3.4 5 typ host",
                 "priority is not a number in 1-4294967295"},
                {"candidate:f 1 udp 5 gateway.local 5 typ host",
                 "connection address is not an IP address (host names and mDNS are not supported)"},
                {"candidate:f 1 udp 5 0.0.0.0 5 typ host",
                 "connection address is unspecified, multicast, broadcast or IPv6 link-local"},
                {"candidate:f 1 udp 5 224.0.0.1 5 typ host",
                 "connection address is unspecified, multicast, broadcast or IPv6 link-local"},
                {"candidate:f 1 udp 5 fe80::1 5 typ host",
                 "connection address is unspecified, multicast, broadcast or IPv6 link-local"},
                {"candidate:f 1 udp 5 1.2.3.4 0 typ host", "port is not a number in 1-65535"},
                {"candidate:f 1 udp 5 1.2.3.4 70000 typ host", "port is not a number in 1-65535"},
                {"candidate:f 1 udp 5 1.2.3.4 5 type host", "\"typ\" expected after the port"},
                {"candidate:f 1 udp 5 1.2.3.4 5 typ magic", "type is not host, srflx, prflx or relay"},
                {"candidate:f 1 udp 5 1.2.3.4 5 typ host raddr", "an extension has no value"},
                {"candidate:f 1 udp 5 1.2.3.4 5 typ srflx raddr 1.2.3.4",
                 "raddr and rport must come together"},
                {"candidate:f 1 udp 5 1.2.3.4 5 typ srflx raddr x rport 1", "raddr is not an IP address"},
                {"candidate:f;oo 1 udp 5 1.2.3.4 5 typ host", "foundation is not 1-32 ice-chars"},
                {"candidate:f 1 udp 5 1.2.3.4 5 typ host\x01", "contains a control or non-ASCII character"},
                {"candidate:f 1 udp 5 1.2.3.4", "too few fields (need foundation, component, transport, "
                                                "priority, address, port, typ, type)"},
                {"candidate:", "too few fields (need foundation, component, transport, priority, address, "
                               "port, typ, type)"},
        };
        FzdIceCandidate c;
        char huge[2048];

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                const char *reason = NULL;
                ck_assert_msg(fzd_ice_candidate_parse(bad[i].s, &c, &reason) == -EINVAL, "accepted: %s",
                              bad[i].s);
                ck_assert_msg(reason && strcmp(reason, bad[i].why) == 0, "%s: %s", bad[i].s, reason);
        }
        memset(huge, 'a', sizeof(huge) - 1);
        huge[sizeof(huge) - 1] = 0;
        memcpy(huge, "candidate:", 10);
        {
                const char *reason = NULL;
                ck_assert_int_eq(fzd_ice_candidate_parse(huge, &c, &reason), -EINVAL);
                ck_assert_str_eq(reason, "candidate is too long");
        }
}
END_TEST

START_TEST(test_priorities_and_foundations) {
        FzdAddr a, b, s1, s2;
        char f1[33], f2[33], f3[33];

        /* RFC 8445 §5.1.2.1 with type preferences 126/110/100/0. */
        ck_assert_uint_eq(fzd_ice_candidate_priority(FZD_ICE_CANDIDATE_HOST, 65535, 1), 2130706431u);
        ck_assert_uint_eq(fzd_ice_candidate_priority(FZD_ICE_CANDIDATE_SRFLX, 65535, 1), 1694498815u);
        ck_assert_uint_eq(fzd_ice_candidate_priority(FZD_ICE_CANDIDATE_RELAY, 65535, 1), 16777215u);
        ck_assert_uint_eq(fzd_ice_candidate_priority(FZD_ICE_CANDIDATE_PRFLX, 65535, 1), 1862270975u);
        (void)fzd_addr_parse("10.0.0.1:1", &a);
        (void)fzd_addr_parse("10.0.0.1:2", &b);
        (void)fzd_addr_parse("198.51.100.1:3478", &s1);
        (void)fzd_addr_parse("198.51.100.2:3478", &s2);
        /* Same type and base IP (ports differ): same foundation; another server: another. */
        fzd_ice_candidate_foundation(FZD_ICE_CANDIDATE_SRFLX, &a, &s1, f1);
        fzd_ice_candidate_foundation(FZD_ICE_CANDIDATE_SRFLX, &b, &s1, f2);
        fzd_ice_candidate_foundation(FZD_ICE_CANDIDATE_SRFLX, &a, &s2, f3);
        ck_assert_str_eq(f1, f2);
        ck_assert_str_ne(f1, f3);
        fzd_ice_candidate_foundation(FZD_ICE_CANDIDATE_HOST, &a, NULL, f3);
        ck_assert_str_ne(f1, f3);
        ck_assert(fzd_ice_chars_valid(f1, 32));
}
END_TEST

static Suite *agent_suite(void) {
        Suite *s = suite_create("ice-agent");
        TCase *tc = tcase_create("core");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_host_to_host);
        tcase_add_test(tc, test_ice_timeout_unanswered);
        tcase_add_test(tc, test_ice_timeout_after_connected);
        tcase_add_test(tc, test_silent_peer_fails_once_with_standby_pairs);
        tcase_add_test(tc, test_only_the_best_standby_pairs_are_kept_alive);
        tcase_add_test(tc, test_keepalive_active_then_idle);
        tcase_add_test(tc, test_standby_pair_cadence);
        tcase_add_test(tc, test_idle_loss_takes_100s);
        tcase_add_test(tc, test_candidate_timeout);
        tcase_add_test(tc, test_late_trickle);
        tcase_add_test(tc, test_better_pair_later_changes_path);
        tcase_add_test(tc, test_role_conflict_both_controlling);
        tcase_add_test(tc, test_role_conflict_both_controlled);
        tcase_add_test(tc, test_pacing);
        tcase_add_test(tc, test_peer_reflexive_through_nat);
        tcase_add_test(tc, test_wrong_password_never_connects);
        tcase_add_test(tc, test_recovers_within_grace);
        tcase_add_test(tc, test_unknown_attribute_420);
        tcase_add_test(tc, test_limits);
        tcase_add_test(tc, test_candidate_parse_firezone_forms);
        tcase_add_test(tc, test_candidate_refusals);
        tcase_add_test(tc, test_priorities_and_foundations);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(agent_suite)
