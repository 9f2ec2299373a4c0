/* SPDX-License-Identifier: Apache-2.0 */
/* One wording per state, shared by the window, the tray and the notifications: what the
 * GUI is doing (FzPhase), who is signed in, and how a resource or site can be reached.
 * "Connected" is said only when the daemon says so. */
#pragma once

#include <firezone-client.h>
#include <glib.h>

G_BEGIN_DECLS

/* What the user sees, derived from the daemon's state and local facts (fz-model.c). */
typedef enum {
        /* Reading the daemon's state. */
        FZ_PHASE_STARTING,
        /* firezone-client-tunnel is not running (or the system bus is unreachable). */
        FZ_PHASE_NO_DAEMON,
        /* The bus refuses us: not in group firezone (or not since this login). */
        FZ_PHASE_NOT_IN_GROUP,
        FZ_PHASE_SIGNED_OUT,
        /* The browser is open, or a token is on its way to the daemon. */
        FZ_PHASE_SIGNING_IN,
        FZ_PHASE_CONNECTING,
        FZ_PHASE_CONNECTED,
        FZ_PHASE_RECONNECTING,
} FzPhase;

/* A stable name for logs: "signed-out", "connected", … */
const gchar *fz_phase_to_string(FzPhase phase);
/* The phase as the user reads it everywhere: "Connected", "Signed out", … */
const gchar *fz_phase_get_title(FzPhase phase);
const gchar *fz_phase_get_icon_name(FzPhase phase);
/* Connecting, connected or reconnecting: there is a session to show. */
gboolean fz_phase_has_session(FzPhase phase);

/* "Signed in as Jane Doe (acme)", "Managed by your organization", …; the names are
 * sanitized here (fz-text.h). */
gchar *fz_identity_text(gboolean managed, const gchar *actor_name, const gchar *account_slug);

/* A resource's name as shown (sanitized, bounded); "Internet Resource" for the Internet
 * resource the portal sends without one, else its address. */
gchar *fz_resource_display_name(FzResource *resource);

/* "Online", "Offline", "Status unknown". */
const gchar *fz_resource_status_get_title(FzResourceStatus status);
/* The CSS class that colours a status: "success", "error" or "dim-label". */
const gchar *fz_resource_status_get_css_class(FzResourceStatus status);

/* The daemon no longer accepts the token: sign in again. */
const gchar *fz_session_ended_text(void);

/* Why a session ended, from the daemon's reason ("sign-out", "token-expired", …), or NULL. */
const gchar *fz_reason_text(const gchar *reason);

G_END_DECLS
