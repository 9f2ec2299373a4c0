/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <wslay/wslay.h>

#include "http-upgrade.h"
#include "log.h"
#include "tls.h"
#include "websocket.h"

#define FZD_WS_MESSAGE_KEEP (64U * 1024U) /* a receive buffer up to this size is kept */

typedef enum State {
        STATE_START,
        STATE_CONNECTING,
        STATE_TLS,
        STATE_HTTP_SEND,
        STATE_HTTP_RECV,
        STATE_OPEN,
        STATE_DEAD,
} State;

struct FzdWs {
        sd_event *event;
        FzdWsCallbacks cb;
        void *userdata;

        struct sockaddr_storage *addrs;
        socklen_t *addr_lens;
        size_t n_addrs, addr_idx;
        int last_errno;
        SSL_CTX *tls;
        char *host, *host_header, *target, *user_agent;
        bool host_is_ip;
        const char *token;
        unsigned mark;
        uint64_t max_message, connect_timeout, handshake_deadline;

        State state;
        int fd;
        SSL *ssl;
        sd_event_source *io, *timer;
        uint32_t io_events;
        bool ssl_read_wants_write;

        FzdSecret *request; /* the HTTP upgrade request: it holds the token */
        size_t request_sent;
        char *resp;
        size_t resp_len;
        char accept[29];
        size_t pre_off; /* WebSocket bytes that arrived with the HTTP answer: resp[pre_off..resp_len) */

        wslay_event_context_ptr wslay;
        bool eof, too_big, rejected;
        int io_errno;

        /* The text message being received, assembled here rather than by wslay (which would
         * copy it twice more). Binary messages are only counted. */
        char *msg;
        size_t msg_len, msg_size;
        uint8_t frame_opcode; /* of the frame being received */
        bool msg_binary;      /* the message being received is binary */

        unsigned dispatching;
        bool freed;
        char peer[INET6_ADDRSTRLEN + 8];
};

static void wipe_request(FzdWs *ws) {
        ws->request = fzd_secret_free(ws->request);
        ws->request_sent = 0;
}

static void close_transport(FzdWs *ws) {
        ws->io = sd_event_source_disable_unref(ws->io);
        ws->timer = sd_event_source_disable_unref(ws->timer);
        if (ws->ssl) {
                SSL_free(ws->ssl);
                ws->ssl = NULL;
        }
        ws->fd = safe_close(ws->fd);
        ws->io_events = 0;
}

static void destroy(FzdWs *ws) {
        close_transport(ws);
        wipe_request(ws);
        if (ws->wslay)
                wslay_event_context_free(ws->wslay);
        if (ws->tls)
                SSL_CTX_free(ws->tls);
        sd_event_unref(ws->event);
        free(ws->addrs);
        free(ws->addr_lens);
        free(ws->host);
        free(ws->host_header);
        free(ws->target);
        free(ws->user_agent);
        free(ws->resp);
        free(ws->msg);
        free(ws);
}

/* Ends the connection and reports why. Nothing may touch ws after this but the dispatch
 * bookkeeping (the callee may have freed it, which is deferred while dispatching). */
static void fail(FzdWs *ws, const FzdWsError *error) {
        if (ws->state == STATE_DEAD)
                return;
        ws->state = STATE_DEAD;
        close_transport(ws);
        wipe_request(ws);
        if (!ws->freed && ws->cb.closed)
                ws->cb.closed(ws->userdata, error);
}

static void fail_simple(FzdWs *ws, FzdWsErrorKind kind, int errnum, const char *detail) {
        FzdWsError e = { .kind = kind, .errnum = errnum < 0 ? -errnum : errnum };

        if (detail)
                (void) snprintf(e.detail, sizeof(e.detail), "%s", detail);
        fail(ws, &e);
}

