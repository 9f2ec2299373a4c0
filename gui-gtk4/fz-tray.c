/* SPDX-License-Identifier: Apache-2.0 */
/* StatusNotifierItem, the parts hosts use: the properties, NewIcon/NewToolTip/NewStatus,
 * and Activate (left click opens the window; "activate" signal). The menu is a separate
 * com.canonical.dbusmenu object (fz-tray-menu.c) named by the Menu property. */
#include "fz-tray.h"

#include <unistd.h>

#include "config.h"

#define WATCHER_NAME  "org.kde.StatusNotifierWatcher"
#define WATCHER_PATH  "/StatusNotifierWatcher"
#define WATCHER_IFACE "org.kde.StatusNotifierWatcher"
#define ITEM_PATH     "/StatusNotifierItem"
#define ITEM_IFACE    "org.kde.StatusNotifierItem"

static const gchar item_xml[] = "<node>"
                                " <interface name='org.kde.StatusNotifierItem'>"
                                "  <property name='Category' type='s' access='read'/>"
                                "  <property name='Id' type='s' access='read'/>"
                                "  <property name='Title' type='s' access='read'/>"
                                "  <property name='Status' type='s' access='read'/>"
                                "  <property name='WindowId' type='i' access='read'/>"
                                "  <property name='IconName' type='s' access='read'/>"
                                "  <property name='IconThemePath' type='s' access='read'/>"
                                "  <property name='IconPixmap' type='a(iiay)' access='read'/>"
                                "  <property name='OverlayIconName' type='s' access='read'/>"
                                "  <property name='OverlayIconPixmap' type='a(iiay)' access='read'/>"
                                "  <property name='AttentionIconName' type='s' access='read'/>"
                                "  <property name='AttentionIconPixmap' type='a(iiay)' access='read'/>"
                                "  <property name='AttentionMovieName' type='s' access='read'/>"
                                "  <property name='ToolTip' type='(sa(iiay)ss)' access='read'/>"
                                "  <property name='ItemIsMenu' type='b' access='read'/>"
                                "  <property name='Menu' type='o' access='read'/>"
                                "  <method name='ContextMenu'><arg name='x' type='i' direction='in'/><arg "
                                "name='y' type='i' direction='in'/></method>"
                                "  <method name='Activate'><arg name='x' type='i' direction='in'/><arg "
                                "name='y' type='i' direction='in'/></method>"
                                "  <method name='SecondaryActivate'><arg name='x' type='i' "
                                "direction='in'/><arg name='y' type='i' direction='in'/></method>"
                                "  <method name='Scroll'><arg name='delta' type='i' direction='in'/><arg "
                                "name='orientation' type='s' direction='in'/></method>"
                                "  <signal name='NewTitle'/>"
                                "  <signal name='NewIcon'/>"
                                "  <signal name='NewAttentionIcon'/>"
                                "  <signal name='NewOverlayIcon'/>"
                                "  <signal name='NewToolTip'/>"
                                "  <signal name='NewStatus'><arg name='status' type='s'/></signal>"
                                " </interface>"
                                "</node>";

struct _FzTray {
        GObject parent_instance;

        GDBusConnection *connection;
        gchar *menu_path;
        gchar *bus_name;
        guint registration_id;
        guint own_id;
        guint watch_id;
        guint host_sub;
        gboolean name_owned;
        gboolean watcher_present;
        gboolean registered;
        gboolean host_registered;
        gboolean available;
        gboolean settled;
        GCancellable *cancellable;

        gchar *icon_name;
        gchar *title;
        gchar *description;
};

