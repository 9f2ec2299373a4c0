/* SPDX-License-Identifier: Apache-2.0 */
/* Test tool (root only, built with the tests): the data plane and WireGuard core with
 * static keys on a TUN, as a plain WireGuard endpoint — the counterpart of `wireguard-go`
 * + `wg` in the interoperability tests and benchmarks.
 *
 *   fzd-wg-tool --tun NAME --private-key FILE [--listen-port N] [--mtu 1280]
 *               [--threading split|one|per-socket] [--no-offloads] [--no-vnet-hdr]
 *               [--under-load] [--log-level debug]
 *               [--rekey-after-time S] [--reject-after-time S] [--rekey-attempt-time S]
 *               [--rekey-timeout S] [--keepalive-timeout S] [--rekey-after-messages N]
 *               [--socket-buffer BYTES]
 *               --peer PUBKEY [--psk FILE] [--endpoint IP:PORT] [--allowed-ip CIDR]...
 *               [--peer ...]...
 *
 * It creates the TUN (non-persistent, MTU set, link up; addresses are the caller's
 * business) and its UDP sockets with the daemon's firewall mark, answers commands on stdin with one JSON line each, and prints events:
 *   stats              counters of the data plane and the first peer, main-loop latency
 *   initiate           start a handshake with the first peer now
 *   endpoint IP:PORT   set the first peer's path
 *   loop-reset         forget the main-loop latency samples so far
 *   quit
 * Events: {"event":"ready","port":N,"public_key":"…","ifindex":N}
 *         {"event":"peer","what":"handshake-complete"|"handshake-failed"|"keys-expired"|"path-changed"}
 * Packets from the TUN for a peer without a session are staged and start a handshake, as
 * in WireGuard; packets without a route are dropped. Timer values in seconds (fractions
 * allowed) shorten WireGuard's constants for tests. Logs go to stderr. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "cidr.h"
#include "dataplane.h"
#include "dp-socket.h"
#include "log.h"
#include "tun.h"

#define MAX_PEERS   8
#define MARK        0x1f0a /* the daemon's FZD_FIREWALL_MARK: its own traffic skips the tunnel */
#define MAX_ALLOWED 16
#define LINE_MAX_LEN 4096
#define LOOP_PERIOD_USEC (10 * USEC_PER_MSEC)
#define LATENCY_BUCKETS 65536 /* µs of lateness, the last one "more" */

typedef struct PeerConfig {
        uint8_t key[FZD_WG_KEY_LEN];
        uint8_t psk[FZD_WG_KEY_LEN];
        bool has_endpoint;
        FzdDpPath path;
        FzdCidr allowed[MAX_ALLOWED];
        size_t n_allowed;
        FzdDpPeer *dp;
} PeerConfig;

typedef struct Tool {
        sd_event *event;
        FzdDataplane *dp;
        PeerConfig peers[MAX_PEERS];
        size_t n_peers;
        char line[LINE_MAX_LEN];
        size_t used;
        /* main-loop latency: how late a 10 ms timer fires */
        sd_event_source *probe;
        uint64_t probe_due;
        uint64_t latency[LATENCY_BUCKETS];
        uint64_t samples, worst;
} Tool;

static int read_key_file(const char *path, uint8_t key[FZD_WG_KEY_LEN]) {
        char buf[128];
        FILE *f = fopen(path, "re");
        size_t n;

        if (!f)
                return log_error_errno(errno, "Failed to open %s: %m", path);
        n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
                buf[--n] = '\0';
        if (fzd_wg_key_from_base64(key, buf) < 0)
                return log_error_errno(EINVAL, "%s does not hold a base64 WireGuard key.", path);
        return 0;
}

static int parse_endpoint(const char *s, FzdDpPath *ret) {
        char host[INET6_ADDRSTRLEN + 2];
        const char *colon = strrchr(s, ':');
        size_t hl;
        long port;
        char *end;

        if (!colon)
                return -EINVAL;
        hl = (size_t) (colon - s);
        if (hl == 0 || hl >= sizeof host)
                return -EINVAL;
        memcpy(host, s, hl);
        host[hl] = '\0';
        port = strtol(colon + 1, &end, 10);
        if (*end || port <= 0 || port > 65535)
                return -EINVAL;
        *ret = (FzdDpPath) {};
        if (host[0] == '[' && host[hl - 1] == ']') {
                host[hl - 1] = '\0';
                ret->family = AF_INET6;
                ret->dst.in6 = (struct sockaddr_in6) { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t) port) };
                return inet_pton(AF_INET6, host + 1, &ret->dst.in6.sin6_addr) == 1 ? 0 : -EINVAL;
        }
        ret->family = AF_INET;
        ret->dst.in = (struct sockaddr_in) { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
        return inet_pton(AF_INET, host, &ret->dst.in.sin_addr) == 1 ? 0 : -EINVAL;
}

