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
 * refusal by the bus (not in group firezone) from one by the daemon (polkit). */
#include <string.h>

#include "fz-client-private.h"
#include "fz-client-enum-types.h"

struct _FzClient {
        GObject parent_instance;

        GDBusConnection *connection;
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
        GPtrArray *resources;

        gboolean interactive;
        gboolean initialized;
        /* fz_client_init_async() in progress: done after the watch's first report (and,
         * if the daemon runs, after reading it). */
        GTask *init_task;
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

                (void)FZ_CLIENT_ERROR; /* registered before GDBus decodes the name */
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
                        method, g_variant_get_type_string(body), (const gchar *)reply_type);
                return NULL;
        }
        return g_variant_ref_sink(body);
}

typedef struct {
        GTask *task; /* owned */
        const gchar *method;
        const GVariantType *reply_type;
} CallData;

static void call_done(GObject *source, GAsyncResult *res, gpointer user_data) {
        CallData *data = user_data;
        GError *send_error = NULL, *error = NULL;
        GDBusMessage *reply;
        GVariant *body;

        reply = g_dbus_connection_send_message_with_reply_finish(G_DBUS_CONNECTION(source), res,
                                                                 &send_error);
        body = call_reply_process(reply, send_error, data->method, data->reply_type, &error);
        if (body == NULL)
                g_task_return_error(data->task, error);
        else
                g_task_return_pointer(data->task, body, (GDestroyNotify)g_variant_unref);
        g_object_unref(data->task);
        g_free(data);
}

/* Like g_dbus_connection_call() to the daemon, with the error mapping above. Consumes a
 * floating @params and the reference to @task; the reply body (or the error) is returned
 * through @task: fetch it with g_task_propagate_pointer(). */
static void call_async(FzClient *self, const gchar *method, GVariant *params, const GVariantType *reply_type,
                       CallFlags flags, GTask *task) {
        g_autoptr(GDBusMessage) msg = NULL;
        g_autoptr(GVariant) owned_params = params != NULL ? g_variant_ref_sink(params) : NULL;
        CallData *data;
        gint timeout;

        /* Cancelled before anything was sent: nothing must reach the daemon. */
        if (g_task_return_error_if_cancelled(task)) {
                g_object_unref(task);
                return;
        }
        if (self->connection == NULL) {
                g_task_return_new_error(
                        task, FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_FAILED,
                        "The client is not initialized: create it with fz_client_new_async().");
                g_object_unref(task);
                return;
        }
        data = g_new0(CallData, 1);
        data->task = task;
        data->method = method;
        data->reply_type = reply_type;
        msg = call_message_new(self, method, owned_params, flags, &timeout);
        g_dbus_connection_send_message_with_reply(self->connection, msg, G_DBUS_SEND_MESSAGE_FLAGS_NONE,
                                                  timeout, NULL, g_task_get_cancellable(task), call_done,
                                                  data);
}

