/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "channel-data.h"
#include "stun.h"
#include "turn.h"

#define QUEUE_CAP    256
#define MAX_MESSAGE  2048
#define NO_LIFETIME  (-1)
#define MAX_NONCE    763
#define MAX_USERNAME 513
#define MAX_REALM    763
#define MAX_SOFTWARE 127
/* coturn keeps a deleted allocation's session for a moment: 0.5 s, doubling, at most 5 s. */
#define MISMATCH_RETRY_FIRST_USEC FZD_USEC(500)
#define MISMATCH_RETRY_USEC       FZD_SEC(5)
#define MISMATCH_GIVE_UP_USEC     FZD_SEC(3600) /* coturn's longest allocation lifetime */

typedef struct Tx {
        uint8_t txid[FZD_STUN_TXID_SIZE];
        uint16_t method;
        bool authenticated;
        bool with_nonce;
        bool retransmitted;
        unsigned generation; /* of the credentials it was signed with */
        unsigned stale_retries;
        FzdAddr peer;
        uint16_t channel;
        int64_t lifetime; /* NO_LIFETIME: attribute not sent */
        uint64_t first_sent, next_send, interval, deadline;
        uint8_t *msg;
        size_t msg_len;
} Tx;

typedef struct Channel {
        FzdAddr peer;
        uint16_t number;
        bool bound;   /* the relay confirmed it (and its lifetime runs from bound_at) */
        bool binding; /* a ChannelBind is in flight */
        bool dead;    /* failed or expired: the number is held until hold_until */
        uint64_t bound_at;
        uint64_t last_activity;
        uint64_t hold_until;
        unsigned refs;
} Channel;

typedef struct Permission {
        FzdAddr ip;            /* port 0 */
        uint64_t installed_at; /* 0: never confirmed */
        bool pending;
} Permission;

struct FzdTurn {
        FzdAddr server, local, mapped, relayed;
        char *username, *password, *realm, *software;
        uint8_t key[16];
        uint8_t nonce[MAX_NONCE];
        size_t nonce_len;
        unsigned generation;
        char *next_username, *next_password; /* taken once the old allocation is deleted */
        uint64_t next_expire;
        uint64_t credentials_expire;
        bool expiry_notified;
        uint32_t requested_lifetime;

        FzdTurnState state;
        FzdTurnFailure failure;
        uint32_t lifetime;
        uint64_t allocated_at, refresh_at, next_keepalive;
        bool reallocate_after_delete;
        /* 437 to an Allocate after we tried deleting the old allocation (coturn keeps a deleted
         * one's session a moment; with expired credentials it cannot be deleted at all): the
         * relay still holds it; try again until it is gone. */
        bool mismatch_deleted;
        uint64_t mismatch_since, allocate_retry_at, mismatch_delay;
        uint64_t rtt;

        Tx tx[FZD_TURN_MAX_INFLIGHT];
        size_t n_tx;
        Channel *channels;
        size_t n_channels, cap_channels;
        uint16_t next_channel;
        Permission *perms;
        size_t n_perms, cap_perms;

        FzdQueue transmits, events;
        FzdTurnStats stats;
        FzdIceLog *log;
};

static const char *const state_names[_FZD_TURN_STATE_MAX] = {
        [FZD_TURN_BINDING] = "binding",   [FZD_TURN_ALLOCATING] = "allocating", [FZD_TURN_READY] = "ready",
        [FZD_TURN_DELETING] = "deleting", [FZD_TURN_FAILED] = "failed",
};

static const char *const failure_names[_FZD_TURN_FAILURE_MAX] = {
        [FZD_TURN_FAILURE_NONE] = "none",
        [FZD_TURN_FAILURE_AUTH] = "credentials refused",
        [FZD_TURN_FAILURE_NO_RESPONSE] = "no response",
        [FZD_TURN_FAILURE_PROTOCOL] = "protocol error",
};

static const char *const event_names[_FZD_TURN_EVENT_MAX] = {
        [FZD_TURN_EVENT_MAPPED] = "mapped",
        [FZD_TURN_EVENT_RELAYED] = "relayed",
        [FZD_TURN_EVENT_RELAYED_LOST] = "relayed-lost",
        [FZD_TURN_EVENT_REFRESHED] = "refreshed",
        [FZD_TURN_EVENT_CHANNEL_BOUND] = "channel-bound",
        [FZD_TURN_EVENT_CHANNEL_FAILED] = "channel-failed",
        [FZD_TURN_EVENT_CREDENTIALS_EXPIRED] = "credentials-expired",
        [FZD_TURN_EVENT_FAILED] = "failed",
};

const char *fzd_turn_state_to_string(FzdTurnState s) {
        return s < _FZD_TURN_STATE_MAX ? state_names[s] : "unknown";
}

const char *fzd_turn_failure_to_string(FzdTurnFailure f) {
        return f < _FZD_TURN_FAILURE_MAX ? failure_names[f] : "unknown";
}

const char *fzd_turn_event_to_string(FzdTurnEventType t) {
        return t < _FZD_TURN_EVENT_MAX ? event_names[t] : "unknown";
}

static char *strdup_bounded(const char *s, size_t max) {
        if (!s || strlen(s) > max)
                return NULL;
        return strdup(s);
}

static void free_secret(char **s) {
        if (*s) {
                explicit_bzero(*s, strlen(*s));
                free(*s);
                *s = NULL;
        }
}

static void log_server(FzdTurn *t, int level, const char *what) {
        char a[FZD_ADDR_STRLEN];
        fzd_ice_log(t->log, level, "TURN %s: %s", fzd_addr_format(&t->server, a), what);
}

static FzdTurnEvent *push_event(FzdTurn *t, FzdTurnEventType type) {
        FzdTurnEvent *e = fzd_queue_push(&t->events, sizeof(FzdTurnEvent));
        if (e)
                e->type = type;
        return e;
}

static int derive_key(FzdTurn *t) {
        return fzd_stun_long_term_key(t->username, t->realm, t->password, t->key);
}

/* ---- transactions ---------------------------------------------------------------------- */

static Tx *find_tx(FzdTurn *t, const uint8_t txid[FZD_STUN_TXID_SIZE]) {
        for (size_t i = 0; i < t->n_tx; i++)
                if (memcmp(t->tx[i].txid, txid, FZD_STUN_TXID_SIZE) == 0)
                        return &t->tx[i];
        return NULL;
}

static bool tx_in_flight(const FzdTurn *t, uint16_t method, const FzdAddr *peer, uint16_t channel) {
        for (size_t i = 0; i < t->n_tx; i++) {
                const Tx *x = &t->tx[i];
                if (x->method != method)
                        continue;
                if (method == FZD_STUN_CHANNEL_BIND && x->channel != channel)
                        continue;
                if (method == FZD_STUN_CREATE_PERMISSION && !fzd_addr_ip_eq(&x->peer, peer))
                        continue;
                return true;
        }
        return false;
}

