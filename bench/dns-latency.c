/* SPDX-License-Identifier: Apache-2.0 */
/* Closed-loop DNS latency, servers interleaved query by query so that both see the same
 * machine: for each of N rounds, one A query per server (one at a time, blocking), over
 * UDP. Prints, per server, the median, p90 and mean round trip in µs and the number of
 * answers that did not come (1 s timeout).
 *
 *   dns-latency [-n ROUNDS] NAMESFILE SERVER...        (NAMESFILE: one name per line)
 *
 * dnsperf -q 1 is no substitute here: between its queries it sleeps in its own timer
 * ticks, which on a busy machine shows up as tens of milliseconds per query. */
#include <arpa/inet.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SERVERS 4
#define MAX_NAMES   1000

static size_t build_query(uint8_t *b, uint16_t id, const char *name) {
        size_t n = 0;
        b[n++] = (uint8_t) (id >> 8), b[n++] = (uint8_t) id, b[n++] = 1, b[n++] = 0;
        memcpy(b + n, "\0\1\0\0\0\0\0\0", 8), n += 8;
        for (const char *p = name; *p;) {
                const char *dot = strchr(p, '.');
                size_t l = dot ? (size_t) (dot - p) : strlen(p);
                b[n++] = (uint8_t) l;
                memcpy(b + n, p, l), n += l;
                p += l + (dot ? 1 : 0);
        }
        b[n++] = 0;
        memcpy(b + n, "\0\1\0\1", 4), n += 4;
        return n;
}

static double now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
        int rounds = 2000, argi = 1, fds[MAX_SERVERS], n_servers;
        char *names[MAX_NAMES], line[300];
        size_t n_names = 0;
        double *t[MAX_SERVERS];
        unsigned lost[MAX_SERVERS] = { 0 }, got[MAX_SERVERS] = { 0 };
        FILE *f;

        if (argc > 2 && strcmp(argv[1], "-n") == 0) {
                rounds = atoi(argv[2]);
                argi = 3;
        }
        if (argc - argi < 2 || argc - argi - 1 > MAX_SERVERS) {
                fprintf(stderr, "usage: dns-latency [-n ROUNDS] NAMESFILE SERVER...\n");
                return 2;
        }
        f = fopen(argv[argi], "r");
        if (!f)
                return perror(argv[argi]), 1;
        while (n_names < MAX_NAMES && fgets(line, sizeof line, f)) {
                line[strcspn(line, " \t\n")] = 0;
                if (*line)
                        names[n_names++] = strdup(line);
        }
        fclose(f);
        if (n_names == 0)
                return fprintf(stderr, "no names\n"), 1;
        n_servers = argc - argi - 1;
        for (int s = 0; s < n_servers; s++) {
                struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(53) };
                if (inet_pton(AF_INET, argv[argi + 1 + s], &a.sin_addr) != 1)
                        return fprintf(stderr, "bad server %s\n", argv[argi + 1 + s]), 2;
                fds[s] = socket(AF_INET, SOCK_DGRAM, 0);
                if (fds[s] < 0 || connect(fds[s], (struct sockaddr *) &a, sizeof a) < 0)
                        return perror("socket"), 1;
                t[s] = calloc((size_t) rounds, sizeof(double));
        }
        for (int r = 0; r < rounds; r++)
                for (int s = 0; s < n_servers; s++) {
                        uint8_t q[300], a[4096];
                        uint16_t id = (uint16_t) (r * n_servers + s);
                        size_t len = build_query(q, id, names[(size_t) r % n_names]);
                        double t0 = now_us();
                        bool ok = false;

                        if (send(fds[s], q, len, 0) < 0)
                                return perror("send"), 1;
                        for (;;) {
                                struct pollfd p = { fds[s], POLLIN, 0 };
                                int left = 1000 - (int) ((now_us() - t0) / 1000);
                                ssize_t k;
                                if (left <= 0 || poll(&p, 1, left) <= 0)
                                        break;
                                k = recv(fds[s], a, sizeof a, 0);
                                if (k >= 2 && a[0] == q[0] && a[1] == q[1]) {
                                        ok = true;
                                        break;
                                }
                        }
                        if (ok)
                                t[s][got[s]++] = now_us() - t0;
                        else
                                lost[s]++;
                }
        for (int s = 0; s < n_servers; s++) {
                double sum = 0;
                qsort(t[s], got[s], sizeof(double), cmp);
                for (unsigned i = 0; i < got[s]; i++)
                        sum += t[s][i];
                printf("%s p50 %.1f p90 %.1f mean %.1f lost %u\n", argv[argi + 1 + s],
                       got[s] ? t[s][got[s] / 2] : 0.0, got[s] ? t[s][(got[s] - 1) * 9 / 10] : 0.0,
                       got[s] ? sum / got[s] : 0.0, lost[s]);
        }
        return 0;
}
