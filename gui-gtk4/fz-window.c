/* SPDX-License-Identifier: Apache-2.0 */
#include "fz-window.h"

#include <pwd.h>
#include <unistd.h>

#define START_COMMAND "sudo systemctl enable --now firezone-client.service"

struct _FzWindow {
        GtkApplicationWindow parent_instance;

        FzApp *app;
        gulong changed_id;

        GtkWidget *banner_box;
        GtkWidget *banner_icon;
        GtkWidget *banner_label;
        GtkWidget *keyring_box;
        GtkWidget *keyring_label;
        GtkWidget *stack;

        GtkWidget *no_daemon_detail;
        GtkWidget *group_title;
        GtkWidget *group_body;
        GtkWidget *group_command_box;
        GtkWidget *group_after;

        GtkWidget *signed_out_account;
        GtkWidget *signed_out_admin;
        GtkWidget *sign_in_button;

        GtkWidget *session_icon;
        GtkWidget *session_title;
        GtkWidget *session_who;
        GtkWidget *session_managed;
        GtkWidget *session_error;
        GtkWidget *sign_out_button;
        GtkWidget *resources_list;
        GtkWidget *resources_empty;
        gchar *resources_signature;

        gchar *shown;
        gulong after_paint_id;
        GdkFrameClock *after_paint_clock;
};

G_DEFINE_FINAL_TYPE(FzWindow, fz_window, GTK_TYPE_APPLICATION_WINDOW)

static void log_when_drawn(FzWindow *self);

/* ---- building blocks -------------------------------------------------------------------- */

static GtkWidget *label_new(const gchar *text, const gchar *css_class, gboolean wrap) {
        GtkWidget *l = gtk_label_new(text);

        if (css_class != NULL)
                gtk_widget_add_css_class(l, css_class);
        if (wrap) {
                gtk_label_set_wrap(GTK_LABEL(l), TRUE);
                gtk_label_set_max_width_chars(GTK_LABEL(l), 52);
                gtk_label_set_justify(GTK_LABEL(l), GTK_JUSTIFY_CENTER);
        }
        return l;
}

/* A centred page: big icon, title, text, then whatever the caller appends. */
static GtkWidget *status_page(const gchar *icon_name, const gchar *title, const gchar *body,
                              GtkWidget **ret_title, GtkWidget **ret_body) {
        GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 12);
        GtkWidget *icon = gtk_image_new_from_icon_name(icon_name);
        GtkWidget *t = label_new(title, "fz-page-title", TRUE);
        GtkWidget *b = label_new(body, NULL, TRUE);

        gtk_widget_set_valign(box, GTK_ALIGN_CENTER);
        gtk_widget_set_halign(box, GTK_ALIGN_CENTER);
        gtk_widget_set_margin_start(box, 36);
        gtk_widget_set_margin_end(box, 36);
        gtk_widget_set_margin_top(box, 24);
        gtk_widget_set_margin_bottom(box, 24);
        gtk_image_set_pixel_size(GTK_IMAGE(icon), 96);
        gtk_widget_add_css_class(icon, "dim-label");
        gtk_widget_set_margin_bottom(icon, 12);
        gtk_box_append(GTK_BOX(box), icon);
        gtk_box_append(GTK_BOX(box), t);
        gtk_box_append(GTK_BOX(box), b);
        if (ret_title != NULL)
                *ret_title = t;
        if (ret_body != NULL)
                *ret_body = b;
        return box;
}

static void copy_clicked(GtkButton *button, gpointer user_data) {
        const gchar *text = g_object_get_data(G_OBJECT(button), "fz-text");

        gtk_widget_activate_action(GTK_WIDGET(button), "app.copy-address", "s", text);
}

/* A command to type, selectable, with a copy button. */
static GtkWidget *command_box(const gchar *command) {
        GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
        GtkWidget *l = gtk_label_new(command);
        GtkWidget *copy = gtk_button_new_from_icon_name("edit-copy-symbolic");

        gtk_label_set_selectable(GTK_LABEL(l), TRUE);
        /* Else it takes the first focus and shows up all selected. */
        gtk_widget_set_focusable(l, FALSE);
        gtk_label_set_wrap(GTK_LABEL(l), TRUE);
        gtk_label_set_wrap_mode(GTK_LABEL(l), PANGO_WRAP_CHAR);
        gtk_widget_add_css_class(l, "fz-command");
        gtk_widget_set_tooltip_text(copy, "Copy the command");
        gtk_widget_set_valign(copy, GTK_ALIGN_CENTER);
        g_object_set_data_full(G_OBJECT(copy), "fz-text", g_strdup(command), g_free);
        g_signal_connect(copy, "clicked", G_CALLBACK(copy_clicked), NULL);
        gtk_box_append(GTK_BOX(box), l);
        gtk_box_append(GTK_BOX(box), copy);
        gtk_widget_set_halign(box, GTK_ALIGN_CENTER);
        gtk_widget_set_margin_top(box, 6);
        gtk_widget_set_margin_bottom(box, 6);
        return box;
}