/* Removes tx[i]; returns a copy whose msg is already freed. */
static Tx take_tx(FzdTurn *t, Tx *x) {
        Tx copy = *x;
        size_t i = (size_t)(x - t->tx);

        free(x->msg);
        copy.msg = NULL;
        copy.msg_len = 0;
        t->tx[i] = t->tx[--t->n_tx];
        return copy;
}

static void clear_tx(FzdTurn *t, bool (*match)(const Tx *x)) {
        for (size_t i = 0; i < t->n_tx;) {
                if (!match || match(&t->tx[i]))
                        (void)take_tx(t, &t->tx[i]);
                else
                        i++;
        }
}

static int build_request(FzdTurn *t, Tx *x, bool auth) {
        uint8_t buf[MAX_MESSAGE];
        FzdStunBuilder b;
        int n;

        fzd_stun_begin(&b, buf, sizeof(buf), x->method, FZD_STUN_REQUEST, x->txid);
        switch (x->method) {
        case FZD_STUN_ALLOCATE:
                fzd_stun_put_u32(&b, FZD_STUN_ATTR_REQUESTED_TRANSPORT, 17u << 24);
                if (t->server.family == AF_INET6)
                        fzd_stun_put_u32(&b, FZD_STUN_ATTR_REQUESTED_ADDRESS_FAMILY, 0x02u << 24);
                if (x->lifetime != NO_LIFETIME)
                        fzd_stun_put_u32(&b, FZD_STUN_ATTR_LIFETIME, (uint32_t)x->lifetime);
                break;
        case FZD_STUN_REFRESH:
                if (x->lifetime != NO_LIFETIME)
                        fzd_stun_put_u32(&b, FZD_STUN_ATTR_LIFETIME, (uint32_t)x->lifetime);
                break;
        case FZD_STUN_CREATE_PERMISSION:
                fzd_stun_put_xor_addr(&b, FZD_STUN_ATTR_XOR_PEER_ADDRESS, &x->peer);
                break;
        case FZD_STUN_CHANNEL_BIND:
                fzd_stun_put_u32(&b, FZD_STUN_ATTR_CHANNEL_NUMBER, (uint32_t)x->channel << 16);
                fzd_stun_put_xor_addr(&b, FZD_STUN_ATTR_XOR_PEER_ADDRESS, &x->peer);
                break;
        default:
                break;
        }
        if (t->software)
                fzd_stun_put_str(&b, FZD_STUN_ATTR_SOFTWARE, t->software);
        if (auth) {
                fzd_stun_put_str(&b, FZD_STUN_ATTR_USERNAME, t->username);
                fzd_stun_put_str(&b, FZD_STUN_ATTR_REALM, t->realm);
                fzd_stun_put(&b, FZD_STUN_ATTR_NONCE, t->nonce, t->nonce_len);
                fzd_stun_put_integrity(&b, t->key, sizeof(t->key));
        }
        n = fzd_stun_finish(&b);
        if (n < 0)
                return n;
        x->msg = malloc((size_t)n);
        if (!x->msg)
                return -ENOMEM;
        memcpy(x->msg, buf, (size_t)n);
        x->msg_len = (size_t)n;
        x->authenticated = auth;
        x->with_nonce = auth;
        return 0;
}

static void send_to_server(FzdTurn *t, const uint8_t *data, size_t len, uint16_t channel, uint64_t now) {
        FzdAddr source = {.family = t->server.family};

        if (fzd_addr_is_set(&t->local) && t->local.family == t->server.family)
                source = t->local;
        if (fzd_ice_transmit_queue(&t->transmits, &source, &t->server, channel, data, len) < 0)
                t->stats.dropped++;
        /* Anything sent to the relay keeps the NAT binding open: the next keepalive can wait. */
        if (t->state == FZD_TURN_READY)
                t->next_keepalive = now + FZD_TURN_KEEPALIVE_USEC;
}

static Tx *start_tx(FzdTurn *t, uint64_t now, uint16_t method, const FzdAddr *peer, uint16_t channel,
                    int64_t lifetime, unsigned stale_retries) {
        Tx *x;
        bool auth = method != FZD_STUN_BINDING && t->nonce_len > 0;

        if (t->n_tx >= FZD_TURN_MAX_INFLIGHT) {
                log_server(t, LOG_WARNING, "too many requests in flight, not sending another");
                return NULL;
        }
        x = &t->tx[t->n_tx];
        *x = (Tx){
                .method = method,
                .generation = t->generation,
                .stale_retries = stale_retries,
                .channel = channel,
                .lifetime = lifetime,
        };
        if (peer)
                x->peer = *peer;
        if (fzd_stun_new_txid(x->txid) < 0 || build_request(t, x, auth) < 0) {
                free(x->msg);
                log_server(t, LOG_ERR, "cannot build a request");
                return NULL;
        }
        t->n_tx++;
        x->first_sent = now;
        x->interval = FZD_TURN_REQUEST_TIMEOUT_USEC;
        x->next_send = now + x->interval;
        x->deadline = now + FZD_TURN_REQUEST_MAX_ELAPSED_USEC;
        t->stats.requests++;
        {
                char a[FZD_ADDR_STRLEN];
                fzd_ice_log(t->log, LOG_DEBUG, "TURN %s: %s%s%s", fzd_addr_format(&t->server, a),
                            fzd_stun_method_name(method), auth ? " (authenticated)" : "",
                            method == FZD_STUN_REFRESH && lifetime == 0 ? " (delete)" : "");
        }
        send_to_server(t, x->msg, x->msg_len, 0, now);
        return x;
}

/* The same request again as a new transaction (after a 401 challenge or a 438). */
static void retry_tx(FzdTurn *t, uint64_t now, const Tx *old, unsigned stale_retries) {
        (void)start_tx(t, now, old->method, &old->peer, old->channel, old->lifetime, stale_retries);
}

/* ---- channels and permissions ---------------------------------------------------------- */

static Channel *find_channel_by_peer(FzdTurn *t, const FzdAddr *peer) {
        for (size_t i = 0; i < t->n_channels; i++)
                if (!t->channels[i].dead && fzd_addr_eq(&t->channels[i].peer, peer))
                        return &t->channels[i];
        return NULL;
}

static Channel *find_channel_by_number(FzdTurn *t, uint16_t number) {
        for (size_t i = 0; i < t->n_channels; i++)
                if (!t->channels[i].dead && t->channels[i].number == number)
                        return &t->channels[i];
        return NULL;
}

