/* SPDX-License-Identifier: Apache-2.0 */
/* The TURN client (daemon/ice/turn.c) against a fake relay, with a fake clock: every timer
 * path (retransmissions, refresh at half-life, keepalives, permission and channel refreshes,
 * expiry of credentials and allocations) and every error the client must handle. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "channel-data.h"
#include "fake-turn.h"
#include "fz-check.h"
#include "stun.h"
#include "turn.h"

#define T0 FZD_SEC(1000)

typedef struct Harness {
        FzdTurn *t;
        FakeTurn f;
        uint64_t now;
        FzdAddr local;
        FzdTurnEvent ev[128];
        size_t n_ev;
        Datagram to_peer[64];
        size_t n_to_peer;
        unsigned sent;    /* datagrams the client sent to the relay */
        unsigned data_in; /* DATA inputs returned */
        uint8_t last_data[64];
        size_t last_data_len;
        FzdAddr last_peer;
} Harness;

static void collect_events(Harness *h) {
        FzdTurnEvent e;
        while (fzd_turn_poll_event(h->t, &e))
                if (h->n_ev < 128)
                        h->ev[h->n_ev++] = e;
}

static void deliver(Harness *h, const Datagram *d) {
        FzdAddr peer;
        const uint8_t *p;
        size_t n;

        if (fzd_turn_handle_input(h->t, h->now, &h->local, &d->src, d->data, d->len, &peer, &p, &n) ==
            FZD_TURN_INPUT_DATA) {
                h->data_in++;
                h->last_peer = peer;
                h->last_data_len = n < sizeof(h->last_data) ? n : sizeof(h->last_data);
                memcpy(h->last_data, p, h->last_data_len);
        }
}

static void pump(Harness *h) {
        FzdIceTransmit tx;

        while (fzd_turn_poll_transmit(h->t, &tx)) {
                Datagram out[FAKE_TURN_MAX_OUT];
                unsigned n;

                ck_assert(fzd_addr_eq(&tx.dest, &h->f.server));
                h->sent++;
                n = fake_turn_from_client(&h->f, &h->local, tx.data, tx.len, out);
                for (unsigned i = 0; i < n; i++) {
                        if (fzd_addr_eq(&out[i].dst, &h->local))
                                deliver(h, &out[i]);
                        else if (h->n_to_peer < 64)
                                h->to_peer[h->n_to_peer++] = out[i];
                }
        }
        collect_events(h);
}

/* Run the clock to `until`, waking the client whenever it asked to be woken. */
static void advance(Harness *h, uint64_t until) {
        for (;;) {
                uint64_t next = fzd_turn_poll_timeout(h->t);
                if (next > until)
                        break;
                ck_assert_uint_ge(next, h->now); /* never a timer in the past that does nothing */
                h->now = next;
                fzd_turn_handle_timeout(h->t, h->now);
                pump(h);
                ck_assert_uint_ne(fzd_turn_poll_timeout(h->t), next); /* progress */
        }
        h->now = until;
}

static size_t count_events(const Harness *h, FzdTurnEventType type) {
        size_t n = 0;
        for (size_t i = 0; i < h->n_ev; i++)
                n += h->ev[i].type == type;
        return n;
}

static const FzdTurnEvent *last_event(const Harness *h, FzdTurnEventType type) {
        for (size_t i = h->n_ev; i > 0; i--)
                if (h->ev[i - 1].type == type)
                        return &h->ev[i - 1];
        return NULL;
}

static void setup(Harness *h, uint32_t lifetime, uint64_t creds_expire) {
        FzdTurnParams p = {
                .username = "1700000000:salt",
                .password = "s3cret",
                .credentials_expire = creds_expire,
                .requested_lifetime = lifetime,
                .software = "test",
        };

        memset(h, 0, sizeof(*h));
        fake_turn_init(&h->f, "198.51.100.1:3478", "198.51.100.1:49152", "1700000000:salt", "s3cret");
        (void)fzd_addr_parse("203.0.113.2:40000", &h->f.mapped);
        (void)fzd_addr_parse("10.0.0.2:52625", &h->local);
        p.server = h->f.server;
        h->now = T0;
        ck_assert_int_eq(fzd_turn_new(&p, h->now, &h->t), 0);
        pump(h);
}

static void teardown(Harness *h) {
        h->t = fzd_turn_free(h->t);
}

