/* SPDX-License-Identifier: Apache-2.0 */
/* The fast path: worker threads moving packets between the TUN and the UDP sockets.
 *
 * TUN → UDP (tx_batch): up to TX_READS TUN reads per batch; each super-packet is split
 * (dp-offload.c) straight into send slots that leave room in front for the WireGuard
 * header and a TURN ChannelData header, and is encrypted in place; consecutive datagrams
 * to one path with one size become one UDP GSO send, and the whole batch one sendmmsg()
 * per socket. The route, session and path of a destination are looked up once per
 * destination per batch.
 *
 * UDP → TUN (rx_batch): one recvmmsg() of up to RX_BATCH (GRO-coalesced) datagrams;
 * each segment is classified (dp-classify.c), transport data decrypted in place, checked
 * against the routes (a peer may only send from addresses routed to it), and handed to
 * the coalescer, which writes TCP super-packets to the TUN at the end of the batch.
 *
 * Nothing here logs per packet or allocates after start; what the fast path cannot do
 * goes to the main loop's queue. */
#include <errno.h>
#include <netinet/udp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dp-internal.h"
#include "log.h"

#define TX_READS       64  /* TUN reads per batch */
#define TX_SLOTS       512 /* datagrams per batch */
#define TX_PATHS       16  /* distinct paths per batch */
#define TX_GSO_MAX     64  /* segments per GSO send (the kernel's UDP_MAX_SEGMENTS on older kernels) */
#define TX_GSO_BYTES   (64 * 1024 - 1024)
#define RX_BATCH       32
#define RX_BUF         (64 * 1024)
#define HEADROOM       (4 + FZD_WG_DATA_HEADER_LEN) /* ChannelData + WireGuard headers */
#define TUN_READ_BUF   (FZD_DP_VNET_HDR_LEN + FZD_DP_MAX_PACKET + 1)

typedef struct TxTarget {
        bool valid; /* describes family/dst */
        int family;
        uint8_t dst[16];
        FzdWgPeer *peer; /* referenced; NULL: no route */
        uint64_t cookie;
        FzdWgKeypair *kp; /* referenced; NULL: no session */
        bool has_path;
        FzdDpPath path;
        unsigned path_idx;
        unsigned data, keepalives;
        uint64_t bytes;
} TxTarget;

typedef struct TxSeg {
        uint8_t *data;
        uint16_t len;
        uint8_t path;
} TxSeg;

typedef union Cmsg {
        char buf[CMSG_SPACE(sizeof(uint16_t))];
        struct cmsghdr align;
} Cmsg;

typedef union RxCmsg {
        char buf[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct in6_pktinfo))];
        struct cmsghdr align;
} RxCmsg;

struct FzdDpWorker {
        FzdDataplane *dp;
        pthread_t thread;
        int epfd;
        bool do_tun;
        int udp[2];
        FzdWgAead *aead;
        uint64_t now;

        /* TX */
        uint8_t *tun_buf;
        uint8_t *slot_mem;
        size_t slot_size;
        unsigned n_segs;
        TxSeg segs[TX_SLOTS];
        struct iovec iovs[TX_SLOTS];
        struct mmsghdr msgs[TX_SLOTS];
        unsigned msg_first[TX_SLOTS];
        Cmsg cmsgs[TX_SLOTS];
        FzdDpPath paths[TX_PATHS];
        unsigned n_paths;
        TxTarget target;

        /* RX */
        uint8_t *rx_mem;
        struct mmsghdr rmsgs[RX_BATCH];
        struct iovec riovs[RX_BATCH];
        FzdDpAddr rnames[RX_BATCH];
        RxCmsg rcmsgs[RX_BATCH];
        FzdDpGro gro;
        FzdWgKeypair *rx_kp; /* referenced, for the batch */
        uint32_t rx_index;
        unsigned rx_data, rx_keepalives;
        uint64_t rx_bytes;
        int allowed_family; /* cache of the last source checked against the routes */
        uint8_t allowed_src[16];
        FzdWgPeer *allowed_peer;
        uint64_t allowed_cookie;              /* of the route that allowed_src matched */
        FzdDpRelay relays[FZD_DP_MAX_RELAYS]; /* private copy, refreshed by generation */
        unsigned n_relays;
        unsigned relay_gen;
        const FzdDpRelay *cur_relay;
};

