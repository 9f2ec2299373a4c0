/* SPDX-License-Identifier: Apache-2.0 */
/* rtnetlink transport: batched requests with per-request error mapping, dumps, calls.
 *
 * Batching: a commit sends up to max_per_send requests per sendmsg. Only the last
 * request of each send carries NLM_F_ACK: the kernel acknowledges every request that
 * fails whether or not it asked (NLM_F_ACK only adds acks for successes), and handles a
 * send's requests in order, so the last request's ack means the whole send is done and
 * every error before it is already queued. That keeps the replies to read per send at
 * "one plus the failures", and bounds what can pile up in our receive buffer to
 * max_per_send error replies, which is what the buffer is sized for. */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "log.h"
#include "netlink.h"
#include "rtnl.h"

#define SEND_MAX_BYTES    (64U * 1024U)  /* per sendmsg; well under the default wmem */
#define RECV_BUFFER_SIZE  (64U * 1024U)  /* ≥ the largest dump skb the kernel builds for us */
#define RCVBUF_WANTED     (4 * 1024 * 1024)
#define ERROR_REPLY_COST  2048U          /* generous truesize of one queued error reply */
#define MAX_PER_SEND      1024U
#define MIN_PER_SEND      16U
#define DUMP_RESTARTS_MAX 8
#define BATCH_REQUESTS_MAX (1U << 20)
#define FAILURES_LOGGED_MAX 16
#define REPLY_TIMEOUT_SEC 30

struct FzdNetlink {
        struct mnl_socket *sock;
        uint32_t portid;
        uint32_t seq;
        size_t max_per_send;
        uint8_t *rbuf;
        FzdNetlinkStats stats;
};

typedef struct Request {
        uint32_t offset;
        uint8_t ignore;
        int error;
} Request;

struct FzdNlBatch {
        uint8_t *buf;
        size_t alloc;
        Request *reqs;
        size_t n, n_alloc;
};

int fzd_netlink_open(FzdNetlink **ret) {
        _cleanup_(fzd_netlink_freep) FzdNetlink *nl = NULL;
        struct timeval tv = { .tv_sec = REPLY_TIMEOUT_SEC };
        int one = 1, rcvbuf = RCVBUF_WANTED, fd;
        socklen_t len = sizeof rcvbuf;

        nl = calloc(1, sizeof *nl);
        if (!nl)
                return -ENOMEM;
        nl->rbuf = malloc(RECV_BUFFER_SIZE);
        if (!nl->rbuf)
                return -ENOMEM;

        nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        if (!nl->sock)
                return log_error_errno(errno, "Failed to open an rtnetlink socket: %m");
        if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0)
                return log_error_errno(errno, "Failed to bind the rtnetlink socket: %m");
        nl->portid = mnl_socket_get_portid(nl->sock);
        fd = mnl_socket_get_fd(nl->sock);

        /* Error replies carry the kernel's reason (extended ack) but not a copy of our
         * request (capped ack): we describe failures from our own copy. */
        (void) mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof one);
        (void) mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof one);
        /* Lets the kernel filter dumps by the fields of our request (e.g. the table). */
        (void) mnl_socket_setsockopt(nl->sock, NETLINK_GET_STRICT_CHK, &one, sizeof one);
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
                (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len) < 0 || rcvbuf <= 0)
                rcvbuf = 0;
        /* A kernel that never answers must not hang the daemon. */
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

        nl->max_per_send = (size_t) rcvbuf / ERROR_REPLY_COST;
        if (nl->max_per_send > MAX_PER_SEND)
                nl->max_per_send = MAX_PER_SEND;
        if (nl->max_per_send < MIN_PER_SEND)
                nl->max_per_send = MIN_PER_SEND;
        nl->seq = (uint32_t) time(NULL);

        *ret = TAKE_PTR(nl);
        return 0;
}

FzdNetlink *fzd_netlink_free(FzdNetlink *nl) {
        if (!nl)
                return NULL;
        if (nl->sock)
                mnl_socket_close(nl->sock);
        free(nl->rbuf);
        return mfree(nl);
}

void fzd_netlink_get_stats(const FzdNetlink *nl, FzdNetlinkStats *ret) {
        *ret = nl->stats;
}

