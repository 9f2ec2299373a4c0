/* SPDX-License-Identifier: Apache-2.0 */
/* The client's connections to gateways (connections.h). All of it runs on the main loop;
 * the data plane's workers call filter_packet() only, which reads immutable filter sets.
 *
 * A packet the fast path could not send (no route, or no session yet) comes here:
 *   route_packet() → which resource (the gateway's own address, a proxy IP of a DNS
 *   resource, a CIDR resource by longest prefix, the Internet resource) → its filters →
 *   no gateway yet: buffered (ring of 128) and request_authorization (at once, then at most
 *   every 2 s while packets keep coming) → a gateway: a DNS resource's name first needs the
 *   gateway's NAT (event 0 out, event 1 "Active" back, packets held meanwhile); then the
 *   packet goes to the peer, staged by the data plane until WireGuard has a session.
 * authorization_created makes (or reuses) the gateway: a WireGuard peer and an ICE agent;
 * the ICE path becomes the peer's path, WireGuard handshakes, and the site is online. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <json-c/json.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "conn-packet.h"
#include "connections.h"
#include "dataplane.h"
#include "dp-routes.h"
#include "ice.h"
#include "list.h"
#include "log.h"
#include "proxy-ips.h"
#include "strmap.h"

#define TICK_USEC (500 * USEC_PER_MSEC)

static inline void json_object_putp(json_object **o) {
        if (*o)
                json_object_put(*o);
}

/* ---- packet rings --------------------------------------------------------------------------- */

/* A resource's held packets: one pointer while none are held (10,000 resources hold none). */
typedef struct RingData {
        unsigned cap, head, count;
        uint16_t *lens; /* after pkts[] */
        uint8_t *pkts[];
} RingData;

typedef struct Ring {
        RingData *d;
} Ring;

static unsigned ring_count(const Ring *r) {
        return r->d ? r->d->count : 0;
}

static void ring_clear(Ring *r) {
        RingData *d = r->d;

        if (!d)
                return;
        for (unsigned i = 0; i < d->count; i++)
                free(d->pkts[(d->head + i) % d->cap]);
        d->head = d->count = 0;
}

static void ring_done(Ring *r) {
        ring_clear(r);
        r->d = mfree(r->d);
}

/* Keeps the newest cap packets; an exact duplicate of one held is dropped (a retransmission
 * while we wait is no news). */
static void ring_push(Ring *r, unsigned cap, const uint8_t *p, size_t len) {
        RingData *d = r->d;
        uint8_t *copy;

        if (len > UINT16_MAX)
                return;
        if (!d) {
                d = calloc(1, sizeof *d + cap * (sizeof *d->pkts + sizeof *d->lens));
                if (!d)
                        return;
                d->cap = cap;
                d->lens = (uint16_t *) &d->pkts[cap];
                r->d = d;
        }
        for (unsigned i = 0; i < d->count; i++) {
                unsigned k = (d->head + i) % d->cap;
                if (d->lens[k] == len && memcmp(d->pkts[k], p, len) == 0)
                        return;
        }
        copy = malloc(len);
        if (!copy)
                return;
        memcpy(copy, p, len);
        if (d->count == d->cap) {
                free(d->pkts[d->head]);
                d->head = (d->head + 1) % d->cap;
                d->count--;
        }
        d->pkts[(d->head + d->count) % d->cap] = copy;
        d->lens[(d->head + d->count) % d->cap] = (uint16_t) len;
        d->count++;
}

/* Takes the packets out (oldest first) for fn; the ring is empty afterwards. */
static void ring_drain(Ring *r, void (*fn)(void *userdata, const uint8_t *p, size_t len), void *userdata) {
        RingData *d = r->d;

        r->d = NULL;
        if (!d)
                return;
        for (unsigned i = 0; i < d->count; i++) {
                unsigned k = (d->head + i) % d->cap;
                fn(userdata, d->pkts[k], d->lens[k]);
                free(d->pkts[k]);
        }
        free(d);
}

/* ---- state ------------------------------------------------------------------------------------ */

/* A resource's filters: immutable once routes point at them, so the workers read them
 * without locks; replaced ones are kept until the connections are freed. */
typedef struct Filters {
        LIST_FIELDS(struct Filters, retired);
        size_t n;
        FzdResourceFilter f[];
} Filters;

typedef struct Gateway Gateway;

/* One allocation each (10,000 resources are ~10,000 of these): the id lives after site[]. */
typedef struct Res {
        const char *id;
        FzdCidr cidr;
        size_t n_sites;
        Filters *filters; /* NULL: everything allowed */
        Gateway *gateway; /* authorized through it */
        Ring pending;
        uint64_t last_request;
        FzdResourceType type;
        FzdResourceIpStack ip_stack;
        bool has_cidr;
        bool routed; /* its CIDR (or the default routes) point at the gateway's peer */
        /* Resources with the same CIDR: the newest is c->lpm's value for it and the only one
         * routed (prefix_head); the others wait behind it, newest first, and take over in
         * turn when it goes (lpm_add(), lpm_remove()). */
        bool prefix_head;
        struct Res *same_prefix;
        struct Site *site[]; /* in c->sites, shared by the resources of a site */
} Res;

typedef enum NatState {
        NAT_PENDING,
        NAT_ACTIVE,
        NAT_INACTIVE,
} NatState;

/* The gateway's NAT for one name of a DNS resource (DESIGN §7.4). */
typedef struct Nat {
        LIST_FIELDS(struct Nat, nats);
        char name[256];
        char resource_id[FZD_CONN_ID_MAX + 1];
        FzdProxyAddresses addrs;
        bool v4, v6;
        NatState state;
        uint64_t last_sent;
        bool routed;
        Ring held;
} Nat;

struct Gateway {
        LIST_FIELDS(Gateway, gateways);
        FzdConnections *c;
        char id[FZD_CONN_ID_MAX + 1];
        char site_id[FZD_CONN_ID_MAX + 1];
        uint8_t public_key[32];
        FzdDpPeer *peer;
        FzdIceAgent *agent;
        bool has_path, wg_up;
        bool handshake_failed; /* closed at the next tick (not inside the WireGuard callback) */
        uint64_t seen_bytes;   /* WireGuard bytes both ways at the last tick */
        bool has_v4, has_v6;
        struct in_addr v4;
        struct in6_addr v6;
        Nat *nats;
};

typedef struct Site {
        char id[FZD_CONN_ID_MAX + 1];
        uint64_t offline_until; /* monotonic µs */
} Site;

typedef struct RelayAddr {
        char id[FZD_CONN_ID_MAX + 1];
        FzdDpAddr addr[2]; /* by family: v4, v6 */
        bool has[2];
} RelayAddr;

struct FzdConnections {
        sd_event *event;
        FzdConnEvents ev;
        void *userdata;
        FzdDataplane *dp;
        FzdIce *ice;
        FzdIceLog ice_log;
        sd_event_source *ice_timer, *tick_timer;
        FzdProxyIps *proxy_ips;
        char *tun_name;
        int udp_fd[2];

