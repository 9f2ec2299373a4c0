/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* File descriptors for the data plane, made where the privileges are (the OS layer): a UDP
 * socket per family (SO_MARK needs CAP_NET_ADMIN, so do *BUFFORCE) and the TUN's offloads.
 * The data plane itself only needs the descriptors. */

#include <stdbool.h>
#include <stdint.h>

/* Firezone's port for the WireGuard/ICE socket (DESIGN §7.3). */
#define FZD_DP_DEFAULT_PORT 52625
/* Socket buffers: enough to ride out a descheduled worker (≈8 ms at 1 Gbit/s), not more.
 * Measured ours ↔ ours on 2 shared cores, 3 interleaved rounds: 7 MiB (wireguard-go's and
 * Firezone's choice) gave no more throughput (1.2–1.4 Gbit/s for all of 0.5, 1, 2 and
 * 7 MiB) but a standing queue: ping through the full tunnel 12.6–14.6 ms with 7 MiB,
 * 7.6–11.2 ms with 1 MiB, 2.7–9.7 ms with 0.5 MiB. The receive side is where the queue
 * forms when the decrypting worker falls behind. */
#define FZD_DP_SOCKET_BUFFER (1024 * 1024)

/* Opens a non-blocking UDP socket of family (AF_INET/AF_INET6; IPv6 only for AF_INET6),
 * bound to port — falling back to an ephemeral port if it is taken and fallback is set —
 * with SO_MARK = mark (if non-zero), send and receive buffers of `buffer` bytes (0:
 * FZD_DP_SOCKET_BUFFER; forced where permitted), packet info for the local address, and UDP
 * GRO if the kernel has it. *ret_port gets the port bound. */
int fzd_dp_udp_open(int family, uint16_t port, bool fallback, uint32_t mark, int buffer, int *ret_fd,
                    uint16_t *ret_port);

/* Whether UDP_SEGMENT (GSO) is accepted on fd. */
bool fzd_dp_udp_gso_supported(int fd);
bool fzd_dp_udp_gro_enabled(int fd);

#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

/* Enables TUN offloads on a TUN opened with IFF_VNET_HDR: checksum, TSO4/6 and, where the
 * kernel takes them, USO4/6; probed from most to least. *ret_flags gets what is on (0:
 * plain packets). */
int fzd_dp_tun_enable_offloads(int tun_fd, unsigned *ret_flags);
