/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "cidr.h"
#include "fz-check.h"
#include "macro.h"

static FzdCidr parse_ok(const char *s, bool host_bits) {
        FzdCidr c;
        ck_assert_msg(fzd_cidr_parse(s, host_bits, &c) == 0, "rejected '%s'", s);
        return c;
}

static void assert_roundtrip(const char *in, const char *out) {
        char buf[FZD_CIDR_STRING_MAX];
        FzdCidr c = parse_ok(in, false);

        ck_assert_int_eq(fzd_cidr_to_string(&c, buf, sizeof buf), 0);
        ck_assert_str_eq(buf, out);
}

START_TEST(test_parse_good) {
        assert_roundtrip("10.0.0.0/8", "10.0.0.0/8");
        assert_roundtrip("0.0.0.0/0", "0.0.0.0/0");
        assert_roundtrip("192.168.1.7", "192.168.1.7/32");
        assert_roundtrip("192.168.1.7/32", "192.168.1.7/32");
        assert_roundtrip("fd00::/8", "fd00::/8");
        assert_roundtrip("::/0", "::/0");
        assert_roundtrip("FD00:2021:1111::/107", "fd00:2021:1111::/107");
        assert_roundtrip("2001:db8::1", "2001:db8::1/128");
        assert_roundtrip("fd00:2021:1111:8000:100:100:111:0/120", "fd00:2021:1111:8000:100:100:111:0/120");
        assert_roundtrip("::ffff:10.0.0.0/104", "::ffff:10.0.0.0/104");

        FzdCidr c = parse_ok("100.64.0.0/11", false);
        ck_assert_int_eq(c.family, AF_INET);
        ck_assert_int_eq(c.prefixlen, 11);
        ck_assert_uint_eq(ntohl(c.addr.in.s_addr), 0x64400000u);
}
END_TEST

START_TEST(test_parse_bad) {
        static const char *const bad[] = {
                "", "/", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/08",
                "10.0.0.0/8/8", "10.0.0.0 /8", " 10.0.0.0/8", "10.0.0.0/8 ", "10.0.0/8", "10.0.0.0.0/8",
                "256.0.0.0/8", "010.0.0.0/8", "10.0.0.0/1000", "10.0.0.0/8\n", "0x0a000000/8", "10.0.0.0\t/8",
                "fd00::/129", "fd00::/0128", "fd00:::/8", "fd00::/8%eth0", "fe80::1%eth0/128", "fd00::g/16",
                "1:2:3:4:5:6:7:8:9/128", "[fd00::]/8", "localhost", "10.0.0.0/8x", "10.0.0.0/x8",
                "fd00::1.2.3/128",
                /* host bits */
                "10.0.0.1/8", "192.168.1.7/24", "fd00::1/64", "::1/0", "0.0.0.1/0",
                /* too long to be an address at all */
                "1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa/128",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                FzdCidr c = { .family = 12345 };
                ck_assert_msg(fzd_cidr_parse(bad[i], false, &c) == -EINVAL, "accepted '%s'", bad[i]);
                ck_assert_int_eq(c.family, 12345); /* untouched on failure */
        }
        ck_assert_int_eq(fzd_cidr_parse(NULL, false, &(FzdCidr) {}), -EINVAL);
}
END_TEST

START_TEST(test_parse_overlong) {
        char buf[4096];

        memset(buf, '1', sizeof buf - 1);
        buf[sizeof buf - 1] = '\0';
        ck_assert_int_eq(fzd_cidr_parse(buf, true, &(FzdCidr) {}), -EINVAL);
}
END_TEST

START_TEST(test_host_bits) {
        FzdCidr c = parse_ok("10.1.2.3/8", true);
        char buf[FZD_CIDR_STRING_MAX];

        ck_assert(fzd_cidr_has_host_bits(&c));
        fzd_cidr_mask(&c);
        ck_assert(!fzd_cidr_has_host_bits(&c));
        ck_assert_int_eq(fzd_cidr_to_string(&c, buf, sizeof buf), 0);
        ck_assert_str_eq(buf, "10.0.0.0/8");

        c = parse_ok("fd00:2021:1111:8000:100:100:111:ff/119", true);
        fzd_cidr_mask(&c);
        ck_assert_int_eq(fzd_cidr_to_string(&c, buf, sizeof buf), 0);
        ck_assert_str_eq(buf, "fd00:2021:1111:8000:100:100:111:0/119");

        c = parse_ok("255.255.255.255/31", true);
        fzd_cidr_mask(&c);
        ck_assert_int_eq(fzd_cidr_to_string(&c, buf, sizeof buf), 0);
        ck_assert_str_eq(buf, "255.255.255.254/31");
}
END_TEST

START_TEST(test_to_string_errors) {
        FzdCidr c = parse_ok("fd00:2021:1111:8000:100:100:111:0/120", false);
        char small[8];
        char buf[FZD_CIDR_STRING_MAX];

        ck_assert_int_eq(fzd_cidr_to_string(&c, small, sizeof small), -ENOSPC);
        c.family = AF_UNIX;
        ck_assert_int_eq(fzd_cidr_to_string(&c, buf, sizeof buf), -EAFNOSUPPORT);
        c = parse_ok("10.0.0.0/8", false);
        c.prefixlen = 33;
        ck_assert_int_eq(fzd_cidr_to_string(&c, buf, sizeof buf), -EINVAL);
}
END_TEST

