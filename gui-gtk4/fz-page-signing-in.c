/* SPDX-License-Identifier: Apache-2.0 */
/* The browser is open: everything on this page is in its template. */
#include "fz-app-id.h"
#include "fz-pages.h"

struct _FzSigningInPage {
        FzPage parent_instance;
};

G_DEFINE_FINAL_TYPE(FzSigningInPage, fz_signing_in_page, FZ_TYPE_PAGE)

static void fz_signing_in_page_class_init(FzSigningInPageClass *klass) {
        gtk_widget_class_set_template_from_resource(GTK_WIDGET_CLASS(klass),
                                                    FZ_APP_RESOURCE_PATH "/ui/fz-page-signing-in.ui");
}

static void fz_signing_in_page_init(FzSigningInPage *self) {
        gtk_widget_init_template(GTK_WIDGET(self));
}
