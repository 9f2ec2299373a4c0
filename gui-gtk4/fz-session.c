/* SPDX-License-Identifier: Apache-2.0 */
#include "fz-session.h"

#include <glib/gi18n.h>
#include <string.h>

#include "fz-keyring.h"
#include "fz-sign-in.h"
#include "fz-text.h"

/* How long the sign-in waits for the keyring before it goes on without it (the keyring
 * may be showing an unlock prompt, or hang): a sign-in never gets stuck on it. */
#define KEYRING_GRACE_MS 3000
/* Reading the keyring at start-up may take a password prompt; give up after this. */
#define KEYRING_LOOKUP_TIMEOUT_S 60

struct _FzSession {
        GObject parent_instance;

        FzModel *model;
        GSettings *settings;
        GCancellable *cancellable;

        FzSignInRequest *request;
        /* Tokens on their way: keyring, then SignIn. */
        guint jobs;
        gboolean auto_connect_done;
        gboolean requires_sign_in_handled;
};

enum { SIGNAL_FAILED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE(FzSession, fz_session, G_TYPE_OBJECT)

static void fail(FzSession *self, const gchar *summary, const gchar *message) {
        fz_model_set_notice(self->model, FZ_NOTICE_ERROR, message);
        g_signal_emit(self, signals[SIGNAL_FAILED], 0, summary, message);
}

static void sync_signing_in(FzSession *self) {
        fz_model_set_signing_in(self->model, self->request != NULL || self->jobs > 0);
}

static void keyring_failed(FzSession *self, const GError *error) {
        g_info("Keyring unavailable: %s", error->message);
        fz_model_set_keyring_problem(
                self->model, _("Your keyring is locked or not available, so Firezone cannot remember your "
                               "sign-in. You stay signed in until you sign out or the computer restarts; "
                               "then sign in again."));
}

/* ---- one token on its way: the keyring first (DESIGN §4: stored, then sent), but the send
 * never waits for the keyring longer than KEYRING_GRACE_MS. Reference-counted: the pending
 * send and the keyring store each hold one. ---- */

typedef struct {
        gint refs;
        FzSession *session;
        gchar *token;
        gchar *account_slug;
        gchar *actor_name;
        gboolean from_keyring;
        gboolean sent;
        guint grace_id;
} SignInJob;

static SignInJob *job_new(FzSession *self, gchar *token, const gchar *account_slug,
                          const gchar *actor_name) {
        SignInJob *job = g_new0(SignInJob, 1);

        job->refs = 1;
        job->session = g_object_ref(self);
        job->token = token;
        job->account_slug = g_strdup(account_slug);
        job->actor_name = g_strdup(actor_name);
        self->jobs++;
        sync_signing_in(self);
        return job;
}

static SignInJob *job_ref(SignInJob *job) {
        job->refs++;
        return job;
}

static void job_unref(SignInJob *job) {
        if (--job->refs > 0)
                return;
        fz_sign_in_token_free(job->token);
        g_free(job->account_slug);
        g_free(job->actor_name);
        g_clear_handle_id(&job->grace_id, g_source_remove);
        g_object_unref(job->session);
        g_free(job);
}

/* The send is over (done, refused or impossible): drops the pending send's reference. */
static void job_done(SignInJob *job) {
        FzSession *self = job->session;

        self->jobs--;
        sync_signing_in(self);
        job_unref(job);
}

static void invalid_token_cleared(GObject *source, GAsyncResult *res, gpointer user_data) {
        g_autoptr(FzSession) self = user_data;
        g_autoptr(GError) error = NULL;

        if (!fz_keyring_clear_finish(res, &error))
                g_info("Could not delete the refused token from the keyring: %s", error->message);
}

static void signed_in(GObject *source, GAsyncResult *res, gpointer user_data) {
        SignInJob *job = user_data;
        FzSession *self = job->session;
        g_autoptr(GError) error = NULL;

        fz_model_release_busy(self->model);
        if (fz_client_sign_in_finish(FZ_CLIENT(source), res, &error)) {
                g_info("The daemon accepted the sign-in");
        } else if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
                g_autofree gchar *why = fz_text_sanitize(error->message, FZ_TEXT_MESSAGE_MAX);

                /* The daemon's words may carry the portal's: one line in the log. */
                g_info("Sign-in refused: %s", why);
                if (g_error_matches(error, FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_INVALID_TOKEN))
                        fz_keyring_clear_async(NULL, invalid_token_cleared, g_object_ref(self));
                if (!job->from_keyring)
                        fail(self, _("Could not sign in"), error->message);
        }
        job_done(job);
}

