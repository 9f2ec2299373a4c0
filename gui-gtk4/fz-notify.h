/* SPDX-License-Identifier: Apache-2.0 */
/* Desktop notifications through libnotify. Text is taken as plain text from anywhere
 * (the daemon's errors, resource names, an actor's name) and made safe here: sanitized
 * (fz-text.h) and, for servers that read markup in bodies, escaped. A missing notification
 * server is not an error: the window and the tray still show everything. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
        /* Connected / signed out: each replaces the previous one. */
        FZ_NOTIFY_STATUS,
        /* Something failed. */
        FZ_NOTIFY_ERROR,
        /* The session ended: sign in again. */
        FZ_NOTIFY_SIGN_IN,
        /* A resource went offline. */
        FZ_NOTIFY_RESOURCE,
        FZ_NOTIFY_N_KINDS,
} FzNotifyKind;

void fz_notify_init(const gchar *app_id);
void fz_notify_show(FzNotifyKind kind, const gchar *summary, const gchar *body);
void fz_notify_uninit(void);

G_END_DECLS
