/* SPDX-License-Identifier: Apache-2.0 */
/* The whole data plane in a network namespace of its own (needs root; nothing outside the
 * namespace is touched): a TUN with offloads, the UDP socket, the workers and the control
 * side on an sd-event loop, talking over loopback to a "remote" made of a plain UDP socket
 * and a WireGuard core from daemon/wireguard. Applications are plain sockets bound to the
 * TUN's address. Covers the handshake started by a TUN packet, both directions through
 * the fast path, cryptokey routing, the demultiplexing of STUN and ChannelData, a path
 * through a TURN channel, the filter hook, the inbound/outbound hooks (a gateway's policy and
 * NAT), roaming, control-side sends and TUN writes, and each threading model. Waiting is on events (sockets,
 * the loop) with a deadline. */
#include <arpa/inet.h>
#include <net/if.h>
#include <poll.h>
#include <stdatomic.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "dataplane.h"
#include "dp-offload.h"
#include "dp-socket.h"
#include "fz-check.h"
#include "tun.h"

#define TUN_NAME   "dpt0"
#define LOCAL_IP   "10.99.0.1"
#define REMOTE_IP  "10.99.0.2"
#define APP_PORT   7000
#define REMOTE_APP 9999

typedef struct World {
        sd_event *event;
        FzdDataplane *dp;
        FzdDpPeer *peer;
        int tun_fd, udp_fd, app_fd;
        uint16_t dp_port;
        /* the remote */
        FzdWg *remote;
        FzdWgPeer *remote_peer;
        int remote_fd, remote_fd2, remote_send_fd;
        uint16_t remote_port, remote_port2;
        /* what happened */
        unsigned packets_cb, unrouted, datagrams_cb, path_changes, handshakes;
        uint64_t last_cookie;
        FzdDpPacketReason last_reason;
        uint16_t last_channel;
        uint8_t last_datagram[64];
        unsigned remote_plain_n;
        uint8_t remote_plain[8][1600];
        size_t remote_plain_len[8];
        unsigned remote_raw_n;
        uint8_t remote_raw[2048];
        size_t remote_raw_len;
        atomic_bool filter_block;
        atomic_uint inbound_calls;
        uint64_t refused_cookie;
        unsigned refused;
        char refused_payload[16];
        bool strip_channel; /* the remote is "the relay": unwrap ChannelData first */
} World;

static World W;

static void check_errno(int r, const char *what) {
        ck_assert_msg(r >= 0, "%s: %s", what, strerror(r < 0 ? -r : errno));
}

static void ifup(const char *name, const char *addr) {
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr = {};
        struct sockaddr_in *sin = (struct sockaddr_in *) &ifr.ifr_addr;

        strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
        if (addr) {
                sin->sin_family = AF_INET;
                inet_pton(AF_INET, addr, &sin->sin_addr);
                check_errno(ioctl(fd, SIOCSIFADDR, &ifr), "SIOCSIFADDR");
                inet_pton(AF_INET, "255.255.255.0", &sin->sin_addr);
                check_errno(ioctl(fd, SIOCSIFNETMASK, &ifr), "SIOCSIFNETMASK");
                ifr.ifr_mtu = 1280;
                check_errno(ioctl(fd, SIOCSIFMTU, &ifr), "SIOCSIFMTU");
        }
        check_errno(ioctl(fd, SIOCGIFFLAGS, &ifr), "SIOCGIFFLAGS");
        ifr.ifr_flags |= IFF_UP;
        check_errno(ioctl(fd, SIOCSIFFLAGS, &ifr), "SIOCSIFFLAGS");
        close(fd);
}

static int udp_socket(const char *ip, uint16_t port, uint16_t *ret_port) {
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
        socklen_t l = sizeof a;

        inet_pton(AF_INET, ip, &a.sin_addr);
        check_errno(bind(fd, (struct sockaddr *) &a, sizeof a), "bind");
        getsockname(fd, (struct sockaddr *) &a, &l);
        if (ret_port)
                *ret_port = ntohs(a.sin_port);
        return fd;
}

static FzdDpAddr loopback(uint16_t port) {
        FzdDpAddr a = { .in = { .sin_family = AF_INET, .sin_port = htons(port) } };
        inet_pton(AF_INET, "127.0.0.1", &a.in.sin_addr);
        return a;
}

