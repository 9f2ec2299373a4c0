/* SPDX-License-Identifier: Apache-2.0 */
/* daemon/ice on a simulated network with a fake clock: N connections from a client node (one
 * relay) to a gateway node, the way #13 runs them. Prints, with Firezone's figures computed from
 * its timers for the same pairs as the reference:
 *   - packets per minute per connection the client sends while traffic flows, and idle;
 *   - the relay's own control traffic per minute (shared by all connections);
 *   - heap per connection (client side), and the cost of answering one connectivity check
 *     next to the two HMAC-SHA1 that any implementation pays for it.
 *
 *   bench-ice [--connections N] */
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake-turn.h"
#include "ice.h"
#include "stun.h"

typedef struct Side {
        FzdIce *ice;
        FzdIceAgent **agents;
        FzdAddr host;
        unsigned long checks, answers, relay_control, relay_data, other;
} Side;

typedef struct World {
        uint64_t now;
        Side c, g;
        FakeTurn relay;
        Datagram *q;
        size_t n, cap;
        unsigned conns;
} World;

static void queue(World *w, const FzdAddr *src, const FzdAddr *dst, const uint8_t *d, size_t len) {
        if (w->n == w->cap) {
                w->cap = w->cap ? w->cap * 2 : 1024;
                w->q = realloc(w->q, w->cap * sizeof(Datagram));
                if (!w->q)
                        abort();
        }
        w->q[w->n].src = *src;
        w->q[w->n].dst = *dst;
        memcpy(w->q[w->n].data, d, len);
        w->q[w->n].len = len;
        w->n++;
}

static int agent_index(Side *s, FzdIceAgent *a, unsigned n) {
        for (unsigned i = 0; i < n; i++)
                if (s->agents[i] == a)
                        return (int)i;
        return -1;
}

static void collect(World *w, Side *s, Side *peer) {
        FzdIceTransmit t;
        FzdIceEvent e;

        while (fzd_ice_poll_transmit(s->ice, &t)) {
                FzdAddr src = fzd_addr_is_unspecified(&t.source) || !fzd_addr_is_set(&t.source) ? s->host
                                                                                                : t.source;
                const uint8_t *p = t.data;
                size_t len = t.len;

                if (fzd_addr_eq(&t.dest, &w->relay.server) && t.channel) {
                        /* a check or an answer, through the relay */
                        p += FZD_CHANNEL_DATA_HEADER;
                        len -= FZD_CHANNEL_DATA_HEADER;
                        s->relay_data++;
                } else if (fzd_addr_eq(&t.dest, &w->relay.server)) {
                        s->relay_control++;
                        len = 0;
                }
                if (len > 20 && p[0] == 0x00 && p[1] == 0x01)
                        s->checks++;
                else if (len > 20 && p[0] == 0x01 && p[1] == 0x01)
                        s->answers++;
                else if (len)
                        s->other++;
                if (t.len <= sizeof(w->q[0].data))
                        queue(w, &src, &t.dest, t.data, t.len);
        }
        while (fzd_ice_poll_event(s->ice, &e)) {
                if (e.type == FZD_ICE_EVENT_CANDIDATE && peer) {
                        int i = agent_index(s, e.agent, w->conns);
                        const char *reason;
                        if (i >= 0)
                                (void)fzd_ice_add_remote_candidate(peer->ice, peer->agents[i], e.candidate,
                                                                   w->now, &reason);
                }
        }
}

static void input(World *w, Side *s, Side *peer, const Datagram *d) {
        FzdIceUnwrapped u;
        (void)fzd_ice_handle_input(s->ice, w->now, &s->host, &d->src, d->data, d->len, &u);
        collect(w, s, peer);
}

static void deliver(World *w) {
        for (size_t k = 0; k < w->n; k++) {
                Datagram d = w->q[k];
                Datagram out[FAKE_TURN_MAX_OUT];
                unsigned n = 0;

                if (fzd_addr_eq(&d.dst, &w->relay.server))
                        n = fake_turn_from_client(&w->relay, &d.src, d.data, d.len, out);
                else if (fzd_addr_eq(&d.dst, &w->relay.relayed))
                        n = fake_turn_from_peer(&w->relay, &d.src, d.data, d.len, out);
                else if (fzd_addr_eq(&d.dst, &w->c.host))
                        input(w, &w->c, &w->g, &d);
                else if (fzd_addr_eq(&d.dst, &w->g.host))
                        input(w, &w->g, &w->c, &d);
                for (unsigned i = 0; i < n; i++)
                        queue(w, &out[i].src, &out[i].dst, out[i].data, out[i].len);
        }
        w->n = 0;
}

