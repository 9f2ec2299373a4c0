/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include "dns-mode.h"
#include "macro.h"

static const char *const kind_names[_FZD_RESOLV_CONF_KIND_MAX] = {
        [FZD_RESOLV_CONF_MISSING] = "missing",       [FZD_RESOLV_CONF_REGULAR] = "regular file",
        [FZD_RESOLV_CONF_SYMLINK] = "symlink",       [FZD_RESOLV_CONF_OTHER] = "not a file",
        [FZD_RESOLV_CONF_UNREADABLE] = "unreadable",
};

const char *fzd_resolv_conf_kind_to_string(FzdResolvConfKind k) {
        if ((unsigned)k >= _FZD_RESOLV_CONF_KIND_MAX)
                return "unknown";
        return kind_names[k];
}

FzdResolvConfTarget fzd_resolv_conf_target_classify(const char *target) {
        static const char *const stub[] = {
                "run/systemd/resolve/stub-resolv.conf",
                "usr/lib/systemd/resolv.conf", /* resolved's static file: the stub only */
                "lib/systemd/resolv.conf",
        };
        const char *p = target;

        if (!p)
                return FZD_RESOLV_CONF_TARGET_OTHER;
        /* "/run/…", "../run/…" and "/var/run/…" all name the same file. */
        for (;;) {
                if (*p == '/')
                        p++;
                else if (strncmp(p, "./", 2) == 0)
                        p += 2;
                else if (strncmp(p, "../", 3) == 0)
                        p += 3;
                else
                        break;
        }
        if (strncmp(p, "var/run/", 8) == 0)
                p += 4;

        for (size_t i = 0; i < ELEMENTSOF(stub); i++)
                if (streq(p, stub[i]))
                        return FZD_RESOLV_CONF_TARGET_RESOLVED_STUB;
        if (streq(p, "run/systemd/resolve/resolv.conf"))
                return FZD_RESOLV_CONF_TARGET_RESOLVED_UPLINK;
        return FZD_RESOLV_CONF_TARGET_OTHER;
}

static void describe(const FzdDnsProbes *p, char *buf, size_t size) {
        int n;

        n = snprintf(buf, size, "resolv.conf: %s", fzd_resolv_conf_kind_to_string(p->kind));
        if (n < 0 || (size_t)n >= size)
                return;
        if (p->kind == FZD_RESOLV_CONF_SYMLINK)
                n += snprintf(buf + n, size - (size_t)n, " -> %.100s", strempty(p->symlink_target));
        if ((size_t)n < size && p->ours)
                n += snprintf(buf + n, size - (size_t)n, ", ours from a previous run (%s)",
                              p->backup_exists ? "backup present" : "backup MISSING");
        if ((size_t)n < size && p->dir_read_only)
                n += snprintf(buf + n, size - (size_t)n, " in a read-only directory");
        if ((size_t)n < size && (p->kind == FZD_RESOLV_CONF_REGULAR || p->kind == FZD_RESOLV_CONF_SYMLINK))
                (void)snprintf(buf + n, size - (size_t)n, ", owner %s, %zu nameserver(s)%s",
                               fzd_resolv_conf_owner_to_string(p->owner), p->n_nameservers,
                               p->only_resolved_stub ? " (resolved's stub)" : "");
}

