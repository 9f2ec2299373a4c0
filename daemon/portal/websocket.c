/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <wslay/wslay.h>

#include "big-alloc.h"
#include "http-upgrade.h"
#include "log.h"
#include "tls.h"
#include "utf8.h"
#include "websocket.h"

#define FZD_WS_MESSAGE_KEEP (64U * 1024U) /* a receive buffer up to this size is kept */
#define FZD_WS_RCVBUF       (4 * 1024 * 1024) /* the socket's receive buffer: see connect_next() */

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

        wslay_event_context_ptr wslay; /* sends; receiving is ours (see "receiving" below) */
        bool eof, too_big, rejected, protocol_error, close_received;
        uint16_t close_code;
        int io_errno;

        /* Received bytes not yet taken apart: frame headers, control payloads, the start of
         * a data payload. The rest of a large payload is read straight into msg. */
        uint8_t in[16384];
        size_t in_start, in_end;
        /* The frame being received. */
        bool frame_active, frame_fin;
        uint8_t frame_opcode;
        uint64_t frame_left;
        uint8_t ctl[125]; /* a control frame's payload */
        size_t ctl_len;
        /* The text message being received (a binary one is only counted). */
        char *msg;
        size_t msg_len, msg_size;
        size_t msg_checked; /* its first bytes found to be UTF-8 so far (whole characters) */
        bool msg_bad;       /* and something after them is not */
        bool in_message; /* inside the message callback: fzd_ws_take_message() may take msg */
        bool msg_active; /* a message whose last frame has not come yet */
        bool msg_binary;

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
        fzd_big_free(ws->msg);
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

/* wslay only sends (wslay_event_recv() is never called); it still wants a receive callback. */
static ssize_t wslay_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *userdata) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
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

/* ---- receiving ----------------------------------------------------------------------------
 *
 * Ours rather than wslay's: wslay reads through a 4 KiB buffer and checks UTF-8 one byte at a
 * time with a stored state, which took 6 of the 11 ms an init with 10,000 resources (2.8 MB)
 * spent arriving. Here the bytes come in reads of up to 16 KiB, a large payload is read
 * straight into the message buffer, and a text message is checked for UTF-8 once, whole
 * (eight ASCII bytes at a time). RFC 6455 from a client's side: frames from the server are not
 * masked, reserved bits and opcodes are refused (close 1002), control frames are short and
 * whole, continuation frames continue a message, text is UTF-8 (close 1007). */

/* Bytes received: first those that came with the HTTP answer. */
static ssize_t ws_read(FzdWs *ws, void *buf, size_t len) {
        if (ws->pre_off < ws->resp_len) {
                size_t k = ws->resp_len - ws->pre_off;
                if (k > len)
                        k = len;
                memcpy(buf, ws->resp + ws->pre_off, k);
                ws->pre_off += k;
                return (ssize_t) k;
        }
        return io_read(ws, buf, len);
}

/* Up to len bytes into buf. >0: that many came; 0: none yet (the loop waits); <0: the
 * connection ended (ws->eof or ws->io_errno say how). */
static ssize_t receive_into(FzdWs *ws, void *buf, size_t len) {
        ssize_t n = ws_read(ws, buf, len);

        if (n > 0)
                return n;
        if (n == -EAGAIN)
                return 0;
        if (n == 0)
                ws->eof = true;
        else
                ws->io_errno = (int) -n;
        return -EIO;
}

/* More bytes into ws->in (kept bytes moved to its start): as receive_into(). */
static int fill_in(FzdWs *ws) {
        ssize_t n;

        if (ws->in_start > 0) {
                memmove(ws->in, ws->in + ws->in_start, ws->in_end - ws->in_start);
                ws->in_end -= ws->in_start;
                ws->in_start = 0;
        }
        n = receive_into(ws, ws->in + ws->in_end, sizeof ws->in - ws->in_end);
        if (n > 0)
                ws->in_end += (size_t) n;
        return n > 0 ? 1 : (int) n;
}

static void protocol_error(FzdWs *ws, uint16_t code) {
        ws->protocol_error = true;
        (void) wslay_event_queue_close(ws->wslay, code, NULL, 0); /* sent by open_fail() */
}

static bool is_control(uint8_t opcode) {
        return opcode & 0x8;
}

/* The text received so far, checked while it is still in the cache (up to a character the
 * read may have cut), so that the check of the whole message has only the rest to do. */
static void check_received(FzdWs *ws) {
        size_t n;

        if (ws->msg_bad || ws->msg_len - ws->msg_checked < 4096)
                return;
        n = fzd_utf8_check_part(ws->msg + ws->msg_checked, ws->msg_len - ws->msg_checked);
        if (n == SIZE_MAX)
                ws->msg_bad = true; /* refused when the message is whole, as any other */
        else
                ws->msg_checked += n;
}

