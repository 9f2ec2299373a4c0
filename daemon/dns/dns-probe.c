/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dns-probe.h"
#include "dns-resolvconf.h"
#include "dns-resolved.h"
#include "log.h"

static void describe_text(FzdDnsProbes *p, const char *text, size_t size) {
        FzdResolvConf c;

        if (fzd_resolv_conf_parse(text, size, &c) < 0)
                return;
        p->owner = c.owner;
        p->n_nameservers = c.n_nameservers;
        p->only_resolved_stub = fzd_resolv_conf_only_resolved_stub(&c);
        fzd_resolv_conf_done(&c);
}

static FzdResolvConfKind kind_of(const char *path, char **ret_target) {
        struct stat st;
        char target[PATH_MAX];
        ssize_t k;

        *ret_target = NULL;
        if (lstat(path, &st) < 0)
                return errno == ENOENT ? FZD_RESOLV_CONF_MISSING : FZD_RESOLV_CONF_UNREADABLE;
        if (S_ISREG(st.st_mode))
                return FZD_RESOLV_CONF_REGULAR;
        if (!S_ISLNK(st.st_mode))
                return FZD_RESOLV_CONF_OTHER;
        k = readlink(path, target, sizeof target - 1);
        if (k < 0)
                return FZD_RESOLV_CONF_UNREADABLE;
        target[k] = 0;
        *ret_target = strdup(target);
        return FZD_RESOLV_CONF_SYMLINK;
}

void fzd_dns_probe_resolv_conf(const char *path, const char *state_dir, FzdDnsProbes *p, char **ret_target) {
        _cleanup_(freep) char *text = NULL, *target = NULL, *backup = NULL;
        size_t size = 0;

        p->kind = kind_of(path, &target);
        p->symlink_target = NULL;
        p->ours = false;
        p->backup_exists = false;
        p->owner = FZD_RESOLV_CONF_OWNER_UNKNOWN;
        p->n_nameservers = 0;
        p->only_resolved_stub = false;
        p->dir_read_only = false;
        {
                _cleanup_(freep) char *dir = strdup(path);
                char *slash = dir ? strrchr(dir, '/') : NULL;

                if (slash) {
                        *(slash == dir ? slash + 1 : slash) = 0;
                        /* EROFS is the mount, never permissions (we are root). */
                        p->dir_read_only = access(dir, W_OK) < 0 && errno == EROFS;
                }
        }

        if (asprintf(&backup, "%s/%s", state_dir, FZD_RESOLV_CONF_BACKUP_NAME) >= 0) {
                struct stat st;
                p->backup_exists = lstat(backup, &st) >= 0;
        }

        if (p->kind == FZD_RESOLV_CONF_REGULAR || p->kind == FZD_RESOLV_CONF_SYMLINK) {
                FILE *f = fopen(path, "re");

                if (f) {
                        _cleanup_(freep) char *buf = malloc(FZD_RESOLV_CONF_MAX_SIZE);

                        size = buf ? fread(buf, 1, FZD_RESOLV_CONF_MAX_SIZE, f) : 0;
                        fclose(f);
                        p->ours = p->kind == FZD_RESOLV_CONF_REGULAR && fzd_resolv_conf_is_ours(buf, size);
                        if (!p->ours && buf)
                                describe_text(p, buf, size);
                } else
                        p->kind = p->kind == FZD_RESOLV_CONF_REGULAR ? FZD_RESOLV_CONF_UNREADABLE : p->kind;
        }

        if (p->ours && p->backup_exists) {
                /* Decide on what the system had before the crashed run. */
                free(target);
                target = NULL;
                if (backup) {
                        FzdResolvConfKind k = kind_of(backup, &target);
                        p->kind = k == FZD_RESOLV_CONF_SYMLINK ? k : FZD_RESOLV_CONF_REGULAR;
                }
                if (fzd_resolvconf_read_original(path, state_dir, &text, &size) >= 0)
                        describe_text(p, text, size);
        }

        p->symlink_target = target;
        *ret_target = TAKE_PTR(target);
}

void fzd_dns_probe_resolved(sd_bus *bus, FzdDnsProbes *p) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int has = 0, r;

        p->resolved_on_bus = false;
        p->resolved_activatable = false;
        if (!bus)
                return;

        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "NameHasOwner", &e, &reply, "s", FZD_RESOLVED_BUS_NAME);
        if (r >= 0 && sd_bus_message_read(reply, "b", &has) >= 0)
                p->resolved_on_bus = has;
        else
                log_debug("Cannot ask the bus whether systemd-resolved runs: %s", e.message ?: strerror(-r));
        if (p->resolved_on_bus)
                return;

        reply = sd_bus_message_unref(reply);
        sd_bus_error_free(&e);
        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "ListActivatableNames", &e, &reply, NULL);
        if (r >= 0 && sd_bus_message_enter_container(reply, 'a', "s") >= 0) {
                const char *name;
                while (sd_bus_message_read(reply, "s", &name) > 0)
                        if (streq(name, FZD_RESOLVED_BUS_NAME))
                                p->resolved_activatable = true;
        }
}
