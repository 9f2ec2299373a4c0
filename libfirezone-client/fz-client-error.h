/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

#include "fz-client-macros.h"

G_BEGIN_DECLS

/**
 * FZ_CLIENT_ERROR:
 *
 * The error domain of libfirezone-client. Errors the daemon sends as
 * `dev.firezone.Client1.Error.*` arrive in this domain; so do the bus's refusals and
 * "no such service" errors, mapped to %FZ_CLIENT_ERROR_PERMISSION_DENIED and
 * %FZ_CLIENT_ERROR_DAEMON_NOT_RUNNING. A cancelled call fails with
 * %G_IO_ERROR_CANCELLED, as everywhere in GIO.
 *
 * Every message is a sentence that says what to do; show it to the user as it is.
 *
 * Since: 0.1
 */
#define FZ_CLIENT_ERROR (fz_client_error_quark())

/**
 * FzClientError:
 * @FZ_CLIENT_ERROR_FAILED: Anything else; the message says what to do
 *   (`dev.firezone.Client1.Error.Failed`).
 * @FZ_CLIENT_ERROR_DAEMON_NOT_RUNNING: The Firezone tunnel service
 *   (firezone-client-tunnel) is not running, or stopped before it answered
 *   (`dev.firezone.Client1.Error.DaemonNotRunning`, never sent by the daemon).
 * @FZ_CLIENT_ERROR_PERMISSION_DENIED: The bus refused the call because the user is
 *   not in group `firezone`, or polkit did not authorize it
 *   (`dev.firezone.Client1.Error.PermissionDenied`, never sent by the daemon; the
 *   daemon and the bus send `org.freedesktop.DBus.Error.AccessDenied`).
 * @FZ_CLIENT_ERROR_MANAGED_BY_SERVICE_ACCOUNT: The device is managed by an
 *   administrator: the daemon runs with a service-account token, so sign-in, sign-out
 *   and reconnect are refused (`dev.firezone.Client1.Error.ManagedByServiceAccount`).
 * @FZ_CLIENT_ERROR_INVALID_TOKEN: The token is empty, too long or malformed
 *   (`dev.firezone.Client1.Error.InvalidToken`).
 * @FZ_CLIENT_ERROR_NOT_SIGNED_IN: The call needs a session and there is none
 *   (`dev.firezone.Client1.Error.NotSignedIn`).
 * @FZ_CLIENT_ERROR_INVALID_ARGUMENT: An option has the wrong type or an invalid value
 *   (`dev.firezone.Client1.Error.InvalidArgument`).
 * @FZ_CLIENT_ERROR_AUTHORIZATION_REQUIRED: polkit would allow the call after
 *   authentication, but the client did not allow interactive authorization (see
 *   #FzClient:interactive) (`dev.firezone.Client1.Error.AuthorizationRequired`, never
 *   sent by the daemon; mapped from
 *   `org.freedesktop.DBus.Error.InteractiveAuthorizationRequired`).
 *
 * Error codes in the %FZ_CLIENT_ERROR domain.
 *
 * Since: 0.1
 */
typedef enum {
        FZ_CLIENT_ERROR_FAILED,
        FZ_CLIENT_ERROR_DAEMON_NOT_RUNNING,
        FZ_CLIENT_ERROR_PERMISSION_DENIED,
        FZ_CLIENT_ERROR_MANAGED_BY_SERVICE_ACCOUNT,
        FZ_CLIENT_ERROR_INVALID_TOKEN,
        FZ_CLIENT_ERROR_NOT_SIGNED_IN,
        FZ_CLIENT_ERROR_INVALID_ARGUMENT,
        FZ_CLIENT_ERROR_AUTHORIZATION_REQUIRED,
} FzClientError;

FZ_CLIENT_EXPORT GQuark fz_client_error_quark(void);

G_END_DECLS
