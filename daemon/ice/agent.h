/* SPDX-License-Identifier: Apache-2.0 */
/* A full ICE agent (RFC 8445) for one peer, controlling or controlled, always trickling
 * (RFC 8838), sans-IO. It knows candidates and connectivity checks, not sockets or relays: the
 * node (ice.h) adds local candidates from host addresses and TURN allocations, feeds it STUN,
 * and wraps what it sends from a relayed candidate into ChannelData.
 *
 * Firezone's behaviour (snownet on str0m), which this follows:
 *   - credentials from the portal: the client's local ufrag/pwd are client_ice_credentials
 *     {username, password}, the remote ones gateway_ice_credentials (the gateway swaps them);
 *   - checks: RTO 250 ms doubling to 1.5 s, 12 retransmissions; a pair unanswered for
 *     250+500+1000+9×1500+1500 ms = 16.5 s fails (the "ICE timeout");
 *   - the controlling agent nominates the best succeeded pair at once (USE-CANDIDATE) and
 *     nominates again when a better pair succeeds later; the controlled agent sends on the
 *     best pair the peer nominated;
 *   - the selected pair is checked every 1.5 s while traffic flows; after 20 s without traffic
 *     the connection is idle: checks every 25 s, 4 retransmissions (timeout 100 s);
 *   - all pairs failed → disconnected; 2 s later, unless a pair came back, failed;
 *     no remote candidate within 10 s → failed.
 * Differences are listed in docs/ice.md. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "candidate.h"
#include "ice-common.h"
#include "stun.h"

#define FZD_ICE_MAX_LOCAL_CANDIDATES  16
#define FZD_ICE_MAX_REMOTE_CANDIDATES 32
#define FZD_ICE_MAX_PAIRS             128
#define FZD_ICE_CREDENTIAL_MAX        256

typedef struct FzdIceTiming {
        uint64_t initial_rto;     /* first retransmission, µs */
        uint64_t max_rto;         /* retransmissions back off to this; the selected pair's check interval */
        unsigned max_retransmits; /* the ICE timeout is computed from these three */
} FzdIceTiming;

/* Firezone's client: IceConfig::client_default() and client_idle(). */
#define FZD_ICE_TIMING_ACTIVE ((FzdIceTiming){FZD_USEC(250), FZD_USEC(1500), 12})
#define FZD_ICE_TIMING_IDLE   ((FzdIceTiming){FZD_SEC(25), FZD_SEC(25), 4})

/* How long a pair may go unanswered before it fails (str0m's formula): 16.5 s for ACTIVE,
 * 100 s for IDLE. */
uint64_t fzd_ice_timing_timeout(const FzdIceTiming *t);

typedef struct FzdIceAgentConfig {
        bool controlling;
        const char *local_ufrag, *local_pwd;   /* client: client_ice_credentials */
        const char *remote_ufrag, *remote_pwd; /* client: gateway_ice_credentials */
        uint64_t ta;                           /* pacing of new checks; 0: Firezone's (none) */
        FzdIceTiming active, idle;             /* zero: the defaults above */
        uint64_t idle_after;                   /* 20 s */
        uint64_t candidate_timeout;            /* 10 s */
        uint64_t disconnect_grace;             /* 2 s */
        uint64_t standby_keepalive;            /* checks of valid pairs other than the selected one: 25 s */
        uint64_t tie_breaker;                  /* 0: random */
        FzdIceLog *log;                        /* borrowed, may be NULL */
} FzdIceAgentConfig;

#define FZD_ICE_DEFAULT_TA                FZD_USEC(5)
#define FZD_ICE_DEFAULT_IDLE_AFTER        FZD_SEC(20)
#define FZD_ICE_DEFAULT_CANDIDATE_TIMEOUT FZD_SEC(10)
#define FZD_ICE_DEFAULT_DISCONNECT_GRACE  FZD_SEC(2)
#define FZD_ICE_DEFAULT_STANDBY_KEEPALIVE FZD_SEC(25)
/* When the selected pair fails, standby pairs not answered since it fell silent get this
 * long to answer a fresh check before they fail too. */
#define FZD_ICE_REVALIDATE_USEC FZD_SEC(3)

typedef enum FzdIceState {
        FZD_ICE_STATE_CHECKING,     /* no pair selected yet */
        FZD_ICE_STATE_CONNECTED,    /* a selected pair: traffic can flow */
        FZD_ICE_STATE_DISCONNECTED, /* every pair failed; new candidates may still save it */
        FZD_ICE_STATE_FAILED,       /* gave up: tear the connection down */
        _FZD_ICE_STATE_MAX,
} FzdIceState;

typedef enum FzdIceFailure {
        FZD_ICE_FAILURE_NONE,
        FZD_ICE_FAILURE_TIMEOUT,       /* every pair failed (ICE timeout) and the grace passed */
        FZD_ICE_FAILURE_NO_CANDIDATES, /* the peer sent no candidate in time */
        _FZD_ICE_FAILURE_MAX,
} FzdIceFailure;

typedef struct FzdIceAgent FzdIceAgent;

/* What the agent sends: from a local candidate (relay >= 0: from the relayed candidate of that
 * relay handle, to be wrapped for it) to dest. */
typedef struct FzdIceAgentTransmit {
        FzdAddr source;
        FzdAddr dest;
        int relay;
        const uint8_t *data;
        size_t len;
} FzdIceAgentTransmit;

