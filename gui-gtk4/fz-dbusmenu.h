/* SPDX-License-Identifier: Apache-2.0 */
/* A GMenuModel served as com.canonical.dbusmenu (libdbusmenu-glib: GLib only, no GTK 3),
 * for the tray icon. The menu is written like any GTK menu (a GMenu with "app." actions,
 * sections, submenus, "hidden-when"); items activate the actions of @actions, a stateful
 * boolean action shows as a check item, and a disabled action greys its item. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _FzDBusMenu FzDBusMenu;

FzDBusMenu *fz_dbusmenu_new(const gchar *object_path, GMenuModel *menu, GActionGroup *actions);
void fz_dbusmenu_free(FzDBusMenu *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FzDBusMenu, fz_dbusmenu_free)

G_END_DECLS