        FzdStrMap *resources; /* id → Res */
        FzdStrMap *sites;     /* id → Site */
        FzdStrMap *relays;    /* id → RelayAddr */
        FzdDpRoutes *lpm;     /* CIDR resources: prefix → Res */
        Res *internet;
        bool internet_enabled;
        Gateway *gateways;
        Filters *retired;
        FzdInterfaceConfig iface;

        uint64_t icmp_prohibited, dropped_unknown;
        unsigned status_dirty;
        uint64_t log_window;
        unsigned log_lines;
};

static uint64_t now_usec(FzdConnections *c) {
        uint64_t now = 0;

        if (sd_event_now(c->event, CLOCK_MONOTONIC, &now) < 0) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                now = (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
        }
        return now;
}

/* Per-packet log lines: at most 10 per 10 s. */
static bool log_allowed(FzdConnections *c) {
        uint64_t now = now_usec(c);

        if (now - c->log_window > 10 * USEC_PER_SEC) {
                c->log_window = now;
                c->log_lines = 0;
        }
        return c->log_lines++ < 10;
}

static int family_index(int family) {
        return family == AF_INET6;
}

static void mark_status_changed(FzdConnections *c) {
        c->status_dirty++;
}

static void flush_status(FzdConnections *c) {
        if (c->status_dirty == 0)
                return;
        c->status_dirty = 0;
        if (c->ev.status_changed)
                c->ev.status_changed(c->userdata);
}

/* ---- filters ---------------------------------------------------------------------------------- */

static bool filters_allow(const Filters *fs, const FzdPacketInfo *pi) {
        if (!fs || fs->n == 0)
                return true;
        for (size_t i = 0; i < fs->n; i++) {
                const FzdResourceFilter *f = &fs->f[i];
                if (f->protocol == FZD_PROTO_ICMP) {
                        if (pi->proto == FZD_PROTO_ICMP || pi->proto == FZD_PROTO_ICMPV6)
                                return true;
                } else if (f->protocol == pi->proto) {
                        /* A later fragment carries no ports: its first fragment was checked. */
                        if (!pi->has_ports || (pi->dport >= f->port_start && pi->dport <= f->port_end))
                                return true;
                }
        }
        return false;
}

/* Worker threads. */
static bool filter_packet(void *userdata, uint64_t cookie, const uint8_t *packet, size_t len) {
        const Filters *fs = (const Filters *) (uintptr_t) cookie;
        FzdPacketInfo pi;

        if (!fs)
                return true;
        if (fzd_packet_parse(packet, len, &pi) < 0)
                return false;
        return filters_allow(fs, &pi);
}

static uint64_t cookie_of(const Res *r) {
        return (uint64_t) (uintptr_t) r->filters;
}

static void answer_prohibited(FzdConnections *c, const uint8_t *p, size_t len) {
        uint8_t out[1280];
        ssize_t n = fzd_packet_icmp_prohibited(p, len, out, sizeof out);

        c->icmp_prohibited++;
        if (n > 0)
                (void) fzd_dataplane_write_tun(c->dp, out, (size_t) n);
}

/* ---- routes ----------------------------------------------------------------------------------- */

static void route_res(FzdConnections *c, Res *r, bool on) {
        Gateway *g = r->gateway;

        if (!g || r->routed == on)
                return;
        if (r->type == FZD_RESOURCE_CIDR && r->has_cidr) {
                /* A CIDR that a newer resource has too goes where that one goes. */
                if (on && !r->prefix_head)
                        return;
                if (on)
                        (void) fzd_dataplane_route_add(c->dp, r->cidr.family, &r->cidr.addr, r->cidr.prefixlen, g->peer,
                                                       cookie_of(r));
                else
                        (void) fzd_dataplane_route_remove(c->dp, r->cidr.family, &r->cidr.addr, r->cidr.prefixlen);
        } else if (r->type == FZD_RESOURCE_INTERNET) {
                static const uint8_t any[16] = {};
                if (on && !c->internet_enabled)
                        return;
                if (on) {
                        (void) fzd_dataplane_route_add(c->dp, AF_INET, any, 0, g->peer, cookie_of(r));
                        (void) fzd_dataplane_route_add(c->dp, AF_INET6, any, 0, g->peer, cookie_of(r));
                } else {
                        (void) fzd_dataplane_route_remove(c->dp, AF_INET, any, 0);
                        (void) fzd_dataplane_route_remove(c->dp, AF_INET6, any, 0);
                }
        } else
                return; /* DNS resources are routed per name, once the NAT is active */
        r->routed = on;
}

/* r's CIDR into c->lpm (which finds a packet's resource): r is its resource now; one that
 * had it before waits behind r and gives up its route. */
static void lpm_add(FzdConnections *c, Res *r) {
        void *before = NULL;

        if (fzd_dp_routes_add(c->lpm, r->cidr.family, &r->cidr.addr, r->cidr.prefixlen, r, 0, &before) < 0)
                return;
        r->prefix_head = true;
        r->same_prefix = before;
        if (r->same_prefix) {
                route_res(c, r->same_prefix, false);
                r->same_prefix->prefix_head = false;
        }
}

/* r's CIDR out of c->lpm — unless another resource has it too: then the one behind r takes
 * over (with its own gateway, if it has one, and its own filters), or r leaves the line. */
static void lpm_remove(FzdConnections *c, Res *r) {
        Res *next = r->same_prefix;
        void *head = NULL;

        r->same_prefix = NULL;
        if (!r->prefix_head) {
                if (fzd_dp_routes_get(c->lpm, r->cidr.family, &r->cidr.addr, r->cidr.prefixlen, &head))
                        for (Res *p = head; p; p = p->same_prefix)
                                if (p->same_prefix == r) {
                                        p->same_prefix = next;
                                        break;
                                }
                return;
        }
        r->prefix_head = false;
        if (!next) {
                (void) fzd_dp_routes_remove(c->lpm, r->cidr.family, &r->cidr.addr, r->cidr.prefixlen, NULL);
                return;
        }
        /* In r's place (the route is there: nothing to allocate, cannot fail). */
        (void) fzd_dp_routes_add(c->lpm, next->cidr.family, &next->cidr.addr, next->cidr.prefixlen, next, 0, NULL);
        next->prefix_head = true;
        route_res(c, next, true);
}

static void route_nat(FzdConnections *c, Gateway *g, Nat *n, bool on) {
        Res *r = fzd_strmap_get(c->resources, n->resource_id);

        if (n->routed == on)
                return;
        for (unsigned i = 0; i < FZD_PROXY_IPS_PER_FAMILY; i++) {
                if (n->v4) {
                        if (on)
                                (void) fzd_dataplane_route_add(c->dp, AF_INET, &n->addrs.v4[i], 32, g->peer,
                                                               r ? cookie_of(r) : 0);
                        else
                                (void) fzd_dataplane_route_remove(c->dp, AF_INET, &n->addrs.v4[i], 32);
                }
                if (n->v6) {
                        if (on)
                                (void) fzd_dataplane_route_add(c->dp, AF_INET6, &n->addrs.v6[i], 128, g->peer,
                                                               r ? cookie_of(r) : 0);
                        else
                                (void) fzd_dataplane_route_remove(c->dp, AF_INET6, &n->addrs.v6[i], 128);
                }
        }
        n->routed = on;
}

