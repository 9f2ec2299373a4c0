/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The systemd-resolved mode: per-link DNS settings on the TUN through resolved's D-Bus
 * API (org.freedesktop.resolve1.Manager), sent asynchronously on the caller's sd-event
 * loop. The bus must be attached to that loop. */

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>

#include "dns-address.h"
#include "error.h"
#include "macro.h"

#define FZD_RESOLVED_BUS_NAME     "org.freedesktop.resolve1"
#define FZD_RESOLVED_PATH         "/org/freedesktop/resolve1"
#define FZD_RESOLVED_MANAGER      "org.freedesktop.resolve1.Manager"
#define FZD_RESOLVED_LINK         "org.freedesktop.resolve1.Link"
#define FZD_RESOLVED_LINK_PATH    "/org/freedesktop/resolve1/link"
#define FZD_RESOLVED_TIMEOUT_USEC (10 * USEC_PER_SEC)

/* Completion of a set of calls: error 0 (err NULL), or the first failure as a negative
 * errno and an error code (valid during the call only). */
typedef void (*FzdResolvedDoneFn)(void *userdata, int error, const FzdError *err);

typedef struct FzdResolvedCall FzdResolvedCall;

/* SetLinkDNS(sentinels), SetLinkDomains(search domain + "~."), SetLinkDefaultRoute(yes),
 * and, so that resolved neither chats on the tunnel nor expects what our DNS proxy does
 * not do: SetLinkLLMNR/MulticastDNS/DNSOverTLS/DNSSEC(no) (failures of these four are
 * logged and ignored). done is called once, from the event loop, unless the call is
 * freed first. */
int fzd_resolved_set_link(sd_bus *bus, int ifindex, const FzdDnsAddress *servers, size_t n_servers,
                          const char *search_domain, FzdResolvedDoneFn done, void *userdata,
                          FzdResolvedCall **ret);

/* RevertLink. A link resolved no longer knows (the TUN is gone) counts as reverted. */
int fzd_resolved_revert_link(sd_bus *bus, int ifindex, FzdResolvedDoneFn done, void *userdata,
                             FzdResolvedCall **ret);
/* The same, blocking (for the exit path, when the loop no longer runs). */
int fzd_resolved_revert_link_sync(sd_bus *bus, int ifindex, FzdError *ret_error);

/* Cancels what is still pending: done is not called after this. */
FzdResolvedCall *fzd_resolved_call_free(FzdResolvedCall *c);
DEFINE_POINTER_CLEANUP_FUNC(FzdResolvedCall, fzd_resolved_call_free);

/* The error code for a failed call to resolved; the well-known cases (not running, not
 * answering, access denied) have their own, whose sentences say what to do. Returns a
 * negative errno that fits. ret_error may be NULL. */
int fzd_resolved_error(const sd_bus_error *e, int r, FzdError *ret_error);
