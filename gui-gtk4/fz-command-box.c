/* SPDX-License-Identifier: Apache-2.0 */
#include "fz-command-box.h"

#include "fz-app-id.h"

struct _FzCommandBox {
        GtkBox parent_instance;

        GtkWidget *label;
        GtkWidget *copy_button;
};

enum { PROP_0, PROP_COMMAND, N_PROPS };
static GParamSpec *props[N_PROPS];

G_DEFINE_FINAL_TYPE(FzCommandBox, fz_command_box, GTK_TYPE_BOX)

void fz_command_box_set_command(FzCommandBox *self, const gchar *command) {
        gtk_label_set_text(GTK_LABEL(self->label), command);
        gtk_actionable_set_action_target(GTK_ACTIONABLE(self->copy_button), "s", command);
        g_object_notify_by_pspec(G_OBJECT(self), props[PROP_COMMAND]);
}

static void fz_command_box_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
        FzCommandBox *self = FZ_COMMAND_BOX(object);

        switch (prop_id) {
        case PROP_COMMAND:
                g_value_set_string(value, gtk_label_get_text(GTK_LABEL(self->label)));
                break;
        default:
                G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
        }
}

static void fz_command_box_set_property(GObject *object, guint prop_id, const GValue *value,
                                        GParamSpec *pspec) {
        switch (prop_id) {
        case PROP_COMMAND:
                fz_command_box_set_command(FZ_COMMAND_BOX(object), g_value_get_string(value));
                break;
        default:
                G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
        }
}

static void fz_command_box_class_init(FzCommandBoxClass *klass) {
        GObjectClass *object_class = G_OBJECT_CLASS(klass);
        GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

        object_class->get_property = fz_command_box_get_property;
        object_class->set_property = fz_command_box_set_property;
        props[PROP_COMMAND] =
                g_param_spec_string("command", NULL, NULL, "",
                                    G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
        g_object_class_install_properties(object_class, N_PROPS, props);
        gtk_widget_class_set_template_from_resource(widget_class,
                                                    FZ_APP_RESOURCE_PATH "/ui/fz-command-box.ui");
        gtk_widget_class_bind_template_child(widget_class, FzCommandBox, label);
        gtk_widget_class_bind_template_child(widget_class, FzCommandBox, copy_button);
}

static void fz_command_box_init(FzCommandBox *self) {
        gtk_widget_init_template(GTK_WIDGET(self));
}
