/* SPDX-License-Identifier: Apache-2.0 */
/* The test gateway's data plane: see gateway.h and tests/gateway/README.md. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "dataplane.h"
#include "dp-socket.h"
#include "gateway.h"
#include "gw-nat.h"
#include "gw-orders.h"
#include "gw-p2p.h"
#include "gw-policy.h"
#include "gw-resolver.h"
#include "ice.h"
#include "log.h"
#include "netlink.h"
#include "rtnl.h"
#include "tun.h"

#define MAX_CLIENTS       4096 /* a slot is the low 16 bits of a client's cookie */
#define NAT_MAX_FLOWS     65536
#define RESOLVER_THREADS  2
#define TICK_USEC         (1 * USEC_PER_SEC)
#define DENIED_EVERY_USEC (1 * USEC_PER_SEC)
#define PACKET_MAX        2048

/* Firezone's client tunnel ranges (DESIGN §6): answers of the resources to clients come back
 * into the TUN through these. The DNS proxy ranges that proxy IPs must come from (§7.1). */
static const char *const tunnel_ranges[] = { "100.64.0.0/11", "fd00:2021:1111::/107" };
static const char *const proxy_ranges[] = { "100.96.0.0/11", "fd00:2021:1111:8000::/107" };

typedef enum ConnState {
        CONN_CONNECTING,
        CONN_ICE_CONNECTED,
        CONN_CONNECTED,
} ConnState;

typedef enum DeniedReason {
        DENIED_FILTER,
        DENIED_UNAUTHORIZED,
        _DENIED_MAX,
} DeniedReason;

typedef struct Client {
        uint64_t cookie; /* (generation << 16) | slot: the data plane's route cookie */
        FzgwClientInfo info;
        /* Read by the workers under g->policy_lock; written by the loop under its write lock. */
        FzgwPolicy policy;

        /* The loop's alone from here on. */
        FzdDpPeer *peer;
        FzdIceAgent *agent;
        ConnState state;
        bool doomed; /* to be removed once the ICE events at hand are handled */
        char doom_state[16], doom_reason[128];
        bool has_path;
        FzdIcePath path;
        FzdDpAddr bound_relay; /* the channel published to the fast path, if any */
        uint16_t bound_channel;
        char local_cands[FZD_ICE_MAX_LOCAL_CANDIDATES][FZD_ICE_CANDIDATE_MAX];
        size_t n_local;
        char remote_cands[FZD_ICE_MAX_REMOTE_CANDIDATES][FZD_ICE_CANDIDATE_MAX];
        size_t n_remote;
        json_object *new_cands, *gone_cands; /* to announce after the ICE events at hand */
        uint64_t started;                    /* monotonic µs of the authorize that made it */
        uint64_t rx_bytes, tx_bytes;         /* WireGuard's, at the last tick */
        uint64_t denied_at[_DENIED_MAX];
        uint64_t resolutions; /* DNS lookups in flight for it */
} Client;

typedef struct Relay {
        char id[FZGW_ID_MAX + 1];
        FzdAddr addr;
} Relay;

struct FzgwGateway {
        sd_event *event;
        FzgwGatewayConfig config;
        FzgwEmitFn emit;
        void *emit_userdata;

        int tun_fd, tun_ifindex;
        bool initialized; /* the first init set the TUN up */
        FzdNetlink *nl;
        FzdCidr tunnel_ranges[2];
        int udp_fd[2];
        uint16_t udp_port[2];
        FzdDataplane *dp;
        char public_key[FZD_WG_KEY_B64_LEN];

        FzdIce *ice;
        sd_event_source *ice_timer, *tick;

        Relay relays[FZGW_MAX_RELAYS * 2];
        size_t n_relays;
        bool no_relays_announced;

        pthread_rwlock_t policy_lock;
        Client *slots[MAX_CLIENTS];
        size_t n_clients;
        uint64_t generation;

        pthread_mutex_t nat_lock;
        FzgwNat *nat;

        FzgwResolver *resolver;
        struct Pending *pending; /* lookups in flight */
        FzdCidr proxy_ranges[2];
};

typedef struct Pending Pending;

/* ---- clocks, output ------------------------------------------------------------------------- */

static uint64_t now_usec(FzgwGateway *g) {
        uint64_t now;

        if (sd_event_now(g->event, CLOCK_MONOTONIC, &now) < 0) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                now = (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
        }
        return now;
}

/* Seconds for the NAT's flows: any thread. */
static uint64_t now_sec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec + 1;
}

static uint64_t realtime_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static void emit(FzgwGateway *g, json_object *o) {
        g->emit(g->emit_userdata, o);
}

static json_object *event_new(const char *name) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "event", json_object_new_string(name));
        return o;
}

static void add_str(json_object *o, const char *key, const char *value) {
        json_object_object_add(o, key, value ? json_object_new_string(value) : NULL);
}

static json_object *ip_json(const FzgwIp *ip) {
        char buf[FZGW_IP_STRLEN];

        return ip->family ? json_object_new_string(fzgw_ip_format(ip, buf)) : NULL;
}

static void on_ice_log(void *userdata, int level, const char *message) {
        FzgwGateway *g = userdata;

        if (level <= LOG_INFO || g->config.ice_debug)
                log_full(level, "ICE: %s", message);
}

/* ---- addresses -------------------------------------------------------------------------------- */

static FzdDpAddr dp_addr(const FzdAddr *a) {
        struct sockaddr_storage ss;
        FzdDpAddr d = {};
        socklen_t n = fzd_addr_to_sockaddr(a, &ss);

        if (n > 0 && n <= sizeof d)
                memcpy(&d, &ss, n);
        return d;
}

static FzdAddr from_dp_addr(const FzdDpAddr *d) {
        FzdAddr a = {};

        if (d->sa.sa_family == AF_INET)
                (void) fzd_addr_from_sockaddr(&d->sa, sizeof d->in, &a);
        else if (d->sa.sa_family == AF_INET6)
                (void) fzd_addr_from_sockaddr(&d->sa, sizeof d->in6, &a);
        return a;
}

