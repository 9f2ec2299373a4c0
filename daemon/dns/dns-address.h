/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Addresses as DNS control sees them: the sentinels we hand to the system, and the
 * resolvers the system already had. */

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FZD_DNS_MAX_SENTINELS 16 /* one per upstream resolver; the portal sends a handful */
#define FZD_DNS_NAME_MAX      253

typedef struct FzdDnsAddress {
        int family; /* AF_INET or AF_INET6 */
        union {
                struct in_addr in;
                struct in6_addr in6;
        } addr;
} FzdDnsAddress;

typedef enum FzdDnsOverTls {
        FZD_DNS_OVER_TLS_NO,
        FZD_DNS_OVER_TLS_OPPORTUNISTIC,
        FZD_DNS_OVER_TLS_YES,
} FzdDnsOverTls;

/* A resolver the system used before (and besides) us: what our DNS proxy forwards
 * queries to that are not for resources. */
typedef struct FzdDnsResolver {
        FzdDnsAddress address;
        uint16_t port;                          /* 0: the default (53, or 853 with DNS over TLS) */
        int ifindex;                            /* 0: system-wide; else the link it is configured on */
        char server_name[FZD_DNS_NAME_MAX + 1]; /* TLS server name (SNI), "" if none */
        FzdDnsOverTls dns_over_tls;             /* how resolved talks to it */
} FzdDnsResolver;

/* The sentinel ranges of DESIGN §6: 100.100.111.0/24 and fd00:2021:1111:8000:100:100:111:0/120. */
bool fzd_dns_address_is_sentinel(const FzdDnsAddress *a);
bool fzd_dns_address_equal(const FzdDnsAddress *a, const FzdDnsAddress *b);

/* Parses a bare IPv4 or IPv6 address (no prefix, no zone). Returns 0 or -EINVAL. */
int fzd_dns_address_from_string(const char *s, FzdDnsAddress *ret);
/* buf must hold INET6_ADDRSTRLEN bytes. Returns buf. */
const char *fzd_dns_address_to_string(const FzdDnsAddress *a, char *buf, size_t size);

const char *fzd_dns_over_tls_to_string(FzdDnsOverTls t);
/* resolved's spelling: "yes", "opportunistic", "no" (and "" = not set, as "no"). */
int fzd_dns_over_tls_from_string(const char *s, FzdDnsOverTls *ret);

/* A search domain from the portal goes into resolv.conf and to resolved: only a plain
 * DNS name is accepted (letters, digits, '-', '_', dots between labels of 1..63 bytes,
 * 253 bytes at most, one optional trailing dot). Returns 0 or -EINVAL. */
int fzd_dns_name_check(const char *name);

/* A bounded, printable copy of untrusted text for a log line (non-printable bytes become
 * '?', at most 64 of them shown). Returns buf. */
#define FZD_DNS_PRINTABLE_MAX 68
const char *fzd_dns_printable(const char *s, char buf[static FZD_DNS_PRINTABLE_MAX]);

bool fzd_dns_resolvers_equal(const FzdDnsResolver *a, size_t n_a, const FzdDnsResolver *b, size_t n_b);
