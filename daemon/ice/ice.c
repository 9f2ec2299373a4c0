/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "ice.h"

#define QUEUE_CAP      1024
#define MAX_PEER_REFS  64
#define REMOVED_RELAYS 16
#define SCRATCH_SIZE   (65535 + 64)

typedef struct Relay {
        char id[FZD_ICE_RELAY_ID_MAX + 1];
        int handle;
        FzdTurn *turn;
        bool failed; /* removed at the end of the current pump */
} Relay;

typedef struct PeerRef {
        int handle;
        FzdAddr peer;
} PeerRef;

typedef struct RemoteAddr {
        FzdAddr addr;
        FzdIceCandidateType type;
} RemoteAddr;

typedef struct Entry {
        FzdIceAgent *agent;
        void *userdata;
        char relay_id[FZD_ICE_RELAY_ID_MAX + 1]; /* the relay this connection uses; "" none yet */
        RemoteAddr remotes[FZD_ICE_MAX_REMOTE_CANDIDATES];
        size_t n_remotes;
        PeerRef refs[MAX_PEER_REFS]; /* TURN peers we took a reference on */
        size_t n_refs;
        bool has_path;
        FzdIcePath path;
        bool failed_emitted;
} Entry;

typedef struct Host {
        FzdAddr addr;
        bool learned; /* from a relay's answer, not from fzd_ice_set_host_candidates() */
} Host;

struct FzdIce {
        FzdIceConfig cfg;
        char *software;
        FzdIceLog log;
        Relay relays[FZD_ICE_MAX_RELAYS];
        size_t n_relays;
        int next_handle;
        FzdAddr removed[REMOVED_RELAYS];
        size_t n_removed, removed_next;
        Host hosts[FZD_ICE_MAX_HOSTS];
        size_t n_hosts;
        Entry **entries;
        size_t n_entries, cap_entries;
        FzdQueue transmits, events;
        FzdIceStats stats;
        uint8_t *scratch;
};

static const char *const event_names[_FZD_ICE_EVENT_MAX] = {
        [FZD_ICE_EVENT_CANDIDATE] = "candidate",
        [FZD_ICE_EVENT_CANDIDATE_INVALIDATED] = "candidate-invalidated",
        [FZD_ICE_EVENT_CONNECTED] = "connected",
        [FZD_ICE_EVENT_PATH_CHANGED] = "path-changed",
        [FZD_ICE_EVENT_DISCONNECTED] = "disconnected",
        [FZD_ICE_EVENT_FAILED] = "failed",
        [FZD_ICE_EVENT_RELAY_READY] = "relay-ready",
        [FZD_ICE_EVENT_RELAY_CREDENTIALS_EXPIRED] = "relay-credentials-expired",
        [FZD_ICE_EVENT_RELAY_FAILED] = "relay-failed",
        [FZD_ICE_EVENT_NO_RELAYS] = "no-relays",
};

const char *fzd_ice_event_to_string(FzdIceEventType t) {
        return t < _FZD_ICE_EVENT_MAX ? event_names[t] : "unknown";
}

static FzdIceEvent *push_event(FzdIce *ice, FzdIceEventType type, const Entry *e) {
        FzdIceEvent *ev = fzd_queue_push(&ice->events, sizeof(FzdIceEvent));

        if (!ev)
                return NULL;
        ev->type = type;
        if (e) {
                ev->agent = e->agent;
                ev->userdata = e->userdata;
        }
        return ev;
}

/* ---- relays ---------------------------------------------------------------------------- */

static Relay *relay_by_handle(FzdIce *ice, int handle) {
        for (size_t i = 0; i < ice->n_relays; i++)
                if (ice->relays[i].handle == handle && !ice->relays[i].failed)
                        return &ice->relays[i];
        return NULL;
}

static Relay *relay_by_server(FzdIce *ice, const FzdAddr *server) {
        for (size_t i = 0; i < ice->n_relays; i++)
                if (!ice->relays[i].failed && fzd_addr_eq(fzd_turn_get_server(ice->relays[i].turn), server))
                        return &ice->relays[i];
        return NULL;
}

static Relay *relay_by_id(FzdIce *ice, const char *id, int family) {
        for (size_t i = 0; i < ice->n_relays; i++)
                if (!ice->relays[i].failed && strcmp(ice->relays[i].id, id) == 0 &&
                    fzd_turn_get_server(ice->relays[i].turn)->family == family)
                        return &ice->relays[i];
        return NULL;
}

static bool relay_id_exists(FzdIce *ice, const char *id) {
        for (size_t i = 0; i < ice->n_relays; i++)
                if (!ice->relays[i].failed && strcmp(ice->relays[i].id, id) == 0)
                        return true;
        return false;
}

bool fzd_ice_is_relay(const FzdIce *ice, const FzdAddr *from) {
        if (from->port != FZD_TURN_PORT)
                return false;
        for (size_t i = 0; i < ice->n_relays; i++)
                if (fzd_addr_eq(fzd_turn_get_server(ice->relays[i].turn), from))
                        return true;
        for (size_t i = 0; i < ice->n_removed; i++)
                if (fzd_addr_eq(&ice->removed[i], from))
                        return true;
        return false;
}

