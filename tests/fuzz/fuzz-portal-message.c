/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: everything the portal can make us parse — a Phoenix frame, then each payload
 * parser on its payload — and the HTTP upgrade answer. Run it longer by hand with the
 * dictionary: build-fuzz/tests/fuzz/fuzz-portal-message -dict=tests/fuzz/portal.dict CORPUS */
#include <stddef.h>
#include <stdint.h>

#include "http-upgrade.h"
#include "portal-json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FzdPortalFrame f;
        FzdHttpResponse resp;
        const char *why = NULL;
        char err[200];

        (void) fzd_http_response_parse((const char *) data, size, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", &resp);

        if (fzd_portal_frame_parse((const char *) data, size, &f, &why) < 0)
                return 0;
        if (f.payload) {
                FzdInterfaceConfig c;
                FzdResource **rs = NULL, *r = NULL;
                size_t n = 0;
                const char *s = NULL;
                bool ok;

                if (fzd_portal_init_parse(f.payload, &c, &rs, &n, err, sizeof(err)) == 0)
                        fzd_resources_free(rs, n);
                (void) fzd_portal_config_changed_parse(f.payload, &c, err, sizeof(err));
                (void) fzd_portal_interface_parse(f.payload, &c, err, sizeof(err));
                /* On success and on -EDOM (an unusable resource: its id only) r is ours. */
                (void) fzd_portal_resource_parse(f.payload, &r, err, sizeof(err));
                fzd_resource_free(r);
                (void) fzd_portal_resource_deleted_parse(f.payload, &s, err, sizeof(err));
                (void) fzd_portal_reply_parse(f.payload, &ok, &s);
                (void) fzd_portal_disconnect_reason(f.payload, &s);
        }
        fzd_portal_frame_done(&f);
        return 0;
}
