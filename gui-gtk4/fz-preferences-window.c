/* SPDX-License-Identifier: Apache-2.0 */
#include "fz-preferences-window.h"

#include "fz-app-id.h"
#include "fz-autostart.h"
#include "fz-sign-in.h"

struct _FzPreferencesWindow {
        AdwPreferencesWindow parent_instance;

        GSettings *settings;
        GtkWidget *auth_url_row;
        GtkWidget *account_row;
        GtkWidget *connect_switch;
        GtkWidget *minimized_switch;
        GtkWidget *autostart_switch;
};

G_DEFINE_FINAL_TYPE(FzPreferencesWindow, fz_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

static void check_slug(GtkEditable *row, gpointer user_data) {
        gboolean valid = fz_sign_in_slug_is_valid(gtk_editable_get_text(row));

        if (valid)
                gtk_widget_remove_css_class(GTK_WIDGET(row), "error");
        else
                gtk_widget_add_css_class(GTK_WIDGET(row), "error");
        gtk_accessible_update_state(GTK_ACCESSIBLE(row), GTK_ACCESSIBLE_STATE_INVALID,
                                    valid ? GTK_ACCESSIBLE_INVALID_FALSE : GTK_ACCESSIBLE_INVALID_TRUE, -1);
}

static void autostart_toggled(FzPreferencesWindow *self) {
        GtkSwitch *sw = GTK_SWITCH(self->autostart_switch);
        g_autoptr(GError) error = NULL;
        gboolean on = gtk_switch_get_active(sw);

        if (on == fz_autostart_is_registered())
                return;
        if (on) {
                g_autoptr(GBytes) contents = g_resources_lookup_data(
                        FZ_APP_RESOURCE_PATH "/autostart.desktop", G_RESOURCE_LOOKUP_FLAGS_NONE, &error);
                if (contents != NULL)
                        fz_autostart_register(g_bytes_get_data(contents, NULL), &error);
        } else {
                fz_autostart_unregister(&error);
        }
        if (error != NULL) {
                g_warning("Could not change start at log-in: %s", error->message);
                gtk_switch_set_active(sw, fz_autostart_is_registered());
        }
}

FzPreferencesWindow *fz_preferences_window_new(GtkWindow *parent, GSettings *settings) {
        FzPreferencesWindow *self = g_object_new(FZ_TYPE_PREFERENCES_WINDOW, "transient-for", parent, NULL);

        self->settings = g_object_ref(settings);
        g_settings_bind(settings, "auth-url", self->auth_url_row, "text", G_SETTINGS_BIND_DEFAULT);
        g_settings_bind(settings, "account-slug", self->account_row, "text", G_SETTINGS_BIND_DEFAULT);
        g_settings_bind(settings, "connect-on-start", self->connect_switch, "active",
                        G_SETTINGS_BIND_DEFAULT);
        g_settings_bind(settings, "start-minimized", self->minimized_switch, "active",
                        G_SETTINGS_BIND_DEFAULT);
        gtk_switch_set_active(GTK_SWITCH(self->autostart_switch), fz_autostart_is_registered());
        g_signal_connect(self->account_row, "changed", G_CALLBACK(check_slug), NULL);
        check_slug(GTK_EDITABLE(self->account_row), NULL);
        return self;
}

static void fz_preferences_window_dispose(GObject *object) {
        FzPreferencesWindow *self = FZ_PREFERENCES_WINDOW(object);

        g_clear_object(&self->settings);
        G_OBJECT_CLASS(fz_preferences_window_parent_class)->dispose(object);
}

static void fz_preferences_window_class_init(FzPreferencesWindowClass *klass) {
        GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

        G_OBJECT_CLASS(klass)->dispose = fz_preferences_window_dispose;
        gtk_widget_class_set_template_from_resource(widget_class,
                                                    FZ_APP_RESOURCE_PATH "/ui/fz-preferences-window.ui");
        gtk_widget_class_bind_template_child(widget_class, FzPreferencesWindow, auth_url_row);
        gtk_widget_class_bind_template_child(widget_class, FzPreferencesWindow, account_row);
        gtk_widget_class_bind_template_child(widget_class, FzPreferencesWindow, connect_switch);
        gtk_widget_class_bind_template_child(widget_class, FzPreferencesWindow, minimized_switch);
        gtk_widget_class_bind_template_child(widget_class, FzPreferencesWindow, autostart_switch);
        gtk_widget_class_bind_template_callback(widget_class, autostart_toggled);
}

static void fz_preferences_window_init(FzPreferencesWindow *self) {
        gtk_widget_init_template(GTK_WIDGET(self));
}