START_TEST(test_allocate_flow) {
        Harness h;
        const FzdTurnEvent *e;
        FzdAddr want;

        setup(&h, 0, 0);
        /* Binding, Allocate (unauthenticated: 401), Allocate with credentials. */
        ck_assert_uint_eq(h.f.requests[FZD_STUN_BINDING], 1);
        ck_assert_uint_eq(h.f.requests[FZD_STUN_ALLOCATE], 2);
        ck_assert_uint_eq(h.f.unauthenticated, 1);
        ck_assert_uint_eq(h.f.bad_integrity, 0);
        ck_assert_str_eq(h.f.last_username, "1700000000:salt");
        ck_assert_uint_eq(h.f.last_requested_lifetime, UINT32_MAX);
        ck_assert_int_eq(fzd_turn_get_state(h.t), FZD_TURN_READY);
        ck_assert_uint_eq(fzd_turn_get_stats(h.t)->unauthorized, 1);

        e = last_event(&h, FZD_TURN_EVENT_MAPPED);
        ck_assert_ptr_nonnull(e);
        ck_assert(fzd_addr_eq(&e->addr, &h.f.mapped));
        ck_assert(fzd_addr_eq(&e->base, &h.local));
        e = last_event(&h, FZD_TURN_EVENT_RELAYED);
        ck_assert_ptr_nonnull(e);
        ck_assert(fzd_addr_eq(&e->addr, &h.f.relayed));
        ck_assert(fzd_addr_eq(fzd_turn_get_relayed(h.t), &h.f.relayed));
        ck_assert_uint_eq(fzd_turn_get_lifetime(h.t), 600);
        (void)fzd_addr_parse("198.51.100.1:49152", &want);
        ck_assert(fzd_addr_eq(fzd_turn_get_relayed(h.t), &want));
        teardown(&h);
}
END_TEST

START_TEST(test_requested_lifetime) {
        Harness h;

        setup(&h, 30, 0);
        ck_assert_uint_eq(h.f.last_requested_lifetime, 30);
        teardown(&h);
}
END_TEST

START_TEST(test_refresh_at_half_life) {
        Harness h;

        setup(&h, 0, 0);
        h.f.lifetime = 600;
        advance(&h, T0 + FZD_SEC(300) - 1);
        ck_assert_uint_eq(h.f.requests[FZD_STUN_REFRESH], 0);
        advance(&h, T0 + FZD_SEC(300));
        ck_assert_uint_eq(h.f.requests[FZD_STUN_REFRESH], 1);
        ck_assert_uint_eq(count_events(&h, FZD_TURN_EVENT_REFRESHED), 1);
        /* The next one half a lifetime after the answer. */
        advance(&h, T0 + FZD_SEC(600) - 1);
        ck_assert_uint_eq(h.f.requests[FZD_STUN_REFRESH], 1);
        advance(&h, T0 + FZD_SEC(600));
        ck_assert_uint_eq(h.f.requests[FZD_STUN_REFRESH], 2);
        ck_assert_int_eq(fzd_turn_get_state(h.t), FZD_TURN_READY);
        ck_assert_uint_eq(count_events(&h, FZD_TURN_EVENT_RELAYED_LOST), 0);
        teardown(&h);
}
END_TEST

START_TEST(test_stale_nonce) {
        Harness h;

        setup(&h, 0, 0);
        fake_turn_new_nonce(&h.f);
        advance(&h, T0 + FZD_SEC(300));
        /* 438 with a new nonce, then the same Refresh again with it. */
        ck_assert_uint_eq(h.f.requests[FZD_STUN_REFRESH], 2);
        ck_assert_uint_eq(fzd_turn_get_stats(h.t)->stale_nonces, 1);
        ck_assert_uint_eq(fzd_turn_get_stats(h.t)->refreshes, 1);
        ck_assert_int_eq(fzd_turn_get_state(h.t), FZD_TURN_READY);
        teardown(&h);
}
END_TEST

START_TEST(test_stale_nonce_loop_bounded) {
        Harness h;

        setup(&h, 0, 0);
        h.f.stale_nonce_times = 100;
        advance(&h, T0 + FZD_SEC(300));
        ck_assert_uint_eq(h.f.requests[FZD_STUN_REFRESH], 1 + FZD_TURN_MAX_STALE_NONCE_RETRIES);
        ck_assert_int_eq(fzd_turn_get_state(h.t), FZD_TURN_FAILED);
        ck_assert_int_eq(fzd_turn_get_failure(h.t), FZD_TURN_FAILURE_PROTOCOL);
        teardown(&h);
}
END_TEST

START_TEST(test_wrong_credentials) {
        Harness h;
        const FzdTurnEvent *e;
        FzdTurnParams p = {.username = "1700000000:salt", .password = "wrong"};

        memset(&h, 0, sizeof(h));
        fake_turn_init(&h.f, "198.51.100.1:3478", "198.51.100.1:49152", "1700000000:salt", "s3cret");
        (void)fzd_addr_parse("10.0.0.2:52625", &h.local);
        p.server = h.f.server;
        h.now = T0;
        ck_assert_int_eq(fzd_turn_new(&p, h.now, &h.t), 0);
        pump(&h);
        /* 401 without, then 401 with our nonce: refused credentials, no third try. */
        ck_assert_uint_eq(h.f.requests[FZD_STUN_ALLOCATE], 2);
        ck_assert_int_eq(fzd_turn_get_state(h.t), FZD_TURN_FAILED);
        e = last_event(&h, FZD_TURN_EVENT_FAILED);
        ck_assert_ptr_nonnull(e);
        ck_assert_int_eq(e->failure, FZD_TURN_FAILURE_AUTH);
        ck_assert_int_eq(e->error, 401);
        ck_assert_uint_eq(fzd_turn_poll_timeout(h.t), UINT64_MAX);
        teardown(&h);
}
END_TEST