static bool number_taken(const FzdTurn *t, uint16_t number) {
        for (size_t i = 0; i < t->n_channels; i++)
                if (t->channels[i].number == number)
                        return true;
        return false;
}

static Permission *find_perm(FzdTurn *t, const FzdAddr *peer) {
        for (size_t i = 0; i < t->n_perms; i++)
                if (fzd_addr_ip_eq(&t->perms[i].ip, peer))
                        return &t->perms[i];
        return NULL;
}

static Permission *get_perm(FzdTurn *t, const FzdAddr *peer) {
        Permission *p = find_perm(t, peer);

        if (p)
                return p;
        if (t->n_perms >= FZD_TURN_MAX_PERMISSIONS)
                return NULL;
        if (t->n_perms == t->cap_perms) {
                size_t cap = t->cap_perms ? t->cap_perms * 2 : 8;
                Permission *n = reallocarray(t->perms, cap, sizeof(*n));
                if (!n)
                        return NULL;
                t->perms = n;
                t->cap_perms = cap;
        }
        p = &t->perms[t->n_perms++];
        *p = (Permission){.ip = *peer};
        p->ip.port = 0;
        return p;
}

static bool channel_in_use(const Channel *c, uint64_t now) {
        return c->refs > 0 || now < c->last_activity + FZD_TURN_PEER_IDLE_USEC;
}

static void send_channel_bind(FzdTurn *t, Channel *c, uint64_t now) {
        Permission *p;

        if (c->binding || tx_in_flight(t, FZD_STUN_CHANNEL_BIND, &c->peer, c->number))
                return;
        if (start_tx(t, now, FZD_STUN_CHANNEL_BIND, &c->peer, c->number, NO_LIFETIME, 0)) {
                c->binding = true;
                /* ChannelBind installs the permission too. */
                p = get_perm(t, &c->peer);
                if (p)
                        p->pending = true;
        }
}

static Channel *new_channel(FzdTurn *t, const FzdAddr *peer, uint64_t now) {
        Channel *c;
        uint16_t number = 0;
        const unsigned range = FZD_TURN_CHANNEL_MAX - FZD_TURN_CHANNEL_MIN + 1;

        if (t->n_channels >= FZD_TURN_MAX_CHANNELS)
                return NULL;
        for (unsigned i = 0; i < range; i++) {
                uint16_t candidate = (uint16_t)(FZD_TURN_CHANNEL_MIN +
                                                (t->next_channel - FZD_TURN_CHANNEL_MIN + i) % range);
                if (!number_taken(t, candidate)) {
                        number = candidate;
                        break;
                }
        }
        if (!number)
                return NULL;
        t->next_channel = number == FZD_TURN_CHANNEL_MAX ? FZD_TURN_CHANNEL_MIN : (uint16_t)(number + 1);
        if (t->n_channels == t->cap_channels) {
                size_t cap = t->cap_channels ? t->cap_channels * 2 : 8;
                Channel *n = reallocarray(t->channels, cap, sizeof(*n));
                if (!n)
                        return NULL;
                t->channels = n;
                t->cap_channels = cap;
        }
        c = &t->channels[t->n_channels++];
        *c = (Channel){.peer = *peer, .number = number, .last_activity = now};
        if (t->state == FZD_TURN_READY)
                send_channel_bind(t, c, now);
        return c;
}

/* ---- allocation state ------------------------------------------------------------------ */

static bool is_allocation_tx(const Tx *x) {
        return x->method != FZD_STUN_BINDING;
}

static bool has_authenticated_allocate(const FzdTurn *t) {
        for (size_t i = 0; i < t->n_tx; i++)
                if (t->tx[i].method == FZD_STUN_ALLOCATE && t->tx[i].authenticated)
                        return true;
        return false;
}

/* The relayed address is gone: tell the user, forget channels' binding state (they are
 * bound again on the next allocation, numbers restart) and permissions. */
static void lose_allocation(FzdTurn *t) {
        FzdTurnEvent *e;

        if (fzd_addr_is_set(&t->relayed)) {
                e = push_event(t, FZD_TURN_EVENT_RELAYED_LOST);
                if (e)
                        e->addr = t->relayed;
        }
        t->relayed = (FzdAddr){};
        t->lifetime = 0;
        t->allocated_at = t->refresh_at = 0;
        clear_tx(t, is_allocation_tx);
        for (size_t i = 0; i < t->n_channels;) {
                Channel *c = &t->channels[i];
                if (c->dead || c->refs == 0) {
                        t->channels[i] = t->channels[--t->n_channels];
                        continue;
                }
                c->bound = c->binding = false;
                i++;
        }
        t->n_perms = 0;
}

static void fail(FzdTurn *t, FzdTurnFailure why, int code) {
        FzdTurnEvent *e;
        char msg[96];

        if (t->state == FZD_TURN_FAILED)
                return;
        lose_allocation(t);
        clear_tx(t, NULL);
        t->state = FZD_TURN_FAILED;
        t->failure = why;
        if (code)
                snprintf(msg, sizeof(msg), "allocation failed: %s, error %d",
                         fzd_turn_failure_to_string(why), code);
        else
                snprintf(msg, sizeof(msg), "allocation failed: %s", fzd_turn_failure_to_string(why));
        log_server(t, LOG_WARNING, msg);
        e = push_event(t, FZD_TURN_EVENT_FAILED);
        if (e) {
                e->failure = why;
                e->error = code;
        }
}

static void start_allocate(FzdTurn *t, uint64_t now) {
        t->state = FZD_TURN_ALLOCATING;
        if (!start_tx(t, now, FZD_STUN_ALLOCATE, NULL, 0,
                      t->requested_lifetime ? (int64_t)t->requested_lifetime : NO_LIFETIME, 0))
                fail(t, FZD_TURN_FAILURE_PROTOCOL, 0);
}

static void start_binding(FzdTurn *t, uint64_t now) {
        t->state = FZD_TURN_BINDING;
        if (!start_tx(t, now, FZD_STUN_BINDING, NULL, 0, NO_LIFETIME, 0))
                fail(t, FZD_TURN_FAILURE_PROTOCOL, 0);
}

static void send_delete(FzdTurn *t, uint64_t now) {
        if (!start_tx(t, now, FZD_STUN_REFRESH, NULL, 0, 0, 0))
                start_allocate(t, now);
}

/* The old allocation is deleted (or could not be): take the new credentials, allocate. */
static void finish_delete(FzdTurn *t, uint64_t now) {
        if (t->next_username) {
                free_secret(&t->username);
                free_secret(&t->password);
                t->username = TAKE_PTR(t->next_username);
                t->password = TAKE_PTR(t->next_password);
                t->credentials_expire = t->next_expire;
                t->expiry_notified = false;
                t->generation++;
                if (derive_key(t) < 0) {
                        fail(t, FZD_TURN_FAILURE_PROTOCOL, 0);
                        return;
                }
        }
        t->reallocate_after_delete = false;
        lose_allocation(t);
        start_allocate(t, now);
}

