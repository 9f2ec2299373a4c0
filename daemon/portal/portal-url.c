/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "portal-url.h"

int fzd_percent_encode(const char *s, char **ret) {
        static const char hex[] = "0123456789ABCDEF";
        size_t len = strlen(s);
        char *out, *o;

        if (len > 4096)
                return -EINVAL;
        out = malloc(len * 3 + 1);
        if (!out)
                return -ENOMEM;
        o = out;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
                    *p == '.' || *p == '_' || *p == '~')
                        *o++ = (char) *p;
                else {
                        *o++ = '%';
                        *o++ = hex[*p >> 4];
                        *o++ = hex[*p & 15];
                }
        }
        *o = 0;
        *ret = out;
        return 0;
}

int fzd_portal_url_request_target(const FzdUrl *u, const char *external_id, const char *name,
                                  const char *public_key_b64, char **ret) {
        _cleanup_(freep) char *e_id = NULL, *e_name = NULL, *e_key = NULL;
        int r;

        r = fzd_percent_encode(external_id, &e_id);
        if (r < 0)
                return r;
        r = fzd_percent_encode(name, &e_name);
        if (r < 0)
                return r;
        r = fzd_percent_encode(public_key_b64, &e_key);
        if (r < 0)
                return r;
        if (asprintf(ret, "%sclient/v2/websocket?external_id=%s&name=%s&public_key=%s", u->base_path, e_id, e_name,
                     e_key) < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}