/* ---- the remote: a socket and a WireGuard core ---------------------------------------------------- */

static void remote_send(void *userdata, FzdWgPeer *peer, const uint8_t *data, size_t len) {
        FzdDpAddr to = loopback(W.dp_port);
        uint8_t buf[2048];

        if (W.strip_channel) {
                /* As the relay: deliver through channel 0x4001. */
                buf[0] = 0x40;
                buf[1] = 0x01;
                buf[2] = (uint8_t) (len >> 8);
                buf[3] = (uint8_t) len;
                memcpy(buf + 4, data, len);
                ck_assert_int_eq(sendto(W.remote_send_fd, buf, len + 4, 0, &to.sa, sizeof to.in), (ssize_t) len + 4);
                return;
        }
        ck_assert_int_eq(sendto(W.remote_send_fd, data, len, 0, &to.sa, sizeof to.in), (ssize_t) len);
}

static void remote_drain(int fd) {
        uint8_t buf[2048], plain[2048];
        ssize_t n;

        while ((n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
                uint8_t *p = buf;
                size_t len = (size_t) n;
                FzdWgInput in;
                memcpy(W.remote_raw, buf, len);
                W.remote_raw_len = len;
                W.remote_raw_n++;
                if (W.strip_channel && len >= 4 && p[0] == 0x40) {
                        size_t inner = (size_t) (p[2] << 8 | p[3]);
                        ck_assert_uint_le(inner + 4, len);
                        p += 4;
                        len = inner;
                }
                if (fzd_wg_message_type(p, len) == FZD_WG_MSG_DATA) {
                        int r = fzd_wg_decrypt(W.remote, p, len, fzd_dp_now(), plain, NULL);
                        if (r > 0 && W.remote_plain_n < 8) {
                                memcpy(W.remote_plain[W.remote_plain_n], plain, (size_t) r);
                                W.remote_plain_len[W.remote_plain_n++] = (size_t) r;
                        }
                } else
                        (void) fzd_wg_handle_handshake(W.remote, p, len, "r", 1, fzd_dp_now(), false, &in);
        }
}

/* Runs the loop and the remote until cond() holds; fails after a few seconds. */
static void pump_until(bool (*cond)(void), const char *what) {
        uint64_t deadline = fzd_dp_now() + 10 * FZD_WG_NSEC_PER_SEC;

        while (!cond()) {
                struct pollfd p[3] = {
                        { .fd = sd_event_get_fd(W.event), .events = POLLIN },
                        { .fd = W.remote_fd, .events = POLLIN },
                        { .fd = W.remote_fd2, .events = POLLIN },
                };
                ck_assert_msg(fzd_dp_now() < deadline, "timed out waiting for %s", what);
                (void) poll(p, 3, 20);
                (void) sd_event_run(W.event, 0);
                remote_drain(W.remote_fd);
                remote_drain(W.remote_fd2);
                (void) fzd_wg_tick(W.remote, fzd_dp_now());
        }
}

/* ---- callbacks ---------------------------------------------------------------------------------------- */

static void on_packet(void *userdata, FzdDpPeer *peer, uint64_t cookie, FzdDpPacketReason reason,
                      const uint8_t *packet, size_t len) {
        /* Only routed ones: the kernel sends its own (IPv6 neighbour discovery) too. */
        if (!peer) {
                ck_assert_int_eq(reason, FZD_DP_PACKET_NO_ROUTE);
                W.unrouted++;
                return;
        }
        W.packets_cb++;
        W.last_cookie = cookie;
        W.last_reason = reason;
        if (reason == FZD_DP_PACKET_NO_SESSION)
                (void) fzd_dataplane_peer_send(W.dp, peer, packet, len);
}

static void on_datagram(void *userdata, const FzdDpDatagram *d) {
        W.datagrams_cb++;
        W.last_channel = d->channel;
        /* IP_PKTINFO: the remote sends to 127.0.0.1. */
        ck_assert_int_eq(d->local.sa.sa_family, AF_INET);
        ck_assert_uint_eq(ntohl(d->local.in.sin_addr.s_addr), INADDR_LOOPBACK);
        memcpy(W.last_datagram, d->data, d->len < sizeof W.last_datagram ? d->len : sizeof W.last_datagram);
}

static void on_peer_event(void *userdata, FzdDpPeer *peer, FzdDpPeerEvent event) {
        ck_assert_ptr_eq(peer, W.peer);
        if (event == FZD_DP_PEER_PATH_CHANGED)
                W.path_changes++;
        if (event == FZD_DP_PEER_HANDSHAKE_COMPLETE)
                W.handshakes++;
}

static bool filter(void *userdata, uint64_t cookie, const uint8_t *packet, size_t len) {
        return !(W.filter_block && cookie == 7);
}

/* The hooks' test protocol, on UDP payloads: "no…" is refused, "rot…"/"out…" become upper
 * case (the UDP checksum dropped, as IPv4 allows), so the rewrite is seen at the far end. */
static void upcase_udp_payload(uint8_t *packet, size_t len) {
        size_t ihl = (size_t) (packet[0] & 0x0f) * 4;

        if (packet[0] >> 4 != 4 || packet[9] != IPPROTO_UDP || len < ihl + 11)
                return;
        for (size_t i = ihl + 8; i < ihl + 11; i++)
                packet[i] = (uint8_t) (packet[i] & ~0x20);
        packet[ihl + 6] = packet[ihl + 7] = 0;
}

static bool inbound(void *userdata, FzdDpPeer *peer, uint64_t cookie, uint8_t *packet, size_t len) {
        const char *payload = (const char *) packet + 28;

        atomic_fetch_add(&W.inbound_calls, 1);
        ck_assert_ptr_eq(peer, W.peer);
        ck_assert_uint_eq(cookie, 7); /* the route REMOTE_IP/32 the source matched */
        if (len >= 30 && memcmp(payload, "no", 2) == 0)
                return false;
        if (len >= 31 && memcmp(payload, "rot", 3) == 0)
                upcase_udp_payload(packet, len);
        return true;
}

static void inbound_refused(void *userdata, FzdDpPeer *peer, uint64_t cookie, const uint8_t *packet,
                            size_t len) {
        W.refused++;
        W.refused_cookie = cookie;
        snprintf(W.refused_payload, sizeof W.refused_payload, "%.*s", (int) (len - 28),
                 (const char *) packet + 28);
}

static void outbound(void *userdata, uint64_t cookie, uint8_t *packet, size_t len) {
        if (cookie == 7 && len >= 31 && memcmp(packet + 28, "out", 3) == 0)
                upcase_udp_payload(packet, len);
}

/* ---- set-up ---------------------------------------------------------------------------------------- */

static void world_start(FzdDpThreading threading, bool offloads) {
        uint8_t a_key[32], b_key[32], psk[32];
        FzdDataplaneConfig cfg = { .mtu = 1280, .tun_vnet_hdr = true, .threading = threading,
                                   .disable_offloads = !offloads, .udp6_fd = -1 };
        FzdWgConfig rc = { .mtu = 1280 };
        FzdDpPath path = { .family = AF_INET };
        int ifindex;
        struct in_addr remote_ip;

        memset(&W, 0, sizeof W);
        ck_assert_msg(unshare(CLONE_NEWNET) == 0, "unshare(CLONE_NEWNET) failed: %m (run the tests as root)");
        ifup("lo", NULL);
        check_errno(fzd_tun_create_with(TUN_NAME, FZD_TUN_VNET_HDR, &W.tun_fd, &ifindex), "TUN");
        ifup(TUN_NAME, LOCAL_IP);
        check_errno(fzd_dp_udp_open(AF_INET, 0, false, 0x1f0a, 0, &W.udp_fd, &W.dp_port), "UDP socket");
        W.app_fd = udp_socket(LOCAL_IP, APP_PORT, NULL);
        W.remote_fd = udp_socket("127.0.0.1", 0, &W.remote_port);
        W.remote_fd2 = udp_socket("127.0.0.1", 0, &W.remote_port2);
        W.remote_send_fd = W.remote_fd;

        for (int i = 0; i < 32; i++) {
                a_key[i] = (uint8_t) (i + 1);
                b_key[i] = (uint8_t) (i * 3 + 2);
                psk[i] = (uint8_t) (i ^ 0x5a);
        }
        fzd_wg_clamp(a_key);
        fzd_wg_clamp(b_key);

        /* The remote. */
        memcpy(rc.private_key, b_key, 32);
        fzd_wg_timers_default(&rc.timers);
        check_errno(fzd_wg_new(&rc, &(FzdWgCallbacks) { .send = remote_send }, NULL, &W.remote), "remote");

        /* Ours. */
        cfg.tun_fd = W.tun_fd;
        cfg.udp4_fd = W.udp_fd;
        memcpy(cfg.private_key, a_key, 32);
        fzd_wg_timers_default(&cfg.timers);
        check_errno(sd_event_new(&W.event), "sd_event_new");
        check_errno(fzd_dataplane_new(W.event, &cfg,
                                      &(FzdDpCallbacks){ .packet = on_packet,
                                                         .datagram = on_datagram,
                                                         .peer_event = on_peer_event,
                                                         .filter = filter,
                                                         .inbound = inbound,
                                                         .inbound_refused = inbound_refused,
                                                         .outbound = outbound },
                                      NULL, &W.dp),
                    "dataplane");
        check_errno(fzd_wg_peer_new(W.remote, fzd_dataplane_public_key(W.dp), psk, NULL, &W.remote_peer), "remote peer");
        check_errno(fzd_dataplane_peer_add(W.dp, fzd_wg_public_key(W.remote), psk, true, NULL, &W.peer), "peer");
        path.dst = loopback(W.remote_port);
        check_errno(fzd_dataplane_peer_set_path(W.dp, W.peer, &path), "path");
        inet_pton(AF_INET, REMOTE_IP, &remote_ip);
        check_errno(fzd_dataplane_route_add(W.dp, AF_INET, &remote_ip, 32, W.peer, 7), "route");
        check_errno(fzd_dataplane_start(W.dp), "start");
}

static void world_stop(void) {
        W.dp = fzd_dataplane_free(W.dp);
        W.remote = fzd_wg_free(W.remote);
        W.event = sd_event_unref(W.event);
        close(W.tun_fd);
        close(W.udp_fd);
        close(W.app_fd);
        close(W.remote_fd);
        close(W.remote_fd2);
}

/* ---- traffic ----------------------------------------------------------------------------------------- */

static void app_send(const char *text) {
        struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(REMOTE_APP) };
        inet_pton(AF_INET, REMOTE_IP, &to.sin_addr);
        ck_assert_int_eq(sendto(W.app_fd, text, strlen(text), 0, (struct sockaddr *) &to, sizeof to),
                         (ssize_t) strlen(text));
}