void fzd_netlink_set_max_per_send(FzdNetlink *nl, size_t n) {
        nl->max_per_send = n < 1 ? 1 : n > MAX_PER_SEND ? MAX_PER_SEND : n;
}

/* ---- batches ------------------------------------------------------------------------- */

int fzd_nl_batch_new(FzdNlBatch **ret) {
        FzdNlBatch *b = calloc(1, sizeof *b);

        if (!b)
                return -ENOMEM;
        *ret = b;
        return 0;
}

FzdNlBatch *fzd_nl_batch_free(FzdNlBatch *b) {
        if (!b)
                return NULL;
        free(b->buf);
        free(b->reqs);
        return mfree(b);
}

void fzd_nl_batch_reset(FzdNlBatch *b) {
        b->n = 0;
}

size_t fzd_nl_batch_count(const FzdNlBatch *b) {
        return b->n;
}

static struct nlmsghdr *request_at(const FzdNlBatch *b, size_t i) {
        return (struct nlmsghdr *) (b->buf + b->reqs[i].offset);
}

/* Where the next request starts. A request's length is final once the next one is put. */
static size_t batch_end(const FzdNlBatch *b) {
        const struct nlmsghdr *last;

        if (b->n == 0)
                return 0;
        last = request_at(b, b->n - 1);
        return b->reqs[b->n - 1].offset + NLMSG_ALIGN(last->nlmsg_len);
}

struct nlmsghdr *fzd_nl_batch_put(FzdNlBatch *b, uint16_t type, uint16_t flags, FzdNlIgnore ignore) {
        struct nlmsghdr *nlh;
        size_t off = batch_end(b);

        if (b->n >= BATCH_REQUESTS_MAX)
                return NULL;
        if (b->n > 0 && request_at(b, b->n - 1)->nlmsg_len > FZD_NL_REQUEST_MAX)
                return NULL; /* a builder overran its room: refuse to go on */

        if (off + FZD_NL_REQUEST_MAX > b->alloc) {
                size_t a = b->alloc ? b->alloc * 2 : 16 * 1024;
                uint8_t *p;

                while (a < off + FZD_NL_REQUEST_MAX)
                        a *= 2;
                p = realloc(b->buf, a);
                if (!p)
                        return NULL;
                /* libmnl (1.0.4) leaves attribute padding as it finds it: never send
                 * uninitialised bytes to the kernel. */
                memset(p + b->alloc, 0, a - b->alloc);
                b->buf = p;
                b->alloc = a;
        }
        if (b->n == b->n_alloc) {
                size_t a = b->n_alloc ? b->n_alloc * 2 : 64;
                Request *r = reallocarray(b->reqs, a, sizeof *r);

                if (!r)
                        return NULL;
                b->reqs = r;
                b->n_alloc = a;
        }
        if (off > UINT32_MAX)
                return NULL;

        nlh = mnl_nlmsg_put_header(b->buf + off);
        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = NLM_F_REQUEST | flags;
        b->reqs[b->n++] = (Request) { .offset = (uint32_t) off, .ignore = (uint8_t) ignore };
        return nlh;
}

void fzd_nl_batch_drop_last(FzdNlBatch *b) {
        if (b->n > 0)
                b->n--;
}

void fzd_nl_batch_truncate(FzdNlBatch *b, size_t n) {
        if (n < b->n)
                b->n = n;
}

int fzd_nl_batch_put_copy(FzdNlBatch *b, const struct nlmsghdr *src, uint16_t type, uint16_t flags,
                          FzdNlIgnore ignore) {
        struct nlmsghdr *nlh;

        if (src->nlmsg_len < NLMSG_HDRLEN || src->nlmsg_len > FZD_NL_REQUEST_MAX)
                return -E2BIG;
        nlh = fzd_nl_batch_put(b, type, flags, ignore);
        if (!nlh)
                return -ENOMEM;
        memcpy((uint8_t *) nlh + NLMSG_HDRLEN, (const uint8_t *) src + NLMSG_HDRLEN, src->nlmsg_len - NLMSG_HDRLEN);
        nlh->nlmsg_len = src->nlmsg_len;
        return 0;
}

int fzd_nl_batch_result(const FzdNlBatch *b, size_t i) {
        return i < b->n ? b->reqs[i].error : -EINVAL;
}

