/* SPDX-License-Identifier: Apache-2.0 */
/* FzSession: signing in and out (DESIGN §4). Browser sign-in (the request, the page, the
 * deep link), the token's way through the keyring to the daemon, connect-on-start with the
 * stored token, sign-out, and the daemon's "requires sign-in". It reads the model and
 * writes the few facts it owns into it (a sign-in in progress, busy, keyring problem,
 * notices); failures that the user must hear about are also emitted as ::failed. */
#pragma once

#include <gio/gio.h>

#include "fz-model.h"

G_BEGIN_DECLS

#define FZ_TYPE_SESSION (fz_session_get_type())
G_DECLARE_FINAL_TYPE(FzSession, fz_session, FZ, SESSION, GObject)

FzSession *fz_session_new(FzModel *model, GSettings *settings);

/* Opens the sign-in page in the browser (again, if one is open). */
void fz_session_sign_in(FzSession *self);
void fz_session_cancel_sign_in(FzSession *self);
gboolean fz_session_get_signing_in(FzSession *self);
/* A deep link (firezone-fd0020211111://…) from the browser. */
void fz_session_handle_callback(FzSession *self, const gchar *uri);
/* Signs out and forgets the stored token. */
void fz_session_sign_out(FzSession *self);
void fz_session_shutdown(FzSession *self);

G_END_DECLS
