/* SPDX-License-Identifier: Apache-2.0 */
/* The stub's I/O (daemon/dnsstub/dns-stub.c) on loopback, with a socket factory that
 * makes plain sockets, and an upstream resolver in the same event loop that can answer,
 * stay silent, answer with TC, send a spoofed answer first, or be gone. Clients are plain
 * sockets of the test. No privileges needed. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "dns-stub.h"
#include "dns-test-util.h"
#include "fz-check.h"
#include "log.h"

/* ---- the socket factory ---------------------------------------------------------------------- */

typedef struct Factory {
        unsigned listens, upstreams;
        bool fail_upstream;
} Factory;

static int fake_listen(void *userdata, int type, const FzdSockaddr *addr) {
        Factory *f = userdata;
        int fd = socket(addr->sa.sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

        if (fd < 0)
                return -errno;
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, &addr->sa, sizeof addr->in) < 0 || (type == SOCK_STREAM && listen(fd, 64) < 0)) {
                int r = -errno;
                close(fd);
                return r;
        }
        f->listens++;
        return fd;
}

static int fake_upstream(void *userdata, int family, int type) {
        Factory *f = userdata;
        int fd;

        if (f->fail_upstream)
                return -EPERM;
        fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        f->upstreams++;
        return fd;
}

/* ---- an upstream resolver ------------------------------------------------------------------- */

typedef enum UpMode { UP_ANSWER, UP_SILENT, UP_TC, UP_SPOOF_FIRST, UP_WRONG_QUESTION } UpMode;

typedef struct UpConn {
        struct Upstream *up;
        int fd;
        sd_event_source *src;
        uint8_t buf[4200];
        size_t len;
} UpConn;

typedef struct Upstream {
        int udp, tcp;
        FzdSockaddr addr; /* same port for UDP and TCP */
        sd_event_source *udp_src, *tcp_src;
        UpMode mode;
        unsigned udp_queries, tcp_queries;
        TestMsg last_query;
        TestMsg last_answer;
        UpConn *conns[16];
        size_t n_conns;
        uint16_t ports[64]; /* distinct UDP source ports the queries came from */
        size_t n_ports;
        FzdSockaddr last_from; /* where the last UDP query came from */
} Upstream;

/* The upstream's answer to q: the question, one A record 192.0.2.1 (TTL 300). */
static TestMsg up_answer(Upstream *up, const uint8_t *q, size_t n) {
        TestMsg a;
        size_t qend = 12;

        while (q[qend] != 0)
                qend += 1u + q[qend];
        qend += 5;
        tm_header(&a, tm_get16(q), 0x8180 | (up->mode == UP_TC ? 0x0200 : 0), 1, up->mode == UP_TC ? 0 : 1,
                  0, 0);
        memcpy(a.b + 12, q + 12, qend - 12);
        a.n = qend;
        if (up->mode == UP_WRONG_QUESTION)
                a.b[13] ^= 0x01; /* another name */
        if (up->mode != UP_TC) {
                tm_u16(&a, 0xc00c), tm_u16(&a, 1), tm_u16(&a, 1), tm_u32(&a, 300), tm_u16(&a, 4);
                tm_u32(&a, 0xc0000201);
        }
        return a;
}

static int on_up_udp(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Upstream *up = userdata;
        FzdSockaddr from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(fd, up->last_query.b, sizeof up->last_query.b, 0, &from.sa, &fl);

        if (n < 12)
                return 0;
        up->last_query.n = (size_t)n;
        up->udp_queries++;
        up->last_from = from;
        {
                size_t i;
                for (i = 0; i < up->n_ports && up->ports[i] != from.in.sin_port; i++)
                        ;
                if (i == up->n_ports && up->n_ports < ELEMENTSOF(up->ports))
                        up->ports[up->n_ports++] = from.in.sin_port;
        }
        if (up->mode == UP_SILENT)
                return 0;
        if (up->mode == UP_SPOOF_FIRST) {
                TestMsg spoof = up_answer(up, up->last_query.b, (size_t)n);
                spoof.b[0] ^= 0x55; /* wrong ID */
                sendto(fd, spoof.b, spoof.n, 0, &from.sa, fl);
        }
        up->last_answer = up_answer(up, up->last_query.b, (size_t)n);
        sendto(fd, up->last_answer.b, up->last_answer.n, 0, &from.sa, fl);
        return 0;
}

