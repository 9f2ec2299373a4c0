/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The test gateway's data plane (tests/gateway/README.md): the orders of the controller in,
 * events out; per authorized client a WireGuard peer (responder) and an ICE agent
 * (controlled) on the daemon's engine; authorization, filters and the DNS-resource NAT on
 * the data plane's workers; forwarding through the kernel.
 *
 * Threads: everything here runs on the caller's sd-event loop, except the packet hooks
 * (inbound: client → resources, outbound: resources → client), which run on the data
 * plane's workers and read the clients' policies under a read lock (the loop writes them
 * under the write lock) and the NAT's flows under a mutex; and getaddrinfo(), which runs on
 * the resolver's threads (gw-resolver.h). */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "gw-packet.h"

#define FZGW_VERSION             "0.1.0"
#define FZGW_MAX_HOST_CANDIDATES 8

typedef struct FzgwGateway FzgwGateway;

typedef struct FzgwGatewayConfig {
        const char *tun_name; /* "tun-firezone" */
        unsigned mtu;         /* 1280 */
        uint16_t port;        /* 52625, else an ephemeral one */
        /* Host candidates besides the address of each family's default route. */
        FzgwIp host_candidates[FZGW_MAX_HOST_CANDIDATES];
        size_t n_host_candidates;
        bool all_interfaces; /* every global address but the TUN's, not only the default route's */
        bool disable_offloads;
        bool ice_debug; /* the ICE node's debug lines */
} FzgwGatewayConfig;

/* Receives every line to write, in order (ownership of the object passes). */
typedef void (*FzgwEmitFn)(void *userdata, json_object *line);

/* Creates the TUN (down, no addresses until init), the sockets, the key, the data plane and
 * the ICE node on event. */
int fzgw_gateway_new(sd_event *event, const FzgwGatewayConfig *config, FzgwEmitFn emit, void *userdata,
                     FzgwGateway **ret);
/* Closes every connection ("closed" events), deletes the TURN allocations, removes the TUN
 * (with its addresses and routes) and frees everything. */
FzgwGateway *fzgw_gateway_free(FzgwGateway *g);

/* The first line: {"event": "ready", "public_key", "version", …}. */
json_object *fzgw_gateway_ready_event(FzgwGateway *g);
/* One order line (without its newline): its answer, if it has an id, and whatever events
 * it causes go out through emit. */
void fzgw_gateway_handle_line(FzgwGateway *g, const char *line, size_t len);
