/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dns-resolved.h"
#include "log.h"

#define MAX_CALLS 8

typedef struct Pending {
        FzdResolvedCall *call;
        sd_bus_slot *slot;
        const char *method;
        bool essential; /* a failure fails the whole set */
} Pending;

struct FzdResolvedCall {
        Pending pending[MAX_CALLS];
        unsigned n, n_pending;
        bool revert;
        int ifindex;
        int error;
        FzdError err;
        FzdResolvedDoneFn done;
        void *userdata;
};

FzdResolvedCall *fzd_resolved_call_free(FzdResolvedCall *c) {
        if (!c)
                return NULL;
        for (unsigned i = 0; i < c->n; i++)
                c->pending[i].slot = sd_bus_slot_unref(c->pending[i].slot);
        return mfree(c);
}

/* Not running, and the bus could not start it either (not installed, unit disabled or
 * masked, or it failed to start). */
static bool is_missing(const sd_bus_error *e) {
        if (!e || !e->name)
                return false;
        return sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER,
                                      "org.freedesktop.systemd1.NoSuchUnit",
                                      "org.freedesktop.systemd1.UnitMasked") ||
               strncmp(e->name, "org.freedesktop.DBus.Error.Spawn.", 33) == 0;
}

int fzd_resolved_error(const sd_bus_error *e, int r, FzdError *ret_error) {
        FzdError err;

        if (is_missing(e)) {
                r = -EHOSTDOWN;
                err = fzd_error_make(FZD_ERR_DNS_RESOLVED_MISSING, r);
                fzd_error_set_subject(&err, FZ_CONFIG_PATH);
        } else if (sd_bus_error_has_names(e, SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_TIMEOUT) ||
                   r == -ETIMEDOUT) {
                r = -ETIMEDOUT;
                err = fzd_error_make(FZD_ERR_DNS_RESOLVED_TIMEOUT, r);
                err.number = (unsigned) (FZD_RESOLVED_TIMEOUT_USEC / USEC_PER_SEC);
        } else if (sd_bus_error_has_names(e, SD_BUS_ERROR_ACCESS_DENIED,
                                          SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED)) {
                r = -EACCES;
                err = fzd_error_make(FZD_ERR_DNS_RESOLVED_DENIED, r);
                fzd_error_set_detail(&err, e->message);
        } else if (e && sd_bus_error_is_set(e)) {
                char detail[FZD_ERROR_DETAIL_MAX];
                if (r >= 0)
                        r = -EIO;
                err = fzd_error_make(FZD_ERR_DNS_RESOLVED_REJECTED, r);
                (void) snprintf(detail, sizeof detail, "%s (%s)", strempty(e->message), e->name);
                fzd_error_set_detail(&err, detail);
        } else {
                if (r >= 0)
                        r = -EIO;
                err = fzd_error_make(FZD_ERR_DNS_RESOLVED_FAILED, r);
        }
        if (ret_error)
                *ret_error = err;
        return r;
}

static bool is_no_such_link(const sd_bus_error *e) {
        /* resolved answers RevertLink on an unknown ifindex with its NoSuchLink error. */
        return sd_bus_error_has_name(e, "org.freedesktop.resolve1.NoSuchLink");
}

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Pending *p = userdata;
        FzdResolvedCall *c = p->call;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        p->slot = sd_bus_slot_unref(p->slot);
        c->n_pending--;

        if (e && !(c->revert && is_no_such_link(e))) {
                FzdError err;
                int r = fzd_resolved_error(e, sd_bus_message_get_errno(m), &err);

                if (!p->essential)
                        log_warning("systemd-resolved: %s on link %d failed: %s, ignoring.", p->method,
                                    c->ifindex, strempty(e->message));
                else if (c->error == 0) {
                        log_debug("systemd-resolved: %s on link %d failed: %s: %s", p->method, c->ifindex,
                                  e->name, strempty(e->message));
                        c->error = r;
                        c->err = err;
                }
        }

        if (c->n_pending == 0 && c->done) {
                FzdResolvedDoneFn done = TAKE_PTR(c->done);
                /* May free c: nothing touches it after this. */
                done(c->userdata, c->error, c->error < 0 ? &c->err : NULL);
        }
        return 0;
}

static int send_call(FzdResolvedCall *c, sd_bus *bus, sd_bus_message *m, const char *method,
                     bool essential) {
        Pending *p;
        int r;

        if (c->n >= MAX_CALLS)
                return -E2BIG;
        p = &c->pending[c->n];
        *p = (Pending){.call = c, .method = method, .essential = essential};
        r = sd_bus_call_async(bus, &p->slot, m, on_reply, p, FZD_RESOLVED_TIMEOUT_USEC);
        if (r < 0)
                return r;
        c->n++;
        c->n_pending++;
        return 0;
}

static int new_call(sd_bus *bus, const char *method, sd_bus_message **ret) {
        return sd_bus_message_new_method_call(bus, ret, FZD_RESOLVED_BUS_NAME, FZD_RESOLVED_PATH,
                                              FZD_RESOLVED_MANAGER, method);
}

static int send_link_string(FzdResolvedCall *c, sd_bus *bus, const char *method, const char *value) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = new_call(bus, method, &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "is", c->ifindex, value);
        if (r >= 0)
                r = send_call(c, bus, m, method, false);
        return r;
}

