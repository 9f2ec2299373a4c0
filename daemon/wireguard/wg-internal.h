/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The core's private structures, shared by wg.c (state machine), wg-keypair.c (sessions,
 * the thread-safe part) and wg-cookie.c. Nothing outside daemon/wireguard includes this. */

#include <pthread.h>
#include <stdatomic.h>

#include "wg-noise.h"
#include "wg-replay.h"
#include "wg.h"

#define FZD_WG_MAX_STAGED 128
#define FZD_WG_CACHELINE  64

/* Per-peer activity, written by the fast path (note_tx/note_rx) and read by the state
 * machine's timers. tx and rx fields sit on separate cache lines: one thread sends while
 * another receives. */
typedef struct FzdWgActivity {
        _Alignas(FZD_WG_CACHELINE) _Atomic uint64_t last_tx; /* any authenticated packet sent */
        _Atomic uint64_t last_tx_data;
        _Atomic uint64_t tx_unanswered; /* first data sent since the last authenticated receive; 0 = none */
        _Atomic uint64_t tx_bytes, tx_packets;
        _Alignas(FZD_WG_CACHELINE) _Atomic uint64_t last_rx; /* any authenticated packet received */
        _Atomic uint64_t last_rx_data;
        _Atomic uint64_t rx_unanswered; /* first data received since the last authenticated send; 0 = none */
        _Atomic uint64_t rx_bytes, rx_packets;
        _Atomic uint64_t first_data_after_handshake;
        _Alignas(FZD_WG_CACHELINE) atomic_bool want_handshake; /* fast path: rekey needed */
        atomic_bool sleeping;                                  /* state machine stopped polling */
} FzdWgActivity;

/* Copied into each keypair so that the fast path never touches the FzdWg. */
typedef struct FzdWgLimits {
        uint64_t rekey_after_time, reject_after_time, rekey_on_rx_age;
        uint64_t rekey_after_messages, reject_after_messages;
        size_t mtu;
} FzdWgLimits;

struct FzdWgKeypair {
        atomic_uint refs;
        FzdWgPeer *peer; /* referenced */
        uint8_t send_key[FZD_WG_KEY_LEN], recv_key[FZD_WG_KEY_LEN];
        _Alignas(FZD_WG_CACHELINE) _Atomic uint64_t send_counter;
        _Alignas(FZD_WG_CACHELINE) pthread_spinlock_t replay_lock;
        FzdWgReplay replay;
        uint32_t local_index, remote_index;
        uint64_t birth;
        bool initiator;
        atomic_bool dead;           /* dropped by the state machine: refuse to seal or open */
        atomic_bool received;       /* something authenticated on it (responder: confirmation) */
        atomic_bool rekey_requested; /* the fast path asked once for this keypair */
        atomic_bool confirm_woken;   /* the first receive woke the state machine */
        FzdWgLimits limits;
};

typedef enum HandshakeState {
        HS_NONE,
        HS_INITIATION_SENT, /* initiator: waiting for the response */
} HandshakeState;

typedef struct Staged {
        uint8_t *data;
        size_t len;
} Staged;

struct FzdWgPeer {
        atomic_uint refs;
        FzdWg *wg; /* NULL once removed */
        void *userdata;
        void (*freed)(void *userdata);
        FzdWgPeer *list_prev, *list_next;

        uint8_t public_key[FZD_WG_KEY_LEN];
        uint8_t psk[FZD_WG_KEY_LEN];
        uint8_t ss[FZD_WG_KEY_LEN];          /* DH(our static, theirs), precomputed */
        uint8_t mac1_key[FZD_WG_HASH_LEN];   /* HASH("mac1----" || their key): mac1 of what we send */
        uint8_t cookie_key[FZD_WG_HASH_LEN]; /* HASH("cookie--" || their key): their cookie replies */

        /* Handshake in progress (as initiator). */
        HandshakeState hs;
        FzdNoise noise;
        uint8_t e_priv[FZD_WG_KEY_LEN];
        uint32_t hs_index; /* our sender index, in the index table while hs != HS_NONE */
        uint64_t last_initiation_sent;
        uint64_t attempt_started; /* 0: no attempt */
        uint64_t last_attempt_started; /* of the attempt that completed last */
        uint64_t retransmit_at;

        /* As responder. */
        uint8_t last_timestamp[FZD_WG_TIMESTAMP_LEN];
        uint64_t last_initiation_consumed;

