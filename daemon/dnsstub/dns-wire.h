/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* DNS wire format, as much as the stub needs (RFC 1035, RFC 6891): read a query's header,
 * question and EDNS OPT record; write the stub's own answers; check that an upstream's
 * answer belongs to the query it was sent for. Sans-IO: bytes in, bytes out, no
 * allocation, no logging — unit-tested and fuzzed (tests/fuzz/fuzz-dns-query.c).
 *
 * Everything read here is untrusted. Every read is bounds-checked against the message.
 * The question's name must not be compressed (a query has nothing before it to point at),
 * and the records after it are skipped without following compression pointers, so a
 * pointer loop cannot make the parser loop. Why our own code and not libldns: see
 * bench/bench-dns-wire.c and the closing note of issue #11 (ldns decodes every record
 * into heap objects; the stub needs the header, one question and the OPT record). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FZD_DNS_HEADER_SIZE 12
#define FZD_DNS_MAX_MESSAGE 65535
/* A query longer than this is refused (FORMERR): real queries are a few hundred bytes
 * even with EDNS options, and it bounds what a TCP client can make us buffer. */
#define FZD_DNS_MAX_QUERY     4096
#define FZD_DNS_NAME_WIRE_MAX 255
/* Text form of a name: "a.b.c" without the trailing dot. */
#define FZD_DNS_NAME_TEXT_MAX 253
/* What our OPT record advertises (the DNS flag day 2020 value). */
#define FZD_DNS_EDNS_UDP_SIZE 1232
/* Without EDNS a UDP answer must fit this (RFC 1035 §4.2.1). */
#define FZD_DNS_CLASSIC_UDP 512

enum {
        FZD_DNS_TYPE_A = 1,
        FZD_DNS_TYPE_CNAME = 5,
        FZD_DNS_TYPE_PTR = 12,
        FZD_DNS_TYPE_TXT = 16,
        FZD_DNS_TYPE_AAAA = 28,
        FZD_DNS_TYPE_OPT = 41,
        FZD_DNS_TYPE_HTTPS = 65,
        FZD_DNS_TYPE_ANY = 255,
};

enum {
        FZD_DNS_CLASS_IN = 1,
        FZD_DNS_CLASS_ANY = 255,
};

enum {
        FZD_DNS_RCODE_NOERROR = 0,
        FZD_DNS_RCODE_FORMERR = 1,
        FZD_DNS_RCODE_SERVFAIL = 2,
        FZD_DNS_RCODE_NXDOMAIN = 3,
        FZD_DNS_RCODE_NOTIMP = 4,
        FZD_DNS_RCODE_REFUSED = 5,
        FZD_DNS_RCODE_BADVERS = 16, /* extended: needs an OPT record */
};

/* Header flag bits (bytes 2–3 of the header, host order). */
#define FZD_DNS_FLAG_QR       0x8000u
#define FZD_DNS_FLAG_AA       0x0400u
#define FZD_DNS_FLAG_TC       0x0200u
#define FZD_DNS_FLAG_RD       0x0100u
#define FZD_DNS_FLAG_RA       0x0080u
#define FZD_DNS_FLAG_CD       0x0010u
#define FZD_DNS_OPCODE(flags) (((flags) >> 11) & 0xfu)
#define FZD_DNS_RCODE(flags)  ((flags)&0xfu)

typedef struct FzdDnsQuery {
        uint16_t id;
        uint16_t flags;
        uint16_t qtype, qclass;
        /* Offset just past the question (12 + name + 4), or 0 if the question did not parse. */
        size_t question_end;
        /* The question's name in lower case, dotted, no trailing dot ("" for the root), if
         * name_is_text; else a label holds '.', '\\', a space or a non-ASCII byte and the
         * name is never a resource name (it is forwarded as it is). */
        char name[FZD_DNS_NAME_TEXT_MAX + 1];
        bool name_is_text;
        bool has_edns;
        uint8_t edns_version;
        bool edns_do;
        uint16_t edns_udp_size; /* as the client sent it (values below 512 read as 512) */
} FzdDnsQuery;

/* Reads a query. Returns:
 *   0            a well-formed query: QR=0, opcode QUERY, QDCOUNT=1, every record of every
 *                section within the message, at most one OPT record (owner: the root);
 *   -EBADMSG     malformed, but it has a header: answer FORMERR;
 *   -EOPNOTSUPP  the opcode is not QUERY: answer NOTIMP;
 *   -EINVAL      no query at all (shorter than a header, or QR=1): drop it silently.
 * With -EBADMSG and -EOPNOTSUPP, *ret holds id and flags, and question_end is set if the
 * question itself was readable. */
int fzd_dns_query_parse(const uint8_t *msg, size_t len, FzdDnsQuery *ret);

/* One answer record; its owner is the question's name (written as a pointer to it), its
 * class IN. */
typedef struct FzdDnsRecord {
        uint16_t type;
        uint16_t rdlength;
        const uint8_t *rdata;
} FzdDnsRecord;

/* Writes the stub's own response to query q (msg: the query's bytes): the query's ID,
 * opcode, RD and CD; QR and RA set; the question copied as received (case kept); the
 * answers with TTL ttl; an OPT record if the query had one (payload size
 * FZD_DNS_EDNS_UDP_SIZE, DO copied). rcode may be extended (BADVERS): its upper bits then
 * go into the OPT record, so it needs the query's EDNS. If the whole answer does not fit
 * max_size (what the client can take), the answers are left out and TC is set. Returns
 * the length written, or -ENOBUFS if not even that fits into size. */
ssize_t fzd_dns_write_response(const uint8_t *msg, const FzdDnsQuery *q, unsigned rcode,
                               const FzdDnsRecord *answers, size_t n_answers, uint32_t ttl, size_t max_size,
                               uint8_t *buf, size_t size);

/* Whether resp (from an upstream) answers the query msg that was sent to it (same ID):
 * QR=1, the same opcode, and the same question (names compared case-insensitively) — or
 * no question at all in an error response. Anything else is dropped, never relayed. */
bool fzd_dns_response_matches(const uint8_t *resp, size_t len, const uint8_t *query, size_t question_end);

static inline uint16_t fzd_dns_get_id(const uint8_t *msg) {
        return (uint16_t)((msg[0] << 8) | msg[1]);
}

static inline void fzd_dns_set_id(uint8_t *msg, uint16_t id) {
        msg[0] = (uint8_t)(id >> 8);
        msg[1] = (uint8_t)id;
}

/* A dotted text name ("a.b.c", trailing dot allowed) in wire form. Returns the length or
 * -EINVAL (empty label, label over 63 bytes, name over 255 bytes on the wire). */
ssize_t fzd_dns_name_to_wire(const char *text, uint8_t *buf, size_t size);
