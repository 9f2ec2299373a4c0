/* SPDX-License-Identifier: Apache-2.0 */
#include <gio/gio.h>

#include "fz-client-private.h"

/* Names the daemon never sends: the library's own codes for what it finds out on the
 * client side (nobody owns the bus name; the bus refused the call; polkit would need a
 * password the caller did not allow). They are not in the interface XML, so not in
 * fz-names.h; registered like the others so that the codes encode to names both ways. */
#define FZ_CLIENT_ERROR_NAME_DAEMON_NOT_RUNNING     FZ_ERROR_PREFIX "DaemonNotRunning"
#define FZ_CLIENT_ERROR_NAME_PERMISSION_DENIED      FZ_ERROR_PREFIX "PermissionDenied"
#define FZ_CLIENT_ERROR_NAME_AUTHORIZATION_REQUIRED FZ_ERROR_PREFIX "AuthorizationRequired"

/* Both ways: a dev.firezone.Client1.Error.* reply decodes into FZ_CLIENT_ERROR, and an
 * FZ_CLIENT_ERROR encodes (g_dbus_error_encode_gerror) to its D-Bus name. */
static const GDBusErrorEntry fz_client_error_entries[] = {
        /* Sent by the daemon (fz-names.h, from the interface XML). */
        { FZ_CLIENT_ERROR_FAILED, FZ_ERROR_FAILED },
        { FZ_CLIENT_ERROR_MANAGED_BY_SERVICE_ACCOUNT, FZ_ERROR_MANAGED_BY_SERVICE_ACCOUNT },
        { FZ_CLIENT_ERROR_INVALID_TOKEN, FZ_ERROR_INVALID_TOKEN },
        { FZ_CLIENT_ERROR_NOT_SIGNED_IN, FZ_ERROR_NOT_SIGNED_IN },
        { FZ_CLIENT_ERROR_INVALID_ARGUMENT, FZ_ERROR_INVALID_ARGUMENT },
        /* Client side only (above). */
        { FZ_CLIENT_ERROR_DAEMON_NOT_RUNNING, FZ_CLIENT_ERROR_NAME_DAEMON_NOT_RUNNING },
        { FZ_CLIENT_ERROR_PERMISSION_DENIED, FZ_CLIENT_ERROR_NAME_PERMISSION_DENIED },
        { FZ_CLIENT_ERROR_AUTHORIZATION_REQUIRED, FZ_CLIENT_ERROR_NAME_AUTHORIZATION_REQUIRED },
};

/**
 * fz_client_error_quark:
 *
 * The quark of %FZ_CLIENT_ERROR; registers the error domain with GDBus on first use.
 *
 * Returns: the error quark
 *
 * Since: 0.1
 */
GQuark fz_client_error_quark(void) {
        static gsize quark = 0;

        g_dbus_error_register_error_domain("fz-client-error-quark", &quark, fz_client_error_entries,
                                           G_N_ELEMENTS(fz_client_error_entries));
        return (GQuark)quark;
}

static gboolean remote_name_has_prefix(const gchar *remote, const gchar *prefix) {
        return remote != NULL && g_str_has_prefix(remote, prefix);
}

/* The bus could not deliver the call because nobody owns (or could be started for) the
 * name: no owner, activation failed or is not configured, systemd refused to start the
 * unit (masked, …). */
static gboolean is_not_running(const GError *error, const gchar *remote) {
        if (error->domain == G_DBUS_ERROR) {
                switch (error->code) {
                case G_DBUS_ERROR_SERVICE_UNKNOWN:
                case G_DBUS_ERROR_NAME_HAS_NO_OWNER:
                case G_DBUS_ERROR_SPAWN_EXEC_FAILED:
                case G_DBUS_ERROR_SPAWN_FORK_FAILED:
                case G_DBUS_ERROR_SPAWN_CHILD_EXITED:
                case G_DBUS_ERROR_SPAWN_CHILD_SIGNALED:
                case G_DBUS_ERROR_SPAWN_FAILED:
                case G_DBUS_ERROR_SPAWN_SETUP_FAILED:
                case G_DBUS_ERROR_SPAWN_CONFIG_INVALID:
                case G_DBUS_ERROR_SPAWN_SERVICE_INVALID:
                case G_DBUS_ERROR_SPAWN_SERVICE_NOT_FOUND:
                case G_DBUS_ERROR_SPAWN_PERMISSIONS_INVALID:
                case G_DBUS_ERROR_SPAWN_FILE_INVALID:
                case G_DBUS_ERROR_SPAWN_NO_MEMORY:
                        return TRUE;
                default:
                        break;
                }
        }
        return remote_name_has_prefix(remote, "org.freedesktop.DBus.Error.Spawn.") ||
               remote_name_has_prefix(remote, "org.freedesktop.systemd1.");
}

