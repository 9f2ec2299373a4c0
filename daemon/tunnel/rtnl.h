/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* rtnetlink messages for links, addresses, routes and policy rules: builders that append a
 * request to a batch, and parsers that validate every attribute before reading it (used
 * for dumps, monitor events, and to describe our own requests in error messages). */

#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "cidr.h"
#include "netlink.h"

/* ---- links (rtnl-link.c) */
typedef struct FzdRtnlLink {
        int ifindex;
        unsigned flags; /* IFF_* */
        char ifname[IF_NAMESIZE];
        char kind[32]; /* IFLA_INFO_KIND ("tun", "dummy", …) or "" */
        uint32_t mtu;  /* 0 if absent */
} FzdRtnlLink;

/* Sets MTU and brings the link up. */
int fzd_rtnl_put_link_up(FzdNlBatch *b, int ifindex, uint32_t mtu);
int fzd_rtnl_put_link_delete(FzdNlBatch *b, int ifindex);
/* Builds an RTM_GETLINK request for one name into buf (FZD_NL_REQUEST_MAX bytes). */
struct nlmsghdr *fzd_rtnl_link_get_by_name(void *buf, const char *ifname);
int fzd_rtnl_parse_link(const struct nlmsghdr *nlh, FzdRtnlLink *ret);

/* ---- addresses (rtnl-addr.c) */
typedef struct FzdRtnlAddr {
        int ifindex;
        FzdCidr local; /* IFA_LOCAL, or IFA_ADDRESS when there is no IFA_LOCAL */
        uint32_t flags;
} FzdRtnlAddr;

/* type: RTM_NEWADDR (create or replace) or RTM_DELADDR. */
int fzd_rtnl_put_addr(FzdNlBatch *b, uint16_t type, int ifindex, const FzdCidr *addr);
/* A DNS sentinel as a local address (/32, /128) that the host answers on but never picks as
 * a source: IPv4 with scope host; IPv6 deprecated (preferred lifetime 0), without DAD and
 * without a prefix route. type: RTM_NEWADDR or RTM_DELADDR. */
int fzd_rtnl_put_sentinel_addr(FzdNlBatch *b, uint16_t type, int ifindex, const FzdCidr *addr);
int fzd_rtnl_parse_addr(const struct nlmsghdr *nlh, FzdRtnlAddr *ret);

/* ---- routes (rtnl-route.c) */
typedef struct FzdRtnlRoute {
        FzdCidr dst; /* family and prefix length always set; address zero if absent */
        uint32_t table;
        uint8_t type, scope, protocol, tos;
        uint32_t rtm_flags;
        int oif;           /* 0 if absent */
        uint32_t priority; /* 0 if absent */
        bool has_gateway;
        union {
                struct in_addr in;
                struct in6_addr in6;
        } gateway;
} FzdRtnlRoute;

/* A device route in table via ifindex. RTM_NEWROUTE replaces an existing route with the
 * same key (idempotent); RTM_DELROUTE ignores a route that is already gone. */
int fzd_rtnl_put_route(FzdNlBatch *b, uint16_t type, int ifindex, uint32_t table, const FzdCidr *dst);
/* A delete for a route seen in a dump (same key: table, prefix, tos, metric, device). */
int fzd_rtnl_put_route_delete_like(FzdNlBatch *b, const FzdRtnlRoute *route);
/* A dump request for routes of one family in one table (the kernel filters by table
 * under strict checking; callers filter again). */
struct nlmsghdr *fzd_rtnl_route_dump_request(void *buf, int family, uint32_t table);
int fzd_rtnl_parse_route(const struct nlmsghdr *nlh, FzdRtnlRoute *ret);

/* ---- policy rules (rtnl-rule.c) */
typedef struct FzdRtnlRule {
        int family;
        uint8_t action;
        uint32_t flags; /* FIB_RULE_* (FIB_RULE_INVERT) */
        uint32_t table;
        uint32_t priority;
        bool has_priority;
        uint32_t fwmark, fwmask;
        bool has_fwmark;
} FzdRtnlRule;

/* "not fwmark MARK/0xffffffff lookup TABLE priority PRIORITY": everything but packets
 * carrying mark looks up table first. RTM_NEWRULE fails with EEXIST (ignored) if the
 * same rule exists. */
int fzd_rtnl_put_rule(FzdNlBatch *b, uint16_t type, int family, uint32_t priority, uint32_t table, uint32_t fwmark);
struct nlmsghdr *fzd_rtnl_rule_dump_request(void *buf, int family);
int fzd_rtnl_parse_rule(const struct nlmsghdr *nlh, FzdRtnlRule *ret);

/* ---- descriptions (rtnl-describe.c) */
/* What a request does, for error messages: "add route 10.0.0.0/8 to table 7946". */
void fzd_rtnl_describe(const struct nlmsghdr *nlh, char *buf, size_t size);
const char *fzd_family_name(int family); /* "IPv4", "IPv6", "family N" is not returned: "unknown" */