START_TEST(test_other_realm_refused) {
        Harness h;

        memset(&h, 0, sizeof(h));
        {
                FzdTurnParams p = {.username = "u", .password = "p"};
                fake_turn_init(&h.f, "198.51.100.1:3478", "198.51.100.1:49152", "u", "p");
                snprintf(h.f.realm, sizeof(h.f.realm), "evil.example");
                (void)fzd_addr_parse("10.0.0.2:52625", &h.local);
                p.server = h.f.server;
                h.now = T0;
                ck_assert_int_eq(fzd_turn_new(&p, h.now, &h.t), 0);
        }
        pump(&h);
        ck_assert_uint_eq(h.f.requests[FZD_STUN_ALLOCATE], 1);
        ck_assert_uint_eq(h.f.bad_integrity, 0);
        ck_assert_int_eq(fzd_turn_get_failure(h.t), FZD_TURN_FAILURE_PROTOCOL);
        teardown(&h);
}
END_TEST

/* 1 s, ×1.5, given up after 8 s: sends at 0, 1, 2.5, 4.75; failure at 8. */
START_TEST(test_retransmit_schedule) {
        Harness h;
        const uint64_t at[] = {FZD_SEC(1), FZD_USEC(2500), FZD_USEC(4750)};
        FzdTurnParams p = {.username = "u", .password = "p"};

        memset(&h, 0, sizeof(h));
        fake_turn_init(&h.f, "198.51.100.1:3478", "198.51.100.1:49152", "u", "p");
        h.f.silent = true;
        (void)fzd_addr_parse("10.0.0.2:52625", &h.local);
        p.server = h.f.server;
        h.now = T0;
        ck_assert_int_eq(fzd_turn_new(&p, h.now, &h.t), 0);
        pump(&h);
        ck_assert_uint_eq(h.sent, 1);
        for (size_t i = 0; i < 3; i++) {
                ck_assert_uint_eq(fzd_turn_poll_timeout(h.t), T0 + at[i]);
                advance(&h, T0 + at[i]);
                ck_assert_uint_eq(h.sent, 2 + i);
        }
        ck_assert_uint_eq(fzd_turn_poll_timeout(h.t), T0 + FZD_SEC(8));
        advance(&h, T0 + FZD_SEC(8));
        ck_assert_uint_eq(h.sent, 4);
        ck_assert_int_eq(fzd_turn_get_failure(h.t), FZD_TURN_FAILURE_NO_RESPONSE);
        ck_assert_uint_eq(count_events(&h, FZD_TURN_EVENT_FAILED), 1);
        teardown(&h);
}
END_TEST

START_TEST(test_keepalive_every_25s) {
        Harness h;

        setup(&h, 0, 0);
        ck_assert_uint_eq(h.f.requests[FZD_STUN_BINDING], 1);
        advance(&h, T0 + FZD_SEC(25) - 1);
        ck_assert_uint_eq(h.f.requests[FZD_STUN_BINDING], 1);
        advance(&h, T0 + FZD_SEC(25));
        ck_assert_uint_eq(h.f.requests[FZD_STUN_BINDING], 2);
        advance(&h, T0 + FZD_SEC(50));
        ck_assert_uint_eq(h.f.requests[FZD_STUN_BINDING], 3);
        ck_assert_uint_eq(fzd_turn_get_stats(h.t)->keepalives, 2);
        teardown(&h);
}
END_TEST

START_TEST(test_keepalive_unanswered_fails) {
        Harness h;

        setup(&h, 0, 0);
        h.f.silent = true;
        advance(&h, T0 + FZD_SEC(25) + FZD_SEC(8));
        ck_assert_int_eq(fzd_turn_get_state(h.t), FZD_TURN_FAILED);
        ck_assert_int_eq(fzd_turn_get_failure(h.t), FZD_TURN_FAILURE_NO_RESPONSE);
        ck_assert_uint_eq(count_events(&h, FZD_TURN_EVENT_RELAYED_LOST), 1);
        teardown(&h);
}
END_TEST

