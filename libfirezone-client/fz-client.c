/* SPDX-License-Identifier: Apache-2.0 */
/* FzClient: the one client-side implementation of dev.firezone.Client1.
 *
 * Written directly on GDBusConnection, without GDBusProxy or gdbus-codegen: a proxy binds
 * to one name owner's property cache, and following a daemon restart then means noticing
 * that the cache went stale and rebuilding it. Here every call goes to the well-known
 * name, signals are subscribed by the well-known name, and g_bus_watch_name tells us when
 * the owner changes; each change bumps a generation counter, cancels the reads that were
 * in flight for the old owner and re-reads everything from the new one with Status() and
 * ListResources(). Calls are sent as GDBusMessages so that the reply's sender tells a
 * refusal by the bus (not in group firezone) from one by the daemon (polkit).
 *
 * Replies and signals are dispatched in one main context, the client's D-Bus context, so
 * that the mirror takes them in the order the daemon sent them: the caller's context for
 * fz_client_new_async(); for fz_client_new_sync(), the private context its initialization
 * ran on, which a source in the caller's context then runs (fz-context-source.c). */
#include <string.h>

#include "fz-client-private.h"
#include "fz-client-enum-types.h"
#include "fz-context-source.h"

struct _FzClient {
        GObject parent_instance;

        GDBusConnection *connection;
        /* Where replies and signals are dispatched (see the top of this file). */
        GMainContext *dbus_context;
        /* Runs dbus_context from the caller's context after a sync initialization. */
        GSource *context_source;
        guint watch_id;
        guint sub_state_changed;
        guint sub_resources_changed;
        guint sub_properties_changed;

        /* The daemon's unique name, NULL while it is not running. */
        gchar *owner;
        /* Bumped on every owner change: replies meant for an older owner are dropped. */
        guint generation;
        GCancellable *refresh_cancellable;

        FzClientState state;
        FzClientMode mode;
        gchar *account_slug;
        gchar *actor_name;
        gchar *interface_name;
        gchar *last_error;
        gchar *daemon_version;
        gboolean requires_sign_in;
        gboolean internet_resource_enabled;
        GPtrArray *resources;

        gboolean interactive;
        gboolean init_started;
        gboolean initialized;
        /* fz_client_init_async() in progress: done after the watch's first report (and,
         * if the daemon runs, after reading it), or when its cancellable fires. */
        GTask *init_task;
        GSource *init_cancel_source;
};

enum {
        PROP_0,
        PROP_STATE,
        PROP_MODE,
        PROP_ACCOUNT_SLUG,
        PROP_ACTOR_NAME,
        PROP_INTERFACE_NAME,
        PROP_LAST_ERROR,
        PROP_DAEMON_VERSION,
        PROP_REQUIRES_SIGN_IN,
        PROP_DAEMON_RUNNING,
        PROP_INTERACTIVE,
        PROP_INTERNET_RESOURCE_ENABLED,
        N_PROPS,
};
static GParamSpec *props[N_PROPS];

enum {
        SIGNAL_STATE_CHANGED,
        SIGNAL_RESOURCES_CHANGED,
        N_SIGNALS,
};
static guint signals[N_SIGNALS];

