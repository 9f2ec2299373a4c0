/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* File descriptors for the data plane, made where the privileges are (the OS layer): a UDP
 * socket per family (SO_MARK needs CAP_NET_ADMIN, so do *BUFFORCE) and the TUN's offloads.
 * The data plane itself only needs the descriptors. */

#include <stdbool.h>
#include <stdint.h>

/* Firezone's port for the WireGuard/ICE socket (DESIGN §7.3). */
#define FZD_DP_DEFAULT_PORT 52625
/* Socket buffers for throughput: a few ms of line rate at several Gbit/s. */
#define FZD_DP_SOCKET_BUFFER (7 * 1024 * 1024)

/* Opens a non-blocking UDP socket of family (AF_INET/AF_INET6; IPv6 only for AF_INET6),
 * bound to port — falling back to an ephemeral port if it is taken and fallback is set —
 * with SO_MARK = mark (if non-zero), buffers of FZD_DP_SOCKET_BUFFER (forced where
 * permitted), packet info for the local address, and UDP GRO if the kernel has it.
 * *ret_port gets the port bound. */
int fzd_dp_udp_open(int family, uint16_t port, bool fallback, uint32_t mark, int *ret_fd, uint16_t *ret_port);

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
