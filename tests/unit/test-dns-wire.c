/* SPDX-License-Identifier: Apache-2.0 */
/* The stub's DNS wire format (daemon/dnsstub/dns-wire.c): well-formed queries, every kind
 * of bad input the issue lists, the answers we write, and the check of upstream answers. */
#include <errno.h>
#include <time.h>

#include "dns-test-util.h"
#include "dns-wire.h"
#include "fz-check.h"

START_TEST(test_parse_plain_query) {
        TestMsg m = tm_query(0x1234, "WWW.Example.COM", FZD_DNS_TYPE_AAAA, false);
        FzdDnsQuery q;

        ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), 0);
        ck_assert_uint_eq(q.id, 0x1234);
        ck_assert_uint_eq(q.flags, 0x0100);
        ck_assert_str_eq(q.name, "www.example.com");
        ck_assert(q.name_is_text);
        ck_assert_uint_eq(q.qtype, FZD_DNS_TYPE_AAAA);
        ck_assert_uint_eq(q.qclass, FZD_DNS_CLASS_IN);
        ck_assert_uint_eq(q.question_end, m.n);
        ck_assert(!q.has_edns);
}
END_TEST

START_TEST(test_parse_edns) {
        TestMsg m;
        FzdDnsQuery q;

        m = tm_query(1, "a.b", FZD_DNS_TYPE_A, false);
        m.b[11] = 1;
        tm_opt(&m, 4096, true, 0);
        ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), 0);
        ck_assert(q.has_edns);
        ck_assert_uint_eq(q.edns_udp_size, 4096);
        ck_assert(q.edns_do);
        ck_assert_uint_eq(q.edns_version, 0);

        /* A payload size below 512 means 512 (RFC 6891 §6.2.5). */
        m = tm_query(1, "a.b", FZD_DNS_TYPE_A, false);
        m.b[11] = 1;
        tm_opt(&m, 100, false, 1);
        ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), 0);
        ck_assert_uint_eq(q.edns_udp_size, 512);
        ck_assert_uint_eq(q.edns_version, 1);

        /* Options that fill the record exactly: fine (a cookie, then padding). */
        m = tm_query(1, "a.b", FZD_DNS_TYPE_A, false);
        m.b[11] = 1;
        tm_u8(&m, 0), tm_u16(&m, 41), tm_u16(&m, 1232), tm_u32(&m, 0), tm_u16(&m, 4 + 8 + 4 + 3);
        tm_u16(&m, 10), tm_u16(&m, 8), tm_u32(&m, 0x01020304), tm_u32(&m, 0x05060708);
        tm_u16(&m, 12), tm_u16(&m, 3), tm_u8(&m, 0), tm_u8(&m, 0), tm_u8(&m, 0);
        ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), 0);
        ck_assert(q.has_edns);

        /* An option longer than the record: FORMERR. */
        m.b[m.n - 4] = 9;
        ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), -EBADMSG);
        /* Half an option header. */
        m = tm_query(1, "a.b", FZD_DNS_TYPE_A, false);
        m.b[11] = 1;
        tm_u8(&m, 0), tm_u16(&m, 41), tm_u16(&m, 1232), tm_u32(&m, 0), tm_u16(&m, 2), tm_u16(&m, 10);
        ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), -EBADMSG);
}
END_TEST

START_TEST(test_parse_odd_names) {
        TestMsg m;
        FzdDnsQuery q;

        /* The root. */
        m = tm_query(1, "", FZD_DNS_TYPE_A, false);
        ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), 0);
        ck_assert_str_eq(q.name, "");
        ck_assert(q.name_is_text);

        /* A label with a dot or a byte outside ASCII in it: fine on the wire, never text. */
        tm_header(&m, 1, 0x0100, 1, 0, 0, 0);
        tm_u8(&m, 3), tm_u8(&m, 'a'), tm_u8(&m, '.'), tm_u8(&m, 'b'), tm_u8(&m, 0);
        tm_u16(&m, 1), tm_u16(&m, 1);
        ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), 0);
        ck_assert(!q.name_is_text);
        ck_assert_str_eq(q.name, "");
        m.b[14] = 0xc3;
        ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), 0);
        ck_assert(!q.name_is_text);

        /* The longest name there is: 255 bytes on the wire, 253 as text. */
        {
                char name[300] = "";
                for (int i = 0; i < 4; i++)
                        strcat(name,
                               i < 3 ? "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
                                     : "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
                m = tm_query(1, name, FZD_DNS_TYPE_A, false);
                ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), 0);
                ck_assert_uint_eq(strlen(q.name), 253);
                /* One more byte: too long. */
                strcat(name, "a");
                m = tm_query(1, name, FZD_DNS_TYPE_A, false);
                ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), -EBADMSG);
        }
}
END_TEST

