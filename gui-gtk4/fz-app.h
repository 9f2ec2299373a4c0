/* SPDX-License-Identifier: Apache-2.0 */
/* FzApp: the single-instance GtkApplication. It owns the connection to the daemon
 * (through libfirezone-client only), the browser sign-in, the keyring, notifications and
 * the tray, and decides which page the window shows; the window and the tray menu are
 * views that re-read it on FzApp::changed. */
#pragma once

#include <firezone-client.h>
#include <gtk/gtk.h>

G_BEGIN_DECLS

#define FZ_APP_ID            "dev.firezone.Client"
#define FZ_APP_RESOURCE_PATH "/dev/firezone/Client"

typedef enum {
        /* Reading the daemon's state. */
        FZ_PAGE_STARTING,
        /* firezone-client-tunnel is not running (or the system bus is unreachable). */
        FZ_PAGE_NO_DAEMON,
        /* The bus refuses us: not in group firezone (or not yet, before a new login). */
        FZ_PAGE_NOT_IN_GROUP,
        FZ_PAGE_SIGNED_OUT,
        /* The browser is open; waiting for the deep link. */
        FZ_PAGE_SIGNING_IN,
        /* Connecting, connected or reconnecting; or any state of a service-account daemon. */
        FZ_PAGE_SESSION,
} FzPage;

typedef enum {
        FZ_BANNER_NONE,
        FZ_BANNER_INFO,
        FZ_BANNER_WARNING,
        FZ_BANNER_ERROR,
} FzBannerKind;

#define FZ_TYPE_APP (fz_app_get_type())
G_DECLARE_FINAL_TYPE(FzApp, fz_app, FZ, APP, GtkApplication)

FzApp *fz_app_new(void);

FzPage fz_app_get_page(FzApp *self);
const gchar *fz_app_page_to_string(FzPage page);
/* NULL until the client is ready. */
FzClient *fz_app_get_client(FzApp *self);
GSettings *fz_app_get_settings(FzApp *self);
/* The transient message at the top of the window, or NULL. */
const gchar *fz_app_get_banner(FzApp *self, FzBannerKind *ret_kind);
void fz_app_dismiss_banner(FzApp *self);
/* Why the keyring cannot be used, or NULL when it works (or was not needed yet). */
const gchar *fz_app_get_keyring_problem(FzApp *self);
/* polkit says signing in needs an administrator's password. */
gboolean fz_app_get_sign_in_needs_admin(FzApp *self);
/* NOT_IN_GROUP: TRUE when /etc/group already lists the user, so only a new login is
 * missing. NO_DAEMON: a sentence with details, or NULL. */
gboolean fz_app_get_group_needs_relogin(FzApp *self);
const gchar *fz_app_get_no_daemon_detail(FzApp *self);
gboolean fz_app_get_tray_available(FzApp *self);

G_END_DECLS