/* ---- responses ------------------------------------------------------------------------- */

static void update_mapped(FzdTurn *t, const FzdStunMsg *m, const FzdAddr *local) {
        FzdAddr mapped;
        FzdTurnEvent *e;

        if (local && fzd_addr_is_set(local) && !fzd_addr_is_unspecified(local))
                t->local = *local;
        if (fzd_stun_get_xor_addr(m, FZD_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped) < 0 &&
            fzd_stun_get_addr(m, FZD_STUN_ATTR_MAPPED_ADDRESS, &mapped) < 0)
                return;
        if (fzd_addr_eq(&mapped, &t->mapped))
                return;
        t->mapped = mapped;
        e = push_event(t, FZD_TURN_EVENT_MAPPED);
        if (e) {
                e->addr = mapped;
                e->base = t->local;
        }
}

static void on_allocate_success(FzdTurn *t, uint64_t now, const FzdAddr *local, const FzdStunMsg *m) {
        uint32_t lifetime;
        FzdAddr relayed = {};
        FzdTurnEvent *e;

        if (t->next_username) {
                /* New credentials came while this Allocate was on its way: delete the
                 * allocation it made (with the old ones) and allocate with the new ones. */
                update_mapped(t, m, local);
                t->state = FZD_TURN_DELETING;
                t->reallocate_after_delete = true;
                send_delete(t, now);
                return;
        }

        /* A dual allocation lists two; take the one of our family. */
        for (size_t i = 0; i < m->n_attrs; i++) {
                FzdStunMsg one = *m;
                if (m->attrs[i].type != FZD_STUN_ATTR_XOR_RELAYED_ADDRESS)
                        continue;
                one.attrs[0] = m->attrs[i];
                one.n_attrs = 1;
                if (fzd_stun_get_xor_addr(&one, FZD_STUN_ATTR_XOR_RELAYED_ADDRESS, &relayed) == 0 &&
                    relayed.family == t->server.family)
                        break;
                relayed = (FzdAddr){};
        }
        if (!fzd_addr_is_set(&relayed) || fzd_stun_get_u32(m, FZD_STUN_ATTR_LIFETIME, &lifetime) < 0 ||
            lifetime == 0) {
                log_server(t, LOG_WARNING, "Allocate answered without a relayed address or lifetime");
                fail(t, FZD_TURN_FAILURE_PROTOCOL, 0);
                return;
        }
        update_mapped(t, m, local);
        t->state = FZD_TURN_READY;
        t->mismatch_deleted = false;
        t->allocate_retry_at = 0;
        t->mismatch_delay = 0;
        t->relayed = relayed;
        t->lifetime = lifetime;
        t->allocated_at = now;
        t->refresh_at = now + FZD_SEC(lifetime) / 2;
        t->next_keepalive = now + FZD_TURN_KEEPALIVE_USEC;
        t->stats.allocations++;
        e = push_event(t, FZD_TURN_EVENT_RELAYED);
        if (e) {
                e->addr = relayed;
                e->base = t->local;
                e->lifetime = lifetime;
        }
        /* Peers asked for before the allocation existed. */
        for (size_t i = 0; i < t->n_channels; i++)
                if (!t->channels[i].dead && !t->channels[i].bound)
                        send_channel_bind(t, &t->channels[i], now);
}

static void on_refresh_success(FzdTurn *t, uint64_t now, const Tx *x, const FzdStunMsg *m) {
        uint32_t lifetime = 0;
        FzdTurnEvent *e;

        (void)fzd_stun_get_u32(m, FZD_STUN_ATTR_LIFETIME, &lifetime);
        if (x->lifetime == 0) {
                if (t->state == FZD_TURN_DELETING || t->reallocate_after_delete)
                        finish_delete(t, now);
                return;
        }
        if (t->state != FZD_TURN_READY)
                return;
        if (lifetime == 0) {
                /* The relay dropped it: make a new one. */
                lose_allocation(t);
                start_allocate(t, now);
                return;
        }
        t->lifetime = lifetime;
        t->allocated_at = now;
        t->refresh_at = now + FZD_SEC(lifetime) / 2;
        t->stats.refreshes++;
        e = push_event(t, FZD_TURN_EVENT_REFRESHED);
        if (e)
                e->lifetime = lifetime;
}

static void on_channel_bind_success(FzdTurn *t, uint64_t now, const Tx *x) {
        Channel *c = find_channel_by_number(t, x->channel);
        Permission *p;
        FzdTurnEvent *e;
        bool first;

        if (!c || !fzd_addr_eq(&c->peer, &x->peer))
                return;
        first = !c->bound;
        c->bound = true;
        c->binding = false;
        c->bound_at = now;
        p = get_perm(t, &c->peer);
        if (p) {
                p->installed_at = now;
                p->pending = false;
        }
        t->stats.channel_binds++;
        if (first) {
                e = push_event(t, FZD_TURN_EVENT_CHANNEL_BOUND);
                if (e) {
                        e->peer = c->peer;
                        e->channel = c->number;
                }
        }
}

static void channel_failed(FzdTurn *t, uint64_t now, const Tx *x, int code) {
        Channel *c = find_channel_by_number(t, x->channel);
        FzdTurnEvent *e;

        if (!c)
                return;
        e = push_event(t, FZD_TURN_EVENT_CHANNEL_FAILED);
        if (e) {
                e->peer = c->peer;
                e->channel = c->number;
                e->error = code;
        }
        /* RFC 8656 §12: a number is not reused for another peer for 5 minutes. */
        c->dead = true;
        c->bound = c->binding = false;
        c->hold_until = now + FZD_TURN_CHANNEL_REUSE_HOLD_USEC;
}