static GtkWidget *action_button(const gchar *label, const gchar *action, gboolean suggested) {
        GtkWidget *b = gtk_button_new_with_mnemonic(label);

        gtk_actionable_set_action_name(GTK_ACTIONABLE(b), action);
        if (suggested)
                gtk_widget_add_css_class(b, "suggested-action");
        gtk_widget_add_css_class(b, "pill");
        gtk_widget_set_halign(b, GTK_ALIGN_CENTER);
        return b;
}

/* ---- pages ------------------------------------------------------------------------------ */

static GtkWidget *page_starting(void) {
        GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 12);
        GtkWidget *spinner = gtk_spinner_new();

        gtk_spinner_start(GTK_SPINNER(spinner));
        gtk_widget_set_size_request(spinner, 32, 32);
        gtk_widget_set_valign(box, GTK_ALIGN_CENTER);
        gtk_box_append(GTK_BOX(box), spinner);
        gtk_box_append(GTK_BOX(box), label_new("Connecting to the Firezone service…", "dim-label", FALSE));
        return box;
}

static GtkWidget *page_no_daemon(FzWindow *self) {
        GtkWidget *box = status_page(
                "dev.firezone.Client-disconnected-symbolic", "The Firezone service is not running",
                "Firezone needs its system service, firezone-client-tunnel, to connect. "
                "Start it with:",
                NULL, NULL);

        gtk_box_append(GTK_BOX(box), command_box(START_COMMAND));
        gtk_box_append(GTK_BOX(box),
                       label_new("This window updates by itself once the service runs.", "dim-label", TRUE));
        self->no_daemon_detail = label_new("", "dim-label", TRUE);
        gtk_widget_add_css_class(self->no_daemon_detail, "caption");
        gtk_box_append(GTK_BOX(box), self->no_daemon_detail);
        return box;
}

static GtkWidget *page_not_in_group(FzWindow *self) {
        const struct passwd *pw = getpwuid(getuid());
        g_autofree gchar *command =
                g_strdup_printf("sudo usermod -aG firezone %s", pw != NULL ? pw->pw_name : "$USER");
        GtkWidget *box = status_page("system-users-symbolic", "", "", &self->group_title, &self->group_body);

        self->group_command_box = command_box(command);
        gtk_box_append(GTK_BOX(box), self->group_command_box);
        self->group_after =
                label_new("Then log out and log in again: membership in a new group takes effect only "
                          "in a new login session.",
                          NULL, TRUE);
        gtk_box_append(GTK_BOX(box), self->group_after);
        return box;
}

static GtkWidget *page_signed_out(FzWindow *self) {
        GtkWidget *box = status_page(FZ_APP_ID, "Sign in to Firezone",
                                     "Sign in with your web browser to reach your organization’s resources.",
                                     NULL, NULL);
        GtkWidget *icon = gtk_widget_get_first_child(box);
        GtkWidget *admin_box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
        GtkWidget *settings = gtk_button_new_with_mnemonic("Sign-in _Settings…");

        /* The app icon is in colour: not dimmed. */
        gtk_widget_remove_css_class(icon, "dim-label");
        self->signed_out_account = label_new("", "dim-label", TRUE);
        gtk_box_append(GTK_BOX(box), self->signed_out_account);
        self->sign_in_button = action_button("_Sign In", "app.sign-in", TRUE);
        gtk_widget_set_margin_top(self->sign_in_button, 12);
        gtk_widget_set_size_request(self->sign_in_button, 200, -1);
        gtk_box_append(GTK_BOX(box), self->sign_in_button);

        gtk_box_append(GTK_BOX(admin_box), gtk_image_new_from_icon_name("dialog-password-symbolic"));
        gtk_box_append(GTK_BOX(admin_box),
                       label_new("Signing in needs an administrator’s password on this computer.", "caption",
                                 TRUE));
        gtk_widget_set_halign(admin_box, GTK_ALIGN_CENTER);
        self->signed_out_admin = admin_box;
        gtk_box_append(GTK_BOX(box), admin_box);

        gtk_actionable_set_action_name(GTK_ACTIONABLE(settings), "app.preferences");
        gtk_widget_add_css_class(settings, "flat");
        gtk_widget_set_halign(settings, GTK_ALIGN_CENTER);
        gtk_box_append(GTK_BOX(box), settings);
        return box;
}