/* ---- TX ------------------------------------------------------------------------------------- */

static void wake(FzdDataplane *dp, int r) {
        if (r & FZD_WG_WAKE)
                fzd_dp_queue_wake(&dp->queue);
}

static void target_note(FzdDpWorker *w, TxTarget *t) {
        if (t->kp && (t->data || t->keepalives))
                wake(w->dp, fzd_wg_keypair_note_tx(t->kp, w->now, t->data, t->keepalives, t->bytes));
        t->data = t->keepalives = 0;
        t->bytes = 0;
}

static void target_release(FzdDpWorker *w) {
        TxTarget *t = &w->target;

        target_note(w, t);
        t->kp = fzd_wg_keypair_unref(t->kp);
        t->peer = fzd_wg_peer_unref(t->peer);
        t->valid = false;
}

static unsigned path_index(FzdDpWorker *w, const FzdDpPath *p);
static void tx_flush(FzdDpWorker *w);

static void target_set(FzdDpWorker *w, int family, const uint8_t *dst) {
        FzdDataplane *dp = w->dp;
        TxTarget *t = &w->target;
        size_t alen = family == AF_INET ? 4 : 16;
        void *value = NULL;

        if (t->valid && t->family == family && memcmp(t->dst, dst, alen) == 0)
                return;
        target_release(w);
        t->valid = true;
        t->family = family;
        memcpy(t->dst, dst, alen);

        pthread_rwlock_rdlock(&dp->routes_lock);
        if (fzd_dp_routes_lookup(dp->routes, family, dst, &value, &t->cookie))
                t->peer = fzd_wg_peer_ref(value);
        pthread_rwlock_unlock(&dp->routes_lock);
        if (!t->peer)
                return;
        t->has_path = fzd_dp_peer_path(fzd_wg_peer_userdata(t->peer), &t->path);
        if (!t->has_path)
                return;
        t->kp = fzd_wg_peer_tx_keypair(t->peer);
        if (t->kp) {
                if (w->n_paths == TX_PATHS)
                        tx_flush(w);
                t->path_idx = path_index(w, &t->path);
        }
}

static unsigned path_index(FzdDpWorker *w, const FzdDpPath *p) {
        for (unsigned i = 0; i < w->n_paths; i++)
                if (fzd_dp_path_equal(&w->paths[i], p))
                        return i;
        w->paths[w->n_paths] = *p;
        return w->n_paths++;
}

static void to_control(FzdDpWorker *w, FzdDpPacketReason reason, const uint8_t *p, size_t len) {
        FzdDpItemHeader h = {
                .kind = FZD_DP_ITEM_PACKET,
                .peer = fzd_wg_peer_ref(w->target.peer),
                .cookie = w->target.cookie,
                .reason = reason,
        };
        (void) fzd_dp_queue_push(&w->dp->queue, &h, p, len);
}

static uint8_t *slot(FzdDpWorker *w, unsigned i) {
        return w->slot_mem + (size_t) i * w->slot_size;
}

/* Sink for the splitter: the plaintext goes where the encrypted datagram will start
 * HEADROOM bytes earlier. */
static uint8_t *tx_next(void *userdata, size_t max) {
        FzdDpWorker *w = userdata;

        if (max + HEADROOM + FZD_WG_TAG_LEN + 16 > w->slot_size)
                return NULL;
        if (w->n_segs == TX_SLOTS)
                tx_flush(w);
        return slot(w, w->n_segs) + HEADROOM;
}

