/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The TUN side of the fast path, as pure functions over bytes:
 *
 *  - Internet checksums (RFC 1071), summed 32 bits at a time.
 *  - Splitting what a TUN with IFF_VNET_HDR and TUNSETOFFLOAD hands us (a TCP or UDP
 *    super-packet of up to 64 KiB described by a virtio-net header, or a packet whose
 *    checksum is left to us) into packets of at most the MTU, with every checksum filled.
 *  - Coalescing the decrypted packets of one receive batch back into TCP super-packets
 *    for one TUN write each (what GRO does in a NIC driver), so the kernel's TCP stack
 *    sees few large packets instead of many small ones.
 *
 * No system calls: the caller gives buffers in and a write callback. */

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

#define FZD_DP_VNET_HDR_LEN ((size_t) sizeof(struct virtio_net_hdr)) /* 10 */
#define FZD_DP_MAX_PACKET   65535u

/* ---- checksums ------------------------------------------------------------------------ */

/* Adds len bytes at p to a running one's-complement sum (p at an even offset of what is
 * being summed; an odd tail is padded with a zero byte). */
uint64_t fzd_csum_add(uint64_t sum, const void *p, size_t len);
/* Folds a sum to 16 bits and complements it: the value to store (with memcpy) in a
 * checksum field; 0 when verifying a correct packet. */
uint16_t fzd_csum_fold(uint64_t sum);
/* The TCP/UDP pseudo-header sum: addresses of family AF_INET/AF_INET6, protocol, and the
 * transport length. */
uint64_t fzd_csum_pseudo(int family, const uint8_t *src, const uint8_t *dst, uint8_t proto, uint32_t len);

/* ---- IP packets ------------------------------------------------------------------------- */

/* What the fast path needs of an IP packet: family, addresses and the length the header
 * claims. -EINVAL if it is not a well-formed IPv4/IPv6 header within len bytes. */
typedef struct FzdDpIpInfo {
        int family;
        const uint8_t *src, *dst; /* 4 or 16 bytes, inside the packet */
        size_t total_len;         /* from the header; <= len */
} FzdDpIpInfo;
int fzd_dp_ip_info(const uint8_t *p, size_t len, FzdDpIpInfo *ret);

/* ---- splitting (TUN → WireGuard) ---------------------------------------------------------- */

/* Where split packets go: next() hands out a buffer for one packet of up to `max` bytes
 * (NULL: none left, the split stops with -ENOBUFS after the packets emitted so far);
 * done() takes the packet written into it. */
typedef struct FzdDpSegmentSink {
        uint8_t *(*next)(void *userdata, size_t max);
        void (*done)(void *userdata, uint8_t *buf, size_t len);
        void *userdata;
} FzdDpSegmentSink;

/* Splits what one TUN read returned (header h, packet p of len bytes; p is modified)
 * into packets: a GSO packet into gso_size-sized segments with their IP and TCP/UDP
 * headers and checksums rewritten, a packet with a partial checksum completed, anything
 * else passed through. Returns the number of packets emitted, -EINVAL for a header that
 * does not describe the packet (the packet is dropped), -ENOBUFS (see the sink). */
int fzd_dp_split(const struct virtio_net_hdr *h, uint8_t *p, size_t len, const FzdDpSegmentSink *sink);

/* ---- coalescing (WireGuard → TUN) --------------------------------------------------------- */

#define FZD_DP_GRO_FLOWS    8
#define FZD_DP_GRO_SEGMENTS 64

typedef ssize_t (*FzdDpWriteFn)(void *userdata, const struct iovec *iov, int iovcnt);

typedef struct FzdDpGroFlow {
        uint8_t *head;      /* the first packet; its headers become the super-packet's */
        size_t hdr_len;     /* IP + TCP header */
        size_t gso_size;    /* payload of each segment but the last */
        size_t total;       /* bytes of the super-packet (headers + all payloads) */
        uint32_t next_seq;  /* sequence number the next segment must carry */
        int family;
        bool closed;        /* the last segment was short or had PSH: nothing may follow */
        bool psh;
        unsigned n;         /* segments */
        struct iovec iov[FZD_DP_GRO_SEGMENTS + 1]; /* [0]: the vnet header; [1]: head packet; then payloads */
        struct virtio_net_hdr vnet;
} FzdDpGroFlow;

typedef struct FzdDpGro {
        FzdDpWriteFn write;
        void *userdata;
        FzdDpGroFlow flows[FZD_DP_GRO_FLOWS];
        unsigned n_flows;
        bool enabled; /* false: every packet written alone (no TUN offloads) */
        bool vnet;    /* the TUN takes a virtio-net header in front of each packet */
        /* counters */
        uint64_t writes, packets, coalesced, write_errors;
} FzdDpGro;

void fzd_dp_gro_init(FzdDpGro *g, bool vnet, bool enabled, FzdDpWriteFn write, void *userdata);
/* Queues one decrypted IP packet of len bytes (its IP header's length, padding cut). p
 * must stay valid until the next flush. Packets of other kinds are written at once. */
void fzd_dp_gro_add(FzdDpGro *g, uint8_t *p, size_t len);
/* Writes every pending (super-)packet. Call at the end of each batch. */
void fzd_dp_gro_flush(FzdDpGro *g);
