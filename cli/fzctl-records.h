/* SPDX-License-Identifier: Apache-2.0 */
/* What firezonectl prints about the library's objects, once, for every output format
 * and every command that shows them (status, resources, monitor, sign-in --wait). */
#pragma once

#include <firezone-client.h>

#include "fzctl-output.h"

/* Adds the status's fields to @object (keys as in the daemon's Status() dictionary). */
void fzctl_status_fill(FzctlNode *object, FzClientStatus *status);
FzctlNode *fzctl_status_node(FzClientStatus *status);
/* The Internet resource switch (key as in Status()), for status and internet-resource. */
void fzctl_internet_resource_fill(FzctlNode *object, gboolean enabled);
FzctlNode *fzctl_resource_node(FzResource *resource);
/* @resources: (element-type FzResource) */
FzctlNode *fzctl_resources_node(GPtrArray *resources);

/* One line of `monitor`: {"time", "event", ...}; the caller adds the event's fields. */
FzctlNode *fzctl_event_node(const char *event);