static void fz_client_initable_iface_init(GInitableIface *iface);
static void fz_client_async_initable_iface_init(GAsyncInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE(FzClient, fz_client, G_TYPE_OBJECT,
                              G_IMPLEMENT_INTERFACE(G_TYPE_INITABLE, fz_client_initable_iface_init)
                                      G_IMPLEMENT_INTERFACE(G_TYPE_ASYNC_INITABLE,
                                                            fz_client_async_initable_iface_init))

/* ---- calls to the daemon ---------------------------------------------------------------- */

typedef enum {
        CALL_READ = 0,
        /* Changes state: polkit may ask for a password if the client is interactive. */
        CALL_MUTATING = 1 << 0,
        /* May start the daemon by bus activation. Only sign-in does: asking for the status
         * must not start a VPN service. */
        CALL_AUTO_START = 1 << 1,
} CallFlags;

static GDBusMessage *call_message_new(FzClient *self, const gchar *method, GVariant *params, CallFlags flags,
                                      gint *ret_timeout) {
        GDBusMessage *msg =
                g_dbus_message_new_method_call(FZ_BUS_NAME, FZ_BUS_PATH, FZ_BUS_INTERFACE, method);
        GDBusMessageFlags mflags = G_DBUS_MESSAGE_FLAGS_NONE;

        if (params != NULL)
                g_dbus_message_set_body(msg, params);
        if (!(flags & CALL_AUTO_START))
                mflags |= G_DBUS_MESSAGE_FLAGS_NO_AUTO_START;
        *ret_timeout = -1;
        if ((flags & CALL_MUTATING) && self->interactive) {
                mflags |= G_DBUS_MESSAGE_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION;
                /* A person may be typing a password. */
                *ret_timeout = G_MAXINT;
        }
        g_dbus_message_set_flags(msg, mflags);
        return msg;
}

/* The reply message (or the failure to get one) → the reply body, or an error mapped into
 * FZ_CLIENT_ERROR. Takes ownership of @reply and @error. */
static GVariant *call_reply_process(GDBusMessage *reply_msg, GError *error, const gchar *method,
                                    const GVariantType *reply_type, GError **ret_error) {
        g_autoptr(GDBusMessage) reply = reply_msg;
        GVariant *body;

        if (reply == NULL) {
                g_propagate_error(ret_error, fz_client_error_from_call(error, FALSE, method));
                return NULL;
        }
        if (g_dbus_message_get_message_type(reply) == G_DBUS_MESSAGE_TYPE_ERROR) {
                GError *e = NULL;
                gboolean from_bus = g_strcmp0(g_dbus_message_get_sender(reply), "org.freedesktop.DBus") == 0;

                (void) FZ_CLIENT_ERROR; /* registered before GDBus decodes the name */
                g_dbus_message_to_gerror(reply, &e);
                g_propagate_error(ret_error, fz_client_error_from_call(e, from_bus, method));
                return NULL;
        }
        body = g_dbus_message_get_body(reply);
        if (body == NULL)
                body = g_variant_new("()");
        if (!g_variant_is_of_type(body, reply_type)) {
                g_set_error(
                        ret_error, FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_FAILED,
                        "The Firezone tunnel service answered %s() with '%s' instead of '%s': it does not "
                        "match this client. Update the firezone-client package.",
                        method, g_variant_get_type_string(body), (const gchar *) reply_type);
                return NULL;
        }
        return g_variant_ref_sink(body);
}

/* What becomes of a call's reply: @body, or NULL and @error (owned) if the call failed.
 * Runs in the client's D-Bus context, in order with the daemon's signals. */
typedef void (*CallReplyFunc)(FzClient *self, GVariant *body, GError *error, gpointer user_data);

typedef struct {
        FzClient *self; /* owned */
        const gchar *method;
        const GVariantType *reply_type;
        CallReplyFunc func;
        gpointer user_data;
} CallData;

static void call_done(GObject *source, GAsyncResult *res, gpointer user_data) {
        CallData *data = user_data;
        GError *send_error = NULL, *error = NULL;
        GDBusMessage *reply;
        g_autoptr(GVariant) body = NULL;

        reply = g_dbus_connection_send_message_with_reply_finish(G_DBUS_CONNECTION(source), res,
                                                                 &send_error);
        body = call_reply_process(reply, send_error, data->method, data->reply_type, &error);
        data->func(data->self, body, error, data->user_data);
        g_object_unref(data->self);
        g_free(data);
}

/* GDBus dispatches a reply (and a signal) in the thread-default context of the moment the
 * call (the subscription) was made: make that the client's D-Bus context. */
static gboolean dbus_context_push(FzClient *self) {
        g_autoptr(GMainContext) current = g_main_context_ref_thread_default();

        if (self->dbus_context == NULL || self->dbus_context == current)
                return FALSE;
        g_main_context_push_thread_default(self->dbus_context);
        return TRUE;
}

static void dbus_context_pop(FzClient *self, gboolean pushed) {
        if (pushed)
                g_main_context_pop_thread_default(self->dbus_context);
}

/* Calls @method on the daemon with the error mapping above; @func gets the reply. Consumes
 * a floating @params. A call that cannot be sent (cancelled already, client not
 * initialized) gets @func called at once, before this returns. */
static void call_send(FzClient *self, const gchar *method, GVariant *params, const GVariantType *reply_type,
                      CallFlags flags, GCancellable *cancellable, CallReplyFunc func, gpointer user_data) {
        g_autoptr(GDBusMessage) msg = NULL;
        g_autoptr(GVariant) owned_params = params != NULL ? g_variant_ref_sink(params) : NULL;
        GError *error = NULL;
        CallData *data;
        gboolean pushed;
        gint timeout;

        /* Cancelled before anything was sent: nothing must reach the daemon. */
        if (g_cancellable_set_error_if_cancelled(cancellable, &error)) {
                func(self, NULL, error, user_data);
                return;
        }
        if (self->connection == NULL) {
                func(self, NULL,
                     g_error_new_literal(
                             FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_FAILED,
                             "The client is not initialized: create it with fz_client_new_async()."),
                     user_data);
                return;
        }
        data = g_new0(CallData, 1);
        data->self = g_object_ref(self);
        data->method = method;
        data->reply_type = reply_type;
        data->func = func;
        data->user_data = user_data;
        msg = call_message_new(self, method, owned_params, flags, &timeout);
        pushed = dbus_context_push(self);
        g_dbus_connection_send_message_with_reply(self->connection, msg, G_DBUS_SEND_MESSAGE_FLAGS_NONE,
                                                  timeout, NULL, cancellable, call_done, data);
        dbus_context_pop(self, pushed);
}

/* ---- the mirror of the daemon's state --------------------------------------------------- */

static gboolean set_string(FzClient *self, gchar **field, const gchar *value, guint prop) {
        if (value == NULL)
                value = "";
        if (g_strcmp0(*field, value) == 0)
                return FALSE;
        g_free(*field);
        *field = g_strdup(value);
        g_object_notify_by_pspec(G_OBJECT(self), props[prop]);
        return TRUE;
}

static gboolean set_state(FzClient *self, FzClientState state) {
        if (self->state == state)
                return FALSE;
        self->state = state;
        g_object_notify_by_pspec(G_OBJECT(self), props[PROP_STATE]);
        return TRUE;
}

static void set_mode(FzClient *self, FzClientMode mode) {
        if (self->mode == mode)
                return;
        self->mode = mode;
        g_object_notify_by_pspec(G_OBJECT(self), props[PROP_MODE]);
}

static void set_boolean(FzClient *self, gboolean *field, gboolean value, guint prop) {
        value = !!value;
        if (*field == value)
                return;
        *field = value;
        g_object_notify_by_pspec(G_OBJECT(self), props[prop]);
}

static void emit_state_changed(FzClient *self, const gchar *reason) {
        g_signal_emit(self, signals[SIGNAL_STATE_CHANGED], 0, self->state, reason != NULL ? reason : "");
}

static gboolean resources_equal(GPtrArray *a, GPtrArray *b) {
        if (a->len != b->len)
                return FALSE;
        for (guint i = 0; i < a->len; i++)
                if (!fz_resource_equal(g_ptr_array_index(a, i), g_ptr_array_index(b, i)))
                        return FALSE;
        return TRUE;
}

/* Takes ownership of @resources. @always: emit even if nothing changed (the daemon said
 * something did). */
static void set_resources(FzClient *self, GPtrArray *resources, gboolean always) {
        g_autoptr(GPtrArray) old = self->resources;

        self->resources = resources;
        if (always || !resources_equal(old, resources))
                g_signal_emit(self, signals[SIGNAL_RESOURCES_CHANGED], 0, self->resources);
}

/* A full Status() reply. @reason: emit ::state-changed with it if the state changed;
 * NULL: only notify (initialization, or a read the caller asked for). */
static void apply_status(FzClient *self, FzClientStatus *status, const gchar *reason) {
        gboolean state_changed;

        g_object_freeze_notify(G_OBJECT(self));
        state_changed = set_state(self, fz_client_status_get_state(status));
        set_mode(self, fz_client_status_get_mode(status));
        set_string(self, &self->account_slug, fz_client_status_get_account_slug(status), PROP_ACCOUNT_SLUG);
        set_string(self, &self->actor_name, fz_client_status_get_actor_name(status), PROP_ACTOR_NAME);
        set_string(self, &self->interface_name, fz_client_status_get_interface_name(status),
                   PROP_INTERFACE_NAME);
        set_string(self, &self->last_error, fz_client_status_get_last_error(status), PROP_LAST_ERROR);
        set_string(self, &self->daemon_version, fz_client_status_get_version(status), PROP_DAEMON_VERSION);
        set_boolean(self, &self->requires_sign_in, fz_client_status_get_requires_sign_in(status),
                    PROP_REQUIRES_SIGN_IN);
        set_boolean(self, &self->internet_resource_enabled,
                    fz_client_status_get_internet_resource_enabled(status), PROP_INTERNET_RESOURCE_ENABLED);
        g_object_thaw_notify(G_OBJECT(self));
        if (state_changed && reason != NULL)
                emit_state_changed(self, reason);
}

static void clear_mirror(FzClient *self) {
        g_autoptr(FzClientStatus) empty = fz_client_status_new_from_variant(NULL);

        apply_status(self, empty, "daemon-stopped");
        set_resources(self, g_ptr_array_new_with_free_func(g_object_unref), FALSE);
}

/* A Status() reply → the status, applied to the mirror (see apply_status() for @reason). */
static FzClientStatus *status_apply(FzClient *self, GVariant *reply, const gchar *reason) {
        g_autoptr(GVariant) dict = g_variant_get_child_value(reply, 0);
        FzClientStatus *status = fz_client_status_new_from_variant(dict);

        apply_status(self, status, reason);
        return status;
}

/* A ListResources() reply → the resources (owned by the caller), applied to the mirror. */
static GPtrArray *resources_apply(FzClient *self, GVariant *reply) {
        g_autoptr(GVariant) list = g_variant_get_child_value(reply, 0);
        GPtrArray *resources = fz_resource_list_new_from_variant(list);

        set_resources(self, g_ptr_array_copy(resources, (GCopyFunc) (void (*)(void)) g_object_ref, NULL),
                      FALSE);
        return resources;
}

/* ---- following the daemon: refresh on owner change -------------------------------------- */

static void init_return(FzClient *self, GError *error);

typedef struct {
        guint generation;
        guint pending;
        gchar *reason;
        gboolean completes_init;
} Refresh;

static void refresh_unref_pending(FzClient *self, Refresh *r) {
        if (--r->pending > 0)
                return;
        if (r->completes_init)
                init_return(self, NULL);
        g_free(r->reason);
        g_free(r);
}

static void refresh_failed(const gchar *what, GError *error) {
        if (error != NULL && !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                g_debug("Could not read the daemon's %s: %s", what, error->message);
        g_clear_error(&error);
}

static void refresh_status_done(FzClient *self, GVariant *body, GError *error, gpointer user_data) {
        Refresh *r = user_data;

        if (body != NULL && r->generation == self->generation)
                g_object_unref(status_apply(self, body, r->reason));
        refresh_failed("status", error);
        refresh_unref_pending(self, r);
}

static void refresh_resources_done(FzClient *self, GVariant *body, GError *error, gpointer user_data) {
        Refresh *r = user_data;

        if (body != NULL && r->generation == self->generation)
                g_ptr_array_unref(resources_apply(self, body));
        refresh_failed("resources", error);
        refresh_unref_pending(self, r);
}

/* Read Status() and ListResources() from the current owner. */
static void refresh_start(FzClient *self, const gchar *reason, gboolean completes_init) {
        Refresh *r = g_new0(Refresh, 1);

        r->generation = self->generation;
        r->pending = 2;
        r->reason = g_strdup(reason);
        r->completes_init = completes_init;
        call_send(self, FZ_METHOD_STATUS, NULL, G_VARIANT_TYPE("(a{sv})"), CALL_READ,
                  self->refresh_cancellable, refresh_status_done, r);
        call_send(self, FZ_METHOD_LIST_RESOURCES, NULL, G_VARIANT_TYPE("(aa{sv})"), CALL_READ,
                  self->refresh_cancellable, refresh_resources_done, r);
}

static void refresh_cancel(FzClient *self) {
        g_cancellable_cancel(self->refresh_cancellable);
        g_object_unref(self->refresh_cancellable);
        self->refresh_cancellable = g_cancellable_new();
}

/* Returns TRUE if the owner changed; then the old owner's reads are cancelled. */
static gboolean owner_replace(FzClient *self, const gchar *owner) {
        gboolean was_running = self->owner != NULL;

        if (g_strcmp0(owner, self->owner) == 0)
                return FALSE;
        self->generation++;
        refresh_cancel(self);
        g_free(self->owner);
        self->owner = g_strdup(owner);
        if (was_running != (owner != NULL))
                g_object_notify_by_pspec(G_OBJECT(self), props[PROP_DAEMON_RUNNING]);
        return TRUE;
}

static void on_name_appeared(GDBusConnection *connection, const gchar *name, const gchar *owner,
                             gpointer user_data) {
        FzClient *self = user_data;
        gboolean initializing = self->init_task != NULL;
        gboolean restarted = self->owner != NULL;
        const gchar *reason;

        if (!owner_replace(self, owner)) {
                if (initializing)
                        init_return(self, NULL);
                return;
        }
        g_debug("%s is now owned by %s", name, owner);
        /* No ::state-changed while initializing: nobody has seen a state yet. */
        if (initializing)
                reason = NULL;
        else
                reason = restarted ? "daemon-restarted" : "daemon-started";
        refresh_start(self, reason, initializing);
}

static void on_name_vanished(GDBusConnection *connection, const gchar *name, gpointer user_data) {
        FzClient *self = user_data;

        if (owner_replace(self, NULL)) {
                g_debug("%s has no owner", name);
                clear_mirror(self);
        }
        if (self->init_task != NULL)
                init_return(self, NULL);
}

/* ---- signals from the daemon ------------------------------------------------------------ */

static void on_state_changed(GDBusConnection *connection, const gchar *sender, const gchar *path,
                             const gchar *iface, const gchar *member, GVariant *params, gpointer user_data) {
        FzClient *self = user_data;
        g_autoptr(GVariant) details = NULL;
        const gchar *state, *reason = "", *last_error;
        gboolean requires_sign_in;

        if (!g_variant_is_of_type(params, G_VARIANT_TYPE("(sa{sv})"))) {
                g_debug("Ignoring StateChanged with signature %s", g_variant_get_type_string(params));
                return;
        }
        g_variant_get(params, "(&s@a{sv})", &state, &details);
        (void)g_variant_lookup(details, FZ_DETAIL_KEY_REASON, "&s", &reason);

        g_object_freeze_notify(G_OBJECT(self));
        set_state(self, fz_client_state_from_string(state));
        if (g_variant_lookup(details, FZ_DETAIL_KEY_LAST_ERROR, "&s", &last_error))
                set_string(self, &self->last_error, last_error, PROP_LAST_ERROR);
        if (g_variant_lookup(details, FZ_DETAIL_KEY_REQUIRES_SIGN_IN, "b", &requires_sign_in))
                set_boolean(self, &self->requires_sign_in, requires_sign_in, PROP_REQUIRES_SIGN_IN);
        g_object_thaw_notify(G_OBJECT(self));
        emit_state_changed(self, reason);
}

static void on_resources_changed(GDBusConnection *connection, const gchar *sender, const gchar *path,
                                 const gchar *iface, const gchar *member, GVariant *params,
                                 gpointer user_data) {
        FzClient *self = user_data;
        g_autoptr(GVariant) list = NULL;

        if (!g_variant_is_of_type(params, G_VARIANT_TYPE("(aa{sv})"))) {
                g_debug("Ignoring ResourcesChanged with signature %s", g_variant_get_type_string(params));
                return;
        }
        list = g_variant_get_child_value(params, 0);
        set_resources(self, fz_resource_list_new_from_variant(list), TRUE);
}

static void on_properties_changed(GDBusConnection *connection, const gchar *sender, const gchar *path,
                                  const gchar *iface, const gchar *member, GVariant *params,
                                  gpointer user_data) {
        FzClient *self = user_data;
        g_autoptr(GVariant) changed = NULL;
        g_autoptr(GVariantIter) invalidated = NULL;
        const gchar *interface, *s;
        gboolean b;

        if (!g_variant_is_of_type(params, G_VARIANT_TYPE("(sa{sv}as)")))
                return;
        g_variant_get(params, "(&s@a{sv}as)", &interface, &changed, &invalidated);
        if (!g_str_equal(interface, FZ_BUS_INTERFACE))
                return;

        g_object_freeze_notify(G_OBJECT(self));
        /* ::state-changed comes from StateChanged, which carries the reason. */
        if (g_variant_lookup(changed, FZ_PROPERTY_STATE, "&s", &s))
                set_state(self, fz_client_state_from_string(s));
        if (g_variant_lookup(changed, FZ_PROPERTY_MODE, "&s", &s))
                set_mode(self, fz_client_mode_from_string(s));
        if (g_variant_lookup(changed, FZ_PROPERTY_ACCOUNT_SLUG, "&s", &s))
                set_string(self, &self->account_slug, s, PROP_ACCOUNT_SLUG);
        if (g_variant_lookup(changed, FZ_PROPERTY_ACTOR_NAME, "&s", &s))
                set_string(self, &self->actor_name, s, PROP_ACTOR_NAME);
        if (g_variant_lookup(changed, FZ_PROPERTY_INTERFACE_NAME, "&s", &s))
                set_string(self, &self->interface_name, s, PROP_INTERFACE_NAME);
        if (g_variant_lookup(changed, FZ_PROPERTY_LAST_ERROR, "&s", &s))
                set_string(self, &self->last_error, s, PROP_LAST_ERROR);
        if (g_variant_lookup(changed, FZ_PROPERTY_VERSION, "&s", &s))
                set_string(self, &self->daemon_version, s, PROP_DAEMON_VERSION);
        if (g_variant_lookup(changed, FZ_PROPERTY_INTERNET_RESOURCE_ENABLED, "b", &b))
                set_boolean(self, &self->internet_resource_enabled, b, PROP_INTERNET_RESOURCE_ENABLED);
        g_object_thaw_notify(G_OBJECT(self));

        /* A property announced without its value: read everything again. */
        if (g_variant_iter_n_children(invalidated) > 0 && self->owner != NULL)
                refresh_start(self, NULL, FALSE);
}

void fz_client_handle_signal(FzClient *self, const gchar *interface, const gchar *member, GVariant *params) {
        g_return_if_fail(FZ_IS_CLIENT(self));
        if (g_strcmp0(interface, FZ_BUS_INTERFACE) == 0 && g_strcmp0(member, FZ_SIGNAL_STATE_CHANGED) == 0)
                on_state_changed(NULL, NULL, FZ_BUS_PATH, interface, member, params, self);
        else if (g_strcmp0(interface, FZ_BUS_INTERFACE) == 0 &&
                 g_strcmp0(member, FZ_SIGNAL_RESOURCES_CHANGED) == 0)
                on_resources_changed(NULL, NULL, FZ_BUS_PATH, interface, member, params, self);
        else if (g_strcmp0(interface, "org.freedesktop.DBus.Properties") == 0 &&
                 g_strcmp0(member, "PropertiesChanged") == 0)
                on_properties_changed(NULL, NULL, FZ_BUS_PATH, interface, member, params, self);
}

static void subscribe(FzClient *self) {
        self->sub_state_changed = g_dbus_connection_signal_subscribe(
                self->connection, FZ_BUS_NAME, FZ_BUS_INTERFACE, FZ_SIGNAL_STATE_CHANGED, FZ_BUS_PATH, NULL,
                G_DBUS_SIGNAL_FLAGS_NONE, on_state_changed, self, NULL);
        self->sub_resources_changed = g_dbus_connection_signal_subscribe(
                self->connection, FZ_BUS_NAME, FZ_BUS_INTERFACE, FZ_SIGNAL_RESOURCES_CHANGED, FZ_BUS_PATH,
                NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_resources_changed, self, NULL);
        self->sub_properties_changed = g_dbus_connection_signal_subscribe(
                self->connection, FZ_BUS_NAME, "org.freedesktop.DBus.Properties", "PropertiesChanged",
                FZ_BUS_PATH, FZ_BUS_INTERFACE, G_DBUS_SIGNAL_FLAGS_NONE, on_properties_changed, self, NULL);
        /* The first callback reports the current owner (the watch asks the bus): it reads
         * the daemon, if it runs, and so completes an initialization in progress. */
        self->watch_id =
                g_bus_watch_name_on_connection(self->connection, FZ_BUS_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                               on_name_appeared, on_name_vanished, self, NULL);
}

/* After this no callback of subscribe()'s comes, even one already queued. */
static void unsubscribe(FzClient *self) {
        guint *subs[] = { &self->sub_state_changed, &self->sub_resources_changed,
                          &self->sub_properties_changed };

        if (self->watch_id != 0) {
                g_bus_unwatch_name(self->watch_id);
                self->watch_id = 0;
        }
        for (gsize i = 0; i < G_N_ELEMENTS(subs); i++)
                if (*subs[i] != 0) {
                        g_dbus_connection_signal_unsubscribe(self->connection, *subs[i]);
                        *subs[i] = 0;
                }
}

/* ---- initialization --------------------------------------------------------------------- */

static GError *bus_error(GError *error) {
        GError *ret =
                g_error_new(FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_DAEMON_NOT_RUNNING,
                            "Cannot connect to the system bus (%s): the Firezone tunnel service cannot "
                            "be reached without it. Check that dbus is running (systemctl status dbus).",
                            error->message);
        g_error_free(error);
        return ret;
}

/* Completes fz_client_init_async(): with @error (owned), the client is unusable and
 * follows the daemon no longer. Only the first call counts. */
static void init_return(FzClient *self, GError *error) {
        g_autoptr(GTask) task = g_steal_pointer(&self->init_task);

        if (self->init_cancel_source != NULL) {
                g_source_destroy(self->init_cancel_source);
                g_clear_pointer(&self->init_cancel_source, g_source_unref);
        }
        if (task == NULL) {
                g_clear_error(&error);
                return;
        }
        if (error != NULL) {
                unsubscribe(self);
                refresh_cancel(self);
                g_task_return_error(task, error);
                return;
        }
        self->initialized = TRUE;
        g_task_return_boolean(task, TRUE);
}

static gboolean on_init_cancelled(GCancellable *cancellable, gpointer user_data) {
        GError *error = NULL;

        g_cancellable_set_error_if_cancelled(cancellable, &error);
        init_return(user_data, error);
        return G_SOURCE_REMOVE;
}

static void init_bus_done(GObject *source, GAsyncResult *res, gpointer user_data) {
        GTask *task = user_data;
        FzClient *self = g_task_get_source_object(task);
        GCancellable *cancellable = g_task_get_cancellable(task);
        GError *error = NULL;

        self->connection = g_bus_get_finish(res, &error);
        if (self->connection == NULL) {
                g_task_return_error(task, g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                                                  ? error
                                                  : bus_error(error));
                g_object_unref(task);
                return;
        }
        /* The watch's first callback reports the current owner (it asks the bus); the
         * task completes once the daemon, if it runs, has been read. */
        self->init_task = task;
        if (cancellable != NULL) {
                self->init_cancel_source = g_cancellable_source_new(cancellable);
                g_source_set_callback(self->init_cancel_source, G_SOURCE_FUNC(on_init_cancelled), self,
                                      NULL);
                g_source_attach(self->init_cancel_source, self->dbus_context);
        }
        subscribe(self);
}

static void fz_client_init_async(GAsyncInitable *initable, int io_priority, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data) {
        FzClient *self = FZ_CLIENT(initable);
        GTask *task = g_task_new(self, cancellable, callback, user_data);

        g_task_set_source_tag(task, fz_client_init_async);
        g_task_set_priority(task, io_priority);
        if (self->initialized) {
                g_task_return_boolean(task, TRUE);
                g_object_unref(task);
                return;
        }
        if (self->init_started) {
                g_task_return_new_error(
                        task, G_IO_ERROR, G_IO_ERROR_PENDING,
                        "The client is being initialized already, or its initialization failed.");
                g_object_unref(task);
                return;
        }
        if (g_task_return_error_if_cancelled(task)) {
                g_object_unref(task);
                return;
        }
        self->init_started = TRUE;
        self->dbus_context = g_main_context_ref_thread_default();
        g_bus_get(G_BUS_TYPE_SYSTEM, cancellable, init_bus_done, task);
}

static gboolean fz_client_init_finish(GAsyncInitable *initable, GAsyncResult *res, GError **error) {
        g_return_val_if_fail(g_task_is_valid(res, initable), FALSE);
        return g_task_propagate_boolean(G_TASK(res), error);
}

static void store_result(GObject *source, GAsyncResult *res, gpointer user_data) {
        *(GAsyncResult **) user_data = g_object_ref(res);
}

/* One init path: the sync initialization runs the async one on a private main context, as
 * libnm's and libsecret's sync API do, so that it dispatches none of the caller's sources
 * while it waits. The client's D-Bus traffic stays on that context (see the top of this
 * file), which a source in the caller's context runs from then on. */
static gboolean fz_client_initable_init(GInitable *initable, GCancellable *cancellable, GError **error) {
        FzClient *self = FZ_CLIENT(initable);
        g_autoptr(GMainContext) caller = g_main_context_ref_thread_default();
        g_autoptr(GMainContext) context = g_main_context_new();
        g_autoptr(GAsyncResult) result = NULL;
        gboolean ok;

        g_main_context_push_thread_default(context);
        fz_client_init_async(G_ASYNC_INITABLE(self), G_PRIORITY_DEFAULT, cancellable, store_result, &result);
        while (result == NULL)
                g_main_context_iteration(context, TRUE);
        ok = fz_client_init_finish(G_ASYNC_INITABLE(self), result, error);
        if (ok && self->dbus_context == context && self->context_source == NULL) {
                self->context_source = fz_context_source_new(context);
                g_source_attach(self->context_source, caller);
        } else if (!ok) {
                /* Let what the failed init left behind (cancelled reads) finish, so that
                 * nothing on this context keeps the client alive. */
                while (g_main_context_iteration(context, FALSE))
                        ;
        }
        g_main_context_pop_thread_default(context);
        return ok;
}

static void fz_client_initable_iface_init(GInitableIface *iface) {
        iface->init = fz_client_initable_init;
}

static void fz_client_async_initable_iface_init(GAsyncInitableIface *iface) {
        iface->init_async = fz_client_init_async;
        iface->init_finish = fz_client_init_finish;
}

/* ---- GObject ---------------------------------------------------------------------------- */

static void fz_client_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
        FzClient *self = FZ_CLIENT(object);

        switch (prop_id) {
        case PROP_STATE:
                g_value_set_enum(value, self->state);
                break;
        case PROP_MODE:
                g_value_set_enum(value, self->mode);
                break;
        case PROP_ACCOUNT_SLUG:
                g_value_set_string(value, self->account_slug);
                break;
        case PROP_ACTOR_NAME:
                g_value_set_string(value, self->actor_name);
                break;
        case PROP_INTERFACE_NAME:
                g_value_set_string(value, self->interface_name);
                break;
        case PROP_LAST_ERROR:
                g_value_set_string(value, self->last_error);
                break;
        case PROP_DAEMON_VERSION:
                g_value_set_string(value, self->daemon_version);
                break;
        case PROP_REQUIRES_SIGN_IN:
                g_value_set_boolean(value, self->requires_sign_in);
                break;
        case PROP_DAEMON_RUNNING:
                g_value_set_boolean(value, self->owner != NULL);
                break;
        case PROP_INTERACTIVE:
                g_value_set_boolean(value, self->interactive);
                break;
        case PROP_INTERNET_RESOURCE_ENABLED:
                g_value_set_boolean(value, self->internet_resource_enabled);
                break;
        default:
                G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
        }
}

static void fz_client_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec) {
        FzClient *self = FZ_CLIENT(object);

        switch (prop_id) {
        case PROP_INTERACTIVE:
                fz_client_set_interactive(self, g_value_get_boolean(value));
                break;
        default:
                G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
        }
}

