/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* getaddrinfo() off the main loop: a few threads take names from a bounded queue, and the
 * answers come back on the sd-event loop through an eventfd, so a slow resolver never holds
 * up packets, ICE or the controller's orders. */

#include <stdint.h>
#include <systemd/sd-event.h>

#include "gw-packet.h"

#define FZGW_RESOLVE_MAX_ADDRS 16 /* per family */
#define FZGW_RESOLVE_QUEUE     256
#define FZGW_RESOLVE_NAME_MAX  253

typedef struct FzgwResolution {
        uint64_t tag; /* the caller's, from fzgw_resolver_submit() */
        char name[FZGW_RESOLVE_NAME_MAX + 1];
        FzgwIp v4[FZGW_RESOLVE_MAX_ADDRS], v6[FZGW_RESOLVE_MAX_ADDRS];
        size_t n_v4, n_v6; /* in the resolver's order, duplicates dropped */
        int error;         /* 0, or getaddrinfo()'s EAI_* code */
} FzgwResolution;

typedef struct FzgwResolver FzgwResolver;
typedef void (*FzgwResolvedFn)(void *userdata, const FzgwResolution *r);

int fzgw_resolver_new(sd_event *event, unsigned threads, FzgwResolvedFn fn, void *userdata,
                      FzgwResolver **ret);
/* Waits for lookups in progress (getaddrinfo() cannot be cancelled), drops queued ones. */
FzgwResolver *fzgw_resolver_free(FzgwResolver *r);
/* Queues a lookup. -EBUSY when the queue is full, -EINVAL for an overlong name. */
int fzgw_resolver_submit(FzgwResolver *r, uint64_t tag, const char *name);
