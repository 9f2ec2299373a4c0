/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "ice-common.h"

typedef struct QueuedTransmit {
        FzdIceTransmit t;
        uint8_t bytes[];
} QueuedTransmit;

int fzd_ice_transmit_queue(FzdQueue *q, const FzdAddr *source, const FzdAddr *dest, uint16_t channel,
                           const uint8_t *data, size_t len) {
        QueuedTransmit *qt = fzd_queue_push(q, sizeof(QueuedTransmit) + len);

        if (!qt)
                return -ENOBUFS;
        qt->t.source = *source;
        qt->t.dest = *dest;
        qt->t.channel = channel;
        qt->t.len = len;
        memcpy(qt->bytes, data, len);
        return 0;
}

bool fzd_ice_transmit_pop(FzdQueue *q, FzdIceTransmit *ret) {
        QueuedTransmit *qt = fzd_queue_pop(q);

        if (!qt)
                return false;
        *ret = qt->t;
        ret->data = qt->bytes;
        return true;
}

static void vlog(FzdIceLog *l, int level, const char *format, va_list ap) _printf_(3, 0);

static void vlog(FzdIceLog *l, int level, const char *format, va_list ap) {
        char buf[512];

        vsnprintf(buf, sizeof(buf), format, ap);
        l->func(l->userdata, level, buf);
}

void fzd_ice_log(FzdIceLog *l, int level, const char *format, ...) {
        va_list ap;

        if (!l || !l->func)
                return;
        va_start(ap, format);
        vlog(l, level, format, ap);
        va_end(ap);
}

void fzd_ice_log_packet(FzdIceLog *l, uint64_t now, int level, const char *format, ...) {
        va_list ap;

        if (!l || !l->func)
                return;
        if (now >= l->window_start + FZD_ICE_LOG_WINDOW_USEC || now < l->window_start) {
                if (l->suppressed > 0)
                        fzd_ice_log(l, LOG_INFO, "%u more messages about ICE and TURN packets suppressed",
                                    l->suppressed);
                l->window_start = now;
                l->in_window = 0;
                l->suppressed = 0;
        }
        if (l->in_window >= (l->burst ? l->burst : FZD_ICE_LOG_BURST)) {
                l->suppressed++;
                return;
        }
        l->in_window++;
        va_start(ap, format);
        vlog(l, level, format, ap);
        va_end(ap);
}

uint64_t fzd_ice_unix_to_monotonic(uint64_t unix_sec, uint64_t now_monotonic_usec,
                                   uint64_t now_realtime_usec) {
        uint64_t at;

        if (unix_sec > UINT64_MAX / 1000000ULL)
                return UINT64_MAX;
        at = unix_sec * 1000000ULL;
        if (at <= now_realtime_usec)
                return now_monotonic_usec;
        if (at - now_realtime_usec > UINT64_MAX - now_monotonic_usec)
                return UINT64_MAX;
        return now_monotonic_usec + (at - now_realtime_usec);
}