static void fz_client_dispose(GObject *object) {
        FzClient *self = FZ_CLIENT(object);

        if (self->connection != NULL)
                unsubscribe(self);
        if (self->refresh_cancellable != NULL)
                g_cancellable_cancel(self->refresh_cancellable);
        if (self->init_cancel_source != NULL) {
                g_source_destroy(self->init_cancel_source);
                g_clear_pointer(&self->init_cancel_source, g_source_unref);
        }
        if (self->context_source != NULL) {
                g_source_destroy(self->context_source);
                g_clear_pointer(&self->context_source, g_source_unref);
        }
        g_clear_object(&self->connection);
        G_OBJECT_CLASS(fz_client_parent_class)->dispose(object);
}

static void fz_client_finalize(GObject *object) {
        FzClient *self = FZ_CLIENT(object);

        g_clear_object(&self->refresh_cancellable);
        g_clear_pointer(&self->dbus_context, g_main_context_unref);
        g_free(self->owner);
        g_free(self->account_slug);
        g_free(self->actor_name);
        g_free(self->interface_name);
        g_free(self->last_error);
        g_free(self->daemon_version);
        g_clear_pointer(&self->resources, g_ptr_array_unref);
        G_OBJECT_CLASS(fz_client_parent_class)->finalize(object);
}