static void run(World *w, uint64_t until, bool traffic) {
        uint64_t next_traffic = w->now;
        for (;;) {
                uint64_t a, b, t;
                collect(w, &w->c, &w->g);
                collect(w, &w->g, &w->c);
                while (w->n)
                        deliver(w);
                a = fzd_ice_poll_timeout(w->c.ice);
                b = fzd_ice_poll_timeout(w->g.ice);
                t = a < b ? a : b;
                if (traffic && next_traffic < t)
                        t = next_traffic;
                if (t > until)
                        break;
                if (t > w->now)
                        w->now = t;
                if (traffic && w->now >= next_traffic) {
                        for (unsigned i = 0; i < w->conns; i++) {
                                fzd_ice_agent_note_traffic(w->c.agents[i], w->now);
                                fzd_ice_agent_note_traffic(w->g.agents[i], w->now);
                        }
                        next_traffic = w->now + FZD_SEC(1);
                }
                if (a <= w->now)
                        fzd_ice_handle_timeout(w->c.ice, w->now);
                if (b <= w->now)
                        fzd_ice_handle_timeout(w->g.ice, w->now);
        }
        w->now = until;
}

static void reset_counts(World *w) {
        w->c.checks = w->c.answers = w->c.relay_control = w->c.relay_data = w->c.other = 0;
}

