/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns-control.h"
#include "dns-mode.h"
#include "dns-probe.h"
#include "dns-resolvconf.h"
#include "dns-resolved.h"
#include "dns-system.h"
#include "list.h"
#include "log.h"

#define DEFAULT_DEBOUNCE_USEC (500 * USEC_PER_MSEC)

/* A pending answer to get_system_resolvers (or to the watch's re-read). */
typedef struct Request {
        FzdDns *dns;
        LIST_FIELDS(struct Request, requests);
        FzdResolvedQuery *query; /* resolved mode */
        sd_event_source *defer;  /* file modes: the answer is ready, delivered from the loop */
        int error;
        FzdDnsResolver resolvers[FZD_DNS_MAX_RESOLVERS];
        size_t n;
        bool for_watch;
        FzdDnsSystemResolversFn done;
        void *userdata;
} Request;

struct FzdDns {
        sd_event *event;
        sd_bus *bus;
        FzdDnsControl mode;
        bool no_ipc;
        char *trace;
        char *state_dir, *resolv_conf;
        uint64_t debounce_usec;
        FzdDnsCallbacks callbacks;
        void *userdata;

        int ifindex;  /* of the TUN we configured; 0 if none */
        bool applied; /* settings are in place (or on their way) */

        /* The pending apply or revert. */
        bool op_is_revert;
        FzdResolvedCall *call;
        sd_event_source *op_defer;
        int op_error;
        FzdDnsDoneFn op_done;
        void *op_userdata;

        Request *requests;

        FzdDnsWatch *watch;
        bool have_last;
        FzdDnsResolver last[FZD_DNS_MAX_RESOLVERS];
        size_t n_last;

        FzdError last_error;
};

static void request_unlink(Request *q) {
        LIST_REMOVE(requests, q->dns->requests, q);
}

static void request_free(Request *q) {
        if (!q)
                return;
        request_unlink(q);
        fzd_resolved_query_free(q->query);
        sd_event_source_disable_unref(q->defer);
        free(q);
}

static void op_cancel(FzdDns *d) {
        d->call = fzd_resolved_call_free(d->call);
        d->op_defer = sd_event_source_disable_unref(d->op_defer);
        d->op_done = NULL;
        d->op_userdata = NULL;
}

FzdDns *fzd_dns_free(FzdDns *d) {
        if (!d)
                return NULL;
        op_cancel(d);
        while (d->requests)
                request_free(d->requests);
        fzd_dns_watch_free(d->watch);
        sd_bus_unref(d->bus);
        sd_event_unref(d->event);
        free(d->trace);
        free(d->state_dir);
        free(d->resolv_conf);
        return mfree(d);
}

int fzd_dns_new(sd_event *event, const FzdDnsParams *params, const FzdDnsCallbacks *callbacks,
                void *userdata, FzdDns **ret) {
        _cleanup_(fzd_dns_freep) FzdDns *d = NULL;

        if (!event || !params || isempty(params->state_dir) || !ret ||
            (unsigned)params->mode >= _FZD_DNS_CONTROL_MAX)
                return -EINVAL;
        d = calloc(1, sizeof *d);
        if (!d)
                return -ENOMEM;
        d->event = sd_event_ref(event);
        d->bus = params->bus ? sd_bus_ref(params->bus) : NULL;
        d->mode = params->mode;
        d->no_ipc = params->no_ipc;
        d->state_dir = strdup(params->state_dir);
        d->resolv_conf = strdup(params->resolv_conf ?: FZD_RESOLV_CONF_PATH);
        if (!d->state_dir || !d->resolv_conf)
                return -ENOMEM;
        d->debounce_usec = params->debounce_usec ?: DEFAULT_DEBOUNCE_USEC;
        if (callbacks)
                d->callbacks = *callbacks;
        d->userdata = userdata;
        *ret = TAKE_PTR(d);
        return 0;
}

static int ensure_bus(FzdDns *d) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (d->bus)
                return 0;
        r = sd_bus_open_system(&bus);
        if (r < 0)
                return r;
        r = sd_bus_attach_event(bus, d->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;
        d->bus = TAKE_PTR(bus);
        return 0;
}

static void set_last_error(FzdDns *d, const FzdError *err) {
        d->last_error = err ? *err : FZD_ERROR_NULL;
}

const FzdError *fzd_dns_last_error(const FzdDns *d) {
        return fzd_error_is_set(&d->last_error) ? &d->last_error : NULL;
}

FzdDnsControl fzd_dns_mode(const FzdDns *d) {
        return d->mode;
}

