/* SPDX-License-Identifier: Apache-2.0 */
/* The connectivity layer of the client's connections to gateways (DESIGN §7.3), sans-IO:
 * the relays (one TURN allocation per relay and address family), the ICE agents (one per
 * gateway connection), and the demultiplexing of the shared UDP sockets between them and
 * WireGuard.
 *
 * The caller owns sockets and clocks. Its loop:
 *   - every datagram read from a socket goes to fzd_ice_handle_input() (with the local address
 *     it arrived on, from IP_PKTINFO): CONSUMED (STUN/TURN, handled), NOT_ICE (WireGuard: the
 *     same bytes, from the same address), or UNWRAPPED (WireGuard that came through a relay:
 *     the inner bytes and the peer they are from);
 *   - after any call, fzd_ice_poll_transmit() until false (send each datagram), then
 *     fzd_ice_poll_event() until false, then arm a timer for fzd_ice_poll_timeout() and call
 *     fzd_ice_handle_timeout() when it fires;
 *   - relays from the portal's init and relays_presence go to fzd_ice_upsert_relay() and
 *     fzd_ice_remove_relay(); the local addresses of the sockets to fzd_ice_set_host_candidates();
 *   - per gateway connection (authorization_created): fzd_ice_add_agent() with
 *     client_ice_credentials as local, gateway_ice_credentials as remote, controlling; every
 *     CANDIDATE event goes to the portal (new_gateway_ice_candidates), every ice_candidates
 *     string from the portal to fzd_ice_add_remote_candidate();
 *   - CONNECTED / PATH_CHANGED carry the path WireGuard must use (fzd_ice_get_path() reads it
 *     at any time); FAILED means tear the connection down (fzd_ice_remove_agent()).
 *
 * Everything here runs on one thread. fzd_demux_classify() and fzd_channel_data_parse() in
 * channel-data.h are what a data-plane worker may use on its own, with a published path. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "agent.h"
#include "candidate.h"
#include "channel-data.h"
#include "ice-common.h"
#include "turn.h"

#define FZD_ICE_RELAY_ID_MAX 64
#define FZD_ICE_MAX_RELAYS   16
#define FZD_ICE_MAX_HOSTS    16

typedef struct FzdIce FzdIce;

typedef struct FzdIceConfig {
        FzdIceLogFunc log;
        void *log_userdata;
        unsigned log_burst; /* packet messages per 5 s; 0: FZD_ICE_LOG_BURST (10) */
        const char *software;   /* SOFTWARE in TURN requests; NULL: none */
        uint32_t turn_lifetime; /* allocation lifetime to ask for, s; 0: the relay's default */
        /* Like Firezone: the local address on which a relay answers (IP_PKTINFO) becomes a host
         * candidate. Off: only fzd_ice_set_host_candidates() makes host candidates. */
        bool learn_host_candidates;
        /* Defaults for agents whose config leaves these zero (see agent.h). */
        uint64_t ta;
        bool ta_set; /* ta == 0 means "no pacing" only with this set */
        FzdIceTiming active, idle;
        uint64_t idle_after, candidate_timeout, disconnect_grace;
} FzdIceConfig;

typedef struct FzdIceRelay {
        const char *id;       /* the portal's relay id */
        FzdAddr addr;         /* its address (port 3478) */
        const char *username; /* "<expiry>:<salt>" */
        const char *password;
        const char *realm;   /* NULL: "firezone" */
        uint64_t expires_at; /* monotonic µs (fzd_ice_unix_to_monotonic()); 0: unknown */
} FzdIceRelay;

/* Where WireGuard sends to reach a peer over the selected pair. */
typedef struct FzdIcePath {
        FzdAddr source;   /* send on the socket of this family; from this IP if it is set */
        FzdAddr dest;     /* to this address: the peer, or the relay for a relayed path */
        uint16_t channel; /* non-zero: prefix the 4-byte ChannelData header for this channel */
        FzdAddr peer;     /* the peer's address (dest, unless relayed) */
        FzdAddr relayed;  /* our relayed address, for a relayed path */
        FzdIceCandidateType local_type, remote_type;
        uint64_t rtt; /* µs, of the last check */
        /* Both agents use this pair: the controlled side's is always nominated; the controlling
         * side's becomes so when its USE-CANDIDATE check is answered (PATH_CHANGED then). Only
         * from here on can the peer answer on this path. */
        bool nominated;
        char relay_id[FZD_ICE_RELAY_ID_MAX + 1];
} FzdIcePath;

typedef enum FzdIceEventType {
        FZD_ICE_EVENT_CANDIDATE,                 /* agent: trickle `candidate` to the peer */
        FZD_ICE_EVENT_CANDIDATE_INVALIDATED,     /* agent: withdraw `candidate` */
        FZD_ICE_EVENT_CONNECTED,                 /* agent: a path exists now: `path` */
        FZD_ICE_EVENT_PATH_CHANGED,              /* agent: a better (or the only remaining) pair: `path` */
        FZD_ICE_EVENT_DISCONNECTED,              /* agent: no path any more; it may come back */
        FZD_ICE_EVENT_FAILED,                    /* agent: gave up (`failure`): remove it */
        FZD_ICE_EVENT_RELAY_READY,               /* relay `relay_id`: allocation made, `addr` relayed */
        FZD_ICE_EVENT_RELAY_CREDENTIALS_EXPIRED, /* relay `relay_id`: expires_at passed */
        FZD_ICE_EVENT_RELAY_FAILED,              /* relay `relay_id` (`turn_failure`, `error`): removed */
        FZD_ICE_EVENT_NO_RELAYS,                 /* the last relay failed: fresh ones are needed */
        _FZD_ICE_EVENT_MAX,
} FzdIceEventType;

