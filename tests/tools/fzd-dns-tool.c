/* SPDX-License-Identifier: Apache-2.0 */
/* Test driver for daemon/dns (root only, built with the tests): drives the fzd_dns_* API
 * exactly as the daemon does, so that the integration tests can check it against the
 * real systemd-resolved and a real /etc/resolv.conf inside the bed.
 *
 *   fzd-dns-tool [--mode=M] [--resolv-conf=P] [--state-dir=D] [--debounce-ms=N] COMMAND
 *
 *   detect          {"mode": …, "trace": …}
 *   cleanup-stale   {"ok": true} | {"error": …}
 *   resolvers       {"ok": [resolver…]}
 *   session         JSON orders on stdin, one reply line each on stdout (plus "event"
 *                   lines at any time once watching). Orders:
 *     {"op": "tun", "name": N}                 create a TUN (IFF_TUN|IFF_NO_PI), up; hold its fd
 *     {"op": "apply", "ifindex": I, "sentinels": [..], "search_domain": S}
 *     {"op": "revert"}
 *     {"op": "resolvers"}
 *     {"op": "watch"}                          then {"event": "resolvers-changed", "resolvers": […]}
 *     {"op": "capture", "answer": "192.0.2.1"} reply with the first DNS query read from the TUN:
 *                                              {"ok": {"name", "qtype", "src", "dst"}}; answer A
 *                                              queries (v4) with that address from then on
 *     {"op": "mode"}
 *   End of input or SIGTERM: revert (blocking, as the daemon's exit path) and exit 0.
 *   Replies: {"ok": …} or {"error": "ENAME", "errno": N, "message": …}. */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/udp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "dns-control.h"
#include "log.h"

typedef struct Tool {
        sd_event *event;
        FzdDns *dns;
        int tun_fd;
        sd_event_source *tun_source, *stdin_source;
        char line[65536];
        size_t line_len;
        bool capture_pending;
        bool answering;
        struct in_addr answer;
        int exit_code;
} Tool;

static void emit(json_object *o) {
        fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), stdout);
        fputc('\n', stdout);
        fflush(stdout);
        json_object_put(o);
}

static void reply_ok(json_object *value) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "ok", value ?: json_object_new_boolean(1));
        emit(o);
}

static void reply_error_text(int error, const char *message) {
        json_object *o = json_object_new_object();
        const char *name = strerrorname_np(error < 0 ? -error : error);

        json_object_object_add(o, "error", json_object_new_string(name ?: "EUNKNOWN"));
        json_object_object_add(o, "errno", json_object_new_int(error < 0 ? -error : error));
        json_object_object_add(o, "message",
                               json_object_new_string(message ?: strerror(error < 0 ? -error : error)));
        emit(o);
}

static void reply_error(int error, const FzdError *err) {
        char text[FZD_ERROR_TEXT_MAX];
        reply_error_text(error, err ? fzd_error_format(err, text, sizeof text) : NULL);
}

static json_object *resolvers_json(const FzdDnsResolver *r, size_t n) {
        json_object *a = json_object_new_array();

        for (size_t i = 0; i < n; i++) {
                json_object *o = json_object_new_object();
                char buf[INET6_ADDRSTRLEN];

                json_object_object_add(
                        o, "address",
                        json_object_new_string(fzd_dns_address_to_string(&r[i].address, buf, sizeof buf)));
                json_object_object_add(o, "port", json_object_new_int(r[i].port));
                json_object_object_add(o, "ifindex", json_object_new_int(r[i].ifindex));
                json_object_object_add(o, "server_name", json_object_new_string(r[i].server_name));
                json_object_object_add(
                        o, "dns_over_tls",
                        json_object_new_string(fzd_dns_over_tls_to_string(r[i].dns_over_tls)));
                json_object_array_add(a, o);
        }
        return a;
}

/* ---- one-shot commands --------------------------------------------------------------- */