static double now_sec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
        static const struct option options[] = {{"connections", required_argument, NULL, 'n'}, {}};
        FzdIceConfig cfg = {.learn_host_candidates = true};
        FzdIceRelay r = {.id = "relay", .username = "1700000000:x", .password = "pw"};
        World w = {.now = FZD_SEC(1000), .conns = 100};
        size_t heap0, heap1;
        unsigned connected = 0, pairs_ok = 0;
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                if (c == 'n')
                        w.conns = (unsigned)strtoul(optarg, NULL, 10);
                else
                        return 2;
        if (w.conns == 0)
                return 2;

        fake_turn_init(&w.relay, "198.51.100.1:3478", "198.51.100.1:49152", "1700000000:x", "pw");
        (void)fzd_addr_parse("10.0.0.1:52625", &w.c.host);
        (void)fzd_addr_parse("192.0.2.20:51820", &w.g.host);
        w.c.agents = calloc(w.conns, sizeof(FzdIceAgent *));
        w.g.agents = calloc(w.conns, sizeof(FzdIceAgent *));

        heap0 = mallinfo2().uordblks;
        if (fzd_ice_new(&cfg, &w.c.ice) < 0 || fzd_ice_new(&cfg, &w.g.ice) < 0)
                return 1;
        r.addr = w.relay.server;
        (void)fzd_ice_upsert_relay(w.c.ice, &r, w.now);
        (void)fzd_ice_set_host_candidates(w.g.ice, &w.g.host, 1, w.now);
        run(&w, w.now + FZD_SEC(1), false);
        for (unsigned i = 0; i < w.conns; i++) {
                char cu[32], gu[32];
                FzdIceAgentConfig ca = {.controlling = true,
                                        .local_pwd = "client-password-0123456789",
                                        .remote_pwd = "gateway-password-0123456789"};
                FzdIceAgentConfig ga = {.controlling = false,
                                        .local_pwd = "gateway-password-0123456789",
                                        .remote_pwd = "client-password-0123456789"};
                snprintf(cu, sizeof(cu), "c%u", i);
                snprintf(gu, sizeof(gu), "g%u", i);
                ca.local_ufrag = ga.remote_ufrag = cu;
                ca.remote_ufrag = ga.local_ufrag = gu;
                if (fzd_ice_add_agent(w.c.ice, &ca, NULL, w.now, &w.c.agents[i]) < 0 ||
                    fzd_ice_add_agent(w.g.ice, &ga, NULL, w.now, &w.g.agents[i]) < 0)
                        return 1;
        }
        run(&w, w.now + FZD_SEC(5), true);
        for (unsigned i = 0; i < w.conns; i++) {
                unsigned total, ok;
                connected += fzd_ice_agent_get_state(w.c.agents[i]) == FZD_ICE_STATE_CONNECTED;
                fzd_ice_agent_count_pairs(w.c.agents[i], &total, &ok, NULL);
                pairs_ok += ok;
        }
        heap1 = mallinfo2().uordblks;

        /* Traffic flowing: a minute, counted after a settling minute. */
        run(&w, w.now + FZD_SEC(60), true);
        reset_counts(&w);
        run(&w, w.now + FZD_SEC(60), true);
        double active_checks = (double)w.c.checks / w.conns, active_answers = (double)w.c.answers / w.conns;
        /* Idle: 20 s to become idle, then 10 minutes, counted over the last 5. */
        run(&w, w.now + FZD_SEC(300), false);
        reset_counts(&w);
        run(&w, w.now + FZD_SEC(300), false);
        double idle_checks = (double)w.c.checks / w.conns / 5,
               idle_answers = (double)w.c.answers / w.conns / 5;
        double relay_ctl = (double)w.c.relay_control / 5;
        double relayed = (double)w.c.relay_data / w.conns / 5;
        double pairs = (double)pairs_ok / w.conns;

        printf("connections: %u (connected %u), valid pairs per connection: %.1f (host-host, relay-host)\n",
               w.conns, connected, pairs);
        printf("%-46s %10s %10s   %s\n", "client → per connection per minute", "ours", "Firezone",
               "(reference: its timers, same pairs)");
        printf("%-46s %10.1f %10.1f   %s\n", "  checks sent, traffic flowing", active_checks,
               pairs * 60 / 1.5, "every valid pair every 1.5 s");
        printf("%-46s %10.1f %10s\n", "  answers to the gateway's checks, flowing", active_answers, "-");
        printf("%-46s %10.2f %10.2f   %s\n", "  checks sent, idle", idle_checks, pairs * 60 / 25.0,
               "every valid pair every 25 s");
        printf("%-46s %10.2f %10s\n", "  answers to the gateway's checks, idle", idle_answers, "-");
        printf("%-46s %10.2f %10s\n", "  checks and answers through the relay, idle", relayed, "-");
        printf("%-46s %10.2f %10.2f   %s\n", "relay control (keepalive, refresh, perm, chan)", relay_ctl,
               60 / 25.0 + 60.0 / 300, "Binding every 25 s + Refresh per 600 s allocation");
        printf("%-46s %10.1f KiB\n", "client heap per connection (node, agent, pairs)",
               (double)(heap1 - heap0) / 2 / w.conns / 1024.0);

        /* The cost of answering a check, next to the two HMAC-SHA1 that answering costs anyone. */
        {
                FzdStunBuilder b;
                uint8_t req[256], txid[12] = {1};
                FzdStunMsg m;
                FzdAddr from = w.g.host;
                const int rounds = 200000;
                double t0, t1, t2;
                int len;

                fzd_stun_begin(&b, req, sizeof(req), FZD_STUN_BINDING, FZD_STUN_REQUEST, txid);
                fzd_stun_put_str(&b, FZD_STUN_ATTR_USERNAME, "c0:g0");
                fzd_stun_put_u32(&b, FZD_STUN_ATTR_PRIORITY, 1862270975);
                fzd_stun_put_u64(&b, FZD_STUN_ATTR_ICE_CONTROLLED, 42);
                fzd_stun_put_integrity(&b, (const uint8_t *)"client-password-0123456789", 26);
                fzd_stun_put_fingerprint(&b);
                len = fzd_stun_finish(&b);
                t0 = now_sec();
                for (int i = 0; i < rounds; i++) {
                        FzdIceUnwrapped u;
                        FzdIceTransmit t;
                        (void)fzd_ice_handle_input(w.c.ice, w.now, &w.c.host, &from, req, (size_t)len, &u);
                        while (fzd_ice_poll_transmit(w.c.ice, &t))
                                ;
                }
                t1 = now_sec();
                (void)fzd_stun_parse(req, (size_t)len, &m);
                for (int i = 0; i < rounds; i++) {
                        (void)fzd_stun_check_integrity(&m, (const uint8_t *)"client-password-0123456789",
                                                       26);
                        (void)fzd_stun_check_integrity(&m, (const uint8_t *)"client-password-0123456789",
                                                       26);
                }
                t2 = now_sec();
                printf("%-46s %10.2f µs   (2 × HMAC-SHA1 alone: %.2f µs; %u connections to search)\n",
                       "answering one check (parse, route, verify, sign)", (t1 - t0) / rounds * 1e6,
                       (t2 - t1) / rounds * 1e6, w.conns);
        }

        fzd_ice_free(w.c.ice);
        fzd_ice_free(w.g.ice);
        free(w.c.agents);
        free(w.g.agents);
        free(w.q);
        return 0;
}
