/* SPDX-License-Identifier: Apache-2.0 */
#include "fz-tray-menu.h"

#include <glib/gi18n.h>
#include <gtk/gtk.h>

#include "fz-app-id.h"
#include "fz-dbusmenu.h"
#include "fz-library-adapter.h"
#include "fz-text.h"

struct _FzTrayMenu {
        GObject parent_instance;

        FzModel *model;
        GActionGroup *actions;
        GMenuModel *menu;
        GMenu *status_section;
        GMenu *resources_section;
        FzDBusMenu *dbusmenu;
        guint refill_id;
};

G_DEFINE_FINAL_TYPE(FzTrayMenu, fz_tray_menu, G_TYPE_OBJECT)

/* A line that only informs (no action: the bridge shows it greyed). @text is outside text. */
static void append_info(GMenu *menu, const gchar *text) {
        g_autofree gchar *label = fz_text_mnemonic_safe(text, FZ_TEXT_NAME_MAX);

        g_menu_append(menu, label, NULL);
}

static GMenuModel *resource_menu(FzTrayMenu *self, FzResource *r) {
        GMenu *menu = g_menu_new();
        g_autoptr(GMenu) info = g_menu_new();
        g_autoptr(GMenu) acts = g_menu_new();
        const gchar *address = fz_resource_get_address(r);
        const gchar *id = fz_resource_get_id(r);
        gboolean internet = fz_resource_get_resource_type(r) == FZ_RESOURCE_TYPE_INTERNET;
        GPtrArray *sites = fz_resource_get_sites(r);
        g_autofree gchar *status = g_strdup_printf(
                /* Translators: %s is "Online", "Offline" or "Status unknown". */
                _("Status: %s"), fz_resource_status_get_title(fz_resource_get_status(r)));

        if (*address != '\0')
                append_info(info, address);
        else if (internet)
                append_info(info, _("All other internet traffic"));
        append_info(info, status);
        for (guint i = 0; sites != NULL && i < sites->len; i++) {
                const FzResourceSite *site = g_ptr_array_index(sites, i);
                g_autofree gchar *name = fz_text_sanitize(fz_resource_site_get_name(site), FZ_TEXT_NAME_MAX);
                /* Translators: a site's name, then "Online", "Offline" or "Status unknown". */
                g_autofree gchar *line =
                        g_strdup_printf(_("Site: %s (%s)"), name,
                                        fz_resource_status_get_title(fz_adapter_site_get_status(site)));
                append_info(info, line);
        }
        g_menu_append_section(menu, NULL, G_MENU_MODEL(info));

        if (*address != '\0') {
                g_autoptr(GMenuItem) copy = g_menu_item_new(_("Copy Address"), NULL);
                g_menu_item_set_action_and_target_value(copy, "app.copy-address",
                                                        g_variant_new_string(address));
                g_menu_append_item(acts, copy);
        }
        if (internet)
                g_menu_append(acts, _("Use the Internet Resource"), "app.internet-resource");
        {
                gboolean favorite = fz_model_is_favorite(self->model, id);
                g_autoptr(GMenuItem) fav =
                        g_menu_item_new(favorite ? _("Remove from Favorites") : _("Add to Favorites"), NULL);
                g_menu_item_set_action_and_target_value(fav, "app.toggle-favorite",
                                                        g_variant_new_string(id));
                g_menu_append_item(acts, fav);
        }
        g_menu_append_section(menu, NULL, G_MENU_MODEL(acts));
        return G_MENU_MODEL(menu);
}

static void append_resource(FzTrayMenu *self, GMenu *to, FzResource *r) {
        g_autofree gchar *name = fz_resource_display_name(r);
        g_autofree gchar *label = fz_text_mnemonic_safe(name, FZ_TEXT_NAME_MAX);
        g_autoptr(GMenuModel) sub = resource_menu(self, r);

        g_menu_append_submenu(to, label, sub);
}

