/* SPDX-License-Identifier: Apache-2.0 */
/* A command for the user to type, selectable, with a button that copies it. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define FZ_TYPE_COMMAND_BOX (fz_command_box_get_type())
G_DECLARE_FINAL_TYPE(FzCommandBox, fz_command_box, FZ, COMMAND_BOX, GtkBox)

void fz_command_box_set_command(FzCommandBox *self, const gchar *command);

G_END_DECLS
