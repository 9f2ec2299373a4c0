/* SPDX-License-Identifier: Apache-2.0 */
/* The WireGuard state machine with a fake clock: two instances (A and B) whose send
 * callbacks queue datagrams in memory, delivered by the test. Covers the handshake both
 * ways, tampering, replayed and flooding initiations, wrong keys and PSK, cookies under
 * load, the timers of the whitepaper's §6 (retransmission with jitter, giving up after
 * REKEY_ATTEMPT_TIME, keepalive, new handshake after silence, rekey by time and by
 * messages, reject after time, zeroing after 3 × REJECT_AFTER_TIME), counter exhaustion,
 * transport replays, staging, and the fast path's wake-up protocol. */
#include <errno.h>
#include <stdlib.h>

#include "fz-check.h"
#include "wg-test-util.h"
#include "wg.h"

#define SEC  FZD_WG_NSEC_PER_SEC
#define MSEC (FZD_WG_NSEC_PER_SEC / 1000)
#define T0   (1000 * SEC) /* the fake clock starts here */

typedef struct Msg {
        uint8_t data[2048];
        size_t len;
        FzdWgPeer *to;
} Msg;

typedef struct Side {
        const char *name;
        FzdWg *wg;
        FzdWgPeer *peer; /* the other side */
        Msg out[300];
        size_t n_out;
        unsigned events[8];
        uint64_t rng;
        bool under_load;
        int freed;
        uint8_t src[6]; /* address || port, as the data plane would pass it */
        /* last plaintext received */
        uint8_t plain[2048];
        int plain_len;
        unsigned received;
} Side;

static Side A, B;

static void on_send(void *userdata, FzdWgPeer *peer, const uint8_t *data, size_t len) {
        Side *s = userdata;

        if (s->peer)
                ck_assert_ptr_eq(peer, s->peer);
        ck_assert_uint_lt(s->n_out, ELEMENTSOF(s->out));
        ck_assert_uint_le(len, sizeof s->out[0].data);
        memcpy(s->out[s->n_out].data, data, len);
        s->out[s->n_out].to = peer;
        s->out[s->n_out++].len = len;
}

static void on_event(void *userdata, FzdWgPeer *peer, FzdWgEvent event) {
        Side *s = userdata;
        ck_assert_uint_lt(event, ELEMENTSOF(s->events));
        s->events[event]++;
}

static void on_freed(void *userdata) {
        (*(int *) userdata)++;
}

/* Deterministic randomness (xorshift): every run makes the same indices and keys. */
static int on_random(void *userdata, void *buf, size_t len) {
        Side *s = userdata;
        uint8_t *b = buf;

        for (size_t i = 0; i < len; i++) {
                s->rng ^= s->rng << 13;
                s->rng ^= s->rng >> 7;
                s->rng ^= s->rng << 17;
                b[i] = (uint8_t) s->rng;
        }
        return 0;
}

static const FzdWgCallbacks callbacks = {
        .send = on_send,
        .event = on_event,
        .peer_freed = on_freed,
        .random = on_random,
};

static void key_of(uint8_t key[32], uint8_t seed) {
        for (unsigned i = 0; i < 32; i++)
                key[i] = (uint8_t) (seed * 31 + i * 7);
        fzd_wg_clamp(key);
}

static FzdWgTimers timers(void) {
        FzdWgTimers t;
        fzd_wg_timers_firezone(&t);
        ck_assert_uint_eq(t.rekey_attempt_time, 20 * SEC);
        return t;
}

static void side_init(Side *s, const char *name, uint8_t seed, const FzdWgTimers *t) {
        FzdWgConfig c = { .timers = *t, .realtime_base = 1700000000ULL * SEC, .mtu = 1280 };

        *s = (Side) { .name = name, .rng = 0x9e3779b97f4a7c15ULL * seed };
        s->src[0] = 192;
        s->src[1] = 0;
        s->src[2] = 2;
        s->src[3] = seed;
        s->src[5] = 51;
        key_of(c.private_key, seed);
        ck_assert_int_eq(fzd_wg_new(&c, &callbacks, s, &s->wg), 0);
}

static void pair_with(Side *s, Side *other, const uint8_t psk[32]) {
        ck_assert_int_eq(fzd_wg_peer_new(s->wg, fzd_wg_public_key(other->wg), psk, &s->freed, &s->peer), 0);
}

static void setup_pair(const FzdWgTimers *t) {
        uint8_t psk[32];

        memset(psk, 0x5a, sizeof psk);
        side_init(&A, "A", 1, t);
        side_init(&B, "B", 2, t);
        pair_with(&A, &B, psk);
        pair_with(&B, &A, psk);
}

static void setup(void) {
        FzdWgTimers t = timers();
        setup_pair(&t);
}

static void teardown(void) {
        fzd_wg_free(A.wg);
        fzd_wg_free(B.wg);
        /* Each side's peer went with its FzdWg. */
        ck_assert_int_eq(A.freed, 1);
        ck_assert_int_eq(B.freed, 1);
}

/* Hands every datagram `from` queued to `to`; returns how many it handed over. Cookie
 * replies go back into to's queue, as the data plane sends them to the source. */
static size_t deliver(Side *from, Side *to, uint64_t now) {
        size_t n = from->n_out;
        Msg *msgs = malloc(sizeof(Msg) * (n ? n : 1));

        memcpy(msgs, from->out, sizeof(Msg) * n);
        from->n_out = 0;
        for (size_t i = 0; i < n; i++) {
                const uint8_t *d = msgs[i].data;
                if (fzd_wg_message_type(d, msgs[i].len) == FZD_WG_MSG_DATA) {
                        FzdWgPeer *p = NULL;
                        int r = fzd_wg_decrypt(to->wg, d, msgs[i].len, now, to->plain, &p);
                        if (r >= 0) {
                                ck_assert_ptr_eq(p, to->peer);
                                fzd_wg_peer_unref(p);
                                to->plain_len = r;
                                to->received++;
                        }
                } else {
                        FzdWgInput in;
                        int r = fzd_wg_handle_handshake(to->wg, d, msgs[i].len, from->src, sizeof from->src, now,
                                                        to->under_load, &in);
                        if (r == -EAGAIN) {
                                ck_assert_uint_eq(in.reply_len, FZD_WG_COOKIE_REPLY_LEN);
                                memcpy(to->out[to->n_out].data, in.reply, in.reply_len);
                                to->out[to->n_out++].len = in.reply_len;
                        }
                }
        }
        free(msgs);
        return n;
}