static GVariant *call_sync(FzClient *self, const gchar *method, const GVariantType *reply_type,
                           GCancellable *cancellable, GError **error) {
        g_autoptr(GDBusMessage) msg = NULL;
        GError *e = NULL;
        GDBusMessage *reply;
        gint timeout;

        msg = call_message_new(self, method, NULL, CALL_READ, &timeout);
        reply = g_dbus_connection_send_message_with_reply_sync(
                self->connection, msg, G_DBUS_SEND_MESSAGE_FLAGS_NONE, timeout, NULL, cancellable, &e);
        return call_reply_process(reply, e, method, reply_type, error);
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

static void set_requires_sign_in(FzClient *self, gboolean value) {
        value = !!value;
        if (self->requires_sign_in == value)
                return;
        self->requires_sign_in = value;
        g_object_notify_by_pspec(G_OBJECT(self), props[PROP_REQUIRES_SIGN_IN]);
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
        set_requires_sign_in(self, fz_client_status_get_requires_sign_in(status));
        g_object_thaw_notify(G_OBJECT(self));
        if (state_changed && reason != NULL)
                emit_state_changed(self, reason);
}

static void clear_mirror(FzClient *self) {
        g_autoptr(FzClientStatus) empty = fz_client_status_new_from_variant(NULL);

        apply_status(self, empty, "daemon-stopped");
        set_resources(self, g_ptr_array_new_with_free_func(g_object_unref), FALSE);
}

/* ---- following the daemon: refresh on owner change -------------------------------------- */

typedef struct {
        FzClient *self; /* owned */
        guint generation;
        guint pending;
        gchar *reason;
        GTask *waiter; /* nullable, owned: completed when both reads are done */
} Refresh;

static void refresh_unref_pending(Refresh *r) {
        if (--r->pending > 0)
                return;
        if (r->waiter != NULL) {
                g_task_return_boolean(r->waiter, TRUE);
                g_object_unref(r->waiter);
        }
        g_object_unref(r->self);
        g_free(r->reason);
        g_free(r);
}

static void refresh_status_done(GObject *source, GAsyncResult *res, gpointer user_data) {
        Refresh *r = g_task_get_task_data(G_TASK(res));
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = g_task_propagate_pointer(G_TASK(res), &error);

        if (reply != NULL && r->generation == r->self->generation) {
                g_autoptr(GVariant) dict = g_variant_get_child_value(reply, 0);
                g_autoptr(FzClientStatus) status = fz_client_status_new_from_variant(dict);
                apply_status(r->self, status, r->reason);
        } else if (error != NULL && !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                g_debug("Could not read the daemon's status: %s", error->message);
        refresh_unref_pending(r);
}

static void refresh_resources_done(GObject *source, GAsyncResult *res, gpointer user_data) {
        Refresh *r = g_task_get_task_data(G_TASK(res));
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = g_task_propagate_pointer(G_TASK(res), &error);

        if (reply != NULL && r->generation == r->self->generation) {
                g_autoptr(GVariant) list = g_variant_get_child_value(reply, 0);
                set_resources(r->self, fz_resource_list_new_from_variant(list), FALSE);
        } else if (error != NULL && !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                g_debug("Could not read the daemon's resources: %s", error->message);
        refresh_unref_pending(r);
}

/* Read Status() and ListResources() from the current owner. Both calls carry the refresh
 * in their task data; the GTask only transports the reply. */
static void refresh_start(FzClient *self, const gchar *reason, GTask *waiter) {
        Refresh *r = g_new0(Refresh, 1);
        GTask *t;

        r->self = g_object_ref(self);
        r->generation = self->generation;
        r->pending = 2;
        r->reason = g_strdup(reason);
        r->waiter = waiter;

        t = g_task_new(self, self->refresh_cancellable, refresh_status_done, NULL);
        g_task_set_source_tag(t, refresh_start);
        g_task_set_task_data(t, r, NULL);
        call_async(self, FZ_METHOD_STATUS, NULL, G_VARIANT_TYPE("(a{sv})"), CALL_READ, t);

        t = g_task_new(self, self->refresh_cancellable, refresh_resources_done, NULL);
        g_task_set_source_tag(t, refresh_start);
        g_task_set_task_data(t, r, NULL);
        call_async(self, FZ_METHOD_LIST_RESOURCES, NULL, G_VARIANT_TYPE("(aa{sv})"), CALL_READ, t);
}

/* Returns TRUE if the owner changed; then the old owner's reads are cancelled. */
static gboolean owner_replace(FzClient *self, const gchar *owner) {
        gboolean was_running = self->owner != NULL;

        if (g_strcmp0(owner, self->owner) == 0)
                return FALSE;
        self->generation++;
        g_cancellable_cancel(self->refresh_cancellable);
        g_object_unref(self->refresh_cancellable);
        self->refresh_cancellable = g_cancellable_new();
        g_free(self->owner);
        self->owner = g_strdup(owner);
        if (was_running != (owner != NULL))
                g_object_notify_by_pspec(G_OBJECT(self), props[PROP_DAEMON_RUNNING]);
        return TRUE;
}

static void on_name_appeared(GDBusConnection *connection, const gchar *name, const gchar *owner,
                             gpointer user_data) {
        FzClient *self = user_data;
        GTask *init_task = g_steal_pointer(&self->init_task);
        gboolean restarted = self->owner != NULL;
        const gchar *reason;

        if (!owner_replace(self, owner)) {
                if (init_task != NULL) {
                        g_task_return_boolean(init_task, TRUE);
                        g_object_unref(init_task);
                }
                return;
        }
        g_debug("%s is now owned by %s", name, owner);
        /* No ::state-changed while initializing: nobody has seen a state yet. */
        if (init_task != NULL)
                reason = NULL;
        else
                reason = restarted ? "daemon-restarted" : "daemon-started";
        refresh_start(self, reason, init_task);
}

static void on_name_vanished(GDBusConnection *connection, const gchar *name, gpointer user_data) {
        FzClient *self = user_data;
        GTask *init_task = g_steal_pointer(&self->init_task);

        if (owner_replace(self, NULL)) {
                g_debug("%s has no owner", name);
                clear_mirror(self);
        }
        if (init_task != NULL) {
                g_task_return_boolean(init_task, TRUE);
                g_object_unref(init_task);
        }
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
        (void)g_variant_lookup(details, "reason", "&s", &reason);

        g_object_freeze_notify(G_OBJECT(self));
        set_state(self, fz_client_state_from_string(state));
        if (g_variant_lookup(details, "last-error", "&s", &last_error))
                set_string(self, &self->last_error, last_error, PROP_LAST_ERROR);
        if (g_variant_lookup(details, "requires-sign-in", "b", &requires_sign_in))
                set_requires_sign_in(self, requires_sign_in);
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
        g_object_thaw_notify(G_OBJECT(self));

        /* A property announced without its value: read everything again. */
        if (g_variant_iter_n_children(invalidated) > 0 && self->owner != NULL)
                refresh_start(self, NULL, NULL);
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
        /* The first callback reports the owner we are about to read anyway; owner_replace()
         * makes it a no-op then. */
        self->watch_id =
                g_bus_watch_name_on_connection(self->connection, FZ_BUS_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                               on_name_appeared, on_name_vanished, self, NULL);
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

static gboolean fz_client_initable_init(GInitable *initable, GCancellable *cancellable, GError **error) {
        FzClient *self = FZ_CLIENT(initable);
        g_autoptr(GVariant) owner_reply = NULL;
        g_autoptr(GVariant) status_reply = NULL;
        g_autoptr(GVariant) resources_reply = NULL;
        g_autoptr(GError) local_error = NULL;
        const gchar *owner;

        if (self->initialized)
                return TRUE;
        if (g_cancellable_set_error_if_cancelled(cancellable, error))
                return FALSE;
        self->connection = g_bus_get_sync(G_BUS_TYPE_SYSTEM, cancellable, &local_error);
        if (self->connection == NULL) {
                g_propagate_error(error, g_error_matches(local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                                                 ? g_steal_pointer(&local_error)
                                                 : bus_error(g_steal_pointer(&local_error)));
                return FALSE;
        }
        subscribe(self);
        self->initialized = TRUE;

        owner_reply = g_dbus_connection_call_sync(
                self->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                "GetNameOwner", g_variant_new("(s)", FZ_BUS_NAME), G_VARIANT_TYPE("(s)"),
                G_DBUS_CALL_FLAGS_NONE, -1, cancellable, NULL);
        if (owner_reply == NULL)
                return TRUE;
        g_variant_get(owner_reply, "(&s)", &owner);
        owner_replace(self, owner);

        /* Failures (e.g. a user outside group firezone) leave the mirror empty; each
         * call reports them. */
        status_reply = call_sync(self, FZ_METHOD_STATUS, G_VARIANT_TYPE("(a{sv})"), cancellable, NULL);
        if (status_reply != NULL) {
                g_autoptr(GVariant) dict = g_variant_get_child_value(status_reply, 0);
                g_autoptr(FzClientStatus) status = fz_client_status_new_from_variant(dict);
                apply_status(self, status, NULL);
        }
        resources_reply =
                call_sync(self, FZ_METHOD_LIST_RESOURCES, G_VARIANT_TYPE("(aa{sv})"), cancellable, NULL);
        if (resources_reply != NULL) {
                g_autoptr(GVariant) list = g_variant_get_child_value(resources_reply, 0);
                set_resources(self, fz_resource_list_new_from_variant(list), FALSE);
        }
        return TRUE;
}

static void init_bus_done(GObject *source, GAsyncResult *res, gpointer user_data) {
        GTask *task = user_data;
        FzClient *self = g_task_get_source_object(task);
        GError *error = NULL;

        self->connection = g_bus_get_finish(res, &error);
        if (self->connection == NULL) {
                g_task_return_error(task, g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                                                  ? error
                                                  : bus_error(error));
                g_object_unref(task);
                return;
        }
        self->initialized = TRUE;
        /* The watch's first callback reports the current owner (it asks the bus) and
         * completes the task. */
        self->init_task = task;
        subscribe(self);
}

static void fz_client_init_async(GAsyncInitable *initable, int io_priority, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data) {
        FzClient *self = FZ_CLIENT(initable);
        GTask *task = g_task_new(self, cancellable, callback, user_data);

        g_task_set_source_tag(task, fz_client_init_async);
        g_task_set_priority(task, io_priority);
        if (g_task_return_error_if_cancelled(task)) {
                g_object_unref(task);
                return;
        }
        if (self->initialized) {
                g_task_return_boolean(task, TRUE);
                g_object_unref(task);
                return;
        }
        g_bus_get(G_BUS_TYPE_SYSTEM, cancellable, init_bus_done, task);
}

static gboolean fz_client_init_finish(GAsyncInitable *initable, GAsyncResult *res, GError **error) {
        g_return_val_if_fail(g_task_is_valid(res, initable), FALSE);
        return g_task_propagate_boolean(G_TASK(res), error);
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

        if (self->watch_id != 0) {
                g_bus_unwatch_name(self->watch_id);
                self->watch_id = 0;
        }
        if (self->connection != NULL) {
                guint *subs[] = {&self->sub_state_changed, &self->sub_resources_changed,
                                 &self->sub_properties_changed};
                for (gsize i = 0; i < G_N_ELEMENTS(subs); i++)
                        if (*subs[i] != 0) {
                                g_dbus_connection_signal_unsubscribe(self->connection, *subs[i]);
                                *subs[i] = 0;
                        }
        }
        if (self->refresh_cancellable != NULL)
                g_cancellable_cancel(self->refresh_cancellable);
        g_clear_object(&self->connection);
        G_OBJECT_CLASS(fz_client_parent_class)->dispose(object);
}

static void fz_client_finalize(GObject *object) {
        FzClient *self = FZ_CLIENT(object);

        g_clear_object(&self->refresh_cancellable);
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
         * Whether sign-in, sign-out and reconnect let polkit ask for a password (the
         * D-Bus ALLOW_INTERACTIVE_AUTHORIZATION flag). Those calls then wait without a
         * timeout. Without it, a call that needs authentication fails with
         * %FZ_CLIENT_ERROR_AUTHORIZATION_REQUIRED.
         *
         * Since: 0.1
         */
        props[PROP_INTERACTIVE] =
                g_param_spec_boolean("interactive", NULL, NULL, FALSE,
                                     G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
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
 * Like fz_client_new_async(), but blocks; for simple programs. The calls below are
 * asynchronous all the same.
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
        g_autoptr(GVariant) reply = NULL;

        g_return_val_if_fail(FZ_IS_CLIENT(self), FALSE);
        g_return_val_if_fail(g_task_is_valid(result, self), FALSE);
        g_return_val_if_fail(g_async_result_is_tagged(result, source_tag), FALSE);
        reply = g_task_propagate_pointer(G_TASK(result), error);
        return reply != NULL;
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

        task = g_task_new(self, cancellable, callback, user_data);
        g_task_set_source_tag(task, fz_client_sign_in_async);
        if (*token == '\0' || !g_utf8_validate(token, -1, NULL)) {
                g_task_return_new_error(
                        task, FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_INVALID_TOKEN,
                        "The token is empty or not text: copy the whole token and try again.");
                g_object_unref(task);
                return;
        }

        g_variant_builder_init(&options, G_VARIANT_TYPE_VARDICT);
        if (account_slug != NULL)
                g_variant_builder_add(&options, "{sv}", "account-slug", g_variant_new_string(account_slug));
        if (actor_name != NULL)
                g_variant_builder_add(&options, "{sv}", "actor-name", g_variant_new_string(actor_name));
        if (api_url != NULL)
                g_variant_builder_add(&options, "{sv}", "api-url", g_variant_new_string(api_url));

        call_async(self, FZ_METHOD_SIGN_IN, g_variant_new("(@sa{sv})", token_variant_new(token), &options),
                   G_VARIANT_TYPE_UNIT, CALL_MUTATING | CALL_AUTO_START, task);
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
        GTask *task;

        g_return_if_fail(FZ_IS_CLIENT(self));
        g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));
        task = g_task_new(self, cancellable, callback, user_data);
        g_task_set_source_tag(task, fz_client_sign_out_async);
        call_async(self, FZ_METHOD_SIGN_OUT, NULL, G_VARIANT_TYPE_UNIT, CALL_MUTATING, task);
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
        GTask *task;

        g_return_if_fail(FZ_IS_CLIENT(self));
        g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));
        task = g_task_new(self, cancellable, callback, user_data);
        g_task_set_source_tag(task, fz_client_reconnect_async);
        call_async(self, FZ_METHOD_RECONNECT, NULL, G_VARIANT_TYPE_UNIT, CALL_MUTATING, task);
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

static void get_status_done(GObject *source, GAsyncResult *res, gpointer user_data) {
        g_autoptr(GTask) task = user_data;
        FzClient *self = FZ_CLIENT(source);
        g_autoptr(GVariant) reply = NULL;
        g_autoptr(GVariant) dict = NULL;
        GError *error = NULL;
        FzClientStatus *status;

        reply = g_task_propagate_pointer(G_TASK(res), &error);
        if (reply == NULL) {
                g_task_return_error(task, error);
                return;
        }
        dict = g_variant_get_child_value(reply, 0);
        status = fz_client_status_new_from_variant(dict);
        /* The freshest data there is: the properties follow it. */
        apply_status(self, status, NULL);
        g_task_return_pointer(task, status, g_object_unref);
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
        GTask *task, *call;

        g_return_if_fail(FZ_IS_CLIENT(self));
        g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));
        task = g_task_new(self, cancellable, callback, user_data);
        g_task_set_source_tag(task, fz_client_get_status_async);
        call = g_task_new(self, cancellable, get_status_done, task);
        call_async(self, FZ_METHOD_STATUS, NULL, G_VARIANT_TYPE("(a{sv})"), CALL_READ, call);
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
        g_return_val_if_fail(FZ_IS_CLIENT(self), NULL);
        g_return_val_if_fail(g_task_is_valid(result, self), NULL);
        g_return_val_if_fail(g_async_result_is_tagged(result, fz_client_get_status_async), NULL);
        return g_task_propagate_pointer(G_TASK(result), error);
}

static void list_resources_done(GObject *source, GAsyncResult *res, gpointer user_data) {
        g_autoptr(GTask) task = user_data;
        FzClient *self = FZ_CLIENT(source);
        g_autoptr(GVariant) reply = NULL;
        g_autoptr(GVariant) list = NULL;
        GError *error = NULL;
        GPtrArray *resources;

        reply = g_task_propagate_pointer(G_TASK(res), &error);
        if (reply == NULL) {
                g_task_return_error(task, error);
                return;
        }
        list = g_variant_get_child_value(reply, 0);
        resources = fz_resource_list_new_from_variant(list);
        set_resources(self, g_ptr_array_copy(resources, (GCopyFunc)(void (*)(void))g_object_ref, NULL),
                      FALSE);
        g_task_return_pointer(task, resources, (GDestroyNotify)g_ptr_array_unref);
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
        GTask *task, *call;

        g_return_if_fail(FZ_IS_CLIENT(self));
        g_return_if_fail(cancellable == NULL || G_IS_CANCELLABLE(cancellable));
        task = g_task_new(self, cancellable, callback, user_data);
        g_task_set_source_tag(task, fz_client_list_resources_async);
        call = g_task_new(self, cancellable, list_resources_done, task);
        call_async(self, FZ_METHOD_LIST_RESOURCES, NULL, G_VARIANT_TYPE("(aa{sv})"), CALL_READ, call);
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
        g_return_val_if_fail(FZ_IS_CLIENT(self), NULL);
        g_return_val_if_fail(g_task_is_valid(result, self), NULL);
        g_return_val_if_fail(g_async_result_is_tagged(result, fz_client_list_resources_async), NULL);
        return g_task_propagate_pointer(G_TASK(result), error);
}
