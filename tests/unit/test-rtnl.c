/* SPDX-License-Identifier: Apache-2.0 */
/* rtnetlink builders and parsers without a socket: what we build parses back to what we
 * meant, descriptions name the prefix, and malformed messages are refused. */
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <string.h>

#include "fz-check.h"
#include "rtnl.h"

static FzdCidr cidr(const char *s) {
        FzdCidr c;
        ck_assert_int_eq(fzd_cidr_parse(s, true, &c), 0);
        return c;
}

START_TEST(test_route_roundtrip) {
        _cleanup_(fzd_nl_batch_freep) FzdNlBatch *b = NULL;
        FzdCidr dst = cidr("10.0.0.0/8"), dst6 = cidr("fd00:2021:1111::/107"), all = cidr("::/0");
        FzdRtnlRoute r;
        char what[256];

        ck_assert_int_eq(fzd_nl_batch_new(&b), 0);
        ck_assert_int_eq(fzd_rtnl_put_route(b, RTM_NEWROUTE, 7, 7946, &dst), 0);
        ck_assert_int_eq(fzd_rtnl_put_route(b, RTM_DELROUTE, 7, 7946, &dst6), 0);
        ck_assert_int_eq(fzd_rtnl_put_route(b, RTM_NEWROUTE, 7, 7946, &all), 0);
        ck_assert_uint_eq(fzd_nl_batch_count(b), 3);

        ck_assert_int_eq(fzd_rtnl_parse_route(fzd_nl_batch_request(b, 0), &r), 0);
        ck_assert(fzd_cidr_equal(&r.dst, &dst));
        ck_assert_uint_eq(r.table, 7946);
        ck_assert_int_eq(r.oif, 7);
        ck_assert_uint_eq(r.protocol, RTPROT_STATIC);
        ck_assert_uint_eq(r.scope, RT_SCOPE_LINK);
        ck_assert_uint_eq(r.type, RTN_UNICAST);
        ck_assert(fzd_nl_batch_request(b, 0)->nlmsg_flags & NLM_F_REPLACE);
        fzd_rtnl_describe(fzd_nl_batch_request(b, 0), what, sizeof what);
        ck_assert_str_eq(what, "add route 10.0.0.0/8 to table 7946");

        ck_assert_int_eq(fzd_rtnl_parse_route(fzd_nl_batch_request(b, 1), &r), 0);
        ck_assert(fzd_cidr_equal(&r.dst, &dst6));
        ck_assert_uint_eq(r.scope, RT_SCOPE_NOWHERE);
        fzd_rtnl_describe(fzd_nl_batch_request(b, 1), what, sizeof what);
        ck_assert_str_eq(what, "delete route fd00:2021:1111::/107 from table 7946");

        fzd_rtnl_describe(fzd_nl_batch_request(b, 2), what, sizeof what);
        ck_assert_str_eq(what, "add route ::/0 to table 7946");

        /* Refused before anything is queued. */
        FzdCidr bad = dst;
        bad.family = AF_UNIX;
        ck_assert_int_eq(fzd_rtnl_put_route(b, RTM_NEWROUTE, 7, 7946, &bad), -EAFNOSUPPORT);
        bad = dst;
        bad.prefixlen = 40;
        ck_assert_int_eq(fzd_rtnl_put_route(b, RTM_NEWROUTE, 7, 7946, &bad), -EINVAL);
        ck_assert_int_eq(fzd_rtnl_put_route(b, RTM_NEWROUTE, 0, 7946, &dst), -EINVAL);
        ck_assert_int_eq(fzd_rtnl_put_route(b, RTM_GETROUTE, 7, 7946, &dst), -EINVAL);
        ck_assert_uint_eq(fzd_nl_batch_count(b), 3);
}
END_TEST