/* An IPv4/UDP packet from src:REMOTE_APP to LOCAL_IP:APP_PORT, checksums filled. */
static size_t udp_packet(uint8_t *p, const char *src, const char *text) {
        size_t n = strlen(text), len = 28 + n;
        uint16_t c;

        memset(p, 0, 28);
        p[0] = 0x45;
        p[2] = (uint8_t) (len >> 8);
        p[3] = (uint8_t) len;
        p[8] = 64;
        p[9] = IPPROTO_UDP;
        inet_pton(AF_INET, src, p + 12);
        inet_pton(AF_INET, LOCAL_IP, p + 16);
        c = fzd_csum_fold(fzd_csum_add(0, p, 20));
        memcpy(p + 10, &c, 2);
        p[20] = REMOTE_APP >> 8;
        p[21] = REMOTE_APP & 0xff;
        p[22] = APP_PORT >> 8;
        p[23] = APP_PORT & 0xff;
        p[24] = (uint8_t) ((8 + n) >> 8);
        p[25] = (uint8_t) (8 + n);
        memcpy(p + 28, text, n);
        c = fzd_csum_fold(fzd_csum_add(fzd_csum_pseudo(AF_INET, p + 12, p + 16, IPPROTO_UDP, (uint32_t) (8 + n)), p + 20,
                                       8 + n));
        memcpy(p + 26, &c, 2);
        return len;
}

