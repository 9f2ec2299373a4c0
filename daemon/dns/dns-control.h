/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* DNS control, as the rest of the daemon sees it (os.c combines it with the tunnel).
 *
 * Modes (DESIGN §6): systemd-resolved (per-link settings on the TUN through resolved's
 * D-Bus API, reverted with RevertLink), etc-resolv-conf (/etc/resolv.conf replaced, the
 * original restored byte for byte), disabled. When not configured the mode is detected
 * once (fzd_dns_detect), from the system as it is, with a one-line trace in the log.
 *
 * The daemon's order: fzd_dns_new(); fzd_dns_cleanup_stale() (a killed run's resolv.conf);
 * fzd_dns_detect() (logs the decision; Status' dns-control is fzd_dns_mode_in_use());
 * fzd_dns_watch(); on every tunnel (re)configuration fzd_dns_apply() with the TUN's ifindex;
 * on sign-out fzd_dns_revert(); on exit fzd_dns_revert_sync(), then fzd_dns_free().
 *
 * Everything runs on the caller's sd-event loop. apply/revert/get_system_resolvers
 * either fail at once (< 0; the callback is not called) or return 0 and call their
 * callback exactly once, later, from the loop, unless superseded by a newer call of the
 * same kind (apply and revert supersede each other) or fzd_dns_free() comes first. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "dns-address.h"
#include "error.h"
#include "macro.h"
#include "dns-control-mode.h"

typedef struct FzdDns FzdDns;

/* error 0 or negative errno; err: what went wrong (for Status' last-error), NULL on
 * success. Valid during the call only. */
typedef void (*FzdDnsDoneFn)(void *userdata, int error, const FzdError *err);
typedef void (*FzdDnsSystemResolversFn)(void *userdata, int error, const FzdDnsResolver *resolvers,
                                        size_t n);

typedef struct FzdDnsCallbacks {
        /* The system's resolvers changed (debounced, and only when the list really differs
         * from the last one reported or read). May be NULL. */
        void (*resolvers_changed)(void *userdata, const FzdDnsResolver *resolvers, size_t n);
} FzdDnsCallbacks;

typedef struct FzdDnsParams {
        FzdDnsControl mode;      /* FZD_DNS_CONTROL_AUTO: detect */
        const char *state_dir;   /* where the resolv.conf backup lives (FZ_STATE_DIR) */
        const char *resolv_conf; /* NULL: /etc/resolv.conf */
        sd_bus *bus;             /* the system bus, attached to the loop; NULL: opened when needed */
        uint64_t debounce_usec;  /* of change notifications; 0: 500 ms */
        bool no_ipc;             /* --no-ipc: never ask the bus during detection; connect to it
                                  * only to control systemd-resolved when that is the mode */
} FzdDnsParams;

int fzd_dns_new(sd_event *event, const FzdDnsParams *params, const FzdDnsCallbacks *callbacks,
                void *userdata, FzdDns **ret);
/* Cancels pending calls; does not revert (call fzd_dns_revert_sync() first on exit). */
FzdDns *fzd_dns_free(FzdDns *d);
DEFINE_POINTER_CLEANUP_FUNC(FzdDns, fzd_dns_free);

/* Resolve FZD_DNS_CONTROL_AUTO into a mode from probes of the system, and log the
 * decision with its reasons. A configured mode is kept. Blocking: call at start-up. */
int fzd_dns_detect(FzdDns *d);
FzdDnsControl fzd_dns_mode(const FzdDns *d);
/* "systemd-resolved", "etc-resolv-conf", "disabled" (Status' dns-control), or "auto"
 * before detection. */
const char *fzd_dns_mode_in_use(const FzdDns *d);
/* The decision line of fzd_dns_detect(), or NULL if the mode was configured. */
const char *fzd_dns_detect_trace(const FzdDns *d);

/* At start, whatever the mode: put back a resolv.conf a killed run left behind, and drop
 * stale temp files and backups. Blocking. */
int fzd_dns_cleanup_stale(FzdDns *d);

/* Point the system's DNS at our sentinels on the TUN (ifindex), with the portal's search
 * domain (NULL or "" for none). Again with new values replaces the settings. Validates
 * its arguments (at most FZD_DNS_MAX_SENTINELS, a plain DNS name). */
int fzd_dns_apply(FzdDns *d, int ifindex, const FzdDnsAddress *sentinels, size_t n_sentinels,
                  const char *search_domain, FzdDnsDoneFn done, void *userdata);
/* Undo apply (RevertLink, or restore resolv.conf). Nothing applied: done(0). */
int fzd_dns_revert(FzdDns *d, FzdDnsDoneFn done, void *userdata);
/* The same, blocking, for the exit path; works after the loop has exited too (sd-bus
 * closes a connection attached to a loop when the loop exits: a private one is used). */
int fzd_dns_revert_sync(FzdDns *d);
bool fzd_dns_is_applied(const FzdDns *d);

/* The system's resolvers, sentinels and our TUN excluded. */
int fzd_dns_get_system_resolvers(FzdDns *d, FzdDnsSystemResolversFn done, void *userdata);

/* Start (or stop) watching for changes of the system's resolvers: resolved's
 * PropertiesChanged in systemd-resolved mode, inotify on resolv.conf otherwise. */
int fzd_dns_watch(FzdDns *d, bool enable);

/* The last failure; NULL after a success. */
const FzdError *fzd_dns_last_error(const FzdDns *d);