static int send_set_dns(FzdResolvedCall *c, sd_bus *bus, const FzdDnsAddress *servers, size_t n) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = new_call(bus, "SetLinkDNS", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "i", c->ifindex);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(iay)");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = sd_bus_message_open_container(m, 'r', "iay");
                if (r >= 0)
                        r = sd_bus_message_append(m, "i", servers[i].family);
                if (r >= 0)
                        r = sd_bus_message_append_array(m, 'y', &servers[i].addr,
                                                        servers[i].family == AF_INET ? 4 : 16);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = send_call(c, bus, m, "SetLinkDNS", true);
        return r;
}

static int send_set_domains(FzdResolvedCall *c, sd_bus *bus, const char *search_domain) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = new_call(bus, "SetLinkDomains", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "i", c->ifindex);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sb)");
        if (r >= 0 && !isempty(search_domain))
                r = sd_bus_message_append(m, "(sb)", search_domain, 0);
        /* "~.": the root as a routing-only domain, so that every query may come to us. */
        if (r >= 0)
                r = sd_bus_message_append(m, "(sb)", ".", 1);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = send_call(c, bus, m, "SetLinkDomains", true);
        return r;
}

static int send_default_route(FzdResolvedCall *c, sd_bus *bus) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = new_call(bus, "SetLinkDefaultRoute", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "ib", c->ifindex, 1);
        if (r >= 0)
                r = send_call(c, bus, m, "SetLinkDefaultRoute", true);
        return r;
}

static FzdResolvedCall *call_new(int ifindex, bool revert, FzdResolvedDoneFn done, void *userdata) {
        FzdResolvedCall *c = calloc(1, sizeof *c);

        if (c)
                *c = (FzdResolvedCall){
                        .ifindex = ifindex, .revert = revert, .done = done, .userdata = userdata};
        return c;
}

int fzd_resolved_set_link(sd_bus *bus, int ifindex, const FzdDnsAddress *servers, size_t n_servers,
                          const char *search_domain, FzdResolvedDoneFn done, void *userdata,
                          FzdResolvedCall **ret) {
        _cleanup_(fzd_resolved_call_freep) FzdResolvedCall *c = NULL;
        int r;

        if (!bus || ifindex <= 0 || n_servers == 0 || n_servers > FZD_DNS_MAX_SENTINELS || !ret)
                return -EINVAL;
        for (size_t i = 0; i < n_servers; i++)
                if (servers[i].family != AF_INET && servers[i].family != AF_INET6)
                        return -EINVAL;
        if (!isempty(search_domain) && fzd_dns_name_check(search_domain) < 0)
                return log_error_errno(EINVAL, "Refusing search domain \"%s\": not a DNS name.",
                                       fzd_dns_printable(search_domain, (char[FZD_DNS_PRINTABLE_MAX]){}));

        c = call_new(ifindex, false, done, userdata);
        if (!c)
                return -ENOMEM;

        /* One connection's messages arrive in order and resolved handles them in order:
         * the link is quiet and plain before it gets servers. */
        r = send_link_string(c, bus, "SetLinkLLMNR", "no");
        if (r >= 0)
                r = send_link_string(c, bus, "SetLinkMulticastDNS", "no");
        if (r >= 0)
                r = send_link_string(c, bus, "SetLinkDNSOverTLS", "no");
        if (r >= 0)
                r = send_link_string(c, bus, "SetLinkDNSSEC", "no");
        if (r >= 0)
                r = send_set_dns(c, bus, servers, n_servers);
        if (r >= 0)
                r = send_set_domains(c, bus, search_domain);
        if (r >= 0)
                r = send_default_route(c, bus);
        if (r < 0)
                return log_error_errno(r, "Failed to send the DNS settings to systemd-resolved: %m");

        *ret = TAKE_PTR(c);
        return 0;
}

int fzd_resolved_revert_link(sd_bus *bus, int ifindex, FzdResolvedDoneFn done, void *userdata,
                             FzdResolvedCall **ret) {
        _cleanup_(fzd_resolved_call_freep) FzdResolvedCall *c = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        if (!bus || ifindex <= 0 || !ret)
                return -EINVAL;
        c = call_new(ifindex, true, done, userdata);
        if (!c)
                return -ENOMEM;
        r = new_call(bus, "RevertLink", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "i", ifindex);
        if (r >= 0)
                r = send_call(c, bus, m, "RevertLink", true);
        if (r < 0)
                return log_error_errno(r, "Failed to send RevertLink to systemd-resolved: %m");
        *ret = TAKE_PTR(c);
        return 0;
}

int fzd_resolved_revert_link_sync(sd_bus *bus, int ifindex, FzdError *ret_error) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        if (ret_error)
                *ret_error = FZD_ERROR_NULL;
        if (!bus || ifindex <= 0)
                return -EINVAL;
        r = new_call(bus, "RevertLink", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "i", ifindex);
        if (r < 0)
                return r;
        r = sd_bus_call(bus, m, FZD_RESOLVED_TIMEOUT_USEC / 5, &e, &reply);
        if (r < 0 && !is_no_such_link(&e))
                return fzd_resolved_error(&e, r, ret_error);
        return 0;
}
