/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* How the daemon points the system's DNS at its stub (DESIGN §6): chosen by options, used by
 * the OS layer. Includes nothing of the daemon. */

typedef enum FzdDnsControl {
        FZD_DNS_CONTROL_AUTO, /* not configured: detected at start */
        FZD_DNS_CONTROL_SYSTEMD_RESOLVED,
        FZD_DNS_CONTROL_ETC_RESOLV_CONF,
        FZD_DNS_CONTROL_DISABLED,
        _FZD_DNS_CONTROL_MAX,
} FzdDnsControl;

const char *fzd_dns_control_to_string(FzdDnsControl c);
int fzd_dns_control_from_string(const char *s); /* → FzdDnsControl or -EINVAL */
