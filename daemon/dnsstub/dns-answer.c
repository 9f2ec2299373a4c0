/* SPDX-License-Identifier: Apache-2.0 */
/* The stub's decision for one query (dns-answer.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "dns-answer.h"

size_t fzd_dns_max_answer(const FzdDnsQuery *q, bool tcp) {
        if (tcp)
                return FZD_DNS_MAX_MESSAGE;
        return q->has_edns ? q->edns_udp_size : FZD_DNS_CLASSIC_UDP;
}

static int hex_digit(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

int fzd_dns_reverse_name(const char *name, void *ret_addr) {
        static const char v4_suffix[] = ".in-addr.arpa", v6_suffix[] = "ip6.arpa";
        size_t len = strlen(name);

        if (len > sizeof v4_suffix - 1 && streq(name + len - (sizeof v4_suffix - 1), v4_suffix)) {
                uint8_t b[4];
                const char *p = name;
                for (int i = 3; i >= 0; i--) {
                        unsigned v = 0, digits = 0;
                        while (*p >= '0' && *p <= '9' && digits < 4) {
                                v = v * 10 + (unsigned)(*p++ - '0');
                                digits++;
                        }
                        if (digits == 0 || digits > 3 || v > 255 || (digits > 1 && p[-(int)digits] == '0'))
                                return 0;
                        if (*p != '.')
                                return 0;
                        p++;
                        b[i] = (uint8_t)v;
                }
                if (p != name + len - (sizeof v4_suffix - 1) + 1)
                        return 0;
                memcpy(ret_addr, b, 4);
                return AF_INET;
        }
        /* 32 nibbles, each a label of its own ("x."), then "ip6.arpa". */
        if (len == 64 + sizeof v6_suffix - 1 && streq(name + 64, v6_suffix)) {
                uint8_t b[16] = {};
                for (int i = 0; i < 32; i++) {
                        int d = hex_digit(name[2 * i]);
                        if (d < 0 || name[2 * i + 1] != '.')
                                return 0;
                        /* Nibble i counts from the address's last one. */
                        b[15 - i / 2] |= (uint8_t)(i % 2 == 0 ? d : d << 4);
                }
                memcpy(ret_addr, b, 16);
                return AF_INET6;
        }
        return 0;
}

static void answer(FzdDnsDecision *d, const uint8_t *msg, unsigned rcode, const FzdDnsRecord *records,
                   size_t n, bool tcp, uint8_t *out, size_t out_size, FzdDnsAnswerKind kind) {
        ssize_t k = fzd_dns_write_response(msg, &d->query, rcode, records, n, FZD_DNS_RESOURCE_TTL,
                                           fzd_dns_max_answer(&d->query, tcp), out, out_size);
        if (k < 0) {
                d->verdict = FZD_DNS_VERDICT_DROP;
                return;
        }
        d->verdict = FZD_DNS_VERDICT_ANSWER;
        d->kind = kind;
        d->answer_len = (size_t)k;
}

ssize_t fzd_dns_error_answer(const uint8_t *msg, const FzdDnsQuery *q, unsigned rcode, bool tcp,
                             uint8_t *out, size_t out_size) {
        return fzd_dns_write_response(msg, q, rcode, NULL, 0, 0, fzd_dns_max_answer(q, tcp), out, out_size);
}