const char *fzd_dns_mode_in_use(const FzdDns *d) {
        return fzd_dns_control_to_string(d->mode);
}

const char *fzd_dns_detect_trace(const FzdDns *d) {
        return d->trace;
}

bool fzd_dns_is_applied(const FzdDns *d) {
        return d->applied;
}

int fzd_dns_detect(FzdDns *d) {
        _cleanup_(freep) char *target = NULL;
        FzdDnsProbes p = {};
        char trace[512];
        int r;

        if (d->mode != FZD_DNS_CONTROL_AUTO)
                return 0;

        fzd_dns_probe_resolv_conf(d->resolv_conf, d->state_dir, &p, &target);
        if (d->no_ipc)
                p.bus_not_asked = true;
        else {
                r = ensure_bus(d);
                if (r < 0)
                        log_debug_errno(r, "No system bus (%m): systemd-resolved counts as not running.");
                fzd_dns_probe_resolved(d->bus, &p);
        }

        d->mode = fzd_dns_mode_decide(&p, trace, sizeof trace);
        if (free_and_strdup(&d->trace, trace) < 0)
                return log_oom();
        log_info("DNS control: %s", trace);
        return 0;
}

int fzd_dns_cleanup_stale(FzdDns *d) {
        bool restored;
        int r;

        /* Whatever the mode now: the run that left the backup may have used another one. */
        r = fzd_resolvconf_restore(d->resolv_conf, d->state_dir, &restored);
        if (r < 0)
                return r;
        if (restored)
                log_notice("DNS: a previous run did not restore %s; restored it now.", d->resolv_conf);
        return 0;
}

/* ---- apply / revert ---------------------------------------------------------------- */

static void op_finish(FzdDns *d, int error, const FzdError *err) {
        FzdDnsDoneFn done = TAKE_PTR(d->op_done);
        FzdError copy = FZD_ERROR_NULL;

        if (error < 0)
                copy = err ? *err
                           : fzd_error_make(d->op_is_revert ? FZD_ERR_DNS_REVERT_FAILED : FZD_ERR_DNS_FAILED,
                                            error);
        set_last_error(d, error < 0 ? &copy : NULL);
        if (done)
                done(d->op_userdata, error, error < 0 ? &copy : NULL);
}

static void on_resolved_done(void *userdata, int error, const FzdError *err) {
        FzdDns *d = userdata;
        /* message lives in the call: free it only at the end. */
        _unused_ _cleanup_(fzd_resolved_call_freep) FzdResolvedCall *call = TAKE_PTR(d->call);

        if (error < 0) {
                char msg[FZD_ERROR_TEXT_MAX];
                log_error("DNS: %s", fzd_error_format(err, msg, sizeof msg));
        } else if (d->op_is_revert)
                log_info("DNS: reverted link %d in systemd-resolved (RevertLink).", d->ifindex);
        else
                log_info("DNS: link %d now routes DNS to the Firezone resolvers through systemd-resolved.",
                         d->ifindex);
        op_finish(d, error, err);
}

static int on_op_defer(sd_event_source *s, void *userdata) {
        FzdDns *d = userdata;

        d->op_defer = sd_event_source_disable_unref(d->op_defer);
        op_finish(d, d->op_error, fzd_dns_last_error(d));
        return 0;
}

/* For the file modes, which finish at once: the callback still comes from the loop. */
static int op_complete_later(FzdDns *d, int error) {
        int r;

        d->op_error = error;
        r = sd_event_add_defer(d->event, &d->op_defer, on_op_defer, d);
        if (r < 0) {
                d->op_done = NULL;
                return r;
        }
        return 0;
}

static void op_start(FzdDns *d, FzdDnsDoneFn done, void *userdata) {
        op_cancel(d);
        d->op_done = done;
        d->op_userdata = userdata;
}

