/* SPDX-License-Identifier: Apache-2.0 */
#include "fz-client-private.h"

/**
 * FzClientStatus:
 *
 * Everything the daemon reports about itself in one round trip, as returned by
 * fz_client_get_status_finish(). Immutable.
 *
 * Since: 0.1
 */
struct _FzClientStatus {
        GObject parent_instance;
        FzClientState state;
        FzClientMode mode;
        gchar *account_slug;
        gchar *actor_name;
        gchar *interface_name;
        gchar *ipv4;
        gchar *ipv6;
        gchar *dns_control;
        gchar *last_error;
        gboolean requires_sign_in;
        guint64 connected_since;
        guint resource_count;
        gchar *version;
        gboolean internet_resource_enabled;
        guint32 gateways;
        guint64 rx_bytes, tx_bytes;
};

G_DEFINE_FINAL_TYPE(FzClientStatus, fz_client_status, G_TYPE_OBJECT)

/* The daemon's names (fz-names.h); "unknown" is the library's own, for what it could not
 * read or does not know. */
#define UNKNOWN_NAME "unknown"

static const gchar *const state_names[] = {
        [FZ_CLIENT_STATE_UNKNOWN] = UNKNOWN_NAME,
        [FZ_CLIENT_STATE_SIGNED_OUT] = FZ_STATE_SIGNED_OUT,
        [FZ_CLIENT_STATE_CONNECTING] = FZ_STATE_CONNECTING,
        [FZ_CLIENT_STATE_CONNECTED] = FZ_STATE_CONNECTED,
        [FZ_CLIENT_STATE_RECONNECTING] = FZ_STATE_RECONNECTING,
};

static const gchar *const mode_names[] = {
        [FZ_CLIENT_MODE_UNKNOWN] = UNKNOWN_NAME,
        [FZ_CLIENT_MODE_INTERACTIVE] = FZ_MODE_INTERACTIVE,
        [FZ_CLIENT_MODE_SERVICE_ACCOUNT] = FZ_MODE_SERVICE_ACCOUNT,
};

const gchar *fz_enum_to_name(const gchar *const *names, guint n_names, guint value) {
        return names[value < n_names ? value : 0];
}

guint fz_enum_from_name(const gchar *const *names, guint n_names, const gchar *name) {
        for (guint i = 1; name != NULL && i < n_names; i++)
                if (g_str_equal(name, names[i]))
                        return i;
        return 0;
}

/**
 * fz_client_state_to_string:
 * @state: a state
 *
 * The daemon's name for @state (as in its `State` property), e.g. "signed-out".
 *
 * Returns: (transfer none): the name; "unknown" for %FZ_CLIENT_STATE_UNKNOWN or an invalid value
 *
 * Since: 0.1
 */
const gchar *fz_client_state_to_string(FzClientState state) {
        return fz_enum_to_name(state_names, G_N_ELEMENTS(state_names), state);
}

/**
 * fz_client_state_from_string:
 * @state: (nullable): a state name from the daemon
 *
 * Parses a state name.
 *
 * Returns: the state, or %FZ_CLIENT_STATE_UNKNOWN if @state is %NULL or not known
 *
 * Since: 0.1
 */
FzClientState fz_client_state_from_string(const gchar *state) {
        return fz_enum_from_name(state_names, G_N_ELEMENTS(state_names), state);
}

/**
 * fz_client_mode_to_string:
 * @mode: a mode
 *
 * The daemon's name for @mode (as in its `Mode` property), e.g. "service-account".
 *
 * Returns: (transfer none): the name; "unknown" for %FZ_CLIENT_MODE_UNKNOWN or an invalid value
 *
 * Since: 0.1
 */
const gchar *fz_client_mode_to_string(FzClientMode mode) {
        return fz_enum_to_name(mode_names, G_N_ELEMENTS(mode_names), mode);
}

/**
 * fz_client_mode_from_string:
 * @mode: (nullable): a mode name from the daemon
 *
 * Parses a mode name.
 *
 * Returns: the mode, or %FZ_CLIENT_MODE_UNKNOWN if @mode is %NULL or not known
 *
 * Since: 0.1
 */