static void fz_client_class_init(FzClientClass *klass) {
        GObjectClass *object_class = G_OBJECT_CLASS(klass);
        const GParamFlags ro = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

        object_class->get_property = fz_client_get_property;
        object_class->set_property = fz_client_set_property;
        object_class->dispose = fz_client_dispose;
        object_class->finalize = fz_client_finalize;

        /**
         * FzClient:state:
         *
         * The daemon's state; %FZ_CLIENT_STATE_UNKNOWN while it is not running or cannot
         * be read.
         *
         * Since: 0.1
         */
        props[PROP_STATE] =
                g_param_spec_enum("state", NULL, NULL, FZ_TYPE_CLIENT_STATE, FZ_CLIENT_STATE_UNKNOWN, ro);
        /**
         * FzClient:mode:
         *
         * How the daemon got its token.
         *
         * Since: 0.1
         */
        props[PROP_MODE] =
                g_param_spec_enum("mode", NULL, NULL, FZ_TYPE_CLIENT_MODE, FZ_CLIENT_MODE_UNKNOWN, ro);
        /**
         * FzClient:account-slug:
         *
         * The account signed in to, as given at sign-in; empty if none.
         *
         * Since: 0.1
         */
        props[PROP_ACCOUNT_SLUG] = g_param_spec_string("account-slug", NULL, NULL, "", ro);
        /**
         * FzClient:actor-name:
         *
         * Who is signed in, for display; empty if unknown.
         *
         * Since: 0.1
         */
        props[PROP_ACTOR_NAME] = g_param_spec_string("actor-name", NULL, NULL, "", ro);
        /**
         * FzClient:interface-name:
         *
         * The tunnel device (`tun-firezone`) while it exists, else empty.
         *
         * Since: 0.1
         */
        props[PROP_INTERFACE_NAME] = g_param_spec_string("interface-name", NULL, NULL, "", ro);
        /**
         * FzClient:last-error:
         *
         * The daemon's last error, as a sentence that says what to do; empty if none.
         *
         * Since: 0.1
         */
        props[PROP_LAST_ERROR] = g_param_spec_string("last-error", NULL, NULL, "", ro);
        /**
         * FzClient:daemon-version:
         *
         * The daemon's version; empty while it is not running.
         *
         * Since: 0.1
         */
        props[PROP_DAEMON_VERSION] = g_param_spec_string("daemon-version", NULL, NULL, "", ro);
        /**
         * FzClient:requires-sign-in:
         *
         * The daemon says the token it had is no longer valid: a client that stores one
         * should delete it and ask the user to sign in again.
         *
         * Since: 0.1
         */
        props[PROP_REQUIRES_SIGN_IN] = g_param_spec_boolean("requires-sign-in", NULL, NULL, FALSE, ro);
        /**
         * FzClient:daemon-running:
         *
         * Whether the daemon owns its name on the system bus. When it starts (or is
         * restarted) the client reads its state again and emits the signals for what changed.
         *
         * Since: 0.1
         */
        props[PROP_DAEMON_RUNNING] = g_param_spec_boolean("daemon-running", NULL, NULL, FALSE, ro);
        /**
         * FzClient:interactive:
         *
         * Whether the calls that change something (sign-in, sign-out, reconnect,
         * switching the Internet resource) let polkit ask for a password (the D-Bus
         * ALLOW_INTERACTIVE_AUTHORIZATION flag). Those calls then wait without a
         * timeout. Without it, a call that needs authentication fails with
         * %FZ_CLIENT_ERROR_AUTHORIZATION_REQUIRED.
         *
         * Since: 0.1
         */
        props[PROP_INTERACTIVE] =
                g_param_spec_boolean("interactive", NULL, NULL, FALSE,
                                     G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
        /**
         * FzClient:internet-resource-enabled:
         *
         * Whether the Internet resource is switched on: while it is, and the portal
         * grants one, traffic to the Internet (the default route) goes through Firezone.
         * Follows the daemon (its `InternetResourceEnabled` property); %FALSE while the
         * daemon is not running. The daemon does not store it: it starts switched off
         * (in service-account mode, as the administrator configured it). Change it with
         * fz_client_set_internet_resource_enabled_async().
         *
         * Since: 0.2
         */
        props[PROP_INTERNET_RESOURCE_ENABLED] =
                g_param_spec_boolean("internet-resource-enabled", NULL, NULL, FALSE, ro);
        g_object_class_install_properties(object_class, N_PROPS, props);

        /**
         * FzClient::state-changed:
         * @self: the client
         * @state: the new state
         * @reason: why, as the daemon says it ("sign-in", "sign-out",
         *   "portal-disconnected", "token-expired", …), or "daemon-stopped",
         *   "daemon-started", "daemon-restarted" when the client saw the daemon go or come
         *
         * Emitted on every state change the daemon announces, and when the daemon stops
         * or starts. #FzClient:last-error and #FzClient:requires-sign-in are up to date
         * when it is emitted.
         *
         * Since: 0.1
         */
        signals[SIGNAL_STATE_CHANGED] =
                g_signal_new("state-changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                             NULL, G_TYPE_NONE, 2, FZ_TYPE_CLIENT_STATE, G_TYPE_STRING);
        /**
         * FzClient::resources-changed:
         * @self: the client
         * @resources: (element-type FzResource): the full new list
         *
         * Emitted when the daemon announces a new list of resources, and when the list
         * changed across a daemon restart (it is empty while the daemon is not running).
         *
         * Since: 0.1
         */
        signals[SIGNAL_RESOURCES_CHANGED] =
                g_signal_new("resources-changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                             NULL, G_TYPE_NONE, 1, G_TYPE_PTR_ARRAY);
}

static void fz_client_init(FzClient *self) {
        self->account_slug = g_strdup("");
        self->actor_name = g_strdup("");
        self->interface_name = g_strdup("");
        self->last_error = g_strdup("");
        self->daemon_version = g_strdup("");
        self->resources = g_ptr_array_new_with_free_func(g_object_unref);
        self->refresh_cancellable = g_cancellable_new();
}

/* ---- public API ------------------------------------------------------------------------- */

/**
 * fz_client_new_async:
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the client is ready
 * @user_data: data for @callback
 *
 * Connects to the system bus and reads the daemon's state, if it is running. The
 * client works whether or not the daemon runs: it follows the daemon's name on the
 * bus (#FzClient:daemon-running) and reads its state again whenever it starts.
 *
 * The client's signals are emitted in the thread-default main context of the thread
 * that calls this; use the client from that thread only.
 *
 * Since: 0.1
 */
void fz_client_new_async(GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data) {
        g_async_initable_new_async(FZ_TYPE_CLIENT, G_PRIORITY_DEFAULT, cancellable, callback, user_data,
                                   NULL);
}

/**
 * fz_client_new_finish:
 * @result: the #GAsyncResult passed to the callback of fz_client_new_async()
 * @error: return location for an error
 *
 * Finishes fz_client_new_async(). Fails only if the system bus cannot be reached
 * (%FZ_CLIENT_ERROR_DAEMON_NOT_RUNNING) or the operation was cancelled; a daemon that
 * is not running, or that this user may not talk to, is reported by the calls.
 *
 * Returns: (transfer full): a new client, or %NULL on error
 *
 * Since: 0.1
 */
FzClient *fz_client_new_finish(GAsyncResult *result, GError **error) {
        g_autoptr(GObject) source = g_async_result_get_source_object(result);
        GObject *object = g_async_initable_new_finish(G_ASYNC_INITABLE(source), result, error);

        return object != NULL ? FZ_CLIENT(object) : NULL;
}

/**
 * fz_client_new_sync:
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Like fz_client_new_async(), but blocks; for simple programs. It runs the same
 * initialization on a private main context, so none of the caller's other sources are
 * dispatched while it waits. As with fz_client_new_async(), the client's signals are then
 * emitted in the thread-default main context of the calling thread (which must be
 * iterated for them), and the client must be used from that thread only. The calls below
 * are asynchronous all the same.
 *
 * Returns: (transfer full): a new client, or %NULL on error
 *
 * Since: 0.1
 */
FzClient *fz_client_new_sync(GCancellable *cancellable, GError **error) {
        return g_initable_new(FZ_TYPE_CLIENT, cancellable, error, NULL);
}

/**
 * fz_client_get_state:
 * @self: a client
 *
 * Returns: the value of #FzClient:state
 *
 * Since: 0.1
 */
FzClientState fz_client_get_state(FzClient *self) {
        g_return_val_if_fail(FZ_IS_CLIENT(self), FZ_CLIENT_STATE_UNKNOWN);
        return self->state;
}

/**
 * fz_client_get_mode:
 * @self: a client
 *
 * Returns: the value of #FzClient:mode
 *
 * Since: 0.1
 */
FzClientMode fz_client_get_mode(FzClient *self) {
        g_return_val_if_fail(FZ_IS_CLIENT(self), FZ_CLIENT_MODE_UNKNOWN);
        return self->mode;
}

/**
 * fz_client_get_account_slug:
 * @self: a client
 *
 * Returns: (transfer none): the value of #FzClient:account-slug
 *
 * Since: 0.1
 */
const gchar *fz_client_get_account_slug(FzClient *self) {
        g_return_val_if_fail(FZ_IS_CLIENT(self), NULL);
        return self->account_slug;
}

/**
 * fz_client_get_actor_name:
 * @self: a client
 *
 * Returns: (transfer none): the value of #FzClient:actor-name
 *
 * Since: 0.1
 */
const gchar *fz_client_get_actor_name(FzClient *self) {
        g_return_val_if_fail(FZ_IS_CLIENT(self), NULL);
        return self->actor_name;
}

/**
 * fz_client_get_interface_name:
 * @self: a client
 *
 * Returns: (transfer none): the value of #FzClient:interface-name
 *
 * Since: 0.1
 */
const gchar *fz_client_get_interface_name(FzClient *self) {
        g_return_val_if_fail(FZ_IS_CLIENT(self), NULL);
        return self->interface_name;
}

/**
 * fz_client_get_last_error:
 * @self: a client
 *
 * Returns: (transfer none): the value of #FzClient:last-error
 *
 * Since: 0.1
 */
const gchar *fz_client_get_last_error(FzClient *self) {
        g_return_val_if_fail(FZ_IS_CLIENT(self), NULL);
        return self->last_error;
}

/**
 * fz_client_get_daemon_version:
 * @self: a client
 *
 * Returns: (transfer none): the value of #FzClient:daemon-version
 *
 * Since: 0.1
 */
const gchar *fz_client_get_daemon_version(FzClient *self) {
        g_return_val_if_fail(FZ_IS_CLIENT(self), NULL);
        return self->daemon_version;
}

/**
 * fz_client_get_requires_sign_in:
 * @self: a client
 *
 * Returns: the value of #FzClient:requires-sign-in
 *
 * Since: 0.1
 */
gboolean fz_client_get_requires_sign_in(FzClient *self) {
        g_return_val_if_fail(FZ_IS_CLIENT(self), FALSE);
        return self->requires_sign_in;
}

/**
 * fz_client_get_daemon_running:
 * @self: a client
 *
 * Returns: the value of #FzClient:daemon-running
 *
 * Since: 0.1
 */
gboolean fz_client_get_daemon_running(FzClient *self) {
        g_return_val_if_fail(FZ_IS_CLIENT(self), FALSE);
        return self->owner != NULL;
}

/**
 * fz_client_get_internet_resource_enabled:
 * @self: a client
 *
 * Returns: the value of #FzClient:internet-resource-enabled
 *
 * Since: 0.2
 */
gboolean fz_client_get_internet_resource_enabled(FzClient *self) {
        g_return_val_if_fail(FZ_IS_CLIENT(self), FALSE);
        return self->internet_resource_enabled;
}

/**
 * fz_client_get_resources:
 * @self: a client
 *
 * The resources as last announced by the daemon (no D-Bus call). Use
 * fz_client_list_resources_async() to ask the daemon.
 *
 * Returns: (transfer container) (element-type FzResource): the resources; free with
 *   g_ptr_array_unref()
 *
 * Since: 0.1
 */
GPtrArray *fz_client_get_resources(FzClient *self) {
        g_return_val_if_fail(FZ_IS_CLIENT(self), NULL);
        return g_ptr_array_copy(self->resources, (GCopyFunc)(void (*)(void))g_object_ref, NULL);
}

/**
 * fz_client_get_interactive:
 * @self: a client
 *
 * Returns: the value of #FzClient:interactive
 *
 * Since: 0.1
 */
gboolean fz_client_get_interactive(FzClient *self) {
        g_return_val_if_fail(FZ_IS_CLIENT(self), FALSE);
        return self->interactive;
}

/**
 * fz_client_set_interactive:
 * @self: a client
 * @interactive: whether polkit may ask for a password
 *
 * Sets #FzClient:interactive.
 *
 * Since: 0.1
 */
void fz_client_set_interactive(FzClient *self, gboolean interactive) {
        g_return_if_fail(FZ_IS_CLIENT(self));
        interactive = !!interactive;
        if (self->interactive == interactive)
                return;
        self->interactive = interactive;
        g_object_notify_by_pspec(G_OBJECT(self), props[PROP_INTERACTIVE]);
}

static void token_wipe_free(gpointer token) {
        explicit_bzero(token, strlen(token));
        g_free(token);
}

/* The token as a GVariant whose memory we own and wipe when GDBus lets go of it. */
static GVariant *token_variant_new(const gchar *token) {
        gchar *copy = g_strdup(token);

        return g_variant_new_from_data(G_VARIANT_TYPE_STRING, copy, strlen(copy) + 1, TRUE, token_wipe_free,
                                       copy);
}

static gboolean finish_boolean(FzClient *self, GAsyncResult *result, gpointer source_tag, GError **error) {
        g_return_val_if_fail(FZ_IS_CLIENT(self), FALSE);
        g_return_val_if_fail(g_task_is_valid(result, self), FALSE);
        g_return_val_if_fail(g_async_result_is_tagged(result, source_tag), FALSE);
        return g_task_propagate_boolean(G_TASK(result), error);
}

static gpointer finish_pointer(FzClient *self, GAsyncResult *result, gpointer source_tag, GError **error) {
        g_return_val_if_fail(FZ_IS_CLIENT(self), NULL);
        g_return_val_if_fail(g_task_is_valid(result, self), NULL);
        g_return_val_if_fail(g_async_result_is_tagged(result, source_tag), NULL);
        return g_task_propagate_pointer(G_TASK(result), error);
}

/* The CallReplyFunc of our _async functions: completes their GTask (@user_data, tagged
 * with the function) with the reply. What a reply says goes into the mirror first, here in
 * the D-Bus context, in order with the daemon's signals. */
static void return_reply(FzClient *self, GVariant *body, GError *error, gpointer user_data) {
        g_autoptr(GTask) task = user_data;
        gpointer tag = g_task_get_source_tag(task);

        if (body == NULL)
                g_task_return_error(task, error);
        else if (tag == fz_client_get_status_async)
                /* The freshest data there is: the properties follow it. */
                g_task_return_pointer(task, status_apply(self, body, NULL), g_object_unref);
        else if (tag == fz_client_list_resources_async)
                g_task_return_pointer(task, resources_apply(self, body), (GDestroyNotify) g_ptr_array_unref);
        else {
                if (tag == fz_client_set_internet_resource_enabled_async)
                        /* The daemon switched it: the property says so by the time the caller
                         * hears of it, whether or not its PropertiesChanged came first. */
                        set_boolean(self, &self->internet_resource_enabled,
                                    GPOINTER_TO_INT(g_task_get_task_data(task)),
                                    PROP_INTERNET_RESOURCE_ENABLED);
                g_task_return_boolean(task, TRUE);
        }
}

/* A GTask for an _async function of ours, tagged with it. */
static GTask *task_new(FzClient *self, gpointer source_tag, GCancellable *cancellable,
                       GAsyncReadyCallback callback, gpointer user_data) {
        GTask *task = g_task_new(self, cancellable, callback, user_data);

        g_task_set_source_tag(task, source_tag);
        return task;
}

/**
 * fz_client_sign_in_async:
 * @self: a client
 * @token: the Firezone token (from the browser sign-in); printable ASCII, at most 4096 bytes
 * @account_slug: (nullable): the account, shown to users only
 * @actor_name: (nullable): who signs in, shown to users only
 * @api_url: (nullable): another portal (`wss://…`, or `ws://` to loopback); needs the
 *   polkit action `dev.firezone.client1.configure` as well
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the daemon accepted or refused the token
 * @user_data: data for @callback
 *
 * Starts an interactive session: the daemon checks the token and starts connecting.
 * The call returns once the token is accepted (the state becomes
 * %FZ_CLIENT_STATE_CONNECTING); watch #FzClient::state-changed for
 * %FZ_CLIENT_STATE_CONNECTED. Replaces a previous interactive session.
 *
 * This call may start the daemon by D-Bus activation. The library wipes its copy of
 * the token once the message is sent; the caller wipes its own.
 *
 * Cancelling only stops waiting for the reply once the request was sent: the daemon
 * may still carry it out.
 *
 * Since: 0.1
 */
void fz_client_sign_in_async(FzClient *self, const gchar *token, const gchar *account_slug,
                             const gchar *actor_name, const gchar *api_url, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data) {
        GTask *task;
        GVariantBuilder options;

        g_return_if_fail(FZ_IS_CLIENT(self));
        g_return_if_fail(token != NULL);
        g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));

        task = task_new(self, fz_client_sign_in_async, cancellable, callback, user_data);
        if (*token == '\0' || !g_utf8_validate(token, -1, NULL)) {
                g_task_return_new_error(
                        task, FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_INVALID_TOKEN,
                        "The token is empty or not text: copy the whole token and try again.");
                g_object_unref(task);
                return;
        }

        g_variant_builder_init(&options, G_VARIANT_TYPE_VARDICT);
        if (account_slug != NULL)
                g_variant_builder_add(&options, "{sv}", FZ_OPTION_ACCOUNT_SLUG, g_variant_new_string(account_slug));
        if (actor_name != NULL)
                g_variant_builder_add(&options, "{sv}", FZ_OPTION_ACTOR_NAME, g_variant_new_string(actor_name));
        if (api_url != NULL)
                g_variant_builder_add(&options, "{sv}", FZ_OPTION_API_URL, g_variant_new_string(api_url));

        call_send(self, FZ_METHOD_SIGN_IN, g_variant_new("(@sa{sv})", token_variant_new(token), &options),
                  G_VARIANT_TYPE_UNIT, CALL_MUTATING | CALL_AUTO_START, cancellable, return_reply, task);
}

/**
 * fz_client_sign_in_finish:
 * @self: a client
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for an error
 *
 * Finishes fz_client_sign_in_async().
 *
 * Returns: %TRUE if the daemon accepted the token
 *
 * Since: 0.1
 */
gboolean fz_client_sign_in_finish(FzClient *self, GAsyncResult *result, GError **error) {
        return finish_boolean(self, result, fz_client_sign_in_async, error);
}

/**
 * fz_client_sign_out_async:
 * @self: a client
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the daemon signed out
 * @user_data: data for @callback
 *
 * Tears the tunnel down; the daemon wipes the token. Signing out while signed out
 * succeeds.
 *
 * Since: 0.1
 */
void fz_client_sign_out_async(FzClient *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data) {
        g_return_if_fail(FZ_IS_CLIENT(self));
        g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));
        call_send(self, FZ_METHOD_SIGN_OUT, NULL, G_VARIANT_TYPE_UNIT, CALL_MUTATING, cancellable,
                  return_reply, task_new(self, fz_client_sign_out_async, cancellable, callback, user_data));
}

