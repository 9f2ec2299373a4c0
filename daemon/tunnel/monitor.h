/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Watches rtnetlink (links, IPv4/IPv6 addresses and routes) on sd-event and reports,
 * debounced, what kind of change happened. Our own TUN device and routing table are
 * ignored. "Default route changed" is decided by comparing the set of default routes (all
 * tables but ours and local) before and after, so a flap that ends where it started, or
 * a burst that overflows the socket, does not cause a spurious report. */

#include <stdint.h>
#include <systemd/sd-event.h>

#include "macro.h"

typedef enum FzdNetChange {
        FZD_NET_CHANGE_LINK = 1 << 0,
        FZD_NET_CHANGE_ADDRESS = 1 << 1,
        FZD_NET_CHANGE_ROUTE = 1 << 2,         /* any route outside our table */
        FZD_NET_CHANGE_DEFAULT_ROUTE = 1 << 3, /* the set of default routes differs */
        FZD_NET_CHANGE_OVERRUN = 1 << 4,       /* events were lost; state was re-read */
} FzdNetChange;

#define FZD_NET_MONITOR_DEBOUNCE_USEC (500 * USEC_PER_MSEC)

typedef struct FzdNetMonitor FzdNetMonitor;
typedef void (*FzdNetMonitorHandler)(FzdNetMonitor *m, unsigned changes, void *userdata);

int fzd_net_monitor_new(sd_event *event, uint32_t own_table, FzdNetMonitorHandler handler, void *userdata,
                        FzdNetMonitor **ret);
FzdNetMonitor *fzd_net_monitor_free(FzdNetMonitor *m);
DEFINE_POINTER_CLEANUP_FUNC(FzdNetMonitor, fzd_net_monitor_free);

void fzd_net_monitor_set_debounce(FzdNetMonitor *m, uint64_t usec);
/* Events about this link (by name, and by index for addresses and routes) are ours. */
void fzd_net_monitor_set_own_link(FzdNetMonitor *m, const char *ifname, int ifindex);

/* "link,address,default-route" — the names of the bits set. */
void fzd_net_change_to_string(unsigned changes, char *buf, size_t size);
