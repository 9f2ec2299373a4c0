/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

#include "dns/dns-address.h"
#include "dnsstub/dns-stub-socket.h"
#include "interface-config.h"

/* The DNS sentinels the system is pointed at: one per upstream resolver — the portal's
 * upstream_dns if it sent any, else the system's resolvers — of the upstream's family,
 * numbered from 100.100.111.1 and fd00:2021:1111:8000:100:100:111:1 (DESIGN §6). A
 * family the tunnel has no address of is left out; if nothing is left, one sentinel per
 * tunnel family. Fills up to size entries of ret (NULL to count) and returns the number
 * of sentinels. Pure, so it is table-tested. */
size_t fzd_os_sentinels(const FzdInterfaceConfig *config, const FzdDnsResolver *system, size_t n_system,
                        FzdDnsAddress *ret, size_t size);

/* The same sentinels, in the same order, each with the upstream it forwards to (DESIGN
 * §7.1: sentinel N ↔ upstream N), as the DNS stub takes them: sentinel port 53; the
 * upstream's port (53 unless the portal or a plain-DNS system resolver says otherwise);
 * upstream family 0 for the fallback sentinels that have none. Pure, table-tested. */
size_t fzd_os_dns_servers(const FzdInterfaceConfig *config, const FzdDnsResolver *system, size_t n_system,
                          FzdDnsStubServer *ret, size_t size);
