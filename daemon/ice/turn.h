/* SPDX-License-Identifier: Apache-2.0 */
/* A TURN client (RFC 8656) for one allocation on one relay address, sans-IO.
 *
 * Life of an allocation, with Firezone's values:
 *   Binding (unauthenticated: our server-reflexive address and the relay's RTT)
 *   → Allocate (no credentials) → 401 with REALM "firezone" and NONCE → Allocate with long-term
 *     credentials (USERNAME, REALM, NONCE, MESSAGE-INTEGRITY) → relayed address
 *   → Refresh at half the granted lifetime; 438 Stale Nonce → retry with the new nonce;
 *     401 although we sent a nonce → the credentials are refused: the allocation fails
 *   → a STUN Binding every 25 s keeps the NAT binding to the relay open and notices a dead relay.
 * Requests are retransmitted after 1 s, ×1.5 each time, and given up after 8 s.
 *
 * Peers: ChannelBind (0x4000-0x4FFF) installs a channel and the peer's permission;
 * permissions are refreshed with CreatePermission every 4 min (they last 5), channels with
 * ChannelBind every 8 min (they last 10), while the peer is in use. Data goes out as
 * unpadded ChannelData (a Send indication while no channel exists but a permission does);
 * ChannelData from the relay is accepted padded or unpadded, Data indications too.
 *
 * The clock is the caller's: monotonic µs in every call. Nothing here does I/O. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "ice-common.h"

#define FZD_TURN_REALM_DEFAULT            "firezone"
#define FZD_TURN_REQUEST_TIMEOUT_USEC     FZD_SEC(1)   /* first retransmission */
#define FZD_TURN_REQUEST_MAX_ELAPSED_USEC FZD_SEC(8)   /* give up */
#define FZD_TURN_KEEPALIVE_USEC           FZD_SEC(25)  /* STUN Binding to the relay */
#define FZD_TURN_PERMISSION_REFRESH_USEC  FZD_SEC(240) /* permissions last 300 s */
#define FZD_TURN_CHANNEL_REFRESH_USEC     FZD_SEC(480) /* channels last 600 s */
#define FZD_TURN_CHANNEL_LIFETIME_USEC    FZD_SEC(600)
#define FZD_TURN_CHANNEL_REUSE_HOLD_USEC  FZD_SEC(300) /* before a number goes to another peer */
#define FZD_TURN_PEER_IDLE_USEC           FZD_SEC(300) /* unreferenced peers stop being refreshed */
#define FZD_TURN_MAX_CHANNELS             1024
#define FZD_TURN_MAX_PERMISSIONS          1024
#define FZD_TURN_MAX_INFLIGHT             64
#define FZD_TURN_MAX_STALE_NONCE_RETRIES  3

typedef struct FzdTurn FzdTurn;

typedef struct FzdTurnParams {
        FzdAddr server;
        const char *username;
        const char *password;
        const char *realm;           /* NULL: "firezone"; a 401 naming another realm is refused */
        uint64_t credentials_expire; /* monotonic µs of the portal's expires_at; 0: unknown */
        uint32_t requested_lifetime; /* LIFETIME to ask for, s; 0: the server's default */
        const char *software;        /* SOFTWARE attribute, or NULL */
        FzdIceLog *log;              /* borrowed; may be NULL */
} FzdTurnParams;

typedef enum FzdTurnState {
        FZD_TURN_BINDING,    /* learning our mapped address */
        FZD_TURN_ALLOCATING, /* Allocate in flight */
        FZD_TURN_READY,      /* holding an allocation */
        FZD_TURN_DELETING,   /* deleting it with the old credentials before allocating with new ones */
        FZD_TURN_FAILED,     /* given up, see fzd_turn_get_failure() */
        _FZD_TURN_STATE_MAX,
} FzdTurnState;

typedef enum FzdTurnFailure {
        FZD_TURN_FAILURE_NONE,
        FZD_TURN_FAILURE_AUTH,        /* credentials refused (401 with our nonce, 441) */
        FZD_TURN_FAILURE_NO_RESPONSE, /* the relay did not answer for 8 s */
        FZD_TURN_FAILURE_PROTOCOL,    /* another realm, 420, 440, quota, … */
        _FZD_TURN_FAILURE_MAX,
} FzdTurnFailure;

typedef enum FzdTurnEventType {
        FZD_TURN_EVENT_MAPPED,         /* addr: our server-reflexive address, base: the local address */
        FZD_TURN_EVENT_RELAYED,        /* addr: the relayed address (allocation made) */
        FZD_TURN_EVENT_RELAYED_LOST,   /* addr: the relayed address is gone (expired, replaced, failed) */
        FZD_TURN_EVENT_REFRESHED,      /* lifetime: the allocation was refreshed */
        FZD_TURN_EVENT_CHANNEL_BOUND,  /* peer, channel */
        FZD_TURN_EVENT_CHANNEL_FAILED, /* peer, channel, error */
        FZD_TURN_EVENT_CREDENTIALS_EXPIRED, /* the portal's expires_at passed: ask it for fresh ones */
        FZD_TURN_EVENT_FAILED,              /* failure, error */
        _FZD_TURN_EVENT_MAX,
} FzdTurnEventType;

typedef struct FzdTurnEvent {
        FzdTurnEventType type;
        FzdAddr addr;
        FzdAddr base;
        FzdAddr peer;
        uint16_t channel;
        uint32_t lifetime;
        int error; /* STUN error code, when there was one */
        FzdTurnFailure failure;
} FzdTurnEvent;