static void on_resolvers_once(void *userdata, int error, const FzdDnsResolver *r, size_t n) {
        Tool *t = userdata;

        if (error < 0) {
                reply_error(error, fzd_dns_last_error(t->dns));
                t->exit_code = 1;
        } else
                reply_ok(resolvers_json(r, n));
        (void)sd_event_exit(t->event, 0);
}

/* ---- session ------------------------------------------------------------------------- */

static void on_done(void *userdata, int error, const FzdError *err) {
        if (error < 0)
                reply_error(error, err);
        else
                reply_ok(NULL);
}

static void on_session_resolvers(void *userdata, int error, const FzdDnsResolver *r, size_t n) {
        Tool *t = userdata;

        if (error < 0)
                reply_error(error, fzd_dns_last_error(t->dns));
        else
                reply_ok(resolvers_json(r, n));
}

static void on_resolvers_changed(void *userdata, const FzdDnsResolver *r, size_t n) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "event", json_object_new_string("resolvers-changed"));
        json_object_object_add(o, "resolvers", resolvers_json(r, n));
        emit(o);
}

static uint16_t checksum_fold(uint32_t sum) {
        while (sum >> 16)
                sum = (sum & 0xffff) + (sum >> 16);
        return (uint16_t)~sum;
}

static uint32_t checksum_add(uint32_t sum, const uint8_t *p, size_t n) {
        for (size_t i = 0; i + 1 < n; i += 2)
                sum += (uint32_t)(p[i] << 8 | p[i + 1]);
        if (n & 1)
                sum += (uint32_t)(p[n - 1] << 8);
        return sum;
}

/* The question name of a DNS message, as dotted text. Returns the offset after the
 * question (name + type + class), or 0 if malformed. */
static size_t dns_question(const uint8_t *dns, size_t len, char *name, size_t size, uint16_t *ret_qtype) {
        size_t off = 12, out = 0;

        if (len < 12 || (dns[4] << 8 | dns[5]) < 1)
                return 0;
        for (;;) {
                uint8_t l;

                if (off >= len)
                        return 0;
                l = dns[off++];
                if (l == 0)
                        break;
                if (l > 63 || off + l > len || out + l + 2 > size)
                        return 0;
                if (out > 0)
                        name[out++] = '.';
                for (uint8_t i = 0; i < l; i++) {
                        uint8_t c = dns[off + i];
                        name[out++] = (c > 0x20 && c < 0x7f) ? (char)c : '?';
                }
                off += l;
        }
        name[out] = 0;
        if (off + 4 > len)
                return 0;
        *ret_qtype = (uint16_t)(dns[off] << 8 | dns[off + 1]);
        return off + 4;
}

/* An answer to an IPv4 UDP query: the question echoed, and one A record for qtype A. */
static void answer_v4(Tool *t, const uint8_t *pkt, size_t len, size_t ihl, size_t qend, uint16_t qtype) {
        uint8_t out[1500];
        const struct iphdr *ip = (const void *)pkt;
        const struct udphdr *udp = (const void *)(pkt + ihl);
        size_t dns_len = qend, n;
        uint8_t *dns;

        if (20 + 8 + dns_len + 16 > sizeof out)
                return;
        memset(out, 0, sizeof out);
        dns = out + 28;
        memcpy(dns, pkt + ihl + 8, dns_len);
        dns[2] = (uint8_t)(0x80 | (dns[2] & 0x01)); /* QR, RD as asked */
        dns[3] = 0x80;                              /* RA, NOERROR */
        dns[6] = dns[7] = dns[8] = dns[9] = dns[10] = dns[11] = 0;
        if (qtype == 1) {
                static const uint8_t rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4};
                memcpy(dns + dns_len, rr, sizeof rr);
                memcpy(dns + dns_len + sizeof rr, &t->answer, 4);
                dns_len += sizeof rr + 4;
                dns[7] = 1;
        }
        n = 28 + dns_len;

        struct iphdr *oip = (void *)out;
        oip->version = 4;
        oip->ihl = 5;
        oip->tot_len = htons((uint16_t)n);
        oip->ttl = 64;
        oip->protocol = IPPROTO_UDP;
        oip->saddr = ip->daddr;
        oip->daddr = ip->saddr;
        oip->check = htons(checksum_fold(checksum_add(0, out, 20)));
        struct udphdr *oudp = (void *)(out + 20);
        oudp->source = udp->dest;
        oudp->dest = udp->source;
        oudp->len = htons((uint16_t)(n - 20));
        oudp->check = 0; /* optional over IPv4 */
        if (write(t->tun_fd, out, n) < 0)
                fprintf(stderr, "fzd-dns-tool: writing the answer to the TUN: %m\n");
}

