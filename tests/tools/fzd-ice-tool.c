/* SPDX-License-Identifier: Apache-2.0 */
/* Test driver for daemon/ice: the node (relays, agents, demultiplexing) on real UDP sockets
 * and an sd-event loop, the way the daemon's data plane drives it, and JSON lines:
 *
 *   stdin  {"op": "relay", "id", "addr", "username", "password", "expires_at"?, "realm"?}
 *          {"op": "remove_relay", "id"}
 *          {"op": "hosts", "addrs": ["ip:port", …] | "auto"}   (auto: every interface address
 *                                                              but loopback, with our ports)
 *          {"op": "agent", "id", "controlling", "local_ufrag", "local_pwd", "remote_ufrag", "remote_pwd"}
 *          {"op": "candidate" | "invalidate", "agent", "candidate"}
 *          {"op": "send", "agent", "data"}        a datagram on the agent's path, as WireGuard would
 *          {"op": "traffic", "agent"}             WireGuard traffic happened (idle timer)
 *          {"op": "path", "agent"} {"op": "remove_agent", "agent"} {"op": "reset"} {"op": "stats"}
 *          {"op": "turn_peer", "id", "peer"}      bind a channel to peer on relay id (TURN tests)
 *          {"op": "turn_send", "id", "peer", "data"}
 *          {"op": "quit"}
 *   stdout {"event": "ready", "sockets": […]}, then one line per node event (candidate,
 *          candidate_invalidated, connected, path_changed, disconnected, failed, relay_ready,
 *          relay_credentials_expired, relay_failed, no_relays), per datagram that is not STUN
 *          ("data", with "via_relay" and the raw length), per change of a relay's TURN counters
 *          ("turn"), and an answer to every order ("ok" or "error" with "reason").
 * Every event carries elapsed_ms since the tool started (or, for agent events, since the agent
 * was made). Logs go to stderr.
 *
 *   fzd-ice-tool [--bind ADDR:PORT]… [--ta-ms N] [--turn-lifetime S] [--no-learn-hosts]
 *                [--software S] [--log-level LEVEL] */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "ice.h"

#define MAX_SOCKETS 4
#define MAX_AGENTS  64

typedef struct Sock {
        int fd;
        FzdAddr bound;
        sd_event_source *source;
} Sock;

typedef struct ToolAgent {
        char id[64];
        FzdIceAgent *agent;
        uint64_t created;
} ToolAgent;

typedef struct Tool {
        sd_event *event;
        sd_event_source *timer, *input;
        FzdIce *ice;
        Sock socks[MAX_SOCKETS];
        size_t n_socks;
        ToolAgent agents[MAX_AGENTS];
        size_t n_agents;
        uint64_t start;
        int log_level;
        FzdTurnStats last_stats[FZD_ICE_MAX_RELAYS];
        char relay_ids[FZD_ICE_MAX_RELAYS][FZD_ICE_RELAY_ID_MAX + 1];
        int relay_families[FZD_ICE_MAX_RELAYS];
        uint64_t relay_since[FZD_ICE_MAX_RELAYS]; /* the last "relay" order for it */
        size_t n_relay_ids;
        char line[1 << 16];
        size_t line_len;
} Tool;

static uint64_t now_usec(Tool *t) {
        uint64_t now;
        if (sd_event_now(t->event, CLOCK_MONOTONIC, &now) < 0) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                now = (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000ULL;
        }
        return now;
}

static uint64_t realtime_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000ULL;
}

static void emit(json_object *o) {
        fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), stdout);
        fputc('\n', stdout);
        fflush(stdout);
        json_object_put(o);
}

static json_object *event_new(Tool *t, const char *name, uint64_t since) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "event", json_object_new_string(name));
        json_object_object_add(o, "elapsed_ms",
                               json_object_new_double((double)(now_usec(t) - since) / 1000.0));
        return o;
}

static json_object *addr_json(const FzdAddr *a) {
        char s[FZD_ADDR_STRLEN];
        return fzd_addr_is_set(a) ? json_object_new_string(fzd_addr_format(a, s)) : NULL;
}

static void on_log(void *userdata, int level, const char *message) {
        Tool *t = userdata;
        if (level <= t->log_level)
                fprintf(stderr, "fzd-ice-tool[%d] %.3f: %s\n", level,
                        (double)(now_usec(t) - t->start) / 1000.0, message);
}