FzdDnsControl fzd_dns_mode_decide(const FzdDnsProbes *p, char *trace, size_t trace_size) {
        bool points_at_resolved = p->only_resolved_stub ||
                                  (p->kind == FZD_RESOLV_CONF_SYMLINK &&
                                   fzd_resolv_conf_target_classify(p->symlink_target) != FZD_RESOLV_CONF_TARGET_OTHER);
        bool resolved = p->resolved_on_bus || p->resolved_activatable || (p->bus_not_asked && points_at_resolved);
        const char *resolved_state = p->bus_not_asked          ? "not asked (--no-ipc)"
                                     : p->resolved_on_bus      ? "on the bus"
                                     : p->resolved_activatable ? "activatable"
                                                               : "not on the bus";
        FzdDnsControl mode;
        const char *why;
        char desc[256];

        describe(p, desc, sizeof desc);

        if (p->ours && !p->backup_exists) {
                /* Only the resolv.conf mode's own error explains how to get out of this. */
                mode = FZD_DNS_CONTROL_ETC_RESOLV_CONF;
                why = "our resolv.conf without its backup must be repaired first";
        } else
                switch (p->kind) {
                case FZD_RESOLV_CONF_MISSING:
                case FZD_RESOLV_CONF_OTHER:
                case FZD_RESOLV_CONF_UNREADABLE:
                        if (resolved) {
                                mode = FZD_DNS_CONTROL_SYSTEMD_RESOLVED;
                                why = "no usable resolv.conf, but programs that ask resolved directly will "
                                      "use it";
                        } else {
                                mode = FZD_DNS_CONTROL_DISABLED;
                                why = "no usable resolv.conf and no resolved: nothing to control";
                        }
                        break;

                case FZD_RESOLV_CONF_SYMLINK:
                case FZD_RESOLV_CONF_REGULAR:
                default: {
                        FzdResolvConfTarget t = p->kind == FZD_RESOLV_CONF_SYMLINK && !p->ours
                                                        ? fzd_resolv_conf_target_classify(p->symlink_target)
                                                        : FZD_RESOLV_CONF_TARGET_OTHER;

                        if (t == FZD_RESOLV_CONF_TARGET_RESOLVED_UPLINK && p->dir_read_only) {
                                /* Its per-link servers (ours too) show up in the uplink file. */
                                mode = FZD_DNS_CONTROL_SYSTEMD_RESOLVED;
                                why = resolved ? "resolved manages the symlink to its uplink file, which this "
                                                 "service cannot replace (read-only /etc)"
                                               : "resolved manages the symlink to its uplink file, which this "
                                                 "service cannot replace (read-only /etc), but it is not "
                                                 "running: DNS control fails until it is started";
                        } else if (t == FZD_RESOLV_CONF_TARGET_RESOLVED_STUB) {
                                mode = FZD_DNS_CONTROL_SYSTEMD_RESOLVED;
                                why = resolved ? "libc asks resolved's stub"
                                               : "libc asks resolved's stub, but resolved is not running: "
                                                 "DNS control fails until it is started";
                        } else if (t == FZD_RESOLV_CONF_TARGET_RESOLVED_UPLINK) {
                                mode = FZD_DNS_CONTROL_ETC_RESOLV_CONF;
                                why = "resolved's uplink file sends libc past the stub, straight to the "
                                      "servers";
                        } else if (p->only_resolved_stub) {
                                mode = FZD_DNS_CONTROL_SYSTEMD_RESOLVED;
                                why = resolved ? "every nameserver is resolved's stub"
                                               : "every nameserver is resolved's stub, but resolved is not "
                                                 "running: DNS control fails until it is started";
                        } else if (p->kind == FZD_RESOLV_CONF_SYMLINK && !p->ours && p->dir_read_only) {
                                /* The resolv.conf mode's own error says what to do. */
                                mode = FZD_DNS_CONTROL_ETC_RESOLV_CONF;
                                why = "a symlink this service cannot replace (read-only /etc): DNS control "
                                      "fails until resolv.conf is a regular file or resolved manages it";
                        } else {
                                mode = FZD_DNS_CONTROL_ETC_RESOLV_CONF;
                                switch (p->owner) {
                                case FZD_RESOLV_CONF_OWNER_NETWORK_MANAGER:
                                case FZD_RESOLV_CONF_OWNER_RESOLVCONF:
                                case FZD_RESOLV_CONF_OWNER_NETCONFIG:
                                        why = "libc asks the listed servers directly (its generator may "
                                              "rewrite the file while we are up)";
                                        break;
                                case FZD_RESOLV_CONF_OWNER_SYSTEMD_RESOLVED:
                                        why = "a copy of resolved's uplink file sends libc straight to the "
                                              "servers";
                                        break;
                                default:
                                        why = "libc asks the listed servers directly";
                                }
                        }
                        break;
                }
                }

        (void)snprintf(trace, trace_size, "%s; resolved: %s -> %s: %s", desc, resolved_state,
                       fzd_dns_control_to_string(mode), why);
        return mode;
}
