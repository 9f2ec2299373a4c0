/* SPDX-License-Identifier: Apache-2.0 */
/* firezone-client-tunnel: the privileged daemon. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "log.h"
#include "options.h"

static const sd_bus_vtable client1_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_VTABLE_END,
};

static int name_owner_pid(sd_bus *bus, const char *name, pid_t *ret_pid) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        int r;

        r = sd_bus_get_name_creds(bus, name, SD_BUS_CREDS_PID, &creds);
        if (r < 0)
                return r;
        return sd_bus_creds_get_pid(creds, ret_pid);
}

static int connect_bus(sd_event *event, sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const char *address = secure_getenv("DBUS_SYSTEM_BUS_ADDRESS");
        int r;

        r = sd_bus_open_system_with_description(&bus, "firezone-client-tunnel");
        if (r < 0)
                return log_error_errno(r,
                                       "Failed to connect to the system bus (%s): %m. Is dbus running? "
                                       "Use --no-ipc with a service-account token to run without D-Bus.",
                                       address ?: "unix:path=/run/dbus/system_bus_socket");

        r = sd_bus_add_object_vtable(bus, NULL, FZ_BUS_PATH, FZ_BUS_INTERFACE, client1_vtable, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to export %s: %m", FZ_BUS_PATH);

        r = sd_bus_request_name(bus, FZ_BUS_NAME, 0);
        if (r == -EEXIST) {
                pid_t pid = 0;
                if (name_owner_pid(bus, FZ_BUS_NAME, &pid) >= 0 && pid > 0)
                        return log_error_errno(r,
                                               "The bus name %s is already owned by process %d. Is another "
                                               "firezone-client-tunnel running? Stop it first (systemctl stop "
                                               "firezone-client).",
                                               FZ_BUS_NAME, (int) pid);
                return log_error_errno(r,
                                       "The bus name %s is already owned by another process. Is another "
                                       "firezone-client-tunnel running? Stop it first (systemctl stop firezone-client).",
                                       FZ_BUS_NAME);
        }
        if (r == -EACCES || r == -EPERM)
                return log_error_errno(r,
                                       "Not allowed to own the bus name %s: the D-Bus policy "
                                       "(dev.firezone.Client1.conf) lets only root own it. Run the daemon as root, "
                                       "e.g. with systemctl start firezone-client.",
                                       FZ_BUS_NAME);
        if (r < 0)
                return log_error_errno(r, "Failed to acquire the bus name %s: %m", FZ_BUS_NAME);

        r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");

        /* Losing the bus means losing our clients: exit and let systemd restart us. */
        (void) sd_bus_set_exit_on_disconnect(bus, true);

        *ret = TAKE_PTR(bus);
        return 0;
}

static int run(int argc, char **argv) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        FzdOptions opts;
        sigset_t mask;
        int r;

        fzd_log_open();
        fzd_options_init(&opts);

        r = fzd_options_parse_env(&opts);
        if (r >= 0)
                r = fzd_options_parse_argv(&opts, argc, argv);
        if (r < 0)
                goto finish;
        fzd_log_set_max_level(opts.log_level);

        if (opts.action == FZD_ACTION_HELP) {
                fzd_options_print_help();
                goto finish;
        }
        if (opts.action == FZD_ACTION_VERSION) {
                printf("firezone-client-tunnel %s\n", FZ_VERSION);
                goto finish;
        }

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
                r = log_error_errno(errno, "Failed to block signals: %m");
                goto finish;
        }

        r = sd_event_default(&event);
        if (r < 0) {
                log_error_errno(r, "Failed to allocate the event loop: %m");
                goto finish;
        }
        (void) sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL);
        (void) sd_event_add_signal(event, NULL, SIGINT, NULL, NULL);

        if (!opts.no_ipc) {
                r = connect_bus(event, &bus);
                if (r < 0)
                        goto finish;
                log_info("Serving %s on the system bus.", FZ_BUS_NAME);
        }

        (void) sd_notify(false, "READY=1\nSTATUS=Signed out");
        r = sd_event_loop(event);
        if (r < 0)
                log_error_errno(r, "Event loop failed: %m");
        (void) sd_notify(false, "STOPPING=1");
        log_info("Exiting.");

finish:
        fzd_options_done(&opts);
        return r;
}

int main(int argc, char **argv) {
        return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
