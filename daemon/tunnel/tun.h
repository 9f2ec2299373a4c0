/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Creates a (non-persistent) layer-3 TUN device without packet information: it disappears
 * with its routes and addresses when the last fd to it is closed, e.g. when the daemon is
 * killed. Returns the fd (O_NONBLOCK, O_CLOEXEC) and the device's ifindex. -EEXIST if a
 * device with that name already exists (we never attach to one we did not create). */
int fzd_tun_create(const char *ifname, int *ret_fd, int *ret_ifindex);

/* The same, with options: FZD_TUN_VNET_HDR opens it with IFF_VNET_HDR, so every read and
 * write carries a virtio-net header and offloads can be enabled (the data plane's TUN). */
#define FZD_TUN_VNET_HDR (1u << 0)
int fzd_tun_create_with(const char *ifname, unsigned flags, int *ret_fd, int *ret_ifindex);