static int on_tun(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Tool *t = userdata;
        uint8_t pkt[65536];
        ssize_t k = read(fd, pkt, sizeof pkt);
        char name[256], src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
        size_t off, qend;
        uint16_t qtype = 0;
        bool v4;

        if (k < 20)
                return 0;
        v4 = (pkt[0] >> 4) == 4;
        if (v4) {
                size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
                if (pkt[9] != IPPROTO_UDP || (size_t)k < ihl + 8)
                        return 0;
                inet_ntop(AF_INET, pkt + 12, src, sizeof src);
                inet_ntop(AF_INET, pkt + 16, dst, sizeof dst);
                off = ihl;
        } else if ((pkt[0] >> 4) == 6 && k >= 48) {
                if (pkt[6] != IPPROTO_UDP)
                        return 0;
                inet_ntop(AF_INET6, pkt + 8, src, sizeof src);
                inet_ntop(AF_INET6, pkt + 24, dst, sizeof dst);
                off = 40;
        } else
                return 0;
        if ((pkt[off + 2] << 8 | pkt[off + 3]) != 53)
                return 0;
        qend = dns_question(pkt + off + 8, (size_t)k - off - 8, name, sizeof name, &qtype);
        if (qend == 0)
                return 0;

        if (t->capture_pending) {
                json_object *o = json_object_new_object();

                t->capture_pending = false;
                json_object_object_add(o, "name", json_object_new_string(name));
                json_object_object_add(o, "qtype", json_object_new_int(qtype));
                json_object_object_add(o, "src", json_object_new_string(src));
                json_object_object_add(o, "dst", json_object_new_string(dst));
                reply_ok(o);
        }
        if (t->answering && v4)
                answer_v4(t, pkt, (size_t)k, off, qend, qtype);
        return 0;
}

static int make_tun(Tool *t, const char *name, int *ret_ifindex) {
        struct ifreq ifr = {};
        int fd, sock, r;

        if (strlen(name) >= IFNAMSIZ)
                return -EINVAL;
        fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
        strcpy(ifr.ifr_name, name);
        if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (sock < 0 || ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) {
                r = -errno;
                goto fail;
        }
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0) {
                r = -errno;
                goto fail;
        }
        close(sock);
        r = sd_event_add_io(t->event, &t->tun_source, fd, EPOLLIN, on_tun, t);
        if (r < 0) {
                close(fd);
                return r;
        }
        t->tun_fd = fd;
        *ret_ifindex = (int)if_nametoindex(name);
        return 0;
fail:
        if (sock >= 0)
                close(sock);
        close(fd);
        return r;
}

static int parse_sentinels(json_object *arr, FzdDnsAddress *out, size_t max, size_t *ret_n) {
        size_t n = 0;

        if (!arr || !json_object_is_type(arr, json_type_array))
                return -EINVAL;
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                if (n >= max)
                        return -E2BIG;
                if (fzd_dns_address_from_string(json_object_get_string(json_object_array_get_idx(arr, i)),
                                                &out[n]) < 0)
                        return -EINVAL;
                n++;
        }
        *ret_n = n;
        return 0;
}

