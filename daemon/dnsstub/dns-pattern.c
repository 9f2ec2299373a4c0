/* SPDX-License-Identifier: Apache-2.0 */
/* Name patterns of DNS resources (dns-pattern.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns-pattern.h"

/* A name has at most 127 labels (255 bytes on the wire). */
#define MAX_LABELS 128

typedef struct Label {
        const char *s;
        size_t n;
} Label;

static size_t split(const char *text, Label *v) {
        size_t n = 0;

        if (!*text)
                return 0;
        for (const char *p = text;;) {
                const char *dot = strchr(p, '.');
                size_t l = dot ? (size_t)(dot - p) : strlen(p);

                if (n == MAX_LABELS)
                        return SIZE_MAX;
                v[n++] = (Label){p, l};
                if (!dot)
                        return n;
                p = dot + 1;
        }
}

/* Within one label: `*` any run of characters, `?` one character. The usual greedy
 * matcher that falls back to the last `*`: O(pattern × label) at worst. */
static bool label_matches(Label pat, Label s) {
        size_t i = 0, j = 0, star_i = SIZE_MAX, star_j = 0;

        while (j < s.n) {
                if (i < pat.n && pat.s[i] == '*') {
                        star_i = i++;
                        star_j = j;
                } else if (i < pat.n && (pat.s[i] == '?' || pat.s[i] == s.s[j])) {
                        i++;
                        j++;
                } else if (star_i != SIZE_MAX) {
                        i = star_i + 1;
                        j = ++star_j;
                } else
                        return false;
        }
        while (i < pat.n && pat.s[i] == '*')
                i++;
        return i == pat.n;
}

static bool is_globstar(Label l) {
        return l.n == 2 && l.s[0] == '*' && l.s[1] == '*';
}

/* The same matcher one level up: `**` takes any number of labels, every other pattern
 * label exactly one. */
static bool labels_match(const Label *pat, size_t m, const Label *name, size_t n) {
        size_t i = 0, j = 0, star_i = SIZE_MAX, star_j = 0;

        while (j < n) {
                if (i < m && is_globstar(pat[i])) {
                        star_i = i++;
                        star_j = j;
                } else if (i < m && label_matches(pat[i], name[j])) {
                        i++;
                        j++;
                } else if (star_i != SIZE_MAX) {
                        i = star_i + 1;
                        j = ++star_j;
                } else
                        return false;
        }
        while (i < m && is_globstar(pat[i]))
                i++;
        return i == m;
}

bool fzd_dns_pattern_matches(const FzdDnsPattern *p, const char *name) {
        /* Only the first m (n) entries are read; the initialiser is for the compiler's sake. */
        Label pat[MAX_LABELS] = {{NULL, 0}}, nm[MAX_LABELS] = {{NULL, 0}};
        size_t m, n;

        if (!p->has_wildcard)
                return strcmp(p->text, name) == 0;
        m = split(p->text, pat);
        n = split(name, nm);
        if (m == SIZE_MAX || n == SIZE_MAX)
                return false;
        if (labels_match(pat, m, nm, n))
                return true;
        /* `*.x` also matches `x`. */
        return m >= 2 && pat[0].n == 1 && pat[0].s[0] == '*' && labels_match(pat + 1, m - 1, nm, n);
}

int fzd_dns_pattern_compile(const char *text, FzdDnsPattern *ret) {
        FzdDnsPattern p = {};
        size_t n, label = 0, suffix;

        if (!text)
                return -EINVAL;
        n = strlen(text);
        if (n > 0 && text[n - 1] == '.')
                n--;
        if (n == 0 || n > FZD_DNS_NAME_TEXT_MAX)
                return -EINVAL;
        p.text = strndup(text, n);
        if (!p.text)
                return -ENOMEM;
        for (size_t i = 0; i <= n; i++) {
                char c = p.text[i];

                if (c == '.' || c == 0) {
                        if (label == 0 || label > 63)
                                goto invalid;
                        label = 0;
                        continue;
                }
                if (c >= 'A' && c <= 'Z')
                        p.text[i] = c = (char)(c + ('a' - 'A'));
                if (c == '*' || c == '?')
                        p.has_wildcard = true;
                else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
                        goto invalid;
                label++;
        }
        /* The literal suffix: the labels after the last one that holds a wildcard. */
        suffix = n;
        for (size_t end = n; end > 0;) {
                size_t start = end;

                while (start > 0 && p.text[start - 1] != '.')
                        start--;
                if (memchr(p.text + start, '*', end - start) || memchr(p.text + start, '?', end - start))
                        break;
                suffix = start;
                if (start == 0)
                        break;
                end = start - 1;
        }
        p.literal_suffix = p.text + suffix;
        *ret = p;
        return 0;

invalid:
        free(p.text);
        return -EINVAL;
}

void fzd_dns_pattern_done(FzdDnsPattern *p) {
        free(p->text);
        *p = (FzdDnsPattern){};
}

/* The order of Firezone's clients (its Pattern's Ord), re-stated: compare from the
 * right; at the first difference, `?` is more specific than `*`, a wildcard less specific
 * than anything else, otherwise characters in reverse order, and a shorter pattern
 * first. */
int fzd_dns_pattern_compare(const FzdDnsPattern *a, const FzdDnsPattern *b) {
        size_t i = strlen(a->text), j = strlen(b->text);

        for (;;) {
                int x = i > 0 ? (unsigned char)a->text[i - 1] : -1;
                int y = j > 0 ? (unsigned char)b->text[j - 1] : -1;
                bool wx = x == '*' || x == '?', wy = y == '*' || y == '?';

                if (x == -1 && y == -1)
                        return 0;
                if (x == y) {
                        i--;
                        j--;
                        continue;
                }
                if (x == '*' && y == '?')
                        return 1;
                if (x == '?' && y == '*')
                        return -1;
                if (wx && !wy)
                        return 1;
                if (wy && !wx)
                        return -1;
                if (x == -1)
                        return -1;
                if (y == -1)
                        return 1;
                return x < y ? 1 : -1;
        }
}