static void answer_resource(FzdDnsDecision *d, FzdProxyIps *proxy_ips, const FzdDnsResource *res,
                            const uint8_t *msg, bool tcp, uint8_t *out, size_t out_size) {
        const FzdDnsQuery *q = &d->query;
        FzdDnsRecord rr[FZD_PROXY_IPS_PER_FAMILY];
        FzdProxyAddresses a;
        size_t n = 0;
        int r;

        d->resource_id = res->id;
        if (q->qclass == FZD_DNS_CLASS_IN || q->qclass == FZD_DNS_CLASS_ANY) {
                if (q->qtype == FZD_DNS_TYPE_A || q->qtype == FZD_DNS_TYPE_AAAA) {
                        /* Given at the first A or AAAA query, whatever the IP stack. */
                        r = fzd_proxy_ips_assign(proxy_ips, q->name, res->id, &a);
                        if (r < 0) {
                                answer(d, msg, FZD_DNS_RCODE_SERVFAIL, NULL, 0, tcp, out, out_size,
                                       FZD_DNS_ANSWER_FULL);
                                return;
                        }
                        if (q->qtype == FZD_DNS_TYPE_A && fzd_dns_ip_stack_has_ipv4(res->ip_stack))
                                for (; n < FZD_PROXY_IPS_PER_FAMILY; n++)
                                        rr[n] = (FzdDnsRecord){FZD_DNS_TYPE_A, 4, (const uint8_t *)&a.v4[n]};
                        if (q->qtype == FZD_DNS_TYPE_AAAA && fzd_dns_ip_stack_has_ipv6(res->ip_stack))
                                for (; n < FZD_PROXY_IPS_PER_FAMILY; n++)
                                        rr[n] = (FzdDnsRecord){FZD_DNS_TYPE_AAAA, 16, a.v6[n].s6_addr};
                }
        }
        /* HTTPS (65) and every other type: nothing, so that clients use A/AAAA. */
        answer(d, msg, FZD_DNS_RCODE_NOERROR, rr, n, tcp, out, out_size, FZD_DNS_ANSWER_RESOURCE);
}

void fzd_dns_decide(FzdDnsResources *resources, FzdProxyIps *proxy_ips, const uint8_t *msg, size_t len,
                    bool tcp, uint8_t *out, size_t out_size, FzdDnsDecision *ret) {
        FzdDnsDecision d = {.verdict = FZD_DNS_VERDICT_DROP};
        FzdDnsQuery *q = &d.query;
        const FzdDnsResource *res;
        int r;

        r = fzd_dns_query_parse(msg, len, q);
        switch (r) {
        case 0:
                break;
        case -EBADMSG:
                answer(&d, msg, FZD_DNS_RCODE_FORMERR, NULL, 0, tcp, out, out_size, FZD_DNS_ANSWER_FORMERR);
                goto done;
        case -EOPNOTSUPP:
                answer(&d, msg, FZD_DNS_RCODE_NOTIMP, NULL, 0, tcp, out, out_size, FZD_DNS_ANSWER_NOTIMP);
                goto done;
        default:
                goto done; /* not a query */
        }
        if (q->has_edns && q->edns_version > 0) {
                answer(&d, msg, FZD_DNS_RCODE_BADVERS, NULL, 0, tcp, out, out_size, FZD_DNS_ANSWER_BADVERS);
                goto done;
        }
        if (!q->name_is_text) {
                d.verdict = FZD_DNS_VERDICT_FORWARD;
                goto done;
        }
        if (streq(q->name, FZD_DNS_DOH_CANARY)) {
                answer(&d, msg, FZD_DNS_RCODE_NXDOMAIN, NULL, 0, tcp, out, out_size, FZD_DNS_ANSWER_CANARY);
                goto done;
        }
        if (q->qtype == FZD_DNS_TYPE_PTR &&
            (q->qclass == FZD_DNS_CLASS_IN || q->qclass == FZD_DNS_CLASS_ANY)) {
                uint8_t addr[16], wire[FZD_DNS_NAME_WIRE_MAX];
                char name[FZD_DNS_NAME_TEXT_MAX + 1];
                int family = fzd_dns_reverse_name(q->name, addr);

                if (family != 0 && fzd_proxy_ips_lookup(proxy_ips, family, addr, name, NULL) >= 0) {
                        ssize_t n = fzd_dns_name_to_wire(name, wire, sizeof wire);
                        if (n > 0) {
                                FzdDnsRecord rr = {FZD_DNS_TYPE_PTR, (uint16_t)n, wire};
                                answer(&d, msg, FZD_DNS_RCODE_NOERROR, &rr, 1, tcp, out, out_size,
                                       FZD_DNS_ANSWER_PTR);
                                goto done;
                        }
                }
        }
        res = fzd_dns_resources_match(resources, q->name);
        if (res) {
                answer_resource(&d, proxy_ips, res, msg, tcp, out, out_size);
                goto done;
        }
        d.verdict = FZD_DNS_VERDICT_FORWARD;
done:
        *ret = d;
}
