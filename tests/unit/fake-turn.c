/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include "channel-data.h"
#include "fake-turn.h"
#include "stun.h"

void fake_turn_init(FakeTurn *f, const char *server, const char *relayed, const char *username,
                    const char *password) {
        memset(f, 0, sizeof(*f));
        (void)fzd_addr_parse(server, &f->server);
        (void)fzd_addr_parse(relayed, &f->relayed);
        snprintf(f->realm, sizeof(f->realm), "firezone");
        snprintf(f->username, sizeof(f->username), "%s", username);
        snprintf(f->password, sizeof(f->password), "%s", password);
        f->lifetime = 600;
        fake_turn_new_nonce(f);
}

void fake_turn_new_nonce(FakeTurn *f) {
        snprintf(f->nonce, sizeof(f->nonce), "nonce-%u", ++f->nonce_counter);
}

static unsigned put(Datagram *out, unsigned n, const FzdAddr *src, const FzdAddr *dst, const uint8_t *data,
                    size_t len) {
        if (n >= FAKE_TURN_MAX_OUT || len > sizeof(out[n].data))
                return n;
        out[n].src = *src;
        out[n].dst = *dst;
        memcpy(out[n].data, data, len);
        out[n].len = len;
        return n + 1;
}

typedef struct Reply {
        FzdStunBuilder b;
        uint8_t buf[2048];
} Reply;

static void reply_begin(Reply *r, const FzdStunMsg *req, bool error) {
        fzd_stun_begin(&r->b, r->buf, sizeof(r->buf), req->method, error ? FZD_STUN_ERROR : FZD_STUN_SUCCESS,
                       req->txid);
}

static int has_perm(const FakeTurn *f, const FzdAddr *peer) {
        for (unsigned i = 0; i < f->n_perms; i++)
                if (fzd_addr_ip_eq(&f->perms[i], peer))
                        return 1;
        return 0;
}

static void add_perm(FakeTurn *f, const FzdAddr *peer) {
        if (has_perm(f, peer) || f->n_perms >= 16)
                return;
        f->perms[f->n_perms++] = *peer;
}

