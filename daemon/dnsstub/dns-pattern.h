/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Name patterns of DNS resources (DESIGN §7.1): labels separated by '.', compared without
 * regard to ASCII case, where
 *   `*`   in a label matches any run of characters within one label (a label of just `*`
 *         is "one label"), and a pattern `*.x` also matches `x` itself;
 *   `?`   matches one character;
 *   `**`  as a whole label matches any number of labels, none included.
 * When several patterns match a name the most specific wins: fzd_dns_pattern_compare()
 * orders them (exact names before `?` before `*` before `**`, compared from the right).
 * Sans-IO; compile allocates the pattern's text, matching allocates nothing. */

#include <stdbool.h>
#include <stddef.h>

#include "dns-wire.h"

typedef struct FzdDnsPattern {
        char *text; /* lower case, no trailing dot */
        bool has_wildcard;
        const char *literal_suffix; /* into text: see fzd_dns_pattern_literal_suffix() */
} FzdDnsPattern;

/* Returns 0 or -EINVAL (empty, an empty label, a label over 63 bytes, too long, or a
 * character other than letters, digits, '-', '_', '*', '?'), or -ENOMEM. Release with
 * fzd_dns_pattern_done(). */
int fzd_dns_pattern_compile(const char *text, FzdDnsPattern *ret);
void fzd_dns_pattern_done(FzdDnsPattern *p);

/* name: lower case text form (FzdDnsQuery.name). */
bool fzd_dns_pattern_matches(const FzdDnsPattern *p, const char *name);

/* The literal suffix ("corp.example" for "a.*.corp.example"; "" if the last label has a
 * wildcard; the whole name if there is none): where an index files the pattern. */
static inline const char *fzd_dns_pattern_literal_suffix(const FzdDnsPattern *p) {
        return p->literal_suffix;
}

/* < 0 if a is more specific than b, 0 if equal, > 0 if less. */
int fzd_dns_pattern_compare(const FzdDnsPattern *a, const FzdDnsPattern *b);