static ToolAgent *agent_by_id(Tool *t, const char *id) {
        for (size_t i = 0; i < t->n_agents; i++)
                if (id && strcmp(t->agents[i].id, id) == 0)
                        return &t->agents[i];
        return NULL;
}

static ToolAgent *agent_by_ptr(Tool *t, FzdIceAgent *a) {
        for (size_t i = 0; i < t->n_agents; i++)
                if (t->agents[i].agent == a)
                        return &t->agents[i];
        return NULL;
}

static json_object *path_json(const FzdIcePath *p) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "source", addr_json(&p->source));
        json_object_object_add(o, "dest", addr_json(&p->dest));
        json_object_object_add(o, "peer", addr_json(&p->peer));
        json_object_object_add(o, "channel", json_object_new_int(p->channel));
        json_object_object_add(o, "relayed", addr_json(&p->relayed));
        json_object_object_add(o, "relay_id", p->relay_id[0] ? json_object_new_string(p->relay_id) : NULL);
        json_object_object_add(o, "local_type",
                               json_object_new_string(fzd_ice_candidate_type_to_string(p->local_type)));
        json_object_object_add(o, "remote_type",
                               json_object_new_string(fzd_ice_candidate_type_to_string(p->remote_type)));
        json_object_object_add(o, "rtt_ms", json_object_new_double((double)p->rtt / 1000.0));
        return o;
}

/* ---- sockets ---------------------------------------------------------------------------- */

static Sock *sock_for(Tool *t, const FzdAddr *source) {
        Sock *fallback = NULL;
        for (size_t i = 0; i < t->n_socks; i++) {
                if (t->socks[i].bound.family != source->family)
                        continue;
                if (source->port && t->socks[i].bound.port == source->port)
                        return &t->socks[i];
                if (!fallback)
                        fallback = &t->socks[i];
        }
        return fallback;
}

static int send_datagram(Tool *t, const FzdAddr *source, const FzdAddr *dest, const uint8_t *data,
                         size_t len) {
        Sock *s = sock_for(t, dest->family == source->family ? source : dest);
        struct sockaddr_storage ss;
        socklen_t sl = fzd_addr_to_sockaddr(dest, &ss);
        struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
        union {
                char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
                struct cmsghdr align;
        } control = {};
        struct msghdr mh = {.msg_name = &ss, .msg_namelen = sl, .msg_iov = &iov, .msg_iovlen = 1};

        if (!s || !sl)
                return -EAFNOSUPPORT;
        /* The source address, when the node names one (IP_PKTINFO, as the daemon will). */
        if (fzd_addr_is_set(source) && !fzd_addr_is_unspecified(source) && source->family == dest->family) {
                struct cmsghdr *c;
                mh.msg_control = control.buf;
                if (source->family == AF_INET) {
                        struct in_pktinfo pi = {};
                        mh.msg_controllen = CMSG_SPACE(sizeof(pi));
                        c = CMSG_FIRSTHDR(&mh);
                        c->cmsg_level = IPPROTO_IP;
                        c->cmsg_type = IP_PKTINFO;
                        c->cmsg_len = CMSG_LEN(sizeof(pi));
                        memcpy(&pi.ipi_spec_dst, source->ip, 4);
                        memcpy(CMSG_DATA(c), &pi, sizeof(pi));
                } else {
                        struct in6_pktinfo pi = {};
                        mh.msg_controllen = CMSG_SPACE(sizeof(pi));
                        c = CMSG_FIRSTHDR(&mh);
                        c->cmsg_level = IPPROTO_IPV6;
                        c->cmsg_type = IPV6_PKTINFO;
                        c->cmsg_len = CMSG_LEN(sizeof(pi));
                        memcpy(&pi.ipi6_addr, source->ip, 16);
                        memcpy(CMSG_DATA(c), &pi, sizeof(pi));
                }
        }
        if (sendmsg(s->fd, &mh, 0) < 0) {
                char a[FZD_ADDR_STRLEN];
                fprintf(stderr, "fzd-ice-tool: sendmsg to %s: %m\n", fzd_addr_format(dest, a));
                return -errno;
        }
        return 0;
}

static void flush(Tool *t);

