/* SPDX-License-Identifier: Apache-2.0 */
/* FzPreferencesWindow: the settings (GSettings dev.firezone.Client) and start at log-in. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define FZ_TYPE_PREFERENCES_WINDOW (fz_preferences_window_get_type())
G_DECLARE_FINAL_TYPE(FzPreferencesWindow, fz_preferences_window, FZ, PREFERENCES_WINDOW,
                     AdwPreferencesWindow)

FzPreferencesWindow *fz_preferences_window_new(GtkWindow *parent, GSettings *settings);

G_END_DECLS
