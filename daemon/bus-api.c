/* SPDX-License-Identifier: Apache-2.0 */
/* dev.firezone.Client1 on the system bus (dbus/dev.firezone.Client1.xml is the contract).
 * Every method runs parse → validate → authorize → mutate → reply; the manager's change
 * set comes back through the observer and is emitted from there. Every method call gets a
 * reply: run_method() answers failures itself, with text that is always valid UTF-8, and
 * falls back to a constant error if even that cannot be sent (#18). */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-api.h"
#include "bus-polkit.h"
#include "config.h"
#include "fz-names.h"
#include "log.h"
#include "text.h"
#include "token.h"
#include "url.h"
#include "utf8.h"

struct FzdBusApi {
        sd_bus *bus;
        sd_bus_slot *slot;
        FzdPolkit *polkit;
        FzdManager *m;

        /* What the properties show: the manager's last published view, and pointers into
         * it for SD_BUS_PROPERTY's offsets. */
        FzdManagerView view;
        const char *state, *mode, *account_slug, *actor_name, *interface_name, *last_error, *version;
        int internet_resource_enabled; /* sd-bus reads a "b" property as an int */
        char last_error_text[FZD_ERROR_TEXT_MAX];
};

#define ERROR_MANAGED       FZ_ERROR_MANAGED_BY_SERVICE_ACCOUNT
#define ERROR_TOKEN         FZ_ERROR_INVALID_TOKEN
#define ERROR_NOT_SIGNED_IN FZ_ERROR_NOT_SIGNED_IN
#define ERROR_ARGUMENT      FZ_ERROR_INVALID_ARGUMENT
#define ERROR_FAILED        FZ_ERROR_FAILED

#define MAX_DISPLAY_STRING FZD_DISPLAY_STRING_MAX /* account-slug, actor-name */

/* A handler result meaning "polkit has not answered yet; do not reply". */
#define PENDING 2

static const sd_bus_error_map fzd_bus_errors[] = {
        SD_BUS_ERROR_MAP(ERROR_MANAGED, EBUSY),
        SD_BUS_ERROR_MAP(ERROR_TOKEN, EBADMSG),
        SD_BUS_ERROR_MAP(ERROR_NOT_SIGNED_IN, ENOTCONN),
        SD_BUS_ERROR_MAP(ERROR_ARGUMENT, EINVAL),
        SD_BUS_ERROR_MAP(ERROR_FAILED, EIO),
        SD_BUS_ERROR_MAP_END,
};

static int managed_error(sd_bus_error *error) {
        return sd_bus_error_set(error, ERROR_MANAGED,
                                "This device is signed in with a service-account token managed by its administrator, "
                                "so signing in, signing out and reconnecting are not available here. Ask your "
                                "administrator.");
}

/* ---- argument checks -------------------------------------------------------------------- */

/* A caller's string, quoted in an error message: at most max bytes, cut at a character
 * boundary, control characters replaced. */
static const char *quote(const char *s, size_t max, char *buf, size_t size) {
        return fzd_utf8_sanitize(s, false, buf, max + 1 < size ? max + 1 : size);
}

static int check_display_string(const char *key, const char *v, sd_bus_error *error) {
        size_t n = strlen(v);

        if (n > MAX_DISPLAY_STRING)
                return sd_bus_error_setf(error, ERROR_ARGUMENT, "Option \"%s\" is longer than %d bytes. Pass a shorter value.",
                                         key, MAX_DISPLAY_STRING);
        if (!fzd_text_is_clean(v))
                return sd_bus_error_setf(error, ERROR_ARGUMENT,
                                         "Option \"%s\" contains control characters. Pass printable text.",
                                         key);
        return 0;
}

typedef struct SignInOptions {
        const char *account_slug;
        const char *actor_name;
        const char *api_url;
} SignInOptions;