/* ---- gateways --------------------------------------------------------------------------------- */

static void nat_free(FzdConnections *c, Gateway *g, Nat *n) {
        route_nat(c, g, n, false);
        LIST_REMOVE(nats, g->nats, n);
        ring_done(&n->held);
        free(n);
}

static void gateway_free(FzdConnections *c, Gateway *g) {
        size_t i = 0;
        const char *key;
        void *value;

        while (fzd_strmap_next(c->resources, &i, &key, &value)) {
                Res *r = value;
                if (r->gateway == g) {
                        route_res(c, r, false);
                        r->gateway = NULL;
                }
        }
        while (g->nats)
                nat_free(c, g, g->nats);
        if (g->agent)
                fzd_ice_remove_agent(c->ice, g->agent);
        if (g->peer)
                fzd_dataplane_peer_remove(c->dp, g->peer); /* its routes go with it */
        LIST_REMOVE(gateways, c->gateways, g);
        free(g);
        mark_status_changed(c);
}

static Gateway *gateway_find(FzdConnections *c, const char *id) {
        LIST_FOREACH(gateways, g, c->gateways)
                if (streq(g->id, id))
                        return g;
        return NULL;
}

static Gateway *gateway_by_peer(FzdConnections *c, const FzdDpPeer *peer) {
        LIST_FOREACH(gateways, g, c->gateways)
                if (g->peer == peer)
                        return g;
        return NULL;
}

static Gateway *gateway_by_address(FzdConnections *c, const FzdPacketInfo *pi) {
        LIST_FOREACH(gateways, g, c->gateways)
                if ((pi->family == AF_INET && g->has_v4 && memcmp(&g->v4, pi->dst, 4) == 0) ||
                    (pi->family == AF_INET6 && g->has_v6 && memcmp(&g->v6, pi->dst, 16) == 0))
                        return g;
        return NULL;
}

/* ---- sites and status ------------------------------------------------------------------------- */

static Site *site_get(FzdConnections *c, const char *id, bool create) {
        Site *s = fzd_strmap_get(c->sites, id);

        if (s || !create)
                return s;
        s = calloc(1, sizeof *s);
        if (!s)
                return NULL;
        (void) snprintf(s->id, sizeof s->id, "%s", id);
        if (fzd_strmap_put(c->sites, s->id, s) < 0) {
                free(s);
                return NULL;
        }
        return s;
}

FzdResourceStatus fzd_connections_site_status(const FzdConnections *c, const char *site_id) {
        Site *s;

        LIST_FOREACH(gateways, g, c->gateways)
                if (g->wg_up && streq(g->site_id, site_id))
                        return FZD_RESOURCE_STATUS_ONLINE;
        s = fzd_strmap_get(c->sites, site_id);
        if (s && s->offline_until > now_usec((FzdConnections *) c))
                return FZD_RESOURCE_STATUS_OFFLINE;
        return FZD_RESOURCE_STATUS_UNKNOWN;
}

FzdResourceStatus fzd_connections_resource_status(const FzdConnections *c, const char *resource_id) {
        Res *r = fzd_strmap_get(c->resources, resource_id);
        size_t offline = 0;

        if (!r)
                return FZD_RESOURCE_STATUS_UNKNOWN;
        if (r->gateway && r->gateway->wg_up)
                return FZD_RESOURCE_STATUS_ONLINE;
        for (size_t i = 0; i < r->n_sites; i++) {
                FzdResourceStatus s = fzd_connections_site_status(c, r->site[i]->id);
                if (s == FZD_RESOURCE_STATUS_ONLINE)
                        return s;
                offline += s == FZD_RESOURCE_STATUS_OFFLINE;
        }
        return r->n_sites > 0 && offline == r->n_sites ? FZD_RESOURCE_STATUS_OFFLINE : FZD_RESOURCE_STATUS_UNKNOWN;
}

/* ---- authorization requests ------------------------------------------------------------------ */

static void request_authorization(FzdConnections *c, Res *r) {
        const char *connected[16];
        size_t n = 0;
        uint64_t now = now_usec(c);

        if (r->last_request && now - r->last_request < FZD_CONN_REQUEST_INTERVAL_USEC)
                return;
        r->last_request = now;
        /* Prefer gateways we are connected to already (the portal picks among them). */
        LIST_FOREACH(gateways, g, c->gateways)
                if (g->wg_up && n < ELEMENTSOF(connected))
                        connected[n++] = g->id;
        log_debug("Requesting authorization for resource %s.", r->id);
        if (c->ev.request_authorization)
                c->ev.request_authorization(c->userdata, r->id, connected, n);
}

/* ---- the DNS-resource NAT -------------------------------------------------------------------- */

static void send_assigned_ips(FzdConnections *c, Gateway *g, Nat *n) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        json_object *ips; /* owned by o once added */
        uint8_t pkt[FZD_P2P_HEADER_LEN + FZD_P2P_PAYLOAD_MAX];
        char buf[INET6_ADDRSTRLEN];
        const char *text;
        size_t len;
        ssize_t k;

        if (!o)
                return;
        ips = json_object_new_array();
        if (!ips || json_object_object_add(o, "proxy_ips", ips) < 0) {
                json_object_put(ips);
                return;
        }
        for (unsigned i = 0; i < FZD_PROXY_IPS_PER_FAMILY; i++) {
                if (n->v4 && inet_ntop(AF_INET, &n->addrs.v4[i], buf, sizeof buf))
                        json_object_array_add(ips, json_object_new_string(buf));
        }
        for (unsigned i = 0; i < FZD_PROXY_IPS_PER_FAMILY; i++) {
                if (n->v6 && inet_ntop(AF_INET6, &n->addrs.v6[i], buf, sizeof buf))
                        json_object_array_add(ips, json_object_new_string(buf));
        }
        json_object_object_add(o, "resource", json_object_new_string(n->resource_id));
        json_object_object_add(o, "domain", json_object_new_string(n->name));
        text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        len = strlen(text);
        k = fzd_p2p_build(FZD_P2P_ASSIGNED_IPS, text, len, pkt, sizeof pkt);
        if (k < 0)
                return;
        n->last_sent = now_usec(c);
        (void) fzd_dataplane_peer_send(c->dp, g->peer, pkt, (size_t) k);
}

static Nat *nat_get(FzdConnections *c, Gateway *g, const char *name, Res *r) {
        Nat *n;

        LIST_FOREACH(nats, i, g->nats)
                if (streq(i->name, name))
                        return i;
        n = calloc(1, sizeof *n);
        if (!n)
                return NULL;
        (void) snprintf(n->name, sizeof n->name, "%s", name);
        (void) snprintf(n->resource_id, sizeof n->resource_id, "%s", r->id);
        if (!c->proxy_ips || fzd_proxy_ips_get(c->proxy_ips, name, &n->addrs) < 0) {
                free(n);
                return NULL;
        }
        n->v4 = r->ip_stack != FZD_RESOURCE_IP_STACK_IPV6_ONLY;
        n->v6 = r->ip_stack != FZD_RESOURCE_IP_STACK_IPV4_ONLY;
        LIST_PREPEND(nats, g->nats, n);
        return n;
}