static void exchange(uint64_t now) {
        while (A.n_out > 0 || B.n_out > 0) {
                deliver(&A, &B, now);
                deliver(&B, &A, now);
        }
}

static uint8_t packet[100];

static void handshake(uint64_t now) {
        FzdWgPeerStats st;

        for (unsigned i = 0; i < sizeof packet; i++)
                packet[i] = (uint8_t) i;
        ck_assert_int_eq(fzd_wg_peer_send(A.wg, A.peer, packet, sizeof packet, now), 0); /* staged */
        ck_assert_uint_eq(A.n_out, 1);
        ck_assert_uint_eq(A.out[0].len, FZD_WG_INITIATION_LEN);
        exchange(now);
        fzd_wg_peer_get_stats(A.peer, &st);
        ck_assert(st.has_session);
        ck_assert_uint_eq(B.received, 1);
        ck_assert_int_eq(B.plain_len, 112); /* padded to 16 */
        ck_assert_mem_eq(B.plain, packet, sizeof packet);
}

START_TEST(test_handshake_and_data) {
        FzdWgPeerStats st;
        uint8_t back[40] = { 0x45 };

        handshake(T0);
        ck_assert_uint_eq(A.events[FZD_WG_EVENT_HANDSHAKE_SENT], 1);
        ck_assert_uint_eq(A.events[FZD_WG_EVENT_HANDSHAKE_COMPLETE], 1);
        /* B was confirmed by A's first data packet: it can send at once now. */
        ck_assert_uint_eq(B.events[FZD_WG_EVENT_SESSION_CONFIRMED], 1);
        ck_assert_int_eq(fzd_wg_peer_send(B.wg, B.peer, back, sizeof back, T0 + MSEC), 1);
        deliver(&B, &A, T0 + MSEC);
        ck_assert_uint_eq(A.received, 1);
        ck_assert_mem_eq(A.plain, back, sizeof back);

        fzd_wg_peer_get_stats(B.peer, &st);
        ck_assert_uint_eq(st.handshakes, 1);
        ck_assert_uint_eq(st.rx_packets, 1);
        ck_assert_uint_eq(st.tx_packets, 1);
        ck_assert_uint_eq(st.last_handshake, T0);
        ck_assert_uint_eq(st.first_data_after_handshake, T0);
        fzd_wg_peer_get_stats(A.peer, &st);
        ck_assert_uint_eq(st.initiations_sent, 1);
        ck_assert_uint_eq(st.tx_bytes, 32 + 112);
}
END_TEST

/* The first initiation goes out before ICE found a path (the data plane drops it): once a
 * path exists, fzd_wg_peer_path_ready() sends a fresh one at once instead of in rekey_timeout;
 * twice within handshake_min_interval sends once; with a session it sends nothing. */
START_TEST(test_path_ready_resends_a_lost_initiation) {
        FzdWgPeerStats st;

        ck_assert_int_eq(fzd_wg_peer_send(A.wg, A.peer, packet, sizeof packet, T0), 0);
        ck_assert_uint_eq(A.n_out, 1);
        A.n_out = 0; /* no path: lost */
        fzd_wg_peer_path_ready(A.wg, A.peer, T0 + 5 * MSEC);
        ck_assert_uint_eq(A.n_out, 0); /* within handshake_min_interval of the last one… */
        /* …so it goes as soon as the interval is over, not rekey_timeout (5 s) later. */
        ck_assert_uint_eq(fzd_wg_next_deadline(A.wg), T0 + 20 * MSEC);
        (void) fzd_wg_tick(A.wg, T0 + 20 * MSEC);
        ck_assert_uint_eq(A.n_out, 1);
        ck_assert_uint_eq(A.out[0].len, FZD_WG_INITIATION_LEN);
        ck_assert_uint_eq(A.events[FZD_WG_EVENT_HANDSHAKE_SENT], 2);
        A.n_out = 0; /* lost again: a later path_ready sends at once */
        fzd_wg_peer_path_ready(A.wg, A.peer, T0 + 45 * MSEC);
        ck_assert_uint_eq(A.n_out, 1);
        ck_assert_uint_eq(A.events[FZD_WG_EVENT_HANDSHAKE_SENT], 3);
        exchange(T0 + 46 * MSEC);
        fzd_wg_peer_get_stats(A.peer, &st);
        ck_assert(st.has_session);
        ck_assert_uint_eq(st.last_handshake, T0 + 46 * MSEC);
        ck_assert_uint_eq(B.received, 1); /* the staged packet went with the session */
        /* A new path with a session: nothing to do. */
        fzd_wg_peer_path_ready(A.wg, A.peer, T0 + 100 * MSEC);
        ck_assert_uint_eq(A.n_out, 0);
        ck_assert_uint_eq(A.events[FZD_WG_EVENT_HANDSHAKE_SENT], 3);
}
END_TEST

