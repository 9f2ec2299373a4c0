/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dns-resolvconf-parse.h"
#include "dns-resolved.h"
#include "dns-system.h"
#include "log.h"

/* ---- resolv.conf ------------------------------------------------------------------- */

static int zone_to_ifindex(const char *zone) {
        char *end;
        unsigned long v;

        if (isempty(zone))
                return 0;
        errno = 0;
        v = strtoul(zone, &end, 10);
        if (errno == 0 && *end == 0 && v > 0 && v <= INT_MAX)
                return (int)v;
        return (int)if_nametoindex(zone); /* 0 if there is no such interface */
}

size_t fzd_dns_resolvers_from_resolv_conf(const char *text, size_t size, FzdDnsResolver *ret, size_t max) {
        FzdResolvConf c;
        size_t n = 0;

        if (fzd_resolv_conf_parse(text, size, &c) < 0)
                return 0;
        for (size_t i = 0; i < c.n_nameservers && n < max; i++) {
                if (fzd_dns_address_is_sentinel(&c.nameservers[i].address))
                        continue;
                ret[n++] = (FzdDnsResolver){
                        .address = c.nameservers[i].address,
                        .ifindex = zone_to_ifindex(c.nameservers[i].zone),
                };
        }
        fzd_resolv_conf_done(&c);
        return n;
}

/* ---- systemd-resolved -------------------------------------------------------------- */

typedef struct LinkQuery {
        FzdResolvedQuery *query;
        sd_bus_slot *slot;
        int ifindex;
        FzdDnsOverTls dot;
} LinkQuery;

struct FzdResolvedQuery {
        sd_bus *bus;
        sd_bus_slot *slot;
        int exclude_ifindex;
        FzdDnsOverTls global_dot;
        FzdDnsResolver resolvers[FZD_DNS_MAX_RESOLVERS];
        size_t n;
        FzdDnsResolver plain[FZD_DNS_MAX_RESOLVERS],
                fallback[FZD_DNS_MAX_RESOLVERS]; /* DNS, FallbackDNSEx */
        size_t n_plain, n_fallback;
        LinkQuery links[FZD_DNS_MAX_RESOLVERS];
        size_t n_links, n_pending;
        FzdDnsResolversFn done;
        void *userdata;
};

FzdResolvedQuery *fzd_resolved_query_free(FzdResolvedQuery *q) {
        if (!q)
                return NULL;
        q->slot = sd_bus_slot_unref(q->slot);
        for (size_t i = 0; i < q->n_links; i++)
                q->links[i].slot = sd_bus_slot_unref(q->links[i].slot);
        sd_bus_unref(q->bus);
        return mfree(q);
}

static void query_finish(FzdResolvedQuery *q, int error) {
        FzdDnsResolversFn done = TAKE_PTR(q->done);

        if (!done)
                return;
        if (error < 0) {
                done(q->userdata, error, NULL, 0);
                return;
        }
        for (size_t i = 0; i < q->n; i++) {
                q->resolvers[i].dns_over_tls = q->global_dot;
                for (size_t j = 0; j < q->n_links; j++)
                        if (q->links[j].ifindex == q->resolvers[i].ifindex)
                                q->resolvers[i].dns_over_tls = q->links[j].dot;
        }
        /* May free q. */
        done(q->userdata, 0, q->resolvers, q->n);
}

/* One a(iiay) or a(iiayqs) array. Entries resolved should never send (bad family or
 * length) are skipped rather than trusted. */
static int parse_servers(sd_bus_message *m, bool ex, int exclude_ifindex, FzdDnsResolver *list, size_t *n) {
        const char *sig = ex ? "(iiayqs)" : "(iiay)";
        int r;

        r = sd_bus_message_enter_container(m, 'a', sig);
        if (r < 0)
                return r;
        for (;;) {
                FzdDnsResolver res = {};
                const void *bytes;
                size_t len;
                int32_t ifindex, family;
                uint16_t port = 0;
                const char *name = NULL;

                r = sd_bus_message_enter_container(m, 'r', ex ? "iiayqs" : "iiay");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read(m, "ii", &ifindex, &family);
                if (r >= 0)
                        r = sd_bus_message_read_array(m, 'y', &bytes, &len);
                if (r >= 0 && ex)
                        r = sd_bus_message_read(m, "qs", &port, &name);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;

                if (!((family == AF_INET && len == 4) || (family == AF_INET6 && len == 16)))
                        continue;
                res.address.family = family;
                memcpy(&res.address.addr, bytes, len);
                res.ifindex = ifindex;
                res.port = port;
                if (name && strlen(name) < sizeof res.server_name)
                        strcpy(res.server_name, name);
                if (fzd_dns_address_is_sentinel(&res.address) ||
                    (exclude_ifindex > 0 && ifindex == exclude_ifindex))
                        continue;
                if (*n >= FZD_DNS_MAX_RESOLVERS)
                        continue;
                list[(*n)++] = res;
        }
        return sd_bus_message_exit_container(m);
}

