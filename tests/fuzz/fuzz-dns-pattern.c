/* SPDX-License-Identifier: Apache-2.0 */
/* DNS resource patterns come from the portal, names from local programs. Input:
 * "pattern\nname\npattern2": compile, match, order — and the resource index must pick
 * what a plain scan over both patterns picks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns-pattern.h"
#include "dns-resources.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char buf[800], *name, *second;
        FzdDnsPattern a, b;
        FzdDnsResources *s = NULL;
        bool ma, mb;
        const FzdDnsResource *best;
        const char *want = NULL;

        if (size >= sizeof buf)
                return 0;
        memcpy(buf, data, size);
        buf[size] = 0;
        name = strchr(buf, '\n');
        if (!name)
                return 0;
        *name++ = 0;
        second = strchr(name, '\n');
        if (!second)
                return 0;
        *second++ = 0;
        if (strlen(name) > FZD_DNS_NAME_TEXT_MAX)
                return 0;
        for (char *p = name; *p; p++) /* names reach the matcher in lower case */
                if (*p >= 'A' && *p <= 'Z')
                        *p = (char)(*p + 32);
        if (fzd_dns_pattern_compile(buf, &a) < 0)
                return 0;
        if (fzd_dns_pattern_compile(second, &b) < 0) {
                fzd_dns_pattern_done(&a);
                return 0;
        }
        ma = fzd_dns_pattern_matches(&a, name);
        mb = fzd_dns_pattern_matches(&b, name);
        if (fzd_dns_pattern_compare(&a, &a) != 0)
                abort();
        if ((fzd_dns_pattern_compare(&a, &b) < 0) != (fzd_dns_pattern_compare(&b, &a) > 0))
                abort();
        /* A pattern without wildcards matches exactly itself. */
        if (!a.has_wildcard && ma != (strcmp(a.text, name) == 0))
                abort();

        if (fzd_dns_resources_new(&s) < 0 || fzd_dns_resources_put(s, "a", buf, FZD_DNS_IP_STACK_DUAL) < 0 ||
            fzd_dns_resources_put(s, "b", second, FZD_DNS_IP_STACK_DUAL) < 0)
                abort();
        if (ma && mb) {
                int c = fzd_dns_pattern_compare(&a, &b);
                want = c <= 0 ? "a" : "b";
        } else if (ma)
                want = "a";
        else if (mb)
                want = "b";
        best = fzd_dns_resources_match(s, name);
        if ((best ? best->id : NULL) != want && (!best || !want || strcmp(best->id, want) != 0))
                abort();
        fzd_dns_resources_free(s);
        fzd_dns_pattern_done(&a);
        fzd_dns_pattern_done(&b);
        return 0;
}
