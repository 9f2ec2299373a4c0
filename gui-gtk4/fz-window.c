/* SPDX-License-Identifier: Apache-2.0 */
#include "fz-window.h"

#include "fz-app-id.h"
#include "fz-pages.h"
#include "fz-text.h"

struct _FzWindow {
        AdwApplicationWindow parent_instance;

        FzModel *model;

        GtkWidget *toasts;
        GtkWidget *status_label;
        GtkWidget *notice_box;
        GtkWidget *notice_icon;
        GtkWidget *notice_label;
        GtkWidget *keyring_box;
        GtkWidget *keyring_label;
        GtkWidget *stack;
        GtkWidget *starting_page;
        GtkWidget *no_daemon_page;
        GtkWidget *not_in_group_page;
        GtkWidget *signed_out_page;
        GtkWidget *signing_in_page;
        GtkWidget *session_page;
};

G_DEFINE_FINAL_TYPE(FzWindow, fz_window, ADW_TYPE_APPLICATION_WINDOW)

static GtkWidget *page_for(FzWindow *self, FzPhase phase) {
        switch (phase) {
        case FZ_PHASE_NO_DAEMON:
                return self->no_daemon_page;
        case FZ_PHASE_NOT_IN_GROUP:
                return self->not_in_group_page;
        case FZ_PHASE_SIGNED_OUT:
                return self->signed_out_page;
        case FZ_PHASE_SIGNING_IN:
                return self->signing_in_page;
        case FZ_PHASE_CONNECTING:
        case FZ_PHASE_CONNECTED:
        case FZ_PHASE_RECONNECTING:
                return self->session_page;
        case FZ_PHASE_STARTING:
        default:
                return self->starting_page;
        }
}

static void sync_phase(FzWindow *self) {
        FzPhase phase = fz_model_get_phase(self->model);
        GtkWidget *page = page_for(self, phase);
        GtkWidget *previous = gtk_stack_get_visible_child(GTK_STACK(self->stack));

        gtk_label_set_text(GTK_LABEL(self->status_label), fz_phase_get_title(phase));
        gtk_widget_set_visible(page, TRUE);
        gtk_stack_set_visible_child(GTK_STACK(self->stack), page);
        /* Only the page shown is visible: GTK 4.8 would otherwise present the stack's other
         * pages to assistive technology as if they were on screen. */
        for (GtkWidget *c = gtk_widget_get_first_child(self->stack); c != NULL;
             c = gtk_widget_get_next_sibling(c))
                if (c != page)
                        gtk_widget_set_visible(c, FALSE);
        /* Keyboard users land on what the page is for (e.g. Sign In). */
        if (page != previous && FZ_IS_PAGE(page) && fz_page_get_default_widget(FZ_PAGE(page)) != NULL)
                gtk_widget_grab_focus(fz_page_get_default_widget(FZ_PAGE(page)));
}

static void sync_notices(FzWindow *self) {
        FzNoticeKind kind;
        const gchar *notice = fz_model_get_notice(self->model, &kind);
        const gchar *keyring = fz_model_get_keyring_problem(self->model);

        gtk_widget_remove_css_class(self->notice_box, "error");
        gtk_widget_remove_css_class(self->notice_box, "warning");
        if (notice != NULL) {
                gtk_widget_add_css_class(self->notice_box, kind == FZ_NOTICE_ERROR ? "error" : "warning");
                gtk_image_set_from_icon_name(GTK_IMAGE(self->notice_icon),
                                             kind == FZ_NOTICE_ERROR ? "dialog-error-symbolic"
                                                                     : "dialog-warning-symbolic");
                gtk_label_set_text(GTK_LABEL(self->notice_label), notice);
        }
        gtk_widget_set_visible(self->notice_box, notice != NULL);
        gtk_label_set_text(GTK_LABEL(self->keyring_label), keyring != NULL ? keyring : "");
        gtk_widget_set_visible(self->keyring_box, keyring != NULL);
}

