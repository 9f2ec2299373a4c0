/* SPDX-License-Identifier: Apache-2.0 */
/* Round trips to the daemon: libfirezone-client's get-status next to raw sd-bus calls (a
 * Peer.Ping, the cheapest call the daemon answers, and the same Status() call), so that
 * the library's cost shows against the bus's own. Run by bench/run-client-bench.py inside
 * the test bed; prints one line per measurement and a ratio. Not a pass/fail test.
 *
 * usage: bench-client [ITERATIONS] */
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include <firezone-client.h>

#define BUS_NAME "dev.firezone.Client1"
#define BUS_PATH "/dev/firezone/Client1"

static double now_us(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *)a, y = *(const double *)b;
        return (x > y) - (x < y);
}

typedef struct {
        const char *name;
        double median, mean, p95, p99;
} Result;

static Result summarize(const char *name, double *samples, int n) {
        Result r = {.name = name};
        double sum = 0;

        qsort(samples, (size_t)n, sizeof(double), cmp_double);
        for (int i = 0; i < n; i++)
                sum += samples[i];
        r.mean = sum / n;
        r.median = samples[n / 2];
        r.p95 = samples[(int)(n * 0.95)];
        r.p99 = samples[(int)(n * 0.99)];
        return r;
}

static void print(const Result *r) {
        printf("%-48s median %7.1f µs  mean %7.1f µs  p95 %7.1f µs  p99 %7.1f µs\n", r->name, r->median,
               r->mean, r->p95, r->p99);
}

static void sdbus_call(sd_bus *bus, const char *iface, const char *method) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, iface, method, &error, &reply, NULL);

        if (r < 0) {
                fprintf(stderr, "%s failed: %s\n", method, error.message ? error.message : "?");
                exit(EXIT_FAILURE);
        }
        sd_bus_message_unref(reply);
        sd_bus_error_free(&error);
}

static void on_done(GObject *source, GAsyncResult *res, gpointer user_data) {
        GAsyncResult **slot = user_data;
        *slot = g_object_ref(res);
}

static GAsyncResult *wait_for(GAsyncResult **slot) {
        while (*slot == NULL)
                g_main_context_iteration(NULL, TRUE);
        return *slot;
}

static void gdbus_call(GDBusConnection *conn, const char *iface, const char *method) {
        g_autoptr(GAsyncResult) res = NULL;
        g_autoptr(GVariant) reply = NULL;
        g_autoptr(GError) error = NULL;

        g_dbus_connection_call(conn, BUS_NAME, BUS_PATH, iface, method, NULL, NULL, G_DBUS_CALL_FLAGS_NONE,
                               -1, NULL, on_done, &res);
        reply = g_dbus_connection_call_finish(conn, wait_for(&res), &error);
        if (reply == NULL) {
                fprintf(stderr, "GDBus %s failed: %s\n", method, error->message);
                exit(EXIT_FAILURE);
        }
}

static void library_get_status(FzClient *client) {
        g_autoptr(GAsyncResult) res = NULL;
        g_autoptr(FzClientStatus) status = NULL;
        g_autoptr(GError) error = NULL;

        fz_client_get_status_async(client, NULL, on_done, &res);
        status = fz_client_get_status_finish(client, wait_for(&res), &error);
        if (status == NULL) {
                fprintf(stderr, "get-status failed: %s\n", error->message);
                exit(EXIT_FAILURE);
        }
}

enum { PING, STATUS, GDBUS_PING, GDBUS_STATUS, LIBRARY, N_KINDS };

int main(int argc, char **argv) {
        int n = argc > 1 ? atoi(argv[1]) : 5000, warmup = 200;
        double *samples[N_KINDS];
        g_autoptr(GError) error = NULL;
        g_autoptr(FzClient) client = NULL;
        g_autoptr(GDBusConnection) gdbus = NULL;
        sd_bus *bus = NULL;
        Result ping, status, gping, gstatus, lib;

        if (n < 100) {
                fprintf(stderr, "usage: bench-client [ITERATIONS ≥ 100]\n");
                return EXIT_FAILURE;
        }
        if (sd_bus_open_system(&bus) < 0) {
                fprintf(stderr, "cannot connect to the system bus\n");
                return EXIT_FAILURE;
        }
        client = fz_client_new_sync(NULL, &error);
        if (client == NULL) {
                fprintf(stderr, "%s\n", error->message);
                return EXIT_FAILURE;
        }

        gdbus = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, &error);
        if (gdbus == NULL) {
                fprintf(stderr, "%s\n", error->message);
                return EXIT_FAILURE;
        }
        for (int k = 0; k < N_KINDS; k++)
                samples[k] = calloc((size_t)n, sizeof(double));

        /* Interleaved (one call of each kind per round), so that load from elsewhere on the
         * machine falls on every kind alike. */
        for (int i = -warmup; i < n; i++)
                for (int k = 0; k < N_KINDS; k++) {
                        double t0 = now_us();
                        switch (k) {
                        case PING:
                                sdbus_call(bus, "org.freedesktop.DBus.Peer", "Ping");
                                break;
                        case STATUS:
                                sdbus_call(bus, BUS_NAME, "Status");
                                break;
                        case GDBUS_PING:
                                gdbus_call(gdbus, "org.freedesktop.DBus.Peer", "Ping");
                                break;
                        case GDBUS_STATUS:
                                gdbus_call(gdbus, BUS_NAME, "Status");
                                break;
                        case LIBRARY:
                                library_get_status(client);
                                break;
                        }
                        if (i >= 0)
                                samples[k][i] = now_us() - t0;
                }

        printf("%d round trips of each kind (after %d warm-up rounds), interleaved, one at a time, to the "
               "daemon on a private dbus-daemon:\n",
               n, warmup);
        ping = summarize("reference: sd-bus Peer.Ping (sync)", samples[PING], n);
        status = summarize("reference: sd-bus Status() (sync, reply unread)", samples[STATUS], n);
        gping = summarize("reference: GDBus Peer.Ping (async, main loop)", samples[GDBUS_PING], n);
        gstatus = summarize("reference: GDBus Status() (async, main loop)", samples[GDBUS_STATUS], n);
        lib = summarize("libfirezone-client get-status (async)", samples[LIBRARY], n);
        print(&ping);
        print(&status);
        print(&gping);
        print(&gstatus);
        print(&lib);
        printf("ratio get-status / sd-bus Peer.Ping: median %.2f×, mean %.2f× (target ≤ 1.5×)\n",
               lib.median / ping.median, lib.mean / ping.mean);
        printf("ratio GDBus Peer.Ping / sd-bus Peer.Ping: median %.2f×, mean %.2f× (GDBus's own cost)\n",
               gping.median / ping.median, gping.mean / ping.mean);
        printf("ratio get-status / GDBus Status(): median %.2f×, mean %.2f× (what the library adds)\n",
               lib.median / gstatus.median, lib.mean / gstatus.mean);
        for (int k = 0; k < N_KINDS; k++)
                free(samples[k]);
        sd_bus_flush_close_unref(bus);
        return EXIT_SUCCESS;
}
