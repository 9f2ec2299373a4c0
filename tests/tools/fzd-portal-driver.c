/* SPDX-License-Identifier: Apache-2.0 */
/* Test driver for the portal engine: runs an sd-event loop with one engine, keeps a
 * resource table the way the manager does, and speaks JSON lines:
 *   stdin  {"op": "start", "api_url": …, "token": …, "device_id": …, "device_name": …}
 *          {"op": "stop"} {"op": "reconnect"} {"op": "replace_token", "token": …}
 *          {"op": "dump"} {"op": "stats"} {"op": "quit"}
 *   stdout one JSON object per engine event or answer ("event": init, upserted, deleted,
 *          config_changed, reconnecting, session_ended, resources, stats, error).
 * The token travels on stdin only, never in argv or the environment. Logs go to stderr.
 *
 *   fzd-portal-driver [--heartbeat-ms N] [--join-timeout-ms N] [--log-level LEVEL] */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "engine-private.h"
#include "engine.h"
#include "log.h"
#include "resource.h"
#include "secret.h"

typedef struct Driver {
        sd_event *event;
        FzdEngine *engine;
        FzdResourceTable *table;
        uint64_t start_usec;
        char line[1 << 16];
        size_t line_len;
} Driver;

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

static void emit(json_object *o) {
        fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), stdout);
        fputc('\n', stdout);
        fflush(stdout);
        json_object_put(o);
}

static json_object *event_new(Driver *d, const char *name) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "event", json_object_new_string(name));
        json_object_object_add(o, "elapsed_usec", json_object_new_int64((int64_t) (now_usec() - d->start_usec)));
        return o;
}

static json_object *config_json(const FzdInterfaceConfig *c) {
        json_object *o = json_object_new_object(), *dns = json_object_new_array();
        char buf[INET6_ADDRSTRLEN];

        if (c->has_ipv4)
                json_object_object_add(o, "ipv4", json_object_new_string(inet_ntop(AF_INET, &c->ipv4, buf, sizeof(buf))));
        if (c->has_ipv6)
                json_object_object_add(o, "ipv6", json_object_new_string(inet_ntop(AF_INET6, &c->ipv6, buf, sizeof(buf))));
        json_object_object_add(o, "search_domain", json_object_new_string(c->search_domain));
        for (size_t i = 0; i < c->n_upstream_dns; i++) {
                char s[INET6_ADDRSTRLEN + 16];
                inet_ntop(c->upstream_dns[i].family, &c->upstream_dns[i].addr, buf, sizeof(buf));
                snprintf(s, sizeof(s), c->upstream_dns[i].family == AF_INET6 ? "[%s]:%u" : "%s:%u", buf,
                         c->upstream_dns[i].port);
                json_object_array_add(dns, json_object_new_string(s));
        }
        json_object_object_add(o, "upstream_dns", dns);
        return o;
}

static json_object *resource_json(const FzdResource *r) {
        json_object *o = json_object_new_object(), *sites = json_object_new_array();

        json_object_object_add(o, "id", json_object_new_string(r->id));
        json_object_object_add(o, "type", json_object_new_string(fzd_resource_type_to_string(r->type)));
        json_object_object_add(o, "name", json_object_new_string(r->name));
        json_object_object_add(o, "address", json_object_new_string(r->address));
        json_object_object_add(o, "description", json_object_new_string(r->description));
        json_object_object_add(o, "status", json_object_new_string(fzd_resource_status_to_string(r->status)));
        for (size_t i = 0; i < r->n_sites; i++) {
                json_object *s = json_object_new_array();
                json_object_array_add(s, json_object_new_string(r->sites[i].id));
                json_object_array_add(s, json_object_new_string(r->sites[i].name));
                json_object_array_add(sites, s);
        }
        json_object_object_add(o, "sites", sites);
        return o;
}

static void on_init(void *userdata, const FzdInterfaceConfig *config, FzdResource **resources, size_t n) {
        Driver *d = userdata;
        json_object *o;

        /* As the manager does: the table, sized once, takes the resources. */
        fzd_resource_table_clear(d->table);
        (void) fzd_resource_table_reserve(d->table, n);
        for (size_t i = 0; i < n; i++) {
                if (fzd_resource_table_put(d->table, resources[i], NULL) < 0) {
                        log_oom();
                        continue;
                }
                resources[i] = NULL;
        }
        o = event_new(d, "init");
        json_object_object_add(o, "count", json_object_new_int64((int64_t) fzd_resource_table_size(d->table)));
        json_object_object_add(o, "config", config_json(config));
        emit(o);
}

