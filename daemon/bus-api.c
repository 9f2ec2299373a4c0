/* SPDX-License-Identifier: Apache-2.0 */
/* dev.firezone.Client1 on the system bus (dbus/dev.firezone.Client1.xml is the contract).
 * Every method runs parse → validate → authorize → mutate → emit → reply. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "config.h"
#include "log.h"
#include "manager.h"
#include "token.h"

#define ERROR_MANAGED   "dev.firezone.Client1.Error.ManagedByServiceAccount"
#define ERROR_TOKEN     "dev.firezone.Client1.Error.InvalidToken"
#define ERROR_NOT_SIGNED_IN "dev.firezone.Client1.Error.NotSignedIn"
#define ERROR_ARGUMENT  "dev.firezone.Client1.Error.InvalidArgument"
#define ERROR_FAILED    "dev.firezone.Client1.Error.Failed"

#define MAX_DISPLAY_STRING 256 /* account-slug, actor-name */

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

static int check_display_string(const char *key, const char *v, sd_bus_error *error) {
        size_t n = strlen(v);

        if (n > MAX_DISPLAY_STRING)
                return sd_bus_error_setf(error, ERROR_ARGUMENT, "Option \"%s\" is longer than %d bytes. Pass a shorter value.",
                                         key, MAX_DISPLAY_STRING);
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) v[i] < 0x20 || v[i] == 0x7f)
                        return sd_bus_error_setf(error, ERROR_ARGUMENT,
                                                 "Option \"%s\" contains control characters. Pass printable text.", key);
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
                { "account-slug", offsetof(SignInOptions, account_slug) },
                { "actor-name", offsetof(SignInOptions, actor_name) },
                { "api-url", offsetof(SignInOptions, api_url) },
        };
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
                        return sd_bus_error_setf(error, ERROR_ARGUMENT,
                                                 "Unknown option \"%.64s\". Known options: account-slug, actor-name, "
                                                 "api-url.",
                                                 key);
                if (*slot)
                        return sd_bus_error_setf(error, ERROR_ARGUMENT, "Option \"%s\" is given twice. Pass it once.",
                                                 key);
                r = sd_bus_message_peek_type(msg, &type, &contents);
                if (r < 0)
                        return r;
                if (!streq(contents, "s"))
                        return sd_bus_error_setf(error, ERROR_ARGUMENT,
                                                 "Option \"%s\" must be a string (s), not \"%.16s\". Pass it as <'…'>.",
                                                 key, contents);
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

        if (o->account_slug && (r = check_display_string("account-slug", o->account_slug, error)) < 0)
                return r;
        if (o->actor_name && (r = check_display_string("actor-name", o->actor_name, error)) < 0)
                return r;
        if (o->api_url) {
                const char *reason;
                if (fzd_api_url_check(o->api_url, &reason) < 0)
                        return sd_bus_error_setf(error, ERROR_ARGUMENT, "Option \"api-url\" is invalid: %s.", reason);
        }
        return 0;
}

/* ---- methods ---------------------------------------------------------------------------- */

static int sign_in(sd_bus_message *msg, FzdManager *m, sd_bus_error *error) {
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
        if (m->mode == FZD_MODE_SERVICE_ACCOUNT)
                return managed_error(error);

        /* authorize */
        r = fzd_polkit_check(m->polkit, msg, "dev.firezone.client1.sign-in", "sign in to Firezone", error);
        if (r <= 0)
                return r == 0 ? PENDING : r;
        if (o.api_url) {
                r = fzd_polkit_check(m->polkit, msg, "dev.firezone.client1.configure", "change the Firezone portal",
                                     error);
                if (r <= 0)
                        return r == 0 ? PENDING : r;
        }

        /* mutate (and emit, from the manager) */
        r = fzd_secret_new(token, strlen(token), &secret);
        if (r < 0)
                return r;
        r = fzd_manager_sign_in(m, &secret, o.account_slug, o.actor_name, o.api_url);
        if (r == -EBUSY)
                return managed_error(error);
        if (r < 0)
                return sd_bus_error_setf(error, ERROR_FAILED, "Could not start connecting (%s). Try again.", strerror(-r));

        /* reply */
        return sd_bus_reply_method_return(msg, NULL);
}

static int sign_out(sd_bus_message *msg, FzdManager *m, sd_bus_error *error) {
        int r;

        if (m->mode == FZD_MODE_SERVICE_ACCOUNT)
                return managed_error(error);
        r = fzd_polkit_check(m->polkit, msg, "dev.firezone.client1.sign-out", "sign out of Firezone", error);
        if (r <= 0)
                return r == 0 ? PENDING : r;
        fzd_manager_sign_out(m, "sign-out");
        return sd_bus_reply_method_return(msg, NULL);
}