FzdTurn *fzd_ice_get_turn(FzdIce *ice, const char *id, int family) {
        Relay *r = relay_by_id(ice, id, family);
        return r ? r->turn : NULL;
}

static void remember_removed(FzdIce *ice, const FzdAddr *server) {
        for (size_t i = 0; i < ice->n_removed; i++)
                if (fzd_addr_eq(&ice->removed[i], server))
                        return;
        ice->removed[ice->removed_next] = *server;
        ice->removed_next = (ice->removed_next + 1) % REMOVED_RELAYS;
        if (ice->n_removed < REMOVED_RELAYS)
                ice->n_removed++;
}

static void forget_removed(FzdIce *ice, const FzdAddr *server) {
        for (size_t i = 0; i < ice->n_removed; i++)
                if (fzd_addr_eq(&ice->removed[i], server))
                        ice->removed[i] = (FzdAddr){};
}

/* ---- per-agent relay use --------------------------------------------------------------- */

static bool should_prebind(const RemoteAddr *r) {
        /* Firezone binds channels for a peer's reflexive and relayed candidates; a host
         * candidate only when its address is public (a relay could reach it). */
        return r->type != FZD_ICE_CANDIDATE_HOST || !fzd_addr_is_private(&r->addr);
}

static void take_peer_ref(FzdIce *ice, Entry *e, Relay *r, const FzdAddr *peer, uint64_t now) {
        for (size_t i = 0; i < e->n_refs; i++)
                if (e->refs[i].handle == r->handle && fzd_addr_eq(&e->refs[i].peer, peer))
                        return;
        if (e->n_refs >= MAX_PEER_REFS || fzd_turn_add_peer(r->turn, peer, now) < 0)
                return;
        e->refs[e->n_refs++] = (PeerRef){.handle = r->handle, .peer = *peer};
}

static void release_peer_refs(FzdIce *ice, Entry *e, const FzdAddr *only) {
        for (size_t i = 0; i < e->n_refs;) {
                Relay *r;
                if (only && !fzd_addr_eq(&e->refs[i].peer, only)) {
                        i++;
                        continue;
                }
                r = relay_by_handle(ice, e->refs[i].handle);
                if (r)
                        fzd_turn_remove_peer(r->turn, &e->refs[i].peer);
                e->refs[i] = e->refs[--e->n_refs];
        }
}

static void bind_remote(FzdIce *ice, Entry *e, const RemoteAddr *ra, uint64_t now) {
        Relay *r;

        if (!e->relay_id[0] || !should_prebind(ra))
                return;
        r = relay_by_id(ice, e->relay_id, ra->addr.family);
        if (r)
                take_peer_ref(ice, e, r, &ra->addr, now);
}

static void add_relay_candidates(FzdIce *ice, Entry *e, uint64_t now) {
        for (size_t i = 0; i < ice->n_relays; i++) {
                Relay *r = &ice->relays[i];
                const FzdAddr *relayed = fzd_turn_get_relayed(r->turn);
                if (r->failed || strcmp(r->id, e->relay_id) != 0 || !fzd_addr_is_set(relayed))
                        continue;
                (void)fzd_ice_agent_add_local(e->agent, FZD_ICE_CANDIDATE_RELAY, relayed, NULL,
                                              fzd_turn_get_server(r->turn), r->handle, now);
        }
}

/* One relay per connection, as Firezone samples one: the one answering fastest. */
static void choose_relay(FzdIce *ice, Entry *e, uint64_t now) {
        const char *best = NULL;
        uint64_t best_rtt = UINT64_MAX;

        if (e->relay_id[0] && relay_id_exists(ice, e->relay_id))
                return;
        for (size_t i = 0; i < ice->n_relays; i++) {
                Relay *r = &ice->relays[i];
                uint64_t rtt = fzd_turn_get_rtt(r->turn);
                if (r->failed || fzd_turn_get_state(r->turn) != FZD_TURN_READY)
                        continue;
                if (!best || rtt < best_rtt) {
                        best = r->id;
                        best_rtt = rtt;
                }
        }
        release_peer_refs(ice, e, NULL);
        e->relay_id[0] = 0;
        if (!best)
                return;
        snprintf(e->relay_id, sizeof(e->relay_id), "%s", best);
        add_relay_candidates(ice, e, now);
        for (size_t i = 0; i < e->n_remotes; i++)
                bind_remote(ice, e, &e->remotes[i], now);
}

/* ---- paths ----------------------------------------------------------------------------- */