int fzd_dns_apply(FzdDns *d, int ifindex, const FzdDnsAddress *sentinels, size_t n_sentinels,
                  const char *search_domain, FzdDnsDoneFn done, void *userdata) {
        FzdError err = FZD_ERROR_NULL;
        int r;

        if (ifindex <= 0 || !sentinels || n_sentinels == 0 || n_sentinels > FZD_DNS_MAX_SENTINELS)
                return -EINVAL;
        for (size_t i = 0; i < n_sentinels; i++)
                if ((sentinels[i].family != AF_INET && sentinels[i].family != AF_INET6) ||
                    !fzd_dns_address_is_sentinel(&sentinels[i]))
                        return log_error_errno(EINVAL,
                                               "DNS: refusing a nameserver outside the sentinel ranges.");
        if (!isempty(search_domain) && fzd_dns_name_check(search_domain) < 0)
                return log_error_errno(EINVAL, "DNS: refusing search domain \"%s\": not a DNS name.",
                                       fzd_dns_printable(search_domain, (char[FZD_DNS_PRINTABLE_MAX]){}));

        r = fzd_dns_detect(d);
        if (r < 0)
                return r;

        op_start(d, done, userdata);
        d->op_is_revert = false;
        switch (d->mode) {
        case FZD_DNS_CONTROL_SYSTEMD_RESOLVED:
                r = ensure_bus(d);
                if (r < 0) {
                        err = fzd_error_make(FZD_ERR_DNS_BUS_UNREACHABLE, r);
                        break;
                }
                r = fzd_resolved_set_link(d->bus, ifindex, sentinels, n_sentinels, search_domain,
                                          on_resolved_done, d, &d->call);
                break;

        case FZD_DNS_CONTROL_ETC_RESOLV_CONF:
                r = fzd_resolvconf_apply(d->resolv_conf, d->state_dir, sentinels, n_sentinels,
                                         search_domain);
                if (r < 0) {
                        err = fzd_error_make(FZD_ERR_DNS_RESOLV_CONF, r);
                        fzd_error_set_subject(&err, d->resolv_conf);
                        break;
                }
                r = op_complete_later(d, 0);
                break;

        case FZD_DNS_CONTROL_DISABLED:
        default:
                log_info(
                        "DNS control is disabled: names of resources resolve only for programs that ask the "
                        "Firezone resolvers themselves.");
                r = op_complete_later(d, 0);
                break;
        }
        if (r < 0) {
                d->op_done = NULL;
                if (!fzd_error_is_set(&err))
                        err = fzd_error_make(FZD_ERR_DNS_FAILED, r);
                set_last_error(d, &err);
                return r;
        }
        d->ifindex = ifindex;
        d->applied = true;
        set_last_error(d, NULL);
        return 0;
}

int fzd_dns_revert(FzdDns *d, FzdDnsDoneFn done, void *userdata) {
        int r = 0;

        op_start(d, done, userdata);
        d->op_is_revert = true;
        if (!d->applied)
                return op_complete_later(d, 0);

        switch (d->mode) {
        case FZD_DNS_CONTROL_SYSTEMD_RESOLVED:
                r = ensure_bus(d);
                if (r >= 0)
                        r = fzd_resolved_revert_link(d->bus, d->ifindex, on_resolved_done, d, &d->call);
                break;
        case FZD_DNS_CONTROL_ETC_RESOLV_CONF:
                r = fzd_resolvconf_restore(d->resolv_conf, d->state_dir, NULL);
                if (r >= 0)
                        r = op_complete_later(d, 0);
                break;
        default:
                r = op_complete_later(d, 0);
        }
        if (r < 0) {
                d->op_done = NULL;
                set_last_error(d, &(FzdError){ .code = FZD_ERR_DNS_REVERT_FAILED,
                                               .errnum = -r,
                                               .retry_usec = UINT64_MAX });
                return r;
        }
        d->applied = false;
        return 0;
}

int fzd_dns_revert_sync(FzdDns *d) {
        FzdError err = FZD_ERROR_NULL;
        int r = 0;

        op_cancel(d);
        if (!d->applied)
                return 0;
        switch (d->mode) {
        case FZD_DNS_CONTROL_SYSTEMD_RESOLVED: {
                _cleanup_(sd_bus_flush_close_unrefp) sd_bus *private_bus = NULL;

                r = ensure_bus(d);
                /* Once the loop has exited, sd-bus has closed the connection attached to it. */
                if (r >= 0 && !sd_bus_is_open(d->bus))
                        r = sd_bus_open_system(&private_bus);
                if (r >= 0)
                        r = fzd_resolved_revert_link_sync(private_bus ?: d->bus, d->ifindex, &err);
                if (r < 0) {
                        char msg[FZD_ERROR_TEXT_MAX];
                        log_warning("DNS: RevertLink on link %d failed: %s", d->ifindex,
                                    fzd_error_is_set(&err) ? fzd_error_format(&err, msg, sizeof msg)
                                                           : strerror(-r));
                } else
                        log_info("DNS: reverted link %d in systemd-resolved (RevertLink).", d->ifindex);
                break;
        }
        case FZD_DNS_CONTROL_ETC_RESOLV_CONF:
                r = fzd_resolvconf_restore(d->resolv_conf, d->state_dir, NULL);
                break;
        default:
                break;
        }
        if (r >= 0)
                d->applied = false;
        return r;
}

/* ---- system resolvers -------------------------------------------------------------- */