START_TEST(test_channel_bind_and_data) {
        Harness h;
        FzdAddr peer;
        uint8_t out[64];
        uint16_t ch = 0;
        bool bound;
        int n;
        Datagram d[FAKE_TURN_MAX_OUT];
        unsigned k;
        const FzdTurnEvent *e;

        setup(&h, 0, 0);
        (void)fzd_addr_parse("192.0.2.50:51820", &peer);
        ck_assert_int_eq(fzd_turn_add_peer(h.t, &peer, h.now), 0x4000);
        pump(&h);
        ck_assert_uint_eq(h.f.requests[FZD_STUN_CHANNEL_BIND], 1);
        ck_assert_uint_eq(fzd_turn_get_channel(h.t, &peer, &bound), 0x4000);
        ck_assert(bound);
        e = last_event(&h, FZD_TURN_EVENT_CHANNEL_BOUND);
        ck_assert_ptr_nonnull(e);
        ck_assert_uint_eq(e->channel, 0x4000);

        /* Out: unpadded ChannelData. */
        n = fzd_turn_encapsulate(h.t, &peer, (const uint8_t *)"hello", 5, h.now, out, sizeof(out), &ch);
        ck_assert_int_eq(n, 9);
        ck_assert_uint_eq(ch, 0x4000);
        k = fake_turn_from_client(&h.f, &h.local, out, (size_t)n, d);
        ck_assert_uint_eq(k, 1);
        ck_assert(fzd_addr_eq(&d[0].dst, &peer));
        ck_assert_uint_eq(d[0].len, 5);

        /* In: unpadded, as coturn sends it, then padded. */
        k = fake_turn_from_peer(&h.f, &peer, (const uint8_t *)"world", 5, d);
        ck_assert_uint_eq(k, 1);
        ck_assert_uint_eq(d[0].len, 9);
        deliver(&h, &d[0]);
        ck_assert_uint_eq(h.data_in, 1);
        ck_assert(fzd_addr_eq(&h.last_peer, &peer));
        ck_assert_uint_eq(h.last_data_len, 5);
        ck_assert(memcmp(h.last_data, "world", 5) == 0);
        h.f.pad_channel_data = true;
        k = fake_turn_from_peer(&h.f, &peer, (const uint8_t *)"world", 5, d);
        ck_assert_uint_eq(d[0].len, 12);
        deliver(&h, &d[0]);
        ck_assert_uint_eq(h.data_in, 2);

        /* An unknown channel, or ChannelData from someone else, is not data. */
        {
                FzdAddr other, p2;
                const uint8_t *pp;
                size_t pl;
                uint8_t cd[] = {0x40, 0x07, 0x00, 0x01, 0x55};
                (void)fzd_addr_parse("198.51.100.9:3478", &other);
                ck_assert_int_eq(fzd_turn_handle_input(h.t, h.now, &h.local, &h.f.server, cd, sizeof(cd),
                                                       &p2, &pp, &pl),
                                 FZD_TURN_INPUT_CONSUMED);
                cd[1] = 0x00;
                ck_assert_int_eq(
                        fzd_turn_handle_input(h.t, h.now, &h.local, &other, cd, sizeof(cd), &p2, &pp, &pl),
                        FZD_TURN_INPUT_NOT_MINE);
        }
        teardown(&h);
}
END_TEST

START_TEST(test_optimistic_channel_data) {
        Harness h;
        FzdAddr peer;
        uint8_t out[64];
        uint16_t ch = 0;
        int n;

        setup(&h, 0, 0);
        (void)fzd_addr_parse("192.0.2.51:51820", &peer);
        /* No channel yet: it is bound, and the data goes out on it at once (as Firezone does). */
        n = fzd_turn_encapsulate(h.t, &peer, (const uint8_t *)"x", 1, h.now, out, sizeof(out), &ch);
        ck_assert_int_eq(n, 5);
        ck_assert_uint_eq(ch, 0x4000);
        pump(&h);
        ck_assert_uint_eq(h.f.requests[FZD_STUN_CHANNEL_BIND], 1);
        /* Numbers advance and wrap within 0x4000-0x4FFF. */
        (void)fzd_addr_parse("192.0.2.52:51820", &peer);
        ck_assert_int_eq(fzd_turn_add_peer(h.t, &peer, h.now), 0x4001);
        teardown(&h);
}
END_TEST

START_TEST(test_permission_and_channel_refresh) {
        Harness h;
        FzdAddr peer;

        setup(&h, 0, 0);
        h.f.lifetime = 3600;
        (void)fzd_addr_parse("192.0.2.50:51820", &peer);
        ck_assert_int_eq(fzd_turn_add_peer(h.t, &peer, h.now), 0x4000);
        pump(&h);
        ck_assert_uint_eq(h.f.requests[FZD_STUN_CHANNEL_BIND], 1);
        /* Permissions (5 min) every 4 min, channels (10 min) every 8 min, while in use. */
        advance(&h, T0 + FZD_SEC(240) - 1);
        ck_assert_uint_eq(h.f.requests[FZD_STUN_CREATE_PERMISSION], 0);
        advance(&h, T0 + FZD_SEC(240));
        ck_assert_uint_eq(h.f.requests[FZD_STUN_CREATE_PERMISSION], 1);
        advance(&h, T0 + FZD_SEC(480));
        ck_assert_uint_eq(h.f.requests[FZD_STUN_CHANNEL_BIND], 2);
        /* The ChannelBind refreshed the permission too: the next one 4 min after it. */
        ck_assert_uint_eq(h.f.requests[FZD_STUN_CREATE_PERMISSION], 1);
        advance(&h, T0 + FZD_SEC(720));
        ck_assert_uint_eq(h.f.requests[FZD_STUN_CREATE_PERMISSION], 2);

        /* Released and idle: no more refreshes; the number is held 5 min past the lifetime. */
        fzd_turn_remove_peer(h.t, &peer);
        advance(&h, T0 + FZD_SEC(2000));
        ck_assert_uint_eq(h.f.requests[FZD_STUN_CHANNEL_BIND], 2);
        ck_assert_uint_eq(h.f.requests[FZD_STUN_CREATE_PERMISSION], 2);
        ck_assert_uint_eq(fzd_turn_get_channel(h.t, &peer, NULL), 0);
        teardown(&h);
}
END_TEST

