/* SPDX-License-Identifier: Apache-2.0 */
/* The DNS stub's I/O (dns-stub.h): sockets on the sentinels, forwarding, timeouts, limits.
 *
 * Memory is bounded by the limits below, whatever clients or upstreams send:
 *   UDP           UDP_BATCH receive buffers of FZD_DNS_MAX_QUERY + 1 bytes, one 64 KiB
 *                 buffer for upstream answers;
 *   in flight     max_inflight queries (≈ 4.5 KiB each), of which at most
 *                 MAX_TCP_UPSTREAM over TCP, whose answers are up to 64 KiB each;
 *   TCP clients   max_tcp_clients, each with one query buffer (4 KiB), at most
 *                 TCP_CLIENT_MAX_PENDING queries forwarded and TCP_CLIENT_MAX_OUT bytes of
 *                 answers it has not read yet. A client that sends no complete query for
 *                 tcp_idle_usec is closed, so one that never finishes cannot hold a slot. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "dns-answer.h"
#include "dns-stub.h"
#include "log.h"

#define DEFAULT_TIMEOUT_USEC    (5 * USEC_PER_SEC)
#define DEFAULT_MAX_INFLIGHT    512
#define DEFAULT_MAX_TCP_CLIENTS 64
#define DEFAULT_TCP_IDLE_USEC   (10 * USEC_PER_SEC)
#define UDP_BATCH               32
#define LOCAL_ANSWER_MAX        1024 /* the stub's own answers are always smaller */
#define MAX_TCP_UPSTREAM        64
#define TCP_CLIENT_MAX_PENDING  16
#define TCP_CLIENT_MAX_OUT      (128 * 1024)
#define LIMIT_LOG_INTERVAL_USEC (10 * USEC_PER_SEC)
#define ACCEPT_PAUSE_USEC       (1 * USEC_PER_SEC)
/* UDP to an upstream: a few connected sockets, each on its own random port, each replaced
 * by a fresh one (a new random port) after POOL_SOCKET_USES queries or POOL_SOCKET_LIFE. */
#define POOL_SIZE             4
#define POOL_SOCKET_USES      1000
#define POOL_SOCKET_LIFE_USEC (60 * USEC_PER_SEC)
#define UP_BATCH              8

typedef struct Listener Listener;
typedef struct TcpClient TcpClient;
typedef struct Query Query;
typedef struct UpSock UpSock;

struct Listener {
        FzdDnsStub *stub;
        FzdDnsStubServer server;
        int udp_fd, tcp_fd;
        sd_event_source *udp_source, *tcp_source;
        bool keep;
        UpSock *pool[POOL_SIZE]; /* UDP sockets to server.upstream, made when needed */
        unsigned next_sock;
};

/* A UDP socket connected to an upstream. Retired ones (too old, or the upstream changed)
 * take no new queries and close when their last one is done. */
struct UpSock {
        FzdDnsStub *stub;
        Listener *listener;  /* NULL once retired */
        UpSock *prev, *next; /* the stub's retired sockets */
        int fd;
        sd_event_source *src;
        uint32_t serial; /* with a query's ID, the key it is found by */
        unsigned inflight, uses;
        uint64_t born;
        Query *pending[UDP_BATCH]; /* to send with one sendmmsg() */
        size_t n_pending;
};

typedef struct OutBuf {
        struct OutBuf *next;
        size_t len, off;
        uint8_t data[];
} OutBuf;

struct TcpClient {
        FzdDnsStub *stub;
        Listener *listener;
        TcpClient *prev, *next; /* oldest first */
        int fd;
        sd_event_source *io, *idle;
        size_t in_len;
        OutBuf *out_head, *out_tail;
        size_t out_bytes;
        unsigned pending;
        bool eof;
        uint8_t in[2 + FZD_DNS_MAX_QUERY];
};

struct Query {
        FzdDnsStub *stub;
        Query *prev, *next; /* in flight, oldest (earliest deadline) first */
        uint64_t deadline;
        Listener *listener; /* UDP client: answered from its socket (NULL once it is gone) */
        FzdSockaddr client;
        socklen_t client_len;
        TcpClient *tcp; /* TCP client (NULL for UDP, or once it is gone) */
        bool via_tcp;
        uint16_t client_id;
        FzdDnsQuery query; /* id: the client's */
        /* UDP upstream: the pool socket, and the key (socket serial, our ID) we are found by. */
        UpSock *sock;
        uint64_t key;
        /* TCP upstream: a socket of its own. */
        int fd;
        sd_event_source *io;
        /* TCP upstream: what is written of msg (prefix included), and the answer so far. */
        size_t sent;
        uint8_t head[2];
        size_t head_got;
        uint8_t *answer;
        size_t answer_len, answer_got;
        size_t len;    /* of the message, without the prefix */
        uint8_t msg[]; /* 2-byte length prefix, then the message with our ID */
};

struct FzdDnsStub {
        sd_event *event;
        FzdDnsSocketFactory factory;
        FzdDnsStubParams params;
        FzdDnsResources *resources;
        FzdProxyIps *proxy_ips;
        sd_event_source *rebind;

        Listener **listeners;
        size_t n_listeners;

        Query *inflight_head, *inflight_tail;
        unsigned n_inflight, n_tcp_upstream;
        sd_event_source *timer;

        TcpClient *clients_head, *clients_tail;
        unsigned n_clients;
        sd_event_source *accept_resume;
        bool accept_paused;

        uint16_t ids[256];
        size_t n_ids;

        /* UDP queries in flight by (socket serial, ID): open addressing, at most half full. */
        Query **by_key;
        size_t by_key_cap;
        uint64_t key_salt;
        uint32_t next_serial;
        UpSock *retired;

        uint64_t limit_logged_at, full_logged_at;
        uint64_t limit_hits_unlogged;
        FzdDnsStubStats stats;

        uint8_t (*rx)[FZD_DNS_MAX_QUERY + 1];      /* UDP_BATCH */
        uint8_t (*tx)[LOCAL_ANSWER_MAX];           /* UDP_BATCH */
        uint8_t (*up_rx)[FZD_DNS_MAX_MESSAGE + 1]; /* UP_BATCH; pages are touched only as answers need */
};

static uint64_t now_usec(FzdDnsStub *s) {
        uint64_t t = 0;
        (void)sd_event_now(s->event, CLOCK_MONOTONIC, &t);
        return t;
}

static uint16_t random_id(FzdDnsStub *s) {
        if (s->n_ids == 0) {
                if (getrandom(s->ids, sizeof s->ids, GRND_NONBLOCK) != (ssize_t)sizeof s->ids)
                        /* Only before the kernel's pool is ready; still varied. */
                        for (size_t i = 0; i < ELEMENTSOF(s->ids); i++)
                                s->ids[i] = (uint16_t)(s->ids[i] * 31u + (uint16_t)now_usec(s) + i * 40503u);
                s->n_ids = ELEMENTSOF(s->ids);
        }
        return s->ids[--s->n_ids];
}

