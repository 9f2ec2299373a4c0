/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backoff.h"

void fzd_backoff_reset(FzdBackoff *b) {
        *b = (FzdBackoff){};
}

uint64_t fzd_backoff_next(FzdBackoff *b, uint64_t random) {
        uint64_t base, delay;
        /* factor in [0.5, 1.5) in 1/65536 steps */
        uint64_t factor = 32768 + (random % 65536);

        if (b->interval_usec == 0)
                b->interval_usec = FZD_BACKOFF_INITIAL_USEC;
        base = b->interval_usec;
        delay = base / 65536 * factor + (base % 65536) * factor / 65536;
        if (delay > FZD_BACKOFF_MAX_USEC)
                delay = FZD_BACKOFF_MAX_USEC;

        b->interval_usec = base + base / 2;
        if (b->interval_usec > FZD_BACKOFF_MAX_USEC)
                b->interval_usec = FZD_BACKOFF_MAX_USEC;
        b->attempts++;
        return delay;
}

int fzd_retry_after_parse(const char *value, uint64_t now_realtime_usec, uint64_t *ret_usec) {
        const char *p = value;
        uint64_t usec;

        if (!value)
                return -EINVAL;
        while (*p == ' ' || *p == '\t')
                p++;
        if (*p >= '0' && *p <= '9') {
                uint64_t seconds = 0;
                for (; *p >= '0' && *p <= '9'; p++) {
                        seconds = seconds * 10 + (uint64_t) (*p - '0');
                        if (seconds > FZD_RETRY_AFTER_MAX_USEC / 1000000ULL)
                                seconds = FZD_RETRY_AFTER_MAX_USEC / 1000000ULL + 1;
                }
                while (*p == ' ' || *p == '\t')
                        p++;
                if (*p)
                        return -EINVAL;
                usec = seconds * 1000000ULL;
        } else {
                struct tm tm = {};
                const char *end = strptime(p, "%a, %d %b %Y %H:%M:%S GMT", &tm);
                time_t t;

                if (!end || *end)
                        return -EINVAL;
                t = timegm(&tm);
                if (t == (time_t) -1)
                        return -EINVAL;
                if (t < 0 || (uint64_t) t * 1000000ULL <= now_realtime_usec)
                        usec = 0;
                else
                        usec = (uint64_t) t * 1000000ULL - now_realtime_usec;
        }
        if (usec > FZD_RETRY_AFTER_MAX_USEC)
                usec = FZD_RETRY_AFTER_MAX_USEC;
        *ret_usec = usec;
        return 0;
}
