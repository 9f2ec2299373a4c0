/* SPDX-License-Identifier: Apache-2.0 */
#include "fz-resource-row.h"

#include <glib/gi18n.h>

#include "fz-app-id.h"
#include "fz-library-adapter.h"
#include "fz-text.h"

struct _FzResourceRow {
        AdwExpanderRow parent_instance;

        FzModel *model;
        FzResource *resource;
        /* Rows added for the sites, removed when the resource changes. */
        GPtrArray *site_rows;

        GtkWidget *status_label;
        GtkWidget *internet_switch;
        GtkWidget *copy_button;
        GtkWidget *favorite_button;
        GtkWidget *description_row;
};

G_DEFINE_FINAL_TYPE(FzResourceRow, fz_resource_row, ADW_TYPE_EXPANDER_ROW)

static void set_status(GtkWidget *label, FzResourceStatus status) {
        static const gchar *const classes[] = {"success", "error", "dim-label"};

        for (gsize i = 0; i < G_N_ELEMENTS(classes); i++)
                gtk_widget_remove_css_class(label, classes[i]);
        gtk_widget_add_css_class(label, fz_resource_status_get_css_class(status));
        gtk_label_set_text(GTK_LABEL(label), fz_resource_status_get_title(status));
}

static void sync_favorite(FzResourceRow *self) {
        gboolean favorite = fz_model_is_favorite(self->model, fz_resource_get_id(self->resource));

        gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(self->favorite_button), favorite);
        gtk_button_set_icon_name(GTK_BUTTON(self->favorite_button),
                                 favorite ? "starred-symbolic" : "non-starred-symbolic");
        gtk_widget_set_tooltip_text(self->favorite_button,
                                    favorite ? _("Remove from Favorites") : _("Add to Favorites"));
}

static void favorite_clicked(FzResourceRow *self) {
        /* Through the application's action, like the tray menu's item; the toggle's state
         * follows the model (sync_favorite), not the click. */
        gtk_widget_activate_action(GTK_WIDGET(self), "app.toggle-favorite", "s",
                                   fz_resource_get_id(self->resource));
        sync_favorite(self);
}

static void on_favorites(GObject *model, GParamSpec *pspec, gpointer user_data) {
        sync_favorite(user_data);
}

static void sync_internet(FzResourceRow *self) {
        /* Honest about a switch that cannot work here. */
        gtk_widget_set_tooltip_text(self->internet_switch,
                                    fz_model_get_internet_resource_supported(self->model)
                                            ? _("Send all other internet traffic through Firezone")
                                            : _("This version of Firezone cannot turn the Internet resource on "
                                                "or off."));
}

static void on_internet(GObject *model, GParamSpec *pspec, gpointer user_data) {
        sync_internet(user_data);
}