static void on_error(FzdTurn *t, uint64_t now, const Tx *x, const FzdStunMsg *m, int code) {
        const uint8_t *v;
        size_t n;
        char a[FZD_ADDR_STRLEN];

        fzd_ice_log(t->log, LOG_DEBUG, "TURN %s: %s%s answered %d", fzd_addr_format(&t->server, a),
                    fzd_stun_method_name(x->method),
                    x->method == FZD_STUN_REFRESH && x->lifetime == 0 ? " (delete)" : "", code);

        if (code == FZD_STUN_ERR_UNAUTHORIZED || code == FZD_STUN_ERR_STALE_NONCE) {
                if (code == FZD_STUN_ERR_UNAUTHORIZED)
                        t->stats.unauthorized++;
                else
                        t->stats.stale_nonces++;
                if (x->method == FZD_STUN_REFRESH && x->lifetime == 0 && code == FZD_STUN_ERR_UNAUTHORIZED &&
                    x->with_nonce) {
                        /* The old credentials no longer delete anything: go on with the new ones. */
                        finish_delete(t, now);
                        return;
                }
                if (code == FZD_STUN_ERR_UNAUTHORIZED && x->with_nonce && x->generation == t->generation) {
                        fail(t, FZD_TURN_FAILURE_AUTH, code);
                        return;
                }
                if (fzd_stun_get_bytes(m, FZD_STUN_ATTR_REALM, &v, &n) == 0 &&
                    (n != strlen(t->realm) || memcmp(v, t->realm, n) != 0)) {
                        log_server(t, LOG_WARNING, "refusing to authenticate in another realm");
                        fail(t, FZD_TURN_FAILURE_PROTOCOL, code);
                        return;
                }
                if (fzd_stun_get_bytes(m, FZD_STUN_ATTR_NONCE, &v, &n) < 0 || n == 0 || n > MAX_NONCE) {
                        log_server(t, LOG_WARNING, "challenge without a usable NONCE");
                        fail(t, FZD_TURN_FAILURE_PROTOCOL, code);
                        return;
                }
                if (code == FZD_STUN_ERR_STALE_NONCE &&
                    x->stale_retries >= FZD_TURN_MAX_STALE_NONCE_RETRIES) {
                        fail(t, FZD_TURN_FAILURE_PROTOCOL, code);
                        return;
                }
                memcpy(t->nonce, v, n);
                t->nonce_len = n;
                retry_tx(t, now, x, x->stale_retries + (code == FZD_STUN_ERR_STALE_NONCE));
                return;
        }
        if (code == FZD_STUN_ERR_ALLOCATION_MISMATCH) {
                if (x->method == FZD_STUN_ALLOCATE && !t->mismatch_deleted) {
                        /* The relay still has an allocation for our address (we restarted): delete
                         * it, then allocate again. */
                        t->mismatch_deleted = true;
                        t->mismatch_since = now;
                        t->mismatch_delay = MISMATCH_RETRY_FIRST_USEC;
                        t->reallocate_after_delete = true;
                        send_delete(t, now);
                } else if (x->method == FZD_STUN_ALLOCATE) {
                        /* Deleting did not help (made with credentials that are no longer
                         * accepted): wait for it to expire on the relay. */
                        if (now >= t->mismatch_since + MISMATCH_GIVE_UP_USEC)
                                fail(t, FZD_TURN_FAILURE_PROTOCOL, code);
                        else {
                                if (!t->mismatch_delay)
                                        t->mismatch_delay = MISMATCH_RETRY_FIRST_USEC;
                                t->allocate_retry_at = now + t->mismatch_delay;
                                t->mismatch_delay = t->mismatch_delay * 2 < MISMATCH_RETRY_USEC
                                                            ? t->mismatch_delay * 2
                                                            : MISMATCH_RETRY_USEC;
                        }
                } else if (x->method == FZD_STUN_REFRESH && x->lifetime == 0) {
                        finish_delete(t, now);
                } else {
                        /* The relay has none: ours is gone. */
                        lose_allocation(t);
                        start_allocate(t, now);
                }
                return;
        }
        if (code == FZD_STUN_ERR_WRONG_CREDENTIALS) {
                if (x->method == FZD_STUN_REFRESH && x->lifetime == 0)
                        finish_delete(t, now); /* not ours to delete with these credentials */
                else
                        fail(t, FZD_TURN_FAILURE_AUTH, code);
                return;
        }
        switch (x->method) {
        case FZD_STUN_ALLOCATE:
                fail(t, FZD_TURN_FAILURE_PROTOCOL, code);
                break;
        case FZD_STUN_REFRESH:
                if (x->lifetime == 0)
                        finish_delete(t, now);
                else
                        /* Try again at the next timeout tick; the allocation may still be good. */
                        t->refresh_at = now + FZD_TURN_REQUEST_MAX_ELAPSED_USEC;
                break;
        case FZD_STUN_CHANNEL_BIND:
                channel_failed(t, now, x, code);
                break;
        case FZD_STUN_CREATE_PERMISSION: {
                Permission *p = find_perm(t, &x->peer);
                if (p)
                        p->pending = false;
                break;
        }
        default:
                break;
        }
}

static FzdTurnInput handle_response(FzdTurn *t, uint64_t now, const FzdAddr *local, const FzdStunMsg *m) {
        Tx *found = find_tx(t, m->txid);
        Tx x;
        int code = 0;
        bool integrity_ok;

        if (!found)
                return FZD_TURN_INPUT_NOT_MINE;
        if (found->method != m->method) {
                t->stats.dropped++;
                return FZD_TURN_INPUT_CONSUMED;
        }
        integrity_ok = m->integrity >= 0 && fzd_stun_check_integrity(m, t->key, sizeof(t->key));
        if (found->authenticated && (m->cls == FZD_STUN_SUCCESS || m->integrity >= 0) && !integrity_ok) {
                /* Not from the relay (or not for these credentials): keep waiting for the real answer. */
                t->stats.bad_integrity++;
                fzd_ice_log_packet(t->log, now, LOG_DEBUG,
                                   "TURN: response with bad MESSAGE-INTEGRITY dropped");
                return FZD_TURN_INPUT_CONSUMED;
        }
        if (m->cls == FZD_STUN_ERROR && fzd_stun_get_error(m, &code, NULL, NULL) < 0) {
                t->stats.dropped++;
                return FZD_TURN_INPUT_CONSUMED;
        }

        if (!found->retransmitted) {
                /* Karn: only unambiguous samples; smoothed like RFC 6298's SRTT. */
                uint64_t sample = now - found->first_sent;
                t->rtt = t->rtt ? (t->rtt * 7 + sample) / 8 : (sample ? sample : 1);
        }
        x = take_tx(t, found);

        if (m->cls == FZD_STUN_ERROR) {
                on_error(t, now, &x, m, code);
                return FZD_TURN_INPUT_CONSUMED;
        }
        if (m->n_unknown > 0) {
                log_server(t, LOG_WARNING,
                           "success response with unknown comprehension-required attributes");
                if (x.method == FZD_STUN_ALLOCATE)
                        fail(t, FZD_TURN_FAILURE_PROTOCOL, 0);
                return FZD_TURN_INPUT_CONSUMED;
        }
        switch (x.method) {
        case FZD_STUN_BINDING:
                update_mapped(t, m, local);
                if (t->state == FZD_TURN_BINDING)
                        start_allocate(t, now);
                break;
        case FZD_STUN_ALLOCATE:
                if (t->state == FZD_TURN_ALLOCATING)
                        on_allocate_success(t, now, local, m);
                break;
        case FZD_STUN_REFRESH:
                on_refresh_success(t, now, &x, m);
                break;
        case FZD_STUN_CREATE_PERMISSION: {
                Permission *p = find_perm(t, &x.peer);
                if (p) {
                        p->installed_at = now;
                        p->pending = false;
                }
                t->stats.permissions++;
                break;
        }
        case FZD_STUN_CHANNEL_BIND:
                on_channel_bind_success(t, now, &x);
                break;
        default:
                break;
        }
        return FZD_TURN_INPUT_CONSUMED;
}