static socklen_t sockaddr_len(const FzdSockaddr *a) {
        return a->sa.sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static bool sockaddr_same_address(const FzdSockaddr *a, const FzdSockaddr *b) {
        if (a->sa.sa_family != b->sa.sa_family)
                return false;
        if (a->sa.sa_family == AF_INET)
                return a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
        if (a->sa.sa_family == AF_INET6)
                return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, sizeof a->in6.sin6_addr) == 0;
        return false;
}

static bool sockaddr_equal(const FzdSockaddr *a, const FzdSockaddr *b) {
        if (!sockaddr_same_address(a, b))
                return false;
        if (a->sa.sa_family == AF_INET)
                return a->in.sin_port == b->in.sin_port;
        return a->in6.sin6_port == b->in6.sin6_port && a->in6.sin6_scope_id == b->in6.sin6_scope_id;
}

static const char *sockaddr_to_string(const FzdSockaddr *a, char *buf, size_t size) {
        char ip[INET6_ADDRSTRLEN] = "?";

        if (a->sa.sa_family == AF_INET) {
                inet_ntop(AF_INET, &a->in.sin_addr, ip, sizeof ip);
                snprintf(buf, size, "%s:%u", ip, ntohs(a->in.sin_port));
        } else if (a->sa.sa_family == AF_INET6) {
                inet_ntop(AF_INET6, &a->in6.sin6_addr, ip, sizeof ip);
                snprintf(buf, size, "[%s]:%u", ip, ntohs(a->in6.sin6_port));
        } else
                snprintf(buf, size, "none");
        return buf;
}

static bool debug_enabled(void) {
        return fzd_log_get_max_level() >= LOG_DEBUG;
}

/* ---- answers to clients ------------------------------------------------------------------ */

static void tcp_client_free(TcpClient *c);
static int tcp_client_send(TcpClient *c, const uint8_t *data, size_t len);
static void tcp_client_maybe_resume(TcpClient *c);

static void udp_reply(Listener *l, const FzdSockaddr *client, socklen_t client_len, const uint8_t *data,
                      size_t len) {
        if (!l || l->udp_fd < 0)
                return;
        /* A full socket buffer drops the answer: the client asks again. */
        (void)sendto(l->udp_fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL, &client->sa, client_len);
}

/* ---- UDP queries in flight by key ------------------------------------------------------------ */

static uint64_t make_key(uint32_t serial, uint16_t id) {
        return ((uint64_t)serial << 16) | id;
}

static size_t key_home(const FzdDnsStub *s, uint64_t key) {
        uint64_t h = (key ^ s->key_salt) * 0x9e3779b97f4a7c15ULL;
        return (size_t)(h >> 32) & (s->by_key_cap - 1);
}

static Query *key_find(const FzdDnsStub *s, uint64_t key) {
        for (size_t i = key_home(s, key);; i = (i + 1) & (s->by_key_cap - 1)) {
                Query *q = s->by_key[i];
                if (!q || q->key == key)
                        return q;
        }
}

static void key_insert(FzdDnsStub *s, Query *q) {
        size_t i = key_home(s, q->key);

        while (s->by_key[i])
                i = (i + 1) & (s->by_key_cap - 1);
        s->by_key[i] = q;
}

static void key_remove(FzdDnsStub *s, Query *q) {
        size_t mask = s->by_key_cap - 1, i = key_home(s, q->key);

        while (s->by_key[i] != q) {
                if (!s->by_key[i])
                        return;
                i = (i + 1) & mask;
        }
        /* Backward shift: pull later members of the probe run into the hole. */
        for (size_t j = (i + 1) & mask; s->by_key[j]; j = (j + 1) & mask) {
                size_t home = key_home(s, s->by_key[j]->key);
                if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
                        s->by_key[i] = s->by_key[j];
                        i = j;
                }
        }
        s->by_key[i] = NULL;
}

/* ---- the pool of UDP sockets to an upstream ------------------------------------------------ */

static int on_upstream_udp(sd_event_source *es, int fd, uint32_t revents, void *userdata);
static void upsock_flush(UpSock *u);

static void upsock_close(UpSock *u) {
        FzdDnsStub *s = u->stub;

        if (u->prev)
                u->prev->next = u->next;
        else if (s->retired == u)
                s->retired = u->next;
        if (u->next)
                u->next->prev = u->prev;
        sd_event_source_disable_unref(u->src);
        safe_close(u->fd);
        free(u);
}

/* No new queries for u; it goes when its last query is done. */
static void upsock_retire(UpSock *u) {
        FzdDnsStub *s = u->stub;

        if (!u->listener)
                return;
        for (size_t i = 0; i < POOL_SIZE; i++)
                if (u->listener->pool[i] == u)
                        u->listener->pool[i] = NULL;
        u->listener = NULL;
        if (u->inflight == 0) {
                sd_event_source_disable_unref(u->src);
                safe_close(u->fd);
                free(u);
                return;
        }
        u->prev = NULL;
        u->next = s->retired;
        if (s->retired)
                s->retired->prev = u;
        s->retired = u;
}

static int upsock_new(Listener *l, UpSock **ret) {
        FzdDnsStub *s = l->stub;
        const FzdSockaddr *up = &l->server.upstream;
        UpSock *u;
        int fd, r;

        fd = s->factory.upstream(s->factory.userdata, up->sa.sa_family, SOCK_DGRAM);
        if (fd < 0)
                return fd;
        /* Connected: the kernel picks a random port, and drops datagrams from anyone but the
         * upstream's address and port; its ICMP errors come back here. */
        if (connect(fd, &up->sa, sockaddr_len(up)) < 0) {
                r = -errno;
                safe_close(fd);
                return r;
        }
        u = calloc(1, sizeof *u);
        if (!u) {
                safe_close(fd);
                return -ENOMEM;
        }
        *u = (UpSock){.stub = s, .listener = l, .fd = fd, .serial = ++s->next_serial, .born = now_usec(s)};
        r = sd_event_add_io(s->event, &u->src, fd, EPOLLIN, on_upstream_udp, u);
        if (r < 0) {
                safe_close(fd);
                free(u);
                return r;
        }
        s->stats.upstream_sockets++;
        *ret = u;
        return 0;
}

/* The socket for the next query to l's upstream: the pool's, round robin, each replaced
 * by a fresh one when it has served enough. */
static int upsock_get(Listener *l, UpSock **ret) {
        unsigned i = l->next_sock++ % POOL_SIZE;
        UpSock *u = l->pool[i];
        int r;

        if (u && (u->uses >= POOL_SOCKET_USES || now_usec(l->stub) - u->born >= POOL_SOCKET_LIFE_USEC)) {
                upsock_flush(u);     /* what is queued on it still goes out */
                if (l->pool[i] == u) /* (a failed flush retires it itself) */
                        upsock_retire(u);
                u = NULL;
        }
        if (!u) {
                r = upsock_new(l, &u);
                if (r < 0)
                        return r;
                l->pool[i] = u;
        }
        *ret = u;
        return 0;
}

