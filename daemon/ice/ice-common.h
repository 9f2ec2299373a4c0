/* SPDX-License-Identifier: Apache-2.0 */
/* What the STUN/TURN/ICE pieces share: the outgoing datagram, and a logging hook that the
 * caller connects to its logger (the sans-IO code never writes anywhere itself). */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "macro.h"
#include "queue.h"

/* One datagram to send. */
typedef struct FzdIceTransmit {
        FzdAddr source;   /* send from this address: the family picks the socket; an IP, if not
                           * unspecified, is the source address to set (IP_PKTINFO) */
        FzdAddr dest;     /* to this address (for relayed traffic: the relay) */
        uint16_t channel; /* non-zero: data is a ChannelData message on this TURN channel */
        const uint8_t *data;
        size_t len;
} FzdIceTransmit;

/* Copies data into a queued transmit. 0, or -ENOBUFS when the queue is full. */
int fzd_ice_transmit_queue(FzdQueue *q, const FzdAddr *source, const FzdAddr *dest, uint16_t channel,
                           const uint8_t *data, size_t len);
/* The next queued transmit (valid until the next pop on q), or false. */
bool fzd_ice_transmit_pop(FzdQueue *q, FzdIceTransmit *ret);

typedef void (*FzdIceLogFunc)(void *userdata, int level, const char *message);

/* Log levels are syslog's (LOG_ERR … LOG_DEBUG). Per-packet messages (drops of bad input) go
 * through fzd_ice_log_packet(): at most FZD_ICE_LOG_BURST per FZD_ICE_LOG_WINDOW_USEC, then one
 * line saying how many were suppressed. */
#define FZD_ICE_LOG_BURST       10
#define FZD_ICE_LOG_WINDOW_USEC (5ULL * 1000000ULL)

typedef struct FzdIceLog {
        FzdIceLogFunc func;
        void *userdata;
        uint64_t window_start;
        unsigned in_window;
        unsigned suppressed;
        unsigned burst; /* per window; 0: FZD_ICE_LOG_BURST */
} FzdIceLog;

void fzd_ice_log(FzdIceLog *l, int level, const char *format, ...) _printf_(3, 4);
void fzd_ice_log_packet(FzdIceLog *l, uint64_t now, int level, const char *format, ...) _printf_(4, 5);

/* Monotonic µs for a Unix time in seconds (e.g. a relay's expires_at), given the two clocks now. */
uint64_t fzd_ice_unix_to_monotonic(uint64_t unix_sec, uint64_t now_monotonic_usec,
                                   uint64_t now_realtime_usec);

#define FZD_USEC(ms) ((uint64_t)(ms)*1000ULL)
#define FZD_SEC(s)   ((uint64_t)(s)*1000000ULL)