static uint64_t parse_seconds(const char *s) {
        double v = strtod(s, NULL);
        return v <= 0 ? 0 : (uint64_t) llround(v * 1e9);
}

static int link_setup(const char *ifname, size_t mtu) {
        _cleanup_(closep) int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr = {};

        if (fd < 0)
                return -errno;
        strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
        ifr.ifr_mtu = (int) mtu;
        if (ioctl(fd, SIOCSIFMTU, &ifr) < 0)
                return log_error_errno(errno, "Failed to set the MTU of %s: %m", ifname);
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                return -errno;
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                return log_error_errno(errno, "Failed to bring %s up: %m", ifname);
        return 0;
}

/* ---- output -------------------------------------------------------------------------------------- */

static void emit_peer_event(void *userdata, FzdDpPeer *peer, FzdDpPeerEvent event) {
        static const char *const names[] = {
                [FZD_DP_PEER_HANDSHAKE_COMPLETE] = "handshake-complete",
                [FZD_DP_PEER_HANDSHAKE_FAILED] = "handshake-failed",
                [FZD_DP_PEER_KEYS_EXPIRED] = "keys-expired",
                [FZD_DP_PEER_PATH_CHANGED] = "path-changed",
        };
        printf("{\"event\":\"peer\",\"what\":\"%s\"}\n", names[event]);
        fflush(stdout);
}

static void on_packet(void *userdata, FzdDpPeer *peer, uint64_t cookie, FzdDpPacketReason reason,
                      const uint8_t *packet, size_t len) {
        Tool *t = userdata;

        /* Plain WireGuard: stage it and start a handshake; no route: drop. */
        if (reason == FZD_DP_PACKET_NO_SESSION)
                (void) fzd_dataplane_peer_send(t->dp, peer, packet, len);
}

static void on_datagram(void *userdata, const FzdDpDatagram *d) {
        log_debug("Ignoring a %zu-byte datagram that is not WireGuard.", d->len);
}

static uint64_t percentile(const Tool *t, double q) {
        uint64_t want = (uint64_t) ceil(q * (double) t->samples), seen = 0;

        for (size_t i = 0; i < LATENCY_BUCKETS; i++) {
                seen += t->latency[i];
                if (seen >= want && want > 0)
                        return i;
        }
        return 0;
}