static void handle_order(Tool *t, const char *line) {
        json_object *o = json_tokener_parse(line), *v;
        const char *op;
        int r;

        if (!o || !json_object_object_get_ex(o, "op", &v)) {
                reply_error_text(-EINVAL, "not a JSON order with \"op\"");
                json_object_put(o);
                return;
        }
        op = json_object_get_string(v);

        if (streq(op, "tun")) {
                int ifindex = 0;
                json_object_object_get_ex(o, "name", &v);
                r = make_tun(t, v ? json_object_get_string(v) : "tun-firezone", &ifindex);
                if (r < 0)
                        reply_error(r, NULL);
                else {
                        json_object *res = json_object_new_object();
                        json_object_object_add(res, "ifindex", json_object_new_int(ifindex));
                        reply_ok(res);
                }
        } else if (streq(op, "apply")) {
                FzdDnsAddress s[FZD_DNS_MAX_SENTINELS + 1];
                size_t n = 0;
                const char *domain = NULL;
                int ifindex = 0;

                if (json_object_object_get_ex(o, "ifindex", &v))
                        ifindex = json_object_get_int(v);
                if (json_object_object_get_ex(o, "search_domain", &v) &&
                    !json_object_is_type(v, json_type_null))
                        domain = json_object_get_string(v);
                json_object_object_get_ex(o, "sentinels", &v);
                r = parse_sentinels(v, s, ELEMENTSOF(s), &n);
                if (r >= 0)
                        r = fzd_dns_apply(t->dns, ifindex, s, n, domain, on_done, t);
                if (r < 0)
                        reply_error(r, fzd_dns_last_error(t->dns));
        } else if (streq(op, "revert")) {
                r = fzd_dns_revert(t->dns, on_done, t);
                if (r < 0)
                        reply_error(r, fzd_dns_last_error(t->dns));
        } else if (streq(op, "resolvers")) {
                r = fzd_dns_get_system_resolvers(t->dns, on_session_resolvers, t);
                if (r < 0)
                        reply_error(r, NULL);
        } else if (streq(op, "watch")) {
                r = fzd_dns_watch(t->dns, true);
                if (r < 0)
                        reply_error(r, NULL);
                else
                        reply_ok(NULL);
        } else if (streq(op, "capture")) {
                if (t->tun_fd < 0)
                        reply_error_text(-EBADF, "no TUN: send {\"op\": \"tun\"} first");
                else {
                        if (json_object_object_get_ex(o, "answer", &v) &&
                            inet_pton(AF_INET, json_object_get_string(v), &t->answer) == 1)
                                t->answering = true;
                        t->capture_pending = true;
                }
        } else if (streq(op, "mode")) {
                json_object *res = json_object_new_object();
                json_object_object_add(res, "mode", json_object_new_string(fzd_dns_mode_in_use(t->dns)));
                json_object_object_add(res, "trace",
                                       fzd_dns_detect_trace(t->dns)
                                               ? json_object_new_string(fzd_dns_detect_trace(t->dns))
                                               : NULL);
                reply_ok(res);
        } else
                reply_error_text(-EOPNOTSUPP, "unknown op");
        json_object_put(o);
}