typedef struct SendCtx {
        FzdConnections *c;
        FzdDpPeer *peer;
} SendCtx;

static void send_held(void *userdata, const uint8_t *p, size_t len) {
        SendCtx *s = userdata;
        (void) fzd_dataplane_peer_send(s->c->dp, s->peer, p, len);
}

static void on_domain_status(FzdConnections *c, Gateway *g, const uint8_t *payload, size_t len) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_tokener *tok = json_tokener_new_ex(4);
        json_object *v;
        const char *domain, *status;

        if (!tok)
                return;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, (const char *) payload, (int) len);
        json_tokener_free(tok);
        if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, "domain", &v) ||
            !json_object_is_type(v, json_type_string) || !(domain = json_object_get_string(v)) ||
            !json_object_object_get_ex(o, "status", &v) || !json_object_is_type(v, json_type_string) ||
            !(status = json_object_get_string(v))) {
                if (log_allowed(c))
                        log_notice("Gateway %s sent a malformed domain status, ignoring it.", g->id);
                return;
        }
        LIST_FOREACH(nats, n, g->nats) {
                if (!streq(n->name, domain))
                        continue;
                if (streq(status, "Active")) {
                        SendCtx s = { c, g->peer };
                        if (n->state != NAT_ACTIVE)
                                log_debug("Gateway %s: the NAT for %s is active.", g->id, n->name);
                        n->state = NAT_ACTIVE;
                        route_nat(c, g, n, true);
                        ring_drain(&n->held, send_held, &s);
                } else {
                        /* The name does not resolve there (or the gateway gave up on it). */
                        if (n->state != NAT_INACTIVE && log_allowed(c))
                                log_notice("Gateway %s cannot resolve %s; its packets are dropped.", g->id, n->name);
                        n->state = NAT_INACTIVE;
                        route_nat(c, g, n, false);
                        ring_clear(&n->held);
                }
                return;
        }
}

static void on_p2p_control(void *userdata, FzdDpPeer *peer, const uint8_t *packet, size_t len) {
        FzdConnections *c = userdata;
        Gateway *g = gateway_by_peer(c, peer);
        const uint8_t *payload;
        size_t plen;
        uint8_t event;

        if (!g || fzd_p2p_parse(packet, len, &event, &payload, &plen) < 0)
                return;
        if (event == FZD_P2P_DOMAIN_STATUS)
                on_domain_status(c, g, payload, plen);
        else if (event == FZD_P2P_GOODBYE) {
                log_info("Gateway %s said goodbye; its connection is closed.", g->id);
                gateway_free(c, g);
                flush_status(c);
        }
}

/* ---- packets from the TUN --------------------------------------------------------------------- */

static Res *resource_for(FzdConnections *c, const FzdPacketInfo *pi, char ret_name[static 256]) {
        void *value = NULL;

        ret_name[0] = 0;
        if (c->proxy_ips && fzd_proxy_ips_in_range(pi->family, pi->dst)) {
                char name[256], rid[FZD_PROXY_IPS_ID_MAX + 1];
                Res *r;
                if (fzd_proxy_ips_lookup(c->proxy_ips, pi->family, pi->dst, name, rid) < 0 || !rid[0])
                        return NULL;
                r = fzd_strmap_get(c->resources, rid);
                if (!r || r->type != FZD_RESOURCE_DNS)
                        return NULL;
                (void) snprintf(ret_name, 256, "%s", name);
                return r;
        }
        if (fzd_dp_routes_lookup(c->lpm, pi->family, pi->dst, &value, NULL))
                return value;
        if (c->internet && c->internet_enabled)
                return c->internet;
        return NULL;
}

static void route_packet(void *userdata, const uint8_t *p, size_t len) {
        FzdConnections *c = userdata;
        FzdPacketInfo pi;
        char name[256];
        Gateway *g;
        Res *r;

        if (fzd_packet_parse(p, len, &pi) < 0)
                return;
        if ((pi.family == AF_INET && pi.dst[0] >= 224) || (pi.family == AF_INET6 && pi.dst[0] == 0xff))
                return; /* multicast never leaves through the tunnel */
        g = gateway_by_address(c, &pi);
        if (g) {
                (void) fzd_dataplane_peer_send(c->dp, g->peer, p, pi.total_len);
                return;
        }
        r = resource_for(c, &pi, name);
        if (!r) {
                c->dropped_unknown++;
                return;
        }
        if (!filters_allow(r->filters, &pi)) {
                answer_prohibited(c, p, pi.total_len);
                return;
        }
        g = r->gateway;
        if (!g) {
                ring_push(&r->pending, FZD_CONN_PENDING_PACKETS, p, pi.total_len);
                request_authorization(c, r);
                return;
        }
        if (r->type == FZD_RESOURCE_DNS) {
                Nat *n = nat_get(c, g, name, r);
                if (!n)
                        return;
                if (n->state == NAT_ACTIVE) {
                        route_nat(c, g, n, true);
                        (void) fzd_dataplane_peer_send(c->dp, g->peer, p, pi.total_len);
                        return;
                }
                ring_push(&n->held, FZD_CONN_HELD_PACKETS, p, pi.total_len);
                if (!n->last_sent || now_usec(c) - n->last_sent >= FZD_CONN_NAT_RESEND_USEC)
                        send_assigned_ips(c, g, n);
                return;
        }
        route_res(c, r, true);
        (void) fzd_dataplane_peer_send(c->dp, g->peer, p, pi.total_len);
}

static void on_packet(void *userdata, FzdDpPeer *peer, uint64_t cookie, FzdDpPacketReason reason,
                      const uint8_t *packet, size_t len) {
        FzdConnections *c = userdata;

        switch (reason) {
        case FZD_DP_PACKET_FILTERED:
                answer_prohibited(c, packet, len);
                return;
        case FZD_DP_PACKET_NO_SESSION:
                /* Staged by the data plane until WireGuard has a session. */
                (void) fzd_dataplane_peer_send(c->dp, peer, packet, len);
                return;
        case FZD_DP_PACKET_NO_ROUTE:
        default:
                route_packet(c, packet, len);
                flush_status(c);
                return;
        }
}

/* ---- ICE ---------------------------------------------------------------------------------------- */

static void dp_addr_from(const FzdAddr *a, FzdDpAddr *ret) {
        struct sockaddr_storage ss;
        socklen_t n = fzd_addr_to_sockaddr(a, &ss);

        memset(ret, 0, sizeof *ret);
        memcpy(ret, &ss, n < sizeof *ret ? n : sizeof *ret);
}

static void ice_flush(FzdConnections *c);