FzdTurnInput fzd_turn_handle_input(FzdTurn *t, uint64_t now, const FzdAddr *local, const FzdAddr *from,
                                   const uint8_t *buf, size_t len, FzdAddr *ret_peer,
                                   const uint8_t **ret_payload, size_t *ret_payload_len) {
        FzdStunMsg m;

        if (!fzd_addr_eq(from, &t->server) || len == 0)
                return FZD_TURN_INPUT_NOT_MINE;

        if (buf[0] >= 64 && buf[0] <= 79) {
                uint16_t number;
                const uint8_t *payload;
                size_t n;
                Channel *c;

                if (fzd_channel_data_parse(buf, len, &number, &payload, &n) < 0)
                        return FZD_TURN_INPUT_NOT_MINE;
                c = find_channel_by_number(t, number);
                if (!c || (!c->bound && !c->binding) || t->state != FZD_TURN_READY) {
                        t->stats.dropped++;
                        fzd_ice_log_packet(t->log, now, LOG_DEBUG,
                                           "TURN: ChannelData on unknown channel 0x%04x dropped", number);
                        return FZD_TURN_INPUT_CONSUMED;
                }
                c->last_activity = now;
                t->stats.data_in++;
                *ret_peer = c->peer;
                *ret_payload = payload;
                *ret_payload_len = n;
                return FZD_TURN_INPUT_DATA;
        }

        if (fzd_stun_parse(buf, len, &m) < 0)
                return FZD_TURN_INPUT_NOT_MINE;

        if (m.cls == FZD_STUN_INDICATION && m.method == FZD_STUN_DATA) {
                FzdAddr peer;
                const uint8_t *data;
                size_t n;
                Permission *p;

                if (t->state != FZD_TURN_READY ||
                    fzd_stun_get_xor_addr(&m, FZD_STUN_ATTR_XOR_PEER_ADDRESS, &peer) < 0 ||
                    fzd_stun_get_bytes(&m, FZD_STUN_ATTR_DATA, &data, &n) < 0) {
                        t->stats.dropped++;
                        return FZD_TURN_INPUT_CONSUMED;
                }
                p = find_perm(t, &peer);
                if (!p || (!p->installed_at && !p->pending)) {
                        t->stats.dropped++;
                        fzd_ice_log_packet(t->log, now, LOG_DEBUG,
                                           "TURN: Data indication from a peer without permission dropped");
                        return FZD_TURN_INPUT_CONSUMED;
                }
                t->stats.data_in++;
                *ret_peer = peer;
                *ret_payload = data;
                *ret_payload_len = n;
                return FZD_TURN_INPUT_DATA;
        }
        if (m.cls == FZD_STUN_SUCCESS || m.cls == FZD_STUN_ERROR)
                return handle_response(t, now, local, &m);
        return FZD_TURN_INPUT_NOT_MINE;
}

/* ---- timers ---------------------------------------------------------------------------- */

static void tx_timed_out(FzdTurn *t, uint64_t now, const Tx *x) {
        switch (x->method) {
        case FZD_STUN_BINDING:
        case FZD_STUN_ALLOCATE:
                fail(t, FZD_TURN_FAILURE_NO_RESPONSE, 0);
                break;
        case FZD_STUN_REFRESH:
                if (x->lifetime == 0)
                        finish_delete(t, now);
                else
                        t->refresh_at = now; /* again, until the allocation expires */
                break;
        case FZD_STUN_CHANNEL_BIND:
                channel_failed(t, now, x, 0);
                break;
        case FZD_STUN_CREATE_PERMISSION: {
                Permission *p = find_perm(t, &x->peer);
                if (p)
                        p->pending = false;
                break;
        }
        default:
                break;
        }
}

static void handle_retransmits(FzdTurn *t, uint64_t now) {
        for (size_t i = 0; i < t->n_tx && t->state != FZD_TURN_FAILED;) {
                Tx *x = &t->tx[i];
                if (now < x->next_send) {
                        i++;
                        continue;
                }
                if (now >= x->deadline) {
                        Tx copy = take_tx(t, x);
                        tx_timed_out(t, now, &copy);
                        i = 0; /* the list changed under us */
                        continue;
                }
                x->retransmitted = true;
                t->stats.retransmits++;
                send_to_server(t, x->msg, x->msg_len, 0, now);
                x->interval = x->interval * 3 / 2;
                x->next_send = now + x->interval;
                if (x->next_send > x->deadline)
                        x->next_send = x->deadline;
                i++;
        }
}

/* At its refresh time a channel or permission still in use is refreshed; one that is not is
 * let go (a channel's number stays held for the 5 minutes RFC 8656 asks). */
static void handle_peers(FzdTurn *t, uint64_t now) {
        for (size_t i = 0; i < t->n_channels;) {
                Channel *c = &t->channels[i];
                if (c->dead) {
                        if (now >= c->hold_until) {
                                t->channels[i] = t->channels[--t->n_channels];
                                continue;
                        }
                } else if (c->bound && !c->binding && now >= c->bound_at + FZD_TURN_CHANNEL_REFRESH_USEC) {
                        if (channel_in_use(c, now))
                                send_channel_bind(t, c, now);
                        else {
                                c->dead = true;
                                c->bound = false;
                                c->hold_until = c->bound_at + FZD_TURN_CHANNEL_LIFETIME_USEC +
                                                FZD_TURN_CHANNEL_REUSE_HOLD_USEC;
                                continue; /* again, as dead: its hold may be over already */
                        }
                }
                i++;
        }
        for (size_t i = 0; i < t->n_perms;) {
                Permission *p = &t->perms[i];
                bool needed = false;

                if (!p->installed_at || p->pending ||
                    now < p->installed_at + FZD_TURN_PERMISSION_REFRESH_USEC) {
                        i++;
                        continue;
                }
                for (size_t j = 0; j < t->n_channels; j++)
                        if (!t->channels[j].dead && fzd_addr_ip_eq(&t->channels[j].peer, &p->ip) &&
                            channel_in_use(&t->channels[j], now))
                                needed = true;
                if (needed && start_tx(t, now, FZD_STUN_CREATE_PERMISSION, &p->ip, 0, NO_LIFETIME, 0)) {
                        p->pending = true;
                        i++;
                        continue;
                }
                t->perms[i] = t->perms[--t->n_perms];
        }
}

