/* SPDX-License-Identifier: Apache-2.0 */
/* firezone-client-tunnel: the privileged daemon. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "device-id.h"
#include "log.h"
#include "dnsstub/dns-stub.h"
#include "manager.h"
#include "options.h"
#include "token.h"

#define CONFIG_MAX (64 * 1024)

static int read_config_file(const char *path, char **ret) {
        _cleanup_(closep) int fd = -EBADF;
        _cleanup_(freep) char *buf = NULL;
        struct stat st;
        size_t len = 0;

        *ret = NULL;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                return log_error_errno(errno, "Failed to open %s: %m", path);
        }
        if (fstat(fd, &st) < 0)
                return log_error_errno(errno, "Failed to stat %s: %m", path);
        if (!S_ISREG(st.st_mode))
                return log_error_errno(EINVAL, "%s is not a regular file. Replace it with a text file of key = value lines.",
                                       path);
        /* Settings decide where the token is sent: only root may write them. */
        if (st.st_uid != 0 || (st.st_mode & 0022))
                return log_error_errno(EPERM,
                                       "%s must be owned by root and writable only by root. Fix it with: "
                                       "chown root:root %s; chmod 644 %s",
                                       path, path, path);
        if (st.st_size > CONFIG_MAX)
                return log_error_errno(EFBIG, "%s is larger than %d bytes; it should hold a few key = value lines.", path,
                                       CONFIG_MAX);
        buf = malloc(CONFIG_MAX + 1);
        if (!buf)
                return log_oom();
        for (;;) {
                ssize_t n = read(fd, buf + len, CONFIG_MAX - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return log_error_errno(errno, "Failed to read %s: %m", path);
                }
                if (n == 0 || (len += (size_t) n) == CONFIG_MAX)
                        break;
        }
        if (memchr(buf, 0, len))
                return log_error_errno(EINVAL, "%s contains NUL bytes; it must be a text file.", path);
        buf[len] = 0;
        *ret = TAKE_PTR(buf);
        return 1;
}

static int name_owner_pid(sd_bus *bus, const char *name, pid_t *ret_pid) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        int r;

        r = sd_bus_get_name_creds(bus, name, SD_BUS_CREDS_PID, &creds);
        if (r < 0)
                return r;
        return sd_bus_creds_get_pid(creds, ret_pid);
}

