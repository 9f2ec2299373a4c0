/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <string.h>

#include "os-sentinels.h"

static void sentinel(int family, unsigned index, FzdDnsAddress *ret) {
        memset(ret, 0, sizeof *ret);
        ret->family = family;
        if (family == AF_INET)
                ret->addr.in.s_addr = htonl((100u << 24) | (100u << 16) | (111u << 8) | index);
        else {
                /* fd00:2021:1111:8000:100:100:111:<index> */
                static const uint8_t prefix[14] = { 0xfd, 0x00, 0x20, 0x21, 0x11, 0x11, 0x80, 0x00,
                                                    0x01, 0x00, 0x01, 0x00, 0x01, 0x11 };
                memcpy(ret->addr.in6.s6_addr, prefix, sizeof prefix);
                ret->addr.in6.s6_addr[14] = (uint8_t) (index >> 8);
                ret->addr.in6.s6_addr[15] = (uint8_t) index;
        }
}

size_t fzd_os_sentinels(const FzdInterfaceConfig *config, const FzdDnsResolver *system, size_t n_system,
                        FzdDnsAddress *ret, size_t size) {
        unsigned next4 = 1, next6 = 1;
        size_t n = 0, n_up = config->n_upstream_dns > 0 ? config->n_upstream_dns : n_system;

        for (size_t i = 0; i < n_up && n < FZD_DNS_MAX_SENTINELS; i++) {
                int family = config->n_upstream_dns > 0 ? config->upstream_dns[i].family : system[i].address.family;
                if ((family == AF_INET && !config->has_ipv4) || (family == AF_INET6 && !config->has_ipv6) ||
                    (family != AF_INET && family != AF_INET6))
                        continue;
                if (ret && n < size)
                        sentinel(family, family == AF_INET ? next4 : next6, &ret[n]);
                if (family == AF_INET)
                        next4++;
                else
                        next6++;
                n++;
        }
        if (n == 0) {
                if (config->has_ipv4) {
                        if (ret && n < size)
                                sentinel(AF_INET, 1, &ret[n]);
                        n++;
                }
                if (config->has_ipv6) {
                        if (ret && n < size)
                                sentinel(AF_INET6, 1, &ret[n]);
                        n++;
                }
        }
        return n;
}