static void set_path(FzdConnections *c, Gateway *g, const FzdIcePath *p) {
        FzdDpPath path = { .family = p->dest.family, .channel = p->channel };

        dp_addr_from(&p->dest, &path.dst);
        if (p->channel != 0)
                (void) fzd_dataplane_channel_bind(c->dp, &path.dst, p->channel, true);
        (void) fzd_dataplane_peer_set_path(c->dp, g->peer, &path);
        g->has_path = true;
        /* Once the gateway uses the pair too (nominated) it can answer: an initiation that went
         * nowhere, or whose answer had no way back, goes again now instead of in 5 s. */
        if (p->nominated)
                fzd_dataplane_peer_path_ready(c->dp, g->peer);
}

static void handle_ice_event(FzdConnections *c, const FzdIceEvent *e) {
        Gateway *g = e->userdata;

        switch (e->type) {
        case FZD_ICE_EVENT_CANDIDATE:
        case FZD_ICE_EVENT_CANDIDATE_INVALIDATED: {
                const char *cand = e->candidate;
                if (g && c->ev.candidates)
                        c->ev.candidates(c->userdata, g->id, &cand, 1, e->type == FZD_ICE_EVENT_CANDIDATE_INVALIDATED);
                return;
        }
        case FZD_ICE_EVENT_CONNECTED:
        case FZD_ICE_EVENT_PATH_CHANGED: {
                char buf[FZD_ADDR_STRLEN];
                if (!g)
                        return;
                log_info("Gateway %s: %s path to %s%s.", g->id, e->type == FZD_ICE_EVENT_CONNECTED ? "a" : "a new",
                         fzd_addr_format(&e->path.dest, buf), e->path.channel ? " (through a relay)" : "");
                set_path(c, g, &e->path);
                return;
        }
        case FZD_ICE_EVENT_DISCONNECTED:
                if (g)
                        log_info("Gateway %s: no path at the moment; ICE keeps trying.", g->id);
                return;
        case FZD_ICE_EVENT_FAILED:
                if (!g)
                        return;
                log_warning("Gateway %s: ICE found no path; the connection is closed (the next packet asks again).",
                            g->id);
                g->agent = NULL; /* the node frees it */
                fzd_ice_remove_agent(c->ice, e->agent);
                gateway_free(c, g);
                return;
        case FZD_ICE_EVENT_NO_RELAYS:
                if (c->ev.no_relays)
                        c->ev.no_relays(c->userdata);
                return;
        case FZD_ICE_EVENT_RELAY_FAILED:
                log_notice("Relay %s failed (%s).", e->relay_id, strerror(e->error ? e->error : EIO));
                return;
        default:
                return;
        }
}

static void ice_send(FzdConnections *c) {
        FzdIceTransmit t;

        while (fzd_ice_poll_transmit(c->ice, &t)) {
                FzdDpAddr to;
                dp_addr_from(&t.dest, &to);
                (void) fzd_dataplane_send_datagram(c->dp, t.dest.family, &to, t.data, t.len);
        }
}

static void ice_flush(FzdConnections *c) {
        FzdIceEvent e;
        uint64_t next;

        ice_send(c);
        while (fzd_ice_poll_event(c->ice, &e))
                handle_ice_event(c, &e);
        ice_send(c); /* events may have queued more */
        next = fzd_ice_poll_timeout(c->ice);
        if (next == UINT64_MAX)
                (void) sd_event_source_set_enabled(c->ice_timer, SD_EVENT_OFF);
        else {
                (void) sd_event_source_set_time(c->ice_timer, next);
                (void) sd_event_source_set_enabled(c->ice_timer, SD_EVENT_ONESHOT);
        }
        flush_status(c);
}

static int on_ice_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        FzdConnections *c = userdata;

        fzd_ice_handle_timeout(c->ice, now_usec(c));
        ice_flush(c);
        return 0;
}

static void on_datagram(void *userdata, const FzdDpDatagram *d) {
        FzdConnections *c = userdata;
        uint8_t buf[FZD_P2P_HEADER_LEN + 2048 + 4];
        const uint8_t *data = d->data;
        size_t len = d->len;
        FzdAddr from, local;
        FzdIceUnwrapped u;

        if (fzd_addr_from_sockaddr(&d->from.sa, sizeof d->from, &from) < 0)
                return;
        if (fzd_addr_from_sockaddr(&d->local.sa, sizeof d->local, &local) < 0)
                local = (FzdAddr) { .family = from.family };
        /* STUN that came through a bound channel arrives without its ChannelData header: the
         * ICE node wants the datagram as the relay sent it. */
        if (d->channel != 0 && len > 0 && (data[0] < 64 || data[0] > 79) && len + 4 <= sizeof buf) {
                buf[0] = (uint8_t) (d->channel >> 8);
                buf[1] = (uint8_t) d->channel;
                buf[2] = (uint8_t) (len >> 8);
                buf[3] = (uint8_t) len;
                memcpy(buf + 4, data, len);
                data = buf;
                len += 4;
        }
        switch (fzd_ice_handle_input(c->ice, now_usec(c), &local, &from, data, len, &u)) {
        case FZD_ICE_INPUT_UNWRAPPED:
                (void) fzd_dataplane_input(c->dp, d->family, &d->from, u.channel, u.data, u.len);
                break;
        default:
                break;
        }
        ice_flush(c);
}

static void on_peer_event(void *userdata, FzdDpPeer *peer, FzdDpPeerEvent event) {
        FzdConnections *c = userdata;
        Gateway *g = gateway_by_peer(c, peer);

        if (!g)
                return;
        switch (event) {
        case FZD_DP_PEER_HANDSHAKE_COMPLETE:
                if (!g->wg_up)
                        log_info("Gateway %s (site %s) is connected.", g->id, g->site_id);
                g->wg_up = true;
                if (g->agent)
                        fzd_ice_agent_note_traffic(g->agent, now_usec(c));
                mark_status_changed(c);
                break;
        case FZD_DP_PEER_HANDSHAKE_FAILED:
        case FZD_DP_PEER_KEYS_EXPIRED:
                if (event == FZD_DP_PEER_HANDSHAKE_FAILED) {
                        /* The gateway no longer answers with the key the portal gave us (it
                         * restarted, or it is gone): close the connection, as ICE failing
                         * would, so the next packet asks the portal again. */
                        g->handshake_failed = true;
                        (void) sd_event_source_set_time_relative(c->tick_timer, 0);
                }
                if (g->wg_up)
                        log_info("Gateway %s: the WireGuard session ended.", g->id);
                g->wg_up = false;
                mark_status_changed(c);
                break;
        default:
                break;
        }
        flush_status(c);
}