static int compute_path(FzdIce *ice, Entry *e, uint64_t now, FzdIcePath *ret) {
        FzdIceSelected sel;
        FzdIcePath p = {};

        if (fzd_ice_agent_get_state(e->agent) == FZD_ICE_STATE_FAILED ||
            fzd_ice_agent_get_selected(e->agent, &sel) < 0)
                return -ENOENT;
        p.local_type = sel.local_type;
        p.remote_type = sel.remote_type;
        p.rtt = sel.rtt;
        p.nominated = sel.nominated;
        p.peer = sel.remote;
        if (sel.relay >= 0) {
                Relay *r = relay_by_handle(ice, sel.relay);
                const FzdAddr *local;
                if (!r)
                        return -ENOENT;
                p.channel = fzd_turn_get_channel(r->turn, &sel.remote, NULL);
                if (!p.channel) {
                        /* Checks got through without a channel (Send indications): bind one now. */
                        take_peer_ref(ice, e, r, &sel.remote, now);
                        p.channel = fzd_turn_get_channel(r->turn, &sel.remote, NULL);
                        if (!p.channel)
                                return -ENOENT;
                }
                p.dest = *fzd_turn_get_server(r->turn);
                local = fzd_turn_get_local(r->turn);
                p.source = fzd_addr_is_set(local) && local->family == p.dest.family
                                   ? *local
                                   : (FzdAddr){.family = p.dest.family};
                p.relayed = sel.local;
                snprintf(p.relay_id, sizeof(p.relay_id), "%s", r->id);
        } else {
                p.source = sel.base;
                p.dest = sel.remote;
        }
        *ret = p;
        return 0;
}

static bool path_eq(const FzdIcePath *a, const FzdIcePath *b) {
        return fzd_addr_eq(&a->source, &b->source) && fzd_addr_eq(&a->dest, &b->dest) &&
               a->channel == b->channel && fzd_addr_eq(&a->peer, &b->peer) && a->nominated == b->nominated;
}

static void update_path(FzdIce *ice, Entry *e, uint64_t now) {
        FzdIcePath p;
        bool has = compute_path(ice, e, now, &p) == 0;
        FzdIceEvent *ev;

        if (has && (!e->has_path || !path_eq(&p, &e->path))) {
                ev = push_event(ice, e->has_path ? FZD_ICE_EVENT_PATH_CHANGED : FZD_ICE_EVENT_CONNECTED, e);
                if (ev)
                        ev->path = p;
        } else if (!has && e->has_path)
                (void)push_event(ice, FZD_ICE_EVENT_DISCONNECTED, e);
        e->has_path = has;
        if (has)
                e->path = p;
}

/* ---- the pump: drain every component's events and datagrams --------------------------- */

static void add_host_to_agents(FzdIce *ice, const FzdAddr *addr, uint64_t now) {
        for (size_t i = 0; i < ice->n_entries; i++)
                (void)fzd_ice_agent_add_local(ice->entries[i]->agent, FZD_ICE_CANDIDATE_HOST, addr, addr,
                                              NULL, -1, now);
}

static void learn_host(FzdIce *ice, const FzdAddr *base, uint64_t now) {
        if (!ice->cfg.learn_host_candidates || !fzd_addr_is_set(base) || fzd_addr_is_unspecified(base) ||
            !base->port)
                return;
        for (size_t i = 0; i < ice->n_hosts; i++)
                if (fzd_addr_eq(&ice->hosts[i].addr, base))
                        return;
        if (ice->n_hosts >= FZD_ICE_MAX_HOSTS)
                return;
        ice->hosts[ice->n_hosts++] = (Host){.addr = *base, .learned = true};
        add_host_to_agents(ice, base, now);
}

static void drain_relay_transmits(FzdIce *ice, Relay *r) {
        FzdIceTransmit t;

        while (fzd_turn_poll_transmit(r->turn, &t))
                if (fzd_ice_transmit_queue(&ice->transmits, &t.source, &t.dest, t.channel, t.data, t.len) <
                    0)
                        ice->stats.dropped++;
}

static void on_turn_event(FzdIce *ice, Relay *r, const FzdTurnEvent *te, uint64_t now) {
        FzdIceEvent *ev;

        switch (te->type) {
        case FZD_TURN_EVENT_MAPPED:
                learn_host(ice, &te->base, now);
                for (size_t i = 0; i < ice->n_entries; i++)
                        (void)fzd_ice_agent_add_local(ice->entries[i]->agent, FZD_ICE_CANDIDATE_SRFLX,
                                                      &te->addr, &te->base, fzd_turn_get_server(r->turn), -1,
                                                      now);
                break;
        case FZD_TURN_EVENT_RELAYED:
                ev = push_event(ice, FZD_ICE_EVENT_RELAY_READY, NULL);
                if (ev) {
                        snprintf(ev->relay_id, sizeof(ev->relay_id), "%s", r->id);
                        ev->addr = te->addr;
                }
                for (size_t i = 0; i < ice->n_entries; i++) {
                        Entry *e = ice->entries[i];
                        if (strcmp(e->relay_id, r->id) == 0) {
                                (void)fzd_ice_agent_add_local(e->agent, FZD_ICE_CANDIDATE_RELAY, &te->addr,
                                                              NULL, fzd_turn_get_server(r->turn), r->handle,
                                                              now);
                                for (size_t j = 0; j < e->n_remotes; j++)
                                        bind_remote(ice, e, &e->remotes[j], now);
                        } else if (!e->relay_id[0])
                                choose_relay(ice, e, now);
                }
                break;
        case FZD_TURN_EVENT_RELAYED_LOST:
                for (size_t i = 0; i < ice->n_entries; i++) {
                        Entry *e = ice->entries[i];
                        (void)fzd_ice_agent_remove_local(e->agent, FZD_ICE_CANDIDATE_RELAY, &te->addr, now);
                        /* The channels are gone with the allocation; they are bound again with it. */
                        for (size_t j = 0; j < e->n_refs;) {
                                if (e->refs[j].handle == r->handle) {
                                        fzd_turn_remove_peer(r->turn, &e->refs[j].peer);
                                        e->refs[j] = e->refs[--e->n_refs];
                                } else
                                        j++;
                        }
                }
                break;
        case FZD_TURN_EVENT_CHANNEL_BOUND:
                for (size_t i = 0; i < ice->n_entries; i++) {
                        Entry *e = ice->entries[i];
                        if (strcmp(e->relay_id, r->id) != 0)
                                continue;
                        fzd_ice_agent_retrigger(e->agent, r->handle, &te->peer, now);
                        update_path(ice, e, now);
                }
                break;
        case FZD_TURN_EVENT_CHANNEL_FAILED:
                for (size_t i = 0; i < ice->n_entries; i++)
                        update_path(ice, ice->entries[i], now);
                break;
        case FZD_TURN_EVENT_CREDENTIALS_EXPIRED:
                ev = push_event(ice, FZD_ICE_EVENT_RELAY_CREDENTIALS_EXPIRED, NULL);
                if (ev)
                        snprintf(ev->relay_id, sizeof(ev->relay_id), "%s", r->id);
                break;
        case FZD_TURN_EVENT_FAILED:
                r->failed = true;
                ev = push_event(ice, FZD_ICE_EVENT_RELAY_FAILED, NULL);
                if (ev) {
                        snprintf(ev->relay_id, sizeof(ev->relay_id), "%s", r->id);
                        ev->addr = *fzd_turn_get_server(r->turn);
                        ev->turn_failure = te->failure;
                        ev->error = te->error;
                }
                break;
        default:
                break;
        }
}

