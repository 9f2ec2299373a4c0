/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A small rtnetlink transport on libmnl: batched requests (many in one sendmsg, split when
 * a send is full, errors mapped back to the request that caused them), dumps that restart
 * when the kernel marks them interrupted, and one-off requests with a reply.
 *
 * Messages are built in place in a batch (fzd_nl_batch_put) with libmnl's bounds-checked
 * *_check puts; every request has at least FZD_NL_REQUEST_MAX bytes of room. */

#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define FZD_NL_REQUEST_MAX 1024U

/* Room for one request built outside a batch (dump requests, calls). */
typedef union FzdNlBuffer {
        struct nlmsghdr hdr;
        uint8_t data[FZD_NL_REQUEST_MAX];
} FzdNlBuffer;

typedef struct FzdNetlink FzdNetlink;
typedef struct FzdNlBatch FzdNlBatch;

/* Errors a request may end with that still mean "done". */
typedef enum FzdNlIgnore {
        FZD_NL_IGNORE_NONE = 0,
        FZD_NL_IGNORE_EXIST = 1 << 0,   /* EEXIST: already there */
        FZD_NL_IGNORE_MISSING = 1 << 1, /* ENOENT, ESRCH, ENODEV, EADDRNOTAVAIL: already gone */
} FzdNlIgnore;

typedef struct FzdNetlinkStats {
        uint64_t requests; /* request messages sent (batched or not) */
        uint64_t sends;    /* sendmsg calls */
        uint64_t dumps;    /* dump requests (each restart counts) */
} FzdNetlinkStats;

int fzd_netlink_open(FzdNetlink **ret);
FzdNetlink *fzd_netlink_free(FzdNetlink *nl);
DEFINE_POINTER_CLEANUP_FUNC(FzdNetlink, fzd_netlink_free);
void fzd_netlink_get_stats(const FzdNetlink *nl, FzdNetlinkStats *ret);

/* Requests per sendmsg; at most this many error replies can be queued at once, so the
 * socket's receive buffer is sized for it. Exposed for tests and the benchmark. */
void fzd_netlink_set_max_per_send(FzdNetlink *nl, size_t n);

int fzd_nl_batch_new(FzdNlBatch **ret);
FzdNlBatch *fzd_nl_batch_free(FzdNlBatch *b);
DEFINE_POINTER_CLEANUP_FUNC(FzdNlBatch, fzd_nl_batch_free);
void fzd_nl_batch_reset(FzdNlBatch *b);
size_t fzd_nl_batch_count(const FzdNlBatch *b);

/* Appends a request header (NLM_F_REQUEST | flags) and returns it; the caller adds the
 * family header and attributes with a buffer length of FZD_NL_REQUEST_MAX. NULL on OOM or
 * when the batch is at its size limit. */
struct nlmsghdr *fzd_nl_batch_put(FzdNlBatch *b, uint16_t type, uint16_t flags, FzdNlIgnore ignore);
/* Drops the last request (a builder that failed half-way). */
void fzd_nl_batch_drop_last(FzdNlBatch *b);
/* Drops every request from index n on (e.g. what a restarted dump had queued). */
void fzd_nl_batch_truncate(FzdNlBatch *b, size_t n);
/* Appends a copy of a complete message (e.g. one from a dump, re-sent as a delete). */
int fzd_nl_batch_put_copy(FzdNlBatch *b, const struct nlmsghdr *src, uint16_t type, uint16_t flags,
                          FzdNlIgnore ignore);
/* Result of request i after commit: 0 or negative errno (ignored errors read as 0). */
int fzd_nl_batch_result(const FzdNlBatch *b, size_t i);
const struct nlmsghdr *fzd_nl_batch_request(const FzdNlBatch *b, size_t i);

/* Sends every request of the batch and waits until the kernel has handled all of them.
 * Each failed request is logged with what it was ("Failed to add route 10.0.0.0/8 to
 * table 7946: File exists"). Returns 0 if all succeeded, else the first error. */
int fzd_netlink_commit(FzdNetlink *nl, FzdNlBatch *b);

/* Called for each message of a dump or reply. With nlh == NULL: the dump was interrupted
 * and restarts; forget what was collected. Return < 0 to abort. */
typedef int (*FzdNlHandler)(const struct nlmsghdr *nlh, void *userdata);

/* Runs a dump: req is a complete request (header + family header + filter attributes);
 * its flags and sequence number are set here. */
int fzd_netlink_dump(FzdNetlink *nl, struct nlmsghdr *req, FzdNlHandler handler, void *userdata);
/* One request that may produce reply messages (e.g. RTM_GETLINK by name); returns the
 * kernel's answer (0 or negative errno). */
int fzd_netlink_call(FzdNetlink *nl, struct nlmsghdr *req, FzdNlHandler handler, void *userdata);

/* Message iteration over a received buffer. libmnl's mnl_nlmsg_ok() compares the length
 * as a signed int, so a (malformed) length above INT_MAX would pass it; these do not. */
static inline bool fzd_nl_msg_ok(const struct nlmsghdr *nlh, size_t len) {
        return len >= sizeof *nlh && nlh->nlmsg_len >= sizeof *nlh && nlh->nlmsg_len <= len;
}

static inline const struct nlmsghdr *fzd_nl_msg_next(const struct nlmsghdr *nlh, size_t *len) {
        size_t step = NLMSG_ALIGN(nlh->nlmsg_len);

        if (step > *len) /* an unpadded last message */
                step = *len;
        *len -= step;
        return (const struct nlmsghdr *) ((const uint8_t *) nlh + step);
}

/* Walks the attributes of a message payload after a family header of hdrlen bytes and
 * stores the last attribute of each type <= max in tb[type] (tb has max + 1 slots).
 * Returns -EBADMSG on a truncated payload or attribute. Types are not validated here:
 * each reader calls mnl_attr_validate() before reading. */
int fzd_nl_parse_attrs(const struct nlmsghdr *nlh, size_t hdrlen, const struct nlattr **tb, uint16_t max);
int fzd_nl_parse_nested(const struct nlattr *nest, const struct nlattr **tb, uint16_t max);
