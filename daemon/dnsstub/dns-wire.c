/* SPDX-License-Identifier: Apache-2.0 */
/* DNS wire format for the stub (dns-wire.h). */
#include <errno.h>
#include <string.h>

#include "dns-wire.h"

static uint16_t get16(const uint8_t *p) {
        return (uint16_t)((p[0] << 8) | p[1]);
}

static void put16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t)(v >> 8);
        p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v) {
        put16(p, (uint16_t)(v >> 16));
        put16(p + 2, (uint16_t)v);
}

static char ascii_lower(uint8_t c) {
        return (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
}

/* The question's name: uncompressed labels only. Fills q->name (text form). */
static int read_question_name(const uint8_t *msg, size_t len, size_t *off, FzdDnsQuery *q) {
        size_t p = *off, wire = 0, t = 0;
        bool text = true;

        for (;;) {
                uint8_t l;

                if (p >= len)
                        return -EBADMSG;
                l = msg[p++];
                wire++;
                if (l == 0)
                        break;
                if (l > 63) /* a compression pointer (nothing to point at) or a reserved label type */
                        return -EBADMSG;
                if (l > len - p)
                        return -EBADMSG;
                wire += l;
                if (wire >= FZD_DNS_NAME_WIRE_MAX) /* the terminating zero must still fit */
                        return -EBADMSG;
                if (text && t > 0)
                        q->name[t++] = '.';
                for (size_t i = 0; i < l; i++) {
                        uint8_t c = msg[p + i];
                        if (c <= ' ' || c >= 0x7f || c == '.' || c == '\\')
                                text = false;
                        if (text)
                                q->name[t++] = ascii_lower(c);
                }
                p += l;
        }
        q->name[text ? t : 0] = 0;
        q->name_is_text = text;
        *off = p;
        return 0;
}

/* Any name, compressed or not: skipped, never followed. */
static int skip_name(const uint8_t *msg, size_t len, size_t *off) {
        size_t p = *off, wire = 0;

        for (;;) {
                uint8_t l;

                if (p >= len)
                        return -EBADMSG;
                l = msg[p];
                if ((l & 0xc0) == 0xc0) {
                        if (len - p < 2)
                                return -EBADMSG;
                        p += 2;
                        break;
                }
                if (l & 0xc0)
                        return -EBADMSG;
                p++;
                wire += 1u + l;
                if (wire > FZD_DNS_NAME_WIRE_MAX)
                        return -EBADMSG;
                if (l == 0)
                        break;
                if (l > len - p)
                        return -EBADMSG;
                p += l;
        }
        *off = p;
        return 0;
}

/* EDNS options: code, length, data — they must fill the OPT record's data exactly. */
static int check_edns_options(const uint8_t *p, size_t n) {
        while (n > 0) {
                size_t l;

                if (n < 4)
                        return -EBADMSG;
                l = get16(p + 2);
                if (l > n - 4)
                        return -EBADMSG;
                p += 4 + l;
                n -= 4 + l;
        }
        return 0;
}

/* Skips count records of a section; records the OPT record (additional section only). */
static int read_records(const uint8_t *msg, size_t len, size_t *off, unsigned count, bool additional,
                        FzdDnsQuery *q) {
        size_t p = *off;

        for (unsigned i = 0; i < count; i++) {
                size_t owner = p;
                uint16_t type, rdlength;
                int r;

                r = skip_name(msg, len, &p);
                if (r < 0)
                        return r;
                if (len - p < 10)
                        return -EBADMSG;
                type = get16(msg + p);
                rdlength = get16(msg + p + 8);
                if (rdlength > len - p - 10)
                        return -EBADMSG;
                if (type == FZD_DNS_TYPE_OPT) {
                        /* RFC 6891 §6.1.1: one OPT, in the additional section, owned by the root. */
                        if (!additional || q->has_edns || p != owner + 1 || msg[owner] != 0)
                                return -EBADMSG;
                        r = check_edns_options(msg + p + 10, rdlength);
                        if (r < 0)
                                return r;
                        q->has_edns = true;
                        q->edns_udp_size = get16(msg + p + 2);
                        if (q->edns_udp_size < FZD_DNS_CLASSIC_UDP)
                                q->edns_udp_size = FZD_DNS_CLASSIC_UDP;
                        q->edns_version = msg[p + 5];
                        q->edns_do = (msg[p + 6] & 0x80) != 0;
                }
                p += 10u + rdlength;
        }
        *off = p;
        return 0;
}

int fzd_dns_query_parse(const uint8_t *msg, size_t len, FzdDnsQuery *ret) {
        FzdDnsQuery q = {};
        size_t p = FZD_DNS_HEADER_SIZE;
        unsigned qdcount, ancount, nscount, arcount;
        int r;

        if (len < FZD_DNS_HEADER_SIZE)
                return -EINVAL;
        q.id = get16(msg);
        q.flags = get16(msg + 2);
        if (q.flags & FZD_DNS_FLAG_QR)
                return -EINVAL; /* never answer an answer: two stubs could ping-pong forever */
        *ret = q;
        if (FZD_DNS_OPCODE(q.flags) != 0)
                return -EOPNOTSUPP;
        if (len > FZD_DNS_MAX_QUERY)
                return -EBADMSG;
        qdcount = get16(msg + 4);
        ancount = get16(msg + 6);
        nscount = get16(msg + 8);
        arcount = get16(msg + 10);
        if (qdcount != 1)
                return -EBADMSG;

        r = read_question_name(msg, len, &p, &q);
        if (r < 0)
                return r;
        if (len - p < 4)
                return -EBADMSG;
        q.qtype = get16(msg + p);
        q.qclass = get16(msg + p + 2);
        p += 4;
        q.question_end = p;
        *ret = q;

        r = read_records(msg, len, &p, ancount, false, &q);
        if (r >= 0)
                r = read_records(msg, len, &p, nscount, false, &q);
        if (r >= 0)
                r = read_records(msg, len, &p, arcount, true, &q);
        if (r < 0) {
                q.has_edns = false; /* an answer to a malformed query carries no OPT */
                *ret = q;
                return r;
        }
        /* Bytes after the last record are ignored (and forwarded as they are). */
        *ret = q;
        return 0;
}

ssize_t fzd_dns_write_response(const uint8_t *msg, const FzdDnsQuery *q, unsigned rcode,
                               const FzdDnsRecord *answers, size_t n_answers, uint32_t ttl, size_t max_size,
                               uint8_t *buf, size_t size) {
        size_t question = q->question_end > 0 ? q->question_end - FZD_DNS_HEADER_SIZE : 0;
        size_t opt = q->has_edns ? 11 : 0, all = FZD_DNS_HEADER_SIZE + question + opt, p;
        uint16_t flags;
        bool truncated = false;

        if ((rcode > 15 && !q->has_edns) || rcode > 0xfff || n_answers > 0xffff)
                return -EINVAL;
        for (size_t i = 0; i < n_answers; i++)
                all += 12u + answers[i].rdlength;
        if (all > max_size || all > size) {
                /* Header, question and OPT only, with TC: the client asks again over TCP. */
                all = FZD_DNS_HEADER_SIZE + question + opt;
                n_answers = 0;
                truncated = true;
                if (all > size)
                        return -ENOBUFS;
        }

        flags = (uint16_t)(FZD_DNS_FLAG_QR | (q->flags & (0x7800u | FZD_DNS_FLAG_RD | FZD_DNS_FLAG_CD)) |
                           FZD_DNS_FLAG_RA | (rcode & 0xfu) | (truncated ? FZD_DNS_FLAG_TC : 0));
        put16(buf, q->id);
        put16(buf + 2, flags);
        put16(buf + 4, question > 0 ? 1 : 0);
        put16(buf + 6, (uint16_t)n_answers);
        put16(buf + 8, 0);
        put16(buf + 10, opt > 0 ? 1 : 0);
        p = FZD_DNS_HEADER_SIZE;
        memcpy(buf + p, msg + FZD_DNS_HEADER_SIZE, question);
        p += question;
        for (size_t i = 0; i < n_answers; i++) {
                put16(buf + p, 0xc000 | FZD_DNS_HEADER_SIZE); /* the question's name */
                put16(buf + p + 2, answers[i].type);
                put16(buf + p + 4, FZD_DNS_CLASS_IN);
                put32(buf + p + 6, ttl);
                put16(buf + p + 10, answers[i].rdlength);
                if (answers[i].rdlength > 0)
                        memcpy(buf + p + 12, answers[i].rdata, answers[i].rdlength);
                p += 12u + answers[i].rdlength;
        }
        if (opt > 0) {
                buf[p] = 0; /* the root */
                put16(buf + p + 1, FZD_DNS_TYPE_OPT);
                put16(buf + p + 3, FZD_DNS_EDNS_UDP_SIZE);
                buf[p + 5] = (uint8_t)(rcode >> 4); /* extended RCODE */
                buf[p + 6] = 0;                     /* version */
                put16(buf + p + 7, q->edns_do ? 0x8000 : 0);
                put16(buf + p + 9, 0);
                p += opt;
        }
        return (ssize_t)p;
}

bool fzd_dns_response_matches(const uint8_t *resp, size_t len, const uint8_t *query, size_t question_end) {
        uint16_t flags, qflags;
        size_t p;

        if (len < FZD_DNS_HEADER_SIZE || question_end <= FZD_DNS_HEADER_SIZE)
                return false;
        flags = get16(resp + 2);
        qflags = get16(query + 2);
        if (!(flags & FZD_DNS_FLAG_QR) || FZD_DNS_OPCODE(flags) != FZD_DNS_OPCODE(qflags) ||
            get16(resp) != get16(query))
                return false;
        switch (get16(resp + 4)) {
        case 0:
                return FZD_DNS_RCODE(flags) != FZD_DNS_RCODE_NOERROR;
        case 1:
                break;
        default:
                return false;
        }
        if (len < question_end)
                return false;
        /* Walk the query's (uncompressed, already validated) name: length bytes must be
         * equal, label bytes equal but for ASCII case. */
        p = FZD_DNS_HEADER_SIZE;
        for (;;) {
                uint8_t l = query[p];
                if (resp[p] != l)
                        return false;
                p++;
                if (l == 0)
                        break;
                for (size_t i = 0; i < l; i++, p++)
                        if (ascii_lower(resp[p]) != ascii_lower(query[p]))
                                return false;
        }
        return p + 4 == question_end && memcmp(resp + p, query + p, 4) == 0;
}

ssize_t fzd_dns_name_to_wire(const char *text, uint8_t *buf, size_t size) {
        size_t p = 0, n = strlen(text);

        if (n > 0 && text[n - 1] == '.')
                n--;
        for (size_t start = 0; start < n;) {
                const char *dot = memchr(text + start, '.', n - start);
                size_t l = (dot ? (size_t)(dot - text) : n) - start;

                if (l == 0 || l > 63)
                        return -EINVAL;
                if (p + 1 + l + 1 > size || p + 1 + l + 1 > FZD_DNS_NAME_WIRE_MAX)
                        return -EINVAL;
                buf[p++] = (uint8_t)l;
                memcpy(buf + p, text + start, l);
                p += l;
                start += l + 1;
        }
        if (p + 1 > size)
                return -EINVAL;
        buf[p++] = 0;
        return (ssize_t)p;
}