static void send_agent_transmit(FzdIce *ice, const FzdIceAgentTransmit *t, uint64_t now) {
        Relay *r;
        uint16_t channel = 0;
        int n;

        if (t->relay < 0) {
                if (fzd_ice_transmit_queue(&ice->transmits, &t->source, &t->dest, 0, t->data, t->len) < 0)
                        ice->stats.dropped++;
                return;
        }
        r = relay_by_handle(ice, t->relay);
        if (!r) {
                ice->stats.relayed_dropped++;
                return;
        }
        n = fzd_turn_encapsulate(r->turn, &t->dest, t->data, t->len, now, ice->scratch, SCRATCH_SIZE,
                                 &channel);
        /* A ChannelBind it started must go out before data on that channel. */
        drain_relay_transmits(ice, r);
        if (n < 0) {
                ice->stats.relayed_dropped++;
                return;
        }
        {
                const FzdAddr *server = fzd_turn_get_server(r->turn), *local = fzd_turn_get_local(r->turn);
                FzdAddr source = fzd_addr_is_set(local) ? *local : (FzdAddr){.family = server->family};
                if (fzd_ice_transmit_queue(&ice->transmits, &source, server, channel, ice->scratch,
                                           (size_t)n) < 0)
                        ice->stats.dropped++;
        }
}

static void on_agent_event(FzdIce *ice, Entry *e, const FzdIceAgentEvent *ae, uint64_t now) {
        FzdIceEvent *ev;

        switch (ae->type) {
        case FZD_ICE_AGENT_EVENT_CANDIDATE:
        case FZD_ICE_AGENT_EVENT_CANDIDATE_INVALIDATED:
                ev = push_event(ice,
                                ae->type == FZD_ICE_AGENT_EVENT_CANDIDATE
                                        ? FZD_ICE_EVENT_CANDIDATE
                                        : FZD_ICE_EVENT_CANDIDATE_INVALIDATED,
                                e);
                if (ev)
                        snprintf(ev->candidate, sizeof(ev->candidate), "%s", ae->candidate);
                break;
        case FZD_ICE_AGENT_EVENT_STATE:
                update_path(ice, e, now);
                if (ae->state == FZD_ICE_STATE_FAILED && !e->failed_emitted) {
                        e->failed_emitted = true;
                        release_peer_refs(ice, e, NULL);
                        ev = push_event(ice, FZD_ICE_EVENT_FAILED, e);
                        if (ev)
                                ev->failure = ae->failure;
                }
                break;
        case FZD_ICE_AGENT_EVENT_SELECTED:
        case FZD_ICE_AGENT_EVENT_NOMINATED:
                update_path(ice, e, now);
                break;
        default:
                break;
        }
}

/* Frees relays marked failed (by a TURN failure, or by removal); announce: NO_RELAYS if that
 * left none (a failure, not the portal's decision). */
static void reap_failed_relays(FzdIce *ice, uint64_t now, bool announce) {
        bool removed = false;

        for (size_t i = 0; i < ice->n_relays;) {
                Relay *r = &ice->relays[i];
                if (!r->failed) {
                        i++;
                        continue;
                }
                for (size_t j = 0; j < ice->n_entries; j++)
                        for (size_t k = 0; k < ice->entries[j]->n_refs;) {
                                if (ice->entries[j]->refs[k].handle == r->handle)
                                        ice->entries[j]->refs[k] =
                                                ice->entries[j]->refs[--ice->entries[j]->n_refs];
                                else
                                        k++;
                        }
                remember_removed(ice, fzd_turn_get_server(r->turn));
                fzd_turn_free(r->turn);
                ice->relays[i] = ice->relays[--ice->n_relays];
                removed = true;
        }
        if (!removed)
                return;
        for (size_t j = 0; j < ice->n_entries; j++)
                choose_relay(ice, ice->entries[j], now);
        if (announce && ice->n_relays == 0)
                (void)push_event(ice, FZD_ICE_EVENT_NO_RELAYS, NULL);
}