static int parse_sign_in_options(sd_bus_message *msg, SignInOptions *o, sd_bus_error *error) {
        static const struct {
                const char *key;
                size_t offset;
        } known[] = {
                { FZ_OPTION_ACCOUNT_SLUG, offsetof(SignInOptions, account_slug) },
                { FZ_OPTION_ACTOR_NAME, offsetof(SignInOptions, actor_name) },
                { FZ_OPTION_API_URL, offsetof(SignInOptions, api_url) },
        };
        char q[80];
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                const char *key, *contents, **slot = NULL, *v;
                char type;

                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < ELEMENTSOF(known); i++)
                        if (streq(key, known[i].key))
                                slot = (const char **) ((char *) o + known[i].offset);
                if (!slot)
                        return sd_bus_error_setf(
                                error, ERROR_ARGUMENT,
                                "Unknown option \"%s\". Known options: account-slug, actor-name, "
                                "api-url.",
                                quote(key, 64, q, sizeof q));
                if (*slot)
                        return sd_bus_error_setf(error, ERROR_ARGUMENT, "Option \"%s\" is given twice. Pass it once.",
                                                 key);
                r = sd_bus_message_peek_type(msg, &type, &contents);
                if (r < 0)
                        return r;
                if (!streq(contents, "s"))
                        return sd_bus_error_setf(
                                error, ERROR_ARGUMENT,
                                "Option \"%s\" must be a string (s), not \"%s\". Pass it as <'…'>.", key,
                                quote(contents, 16, q, sizeof q));
                r = sd_bus_message_read(msg, "v", "s", &v);
                if (r < 0)
                        return r;
                *slot = v;
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                return r;

        if (o->account_slug && (r = check_display_string(FZ_OPTION_ACCOUNT_SLUG, o->account_slug, error)) < 0)
                return r;
        if (o->actor_name && (r = check_display_string(FZ_OPTION_ACTOR_NAME, o->actor_name, error)) < 0)
                return r;
        if (o->api_url) {
                const char *reason;
                if (fzd_api_url_check(o->api_url, &reason) < 0)
                        return sd_bus_error_setf(error, ERROR_ARGUMENT, "Option \"api-url\" is invalid: %s.", reason);
        }
        return 0;
}

/* ---- methods ---------------------------------------------------------------------------- */

static bool managed(const FzdBusApi *api) {
        return fzd_manager_view(api->m)->mode == FZD_MODE_SERVICE_ACCOUNT;
}

static int sign_in(sd_bus_message *msg, FzdBusApi *api, sd_bus_error *error) {
        _cleanup_(fzd_secret_freep) FzdSecret *secret = NULL;
        SignInOptions o = {};
        const char *token, *reason;
        int r;

        /* parse */
        r = sd_bus_message_read(msg, "s", &token);
        if (r < 0)
                return r;
        r = parse_sign_in_options(msg, &o, error);
        if (r < 0)
                return r;

        /* validate */
        if (fzd_token_check(token, strlen(token), &reason) < 0)
                return sd_bus_error_setf(error, ERROR_TOKEN, "The token is not valid: %s. Sign in again to get a new one.",
                                         reason);
        if (managed(api))
                return managed_error(error);

        /* authorize */
        r = fzd_polkit_check(api->polkit, msg, FZ_POLKIT_ACTION_SIGN_IN, "sign in to Firezone", error);
        if (r <= 0)
                return r == 0 ? PENDING : r;
        if (o.api_url) {
                r = fzd_polkit_check(api->polkit, msg, FZ_POLKIT_ACTION_CONFIGURE,
                                     "change the Firezone portal", error);
                if (r <= 0)
                        return r == 0 ? PENDING : r;
        }

        /* mutate (the change set comes back through the observer) */
        r = fzd_secret_new(token, strlen(token), &secret);
        if (r < 0)
                return r;
        r = fzd_manager_sign_in(api->m, &secret, o.account_slug, o.actor_name, o.api_url);
        if (r == -EBUSY)
                return managed_error(error);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Could not start connecting (%m). Try again.");

        /* reply */
        return sd_bus_reply_method_return(msg, NULL);
}

static int sign_out(sd_bus_message *msg, FzdBusApi *api, sd_bus_error *error) {
        int r;

        if (managed(api))
                return managed_error(error);
        r = fzd_polkit_check(api->polkit, msg, FZ_POLKIT_ACTION_SIGN_OUT, "sign out of Firezone",
                             error);
        if (r <= 0)
                return r == 0 ? PENDING : r;
        fzd_manager_sign_out(api->m, "sign-out");
        return sd_bus_reply_method_return(msg, NULL);
}

