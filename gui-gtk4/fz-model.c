/* SPDX-License-Identifier: Apache-2.0 */
#include "fz-model.h"

#include <grp.h>
#include <polkit/polkit.h>
#include <pwd.h>
#include <unistd.h>

#include "fz-library-adapter.h"
#include "fz-text.h"

#define SIGN_IN_ACTION_ID "dev.firezone.client1.sign-in"

typedef enum {
        ACCESS_UNKNOWN,
        ACCESS_OK,
        ACCESS_DENIED,
} Access;

struct _FzModel {
        GObject parent_instance;

        GSettings *settings;
        GCancellable *cancellable;

        FzClient *client;
        GError *client_error;
        Access access;
        gboolean status_read;
        gboolean lacks_group;
        gboolean group_relogin;
        PolkitPermission *permission;
        gchar *internet_property;
        gulong internet_handler;

        gboolean signing_in;
        guint busy;
        /* The phase the last ::transition went to. */
        FzPhase transition_phase;

        /* Derived; each has a property and is notified only when it changes. */
        FzPhase phase;
        gboolean managed;
        gchar *identity;
        gchar *last_error;
        gboolean requires_sign_in;
        gboolean can_sign_in;
        gboolean can_sign_out;
        gboolean needs_admin;
        gboolean internet_supported;
        gboolean internet_enabled;

        GListStore *resources;
        gchar **favorites;

        gchar *notice;
        FzNoticeKind notice_kind;
        gchar *keyring_problem;
};

enum {
        PROP_0,
        PROP_CLIENT,
        PROP_PHASE,
        PROP_MANAGED,
        PROP_IDENTITY,
        PROP_LAST_ERROR,
        PROP_REQUIRES_SIGN_IN,
        PROP_CAN_SIGN_IN,
        PROP_CAN_SIGN_OUT,
        PROP_SIGN_IN_NEEDS_ADMIN,
        PROP_INTERNET_RESOURCE_SUPPORTED,
        PROP_INTERNET_RESOURCE_ENABLED,
        PROP_FAVORITES,
        PROP_NOTICE,
        PROP_KEYRING_PROBLEM,
        PROP_BUSY,
        N_PROPS,
};
static GParamSpec *props[N_PROPS];