START_TEST(test_data_indication) {
        Harness h;
        FzdAddr peer, stranger;
        Datagram d[FAKE_TURN_MAX_OUT];
        uint8_t buf[256];
        FzdStunBuilder b;
        uint8_t txid[12] = {4};
        int n;

        setup(&h, 0, 0);
        (void)fzd_addr_parse("192.0.2.60:1000", &peer);
        (void)fzd_addr_parse("192.0.2.61:1000", &stranger);
        ck_assert_int_eq(fzd_turn_add_peer(h.t, &peer, h.now), 0x4000);
        pump(&h);
        /* The fake relays as a Data indication when it knows no channel for the peer (port differs). */
        peer.port = 2000;
        ck_assert_uint_eq(fake_turn_from_peer(&h.f, &peer, (const uint8_t *)"via-data", 8, d), 1);
        deliver(&h, &d[0]);
        ck_assert_uint_eq(h.data_in, 1);
        ck_assert_uint_eq(h.last_data_len, 8);
        ck_assert(fzd_addr_eq(&h.last_peer, &peer));

        /* From a peer without a permission: dropped. */
        fzd_stun_begin(&b, buf, sizeof(buf), FZD_STUN_DATA, FZD_STUN_INDICATION, txid);
        fzd_stun_put_xor_addr(&b, FZD_STUN_ATTR_XOR_PEER_ADDRESS, &stranger);
        fzd_stun_put(&b, FZD_STUN_ATTR_DATA, "no", 2);
        n = fzd_stun_finish(&b);
        {
                FzdAddr p2;
                const uint8_t *pp;
                size_t pl;
                ck_assert_int_eq(fzd_turn_handle_input(h.t, h.now, &h.local, &h.f.server, buf, (size_t)n,
                                                       &p2, &pp, &pl),
                                 FZD_TURN_INPUT_CONSUMED);
        }
        ck_assert_uint_eq(h.data_in, 1);
        teardown(&h);
}
END_TEST

START_TEST(test_forged_response_ignored) {
        Harness h;
        FzdIceTransmit tx;
        FzdStunMsg m;
        uint8_t req[512], buf[256];
        size_t len;
        FzdStunBuilder b;
        uint8_t wrong_key[16] = {1};
        FzdAddr relayed, p2;
        const uint8_t *pp;
        size_t pl;
        int n;

        setup(&h, 0, 0);
        advance(&h, T0 + FZD_SEC(300) - 1);
        h.now = T0 + FZD_SEC(300);
        fzd_turn_handle_timeout(h.t, h.now);
        ck_assert(fzd_turn_poll_transmit(h.t, &tx)); /* the Refresh */
        len = tx.len;
        memcpy(req, tx.data, len);
        ck_assert_int_eq(fzd_stun_parse(req, len, &m), 0);
        ck_assert_uint_eq(m.method, FZD_STUN_REFRESH);

        /* A success with a made-up relayed address and the wrong key: not taken. */
        (void)fzd_addr_parse("6.6.6.6:6666", &relayed);
        fzd_stun_begin(&b, buf, sizeof(buf), FZD_STUN_REFRESH, FZD_STUN_SUCCESS, m.txid);
        fzd_stun_put_u32(&b, FZD_STUN_ATTR_LIFETIME, 0);
        fzd_stun_put_integrity(&b, wrong_key, sizeof(wrong_key));
        n = fzd_stun_finish(&b);
        ck_assert_int_eq(
                fzd_turn_handle_input(h.t, h.now, &h.local, &h.f.server, buf, (size_t)n, &p2, &pp, &pl),
                FZD_TURN_INPUT_CONSUMED);
        ck_assert_uint_eq(fzd_turn_get_stats(h.t)->bad_integrity, 1);
        ck_assert_int_eq(fzd_turn_get_state(h.t), FZD_TURN_READY);
        /* The real answer still counts. */
        {
                Datagram d[FAKE_TURN_MAX_OUT];
                ck_assert_uint_eq(fake_turn_from_client(&h.f, &h.local, req, len, d), 1);
                deliver(&h, &d[0]);
        }
        collect_events(&h);
        ck_assert_uint_eq(count_events(&h, FZD_TURN_EVENT_REFRESHED), 1);
        /* A response to a transaction nobody sent is not ours. */
        ck_assert_int_eq(
                fzd_turn_handle_input(h.t, h.now, &h.local, &h.f.server, buf, (size_t)n, &p2, &pp, &pl),
                FZD_TURN_INPUT_NOT_MINE);
        teardown(&h);
}
END_TEST