static int reconnect(sd_bus_message *msg, FzdBusApi *api, sd_bus_error *error) {
        int r;

        if (managed(api))
                return managed_error(error);
        r = fzd_polkit_check(api->polkit, msg, FZ_POLKIT_ACTION_RECONNECT, "reconnect Firezone",
                             error);
        if (r <= 0)
                return r == 0 ? PENDING : r;
        r = fzd_manager_reconnect(api->m, "reconnect");
        if (r == -ENOTCONN)
                return sd_bus_error_set(error, ERROR_NOT_SIGNED_IN, "Not signed in, so there is nothing to reconnect. Sign in first.");
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Could not reconnect (%m). Try again.");
        return sd_bus_reply_method_return(msg, NULL);
}

/* An options dictionary with no known keys yet: anything in it is refused. */
static int parse_no_options(sd_bus_message *msg, sd_bus_error *error) {
        const char *key;
        char q[80];
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(msg, 'e', "sv");
        if (r < 0)
                return r;
        if (r > 0) {
                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        return r;
                return sd_bus_error_setf(error, ERROR_ARGUMENT, "Unknown option \"%s\". This method takes no options.",
                                         quote(key, 64, q, sizeof q));
        }
        return sd_bus_message_exit_container(msg);
}

static int set_internet_resource(sd_bus_message *msg, FzdBusApi *api, sd_bus_error *error) {
        int enabled, r;

        r = sd_bus_message_read(msg, "b", &enabled);
        if (r < 0)
                return r;
        r = parse_no_options(msg, error);
        if (r < 0)
                return r;
        if (managed(api))
                return sd_bus_error_set(error, ERROR_MANAGED,
                                        "This device is managed by its administrator: the Internet resource is set with "
                                        "--activate-internet-resource (FIREZONE_ACTIVATE_INTERNET_RESOURCE). Ask your "
                                        "administrator.");
        r = fzd_polkit_check(api->polkit, msg, FZ_POLKIT_ACTION_SET_INTERNET_RESOURCE,
                             "switch the Internet resource on or off", error);
        if (r <= 0)
                return r == 0 ? PENDING : r;
        r = fzd_manager_set_internet_resource_enabled(api->m, enabled);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Could not switch the Internet resource (%m). Try again.");
        return sd_bus_reply_method_return(msg, NULL);
}

/* Every method ends here. A handler that failed has not replied: answer with its error,
 * its message made valid UTF-8; if even that cannot be sent, with a constant one. */
static int finish_method(sd_bus_message *msg, int r, sd_bus_error *error) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        char text[1024];
        int k;

        if (r >= 0)
                return r;
        if (!sd_bus_error_is_set(error))
                (void) sd_bus_error_set_errno(error, r);
        sd_bus_error_move(&e, error);
        log_debug("Method %s failed: %s", strempty(sd_bus_message_get_member(msg)), strempty(e.name));

        k = sd_bus_reply_method_errorf(
                msg, e.name ?: ERROR_FAILED, "%s",
                fzd_utf8_sanitize(e.message ?: "The request failed.", false, text, sizeof text));
        if (k < 0) {
                log_warning_errno(k, "Failed to send the error reply to %s, sending a generic one: %m",
                                  strempty(sd_bus_message_get_member(msg)));
                k = sd_bus_reply_method_error(
                        msg, &SD_BUS_ERROR_MAKE_CONST(ERROR_FAILED, "The request failed. Try again."));
        }
        return k < 0 ? k : 1;
}

/* Runs a mutating handler; once it is finished (not waiting for polkit) forgets the polkit
 * answers for this message. The token argument is wiped by sd-bus itself when the message
 * is freed (SD_BUS_VTABLE_SENSITIVE). */
static int run_mutating(sd_bus_message *msg, FzdBusApi *api, sd_bus_error *error,
                        int (*handler)(sd_bus_message *, FzdBusApi *, sd_bus_error *)) {
        int r;

        /* The message may be a re-dispatch after a polkit answer: read it from the start. */
        r = sd_bus_message_rewind(msg, true);
        if (r >= 0)
                r = handler(msg, api, error);
        if (r == PENDING)
                return 1;
        fzd_polkit_forget(api->polkit, msg);
        return finish_method(msg, r, error);
}

static int method_sign_in(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return run_mutating(msg, userdata, error, sign_in);
}

static int method_sign_out(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return run_mutating(msg, userdata, error, sign_out);
}

static int method_reconnect(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return run_mutating(msg, userdata, error, reconnect);
}