FzClientMode fz_client_mode_from_string(const gchar *mode) {
        return fz_enum_from_name(mode_names, G_N_ELEMENTS(mode_names), mode);
}

static void fz_client_status_finalize(GObject *object) {
        FzClientStatus *self = FZ_CLIENT_STATUS(object);

        g_free(self->account_slug);
        g_free(self->actor_name);
        g_free(self->interface_name);
        g_free(self->ipv4);
        g_free(self->ipv6);
        g_free(self->dns_control);
        g_free(self->last_error);
        g_free(self->version);
        G_OBJECT_CLASS(fz_client_status_parent_class)->finalize(object);
}

static void fz_client_status_class_init(FzClientStatusClass *klass) {
        G_OBJECT_CLASS(klass)->finalize = fz_client_status_finalize;
}

static void fz_client_status_init(FzClientStatus *self) {
}

/* A string field: a value of another type leaves it as it was. */
static void take_string(gchar **field, GVariant *value) {
        if (!g_variant_is_of_type(value, G_VARIANT_TYPE_STRING))
                return;
        g_free(*field);
        *field = g_variant_dup_string(value, NULL);
}

FzClientStatus *fz_client_status_new_from_variant(GVariant *dict) {
        FzClientStatus *self = g_object_new(FZ_TYPE_CLIENT_STATUS, NULL);
        gchar **strings[] = {&self->account_slug, &self->actor_name,  &self->interface_name, &self->ipv4,
                             &self->ipv6,         &self->dns_control, &self->last_error,     &self->version};
        GVariantIter iter;
        const gchar *key;
        GVariant *value;

        for (gsize i = 0; i < G_N_ELEMENTS(strings); i++)
                *strings[i] = g_strdup("");
        if (dict == NULL || !g_variant_is_of_type(dict, G_VARIANT_TYPE_VARDICT))
                return self;

        /* One pass over the dictionary (a lookup per key would scan it once per key). */
        g_variant_iter_init(&iter, dict);
        while (g_variant_iter_loop(&iter, "{&sv}", &key, &value)) {
                if (g_str_equal(key, FZ_STATUS_KEY_STATE)) {
                        if (g_variant_is_of_type(value, G_VARIANT_TYPE_STRING))
                                self->state = fz_client_state_from_string(g_variant_get_string(value, NULL));
                } else if (g_str_equal(key, FZ_STATUS_KEY_MODE)) {
                        if (g_variant_is_of_type(value, G_VARIANT_TYPE_STRING))
                                self->mode = fz_client_mode_from_string(g_variant_get_string(value, NULL));
                } else if (g_str_equal(key, FZ_STATUS_KEY_ACCOUNT_SLUG))
                        take_string(&self->account_slug, value);
                else if (g_str_equal(key, FZ_STATUS_KEY_ACTOR_NAME))
                        take_string(&self->actor_name, value);
                else if (g_str_equal(key, FZ_STATUS_KEY_INTERFACE))
                        take_string(&self->interface_name, value);
                else if (g_str_equal(key, FZ_STATUS_KEY_IPV4))
                        take_string(&self->ipv4, value);
                else if (g_str_equal(key, FZ_STATUS_KEY_IPV6))
                        take_string(&self->ipv6, value);
                else if (g_str_equal(key, FZ_STATUS_KEY_DNS_CONTROL))
                        take_string(&self->dns_control, value);
                else if (g_str_equal(key, FZ_STATUS_KEY_LAST_ERROR))
                        take_string(&self->last_error, value);
                else if (g_str_equal(key, FZ_STATUS_KEY_VERSION))
                        take_string(&self->version, value);
                else if (g_str_equal(key, FZ_STATUS_KEY_REQUIRES_SIGN_IN)) {
                        if (g_variant_is_of_type(value, G_VARIANT_TYPE_BOOLEAN))
                                self->requires_sign_in = g_variant_get_boolean(value);
                } else if (g_str_equal(key, FZ_STATUS_KEY_CONNECTED_SINCE)) {
                        if (g_variant_is_of_type(value, G_VARIANT_TYPE_UINT64))
                                self->connected_since = g_variant_get_uint64(value);
                } else if (g_str_equal(key, FZ_STATUS_KEY_RESOURCE_COUNT)) {
                        if (g_variant_is_of_type(value, G_VARIANT_TYPE_UINT32))
                                self->resource_count = g_variant_get_uint32(value);
                } else if (g_str_equal(key, FZ_STATUS_KEY_INTERNET_RESOURCE_ENABLED)) {
                        if (g_variant_is_of_type(value, G_VARIANT_TYPE_BOOLEAN))
                                self->internet_resource_enabled = g_variant_get_boolean(value);
                } else if (g_str_equal(key, FZ_STATUS_KEY_GATEWAYS)) {
                        if (g_variant_is_of_type(value, G_VARIANT_TYPE_UINT32))
                                self->gateways = g_variant_get_uint32(value);
                } else if (g_str_equal(key, FZ_STATUS_KEY_RX_BYTES)) {
                        if (g_variant_is_of_type(value, G_VARIANT_TYPE_UINT64))
                                self->rx_bytes = g_variant_get_uint64(value);
                } else if (g_str_equal(key, FZ_STATUS_KEY_TX_BYTES)) {
                        if (g_variant_is_of_type(value, G_VARIANT_TYPE_UINT64))
                                self->tx_bytes = g_variant_get_uint64(value);
                }
                /* Unknown keys are for newer clients: ignored. */
        }
        return self;
}

