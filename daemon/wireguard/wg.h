/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A sans-IO WireGuard core: bytes and time in, bytes and the next deadline out. No
 * sockets, threads or clocks inside; randomness comes from a callback (OpenSSL's by
 * default). Time is a uint64_t of nanoseconds on one monotonic clock the caller picks
 * (the data plane uses CLOCK_BOOTTIME, so keys expire across a suspend as in the kernel).
 *
 * Two halves with different threading rules:
 *
 *  - The state machine (FzdWg, peers, handshakes, cookies, timers) is single-threaded:
 *    every fzd_wg_*() call that takes an FzdWg must come from one thread at a time (the
 *    daemon's main loop). It produces handshake messages, keepalives and staged packets
 *    through the send callback, and says when to call fzd_wg_tick() next.
 *
 *  - Transport sessions (FzdWgKeypair) are what the fast path uses, from any number of
 *    threads, concurrently with the state machine: fzd_wg_lookup_keypair(),
 *    fzd_wg_peer_tx_keypair(), fzd_wg_keypair_seal/open(), fzd_wg_keypair_note_tx/rx()
 *    and the ref/unref functions are thread-safe. Activity is reported per batch with the
 *    note functions; they return FZD_WG_WAKE when the state machine must run soon (a
 *    session needs a rekey, a responder's session was confirmed, an idle peer became
 *    active), and the caller then arranges an fzd_wg_tick() on the state machine's thread.
 *
 * The protocol is the whitepaper's: Noise IKpsk2 (PSK always present; an all-zero PSK is
 * what stock WireGuard uses when none is configured), cookie replies with mac1/mac2 when
 * the caller says it is under load, an 8128-packet replay window, the timers of §6 with
 * REKEY_ATTEMPT_TIME configurable and no persistent keepalive. Keys of a session are wiped
 * when it passes REJECT_AFTER_TIME (and when its last reference goes). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "wg-crypto.h"
#include "wg-messages.h"

#define FZD_WG_NSEC_PER_SEC UINT64_C(1000000000)
#define FZD_WG_NEVER        UINT64_MAX

/* The whitepaper's constants (§6.1), in nanoseconds and messages. Tests shorten them. */
typedef struct FzdWgTimers {
        uint64_t rekey_after_time;      /* 120 s */
        uint64_t reject_after_time;     /* 180 s */
        uint64_t rekey_attempt_time;    /* 90 s in WireGuard; Firezone uses 20 s */
        uint64_t rekey_timeout;         /* 5 s */
        uint64_t rekey_timeout_jitter;  /* 333 ms: retransmissions wait rekey_timeout + [0, this) */
        uint64_t keepalive_timeout;     /* 10 s */
        uint64_t cookie_lifetime;       /* 120 s: a received cookie is used this long; the
                                         * responder's cookie secret changes as often */
        uint64_t handshake_min_interval; /* 20 ms: initiations from one peer closer than this are flooding */
        uint64_t poll_interval;         /* 5 s: how long fast-path activity may go unseen by the
                                         * state machine; must stay below keepalive_timeout */
        uint64_t rekey_after_messages;  /* 2^60 */
        uint64_t reject_after_messages; /* 2^64 - 2^13 - 1 */
} FzdWgTimers;

void fzd_wg_timers_default(FzdWgTimers *ret);
/* The same with Firezone's REKEY_ATTEMPT_TIME (20 s, DESIGN §7.3). */
void fzd_wg_timers_firezone(FzdWgTimers *ret);

typedef struct FzdWg FzdWg;
typedef struct FzdWgPeer FzdWgPeer;
typedef struct FzdWgKeypair FzdWgKeypair;