static void tx_done(void *userdata, uint8_t *buf, size_t len) {
        FzdDpWorker *w = userdata;
        FzdDataplane *dp = w->dp;
        TxTarget *t = &w->target;
        uint8_t *msg = buf - FZD_WG_DATA_HEADER_LEN;
        ssize_t n;

        COUNT(dp, tun_packets, 1);
        if (!t->peer) {
                COUNT(dp, no_route, 1);
                to_control(w, FZD_DP_PACKET_NO_ROUTE, buf, len);
                return;
        }
        if (dp->cb.filter && !dp->cb.filter(dp->userdata, t->cookie, buf, len)) {
                COUNT(dp, filtered, 1);
                to_control(w, FZD_DP_PACKET_FILTERED, buf, len);
                return;
        }
        if (dp->cb.outbound)
                dp->cb.outbound(dp->userdata, t->cookie, buf, len);
        if (!t->kp || !t->has_path) {
                COUNT(dp, no_session, 1);
                to_control(w, FZD_DP_PACKET_NO_SESSION, buf, len);
                return;
        }
        n = fzd_wg_keypair_seal(t->kp, w->aead, w->now, buf, len, msg);
        if (n < 0) {
                /* Too old or used up: the main loop stages it and makes a new session. */
                target_note(w, t);
                t->kp = fzd_wg_keypair_unref(t->kp);
                COUNT(dp, no_session, 1);
                to_control(w, FZD_DP_PACKET_NO_SESSION, buf, len);
                return;
        }
        COUNT(dp, tx_bytes, len);
        if (t->path.channel != 0) {
                msg -= 4;
                msg[0] = (uint8_t) (t->path.channel >> 8);
                msg[1] = (uint8_t) t->path.channel;
                msg[2] = (uint8_t) (n >> 8);
                msg[3] = (uint8_t) n;
                n += 4;
        }
        t->data++;
        t->bytes += (uint64_t) n;
        w->segs[w->n_segs++] = (TxSeg) { .data = msg, .len = (uint16_t) n, .path = (uint8_t) t->path_idx };
}

static int tx_send(FzdDpWorker *w, int fam, unsigned first, unsigned n) {
        FzdDataplane *dp = w->dp;
        int fd = dp->udp_fd[fam];
        unsigned sent = 0;

        if (fd < 0) {
                COUNT(dp, send_errors, n);
                return 0;
        }
        while (sent < n) {
                int r = sendmmsg(fd, w->msgs + first + sent, n - sent, 0);
                if (r > 0) {
                        COUNT(dp, udp_sends, 1);
                        for (int i = 0; i < r; i++)
                                COUNT(dp, udp_datagrams, w->msgs[first + sent + (unsigned) i].msg_hdr.msg_iovlen);
                        sent += (unsigned) r;
                        continue;
                }
                if (errno == EINTR)
                        continue;
                if (errno == EAGAIN || errno == ENOBUFS) {
                        /* The socket buffer is full: wait (this is backpressure for the TUN
                         * reader), but not forever. */
                        struct pollfd pfd = { .fd = fd, .events = POLLOUT };
                        if (poll(&pfd, 1, 100) > 0)
                                continue;
                } else if (errno == EIO && w->msgs[first + sent].msg_hdr.msg_controllen > 0) {
                        /* The route's device cannot checksum GSO: off for this socket; the
                         * caller resends the rest one datagram per message. */
                        atomic_store(&dp->udp_gso[fam], false);
                        return (int) (first + sent);
                }
                COUNT(dp, send_errors, w->msgs[first + sent].msg_hdr.msg_iovlen);
                sent++;
        }
        return -1;
}

