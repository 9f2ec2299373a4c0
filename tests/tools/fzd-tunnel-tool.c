/* SPDX-License-Identifier: Apache-2.0 */
/* Test tool (root only, built with the tests): drives the fzd_tunnel_* API from commands
 * on stdin, one per line, and answers each with one JSON line on stdout. Network change
 * events (with --monitor) arrive as JSON lines of their own. Logs go to stderr.
 *
 *   up IPV4|- IPV6|-          bring tun-firezone up (or update its addresses)
 *   add CIDR…  remove CIDR…   resource routes (unparsable ones are skipped with a log line)
 *   add-file PATH  remove-file PATH   the same, one CIDR per line
 *   internet on|off           the Internet resource
 *   down  cleanup-stale  stats  quit
 *
 * Replies: {"reply":"add","ok":true,"error":"","requests":1,"sends":1,"skipped":0,"routes":5,"ifindex":3}
 * where requests/sends are the netlink messages/sendmsg calls this command caused.
 * Events:  {"event":"network-changed","changes":"route,default-route"} */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "cidr.h"
#include "log.h"
#include "tunnel.h"

#define LINE_MAX_LEN (64 * 1024)

typedef struct Tool {
        sd_event *event;
        FzdTunnel *tunnel;
        char line[LINE_MAX_LEN];
        size_t used;
        bool overlong;
} Tool;

static void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

static void json_string(FILE *f, const char *s) {
        fputc('"', f);
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;
                if (c == '"' || c == '\\')
                        fprintf(f, "\\%c", c);
                else if (c < 0x20)
                        fprintf(f, "\\u%04x", c);
                else
                        fputc(c, f);
        }
        fputc('"', f);
}

static void reply(Tool *tool, const char *cmd, int r, const FzdTunnelStats *before, size_t skipped) {
        FzdTunnelStats now;

        fzd_tunnel_get_stats(tool->tunnel, &now);
        printf("{\"reply\":");
        json_string(stdout, cmd);
        printf(",\"ok\":%s,\"error\":", r >= 0 ? "true" : "false");
        json_string(stdout, r >= 0 ? "" : strerror(-r));
        printf(",\"result\":%d,\"requests\":%llu,\"sends\":%llu,\"skipped\":%zu,\"routes\":%zu,\"ifindex\":%d}\n", r,
               (unsigned long long) (now.netlink_requests - before->netlink_requests),
               (unsigned long long) (now.netlink_sends - before->netlink_sends), skipped, now.routes,
               fzd_tunnel_ifindex(tool->tunnel));
        fflush(stdout);
}

static void on_network_changed(void *userdata, unsigned changes, const char *what) {
        printf("{\"event\":\"network-changed\",\"changes\":");
        json_string(stdout, what);
        printf("}\n");
        fflush(stdout);
}

/* Parses words into CIDRs; what does not parse is skipped with a log line, as the daemon
 * does with a portal's bad address. */
static int parse_cidrs(char **words, size_t n, FzdCidr **ret, size_t *ret_n, size_t *skipped) {
        FzdCidr *c = calloc(n ? n : 1, sizeof *c);
        size_t k = 0;

        if (!c)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (fzd_cidr_parse(words[i], false, &c[k]) < 0) {
                        log_warning("Ignoring invalid CIDR '%s'.", words[i]);
                        (*skipped)++;
                        continue;
                }
                k++;
        }
        *ret = c;
        *ret_n = k;
        return 0;
}

static int read_words(const char *path, char ***ret, size_t *ret_n) {
        _cleanup_(fclosep) FILE *f = NULL;
        char **words = NULL, *line = NULL;
        size_t n = 0, alloc = 0, cap = 0;
        ssize_t len;

        f = fopen(path, "re");
        if (!f)
                return log_error_errno(errno, "Failed to open %s: %m", path);
        while ((len = getline(&line, &cap, f)) >= 0) {
                while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
                        line[--len] = '\0';
                if (len == 0)
                        continue;
                if (n == alloc) {
                        char **w;
                        alloc = alloc ? alloc * 2 : 256;
                        w = reallocarray(words, alloc, sizeof *w);
                        if (!w)
                                goto oom;
                        words = w;
                }
                words[n] = strdup(line);
                if (!words[n])
                        goto oom;
                n++;
        }
        free(line);
        *ret = words;
        *ret_n = n;
        return 0;
oom:
        free(line);
        for (size_t i = 0; i < n; i++)
                free(words[i]);
        free(words);
        return log_oom();
}

static void free_words(char **words, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(words[i]);
        free(words);
}

static int routes(Tool *tool, bool add, char **words, size_t n, size_t *skipped) {
        _cleanup_(freep) FzdCidr *c = NULL;
        size_t k = 0, bad = 0;
        int r;

        r = parse_cidrs(words, n, &c, &k, skipped);
        if (r < 0)
                return r;
        /* One prefix goes through the single-route API the daemon uses for updates. */
        if (k == 1 && n == 1)
                return add ? fzd_tunnel_route_add(tool->tunnel, &c[0]) : fzd_tunnel_route_remove(tool->tunnel, &c[0]);
        if (add) {
                r = fzd_tunnel_routes_add(tool->tunnel, c, k, &bad);
                *skipped += bad;
                return r;
        }
        return fzd_tunnel_routes_remove(tool->tunnel, c, k);
}

static int address(const char *word, int family, void *ret, bool *has) {
        *has = false;
        if (streq(word, "-"))
                return 0;
        if (inet_pton(family, word, ret) != 1)
                return log_error_errno(EINVAL, "Not an %s address: '%s'", family == AF_INET ? "IPv4" : "IPv6", word);
        *has = true;
        return 0;
}