static void job_send(SignInJob *job) {
        FzSession *self = job->session;
        FzClient *client = fz_model_get_client(self->model);

        if (job->sent)
                return;
        job->sent = TRUE;
        g_clear_handle_id(&job->grace_id, g_source_remove);
        if (client == NULL) {
                fail(self, _("Could not sign in"),
                     _("The Firezone service is not reachable. Start it, then sign in again."));
                job_done(job);
                return;
        }
        g_info("Sending the token to the daemon (account %s)", job->account_slug);
        fz_model_hold_busy(self->model);
        fz_client_sign_in_async(client, job->token, job->account_slug, job->actor_name, NULL,
                                self->cancellable, signed_in, job);
        /* The library has its own copy now. */
        g_clear_pointer(&job->token, fz_sign_in_token_free);
}

static void token_stored(GObject *source, GAsyncResult *res, gpointer user_data) {
        SignInJob *job = user_data;
        FzSession *self = job->session;
        g_autoptr(GError) error = NULL;

        if (!fz_keyring_store_finish(res, &error)) {
                if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                        keyring_failed(self, error);
        } else {
                g_info("Stored the token in the keyring");
                fz_model_set_keyring_problem(self->model, NULL);
        }
        job_send(job);
        job_unref(job);
}

static gboolean keyring_grace_over(gpointer user_data) {
        SignInJob *job = user_data;

        job->grace_id = 0;
        g_info("The keyring did not answer in time; signing in without waiting for it");
        job_send(job);
        return G_SOURCE_REMOVE;
}

static void sign_in_with_new_token(FzSession *self, gchar *token, const gchar *account_slug,
                                   const gchar *actor_name) {
        SignInJob *job = job_new(self, token, account_slug, actor_name);

        job->grace_id = g_timeout_add(KEYRING_GRACE_MS, keyring_grace_over, job);
        fz_keyring_store_async(token, account_slug, actor_name, self->cancellable, token_stored,
                               job_ref(job));
}

/* ---- connect on start ------------------------------------------------------------------- */

static void stored_token_found(GObject *source, GAsyncResult *res, gpointer user_data) {
        g_autoptr(FzSession) self = user_data;
        g_autoptr(GError) error = NULL;
        g_autoptr(FzStoredToken) stored = fz_keyring_lookup_finish(res, &error);
        SignInJob *job;

        if (error != NULL) {
                if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                        keyring_failed(self, error);
                return;
        }
        if (stored == NULL) {
                g_info("No stored token; waiting for the user to sign in");
                return;
        }
        if (fz_model_get_phase(self->model) != FZ_PHASE_SIGNED_OUT || self->request != NULL) {
                g_info("Not using the stored token: the state changed meanwhile");
                return;
        }
        g_info("Signing in with the stored token");
        job = job_new(self, g_steal_pointer(&stored->token), stored->account_slug, stored->actor_name);
        job->from_keyring = TRUE;
        job_send(job);
}

static gboolean cancel_once(gpointer cancellable) {
        g_cancellable_cancel(cancellable);
        return G_SOURCE_REMOVE;
}

static void maybe_auto_connect(FzSession *self) {
        FzPhase phase = fz_model_get_phase(self->model);
        g_autoptr(GCancellable) timeout = NULL;

        if (phase == FZ_PHASE_NO_DAEMON) {
                /* When the service comes back, connect again. */
                self->auto_connect_done = FALSE;
                return;
        }
        if (self->auto_connect_done || (phase != FZ_PHASE_SIGNED_OUT && !fz_phase_has_session(phase)))
                return;
        self->auto_connect_done = TRUE;
        if (fz_model_get_managed(self->model) || phase != FZ_PHASE_SIGNED_OUT ||
            fz_model_get_requires_sign_in(self->model))
                return;
        if (!g_settings_get_boolean(self->settings, "connect-on-start")) {
                g_info("Not connecting on start (setting)");
                return;
        }
        timeout = g_cancellable_new();
        g_timeout_add_seconds_full(G_PRIORITY_DEFAULT, KEYRING_LOOKUP_TIMEOUT_S, cancel_once,
                                   g_object_ref(timeout), g_object_unref);
        fz_keyring_lookup_async(timeout, stored_token_found, g_object_ref(self));
}