static bool in_ranges(const FzdCidr *ranges, size_t n, const FzgwIp *ip) {
        FzdCidr host;

        if (fzd_cidr_from_address(ip->family, ip->a, ip->family == AF_INET ? 32 : 128, &host) < 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (ranges[i].family == ip->family && fzd_cidr_contains(&ranges[i], &host))
                        return true;
        return false;
}

/* ---- clients ---------------------------------------------------------------------------------- */

/* Any thread, under policy_lock (or on the loop). */
static Client *client_by_cookie(FzgwGateway *g, uint64_t cookie) {
        Client *c = g->slots[cookie & 0xffff];

        return c && c->cookie == cookie ? c : NULL;
}

static Client *client_by_id(FzgwGateway *g, const char *id) {
        for (size_t i = 0; i < MAX_CLIENTS; i++)
                if (g->slots[i] && strcmp(g->slots[i]->info.id, id) == 0)
                        return g->slots[i];
        return NULL;
}

static Client *client_by_agent(FzgwGateway *g, void *userdata) {
        /* Removing an agent drops its queued events; still, only a live client is one. */
        for (size_t i = 0; i < MAX_CLIENTS; i++)
                if (g->slots[i] && g->slots[i] == userdata)
                        return g->slots[i];
        return NULL;
}

/* The data plane's queue may hold items of a peer removed since (they keep it referenced):
 * matched by the peer, which cannot be reused while referenced, never by its userdata. */
static Client *client_by_peer(FzgwGateway *g, FzdDpPeer *peer) {
        for (size_t i = 0; i < MAX_CLIENTS; i++)
                if (g->slots[i] && g->slots[i]->peer == peer)
                        return g->slots[i];
        return NULL;
}

static const char *state_name(ConnState s) {
        switch (s) {
        case CONN_CONNECTING:
                return "connecting";
        case CONN_ICE_CONNECTED:
                return "ice-connected";
        case CONN_CONNECTED:
                return "connected";
        }
        return "?";
}

/* The SDP form of a candidate of ours or the peer's: the one announced, else made up (a
 * peer-reflexive candidate was never announced). */
static json_object *candidate_json(char (*list)[FZD_ICE_CANDIDATE_MAX], size_t n, FzdIceCandidateType type,
                                   const FzdAddr *addr, const FzdAddr *base) {
        char host[FZD_ADDR_STRLEN], sdp[FZD_ICE_CANDIDATE_MAX] = "";
        json_object *o = json_object_new_object();

        for (size_t i = 0; i < n && !sdp[0]; i++) {
                FzdIceCandidate c;
                const char *why;
                if (fzd_ice_candidate_parse(list[i], &c, &why) == 0 && c.type == type &&
                    fzd_addr_eq(&c.addr, addr))
                        snprintf(sdp, sizeof sdp, "%s", list[i]);
        }
        if (!sdp[0]) {
                FzdIceCandidate c = { .type = type,
                                      .addr = *addr,
                                      .component = 1,
                                      .priority = fzd_ice_candidate_priority(type, 65535, 1) };
                fzd_ice_candidate_foundation(type, base, NULL, c.foundation);
                if (fzd_ice_candidate_format(&c, NULL, sdp, sizeof sdp) < 0)
                        sdp[0] = '\0';
        }
        add_str(o, "type", fzd_ice_candidate_type_to_string(type));
        add_str(o, "host", fzd_addr_format_ip(addr, host));
        json_object_object_add(o, "port", json_object_new_int(addr->port));
        add_str(o, "sdp", sdp);
        return o;
}

static json_object *path_json(Client *c) {
        FzdIceSelected s;
        json_object *o;

        if (!c->agent || !c->has_path || fzd_ice_agent_get_selected(c->agent, &s) < 0)
                return NULL;
        o = json_object_new_object();
        json_object_object_add(o, "local",
                               candidate_json(c->local_cands, c->n_local, s.local_type, &s.local, &s.base));
        json_object_object_add(
                o, "remote",
                candidate_json(c->remote_cands, c->n_remote, s.remote_type, &s.remote, &s.remote));
        json_object_object_add(o, "relayed",
                               json_object_new_boolean(s.local_type == FZD_ICE_CANDIDATE_RELAY ||
                                                       s.remote_type == FZD_ICE_CANDIDATE_RELAY));
        json_object_object_add(o, "rtt_ms", json_object_new_double((double) s.rtt / 1000.0));
        if (c->path.relay_id[0])
                add_str(o, "relay_id", c->path.relay_id);
        return o;
}

static void emit_connection(FzgwGateway *g, Client *c, const char *state, const char *reason) {
        json_object *o = event_new("connection");
        bool with_path = strcmp(state, "ice-connected") == 0 || strcmp(state, "connected") == 0;

        add_str(o, "client_id", c->info.id);
        add_str(o, "state", state);
        if (with_path)
                json_object_object_add(o, "path", path_json(c));
        if (reason)
                add_str(o, "reason", reason);
        json_object_object_add(o, "elapsed_ms",
                               json_object_new_double((double) (now_usec(g) - c->started) / 1000.0));
        emit(g, o);
}

static void unbind_channel(FzgwGateway *g, Client *c) {
        if (c->bound_channel == 0)
                return;
        (void) fzd_dataplane_channel_bind(g->dp, &c->bound_relay, c->bound_channel, false);
        c->bound_channel = 0;
}

static void nat_forget(FzgwGateway *g, uint64_t owner, int family, const uint8_t *proxy);
static void client_route(FzgwGateway *g, const FzgwIp *ip, bool add);

/* Ends a client's connection: every authorization, its peer (and routes), its ICE agent, its
 * flows. The "closed"/"failed" event goes out first. */
static void client_free(FzgwGateway *g, Client *c, const char *state, const char *reason) {
        unsigned slot = (unsigned) (c->cookie & 0xffff);

        if (state)
                emit_connection(g, c, state, reason);
        log_info("Client %s: connection %s (%s).", c->info.id, state ? state : "dropped",
                 reason ? reason : "");
        if (c->agent)
                fzd_ice_remove_agent(g->ice, c->agent);
        unbind_channel(g, c);
        if (c->peer)
                fzd_dataplane_peer_remove(g->dp, c->peer);
        client_route(g, &c->info.ipv4, false);
        client_route(g, &c->info.ipv6, false);
        nat_forget(g, c->cookie, 0, NULL);
        pthread_rwlock_wrlock(&g->policy_lock);
        g->slots[slot] = NULL;
        g->n_clients--;
        pthread_rwlock_unlock(&g->policy_lock);
        fzgw_policy_done(&c->policy);
        json_object_put(c->new_cands);
        json_object_put(c->gone_cands);
        fzd_wg_wipe(&c->info, sizeof c->info);
        free(c);
}

static void client_doom(Client *c, const char *state, const char *reason) {
        if (c->doomed)
                return;
        c->doomed = true;
        snprintf(c->doom_state, sizeof c->doom_state, "%s", state);
        snprintf(c->doom_reason, sizeof c->doom_reason, "%s", reason);
}

/* ---- ICE ------------------------------------------------------------------------------------- */

static int on_ice_timer(sd_event_source *s, uint64_t usec, void *userdata);

static bool dp_addr_eq(const FzdDpAddr *a, const FzdDpAddr *b) {
        FzdAddr x = from_dp_addr(a), y = from_dp_addr(b);

        return fzd_addr_eq(&x, &y);
}

static void set_path(FzgwGateway *g, Client *c, const FzdIcePath *p) {
        FzdDpPath dpp = { .family = p->source.family, .dst = dp_addr(&p->dest), .channel = p->channel };
        int r;

        /* Through our relay: ChannelData on this channel is the client's, for the fast path
         * to unwrap. */
        if (p->channel == 0 || c->bound_channel != p->channel || !dp_addr_eq(&c->bound_relay, &dpp.dst)) {
                unbind_channel(g, c);
                if (p->channel != 0) {
                        (void) fzd_dataplane_relay_add(g->dp, &dpp.dst);
                        if (fzd_dataplane_channel_bind(g->dp, &dpp.dst, p->channel, true) >= 0) {
                                c->bound_relay = dpp.dst;
                                c->bound_channel = p->channel;
                        }
                }
        }
        r = fzd_dataplane_peer_set_path(g->dp, c->peer, &dpp);
        if (r < 0)
                log_warning_errno(r, "Client %s: cannot use the selected path: %m", c->info.id);
        c->path = *p;
        c->has_path = true;
}

static void queue_candidate(json_object **list, const char *cand) {
        if (!*list)
                *list = json_object_new_array();
        json_object_array_add(*list, json_object_new_string(cand));
}

static void remember_local(Client *c, const char *cand, bool add) {
        for (size_t i = 0; i < c->n_local; i++)
                if (strcmp(c->local_cands[i], cand) == 0) {
                        if (!add)
                                memmove(c->local_cands[i], c->local_cands[--c->n_local],
                                        FZD_ICE_CANDIDATE_MAX);
                        return;
                }
        if (add && c->n_local < FZD_ICE_MAX_LOCAL_CANDIDATES)
                snprintf(c->local_cands[c->n_local++], FZD_ICE_CANDIDATE_MAX, "%s", cand);
}

static void on_agent_event(FzgwGateway *g, const FzdIceEvent *e) {
        Client *c = client_by_agent(g, e->userdata);
        char a[FZD_ADDR_STRLEN];

        if (!c || c->doomed)
                return;
        switch (e->type) {
        case FZD_ICE_EVENT_CANDIDATE:
                remember_local(c, e->candidate, true);
                queue_candidate(&c->new_cands, e->candidate);
                return;
        case FZD_ICE_EVENT_CANDIDATE_INVALIDATED:
                remember_local(c, e->candidate, false);
                queue_candidate(&c->gone_cands, e->candidate);
                return;
        case FZD_ICE_EVENT_CONNECTED:
        case FZD_ICE_EVENT_PATH_CHANGED:
                set_path(g, c, &e->path);
                log_info("Client %s: ICE %s, sending to %s%s.", c->info.id,
                         e->type == FZD_ICE_EVENT_CONNECTED ? "connected" : "path changed",
                         fzd_addr_format(&e->path.dest, a), e->path.channel ? " through the relay" : "");
                if (c->state == CONN_CONNECTING) {
                        c->state = CONN_ICE_CONNECTED;
                        emit_connection(g, c, "ice-connected", NULL);
                } else {
                        /* Another pair, or a path again after ICE lost it. */
                        json_object *o = event_new("path");
                        add_str(o, "client_id", c->info.id);
                        json_object_object_add(o, "path", path_json(c));
                        emit(g, o);
                }
                return;
        case FZD_ICE_EVENT_DISCONNECTED: {
                json_object *o = event_new("path");
                log_info("Client %s: ICE lost its path; waiting for one to come back.", c->info.id);
                (void) fzd_dataplane_peer_set_path(g->dp, c->peer, NULL);
                unbind_channel(g, c);
                c->has_path = false;
                add_str(o, "client_id", c->info.id);
                json_object_object_add(o, "path", NULL);
                emit(g, o);
                return;
        }
        case FZD_ICE_EVENT_FAILED:
                client_doom(c, "failed", fzd_ice_failure_to_string(e->failure));
                return;
        default:
                return;
        }
}

static void announce_no_relays(FzgwGateway *g) {
        if (g->no_relays_announced)
                return;
        g->no_relays_announced = true;
        emit(g, event_new("no_relays"));
}

static void on_relay_event(FzgwGateway *g, const FzdIceEvent *e) {
        char a[FZD_ADDR_STRLEN];
        json_object *o;

        switch (e->type) {
        case FZD_ICE_EVENT_RELAY_READY:
                log_info("Relay %s: allocation ready, relayed address %s.", e->relay_id,
                         fzd_addr_format(&e->addr, a));
                o = event_new("relay");
                add_str(o, "id", e->relay_id);
                add_str(o, "state", "ready");
                add_str(o, "relayed", fzd_addr_format(&e->addr, a));
                emit(g, o);
                return;
        case FZD_ICE_EVENT_RELAY_CREDENTIALS_EXPIRED:
                log_warning("Relay %s: its credentials expired.", e->relay_id);
                return;
        case FZD_ICE_EVENT_RELAY_FAILED:
                log_warning("Relay %s failed (%s, %s).", e->relay_id,
                            fzd_turn_failure_to_string(e->turn_failure),
                            strerror(e->error > 0 ? e->error : -e->error));
                o = event_new("relay");
                add_str(o, "id", e->relay_id);
                add_str(o, "state", "failed");
                add_str(o, "reason", fzd_turn_failure_to_string(e->turn_failure));
                emit(g, o);
                return;
        case FZD_ICE_EVENT_NO_RELAYS:
                announce_no_relays(g);
                return;
        default:
                return;
        }
}

static void send_transmit(FzgwGateway *g, const FzdIceTransmit *t) {
        FzdDpAddr to = dp_addr(&t->dest), from = dp_addr(&t->source);
        int r;

        r = fzd_dataplane_send_datagram_from(g->dp, t->dest.family,
                                             t->source.family == t->dest.family ? &from : NULL, &to, t->data,
                                             t->len);
        if (r < 0 && r != -EAGAIN) {
                char a[FZD_ADDR_STRLEN];
                log_debug_errno(r, "Failed to send %zu bytes to %s: %m", t->len,
                                fzd_addr_format(&t->dest, a));
        }
}

/* After anything that touched the ICE node: send, report, remove failed connections, re-arm. */
static void ice_flush(FzgwGateway *g) {
        FzdIceTransmit t;
        FzdIceEvent e;
        uint64_t next;

        for (;;) {
                bool any = false;
                while (fzd_ice_poll_transmit(g->ice, &t)) {
                        send_transmit(g, &t);
                        any = true;
                }
                while (fzd_ice_poll_event(g->ice, &e)) {
                        if (e.agent)
                                on_agent_event(g, &e);
                        else
                                on_relay_event(g, &e);
                        any = true;
                }
                if (!any)
                        break;
        }
        for (size_t i = 0; i < MAX_CLIENTS; i++) {
                Client *c = g->slots[i];
                json_object *o;
                if (!c)
                        continue;
                if (c->new_cands) {
                        o = event_new("candidates");
                        add_str(o, "client_id", c->info.id);
                        json_object_object_add(o, "candidates", c->new_cands);
                        c->new_cands = NULL;
                        emit(g, o);
                }
                if (c->gone_cands) {
                        o = event_new("invalidated_candidates");
                        add_str(o, "client_id", c->info.id);
                        json_object_object_add(o, "candidates", c->gone_cands);
                        c->gone_cands = NULL;
                        emit(g, o);
                }
                if (c->doomed)
                        client_free(g, c, c->doom_state, c->doom_reason);
        }
        /* Removing agents may have queued more (transmits of other agents never depend on
         * it, but be thorough). */
        while (fzd_ice_poll_transmit(g->ice, &t))
                send_transmit(g, &t);
        next = fzd_ice_poll_timeout(g->ice);
        if (next == UINT64_MAX)
                (void) sd_event_source_set_enabled(g->ice_timer, SD_EVENT_OFF);
        else {
                (void) sd_event_source_set_time(g->ice_timer, next);
                (void) sd_event_source_set_enabled(g->ice_timer, SD_EVENT_ONESHOT);
        }
}

static int on_ice_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        FzgwGateway *g = userdata;

        fzd_ice_handle_timeout(g->ice, now_usec(g));
        ice_flush(g);
        return 0;
}

