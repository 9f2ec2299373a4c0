/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the portal's messages about gateways (authorization_created, its failure,
 * candidates, relays, relays_presence) from any JSON. Besides "no crash": what is accepted
 * holds only short, printable ids and credentials, and candidates that are display text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "portal-gateway.h"
#include "text.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_token(const char *s) {
        if (!*s)
                abort();
        for (; *s; s++)
                if ((unsigned char) *s <= 0x20 || (unsigned char) *s >= 0x7f)
                        abort();
}

static void check_text(const char *s) {
        if (!fzd_utf8_is_valid(s, strlen(s)) || !fzd_text_is_clean(s))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FzdPortalSkips skips = FZD_PORTAL_SKIPS("fuzz");
        FzdPortalElement e = { .what = "authorization", .index = FZD_PORTAL_NO_INDEX };
        FzdPortalDoc doc;
        FzdAuthorization a;
        FzdRelay relays[FZD_PORTAL_MAX_RELAYS];
        const char *cands[FZD_PORTAL_MAX_CANDIDATES], *gone[FZD_PORTAL_MAX_RELAYS], *id, *reason, *why;
        const FzdJson *o;
        size_t n, nd;

        if (fzd_portal_doc_parse((const char *) data, size, &doc, &why) < 0)
                return 0;
        o = doc.root;
        if (fzd_portal_authorization_parse(o, &e, &a) == 0) {
                check_token(a.resource_id);
                check_token(a.gateway_id);
                check_token(a.site_id);
                check_token(a.client_ice.username);
                check_token(a.client_ice.password);
                check_token(a.gateway_ice.password);
        }
        if (fzd_portal_authorization_failed_parse(o, &id, &reason) == 0) {
                check_token(id);
                check_text(reason);
        }
        if (fzd_portal_candidates_parse(o, &skips, &id, cands, FZD_PORTAL_MAX_CANDIDATES, &n) == 0) {
                if (n > FZD_PORTAL_MAX_CANDIDATES)
                        abort();
                check_token(id);
                for (size_t i = 0; i < n; i++)
                        if (!*cands[i] || strlen(cands[i]) >= FZD_PORTAL_MAX_CANDIDATE)
                                abort();
                        else
                                check_text(cands[i]);
        }
        n = fzd_portal_relays_parse(o, &skips, relays, FZD_PORTAL_MAX_RELAYS);
        for (size_t i = 0; i < n; i++) {
                check_token(relays[i].id);
                check_token(relays[i].username);
                check_token(relays[i].password);
                if (relays[i].addr.ss_family != AF_INET && relays[i].addr.ss_family != AF_INET6)
                        abort();
        }
        if (fzd_portal_relays_presence_parse(o, &skips, relays, FZD_PORTAL_MAX_RELAYS, &n, gone, FZD_PORTAL_MAX_RELAYS,
                                             &nd) == 0) {
                if (n > FZD_PORTAL_MAX_RELAYS || nd > FZD_PORTAL_MAX_RELAYS)
                        abort();
                for (size_t i = 0; i < nd; i++)
                        check_token(gone[i]);
        }
        fzd_portal_skips_done(&skips);
        fzd_portal_doc_done(&doc);
        return 0;
}
