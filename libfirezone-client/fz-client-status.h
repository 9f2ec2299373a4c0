/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib-object.h>

#include "fz-client-macros.h"

G_BEGIN_DECLS

/**
 * FzClientState:
 * @FZ_CLIENT_STATE_UNKNOWN: Not known: the daemon is not running, has not been read
 *   yet, may not be read by this user, or reported a state this library does not know.
 * @FZ_CLIENT_STATE_SIGNED_OUT: No session; the tunnel is down.
 * @FZ_CLIENT_STATE_CONNECTING: A token was accepted; connecting to the portal.
 * @FZ_CLIENT_STATE_CONNECTED: Connected: resources are reachable.
 * @FZ_CLIENT_STATE_RECONNECTING: The connection was lost; trying again.
 *
 * The daemon's state (the `State` property of `dev.firezone.Client1`).
 *
 * Since: 0.1
 */
typedef enum {
        FZ_CLIENT_STATE_UNKNOWN,
        FZ_CLIENT_STATE_SIGNED_OUT,
        FZ_CLIENT_STATE_CONNECTING,
        FZ_CLIENT_STATE_CONNECTED,
        FZ_CLIENT_STATE_RECONNECTING,
} FzClientState;

/**
 * FzClientMode:
 * @FZ_CLIENT_MODE_UNKNOWN: Not known (see %FZ_CLIENT_STATE_UNKNOWN).
 * @FZ_CLIENT_MODE_INTERACTIVE: Users sign in and out over D-Bus (the GUI or firezonectl).
 * @FZ_CLIENT_MODE_SERVICE_ACCOUNT: The daemon runs with a service-account token set by an
 *   administrator; sign-in, sign-out and reconnect fail with
 *   %FZ_CLIENT_ERROR_MANAGED_BY_SERVICE_ACCOUNT.
 *
 * How the daemon got its token (the `Mode` property of `dev.firezone.Client1`).
 *
 * Since: 0.1
 */
typedef enum {
        FZ_CLIENT_MODE_UNKNOWN,
        FZ_CLIENT_MODE_INTERACTIVE,
        FZ_CLIENT_MODE_SERVICE_ACCOUNT,
} FzClientMode;

FZ_CLIENT_EXPORT const gchar *fz_client_state_to_string(FzClientState state);
FZ_CLIENT_EXPORT FzClientState fz_client_state_from_string(const gchar *state);
FZ_CLIENT_EXPORT const gchar *fz_client_mode_to_string(FzClientMode mode);
FZ_CLIENT_EXPORT FzClientMode fz_client_mode_from_string(const gchar *mode);

#define FZ_TYPE_CLIENT_STATUS (fz_client_status_get_type())
FZ_CLIENT_EXPORT G_DECLARE_FINAL_TYPE(FzClientStatus, fz_client_status, FZ, CLIENT_STATUS, GObject)

FZ_CLIENT_EXPORT FzClientState fz_client_status_get_state(FzClientStatus *self);
FZ_CLIENT_EXPORT FzClientMode fz_client_status_get_mode(FzClientStatus *self);
FZ_CLIENT_EXPORT const gchar *fz_client_status_get_account_slug(FzClientStatus *self);
FZ_CLIENT_EXPORT const gchar *fz_client_status_get_actor_name(FzClientStatus *self);
FZ_CLIENT_EXPORT const gchar *fz_client_status_get_interface_name(FzClientStatus *self);
FZ_CLIENT_EXPORT const gchar *fz_client_status_get_ipv4(FzClientStatus *self);
FZ_CLIENT_EXPORT const gchar *fz_client_status_get_ipv6(FzClientStatus *self);
FZ_CLIENT_EXPORT const gchar *fz_client_status_get_dns_control(FzClientStatus *self);
FZ_CLIENT_EXPORT const gchar *fz_client_status_get_last_error(FzClientStatus *self);
FZ_CLIENT_EXPORT gboolean fz_client_status_get_requires_sign_in(FzClientStatus *self);
FZ_CLIENT_EXPORT guint64 fz_client_status_get_connected_since(FzClientStatus *self);
FZ_CLIENT_EXPORT guint fz_client_status_get_resource_count(FzClientStatus *self);
FZ_CLIENT_EXPORT const gchar *fz_client_status_get_version(FzClientStatus *self);
FZ_CLIENT_EXPORT gboolean fz_client_status_get_internet_resource_enabled(FzClientStatus *self);
FZ_CLIENT_EXPORT guint fz_client_status_get_gateways(FzClientStatus *self);
FZ_CLIENT_EXPORT guint64 fz_client_status_get_rx_bytes(FzClientStatus *self);
FZ_CLIENT_EXPORT guint64 fz_client_status_get_tx_bytes(FzClientStatus *self);

G_END_DECLS