START_TEST(test_delete_like) {
        _cleanup_(fzd_nl_batch_freep) FzdNlBatch *b = NULL;
        FzdRtnlRoute in = { .dst = cidr("192.0.2.0/24"), .table = 7946, .type = RTN_UNICAST, .oif = 3,
                            .priority = 20, .has_gateway = true },
                     out;

        ck_assert_int_eq(inet_pton(AF_INET, "198.51.100.1", &in.gateway.in), 1);
        ck_assert_int_eq(fzd_nl_batch_new(&b), 0);
        ck_assert_int_eq(fzd_rtnl_put_route_delete_like(b, &in), 0);
        ck_assert_uint_eq(fzd_nl_batch_request(b, 0)->nlmsg_type, RTM_DELROUTE);
        ck_assert_int_eq(fzd_rtnl_parse_route(fzd_nl_batch_request(b, 0), &out), 0);
        ck_assert(fzd_cidr_equal(&out.dst, &in.dst));
        ck_assert_uint_eq(out.table, 7946);
        ck_assert_int_eq(out.oif, 3);
        ck_assert_uint_eq(out.priority, 20);
        ck_assert(out.has_gateway);
        ck_assert_mem_eq(&out.gateway.in, &in.gateway.in, 4);
}
END_TEST

START_TEST(test_rule_roundtrip) {
        _cleanup_(fzd_nl_batch_freep) FzdNlBatch *b = NULL;
        FzdRtnlRule r;
        char what[256];

        ck_assert_int_eq(fzd_nl_batch_new(&b), 0);
        ck_assert_int_eq(fzd_rtnl_put_rule(b, RTM_NEWRULE, AF_INET6, 5200, 7946, 0x1f0a), 0);
        ck_assert(fzd_nl_batch_request(b, 0)->nlmsg_flags & NLM_F_EXCL);
        ck_assert_int_eq(fzd_rtnl_parse_rule(fzd_nl_batch_request(b, 0), &r), 0);
        ck_assert_int_eq(r.family, AF_INET6);
        ck_assert_uint_eq(r.table, 7946);
        ck_assert_uint_eq(r.priority, 5200);
        ck_assert(r.has_priority);
        ck_assert_uint_eq(r.fwmark, 0x1f0a);
        ck_assert_uint_eq(r.fwmask, 0xffffffffu);
        ck_assert_uint_eq(r.action, FR_ACT_TO_TBL);
        ck_assert(r.flags & FIB_RULE_INVERT);
        fzd_rtnl_describe(fzd_nl_batch_request(b, 0), what, sizeof what);
        ck_assert_str_eq(what, "add IPv6 policy rule 'not fwmark 0x1f0a lookup 7946' (priority 5200)");
        ck_assert_int_eq(fzd_rtnl_put_rule(b, RTM_NEWRULE, AF_UNIX, 5200, 7946, 1), -EAFNOSUPPORT);
        ck_assert_int_eq(fzd_rtnl_put_rule(b, RTM_NEWRULE, AF_INET, 5200, 0, 1), -EINVAL);
}
END_TEST

START_TEST(test_addr_and_link_roundtrip) {
        _cleanup_(fzd_nl_batch_freep) FzdNlBatch *b = NULL;
        FzdCidr a6 = cidr("fd00:2021:1111::2/128");
        FzdRtnlAddr a;
        FzdRtnlLink l;
        char what[256];

        ck_assert_int_eq(fzd_nl_batch_new(&b), 0);
        ck_assert_int_eq(fzd_rtnl_put_addr(b, RTM_NEWADDR, 99999, &a6), 0);
        ck_assert_int_eq(fzd_rtnl_parse_addr(fzd_nl_batch_request(b, 0), &a), 0);
        ck_assert(fzd_cidr_equal(&a.local, &a6));
        ck_assert_int_eq(a.ifindex, 99999);
        ck_assert(a.flags & IFA_F_NODAD);
        fzd_rtnl_describe(fzd_nl_batch_request(b, 0), what, sizeof what);
        ck_assert_str_eq(what, "add address fd00:2021:1111::2/128 to interface #99999");

        ck_assert_int_eq(fzd_rtnl_put_link_up(b, 99999, 1280), 0);
        ck_assert_int_eq(fzd_rtnl_parse_link(fzd_nl_batch_request(b, 1), &l), 0);
        ck_assert_int_eq(l.ifindex, 99999);
        ck_assert_uint_eq(l.mtu, 1280);
        ck_assert(l.flags & IFF_UP);
        fzd_rtnl_describe(fzd_nl_batch_request(b, 1), what, sizeof what);
        ck_assert_str_eq(what, "set MTU 1280 and bring up interface #99999");

        ck_assert_int_eq(fzd_rtnl_put_link_delete(b, 99999), 0);
        fzd_rtnl_describe(fzd_nl_batch_request(b, 2), what, sizeof what);
        ck_assert_str_eq(what, "delete interface #99999");
}
END_TEST

