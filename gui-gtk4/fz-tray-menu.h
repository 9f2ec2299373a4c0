/* SPDX-License-Identifier: Apache-2.0 */
/* The tray icon's menu, served as com.canonical.dbusmenu by libdbusmenu-glib (GLib only,
 * no GTK 3). Items trigger the application's GActions. */
#pragma once

#include <firezone-client.h>
#include <gio/gio.h>

G_BEGIN_DECLS

#define FZ_TRAY_MENU_PATH "/MenuBar"

typedef struct {
        /* First line, not clickable: "Connected", "Signed out", … */
        const gchar *status;
        /* "Signed in as …" (not clickable), or NULL when signed out. */
        const gchar *signed_in_as;
        gboolean can_sign_in;
        gboolean can_sign_out;
        /* (element-type FzResource) (nullable) */
        GPtrArray *resources;
} FzTrayMenuState;

typedef struct _FzTrayMenu FzTrayMenu;

/* Activating an item activates @actions' "app"-less action names: sign-in, sign-out,
 * show-window, quit, copy-address(s). */
FzTrayMenu *fz_tray_menu_new(GActionGroup *actions);
void fz_tray_menu_update(FzTrayMenu *self, const FzTrayMenuState *state);
void fz_tray_menu_free(FzTrayMenu *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FzTrayMenu, fz_tray_menu_free)

G_END_DECLS
