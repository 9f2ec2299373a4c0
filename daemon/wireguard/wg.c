/* SPDX-License-Identifier: Apache-2.0 */
/* The WireGuard state machine: peers, the IKpsk2 handshake with cookies, session
 * rotation and the timers of the whitepaper's §6 — single-threaded, sans-IO.
 *
 * Timers are kept as facts (timestamps) rather than armed timer objects: the fast path
 * stores when it last sent and received, and "first unanswered" times, in the peer's
 * activity atomics; fzd_wg_tick() turns them into actions and fzd_wg_next_deadline() into
 * the next wake-up. So the fast path never calls into the state machine per packet. While
 * a peer is active the state machine looks at it every poll_interval (which only has to be
 * shorter than the shortest timer, keepalive_timeout, for every timer to fire on time);
 * an idle peer is put to sleep and the fast path wakes it on its next packet (see
 * peer_poll()). */
#include <errno.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "wg-internal.h"

static const char identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";
static const char label_mac1[] = "mac1----";
static const char label_cookie[] = "cookie--";

void fzd_wg_timers_default(FzdWgTimers *ret) {
        *ret = (FzdWgTimers) {
                .rekey_after_time = 120 * FZD_WG_NSEC_PER_SEC,
                .reject_after_time = 180 * FZD_WG_NSEC_PER_SEC,
                .rekey_attempt_time = 90 * FZD_WG_NSEC_PER_SEC,
                .rekey_timeout = 5 * FZD_WG_NSEC_PER_SEC,
                .rekey_timeout_jitter = 333 * (FZD_WG_NSEC_PER_SEC / 1000),
                .keepalive_timeout = 10 * FZD_WG_NSEC_PER_SEC,
                .cookie_lifetime = 120 * FZD_WG_NSEC_PER_SEC,
                .handshake_min_interval = 20 * (FZD_WG_NSEC_PER_SEC / 1000),
                .poll_interval = 5 * FZD_WG_NSEC_PER_SEC,
                .rekey_after_messages = UINT64_C(1) << 60,
                .reject_after_messages = UINT64_MAX - (UINT64_C(1) << 13),
        };
}

void fzd_wg_timers_firezone(FzdWgTimers *ret) {
        fzd_wg_timers_default(ret);
        ret->rekey_attempt_time = 20 * FZD_WG_NSEC_PER_SEC;
}

static void limits_from_timers(FzdWgLimits *l, const FzdWgTimers *t, size_t mtu) {
        uint64_t margin = t->keepalive_timeout + t->rekey_timeout;

        *l = (FzdWgLimits) {
                .rekey_after_time = t->rekey_after_time,
                .reject_after_time = t->reject_after_time,
                .rekey_on_rx_age = t->reject_after_time > margin ? t->reject_after_time - margin : 0,
                .rekey_after_messages = t->rekey_after_messages,
                .reject_after_messages = t->reject_after_messages,
                .mtu = mtu,
        };
}

static uint64_t min_u64(uint64_t a, uint64_t b) {
        return a < b ? a : b;
}

