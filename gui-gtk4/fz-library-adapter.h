/* SPDX-License-Identifier: Apache-2.0 */
/* What the GUI needs from libfirezone-client that the library may not offer yet. The rest
 * of the GUI calls these, so that when the library grows (or names) a feature, this file
 * is the one place to change. Without the library's support each says so honestly: the
 * feature is "not supported", a site's status is "unknown" — nothing is pretended.
 *
 * - The Internet resource toggle: D-Bus SetInternetResourceEnabled(b) and property
 *   InternetResourceEnabled (b); in the library fz_client_set_internet_resource_enabled_async()
 *   / _finish() and the boolean property FzClient:internet-resource-enabled.
 * - A site's own status (online/offline/unknown), next to the resource's. */
#pragma once

#include <firezone-client.h>

G_BEGIN_DECLS

/* Whether this build's library can turn the Internet resource on and off. */
gboolean fz_adapter_internet_resource_supported(void);
/* The FzClient property to watch for changes ("internet-resource-enabled"), or NULL. */
const gchar *fz_adapter_internet_resource_property(FzClient *client);
gboolean fz_adapter_get_internet_resource_enabled(FzClient *client);
/* Fails with G_IO_ERROR_NOT_SUPPORTED when the library cannot do it. */
void fz_adapter_set_internet_resource_enabled_async(FzClient *client, gboolean enabled,
                                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                                    gpointer user_data);
gboolean fz_adapter_set_internet_resource_enabled_finish(FzClient *client, GAsyncResult *result,
                                                         GError **error);

/* The status of one site of a resource; FZ_RESOURCE_STATUS_UNKNOWN until the library
 * reports per-site status. */
FzResourceStatus fz_adapter_site_get_status(const FzResourceSite *site);

G_END_DECLS