/**
 * fz_client_status_get_state:
 * @self: a status
 *
 * Returns: the daemon's state
 *
 * Since: 0.1
 */
FzClientState fz_client_status_get_state(FzClientStatus *self) {
        g_return_val_if_fail(FZ_IS_CLIENT_STATUS(self), FZ_CLIENT_STATE_UNKNOWN);
        return self->state;
}

/**
 * fz_client_status_get_mode:
 * @self: a status
 *
 * Returns: how the daemon got its token
 *
 * Since: 0.1
 */
FzClientMode fz_client_status_get_mode(FzClientStatus *self) {
        g_return_val_if_fail(FZ_IS_CLIENT_STATUS(self), FZ_CLIENT_MODE_UNKNOWN);
        return self->mode;
}

/**
 * fz_client_status_get_account_slug:
 * @self: a status
 *
 * Returns: (transfer none): the account signed in to; empty if none
 *
 * Since: 0.1
 */
const gchar *fz_client_status_get_account_slug(FzClientStatus *self) {
        g_return_val_if_fail(FZ_IS_CLIENT_STATUS(self), NULL);
        return self->account_slug;
}

/**
 * fz_client_status_get_actor_name:
 * @self: a status
 *
 * Returns: (transfer none): who is signed in, for display; empty if unknown
 *
 * Since: 0.1
 */
const gchar *fz_client_status_get_actor_name(FzClientStatus *self) {
        g_return_val_if_fail(FZ_IS_CLIENT_STATUS(self), NULL);
        return self->actor_name;
}

/**
 * fz_client_status_get_interface_name:
 * @self: a status
 *
 * Returns: (transfer none): the tunnel device (`tun-firezone`) while it exists, else empty
 *
 * Since: 0.1
 */
const gchar *fz_client_status_get_interface_name(FzClientStatus *self) {
        g_return_val_if_fail(FZ_IS_CLIENT_STATUS(self), NULL);
        return self->interface_name;
}

/**
 * fz_client_status_get_ipv4:
 * @self: a status
 *
 * Returns: (transfer none): the tunnel's IPv4 address; empty if none
 *
 * Since: 0.1
 */
const gchar *fz_client_status_get_ipv4(FzClientStatus *self) {
        g_return_val_if_fail(FZ_IS_CLIENT_STATUS(self), NULL);
        return self->ipv4;
}

/**
 * fz_client_status_get_ipv6:
 * @self: a status
 *
 * Returns: (transfer none): the tunnel's IPv6 address; empty if none
 *
 * Since: 0.1
 */
const gchar *fz_client_status_get_ipv6(FzClientStatus *self) {
        g_return_val_if_fail(FZ_IS_CLIENT_STATUS(self), NULL);
        return self->ipv6;
}

/**
 * fz_client_status_get_dns_control:
 * @self: a status
 *
 * Returns: (transfer none): how the daemon controls DNS (`systemd-resolved`,
 *   `etc-resolv-conf` or `disabled`); empty if not reported
 *
 * Since: 0.1
 */