static void set_peer(FzdWs *ws, const struct sockaddr_storage *sa) {
        char ip[INET6_ADDRSTRLEN] = "?";

        if (sa->ss_family == AF_INET) {
                const struct sockaddr_in *in = (const struct sockaddr_in *) sa;
                (void) inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
                (void) snprintf(ws->peer, sizeof(ws->peer), "%s:%u", ip, ntohs(in->sin_port));
        } else {
                const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;
                (void) inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
                (void) snprintf(ws->peer, sizeof(ws->peer), "[%s]:%u", ip, ntohs(in6->sin6_port));
        }
}

static int update_io(FzdWs *ws, uint32_t events) {
        if (ws->io_events == events)
                return 0;
        ws->io_events = events;
        return sd_event_source_set_io_events(ws->io, events);
}

static int arm_timer(FzdWs *ws, uint64_t deadline) {
        int r = sd_event_source_set_time(ws->timer, deadline);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(ws->timer, SD_EVENT_ONESHOT);
}

static uint64_t now_usec(FzdWs *ws) {
        uint64_t t = 0;
        (void) sd_event_now(ws->event, CLOCK_MONOTONIC, &t);
        return t;
}

/* ---- raw I/O over the socket or TLS -------------------------------------------------- */

/* > 0 bytes, 0 EOF, -EAGAIN, or -errno. */
static ssize_t io_read(FzdWs *ws, void *buf, size_t len) {
        if (ws->ssl) {
                int n, e;

                ERR_clear_error();
                n = SSL_read(ws->ssl, buf, len > INT32_MAX ? INT32_MAX : (int) len);
                if (n > 0)
                        return n;
                e = SSL_get_error(ws->ssl, n);
                ws->ssl_read_wants_write = e == SSL_ERROR_WANT_WRITE;
                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                        return -EAGAIN;
                if (e == SSL_ERROR_ZERO_RETURN)
                        return 0;
                if (e == SSL_ERROR_SYSCALL && errno != 0)
                        return -errno;
                ERR_clear_error();
                return e == SSL_ERROR_SYSCALL ? 0 : -EPROTO;
        }
        for (;;) {
                ssize_t n = recv(ws->fd, buf, len, 0);
                if (n >= 0)
                        return n;
                if (errno == EINTR)
                        continue;
                return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        }
}

static ssize_t io_write(FzdWs *ws, const void *buf, size_t len) {
        if (ws->ssl) {
                int n, e;

                ERR_clear_error();
                n = SSL_write(ws->ssl, buf, len > INT32_MAX ? INT32_MAX : (int) len);
                if (n > 0)
                        return n;
                e = SSL_get_error(ws->ssl, n);
                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                        return -EAGAIN;
                if (e == SSL_ERROR_SYSCALL && errno != 0)
                        return -errno;
                ERR_clear_error();
                return -EPROTO;
        }
        for (;;) {
                ssize_t n = send(ws->fd, buf, len, MSG_NOSIGNAL);
                if (n >= 0)
                        return n;
                if (errno == EINTR)
                        continue;
                return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        }
}

/* ---- wslay callbacks ----------------------------------------------------------------- */

static ssize_t wslay_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *userdata) {
        FzdWs *ws = userdata;
        ssize_t n;

        if (ws->pre_off < ws->resp_len) {
                size_t k = ws->resp_len - ws->pre_off;
                if (k > len)
                        k = len;
                memcpy(buf, ws->resp + ws->pre_off, k);
                ws->pre_off += k;
                return (ssize_t) k;
        }
        n = io_read(ws, buf, len);
        if (n > 0)
                return n;
        if (n == -EAGAIN)
                wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        else {
                if (n == 0)
                        ws->eof = true;
                else
                        ws->io_errno = (int) -n;
                wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        }
        return -1;
}

static ssize_t wslay_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                             void *userdata) {
        FzdWs *ws = userdata;
        ssize_t n = io_write(ws, data, len);

        if (n >= 0)
                return n;
        if (n == -EAGAIN)
                wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        else {
                ws->io_errno = (int) -n;
                wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        }
        return -1;
}