static int command(Tool *tool, char *line, size_t *skipped) {
        char *words[64], *save = NULL, *w;
        size_t n = 0;

        for (w = strtok_r(line, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
                if (n == ELEMENTSOF(words))
                        return -E2BIG;
                words[n++] = w;
        }
        if (n == 0)
                return -EINVAL;

        if (streq(words[0], "up") && n == 3) {
                FzdInterfaceConfig config = {};
                int r = address(words[1], AF_INET, &config.ipv4, &config.has_ipv4);
                if (r >= 0)
                        r = address(words[2], AF_INET6, &config.ipv6, &config.has_ipv6);
                if (r >= 0)
                        r = fzd_tunnel_up(tool->tunnel, &config, NULL);
                return r;
        }
        if (streq(words[0], "down") && n == 1) {
                fzd_tunnel_down(tool->tunnel);
                return 0;
        }
        if (streq(words[0], "cleanup-stale") && n == 1)
                return fzd_tunnel_cleanup_stale(tool->tunnel);
        if ((streq(words[0], "add") || streq(words[0], "remove")) && n >= 2)
                return routes(tool, streq(words[0], "add"), words + 1, n - 1, skipped);
        if ((streq(words[0], "add-file") || streq(words[0], "remove-file")) && n == 2) {
                char **list = NULL;
                size_t k = 0;
                int r = read_words(words[1], &list, &k);
                if (r < 0)
                        return r;
                r = routes(tool, streq(words[0], "add-file"), list, k, skipped);
                free_words(list, k);
                return r;
        }
        if (streq(words[0], "internet") && n == 2 && (streq(words[1], "on") || streq(words[1], "off")))
                return fzd_tunnel_set_internet_resource(tool->tunnel, streq(words[1], "on"));
        if (streq(words[0], "stats") && n == 1)
                return 0;
        if (streq(words[0], "quit") && n == 1)
                return sd_event_exit(tool->event, 0);
        log_error("Unknown command or wrong arguments: %s", words[0]);
        return -EINVAL;
}

static void run_line(Tool *tool, char *line) {
        char cmd[32] = "";
        FzdTunnelStats before;
        size_t skipped = 0;
        int r;

        (void) sscanf(line, "%31s", cmd);
        fzd_tunnel_get_stats(tool->tunnel, &before);
        r = command(tool, line, &skipped);
        reply(tool, cmd, r, &before, skipped);
}

static int on_stdin(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Tool *tool = userdata;
        ssize_t n = read(fd, tool->line + tool->used, sizeof tool->line - 1 - tool->used);
        char *start, *nl;

        if (n < 0)
                return errno == EINTR || errno == EAGAIN ? 0 : sd_event_exit(tool->event, -errno);
        if (n == 0)
                return sd_event_exit(tool->event, 0); /* EOF: tear down and exit */
        tool->used += (size_t) n;
        tool->line[tool->used] = '\0';

        start = tool->line;
        while ((nl = strchr(start, '\n'))) {
                *nl = '\0';
                if (tool->overlong)
                        tool->overlong = false;
                else
                        run_line(tool, start);
                start = nl + 1;
        }
        tool->used -= (size_t) (start - tool->line);
        memmove(tool->line, start, tool->used);
        if (tool->used == sizeof tool->line - 1) { /* a line too long to be a command */
                log_error("Command line too long, ignoring it.");
                tool->used = 0;
                tool->overlong = true;
        }
        return 0;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "monitor", no_argument, NULL, 'm' },
                { "debounce-ms", required_argument, NULL, 'd' },
                { "log-level", required_argument, NULL, 'l' },
                {},
        };
        FzdTunnelEvents events = { .network_changed = on_network_changed };
        _cleanup_(freep) Tool *tool = calloc(1, sizeof *tool);
        bool monitor = false;
        long debounce_ms = 0;
        int c, r;

        if (!tool)
                return EXIT_FAILURE;
        fzd_log_open();
        fzd_log_set_max_level(LOG_DEBUG);
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'm':
                        monitor = true;
                        break;
                case 'd':
                        debounce_ms = strtol(optarg, NULL, 10);
                        if (debounce_ms <= 0 || debounce_ms > 60000) {
                                log_error("Bad --debounce-ms: %s", optarg);
                                return EXIT_FAILURE;
                        }
                        break;
                case 'l':
                        r = fzd_log_level_from_string(optarg);
                        if (r < 0) {
                                log_error("Bad --log-level: %s", optarg);
                                return EXIT_FAILURE;
                        }
                        fzd_log_set_max_level(r);
                        break;
                default:
                        return EXIT_FAILURE;
                }
        if (geteuid() != 0) {
                log_error("fzd-tunnel-tool changes the network configuration and needs root; run it in a "
                          "private network namespace (unshare -n).");
                return EXIT_FAILURE;
        }

        r = sd_event_default(&tool->event);
        if (r < 0)
                return log_error_errno(r, "Failed to create the event loop: %m"), EXIT_FAILURE;
        r = fzd_tunnel_new(tool->event, monitor ? &events : NULL, tool, &tool->tunnel);
        if (r < 0)
                goto finish;
        if (debounce_ms > 0)
                fzd_tunnel_set_debounce(tool->tunnel, (uint64_t) debounce_ms * USEC_PER_MSEC);
        r = sd_event_add_io(tool->event, NULL, STDIN_FILENO, EPOLLIN, on_stdin, tool);
        if (r < 0) {
                log_error_errno(r, "Failed to watch stdin: %m");
                goto finish;
        }
        printf("{\"event\":\"ready\"}\n");
        fflush(stdout);
        r = sd_event_loop(tool->event);

finish:
        fzd_tunnel_free(tool->tunnel);
        sd_event_unref(tool->event);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