static int method_set_internet_resource(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return run_mutating(msg, userdata, error, set_internet_resource);
}

/* ---- dictionaries ----------------------------------------------------------------------- */

static int append_sv_s(sd_bus_message *r, const char *key, const char *value) {
        return sd_bus_message_append(r, "{sv}", key, "s", strempty(value));
}

static const char *addr_string(int family, const void *addr, char *buf, size_t size) {
        return inet_ntop(family, addr, buf, (socklen_t) size) ?: "";
}

static int append_status(sd_bus_message *reply, FzdBusApi *api) {
        const FzdManagerView *v = &api->view;
        char v4[INET_ADDRSTRLEN] = "", v6[INET6_ADDRSTRLEN] = "";
        int r;

        if (v->has_ipv4)
                addr_string(AF_INET, &v->ipv4, v4, sizeof v4);
        if (v->has_ipv6)
                addr_string(AF_INET6, &v->ipv6, v6, sizeof v6);

        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r >= 0)
                r = append_sv_s(reply, FZ_STATUS_KEY_STATE, api->state);
        if (r >= 0)
                r = append_sv_s(reply, FZ_STATUS_KEY_MODE, api->mode);
        if (r >= 0)
                r = append_sv_s(reply, FZ_STATUS_KEY_ACCOUNT_SLUG, api->account_slug);
        if (r >= 0)
                r = append_sv_s(reply, FZ_STATUS_KEY_ACTOR_NAME, api->actor_name);
        if (r >= 0)
                r = append_sv_s(reply, FZ_STATUS_KEY_INTERFACE, api->interface_name);
        if (r >= 0)
                r = append_sv_s(reply, FZ_STATUS_KEY_IPV4, v4);
        if (r >= 0)
                r = append_sv_s(reply, FZ_STATUS_KEY_IPV6, v6);
        if (r >= 0)
                r = append_sv_s(reply, FZ_STATUS_KEY_DNS_CONTROL, fzd_manager_dns_control(api->m));
        if (r >= 0)
                r = append_sv_s(reply, FZ_STATUS_KEY_LAST_ERROR, api->last_error);
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", FZ_STATUS_KEY_REQUIRES_SIGN_IN, "b", (int) v->requires_sign_in);
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", FZ_STATUS_KEY_CONNECTED_SINCE, "t", v->connected_since);
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", FZ_STATUS_KEY_RESOURCE_COUNT, "u",
                                          (uint32_t) fzd_resource_table_size(fzd_manager_resources(api->m)));
        if (r >= 0)
                r = append_sv_s(reply, FZ_STATUS_KEY_VERSION, FZ_VERSION);
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", FZ_STATUS_KEY_INTERNET_RESOURCE_ENABLED, "b",
                                          api->internet_resource_enabled);
        if (r >= 0) {
                FzdConnStats s;
                (void) fzd_manager_connection_stats(api->m, &s);
                r = sd_bus_message_append(reply, "{sv}{sv}{sv}", FZ_STATUS_KEY_GATEWAYS, "u", s.gateways,
                                          FZ_STATUS_KEY_RX_BYTES, "t", s.rx_bytes, FZ_STATUS_KEY_TX_BYTES, "t",
                                          s.tx_bytes);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

static int append_resource(sd_bus_message *reply, const FzdResource *res) {
        int r;

        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r >= 0)
                r = append_sv_s(reply, FZ_RESOURCE_KEY_ID, res->id);
        if (r >= 0)
                r = append_sv_s(reply, FZ_RESOURCE_KEY_TYPE, fzd_resource_type_to_string(res->type));
        if (r >= 0)
                r = append_sv_s(reply, FZ_RESOURCE_KEY_NAME, res->name);
        if (r >= 0)
                r = append_sv_s(reply, FZ_RESOURCE_KEY_ADDRESS, res->address);
        if (r >= 0)
                r = append_sv_s(reply, FZ_RESOURCE_KEY_DESCRIPTION, res->description);
        if (r >= 0)
                r = append_sv_s(reply, FZ_RESOURCE_KEY_STATUS, fzd_resource_status_to_string(res->status));
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", FZ_RESOURCE_KEY_SITES);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'v', "a(ss)");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ss)");
        for (size_t i = 0; r >= 0 && i < res->n_sites; i++)
                r = sd_bus_message_append(reply, "(ss)", strempty(res->sites[i].id), strempty(res->sites[i].name));
        for (int k = 0; r >= 0 && k < 4; k++) /* a(ss), v, e, a{sv} */
                r = sd_bus_message_close_container(reply);
        return r;
}

