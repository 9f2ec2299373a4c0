/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "macro.h"
#include "phoenix.h"

static bool identifier_ok(const char *s) {
        if (isempty(s))
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == ':'))
                        return false;
        return true;
}

int fzd_phoenix_encode(const char *topic, const char *event, const char *payload_json, uint64_t ref, char **ret) {
        if (!identifier_ok(topic) || !identifier_ok(event) || isempty(payload_json))
                return -EINVAL;
        /* The reference client sends refs as numbers; the portal echoes them as it got them. */
        if (asprintf(ret, "{\"topic\":\"%s\",\"event\":\"%s\",\"payload\":%s,\"ref\":%" PRIu64 "}", topic, event,
                     payload_json, ref) < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}