static void fill(FzResourceRow *self) {
        FzResource *r = self->resource;
        g_autofree gchar *name = fz_resource_display_name(r);
        g_autofree gchar *address = fz_text_sanitize(fz_resource_get_address(r), FZ_TEXT_ADDRESS_MAX);
        g_autofree gchar *description =
                fz_text_sanitize(fz_resource_get_description(r), FZ_TEXT_MESSAGE_MAX);
        gboolean internet = fz_resource_get_resource_type(r) == FZ_RESOURCE_TYPE_INTERNET;
        GPtrArray *sites = fz_resource_get_sites(r);
        g_autofree gchar *copy_label = NULL;
        g_autofree gchar *favorite_label = NULL;
        g_autofree gchar *switch_label = NULL;

        adw_preferences_row_set_title(ADW_PREFERENCES_ROW(self), name);
        adw_expander_row_set_subtitle(ADW_EXPANDER_ROW(self), *address != '\0' ? address
                                                              : internet ? _("All other internet traffic")
                                                                         : "");
        set_status(self->status_label, fz_resource_get_status(r));

        /* The raw address is what gets copied: it is what the user types elsewhere. */
        gtk_widget_set_visible(self->copy_button, *fz_resource_get_address(r) != '\0');
        gtk_actionable_set_action_target(GTK_ACTIONABLE(self->copy_button), "s", fz_resource_get_address(r));
        /* Icon-only buttons say what they do to assistive technology, with the resource's
         * name, as a row of many looks the same otherwise. */
        copy_label = g_strdup_printf(_("Copy the address of %s"), name);
        gtk_accessible_update_property(GTK_ACCESSIBLE(self->copy_button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       copy_label, -1);
        favorite_label = g_strdup_printf(_("Favorite: %s"), name);
        gtk_accessible_update_property(GTK_ACCESSIBLE(self->favorite_button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       favorite_label, -1);
        gtk_widget_set_visible(self->internet_switch, internet);
        switch_label = g_strdup_printf(_("Use %s"), name);
        gtk_accessible_update_property(GTK_ACCESSIBLE(self->internet_switch), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       switch_label, -1);
        sync_favorite(self);

        gtk_widget_set_visible(self->description_row, *description != '\0');
        adw_action_row_set_subtitle(ADW_ACTION_ROW(self->description_row), description);

        for (guint i = 0; i < self->site_rows->len; i++)
                adw_expander_row_remove(ADW_EXPANDER_ROW(self), g_ptr_array_index(self->site_rows, i));
        g_ptr_array_set_size(self->site_rows, 0);
        for (guint i = 0; sites != NULL && i < sites->len; i++) {
                const FzResourceSite *site = g_ptr_array_index(sites, i);
                g_autofree gchar *site_name =
                        fz_text_sanitize(fz_resource_site_get_name(site), FZ_TEXT_NAME_MAX);
                /* Translators: %s is the name of a site (a group of gateways). */
                g_autofree gchar *title = g_strdup_printf(_("Site %s"), site_name);
                GtkWidget *row = adw_action_row_new();
                GtkWidget *status = gtk_label_new(NULL);

                adw_preferences_row_set_use_markup(ADW_PREFERENCES_ROW(row), FALSE);
                adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), title);
                gtk_widget_add_css_class(status, "caption");
                set_status(status, fz_adapter_site_get_status(site));
                adw_action_row_add_suffix(ADW_ACTION_ROW(row), status);
                adw_expander_row_add_row(ADW_EXPANDER_ROW(self), row);
                g_ptr_array_add(self->site_rows, row);
        }
        adw_expander_row_set_enable_expansion(ADW_EXPANDER_ROW(self),
                                              *description != '\0' || (sites != NULL && sites->len > 0));
}

GtkWidget *fz_resource_row_new(FzModel *model, FzResource *resource) {
        FzResourceRow *self = g_object_new(FZ_TYPE_RESOURCE_ROW, NULL);

        self->model = g_object_ref(model);
        self->resource = g_object_ref(resource);
        g_signal_connect_object(model, "notify::favorites", G_CALLBACK(on_favorites), self, 0);
        g_signal_connect_object(model, "notify::internet-resource-supported", G_CALLBACK(on_internet), self, 0);
        fill(self);
        sync_internet(self);
        return GTK_WIDGET(self);
}

static void fz_resource_row_dispose(GObject *object) {
        FzResourceRow *self = FZ_RESOURCE_ROW(object);

        g_clear_object(&self->model);
        g_clear_object(&self->resource);
        G_OBJECT_CLASS(fz_resource_row_parent_class)->dispose(object);
}

static void fz_resource_row_finalize(GObject *object) {
        FzResourceRow *self = FZ_RESOURCE_ROW(object);

        g_ptr_array_unref(self->site_rows);
        G_OBJECT_CLASS(fz_resource_row_parent_class)->finalize(object);
}

static void fz_resource_row_class_init(FzResourceRowClass *klass) {
        GObjectClass *object_class = G_OBJECT_CLASS(klass);
        GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

        object_class->dispose = fz_resource_row_dispose;
        object_class->finalize = fz_resource_row_finalize;
        gtk_widget_class_set_template_from_resource(widget_class,
                                                    FZ_APP_RESOURCE_PATH "/ui/fz-resource-row.ui");
        gtk_widget_class_bind_template_child(widget_class, FzResourceRow, status_label);
        gtk_widget_class_bind_template_child(widget_class, FzResourceRow, internet_switch);
        gtk_widget_class_bind_template_child(widget_class, FzResourceRow, copy_button);
        gtk_widget_class_bind_template_child(widget_class, FzResourceRow, favorite_button);
        gtk_widget_class_bind_template_child(widget_class, FzResourceRow, description_row);
        gtk_widget_class_bind_template_callback(widget_class, favorite_clicked);
}

static void fz_resource_row_init(FzResourceRow *self) {
        self->site_rows = g_ptr_array_new();
        gtk_widget_init_template(GTK_WIDGET(self));
}
