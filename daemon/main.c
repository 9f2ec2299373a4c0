/* SPDX-License-Identifier: Apache-2.0 */
/* firezone-client-tunnel: the privileged daemon. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "bus-api.h"
#include "config.h"
#include "fz-names.h"
#include "device-id.h"
#include "fileio.h"
#include "engine.h"
#include "log.h"
#include "dnsstub/dns-stub.h"
#include "manager.h"
#include "options.h"
#include "os.h"
#include "token.h"

#define CONFIG_MAX (64 * 1024)

static int read_config_file(const char *path, char **ret) {
        _cleanup_(closep) int fd = -EBADF;
        struct stat st;
        size_t len;
        int r;

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
        r = fzd_read_fd_alloc(fd, CONFIG_MAX, ret, &len);
        if (r == -EFBIG)
                return log_error_errno(r, "%s is larger than %d bytes; it should hold a few key = value lines.", path,
                                       CONFIG_MAX);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s: %m", path);
        if (memchr(*ret, 0, len)) {
                *ret = mfree(*ret);
                return log_error_errno(EINVAL, "%s contains NUL bytes; it must be a text file.", path);
        }
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

/* systemctl status shows the state and the error, in the same words as LastError. */
static void notify_status(void *userdata, const FzdManager *m, FzdChange changes, FzdState old_state,
                          const char *reason) {
        const FzdManagerView *v = fzd_manager_view(m);
        char text[FZD_ERROR_TEXT_MAX];

        if (!(changes & (FZD_CHANGE_STATE | FZD_CHANGE_LAST_ERROR)))
                return;
        fzd_error_format(&v->last_error, text, sizeof text);
        (void) sd_notifyf(false, "STATUS=%s%s%s", fzd_state_to_string(v->state), text[0] ? ": " : "", text);
}

static const FzdManagerObserver notify_observer = { .changed = notify_status };