static int on_link_dot(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        LinkQuery *l = userdata;
        FzdResolvedQuery *q = l->query;
        const char *s;

        l->slot = sd_bus_slot_unref(l->slot);
        l->dot = q->global_dot;
        if (!sd_bus_message_is_method_error(m, NULL) && sd_bus_message_read(m, "v", "s", &s) >= 0 &&
            !isempty(s))
                (void)fzd_dns_over_tls_from_string(s, &l->dot);

        if (--q->n_pending == 0)
                query_finish(q, 0);
        return 0;
}

static int ask_link_dot(FzdResolvedQuery *q, int ifindex) {
        _cleanup_(freep) char *path = NULL;
        char idx[16];
        LinkQuery *l;
        int r;

        for (size_t i = 0; i < q->n_links; i++)
                if (q->links[i].ifindex == ifindex)
                        return 0;
        if (q->n_links >= ELEMENTSOF(q->links))
                return 0;
        (void)snprintf(idx, sizeof idx, "%d", ifindex);
        r = sd_bus_path_encode(FZD_RESOLVED_LINK_PATH, idx, &path);
        if (r < 0)
                return r;
        l = &q->links[q->n_links];
        *l = (LinkQuery){.query = q, .ifindex = ifindex, .dot = q->global_dot};
        r = sd_bus_call_method_async(q->bus, &l->slot, FZD_RESOLVED_BUS_NAME, path,
                                     "org.freedesktop.DBus.Properties", "Get", on_link_dot, l, "ss",
                                     FZD_RESOLVED_LINK, "DNSOverTLS");
        if (r < 0)
                return r;
        q->n_links++;
        q->n_pending++;
        return 0;
}

