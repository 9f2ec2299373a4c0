/* SPDX-License-Identifier: Apache-2.0 */
#include "fz-wording.h"

#include <glib/gi18n.h>

#include "fz-text.h"

const gchar *fz_phase_to_string(FzPhase phase) {
        static const gchar *const names[] = {
                [FZ_PHASE_STARTING] = "starting",         [FZ_PHASE_NO_DAEMON] = "no-daemon",
                [FZ_PHASE_NOT_IN_GROUP] = "not-in-group", [FZ_PHASE_SIGNED_OUT] = "signed-out",
                [FZ_PHASE_SIGNING_IN] = "signing-in",     [FZ_PHASE_CONNECTING] = "connecting",
                [FZ_PHASE_CONNECTED] = "connected",       [FZ_PHASE_RECONNECTING] = "reconnecting",
        };
        return (gsize)phase < G_N_ELEMENTS(names) ? names[phase] : "?";
}

const gchar *fz_phase_get_title(FzPhase phase) {
        switch (phase) {
        case FZ_PHASE_STARTING:
                return _("Starting…");
        case FZ_PHASE_NO_DAEMON:
                return _("Firezone service not running");
        case FZ_PHASE_NOT_IN_GROUP:
                return _("Not allowed to use Firezone");
        case FZ_PHASE_SIGNED_OUT:
                return _("Signed out");
        case FZ_PHASE_SIGNING_IN:
                return _("Signing in…");
        case FZ_PHASE_CONNECTING:
                return _("Connecting…");
        case FZ_PHASE_CONNECTED:
                return _("Connected");
        case FZ_PHASE_RECONNECTING:
                return _("Reconnecting…");
        default:
                return "";
        }
}

const gchar *fz_phase_get_icon_name(FzPhase phase) {
        switch (phase) {
        case FZ_PHASE_CONNECTED:
                return "dev.firezone.Client-connected-symbolic";
        case FZ_PHASE_CONNECTING:
        case FZ_PHASE_RECONNECTING:
        case FZ_PHASE_SIGNING_IN:
                return "dev.firezone.Client-busy-symbolic";
        default:
                return "dev.firezone.Client-disconnected-symbolic";
        }
}

gboolean fz_phase_has_session(FzPhase phase) {
        return phase == FZ_PHASE_CONNECTING || phase == FZ_PHASE_CONNECTED || phase == FZ_PHASE_RECONNECTING;
}

gchar *fz_identity_text(gboolean managed, const gchar *actor_name, const gchar *account_slug) {
        g_autofree gchar *actor = fz_text_sanitize(actor_name, FZ_TEXT_NAME_MAX);
        g_autofree gchar *slug = fz_text_sanitize(account_slug, FZ_TEXT_NAME_MAX);

        if (managed)
                return g_strdup(_("Managed by your organization"));
        if (*actor != '\0' && *slug != '\0')
                /* Translators: a person's name, then the account (organization) ID. */
                return g_strdup_printf(_("Signed in as %s (%s)"), actor, slug);
        if (*actor != '\0' || *slug != '\0')
                return g_strdup_printf(_("Signed in as %s"), *actor != '\0' ? actor : slug);
        return g_strdup(_("Signed in"));
}

gchar *fz_resource_display_name(FzResource *resource) {
        g_autofree gchar *name = fz_text_sanitize(fz_resource_get_name(resource), FZ_TEXT_NAME_MAX);

        if (*name != '\0')
                return g_steal_pointer(&name);
        if (fz_resource_get_resource_type(resource) == FZ_RESOURCE_TYPE_INTERNET)
                return g_strdup(_("Internet Resource"));
        return fz_text_sanitize(fz_resource_get_address(resource), FZ_TEXT_NAME_MAX);
}

const gchar *fz_resource_status_get_title(FzResourceStatus status) {
        switch (status) {
        case FZ_RESOURCE_STATUS_ONLINE:
                return _("Online");
        case FZ_RESOURCE_STATUS_OFFLINE:
                return _("Offline");
        case FZ_RESOURCE_STATUS_UNKNOWN:
        default:
                return _("Status unknown");
        }
}

const gchar *fz_resource_status_get_css_class(FzResourceStatus status) {
        switch (status) {
        case FZ_RESOURCE_STATUS_ONLINE:
                return "success";
        case FZ_RESOURCE_STATUS_OFFLINE:
                return "error";
        case FZ_RESOURCE_STATUS_UNKNOWN:
        default:
                return "dim-label";
        }
}

const gchar *fz_session_ended_text(void) {
        return _("Your Firezone session has ended. Sign in again to reach your resources.");
}

const gchar *fz_reason_text(const gchar *reason) {
        if (g_strcmp0(reason, "sign-out") == 0)
                return _("You signed out.");
        if (g_strcmp0(reason, "token-expired") == 0)
                return _("Your session expired. Sign in again.");
        if (g_strcmp0(reason, "portal-disconnected") == 0)
                return _("The connection to Firezone was lost.");
        if (g_strcmp0(reason, "daemon-stopped") == 0)
                return _("The Firezone service stopped.");
        return NULL;
}