/* A frame header from ws->in. 1: read; 0: incomplete; <0: refused (protocol_error). */
static int frame_header(FzdWs *ws) {
        const uint8_t *h = ws->in + ws->in_start;
        size_t avail = ws->in_end - ws->in_start, need = 2;
        uint64_t len;
        uint8_t opcode;

        if (avail < 2)
                return 0;
        len = h[1] & 0x7f;
        need += len == 126 ? 2 : len == 127 ? 8 : 0;
        if (avail < need)
                return 0;
        opcode = h[0] & 0x0f;
        if ((h[0] & 0x70) || (h[1] & 0x80) || /* reserved bits; a masked frame from the server */
            (opcode > WSLAY_BINARY_FRAME && opcode < WSLAY_CONNECTION_CLOSE) || opcode > WSLAY_PONG) {
                protocol_error(ws, WSLAY_CODE_PROTOCOL_ERROR);
                return -EPROTO;
        }
        if (len == 126)
                len = (uint64_t) h[2] << 8 | h[3];
        else if (len == 127) {
                len = 0;
                for (int i = 2; i < 10; i++)
                        len = len << 8 | h[i];
                if (len >> 63) {
                        protocol_error(ws, WSLAY_CODE_PROTOCOL_ERROR);
                        return -EPROTO;
                }
        }
        ws->in_start += need;
        ws->frame_fin = h[0] & 0x80;
        ws->frame_opcode = opcode;
        ws->frame_left = len;
        ws->ctl_len = 0;
        if (is_control(opcode)) {
                if (!ws->frame_fin || len > sizeof ws->ctl) {
                        protocol_error(ws, WSLAY_CODE_PROTOCOL_ERROR);
                        return -EPROTO;
                }
        } else if ((opcode == WSLAY_CONTINUATION_FRAME) != ws->msg_active) {
                /* a continuation of nothing, or a new message inside one */
                protocol_error(ws, WSLAY_CODE_PROTOCOL_ERROR);
                return -EPROTO;
        } else {
                if (opcode != WSLAY_CONTINUATION_FRAME) {
                        ws->msg_len = ws->msg_checked = 0; /* a new message */
                        ws->msg_bad = false;
                        ws->msg_binary = opcode == WSLAY_BINARY_FRAME;
                        ws->msg_active = true;
                }
                /* The limit is checked here, for the message as a whole (continuation frames
                 * included), from each frame's header: nothing beyond it is ever buffered. */
                if (len > ws->max_message - ws->msg_len) {
                        ws->too_big = true;
                        return -EMSGSIZE;
                }
                if (!ws->msg_binary && ws->msg_len + len > ws->msg_size) {
                        char *p = fzd_big_realloc(ws->msg, ws->msg_len + len);
                        if (!p) {
                                ws->io_errno = ENOMEM;
                                return -ENOMEM;
                        }
                        ws->msg = p;
                        ws->msg_size = ws->msg_len + len;
                }
        }
        ws->frame_active = true;
        return 1;
}

/* n payload bytes of the current frame, from src. */
static void frame_payload(FzdWs *ws, const uint8_t *src, size_t n) {
        if (is_control(ws->frame_opcode)) {
                memcpy(ws->ctl + ws->ctl_len, src, n);
                ws->ctl_len += n;
        } else if (!ws->msg_binary)
                memcpy(ws->msg + ws->msg_len, src, n);
        if (!is_control(ws->frame_opcode))
                ws->msg_len += n; /* binary: counted only */
        ws->frame_left -= n;
}

static bool close_code_ok(uint16_t c) {
        return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1011) || (c >= 3000 && c <= 4999);
}

/* The current frame is whole. 0, or <0 when reading ends (a close, an error, the message
 * callback said so, or ws was freed by it). */
static int frame_done(FzdWs *ws) {
        ws->frame_active = false;
        switch (ws->frame_opcode) {
        case WSLAY_PING: {
                struct wslay_event_msg pong = { .opcode = WSLAY_PONG, .msg = ws->ctl, .msg_length = ws->ctl_len };
                if (wslay_event_queue_msg(ws->wslay, &pong) == WSLAY_ERR_NOMEM) {
                        ws->io_errno = ENOMEM;
                        return -ENOMEM;
                }
                return 0;
        }
        case WSLAY_PONG:
                return 0;
        case WSLAY_CONNECTION_CLOSE:
                if (ws->ctl_len == 1 ||
                    (ws->ctl_len >= 2 && (!close_code_ok((uint16_t) (ws->ctl[0] << 8 | ws->ctl[1])) ||
                                          !fzd_utf8_is_valid((const char *) ws->ctl + 2, ws->ctl_len - 2)))) {
                        protocol_error(ws, WSLAY_CODE_PROTOCOL_ERROR);
                        return -EPROTO;
                }
                ws->close_received = true;
                ws->close_code = ws->ctl_len >= 2 ? (uint16_t) (ws->ctl[0] << 8 | ws->ctl[1]) : WSLAY_CODE_NO_STATUS_RCVD;
                /* Answered with the same code (sent by open_fail()). */
                (void) wslay_event_queue_close(ws->wslay, ws->ctl_len >= 2 ? ws->close_code : 0, NULL, 0);
                return -ECONNRESET;
        }
        if (!ws->frame_fin)
                return 0;
        ws->msg_active = false;
        if (!ws->msg_binary) {
                if (ws->msg_bad || !fzd_utf8_is_valid(ws->msg ? ws->msg + ws->msg_checked : "",
                                                      ws->msg_len - ws->msg_checked)) {
                        protocol_error(ws, WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA);
                        return -EPROTO;
                }
                if (ws->cb.message) {
                        int r;

                        ws->in_message = true;
                        r = ws->cb.message(ws->userdata, ws->msg ?: "", ws->msg_len);
                        ws->in_message = false;
                        if (r < 0) {
                                ws->rejected = true;
                                return -ECANCELED;
                        }
                }
        } else
                log_debug("Ignoring a binary WebSocket message of %zu bytes from the portal.", ws->msg_len);
        if (ws->freed || ws->state != STATE_OPEN)
                return -ECANCELED;
        ws->msg_len = 0;
        /* Keep a small buffer for the next message; give a big one (an init) back. */
        if (ws->msg_size > FZD_WS_MESSAGE_KEEP) {
                fzd_big_free(ws->msg);
                ws->msg = NULL;
                ws->msg_size = 0;
        }
        return 0;
}

