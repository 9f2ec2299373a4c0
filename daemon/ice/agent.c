/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "agent.h"

#define QUEUE_CAP        256
#define MAX_CHECK        1024
#define OLD_TXIDS        3
#define PRFLX_FOUNDATION "prflx"

typedef struct LocalCand {
        FzdIceCandidateType type;
        FzdAddr addr;
        FzdAddr base;
        int relay;
        uint16_t local_pref;
        uint32_t priority;
        char foundation[FZD_ICE_FOUNDATION_MAX + 1];
        bool removed;
} LocalCand;

typedef struct RemoteCand {
        FzdIceCandidateType type;
        FzdAddr addr;
        uint32_t priority;
        char foundation[FZD_ICE_FOUNDATION_MAX + 1];
        bool removed;
} RemoteCand;

typedef enum PairState {
        PAIR_WAITING,
        PAIR_IN_PROGRESS,
        PAIR_SUCCEEDED,
        PAIR_FAILED,
} PairState;

typedef struct Pair {
        uint8_t local, remote;
        uint64_t priority;
        PairState state;
        bool nominate;  /* controlling: the next check carries USE-CANDIDATE */
        bool nominated; /* controlling: a USE-CANDIDATE check succeeded; controlled: peer nominated it and it
                           is valid */
        bool remote_nominated; /* controlled: the peer sent USE-CANDIDATE on it */
        uint64_t nominated_seq; /* controlled: when the peer last did (a counter) */
        bool triggered;
        uint64_t triggered_seq;
        /* the current check */
        bool tx_active;
        bool tx_use_candidate;
        bool tx_controlling;
        bool tx_retransmitted;
        uint8_t txid[FZD_STUN_TXID_SIZE];
        uint8_t old_txids[OLD_TXIDS][FZD_STUN_TXID_SIZE];
        unsigned n_old;
        unsigned tx_sends;
        uint64_t tx_first, tx_next;
        uint64_t unanswered_since; /* first check after the last response; 0: none outstanding */
        uint64_t last_response;
        uint64_t next_keepalive;
        uint64_t rtt;
} Pair;

struct FzdIceAgent {
        bool controlling;
        char *local_ufrag, *local_pwd, *remote_ufrag, *remote_pwd;
        uint64_t tie_breaker;
        uint64_t ta;
        FzdIceTiming active, idle_timing;
        uint64_t idle_after, candidate_timeout, disconnect_grace, standby_keepalive;

        LocalCand local[FZD_ICE_MAX_LOCAL_CANDIDATES];
        size_t n_local;
        RemoteCand remote[FZD_ICE_MAX_REMOTE_CANDIDATES];
        size_t n_remote;
        bool had_remote;
        Pair *pairs;
        size_t n_pairs, cap_pairs;
        uint64_t triggered_counter;
        uint64_t nomination_counter;
        unsigned prflx_counter;

        int sel_local, sel_remote; /* the selected pair, by candidates (pair indexes move) */

        FzdIceState state;
        FzdIceFailure failure;
        uint64_t created_at, disconnected_at, last_traffic, next_slot;
        bool idle;

        FzdQueue transmits, events;
        FzdIceAgentStats stats;
        FzdIceLog *log;
};

static const char *const state_names[_FZD_ICE_STATE_MAX] = {
        [FZD_ICE_STATE_CHECKING] = "checking",
        [FZD_ICE_STATE_CONNECTED] = "connected",
        [FZD_ICE_STATE_DISCONNECTED] = "disconnected",
        [FZD_ICE_STATE_FAILED] = "failed",
};

static const char *const failure_names[_FZD_ICE_FAILURE_MAX] = {
        [FZD_ICE_FAILURE_NONE] = "none",
        [FZD_ICE_FAILURE_TIMEOUT] = "ICE timeout",
        [FZD_ICE_FAILURE_NO_CANDIDATES] = "no candidates from the peer",
};

const char *fzd_ice_state_to_string(FzdIceState s) {
        return s < _FZD_ICE_STATE_MAX ? state_names[s] : "unknown";
}

const char *fzd_ice_failure_to_string(FzdIceFailure f) {
        return f < _FZD_ICE_FAILURE_MAX ? failure_names[f] : "unknown";
}

/* ---- timing ---------------------------------------------------------------------------- */

/* The k-th retransmission delay (k >= 1): initial·2^(k-1), at most max_rto. */
static uint64_t rto(const FzdIceTiming *t, unsigned k) {
        uint64_t d = t->initial_rto;

        for (unsigned i = 1; i < k && d < t->max_rto; i++)
                d *= 2;
        return d < t->max_rto ? d : t->max_rto;
}

uint64_t fzd_ice_timing_timeout(const FzdIceTiming *t) {
        uint64_t sum = 0;
        unsigned n = t->max_retransmits ? t->max_retransmits : 1;

        for (unsigned k = 2; k <= n; k++)
                sum += rto(t, k);
        return sum + rto(t, n);
}

static const FzdIceTiming *timing(const FzdIceAgent *a) {
        return a->idle ? &a->idle_timing : &a->active;
}

/* ---- helpers --------------------------------------------------------------------------- */

static void push_event(FzdIceAgent *a, FzdIceAgentEventType type, const char *candidate) {
        FzdIceAgentEvent *e = fzd_queue_push(&a->events, sizeof(FzdIceAgentEvent));

        if (!e)
                return;
        e->type = type;
        e->state = a->state;
        e->failure = a->failure;
        if (candidate)
                snprintf(e->candidate, sizeof(e->candidate), "%s", candidate);
}

static void set_state(FzdIceAgent *a, FzdIceState s, FzdIceFailure why) {
        if (a->state == s)
                return;
        a->state = s;
        a->failure = why;
        if (s == FZD_ICE_STATE_FAILED)
                fzd_ice_log(a->log, LOG_INFO, "ICE %s: failed (%s)", a->local_ufrag,
                            fzd_ice_failure_to_string(why));
        else
                fzd_ice_log(a->log, LOG_DEBUG, "ICE %s: %s", a->local_ufrag, fzd_ice_state_to_string(s));
        push_event(a, FZD_ICE_AGENT_EVENT_STATE, NULL);
}

static uint64_t pair_priority(bool controlling, uint32_t local, uint32_t remote) {
        uint64_t g = controlling ? local : remote, d = controlling ? remote : local;
        return ((uint64_t)(g < d ? g : d) << 32) + 2 * (g > d ? g : d) + (g > d ? 1 : 0);
}

static bool local_pairable(const FzdIceAgent *a, size_t i) {
        const LocalCand *l = &a->local[i];

        if (l->removed || l->type == FZD_ICE_CANDIDATE_PRFLX)
                return false;
        if (l->type != FZD_ICE_CANDIDATE_SRFLX)
                return true;
        /* RFC 8445 §6.1.2.4: a server-reflexive candidate is checked from its base; with a host
         * candidate on that base the pair is redundant. */
        for (size_t j = 0; j < a->n_local; j++)
                if (!a->local[j].removed && a->local[j].type == FZD_ICE_CANDIDATE_HOST &&
                    fzd_addr_eq(&a->local[j].addr, &l->base))
                        return false;
        return true;
}

