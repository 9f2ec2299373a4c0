/* SPDX-License-Identifier: Apache-2.0 */
/* The session: the state in the shared wording, who is signed in, the daemon's last error
 * while not connected, and the resources — favourites first, each a FzResourceRow. */
#include "fz-app-id.h"
#include "fz-pages.h"
#include "fz-resource-row.h"

struct _FzSessionPage {
        FzPage parent_instance;

        GtkFilter *favorite_filter;
        GtkFilter *other_filter;
        GListModel *favorites;
        GListModel *others;

        GtkWidget *state_icon;
        GtkWidget *state_label;
        GtkWidget *identity_label;
        GtkWidget *sign_out_button;
        GtkWidget *managed_label;
        GtkWidget *error_label;
        GtkWidget *favorites_group;
        GtkWidget *favorites_list;
        GtkWidget *resources_group;
        GtkWidget *resources_list;
        GtkWidget *empty_label;
};

G_DEFINE_FINAL_TYPE(FzSessionPage, fz_session_page, FZ_TYPE_PAGE)

static void sync_state(FzSessionPage *self, FzModel *model) {
        FzPhase phase = fz_model_get_phase(model);
        const gchar *last_error = fz_model_get_last_error(model);

        if (!fz_phase_has_session(phase))
                return;
        gtk_label_set_text(GTK_LABEL(self->state_label), fz_phase_get_title(phase));
        gtk_image_set_from_icon_name(GTK_IMAGE(self->state_icon), fz_phase_get_icon_name(phase));
        gtk_label_set_text(GTK_LABEL(self->identity_label), fz_model_get_identity(model));
        gtk_widget_set_visible(self->managed_label, fz_model_get_managed(model));
        gtk_widget_set_visible(self->sign_out_button, !fz_model_get_managed(model));
        gtk_label_set_text(GTK_LABEL(self->error_label), last_error);
        gtk_widget_set_visible(self->error_label, *last_error != '\0' && phase != FZ_PHASE_CONNECTED);
}

static void sync_lists(FzSessionPage *self) {
        guint n_favorites = g_list_model_get_n_items(self->favorites);
        guint n_others = g_list_model_get_n_items(self->others);

        gtk_widget_set_visible(self->favorites_group, n_favorites > 0);
        gtk_widget_set_visible(self->resources_list, n_others > 0);
        gtk_widget_set_visible(self->empty_label, n_favorites + n_others == 0);
        /* With every resource a favourite, the "Resources" heading would head nothing. */
        gtk_widget_set_visible(self->resources_group, n_others > 0 || n_favorites == 0);
}

static void on_model_notify(GObject *model, GParamSpec *pspec, gpointer user_data) {
        sync_state(user_data, FZ_MODEL(model));
}

static void on_favorites(GObject *model, GParamSpec *pspec, gpointer user_data) {
        FzSessionPage *self = user_data;

        gtk_filter_changed(self->favorite_filter, GTK_FILTER_CHANGE_DIFFERENT);
        gtk_filter_changed(self->other_filter, GTK_FILTER_CHANGE_DIFFERENT);
}

static void on_items_changed(GListModel *list, guint position, guint removed, guint added,
                             gpointer user_data) {
        sync_lists(user_data);
}

static gboolean is_favorite(gpointer item, gpointer user_data) {
        return fz_model_is_favorite(FZ_MODEL(user_data), fz_resource_get_id(item));
}

static gboolean is_other(gpointer item, gpointer user_data) {
        return !is_favorite(item, user_data);
}

static GtkWidget *create_row(gpointer item, gpointer user_data) {
        return fz_resource_row_new(FZ_MODEL(user_data), FZ_RESOURCE(item));
}

static void bind(FzPage *page, FzModel *model) {
        FzSessionPage *self = FZ_SESSION_PAGE(page);
        static const gchar *const watched[] = {"notify::phase", "notify::identity", "notify::managed",
                                               "notify::last-error"};
        GListModel *resources = fz_model_get_resources(model);

        for (gsize i = 0; i < G_N_ELEMENTS(watched); i++)
                g_signal_connect_object(model, watched[i], G_CALLBACK(on_model_notify), self, 0);
        g_signal_connect_object(model, "notify::favorites", G_CALLBACK(on_favorites), self, 0);

        self->favorite_filter = GTK_FILTER(gtk_custom_filter_new(is_favorite, model, NULL));
        self->other_filter = GTK_FILTER(gtk_custom_filter_new(is_other, model, NULL));
        self->favorites = G_LIST_MODEL(
                gtk_filter_list_model_new(g_object_ref(resources), g_object_ref(self->favorite_filter)));
        self->others = G_LIST_MODEL(
                gtk_filter_list_model_new(g_object_ref(resources), g_object_ref(self->other_filter)));
        g_signal_connect_object(self->favorites, "items-changed", G_CALLBACK(on_items_changed), self, 0);
        g_signal_connect_object(self->others, "items-changed", G_CALLBACK(on_items_changed), self, 0);
        gtk_list_box_bind_model(GTK_LIST_BOX(self->favorites_list), self->favorites, create_row, model,
                                NULL);
        gtk_list_box_bind_model(GTK_LIST_BOX(self->resources_list), self->others, create_row, model, NULL);
        sync_state(self, model);
        sync_lists(self);
}

static void fz_session_page_dispose(GObject *object) {
        FzSessionPage *self = FZ_SESSION_PAGE(object);

        if (self->favorites_list != NULL)
                gtk_list_box_bind_model(GTK_LIST_BOX(self->favorites_list), NULL, NULL, NULL, NULL);
        if (self->resources_list != NULL)
                gtk_list_box_bind_model(GTK_LIST_BOX(self->resources_list), NULL, NULL, NULL, NULL);
        g_clear_object(&self->favorites);
        g_clear_object(&self->others);
        g_clear_object(&self->favorite_filter);
        g_clear_object(&self->other_filter);
        G_OBJECT_CLASS(fz_session_page_parent_class)->dispose(object);
}

static void fz_session_page_class_init(FzSessionPageClass *klass) {
        GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

        G_OBJECT_CLASS(klass)->dispose = fz_session_page_dispose;
        FZ_PAGE_CLASS(klass)->bind = bind;
        gtk_widget_class_set_template_from_resource(widget_class,
                                                    FZ_APP_RESOURCE_PATH "/ui/fz-page-session.ui");
        gtk_widget_class_bind_template_child(widget_class, FzSessionPage, state_icon);
        gtk_widget_class_bind_template_child(widget_class, FzSessionPage, state_label);
        gtk_widget_class_bind_template_child(widget_class, FzSessionPage, identity_label);
        gtk_widget_class_bind_template_child(widget_class, FzSessionPage, sign_out_button);
        gtk_widget_class_bind_template_child(widget_class, FzSessionPage, managed_label);
        gtk_widget_class_bind_template_child(widget_class, FzSessionPage, error_label);
        gtk_widget_class_bind_template_child(widget_class, FzSessionPage, favorites_group);
        gtk_widget_class_bind_template_child(widget_class, FzSessionPage, favorites_list);
        gtk_widget_class_bind_template_child(widget_class, FzSessionPage, resources_group);
        gtk_widget_class_bind_template_child(widget_class, FzSessionPage, resources_list);
        gtk_widget_class_bind_template_child(widget_class, FzSessionPage, empty_label);
}

static void fz_session_page_init(FzSessionPage *self) {
        gtk_widget_init_template(GTK_WIDGET(self));
}