static void tx_flush(FzdDpWorker *w) {
        unsigned n_msgs = 0, i = 0, start;

        if (w->n_segs == 0) {
                w->n_paths = 0;
                return;
        }
again:
        n_msgs = 0;
        while (i < w->n_segs) {
                const TxSeg *s = &w->segs[i];
                const FzdDpPath *p = &w->paths[s->path];
                int fam = FZD_DP_FAM(p->family);
                struct msghdr *m = &w->msgs[n_msgs].msg_hdr;
                unsigned j = i + 1;
                size_t total = s->len;

                if (atomic_load_explicit(&w->dp->udp_gso[fam], memory_order_relaxed))
                        while (j < w->n_segs && j - i < TX_GSO_MAX && w->segs[j].path == s->path &&
                               w->segs[j].len <= s->len && total + w->segs[j].len <= TX_GSO_BYTES) {
                                total += w->segs[j].len;
                                /* A shorter one may only end the group. */
                                if (w->segs[j++].len < s->len)
                                        break;
                        }
                for (unsigned k = i; k < j; k++)
                        w->iovs[k] = (struct iovec) { .iov_base = w->segs[k].data, .iov_len = w->segs[k].len };
                *m = (struct msghdr) {
                        .msg_name = (void *) &p->dst,
                        .msg_namelen = p->family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6),
                        .msg_iov = &w->iovs[i],
                        .msg_iovlen = j - i,
                };
                if (j - i > 1) {
                        struct cmsghdr *c;
                        uint16_t gso = s->len;
                        m->msg_control = w->cmsgs[n_msgs].buf;
                        m->msg_controllen = sizeof w->cmsgs[n_msgs].buf;
                        c = CMSG_FIRSTHDR(m);
                        c->cmsg_level = SOL_UDP;
                        c->cmsg_type = UDP_SEGMENT;
                        c->cmsg_len = CMSG_LEN(sizeof gso);
                        memcpy(CMSG_DATA(c), &gso, sizeof gso);
                }
                w->msg_first[n_msgs++] = i;
                i = j;
        }

        /* One sendmmsg() per run of messages on the same socket. */
        start = 0;
        while (start < n_msgs) {
                int fam = FZD_DP_FAM(w->paths[w->segs[w->msg_first[start]].path].family), r;
                unsigned end = start + 1;
                while (end < n_msgs && FZD_DP_FAM(w->paths[w->segs[w->msg_first[end]].path].family) == fam)
                        end++;
                r = tx_send(w, fam, start, end - start);
                if (r >= 0) {
                        /* GSO failed at message r: regroup from its first datagram without it. */
                        i = w->msg_first[r];
                        goto again;
                }
                start = end;
        }
        w->n_segs = 0;
        w->n_paths = 0;
        /* The target's path index is gone with the batch's path table. */
        if (w->target.valid && w->target.kp)
                w->target.path_idx = path_index(w, &w->target.path);
}

static const FzdDpSegmentSink tx_sink_template = { .next = tx_next, .done = tx_done };

/* The destination of what the TUN gave us (enough to route it; the splitter checks the rest). */
static bool packet_dst(const uint8_t *p, size_t len, int *ret_family, const uint8_t **ret_dst) {
        if (len >= 20 && (p[0] >> 4) == 4) {
                *ret_family = AF_INET;
                *ret_dst = p + 16;
                return true;
        }
        if (len >= 40 && (p[0] >> 4) == 6) {
                *ret_family = AF_INET6;
                *ret_dst = p + 24;
                return true;
        }
        return false;
}

static void tx_batch(FzdDpWorker *w) {
        FzdDataplane *dp = w->dp;
        FzdDpSegmentSink sink = tx_sink_template;
        size_t off = dp->config.tun_vnet_hdr ? FZD_DP_VNET_HDR_LEN : 0;

        sink.userdata = w;
        w->now = fzd_dp_now();
        for (unsigned reads = 0; reads < TX_READS; reads++) {
                struct virtio_net_hdr h = {};
                const uint8_t *dst;
                int family;
                ssize_t n = read(dp->config.tun_fd, w->tun_buf, TUN_READ_BUF);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        break; /* EAGAIN, or the TUN went away (EBADFD): the main loop notices */
                }
                COUNT(dp, tun_reads, 1);
                if ((size_t) n <= off) {
                        COUNT(dp, malformed, 1);
                        continue;
                }
                if (off)
                        memcpy(&h, w->tun_buf, sizeof h);
                if (!packet_dst(w->tun_buf + off, (size_t) n - off, &family, &dst)) {
                        COUNT(dp, malformed, 1);
                        continue;
                }
                target_set(w, family, dst);
                if (fzd_dp_split(&h, w->tun_buf + off, (size_t) n - off, &sink) < 0)
                        COUNT(dp, malformed, 1);
        }
        tx_flush(w);
        target_release(w);
}

/* ---- RX ------------------------------------------------------------------------------------- */

