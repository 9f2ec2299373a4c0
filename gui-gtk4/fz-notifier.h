/* SPDX-License-Identifier: Apache-2.0 */
/* FzNotifier: which changes of the model become notifications, and their words (the same
 * as the window's and the tray's, from fz-wording.h). */
#pragma once

#include "fz-model.h"

G_BEGIN_DECLS

#define FZ_TYPE_NOTIFIER (fz_notifier_get_type())
G_DECLARE_FINAL_TYPE(FzNotifier, fz_notifier, FZ, NOTIFIER, GObject)

FzNotifier *fz_notifier_new(FzModel *model);
/* Something the user did failed: @summary ("Could not sign in"), @message (what to do). */
void fz_notifier_failed(FzNotifier *self, const gchar *summary, const gchar *message);

G_END_DECLS
