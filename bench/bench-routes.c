/* SPDX-License-Identifier: Apache-2.0 */
/* Benchmark: installing N CIDR resource routes into our table with fzd_tunnel (batched
 * rtnetlink) against `ip -batch` with the same routes, side by side, in a private network
 * namespace this program creates for itself (never the host's). Also the latency of one
 * route add/remove with the N routes in place. Needs root (CAP_SYS_ADMIN for unshare).
 *
 *   bench-routes [--routes N] [--rounds R] [--latency K] [--ipv6]                      */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "netlink.h"
#include "rtnl.h"
#include "tunnel.h"


static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static uint64_t percentile(uint64_t *v, size_t n, double p) {
        size_t i;
        qsort(v, n, sizeof *v, cmp_u64);
        i = (size_t) (p * (double) (n - 1) + 0.5);
        return v[i];
}

static int run_ip(char *const argv[]) {
        pid_t pid;
        int status;

        if (posix_spawnp(&pid, "ip", NULL, NULL, argv, environ) != 0)
                return -errno;
        if (waitpid(pid, &status, 0) < 0)
                return -errno;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

static int count_route(const struct nlmsghdr *nlh, void *userdata) {
        size_t *n = userdata;
        FzdRtnlRoute r;

        if (!nlh)
                *n = 0;
        else if (fzd_rtnl_parse_route(nlh, &r) >= 0 && r.table == FZD_ROUTE_TABLE)
                (*n)++;
        return 0;
}

static size_t table_size(FzdNetlink *nl, int family) {
        FzdNlBuffer buf;
        size_t n = 0;
        int r = fzd_netlink_dump(nl, fzd_rtnl_route_dump_request(&buf, family, FZD_ROUTE_TABLE), count_route, &n);
        return r < 0 ? 0 : n;
}

static void write_batch_lines(const char *path, const char *verb, const FzdCidr *c, size_t n) {
        FILE *f = fopen(path, "we");
        char s[FZD_CIDR_STRING_MAX];

        if (!f) {
                perror(path);
                exit(EXIT_FAILURE);
        }
        for (size_t i = 0; i < n; i++) {
                (void) fzd_cidr_to_string(&c[i], s, sizeof s);
                /* "route add fd00::/64 …" works for IPv6 too: the prefix tells. */
                fprintf(f, "route %s %s dev %s table %d\n", verb, s, FZD_TUN_NAME, FZD_ROUTE_TABLE);
        }
        fclose(f);
}

static void die(const char *what, int r) {
        fprintf(stderr, "bench-routes: %s: %s\n", what, strerror(r < 0 ? -r : r));
        exit(EXIT_FAILURE);
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "routes", required_argument, NULL, 'n' },
                { "rounds", required_argument, NULL, 'r' },
                { "latency", required_argument, NULL, 'l' },
                { "ipv6", no_argument, NULL, '6' },
                {},
        };
        size_t n = 10000, rounds = 5, lat_iters = 2000;
        bool ipv6 = false;
        FzdInterfaceConfig config = {};
        FzdTunnel *t = NULL;
        FzdNetlink *nl = NULL;
        FzdCidr *cidrs;
        char dir[] = "/tmp/bench-routes-XXXXXX", addfile[64], delfile[64], emptyfile[64];
        uint64_t *ours_add, *ours_del, *ip_add, *ip_del, *ip_empty, *lat_add, *lat_del;
        FzdTunnelStats s0, s1;
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'n':
                        n = strtoul(optarg, NULL, 10);
                        break;
                case 'r':
                        rounds = strtoul(optarg, NULL, 10);
                        break;
                case 'l':
                        lat_iters = strtoul(optarg, NULL, 10);
                        break;
                case '6':
                        ipv6 = true;
                        break;
                default:
                        return EXIT_FAILURE;
                }
        if (n == 0 || n > 65536 || rounds == 0 || rounds > 100 || lat_iters == 0 || lat_iters > 100000) {
                fprintf(stderr, "bench-routes: --routes 1..65536, --rounds 1..100, --latency 1..100000\n");
                return EXIT_FAILURE;
        }

        /* Everything below happens in a network namespace of our own. */
        if (unshare(CLONE_NEWNET) < 0)
                die("unshare(CLONE_NEWNET) (run as root)", errno);
        fzd_log_set_max_level(LOG_WARNING);

        cidrs = calloc(n + 1, sizeof *cidrs);
        ours_add = calloc(rounds, sizeof(uint64_t));
        ours_del = calloc(rounds, sizeof(uint64_t));
        ip_add = calloc(rounds, sizeof(uint64_t));
        ip_del = calloc(rounds, sizeof(uint64_t));
        ip_empty = calloc(rounds, sizeof(uint64_t));
        lat_add = calloc(lat_iters, sizeof(uint64_t));
        lat_del = calloc(lat_iters, sizeof(uint64_t));
        if (!cidrs || !ours_add || !ours_del || !ip_add || !ip_del || !ip_empty || !lat_add || !lat_del)
                die("calloc", ENOMEM);
        for (size_t i = 0; i <= n; i++) {
                if (ipv6) {
                        cidrs[i] = (FzdCidr) { .family = AF_INET6, .prefixlen = 64 };
                        cidrs[i].addr.in6.s6_addr[0] = 0xfd;
                        cidrs[i].addr.in6.s6_addr[1] = 0x12;
                        cidrs[i].addr.in6.s6_addr[6] = (uint8_t) (i >> 8);
                        cidrs[i].addr.in6.s6_addr[7] = (uint8_t) i;
                } else {
                        cidrs[i] = (FzdCidr) { .family = AF_INET, .prefixlen = 24 };
                        cidrs[i].addr.in.s_addr = htonl(0x0a000000u | ((uint32_t) i << 8));
                }
        }

        if (!mkdtemp(dir))
                die("mkdtemp", errno);
        snprintf(addfile, sizeof addfile, "%s/add", dir);
        snprintf(delfile, sizeof delfile, "%s/del", dir);
        snprintf(emptyfile, sizeof emptyfile, "%s/empty", dir);
        write_batch_lines(addfile, "add", cidrs, n);
        write_batch_lines(delfile, "del", cidrs, n);
        write_batch_lines(emptyfile, "add", cidrs, 0);

        config.has_ipv4 = inet_pton(AF_INET, "100.64.0.2", &config.ipv4) == 1;
        config.has_ipv6 = inet_pton(AF_INET6, "fd00:2021:1111::2", &config.ipv6) == 1;
        r = fzd_tunnel_new(NULL, NULL, NULL, &t);
        if (r < 0)
                die("fzd_tunnel_new", r);
        r = fzd_tunnel_up(t, &config, NULL);
        if (r < 0)
                die("fzd_tunnel_up", r);
        r = fzd_netlink_open(&nl);
        if (r < 0)
                die("fzd_netlink_open", r);

        int family = ipv6 ? AF_INET6 : AF_INET;
        size_t base = table_size(nl, family);

        for (size_t k = 0; k < rounds; k++) {
                char *ip_add_argv[] = { (char *) "ip", (char *) "-batch", addfile, NULL };
                char *ip_del_argv[] = { (char *) "ip", (char *) "-batch", delfile, NULL };
                char *ip_empty_argv[] = { (char *) "ip", (char *) "-batch", emptyfile, NULL };
                uint64_t t0;

                /* Alternate who goes first, so neither always meets a warm (or cold) kernel. */
                for (int turn = 0; turn < 2; turn++) {
                        if ((turn == 0) == (k % 2 == 0)) {
                                fzd_tunnel_get_stats(t, &s0);
                                t0 = now_ns();
                                r = fzd_tunnel_routes_add(t, cidrs, n, NULL);
                                ours_add[k] = now_ns() - t0;
                                fzd_tunnel_get_stats(t, &s1);
                                if (r < 0 || table_size(nl, family) != base + n)
                                        die("fzd_tunnel_routes_add did not install every route", r ?: EIO);
                                t0 = now_ns();
                                r = fzd_tunnel_routes_remove(t, cidrs, n);
                                ours_del[k] = now_ns() - t0;
                                if (r < 0 || table_size(nl, family) != base)
                                        die("fzd_tunnel_routes_remove did not remove every route", r ?: EIO);
                        } else {
                                t0 = now_ns();
                                r = run_ip(ip_add_argv);
                                ip_add[k] = now_ns() - t0;
                                if (r < 0 || table_size(nl, family) != base + n)
                                        die("ip -batch did not install every route", r ?: EIO);
                                t0 = now_ns();
                                r = run_ip(ip_del_argv);
                                ip_del[k] = now_ns() - t0;
                                if (r < 0 || table_size(nl, family) != base)
                                        die("ip -batch did not remove every route", r ?: EIO);
                                t0 = now_ns();
                                (void) run_ip(ip_empty_argv);
                                ip_empty[k] = now_ns() - t0;
                        }
                }
        }

        /* One resource added and removed, with n routes in place. */
        r = fzd_tunnel_routes_add(t, cidrs, n, NULL);
        if (r < 0)
                die("fzd_tunnel_routes_add", r);
        for (size_t k = 0; k < lat_iters; k++) {
                uint64_t t0 = now_ns();
                r = fzd_tunnel_route_add(t, &cidrs[n]);
                lat_add[k] = now_ns() - t0;
                if (r < 0)
                        die("fzd_tunnel_route_add", r);
                t0 = now_ns();
                r = fzd_tunnel_route_remove(t, &cidrs[n]);
                lat_del[k] = now_ns() - t0;
                if (r < 0)
                        die("fzd_tunnel_route_remove", r);
        }

        uint64_t oa = percentile(ours_add, rounds, 0.5), od = percentile(ours_del, rounds, 0.5);
        uint64_t ia = percentile(ip_add, rounds, 0.5), id = percentile(ip_del, rounds, 0.5);
        uint64_t ie = percentile(ip_empty, rounds, 0.5);
        uint64_t oa_min = percentile(ours_add, rounds, 0), ia_min = percentile(ip_add, rounds, 0);

        printf("bench-routes: %zu %s routes into table %d via %s, private netns, %zu rounds (median; min)\n", n,
               ipv6 ? "IPv6 /64" : "IPv4 /24", FZD_ROUTE_TABLE, FZD_TUN_NAME, rounds);
        printf("%-32s %18s %18s\n", "", "install", "remove");
        printf("%-32s %9.2f ms; %5.2f %9.2f ms\n", "fzd_tunnel (batched rtnetlink)", oa / 1e6, oa_min / 1e6, od / 1e6);
        printf("%-32s %9.2f ms; %5.2f %9.2f ms\n", "ip -batch (reference)", ia / 1e6, ia_min / 1e6, id / 1e6);
        printf("%-32s %12.2fx %18.2fx   (target <= 1.0x)\n", "ratio fzd_tunnel / ip -batch", (double) oa / (double) ia,
               (double) od / (double) id);
        printf("%-32s %9.2f ms   (ip -batch of an empty file: process start-up, included above)\n",
               "ip start-up", ie / 1e6);
        printf("%-32s %llu requests in %llu sendmsg calls\n", "fzd_tunnel messages (install)",
               (unsigned long long) (s1.netlink_requests - s0.netlink_requests),
               (unsigned long long) (s1.netlink_sends - s0.netlink_sends));
        printf("one resource route with %zu in place (%zu iterations): add median %.1f us, p99 %.1f us; "
               "remove median %.1f us, p99 %.1f us\n",
               n, lat_iters, percentile(lat_add, lat_iters, 0.5) / 1e3, percentile(lat_add, lat_iters, 0.99) / 1e3,
               percentile(lat_del, lat_iters, 0.5) / 1e3, percentile(lat_del, lat_iters, 0.99) / 1e3);

        fzd_tunnel_free(t);
        fzd_netlink_free(nl);
        unlink(addfile);
        unlink(delfile);
        unlink(emptyfile);
        rmdir(dir);
        free(cidrs);
        free(ours_add);
        free(ours_del);
        free(ip_add);
        free(ip_del);
        free(ip_empty);
        free(lat_add);
        free(lat_del);
        return EXIT_SUCCESS;
}
