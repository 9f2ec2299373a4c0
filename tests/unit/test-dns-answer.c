/* SPDX-License-Identifier: Apache-2.0 */
/* The stub's decision per query (daemon/dnsstub/dns-answer.c): DESIGN §7.1 rule by rule. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>

#include "dns-answer.h"
#include "dns-test-util.h"
#include "fz-check.h"

typedef struct Fixture {
        FzdDnsResources *res;
        FzdProxyIps *ips;
} Fixture;

static Fixture setup_fixture(void) {
        Fixture f;
        ck_assert_int_eq(fzd_dns_resources_new(&f.res), 0);
        ck_assert_int_eq(fzd_proxy_ips_new(&f.ips), 0);
        ck_assert_int_eq(fzd_dns_resources_put(f.res, "dual", "**.corp.example", FZD_DNS_IP_STACK_DUAL), 1);
        ck_assert_int_eq(
                fzd_dns_resources_put(f.res, "v4", "legacy.corp.example", FZD_DNS_IP_STACK_IPV4_ONLY), 1);
        ck_assert_int_eq(fzd_dns_resources_put(f.res, "v6", "new.corp.example", FZD_DNS_IP_STACK_IPV6_ONLY),
                         1);
        return f;
}

static void teardown_fixture(Fixture *f) {
        fzd_dns_resources_free(f->res);
        fzd_proxy_ips_free(f->ips);
}

static FzdDnsDecision decide(Fixture *f, const TestMsg *m, uint8_t *out, TestAnswer *ret) {
        FzdDnsDecision d;

        fzd_dns_decide(f->res, f->ips, m->b, m->n, false, out, 1024, &d);
        if (d.verdict == FZD_DNS_VERDICT_ANSWER && ret)
                *ret = tm_parse(out, d.answer_len);
        return d;
}

START_TEST(test_resource_a_and_aaaa) {
        Fixture f = setup_fixture();
        uint8_t out[1024];
        TestAnswer a, again, six;
        TestMsg m;
        FzdDnsDecision d;

        m = tm_query(11, "Git.Corp.Example", FZD_DNS_TYPE_A, true);
        d = decide(&f, &m, out, &a);
        ck_assert_int_eq(d.verdict, FZD_DNS_VERDICT_ANSWER);
        ck_assert_int_eq(d.kind, FZD_DNS_ANSWER_RESOURCE);
        ck_assert_str_eq(d.resource_id, "dual");
        ck_assert_uint_eq(a.id, 11);
        ck_assert_uint_eq(a.rcode, 0);
        ck_assert_uint_eq(a.n, 4);
        ck_assert(a.has_opt);
        for (int i = 0; i < 4; i++) {
                ck_assert_uint_eq(a.rr[i].type, FZD_DNS_TYPE_A);
                ck_assert_uint_eq(a.rr[i].ttl, 1);
                ck_assert_uint_eq(a.rr[i].rdata[0], 100);
                ck_assert_uint_eq(a.rr[i].rdata[1] & 0xe0, 96);
        }
        /* The same name again, in any case: the same addresses. */
        m = tm_query(12, "git.corp.example", FZD_DNS_TYPE_A, false);
        decide(&f, &m, out, &again);
        ck_assert_uint_eq(again.n, 4);
        for (int i = 0; i < 4; i++)
                ck_assert_mem_eq(a.rr[i].rdata, again.rr[i].rdata, 4);
        m = tm_query(13, "git.corp.example", FZD_DNS_TYPE_AAAA, false);
        decide(&f, &m, out, &six);
        ck_assert_uint_eq(six.n, 4);
        ck_assert_uint_eq(six.rr[0].type, FZD_DNS_TYPE_AAAA);
        ck_assert_uint_eq(six.rr[0].rdata[0], 0xfd);
        ck_assert_uint_eq(fzd_proxy_ips_count(f.ips), 1);
        /* Another name under the same pattern: other addresses. */
        m = tm_query(14, "wiki.corp.example", FZD_DNS_TYPE_A, false);
        decide(&f, &m, out, &again);
        ck_assert(memcmp(a.rr[0].rdata, again.rr[0].rdata, 4) != 0);
        teardown_fixture(&f);
}
END_TEST