static Pair *find_pair(FzdIceAgent *a, size_t local, size_t remote) {
        for (size_t i = 0; i < a->n_pairs; i++)
                if (a->pairs[i].local == local && a->pairs[i].remote == remote)
                        return &a->pairs[i];
        return NULL;
}

static Pair *selected_pair(FzdIceAgent *a) {
        if (a->sel_local < 0)
                return NULL;
        return find_pair(a, (size_t)a->sel_local, (size_t)a->sel_remote);
}

static Pair *add_pair(FzdIceAgent *a, size_t local, size_t remote) {
        Pair *p;

        if (local >= a->n_local || remote >= a->n_remote ||
            a->local[local].addr.family != a->remote[remote].addr.family)
                return NULL;
        p = find_pair(a, local, remote);
        if (p)
                return p;
        if (a->n_pairs >= FZD_ICE_MAX_PAIRS)
                return NULL;
        if (a->n_pairs == a->cap_pairs) {
                size_t cap = a->cap_pairs ? a->cap_pairs * 2 : 8;
                Pair *n = reallocarray(a->pairs, cap, sizeof(Pair));
                if (!n)
                        return NULL;
                a->pairs = n;
                a->cap_pairs = cap;
        }
        p = &a->pairs[a->n_pairs++];
        *p = (Pair){
                .local = (uint8_t)local,
                .remote = (uint8_t)remote,
                .priority =
                        pair_priority(a->controlling, a->local[local].priority, a->remote[remote].priority),
                .state = PAIR_WAITING,
        };
        return p;
}

static void remove_pairs_if(FzdIceAgent *a,
                            bool (*match)(const FzdIceAgent *a, const Pair *p, const void *u),
                            const void *u) {
        for (size_t i = 0; i < a->n_pairs;) {
                if (match(a, &a->pairs[i], u)) {
                        a->pairs[i] = a->pairs[--a->n_pairs];
                        continue;
                }
                i++;
        }
        if (a->sel_local >= 0 && !selected_pair(a))
                a->sel_local = a->sel_remote = -1;
}

static bool pair_uses_local(const FzdIceAgent *a, const Pair *p, const void *u) {
        return p->local == *(const size_t *)u;
}

static bool pair_uses_remote(const FzdIceAgent *a, const Pair *p, const void *u) {
        return p->remote == *(const size_t *)u;
}

static bool pair_redundant(const FzdIceAgent *a, const Pair *p, const void *u) {
        return !local_pairable(a, p->local);
}

static void pair_local(FzdIceAgent *a, size_t li) {
        if (!local_pairable(a, li))
                return;
        for (size_t r = 0; r < a->n_remote; r++)
                if (!a->remote[r].removed)
                        (void)add_pair(a, li, r);
}

static void pair_remote(FzdIceAgent *a, size_t ri) {
        for (size_t l = 0; l < a->n_local; l++)
                if (local_pairable(a, l))
                        (void)add_pair(a, l, ri);
}

static void trigger(FzdIceAgent *a, Pair *p) {
        if (p->triggered)
                return;
        p->triggered = true;
        p->triggered_seq = ++a->triggered_counter;
}

/* Valid pairs are checked again after this: the selected one at the timing's max_rto (1.5 s
 * active, 25 s idle), the others, kept for failover, every 25 s. */
static bool pair_relayed(const FzdIceAgent *a, const Pair *p) {
        return a->local[p->local].type == FZD_ICE_CANDIDATE_RELAY ||
               a->remote[p->remote].type == FZD_ICE_CANDIDATE_RELAY;
}

/* Which valid pairs are kept alive: the selected one, and as standbys the best other direct
 * pair and the best other relayed pair. Every other valid pair goes unchecked (a check, two
 * packets each way every 25 s when idle, for a path that would not be chosen): if it is
 * needed after all, revalidate_standby() checks it first. */
static bool kept_alive(const FzdIceAgent *a, const Pair *p) {
        bool relayed;

        if ((int) p->local == a->sel_local && (int) p->remote == a->sel_remote)
                return true;
        relayed = pair_relayed(a, p);
        for (size_t i = 0; i < a->n_pairs; i++) {
                const Pair *q = &a->pairs[i];
                if (q == p || q->state != PAIR_SUCCEEDED || pair_relayed(a, q) != relayed ||
                    ((int) q->local == a->sel_local && (int) q->remote == a->sel_remote))
                        continue;
                if (q->priority > p->priority || (q->priority == p->priority && q < p))
                        return false;
        }
        return true;
}

static uint64_t keepalive_interval(const FzdIceAgent *a, const Pair *p) {
        uint64_t interval = timing(a)->max_rto;
        if ((int)p->local != a->sel_local || (int)p->remote != a->sel_remote)
                interval = interval > a->standby_keepalive ? interval : a->standby_keepalive;
        return interval;
}

/* ---- sending --------------------------------------------------------------------------- */

static void queue_transmit(FzdIceAgent *a, const LocalCand *l, const FzdAddr *dest, const uint8_t *data,
                           size_t len) {
        FzdIceAgentTransmit *t = fzd_queue_push(&a->transmits, sizeof(FzdIceAgentTransmit) + len);

        if (!t)
                return;
        t->source = l->type == FZD_ICE_CANDIDATE_RELAY ? l->addr : l->base;
        t->dest = *dest;
        t->relay = l->type == FZD_ICE_CANDIDATE_RELAY ? l->relay : -1;
        t->len = len;
        memcpy(t + 1, data, len);
}

static void send_check(FzdIceAgent *a, Pair *p) {
        const LocalCand *l = &a->local[p->local];
        const RemoteCand *r = &a->remote[p->remote];
        uint8_t buf[MAX_CHECK];
        char username[2 * FZD_ICE_CREDENTIAL_MAX + 2];
        FzdStunBuilder b;
        int n;

        snprintf(username, sizeof(username), "%s:%s", a->remote_ufrag, a->local_ufrag);
        fzd_stun_begin(&b, buf, sizeof(buf), FZD_STUN_BINDING, FZD_STUN_REQUEST, p->txid);
        fzd_stun_put_str(&b, FZD_STUN_ATTR_USERNAME, username);
        /* RFC 8445 §7.1.1: the priority a peer-reflexive candidate learned from this check would have. */
        fzd_stun_put_u32(&b, FZD_STUN_ATTR_PRIORITY,
                         fzd_ice_candidate_priority(FZD_ICE_CANDIDATE_PRFLX, l->local_pref, 1));
        fzd_stun_put_u64(&b,
                         p->tx_controlling ? FZD_STUN_ATTR_ICE_CONTROLLING : FZD_STUN_ATTR_ICE_CONTROLLED,
                         a->tie_breaker);
        if (p->tx_use_candidate)
                fzd_stun_put(&b, FZD_STUN_ATTR_USE_CANDIDATE, NULL, 0);
        fzd_stun_put_integrity(&b, (const uint8_t *)a->remote_pwd, strlen(a->remote_pwd));
        fzd_stun_put_fingerprint(&b);
        n = fzd_stun_finish(&b);
        if (n < 0)
                return;
        queue_transmit(a, l, &r->addr, buf, (size_t)n);
}