/* ---- the data plane's callbacks --------------------------------------------------------------- */

static void on_datagram(void *userdata, const FzdDpDatagram *d) {
        FzgwGateway *g = userdata;
        FzdAddr from = from_dp_addr(&d->from), local = from_dp_addr(&d->local);
        uint8_t buf[PACKET_MAX + 4];
        const uint8_t *data = d->data;
        size_t len = d->len;
        FzdIceUnwrapped u;
        FzdIceInput in;

        if (local.family == 0)
                local.family = (uint8_t) d->family;
        local.port = g->udp_port[d->family == AF_INET6];
        /* STUN that came through a bound channel was unwrapped by the fast path: ICE wants it
         * the way the relay sent it. */
        if (d->channel != 0 && (len == 0 || d->data[0] < 64 || d->data[0] > 79)) {
                if (len > PACKET_MAX)
                        return;
                fzd_channel_data_header(buf, d->channel, (uint16_t) len);
                memcpy(buf + FZD_CHANNEL_DATA_HEADER, d->data, len);
                data = buf;
                len += FZD_CHANNEL_DATA_HEADER;
        }
        in = fzd_ice_handle_input(g->ice, now_usec(g), &local, &from, data, len, &u);
        if (in == FZD_ICE_INPUT_UNWRAPPED) {
                FzdDpAddr relay = dp_addr(&u.relay);
                (void) fzd_dataplane_input(g->dp, d->family, &relay, u.channel, u.data, u.len);
        }
        ice_flush(g);
}

static void on_peer_event(void *userdata, FzdDpPeer *peer, FzdDpPeerEvent event) {
        FzgwGateway *g = userdata;
        Client *c = client_by_peer(g, peer);

        if (!c)
                return;
        switch (event) {
        case FZD_DP_PEER_HANDSHAKE_COMPLETE:
                if (c->state != CONN_CONNECTED) {
                        c->state = CONN_CONNECTED;
                        log_info("Client %s: WireGuard session up (%.1f ms after the authorization).",
                                 c->info.id, (double) (now_usec(g) - c->started) / 1000.0);
                        emit_connection(g, c, "connected", NULL);
                }
                return;
        case FZD_DP_PEER_HANDSHAKE_FAILED:
                log_warning("Client %s: WireGuard handshake failed.", c->info.id);
                return;
        case FZD_DP_PEER_KEYS_EXPIRED:
                log_info("Client %s: WireGuard session expired.", c->info.id);
                return;
        case FZD_DP_PEER_PATH_CHANGED:
                return;
        }
}

static void on_packet(void *userdata, FzdDpPeer *peer, uint64_t cookie, FzdDpPacketReason reason,
                      const uint8_t *packet, size_t len) {
        FzgwGateway *g = userdata;
        Client *c = peer ? client_by_cookie(g, cookie) : NULL;

        /* An answer for a client without a session: stage it and handshake (WireGuard's way),
         * if ICE has a path; anything else has nowhere to go. */
        if (c && reason == FZD_DP_PACKET_NO_SESSION && c->has_path)
                (void) fzd_dataplane_peer_send(g->dp, c->peer, packet, len);
}

/* ---- the packet hooks (workers) ------------------------------------------------------------------ */

/* The NAT key of a packet between a client and a real address; request: client → resource. */
static FzgwNatKey nat_key(const FzgwPacket *pi, uint8_t proto, bool has_ports, bool echo, uint16_t sport,
                          uint16_t dport, const uint8_t *client, const uint8_t *real, bool request) {
        FzgwNatKey k = { .family = (uint8_t) pi->family, .proto = proto };
        size_t alen = fzgw_ip_len(pi->family);

        if (has_ports) {
                k.client_port = request || echo ? sport : dport;
                k.server_port = echo ? 0 : request ? dport : sport;
        }
        memcpy(k.client, client, alen);
        memcpy(k.real, real, alen);
        return k;
}

/* Client → resources: the client's policy decides; to a proxy IP the destination becomes the
 * real address. */
static bool hook_inbound(void *userdata, FzdDpPeer *peer, uint64_t cookie, uint8_t *packet, size_t len) {
        FzgwGateway *g = userdata;
        const FzgwAuthorization *auth;
        const FzgwMapping *map;
        FzgwVerdict v = FZGW_VERDICT_UNAUTHORIZED;
        FzgwPacket pi;
        Client *c;

        if (fzgw_packet_parse(packet, len, &pi) < 0)
                return false;
        pthread_rwlock_rdlock(&g->policy_lock);
        c = client_by_cookie(g, cookie);
        if (c)
                v = fzgw_policy_check(&c->policy, packet, &pi, &auth, &map);
        if (v == FZGW_VERDICT_ALLOW_NAT) {
                FzgwNatKey k = nat_key(&pi, pi.proto, pi.has_ports, pi.icmp_echo, pi.sport, pi.dport,
                                       fzgw_packet_src(packet, &pi), map->real.a, true);
                int r;

                pthread_mutex_lock(&g->nat_lock);
                r = fzgw_nat_request(g->nat, &k, map->proxy.a, cookie, now_sec(), pi.tcp_flags, pi.len);
                pthread_mutex_unlock(&g->nat_lock);
                if (r < 0)
                        v = FZGW_VERDICT_UNAUTHORIZED; /* no room for another flow */
                else
                        fzgw_packet_set_addr(packet, &pi, true, map->real.a);
        }
        pthread_rwlock_unlock(&g->policy_lock);
        return v == FZGW_VERDICT_ALLOW || v == FZGW_VERDICT_ALLOW_NAT;
}

/* Resources → client: an answer from a real address of a NAT flow goes out from the proxy IP
 * the client used; so does an ICMP error about a packet of such a flow. */
static void hook_outbound(void *userdata, uint64_t cookie, uint8_t *packet, size_t len) {
        FzgwGateway *g = userdata;
        uint8_t proxy[16];
        FzgwPacket pi;
        Client *c;

        if (fzgw_packet_parse(packet, len, &pi) < 0)
                return;
        pthread_rwlock_rdlock(&g->policy_lock);
        c = client_by_cookie(g, cookie);
        if (c && c->policy.n_maps > 0) {
                FzgwIp src = fzgw_packet_src_ip(packet, &pi);
                FzgwQuoted q;

                if (pi.icmp_error && fzgw_packet_quoted(packet, &pi, &q) == 0) {
                        /* The quoted packet went from the client to the real address. */
                        FzgwIp qdst =
                                fzgw_ip_make(pi.family, packet + q.off + (pi.family == AF_INET ? 16 : 24));
                        if (fzgw_policy_is_real(&c->policy, &qdst)) {
                                bool echo = q.proto == FZGW_PROTO_ICMP || q.proto == FZGW_PROTO_ICMPV6;
                                FzgwNatKey k = nat_key(&pi, q.proto, q.has_ports, echo, q.sport, q.dport,
                                                       packet + q.off + (pi.family == AF_INET ? 12 : 8),
                                                       qdst.a, true);
                                bool found;
                                pthread_mutex_lock(&g->nat_lock);
                                found = fzgw_nat_reply(g->nat, &k, now_sec(), 0, pi.len, proxy);
                                pthread_mutex_unlock(&g->nat_lock);
                                if (found)
                                        fzgw_packet_unnat_icmp_error(packet, &pi, &q, proxy);
                        }
                } else if (fzgw_policy_is_real(&c->policy, &src)) {
                        FzgwNatKey k = nat_key(&pi, pi.proto, pi.has_ports, pi.icmp_echo, pi.sport, pi.dport,
                                               fzgw_packet_dst(packet, &pi), src.a, false);
                        bool found;
                        pthread_mutex_lock(&g->nat_lock);
                        found = fzgw_nat_reply(g->nat, &k, now_sec(), pi.tcp_flags, pi.len, proxy);
                        pthread_mutex_unlock(&g->nat_lock);
                        if (found)
                                fzgw_packet_set_addr(packet, &pi, false, proxy);
                }
        }
        pthread_rwlock_unlock(&g->policy_lock);
}