/* ---- the daemon no longer accepts the token --------------------------------------------- */

static void cleared_for_requires_sign_in(GObject *source, GAsyncResult *res, gpointer user_data) {
        g_autoptr(FzSession) self = user_data;
        g_autoptr(GError) error = NULL;

        if (!fz_keyring_clear_finish(res, &error))
                keyring_failed(self, error);
        else
                g_info("Deleted the stored token: the daemon requires a new sign-in");
}

static void handle_requires_sign_in(FzSession *self) {
        if (!fz_model_get_requires_sign_in(self->model)) {
                self->requires_sign_in_handled = FALSE;
                return;
        }
        if (self->requires_sign_in_handled)
                return;
        self->requires_sign_in_handled = TRUE;
        /* Never send that token again. */
        self->auto_connect_done = TRUE;
        fz_keyring_clear_async(self->cancellable, cleared_for_requires_sign_in, g_object_ref(self));
        fz_model_set_notice(self->model, FZ_NOTICE_WARNING, fz_session_ended_text());
}

static void on_model_changed(GObject *model, GParamSpec *pspec, gpointer user_data) {
        FzSession *self = user_data;

        if (fz_phase_has_session(fz_model_get_phase(self->model)) && self->request != NULL) {
                /* Signed in some other way (firezonectl): the browser sign-in is moot. */
                g_info("Signed in elsewhere; the browser sign-in is no longer needed");
                g_clear_pointer(&self->request, fz_sign_in_request_free);
                sync_signing_in(self);
        }
        handle_requires_sign_in(self);
        maybe_auto_connect(self);
}

/* ---- browser sign-in -------------------------------------------------------------------- */

static void browser_opened(GObject *source, GAsyncResult *res, gpointer user_data) {
        g_autoptr(FzSession) self = user_data;
        g_autoptr(GError) error = NULL;

        if (!g_app_info_launch_default_for_uri_finish(res, &error)) {
                g_info("Could not open the browser: %s", error->message);
                g_clear_pointer(&self->request, fz_sign_in_request_free);
                sync_signing_in(self);
                fail(self, _("Could not open the browser"),
                     _("Firezone could not open your web browser to sign in. Set a default web browser in "
                       "your "
                       "desktop’s settings, then click Sign In again."));
                return;
        }
        g_info("Opened the sign-in page in the browser");
}

void fz_session_sign_in(FzSession *self) {
        g_autoptr(GError) error = NULL;
        g_autoptr(FzSignInRequest) req = fz_sign_in_request_new(&error);
        g_autofree gchar *slug = g_settings_get_string(self->settings, "account-slug");
        g_autofree gchar *auth_url = g_settings_get_string(self->settings, "auth-url");
        g_autofree gchar *url = NULL;

        if (req == NULL) {
                fail(self, _("Could not sign in"), error->message);
                return;
        }
        url = fz_sign_in_build_url(auth_url, slug, req, &error);
        if (url == NULL) {
                fail(self, _("Could not sign in"), error->message);
                return;
        }
        fz_model_set_notice(self->model, FZ_NOTICE_NONE, NULL);
        /* A new attempt replaces an older one: its link is no longer accepted. */
        fz_sign_in_request_free(self->request);
        self->request = g_steal_pointer(&req);
        sync_signing_in(self);
        g_info("Starting browser sign-in (account “%s”)", slug);
        g_app_info_launch_default_for_uri_async(url, NULL, self->cancellable, browser_opened,
                                                g_object_ref(self));
        /* The URL carries the nonce, half of the token. */
        explicit_bzero(url, strlen(url));
}

void fz_session_cancel_sign_in(FzSession *self) {
        g_clear_pointer(&self->request, fz_sign_in_request_free);
        g_info("Sign-in cancelled");
        sync_signing_in(self);
}

gboolean fz_session_get_signing_in(FzSession *self) {
        return self->request != NULL;
}

