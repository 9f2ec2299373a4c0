/* SPDX-License-Identifier: Apache-2.0 */
/* Human descriptions of our own requests, for error messages: a failed request is
 * described from our copy of it, so a kernel error can say which prefix it was about. */
#include <linux/fib_rules.h>
#include <stdio.h>

#include "rtnl.h"

const char *fzd_family_name(int family) {
        switch (family) {
        case AF_INET:
                return "IPv4";
        case AF_INET6:
                return "IPv6";
        default:
                return "unknown-family";
        }
}

static void describe_interface(int ifindex, char *buf, size_t size) {
        char name[IF_NAMESIZE];

        if (ifindex > 0 && if_indextoname((unsigned) ifindex, name))
                (void) snprintf(buf, size, "%s (#%d)", name, ifindex);
        else
                (void) snprintf(buf, size, "#%d", ifindex);
}

void fzd_rtnl_describe(const struct nlmsghdr *nlh, char *buf, size_t size) {
        char prefix[FZD_CIDR_STRING_MAX], ifname[IF_NAMESIZE + 16];
        bool add = nlh->nlmsg_type == RTM_NEWROUTE || nlh->nlmsg_type == RTM_NEWADDR ||
                   nlh->nlmsg_type == RTM_NEWRULE || nlh->nlmsg_type == RTM_NEWLINK;

        switch (nlh->nlmsg_type) {
        case RTM_NEWROUTE:
        case RTM_DELROUTE: {
                FzdRtnlRoute r;
                if (fzd_rtnl_parse_route(nlh, &r) < 0 || fzd_cidr_to_string(&r.dst, prefix, sizeof prefix) < 0)
                        break;
                (void) snprintf(buf, size, "%s route %s %s table %u", add ? "add" : "delete", prefix,
                                add ? "to" : "from", r.table);
                return;
        }
        case RTM_NEWADDR:
        case RTM_DELADDR: {
                FzdRtnlAddr a;
                if (fzd_rtnl_parse_addr(nlh, &a) < 0 || fzd_cidr_to_string(&a.local, prefix, sizeof prefix) < 0)
                        break;
                describe_interface(a.ifindex, ifname, sizeof ifname);
                (void) snprintf(buf, size, "%s address %s %s interface %s", add ? "add" : "delete", prefix,
                                add ? "to" : "from", ifname);
                return;
        }
        case RTM_NEWRULE:
        case RTM_DELRULE: {
                FzdRtnlRule r;
                if (fzd_rtnl_parse_rule(nlh, &r) < 0)
                        break;
                (void) snprintf(buf, size, "%s %s policy rule '%sfwmark 0x%x lookup %u' (priority %u)",
                                add ? "add" : "delete", fzd_family_name(r.family),
                                (r.flags & FIB_RULE_INVERT) ? "not " : "", r.fwmark, r.table, r.priority);
                return;
        }
        case RTM_NEWLINK:
        case RTM_DELLINK: {
                FzdRtnlLink l;
                if (fzd_rtnl_parse_link(nlh, &l) < 0)
                        break;
                describe_interface(l.ifindex, ifname, sizeof ifname);
                if (add)
                        (void) snprintf(buf, size, "set MTU %u and bring up interface %s", l.mtu, ifname);
                else
                        (void) snprintf(buf, size, "delete interface %s", ifname);
                return;
        }
        default:
                break;
        }
        (void) snprintf(buf, size, "send rtnetlink request of type %u", (unsigned) nlh->nlmsg_type);
}
