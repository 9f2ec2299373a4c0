/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

#include "fz-client-macros.h"
#include "fz-client-status.h"
#include "fz-resource.h"

G_BEGIN_DECLS

#define FZ_TYPE_CLIENT (fz_client_get_type())
FZ_CLIENT_EXPORT G_DECLARE_FINAL_TYPE(FzClient, fz_client, FZ, CLIENT, GObject)

FZ_CLIENT_EXPORT void fz_client_new_async(GCancellable *cancellable, GAsyncReadyCallback callback,
                                          gpointer user_data);
FZ_CLIENT_EXPORT FzClient *fz_client_new_finish(GAsyncResult *result, GError **error);
FZ_CLIENT_EXPORT FzClient *fz_client_new_sync(GCancellable *cancellable, GError **error);

FZ_CLIENT_EXPORT FzClientState fz_client_get_state(FzClient *self);
FZ_CLIENT_EXPORT FzClientMode fz_client_get_mode(FzClient *self);
FZ_CLIENT_EXPORT const gchar *fz_client_get_account_slug(FzClient *self);
FZ_CLIENT_EXPORT const gchar *fz_client_get_actor_name(FzClient *self);
FZ_CLIENT_EXPORT const gchar *fz_client_get_interface_name(FzClient *self);
FZ_CLIENT_EXPORT const gchar *fz_client_get_last_error(FzClient *self);
FZ_CLIENT_EXPORT const gchar *fz_client_get_daemon_version(FzClient *self);
FZ_CLIENT_EXPORT gboolean fz_client_get_requires_sign_in(FzClient *self);
FZ_CLIENT_EXPORT gboolean fz_client_get_daemon_running(FzClient *self);
FZ_CLIENT_EXPORT gboolean fz_client_get_internet_resource_enabled(FzClient *self);
FZ_CLIENT_EXPORT GPtrArray *fz_client_get_resources(FzClient *self);
FZ_CLIENT_EXPORT gboolean fz_client_get_interactive(FzClient *self);
FZ_CLIENT_EXPORT void fz_client_set_interactive(FzClient *self, gboolean interactive);

FZ_CLIENT_EXPORT void fz_client_sign_in_async(FzClient *self, const gchar *token, const gchar *account_slug,
                                              const gchar *actor_name, const gchar *api_url,
                                              GCancellable *cancellable, GAsyncReadyCallback callback,
                                              gpointer user_data);
FZ_CLIENT_EXPORT gboolean fz_client_sign_in_finish(FzClient *self, GAsyncResult *result, GError **error);

FZ_CLIENT_EXPORT void fz_client_sign_out_async(FzClient *self, GCancellable *cancellable,
                                               GAsyncReadyCallback callback, gpointer user_data);
FZ_CLIENT_EXPORT gboolean fz_client_sign_out_finish(FzClient *self, GAsyncResult *result, GError **error);

FZ_CLIENT_EXPORT void fz_client_reconnect_async(FzClient *self, GCancellable *cancellable,
                                                GAsyncReadyCallback callback, gpointer user_data);
FZ_CLIENT_EXPORT gboolean fz_client_reconnect_finish(FzClient *self, GAsyncResult *result, GError **error);

FZ_CLIENT_EXPORT void fz_client_set_internet_resource_enabled_async(FzClient *self, gboolean enabled,
                                                                    GCancellable *cancellable,
                                                                    GAsyncReadyCallback callback,
                                                                    gpointer user_data);
FZ_CLIENT_EXPORT gboolean fz_client_set_internet_resource_enabled_finish(FzClient *self,
                                                                         GAsyncResult *result,
                                                                         GError **error);

FZ_CLIENT_EXPORT void fz_client_get_status_async(FzClient *self, GCancellable *cancellable,
                                                 GAsyncReadyCallback callback, gpointer user_data);
FZ_CLIENT_EXPORT FzClientStatus *fz_client_get_status_finish(FzClient *self, GAsyncResult *result,
                                                             GError **error);

FZ_CLIENT_EXPORT void fz_client_list_resources_async(FzClient *self, GCancellable *cancellable,
                                                     GAsyncReadyCallback callback, gpointer user_data);
FZ_CLIENT_EXPORT GPtrArray *fz_client_list_resources_finish(FzClient *self, GAsyncResult *result,
                                                            GError **error);

G_END_DECLS
