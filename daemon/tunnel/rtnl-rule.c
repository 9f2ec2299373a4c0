/* SPDX-License-Identifier: Apache-2.0 */
/* rtnetlink policy rules: "not fwmark M lookup T" for IPv4 and IPv6. */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <string.h>

#include "rtnl.h"

int fzd_rtnl_put_rule(FzdNlBatch *b, uint16_t type, int family, uint32_t priority, uint32_t table,
                      uint32_t fwmark) {
        struct nlmsghdr *nlh;
        struct fib_rule_hdr *frh;
        bool ok;

        if (fzd_family_address_size(family) == 0)
                return -EAFNOSUPPORT;
        if (table == 0 || (type != RTM_NEWRULE && type != RTM_DELRULE))
                return -EINVAL;

        /* Without NLM_F_EXCL the kernel happily adds a second identical rule. */
        nlh = fzd_nl_batch_put(b, type, type == RTM_NEWRULE ? NLM_F_CREATE | NLM_F_EXCL : 0,
                               type == RTM_NEWRULE ? FZD_NL_IGNORE_EXIST : FZD_NL_IGNORE_MISSING);
        if (!nlh)
                return -ENOMEM;
        frh = mnl_nlmsg_put_extra_header(nlh, sizeof *frh);
        frh->family = (uint8_t) family;
        frh->table = table < 256 ? (uint8_t) table : RT_TABLE_UNSPEC;
        frh->action = FR_ACT_TO_TBL;
        frh->flags = FIB_RULE_INVERT;

        ok = mnl_attr_put_u32_check(nlh, FZD_NL_REQUEST_MAX, FRA_PRIORITY, priority) &&
             mnl_attr_put_u32_check(nlh, FZD_NL_REQUEST_MAX, FRA_TABLE, table) &&
             mnl_attr_put_u32_check(nlh, FZD_NL_REQUEST_MAX, FRA_FWMARK, fwmark) &&
             mnl_attr_put_u32_check(nlh, FZD_NL_REQUEST_MAX, FRA_FWMASK, UINT32_MAX);
        if (!ok) {
                fzd_nl_batch_drop_last(b);
                return -ENOBUFS;
        }
        return 0;
}

struct nlmsghdr *fzd_rtnl_rule_dump_request(void *buf, int family) {
        struct nlmsghdr *nlh;
        struct fib_rule_hdr *frh;

        memset(buf, 0, FZD_NL_REQUEST_MAX); /* padding included, see netlink.c */
        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_GETRULE;
        frh = mnl_nlmsg_put_extra_header(nlh, sizeof *frh);
        frh->family = (uint8_t) family;
        return nlh;
}

static int get_u32(const struct nlattr *a, uint32_t *ret) {
        if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
                return -EBADMSG;
        *ret = mnl_attr_get_u32(a);
        return 0;
}

int fzd_rtnl_parse_rule(const struct nlmsghdr *nlh, FzdRtnlRule *ret) {
        const struct nlattr *tb[FRA_MAX + 1];
        const struct fib_rule_hdr *frh;
        FzdRtnlRule r = {};

        if (nlh->nlmsg_type != RTM_NEWRULE && nlh->nlmsg_type != RTM_DELRULE)
                return -EINVAL;
        if (mnl_nlmsg_get_payload_len(nlh) < sizeof *frh)
                return -EBADMSG;
        if (fzd_nl_parse_attrs(nlh, sizeof *frh, tb, FRA_MAX) < 0)
                return -EBADMSG;
        frh = mnl_nlmsg_get_payload(nlh);
        if (fzd_family_address_size(frh->family) == 0)
                return -EAFNOSUPPORT;

        r.family = frh->family;
        r.action = frh->action;
        r.flags = frh->flags;
        r.table = frh->table;
        if (tb[FRA_TABLE] && get_u32(tb[FRA_TABLE], &r.table) < 0)
                return -EBADMSG;
        if (tb[FRA_PRIORITY]) {
                if (get_u32(tb[FRA_PRIORITY], &r.priority) < 0)
                        return -EBADMSG;
                r.has_priority = true;
        }
        if (tb[FRA_FWMARK]) {
                if (get_u32(tb[FRA_FWMARK], &r.fwmark) < 0)
                        return -EBADMSG;
                r.has_fwmark = true;
                r.fwmask = UINT32_MAX;
        }
        if (tb[FRA_FWMASK] && get_u32(tb[FRA_FWMASK], &r.fwmask) < 0)
                return -EBADMSG;
        *ret = r;
        return 0;
}
