/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* IP packets as the test gateway sees them (pure functions over bytes): what a packet is
 * (family, addresses, transport protocol, ports or ICMP id), rewriting an address with every
 * checksum fixed (the DNS-resource NAT), and the ICMP errors the gateway writes itself
 * ("administratively prohibited" for refused packets). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define FZGW_PROTO_ICMP   1
#define FZGW_PROTO_TCP    6
#define FZGW_PROTO_UDP    17
#define FZGW_PROTO_ICMPV6 58

/* An IP address of either family (IPv4 in the first 4 bytes, the rest zero). */
typedef struct FzgwIp {
        int family; /* AF_INET, AF_INET6, or 0: none */
        uint8_t a[16];
} FzgwIp;

#define FZGW_IP_STRLEN 46

bool fzgw_ip_eq(const FzgwIp *a, const FzgwIp *b);
size_t fzgw_ip_len(int family); /* 4, 16, or 0 */
FzgwIp fzgw_ip_make(int family, const uint8_t *bytes);
/* Parses an IPv4 or IPv6 literal; -EINVAL otherwise. */
int fzgw_ip_parse(const char *s, FzgwIp *ret);
const char *fzgw_ip_format(const FzgwIp *ip, char buf[static FZGW_IP_STRLEN]);

typedef struct FzgwPacket {
        int family;
        size_t len;            /* what the IP header says (<= the buffer) */
        size_t l4_off;         /* where the transport header starts (after IPv6 extension headers) */
        uint8_t proto;         /* the transport protocol */
        bool first_fragment;   /* false for a later fragment: no transport header in it */
        bool has_ports;        /* TCP/UDP ports or an ICMP echo id are in sport (dport 0 for echo) */
        uint16_t sport, dport; /* host order */
        bool icmp;             /* ICMP (v4) or ICMPv6 */
        bool icmp_error;       /* an ICMP error message (destination unreachable, …) */
        bool icmp_echo;        /* echo request or reply: sport is the id */
        uint8_t icmp_type, icmp_code;
        uint8_t tcp_flags;
} FzgwPacket;

#define FZGW_TCP_FIN 0x01
#define FZGW_TCP_SYN 0x02
#define FZGW_TCP_RST 0x04

/* 0, or -EBADMSG for what is not a well-formed IPv4/IPv6 packet within len bytes. A transport
 * header that is cut short leaves has_ports false. */
int fzgw_packet_parse(const uint8_t *p, size_t len, FzgwPacket *ret);

static inline const uint8_t *fzgw_packet_src(const uint8_t *p, const FzgwPacket *pi) {
        return p + (pi->family == AF_INET ? 12 : 8);
}
static inline const uint8_t *fzgw_packet_dst(const uint8_t *p, const FzgwPacket *pi) {
        return p + (pi->family == AF_INET ? 16 : 24);
}
FzgwIp fzgw_packet_src_ip(const uint8_t *p, const FzgwPacket *pi);
FzgwIp fzgw_packet_dst_ip(const uint8_t *p, const FzgwPacket *pi);

/* Replaces the source (dst = false) or destination address (same family) and fixes the IPv4
 * header checksum and the TCP, UDP or ICMPv6 checksum (incrementally: the rest of the packet
 * is not read). */
void fzgw_packet_set_addr(uint8_t *p, const FzgwPacket *pi, bool dst, const uint8_t *addr);

/* The packet an ICMP error quotes: its family, addresses and transport ports. */
typedef struct FzgwQuoted {
        size_t off;    /* of the quoted IP header in the outer packet */
        size_t l4_off; /* of its transport header (relative to the outer packet) */
        uint8_t proto;
        bool has_ports;
        uint16_t sport, dport; /* TCP/UDP ports; echo: id in sport */
} FzgwQuoted;
/* For an ICMP error (pi->icmp_error): the quoted packet. -EBADMSG if it is not there. */
int fzgw_packet_quoted(const uint8_t *p, const FzgwPacket *pi, FzgwQuoted *ret);
/* Rewrites an ICMP error on its way back through the NAT: the outer source and the quoted
 * destination become addr (the quoted packet was sent to it), checksums fixed (the ICMP one
 * recomputed over the message). */
void fzgw_packet_unnat_icmp_error(uint8_t *p, const FzgwPacket *pi, const FzgwQuoted *q,
                                  const uint8_t *addr);

/* Whether an ICMP error may be sent about this packet (RFC 1812 §4.3.2.7, RFC 4443 §2.4(e)):
 * not about an ICMP error, a later fragment, or a source that is not one host. */
bool fzgw_packet_may_answer(const uint8_t *p, const FzgwPacket *pi);

/* Builds ICMP "administratively prohibited" (type 3 code 13; ICMPv6 type 1 code 1) about the
 * packet p, from its destination to its source, quoting as much of it as fits in 576 bytes
 * (IPv4) or 1280 (IPv6). Returns the length written to out, or -ENOBUFS. */
int fzgw_packet_icmp_prohibited(const uint8_t *p, const FzgwPacket *pi, uint8_t *out, size_t size);

/* The Internet checksum of a message with a pseudo-header (family's addresses, protocol,
 * length), stored big-endian at out; for tests and the builders above. */
uint16_t fzgw_checksum(int family, const uint8_t *src, const uint8_t *dst, uint8_t proto, const uint8_t *msg,
                       size_t len, bool pseudo);