static int on_up_conn(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        UpConn *c = userdata;
        Upstream *up = c->up;
        ssize_t n = read(fd, c->buf + c->len, sizeof c->buf - c->len);
        size_t want;

        if (n <= 0) {
                sd_event_source_set_enabled(s, SD_EVENT_OFF);
                return 0;
        }
        c->len += (size_t)n;
        if (c->len < 2)
                return 0;
        want = 2 + tm_get16(c->buf);
        if (c->len < want)
                return 0;
        up->tcp_queries++;
        memcpy(up->last_query.b, c->buf + 2, want - 2);
        up->last_query.n = want - 2;
        if (up->mode == UP_SILENT)
                return 0;
        up->last_answer = up_answer(up, c->buf + 2, want - 2);
        {
                uint8_t out[4300];
                out[0] = (uint8_t)(up->last_answer.n >> 8), out[1] = (uint8_t)up->last_answer.n;
                memcpy(out + 2, up->last_answer.b, up->last_answer.n);
                ck_assert_int_eq(write(fd, out, up->last_answer.n + 2), (ssize_t)up->last_answer.n + 2);
        }
        c->len = 0;
        return 0;
}

static int on_up_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Upstream *up = userdata;
        UpConn *c;
        int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

        if (cfd < 0)
                return 0;
        ck_assert_uint_lt(up->n_conns, ELEMENTSOF(up->conns));
        c = calloc(1, sizeof *c);
        c->up = up;
        c->fd = cfd;
        up->conns[up->n_conns++] = c;
        ck_assert_int_ge(sd_event_add_io(sd_event_source_get_event(s), &c->src, cfd, EPOLLIN, on_up_conn, c),
                         0);
        return 0;
}