/* ---- the tick: resends and expiries ------------------------------------------------------------ */

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        FzdConnections *c = userdata;
        uint64_t now = now_usec(c);
        size_t i = 0;
        const char *key;
        void *value;

        LIST_FOREACH(gateways, g, c->gateways) {
                if (g->handshake_failed) {
                        log_warning("Gateway %s: no WireGuard handshake; the connection is closed (the next packet "
                                    "asks again).",
                                    g->id);
                        gateway_free(c, g);
                        continue;
                }
                LIST_FOREACH(nats, n, g->nats)
                        if (n->state == NAT_PENDING && ring_count(&n->held) > 0 && now - n->last_sent >= FZD_CONN_NAT_RESEND_USEC)
                                send_assigned_ips(c, g, n);
                if (g->wg_up && g->agent && g->peer) {
                        /* Traffic since the last tick keeps ICE at the active cadence; without
                         * it for 20 s the connection goes idle (a check every 25 s). */
                        FzdWgPeerStats st;
                        fzd_dataplane_peer_get_stats(c->dp, g->peer, &st);
                        if (st.tx_bytes + st.rx_bytes != g->seen_bytes) {
                                g->seen_bytes = st.tx_bytes + st.rx_bytes;
                                fzd_ice_agent_note_traffic(g->agent, now);
                        }
                }
        }
        /* An offline site comes back to "unknown" after 5 minutes. */
        while (fzd_strmap_next(c->sites, &i, &key, &value)) {
                Site *site = value;
                if (site->offline_until && site->offline_until <= now) {
                        site->offline_until = 0;
                        mark_status_changed(c);
                }
        }
        flush_status(c);
        (void) sd_event_source_set_time_relative(s, TICK_USEC);
        return 0;
}

/* ---- host candidates --------------------------------------------------------------------------- */

static void set_host_candidates(FzdConnections *c) {
        FzdAddr addrs[FZD_ICE_MAX_HOSTS];
        struct ifaddrs *ifa = NULL;
        uint16_t port[2] = {};
        size_t n = 0;

        for (int f = 0; f < 2; f++) {
                struct sockaddr_storage ss;
                socklen_t sl = sizeof ss;
                if (c->udp_fd[f] >= 0 && getsockname(c->udp_fd[f], (struct sockaddr *) &ss, &sl) == 0)
                        port[f] = ntohs(f ? ((struct sockaddr_in6 *) &ss)->sin6_port : ((struct sockaddr_in *) &ss)->sin_port);
        }
        if (getifaddrs(&ifa) < 0)
                return;
        for (struct ifaddrs *i = ifa; i && n < ELEMENTSOF(addrs); i = i->ifa_next) {
                FzdAddr a;
                int f;
                if (!i->ifa_addr || (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP) ||
                    (c->tun_name && streq(i->ifa_name, c->tun_name)))
                        continue;
                if (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6)
                        continue;
                f = family_index(i->ifa_addr->sa_family);
                if (c->udp_fd[f] < 0 || fzd_addr_from_sockaddr(i->ifa_addr, f ? sizeof(struct sockaddr_in6)
                                                                                 : sizeof(struct sockaddr_in),
                                                               &a) < 0)
                        continue;
                if (f && IN6_IS_ADDR_LINKLOCAL((const struct in6_addr *) a.ip))
                        continue;
                a.port = port[f];
                addrs[n++] = a;
        }
        freeifaddrs(ifa);
        (void) fzd_ice_set_host_candidates(c->ice, addrs, n, now_usec(c));
}

/* ---- the portal's messages ---------------------------------------------------------------------- */

static void flush_pending(void *userdata, const uint8_t *p, size_t len) {
        route_packet(userdata, p, len);
}

int fzd_connections_authorization_created(FzdConnections *c, const FzdAuthorization *a) {
        Res *r = fzd_strmap_get(c->resources, a->resource_id);
        Gateway *g = gateway_find(c, a->gateway_id);
        int k;

        if (!r) {
                log_notice("The portal authorized resource %s, which this client does not have; ignoring it.",
                           a->resource_id);
                return -ENOENT;
        }
        if (g && memcmp(g->public_key, a->gateway_public_key, 32) != 0) {
                /* The gateway restarted with a new key: a new connection. */
                gateway_free(c, g);
                g = NULL;
        }
        if (!g) {
                FzdIceAgentConfig ac = {
                        .controlling = true,
                        .local_ufrag = a->client_ice.username,
                        .local_pwd = a->client_ice.password,
                        .remote_ufrag = a->gateway_ice.username,
                        .remote_pwd = a->gateway_ice.password,
                };

                g = calloc(1, sizeof *g);
                if (!g)
                        return log_oom();
                g->c = c;
                (void) snprintf(g->id, sizeof g->id, "%s", a->gateway_id);
                (void) snprintf(g->site_id, sizeof g->site_id, "%s", a->site_id);
                memcpy(g->public_key, a->gateway_public_key, 32);
                LIST_PREPEND(gateways, c->gateways, g);
                k = fzd_dataplane_peer_add(c->dp, a->gateway_public_key, a->preshared_key, false, g, &g->peer);
                if (k < 0) {
                        log_error_errno(k, "Failed to add gateway %s as a WireGuard peer: %m", g->id);
                        gateway_free(c, g);
                        return k;
                }
                k = fzd_ice_add_agent(c->ice, &ac, g, now_usec(c), &g->agent);
                if (k < 0) {
                        log_error_errno(k, "Failed to start ICE with gateway %s: %m", g->id);
                        gateway_free(c, g);
                        return k;
                }
                g->has_v4 = a->has_gateway_ipv4;
                g->has_v6 = a->has_gateway_ipv6;
                g->v4 = a->gateway_ipv4;
                g->v6 = a->gateway_ipv6;
                if (g->has_v4)
                        (void) fzd_dataplane_route_add(c->dp, AF_INET, &g->v4, 32, g->peer, 0);
                if (g->has_v6)
                        (void) fzd_dataplane_route_add(c->dp, AF_INET6, &g->v6, 128, g->peer, 0);
                log_info("Resource %s is authorized through gateway %s (site %s); connecting.", r->id, g->id,
                         g->site_id);
        } else
                log_debug("Resource %s is authorized through gateway %s, connected already.", r->id, g->id);

        if (r->gateway && r->gateway != g)
                route_res(c, r, false);
        r->gateway = g;
        r->last_request = 0;
        {
                Site *s = site_get(c, a->site_id, false);
                if (s)
                        s->offline_until = 0;
        }
        route_res(c, r, true);
        ring_drain(&r->pending, flush_pending, c);
        ice_flush(c);
        mark_status_changed(c);
        flush_status(c);
        return 0;
}

void fzd_connections_authorization_failed(FzdConnections *c, const char *resource_id, const char *reason) {
        Res *r = fzd_strmap_get(c->resources, resource_id);

        if (!r)
                return;
        ring_clear(&r->pending);
        if (streq_ptr(reason, "offline")) {
                uint64_t until = now_usec(c) + FZD_CONN_OFFLINE_USEC;
                log_info("No gateway of resource %s is online; its sites count as offline for 5 minutes.", r->id);
                for (size_t i = 0; i < r->n_sites; i++)
                        r->site[i]->offline_until = until;
                mark_status_changed(c);
        } else
                log_notice("The portal did not authorize resource %s (%s).", r->id, strempty(reason));
        flush_status(c);
}

