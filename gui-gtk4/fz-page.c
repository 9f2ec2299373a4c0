/* SPDX-License-Identifier: Apache-2.0 */
#include "fz-page.h"

typedef struct {
        FzModel *model;
        GtkWidget *default_widget;
} FzPagePrivate;

enum { PROP_0, PROP_MODEL, PROP_DEFAULT_WIDGET, N_PROPS };
static GParamSpec *props[N_PROPS];

G_DEFINE_TYPE_WITH_PRIVATE(FzPage, fz_page, ADW_TYPE_BIN)

FzModel *fz_page_get_model(FzPage *self) {
        FzPagePrivate *priv = fz_page_get_instance_private(self);

        return priv->model;
}

void fz_page_set_model(FzPage *self, FzModel *model) {
        FzPagePrivate *priv = fz_page_get_instance_private(self);

        g_return_if_fail(priv->model == NULL);
        if (model == NULL)
                return;
        priv->model = g_object_ref(model);
        if (FZ_PAGE_GET_CLASS(self)->bind != NULL)
                FZ_PAGE_GET_CLASS(self)->bind(self, model);
        g_object_notify_by_pspec(G_OBJECT(self), props[PROP_MODEL]);
}

GtkWidget *fz_page_get_default_widget(FzPage *self) {
        FzPagePrivate *priv = fz_page_get_instance_private(self);

        return priv->default_widget;
}

static void fz_page_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
        FzPagePrivate *priv = fz_page_get_instance_private(FZ_PAGE(object));

        switch (prop_id) {
        case PROP_MODEL:
                g_value_set_object(value, priv->model);
                break;
        case PROP_DEFAULT_WIDGET:
                g_value_set_object(value, priv->default_widget);
                break;
        default:
                G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
        }
}

static void fz_page_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec) {
        FzPagePrivate *priv = fz_page_get_instance_private(FZ_PAGE(object));

        switch (prop_id) {
        case PROP_MODEL:
                fz_page_set_model(FZ_PAGE(object), g_value_get_object(value));
                break;
        case PROP_DEFAULT_WIDGET:
                /* A child of the page: not referenced. */
                priv->default_widget = g_value_get_object(value);
                break;
        default:
                G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
        }
}

static void fz_page_dispose(GObject *object) {
        FzPagePrivate *priv = fz_page_get_instance_private(FZ_PAGE(object));

        priv->default_widget = NULL;
        if (priv->model != NULL)
                g_signal_handlers_disconnect_by_data(priv->model, object);
        g_clear_object(&priv->model);
        G_OBJECT_CLASS(fz_page_parent_class)->dispose(object);
}

static void fz_page_class_init(FzPageClass *klass) {
        GObjectClass *object_class = G_OBJECT_CLASS(klass);

        object_class->get_property = fz_page_get_property;
        object_class->set_property = fz_page_set_property;
        object_class->dispose = fz_page_dispose;
        props[PROP_MODEL] =
                g_param_spec_object("model", NULL, NULL, FZ_TYPE_MODEL,
                                    G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
        props[PROP_DEFAULT_WIDGET] = g_param_spec_object("default-widget", NULL, NULL, GTK_TYPE_WIDGET,
                                                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
        g_object_class_install_properties(object_class, N_PROPS, props);
}

static void fz_page_init(FzPage *self) {
}
