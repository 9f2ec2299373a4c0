/* SPDX-License-Identifier: Apache-2.0 */
#include "fz-application.h"

#include <glib/gi18n.h>
#include <string.h>

#include "config.h"
#include "fz-autostart.h"
#include "fz-library-adapter.h"
#include "fz-model.h"
#include "fz-notifier.h"
#include "fz-notify.h"
#include "fz-preferences-window.h"
#include "fz-session.h"
#include "fz-sign-in.h"
#include "fz-text.h"
#include "fz-tray-menu.h"
#include "fz-tray.h"
#include "fz-window.h"

struct _FzApplication {
        AdwApplication parent_instance;

        GSettings *settings;
        GCancellable *cancellable;
        FzModel *model;
        FzSession *session;
        FzNotifier *notifier;

        FzTray *tray;
        FzTrayMenu *tray_menu;
        gboolean hold_for_tray;
        gboolean start_hidden;
        gboolean wants_window;

        FzWindow *window;
};

G_DEFINE_FINAL_TYPE(FzApplication, fz_application, ADW_TYPE_APPLICATION)

static gboolean tray_available(FzApplication *self) {
        return self->tray != NULL && fz_tray_get_available(self->tray);
}

/* ---- the window ------------------------------------------------------------------------- */

static void window_present(FzApplication *self) {
        if (self->window == NULL) {
                self->window = fz_window_new(GTK_APPLICATION(self), self->model);
                g_object_add_weak_pointer(G_OBJECT(self->window), (gpointer *)&self->window);
        }
        gtk_window_set_hide_on_close(GTK_WINDOW(self->window), tray_available(self));
        gtk_window_present(GTK_WINDOW(self->window));
}