static char app_got[256];

static bool app_received(void) {
        ssize_t n = recv(W.app_fd, app_got, sizeof app_got - 1, MSG_DONTWAIT);
        if (n <= 0)
                return false;
        app_got[n] = '\0';
        return true;
}

static bool remote_got_one(void) {
        return W.remote_plain_n >= 1;
}

static bool remote_got_all(void) {
        return W.remote_plain_n >= 8;
}

static const char *udp_payload(const uint8_t *p) {
        return (const char *) p + 28;
}

static FzdDpStats stats(void);

static bool sends_counted(void) {
        return stats().udp_datagrams >= 7;
}

/* A packet from the TUN starts a handshake; then both directions, then the fast path. */
static void basic_exchange(void) {
        uint8_t p[256];
        FzdDpStats s;

        app_send("hello");
        pump_until(remote_got_one, "the first packet at the remote");
        ck_assert_uint_eq(W.packets_cb, 1); /* no session yet: handed to the control side */
        ck_assert_int_eq(W.last_reason, FZD_DP_PACKET_NO_SESSION);
        ck_assert_uint_eq(W.handshakes, 1);
        ck_assert_mem_eq(udp_payload(W.remote_plain[0]), "hello", 5);

        ck_assert_int_eq(fzd_wg_peer_send(W.remote, W.remote_peer, p, udp_packet(p, REMOTE_IP, "world"), fzd_dp_now()), 1);
        pump_until(app_received, "the answer at the application");
        ck_assert_str_eq(app_got, "world");

        /* Now the fast path carries them: nothing more for the control side. */
        for (int i = 0; i < 7; i++)
                app_send("fast");
        pump_until(remote_got_all, "seven more packets");
        ck_assert_uint_eq(W.packets_cb, 1);
        /* The worker counts after its send returns, which may be after the remote got it. */
        pump_until(sends_counted, "the worker's counters");
        fzd_dataplane_get_stats(W.dp, &s);
        ck_assert_uint_ge(s.tun_packets, 8);
        ck_assert_uint_ge(s.udp_datagrams, 7);
        ck_assert_uint_ge(s.tun_rx_packets, 1);
        ck_assert_uint_eq(s.decrypt_failed + s.replayed + s.not_allowed + s.malformed, 0);
}