const struct nlmsghdr *fzd_nl_batch_request(const FzdNlBatch *b, size_t i) {
        return i < b->n ? request_at(b, i) : NULL;
}

/* ---- sending and receiving ------------------------------------------------------------- */

static int nl_send(FzdNetlink *nl, const void *buf, size_t len) {
        for (;;) {
                ssize_t n = mnl_socket_sendto(nl->sock, buf, len);

                if (n >= 0) {
                        nl->stats.sends++;
                        return (size_t) n == len ? 0 : -EIO;
                }
                if (errno != EINTR)
                        return -errno;
        }
}

/* One datagram from the kernel into nl->rbuf. */
static ssize_t nl_recv(FzdNetlink *nl) {
        for (;;) {
                struct sockaddr_nl sa = {};
                struct iovec iov = { .iov_base = nl->rbuf, .iov_len = RECV_BUFFER_SIZE };
                struct msghdr msg = { .msg_name = &sa, .msg_namelen = sizeof sa, .msg_iov = &iov, .msg_iovlen = 1 };
                ssize_t n = recvmsg(mnl_socket_get_fd(nl->sock), &msg, 0);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return -ETIMEDOUT;
                        return -errno;
                }
                if (msg.msg_flags & MSG_TRUNC)
                        return -EMSGSIZE;
                if (msg.msg_namelen != sizeof sa || sa.nl_pid != 0)
                        continue; /* not from the kernel */
                return n;
        }
}

static bool ignored(uint8_t ignore, int error) {
        if ((ignore & FZD_NL_IGNORE_EXIST) && error == -EEXIST)
                return true;
        if ((ignore & FZD_NL_IGNORE_MISSING) &&
            (error == -ENOENT || error == -ESRCH || error == -ENODEV || error == -EADDRNOTAVAIL))
                return true;
        return false;
}

static int parse_attr_stream(const uint8_t *p, size_t len, const struct nlattr **tb, uint16_t max) {
        while (len > 0) {
                const struct nlattr *a = (const struct nlattr *) p;
                uint16_t type;
                size_t step;

                if (len < sizeof *a || a->nla_len < sizeof *a || a->nla_len > len)
                        return -EBADMSG;
                type = a->nla_type & NLA_TYPE_MASK;
                if (type <= max)
                        tb[type] = a;
                step = NLA_ALIGN(a->nla_len);
                if (step >= len)
                        break;
                p += step;
                len -= step;
        }
        return 0;
}

int fzd_nl_parse_attrs(const struct nlmsghdr *nlh, size_t hdrlen, const struct nlattr **tb, uint16_t max) {
        size_t payload;

        memset(tb, 0, sizeof *tb * ((size_t) max + 1));
        if (nlh->nlmsg_len < NLMSG_HDRLEN)
                return -EBADMSG;
        payload = nlh->nlmsg_len - NLMSG_HDRLEN;
        if (payload < hdrlen)
                return -EBADMSG;
        hdrlen = NLMSG_ALIGN(hdrlen);
        if (hdrlen >= payload)
                return 0;
        return parse_attr_stream((const uint8_t *) nlh + NLMSG_HDRLEN + hdrlen, payload - hdrlen, tb, max);
}

int fzd_nl_parse_nested(const struct nlattr *nest, const struct nlattr **tb, uint16_t max) {
        memset(tb, 0, sizeof *tb * ((size_t) max + 1));
        if (nest->nla_len < sizeof *nest)
                return -EBADMSG;
        return parse_attr_stream((const uint8_t *) nest + NLA_HDRLEN, nest->nla_len - NLA_HDRLEN, tb, max);
}

/* The kernel's reason from an error reply's extended-ack attributes, if any. */
static const char *extack_message(const struct nlmsghdr *nlh) {
        const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
        const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
        size_t off = sizeof *e;

        if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
                return NULL;
        if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
                if (e->msg.nlmsg_len < NLMSG_HDRLEN)
                        return NULL;
                off += NLMSG_ALIGN(e->msg.nlmsg_len - NLMSG_HDRLEN);
        }
        if (fzd_nl_parse_attrs(nlh, off, tb, NLMSGERR_ATTR_MAX) < 0)
                return NULL;
        if (!tb[NLMSGERR_ATTR_MSG] || mnl_attr_validate(tb[NLMSGERR_ATTR_MSG], MNL_TYPE_NUL_STRING) < 0)
                return NULL;
        return mnl_attr_get_str(tb[NLMSGERR_ATTR_MSG]);
}