START_TEST(test_equal_and_contains) {
        FzdCidr a = parse_ok("10.0.0.0/8", false), b = parse_ok("10.0.0.0/8", false);
        FzdCidr c = parse_ok("10.0.0.0/16", false), d = parse_ok("::/8", false);

        /* Bytes past an IPv4 address do not matter. */
        memset((uint8_t *) &b.addr + 4, 0xaa, sizeof b.addr - 4);
        ck_assert(fzd_cidr_equal(&a, &b));
        ck_assert(!fzd_cidr_equal(&a, &c));
        ck_assert(!fzd_cidr_equal(&a, &d));
        ck_assert(fzd_cidr_equal(NULL, NULL));
        ck_assert(!fzd_cidr_equal(&a, NULL));

        ck_assert(fzd_cidr_contains(&a, &c));
        ck_assert(!fzd_cidr_contains(&c, &a));
        ck_assert(fzd_cidr_contains(&a, &a));
        ck_assert(!fzd_cidr_contains(&a, &d));
        FzdCidr all = parse_ok("0.0.0.0/0", false);
        ck_assert(fzd_cidr_contains(&all, &c));
}
END_TEST

START_TEST(test_route_problem) {
        static const char *const ok[] = {
                "10.0.0.0/8", "100.64.0.0/11", "64.0.0.0/2", "128.0.0.0/1", "169.254.169.254/32", "fd00::/8",
                "2000::/3", "::/1", "8000::/1", "100.100.111.0/24", "0.0.0.0/1",
        };
        static const char *const bad[] = {
                "0.0.0.0/0", "::/0", "127.0.0.0/8", "127.0.0.1/32", "::1/128", "224.0.0.0/4", "239.1.2.3/32",
                "ff00::/8", "ff02::1/128", "fe80::/10", "fe80::/64", "255.255.255.255/32", "0.0.0.0/8",
                "0.0.0.0/32", "::/128",
        };
        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                FzdCidr c = parse_ok(ok[i], false);
                ck_assert_msg(!fzd_cidr_route_problem(&c), "refused %s", ok[i]);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                FzdCidr c = parse_ok(bad[i], false);
                ck_assert_msg(fzd_cidr_route_problem(&c), "accepted %s", bad[i]);
        }
        FzdCidr c = parse_ok("10.1.2.3/8", true);
        ck_assert_str_eq(fzd_cidr_route_problem(&c), "host bits set");
        c = parse_ok("0.0.0.0/0", false);
        ck_assert_str_eq(fzd_cidr_route_problem(&c), "a default route is only allowed for the Internet resource");
        c.family = AF_UNIX;
        ck_assert_ptr_nonnull(fzd_cidr_route_problem(&c));
        ck_assert_ptr_nonnull(fzd_cidr_route_problem(NULL));
}
END_TEST

START_TEST(test_address_problem) {
        struct in_addr a4;
        struct in6_addr a6;
        static const char *const ok4[] = { "100.64.0.2", "10.0.0.1", "192.0.2.1" };
        static const char *const bad4[] = { "0.0.0.0", "127.0.0.1", "224.0.0.1", "255.255.255.255", "240.0.0.1" };
        static const char *const ok6[] = { "fd00:2021:1111::2", "2001:db8::1" };
        static const char *const bad6[] = { "::", "::1", "ff02::1", "fe80::1", "::ffff:10.0.0.1" };

        for (size_t i = 0; i < ELEMENTSOF(ok4); i++) {
                ck_assert_int_eq(inet_pton(AF_INET, ok4[i], &a4), 1);
                ck_assert_msg(!fzd_address_problem(AF_INET, &a4), "refused %s", ok4[i]);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad4); i++) {
                ck_assert_int_eq(inet_pton(AF_INET, bad4[i], &a4), 1);
                ck_assert_msg(fzd_address_problem(AF_INET, &a4), "accepted %s", bad4[i]);
        }
        for (size_t i = 0; i < ELEMENTSOF(ok6); i++) {
                ck_assert_int_eq(inet_pton(AF_INET6, ok6[i], &a6), 1);
                ck_assert_msg(!fzd_address_problem(AF_INET6, &a6), "refused %s", ok6[i]);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad6); i++) {
                ck_assert_int_eq(inet_pton(AF_INET6, bad6[i], &a6), 1);
                ck_assert_msg(fzd_address_problem(AF_INET6, &a6), "accepted %s", bad6[i]);
        }
        ck_assert_ptr_nonnull(fzd_address_problem(AF_UNIX, &a6));
}
END_TEST

static Suite *cidr_suite(void) {
        Suite *s = suite_create("cidr");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_parse_good);
        tcase_add_test(tc, test_parse_bad);
        tcase_add_test(tc, test_parse_overlong);
        tcase_add_test(tc, test_host_bits);
        tcase_add_test(tc, test_to_string_errors);
        tcase_add_test(tc, test_equal_and_contains);
        tcase_add_test(tc, test_route_problem);
        tcase_add_test(tc, test_address_problem);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(cidr_suite)