START_TEST(test_ip_stack) {
        Fixture f = setup_fixture();
        uint8_t out[1024];
        TestAnswer a;
        TestMsg m;

        m = tm_query(1, "legacy.corp.example", FZD_DNS_TYPE_AAAA, false);
        ck_assert_int_eq(decide(&f, &m, out, &a).verdict, FZD_DNS_VERDICT_ANSWER);
        ck_assert_uint_eq(a.rcode, 0);
        ck_assert_uint_eq(a.an, 0);
        m = tm_query(1, "legacy.corp.example", FZD_DNS_TYPE_A, false);
        decide(&f, &m, out, &a);
        ck_assert_uint_eq(a.an, 4);
        m = tm_query(1, "new.corp.example", FZD_DNS_TYPE_A, false);
        decide(&f, &m, out, &a);
        ck_assert_uint_eq(a.rcode, 0);
        ck_assert_uint_eq(a.an, 0);
        m = tm_query(1, "new.corp.example", FZD_DNS_TYPE_AAAA, false);
        decide(&f, &m, out, &a);
        ck_assert_uint_eq(a.an, 4);
        teardown_fixture(&f);
}
END_TEST

START_TEST(test_other_types_of_resources_stay_here) {
        Fixture f = setup_fixture();
        static const uint16_t types[] = {FZD_DNS_TYPE_HTTPS, FZD_DNS_TYPE_TXT, 15 /* MX */,
                                         33 /* SRV */,       FZD_DNS_TYPE_ANY, FZD_DNS_TYPE_CNAME};
        uint8_t out[1024];
        TestAnswer a;

        for (size_t i = 0; i < ELEMENTSOF(types); i++) {
                TestMsg m = tm_query(1, "svc.corp.example", types[i], false);
                FzdDnsDecision d = decide(&f, &m, out, &a);
                ck_assert_int_eq(d.verdict, FZD_DNS_VERDICT_ANSWER);
                ck_assert_uint_eq(a.rcode, 0);
                ck_assert_uint_eq(a.an, 0);
        }
        /* Only A and AAAA give a name its addresses. */
        ck_assert_uint_eq(fzd_proxy_ips_count(f.ips), 0);
        /* Another class: still ours, still nothing. */
        {
                TestMsg m = tm_query(1, "svc.corp.example", FZD_DNS_TYPE_A, false);
                m.b[m.n - 1] = 3;
                ck_assert_int_eq(decide(&f, &m, out, &a).verdict, FZD_DNS_VERDICT_ANSWER);
                ck_assert_uint_eq(a.an, 0);
        }
        teardown_fixture(&f);
}
END_TEST

START_TEST(test_forwarded) {
        Fixture f = setup_fixture();
        uint8_t out[1024];
        TestMsg m;

        m = tm_query(1, "www.example.org", FZD_DNS_TYPE_A, false);
        ck_assert_int_eq(decide(&f, &m, out, NULL).verdict, FZD_DNS_VERDICT_FORWARD);
        m = tm_query(1, "corp.example.org", FZD_DNS_TYPE_TXT, false);
        ck_assert_int_eq(decide(&f, &m, out, NULL).verdict, FZD_DNS_VERDICT_FORWARD);
        m = tm_query(1, "version.bind", FZD_DNS_TYPE_TXT, false);
        m.b[m.n - 1] = 3;
        ck_assert_int_eq(decide(&f, &m, out, NULL).verdict, FZD_DNS_VERDICT_FORWARD);
        m = tm_query(1, "", FZD_DNS_TYPE_A, false);
        ck_assert_int_eq(decide(&f, &m, out, NULL).verdict, FZD_DNS_VERDICT_FORWARD);
        /* A name that is no text (a dot inside a label) is never a resource. */
        tm_header(&m, 1, 0x0100, 1, 0, 0, 0);
        tm_u8(&m, 8), memcpy(m.b + m.n, "git.corp", 8), m.n += 8;
        tm_u8(&m, 7), memcpy(m.b + m.n, "example", 7), m.n += 7;
        tm_u8(&m, 0), tm_u16(&m, 1), tm_u16(&m, 1);
        ck_assert_int_eq(decide(&f, &m, out, NULL).verdict, FZD_DNS_VERDICT_FORWARD);
        teardown_fixture(&f);
}
END_TEST