static const char *proto_name(uint8_t proto, char buf[8]) {
        switch (proto) {
        case FZGW_PROTO_TCP:
                return "tcp";
        case FZGW_PROTO_UDP:
                return "udp";
        case FZGW_PROTO_ICMP:
                return "icmp";
        case FZGW_PROTO_ICMPV6:
                return "icmpv6";
        default:
                snprintf(buf, 8, "%u", proto);
                return buf;
        }
}

/* A packet the policy refused (main loop): answer with ICMP "administratively prohibited"
 * (Firezone's gateways do, so that the client asks for the authorization again) and report
 * it, at most once per client and reason per second. */
static void on_inbound_refused(void *userdata, FzdDpPeer *peer, uint64_t cookie, const uint8_t *packet,
                               size_t len) {
        FzgwGateway *g = userdata;
        const FzgwAuthorization *auth;
        const FzgwMapping *map;
        uint8_t icmp[PACKET_MAX];
        char pbuf[8];
        FzgwPacket pi;
        FzgwVerdict v;
        DeniedReason why;
        Client *c = client_by_cookie(g, cookie);
        uint64_t now = now_usec(g);
        FzgwIp dst;
        int n;

        if (!c || fzgw_packet_parse(packet, len, &pi) < 0)
                return;
        v = fzgw_policy_check(&c->policy, packet, &pi, &auth, &map);
        if (v == FZGW_VERDICT_ALLOW || v == FZGW_VERDICT_ALLOW_NAT)
                return; /* refused for want of room in the NAT, or the policy changed meanwhile */
        why = v == FZGW_VERDICT_FILTERED ? DENIED_FILTER : DENIED_UNAUTHORIZED;
        if (fzgw_packet_may_answer(packet, &pi)) {
                n = fzgw_packet_icmp_prohibited(packet, &pi, icmp, sizeof icmp);
                if (n > 0)
                        (void) fzd_dataplane_peer_send(g->dp, c->peer, icmp, (size_t) n);
        }
        if (c->denied_at[why] != 0 && now - c->denied_at[why] < DENIED_EVERY_USEC)
                return;
        c->denied_at[why] = now;
        dst = fzgw_packet_dst_ip(packet, &pi);
        {
                json_object *o = event_new("denied");
                add_str(o, "client_id", c->info.id);
                add_str(o, "resource_id", auth ? auth->resource.id : NULL);
                add_str(o, "reason", why == DENIED_FILTER ? "filter" : "unauthorized");
                add_str(o, "protocol", proto_name(pi.proto, pbuf));
                json_object_object_add(o, "dst", ip_json(&dst));
                if (pi.has_ports && !pi.icmp)
                        json_object_object_add(o, "dst_port", json_object_new_int(pi.dport));
                emit(g, o);
        }
}

/* ---- the NAT's flows (main loop) ----------------------------------------------------------------- */

static void emit_flow(FzgwGateway *g, const FzgwNatFlow *f, const char *state) {
        Client *c = client_by_cookie(g, f->owner);
        FzgwIp client = fzgw_ip_make(f->key.family, f->key.client),
               real = fzgw_ip_make(f->key.family, f->key.real),
               proxy = fzgw_ip_make(f->key.family, f->proxy);
        const FzgwMapping *m = c ? fzgw_policy_find_mapping(&c->policy, &proxy) : NULL;
        json_object *o;
        char pbuf[8];

        if (!c)
                return;
        o = event_new("flow");
        add_str(o, "client_id", c->info.id);
        add_str(o, "resource_id", m ? m->resource_id : NULL);
        add_str(o, "protocol", proto_name(f->key.proto, pbuf));
        json_object_object_add(o, "src", ip_json(&client));
        json_object_object_add(o, "dst", ip_json(&proxy));
        json_object_object_add(o, "real", ip_json(&real));
        if (f->key.proto == FZGW_PROTO_TCP || f->key.proto == FZGW_PROTO_UDP) {
                json_object_object_add(o, "src_port", json_object_new_int(f->key.client_port));
                json_object_object_add(o, "dst_port", json_object_new_int(f->key.server_port));
        }
        add_str(o, "state", state);
        json_object_object_add(o, "rx_bytes", json_object_new_int64((int64_t) f->request_bytes));
        json_object_object_add(o, "tx_bytes", json_object_new_int64((int64_t) f->reply_bytes));
        emit(g, o);
}

static void flow_ended(void *userdata, const FzgwNatFlow *f) {
        if (f->announced)
                emit_flow(userdata, f, "closed");
}

static void flow_announce(void *userdata, FzgwNatFlow *f) {
        if (!f->announced) {
                f->announced = true;
                emit_flow(userdata, f, "new");
        }
}

static void nat_forget(FzgwGateway *g, uint64_t owner, int family, const uint8_t *proxy) {
        pthread_mutex_lock(&g->nat_lock);
        (void) fzgw_nat_forget(g->nat, owner, family, proxy, flow_ended, g);
        pthread_mutex_unlock(&g->nat_lock);
}

/* ---- DNS resources (main loop) -------------------------------------------------------------------- */

static void send_domain_status(FzgwGateway *g, Client *c, const char *resource, const char *domain,
                               bool active) {
        uint8_t buf[PACKET_MAX];
        int n = fzgw_p2p_build_domain_status(resource, domain, active, buf, sizeof buf);

        if (n > 0)
                (void) fzd_dataplane_peer_send(g->dp, c->peer, buf, (size_t) n);
}

/* A lookup in flight: which client (by cookie), and the announcement it answers. */
struct Pending {
        uint64_t cookie;
        FzgwAssignedIps a;
        struct Pending *next;
};

static Pending *pending_find(FzgwGateway *g, uint64_t cookie, const char *domain) {
        for (Pending *p = g->pending; p; p = p->next)
                if (p->cookie == cookie && strcmp(p->a.domain, domain) == 0)
                        return p;
        return NULL;
}

static void on_resolved(void *userdata, const FzgwResolution *res) {
        FzgwGateway *g = userdata;
        Pending *p = NULL, **pp;
        FzgwMapping maps[FZGW_MAX_PROXY_IPS];
        json_object *o, *proxies, *addrs, *mapping;
        size_t n4 = 0, n6 = 0, mapped = 0;
        Client *c;
        int r;

        for (pp = &g->pending; *pp; pp = &(*pp)->next)
                if ((uint64_t) (uintptr_t) *pp == res->tag) {
                        p = *pp;
                        *pp = p->next;
                        break;
                }
        if (!p)
                return;
        c = client_by_cookie(g, p->cookie);
        if (c)
                c->resolutions--;
        /* The client may be gone, or its authorization, since it asked. */
        if (!c || !fzgw_policy_find(&c->policy, p->a.resource)) {
                free(p);
                return;
        }
        if (res->error)
                log_info("Client %s: %s does not resolve (%s).", c->info.id, res->name,
                         gai_strerror(res->error));
        for (size_t i = 0; i < p->a.n_proxy_ips; i++) {
                const FzgwIp *proxy = &p->a.proxy_ips[i];
                FzgwMapping *m = &maps[i];
                *m = (FzgwMapping){ .proxy = *proxy };
                snprintf(m->resource_id, sizeof m->resource_id, "%s", p->a.resource);
                snprintf(m->domain, sizeof m->domain, "%s", p->a.domain);
                /* Round-robin over the addresses of the proxy IP's family. */
                if (proxy->family == AF_INET && res->n_v4 > 0)
                        m->real = res->v4[n4++ % res->n_v4];
                else if (proxy->family == AF_INET6 && res->n_v6 > 0)
                        m->real = res->v6[n6++ % res->n_v6];
                mapped += m->real.family != 0;
        }
        pthread_rwlock_wrlock(&g->policy_lock);
        r = fzgw_policy_map(&c->policy, maps, p->a.n_proxy_ips);
        pthread_rwlock_unlock(&g->policy_lock);
        if (r < 0) {
                log_warning_errno(r, "Client %s: cannot map more proxy IPs: %m", c->info.id);
                mapped = 0;
        }
        send_domain_status(g, c, p->a.resource, p->a.domain, mapped > 0);
        log_info("Client %s: %s (resource %s) → %zu of %zu proxy IPs mapped: %s.", c->info.id, p->a.domain,
                 p->a.resource, mapped, p->a.n_proxy_ips, mapped > 0 ? "Active" : "Inactive");

        o = event_new("dns_resource");
        add_str(o, "client_id", c->info.id);
        add_str(o, "resource_id", p->a.resource);
        add_str(o, "domain", p->a.domain);
        proxies = json_object_new_array();
        mapping = json_object_new_object();
        for (size_t i = 0; i < p->a.n_proxy_ips; i++) {
                char buf[FZGW_IP_STRLEN];
                json_object_array_add(proxies, ip_json(&maps[i].proxy));
                json_object_object_add(mapping, fzgw_ip_format(&maps[i].proxy, buf), ip_json(&maps[i].real));
        }
        addrs = json_object_new_array();
        for (size_t i = 0; i < res->n_v4; i++)
                json_object_array_add(addrs, ip_json(&res->v4[i]));
        for (size_t i = 0; i < res->n_v6; i++)
                json_object_array_add(addrs, ip_json(&res->v6[i]));
        json_object_object_add(o, "proxy_ips", proxies);
        json_object_object_add(o, "addresses", addrs);
        json_object_object_add(o, "mapping", mapping);
        add_str(o, "status", mapped > 0 ? "Active" : "Inactive");
        emit(g, o);
        free(p);
}

