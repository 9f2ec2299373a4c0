/* SPDX-License-Identifier: Apache-2.0 */
/* The main window: one page per FzPage, a banner for errors and one for the keyring.
 * It only shows FzApp's state and triggers its actions. */
#pragma once

#include "fz-app.h"

G_BEGIN_DECLS

#define FZ_TYPE_WINDOW (fz_window_get_type())
G_DECLARE_FINAL_TYPE(FzWindow, fz_window, FZ, WINDOW, GtkApplicationWindow)

FzWindow *fz_window_new(FzApp *app);

G_END_DECLS