static void agent_event(Tool *t, const FzdIceEvent *e) {
        ToolAgent *ta = agent_by_ptr(t, e->agent);
        const char *name = NULL;
        json_object *o;

        switch (e->type) {
        case FZD_ICE_EVENT_CANDIDATE:
                name = "candidate";
                break;
        case FZD_ICE_EVENT_CANDIDATE_INVALIDATED:
                name = "candidate_invalidated";
                break;
        case FZD_ICE_EVENT_CONNECTED:
                name = "connected";
                break;
        case FZD_ICE_EVENT_PATH_CHANGED:
                name = "path_changed";
                break;
        case FZD_ICE_EVENT_DISCONNECTED:
                name = "disconnected";
                break;
        case FZD_ICE_EVENT_FAILED:
                name = "failed";
                break;
        default:
                return;
        }
        o = event_new(t, name, ta ? ta->created : t->start);
        json_object_object_add(o, "agent", json_object_new_string(ta ? ta->id : "?"));
        if (e->type == FZD_ICE_EVENT_CANDIDATE || e->type == FZD_ICE_EVENT_CANDIDATE_INVALIDATED)
                json_object_object_add(o, "candidate", json_object_new_string(e->candidate));
        if (e->type == FZD_ICE_EVENT_CONNECTED || e->type == FZD_ICE_EVENT_PATH_CHANGED)
                json_object_object_add(o, "path", path_json(&e->path));
        if (e->type == FZD_ICE_EVENT_FAILED)
                json_object_object_add(o, "reason",
                                       json_object_new_string(fzd_ice_failure_to_string(e->failure)));
        emit(o);
}

static void relay_event(Tool *t, const FzdIceEvent *e) {
        static const char *const names[_FZD_ICE_EVENT_MAX] = {
                [FZD_ICE_EVENT_RELAY_READY] = "relay_ready",
                [FZD_ICE_EVENT_RELAY_CREDENTIALS_EXPIRED] = "relay_credentials_expired",
                [FZD_ICE_EVENT_RELAY_FAILED] = "relay_failed",
                [FZD_ICE_EVENT_NO_RELAYS] = "no_relays",
        };
        json_object *o;

        uint64_t since = t->start;

        if (!names[e->type])
                return;
        for (size_t i = 0; i < t->n_relay_ids; i++)
                if (strcmp(t->relay_ids[i], e->relay_id) == 0 && t->relay_since[i] > since)
                        since = t->relay_since[i];
        o = event_new(t, names[e->type], since);
        if (e->relay_id[0])
                json_object_object_add(o, "id", json_object_new_string(e->relay_id));
        if (fzd_addr_is_set(&e->addr))
                json_object_object_add(o, "addr", addr_json(&e->addr));
        if (e->type == FZD_ICE_EVENT_RELAY_FAILED) {
                json_object_object_add(o, "reason",
                                       json_object_new_string(fzd_turn_failure_to_string(e->turn_failure)));
                json_object_object_add(o, "error", json_object_new_int(e->error));
        }
        emit(o);
}

static json_object *turn_stats_json(const FzdTurn *turn) {
        const FzdTurnStats *s = fzd_turn_get_stats(turn);
        json_object *o = json_object_new_object();

        json_object_object_add(o, "state",
                               json_object_new_string(fzd_turn_state_to_string(fzd_turn_get_state(turn))));
        json_object_object_add(
                o, "failure",
                json_object_new_string(fzd_turn_failure_to_string(fzd_turn_get_failure(turn))));
        json_object_object_add(o, "relayed", addr_json(fzd_turn_get_relayed(turn)));
        json_object_object_add(o, "mapped", addr_json(fzd_turn_get_mapped(turn)));
        json_object_object_add(o, "lifetime", json_object_new_int64(fzd_turn_get_lifetime(turn)));
        json_object_object_add(o, "rtt_ms", json_object_new_double((double)fzd_turn_get_rtt(turn) / 1000.0));
#define STAT(f) json_object_object_add(o, #f, json_object_new_int64((int64_t)s->f))
        STAT(requests);
        STAT(retransmits);
        STAT(unauthorized);
        STAT(stale_nonces);
        STAT(allocations);
        STAT(refreshes);
        STAT(permissions);
        STAT(channel_binds);
        STAT(keepalives);
        STAT(data_in);
        STAT(dropped);
        STAT(bad_integrity);
#undef STAT
        return o;
}

