/* SPDX-License-Identifier: Apache-2.0 */
/* A client's policy at the test gateway (tests/gateway/gw-policy.c): filters, the most
 * specific authorized resource, proxy IPs of DNS resources, and what revoking does. */
#include <errno.h>
#include <stdio.h>

#include "fz-check.h"
#include "gw-policy.h"
#include "gw-test-util.h"

static FzgwResource cidr(const char *id, const char *range) {
        FzgwResource r = { .type = FZGW_RESOURCE_CIDR };

        snprintf(r.id, sizeof r.id, "%s", id);
        snprintf(r.address, sizeof r.address, "%s", range);
        ck_assert_int_eq(fzd_cidr_parse(range, false, &r.cidr), 0);
        return r;
}

static FzgwResource dns(const char *id, const char *pattern) {
        FzgwResource r = { .type = FZGW_RESOURCE_DNS };

        snprintf(r.id, sizeof r.id, "%s", id);
        snprintf(r.address, sizeof r.address, "%s", pattern);
        ck_assert_int_eq(fzd_dns_pattern_compile(pattern, &r.pattern), 0);
        return r;
}

static void add_filter(FzgwResource *r, uint8_t proto, uint16_t start, uint16_t end) {
        r->filters[r->n_filters++] = (FzgwFilter){ .proto = proto, .start = start, .end = end };
}

static void authorize(FzgwPolicy *p, FzgwResource r) {
        ck_assert_int_eq(fzgw_policy_authorize(p, &r, 0), 0);
        fzgw_resource_done(&r);
}

static FzgwVerdict check(const FzgwPolicy *p, const uint8_t *packet, size_t n, const char **ret_id) {
        const FzgwAuthorization *a;
        const FzgwMapping *m;
        FzgwPacket pi;
        FzgwVerdict v;

        ck_assert_int_eq(fzgw_packet_parse(packet, n, &pi), 0);
        v = fzgw_policy_check(p, packet, &pi, &a, &m);
        *ret_id = a ? a->resource.id : NULL;
        ck_assert(v != FZGW_VERDICT_ALLOW_NAT || m != NULL);
        return v;
}

START_TEST(test_filters) {
        FzgwFilter f[3] = {
                { FZGW_PROTO_TCP, 80, 80 },
                { FZGW_PROTO_UDP, 5000, 5100 },
                { FZGW_PROTO_ICMP, 0, 0 },
        };
        uint8_t p[2048];
        FzgwPacket pi;
        size_t n;

#define ALLOWED(nf) (fzgw_packet_parse(p, n, &pi) == 0 && fzgw_filters_allow(f, (nf), &pi))
        n = gwt_tcp(p, "100.72.0.2", 1, "10.0.0.1", 80, 0, 0);
        ck_assert(ALLOWED(3));
        ck_assert(ALLOWED(0)); /* no filters: everything */
        n = gwt_tcp(p, "100.72.0.2", 1, "10.0.0.1", 81, 0, 0);
        ck_assert(!ALLOWED(3));
        n = gwt_udp(p, "100.72.0.2", 1, "10.0.0.1", 5100, 0);
        ck_assert(ALLOWED(3));
        n = gwt_udp(p, "100.72.0.2", 1, "10.0.0.1", 80, 0);
        ck_assert(!ALLOWED(3));
        n = gwt_echo(p, "100.72.0.2", "10.0.0.1", 1);
        ck_assert(ALLOWED(3));
        ck_assert(!ALLOWED(2));
        n = gwt_echo(p, "fd00::2", "fd00::1", 1);
        ck_assert(ALLOWED(3)); /* "icmp" covers ICMPv6 */
        /* A later fragment cannot be checked: refused unless nothing is filtered. */
        n = gwt_udp(p, "100.72.0.2", 1, "10.0.0.1", 5000, 0);
        gwt_put16(p + 6, 10);
        ck_assert(!ALLOWED(3));
        ck_assert(ALLOWED(0));
#undef ALLOWED
}
END_TEST

