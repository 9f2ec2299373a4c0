/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>

/* Reconnect delays as Firezone's clients use them: start at 0.5 s, ×1.5 per failure, at
 * most 60 s, each delay randomised by ±50 % so that clients do not reconnect in lockstep
 * after a portal restart. */
#define FZD_BACKOFF_INITIAL_USEC (500ULL * 1000ULL)
#define FZD_BACKOFF_MAX_USEC     (60ULL * 1000ULL * 1000ULL)
/* A Retry-After longer than this is treated as this (a broken header must not park us for days). */
#define FZD_RETRY_AFTER_MAX_USEC (3600ULL * 1000ULL * 1000ULL)
/* ... and one shorter than this, or than the backoff's next delay, as that: a portal that
 * answers 429/503 with "Retry-After: 0" must not get a reconnect loop without pause. */
#define FZD_RETRY_AFTER_MIN_USEC (1000ULL * 1000ULL)

typedef struct FzdBackoff {
        uint64_t interval_usec; /* 0 = not started */
        unsigned attempts;
} FzdBackoff;

void fzd_backoff_reset(FzdBackoff *b);
/* The next delay. random is any 64-bit random value (tests pass fixed ones). */
uint64_t fzd_backoff_next(FzdBackoff *b, uint64_t random);

/* Retry-After: delta-seconds or an IMF-fixdate ("Wed, 21 Oct 2015 07:28:00 GMT").
 * now_realtime_usec is CLOCK_REALTIME. Returns 0 and the delay (capped), or -EINVAL. */
int fzd_retry_after_parse(const char *value, uint64_t now_realtime_usec, uint64_t *ret_usec);