static void print_stats(Tool *t) {
        FzdDpStats s;
        FzdWgPeerStats p = {};
        FzdDpPath path;
        char ep[INET6_ADDRSTRLEN + 8] = "";

        fzd_dataplane_get_stats(t->dp, &s);
        if (t->n_peers > 0) {
                fzd_wg_peer_get_stats(fzd_dp_peer_wireguard(t->peers[0].dp), &p);
                if (fzd_dataplane_peer_get_path(t->dp, t->peers[0].dp, &path)) {
                        char ip[INET6_ADDRSTRLEN];
                        if (path.family == AF_INET) {
                                inet_ntop(AF_INET, &path.dst.in.sin_addr, ip, sizeof ip);
                                snprintf(ep, sizeof ep, "%s:%u", ip, ntohs(path.dst.in.sin_port));
                        } else {
                                inet_ntop(AF_INET6, &path.dst.in6.sin6_addr, ip, sizeof ip);
                                snprintf(ep, sizeof ep, "[%s]:%u", ip, ntohs(path.dst.in6.sin6_port));
                        }
                }
        }
        printf("{\"reply\":\"stats\",\"ok\":true,\"handshakes\":%llu,\"initiations\":%llu,\"has_session\":%s,"
               "\"last_handshake_ns\":%llu,\"last_attempt_started_ns\":%llu,\"first_data_ns\":%llu,"
               "\"tx_bytes\":%llu,\"rx_bytes\":%llu,\"tx_packets\":%llu,\"rx_packets\":%llu,\"endpoint\":\"%s\",",
               (unsigned long long) p.handshakes, (unsigned long long) p.initiations_sent,
               p.has_session ? "true" : "false", (unsigned long long) p.last_handshake,
               (unsigned long long) p.last_attempt_started, (unsigned long long) p.first_data_after_handshake,
               (unsigned long long) p.tx_bytes, (unsigned long long) p.rx_bytes, (unsigned long long) p.tx_packets,
               (unsigned long long) p.rx_packets, ep);
        printf("\"dp\":{\"tun_reads\":%llu,\"tun_packets\":%llu,\"udp_sends\":%llu,\"udp_datagrams\":%llu,"
               "\"udp_recvs\":%llu,\"udp_rx_datagrams\":%llu,\"tun_writes\":%llu,\"tun_rx_packets\":%llu,"
               "\"decrypt_failed\":%llu,\"replayed\":%llu,\"stale\":%llu,\"unknown_index\":%llu,\"not_allowed\":%llu,"
               "\"malformed\":%llu,\"no_route\":%llu,\"no_session\":%llu,\"filtered\":%llu,\"queue_overflow\":%llu,"
               "\"send_errors\":%llu,\"control_items\":%llu,\"handshakes_under_load\":%llu,\"tun_offloads\":%u,"
               "\"udp_gso\":%s,\"udp_gro\":%s},",
               (unsigned long long) s.tun_reads, (unsigned long long) s.tun_packets, (unsigned long long) s.udp_sends,
               (unsigned long long) s.udp_datagrams, (unsigned long long) s.udp_recvs,
               (unsigned long long) s.udp_rx_datagrams, (unsigned long long) s.tun_writes,
               (unsigned long long) s.tun_rx_packets, (unsigned long long) s.decrypt_failed,
               (unsigned long long) s.replayed, (unsigned long long) s.stale, (unsigned long long) s.unknown_index,
               (unsigned long long) s.not_allowed, (unsigned long long) s.malformed, (unsigned long long) s.no_route,
               (unsigned long long) s.no_session, (unsigned long long) s.filtered,
               (unsigned long long) s.queue_overflow, (unsigned long long) s.send_errors,
               (unsigned long long) s.control_items, (unsigned long long) s.handshakes_under_load, s.tun_offloads,
               s.udp_gso ? "true" : "false", s.udp_gro ? "true" : "false");
        printf("\"loop\":{\"samples\":%llu,\"p50_us\":%llu,\"p99_us\":%llu,\"max_us\":%llu}}\n",
               (unsigned long long) t->samples, (unsigned long long) percentile(t, 0.5),
               (unsigned long long) percentile(t, 0.99), (unsigned long long) t->worst);
        fflush(stdout);
}

static void reply(const char *cmd, int r) {
        printf("{\"reply\":\"%s\",\"ok\":%s,\"error\":\"%s\"}\n", cmd, r >= 0 ? "true" : "false",
               r >= 0 ? "" : strerror(-r));
        fflush(stdout);
}

/* ---- commands ------------------------------------------------------------------------------------ */

static void run_command(Tool *t, char *line) {
        char *arg = strchr(line, ' ');

        if (arg)
                *arg++ = '\0';
        if (streq(line, "stats"))
                print_stats(t);
        else if (streq(line, "initiate")) {
                if (t->n_peers > 0)
                        fzd_dataplane_peer_initiate(t->dp, t->peers[0].dp);
                reply(line, t->n_peers > 0 ? 0 : -ENOENT);
        } else if (streq(line, "endpoint")) {
                FzdDpPath p;
                int r = arg && t->n_peers > 0 ? parse_endpoint(arg, &p) : -EINVAL;
                if (r >= 0)
                        r = fzd_dataplane_peer_set_path(t->dp, t->peers[0].dp, &p);
                reply(line, r);
        } else if (streq(line, "quit")) {
                reply(line, 0);
                sd_event_exit(t->event, 0);
        } else
                reply("unknown", -EINVAL);
}

static int on_stdin(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Tool *t = userdata;
        ssize_t n = read(fd, t->line + t->used, sizeof t->line - 1 - t->used);
        char *nl;

        if (n <= 0) {
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return 0;
                return sd_event_exit(t->event, 0); /* EOF: the test is done with us */
        }
        t->used += (size_t) n;
        t->line[t->used] = '\0';
        while ((nl = strchr(t->line, '\n'))) {
                *nl = '\0';
                run_command(t, t->line);
                memmove(t->line, nl + 1, t->used - (size_t) (nl + 1 - t->line) + 1);
                t->used -= (size_t) (nl + 1 - t->line);
        }
        if (t->used == sizeof t->line - 1)
                t->used = 0; /* an overlong line: forget it */
        return 0;
}

