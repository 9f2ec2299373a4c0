/* SPDX-License-Identifier: Apache-2.0 */
/* Building and reading DNS messages in the stub's unit tests, independently of the code
 * under test (dns-wire.c): byte by byte, as RFC 1035 lays them out. */
#pragma once

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

typedef struct TestMsg {
        uint8_t b[4200];
        size_t n;
} TestMsg;

static inline void tm_u8(TestMsg *m, uint8_t v) {
        ck_assert_uint_lt(m->n, sizeof m->b);
        m->b[m->n++] = v;
}

static inline void tm_u16(TestMsg *m, uint16_t v) {
        tm_u8(m, (uint8_t)(v >> 8));
        tm_u8(m, (uint8_t)v);
}

static inline void tm_u32(TestMsg *m, uint32_t v) {
        tm_u16(m, (uint16_t)(v >> 16));
        tm_u16(m, (uint16_t)v);
}

static inline void tm_name(TestMsg *m, const char *name) {
        const char *p = name;
        while (*p) {
                const char *dot = strchr(p, '.');
                size_t l = dot ? (size_t)(dot - p) : strlen(p);
                tm_u8(m, (uint8_t)l);
                for (size_t i = 0; i < l; i++)
                        tm_u8(m, (uint8_t)p[i]);
                p += l;
                if (*p == '.')
                        p++;
        }
        tm_u8(m, 0);
}

static inline void tm_header(TestMsg *m, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns,
                             uint16_t ar) {
        m->n = 0;
        tm_u16(m, id);
        tm_u16(m, flags);
        tm_u16(m, qd);
        tm_u16(m, an);
        tm_u16(m, ns);
        tm_u16(m, ar);
}

/* An OPT record: payload size, DO bit, version, no options. */
static inline void tm_opt(TestMsg *m, uint16_t size, bool dnssec_ok, uint8_t version) {
        tm_u8(m, 0);
        tm_u16(m, 41);
        tm_u16(m, size);
        tm_u8(m, 0);
        tm_u8(m, version);
        tm_u16(m, dnssec_ok ? 0x8000 : 0);
        tm_u16(m, 0);
}

/* A standard query with RD, optionally with EDNS (payload 1232). */
static inline TestMsg tm_query(uint16_t id, const char *name, uint16_t qtype, bool edns) {
        TestMsg m;
        tm_header(&m, id, 0x0100, 1, 0, 0, edns ? 1 : 0);
        tm_name(&m, name);
        tm_u16(&m, qtype);
        tm_u16(&m, 1);
        if (edns)
                tm_opt(&m, 1232, false, 0);
        return m;
}

static inline uint16_t tm_get16(const uint8_t *p) {
        return (uint16_t)((p[0] << 8) | p[1]);
}

/* Reads a response: rcode, flags, counts, and the answers' rdata (owner names skipped). */
typedef struct TestAnswer {
        uint16_t id, flags, qd, an, ns, ar;
        unsigned rcode;
        size_t n;
        struct {
                uint16_t type, klass;
                uint32_t ttl;
                uint16_t rdlength;
                uint8_t rdata[256];
        } rr[16];
        bool has_opt;
        uint16_t opt_size;
        uint8_t opt_ext_rcode;
        bool opt_do;
} TestAnswer;

static inline size_t tm_skip_name(const uint8_t *b, size_t len, size_t p) {
        for (;;) {
                ck_assert_uint_lt(p, len);
                if ((b[p] & 0xc0) == 0xc0)
                        return p + 2;
                if (b[p] == 0)
                        return p + 1;
                p += 1u + b[p];
        }
}

static inline TestAnswer tm_parse(const uint8_t *b, size_t len) {
        TestAnswer a = {};
        size_t p = 12;

        ck_assert_uint_ge(len, 12);
        a.id = tm_get16(b);
        a.flags = tm_get16(b + 2);
        a.rcode = a.flags & 0xf;
        a.qd = tm_get16(b + 4);
        a.an = tm_get16(b + 6);
        a.ns = tm_get16(b + 8);
        a.ar = tm_get16(b + 10);
        for (unsigned i = 0; i < a.qd; i++)
                p = tm_skip_name(b, len, p) + 4;
        for (unsigned i = 0; i < (unsigned)a.an + a.ns + a.ar; i++) {
                uint16_t type, klass, rdl;
                uint32_t ttl;
                p = tm_skip_name(b, len, p);
                ck_assert_uint_le(p + 10, len);
                type = tm_get16(b + p);
                klass = tm_get16(b + p + 2);
                ttl = ((uint32_t)tm_get16(b + p + 4) << 16) | tm_get16(b + p + 6);
                rdl = tm_get16(b + p + 8);
                p += 10;
                ck_assert_uint_le(p + rdl, len);
                if (type == 41) {
                        a.has_opt = true;
                        a.opt_size = klass;
                        a.opt_ext_rcode = (uint8_t)(ttl >> 24);
                        a.opt_do = (ttl & 0x8000) != 0;
                } else if (i < a.an && a.n < 16) {
                        a.rr[a.n].type = type;
                        a.rr[a.n].klass = klass;
                        a.rr[a.n].ttl = ttl;
                        a.rr[a.n].rdlength = rdl;
                        memcpy(a.rr[a.n].rdata, b + p, rdl < 256 ? rdl : 256);
                        a.n++;
                }
                p += rdl;
        }
        ck_assert_uint_eq(p, len);
        return a;
}
