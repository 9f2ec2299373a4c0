/* SPDX-License-Identifier: Apache-2.0 */
/* rtnetlink links: bring our TUN up with its MTU, delete it, find one by name. */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <string.h>

#include "rtnl.h"

int fzd_rtnl_put_link_up(FzdNlBatch *b, int ifindex, uint32_t mtu) {
        struct nlmsghdr *nlh;
        struct ifinfomsg *ifi;

        if (ifindex <= 0)
                return -EINVAL;
        nlh = fzd_nl_batch_put(b, RTM_NEWLINK, 0, FZD_NL_IGNORE_NONE);
        if (!nlh)
                return -ENOMEM;
        ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = ifindex;
        ifi->ifi_flags = IFF_UP;
        ifi->ifi_change = IFF_UP;
        if (!mnl_attr_put_u32_check(nlh, FZD_NL_REQUEST_MAX, IFLA_MTU, mtu)) {
                fzd_nl_batch_drop_last(b);
                return -ENOBUFS;
        }
        return 0;
}

int fzd_rtnl_put_link_delete(FzdNlBatch *b, int ifindex) {
        struct nlmsghdr *nlh;
        struct ifinfomsg *ifi;

        if (ifindex <= 0)
                return -EINVAL;
        nlh = fzd_nl_batch_put(b, RTM_DELLINK, 0, FZD_NL_IGNORE_MISSING);
        if (!nlh)
                return -ENOMEM;
        ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = ifindex;
        return 0;
}

struct nlmsghdr *fzd_rtnl_link_get_by_name(void *buf, const char *ifname) {
        struct nlmsghdr *nlh;
        struct ifinfomsg *ifi;

        memset(buf, 0, FZD_NL_REQUEST_MAX); /* padding included, see netlink.c */
        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_GETLINK;
        ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
        ifi->ifi_family = AF_UNSPEC;
        if (!mnl_attr_put_strz_check(nlh, FZD_NL_REQUEST_MAX, IFLA_IFNAME, ifname))
                return NULL;
        return nlh;
}

int fzd_rtnl_parse_link(const struct nlmsghdr *nlh, FzdRtnlLink *ret) {
        const struct nlattr *tb[IFLA_MAX + 1], *info[IFLA_INFO_MAX + 1];
        const struct ifinfomsg *ifi;
        FzdRtnlLink l = {};

        if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
                return -EINVAL;
        if (mnl_nlmsg_get_payload_len(nlh) < sizeof *ifi)
                return -EBADMSG;
        if (fzd_nl_parse_attrs(nlh, sizeof *ifi, tb, IFLA_MAX) < 0)
                return -EBADMSG;
        ifi = mnl_nlmsg_get_payload(nlh);
        l.ifindex = ifi->ifi_index;
        l.flags = ifi->ifi_flags;

        if (tb[IFLA_IFNAME]) {
                if (mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING) < 0 ||
                    mnl_attr_get_payload_len(tb[IFLA_IFNAME]) > sizeof l.ifname)
                        return -EBADMSG;
                strcpy(l.ifname, mnl_attr_get_str(tb[IFLA_IFNAME]));
        }
        if (tb[IFLA_MTU]) {
                if (mnl_attr_validate(tb[IFLA_MTU], MNL_TYPE_U32) < 0)
                        return -EBADMSG;
                l.mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
        }
        if (tb[IFLA_LINKINFO]) {
                if (mnl_attr_validate(tb[IFLA_LINKINFO], MNL_TYPE_NESTED) < 0 ||
                    fzd_nl_parse_nested(tb[IFLA_LINKINFO], info, IFLA_INFO_MAX) < 0)
                        return -EBADMSG;
                if (info[IFLA_INFO_KIND]) {
                        if (mnl_attr_validate(info[IFLA_INFO_KIND], MNL_TYPE_NUL_STRING) < 0 ||
                            mnl_attr_get_payload_len(info[IFLA_INFO_KIND]) > sizeof l.kind)
                                return -EBADMSG;
                        strcpy(l.kind, mnl_attr_get_str(info[IFLA_INFO_KIND]));
                }
        }
        *ret = l;
        return 0;
}
