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

static void to_sockaddr(const FzdDnsAddress *a, uint16_t port, uint32_t scope, FzdSockaddr *ret) {
        memset(ret, 0, sizeof *ret);
        if (a->family == AF_INET) {
                ret->in.sin_family = AF_INET;
                ret->in.sin_addr = a->addr.in;
                ret->in.sin_port = htons(port);
        } else if (a->family == AF_INET6) {
                ret->in6.sin6_family = AF_INET6;
                ret->in6.sin6_addr = a->addr.in6;
                ret->in6.sin6_port = htons(port);
                ret->in6.sin6_scope_id = scope;
        }
}

/* Upstream i: the portal's if it sent any, else the system's. We speak plain DNS: a
 * resolver that the system reaches over TLS is asked on port 53 (there is no DoT client
 * here); one on a link-local address keeps the link it is configured on. */
static void upstream(const FzdInterfaceConfig *config, const FzdDnsResolver *system, size_t i, FzdSockaddr *ret) {
        FzdDnsAddress a = {};

        if (config->n_upstream_dns > 0) {
                a.family = config->upstream_dns[i].family;
                memcpy(&a.addr, &config->upstream_dns[i].addr, sizeof a.addr);
                to_sockaddr(&a, (uint16_t) (config->upstream_dns[i].port ?: 53), 0, ret);
        } else {
                const FzdDnsResolver *r = &system[i];
                bool link_local = r->address.family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&r->address.addr.in6);
                uint16_t port = r->dns_over_tls == FZD_DNS_OVER_TLS_NO && r->port != 0 ? r->port : 53;
                to_sockaddr(&r->address, port, link_local && r->ifindex > 0 ? (uint32_t) r->ifindex : 0, ret);
        }
}

static size_t collect(const FzdInterfaceConfig *config, const FzdDnsResolver *system, size_t n_system,
                      FzdDnsAddress *ret_sentinels, FzdDnsStubServer *ret_servers, size_t size) {
        unsigned next4 = 1, next6 = 1;
        size_t n = 0, n_up = config->n_upstream_dns > 0 ? config->n_upstream_dns : n_system;

        for (size_t i = 0; i < n_up && n < FZD_DNS_MAX_SENTINELS; i++) {
                int family = config->n_upstream_dns > 0 ? config->upstream_dns[i].family : system[i].address.family;
                if ((family == AF_INET && !config->has_ipv4) || (family == AF_INET6 && !config->has_ipv6) ||
                    (family != AF_INET && family != AF_INET6))
                        continue;
                if (n < size) {
                        FzdDnsAddress s;
                        sentinel(family, family == AF_INET ? next4 : next6, &s);
                        if (ret_sentinels)
                                ret_sentinels[n] = s;
                        if (ret_servers) {
                                to_sockaddr(&s, 53, 0, &ret_servers[n].sentinel);
                                upstream(config, system, i, &ret_servers[n].upstream);
                        }
                }
                if (family == AF_INET)
                        next4++;
                else
                        next6++;
                n++;
        }
        if (n == 0) {
                /* Nothing to forward to: the stub still answers resource names. */
                for (int f = 0; f < 2; f++) {
                        int family = f == 0 ? AF_INET : AF_INET6;
                        if (!(family == AF_INET ? config->has_ipv4 : config->has_ipv6))
                                continue;
                        if (n < size) {
                                FzdDnsAddress s;
                                sentinel(family, 1, &s);
                                if (ret_sentinels)
                                        ret_sentinels[n] = s;
                                if (ret_servers) {
                                        to_sockaddr(&s, 53, 0, &ret_servers[n].sentinel);
                                        memset(&ret_servers[n].upstream, 0, sizeof ret_servers[n].upstream);
                                }
                        }
                        n++;
                }
        }
        return n;
}

size_t fzd_os_sentinels(const FzdInterfaceConfig *config, const FzdDnsResolver *system, size_t n_system,
                        FzdDnsAddress *ret, size_t size) {
        return collect(config, system, n_system, ret, NULL, ret ? size : 0);
}

size_t fzd_os_dns_servers(const FzdInterfaceConfig *config, const FzdDnsResolver *system, size_t n_system,
                          FzdDnsStubServer *ret, size_t size) {
        return collect(config, system, n_system, NULL, ret, ret ? size : 0);
}
