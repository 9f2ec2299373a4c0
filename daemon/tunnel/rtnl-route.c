/* SPDX-License-Identifier: Apache-2.0 */
/* rtnetlink routes: device routes through our TUN in our table. */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <string.h>

#include "rtnl.h"

/* Tables above 255 do not fit rtm_table: the header says RT_TABLE_UNSPEC and RTA_TABLE
 * carries the number (what the kernel itself expects and reports as RT_TABLE_COMPAT). */
static uint8_t header_table(uint32_t table) {
        return table < 256 ? (uint8_t) table : RT_TABLE_UNSPEC;
}

int fzd_rtnl_put_route(FzdNlBatch *b, uint16_t type, int ifindex, uint32_t table, const FzdCidr *dst) {
        size_t size = fzd_family_address_size(dst->family);
        struct nlmsghdr *nlh;
        struct rtmsg *rtm;
        bool ok;

        if (size == 0)
                return -EAFNOSUPPORT;
        if (ifindex <= 0 || table == 0 || dst->prefixlen > fzd_family_max_prefixlen(dst->family) ||
            (type != RTM_NEWROUTE && type != RTM_DELROUTE))
                return -EINVAL;

        nlh = fzd_nl_batch_put(b, type, type == RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_REPLACE : 0,
                               type == RTM_NEWROUTE ? FZD_NL_IGNORE_NONE : FZD_NL_IGNORE_MISSING);
        if (!nlh)
                return -ENOMEM;
        rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
        rtm->rtm_family = (uint8_t) dst->family;
        rtm->rtm_dst_len = dst->prefixlen;
        rtm->rtm_table = header_table(table);
        rtm->rtm_type = RTN_UNICAST;
        if (type == RTM_NEWROUTE) {
                rtm->rtm_protocol = RTPROT_STATIC;
                rtm->rtm_scope = RT_SCOPE_LINK; /* no gateway: the prefix is on the link, as `ip route add … dev` */
        } else
                rtm->rtm_scope = RT_SCOPE_NOWHERE; /* matches any scope */

        ok = mnl_attr_put_u32_check(nlh, FZD_NL_REQUEST_MAX, RTA_TABLE, table) &&
             mnl_attr_put_u32_check(nlh, FZD_NL_REQUEST_MAX, RTA_OIF, (uint32_t) ifindex);
        if (ok && dst->prefixlen > 0)
                ok = mnl_attr_put_check(nlh, FZD_NL_REQUEST_MAX, RTA_DST, size, &dst->addr);
        if (!ok) {
                fzd_nl_batch_drop_last(b);
                return -ENOBUFS;
        }
        return 0;
}

int fzd_rtnl_put_route_delete_like(FzdNlBatch *b, const FzdRtnlRoute *route) {
        size_t size = fzd_family_address_size(route->dst.family);
        struct nlmsghdr *nlh;
        struct rtmsg *rtm;
        bool ok;

        if (size == 0)
                return -EAFNOSUPPORT;
        nlh = fzd_nl_batch_put(b, RTM_DELROUTE, 0, FZD_NL_IGNORE_MISSING);
        if (!nlh)
                return -ENOMEM;
        rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
        rtm->rtm_family = (uint8_t) route->dst.family;
        rtm->rtm_dst_len = route->dst.prefixlen;
        rtm->rtm_tos = route->tos;
        rtm->rtm_table = header_table(route->table);
        rtm->rtm_type = route->type;
        rtm->rtm_scope = RT_SCOPE_NOWHERE;

        ok = mnl_attr_put_u32_check(nlh, FZD_NL_REQUEST_MAX, RTA_TABLE, route->table);
        if (ok && route->dst.prefixlen > 0)
                ok = mnl_attr_put_check(nlh, FZD_NL_REQUEST_MAX, RTA_DST, size, &route->dst.addr);
        if (ok && route->oif > 0)
                ok = mnl_attr_put_u32_check(nlh, FZD_NL_REQUEST_MAX, RTA_OIF, (uint32_t) route->oif);
        if (ok && route->priority > 0)
                ok = mnl_attr_put_u32_check(nlh, FZD_NL_REQUEST_MAX, RTA_PRIORITY, route->priority);
        if (ok && route->has_gateway)
                ok = mnl_attr_put_check(nlh, FZD_NL_REQUEST_MAX, RTA_GATEWAY, size, &route->gateway);
        if (!ok) {
                fzd_nl_batch_drop_last(b);
                return -ENOBUFS;
        }
        return 0;
}