typedef struct FzdTurnStats {
        uint64_t requests; /* transactions started */
        uint64_t retransmits;
        uint64_t unauthorized;  /* 401s */
        uint64_t stale_nonces;  /* 438s */
        uint64_t allocations;   /* successful Allocates */
        uint64_t refreshes;     /* successful Refreshes */
        uint64_t permissions;   /* successful CreatePermissions */
        uint64_t channel_binds; /* successful ChannelBinds */
        uint64_t keepalives;    /* Bindings sent in READY */
        uint64_t data_in;       /* ChannelData / Data indications accepted */
        uint64_t dropped;       /* inputs from the relay that were refused */
        uint64_t bad_integrity; /* responses whose MESSAGE-INTEGRITY did not verify */
} FzdTurnStats;

/* What fzd_turn_handle_input() made of a datagram. */
typedef enum FzdTurnInput {
        FZD_TURN_INPUT_NOT_MINE, /* not from this relay, or not a transaction of ours: look elsewhere */
        FZD_TURN_INPUT_CONSUMED, /* a response or indication handled (or dropped as bad) */
        FZD_TURN_INPUT_DATA,     /* data from a peer through the relay: *ret_peer, *ret_payload */
} FzdTurnInput;

int fzd_turn_new(const FzdTurnParams *p, uint64_t now, FzdTurn **ret);
FzdTurn *fzd_turn_free(FzdTurn *t);

/* local: our address the datagram arrived on (IP_PKTINFO; may be unspecified). The payload
 * of FZD_TURN_INPUT_DATA points into buf. */
FzdTurnInput fzd_turn_handle_input(FzdTurn *t, uint64_t now, const FzdAddr *local, const FzdAddr *from,
                                   const uint8_t *buf, size_t len, FzdAddr *ret_peer,
                                   const uint8_t **ret_payload, size_t *ret_payload_len);
bool fzd_turn_poll_transmit(FzdTurn *t, FzdIceTransmit *ret);
bool fzd_turn_poll_event(FzdTurn *t, FzdTurnEvent *ret);
/* UINT64_MAX: nothing scheduled. */
uint64_t fzd_turn_poll_timeout(const FzdTurn *t);
void fzd_turn_handle_timeout(FzdTurn *t, uint64_t now);

/* Peers. add_peer takes a reference (a remote candidate that may need the relay) and binds a
 * channel to the peer now or as soon as the allocation exists; remove_peer drops it (the
 * channel is then left to expire once idle). Returns the channel number, or -ENOSPC, -EAFNOSUPPORT. */
int fzd_turn_add_peer(FzdTurn *t, const FzdAddr *peer, uint64_t now);
void fzd_turn_remove_peer(FzdTurn *t, const FzdAddr *peer);
/* The channel to peer and whether the relay confirmed it; 0 if none. */
uint16_t fzd_turn_get_channel(const FzdTurn *t, const FzdAddr *peer, bool *ret_bound);

/* Wraps payload for peer into out: ChannelData on a channel that is bound or being bound
 * (as Firezone, optimistically), else a Send indication if a permission exists, else starts a
 * ChannelBind and returns -EAGAIN. Returns the length, or -ENOBUFS, -EAGAIN, -ENOTCONN (no
 * allocation), -EAFNOSUPPORT. *ret_channel is the channel used (0 for a Send indication). */
int fzd_turn_encapsulate(FzdTurn *t, const FzdAddr *peer, const uint8_t *payload, size_t len, uint64_t now,
                         uint8_t *out, size_t out_size, uint16_t *ret_channel);

/* New credentials for the same relay (relays_presence, a fresh init): with an allocation, it
 * is deleted with the old credentials first, then made again with the new ones. 0 when nothing
 * changed, 1 when the credentials were taken. */
int fzd_turn_update_credentials(FzdTurn *t, const char *username, const char *password,
                                uint64_t credentials_expire, uint64_t now);
/* Forget the allocation and start again from the Binding (after the local socket changed). */
void fzd_turn_restart(FzdTurn *t, uint64_t now);
/* Shutdown: deletes the allocation (one Refresh with LIFETIME 0, queued now; its answer is not
 * awaited) and stops for good — no timers, nothing more sent. Free it after sending. */
void fzd_turn_release(FzdTurn *t, uint64_t now);

FzdTurnState fzd_turn_get_state(const FzdTurn *t);
FzdTurnFailure fzd_turn_get_failure(const FzdTurn *t);
const FzdAddr *fzd_turn_get_server(const FzdTurn *t);
/* Unset (family 0) until known. */
const FzdAddr *fzd_turn_get_relayed(const FzdTurn *t);
const FzdAddr *fzd_turn_get_mapped(const FzdTurn *t);
const FzdAddr *fzd_turn_get_local(const FzdTurn *t);
/* Smoothed RTT to the relay in µs, 0 before the first answer. */
uint64_t fzd_turn_get_rtt(const FzdTurn *t);
uint32_t fzd_turn_get_lifetime(const FzdTurn *t);
bool fzd_turn_credentials_match(const FzdTurn *t, const char *username, const char *password);
const FzdTurnStats *fzd_turn_get_stats(const FzdTurn *t);

const char *fzd_turn_state_to_string(FzdTurnState s);
const char *fzd_turn_failure_to_string(FzdTurnFailure f);
const char *fzd_turn_event_to_string(FzdTurnEventType t);