/* The error of a NLMSG_ERROR reply (0 for an ack), or -EBADMSG if it is too short. */
static int error_reply(const struct nlmsghdr *nlh, int *ret_error) {
        const struct nlmsgerr *e;

        if (mnl_nlmsg_get_payload_len(nlh) < sizeof *e)
                return -EBADMSG;
        e = mnl_nlmsg_get_payload(nlh);
        if (e->error > 0 || e->error < -4095)
                return -EBADMSG;
        *ret_error = e->error;
        return 0;
}

static void log_failure(const FzdNlBatch *b, size_t i, int error, const char *reason) {
        char what[256];

        fzd_rtnl_describe(request_at(b, i), what, sizeof what);
        if (!isempty(reason))
                log_error_errno(error, "Failed to %s: %m (%s)", what, reason);
        else
                log_error_errno(error, "Failed to %s: %m", what);
}

/* Reads replies to the requests [start, start + count) sent with sequence numbers from
 * first_seq, until the last one's ack. */
static int receive_acks(FzdNetlink *nl, FzdNlBatch *b, size_t start, size_t count, uint32_t first_seq,
                        unsigned *failures) {
        bool overrun = false;

        for (;;) {
                ssize_t n = nl_recv(nl);
                const struct nlmsghdr *nlh = (const struct nlmsghdr *) nl->rbuf;
                size_t len = n > 0 ? (size_t) n : 0;
                bool done = false;

                if (n == -ENOBUFS) {
                        /* Replies were dropped: the last ack may still come, but some
                         * failures may be lost. Report the batch as failed. */
                        overrun = true;
                        continue;
                }
                if (n < 0)
                        return (int) n;

                for (; fzd_nl_msg_ok(nlh, len); nlh = fzd_nl_msg_next(nlh, &len)) {
                        uint32_t k = nlh->nlmsg_seq - first_seq; /* modular: wrap-safe */
                        int error;

                        if (nlh->nlmsg_type != NLMSG_ERROR || k >= count || nlh->nlmsg_pid != nl->portid)
                                continue; /* stale reply of an earlier, aborted exchange */
                        if (error_reply(nlh, &error) < 0)
                                return -EBADMSG;
                        if (error < 0 && !ignored(b->reqs[start + k].ignore, error)) {
                                b->reqs[start + k].error = error;
                                if (++*failures <= FAILURES_LOGGED_MAX)
                                        log_failure(b, start + k, error, extack_message(nlh));
                        }
                        if (k == count - 1)
                                done = true;
                }
                if (done)
                        return overrun ? -ENOBUFS : 0;
        }
}

int fzd_netlink_commit(FzdNetlink *nl, FzdNlBatch *b) {
        unsigned failures = 0;
        int first_error = 0;
        size_t i = 0;

        for (size_t k = 0; k < b->n; k++) {
                uint32_t len = request_at(b, k)->nlmsg_len;
                if (len < NLMSG_HDRLEN || len > FZD_NL_REQUEST_MAX)
                        return log_error_errno(EINVAL, "Refusing to send a malformed netlink request (%u bytes).",
                                               len);
                b->reqs[k].error = 0;
        }

        while (i < b->n) {
                size_t start = i, bytes = 0, count;
                uint32_t first_seq = nl->seq;
                int r;

                while (i < b->n && i - start < nl->max_per_send) {
                        size_t len = NLMSG_ALIGN(request_at(b, i)->nlmsg_len);

                        if (i > start && bytes + len > SEND_MAX_BYTES)
                                break;
                        bytes += len;
                        i++;
                }
                count = i - start;
                for (size_t k = 0; k < count; k++) {
                        struct nlmsghdr *nlh = request_at(b, start + k);

                        nlh->nlmsg_seq = first_seq + (uint32_t) k;
                        nlh->nlmsg_pid = 0;
                        nlh->nlmsg_flags &= (uint16_t) ~NLM_F_ACK;
                        if (k == count - 1)
                                nlh->nlmsg_flags |= NLM_F_ACK;
                }
                nl->seq += (uint32_t) count;

                r = nl_send(nl, request_at(b, start), bytes);
                if (r >= 0) {
                        nl->stats.requests += count;
                        r = receive_acks(nl, b, start, count, first_seq, &failures);
                }
                if (r < 0) {
                        /* Transport failure: what happened to these requests is unknown;
                         * the rest is not sent. */
                        for (size_t k = start; k < b->n; k++)
                                if (b->reqs[k].error == 0)
                                        b->reqs[k].error = k < i ? r : -ECANCELED;
                        return log_error_errno(r, "Failed to exchange %zu rtnetlink requests with the kernel: %m",
                                               count);
                }
        }

        for (size_t k = 0; k < b->n; k++)
                if (b->reqs[k].error < 0) {
                        first_error = b->reqs[k].error;
                        break;
                }
        if (failures > FAILURES_LOGGED_MAX)
                log_error("… and %u more failed rtnetlink requests.", failures - FAILURES_LOGGED_MAX);
        return first_error;
}