static void pump(FzdIce *ice, uint64_t now) {
        bool progress;

        do {
                progress = false;
                for (size_t i = 0; i < ice->n_relays; i++) {
                        Relay *r = &ice->relays[i];
                        FzdTurnEvent te;
                        FzdIceTransmit t;
                        while (fzd_turn_poll_transmit(r->turn, &t)) {
                                if (fzd_ice_transmit_queue(&ice->transmits, &t.source, &t.dest, t.channel,
                                                           t.data, t.len) < 0)
                                        ice->stats.dropped++;
                                progress = true;
                        }
                        while (fzd_turn_poll_event(r->turn, &te)) {
                                on_turn_event(ice, r, &te, now);
                                progress = true;
                        }
                }
                for (size_t i = 0; i < ice->n_entries; i++) {
                        Entry *e = ice->entries[i];
                        FzdIceAgentEvent ae;
                        FzdIceAgentTransmit t;
                        while (fzd_ice_agent_poll_event(e->agent, &ae)) {
                                on_agent_event(ice, e, &ae, now);
                                progress = true;
                        }
                        while (fzd_ice_agent_poll_transmit(e->agent, &t)) {
                                send_agent_transmit(ice, &t, now);
                                progress = true;
                        }
                }
                for (size_t i = 0; i < ice->n_relays; i++)
                        if (ice->relays[i].failed) {
                                reap_failed_relays(ice, now, true);
                                progress = true;
                                break;
                        }
        } while (progress);
}

/* ---- public ---------------------------------------------------------------------------- */

int fzd_ice_new(const FzdIceConfig *c, FzdIce **ret) {
        FzdIce *ice = calloc(1, sizeof(*ice));

        if (!ice)
                return -ENOMEM;
        if (c)
                ice->cfg = *c;
        ice->log = (FzdIceLog){.func = ice->cfg.log, .userdata = ice->cfg.log_userdata, .burst = ice->cfg.log_burst};
        if (ice->cfg.software) {
                ice->software = strdup(ice->cfg.software);
                if (!ice->software) {
                        free(ice);
                        return -ENOMEM;
                }
                ice->cfg.software = ice->software;
        }
        ice->scratch = malloc(SCRATCH_SIZE);
        if (!ice->scratch) {
                free(ice->software);
                free(ice);
                return -ENOMEM;
        }
        fzd_queue_init(&ice->transmits, QUEUE_CAP);
        fzd_queue_init(&ice->events, QUEUE_CAP);
        *ret = ice;
        return 0;
}

FzdIce *fzd_ice_free(FzdIce *ice) {
        if (!ice)
                return NULL;
        for (size_t i = 0; i < ice->n_entries; i++) {
                fzd_ice_agent_free(ice->entries[i]->agent);
                free(ice->entries[i]);
        }
        free(ice->entries);
        for (size_t i = 0; i < ice->n_relays; i++)
                fzd_turn_free(ice->relays[i].turn);
        fzd_queue_clear(&ice->transmits);
        fzd_queue_clear(&ice->events);
        free(ice->scratch);
        free(ice->software);
        free(ice);
        return NULL;
}

int fzd_ice_upsert_relay(FzdIce *ice, const FzdIceRelay *rp, uint64_t now) {
        FzdTurnParams tp;
        Relay *r;
        int k;

        if (!rp || !rp->id || !*rp->id || strlen(rp->id) > FZD_ICE_RELAY_ID_MAX ||
            !fzd_addr_is_set(&rp->addr) || fzd_addr_is_unspecified(&rp->addr) || rp->addr.port == 0 ||
            !rp->username || !rp->password)
                return -EINVAL;
        r = relay_by_id(ice, rp->id, rp->addr.family);
        if (r && fzd_addr_eq(fzd_turn_get_server(r->turn), &rp->addr)) {
                k = fzd_turn_update_credentials(r->turn, rp->username, rp->password, rp->expires_at, now);
                pump(ice, now);
                return k;
        }
        if (r) {
                /* Moved: drop the old allocation (its candidates go with it), start anew. */
                r->failed = true;
                for (size_t i = 0; i < ice->n_entries; i++) {
                        const FzdAddr *relayed = fzd_turn_get_relayed(r->turn);
                        if (fzd_addr_is_set(relayed))
                                (void)fzd_ice_agent_remove_local(ice->entries[i]->agent,
                                                                 FZD_ICE_CANDIDATE_RELAY, relayed, now);
                }
                reap_failed_relays(ice, now, false);
        }
        if (ice->n_relays >= FZD_ICE_MAX_RELAYS)
                return -ENOSPC;
        tp = (FzdTurnParams){
                .server = rp->addr,
                .username = rp->username,
                .password = rp->password,
                .realm = rp->realm,
                .credentials_expire = rp->expires_at,
                .requested_lifetime = ice->cfg.turn_lifetime,
                .software = ice->cfg.software,
                .log = &ice->log,
        };
        r = &ice->relays[ice->n_relays];
        *r = (Relay){.handle = ++ice->next_handle};
        snprintf(r->id, sizeof(r->id), "%s", rp->id);
        k = fzd_turn_new(&tp, now, &r->turn);
        if (k < 0)
                return k;
        ice->n_relays++;
        forget_removed(ice, &rp->addr);
        pump(ice, now);
        return 1;
}