static void start_check(FzdIceAgent *a, Pair *p, uint64_t now) {
        const FzdIceTiming *t = timing(a);
        uint64_t deadline;

        if (p->tx_active) {
                /* Keep the old id: a late answer to it still proves the pair. */
                memmove(p->old_txids[1], p->old_txids[0], (OLD_TXIDS - 1) * FZD_STUN_TXID_SIZE);
                memcpy(p->old_txids[0], p->txid, FZD_STUN_TXID_SIZE);
                if (p->n_old < OLD_TXIDS)
                        p->n_old++;
        }
        p->triggered = false;
        if (fzd_stun_new_txid(p->txid) < 0) {
                p->tx_active = false;
                p->state = PAIR_FAILED;
                return;
        }
        p->tx_active = true;
        p->tx_use_candidate = a->controlling && p->nominate;
        p->tx_controlling = a->controlling;
        p->tx_retransmitted = false;
        p->tx_sends = 1;
        p->tx_first = now;
        if (!p->unanswered_since)
                p->unanswered_since = now;
        if (p->state == PAIR_WAITING || p->state == PAIR_FAILED)
                p->state = PAIR_IN_PROGRESS;
        deadline = p->unanswered_since + fzd_ice_timing_timeout(t);
        if (now >= deadline) {
                /* Unanswered for the whole ICE timeout already (the clock jumped: a suspend). */
                p->tx_active = false;
                p->state = PAIR_FAILED;
                a->stats.pairs_failed++;
                return;
        }
        p->tx_next = now + rto(t, 1);
        if (p->tx_next > deadline)
                p->tx_next = deadline;
        a->stats.checks_sent++;
        {
                char la[FZD_ADDR_STRLEN], ra[FZD_ADDR_STRLEN];
                fzd_ice_log_packet(a->log, now, LOG_DEBUG, "ICE %s: check %s %s -> %s%s", a->local_ufrag,
                                   fzd_ice_candidate_type_to_string(a->local[p->local].type),
                                   fzd_addr_format(&a->local[p->local].addr, la),
                                   fzd_addr_format(&a->remote[p->remote].addr, ra),
                                   p->tx_use_candidate ? " (nominating)" : "");
        }
        send_check(a, p);
}

static void send_response(FzdIceAgent *a, const FzdStunMsg *req, const LocalCand *l, const FzdAddr *from,
                          int code, const uint16_t *unknown, size_t n_unknown) {
        uint8_t buf[MAX_CHECK];
        FzdStunBuilder b;
        int n;

        fzd_stun_begin(&b, buf, sizeof(buf), FZD_STUN_BINDING, code ? FZD_STUN_ERROR : FZD_STUN_SUCCESS,
                       req->txid);
        if (code) {
                fzd_stun_put_error(&b, code, fzd_stun_reason(code));
                if (n_unknown) {
                        uint8_t list[2 * FZD_STUN_MAX_UNKNOWN];
                        for (size_t i = 0; i < n_unknown; i++) {
                                list[2 * i] = (uint8_t)(unknown[i] >> 8);
                                list[2 * i + 1] = (uint8_t)unknown[i];
                        }
                        fzd_stun_put(&b, FZD_STUN_ATTR_UNKNOWN_ATTRIBUTES, list, 2 * n_unknown);
                }
        } else
                fzd_stun_put_xor_addr(&b, FZD_STUN_ATTR_XOR_MAPPED_ADDRESS, from);
        fzd_stun_put_integrity(&b, (const uint8_t *)a->local_pwd, strlen(a->local_pwd));
        fzd_stun_put_fingerprint(&b);
        n = fzd_stun_finish(&b);
        if (n < 0)
                return;
        queue_transmit(a, l, from, buf, (size_t)n);
}

/* ---- selection and state --------------------------------------------------------------- */

static bool pair_alive(const Pair *p) {
        return p->state != PAIR_FAILED;
}

static void select_pair(FzdIceAgent *a, Pair *p, uint64_t now) {
        Pair *old = selected_pair(a);

        if (old == p)
                return;
        if (old && a->controlling) {
                /* Its checks must stop carrying USE-CANDIDATE: a peer that follows the latest
                 * nomination (aioice does) would switch back. */
                old->nominate = false;
                old->nominated = false;
        }
        a->sel_local = p ? p->local : -1;
        a->sel_remote = p ? p->remote : -1;
        if (p) {
                char la[FZD_ADDR_STRLEN], ra[FZD_ADDR_STRLEN];
                a->stats.selections++;
                fzd_ice_log(a->log, LOG_DEBUG, "ICE %s: selected %s %s -> %s %s", a->local_ufrag,
                            fzd_ice_candidate_type_to_string(a->local[p->local].type),
                            fzd_addr_format(&a->local[p->local].addr, la),
                            fzd_ice_candidate_type_to_string(a->remote[p->remote].type),
                            fzd_addr_format(&a->remote[p->remote].addr, ra));
                /* The selected pair is checked at the active cadence from now on. */
                if (p->next_keepalive > now + timing(a)->max_rto)
                        p->next_keepalive = now + timing(a)->max_rto;
                if (a->state != FZD_ICE_STATE_CONNECTED)
                        a->last_traffic = now;
        }
        push_event(a, FZD_ICE_AGENT_EVENT_SELECTED, NULL);
}

/* Which of two usable pairs to send on. The controlling agent: the higher priority. The
 * controlled one: the pair the peer nominated last (it nominates only the pair it sends on,
 * again with every check of it), then priority. Priority alone would keep a pair the peer
 * left for one of equal priority: after the peer's address changed, its new server-reflexive
 * candidate ties with the old one. */
static bool better_pair(const FzdIceAgent *a, const Pair *p, const Pair *than) {
        if (!a->controlling && p->nominated_seq != than->nominated_seq)
                return p->nominated_seq > than->nominated_seq;
        return p->priority > than->priority;
}

