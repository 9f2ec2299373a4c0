/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The little the client needs to know of an IP packet read from the TUN, and the packets
 * it makes itself: ICMP "administratively prohibited" answers (DESIGN §7.4) and Firezone's
 * in-tunnel control packets (IPv6 :: → ::, next header 0xFF, hop limit 0, an 8-byte header
 * [event, 0 × 7] and a JSON payload). Pure; every length is checked. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FZD_PROTO_ICMP   1
#define FZD_PROTO_TCP    6
#define FZD_PROTO_UDP    17
#define FZD_PROTO_ICMPV6 58

typedef struct FzdPacketInfo {
        int family;             /* AF_INET or AF_INET6 */
        uint8_t src[16], dst[16];
        uint8_t proto;          /* the transport after IPv6 extension headers; 0 if unknown */
        bool has_ports;         /* TCP/UDP with its header present (the first fragment) */
        uint16_t sport, dport;  /* host order */
        size_t total_len;       /* from the IP header; <= the buffer */
} FzdPacketInfo;

/* 0, or -EINVAL for anything that is not a well-formed IPv4/IPv6 packet within len. */
int fzd_packet_parse(const uint8_t *p, size_t len, FzdPacketInfo *ret);

/* An ICMP/ICMPv6 "administratively prohibited" (type 3 code 13 / type 1 code 1) from the
 * packet's destination back to its source, quoting as much of it as fits (576 bytes for
 * IPv4, 1280 for IPv6, as RFC 1812/4443 say). Writes into out (size >= 1280) and returns
 * the length, or -EINVAL (never an answer to an ICMP error or to a broken packet). */
ssize_t fzd_packet_icmp_prohibited(const uint8_t *p, size_t len, uint8_t *out, size_t size);

#define FZD_P2P_HEADER_LEN       48 /* IPv6 (40) + the event header (8) */
#define FZD_P2P_ASSIGNED_IPS     0  /* client → gateway: {resource, domain, proxy_ips} */
#define FZD_P2P_DOMAIN_STATUS    1  /* gateway → client: {resource, domain, status} */
#define FZD_P2P_GOODBYE          2
#define FZD_P2P_PAYLOAD_MAX      1200

/* A control packet with `event` and the JSON payload. Returns its length or -EMSGSIZE. */
ssize_t fzd_p2p_build(uint8_t event, const char *payload, size_t payload_len, uint8_t *out, size_t size);
/* The event and payload of a control packet (fzd_dp_is_p2p_control() said it is one);
 * -EBADMSG if it is too short or the lengths disagree. */
int fzd_p2p_parse(const uint8_t *p, size_t len, uint8_t *ret_event, const uint8_t **ret_payload,
                  size_t *ret_payload_len);
