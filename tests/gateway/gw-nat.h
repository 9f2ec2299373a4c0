/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The DNS-resource NAT's flows: a packet from a client to a proxy IP goes out to the real
 * address the proxy IP maps to (ports and ICMP ids kept), and the answer — from the real
 * address, to the client — must come back from the proxy IP the client used. Several proxy
 * IPs may map to one real address (round-robin over fewer addresses), so the way back is
 * found per flow, not per address: (family, protocol, client address and port or ICMP id,
 * real address and port) → proxy IP. Like Firezone's NatTable, with its lifetimes: TCP
 * 2 h 4 min, UDP and ICMP 2 min, 1 min while unanswered, 5 s after FIN both ways, at once
 * after RST. Pure and unlocked; the gateway holds it under a mutex. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FZGW_NAT_TCP_TTL         (2 * 3600 + 4 * 60)
#define FZGW_NAT_UDP_TTL         120
#define FZGW_NAT_ICMP_TTL        120
#define FZGW_NAT_UNCONFIRMED_TTL 60
#define FZGW_NAT_FIN_TTL         5

typedef struct FzgwNatKey {
        uint8_t family, proto;
        uint16_t client_port; /* TCP/UDP source port of the client, ICMP echo id; 0 otherwise */
        uint16_t server_port; /* TCP/UDP port of the resource; 0 otherwise */
        uint8_t client[16];
        uint8_t real[16];
} FzgwNatKey;

typedef struct FzgwNatFlow {
        FzgwNatKey key;
        uint8_t proxy[16];
        uint64_t owner;                             /* the client's cookie */
        uint64_t created, last_request, last_reply; /* seconds on the caller's clock; 0: none */
        bool fin_request, fin_reply, rst;
        bool announced; /* the caller reported it (flow events) */
        uint64_t request_bytes, reply_bytes;
} FzgwNatFlow;

typedef struct FzgwNat FzgwNat;

/* max: flows at most (a client-allocatable resource: requests past it are refused). */
int fzgw_nat_new(size_t max, FzgwNat **ret);
FzgwNat *fzgw_nat_free(FzgwNat *n);

/* A packet of bytes from the client (key) to the proxy IP `proxy`: the flow is made or
 * refreshed (a flow of the same key through another proxy IP is replaced: the newest wins).
 * tcp_flags: the packet's (FZGW_TCP_*). 1 made, 0 refreshed, -ENOSPC full, -ENOMEM. */
int fzgw_nat_request(FzgwNat *n, const FzgwNatKey *key, const uint8_t proxy[16], uint64_t owner,
                     uint64_t now, uint8_t tcp_flags, size_t bytes);
/* An answer (key as the request's): the proxy IP to put back as its source, or false. */
bool fzgw_nat_reply(FzgwNat *n, const FzgwNatKey *key, uint64_t now, uint8_t tcp_flags, size_t bytes,
                    uint8_t ret_proxy[16]);

/* Called for flows that end (expiry, fzgw_nat_forget()) before they go. */
typedef void (*FzgwNatEndFn)(void *userdata, const FzgwNatFlow *flow);
/* Removes flows whose time is up; returns how many. */
size_t fzgw_nat_expire(FzgwNat *n, uint64_t now, FzgwNatEndFn fn, void *userdata);
/* Removes the flows of a client (proxy NULL) or of one of its proxy IPs. */
size_t fzgw_nat_forget(FzgwNat *n, uint64_t owner, int family, const uint8_t *proxy, FzgwNatEndFn fn,
                       void *userdata);
size_t fzgw_nat_count(const FzgwNat *n);
/* Visits every flow (e.g. to announce new ones); fn may set `announced`. */
void fzgw_nat_foreach(FzgwNat *n, void (*fn)(void *userdata, FzgwNatFlow *flow), void *userdata);
/* When the flow goes unless traffic comes (for tests). */
uint64_t fzgw_nat_flow_deadline(const FzgwNatFlow *f);