enum { SIGNAL_TRANSITION, SIGNAL_RESOURCE_STATUS_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE(FzModel, fz_model, G_TYPE_OBJECT)

static void refresh_status(FzModel *self);

/* ---- setters that notify only on change ------------------------------------------------- */

static void set_bool(FzModel *self, gboolean *field, gboolean value, guint prop) {
        value = !!value;
        if (*field == value)
                return;
        *field = value;
        g_object_notify_by_pspec(G_OBJECT(self), props[prop]);
}

static void set_str(FzModel *self, gchar **field, const gchar *value, guint prop) {
        if (g_strcmp0(*field, value) == 0)
                return;
        g_free(*field);
        *field = g_strdup(value);
        g_object_notify_by_pspec(G_OBJECT(self), props[prop]);
}

/* ---- the facts, then everything derived from them, in one place -------------------------- */

static FzPhase compute_phase(FzModel *self) {
        if (self->client_error != NULL)
                return FZ_PHASE_NO_DAEMON;
        if (self->access == ACCESS_DENIED || self->lacks_group)
                return FZ_PHASE_NOT_IN_GROUP;
        if (self->client == NULL)
                return FZ_PHASE_STARTING;
        if (!fz_client_get_daemon_running(self->client))
                return FZ_PHASE_NO_DAEMON;
        if (!self->status_read)
                return FZ_PHASE_STARTING;
        switch (fz_client_get_state(self->client)) {
        case FZ_CLIENT_STATE_CONNECTING:
                return FZ_PHASE_CONNECTING;
        case FZ_CLIENT_STATE_CONNECTED:
                return FZ_PHASE_CONNECTED;
        case FZ_CLIENT_STATE_RECONNECTING:
                return FZ_PHASE_RECONNECTING;
        case FZ_CLIENT_STATE_SIGNED_OUT:
        case FZ_CLIENT_STATE_UNKNOWN:
        default:
                return self->signing_in ? FZ_PHASE_SIGNING_IN : FZ_PHASE_SIGNED_OUT;
        }
}

static void update(FzModel *self) {
        FzPhase old = self->phase, phase = compute_phase(self);
        gboolean ready = self->client != NULL && self->status_read;
        gboolean managed = ready && fz_client_get_mode(self->client) == FZ_CLIENT_MODE_SERVICE_ACCOUNT;
        g_autofree gchar *identity = NULL;
        g_autofree gchar *last_error = NULL;

        g_object_freeze_notify(G_OBJECT(self));
        if (phase != old) {
                self->phase = phase;
                g_info("Phase: %s", fz_phase_to_string(phase));
                g_object_notify_by_pspec(G_OBJECT(self), props[PROP_PHASE]);
        }
        set_bool(self, &self->managed, managed, PROP_MANAGED);
        if (fz_phase_has_session(phase) || (managed && ready))
                identity = fz_identity_text(managed, fz_client_get_actor_name(self->client),
                                            fz_client_get_account_slug(self->client));
        set_str(self, &self->identity, identity != NULL ? identity : "", PROP_IDENTITY);
        last_error =
                fz_text_sanitize(ready ? fz_client_get_last_error(self->client) : NULL, FZ_TEXT_MESSAGE_MAX);
        set_str(self, &self->last_error, last_error, PROP_LAST_ERROR);
        set_bool(self, &self->requires_sign_in, ready && fz_client_get_requires_sign_in(self->client),
                 PROP_REQUIRES_SIGN_IN);
        set_bool(self, &self->can_sign_in,
                 (phase == FZ_PHASE_SIGNED_OUT || phase == FZ_PHASE_SIGNING_IN) && !managed &&
                         self->busy == 0,
                 PROP_CAN_SIGN_IN);
        set_bool(self, &self->can_sign_out, fz_phase_has_session(phase) && !managed && self->busy == 0,
                 PROP_CAN_SIGN_OUT);
        set_bool(self, &self->needs_admin,
                 self->permission != NULL && !g_permission_get_allowed(G_PERMISSION(self->permission)),
                 PROP_SIGN_IN_NEEDS_ADMIN);
        set_bool(self, &self->internet_supported, self->internet_property != NULL,
                 PROP_INTERNET_RESOURCE_SUPPORTED);
        set_bool(self, &self->internet_enabled,
                 self->internet_property != NULL && fz_adapter_get_internet_resource_enabled(self->client),
                 PROP_INTERNET_RESOURCE_ENABLED);
        g_object_thaw_notify(G_OBJECT(self));
}

/* ::transition follows the daemon's own state changes, which carry its reason (the
 * library notifies the "state" property before it emits ::state-changed). */
static void transition(FzModel *self, const gchar *reason) {
        FzPhase old = self->transition_phase;

        update(self);
        if (self->phase == old)
                return;
        self->transition_phase = self->phase;
        g_signal_emit(self, signals[SIGNAL_TRANSITION], 0, old, self->phase, reason);
}

/* ---- resources -------------------------------------------------------------------------- */

static gboolean sites_equal(GPtrArray *a, GPtrArray *b) {
        guint na = a != NULL ? a->len : 0, nb = b != NULL ? b->len : 0;

        if (na != nb)
                return FALSE;
        for (guint i = 0; i < na; i++) {
                const FzResourceSite *x = g_ptr_array_index(a, i), *y = g_ptr_array_index(b, i);
                if (g_strcmp0(fz_resource_site_get_id(x), fz_resource_site_get_id(y)) != 0 ||
                    g_strcmp0(fz_resource_site_get_name(x), fz_resource_site_get_name(y)) != 0 ||
                    fz_adapter_site_get_status(x) != fz_adapter_site_get_status(y))
                        return FALSE;
        }
        return TRUE;
}

static gboolean resource_equal(FzResource *a, FzResource *b) {
        return g_strcmp0(fz_resource_get_id(a), fz_resource_get_id(b)) == 0 &&
               fz_resource_get_resource_type(a) == fz_resource_get_resource_type(b) &&
               g_strcmp0(fz_resource_get_name(a), fz_resource_get_name(b)) == 0 &&
               g_strcmp0(fz_resource_get_address(a), fz_resource_get_address(b)) == 0 &&
               g_strcmp0(fz_resource_get_description(a), fz_resource_get_description(b)) == 0 &&
               fz_resource_get_status(a) == fz_resource_get_status(b) &&
               sites_equal(fz_resource_get_sites(a), fz_resource_get_sites(b));
}

/* The store follows the daemon's list with the fewest changes: a resource that did not
 * change keeps its item (and its row, and the keyboard focus on it). */
static void sync_resources(FzModel *self) {
        g_autoptr(GPtrArray) now = self->client != NULL ? fz_client_get_resources(self->client) : NULL;
        guint n_old = g_list_model_get_n_items(G_LIST_MODEL(self->resources));
        guint n_new = now != NULL ? now->len : 0;
        gboolean same_ids = n_old == n_new;

        for (guint i = 0; same_ids && i < n_new; i++) {
                g_autoptr(FzResource) old = g_list_model_get_item(G_LIST_MODEL(self->resources), i);
                same_ids = g_strcmp0(fz_resource_get_id(old),
                                     fz_resource_get_id(g_ptr_array_index(now, i))) == 0;
        }
        if (!same_ids) {
                /* Statuses of resources that stay, for ::resource-status-changed. */
                g_autoptr(GHashTable) before = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

                for (guint i = 0; i < n_old; i++) {
                        g_autoptr(FzResource) old = g_list_model_get_item(G_LIST_MODEL(self->resources), i);
                        g_hash_table_insert(before, g_strdup(fz_resource_get_id(old)),
                                            GINT_TO_POINTER(fz_resource_get_status(old) + 1));
                }
                g_list_store_splice(self->resources, 0, n_old, now != NULL ? now->pdata : NULL, n_new);
                for (guint i = 0; i < n_new; i++) {
                        FzResource *r = g_ptr_array_index(now, i);
                        gpointer was = g_hash_table_lookup(before, fz_resource_get_id(r));
                        if (was != NULL && GPOINTER_TO_INT(was) - 1 != (gint)fz_resource_get_status(r))
                                g_signal_emit(self, signals[SIGNAL_RESOURCE_STATUS_CHANGED], 0, r,
                                              (FzResourceStatus)(GPOINTER_TO_INT(was) - 1));
                }
                return;
        }
        for (guint i = 0; i < n_new; i++) {
                g_autoptr(FzResource) old = g_list_model_get_item(G_LIST_MODEL(self->resources), i);
                FzResource *r = g_ptr_array_index(now, i);
                FzResourceStatus old_status = fz_resource_get_status(old);

                if (resource_equal(old, r))
                        continue;
                g_list_store_splice(self->resources, i, 1, (gpointer *)&r, 1);
                if (old_status != fz_resource_get_status(r))
                        g_signal_emit(self, signals[SIGNAL_RESOURCE_STATUS_CHANGED], 0, r, old_status);
        }
}

/* ---- the library ------------------------------------------------------------------------ */

static void on_state_changed(FzClient *client, FzClientState state, const gchar *reason,
                             gpointer user_data) {
        FzModel *self = user_data;

        g_info("Daemon state: %s (%s)", fz_client_state_to_string(state), reason);
        transition(self, reason);
}

static void on_client_notify(GObject *client, GParamSpec *pspec, gpointer user_data) {
        FzModel *self = user_data;

        if (g_str_equal(pspec->name, "daemon-running")) {
                if (fz_client_get_daemon_running(self->client)) {
                        g_info("The Firezone service is running");
                        refresh_status(self);
                } else {
                        g_info("The Firezone service is not running");
                        self->status_read = FALSE;
                        self->access = ACCESS_UNKNOWN;
                }
        }
        update(self);
}

static void on_resources_changed(FzClient *client, GPtrArray *resources, gpointer user_data) {
        FzModel *self = user_data;

        g_info("Resources: %u", resources != NULL ? resources->len : 0);
        sync_resources(self);
}

static void status_read(GObject *source, GAsyncResult *res, gpointer user_data) {
        g_autoptr(FzModel) self = user_data;
        g_autoptr(GError) error = NULL;
        g_autoptr(FzClientStatus) status = fz_client_get_status_finish(FZ_CLIENT(source), res, &error);

        if (status == NULL) {
                if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                        return;
                g_autofree gchar *why = fz_text_sanitize(error->message, FZ_TEXT_MESSAGE_MAX);

                g_info("Could not read the daemon's status: %s", why);
                if (g_error_matches(error, FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_PERMISSION_DENIED))
                        self->access = ACCESS_DENIED;
                else if (!g_error_matches(error, FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_DAEMON_NOT_RUNNING))
                        fz_model_set_notice(self, FZ_NOTICE_ERROR, error->message);
                update(self);
                return;
        }
        self->access = ACCESS_OK;
        self->status_read = TRUE;
        g_info("Daemon state at start: %s, mode %s",
               fz_client_state_to_string(fz_client_get_state(self->client)),
               fz_client_mode_to_string(fz_client_get_mode(self->client)));
        sync_resources(self);
        update(self);
        /* Where the daemon is now is the starting point, not a change to announce. */
        self->transition_phase = self->phase;
}

static void refresh_status(FzModel *self) {
        if (self->client == NULL || !fz_client_get_daemon_running(self->client))
                return;
        fz_client_get_status_async(self->client, self->cancellable, status_read, g_object_ref(self));
}

static void on_internet_resource_notify(GObject *client, GParamSpec *pspec, gpointer user_data) {
        update(FZ_MODEL(user_data));
}

static void client_ready(GObject *source, GAsyncResult *res, gpointer user_data) {
        g_autoptr(FzModel) self = user_data;
        g_autoptr(GError) error = NULL;
        FzClient *client = fz_client_new_finish(res, &error);

        if (client == NULL) {
                if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                        return;
                g_info("Could not connect to the system bus: %s", error->message);
                self->client_error = g_steal_pointer(&error);
                update(self);
                return;
        }
        self->client = client;
        /* polkit may ask for a password when an administrator must approve. */
        fz_client_set_interactive(client, TRUE);
        g_signal_connect(client, "state-changed", G_CALLBACK(on_state_changed), self);
        g_signal_connect(client, "resources-changed", G_CALLBACK(on_resources_changed), self);
        g_signal_connect(client, "notify", G_CALLBACK(on_client_notify), self);
        self->internet_property = g_strdup(fz_adapter_internet_resource_property(client));
        if (self->internet_property != NULL) {
                g_autofree gchar *signal = g_strconcat("notify::", self->internet_property, NULL);
                self->internet_handler =
                        g_signal_connect(client, signal, G_CALLBACK(on_internet_resource_notify), self);
        }
        g_object_notify_by_pspec(G_OBJECT(self), props[PROP_CLIENT]);
        if (fz_client_get_daemon_running(client))
                refresh_status(self);
        update(self);
}

static void on_permission_notify(GObject *permission, GParamSpec *pspec, gpointer user_data) {
        update(FZ_MODEL(user_data));
}

static void permission_ready(GObject *source, GAsyncResult *res, gpointer user_data) {
        g_autoptr(FzModel) self = user_data;
        g_autoptr(GError) error = NULL;
        GPermission *permission = polkit_permission_new_finish(res, &error);

        if (permission == NULL) {
                g_info("Cannot ask polkit about signing in: %s", error->message);
                return;
        }
        self->permission = POLKIT_PERMISSION(permission);
        g_info("Signing in %s an administrator",
               g_permission_get_allowed(permission) ? "does not need" : "needs");
        g_signal_connect(permission, "notify::allowed", G_CALLBACK(on_permission_notify), self);
        update(self);
}

/* The bus checks the *process's* groups (SO_PEERGROUPS). Knowing them here tells "not in
 * the group" apart from "daemon not running" even when the daemon is down, and "added,
 * but not logged in again" from "not added". */
static gboolean process_lacks_group(gboolean *ret_listed) {
        struct group *gr = getgrnam("firezone");
        g_autofree gid_t *groups = NULL;
        int n;

        *ret_listed = FALSE;
        if (gr == NULL)
                return FALSE;
        if (getegid() == gr->gr_gid)
                return FALSE;
        n = getgroups(0, NULL);
        if (n > 0) {
                groups = g_new(gid_t, n);
                n = getgroups(n, groups);
                for (int i = 0; i < n; i++)
                        if (groups[i] == gr->gr_gid)
                                return FALSE;
        }
        {
                struct passwd *pw = getpwuid(getuid());
                for (char **m = gr->gr_mem; pw != NULL && m != NULL && *m != NULL; m++)
                        if (g_str_equal(*m, pw->pw_name))
                                *ret_listed = TRUE;
        }
        return TRUE;
}

/* ---- public ----------------------------------------------------------------------------- */

void fz_model_start(FzModel *self) {
        self->lacks_group = process_lacks_group(&self->group_relogin);
        if (self->lacks_group)
                g_info("This process is not in group firezone%s",
                       self->group_relogin ? " (but /etc/group lists the user)" : "");
        fz_client_new_async(self->cancellable, client_ready, g_object_ref(self));
        polkit_permission_new(SIGN_IN_ACTION_ID, NULL, self->cancellable, permission_ready,
                              g_object_ref(self));
        update(self);
}

void fz_model_stop(FzModel *self) {
        g_cancellable_cancel(self->cancellable);
}

FzClient *fz_model_get_client(FzModel *self) {
        return self->client;
}

FzPhase fz_model_get_phase(FzModel *self) {
        return self->phase;
}

gboolean fz_model_get_managed(FzModel *self) {
        return self->managed;
}

const gchar *fz_model_get_identity(FzModel *self) {
        return self->identity;
}

const gchar *fz_model_get_last_error(FzModel *self) {
        return self->last_error;
}

gboolean fz_model_get_requires_sign_in(FzModel *self) {
        return self->requires_sign_in;
}

gboolean fz_model_get_can_sign_in(FzModel *self) {
        return self->can_sign_in;
}

gboolean fz_model_get_can_sign_out(FzModel *self) {
        return self->can_sign_out;
}

gboolean fz_model_get_sign_in_needs_admin(FzModel *self) {
        return self->needs_admin;
}

gboolean fz_model_get_group_needs_relogin(FzModel *self) {
        return self->group_relogin;
}

const gchar *fz_model_get_no_daemon_detail(FzModel *self) {
        return self->client_error != NULL ? self->client_error->message : NULL;
}

GListModel *fz_model_get_resources(FzModel *self) {
        return G_LIST_MODEL(self->resources);
}

gboolean fz_model_get_internet_resource_supported(FzModel *self) {
        return self->internet_supported;
}

gboolean fz_model_get_internet_resource_enabled(FzModel *self) {
        return self->internet_enabled;
}

gboolean fz_model_is_favorite(FzModel *self, const gchar *resource_id) {
        return resource_id != NULL && self->favorites != NULL &&
               g_strv_contains((const gchar *const *)self->favorites, resource_id);
}

void fz_model_set_favorite(FzModel *self, const gchar *resource_id, gboolean favorite) {
        g_autoptr(GStrvBuilder) b = g_strv_builder_new();
        g_auto(GStrv) list = NULL;

        if (fz_model_is_favorite(self, resource_id) == !!favorite)
                return;
        for (gchar **f = self->favorites; f != NULL && *f != NULL; f++)
                if (!g_str_equal(*f, resource_id))
                        g_strv_builder_add(b, *f);
        if (favorite)
                g_strv_builder_add(b, resource_id);
        list = g_strv_builder_end(b);
        /* The settings' change signal updates self->favorites. */
        g_settings_set_strv(self->settings, "favorite-resources", (const gchar *const *)list);
}

const gchar *fz_model_get_notice(FzModel *self, FzNoticeKind *ret_kind) {
        if (ret_kind != NULL)
                *ret_kind = self->notice != NULL ? self->notice_kind : FZ_NOTICE_NONE;
        return self->notice;
}

void fz_model_set_notice(FzModel *self, FzNoticeKind kind, const gchar *text) {
        g_autofree gchar *clean =
                text != NULL && kind != FZ_NOTICE_NONE ? fz_text_sanitize(text, FZ_TEXT_MESSAGE_MAX) : NULL;

        if (g_strcmp0(clean, self->notice) == 0 && self->notice_kind == kind)
                return;
        g_free(self->notice);
        self->notice = g_steal_pointer(&clean);
        self->notice_kind = self->notice != NULL ? kind : FZ_NOTICE_NONE;
        if (self->notice != NULL)
                g_info("Notice (%s): %s", kind == FZ_NOTICE_ERROR ? "error" : "warning", self->notice);
        g_object_notify_by_pspec(G_OBJECT(self), props[PROP_NOTICE]);
}

const gchar *fz_model_get_keyring_problem(FzModel *self) {
        return self->keyring_problem;
}

void fz_model_set_keyring_problem(FzModel *self, const gchar *text) {
        set_str(self, &self->keyring_problem, text, PROP_KEYRING_PROBLEM);
}

void fz_model_set_signing_in(FzModel *self, gboolean signing_in) {
        self->signing_in = signing_in;
        update(self);
}

gboolean fz_model_get_busy(FzModel *self) {
        return self->busy > 0;
}

void fz_model_hold_busy(FzModel *self) {
        if (self->busy++ == 0)
                g_object_notify_by_pspec(G_OBJECT(self), props[PROP_BUSY]);
        update(self);
}

void fz_model_release_busy(FzModel *self) {
        g_return_if_fail(self->busy > 0);
        if (--self->busy == 0)
                g_object_notify_by_pspec(G_OBJECT(self), props[PROP_BUSY]);
        update(self);
}

/* ---- GObject ---------------------------------------------------------------------------- */

static void on_favorites_changed(GSettings *settings, const gchar *key, gpointer user_data) {
        FzModel *self = user_data;
        g_auto(GStrv) now = g_settings_get_strv(settings, "favorite-resources");

        if (self->favorites != NULL &&
            g_strv_equal((const gchar *const *)now, (const gchar *const *)self->favorites))
                return;
        g_strfreev(self->favorites);
        self->favorites = g_steal_pointer(&now);
        g_object_notify_by_pspec(G_OBJECT(self), props[PROP_FAVORITES]);
}

FzModel *fz_model_new(GSettings *settings) {
        FzModel *self = g_object_new(FZ_TYPE_MODEL, NULL);

        self->settings = g_object_ref(settings);
        self->favorites = g_settings_get_strv(settings, "favorite-resources");
        g_signal_connect(settings, "changed::favorite-resources", G_CALLBACK(on_favorites_changed), self);
        return self;
}

static void fz_model_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
        FzModel *self = FZ_MODEL(object);