static GtkWidget *page_signing_in(void) {
        GtkWidget *box =
                status_page("web-browser-symbolic", "Continue in your browser",
                            "Finish signing in on the page that opened in your web browser. Firezone "
                            "continues here by itself.",
                            NULL, NULL);
        GtkWidget *spinner = gtk_spinner_new();
        GtkWidget *buttons = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 12);

        gtk_spinner_start(GTK_SPINNER(spinner));
        gtk_box_append(GTK_BOX(box), spinner);
        gtk_widget_set_halign(buttons, GTK_ALIGN_CENTER);
        gtk_widget_set_margin_top(buttons, 12);
        gtk_box_append(GTK_BOX(buttons), action_button("_Open the Page Again", "app.sign-in", FALSE));
        gtk_box_append(GTK_BOX(buttons), action_button("_Cancel", "app.cancel-sign-in", FALSE));
        gtk_box_append(GTK_BOX(box), buttons);
        return box;
}

static GtkWidget *page_session(FzWindow *self) {
        GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 12);
        GtkWidget *head = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 12);
        GtkWidget *text = gtk_box_new(GTK_ORIENTATION_VERTICAL, 2);
        GtkWidget *heading = label_new("Resources", "heading", FALSE);
        GtkWidget *scroller = gtk_scrolled_window_new();
        GtkWidget *list_box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0);

        gtk_widget_set_margin_start(box, 24);
        gtk_widget_set_margin_end(box, 24);
        gtk_widget_set_margin_top(box, 18);
        gtk_widget_set_margin_bottom(box, 18);

        self->session_icon = gtk_image_new_from_icon_name("dev.firezone.Client-connected-symbolic");
        gtk_image_set_pixel_size(GTK_IMAGE(self->session_icon), 48);
        gtk_box_append(GTK_BOX(head), self->session_icon);
        self->session_title = label_new("", "fz-status-title", FALSE);
        gtk_label_set_xalign(GTK_LABEL(self->session_title), 0);
        self->session_who = label_new("", "dim-label", FALSE);
        gtk_label_set_xalign(GTK_LABEL(self->session_who), 0);
        gtk_label_set_ellipsize(GTK_LABEL(self->session_who), PANGO_ELLIPSIZE_END);
        gtk_label_set_selectable(GTK_LABEL(self->session_who), FALSE);
        gtk_box_append(GTK_BOX(text), self->session_title);
        gtk_box_append(GTK_BOX(text), self->session_who);
        gtk_widget_set_hexpand(text, TRUE);
        gtk_widget_set_valign(text, GTK_ALIGN_CENTER);
        gtk_box_append(GTK_BOX(head), text);
        self->sign_out_button = gtk_button_new_with_mnemonic("Sign _Out");
        gtk_actionable_set_action_name(GTK_ACTIONABLE(self->sign_out_button), "app.sign-out");
        gtk_widget_set_valign(self->sign_out_button, GTK_ALIGN_CENTER);
        gtk_box_append(GTK_BOX(head), self->sign_out_button);
        gtk_box_append(GTK_BOX(box), head);

        self->session_managed =
                label_new("This device is managed by your organization: it is signed in with a "
                          "service account, and signing in or out is up to your administrator.",
                          "caption", FALSE);
        gtk_label_set_wrap(GTK_LABEL(self->session_managed), TRUE);
        gtk_label_set_xalign(GTK_LABEL(self->session_managed), 0);
        gtk_box_append(GTK_BOX(box), self->session_managed);
        self->session_error = label_new("", "error", FALSE);
        gtk_label_set_wrap(GTK_LABEL(self->session_error), TRUE);
        gtk_label_set_xalign(GTK_LABEL(self->session_error), 0);
        gtk_box_append(GTK_BOX(box), self->session_error);

        gtk_label_set_xalign(GTK_LABEL(heading), 0);
        gtk_widget_set_margin_top(heading, 6);
        gtk_box_append(GTK_BOX(box), heading);

        self->resources_list = gtk_list_box_new();
        gtk_list_box_set_selection_mode(GTK_LIST_BOX(self->resources_list), GTK_SELECTION_NONE);
        gtk_widget_add_css_class(self->resources_list, "fz-resources");
        gtk_widget_add_css_class(self->resources_list, "fz-card");
        self->resources_empty = label_new(
                "No resources yet. They appear here as soon as Firezone sends them.", "dim-label", TRUE);
        gtk_widget_set_margin_top(self->resources_empty, 24);
        gtk_box_append(GTK_BOX(list_box), self->resources_list);
        gtk_box_append(GTK_BOX(list_box), self->resources_empty);
        gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(scroller), list_box);
        gtk_scrolled_window_set_policy(GTK_SCROLLED_WINDOW(scroller), GTK_POLICY_NEVER,
                                       GTK_POLICY_AUTOMATIC);
        gtk_widget_set_vexpand(scroller, TRUE);
        gtk_box_append(GTK_BOX(box), scroller);
        return box;
}