/**
 * fz_client_sign_out_finish:
 * @self: a client
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for an error
 *
 * Finishes fz_client_sign_out_async().
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean fz_client_sign_out_finish(FzClient *self, GAsyncResult *result, GError **error) {
        return finish_boolean(self, result, fz_client_sign_out_async, error);
}

/**
 * fz_client_reconnect_async:
 * @self: a client
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the daemon started reconnecting
 * @user_data: data for @callback
 *
 * Drops and re-establishes the portal and gateway connections. Fails with
 * %FZ_CLIENT_ERROR_NOT_SIGNED_IN while signed out.
 *
 * Since: 0.1
 */
void fz_client_reconnect_async(FzClient *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data) {
        g_return_if_fail(FZ_IS_CLIENT(self));
        g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));
        call_send(self, FZ_METHOD_RECONNECT, NULL, G_VARIANT_TYPE_UNIT, CALL_MUTATING, cancellable,
                  return_reply, task_new(self, fz_client_reconnect_async, cancellable, callback, user_data));
}

/**
 * fz_client_reconnect_finish:
 * @self: a client
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for an error
 *
 * Finishes fz_client_reconnect_async().
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean fz_client_reconnect_finish(FzClient *self, GAsyncResult *result, GError **error) {
        return finish_boolean(self, result, fz_client_reconnect_async, error);
}

/**
 * fz_client_set_internet_resource_enabled_async:
 * @self: a client
 * @enabled: whether traffic to the Internet should go through Firezone's Internet
 *   resource
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the daemon switched it, or refused to
 * @user_data: data for @callback
 *
 * Switches the Internet resource on or off. While it is on, and the portal grants an
 * Internet resource, the daemon routes traffic to the Internet (the default route)
 * through Firezone. The choice holds for the daemon's lifetime, across sign-ins; the
 * daemon does not store it, so an app that keeps the user's preference sends it again
 * when the daemon starts (#FzClient:daemon-running).
 *
 * Like sign-in, this is authorized by polkit (action
 * `dev.firezone.client1.set-internet-resource`, granted to group `firezone` by default)
 * and honours #FzClient:interactive. It fails with
 * %FZ_CLIENT_ERROR_MANAGED_BY_SERVICE_ACCOUNT when the daemon runs with a
 * service-account token (the administrator sets it then), with
 * %FZ_CLIENT_ERROR_PERMISSION_DENIED or %FZ_CLIENT_ERROR_AUTHORIZATION_REQUIRED when
 * polkit says no, and with %FZ_CLIENT_ERROR_DAEMON_NOT_RUNNING: it never starts the
 * daemon.
 *
 * When it succeeds, #FzClient:internet-resource-enabled is @enabled by the time
 * @callback runs.
 *
 * Since: 0.2
 */
