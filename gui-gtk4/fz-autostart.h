/* SPDX-License-Identifier: Apache-2.0 */
/* firezone-gui --register-auto-start / --unregister-auto-start: the per-user autostart
 * entry $XDG_CONFIG_HOME/autostart/firezone-gui.desktop (~/.config/autostart/ by default). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gchar *fz_autostart_path(void);
/* Writes the entry (atomically; replaces an older one). @contents: the desktop file. */
gboolean fz_autostart_register(const gchar *contents, GError **error);
/* Removes it; succeeds when there was none. */
gboolean fz_autostart_unregister(GError **error);
gboolean fz_autostart_is_registered(void);

G_END_DECLS