/* A line whenever a relay's counters move: tests wait on these instead of sleeping. */
static void emit_turn_changes(Tool *t) {
        for (size_t i = 0; i < t->n_relay_ids; i++) {
                FzdTurn *turn = fzd_ice_get_turn(t->ice, t->relay_ids[i], t->relay_families[i]);
                json_object *o;
                if (!turn || memcmp(fzd_turn_get_stats(turn), &t->last_stats[i], sizeof(FzdTurnStats)) == 0)
                        continue;
                t->last_stats[i] = *fzd_turn_get_stats(turn);
                o = event_new(t, "turn", t->start);
                json_object_object_add(o, "id", json_object_new_string(t->relay_ids[i]));
                json_object_object_add(o, "stats", turn_stats_json(turn));
                emit(o);
        }
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata);

/* After anything that touched the node: send, report, re-arm. */
static void flush(Tool *t) {
        FzdIceTransmit tx;
        FzdIceEvent e;
        uint64_t next;

        while (fzd_ice_poll_transmit(t->ice, &tx))
                (void)send_datagram(t, &tx.source, &tx.dest, tx.data, tx.len);
        while (fzd_ice_poll_event(t->ice, &e)) {
                if (e.agent)
                        agent_event(t, &e);
                else
                        relay_event(t, &e);
        }
        emit_turn_changes(t);
        next = fzd_ice_poll_timeout(t->ice);
        if (next == UINT64_MAX)
                (void)sd_event_source_set_enabled(t->timer, SD_EVENT_OFF);
        else {
                (void)sd_event_source_set_time(t->timer, next);
                (void)sd_event_source_set_enabled(t->timer, SD_EVENT_ONESHOT);
        }
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Tool *t = userdata;
        fzd_ice_handle_timeout(t->ice, now_usec(t));
        flush(t);
        return 0;
}

static int on_socket(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Tool *t = userdata;
        Sock *s = NULL;
        uint8_t buf[65536];
        struct sockaddr_storage from;
        union {
                char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
                struct cmsghdr align;
        } control;

        for (size_t i = 0; i < t->n_socks; i++)
                if (t->socks[i].fd == fd)
                        s = &t->socks[i];
        if (!s)
                return 0;
        for (;;) {
                struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
                struct msghdr mh = {
                        .msg_name = &from,
                        .msg_namelen = sizeof(from),
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = control.buf,
                        .msg_controllen = sizeof(control.buf),
                };
                ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
                FzdAddr src, local = s->bound;
                FzdIceUnwrapped u;
                FzdIceInput in;

                if (n < 0)
                        break;
                if (fzd_addr_from_sockaddr((struct sockaddr *)&from, mh.msg_namelen, &src) < 0)
                        continue;
                /* Our address the datagram came to (IP_PKTINFO): candidates are per address. */
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
                                struct in_pktinfo pi;
                                memcpy(&pi, CMSG_DATA(c), sizeof(pi));
                                memcpy(local.ip, &pi.ipi_addr, 4);
                        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
                                struct in6_pktinfo pi;
                                memcpy(&pi, CMSG_DATA(c), sizeof(pi));
                                memcpy(local.ip, &pi.ipi6_addr, 16);
                        }
                }
                in = fzd_ice_handle_input(t->ice, now_usec(t), &local, &src, buf, (size_t)n, &u);
                if (in != FZD_ICE_INPUT_CONSUMED) {
                        /* WireGuard's in the daemon; here the test's payload. */
                        json_object *o = event_new(t, "data", t->start);
                        const uint8_t *p = in == FZD_ICE_INPUT_UNWRAPPED ? u.data : buf;
                        size_t len = in == FZD_ICE_INPUT_UNWRAPPED ? u.len : (size_t)n;
                        json_object_object_add(o, "from",
                                               addr_json(in == FZD_ICE_INPUT_UNWRAPPED ? &u.peer : &src));
                        json_object_object_add(o, "to", addr_json(&local));
                        json_object_object_add(o, "via_relay",
                                               json_object_new_boolean(in == FZD_ICE_INPUT_UNWRAPPED));
                        if (in == FZD_ICE_INPUT_UNWRAPPED)
                                json_object_object_add(o, "relay", addr_json(&u.relay));
                        json_object_object_add(o, "raw_len", json_object_new_int64(n));
                        json_object_object_add(o, "data",
                                               json_object_new_string_len((const char *)p, (int)len));
                        emit(o);
                        for (size_t i = 0; i < t->n_agents; i++)
                                fzd_ice_agent_note_traffic(t->agents[i].agent, now_usec(t));
                }
        }
        flush(t);
        return 0;
}

