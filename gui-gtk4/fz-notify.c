/* SPDX-License-Identifier: Apache-2.0 */
#include "fz-notify.h"

#include <libnotify/notify.h>

#include "fz-text.h"

typedef enum {
        MARKUP_UNKNOWN,
        MARKUP_YES,
        MARKUP_NO,
} Markup;

static NotifyNotification *notifications[FZ_NOTIFY_N_KINDS];
static gchar *desktop_entry;
/* Whether the server reads markup in bodies ("body-markup"): asked once per server. */
static Markup markup = MARKUP_UNKNOWN;

void fz_notify_init(const gchar *app_id) {
        if (!notify_is_initted() && !notify_init("Firezone"))
                g_debug("libnotify could not be initialised; no notifications");
        g_free(desktop_entry);
        desktop_entry = g_strdup(app_id);
}

static gboolean server_reads_markup(void) {
        if (markup == MARKUP_UNKNOWN) {
                GList *caps = notify_get_server_caps();

                markup = g_list_find_custom(caps, "body-markup", (GCompareFunc)g_strcmp0) != NULL
                                 ? MARKUP_YES
                                 : MARKUP_NO;
                g_list_free_full(caps, g_free);
        }
        return markup == MARKUP_YES;
}

void fz_notify_show(FzNotifyKind kind, const gchar *summary, const gchar *body) {
        g_autoptr(GError) error = NULL;
        /* The summary is plain text for every server (the specification says so); the body
         * is markup for servers with "body-markup", and its markup must then be escaped,
         * or a name like "<b>x</b>" would be rendered, and "&" would break the body. */
        g_autofree gchar *clean_summary = fz_text_sanitize(summary, FZ_TEXT_NAME_MAX);
        g_autofree gchar *clean_body = NULL;
        NotifyNotification *n;

        g_return_if_fail(kind < FZ_NOTIFY_N_KINDS);
        if (!notify_is_initted())
                return;
        clean_body = server_reads_markup() ? fz_text_markup(body, FZ_TEXT_MESSAGE_MAX)
                                           : fz_text_sanitize(body, FZ_TEXT_MESSAGE_MAX);
        if (notifications[kind] == NULL) {
                notifications[kind] = notify_notification_new(clean_summary, clean_body, desktop_entry);
                notify_notification_set_app_name(notifications[kind], "Firezone");
                if (desktop_entry != NULL)
                        notify_notification_set_hint_string(notifications[kind], "desktop-entry",
                                                            desktop_entry);
        } else {
                /* Same object, same server id: the server replaces the bubble. */
                notify_notification_update(notifications[kind], clean_summary, clean_body, desktop_entry);
        }
        n = notifications[kind];
        notify_notification_set_urgency(n, kind == FZ_NOTIFY_ERROR || kind == FZ_NOTIFY_SIGN_IN
                                                   ? NOTIFY_URGENCY_CRITICAL
                                                   : NOTIFY_URGENCY_NORMAL);
        notify_notification_set_category(n, kind == FZ_NOTIFY_ERROR    ? "network.error"
                                            : kind == FZ_NOTIFY_STATUS ? "network"
                                                                       : "network.disconnected");
        if (!notify_notification_show(n, &error)) {
                g_debug("Could not show a notification (%s), ignoring", error->message);
                /* Maybe another server next time: ask again. */
                markup = MARKUP_UNKNOWN;
        } else {
                g_debug("Notification shown: %s", clean_summary);
        }
}

void fz_notify_uninit(void) {
        for (gsize i = 0; i < G_N_ELEMENTS(notifications); i++)
                g_clear_object(&notifications[i]);
        g_clear_pointer(&desktop_entry, g_free);
        markup = MARKUP_UNKNOWN;
        if (notify_is_initted())
                notify_uninit();
}