typedef enum FzdWgEvent {
        FZD_WG_EVENT_HANDSHAKE_SENT,     /* an initiation went out (first or retransmission) */
        FZD_WG_EVENT_HANDSHAKE_COMPLETE, /* a new session: the peer's tx keypair changed */
        FZD_WG_EVENT_HANDSHAKE_FAILED,   /* gave up after rekey_attempt_time; staged packets dropped */
        FZD_WG_EVENT_SESSION_CONFIRMED,  /* (responder) the peer sent on the new session: tx keypair changed */
        FZD_WG_EVENT_KEYS_EXPIRED,       /* the last session passed reject_after_time and was wiped */
        FZD_WG_EVENT_COOKIE_RECEIVED,    /* the peer is under load and sent us a cookie */
} FzdWgEvent;

typedef struct FzdWgCallbacks {
        /* Send a datagram (initiation, response, keepalive, staged data) to the peer's
         * current path. Called from inside fzd_wg_*() on the state machine's thread. */
        void (*send)(void *userdata, FzdWgPeer *peer, const uint8_t *data, size_t len);
        /* A handshake message being handled authenticated as this peer, before anything
         * is sent back: the moment to learn the peer's new endpoint (roaming). */
        void (*authenticated)(void *userdata, FzdWgPeer *peer);
        /* Something worth a log line or a status update happened to a peer. */
        void (*event)(void *userdata, FzdWgPeer *peer, FzdWgEvent event);
        /* The peer's last reference went: free what its userdata points to. May be called
         * from any thread (the fast path may hold the last reference). */
        void (*peer_freed)(void *peer_userdata);
        /* Fill buf with random bytes; NULL: OpenSSL's RAND_bytes. Tests make it
         * deterministic. Returns 0 or a negative errno. */
        int (*random)(void *userdata, void *buf, size_t len);
        /* Callbacks must not remove peers or free the FzdWg. */
} FzdWgCallbacks;

typedef struct FzdWgConfig {
        uint8_t private_key[FZD_WG_KEY_LEN];
        FzdWgTimers timers;
        /* Wall-clock time (ns since the Unix epoch) at time 0 of the caller's clock: the
         * TAI64N timestamp of an initiation is realtime_base + now, so it only moves
         * forward within a run even if the wall clock steps back. */
        uint64_t realtime_base;
        /* Padding of transport data rounds up to 16 but not beyond this (the TUN MTU). */
        size_t mtu;
} FzdWgConfig;

/* -EINVAL for a private key whose public key cannot be computed. */
int fzd_wg_new(const FzdWgConfig *config, const FzdWgCallbacks *callbacks, void *userdata, FzdWg **ret);
/* Removes every peer (their last references may be held elsewhere) and wipes keys. */
FzdWg *fzd_wg_free(FzdWg *wg);
DEFINE_POINTER_CLEANUP_FUNC(FzdWg, fzd_wg_free);

const uint8_t *fzd_wg_public_key(const FzdWg *wg);
const FzdWgTimers *fzd_wg_timers(const FzdWg *wg);
/* Test hook: change the timers of a running instance (deadlines are recomputed). */
void fzd_wg_set_timers(FzdWg *wg, const FzdWgTimers *timers);

/* ---- peers (state machine thread) --------------------------------------------------- */

/* Adds a peer. -EEXIST if that public key is already a peer, -EINVAL if it is our own or
 * a low-order key. The state machine holds one reference until fzd_wg_peer_remove(). */
int fzd_wg_peer_new(FzdWg *wg, const uint8_t public_key[FZD_WG_KEY_LEN], const uint8_t psk[FZD_WG_KEY_LEN],
                    void *userdata, FzdWgPeer **ret);
/* Forgets the peer: its sessions stop (fast-path lookups fail from now on), keys and
 * staged packets are wiped, and the state machine's reference is dropped. */
void fzd_wg_peer_remove(FzdWgPeer *peer);
FzdWgPeer *fzd_wg_peer_find(FzdWg *wg, const uint8_t public_key[FZD_WG_KEY_LEN]);
void fzd_wg_peer_set_psk(FzdWgPeer *peer, const uint8_t psk[FZD_WG_KEY_LEN]);

/* Starts a handshake now unless one is in progress or the last initiation is younger than
 * rekey_timeout (whitepaper §6.1); the attempt gives up after rekey_attempt_time. */