static void on_phase(GObject *model, GParamSpec *pspec, gpointer user_data) {
        sync_phase(user_data);
}

static void on_notices(GObject *model, GParamSpec *pspec, gpointer user_data) {
        sync_notices(user_data);
}

void fz_window_show_toast(FzWindow *self, const gchar *text) {
        /* A toast's title is markup. */
        g_autofree gchar *markup = fz_text_markup(text, FZ_TEXT_MESSAGE_MAX);
        AdwToast *toast = adw_toast_new(markup);

        adw_toast_set_timeout(toast, 3);
        adw_toast_overlay_add_toast(ADW_TOAST_OVERLAY(self->toasts), toast);
}

FzWindow *fz_window_new(GtkApplication *app, FzModel *model) {
        FzWindow *self = g_object_new(FZ_TYPE_WINDOW, "application", app, NULL);
        GtkWidget *pages[] = {self->no_daemon_page, self->not_in_group_page, self->signed_out_page,
                              self->signing_in_page, self->session_page};

        self->model = g_object_ref(model);
        for (gsize i = 0; i < G_N_ELEMENTS(pages); i++)
                fz_page_set_model(FZ_PAGE(pages[i]), model);
        g_signal_connect_object(model, "notify::phase", G_CALLBACK(on_phase), self, 0);
        g_signal_connect_object(model, "notify::notice", G_CALLBACK(on_notices), self, 0);
        g_signal_connect_object(model, "notify::keyring-problem", G_CALLBACK(on_notices), self, 0);
        sync_phase(self);
        sync_notices(self);
        return self;
}

static void fz_window_dispose(GObject *object) {
        FzWindow *self = FZ_WINDOW(object);

        g_clear_object(&self->model);
        G_OBJECT_CLASS(fz_window_parent_class)->dispose(object);
}

static void fz_window_class_init(FzWindowClass *klass) {
        GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

        G_OBJECT_CLASS(klass)->dispose = fz_window_dispose;
        g_type_ensure(FZ_TYPE_NO_DAEMON_PAGE);
        g_type_ensure(FZ_TYPE_NOT_IN_GROUP_PAGE);
        g_type_ensure(FZ_TYPE_SIGNED_OUT_PAGE);
        g_type_ensure(FZ_TYPE_SIGNING_IN_PAGE);
        g_type_ensure(FZ_TYPE_SESSION_PAGE);
        gtk_widget_class_set_template_from_resource(widget_class, FZ_APP_RESOURCE_PATH "/ui/fz-window.ui");
        gtk_widget_class_bind_template_child(widget_class, FzWindow, toasts);
        gtk_widget_class_bind_template_child(widget_class, FzWindow, status_label);
        gtk_widget_class_bind_template_child(widget_class, FzWindow, notice_box);
        gtk_widget_class_bind_template_child(widget_class, FzWindow, notice_icon);
        gtk_widget_class_bind_template_child(widget_class, FzWindow, notice_label);
        gtk_widget_class_bind_template_child(widget_class, FzWindow, keyring_box);
        gtk_widget_class_bind_template_child(widget_class, FzWindow, keyring_label);
        gtk_widget_class_bind_template_child(widget_class, FzWindow, stack);
        gtk_widget_class_bind_template_child(widget_class, FzWindow, starting_page);
        gtk_widget_class_bind_template_child(widget_class, FzWindow, no_daemon_page);
        gtk_widget_class_bind_template_child(widget_class, FzWindow, not_in_group_page);
        gtk_widget_class_bind_template_child(widget_class, FzWindow, signed_out_page);
        gtk_widget_class_bind_template_child(widget_class, FzWindow, signing_in_page);
        gtk_widget_class_bind_template_child(widget_class, FzWindow, session_page);
}

static void fz_window_init(FzWindow *self) {
        gtk_widget_init_template(GTK_WIDGET(self));
}
