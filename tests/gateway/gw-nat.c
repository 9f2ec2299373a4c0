/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gw-nat.h"
#include "gw-packet.h"

typedef struct Node {
        FzgwNatFlow flow;
        struct Node *next;
} Node;

struct FzgwNat {
        Node **buckets;
        size_t n_buckets; /* a power of two */
        size_t count, max;
};

static uint64_t hash_key(const FzgwNatKey *k) {
        const uint8_t *p = (const uint8_t *) k;
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        for (size_t i = 0; i < sizeof *k; i++) {
                h ^= p[i];
                h *= UINT64_C(0x100000001b3);
        }
        return h;
}

static bool key_eq(const FzgwNatKey *a, const FzgwNatKey *b) {
        return memcmp(a, b, sizeof *a) == 0;
}

int fzgw_nat_new(size_t max, FzgwNat **ret) {
        FzgwNat *n = calloc(1, sizeof *n);

        if (!n)
                return -ENOMEM;
        n->n_buckets = 64;
        while (n->n_buckets < max / 2 && n->n_buckets < 65536)
                n->n_buckets *= 2;
        n->buckets = calloc(n->n_buckets, sizeof *n->buckets);
        if (!n->buckets) {
                free(n);
                return -ENOMEM;
        }
        n->max = max;
        *ret = n;
        return 0;
}

FzgwNat *fzgw_nat_free(FzgwNat *n) {
        if (!n)
                return NULL;
        for (size_t i = 0; i < n->n_buckets; i++)
                for (Node *e = n->buckets[i], *next; e; e = next) {
                        next = e->next;
                        free(e);
                }
        free(n->buckets);
        free(n);
        return NULL;
}

static Node **slot(FzgwNat *n, const FzgwNatKey *k) {
        Node **pp = &n->buckets[hash_key(k) & (n->n_buckets - 1)];

        while (*pp && !key_eq(&(*pp)->flow.key, k))
                pp = &(*pp)->next;
        return pp;
}

static void note_flags(FzgwNatFlow *f, uint8_t flags, bool request) {
        if (f->key.proto != FZGW_PROTO_TCP)
                return;
        if (flags & FZGW_TCP_RST)
                f->rst = true;
        if (flags & FZGW_TCP_FIN) {
                if (request)
                        f->fin_request = true;
                else
                        f->fin_reply = true;
        }
}

int fzgw_nat_request(FzgwNat *n, const FzgwNatKey *key, const uint8_t proxy[16], uint64_t owner,
                     uint64_t now, uint8_t tcp_flags, size_t bytes) {
        Node **pp = slot(n, key), *e = *pp;
        size_t alen = fzgw_ip_len(key->family);
        int made = 0;

        if (e && (e->flow.owner != owner || memcmp(e->flow.proxy, proxy, alen) != 0)) {
                /* The same flow through another proxy IP (or a restarted client): the newest
                 * wins, from scratch. */
                e->flow = (FzgwNatFlow){ .key = *key };
                made = 1;
        }
        if (!e) {
                if (n->count >= n->max)
                        return -ENOSPC;
                e = calloc(1, sizeof *e);
                if (!e)
                        return -ENOMEM;
                e->flow.key = *key;
                *pp = e;
                n->count++;
                made = 1;
        }
        if (made) {
                memcpy(e->flow.proxy, proxy, alen);
                e->flow.owner = owner;
                e->flow.created = now;
        }
        e->flow.last_request = now;
        e->flow.request_bytes += bytes;
        /* A new SYN after FIN or RST reuses the 5-tuple: a new connection. */
        if (key->proto == FZGW_PROTO_TCP && (tcp_flags & (FZGW_TCP_SYN | FZGW_TCP_RST)) == FZGW_TCP_SYN &&
            (e->flow.rst || e->flow.fin_request || e->flow.fin_reply))
                e->flow.rst = e->flow.fin_request = e->flow.fin_reply = false;
        note_flags(&e->flow, tcp_flags, true);
        return made;
}

bool fzgw_nat_reply(FzgwNat *n, const FzgwNatKey *key, uint64_t now, uint8_t tcp_flags, size_t bytes,
                    uint8_t ret_proxy[16]) {
        Node *e = *slot(n, key);

        if (!e)
                return false;
        e->flow.last_reply = now;
        e->flow.reply_bytes += bytes;
        note_flags(&e->flow, tcp_flags, false);
        memcpy(ret_proxy, e->flow.proxy, fzgw_ip_len(key->family));
        return true;
}

static uint64_t ttl(uint8_t proto) {
        switch (proto) {
        case FZGW_PROTO_TCP:
                return FZGW_NAT_TCP_TTL;
        case FZGW_PROTO_UDP:
                return FZGW_NAT_UDP_TTL;
        default:
                return FZGW_NAT_ICMP_TTL;
        }
}

uint64_t fzgw_nat_flow_deadline(const FzgwNatFlow *f) {
        uint64_t last = f->last_request > f->last_reply ? f->last_request : f->last_reply;
        uint64_t at = last + ttl(f->key.proto);

        if (f->last_reply == 0 && f->last_request + FZGW_NAT_UNCONFIRMED_TTL < at)
                at = f->last_request + FZGW_NAT_UNCONFIRMED_TTL;
        if (f->fin_request && f->fin_reply && last + FZGW_NAT_FIN_TTL < at)
                at = last + FZGW_NAT_FIN_TTL;
        if (f->rst)
                at = last;
        return at;
}

static size_t remove_if(FzgwNat *n, bool (*pred)(const FzgwNatFlow *f, const void *ctx), const void *ctx,
                        FzgwNatEndFn fn, void *userdata) {
        size_t removed = 0;

        for (size_t i = 0; i < n->n_buckets; i++)
                for (Node **pp = &n->buckets[i]; *pp;) {
                        Node *e = *pp;
                        if (!pred(&e->flow, ctx)) {
                                pp = &e->next;
                                continue;
                        }
                        if (fn)
                                fn(userdata, &e->flow);
                        *pp = e->next;
                        free(e);
                        n->count--;
                        removed++;
                }
        return removed;
}

static bool expired(const FzgwNatFlow *f, const void *ctx) {
        return *(const uint64_t *) ctx >= fzgw_nat_flow_deadline(f);
}

size_t fzgw_nat_expire(FzgwNat *n, uint64_t now, FzgwNatEndFn fn, void *userdata) {
        return remove_if(n, expired, &now, fn, userdata);
}

typedef struct ForgetCtx {
        uint64_t owner;
        int family;
        const uint8_t *proxy;
} ForgetCtx;

static bool owned(const FzgwNatFlow *f, const void *ctx) {
        const ForgetCtx *c = ctx;

        if (f->owner != c->owner)
                return false;
        return !c->proxy ||
               (f->key.family == c->family && memcmp(f->proxy, c->proxy, fzgw_ip_len(c->family)) == 0);
}

size_t fzgw_nat_forget(FzgwNat *n, uint64_t owner, int family, const uint8_t *proxy, FzgwNatEndFn fn,
                       void *userdata) {
        ForgetCtx c = { .owner = owner, .family = family, .proxy = proxy };

        return remove_if(n, owned, &c, fn, userdata);
}

size_t fzgw_nat_count(const FzgwNat *n) {
        return n->count;
}

void fzgw_nat_foreach(FzgwNat *n, void (*fn)(void *userdata, FzgwNatFlow *flow), void *userdata) {
        for (size_t i = 0; i < n->n_buckets; i++)
                for (Node *e = n->buckets[i]; e; e = e->next)
                        fn(userdata, &e->flow);
}