static void on_assigned_ips(FzgwGateway *g, Client *c, const uint8_t *body, size_t len) {
        FzgwAssignedIps a;
        const FzgwAuthorization *auth;
        Pending *p;
        size_t kept = 0;
        int r;

        if (fzgw_p2p_parse_assigned_ips(body, len, &a) < 0) {
                log_info("Client %s: ignoring a malformed assigned-IPs announcement.", c->info.id);
                return;
        }
        auth = fzgw_policy_find(&c->policy, a.resource);
        if (!auth || auth->resource.type != FZGW_RESOURCE_DNS) {
                log_info("Client %s: proxy IPs for %s, but resource %s is not a DNS resource it is "
                         "authorized for; "
                         "ignoring.",
                         c->info.id, a.domain, a.resource);
                return;
        }
        /* Only proxy IPs from the client's DNS proxy ranges (DESIGN §7.1): anything else could
         * shadow a real address. */
        for (size_t i = 0; i < a.n_proxy_ips; i++)
                if (in_ranges(g->proxy_ranges, ELEMENTSOF(g->proxy_ranges), &a.proxy_ips[i]))
                        a.proxy_ips[kept++] = a.proxy_ips[i];
        if (kept < a.n_proxy_ips)
                log_info("Client %s: %zu proxy IPs for %s are outside the DNS proxy ranges; ignored.",
                         c->info.id, a.n_proxy_ips - kept, a.domain);
        a.n_proxy_ips = kept;
        if (kept == 0 || !fzd_dns_pattern_matches(&auth->resource.pattern, a.domain)) {
                log_info("Client %s: %s is not a name of resource %s (%s): Inactive.", c->info.id, a.domain,
                         a.resource, auth->resource.address);
                send_domain_status(g, c, a.resource, a.domain, false);
                return;
        }
        if (pending_find(g, c->cookie, a.domain))
                return; /* asked again while we look it up: the answer is on its way */
        p = calloc(1, sizeof *p);
        if (!p)
                return;
        p->cookie = c->cookie;
        p->a = a;
        r = fzgw_resolver_submit(g->resolver, (uint64_t) (uintptr_t) p, a.domain);
        if (r < 0) {
                log_warning_errno(r, "Client %s: cannot look up %s now: %m", c->info.id, a.domain);
                free(p);
                return;
        }
        p->next = g->pending;
        g->pending = p;
        c->resolutions++;
}

static void on_p2p_control(void *userdata, FzdDpPeer *peer, const uint8_t *packet, size_t len) {
        FzgwGateway *g = userdata;
        Client *c = client_by_peer(g, peer);
        const uint8_t *body;
        size_t body_len;
        uint8_t event;

        if (!c || fzgw_p2p_parse(packet, len, &event, &body, &body_len) < 0)
                return;
        switch (event) {
        case FZGW_P2P_ASSIGNED_IPS:
                on_assigned_ips(g, c, body, body_len);
                return;
        case FZGW_P2P_GOODBYE: {
                size_t n;
                pthread_rwlock_wrlock(&g->policy_lock);
                n = fzgw_policy_unmap(&c->policy, NULL);
                pthread_rwlock_unlock(&g->policy_lock);
                nat_forget(g, c->cookie, 0, NULL);
                log_info("Client %s said goodbye: %zu proxy IPs dropped.", c->info.id, n);
                {
                        json_object *o = event_new("goodbye");
                        add_str(o, "client_id", c->info.id);
                        emit(g, o);
                }
                return;
        }
        default:
                log_debug("Client %s: ignoring in-tunnel control event %u.", c->info.id, event);
                return;
        }
}

/* A client's tunnel address outside the ranges routed into the TUN (the local portal's, for
 * one, are not all inside fd00:2021:1111::/107): a host route of its own, so that answers
 * reach it. */
static void client_route(FzgwGateway *g, const FzgwIp *ip, bool add) {
        _cleanup_(fzd_nl_batch_freep) FzdNlBatch *b = NULL;
        FzdCidr host;
        char s[FZGW_IP_STRLEN];

        if (ip->family == 0 || !g->nl || in_ranges(g->tunnel_ranges, ELEMENTSOF(g->tunnel_ranges), ip))
                return;
        if (fzd_cidr_from_address(ip->family, ip->a, ip->family == AF_INET ? 32 : 128, &host) < 0 ||
            fzd_nl_batch_new(&b) < 0 ||
            fzd_rtnl_put_route(b, add ? RTM_NEWROUTE : RTM_DELROUTE, g->tun_ifindex, RT_TABLE_MAIN, &host) <
                    0)
                return;
        if (fzd_netlink_commit(g->nl, b) >= 0)
                log_debug("Route to %s %s %s.", fzgw_ip_format(ip, s), add ? "into" : "out of",
                          g->config.tun_name);
}

/* ---- relays ---------------------------------------------------------------------------------------- */

static Relay *relay_find(FzgwGateway *g, const char *id, int family) {
        for (size_t i = 0; i < g->n_relays; i++)
                if (strcmp(g->relays[i].id, id) == 0 && g->relays[i].addr.family == family)
                        return &g->relays[i];
        return NULL;
}

static void relay_remove_id(FzgwGateway *g, const char *id) {
        bool found = false;

        for (size_t i = 0; i < g->n_relays;) {
                if (strcmp(g->relays[i].id, id) == 0) {
                        FzdDpAddr a = dp_addr(&g->relays[i].addr);
                        (void) fzd_dataplane_relay_remove(g->dp, &a);
                        g->relays[i] = g->relays[--g->n_relays];
                        found = true;
                } else
                        i++;
        }
        if (found) {
                log_info("Relay %s: no longer used.", id);
                (void) fzd_ice_remove_relay(g->ice, id, now_usec(g));
        }
}

static int relay_upsert(FzgwGateway *g, const FzgwRelayEntry *e) {
        uint64_t now = now_usec(g);
        FzdIceRelay r = {
                .id = e->id,
                .addr = e->addr,
                .username = e->username,
                .password = e->password,
                .expires_at = e->expires_at > 0 ? fzd_ice_unix_to_monotonic((uint64_t) e->expires_at, now,
                                                                            realtime_usec())
                                                : 0,
        };
        Relay *known = relay_find(g, e->id, e->addr.family);
        FzdDpAddr a = dp_addr(&e->addr);
        char buf[FZD_ADDR_STRLEN];
        int k;

        if (!known && g->n_relays >= ELEMENTSOF(g->relays))
                return -ENOSPC;
        k = fzd_ice_upsert_relay(g->ice, &r, now);
        if (k < 0)
                return log_warning_errno(k, "Relay %s (%s): refused: %m", e->id,
                                         fzd_addr_format(&e->addr, buf));
        if (known && !fzd_addr_eq(&known->addr, &e->addr)) {
                FzdDpAddr old = dp_addr(&known->addr);
                (void) fzd_dataplane_relay_remove(g->dp, &old);
        }
        if (!known) {
                known = &g->relays[g->n_relays++];
                snprintf(known->id, sizeof known->id, "%s", e->id);
        }
        known->addr = e->addr;
        (void) fzd_dataplane_relay_add(g->dp, &a);
        if (k > 0) {
                log_info("Relay %s: using %s.", e->id, fzd_addr_format(&e->addr, buf));
                g->no_relays_announced = false;
        }
        return 0;
}

static void relays_changed(FzgwGateway *g) {
        if (g->n_relays == 0)
                announce_no_relays(g);
}

/* ---- orders ---------------------------------------------------------------------------------------- */

static int fail(char *err, int r, const char *message) {
        snprintf(err, FZGW_ERROR_MAX, "%s", message);
        return r < 0 ? r : -EINVAL;
}

static int tun_setup(FzgwGateway *g, const FzgwOrder *o, char *err) {
        FzdNetlink *nl = g->nl;
        const FzgwIp *ips[2] = { &o->iface_ipv4, &o->iface_ipv6 };
        bool any = false;
        int r;

        {
                _cleanup_(fzd_nl_batch_freep) FzdNlBatch *b = NULL;
                if (fzd_nl_batch_new(&b) < 0 || fzd_rtnl_put_link_up(b, g->tun_ifindex, g->config.mtu) < 0)
                        return fail(err, -ENOMEM, "out of memory");
                r = fzd_netlink_commit(nl, b);
                if (r < 0)
                        return fail(err, r, "cannot bring the TUN up");
        }
        /* One family at a time: a gateway without IPv6 still serves IPv4. */
        for (size_t f = 0; f < 2; f++) {
                _cleanup_(fzd_nl_batch_freep) FzdNlBatch *b = NULL;
                FzdCidr addr, range;
                char s[FZGW_IP_STRLEN];

                if (ips[f]->family == 0)
                        continue;
                if (fzd_nl_batch_new(&b) < 0 ||
                    fzd_cidr_from_address(ips[f]->family, ips[f]->a, f == 0 ? 32 : 128, &addr) < 0 ||
                    fzd_cidr_parse(tunnel_ranges[f], false, &range) < 0 ||
                    fzd_rtnl_put_addr(b, RTM_NEWADDR, g->tun_ifindex, &addr) < 0 ||
                    fzd_rtnl_put_route(b, RTM_NEWROUTE, g->tun_ifindex, RT_TABLE_MAIN, &range) < 0)
                        return fail(err, -ENOMEM, "cannot build the TUN's addresses and routes");
                r = fzd_netlink_commit(nl, b);
                if (r < 0) {
                        log_warning_errno(r, "No IPv%c through the tunnel (%s): %m", f == 0 ? '4' : '6',
                                          fzgw_ip_format(ips[f], s));
                        continue;
                }
                log_info("%s: %s, clients' %s routed into it.", g->config.tun_name,
                         fzgw_ip_format(ips[f], s), tunnel_ranges[f]);
                any = true;
        }
        if (!any)
                return fail(err, -EADDRNOTAVAIL, "cannot give the TUN any of the interface's addresses");
        return 0;
}