static void evaluate(FzdIceAgent *a, uint64_t now) {
        Pair *cur = selected_pair(a), *best = NULL;
        bool possible = false;

        if (a->state == FZD_ICE_STATE_FAILED)
                return;
        for (size_t i = 0; i < a->n_pairs; i++) {
                Pair *p = &a->pairs[i];
                bool eligible;
                if (pair_alive(p))
                        possible = true;
                eligible = p->state == PAIR_SUCCEEDED && (a->controlling || p->nominated);
                if (eligible && (!best || better_pair(a, p, best)))
                        best = p;
        }
        if (cur && cur->state != PAIR_SUCCEEDED)
                cur = NULL;
        if (best && (!cur || better_pair(a, best, cur))) {
                if (a->controlling && !best->nominated && !best->nominate) {
                        /* Nominate it (a USE-CANDIDATE check), as Firezone does, at once. */
                        best->nominate = true;
                        trigger(a, best);
                }
                select_pair(a, best, now);
                cur = best;
        } else if (!cur && selected_pair(a))
                select_pair(a, NULL, now);

        if (cur)
                set_state(a, FZD_ICE_STATE_CONNECTED, FZD_ICE_FAILURE_NONE);
        else if (possible || a->n_pairs == 0) {
                if (a->state != FZD_ICE_STATE_CHECKING) {
                        if (a->state == FZD_ICE_STATE_DISCONNECTED)
                                fzd_ice_log(a->log, LOG_DEBUG, "ICE %s: checking again", a->local_ufrag);
                        set_state(a, FZD_ICE_STATE_CHECKING, FZD_ICE_FAILURE_NONE);
                }
        } else if (a->state != FZD_ICE_STATE_DISCONNECTED) {
                a->disconnected_at = now;
                set_state(a, FZD_ICE_STATE_DISCONNECTED, FZD_ICE_FAILURE_TIMEOUT);
        }
}

static void switch_role(FzdIceAgent *a, bool controlling, uint64_t now) {
        Pair *sel;

        fzd_ice_log(a->log, LOG_INFO, "ICE %s: role conflict, now %s", a->local_ufrag,
                    controlling ? "controlling" : "controlled");
        a->stats.role_conflicts++;
        a->controlling = controlling;
        for (size_t i = 0; i < a->n_pairs; i++) {
                Pair *p = &a->pairs[i];
                p->priority = pair_priority(controlling, a->local[p->local].priority,
                                            a->remote[p->remote].priority);
                p->nominate = false;
                if (!controlling)
                        p->nominated = p->remote_nominated && p->state == PAIR_SUCCEEDED;
        }
        sel = selected_pair(a);
        if (!controlling && sel && !sel->nominated)
                select_pair(a, NULL, now);
}

/* ---- public: lifetime ------------------------------------------------------------------ */

static bool credential_ok(const char *s) {
        return s && *s && strlen(s) <= FZD_ICE_CREDENTIAL_MAX && !strchr(s, ':');
}

/* The selection may have changed which pairs are kept alive: one that became a standby (or
 * the selected pair) with its keepalive overdue is checked now, else its deadline would stay in
 * the past and the caller's timer would fire at once, again and again. Every entry point that
 * can change the selection (a timer, input, candidates added or removed, a relay gone) ends
 * here. A check can fail a pair (and change the selection): every round takes a pair out of
 * the candidates (it is checking, or failed), so this ends. */
static void check_overdue(FzdIceAgent *a, uint64_t now) {
        for (size_t round = 0; round <= a->n_pairs; round++) {
                bool started = false;
                for (size_t i = 0; i < a->n_pairs; i++) {
                        Pair *p = &a->pairs[i];
                        if (p->state == PAIR_SUCCEEDED && !p->tx_active && !p->triggered &&
                            now >= p->next_keepalive && kept_alive(a, p)) {
                                start_check(a, p, now);
                                p->next_keepalive = now + keepalive_interval(a, p);
                                started = true;
                        }
                }
                if (!started)
                        break;
                evaluate(a, now);
        }
}

/* Selection, then what it asks for now. */
static void settle(FzdIceAgent *a, uint64_t now) {
        evaluate(a, now);
        check_overdue(a, now);
}

int fzd_ice_agent_new(const FzdIceAgentConfig *c, uint64_t now, FzdIceAgent **ret) {
        FzdIceAgent *a;

        if (!c || !credential_ok(c->local_ufrag) || !credential_ok(c->remote_ufrag) || !c->local_pwd ||
            !c->remote_pwd || !*c->local_pwd || !*c->remote_pwd ||
            strlen(c->local_pwd) > FZD_ICE_CREDENTIAL_MAX || strlen(c->remote_pwd) > FZD_ICE_CREDENTIAL_MAX)
                return -EINVAL;
        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        a->controlling = c->controlling;
        a->local_ufrag = strdup(c->local_ufrag);
        a->local_pwd = strdup(c->local_pwd);
        a->remote_ufrag = strdup(c->remote_ufrag);
        a->remote_pwd = strdup(c->remote_pwd);
        if (!a->local_ufrag || !a->local_pwd || !a->remote_ufrag || !a->remote_pwd) {
                fzd_ice_agent_free(a);
                return -ENOMEM;
        }
        a->tie_breaker = c->tie_breaker;
        while (a->tie_breaker == 0)
                if (RAND_bytes((unsigned char *)&a->tie_breaker, sizeof(a->tie_breaker)) != 1) {
                        fzd_ice_agent_free(a);
                        return -EIO;
                }
        a->ta = c->ta;
        a->active = c->active.initial_rto ? c->active : FZD_ICE_TIMING_ACTIVE;
        a->idle_timing = c->idle.initial_rto ? c->idle : FZD_ICE_TIMING_IDLE;
        a->idle_after = c->idle_after ? c->idle_after : FZD_ICE_DEFAULT_IDLE_AFTER;
        a->candidate_timeout =
                c->candidate_timeout ? c->candidate_timeout : FZD_ICE_DEFAULT_CANDIDATE_TIMEOUT;
        a->disconnect_grace = c->disconnect_grace ? c->disconnect_grace : FZD_ICE_DEFAULT_DISCONNECT_GRACE;
        a->standby_keepalive =
                c->standby_keepalive ? c->standby_keepalive : FZD_ICE_DEFAULT_STANDBY_KEEPALIVE;
        a->log = c->log;
        a->sel_local = a->sel_remote = -1;
        a->created_at = a->last_traffic = a->next_slot = now;
        fzd_queue_init(&a->transmits, QUEUE_CAP);
        fzd_queue_init(&a->events, QUEUE_CAP);
        *ret = a;
        return 0;
}

static void free_secret(char *s) {
        if (s) {
                explicit_bzero(s, strlen(s));
                free(s);
        }
}

FzdIceAgent *fzd_ice_agent_free(FzdIceAgent *a) {
        if (!a)
                return NULL;
        free(a->local_ufrag);
        free_secret(a->local_pwd);
        free(a->remote_ufrag);
        free_secret(a->remote_pwd);
        free(a->pairs);
        fzd_queue_clear(&a->transmits);
        fzd_queue_clear(&a->events);
        free(a);
        return NULL;
}

/* ---- candidates ------------------------------------------------------------------------ */

static void announce_local(FzdIceAgent *a, const LocalCand *l, FzdIceAgentEventType type) {
        FzdIceCandidate c = {
                .type = l->type,
                .addr = l->addr,
                .priority = l->priority,
                .component = 1,
        };
        char sdp[FZD_ICE_CANDIDATE_MAX];

        snprintf(c.foundation, sizeof(c.foundation), "%s", l->foundation);
        if (fzd_ice_candidate_format(&c, a->local_ufrag, sdp, sizeof(sdp)) >= 0)
                push_event(a, type, sdp);
}

