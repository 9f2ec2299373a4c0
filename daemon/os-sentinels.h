/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

#include "dns/dns-address.h"
#include "interface-config.h"

/* The DNS sentinels the system is pointed at: one per upstream resolver — the portal's
 * upstream_dns if it sent any, else the system's resolvers — of the upstream's family,
 * numbered from 100.100.111.1 and fd00:2021:1111:8000:100:100:111:1 (DESIGN §6). A
 * family the tunnel has no address of is left out; if nothing is left, one sentinel per
 * tunnel family. Fills up to size entries of ret (NULL to count) and returns the number
 * of sentinels. Pure, so it is table-tested. */
size_t fzd_os_sentinels(const FzdInterfaceConfig *config, const FzdDnsResolver *system, size_t n_system,
                        FzdDnsAddress *ret, size_t size);