unsigned fake_turn_from_client(FakeTurn *f, const FzdAddr *from, const uint8_t *buf, size_t len,
                               Datagram *out) {
        FzdStunMsg m;
        Reply r;
        unsigned n = 0;
        uint8_t key[16];
        const uint8_t *v;
        size_t vl;
        bool authenticated;

        if (f->silent || len == 0)
                return 0;
        if (buf[0] >= 64 && buf[0] <= 79) {
                uint16_t ch;
                const uint8_t *p;
                size_t pl;
                if (fzd_channel_data_parse(buf, len, &ch, &p, &pl) < 0 || !f->allocated)
                        return 0;
                for (unsigned i = 0; i < f->n_channels; i++)
                        if (f->channels[i].number == ch)
                                return put(out, 0, &f->relayed, &f->channels[i].peer, p, pl);
                return 0;
        }
        if (fzd_stun_parse(buf, len, &m) < 0)
                return 0;
        if (m.cls == FZD_STUN_INDICATION && m.method == FZD_STUN_SEND) {
                FzdAddr peer;
                if (!f->allocated || fzd_stun_get_xor_addr(&m, FZD_STUN_ATTR_XOR_PEER_ADDRESS, &peer) < 0 ||
                    fzd_stun_get_bytes(&m, FZD_STUN_ATTR_DATA, &v, &vl) < 0 || !has_perm(f, &peer))
                        return 0;
                return put(out, 0, &f->relayed, &peer, v, vl);
        }
        if (m.cls != FZD_STUN_REQUEST)
                return 0;
        if (m.method < 16)
                f->requests[m.method]++;

        if (m.method == FZD_STUN_BINDING) {
                FzdAddr mapped = fzd_addr_is_set(&f->mapped) ? f->mapped : *from;
                reply_begin(&r, &m, false);
                fzd_stun_put_xor_addr(&r.b, FZD_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped);
                return put(out, 0, &f->server, from, r.buf, (size_t)fzd_stun_finish(&r.b));
        }

        /* Long-term credentials: no USERNAME → 401 with realm and nonce. */
        authenticated = fzd_stun_has(&m, FZD_STUN_ATTR_USERNAME) && fzd_stun_has(&m, FZD_STUN_ATTR_NONCE);
        if (!authenticated) {
                f->unauthenticated++;
                reply_begin(&r, &m, true);
                fzd_stun_put_error(&r.b, 401, "Unauthorized");
                fzd_stun_put_str(&r.b, FZD_STUN_ATTR_REALM, f->realm);
                fzd_stun_put_str(&r.b, FZD_STUN_ATTR_NONCE, f->nonce);
                return put(out, 0, &f->server, from, r.buf, (size_t)fzd_stun_finish(&r.b));
        }
        (void)fzd_stun_get_bytes(&m, FZD_STUN_ATTR_USERNAME, &v, &vl);
        snprintf(f->last_username, sizeof(f->last_username), "%.*s", (int)vl, (const char *)v);
        (void)fzd_stun_long_term_key(f->last_username, f->realm, f->password, key);
        if (strcmp(f->last_username, f->username) != 0 || !fzd_stun_check_integrity(&m, key, sizeof(key))) {
                f->bad_integrity++;
                reply_begin(&r, &m, true);
                fzd_stun_put_error(&r.b, 401, "Unauthorized");
                fzd_stun_put_str(&r.b, FZD_STUN_ATTR_REALM, f->realm);
                fzd_stun_put_str(&r.b, FZD_STUN_ATTR_NONCE, f->nonce);
                return put(out, 0, &f->server, from, r.buf, (size_t)fzd_stun_finish(&r.b));
        }
        (void)fzd_stun_get_bytes(&m, FZD_STUN_ATTR_NONCE, &v, &vl);
        if (f->stale_nonce_times > 0 || vl != strlen(f->nonce) || memcmp(v, f->nonce, vl) != 0) {
                if (f->stale_nonce_times > 0) {
                        f->stale_nonce_times--;
                        fake_turn_new_nonce(f);
                }
                reply_begin(&r, &m, true);
                fzd_stun_put_error(&r.b, 438, "Stale Nonce");
                fzd_stun_put_str(&r.b, FZD_STUN_ATTR_REALM, f->realm);
                fzd_stun_put_str(&r.b, FZD_STUN_ATTR_NONCE, f->nonce);
                return put(out, 0, &f->server, from, r.buf, (size_t)fzd_stun_finish(&r.b));
        }
        if (f->inject_error && f->inject_method == m.method) {
                int code = f->inject_error;
                f->inject_error = 0;
                reply_begin(&r, &m, true);
                fzd_stun_put_error(&r.b, code, fzd_stun_reason(code));
                fzd_stun_put_integrity(&r.b, key, sizeof(key));
                return put(out, 0, &f->server, from, r.buf, (size_t)fzd_stun_finish(&r.b));
        }

        reply_begin(&r, &m, false);
        switch (m.method) {
        case FZD_STUN_ALLOCATE: {
                FzdAddr mapped = fzd_addr_is_set(&f->mapped) ? f->mapped : *from;
                uint32_t lt;
                if (f->allocated) {
                        reply_begin(&r, &m, true);
                        fzd_stun_put_error(&r.b, 437, "Allocation Mismatch");
                        break;
                }
                f->last_requested_lifetime =
                        fzd_stun_get_u32(&m, FZD_STUN_ATTR_LIFETIME, &lt) == 0 ? lt : UINT32_MAX;
                f->allocated = true;
                f->client = *from;
                f->n_channels = f->n_perms = 0;
                fzd_stun_put_xor_addr(&r.b, FZD_STUN_ATTR_XOR_RELAYED_ADDRESS, &f->relayed);
                fzd_stun_put_xor_addr(&r.b, FZD_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped);
                fzd_stun_put_u32(&r.b, FZD_STUN_ATTR_LIFETIME, f->lifetime);
                break;
        }
        case FZD_STUN_REFRESH: {
                uint32_t lt = f->lifetime;
                bool have = fzd_stun_get_u32(&m, FZD_STUN_ATTR_LIFETIME, &lt) == 0;
                f->last_requested_lifetime = have ? lt : UINT32_MAX;
                if (!f->allocated) {
                        reply_begin(&r, &m, true);
                        fzd_stun_put_error(&r.b, 437, "Allocation Mismatch");
                        break;
                }
                if (have && lt == 0)
                        f->allocated = false;
                else
                        lt = f->lifetime;
                fzd_stun_put_u32(&r.b, FZD_STUN_ATTR_LIFETIME, lt);
                break;
        }
        case FZD_STUN_CREATE_PERMISSION: {
                FzdAddr peer;
                if (fzd_stun_get_xor_addr(&m, FZD_STUN_ATTR_XOR_PEER_ADDRESS, &peer) == 0)
                        add_perm(f, &peer);
                break;
        }
        case FZD_STUN_CHANNEL_BIND: {
                FzdAddr peer;
                uint32_t ch;
                bool found = false;
                if (fzd_stun_get_xor_addr(&m, FZD_STUN_ATTR_XOR_PEER_ADDRESS, &peer) < 0 ||
                    fzd_stun_get_u32(&m, FZD_STUN_ATTR_CHANNEL_NUMBER, &ch) < 0 || !f->allocated) {
                        reply_begin(&r, &m, true);
                        fzd_stun_put_error(&r.b, 400, "Bad Request");
                        break;
                }
                for (unsigned i = 0; i < f->n_channels; i++)
                        if (f->channels[i].number == ch >> 16)
                                found = true;
                if (!found && f->n_channels < 16) {
                        f->channels[f->n_channels].number = (uint16_t)(ch >> 16);
                        f->channels[f->n_channels].peer = peer;
                        f->n_channels++;
                }
                add_perm(f, &peer);
                break;
        }
        default:
                reply_begin(&r, &m, true);
                fzd_stun_put_error(&r.b, 400, "Bad Request");
                break;
        }
        fzd_stun_put_integrity(&r.b, key, sizeof(key));
        n = put(out, n, &f->server, from, r.buf, (size_t)fzd_stun_finish(&r.b));
        return n;
}