static void upstream_start(sd_event *e, Upstream *up, UpMode mode) {
        socklen_t len = sizeof up->addr.in;
        int one = 1;

        *up = (Upstream){.mode = mode};
        up->addr.in = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        up->tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        setsockopt(up->tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        ck_assert_int_eq(bind(up->tcp, &up->addr.sa, len), 0);
        ck_assert_int_eq(listen(up->tcp, 16), 0);
        ck_assert_int_eq(getsockname(up->tcp, &up->addr.sa, &len), 0);
        up->udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ck_assert_int_eq(bind(up->udp, &up->addr.sa, len), 0);
        ck_assert_int_ge(sd_event_add_io(e, &up->udp_src, up->udp, EPOLLIN, on_up_udp, up), 0);
        ck_assert_int_ge(sd_event_add_io(e, &up->tcp_src, up->tcp, EPOLLIN, on_up_accept, up), 0);
}

static void upstream_stop(Upstream *up) {
        for (size_t i = 0; i < up->n_conns; i++) {
                sd_event_source_disable_unref(up->conns[i]->src);
                close(up->conns[i]->fd);
                free(up->conns[i]);
        }
        up->n_conns = 0;
        up->udp_src = sd_event_source_disable_unref(up->udp_src);
        up->tcp_src = sd_event_source_disable_unref(up->tcp_src);
        if (up->udp >= 0)
                close(up->udp);
        if (up->tcp >= 0)
                close(up->tcp);
        up->udp = up->tcp = -1;
}

/* ---- the bed ---------------------------------------------------------------------------------- */

typedef struct Bed {
        sd_event *e;
        Factory f;
        FzdDnsStub *stub;
        Upstream up;
        FzdSockaddr udp_addr, tcp_addr; /* where the stub serves */
} Bed;

static void bed_start(Bed *b, UpMode mode, const FzdDnsStubParams *params) {
        FzdDnsSocketFactory factory = {fake_listen, fake_upstream, &b->f};
        FzdDnsStubServer server = {};

        fzd_log_set_max_level(LOG_INFO);
        *b = (Bed){};
        ck_assert_int_ge(sd_event_new(&b->e), 0);
        factory.userdata = &b->f;
        ck_assert_int_eq(fzd_dns_stub_new(b->e, &factory, params, &b->stub), 0);
        upstream_start(b->e, &b->up, mode);
        server.sentinel.in =
                (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
        server.upstream = b->up.addr;
        ck_assert_int_eq(fzd_dns_stub_set_servers(b->stub, &server, 1), 0);
        ck_assert_int_eq(fzd_dns_stub_get_server_address(b->stub, 0, SOCK_DGRAM, &b->udp_addr), 0);
        ck_assert_int_eq(fzd_dns_stub_get_server_address(b->stub, 0, SOCK_STREAM, &b->tcp_addr), 0);
        ck_assert_int_eq(
                fzd_dns_stub_resource_put(b->stub, "res-corp", "**.corp.example", FZD_DNS_IP_STACK_DUAL), 1);
}

static void bed_stop(Bed *b) {
        b->stub = fzd_dns_stub_free(b->stub);
        upstream_stop(&b->up);
        b->e = sd_event_unref(b->e);
}

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Runs the loop until fd is readable (or the timeout; false then). */
static bool run_until_readable(Bed *b, int fd, unsigned timeout_ms) {
        uint64_t end = now_ms() + timeout_ms;

        for (;;) {
                struct pollfd p = {fd, POLLIN, 0};
                if (poll(&p, 1, 0) > 0)
                        return true;
                if (now_ms() >= end)
                        return false;
                ck_assert_int_ge(sd_event_run(b->e, 5 * 1000), 0);
        }
}

/* Runs the loop until cond holds; fails the test if it does not within timeout_ms. */
#define RUN_UNTIL(b, cond, timeout_ms)                                                                      \
        do {                                                                                                \
                uint64_t _end = now_ms() + (timeout_ms);                                                    \
                while (!(cond)) {                                                                           \
                        ck_assert_msg(now_ms() < _end, "timed out waiting for " #cond);                     \
                        ck_assert_int_ge(sd_event_run((b)->e, 5 * 1000), 0);                                \
                }                                                                                           \
        } while (0)

static int udp_client(Bed *b) {
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(connect(fd, &b->udp_addr.sa, sizeof b->udp_addr.in), 0);
        return fd;
}

/* One question over UDP; returns the answer's length (0: none in time). */
static size_t udp_ask(Bed *b, const TestMsg *q, uint8_t *answer, size_t size, unsigned timeout_ms) {
        int fd = udp_client(b);
        ssize_t n = 0;

        ck_assert_int_eq(send(fd, q->b, q->n, 0), (ssize_t)q->n);
        if (run_until_readable(b, fd, timeout_ms))
                n = recv(fd, answer, size, 0);
        close(fd);
        return n > 0 ? (size_t)n : 0;
}

static int tcp_client(Bed *b) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(connect(fd, &b->tcp_addr.sa, sizeof b->tcp_addr.in), 0);
        return fd;
}

static void tcp_send(int fd, const TestMsg *q) {
        uint8_t buf[4300];
        buf[0] = (uint8_t)(q->n >> 8), buf[1] = (uint8_t)q->n;
        memcpy(buf + 2, q->b, q->n);
        ck_assert_int_eq(send(fd, buf, q->n + 2, MSG_NOSIGNAL), (ssize_t)q->n + 2);
}

/* Reads one length-prefixed answer; 0 if the stub closed the connection or nothing came. */
static size_t tcp_read(Bed *b, int fd, uint8_t *answer, size_t size, unsigned timeout_ms) {
        uint8_t head[2];
        size_t got = 0, want;

        while (got < 2) {
                ssize_t n;
                if (!run_until_readable(b, fd, timeout_ms))
                        return 0;
                n = recv(fd, head + got, 2 - got, 0);
                if (n <= 0)
                        return 0;
                got += (size_t)n;
        }
        want = tm_get16(head);
        ck_assert_uint_le(want, size);
        for (got = 0; got < want;) {
                ssize_t n;
                if (!run_until_readable(b, fd, timeout_ms))
                        return 0;
                n = recv(fd, answer + got, want - got, 0);
                if (n <= 0)
                        return 0;
                got += (size_t)n;
        }
        return want;
}

/* Whether the stub closed fd (EOF or reset) within the time. */
static bool closed_by_stub(Bed *b, int fd, unsigned timeout_ms) {
        uint8_t x[64];
        uint64_t end = now_ms() + timeout_ms;

        while (now_ms() < end) {
                if (run_until_readable(b, fd, 50)) {
                        ssize_t n = recv(fd, x, sizeof x, MSG_DONTWAIT);
                        if (n == 0 || (n < 0 && errno != EAGAIN))
                                return true;
                }
        }
        return false;
}

static FzdDnsStubStats stats(Bed *b) {
        FzdDnsStubStats s;
        fzd_dns_stub_get_stats(b->stub, &s);
        return s;
}

/* ---- tests ------------------------------------------------------------------------------------- */

START_TEST(test_resource_names_answered_here) {
        Bed b;
        uint8_t ans[4096];
        size_t n;
        TestAnswer a;
        TestMsg q = tm_query(0x1111, "git.corp.example", FZD_DNS_TYPE_A, true);

        bed_start(&b, UP_ANSWER, NULL);
        n = udp_ask(&b, &q, ans, sizeof ans, 2000);
        ck_assert_uint_gt(n, 0);
        a = tm_parse(ans, n);
        ck_assert_uint_eq(a.id, 0x1111);
        ck_assert_uint_eq(a.n, 4);
        /* Over TCP too, the same addresses. */
        {
                int fd = tcp_client(&b);
                TestAnswer t;
                tcp_send(fd, &q);
                n = tcp_read(&b, fd, ans, sizeof ans, 2000);
                ck_assert_uint_gt(n, 0);
                t = tm_parse(ans, n);
                ck_assert_mem_eq(t.rr[0].rdata, a.rr[0].rdata, 4);
                close(fd);
        }
        ck_assert_uint_eq(b.up.udp_queries + b.up.tcp_queries, 0); /* never upstream */
        ck_assert_uint_eq(stats(&b).answered_locally, 2);
        /* Removed: now it goes upstream. */
        ck_assert_int_eq(fzd_dns_stub_resource_remove(b.stub, "res-corp"), 1);
        n = udp_ask(&b, &q, ans, sizeof ans, 2000);
        ck_assert_uint_gt(n, 0);
        ck_assert_uint_eq(b.up.udp_queries, 1);
        bed_stop(&b);
}
END_TEST

START_TEST(test_forwarded_unchanged_but_the_id) {
        Bed b;
        uint8_t ans[4096];
        size_t n;
        TestMsg q = tm_query(0x2222, "www.example.org", FZD_DNS_TYPE_A, false);

        bed_start(&b, UP_ANSWER, NULL);
        n = udp_ask(&b, &q, ans, sizeof ans, 2000);
        ck_assert_uint_eq(b.up.udp_queries, 1);
        /* Upstream saw our query with an ID of the stub's, nothing else changed. */
        ck_assert_uint_eq(b.up.last_query.n, q.n);
        ck_assert_mem_eq(b.up.last_query.b + 2, q.b + 2, q.n - 2);
        /* The client got the upstream's answer byte for byte, with its own ID. */
        ck_assert_uint_eq(n, b.up.last_answer.n);
        ck_assert_uint_eq(tm_get16(ans), 0x2222);
        ck_assert_mem_eq(ans + 2, b.up.last_answer.b + 2, n - 2);
        /* Another query: another ID upstream (random, not the client's). */
        {
                uint16_t first = tm_get16(b.up.last_query.b);
                int differ = 0;
                for (int i = 0; i < 4; i++) {
                        udp_ask(&b, &q, ans, sizeof ans, 2000);
                        differ += tm_get16(b.up.last_query.b) != first;
                }
                ck_assert_int_gt(differ, 0);
        }
        ck_assert_uint_eq(stats(&b).forwarded, 5);
        ck_assert_uint_eq(stats(&b).inflight, 0);
        bed_stop(&b);
}
END_TEST

/* UDP goes out on a few connected sockets; each gives way to a fresh one (another random
 * port) after 1000 queries, without losing a query on the way — also when it is replaced
 * in the middle of a burst, with queries queued on it. */
START_TEST(test_upstream_sockets_rotate) {
        FzdDnsStubParams p = {.timeout_usec = 500 * 1000};
        Bed b;
        uint8_t ans[512];
        int fd;
        unsigned answered = 0, good = 0, sent = 0;

        bed_start(&b, UP_ANSWER, &p);
        fd = udp_client(&b);
        /* Three on their own first: the sockets then reach 1000 in the middle of a batch. */
        for (; sent < 3; sent++) {
                TestMsg q = tm_query((uint16_t)sent, "www.example.org", FZD_DNS_TYPE_A, false);
                ck_assert_int_eq(send(fd, q.b, q.n, 0), (ssize_t)q.n);
                ck_assert(run_until_readable(&b, fd, 2000));
                ck_assert_int_gt(recv(fd, ans, sizeof ans, 0), 0);
                answered++, good++;
        }
        for (unsigned burst = 0; burst < 70; burst++) {
                unsigned got = 0;
                for (unsigned i = 0; i < 64; i++, sent++) {
                        TestMsg q = tm_query((uint16_t)sent, "www.example.org", FZD_DNS_TYPE_A, false);
                        ck_assert_int_eq(send(fd, q.b, q.n, 0), (ssize_t)q.n);
                }
                while (got < 64 && run_until_readable(&b, fd, 2000))
                        while (recv(fd, ans, sizeof ans, MSG_DONTWAIT) > 0) {
                                got++;
                                good += (ans[3] & 0xf) == 0;
                        }
                answered += got;
        }
        close(fd);
        ck_assert_uint_eq(sent, 4483);
        ck_assert_uint_eq(answered, 4483);
        ck_assert_uint_eq(good, 4483); /* none timed out into SERVFAIL */
        ck_assert_uint_eq(b.up.udp_queries, 4483);
        /* 4 sockets to begin with; each has served 1120 by now, so each was replaced once. */
        ck_assert_uint_eq(stats(&b).upstream_sockets, 8);
        ck_assert_uint_eq(b.up.n_ports, 8);
        ck_assert_uint_eq(stats(&b).inflight, 0);
        bed_stop(&b);
}
END_TEST

/* The upstream changes while a query is in flight: its socket is retired but stays until
 * the answer comes; that answer arrives twice in one batch — the first one closes the
 * socket, the second must not touch it (ASan would see it). */
START_TEST(test_retired_socket_gets_its_answer) {
        Bed b;
        Upstream other;
        FzdDnsStubServer server = {};
        uint8_t ans[512];
        int fd;
        TestMsg q = tm_query(0x7171, "www.example.org", FZD_DNS_TYPE_A, false), a;

        bed_start(&b, UP_SILENT, NULL);
        upstream_start(b.e, &other, UP_ANSWER);
        fd = udp_client(&b);
        ck_assert_int_eq(send(fd, q.b, q.n, 0), (ssize_t)q.n);
        while (b.up.udp_queries == 0)
                ck_assert_int_ge(sd_event_run(b.e, 5 * 1000), 0);
        server.sentinel.in =
                (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
        server.upstream = other.addr;
        ck_assert_int_eq(fzd_dns_stub_set_servers(b.stub, &server, 1), 0);
        ck_assert_uint_eq(stats(&b).inflight, 1);
        b.up.mode = UP_ANSWER;
        a = up_answer(&b.up, b.up.last_query.b, b.up.last_query.n);
        for (int i = 0; i < 2; i++)
                ck_assert_int_eq(sendto(b.up.udp, a.b, a.n, 0, &b.up.last_from.sa, sizeof b.up.last_from.in),
                                 (ssize_t)a.n);
        ck_assert(run_until_readable(&b, fd, 2000));
        ck_assert_int_gt(recv(fd, ans, sizeof ans, 0), 0);
        ck_assert_uint_eq(tm_get16(ans), 0x7171);
        RUN_UNTIL(&b, stats(&b).inflight == 0, 2000);
        /* The second was read in the same batch, after the socket had gone with its query. */
        ck_assert_uint_eq(stats(&b).upstream_mismatches, 1);
        /* New queries go to the new upstream. */
        ck_assert_uint_gt(udp_ask(&b, &q, ans, sizeof ans, 2000), 0);
        ck_assert_uint_eq(other.udp_queries, 1);
        close(fd);
        upstream_stop(&other);
        bed_stop(&b);
}
END_TEST

START_TEST(test_tcp_over_tcp_and_truncation_kept) {
        Bed b;
        uint8_t ans[4096];
        size_t n;
        int fd;
        TestMsg q = tm_query(0x3333, "big.example.org", FZD_DNS_TYPE_TXT, false);

        bed_start(&b, UP_TC, NULL);
        /* UDP: the upstream's TC answer, TC and all. */
        n = udp_ask(&b, &q, ans, sizeof ans, 2000);
        ck_assert_uint_gt(n, 0);
        ck_assert(tm_get16(ans + 2) & 0x0200);
        ck_assert_uint_eq(b.up.tcp_queries, 0);
        /* TCP: asked upstream over TCP. */
        b.up.mode = UP_ANSWER;
        fd = tcp_client(&b);
        tcp_send(fd, &q);
        n = tcp_read(&b, fd, ans, sizeof ans, 2000);
        ck_assert_uint_gt(n, 0);
        ck_assert_uint_eq(b.up.tcp_queries, 1);
        ck_assert_uint_eq(tm_get16(ans), 0x3333);
        ck_assert_mem_eq(ans + 2, b.up.last_answer.b + 2, n - 2);
        /* Three queries in one write (pipelining): three answers. */
        {
                uint8_t buf[1024];
                size_t len = 0;
                for (int i = 0; i < 3; i++) {
                        TestMsg m =
                                tm_query((uint16_t)(0x100 + i), i == 1 ? "x.corp.example" : "y.example.org",
                                         FZD_DNS_TYPE_A, false);
                        buf[len++] = (uint8_t)(m.n >> 8), buf[len++] = (uint8_t)m.n;
                        memcpy(buf + len, m.b, m.n);
                        len += m.n;
                }
                ck_assert_int_eq(send(fd, buf, len, 0), (ssize_t)len);
                for (int i = 0; i < 3; i++) {
                        n = tcp_read(&b, fd, ans, sizeof ans, 2000);
                        ck_assert_uint_gt(n, 0);
                        ck_assert_uint_eq(tm_get16(ans) & 0xff00, 0x100);
                }
        }
        close(fd);
        bed_stop(&b);
}
END_TEST

START_TEST(test_upstream_down_and_silent) {
        FzdDnsStubParams p = {.timeout_usec = 200 * 1000};
        Bed b;
        uint8_t ans[4096];
        size_t n;
        uint64_t t0;
        TestMsg q = tm_query(0x4444, "www.example.org", FZD_DNS_TYPE_A, false);

        /* Silent: SERVFAIL when the timeout is up. */
        bed_start(&b, UP_SILENT, &p);
        t0 = now_ms();
        n = udp_ask(&b, &q, ans, sizeof ans, 3000);
        ck_assert_uint_gt(n, 0);
        ck_assert_uint_ge(now_ms() - t0, 150);
        ck_assert_uint_eq(tm_parse(ans, n).rcode, FZD_DNS_RCODE_SERVFAIL);
        ck_assert_uint_eq(tm_get16(ans), 0x4444);
        ck_assert_uint_eq(stats(&b).upstream_timeouts, 1);
        /* Over TCP too. */
        {
                int fd = tcp_client(&b);
                tcp_send(fd, &q);
                n = tcp_read(&b, fd, ans, sizeof ans, 3000);
                ck_assert_uint_gt(n, 0);
                ck_assert_uint_eq(tm_parse(ans, n).rcode, FZD_DNS_RCODE_SERVFAIL);
                close(fd);
        }
        /* Gone (nothing listens): SERVFAIL long before the timeout (ICMP, RST). */
        upstream_stop(&b.up);
        t0 = now_ms();
        n = udp_ask(&b, &q, ans, sizeof ans, 3000);
        ck_assert_uint_gt(n, 0);
        ck_assert_uint_eq(tm_parse(ans, n).rcode, FZD_DNS_RCODE_SERVFAIL);
        {
                int fd = tcp_client(&b);
                tcp_send(fd, &q);
                n = tcp_read(&b, fd, ans, sizeof ans, 3000);
                ck_assert_uint_gt(n, 0);
                ck_assert_uint_eq(tm_parse(ans, n).rcode, FZD_DNS_RCODE_SERVFAIL);
                close(fd);
        }
        ck_assert_uint_lt(now_ms() - t0, 150);
        ck_assert_uint_eq(stats(&b).inflight, 0);
        bed_stop(&b);
}
END_TEST

START_TEST(test_spoofed_and_wrong_answers_ignored) {
        Bed b;
        uint8_t ans[4096];
        size_t n;
        TestMsg q = tm_query(0x5555, "www.example.org", FZD_DNS_TYPE_A, false);
        FzdDnsStubParams p = {.timeout_usec = 200 * 1000};

        bed_start(&b, UP_SPOOF_FIRST, &p);
        n = udp_ask(&b, &q, ans, sizeof ans, 2000);
        ck_assert_uint_gt(n, 0);
        ck_assert_uint_eq(tm_parse(ans, n).rcode, 0);
        ck_assert_mem_eq(ans + 2, b.up.last_answer.b + 2, n - 2); /* the real one */
        ck_assert_uint_eq(stats(&b).upstream_mismatches, 1);
        /* An answer to another question is never relayed: the client gets SERVFAIL at the timeout. */
        b.up.mode = UP_WRONG_QUESTION;
        n = udp_ask(&b, &q, ans, sizeof ans, 2000);
        ck_assert_uint_gt(n, 0);
        ck_assert_uint_eq(tm_parse(ans, n).rcode, FZD_DNS_RCODE_SERVFAIL);
        bed_stop(&b);
}
END_TEST

START_TEST(test_no_upstream_and_factory_failure) {
        Bed b;
        uint8_t ans[4096];
        size_t n;
        TestMsg q = tm_query(0x6666, "www.example.org", FZD_DNS_TYPE_A, false);
        FzdDnsStubServer server = {};

        bed_start(&b, UP_ANSWER, NULL);
        server.sentinel.in =
                (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
        ck_assert_int_eq(fzd_dns_stub_set_servers(b.stub, &server, 1), 0);
        n = udp_ask(&b, &q, ans, sizeof ans, 2000);
        ck_assert_uint_eq(tm_parse(ans, n).rcode, FZD_DNS_RCODE_SERVFAIL);
        ck_assert_uint_eq(b.up.udp_queries, 0);
        /* Forwarding to ourselves would loop: refused. */
        server.upstream = server.sentinel;
        ck_assert_int_eq(fzd_dns_stub_set_servers(b.stub, &server, 1), 0);
        n = udp_ask(&b, &q, ans, sizeof ans, 2000);
        ck_assert_uint_eq(tm_parse(ans, n).rcode, FZD_DNS_RCODE_SERVFAIL);
        ck_assert_uint_eq(stats(&b).forwarded, 0);
        /* Back to the upstream, but the factory cannot make sockets. */
        server.upstream = b.up.addr;
        ck_assert_int_eq(fzd_dns_stub_set_servers(b.stub, &server, 1), 0);
        b.f.fail_upstream = true;
        n = udp_ask(&b, &q, ans, sizeof ans, 2000);
        ck_assert_uint_eq(tm_parse(ans, n).rcode, FZD_DNS_RCODE_SERVFAIL);
        b.f.fail_upstream = false;
        n = udp_ask(&b, &q, ans, sizeof ans, 2000);
        ck_assert_uint_eq(tm_parse(ans, n).rcode, 0);
        ck_assert_uint_eq(b.f.listens, 2); /* one UDP, one TCP socket all along */
        bed_stop(&b);
}
END_TEST

START_TEST(test_servers_change) {
        Bed b;
        Upstream other;
        uint8_t ans[4096];
        FzdDnsStubServer servers[2] = {};
        FzdSockaddr addr;
        TestMsg q = tm_query(0x7777, "www.example.org", FZD_DNS_TYPE_A, false);

        bed_start(&b, UP_ANSWER, NULL);
        upstream_start(b.e, &other, UP_ANSWER);
        /* The same sentinel with another upstream: same socket, queries go to the new one. */
        servers[0].sentinel = b.udp_addr;
        servers[0].upstream = other.addr;
        /* And a second sentinel (127.0.0.2) with the first upstream. */
        servers[1].sentinel.in =
                (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000002)};
        servers[1].upstream = b.up.addr;
        ck_assert_int_eq(fzd_dns_stub_set_servers(b.stub, servers, 2), 0);
        ck_assert_int_eq(fzd_dns_stub_get_server_address(b.stub, 0, SOCK_DGRAM, &addr), 0);
        ck_assert_uint_eq(addr.in.sin_port, b.udp_addr.in.sin_port);
        udp_ask(&b, &q, ans, sizeof ans, 2000);
        ck_assert_uint_eq(other.udp_queries, 1);
        ck_assert_uint_eq(b.up.udp_queries, 0);
        ck_assert_int_eq(fzd_dns_stub_get_server_address(b.stub, 1, SOCK_DGRAM, &addr), 0);
        b.udp_addr = addr;
        udp_ask(&b, &q, ans, sizeof ans, 2000);
        ck_assert_uint_eq(b.up.udp_queries, 1);
        /* None: nothing served any more. */
        ck_assert_int_eq(fzd_dns_stub_set_servers(b.stub, NULL, 0), 0);
        ck_assert_int_eq(fzd_dns_stub_get_server_address(b.stub, 0, SOCK_DGRAM, &addr), -ENOENT);
        ck_assert_uint_eq(udp_ask(&b, &q, ans, sizeof ans, 100), 0);
        upstream_stop(&other);
        bed_stop(&b);
}
END_TEST

START_TEST(test_inflight_bounded) {
        FzdDnsStubParams p = {.timeout_usec = 300 * 1000, .max_inflight = 4};
        Bed b;
        int fds[10];
        TestMsg q = tm_query(0x8888, "www.example.org", FZD_DNS_TYPE_A, false);
        unsigned answered = 0;
        uint8_t ans[512];

        bed_start(&b, UP_SILENT, &p);
        for (int i = 0; i < 10; i++) {
                fds[i] = udp_client(&b);
                ck_assert_int_eq(send(fds[i], q.b, q.n, 0), (ssize_t)q.n);
        }
        RUN_UNTIL(&b, stats(&b).inflight + stats(&b).dropped_inflight_limit == 10 && b.up.udp_queries == 4,
                  2000);
        ck_assert_uint_eq(stats(&b).inflight, 4);
        ck_assert_uint_eq(stats(&b).dropped_inflight_limit, 6);
        /* Resource names are still answered at once. */
        {
                TestMsg r = tm_query(1, "a.corp.example", FZD_DNS_TYPE_A, false);
                ck_assert_uint_gt(udp_ask(&b, &r, ans, sizeof ans, 50), 0);
        }
        RUN_UNTIL(&b, stats(&b).upstream_timeouts == 4, 3000);
        for (int i = 0; i < 10; i++) {
                answered += recv(fds[i], ans, sizeof ans, MSG_DONTWAIT) > 0;
                close(fds[i]);
        }
        ck_assert_uint_eq(answered, 4); /* the 4 in flight got SERVFAIL */
        ck_assert_uint_eq(stats(&b).inflight, 0);
        bed_stop(&b);
}
END_TEST

START_TEST(test_bad_udp_input) {
        Bed b;
        uint8_t ans[4096], big[FZD_DNS_MAX_QUERY + 100] = {};
        size_t n;
        TestMsg q = tm_query(0x9999, "www.example.org", FZD_DNS_TYPE_A, false);
        int fd;

        bed_start(&b, UP_ANSWER, NULL);
        /* Oversized: FORMERR. */
        memcpy(big, q.b, q.n);
        fd = udp_client(&b);
        ck_assert_int_eq(send(fd, big, sizeof big, 0), (ssize_t)sizeof big);
        ck_assert(run_until_readable(&b, fd, 2000));
        n = (size_t)recv(fd, ans, sizeof ans, 0);
        ck_assert_uint_eq(tm_parse(ans, n).rcode, FZD_DNS_RCODE_FORMERR);
        /* An answer sent to us, a runt: silence. */
        q.b[2] |= 0x80;
        ck_assert_int_eq(send(fd, q.b, q.n, 0), (ssize_t)q.n);
        ck_assert_int_eq(send(fd, q.b, 5, 0), 5);
        /* Then a resource name: its answer is the first to come back — the stub handles a
         * socket's datagrams in order, so the two before it got none. */
        {
                TestMsg r = tm_query(0x4321, "x.corp.example", FZD_DNS_TYPE_A, false);
                ck_assert_int_eq(send(fd, r.b, r.n, 0), (ssize_t)r.n);
                ck_assert(run_until_readable(&b, fd, 2000));
                n = (size_t)recv(fd, ans, sizeof ans, 0);
                ck_assert_uint_eq(tm_get16(ans), 0x4321);
        }
        ck_assert_uint_eq(stats(&b).malformed, 3);
        ck_assert_uint_eq(b.up.udp_queries, 0);
        close(fd);
        bed_stop(&b);
}
END_TEST

START_TEST(test_bad_tcp_clients) {
        FzdDnsStubParams p = {.tcp_idle_usec = 200 * 1000, .max_tcp_clients = 3};
        Bed b;
        int fd, fds[4];
        uint8_t ans[4096];
        TestMsg q = tm_query(0xaaaa, "x.corp.example", FZD_DNS_TYPE_A, false);

        bed_start(&b, UP_ANSWER, &p);
        /* A length prefix too short for a header, and one longer than any query: closed. */
        fd = tcp_client(&b);
        ck_assert_int_eq(send(fd, "\x00\x05hello", 7, 0), 7);
        ck_assert(closed_by_stub(&b, fd, 1000));
        close(fd);
        fd = tcp_client(&b);
        ck_assert_int_eq(send(fd, "\xff\xff", 2, 0), 2);
        ck_assert(closed_by_stub(&b, fd, 1000));
        close(fd);
        /* A prefix that promises more than comes, a client that never finishes: closed
         * after the idle time, the loop never waits for it. */
        fd = tcp_client(&b);
        ck_assert_int_eq(send(fd, "\x00\x40\x12\x34", 4, 0), 4);
        ck_assert(closed_by_stub(&b, fd, 1500));
        close(fd);
        ck_assert_uint_eq(stats(&b).tcp_closed_idle, 1);
        ck_assert_uint_eq(stats(&b).tcp_closed_bad, 2);
        /* An answer where a query should be: closed. */
        fd = tcp_client(&b);
        q.b[2] |= 0x80;
        tcp_send(fd, &q);
        ck_assert(closed_by_stub(&b, fd, 1000));
        close(fd);
        q.b[2] &= 0x7f;
        /* More clients than allowed: the oldest goes, the newest is served. */
        for (int i = 0; i < 4; i++) {
                uint64_t accepted = stats(&b).tcp_accepted;
                fds[i] = tcp_client(&b);
                RUN_UNTIL(&b, stats(&b).tcp_accepted == accepted + 1, 2000); /* one after the other */
        }
        ck_assert(closed_by_stub(&b, fds[0], 500));
        tcp_send(fds[3], &q);
        ck_assert_uint_gt(tcp_read(&b, fds[3], ans, sizeof ans, 1000), 0);
        ck_assert_uint_eq(stats(&b).tcp_evicted, 1);
        for (int i = 0; i < 4; i++)
                close(fds[i]);
        RUN_UNTIL(&b, stats(&b).tcp_clients == 0, 2000);
        bed_stop(&b);
}
END_TEST

START_TEST(test_tcp_client_leaves_early) {
        FzdDnsStubParams p = {.timeout_usec = 200 * 1000};
        Bed b;
        int fd;
        TestMsg q = tm_query(0xbbbb, "www.example.org", FZD_DNS_TYPE_A, false);

        /* A client that asks and hangs up before the (late) answer: nothing dangles. */
        bed_start(&b, UP_SILENT, &p);
        fd = tcp_client(&b);
        tcp_send(fd, &q);
        RUN_UNTIL(&b, stats(&b).inflight == 1, 2000);
        close(fd);
        /* The client is gone at once; its query when its time is up. */
        RUN_UNTIL(&b, stats(&b).tcp_clients == 0, 2000);
        RUN_UNTIL(&b, stats(&b).inflight == 0, 2000);
        ck_assert_uint_eq(stats(&b).upstream_timeouts, 1);
        /* The same with the stub freed while a query is in flight. */
        fd = tcp_client(&b);
        tcp_send(fd, &q);
        RUN_UNTIL(&b, stats(&b).inflight == 1, 2000);
        bed_stop(&b);
        close(fd);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("dns-stub");
        TCase *tc = tcase_create("core");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_resource_names_answered_here);
        tcase_add_test(tc, test_forwarded_unchanged_but_the_id);
        tcase_add_test(tc, test_tcp_over_tcp_and_truncation_kept);
        tcase_add_test(tc, test_upstream_sockets_rotate);
        tcase_add_test(tc, test_retired_socket_gets_its_answer);
        tcase_add_test(tc, test_upstream_down_and_silent);
        tcase_add_test(tc, test_spoofed_and_wrong_answers_ignored);
        tcase_add_test(tc, test_no_upstream_and_factory_failure);
        tcase_add_test(tc, test_servers_change);
        tcase_add_test(tc, test_inflight_bounded);
        tcase_add_test(tc, test_bad_udp_input);
        tcase_add_test(tc, test_bad_tcp_clients);
        tcase_add_test(tc, test_tcp_client_leaves_early);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(suite)