START_TEST(test_most_specific_resource_decides) {
        FzgwPolicy p = {};
        FzgwResource wide = cidr("wide", "10.0.0.0/8"), narrow = cidr("narrow", "10.1.0.0/16");
        FzgwResource internet = { .id = "internet", .type = FZGW_RESOURCE_INTERNET };
        uint8_t b[2048];
        const char *id;
        size_t n;

        add_filter(&wide, FZGW_PROTO_TCP, 22, 22);
        authorize(&p, wide);
        authorize(&p, narrow);
        n = gwt_tcp(b, "100.72.0.2", 1, "10.1.2.3", 443, 0, 0);
        ck_assert_int_eq(check(&p, b, n, &id), FZGW_VERDICT_ALLOW);
        ck_assert_str_eq(id, "narrow");
        n = gwt_tcp(b, "100.72.0.2", 1, "10.2.0.1", 443, 0, 0);
        ck_assert_int_eq(check(&p, b, n, &id), FZGW_VERDICT_FILTERED);
        ck_assert_str_eq(id, "wide");
        n = gwt_tcp(b, "100.72.0.2", 1, "10.2.0.1", 22, 0, 0);
        ck_assert_int_eq(check(&p, b, n, &id), FZGW_VERDICT_ALLOW);
        n = gwt_tcp(b, "100.72.0.2", 1, "192.0.2.1", 22, 0, 0);
        ck_assert_int_eq(check(&p, b, n, &id), FZGW_VERDICT_UNAUTHORIZED);
        ck_assert_ptr_null(id);
        n = gwt_tcp(b, "fd00:2021:1111::72:2", 1, "fd00::1", 22, 0, 0);
        ck_assert_int_eq(check(&p, b, n, &id), FZGW_VERDICT_UNAUTHORIZED);
        /* The Internet resource is the least specific of all. */
        authorize(&p, internet);
        n = gwt_tcp(b, "100.72.0.2", 1, "192.0.2.1", 22, 0, 0);
        ck_assert_int_eq(check(&p, b, n, &id), FZGW_VERDICT_ALLOW);
        ck_assert_str_eq(id, "internet");
        n = gwt_tcp(b, "100.72.0.2", 1, "10.2.0.1", 443, 0, 0);
        ck_assert_int_eq(check(&p, b, n, &id), FZGW_VERDICT_FILTERED);
        /* Revoked: gone from the next packet on. */
        ck_assert(fzgw_policy_revoke(&p, "narrow"));
        ck_assert(!fzgw_policy_revoke(&p, "narrow"));
        n = gwt_tcp(b, "100.72.0.2", 1, "10.1.2.3", 443, 0, 0);
        ck_assert_int_eq(check(&p, b, n, &id), FZGW_VERDICT_FILTERED);
        ck_assert_uint_eq(p.n_auths, 2);
        fzgw_policy_done(&p);
}
END_TEST

static FzgwMapping mapping(const char *resource, const char *domain, const char *proxy, const char *real) {
        FzgwMapping m = { .proxy = gwt_ip(proxy) };

        if (real)
                m.real = gwt_ip(real);
        snprintf(m.resource_id, sizeof m.resource_id, "%s", resource);
        snprintf(m.domain, sizeof m.domain, "%s", domain);
        return m;
}

START_TEST(test_proxy_ips) {
        FzgwPolicy p = {};
        FzgwResource files = dns("files", "files.corp.test"), web = dns("web", "*.web.test");
        FzgwMapping maps[3] = {
                mapping("files", "files.corp.test", "100.96.0.1", "10.20.0.10"),
                mapping("files", "files.corp.test", "100.96.0.2", "10.20.0.10"),
                mapping("files", "files.corp.test", "fd00:2021:1111:8000::1", NULL), /* no AAAA */
        };
        FzgwIp real = gwt_ip("10.20.0.10"), other = gwt_ip("10.20.0.11");
        uint8_t b[2048];
        const char *id;
        size_t n;

        add_filter(&files, FZGW_PROTO_TCP, 80, 80);
        authorize(&p, files);
        authorize(&p, web);
        ck_assert_int_eq(fzgw_policy_map(&p, maps, 3), 0);
        ck_assert_uint_eq(p.n_maps, 3);
        ck_assert(fzgw_policy_is_real(&p, &real));
        ck_assert(!fzgw_policy_is_real(&p, &other));
        n = gwt_tcp(b, "100.72.0.2", 1, "100.96.0.2", 80, 0, 0);
        ck_assert_int_eq(check(&p, b, n, &id), FZGW_VERDICT_ALLOW_NAT);
        ck_assert_str_eq(id, "files");
        n = gwt_tcp(b, "100.72.0.2", 1, "100.96.0.2", 22, 0, 0);
        ck_assert_int_eq(check(&p, b, n, &id), FZGW_VERDICT_FILTERED);
        n = gwt_tcp(b, "fd00:2021:1111::72:2", 1, "fd00:2021:1111:8000::1", 80, 0, 0);
        ck_assert_int_eq(check(&p, b, n, &id), FZGW_VERDICT_UNAUTHORIZED);
        n = gwt_tcp(b, "100.72.0.2", 1, "100.96.0.3", 80, 0, 0);
        ck_assert_int_eq(check(&p, b, n, &id), FZGW_VERDICT_UNAUTHORIZED);

        /* Announced again: the proxy IP now leads elsewhere; no duplicates. */
        maps[0] = mapping("web", "a.web.test", "100.96.0.2", "10.20.0.11");
        ck_assert_int_eq(fzgw_policy_map(&p, maps, 1), 0);
        ck_assert_uint_eq(p.n_maps, 3);
        ck_assert_str_eq(fzgw_policy_find_mapping(&p, &maps[0].proxy)->resource_id, "web");
        n = gwt_tcp(b, "100.72.0.2", 1, "100.96.0.2", 22, 0, 0);
        ck_assert_int_eq(check(&p, b, n, &id), FZGW_VERDICT_ALLOW_NAT);
        ck_assert_str_eq(id, "web");

        /* Revoking a resource drops its proxy IPs; goodbye drops all. */
        ck_assert(fzgw_policy_revoke(&p, "files"));
        ck_assert_uint_eq(p.n_maps, 1);
        ck_assert_uint_eq(fzgw_policy_unmap(&p, NULL), 1);
        n = gwt_tcp(b, "100.72.0.2", 1, "100.96.0.2", 22, 0, 0);
        ck_assert_int_eq(check(&p, b, n, &id), FZGW_VERDICT_UNAUTHORIZED);
        fzgw_policy_done(&p);
}
END_TEST