void fz_client_set_internet_resource_enabled_async(FzClient *self, gboolean enabled,
                                                   GCancellable *cancellable, GAsyncReadyCallback callback,
                                                   gpointer user_data) {
        GTask *task;
        GVariantBuilder options;

        g_return_if_fail(FZ_IS_CLIENT(self));
        g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));
        enabled = !!enabled;
        task = task_new(self, fz_client_set_internet_resource_enabled_async, cancellable, callback,
                        user_data);
        g_task_set_task_data(task, GINT_TO_POINTER(enabled), NULL);
        g_variant_builder_init(&options, G_VARIANT_TYPE_VARDICT);
        call_send(self, FZ_METHOD_SET_INTERNET_RESOURCE_ENABLED,
                  g_variant_new("(ba{sv})", enabled, &options), G_VARIANT_TYPE_UNIT, CALL_MUTATING,
                  cancellable, return_reply, task);
}

/**
 * fz_client_set_internet_resource_enabled_finish:
 * @self: a client
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for an error
 *
 * Finishes fz_client_set_internet_resource_enabled_async().
 *
 * Returns: %TRUE if the daemon switched the Internet resource as asked
 *
 * Since: 0.2
 */
gboolean fz_client_set_internet_resource_enabled_finish(FzClient *self, GAsyncResult *result,
                                                        GError **error) {
        return finish_boolean(self, result, fz_client_set_internet_resource_enabled_async, error);
}