static void rx_release(FzdDpWorker *w) {
        if (w->rx_kp && (w->rx_data || w->rx_keepalives))
                wake(w->dp, fzd_wg_keypair_note_rx(w->rx_kp, w->now, w->rx_data, w->rx_keepalives, w->rx_bytes));
        w->rx_kp = fzd_wg_keypair_unref(w->rx_kp);
        w->rx_data = w->rx_keepalives = 0;
        w->rx_bytes = 0;
}

static ssize_t tun_write(void *userdata, const struct iovec *iov, int n) {
        FzdDpWorker *w = userdata;
        ssize_t r;

        do
                r = writev(w->dp->config.tun_fd, iov, n);
        while (r < 0 && errno == EINTR);
        COUNT(w->dp, tun_writes, 1);
        return r;
}

/* A peer may only send from addresses routed to it (cryptokey routing). */
static bool allowed_source(FzdDpWorker *w, int family, const uint8_t *src, FzdWgPeer *peer) {
        FzdDataplane *dp = w->dp;
        size_t alen = family == AF_INET ? 4 : 16;
        void *value = NULL;
        uint64_t cookie = 0;

        if (w->allowed_family != family || memcmp(w->allowed_src, src, alen) != 0) {
                pthread_rwlock_rdlock(&dp->routes_lock);
                if (!fzd_dp_routes_lookup(dp->routes, family, src, &value, &cookie))
                        value = NULL;
                pthread_rwlock_unlock(&dp->routes_lock);
                w->allowed_family = family;
                memcpy(w->allowed_src, src, alen);
                w->allowed_peer = value; /* compared, never dereferenced */
                w->allowed_cookie = cookie;
        }
        return w->allowed_peer == peer;
}

static void rx_data(FzdDpWorker *w, uint8_t *msg, size_t len, int family, const FzdDpAddr *from, uint16_t channel) {
        FzdDataplane *dp = w->dp;
        uint32_t index = fzd_wg_le32(msg + FZD_WG_DATA_RECEIVER);
        FzdDpIpInfo ip;
        FzdDpPeer *dpp;
        ssize_t n;

        if (!w->rx_kp || w->rx_index != index) {
                rx_release(w);
                w->rx_kp = fzd_wg_lookup_keypair(dp->wg, index);
                w->rx_index = index;
                if (!w->rx_kp) {
                        COUNT(dp, unknown_index, 1);
                        return;
                }
        }
        n = fzd_wg_keypair_open(w->rx_kp, w->aead, w->now, msg, len, msg + FZD_WG_DATA_HEADER_LEN);
        if (n < 0) {
                if (n == -EALREADY)
                        COUNT(dp, replayed, 1);
                else if (n == -ESTALE)
                        COUNT(dp, stale, 1);
                else
                        COUNT(dp, decrypt_failed, 1);
                return;
        }
        w->rx_bytes += len;
        if (n == 0) {
                w->rx_keepalives++;
        } else {
                w->rx_data++;
                if (fzd_dp_is_p2p_control(msg + FZD_WG_DATA_HEADER_LEN, (size_t) n)) {
                        FzdDpItemHeader h = { .kind = FZD_DP_ITEM_P2P,
                                              .peer = fzd_wg_peer_ref(fzd_wg_keypair_peer(w->rx_kp)) };
                        (void) fzd_dp_queue_push(&dp->queue, &h, msg + FZD_WG_DATA_HEADER_LEN, (size_t) n);
                        return;
                }
                if (fzd_dp_ip_info(msg + FZD_WG_DATA_HEADER_LEN, (size_t) n, &ip) < 0) {
                        COUNT(dp, malformed, 1);
                        return;
                }
                if (!allowed_source(w, ip.family, ip.src, fzd_wg_keypair_peer(w->rx_kp))) {
                        COUNT(dp, not_allowed, 1);
                        return;
                }
        }

        /* Authenticated: a roaming peer's endpoint is where this came from. */
        dpp = fzd_wg_peer_userdata(fzd_wg_keypair_peer(w->rx_kp));
        if (dpp->roaming) {
                FzdDpPath p = { .family = family, .dst = *from, .channel = channel };
                if (fzd_dp_peer_learn_path(dpp, &p)) {
                        FzdDpItemHeader h = { .kind = FZD_DP_ITEM_ROAMED, .family = family, .from = *from, .channel = channel,
                                        .peer = fzd_wg_peer_ref(fzd_wg_keypair_peer(w->rx_kp)) };
                        (void) fzd_dp_queue_push(&dp->queue, &h, NULL, 0);
                }
        }
        if (n > 0) {
                uint8_t *packet = msg + FZD_WG_DATA_HEADER_LEN;

                if (dp->cb.inbound &&
                    !dp->cb.inbound(dp->userdata, dpp, w->allowed_cookie, packet, ip.total_len)) {
                        FzdDpItemHeader h = { .kind = FZD_DP_ITEM_REFUSED,
                                              .peer = fzd_wg_peer_ref(fzd_wg_keypair_peer(w->rx_kp)),
                                              .cookie = w->allowed_cookie };
                        COUNT(dp, inbound_refused, 1);
                        (void) fzd_dp_queue_push(&dp->queue, &h, packet, ip.total_len);
                        return;
                }
                COUNT(dp, tun_rx_packets, 1);
                COUNT(dp, rx_bytes, ip.total_len);
                fzd_dp_gro_add(&w->gro, packet, ip.total_len);
        }
}

