/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What the stub does with one query (DESIGN §7.1), without any I/O:
 *   - malformed: FORMERR (or dropped when it is no query at all); other opcodes NOTIMP;
 *     EDNS versions above 0 BADVERS;
 *   - use-application-dns.net (Firefox's canary for DNS over HTTPS): NXDOMAIN;
 *   - PTR of a proxy IP: the name it stands for;
 *   - a name matching a DNS resource: answered here and never sent upstream — A and AAAA
 *     with the name's proxy IPs (given at the first such query), or nothing for a family
 *     the resource's ip_stack excludes; HTTPS and every other type empty NOERROR (until
 *     the data plane can ask the resource's site); TTL 1 s;
 *   - everything else: forwarded to the upstream of the sentinel it came to.
 * The caller (dns-stub.c) owns the sockets; this owns nothing. Fuzzed
 * (tests/fuzz/fuzz-dns-query.c). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns-resources.h"
#include "dns-wire.h"
#include "proxy-ips.h"

#define FZD_DNS_RESOURCE_TTL 1
#define FZD_DNS_DOH_CANARY   "use-application-dns.net"

typedef enum FzdDnsVerdict {
        FZD_DNS_VERDICT_DROP,    /* say nothing */
        FZD_DNS_VERDICT_ANSWER,  /* send the answer written to out */
        FZD_DNS_VERDICT_FORWARD, /* send the query (with an ID of ours) upstream */
} FzdDnsVerdict;

typedef enum FzdDnsAnswerKind {
        FZD_DNS_ANSWER_NONE,
        FZD_DNS_ANSWER_FORMERR,
        FZD_DNS_ANSWER_NOTIMP,
        FZD_DNS_ANSWER_BADVERS,
        FZD_DNS_ANSWER_CANARY,
        FZD_DNS_ANSWER_PTR,
        FZD_DNS_ANSWER_RESOURCE,
        FZD_DNS_ANSWER_FULL, /* the proxy IP table is full: SERVFAIL */
} FzdDnsAnswerKind;

typedef struct FzdDnsDecision {
        FzdDnsVerdict verdict;
        FzdDnsAnswerKind kind;   /* why, for counters and debug lines */
        FzdDnsQuery query;       /* valid unless the verdict is DROP */
        size_t answer_len;       /* ANSWER: bytes in out */
        const char *resource_id; /* RESOURCE: the matching resource (valid until the set changes) */
} FzdDnsDecision;

/* msg/len: one query as received; tcp: whether it came over TCP (no size limit but
 * 65535) or UDP (512, or the client's EDNS size). out must hold FZD_DNS_MAX_MESSAGE
 * bytes... or at least 1024: the stub's own answers are always small. */
void fzd_dns_decide(FzdDnsResources *resources, FzdProxyIps *proxy_ips, const uint8_t *msg, size_t len,
                    bool tcp, uint8_t *out, size_t out_size, FzdDnsDecision *ret);

/* An error answer (SERVFAIL when there is no upstream or it failed) to a query that
 * fzd_dns_decide() said to forward. Returns the length, or < 0. */
ssize_t fzd_dns_error_answer(const uint8_t *msg, const FzdDnsQuery *q, unsigned rcode, bool tcp,
                             uint8_t *out, size_t out_size);

/* The largest answer the client of q can take. */
size_t fzd_dns_max_answer(const FzdDnsQuery *q, bool tcp);

/* "4.3.2.1.in-addr.arpa" / 32 nibbles ".ip6.arpa" → address. Returns AF_INET, AF_INET6,
 * or 0 if name is no reverse name of one address. */
int fzd_dns_reverse_name(const char *name, void *ret_addr);