START_TEST(test_canary) {
        Fixture f = setup_fixture();
        uint8_t out[1024];
        TestAnswer a;
        TestMsg m = tm_query(3, "USE-application-dns.NET", FZD_DNS_TYPE_A, false);

        ck_assert_int_eq(decide(&f, &m, out, &a).kind, FZD_DNS_ANSWER_CANARY);
        ck_assert_uint_eq(a.rcode, FZD_DNS_RCODE_NXDOMAIN);
        ck_assert_uint_eq(a.an, 0);
        /* Even if a resource pattern would match it. */
        ck_assert_int_eq(fzd_dns_resources_put(f.res, "all", "**", FZD_DNS_IP_STACK_DUAL), 1);
        ck_assert_int_eq(decide(&f, &m, out, &a).kind, FZD_DNS_ANSWER_CANARY);
        teardown_fixture(&f);
}
END_TEST

static void reverse_v4(const uint8_t *a, char *buf, size_t size) {
        snprintf(buf, size, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
}

static void reverse_v6(const uint8_t *a, char *buf) {
        static const char hex[] = "0123456789abcdef";
        char *p = buf;
        for (int i = 15; i >= 0; i--) {
                *p++ = hex[a[i] & 0xf], *p++ = '.';
                *p++ = hex[a[i] >> 4], *p++ = '.';
        }
        strcpy(p, "ip6.arpa");
}

START_TEST(test_ptr) {
        Fixture f = setup_fixture();
        uint8_t out[1024], wire[64];
        char rev[128];
        TestAnswer a, ptr;
        TestMsg m;

        m = tm_query(1, "git.corp.example", FZD_DNS_TYPE_A, false);
        decide(&f, &m, out, &a);
        reverse_v4(a.rr[2].rdata, rev, sizeof rev);
        m = tm_query(2, rev, FZD_DNS_TYPE_PTR, false);
        ck_assert_int_eq(decide(&f, &m, out, &ptr).kind, FZD_DNS_ANSWER_PTR);
        ck_assert_uint_eq(ptr.n, 1);
        ck_assert_uint_eq(ptr.rr[0].type, FZD_DNS_TYPE_PTR);
        ck_assert_int_eq(fzd_dns_name_to_wire("git.corp.example", wire, sizeof wire), ptr.rr[0].rdlength);
        ck_assert_mem_eq(ptr.rr[0].rdata, wire, ptr.rr[0].rdlength);

        m = tm_query(1, "git.corp.example", FZD_DNS_TYPE_AAAA, false);
        decide(&f, &m, out, &a);
        reverse_v6(a.rr[1].rdata, rev);
        m = tm_query(3, rev, FZD_DNS_TYPE_PTR, false);
        ck_assert_int_eq(decide(&f, &m, out, &ptr).kind, FZD_DNS_ANSWER_PTR);
        ck_assert_mem_eq(ptr.rr[0].rdata, wire, ptr.rr[0].rdlength);

        /* Not a proxy IP, a proxy IP nobody has, a malformed reverse name: forwarded. */
        static const char *const others[] = {"1.0.0.10.in-addr.arpa",     "200.0.96.100.in-addr.arpa",
                                             "4.0.096.100.in-addr.arpa",  "0.96.100.in-addr.arpa",
                                             "x.4.0.96.100.in-addr.arpa", "1.ip6.arpa"};
        for (size_t i = 0; i < ELEMENTSOF(others); i++) {
                m = tm_query(4, others[i], FZD_DNS_TYPE_PTR, false);
                ck_assert_int_eq(decide(&f, &m, out, NULL).verdict, FZD_DNS_VERDICT_FORWARD);
        }
        teardown_fixture(&f);
}
END_TEST

START_TEST(test_reverse_names) {
        uint8_t a[16];

        ck_assert_int_eq(fzd_dns_reverse_name("4.3.2.1.in-addr.arpa", a), AF_INET);
        ck_assert_mem_eq(a, ((uint8_t[]){1, 2, 3, 4}), 4);
        ck_assert_int_eq(fzd_dns_reverse_name("255.0.0.0.in-addr.arpa", a), AF_INET);
        ck_assert_int_eq(fzd_dns_reverse_name("256.0.0.0.in-addr.arpa", a), 0);
        ck_assert_int_eq(fzd_dns_reverse_name("01.0.0.0.in-addr.arpa", a), 0);
        ck_assert_int_eq(fzd_dns_reverse_name("1.0.0.0.0.in-addr.arpa", a), 0);
        ck_assert_int_eq(fzd_dns_reverse_name("in-addr.arpa", a), 0);
        ck_assert_int_eq(
                fzd_dns_reverse_name(
                        "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", a),
                AF_INET6);
        {
                struct in6_addr want;
                inet_pton(AF_INET6, "2001:db8::567:89ab", &want);
                ck_assert_mem_eq(a, want.s6_addr, 16);
        }
        ck_assert_int_eq(
                fzd_dns_reverse_name(
                        "0.b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", a),
                0);
        ck_assert_int_eq(
                fzd_dns_reverse_name(
                        "g.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", a),
                0);
        ck_assert_int_eq(fzd_dns_reverse_name("1.2.3.4.ip6.arpa", a), 0);
}
END_TEST

START_TEST(test_bad_input) {
        Fixture f = setup_fixture();
        uint8_t out[1024];
        TestAnswer a;
        TestMsg m;
        FzdDnsDecision d;

        m = tm_query(21, "git.corp.example", FZD_DNS_TYPE_A, false);
        m.b[5] = 2; /* QDCOUNT 2 */
        d = decide(&f, &m, out, &a);
        ck_assert_int_eq(d.kind, FZD_DNS_ANSWER_FORMERR);
        ck_assert_uint_eq(a.rcode, FZD_DNS_RCODE_FORMERR);
        ck_assert_uint_eq(a.id, 21);

        m = tm_query(22, "git.corp.example", FZD_DNS_TYPE_A, false);
        m.b[2] = 0x10; /* opcode 2, STATUS */
        decide(&f, &m, out, &a);
        ck_assert_uint_eq(a.rcode, FZD_DNS_RCODE_NOTIMP);

        m = tm_query(23, "git.corp.example", FZD_DNS_TYPE_A, false);
        m.b[11] = 1;
        tm_opt(&m, 1232, false, 1);
        d = decide(&f, &m, out, &a);
        ck_assert_int_eq(d.kind, FZD_DNS_ANSWER_BADVERS);
        ck_assert_uint_eq(a.opt_ext_rcode, 1);

        m = tm_query(24, "git.corp.example", FZD_DNS_TYPE_A, false);
        m.b[2] |= 0x80;
        ck_assert_int_eq(decide(&f, &m, out, NULL).verdict, FZD_DNS_VERDICT_DROP);
        ck_assert_int_eq(decide(&f, &(TestMsg){.n = 5}, out, NULL).verdict, FZD_DNS_VERDICT_DROP);
        /* None of it gave anyone addresses. */
        ck_assert_uint_eq(fzd_proxy_ips_count(f.ips), 0);
        teardown_fixture(&f);
}
END_TEST

START_TEST(test_max_answer) {
        FzdDnsQuery q = {};

        ck_assert_uint_eq(fzd_dns_max_answer(&q, false), 512);
        ck_assert_uint_eq(fzd_dns_max_answer(&q, true), 65535);
        q.has_edns = true;
        q.edns_udp_size = 4096;
        ck_assert_uint_eq(fzd_dns_max_answer(&q, false), 4096);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("dns-answer");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_resource_a_and_aaaa);
        tcase_add_test(tc, test_ip_stack);
        tcase_add_test(tc, test_other_types_of_resources_stay_here);
        tcase_add_test(tc, test_forwarded);
        tcase_add_test(tc, test_canary);
        tcase_add_test(tc, test_ptr);
        tcase_add_test(tc, test_reverse_names);
        tcase_add_test(tc, test_bad_input);
        tcase_add_test(tc, test_max_answer);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(suite)