/* ---- resources -------------------------------------------------------------------------- */

static const gchar *resource_status_text(FzResourceStatus status) {
        switch (status) {
        case FZ_RESOURCE_STATUS_ONLINE:
                return "Online";
        case FZ_RESOURCE_STATUS_OFFLINE:
                return "Offline";
        case FZ_RESOURCE_STATUS_UNKNOWN:
        default:
                return "Status unknown";
        }
}

static gchar *sites_text(FzResource *r) {
        GPtrArray *sites = fz_resource_get_sites(r);
        g_autoptr(GString) s = g_string_new(NULL);

        if (sites == NULL || sites->len == 0)
                return NULL;
        g_string_append(s, sites->len == 1 ? "Site: " : "Sites: ");
        for (guint i = 0; i < sites->len; i++)
                g_string_append_printf(s, "%s%s", i ? ", " : "",
                                       fz_resource_site_get_name(g_ptr_array_index(sites, i)));
        return g_string_free(g_steal_pointer(&s), FALSE);
}

static GtkWidget *resource_row(FzResource *r) {
        GtkWidget *row = gtk_box_new(GTK_ORIENTATION_VERTICAL, 4);
        GtkWidget *line1 = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 8);
        GtkWidget *line2 = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
        GtkWidget *dot = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 0);
        GtkWidget *name = label_new(fz_resource_get_name(r), "heading", FALSE);
        GtkWidget *status = label_new(resource_status_text(fz_resource_get_status(r)), "dim-label", FALSE);
        const gchar *addr = fz_resource_get_address(r);
        gboolean internet = fz_resource_get_resource_type(r) == FZ_RESOURCE_TYPE_INTERNET;
        GtkWidget *address = label_new(*addr      ? addr
                                       : internet ? "All other internet traffic"
                                                  : "",
                                       "fz-address", FALSE);
        g_autofree gchar *sites = sites_text(r);
        const gchar *description = fz_resource_get_description(r);

        gtk_widget_add_css_class(dot, "fz-dot");
        if (fz_resource_get_status(r) == FZ_RESOURCE_STATUS_ONLINE)
                gtk_widget_add_css_class(dot, "online");
        else if (fz_resource_get_status(r) == FZ_RESOURCE_STATUS_OFFLINE)
                gtk_widget_add_css_class(dot, "offline");
        gtk_widget_set_valign(dot, GTK_ALIGN_CENTER);
        gtk_label_set_xalign(GTK_LABEL(name), 0);
        gtk_label_set_ellipsize(GTK_LABEL(name), PANGO_ELLIPSIZE_END);
        gtk_widget_set_hexpand(name, TRUE);
        gtk_widget_add_css_class(status, "caption");
        gtk_box_append(GTK_BOX(line1), dot);
        gtk_box_append(GTK_BOX(line1), name);
        gtk_box_append(GTK_BOX(line1), status);

        gtk_label_set_xalign(GTK_LABEL(address), 0);
        gtk_label_set_selectable(GTK_LABEL(address), TRUE);
        gtk_label_set_ellipsize(GTK_LABEL(address), PANGO_ELLIPSIZE_MIDDLE);
        gtk_widget_set_margin_start(address, 18);
        gtk_box_append(GTK_BOX(line2), address);
        if (*addr != '\0') {
                GtkWidget *copy = gtk_button_new_from_icon_name("edit-copy-symbolic");

                gtk_widget_add_css_class(copy, "flat");
                gtk_widget_set_tooltip_text(copy, "Copy address");
                gtk_actionable_set_action_name(GTK_ACTIONABLE(copy), "app.copy-address");
                gtk_actionable_set_action_target(GTK_ACTIONABLE(copy), "s", addr);
                gtk_box_append(GTK_BOX(line2), copy);
        }

        gtk_box_append(GTK_BOX(row), line1);
        gtk_box_append(GTK_BOX(row), line2);
        if (sites != NULL) {
                GtkWidget *s = label_new(sites, "dim-label", FALSE);
                gtk_widget_add_css_class(s, "caption");
                gtk_label_set_xalign(GTK_LABEL(s), 0);
                gtk_widget_set_margin_start(s, 18);
                gtk_box_append(GTK_BOX(row), s);
        }
        if (description != NULL && *description != '\0')
                gtk_widget_set_tooltip_text(row, description);
        return row;
}