static int wslay_genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *userdata) {
        if (RAND_bytes(buf, (int) len) != 1) {
                wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
                return -1;
        }
        return 0;
}

static bool is_data_frame(uint8_t opcode) {
        return opcode == WSLAY_TEXT_FRAME || opcode == WSLAY_BINARY_FRAME || opcode == WSLAY_CONTINUATION_FRAME;
}

static void wslay_frame_start_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_frame_recv_start_arg *arg,
                                 void *userdata) {
        FzdWs *ws = userdata;
        size_t need;
        char *p;

        ws->frame_opcode = arg->opcode;
        if (!is_data_frame(arg->opcode))
                return; /* control frames (ping, close) wslay keeps itself; they may come between fragments */
        if (arg->opcode != WSLAY_CONTINUATION_FRAME) {
                ws->msg_len = 0; /* a new message */
                ws->msg_binary = arg->opcode == WSLAY_BINARY_FRAME;
        }
        /* The limit is checked here, for the message as a whole (continuation frames
         * included), from each frame's header: nothing beyond it is ever buffered. */
        if (arg->payload_length > ws->max_message - ws->msg_len) {
                ws->too_big = true;
                wslay_event_shutdown_read(ctx);
                return;
        }
        if (ws->msg_binary) {
                ws->msg_len += (size_t) arg->payload_length; /* counted, never kept */
                return;
        }
        need = ws->msg_len + (size_t) arg->payload_length;
        if (need > ws->msg_size) {
                p = realloc(ws->msg, need);
                if (!p) {
                        ws->io_errno = ENOMEM;
                        wslay_event_shutdown_read(ctx);
                        return;
                }
                ws->msg = p;
                ws->msg_size = need;
        }
}

/* Called only for data that wslay found to be valid UTF-8 so far in a text message (it
 * checks before this callback, and closes with 1007 instead of calling it). */
static void wslay_frame_chunk_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_frame_recv_chunk_arg *arg,
                                 void *userdata) {
        FzdWs *ws = userdata;

        if (!is_data_frame(ws->frame_opcode) || ws->msg_binary || ws->too_big || !ws->msg ||
            arg->data_length > ws->msg_size - ws->msg_len)
                return;
        memcpy(ws->msg + ws->msg_len, arg->data, arg->data_length);
        ws->msg_len += arg->data_length;
}

/* A whole message: for a text message wslay has checked that all of it is UTF-8 (an
 * incomplete sequence at its end too) before calling this. */
static void wslay_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg, void *userdata) {
        FzdWs *ws = userdata;

        if (ws->freed || ws->rejected || ws->too_big || ws->state != STATE_OPEN)
                return;
        if (!is_data_frame(arg->opcode))
                return; /* a ping or close, possibly between the frames of a data message */
        if (arg->opcode == WSLAY_TEXT_FRAME) {
                if (ws->cb.message && ws->cb.message(ws->userdata, ws->msg ?: "", ws->msg_len) < 0) {
                        ws->rejected = true;
                        wslay_event_shutdown_read(ctx);
                }
        } else if (arg->opcode == WSLAY_BINARY_FRAME)
                log_debug("Ignoring a binary WebSocket message of %zu bytes from the portal.", ws->msg_len);
        if (ws->freed)
                return;
        ws->msg_len = 0;
        /* Keep a small buffer for the next message; give a big one (an init) back. */
        if (ws->msg_size > FZD_WS_MESSAGE_KEEP) {
                ws->msg = mfree(ws->msg);
                ws->msg_size = 0;
        }
}

/* ---- states ---------------------------------------------------------------------------- */

static void connect_next(FzdWs *ws);