START_TEST(test_bad_messages) {
        uint8_t msg[FZD_WG_INITIATION_LEN];
        FzdWgInput in;

        fzd_wg_peer_initiate(A.wg, A.peer, T0);
        ck_assert_uint_eq(A.n_out, 1);
        memcpy(msg, A.out[0].data, sizeof msg);

        /* A wrong length or type, or nonzero reserved bytes. */
        ck_assert_int_eq(fzd_wg_handle_handshake(B.wg, msg, sizeof msg - 1, A.src, 6, T0, false, &in), -EPROTO);
        msg[1] = 1;
        ck_assert_int_eq(fzd_wg_handle_handshake(B.wg, msg, sizeof msg, A.src, 6, T0, false, &in), -EPROTO);
        msg[1] = 0;
        ck_assert_int_eq(fzd_wg_handle_handshake(B.wg, msg, 3, A.src, 6, T0, false, &in), -EPROTO);
        /* mac1 over a changed byte. */
        msg[40] ^= 1;
        ck_assert_int_eq(fzd_wg_handle_handshake(B.wg, msg, sizeof msg, A.src, 6, T0, false, &in), -EBADMSG);
        ck_assert_ptr_null(in.peer);
        msg[40] ^= 1;
        /* A response and a cookie reply nobody asked for. */
        {
                uint8_t r[FZD_WG_RESPONSE_LEN] = { 2 }, c[FZD_WG_COOKIE_REPLY_LEN] = { 3 };
                ck_assert_int_eq(fzd_wg_handle_handshake(B.wg, r, sizeof r, A.src, 6, T0, false, &in), -EBADMSG);
                ck_assert_int_eq(fzd_wg_handle_handshake(B.wg, c, sizeof c, A.src, 6, T0, false, &in), -ESTALE);
        }
        /* Intact, it still works. */
        ck_assert_int_eq(fzd_wg_handle_handshake(B.wg, msg, sizeof msg, A.src, 6, T0, false, &in), 0);
        ck_assert_ptr_eq(in.peer, B.peer);
        ck_assert(in.authenticated);
        ck_assert_uint_eq(B.n_out, 1); /* the response */
        ck_assert_uint_eq(B.out[0].len, FZD_WG_RESPONSE_LEN);
}
END_TEST

START_TEST(test_replayed_and_flooding_initiations) {
        uint8_t msg[FZD_WG_INITIATION_LEN];
        FzdWgInput in;
        FzdWg *a2;
        FzdWgPeer *p2;
        FzdWgConfig c = { .timers = timers(), .realtime_base = 1700000000ULL * SEC, .mtu = 1280 };
        Side s2 = { .rng = 77 };

        fzd_wg_peer_initiate(A.wg, A.peer, T0);
        memcpy(msg, A.out[0].data, sizeof msg);
        A.n_out = 0;
        ck_assert_int_eq(fzd_wg_handle_handshake(B.wg, msg, sizeof msg, A.src, 6, T0, false, &in), 0);
        /* The same initiation again: its timestamp is not newer. */
        ck_assert_int_eq(fzd_wg_handle_handshake(B.wg, msg, sizeof msg, A.src, 6, T0 + SEC, false, &in), -EALREADY);
        ck_assert_ptr_eq(in.peer, B.peer);
        ck_assert(!in.authenticated);

        /* A second instance with A's key, 17 ms later: a newer timestamp (TAI64N is
         * whitened to ~16.8 ms) but closer than 20 ms to the last one: flooding. */
        key_of(c.private_key, 1);
        ck_assert_int_eq(fzd_wg_new(&c, &callbacks, &s2, &a2), 0);
        s2.wg = a2;
        ck_assert_int_eq(fzd_wg_peer_new(a2, fzd_wg_public_key(B.wg), (uint8_t[32]) { [0 ... 31] = 0x5a }, &s2.freed,
                                         &p2),
                         0);
        s2.peer = p2;
        fzd_wg_peer_initiate(a2, p2, T0 + 17 * MSEC);
        ck_assert_int_eq(fzd_wg_handle_handshake(B.wg, s2.out[0].data, s2.out[0].len, A.src, 6, T0 + 17 * MSEC, false, &in),
                         -EBUSY);
        /* 25 ms later it is fine. */
        s2.n_out = 0;
        fzd_wg_peer_initiate(a2, p2, T0 + 6 * SEC);
        ck_assert_int_eq(fzd_wg_handle_handshake(B.wg, s2.out[0].data, s2.out[0].len, A.src, 6, T0 + 6 * SEC, false, &in),
                         0);
        fzd_wg_free(a2);
        ck_assert_int_eq(s2.freed, 1);
}
END_TEST

START_TEST(test_wrong_psk) {
        uint8_t other[32];
        FzdWgInput in;
        FzdWgPeerStats st;
        unsigned initiations = 1;

        memset(other, 0x33, sizeof other);
        fzd_wg_peer_set_psk(B.peer, other);
        ck_assert_int_eq(fzd_wg_peer_send(A.wg, A.peer, packet, sizeof packet, T0), 0);
        /* B cannot tell (the PSK only enters the response) and answers; A refuses it. */
        deliver(&A, &B, T0);
        ck_assert_uint_eq(B.n_out, 1);
        ck_assert_int_eq(fzd_wg_handle_handshake(A.wg, B.out[0].data, B.out[0].len, B.src, 6, T0, false, &in), -EBADMSG);
        ck_assert_ptr_eq(in.peer, A.peer);
        ck_assert(!in.authenticated);
        B.n_out = 0;
        fzd_wg_peer_get_stats(A.peer, &st);
        ck_assert(!st.has_session);

        /* A keeps retrying every REKEY_TIMEOUT (+ jitter < 333 ms) and gives up after
         * REKEY_ATTEMPT_TIME (20 s), dropping the staged packet. */
        for (uint64_t now = T0; now <= T0 + 30 * SEC; now += 10 * MSEC) {
                uint64_t d = fzd_wg_next_deadline(A.wg);
                if (d <= now)
                        fzd_wg_tick(A.wg, now);
                for (size_t i = 0; i < A.n_out; i++) {
                        uint64_t since = now - T0;
                        ck_assert_uint_eq(A.out[i].len, FZD_WG_INITIATION_LEN);
                        /* n-th retransmission at n × 5 s + [0, 333 ms) */
                        ck_assert_uint_ge(since, initiations * 5 * SEC);
                        ck_assert_uint_lt(since, initiations * (5 * SEC + 334 * MSEC) + 10 * MSEC);
                        initiations++;
                }
                A.n_out = 0;
        }
        ck_assert_uint_eq(initiations, 4); /* at 0, ~5, ~10, ~15 s */
        ck_assert_uint_eq(A.events[FZD_WG_EVENT_HANDSHAKE_FAILED], 1);
        ck_assert_uint_eq(fzd_wg_next_deadline(A.wg), FZD_WG_NEVER);

        /* With the right PSK the next attempt succeeds, and only the new packet arrives. */
        fzd_wg_peer_set_psk(B.peer, (uint8_t[32]) { [0 ... 31] = 0x5a });
        packet[0] = 0xee;
        ck_assert_int_eq(fzd_wg_peer_send(A.wg, A.peer, packet, sizeof packet, T0 + 31 * SEC), 0);
        exchange(T0 + 31 * SEC);
        ck_assert_uint_eq(B.received, 1);
        ck_assert_uint_eq(B.plain[0], 0xee);
}
END_TEST

