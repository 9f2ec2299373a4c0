/* SPDX-License-Identifier: Apache-2.0 */
/* The settings window: the GSettings keys, and start at log-in. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

void fz_preferences_show(GtkWindow *parent, GSettings *settings);

G_END_DECLS
