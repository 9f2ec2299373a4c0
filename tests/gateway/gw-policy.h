/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What a client may reach through the gateway (tests/gateway/README.md): its authorizations
 * (resources: CIDR, DNS pattern or the Internet, each with its filters) and the proxy IPs it
 * announced for DNS resources, and the decision for one packet from it. Pure; the gateway
 * keeps one FzgwPolicy per client under a lock that the workers read under. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"
#include "dns-pattern.h"
#include "gw-packet.h"

#define FZGW_ID_MAX        128 /* resource and client ids (the portal's are UUIDs) */
#define FZGW_MAX_FILTERS   64
#define FZGW_MAX_AUTHS     256  /* authorizations per client */
#define FZGW_MAX_MAPPINGS  1024 /* proxy IPs per client */
#define FZGW_MAX_PROXY_IPS 8    /* per announcement (Firezone: 4 or 8) */

typedef enum FzgwResourceType {
        FZGW_RESOURCE_CIDR,
        FZGW_RESOURCE_DNS,
        FZGW_RESOURCE_INTERNET,
        _FZGW_RESOURCE_TYPE_MAX,
} FzgwResourceType;

/* {protocol tcp|udp, port_range_start, port_range_end} or {protocol icmp}. */
typedef struct FzgwFilter {
        uint8_t proto; /* FZGW_PROTO_TCP, FZGW_PROTO_UDP or FZGW_PROTO_ICMP (ICMPv6 too) */
        uint16_t start, end;
} FzgwFilter;

typedef struct FzgwResource {
        char id[FZGW_ID_MAX + 1];
        FzgwResourceType type;
        FzdCidr cidr;          /* CIDR */
        FzdDnsPattern pattern; /* DNS (compiled; owned) */
        char address[256];     /* as the portal sent it ("" for the Internet) */
        FzgwFilter filters[FZGW_MAX_FILTERS];
        size_t n_filters; /* 0: everything */
} FzgwResource;

/* Copies src into dst (the pattern compiled anew). -ENOMEM. */
int fzgw_resource_copy(FzgwResource *dst, const FzgwResource *src);
void fzgw_resource_done(FzgwResource *r);
const char *fzgw_resource_type_to_string(FzgwResourceType t);
int fzgw_resource_type_from_string(const char *s); /* or -EINVAL */

/* Whether the filters let the packet through (none: everything). */
bool fzgw_filters_allow(const FzgwFilter *f, size_t n, const FzgwPacket *pi);

typedef struct FzgwAuthorization {
        FzgwResource resource;
        uint64_t expires_at; /* Unix seconds; 0: never */
} FzgwAuthorization;

/* A proxy IP the client announced for a name of a DNS resource, and where it leads. */
typedef struct FzgwMapping {
        FzgwIp proxy;
        FzgwIp real; /* family 0: the name has no address of this family */
        char resource_id[FZGW_ID_MAX + 1];
        char domain[256];
} FzgwMapping;

typedef struct FzgwPolicy {
        FzgwAuthorization *auths;
        size_t n_auths;
        FzgwMapping *maps;
        size_t n_maps;
} FzgwPolicy;

void fzgw_policy_done(FzgwPolicy *p);
FzgwAuthorization *fzgw_policy_find(const FzgwPolicy *p, const char *resource_id);
/* Adds the authorization or replaces the one of the same resource id. -ENOSPC, -ENOMEM. */
int fzgw_policy_authorize(FzgwPolicy *p, const FzgwResource *r, uint64_t expires_at);
/* Removes the authorization and the proxy IPs announced for it. false if there was none. */
bool fzgw_policy_revoke(FzgwPolicy *p, const char *resource_id);
/* New filters for the authorization of that resource, if any. */
bool fzgw_policy_update_filters(FzgwPolicy *p, const FzgwResource *r);
/* Replaces the mapping of each proxy IP (of any earlier announcement) with this one.
 * -ENOSPC past FZGW_MAX_MAPPINGS. */
int fzgw_policy_map(FzgwPolicy *p, const FzgwMapping *maps, size_t n);
/* Drops every mapping (Firezone's goodbye), or those of one resource. Returns how many. */
size_t fzgw_policy_unmap(FzgwPolicy *p, const char *resource_id);
const FzgwMapping *fzgw_policy_find_mapping(const FzgwPolicy *p, const FzgwIp *proxy);
/* Whether some mapping leads to this address (the source of an answer to translate back). */
bool fzgw_policy_is_real(const FzgwPolicy *p, const FzgwIp *real);

typedef enum FzgwVerdict {
        FZGW_VERDICT_ALLOW,        /* to a CIDR resource or the Internet */
        FZGW_VERDICT_ALLOW_NAT,    /* to a proxy IP: rewrite the destination to *ret_map's real */
        FZGW_VERDICT_FILTERED,     /* inside an authorized resource, but its filters refuse it */
        FZGW_VERDICT_UNAUTHORIZED, /* inside no authorized resource (or a proxy IP without an address) */
} FzgwVerdict;

/* The decision for a packet from the client (its source was checked by the data plane):
 * proxy IPs first, then the most specific authorized CIDR resource (the Internet resource
 * is the least specific). *ret_auth: the authorization that decided (NULL if none). */
FzgwVerdict fzgw_policy_check(const FzgwPolicy *p, const uint8_t *packet, const FzgwPacket *pi,
                              const FzgwAuthorization **ret_auth, const FzgwMapping **ret_map);
const char *fzgw_verdict_to_string(FzgwVerdict v);
