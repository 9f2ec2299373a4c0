/* SPDX-License-Identifier: Apache-2.0 */
/* The sign-in page: the account the browser will be asked for, the Sign In button, and
 * what stands in the way (an administrator's password, a managed device). */
#include "fz-pages.h"

#include <glib/gi18n.h>

#include "fz-app-id.h"
#include "fz-text.h"

struct _FzSignedOutPage {
        FzPage parent_instance;

        GSettings *settings;
        GtkWidget *error_label;
        GtkWidget *account_label;
        GtkWidget *sign_in_button;
        GtkWidget *admin_box;
        GtkWidget *managed_label;
};

G_DEFINE_FINAL_TYPE(FzSignedOutPage, fz_signed_out_page, FZ_TYPE_PAGE)

static void sync_page(FzSignedOutPage *self) {
        FzModel *model = fz_page_get_model(FZ_PAGE(self));
        g_autofree gchar *slug = g_settings_get_string(self->settings, "account-slug");
        g_autofree gchar *clean = fz_text_sanitize(slug, FZ_TEXT_NAME_MAX);
        /* Translators: %s is the account (organization) ID, e.g. "acme". */
        g_autofree gchar *account = *clean != '\0' ? g_strdup_printf(_("Account: %s"), clean) : NULL;
        gboolean managed;

        if (model == NULL)
                return;
        managed = fz_model_get_managed(model);
        /* The session ended on its own: say why (an expired session has the banner). */
        gtk_label_set_text(GTK_LABEL(self->error_label), fz_model_get_last_error(model));
        gtk_widget_set_visible(self->error_label,
                               *fz_model_get_last_error(model) != '\0' && !fz_model_get_requires_sign_in(model));
        gtk_label_set_text(GTK_LABEL(self->account_label), account != NULL ? account : "");
        gtk_widget_set_visible(self->account_label, account != NULL && !managed);
        gtk_widget_set_visible(self->admin_box, fz_model_get_sign_in_needs_admin(model) && !managed);
        gtk_widget_set_visible(self->sign_in_button, !managed);
        gtk_widget_set_visible(self->managed_label, managed);
}

static void on_model_notify(GObject *model, GParamSpec *pspec, gpointer user_data) {
        sync_page(user_data);
}

static void on_settings_changed(GSettings *settings, const gchar *key, gpointer user_data) {
        sync_page(user_data);
}

static void bind(FzPage *page, FzModel *model) {
        FzSignedOutPage *self = FZ_SIGNED_OUT_PAGE(page);

        g_signal_connect_object(model, "notify::managed", G_CALLBACK(on_model_notify), self, 0);
        g_signal_connect_object(model, "notify::sign-in-needs-admin", G_CALLBACK(on_model_notify), self, 0);
        g_signal_connect_object(model, "notify::last-error", G_CALLBACK(on_model_notify), self, 0);
        g_signal_connect_object(model, "notify::requires-sign-in", G_CALLBACK(on_model_notify), self, 0);
        sync_page(self);
}

static void fz_signed_out_page_dispose(GObject *object) {
        FzSignedOutPage *self = FZ_SIGNED_OUT_PAGE(object);

        if (self->settings != NULL)
                g_signal_handlers_disconnect_by_data(self->settings, self);
        g_clear_object(&self->settings);
        G_OBJECT_CLASS(fz_signed_out_page_parent_class)->dispose(object);
}

static void fz_signed_out_page_class_init(FzSignedOutPageClass *klass) {
        GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

        G_OBJECT_CLASS(klass)->dispose = fz_signed_out_page_dispose;
        FZ_PAGE_CLASS(klass)->bind = bind;
        gtk_widget_class_set_template_from_resource(widget_class,
                                                    FZ_APP_RESOURCE_PATH "/ui/fz-page-signed-out.ui");
        gtk_widget_class_bind_template_child(widget_class, FzSignedOutPage, error_label);
        gtk_widget_class_bind_template_child(widget_class, FzSignedOutPage, account_label);
        gtk_widget_class_bind_template_child(widget_class, FzSignedOutPage, sign_in_button);
        gtk_widget_class_bind_template_child(widget_class, FzSignedOutPage, admin_box);
        gtk_widget_class_bind_template_child(widget_class, FzSignedOutPage, managed_label);
}

static void fz_signed_out_page_init(FzSignedOutPage *self) {
        gtk_widget_init_template(GTK_WIDGET(self));
        self->settings = g_settings_new(FZ_APP_ID);
        g_signal_connect(self->settings, "changed::account-slug", G_CALLBACK(on_settings_changed), self);
}