static void open_fail(FzdWs *ws) {
        FzdWsError e = { .kind = FZD_WS_ERROR_IO };

        if (ws->freed || ws->state == STATE_DEAD)
                return;
        if (ws->too_big) {
                e.kind = FZD_WS_ERROR_TOO_BIG;
        } else if (ws->rejected) {
                e.kind = FZD_WS_ERROR_REJECTED;
        } else if (wslay_event_get_close_received(ws->wslay)) {
                e.kind = FZD_WS_ERROR_CLOSED;
                e.close_code = wslay_event_get_status_code_received(ws->wslay);
                /* Answer the close frame if we still can; we do not wait for it to drain. */
                (void) wslay_event_send(ws->wslay);
        } else if (ws->eof) {
                e.kind = FZD_WS_ERROR_EOF;
        } else if (ws->io_errno) {
                e.errnum = ws->io_errno;
        } else
                /* wslay stopped reading (and queued a close frame): text that is not UTF-8
                 * (1007), reserved bits, a bad opcode or close code, a masked frame (1002). */
                e.kind = FZD_WS_ERROR_PROTOCOL;
        fail(ws, &e);
}

static void process_open(FzdWs *ws) {
        int r;

        r = wslay_event_recv(ws->wslay);
        if (ws->freed || ws->state == STATE_DEAD)
                return;
        if (r < 0 || ws->rejected || ws->too_big || !wslay_event_get_read_enabled(ws->wslay)) {
                open_fail(ws);
                return;
        }
        if (wslay_event_want_write(ws->wslay)) {
                r = wslay_event_send(ws->wslay);
                if (r < 0) {
                        open_fail(ws);
                        return;
                }
        }
        r = update_io(ws, EPOLLIN | (wslay_event_want_write(ws->wslay) || ws->ssl_read_wants_write ? EPOLLOUT : 0));
        if (r < 0)
                fail_simple(ws, FZD_WS_ERROR_IO, r, NULL);
}

static void become_open(FzdWs *ws) {
        struct wslay_event_callbacks callbacks = {
                .recv_callback = wslay_recv_cb,
                .send_callback = wslay_send_cb,
                .genmask_callback = wslay_genmask_cb,
                .on_frame_recv_start_callback = wslay_frame_start_cb,
                .on_frame_recv_chunk_callback = wslay_frame_chunk_cb,
                .on_msg_recv_callback = wslay_msg_cb,
        };

        if (wslay_event_context_client_init(&ws->wslay, &callbacks, ws) != 0) {
                fail_simple(ws, FZD_WS_ERROR_IO, ENOMEM, NULL);
                return;
        }
        /* The message limit is ours (wslay_frame_start_cb): wslay's own check would come first
         * and look like any other protocol error. */
        wslay_event_config_set_max_recv_msg_length(ws->wslay, UINT64_MAX);
        /* Data messages are assembled by the chunk callback (one copy instead of three). */
        wslay_event_config_set_no_buffering(ws->wslay, 1);
        ws->state = STATE_OPEN;
        (void) sd_event_source_set_enabled(ws->timer, SD_EVENT_OFF);
        if (ws->cb.open)
                ws->cb.open(ws->userdata);
        if (ws->freed || ws->state != STATE_OPEN)
                return;
        process_open(ws);
}

