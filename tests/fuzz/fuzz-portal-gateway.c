/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the portal's messages about gateways (authorization_created, its failure,
 * candidates, relays, relays_presence) from any JSON. Besides "no crash": what is accepted
 * holds only short, printable ids and credentials. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "portal-gateway.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_token(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s <= 0x20 || (unsigned char) *s >= 0x7f)
                        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        json_tokener *tok = json_tokener_new_ex(16);
        json_object *o;
        FzdAuthorization a;
        FzdRelay relays[FZD_PORTAL_MAX_RELAYS];
        const char *cands[FZD_PORTAL_MAX_CANDIDATES], *gone[FZD_PORTAL_MAX_RELAYS], *id, *reason;
        char err[200];
        size_t n, nd;

        if (!tok)
                return 0;
        o = json_tokener_parse_ex(tok, (const char *) data, (int) (size > 1 << 20 ? 1 << 20 : size));
        json_tokener_free(tok);
        if (!o)
                return 0;
        if (fzd_portal_authorization_parse(o, &a, err, sizeof err) == 0) {
                check_token(a.resource_id);
                check_token(a.gateway_id);
                check_token(a.client_ice.password);
        }
        (void) fzd_portal_authorization_failed_parse(o, &id, &reason);
        if (fzd_portal_candidates_parse(o, &id, cands, FZD_PORTAL_MAX_CANDIDATES, &n) == 0 && n > FZD_PORTAL_MAX_CANDIDATES)
                abort();
        n = fzd_portal_relays_parse(o, relays, FZD_PORTAL_MAX_RELAYS, NULL);
        for (size_t i = 0; i < n; i++)
                check_token(relays[i].username);
        (void) fzd_portal_relays_presence_parse(o, relays, FZD_PORTAL_MAX_RELAYS, &n, gone, FZD_PORTAL_MAX_RELAYS, &nd,
                                                NULL);
        json_object_put(o);
        return 0;
}