/* Saturating: timers near FZD_WG_NEVER must not wrap into the past. */
static uint64_t add_sat(uint64_t a, uint64_t b) {
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* now - t, or 0 if t is in the future (a fast-path thread's clock reading may predate a
 * session the state machine made a moment later). */
static uint64_t elapsed(uint64_t now, uint64_t t) {
        return now > t ? now - t : 0;
}

static int rnd(FzdWg *wg, void *buf, size_t len) {
        if (wg->cb.random)
                return wg->cb.random(wg->userdata, buf, len);
        return RAND_bytes(buf, (int) len) == 1 ? 0 : -EIO;
}

static void emit(FzdWg *wg, FzdWgPeer *peer, FzdWgEvent event) {
        if (wg->cb.event)
                wg->cb.event(wg->userdata, peer, event);
}

static void peer_send(FzdWg *wg, FzdWgPeer *peer, const uint8_t *data, size_t len) {
        if (wg->cb.send)
                wg->cb.send(wg->userdata, peer, data, len);
}

/* ---- the FzdWg --------------------------------------------------------------------------- */

int fzd_wg_new(const FzdWgConfig *config, const FzdWgCallbacks *callbacks, void *userdata, FzdWg **ret) {
        _cleanup_(fzd_wg_freep) FzdWg *wg = NULL;
        int r;

        r = fzd_wg_crypto_init();
        if (r < 0)
                return r;
        wg = calloc(1, sizeof *wg);
        if (!wg)
                return -ENOMEM;
        wg->config = *config;
        if (wg->config.mtu == 0)
                wg->config.mtu = 1280;
        if (callbacks)
                wg->cb = *callbacks;
        wg->userdata = userdata;
        limits_from_timers(&wg->limits, &wg->config.timers, wg->config.mtu);
        r = fzd_wg_index_init(&wg->index);
        if (r < 0)
                return r;
        wg->aead = fzd_wg_aead_new();
        if (!wg->aead)
                return -ENOMEM;
        r = fzd_wg_pubkey(wg->public_key, wg->config.private_key);
        if (r < 0)
                return r;
        fzd_wg_hash(wg->mac1_key, label_mac1, 8, wg->public_key, FZD_WG_KEY_LEN);
        fzd_wg_hash(wg->cookie_key, label_cookie, 8, wg->public_key, FZD_WG_KEY_LEN);
        r = rnd(wg, &wg->ratelimiter.seed, sizeof wg->ratelimiter.seed);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(wg);
        return 0;
}

FzdWg *fzd_wg_free(FzdWg *wg) {
        if (!wg)
                return NULL;
        while (wg->peers)
                fzd_wg_peer_remove(wg->peers);
        fzd_wg_index_done(&wg->index);
        fzd_wg_aead_free(wg->aead);
        fzd_wg_wipe(wg, sizeof *wg);
        free(wg);
        return NULL;
}

const uint8_t *fzd_wg_public_key(const FzdWg *wg) {
        return wg->public_key;
}

const FzdWgTimers *fzd_wg_timers(const FzdWg *wg) {
        return &wg->config.timers;
}

void fzd_wg_set_timers(FzdWg *wg, const FzdWgTimers *timers) {
        /* Sessions made from now on carry the new limits (the fast path reads a session's
         * limits without locks, so existing ones keep theirs); the state machine's own
         * timers use the new values at once. */
        wg->config.timers = *timers;
        limits_from_timers(&wg->limits, timers, wg->config.mtu);
}

size_t fzd_wg_sealed_len(const FzdWg *wg, size_t len) {
        return FZD_WG_DATA_OVERHEAD + fzd_wg_padded_len(len, wg->config.mtu);
}

/* ---- indices ------------------------------------------------------------------------------ */

static int new_index(FzdWg *wg, FzdWgPeer *peer, uint32_t *ret) {
        for (unsigned attempt = 0; attempt < 64; attempt++) {
                uint32_t i;
                int r = rnd(wg, &i, sizeof i);
                if (r < 0)
                        return r;
                r = fzd_wg_index_add(&wg->index, i, peer, NULL);
                if (r == -EEXIST)
                        continue;
                if (r < 0)
                        return r;
                *ret = i;
                return 0;
        }
        return -EBUSY;
}

/* ---- keypairs, seen from the state machine ------------------------------------------------ */

static void retire_keypair(FzdWg *wg, FzdWgKeypair *kp) {
        if (!kp)
                return;
        fzd_wg_index_remove(&wg->index, kp->local_index);
        atomic_store(&kp->dead, true);
        fzd_wg_keypair_unref(kp);
}

static bool peer_has_keys(const FzdWgPeer *peer) {
        return peer->current || peer->previous || peer->next;
}

static void peer_wake(FzdWgPeer *peer, uint64_t now) {
        peer->awake = true;
        peer->last_poll = now;
        atomic_store(&peer->act.sleeping, false);
}

static void install_keypair(FzdWg *wg, FzdWgPeer *peer, FzdWgKeypair *kp, bool initiator, uint64_t now) {
        FzdWgKeypair *drop1 = NULL, *drop2 = NULL;

        pthread_mutex_lock(&peer->lock);
        if (initiator) {
                /* The new session is current at once; an unconfirmed responder session
                 * (next) is kept as previous so the peer may still use it. */
                drop1 = peer->previous;
                if (peer->next) {
                        peer->previous = peer->next;
                        peer->next = NULL;
                        drop2 = peer->current;
                } else
                        peer->previous = peer->current;
                peer->current = kp;
        } else {
                /* Responder: we may not send on it until the initiator did (key
                 * confirmation), so it waits as next. */
                drop1 = peer->next;
                drop2 = peer->previous;
                peer->next = kp;
                peer->previous = NULL;
        }
        pthread_mutex_unlock(&peer->lock);
        retire_keypair(wg, drop1);
        retire_keypair(wg, drop2);

        peer->last_keys_derived = now;
        atomic_fetch_add(&peer->handshakes, 1);
        atomic_store(&peer->last_handshake, now);
        atomic_store(&peer->act.first_data_after_handshake, 0);
        peer_wake(peer, now);
}

static bool flush_staged(FzdWg *wg, FzdWgPeer *peer, uint64_t now);

/* A responder's next session was used by the initiator: it becomes current. */
static void maybe_promote(FzdWg *wg, FzdWgPeer *peer, uint64_t now) {
        FzdWgKeypair *drop;

        if (!peer->next || !atomic_load(&peer->next->received))
                return;
        pthread_mutex_lock(&peer->lock);
        drop = peer->previous;
        peer->previous = peer->current;
        peer->current = peer->next;
        peer->next = NULL;
        pthread_mutex_unlock(&peer->lock);
        retire_keypair(wg, drop);
        emit(wg, peer, FZD_WG_EVENT_SESSION_CONFIRMED);
        (void) flush_staged(wg, peer, now);
}

/* A usable current session, referenced, or NULL. */
FzdWgKeypair *fzd_wg_peer_tx_keypair(FzdWgPeer *peer) {
        FzdWgKeypair *kp = NULL;

        pthread_mutex_lock(&peer->lock);
        /* A responder's new session that the initiator has used is the one to send with,
         * even before the state machine's thread has made it current: a worker may encrypt
         * the answer to that very packet first (a TCP SYN-ACK, microseconds later), and the
         * initiator may have forgotten the old session (it restarted, or reset). */
        if (peer->next && atomic_load_explicit(&peer->next->confirm_woken, memory_order_acquire) &&
            !atomic_load_explicit(&peer->next->dead, memory_order_relaxed))
                kp = fzd_wg_keypair_ref(peer->next);
        else if (peer->current && !atomic_load_explicit(&peer->current->dead, memory_order_relaxed))
                kp = fzd_wg_keypair_ref(peer->current);
        pthread_mutex_unlock(&peer->lock);
        return kp;
}

static void expire_keypairs(FzdWg *wg, FzdWgPeer *peer, uint64_t now) {
        FzdWgKeypair **slots[] = { &peer->current, &peer->previous, &peer->next };
        bool had = peer_has_keys(peer);

        for (size_t i = 0; i < ELEMENTSOF(slots); i++) {
                FzdWgKeypair *kp = *slots[i];
                if (!kp || elapsed(now, kp->birth) < wg->config.timers.reject_after_time)
                        continue;
                pthread_mutex_lock(&peer->lock);
                *slots[i] = NULL;
                pthread_mutex_unlock(&peer->lock);
                retire_keypair(wg, kp);
        }
        if (had && !peer_has_keys(peer))
                emit(wg, peer, FZD_WG_EVENT_KEYS_EXPIRED);
}

/* ---- activity, from the state machine's own sends and receives ------------------------------ */

static void act_sent(FzdWgPeer *peer, uint64_t now) {
        atomic_store(&peer->act.last_tx, now);
        atomic_store(&peer->act.rx_unanswered, 0);
}

static void act_received(FzdWgPeer *peer, uint64_t now) {
        atomic_store(&peer->act.last_rx, now);
        atomic_store(&peer->act.tx_unanswered, 0);
}

/* ---- peers ------------------------------------------------------------------------------------ */

static void staged_clear(FzdWgPeer *peer) {
        while (peer->staged_n > 0) {
                Staged *s = &peer->staged[peer->staged_head];
                fzd_wg_wipe(s->data, s->len);
                free(s->data);
                *s = (Staged) {};
                peer->staged_head = (peer->staged_head + 1) % FZD_WG_MAX_STAGED;
                peer->staged_n--;
        }
        peer->staged_head = 0;
}

static void hs_reset(FzdWg *wg, FzdWgPeer *peer) {
        if (peer->hs != HS_NONE)
                fzd_wg_index_remove(&wg->index, peer->hs_index);
        peer->hs = HS_NONE;
        fzd_noise_wipe(&peer->noise);
        fzd_wg_wipe(peer->e_priv, sizeof peer->e_priv);
}

int fzd_wg_peer_new(FzdWg *wg, const uint8_t public_key[FZD_WG_KEY_LEN], const uint8_t psk[FZD_WG_KEY_LEN],
                    void *userdata, FzdWgPeer **ret) {
        FzdWgPeer *peer;

        if (fzd_wg_equal(public_key, wg->public_key, FZD_WG_KEY_LEN))
                return -EINVAL;
        if (fzd_wg_peer_find(wg, public_key))
                return -EEXIST;
        if (posix_memalign((void **) &peer, FZD_WG_CACHELINE, sizeof *peer) != 0)
                return -ENOMEM;
        memset(peer, 0, sizeof *peer);
        if (fzd_wg_dh(peer->ss, wg->config.private_key, public_key) < 0) {
                free(peer);
                return -EINVAL;
        }
        if (pthread_mutex_init(&peer->lock, NULL) != 0) {
                fzd_wg_wipe(peer, sizeof *peer);
                free(peer);
                return -ENOMEM;
        }
        atomic_init(&peer->refs, 1);
        peer->wg = wg;
        peer->userdata = userdata;
        peer->freed = wg->cb.peer_freed;
        memcpy(peer->public_key, public_key, FZD_WG_KEY_LEN);
        memcpy(peer->psk, psk, FZD_WG_KEY_LEN);
        fzd_wg_hash(peer->mac1_key, label_mac1, 8, public_key, FZD_WG_KEY_LEN);
        fzd_wg_hash(peer->cookie_key, label_cookie, 8, public_key, FZD_WG_KEY_LEN);

        peer->list_next = wg->peers;
        if (wg->peers)
                wg->peers->list_prev = peer;
        wg->peers = peer;
        wg->n_peers++;
        if (ret)
                *ret = peer;
        return 0;
}

/* Every key and handshake of the peer: retired, wiped, staged packets dropped. */
static void zero_all(FzdWg *wg, FzdWgPeer *peer) {
        FzdWgKeypair *kps[3];

        pthread_mutex_lock(&peer->lock);
        kps[0] = peer->current;
        kps[1] = peer->previous;
        kps[2] = peer->next;
        peer->current = peer->previous = peer->next = NULL;
        pthread_mutex_unlock(&peer->lock);
        for (size_t i = 0; i < ELEMENTSOF(kps); i++)
                retire_keypair(wg, kps[i]);
        hs_reset(wg, peer);
        staged_clear(peer);
        fzd_wg_wipe(peer->cookie, sizeof peer->cookie);
        peer->cookie_time = 0;
        peer->attempt_started = 0;
        peer->last_keys_derived = 0;
}

void fzd_wg_peer_remove(FzdWgPeer *peer) {
        FzdWg *wg = peer->wg;

        if (!wg)
                return;
        if (peer->list_prev)
                peer->list_prev->list_next = peer->list_next;
        else
                wg->peers = peer->list_next;
        if (peer->list_next)
                peer->list_next->list_prev = peer->list_prev;
        peer->list_prev = peer->list_next = NULL;
        wg->n_peers--;

        zero_all(wg, peer);
        fzd_wg_wipe(peer->psk, sizeof peer->psk);
        fzd_wg_wipe(peer->ss, sizeof peer->ss);
        peer->wg = NULL;
        fzd_wg_peer_unref(peer);
}

FzdWgPeer *fzd_wg_peer_find(FzdWg *wg, const uint8_t public_key[FZD_WG_KEY_LEN]) {
        for (FzdWgPeer *p = wg->peers; p; p = p->list_next)
                if (memcmp(p->public_key, public_key, FZD_WG_KEY_LEN) == 0)
                        return p;
        return NULL;
}

void fzd_wg_peer_set_psk(FzdWgPeer *peer, const uint8_t psk[FZD_WG_KEY_LEN]) {
        memcpy(peer->psk, psk, FZD_WG_KEY_LEN);
}

FzdWgPeer *fzd_wg_peer_ref(FzdWgPeer *peer) {
        if (peer)
                atomic_fetch_add_explicit(&peer->refs, 1, memory_order_relaxed);
        return peer;
}

FzdWgPeer *fzd_wg_peer_unref(FzdWgPeer *peer) {
        void (*freed)(void *);
        void *userdata;

        if (!peer || atomic_fetch_sub_explicit(&peer->refs, 1, memory_order_acq_rel) != 1)
                return NULL;
        freed = peer->freed;
        userdata = peer->userdata;
        pthread_mutex_destroy(&peer->lock);
        fzd_wg_wipe(peer, sizeof *peer);
        free(peer);
        if (freed)
                freed(userdata);
        return NULL;
}

void *fzd_wg_peer_userdata(const FzdWgPeer *peer) {
        return peer->userdata;
}

const uint8_t *fzd_wg_peer_public_key(const FzdWgPeer *peer) {
        return peer->public_key;
}

void fzd_wg_peer_get_stats(FzdWgPeer *peer, FzdWgPeerStats *ret) {
        uint64_t first = atomic_load(&peer->act.first_data_after_handshake);

        *ret = (FzdWgPeerStats) {
                .tx_bytes = atomic_load(&peer->act.tx_bytes),
                .rx_bytes = atomic_load(&peer->act.rx_bytes),
                .tx_packets = atomic_load(&peer->act.tx_packets),
                .rx_packets = atomic_load(&peer->act.rx_packets),
                .handshakes = atomic_load(&peer->handshakes),
                .initiations_sent = atomic_load(&peer->initiations_sent),
                .last_handshake = atomic_load(&peer->last_handshake),
                .handshake_started = peer->attempt_started,
                .last_attempt_started = peer->last_attempt_started,
                .first_data_after_handshake = first,
        };
        pthread_mutex_lock(&peer->lock);
        ret->has_session = peer->current != NULL;
        pthread_mutex_unlock(&peer->lock);
}

/* ---- messages ----------------------------------------------------------------------------------- */

static void tai64n(const FzdWg *wg, uint64_t now, uint8_t out[FZD_WG_TIMESTAMP_LEN]) {
        uint64_t t = wg->config.realtime_base + now;
        uint64_t secs = t / FZD_WG_NSEC_PER_SEC + UINT64_C(0x400000000000000a);
        /* Rounded down to ~16 ms, as wireguard-go, so the timestamp is no fine timer. */
        uint32_t nsec = (uint32_t) (t % FZD_WG_NSEC_PER_SEC) & ~UINT32_C(0xffffff);

        for (unsigned i = 0; i < 8; i++)
                out[i] = (uint8_t) (secs >> (56 - 8 * i));
        for (unsigned i = 0; i < 4; i++)
                out[8 + i] = (uint8_t) (nsec >> (24 - 8 * i));
}

static bool cookie_valid(const FzdWg *wg, const FzdWgPeer *peer, uint64_t now) {
        return peer->cookie_time != 0 && elapsed(now, peer->cookie_time) < wg->config.timers.cookie_lifetime;
}

/* mac1 over everything before it, keyed by the receiver's public key; mac2 with the
 * cookie the receiver gave us, if any is fresh (zeros otherwise). */
static void add_macs(FzdWg *wg, FzdWgPeer *peer, uint8_t *msg, size_t mac1_off, uint64_t now) {
        fzd_wg_mac(msg + mac1_off, peer->mac1_key, FZD_WG_HASH_LEN, msg, mac1_off);
        memcpy(peer->last_mac1, msg + mac1_off, FZD_WG_MAC_LEN);
        peer->have_last_mac1 = true;
        if (cookie_valid(wg, peer, now))
                fzd_wg_mac(msg + mac1_off + FZD_WG_MAC_LEN, peer->cookie, FZD_WG_MAC_LEN, msg,
                           mac1_off + FZD_WG_MAC_LEN);
        else
                memset(msg + mac1_off + FZD_WG_MAC_LEN, 0, FZD_WG_MAC_LEN);
}

static void send_initiation(FzdWg *wg, FzdWgPeer *peer, uint64_t now, bool retry) {
        uint8_t msg[FZD_WG_INITIATION_LEN] = {}, ts[FZD_WG_TIMESTAMP_LEN];
        uint64_t jitter = 0;

        /* One initiation per rekey_timeout, unless it is the retransmission itself. */
        if (!retry && peer->last_initiation_sent != 0 &&
            elapsed(now, peer->last_initiation_sent) < wg->config.timers.rekey_timeout)
                return;
        atomic_store(&peer->act.want_handshake, false);
        hs_reset(wg, peer);
        if (rnd(wg, peer->e_priv, sizeof peer->e_priv) < 0 || new_index(wg, peer, &peer->hs_index) < 0)
                return;
        peer->hs = HS_INITIATION_SENT; /* from here on the index is ours */
        fzd_wg_clamp(peer->e_priv);

        fzd_wg_put_le32(msg, FZD_WG_MSG_INITIATION);
        fzd_wg_put_le32(msg + FZD_WG_INITIATION_SENDER, peer->hs_index);
        tai64n(wg, now, ts);
        fzd_noise_init(&peer->noise, identifier, sizeof identifier - 1, peer->public_key);
        if (fzd_noise_write_initiation(&peer->noise, wg->aead, peer->e_priv, wg->config.private_key,
                                       wg->public_key, peer->public_key, peer->ss, ts, sizeof ts,
                                       msg + FZD_WG_INITIATION_NOISE) < 0) {
                hs_reset(wg, peer);
                return;
        }
        add_macs(wg, peer, msg, FZD_WG_INITIATION_MAC1, now);

        if (peer->attempt_started == 0)
                peer->attempt_started = now;
        peer->last_initiation_sent = now;
        if (wg->config.timers.rekey_timeout_jitter > 0 && rnd(wg, &jitter, sizeof jitter) == 0)
                jitter %= wg->config.timers.rekey_timeout_jitter;
        peer->retransmit_at = now + wg->config.timers.rekey_timeout + jitter;
        atomic_fetch_add(&peer->initiations_sent, 1);
        act_sent(peer, now);
        peer_send(wg, peer, msg, sizeof msg);
        emit(wg, peer, FZD_WG_EVENT_HANDSHAKE_SENT);
}

void fzd_wg_peer_initiate(FzdWg *wg, FzdWgPeer *peer, uint64_t now) {
        if (peer->hs == HS_INITIATION_SENT &&
            elapsed(now, peer->last_initiation_sent) < wg->config.timers.rekey_timeout)
                return;
        send_initiation(wg, peer, now, false);
}

void fzd_wg_peer_path_ready(FzdWg *wg, FzdWgPeer *peer, uint64_t now) {
        /* The initiation in progress went nowhere (or down a path that is gone): send a fresh
         * one now instead of waiting out rekey_timeout. The attempt keeps its deadline
         * (attempt_started); the flood guard of the responder (handshake_min_interval) is
         * respected. */
        if (peer->hs == HS_INITIATION_SENT) {
                uint64_t at = add_sat(peer->last_initiation_sent, wg->config.timers.handshake_min_interval);
                if (now >= at)
                        send_initiation(wg, peer, now, true);
                else if (at < peer->retransmit_at)
                        /* Too soon after the last one (which may have had no path at all, a
                         * moment ago): the retransmission timer sends it once the interval
                         * is over, not rekey_timeout later. */
                        peer->retransmit_at = at;
                return;
        }
        if (peer->hs != HS_INITIATION_SENT) {
                _cleanup_(fzd_wg_keypair_unrefp) FzdWgKeypair *kp = fzd_wg_peer_tx_keypair(peer);
                if (!kp)
                        fzd_wg_peer_initiate(wg, peer, now);
        }
}

static int seal_and_send(FzdWg *wg, FzdWgPeer *peer, FzdWgKeypair *kp, const uint8_t *packet, size_t len,
                         uint64_t now) {
        size_t n = fzd_wg_sealed_len(wg, len);
        _cleanup_(freep) uint8_t *buf = malloc(n);
        ssize_t m;

        if (!buf)
                return -ENOMEM;
        m = fzd_wg_keypair_seal(kp, wg->aead, now, packet, len, buf);
        if (m < 0)
                return (int) m;
        peer_send(wg, peer, buf, (size_t) m);
        (void) fzd_wg_keypair_note_tx(kp, now, len > 0, len == 0, (uint64_t) m);
        return 0;
}

/* Sends what is staged; returns false if packets stay staged (no usable session). */
static bool flush_staged(FzdWg *wg, FzdWgPeer *peer, uint64_t now) {
        _cleanup_(fzd_wg_keypair_unrefp) FzdWgKeypair *kp = fzd_wg_peer_tx_keypair(peer);

        if (!kp)
                return peer->staged_n == 0;
        while (peer->staged_n > 0) {
                Staged *s = &peer->staged[peer->staged_head];
                if (seal_and_send(wg, peer, kp, s->data, s->len, now) == -ESTALE)
                        return false; /* keep the rest for the next session */
                fzd_wg_wipe(s->data, s->len);
                free(s->data);
                *s = (Staged) {};
                peer->staged_head = (peer->staged_head + 1) % FZD_WG_MAX_STAGED;
                peer->staged_n--;
        }
        return true;
}

static int stage(FzdWgPeer *peer, const uint8_t *packet, size_t len) {
        uint8_t *copy = malloc(len > 0 ? len : 1);
        Staged *s;

        if (!copy)
                return -ENOMEM;
        memcpy(copy, packet, len);
        if (peer->staged_n == FZD_WG_MAX_STAGED) {
                /* Full: the oldest goes, as in wireguard-go. */
                s = &peer->staged[peer->staged_head];
                free(s->data);
                peer->staged_head = (peer->staged_head + 1) % FZD_WG_MAX_STAGED;
                peer->staged_n--;
        }
        s = &peer->staged[(peer->staged_head + peer->staged_n) % FZD_WG_MAX_STAGED];
        *s = (Staged) { .data = copy, .len = len };
        peer->staged_n++;
        return 0;
}

int fzd_wg_peer_send(FzdWg *wg, FzdWgPeer *peer, const uint8_t *packet, size_t len, uint64_t now) {
        _cleanup_(fzd_wg_keypair_unrefp) FzdWgKeypair *kp = NULL;
        int r;

        maybe_promote(wg, peer, now);
        kp = fzd_wg_peer_tx_keypair(peer);
        if (kp && peer->staged_n == 0) {
                r = seal_and_send(wg, peer, kp, packet, len, now);
                if (r != -ESTALE)
                        return r < 0 ? r : 1;
        }
        r = stage(peer, packet, len);
        if (r < 0)
                return r;
        /* Others were staged before it (keep the order), or the session just ran out. */
        if (!flush_staged(wg, peer, now))
                send_initiation(wg, peer, now, false);
        return 0;
}

/* ---- consuming handshake messages ---------------------------------------------------------- */

static void make_cookie(FzdWg *wg, const void *src, size_t srclen, uint64_t now, uint8_t cookie[FZD_WG_MAC_LEN]) {
        if (!wg->have_cookie_secret || elapsed(now, wg->cookie_secret_time) >= wg->config.timers.cookie_lifetime) {
                if (rnd(wg, wg->cookie_secret, sizeof wg->cookie_secret) < 0)
                        memset(wg->cookie_secret, 0, sizeof wg->cookie_secret); /* cookies then stay checkable */
                wg->cookie_secret_time = now;
                wg->have_cookie_secret = true;
        }
        fzd_wg_mac(cookie, wg->cookie_secret, sizeof wg->cookie_secret, src, srclen);
}

static int make_cookie_reply(FzdWg *wg, const uint8_t *msg, size_t mac1_off, const void *src, size_t srclen,
                             uint64_t now, FzdWgInput *ret) {
        uint8_t cookie[FZD_WG_MAC_LEN];
        int r;

        make_cookie(wg, src, srclen, now, cookie);
        memset(ret->reply, 0, sizeof ret->reply);
        fzd_wg_put_le32(ret->reply, FZD_WG_MSG_COOKIE_REPLY);
        /* Both messages carry the sender index right after the type. */
        memcpy(ret->reply + FZD_WG_COOKIE_REPLY_RECEIVER, msg + 4, 4);
        r = rnd(wg, ret->reply + FZD_WG_COOKIE_REPLY_NONCE, FZD_WG_XNONCE_LEN);
        if (r >= 0)
                r = fzd_wg_xaead_seal(ret->reply + FZD_WG_COOKIE_REPLY_COOKIE, wg->cookie_key,
                                      ret->reply + FZD_WG_COOKIE_REPLY_NONCE, cookie, sizeof cookie, msg + mac1_off,
                                      FZD_WG_MAC_LEN);
        fzd_wg_wipe(cookie, sizeof cookie);
        if (r < 0)
                return r;
        ret->reply_len = FZD_WG_COOKIE_REPLY_LEN;
        return 0;
}

static int check_macs(FzdWg *wg, const uint8_t *msg, size_t mac1_off, const void *src, size_t srclen, uint64_t now,
                      bool under_load, FzdWgInput *ret) {
        uint8_t mac[FZD_WG_MAC_LEN], cookie[FZD_WG_MAC_LEN];
        bool ok;

        fzd_wg_mac(mac, wg->mac1_key, FZD_WG_HASH_LEN, msg, mac1_off);
        if (!fzd_wg_equal(mac, msg + mac1_off, FZD_WG_MAC_LEN))
                return -EBADMSG;
        if (!under_load)
                return 0;
        make_cookie(wg, src, srclen, now, cookie);
        fzd_wg_mac(mac, cookie, sizeof cookie, msg, mac1_off + FZD_WG_MAC_LEN);
        ok = fzd_wg_equal(mac, msg + mac1_off + FZD_WG_MAC_LEN, FZD_WG_MAC_LEN);
        fzd_wg_wipe(cookie, sizeof cookie);
        if (!ok) {
                int r = make_cookie_reply(wg, msg, mac1_off, src, srclen, now, ret);
                return r < 0 ? r : -EAGAIN;
        }
        if (!fzd_wg_ratelimit_allow(&wg->ratelimiter, src, srclen, now))
                return -EBUSY;
        return 0;
}

static void authenticated(FzdWg *wg, FzdWgPeer *peer, uint64_t now, FzdWgInput *ret) {
        ret->authenticated = true;
        act_received(peer, now);
        if (wg->cb.authenticated)
                wg->cb.authenticated(wg->userdata, peer);
}

static int consume_initiation(FzdWg *wg, const uint8_t *msg, const void *src, size_t srclen, uint64_t now,
                              bool under_load, FzdWgInput *ret) {
        uint8_t re[32], rs[32], ts[FZD_WG_TIMESTAMP_LEN], e_priv[32], i2r[32], r2i[32];
        uint8_t out[FZD_WG_RESPONSE_LEN] = {};
        uint32_t index;
        FzdWgKeypair *kp;
        FzdWgPeer *peer;
        FzdNoise n;
        int r;

        r = check_macs(wg, msg, FZD_WG_INITIATION_MAC1, src, srclen, now, under_load, ret);
        if (r < 0)
                return r;

        fzd_noise_init(&n, identifier, sizeof identifier - 1, wg->public_key);
        r = fzd_noise_read_initiation_static(&n, wg->aead, wg->config.private_key, msg + FZD_WG_INITIATION_NOISE,
                                             re, rs);
        if (r < 0) {
                r = -EBADMSG;
                goto finish;
        }
        peer = fzd_wg_peer_find(wg, rs);
        if (!peer) {
                memcpy(ret->remote_static, rs, sizeof rs);
                r = -ENOKEY;
                goto finish;
        }
        ret->peer = peer;
        r = fzd_noise_read_initiation_payload(&n, wg->aead, peer->ss, msg + FZD_WG_INITIATION_NOISE, sizeof ts, ts);
        if (r < 0) {
                r = -EBADMSG;
                goto finish;
        }
        /* TAI64N is big-endian: newer compares greater byte by byte. */
        if (memcmp(ts, peer->last_timestamp, sizeof ts) <= 0) {
                r = -EALREADY;
                goto finish;
        }
        if (peer->last_initiation_consumed != 0 &&
            elapsed(now, peer->last_initiation_consumed) < wg->config.timers.handshake_min_interval) {
                r = -EBUSY;
                goto finish;
        }
        memcpy(peer->last_timestamp, ts, sizeof ts);
        peer->last_initiation_consumed = now;
        authenticated(wg, peer, now, ret);

        /* The response, at once. Our own initiation to this peer, if one is in flight,
         * stays valid: if both sides initiated, both sessions complete. */
        r = rnd(wg, e_priv, sizeof e_priv);
        if (r < 0)
                goto finish;
        fzd_wg_clamp(e_priv);
        r = new_index(wg, peer, &index);
        if (r < 0)
                goto finish;
        fzd_wg_put_le32(out, FZD_WG_MSG_RESPONSE);
        fzd_wg_put_le32(out + FZD_WG_RESPONSE_SENDER, index);
        memcpy(out + FZD_WG_RESPONSE_RECEIVER, msg + FZD_WG_INITIATION_SENDER, 4);
        r = fzd_noise_write_response(&n, wg->aead, e_priv, re, peer->public_key, peer->psk, NULL, 0,
                                     out + FZD_WG_RESPONSE_NOISE);
        if (r < 0) {
                fzd_wg_index_remove(&wg->index, index);
                goto finish;
        }
        add_macs(wg, peer, out, FZD_WG_RESPONSE_MAC1, now);
        fzd_noise_split(&n, i2r, r2i);
        kp = fzd_wg_keypair_new(peer, r2i, i2r, index, fzd_wg_le32(msg + FZD_WG_INITIATION_SENDER), false, now,
                                &wg->limits);
        if (!kp) {
                fzd_wg_index_remove(&wg->index, index);
                r = -ENOMEM;
                goto finish;
        }
        fzd_wg_index_set_keypair(&wg->index, index, kp);
        install_keypair(wg, peer, kp, false, now);
        act_sent(peer, now);
        peer_send(wg, peer, out, sizeof out);
        r = 0;
finish:
        fzd_noise_wipe(&n);
        fzd_wg_wipe(e_priv, sizeof e_priv);
        fzd_wg_wipe(i2r, sizeof i2r);
        fzd_wg_wipe(r2i, sizeof r2i);
        return r;
}

static int consume_response(FzdWg *wg, const uint8_t *msg, const void *src, size_t srclen, uint64_t now,
                            bool under_load, FzdWgInput *ret) {
        uint8_t i2r[32], r2i[32];
        uint32_t index = fzd_wg_le32(msg + FZD_WG_RESPONSE_RECEIVER);
        FzdWgIndexEntry *e;
        FzdWgKeypair *kp;
        FzdWgPeer *peer;
        FzdNoise n;
        int r;

        r = check_macs(wg, msg, FZD_WG_RESPONSE_MAC1, src, srclen, now, under_load, ret);
        if (r < 0)
                return r;
        e = fzd_wg_index_get(&wg->index, index);
        if (!e || e->keypair || e->peer->hs != HS_INITIATION_SENT || e->peer->hs_index != index)
                return -ESTALE;
        peer = ret->peer = e->peer;

        /* On a copy: a forged response must not spoil the state a real one needs. */
        n = peer->noise;
        r = fzd_noise_read_response(&n, wg->aead, peer->e_priv, wg->config.private_key, peer->psk,
                                    msg + FZD_WG_RESPONSE_NOISE, 0, NULL);
        if (r < 0) {
                fzd_noise_wipe(&n);
                return -EBADMSG;
        }
        fzd_noise_split(&n, i2r, r2i);
        fzd_noise_wipe(&n);
        kp = fzd_wg_keypair_new(peer, i2r, r2i, index, fzd_wg_le32(msg + FZD_WG_RESPONSE_SENDER), true, now,
                                &wg->limits);
        fzd_wg_wipe(i2r, sizeof i2r);
        fzd_wg_wipe(r2i, sizeof r2i);
        if (!kp)
                return -ENOMEM;
        /* The handshake's index now names the session. */
        fzd_wg_index_set_keypair(&wg->index, index, kp);
        peer->hs = HS_NONE;
        fzd_noise_wipe(&peer->noise);
        fzd_wg_wipe(peer->e_priv, sizeof peer->e_priv);
        peer->last_attempt_started = peer->attempt_started;
        peer->attempt_started = 0;
        peer->retransmit_at = 0;

        authenticated(wg, peer, now, ret);
        install_keypair(wg, peer, kp, true, now);
        emit(wg, peer, FZD_WG_EVENT_HANDSHAKE_COMPLETE);
        /* The responder may only send once it heard from us on the new session. */
        if (peer->staged_n > 0)
                (void) flush_staged(wg, peer, now);
        else
                (void) seal_and_send(wg, peer, kp, NULL, 0, now);
        return 0;
}

static int consume_cookie_reply(FzdWg *wg, const uint8_t *msg, uint64_t now, FzdWgInput *ret) {
        FzdWgIndexEntry *e = fzd_wg_index_get(&wg->index, fzd_wg_le32(msg + FZD_WG_COOKIE_REPLY_RECEIVER));
        uint8_t cookie[FZD_WG_MAC_LEN];
        FzdWgPeer *peer;

        if (!e)
                return -ESTALE;
        peer = ret->peer = e->peer;
        if (!peer->have_last_mac1)
                return -ESTALE;
        if (fzd_wg_xaead_open(cookie, peer->cookie_key, msg + FZD_WG_COOKIE_REPLY_NONCE,
                              msg + FZD_WG_COOKIE_REPLY_COOKIE, FZD_WG_MAC_LEN + FZD_WG_TAG_LEN, peer->last_mac1,
                              FZD_WG_MAC_LEN) < 0)
                return -EBADMSG;
        memcpy(peer->cookie, cookie, sizeof cookie);
        fzd_wg_wipe(cookie, sizeof cookie);
        peer->cookie_time = now;
        emit(wg, peer, FZD_WG_EVENT_COOKIE_RECEIVED);
        return 0;
}

int fzd_wg_handle_handshake(FzdWg *wg, const uint8_t *msg, size_t len, const void *src, size_t srclen, uint64_t now,
                            bool under_load, FzdWgInput *ret) {
        *ret = (FzdWgInput) {};
        switch (fzd_wg_message_type(msg, len)) {
        case FZD_WG_MSG_INITIATION:
                return consume_initiation(wg, msg, src, srclen, now, under_load, ret);
        case FZD_WG_MSG_RESPONSE:
                return consume_response(wg, msg, src, srclen, now, under_load, ret);
        case FZD_WG_MSG_COOKIE_REPLY:
                return consume_cookie_reply(wg, msg, now, ret);
        default:
                return -EPROTO;
        }
}

/* ---- timers -------------------------------------------------------------------------------------- */

static bool act_seen_since(FzdWgPeer *peer, uint64_t t) {
        return atomic_load(&peer->act.last_tx) > t || atomic_load(&peer->act.last_rx) > t ||
               atomic_load(&peer->act.rx_unanswered) != 0 || atomic_load(&peer->act.tx_unanswered) != 0;
}

/* While fast-path activity goes on, look every poll_interval; once a look finds none, go
 * to sleep: set `sleeping`, then look once more — the fast path stores activity before it
 * tests `sleeping` (wg-keypair.c), so either that second look sees the activity or the
 * fast path sees the flag and wakes us. */
static void peer_poll(FzdWg *wg, FzdWgPeer *peer, uint64_t now) {
        if (!peer_has_keys(peer)) {
                peer->awake = false;
                return;
        }
        if (!peer->awake) {
                if (atomic_load(&peer->act.sleeping))
                        return;
                peer_wake(peer, now); /* woken by the fast path */
                return;
        }
        if (now < add_sat(peer->last_poll, wg->config.timers.poll_interval))
                return;
        if (act_seen_since(peer, peer->last_poll)) {
                peer->last_poll = now;
                return;
        }
        atomic_store(&peer->act.sleeping, true);
        if (act_seen_since(peer, peer->last_poll)) {
                (void) atomic_exchange(&peer->act.sleeping, false);
                peer->last_poll = now;
                return;
        }
        peer->awake = false;
}

static void peer_tick(FzdWg *wg, FzdWgPeer *peer, uint64_t now) {
        const FzdWgTimers *t = &wg->config.timers;
        uint64_t rxu, txu;

        expire_keypairs(wg, peer, now);
        /* Whatever is left of a session after three times its lifetime without a new one. */
        if (peer->last_keys_derived != 0 && elapsed(now, peer->last_keys_derived) >= 3 * t->reject_after_time)
                zero_all(wg, peer);
        maybe_promote(wg, peer, now);

        if (peer->hs == HS_INITIATION_SENT) {
                if (elapsed(now, peer->attempt_started) >= t->rekey_attempt_time) {
                        hs_reset(wg, peer);
                        staged_clear(peer);
                        peer->attempt_started = 0;
                        emit(wg, peer, FZD_WG_EVENT_HANDSHAKE_FAILED);
                } else if (now >= peer->retransmit_at)
                        send_initiation(wg, peer, now, true);
        }

        if (atomic_load(&peer->act.want_handshake))
                send_initiation(wg, peer, now, false);

        /* Data came in and nothing went back for keepalive_timeout: say we are alive. */
        rxu = atomic_load(&peer->act.rx_unanswered);
        if (rxu != 0 && now >= add_sat(rxu, t->keepalive_timeout)) {
                _cleanup_(fzd_wg_keypair_unrefp) FzdWgKeypair *kp = fzd_wg_peer_tx_keypair(peer);
                if (!kp || seal_and_send(wg, peer, kp, NULL, 0, now) < 0)
                        (void) atomic_compare_exchange_strong(&peer->act.rx_unanswered, &rxu, 0);
        }
        /* Data went out and nothing came back for keepalive + rekey_timeout: the session
         * may be dead on the other side; make a new one. Fires once per silence. */
        txu = atomic_load(&peer->act.tx_unanswered);
        if (txu != 0 && now >= add_sat(txu, t->keepalive_timeout + t->rekey_timeout) &&
            atomic_compare_exchange_strong(&peer->act.tx_unanswered, &txu, 0))
                send_initiation(wg, peer, now, false);

        peer_poll(wg, peer, now);
}

uint64_t fzd_wg_tick(FzdWg *wg, uint64_t now) {
        for (FzdWgPeer *p = wg->peers; p; p = p->list_next)
                peer_tick(wg, p, now);
        return fzd_wg_next_deadline(wg);
}

static uint64_t peer_deadline(FzdWg *wg, FzdWgPeer *peer) {
        const FzdWgTimers *t = &wg->config.timers;
        FzdWgKeypair *kps[] = { peer->current, peer->previous, peer->next };
        uint64_t d = FZD_WG_NEVER, v;

        if (atomic_load(&peer->act.want_handshake) || (peer->next && atomic_load(&peer->next->received)))
                return 0;
        if (peer->hs == HS_INITIATION_SENT)
                d = min_u64(peer->retransmit_at, add_sat(peer->attempt_started, t->rekey_attempt_time));
        for (size_t i = 0; i < ELEMENTSOF(kps); i++)
                if (kps[i])
                        d = min_u64(d, add_sat(kps[i]->birth, t->reject_after_time));
        if (peer->last_keys_derived != 0)
                d = min_u64(d, add_sat(peer->last_keys_derived, 3 * t->reject_after_time));
        v = atomic_load(&peer->act.rx_unanswered);
        if (v != 0)
                d = min_u64(d, add_sat(v, t->keepalive_timeout));
        v = atomic_load(&peer->act.tx_unanswered);
        if (v != 0)
                d = min_u64(d, add_sat(v, t->keepalive_timeout + t->rekey_timeout));
        if (peer->awake || (peer_has_keys(peer) && !atomic_load(&peer->act.sleeping)))
                d = min_u64(d, add_sat(peer->last_poll, t->poll_interval));
        return d;
}

uint64_t fzd_wg_next_deadline(FzdWg *wg) {
        uint64_t d = FZD_WG_NEVER;

        for (FzdWgPeer *p = wg->peers; p; p = p->list_next)
                d = min_u64(d, peer_deadline(wg, p));
        return d;
}

/* ---- transport data on the state machine's thread ------------------------------------------- */

FzdWgKeypair *fzd_wg_lookup_keypair(FzdWg *wg, uint32_t index) {
        return fzd_wg_index_lookup_keypair(&wg->index, index);
}

int fzd_wg_decrypt(FzdWg *wg, const uint8_t *msg, size_t len, uint64_t now, uint8_t *out, FzdWgPeer **ret_peer) {
        _cleanup_(fzd_wg_keypair_unrefp) FzdWgKeypair *kp = NULL;
        ssize_t n;

        if (fzd_wg_message_type(msg, len) != FZD_WG_MSG_DATA)
                return -EPROTO;
        kp = fzd_wg_lookup_keypair(wg, fzd_wg_le32(msg + FZD_WG_DATA_RECEIVER));
        if (!kp)
                return -ENOENT;
        n = fzd_wg_keypair_open(kp, wg->aead, now, msg, len, out);
        if (n < 0)
                return (int) n;
        (void) fzd_wg_keypair_note_rx(kp, now, n > 0, n == 0, len);
        if (ret_peer)
                *ret_peer = fzd_wg_peer_ref(kp->peer);
        (void) fzd_wg_tick(wg, now);
        return (int) n;
}