int fzd_ice_agent_add_local(FzdIceAgent *a, FzdIceCandidateType type, const FzdAddr *addr,
                            const FzdAddr *base, const FzdAddr *server, int relay, uint64_t now) {
        LocalCand *l = NULL;
        unsigned same = 0;
        size_t idx;

        if (a->state == FZD_ICE_STATE_FAILED || !fzd_addr_is_set(addr) || type == FZD_ICE_CANDIDATE_PRFLX ||
            type >= _FZD_ICE_CANDIDATE_TYPE_MAX || (type == FZD_ICE_CANDIDATE_RELAY && relay < 0))
                return -EINVAL;
        if (!base || !fzd_addr_is_set(base))
                base = addr;
        if (type == FZD_ICE_CANDIDATE_RELAY)
                base = addr;
        for (size_t i = 0; i < a->n_local; i++) {
                LocalCand *o = &a->local[i];
                if (o->removed) {
                        if (!l)
                                l = o;
                        continue;
                }
                if (o->type == type && fzd_addr_eq(&o->addr, addr) && fzd_addr_eq(&o->base, base))
                        return 0;
                /* A server-reflexive address that is one of our host addresses adds nothing. */
                if (type == FZD_ICE_CANDIDATE_SRFLX && o->type == FZD_ICE_CANDIDATE_HOST &&
                    fzd_addr_eq(&o->addr, addr))
                        return 0;
                if (o->type == type && o->addr.family == addr->family)
                        same++;
        }
        if (!l) {
                if (a->n_local >= FZD_ICE_MAX_LOCAL_CANDIDATES)
                        return -ENOSPC;
                l = &a->local[a->n_local++];
        }
        idx = (size_t)(l - a->local);
        *l = (LocalCand){
                .type = type,
                .addr = *addr,
                .base = *base,
                .relay = type == FZD_ICE_CANDIDATE_RELAY ? relay : -1,
        };
        /* Local preference as str0m computes it: IPv6 before IPv4, then in order of arrival. */
        l->local_pref =
                (uint16_t)(65535 - (addr->family == AF_INET ? 1 : 0) - 2 * (same < 1000 ? same : 1000));
        l->priority = fzd_ice_candidate_priority(type, l->local_pref, 1);
        fzd_ice_candidate_foundation(type, base, server, l->foundation);
        announce_local(a, l, FZD_ICE_AGENT_EVENT_CANDIDATE);
        if (type == FZD_ICE_CANDIDATE_HOST)
                remove_pairs_if(a, pair_redundant, NULL);
        pair_local(a, idx);
        settle(a, now);
        return 1;
}

int fzd_ice_agent_remove_local(FzdIceAgent *a, FzdIceCandidateType type, const FzdAddr *addr, uint64_t now) {
        for (size_t i = 0; i < a->n_local; i++) {
                LocalCand *l = &a->local[i];
                if (l->removed || l->type != type || !fzd_addr_eq(&l->addr, addr))
                        continue;
                announce_local(a, l, FZD_ICE_AGENT_EVENT_CANDIDATE_INVALIDATED);
                l->removed = true;
                remove_pairs_if(a, pair_uses_local, &i);
                /* A host candidate goes when its address does: what was learned on that base
                 * (server- and peer-reflexive) cannot be sent from any more either. */
                if (type == FZD_ICE_CANDIDATE_HOST)
                        for (size_t j = 0; j < a->n_local; j++) {
                                LocalCand *d = &a->local[j];
                                if (d->removed || d->type == FZD_ICE_CANDIDATE_HOST ||
                                    d->type == FZD_ICE_CANDIDATE_RELAY || !fzd_addr_eq(&d->base, addr))
                                        continue;
                                if (d->type == FZD_ICE_CANDIDATE_SRFLX)
                                        announce_local(a, d, FZD_ICE_AGENT_EVENT_CANDIDATE_INVALIDATED);
                                d->removed = true;
                                remove_pairs_if(a, pair_uses_local, &j);
                        }
                if (!selected_pair(a) && a->state == FZD_ICE_STATE_CONNECTED)
                        push_event(a, FZD_ICE_AGENT_EVENT_SELECTED, NULL);
                settle(a, now);
                return 0;
        }
        return -ENOENT;
}

static int find_remote(const FzdIceAgent *a, const FzdAddr *addr) {
        for (size_t i = 0; i < a->n_remote; i++)
                if (!a->remote[i].removed && fzd_addr_eq(&a->remote[i].addr, addr))
                        return (int)i;
        return -1;
}

static RemoteCand *new_remote(FzdIceAgent *a) {
        for (size_t i = 0; i < a->n_remote; i++)
                if (a->remote[i].removed)
                        return &a->remote[i];
        if (a->n_remote >= FZD_ICE_MAX_REMOTE_CANDIDATES)
                return NULL;
        return &a->remote[a->n_remote++];
}

int fzd_ice_agent_add_remote_candidate(FzdIceAgent *a, const FzdIceCandidate *c, uint64_t now,
                                       const char **ret_reason) {
        RemoteCand *r;
        int existing;

        if (a->state == FZD_ICE_STATE_FAILED) {
                if (ret_reason)
                        *ret_reason = "the connection has failed";
                return -EINVAL;
        }
        if (c->ufrag[0] && strcmp(c->ufrag, a->remote_ufrag) != 0) {
                if (ret_reason)
                        *ret_reason = "candidate of another ICE session (ufrag differs)";
                return -EINVAL;
        }
        existing = find_remote(a, &c->addr);
        if (existing >= 0) {
                r = &a->remote[existing];
                /* A peer-reflexive candidate learned from a check gets its real type and priority. */
                if (r->type == FZD_ICE_CANDIDATE_PRFLX && c->type != FZD_ICE_CANDIDATE_PRFLX) {
                        r->type = c->type;
                        r->priority = c->priority;
                        snprintf(r->foundation, sizeof(r->foundation), "%s", c->foundation);
                        for (size_t i = 0; i < a->n_pairs; i++)
                                if (a->pairs[i].remote == existing)
                                        a->pairs[i].priority = pair_priority(
                                                a->controlling, a->local[a->pairs[i].local].priority,
                                                r->priority);
                }
                return 0;
        }
        r = new_remote(a);
        if (!r) {
                if (ret_reason)
                        *ret_reason = "too many remote candidates";
                return -ENOSPC;
        }
        *r = (RemoteCand){.type = c->type, .addr = c->addr, .priority = c->priority};
        snprintf(r->foundation, sizeof(r->foundation), "%s", c->foundation);
        a->had_remote = true;
        pair_remote(a, (size_t)(r - a->remote));
        settle(a, now);
        return 0;
}

int fzd_ice_agent_add_remote(FzdIceAgent *a, const char *sdp, uint64_t now, const char **ret_reason) {
        FzdIceCandidate c;
        int r;

        r = fzd_ice_candidate_parse(sdp, &c, ret_reason);
        if (r < 0)
                return r;
        return fzd_ice_agent_add_remote_candidate(a, &c, now, ret_reason);
}