static gchar *resources_signature(GPtrArray *resources) {
        GString *s = g_string_new(NULL);

        for (guint i = 0; resources != NULL && i < resources->len; i++) {
                FzResource *r = g_ptr_array_index(resources, i);
                g_autofree gchar *sites = sites_text(r);
                g_string_append_printf(s, "%s\x1f%s\x1f%s\x1f%d\x1f%s\x1f%s\x1e", fz_resource_get_id(r),
                                       fz_resource_get_name(r), fz_resource_get_address(r),
                                       (int)fz_resource_get_status(r), sites ? sites : "",
                                       fz_resource_get_description(r));
        }
        return g_string_free(s, FALSE);
}

static void update_resources(FzWindow *self, GPtrArray *resources) {
        g_autofree gchar *signature = resources_signature(resources);
        GtkWidget *child;

        if (g_strcmp0(signature, self->resources_signature) == 0)
                return;
        g_free(self->resources_signature);
        self->resources_signature = g_steal_pointer(&signature);
        while ((child = gtk_widget_get_first_child(self->resources_list)) != NULL)
                gtk_list_box_remove(GTK_LIST_BOX(self->resources_list), child);
        for (guint i = 0; resources != NULL && i < resources->len; i++) {
                FzResource *r = g_ptr_array_index(resources, i);
                gtk_list_box_append(GTK_LIST_BOX(self->resources_list), resource_row(r));
                g_info("Window shows resource: %s %s (%s)", fz_resource_get_name(r),
                       fz_resource_get_address(r), resource_status_text(fz_resource_get_status(r)));
        }
        gtk_widget_set_visible(self->resources_list, resources != NULL && resources->len > 0);
        gtk_widget_set_visible(self->resources_empty, resources == NULL || resources->len == 0);
}

/* ---- refresh from the app --------------------------------------------------------------- */

static void update_session(FzWindow *self, FzClient *client) {
        const gchar *actor = fz_client_get_actor_name(client);
        const gchar *slug = fz_client_get_account_slug(client);
        const gchar *last_error = fz_client_get_last_error(client);
        gboolean managed = fz_client_get_mode(client) == FZ_CLIENT_MODE_SERVICE_ACCOUNT;
        g_autofree gchar *who = NULL;
        const gchar *title, *icon;

        switch (fz_client_get_state(client)) {
        case FZ_CLIENT_STATE_CONNECTED:
                title = "Connected";
                icon = "dev.firezone.Client-connected-symbolic";
                break;
        case FZ_CLIENT_STATE_CONNECTING:
                title = "Connecting…";
                icon = "dev.firezone.Client-busy-symbolic";
                break;
        case FZ_CLIENT_STATE_RECONNECTING:
                title = "Reconnecting…";
                icon = "dev.firezone.Client-busy-symbolic";
                break;
        case FZ_CLIENT_STATE_SIGNED_OUT:
        default:
                title = "Not connected";
                icon = "dev.firezone.Client-disconnected-symbolic";
                break;
        }
        if (managed)
                who = *slug ? g_strdup_printf("Managed by your organization · account %s", slug)
                            : g_strdup("Managed by your organization");
        else if (*actor && *slug)
                who = g_strdup_printf("Signed in as %s · account %s", actor, slug);
        else if (*actor || *slug)
                who = g_strdup_printf("Signed in as %s", *actor ? actor : slug);
        else
                who = g_strdup("Signed in");
        gtk_label_set_text(GTK_LABEL(self->session_title), title);
        gtk_label_set_text(GTK_LABEL(self->session_who), who);
        gtk_image_set_from_icon_name(GTK_IMAGE(self->session_icon), icon);
        gtk_widget_set_visible(self->session_managed, managed);
        gtk_widget_set_visible(self->sign_out_button, !managed);
        gtk_label_set_text(GTK_LABEL(self->session_error), last_error);
        gtk_widget_set_visible(self->session_error,
                               *last_error != '\0' &&
                                       fz_client_get_state(client) != FZ_CLIENT_STATE_CONNECTED);
        update_resources(self, fz_client_get_resources(client));
}