START_TEST(test_batch_growth_and_copy) {
        _cleanup_(fzd_nl_batch_freep) FzdNlBatch *b = NULL;

        ck_assert_int_eq(fzd_nl_batch_new(&b), 0);
        for (uint32_t i = 0; i < 20000; i++) {
                FzdCidr c = { .family = AF_INET, .prefixlen = 24 };
                c.addr.in.s_addr = htonl(0x0a000000u | (i << 8));
                ck_assert_int_eq(fzd_rtnl_put_route(b, RTM_NEWROUTE, 5, 7946, &c), 0);
        }
        for (uint32_t i = 0; i < 20000; i += 997) {
                FzdRtnlRoute r;
                ck_assert_int_eq(fzd_rtnl_parse_route(fzd_nl_batch_request(b, i), &r), 0);
                ck_assert_uint_eq(ntohl(r.dst.addr.in.s_addr), 0x0a000000u | (i << 8));
        }
        /* A copy of a message re-typed (how stale rules are deleted). */
        ck_assert_int_eq(fzd_nl_batch_put_copy(b, fzd_nl_batch_request(b, 5), RTM_DELROUTE, 0, FZD_NL_IGNORE_MISSING),
                         0);
        ck_assert_uint_eq(fzd_nl_batch_request(b, 20000)->nlmsg_type, RTM_DELROUTE);
        ck_assert_uint_eq(fzd_nl_batch_request(b, 20000)->nlmsg_len, fzd_nl_batch_request(b, 5)->nlmsg_len);
        fzd_nl_batch_truncate(b, 10);
        ck_assert_uint_eq(fzd_nl_batch_count(b), 10);
        fzd_nl_batch_drop_last(b);
        ck_assert_uint_eq(fzd_nl_batch_count(b), 9);
        ck_assert_ptr_null(fzd_nl_batch_request(b, 9));
        fzd_nl_batch_reset(b);
        ck_assert_uint_eq(fzd_nl_batch_count(b), 0);

        /* Oversized or undersized source messages are refused. */
        FzdNlBuffer big = {};
        big.hdr.nlmsg_len = FZD_NL_REQUEST_MAX + 4;
        ck_assert_int_eq(fzd_nl_batch_put_copy(b, &big.hdr, RTM_DELRULE, 0, 0), -E2BIG);
        big.hdr.nlmsg_len = 4;
        ck_assert_int_eq(fzd_nl_batch_put_copy(b, &big.hdr, RTM_DELRULE, 0, 0), -E2BIG);
}
END_TEST

/* ---- malformed input ---------------------------------------------------------------------- */

typedef struct Msg {
        FzdNlBuffer buf;
        struct nlmsghdr *nlh;
} Msg;

static void *msg_start(Msg *m, uint16_t type, size_t hdrlen) {
        memset(&m->buf, 0, sizeof m->buf);
        m->nlh = mnl_nlmsg_put_header(&m->buf);
        m->nlh->nlmsg_type = type;
        return mnl_nlmsg_put_extra_header(m->nlh, hdrlen);
}

static void route_msg(Msg *m, int family, unsigned dst_len) {
        struct rtmsg *rtm = msg_start(m, RTM_NEWROUTE, sizeof *rtm);
        rtm->rtm_family = (uint8_t) family;
        rtm->rtm_dst_len = (uint8_t) dst_len;
}

