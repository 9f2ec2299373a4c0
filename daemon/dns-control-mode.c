/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>

#include "dns-control-mode.h"
#include "macro.h"

static const char *const dns_control_names[_FZD_DNS_CONTROL_MAX] = {
        [FZD_DNS_CONTROL_AUTO] = "auto",
        [FZD_DNS_CONTROL_SYSTEMD_RESOLVED] = "systemd-resolved",
        [FZD_DNS_CONTROL_ETC_RESOLV_CONF] = "etc-resolv-conf",
        [FZD_DNS_CONTROL_DISABLED] = "disabled",
};

const char *fzd_dns_control_to_string(FzdDnsControl c) {
        if ((unsigned) c >= _FZD_DNS_CONTROL_MAX)
                return NULL;
        return dns_control_names[c];
}

int fzd_dns_control_from_string(const char *s) {
        if (!s)
                return -EINVAL;
        for (int i = 0; i < _FZD_DNS_CONTROL_MAX; i++)
                if (streq(dns_control_names[i], s))
                        return i;
        return -EINVAL;
}