START_TEST(test_split_threads) {
        world_start(FZD_DP_THREADS_SPLIT, true);
        basic_exchange();
        world_stop();
}
END_TEST

START_TEST(test_one_thread) {
        world_start(FZD_DP_THREADS_ONE, true);
        basic_exchange();
        world_stop();
}
END_TEST

START_TEST(test_per_socket_threads_no_offloads) {
        FzdDpStats s;

        world_start(FZD_DP_THREADS_PER_SOCKET, false);
        fzd_dataplane_get_stats(W.dp, &s);
        ck_assert_uint_eq(s.tun_offloads, 0);
        ck_assert(!s.udp_gso);
        basic_exchange();
        world_stop();
}
END_TEST


static FzdDpStats stats(void) {
        FzdDpStats s;
        fzd_dataplane_get_stats(W.dp, &s);
        return s;
}

static bool not_allowed_seen(void) {
        return stats().not_allowed >= 1;
}

START_TEST(test_cryptokey_routing) {
        uint8_t p[256];

        world_start(FZD_DP_THREADS_SPLIT, true);
        basic_exchange();
        /* 10.99.0.3 does not route to this peer: authenticated, but dropped. */
        ck_assert_int_eq(fzd_wg_peer_send(W.remote, W.remote_peer, p, udp_packet(p, "10.99.0.3", "spoof"), fzd_dp_now()),
                         1);
        pump_until(not_allowed_seen, "the spoofed packet to be dropped");
        ck_assert(!app_received());
        world_stop();
}
END_TEST

static bool datagram_seen(void) {
        return W.datagrams_cb >= 1;
}

static bool datagram_seen2(void) {
        return W.datagrams_cb >= 2;
}