START_TEST(test_unknown_peer_and_wrong_key) {
        FzdWgInput in;
        uint8_t msg[FZD_WG_INITIATION_LEN];
        Side c;
        FzdWgTimers t = timers();

        /* C knows B's key, B does not know C. */
        side_init(&c, "C", 3, &t);
        pair_with(&c, &B, (uint8_t[32]) {});
        fzd_wg_peer_initiate(c.wg, c.peer, T0);
        ck_assert_int_eq(fzd_wg_handle_handshake(B.wg, c.out[0].data, c.out[0].len, c.src, 6, T0, false, &in), -ENOKEY);
        ck_assert_ptr_null(in.peer);
        ck_assert_mem_eq(in.remote_static, fzd_wg_public_key(c.wg), 32);
        fzd_wg_free(c.wg);

        /* A initiation meant for a different responder key: mac1 does not verify at B. */
        side_init(&c, "C", 4, &t);
        {
                int freed = 0;
                FzdWgPeer *to_c = NULL;
                ck_assert_int_eq(fzd_wg_peer_new(A.wg, fzd_wg_public_key(c.wg), (uint8_t[32]) {}, &freed, &to_c), 0);
                /* on_send checks the peer: pretend it is A's only one for this message */
                FzdWgPeer *saved = A.peer;
                A.peer = to_c;
                fzd_wg_peer_initiate(A.wg, to_c, T0);
                A.peer = saved;
                fzd_wg_peer_remove(to_c);
                ck_assert_int_eq(freed, 1);
        }
        memcpy(msg, A.out[0].data, sizeof msg);
        ck_assert_int_eq(fzd_wg_handle_handshake(B.wg, msg, sizeof msg, A.src, 6, T0, false, &in), -EBADMSG);
        fzd_wg_free(c.wg);
}
END_TEST

START_TEST(test_cookie_under_load) {
        FzdWgInput in;
        uint8_t cookie_reply[FZD_WG_COOKIE_REPLY_LEN];
        unsigned busy = 0;

        B.under_load = true;
        ck_assert_int_eq(fzd_wg_peer_send(A.wg, A.peer, packet, sizeof packet, T0), 0);
        /* No mac2 yet: B answers with a cookie reply instead of a response. */
        deliver(&A, &B, T0);
        ck_assert_uint_eq(B.n_out, 1);
        ck_assert_uint_eq(B.out[0].len, FZD_WG_COOKIE_REPLY_LEN);
        memcpy(cookie_reply, B.out[0].data, sizeof cookie_reply);
        /* A cookie reply tampered with does not decrypt. */
        cookie_reply[40] ^= 1;
        ck_assert_int_eq(fzd_wg_handle_handshake(A.wg, cookie_reply, sizeof cookie_reply, B.src, 6, T0, false, &in),
                         -EBADMSG);
        deliver(&B, &A, T0);
        ck_assert_uint_eq(A.events[FZD_WG_EVENT_COOKIE_RECEIVED], 1);
        ck_assert_uint_eq(A.n_out, 0); /* no immediate resend: the retransmission carries mac2 */

        /* The retransmission carries mac2 and is processed although B is still loaded. */
        fzd_wg_tick(A.wg, fzd_wg_next_deadline(A.wg));
        ck_assert_uint_eq(A.n_out, 1);
        ck_assert(!fzd_wg_is_zero(A.out[0].data + FZD_WG_INITIATION_MAC2, 16));
        exchange(T0 + 6 * SEC);
        ck_assert_uint_eq(B.received, 1);

        /* Under load, valid mac2 or not, one source gets ~20 initiations/s (burst 5). */
        for (unsigned i = 0; i < 20; i++) {
                uint64_t now = T0 + 20 * SEC + i * 30 * MSEC;
                A.n_out = 0;
                fzd_wg_peer_initiate(A.wg, A.peer, now + 5 * SEC * (i + 1));
                if (A.n_out == 0)
                        continue;
                int r = fzd_wg_handle_handshake(B.wg, A.out[0].data, A.out[0].len, A.src, 6, now, true, &in);
                ck_assert(r == 0 || r == -EBUSY || r == -EAGAIN);
                busy += r == -EBUSY;
                B.n_out = 0;
        }
        ck_assert_uint_gt(busy, 0);
}
END_TEST

/* Runs both sides' timers from `from` to `to` in steps, delivering everything. */
static void run(uint64_t from, uint64_t to, uint64_t step) {
        for (uint64_t now = from; now <= to; now += step) {
                if (fzd_wg_next_deadline(A.wg) <= now)
                        fzd_wg_tick(A.wg, now);
                if (fzd_wg_next_deadline(B.wg) <= now)
                        fzd_wg_tick(B.wg, now);
                exchange(now);
        }
}