        /* Cookie the peer gave us (it is under load), and the mac1 it must be bound to. */
        uint8_t cookie[FZD_WG_MAC_LEN];
        uint64_t cookie_time; /* 0: none */
        uint8_t last_mac1[FZD_WG_MAC_LEN];
        bool have_last_mac1;

        /* Sessions. current is read by other threads (fzd_wg_peer_tx_keypair) under lock;
         * only the state machine changes any of them, under lock too. */
        pthread_mutex_t lock;
        FzdWgKeypair *current, *previous, *next;
        uint64_t last_keys_derived; /* 0: no key material */

        FzdWgActivity act;
        uint64_t last_poll; /* state machine's side of the sleeping protocol */
        bool awake;

        Staged staged[FZD_WG_MAX_STAGED];
        size_t staged_head, staged_n;

        _Atomic uint64_t handshakes, initiations_sent, last_handshake;
};

/* Transport data is padded to a multiple of 16, but never past the MTU (and a packet
 * longer than the MTU is never cut). */
static inline size_t fzd_wg_padded_len(size_t len, size_t mtu) {
        size_t p = (len + 15) & ~(size_t) 15;

        if (p > mtu)
                p = len > mtu ? len : mtu;
        return p;
}

/* ---- keypairs (wg-keypair.c) --------------------------------------------------------- */
FzdWgKeypair *fzd_wg_keypair_new(FzdWgPeer *peer, const uint8_t send_key[32], const uint8_t recv_key[32],
                                 uint32_t local_index, uint32_t remote_index, bool initiator, uint64_t now,
                                 const FzdWgLimits *limits);

/* ---- index table (wg-index.c) -------------------------------------------------------- */
typedef struct FzdWgIndexEntry {
        uint32_t index;
        FzdWgPeer *peer;       /* not referenced: entries go before their peer does */
        FzdWgKeypair *keypair; /* NULL: a pending handshake */
        struct FzdWgIndexEntry *next;
} FzdWgIndexEntry;

typedef struct FzdWgIndex {
        pthread_rwlock_t lock; /* writers: the state machine; readers: the fast path */
        FzdWgIndexEntry **buckets;
        size_t nbuckets, n;
} FzdWgIndex;

int fzd_wg_index_init(FzdWgIndex *idx);
void fzd_wg_index_done(FzdWgIndex *idx);
/* State machine only (it is the only writer, so it reads without the lock). */
FzdWgIndexEntry *fzd_wg_index_get(FzdWgIndex *idx, uint32_t index);
int fzd_wg_index_add(FzdWgIndex *idx, uint32_t index, FzdWgPeer *peer, FzdWgKeypair *kp);
void fzd_wg_index_set_keypair(FzdWgIndex *idx, uint32_t index, FzdWgKeypair *kp);
void fzd_wg_index_remove(FzdWgIndex *idx, uint32_t index);
/* Any thread: the keypair registered under index, referenced. */
FzdWgKeypair *fzd_wg_index_lookup_keypair(FzdWgIndex *idx, uint32_t index);

/* ---- cookies and rate limiting (wg-cookie.c) ------------------------------------------ */
typedef struct FzdWgRateEntry {
        uint8_t key[16];
        uint8_t keylen;
        uint64_t tokens; /* in ns of budget */
        uint64_t last;
} FzdWgRateEntry;

#define FZD_WG_RATE_SLOTS 1024
typedef struct FzdWgRateLimiter {
        uint64_t seed;
        FzdWgRateEntry slots[FZD_WG_RATE_SLOTS];
} FzdWgRateLimiter;

struct FzdWg {
        FzdWgConfig config;
        FzdWgLimits limits;
        uint8_t public_key[FZD_WG_KEY_LEN];
        uint8_t mac1_key[FZD_WG_HASH_LEN];   /* HASH("mac1----" || our key): mac1 of what we get */
        uint8_t cookie_key[FZD_WG_HASH_LEN]; /* HASH("cookie--" || our key): our cookie replies */
        uint8_t cookie_secret[FZD_WG_KEY_LEN];
        uint64_t cookie_secret_time;
        bool have_cookie_secret;
        FzdWgCallbacks cb;
        void *userdata;
        FzdWgAead *aead; /* the state machine's own */
        FzdWgPeer *peers;
        size_t n_peers;
        FzdWgIndex index;
        FzdWgRateLimiter ratelimiter;
};

/* 20 initiations per second per source address, bursts of 5 (as wireguard-go). src is
 * the address bytes followed by 2 port bytes; the port is ignored. */
bool fzd_wg_ratelimit_allow(FzdWgRateLimiter *rl, const void *src, size_t srclen, uint64_t now);
