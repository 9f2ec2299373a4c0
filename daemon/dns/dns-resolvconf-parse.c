/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dns-resolvconf-parse.h"
#include "macro.h"

static const char *const owner_names[_FZD_RESOLV_CONF_OWNER_MAX] = {
        [FZD_RESOLV_CONF_OWNER_UNKNOWN] = "unknown",
        [FZD_RESOLV_CONF_OWNER_SYSTEMD_RESOLVED] = "systemd-resolved",
        [FZD_RESOLV_CONF_OWNER_NETWORK_MANAGER] = "NetworkManager",
        [FZD_RESOLV_CONF_OWNER_RESOLVCONF] = "resolvconf",
        [FZD_RESOLV_CONF_OWNER_NETCONFIG] = "netconfig",
        [FZD_RESOLV_CONF_OWNER_FIREZONE] = "firezone",
};

const char *fzd_resolv_conf_owner_to_string(FzdResolvConfOwner o) {
        if ((unsigned)o >= _FZD_RESOLV_CONF_OWNER_MAX)
                return "unknown";
        return owner_names[o];
}

bool fzd_resolv_conf_is_ours(const char *text, size_t size) {
        size_t n = strlen(FZD_RESOLV_CONF_MARKER);

        return text && size >= n && memcmp(text, FZD_RESOLV_CONF_MARKER, n) == 0 &&
               (size == n || text[n] == '\n' || text[n] == '\r');
}