static void refresh(FzWindow *self) {
        FzApp *app = self->app;
        FzPage page = fz_app_get_page(app);
        FzClient *client = fz_app_get_client(app);
        FzBannerKind kind;
        const gchar *banner = fz_app_get_banner(app, &kind);
        const gchar *keyring = fz_app_get_keyring_problem(app);
        g_autofree gchar *shown = NULL;

        gtk_widget_remove_css_class(self->banner_box, "error");
        gtk_widget_remove_css_class(self->banner_box, "warning");
        gtk_widget_remove_css_class(self->banner_box, "info");
        if (banner != NULL) {
                gtk_widget_add_css_class(self->banner_box, kind == FZ_BANNER_ERROR     ? "error"
                                                           : kind == FZ_BANNER_WARNING ? "warning"
                                                                                       : "info");
                gtk_image_set_from_icon_name(GTK_IMAGE(self->banner_icon),
                                             kind == FZ_BANNER_ERROR     ? "dialog-error-symbolic"
                                             : kind == FZ_BANNER_WARNING ? "dialog-warning-symbolic"
                                                                         : "dialog-information-symbolic");
                gtk_label_set_text(GTK_LABEL(self->banner_label), banner);
        }
        gtk_widget_set_visible(self->banner_box, banner != NULL);
        if (keyring != NULL)
                gtk_label_set_text(GTK_LABEL(self->keyring_label), keyring);
        gtk_widget_set_visible(self->keyring_box, keyring != NULL);

        switch (page) {
        case FZ_PAGE_NO_DAEMON: {
                const gchar *detail = fz_app_get_no_daemon_detail(app);
                gtk_label_set_text(GTK_LABEL(self->no_daemon_detail), detail ? detail : "");
                gtk_widget_set_visible(self->no_daemon_detail, detail != NULL);
                break;
        }
        case FZ_PAGE_NOT_IN_GROUP:
                if (fz_app_get_group_needs_relogin(app)) {
                        gtk_label_set_text(GTK_LABEL(self->group_title),
                                           "Log out and in again to use Firezone");
                        gtk_label_set_text(
                                GTK_LABEL(self->group_body),
                                "You were added to the group “firezone”, but this login session "
                                "started before that. Log out and log in again, then start Firezone.");
                } else {
                        gtk_label_set_text(GTK_LABEL(self->group_title),
                                           "You are not allowed to use Firezone");
                        gtk_label_set_text(
                                GTK_LABEL(self->group_body),
                                "Only members of the group “firezone” may use the Firezone service on "
                                "this computer. Ask an administrator to add you:");
                }
                gtk_widget_set_visible(self->group_command_box, !fz_app_get_group_needs_relogin(app));
                gtk_widget_set_visible(self->group_after, !fz_app_get_group_needs_relogin(app));
                break;
        case FZ_PAGE_SIGNED_OUT: {
                g_autofree gchar *slug = g_settings_get_string(fz_app_get_settings(app), "account-slug");
                g_autofree gchar *account = *slug ? g_strdup_printf("Account: %s", slug) : NULL;
                gtk_label_set_text(GTK_LABEL(self->signed_out_account), account ? account : "");
                gtk_widget_set_visible(self->signed_out_account, account != NULL);
                gtk_widget_set_visible(self->signed_out_admin, fz_app_get_sign_in_needs_admin(app));
                break;
        }
        case FZ_PAGE_SESSION:
                update_session(self, client);
                break;
        case FZ_PAGE_STARTING:
        case FZ_PAGE_SIGNING_IN:
        default:
                break;
        }
        gtk_stack_set_visible_child_name(GTK_STACK(self->stack), fz_app_page_to_string(page));

        /* What is on screen, for the log (and the GUI tests that read it). */
        if (page == FZ_PAGE_SESSION)
                shown = g_strdup_printf("%s: %s — %s%s", fz_app_page_to_string(page),
                                        gtk_label_get_text(GTK_LABEL(self->session_title)),
                                        gtk_label_get_text(GTK_LABEL(self->session_who)),
                                        gtk_widget_get_visible(self->session_managed) ? " (managed)" : "");
        else if (page == FZ_PAGE_SIGNED_OUT)
                shown = g_strdup_printf(
                        "%s: %s%s", fz_app_page_to_string(page),
                        gtk_label_get_text(GTK_LABEL(self->signed_out_account)),
                        gtk_widget_get_visible(self->signed_out_admin) ? " (administrator needed)" : "");
        else if (page == FZ_PAGE_NO_DAEMON)
                shown = g_strdup_printf("%s: The Firezone service is not running",
                                        fz_app_page_to_string(page));
        else if (page == FZ_PAGE_NOT_IN_GROUP)
                shown = g_strdup_printf("%s: %s", fz_app_page_to_string(page),
                                        gtk_label_get_text(GTK_LABEL(self->group_title)));
        else
                shown = g_strdup(fz_app_page_to_string(page));
        if (banner != NULL || keyring != NULL) {
                gchar *with_banners = g_strdup_printf("%s%s%s%s%s", shown, banner ? " [banner: " : "",
                                                      banner ? banner : "", banner ? "]" : "",
                                                      keyring ? " [keyring banner]" : "");
                g_free(shown);
                shown = with_banners;
        }
        if (g_strcmp0(shown, self->shown) != 0) {
                g_info("Window shows page %s", shown);
                g_free(self->shown);
                self->shown = g_steal_pointer(&shown);
                log_when_drawn(self);
        }
}