static bool auth_listed(const FzgwOrder *o, const char *client_id, const char *resource_id,
                        int64_t *ret_expires) {
        for (size_t i = 0; i < o->n_auths; i++)
                if (strcmp(o->auths[i].client_id, client_id) == 0 &&
                    strcmp(o->auths[i].resource_id, resource_id) == 0) {
                        *ret_expires = o->auths[i].expires_at;
                        return true;
                }
        return false;
}

static int op_init(FzgwGateway *g, const FzgwOrder *o, json_object *answer, char *err) {
        size_t dropped = 0;
        int r;

        if (!g->initialized) {
                r = tun_setup(g, o, err);
                if (r < 0)
                        return r;
                g->initialized = true;
        }
        /* The portal's relays replace ours. */
        for (size_t i = 0; i < g->n_relays;) {
                bool listed = false;
                for (size_t k = 0; k < o->n_relays && !listed; k++)
                        listed = strcmp(o->relays[k].id, g->relays[i].id) == 0;
                if (!listed)
                        relay_remove_id(g, g->relays[i].id); /* moves another one into i */
                else
                        i++;
        }
        for (size_t k = 0; k < o->n_relays; k++)
                (void) relay_upsert(g, &o->relays[k]);
        relays_changed(g);
        /* Firezone's retain_authorizations: after an outage the portal's list is the truth. */
        for (size_t i = 0; i < MAX_CLIENTS; i++) {
                Client *c = g->slots[i];
                if (!c)
                        continue;
                pthread_rwlock_wrlock(&g->policy_lock);
                for (size_t k = 0; k < c->policy.n_auths;) {
                        int64_t expires;
                        FzgwAuthorization *a = &c->policy.auths[k];
                        if (auth_listed(o, c->info.id, a->resource.id, &expires)) {
                                a->expires_at = (uint64_t) expires;
                                k++;
                        } else {
                                (void) fzgw_policy_revoke(&c->policy, a->resource.id);
                                dropped++;
                        }
                }
                pthread_rwlock_unlock(&g->policy_lock);
                if (c->policy.n_auths == 0)
                        client_free(g, c, "closed", "no authorization left after init");
        }
        json_object_object_add(answer, "authorizations_dropped", json_object_new_int64((int64_t) dropped));
        return 0;
}

static int op_relays(FzgwGateway *g, const FzgwOrder *o, char *err) {
        for (size_t i = 0; i < o->n_disconnected; i++)
                relay_remove_id(g, o->disconnected[i]);
        for (size_t i = 0; i < o->n_relays; i++)
                (void) relay_upsert(g, &o->relays[i]);
        relays_changed(g);
        return 0;
}

static bool same_ip(const FzgwIp *a, const FzgwIp *b) {
        return a->family != 0 && fzgw_ip_eq(a, b);
}

static int client_new(FzgwGateway *g, const FzgwOrder *o, Client **ret, char *err) {
        const FzgwClientInfo *info = &o->client;
        FzdIceAgentConfig ac = {
                .controlling = false, /* the gateway's role (Firezone's gateway.rs) */
                .local_ufrag = o->local_ice.username,
                .local_pwd = o->local_ice.password,
                .remote_ufrag = o->remote_ice.username,
                .remote_pwd = o->remote_ice.password,
        };
        const FzgwIp *ips[2] = { &info->ipv4, &info->ipv6 };
        unsigned slot = MAX_CLIENTS;
        Client *c;
        int r;

        for (size_t i = 0; i < MAX_CLIENTS; i++) {
                Client *other = g->slots[i];
                if (!other) {
                        if (slot == MAX_CLIENTS)
                                slot = (unsigned) i;
                        continue;
                }
                if (same_ip(&other->info.ipv4, &info->ipv4) || same_ip(&other->info.ipv6, &info->ipv6))
                        return fail(err, -EADDRINUSE, "another client has that tunnel address");
        }
        if (slot == MAX_CLIENTS)
                return fail(err, -ENOSPC, "too many clients");
        c = calloc(1, sizeof *c);
        if (!c)
                return fail(err, -ENOMEM, "out of memory");
        c->info = *info;
        c->cookie = (++g->generation << 16) | slot;
        c->started = now_usec(g);
        r = fzd_dataplane_peer_add(g->dp, info->public_key, info->psk, false, c, &c->peer);
        if (r < 0) {
                free(c);
                return fail(err, r,
                            r == -EEXIST ? "another client has that public key"
                                         : "the public key is not usable");
        }
        for (size_t f = 0; f < 2; f++) {
                if (ips[f]->family == 0)
                        continue;
                r = fzd_dataplane_route_add(g->dp, ips[f]->family, ips[f]->a, f == 0 ? 32 : 128, c->peer,
                                            c->cookie);
                if (r < 0) {
                        fzd_dataplane_peer_remove(g->dp, c->peer);
                        free(c);
                        return fail(err, r, "cannot route the client's address");
                }
        }
        r = fzd_ice_add_agent(g->ice, &ac, c, now_usec(g), &c->agent);
        if (r < 0) {
                fzd_dataplane_peer_remove(g->dp, c->peer);
                free(c);
                return fail(err, r, "the ICE credentials are not usable");
        }
        for (size_t f = 0; f < 2; f++)
                client_route(g, ips[f], true);
        pthread_rwlock_wrlock(&g->policy_lock);
        g->slots[slot] = c;
        g->n_clients++;
        pthread_rwlock_unlock(&g->policy_lock);
        *ret = c;
        return 0;
}

static int op_authorize(FzgwGateway *g, const FzgwOrder *o, char *err) {
        Client *c = client_by_id(g, o->client.id);
        bool fresh = false;
        int r;

        if (!g->initialized)
                return fail(err, -ENOTCONN, "no init yet");
        if (c &&
            (memcmp(c->info.public_key, o->client.public_key, FZD_WG_KEY_LEN) != 0 ||
             memcmp(c->info.psk, o->client.psk, FZD_WG_KEY_LEN) != 0 ||
             !fzgw_ip_eq(&c->info.ipv4, &o->client.ipv4) || !fzgw_ip_eq(&c->info.ipv6, &o->client.ipv6))) {
                /* A restarted client (a new key): a new connection (its authorizations go with
                 * the old one; the portal authorizes again what the new one asks for). */
                client_free(g, c, "closed", "the client restarted");
                c = NULL;
        }
        if (!c) {
                r = client_new(g, o, &c, err);
                if (r < 0)
                        return r;
                fresh = true;
        }
        pthread_rwlock_wrlock(&g->policy_lock);
        r = fzgw_policy_authorize(&c->policy, &o->resource, (uint64_t) o->expires_at);
        pthread_rwlock_unlock(&g->policy_lock);
        if (r < 0) {
                if (fresh)
                        client_free(g, c, NULL, "authorization failed");
                return fail(err, r,
                            r == -ENOSPC ? "too many authorizations for this client" : "out of memory");
        }
        log_info("Client %s: authorized for %s resource %s (%s)%s.", c->info.id,
                 fzgw_resource_type_to_string(o->resource.type), o->resource.id, o->resource.address,
                 fresh ? ", new connection" : "");
        if (fresh)
                emit_connection(g, c, "connecting", NULL);
        else if (c->n_local > 0) {
                /* The client may have a new agent with the same credentials (its connection
                 * failed on its side): it needs our candidates again. Duplicates are harmless. */
                for (size_t i = 0; i < c->n_local; i++)
                        queue_candidate(&c->new_cands, c->local_cands[i]);
        }
        return 0;
}

static int op_candidates(FzgwGateway *g, const FzgwOrder *o, char *err) {
        Client *c = client_by_id(g, o->client_id);
        uint64_t now = now_usec(g);

        if (!c)
                return fail(err, -ENOENT, "unknown client");
        for (size_t i = 0; i < o->n_candidates; i++) {
                const char *why = NULL;
                int r;
                if (o->op == FZGW_OP_REMOTE_CANDIDATES) {
                        r = fzd_ice_add_remote_candidate(g->ice, c->agent, o->candidates[i], now, &why);
                        if (r == 0) {
                                bool known = false;
                                for (size_t k = 0; k < c->n_remote && !known; k++)
                                        known = strcmp(c->remote_cands[k], o->candidates[i]) == 0;
                                if (!known && c->n_remote < FZD_ICE_MAX_REMOTE_CANDIDATES)
                                        snprintf(c->remote_cands[c->n_remote++], FZD_ICE_CANDIDATE_MAX, "%s",
                                                 o->candidates[i]);
                        }
                } else
                        r = fzd_ice_remove_remote_candidate(g->ice, c->agent, o->candidates[i], now, &why);
                if (r < 0)
                        log_info("Client %s: skipping candidate \"%s\": %s", c->info.id, o->candidates[i],
                                 why ? why : strerror(-r));
        }
        return 0;
}