typedef struct FzdIceEvent {
        FzdIceEventType type;
        FzdIceAgent *agent; /* agent events; valid until fzd_ice_remove_agent() */
        void *userdata;     /* of the agent */
        char candidate[FZD_ICE_CANDIDATE_MAX];
        FzdIcePath path;
        FzdIceFailure failure;
        char relay_id[FZD_ICE_RELAY_ID_MAX + 1];
        FzdAddr addr;
        FzdTurnFailure turn_failure;
        int error;
} FzdIceEvent;

typedef enum FzdIceInput {
        FZD_ICE_INPUT_NOT_ICE,   /* not STUN/TURN: WireGuard's, as received */
        FZD_ICE_INPUT_CONSUMED,  /* STUN/TURN, handled (or dropped as bad) */
        FZD_ICE_INPUT_UNWRAPPED, /* WireGuard's, unwrapped from a relay: see FzdIceUnwrapped */
} FzdIceInput;

typedef struct FzdIceUnwrapped {
        FzdAddr peer;    /* who sent it, behind the relay */
        FzdAddr relayed; /* our relayed address it was sent to */
        FzdAddr relay;   /* the relay's address */
        uint16_t channel;
        const uint8_t *data; /* points into the input buffer */
        size_t len;
} FzdIceUnwrapped;

typedef struct FzdIceStats {
        uint64_t inputs_turn;      /* TURN/STUN from relays */
        uint64_t inputs_unwrapped; /* WireGuard through relays */
        uint64_t inputs_ice;       /* connectivity checks */
        uint64_t inputs_other;     /* WireGuard direct */
        uint64_t dropped;          /* STUN for nobody, from a removed relay, malformed */
        uint64_t relayed_dropped;  /* checks from a relayed candidate without a channel yet */
} FzdIceStats;

int fzd_ice_new(const FzdIceConfig *c, FzdIce **ret);
FzdIce *fzd_ice_free(FzdIce *ice);

/* Relays. Keyed by (id, address family): the portal sends one entry per family. Returns 1 if
 * added or its credentials/address changed, 0 if nothing changed, or -EINVAL, -ENOSPC. */
int fzd_ice_upsert_relay(FzdIce *ice, const FzdIceRelay *r, uint64_t now);
/* relays_presence.disconnected_ids: every family of that id. 0, or -ENOENT. */
int fzd_ice_remove_relay(FzdIce *ice, const char *id, uint64_t now);
/* After the local sockets changed (roaming, Reconnect()): every allocation starts again from
 * the Binding, keeping the credentials (as Firezone's Node::reset). Agents are left alone;
 * the caller replaces them. */
void fzd_ice_reset(FzdIce *ice, uint64_t now);
/* Shutdown: deletes every TURN allocation (Refresh with LIFETIME 0; fzd_turn_release()). Send
 * what fzd_ice_poll_transmit() then has, and free the node; nothing else is sent. */
void fzd_ice_release(FzdIce *ice, uint64_t now);

/* The addresses (IP and port) of the local sockets, as host candidates. Replaces the previous
 * set: gone ones are withdrawn from every agent, new ones announced. -EINVAL for an unspecified
 * address, -ENOSPC past FZD_ICE_MAX_HOSTS. */
int fzd_ice_set_host_candidates(FzdIce *ice, const FzdAddr *addrs, size_t n, uint64_t now);

/* Agents. c->log and zero timings are taken from the FzdIceConfig. The new agent gets every
 * host and server-reflexive candidate and the relayed candidates of one relay (the one with
 * the lowest RTT, as Firezone samples one per connection). */
int fzd_ice_add_agent(FzdIce *ice, const FzdIceAgentConfig *c, void *userdata, uint64_t now,
                      FzdIceAgent **ret);
void fzd_ice_remove_agent(FzdIce *ice, FzdIceAgent *a);
/* Trickled candidates from the peer (SDP strings); for the remote's non-private candidates a
 * TURN channel is bound in advance on the agent's relay. 0, or -EINVAL with a reason. */
int fzd_ice_add_remote_candidate(FzdIce *ice, FzdIceAgent *a, const char *sdp, uint64_t now,
                                 const char **ret_reason);
int fzd_ice_remove_remote_candidate(FzdIce *ice, FzdIceAgent *a, const char *sdp, uint64_t now,
                                    const char **ret_reason);
/* 0, or -ENOENT when the agent has no usable path. */
int fzd_ice_get_path(FzdIce *ice, FzdIceAgent *a, FzdIcePath *ret);
size_t fzd_ice_count_agents(const FzdIce *ice);

FzdIceInput fzd_ice_handle_input(FzdIce *ice, uint64_t now, const FzdAddr *local, const FzdAddr *from,
                                 const uint8_t *buf, size_t len, FzdIceUnwrapped *ret);
bool fzd_ice_poll_transmit(FzdIce *ice, FzdIceTransmit *ret);
bool fzd_ice_poll_event(FzdIce *ice, FzdIceEvent *ret);
uint64_t fzd_ice_poll_timeout(const FzdIce *ice);
void fzd_ice_handle_timeout(FzdIce *ice, uint64_t now);

/* Whether from is a relay we use (or used: late packets from removed relays are dropped). */
bool fzd_ice_is_relay(const FzdIce *ice, const FzdAddr *from);
/* The TURN client of a relay, for inspection (tests, the tool); NULL if none. */
FzdTurn *fzd_ice_get_turn(FzdIce *ice, const char *id, int family);
const FzdIceStats *fzd_ice_get_stats(const FzdIce *ice);

const char *fzd_ice_event_to_string(FzdIceEventType t);
