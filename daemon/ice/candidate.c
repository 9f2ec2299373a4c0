/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "candidate.h"

#define MAX_TOKENS 32

static const char *const type_names[_FZD_ICE_CANDIDATE_TYPE_MAX] = {
        [FZD_ICE_CANDIDATE_HOST] = "host",
        [FZD_ICE_CANDIDATE_SRFLX] = "srflx",
        [FZD_ICE_CANDIDATE_PRFLX] = "prflx",
        [FZD_ICE_CANDIDATE_RELAY] = "relay",
};

const char *fzd_ice_candidate_type_to_string(FzdIceCandidateType t) {
        return t < _FZD_ICE_CANDIDATE_TYPE_MAX ? type_names[t] : "unknown";
}

bool fzd_ice_chars_valid(const char *s, size_t max) {
        size_t n = 0;

        for (; *s; s++, n++) {
                char c = *s;
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '+' || c == '/'))
                        return false;
        }
        return n >= 1 && n <= max;
}

/* Decimal without sign, leading '+', spaces or overflow past max. */
static int parse_uint(const char *s, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;

        if (!*s || strlen(s) > 20)
                return -EINVAL;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EINVAL;
                v = v * 10 + (uint64_t)(*s - '0');
                if (v > max)
                        return -ERANGE;
        }
        *ret = v;
        return 0;
}

static bool addr_usable(const FzdAddr *a) {
        static const uint8_t broadcast[4] = {255, 255, 255, 255};

        if (fzd_addr_is_unspecified(a))
                return false;
        if (a->family == AF_INET)
                return !(a->ip[0] >= 224 && a->ip[0] <= 239) && memcmp(a->ip, broadcast, 4) != 0;
        /* Multicast, and link-local (it would need a scope id the SDP form cannot carry). */
        return a->ip[0] != 0xff && !(a->ip[0] == 0xfe && (a->ip[1] & 0xc0) == 0x80);
}

int fzd_ice_candidate_parse(const char *s, FzdIceCandidate *ret, const char **ret_reason) {
        char copy[FZD_ICE_CANDIDATE_MAX + 1];
        char *tok[MAX_TOKENS];
        size_t n = 0, len;
        char *p;
        uint64_t v;
        FzdIceCandidate c = {};
        bool have_raddr = false, have_rport = false;
        const char *reason;

#define REFUSE(why)                                                                                         \
        do {                                                                                                \
                reason = (why);                                                                             \
                goto refuse;                                                                                \
        } while (0)

        if (!s)
                REFUSE("no candidate");
        len = strlen(s);
        if (len > FZD_ICE_CANDIDATE_MAX)
                REFUSE("candidate is too long");
        if (strncmp(s, "candidate:", 10) != 0)
                REFUSE("does not start with \"candidate:\"");
        memcpy(copy, s + 10, len - 10 + 1);
        for (p = copy; *p;) {
                while (*p == ' ' || *p == '\t')
                        *p++ = 0;
                if (!*p)
                        break;
                if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                        REFUSE("contains a control or non-ASCII character");
                if (n == MAX_TOKENS)
                        REFUSE("too many fields");
                tok[n++] = p;
                while (*p && *p != ' ' && *p != '\t') {
                        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                                REFUSE("contains a control or non-ASCII character");
                        p++;
                }
        }
        if (n < 8)
                REFUSE("too few fields (need foundation, component, transport, priority, address, port, "
                       "typ, type)");

        if (!fzd_ice_chars_valid(tok[0], FZD_ICE_FOUNDATION_MAX))
                REFUSE("foundation is not 1-32 ice-chars");
        strcpy(c.foundation, tok[0]);

        if (parse_uint(tok[1], 256, &v) < 0 || v < 1)
                REFUSE("component is not a number in 1-256");
        if (v != 1)
                REFUSE("only component 1 is supported");
        c.component = 1;

        if (strcasecmp(tok[2], "udp") != 0)
                REFUSE("transport is not UDP");

        if (parse_uint(tok[3], UINT32_MAX, &v) < 0 || v < 1)
                REFUSE("priority is not a number in 1-4294967295");
        c.priority = (uint32_t)v;

        if (fzd_addr_parse_ip(tok[4], &c.addr) < 0)
                REFUSE("connection address is not an IP address (host names and mDNS are not supported)");
        if (!addr_usable(&c.addr))
                REFUSE("connection address is unspecified, multicast, broadcast or IPv6 link-local");
        if (parse_uint(tok[5], 65535, &v) < 0 || v < 1)
                REFUSE("port is not a number in 1-65535");
        c.addr.port = (uint16_t)v;

        if (strcmp(tok[6], "typ") != 0)
                REFUSE("\"typ\" expected after the port");
        for (c.type = 0; c.type < _FZD_ICE_CANDIDATE_TYPE_MAX; c.type++)
                if (strcmp(tok[7], type_names[c.type]) == 0)
                        break;
        if (c.type == _FZD_ICE_CANDIDATE_TYPE_MAX)
                REFUSE("type is not host, srflx, prflx or relay");

        /* Extensions come in name/value pairs; unknown ones (generation, network-id, ...) are skipped. */
        if ((n - 8) % 2 != 0)
                REFUSE("an extension has no value");
        for (size_t i = 8; i < n; i += 2) {
                const char *key = tok[i], *val = tok[i + 1];
                if (strcmp(key, "raddr") == 0) {
                        FzdAddr r;
                        if (fzd_addr_parse_ip(val, &r) < 0)
                                REFUSE("raddr is not an IP address");
                        r.port = c.related.port;
                        c.related = r;
                        have_raddr = true;
                } else if (strcmp(key, "rport") == 0) {
                        if (parse_uint(val, 65535, &v) < 0)
                                REFUSE("rport is not a number in 0-65535");
                        c.related.port = (uint16_t)v;
                        have_rport = true;
                } else if (strcmp(key, "ufrag") == 0) {
                        if (!fzd_ice_chars_valid(val, FZD_ICE_UFRAG_MAX))
                                REFUSE("ufrag is not 1-256 ice-chars");
                        strcpy(c.ufrag, val);
                } else if (strcmp(key, "tcptype") == 0)
                        REFUSE("tcptype on a UDP candidate");
        }
        if (have_raddr != have_rport)
                REFUSE("raddr and rport must come together");
        if (!have_raddr)
                c.related = (FzdAddr){};

        *ret = c;
        return 0;

refuse:
        if (ret_reason)
                *ret_reason = reason;
        return -EINVAL;
#undef REFUSE
}