START_TEST(test_parse_not_a_query) {
        TestMsg m = tm_query(7, "a.b", FZD_DNS_TYPE_A, false);
        FzdDnsQuery q;

        for (size_t n = 0; n < FZD_DNS_HEADER_SIZE; n++)
                ck_assert_int_eq(fzd_dns_query_parse(m.b, n, &q), -EINVAL);
        m.b[2] |= 0x80; /* QR: an answer */
        ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), -EINVAL);
        m.b[2] = 0x28; /* opcode 5, UPDATE */
        ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), -EOPNOTSUPP);
        ck_assert_uint_eq(q.id, 7);
}
END_TEST

START_TEST(test_parse_bad_counts_and_truncation) {
        TestMsg m = tm_query(7, "host.corp.example", FZD_DNS_TYPE_A, true);
        FzdDnsQuery q;

        /* Every truncation of a good query, from just a header on, is FORMERR. */
        for (size_t n = FZD_DNS_HEADER_SIZE; n < m.n; n++) {
                int r = fzd_dns_query_parse(m.b, n, &q);
                ck_assert_msg(r == -EBADMSG, "length %zu: %d", n, r);
                ck_assert_uint_eq(q.id, 7);
        }
        /* QDCOUNT must be 1. */
        m.b[5] = 0;
        ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), -EBADMSG);
        m.b[5] = 2;
        ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), -EBADMSG);
        m.b[5] = 1;
        /* Counts that promise more records than there are bytes. */
        m.b[6] = 0xff, m.b[7] = 0xff;
        ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), -EBADMSG);
        m.b[6] = m.b[7] = 0;
        m.b[10] = 0xff;
        ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), -EBADMSG);
}
END_TEST

START_TEST(test_parse_compression) {
        TestMsg m;
        FzdDnsQuery q;
        struct timespec a, b;

        /* A pointer in the question: there is nothing before it to point at. */
        tm_header(&m, 1, 0x0100, 1, 0, 0, 0);
        tm_u16(&m, 0xc00c), tm_u16(&m, 1), tm_u16(&m, 1);
        ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), -EBADMSG);
        /* Label types 0x40 and 0x80 (extended, reserved). */
        m.b[12] = 0x41;
        ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), -EBADMSG);
        m.b[12] = 0x81;
        ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), -EBADMSG);

        /* Records whose owners are pointer loops (to themselves, to each other): skipped,
         * never followed — parsing ends at once. */
        clock_gettime(CLOCK_MONOTONIC, &a);
        m = tm_query(1, "a.b", FZD_DNS_TYPE_A, false);
        m.b[7] = 2; /* two answer records */
        {
                uint16_t here = (uint16_t)m.n;
                tm_u16(&m, 0xc000 | here), tm_u16(&m, 1), tm_u16(&m, 1), tm_u32(&m, 0), tm_u16(&m, 0);
                here = (uint16_t)m.n;
                tm_u16(&m, 0xc000 | (here + 13)), tm_u16(&m, 1), tm_u16(&m, 1), tm_u32(&m, 0), tm_u16(&m, 2);
                tm_u16(&m, 0xc000 | here);
        }
        ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), 0);
        clock_gettime(CLOCK_MONOTONIC, &b);
        ck_assert_int_lt((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec), 50000000L);
        /* A pointer cut in half at the end. */
        m.n -= 13;
        m.n += 1;
        ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), -EBADMSG);
}
END_TEST

START_TEST(test_parse_opt_rules) {
        TestMsg m;
        FzdDnsQuery q;

        /* Two OPT records. */
        m = tm_query(1, "a.b", FZD_DNS_TYPE_A, true);
        m.b[11] = 2;
        tm_opt(&m, 1232, false, 0);
        ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), -EBADMSG);
        ck_assert(!q.has_edns);
        /* OPT in the answer section. */
        m = tm_query(1, "a.b", FZD_DNS_TYPE_A, false);
        m.b[7] = 1;
        tm_opt(&m, 1232, false, 0);
        ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), -EBADMSG);
        /* OPT owned by a name other than the root. */
        m = tm_query(1, "a.b", FZD_DNS_TYPE_A, false);
        m.b[11] = 1;
        tm_u8(&m, 1), tm_u8(&m, 'x'), tm_u8(&m, 0), tm_u16(&m, 41), tm_u16(&m, 1232), tm_u32(&m, 0),
                tm_u16(&m, 0);
        ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), -EBADMSG);
}
END_TEST