static void handle_allocation_timers(FzdTurn *t, uint64_t now) {
        if (t->state == FZD_TURN_ALLOCATING && t->allocate_retry_at && now >= t->allocate_retry_at) {
                t->allocate_retry_at = 0;
                start_allocate(t, now);
        }
        if (t->state != FZD_TURN_READY)
                return;
        if (now >= t->allocated_at + FZD_SEC(t->lifetime)) {
                log_server(t, LOG_INFO, "allocation expired, allocating again");
                lose_allocation(t);
                start_allocate(t, now);
                return;
        }
        if (now >= t->refresh_at && !tx_in_flight(t, FZD_STUN_REFRESH, NULL, 0))
                (void)start_tx(t, now, FZD_STUN_REFRESH, NULL, 0,
                               t->requested_lifetime ? (int64_t)t->requested_lifetime : NO_LIFETIME, 0);
        if (now >= t->next_keepalive && !tx_in_flight(t, FZD_STUN_BINDING, NULL, 0)) {
                t->stats.keepalives++;
                (void)start_tx(t, now, FZD_STUN_BINDING, NULL, 0, NO_LIFETIME, 0);
                t->next_keepalive = now + FZD_TURN_KEEPALIVE_USEC;
        }
        handle_peers(t, now);
}

void fzd_turn_handle_timeout(FzdTurn *t, uint64_t now) {
        if (t->state == FZD_TURN_FAILED)
                return;
        handle_retransmits(t, now);
        handle_allocation_timers(t, now);
        /* Last: the steps above may have taken new credentials that are already past. */
        if (t->state != FZD_TURN_FAILED && t->credentials_expire && now >= t->credentials_expire &&
            !t->expiry_notified) {
                t->expiry_notified = true;
                log_server(t, LOG_INFO, "relay credentials expired");
                (void)push_event(t, FZD_TURN_EVENT_CREDENTIALS_EXPIRED);
        }
}

static void min_at(uint64_t *m, uint64_t v) {
        if (v < *m)
                *m = v;
}

uint64_t fzd_turn_poll_timeout(const FzdTurn *t) {
        uint64_t next = UINT64_MAX;

        if (t->state == FZD_TURN_FAILED)
                return next;
        if (t->credentials_expire && !t->expiry_notified)
                min_at(&next, t->credentials_expire);
        for (size_t i = 0; i < t->n_tx; i++)
                min_at(&next, t->tx[i].next_send);
        if (t->state == FZD_TURN_ALLOCATING && t->allocate_retry_at)
                min_at(&next, t->allocate_retry_at);
        if (t->state != FZD_TURN_READY)
                return next;
        min_at(&next, t->allocated_at + FZD_SEC(t->lifetime));
        if (!tx_in_flight(t, FZD_STUN_REFRESH, NULL, 0))
                min_at(&next, t->refresh_at);
        if (!tx_in_flight(t, FZD_STUN_BINDING, NULL, 0))
                min_at(&next, t->next_keepalive);
        for (size_t i = 0; i < t->n_channels; i++) {
                const Channel *c = &t->channels[i];
                if (c->dead)
                        min_at(&next, c->hold_until);
                else if (c->bound && !c->binding)
                        min_at(&next, c->bound_at + FZD_TURN_CHANNEL_REFRESH_USEC);
        }
        for (size_t i = 0; i < t->n_perms; i++)
                if (t->perms[i].installed_at && !t->perms[i].pending)
                        min_at(&next, t->perms[i].installed_at + FZD_TURN_PERMISSION_REFRESH_USEC);
        return next;
}

/* ---- public ---------------------------------------------------------------------------- */

int fzd_turn_new(const FzdTurnParams *p, uint64_t now, FzdTurn **ret) {
        FzdTurn *t;

        if (!p || !fzd_addr_is_set(&p->server) || !p->username || !p->password || !*p->username ||
            strlen(p->username) > MAX_USERNAME || strlen(p->password) > 1024 ||
            (p->realm && (!*p->realm || strlen(p->realm) > MAX_REALM)) ||
            (p->software && strlen(p->software) > MAX_SOFTWARE))
                return -EINVAL;
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->server = p->server;
        t->username = strdup(p->username);
        t->password = strdup(p->password);
        t->realm = strdup(p->realm ? p->realm : FZD_TURN_REALM_DEFAULT);
        t->software = p->software ? strdup_bounded(p->software, MAX_SOFTWARE) : NULL;
        t->credentials_expire = p->credentials_expire;
        t->requested_lifetime = p->requested_lifetime;
        t->log = p->log;
        t->next_channel = FZD_TURN_CHANNEL_MIN;
        fzd_queue_init(&t->transmits, QUEUE_CAP);
        fzd_queue_init(&t->events, QUEUE_CAP);
        if (!t->username || !t->password || !t->realm || (p->software && !t->software) ||
            derive_key(t) < 0) {
                fzd_turn_free(t);
                return -ENOMEM;
        }
        start_binding(t, now);
        *ret = t;
        return 0;
}

FzdTurn *fzd_turn_free(FzdTurn *t) {
        if (!t)
                return NULL;
        clear_tx(t, NULL);
        free_secret(&t->username);
        free_secret(&t->password);
        free_secret(&t->next_username);
        free_secret(&t->next_password);
        explicit_bzero(t->key, sizeof(t->key));
        free(t->realm);
        free(t->software);
        free(t->channels);
        free(t->perms);
        fzd_queue_clear(&t->transmits);
        fzd_queue_clear(&t->events);
        free(t);
        return NULL;
}

bool fzd_turn_poll_transmit(FzdTurn *t, FzdIceTransmit *ret) {
        return fzd_ice_transmit_pop(&t->transmits, ret);
}

bool fzd_turn_poll_event(FzdTurn *t, FzdTurnEvent *ret) {
        FzdTurnEvent *e = fzd_queue_pop(&t->events);

        if (!e)
                return false;
        *ret = *e;
        return true;
}

int fzd_turn_add_peer(FzdTurn *t, const FzdAddr *peer, uint64_t now) {
        Channel *c;

        if (peer->family != t->server.family)
                return -EAFNOSUPPORT;
        c = find_channel_by_peer(t, peer);
        if (!c)
                c = new_channel(t, peer, now);
        if (!c)
                return -ENOSPC;
        c->refs++;
        return c->number;
}

void fzd_turn_remove_peer(FzdTurn *t, const FzdAddr *peer) {
        Channel *c = find_channel_by_peer(t, peer);

        if (c && c->refs > 0)
                c->refs--;
}