static gboolean refill(gpointer user_data) {
        FzTrayMenu *self = user_data;
        FzPhase phase = fz_model_get_phase(self->model);
        const gchar *identity = fz_model_get_identity(self->model);
        GListModel *resources = fz_model_get_resources(self->model);
        guint n = g_list_model_get_n_items(resources);
        g_autoptr(GMenu) favorites = g_menu_new();
        g_autoptr(GMenu) others = g_menu_new();

        self->refill_id = 0;
        g_menu_remove_all(self->status_section);
        append_info(self->status_section, fz_phase_get_title(phase));
        if (*identity != '\0')
                append_info(self->status_section, identity);

        g_menu_remove_all(self->resources_section);
        if (!fz_phase_has_session(phase) || n == 0)
                return G_SOURCE_REMOVE;
        for (guint i = 0; i < n; i++) {
                g_autoptr(FzResource) r = g_list_model_get_item(resources, i);
                append_resource(
                        self, fz_model_is_favorite(self->model, fz_resource_get_id(r)) ? favorites : others,
                        r);
        }
        if (g_menu_model_get_n_items(G_MENU_MODEL(favorites)) > 0) {
                g_menu_append_section(self->resources_section, _("Favorite Resources"),
                                      G_MENU_MODEL(favorites));
                if (g_menu_model_get_n_items(G_MENU_MODEL(others)) > 0) {
                        g_autoptr(GMenu) rest = g_menu_new();
                        g_menu_append_submenu(rest, _("Other Resources"), G_MENU_MODEL(others));
                        g_menu_append_section(self->resources_section, NULL, G_MENU_MODEL(rest));
                }
        } else {
                g_menu_append_section(self->resources_section, _("Resources"), G_MENU_MODEL(others));
        }
        return G_SOURCE_REMOVE;
}

static void schedule_refill(FzTrayMenu *self) {
        if (self->refill_id == 0)
                self->refill_id = g_idle_add_full(G_PRIORITY_DEFAULT, refill, self, NULL);
}

static void on_model_notify(GObject *model, GParamSpec *pspec, gpointer user_data) {
        schedule_refill(user_data);
}

static void on_resources_changed(GListModel *list, guint position, guint removed, guint added,
                                 gpointer user_data) {
        schedule_refill(user_data);
}

FzTrayMenu *fz_tray_menu_new(FzModel *model, GActionGroup *actions) {
        FzTrayMenu *self = g_object_new(FZ_TYPE_TRAY_MENU, NULL);
        g_autoptr(GtkBuilder) builder =
                gtk_builder_new_from_resource(FZ_APP_RESOURCE_PATH "/ui/fz-tray-menu.ui");
        static const gchar *const watched[] = {"notify::phase", "notify::identity", "notify::favorites"};

        self->model = g_object_ref(model);
        self->actions = g_object_ref(actions);
        self->menu = g_object_ref(G_MENU_MODEL(gtk_builder_get_object(builder, "menu")));
        self->status_section = g_object_ref(G_MENU(gtk_builder_get_object(builder, "status_section")));
        self->resources_section = g_object_ref(G_MENU(gtk_builder_get_object(builder, "resources_section")));
        for (gsize i = 0; i < G_N_ELEMENTS(watched); i++)
                g_signal_connect(model, watched[i], G_CALLBACK(on_model_notify), self);
        g_signal_connect(fz_model_get_resources(model), "items-changed", G_CALLBACK(on_resources_changed),
                         self);
        refill(self);
        self->dbusmenu = fz_dbusmenu_new(FZ_TRAY_MENU_PATH, self->menu, actions);
        return self;
}

static void fz_tray_menu_dispose(GObject *object) {
        FzTrayMenu *self = FZ_TRAY_MENU(object);

        g_clear_handle_id(&self->refill_id, g_source_remove);
        g_clear_pointer(&self->dbusmenu, fz_dbusmenu_free);
        if (self->model != NULL) {
                g_signal_handlers_disconnect_by_data(fz_model_get_resources(self->model), self);
                g_signal_handlers_disconnect_by_data(self->model, self);
        }
        g_clear_object(&self->model);
        g_clear_object(&self->actions);
        g_clear_object(&self->status_section);
        g_clear_object(&self->resources_section);
        g_clear_object(&self->menu);
        G_OBJECT_CLASS(fz_tray_menu_parent_class)->dispose(object);
}

static void fz_tray_menu_class_init(FzTrayMenuClass *klass) {
        G_OBJECT_CLASS(klass)->dispose = fz_tray_menu_dispose;
}

static void fz_tray_menu_init(FzTrayMenu *self) {
}
