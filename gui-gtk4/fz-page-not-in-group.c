/* SPDX-License-Identifier: Apache-2.0 */
/* The bus refuses this user: how to be let in, or that only a new login is missing. */
#include <glib/gi18n.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "fz-app-id.h"
#include "fz-command-box.h"
#include "fz-pages.h"

struct _FzNotInGroupPage {
        FzPage parent_instance;

        GtkWidget *status_page;
        GtkWidget *command_box;
        GtkWidget *after_label;
};

G_DEFINE_FINAL_TYPE(FzNotInGroupPage, fz_not_in_group_page, FZ_TYPE_PAGE)

static void bind(FzPage *page, FzModel *model) {
        FzNotInGroupPage *self = FZ_NOT_IN_GROUP_PAGE(page);
        gboolean relogin = fz_model_get_group_needs_relogin(model);
        AdwStatusPage *status = ADW_STATUS_PAGE(self->status_page);

        /* The process's groups never change: this is known once and for all. */
        if (relogin) {
                adw_status_page_set_title(status, _("Log out and in again to use Firezone"));
                adw_status_page_set_description(status,
                                                _("You were added to the group “firezone”, but this login "
                                                  "session started before that. Log out and log in again, "
                                                  "then start Firezone."));
        } else {
                adw_status_page_set_title(status, _("You are not allowed to use Firezone"));
                adw_status_page_set_description(status,
                                                _("Only members of the group “firezone” may use the "
                                                  "Firezone service on this computer. Ask an administrator "
                                                  "to add you:"));
        }
        gtk_widget_set_visible(self->command_box, !relogin);
        gtk_widget_set_visible(self->after_label, !relogin);
}

static void fz_not_in_group_page_class_init(FzNotInGroupPageClass *klass) {
        GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

        FZ_PAGE_CLASS(klass)->bind = bind;
        g_type_ensure(FZ_TYPE_COMMAND_BOX);
        gtk_widget_class_set_template_from_resource(widget_class,
                                                    FZ_APP_RESOURCE_PATH "/ui/fz-page-not-in-group.ui");
        gtk_widget_class_bind_template_child(widget_class, FzNotInGroupPage, status_page);
        gtk_widget_class_bind_template_child(widget_class, FzNotInGroupPage, command_box);
        gtk_widget_class_bind_template_child(widget_class, FzNotInGroupPage, after_label);
}

static void fz_not_in_group_page_init(FzNotInGroupPage *self) {
        const struct passwd *pw = getpwuid(getuid());
        g_autofree gchar *command = NULL;

        gtk_widget_init_template(GTK_WIDGET(self));
        /* A user name never needs quoting in a shell (useradd's rules), but be safe. */
        if (pw != NULL) {
                g_autofree gchar *quoted = g_shell_quote(pw->pw_name);
                command = g_strdup_printf("sudo usermod -aG firezone %s",
                                          g_str_has_prefix(quoted, "'") &&
                                                          strpbrk(pw->pw_name, " \t'\"$`\\") == NULL
                                                  ? pw->pw_name
                                                  : quoted);
        } else {
                command = g_strdup("sudo usermod -aG firezone $USER");
        }
        fz_command_box_set_command(FZ_COMMAND_BOX(self->command_box), command);
}
