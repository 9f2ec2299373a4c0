/* SPDX-License-Identifier: Apache-2.0 */
/* Transport sessions: the part of the core the fast path runs, from any thread. A keypair
 * never changes its keys; what changes is guarded so: the send counter is advanced with a
 * compare-and-swap that stops at the limit (so it can never wrap into a used nonce), the
 * replay window sits under a spinlock taken only after a packet authenticated, and the
 * peer's activity is a set of atomics the state machine reads when it runs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wg-internal.h"

FzdWgKeypair *fzd_wg_keypair_new(FzdWgPeer *peer, const uint8_t send_key[32], const uint8_t recv_key[32],
                                 uint32_t local_index, uint32_t remote_index, bool initiator, uint64_t now,
                                 const FzdWgLimits *limits) {
        FzdWgKeypair *kp;

        if (posix_memalign((void **) &kp, FZD_WG_CACHELINE, sizeof *kp) != 0)
                return NULL;
        memset(kp, 0, sizeof *kp);
        if (pthread_spin_init(&kp->replay_lock, PTHREAD_PROCESS_PRIVATE) != 0) {
                free(kp);
                return NULL;
        }
        atomic_init(&kp->refs, 1);
        kp->peer = fzd_wg_peer_ref(peer);
        memcpy(kp->send_key, send_key, 32);
        memcpy(kp->recv_key, recv_key, 32);
        kp->local_index = local_index;
        kp->remote_index = remote_index;
        kp->initiator = initiator;
        kp->birth = now;
        kp->limits = *limits;
        fzd_wg_replay_reset(&kp->replay);
        return kp;
}

FzdWgKeypair *fzd_wg_keypair_ref(FzdWgKeypair *kp) {
        if (kp)
                atomic_fetch_add_explicit(&kp->refs, 1, memory_order_relaxed);
        return kp;
}

FzdWgKeypair *fzd_wg_keypair_unref(FzdWgKeypair *kp) {
        FzdWgPeer *peer;

        if (!kp || atomic_fetch_sub_explicit(&kp->refs, 1, memory_order_acq_rel) != 1)
                return NULL;
        peer = kp->peer;
        pthread_spin_destroy(&kp->replay_lock);
        fzd_wg_wipe(kp, sizeof *kp);
        free(kp);
        fzd_wg_peer_unref(peer);
        return NULL;
}

FzdWgPeer *fzd_wg_keypair_peer(const FzdWgKeypair *kp) {
        return kp->peer;
}

uint32_t fzd_wg_keypair_local_index(const FzdWgKeypair *kp) {
        return kp->local_index;
}

void fzd_wg_keypair_set_send_counter(FzdWgKeypair *kp, uint64_t counter) {
        atomic_store(&kp->send_counter, counter);
}

/* A fast-path thread's clock reading may predate a session made a moment later. */
static uint64_t age(const FzdWgKeypair *kp, uint64_t now) {
        return now > kp->birth ? now - kp->birth : 0;
}

static bool expired(const FzdWgKeypair *kp, uint64_t now) {
        return atomic_load_explicit(&kp->dead, memory_order_relaxed) || age(kp, now) >= kp->limits.reject_after_time;
}

ssize_t fzd_wg_keypair_seal(FzdWgKeypair *kp, FzdWgAead *aead, uint64_t now, const uint8_t *in, size_t len,
                            uint8_t *out) {
        size_t plen = fzd_wg_padded_len(len, kp->limits.mtu);
        uint64_t c;
        int r;

        if (expired(kp, now))
                return -ESTALE;
        c = atomic_load_explicit(&kp->send_counter, memory_order_relaxed);
        do {
                if (c >= kp->limits.reject_after_messages)
                        return -ESTALE;
        } while (!atomic_compare_exchange_weak_explicit(&kp->send_counter, &c, c + 1, memory_order_relaxed,
                                                        memory_order_relaxed));

        if (len > 0 && in != out + FZD_WG_DATA_HEADER_LEN)
                memmove(out + FZD_WG_DATA_HEADER_LEN, in, len);
        memset(out + FZD_WG_DATA_HEADER_LEN + len, 0, plen - len);
        fzd_wg_put_le32(out, FZD_WG_MSG_DATA);
        fzd_wg_put_le32(out + FZD_WG_DATA_RECEIVER, kp->remote_index);
        fzd_wg_put_le64(out + FZD_WG_DATA_COUNTER, c);
        r = fzd_wg_aead_seal(aead, kp->send_key, c, NULL, 0, out + FZD_WG_DATA_HEADER_LEN, plen,
                             out + FZD_WG_DATA_HEADER_LEN);
        if (r < 0)
                return r;
        return (ssize_t) (FZD_WG_DATA_OVERHEAD + plen);
}