static int connect_bus(sd_event *event, FzdManager *m, FzdBusApi **ret_api) {
        /* The API holds the connection; on failure, freeing the API closes it. */
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        _cleanup_(fzd_bus_api_freep) FzdBusApi *api = NULL;
        const char *address = secure_getenv("DBUS_SYSTEM_BUS_ADDRESS");
        pid_t pid = 0;
        int r;

        r = sd_bus_open_system_with_description(&bus, "firezone-client-tunnel");
        if (r < 0)
                return log_error_errno(r,
                                       "Failed to connect to the system bus (%s): %m. Is dbus running? "
                                       "Use --no-ipc with a service-account token to run without D-Bus.",
                                       address ?: "unix:path=/run/dbus/system_bus_socket");
        r = fzd_bus_api_new(bus, m, &api);
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

        r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");
        /* Losing the bus means losing our clients: exit, and let systemd restart us. */
        (void) sd_bus_set_exit_on_disconnect(bus, true);
        *ret_api = TAKE_PTR(api);
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
        /* The API outlives the manager: the OS layer reverts DNS over its bus when freed. */
        _cleanup_(fzd_bus_api_freep) FzdBusApi *api = NULL;
        _cleanup_(fzd_manager_freep) FzdManager *m = NULL;
        _cleanup_(freep) char *device_id = NULL;
        char host[256] = "";
        FzdEngine *engine = NULL;
        _cleanup_(freep) char *config = NULL;
        FzdTokenSource source = FZD_TOKEN_SOURCE_NONE;
        sigset_t mask;
        int r;

        /* Before there is a token to find: no core dumps of this process, and no
         * /proc/PID/mem, environ, maps … for anyone without CAP_SYS_PTRACE (a root process
         * of the same user is no exception: the unit leaves the daemon CAP_NET_ADMIN only).
         * The unit's LimitCORE=0 says the same to systemd. */
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
                fzd_log_open();
                return log_error_errno(errno, "Failed to make the process non-dumpable: %m");
        }

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
                r = fzd_token_read_credential(&token);
                if (r < 0)
                        goto finish;
                if (r > 0)
                        source = FZD_TOKEN_SOURCE_CREDENTIAL;
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
                                    "--no-ipc needs a service-account token, but there is none: give the unit a "
                                    "credential (LoadCredential=" FZD_TOKEN_CREDENTIAL ":PATH or "
                                    "LoadCredentialEncrypted=), write the token to %s (owned by root, mode 0600), "
                                    "or set FIREZONE_TOKEN in the environment. Without --no-ipc the daemon waits for "
                                    "a sign-in over D-Bus instead.",
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
        r = fzd_manager_add_observer(m, &notify_observer, NULL);
        if (r < 0)
                goto finish;
        r = fzd_engine_new(event, fzd_manager_engine_events(), m, &engine);
        if (r < 0) {
                log_error_errno(r, "Failed to set up the portal connection: %m");
                goto finish;
        }
        fzd_manager_attach_engine(m, &fzd_engine_ops, engine);
        r = fzd_device_id_get(FZ_STATE_DIR, &device_id);
        if (r < 0) {
                log_error_errno(r, "Failed to determine the device id: %m");
                goto finish;
        }
        (void) gethostname(host, sizeof host - 1);
        r = fzd_manager_set_device(m, device_id, host);
        if (r < 0) {
                log_oom();
                goto finish;
        }

        if ((r = sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL)) < 0 ||
            (r = sd_event_add_signal(event, NULL, SIGINT, NULL, NULL)) < 0 ||
            (r = sd_event_add_signal(event, NULL, SIGHUP, on_sighup, m)) < 0) {
                log_error_errno(r, "Failed to set up signal handling: %m");
                goto finish;
        }

        if (!opts.no_ipc) {
                r = connect_bus(event, m, &api);
                if (r < 0)
                        goto finish;
                log_info("Serving %s on the system bus%s.", FZ_BUS_NAME,
                         token ? " (read-only: service-account mode)" : "");
        }

        /* The tunnel and DNS control; first undo whatever a killed run left behind. */
        FzdOs *os = NULL;
        {
                FzdOsParams params = {
                        .dns_control = opts.dns_control,
                        .state_dir = FZ_STATE_DIR,
                        .system_bus = fzd_bus_api_bus(api),
                        .no_ipc = opts.no_ipc,
                };
                r = fzd_os_new(event, &params, fzd_manager_os_events(), m, &os);
                if (r < 0)
                        goto finish;
                fzd_manager_attach_os(m, &fzd_os_ops, os);
                r = fzd_os_cleanup_stale(os);
                if (r < 0)
                        log_warning_errno(r, "Failed to clean up after a previous run, continuing: %m");
        }
        /* The DNS stub on the sentinels, with sockets from the OS layer (DESIGN §7.1). */
        {
                FzdDnsStub *stub = NULL;

                r = fzd_dns_stub_new(event, fzd_os_dns_socket_factory(os), NULL, &stub);
                if (r < 0) {
                        log_error_errno(r, "Failed to set up the DNS stub: %m");
                        goto finish;
                }
                fzd_manager_attach_dns_stub(m, stub);
        }

        if (token) {
                log_info("Using the service-account token from %s.",
                         source == FZD_TOKEN_SOURCE_ENV          ? "$FIREZONE_TOKEN"
                         : source == FZD_TOKEN_SOURCE_CREDENTIAL ? "the systemd credential " FZD_TOKEN_CREDENTIAL
                                                                 : FZ_TOKEN_PATH);
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
        /* The manager is freed before the API (see above): the API must not reach into it then. */
        fzd_bus_api_detach(api);
        return r;
}

int main(int argc, char **argv) {
        /* Big blocks (a 3 MB portal init, a multi-megabyte D-Bus message from a client) are
         * mmap()ed and go back to the system when freed. glibc's default would raise the
         * threshold after the first such free and keep later ones in the heap, so that one
         * big message left the daemon's RSS raised for good (seen with the D-Bus fuzzer). */
        (void) mallopt(M_MMAP_THRESHOLD, 128 * 1024);
        return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