/* ---- dumps and calls ------------------------------------------------------------------ */

static int transact(FzdNetlink *nl, struct nlmsghdr *req, bool dump, FzdNlHandler handler, void *userdata) {
        for (unsigned attempt = 0; attempt < DUMP_RESTARTS_MAX; attempt++) {
                uint32_t seq = nl->seq++;
                bool interrupted = false;
                int result = 0, r;

                req->nlmsg_flags = NLM_F_REQUEST | (dump ? NLM_F_DUMP : NLM_F_ACK);
                req->nlmsg_seq = seq;
                req->nlmsg_pid = 0;
                r = nl_send(nl, req, req->nlmsg_len);
                if (r < 0)
                        return r;
                nl->stats.requests++;
                if (dump)
                        nl->stats.dumps++;

                for (bool done = false; !done;) {
                        ssize_t n = nl_recv(nl);
                        const struct nlmsghdr *nlh = (const struct nlmsghdr *) nl->rbuf;
                        size_t len = n > 0 ? (size_t) n : 0;

                        if (n < 0)
                                return (int) n; /* also ENOBUFS: a dump that lost parts is useless */

                        for (; !done && fzd_nl_msg_ok(nlh, len); nlh = fzd_nl_msg_next(nlh, &len)) {
                                if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != nl->portid)
                                        continue;
                                if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
                                        interrupted = true;

                                if (nlh->nlmsg_type == NLMSG_ERROR) {
                                        int error;
                                        if (error_reply(nlh, &error) < 0)
                                                return -EBADMSG;
                                        if (result == 0)
                                                result = error;
                                        done = true;
                                } else if (nlh->nlmsg_type == NLMSG_DONE) {
                                        /* A dump's DONE may carry an error. */
                                        if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
                                                int error;
                                                memcpy(&error, mnl_nlmsg_get_payload(nlh), sizeof error);
                                                if (error < 0 && error >= -4095 && result == 0)
                                                        result = error;
                                        }
                                        done = true;
                                } else if (nlh->nlmsg_type >= NLMSG_MIN_TYPE && !interrupted && result == 0 &&
                                           handler) {
                                        /* Keep reading after a handler error: an unfinished
                                         * dump would make the next one fail with EBUSY. */
                                        r = handler(nlh, userdata);
                                        if (r < 0)
                                                result = r;
                                }
                        }
                }

                if (dump && interrupted && result == 0) {
                        log_debug("rtnetlink dump was interrupted by a concurrent change, restarting.");
                        if (handler) {
                                r = handler(NULL, userdata);
                                if (r < 0)
                                        return r;
                        }
                        continue;
                }
                return result;
        }
        return log_error_errno(EBUSY, "rtnetlink dump kept being interrupted by concurrent changes, giving up.");
}

int fzd_netlink_dump(FzdNetlink *nl, struct nlmsghdr *req, FzdNlHandler handler, void *userdata) {
        return transact(nl, req, true, handler, userdata);
}

int fzd_netlink_call(FzdNetlink *nl, struct nlmsghdr *req, FzdNlHandler handler, void *userdata) {
        return transact(nl, req, false, handler, userdata);
}
