/* SPDX-License-Identifier: Apache-2.0 */
#include "fz-app.h"

#include <grp.h>
#include <polkit/polkit.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fz-autostart.h"
#include "fz-keyring.h"
#include "fz-notify.h"
#include "fz-preferences.h"
#include "fz-sign-in.h"
#include "fz-tray-menu.h"
#include "fz-tray.h"
#include "fz-window.h"

#define SIGN_IN_ACTION_ID "dev.firezone.client1.sign-in"
/* How long the sign-in waits for the keyring before it goes on without it (the keyring
 * may be showing an unlock prompt, or hang): a sign-in never gets stuck on it. */
#define KEYRING_GRACE_MS 3000
/* Reading the keyring at start-up may take a password prompt; give up after this. */
#define KEYRING_LOOKUP_TIMEOUT_S 60

typedef enum {
        ACCESS_UNKNOWN,
        ACCESS_OK,
        ACCESS_DENIED,
} Access;

struct _FzApp {
        GtkApplication parent_instance;

        GSettings *settings;
        GCancellable *cancellable;

        FzClient *client;
        GError *client_error;
        Access access;
        gboolean status_read;
        FzClientState last_state;
        gboolean requires_sign_in_handled;
        gboolean auto_connect_done;

        FzSignInRequest *sign_in;
        /* Tokens on their way: keyring, then SignIn. */
        guint jobs;
        guint busy;

        gchar *banner;
        FzBannerKind banner_kind;
        guint banner_timeout_id;
        gchar *keyring_problem;

        PolkitPermission *permission;
        /* The process's groups never change: checked once at start. */
        gboolean lacks_group;
        gboolean group_relogin;

        FzTray *tray;
        FzTrayMenu *tray_menu;
        gboolean hold_for_tray;
        gboolean start_hidden;
        gboolean wants_window;

        FzWindow *window;
        FzPage last_page;
};

