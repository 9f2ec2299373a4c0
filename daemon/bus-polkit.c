/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus-polkit.h"
#include "list.h"
#include "log.h"

typedef enum QueryState {
        QUERY_PENDING,
        QUERY_AUTHORIZED,
        QUERY_DENIED,
        QUERY_CHALLENGE, /* would be allowed after authentication, but interaction was not allowed */
        QUERY_NO_POLKIT,
        QUERY_FAILED,
} QueryState;

typedef struct Query Query;
struct Query {
        FzdPolkit *owner;
        LIST_FIELDS(Query, queries);
        sd_bus_message *request; /* the method call we answer for (ref) */
        sd_bus_slot *slot;       /* the CheckAuthorization call in flight */
        char *action;
        char *sender;
        QueryState state;
        bool interactive;    /* the caller allowed interactive authorization */
        char *error_message; /* polkit's error, for QUERY_FAILED */
};

struct FzdPolkit {
        sd_bus *bus;
        Query *queries;
        size_t n_queries;
};

static Query *query_free(Query *q) {
        if (!q)
                return NULL;
        if (q->owner) {
                LIST_REMOVE(queries, q->owner->queries, q);
                q->owner->n_queries--;
        }
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->request);
        free(q->action);
        free(q->sender);
        free(q->error_message);
        free(q);
        return NULL;
}

int fzd_polkit_new(sd_bus *bus, FzdPolkit **ret) {
        FzdPolkit *p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->bus = sd_bus_ref(bus);
        *ret = p;
        return 0;
}

FzdPolkit *fzd_polkit_free(FzdPolkit *p) {
        if (!p)
                return NULL;
        while (p->queries)
                query_free(p->queries);
        sd_bus_unref(p->bus);
        free(p);
        return NULL;
}

void fzd_polkit_forget(FzdPolkit *p, sd_bus_message *m) {
        if (!p)
                return;
        LIST_FOREACH(queries, q, p->queries) {
                if (q->request == m)
                        query_free(q);
        }
}

static bool polkit_missing(const sd_bus_error *e) {
        return sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER,
                                      SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_DISCONNECTED);
}

static int on_check_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Query *q = userdata;
        const sd_bus_error *e;
        int authorized, challenge, r;

        q->slot = sd_bus_slot_unref(q->slot);

        e = sd_bus_message_get_error(reply);
        if (e) {
                if (polkit_missing(e)) {
                        log_debug("polkit is not available (%s), falling back to root-only.", e->name);
                        q->state = QUERY_NO_POLKIT;
                } else {
                        log_warning("polkit CheckAuthorization for %s failed: %s: %s", q->action, e->name,
                                    strempty(e->message));
                        q->state = QUERY_FAILED;
                        q->error_message = strdup(strempty(e->message));
                }
        } else {
                r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
                if (r >= 0)
                        r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
                if (r < 0) {
                        log_warning_errno(r, "Failed to parse polkit's reply: %m");
                        q->state = QUERY_FAILED;
                } else
                        q->state = authorized ? QUERY_AUTHORIZED : challenge ? QUERY_CHALLENGE : QUERY_DENIED;
        }

        log_debug("polkit: %s for %s: %s", q->action, q->sender,
                  q->state == QUERY_AUTHORIZED ? "authorized" : q->state == QUERY_NO_POLKIT ? "no polkit" : "denied");

        /* Run the original method handler again; it will find this answer. */
        r = sd_bus_enqueue_for_read(q->owner->bus, q->request);
        if (r < 0) {
                log_error_errno(r, "Failed to re-queue the method call after the polkit check: %m");
                (void) sd_bus_reply_method_errorf(q->request, SD_BUS_ERROR_FAILED,
                                                  "The authorization check could not be completed. Try again.");
                query_free(q);
        }
        return 0;
}