void fzd_wg_peer_initiate(FzdWg *wg, FzdWgPeer *peer, uint64_t now);

/* The peer has a (new) path: an initiation in progress, which went nowhere, is sent again
 * now (at most once per handshake_min_interval); without a session a handshake starts; a
 * peer with a session is left alone. For the paths ICE finds, so the first handshake does
 * not wait out rekey_timeout (5 s). */
void fzd_wg_peer_path_ready(FzdWg *wg, FzdWgPeer *peer, uint64_t now);

/* Sends one IP packet from the control side: encrypted at once if the peer has a usable
 * session, else staged (at most 128 per peer, oldest dropped) and a handshake started;
 * staged packets go out when the session is ready. Returns 1 if sent, 0 if staged. */
int fzd_wg_peer_send(FzdWg *wg, FzdWgPeer *peer, const uint8_t *packet, size_t len, uint64_t now);

/* ---- thread-safe peer accessors ------------------------------------------------------ */

FzdWgPeer *fzd_wg_peer_ref(FzdWgPeer *peer);
FzdWgPeer *fzd_wg_peer_unref(FzdWgPeer *peer);
DEFINE_POINTER_CLEANUP_FUNC(FzdWgPeer, fzd_wg_peer_unref);
void *fzd_wg_peer_userdata(const FzdWgPeer *peer);
const uint8_t *fzd_wg_peer_public_key(const FzdWgPeer *peer);
/* The session to encrypt with, referenced (unref it), or NULL if none is usable. */
FzdWgKeypair *fzd_wg_peer_tx_keypair(FzdWgPeer *peer);

typedef struct FzdWgPeerStats {
        uint64_t tx_bytes, rx_bytes;     /* transport data, ciphertext on the wire */
        uint64_t tx_packets, rx_packets; /* keepalives included */
        uint64_t handshakes;             /* sessions established */
        uint64_t initiations_sent;
        uint64_t last_handshake;         /* caller's clock, 0 = never */
        uint64_t handshake_started;      /* first initiation of the attempt in progress, 0 = none */
        uint64_t last_attempt_started;   /* first initiation of the attempt that completed last */
        uint64_t first_data_after_handshake; /* first data packet received on the latest session */
        bool has_session;
} FzdWgPeerStats;
void fzd_wg_peer_get_stats(FzdWgPeer *peer, FzdWgPeerStats *ret);

/* ---- handshake messages (state machine thread) -------------------------------------- */

typedef struct FzdWgInput {
        /* The peer the message was for (by index) or authenticated as (by static key);
         * NULL if none. Set even when the message is then dropped, for the log line. */
        FzdWgPeer *peer;
        /* The message authenticated as coming from peer (the authenticated callback ran;
         * a response to an initiation went out through the send callback). */
        bool authenticated;
        /* -ENOKEY: the static key the initiation carried (for the log line). */
        uint8_t remote_static[FZD_WG_KEY_LEN];
        /* > 0 (with -EAGAIN): a cookie reply to send back to the message's source, whatever
         * the path of any peer is. */
        size_t reply_len;
        uint8_t reply[FZD_WG_COOKIE_REPLY_LEN];
} FzdWgInput;

/* Consumes an initiation, a response or a cookie reply. src/srclen identify the sender
 * (e.g. IP address bytes || port) for cookies and the per-source rate limit. under_load:
 * the caller's handshake backlog is high; then only messages with a valid mac2 are
 * processed (others get a cookie reply) and each source is rate-limited.
 * Returns 0 if it was processed, or why it was dropped:
 *   -EBADMSG   bad mac1, or does not decrypt/authenticate (wrong keys or PSK)
 *   -ENOKEY    initiation from a static key that is not a peer
 *   -EALREADY  initiation with a timestamp not newer than the last one (a replay)
 *   -EBUSY     flooding (initiations too close together) or rate-limited under load
 *   -ESTALE    response or cookie reply for no pending handshake
 *   -EAGAIN    under load without a valid mac2: a cookie reply is in ret->reply
 *   -EPROTO    not a handshake message (type/length) */
