/* SPDX-License-Identifier: Apache-2.0 */
/* FzApplication: the single-instance application. It owns the model (fz-model.h), the
 * sign-in controller (fz-session.h), the notifier, the tray icon and its menu, and the
 * window, and offers what the user can do as "app." actions — the window's buttons, the
 * tray menu and the desktop (org.gtk.Actions) all go through them. */
#pragma once

#include <adwaita.h>

#include "fz-app-id.h"

G_BEGIN_DECLS

#define FZ_TYPE_APPLICATION (fz_application_get_type())
G_DECLARE_FINAL_TYPE(FzApplication, fz_application, FZ, APPLICATION, AdwApplication)

FzApplication *fz_application_new(void);

G_END_DECLS