static void on_config_changed(void *userdata, const FzdInterfaceConfig *config) {
        Driver *d = userdata;
        json_object *o = event_new(d, "config_changed");
        json_object_object_add(o, "config", config_json(config));
        emit(o);
}

static void on_upserted(void *userdata, FzdResource *r) {
        Driver *d = userdata;
        json_object *o = event_new(d, "upserted");

        json_object_object_add(o, "resource", resource_json(r));
        if (fzd_resource_table_put(d->table, r, NULL) < 0)
                fzd_resource_free(r);
        emit(o);
}

static void on_deleted(void *userdata, const char *id) {
        Driver *d = userdata;
        json_object *o = event_new(d, "deleted");

        fzd_resource_free(fzd_resource_table_take(d->table, id));
        json_object_object_add(o, "id", json_object_new_string(id));
        emit(o);
}

/* The error as the daemon shows it: the sentence, and its code. */
static void add_error(json_object *o, const FzdError *error) {
        char text[FZD_ERROR_TEXT_MAX];
        json_object_object_add(o, "error",
                               json_object_new_string(fzd_error_format(error, text, sizeof text)));
        json_object_object_add(o, "code", json_object_new_string(fzd_error_code_to_string(error->code)));
}

static void on_reconnecting(void *userdata, const FzdError *error) {
        Driver *d = userdata;
        json_object *o = event_new(d, "reconnecting");
        add_error(o, error);
        emit(o);
}

static void on_session_ended(void *userdata, const FzdError *error) {
        Driver *d = userdata;
        json_object *o = event_new(d, "session_ended");
        add_error(o, error);
        json_object_object_add(
                o, "requires_sign_in",
                json_object_new_boolean(fzd_error_kind(error->code) == FZD_ERROR_KIND_NEEDS_SIGN_IN));
        json_object_object_add(o, "running", json_object_new_boolean(fzd_engine_is_running(d->engine)));
        emit(o);
}

static long status_kib(const char *key) {
        FILE *f = fopen("/proc/self/status", "re");
        char line[256];
        long v = -1;
        size_t n = strlen(key);

        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, key, n) == 0 && line[n] == ':') {
                        v = strtol(line + n + 1, NULL, 10);
                        break;
                }
        fclose(f);
        return v;
}