/* Queued queries go out first; answers still come back on the retired sockets. */
static void pool_retire_all(Listener *l) {
        for (size_t i = 0; i < POOL_SIZE; i++) {
                if (l->pool[i])
                        upsock_flush(l->pool[i]);
                if (l->pool[i])
                        upsock_retire(l->pool[i]);
        }
}

/* ---- queries in flight ------------------------------------------------------------------- */

static void inflight_unlink(FzdDnsStub *s, Query *q) {
        if (q->prev)
                q->prev->next = q->next;
        else
                s->inflight_head = q->next;
        if (q->next)
                q->next->prev = q->prev;
        else
                s->inflight_tail = q->prev;
        q->prev = q->next = NULL;
}

static void query_free(Query *q) {
        FzdDnsStub *s;

        if (!q)
                return;
        s = q->stub;
        inflight_unlink(s, q);
        s->n_inflight--;
        if (q->via_tcp)
                s->n_tcp_upstream--;
        if (q->sock) {
                UpSock *u = q->sock;
                key_remove(s, q);
                for (size_t i = 0; i < u->n_pending; i++)
                        if (u->pending[i] == q) /* never sent: not any more */
                                u->pending[i] = u->pending[--u->n_pending];
                if (--u->inflight == 0 && !u->listener)
                        upsock_close(u);
        }
        sd_event_source_disable_unref(q->io);
        safe_close(q->fd);
        free(q->answer);
        if (q->tcp) {
                q->tcp->pending--;
                tcp_client_maybe_resume(q->tcp);
        }
        free(q);
}

/* Sends the answer (ID already the client's) to whoever asked, and frees q. Returns < 0
 * if that made its TCP client go away (freed). */
static int query_finish(Query *q, const uint8_t *data, size_t len) {
        if (q->via_tcp) {
                TcpClient *c = q->tcp;
                uint8_t *owned = q->answer == data ? TAKE_PTR(q->answer) : NULL; /* data may be it */
                int r;

                query_free(q); /* first: it counts down c's pending */
                r = c ? tcp_client_send(c, data, len) : 0;
                free(owned);
                return r;
        }
        udp_reply(q->listener, &q->client, q->client_len, data, len);
        query_free(q);
        return 0;
}

static int query_fail(Query *q, unsigned rcode) {
        uint8_t buf[LOCAL_ANSWER_MAX];
        ssize_t n;

        n = fzd_dns_error_answer(q->msg + 2, &q->query, rcode, q->via_tcp, buf, sizeof buf);
        if (n < 0) {
                query_free(q);
                return 0;
        }
        return query_finish(q, buf, (size_t)n);
}

static int on_timer(sd_event_source *es, uint64_t usec, void *userdata) {
        FzdDnsStub *s = userdata;
        uint64_t now = now_usec(s);

        while (s->inflight_head && s->inflight_head->deadline <= now) {
                s->stats.upstream_timeouts++;
                (void)query_fail(s->inflight_head, FZD_DNS_RCODE_SERVFAIL);
        }
        if (s->inflight_head) {
                (void)sd_event_source_set_time(s->timer, s->inflight_head->deadline);
                (void)sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
        }
        return 0;
}

static void arm_timer(FzdDnsStub *s) {
        int enabled = SD_EVENT_OFF;

        (void)sd_event_source_get_enabled(s->timer, &enabled);
        if (enabled != SD_EVENT_OFF || !s->inflight_head)
                return; /* an armed timer fires at the old head's deadline and moves on */
        (void)sd_event_source_set_time(s->timer, s->inflight_head->deadline);
        (void)sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
}

/* An answer that fzd_dns_response_matches() accepted. */
static void got_answer(Query *q, uint8_t *answer, size_t len) {
        FzdDnsStub *s = q->stub;

        s->stats.upstream_answers++;
        fzd_dns_set_id(answer, q->client_id);
        (void)query_finish(q, answer, len);
}

static int upstream_failed(Query *q, int error) {
        FzdDnsStub *s = q->stub;

        s->stats.upstream_failures++;
        if (debug_enabled()) {
                char a[INET6_ADDRSTRLEN + 8];
                const FzdSockaddr *up = q->listener ? &q->listener->server.upstream : NULL;
                log_debug_errno(error, "DNS: upstream %s failed: %m",
                                up ? sockaddr_to_string(up, a, sizeof a) : "");
        }
        return query_fail(q, FZD_DNS_RCODE_SERVFAIL);
}

/* Every query waiting on u fails (the upstream is unreachable, the socket broken); u is
 * retired so that the next query gets a fresh one. */
static void upsock_fail(UpSock *u, int error) {
        FzdDnsStub *s = u->stub;
        Listener *l = u->listener;

        upsock_retire(u); /* stays open while queries point at it */
        for (Query *q = s->inflight_head, *next; q; q = next) {
                next = q->next;
                if (q->sock == u) {
                        /* Only UDP queries use u: failing one frees it and nothing else. */
                        if (l && debug_enabled()) {
                                char a[INET6_ADDRSTRLEN + 8];
                                log_debug_errno(error, "DNS: upstream %s failed: %m",
                                                sockaddr_to_string(&l->server.upstream, a, sizeof a));
                                l = NULL;
                        }
                        s->stats.upstream_failures++;
                        (void)query_fail(q, FZD_DNS_RCODE_SERVFAIL);
                }
        }
}

/* Answers from an upstream on a pool socket: each is found by (socket, ID), checked
 * against its question, given back its client's ID and sent on from the sentinel's
 * socket, a batch at a time. */
static int on_upstream_udp(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        UpSock *u = userdata;
        FzdDnsStub *s = u->stub;
        /* u goes away with its last query if it is retired: only its serial is used below. */
        uint32_t serial = u->serial;
        struct mmsghdr in[UP_BATCH], out[UP_BATCH];
        struct iovec in_iov[UP_BATCH], out_iov[UP_BATCH];
        FzdSockaddr to[UP_BATCH];
        Listener *batch = NULL;
        int n, k = 0;

        for (int i = 0; i < UP_BATCH; i++) {
                in_iov[i] = (struct iovec){s->up_rx[i], FZD_DNS_MAX_MESSAGE + 1};
                in[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &in_iov[i], .msg_iovlen = 1}};
        }
        n = recvmmsg(fd, in, UP_BATCH, MSG_DONTWAIT, NULL);
        if (n < 0) {
                if (errno != EAGAIN && errno != EINTR)
                        upsock_fail(u, -errno); /* ICMP unreachable and friends */
                return 0;
        }
        for (int i = 0; i < n; i++) {
                uint8_t *a = s->up_rx[i];
                size_t len = in[i].msg_len;
                Query *q;

                if (len < FZD_DNS_HEADER_SIZE || (in[i].msg_hdr.msg_flags & MSG_TRUNC)) {
                        s->stats.upstream_mismatches++;
                        continue;
                }
                q = key_find(s, make_key(serial, fzd_dns_get_id(a)));
                if (!q || !fzd_dns_response_matches(a, len, q->msg + 2, q->query.question_end)) {
                        /* A late answer, a duplicate, or a spoof: the query keeps waiting. */
                        s->stats.upstream_mismatches++;
                        continue;
                }
                s->stats.upstream_answers++;
                fzd_dns_set_id(a, q->client_id);
                if (q->listener && q->listener->udp_fd >= 0) {
                        if (batch && batch != q->listener) {
                                (void)sendmmsg(batch->udp_fd, out, (unsigned)k, MSG_DONTWAIT | MSG_NOSIGNAL);
                                k = 0;
                        }
                        batch = q->listener;
                        to[k] = q->client;
                        out_iov[k] = (struct iovec){a, len};
                        out[k] = (struct mmsghdr){.msg_hdr = {.msg_name = &to[k],
                                                              .msg_namelen = q->client_len,
                                                              .msg_iov = &out_iov[k],
                                                              .msg_iovlen = 1}};
                        k++;
                }
                query_free(q);
        }
        /* A full socket buffer drops answers: those clients ask again. */
        if (k > 0)
                (void)sendmmsg(batch->udp_fd, out, (unsigned)k, MSG_DONTWAIT | MSG_NOSIGNAL);
        return 0;
}

