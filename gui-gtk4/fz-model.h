/* SPDX-License-Identifier: Apache-2.0 */
/* FzModel: what the GUI shows, in one object. It is derived from the library's FzClient
 * (the daemon's state, session and resources) and a few local facts (group membership,
 * polkit's answer for sign-in, a sign-in in progress, the keyring, the user's favourites),
 * and tells its views about each change through its own property's notify signal, so a
 * view re-reads only what changed. The phase is computed in one function from the facts.
 *
 * Views never change the model; the application's actions and FzSession do. */
#pragma once

#include <firezone-client.h>
#include <gio/gio.h>

#include "fz-wording.h"

G_BEGIN_DECLS

typedef enum {
        FZ_NOTICE_NONE,
        FZ_NOTICE_WARNING,
        FZ_NOTICE_ERROR,
} FzNoticeKind;

#define FZ_TYPE_MODEL (fz_model_get_type())
G_DECLARE_FINAL_TYPE(FzModel, fz_model, FZ, MODEL, GObject)

/* @settings: the app's GSettings (favourites). Call fz_model_start() to connect. */
FzModel *fz_model_new(GSettings *settings);
void fz_model_start(FzModel *self);
/* Cancels what is in flight; the model stays readable. */
void fz_model_stop(FzModel *self);

/* NULL until the library has connected to the system bus. */
FzClient *fz_model_get_client(FzModel *self);

FzPhase fz_model_get_phase(FzModel *self);
/* A service-account daemon: signing in and out is up to an administrator. */
gboolean fz_model_get_managed(FzModel *self);
/* "Signed in as Jane Doe (acme)" (fz_identity_text()), or "" without a session. */
const gchar *fz_model_get_identity(FzModel *self);
/* The daemon's last error, sanitized, or "". */
const gchar *fz_model_get_last_error(FzModel *self);
gboolean fz_model_get_requires_sign_in(FzModel *self);
/* The daemon's state was read and it is interactive and signed out. */
gboolean fz_model_get_can_sign_in(FzModel *self);
gboolean fz_model_get_can_sign_out(FzModel *self);
/* polkit says signing in needs an administrator's password. */
gboolean fz_model_get_sign_in_needs_admin(FzModel *self);
/* NOT_IN_GROUP: /etc/group lists the user already, only a new login is missing. */
gboolean fz_model_get_group_needs_relogin(FzModel *self);
/* NO_DAEMON: why, when it is more than "not running" (e.g. no system bus), or NULL. */
const gchar *fz_model_get_no_daemon_detail(FzModel *self);

/* (element-type FzResource): the resources as the daemon lists them; items are replaced
 * in place when one changes. */
GListModel *fz_model_get_resources(FzModel *self);
gboolean fz_model_get_internet_resource_supported(FzModel *self);
gboolean fz_model_get_internet_resource_enabled(FzModel *self);

/* Favourites are resource ids, kept in GSettings ("favorite-resources"). */
gboolean fz_model_is_favorite(FzModel *self, const gchar *resource_id);
void fz_model_set_favorite(FzModel *self, const gchar *resource_id, gboolean favorite);

/* The message at the top of the window (an error to act on), or NULL. */
const gchar *fz_model_get_notice(FzModel *self, FzNoticeKind *ret_kind);
void fz_model_set_notice(FzModel *self, FzNoticeKind kind, const gchar *text);
/* Why the keyring cannot be used, or NULL. */
const gchar *fz_model_get_keyring_problem(FzModel *self);
void fz_model_set_keyring_problem(FzModel *self, const gchar *text);

/* Set by FzSession: the browser is open or a token is on its way; a call is running. */
void fz_model_set_signing_in(FzModel *self, gboolean signing_in);
gboolean fz_model_get_busy(FzModel *self);
void fz_model_hold_busy(FzModel *self);
void fz_model_release_busy(FzModel *self);

G_END_DECLS
