/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Asynchronous host resolution with the system resolver (getaddrinfo: /etc/hosts, NSS,
 * resolv.conf), run in a short-lived thread so the event loop never blocks. The thread
 * reports through an eventfd; cancelling drops our interest and the thread cleans up after
 * itself when getaddrinfo() returns. */

#include <netinet/in.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "macro.h"

#define FZD_RESOLVE_MAX_ADDRESSES 16

typedef struct FzdResolve FzdResolve;

/* error: 0, or a negative errno-style code; gai_error: the EAI_* code (0 if none). */
typedef void (*fzd_resolve_callback_t)(void *userdata, int error, int gai_error, const struct sockaddr_storage *addrs,
                                       const socklen_t *addr_lens, size_t n);

int fzd_resolve_start(sd_event *event, const char *host, unsigned port, fzd_resolve_callback_t callback,
                      void *userdata, FzdResolve **ret);
/* Cancels (no callback) and frees. */
FzdResolve *fzd_resolve_cancel(FzdResolve *r);
DEFINE_POINTER_CLEANUP_FUNC(FzdResolve, fzd_resolve_cancel);
