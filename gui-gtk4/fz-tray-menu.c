/* SPDX-License-Identifier: Apache-2.0 */
#include "fz-tray-menu.h"

#include <libdbusmenu-glib/client.h>
#include <libdbusmenu-glib/menuitem.h>
#include <libdbusmenu-glib/server.h>

struct _FzTrayMenu {
        DbusmenuServer *server;
        DbusmenuMenuitem *root;
        GActionGroup *actions;
        /* What the menu shows now: rebuilt only when this changes, so that the item ids a
         * host holds stay valid as long as possible. */
        gchar *signature;
};

typedef struct {
        gchar *action;
        GVariant *target;
} ItemAction;

static void item_action_free(gpointer data) {
        ItemAction *a = data;

        g_free(a->action);
        g_clear_pointer(&a->target, g_variant_unref);
        g_free(a);
}

static void item_activated(DbusmenuMenuitem *item, guint timestamp, gpointer user_data) {
        FzTrayMenu *self = user_data;
        ItemAction *a = g_object_get_data(G_OBJECT(item), "fz-action");

        if (a == NULL)
                return;
        g_debug("Tray menu: %s", a->action);
        g_action_group_activate_action(self->actions, a->action, a->target);
}

static DbusmenuMenuitem *add_item(FzTrayMenu *self, DbusmenuMenuitem *parent, const gchar *label,
                                  const gchar *action, GVariant *target) {
        DbusmenuMenuitem *item = dbusmenu_menuitem_new();

        dbusmenu_menuitem_property_set(item, DBUSMENU_MENUITEM_PROP_LABEL, label);
        if (action != NULL) {
                ItemAction *a = g_new0(ItemAction, 1);
                a->action = g_strdup(action);
                a->target = target != NULL ? g_variant_ref_sink(target) : NULL;
                g_object_set_data_full(G_OBJECT(item), "fz-action", a, item_action_free);
                g_signal_connect(item, DBUSMENU_MENUITEM_SIGNAL_ITEM_ACTIVATED, G_CALLBACK(item_activated),
                                 self);
        } else {
                dbusmenu_menuitem_property_set_bool(item, DBUSMENU_MENUITEM_PROP_ENABLED, FALSE);
        }
        dbusmenu_menuitem_child_append(parent, item);
        g_object_unref(item);
        return item;
}

static void add_separator(DbusmenuMenuitem *parent) {
        DbusmenuMenuitem *item = dbusmenu_menuitem_new();

        dbusmenu_menuitem_property_set(item, DBUSMENU_MENUITEM_PROP_TYPE, DBUSMENU_CLIENT_TYPES_SEPARATOR);
        dbusmenu_menuitem_child_append(parent, item);
        g_object_unref(item);
}

static const gchar *status_label(FzResourceStatus status) {
        switch (status) {
        case FZ_RESOURCE_STATUS_ONLINE:
                return "Status: online";
        case FZ_RESOURCE_STATUS_OFFLINE:
                return "Status: offline";
        case FZ_RESOURCE_STATUS_UNKNOWN:
        default:
                return "Status: unknown";
        }
}

