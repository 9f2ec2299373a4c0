/* SPDX-License-Identifier: Apache-2.0 */
/* FzResourceRow: one resource in the window's list. Name and address; its status and the
 * status of each site; copy the address; mark it as a favourite; and, for the Internet
 * resource, the switch that turns it on and off. */
#pragma once

#include <adwaita.h>

#include "fz-model.h"

G_BEGIN_DECLS

#define FZ_TYPE_RESOURCE_ROW (fz_resource_row_get_type())
G_DECLARE_FINAL_TYPE(FzResourceRow, fz_resource_row, FZ, RESOURCE_ROW, AdwExpanderRow)

GtkWidget *fz_resource_row_new(FzModel *model, FzResource *resource);

G_END_DECLS
