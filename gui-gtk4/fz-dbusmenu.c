/* SPDX-License-Identifier: Apache-2.0 */
#include "fz-dbusmenu.h"

#include <libdbusmenu-glib/client.h>
#include <libdbusmenu-glib/menuitem.h>
#include <libdbusmenu-glib/server.h>

/* libdbusmenu-glib 0.4 declares no autoptr cleanup of its own. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DbusmenuMenuitem, g_object_unref)

struct _FzDBusMenu {
        DbusmenuServer *server;
        DbusmenuMenuitem *root;
        GMenuModel *menu;
        GActionGroup *actions;
        /* Every GMenuModel of the tree (sections, submenus), to hear their changes. */
        GPtrArray *watched;
        guint rebuild_id;
        /* What the last build showed: a host's item ids stay valid while this holds. */
        gchar *signature;
};

typedef struct {
        GActionGroup *actions;
        gchar *action;
        GVariant *target;
} ItemAction;

static void schedule_rebuild(FzDBusMenu *self);

static void item_action_free(gpointer data) {
        ItemAction *a = data;

        g_object_unref(a->actions);
        g_free(a->action);
        g_clear_pointer(&a->target, g_variant_unref);
        g_free(a);
}

static void item_activated(DbusmenuMenuitem *item, guint timestamp, gpointer user_data) {
        ItemAction *a = user_data;

        g_debug("Tray menu: %s", a->action);
        if (g_action_group_get_action_enabled(a->actions, a->action))
                g_action_group_activate_action(a->actions, a->action, a->target);
}

/* "app.sign-in" → "sign-in": the tray menu's actions are the application's. */
static const gchar *local_action_name(const gchar *name) {
        return g_str_has_prefix(name, "app.") ? name + 4 : name;
}

static void on_items_changed(GMenuModel *model, gint position, gint removed, gint added,
                             gpointer user_data) {
        schedule_rebuild(user_data);
}

static void watch(FzDBusMenu *self, GMenuModel *model) {
        g_signal_connect(model, "items-changed", G_CALLBACK(on_items_changed), self);
        g_ptr_array_add(self->watched, g_object_ref(model));
}

static void unwatch_all(FzDBusMenu *self) {
        for (guint i = 0; i < self->watched->len; i++)
                g_signal_handlers_disconnect_by_data(g_ptr_array_index(self->watched, i), self);
        g_ptr_array_set_size(self->watched, 0);
}

static DbusmenuMenuitem *append_item(DbusmenuMenuitem *parent, const gchar *label) {
        DbusmenuMenuitem *item = dbusmenu_menuitem_new();

        dbusmenu_menuitem_property_set(item, DBUSMENU_MENUITEM_PROP_LABEL, label);
        dbusmenu_menuitem_child_append(parent, item);
        g_object_unref(item);
        return item;
}

static void append_separator(DbusmenuMenuitem *parent) {
        DbusmenuMenuitem *item = dbusmenu_menuitem_new();

        dbusmenu_menuitem_property_set(item, DBUSMENU_MENUITEM_PROP_TYPE, DBUSMENU_CLIENT_TYPES_SEPARATOR);
        dbusmenu_menuitem_child_append(parent, item);
        g_object_unref(item);
}

static gboolean is_hidden(FzDBusMenu *self, GMenuModel *model, gint i, const gchar *action) {
        g_autofree gchar *hidden_when = NULL;

        if (!g_menu_model_get_item_attribute(model, i, "hidden-when", "s", &hidden_when))
                return FALSE;
        if (g_str_equal(hidden_when, "action-missing"))
                return action == NULL || !g_action_group_has_action(self->actions, action);
        if (g_str_equal(hidden_when, "action-disabled"))
                return action == NULL || !g_action_group_get_action_enabled(self->actions, action);
        return FALSE;
}

/* Appends @model's items under @parent; sections are flattened with separators between
 * them, as GTK shows them. *@pending_separator: items came before, so the next section
 * starts with a separator. */