static int op_reject_access(FzgwGateway *g, const FzgwOrder *o, char *err) {
        Client *c = client_by_id(g, o->client_id);
        bool revoked;

        if (!c)
                return fail(err, -ENOENT, "unknown client");
        pthread_rwlock_wrlock(&g->policy_lock);
        revoked = fzgw_policy_revoke(&c->policy, o->resource_id);
        pthread_rwlock_unlock(&g->policy_lock);
        if (!revoked)
                return fail(err, -ENOENT, "the client has no such authorization");
        log_info("Client %s: access to %s rejected.", c->info.id, o->resource_id);
        if (c->policy.n_auths == 0)
                client_free(g, c, "closed", "access rejected");
        return 0;
}

static int op_resource_updated(FzgwGateway *g, const FzgwOrder *o, json_object *answer) {
        size_t n = 0;

        pthread_rwlock_wrlock(&g->policy_lock);
        for (size_t i = 0; i < MAX_CLIENTS; i++)
                if (g->slots[i])
                        n += fzgw_policy_update_filters(&g->slots[i]->policy, &o->resource);
        pthread_rwlock_unlock(&g->policy_lock);
        log_info("Resource %s: new filters (%zu) for %zu authorizations.", o->resource.id,
                 o->resource.n_filters, n);
        json_object_object_add(answer, "updated", json_object_new_int64((int64_t) n));
        return 0;
}

static void op_stats(FzgwGateway *g, json_object *answer) {
        json_object *conns = json_object_new_array(), *relays = json_object_new_array(), *dp;
        FzdDpStats s;

        for (size_t i = 0; i < MAX_CLIENTS; i++) {
                Client *c = g->slots[i];
                FzdWgPeerStats ws;
                json_object *o, *auths;
                if (!c)
                        continue;
                fzd_wg_peer_get_stats(fzd_dp_peer_wireguard(c->peer), &ws);
                o = json_object_new_object();
                add_str(o, "client_id", c->info.id);
                add_str(o, "state", state_name(c->state));
                json_object_object_add(o, "path", path_json(c));
                json_object_object_add(o, "rx_bytes", json_object_new_int64((int64_t) ws.rx_bytes));
                json_object_object_add(o, "tx_bytes", json_object_new_int64((int64_t) ws.tx_bytes));
                json_object_object_add(o, "handshakes", json_object_new_int64((int64_t) ws.handshakes));
                auths = json_object_new_array();
                for (size_t k = 0; k < c->policy.n_auths; k++)
                        json_object_array_add(auths, json_object_new_string(c->policy.auths[k].resource.id));
                json_object_object_add(o, "authorizations", auths);
                json_object_object_add(o, "proxy_ips", json_object_new_int64((int64_t) c->policy.n_maps));
                json_object_array_add(conns, o);
        }
        for (size_t i = 0; i < g->n_relays; i++) {
                bool dup = false;
                for (size_t k = 0; k < i && !dup; k++)
                        dup = strcmp(g->relays[k].id, g->relays[i].id) == 0;
                if (!dup)
                        json_object_array_add(relays, json_object_new_string(g->relays[i].id));
        }
        json_object_object_add(answer, "connections", conns);
        json_object_object_add(answer, "relays", relays);
        fzd_dataplane_get_stats(g->dp, &s);
        dp = json_object_new_object();
#define DP(f) json_object_object_add(dp, #f, json_object_new_int64((int64_t) s.f))
        DP(tun_packets);
        DP(udp_datagrams);
        DP(udp_rx_datagrams);
        DP(tun_rx_packets);
        DP(decrypt_failed);
        DP(not_allowed);
        DP(no_route);
        DP(no_session);
        DP(inbound_refused);
        DP(queue_overflow);
        DP(send_errors);
#undef DP
        pthread_mutex_lock(&g->nat_lock);
        json_object_object_add(dp, "nat_flows", json_object_new_int64((int64_t) fzgw_nat_count(g->nat)));
        pthread_mutex_unlock(&g->nat_lock);
        json_object_object_add(answer, "dataplane", dp);
}

void fzgw_gateway_handle_line(FzgwGateway *g, const char *line, size_t len) {
        char err[FZGW_ERROR_MAX] = "";
        json_object *answer;
        FzgwOrder o;
        int r;

        r = fzgw_order_parse(line, len, &o, err);
        answer = json_object_new_object();
        if (r >= 0) {
                switch (o.op) {
                case FZGW_OP_INIT:
                        r = op_init(g, &o, answer, err);
                        break;
                case FZGW_OP_RELAYS:
                        r = op_relays(g, &o, err);
                        break;
                case FZGW_OP_AUTHORIZE:
                        r = op_authorize(g, &o, err);
                        break;
                case FZGW_OP_REMOTE_CANDIDATES:
                case FZGW_OP_INVALIDATE_REMOTE_CANDIDATES:
                        r = op_candidates(g, &o, err);
                        break;
                case FZGW_OP_REJECT_ACCESS:
                        r = op_reject_access(g, &o, err);
                        break;
                case FZGW_OP_RESOURCE_UPDATED:
                        r = op_resource_updated(g, &o, answer);
                        break;
                case FZGW_OP_STATS:
                        op_stats(g, answer);
                        break;
                default:
                        r = fail(err, -EINVAL, "unknown op");
                        break;
                }
        }
        if (r < 0)
                log_warning("Order %s%s refused: %s", fzgw_op_to_string(o.op), o.has_id ? "" : " (no id)",
                            err[0] ? err : strerror(-r));
        if (o.has_id) {
                json_object_object_add(answer, "event", json_object_new_string(r < 0 ? "error" : "ok"));
                json_object_object_add(answer, "id", json_object_new_int64(o.id));
                if (r < 0) {
                        /* The answer carries only what the error says. */
                        json_object_put(answer);
                        answer = event_new("error");
                        json_object_object_add(answer, "id", json_object_new_int64(o.id));
                        add_str(answer, "message", err[0] ? err : strerror(-r));
                }
                emit(g, answer);
        } else
                json_object_put(answer);
        fzgw_order_done(&o);
        ice_flush(g);
}

/* ---- housekeeping (main loop, once a second) -------------------------------------------------------- */

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        FzgwGateway *g = userdata;
        uint64_t now = now_usec(g), unix_now = realtime_usec() / USEC_PER_SEC;

        for (size_t i = 0; i < MAX_CLIENTS; i++) {
                Client *c = g->slots[i];
                FzdWgPeerStats ws;
                size_t expired = 0;
                if (!c)
                        continue;
                /* Authorizations end at expires_at. */
                pthread_rwlock_wrlock(&g->policy_lock);
                for (size_t k = 0; k < c->policy.n_auths;) {
                        FzgwAuthorization *a = &c->policy.auths[k];
                        if (a->expires_at != 0 && a->expires_at <= unix_now) {
                                log_info("Client %s: the authorization for %s expired.", c->info.id,
                                         a->resource.id);
                                (void) fzgw_policy_revoke(&c->policy, a->resource.id);
                                expired++;
                        } else
                                k++;
                }
                pthread_rwlock_unlock(&g->policy_lock);
                if (expired > 0 && c->policy.n_auths == 0) {
                        client_free(g, c, "closed", "authorization expired");
                        continue;
                }
                /* WireGuard traffic keeps ICE out of its idle timing (docs/ice.md). */
                fzd_wg_peer_get_stats(fzd_dp_peer_wireguard(c->peer), &ws);
                if (ws.rx_bytes != c->rx_bytes || ws.tx_bytes != c->tx_bytes) {
                        c->rx_bytes = ws.rx_bytes;
                        c->tx_bytes = ws.tx_bytes;
                        fzd_ice_agent_note_traffic(c->agent, now);
                }
        }
        pthread_mutex_lock(&g->nat_lock);
        (void) fzgw_nat_expire(g->nat, now_sec(), flow_ended, g);
        fzgw_nat_foreach(g->nat, flow_announce, g);
        pthread_mutex_unlock(&g->nat_lock);
        ice_flush(g);
        (void) sd_event_source_set_time(s, now + TICK_USEC);
        return 0;
}

/* ---- set-up and tear-down ----------------------------------------------------------------------------- */

/* The address the kernel would send from towards the Internet (the default route's), per
 * family: what clients can reach (through NAT). No packet is sent. */
static bool default_route_source(int family, FzgwIp *ret) {
        static const char *const probe[] = { "192.0.2.1", "2001:db8::1" };
        struct sockaddr_storage ss = {}, local = {};
        socklen_t len = sizeof local;
        FzdAddr a;
        int fd;

        if (fzd_addr_parse_ip(probe[family == AF_INET6], &a) < 0)
                return false;
        a.port = 9;
        fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return false;
        if (connect(fd, (struct sockaddr *) &ss, fzd_addr_to_sockaddr(&a, &ss)) < 0 ||
            getsockname(fd, (struct sockaddr *) &local, &len) < 0) {
                close(fd);
                return false;
        }
        close(fd);
        if (fzd_addr_from_sockaddr((struct sockaddr *) &local, len, &a) < 0 || fzd_addr_is_unspecified(&a))
                return false;
        *ret = (FzgwIp){ .family = a.family };
        memcpy(ret->a, a.ip, 16);
        return true;
}

static bool usable_host(const FzgwIp *ip) {
        if (ip->family == AF_INET)
                return ip->a[0] != 127 && !(ip->a[0] == 169 && ip->a[1] == 254);
        return !(ip->a[0] == 0xfe && (ip->a[1] & 0xc0) == 0x80) && !(ip->a[0] == 0 && ip->a[15] <= 1);
}