static int on_stdin(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Tool *t = userdata;
        ssize_t k = read(fd, t->line + t->line_len, sizeof t->line - 1 - t->line_len);
        char *nl;

        if (k <= 0) {
                if (k < 0 && errno == EAGAIN)
                        return 0;
                /* End of orders: the clean exit path. */
                (void)sd_event_exit(t->event, 0);
                return 0;
        }
        t->line_len += (size_t)k;
        t->line[t->line_len] = 0;
        while ((nl = strchr(t->line, '\n'))) {
                *nl = 0;
                if (t->line[0])
                        handle_order(t, t->line);
                memmove(t->line, nl + 1, t->line_len - (size_t)(nl + 1 - t->line) + 1);
                t->line_len -= (size_t)(nl + 1 - t->line);
        }
        if (t->line_len >= sizeof t->line - 1)
                t->line_len = 0; /* a line longer than any order: drop it */
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                {"mode", required_argument, NULL, 'm'},
                {"resolv-conf", required_argument, NULL, 'r'},
                {"state-dir", required_argument, NULL, 's'},
                {"debounce-ms", required_argument, NULL, 'd'},
                {},
        };
        FzdDnsParams params = {.mode = FZD_DNS_CONTROL_AUTO, .state_dir = FZ_STATE_DIR};
        FzdDnsCallbacks callbacks = {.resolvers_changed = on_resolvers_changed};
        Tool t = {.tun_fd = -EBADF};
        const char *command;
        int c, r;

        fzd_log_open();
        fzd_log_set_max_level(LOG_DEBUG);
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'm':
                        r = fzd_dns_control_from_string(optarg);
                        if (r < 0) {
                                fprintf(stderr, "bad mode %s\n", optarg);
                                return 2;
                        }
                        params.mode = r;
                        break;
                case 'r':
                        params.resolv_conf = optarg;
                        break;
                case 's':
                        params.state_dir = optarg;
                        break;
                case 'd':
                        params.debounce_usec = strtoull(optarg, NULL, 10) * USEC_PER_MSEC;
                        break;
                default:
                        return 2;
                }
        if (optind != argc - 1) {
                fprintf(stderr, "usage: fzd-dns-tool [--mode=M] [--resolv-conf=P] [--state-dir=D] "
                                "[--debounce-ms=N] detect|cleanup-stale|resolvers|session\n");
                return 2;
        }
        command = argv[optind];

        r = sd_event_default(&t.event);
        if (r < 0)
                return 1;
        r = fzd_dns_new(t.event, &params, &callbacks, &t, &t.dns);
        if (r < 0) {
                fprintf(stderr, "fzd_dns_new: %s\n", strerror(-r));
                return 1;
        }

        if (streq(command, "detect")) {
                json_object *o = json_object_new_object();
                r = fzd_dns_detect(t.dns);
                json_object_object_add(o, "mode", json_object_new_string(fzd_dns_mode_in_use(t.dns)));
                json_object_object_add(o, "trace",
                                       fzd_dns_detect_trace(t.dns)
                                               ? json_object_new_string(fzd_dns_detect_trace(t.dns))
                                               : NULL);
                emit(o);
        } else if (streq(command, "cleanup-stale")) {
                r = fzd_dns_cleanup_stale(t.dns);
                if (r < 0)
                        reply_error(r, NULL);
                else
                        reply_ok(NULL);
        } else if (streq(command, "resolvers")) {
                r = fzd_dns_get_system_resolvers(t.dns, on_resolvers_once, &t);
                if (r >= 0)
                        r = sd_event_loop(t.event);
                if (r >= 0)
                        r = t.exit_code ? -EIO : 0;
        } else if (streq(command, "session")) {
                sigset_t ss;

                sigemptyset(&ss);
                sigaddset(&ss, SIGTERM);
                sigaddset(&ss, SIGINT);
                sigprocmask(SIG_BLOCK, &ss, NULL);
                (void)sd_event_add_signal(t.event, NULL, SIGTERM, on_signal, NULL);
                (void)sd_event_add_signal(t.event, NULL, SIGINT, on_signal, NULL);
                (void)fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
                r = sd_event_add_io(t.event, &t.stdin_source, STDIN_FILENO, EPOLLIN, on_stdin, &t);
                if (r >= 0) {
                        printf("{\"ready\": true}\n");
                        fflush(stdout);
                        r = sd_event_loop(t.event);
                }
                /* Like the daemon's exit path. */
                if (fzd_dns_revert_sync(t.dns) < 0)
                        r = -EIO;
        } else {
                fprintf(stderr, "unknown command %s\n", command);
                r = -EINVAL;
        }

        t.stdin_source = sd_event_source_disable_unref(t.stdin_source);
        t.tun_source = sd_event_source_disable_unref(t.tun_source);
        if (t.tun_fd >= 0)
                close(t.tun_fd);
        fzd_dns_free(t.dns);
        sd_event_unref(t.event);
        return r < 0 ? 1 : 0;
}