static void build(FzDBusMenu *self, DbusmenuMenuitem *parent, GMenuModel *model, gboolean *pending_separator,
                  GString *signature) {
        gint n = g_menu_model_get_n_items(model);

        watch(self, model);
        for (gint i = 0; i < n; i++) {
                g_autoptr(GMenuModel) section = g_menu_model_get_item_link(model, i, G_MENU_LINK_SECTION);
                g_autoptr(GMenuModel) submenu = g_menu_model_get_item_link(model, i, G_MENU_LINK_SUBMENU);
                g_autofree gchar *label = NULL;
                g_autofree gchar *action_attr = NULL;
                g_autoptr(GVariant) target = NULL;
                const gchar *action = NULL;
                DbusmenuMenuitem *item;

                g_menu_model_get_item_attribute(model, i, G_MENU_ATTRIBUTE_LABEL, "s", &label);
                if (g_menu_model_get_item_attribute(model, i, G_MENU_ATTRIBUTE_ACTION, "s", &action_attr))
                        action = local_action_name(action_attr);
                target = g_menu_model_get_item_attribute_value(model, i, G_MENU_ATTRIBUTE_TARGET, NULL);

                if (section != NULL) {
                        gboolean before = *pending_separator;

                        if (g_menu_model_get_n_items(section) == 0) {
                                watch(self, section);
                                continue;
                        }
                        if (before) {
                                append_separator(parent);
                                g_string_append(signature, "|---");
                        }
                        if (label != NULL) {
                                /* A section's title: a header that does nothing. */
                                item = append_item(parent, label);
                                dbusmenu_menuitem_property_set_bool(item, DBUSMENU_MENUITEM_PROP_ENABLED,
                                                                    FALSE);
                                g_string_append_printf(signature, "|h:%s", label);
                        }
                        *pending_separator = FALSE;
                        build(self, parent, section, pending_separator, signature);
                        *pending_separator = TRUE;
                        continue;
                }
                if (is_hidden(self, model, i, action))
                        continue;
                *pending_separator = TRUE;
                item = append_item(parent, label != NULL ? label : "");
                g_string_append_printf(signature, "|%s", label != NULL ? label : "");
                if (submenu != NULL) {
                        gboolean sub_sep = FALSE;

                        dbusmenu_menuitem_property_set(item, DBUSMENU_MENUITEM_PROP_CHILD_DISPLAY,
                                                       DBUSMENU_MENUITEM_CHILD_DISPLAY_SUBMENU);
                        g_string_append(signature, "{");
                        build(self, item, submenu, &sub_sep, signature);
                        g_string_append(signature, "}");
                        continue;
                }
                if (action == NULL || !g_action_group_has_action(self->actions, action)) {
                        /* A line of information: shown, not clickable. */
                        dbusmenu_menuitem_property_set_bool(item, DBUSMENU_MENUITEM_PROP_ENABLED, FALSE);
                        continue;
                }
                {
                        ItemAction *a = g_new0(ItemAction, 1);
                        g_autoptr(GVariant) state = g_action_group_get_action_state(self->actions, action);
                        gboolean enabled = g_action_group_get_action_enabled(self->actions, action);

                        a->actions = g_object_ref(self->actions);
                        a->action = g_strdup(action);
                        a->target = target != NULL ? g_variant_ref(target) : NULL;
                        dbusmenu_menuitem_property_set_bool(item, DBUSMENU_MENUITEM_PROP_ENABLED, enabled);
                        if (state != NULL && g_variant_is_of_type(state, G_VARIANT_TYPE_BOOLEAN) &&
                            target == NULL) {
                                gboolean on = g_variant_get_boolean(state);
                                dbusmenu_menuitem_property_set(item, DBUSMENU_MENUITEM_PROP_TOGGLE_TYPE,
                                                               DBUSMENU_MENUITEM_TOGGLE_CHECK);
                                dbusmenu_menuitem_property_set_int(
                                        item, DBUSMENU_MENUITEM_PROP_TOGGLE_STATE,
                                        on ? DBUSMENU_MENUITEM_TOGGLE_STATE_CHECKED
                                           : DBUSMENU_MENUITEM_TOGGLE_STATE_UNCHECKED);
                                g_string_append_printf(signature, "[%d]", on);
                        }
                        g_string_append_printf(signature, "<%s%s>", action, enabled ? "" : " off");
                        if (target != NULL) {
                                g_autofree gchar *t = g_variant_print(target, FALSE);
                                g_string_append(signature, t);
                        }
                        g_signal_connect_data(item, DBUSMENU_MENUITEM_SIGNAL_ITEM_ACTIVATED,
                                              G_CALLBACK(item_activated), a,
                                              (GClosureNotify)(void (*)(void))item_action_free, 0);
                }
        }
}