static void add_host(FzgwGateway *g, FzdAddr *list, size_t *n, const FzgwIp *ip) {
        FzdAddr a = { .family = (uint8_t) ip->family, .port = g->udp_port[ip->family == AF_INET6] };

        if (g->udp_fd[ip->family == AF_INET6] < 0 || !usable_host(ip) || *n >= FZD_ICE_MAX_HOSTS)
                return;
        memcpy(a.ip, ip->a, fzgw_ip_len(ip->family));
        for (size_t i = 0; i < *n; i++)
                if (fzd_addr_eq(&list[i], &a))
                        return;
        list[(*n)++] = a;
}

static int set_host_candidates(FzgwGateway *g) {
        FzdAddr hosts[FZD_ICE_MAX_HOSTS];
        size_t n = 0;
        char buf[FZD_ADDR_STRLEN];
        FzgwIp ip;

        for (int f = 0; f < 2; f++)
                if (default_route_source(f ? AF_INET6 : AF_INET, &ip))
                        add_host(g, hosts, &n, &ip);
        for (size_t i = 0; i < g->config.n_host_candidates; i++)
                add_host(g, hosts, &n, &g->config.host_candidates[i]);
        if (g->config.all_interfaces) {
                struct ifaddrs *ifa;
                if (getifaddrs(&ifa) == 0) {
                        for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
                                if (!i->ifa_addr || strcmp(i->ifa_name, g->config.tun_name) == 0)
                                        continue;
                                if (i->ifa_addr->sa_family == AF_INET)
                                        ip = fzgw_ip_make(
                                                AF_INET,
                                                (const uint8_t *) &((struct sockaddr_in *) i->ifa_addr)
                                                        ->sin_addr);
                                else if (i->ifa_addr->sa_family == AF_INET6)
                                        ip = fzgw_ip_make(
                                                AF_INET6,
                                                (const uint8_t *) &((struct sockaddr_in6 *) i->ifa_addr)
                                                        ->sin6_addr);
                                else
                                        continue;
                                add_host(g, hosts, &n, &ip);
                        }
                        freeifaddrs(ifa);
                }
        }
        for (size_t i = 0; i < n; i++)
                log_info("Host candidate %s.", fzd_addr_format(&hosts[i], buf));
        return fzd_ice_set_host_candidates(g->ice, hosts, n, now_usec(g));
}

int fzgw_gateway_new(sd_event *event, const FzgwGatewayConfig *config, FzgwEmitFn emit_fn, void *userdata,
                     FzgwGateway **ret) {
        FzdDataplaneConfig dc = { .mtu = config->mtu,
                                  .tun_vnet_hdr = true,
                                  .udp4_fd = -1,
                                  .udp6_fd = -1,
                                  .disable_offloads = config->disable_offloads };
        FzdIceConfig ic = { .learn_host_candidates = true, .software = "fzgw-dataplane/" FZGW_VERSION };
        FzgwGateway *g;
        int r;

        g = calloc(1, sizeof *g);
        if (!g)
                return log_oom();
        g->event = sd_event_ref(event);
        g->config = *config;
        g->emit = emit_fn;
        g->emit_userdata = userdata;
        g->tun_fd = g->udp_fd[0] = g->udp_fd[1] = -EBADF;
        {
                /* Writers first: two workers reading per packet must not starve the loop. */
                pthread_rwlockattr_t attr;
                pthread_rwlockattr_init(&attr);
                pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
                pthread_rwlock_init(&g->policy_lock, &attr);
                pthread_rwlockattr_destroy(&attr);
        }
        pthread_mutex_init(&g->nat_lock, NULL);
        for (size_t i = 0; i < 2; i++) {
                (void) fzd_cidr_parse(proxy_ranges[i], false, &g->proxy_ranges[i]);
                (void) fzd_cidr_parse(tunnel_ranges[i], false, &g->tunnel_ranges[i]);
        }
        r = fzd_netlink_open(&g->nl);
        if (r < 0) {
                log_error_errno(r, "Cannot open rtnetlink: %m");
                goto fail;
        }

        r = fzgw_nat_new(NAT_MAX_FLOWS, &g->nat);
        if (r < 0)
                goto fail;
        r = fzd_tun_create_with(config->tun_name, FZD_TUN_VNET_HDR, &g->tun_fd, &g->tun_ifindex);
        if (r < 0) {
                log_error_errno(r, "Cannot create %s: %m", config->tun_name);
                goto fail;
        }
        r = fzd_dp_udp_open(AF_INET, config->port, true, 0, 0, &g->udp_fd[0], &g->udp_port[0]);
        if (r < 0)
                log_warning_errno(r, "No IPv4 socket: %m");
        r = fzd_dp_udp_open(AF_INET6, g->udp_fd[0] >= 0 ? g->udp_port[0] : config->port, true, 0, 0,
                            &g->udp_fd[1], &g->udp_port[1]);
        if (r < 0)
                log_info_errno(r, "No IPv6 socket: %m");
        if (g->udp_fd[0] < 0 && g->udp_fd[1] < 0) {
                r = -EAFNOSUPPORT;
                goto fail;
        }
        log_info("Sockets on port %u (IPv4) and %u (IPv6).", g->udp_port[0], g->udp_port[1]);

        dc.tun_fd = g->tun_fd;
        dc.udp4_fd = g->udp_fd[0];
        dc.udp6_fd = g->udp_fd[1];
        fzd_wg_timers_firezone(&dc.timers);
        /* A new process, a new key (README): it never leaves this process. */
        if (getrandom(dc.private_key, sizeof dc.private_key, 0) != sizeof dc.private_key) {
                r = -errno;
                goto fail;
        }
        fzd_wg_clamp(dc.private_key);
        r = fzd_dataplane_new(event, &dc,
                              &(FzdDpCallbacks){
                                      .datagram = on_datagram,
                                      .packet = on_packet,
                                      .peer_event = on_peer_event,
                                      .p2p_control = on_p2p_control,
                                      .outbound = hook_outbound,
                                      .inbound = hook_inbound,
                                      .inbound_refused = on_inbound_refused,
                              },
                              g, &g->dp);
        fzd_wg_wipe(dc.private_key, sizeof dc.private_key);
        if (r < 0)
                goto fail;
        fzd_wg_key_to_base64(g->public_key, fzd_dataplane_public_key(g->dp));

        ic.log = on_ice_log;
        ic.log_userdata = g;
        r = fzd_ice_new(&ic, &g->ice);
        if (r < 0)
                goto fail;
        /* Accuracy 1 µs: sd-event's default would delay paced checks by up to 250 ms. */
        r = sd_event_add_time(event, &g->ice_timer, CLOCK_MONOTONIC, UINT64_MAX, 1, on_ice_timer, g);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(g->ice_timer, "ice");
        r = sd_event_add_time_relative(event, &g->tick, CLOCK_MONOTONIC, TICK_USEC, USEC_PER_MSEC * 100,
                                       on_tick, g);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_enabled(g->tick, SD_EVENT_ON);
        (void) sd_event_source_set_description(g->tick, "housekeeping");
        r = fzgw_resolver_new(event, RESOLVER_THREADS, on_resolved, g, &g->resolver);
        if (r < 0)
                goto fail;
        r = set_host_candidates(g);
        if (r < 0)
                log_warning_errno(r, "Cannot use the host candidates: %m");
        r = fzd_dataplane_start(g->dp);
        if (r < 0)
                goto fail;
        *ret = g;
        return 0;
fail:
        fzgw_gateway_free(g);
        return r;
}

json_object *fzgw_gateway_ready_event(FzgwGateway *g) {
        json_object *o = event_new("ready");

        add_str(o, "public_key", g->public_key);
        add_str(o, "version", FZGW_VERSION);
        json_object_object_add(o, "port",
                               json_object_new_int(g->udp_port[0] ? g->udp_port[0] : g->udp_port[1]));
        json_object_object_add(o, "pid", json_object_new_int(getpid()));
        return o;
}

FzgwGateway *fzgw_gateway_free(FzgwGateway *g) {
        if (!g)
                return NULL;
        for (size_t i = 0; i < MAX_CLIENTS; i++)
                if (g->slots[i])
                        client_free(g, g->slots[i], "closed", "the gateway is stopping");
        if (g->ice) {
                FzdIceTransmit t;
                /* Release the allocations (Refresh with lifetime 0) while the sockets exist. */
                fzd_ice_release(g->ice, now_usec(g));
                while (fzd_ice_poll_transmit(g->ice, &t))
                        if (g->dp)
                                send_transmit(g, &t);
                g->ice = fzd_ice_free(g->ice);
        }
        g->resolver = fzgw_resolver_free(g->resolver);
        while (g->pending) {
                Pending *p = g->pending;
                g->pending = p->next;
                free(p);
        }
        g->dp = fzd_dataplane_free(g->dp);
        g->ice_timer = sd_event_source_disable_unref(g->ice_timer);
        g->tick = sd_event_source_disable_unref(g->tick);
        /* The TUN is not persistent: closing it removes it with its addresses and routes. */
        g->tun_fd = safe_close(g->tun_fd);
        g->udp_fd[0] = safe_close(g->udp_fd[0]);
        g->udp_fd[1] = safe_close(g->udp_fd[1]);
        g->nat = fzgw_nat_free(g->nat);
        g->nl = fzd_netlink_free(g->nl);
        pthread_rwlock_destroy(&g->policy_lock);
        pthread_mutex_destroy(&g->nat_lock);
        sd_event_unref(g->event);
        free(g);
        return NULL;
}