START_TEST(test_stun_and_channels) {
        uint8_t stun[20] = { 0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 'x' };
        uint8_t cd[24] = { 0x40, 0x02, 0x00, 20 };
        FzdDpAddr dst = loopback(W.dp_port), relay;
        FzdDpPath path = { .family = AF_INET };
        uint8_t p[256];

        world_start(FZD_DP_THREADS_SPLIT, true);
        dst = loopback(W.dp_port);
        /* STUN from a peer: ICE's business, for the control side. */
        ck_assert_int_eq(sendto(W.remote_fd, stun, sizeof stun, 0, &dst.sa, sizeof dst.in), 20);
        pump_until(datagram_seen, "the STUN datagram");
        ck_assert_uint_eq(W.last_channel, 0);
        ck_assert_mem_eq(W.last_datagram, stun, 20);

        /* The remote becomes a relay: channel 0x4001 is bound, 0x4002 is not. */
        relay = loopback(W.remote_port);
        ck_assert_int_eq(fzd_dataplane_relay_add(W.dp, &relay), 0);
        ck_assert_int_eq(fzd_dataplane_channel_bind(W.dp, &relay, 0x4001, true), 0);
        ck_assert_int_eq(fzd_dataplane_channel_bind(W.dp, &relay, 0x5000, true), -EINVAL);
        memcpy(cd + 4, stun, 20);
        ck_assert_int_eq(sendto(W.remote_fd, cd, sizeof cd, 0, &dst.sa, sizeof dst.in), 24);
        pump_until(datagram_seen2, "ChannelData on an unbound channel");
        ck_assert_uint_eq(W.last_channel, 0x4002);

        /* Our path goes through the relay's channel: datagrams carry ChannelData headers,
         * and what comes back through the channel is unwrapped on the fast path. */
        path.dst = relay;
        path.channel = 0x4001;
        ck_assert_int_eq(fzd_dataplane_peer_set_path(W.dp, W.peer, &path), 0);
        W.strip_channel = true;
        basic_exchange();
        ck_assert_uint_eq(W.remote_raw[0], 0x40);
        ck_assert_uint_eq(W.remote_raw[1], 0x01);
        ck_assert_uint_eq(((size_t) W.remote_raw[2] << 8 | W.remote_raw[3]) + 4, W.remote_raw_len);
        /* Roaming stayed on the channel path. */
        {
                FzdDpPath now;
                ck_assert(fzd_dataplane_peer_get_path(W.dp, W.peer, &now));
                ck_assert_uint_eq(now.channel, 0x4001);
        }
        ck_assert_int_eq(fzd_wg_peer_send(W.remote, W.remote_peer, p, udp_packet(p, REMOTE_IP, "relayed"), fzd_dp_now()),
                         1);
        pump_until(app_received, "a packet through the channel");
        ck_assert_str_eq(app_got, "relayed");
        world_stop();
}
END_TEST

static bool packet_cb_seen2(void) {
        return W.packets_cb >= 2;
}

START_TEST(test_filter_hook) {
        world_start(FZD_DP_THREADS_SPLIT, true);
        basic_exchange();
        W.filter_block = true;
        app_send("blocked");
        pump_until(packet_cb_seen2, "the filtered packet at the control side");
        ck_assert_uint_eq(W.last_cookie, 7);
        ck_assert_int_eq(W.last_reason, FZD_DP_PACKET_FILTERED);
        ck_assert_uint_eq(stats().filtered, 1);
        ck_assert_uint_eq(W.remote_plain_n, 8); /* it did not go out */
        world_stop();
}
END_TEST

static bool refused_seen(void) {
        return W.refused >= 1;
}

START_TEST(test_inbound_and_outbound_hooks) {
        uint8_t p[256];
        unsigned calls;

        world_start(FZD_DP_THREADS_SPLIT, true);
        basic_exchange();
        calls = atomic_load(&W.inbound_calls);
        ck_assert_uint_ge(calls, 1);
        /* Rewritten on its way in. */
        ck_assert_int_eq(fzd_wg_peer_send(W.remote, W.remote_peer, p, udp_packet(p, REMOTE_IP, "rot13"),
                                          fzd_dp_now()),
                         1);
        pump_until(app_received, "the rewritten packet");
        ck_assert_str_eq(app_got, "ROT13");
        /* Refused: never written to the TUN, handed to the control side with its cookie. */
        ck_assert_int_eq(
                fzd_wg_peer_send(W.remote, W.remote_peer, p, udp_packet(p, REMOTE_IP, "nope"), fzd_dp_now()),
                1);
        pump_until(refused_seen, "the refused packet at the control side");
        ck_assert_uint_eq(W.refused_cookie, 7);
        ck_assert_str_eq(W.refused_payload, "nope");
        ck_assert_uint_eq(stats().inbound_refused, 1);
        ck_assert(!app_received());
        /* Rewritten on its way out. */
        W.remote_plain_n = 0;
        app_send("outward");
        pump_until(remote_got_one, "the rewritten packet at the remote");
        ck_assert_mem_eq(udp_payload(W.remote_plain[0]), "OUTward", 7);
        world_stop();
}
END_TEST