enum { PROP_0, PROP_AVAILABLE, PROP_SETTLED, N_PROPS };
static GParamSpec *props[N_PROPS];
enum { SIGNAL_ACTIVATE, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE(FzTray, fz_tray, G_TYPE_OBJECT)

static void update_available(FzTray *self, gboolean settled) {
        gboolean available = self->watcher_present && self->registered && self->host_registered;

        if (available != self->available) {
                self->available = available;
                g_info("Tray icon %s", available ? "shown by the StatusNotifierWatcher" : "not available");
                g_object_notify_by_pspec(G_OBJECT(self), props[PROP_AVAILABLE]);
        }
        if (settled && !self->settled) {
                self->settled = TRUE;
                g_object_notify_by_pspec(G_OBJECT(self), props[PROP_SETTLED]);
        }
}

static void emit(FzTray *self, const gchar *signal, GVariant *params) {
        if (self->registration_id == 0)
                return;
        g_dbus_connection_emit_signal(self->connection, NULL, ITEM_PATH, ITEM_IFACE, signal, params, NULL);
}

static GVariant *get_property(GDBusConnection *connection, const gchar *sender, const gchar *path,
                              const gchar *iface, const gchar *name, GError **error, gpointer user_data) {
        FzTray *self = user_data;

        if (g_str_equal(name, "Category"))
                return g_variant_new_string("ApplicationStatus");
        if (g_str_equal(name, "Id"))
                return g_variant_new_string("firezone");
        if (g_str_equal(name, "Title"))
                return g_variant_new_string("Firezone");
        if (g_str_equal(name, "Status"))
                return g_variant_new_string("Active");
        if (g_str_equal(name, "WindowId"))
                return g_variant_new_int32(0);
        if (g_str_equal(name, "IconName"))
                return g_variant_new_string(self->icon_name);
        if (g_str_equal(name, "IconThemePath"))
                return g_variant_new_string(FZ_GUI_ICON_DIR);
        /* Hosts read every property of the specification (seen: xfce4-panel, lxqt-panel):
         * the ones without a value are empty, not missing. */
        if (g_str_equal(name, "IconPixmap") || g_str_equal(name, "OverlayIconPixmap") ||
            g_str_equal(name, "AttentionIconPixmap"))
                return g_variant_new_array(G_VARIANT_TYPE("(iiay)"), NULL, 0);
        if (g_str_equal(name, "OverlayIconName") || g_str_equal(name, "AttentionIconName") ||
            g_str_equal(name, "AttentionMovieName"))
                return g_variant_new_string("");
        if (g_str_equal(name, "ToolTip"))
                return g_variant_new("(s@a(iiay)ss)", self->icon_name,
                                     g_variant_new_array(G_VARIANT_TYPE("(iiay)"), NULL, 0), self->title,
                                     self->description);
        if (g_str_equal(name, "ItemIsMenu"))
                /* Left click opens the window (Activate); the menu is on right click. */
                return g_variant_new_boolean(FALSE);
        if (g_str_equal(name, "Menu"))
                return g_variant_new_object_path(self->menu_path);
        g_set_error(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, "No property %s", name);
        return NULL;
}

static void method_call(GDBusConnection *connection, const gchar *sender, const gchar *path,
                        const gchar *iface, const gchar *method, GVariant *params,
                        GDBusMethodInvocation *invocation, gpointer user_data) {
        FzTray *self = user_data;

        if (g_str_equal(method, "Activate") || g_str_equal(method, "SecondaryActivate"))
                g_signal_emit(self, signals[SIGNAL_ACTIVATE], 0);
        /* ContextMenu and Scroll: the host shows the DBusMenu itself; nothing to scroll. */
        g_dbus_method_invocation_return_value(invocation, NULL);
}

static const GDBusInterfaceVTable item_vtable = {method_call, get_property, NULL, {0}};

static void host_registered_read(GObject *source, GAsyncResult *res, gpointer user_data) {
        FzTray *self = user_data;
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, &error);

        if (reply == NULL) {
                if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                        return;
                /* A watcher that cannot say: assume it shows us. */
                self->host_registered = TRUE;
        } else {
                g_autoptr(GVariant) value = NULL;
                g_variant_get(reply, "(v)", &value);
                self->host_registered =
                        !g_variant_is_of_type(value, G_VARIANT_TYPE_BOOLEAN) || g_variant_get_boolean(value);
        }
        update_available(self, TRUE);
}