        switch (prop_id) {
        case PROP_CLIENT:
                g_value_set_object(value, self->client);
                break;
        case PROP_PHASE:
                g_value_set_int(value, self->phase);
                break;
        case PROP_MANAGED:
                g_value_set_boolean(value, self->managed);
                break;
        case PROP_IDENTITY:
                g_value_set_string(value, self->identity);
                break;
        case PROP_LAST_ERROR:
                g_value_set_string(value, self->last_error);
                break;
        case PROP_REQUIRES_SIGN_IN:
                g_value_set_boolean(value, self->requires_sign_in);
                break;
        case PROP_CAN_SIGN_IN:
                g_value_set_boolean(value, self->can_sign_in);
                break;
        case PROP_CAN_SIGN_OUT:
                g_value_set_boolean(value, self->can_sign_out);
                break;
        case PROP_SIGN_IN_NEEDS_ADMIN:
                g_value_set_boolean(value, self->needs_admin);
                break;
        case PROP_INTERNET_RESOURCE_SUPPORTED:
                g_value_set_boolean(value, self->internet_supported);
                break;
        case PROP_INTERNET_RESOURCE_ENABLED:
                g_value_set_boolean(value, self->internet_enabled);
                break;
        case PROP_FAVORITES:
                g_value_set_boxed(value, self->favorites);
                break;
        case PROP_NOTICE:
                g_value_set_string(value, self->notice);
                break;
        case PROP_KEYRING_PROBLEM:
                g_value_set_string(value, self->keyring_problem);
                break;
        case PROP_BUSY:
                g_value_set_boolean(value, self->busy > 0);
                break;
        default:
                G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
        }
}

