/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Which DNS control mode to use when none is configured: a pure function over probes
 * of the system (who owns /etc/resolv.conf, is systemd-resolved on the bus), so that
 * every combination can be table-tested. The probes are gathered by dns-probe.c. */

#include <stdbool.h>
#include <stddef.h>

#include "dns-resolvconf-parse.h"
#include "dns-control-mode.h"

typedef enum FzdResolvConfKind {
        FZD_RESOLV_CONF_MISSING,
        FZD_RESOLV_CONF_REGULAR,
        FZD_RESOLV_CONF_SYMLINK,
        FZD_RESOLV_CONF_OTHER,      /* a directory, FIFO, … */
        FZD_RESOLV_CONF_UNREADABLE, /* an I/O or permission error */
        _FZD_RESOLV_CONF_KIND_MAX,
} FzdResolvConfKind;

typedef struct FzdDnsProbes {
        FzdResolvConfKind kind;
        const char *symlink_target; /* SYMLINK: where it points (may dangle); else NULL */
        bool ours;                  /* our marker is in it: a crashed run; the fields below then
                                     * describe the backup, when there is one */
        bool backup_exists;
        FzdResolvConfOwner owner; /* from the header comments (of the backup, when ours) */
        size_t n_nameservers;
        bool only_resolved_stub;   /* every nameserver is 127.0.0.53/54 */
        bool resolved_on_bus;      /* org.freedesktop.resolve1 has an owner */
        bool resolved_activatable; /* … or the bus can start it */
        bool bus_not_asked;        /* --no-ipc: the bus was not asked; resolved is assumed to run
                                    * exactly when resolv.conf points at it */
        bool dir_read_only;        /* resolv.conf's directory is on a read-only mount (the unit's
                                    * ProtectSystem=strict): a symlink there cannot be replaced */
} FzdDnsProbes;

/* Decide. Writes one line (no newline) saying why into trace. Never returns AUTO. */
FzdDnsControl fzd_dns_mode_decide(const FzdDnsProbes *p, char *trace, size_t trace_size);

/* Where a resolv.conf symlink points: resolved's stub file, resolved's uplink file
 * (lists the real servers, bypassing the stub), or something else. */
typedef enum FzdResolvConfTarget {
        FZD_RESOLV_CONF_TARGET_OTHER,
        FZD_RESOLV_CONF_TARGET_RESOLVED_STUB,
        FZD_RESOLV_CONF_TARGET_RESOLVED_UPLINK,
} FzdResolvConfTarget;

FzdResolvConfTarget fzd_resolv_conf_target_classify(const char *target);

const char *fzd_resolv_conf_kind_to_string(FzdResolvConfKind k);