static int start_query(FzdPolkit *p, sd_bus_message *m, const char *action, const char *sender) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        Query *q;
        bool interactive = sd_bus_message_get_allow_interactive_authorization(m) > 0;
        int r;

        q = calloc(1, sizeof *q);
        if (!q)
                return -ENOMEM;
        q->request = sd_bus_message_ref(m);
        q->interactive = interactive;
        q->action = strdup(action);
        q->sender = strdup(sender);
        if (!q->action || !q->sender) {
                query_free(q);
                return -ENOMEM;
        }

        r = sd_bus_message_new_method_call(p->bus, &call, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r >= 0)
                r = sd_bus_message_append(call, "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s", sender,
                                          action, 0, (uint32_t) (interactive ? 1 : 0), "");
        if (r >= 0)
                /* An agent may prompt for a password: allow the user time to type it. */
                r = sd_bus_call_async(p->bus, &q->slot, call, on_check_reply, q,
                                      interactive ? 300 * USEC_PER_SEC : 25 * USEC_PER_SEC);
        if (r < 0) {
                query_free(q);
                return r;
        }

        q->owner = p;
        LIST_PREPEND(queries, p->queries, q);
        p->n_queries++;
        return 0;
}

static int deny(sd_bus_error *error, const char *what, const char *action, const char *extra) {
        return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                 "You are not allowed to %s (polkit action %s)%s. Ask an administrator to add you to "
                                 "group firezone (sudo usermod -aG firezone $USER, then log in again) or to allow "
                                 "the action in polkit.",
                                 what, action, strempty(extra));
}

int fzd_polkit_check(FzdPolkit *p, sd_bus_message *m, const char *action, const char *what, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        const char *sender = sd_bus_message_get_sender(m);
        size_t per_sender = 0;
        QueryState state;
        const char *msg;
        uid_t euid;
        int r;

        if (!sender)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "Only callers on the bus can be authorized.");

        LIST_FOREACH(queries, q, p->queries) {
                if (q->request == m && streq(q->action, action)) {
                        if (q->state == QUERY_PENDING)
                                return 0; /* dispatched again before the answer: keep waiting */
                        /* Answered: the result stays attached to the message until the handler
                         * is done with it (fzd_polkit_forget), so a handler that checks two
                         * actions sees the first answer again when it is re-run for the second. */
                        state = q->state;
                        msg = q->error_message;
                        if (state == QUERY_CHALLENGE && q->interactive)
                                /* Interaction was allowed and polkit still wants it: no agent answered. */
                                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                                         "You need to authenticate as an administrator to %s, but "
                                                         "no polkit authentication agent answered. Run the command "
                                                         "in a desktop session (or with pkttyagent), or as root.",
                                                         what);
                        switch (state) {
                        case QUERY_AUTHORIZED:
                                return 1;
                        case QUERY_CHALLENGE:
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                                         "Authentication is required to %s. Call again with "
                                                         "interactive authorization allowed, or ask an "
                                                         "administrator.",
                                                         what);
                        case QUERY_DENIED:
                                return deny(error, what, action, NULL);
                        case QUERY_NO_POLKIT:
                                /* Fail closed: without polkit only root may change anything. */
                                r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &creds);
                                if (r >= 0)
                                        r = sd_bus_creds_get_euid(creds, &euid);
                                if (r >= 0 && euid == 0)
                                        return 1;
                                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                                         "polkit is not running, so only root may %s. Start it "
                                                         "(sudo systemctl start polkit) or run the command as root.",
                                                         what);
                        case QUERY_FAILED:
                        default:
                                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                                         "The authorization check failed (%s), so you may not %s. "
                                                         "Try again; if it persists, check that polkit is working.",
                                                         msg ? msg : "no answer from polkit", what);
                        }
                }
                if (streq(q->sender, sender))
                        per_sender++;
        }

        if (per_sender >= FZD_POLKIT_MAX_PENDING_PER_SENDER || p->n_queries >= FZD_POLKIT_MAX_PENDING)
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "Too many authorization requests are pending%s. Wait for them to finish "
                                         "and try again.",
                                         per_sender >= FZD_POLKIT_MAX_PENDING_PER_SENDER ? " for this client" : "");

        r = start_query(p, m, action, sender);
        if (r < 0) {
                log_error_errno(r, "Failed to ask polkit about %s: %m", action);
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED,
                                         "Could not check authorization (%s). Try again.", strerror(-r));
        }
        return 0;
}
