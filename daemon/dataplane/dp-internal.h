/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Shared by dataplane.c (control side, main loop) and dp-worker.c (fast path). */

#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "dataplane.h"
#include "dp-classify.h"
#include "dp-offload.h"
#include "dp-queue.h"
#include "dp-routes.h"
#include "wg.h"

#define FZD_DP_MAX_RELAYS   16
#define FZD_DP_MAX_WORKERS  3
#define FZD_DP_FAM(f)       ((f) == AF_INET6 ? 1 : 0)

struct FzdDpPeer {
        FzdDataplane *dp;
        FzdWgPeer *wg; /* its userdata is this struct, freed when its last reference goes */
        void *userdata;
        bool roaming;
        pthread_spinlock_t lock; /* path */
        FzdDpPath path;
        bool has_path;
};

typedef struct FzdDpRelay {
        FzdDpAddr addr;
        uint64_t channels[0x1000 / 64]; /* bound channels 0x4000–0x4FFF */
} FzdDpRelay;

/* Counters shared by the workers (relaxed atomics: they are statistics). */
typedef struct FzdDpCounters {
        _Atomic uint64_t tun_reads, tun_packets, udp_sends, udp_datagrams, udp_recvs, udp_rx_datagrams;
        _Atomic uint64_t tun_writes, tun_rx_packets;
        _Atomic uint64_t tx_bytes, rx_bytes; /* plaintext through the tunnel */
        _Atomic uint64_t decrypt_failed, replayed, stale, unknown_index, not_allowed, malformed;
        _Atomic uint64_t no_route, no_session, filtered, send_errors, inbound_refused;
} FzdDpCounters;

#define COUNT(dp, field, n) atomic_fetch_add_explicit(&(dp)->counters.field, (n), memory_order_relaxed)

typedef struct FzdDpWorker FzdDpWorker;

struct FzdDataplane {
        sd_event *event;
        sd_event_source *queue_source, *timer_source;
        FzdDataplaneConfig config;
        FzdDpCallbacks cb;
        void *userdata;
        FzdWg *wg;
        FzdDpQueue queue;

        pthread_rwlock_t routes_lock;
        FzdDpRoutes *routes; /* values: FzdWgPeer, referenced */

        pthread_rwlock_t relay_lock;
        FzdDpRelay relays[FZD_DP_MAX_RELAYS];
        unsigned n_relays;
        _Atomic unsigned relay_gen; /* bumped on every change: workers keep a copy */

        int udp_fd[2];
        atomic_bool udp_gso[2];
        bool udp_gro[2];
        unsigned tun_offloads;

        FzdDpWorker *workers[FZD_DP_MAX_WORKERS];
        unsigned n_workers;
        int stop_fd;
        bool started;

        uint64_t under_load_until;
        FzdWgAead *control_aead; /* transport data handled on the main loop (fzd_dataplane_input) */
        /* The source of the handshake message being handled (for roaming). */
        const FzdDpItem *current_input;

        FzdDpCounters counters;
        uint64_t control_items, handshakes_under_load, control_send_errors;
        uint64_t log_window;
        unsigned log_lines;
};

/* dp-worker.c */
int fzd_dp_workers_start(FzdDataplane *dp);
void fzd_dp_workers_stop(FzdDataplane *dp);

/* dataplane.c, for the workers */
bool fzd_dp_path_equal(const FzdDpPath *a, const FzdDpPath *b);
/* Copies the peer's path; false if it has none. */
bool fzd_dp_peer_path(FzdDpPeer *p, FzdDpPath *ret);
/* Learned from an authenticated packet (roaming peers only); returns true if it changed. */
bool fzd_dp_peer_learn_path(FzdDpPeer *p, const FzdDpPath *path);
