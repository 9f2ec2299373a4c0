/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The fixed names and numbers of the tunnel (DESIGN §6), for every layer that needs them.
 * Includes nothing. */

#define FZD_TUN_NAME      "tun-firezone"
#define FZD_TUN_MTU       1280
#define FZD_ROUTE_TABLE   0x1f0a /* our routing table (7946) */
#define FZD_FIREWALL_MARK 0x1f0a /* set on the daemon's own sockets; the policy rule skips it */
#define FZD_RULE_PRIORITY 5200   /* ip rule priority of our lookup rule (below main's 32766) */