static bool channel_bound(const void *userdata, uint16_t channel) {
        const FzdDpRelay *r = userdata;
        unsigned i = channel - 0x4000u;

        return channel >= 0x4000 && i < sizeof r->channels * 8 && (r->channels[i / 64] >> (i % 64) & 1);
}

static bool same_addr(const FzdDpAddr *a, const FzdDpAddr *b) {
        if (a->sa.sa_family != b->sa.sa_family)
                return false;
        if (a->sa.sa_family == AF_INET)
                return a->in.sin_port == b->in.sin_port && a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
        return a->in6.sin6_port == b->in6.sin6_port &&
               memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, sizeof a->in6.sin6_addr) == 0;
}

static void refresh_relays(FzdDpWorker *w) {
        FzdDataplane *dp = w->dp;
        unsigned gen = atomic_load(&dp->relay_gen);

        if (gen == w->relay_gen)
                return;
        pthread_rwlock_rdlock(&dp->relay_lock);
        memcpy(w->relays, dp->relays, sizeof(FzdDpRelay) * dp->n_relays);
        w->n_relays = dp->n_relays;
        pthread_rwlock_unlock(&dp->relay_lock);
        w->relay_gen = gen;
}

static void rx_segment(FzdDpWorker *w, uint8_t *p, size_t len, int family, const FzdDpAddr *from, bool from_relay,
                       const FzdDpAddr *local) {
        FzdDpRelayView view = { .from_relay = from_relay, .channel_bound = channel_bound, .userdata = w->cur_relay };
        FzdDpClassified c = fzd_dp_classify(p, len, &view);

        COUNT(w->dp, udp_rx_datagrams, 1);
        switch (c.class) {
        case FZD_DP_WG_DATA:
                rx_data(w, p + c.offset, c.len, family, from, c.channel);
                return;
        case FZD_DP_DROP:
                COUNT(w->dp, malformed, 1);
                return;
        default: {
                FzdDpItemHeader h = {
                        .kind = FZD_DP_ITEM_DATAGRAM,
                        .family = family,
                        .from = *from,
                        .local = *local,
                        .channel = c.channel,
                        .from_relay = from_relay,
                        .handshake = c.class == FZD_DP_WG_HANDSHAKE,
                };
                (void) fzd_dp_queue_push(&w->dp->queue, &h, p + c.offset, c.len);
                return;
        }
        }
}