static void fz_model_dispose(GObject *object) {
        FzModel *self = FZ_MODEL(object);

        g_cancellable_cancel(self->cancellable);
        if (self->client != NULL)
                g_signal_handlers_disconnect_by_data(self->client, self);
        if (self->permission != NULL)
                g_signal_handlers_disconnect_by_data(self->permission, self);
        if (self->settings != NULL)
                g_signal_handlers_disconnect_by_data(self->settings, self);
        g_clear_object(&self->client);
        g_clear_object(&self->permission);
        g_clear_object(&self->settings);
        if (self->resources != NULL)
                g_list_store_remove_all(self->resources);
        G_OBJECT_CLASS(fz_model_parent_class)->dispose(object);
}

static void fz_model_finalize(GObject *object) {
        FzModel *self = FZ_MODEL(object);

        g_clear_object(&self->cancellable);
        g_clear_object(&self->resources);
        g_clear_error(&self->client_error);
        g_free(self->internet_property);
        g_free(self->identity);
        g_free(self->last_error);
        g_strfreev(self->favorites);
        g_free(self->notice);
        g_free(self->keyring_problem);
        G_OBJECT_CLASS(fz_model_parent_class)->finalize(object);
}

static void fz_model_class_init(FzModelClass *klass) {
        GObjectClass *object_class = G_OBJECT_CLASS(klass);
        const GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

        object_class->get_property = fz_model_get_property;
        object_class->dispose = fz_model_dispose;
        object_class->finalize = fz_model_finalize;

        props[PROP_CLIENT] = g_param_spec_object("client", NULL, NULL, FZ_TYPE_CLIENT, ro);
        /* FzPhase is a plain enum of the GUI's (no GType needed): an int. */
        props[PROP_PHASE] = g_param_spec_int("phase", NULL, NULL, 0, G_MAXINT, FZ_PHASE_STARTING, ro);
        props[PROP_MANAGED] = g_param_spec_boolean("managed", NULL, NULL, FALSE, ro);
        props[PROP_IDENTITY] = g_param_spec_string("identity", NULL, NULL, "", ro);
        props[PROP_LAST_ERROR] = g_param_spec_string("last-error", NULL, NULL, "", ro);
        props[PROP_REQUIRES_SIGN_IN] = g_param_spec_boolean("requires-sign-in", NULL, NULL, FALSE, ro);
        props[PROP_CAN_SIGN_IN] = g_param_spec_boolean("can-sign-in", NULL, NULL, FALSE, ro);
        props[PROP_CAN_SIGN_OUT] = g_param_spec_boolean("can-sign-out", NULL, NULL, FALSE, ro);
        props[PROP_SIGN_IN_NEEDS_ADMIN] = g_param_spec_boolean("sign-in-needs-admin", NULL, NULL, FALSE, ro);
        props[PROP_INTERNET_RESOURCE_SUPPORTED] =
                g_param_spec_boolean("internet-resource-supported", NULL, NULL, FALSE, ro);
        props[PROP_INTERNET_RESOURCE_ENABLED] =
                g_param_spec_boolean("internet-resource-enabled", NULL, NULL, FALSE, ro);
        props[PROP_FAVORITES] = g_param_spec_boxed("favorites", NULL, NULL, G_TYPE_STRV, ro);
        props[PROP_NOTICE] = g_param_spec_string("notice", NULL, NULL, NULL, ro);
        props[PROP_KEYRING_PROBLEM] = g_param_spec_string("keyring-problem", NULL, NULL, NULL, ro);
        props[PROP_BUSY] = g_param_spec_boolean("busy", NULL, NULL, FALSE, ro);
        g_object_class_install_properties(object_class, N_PROPS, props);

        /**
         * FzModel::transition:
         * @old: (type gint): the phase before
         * @phase: (type gint): the phase now
         * @reason: (nullable): the daemon's reason, if the daemon's state changed
         *
         * The phase changed (after notify::phase).
         */
        signals[SIGNAL_TRANSITION] =
                g_signal_new("transition", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                             G_TYPE_NONE, 3, G_TYPE_INT, G_TYPE_INT, G_TYPE_STRING);
        /**
         * FzModel::resource-status-changed:
         * @resource: the resource, as it is now
         * @old: (type gint): its status before
         */
        signals[SIGNAL_RESOURCE_STATUS_CHANGED] =
                g_signal_new("resource-status-changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
                             NULL, NULL, G_TYPE_NONE, 2, FZ_TYPE_RESOURCE, G_TYPE_INT);
}

static void fz_model_init(FzModel *self) {
        self->cancellable = g_cancellable_new();
        self->resources = g_list_store_new(FZ_TYPE_RESOURCE);
        self->phase = FZ_PHASE_STARTING;
        self->transition_phase = FZ_PHASE_STARTING;
        self->identity = g_strdup("");
        self->last_error = g_strdup("");
}
