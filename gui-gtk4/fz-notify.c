/* SPDX-License-Identifier: Apache-2.0 */
#include "fz-notify.h"

#include <libnotify/notify.h>

static NotifyNotification *notifications[FZ_NOTIFY_N_KINDS];
static gchar *desktop_entry;

void fz_notify_init(const gchar *app_id) {
        if (!notify_is_initted() && !notify_init("Firezone"))
                g_debug("libnotify could not be initialised; no notifications");
        g_free(desktop_entry);
        desktop_entry = g_strdup(app_id);
}

void fz_notify_show(FzNotifyKind kind, const gchar *summary, const gchar *body) {
        g_autoptr(GError) error = NULL;
        NotifyNotification *n;

        g_return_if_fail(kind < FZ_NOTIFY_N_KINDS);
        if (!notify_is_initted())
                return;
        if (notifications[kind] == NULL) {
                notifications[kind] = notify_notification_new(summary, body, desktop_entry);
                notify_notification_set_app_name(notifications[kind], "Firezone");
                if (desktop_entry != NULL)
                        notify_notification_set_hint_string(notifications[kind], "desktop-entry",
                                                            desktop_entry);
        } else {
                /* Same object, same server id: the server replaces the bubble. */
                notify_notification_update(notifications[kind], summary, body, desktop_entry);
        }
        n = notifications[kind];
        notify_notification_set_urgency(n, kind == FZ_NOTIFY_STATUS ? NOTIFY_URGENCY_NORMAL
                                                                    : NOTIFY_URGENCY_CRITICAL);
        notify_notification_set_category(n, kind == FZ_NOTIFY_ERROR    ? "network.error"
                                            : kind == FZ_NOTIFY_STATUS ? "network"
                                                                       : "network.disconnected");
        if (!notify_notification_show(n, &error))
                g_debug("Could not show a notification (%s), ignoring", error->message);
        else
                g_debug("Notification shown: %s", summary);
}

void fz_notify_uninit(void) {
        for (gsize i = 0; i < G_N_ELEMENTS(notifications); i++)
                g_clear_object(&notifications[i]);
        g_clear_pointer(&desktop_entry, g_free);
        if (notify_is_initted())
                notify_uninit();
}