/**
 * fz_client_get_status_async:
 * @self: a client
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the status
 * @user_data: data for @callback
 *
 * Asks the daemon for everything it reports about itself, in one round trip. Never
 * starts the daemon: fails with %FZ_CLIENT_ERROR_DAEMON_NOT_RUNNING if it is not running.
 *
 * Since: 0.1
 */
void fz_client_get_status_async(FzClient *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data) {
        g_return_if_fail(FZ_IS_CLIENT(self));
        g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));
        call_send(self, FZ_METHOD_STATUS, NULL, G_VARIANT_TYPE("(a{sv})"), CALL_READ, cancellable,
                  return_reply,
                  task_new(self, fz_client_get_status_async, cancellable, callback, user_data));
}

/**
 * fz_client_get_status_finish:
 * @self: a client
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for an error
 *
 * Finishes fz_client_get_status_async(). The client's properties are updated from the
 * status too.
 *
 * Returns: (transfer full): the status, or %NULL on error
 *
 * Since: 0.1
 */
FzClientStatus *fz_client_get_status_finish(FzClient *self, GAsyncResult *result, GError **error) {
        return finish_pointer(self, result, fz_client_get_status_async, error);
}

/**
 * fz_client_list_resources_async:
 * @self: a client
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the resources
 * @user_data: data for @callback
 *
 * Asks the daemon for the resources the portal grants this device, sorted by name.
 * Never starts the daemon.
 *
 * Since: 0.1
 */
void fz_client_list_resources_async(FzClient *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data) {
        g_return_if_fail(FZ_IS_CLIENT(self));
        g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));
        call_send(self, FZ_METHOD_LIST_RESOURCES, NULL, G_VARIANT_TYPE("(aa{sv})"), CALL_READ, cancellable,
                  return_reply,
                  task_new(self, fz_client_list_resources_async, cancellable, callback, user_data));
}

/**
 * fz_client_list_resources_finish:
 * @self: a client
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for an error
 *
 * Finishes fz_client_list_resources_async().
 *
 * Returns: (transfer container) (element-type FzResource): the resources (free with
 *   g_ptr_array_unref()), or %NULL on error
 *
 * Since: 0.1
 */
GPtrArray *fz_client_list_resources_finish(FzClient *self, GAsyncResult *result, GError **error) {
        return finish_pointer(self, result, fz_client_list_resources_async, error);
}
