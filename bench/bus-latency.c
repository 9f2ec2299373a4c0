/* SPDX-License-Identifier: Apache-2.0 */
/* Latency of dev.firezone.Client1.Status() against org.freedesktop.DBus.Peer.Ping on the
 * same daemon and connection, calls interleaved so both see the same conditions.
 * Usage: bus-latency [N]   (N calls of each; default 20000). Prints p50/p99/mean and ratios. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>

static double now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

static double pct(double *v, int n, double p) {
        return v[(int) (p * (n - 1))];
}

static int call(sd_bus *bus, const char *iface, const char *member) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int r = sd_bus_call_method(bus, "dev.firezone.Client1", "/dev/firezone/Client1", iface, member, &e, &reply, "");
        if (r < 0)
                fprintf(stderr, "%s.%s failed: %s\n", iface, member, e.message ? e.message : strerror(-r));
        sd_bus_message_unref(reply);
        sd_bus_error_free(&e);
        return r;
}

int main(int argc, char **argv) {
        int n = argc > 1 ? atoi(argv[1]) : 20000;
        double *status = calloc(n, sizeof *status), *ping = calloc(n, sizeof *ping), sum_s = 0, sum_p = 0;
        sd_bus *bus = NULL;

        if (!status || !ping || n <= 0 || sd_bus_open_system(&bus) < 0) {
                fprintf(stderr, "setup failed\n");
                return 1;
        }
        for (int i = 0; i < 500; i++) /* warm-up */
                if (call(bus, "dev.firezone.Client1", "Status") < 0 || call(bus, "org.freedesktop.DBus.Peer", "Ping") < 0)
                        return 1;
        for (int i = 0; i < n; i++) {
                double t0 = now_us();
                if (call(bus, "dev.firezone.Client1", "Status") < 0)
                        return 1;
                double t1 = now_us();
                if (call(bus, "org.freedesktop.DBus.Peer", "Ping") < 0)
                        return 1;
                double t2 = now_us();
                status[i] = t1 - t0;
                ping[i] = t2 - t1;
                sum_s += status[i];
                sum_p += ping[i];
        }
        qsort(status, n, sizeof *status, cmp);
        qsort(ping, n, sizeof *ping, cmp);
        printf("%-28s %10s %10s %10s\n", "call (" "µs, n per call)", "p50", "p99", "mean");
        printf("%-26s %10.1f %10.1f %10.1f\n", "Status()", pct(status, n, .5), pct(status, n, .99), sum_s / n);
        printf("%-26s %10.1f %10.1f %10.1f\n", "Peer.Ping (reference)", pct(ping, n, .5), pct(ping, n, .99), sum_p / n);
        printf("%-26s %10.2f %10.2f %10.2f   (target ≤ 1.2×)\n", "ratio Status/Ping", pct(status, n, .5) / pct(ping, n, .5),
               pct(status, n, .99) / pct(ping, n, .99), sum_s / sum_p);
        printf("calls: %d of each\n", n);
        sd_bus_flush_close_unref(bus);
        free(status);
        free(ping);
        return 0;
}