START_TEST(test_route_malformed) {
        FzdRtnlRoute r;
        Msg m;
        uint8_t three[3] = { 10, 0, 0 };

        /* Too short for struct rtmsg. */
        msg_start(&m, RTM_NEWROUTE, 4);
        ck_assert_int_eq(fzd_rtnl_parse_route(m.nlh, &r), -EBADMSG);

        /* Wrong type. */
        route_msg(&m, AF_INET, 8);
        m.nlh->nlmsg_type = RTM_NEWADDR;
        ck_assert_int_eq(fzd_rtnl_parse_route(m.nlh, &r), -EINVAL);

        /* A family that is not ours. */
        route_msg(&m, 128 /* RTNL_FAMILY_IPMR */, 8);
        ck_assert_int_eq(fzd_rtnl_parse_route(m.nlh, &r), -EAFNOSUPPORT);

        /* Prefix length past the family. */
        route_msg(&m, AF_INET, 33);
        ck_assert_int_eq(fzd_rtnl_parse_route(m.nlh, &r), -EBADMSG);

        /* RTA_DST of the wrong size. */
        route_msg(&m, AF_INET, 8);
        mnl_attr_put(m.nlh, RTA_DST, sizeof three, three);
        ck_assert_int_eq(fzd_rtnl_parse_route(m.nlh, &r), -EBADMSG);

        /* RTA_TABLE too short. */
        route_msg(&m, AF_INET, 8);
        mnl_attr_put_u16(m.nlh, RTA_TABLE, 7);
        ck_assert_int_eq(fzd_rtnl_parse_route(m.nlh, &r), -EBADMSG);

        /* RTA_OIF too short; RTA_GATEWAY of IPv4 size in an IPv6 route. */
        route_msg(&m, AF_INET, 8);
        mnl_attr_put_u8(m.nlh, RTA_OIF, 7);
        ck_assert_int_eq(fzd_rtnl_parse_route(m.nlh, &r), -EBADMSG);
        route_msg(&m, AF_INET6, 64);
        mnl_attr_put_u32(m.nlh, RTA_GATEWAY, 0);
        ck_assert_int_eq(fzd_rtnl_parse_route(m.nlh, &r), -EBADMSG);

        /* An attribute that claims more than the message has. */
        route_msg(&m, AF_INET, 8);
        mnl_attr_put_u32(m.nlh, RTA_TABLE, 7946);
        ((struct nlattr *) ((uint8_t *) m.nlh + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct rtmsg))))->nla_len = 200;
        ck_assert_int_eq(fzd_rtnl_parse_route(m.nlh, &r), -EBADMSG);

        /* An attribute shorter than its own header. */
        route_msg(&m, AF_INET, 8);
        mnl_attr_put_u32(m.nlh, RTA_TABLE, 7946);
        ((struct nlattr *) ((uint8_t *) m.nlh + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct rtmsg))))->nla_len = 2;
        ck_assert_int_eq(fzd_rtnl_parse_route(m.nlh, &r), -EBADMSG);

        /* Trailing bytes too few for an attribute header. */
        route_msg(&m, AF_INET, 8);
        m.nlh->nlmsg_len += 2;
        ck_assert_int_eq(fzd_rtnl_parse_route(m.nlh, &r), -EBADMSG);

        /* Unknown attribute types past RTA_MAX are skipped, not trusted. */
        route_msg(&m, AF_INET, 8);
        mnl_attr_put_u32(m.nlh, RTA_MAX + 10, 1);
        mnl_attr_put_u32(m.nlh, RTA_TABLE, 7946);
        ck_assert_int_eq(fzd_rtnl_parse_route(m.nlh, &r), 0);
        ck_assert_uint_eq(r.table, 7946);
}
END_TEST