void fz_session_handle_callback(FzSession *self, const gchar *uri) {
        g_autoptr(GError) error = NULL;
        FzSignInCallback cb;

        if (!fz_sign_in_callback_parse(uri, &cb, &error)) {
                g_info("Rejected a sign-in link: %s", error->message);
                fail(self, _("Could not sign in"), error->message);
                return;
        }
        if (!fz_sign_in_callback_check(self->request, &cb, &error)) {
                g_info("Rejected a sign-in link: wrong state");
                fail(self, _("Could not sign in"), error->message);
                fz_sign_in_callback_clear(&cb);
                return;
        }
        g_info("Accepted the sign-in link for account “%s”", cb.account_slug);
        fz_model_set_notice(self->model, FZ_NOTICE_NONE, NULL);
        self->auto_connect_done = TRUE;
        /* One link, one use. */
        sign_in_with_new_token(self, fz_sign_in_make_token(self->request, &cb), cb.account_slug,
                               cb.actor_name);
        g_clear_pointer(&self->request, fz_sign_in_request_free);
        fz_sign_in_callback_clear(&cb);
        sync_signing_in(self);
}

/* ---- sign-out --------------------------------------------------------------------------- */

static void signed_out_cleared(GObject *source, GAsyncResult *res, gpointer user_data) {
        g_autoptr(FzSession) self = user_data;
        g_autoptr(GError) error = NULL;

        if (!fz_keyring_clear_finish(res, &error))
                keyring_failed(self, error);
        else
                g_info("Deleted the stored token (signed out)");
}

static void signed_out(GObject *source, GAsyncResult *res, gpointer user_data) {
        g_autoptr(FzSession) self = user_data;
        g_autoptr(GError) error = NULL;

        fz_model_release_busy(self->model);
        if (!fz_client_sign_out_finish(FZ_CLIENT(source), res, &error) &&
            !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                fail(self, _("Could not sign out"), error->message);
}

void fz_session_sign_out(FzSession *self) {
        FzClient *client = fz_model_get_client(self->model);

        if (client == NULL)
                return;
        fz_model_hold_busy(self->model);
        /* Signing out means "forget me" on this computer, too. */
        fz_keyring_clear_async(self->cancellable, signed_out_cleared, g_object_ref(self));
        fz_client_sign_out_async(client, self->cancellable, signed_out, g_object_ref(self));
}

void fz_session_shutdown(FzSession *self) {
        g_cancellable_cancel(self->cancellable);
        g_clear_pointer(&self->request, fz_sign_in_request_free);
}

/* ---- GObject ---------------------------------------------------------------------------- */

FzSession *fz_session_new(FzModel *model, GSettings *settings) {
        FzSession *self = g_object_new(FZ_TYPE_SESSION, NULL);

        self->model = g_object_ref(model);
        self->settings = g_object_ref(settings);
        g_signal_connect(model, "notify::phase", G_CALLBACK(on_model_changed), self);
        g_signal_connect(model, "notify::requires-sign-in", G_CALLBACK(on_model_changed), self);
        return self;
}

static void fz_session_dispose(GObject *object) {
        FzSession *self = FZ_SESSION(object);

        g_cancellable_cancel(self->cancellable);
        if (self->model != NULL)
                g_signal_handlers_disconnect_by_data(self->model, self);
        g_clear_object(&self->model);
        g_clear_object(&self->settings);
        G_OBJECT_CLASS(fz_session_parent_class)->dispose(object);
}

static void fz_session_finalize(GObject *object) {
        FzSession *self = FZ_SESSION(object);

        g_clear_pointer(&self->request, fz_sign_in_request_free);
        g_clear_object(&self->cancellable);
        G_OBJECT_CLASS(fz_session_parent_class)->finalize(object);
}

static void fz_session_class_init(FzSessionClass *klass) {
        GObjectClass *object_class = G_OBJECT_CLASS(klass);

        object_class->dispose = fz_session_dispose;
        object_class->finalize = fz_session_finalize;

        /**
         * FzSession::failed:
         * @summary: what failed ("Could not sign in")
         * @message: the sentence that says what to do
         */
        signals[SIGNAL_FAILED] = g_signal_new("failed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                              NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
}

static void fz_session_init(FzSession *self) {
        self->cancellable = g_cancellable_new();
}