static int on_manager_properties(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        FzdResolvedQuery *q = userdata;
        bool have_ex = false;
        int r;

        q->slot = sd_bus_slot_unref(q->slot);
        if (sd_bus_message_is_method_error(m, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(m);
                FzdError err;
                char msg[FZD_ERROR_TEXT_MAX];

                r = fzd_resolved_error(e, sd_bus_message_get_errno(m), &err);
                log_debug("Cannot read systemd-resolved's DNS servers: %s",
                          fzd_error_format(&err, msg, sizeof msg));
                query_finish(q, r);
                return 0;
        }

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        while (r >= 0) {
                const char *name;

                r = sd_bus_message_enter_container(m, 'e', "sv");
                if (r <= 0)
                        break;
                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        break;
                if (streq(name, "DNSEx") || streq(name, "DNS") || streq(name, "FallbackDNSEx")) {
                        bool ex = !streq(name, "DNS");
                        FzdDnsResolver *list = streq(name, "DNSEx") ? q->resolvers
                                               : streq(name, "DNS") ? q->plain
                                                                    : q->fallback;
                        size_t *n = streq(name, "DNSEx") ? &q->n
                                    : streq(name, "DNS") ? &q->n_plain
                                                         : &q->n_fallback;

                        r = sd_bus_message_enter_container(m, 'v', ex ? "a(iiayqs)" : "a(iiay)");
                        if (r >= 0)
                                r = parse_servers(m, ex, q->exclude_ifindex, list, n);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(m);
                        if (streq(name, "DNSEx"))
                                have_ex = true;
                } else if (streq(name, "DNSOverTLS")) {
                        const char *s;

                        r = sd_bus_message_read(m, "v", "s", &s);
                        if (r >= 0)
                                (void)fzd_dns_over_tls_from_string(s, &q->global_dot);
                } else
                        r = sd_bus_message_skip(m, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        if (r < 0) {
                log_warning_errno(r, "Cannot parse systemd-resolved's DNS properties: %m");
                query_finish(q, -EBADMSG);
                return 0;
        }

        if (!have_ex) {
                memcpy(q->resolvers, q->plain, q->n_plain * sizeof q->plain[0]);
                q->n = q->n_plain;
        }
        if (q->n == 0) {
                memcpy(q->resolvers, q->fallback, q->n_fallback * sizeof q->fallback[0]);
                q->n = q->n_fallback;
        }

        for (size_t i = 0; i < q->n; i++)
                if (q->resolvers[i].ifindex > 0) {
                        r = ask_link_dot(q, q->resolvers[i].ifindex);
                        if (r < 0)
                                log_debug_errno(r, "Cannot ask for link %d's DNSOverTLS: %m, ignoring.",
                                                q->resolvers[i].ifindex);
                }
        if (q->n_pending == 0)
                query_finish(q, 0);
        return 0;
}

int fzd_resolved_get_resolvers(sd_bus *bus, int exclude_ifindex, FzdDnsResolversFn done, void *userdata,
                               FzdResolvedQuery **ret) {
        _cleanup_(fzd_resolved_query_freep) FzdResolvedQuery *q = NULL;
        int r;

        if (!bus || !done || !ret)
                return -EINVAL;
        q = calloc(1, sizeof *q);
        if (!q)
                return -ENOMEM;
        q->bus = sd_bus_ref(bus);
        q->exclude_ifindex = exclude_ifindex;
        q->done = done;
        q->userdata = userdata;

        r = sd_bus_call_method_async(bus, &q->slot, FZD_RESOLVED_BUS_NAME, FZD_RESOLVED_PATH,
                                     "org.freedesktop.DBus.Properties", "GetAll", on_manager_properties, q,
                                     "s", FZD_RESOLVED_MANAGER);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(q);
        return 0;
}

/* ---- change notification ----------------------------------------------------------- */

struct FzdDnsWatch {
        sd_event *event;
        sd_event_source *timer;
        sd_event_source *inotify[2];
        char *names[2]; /* file names the inotify watches care about */
        sd_bus_slot *properties_changed, *owner_changed, *get_owner;
        char *resolved_owner;       /* resolved's unique name; NULL while unknown or not on the bus */
        bool kick_when_owner_known; /* a signal came before GetNameOwner answered */
        uint64_t debounce_usec;
        void (*fire)(void *userdata);
        void *userdata;
};

FzdDnsWatch *fzd_dns_watch_free(FzdDnsWatch *w) {
        if (!w)
                return NULL;
        w->timer = sd_event_source_disable_unref(w->timer);
        for (size_t i = 0; i < ELEMENTSOF(w->inotify); i++) {
                w->inotify[i] = sd_event_source_disable_unref(w->inotify[i]);
                free(w->names[i]);
        }
        w->properties_changed = sd_bus_slot_unref(w->properties_changed);
        w->owner_changed = sd_bus_slot_unref(w->owner_changed);
        w->get_owner = sd_bus_slot_unref(w->get_owner);
        free(w->resolved_owner);
        sd_event_unref(w->event);
        return mfree(w);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        FzdDnsWatch *w = userdata;

        w->fire(w->userdata);
        return 0;
}

static void kick(FzdDnsWatch *w) {
        int r;

        if (w->timer) {
                r = sd_event_source_set_time_relative(w->timer, w->debounce_usec);
                if (r >= 0)
                        r = sd_event_source_set_enabled(w->timer, SD_EVENT_ONESHOT);
        } else
                r = sd_event_add_time_relative(w->event, &w->timer, CLOCK_MONOTONIC, w->debounce_usec, 0,
                                               on_timer, w);
        if (r < 0) {
                /* Better early than never. */
                log_warning_errno(r, "Failed to arm the DNS change timer: %m, reporting at once.");
                w->fire(w->userdata);
        }
}

/* The bus policy lets other programs' broadcast signals reach us, and group members may
 * send to our Properties interface: a PropertiesChanged counts only from resolved's
 * current unique name, which NameOwnerChanged (from the bus itself) keeps up to date. */
static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        FzdDnsWatch *w = userdata;
        const char *sender = sd_bus_message_get_sender(m);

        if (!w->resolved_owner || !streq_ptr(sender, w->resolved_owner)) {
                log_debug("Ignoring a PropertiesChanged on %s from %s, which is not systemd-resolved (%s).",
                          strempty(sd_bus_message_get_path(m)), sender ?: "(no sender)",
                          w->resolved_owner ?: (w->get_owner ? "not known yet" : "not on the bus"));
                if (w->get_owner)
                        w->kick_when_owner_known = true;
                return 0;
        }
        kick(w);
        return 0;
}

static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        FzdDnsWatch *w = userdata;
        const char *name, *old_owner, *new_owner;

        if (!streq_ptr(sd_bus_message_get_sender(m), "org.freedesktop.DBus"))
                return 0;
        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 ||
            !streq(name, FZD_RESOLVED_BUS_NAME))
                return 0;
        /* Newer than whatever GetNameOwner will say. */
        w->get_owner = sd_bus_slot_unref(w->get_owner);
        w->kick_when_owner_known = false;
        if (free_and_strdup(&w->resolved_owner, isempty(new_owner) ? NULL : new_owner) < 0)
                log_oom();
        /* A restarted resolved may have other servers. */
        kick(w);
        return 0;
}