static bool rx_batch(FzdDpWorker *w, int fam) {
        FzdDataplane *dp = w->dp;
        int family = fam ? AF_INET6 : AF_INET, n;

        for (unsigned i = 0; i < RX_BATCH; i++) {
                w->riovs[i] = (struct iovec) { .iov_base = w->rx_mem + (size_t) i * RX_BUF, .iov_len = RX_BUF };
                w->rmsgs[i].msg_hdr = (struct msghdr) {
                        .msg_name = &w->rnames[i],
                        .msg_namelen = sizeof w->rnames[i],
                        .msg_iov = &w->riovs[i],
                        .msg_iovlen = 1,
                        .msg_control = w->rcmsgs[i].buf,
                        .msg_controllen = sizeof w->rcmsgs[i].buf,
                };
        }
        n = recvmmsg(w->udp[fam], w->rmsgs, RX_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
                return false;
        COUNT(dp, udp_recvs, 1);
        w->now = fzd_dp_now();
        w->allowed_family = AF_UNSPEC;
        refresh_relays(w);

        for (int i = 0; i < n; i++) {
                struct msghdr *m = &w->rmsgs[i].msg_hdr;
                uint8_t *data = w->riovs[i].iov_base;
                size_t len = w->rmsgs[i].msg_len, seg = len;
                FzdDpAddr *from = &w->rnames[i], local = {};
                bool from_relay = false;

                if (m->msg_flags & MSG_TRUNC) {
                        COUNT(dp, malformed, 1);
                        continue;
                }
                for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c))
                        if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
                                int gso;
                                memcpy(&gso, CMSG_DATA(c), sizeof gso);
                                if (gso > 0)
                                        seg = (size_t) gso;
                        } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
                                struct in_pktinfo pi;
                                memcpy(&pi, CMSG_DATA(c), sizeof pi);
                                local.in = (struct sockaddr_in) { .sin_family = AF_INET, .sin_addr = pi.ipi_addr };
                        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
                                struct in6_pktinfo pi;
                                memcpy(&pi, CMSG_DATA(c), sizeof pi);
                                local.in6 = (struct sockaddr_in6) { .sin6_family = AF_INET6, .sin6_addr = pi.ipi6_addr };
                        }
                w->cur_relay = NULL;
                for (unsigned r = 0; r < w->n_relays; r++)
                        if (same_addr(&w->relays[r].addr, from)) {
                                w->cur_relay = &w->relays[r];
                                from_relay = true;
                                break;
                        }
                for (size_t off = 0; off < len; off += seg)
                        rx_segment(w, data + off, len - off < seg ? len - off : seg, family, from, from_relay, &local);
        }
        fzd_dp_gro_flush(&w->gro);
        rx_release(w);
        return n == RX_BATCH;
}

/* ---- threads -------------------------------------------------------------------------------- */

static void *worker_main(void *arg) {
        FzdDpWorker *w = arg;
        struct epoll_event ev[4];
        sigset_t all;

        /* Signals are the main loop's business. */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, NULL);
        for (;;) {
                int n = epoll_wait(w->epfd, ev, ELEMENTSOF(ev), -1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                for (int i = 0; i < n; i++) {
                        int what = (int) ev[i].data.u32;
                        if (what == 3)
                                return NULL;
                        if (ev[i].events & (EPOLLERR | EPOLLHUP) && what == 2) {
                                /* The TUN is gone: stop reading it, the main loop tears down. */
                                (void) epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->dp->config.tun_fd, NULL);
                                continue;
                        }
                        if (what == 2)
                                tx_batch(w);
                        else
                                (void) rx_batch(w, what);
                }
        }
        return NULL;
}

static void worker_free(FzdDpWorker *w) {
        if (!w)
                return;
        safe_close(w->epfd);
        rx_release(w);
        target_release(w);
        fzd_wg_aead_free(w->aead);
        free(w->tun_buf);
        free(w->slot_mem);
        free(w->rx_mem);
        free(w);
}