static int reconnect(sd_bus_message *msg, FzdManager *m, sd_bus_error *error) {
        int r;

        if (m->mode == FZD_MODE_SERVICE_ACCOUNT)
                return managed_error(error);
        r = fzd_polkit_check(m->polkit, msg, "dev.firezone.client1.reconnect", "reconnect Firezone", error);
        if (r <= 0)
                return r == 0 ? PENDING : r;
        r = fzd_manager_reconnect(m, "reconnect");
        if (r == -ENOTCONN)
                return sd_bus_error_set(error, ERROR_NOT_SIGNED_IN, "Not signed in, so there is nothing to reconnect. Sign in first.");
        if (r < 0)
                return sd_bus_error_setf(error, ERROR_FAILED, "Could not reconnect (%s). Try again.", strerror(-r));
        return sd_bus_reply_method_return(msg, NULL);
}

/* Runs a mutating handler; once it is finished (not waiting for polkit) forgets the polkit
 * answers for this message and wipes the token argument from the message's buffer. */
static int run_mutating(sd_bus_message *msg, FzdManager *m, sd_bus_error *error,
                        int (*handler)(sd_bus_message *, FzdManager *, sd_bus_error *), bool has_token) {
        int r;

        /* The message may be a re-dispatch after a polkit answer: read it from the start. */
        r = sd_bus_message_rewind(msg, true);
        if (r < 0)
                return r;
        r = handler(msg, m, error);
        if (r == PENDING)
                return 1;

        fzd_polkit_forget(m->polkit, msg);
        if (has_token && sd_bus_message_rewind(msg, true) >= 0) {
                const char *token;
                if (sd_bus_message_read(msg, "s", &token) >= 0)
                        explicit_bzero((char *) token, strlen(token));
        }
        return r;
}

static int method_sign_in(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return run_mutating(msg, userdata, error, sign_in, true);
}

static int method_sign_out(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return run_mutating(msg, userdata, error, sign_out, false);
}

static int method_reconnect(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return run_mutating(msg, userdata, error, reconnect, false);
}

/* ---- dictionaries ----------------------------------------------------------------------- */

static int append_sv_s(sd_bus_message *r, const char *key, const char *value) {
        return sd_bus_message_append(r, "{sv}", key, "s", strempty(value));
}

static const char *addr_string(int family, const void *addr, char *buf, size_t size) {
        return inet_ntop(family, addr, buf, (socklen_t) size) ?: "";
}

static int append_status(sd_bus_message *reply, FzdManager *m) {
        char v4[INET_ADDRSTRLEN] = "", v6[INET6_ADDRSTRLEN] = "";
        const FzdInterfaceConfig *c = &m->interface_config;
        int r;

        if (m->has_interface_config && c->has_ipv4)
                addr_string(AF_INET, &c->ipv4, v4, sizeof v4);
        if (m->has_interface_config && c->has_ipv6)
                addr_string(AF_INET6, &c->ipv6, v6, sizeof v6);

        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r >= 0)
                r = append_sv_s(reply, "state", fzd_state_to_string(m->state));
        if (r >= 0)
                r = append_sv_s(reply, "mode", fzd_mode_to_string(m->mode));
        if (r >= 0)
                r = append_sv_s(reply, "account-slug", m->account_slug);
        if (r >= 0)
                r = append_sv_s(reply, "actor-name", m->actor_name);
        if (r >= 0)
                r = append_sv_s(reply, "interface", fzd_manager_interface_name(m));
        if (r >= 0)
                r = append_sv_s(reply, "ipv4", v4);
        if (r >= 0)
                r = append_sv_s(reply, "ipv6", v6);
        if (r >= 0)
                r = append_sv_s(reply, "dns-control", fzd_manager_dns_control(m));
        if (r >= 0)
                r = append_sv_s(reply, "last-error", m->last_error);
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", "requires-sign-in", "b", (int) m->requires_sign_in);
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", "connected-since", "t", m->connected_since);
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", "resource-count", "u",
                                          (uint32_t) fzd_resource_table_size(m->resources));
        if (r >= 0)
                r = append_sv_s(reply, "version", FZ_VERSION);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

static int append_resource(sd_bus_message *reply, const FzdResource *res) {
        int r;

        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r >= 0)
                r = append_sv_s(reply, "id", res->id);
        if (r >= 0)
                r = append_sv_s(reply, "type", fzd_resource_type_to_string(res->type));
        if (r >= 0)
                r = append_sv_s(reply, "name", res->name);
        if (r >= 0)
                r = append_sv_s(reply, "address", res->address);
        if (r >= 0)
                r = append_sv_s(reply, "description", res->description);
        if (r >= 0)
                r = append_sv_s(reply, "status", fzd_resource_status_to_string(res->status));
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", "sites");
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