int fzd_ice_agent_remove_remote(FzdIceAgent *a, const char *sdp, uint64_t now, const char **ret_reason) {
        FzdIceCandidate c;
        int r;
        size_t i;

        r = fzd_ice_candidate_parse(sdp, &c, ret_reason);
        if (r < 0)
                return r;
        r = find_remote(a, &c.addr);
        if (r < 0)
                return -ENOENT;
        i = (size_t)r;
        a->remote[i].removed = true;
        remove_pairs_if(a, pair_uses_remote, &i);
        if (!selected_pair(a) && a->state == FZD_ICE_STATE_CONNECTED)
                push_event(a, FZD_ICE_AGENT_EVENT_SELECTED, NULL);
        settle(a, now);
        return 0;
}

/* ---- input ----------------------------------------------------------------------------- */

static bool username_is_ours(const FzdIceAgent *a, const FzdStunMsg *m, bool check_remote) {
        const uint8_t *u;
        size_t n, lu = strlen(a->local_ufrag), ru = strlen(a->remote_ufrag);

        if (fzd_stun_get_bytes(m, FZD_STUN_ATTR_USERNAME, &u, &n) < 0 || n <= lu || u[lu] != ':' ||
            memcmp(u, a->local_ufrag, lu) != 0)
                return false;
        return !check_remote || (n == lu + 1 + ru && memcmp(u + lu + 1, a->remote_ufrag, ru) == 0);
}

static int find_txid(const FzdIceAgent *a, const uint8_t *txid, bool *ret_current) {
        for (size_t i = 0; i < a->n_pairs; i++) {
                const Pair *p = &a->pairs[i];
                if (p->tx_active && memcmp(p->txid, txid, FZD_STUN_TXID_SIZE) == 0) {
                        *ret_current = true;
                        return (int)i;
                }
                for (unsigned k = 0; k < p->n_old; k++)
                        if (memcmp(p->old_txids[k], txid, FZD_STUN_TXID_SIZE) == 0) {
                                *ret_current = false;
                                return (int)i;
                        }
        }
        return -1;
}

bool fzd_ice_agent_owns(const FzdIceAgent *a, const FzdStunMsg *m) {
        bool current;

        if (m->method != FZD_STUN_BINDING)
                return false;
        if (m->cls == FZD_STUN_REQUEST)
                return username_is_ours(a, m, false);
        if (m->cls == FZD_STUN_SUCCESS || m->cls == FZD_STUN_ERROR)
                return find_txid(a, m->txid, &current) >= 0;
        return false;
}

static int local_for_input(const FzdIceAgent *a, const FzdAddr *local, int relay) {
        int fallback = -1;

        for (size_t i = 0; i < a->n_local; i++) {
                const LocalCand *l = &a->local[i];
                if (l->removed || l->type == FZD_ICE_CANDIDATE_PRFLX)
                        continue;
                if (relay >= 0) {
                        if (l->type == FZD_ICE_CANDIDATE_RELAY && l->relay == relay &&
                            l->addr.family == local->family)
                                return (int)i;
                        continue;
                }
                if (l->type == FZD_ICE_CANDIDATE_RELAY)
                        continue;
                if (fzd_addr_eq(&l->base, local) && local_pairable(a, i))
                        return (int)i;
                /* The socket is bound to the wildcard: a candidate on the same port will do. */
                if (fallback < 0 && l->base.family == local->family && l->base.port == local->port &&
                    local_pairable(a, i))
                        fallback = (int)i;
        }
        return fallback;
}

static void handle_request(FzdIceAgent *a, uint64_t now, const FzdStunMsg *m, const FzdAddr *local,
                           const FzdAddr *from, int relay) {
        uint32_t prio;
        uint64_t tie;
        int li, ri;
        Pair *p;
        bool use_candidate;

        if (!username_is_ours(a, m, true) ||
            !fzd_stun_check_integrity(m, (const uint8_t *)a->local_pwd, strlen(a->local_pwd))) {
                a->stats.bad_requests++;
                fzd_ice_log_packet(a->log, now, LOG_DEBUG, "ICE %s: check with wrong credentials dropped",
                                   a->local_ufrag);
                return;
        }
        li = local_for_input(a, local, relay);
        if (li < 0) {
                char s[FZD_ADDR_STRLEN];
                a->stats.bad_requests++;
                fzd_ice_log_packet(a->log, now, LOG_DEBUG,
                                   "ICE %s: check to %s, not one of our candidates, dropped", a->local_ufrag,
                                   fzd_addr_format(local, s));
                return;
        }
        if (m->n_unknown > 0) {
                send_response(a, m, &a->local[li], from, FZD_STUN_ERR_UNKNOWN_ATTRIBUTE, m->unknown,
                              m->n_unknown);
                return;
        }
        if (fzd_stun_get_u32(m, FZD_STUN_ATTR_PRIORITY, &prio) < 0 || prio == 0) {
                send_response(a, m, &a->local[li], from, FZD_STUN_ERR_BAD_REQUEST, NULL, 0);
                return;
        }
        /* RFC 8445 §7.3.1.1 role conflicts: the larger tie-breaker keeps controlling. */
        if (a->controlling && fzd_stun_get_u64(m, FZD_STUN_ATTR_ICE_CONTROLLING, &tie) == 0) {
                if (a->tie_breaker >= tie) {
                        a->stats.role_conflicts++;
                        send_response(a, m, &a->local[li], from, FZD_STUN_ERR_ROLE_CONFLICT, NULL, 0);
                        return;
                }
                switch_role(a, false, now);
        } else if (!a->controlling && fzd_stun_get_u64(m, FZD_STUN_ATTR_ICE_CONTROLLED, &tie) == 0) {
                if (a->tie_breaker >= tie)
                        switch_role(a, true, now);
                else {
                        a->stats.role_conflicts++;
                        send_response(a, m, &a->local[li], from, FZD_STUN_ERR_ROLE_CONFLICT, NULL, 0);
                        return;
                }
        }
        use_candidate = fzd_stun_has(m, FZD_STUN_ATTR_USE_CANDIDATE);

        ri = find_remote(a, from);
        if (ri < 0) {
                /* RFC 8445 §7.3.1.3: a peer-reflexive remote candidate. */
                RemoteCand *r = new_remote(a);
                if (!r) {
                        a->stats.bad_requests++;
                        return;
                }
                *r = (RemoteCand){.type = FZD_ICE_CANDIDATE_PRFLX, .addr = *from, .priority = prio};
                snprintf(r->foundation, sizeof(r->foundation), PRFLX_FOUNDATION "%u", ++a->prflx_counter);
                ri = (int)(r - a->remote);
                a->had_remote = true;
                a->stats.prflx_learned++;
        }
        a->stats.requests++;
        send_response(a, m, &a->local[li], from, 0, NULL, 0);

        p = add_pair(a, (size_t)li, (size_t)ri);
        if (!p)
                return;
        /* §7.3.1.4: a triggered check, unless the pair is known good. One in progress is checked
         * again at once: its request may have been lost before the peer's side opened (a relay's
         * permission, a NAT binding), and the peer's check just showed the way is open. */
        if (p->state == PAIR_WAITING || p->state == PAIR_FAILED || p->state == PAIR_IN_PROGRESS) {
                if (p->state == PAIR_FAILED)
                        p->unanswered_since = 0;
                trigger(a, p);
        }
        if (use_candidate && !a->controlling) {
                p->remote_nominated = true;
                p->nominated_seq = ++a->nomination_counter;
                if (p->state == PAIR_SUCCEEDED)
                        p->nominated = true;
                else
                        trigger(a, p);
        }
        settle(a, now);
}