/* Logged once the frame with the new content is painted, so that whoever waits for it
 * (the GUI tests, before a screenshot) sees what the user sees. */
static void after_paint(GdkFrameClock *clock, gpointer user_data) {
        FzWindow *self = user_data;

        g_clear_signal_handler(&self->after_paint_id, self->after_paint_clock);
        self->after_paint_clock = NULL;
        g_info("Window drawn: %s", self->shown);
}

static void log_when_drawn(FzWindow *self) {
        GdkFrameClock *clock;

        if (!gtk_widget_get_mapped(GTK_WIDGET(self)) || self->after_paint_id != 0)
                return;
        clock = gtk_widget_get_frame_clock(GTK_WIDGET(self));
        if (clock == NULL)
                return;
        self->after_paint_clock = clock;
        self->after_paint_id = g_signal_connect(clock, "after-paint", G_CALLBACK(after_paint), self);
        gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void on_app_changed(FzApp *app, gpointer user_data) {
        refresh(FZ_WINDOW(user_data));
}

static gboolean on_close_request(GtkWindow *window, gpointer user_data) {
        g_info("Window closed (%s)",
               gtk_window_get_hide_on_close(window) ? "hidden: the tray stays" : "quitting");
        return FALSE;
}

static void on_unmap(GtkWidget *widget, gpointer user_data) {
        g_info("Window unmapped");
}

static void on_map(GtkWidget *widget, gpointer user_data) {
        g_info("Window mapped");
        log_when_drawn(FZ_WINDOW(widget));
}

/* ---- construction ----------------------------------------------------------------------- */

/* Plain boxes shown and hidden, not GtkRevealers: GTK 4.8's revealer mis-measures the
 * wrapped label inside (and there are no animations to show anyway). */
static GtkWidget *build_banner(FzWindow *self) {
        GtkWidget *close = gtk_button_new_from_icon_name("window-close-symbolic");

        self->banner_box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 10);
        self->banner_icon = gtk_image_new_from_icon_name("dialog-error-symbolic");
        self->banner_label = gtk_label_new("");
        gtk_widget_add_css_class(self->banner_box, "fz-banner");
        gtk_label_set_wrap(GTK_LABEL(self->banner_label), TRUE);
        gtk_label_set_xalign(GTK_LABEL(self->banner_label), 0);
        gtk_widget_set_hexpand(self->banner_label, TRUE);
        gtk_widget_add_css_class(close, "flat");
        gtk_widget_set_valign(close, GTK_ALIGN_CENTER);
        gtk_widget_set_tooltip_text(close, "Dismiss");
        gtk_actionable_set_action_name(GTK_ACTIONABLE(close), "app.dismiss-banner");
        gtk_box_append(GTK_BOX(self->banner_box), self->banner_icon);
        gtk_box_append(GTK_BOX(self->banner_box), self->banner_label);
        gtk_box_append(GTK_BOX(self->banner_box), close);
        gtk_widget_set_visible(self->banner_box, FALSE);
        return self->banner_box;
}

static GtkWidget *build_keyring_banner(FzWindow *self) {
        self->keyring_box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 10);
        self->keyring_label = gtk_label_new("");
        gtk_widget_add_css_class(self->keyring_box, "fz-banner");
        gtk_widget_add_css_class(self->keyring_box, "warning");
        gtk_label_set_wrap(GTK_LABEL(self->keyring_label), TRUE);
        gtk_label_set_xalign(GTK_LABEL(self->keyring_label), 0);
        gtk_widget_set_hexpand(self->keyring_label, TRUE);
        gtk_box_append(GTK_BOX(self->keyring_box), gtk_image_new_from_icon_name("dialog-password-symbolic"));
        gtk_box_append(GTK_BOX(self->keyring_box), self->keyring_label);
        gtk_widget_set_visible(self->keyring_box, FALSE);
        return self->keyring_box;
}