int fzd_ice_remove_relay(FzdIce *ice, const char *id, uint64_t now) {
        bool found = false;

        if (!id)
                return -EINVAL;
        for (size_t i = 0; i < ice->n_relays; i++) {
                Relay *r = &ice->relays[i];
                const FzdAddr *relayed = fzd_turn_get_relayed(r->turn);
                if (r->failed || strcmp(r->id, id) != 0)
                        continue;
                found = true;
                r->failed = true;
                if (fzd_addr_is_set(relayed))
                        for (size_t j = 0; j < ice->n_entries; j++)
                                (void)fzd_ice_agent_remove_local(ice->entries[j]->agent,
                                                                 FZD_ICE_CANDIDATE_RELAY, relayed, now);
        }
        if (!found)
                return -ENOENT;
        reap_failed_relays(ice, now, false);
        pump(ice, now);
        return 0;
}

void fzd_ice_release(FzdIce *ice, uint64_t now) {
        for (size_t i = 0; i < ice->n_relays; i++)
                fzd_turn_release(ice->relays[i].turn, now);
        pump(ice, now);
}

void fzd_ice_reset(FzdIce *ice, uint64_t now) {
        for (size_t i = 0; i < ice->n_hosts;) {
                if (ice->hosts[i].learned) {
                        for (size_t j = 0; j < ice->n_entries; j++)
                                (void)fzd_ice_agent_remove_local(ice->entries[j]->agent,
                                                                 FZD_ICE_CANDIDATE_HOST, &ice->hosts[i].addr,
                                                                 now);
                        ice->hosts[i] = ice->hosts[--ice->n_hosts];
                        continue;
                }
                i++;
        }
        for (size_t i = 0; i < ice->n_relays; i++)
                fzd_turn_restart(ice->relays[i].turn, now);
        pump(ice, now);
}

int fzd_ice_set_host_candidates(FzdIce *ice, const FzdAddr *addrs, size_t n, uint64_t now) {
        if (n > FZD_ICE_MAX_HOSTS)
                return -ENOSPC;
        for (size_t i = 0; i < n; i++)
                if (!fzd_addr_is_set(&addrs[i]) || fzd_addr_is_unspecified(&addrs[i]) || addrs[i].port == 0)
                        return -EINVAL;
        /* Gone ones first (learned ones stay: a relay vouched for them). */
        for (size_t i = 0; i < ice->n_hosts;) {
                bool keep = ice->hosts[i].learned;
                for (size_t j = 0; j < n && !keep; j++)
                        keep = fzd_addr_eq(&ice->hosts[i].addr, &addrs[j]);
                if (!keep) {
                        for (size_t j = 0; j < ice->n_entries; j++)
                                (void)fzd_ice_agent_remove_local(ice->entries[j]->agent,
                                                                 FZD_ICE_CANDIDATE_HOST, &ice->hosts[i].addr,
                                                                 now);
                        ice->hosts[i] = ice->hosts[--ice->n_hosts];
                        continue;
                }
                i++;
        }
        for (size_t j = 0; j < n; j++) {
                bool have = false;
                for (size_t i = 0; i < ice->n_hosts; i++)
                        if (fzd_addr_eq(&ice->hosts[i].addr, &addrs[j])) {
                                ice->hosts[i].learned = false;
                                have = true;
                        }
                if (have)
                        continue;
                if (ice->n_hosts >= FZD_ICE_MAX_HOSTS)
                        return -ENOSPC;
                ice->hosts[ice->n_hosts++] = (Host){.addr = addrs[j]};
                add_host_to_agents(ice, &addrs[j], now);
        }
        pump(ice, now);
        return 0;
}

static Entry *entry_of(FzdIce *ice, FzdIceAgent *a, size_t *ret_index) {
        for (size_t i = 0; i < ice->n_entries; i++)
                if (ice->entries[i]->agent == a) {
                        if (ret_index)
                                *ret_index = i;
                        return ice->entries[i];
                }
        return NULL;
}