ssize_t fzd_wg_keypair_open(FzdWgKeypair *kp, FzdWgAead *aead, uint64_t now, const uint8_t *msg, size_t len,
                            uint8_t *out) {
        uint64_t counter;
        bool fresh;
        int r;

        if (len < FZD_WG_DATA_MIN_LEN)
                return -EBADMSG;
        if (expired(kp, now))
                return -ESTALE;
        counter = fzd_wg_le64(msg + FZD_WG_DATA_COUNTER);
        if (counter >= kp->limits.reject_after_messages)
                return -ESTALE;
        r = fzd_wg_aead_open(aead, kp->recv_key, counter, NULL, 0, msg + FZD_WG_DATA_HEADER_LEN,
                             len - FZD_WG_DATA_HEADER_LEN, out);
        if (r < 0)
                return r == -EIO ? -EIO : -EBADMSG;

        pthread_spin_lock(&kp->replay_lock);
        fresh = fzd_wg_replay_check_and_set(&kp->replay, counter, kp->limits.reject_after_messages);
        pthread_spin_unlock(&kp->replay_lock);
        if (!fresh)
                return -EALREADY;
        if (!atomic_load_explicit(&kp->received, memory_order_relaxed))
                atomic_store_explicit(&kp->received, true, memory_order_relaxed);
        return (ssize_t) (len - FZD_WG_DATA_OVERHEAD);
}

/* The sleeping handshake (see wg.c, peer_poll()): activity is stored before `sleeping` is
 * read, and the state machine sets `sleeping` before it re-reads the activity, both
 * sequentially consistent, so one of the two always sees the other. */
static int wake_if_sleeping(FzdWgActivity *act) {
        if (atomic_load(&act->sleeping) && atomic_exchange(&act->sleeping, false))
                return FZD_WG_WAKE;
        return 0;
}

static int request_rekey(FzdWgKeypair *kp) {
        if (atomic_exchange(&kp->rekey_requested, true))
                return 0;
        atomic_store(&kp->peer->act.want_handshake, true);
        return FZD_WG_WAKE;
}

int fzd_wg_keypair_note_tx(FzdWgKeypair *kp, uint64_t now, unsigned data, unsigned keepalives, uint64_t bytes) {
        FzdWgActivity *act = &kp->peer->act;
        uint64_t zero = 0;
        int wake = 0;

        if (data + keepalives == 0)
                return 0;
        atomic_store(&act->last_tx, now);
        if (data > 0) {
                atomic_store_explicit(&act->last_tx_data, now, memory_order_relaxed);
                if (atomic_load_explicit(&act->tx_unanswered, memory_order_relaxed) == 0)
                        (void) atomic_compare_exchange_strong(&act->tx_unanswered, &zero, now);
        }
        /* Anything authenticated we send answers what we received. */
        if (atomic_load_explicit(&act->rx_unanswered, memory_order_relaxed) != 0)
                atomic_store(&act->rx_unanswered, 0);
        atomic_fetch_add_explicit(&act->tx_bytes, bytes, memory_order_relaxed);
        atomic_fetch_add_explicit(&act->tx_packets, data + keepalives, memory_order_relaxed);

        if (!atomic_load_explicit(&kp->rekey_requested, memory_order_relaxed) &&
            (atomic_load_explicit(&kp->send_counter, memory_order_relaxed) >= kp->limits.rekey_after_messages ||
             (kp->initiator && age(kp, now) >= kp->limits.rekey_after_time)))
                wake |= request_rekey(kp);
        return wake | wake_if_sleeping(act);
}

int fzd_wg_keypair_note_rx(FzdWgKeypair *kp, uint64_t now, unsigned data, unsigned keepalives, uint64_t bytes) {
        FzdWgActivity *act = &kp->peer->act;
        uint64_t zero = 0;
        int wake = 0;

        if (data + keepalives == 0)
                return 0;
        atomic_store(&act->last_rx, now);
        /* Anything authenticated we receive answers what we sent. */
        if (atomic_load_explicit(&act->tx_unanswered, memory_order_relaxed) != 0)
                atomic_store(&act->tx_unanswered, 0);
        if (data > 0) {
                atomic_store_explicit(&act->last_rx_data, now, memory_order_relaxed);
                if (atomic_load_explicit(&act->rx_unanswered, memory_order_relaxed) == 0)
                        (void) atomic_compare_exchange_strong(&act->rx_unanswered, &zero, now);
                zero = 0;
                if (atomic_load_explicit(&act->first_data_after_handshake, memory_order_relaxed) == 0)
                        (void) atomic_compare_exchange_strong(&act->first_data_after_handshake, &zero, now);
        }
        atomic_fetch_add_explicit(&act->rx_bytes, bytes, memory_order_relaxed);
        atomic_fetch_add_explicit(&act->rx_packets, data + keepalives, memory_order_relaxed);

        /* A responder's new session becomes the one to send with once the initiator used it. */
        if (!kp->initiator && !atomic_load_explicit(&kp->confirm_woken, memory_order_relaxed) &&
            !atomic_exchange(&kp->confirm_woken, true))
                wake |= FZD_WG_WAKE;
        if (kp->initiator && !atomic_load_explicit(&kp->rekey_requested, memory_order_relaxed) &&
            age(kp, now) >= kp->limits.rekey_on_rx_age)
                wake |= request_rekey(kp);
        return wake | wake_if_sleeping(act);
}