static int open_socket(Tool *t, const char *spec) {
        FzdAddr a;
        struct sockaddr_storage ss;
        socklen_t sl;
        int fd, one = 1;
        Sock *s;

        if (t->n_socks >= MAX_SOCKETS || fzd_addr_parse(spec, &a) < 0)
                return -EINVAL;
        fd = socket(a.family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (a.family == AF_INET)
                (void)setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
        else {
                (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
                (void)setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
        }
        sl = fzd_addr_to_sockaddr(&a, &ss);
        if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        sl = sizeof(ss);
        (void)getsockname(fd, (struct sockaddr *)&ss, &sl);
        s = &t->socks[t->n_socks];
        s->fd = fd;
        (void)fzd_addr_from_sockaddr((struct sockaddr *)&ss, sl, &s->bound);
        if (sd_event_add_io(t->event, &s->source, fd, EPOLLIN, on_socket, t) < 0) {
                close(fd);
                return -EIO;
        }
        t->n_socks++;
        return 0;
}

/* ---- orders ----------------------------------------------------------------------------- */

static const char *get_str(json_object *o, const char *key) {
        json_object *v;
        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static int auto_hosts(Tool *t, FzdAddr *out, size_t max, size_t *ret_n) {
        struct ifaddrs *ifa, *i;
        size_t n = 0;

        if (getifaddrs(&ifa) < 0)
                return -errno;
        for (i = ifa; i; i = i->ifa_next) {
                FzdAddr a;
                if (!i->ifa_addr ||
                    (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
                        continue;
                if (fzd_addr_from_sockaddr(i->ifa_addr,
                                           i->ifa_addr->sa_family == AF_INET ? sizeof(struct sockaddr_in)
                                                                             : sizeof(struct sockaddr_in6),
                                           &a) < 0)
                        continue;
                static const uint8_t loopback6[16] = {[15] = 1};
                if ((a.family == AF_INET && a.ip[0] == 127) ||
                    (a.family == AF_INET6 &&
                     ((a.ip[0] == 0xfe && (a.ip[1] & 0xc0) == 0x80) || memcmp(a.ip, loopback6, 16) == 0)))
                        continue;
                for (size_t k = 0; k < t->n_socks && n < max; k++)
                        if (t->socks[k].bound.family == a.family &&
                            (fzd_addr_is_unspecified(&t->socks[k].bound) ||
                             fzd_addr_ip_eq(&t->socks[k].bound, &a))) {
                                a.port = t->socks[k].bound.port;
                                out[n++] = a;
                        }
        }
        freeifaddrs(ifa);
        *ret_n = n;
        return 0;
}

static int op_send(Tool *t, json_object *cmd, const char **reason) {
        ToolAgent *ta = agent_by_id(t, get_str(cmd, "agent"));
        const char *data = get_str(cmd, "data");
        FzdIcePath p;
        uint8_t buf[2048];
        size_t n, off = 0;

        if (!ta || !data)
                return *reason = "no such agent, or no data", -EINVAL;
        if (fzd_ice_get_path(t->ice, ta->agent, &p) < 0)
                return *reason = "no path", -ENOENT;
        n = strlen(data);
        if (n > 1400)
                return -EMSGSIZE;
        if (p.channel) {
                fzd_channel_data_header(buf, p.channel, (uint16_t)n);
                off = FZD_CHANNEL_DATA_HEADER;
        }
        memcpy(buf + off, data, n);
        fzd_ice_agent_note_traffic(ta->agent, now_usec(t));
        return send_datagram(t, &p.source, &p.dest, buf, off + n);
}

static void handle_command(Tool *t, const char *text) {
        json_object *cmd = json_tokener_parse(text), *v, *o;
        const char *op, *reason = NULL;
        uint64_t now = now_usec(t);
        int r = 0;

        if (!cmd || !(op = get_str(cmd, "op"))) {
                o = event_new(t, "error", t->start);
                json_object_object_add(o, "reason", json_object_new_string("not a JSON order"));
                emit(o);
                json_object_put(cmd);
                return;
        }
        if (strcmp(op, "relay") == 0) {
                FzdIceRelay rel = {
                        .id = get_str(cmd, "id"),
                        .username = get_str(cmd, "username"),
                        .password = get_str(cmd, "password"),
                        .realm = get_str(cmd, "realm"),
                };
                if (json_object_object_get_ex(cmd, "expires_at", &v))
                        rel.expires_at = fzd_ice_unix_to_monotonic((uint64_t)json_object_get_int64(v), now,
                                                                   realtime_usec());
                if (fzd_addr_parse(get_str(cmd, "addr"), &rel.addr) < 0)
                        r = -EINVAL, reason = "bad addr";
                else
                        r = fzd_ice_upsert_relay(t->ice, &rel, now);
                if (r >= 0) {
                        bool known = false;
                        for (size_t i = 0; i < t->n_relay_ids; i++)
                                if (strcmp(t->relay_ids[i], rel.id) == 0 &&
                                    t->relay_families[i] == rel.addr.family) {
                                        known = true;
                                        t->relay_since[i] = now;
                                }
                        if (!known && t->n_relay_ids < FZD_ICE_MAX_RELAYS) {
                                t->relay_since[t->n_relay_ids] = now;
                                snprintf(t->relay_ids[t->n_relay_ids], sizeof(t->relay_ids[0]), "%s",
                                         rel.id);
                                t->relay_families[t->n_relay_ids] = rel.addr.family;
                                memset(&t->last_stats[t->n_relay_ids], 0, sizeof(FzdTurnStats));
                                t->n_relay_ids++;
                        }
                }
        } else if (strcmp(op, "remove_relay") == 0)
                r = fzd_ice_remove_relay(t->ice, get_str(cmd, "id"), now);
        else if (strcmp(op, "hosts") == 0) {
                FzdAddr addrs[FZD_ICE_MAX_HOSTS];
                size_t n = 0;
                if (get_str(cmd, "addrs") && strcmp(get_str(cmd, "addrs"), "auto") == 0)
                        r = auto_hosts(t, addrs, FZD_ICE_MAX_HOSTS, &n);
                else if (json_object_object_get_ex(cmd, "addrs", &v) &&
                         json_object_is_type(v, json_type_array)) {
                        for (size_t i = 0;
                             i < json_object_array_length(v) && n < FZD_ICE_MAX_HOSTS && r == 0; i++)
                                if (fzd_addr_parse(json_object_get_string(json_object_array_get_idx(v, i)),
                                                   &addrs[n++]) < 0)
                                        r = -EINVAL;
                }
                if (r == 0)
                        r = fzd_ice_set_host_candidates(t->ice, addrs, n, now);
        } else if (strcmp(op, "agent") == 0) {
                FzdIceAgentConfig c = {
                        .controlling = json_object_object_get_ex(cmd, "controlling", &v) &&
                                       json_object_get_boolean(v),
                        .local_ufrag = get_str(cmd, "local_ufrag"),
                        .local_pwd = get_str(cmd, "local_pwd"),
                        .remote_ufrag = get_str(cmd, "remote_ufrag"),
                        .remote_pwd = get_str(cmd, "remote_pwd"),
                };
                const char *id = get_str(cmd, "id");
                if (!id || strlen(id) >= sizeof(t->agents[0].id) || agent_by_id(t, id) ||
                    t->n_agents >= MAX_AGENTS)
                        r = -EINVAL, reason = "bad or duplicate agent id";
                else {
                        ToolAgent *ta = &t->agents[t->n_agents];
                        snprintf(ta->id, sizeof(ta->id), "%s", id);
                        ta->created = now;
                        t->n_agents++;
                        r = fzd_ice_add_agent(t->ice, &c, ta, now, &ta->agent);
                        if (r < 0)
                                t->n_agents--;
                }
        } else if (strcmp(op, "candidate") == 0 || strcmp(op, "invalidate") == 0) {
                ToolAgent *ta = agent_by_id(t, get_str(cmd, "agent"));
                if (!ta)
                        r = -ENOENT, reason = "no such agent";
                else if (op[0] == 'c')
                        r = fzd_ice_add_remote_candidate(t->ice, ta->agent, get_str(cmd, "candidate"), now,
                                                         &reason);
                else
                        r = fzd_ice_remove_remote_candidate(t->ice, ta->agent, get_str(cmd, "candidate"),
                                                            now, &reason);
        } else if (strcmp(op, "send") == 0)
                r = op_send(t, cmd, &reason);
        else if (strcmp(op, "traffic") == 0) {
                ToolAgent *ta = agent_by_id(t, get_str(cmd, "agent"));
                if (ta)
                        fzd_ice_agent_note_traffic(ta->agent, now);
                else
                        r = -ENOENT;
        } else if (strcmp(op, "path") == 0) {
                ToolAgent *ta = agent_by_id(t, get_str(cmd, "agent"));
                FzdIcePath p;
                if (!ta || fzd_ice_get_path(t->ice, ta->agent, &p) < 0)
                        r = -ENOENT, reason = "no path";
                else {
                        o = event_new(t, "path", ta->created);
                        json_object_object_add(o, "agent", json_object_new_string(ta->id));
                        json_object_object_add(o, "path", path_json(&p));
                        json_object_object_add(o, "idle",
                                               json_object_new_boolean(fzd_ice_agent_is_idle(ta->agent)));
                        emit(o);
                }
        } else if (strcmp(op, "remove_agent") == 0) {
                ToolAgent *ta = agent_by_id(t, get_str(cmd, "agent"));
                if (!ta)
                        r = -ENOENT;
                else {
                        fzd_ice_remove_agent(t->ice, ta->agent);
                        *ta = t->agents[--t->n_agents];
                }
        } else if (strcmp(op, "reset") == 0)
                fzd_ice_reset(t->ice, now);
        else if (strcmp(op, "stats") == 0) {
                const FzdIceStats *s = fzd_ice_get_stats(t->ice);
                json_object *relays = json_object_new_object();
                o = event_new(t, "stats", t->start);
                json_object_object_add(o, "inputs_turn", json_object_new_int64((int64_t)s->inputs_turn));
                json_object_object_add(o, "inputs_ice", json_object_new_int64((int64_t)s->inputs_ice));
                json_object_object_add(o, "inputs_unwrapped",
                                       json_object_new_int64((int64_t)s->inputs_unwrapped));
                json_object_object_add(o, "inputs_other", json_object_new_int64((int64_t)s->inputs_other));
                json_object_object_add(o, "dropped", json_object_new_int64((int64_t)s->dropped));
                for (size_t i = 0; i < t->n_relay_ids; i++) {
                        FzdTurn *turn = fzd_ice_get_turn(t->ice, t->relay_ids[i], t->relay_families[i]);
                        if (turn)
                                json_object_object_add(relays, t->relay_ids[i], turn_stats_json(turn));
                }
                json_object_object_add(o, "relays", relays);
                emit(o);
        } else if (strcmp(op, "turn_peer") == 0 || strcmp(op, "turn_send") == 0) {
                const char *id = get_str(cmd, "id");
                FzdAddr peer;
                FzdTurn *turn = NULL;
                if (fzd_addr_parse(get_str(cmd, "peer"), &peer) < 0)
                        r = -EINVAL, reason = "bad peer";
                else if (!id || !(turn = fzd_ice_get_turn(t->ice, id, peer.family)))
                        r = -ENOENT, reason = "no such relay";
                else if (op[5] == 'p')
                        r = fzd_turn_add_peer(turn, &peer, now);
                else {
                        const char *data = get_str(cmd, "data");
                        uint8_t buf[2048];
                        uint16_t ch = 0;
                        r = data ? fzd_turn_encapsulate(turn, &peer, (const uint8_t *)data, strlen(data),
                                                        now, buf, sizeof(buf), &ch)
                                 : -EINVAL;
                        if (r > 0) {
                                FzdAddr any = {.family = peer.family};
                                r = send_datagram(t, &any, fzd_turn_get_server(turn), buf, (size_t)r);
                        }
                }
        } else if (strcmp(op, "quit") == 0)
                (void)sd_event_exit(t->event, 0);
        else
                r = -EOPNOTSUPP;

        if (r < 0) {
                o = event_new(t, "error", t->start);
                json_object_object_add(o, "op", json_object_new_string(op));
                json_object_object_add(o, "errno", json_object_new_int(-r));
                if (reason)
                        json_object_object_add(o, "reason", json_object_new_string(reason));
        } else {
                o = event_new(t, "ok", t->start);
                json_object_object_add(o, "op", json_object_new_string(op));
                json_object_object_add(o, "result", json_object_new_int(r));
        }
        emit(o);
        json_object_put(cmd);
        flush(t);
}

static int on_stdin(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Tool *t = userdata;
        ssize_t n = read(fd, t->line + t->line_len, sizeof(t->line) - 1 - t->line_len);

        if (n <= 0) {
                (void)sd_event_exit(t->event, 0);
                return 0;
        }
        t->line_len += (size_t)n;
        for (;;) {
                char *nl = memchr(t->line, '\n', t->line_len);
                size_t k;
                if (!nl)
                        break;
                *nl = 0;
                handle_command(t, t->line);
                k = (size_t)(nl - t->line) + 1;
                memmove(t->line, nl + 1, t->line_len - k);
                t->line_len -= k;
        }
        if (t->line_len == sizeof(t->line) - 1)
                t->line_len = 0;
        return 0;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                {"bind", required_argument, NULL, 'b'},
                {"ta-ms", required_argument, NULL, 't'},
                {"turn-lifetime", required_argument, NULL, 'L'},
                {"no-learn-hosts", no_argument, NULL, 'n'},
                {"software", required_argument, NULL, 's'},
                {"log-level", required_argument, NULL, 'l'},
                {},
        };
        FzdIceConfig cfg = {.learn_host_candidates = true};
        static Tool t;
        const char *binds[MAX_SOCKETS];
        size_t n_binds = 0;
        json_object *o, *socks;
        int c, r;

        t.log_level = LOG_INFO;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'b':
                        if (n_binds < MAX_SOCKETS)
                                binds[n_binds++] = optarg;
                        break;
                case 't':
                        cfg.ta = strtoull(optarg, NULL, 10) * 1000ULL;
                        cfg.ta_set = true;
                        break;
                case 'L':
                        cfg.turn_lifetime = (uint32_t)strtoul(optarg, NULL, 10);
                        break;
                case 'n':
                        cfg.learn_host_candidates = false;
                        break;
                case 's':
                        cfg.software = optarg;
                        break;
                case 'l':
                        t.log_level = strcmp(optarg, "debug") == 0  ? LOG_DEBUG
                                      : strcmp(optarg, "info") == 0 ? LOG_INFO
                                                                    : LOG_WARNING;
                        break;
                default:
                        return 2;
                }
        if (n_binds == 0)
                binds[n_binds++] = "0.0.0.0:0";
        cfg.log = on_log;
        cfg.log_userdata = &t;

        if (sd_event_default(&t.event) < 0)
                return 1;
        for (size_t i = 0; i < n_binds; i++) {
                r = open_socket(&t, binds[i]);
                if (r < 0) {
                        fprintf(stderr, "fzd-ice-tool: cannot bind %s: %s\n", binds[i], strerror(-r));
                        return 1;
                }
        }
        if (fzd_ice_new(&cfg, &t.ice) < 0)
                return 1;
        /* Accuracy 1 µs: sd-event's default (0 → 250 ms) would delay paced checks and
         * retransmissions by up to a quarter second. */
        if (sd_event_add_time(t.event, &t.timer, CLOCK_MONOTONIC, UINT64_MAX, 1, on_timer, &t) < 0 ||
            sd_event_add_io(t.event, &t.input, STDIN_FILENO, EPOLLIN, on_stdin, &t) < 0)
                return 1;
        t.start = now_usec(&t);
        o = event_new(&t, "ready", t.start);
        socks = json_object_new_array();
        for (size_t i = 0; i < t.n_socks; i++)
                json_object_array_add(socks, addr_json(&t.socks[i].bound));
        json_object_object_add(o, "sockets", socks);
        json_object_object_add(o, "pid", json_object_new_int(getpid()));
        emit(o);

        r = sd_event_loop(t.event);

        fzd_ice_free(t.ice);
        for (size_t i = 0; i < t.n_socks; i++) {
                sd_event_source_disable_unref(t.socks[i].source);
                close(t.socks[i].fd);
        }
        sd_event_source_disable_unref(t.timer);
        sd_event_source_disable_unref(t.input);
        sd_event_unref(t.event);
        return r < 0 ? 1 : 0;
}
