/* SPDX-License-Identifier: Apache-2.0 */
#include "fz-library-adapter.h"

#include <glib/gi18n.h>

#include "config.h"

/* meson.build defines these from the library's headers (cc.has_header_symbol). */
#ifndef FZ_HAVE_INTERNET_RESOURCE_TOGGLE
#define FZ_HAVE_INTERNET_RESOURCE_TOGGLE 0
#endif
#ifndef FZ_HAVE_SITE_STATUS
#define FZ_HAVE_SITE_STATUS 0
#endif

#define INTERNET_RESOURCE_PROPERTY "internet-resource-enabled"

gboolean fz_adapter_internet_resource_supported(void) {
        return FZ_HAVE_INTERNET_RESOURCE_TOGGLE;
}

const gchar *fz_adapter_internet_resource_property(FzClient *client) {
        if (!FZ_HAVE_INTERNET_RESOURCE_TOGGLE ||
            g_object_class_find_property(G_OBJECT_GET_CLASS(client), INTERNET_RESOURCE_PROPERTY) == NULL)
                return NULL;
        return INTERNET_RESOURCE_PROPERTY;
}

gboolean fz_adapter_get_internet_resource_enabled(FzClient *client) {
        gboolean enabled = FALSE;

        if (fz_adapter_internet_resource_property(client) != NULL)
                g_object_get(client, INTERNET_RESOURCE_PROPERTY, &enabled, NULL);
        return enabled;
}

void fz_adapter_set_internet_resource_enabled_async(FzClient *client, gboolean enabled,
                                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                                    gpointer user_data) {
#if FZ_HAVE_INTERNET_RESOURCE_TOGGLE
        fz_client_set_internet_resource_enabled_async(client, enabled, cancellable, callback, user_data);
#else
        g_autoptr(GTask) task = g_task_new(client, cancellable, callback, user_data);

        g_task_set_source_tag(task, fz_adapter_set_internet_resource_enabled_async);
        g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "%s",
                                _("This version of Firezone cannot turn the Internet resource on or off."));
#endif
}

gboolean fz_adapter_set_internet_resource_enabled_finish(FzClient *client, GAsyncResult *result,
                                                         GError **error) {
#if FZ_HAVE_INTERNET_RESOURCE_TOGGLE
        return fz_client_set_internet_resource_enabled_finish(client, result, error);
#else
        return g_task_propagate_boolean(G_TASK(result), error);
#endif
}

FzResourceStatus fz_adapter_site_get_status(const FzResourceSite *site) {
#if FZ_HAVE_SITE_STATUS
        return fz_resource_site_get_status(site);
#else
        (void)site;
        return FZ_RESOURCE_STATUS_UNKNOWN;
#endif
}