static bool path_changed(void) {
        return W.path_changes >= 1;
}

START_TEST(test_roaming) {
        uint8_t p[256];
        FzdDpPath now;
        unsigned before;

        world_start(FZD_DP_THREADS_SPLIT, true);
        basic_exchange();
        /* The remote now sends from another port: an authenticated packet moves the path. */
        W.remote_send_fd = W.remote_fd2;
        ck_assert_int_eq(fzd_wg_peer_send(W.remote, W.remote_peer, p, udp_packet(p, REMOTE_IP, "moved"), fzd_dp_now()), 1);
        pump_until(path_changed, "the new endpoint to be learned");
        ck_assert(fzd_dataplane_peer_get_path(W.dp, W.peer, &now));
        ck_assert_uint_eq(ntohs(now.dst.in.sin_port), W.remote_port2);
        pump_until(app_received, "the packet from the new endpoint");
        before = W.remote_raw_n;
        app_send("to the new place");
        W.remote_plain_n = 0;
        pump_until(remote_got_one, "a packet at the new endpoint");
        ck_assert_uint_gt(W.remote_raw_n, before);
        /* A forged packet from a third address does not move it (it does not authenticate). */
        world_stop();
}
END_TEST

static bool remote_raw_seen(void) {
        return W.remote_raw_n >= 1;
}

START_TEST(test_control_io) {
        FzdDpAddr to;
        uint8_t p[256];
        size_t n;

        world_start(FZD_DP_THREADS_SPLIT, true);
        to = loopback(W.remote_port);
        ck_assert_int_eq(fzd_dataplane_send_datagram(W.dp, AF_INET, &to, (const uint8_t *) "stun!", 5), 0);
        pump_until(remote_raw_seen, "the control-side datagram");
        ck_assert_uint_eq(W.remote_raw_len, 5);
        ck_assert_mem_eq(W.remote_raw, "stun!", 5);
        ck_assert_int_eq(fzd_dataplane_send_datagram(W.dp, AF_INET6, &to, p, 1), -EAFNOSUPPORT);
        /* From a given local address (IP_PKTINFO), as ICE asks for host candidates. */
        {
                FzdDpAddr from = loopback(0), far = { .in = { .sin_family = AF_INET } };
                inet_pton(AF_INET, "192.0.2.1", &far.in.sin_addr);
                W.remote_raw_n = 0;
                ck_assert_int_eq(fzd_dataplane_send_datagram_from(W.dp, AF_INET, &from, &to,
                                                                  (const uint8_t *) "from", 4),
                                 0);
                pump_until(remote_raw_seen, "the datagram from 127.0.0.1");
                ck_assert_mem_eq(W.remote_raw, "from", 4);
                /* An address that is not ours cannot be a source. */
                ck_assert_int_lt(
                        fzd_dataplane_send_datagram_from(W.dp, AF_INET, &far, &to, (const uint8_t *) "x", 1),
                        0);
        }

        n = udp_packet(p, REMOTE_IP, "via control");
        ck_assert_int_eq(fzd_dataplane_write_tun(W.dp, p, n), 0);
        pump_until(app_received, "the TUN write");
        ck_assert_str_eq(app_got, "via control");
        world_stop();
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("dataplane");
        TCase *tc = tcase_create("netns");

        tcase_add_test(tc, test_split_threads);
        tcase_add_test(tc, test_one_thread);
        tcase_add_test(tc, test_per_socket_threads_no_offloads);
        tcase_add_test(tc, test_cryptokey_routing);
        tcase_add_test(tc, test_stun_and_channels);
        tcase_add_test(tc, test_filter_hook);
        tcase_add_test(tc, test_inbound_and_outbound_hooks);
        tcase_add_test(tc, test_roaming);
        tcase_add_test(tc, test_control_io);
        tcase_set_timeout(tc, 60);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(suite)