/* Sends the queries queued on u, in one system call. */
static void upsock_flush(UpSock *u) {
        struct mmsghdr m[UDP_BATCH];
        struct iovec iov[UDP_BATCH];
        Query *sent[UDP_BATCH];
        size_t n = u->n_pending;
        int r;

        if (n == 0)
                return;
        for (size_t i = 0; i < n; i++) {
                sent[i] = u->pending[i];
                iov[i] = (struct iovec){sent[i]->msg + 2, sent[i]->len};
                m[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
        }
        u->n_pending = 0;
        r = sendmmsg(u->fd, m, (unsigned)n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (r >= 0 && (size_t)r == n)
                return;
        /* Not all went: an error (an ICMP one from earlier shows up here too) fails the
         * socket and everything on it; a full socket buffer fails what did not go. */
        if (r < 0 && errno != EAGAIN && errno != ENOBUFS) {
                upsock_fail(u, -errno);
                return;
        }
        for (size_t i = r < 0 ? 0 : (size_t)r; i < n; i++) {
                u->stub->stats.upstream_failures++;
                (void)query_fail(sent[i], FZD_DNS_RCODE_SERVFAIL);
        }
}

static int on_upstream_tcp(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        Query *q = userdata;
        ssize_t n;

        if (q->sent < q->len + 2) {
                n = send(fd, q->msg + q->sent, q->len + 2 - q->sent, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        (void)upstream_failed(q, -errno);
                        return 0;
                }
                q->sent += (size_t)n;
                if (q->sent == q->len + 2)
                        (void)sd_event_source_set_io_events(q->io, EPOLLIN);
                return 0;
        }
        for (;;) {
                if (q->head_got < 2) {
                        n = recv(fd, q->head + q->head_got, 2 - q->head_got, MSG_DONTWAIT);
                        if (n > 0) {
                                q->head_got += (size_t)n;
                                if (q->head_got == 2) {
                                        q->answer_len = (size_t)((q->head[0] << 8) | q->head[1]);
                                        if (q->answer_len < FZD_DNS_HEADER_SIZE) {
                                                (void)upstream_failed(q, -EBADMSG);
                                                return 0;
                                        }
                                        q->answer = malloc(q->answer_len);
                                        if (!q->answer) {
                                                (void)upstream_failed(q, -ENOMEM);
                                                return 0;
                                        }
                                }
                                continue;
                        }
                } else {
                        n = recv(fd, q->answer + q->answer_got, q->answer_len - q->answer_got, MSG_DONTWAIT);
                        if (n > 0) {
                                q->answer_got += (size_t)n;
                                if (q->answer_got == q->answer_len) {
                                        if (fzd_dns_response_matches(q->answer, q->answer_len, q->msg + 2,
                                                                     q->query.question_end))
                                                got_answer(q, q->answer, q->answer_len);
                                        else { /* a TCP stream carries nothing else: give up on it */
                                                q->stub->stats.upstream_mismatches++;
                                                (void)query_fail(q, FZD_DNS_RCODE_SERVFAIL);
                                        }
                                        return 0;
                                }
                                continue;
                        }
                }
                if (n == 0) {
                        (void)upstream_failed(q, -ECONNRESET);
                        return 0;
                }
                if (errno == EAGAIN || errno == EINTR)
                        return 0;
                (void)upstream_failed(q, -errno);
                return 0;
        }
}

static void note_limit(FzdDnsStub *s) {
        uint64_t now = now_usec(s);

        s->stats.dropped_inflight_limit++;
        s->limit_hits_unlogged++;
        if (s->limit_logged_at == 0 || now - s->limit_logged_at >= LIMIT_LOG_INTERVAL_USEC) {
                log_warning("DNS: %u queries are waiting for upstream resolvers already (the limit); "
                            "dropped %" PRIu64 " since the last notice. Is an upstream slow or unreachable?",
                            s->n_inflight, s->limit_hits_unlogged);
                s->limit_logged_at = now;
                s->limit_hits_unlogged = 0;
        }
}

/* Sends a query that fzd_dns_decide() said to forward; answers the client itself when it
 * cannot. Returns < 0 if that answer made the TCP client go away (freed). */
static int forward(FzdDnsStub *s, Listener *l, const FzdSockaddr *client, socklen_t client_len,
                   TcpClient *tcp, const uint8_t *msg, size_t len, const FzdDnsQuery *info) {
        const FzdSockaddr *up = &l->server.upstream;
        bool via_tcp = tcp != NULL;
        Query *q;
        int fd, r;

        if (up->sa.sa_family == 0) {
                uint8_t buf[LOCAL_ANSWER_MAX];
                ssize_t n =
                        fzd_dns_error_answer(msg, info, FZD_DNS_RCODE_SERVFAIL, via_tcp, buf, sizeof buf);
                s->stats.upstream_failures++;
                if (n > 0) {
                        if (tcp)
                                return tcp_client_send(tcp, buf, (size_t)n);
                        udp_reply(l, client, client_len, buf, (size_t)n);
                }
                return 0;
        }
        if (s->n_inflight >= s->params.max_inflight || (via_tcp && s->n_tcp_upstream >= MAX_TCP_UPSTREAM)) {
                note_limit(s);
                if (tcp) { /* a TCP client would wait for nothing: tell it */
                        uint8_t buf[LOCAL_ANSWER_MAX];
                        ssize_t n = fzd_dns_error_answer(msg, info, FZD_DNS_RCODE_SERVFAIL, true, buf,
                                                         sizeof buf);
                        if (n > 0)
                                return tcp_client_send(tcp, buf, (size_t)n);
                }
                return 0;
        }

        q = malloc(sizeof *q + 2 + len);
        if (!q) {
                log_oom();
                return 0;
        }
        *q = (Query){
                .stub = s,
                .listener = l,
                .client_len = client_len,
                .tcp = tcp,
                .via_tcp = via_tcp,
                .client_id = info->id,
                .query = *info,
                .fd = -EBADF,
                .len = len,
        };
        if (client)
                q->client = *client;
        q->msg[0] = (uint8_t)(len >> 8);
        q->msg[1] = (uint8_t)len;
        memcpy(q->msg + 2, msg, len);

        /* In the books first, so that query_free() can undo everything below. */
        q->deadline = now_usec(s) + s->params.timeout_usec;
        q->prev = s->inflight_tail;
        if (s->inflight_tail)
                s->inflight_tail->next = q;
        else
                s->inflight_head = q;
        s->inflight_tail = q;
        s->n_inflight++;
        if (via_tcp)
                s->n_tcp_upstream++;
        if (tcp)
                tcp->pending++;
        s->stats.forwarded++;

        if (!via_tcp) {
                UpSock *u;
                uint16_t id;

                r = upsock_get(l, &u);
                if (r < 0)
                        goto fail;
                /* An ID of ours, random and not in use on this socket. */
                do
                        id = random_id(s);
                while (key_find(s, make_key(u->serial, id)));
                fzd_dns_set_id(q->msg + 2, id);
                q->sock = u;
                q->key = make_key(u->serial, id);
                key_insert(s, q);
                u->inflight++;
                u->uses++;
                /* Sent with the others of this batch (upsock_flush() from on_udp()). */
                u->pending[u->n_pending++] = q;
                if (u->n_pending == UDP_BATCH)
                        upsock_flush(u);
                arm_timer(s);
                return 0;
        }

        /* TCP: a connection of its own, opened now (TCP clients are few: the UDP ones that
         * got TC, and those that always use TCP). */
        fzd_dns_set_id(q->msg + 2, random_id(s));
        fd = s->factory.upstream(s->factory.userdata, up->sa.sa_family, SOCK_STREAM);
        if (fd < 0) {
                r = fd;
                goto fail;
        }
        q->fd = fd;
        if (connect(fd, &up->sa, sockaddr_len(up)) < 0 && errno != EINPROGRESS) {
                r = -errno;
                goto fail;
        }
        r = sd_event_add_io(s->event, &q->io, fd, EPOLLOUT, on_upstream_tcp, q);
        if (r < 0)
                goto fail;
        arm_timer(s);
        return 0;

fail:
        /* The SERVFAIL goes through a TCP client, which may then go away. */
        return upstream_failed(q, r);
}

/* ---- one query from a client ---------------------------------------------------------------- */

static void log_decision(const FzdDnsDecision *d, bool tcp) {
        static const char *const kinds[] = {
                [FZD_DNS_ANSWER_NONE] = "forwarded",
                [FZD_DNS_ANSWER_FORMERR] = "FORMERR",
                [FZD_DNS_ANSWER_NOTIMP] = "NOTIMP",
                [FZD_DNS_ANSWER_BADVERS] = "BADVERS",
                [FZD_DNS_ANSWER_CANARY] = "NXDOMAIN (canary)",
                [FZD_DNS_ANSWER_PTR] = "PTR of a proxy IP",
                [FZD_DNS_ANSWER_RESOURCE] = "resource",
                [FZD_DNS_ANSWER_FULL] = "SERVFAIL (proxy IPs exhausted)",
        };
        char name[72];

        if (d->verdict == FZD_DNS_VERDICT_DROP) {
                log_debug("DNS/%s: dropped a message that is no query.", tcp ? "TCP" : "UDP");
                return;
        }
        snprintf(name, sizeof name, "%.64s%s", d->query.name_is_text ? d->query.name : "(binary name)",
                 d->query.name_is_text && strlen(d->query.name) > 64 ? "…" : "");
        log_debug("DNS/%s: %s type %u: %s%s%s.", tcp ? "TCP" : "UDP", name, d->query.qtype, kinds[d->kind],
                  d->resource_id ? " " : "", strempty(d->resource_id));
}

static void count_decision(FzdDnsStub *s, const FzdDnsDecision *d) {
        switch (d->kind) {
        case FZD_DNS_ANSWER_FORMERR:
        case FZD_DNS_ANSWER_NOTIMP:
        case FZD_DNS_ANSWER_BADVERS:
                s->stats.malformed++;
                break;
        case FZD_DNS_ANSWER_CANARY:
        case FZD_DNS_ANSWER_PTR:
        case FZD_DNS_ANSWER_RESOURCE:
        case FZD_DNS_ANSWER_FULL:
                s->stats.answered_locally++;
                break;
        case FZD_DNS_ANSWER_NONE:
                if (d->verdict == FZD_DNS_VERDICT_DROP)
                        s->stats.malformed++;
                break;
        }
        if (d->kind == FZD_DNS_ANSWER_FULL) {
                uint64_t now = now_usec(s);
                if (s->full_logged_at == 0 || now - s->full_logged_at >= LIMIT_LOG_INTERVAL_USEC) {
                        log_warning("DNS: all %u names the daemon can give proxy IPs have them; new names "
                                    "of DNS "
                                    "resources get SERVFAIL until the daemon restarts.",
                                    (unsigned)FZD_PROXY_IPS_MAX_NAMES);
                        s->full_logged_at = now;
                }
        }
}

/* ---- UDP ------------------------------------------------------------------------------------ */

static int on_udp(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        Listener *l = userdata;
        FzdDnsStub *s = l->stub;
        struct mmsghdr in[UDP_BATCH], out[UDP_BATCH];
        struct iovec in_iov[UDP_BATCH], out_iov[UDP_BATCH];
        FzdSockaddr from[UDP_BATCH];
        int n, k = 0;

        for (int i = 0; i < UDP_BATCH; i++) {
                in_iov[i] = (struct iovec){s->rx[i], FZD_DNS_MAX_QUERY + 1};
                in[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &from[i],
                                                     .msg_namelen = sizeof from[i],
                                                     .msg_iov = &in_iov[i],
                                                     .msg_iovlen = 1}};
        }
        n = recvmmsg(fd, in, UDP_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
                return 0;
        for (int i = 0; i < n; i++) {
                FzdDnsDecision d;
                size_t len = in[i].msg_len;

                s->stats.queries_udp++;
                if (in[i].msg_hdr.msg_flags & MSG_TRUNC)
                        len = FZD_DNS_MAX_QUERY + 1; /* oversized: read as such (FORMERR) */
                fzd_dns_decide(s->resources, s->proxy_ips, s->rx[i], len, false, s->tx[k], LOCAL_ANSWER_MAX,
                               &d);
                count_decision(s, &d);
                if (_unlikely_(debug_enabled()))
                        log_decision(&d, false);
                if (d.verdict == FZD_DNS_VERDICT_ANSWER) {
                        out_iov[k] = (struct iovec){s->tx[k], d.answer_len};
                        out[k] = (struct mmsghdr){.msg_hdr = {.msg_name = &from[i],
                                                              .msg_namelen = in[i].msg_hdr.msg_namelen,
                                                              .msg_iov = &out_iov[k],
                                                              .msg_iovlen = 1}};
                        k++;
                } else if (d.verdict == FZD_DNS_VERDICT_FORWARD)
                        (void)forward(s, l, &from[i], in[i].msg_hdr.msg_namelen, NULL, s->rx[i], len,
                                      &d.query);
        }
        if (k > 0)
                (void)sendmmsg(fd, out, (unsigned)k, MSG_DONTWAIT | MSG_NOSIGNAL);
        for (size_t i = 0; i < POOL_SIZE; i++)
                if (l->pool[i])
                        upsock_flush(l->pool[i]);
        return 0;
}

/* ---- TCP clients ---------------------------------------------------------------------------- */

static void clients_unlink(FzdDnsStub *s, TcpClient *c) {
        if (c->prev)
                c->prev->next = c->next;
        else
                s->clients_head = c->next;
        if (c->next)
                c->next->prev = c->prev;
        else
                s->clients_tail = c->prev;
        c->prev = c->next = NULL;
}

static void tcp_client_free(TcpClient *c) {
        FzdDnsStub *s = c->stub;

        for (Query *q = s->inflight_head; q; q = q->next)
                if (q->tcp == c)
                        q->tcp = NULL; /* its answer has nowhere to go now */
        clients_unlink(s, c);
        s->n_clients--;
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->idle);
        safe_close(c->fd);
        while (c->out_head) {
                OutBuf *b = c->out_head;
                c->out_head = b->next;
                free(b);
        }
        free(c);
}

static void tcp_client_update_events(TcpClient *c) {
        uint32_t events = 0;

        if (!c->eof && c->pending < TCP_CLIENT_MAX_PENDING)
                events |= EPOLLIN;
        if (c->out_head)
                events |= EPOLLOUT;
        (void)sd_event_source_set_io_events(c->io, events);
        (void)sd_event_source_set_enabled(c->io, events ? SD_EVENT_ON : SD_EVENT_OFF);
}

static void tcp_client_touch(TcpClient *c) {
        (void)sd_event_source_set_time_relative(c->idle, c->stub->params.tcp_idle_usec);
        (void)sd_event_source_set_enabled(c->idle, SD_EVENT_ONESHOT);
}

/* Done with a client that sent EOF once everything is answered. */
static bool tcp_client_finished(TcpClient *c) {
        return c->eof && c->pending == 0 && !c->out_head;
}

static void tcp_client_maybe_resume(TcpClient *c) {
        tcp_client_update_events(c);
}

/* Returns < 0 if the client is gone (freed). */
static int tcp_client_flush(TcpClient *c) {
        while (c->out_head) {
                OutBuf *b = c->out_head;
                ssize_t n = send(c->fd, b->data + b->off, b->len - b->off, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                break;
                        c->stub->stats.tcp_closed_bad++;
                        tcp_client_free(c);
                        return -ECONNRESET;
                }
                b->off += (size_t)n;
                if (b->off < b->len)
                        break;
                c->out_head = b->next;
                if (!c->out_head)
                        c->out_tail = NULL;
                c->out_bytes -= b->len;
                free(b);
        }
        if (tcp_client_finished(c)) {
                tcp_client_free(c);
                return -ECONNRESET;
        }
        tcp_client_update_events(c);
        return 0;
}

/* Returns < 0 if the client went away (freed). */
static int tcp_client_send(TcpClient *c, const uint8_t *data, size_t len) {
        OutBuf *b;

        if (c->out_bytes + len + 2 > TCP_CLIENT_MAX_OUT) {
                /* It does not read its answers: not worth our memory. */
                c->stub->stats.tcp_closed_bad++;
                tcp_client_free(c);
                return -ECONNRESET;
        }
        b = malloc(sizeof *b + 2 + len);
        if (!b) {
                log_oom();
                return 0;
        }
        b->next = NULL;
        b->len = 2 + len;
        b->off = 0;
        b->data[0] = (uint8_t)(len >> 8);
        b->data[1] = (uint8_t)len;
        memcpy(b->data + 2, data, len);
        if (c->out_tail)
                c->out_tail->next = b;
        else
                c->out_head = b;
        c->out_tail = b;
        c->out_bytes += b->len;
        return tcp_client_flush(c);
}

/* One complete query in c->in. Returns < 0 if the client is gone. */
static int tcp_client_query(TcpClient *c, size_t len) {
        FzdDnsStub *s = c->stub;
        uint8_t out[LOCAL_ANSWER_MAX];
        FzdDnsDecision d;

        s->stats.queries_tcp++;
        fzd_dns_decide(s->resources, s->proxy_ips, c->in + 2, len, true, out, sizeof out, &d);
        count_decision(s, &d);
        if (_unlikely_(debug_enabled()))
                log_decision(&d, true);
        tcp_client_touch(c);
        if (d.verdict == FZD_DNS_VERDICT_ANSWER)
                return tcp_client_send(c, out, d.answer_len);
        if (d.verdict == FZD_DNS_VERDICT_FORWARD && c->listener)
                return forward(s, c->listener, NULL, 0, c, c->in + 2, len, &d.query);
        /* Not a query at all (an answer): nothing sensible follows on this stream. */
        s->stats.tcp_closed_bad++;
        tcp_client_free(c);
        return -EBADMSG;
}

static int on_tcp_client(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        TcpClient *c = userdata;
        FzdDnsStub *s = c->stub;

        if (revents & EPOLLOUT)
                if (tcp_client_flush(c) < 0)
                        return 0;
        if (!(revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                return 0;
        while (!c->eof && c->pending < TCP_CLIENT_MAX_PENDING) {
                size_t want, len;
                ssize_t n;

                if (c->in_len < 2)
                        want = 2 - c->in_len;
                else {
                        len = (size_t)((c->in[0] << 8) | c->in[1]);
                        want = 2 + len - c->in_len;
                }
                n = recv(fd, c->in + c->in_len, want, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                break;
                        s->stats.tcp_closed_bad++;
                        tcp_client_free(c);
                        return 0;
                }
                if (n == 0) {
                        c->eof = true;
                        if (tcp_client_finished(c) || c->in_len > 0) {
                                /* Nothing left to answer, or a query cut short. */
                                tcp_client_free(c);
                                return 0;
                        }
                        break;
                }
                c->in_len += (size_t)n;
                if (c->in_len < 2)
                        continue;
                len = (size_t)((c->in[0] << 8) | c->in[1]);
                if (len < FZD_DNS_HEADER_SIZE || len > FZD_DNS_MAX_QUERY) {
                        /* Too short to be a query, or more than any query needs. */
                        s->stats.tcp_closed_bad++;
                        tcp_client_free(c);
                        return 0;
                }
                if (c->in_len < 2 + len)
                        continue;
                c->in_len = 0;
                if (tcp_client_query(c, len) < 0)
                        return 0;
        }
        tcp_client_update_events(c);
        return 0;
}

static int on_tcp_idle(sd_event_source *es, uint64_t usec, void *userdata) {
        TcpClient *c = userdata;

        if (c->pending > 0 || c->out_head) {
                tcp_client_touch(c); /* still working for it */
                return 0;
        }
        c->stub->stats.tcp_closed_idle++;
        tcp_client_free(c);
        return 0;
}

static int on_accept_resume(sd_event_source *es, uint64_t usec, void *userdata) {
        FzdDnsStub *s = userdata;

        s->accept_paused = false;
        for (size_t i = 0; i < s->n_listeners; i++)
                if (s->listeners[i]->tcp_source)
                        (void)sd_event_source_set_enabled(s->listeners[i]->tcp_source, SD_EVENT_ON);
        return 0;
}

static void pause_accepting(FzdDnsStub *s, int error) {
        log_warning_errno(error, "DNS: cannot accept TCP connections (%m); trying again in a second.");
        s->accept_paused = true;
        for (size_t i = 0; i < s->n_listeners; i++)
                if (s->listeners[i]->tcp_source)
                        (void)sd_event_source_set_enabled(s->listeners[i]->tcp_source, SD_EVENT_OFF);
        if (!s->accept_resume)
                (void)sd_event_add_time_relative(s->event, &s->accept_resume, CLOCK_MONOTONIC,
                                                 ACCEPT_PAUSE_USEC, 0, on_accept_resume, s);
        else {
                (void)sd_event_source_set_time_relative(s->accept_resume, ACCEPT_PAUSE_USEC);
                (void)sd_event_source_set_enabled(s->accept_resume, SD_EVENT_ONESHOT);
        }
}

static int on_tcp_accept(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        Listener *l = userdata;
        FzdDnsStub *s = l->stub;

        for (int i = 0; i < 16; i++) {
                TcpClient *c;
                int cfd, r;

                cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) {
                        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
                                return 0;
                        if ((errno == EMFILE || errno == ENFILE) && s->clients_head) {
                                s->stats.tcp_evicted++;
                                tcp_client_free(s->clients_head); /* frees a descriptor */
                                continue;
                        }
                        pause_accepting(s, -errno);
                        return 0;
                }
                if (s->n_clients >= s->params.max_tcp_clients) {
                        /* Room for the newcomer: the oldest connection goes (RFC 7766 §6.2.3
                         * lets servers close connections; the client reconnects). */
                        s->stats.tcp_evicted++;
                        tcp_client_free(s->clients_head);
                }
                c = calloc(1, sizeof *c);
                if (!c) {
                        safe_close(cfd);
                        log_oom();
                        return 0;
                }
                c->stub = s;
                c->listener = l;
                c->fd = cfd;
                c->prev = s->clients_tail;
                if (s->clients_tail)
                        s->clients_tail->next = c;
                else
                        s->clients_head = c;
                s->clients_tail = c;
                s->n_clients++;
                s->stats.tcp_accepted++;
                r = sd_event_add_io(s->event, &c->io, cfd, EPOLLIN, on_tcp_client, c);
                if (r >= 0)
                        r = sd_event_add_time_relative(s->event, &c->idle, CLOCK_MONOTONIC,
                                                       s->params.tcp_idle_usec, 0, on_tcp_idle, c);
                if (r < 0) {
                        log_warning_errno(r, "DNS: failed to watch a TCP client, closing it: %m");
                        tcp_client_free(c);
                }
        }
        return 0;
}

/* ---- listeners ------------------------------------------------------------------------------ */

static void listener_free(Listener *l) {
        FzdDnsStub *s;

        if (!l)
                return;
        s = l->stub;
        for (Query *q = s->inflight_head; q; q = q->next)
                if (q->listener == l)
                        q->listener = NULL;
        for (TcpClient *c = s->clients_head, *next; c; c = next) {
                next = c->next;
                if (c->listener == l)
                        tcp_client_free(c);
        }
        pool_retire_all(l);
        sd_event_source_disable_unref(l->udp_source);
        sd_event_source_disable_unref(l->tcp_source);
        safe_close(l->udp_fd);
        safe_close(l->tcp_fd);
        free(l);
}

static int listener_new(FzdDnsStub *s, const FzdDnsStubServer *server, Listener **ret) {
        Listener *l;
        char a[INET6_ADDRSTRLEN + 8];
        int r;

        l = calloc(1, sizeof *l);
        if (!l)
                return -ENOMEM;
        l->stub = s;
        l->server = *server;
        l->udp_fd = l->tcp_fd = -EBADF;

        r = s->factory.listen(s->factory.userdata, SOCK_DGRAM, &server->sentinel);
        if (r < 0) {
                log_error_errno(r, "DNS: failed to serve UDP on %s: %m",
                                sockaddr_to_string(&server->sentinel, a, sizeof a));
                goto fail;
        }
        l->udp_fd = r;
        r = s->factory.listen(s->factory.userdata, SOCK_STREAM, &server->sentinel);
        if (r < 0) {
                log_error_errno(r, "DNS: failed to serve TCP on %s: %m",
                                sockaddr_to_string(&server->sentinel, a, sizeof a));
                goto fail;
        }
        l->tcp_fd = r;
        r = sd_event_add_io(s->event, &l->udp_source, l->udp_fd, EPOLLIN, on_udp, l);
        if (r >= 0)
                r = sd_event_add_io(s->event, &l->tcp_source, l->tcp_fd, EPOLLIN, on_tcp_accept, l);
        if (r < 0)
                goto fail;
        if (s->accept_paused)
                (void)sd_event_source_set_enabled(l->tcp_source, SD_EVENT_OFF);
        *ret = l;
        return 0;

fail:
        listener_free(l);
        return r;
}

int fzd_dns_stub_set_servers(FzdDnsStub *s, const FzdDnsStubServer *servers, size_t n) {
        Listener **v = NULL;
        int result = 0;

        if (n > 0) {
                v = calloc(n, sizeof *v);
                if (!v)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < s->n_listeners; i++)
                s->listeners[i]->keep = false;

        for (size_t i = 0; i < n; i++) {
                FzdDnsStubServer server = servers[i];
                char a[INET6_ADDRSTRLEN + 8], b[INET6_ADDRSTRLEN + 8];
                Listener *l = NULL;

                if (server.sentinel.sa.sa_family != AF_INET && server.sentinel.sa.sa_family != AF_INET6)
                        continue;
                /* Forwarding to one of our own sentinels would loop until the limit. */
                for (size_t j = 0; j < n; j++)
                        if (sockaddr_equal(&server.upstream, &servers[j].sentinel)) {
                                log_warning("DNS: not forwarding %s to %s, one of our own addresses.",
                                            sockaddr_to_string(&server.sentinel, a, sizeof a),
                                            sockaddr_to_string(&server.upstream, b, sizeof b));
                                server.upstream = (FzdSockaddr){};
                                break;
                        }
                for (size_t j = 0; j < s->n_listeners; j++)
                        if (!s->listeners[j]->keep &&
                            sockaddr_equal(&s->listeners[j]->server.sentinel, &server.sentinel)) {
                                l = s->listeners[j];
                                break;
                        }
                if (l) {
                        l->keep = true;
                        if (!sockaddr_equal(&l->server.upstream, &server.upstream))
                                pool_retire_all(l); /* queries under way finish on the old sockets */
                        l->server.upstream = server.upstream;
                } else {
                        int r = listener_new(s, &server, &l);
                        if (r < 0) {
                                if (result == 0)
                                        result = r;
                                continue;
                        }
                        l->keep = true;
                }
                log_info("DNS: serving %s, forwarding to %s.",
                         sockaddr_to_string(&server.sentinel, a, sizeof a),
                         sockaddr_to_string(&server.upstream, b, sizeof b));
                v[i] = l;
        }
        for (size_t i = 0; i < s->n_listeners; i++)
                if (!s->listeners[i]->keep) {
                        char a[INET6_ADDRSTRLEN + 8];
                        log_info("DNS: no longer serving %s.",
                                 sockaddr_to_string(&s->listeners[i]->server.sentinel, a, sizeof a));
                        listener_free(s->listeners[i]);
                }
        free(s->listeners);
        /* Compact: servers that failed leave no hole. */
        s->n_listeners = 0;
        for (size_t i = 0; i < n; i++)
                if (v[i])
                        v[s->n_listeners++] = v[i];
        s->listeners = v;
        return result;
}

int fzd_dns_stub_get_server_address(const FzdDnsStub *s, size_t i, int type, FzdSockaddr *ret) {
        socklen_t len = sizeof *ret;
        int fd;

        if (i >= s->n_listeners)
                return -ENOENT;
        fd = type == SOCK_STREAM ? s->listeners[i]->tcp_fd : s->listeners[i]->udp_fd;
        if (getsockname(fd, &ret->sa, &len) < 0)
                return -errno;
        return 0;
}

/* ---- resources ------------------------------------------------------------------------------ */

static const char *resource_of(void *userdata, const char *name) {
        const FzdDnsResource *r = fzd_dns_resources_match(userdata, name);
        return r ? r->id : NULL;
}

static int on_rebind(sd_event_source *es, void *userdata) {
        FzdDnsStub *s = userdata;

        fzd_proxy_ips_rebind(s->proxy_ips, resource_of, s->resources);
        return 0;
}

static void resources_changed(FzdDnsStub *s) {
        /* Once per burst (an init brings thousands), before the next query is read. */
        (void)sd_event_source_set_enabled(s->rebind, SD_EVENT_ONESHOT);
}

int fzd_dns_stub_resource_put(FzdDnsStub *s, const char *id, const char *pattern, FzdDnsIpStack ip_stack) {
        int r = fzd_dns_resources_put(s->resources, id, pattern, ip_stack);

        if (r != 0)
                resources_changed(s);
        return r;
}

int fzd_dns_stub_resource_remove(FzdDnsStub *s, const char *id) {
        int r = fzd_dns_resources_remove(s->resources, id);

        if (r > 0)
                resources_changed(s);
        return r;
}

int fzd_dns_stub_resources_reserve(FzdDnsStub *s, size_t n) {
        return fzd_dns_resources_reserve(s->resources, n);
}

void fzd_dns_stub_resources_clear(FzdDnsStub *s) {
        if (fzd_dns_resources_size(s->resources) == 0)
                return;
        fzd_dns_resources_clear(s->resources);
        resources_changed(s);
}

FzdProxyIps *fzd_dns_stub_proxy_ips(FzdDnsStub *s) {
        return s->proxy_ips;
}

void fzd_dns_stub_get_stats(const FzdDnsStub *s, FzdDnsStubStats *ret) {
        *ret = s->stats;
        ret->inflight = s->n_inflight;
        ret->tcp_clients = s->n_clients;
}

/* ---- life cycle ----------------------------------------------------------------------------- */

int fzd_dns_stub_new(sd_event *event, const FzdDnsSocketFactory *factory, const FzdDnsStubParams *params,
                     FzdDnsStub **ret) {
        _cleanup_(fzd_dns_stub_freep) FzdDnsStub *s = NULL;
        int r;

        if (!event || !factory || !factory->listen || !factory->upstream)
                return -EINVAL;
        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(event);
        s->factory = *factory;
        if (params)
                s->params = *params;
        if (s->params.timeout_usec == 0)
                s->params.timeout_usec = DEFAULT_TIMEOUT_USEC;
        if (s->params.max_inflight == 0)
                s->params.max_inflight = DEFAULT_MAX_INFLIGHT;
        if (s->params.max_tcp_clients == 0)
                s->params.max_tcp_clients = DEFAULT_MAX_TCP_CLIENTS;
        if (s->params.tcp_idle_usec == 0)
                s->params.tcp_idle_usec = DEFAULT_TCP_IDLE_USEC;

        s->rx = calloc(UDP_BATCH, sizeof *s->rx);
        s->tx = calloc(UDP_BATCH, sizeof *s->tx);
        s->up_rx = calloc(UP_BATCH, sizeof *s->up_rx);
        for (s->by_key_cap = 16; s->by_key_cap < 2 * (size_t)s->params.max_inflight;)
                s->by_key_cap *= 2;
        s->by_key = calloc(s->by_key_cap, sizeof *s->by_key);
        if (!s->rx || !s->tx || !s->up_rx || !s->by_key)
                return -ENOMEM;
        if (getrandom(&s->key_salt, sizeof s->key_salt, GRND_NONBLOCK) != (ssize_t)sizeof s->key_salt)
                s->key_salt = now_usec(s) * 0x9e3779b97f4a7c15ULL;
        r = fzd_dns_resources_new(&s->resources);
        if (r < 0)
                return r;
        r = fzd_proxy_ips_new(&s->proxy_ips);
        if (r < 0)
                return r;
        r = sd_event_add_time(event, &s->timer, CLOCK_MONOTONIC, UINT64_MAX, 0, on_timer, s);
        if (r < 0)
                return r;
        (void)sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
        r = sd_event_add_defer(event, &s->rebind, on_rebind, s);
        if (r < 0)
                return r;
        (void)sd_event_source_set_enabled(s->rebind, SD_EVENT_OFF);
        /* Before any I/O of the same iteration: queries then see the new resources. */
        (void)sd_event_source_set_priority(s->rebind, SD_EVENT_PRIORITY_IMPORTANT);
        *ret = TAKE_PTR(s);
        return 0;
}

FzdDnsStub *fzd_dns_stub_free(FzdDnsStub *s) {
        if (!s)
                return NULL;
        (void)fzd_dns_stub_set_servers(s, NULL, 0); /* closes listeners and their TCP clients */
        while (s->clients_head)
                tcp_client_free(s->clients_head);
        while (s->inflight_head)
                query_free(s->inflight_head);
        sd_event_source_disable_unref(s->timer);
        sd_event_source_disable_unref(s->rebind);
        sd_event_source_disable_unref(s->accept_resume);
        fzd_dns_resources_free(s->resources);
        fzd_proxy_ips_free(s->proxy_ips);
        free(s->listeners);
        free(s->rx);
        free(s->tx);
        while (s->retired) /* only if their queries were gone first: not expected */
                upsock_close(s->retired);
        free(s->by_key);
        free(s->up_rx);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}