static const char *get_str(json_object *o, const char *key) {
        json_object *v;
        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static void reply_error(Driver *d, const char *what, int r) {
        json_object *o = event_new(d, "error");
        json_object_object_add(o, "op", json_object_new_string(what));
        json_object_object_add(o, "errno", json_object_new_int(-r));
        emit(o);
}

static int take_token(json_object *cmd, FzdSecret **ret) {
        json_object *v;
        int r;

        if (!json_object_object_get_ex(cmd, "token", &v) || !json_object_is_type(v, json_type_string))
                return -EINVAL;
        r = fzd_secret_new(json_object_get_string(v), (size_t) json_object_get_string_len(v), ret);
        /* Wipe our copy in the parsed command. */
        explicit_bzero((char *) json_object_get_string(v), (size_t) json_object_get_string_len(v));
        return r;
}

static void handle_command(Driver *d, const char *text) {
        json_object *cmd = json_tokener_parse(text);
        const char *op;
        int r = 0;

        if (!cmd || !(op = get_str(cmd, "op"))) {
                reply_error(d, "parse", -EINVAL);
                json_object_put(cmd);
                return;
        }
        if (streq(op, "start")) {
                FzdSecret *token = NULL;
                FzdEngineParams p = {
                        .api_url = get_str(cmd, "api_url"),
                        .device_id = get_str(cmd, "device_id") ?: "0123456789abcdef0123456789abcdef",
                        .device_name = get_str(cmd, "device_name"),
                };
                r = take_token(cmd, &token);
                if (r >= 0) {
                        d->start_usec = now_usec();
                        r = fzd_engine_start(d->engine, &p, &token);
                }
                fzd_secret_free(token);
        } else if (streq(op, "stop")) {
                /* As the manager does on sign-out: the session's resources go with it. */
                fzd_engine_stop(d->engine);
                fzd_resource_table_clear(d->table);
        } else if (streq(op, "reconnect"))
                r = fzd_engine_reconnect(d->engine);
        else if (streq(op, "replace_token")) {
                FzdSecret *token = NULL;
                r = take_token(cmd, &token);
                if (r >= 0)
                        r = fzd_engine_replace_token(d->engine, &token);
                fzd_secret_free(token);
        } else if (streq(op, "dump")) {
                const FzdResource **list = NULL;
                size_t n = 0;
                json_object *o = event_new(d, "resources"), *a = json_object_new_array();

                if (fzd_resource_table_sorted(d->table, &list, &n) >= 0)
                        for (size_t i = 0; i < n; i++)
                                json_object_array_add(a, resource_json(list[i]));
                free(list);
                json_object_object_add(o, "resources", a);
                json_object_object_add(o, "running", json_object_new_boolean(fzd_engine_is_running(d->engine)));
                emit(o);
        } else if (streq(op, "stats")) {
                json_object *o = event_new(d, "stats");
                json_object_object_add(o, "vm_rss_kib", json_object_new_int64(status_kib("VmRSS")));
                json_object_object_add(o, "vm_hwm_kib", json_object_new_int64(status_kib("VmHWM")));
                json_object_object_add(o, "resources", json_object_new_int64((int64_t) fzd_resource_table_size(d->table)));
                {
                        struct mallinfo2 mi = mallinfo2();
                        json_object_object_add(o, "heap_kib", json_object_new_int64((int64_t) (mi.arena / 1024)));
                        json_object_object_add(o, "heap_used_kib", json_object_new_int64((int64_t) (mi.uordblks / 1024)));
                        json_object_object_add(o, "mmap_kib", json_object_new_int64((int64_t) (mi.hblkhd / 1024)));
                }
                emit(o);
        } else if (streq(op, "quit"))
                (void) sd_event_exit(d->event, 0);
        else
                r = -EOPNOTSUPP;
        if (r < 0)
                reply_error(d, op, r);
        else {
                json_object *o = event_new(d, "ok");
                json_object_object_add(o, "op", json_object_new_string(op));
                emit(o);
        }
        json_object_put(cmd);
}

static int on_stdin(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Driver *d = userdata;
        ssize_t n;

        n = read(fd, d->line + d->line_len, sizeof(d->line) - 1 - d->line_len);
        if (n <= 0) {
                (void) sd_event_exit(d->event, 0);
                return 0;
        }
        d->line_len += (size_t) n;
        for (;;) {
                char *nl = memchr(d->line, '\n', d->line_len);
                size_t k;
                if (!nl)
                        break;
                *nl = 0;
                handle_command(d, d->line);
                k = (size_t) (nl - d->line) + 1;
                explicit_bzero(d->line, k);
                memmove(d->line, nl + 1, d->line_len - k);
                d->line_len -= k;
        }
        if (d->line_len == sizeof(d->line) - 1)
                d->line_len = 0; /* an overlong line: drop it */
        return 0;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "heartbeat-ms", required_argument, NULL, 'h' },
                { "join-timeout-ms", required_argument, NULL, 'j' },
                { "log-level", required_argument, NULL, 'l' },
                {},
        };
        static const FzdEngineEvents events = {
                .init = on_init,
                .config_changed = on_config_changed,
                .resource_upserted = on_upserted,
                .resource_deleted = on_deleted,
                .reconnecting = on_reconnecting,
                .session_ended = on_session_ended,
        };
        uint64_t heartbeat = 0, join = 0;
        Driver d = {};
        sd_event_source *in = NULL;
        int c, r;

        fzd_log_open();
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        heartbeat = strtoull(optarg, NULL, 10) * 1000ULL;
                        break;
                case 'j':
                        join = strtoull(optarg, NULL, 10) * 1000ULL;
                        break;
                case 'l':
                        r = fzd_log_level_from_string(optarg);
                        if (r < 0)
                                return 2;
                        fzd_log_set_max_level(r);
                        break;
                default:
                        return 2;
                }

        r = sd_event_default(&d.event);
        if (r < 0)
                return 1;
        r = fzd_resource_table_new(&d.table);
        if (r < 0)
                return 1;
        r = fzd_engine_new(d.event, &events, &d, &d.engine);
        if (r < 0)
                return 1;
        fzd_engine_set_timing(d.engine, heartbeat, join);
        r = sd_event_add_io(d.event, &in, STDIN_FILENO, EPOLLIN, on_stdin, &d);
        if (r < 0)
                return 1;
        d.start_usec = now_usec();
        {
                json_object *o = event_new(&d, "ready");
                json_object_object_add(o, "pid", json_object_new_int(getpid()));
                emit(o);
        }
        r = sd_event_loop(d.event);

        sd_event_source_disable_unref(in);
        fzd_engine_free(d.engine);
        fzd_resource_table_free(d.table);
        sd_event_unref(d.event);
        explicit_bzero(d.line, sizeof(d.line));
        return r < 0 ? 1 : 0;
}