static int worker_new(FzdDataplane *dp, bool do_tun, bool udp4, bool udp6, FzdDpWorker **ret) {
        FzdDpWorker *w;
        struct epoll_event ev;

        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->dp = dp;
        w->epfd = epoll_create1(EPOLL_CLOEXEC);
        w->aead = fzd_wg_aead_new();
        w->udp[0] = udp4 ? dp->udp_fd[0] : -1;
        w->udp[1] = udp6 ? dp->udp_fd[1] : -1;
        w->do_tun = do_tun;
        /* A slot holds the headers, the largest packet padded to 16, and the tag. */
        w->slot_size = (HEADROOM + ((dp->config.mtu + 15) & ~(size_t) 15) + FZD_WG_TAG_LEN + 16 + 63) & ~(size_t) 63;
        if (w->epfd < 0 || !w->aead)
                goto fail;
        ev = (struct epoll_event) { .events = EPOLLIN, .data.u32 = 3 };
        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, dp->stop_fd, &ev) < 0)
                goto fail;
        if (do_tun) {
                w->tun_buf = malloc(TUN_READ_BUF);
                w->slot_mem = malloc(w->slot_size * TX_SLOTS);
                ev = (struct epoll_event) { .events = EPOLLIN, .data.u32 = 2 };
                if (!w->tun_buf || !w->slot_mem || epoll_ctl(w->epfd, EPOLL_CTL_ADD, dp->config.tun_fd, &ev) < 0)
                        goto fail;
        }
        if (w->udp[0] >= 0 || w->udp[1] >= 0) {
                w->rx_mem = malloc((size_t) RX_BATCH * RX_BUF);
                if (!w->rx_mem)
                        goto fail;
                for (int f = 0; f < 2; f++) {
                        if (w->udp[f] < 0)
                                continue;
                        ev = (struct epoll_event) { .events = EPOLLIN, .data.u32 = (uint32_t) f };
                        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->udp[f], &ev) < 0)
                                goto fail;
                }
                fzd_dp_gro_init(&w->gro, dp->config.tun_vnet_hdr, dp->tun_offloads != 0, tun_write, w);
        }
        w->relay_gen = (unsigned) -1;
        *ret = w;
        return 0;
fail:
        worker_free(w);
        return -ENOMEM;
}

int fzd_dp_workers_start(FzdDataplane *dp) {
        bool v4 = dp->udp_fd[0] >= 0, v6 = dp->udp_fd[1] >= 0;
        int r;

        dp->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (dp->stop_fd < 0)
                return -errno;
        switch (dp->config.threading) {
        case FZD_DP_THREADS_ONE:
                r = worker_new(dp, true, v4, v6, &dp->workers[dp->n_workers++]);
                break;
        case FZD_DP_THREADS_PER_SOCKET:
                r = worker_new(dp, true, false, false, &dp->workers[dp->n_workers++]);
                if (r >= 0 && v4)
                        r = worker_new(dp, false, true, false, &dp->workers[dp->n_workers++]);
                if (r >= 0 && v6)
                        r = worker_new(dp, false, false, true, &dp->workers[dp->n_workers++]);
                break;
        default:
                r = worker_new(dp, true, false, false, &dp->workers[dp->n_workers++]);
                if (r >= 0 && (v4 || v6))
                        r = worker_new(dp, false, v4, v6, &dp->workers[dp->n_workers++]);
                break;
        }
        if (r < 0) {
                dp->n_workers--;
                fzd_dp_workers_stop(dp);
                return r;
        }
        for (unsigned i = 0; i < dp->n_workers; i++) {
                r = -pthread_create(&dp->workers[i]->thread, NULL, worker_main, dp->workers[i]);
                if (r < 0) {
                        /* Those started see the stop signal; the others were never started. */
                        for (unsigned k = i; k < dp->n_workers; k++) {
                                worker_free(dp->workers[k]);
                                dp->workers[k] = NULL;
                        }
                        dp->n_workers = i;
                        fzd_dp_workers_stop(dp);
                        return r;
                }
        }
        return 0;
}

void fzd_dp_workers_stop(FzdDataplane *dp) {
        uint64_t one = 1;

        if (dp->stop_fd >= 0)
                (void) !write(dp->stop_fd, &one, sizeof one);
        for (unsigned i = 0; i < dp->n_workers; i++) {
                if (!dp->workers[i])
                        continue;
                if (dp->workers[i]->thread)
                        pthread_join(dp->workers[i]->thread, NULL);
                worker_free(dp->workers[i]);
                dp->workers[i] = NULL;
        }
        dp->n_workers = 0;
        dp->stop_fd = safe_close(dp->stop_fd);
}
