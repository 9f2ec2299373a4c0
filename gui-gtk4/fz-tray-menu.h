/* SPDX-License-Identifier: Apache-2.0 */
/* FzTrayMenu: the tray icon's menu as a view of the model. Its fixed part comes from
 * fz-tray-menu.ui; the state, the signed-in user and the resources (favourites first) are
 * filled in from the model; the result is served over DBusMenu at FZ_TRAY_MENU_PATH. */
#pragma once

#include <gio/gio.h>

#include "fz-model.h"

G_BEGIN_DECLS

#define FZ_TRAY_MENU_PATH "/MenuBar"

#define FZ_TYPE_TRAY_MENU (fz_tray_menu_get_type())
G_DECLARE_FINAL_TYPE(FzTrayMenu, fz_tray_menu, FZ, TRAY_MENU, GObject)

/* @actions: the application; items use its "app." actions. */
FzTrayMenu *fz_tray_menu_new(FzModel *model, GActionGroup *actions);

G_END_DECLS
