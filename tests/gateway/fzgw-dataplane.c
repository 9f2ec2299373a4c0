/* SPDX-License-Identifier: Apache-2.0 */
/* The test gateway's data plane (tests/gateway/README.md): orders from the controller as
 * JSON lines on stdin, answers and events as JSON lines on stdout, the log on stderr.
 *
 *   fzgw-dataplane [--tun NAME] [--port N] [--mtu N] [--host-candidate IP]… [--all-interfaces]
 *                  [--no-offloads] [--log-level LEVEL] [--ice-debug]
 *
 * Runs until stdin ends (or SIGTERM/SIGINT), then closes every connection, deletes its TURN
 * allocations, removes the TUN and exits 0. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "gateway.h"
#include "gw-orders.h"
#include "log.h"

typedef struct Main {
        sd_event *event;
        FzgwGateway *gw;
        char *buf;
        size_t used;
        bool discarding; /* inside a line that was too long */
        bool output_broken;
} Main;

static void emit_line(void *userdata, json_object *o) {
        Main *m = userdata;
        const char *s =
                json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

        if (!m->output_broken && (fputs(s, stdout) < 0 || fputc('\n', stdout) < 0 || fflush(stdout) != 0)) {
                /* The controller is gone: nobody to serve. */
                log_error_errno(errno, "Cannot write to the controller: %m");
                m->output_broken = true;
                if (m->event)
                        (void) sd_event_exit(m->event, 0);
        }
        json_object_put(o);
}

static void handle_lines(Main *m) {
        char *start = m->buf, *nl;

        while ((nl = memchr(start, '\n', m->used - (size_t) (start - m->buf)))) {
                size_t len = (size_t) (nl - start);
                if (m->discarding)
                        m->discarding = false;
                else if (len > 0)
                        fzgw_gateway_handle_line(m->gw, start, len);
                start = nl + 1;
        }
        m->used -= (size_t) (start - m->buf);
        memmove(m->buf, start, m->used);
        if (m->used >= FZGW_LINE_MAX) {
                log_error("An order longer than %u bytes: ignored.", FZGW_LINE_MAX);
                m->used = 0;
                m->discarding = true;
        }
}

static int on_stdin(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Main *m = userdata;
        ssize_t n = read(fd, m->buf + m->used, FZGW_LINE_MAX + 1 - m->used);

        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return 0;
                log_error_errno(errno, "Cannot read orders: %m");
                return sd_event_exit(m->event, 0);
        }
        if (n == 0) {
                log_info("The controller closed our stdin: stopping.");
                return sd_event_exit(m->event, 0);
        }
        m->used += (size_t) n;
        handle_lines(m);
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Main *m = userdata;

        log_info("Signal %u: stopping.", si->ssi_signo);
        return sd_event_exit(m->event, 0);
}

static void usage(void) {
        fprintf(stderr, "Usage: fzgw-dataplane [--tun NAME] [--port N] [--mtu N] [--host-candidate IP]... "
                        "[--all-interfaces] [--no-offloads] [--log-level LEVEL] [--ice-debug]\n");
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "tun", required_argument, NULL, 't' },
                { "port", required_argument, NULL, 'p' },
                { "mtu", required_argument, NULL, 'm' },
                { "host-candidate", required_argument, NULL, 'H' },
                { "all-interfaces", no_argument, NULL, 'A' },
                { "no-offloads", no_argument, NULL, 'O' },
                { "log-level", required_argument, NULL, 'L' },
                { "ice-debug", no_argument, NULL, 'I' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        FzgwGatewayConfig cfg = { .tun_name = "tun-firezone", .mtu = 1280, .port = 52625 };
        static Main m;
        sigset_t mask;
        int c, r;

        fzd_log_open();
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 't':
                        cfg.tun_name = optarg;
                        break;
                case 'p':
                        cfg.port = (uint16_t) strtoul(optarg, NULL, 10);
                        break;
                case 'm':
                        cfg.mtu = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'H':
                        if (cfg.n_host_candidates == FZGW_MAX_HOST_CANDIDATES ||
                            fzgw_ip_parse(optarg, &cfg.host_candidates[cfg.n_host_candidates]) < 0) {
                                fprintf(stderr, "fzgw-dataplane: bad or too many --host-candidate %s\n",
                                        optarg);
                                return 2;
                        }
                        cfg.n_host_candidates++;
                        break;
                case 'A':
                        cfg.all_interfaces = true;
                        break;
                case 'O':
                        cfg.disable_offloads = true;
                        break;
                case 'L':
                        r = fzd_log_level_from_string(optarg);
                        if (r < 0) {
                                fprintf(stderr, "fzgw-dataplane: unknown log level %s\n", optarg);
                                return 2;
                        }
                        fzd_log_set_max_level(r);
                        break;
                case 'I':
                        cfg.ice_debug = true;
                        break;
                case 'h':
                        usage();
                        return 0;
                default:
                        usage();
                        return 2;
                }
        }
        if (optind < argc || cfg.mtu < 1280 || cfg.mtu > 9000) {
                usage();
                return 2;
        }

        /* Before any thread exists: signals go to the loop's signalfd, never to a worker. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);

        m.buf = malloc(FZGW_LINE_MAX + 1);
        if (!m.buf)
                return log_oom(), 1;
        r = sd_event_default(&m.event);
        if (r < 0)
                return log_error_errno(r, "Cannot make an event loop: %m"), 1;
        r = fzgw_gateway_new(m.event, &cfg, emit_line, &m, &m.gw);
        if (r < 0) {
                log_error_errno(r, "Cannot start the data plane: %m");
                m.event = sd_event_unref(m.event);
                free(m.buf);
                return 1;
        }
        if (sd_event_add_signal(m.event, NULL, SIGTERM, on_signal, &m) < 0 ||
            sd_event_add_signal(m.event, NULL, SIGINT, on_signal, &m) < 0 ||
            sd_event_add_io(m.event, NULL, STDIN_FILENO, EPOLLIN, on_stdin, &m) < 0) {
                log_error("Cannot watch stdin and signals.");
                r = -EIO;
        } else {
                emit_line(&m, fzgw_gateway_ready_event(m.gw));
                r = sd_event_loop(m.event);
        }
        m.gw = fzgw_gateway_free(m.gw);
        m.event = sd_event_unref(m.event);
        free(m.buf);
        return r < 0 ? 1 : 0;
}