void fzd_connections_remote_candidates(FzdConnections *c, const char *gateway_id, const char *const *candidates,
                                       size_t n, bool invalidate) {
        Gateway *g = gateway_find(c, gateway_id);

        if (!g || !g->agent) {
                log_debug("Candidates for gateway %s, which we are not connecting to; ignoring them.", gateway_id);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                const char *why = NULL;
                int k = invalidate ? fzd_ice_remove_remote_candidate(c->ice, g->agent, candidates[i], now_usec(c), &why)
                                   : fzd_ice_add_remote_candidate(c->ice, g->agent, candidates[i], now_usec(c), &why);
                if (k < 0 && log_allowed(c))
                        log_notice("Skipping a candidate of gateway %s: %s.", g->id, strempty(why));
        }
        ice_flush(c);
}

void fzd_connections_relay_upsert(FzdConnections *c, const FzdRelay *relay) {
        FzdIceRelay ir = {
                .id = relay->id,
                .username = relay->username,
                .password = relay->password,
        };
        RelayAddr *ra;
        struct timespec ts;
        uint64_t now = now_usec(c), real;
        int f;

        if (fzd_addr_from_sockaddr((const struct sockaddr *) &relay->addr, sizeof relay->addr, &ir.addr) < 0)
                return;
        clock_gettime(CLOCK_REALTIME, &ts);
        real = (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
        ir.expires_at = relay->expires_at ? fzd_ice_unix_to_monotonic(relay->expires_at, now, real) : 0;
        f = family_index(relay->addr.ss_family);
        if (c->udp_fd[f] < 0)
                return; /* no socket of that family */
        ra = fzd_strmap_get(c->relays, relay->id);
        if (!ra) {
                ra = calloc(1, sizeof *ra);
                if (!ra)
                        return;
                (void) snprintf(ra->id, sizeof ra->id, "%s", relay->id);
                if (fzd_strmap_put(c->relays, ra->id, ra) < 0) {
                        free(ra);
                        return;
                }
        }
        dp_addr_from(&ir.addr, &ra->addr[f]);
        ra->has[f] = true;
        (void) fzd_dataplane_relay_add(c->dp, &ra->addr[f]);
        if (fzd_ice_upsert_relay(c->ice, &ir, now) < 0)
                log_notice("Relay %s has an unusable address or credentials; skipping it.", relay->id);
        ice_flush(c);
}

void fzd_connections_relay_remove(FzdConnections *c, const char *id) {
        RelayAddr *ra = fzd_strmap_remove(c->relays, id);

        (void) fzd_ice_remove_relay(c->ice, id, now_usec(c));
        if (ra) {
                for (int f = 0; f < 2; f++)
                        if (ra->has[f])
                                (void) fzd_dataplane_relay_remove(c->dp, &ra->addr[f]);
                free(ra);
        }
        ice_flush(c);
}

void fzd_connections_portal_up(FzdConnections *c) {
        size_t i = 0;
        const char *key;
        void *value;

        while (fzd_strmap_next(c->resources, &i, &key, &value)) {
                Res *r = value;
                if (!r->gateway && ring_count(&r->pending) > 0) {
                        r->last_request = 0;
                        request_authorization(c, r);
                }
        }
}

/* ---- resources ---------------------------------------------------------------------------------- */

static void res_free(FzdConnections *c, Res *r) {
        if (!r)
                return;
        route_res(c, r, false);
        if (r->has_cidr)
                lpm_remove(c, r);
        if (c->internet == r)
                c->internet = NULL;
        ring_done(&r->pending);
        /* Routes may still carry the old filters' pointer in a worker: keep them. */
        if (r->filters)
                LIST_PREPEND(retired, c->retired, r->filters);
        free(r);
}

int fzd_connections_resource_upsert(FzdConnections *c, const FzdResource *src) {
        Res *old = fzd_strmap_get(c->resources, src->id), *r;
        Gateway *keep = old ? old->gateway : NULL;
        size_t id_len = strlen(src->id);

        if (id_len > FZD_CONN_ID_MAX)
                return -EINVAL;
        r = calloc(1, sizeof *r + src->n_sites * sizeof(Site *) + id_len + 1);
        if (!r)
                return -ENOMEM;
        r->id = memcpy((char *) &r->site[src->n_sites], src->id, id_len + 1);
        for (size_t i = 0; i < src->n_sites; i++) {
                r->site[i] = site_get(c, strempty(src->sites[i].id), true);
                if (!r->site[i]) {
                        free(r);
                        return -ENOMEM;
                }
        }
        r->n_sites = src->n_sites;
        r->type = src->type;
        r->ip_stack = src->ip_stack;
        if (src->type == FZD_RESOURCE_CIDR && fzd_cidr_parse(strempty(src->address), false, &r->cidr) >= 0)
                r->has_cidr = true;
        if (src->n_filters > 0) {
                r->filters = calloc(1, sizeof *r->filters + src->n_filters * sizeof(FzdResourceFilter));
                if (!r->filters) {
                        free(r);
                        return -ENOMEM;
                }
                r->filters->n = src->n_filters;
                memcpy(r->filters->f, src->filters, src->n_filters * sizeof(FzdResourceFilter));
        }

        if (old) {
                /* Keep what the portal granted and what waits for it. */
                r->pending = old->pending;
                old->pending = (Ring) {};
                r->last_request = old->last_request;
                (void) fzd_strmap_remove(c->resources, old->id);
        }
        if (fzd_strmap_put(c->resources, r->id, r) < 0) {
                res_free(c, old);
                r->gateway = NULL;
                res_free(c, r);
                return -ENOMEM;
        }
        /* r takes its CIDR before old goes: a CIDR old shared with other resources passes
         * straight to r, never for a moment to one of the others (and its filters). */
        if (r->has_cidr)
                lpm_add(c, r);
        res_free(c, old);
        if (r->type == FZD_RESOURCE_INTERNET)
                c->internet = r;
        /* Same gateway, new routes and filters. (If the site changed, the gateway's routes
         * are still right until the portal says otherwise: reject_access on its side.) */
        r->gateway = keep;
        route_res(c, r, true);
        mark_status_changed(c);
        return 0;
}

void fzd_connections_resource_remove(FzdConnections *c, const char *id) {
        Res *r = fzd_strmap_remove(c->resources, id);

        if (!r)
                return;
        res_free(c, r);
        mark_status_changed(c);
}

void fzd_connections_resources_clear(FzdConnections *c) {
        size_t i = 0;
        const char *key;
        void *value;

        /* Removing the entry just returned shifts later ones back into its slot: look at that
         * slot again rather than start over (starting over cost O(n²): half the daemon's CPU
         * when signing out with 10,000 resources). */
        while (fzd_strmap_next(c->resources, &i, &key, &value)) {
                (void) fzd_strmap_remove(c->resources, key);
                res_free(c, value);
                i--;
        }
        mark_status_changed(c);
}

int fzd_connections_resources_reserve(FzdConnections *c, size_t n) {
        return fzd_strmap_reserve(c->resources, n);
}

void fzd_connections_resources_retain(FzdConnections *c, bool (*keep)(void *userdata, const char *id),
                                      void *userdata) {
        size_t i = 0;
        const char *key;
        void *value;

        while (fzd_strmap_next(c->resources, &i, &key, &value)) {
                if (keep(userdata, key))
                        continue;
                (void) fzd_strmap_remove(c->resources, key);
                res_free(c, value);
                i--; /* later entries moved back into this slot (see fzd_strmap_next) */
                mark_status_changed(c);
        }
}

void fzd_connections_set_internet_enabled(FzdConnections *c, bool enabled) {
        if (c->internet_enabled == enabled)
                return;
        c->internet_enabled = enabled;
        if (c->internet)
                route_res(c, c->internet, enabled);
}

void fzd_connections_set_interface(FzdConnections *c, const FzdInterfaceConfig *config) {
        c->iface = *config;
}

void fzd_connections_get_stats(FzdConnections *c, FzdConnStats *ret) {
        FzdDpStats s;

        *ret = (FzdConnStats) { .icmp_prohibited = c->icmp_prohibited, .dropped_unknown = c->dropped_unknown };
        LIST_FOREACH(gateways, g, c->gateways)
                ret->gateways += g->wg_up;
        fzd_dataplane_get_stats(c->dp, &s);
        ret->rx_bytes = s.tun_rx_bytes;
        ret->tx_bytes = s.tun_tx_bytes;
}

/* ---- life cycle --------------------------------------------------------------------------------- */

static void ice_log(void *userdata, int level, const char *message) {
        log_full(level, "ICE: %s", message);
}

int fzd_connections_new(sd_event *event, const FzdConnParams *params, const FzdConnEvents *events, void *userdata,
                        FzdConnections **ret) {
        static const FzdDpCallbacks callbacks = {
                .datagram = on_datagram,
                .packet = on_packet,
                .peer_event = on_peer_event,
                .filter = filter_packet,
                .p2p_control = on_p2p_control,
        };
        _cleanup_(fzd_connections_freep) FzdConnections *c = NULL;
        FzdDataplaneConfig dc = {
                .tun_fd = params->tun_fd,
                .tun_vnet_hdr = params->tun_vnet_hdr,
                .udp4_fd = params->udp4_fd,
                .udp6_fd = params->udp6_fd,
                .mtu = 1280,
                .threading = FZD_DP_THREADS_SPLIT,
        };
        FzdIceConfig ic = {
                .log = ice_log,
                .software = "firezone-client-tunnel",
                .learn_host_candidates = true,
                /* --log-level=debug asked for every check; otherwise a flood stays a few lines. */
                .log_burst = fzd_log_get_max_level() >= LOG_DEBUG ? 1000 : 0,
        };
        int r;

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->event = sd_event_ref(event);
        c->ev = *events;
        c->userdata = userdata;
        c->proxy_ips = params->proxy_ips;
        c->udp_fd[0] = params->udp4_fd;
        c->udp_fd[1] = params->udp6_fd;
        if (params->tun_name && !(c->tun_name = strdup(params->tun_name)))
                return -ENOMEM;
        if (fzd_strmap_new(&c->resources) < 0 || fzd_strmap_new(&c->sites) < 0 || fzd_strmap_new(&c->relays) < 0 ||
            fzd_dp_routes_new(&c->lpm) < 0)
                return -ENOMEM;

        memcpy(dc.private_key, params->private_key, FZD_WG_KEY_LEN);
        fzd_wg_timers_firezone(&dc.timers); /* WireGuard's, with REKEY_ATTEMPT_TIME at 20 s */
        r = fzd_dataplane_new(event, &dc, &callbacks, c, &c->dp);
        explicit_bzero(dc.private_key, sizeof dc.private_key);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the data plane: %m");
        r = fzd_ice_new(&ic, &c->ice);
        if (r < 0)
                return log_error_errno(r, "Failed to set up ICE: %m");

        r = sd_event_add_time(event, &c->ice_timer, CLOCK_MONOTONIC, 0, 1, on_ice_timer, c);
        if (r >= 0)
                r = sd_event_add_time_relative(event, &c->tick_timer, CLOCK_MONOTONIC, TICK_USEC, 0, on_tick, c);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(c->ice_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(c->tick_timer, SD_EVENT_ON);
        (void) sd_event_source_set_description(c->ice_timer, "ice");
        (void) sd_event_source_set_description(c->tick_timer, "connections-tick");

        r = fzd_dataplane_start(c->dp);
        if (r < 0)
                return log_error_errno(r, "Failed to start the data plane's workers: %m");
        set_host_candidates(c);
        ice_flush(c);
        *ret = TAKE_PTR(c);
        return 0;
}

FzdConnections *fzd_connections_free(FzdConnections *c) {
        size_t i = 0;
        const char *key;
        void *value;

        if (!c)
                return NULL;
        /* The relays' allocations go with us (a Refresh with lifetime 0 each): a relay keeps
         * no allocation for nothing, and the next start (a reset reuses the port) is not
         * answered "allocation mismatch" first. */
        if (c->ice && c->dp) {
                fzd_ice_release(c->ice, now_usec(c));
                ice_send(c);
        }
        /* Workers first: after this nothing reads filters or routes any more. */
        if (c->dp) {
                FzdDpStats s;
                fzd_dataplane_get_stats(c->dp, &s);
                log_debug("Data plane: %" PRIu64 " packets to gateways, %" PRIu64 " from them; dropped: %" PRIu64
                          " undecryptable, %" PRIu64 " replayed, %" PRIu64 " stale, %" PRIu64 " unknown index, %" PRIu64
                          " not allowed, %" PRIu64 " malformed, %" PRIu64 " without route, %" PRIu64
                          " without session, %" PRIu64 " filtered, %" PRIu64 " queue full, %" PRIu64 " refused.",
                          s.tun_packets, s.tun_rx_packets, s.decrypt_failed, s.replayed, s.stale, s.unknown_index,
                          s.not_allowed, s.malformed, s.no_route, s.no_session, s.filtered, s.queue_overflow,
                          s.inbound_refused);
                while (c->gateways)
                        gateway_free(c, c->gateways);
                c->dp = fzd_dataplane_free(c->dp);
        }
        if (c->resources) {
                while (fzd_strmap_next(c->resources, &i, &key, &value)) {
                        (void) fzd_strmap_remove(c->resources, key);
                        res_free(c, value);
                        i--; /* not a restart: see fzd_connections_resources_clear() */
                }
                fzd_strmap_free(c->resources);
        }
        if (c->sites) {
                i = 0;
                while (fzd_strmap_next(c->sites, &i, &key, &value))
                        free(value);
                fzd_strmap_free(c->sites);
        }
        if (c->relays) {
                i = 0;
                while (fzd_strmap_next(c->relays, &i, &key, &value))
                        free(value);
                fzd_strmap_free(c->relays);
        }
        while (c->retired) {
                Filters *f = c->retired;
                LIST_REMOVE(retired, c->retired, f);
                free(f);
        }
        fzd_dp_routes_free(c->lpm);
        fzd_ice_free(c->ice);
        sd_event_source_disable_unref(c->ice_timer);
        sd_event_source_disable_unref(c->tick_timer);
        sd_event_unref(c->event);
        free(c->tun_name);
        free(c);
        return NULL;
}