static void deliver(Request *q, int error, const FzdDnsResolver *resolvers, size_t n) {
        FzdDns *d = q->dns;
        bool changed = false;

        /* resolvers may live in q->query, which goes now. */
        if (error >= 0 && resolvers != q->resolvers)
                memcpy(q->resolvers, resolvers, n * sizeof resolvers[0]);
        q->n = error >= 0 ? n : 0;
        request_unlink(q);
        q->query = fzd_resolved_query_free(q->query);
        q->defer = sd_event_source_disable_unref(q->defer);

        if (error >= 0) {
                changed = d->have_last && !fzd_dns_resolvers_equal(d->last, d->n_last, q->resolvers, q->n);
                memcpy(d->last, q->resolvers, q->n * sizeof q->resolvers[0]);
                d->n_last = q->n;
                d->have_last = true;
        }
        /* The callees may free d. */
        if (!q->for_watch)
                q->done(q->userdata, error, error >= 0 ? q->resolvers : NULL, q->n);
        else if (changed && d->callbacks.resolvers_changed)
                d->callbacks.resolvers_changed(d->userdata, q->resolvers, q->n);
        free(q);
}

static void on_resolved_resolvers(void *userdata, int error, const FzdDnsResolver *resolvers, size_t n) {
        Request *q = userdata;

        /* q->query is still the caller of this; deliver() frees it. */
        deliver(q, error, resolvers, n);
}

static int on_request_defer(sd_event_source *s, void *userdata) {
        Request *q = userdata;

        deliver(q, q->error, q->resolvers, q->n);
        return 0;
}

static int request_start(FzdDns *d, bool for_watch, FzdDnsSystemResolversFn done, void *userdata) {
        Request *q;
        int r;

        q = calloc(1, sizeof *q);
        if (!q)
                return -ENOMEM;
        *q = (Request){.dns = d, .for_watch = for_watch, .done = done, .userdata = userdata};
        LIST_PREPEND(requests, d->requests, q);

        if (d->mode == FZD_DNS_CONTROL_SYSTEMD_RESOLVED) {
                r = ensure_bus(d);
                if (r >= 0)
                        r = fzd_resolved_get_resolvers(d->bus, d->applied ? d->ifindex : 0,
                                                       on_resolved_resolvers, q, &q->query);
        } else {
                _cleanup_(freep) char *text = NULL;
                size_t size = 0;

                r = fzd_resolvconf_read_original(d->resolv_conf, d->state_dir, &text, &size);
                if (r >= 0)
                        q->n = fzd_dns_resolvers_from_resolv_conf(text, size, q->resolvers,
                                                                  FZD_DNS_MAX_RESOLVERS);
                else if (r == -ENOENT) {
                        q->n = 0; /* no resolv.conf: no resolvers, not an error */
                        r = 0;
                } else
                        q->error = r;
                r = sd_event_add_defer(d->event, &q->defer, on_request_defer, q);
        }
        if (r < 0) {
                request_free(q);
                return r;
        }
        return 0;
}

int fzd_dns_get_system_resolvers(FzdDns *d, FzdDnsSystemResolversFn done, void *userdata) {
        int r;

        if (!done)
                return -EINVAL;
        r = fzd_dns_detect(d);
        if (r < 0)
                return r;
        return request_start(d, false, done, userdata);
}

static void on_watch_fire(void *userdata) {
        FzdDns *d = userdata;
        int r;

        r = request_start(d, true, NULL, NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to re-read the system's resolvers: %m, ignoring.");
}

int fzd_dns_watch(FzdDns *d, bool enable) {
        bool resolved;
        int r;

        if (!enable) {
                d->watch = fzd_dns_watch_free(d->watch);
                return 0;
        }
        if (d->watch)
                return 0;
        r = fzd_dns_detect(d);
        if (r < 0)
                return r;
        resolved = d->mode == FZD_DNS_CONTROL_SYSTEMD_RESOLVED;
        if (resolved) {
                r = ensure_bus(d);
                if (r < 0)
                        return log_error_errno(r, "Failed to connect to the system bus: %m");
        }
        r = fzd_dns_watch_new(d->event, resolved ? d->bus : NULL, resolved ? NULL : d->resolv_conf,
                              d->debounce_usec, on_watch_fire, d, &d->watch);
        if (r < 0)
                return r;
        /* The baseline that changes are measured against. */
        if (!d->have_last) {
                r = request_start(d, true, NULL, NULL);
                if (r < 0)
                        log_debug_errno(r, "Failed to read the system's resolvers: %m, ignoring.");
        }
        return 0;
}