static int connect_bus(FzdManager *m) {
        sd_bus *bus = NULL;
        const char *address = secure_getenv("DBUS_SYSTEM_BUS_ADDRESS");
        pid_t pid = 0;
        int r;

        r = sd_bus_open_system_with_description(&bus, "firezone-client-tunnel");
        if (r < 0)
                return log_error_errno(r,
                                       "Failed to connect to the system bus (%s): %m. Is dbus running? "
                                       "Use --no-ipc with a service-account token to run without D-Bus.",
                                       address ?: "unix:path=/run/dbus/system_bus_socket");
        m->bus = bus; /* the manager owns it from here on */
        r = fzd_bus_api_register(m);
        if (r < 0)
                return r;

        r = sd_bus_request_name(bus, FZ_BUS_NAME, 0);
        if (r == -EEXIST) {
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

        r = sd_bus_attach_event(bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");
        /* Losing the bus means losing our clients: exit, and let systemd restart us. */
        (void) sd_bus_set_exit_on_disconnect(bus, true);
        return 0;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        (void) fzd_manager_reload(userdata);
        return 0;
}

static int run(int argc, char **argv) {
        /* Declared first, so it is released last: the manager points into it. */
        _cleanup_(fzd_options_done) FzdOptions opts;
        _cleanup_(fzd_secret_freep) FzdSecret *token = NULL;
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(fzd_manager_freep) FzdManager *m = NULL;
        _cleanup_(freep) char *config = NULL;
        FzdTokenSource source = FZD_TOKEN_SOURCE_NONE;
        sigset_t mask;
        int r;

        /* First of all, before anything could copy the environment: take the token out of it. */
        r = fzd_token_take_from_env(&token);
        if (r > 0)
                source = FZD_TOKEN_SOURCE_ENV;

        fzd_log_open();
        fzd_options_init(&opts);
        if (r < 0)
                goto finish;

        r = read_config_file(FZ_CONFIG_PATH, &config);
        if (r > 0)
                r = fzd_options_parse_config(&opts, config, FZ_CONFIG_PATH);
        if (r >= 0)
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

        if (!token) {
                r = fzd_token_read_file(FZ_TOKEN_PATH, &token);
                if (r < 0)
                        goto finish;
                if (r > 0)
                        source = FZD_TOKEN_SOURCE_FILE;
        }
        if (!token && opts.no_ipc) {
                r = log_error_errno(ENOKEY,
                                    "--no-ipc needs a service-account token, but there is none: set FIREZONE_TOKEN in "
                                    "the environment or write the token to %s (owned by root, mode 0600). Without "
                                    "--no-ipc the daemon waits for a sign-in over D-Bus instead.",
                                    FZ_TOKEN_PATH);
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
        (void) sd_event_set_watchdog(event, true);
        r = fzd_manager_new(event, &opts, &m);
        if (r < 0) {
                log_error_errno(r, "Failed to set up: %m");
                goto finish;
        }
        r = fzd_device_id_get(FZ_STATE_DIR, &m->device_id);
        if (r < 0) {
                log_error_errno(r, "Failed to determine the device id: %m");
                goto finish;
        }
        {
                char host[256] = "";
                (void) gethostname(host, sizeof host - 1);
                m->device_name = strdup(host);
        }

        if ((r = sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL)) < 0 ||
            (r = sd_event_add_signal(event, NULL, SIGINT, NULL, NULL)) < 0 ||
            (r = sd_event_add_signal(event, NULL, SIGHUP, on_sighup, m)) < 0) {
                log_error_errno(r, "Failed to set up signal handling: %m");
                goto finish;
        }

        if (!opts.no_ipc) {
                r = connect_bus(m);
                if (r < 0)
                        goto finish;
                log_info("Serving %s on the system bus%s.", FZ_BUS_NAME,
                         token ? " (read-only: service-account mode)" : "");
        }

        /* The tunnel and DNS control; first undo whatever a killed run left behind. */
        {
                FzdOsParams params = {
                        .dns_control = opts.dns_control,
                        .state_dir = FZ_STATE_DIR,
                        .system_bus = m->bus,
                        .no_ipc = opts.no_ipc,
                };
                FzdOs *os = NULL;

                r = fzd_os_new(event, &params, fzd_manager_os_events(), m, &os);
                if (r < 0)
                        goto finish;
                fzd_manager_attach_os(m, os);
                r = fzd_os_cleanup_stale(os);
                if (r < 0)
                        log_warning_errno(r, "Failed to clean up after a previous run, continuing: %m");
        }
        /* The DNS stub on the sentinels, with sockets from the OS layer (DESIGN §7.1). */
        {
                FzdDnsStub *stub = NULL;

                r = fzd_dns_stub_new(event, fzd_os_dns_socket_factory(m->os), NULL, &stub);
                if (r < 0) {
                        log_error_errno(r, "Failed to set up the DNS stub: %m");
                        goto finish;
                }
                fzd_manager_attach_dns_stub(m, stub);
        }

        if (token) {
                log_info("Using the service-account token from %s.",
                         source == FZD_TOKEN_SOURCE_ENV ? "$FIREZONE_TOKEN" : FZ_TOKEN_PATH);
                r = fzd_manager_start_service_account(m, source, &token);
                if (r < 0)
                        goto finish;
        } else
                log_info("Waiting for a sign-in over D-Bus.");

        (void) sd_notify(false, "READY=1");
        r = sd_event_loop(event);
        if (r < 0)
                log_error_errno(r, "Event loop failed: %m");
        (void) sd_notify(false, "STOPPING=1");
        log_info("Exiting.");

finish:
        return r;
}

int main(int argc, char **argv) {
        return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