START_TEST(test_credentials_expire_and_renew) {
        Harness h;
        FzdAddr peer;

        setup(&h, 0, T0 + FZD_SEC(100));
        (void)fzd_addr_parse("192.0.2.50:51820", &peer);
        ck_assert_int_eq(fzd_turn_add_peer(h.t, &peer, h.now), 0x4000);
        pump(&h);
        advance(&h, T0 + FZD_SEC(100) - 1);
        ck_assert_uint_eq(count_events(&h, FZD_TURN_EVENT_CREDENTIALS_EXPIRED), 0);
        advance(&h, T0 + FZD_SEC(100));
        ck_assert_uint_eq(count_events(&h, FZD_TURN_EVENT_CREDENTIALS_EXPIRED), 1);
        ck_assert_int_eq(fzd_turn_get_state(h.t), FZD_TURN_READY);

        /* The portal sends new ones: the old allocation is deleted with the old credentials,
         * a new one made with the new credentials; the peer's channel comes back. */
        snprintf(h.f.username, sizeof(h.f.username), "1800000000:salt2");
        snprintf(h.f.password, sizeof(h.f.password), "n3w");
        /* (the fake checks the username it knows; the delete is signed with the old one) */
        ck_assert_int_eq(
                fzd_turn_update_credentials(h.t, "1800000000:salt2", "n3w", T0 + FZD_SEC(9999), h.now), 1);
        ck_assert_int_eq(
                fzd_turn_update_credentials(h.t, "1800000000:salt2", "n3w", T0 + FZD_SEC(9999), h.now), 0);
        pump(&h);
        ck_assert_uint_ge(count_events(&h, FZD_TURN_EVENT_RELAYED_LOST), 1);
        ck_assert_int_eq(fzd_turn_get_state(h.t), FZD_TURN_READY);
        ck_assert_str_eq(h.f.last_username, "1800000000:salt2");
        ck_assert_uint_eq(count_events(&h, FZD_TURN_EVENT_RELAYED), 2);
        ck_assert_uint_eq(h.f.requests[FZD_STUN_CHANNEL_BIND], 2);
        teardown(&h);
}
END_TEST

static void feed(Harness *h, const FzdIceTransmit *tx) {
        Datagram out[FAKE_TURN_MAX_OUT];
        unsigned n = fake_turn_from_client(&h->f, &h->local, tx->data, tx->len, out);

        h->sent++;
        for (unsigned i = 0; i < n; i++)
                if (fzd_addr_eq(&out[i].dst, &h->local))
                        deliver(h, &out[i]);
        collect_events(h);
}

/* New credentials while the signed Allocate is on its way (the daemon's reset meets the
 * portal's init with fresh relay credentials): the allocation that Allocate makes is deleted
 * with the old credentials and a new one made with the new ones — never an Allocate that
 * the relay answers with 437 for an allocation only the old credentials could delete. */
START_TEST(test_new_credentials_while_allocating) {
        Harness h;
        FzdIceTransmit tx, held;
        uint8_t held_bytes[1500];
        FzdTurnParams p = {
                .username = "1700000000:salt",
                .password = "s3cret",
                .software = "test",
        };

        memset(&h, 0, sizeof h);
        fake_turn_init(&h.f, "198.51.100.1:3478", "198.51.100.1:49152", "1700000000:salt", "s3cret");
        (void) fzd_addr_parse("10.0.0.2:52625", &h.local);
        p.server = h.f.server;
        h.now = T0;
        ck_assert_int_eq(fzd_turn_new(&p, h.now, &h.t), 0);
        for (;;) {
                ck_assert(fzd_turn_poll_transmit(h.t, &tx));
                if (tx.len >= 2 && tx.data[0] == 0 && tx.data[1] == FZD_STUN_ALLOCATE &&
                    h.f.requests[FZD_STUN_ALLOCATE] == 1) {
                        /* The signed one (the first got 401); a transmit's bytes live
                         * only until the next poll. */
                        ck_assert_uint_le(tx.len, sizeof held_bytes);
                        memcpy(held_bytes, tx.data, tx.len);
                        held = tx;
                        held.data = held_bytes;
                        break;
                }
                feed(&h, &tx);
        }
        ck_assert_int_eq(fzd_turn_get_state(h.t), FZD_TURN_ALLOCATING);
        ck_assert_int_eq(fzd_turn_update_credentials(h.t, "1800000000:salt2", "n3w", 0, h.now), 1);
        ck_assert(!fzd_turn_poll_transmit(h.t, &tx)); /* nothing new while it is on its way */
        feed(&h, &held);                              /* the relay allocates with the old ones */
        ck_assert(h.f.allocated);
        ck_assert_uint_eq(count_events(&h, FZD_TURN_EVENT_RELAYED), 0); /* never offered */
        /* The delete, signed with the old credentials, which the relay still knows. */
        ck_assert(fzd_turn_poll_transmit(h.t, &tx));
        ck_assert(tx.len >= 2 && tx.data[0] == 0 && tx.data[1] == FZD_STUN_REFRESH);
        feed(&h, &tx);
        ck_assert(!h.f.allocated);
        ck_assert_uint_eq(h.f.last_requested_lifetime, 0);
        snprintf(h.f.username, sizeof h.f.username, "1800000000:salt2");
        snprintf(h.f.password, sizeof h.f.password, "n3w");
        pump(&h);
        ck_assert_uint_eq(h.f.requests[FZD_STUN_REFRESH], 1);
        ck_assert_int_eq(fzd_turn_get_state(h.t), FZD_TURN_READY);
        ck_assert_str_eq(h.f.last_username, "1800000000:salt2");
        ck_assert_uint_eq(count_events(&h, FZD_TURN_EVENT_RELAYED), 1);
        teardown(&h);
}
END_TEST