START_TEST(test_link_malformed) {
        FzdRtnlLink l;
        Msg m;
        char name[IF_NAMESIZE + 4];
        struct nlattr *nest;

        /* IFLA_IFNAME without its NUL. */
        msg_start(&m, RTM_NEWLINK, sizeof(struct ifinfomsg));
        mnl_attr_put(m.nlh, IFLA_IFNAME, 3, "tun");
        ck_assert_int_eq(fzd_rtnl_parse_link(m.nlh, &l), -EBADMSG);

        /* A name longer than any interface name. */
        memset(name, 'x', sizeof name - 1);
        name[sizeof name - 1] = '\0';
        msg_start(&m, RTM_NEWLINK, sizeof(struct ifinfomsg));
        mnl_attr_put_strz(m.nlh, IFLA_IFNAME, name);
        ck_assert_int_eq(fzd_rtnl_parse_link(m.nlh, &l), -EBADMSG);

        /* IFLA_LINKINFO whose nested attribute overruns it. */
        msg_start(&m, RTM_NEWLINK, sizeof(struct ifinfomsg));
        nest = mnl_attr_nest_start(m.nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(m.nlh, IFLA_INFO_KIND, "tun");
        mnl_attr_nest_end(m.nlh, nest);
        ((struct nlattr *) mnl_attr_get_payload(nest))->nla_len = 64;
        ck_assert_int_eq(fzd_rtnl_parse_link(m.nlh, &l), -EBADMSG);

        /* And a good one. */
        msg_start(&m, RTM_NEWLINK, sizeof(struct ifinfomsg));
        mnl_attr_put_strz(m.nlh, IFLA_IFNAME, "tun-firezone");
        nest = mnl_attr_nest_start(m.nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(m.nlh, IFLA_INFO_KIND, "tun");
        mnl_attr_nest_end(m.nlh, nest);
        ck_assert_int_eq(fzd_rtnl_parse_link(m.nlh, &l), 0);
        ck_assert_str_eq(l.ifname, "tun-firezone");
        ck_assert_str_eq(l.kind, "tun");
}
END_TEST

START_TEST(test_rule_and_addr_malformed) {
        FzdRtnlRule r;
        FzdRtnlAddr a;
        Msg m;
        struct fib_rule_hdr *frh;
        struct ifaddrmsg *ifa;

        frh = msg_start(&m, RTM_NEWRULE, sizeof *frh);
        frh->family = AF_INET;
        mnl_attr_put_u8(m.nlh, FRA_TABLE, 1);
        ck_assert_int_eq(fzd_rtnl_parse_rule(m.nlh, &r), -EBADMSG);

        frh = msg_start(&m, RTM_NEWRULE, sizeof *frh);
        frh->family = AF_INET;
        mnl_attr_put_u16(m.nlh, FRA_FWMARK, 1);
        ck_assert_int_eq(fzd_rtnl_parse_rule(m.nlh, &r), -EBADMSG);

        ifa = msg_start(&m, RTM_NEWADDR, sizeof *ifa);
        ifa->ifa_family = AF_INET6;
        ifa->ifa_prefixlen = 128;
        mnl_attr_put_u32(m.nlh, IFA_ADDRESS, 0x01020304);
        ck_assert_int_eq(fzd_rtnl_parse_addr(m.nlh, &a), -EBADMSG);

        ifa = msg_start(&m, RTM_NEWADDR, sizeof *ifa);
        ifa->ifa_family = AF_INET;
        ifa->ifa_prefixlen = 40;
        ck_assert_int_eq(fzd_rtnl_parse_addr(m.nlh, &a), -EBADMSG);
}
END_TEST

START_TEST(test_describe_unknown) {
        char what[128];
        Msg m;

        msg_start(&m, 1234, 0);
        fzd_rtnl_describe(m.nlh, what, sizeof what);
        ck_assert_str_eq(what, "send rtnetlink request of type 1234");
        /* A route request too short to parse is still described, by type. */
        msg_start(&m, RTM_NEWROUTE, 2);
        fzd_rtnl_describe(m.nlh, what, sizeof what);
        ck_assert_str_eq(what, "send rtnetlink request of type 24");
}
END_TEST

static Suite *rtnl_suite(void) {
        Suite *s = suite_create("rtnl");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_route_roundtrip);
        tcase_add_test(tc, test_delete_like);
        tcase_add_test(tc, test_rule_roundtrip);
        tcase_add_test(tc, test_addr_and_link_roundtrip);
        tcase_add_test(tc, test_batch_growth_and_copy);
        tcase_add_test(tc, test_route_malformed);
        tcase_add_test(tc, test_link_malformed);
        tcase_add_test(tc, test_rule_and_addr_malformed);
        tcase_add_test(tc, test_describe_unknown);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(rtnl_suite)
