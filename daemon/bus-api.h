/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* dev.firezone.Client1 on the system bus (dbus/dev.firezone.Client1.xml is the contract).
 * The bus layer observes the manager (manager.h) and turns its change sets into
 * PropertiesChanged/StateChanged/ResourcesChanged; the sentences of LastError and of method
 * errors are composed here, at the edge, from the one table (error.h). */

#include <systemd/sd-bus.h>

#include "macro.h"
#include "manager.h"

typedef struct FzdBusApi FzdBusApi;

/* Exports the object on bus (the caller then requests the name) and observes m. Takes a
 * reference on bus. */
int fzd_bus_api_new(sd_bus *bus, FzdManager *m, FzdBusApi **ret);
/* Flushes and closes the bus connection. */
/* Stop observing the manager (and never touch it again): before the manager is freed, which
 * happens first at exit because its OS layer still uses the API's bus. */
void fzd_bus_api_detach(FzdBusApi *api);
FzdBusApi *fzd_bus_api_free(FzdBusApi *api);
DEFINE_POINTER_CLEANUP_FUNC(FzdBusApi, fzd_bus_api_free);
/* The connection (NULL for a NULL api). */
sd_bus *fzd_bus_api_bus(const FzdBusApi *api);
