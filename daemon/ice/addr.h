/* SPDX-License-Identifier: Apache-2.0 */
/* Transport addresses (IP + UDP port) for the sans-IO STUN/TURN/ICE code: a small value type
 * that is cheap to copy and compare, converted to and from struct sockaddr at the I/O edge. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct FzdAddr {
        uint8_t family; /* AF_INET, AF_INET6, or 0: no address */
        uint16_t port;  /* host byte order */
        uint8_t ip[16]; /* IPv4 in the first 4 bytes, the rest zero */
} FzdAddr;

/* "255.255.255.255:65535" and "[ffff:…:ffff]:65535" both fit. */
#define FZD_ADDR_STRLEN 48

bool fzd_addr_eq(const FzdAddr *a, const FzdAddr *b);
bool fzd_addr_ip_eq(const FzdAddr *a, const FzdAddr *b);
bool fzd_addr_is_set(const FzdAddr *a);
bool fzd_addr_is_unspecified(const FzdAddr *a); /* 0.0.0.0 or :: */
/* Addresses a relay on the Internet cannot reach: loopback, RFC 1918, CGNAT 100.64/10, link-local,
 * unique-local fc00::/7. Used to skip pre-binding TURN channels to a peer's host candidates. */
bool fzd_addr_is_private(const FzdAddr *a);

/* "1.2.3.4:5" or "[2001:db8::1]:5". Returns buf. */
const char *fzd_addr_format(const FzdAddr *a, char buf[static FZD_ADDR_STRLEN]);
/* The IP alone. Returns buf. */
const char *fzd_addr_format_ip(const FzdAddr *a, char buf[static FZD_ADDR_STRLEN]);
/* Parses "ip:port", "[ip6]:port"; -EINVAL otherwise. */
int fzd_addr_parse(const char *s, FzdAddr *ret);
/* Parses an IP literal alone (port set to 0). */
int fzd_addr_parse_ip(const char *s, FzdAddr *ret);

int fzd_addr_from_sockaddr(const struct sockaddr *sa, socklen_t len, FzdAddr *ret);
socklen_t fzd_addr_to_sockaddr(const FzdAddr *a, struct sockaddr_storage *ret);

static inline FzdAddr fzd_addr_v4(uint32_t ip_host_order, uint16_t port) {
        FzdAddr a = {.family = AF_INET, .port = port};
        a.ip[0] = (uint8_t)(ip_host_order >> 24);
        a.ip[1] = (uint8_t)(ip_host_order >> 16);
        a.ip[2] = (uint8_t)(ip_host_order >> 8);
        a.ip[3] = (uint8_t)ip_host_order;
        return a;
}