START_TEST(test_allocation_mismatch) {
        Harness h;

        setup(&h, 0, 0);
        /* We lost our state (restart) but the relay kept the allocation: 437, delete, allocate. */
        fzd_turn_restart(h.t, h.now);
        pump(&h);
        ck_assert_int_eq(fzd_turn_get_state(h.t), FZD_TURN_READY);
        ck_assert_uint_eq(h.f.requests[FZD_STUN_REFRESH], 1);
        ck_assert_uint_eq(h.f.last_requested_lifetime, UINT32_MAX);
        ck_assert_uint_eq(count_events(&h, FZD_TURN_EVENT_RELAYED), 2);

        /* A Refresh the relay does not know (it lost the allocation): allocate again. */
        h.f.allocated = false;
        advance(&h, h.now + FZD_SEC(300));
        ck_assert_int_eq(fzd_turn_get_state(h.t), FZD_TURN_READY);
        ck_assert_uint_eq(count_events(&h, FZD_TURN_EVENT_RELAYED), 3);
        teardown(&h);
}
END_TEST

/* New credentials after the old ones expired: the relay refuses to delete the old allocation
 * with them (441) and answers 437 to the new Allocate until the old one runs out; the client
 * tries again (0.5 s doubling to 5 s) and gets there. */
START_TEST(test_mismatch_until_old_allocation_expires) {
        Harness h;

        setup(&h, 0, 0);
        fzd_turn_restart(h.t, h.now);
        h.f.inject_method = FZD_STUN_REFRESH;
        h.f.inject_error = 441;
        pump(&h);
        ck_assert_int_eq(fzd_turn_get_state(h.t), FZD_TURN_ALLOCATING);
        /* Retries after 0.5, 1, 2, 4, 5, 5 … s. */
        ck_assert_uint_eq(fzd_turn_poll_timeout(h.t), h.now + FZD_USEC(500));
        advance(&h, h.now + FZD_USEC(500));
        ck_assert_uint_eq(fzd_turn_poll_timeout(h.t), h.now + FZD_SEC(1));
        advance(&h, h.now + FZD_SEC(20));
        ck_assert_uint_eq(fzd_turn_poll_timeout(h.t) - h.now, FZD_SEC(2)); /* 17.5 s → 22.5 s */
        ck_assert_int_eq(fzd_turn_get_state(h.t), FZD_TURN_ALLOCATING);
        h.f.allocated = false; /* the old one expired on the relay */
        advance(&h, h.now + FZD_SEC(5));
        ck_assert_int_eq(fzd_turn_get_state(h.t), FZD_TURN_READY);
        teardown(&h);
}
END_TEST

START_TEST(test_allocation_expires_without_refresh) {
        Harness h;

        setup(&h, 0, 0);
        h.f.lifetime = 20;
        fzd_turn_restart(h.t, h.now);
        pump(&h);
        ck_assert_uint_eq(fzd_turn_get_lifetime(h.t), 20);
        /* Refreshes fail (the relay answers 500); the allocation runs out at 20 s. */
        h.f.inject_method = FZD_STUN_REFRESH;
        h.f.inject_error = 500;
        advance(&h, h.now + FZD_SEC(20));
        ck_assert_uint_ge(count_events(&h, FZD_TURN_EVENT_RELAYED_LOST), 1);
        ck_assert_int_eq(fzd_turn_get_state(h.t), FZD_TURN_READY); /* allocated again */
        teardown(&h);
}
END_TEST

START_TEST(test_channel_bind_error) {
        Harness h;
        FzdAddr peer;
        const FzdTurnEvent *e;

        setup(&h, 0, 0);
        h.f.inject_method = FZD_STUN_CHANNEL_BIND;
        h.f.inject_error = 403;
        (void)fzd_addr_parse("192.0.2.50:51820", &peer);
        ck_assert_int_eq(fzd_turn_add_peer(h.t, &peer, h.now), 0x4000);
        pump(&h);
        e = last_event(&h, FZD_TURN_EVENT_CHANNEL_FAILED);
        ck_assert_ptr_nonnull(e);
        ck_assert_int_eq(e->error, 403);
        ck_assert_uint_eq(fzd_turn_get_channel(h.t, &peer, NULL), 0);
        /* Its number is held; the next peer gets another. */
        ck_assert_int_eq(fzd_turn_add_peer(h.t, &peer, h.now), 0x4001);
        teardown(&h);
}
END_TEST

