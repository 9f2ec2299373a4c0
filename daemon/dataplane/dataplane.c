/* SPDX-License-Identifier: Apache-2.0 */
/* The control side of the data plane, on the caller's sd-event loop: the WireGuard state
 * machine, the queue from the workers, the API of dataplane.h, and the log lines. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#include "dp-internal.h"
#include "dp-socket.h"
#include "log.h"

#define CONTROL_BUDGET      256 /* items per loop iteration, so the loop stays responsive */
#define UNDER_LOAD_BACKLOG  32  /* handshake messages queued: under load (WireGuard's 1/8 of the queue) */
#define UNDER_LOAD_LINGER   FZD_WG_NSEC_PER_SEC
#define LOG_WINDOW          (10 * FZD_WG_NSEC_PER_SEC)
#define LOG_LINES_PER_WINDOW 20

uint64_t fzd_dp_now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_BOOTTIME, &ts);
        return (uint64_t) ts.tv_sec * FZD_WG_NSEC_PER_SEC + (uint64_t) ts.tv_nsec;
}

static socklen_t addr_len(int family) {
        return family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

bool fzd_dp_path_equal(const FzdDpPath *a, const FzdDpPath *b) {
        if (a->family != b->family || a->channel != b->channel || a->dst.sa.sa_family != b->dst.sa.sa_family)
                return false;
        if (a->dst.sa.sa_family == AF_INET)
                return a->dst.in.sin_port == b->dst.in.sin_port && a->dst.in.sin_addr.s_addr == b->dst.in.sin_addr.s_addr;
        return a->dst.in6.sin6_port == b->dst.in6.sin6_port &&
               memcmp(&a->dst.in6.sin6_addr, &b->dst.in6.sin6_addr, sizeof a->dst.in6.sin6_addr) == 0;
}

bool fzd_dp_peer_path(FzdDpPeer *p, FzdDpPath *ret) {
        bool has;

        pthread_spin_lock(&p->lock);
        has = p->has_path;
        if (has)
                *ret = p->path;
        pthread_spin_unlock(&p->lock);
        return has;
}

bool fzd_dp_peer_learn_path(FzdDpPeer *p, const FzdDpPath *path) {
        bool changed;

        pthread_spin_lock(&p->lock);
        changed = !p->has_path || !fzd_dp_path_equal(&p->path, path);
        if (changed) {
                p->path = *path;
                p->has_path = true;
        }
        pthread_spin_unlock(&p->lock);
        return changed;
}

/* ---- log lines: about peers by public key, about sources by address; never packet bytes;
 * rate-limited, since the network decides how many there would be --------------------------- */

static bool log_allowed(FzdDataplane *dp) {
        uint64_t now = fzd_dp_now();

        if (now - dp->log_window >= LOG_WINDOW) {
                if (dp->log_lines > LOG_LINES_PER_WINDOW)
                        log_info("Data plane: %u log messages suppressed in the last %u s.",
                                 dp->log_lines - LOG_LINES_PER_WINDOW, (unsigned) (LOG_WINDOW / FZD_WG_NSEC_PER_SEC));
                dp->log_window = now;
                dp->log_lines = 0;
        }
        return ++dp->log_lines <= LOG_LINES_PER_WINDOW;
}

static const char *format_addr(const FzdDpAddr *a, uint16_t channel, char *buf, size_t size) {
        char ip[INET6_ADDRSTRLEN] = "?";

        if (a->sa.sa_family == AF_INET) {
                inet_ntop(AF_INET, &a->in.sin_addr, ip, sizeof ip);
                snprintf(buf, size, "%s:%u", ip, ntohs(a->in.sin_port));
        } else if (a->sa.sa_family == AF_INET6) {
                inet_ntop(AF_INET6, &a->in6.sin6_addr, ip, sizeof ip);
                snprintf(buf, size, "[%s]:%u", ip, ntohs(a->in6.sin6_port));
        } else
                snprintf(buf, size, "(unknown)");
        if (channel != 0) {
                size_t n = strlen(buf);
                snprintf(buf + n, size - n, " channel 0x%04x", channel);
        }
        return buf;
}

#define ADDR_STR_MAX (INET6_ADDRSTRLEN + 32)
#define ADDR(a, ch) format_addr((a), (ch), (char[ADDR_STR_MAX]) {}, ADDR_STR_MAX)
#define KEY(k)      key_string((k), (char[FZD_WG_KEY_B64_LEN]) {})

static const char *key_string(const uint8_t *key, char buf[FZD_WG_KEY_B64_LEN]) {
        fzd_wg_key_to_base64(buf, key);
        return buf;
}

/* ---- sending ----------------------------------------------------------------------------------- */

static int send_on_path(FzdDataplane *dp, const FzdDpPath *path, const uint8_t *data, size_t len) {
        int fd = dp->udp_fd[FZD_DP_FAM(path->family)];
        uint8_t hdr[4];
        struct iovec iov[2];
        struct msghdr m = {
                .msg_name = (void *) &path->dst,
                .msg_namelen = addr_len(path->family),
                .msg_iov = iov,
        };

        if (fd < 0)
                return -EAFNOSUPPORT;
        if (path->channel != 0) {
                if (len > UINT16_MAX)
                        return -EMSGSIZE;
                hdr[0] = (uint8_t) (path->channel >> 8);
                hdr[1] = (uint8_t) path->channel;
                hdr[2] = (uint8_t) (len >> 8);
                hdr[3] = (uint8_t) len;
                iov[m.msg_iovlen++] = (struct iovec) { .iov_base = hdr, .iov_len = 4 };
        }
        iov[m.msg_iovlen++] = (struct iovec) { .iov_base = (void *) data, .iov_len = len };
        if (sendmsg(fd, &m, MSG_DONTWAIT) < 0) {
                dp->control_send_errors++;
                return -errno;
        }
        return 0;
}

/* ---- the WireGuard state machine's callbacks (main loop) ------------------------------------------ */

static void wg_send(void *userdata, FzdWgPeer *peer, const uint8_t *data, size_t len) {
        FzdDataplane *dp = userdata;
        FzdDpPeer *p = fzd_wg_peer_userdata(peer);
        FzdDpPath path;

        if (!fzd_dp_peer_path(p, &path)) {
                if (log_allowed(dp))
                        log_debug("No path to peer %s yet, not sending.", KEY(fzd_wg_peer_public_key(peer)));
                dp->control_send_errors++;
                return;
        }
        (void) send_on_path(dp, &path, data, len);
}

static void emit(FzdDataplane *dp, FzdDpPeer *p, FzdDpPeerEvent event) {
        if (dp->cb.peer_event)
                dp->cb.peer_event(dp->userdata, p, event);
}

static void path_changed(FzdDataplane *dp, FzdDpPeer *p) {
        FzdDpPath path;

        if (fzd_dp_peer_path(p, &path) && log_allowed(dp))
                log_info("Peer %s is now at %s.", KEY(fzd_wg_peer_public_key(p->wg)), ADDR(&path.dst, path.channel));
        emit(dp, p, FZD_DP_PEER_PATH_CHANGED);
}

static void wg_authenticated(void *userdata, FzdWgPeer *peer) {
        FzdDataplane *dp = userdata;
        FzdDpPeer *p = fzd_wg_peer_userdata(peer);
        const FzdDpItemHeader *in;
        FzdDpPath known;

        /* A roaming peer follows its authenticated packets. Any other peer's path is ICE's
         * to set — but until ICE has set one, the source of an authenticated handshake
         * message is where the answer must go (a responder whose agent has not selected a
         * pair yet would drop its response, and the initiator would wait 5 s to retry). */
        if (!dp->current_input || (!p->roaming && fzd_dp_peer_path(p, &known)))
                return;
        in = &dp->current_input->h;
        if (fzd_dp_peer_learn_path(p, &(FzdDpPath) { .family = in->family, .dst = in->from, .channel = in->channel }))
                path_changed(dp, p);
}

static void wg_event(void *userdata, FzdWgPeer *peer, FzdWgEvent event) {
        FzdDataplane *dp = userdata;
        FzdDpPeer *p = fzd_wg_peer_userdata(peer);
        const char *key = KEY(fzd_wg_peer_public_key(peer));

        switch (event) {
        case FZD_WG_EVENT_HANDSHAKE_SENT:
                log_debug("Sent a handshake initiation to peer %s.", key);
                return;
        case FZD_WG_EVENT_HANDSHAKE_COMPLETE:
                log_info("Handshake with peer %s complete (we initiated).", key);
                emit(dp, p, FZD_DP_PEER_HANDSHAKE_COMPLETE);
                return;
        case FZD_WG_EVENT_SESSION_CONFIRMED:
                log_info("Handshake with peer %s complete (the peer initiated).", key);
                emit(dp, p, FZD_DP_PEER_HANDSHAKE_COMPLETE);
                return;
        case FZD_WG_EVENT_HANDSHAKE_FAILED:
                log_warning("Handshake with peer %s did not complete within %llu s; giving up and dropping its queued "
                            "packets.",
                            key,
                            (unsigned long long) (fzd_wg_timers(dp->wg)->rekey_attempt_time / FZD_WG_NSEC_PER_SEC));
                emit(dp, p, FZD_DP_PEER_HANDSHAKE_FAILED);
                return;
        case FZD_WG_EVENT_KEYS_EXPIRED:
                log_info("Session keys of peer %s expired and were wiped.", key);
                emit(dp, p, FZD_DP_PEER_KEYS_EXPIRED);
                return;
        case FZD_WG_EVENT_COOKIE_RECEIVED:
                log_info("Peer %s is under load and sent a cookie; the next initiation carries it.", key);
                return;
        }
}

static void wg_peer_freed(void *userdata) {
        FzdDpPeer *p = userdata;

        pthread_spin_destroy(&p->lock);
        free(p);
}

/* ---- the queue from the workers ------------------------------------------------------------------- */

static void rearm(FzdDataplane *dp) {
        uint64_t d = fzd_wg_next_deadline(dp->wg);

        if (!dp->timer_source)
                return;
        if (d == FZD_WG_NEVER) {
                (void) sd_event_source_set_enabled(dp->timer_source, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time(dp->timer_source, (d + 999) / 1000);
        (void) sd_event_source_set_enabled(dp->timer_source, SD_EVENT_ONESHOT);
}

/* Address bytes || port || channel: what the responder's cookie binds to. */
static size_t source_bytes(const FzdDpItemHeader *h, uint8_t out[20]) {
        size_t n;

        if (h->from.sa.sa_family == AF_INET) {
                memcpy(out, &h->from.in.sin_addr, 4);
                memcpy(out + 4, &h->from.in.sin_port, 2);
                n = 6;
        } else {
                memcpy(out, &h->from.in6.sin6_addr, 16);
                memcpy(out + 16, &h->from.in6.sin6_port, 2);
                n = 18;
        }
        if (h->channel != 0) {
                out[n++] = (uint8_t) (h->channel >> 8);
                out[n++] = (uint8_t) h->channel;
        }
        return n;
}

static void handle_handshake(FzdDataplane *dp, const FzdDpItem *it, uint64_t now) {
        const FzdDpItemHeader *h = &it->h;
        const char *what = it->data[0] == FZD_WG_MSG_INITIATION ? "initiation"
                           : it->data[0] == FZD_WG_MSG_RESPONSE ? "response"
                                                                : "cookie reply";
        uint8_t src[20];
        size_t srclen = source_bytes(h, src);
        bool under_load = dp->config.force_under_load;
        FzdWgInput in;
        int r;

        if (fzd_dp_queue_handshakes(&dp->queue) >= UNDER_LOAD_BACKLOG)
                dp->under_load_until = now + UNDER_LOAD_LINGER;
        under_load = under_load || now < dp->under_load_until;
        if (under_load)
                dp->handshakes_under_load++;

        dp->current_input = it;
        r = fzd_wg_handle_handshake(dp->wg, it->data, h->len, src, srclen, now, under_load, &in);
        dp->current_input = NULL;
        if (r >= 0)
                return;

        switch (r) {
        case -EAGAIN:
                if (in.reply_len > 0)
                        (void) send_on_path(dp, &(FzdDpPath) { .family = h->family, .dst = h->from, .channel = h->channel },
                                            in.reply, in.reply_len);
                if (log_allowed(dp))
                        log_debug("Under load: answered a handshake %s from %s with a cookie.", what,
                                  ADDR(&h->from, h->channel));
                break;
        case -EBADMSG:
                if (!log_allowed(dp))
                        break;
                if (in.peer)
                        log_warning("Handshake %s from peer %s (%s) failed to authenticate: the preshared key or "
                                    "the keys do not match.",
                                    what, KEY(fzd_wg_peer_public_key(in.peer)), ADDR(&h->from, h->channel));
                else
                        log_warning("Dropped a handshake %s from %s that does not authenticate (mac1): the peer "
                                    "does not have our public key %s.",
                                    what, ADDR(&h->from, h->channel), KEY(fzd_wg_public_key(dp->wg)));
                break;
        case -ENOKEY:
                if (log_allowed(dp))
                        log_warning("Dropped a handshake initiation from %s: public key %s is not a peer.",
                                    ADDR(&h->from, h->channel), KEY(in.remote_static));
                break;
        case -EALREADY:
                if (log_allowed(dp))
                        log_info("Dropped a replayed handshake initiation from peer %s (%s).",
                                 KEY(fzd_wg_peer_public_key(in.peer)), ADDR(&h->from, h->channel));
                break;
        default:
                if (log_allowed(dp))
                        log_debug("Dropped a handshake %s from %s: %s", what, ADDR(&h->from, h->channel),
                                  strerror(-r));
                break;
        }
}

static void handle_item(FzdDataplane *dp, FzdDpItem *it, uint64_t now) {
        FzdDpItemHeader *h = &it->h;
        FzdDpPeer *p = h->peer ? fzd_wg_peer_userdata(h->peer) : NULL;

        dp->control_items++;
        switch (h->kind) {
        case FZD_DP_ITEM_DATAGRAM:
                if (h->handshake)
                        handle_handshake(dp, it, now);
                else if (dp->cb.datagram)
                        dp->cb.datagram(dp->userdata, &(FzdDpDatagram) {
                                                              .family = h->family,
                                                              .from = h->from,
                                                              .channel = h->channel,
                                                              .from_relay = h->from_relay,
                                                              .local = h->local,
                                                              .data = it->data,
                                                              .len = h->len,
                                                      });
                return;
        case FZD_DP_ITEM_PACKET:
                if (dp->cb.packet)
                        dp->cb.packet(dp->userdata, p, h->cookie, h->reason, it->data, h->len);
                return;
        case FZD_DP_ITEM_ROAMED:
                if (p)
                        path_changed(dp, p);
                return;
        case FZD_DP_ITEM_P2P:
                if (p && dp->cb.p2p_control)
                        dp->cb.p2p_control(dp->userdata, p, it->data, h->len);
                return;
        case FZD_DP_ITEM_REFUSED:
                if (p && dp->cb.inbound_refused)
                        dp->cb.inbound_refused(dp->userdata, p, h->cookie, it->data, h->len);
                return;
        }
}

static int on_queue(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        FzdDataplane *dp = userdata;
        uint64_t now = fzd_dp_now();
        FzdDpItem *it;

        (void) fzd_dp_queue_drain_signal(&dp->queue);
        for (unsigned n = 0; n < CONTROL_BUDGET && (it = fzd_dp_queue_peek(&dp->queue)); n++) {
                handle_item(dp, it, now);
                fzd_dp_queue_pop(&dp->queue);
        }
        /* More than one iteration's worth: come back after the other sources had a turn. */
        if (fzd_dp_queue_peek(&dp->queue))
                (void) !write(dp->queue.eventfd, &(uint64_t) { 1 }, sizeof(uint64_t));
        (void) fzd_wg_tick(dp->wg, now);
        rearm(dp);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        FzdDataplane *dp = userdata;

        (void) fzd_wg_tick(dp->wg, fzd_dp_now());
        rearm(dp);
        return 0;
}

/* ---- life cycle ------------------------------------------------------------------------------------ */

static void unref_route_value(void *value) {
        fzd_wg_peer_unref(value);
}

int fzd_dataplane_new(sd_event *event, const FzdDataplaneConfig *config, const FzdDpCallbacks *callbacks,
                      void *userdata, FzdDataplane **ret) {
        _cleanup_(fzd_dataplane_freep) FzdDataplane *dp = NULL;
        FzdWgConfig wc = {};
        struct timespec rt;
        int r, zero = 0;

        if (!event || config->tun_fd < 0 || (config->udp4_fd < 0 && config->udp6_fd < 0) || config->mtu < 576 ||
            config->mtu > 9000)
                return -EINVAL;
        r = fzd_wg_crypto_init();
        if (r < 0)
                return log_error_errno(r, "The crypto library lacks what WireGuard needs: %m");

        dp = calloc(1, sizeof *dp);
        if (!dp)
                return log_oom();
        dp->stop_fd = -EBADF;
        dp->config = *config;
        fzd_wg_wipe(dp->config.private_key, sizeof dp->config.private_key);
        if (callbacks)
                dp->cb = *callbacks;
        dp->userdata = userdata;
        dp->udp_fd[0] = config->udp4_fd;
        dp->udp_fd[1] = config->udp6_fd;
        pthread_rwlock_init(&dp->routes_lock, NULL);
        pthread_rwlock_init(&dp->relay_lock, NULL);
        r = fzd_dp_queue_init(&dp->queue);
        if (r < 0)
                return log_error_errno(r, "Failed to create the data plane's queue: %m");
        r = fzd_dp_routes_new(&dp->routes);
        if (r < 0)
                return log_oom();

        for (int f = 0; f < 2; f++) {
                if (dp->udp_fd[f] < 0)
                        continue;
                if (config->disable_offloads)
                        (void) setsockopt(dp->udp_fd[f], IPPROTO_UDP, UDP_GRO, &zero, sizeof zero);
                atomic_store(&dp->udp_gso[f], !config->disable_offloads && fzd_dp_udp_gso_supported(dp->udp_fd[f]));
                dp->udp_gro[f] = fzd_dp_udp_gro_enabled(dp->udp_fd[f]);
        }
        if (config->tun_vnet_hdr && !config->disable_offloads) {
                r = fzd_dp_tun_enable_offloads(config->tun_fd, &dp->tun_offloads);
                if (r < 0)
                        log_info_errno(r, "The TUN takes no offloads (%m): one packet per read and write.");
        }
        log_debug("Data plane: TUN offloads 0x%x, UDP GSO %s/%s, UDP GRO %s/%s.", dp->tun_offloads,
                  atomic_load(&dp->udp_gso[0]) ? "yes" : "no", atomic_load(&dp->udp_gso[1]) ? "yes" : "no",
                  dp->udp_gro[0] ? "yes" : "no", dp->udp_gro[1] ? "yes" : "no");

        memcpy(wc.private_key, config->private_key, sizeof wc.private_key);
        wc.timers = config->timers;
        wc.mtu = config->mtu;
        clock_gettime(CLOCK_REALTIME, &rt);
        wc.realtime_base = (uint64_t) rt.tv_sec * FZD_WG_NSEC_PER_SEC + (uint64_t) rt.tv_nsec - fzd_dp_now();
        r = fzd_wg_new(&wc,
                       &(FzdWgCallbacks) {
                               .send = wg_send,
                               .authenticated = wg_authenticated,
                               .event = wg_event,
                               .peer_freed = wg_peer_freed,
                       },
                       dp, &dp->wg);
        fzd_wg_wipe(wc.private_key, sizeof wc.private_key);
        if (r < 0)
                return log_error_errno(r, "Failed to set up WireGuard: %m");

        if (event) {
                dp->event = sd_event_ref(event);
                r = sd_event_add_io(event, &dp->queue_source, dp->queue.eventfd, EPOLLIN, on_queue, dp);
                if (r < 0)
                        return log_error_errno(r, "Failed to watch the data plane's queue: %m");
                r = sd_event_add_time(event, &dp->timer_source, CLOCK_BOOTTIME, 0, USEC_PER_MSEC, on_timer, dp);
                if (r < 0)
                        return log_error_errno(r, "Failed to add the WireGuard timer: %m");
                (void) sd_event_source_set_enabled(dp->timer_source, SD_EVENT_OFF);
                (void) sd_event_source_set_description(dp->queue_source, "dataplane-queue");
                (void) sd_event_source_set_description(dp->timer_source, "wireguard-timers");
        }
        *ret = TAKE_PTR(dp);
        return 0;
}

int fzd_dataplane_start(FzdDataplane *dp) {
        int r;

        if (dp->started)
                return 0;
        r = fzd_dp_workers_start(dp);
        if (r < 0)
                return log_error_errno(r, "Failed to start the data plane's threads: %m");
        dp->started = true;
        return 0;
}

FzdDataplane *fzd_dataplane_free(FzdDataplane *dp) {
        if (!dp)
                return NULL;
        fzd_dp_workers_stop(dp);
        dp->queue_source = sd_event_source_disable_unref(dp->queue_source);
        dp->timer_source = sd_event_source_disable_unref(dp->timer_source);
        dp->event = sd_event_unref(dp->event);
        if (dp->routes)
                dp->routes = fzd_dp_routes_free_values(dp->routes, unref_route_value);
        fzd_dp_queue_done(&dp->queue);
        dp->wg = fzd_wg_free(dp->wg);
        fzd_wg_aead_free(dp->control_aead);
        pthread_rwlock_destroy(&dp->routes_lock);
        pthread_rwlock_destroy(&dp->relay_lock);
        free(dp);
        return NULL;
}

const uint8_t *fzd_dataplane_public_key(const FzdDataplane *dp) {
        return fzd_wg_public_key(dp->wg);
}

FzdWg *fzd_dataplane_wireguard(FzdDataplane *dp) {
        return dp->wg;
}

/* ---- peers ------------------------------------------------------------------------------------------ */

int fzd_dataplane_peer_add(FzdDataplane *dp, const uint8_t public_key[FZD_WG_KEY_LEN],
                           const uint8_t psk[FZD_WG_KEY_LEN], bool roaming, void *userdata, FzdDpPeer **ret) {
        FzdDpPeer *p = calloc(1, sizeof *p);
        int r;

        if (!p)
                return -ENOMEM;
        pthread_spin_init(&p->lock, PTHREAD_PROCESS_PRIVATE);
        p->dp = dp;
        p->roaming = roaming;
        p->userdata = userdata;
        r = fzd_wg_peer_new(dp->wg, public_key, psk, p, &p->wg);
        if (r < 0) {
                pthread_spin_destroy(&p->lock);
                free(p);
                return r;
        }
        if (ret)
                *ret = p;
        return 0;
}

void fzd_dataplane_peer_remove(FzdDataplane *dp, FzdDpPeer *p) {
        size_t n;

        pthread_rwlock_wrlock(&dp->routes_lock);
        n = fzd_dp_routes_remove_value(dp->routes, p->wg);
        pthread_rwlock_unlock(&dp->routes_lock);
        while (n-- > 0)
                fzd_wg_peer_unref(p->wg);
        /* p may be freed here (or later, when the fast path lets go of the peer). */
        fzd_wg_peer_remove(p->wg);
        rearm(dp);
}

FzdDpPeer *fzd_dataplane_peer_find(FzdDataplane *dp, const uint8_t public_key[FZD_WG_KEY_LEN]) {
        FzdWgPeer *peer = fzd_wg_peer_find(dp->wg, public_key);
        return peer ? fzd_wg_peer_userdata(peer) : NULL;
}

void *fzd_dp_peer_userdata(const FzdDpPeer *peer) {
        return peer->userdata;
}

FzdWgPeer *fzd_dp_peer_wireguard(const FzdDpPeer *peer) {
        return peer->wg;
}

int fzd_dataplane_peer_set_path(FzdDataplane *dp, FzdDpPeer *p, const FzdDpPath *path) {
        if (path) {
                if ((path->family != AF_INET && path->family != AF_INET6) || path->dst.sa.sa_family != path->family)
                        return -EAFNOSUPPORT;
                if (dp->udp_fd[FZD_DP_FAM(path->family)] < 0)
                        return -EAFNOSUPPORT;
                if (path->channel != 0 && (path->channel < 0x4000 || path->channel > 0x4fff))
                        return -EINVAL;
        }
        pthread_spin_lock(&p->lock);
        p->has_path = path != NULL;
        if (path)
                p->path = *path;
        pthread_spin_unlock(&p->lock);
        return 0;
}

bool fzd_dataplane_peer_get_path(FzdDataplane *dp, FzdDpPeer *p, FzdDpPath *ret) {
        return fzd_dp_peer_path(p, ret);
}

void fzd_dataplane_peer_get_stats(FzdDataplane *dp, FzdDpPeer *p, FzdWgPeerStats *ret) {
        (void) dp;
        fzd_wg_peer_get_stats(p->wg, ret);
}

void fzd_dataplane_peer_initiate(FzdDataplane *dp, FzdDpPeer *p) {
        fzd_wg_peer_initiate(dp->wg, p->wg, fzd_dp_now());
        rearm(dp);
}

void fzd_dataplane_peer_path_ready(FzdDataplane *dp, FzdDpPeer *p) {
        fzd_wg_peer_path_ready(dp->wg, p->wg, fzd_dp_now());
        rearm(dp);
}

int fzd_dataplane_peer_send(FzdDataplane *dp, FzdDpPeer *p, const uint8_t *packet, size_t len) {
        int r = fzd_wg_peer_send(dp->wg, p->wg, packet, len, fzd_dp_now());
        rearm(dp);
        return r;
}

/* ---- routes ----------------------------------------------------------------------------------------- */

int fzd_dataplane_route_add(FzdDataplane *dp, int family, const void *addr, unsigned prefixlen, FzdDpPeer *p,
                            uint64_t cookie) {
        void *old = NULL;
        int r;

        pthread_rwlock_wrlock(&dp->routes_lock);
        r = fzd_dp_routes_add(dp->routes, family, addr, prefixlen, fzd_wg_peer_ref(p->wg), cookie, &old);
        pthread_rwlock_unlock(&dp->routes_lock);
        if (r < 0)
                fzd_wg_peer_unref(p->wg);
        fzd_wg_peer_unref(old);
        return r;
}

int fzd_dataplane_route_remove(FzdDataplane *dp, int family, const void *addr, unsigned prefixlen) {
        void *old = NULL;
        int r;

        pthread_rwlock_wrlock(&dp->routes_lock);
        r = fzd_dp_routes_remove(dp->routes, family, addr, prefixlen, &old);
        pthread_rwlock_unlock(&dp->routes_lock);
        fzd_wg_peer_unref(old);
        return r;
}

/* ---- relays ----------------------------------------------------------------------------------------- */

static bool addr_equal(const FzdDpAddr *a, const FzdDpAddr *b) {
        FzdDpPath pa = { .family = a->sa.sa_family, .dst = *a }, pb = { .family = b->sa.sa_family, .dst = *b };
        return fzd_dp_path_equal(&pa, &pb);
}

static FzdDpRelay *relay_find(FzdDataplane *dp, const FzdDpAddr *relay) {
        for (unsigned i = 0; i < dp->n_relays; i++)
                if (addr_equal(&dp->relays[i].addr, relay))
                        return &dp->relays[i];
        return NULL;
}

static FzdDpAddr relay_key(const FzdDpAddr *a) {
        /* Only family, address and port take part in comparisons. */
        FzdDpAddr k = {};
        if (a->sa.sa_family == AF_INET) {
                k.in.sin_family = AF_INET;
                k.in.sin_addr = a->in.sin_addr;
                k.in.sin_port = a->in.sin_port;
        } else {
                k.in6.sin6_family = AF_INET6;
                k.in6.sin6_addr = a->in6.sin6_addr;
                k.in6.sin6_port = a->in6.sin6_port;
        }
        return k;
}

int fzd_dataplane_relay_add(FzdDataplane *dp, const FzdDpAddr *relay) {
        int r = 0;

        if (relay->sa.sa_family != AF_INET && relay->sa.sa_family != AF_INET6)
                return -EAFNOSUPPORT;
        pthread_rwlock_wrlock(&dp->relay_lock);
        if (!relay_find(dp, relay)) {
                if (dp->n_relays == FZD_DP_MAX_RELAYS)
                        r = -ENOSPC;
                else {
                        dp->relays[dp->n_relays] = (FzdDpRelay) { .addr = relay_key(relay) };
                        dp->n_relays++;
                        atomic_fetch_add(&dp->relay_gen, 1);
                }
        }
        pthread_rwlock_unlock(&dp->relay_lock);
        return r;
}

int fzd_dataplane_relay_remove(FzdDataplane *dp, const FzdDpAddr *relay) {
        FzdDpRelay *e;
        int r = -ENOENT;

        pthread_rwlock_wrlock(&dp->relay_lock);
        e = relay_find(dp, relay);
        if (e) {
                *e = dp->relays[--dp->n_relays];
                atomic_fetch_add(&dp->relay_gen, 1);
                r = 0;
        }
        pthread_rwlock_unlock(&dp->relay_lock);
        return r;
}

int fzd_dataplane_channel_bind(FzdDataplane *dp, const FzdDpAddr *relay, uint16_t channel, bool bound) {
        unsigned i = channel - 0x4000u;
        FzdDpRelay *e;
        int r = -ENOENT;

        if (channel < 0x4000 || channel > 0x4fff)
                return -EINVAL;
        pthread_rwlock_wrlock(&dp->relay_lock);
        e = relay_find(dp, relay);
        if (e) {
                if (bound)
                        e->channels[i / 64] |= UINT64_C(1) << (i % 64);
                else
                        e->channels[i / 64] &= ~(UINT64_C(1) << (i % 64));
                atomic_fetch_add(&dp->relay_gen, 1);
                r = 0;
        }
        pthread_rwlock_unlock(&dp->relay_lock);
        return r;
}

/* ---- control-side I/O -------------------------------------------------------------------------------- */

int fzd_dataplane_send_datagram(FzdDataplane *dp, int family, const FzdDpAddr *to, const uint8_t *data, size_t len) {
        return fzd_dataplane_send_datagram_from(dp, family, NULL, to, data, len);
}

static bool addr_is_unspecified(const FzdDpAddr *a) {
        static const struct in6_addr any6 = IN6ADDR_ANY_INIT;

        if (a->sa.sa_family == AF_INET)
                return a->in.sin_addr.s_addr == htonl(INADDR_ANY);
        if (a->sa.sa_family == AF_INET6)
                return memcmp(&a->in6.sin6_addr, &any6, sizeof any6) == 0;
        return true;
}

int fzd_dataplane_send_datagram_from(FzdDataplane *dp, int family, const FzdDpAddr *from,
                                     const FzdDpAddr *to, const uint8_t *data, size_t len) {
        union {
                char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
                struct cmsghdr align;
        } control = {};
        struct iovec iov = { .iov_base = (void *) data, .iov_len = len };
        struct msghdr m = {
                .msg_name = (void *) &to->sa,
                .msg_namelen = addr_len(family),
                .msg_iov = &iov,
                .msg_iovlen = 1,
        };
        int fd;

        if (family != AF_INET && family != AF_INET6)
                return -EAFNOSUPPORT;
        fd = dp->udp_fd[FZD_DP_FAM(family)];
        if (fd < 0 || to->sa.sa_family != family)
                return -EAFNOSUPPORT;
        if (from && from->sa.sa_family == family && !addr_is_unspecified(from)) {
                struct cmsghdr *c;

                m.msg_control = control.buf;
                if (family == AF_INET) {
                        struct in_pktinfo pi = { .ipi_spec_dst = from->in.sin_addr };
                        m.msg_controllen = CMSG_SPACE(sizeof pi);
                        c = CMSG_FIRSTHDR(&m);
                        *c = (struct cmsghdr){ .cmsg_len = CMSG_LEN(sizeof pi),
                                               .cmsg_level = IPPROTO_IP,
                                               .cmsg_type = IP_PKTINFO };
                        memcpy(CMSG_DATA(c), &pi, sizeof pi);
                } else {
                        struct in6_pktinfo pi = { .ipi6_addr = from->in6.sin6_addr };
                        m.msg_controllen = CMSG_SPACE(sizeof pi);
                        c = CMSG_FIRSTHDR(&m);
                        *c = (struct cmsghdr){ .cmsg_len = CMSG_LEN(sizeof pi),
                                               .cmsg_level = IPPROTO_IPV6,
                                               .cmsg_type = IPV6_PKTINFO };
                        memcpy(CMSG_DATA(c), &pi, sizeof pi);
                }
        }
        if (sendmsg(fd, &m, MSG_DONTWAIT) < 0)
                return -errno;
        return 0;
}

bool fzd_dp_is_p2p_control(const uint8_t *p, size_t len) {
        static const uint8_t zero[16] = {};

        return len >= 40 && (p[0] >> 4) == 6 && p[6] == 0xff && p[7] == 0 && memcmp(p + 8, zero, 16) == 0 &&
               memcmp(p + 24, zero, 16) == 0;
}

int fzd_dataplane_input(FzdDataplane *dp, int family, const FzdDpAddr *from, uint16_t channel, const uint8_t *data,
                        size_t len) {
        uint64_t now = fzd_dp_now();
        FzdDpIpInfo ip;
        FzdWgKeypair *kp;
        FzdDpPeer *p;
        void *value = NULL;
        ssize_t n;
        int r = 0;

        if (len < 4 || len > FZD_DP_ITEM_DATA_MAX)
                return -EBADMSG;
        if (data[0] >= FZD_WG_MSG_INITIATION && data[0] <= FZD_WG_MSG_COOKIE_REPLY) {
                FzdDpItem *it = malloc(sizeof *it);
                if (!it)
                        return -ENOMEM;
                it->h = (FzdDpItemHeader) { .kind = FZD_DP_ITEM_DATAGRAM, .family = family, .from = *from,
                                            .channel = channel, .handshake = true, .len = (uint16_t) len };
                memcpy(it->data, data, len);
                handle_handshake(dp, it, now);
                free(it);
                (void) fzd_wg_tick(dp->wg, now);
                rearm(dp);
                return 0;
        }
        if (data[0] != FZD_WG_MSG_DATA || len < FZD_WG_DATA_HEADER_LEN + FZD_WG_TAG_LEN)
                return -EBADMSG;
        kp = fzd_wg_lookup_keypair(dp->wg, fzd_wg_le32(data + FZD_WG_DATA_RECEIVER));
        if (!kp)
                return -ENOKEY;
        if (!dp->control_aead) {
                dp->control_aead = fzd_wg_aead_new();
                if (!dp->control_aead) {
                        fzd_wg_keypair_unref(kp);
                        return -ENOMEM;
                }
        }
        {
                uint8_t buf[FZD_DP_ITEM_DATA_MAX];
                n = fzd_wg_keypair_open(kp, dp->control_aead, now, data, len, buf);
                if (n < 0)
                        r = (int) n;
                else if (n > 0) {
                        (void) fzd_wg_keypair_note_rx(kp, now, 1, 0, len);
                        p = fzd_wg_peer_userdata(fzd_wg_keypair_peer(kp));
                        if (fzd_dp_is_p2p_control(buf, (size_t) n)) {
                                if (dp->cb.p2p_control)
                                        dp->cb.p2p_control(dp->userdata, p, buf, (size_t) n);
                        } else if (fzd_dp_ip_info(buf, (size_t) n, &ip) < 0)
                                r = -EBADMSG;
                        else {
                                uint64_t cookie = 0;

                                pthread_rwlock_rdlock(&dp->routes_lock);
                                if (!fzd_dp_routes_lookup(dp->routes, ip.family, ip.src, &value, &cookie))
                                        value = NULL;
                                pthread_rwlock_unlock(&dp->routes_lock);
                                if (value != fzd_wg_keypair_peer(kp))
                                        r = -EPERM;
                                else if (dp->cb.inbound &&
                                         !dp->cb.inbound(dp->userdata, p, cookie, buf, ip.total_len)) {
                                        if (dp->cb.inbound_refused)
                                                dp->cb.inbound_refused(dp->userdata, p, cookie, buf,
                                                                       ip.total_len);
                                        r = -EPERM;
                                } else
                                        r = fzd_dataplane_write_tun(dp, buf, ip.total_len);
                        }
                } else
                        (void) fzd_wg_keypair_note_rx(kp, now, 0, 1, len);
        }
        fzd_wg_keypair_unref(kp);
        (void) fzd_wg_tick(dp->wg, now);
        rearm(dp);
        return r;
}

int fzd_dataplane_write_tun(FzdDataplane *dp, const uint8_t *packet, size_t len) {
        struct virtio_net_hdr h = {};
        struct iovec iov[2] = {
                { .iov_base = &h, .iov_len = sizeof h },
                { .iov_base = (void *) packet, .iov_len = len },
        };
        ssize_t r;

        if (dp->config.tun_vnet_hdr)
                r = writev(dp->config.tun_fd, iov, 2);
        else
                r = writev(dp->config.tun_fd, iov + 1, 1);
        return r < 0 ? -errno : 0;
}

void fzd_dataplane_get_stats(FzdDataplane *dp, FzdDpStats *ret) {
        FzdDpCounters *c = &dp->counters;

        *ret = (FzdDpStats) {
                .tun_reads = atomic_load(&c->tun_reads),
                .tun_packets = atomic_load(&c->tun_packets),
                .udp_sends = atomic_load(&c->udp_sends),
                .udp_datagrams = atomic_load(&c->udp_datagrams),
                .udp_recvs = atomic_load(&c->udp_recvs),
                .udp_rx_datagrams = atomic_load(&c->udp_rx_datagrams),
                .tun_writes = atomic_load(&c->tun_writes),
                .tun_rx_packets = atomic_load(&c->tun_rx_packets),
                .tun_tx_bytes = atomic_load(&c->tx_bytes),
                .tun_rx_bytes = atomic_load(&c->rx_bytes),
                .decrypt_failed = atomic_load(&c->decrypt_failed),
                .replayed = atomic_load(&c->replayed),
                .stale = atomic_load(&c->stale),
                .unknown_index = atomic_load(&c->unknown_index),
                .not_allowed = atomic_load(&c->not_allowed),
                .malformed = atomic_load(&c->malformed),
                .no_route = atomic_load(&c->no_route),
                .no_session = atomic_load(&c->no_session),
                .filtered = atomic_load(&c->filtered),
                .inbound_refused = atomic_load(&c->inbound_refused),
                .queue_overflow = atomic_load(&dp->queue.overflow),
                .send_errors = atomic_load(&c->send_errors) + dp->control_send_errors,
                .control_items = dp->control_items,
                .handshakes_under_load = dp->handshakes_under_load,
                .tun_offloads = dp->tun_offloads,
                .udp_gso = atomic_load(&dp->udp_gso[0]) || atomic_load(&dp->udp_gso[1]),
                .udp_gro = dp->udp_gro[0] || dp->udp_gro[1],
        };
}