START_TEST(test_parse_classes_trailing_and_size) {
        TestMsg m = tm_query(1, "version.bind", 16, false);
        FzdDnsQuery q;
        uint8_t big[FZD_DNS_MAX_QUERY + 1] = {};

        m.b[m.n - 1] = 3; /* class CH: parsed, the caller decides */
        ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), 0);
        ck_assert_uint_eq(q.qclass, 3);
        m.b[m.n - 1] = 0x42, m.b[m.n - 2] = 0x42; /* a class nobody defined */
        ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), 0);
        ck_assert_uint_eq(q.qclass, 0x4242);
        /* Bytes after the last record are ignored. */
        tm_u32(&m, 0xdeadbeef);
        ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), 0);

        /* Oversized: FORMERR, whatever it holds. */
        m = tm_query(9, "a.b", FZD_DNS_TYPE_A, false);
        memcpy(big, m.b, m.n);
        ck_assert_int_eq(fzd_dns_query_parse(big, FZD_DNS_MAX_QUERY, &q), 0);
        ck_assert_int_eq(fzd_dns_query_parse(big, FZD_DNS_MAX_QUERY + 1, &q), -EBADMSG);
        ck_assert_uint_eq(q.id, 9);
}
END_TEST

START_TEST(test_write_answers) {
        TestMsg m = tm_query(0xbeef, "Host.Corp.Example", FZD_DNS_TYPE_A, true);
        static const uint8_t a1[4] = {100, 96, 0, 4}, a2[4] = {100, 96, 0, 5};
        FzdDnsRecord rr[2] = {{FZD_DNS_TYPE_A, 4, a1}, {FZD_DNS_TYPE_A, 4, a2}};
        uint8_t out[1024];
        FzdDnsQuery q;
        TestAnswer a;
        ssize_t n;

        m.b[3] |= 0x10; /* CD */
        ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), 0);
        n = fzd_dns_write_response(m.b, &q, FZD_DNS_RCODE_NOERROR, rr, 2, 1, 512, out, sizeof out);
        ck_assert_int_gt(n, 0);
        a = tm_parse(out, (size_t)n);
        ck_assert_uint_eq(a.id, 0xbeef);
        ck_assert_uint_eq(a.flags & 0xfbff, 0x8000 | 0x0100 | 0x0080 | 0x0010); /* QR RD RA CD */
        ck_assert_uint_eq(a.rcode, 0);
        ck_assert_uint_eq(a.qd, 1);
        ck_assert_uint_eq(a.n, 2);
        ck_assert_uint_eq(a.rr[0].ttl, 1);
        ck_assert_uint_eq(a.rr[0].klass, 1);
        ck_assert_mem_eq(a.rr[1].rdata, a2, 4);
        ck_assert(a.has_opt);
        ck_assert_uint_eq(a.opt_size, FZD_DNS_EDNS_UDP_SIZE);
        /* The question as it came, case and all; the answers point at it. */
        ck_assert_mem_eq(out + 12, m.b + 12, q.question_end - 12);
        ck_assert_uint_eq(out[q.question_end], 0xc0);
        ck_assert_uint_eq(out[q.question_end + 1], 12);

        /* Too big for the client: no answers, TC set, still a valid message. */
        n = fzd_dns_write_response(m.b, &q, 0, rr, 2, 1, (size_t)n - 1, out, sizeof out);
        ck_assert_int_gt(n, 0);
        a = tm_parse(out, (size_t)n);
        ck_assert(a.flags & 0x0200);
        ck_assert_uint_eq(a.an, 0);
        /* Not even that fits the buffer. */
        ck_assert_int_eq(fzd_dns_write_response(m.b, &q, 0, rr, 2, 1, 512, out, 20), -ENOBUFS);
}
END_TEST

START_TEST(test_write_errors) {
        TestMsg m = tm_query(5, "a.b", FZD_DNS_TYPE_A, false);
        uint8_t out[1024];
        FzdDnsQuery q;
        TestAnswer a;
        ssize_t n;

        /* BADVERS needs EDNS. */
        ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), 0);
        ck_assert_int_eq(
                fzd_dns_write_response(m.b, &q, FZD_DNS_RCODE_BADVERS, NULL, 0, 0, 512, out, sizeof out),
                -EINVAL);
        m = tm_query(5, "a.b", FZD_DNS_TYPE_A, false);
        m.b[11] = 1;
        tm_opt(&m, 1232, true, 3);
        ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), 0);
        n = fzd_dns_write_response(m.b, &q, FZD_DNS_RCODE_BADVERS, NULL, 0, 0, 512, out, sizeof out);
        ck_assert_int_gt(n, 0);
        a = tm_parse(out, (size_t)n);
        ck_assert_uint_eq(a.rcode, 0);
        ck_assert_uint_eq(a.opt_ext_rcode, 1); /* 16 >> 4 */
        ck_assert(a.opt_do);

        /* FORMERR for a question that did not parse: no question in the answer. */
        m.b[5] = 2;
        ck_assert_int_eq(fzd_dns_query_parse(m.b, m.n, &q), -EBADMSG);
        n = fzd_dns_write_response(m.b, &q, FZD_DNS_RCODE_FORMERR, NULL, 0, 0, 512, out, sizeof out);
        ck_assert_int_eq(n, 12);
        a = tm_parse(out, (size_t)n);
        ck_assert_uint_eq(a.rcode, FZD_DNS_RCODE_FORMERR);
        ck_assert_uint_eq(a.qd, 0);
        ck_assert_uint_eq(a.id, 5);
}
END_TEST