static int on_get_owner(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        FzdDnsWatch *w = userdata;
        const char *owner = NULL;

        w->get_owner = sd_bus_slot_unref(w->get_owner);
        if (!sd_bus_message_is_method_error(m, NULL))
                (void) sd_bus_message_read(m, "s", &owner);
        if (free_and_strdup(&w->resolved_owner, isempty(owner) ? NULL : owner) < 0)
                log_oom();
        if (w->kick_when_owner_known) {
                w->kick_when_owner_known = false;
                kick(w);
        }
        return 0;
}

static int on_inotify(sd_event_source *s, const struct inotify_event *ev, void *userdata) {
        FzdDnsWatch *w = userdata;

        if (ev->mask & IN_Q_OVERFLOW) {
                kick(w);
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(w->inotify); i++)
                if (w->inotify[i] == s && ev->len > 0 && streq_ptr(ev->name, w->names[i]))
                        kick(w);
        return 0;
}

static int watch_file(FzdDnsWatch *w, size_t slot, const char *path) {
        _cleanup_(freep) char *dir = NULL;
        const char *slash = strrchr(path, '/');
        int r;

        if (!slash || !slash[1])
                return -EINVAL;
        dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
        w->names[slot] = strdup(slash + 1);
        if (!dir || !w->names[slot])
                return -ENOMEM;
        r = sd_event_add_inotify(w->event, &w->inotify[slot], dir,
                                 IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                                         IN_ATTRIB | IN_ONLYDIR,
                                 on_inotify, w);
        return r;
}

int fzd_dns_watch_new(sd_event *event, sd_bus *bus, const char *resolv_conf, uint64_t debounce_usec,
                      void (*fire)(void *userdata), void *userdata, FzdDnsWatch **ret) {
        _cleanup_(fzd_dns_watch_freep) FzdDnsWatch *w = NULL;
        int r;

        if (!event || !fire || !ret || (!bus && !resolv_conf))
                return -EINVAL;
        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->event = sd_event_ref(event);
        w->debounce_usec = debounce_usec;
        w->fire = fire;
        w->userdata = userdata;

        if (bus) {
                /* The Manager's DNS, DNSEx, DNSOverTLS and CurrentDNSServer emit changes. */
                r = sd_bus_add_match_async(
                        bus, &w->properties_changed,
                        "type='signal',sender='" FZD_RESOLVED_BUS_NAME "',"
                        "path='" FZD_RESOLVED_PATH "',"
                        "interface='org.freedesktop.DBus.Properties',member='PropertiesChanged'",
                        on_properties_changed, NULL, w);
                if (r < 0)
                        return log_error_errno(r, "Failed to watch systemd-resolved's properties: %m");
                r = sd_bus_add_match_async(bus, &w->owner_changed,
                                           "type='signal',sender='org.freedesktop.DBus',"
                                           "path='/org/freedesktop/DBus',interface='org.freedesktop.DBus',"
                                           "member='NameOwnerChanged',arg0='" FZD_RESOLVED_BUS_NAME "'",
                                           on_owner_changed, NULL, w);
                if (r < 0)
                        return log_error_errno(r, "Failed to watch systemd-resolved on the bus: %m");
                /* After the match: an owner change in between is then seen either way. */
                r = sd_bus_call_method_async(bus, &w->get_owner, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                             "org.freedesktop.DBus", "GetNameOwner", on_get_owner, w, "s",
                                             FZD_RESOLVED_BUS_NAME);
                if (r < 0)
                        return log_error_errno(r, "Failed to ask the bus for systemd-resolved: %m");
        }

        if (resolv_conf) {
                char target[PATH_MAX];
                ssize_t k;

                r = watch_file(w, 0, resolv_conf);
                if (r < 0)
                        return log_error_errno(r, "Failed to watch %s: %m", resolv_conf);
                /* A symlink's target changes without the link changing. */
                k = readlink(resolv_conf, target, sizeof target - 1);
                if (k > 0) {
                        _cleanup_(freep) char *target_path = NULL;
                        const char *slash = strrchr(resolv_conf, '/');

                        target[k] = 0;
                        if (target[0] == '/')
                                target_path = strdup(target);
                        else if (asprintf(&target_path, "%.*s/%s", slash ? (int)(slash - resolv_conf) : 1,
                                          slash ? resolv_conf : ".", target) < 0)
                                target_path = NULL;
                        if (!target_path)
                                return log_oom();
                        r = watch_file(w, 1, target_path);
                        if (r < 0)
                                log_debug_errno(r, "Cannot watch %s: %m, ignoring.", target_path);
                }
        }

        *ret = TAKE_PTR(w);
        return 0;
}