int fzd_ice_add_agent(FzdIce *ice, const FzdIceAgentConfig *c, void *userdata, uint64_t now,
                      FzdIceAgent **ret) {
        FzdIceAgentConfig cfg;
        Entry *e;
        int r;

        if (!c)
                return -EINVAL;
        cfg = *c;
        if (!cfg.log)
                cfg.log = &ice->log;
        if (!cfg.ta && ice->cfg.ta_set)
                cfg.ta = ice->cfg.ta;
        else if (!cfg.ta)
                cfg.ta = FZD_ICE_DEFAULT_TA;
        if (!cfg.active.initial_rto)
                cfg.active = ice->cfg.active;
        if (!cfg.idle.initial_rto)
                cfg.idle = ice->cfg.idle;
        if (!cfg.idle_after)
                cfg.idle_after = ice->cfg.idle_after;
        if (!cfg.candidate_timeout)
                cfg.candidate_timeout = ice->cfg.candidate_timeout;
        if (!cfg.disconnect_grace)
                cfg.disconnect_grace = ice->cfg.disconnect_grace;
        for (size_t i = 0; i < ice->n_entries; i++)
                if (strcmp(fzd_ice_agent_get_local_ufrag(ice->entries[i]->agent),
                           cfg.local_ufrag ? cfg.local_ufrag : "") == 0)
                        return -EEXIST; /* checks are routed by our ufrag: it must be unique */
        if (ice->n_entries == ice->cap_entries) {
                size_t cap = ice->cap_entries ? ice->cap_entries * 2 : 8;
                Entry **n = reallocarray(ice->entries, cap, sizeof(Entry *));
                if (!n)
                        return -ENOMEM;
                ice->entries = n;
                ice->cap_entries = cap;
        }
        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        r = fzd_ice_agent_new(&cfg, now, &e->agent);
        if (r < 0) {
                free(e);
                return r;
        }
        e->userdata = userdata;
        ice->entries[ice->n_entries++] = e;

        for (size_t i = 0; i < ice->n_hosts; i++)
                (void)fzd_ice_agent_add_local(e->agent, FZD_ICE_CANDIDATE_HOST, &ice->hosts[i].addr, NULL,
                                              NULL, -1, now);
        for (size_t i = 0; i < ice->n_relays; i++) {
                const FzdAddr *mapped = fzd_turn_get_mapped(ice->relays[i].turn);
                if (fzd_addr_is_set(mapped))
                        (void)fzd_ice_agent_add_local(e->agent, FZD_ICE_CANDIDATE_SRFLX, mapped,
                                                      fzd_turn_get_local(ice->relays[i].turn),
                                                      fzd_turn_get_server(ice->relays[i].turn), -1, now);
        }
        choose_relay(ice, e, now);
        fzd_ice_agent_handle_timeout(e->agent, now);
        pump(ice, now);
        *ret = e->agent;
        return 0;
}

static int event_of_agent(void *item, void *userdata) {
        return ((FzdIceEvent *)item)->agent == userdata;
}

void fzd_ice_remove_agent(FzdIce *ice, FzdIceAgent *a) {
        size_t i;
        Entry *e = entry_of(ice, a, &i);

        if (!e)
                return;
        release_peer_refs(ice, e, NULL);
        fzd_queue_remove_if(&ice->events, event_of_agent, a);
        ice->entries[i] = ice->entries[--ice->n_entries];
        fzd_ice_agent_free(e->agent);
        free(e);
}

size_t fzd_ice_count_agents(const FzdIce *ice) {
        return ice->n_entries;
}

int fzd_ice_add_remote_candidate(FzdIce *ice, FzdIceAgent *a, const char *sdp, uint64_t now,
                                 const char **ret_reason) {
        Entry *e = entry_of(ice, a, NULL);
        FzdIceCandidate c;
        int r;

        if (!e) {
                if (ret_reason)
                        *ret_reason = "no such connection";
                return -ENOENT;
        }
        r = fzd_ice_candidate_parse(sdp, &c, ret_reason);
        if (r < 0)
                return r;
        r = fzd_ice_agent_add_remote_candidate(a, &c, now, ret_reason);
        if (r < 0)
                return r;
        {
                RemoteAddr ra = {.addr = c.addr, .type = c.type};
                bool known = false;
                for (size_t i = 0; i < e->n_remotes; i++)
                        if (fzd_addr_eq(&e->remotes[i].addr, &c.addr)) {
                                e->remotes[i].type = c.type;
                                known = true;
                        }
                if (!known && e->n_remotes < FZD_ICE_MAX_REMOTE_CANDIDATES)
                        e->remotes[e->n_remotes++] = ra;
                bind_remote(ice, e, &ra, now);
        }
        fzd_ice_agent_handle_timeout(a, now);
        pump(ice, now);
        return 0;
}

int fzd_ice_remove_remote_candidate(FzdIce *ice, FzdIceAgent *a, const char *sdp, uint64_t now,
                                    const char **ret_reason) {
        Entry *e = entry_of(ice, a, NULL);
        FzdIceCandidate c;
        int r;

        if (!e) {
                if (ret_reason)
                        *ret_reason = "no such connection";
                return -ENOENT;
        }
        r = fzd_ice_candidate_parse(sdp, &c, ret_reason);
        if (r < 0)
                return r;
        r = fzd_ice_agent_remove_remote(a, sdp, now, ret_reason);
        for (size_t i = 0; i < e->n_remotes; i++)
                if (fzd_addr_eq(&e->remotes[i].addr, &c.addr)) {
                        e->remotes[i] = e->remotes[--e->n_remotes];
                        break;
                }
        release_peer_refs(ice, e, &c.addr);
        pump(ice, now);
        return r;
}

int fzd_ice_get_path(FzdIce *ice, FzdIceAgent *a, FzdIcePath *ret) {
        Entry *e = entry_of(ice, a, NULL);

        if (!e || !e->has_path)
                return -ENOENT;
        *ret = e->path;
        return 0;
}

