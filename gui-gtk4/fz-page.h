/* SPDX-License-Identifier: Apache-2.0 */
/* FzPage: one page of the window (a view of the model for one phase), built from its own
 * .ui template. Subclasses connect to the model in ::bind; the window shows one page at a
 * time and gives the keyboard focus to its default widget. */
#pragma once

#include <adwaita.h>

#include "fz-model.h"

G_BEGIN_DECLS

#define FZ_TYPE_PAGE (fz_page_get_type())
G_DECLARE_DERIVABLE_TYPE(FzPage, fz_page, FZ, PAGE, AdwBin)

struct _FzPageClass {
        AdwBinClass parent_class;

        /* The model is set (once): connect to it and show its current values. */
        void (*bind)(FzPage *self, FzModel *model);
};

FzModel *fz_page_get_model(FzPage *self);
void fz_page_set_model(FzPage *self, FzModel *model);
/* What gets the keyboard focus when the page is shown (the "default-widget" property,
 * set in the page's template), or NULL. */
GtkWidget *fz_page_get_default_widget(FzPage *self);

G_END_DECLS