unsigned fake_turn_from_peer(FakeTurn *f, const FzdAddr *from, const uint8_t *buf, size_t len,
                             Datagram *out) {
        uint8_t tmp[2048];
        Reply r;
        uint8_t txid[12] = {9, 9, 9};

        if (f->silent || !f->allocated || !has_perm(f, from) || len > 1500)
                return 0;
        for (unsigned i = 0; i < f->n_channels; i++)
                if (fzd_addr_eq(&f->channels[i].peer, from)) {
                        size_t total = 4 + len;
                        fzd_channel_data_header(tmp, f->channels[i].number, (uint16_t)len);
                        memcpy(tmp + 4, buf, len);
                        if (f->pad_channel_data)
                                while (total % 4)
                                        tmp[total++] = 0;
                        return put(out, 0, &f->server, &f->client, tmp, total);
                }
        fzd_stun_begin(&r.b, r.buf, sizeof(r.buf), FZD_STUN_DATA, FZD_STUN_INDICATION, txid);
        fzd_stun_put_xor_addr(&r.b, FZD_STUN_ATTR_XOR_PEER_ADDRESS, from);
        fzd_stun_put(&r.b, FZD_STUN_ATTR_DATA, buf, len);
        return put(out, 0, &f->server, &f->client, r.buf, (size_t)fzd_stun_finish(&r.b));
}
