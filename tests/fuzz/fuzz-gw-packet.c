/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: a packet from a client (or a resource) at the test gateway — everything the
 * workers and the control side do with one (tests/gateway/gw-packet.c, gw-policy.c, gw-nat.c,
 * gw-p2p.c): parse, decide, translate through the NAT both ways, answer with ICMP, read it as
 * an in-tunnel control packet. Besides "no crash": rewriting an address keeps every checksum
 * that was right right, and what we build parses. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dp-offload.h"
#include "gw-nat.h"
#include "gw-p2p.h"
#include "gw-packet.h"
#include "gw-policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FzgwPolicy policy;
static FzgwNat *nat;

static FzgwIp ip(const char *s) {
        FzgwIp a = {};
        (void) fzgw_ip_parse(s, &a);
        return a;
}

static void setup(void) {
        FzgwResource r = { .id = "cidr", .type = FZGW_RESOURCE_CIDR };
        FzgwMapping m[4] = {
                { .proxy = ip("100.96.0.1"), .real = ip("10.20.0.10"), .resource_id = "dns" },
                { .proxy = ip("100.96.0.2"), .real = ip("10.20.0.10"), .resource_id = "dns" },
                { .proxy = ip("fd00:2021:1111:8000::1"), .real = ip("fd00:20::10"), .resource_id = "dns" },
                { .proxy = ip("100.96.0.3"), .resource_id = "dns" },
        };

        (void) fzd_cidr_parse("10.0.0.0/8", false, &r.cidr);
        r.filters[r.n_filters++] = (FzgwFilter){ FZGW_PROTO_TCP, 80, 443 };
        r.filters[r.n_filters++] = (FzgwFilter){ FZGW_PROTO_ICMP, 0, 0 };
        (void) fzgw_policy_authorize(&policy, &r, 0);
        r = (FzgwResource){ .id = "dns", .type = FZGW_RESOURCE_DNS };
        (void) fzd_dns_pattern_compile("*.corp.test", &r.pattern);
        (void) fzgw_policy_authorize(&policy, &r, 0);
        fzd_dns_pattern_done(&r.pattern);
        r = (FzgwResource){ .id = "v6", .type = FZGW_RESOURCE_CIDR };
        (void) fzd_cidr_parse("fd00:20::/64", false, &r.cidr);
        (void) fzgw_policy_authorize(&policy, &r, 0);
        (void) fzgw_policy_map(&policy, m, 4);
        (void) fzgw_nat_new(1024, &nat);
}

/* The checksums this packet's own bytes can be checked for (an unfragmented packet). */
static bool checksums_ok(const uint8_t *p, const FzgwPacket *pi, bool *ret_l4) {
        size_t n = pi->len - pi->l4_off;
        uint64_t sum;
        bool ok = true;

        *ret_l4 = false;
        if (pi->family == AF_INET) {
                ok = fzd_csum_fold(fzd_csum_add(0, p, pi->l4_off)) == 0;
                if ((p[6] & 0x20) || !pi->first_fragment)
                        return ok; /* the transport checksum covers other fragments too */
        }
        if (pi->proto != FZGW_PROTO_TCP && pi->proto != FZGW_PROTO_UDP &&
            !(pi->proto == FZGW_PROTO_ICMPV6 && pi->family == AF_INET6))
                return ok;
        if ((pi->proto == FZGW_PROTO_TCP && n < 18) || (pi->proto == FZGW_PROTO_UDP && n < 8) || n < 4)
                return ok;
        if (pi->proto == FZGW_PROTO_UDP && pi->family == AF_INET && p[pi->l4_off + 6] == 0 &&
            p[pi->l4_off + 7] == 0)
                return ok;
        sum = fzd_csum_pseudo(pi->family, fzgw_packet_src(p, pi), fzgw_packet_dst(p, pi), pi->proto,
                              (uint32_t) n);
        *ret_l4 = fzd_csum_fold(fzd_csum_add(sum, p + pi->l4_off, n)) == 0;
        return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static bool ready;
        uint8_t p[2048], out[2048], proxy[16];
        const FzgwAuthorization *a;
        const FzgwMapping *m;
        FzgwPacket pi, again;
        FzgwAssignedIps ips;
        const uint8_t *body;
        size_t body_len;
        uint8_t event;
        FzgwVerdict v;
        int k;

        if (!ready) {
                setup();
                ready = true;
        }
        if (size > sizeof p)
                size = sizeof p;
        memcpy(p, data, size);

        if (fzgw_p2p_parse(p, size, &event, &body, &body_len) == 0 && event == FZGW_P2P_ASSIGNED_IPS &&
            fzgw_p2p_parse_assigned_ips(body, body_len, &ips) == 0 &&
            (ips.n_proxy_ips == 0 || ips.n_proxy_ips > FZGW_MAX_PROXY_IPS || !ips.domain[0]))
                abort();
        if (fzgw_packet_parse(p, size, &pi) < 0)
                return 0;

        v = fzgw_policy_check(&policy, p, &pi, &a, &m);
        if (v == FZGW_VERDICT_ALLOW_NAT) {
                FzgwNatKey key = { .family = (uint8_t) pi.family,
                                   .proto = pi.proto,
                                   .client_port = pi.sport,
                                   .server_port = pi.dport };
                bool hdr_ok, l4_ok, l4_ok_after;

                if (!m || m->real.family != pi.family)
                        abort();
                memcpy(key.client, fzgw_packet_src(p, &pi), fzgw_ip_len(pi.family));
                memcpy(key.real, m->real.a, fzgw_ip_len(pi.family));
                (void) fzgw_nat_request(nat, &key, m->proxy.a, 1, 1000, pi.tcp_flags, pi.len);
                hdr_ok = checksums_ok(p, &pi, &l4_ok);
                fzgw_packet_set_addr(p, &pi, true, m->real.a);
                if (fzgw_packet_parse(p, size, &again) < 0 || again.proto != pi.proto ||
                    again.sport != pi.sport || again.dport != pi.dport)
                        abort();
                if (checksums_ok(p, &again, &l4_ok_after) != hdr_ok || (l4_ok && !l4_ok_after))
                        abort();
                /* The answer goes back through the same flow. */
                if (!fzgw_nat_reply(nat, &key, 1001, 0, pi.len, proxy) ||
                    memcmp(proxy, m->proxy.a, fzgw_ip_len(pi.family)) != 0)
                        abort();
                fzgw_packet_set_addr(p, &pi, false, proxy);
        } else if (v != FZGW_VERDICT_ALLOW && fzgw_packet_may_answer(p, &pi)) {
                k = fzgw_packet_icmp_prohibited(p, &pi, out, sizeof out);
                if (k <= 0 || fzgw_packet_parse(out, (size_t) k, &again) < 0 || !again.icmp_error)
                        abort();
        }
        if (pi.icmp_error) {
                FzgwQuoted q;
                static const uint8_t addr[16] = { 100, 96, 0, 1 };
                if (fzgw_packet_quoted(p, &pi, &q) == 0) {
                        if (q.off >= pi.len || q.l4_off > pi.len)
                                abort();
                        fzgw_packet_unnat_icmp_error(p, &pi, &q, addr);
                }
        }
        (void) fzgw_nat_expire(nat, 1000 + FZGW_NAT_TCP_TTL + 1, NULL, NULL);
        return 0;
}