static void registered(GObject *source, GAsyncResult *res, gpointer user_data) {
        FzTray *self = user_data;
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, &error);

        if (reply == NULL) {
                if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                        return;
                g_info("The StatusNotifierWatcher refused the tray icon (%s); the window is the interface",
                       error->message);
                self->registered = FALSE;
                update_available(self, TRUE);
                return;
        }
        self->registered = TRUE;
        g_dbus_connection_call(self->connection, WATCHER_NAME, WATCHER_PATH,
                               "org.freedesktop.DBus.Properties", "Get",
                               g_variant_new("(ss)", WATCHER_IFACE, "IsStatusNotifierHostRegistered"),
                               G_VARIANT_TYPE("(v)"), G_DBUS_CALL_FLAGS_NO_AUTO_START, 5000,
                               self->cancellable, host_registered_read, self);
}

static void try_register(FzTray *self) {
        if (!self->watcher_present || !self->name_owned)
                return;
        g_dbus_connection_call(self->connection, WATCHER_NAME, WATCHER_PATH, WATCHER_IFACE,
                               "RegisterStatusNotifierItem", g_variant_new("(s)", self->bus_name), NULL,
                               G_DBUS_CALL_FLAGS_NO_AUTO_START, 5000, self->cancellable, registered, self);
}

static void host_signal(GDBusConnection *connection, const gchar *sender, const gchar *path,
                        const gchar *iface, const gchar *signal, GVariant *params, gpointer user_data) {
        FzTray *self = user_data;

        self->host_registered = g_str_equal(signal, "StatusNotifierHostRegistered");
        update_available(self, FALSE);
}

static void watcher_appeared(GDBusConnection *connection, const gchar *name, const gchar *owner,
                             gpointer user_data) {
        FzTray *self = user_data;

        self->watcher_present = TRUE;
        self->registered = FALSE;
        try_register(self);
}

static void watcher_vanished(GDBusConnection *connection, const gchar *name, gpointer user_data) {
        FzTray *self = user_data;

        self->watcher_present = FALSE;
        self->registered = FALSE;
        self->host_registered = FALSE;
        update_available(self, TRUE);
}

static void name_acquired(GDBusConnection *connection, const gchar *name, gpointer user_data) {
        FzTray *self = user_data;

        self->name_owned = TRUE;
        try_register(self);
}

static void name_lost(GDBusConnection *connection, const gchar *name, gpointer user_data) {
        FzTray *self = user_data;

        if (connection == NULL || !self->name_owned) {
                /* Could not get the name at all: no tray. */
                g_info("Could not own %s; no tray icon", name);
                update_available(self, TRUE);
        }
        self->name_owned = FALSE;
}

FzTray *fz_tray_new(GDBusConnection *connection, const gchar *menu_path) {
        FzTray *self = g_object_new(FZ_TYPE_TRAY, NULL);
        g_autoptr(GDBusNodeInfo) info = g_dbus_node_info_new_for_xml(item_xml, NULL);
        g_autoptr(GError) error = NULL;
        static guint counter;

        self->connection = g_object_ref(connection);
        self->menu_path = g_strdup(menu_path);
        self->registration_id = g_dbus_connection_register_object(
                self->connection, ITEM_PATH, info->interfaces[0], &item_vtable, self, NULL, &error);
        if (self->registration_id == 0) {
                g_warning("Could not export the tray icon: %s", error->message);
                update_available(self, TRUE);
                return self;
        }
        /* The name other implementations use, so that hosts that guess it find us. */
        self->bus_name = g_strdup_printf("org.kde.StatusNotifierItem-%d-%u", (int)getpid(), ++counter);
        self->own_id =
                g_bus_own_name_on_connection(self->connection, self->bus_name, G_BUS_NAME_OWNER_FLAGS_NONE,
                                             name_acquired, name_lost, self, NULL);
        self->host_sub = g_dbus_connection_signal_subscribe(
                self->connection, WATCHER_NAME, WATCHER_IFACE, NULL, WATCHER_PATH, NULL,
                G_DBUS_SIGNAL_FLAGS_NONE, host_signal, self, NULL);
        self->watch_id =
                g_bus_watch_name_on_connection(self->connection, WATCHER_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                               watcher_appeared, watcher_vanished, self, NULL);
        return self;
}