START_TEST(test_ipv6_relay_asks_for_ipv6) {
        FzdTurnParams p = {.username = "u", .password = "p"};
        FzdTurn *t;
        FzdIceTransmit tx;
        FakeTurn f;
        FzdAddr local;
        Datagram d[FAKE_TURN_MAX_OUT];
        FzdStunMsg m;
        uint32_t fam = 0;
        uint8_t copy[512];

        fake_turn_init(&f, "[2001:db8::1]:3478", "[2001:db8::1]:49152", "u", "p");
        (void)fzd_addr_parse("[2001:db8::2]:52625", &local);
        p.server = f.server;
        ck_assert_int_eq(fzd_turn_new(&p, T0, &t), 0);
        for (int round = 0; round < 4 && fzd_turn_poll_transmit(t, &tx); round++) {
                unsigned n;
                memcpy(copy, tx.data, tx.len);
                ck_assert_int_eq(fzd_stun_parse(copy, tx.len, &m), 0);
                if (m.method == FZD_STUN_ALLOCATE)
                        ck_assert_int_eq(fzd_stun_get_u32(&m, FZD_STUN_ATTR_REQUESTED_ADDRESS_FAMILY, &fam),
                                         0);
                n = fake_turn_from_client(&f, &local, copy, tx.len, d);
                for (unsigned i = 0; i < n; i++) {
                        FzdAddr p2;
                        const uint8_t *pp;
                        size_t pl;
                        (void)fzd_turn_handle_input(t, T0, &local, &d[i].src, d[i].data, d[i].len, &p2, &pp,
                                                    &pl);
                }
        }
        ck_assert_uint_eq(fam, 0x02000000);
        ck_assert_int_eq(fzd_turn_get_state(t), FZD_TURN_READY);
        fzd_turn_free(t);
}
END_TEST

START_TEST(test_release_deletes_and_stops) {
        Harness h;

        setup(&h, 0, 0);
        ck_assert(h.f.allocated);
        fzd_turn_release(h.t, h.now);
        pump(&h);
        /* One authenticated Refresh with LIFETIME 0 went out and the relay let go. */
        ck_assert_uint_eq(h.f.requests[FZD_STUN_REFRESH], 1);
        ck_assert_uint_eq(h.f.last_requested_lifetime, 0);
        ck_assert(!h.f.allocated);
        ck_assert(!fzd_addr_is_set(fzd_turn_get_relayed(h.t)));
        /* Nothing scheduled, nothing sent any more, not even keepalives or refreshes. */
        ck_assert_uint_eq(fzd_turn_poll_timeout(h.t), UINT64_MAX);
        h.sent = 0;
        h.now += FZD_SEC(3600);
        fzd_turn_handle_timeout(h.t, h.now);
        pump(&h);
        ck_assert_uint_eq(h.sent, 0);
        ck_assert_int_eq(fzd_turn_get_failure(h.t), FZD_TURN_FAILURE_NONE);
        teardown(&h);
}
END_TEST

START_TEST(test_bad_params) {
        FzdTurnParams p = {.username = "u", .password = "p"};
        FzdTurn *t;

        ck_assert_int_eq(fzd_turn_new(&p, 0, &t), -EINVAL); /* no server */
        (void)fzd_addr_parse("198.51.100.1:3478", &p.server);
        p.username = "";
        ck_assert_int_eq(fzd_turn_new(&p, 0, &t), -EINVAL);
        p.username = "u";
        p.realm = "";
        ck_assert_int_eq(fzd_turn_new(&p, 0, &t), -EINVAL);
}
END_TEST

static Suite *turn_suite(void) {
        Suite *s = suite_create("turn");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_allocate_flow);
        tcase_add_test(tc, test_requested_lifetime);
        tcase_add_test(tc, test_refresh_at_half_life);
        tcase_add_test(tc, test_stale_nonce);
        tcase_add_test(tc, test_stale_nonce_loop_bounded);
        tcase_add_test(tc, test_wrong_credentials);
        tcase_add_test(tc, test_other_realm_refused);
        tcase_add_test(tc, test_retransmit_schedule);
        tcase_add_test(tc, test_keepalive_every_25s);
        tcase_add_test(tc, test_keepalive_unanswered_fails);
        tcase_add_test(tc, test_channel_bind_and_data);
        tcase_add_test(tc, test_optimistic_channel_data);
        tcase_add_test(tc, test_permission_and_channel_refresh);
        tcase_add_test(tc, test_data_indication);
        tcase_add_test(tc, test_forged_response_ignored);
        tcase_add_test(tc, test_credentials_expire_and_renew);
        tcase_add_test(tc, test_new_credentials_while_allocating);
        tcase_add_test(tc, test_allocation_mismatch);
        tcase_add_test(tc, test_mismatch_until_old_allocation_expires);
        tcase_add_test(tc, test_allocation_expires_without_refresh);
        tcase_add_test(tc, test_channel_bind_error);
        tcase_add_test(tc, test_ipv6_relay_asks_for_ipv6);
        tcase_add_test(tc, test_release_deletes_and_stops);
        tcase_add_test(tc, test_bad_params);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(turn_suite)
