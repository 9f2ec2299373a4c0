/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* What the portal's init/config_changed says about this device's interface: produced by
 * the engine, used by the manager and the OS layer. Includes nothing of the daemon. */

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#define FZD_MAX_UPSTREAM_DNS 8

typedef struct FzdInterfaceConfig {
        bool has_ipv4, has_ipv6;
        struct in_addr ipv4;  /* /32 */
        struct in6_addr ipv6; /* /128 */
        char search_domain[256];
        /* Upstream resolvers from the portal (empty = use the system's). */
        size_t n_upstream_dns;
        struct {
                int family;
                union {
                        struct in_addr in;
                        struct in6_addr in6;
                } addr;
                unsigned port;
        } upstream_dns[FZD_MAX_UPSTREAM_DNS];
} FzdInterfaceConfig;
