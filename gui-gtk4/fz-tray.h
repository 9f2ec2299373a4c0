/* SPDX-License-Identifier: Apache-2.0 */
/* The tray icon: a StatusNotifierItem exported over GDBus and registered with the
 * session's org.kde.StatusNotifierWatcher (KDE, GNOME's AppIndicator extension, …).
 * GTK 4 has no tray API. Without a watcher the tray is simply not "available". */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define FZ_TYPE_TRAY (fz_tray_get_type())
G_DECLARE_FINAL_TYPE(FzTray, fz_tray, FZ, TRAY, GObject)

/* @menu_path: the com.canonical.dbusmenu object on the same connection. */
FzTray *fz_tray_new(GDBusConnection *connection, const gchar *menu_path);

/* Registered with a watcher that has a host showing it. Notifies "available". */
gboolean fz_tray_get_available(FzTray *self);
/* The first answer about the watcher has arrived (available or not). Notifies "settled". */
gboolean fz_tray_get_settled(FzTray *self);

void fz_tray_set_status(FzTray *self, const gchar *icon_name, const gchar *title, const gchar *description);

G_END_DECLS
