/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The application id (D-Bus name, desktop file, GSettings schema, icon) and where its
 * resources live in the GResource. */
#define FZ_APP_ID            "dev.firezone.Client"
#define FZ_APP_RESOURCE_PATH "/dev/firezone/Client"