static void http_recv(FzdWs *ws) {
        FzdHttpResponse resp;
        int r;

        for (;;) {
                ssize_t n;

                if (ws->resp_len >= FZD_HTTP_MAX_HEADER) {
                        fail_simple(ws, FZD_WS_ERROR_HANDSHAKE, 0, "the HTTP response header is too long");
                        return;
                }
                n = io_read(ws, ws->resp + ws->resp_len, FZD_HTTP_MAX_HEADER - ws->resp_len);
                if (n == -EAGAIN)
                        break;
                if (n == 0) {
                        fail_simple(ws, FZD_WS_ERROR_EOF, 0, "the server closed the connection during the handshake");
                        return;
                }
                if (n < 0) {
                        fail_simple(ws, FZD_WS_ERROR_IO, (int) n, NULL);
                        return;
                }
                ws->resp_len += (size_t) n;
                r = fzd_http_response_parse(ws->resp, ws->resp_len, ws->accept, &resp);
                if (r == -EAGAIN)
                        continue;
                if (r < 0) {
                        fail_simple(ws, FZD_WS_ERROR_HANDSHAKE, 0, "the server's answer is not HTTP");
                        return;
                }
                if (!resp.upgraded) {
                        FzdWsError e = { .kind = FZD_WS_ERROR_HTTP, .http_status = resp.status };
                        if (resp.status == 101) {
                                e.kind = FZD_WS_ERROR_HANDSHAKE;
                                (void) snprintf(e.detail, sizeof(e.detail), "the server's WebSocket upgrade is invalid");
                        }
                        e.has_retry_after = resp.has_retry_after;
                        memcpy(e.retry_after, resp.retry_after, sizeof(e.retry_after));
                        fail(ws, &e);
                        return;
                }
                ws->pre_off = resp.header_len;
                become_open(ws);
                return;
        }
        r = update_io(ws, EPOLLIN | (ws->ssl_read_wants_write ? EPOLLOUT : 0));
        if (r < 0)
                fail_simple(ws, FZD_WS_ERROR_IO, r, NULL);
}

static void http_send(FzdWs *ws) {
        int r;

        if (!ws->request) {
                char key[25];

                r = fzd_websocket_new_key(key);
                if (r >= 0)
                        r = fzd_websocket_accept_for_key(key, ws->accept);
                if (r >= 0)
                        r = fzd_http_upgrade_request(ws->target, ws->host_header, ws->user_agent, key, ws->token,
                                                     &ws->request);
                if (r < 0) {
                        fail_simple(ws, FZD_WS_ERROR_HANDSHAKE, 0, "could not build the upgrade request");
                        return;
                }
                ws->state = STATE_HTTP_SEND;
        }
        while (ws->request_sent < fzd_secret_len(ws->request)) {
                ssize_t n = io_write(ws, fzd_secret_get(ws->request) + ws->request_sent,
                                     fzd_secret_len(ws->request) - ws->request_sent);
                if (n == -EAGAIN) {
                        r = update_io(ws, EPOLLOUT | EPOLLIN);
                        if (r < 0)
                                fail_simple(ws, FZD_WS_ERROR_IO, r, NULL);
                        return;
                }
                if (n <= 0) {
                        fail_simple(ws, FZD_WS_ERROR_IO, n == 0 ? EPIPE : (int) n, NULL);
                        return;
                }
                ws->request_sent += (size_t) n;
        }
        /* The request held the token: gone as soon as it is written. */
        wipe_request(ws);
        ws->token = NULL;
        ws->resp = malloc(FZD_HTTP_MAX_HEADER);
        if (!ws->resp) {
                fail_simple(ws, FZD_WS_ERROR_IO, ENOMEM, NULL);
                return;
        }
        ws->state = STATE_HTTP_RECV;
        http_recv(ws);
}

static void tls_handshake(FzdWs *ws) {
        int n, e, r;

        ERR_clear_error();
        n = SSL_do_handshake(ws->ssl);
        if (n == 1) {
                http_send(ws);
                return;
        }
        e = SSL_get_error(ws->ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                r = update_io(ws, e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT);
                if (r < 0)
                        fail_simple(ws, FZD_WS_ERROR_IO, r, NULL);
                return;
        }
        {
                FzdWsError err = { .kind = FZD_WS_ERROR_TLS };
                bool verify = false;

                if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && SSL_get_verify_result(ws->ssl) == X509_V_OK) {
                        err.errnum = errno;
                        (void) snprintf(err.detail, sizeof(err.detail), "%s",
                                        errno ? strerror(errno) : "the server closed the connection");
                } else
                        fzd_tls_error_string(ws->ssl, err.detail, sizeof(err.detail), &verify);
                if (verify)
                        err.kind = FZD_WS_ERROR_TLS_VERIFY;
                fail(ws, &err);
        }
}