int fzd_wg_handle_handshake(FzdWg *wg, const uint8_t *msg, size_t len, const void *src, size_t srclen, uint64_t now,
                            bool under_load, FzdWgInput *ret);

/* Runs due timers and returns the next deadline (FZD_WG_NEVER if none). Call it at that
 * time, after fast-path notes returned FZD_WG_WAKE, and after any other fzd_wg_*() call
 * that may have changed deadlines (fzd_wg_next_deadline() says without running timers). */
uint64_t fzd_wg_tick(FzdWg *wg, uint64_t now);
uint64_t fzd_wg_next_deadline(FzdWg *wg);

/* Decrypts a transport-data message on the state machine's thread (tests, fuzzing, the
 * control side): lookup + open + note_rx + tick in one. Returns the plaintext length
 * (0 for a keepalive) and the peer (referenced) in *ret_peer, or a negative errno as
 * fzd_wg_keypair_open() does. out needs len - 32 bytes. */
int fzd_wg_decrypt(FzdWg *wg, const uint8_t *msg, size_t len, uint64_t now, uint8_t *out, FzdWgPeer **ret_peer);

/* ---- transport sessions (any thread) -------------------------------------------------- */

/* The session whose receiver index is `index` (from a data message), referenced, or NULL. */
FzdWgKeypair *fzd_wg_lookup_keypair(FzdWg *wg, uint32_t index);
FzdWgKeypair *fzd_wg_keypair_ref(FzdWgKeypair *kp);
FzdWgKeypair *fzd_wg_keypair_unref(FzdWgKeypair *kp);
DEFINE_POINTER_CLEANUP_FUNC(FzdWgKeypair, fzd_wg_keypair_unref);
FzdWgPeer *fzd_wg_keypair_peer(const FzdWgKeypair *kp); /* not referenced: valid while kp is */

/* Bytes a packet of len bytes takes on the wire: header, padding (to 16, up to the MTU),
 * tag. */
size_t fzd_wg_sealed_len(const FzdWg *wg, size_t len);

/* Encrypts a packet into out (fzd_wg_sealed_len() bytes: header, ciphertext, tag). in and
 * out + 16 may be the same buffer (encrypting in place, with room for the padding).
 * Returns the message length, or -ESTALE when the session may no longer send (too old or
 * counter exhausted: drop the packet and hand it to the control side). */
ssize_t fzd_wg_keypair_seal(FzdWgKeypair *kp, FzdWgAead *aead, uint64_t now, const uint8_t *in, size_t len,
                            uint8_t *out);
/* Decrypts a data message (type and receiver index already matched this keypair) into
 * out (len - 32 bytes; may be msg + 16). Returns the plaintext length (padding included;
 * the IP header says how much is the packet), or:
 *   -ESTALE    the session is too old or the counter is past the limit
 *   -EBADMSG   does not authenticate
 *   -EALREADY  a replay (counter seen or too far behind the window) */
ssize_t fzd_wg_keypair_open(FzdWgKeypair *kp, FzdWgAead *aead, uint64_t now, const uint8_t *msg, size_t len,
                            uint8_t *out);

#define FZD_WG_WAKE 1
/* Fast-path activity on a keypair, once per batch: data packets (non-empty), keepalives
 * (empty) and wire bytes. Return FZD_WG_WAKE when the state machine should run soon. */
int fzd_wg_keypair_note_tx(FzdWgKeypair *kp, uint64_t now, unsigned data, unsigned keepalives, uint64_t bytes);
int fzd_wg_keypair_note_rx(FzdWgKeypair *kp, uint64_t now, unsigned data, unsigned keepalives, uint64_t bytes);

/* Test hook: move the send counter (counter exhaustion tests). */
void fzd_wg_keypair_set_send_counter(FzdWgKeypair *kp, uint64_t counter);
uint32_t fzd_wg_keypair_local_index(const FzdWgKeypair *kp);