static GMenuModel *primary_menu(void) {
        GMenu *menu = g_menu_new();
        g_autoptr(GMenu) s1 = g_menu_new();
        g_autoptr(GMenu) s2 = g_menu_new();

        g_menu_append(s1, "_Settings", "app.preferences");
        g_menu_append(s2, "_About Firezone", "app.about");
        g_menu_append(s2, "_Quit", "app.quit");
        g_menu_append_section(menu, NULL, G_MENU_MODEL(s1));
        g_menu_append_section(menu, NULL, G_MENU_MODEL(s2));
        return G_MENU_MODEL(menu);
}

FzWindow *fz_window_new(FzApp *app) {
        FzWindow *self = g_object_new(FZ_TYPE_WINDOW, "application", app, NULL);
        GtkWidget *header = gtk_header_bar_new();
        GtkWidget *menu_button = gtk_menu_button_new();
        g_autoptr(GMenuModel) menu = primary_menu();
        GtkWidget *content = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0);
        GtkStack *stack;

        self->app = app;
        gtk_window_set_title(GTK_WINDOW(self), "Firezone");
        gtk_window_set_default_size(GTK_WINDOW(self), 560, 600);
        gtk_menu_button_set_icon_name(GTK_MENU_BUTTON(menu_button), "open-menu-symbolic");
        gtk_menu_button_set_menu_model(GTK_MENU_BUTTON(menu_button), menu);
        gtk_widget_set_tooltip_text(menu_button, "Main menu");
        gtk_header_bar_pack_end(GTK_HEADER_BAR(header), menu_button);
        gtk_window_set_titlebar(GTK_WINDOW(self), header);

        gtk_box_append(GTK_BOX(content), build_banner(self));
        gtk_box_append(GTK_BOX(content), build_keyring_banner(self));
        self->stack = gtk_stack_new();
        stack = GTK_STACK(self->stack);
        gtk_stack_set_transition_type(stack, GTK_STACK_TRANSITION_TYPE_CROSSFADE);
        gtk_widget_set_vexpand(self->stack, TRUE);
        gtk_stack_add_named(stack, page_starting(), fz_app_page_to_string(FZ_PAGE_STARTING));
        gtk_stack_add_named(stack, page_no_daemon(self), fz_app_page_to_string(FZ_PAGE_NO_DAEMON));
        gtk_stack_add_named(stack, page_not_in_group(self), fz_app_page_to_string(FZ_PAGE_NOT_IN_GROUP));
        gtk_stack_add_named(stack, page_signed_out(self), fz_app_page_to_string(FZ_PAGE_SIGNED_OUT));
        gtk_stack_add_named(stack, page_signing_in(), fz_app_page_to_string(FZ_PAGE_SIGNING_IN));
        gtk_stack_add_named(stack, page_session(self), fz_app_page_to_string(FZ_PAGE_SESSION));
        gtk_box_append(GTK_BOX(content), self->stack);
        gtk_window_set_child(GTK_WINDOW(self), content);

        self->changed_id = g_signal_connect(app, "changed", G_CALLBACK(on_app_changed), self);
        g_signal_connect(self, "map", G_CALLBACK(on_map), NULL);
        g_signal_connect(self, "unmap", G_CALLBACK(on_unmap), NULL);
        g_signal_connect(self, "close-request", G_CALLBACK(on_close_request), NULL);
        refresh(self);
        return self;
}

static void fz_window_dispose(GObject *object) {
        FzWindow *self = FZ_WINDOW(object);

        g_clear_signal_handler(&self->changed_id, self->app);
        if (self->after_paint_clock != NULL)
                g_clear_signal_handler(&self->after_paint_id, self->after_paint_clock);
        self->after_paint_clock = NULL;
        G_OBJECT_CLASS(fz_window_parent_class)->dispose(object);
}

static void fz_window_finalize(GObject *object) {
        FzWindow *self = FZ_WINDOW(object);

        g_free(self->resources_signature);
        g_free(self->shown);
        G_OBJECT_CLASS(fz_window_parent_class)->finalize(object);
}

static void fz_window_class_init(FzWindowClass *klass) {
        GObjectClass *object_class = G_OBJECT_CLASS(klass);

        object_class->dispose = fz_window_dispose;
        object_class->finalize = fz_window_finalize;
}

static void fz_window_init(FzWindow *self) {
}
