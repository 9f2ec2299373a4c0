/* SPDX-License-Identifier: Apache-2.0 */
/* The stub's wire format: libldns (Debian 12's 1.8.3) against daemon/dnsstub/dns-wire.c,
 * on the work the stub does for every query — the figures behind issue #11's choice.
 *
 *   answer    read a query as dig and systemd-resolved send it (EDNS with a cookie
 *             option), take its name in lower-case text form for matching, write an
 *             answer with 4 A records and an OPT record (a resource name's answer);
 *   check     read an upstream's answer (6 records, compressed names, OPT) and check that
 *             it belongs to the query (what every forwarded answer goes through).
 *
 * Prints ns per operation (median of 7 runs of N operations) for both, side by side.
 * Usage: bench-dns-wire [N] */
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns-wire.h"

static uint8_t query[512], answer[512];
static size_t query_len, answer_len;

static void put16(uint8_t *b, size_t *n, uint16_t v) {
        b[(*n)++] = (uint8_t)(v >> 8);
        b[(*n)++] = (uint8_t)v;
}

static void put_name(uint8_t *b, size_t *n, const char *name) {
        while (*name) {
                const char *dot = strchr(name, '.');
                size_t l = dot ? (size_t)(dot - name) : strlen(name);
                b[(*n)++] = (uint8_t)l;
                memcpy(b + *n, name, l);
                *n += l;
                name += l + (dot ? 1 : 0);
        }
        b[(*n)++] = 0;
}

static void make_messages(void) {
        size_t n = 0;

        /* Query: ID, RD+AD, 1 question, OPT with an 8-byte client cookie (as dig sends). */
        put16(query, &n, 0x1234), put16(query, &n, 0x0120), put16(query, &n, 1), put16(query, &n, 0);
        put16(query, &n, 0), put16(query, &n, 1);
        put_name(query, &n, "Gitlab.Corp.Example.com");
        put16(query, &n, 1), put16(query, &n, 1);
        query[n++] = 0, put16(query, &n, 41), put16(query, &n, 1232), put16(query, &n, 0),
        put16(query, &n, 0);
        put16(query, &n, 12), put16(query, &n, 10), put16(query, &n, 8);
        memcpy(query + n, "\x11\x22\x33\x44\x55\x66\x77\x88", 8), n += 8;
        query_len = n;

        /* Its answer from an upstream: a CNAME and 4 A records, an NS in authority, OPT. */
        n = 0;
        put16(answer, &n, 0x1234), put16(answer, &n, 0x8180), put16(answer, &n, 1), put16(answer, &n, 5);
        put16(answer, &n, 1), put16(answer, &n, 1);
        put_name(answer, &n, "gitlab.corp.example.com");
        put16(answer, &n, 1), put16(answer, &n, 1);
        put16(answer, &n, 0xc00c), put16(answer, &n, 5), put16(answer, &n, 1), put16(answer, &n, 0),
                put16(answer, &n, 300), put16(answer, &n, 7);
        answer[n++] = 4, memcpy(answer + n, "web1", 4), n += 4, put16(answer, &n, 0xc013);
        for (int i = 0; i < 4; i++) {
                put16(answer, &n, 0xc035), put16(answer, &n, 1), put16(answer, &n, 1), put16(answer, &n, 0),
                        put16(answer, &n, 300), put16(answer, &n, 4);
                answer[n++] = 192, answer[n++] = 0, answer[n++] = 2, answer[n++] = (uint8_t)(10 + i);
        }
        put16(answer, &n, 0xc018), put16(answer, &n, 2), put16(answer, &n, 1), put16(answer, &n, 0),
                put16(answer, &n, 3600), put16(answer, &n, 6);
        answer[n++] = 3, memcpy(answer + n, "ns1", 3), n += 3, put16(answer, &n, 0xc018);
        answer[n++] = 0, put16(answer, &n, 41), put16(answer, &n, 1232), put16(answer, &n, 0),
        put16(answer, &n, 0), put16(answer, &n, 0);
        answer_len = n;
}

static const uint8_t proxy[4][4] = {{100, 96, 0, 4}, {100, 96, 0, 5}, {100, 96, 0, 6}, {100, 96, 0, 7}};
static volatile size_t sink;

/* ---- ours ------------------------------------------------------------------------------------- */

static int ours_answer(void) {
        uint8_t out[1024];
        FzdDnsQuery q;
        FzdDnsRecord rr[4];
        ssize_t n;

        if (fzd_dns_query_parse(query, query_len, &q) < 0)
                return -1;
        sink += strlen(q.name);
        for (int i = 0; i < 4; i++)
                rr[i] = (FzdDnsRecord){FZD_DNS_TYPE_A, 4, proxy[i]};
        n = fzd_dns_write_response(query, &q, 0, rr, 4, 1, 1232, out, sizeof out);
        if (n < 0)
                return -1;
        sink += (size_t)n;
        return 0;
}

