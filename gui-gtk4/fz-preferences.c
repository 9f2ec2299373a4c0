/* SPDX-License-Identifier: Apache-2.0 */
#include "fz-preferences.h"

#include "fz-app.h"
#include "fz-autostart.h"
#include "fz-sign-in.h"

static GtkWidget *row_label(const gchar *title, const gchar *subtitle) {
        GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 2);
        GtkWidget *t = gtk_label_new(title);
        GtkWidget *s = gtk_label_new(subtitle);

        gtk_label_set_xalign(GTK_LABEL(t), 0);
        gtk_label_set_xalign(GTK_LABEL(s), 0);
        gtk_label_set_wrap(GTK_LABEL(s), TRUE);
        gtk_label_set_width_chars(GTK_LABEL(s), 30);
        gtk_label_set_max_width_chars(GTK_LABEL(s), 40);
        gtk_widget_add_css_class(s, "dim-label");
        gtk_widget_add_css_class(s, "caption");
        gtk_box_append(GTK_BOX(box), t);
        gtk_box_append(GTK_BOX(box), s);
        gtk_widget_set_hexpand(box, TRUE);
        return box;
}

static void check_slug(GtkEditable *entry, gpointer user_data) {
        if (fz_sign_in_slug_is_valid(gtk_editable_get_text(entry)))
                gtk_widget_remove_css_class(GTK_WIDGET(entry), "error");
        else
                gtk_widget_add_css_class(GTK_WIDGET(entry), "error");
}

static void autostart_toggled(GtkSwitch *sw, GParamSpec *pspec, gpointer user_data) {
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

static void after_paint(GdkFrameClock *clock, gpointer user_data) {
        g_signal_handlers_disconnect_by_func(clock, after_paint, user_data);
        g_info("Settings window drawn");
}

static void on_map(GtkWidget *widget, gpointer user_data) {
        GdkFrameClock *clock = gtk_widget_get_frame_clock(widget);

        if (clock != NULL)
                g_signal_connect(clock, "after-paint", G_CALLBACK(after_paint), NULL);
}

void fz_preferences_show(GtkWindow *parent, GSettings *settings) {
        GtkWidget *win = gtk_window_new();
        GtkWidget *grid = gtk_grid_new();
        GtkWidget *url = gtk_entry_new();
        GtkWidget *slug = gtk_entry_new();
        GtkWidget *connect = gtk_switch_new();
        GtkWidget *minimized = gtk_switch_new();
        GtkWidget *autostart = gtk_switch_new();
        GtkWidget *header = gtk_label_new("Sign-in");
        GtkWidget *header2 = gtk_label_new("Start-up");
        int row = 0;

        gtk_window_set_title(GTK_WINDOW(win), "Firezone Settings");
        gtk_window_set_titlebar(GTK_WINDOW(win), gtk_header_bar_new());
        gtk_window_set_transient_for(GTK_WINDOW(win), parent);
        gtk_window_set_modal(GTK_WINDOW(win), TRUE);
        gtk_window_set_default_size(GTK_WINDOW(win), 520, -1);
        gtk_window_set_resizable(GTK_WINDOW(win), FALSE);

        gtk_grid_set_row_spacing(GTK_GRID(grid), 12);
        gtk_grid_set_column_spacing(GTK_GRID(grid), 24);
        gtk_widget_set_margin_start(grid, 24);
        gtk_widget_set_margin_end(grid, 24);
        gtk_widget_set_margin_top(grid, 18);
        gtk_widget_set_margin_bottom(grid, 24);

        gtk_widget_add_css_class(header, "heading");
        gtk_label_set_xalign(GTK_LABEL(header), 0);
        gtk_grid_attach(GTK_GRID(grid), header, 0, row++, 2, 1);
        gtk_grid_attach(GTK_GRID(grid),
                        row_label("Sign-in address", "Your organization’s Firezone sign-in page"), 0, row, 1,
                        1);
        gtk_widget_set_size_request(url, 260, -1);
        gtk_widget_set_valign(url, GTK_ALIGN_CENTER);
        gtk_grid_attach(GTK_GRID(grid), url, 1, row++, 1, 1);
        gtk_grid_attach(GTK_GRID(grid),
                        row_label("Account ID", "As in the sign-in address; empty to be asked"), 0, row, 1,
                        1);
        gtk_widget_set_valign(slug, GTK_ALIGN_CENTER);
        gtk_grid_attach(GTK_GRID(grid), slug, 1, row++, 1, 1);

        gtk_widget_add_css_class(header2, "heading");
        gtk_label_set_xalign(GTK_LABEL(header2), 0);
        gtk_widget_set_margin_top(header2, 12);
        gtk_grid_attach(GTK_GRID(grid), header2, 0, row++, 2, 1);
        gtk_grid_attach(
                GTK_GRID(grid),
                row_label("Connect on start", "Sign in again with the token remembered in your keyring"), 0,
                row, 1, 1);
        gtk_widget_set_halign(connect, GTK_ALIGN_END);
        gtk_widget_set_valign(connect, GTK_ALIGN_CENTER);
        gtk_grid_attach(GTK_GRID(grid), connect, 1, row++, 1, 1);
        gtk_grid_attach(GTK_GRID(grid),
                        row_label("Start minimized", "Only show the tray icon at start, if there is one"), 0,
                        row, 1, 1);
        gtk_widget_set_halign(minimized, GTK_ALIGN_END);
        gtk_widget_set_valign(minimized, GTK_ALIGN_CENTER);
        gtk_grid_attach(GTK_GRID(grid), minimized, 1, row++, 1, 1);
        gtk_grid_attach(GTK_GRID(grid), row_label("Start at log-in", "Open Firezone when you log in"), 0,
                        row, 1, 1);
        gtk_widget_set_halign(autostart, GTK_ALIGN_END);
        gtk_widget_set_valign(autostart, GTK_ALIGN_CENTER);
        gtk_switch_set_active(GTK_SWITCH(autostart), fz_autostart_is_registered());
        gtk_grid_attach(GTK_GRID(grid), autostart, 1, row++, 1, 1);

        g_settings_bind(settings, "auth-url", url, "text", G_SETTINGS_BIND_DEFAULT);
        g_settings_bind(settings, "account-slug", slug, "text", G_SETTINGS_BIND_DEFAULT);
        g_settings_bind(settings, "connect-on-start", connect, "active", G_SETTINGS_BIND_DEFAULT);
        g_settings_bind(settings, "start-minimized", minimized, "active", G_SETTINGS_BIND_DEFAULT);
        g_signal_connect(slug, "changed", G_CALLBACK(check_slug), NULL);
        g_signal_connect(autostart, "notify::active", G_CALLBACK(autostart_toggled), NULL);

        gtk_window_set_child(GTK_WINDOW(win), grid);
        g_signal_connect(win, "map", G_CALLBACK(on_map), NULL);
        gtk_window_present(GTK_WINDOW(win));
}
