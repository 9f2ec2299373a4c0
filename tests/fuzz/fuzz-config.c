/* SPDX-License-Identifier: Apache-2.0 */
/* /etc/dev.firezone.client/config (key = value lines) and the portal URL check. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "options.h"
#include "url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = malloc(size + 1);
        const char *reason;
        FzdOptions o;

        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = 0;
        fzd_log_set_max_level(-1); /* quiet */
        fzd_options_init(&o);
        (void) fzd_options_parse_config(&o, text, "fuzz");
        if (o.api_url && fzd_api_url_check(o.api_url, &reason) < 0)
                abort(); /* the parser must only keep URLs that pass the check */
        fzd_options_done(&o);
        (void) fzd_api_url_check(text, &reason);
        free(text);
        return 0;
}
