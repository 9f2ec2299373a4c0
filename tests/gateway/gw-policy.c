/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gw-policy.h"

static const char *const type_names[_FZGW_RESOURCE_TYPE_MAX] = {
        [FZGW_RESOURCE_CIDR] = "cidr",
        [FZGW_RESOURCE_DNS] = "dns",
        [FZGW_RESOURCE_INTERNET] = "internet",
};

const char *fzgw_resource_type_to_string(FzgwResourceType t) {
        return t < _FZGW_RESOURCE_TYPE_MAX ? type_names[t] : "?";
}

int fzgw_resource_type_from_string(const char *s) {
        for (int t = 0; t < _FZGW_RESOURCE_TYPE_MAX; t++)
                if (s && strcmp(s, type_names[t]) == 0)
                        return t;
        return -EINVAL;
}

int fzgw_resource_copy(FzgwResource *dst, const FzgwResource *src) {
        *dst = *src;
        dst->pattern = (FzdDnsPattern){};
        if (src->type == FZGW_RESOURCE_DNS)
                return fzd_dns_pattern_compile(src->pattern.text, &dst->pattern);
        return 0;
}

void fzgw_resource_done(FzgwResource *r) {
        if (r->type == FZGW_RESOURCE_DNS)
                fzd_dns_pattern_done(&r->pattern);
        r->pattern = (FzdDnsPattern){};
}

bool fzgw_filters_allow(const FzgwFilter *f, size_t n, const FzgwPacket *pi) {
        if (n == 0)
                return true;
        for (size_t i = 0; i < n; i++) {
                if (f[i].proto == FZGW_PROTO_ICMP) {
                        if (pi->proto == FZGW_PROTO_ICMP || pi->proto == FZGW_PROTO_ICMPV6)
                                return true;
                        continue;
                }
                /* A later fragment has no port to check: refused, as a stateless filter must. */
                if (f[i].proto == pi->proto && pi->has_ports && pi->dport >= f[i].start &&
                    pi->dport <= f[i].end)
                        return true;
        }
        return false;
}

/* ---- the policy ------------------------------------------------------------------------------ */

void fzgw_policy_done(FzgwPolicy *p) {
        for (size_t i = 0; i < p->n_auths; i++)
                fzgw_resource_done(&p->auths[i].resource);
        free(p->auths);
        free(p->maps);
        *p = (FzgwPolicy){};
}

FzgwAuthorization *fzgw_policy_find(const FzgwPolicy *p, const char *resource_id) {
        for (size_t i = 0; i < p->n_auths; i++)
                if (strcmp(p->auths[i].resource.id, resource_id) == 0)
                        return &p->auths[i];
        return NULL;
}

int fzgw_policy_authorize(FzgwPolicy *p, const FzgwResource *r, uint64_t expires_at) {
        FzgwAuthorization *a = fzgw_policy_find(p, r->id);
        FzgwResource copy;
        int k;

        k = fzgw_resource_copy(&copy, r);
        if (k < 0)
                return k;
        if (a) {
                /* Same id, maybe a new address or type: proxy IPs of a name it no longer
                 * covers would be stale, so they go. */
                if (a->resource.type != r->type || strcmp(a->resource.address, r->address) != 0)
                        (void) fzgw_policy_unmap(p, r->id);
                fzgw_resource_done(&a->resource);
                a->resource = copy;
                a->expires_at = expires_at;
                return 0;
        }
        if (p->n_auths >= FZGW_MAX_AUTHS) {
                fzgw_resource_done(&copy);
                return -ENOSPC;
        }
        a = reallocarray(p->auths, p->n_auths + 1, sizeof *a);
        if (!a) {
                fzgw_resource_done(&copy);
                return -ENOMEM;
        }
        p->auths = a;
        p->auths[p->n_auths++] = (FzgwAuthorization){ .resource = copy, .expires_at = expires_at };
        return 0;
}

bool fzgw_policy_revoke(FzgwPolicy *p, const char *resource_id) {
        FzgwAuthorization *a = fzgw_policy_find(p, resource_id);

        if (!a)
                return false;
        (void) fzgw_policy_unmap(p, resource_id);
        fzgw_resource_done(&a->resource);
        *a = p->auths[--p->n_auths];
        return true;
}

bool fzgw_policy_update_filters(FzgwPolicy *p, const FzgwResource *r) {
        FzgwAuthorization *a = fzgw_policy_find(p, r->id);

        if (!a)
                return false;
        memcpy(a->resource.filters, r->filters, sizeof r->filters[0] * r->n_filters);
        a->resource.n_filters = r->n_filters;
        return true;
}