START_TEST(test_keepalive) {
        uint8_t p[60] = { 0x45 };

        handshake(T0);
        /* B got data from A at T0 and sent nothing back: after KEEPALIVE_TIMEOUT it sends an
         * empty packet. */
        ck_assert_uint_eq(fzd_wg_next_deadline(B.wg), T0 + 5 * SEC); /* the poll comes first */
        fzd_wg_tick(B.wg, T0 + 5 * SEC);
        ck_assert_uint_eq(fzd_wg_next_deadline(B.wg), T0 + 10 * SEC);
        fzd_wg_tick(B.wg, T0 + 10 * SEC - 1);
        ck_assert_uint_eq(B.n_out, 0);
        fzd_wg_tick(B.wg, T0 + 10 * SEC);
        ck_assert_uint_eq(B.n_out, 1);
        ck_assert_uint_eq(B.out[0].len, 32); /* header + tag: a keepalive */
        deliver(&B, &A, T0 + 10 * SEC);
        ck_assert_int_eq(A.plain_len, 0);
        ck_assert_uint_eq(A.received, 1);
        /* A keepalive is not answered with a keepalive. */
        run(T0 + 10 * SEC, T0 + 40 * SEC, 100 * MSEC);
        ck_assert_uint_eq(A.received, 1);

        /* If B answers with data within the timeout, no keepalive is needed. */
        ck_assert_int_eq(fzd_wg_peer_send(A.wg, A.peer, p, sizeof p, T0 + 50 * SEC), 1);
        deliver(&A, &B, T0 + 50 * SEC);
        ck_assert_int_eq(fzd_wg_peer_send(B.wg, B.peer, p, sizeof p, T0 + 55 * SEC), 1);
        deliver(&B, &A, T0 + 55 * SEC);
        ck_assert_uint_eq(A.received, 2);
        run(T0 + 55 * SEC, T0 + 64 * SEC, 100 * MSEC); /* A owes B a keepalive at 65 s */
        ck_assert_uint_eq(A.received, 2);
        ck_assert_uint_eq(B.received, 2);
        run(T0 + 64 * SEC, T0 + 66 * SEC, 100 * MSEC);
        ck_assert_uint_eq(B.received, 3);
        ck_assert_int_eq(B.plain_len, 0);
}
END_TEST

START_TEST(test_new_handshake_after_silence) {
        FzdWgPeerStats st;

        handshake(T0);
        ck_assert_uint_eq(A.events[FZD_WG_EVENT_HANDSHAKE_SENT], 1);
        /* A sent data at T0 (the staged packet) and at T0 + 1 s, and hears nothing (B's
         * packets are lost): KEEPALIVE + REKEY_TIMEOUT (15 s) after the first unanswered
         * one it starts a new handshake. */
        ck_assert_int_eq(fzd_wg_peer_send(A.wg, A.peer, packet, sizeof packet, T0 + SEC), 1);
        A.n_out = 0;
        for (uint64_t now = T0 + SEC; now < T0 + 15 * SEC; now += 50 * MSEC) {
                if (fzd_wg_next_deadline(A.wg) <= now)
                        fzd_wg_tick(A.wg, now);
                ck_assert_uint_eq(A.n_out, 0);
        }
        ck_assert_uint_eq(fzd_wg_next_deadline(A.wg), T0 + 15 * SEC);
        fzd_wg_tick(A.wg, T0 + 15 * SEC);
        ck_assert_uint_eq(A.n_out, 1);
        ck_assert_uint_eq(A.out[0].len, FZD_WG_INITIATION_LEN);
        fzd_wg_peer_get_stats(A.peer, &st);
        ck_assert_uint_eq(st.initiations_sent, 2);
        exchange(T0 + 15 * SEC);
        fzd_wg_peer_get_stats(A.peer, &st);
        ck_assert_uint_eq(st.handshakes, 2);
}
END_TEST

START_TEST(test_rekey_after_time) {
        _cleanup_(fzd_wg_keypair_unrefp) FzdWgKeypair *kp = NULL;
        FzdWgAead *aead = fzd_wg_aead_new();
        uint8_t out[256];
        FzdWgPeerStats st;

        handshake(T0);
        kp = fzd_wg_peer_tx_keypair(A.peer);
        ck_assert_ptr_nonnull(kp);
        /* Before REKEY_AFTER_TIME the fast path does not ask for anything. */
        ck_assert_int_gt(fzd_wg_keypair_seal(kp, aead, T0 + 119 * SEC, packet, 20, out), 0);
        ck_assert_int_eq(fzd_wg_keypair_note_tx(kp, T0 + 119 * SEC, 1, 0, 64), 0);
        /* After it, the initiator's next send asks for a new handshake. */
        ck_assert_int_gt(fzd_wg_keypair_seal(kp, aead, T0 + 121 * SEC, packet, 20, out), 0);
        ck_assert_int_eq(fzd_wg_keypair_note_tx(kp, T0 + 121 * SEC, 1, 0, 64), FZD_WG_WAKE);
        /* ... once. */
        ck_assert_int_eq(fzd_wg_keypair_note_tx(kp, T0 + 122 * SEC, 1, 0, 64), 0);
        ck_assert_uint_le(fzd_wg_next_deadline(A.wg), T0 + 121 * SEC);
        A.n_out = 0;
        fzd_wg_tick(A.wg, T0 + 121 * SEC);
        ck_assert_uint_eq(A.n_out, 1);
        ck_assert_uint_eq(A.out[0].len, FZD_WG_INITIATION_LEN);
        exchange(T0 + 121 * SEC);
        fzd_wg_peer_get_stats(A.peer, &st);
        ck_assert_uint_eq(st.handshakes, 2);
        /* The old session still decrypts what was in flight (it is "previous"). */
        fzd_wg_aead_free(aead);
}
END_TEST

START_TEST(test_responder_does_not_rekey_by_time) {
        _cleanup_(fzd_wg_keypair_unrefp) FzdWgKeypair *kp = NULL;
        FzdWgAead *aead = fzd_wg_aead_new();
        uint8_t out[256];

        handshake(T0);
        kp = fzd_wg_peer_tx_keypair(B.peer);
        ck_assert_ptr_nonnull(kp);
        ck_assert_int_gt(fzd_wg_keypair_seal(kp, aead, T0 + 150 * SEC, packet, 20, out), 0);
        ck_assert_int_eq(fzd_wg_keypair_note_tx(kp, T0 + 150 * SEC, 1, 0, 64), 0); /* no rekey request */
        B.n_out = 0;
        fzd_wg_tick(B.wg, T0 + 150 * SEC);
        ck_assert_uint_eq(B.n_out, 0); /* no initiation */
        fzd_wg_aead_free(aead);
}
END_TEST