uint16_t fzd_turn_get_channel(const FzdTurn *t, const FzdAddr *peer, bool *ret_bound) {
        for (size_t i = 0; i < t->n_channels; i++) {
                const Channel *c = &t->channels[i];
                if (!c->dead && fzd_addr_eq(&c->peer, peer)) {
                        if (ret_bound)
                                *ret_bound = c->bound;
                        return c->number;
                }
        }
        if (ret_bound)
                *ret_bound = false;
        return 0;
}

int fzd_turn_encapsulate(FzdTurn *t, const FzdAddr *peer, const uint8_t *payload, size_t len, uint64_t now,
                         uint8_t *out, size_t out_size, uint16_t *ret_channel) {
        Channel *c;
        Permission *p;

        if (t->state != FZD_TURN_READY)
                return -ENOTCONN;
        if (peer->family != t->relayed.family)
                return -EAFNOSUPPORT;
        if (len > 0xffff)
                return -EMSGSIZE;
        c = find_channel_by_peer(t, peer);
        if (!c)
                c = new_channel(t, peer, now);
        if (!c)
                return -ENOSPC;
        if (!c->bound && !c->binding)
                send_channel_bind(t, c, now);
        if (c->bound || c->binding) {
                if (out_size < FZD_CHANNEL_DATA_HEADER + len)
                        return -ENOBUFS;
                fzd_channel_data_header(out, c->number, (uint16_t)len);
                memmove(out + FZD_CHANNEL_DATA_HEADER, payload, len);
                c->last_activity = now;
                t->next_keepalive = now + FZD_TURN_KEEPALIVE_USEC;
                *ret_channel = c->number;
                return (int)(FZD_CHANNEL_DATA_HEADER + len);
        }
        p = find_perm(t, peer);
        if (p && (p->installed_at || p->pending)) {
                uint8_t txid[FZD_STUN_TXID_SIZE];
                FzdStunBuilder b;
                int n;

                if (fzd_stun_new_txid(txid) < 0)
                        return -EIO;
                fzd_stun_begin(&b, out, out_size, FZD_STUN_SEND, FZD_STUN_INDICATION, txid);
                fzd_stun_put_xor_addr(&b, FZD_STUN_ATTR_XOR_PEER_ADDRESS, peer);
                fzd_stun_put(&b, FZD_STUN_ATTR_DATA, payload, len);
                n = fzd_stun_finish(&b);
                if (n < 0)
                        return n;
                t->next_keepalive = now + FZD_TURN_KEEPALIVE_USEC;
                *ret_channel = 0;
                return n;
        }
        return -EAGAIN;
}

int fzd_turn_update_credentials(FzdTurn *t, const char *username, const char *password,
                                uint64_t credentials_expire, uint64_t now) {
        char *u, *p;

        if (!username || !password || !*username || strlen(username) > MAX_USERNAME ||
            strlen(password) > 1024)
                return -EINVAL;
        if (fzd_turn_credentials_match(t, username, password)) {
                t->credentials_expire = credentials_expire;
                return 0;
        }
        u = strdup(username);
        p = strdup(password);
        if (!u || !p) {
                free_secret(&u);
                free_secret(&p);
                return -ENOMEM;
        }
        free_secret(&t->next_username);
        free_secret(&t->next_password);
        t->next_username = u;
        t->next_password = p;
        t->next_expire = credentials_expire;
        if (t->state == FZD_TURN_READY) {
                /* The relayed address is going away: say so now, so nobody starts using it. */
                FzdAddr relayed = t->relayed;
                FzdTurnEvent *e = push_event(t, FZD_TURN_EVENT_RELAYED_LOST);
                if (e)
                        e->addr = relayed;
                t->relayed = (FzdAddr){};
                t->state = FZD_TURN_DELETING;
                clear_tx(t, is_allocation_tx);
                send_delete(t, now);
                return 1;
        }
        if (t->state == FZD_TURN_DELETING)
                return 1;
        if (t->state == FZD_TURN_ALLOCATING && has_authenticated_allocate(t))
                /* An Allocate signed with the old ones is on its way: if it succeeds the relay
                 * holds an allocation for our address, which only the old credentials can
                 * delete (another Allocate would get 437 until it expires). Let it finish;
                 * on_allocate_success() deletes it and allocates with these. */
                return 1;
        /* No allocation to delete: take them at once. */
        finish_delete(t, now);
        if (t->state == FZD_TURN_ALLOCATING && !fzd_addr_is_set(&t->mapped)) {
                /* We never heard from the relay: start from the Binding again. */
                clear_tx(t, NULL);
                start_binding(t, now);
        }
        t->failure = FZD_TURN_FAILURE_NONE;
        return 1;
}

void fzd_turn_release(FzdTurn *t, uint64_t now) {
        bool held = t->state == FZD_TURN_READY;

        clear_tx(t, NULL);
        if (held)
                (void)start_tx(t, now, FZD_STUN_REFRESH, NULL, 0, 0, 0);
        t->relayed = (FzdAddr){};
        /* Terminal without a failure: no timers, answers change nothing. */
        t->state = FZD_TURN_FAILED;
        t->failure = FZD_TURN_FAILURE_NONE;
}

void fzd_turn_restart(FzdTurn *t, uint64_t now) {
        t->mismatch_deleted = false;
        t->allocate_retry_at = 0;
        lose_allocation(t);
        clear_tx(t, NULL);
        t->mapped = t->local = (FzdAddr){};
        t->failure = FZD_TURN_FAILURE_NONE;
        start_binding(t, now);
}

FzdTurnState fzd_turn_get_state(const FzdTurn *t) {
        return t->state;
}

FzdTurnFailure fzd_turn_get_failure(const FzdTurn *t) {
        return t->failure;
}

const FzdAddr *fzd_turn_get_server(const FzdTurn *t) {
        return &t->server;
}

const FzdAddr *fzd_turn_get_relayed(const FzdTurn *t) {
        return &t->relayed;
}

const FzdAddr *fzd_turn_get_mapped(const FzdTurn *t) {
        return &t->mapped;
}

const FzdAddr *fzd_turn_get_local(const FzdTurn *t) {
        return &t->local;
}

uint64_t fzd_turn_get_rtt(const FzdTurn *t) {
        return t->rtt;
}

uint32_t fzd_turn_get_lifetime(const FzdTurn *t) {
        return t->lifetime;
}

bool fzd_turn_credentials_match(const FzdTurn *t, const char *username, const char *password) {
        const char *u = t->next_username ? t->next_username : t->username;
        const char *p = t->next_password ? t->next_password : t->password;
        size_t lp = strlen(p);

        return strcmp(u, username) == 0 && lp == strlen(password) && CRYPTO_memcmp(p, password, lp) == 0;
}

const FzdTurnStats *fzd_turn_get_stats(const FzdTurn *t) {
        return &t->stats;
}