START_TEST(test_response_matches) {
        TestMsg q = tm_query(0x4242, "www.example.com", FZD_DNS_TYPE_A, false);
        TestMsg r;
        FzdDnsQuery info;

        ck_assert_int_eq(fzd_dns_query_parse(q.b, q.n, &info), 0);
        r = tm_query(0x4242, "WWW.example.COM", FZD_DNS_TYPE_A, false);
        r.b[2] |= 0x80;
        tm_u16(&r, 0xc00c), tm_u16(&r, 1), tm_u16(&r, 1), tm_u32(&r, 60), tm_u16(&r, 4),
                tm_u32(&r, 0x01020304);
        r.b[7] = 1;
        ck_assert(fzd_dns_response_matches(r.b, r.n, q.b, info.question_end));
        /* Another ID, no QR, another type, another name, cut short: no. */
        r.b[1] ^= 1;
        ck_assert(!fzd_dns_response_matches(r.b, r.n, q.b, info.question_end));
        r.b[1] ^= 1;
        r.b[2] &= 0x7f;
        ck_assert(!fzd_dns_response_matches(r.b, r.n, q.b, info.question_end));
        r.b[2] |= 0x80;
        r.b[info.question_end - 3] = 28;
        ck_assert(!fzd_dns_response_matches(r.b, r.n, q.b, info.question_end));
        r.b[info.question_end - 3] = 1;
        r.b[14] = 'x';
        ck_assert(!fzd_dns_response_matches(r.b, r.n, q.b, info.question_end));
        r.b[14] = 'w';
        ck_assert(fzd_dns_response_matches(r.b, r.n, q.b, info.question_end));
        ck_assert(!fzd_dns_response_matches(r.b, info.question_end - 1, q.b, info.question_end));
        /* An error answer without a question is accepted; a NOERROR one is not. */
        tm_header(&r, 0x4242, 0x8182, 0, 0, 0, 0);
        ck_assert_int_eq(fzd_dns_query_parse(q.b, q.n, &info), 0);
        ck_assert(fzd_dns_response_matches(r.b, r.n, q.b, info.question_end));
        tm_header(&r, 0x4242, 0x8180, 0, 0, 0, 0);
        ck_assert(!fzd_dns_response_matches(r.b, r.n, q.b, info.question_end));
        tm_header(&r, 0x4242, 0x8182, 2, 0, 0, 0);
        ck_assert(!fzd_dns_response_matches(r.b, r.n, q.b, info.question_end));
}
END_TEST

START_TEST(test_name_to_wire) {
        uint8_t b[300];
        static const uint8_t want[] = {3, 'w', 'w', 'w', 2, 'e', 'x', 0};

        ck_assert_int_eq(fzd_dns_name_to_wire("www.ex", b, sizeof b), 8);
        ck_assert_mem_eq(b, want, 8);
        ck_assert_int_eq(fzd_dns_name_to_wire("www.ex.", b, sizeof b), 8);
        ck_assert_int_eq(fzd_dns_name_to_wire("", b, sizeof b), 1);
        ck_assert_int_eq(fzd_dns_name_to_wire("a..b", b, sizeof b), -EINVAL);
        ck_assert_int_eq(
                fzd_dns_name_to_wire("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", b,
                                     sizeof b),
                -EINVAL);
        ck_assert_int_eq(fzd_dns_name_to_wire("www.ex", b, 7), -EINVAL);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("dns-wire");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_parse_plain_query);
        tcase_add_test(tc, test_parse_edns);
        tcase_add_test(tc, test_parse_odd_names);
        tcase_add_test(tc, test_parse_not_a_query);
        tcase_add_test(tc, test_parse_bad_counts_and_truncation);
        tcase_add_test(tc, test_parse_compression);
        tcase_add_test(tc, test_parse_opt_rules);
        tcase_add_test(tc, test_parse_classes_trailing_and_size);
        tcase_add_test(tc, test_write_answers);
        tcase_add_test(tc, test_write_errors);
        tcase_add_test(tc, test_response_matches);
        tcase_add_test(tc, test_name_to_wire);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(suite)