/* How late the main loop gets to a timer: the responsiveness a D-Bus call would see. */
static int on_probe(sd_event_source *s, uint64_t usec, void *userdata) {
        Tool *t = userdata;
        uint64_t now, late;

        (void) sd_event_now(t->event, CLOCK_MONOTONIC, &now);
        late = now > t->probe_due ? now - t->probe_due : 0;
        t->latency[late < LATENCY_BUCKETS ? late : LATENCY_BUCKETS - 1]++;
        if (late > t->worst)
                t->worst = late;
        t->samples++;
        t->probe_due = now + LOOP_PERIOD_USEC;
        (void) sd_event_source_set_time(s, t->probe_due);
        return 0;
}

/* ---- main ------------------------------------------------------------------------------------------ */

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "tun", required_argument, NULL, 't' },
                { "private-key", required_argument, NULL, 'k' },
                { "listen-port", required_argument, NULL, 'l' },
                { "mtu", required_argument, NULL, 'm' },
                { "threading", required_argument, NULL, 'T' },
                { "no-offloads", no_argument, NULL, 'O' },
                { "no-vnet-hdr", no_argument, NULL, 'V' },
                { "under-load", no_argument, NULL, 'U' },
                { "log-level", required_argument, NULL, 'L' },
                { "rekey-after-time", required_argument, NULL, 1 },
                { "reject-after-time", required_argument, NULL, 2 },
                { "rekey-attempt-time", required_argument, NULL, 3 },
                { "rekey-timeout", required_argument, NULL, 4 },
                { "keepalive-timeout", required_argument, NULL, 5 },
                { "rekey-after-messages", required_argument, NULL, 6 },
                { "socket-buffer", required_argument, NULL, 7 },
                { "peer", required_argument, NULL, 'p' },
                { "psk", required_argument, NULL, 's' },
                { "endpoint", required_argument, NULL, 'e' },
                { "allowed-ip", required_argument, NULL, 'a' },
                {},
        };
        static Tool tool;
        Tool *t = &tool;
        FzdDataplaneConfig cfg = { .mtu = 1280, .tun_vnet_hdr = true, .udp4_fd = -1, .udp6_fd = -1 };
        const char *tun = NULL, *key_file = NULL;
        _cleanup_(closep) int tun_fd = -EBADF, fd4 = -EBADF, fd6 = -EBADF;
        uint16_t port = 0, bound = 0;
        int ifindex = 0, c, r, sockbuf = 0;
        PeerConfig *cur = NULL;

        fzd_log_open();
        fzd_wg_timers_default(&cfg.timers);
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case 't':
                        tun = optarg;
                        break;
                case 'k':
                        key_file = optarg;
                        break;
                case 'l':
                        port = (uint16_t) atoi(optarg);
                        break;
                case 'm':
                        cfg.mtu = (size_t) atoi(optarg);
                        break;
                case 'T':
                        cfg.threading = streq(optarg, "one")          ? FZD_DP_THREADS_ONE
                                        : streq(optarg, "per-socket") ? FZD_DP_THREADS_PER_SOCKET
                                                                      : FZD_DP_THREADS_SPLIT;
                        break;
                case 'O':
                        cfg.disable_offloads = true;
                        break;
                case 'V':
                        cfg.tun_vnet_hdr = false;
                        break;
                case 'U':
                        cfg.force_under_load = true;
                        break;
                case 'L':
                        r = fzd_log_level_from_string(optarg);
                        if (r < 0)
                                return log_error_errno(r, "Unknown log level %s.", optarg), 2;
                        fzd_log_set_max_level(r);
                        break;
                case 1:
                        cfg.timers.rekey_after_time = parse_seconds(optarg);
                        break;
                case 2:
                        cfg.timers.reject_after_time = parse_seconds(optarg);
                        break;
                case 3:
                        cfg.timers.rekey_attempt_time = parse_seconds(optarg);
                        break;
                case 4:
                        cfg.timers.rekey_timeout = parse_seconds(optarg);
                        break;
                case 5:
                        cfg.timers.keepalive_timeout = parse_seconds(optarg);
                        if (cfg.timers.poll_interval >= cfg.timers.keepalive_timeout)
                                cfg.timers.poll_interval = cfg.timers.keepalive_timeout / 2;
                        break;
                case 6:
                        cfg.timers.rekey_after_messages = strtoull(optarg, NULL, 10);
                        break;
                case 7:
                        sockbuf = atoi(optarg);
                        break;
                case 'p':
                        if (t->n_peers == MAX_PEERS)
                                return log_error_errno(E2BIG, "Too many peers."), 2;
                        cur = &t->peers[t->n_peers++];
                        if (fzd_wg_key_from_base64(cur->key, optarg) < 0)
                                return log_error_errno(EINVAL, "Bad public key %s.", optarg), 2;
                        break;
                case 's':
                        if (!cur || read_key_file(optarg, cur->psk) < 0)
                                return 2;
                        break;
                case 'e':
                        if (!cur || parse_endpoint(optarg, &cur->path) < 0)
                                return log_error_errno(EINVAL, "Bad endpoint %s.", optarg), 2;
                        cur->has_endpoint = true;
                        break;
                case 'a':
                        if (!cur || cur->n_allowed == MAX_ALLOWED || fzd_cidr_parse(optarg, false, &cur->allowed[cur->n_allowed]) < 0)
                                return log_error_errno(EINVAL, "Bad allowed IP %s.", optarg), 2;
                        cur->n_allowed++;
                        break;
                default:
                        return 2;
                }
        }
        if (!tun || !key_file)
                return log_error_errno(EINVAL, "--tun and --private-key are required."), 2;
        if (read_key_file(key_file, cfg.private_key) < 0)
                return 1;

        r = fzd_tun_create_with(tun, cfg.tun_vnet_hdr ? FZD_TUN_VNET_HDR : 0, &tun_fd, &ifindex);
        if (r < 0)
                return 1;
        r = link_setup(tun, cfg.mtu);
        if (r < 0)
                return 1;
        r = fzd_dp_udp_open(AF_INET, port, false, MARK, sockbuf, &fd4, &bound);
        if (r < 0)
                return log_error_errno(r, "Failed to open the IPv4 socket: %m"), 1;
        if (fzd_dp_udp_open(AF_INET6, bound, false, MARK, sockbuf, &fd6, NULL) < 0)
                log_info("No IPv6 socket: IPv4 only.");
        cfg.tun_fd = tun_fd;
        cfg.udp4_fd = fd4;
        cfg.udp6_fd = fd6;

        r = sd_event_default(&t->event);
        if (r < 0)
                return 1;
        r = fzd_dataplane_new(t->event, &cfg,
                              &(FzdDpCallbacks) { .datagram = on_datagram, .packet = on_packet, .peer_event = emit_peer_event },
                              t, &t->dp);
        fzd_wg_wipe(cfg.private_key, sizeof cfg.private_key);
        if (r < 0)
                return 1;
        for (size_t i = 0; i < t->n_peers; i++) {
                PeerConfig *p = &t->peers[i];
                r = fzd_dataplane_peer_add(t->dp, p->key, p->psk, true, p, &p->dp);
                if (r < 0)
                        return log_error_errno(r, "Failed to add peer %zu: %m", i), 1;
                if (p->has_endpoint && fzd_dataplane_peer_set_path(t->dp, p->dp, &p->path) < 0)
                        return log_error_errno(EINVAL, "Peer %zu's endpoint is of a family without a socket.", i), 1;
                for (size_t k = 0; k < p->n_allowed; k++) {
                        r = fzd_dataplane_route_add(t->dp, p->allowed[k].family, &p->allowed[k].addr,
                                                    p->allowed[k].prefixlen, p->dp, i);
                        if (r < 0)
                                return log_error_errno(r, "Failed to add a route: %m"), 1;
                }
        }
        r = fzd_dataplane_start(t->dp);
        if (r < 0)
                return 1;

        (void) sd_event_add_io(t->event, NULL, STDIN_FILENO, EPOLLIN, on_stdin, t);
        (void) sd_event_now(t->event, CLOCK_MONOTONIC, &t->probe_due);
        t->probe_due += LOOP_PERIOD_USEC;
        (void) sd_event_add_time(t->event, &t->probe, CLOCK_MONOTONIC, t->probe_due, 1, on_probe, t);
        (void) sd_event_source_set_enabled(t->probe, SD_EVENT_ON);
        {
                char pub[FZD_WG_KEY_B64_LEN];
                fzd_wg_key_to_base64(pub, fzd_dataplane_public_key(t->dp));
                printf("{\"event\":\"ready\",\"port\":%u,\"public_key\":\"%s\",\"ifindex\":%d}\n", bound, pub, ifindex);
                fflush(stdout);
        }
        r = sd_event_loop(t->event);

        t->probe = sd_event_source_unref(t->probe);
        t->dp = fzd_dataplane_free(t->dp);
        t->event = sd_event_unref(t->event);
        return r < 0 ? 1 : 0;
}