static gboolean rebuild(gpointer user_data) {
        FzDBusMenu *self = user_data;
        g_autoptr(DbusmenuMenuitem) root = dbusmenu_menuitem_new();
        g_autoptr(GString) signature = g_string_new(NULL);
        gboolean pending_separator = FALSE;

        self->rebuild_id = 0;
        unwatch_all(self);
        build(self, root, self->menu, &pending_separator, signature);
        if (g_strcmp0(signature->str, self->signature) == 0)
                return G_SOURCE_REMOVE;
        g_free(self->signature);
        self->signature = g_strdup(signature->str);
        /* A new root: the host gets LayoutUpdated and reads the whole menu again. */
        dbusmenu_server_set_root(self->server, root);
        g_set_object(&self->root, root);
        return G_SOURCE_REMOVE;
}

static void schedule_rebuild(FzDBusMenu *self) {
        /* Changes come in bursts (a state change touches several sections): one rebuild. */
        if (self->rebuild_id == 0)
                self->rebuild_id = g_idle_add_full(G_PRIORITY_HIGH_IDLE, rebuild, self, NULL);
}

static void on_action_changed(GActionGroup *group, const gchar *name, gpointer user_data) {
        schedule_rebuild(user_data);
}

static void on_action_state_changed(GActionGroup *group, const gchar *name, GVariant *state,
                                    gpointer user_data) {
        schedule_rebuild(user_data);
}

static void on_action_enabled_changed(GActionGroup *group, const gchar *name, gboolean enabled,
                                      gpointer user_data) {
        schedule_rebuild(user_data);
}

FzDBusMenu *fz_dbusmenu_new(const gchar *object_path, GMenuModel *menu, GActionGroup *actions) {
        FzDBusMenu *self = g_new0(FzDBusMenu, 1);

        self->server = dbusmenu_server_new(object_path);
        self->menu = g_object_ref(menu);
        self->actions = g_object_ref(actions);
        self->watched = g_ptr_array_new_with_free_func(g_object_unref);
        g_signal_connect(actions, "action-added", G_CALLBACK(on_action_changed), self);
        g_signal_connect(actions, "action-removed", G_CALLBACK(on_action_changed), self);
        g_signal_connect(actions, "action-enabled-changed", G_CALLBACK(on_action_enabled_changed), self);
        g_signal_connect(actions, "action-state-changed", G_CALLBACK(on_action_state_changed), self);
        rebuild(self);
        return self;
}

void fz_dbusmenu_free(FzDBusMenu *self) {
        if (self == NULL)
                return;
        g_clear_handle_id(&self->rebuild_id, g_source_remove);
        unwatch_all(self);
        g_signal_handlers_disconnect_by_data(self->actions, self);
        g_ptr_array_unref(self->watched);
        g_clear_object(&self->server);
        g_clear_object(&self->root);
        g_clear_object(&self->menu);
        g_clear_object(&self->actions);
        g_free(self->signature);
        g_free(self);
}
