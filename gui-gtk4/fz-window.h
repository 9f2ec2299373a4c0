/* SPDX-License-Identifier: Apache-2.0 */
/* FzWindow: the main window, a view of the model. The header says the state (in the words
 * of the tray and the notifications); a banner shows what needs acting on; one page per
 * phase (fz-pages.h) shows the rest. */
#pragma once

#include <adwaita.h>

#include "fz-model.h"

G_BEGIN_DECLS

#define FZ_TYPE_WINDOW (fz_window_get_type())
G_DECLARE_FINAL_TYPE(FzWindow, fz_window, FZ, WINDOW, AdwApplicationWindow)

FzWindow *fz_window_new(GtkApplication *app, FzModel *model);
/* A short confirmation at the bottom of the window; @text is plain text. */
void fz_window_show_toast(FzWindow *self, const gchar *text);

G_END_DECLS