START_TEST(test_initiator_rekeys_on_receive) {
        _cleanup_(fzd_wg_keypair_unrefp) FzdWgKeypair *kp = NULL;

        handshake(T0);
        /* REJECT - KEEPALIVE - REKEY_TIMEOUT = 165 s: an initiator receiving on a session
         * that old asks for a new one, so it is ready before the old one is refused. */
        kp = fzd_wg_lookup_keypair(A.wg, fzd_wg_keypair_local_index(fzd_wg_peer_tx_keypair(A.peer)));
        fzd_wg_keypair_unref(kp); /* the ref tx_keypair took */
        ck_assert_int_eq(fzd_wg_keypair_note_rx(kp, T0 + 160 * SEC, 1, 0, 64), 0);
        A.n_out = 0;
        fzd_wg_tick(A.wg, T0 + 160 * SEC);
        ck_assert_uint_eq(A.n_out, 0);
        ck_assert_int_eq(fzd_wg_keypair_note_rx(kp, T0 + 166 * SEC, 1, 0, 64), FZD_WG_WAKE);
        fzd_wg_tick(A.wg, T0 + 166 * SEC);
        ck_assert_uint_eq(A.n_out, 1);
        ck_assert_uint_eq(A.out[0].len, FZD_WG_INITIATION_LEN);
}
END_TEST

START_TEST(test_reject_after_time_wipes) {
        _cleanup_(fzd_wg_keypair_unrefp) FzdWgKeypair *kp = NULL;
        FzdWgAead *aead = fzd_wg_aead_new();
        uint8_t out[256];
        uint32_t idx;

        handshake(T0);
        /* B answers, so nothing but the age of the session is due. */
        ck_assert_int_eq(fzd_wg_peer_send(B.wg, B.peer, packet, sizeof packet, T0 + SEC), 1);
        deliver(&B, &A, T0 + SEC);
        kp = fzd_wg_peer_tx_keypair(A.peer);
        idx = fzd_wg_keypair_local_index(kp);
        ck_assert_int_gt(fzd_wg_keypair_seal(kp, aead, T0 + 180 * SEC - 1, packet, 20, out), 0);
        ck_assert_int_eq(fzd_wg_keypair_seal(kp, aead, T0 + 180 * SEC, packet, 20, out), -ESTALE);
        /* The state machine drops it at that deadline: lookups fail, keys are gone. */
        ck_assert_uint_le(fzd_wg_next_deadline(A.wg), T0 + 180 * SEC);
        fzd_wg_tick(A.wg, T0 + 180 * SEC);
        ck_assert_uint_eq(A.events[FZD_WG_EVENT_KEYS_EXPIRED], 1);
        ck_assert_ptr_null(fzd_wg_lookup_keypair(A.wg, idx));
        ck_assert_ptr_null(fzd_wg_peer_tx_keypair(A.peer));
        /* Sending again stages the packet and starts a new handshake. */
        A.n_out = 0;
        ck_assert_int_eq(fzd_wg_peer_send(A.wg, A.peer, packet, sizeof packet, T0 + 181 * SEC), 0);
        ck_assert_uint_eq(A.n_out, 1);
        ck_assert_uint_eq(A.out[0].len, FZD_WG_INITIATION_LEN);
        fzd_wg_aead_free(aead);
}
END_TEST

START_TEST(test_zero_after_three_reject) {
        handshake(T0);
        /* With no new handshake, everything left is wiped at 3 × REJECT_AFTER_TIME. */
        run(T0, T0 + 600 * SEC, SEC);
        ck_assert_uint_eq(fzd_wg_next_deadline(A.wg), FZD_WG_NEVER);
        ck_assert_uint_eq(fzd_wg_next_deadline(B.wg), FZD_WG_NEVER);
        ck_assert_ptr_null(fzd_wg_peer_tx_keypair(A.peer));
        ck_assert_ptr_null(fzd_wg_peer_tx_keypair(B.peer));
}
END_TEST

START_TEST(test_counter_exhaustion) {
        _cleanup_(fzd_wg_keypair_unrefp) FzdWgKeypair *kp = NULL;
        FzdWgAead *aead = fzd_wg_aead_new();
        FzdWgTimers t = timers();
        uint8_t out[256], plain[256];
        ssize_t n;

        handshake(T0);
        kp = fzd_wg_peer_tx_keypair(A.peer);
        /* REKEY_AFTER_MESSAGES: the send after it asks for a new handshake. */
        fzd_wg_keypair_set_send_counter(kp, t.rekey_after_messages);
        ck_assert_int_gt(fzd_wg_keypair_seal(kp, aead, T0 + SEC, packet, 20, out), 0);
        ck_assert_int_eq(fzd_wg_keypair_note_tx(kp, T0 + SEC, 1, 0, 64), FZD_WG_WAKE);

        /* REJECT_AFTER_MESSAGES: the last counter is used once, then never again (and the
         * counter does not wrap into used nonces however often it is tried). */
        fzd_wg_keypair_set_send_counter(kp, t.reject_after_messages - 1);
        n = fzd_wg_keypair_seal(kp, aead, T0 + SEC, packet, 20, out);
        ck_assert_int_gt(n, 0);
        ck_assert_uint_eq(fzd_wg_le64(out + 8), t.reject_after_messages - 1);
        for (int i = 0; i < 10000; i++)
                ck_assert_int_eq(fzd_wg_keypair_seal(kp, aead, T0 + SEC, packet, 20, out), -ESTALE);

        /* That last message is also past what a receiver accepts (>= limit - 1 passes,
         * the limit itself does not): B takes counter limit-1 once. */
        ck_assert_int_eq(fzd_wg_decrypt(B.wg, out, 0, T0 + SEC, plain, NULL), -EPROTO);
        {
                FzdWgKeypair *rx = fzd_wg_lookup_keypair(B.wg, fzd_wg_le32(out + 4));
                /* A message claiming counter == REJECT_AFTER_MESSAGES is refused before decryption. */
                uint8_t forged[64] = { 4 };
                memcpy(forged + 4, out + 4, 4);
                fzd_wg_put_le64(forged + 8, t.reject_after_messages);
                if (rx) {
                        ck_assert_int_eq(fzd_wg_keypair_open(rx, aead, T0 + SEC, forged, sizeof forged, plain), -ESTALE);
                        fzd_wg_keypair_unref(rx);
                }
        }
        /* The control side's send stages and starts a handshake now. */
        A.n_out = 0;
        ck_assert_int_eq(fzd_wg_peer_send(A.wg, A.peer, packet, sizeof packet, T0 + 6 * SEC), 0);
        ck_assert_uint_eq(A.n_out, 1);
        ck_assert_uint_eq(A.out[0].len, FZD_WG_INITIATION_LEN);
        exchange(T0 + 6 * SEC);
        ck_assert_uint_eq(B.received, 2);
        fzd_wg_aead_free(aead);
}
END_TEST