static FzgwMapping *find_mapping(const FzgwPolicy *p, const FzgwIp *proxy) {
        for (size_t i = 0; i < p->n_maps; i++)
                if (fzgw_ip_eq(&p->maps[i].proxy, proxy))
                        return &p->maps[i];
        return NULL;
}

int fzgw_policy_map(FzgwPolicy *p, const FzgwMapping *maps, size_t n) {
        size_t added = 0;
        FzgwMapping *m;

        for (size_t i = 0; i < n; i++)
                added += !find_mapping(p, &maps[i].proxy);
        if (p->n_maps + added > FZGW_MAX_MAPPINGS)
                return -ENOSPC;
        if (added > 0) {
                m = reallocarray(p->maps, p->n_maps + added, sizeof *m);
                if (!m)
                        return -ENOMEM;
                p->maps = m;
        }
        for (size_t i = 0; i < n; i++) {
                m = find_mapping(p, &maps[i].proxy);
                if (!m)
                        m = &p->maps[p->n_maps++];
                *m = maps[i];
        }
        return 0;
}

size_t fzgw_policy_unmap(FzgwPolicy *p, const char *resource_id) {
        size_t removed = 0;

        for (size_t i = 0; i < p->n_maps;) {
                if (!resource_id || strcmp(p->maps[i].resource_id, resource_id) == 0) {
                        p->maps[i] = p->maps[--p->n_maps];
                        removed++;
                } else
                        i++;
        }
        return removed;
}

const FzgwMapping *fzgw_policy_find_mapping(const FzgwPolicy *p, const FzgwIp *proxy) {
        return find_mapping(p, proxy);
}

bool fzgw_policy_is_real(const FzgwPolicy *p, const FzgwIp *real) {
        for (size_t i = 0; i < p->n_maps; i++)
                if (fzgw_ip_eq(&p->maps[i].real, real))
                        return true;
        return false;
}

FzgwVerdict fzgw_policy_check(const FzgwPolicy *p, const uint8_t *packet, const FzgwPacket *pi,
                              const FzgwAuthorization **ret_auth, const FzgwMapping **ret_map) {
        FzgwIp dst = fzgw_packet_dst_ip(packet, pi);
        const FzgwAuthorization *best = NULL;
        const FzgwMapping *m;
        FzdCidr host;
        int best_len = -1;

        *ret_auth = NULL;
        *ret_map = NULL;
        m = find_mapping(p, &dst);
        if (m) {
                const FzgwAuthorization *a = fzgw_policy_find(p, m->resource_id);
                if (!a || a->resource.type != FZGW_RESOURCE_DNS || m->real.family == 0)
                        return FZGW_VERDICT_UNAUTHORIZED;
                *ret_auth = a;
                *ret_map = m;
                return fzgw_filters_allow(a->resource.filters, a->resource.n_filters, pi)
                               ? FZGW_VERDICT_ALLOW_NAT
                               : FZGW_VERDICT_FILTERED;
        }
        if (fzd_cidr_from_address(pi->family, dst.a, pi->family == AF_INET ? 32 : 128, &host) < 0)
                return FZGW_VERDICT_UNAUTHORIZED;
        for (size_t i = 0; i < p->n_auths; i++) {
                const FzgwResource *r = &p->auths[i].resource;
                int len;
                if (r->type == FZGW_RESOURCE_INTERNET)
                        len = 0;
                else if (r->type == FZGW_RESOURCE_CIDR && r->cidr.family == pi->family &&
                         fzd_cidr_contains(&r->cidr, &host))
                        len = r->cidr.prefixlen;
                else
                        continue;
                if (len > best_len) {
                        best_len = len;
                        best = &p->auths[i];
                }
        }
        if (!best)
                return FZGW_VERDICT_UNAUTHORIZED;
        *ret_auth = best;
        return fzgw_filters_allow(best->resource.filters, best->resource.n_filters, pi)
                       ? FZGW_VERDICT_ALLOW
                       : FZGW_VERDICT_FILTERED;
}

const char *fzgw_verdict_to_string(FzgwVerdict v) {
        switch (v) {
        case FZGW_VERDICT_ALLOW:
                return "allow";
        case FZGW_VERDICT_ALLOW_NAT:
                return "allow-nat";
        case FZGW_VERDICT_FILTERED:
                return "filter";
        case FZGW_VERDICT_UNAUTHORIZED:
                return "unauthorized";
        }
        return "?";
}