static int ours_check(void) {
        static FzdDnsQuery q;
        static bool parsed;

        if (!parsed) {
                if (fzd_dns_query_parse(query, query_len, &q) < 0)
                        return -1;
                parsed = true;
        }
        if (!fzd_dns_response_matches(answer, answer_len, query, q.question_end))
                return -1;
        sink++;
        return 0;
}

/* ---- libldns ---------------------------------------------------------------------------------- */

static int ldns_answer(void) {
        ldns_pkt *q = NULL, *a;
        ldns_rr *question;
        ldns_rdf *owner;
        char *text;
        uint8_t *wire = NULL;
        size_t size = 0;

        if (ldns_wire2pkt(&q, query, query_len) != LDNS_STATUS_OK)
                return -1;
        question = ldns_rr_list_rr(ldns_pkt_question(q), 0);
        owner = ldns_rdf_clone(ldns_rr_owner(question));
        ldns_dname2canonical(owner); /* lower case, for matching */
        text = ldns_rdf2str(owner);
        sink += strlen(text);
        free(text);

        a = ldns_pkt_new();
        ldns_pkt_set_id(a, ldns_pkt_id(q));
        ldns_pkt_set_qr(a, true);
        ldns_pkt_set_rd(a, ldns_pkt_rd(q));
        ldns_pkt_set_ra(a, true);
        ldns_pkt_push_rr(a, LDNS_SECTION_QUESTION, ldns_rr_clone(question));
        for (int i = 0; i < 4; i++) {
                ldns_rr *rr = ldns_rr_new();
                ldns_rr_set_owner(rr, ldns_rdf_clone(owner));
                ldns_rr_set_type(rr, LDNS_RR_TYPE_A);
                ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
                ldns_rr_set_ttl(rr, 1);
                ldns_rr_push_rdf(rr, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, 4, proxy[i]));
                ldns_pkt_push_rr(a, LDNS_SECTION_ANSWER, rr);
        }
        if (ldns_pkt_edns(q)) {
                ldns_pkt_set_edns_udp_size(a, 1232);
                ldns_pkt_set_edns_do(a, ldns_pkt_edns_do(q));
        }
        if (ldns_pkt2wire(&wire, a, &size) != LDNS_STATUS_OK)
                return -1;
        sink += size;
        free(wire);
        ldns_rdf_deep_free(owner);
        ldns_pkt_free(a);
        ldns_pkt_free(q);
        return 0;
}

static int ldns_check(void) {
        ldns_pkt *q = NULL, *a = NULL;
        int r = -1;

        if (ldns_wire2pkt(&q, query, query_len) != LDNS_STATUS_OK)
                return -1;
        if (ldns_wire2pkt(&a, answer, answer_len) == LDNS_STATUS_OK && ldns_pkt_qr(a) &&
            ldns_pkt_id(a) == ldns_pkt_id(q) && ldns_pkt_qdcount(a) == 1) {
                const ldns_rr *x = ldns_rr_list_rr(ldns_pkt_question(a), 0),
                              *y = ldns_rr_list_rr(ldns_pkt_question(q), 0);
                /* ldns_dname_compare() ignores case, as DNS does. */
                if (ldns_dname_compare(ldns_rr_owner(x), ldns_rr_owner(y)) == 0 &&
                    ldns_rr_get_type(x) == ldns_rr_get_type(y) &&
                    ldns_rr_get_class(x) == ldns_rr_get_class(y))
                        r = 0;
        }
        sink++;
        ldns_pkt_free(a);
        ldns_pkt_free(q);
        return r;
}

/* ---- runs ------------------------------------------------------------------------------------- */

static double ns_per_op(int (*fn)(void), long n) {
        double runs[7];

        for (int k = 0; k < 7; k++) {
                struct timespec a, b;
                clock_gettime(CLOCK_MONOTONIC, &a);
                for (long i = 0; i < n; i++)
                        if (fn() < 0) {
                                fprintf(stderr, "an operation failed\n");
                                exit(EXIT_FAILURE);
                        }
                clock_gettime(CLOCK_MONOTONIC, &b);
                runs[k] =
                        ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)n;
        }
        for (int i = 1; i < 7; i++) /* median */
                for (int j = i; j > 0 && runs[j - 1] > runs[j]; j--) {
                        double t = runs[j];
                        runs[j] = runs[j - 1];
                        runs[j - 1] = t;
                }
        return runs[3];
}

int main(int argc, char **argv) {
        long n = argc > 1 ? atol(argv[1]) : 200000;
        double la, oa, lc, oc;

        make_messages();
        la = ns_per_op(ldns_answer, n);
        oa = ns_per_op(ours_answer, n);
        lc = ns_per_op(ldns_check, n);
        oc = ns_per_op(ours_check, n);
        printf("dns wire format, ns per operation (median of 7 runs of %ld)\n", n);
        printf("  %-44s %10s %10s %8s\n", "operation", "libldns", "dns-wire", "ratio");
        printf("  %-44s %10.0f %10.0f %7.1fx\n", "query in, resource answer (4 A + OPT) out", la, oa,
               la / oa);
        printf("  %-44s %10.0f %10.0f %7.1fx\n", "upstream answer checked against its query", lc, oc,
               lc / oc);
        return 0;
}