static void handle_response(FzdIceAgent *a, uint64_t now, const FzdStunMsg *m, const FzdAddr *from,
                            int relay) {
        bool current;
        int i = find_txid(a, m->txid, &current);
        const LocalCand *l;
        int code = 0;
        Pair *p;

        if (i < 0)
                return;
        p = &a->pairs[i];
        l = &a->local[p->local];
        if (!fzd_stun_check_integrity(m, (const uint8_t *)a->remote_pwd, strlen(a->remote_pwd))) {
                fzd_ice_log_packet(a->log, now, LOG_DEBUG, "ICE %s: response with bad integrity dropped",
                                   a->local_ufrag);
                return;
        }
        /* RFC 8445 §7.2.5.2.1: the answer must come back the way the check went. */
        if (!fzd_addr_eq(from, &a->remote[p->remote].addr) ||
            (l->type == FZD_ICE_CANDIDATE_RELAY) != (relay >= 0) || (relay >= 0 && relay != l->relay)) {
                fzd_ice_log_packet(a->log, now, LOG_DEBUG, "ICE %s: non-symmetric response dropped",
                                   a->local_ufrag);
                return;
        }
        a->stats.responses++;
        if (m->cls == FZD_STUN_ERROR) {
                if (fzd_stun_get_error(m, &code, NULL, NULL) == 0 && code == FZD_STUN_ERR_ROLE_CONFLICT) {
                        p->unanswered_since = 0; /* the peer answered: the path works */
                        if (current) {
                                a->stats.role_conflicts++;
                                /* Only if the check went out in the role we still have (else stale). */
                                if (p->tx_controlling == a->controlling)
                                        switch_role(a, !a->controlling, now);
                                p->tx_active = false;
                                trigger(a, p);
                        }
                        return;
                }
                if (current) {
                        p->tx_active = false;
                        p->state = PAIR_FAILED;
                        a->stats.pairs_failed++;
                        settle(a, now);
                }
                return;
        }

        if (current) {
                if (!p->tx_retransmitted)
                        p->rtt = now - p->tx_first;
                p->tx_active = false;
                if (p->tx_use_candidate && a->controlling && !p->nominated) {
                        p->nominated = true;
                        /* The peer uses this pair now: tell the node, if it is the selected one. */
                        if (p == selected_pair(a))
                                push_event(a, FZD_ICE_AGENT_EVENT_NOMINATED, NULL);
                }
        }
        p->state = PAIR_SUCCEEDED;
        p->last_response = now;
        p->unanswered_since = 0;
        if (!a->controlling && p->remote_nominated)
                p->nominated = true;
        evaluate(a, now);
        if (!p->tx_active)
                p->next_keepalive = now + keepalive_interval(a, p);
        check_overdue(a, now);
}

void fzd_ice_agent_handle_stun(FzdIceAgent *a, uint64_t now, const FzdStunMsg *m, const FzdAddr *local,
                               const FzdAddr *from, int relay) {
        if (a->state == FZD_ICE_STATE_FAILED || m->method != FZD_STUN_BINDING)
                return;
        if (m->cls == FZD_STUN_REQUEST)
                handle_request(a, now, m, local, from, relay);
        else if (m->cls == FZD_STUN_SUCCESS || m->cls == FZD_STUN_ERROR)
                handle_response(a, now, m, from, relay);
}

/* ---- timers ---------------------------------------------------------------------------- */

static void fail_agent(FzdIceAgent *a, FzdIceFailure why) {
        set_state(a, FZD_ICE_STATE_FAILED, why);
        for (size_t i = 0; i < a->n_pairs; i++) {
                a->pairs[i].tx_active = false;
                a->pairs[i].triggered = false;
        }
}

static Pair *next_new_check(FzdIceAgent *a) {
        Pair *best = NULL;

        for (size_t i = 0; i < a->n_pairs; i++) {
                Pair *p = &a->pairs[i];
                if (p->triggered && (!best || !best->triggered || p->triggered_seq < best->triggered_seq))
                        best = p;
        }
        if (best)
                return best;
        /* Ordinary checks: the highest-priority waiting pair. */
        for (size_t i = 0; i < a->n_pairs; i++) {
                Pair *p = &a->pairs[i];
                if (p->state == PAIR_WAITING && (!best || p->priority > best->priority))
                        best = p;
        }
        return best;
}

/* The selected pair went unanswered for the whole ICE timeout. A standby pair that has not
 * been answered since the selected one fell silent proves nothing about the peer (it is
 * checked only every standby_keepalive): check it now, and give it FZD_ICE_REVALIDATE_USEC
 * to answer rather than a timeout of its own — else a peer that is gone (a gateway that
 * restarted) costs one ICE timeout per standby pair, selected one after the other. */
static void revalidate_standby(FzdIceAgent *a, const Pair *failed, uint64_t now) {
        uint64_t timeout = fzd_ice_timing_timeout(timing(a));

        for (size_t i = 0; i < a->n_pairs; i++) {
                Pair *q = &a->pairs[i];
                if (q == failed || q->state != PAIR_SUCCEEDED || q->last_response >= failed->unanswered_since)
                        continue;
                if (!q->unanswered_since || q->unanswered_since + timeout > now + FZD_ICE_REVALIDATE_USEC)
                        q->unanswered_since = now + FZD_ICE_REVALIDATE_USEC > timeout
                                                      ? now + FZD_ICE_REVALIDATE_USEC - timeout
                                                      : 0;
                if (!q->unanswered_since)
                        q->unanswered_since = 1;
                q->state = PAIR_IN_PROGRESS; /* not selectable until it answers */
                if (!q->tx_active)
                        start_check(a, q, now);
        }
}

