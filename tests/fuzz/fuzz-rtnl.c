/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: a buffer of rtnetlink messages as a recvmsg() would return it, through
 * every parser the dumps and the monitor use, and the description of a failed request. */
#include <libmnl/libmnl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtnl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const struct nlmsghdr *nlh;
        uint8_t *buf;
        size_t len;

        if (size > 64 * 1024)
                return 0;
        /* The kernel hands us aligned buffers; so does this. */
        buf = malloc(size ? size : 1);
        if (!buf)
                return 0;
        memcpy(buf, data, size);

        len = size;
        for (nlh = (const struct nlmsghdr *) buf; fzd_nl_msg_ok(nlh, len); nlh = fzd_nl_msg_next(nlh, &len)) {
                FzdRtnlRoute route;
                FzdRtnlRule rule;
                FzdRtnlLink link;
                FzdRtnlAddr addr;
                char what[256];

                (void) fzd_rtnl_parse_route(nlh, &route);
                (void) fzd_rtnl_parse_rule(nlh, &rule);
                (void) fzd_rtnl_parse_link(nlh, &link);
                (void) fzd_rtnl_parse_addr(nlh, &addr);
                if (nlh->nlmsg_len <= FZD_NL_REQUEST_MAX) /* only our own requests get described */
                        fzd_rtnl_describe(nlh, what, sizeof what);
        }
        free(buf);
        return 0;
}