static void connected(FzdWs *ws) {
        int r;

        (void) arm_timer(ws, ws->handshake_deadline);
        if (ws->tls) {
                r = fzd_tls_new(ws->tls, ws->fd, ws->host, ws->host_is_ip, &ws->ssl);
                if (r < 0) {
                        fail_simple(ws, FZD_WS_ERROR_TLS, 0, "could not set up TLS");
                        return;
                }
                ws->state = STATE_TLS;
                tls_handshake(ws);
        } else
                http_send(ws);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata);

static void connect_next(FzdWs *ws) {
        int r;

        ws->io = sd_event_source_disable_unref(ws->io);
        ws->fd = safe_close(ws->fd);
        ws->io_events = 0;

        for (; ws->addr_idx < ws->n_addrs; ws->addr_idx++) {
                const struct sockaddr_storage *sa = &ws->addrs[ws->addr_idx];
                int one = 1;

                set_peer(ws, sa);
                ws->fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
                if (ws->fd < 0) {
                        ws->last_errno = errno;
                        continue;
                }
                if (ws->mark != 0 && setsockopt(ws->fd, SOL_SOCKET, SO_MARK, &ws->mark, sizeof(ws->mark)) < 0)
                        log_warning_errno(errno, "Failed to set the firewall mark on the portal socket, ignoring: %m");
                (void) setsockopt(ws->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

                r = connect(ws->fd, (const struct sockaddr *) sa, ws->addr_lens[ws->addr_idx]);
                if (r < 0 && errno != EINPROGRESS) {
                        ws->last_errno = errno;
                        ws->fd = safe_close(ws->fd);
                        continue;
                }
                r = sd_event_add_io(ws->event, &ws->io, ws->fd, EPOLLOUT, on_io, ws);
                if (r < 0) {
                        fail_simple(ws, FZD_WS_ERROR_IO, r, NULL);
                        return;
                }
                (void) sd_event_source_set_description(ws->io, "portal-socket");
                ws->io_events = EPOLLOUT;
                ws->state = STATE_CONNECTING;
                {
                        uint64_t d = now_usec(ws) + ws->connect_timeout;
                        (void) arm_timer(ws, d < ws->handshake_deadline ? d : ws->handshake_deadline);
                }
                return;
        }
        fail_simple(ws, FZD_WS_ERROR_CONNECT, ws->last_errno ? ws->last_errno : EHOSTUNREACH, NULL);
}

static void dispatch_end(FzdWs *ws) {
        if (--ws->dispatching == 0 && ws->freed)
                destroy(ws);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        FzdWs *ws = userdata;

        ws->dispatching++;
        switch (ws->state) {
        case STATE_CONNECTING: {
                int err = 0;
                socklen_t len = sizeof(err);

                if (getsockopt(ws->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                        err = errno;
                if (err == 0 && (revents & (EPOLLERR | EPOLLHUP)))
                        err = ECONNREFUSED;
                if (err != 0) {
                        ws->last_errno = err;
                        ws->addr_idx++;
                        connect_next(ws);
                } else
                        connected(ws);
                break;
        }
        case STATE_TLS:
                tls_handshake(ws);
                break;
        case STATE_HTTP_SEND:
                http_send(ws);
                break;
        case STATE_HTTP_RECV:
                http_recv(ws);
                break;
        case STATE_OPEN:
                process_open(ws);
                break;
        default:
                break;
        }
        dispatch_end(ws);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        FzdWs *ws = userdata;

        ws->dispatching++;
        if (ws->state == STATE_START) {
                ws->handshake_deadline += now_usec(ws);
                connect_next(ws);
        } else if (ws->state == STATE_CONNECTING && ws->addr_idx + 1 < ws->n_addrs && usec < ws->handshake_deadline) {
                ws->last_errno = ETIMEDOUT;
                ws->addr_idx++;
                connect_next(ws);
        } else if (ws->state != STATE_OPEN && ws->state != STATE_DEAD)
                fail_simple(ws, FZD_WS_ERROR_TIMEOUT, ETIMEDOUT, NULL);
        dispatch_end(ws);
        return 0;
}

int fzd_ws_new(sd_event *event, const FzdWsParams *p, const FzdWsCallbacks *callbacks, void *userdata,
               FzdWs **ret) {
        FzdWs *ws;
        int r;

        if (!p->addrs || p->n_addrs == 0 || !p->host || !p->host_header || !p->target || !p->user_agent || !p->token)
                return -EINVAL;

        ws = calloc(1, sizeof(*ws));
        if (!ws)
                return -ENOMEM;
        ws->fd = -EBADF;
        ws->event = sd_event_ref(event);
        ws->cb = *callbacks;
        ws->userdata = userdata;
        ws->addrs = calloc(p->n_addrs, sizeof(*ws->addrs));
        ws->addr_lens = calloc(p->n_addrs, sizeof(*ws->addr_lens));
        ws->host = strdup(p->host);
        ws->host_header = strdup(p->host_header);
        ws->target = strdup(p->target);
        ws->user_agent = strdup(p->user_agent);
        if (!ws->addrs || !ws->addr_lens || !ws->host || !ws->host_header || !ws->target || !ws->user_agent) {
                destroy(ws);
                return -ENOMEM;
        }
        memcpy(ws->addrs, p->addrs, p->n_addrs * sizeof(*ws->addrs));
        memcpy(ws->addr_lens, p->addr_lens, p->n_addrs * sizeof(*ws->addr_lens));
        ws->n_addrs = p->n_addrs;
        if (p->tls) {
                SSL_CTX_up_ref(p->tls);
                ws->tls = p->tls;
        }
        ws->host_is_ip = p->host_is_ip;
        ws->token = p->token;
        ws->mark = p->firewall_mark;
        ws->max_message = p->max_message;
        ws->connect_timeout = p->connect_timeout_usec;
        ws->handshake_deadline = p->handshake_timeout_usec; /* made absolute when we start */
        ws->state = STATE_START;

        /* Start from the loop, so that even an immediate failure is reported through the
         * callback after we returned. */
        r = sd_event_add_time(event, &ws->timer, CLOCK_MONOTONIC, 0, 0, on_timer, ws);
        if (r < 0) {
                destroy(ws);
                return r;
        }
        (void) sd_event_source_set_description(ws->timer, "portal-timer");
        *ret = ws;
        return 0;
}

FzdWs *fzd_ws_free(FzdWs *ws) {
        if (!ws)
                return NULL;
        if (ws->state == STATE_OPEN && ws->wslay && !wslay_event_get_close_sent(ws->wslay)) {
                /* One try at a polite goodbye; we do not wait for it. */
                (void) wslay_event_queue_close(ws->wslay, WSLAY_CODE_NORMAL_CLOSURE, NULL, 0);
                (void) wslay_event_send(ws->wslay);
                if (ws->ssl) {
                        ERR_clear_error();
                        (void) SSL_shutdown(ws->ssl);
                        ERR_clear_error();
                }
        }
        ws->state = STATE_DEAD;
        ws->freed = true;
        close_transport(ws);
        wipe_request(ws);
        if (ws->dispatching == 0)
                destroy(ws);
        return NULL;
}

int fzd_ws_send_text(FzdWs *ws, const char *data, size_t len) {
        struct wslay_event_msg msg = {
                .opcode = WSLAY_TEXT_FRAME,
                .msg = (const uint8_t *) data,
                .msg_length = len,
        };
        int r;

        if (!ws || ws->state != STATE_OPEN)
                return -ENOTCONN;
        r = wslay_event_queue_msg(ws->wslay, &msg);
        if (r != 0)
                return r == WSLAY_ERR_NOMEM ? -ENOMEM : -EPIPE;
        /* Flush from the loop: a send failure is then reported like any other. */
        return update_io(ws, EPOLLIN | EPOLLOUT);
}