static int append_resources(sd_bus_message *reply, FzdManager *m) {
        _cleanup_(freep) const FzdResource **v = NULL;
        size_t n;
        int r;

        r = fzd_resource_table_sorted(m->resources, &v, &n);
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
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_list_resources(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = append_resources(reply, userdata);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* ---- properties ------------------------------------------------------------------------- */

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        FzdManager *m = userdata;
        const char *v = NULL;

        if (streq(property, "State"))
                v = fzd_state_to_string(m->state);
        else if (streq(property, "Mode"))
                v = fzd_mode_to_string(m->mode);
        else if (streq(property, "AccountSlug"))
                v = m->account_slug;
        else if (streq(property, "ActorName"))
                v = m->actor_name;
        else if (streq(property, "InterfaceName"))
                v = fzd_manager_interface_name(m);
        else if (streq(property, "LastError"))
                v = m->last_error;
        else if (streq(property, "Version"))
                v = FZ_VERSION;
        else
                return -ENOENT;
        return sd_bus_message_append(reply, "s", strempty(v));
}

static const sd_bus_vtable client1_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("SignIn", SD_BUS_ARGS("s", token, "a{sv}", options), SD_BUS_NO_RESULT,
                                method_sign_in, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SignOut", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_sign_out,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reconnect", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_reconnect,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Status", SD_BUS_NO_ARGS, SD_BUS_RESULT("a{sv}", status), method_status,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListResources", SD_BUS_NO_ARGS, SD_BUS_RESULT("aa{sv}", resources),
                                method_list_resources, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("StateChanged", SD_BUS_ARGS("s", state, "a{sv}", details), 0),
        SD_BUS_SIGNAL_WITH_ARGS("ResourcesChanged", SD_BUS_ARGS("aa{sv}", resources), 0),
        SD_BUS_PROPERTY("State", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Mode", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("AccountSlug", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ActorName", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("InterfaceName", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastError", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Version", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_VTABLE_END,
};

/* ---- emission --------------------------------------------------------------------------- */

void fzd_bus_api_emit_changes(FzdManager *m, FzdChange changes, const char *reason) {
        const char *names[8];
        size_t n = 0;
        int r;

        if (!m->bus || !changes)
                return;

        if (changes & FZD_CHANGE_STATE)
                names[n++] = "State";
        if (changes & FZD_CHANGE_MODE)
                names[n++] = "Mode";
        if (changes & FZD_CHANGE_ACCOUNT) {
                names[n++] = "AccountSlug";
                names[n++] = "ActorName";
        }
        if (changes & FZD_CHANGE_INTERFACE)
                names[n++] = "InterfaceName";
        if (changes & FZD_CHANGE_LAST_ERROR)
                names[n++] = "LastError";
        names[n] = NULL;

        r = sd_bus_emit_properties_changed_strv(m->bus, FZ_BUS_PATH, FZ_BUS_INTERFACE, (char **) names);
        if (r < 0)
                log_warning_errno(r, "Failed to emit PropertiesChanged, ignoring: %m");

        if (changes & (FZD_CHANGE_STATE | FZD_CHANGE_LAST_ERROR)) {
                r = sd_bus_emit_signal(m->bus, FZ_BUS_PATH, FZ_BUS_INTERFACE, "StateChanged", "sa{sv}",
                                       fzd_state_to_string(m->state), 3, "reason", "s", strempty(reason), "last-error",
                                       "s", strempty(m->last_error), "requires-sign-in", "b", (int) m->requires_sign_in);
                if (r < 0)
                        log_warning_errno(r, "Failed to emit StateChanged, ignoring: %m");
        }
}

void fzd_bus_api_emit_resources_changed(FzdManager *m) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *sig = NULL;
        int r;

        if (!m->bus)
                return;
        r = sd_bus_message_new_signal(m->bus, &sig, FZ_BUS_PATH, FZ_BUS_INTERFACE, "ResourcesChanged");
        if (r >= 0)
                r = append_resources(sig, m);
        if (r >= 0)
                r = sd_bus_send(m->bus, sig, NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to emit ResourcesChanged, ignoring: %m");
}

int fzd_bus_api_register(FzdManager *m) {
        int r;

        r = sd_bus_error_add_map(fzd_bus_errors);
        if (r < 0)
                return log_error_errno(r, "Failed to register D-Bus error names: %m");
        r = sd_bus_add_object_vtable(m->bus, NULL, FZ_BUS_PATH, FZ_BUS_INTERFACE, client1_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Failed to export %s: %m", FZ_BUS_PATH);
        r = fzd_polkit_new(m->bus, &m->polkit);
        if (r < 0)
                return log_oom();
        return 0;
}
