/* SPDX-License-Identifier: Apache-2.0 */
/* Whatever a local program sends to the DNS stub: the decision per query (wire format,
 * resource matching, proxy IPs, reverse names), over UDP and over TCP. Checked beyond "no
 * crash": every answer we write is a response to the query it answers (what an upstream's
 * answer is checked against), fits the client's limit, and keeps its ID; a well-formed
 * query is never dropped. The first byte picks UDP or TCP. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns-answer.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FzdDnsResources *resources;
static FzdProxyIps *proxy_ips;

static void setup(void) {
        static const char *const patterns[] = {"gitlab.corp.example.com",
                                               "*.wiki.corp.example.com",
                                               "build?.corp.example.com",
                                               "**.lab.corp.example.com",
                                               "**",
                                               "a*b?.x"};

        fzd_log_set_max_level(LOG_CRIT);
        if (fzd_dns_resources_new(&resources) < 0 || fzd_proxy_ips_new(&proxy_ips) < 0)
                abort();
        for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
                char id[8] = {'r', (char)('0' + i), 0};
                if (fzd_dns_resources_put(resources, id, patterns[i], (FzdDnsIpStack)(i % 3)) != 1)
                        abort();
        }
        /* One name with addresses, so that PTR of proxy IPs finds something. */
        if (fzd_proxy_ips_assign(proxy_ips, "gitlab.corp.example.com", "r0", NULL) != 1)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static uint8_t out[1024];
        FzdDnsDecision d;
        FzdDnsQuery q;
        bool tcp;

        if (!resources)
                setup();
        if (size < 1)
                return 0;
        tcp = data[0] & 1;
        data++, size--;

        fzd_dns_decide(resources, proxy_ips, data, size, tcp, out, sizeof out, &d);
        switch (d.verdict) {
        case FZD_DNS_VERDICT_ANSWER:
                if (d.answer_len > sizeof out || d.answer_len > fzd_dns_max_answer(&d.query, tcp))
                        abort();
                if (fzd_dns_get_id(out) != d.query.id)
                        abort();
                /* A question we could read is in the answer, and the answer matches it. */
                if (d.query.question_end > 0 &&
                    !fzd_dns_response_matches(out, d.answer_len, data, d.query.question_end))
                        abort();
                break;
        case FZD_DNS_VERDICT_FORWARD:
                /* Only well-formed queries are forwarded. */
                if (fzd_dns_query_parse(data, size, &q) != 0 || q.question_end == 0)
                        abort();
                /* The stub's error answer for it must be valid too. */
                {
                        ssize_t n = fzd_dns_error_answer(data, &d.query, FZD_DNS_RCODE_SERVFAIL, tcp, out,
                                                         sizeof out);
                        if (n < 0 || !fzd_dns_response_matches(out, (size_t)n, data, d.query.question_end))
                                abort();
                }
                break;
        case FZD_DNS_VERDICT_DROP:
                /* Only what is no query at all, or an answer that cannot be written. */
                if (fzd_dns_query_parse(data, size, &q) == 0 && (!q.has_edns || q.edns_version == 0))
                        abort();
                break;
        }
        /* The table stays bounded by names that really matched. */
        if (fzd_proxy_ips_count(proxy_ips) > FZD_PROXY_IPS_MAX_NAMES)
                abort();
        return 0;
}
