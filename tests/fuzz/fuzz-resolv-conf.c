/* SPDX-License-Identifier: Apache-2.0 */
/* resolv.conf is written by other programs (NetworkManager, DHCP clients, admins,
 * container runtimes): its parser, and the rewrite built from what it parsed, must
 * take anything. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns-resolvconf.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FzdResolvConf c;
        FzdDnsAddress sentinel = {.family = AF_INET, .addr.in.s_addr = htonl(0x64646f01)};
        char *text = NULL;

        fzd_log_set_max_level(LOG_CRIT); /* quiet */
        (void)fzd_resolv_conf_is_ours((const char *)data, size);
        if (fzd_resolv_conf_parse((const char *)data, size, &c) < 0)
                return 0;
        (void)fzd_resolv_conf_only_resolved_stub(&c);
        if (fzd_resolvconf_format(&c, &sentinel, 1, "corp.example", "/var/lib/x/resolv.conf.backup",
                                  &text) == 0) {
                /* What we write must read back as ours, with exactly our nameserver. */
                FzdResolvConf back;
                if (fzd_resolv_conf_parse(text, strlen(text), &back) == 0) {
                        if (back.owner != FZD_RESOLV_CONF_OWNER_FIREZONE || back.n_nameservers != 1)
                                abort();
                        fzd_resolv_conf_done(&back);
                }
                free(text);
        }
        fzd_resolv_conf_done(&c);
        return 0;
}