const gchar *fz_client_status_get_dns_control(FzClientStatus *self) {
        g_return_val_if_fail(FZ_IS_CLIENT_STATUS(self), NULL);
        return self->dns_control;
}

/**
 * fz_client_status_get_last_error:
 * @self: a status
 *
 * Returns: (transfer none): the last error, as a sentence that says what to do; empty if none
 *
 * Since: 0.1
 */
const gchar *fz_client_status_get_last_error(FzClientStatus *self) {
        g_return_val_if_fail(FZ_IS_CLIENT_STATUS(self), NULL);
        return self->last_error;
}

/**
 * fz_client_status_get_requires_sign_in:
 * @self: a status
 *
 * Whether the stored token is no longer valid: a client that keeps one should delete it
 * and ask the user to sign in again.
 *
 * Returns: %TRUE if a new sign-in is needed
 *
 * Since: 0.1
 */
gboolean fz_client_status_get_requires_sign_in(FzClientStatus *self) {
        g_return_val_if_fail(FZ_IS_CLIENT_STATUS(self), FALSE);
        return self->requires_sign_in;
}

/**
 * fz_client_status_get_connected_since:
 * @self: a status
 *
 * Returns: when the tunnel connected, in microseconds since the epoch (CLOCK_REALTIME,
 *   as g_get_real_time()); 0 when not connected
 *
 * Since: 0.1
 */
guint64 fz_client_status_get_connected_since(FzClientStatus *self) {
        g_return_val_if_fail(FZ_IS_CLIENT_STATUS(self), 0);
        return self->connected_since;
}

/**
 * fz_client_status_get_resource_count:
 * @self: a status
 *
 * Returns: how many resources the portal grants this device
 *
 * Since: 0.1
 */
guint fz_client_status_get_resource_count(FzClientStatus *self) {
        g_return_val_if_fail(FZ_IS_CLIENT_STATUS(self), 0);
        return self->resource_count;
}

/**
 * fz_client_status_get_version:
 * @self: a status
 *
 * Returns: (transfer none): the daemon's version; empty if not reported
 *
 * Since: 0.1
 */
const gchar *fz_client_status_get_version(FzClientStatus *self) {
        g_return_val_if_fail(FZ_IS_CLIENT_STATUS(self), NULL);
        return self->version;
}

/**
 * fz_client_status_get_internet_resource_enabled:
 * @self: a status
 *
 * Whether the Internet resource is switched on: while it is, and the portal grants one,
 * traffic to the Internet (the default route) goes through Firezone. See
 * fz_client_set_internet_resource_enabled_async().
 *
 * Returns: %TRUE if the Internet resource is switched on; %FALSE if it is off or the
 *   daemon did not say
 *
 * Since: 0.2
 */
gboolean fz_client_status_get_internet_resource_enabled(FzClientStatus *self) {
        g_return_val_if_fail(FZ_IS_CLIENT_STATUS(self), FALSE);
        return self->internet_resource_enabled;
}

/**
 * fz_client_status_get_gateways:
 * @self: a status
 *
 * How many gateways the daemon has a WireGuard session with now.
 *
 * Returns: the number of connected gateways
 *
 * Since: 0.2
 */
guint fz_client_status_get_gateways(FzClientStatus *self) {
        g_return_val_if_fail(FZ_IS_CLIENT_STATUS(self), 0);
        return self->gateways;
}

/**
 * fz_client_status_get_rx_bytes:
 * @self: a status
 *
 * Bytes received through the tunnel (from resources) in this session.
 *
 * Returns: the byte count
 *
 * Since: 0.2
 */
guint64 fz_client_status_get_rx_bytes(FzClientStatus *self) {
        g_return_val_if_fail(FZ_IS_CLIENT_STATUS(self), 0);
        return self->rx_bytes;
}

/**
 * fz_client_status_get_tx_bytes:
 * @self: a status
 *
 * Bytes sent through the tunnel (to resources) in this session.
 *
 * Returns: the byte count
 *
 * Since: 0.2
 */
guint64 fz_client_status_get_tx_bytes(FzClientStatus *self) {
        g_return_val_if_fail(FZ_IS_CLIENT_STATUS(self), 0);
        return self->tx_bytes;
}