gboolean fz_tray_get_available(FzTray *self) {
        g_return_val_if_fail(FZ_IS_TRAY(self), FALSE);
        return self->available;
}

gboolean fz_tray_get_settled(FzTray *self) {
        g_return_val_if_fail(FZ_IS_TRAY(self), FALSE);
        return self->settled;
}

void fz_tray_set_status(FzTray *self, const gchar *icon_name, const gchar *title, const gchar *description) {
        gboolean icon_changed, tip_changed;

        g_return_if_fail(FZ_IS_TRAY(self));
        icon_changed = g_strcmp0(self->icon_name, icon_name) != 0;
        tip_changed = icon_changed || g_strcmp0(self->title, title) != 0 ||
                      g_strcmp0(self->description, description) != 0;
        g_free(self->icon_name);
        self->icon_name = g_strdup(icon_name);
        g_free(self->title);
        self->title = g_strdup(title);
        g_free(self->description);
        self->description = g_strdup(description);
        if (icon_changed)
                emit(self, "NewIcon", NULL);
        if (tip_changed)
                emit(self, "NewToolTip", NULL);
}

static void fz_tray_get_gproperty(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
        FzTray *self = FZ_TRAY(object);

        switch (prop_id) {
        case PROP_AVAILABLE:
                g_value_set_boolean(value, self->available);
                break;
        case PROP_SETTLED:
                g_value_set_boolean(value, self->settled);
                break;
        default:
                G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
        }
}

static void fz_tray_dispose(GObject *object) {
        FzTray *self = FZ_TRAY(object);

        g_cancellable_cancel(self->cancellable);
        if (self->watch_id != 0)
                g_bus_unwatch_name(self->watch_id);
        self->watch_id = 0;
        if (self->own_id != 0)
                g_bus_unown_name(self->own_id);
        self->own_id = 0;
        if (self->connection != NULL && self->host_sub != 0)
                g_dbus_connection_signal_unsubscribe(self->connection, self->host_sub);
        self->host_sub = 0;
        if (self->connection != NULL && self->registration_id != 0)
                g_dbus_connection_unregister_object(self->connection, self->registration_id);
        self->registration_id = 0;
        g_clear_object(&self->connection);
        G_OBJECT_CLASS(fz_tray_parent_class)->dispose(object);
}

static void fz_tray_finalize(GObject *object) {
        FzTray *self = FZ_TRAY(object);

        g_clear_object(&self->cancellable);
        g_free(self->menu_path);
        g_free(self->bus_name);
        g_free(self->icon_name);
        g_free(self->title);
        g_free(self->description);
        G_OBJECT_CLASS(fz_tray_parent_class)->finalize(object);
}

static void fz_tray_class_init(FzTrayClass *klass) {
        GObjectClass *object_class = G_OBJECT_CLASS(klass);

        object_class->get_property = fz_tray_get_gproperty;
        object_class->dispose = fz_tray_dispose;
        object_class->finalize = fz_tray_finalize;
        props[PROP_AVAILABLE] = g_param_spec_boolean("available", NULL, NULL, FALSE,
                                                     G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
        props[PROP_SETTLED] = g_param_spec_boolean("settled", NULL, NULL, FALSE,
                                                   G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
        g_object_class_install_properties(object_class, N_PROPS, props);
        signals[SIGNAL_ACTIVATE] = g_signal_new("activate", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
                                                NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void fz_tray_init(FzTray *self) {
        self->cancellable = g_cancellable_new();
        self->icon_name = g_strdup("dev.firezone.Client-disconnected-symbolic");
        self->title = g_strdup("Firezone");
        self->description = g_strdup("");
}