static void add_resources(FzTrayMenu *self, DbusmenuMenuitem *parent, GPtrArray *resources) {
        DbusmenuMenuitem *sub = add_item(self, parent, "Resources", NULL, NULL);

        dbusmenu_menuitem_property_set_bool(sub, DBUSMENU_MENUITEM_PROP_ENABLED, TRUE);
        dbusmenu_menuitem_property_set(sub, DBUSMENU_MENUITEM_PROP_CHILD_DISPLAY,
                                       DBUSMENU_MENUITEM_CHILD_DISPLAY_SUBMENU);
        for (guint i = 0; i < resources->len; i++) {
                FzResource *r = g_ptr_array_index(resources, i);
                const gchar *address = fz_resource_get_address(r);
                DbusmenuMenuitem *res = add_item(self, sub, fz_resource_get_name(r), NULL, NULL);
                GPtrArray *sites = fz_resource_get_sites(r);
                g_autofree gchar *copy = g_strdup_printf("Copy address: %s", address);

                dbusmenu_menuitem_property_set_bool(res, DBUSMENU_MENUITEM_PROP_ENABLED, TRUE);
                dbusmenu_menuitem_property_set(res, DBUSMENU_MENUITEM_PROP_CHILD_DISPLAY,
                                               DBUSMENU_MENUITEM_CHILD_DISPLAY_SUBMENU);
                if (*address != '\0')
                        add_item(self, res, copy, "copy-address", g_variant_new_string(address));
                add_item(self, res, status_label(fz_resource_get_status(r)), NULL, NULL);
                for (guint j = 0; sites != NULL && j < sites->len; j++) {
                        g_autofree gchar *site = g_strdup_printf(
                                "Site: %s", fz_resource_site_get_name(g_ptr_array_index(sites, j)));
                        add_item(self, res, site, NULL, NULL);
                }
        }
}

FzTrayMenu *fz_tray_menu_new(GActionGroup *actions) {
        FzTrayMenu *self = g_new0(FzTrayMenu, 1);

        self->actions = g_object_ref(actions);
        self->server = dbusmenu_server_new(FZ_TRAY_MENU_PATH);
        self->root = dbusmenu_menuitem_new();
        dbusmenu_server_set_root(self->server, self->root);
        return self;
}

static gchar *state_signature(const FzTrayMenuState *state) {
        GString *s = g_string_new(NULL);

        g_string_append_printf(s, "%s\x1f%s\x1f%d%d\x1e", state->status,
                               state->signed_in_as ? state->signed_in_as : "", state->can_sign_in,
                               state->can_sign_out);
        for (guint i = 0; state->resources != NULL && i < state->resources->len; i++) {
                FzResource *r = g_ptr_array_index(state->resources, i);
                GPtrArray *sites = fz_resource_get_sites(r);

                g_string_append_printf(s, "%s\x1f%s\x1f%d", fz_resource_get_name(r),
                                       fz_resource_get_address(r), (int)fz_resource_get_status(r));
                for (guint j = 0; sites != NULL && j < sites->len; j++)
                        g_string_append_printf(s, "\x1f%s",
                                               fz_resource_site_get_name(g_ptr_array_index(sites, j)));
                g_string_append_c(s, '\x1e');
        }
        return g_string_free(s, FALSE);
}

void fz_tray_menu_update(FzTrayMenu *self, const FzTrayMenuState *state) {
        g_autofree gchar *signature = state_signature(state);
        GList *old;

        if (g_strcmp0(signature, self->signature) == 0)
                return;
        g_free(self->signature);
        self->signature = g_steal_pointer(&signature);
        old = dbusmenu_menuitem_take_children(self->root);
        g_list_free_full(old, g_object_unref);
        add_item(self, self->root, state->status, NULL, NULL);
        if (state->signed_in_as != NULL)
                add_item(self, self->root, state->signed_in_as, NULL, NULL);
        if (state->can_sign_in)
                add_item(self, self->root, "Sign In", "sign-in", NULL);
        if (state->resources != NULL && state->resources->len > 0) {
                add_separator(self->root);
                add_resources(self, self->root, state->resources);
        }
        add_separator(self->root);
        if (state->can_sign_out)
                add_item(self, self->root, "Sign Out", "sign-out", NULL);
        add_item(self, self->root, "Open Firezone", "show-window", NULL);
        add_item(self, self->root, "Quit", "quit", NULL);
}

void fz_tray_menu_free(FzTrayMenu *self) {
        if (self == NULL)
                return;
        g_clear_object(&self->server);
        g_clear_object(&self->root);
        g_clear_object(&self->actions);
        g_free(self->signature);
        g_free(self);
}