START_TEST(test_transport_replay_and_tamper) {
        Msg m[4];
        uint8_t plain[256];

        handshake(T0);
        for (int i = 0; i < 4; i++) {
                packet[0] = (uint8_t) i;
                ck_assert_int_eq(fzd_wg_peer_send(A.wg, A.peer, packet, sizeof packet, T0 + SEC), 1);
                m[i] = A.out[0];
                A.n_out = 0;
        }
        /* Out of order within the window: fine. */
        ck_assert_int_eq(fzd_wg_decrypt(B.wg, m[2].data, m[2].len, T0 + SEC, plain, NULL), 112);
        ck_assert_int_eq(fzd_wg_decrypt(B.wg, m[0].data, m[0].len, T0 + SEC, plain, NULL), 112);
        ck_assert_uint_eq(plain[0], 0);
        /* Again: a replay. */
        ck_assert_int_eq(fzd_wg_decrypt(B.wg, m[2].data, m[2].len, T0 + SEC, plain, NULL), -EALREADY);
        /* A flipped bit anywhere after the index: refused, and the counter is not burnt. */
        for (size_t bit = 8 * 8; bit < m[1].len * 8; bit += 13) {
                Msg t = m[1];
                t.data[bit / 8] ^= (uint8_t) (1u << (bit % 8));
                ck_assert_int_eq(fzd_wg_decrypt(B.wg, t.data, t.len, T0 + SEC, plain, NULL), -EBADMSG);
        }
        ck_assert_int_eq(fzd_wg_decrypt(B.wg, m[1].data, m[1].len, T0 + SEC, plain, NULL), 112);
        /* An unknown receiver index. */
        m[3].data[4] ^= 0xff;
        ck_assert_int_eq(fzd_wg_decrypt(B.wg, m[3].data, m[3].len, T0 + SEC, plain, NULL), -ENOENT);
}
END_TEST

START_TEST(test_simultaneous_initiation) {
        uint8_t p[40] = { 0x45 };

        /* Both send at once: each initiation crosses the other. */
        ck_assert_int_eq(fzd_wg_peer_send(A.wg, A.peer, p, sizeof p, T0), 0);
        ck_assert_int_eq(fzd_wg_peer_send(B.wg, B.peer, p, sizeof p, T0), 0);
        exchange(T0);
        ck_assert_uint_eq(A.events[FZD_WG_EVENT_HANDSHAKE_COMPLETE], 1);
        ck_assert_uint_eq(B.events[FZD_WG_EVENT_HANDSHAKE_COMPLETE], 1);
        ck_assert_uint_eq(A.received, 1);
        ck_assert_uint_eq(B.received, 1);
        ck_assert_int_eq(fzd_wg_peer_send(A.wg, A.peer, p, sizeof p, T0 + SEC), 1);
        ck_assert_int_eq(fzd_wg_peer_send(B.wg, B.peer, p, sizeof p, T0 + SEC), 1);
        exchange(T0 + SEC);
        ck_assert_uint_eq(A.received, 2);
        ck_assert_uint_eq(B.received, 2);
}
END_TEST

START_TEST(test_staging_is_bounded) {
        for (unsigned i = 0; i < 200; i++) {
                packet[0] = (uint8_t) i;
                ck_assert_int_eq(fzd_wg_peer_send(A.wg, A.peer, packet, sizeof packet, T0), 0);
        }
        ck_assert_uint_eq(A.n_out, 1); /* one initiation, not 200 */
        exchange(T0);
        /* 128 kept, the oldest 72 dropped, order kept. */
        ck_assert_uint_eq(B.received, 128);
        ck_assert_uint_eq(B.plain[0], 199);
}
END_TEST

START_TEST(test_sleep_and_wake) {
        _cleanup_(fzd_wg_keypair_unrefp) FzdWgKeypair *kp = NULL;
        uint64_t d;

        handshake(T0);
        /* Idle: after the keepalive and a poll that sees nothing, only the sessions'
         * expiry remains as a deadline — no periodic wake-ups. */
        run(T0, T0 + 30 * SEC, 100 * MSEC);
        d = fzd_wg_next_deadline(A.wg);
        ck_assert_uint_eq(d, T0 + 180 * SEC);
        ck_assert_uint_eq(fzd_wg_next_deadline(B.wg), T0 + 180 * SEC);
        /* The fast path's first packet wakes it; a second one does not ask again. */
        kp = fzd_wg_peer_tx_keypair(A.peer);
        ck_assert_int_eq(fzd_wg_keypair_note_tx(kp, T0 + 31 * SEC, 1, 0, 100), FZD_WG_WAKE);
        ck_assert_int_eq(fzd_wg_keypair_note_tx(kp, T0 + 31 * SEC, 1, 0, 100), 0);
        ck_assert_uint_le(fzd_wg_next_deadline(A.wg), T0 + 31 * SEC);
        fzd_wg_tick(A.wg, T0 + 31 * SEC);
        /* Awake: it polls, and the data sent needs an answer within 15 s. */
        ck_assert_uint_eq(fzd_wg_next_deadline(A.wg), T0 + 36 * SEC);
        fzd_wg_tick(A.wg, T0 + 36 * SEC);
        ck_assert_uint_eq(fzd_wg_next_deadline(A.wg), T0 + 41 * SEC);
        fzd_wg_tick(A.wg, T0 + 41 * SEC);
        ck_assert_uint_eq(fzd_wg_next_deadline(A.wg), T0 + 46 * SEC); /* 31 + 15 */
}
END_TEST

