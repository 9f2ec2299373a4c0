/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: everything the portal can make us parse — a Phoenix frame, then each payload
 * parser on its payload — and the HTTP upgrade answer. Besides "no crash": what is accepted
 * holds only what the rest of the daemon may rely on (ids of printable ASCII, display text
 * that is UTF-8 without control characters, filters that make sense). Run it longer by hand
 * with the dictionary: build-fuzz/tests/fuzz/fuzz-portal-message -dict=tests/fuzz/portal.dict CORPUS */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "big-alloc.h"
#include "http-upgrade.h"
#include "portal-json.h"
#include "text.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_id(const char *s) {
        if (!s || !*s || strlen(s) > FZD_PORTAL_MAX_ID)
                abort();
        for (; *s; s++)
                if ((unsigned char) *s <= 0x20 || (unsigned char) *s >= 0x7f)
                        abort();
}

static void check_text(const char *s) {
        if (s && (!fzd_utf8_is_valid(s, strlen(s)) || !fzd_text_is_clean(s)))
                abort();
}

static void check_resource(const FzdResource *r) {
        check_id(r->id);
        if ((unsigned) r->type >= _FZD_RESOURCE_TYPE_MAX || (unsigned) r->ip_stack >= _FZD_RESOURCE_IP_STACK_MAX)
                abort();
        check_text(r->name);
        check_text(r->description);
        if (r->n_sites > FZD_PORTAL_MAX_SITES || r->n_filters > FZD_RESOURCE_MAX_FILTERS)
                abort();
        for (size_t i = 0; i < r->n_sites; i++) {
                check_id(r->sites[i].id);
                check_text(r->sites[i].name);
        }
        for (size_t i = 0; i < r->n_filters; i++) {
                const FzdResourceFilter *f = &r->filters[i];
                if ((f->protocol != 1 && f->protocol != 6 && f->protocol != 17) || f->port_start > f->port_end)
                        abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FzdPortalFrame f;
        FzdHttpResponse resp;
        const char *why = NULL;
        char err[200];

        (void) fzd_http_response_parse((const char *) data, size, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", &resp);

        /* Read in place (the engine's way for large frames) when the last byte is odd, else
         * copied: both ways see the same inputs. */
        if (size > 0 && (data[size - 1] & 1)) {
                char *owned = fzd_big_alloc(size);
                if (!owned)
                        abort();
                memcpy(owned, data, size);
                if (fzd_portal_frame_parse_owned(owned, size, &f, &why) < 0)
                        return 0; /* freed already */
        } else if (fzd_portal_frame_parse((const char *) data, size, &f, &why) < 0)
                return 0;
        check_text(f.topic);
        check_text(f.event);
        if (f.payload) {
                FzdPortalSkips skips = FZD_PORTAL_SKIPS("fuzz");
                FzdPortalElement e = { .what = "resource", .index = FZD_PORTAL_NO_INDEX };
                FzdInterfaceConfig c;
                FzdResource **rs = NULL, *r = NULL;
                size_t n = 0;
                const char *s = NULL;
                bool ok;

                if (fzd_portal_init_parse(f.payload, &skips, &c, &rs, &n, err, sizeof(err)) == 0) {
                        if (n > FZD_PORTAL_MAX_RESOURCES || (!c.has_ipv4 && !c.has_ipv6))
                                abort();
                        for (size_t i = 0; i < n; i++)
                                check_resource(rs[i]);
                        fzd_resources_free(rs, n);
                }
                (void) fzd_portal_config_changed_parse(f.payload, &skips, &c, err, sizeof(err));
                if (fzd_portal_interface_parse(f.payload, &skips, &c, err, sizeof(err)) == 0 &&
                    c.n_upstream_dns > FZD_MAX_UPSTREAM_DNS)
                        abort();
                /* Whatever the result, *r (a resource or a skeleton) is ours. */
                if (fzd_portal_resource_parse(f.payload, &skips, &e, &r) == 0)
                        check_resource(r);
                else if (r)
                        check_id(r->id);
                fzd_resource_free(r);
                if (fzd_portal_resource_deleted_parse(f.payload, &s, err, sizeof(err)) == 0)
                        check_id(s);
                if (fzd_portal_reply_parse(f.payload, &ok, &s) == 0 && !ok)
                        check_text(s);
                (void) fzd_portal_disconnect_reason(f.payload, &s);
                fzd_portal_skips_done(&skips);
        }
        fzd_portal_frame_done(&f);
        return 0;
}
