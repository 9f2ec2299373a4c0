/* SPDX-License-Identifier: Apache-2.0 */
#include "fz-notifier.h"

#include <glib/gi18n.h>

#include "fz-library-adapter.h"
#include "fz-notify.h"

struct _FzNotifier {
        GObject parent_instance;

        FzModel *model;
};

G_DEFINE_FINAL_TYPE(FzNotifier, fz_notifier, G_TYPE_OBJECT)

static void on_transition(FzModel *model, gint old_phase, gint new_phase, const gchar *reason,
                          gpointer user_data) {
        FzPhase old = old_phase, phase = new_phase;

        if (phase == FZ_PHASE_CONNECTED && old != FZ_PHASE_CONNECTED) {
                /* Honest: the portal connection is up; each resource connects through its
                 * gateway when it is first used, and its own status says how that went. */
                g_autofree gchar *body =
                        g_strdup_printf(_("%s. Each resource connects when you first use it."),
                                        fz_model_get_identity(model));
                fz_notify_show(FZ_NOTIFY_STATUS, fz_phase_get_title(phase), body);
                return;
        }
        if (fz_phase_has_session(old) && !fz_phase_has_session(phase)) {
                const gchar *why = fz_reason_text(reason);
                const gchar *last_error = fz_model_get_last_error(model);
                g_autofree gchar *body = NULL;

                if (fz_model_get_requires_sign_in(model)) {
                        fz_notify_show(FZ_NOTIFY_SIGN_IN, fz_phase_get_title(phase),
                                       fz_session_ended_text());
                        return;
                }
                if (why == NULL && *last_error != '\0')
                        why = last_error;
                else if (why != NULL && *last_error != '\0' && g_strcmp0(reason, "sign-out") != 0)
                        why = body = g_strdup_printf("%s %s", why, last_error);
                fz_notify_show(FZ_NOTIFY_STATUS, fz_phase_get_title(phase),
                               why != NULL ? why : _("The tunnel is down."));
        }
}

static gchar *site_names(FzResource *resource) {
        GPtrArray *sites = fz_resource_get_sites(resource);
        g_autoptr(GString) s = g_string_new(NULL);

        for (guint i = 0; sites != NULL && i < sites->len; i++) {
                if (i > 0)
                        /* Translators: between the names of sites in a list. */
                        g_string_append(s, _(", "));
                g_string_append(s, fz_resource_site_get_name(g_ptr_array_index(sites, i)));
        }
        return g_string_free(g_steal_pointer(&s), FALSE);
}

static void on_resource_status_changed(FzModel *model, FzResource *resource, gint old, gpointer user_data) {
        g_autofree gchar *sites = NULL;
        g_autofree gchar *body = NULL;
        g_autofree gchar *name = NULL;

        /* Offline means the daemon tried the resource's gateways and none answered: worth
         * telling. Online and unknown are shown in the window and the tray only. */
        if (fz_resource_get_status(resource) != FZ_RESOURCE_STATUS_OFFLINE ||
            old == FZ_RESOURCE_STATUS_OFFLINE || fz_model_get_phase(model) != FZ_PHASE_CONNECTED)
                return;
        sites = site_names(resource);
        body = *sites != '\0'
                       /* Translators: %s is a list of site names. */
                       ? g_strdup_printf(_("Offline: no gateway of %s can be reached."), sites)
                       : g_strdup(_("Offline: no gateway can be reached."));
        name = fz_resource_display_name(resource);
        fz_notify_show(FZ_NOTIFY_RESOURCE, name, body);
}

void fz_notifier_failed(FzNotifier *self, const gchar *summary, const gchar *message) {
        fz_notify_show(FZ_NOTIFY_ERROR, summary, message);
}

FzNotifier *fz_notifier_new(FzModel *model) {
        FzNotifier *self = g_object_new(FZ_TYPE_NOTIFIER, NULL);

        self->model = g_object_ref(model);
        g_signal_connect(model, "transition", G_CALLBACK(on_transition), self);
        g_signal_connect(model, "resource-status-changed", G_CALLBACK(on_resource_status_changed), self);
        return self;
}

static void fz_notifier_dispose(GObject *object) {
        FzNotifier *self = FZ_NOTIFIER(object);

        if (self->model != NULL)
                g_signal_handlers_disconnect_by_data(self->model, self);
        g_clear_object(&self->model);
        G_OBJECT_CLASS(fz_notifier_parent_class)->dispose(object);
}

static void fz_notifier_class_init(FzNotifierClass *klass) {
        G_OBJECT_CLASS(klass)->dispose = fz_notifier_dispose;
}

static void fz_notifier_init(FzNotifier *self) {
}