typedef enum FzdIceAgentEventType {
        FZD_ICE_AGENT_EVENT_CANDIDATE,             /* candidate: a local candidate to trickle */
        FZD_ICE_AGENT_EVENT_CANDIDATE_INVALIDATED, /* candidate: a local candidate to withdraw */
        FZD_ICE_AGENT_EVENT_STATE,                 /* state (and failure) changed */
        FZD_ICE_AGENT_EVENT_SELECTED, /* the selected pair changed: see fzd_ice_agent_get_selected() */
        FZD_ICE_AGENT_EVENT_NOMINATED, /* controlling: the peer accepted the selected pair's nomination */
        _FZD_ICE_AGENT_EVENT_MAX,
} FzdIceAgentEventType;

typedef struct FzdIceAgentEvent {
        FzdIceAgentEventType type;
        FzdIceState state;
        FzdIceFailure failure;
        char candidate[FZD_ICE_CANDIDATE_MAX];
} FzdIceAgentEvent;

typedef struct FzdIceSelected {
        FzdIceCandidateType local_type;
        FzdAddr local; /* the local candidate's address (relayed address for relay) */
        FzdAddr base;  /* where to send from (== local for relay) */
        int relay;     /* relay handle, or -1 */
        FzdIceCandidateType remote_type;
        FzdAddr remote; /* the peer's address */
        uint64_t rtt;   /* of the last check, µs */
        bool nominated;
} FzdIceSelected;

typedef struct FzdIceAgentStats {
        uint64_t checks_sent;
        uint64_t retransmits;
        uint64_t responses;
        uint64_t requests;       /* checks received and answered */
        uint64_t bad_requests;   /* refused: credentials, integrity, unknown local address */
        uint64_t role_conflicts; /* 487 sent or received */
        uint64_t prflx_learned;
        uint64_t pairs_failed;
        uint64_t selections; /* selected pair changes */
} FzdIceAgentStats;

int fzd_ice_agent_new(const FzdIceAgentConfig *c, uint64_t now, FzdIceAgent **ret);
FzdIceAgent *fzd_ice_agent_free(FzdIceAgent *a);

/* Local candidates (the node calls these). Host: addr == base. Server-reflexive: addr the
 * mapped address, base the local address, server the relay. Relayed: addr the relayed address,
 * relay its handle. A new candidate is paired and announced (CANDIDATE event); a redundant one
 * is ignored. Returns 0, 1 if added, or -ENOSPC, -EINVAL. */
int fzd_ice_agent_add_local(FzdIceAgent *a, FzdIceCandidateType type, const FzdAddr *addr,
                            const FzdAddr *base, const FzdAddr *server, int relay, uint64_t now);
/* Withdraws it (CANDIDATE_INVALIDATED event); pairs using it go. 0, or -ENOENT. */
int fzd_ice_agent_remove_local(FzdIceAgent *a, FzdIceCandidateType type, const FzdAddr *addr, uint64_t now);

/* Remote candidates, trickled through the portal. 0 (added, or a duplicate), or -EINVAL with
 * a reason (also for a ufrag that is not the remote's), -ENOSPC. */
int fzd_ice_agent_add_remote(FzdIceAgent *a, const char *sdp, uint64_t now, const char **ret_reason);
int fzd_ice_agent_add_remote_candidate(FzdIceAgent *a, const FzdIceCandidate *c, uint64_t now,
                                       const char **ret_reason);
/* 0, -ENOENT, or -EINVAL with a reason. */
int fzd_ice_agent_remove_remote(FzdIceAgent *a, const char *sdp, uint64_t now, const char **ret_reason);

/* Does this STUN message belong to this agent (a request to our ufrag, or a response to one of
 * our checks)? */
bool fzd_ice_agent_owns(const FzdIceAgent *a, const FzdStunMsg *m);
/* A STUN message that fzd_ice_agent_owns(). local: the address it arrived on (our relayed
 * address if it came through a relay); from: the peer's address; relay: the relay handle it came
 * through, or -1. */
void fzd_ice_agent_handle_stun(FzdIceAgent *a, uint64_t now, const FzdStunMsg *m, const FzdAddr *local,
                               const FzdAddr *from, int relay);

bool fzd_ice_agent_poll_transmit(FzdIceAgent *a, FzdIceAgentTransmit *ret);
bool fzd_ice_agent_poll_event(FzdIceAgent *a, FzdIceAgentEvent *ret);
uint64_t fzd_ice_agent_poll_timeout(const FzdIceAgent *a);
void fzd_ice_agent_handle_timeout(FzdIceAgent *a, uint64_t now);

/* WireGuard traffic to or from the peer: keeps the connection out of (or brings it back from)
 * the idle timing. */
void fzd_ice_agent_note_traffic(FzdIceAgent *a, uint64_t now);
/* Re-check pairs that use this local relayed candidate and remote address at once (the node
 * calls it when a TURN channel becomes usable). */
void fzd_ice_agent_retrigger(FzdIceAgent *a, int relay, const FzdAddr *remote, uint64_t now);

FzdIceState fzd_ice_agent_get_state(const FzdIceAgent *a);
FzdIceFailure fzd_ice_agent_get_failure(const FzdIceAgent *a);
bool fzd_ice_agent_is_idle(const FzdIceAgent *a);
bool fzd_ice_agent_is_controlling(const FzdIceAgent *a);
const char *fzd_ice_agent_get_local_ufrag(const FzdIceAgent *a);
/* 0, or -ENOENT when no pair is selected. */
int fzd_ice_agent_get_selected(const FzdIceAgent *a, FzdIceSelected *ret);
const FzdIceAgentStats *fzd_ice_agent_get_stats(const FzdIceAgent *a);
/* For tests and the tool: how many pairs, and how many in each state. */
void fzd_ice_agent_count_pairs(const FzdIceAgent *a, unsigned *ret_total, unsigned *ret_succeeded,
                               unsigned *ret_failed);

const char *fzd_ice_state_to_string(FzdIceState s);
const char *fzd_ice_failure_to_string(FzdIceFailure f);