static const gchar *default_message(FzClientError code) {
        switch (code) {
        case FZ_CLIENT_ERROR_DAEMON_NOT_RUNNING:
                return FZ_CLIENT_MSG_DAEMON_NOT_RUNNING;
        case FZ_CLIENT_ERROR_PERMISSION_DENIED:
                return "Not authorized by polkit: ask your administrator to allow it.";
        case FZ_CLIENT_ERROR_MANAGED_BY_SERVICE_ACCOUNT:
                return FZ_CLIENT_MSG_MANAGED;
        case FZ_CLIENT_ERROR_INVALID_TOKEN:
                return "The token was refused: sign in again to get a new one.";
        case FZ_CLIENT_ERROR_NOT_SIGNED_IN:
                return "Not signed in: sign in first.";
        case FZ_CLIENT_ERROR_INVALID_ARGUMENT:
                return "An option has an invalid value: check the options and try again.";
        case FZ_CLIENT_ERROR_AUTHORIZATION_REQUIRED:
                return "This needs authentication: allow interactive authorization (or run it from a "
                       "desktop session) so that polkit can ask for a password.";
        case FZ_CLIENT_ERROR_FAILED:
        default:
                return "The Firezone tunnel service failed: see its log with `journalctl -u "
                       "firezone-client`.";
        }
}

static GError *make_error(FzClientError code, const gchar *message) {
        if (message == NULL || *message == '\0')
                message = default_message(code);
        return g_error_new_literal(FZ_CLIENT_ERROR, code, message);
}

GError *fz_client_error_from_call(GError *error, gboolean from_bus, const gchar *method) {
        g_autoptr(GError) e = error;
        g_autofree gchar *remote = NULL;
        GError *ret;

        g_return_val_if_fail(error != NULL, NULL);

        /* Make sure our names are registered before GDBus decodes anything. */
        (void)FZ_CLIENT_ERROR;

        if (g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                return g_steal_pointer(&e);

        if (g_dbus_error_is_remote_error(e)) {
                remote = g_dbus_error_get_remote_error(e);
                g_dbus_error_strip_remote_error(e);
                /* Decoded before our names were registered: decode it again now that they are. */
                if (g_error_matches(e, G_IO_ERROR, G_IO_ERROR_DBUS_ERROR)) {
                        GError *again = g_dbus_error_new_for_dbus_error(remote, e->message);
                        g_dbus_error_strip_remote_error(again);
                        g_error_free(e);
                        e = again;
                }
        }

        if (e->domain == FZ_CLIENT_ERROR) {
                /* Our own sentence for this one: it must say who manages the device, whatever
                 * the daemon's version words it as. */
                if (e->code == FZ_CLIENT_ERROR_MANAGED_BY_SERVICE_ACCOUNT)
                        return make_error(FZ_CLIENT_ERROR_MANAGED_BY_SERVICE_ACCOUNT, NULL);
                return make_error(e->code, e->message);
        }

        if (is_not_running(e, remote))
                return make_error(FZ_CLIENT_ERROR_DAEMON_NOT_RUNNING, NULL);

        if (g_error_matches(e, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY) && from_bus)
                return g_error_new(FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_DAEMON_NOT_RUNNING,
                                   "The Firezone tunnel service stopped before it answered %s(). "
                                   "Start it with: sudo systemctl start firezone-client",
                                   method);

        if (g_error_matches(e, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED))
                /* The bus refuses only non-members (the GID check of the policy file); the
                 * daemon refuses when polkit says no, and its message says why. */
                return make_error(FZ_CLIENT_ERROR_PERMISSION_DENIED,
                                  from_bus ? FZ_CLIENT_MSG_PERMISSION_DENIED : e->message);

        /* GIO has no code for this one: it arrives as G_IO_ERROR_DBUS_ERROR with the name. */
        if (g_strcmp0(remote, "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired") == 0)
                return make_error(FZ_CLIENT_ERROR_AUTHORIZATION_REQUIRED, NULL);

        if (g_error_matches(e, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS))
                return make_error(FZ_CLIENT_ERROR_INVALID_ARGUMENT, e->message);

        if (g_error_matches(e, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD) ||
            g_error_matches(e, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT) ||
            g_error_matches(e, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_INTERFACE))
                return g_error_new(FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_FAILED,
                                   "The Firezone tunnel service does not know %s(): it is older than this "
                                   "client. Update the firezone-client package.",
                                   method);

        if (g_error_matches(e, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) ||
            g_error_matches(e, G_DBUS_ERROR, G_DBUS_ERROR_TIMEOUT) ||
            g_error_matches(e, G_DBUS_ERROR, G_DBUS_ERROR_TIMED_OUT) ||
            g_error_matches(e, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY))
                return g_error_new(FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_FAILED,
                                   "The Firezone tunnel service did not answer %s() in time: check that it "
                                   "is working with `systemctl status firezone-client`.",
                                   method);

        if (g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CLOSED))
                return g_error_new(FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_FAILED,
                                   "Lost the connection to the system bus during %s(): check that dbus is "
                                   "running, then try again.",
                                   method);

        ret = g_error_new(FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_FAILED, "%s() failed: %s", method, e->message);
        return ret;
}
