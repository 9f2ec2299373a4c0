/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The client's side of its connections to gateways (DESIGN §7.2–7.4): which resource a
 * packet from the TUN belongs to, authorization through the portal, one WireGuard peer and
 * one ICE agent per gateway, the DNS-resource NAT handshake in the tunnel, filters, and the
 * status of sites and resources. It owns the data plane (daemon/dataplane, the fast path)
 * and the ICE node (daemon/ice); both run their control side on the caller's sd-event loop.
 *
 * Everything it says to the portal goes out through FzdConnEvents; everything the portal
 * says about connections comes in through the fzd_connections_*() calls below. It parses
 * the packets of the TUN and of peers, so it lives on the engine side of the engine ↔ os
 * split: the TUN fd and the UDP sockets (which carry SO_MARK) come from the OS layer. */

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "cidr.h"
#include "gateway-messages.h"
#include "interface-config.h"
#include "macro.h"
#include "resource.h"

typedef struct FzdConnections FzdConnections;
typedef struct FzdProxyIps FzdProxyIps;

#define FZD_CONN_ID_MAX          FZD_MSG_ID_MAX
#define FZD_CONN_PENDING_PACKETS 128 /* per resource, while authorization is requested */
#define FZD_CONN_HELD_PACKETS    32  /* per name of a DNS resource, until the gateway's NAT is active */
#define FZD_CONN_REQUEST_INTERVAL_USEC (2 * USEC_PER_SEC)
#define FZD_CONN_NAT_RESEND_USEC       (2 * USEC_PER_SEC)
#define FZD_CONN_OFFLINE_USEC          (5 * 60 * USEC_PER_SEC)
#define FZD_CONN_UDP_PORT        52625

typedef struct FzdConnEvents {
        /* Ask the portal for a gateway of this resource (request_authorization). */
        void (*request_authorization)(void *userdata, const char *resource_id, const char *const *connected_gateway_ids,
                                      size_t n_connected);
        /* Our ICE candidates for a gateway (new_gateway_ice_candidates, or
         * invalidate_gateway_ice_candidates with invalidate). */
        void (*candidates)(void *userdata, const char *gateway_id, const char *const *candidates, size_t n,
                           bool invalidate);
        /* Every relay failed: the portal should send fresh ones. */
        void (*no_relays)(void *userdata);
        /* The status of some resources changed (fzd_connections_resource_status()). */
        void (*status_changed)(void *userdata);
} FzdConnEvents;

typedef struct FzdConnParams {
        int tun_fd;          /* the TUN (IFF_VNET_HDR if tun_vnet_hdr); kept by the caller */
        bool tun_vnet_hdr;
        int udp4_fd, udp6_fd; /* bound, non-blocking, SO_MARK'ed; -1 for a family not in use; kept by the caller */
        const uint8_t *private_key; /* 32 bytes: the key whose public half the portal knows */
        FzdProxyIps *proxy_ips;     /* the DNS stub's table (proxy IP → name); may be NULL */
        const char *tun_name;       /* excluded from host candidates */
} FzdConnParams;

int fzd_connections_new(sd_event *event, const FzdConnParams *params, const FzdConnEvents *events, void *userdata,
                        FzdConnections **ret);
/* Tears every connection down (workers joined, peers and routes gone). */
FzdConnections *fzd_connections_free(FzdConnections *c);
DEFINE_POINTER_CLEANUP_FUNC(FzdConnections, fzd_connections_free);

/* Our tunnel addresses (packets from anything else are not ours to send). */
void fzd_connections_set_interface(FzdConnections *c, const FzdInterfaceConfig *config);

/* Resources: a copy is kept (type, address, sites, filters, ip_stack). */
int fzd_connections_resource_upsert(FzdConnections *c, const FzdResource *r);
void fzd_connections_resource_remove(FzdConnections *c, const char *id);
void fzd_connections_resources_clear(FzdConnections *c);
/* Removes every resource for which keep() says false (after init replaced the list). */
/* Room for n resources in all before a known series of upserts. */
int fzd_connections_resources_reserve(FzdConnections *c, size_t n);
void fzd_connections_resources_retain(FzdConnections *c, bool (*keep)(void *userdata, const char *id), void *userdata);
void fzd_connections_set_internet_enabled(FzdConnections *c, bool enabled);

/* The portal's answers. */
int fzd_connections_authorization_created(FzdConnections *c, const FzdAuthorization *a);
void fzd_connections_authorization_failed(FzdConnections *c, const char *resource_id, const char *reason);
/* Candidate strings of a gateway (ice_candidates / invalidate_ice_candidates); bad ones are
 * skipped with a rate-limited log line. */
void fzd_connections_remote_candidates(FzdConnections *c, const char *gateway_id, const char *const *candidates,
                                       size_t n, bool invalidate);
void fzd_connections_relay_upsert(FzdConnections *c, const FzdRelay *relay);
void fzd_connections_relay_remove(FzdConnections *c, const char *id);

/* The portal is joined (again): packets that waited for an authorization while it was away
 * ask now, not at their next 2-s turn. */
void fzd_connections_portal_up(FzdConnections *c);

/* Status. */
FzdResourceStatus fzd_connections_resource_status(const FzdConnections *c, const char *resource_id);
FzdResourceStatus fzd_connections_site_status(const FzdConnections *c, const char *site_id);

typedef struct FzdConnStats {
        unsigned gateways;         /* with a WireGuard session now */
        uint64_t rx_bytes, tx_bytes; /* through the tunnel, since the session started */
        uint64_t icmp_prohibited;  /* packets refused by a filter */
        uint64_t dropped_unknown;  /* packets to no resource */
} FzdConnStats;
void fzd_connections_get_stats(FzdConnections *c, FzdConnStats *ret);
