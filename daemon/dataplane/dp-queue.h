/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The bounded queue from the workers to the main loop: a ring of fixed slots (bounded
 * memory whatever the network sends), filled under a short mutex by any worker, drained by
 * the main loop; the eventfd is written only when the ring goes from empty to non-empty,
 * and a full ring drops and counts. Plus a "wake" flag for the WireGuard timers that rides
 * on the same eventfd. */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "dataplane.h"

#define FZD_DP_QUEUE_SLOTS   256
#define FZD_DP_ITEM_DATA_MAX 2048

typedef enum FzdDpItemKind {
        FZD_DP_ITEM_DATAGRAM, /* from a socket: STUN, TURN, ChannelData, WG handshake */
        FZD_DP_ITEM_PACKET,   /* from the TUN: no route or no session */
        FZD_DP_ITEM_ROAMED,   /* a peer's path was learned on the fast path */
        FZD_DP_ITEM_P2P,      /* a decrypted in-tunnel control packet from a peer */
        FZD_DP_ITEM_REFUSED,  /* a decrypted packet the inbound callback refused */
} FzdDpItemKind;

typedef struct FzdDpItemHeader {
        FzdDpItemKind kind;
        int family;
        FzdDpAddr from;
        FzdDpAddr local; /* IP_PKTINFO, DATAGRAM only */
        uint16_t channel;
        bool from_relay;
        bool handshake;   /* WireGuard handshake message (counts towards "under load") */
        FzdWgPeer *peer;  /* referenced: PACKET with a route, ROAMED, P2P, REFUSED */
        uint64_t cookie;  /* PACKET, REFUSED */
        FzdDpPacketReason reason; /* PACKET */
        uint16_t len;
} FzdDpItemHeader;

typedef struct FzdDpItem {
        FzdDpItemHeader h;
        uint8_t data[FZD_DP_ITEM_DATA_MAX];
} FzdDpItem;

typedef struct FzdDpQueue {
        pthread_mutex_t lock;
        FzdDpItem *slots;
        unsigned head, count;
        unsigned handshakes; /* handshake items queued */
        int eventfd;
        atomic_bool wake;
        _Atomic uint64_t overflow;
} FzdDpQueue;

int fzd_dp_queue_init(FzdDpQueue *q);
void fzd_dp_queue_done(FzdDpQueue *q);
/* Any thread. Copies len bytes (at most FZD_DP_ITEM_DATA_MAX) and the item's header;
 * takes over the item's peer reference (dropped with the item if the queue is full).
 * Returns false if it was dropped. */
bool fzd_dp_queue_push(FzdDpQueue *q, const FzdDpItemHeader *header, const uint8_t *data, size_t len);
/* Any thread: ask the main loop to run the WireGuard timers. */
void fzd_dp_queue_wake(FzdDpQueue *q);
/* Main loop: the oldest item (valid until fzd_dp_queue_pop()), or NULL. */
FzdDpItem *fzd_dp_queue_peek(FzdDpQueue *q);
void fzd_dp_queue_pop(FzdDpQueue *q);
unsigned fzd_dp_queue_handshakes(FzdDpQueue *q);
/* Main loop: reads the eventfd; returns whether a wake was asked for. */
bool fzd_dp_queue_drain_signal(FzdDpQueue *q);
