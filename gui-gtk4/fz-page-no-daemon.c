/* SPDX-License-Identifier: Apache-2.0 */
/* The service is not running: the command that starts it, and the details when the system
 * bus itself is out of reach. */
#include "fz-app-id.h"
#include "fz-command-box.h"
#include "fz-pages.h"
#include "fz-text.h"

struct _FzNoDaemonPage {
        FzPage parent_instance;

        GtkWidget *detail_label;
};

G_DEFINE_FINAL_TYPE(FzNoDaemonPage, fz_no_daemon_page, FZ_TYPE_PAGE)

static void sync_page(FzNoDaemonPage *self, FzModel *model) {
        const gchar *detail = fz_model_get_no_daemon_detail(model);
        g_autofree gchar *clean = fz_text_sanitize(detail, FZ_TEXT_MESSAGE_MAX);

        gtk_label_set_text(GTK_LABEL(self->detail_label), clean);
        gtk_widget_set_visible(self->detail_label, *clean != '\0');
}

static void on_phase(GObject *model, GParamSpec *pspec, gpointer user_data) {
        sync_page(user_data, FZ_MODEL(model));
}

static void bind(FzPage *page, FzModel *model) {
        g_signal_connect_object(model, "notify::phase", G_CALLBACK(on_phase), page, 0);
        sync_page(FZ_NO_DAEMON_PAGE(page), model);
}

static void fz_no_daemon_page_class_init(FzNoDaemonPageClass *klass) {
        GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

        FZ_PAGE_CLASS(klass)->bind = bind;
        g_type_ensure(FZ_TYPE_COMMAND_BOX);
        gtk_widget_class_set_template_from_resource(widget_class,
                                                    FZ_APP_RESOURCE_PATH "/ui/fz-page-no-daemon.ui");
        gtk_widget_class_bind_template_child(widget_class, FzNoDaemonPage, detail_label);
}

static void fz_no_daemon_page_init(FzNoDaemonPage *self) {
        gtk_widget_init_template(GTK_WIDGET(self));
}