FzdIceInput fzd_ice_handle_input(FzdIce *ice, uint64_t now, const FzdAddr *local, const FzdAddr *from,
                                 const uint8_t *buf, size_t len, FzdIceUnwrapped *ret) {
        FzdStunMsg m;
        FzdAddr inner_local = *local, inner_from = *from;
        const uint8_t *data = buf;
        size_t n = len;
        int relay_handle = -1;

        if (len == 0) {
                ice->stats.inputs_other++;
                return FZD_ICE_INPUT_NOT_ICE;
        }
        /* DESIGN §7.3: from a relay's port 3478, 0-3 is TURN/STUN and 64-79 ChannelData. */
        if (from->port == FZD_TURN_PORT && (buf[0] <= 3 || (buf[0] >= 64 && buf[0] <= 79))) {
                Relay *r = relay_by_server(ice, from);
                if (r) {
                        FzdAddr peer;
                        const uint8_t *payload;
                        size_t plen;
                        FzdTurnInput in = fzd_turn_handle_input(r->turn, now, local, from, buf, len, &peer,
                                                                &payload, &plen);
                        if (in == FZD_TURN_INPUT_CONSUMED) {
                                ice->stats.inputs_turn++;
                                pump(ice, now);
                                return FZD_ICE_INPUT_CONSUMED;
                        }
                        if (in == FZD_TURN_INPUT_DATA) {
                                if (plen > 0 && payload[0] <= 3 && fzd_stun_looks_like(payload, plen)) {
                                        /* A connectivity check through our relayed candidate. */
                                        inner_local = *fzd_turn_get_relayed(r->turn);
                                        inner_from = peer;
                                        data = payload;
                                        n = plen;
                                        relay_handle = r->handle;
                                } else {
                                        ice->stats.inputs_unwrapped++;
                                        *ret = (FzdIceUnwrapped){
                                                .peer = peer,
                                                .relayed = *fzd_turn_get_relayed(r->turn),
                                                .relay = *from,
                                                .channel =
                                                        buf[0] >= 64 ? (uint16_t)(buf[0] << 8 | buf[1]) : 0,
                                                .data = payload,
                                                .len = plen,
                                        };
                                        pump(ice, now);
                                        return FZD_ICE_INPUT_UNWRAPPED;
                                }
                        }
                } else if (fzd_ice_is_relay(ice, from)) {
                        /* A relay we dropped: its late packets are nobody's. */
                        ice->stats.dropped++;
                        return FZD_ICE_INPUT_CONSUMED;
                }
        }
        if (data[0] > 3 || !fzd_stun_looks_like(data, n)) {
                if (relay_handle >= 0) {
                        ice->stats.dropped++;
                        return FZD_ICE_INPUT_CONSUMED;
                }
                ice->stats.inputs_other++;
                return FZD_ICE_INPUT_NOT_ICE;
        }
        ice->stats.inputs_ice++;
        if (fzd_stun_parse(data, n, &m) < 0) {
                ice->stats.dropped++;
                fzd_ice_log_packet(&ice->log, now, LOG_DEBUG, "ICE: malformed STUN dropped");
                return FZD_ICE_INPUT_CONSUMED;
        }
        for (size_t i = 0; i < ice->n_entries; i++)
                if (fzd_ice_agent_owns(ice->entries[i]->agent, &m)) {
                        fzd_ice_agent_handle_stun(ice->entries[i]->agent, now, &m, &inner_local, &inner_from,
                                                  relay_handle);
                        pump(ice, now);
                        return FZD_ICE_INPUT_CONSUMED;
                }
        ice->stats.dropped++;
        if (m.cls != FZD_STUN_INDICATION)
                fzd_ice_log_packet(&ice->log, now, LOG_DEBUG,
                                   "ICE: STUN %s for no connection of ours dropped",
                                   fzd_stun_method_name(m.method));
        return FZD_ICE_INPUT_CONSUMED;
}

bool fzd_ice_poll_transmit(FzdIce *ice, FzdIceTransmit *ret) {
        return fzd_ice_transmit_pop(&ice->transmits, ret);
}

bool fzd_ice_poll_event(FzdIce *ice, FzdIceEvent *ret) {
        FzdIceEvent *e = fzd_queue_pop(&ice->events);

        if (!e)
                return false;
        *ret = *e;
        return true;
}

uint64_t fzd_ice_poll_timeout(const FzdIce *ice) {
        uint64_t next = UINT64_MAX, t;

        for (size_t i = 0; i < ice->n_relays; i++) {
                t = fzd_turn_poll_timeout(ice->relays[i].turn);
                if (t < next)
                        next = t;
        }
        for (size_t i = 0; i < ice->n_entries; i++) {
                t = fzd_ice_agent_poll_timeout(ice->entries[i]->agent);
                if (t < next)
                        next = t;
        }
        return next;
}

void fzd_ice_handle_timeout(FzdIce *ice, uint64_t now) {
        for (size_t i = 0; i < ice->n_relays; i++)
                fzd_turn_handle_timeout(ice->relays[i].turn, now);
        for (size_t i = 0; i < ice->n_entries; i++)
                fzd_ice_agent_handle_timeout(ice->entries[i]->agent, now);
        pump(ice, now);
}

const FzdIceStats *fzd_ice_get_stats(const FzdIce *ice) {
        return &ice->stats;
}