int fzd_ice_candidate_format(const FzdIceCandidate *c, const char *ufrag, char *buf, size_t size) {
        char ip[FZD_ADDR_STRLEN], rip[FZD_ADDR_STRLEN];
        int n, m = 0;

        fzd_addr_format_ip(&c->addr, ip);
        n = snprintf(buf, size, "candidate:%s %u udp %u %s %u typ %s", c->foundation,
                     c->component ? (unsigned)c->component : 1u, c->priority, ip, c->addr.port,
                     fzd_ice_candidate_type_to_string(c->type));
        if (n < 0 || (size_t)n >= size)
                return -ENOBUFS;
        if (c->type != FZD_ICE_CANDIDATE_HOST) {
                FzdAddr any = {.family = c->addr.family};
                m = snprintf(buf + n, size - (size_t)n, " raddr %s rport 0", fzd_addr_format_ip(&any, rip));
                if (m < 0 || (size_t)m >= size - (size_t)n)
                        return -ENOBUFS;
                n += m;
        }
        if (ufrag && *ufrag) {
                m = snprintf(buf + n, size - (size_t)n, " ufrag %s", ufrag);
                if (m < 0 || (size_t)m >= size - (size_t)n)
                        return -ENOBUFS;
                n += m;
        }
        return n;
}

uint32_t fzd_ice_candidate_priority(FzdIceCandidateType type, uint16_t local_preference,
                                    uint16_t component) {
        static const uint32_t type_pref[_FZD_ICE_CANDIDATE_TYPE_MAX] = {
                [FZD_ICE_CANDIDATE_HOST] = 126,
                [FZD_ICE_CANDIDATE_PRFLX] = 110,
                [FZD_ICE_CANDIDATE_SRFLX] = 100,
                [FZD_ICE_CANDIDATE_RELAY] = 0,
        };
        if (component < 1 || component > 256)
                component = 1;
        return (type < _FZD_ICE_CANDIDATE_TYPE_MAX ? type_pref[type] : 0) << 24 |
               (uint32_t)local_preference << 8 | (uint32_t)(256 - component);
}

static uint32_t fnv1a(uint32_t h, const void *data, size_t n) {
        const uint8_t *p = data;
        while (n--) {
                h ^= *p++;
                h *= 16777619u;
        }
        return h;
}

void fzd_ice_candidate_foundation(FzdIceCandidateType type, const FzdAddr *base, const FzdAddr *server,
                                  char ret[static FZD_ICE_FOUNDATION_MAX + 1]) {
        uint32_t h = 2166136261u;
        uint8_t t = (uint8_t)type;

        h = fnv1a(h, &t, 1);
        h = fnv1a(h, &base->family, 1);
        h = fnv1a(h, base->ip, sizeof(base->ip));
        if (server && (type == FZD_ICE_CANDIDATE_SRFLX || type == FZD_ICE_CANDIDATE_RELAY)) {
                h = fnv1a(h, &server->family, 1);
                h = fnv1a(h, server->ip, sizeof(server->ip));
        }
        h = fnv1a(h, "udp", 3);
        snprintf(ret, FZD_ICE_FOUNDATION_MAX + 1, "%08x", h);
}