START_TEST(test_remove_peer_with_session_in_use) {
        FzdWgKeypair *kp;
        FzdWgAead *aead = fzd_wg_aead_new();
        uint8_t out[256];
        uint32_t idx;

        handshake(T0);
        kp = fzd_wg_peer_tx_keypair(A.peer);
        idx = fzd_wg_keypair_local_index(kp);
        fzd_wg_peer_remove(A.peer);
        /* The fast path's reference keeps the memory, not the session. */
        ck_assert_int_eq(A.freed, 0);
        ck_assert_int_eq(fzd_wg_keypair_seal(kp, aead, T0 + SEC, packet, 20, out), -ESTALE);
        ck_assert_ptr_null(fzd_wg_lookup_keypair(A.wg, idx));
        fzd_wg_keypair_unref(kp);
        ck_assert_int_eq(A.freed, 1);
        A.freed = 0; /* teardown counts the FzdWg's own peer */
        A.freed++;
        ck_assert_uint_eq(fzd_wg_next_deadline(A.wg), FZD_WG_NEVER);
        fzd_wg_aead_free(aead);
}
END_TEST

/* B serves many peers: each initiation is matched to its peer by the static key it
 * carries, the index table grows well past its first size, and data from each peer
 * decrypts as that peer's. */
START_TEST(test_many_peers) {
        enum { N = 150 };
        static Side spokes[N];
        static FzdWgPeer *hub_peers[N];
        FzdWgTimers t = timers();
        FzdWgPeer *saved = B.peer;
        uint8_t psk[32], plain[256];
        int hub_freed = 0;

        memset(psk, 0x5a, sizeof psk);
        B.peer = NULL; /* B sends to many: on_send records where each message goes */
        for (unsigned i = 0; i < N; i++) {
                side_init(&spokes[i], "M", (uint8_t) (10 + i), &t);
                pair_with(&spokes[i], &B, psk);
                ck_assert_int_eq(fzd_wg_peer_new(B.wg, fzd_wg_public_key(spokes[i].wg), psk, &hub_freed, &hub_peers[i]),
                                 0);
        }
        for (unsigned round = 0; round < 2; round++)
                for (unsigned i = 0; i < N; i++) {
                        FzdWgPeer *from = NULL;
                        FzdWgInput in;
                        int r;
                        packet[0] = (uint8_t) i;
                        packet[1] = (uint8_t) round;
                        r = fzd_wg_peer_send(spokes[i].wg, spokes[i].peer, packet, sizeof packet, T0 + round);
                        ck_assert_int_eq(r, round == 0 ? 0 : 1);
                        if (round == 0) {
                                /* initiation → B → response → spoke → staged packet out */
                                ck_assert_int_eq(fzd_wg_handle_handshake(B.wg, spokes[i].out[0].data, spokes[i].out[0].len,
                                                                         spokes[i].src, 6, T0, false, &in),
                                                 0);
                                ck_assert_ptr_eq(in.peer, hub_peers[i]);
                                ck_assert_uint_eq(B.n_out, 1);
                                ck_assert_ptr_eq(B.out[0].to, hub_peers[i]);
                                ck_assert_int_eq(fzd_wg_handle_handshake(spokes[i].wg, B.out[0].data, B.out[0].len, B.src,
                                                                         6, T0, false, &in),
                                                 0);
                                B.n_out = 0;
                                memmove(spokes[i].out, spokes[i].out + 1, sizeof(Msg));
                        }
                        ck_assert_int_eq(fzd_wg_decrypt(B.wg, spokes[i].out[0].data, spokes[i].out[0].len, T0 + round,
                                                        plain, &from),
                                         112);
                        ck_assert_ptr_eq(from, hub_peers[i]);
                        ck_assert_uint_eq(plain[0], i);
                        ck_assert_uint_eq(plain[1], round);
                        fzd_wg_peer_unref(from);
                        spokes[i].n_out = 0;
                }
        for (unsigned i = 0; i < N; i++) {
                fzd_wg_peer_remove(hub_peers[i]);
                fzd_wg_free(spokes[i].wg);
        }
        ck_assert_int_eq(hub_freed, N);
        B.peer = saved;
}
END_TEST

START_TEST(test_duplicate_and_own_key) {
        ck_assert_int_eq(fzd_wg_peer_new(A.wg, fzd_wg_public_key(B.wg), (uint8_t[32]) {}, NULL, NULL), -EEXIST);
        ck_assert_int_eq(fzd_wg_peer_new(A.wg, fzd_wg_public_key(A.wg), (uint8_t[32]) {}, NULL, NULL), -EINVAL);
        ck_assert_int_eq(fzd_wg_peer_new(A.wg, (uint8_t[32]) {}, (uint8_t[32]) {}, NULL, NULL), -EINVAL);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("wg");
        TCase *tc = tcase_create("state-machine");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_handshake_and_data);
        tcase_add_test(tc, test_path_ready_resends_a_lost_initiation);
        tcase_add_test(tc, test_bad_messages);
        tcase_add_test(tc, test_replayed_and_flooding_initiations);
        tcase_add_test(tc, test_wrong_psk);
        tcase_add_test(tc, test_unknown_peer_and_wrong_key);
        tcase_add_test(tc, test_cookie_under_load);
        tcase_add_test(tc, test_keepalive);
        tcase_add_test(tc, test_new_handshake_after_silence);
        tcase_add_test(tc, test_rekey_after_time);
        tcase_add_test(tc, test_responder_does_not_rekey_by_time);
        tcase_add_test(tc, test_initiator_rekeys_on_receive);
        tcase_add_test(tc, test_reject_after_time_wipes);
        tcase_add_test(tc, test_zero_after_three_reject);
        tcase_add_test(tc, test_counter_exhaustion);
        tcase_add_test(tc, test_transport_replay_and_tamper);
        tcase_add_test(tc, test_simultaneous_initiation);
        tcase_add_test(tc, test_staging_is_bounded);
        tcase_add_test(tc, test_sleep_and_wake);
        tcase_add_test(tc, test_remove_peer_with_session_in_use);
        tcase_add_test(tc, test_many_peers);
        tcase_add_test(tc, test_duplicate_and_own_key);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(suite)