static void show_window_when_ready(FzApplication *self) {
        if (self->window != NULL || self->tray == NULL || fz_tray_get_settled(self->tray)) {
                if (!(self->start_hidden && tray_available(self)))
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

/* ---- the tray --------------------------------------------------------------------------- */

static void tray_changed(FzApplication *self) {
        gboolean available = tray_available(self);

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
}

static void on_tray_notify(GObject *tray, GParamSpec *pspec, gpointer user_data) {
        tray_changed(FZ_APPLICATION(user_data));
}

static void on_tray_activate(FzTray *tray, gpointer user_data) {
        window_present(FZ_APPLICATION(user_data));
}

static void sync_tray_icon(FzApplication *self) {
        FzPhase phase = fz_model_get_phase(self->model);

        if (self->tray != NULL)
                fz_tray_set_status(self->tray, fz_phase_get_icon_name(phase), "Firezone",
                                   fz_phase_get_title(phase));
}

/* ---- actions' availability follows the model -------------------------------------------- */

static void set_enabled(FzApplication *self, const gchar *name, gboolean enabled) {
        GAction *a = g_action_map_lookup_action(G_ACTION_MAP(self), name);

        g_simple_action_set_enabled(G_SIMPLE_ACTION(a), enabled);
}

static void sync_actions(FzApplication *self) {
        FzPhase phase = fz_model_get_phase(self->model);
        GAction *internet = g_action_map_lookup_action(G_ACTION_MAP(self), "internet-resource");
        g_autoptr(GVariant) state = g_action_get_state(internet);
        gboolean enabled = fz_model_get_internet_resource_enabled(self->model);

        set_enabled(self, "sign-in", fz_model_get_can_sign_in(self->model));
        set_enabled(self, "cancel-sign-in",
                    phase == FZ_PHASE_SIGNING_IN && fz_session_get_signing_in(self->session));
        set_enabled(self, "sign-out", fz_model_get_can_sign_out(self->model));
        set_enabled(self, "internet-resource",
                    fz_model_get_internet_resource_supported(self->model) && fz_phase_has_session(phase) &&
                            !fz_model_get_busy(self->model));
        /* The state is the daemon's, as the library reports it: never set ahead of it. */
        if (g_variant_get_boolean(state) != enabled)
                g_simple_action_set_state(G_SIMPLE_ACTION(internet), g_variant_new_boolean(enabled));
}

static void on_model_notify(GObject *model, GParamSpec *pspec, gpointer user_data) {
        FzApplication *self = user_data;

        sync_actions(self);
        if (g_str_equal(pspec->name, "phase"))
                sync_tray_icon(self);
}

static void on_session_failed(FzSession *session, const gchar *summary, const gchar *message,
                              gpointer user_data) {
        FzApplication *self = user_data;

        fz_notifier_failed(self->notifier, summary, message);
}

/* ---- actions ---------------------------------------------------------------------------- */

static void action_sign_in(GSimpleAction *action, GVariant *param, gpointer user_data) {
        fz_session_sign_in(FZ_APPLICATION(user_data)->session);
}

static void action_cancel_sign_in(GSimpleAction *action, GVariant *param, gpointer user_data) {
        fz_session_cancel_sign_in(FZ_APPLICATION(user_data)->session);
}

static void action_sign_out(GSimpleAction *action, GVariant *param, gpointer user_data) {
        fz_session_sign_out(FZ_APPLICATION(user_data)->session);
}

static void action_show_window(GSimpleAction *action, GVariant *param, gpointer user_data) {
        window_present(FZ_APPLICATION(user_data));
}

static gboolean quit_now(gpointer user_data) {
        FzApplication *self = user_data;

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

static void copy_to_clipboard(FzApplication *self, const gchar *text, const gchar *confirmation) {
        GdkDisplay *display = gdk_display_get_default();

        if (display == NULL)
                return;
        gdk_clipboard_set_text(gdk_display_get_clipboard(display), text);
        g_info("Copied to the clipboard: %s", confirmation);
        if (self->window != NULL && gtk_widget_get_visible(GTK_WIDGET(self->window)))
                fz_window_show_toast(self->window, confirmation);
}

static void action_copy_address(GSimpleAction *action, GVariant *param, gpointer user_data) {
        FzApplication *self = user_data;
        const gchar *address = g_variant_get_string(param, NULL);
        g_autofree gchar *shown = fz_text_sanitize(address, FZ_TEXT_ADDRESS_MAX);
        /* Translators: %s is a resource's address. */
        g_autofree gchar *msg = g_strdup_printf(_("Copied “%s” to the clipboard."), shown);

        copy_to_clipboard(self, address, msg);
}

static void action_copy_text(GSimpleAction *action, GVariant *param, gpointer user_data) {
        copy_to_clipboard(FZ_APPLICATION(user_data), g_variant_get_string(param, NULL),
                          _("Copied to the clipboard."));
}

static void action_toggle_favorite(GSimpleAction *action, GVariant *param, gpointer user_data) {
        FzApplication *self = user_data;
        const gchar *id = g_variant_get_string(param, NULL);
        gboolean favorite = !fz_model_is_favorite(self->model, id);

        fz_model_set_favorite(self->model, id, favorite);
        g_info("Resource %s %s the favorites", id, favorite ? "added to" : "removed from");
}

static void internet_resource_set(GObject *source, GAsyncResult *res, gpointer user_data) {
        g_autoptr(FzApplication) self = user_data;
        g_autoptr(GError) error = NULL;
        gboolean ok = fz_adapter_set_internet_resource_enabled_finish(FZ_CLIENT(source), res, &error);
        g_autofree gchar *why = NULL;

        if (self->model == NULL)
                return; /* shut down meanwhile */
        fz_model_release_busy(self->model);
        if (ok) {
                g_info("The daemon changed the Internet resource");
                return;
        }
        if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                return;
        why = fz_text_sanitize(error->message, FZ_TEXT_MESSAGE_MAX);
        g_info("Could not change the Internet resource: %s", why);
        fz_model_set_notice(self->model, FZ_NOTICE_ERROR, error->message);
        fz_notifier_failed(self->notifier, _("Could not change the Internet resource"), error->message);
}

static void action_internet_resource(GSimpleAction *action, GVariant *state, gpointer user_data) {
        FzApplication *self = user_data;
        FzClient *client = fz_model_get_client(self->model);
        gboolean enable = g_variant_get_boolean(state);

        if (client == NULL)
                return;
        g_info("Asking the daemon to %s the Internet resource", enable ? "enable" : "disable");
        fz_model_hold_busy(self->model);
        fz_adapter_set_internet_resource_enabled_async(client, enable, self->cancellable,
                                                       internet_resource_set, g_object_ref(self));
}

static void action_dismiss_notice(GSimpleAction *action, GVariant *param, gpointer user_data) {
        fz_model_set_notice(FZ_APPLICATION(user_data)->model, FZ_NOTICE_NONE, NULL);
}

static void action_preferences(GSimpleAction *action, GVariant *param, gpointer user_data) {
        FzApplication *self = user_data;
        FzPreferencesWindow *prefs;

        window_present(self);
        prefs = fz_preferences_window_new(GTK_WINDOW(self->window), self->settings);
        gtk_window_present(GTK_WINDOW(prefs));
}

static void action_about(GSimpleAction *action, GVariant *param, gpointer user_data) {
        FzApplication *self = user_data;
        FzClient *client = fz_model_get_client(self->model);
        const gchar *daemon_version = client != NULL ? fz_client_get_daemon_version(client) : "";
        g_autofree gchar *debug =
                g_strdup_printf("firezone-gui %s\nfirezone-client-tunnel %s\n", FZ_VERSION,
                                *daemon_version != '\0' ? daemon_version : "(not running)");
        GtkWidget *about;

        window_present(self);
        about = g_object_new(
                ADW_TYPE_ABOUT_WINDOW, "transient-for", self->window, "application-name", "Firezone",
                "application-icon", FZ_APP_ID, "version", FZ_VERSION, "developer-name",
                _("Firezone Linux client contributors"), "website", "https://www.firezone.dev/", "issue-url",
                "https://github.com/firezone/firezone/issues", "license-type", GTK_LICENSE_APACHE_2_0,
                "comments", _("Reach your organization’s resources over Firezone’s zero-trust network."),
                "debug-info", debug, "translator-credits", _("translator-credits"), NULL);
        gtk_window_present(GTK_WINDOW(about));
}

static const GActionEntry app_actions[] = {
        {"sign-in", action_sign_in, NULL, NULL, NULL, {0}},
        {"cancel-sign-in", action_cancel_sign_in, NULL, NULL, NULL, {0}},
        {"sign-out", action_sign_out, NULL, NULL, NULL, {0}},
        {"show-window", action_show_window, NULL, NULL, NULL, {0}},
        {"quit", action_quit, NULL, NULL, NULL, {0}},
        {"copy-address", action_copy_address, "s", NULL, NULL, {0}},
        {"copy-text", action_copy_text, "s", NULL, NULL, {0}},
        {"toggle-favorite", action_toggle_favorite, "s", NULL, NULL, {0}},
        {"internet-resource", NULL, NULL, "false", action_internet_resource, {0}},
        {"dismiss-notice", action_dismiss_notice, NULL, NULL, NULL, {0}},
        {"preferences", action_preferences, NULL, NULL, NULL, {0}},
        {"about", action_about, NULL, NULL, NULL, {0}},
};

/* ---- GApplication ----------------------------------------------------------------------- */

static void fz_application_startup(GApplication *app) {
        FzApplication *self = FZ_APPLICATION(app);
        GDBusConnection *session_bus = g_application_get_dbus_connection(app);
        static const gchar *const quit_accels[] = {"<Control>q", NULL};
        static const gchar *const prefs_accels[] = {"<Control>comma", NULL};
        static const gchar *const close_accels[] = {"<Control>w", NULL};
        static const gchar *const watched[] = {"notify::phase",
                                               "notify::can-sign-in",
                                               "notify::can-sign-out",
                                               "notify::busy",
                                               "notify::internet-resource-supported",
                                               "notify::internet-resource-enabled"};

        G_APPLICATION_CLASS(fz_application_parent_class)->startup(app);

        gtk_window_set_default_icon_name(FZ_APP_ID);
        g_action_map_add_action_entries(G_ACTION_MAP(self), app_actions, G_N_ELEMENTS(app_actions), self);
        gtk_application_set_accels_for_action(GTK_APPLICATION(self), "app.quit", quit_accels);
        gtk_application_set_accels_for_action(GTK_APPLICATION(self), "app.preferences", prefs_accels);
        gtk_application_set_accels_for_action(GTK_APPLICATION(self), "window.close", close_accels);

        self->settings = g_settings_new(FZ_APP_ID);
        if (g_settings_get_boolean(self->settings, "start-minimized"))
                self->start_hidden = TRUE;
        fz_notify_init(FZ_APP_ID);

        self->model = fz_model_new(self->settings);
        self->session = fz_session_new(self->model, self->settings);
        self->notifier = fz_notifier_new(self->model);
        g_signal_connect(self->session, "failed", G_CALLBACK(on_session_failed), self);
        for (gsize i = 0; i < G_N_ELEMENTS(watched); i++)
                g_signal_connect(self->model, watched[i], G_CALLBACK(on_model_notify), self);

        if (session_bus != NULL) {
                self->tray_menu = fz_tray_menu_new(self->model, G_ACTION_GROUP(self));
                self->tray = fz_tray_new(session_bus, FZ_TRAY_MENU_PATH);
                g_signal_connect(self->tray, "notify::available", G_CALLBACK(on_tray_notify), self);
                g_signal_connect(self->tray, "notify::settled", G_CALLBACK(on_tray_notify), self);
                g_signal_connect(self->tray, "activate", G_CALLBACK(on_tray_activate), self);
        }
        sync_actions(self);
        sync_tray_icon(self);
        fz_model_start(self->model);
}

static void fz_application_activate(GApplication *app) {
        show_window_when_ready(FZ_APPLICATION(app));
}

static void fz_application_open(GApplication *app, GFile **files, gint n_files, const gchar *hint) {
        FzApplication *self = FZ_APPLICATION(app);

        for (gint i = 0; i < n_files; i++) {
                g_autofree gchar *uri = g_file_get_uri(files[i]);

                if (fz_sign_in_is_callback_uri(uri)) {
                        fz_session_handle_callback(self->session, uri);
                } else {
                        g_info("Refused to open something else than a sign-in link");
                        fz_model_set_notice(self->model, FZ_NOTICE_ERROR,
                                            _("Firezone can only open its own sign-in links."));
                }
                if (uri != NULL)
                        explicit_bzero(uri, strlen(uri));
        }
        self->start_hidden = FALSE;
        show_window_when_ready(self);
}

static gint fz_application_handle_local_options(GApplication *app, GVariantDict *options) {
        FzApplication *self = FZ_APPLICATION(app);
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
                g_print(_("Firezone will start when you log in (%s).\n"), path);
                return 0;
        }
        if (g_variant_dict_contains(options, "unregister-auto-start")) {
                if (!fz_autostart_unregister(&error)) {
                        g_printerr("firezone-gui: %s\n", error->message);
                        return 1;
                }
                g_print("%s\n", _("Firezone will no longer start when you log in."));
                return 0;
        }
        if (g_variant_dict_contains(options, "minimized") || g_variant_dict_contains(options, "autostart"))
                self->start_hidden = TRUE;
        return -1;
}

static void fz_application_shutdown(GApplication *app) {
        FzApplication *self = FZ_APPLICATION(app);

        g_cancellable_cancel(self->cancellable);
        if (self->session != NULL)
                fz_session_shutdown(self->session);
        if (self->model != NULL) {
                g_signal_handlers_disconnect_by_data(self->model, self);
                fz_model_stop(self->model);
        }
        g_clear_object(&self->tray);
        g_clear_object(&self->tray_menu);
        g_clear_object(&self->notifier);
        g_clear_object(&self->session);
        g_clear_object(&self->model);
        fz_notify_uninit();
        G_APPLICATION_CLASS(fz_application_parent_class)->shutdown(app);
}

static void fz_application_dispose(GObject *object) {
        FzApplication *self = FZ_APPLICATION(object);

        g_clear_object(&self->settings);
        G_OBJECT_CLASS(fz_application_parent_class)->dispose(object);
}

static void fz_application_finalize(GObject *object) {
        FzApplication *self = FZ_APPLICATION(object);

        g_clear_object(&self->cancellable);
        G_OBJECT_CLASS(fz_application_parent_class)->finalize(object);
}

static void fz_application_class_init(FzApplicationClass *klass) {
        GObjectClass *object_class = G_OBJECT_CLASS(klass);
        GApplicationClass *app_class = G_APPLICATION_CLASS(klass);

        object_class->dispose = fz_application_dispose;
        object_class->finalize = fz_application_finalize;
        app_class->startup = fz_application_startup;
        app_class->activate = fz_application_activate;
        app_class->open = fz_application_open;
        app_class->handle_local_options = fz_application_handle_local_options;
        app_class->shutdown = fz_application_shutdown;
}

static void fz_application_init(FzApplication *self) {
        const GOptionEntry options[] = {
                {"register-auto-start", 0, 0, G_OPTION_ARG_NONE, NULL,
                 _("Start Firezone when you log in (writes ~/.config/autostart/firezone-gui.desktop), then "
                   "exit"),
                 NULL},
                {"unregister-auto-start", 0, 0, G_OPTION_ARG_NONE, NULL,
                 _("Stop starting Firezone at log-in, then exit"), NULL},
                {"minimized", 0, 0, G_OPTION_ARG_NONE, NULL,
                 _("Start without opening the window if the tray icon is shown"), NULL},
                {"autostart", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, NULL,
                 "Started at log-in (like --minimized)", NULL},
                {"version", 0, 0, G_OPTION_ARG_NONE, NULL, _("Show the version and exit"), NULL},
                {NULL, 0, 0, 0, NULL, NULL, NULL},
        };

        self->cancellable = g_cancellable_new();
        g_application_add_main_option_entries(G_APPLICATION(self), options);
        g_application_set_option_context_parameter_string(G_APPLICATION(self), _("[SIGN-IN-LINK]"));
        g_application_set_option_context_summary(G_APPLICATION(self),
                                                 _("The Firezone desktop client: sign in with your browser, "
                                                   "see your resources, and keep the\n"
                                                   "connection in the tray. The tunnel itself is the "
                                                   "firezone-client-tunnel system service."));
}

FzApplication *fz_application_new(void) {
        return g_object_new(FZ_TYPE_APPLICATION, "application-id", FZ_APP_ID, "flags",
                            G_APPLICATION_HANDLES_OPEN, "resource-base-path", FZ_APP_RESOURCE_PATH, NULL);
}
