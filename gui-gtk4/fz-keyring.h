/* SPDX-License-Identifier: Apache-2.0 */
/* The interactive token in the desktop keyring (Secret Service, through libsecret), with
 * the project's own schema. Never in a file: this is the only place the GUI keeps it. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define FZ_KEYRING_SCHEMA_NAME "dev.firezone.Client.Token"

typedef struct {
        gchar *token; /* wiped on free */
        gchar *account_slug;
        gchar *actor_name;
} FzStoredToken;

void fz_stored_token_free(FzStoredToken *stored);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FzStoredToken, fz_stored_token_free)

/* Replaces whatever token was stored before. */
void fz_keyring_store_async(const gchar *token, const gchar *account_slug, const gchar *actor_name,
                            GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
gboolean fz_keyring_store_finish(GAsyncResult *result, GError **error);

/* Returns NULL without an error when nothing is stored. */
void fz_keyring_lookup_async(GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
FzStoredToken *fz_keyring_lookup_finish(GAsyncResult *result, GError **error);

/* Deletes the stored token; succeeds when there was none. */
void fz_keyring_clear_async(GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
gboolean fz_keyring_clear_finish(GAsyncResult *result, GError **error);

G_END_DECLS
