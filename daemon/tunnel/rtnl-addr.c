/* SPDX-License-Identifier: Apache-2.0 */
/* rtnetlink addresses: the portal's /32 and /128 on our TUN. */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <stdint.h>
#include <string.h>

#include "rtnl.h"

int fzd_rtnl_put_addr(FzdNlBatch *b, uint16_t type, int ifindex, const FzdCidr *addr) {
        size_t size = fzd_family_address_size(addr->family);
        struct nlmsghdr *nlh;
        struct ifaddrmsg *ifa;
        bool ok;

        if (size == 0)
                return -EAFNOSUPPORT;
        if (ifindex <= 0 || addr->prefixlen > fzd_family_max_prefixlen(addr->family) ||
            (type != RTM_NEWADDR && type != RTM_DELADDR))
                return -EINVAL;

        nlh = fzd_nl_batch_put(b, type, type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_REPLACE : 0,
                               type == RTM_NEWADDR ? FZD_NL_IGNORE_NONE : FZD_NL_IGNORE_MISSING);
        if (!nlh)
                return -ENOMEM;
        ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
        ifa->ifa_family = (uint8_t) addr->family;
        ifa->ifa_prefixlen = addr->prefixlen;
        ifa->ifa_scope = RT_SCOPE_UNIVERSE;
        ifa->ifa_index = (uint32_t) ifindex;

        ok = mnl_attr_put_check(nlh, FZD_NL_REQUEST_MAX, IFA_LOCAL, size, &addr->addr) &&
             mnl_attr_put_check(nlh, FZD_NL_REQUEST_MAX, IFA_ADDRESS, size, &addr->addr);
        /* There is no one to run duplicate address detection with on a TUN; without
         * NODAD the IPv6 address would stay tentative (unusable) for a while. */
        if (ok && addr->family == AF_INET6 && type == RTM_NEWADDR)
                ok = mnl_attr_put_u32_check(nlh, FZD_NL_REQUEST_MAX, IFA_FLAGS, IFA_F_NODAD);
        if (!ok) {
                fzd_nl_batch_drop_last(b);
                return -ENOBUFS;
        }
        return 0;
}

int fzd_rtnl_put_sentinel_addr(FzdNlBatch *b, uint16_t type, int ifindex, const FzdCidr *addr) {
        size_t size = fzd_family_address_size(addr->family);
        struct nlmsghdr *nlh;
        struct ifaddrmsg *ifa;
        bool ok;

        if (size == 0)
                return -EAFNOSUPPORT;
        if (ifindex <= 0 || addr->prefixlen != fzd_family_max_prefixlen(addr->family) ||
            (type != RTM_NEWADDR && type != RTM_DELADDR))
                return -EINVAL;

        nlh = fzd_nl_batch_put(b, type, type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_REPLACE : 0,
                               type == RTM_NEWADDR ? FZD_NL_IGNORE_NONE : FZD_NL_IGNORE_MISSING);
        if (!nlh)
                return -ENOMEM;
        ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
        ifa->ifa_family = (uint8_t) addr->family;
        ifa->ifa_prefixlen = addr->prefixlen;
        /* IPv4 picks sources among addresses of a scope up to the route's: "host" is never
         * one of them, so tunnel traffic keeps the portal's address as its source. */
        ifa->ifa_scope = addr->family == AF_INET ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE;
        ifa->ifa_index = (uint32_t) ifindex;

        ok = mnl_attr_put_check(nlh, FZD_NL_REQUEST_MAX, IFA_LOCAL, size, &addr->addr) &&
             mnl_attr_put_check(nlh, FZD_NL_REQUEST_MAX, IFA_ADDRESS, size, &addr->addr);
        if (ok && addr->family == AF_INET6 && type == RTM_NEWADDR) {
                /* IPv6 ignores the scope field; a deprecated address is never chosen as a
                 * source (RFC 6724 rule 3), which beats the longest-prefix rule that would
                 * otherwise favour the sentinel for proxy IPs in fd00:2021:1111:8000::/107. */
                struct ifa_cacheinfo ci = { .ifa_prefered = 0, .ifa_valid = UINT32_MAX };
                ok = mnl_attr_put_u32_check(nlh, FZD_NL_REQUEST_MAX, IFA_FLAGS,
                                            IFA_F_NODAD | IFA_F_NOPREFIXROUTE) &&
                     mnl_attr_put_check(nlh, FZD_NL_REQUEST_MAX, IFA_CACHEINFO, sizeof ci, &ci);
        }
        if (!ok) {
                fzd_nl_batch_drop_last(b);
                return -ENOBUFS;
        }
        return 0;
}

int fzd_rtnl_parse_addr(const struct nlmsghdr *nlh, FzdRtnlAddr *ret) {
        const struct nlattr *tb[IFA_MAX + 1], *a;
        const struct ifaddrmsg *ifa;
        FzdRtnlAddr r = {};
        size_t size;

        if (nlh->nlmsg_type != RTM_NEWADDR && nlh->nlmsg_type != RTM_DELADDR)
                return -EINVAL;
        if (mnl_nlmsg_get_payload_len(nlh) < sizeof *ifa)
                return -EBADMSG;
        if (fzd_nl_parse_attrs(nlh, sizeof *ifa, tb, IFA_MAX) < 0)
                return -EBADMSG;
        ifa = mnl_nlmsg_get_payload(nlh);
        size = fzd_family_address_size(ifa->ifa_family);
        if (size == 0)
                return -EAFNOSUPPORT;
        if (ifa->ifa_prefixlen > fzd_family_max_prefixlen(ifa->ifa_family))
                return -EBADMSG;

        r.ifindex = (int) ifa->ifa_index;
        r.flags = ifa->ifa_flags;
        r.local.family = ifa->ifa_family;
        r.local.prefixlen = ifa->ifa_prefixlen;
        a = tb[IFA_LOCAL] ?: tb[IFA_ADDRESS];
        if (a) {
                if (mnl_attr_validate2(a, MNL_TYPE_BINARY, size) < 0)
                        return -EBADMSG;
                memcpy(&r.local.addr, mnl_attr_get_payload(a), size);
        }
        if (tb[IFA_FLAGS]) {
                if (mnl_attr_validate(tb[IFA_FLAGS], MNL_TYPE_U32) < 0)
                        return -EBADMSG;
                r.flags = mnl_attr_get_u32(tb[IFA_FLAGS]);
        }
        *ret = r;
        return 0;
}