START_TEST(test_reauthorize_and_update) {
        FzgwPolicy p = {};
        FzgwResource r = dns("r", "a.test"), upd;
        FzgwMapping m = mapping("r", "a.test", "100.96.0.9", "10.0.0.9");
        uint8_t b[2048];
        const char *id;
        size_t n;

        authorize(&p, r);
        ck_assert_int_eq(fzgw_policy_map(&p, &m, 1), 0);
        /* Same resource, same address: a new expiry, the proxy IPs stay. */
        r = dns("r", "a.test");
        ck_assert_int_eq(fzgw_policy_authorize(&p, &r, 1234), 0);
        fzgw_resource_done(&r);
        ck_assert_uint_eq(p.n_auths, 1);
        ck_assert_uint_eq(fzgw_policy_find(&p, "r")->expires_at, 1234);
        ck_assert_uint_eq(p.n_maps, 1);
        /* New filters for it. */
        upd = (FzgwResource){ .id = "r", .type = FZGW_RESOURCE_DNS };
        add_filter(&upd, FZGW_PROTO_UDP, 53, 53);
        ck_assert(fzgw_policy_update_filters(&p, &upd));
        n = gwt_tcp(b, "100.72.0.2", 1, "100.96.0.9", 80, 0, 0);
        ck_assert_int_eq(check(&p, b, n, &id), FZGW_VERDICT_FILTERED);
        upd.id[0] = 'x';
        ck_assert(!fzgw_policy_update_filters(&p, &upd));
        /* Another address under the same id: the old names' proxy IPs go. */
        r = dns("r", "b.test");
        ck_assert_int_eq(fzgw_policy_authorize(&p, &r, 0), 0);
        fzgw_resource_done(&r);
        ck_assert_uint_eq(p.n_maps, 0);
        fzgw_policy_done(&p);
}
END_TEST

START_TEST(test_limits) {
        FzgwPolicy p = {};
        FzgwMapping *m = calloc(FZGW_MAX_MAPPINGS + 1, sizeof *m);
        char id[32];

        for (unsigned i = 0; i < FZGW_MAX_AUTHS; i++) {
                snprintf(id, sizeof id, "r%u", i);
                authorize(&p, cidr(id, "10.0.0.0/8"));
        }
        {
                FzgwResource one_more = cidr("one-more", "10.0.0.0/8");
                ck_assert_int_eq(fzgw_policy_authorize(&p, &one_more, 0), -ENOSPC);
        }
        for (unsigned i = 0; i <= FZGW_MAX_MAPPINGS; i++) {
                char ip[32];
                snprintf(ip, sizeof ip, "100.96.%u.%u", i / 256, i % 256);
                m[i] = mapping("r0", "x", ip, "10.0.0.1");
        }
        ck_assert_int_eq(fzgw_policy_map(&p, m, FZGW_MAX_MAPPINGS + 1), -ENOSPC);
        ck_assert_int_eq(fzgw_policy_map(&p, m, FZGW_MAX_MAPPINGS), 0);
        ck_assert_int_eq(fzgw_policy_map(&p, m + 1, FZGW_MAX_MAPPINGS), -ENOSPC);
        free(m);
        fzgw_policy_done(&p);
}
END_TEST

START_TEST(test_resource_types) {
        ck_assert_int_eq(fzgw_resource_type_from_string("cidr"), FZGW_RESOURCE_CIDR);
        ck_assert_int_eq(fzgw_resource_type_from_string("dns"), FZGW_RESOURCE_DNS);
        ck_assert_int_eq(fzgw_resource_type_from_string("internet"), FZGW_RESOURCE_INTERNET);
        ck_assert_int_eq(fzgw_resource_type_from_string("ip"), -EINVAL);
        ck_assert_int_eq(fzgw_resource_type_from_string(NULL), -EINVAL);
        ck_assert_str_eq(fzgw_verdict_to_string(FZGW_VERDICT_FILTERED), "filter");
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("gw-policy");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_filters);
        tcase_add_test(tc, test_most_specific_resource_decides);
        tcase_add_test(tc, test_proxy_ips);
        tcase_add_test(tc, test_reauthorize_and_update);
        tcase_add_test(tc, test_limits);
        tcase_add_test(tc, test_resource_types);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(suite)