enum { SIGNAL_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE(FzApp, fz_app, GTK_TYPE_APPLICATION)

static void refresh_status(FzApp *self);
static void update(FzApp *self);

/* ---- model ------------------------------------------------------------------------------ */

const gchar *fz_app_page_to_string(FzPage page) {
        static const gchar *const names[] = {
                [FZ_PAGE_STARTING] = "starting",         [FZ_PAGE_NO_DAEMON] = "no-daemon",
                [FZ_PAGE_NOT_IN_GROUP] = "not-in-group", [FZ_PAGE_SIGNED_OUT] = "signed-out",
                [FZ_PAGE_SIGNING_IN] = "signing-in",     [FZ_PAGE_SESSION] = "session",
        };
        return page < G_N_ELEMENTS(names) ? names[page] : "?";
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

FzPage fz_app_get_page(FzApp *self) {
        FzClientState state;

        if (self->client_error != NULL)
                return FZ_PAGE_NO_DAEMON;
        if (self->access == ACCESS_DENIED)
                return FZ_PAGE_NOT_IN_GROUP;
        if (self->lacks_group)
                return FZ_PAGE_NOT_IN_GROUP;
        if (self->client == NULL)
                return FZ_PAGE_STARTING;
        if (!fz_client_get_daemon_running(self->client))
                return FZ_PAGE_NO_DAEMON;
        if (!self->status_read)
                return FZ_PAGE_STARTING;
        if (fz_client_get_mode(self->client) == FZ_CLIENT_MODE_SERVICE_ACCOUNT)
                return FZ_PAGE_SESSION;
        state = fz_client_get_state(self->client);
        if (state == FZ_CLIENT_STATE_CONNECTING || state == FZ_CLIENT_STATE_CONNECTED ||
            state == FZ_CLIENT_STATE_RECONNECTING)
                return FZ_PAGE_SESSION;
        return self->sign_in != NULL || self->jobs > 0 ? FZ_PAGE_SIGNING_IN : FZ_PAGE_SIGNED_OUT;
}

FzClient *fz_app_get_client(FzApp *self) {
        return self->client;
}

GSettings *fz_app_get_settings(FzApp *self) {
        return self->settings;
}

const gchar *fz_app_get_banner(FzApp *self, FzBannerKind *ret_kind) {
        *ret_kind = self->banner != NULL ? self->banner_kind : FZ_BANNER_NONE;
        return self->banner;
}

const gchar *fz_app_get_keyring_problem(FzApp *self) {
        return self->keyring_problem;
}

gboolean fz_app_get_sign_in_needs_admin(FzApp *self) {
        return self->permission != NULL && !g_permission_get_allowed(G_PERMISSION(self->permission));
}

gboolean fz_app_get_group_needs_relogin(FzApp *self) {
        return self->group_relogin;
}

const gchar *fz_app_get_no_daemon_detail(FzApp *self) {
        return self->client_error != NULL ? self->client_error->message : NULL;
}

gboolean fz_app_get_tray_available(FzApp *self) {
        return self->tray != NULL && fz_tray_get_available(self->tray);
}

static gboolean banner_expired(gpointer user_data) {
        FzApp *self = user_data;

        self->banner_timeout_id = 0;
        fz_app_dismiss_banner(self);
        return G_SOURCE_REMOVE;
}

static void set_banner(FzApp *self, FzBannerKind kind, const gchar *text) {
        g_clear_handle_id(&self->banner_timeout_id, g_source_remove);
        g_free(self->banner);
        self->banner = g_strdup(text);
        self->banner_kind = kind;
        if (kind == FZ_BANNER_INFO)
                self->banner_timeout_id = g_timeout_add_seconds(4, banner_expired, self);
        if (kind == FZ_BANNER_ERROR)
                g_info("Error shown: %s", text);
        update(self);
}

void fz_app_dismiss_banner(FzApp *self) {
        g_clear_handle_id(&self->banner_timeout_id, g_source_remove);
        if (self->banner == NULL)
                return;
        g_clear_pointer(&self->banner, g_free);
        update(self);
}

static void show_error(FzApp *self, const gchar *summary, const gchar *message) {
        set_banner(self, FZ_BANNER_ERROR, message);
        fz_notify_show(FZ_NOTIFY_ERROR, summary, message);
}

static void set_keyring_problem(FzApp *self, const GError *error) {
        g_free(self->keyring_problem);
        self->keyring_problem = NULL;
        if (error != NULL) {
                g_info("Keyring unavailable: %s", error->message);
                self->keyring_problem = g_strdup(
                        "Your keyring is locked or not available, so Firezone cannot remember your sign-in. "
                        "You "
                        "stay signed in until you sign out or the computer restarts; then sign in again.");
        }
        update(self);
}

/* ---- views: window title, tray icon and menu -------------------------------------------- */

static const gchar *state_text(FzApp *self) {
        switch (fz_app_get_page(self)) {
        case FZ_PAGE_STARTING:
                return "Starting…";
        case FZ_PAGE_NO_DAEMON:
                return "Firezone service not running";
        case FZ_PAGE_NOT_IN_GROUP:
                return "Not allowed to use Firezone";
        case FZ_PAGE_SIGNING_IN:
                return "Signing in…";
        case FZ_PAGE_SIGNED_OUT:
        case FZ_PAGE_SESSION:
        default:
                break;
        }
        switch (fz_client_get_state(self->client)) {
        case FZ_CLIENT_STATE_CONNECTED:
                return "Connected";
        case FZ_CLIENT_STATE_CONNECTING:
                return "Connecting…";
        case FZ_CLIENT_STATE_RECONNECTING:
                return "Reconnecting…";
        case FZ_CLIENT_STATE_SIGNED_OUT:
                return "Signed out";
        case FZ_CLIENT_STATE_UNKNOWN:
        default:
                return "Unknown";
        }
}

static void update_tray(FzApp *self) {
        FzTrayMenuState st = {};
        g_autofree gchar *signed_in_as = NULL;
        FzPage page = fz_app_get_page(self);
        const gchar *icon = "dev.firezone.Client-disconnected-symbolic";
        gboolean managed = FALSE;

        if (self->tray == NULL)
                return;
        st.status = state_text(self);
        if (self->client != NULL && page == FZ_PAGE_SESSION) {
                const gchar *actor = fz_client_get_actor_name(self->client);
                const gchar *slug = fz_client_get_account_slug(self->client);

                managed = fz_client_get_mode(self->client) == FZ_CLIENT_MODE_SERVICE_ACCOUNT;
                if (managed)
                        signed_in_as = g_strdup("Managed by your organization");
                else if (*actor != '\0' && *slug != '\0')
                        signed_in_as = g_strdup_printf("Signed in as %s (%s)", actor, slug);
                else if (*actor != '\0' || *slug != '\0')
                        signed_in_as = g_strdup_printf("Signed in as %s", *actor ? actor : slug);
                else
                        signed_in_as = g_strdup("Signed in");
                st.signed_in_as = signed_in_as;
                st.can_sign_out = !managed;
                st.resources = fz_client_get_resources(self->client);
                switch (fz_client_get_state(self->client)) {
                case FZ_CLIENT_STATE_CONNECTED:
                        icon = "dev.firezone.Client-connected-symbolic";
                        break;
                case FZ_CLIENT_STATE_CONNECTING:
                case FZ_CLIENT_STATE_RECONNECTING:
                        icon = "dev.firezone.Client-busy-symbolic";
                        break;
                default:
                        break;
                }
        }
        st.can_sign_in = page == FZ_PAGE_SIGNED_OUT || page == FZ_PAGE_SIGNING_IN;
        fz_tray_menu_update(self->tray_menu, &st);
        fz_tray_set_status(self->tray, icon, "Firezone", st.status);
}

static void update_actions(FzApp *self) {
        FzPage page = fz_app_get_page(self);
        gboolean managed =
                self->client != NULL && fz_client_get_mode(self->client) == FZ_CLIENT_MODE_SERVICE_ACCOUNT;
        GAction *a;

        a = g_action_map_lookup_action(G_ACTION_MAP(self), "sign-in");
        g_simple_action_set_enabled(G_SIMPLE_ACTION(a),
                                    (page == FZ_PAGE_SIGNED_OUT || page == FZ_PAGE_SIGNING_IN) &&
                                            self->busy == 0);
        a = g_action_map_lookup_action(G_ACTION_MAP(self), "sign-out");
        g_simple_action_set_enabled(G_SIMPLE_ACTION(a),
                                    page == FZ_PAGE_SESSION && !managed && self->busy == 0);
        a = g_action_map_lookup_action(G_ACTION_MAP(self), "cancel-sign-in");
        g_simple_action_set_enabled(G_SIMPLE_ACTION(a), self->sign_in != NULL);
}

static void update(FzApp *self) {
        FzPage page = fz_app_get_page(self);

        if (page != self->last_page) {
                g_info("Page: %s", fz_app_page_to_string(page));
                self->last_page = page;
        }
        update_actions(self);
        update_tray(self);
        g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
}

/* ---- the window ------------------------------------------------------------------------- */

static void window_present(FzApp *self) {
        if (self->window == NULL) {
                self->window = fz_window_new(self);
                g_object_add_weak_pointer(G_OBJECT(self->window), (gpointer *)&self->window);
        }
        gtk_window_set_hide_on_close(GTK_WINDOW(self->window), fz_app_get_tray_available(self));
        gtk_window_present(GTK_WINDOW(self->window));
}

static void tray_changed(FzApp *self) {
        gboolean available = fz_app_get_tray_available(self);

        /* With a tray the app lives on when the window closes; without one the window is
         * the interface, so closing it quits. */
        if (available && !self->hold_for_tray) {
                g_application_hold(G_APPLICATION(self));
                self->hold_for_tray = TRUE;
        } else if (!available && self->hold_for_tray) {
                self->hold_for_tray = FALSE;
                /* The tray went away with the window hidden: show it again, or the user
                 * would have no way back. */
                if (self->window != NULL && !gtk_widget_get_visible(GTK_WIDGET(self->window)))
                        window_present(self);
                g_application_release(G_APPLICATION(self));
        }
        if (self->window != NULL)
                gtk_window_set_hide_on_close(GTK_WINDOW(self->window), available);
        if (fz_tray_get_settled(self->tray) && self->wants_window) {
                self->wants_window = FALSE;
                if (!(self->start_hidden && available))
                        window_present(self);
                else
                        g_info("Started minimized to the tray");
                /* Only the first activation may start hidden; later ones come from the user. */
                self->start_hidden = FALSE;
                /* Held while waiting (see show_window_when_ready). */
                g_application_release(G_APPLICATION(self));
        }
        update(self);
}

static void on_tray_notify(GObject *tray, GParamSpec *pspec, gpointer user_data) {
        tray_changed(FZ_APP(user_data));
}

static void on_tray_activate(FzTray *tray, gpointer user_data) {
        window_present(FZ_APP(user_data));
}

/* ---- keyring and requires-sign-in ------------------------------------------------------- */

static void cleared_for_requires_sign_in(GObject *source, GAsyncResult *res, gpointer user_data) {
        g_autoptr(FzApp) self = user_data;
        g_autoptr(GError) error = NULL;

        if (!fz_keyring_clear_finish(res, &error))
                set_keyring_problem(self, error);
        else
                g_info("Deleted the stored token: the daemon requires a new sign-in");
}

static void handle_requires_sign_in(FzApp *self) {
        gboolean requires = self->client != NULL && fz_client_get_requires_sign_in(self->client);

        if (!requires) {
                self->requires_sign_in_handled = FALSE;
                return;
        }
        if (self->requires_sign_in_handled)
                return;
        self->requires_sign_in_handled = TRUE;
        /* The daemon no longer accepts the token: never send it again. */
        self->auto_connect_done = TRUE;
        fz_keyring_clear_async(self->cancellable, cleared_for_requires_sign_in, g_object_ref(self));
        fz_notify_show(FZ_NOTIFY_SIGN_IN, "Sign in to Firezone again",
                       "Your Firezone session has ended. Sign in again to reach your resources.");
        set_banner(self, FZ_BANNER_WARNING,
                   "Your Firezone session has ended. Sign in again to reach your resources.");
}

/* ---- signing in with a token (from the browser or the keyring) -------------------------- */

/* One token on its way: the keyring first (DESIGN §4: stored, then sent), but the send
 * never waits for the keyring longer than KEYRING_GRACE_MS. Reference-counted: the pending
 * send and the keyring store each hold one. */
typedef struct {
        gint refs;
        FzApp *app;
        gchar *token;
        gchar *account_slug;
        gchar *actor_name;
        gboolean from_keyring;
        gboolean sent;
        guint grace_id;
} SignInJob;

static SignInJob *sign_in_job_new(FzApp *self, gchar *token, const gchar *account_slug,
                                  const gchar *actor_name) {
        SignInJob *job = g_new0(SignInJob, 1);

        job->refs = 1;
        job->app = g_object_ref(self);
        job->token = token;
        job->account_slug = g_strdup(account_slug);
        job->actor_name = g_strdup(actor_name);
        self->jobs++;
        return job;
}

static SignInJob *sign_in_job_ref(SignInJob *job) {
        job->refs++;
        return job;
}

static void sign_in_job_unref(SignInJob *job) {
        if (--job->refs > 0)
                return;
        fz_sign_in_token_free(job->token);
        g_free(job->account_slug);
        g_free(job->actor_name);
        g_clear_handle_id(&job->grace_id, g_source_remove);
        g_object_unref(job->app);
        g_free(job);
}

/* The send is over (done, refused or impossible): drops the pending send's reference. */
static void sign_in_job_done(SignInJob *job) {
        FzApp *self = job->app;

        self->jobs--;
        sign_in_job_unref(job);
        update(self);
}

static void invalid_token_cleared(GObject *source, GAsyncResult *res, gpointer user_data) {
        g_autoptr(FzApp) self = user_data;
        g_autoptr(GError) error = NULL;

        if (!fz_keyring_clear_finish(res, &error))
                g_info("Could not delete the refused token from the keyring: %s", error->message);
}

static void signed_in(GObject *source, GAsyncResult *res, gpointer user_data) {
        SignInJob *job = user_data;
        FzApp *self = job->app;
        g_autoptr(GError) error = NULL;

        self->busy--;
        if (fz_client_sign_in_finish(FZ_CLIENT(source), res, &error)) {
                g_info("The daemon accepted the sign-in");
        } else if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
                g_info("Sign-in refused: %s", error->message);
                if (g_error_matches(error, FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_INVALID_TOKEN))
                        fz_keyring_clear_async(NULL, invalid_token_cleared, g_object_ref(self));
                if (g_error_matches(error, FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_PERMISSION_DENIED) &&
                    self->access != ACCESS_OK)
                        self->access = ACCESS_DENIED;
                if (!job->from_keyring)
                        show_error(self, "Could not sign in to Firezone", error->message);
        }
        sign_in_job_done(job);
}

static void job_send(SignInJob *job) {
        FzApp *self = job->app;

        if (job->sent)
                return;
        job->sent = TRUE;
        g_clear_handle_id(&job->grace_id, g_source_remove);
        if (self->client == NULL) {
                show_error(self, "Could not sign in to Firezone",
                           "The Firezone service is not reachable. Start it, then sign in again.");
                sign_in_job_done(job);
                return;
        }
        g_info("Sending the token to the daemon (account %s)", job->account_slug);
        self->busy++;
        fz_client_sign_in_async(self->client, job->token, job->account_slug, job->actor_name, NULL,
                                self->cancellable, signed_in, job);
        /* The library has its own copy now. */
        g_clear_pointer(&job->token, fz_sign_in_token_free);
        update(self);
}

static void token_stored(GObject *source, GAsyncResult *res, gpointer user_data) {
        SignInJob *job = user_data;
        FzApp *self = job->app;
        g_autoptr(GError) error = NULL;

        if (!fz_keyring_store_finish(res, &error)) {
                if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                        set_keyring_problem(self, error);
        } else {
                g_info("Stored the token in the keyring");
                set_keyring_problem(self, NULL);
        }
        job_send(job);
        sign_in_job_unref(job);
}

static gboolean keyring_grace_over(gpointer user_data) {
        SignInJob *job = user_data;

        job->grace_id = 0;
        g_info("The keyring did not answer in time; signing in without waiting for it");
        job_send(job);
        return G_SOURCE_REMOVE;
}

static void sign_in_with_new_token(FzApp *self, gchar *token, const gchar *account_slug,
                                   const gchar *actor_name) {
        SignInJob *job = sign_in_job_new(self, token, account_slug, actor_name);

        job->grace_id = g_timeout_add(KEYRING_GRACE_MS, keyring_grace_over, job);
        fz_keyring_store_async(token, account_slug, actor_name, self->cancellable, token_stored,
                               sign_in_job_ref(job));
}

static void stored_token_found(GObject *source, GAsyncResult *res, gpointer user_data) {
        g_autoptr(FzApp) self = user_data;
        g_autoptr(GError) error = NULL;
        g_autoptr(FzStoredToken) stored = fz_keyring_lookup_finish(res, &error);
        SignInJob *job;

        if (error != NULL) {
                if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                        set_keyring_problem(self, error);
                return;
        }
        if (stored == NULL) {
                g_info("No stored token; waiting for the user to sign in");
                return;
        }
        if (self->client == NULL || fz_client_get_state(self->client) != FZ_CLIENT_STATE_SIGNED_OUT ||
            fz_client_get_mode(self->client) != FZ_CLIENT_MODE_INTERACTIVE || self->sign_in != NULL) {
                g_info("Not using the stored token: the state changed meanwhile");
                return;
        }
        g_info("Signing in with the stored token");
        job = sign_in_job_new(self, g_steal_pointer(&stored->token), stored->account_slug,
                              stored->actor_name);
        job->from_keyring = TRUE;
        job_send(job);
}

static gboolean cancel_once(gpointer cancellable) {
        g_cancellable_cancel(cancellable);
        return G_SOURCE_REMOVE;
}

static void maybe_auto_connect(FzApp *self) {
        g_autoptr(GCancellable) timeout = NULL;

        if (self->auto_connect_done || self->access != ACCESS_OK || self->client == NULL)
                return;
        if (fz_client_get_mode(self->client) != FZ_CLIENT_MODE_INTERACTIVE)
                return;
        self->auto_connect_done = TRUE;
        if (!g_settings_get_boolean(self->settings, "connect-on-start")) {
                g_info("Not connecting on start (setting)");
                return;
        }
        if (fz_client_get_state(self->client) != FZ_CLIENT_STATE_SIGNED_OUT ||
            fz_client_get_requires_sign_in(self->client))
                return;
        timeout = g_cancellable_new();
        g_timeout_add_seconds_full(G_PRIORITY_DEFAULT, KEYRING_LOOKUP_TIMEOUT_S, cancel_once,
                                   g_object_ref(timeout), g_object_unref);
        fz_keyring_lookup_async(timeout, stored_token_found, g_object_ref(self));
}

/* ---- the daemon's state ----------------------------------------------------------------- */

static const gchar *reason_text(const gchar *reason) {
        if (g_strcmp0(reason, "sign-out") == 0)
                return "You signed out.";
        if (g_strcmp0(reason, "token-expired") == 0)
                return "Your session expired. Sign in again.";
        if (g_strcmp0(reason, "portal-disconnected") == 0)
                return "The connection to Firezone was lost.";
        if (g_strcmp0(reason, "daemon-stopped") == 0)
                return "The Firezone service stopped.";
        return NULL;
}

static void notify_transition(FzApp *self, FzClientState old, FzClientState state, const gchar *reason) {
        const gchar *last_error = fz_client_get_last_error(self->client);

        if (state == FZ_CLIENT_STATE_CONNECTED && old != FZ_CLIENT_STATE_CONNECTED) {
                const gchar *actor = fz_client_get_actor_name(self->client);
                g_autofree gchar *body =
                        *actor != '\0'
                                ? g_strdup_printf("Signed in as %s. Your resources are reachable.", actor)
                                : g_strdup("Your resources are reachable.");
                fz_notify_show(FZ_NOTIFY_STATUS, "Connected to Firezone", body);
        } else if ((state == FZ_CLIENT_STATE_SIGNED_OUT || state == FZ_CLIENT_STATE_UNKNOWN) &&
                   (old == FZ_CLIENT_STATE_CONNECTED || old == FZ_CLIENT_STATE_RECONNECTING ||
                    old == FZ_CLIENT_STATE_CONNECTING)) {
                const gchar *why = reason_text(reason);
                g_autofree gchar *body = NULL;

                if (why == NULL && *last_error != '\0')
                        why = last_error;
                else if (why != NULL && *last_error != '\0' && g_strcmp0(reason, "sign-out") != 0)
                        why = body = g_strdup_printf("%s %s", why, last_error);
                fz_notify_show(FZ_NOTIFY_STATUS, "Disconnected from Firezone",
                               why != NULL ? why : "The tunnel is down.");
        }
}

static void on_state_changed(FzClient *client, FzClientState state, const gchar *reason,
                             gpointer user_data) {
        FzApp *self = user_data;
        FzClientState old = self->last_state;

        g_info("Daemon state: %s (%s)", fz_client_state_to_string(state), reason);
        self->last_state = state;
        if (self->status_read)
                notify_transition(self, old, state, reason);
        if (state != FZ_CLIENT_STATE_SIGNED_OUT && state != FZ_CLIENT_STATE_UNKNOWN && self->sign_in != NULL)
                /* Signed in some other way (firezonectl): the browser sign-in is moot. */
                g_clear_pointer(&self->sign_in, fz_sign_in_request_free);
        handle_requires_sign_in(self);
        update(self);
}

static void on_client_notify(GObject *client, GParamSpec *pspec, gpointer user_data) {
        FzApp *self = user_data;

        if (g_str_equal(pspec->name, "daemon-running")) {
                if (fz_client_get_daemon_running(self->client)) {
                        g_info("The Firezone service is running");
                        refresh_status(self);
                } else {
                        g_info("The Firezone service is not running");
                        self->status_read = FALSE;
                        self->access = ACCESS_UNKNOWN;
                        self->auto_connect_done = FALSE;
                }
        }
        update(self);
}

static void on_resources_changed(FzClient *client, GPtrArray *resources, gpointer user_data) {
        g_info("Resources: %u", resources != NULL ? resources->len : 0);
        update(FZ_APP(user_data));
}

static void status_read(GObject *source, GAsyncResult *res, gpointer user_data) {
        g_autoptr(FzApp) self = user_data;
        g_autoptr(GError) error = NULL;
        g_autoptr(FzClientStatus) status = fz_client_get_status_finish(FZ_CLIENT(source), res, &error);

        if (status == NULL) {
                if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                        return;
                g_info("Could not read the daemon's status: %s", error->message);
                if (g_error_matches(error, FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_PERMISSION_DENIED))
                        self->access = ACCESS_DENIED;
                else if (!g_error_matches(error, FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_DAEMON_NOT_RUNNING))
                        set_banner(self, FZ_BANNER_ERROR, error->message);
                update(self);
                return;
        }
        self->access = ACCESS_OK;
        self->status_read = TRUE;
        self->last_state = fz_client_get_state(self->client);
        g_info("Daemon state at start: %s, mode %s", fz_client_state_to_string(self->last_state),
               fz_client_mode_to_string(fz_client_get_mode(self->client)));
        handle_requires_sign_in(self);
        maybe_auto_connect(self);
        update(self);
}

static void refresh_status(FzApp *self) {
        if (self->client == NULL || !fz_client_get_daemon_running(self->client))
                return;
        fz_client_get_status_async(self->client, self->cancellable, status_read, g_object_ref(self));
}

static void client_ready(GObject *source, GAsyncResult *res, gpointer user_data) {
        g_autoptr(FzApp) self = user_data;
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
        if (fz_client_get_daemon_running(client))
                refresh_status(self);
        update(self);
}

static void permission_ready(GObject *source, GAsyncResult *res, gpointer user_data) {
        g_autoptr(FzApp) self = user_data;
        g_autoptr(GError) error = NULL;
        GPermission *permission = polkit_permission_new_finish(res, &error);

        if (permission == NULL) {
                g_info("Cannot ask polkit about signing in: %s", error->message);
                return;
        }
        self->permission = POLKIT_PERMISSION(permission);
        g_info("Signing in %s an administrator",
               g_permission_get_allowed(permission) ? "does not need" : "needs");
        g_signal_connect_swapped(permission, "notify::allowed", G_CALLBACK(update), self);
        update(self);
}

/* ---- browser sign-in -------------------------------------------------------------------- */

static void browser_opened(GObject *source, GAsyncResult *res, gpointer user_data) {
        g_autoptr(FzApp) self = user_data;
        g_autoptr(GError) error = NULL;

        if (!g_app_info_launch_default_for_uri_finish(res, &error)) {
                g_info("Could not open the browser: %s", error->message);
                g_clear_pointer(&self->sign_in, fz_sign_in_request_free);
                show_error(
                        self, "Could not open the browser",
                        "Firezone could not open your web browser to sign in. Set a default web browser in "
                        "your desktop's settings, then click Sign In again.");
                return;
        }
        g_info("Opened the sign-in page in the browser");
}

static void action_sign_in(GSimpleAction *action, GVariant *param, gpointer user_data) {
        FzApp *self = user_data;
        g_autoptr(GError) error = NULL;
        g_autoptr(FzSignInRequest) req = fz_sign_in_request_new(&error);
        g_autofree gchar *slug = g_settings_get_string(self->settings, "account-slug");
        g_autofree gchar *auth_url = g_settings_get_string(self->settings, "auth-url");
        g_autofree gchar *url = NULL;

        if (req == NULL) {
                show_error(self, "Could not sign in to Firezone", error->message);
                return;
        }
        url = fz_sign_in_build_url(auth_url, slug, req, &error);
        if (url == NULL) {
                show_error(self, "Could not sign in to Firezone", error->message);
                return;
        }
        fz_app_dismiss_banner(self);
        /* A new attempt replaces an older one: its link is no longer accepted. */
        fz_sign_in_request_free(self->sign_in);
        self->sign_in = g_steal_pointer(&req);
        g_info("Starting browser sign-in (account “%s”)", slug);
        g_app_info_launch_default_for_uri_async(url, NULL, self->cancellable, browser_opened,
                                                g_object_ref(self));
        /* The URL carries the nonce, half of the token. */
        explicit_bzero(url, strlen(url));
        update(self);
}

static void action_cancel_sign_in(GSimpleAction *action, GVariant *param, gpointer user_data) {
        FzApp *self = user_data;

        g_clear_pointer(&self->sign_in, fz_sign_in_request_free);
        g_info("Sign-in cancelled");
        update(self);
}

static void handle_callback(FzApp *self, const gchar *uri) {
        g_autoptr(GError) error = NULL;
        FzSignInCallback cb;

        if (!fz_sign_in_callback_parse(uri, &cb, &error)) {
                g_info("Rejected a sign-in link: %s", error->message);
                show_error(self, "Sign-in failed", error->message);
                return;
        }
        if (!fz_sign_in_callback_check(self->sign_in, &cb, &error)) {
                g_info("Rejected a sign-in link: wrong state");
                show_error(self, "Sign-in failed", error->message);
                fz_sign_in_callback_clear(&cb);
                return;
        }
        g_info("Accepted the sign-in link for account “%s”", cb.account_slug);
        fz_app_dismiss_banner(self);
        /* One link, one use. */
        sign_in_with_new_token(self, fz_sign_in_make_token(self->sign_in, &cb), cb.account_slug,
                               cb.actor_name);
        g_clear_pointer(&self->sign_in, fz_sign_in_request_free);
        fz_sign_in_callback_clear(&cb);
        self->auto_connect_done = TRUE;
        update(self);
}

/* ---- other actions ---------------------------------------------------------------------- */

static void signed_out_cleared(GObject *source, GAsyncResult *res, gpointer user_data) {
        g_autoptr(FzApp) self = user_data;
        g_autoptr(GError) error = NULL;

        if (!fz_keyring_clear_finish(res, &error))
                set_keyring_problem(self, error);
        else
                g_info("Deleted the stored token (signed out)");
}

static void signed_out(GObject *source, GAsyncResult *res, gpointer user_data) {
        g_autoptr(FzApp) self = user_data;
        g_autoptr(GError) error = NULL;

        self->busy--;
        if (!fz_client_sign_out_finish(FZ_CLIENT(source), res, &error) &&
            !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                show_error(self, "Could not sign out of Firezone", error->message);
        update(self);
}

static void action_sign_out(GSimpleAction *action, GVariant *param, gpointer user_data) {
        FzApp *self = user_data;

        if (self->client == NULL)
                return;
        self->busy++;
        /* Signing out means "forget me" on this computer, too. */
        fz_keyring_clear_async(self->cancellable, signed_out_cleared, g_object_ref(self));
        fz_client_sign_out_async(self->client, self->cancellable, signed_out, g_object_ref(self));
        update(self);
}

static void action_show_window(GSimpleAction *action, GVariant *param, gpointer user_data) {
        window_present(FZ_APP(user_data));
}

static gboolean quit_now(gpointer user_data) {
        FzApp *self = user_data;

        if (self->window != NULL)
                gtk_window_destroy(GTK_WINDOW(self->window));
        g_application_quit(G_APPLICATION(self));
        return G_SOURCE_REMOVE;
}

static void action_quit(GSimpleAction *action, GVariant *param, gpointer user_data) {
        /* From an idle callback, so that the tray's menu event (or the D-Bus action call)
         * that asked for it still gets its reply. */
        g_idle_add_full(G_PRIORITY_LOW, quit_now, g_object_ref(user_data), g_object_unref);
}

static void action_copy_address(GSimpleAction *action, GVariant *param, gpointer user_data) {
        FzApp *self = user_data;
        const gchar *address = g_variant_get_string(param, NULL);
        g_autofree gchar *msg = g_strdup_printf("Copied “%s” to the clipboard.", address);

        gdk_clipboard_set_text(gdk_display_get_clipboard(gdk_display_get_default()), address);
        set_banner(self, FZ_BANNER_INFO, msg);
}

static void action_dismiss_banner(GSimpleAction *action, GVariant *param, gpointer user_data) {
        fz_app_dismiss_banner(FZ_APP(user_data));
}

static void action_preferences(GSimpleAction *action, GVariant *param, gpointer user_data) {
        FzApp *self = user_data;

        window_present(self);
        fz_preferences_show(GTK_WINDOW(self->window), self->settings);
}

static void action_about(GSimpleAction *action, GVariant *param, gpointer user_data) {
        FzApp *self = user_data;
        const gchar *daemon_version = self->client != NULL ? fz_client_get_daemon_version(self->client) : "";
        g_autofree gchar *comments = g_strdup_printf(
                "Reach your organization’s resources over Firezone’s zero-trust network.%s%s",
                *daemon_version ? "\nFirezone service " : "", daemon_version);

        window_present(self);
        gtk_show_about_dialog(GTK_WINDOW(self->window), "program-name", "Firezone", "logo-icon-name",
                              FZ_APP_ID, "version", FZ_VERSION, "comments", comments, "website",
                              "https://www.firezone.dev/", "license-type", GTK_LICENSE_APACHE_2_0, NULL);
}

static const GActionEntry app_actions[] = {
        {"sign-in", action_sign_in, NULL, NULL, NULL, {0}},
        {"cancel-sign-in", action_cancel_sign_in, NULL, NULL, NULL, {0}},
        {"sign-out", action_sign_out, NULL, NULL, NULL, {0}},
        {"show-window", action_show_window, NULL, NULL, NULL, {0}},
        {"quit", action_quit, NULL, NULL, NULL, {0}},
        {"copy-address", action_copy_address, "s", NULL, NULL, {0}},
        {"dismiss-banner", action_dismiss_banner, NULL, NULL, NULL, {0}},
        {"preferences", action_preferences, NULL, NULL, NULL, {0}},
        {"about", action_about, NULL, NULL, NULL, {0}},
};

/* ---- GApplication ----------------------------------------------------------------------- */

static void fz_app_startup(GApplication *app) {
        FzApp *self = FZ_APP(app);
        GDBusConnection *session = g_application_get_dbus_connection(app);
        g_autoptr(GtkCssProvider) css = gtk_css_provider_new();
        const gchar *quit_accels[] = {"<Control>q", NULL};

        G_APPLICATION_CLASS(fz_app_parent_class)->startup(app);

        gtk_css_provider_load_from_resource(css, FZ_APP_RESOURCE_PATH "/style.css");
        gtk_style_context_add_provider_for_display(gdk_display_get_default(), GTK_STYLE_PROVIDER(css),
                                                   GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
        gtk_window_set_default_icon_name(FZ_APP_ID);
        g_action_map_add_action_entries(G_ACTION_MAP(self), app_actions, G_N_ELEMENTS(app_actions), self);
        gtk_application_set_accels_for_action(GTK_APPLICATION(self), "app.quit", quit_accels);

        self->lacks_group = process_lacks_group(&self->group_relogin);
        if (self->lacks_group)
                g_info("This process is not in group firezone%s",
                       self->group_relogin ? " (but /etc/group lists the user)" : "");
        self->settings = g_settings_new(FZ_APP_ID);
        if (g_settings_get_boolean(self->settings, "start-minimized"))
                self->start_hidden = TRUE;
        fz_notify_init(FZ_APP_ID);

        if (session != NULL) {
                self->tray_menu = fz_tray_menu_new(G_ACTION_GROUP(self));
                self->tray = fz_tray_new(session, FZ_TRAY_MENU_PATH);
                g_signal_connect(self->tray, "notify::available", G_CALLBACK(on_tray_notify), self);
                g_signal_connect(self->tray, "notify::settled", G_CALLBACK(on_tray_notify), self);
                g_signal_connect(self->tray, "activate", G_CALLBACK(on_tray_activate), self);
        }

        fz_client_new_async(self->cancellable, client_ready, g_object_ref(self));
        polkit_permission_new(SIGN_IN_ACTION_ID, NULL, self->cancellable, permission_ready,
                              g_object_ref(self));
        update(self);
}

static void show_window_when_ready(FzApp *self) {
        if (self->window != NULL || self->tray == NULL || fz_tray_get_settled(self->tray)) {
                if (!(self->start_hidden && fz_app_get_tray_available(self)))
                        window_present(self);
                else
                        g_info("Started minimized to the tray");
                self->start_hidden = FALSE;
                return;
        }
        /* Whether to start hidden depends on the tray: wait for its first answer, and do
         * not let the application end meanwhile for want of a window. */
        if (!self->wants_window)
                g_application_hold(G_APPLICATION(self));
        self->wants_window = TRUE;
}

static void fz_app_activate(GApplication *app) {
        FzApp *self = FZ_APP(app);

        show_window_when_ready(self);
}

static void fz_app_open(GApplication *app, GFile **files, gint n_files, const gchar *hint) {
        FzApp *self = FZ_APP(app);

        for (gint i = 0; i < n_files; i++) {
                g_autofree gchar *uri = g_file_get_uri(files[i]);

                if (fz_sign_in_is_callback_uri(uri))
                        handle_callback(self, uri);
                else
                        show_error(self, "Firezone", "Firezone can only open its own sign-in links.");
                if (uri != NULL)
                        explicit_bzero(uri, strlen(uri));
        }
        self->start_hidden = FALSE;
        show_window_when_ready(self);
}

static gint fz_app_handle_local_options(GApplication *app, GVariantDict *options) {
        FzApp *self = FZ_APP(app);
        g_autoptr(GError) error = NULL;

        if (g_variant_dict_contains(options, "version")) {
                g_print("firezone-gui %s\n", FZ_VERSION);
                return 0;
        }
        if (g_variant_dict_contains(options, "register-auto-start")) {
                g_autoptr(GBytes) contents = g_resources_lookup_data(
                        FZ_APP_RESOURCE_PATH "/autostart.desktop", G_RESOURCE_LOOKUP_FLAGS_NONE, &error);
                g_autofree gchar *path = fz_autostart_path();

                if (contents == NULL || !fz_autostart_register(g_bytes_get_data(contents, NULL), &error)) {
                        g_printerr("firezone-gui: %s\n", error->message);
                        return 1;
                }
                g_print("Firezone will start when you log in (%s).\n", path);
                return 0;
        }
        if (g_variant_dict_contains(options, "unregister-auto-start")) {
                if (!fz_autostart_unregister(&error)) {
                        g_printerr("firezone-gui: %s\n", error->message);
                        return 1;
                }
                g_print("Firezone will no longer start when you log in.\n");
                return 0;
        }
        if (g_variant_dict_contains(options, "minimized") || g_variant_dict_contains(options, "autostart"))
                self->start_hidden = TRUE;
        return -1;
}

static void fz_app_shutdown(GApplication *app) {
        FzApp *self = FZ_APP(app);

        g_cancellable_cancel(self->cancellable);
        g_clear_pointer(&self->sign_in, fz_sign_in_request_free);
        g_clear_object(&self->tray);
        g_clear_pointer(&self->tray_menu, fz_tray_menu_free);
        fz_notify_uninit();
        G_APPLICATION_CLASS(fz_app_parent_class)->shutdown(app);
}

static void fz_app_dispose(GObject *object) {
        FzApp *self = FZ_APP(object);

        g_clear_handle_id(&self->banner_timeout_id, g_source_remove);
        if (self->client != NULL)
                g_signal_handlers_disconnect_by_data(self->client, self);
        g_clear_object(&self->client);
        g_clear_object(&self->permission);
        g_clear_object(&self->settings);
        G_OBJECT_CLASS(fz_app_parent_class)->dispose(object);
}

static void fz_app_finalize(GObject *object) {
        FzApp *self = FZ_APP(object);

        g_clear_object(&self->cancellable);
        g_clear_error(&self->client_error);
        g_free(self->banner);
        g_free(self->keyring_problem);
        G_OBJECT_CLASS(fz_app_parent_class)->finalize(object);
}

static void fz_app_class_init(FzAppClass *klass) {
        GObjectClass *object_class = G_OBJECT_CLASS(klass);
        GApplicationClass *app_class = G_APPLICATION_CLASS(klass);

        object_class->dispose = fz_app_dispose;
        object_class->finalize = fz_app_finalize;
        app_class->startup = fz_app_startup;
        app_class->activate = fz_app_activate;
        app_class->open = fz_app_open;
        app_class->handle_local_options = fz_app_handle_local_options;
        app_class->shutdown = fz_app_shutdown;

        /**
         * FzApp::changed:
         *
         * Something the views show changed: re-read the getters.
         */
        signals[SIGNAL_CHANGED] = g_signal_new("changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
                                               NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static const GOptionEntry options[] = {
        {"register-auto-start", 0, 0, G_OPTION_ARG_NONE, NULL,
         "Start Firezone when you log in (writes ~/.config/autostart/firezone-gui.desktop), then exit",
         NULL},
        {"unregister-auto-start", 0, 0, G_OPTION_ARG_NONE, NULL,
         "Stop starting Firezone at log-in, then exit", NULL},
        {"minimized", 0, 0, G_OPTION_ARG_NONE, NULL,
         "Start without opening the window if the tray icon is shown", NULL},
        {"autostart", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, NULL,
         "Started at log-in (like --minimized)", NULL},
        {"version", 0, 0, G_OPTION_ARG_NONE, NULL, "Show the version and exit", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
};

static void fz_app_init(FzApp *self) {
        self->cancellable = g_cancellable_new();
        self->last_state = FZ_CLIENT_STATE_UNKNOWN;
        self->last_page = (FzPage)-1;
        g_application_add_main_option_entries(G_APPLICATION(self), options);
        g_application_set_option_context_parameter_string(G_APPLICATION(self), "[SIGN-IN-LINK]");
        g_application_set_option_context_summary(
                G_APPLICATION(self),
                "The Firezone desktop client: sign in with your browser, see your resources, and keep the\n"
                "connection in the tray. The tunnel itself is the firezone-client-tunnel system service.");
}

FzApp *fz_app_new(void) {
        return g_object_new(FZ_TYPE_APP, "application-id", FZ_APP_ID, "flags", G_APPLICATION_HANDLES_OPEN,
                            "resource-base-path", FZ_APP_RESOURCE_PATH, NULL);
}