/* Everything there is to read now. 0: wait for more; <0: reading ended (see frame_done()). */
static int receive(FzdWs *ws) {
        for (;;) {
                int r;

                if (!ws->frame_active) {
                        r = frame_header(ws);
                        if (r < 0)
                                return r;
                        if (r == 0) {
                                r = fill_in(ws);
                                if (r <= 0)
                                        return r;
                                continue;
                        }
                }
                while (ws->frame_left > 0) {
                        size_t avail = ws->in_end - ws->in_start;

                        if (avail > 0) {
                                size_t k = avail < ws->frame_left ? avail : (size_t) ws->frame_left;
                                frame_payload(ws, ws->in + ws->in_start, k);
                                ws->in_start += k;
                        } else if (!is_control(ws->frame_opcode) && !ws->msg_binary &&
                                   ws->frame_left >= sizeof ws->in) {
                                /* Straight into the message, no copy. */
                                ssize_t n = receive_into(ws, ws->msg + ws->msg_len, (size_t) ws->frame_left);
                                if (n <= 0)
                                        return (int) n;
                                ws->msg_len += (size_t) n;
                                ws->frame_left -= (uint64_t) n;
                                check_received(ws);
                        } else {
                                ws->in_start = ws->in_end = 0;
                                r = fill_in(ws);
                                if (r <= 0)
                                        return r;
                        }
                }
                r = frame_done(ws);
                if (r < 0)
                        return r;
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
        } else if (ws->close_received) {
                e.kind = FZD_WS_ERROR_CLOSED;
                e.close_code = ws->close_code;
                /* Answer the close frame if we still can; we do not wait for it to drain. */
                (void) wslay_event_send(ws->wslay);
        } else if (ws->protocol_error) {
                /* Text that is not UTF-8 (1007), reserved bits, a bad opcode or close code, a
                 * masked frame (1002): our close frame says which, if it still gets out. */
                e.kind = FZD_WS_ERROR_PROTOCOL;
                (void) wslay_event_send(ws->wslay);
        } else if (ws->eof) {
                e.kind = FZD_WS_ERROR_EOF;
        } else if (ws->io_errno) {
                e.errnum = ws->io_errno;
        } else
                e.kind = FZD_WS_ERROR_PROTOCOL;
        fail(ws, &e);
}

static void process_open(FzdWs *ws) {
        int r;

        r = receive(ws);
        if (ws->freed || ws->state == STATE_DEAD)
                return;
        if (r < 0) {
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
        };

        if (wslay_event_context_client_init(&ws->wslay, &callbacks, ws) != 0) {
                fail_simple(ws, FZD_WS_ERROR_IO, ENOMEM, NULL);
                return;
        }
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
                /* A receive window for a whole init from the first byte. An init with 10,000
                 * resources is 2.8 MB; the kernel's window starts at 64 KiB and grows only as
                 * we read, so the portal sent it in six bursts with a wake-up each (on
                 * loopback 1.7 ms from its first byte to its last, 0.9 ms with this; on a
                 * real path each burst waits for our ACKs). Set before connect(), so that the
                 * window scale in the SYN allows it; a fixed size turns autotuning off for
                 * this socket, which is one long-lived connection. Past net.core.rmem_max
                 * (Debian's is 208 KiB) as the daemon may (CAP_NET_ADMIN), as wireguard-go
                 * does for its sockets; without that capability the kernel's autotuning is
                 * left as it is: a buffer capped at rmem_max would be smaller than it grows to. */
                {
                        int rcvbuf = FZD_WS_RCVBUF;
                        if (setsockopt(ws->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
                                log_debug_errno(errno, "Portal socket: keeping the kernel's receive buffer "
                                                       "autotuning (SO_RCVBUFFORCE: %m).");
                }

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

char *fzd_ws_take_message(FzdWs *ws) {
        char *m;

        if (!ws || !ws->in_message || !ws->msg)
                return NULL;
        m = TAKE_PTR(ws->msg);
        ws->msg_size = 0;
        return m;
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