static int append_resources(sd_bus_message *reply, FzdBusApi *api) {
        _cleanup_(freep) const FzdResource **v = NULL;
        size_t n;
        int r;

        r = fzd_resource_table_sorted(fzd_manager_resources(api->m), &v, &n);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "a{sv}");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = append_resource(reply, v[i]);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

static int method_status(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = append_status(reply, userdata);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        return finish_method(msg, r, error);
}

static int method_list_resources(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = append_resources(reply, userdata);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        return finish_method(msg, r, error);
}

/* ---- the vtable ------------------------------------------------------------------------- */

#define PROPERTY(name, field)                                                                               \
        SD_BUS_PROPERTY(name, "s", NULL, offsetof(FzdBusApi, field), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE)

static const sd_bus_vtable client1_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS(FZ_METHOD_SIGN_IN, SD_BUS_ARGS("s", token, "a{sv}", options), SD_BUS_NO_RESULT,
                                method_sign_in, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS(FZ_METHOD_SIGN_OUT, SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_sign_out,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS(FZ_METHOD_RECONNECT, SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_reconnect,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS(FZ_METHOD_SET_INTERNET_RESOURCE_ENABLED, SD_BUS_ARGS("b", enabled, "a{sv}", options),
                                SD_BUS_NO_RESULT, method_set_internet_resource, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS(FZ_METHOD_STATUS, SD_BUS_NO_ARGS, SD_BUS_RESULT("a{sv}", status), method_status,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS(FZ_METHOD_LIST_RESOURCES, SD_BUS_NO_ARGS, SD_BUS_RESULT("aa{sv}", resources),
                                method_list_resources, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS(FZ_SIGNAL_STATE_CHANGED, SD_BUS_ARGS("s", state, "a{sv}", details), 0),
        SD_BUS_SIGNAL_WITH_ARGS(FZ_SIGNAL_RESOURCES_CHANGED, SD_BUS_ARGS("aa{sv}", resources), 0),
        PROPERTY(FZ_PROPERTY_STATE, state),
        PROPERTY(FZ_PROPERTY_MODE, mode),
        PROPERTY(FZ_PROPERTY_ACCOUNT_SLUG, account_slug),
        PROPERTY(FZ_PROPERTY_ACTOR_NAME, actor_name),
        PROPERTY(FZ_PROPERTY_INTERFACE_NAME, interface_name),
        PROPERTY(FZ_PROPERTY_LAST_ERROR, last_error),
        SD_BUS_PROPERTY(FZ_PROPERTY_INTERNET_RESOURCE_ENABLED, "b", NULL, offsetof(FzdBusApi, internet_resource_enabled),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY(FZ_PROPERTY_VERSION, "s", NULL, offsetof(FzdBusApi, version), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_VTABLE_END,
};

/* ---- the observer: emission ------------------------------------------------------------- */

/* Take over the manager's view; compose the sentence of its error (the one place). */
static void publish(FzdBusApi *api) {
        api->view = *fzd_manager_view(api->m);
        api->state = fzd_state_to_string(api->view.state);
        api->mode = fzd_mode_to_string(api->view.mode);
        api->account_slug = api->view.account_slug;
        api->actor_name = api->view.actor_name;
        api->interface_name = api->view.interface_name;
        api->internet_resource_enabled = api->view.internet_resource_enabled;
        api->last_error =
                fzd_error_format(&api->view.last_error, api->last_error_text, sizeof api->last_error_text);
}

static void on_changed(void *userdata, const FzdManager *m, FzdChange changes, FzdState old_state,
                       const char *reason) {
        FzdBusApi *api = userdata;
        const char *names[8];
        size_t n = 0;
        int r;

        publish(api);
        if (changes & FZD_CHANGE_STATE)
                names[n++] = FZ_PROPERTY_STATE;
        if (changes & FZD_CHANGE_MODE)
                names[n++] = FZ_PROPERTY_MODE;
        if (changes & FZD_CHANGE_ACCOUNT) {
                names[n++] = FZ_PROPERTY_ACCOUNT_SLUG;
                names[n++] = FZ_PROPERTY_ACTOR_NAME;
        }
        if (changes & FZD_CHANGE_INTERFACE)
                names[n++] = FZ_PROPERTY_INTERFACE_NAME;
        if (changes & FZD_CHANGE_LAST_ERROR)
                names[n++] = FZ_PROPERTY_LAST_ERROR;
        if (changes & FZD_CHANGE_INTERNET_RESOURCE)
                names[n++] = FZ_PROPERTY_INTERNET_RESOURCE_ENABLED;
        names[n] = NULL;

        if (n > 0) {
                r = sd_bus_emit_properties_changed_strv(api->bus, FZ_BUS_PATH, FZ_BUS_INTERFACE,
                                                        (char **) names);
                if (r < 0)
                        log_warning_errno(r, "Failed to emit PropertiesChanged, ignoring: %m");
        }
        if (changes & (FZD_CHANGE_STATE | FZD_CHANGE_LAST_ERROR | FZD_CHANGE_REQUIRES_SIGN_IN)) {
                r = sd_bus_emit_signal(api->bus, FZ_BUS_PATH, FZ_BUS_INTERFACE, FZ_SIGNAL_STATE_CHANGED, "sa{sv}",
                                       api->state, 3, FZ_DETAIL_KEY_REASON, "s", strempty(reason),
                                       FZ_DETAIL_KEY_LAST_ERROR, "s", api->last_error, FZ_DETAIL_KEY_REQUIRES_SIGN_IN, "b",
                                       (int) api->view.requires_sign_in);
                if (r < 0)
                        log_warning_errno(r, "Failed to emit StateChanged, ignoring: %m");
        }
}

static void on_resources_changed(void *userdata, const FzdManager *m) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *sig = NULL;
        FzdBusApi *api = userdata;
        int r;

        r = sd_bus_message_new_signal(api->bus, &sig, FZ_BUS_PATH, FZ_BUS_INTERFACE, FZ_SIGNAL_RESOURCES_CHANGED);
        if (r >= 0)
                r = append_resources(sig, api);
        if (r >= 0)
                r = sd_bus_send(api->bus, sig, NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to emit ResourcesChanged, ignoring: %m");
}

static void on_detached(void *userdata) {
        FzdBusApi *api = userdata;

        api->m = NULL;
}

static const FzdManagerObserver observer = {
        .changed = on_changed,
        .resources_changed = on_resources_changed,
        .detached = on_detached,
};

/* ---- life cycle ------------------------------------------------------------------------- */

int fzd_bus_api_new(sd_bus *bus, FzdManager *m, FzdBusApi **ret) {
        _cleanup_(fzd_bus_api_freep) FzdBusApi *api = NULL;
        int r;

        api = calloc(1, sizeof *api);
        if (!api)
                return log_oom();
        api->bus = sd_bus_ref(bus);
        api->m = m;
        api->version = FZ_VERSION;
        publish(api);

        r = sd_bus_error_add_map(fzd_bus_errors);
        if (r < 0)
                return log_error_errno(r, "Failed to register D-Bus error names: %m");
        r = sd_bus_add_object_vtable(bus, &api->slot, FZ_BUS_PATH, FZ_BUS_INTERFACE, client1_vtable, api);
        if (r < 0)
                return log_error_errno(r, "Failed to export %s: %m", FZ_BUS_PATH);
        r = fzd_polkit_new(bus, &api->polkit);
        if (r < 0)
                return log_oom();
        r = fzd_manager_add_observer(m, &observer, api);
        if (r < 0)
                return log_error_errno(r, "Failed to observe the manager: %m");
        *ret = TAKE_PTR(api);
        return 0;
}

void fzd_bus_api_detach(FzdBusApi *api) {
        if (api && api->m) {
                fzd_manager_remove_observer(api->m, &observer, api);
                api->m = NULL;
        }
}

FzdBusApi *fzd_bus_api_free(FzdBusApi *api) {
        if (!api)
                return NULL;
        fzd_bus_api_detach(api);
        fzd_polkit_free(api->polkit);
        sd_bus_slot_unref(api->slot);
        sd_bus_flush_close_unref(api->bus);
        free(api);
        return NULL;
}

sd_bus *fzd_bus_api_bus(const FzdBusApi *api) {
        return api ? api->bus : NULL;
}