/* What the tools that generate resolv.conf write into its header comment. */
static FzdResolvConfOwner owner_from_comment(const char *line) {
        if (strstr(line, "systemd-resolved"))
                return FZD_RESOLV_CONF_OWNER_SYSTEMD_RESOLVED;
        if (strstr(line, "NetworkManager"))
                return FZD_RESOLV_CONF_OWNER_NETWORK_MANAGER;
        if (strstr(line, "resolvconf"))
                return FZD_RESOLV_CONF_OWNER_RESOLVCONF;
        if (strstr(line, "netconfig"))
                return FZD_RESOLV_CONF_OWNER_NETCONFIG;
        return FZD_RESOLV_CONF_OWNER_UNKNOWN;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* "keyword" followed by a blank, as glibc's MATCH(). Returns the rest, or NULL. */
static char *match_keyword(char *line, const char *keyword) {
        size_t n = strlen(keyword);

        if (strncmp(line, keyword, n) != 0 || !is_blank(line[n]))
                return NULL;
        return line + n;
}

static char *next_word(char **p) {
        char *s = *p, *w;

        while (*s && is_blank(*s))
                s++;
        if (!*s) {
                *p = s;
                return NULL;
        }
        w = s;
        while (*s && !is_blank(*s))
                s++;
        if (*s)
                *s++ = 0;
        *p = s;
        return w;
}

static bool parse_nameserver(char *rest, FzdResolvConfNameserver *ret) {
        FzdResolvConfNameserver ns = {};
        char *word = next_word(&rest), *zone;

        if (!word)
                return false;
        zone = strchr(word, '%');
        if (zone) {
                *zone++ = 0;
                if (strlen(zone) == 0 || strlen(zone) >= sizeof ns.zone)
                        return false;
                strcpy(ns.zone, zone);
        }
        if (fzd_dns_address_from_string(word, &ns.address) < 0)
                return false;
        if (zone && ns.address.family != AF_INET6)
                return false;
        *ret = ns;
        return true;
}

static void search_clear(FzdResolvConf *c) {
        for (size_t i = 0; i < c->n_search; i++)
                c->search[i] = mfree(c->search[i]);
        c->n_search = 0;
}

static int parse_search(FzdResolvConf *c, char *rest, bool single) {
        char *word;
        bool any = false;

        search_clear(c);
        while ((word = next_word(&rest))) {
                any = true;
                if (c->n_search >= FZD_RESOLV_CONF_MAX_SEARCH || fzd_dns_name_check(word) < 0) {
                        c->n_skipped++; /* too many, or not a name: leave it out, keep the others */
                        continue;
                }
                c->search[c->n_search] = strdup(word);
                if (!c->search[c->n_search])
                        return -ENOMEM;
                c->n_search++;
                if (single)
                        break;
        }
        if (!any)
                c->n_skipped++;
        return 0;
}

static int parse_options(FzdResolvConf *c, char *rest) {
        char *word;

        while ((word = next_word(&rest))) {
                size_t have = c->options ? strlen(c->options) : 0, n = strlen(word);
                char *o;

                if (have + 1 + n > FZD_RESOLV_CONF_MAX_OPTIONS) {
                        c->n_skipped++;
                        continue;
                }
                o = realloc(c->options, have + 1 + n + 1);
                if (!o)
                        return -ENOMEM;
                if (have > 0)
                        o[have++] = ' ';
                memcpy(o + have, word, n + 1);
                c->options = o;
        }
        return 0;
}

int fzd_resolv_conf_parse(const char *text, size_t size, FzdResolvConf *ret) {
        _cleanup_(freep) char *copy = NULL;
        FzdResolvConf c = {};
        char *line, *end;
        bool header = true;
        int r = 0;

        if (size > FZD_RESOLV_CONF_MAX_SIZE)
                return -EFBIG;
        copy = malloc(size + 1);
        if (!copy)
                return -ENOMEM;
        if (size > 0)
                memcpy(copy, text, size);
        copy[size] = 0;

        if (fzd_resolv_conf_is_ours(text, size))
                c.owner = FZD_RESOLV_CONF_OWNER_FIREZONE;

        for (line = copy; line < copy + size; line = end + 1) {
                char *rest;

                end = memchr(line, '\n', (size_t)(copy + size - line));
                if (!end)
                        end = copy + size;
                *end = 0; /* a NUL inside the line ends it early, as with fgets() */

                if (line[0] == '#' || line[0] == ';') {
                        if (header && c.owner == FZD_RESOLV_CONF_OWNER_UNKNOWN)
                                c.owner = owner_from_comment(line);
                        continue;
                }
                while (is_blank(*line))
                        line++;
                if (!*line)
                        continue;
                header = false;

                if ((rest = match_keyword(line, "nameserver"))) {
                        FzdResolvConfNameserver ns;

                        if (c.n_nameservers < FZD_RESOLV_CONF_MAX_NAMESERVERS && parse_nameserver(rest, &ns))
                                c.nameservers[c.n_nameservers++] = ns;
                        else
                                c.n_skipped++;
                } else if ((rest = match_keyword(line, "search")))
                        r = parse_search(&c, rest, false);
                else if ((rest = match_keyword(line, "domain")))
                        r = parse_search(&c, rest, true);
                else if ((rest = match_keyword(line, "options")))
                        r = parse_options(&c, rest);
                else if (match_keyword(line, "sortlist"))
                        ; /* understood, not needed */
                else
                        c.n_skipped++;
                if (r < 0) {
                        fzd_resolv_conf_done(&c);
                        return r;
                }
        }

        *ret = c;
        return 0;
}

void fzd_resolv_conf_done(FzdResolvConf *c) {
        search_clear(c);
        c->options = mfree(c->options);
        c->n_nameservers = 0;
}

bool fzd_resolv_conf_only_resolved_stub(const FzdResolvConf *c) {
        if (c->n_nameservers == 0)
                return false;
        for (size_t i = 0; i < c->n_nameservers; i++) {
                const FzdDnsAddress *a = &c->nameservers[i].address;
                uint32_t v;

                if (a->family != AF_INET)
                        return false;
                v = ntohl(a->addr.in.s_addr);
                if (v != 0x7f000035u && v != 0x7f000036u) /* 127.0.0.53, 127.0.0.54 */
                        return false;
        }
        return true;
}
