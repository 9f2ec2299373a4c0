/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The system's own resolvers — where our DNS proxy sends what is not for a resource —
 * and notice when they change. From systemd-resolved's D-Bus properties (global and
 * per-link servers, with port, TLS server name and DNS-over-TLS mode) or from
 * resolv.conf (the backup while ours is in place). Our sentinels and our own link are
 * never reported. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "dns-address.h"
#include "macro.h"

#define FZD_DNS_MAX_RESOLVERS 64

typedef void (*FzdDnsResolversFn)(void *userdata, int error, const FzdDnsResolver *resolvers, size_t n);

/* From resolv.conf text: its nameservers minus sentinels (pure). Returns the count. */
size_t fzd_dns_resolvers_from_resolv_conf(const char *text, size_t size, FzdDnsResolver *ret, size_t max);

typedef struct FzdResolvedQuery FzdResolvedQuery;

/* Reads Manager.DNSEx (DNS on old versions) and DNSOverTLS, then each link's
 * DNSOverTLS; excludes exclude_ifindex (our TUN; 0 = none) and sentinels. Falls back to
 * FallbackDNSEx when nothing else is configured. done is called once unless the query is
 * freed first. */
int fzd_resolved_get_resolvers(sd_bus *bus, int exclude_ifindex, FzdDnsResolversFn done, void *userdata,
                               FzdResolvedQuery **ret);
FzdResolvedQuery *fzd_resolved_query_free(FzdResolvedQuery *q);
DEFINE_POINTER_CLEANUP_FUNC(FzdResolvedQuery, fzd_resolved_query_free);

/* Change notification: resolved's PropertiesChanged and its (dis)appearance on the bus
 * (bus != NULL), and/or writes to resolv.conf (resolv_conf != NULL, watched with
 * inotify on its directory and, for a symlink, on its target's). Notifications are
 * debounced: fire() runs once, debounce_usec after the last of a burst. */
typedef struct FzdDnsWatch FzdDnsWatch;

int fzd_dns_watch_new(sd_event *event, sd_bus *bus, const char *resolv_conf, uint64_t debounce_usec,
                      void (*fire)(void *userdata), void *userdata, FzdDnsWatch **ret);
FzdDnsWatch *fzd_dns_watch_free(FzdDnsWatch *w);
DEFINE_POINTER_CLEANUP_FUNC(FzdDnsWatch, fzd_dns_watch_free);