void fzd_ice_agent_handle_timeout(FzdIceAgent *a, uint64_t now) {
        const FzdIceTiming *t;
        Pair *p;

        if (a->state == FZD_ICE_STATE_FAILED)
                return;
        if (!a->had_remote && now >= a->created_at + a->candidate_timeout) {
                fail_agent(a, FZD_ICE_FAILURE_NO_CANDIDATES);
                return;
        }
        if (a->state == FZD_ICE_STATE_DISCONNECTED && now >= a->disconnected_at + a->disconnect_grace) {
                fail_agent(a, FZD_ICE_FAILURE_TIMEOUT);
                return;
        }
        if (a->state == FZD_ICE_STATE_CONNECTED && !a->idle && now >= a->last_traffic + a->idle_after) {
                fzd_ice_log(a->log, LOG_DEBUG, "ICE %s: idle", a->local_ufrag);
                a->idle = true;
        }
        t = timing(a);

        for (size_t i = 0; i < a->n_pairs; i++) {
                p = &a->pairs[i];
                if (p->tx_active && now >= p->tx_next) {
                        uint64_t deadline = p->unanswered_since + fzd_ice_timing_timeout(t);
                        if (now >= deadline) {
                                p->tx_active = false;
                                p->triggered = false;
                                p->state = PAIR_FAILED;
                                a->stats.pairs_failed++;
                                if (p == selected_pair(a))
                                        revalidate_standby(a, p, now);
                                continue;
                        }
                        p->tx_sends++;
                        p->tx_retransmitted = true;
                        a->stats.retransmits++;
                        send_check(a, p);
                        p->tx_next = now + rto(t, p->tx_sends);
                        if (p->tx_next > deadline)
                                p->tx_next = deadline;
                } else if (p->state == PAIR_SUCCEEDED && !p->tx_active && !p->triggered &&
                           now >= p->next_keepalive && kept_alive(a, p)) {
                        start_check(a, p, now);
                        p->next_keepalive = now + keepalive_interval(a, p);
                }
        }

        /* Selection first: a pair that just failed may hand the nomination to another one, whose
         * check then goes out in this round. */
        evaluate(a, now);
        while (now >= a->next_slot && (p = next_new_check(a))) {
                start_check(a, p, now);
                a->next_slot = now + a->ta;
                if (a->ta > 0)
                        break;
        }
        if (a->next_slot < now)
                a->next_slot = now;
        settle(a, now);
}

static void min_at(uint64_t *m, uint64_t v) {
        if (v < *m)
                *m = v;
}

uint64_t fzd_ice_agent_poll_timeout(const FzdIceAgent *a) {
        uint64_t next = UINT64_MAX;
        bool pending = false;

        if (a->state == FZD_ICE_STATE_FAILED)
                return next;
        if (!a->had_remote)
                min_at(&next, a->created_at + a->candidate_timeout);
        if (a->state == FZD_ICE_STATE_DISCONNECTED)
                min_at(&next, a->disconnected_at + a->disconnect_grace);
        if (a->state == FZD_ICE_STATE_CONNECTED && !a->idle)
                min_at(&next, a->last_traffic + a->idle_after);
        for (size_t i = 0; i < a->n_pairs; i++) {
                const Pair *p = &a->pairs[i];
                if (p->tx_active)
                        min_at(&next, p->tx_next);
                else if (p->state == PAIR_SUCCEEDED && !p->triggered && kept_alive(a, p))
                        min_at(&next, p->next_keepalive);
                if (p->triggered || p->state == PAIR_WAITING)
                        pending = true;
        }
        if (pending)
                min_at(&next, a->next_slot);
        return next;
}

bool fzd_ice_agent_poll_transmit(FzdIceAgent *a, FzdIceAgentTransmit *ret) {
        FzdIceAgentTransmit *t = fzd_queue_pop(&a->transmits);

        if (!t)
                return false;
        *ret = *t;
        ret->data = (const uint8_t *)(t + 1);
        return true;
}

bool fzd_ice_agent_poll_event(FzdIceAgent *a, FzdIceAgentEvent *ret) {
        FzdIceAgentEvent *e = fzd_queue_pop(&a->events);

        if (!e)
                return false;
        *ret = *e;
        return true;
}

void fzd_ice_agent_note_traffic(FzdIceAgent *a, uint64_t now) {
        Pair *p;

        a->last_traffic = now;
        if (!a->idle)
                return;
        a->idle = false;
        fzd_ice_log(a->log, LOG_DEBUG, "ICE %s: active again", a->local_ufrag);
        /* Back to the active cadence: the next check of the selected pair within max_rto. */
        p = selected_pair(a);
        if (p && p->next_keepalive > now + a->active.max_rto)
                p->next_keepalive = now + a->active.max_rto;
        if (p && p->tx_active && p->tx_next > now + a->active.max_rto)
                p->tx_next = now + a->active.max_rto;
}

void fzd_ice_agent_retrigger(FzdIceAgent *a, int relay, const FzdAddr *remote, uint64_t now) {
        for (size_t i = 0; i < a->n_pairs; i++) {
                Pair *p = &a->pairs[i];
                if (a->local[p->local].relay == relay &&
                    a->local[p->local].type == FZD_ICE_CANDIDATE_RELAY &&
                    fzd_addr_eq(&a->remote[p->remote].addr, remote) && p->state != PAIR_SUCCEEDED) {
                        if (p->state == PAIR_FAILED)
                                p->unanswered_since = 0;
                        trigger(a, p);
                }
        }
}

FzdIceState fzd_ice_agent_get_state(const FzdIceAgent *a) {
        return a->state;
}

FzdIceFailure fzd_ice_agent_get_failure(const FzdIceAgent *a) {
        return a->failure;
}

bool fzd_ice_agent_is_idle(const FzdIceAgent *a) {
        return a->idle;
}

bool fzd_ice_agent_is_controlling(const FzdIceAgent *a) {
        return a->controlling;
}

const char *fzd_ice_agent_get_local_ufrag(const FzdIceAgent *a) {
        return a->local_ufrag;
}

int fzd_ice_agent_get_selected(const FzdIceAgent *a, FzdIceSelected *ret) {
        const Pair *p = selected_pair((FzdIceAgent *)a);
        const LocalCand *l;

        if (!p || p->state != PAIR_SUCCEEDED)
                return -ENOENT;
        l = &a->local[p->local];
        *ret = (FzdIceSelected){
                .local_type = l->type,
                .local = l->addr,
                .base = l->type == FZD_ICE_CANDIDATE_RELAY ? l->addr : l->base,
                .relay = l->type == FZD_ICE_CANDIDATE_RELAY ? l->relay : -1,
                .remote_type = a->remote[p->remote].type,
                .remote = a->remote[p->remote].addr,
                .rtt = p->rtt,
                .nominated = p->nominated,
        };
        return 0;
}

const FzdIceAgentStats *fzd_ice_agent_get_stats(const FzdIceAgent *a) {
        return &a->stats;
}

void fzd_ice_agent_count_pairs(const FzdIceAgent *a, unsigned *ret_total, unsigned *ret_succeeded,
                               unsigned *ret_failed) {
        unsigned s = 0, f = 0;

        for (size_t i = 0; i < a->n_pairs; i++) {
                s += a->pairs[i].state == PAIR_SUCCEEDED;
                f += a->pairs[i].state == PAIR_FAILED;
        }
        if (ret_total)
                *ret_total = (unsigned)a->n_pairs;
        if (ret_succeeded)
                *ret_succeeded = s;
        if (ret_failed)
                *ret_failed = f;
}
