/* SPDX-License-Identifier: Apache-2.0 */
/* The GUI's deep-link parser (firezone-fd0020211111://…): the link comes from whatever
 * launched the handler, so anything may arrive. Parse, then check against a request. */
#include <stdint.h>
#include <string.h>

#include "fz-sign-in.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static FzSignInRequest *req;
        g_autofree gchar *uri = g_strndup((const gchar *)data, size);
        FzSignInCallback cb;

        if (req == NULL)
                req = fz_sign_in_request_new(NULL);
        (void)fz_sign_in_is_callback_uri(uri);
        if (fz_sign_in_callback_parse(uri, &cb, NULL)) {
                g_autofree gchar *token = NULL;

                /* What the parser promised. */
                if (strlen(cb.fragment) == 0 || strlen(cb.fragment) > FZ_SIGN_IN_MAX_FRAGMENT_LEN ||
                    !g_utf8_validate(cb.actor_name, -1, NULL) || !fz_sign_in_slug_is_valid(cb.account_slug))
                        __builtin_trap();
                (void)fz_sign_in_callback_check(req, &cb, NULL);
                token = fz_sign_in_make_token(req, &cb);
                if (strlen(token) != FZ_SIGN_IN_SECRET_HEX_LEN + strlen(cb.fragment))
                        __builtin_trap();
                fz_sign_in_token_free(g_steal_pointer(&token));
                fz_sign_in_callback_clear(&cb);
        }
        return 0;
}