struct nlmsghdr *fzd_rtnl_route_dump_request(void *buf, int family, uint32_t table) {
        struct nlmsghdr *nlh;
        struct rtmsg *rtm;

        memset(buf, 0, FZD_NL_REQUEST_MAX); /* padding included, see netlink.c */
        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_GETROUTE;
        rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
        rtm->rtm_family = (uint8_t) family;
        rtm->rtm_table = header_table(table);
        if (table > 0 && !mnl_attr_put_u32_check(nlh, FZD_NL_REQUEST_MAX, RTA_TABLE, table))
                return NULL;
        return nlh;
}

int fzd_rtnl_parse_route(const struct nlmsghdr *nlh, FzdRtnlRoute *ret) {
        const struct nlattr *tb[RTA_MAX + 1];
        const struct rtmsg *rtm;
        FzdRtnlRoute r = {};
        size_t size;

        if (nlh->nlmsg_type != RTM_NEWROUTE && nlh->nlmsg_type != RTM_DELROUTE)
                return -EINVAL;
        if (mnl_nlmsg_get_payload_len(nlh) < sizeof *rtm)
                return -EBADMSG;
        if (fzd_nl_parse_attrs(nlh, sizeof *rtm, tb, RTA_MAX) < 0)
                return -EBADMSG;
        rtm = mnl_nlmsg_get_payload(nlh);
        size = fzd_family_address_size(rtm->rtm_family);
        if (size == 0)
                return -EAFNOSUPPORT; /* e.g. RTNL_FAMILY_IPMR: not ours to look at */
        if (rtm->rtm_dst_len > fzd_family_max_prefixlen(rtm->rtm_family))
                return -EBADMSG;

        r.dst.family = rtm->rtm_family;
        r.dst.prefixlen = rtm->rtm_dst_len;
        r.table = rtm->rtm_table;
        r.type = rtm->rtm_type;
        r.scope = rtm->rtm_scope;
        r.protocol = rtm->rtm_protocol;
        r.tos = rtm->rtm_tos;
        r.rtm_flags = rtm->rtm_flags;

        if (tb[RTA_DST]) {
                if (mnl_attr_validate2(tb[RTA_DST], MNL_TYPE_BINARY, size) < 0)
                        return -EBADMSG;
                memcpy(&r.dst.addr, mnl_attr_get_payload(tb[RTA_DST]), size);
        }
        if (tb[RTA_TABLE]) {
                if (mnl_attr_validate(tb[RTA_TABLE], MNL_TYPE_U32) < 0)
                        return -EBADMSG;
                r.table = mnl_attr_get_u32(tb[RTA_TABLE]);
        }
        if (tb[RTA_OIF]) {
                if (mnl_attr_validate(tb[RTA_OIF], MNL_TYPE_U32) < 0)
                        return -EBADMSG;
                r.oif = (int) mnl_attr_get_u32(tb[RTA_OIF]);
        }
        if (tb[RTA_PRIORITY]) {
                if (mnl_attr_validate(tb[RTA_PRIORITY], MNL_TYPE_U32) < 0)
                        return -EBADMSG;
                r.priority = mnl_attr_get_u32(tb[RTA_PRIORITY]);
        }
        if (tb[RTA_GATEWAY]) {
                if (mnl_attr_validate2(tb[RTA_GATEWAY], MNL_TYPE_BINARY, size) < 0)
                        return -EBADMSG;
                memcpy(&r.gateway, mnl_attr_get_payload(tb[RTA_GATEWAY]), size);
                r.has_gateway = true;
        }
        *ret = r;
        return 0;
}
