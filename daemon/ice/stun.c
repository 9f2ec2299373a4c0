/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

#include "stun.h"

#define FINGERPRINT_XOR 0x5354554eu
#define HMAC_SHA1_SIZE  20

static uint16_t rd16(const uint8_t *p) {
        return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p) {
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t)(v >> 8);
        p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
}

/* CRC-32 (IEEE, reflected), four bits at a time: small table, fast enough for control traffic. */
static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n) {
        static const uint32_t table[16] = {
                0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
                0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
                0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
        };
        crc = ~crc;
        while (n--) {
                crc ^= *p++;
                crc = table[crc & 0x0f] ^ (crc >> 4);
                crc = table[crc & 0x0f] ^ (crc >> 4);
        }
        return ~crc;
}

/* The HMAC implementation is fetched once; a context per MAC is cheap next to a datagram. */
static EVP_MAC *hmac_impl;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void hmac_fetch(void) {
        hmac_impl = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

/* HMAC-SHA1 over a STUN message prefix whose length field is replaced by `length`. */
static int stun_hmac(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t n, uint16_t length,
                     uint8_t out[HMAC_SHA1_SIZE]) {
        char digest[] = "SHA1";
        OSSL_PARAM params[] = {
                OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                OSSL_PARAM_construct_end(),
        };
        uint8_t len_field[2];
        EVP_MAC_CTX *ctx;
        size_t outl = 0;
        int ok;

        if (key_len == 0 || n < FZD_STUN_HEADER_SIZE)
                return -EINVAL;
        pthread_once(&hmac_once, hmac_fetch);
        if (!hmac_impl)
                return -EIO;
        ctx = EVP_MAC_CTX_new(hmac_impl);
        if (!ctx)
                return -ENOMEM;
        wr16(len_field, length);
        ok = EVP_MAC_init(ctx, key, key_len, params) && EVP_MAC_update(ctx, msg, 2) &&
             EVP_MAC_update(ctx, len_field, 2) && EVP_MAC_update(ctx, msg + 4, n - 4) &&
             EVP_MAC_final(ctx, out, &outl, HMAC_SHA1_SIZE) && outl == HMAC_SHA1_SIZE;
        EVP_MAC_CTX_free(ctx);
        return ok ? 0 : -EIO;
}

bool fzd_stun_looks_like(const uint8_t *buf, size_t len) {
        return len >= FZD_STUN_HEADER_SIZE && (buf[0] & 0xc0) == 0 && rd32(buf + 4) == FZD_STUN_MAGIC &&
               (size_t)rd16(buf + 2) + FZD_STUN_HEADER_SIZE == len && (rd16(buf + 2) & 3) == 0;
}

static bool attr_known(uint16_t t) {
        switch (t) {
        case FZD_STUN_ATTR_MAPPED_ADDRESS:
        case FZD_STUN_ATTR_USERNAME:
        case FZD_STUN_ATTR_MESSAGE_INTEGRITY:
        case FZD_STUN_ATTR_ERROR_CODE:
        case FZD_STUN_ATTR_UNKNOWN_ATTRIBUTES:
        case FZD_STUN_ATTR_CHANNEL_NUMBER:
        case FZD_STUN_ATTR_LIFETIME:
        case FZD_STUN_ATTR_XOR_PEER_ADDRESS:
        case FZD_STUN_ATTR_DATA:
        case FZD_STUN_ATTR_REALM:
        case FZD_STUN_ATTR_NONCE:
        case FZD_STUN_ATTR_XOR_RELAYED_ADDRESS:
        case FZD_STUN_ATTR_REQUESTED_ADDRESS_FAMILY:
        case FZD_STUN_ATTR_EVEN_PORT:
        case FZD_STUN_ATTR_REQUESTED_TRANSPORT:
        case FZD_STUN_ATTR_DONT_FRAGMENT:
        case FZD_STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
        case FZD_STUN_ATTR_PASSWORD_ALGORITHM:
        case FZD_STUN_ATTR_USERHASH:
        case FZD_STUN_ATTR_XOR_MAPPED_ADDRESS:
        case FZD_STUN_ATTR_RESERVATION_TOKEN:
        case FZD_STUN_ATTR_PRIORITY:
        case FZD_STUN_ATTR_USE_CANDIDATE:
                return true;
        default:
                /* 0x8000-0xFFFF are comprehension-optional: never "unknown" in the 420 sense. */
                return t >= 0x8000;
        }
}

int fzd_stun_parse(const uint8_t *buf, size_t len, FzdStunMsg *ret) {
        uint16_t type;
        size_t pos;
        bool after_integrity = false;

        if (!fzd_stun_looks_like(buf, len))
                return -EBADMSG;

        ret->buf = buf;
        ret->len = len;
        type = rd16(buf);
        ret->method = (uint16_t)((type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2));
        ret->cls = (uint8_t)(((type >> 4) & 1) | ((type >> 7) & 2));
        memcpy(ret->txid, buf + 8, FZD_STUN_TXID_SIZE);
        ret->n_attrs = 0;
        ret->n_unknown = 0;
        ret->integrity = -1;
        ret->fingerprint = -1;

        for (pos = FZD_STUN_HEADER_SIZE; pos < len;) {
                uint16_t at, alen;
                size_t padded;

                if (ret->fingerprint >= 0)
                        return -EBADMSG; /* FINGERPRINT must be last */
                if (len - pos < 4)
                        return -EBADMSG;
                at = rd16(buf + pos);
                alen = rd16(buf + pos + 2);
                padded = ((size_t)alen + 3) & ~(size_t)3;
                if (len - pos - 4 < padded)
                        return -EBADMSG;

                if (at == FZD_STUN_ATTR_FINGERPRINT) {
                        if (alen != 4 || pos + 8 != len)
                                return -EBADMSG;
                        if ((crc32_update(0, buf, pos) ^ FINGERPRINT_XOR) != rd32(buf + pos + 4))
                                return -EBADMSG;
                } else if (after_integrity) {
                        /* RFC 8489 §14.5: attributes after MESSAGE-INTEGRITY are ignored. */
                        pos += 4 + padded;
                        continue;
                }
                if (at == FZD_STUN_ATTR_MESSAGE_INTEGRITY && alen != HMAC_SHA1_SIZE)
                        return -EBADMSG;

                if (ret->n_attrs >= FZD_STUN_MAX_ATTRS)
                        return -EBADMSG;
                if (at == FZD_STUN_ATTR_MESSAGE_INTEGRITY) {
                        ret->integrity = (int)ret->n_attrs;
                        after_integrity = true;
                } else if (at == FZD_STUN_ATTR_FINGERPRINT)
                        ret->fingerprint = (int)ret->n_attrs;
                else if (at == FZD_STUN_ATTR_MESSAGE_INTEGRITY_SHA256)
                        after_integrity = true;
                if (!attr_known(at) && ret->n_unknown < FZD_STUN_MAX_UNKNOWN)
                        ret->unknown[ret->n_unknown++] = at;
                ret->attrs[ret->n_attrs++] =
                        (FzdStunAttr){.type = at, .len = alen, .offset = (uint32_t)(pos + 4)};
                pos += 4 + padded;
        }
        return 0;
}

const FzdStunAttr *fzd_stun_find(const FzdStunMsg *m, uint16_t type) {
        for (size_t i = 0; i < m->n_attrs; i++)
                if (m->attrs[i].type == type)
                        return &m->attrs[i];
        return NULL;
}

bool fzd_stun_has(const FzdStunMsg *m, uint16_t type) {
        return fzd_stun_find(m, type) != NULL;
}

const uint8_t *fzd_stun_value(const FzdStunMsg *m, const FzdStunAttr *a) {
        return m->buf + a->offset;
}

static int get_address(const FzdStunMsg *m, uint16_t type, bool xor, FzdAddr *ret) {
        const FzdStunAttr *a = fzd_stun_find(m, type);
        const uint8_t *v;
        FzdAddr addr = {};
        uint8_t mask[16];

        if (!a)
                return -ENOENT;
        v = fzd_stun_value(m, a);
        if (a->len < 4)
                return -EBADMSG;
        wr32(mask, FZD_STUN_MAGIC);
        memcpy(mask + 4, m->txid, FZD_STUN_TXID_SIZE);
        addr.port = rd16(v + 2);
        if (xor)
                addr.port ^= (uint16_t)(FZD_STUN_MAGIC >> 16);
        if (v[1] == 0x01 && a->len == 8) {
                addr.family = AF_INET;
                memcpy(addr.ip, v + 4, 4);
        } else if (v[1] == 0x02 && a->len == 20) {
                addr.family = AF_INET6;
                memcpy(addr.ip, v + 4, 16);
        } else
                return -EBADMSG;
        if (xor)
                for (size_t i = 0; i < (addr.family == AF_INET ? 4u : 16u); i++)
                        addr.ip[i] ^= mask[i];
        *ret = addr;
        return 0;
}

int fzd_stun_get_xor_addr(const FzdStunMsg *m, uint16_t type, FzdAddr *ret) {
        return get_address(m, type, true, ret);
}

int fzd_stun_get_addr(const FzdStunMsg *m, uint16_t type, FzdAddr *ret) {
        return get_address(m, type, false, ret);
}

int fzd_stun_get_u32(const FzdStunMsg *m, uint16_t type, uint32_t *ret) {
        const FzdStunAttr *a = fzd_stun_find(m, type);

        if (!a)
                return -ENOENT;
        if (a->len != 4)
                return -EBADMSG;
        *ret = rd32(fzd_stun_value(m, a));
        return 0;
}

int fzd_stun_get_u64(const FzdStunMsg *m, uint16_t type, uint64_t *ret) {
        const FzdStunAttr *a = fzd_stun_find(m, type);
        const uint8_t *v;

        if (!a)
                return -ENOENT;
        if (a->len != 8)
                return -EBADMSG;
        v = fzd_stun_value(m, a);
        *ret = (uint64_t)rd32(v) << 32 | rd32(v + 4);
        return 0;
}

int fzd_stun_get_error(const FzdStunMsg *m, int *ret_code, const char **ret_reason, size_t *ret_reason_len) {
        const FzdStunAttr *a = fzd_stun_find(m, FZD_STUN_ATTR_ERROR_CODE);
        const uint8_t *v;
        int cls, num;

        if (!a)
                return -ENOENT;
        if (a->len < 4)
                return -EBADMSG;
        v = fzd_stun_value(m, a);
        cls = v[2] & 0x07;
        num = v[3];
        if (cls < 3 || cls > 6 || num > 99)
                return -EBADMSG;
        *ret_code = cls * 100 + num;
        if (ret_reason)
                *ret_reason = (const char *)v + 4;
        if (ret_reason_len)
                *ret_reason_len = a->len - 4u;
        return 0;
}

int fzd_stun_get_bytes(const FzdStunMsg *m, uint16_t type, const uint8_t **ret, size_t *ret_len) {
        const FzdStunAttr *a = fzd_stun_find(m, type);

        if (!a)
                return -ENOENT;
        *ret = fzd_stun_value(m, a);
        *ret_len = a->len;
        return 0;
}

int fzd_stun_get_channel(const FzdStunMsg *m, uint16_t *ret) {
        const FzdStunAttr *a = fzd_stun_find(m, FZD_STUN_ATTR_CHANNEL_NUMBER);

        if (!a)
                return -ENOENT;
        if (a->len != 4)
                return -EBADMSG;
        *ret = rd16(fzd_stun_value(m, a));
        return 0;
}

bool fzd_stun_check_integrity(const FzdStunMsg *m, const uint8_t *key, size_t key_len) {
        uint8_t mac[HMAC_SHA1_SIZE];
        const FzdStunAttr *a;
        size_t hdr;

        if (m->integrity < 0)
                return false;
        a = &m->attrs[m->integrity];
        hdr = a->offset - 4; /* where the MESSAGE-INTEGRITY attribute starts */
        if (stun_hmac(key, key_len, m->buf, hdr, (uint16_t)(hdr + 4 + HMAC_SHA1_SIZE - FZD_STUN_HEADER_SIZE),
                      mac) < 0)
                return false;
        return CRYPTO_memcmp(mac, fzd_stun_value(m, a), HMAC_SHA1_SIZE) == 0;
}

int fzd_stun_long_term_key(const char *username, const char *realm, const char *password, uint8_t ret[16]) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        unsigned outl = 0;
        int ok;

        if (!ctx)
                return -ENOMEM;
        ok = EVP_DigestInit_ex(ctx, EVP_md5(), NULL) && EVP_DigestUpdate(ctx, username, strlen(username)) &&
             EVP_DigestUpdate(ctx, ":", 1) && EVP_DigestUpdate(ctx, realm, strlen(realm)) &&
             EVP_DigestUpdate(ctx, ":", 1) && EVP_DigestUpdate(ctx, password, strlen(password)) &&
             EVP_DigestFinal_ex(ctx, ret, &outl) && outl == 16;
        EVP_MD_CTX_free(ctx);
        return ok ? 0 : -EIO;
}

int fzd_stun_new_txid(uint8_t ret[FZD_STUN_TXID_SIZE]) {
        return RAND_bytes(ret, FZD_STUN_TXID_SIZE) == 1 ? 0 : -EIO;
}

static void set_length(FzdStunBuilder *b, size_t body) {
        wr16(b->buf + 2, (uint16_t)body);
}

void fzd_stun_begin(FzdStunBuilder *b, uint8_t *buf, size_t cap, uint16_t method, uint8_t cls,
                    const uint8_t txid[FZD_STUN_TXID_SIZE]) {
        *b = (FzdStunBuilder){.buf = buf, .cap = cap};
        if (cap < FZD_STUN_HEADER_SIZE) {
                b->err = -ENOBUFS;
                return;
        }
        wr16(buf, fzd_stun_type(method, cls));
        wr16(buf + 2, 0);
        wr32(buf + 4, FZD_STUN_MAGIC);
        memcpy(buf + 8, txid, FZD_STUN_TXID_SIZE);
        b->len = FZD_STUN_HEADER_SIZE;
}

/* Reserve room for an attribute header and a padded value; NULL after an error. */
static uint8_t *reserve(FzdStunBuilder *b, uint16_t type, size_t len) {
        size_t padded = (len + 3) & ~(size_t)3;
        uint8_t *p;

        if (b->err)
                return NULL;
        if (len > 0xffff || b->cap - b->len < 4 + padded ||
            b->len + 4 + padded - FZD_STUN_HEADER_SIZE > 0xfffc) {
                b->err = -ENOBUFS;
                return NULL;
        }
        p = b->buf + b->len;
        wr16(p, type);
        wr16(p + 2, (uint16_t)len);
        memset(p + 4 + len, b->pad_byte, padded - len);
        b->len += 4 + padded;
        set_length(b, b->len - FZD_STUN_HEADER_SIZE);
        return p + 4;
}

void fzd_stun_put(FzdStunBuilder *b, uint16_t type, const void *value, size_t len) {
        uint8_t *p = reserve(b, type, len);
        if (p && len > 0)
                memcpy(p, value, len);
}

void fzd_stun_put_str(FzdStunBuilder *b, uint16_t type, const char *s) {
        fzd_stun_put(b, type, s, strlen(s));
}

void fzd_stun_put_u32(FzdStunBuilder *b, uint16_t type, uint32_t v) {
        uint8_t *p = reserve(b, type, 4);
        if (p)
                wr32(p, v);
}

void fzd_stun_put_u64(FzdStunBuilder *b, uint16_t type, uint64_t v) {
        uint8_t *p = reserve(b, type, 8);
        if (p) {
                wr32(p, (uint32_t)(v >> 32));
                wr32(p + 4, (uint32_t)v);
        }
}

void fzd_stun_put_xor_addr(FzdStunBuilder *b, uint16_t type, const FzdAddr *a) {
        size_t n = a->family == AF_INET ? 4 : 16;
        uint8_t mask[16];
        uint8_t *p;

        if (a->family != AF_INET && a->family != AF_INET6) {
                if (!b->err)
                        b->err = -EAFNOSUPPORT;
                return;
        }
        p = reserve(b, type, 4 + n);
        if (!p)
                return;
        wr32(mask, FZD_STUN_MAGIC);
        memcpy(mask + 4, b->buf + 8, FZD_STUN_TXID_SIZE);
        p[0] = 0;
        p[1] = a->family == AF_INET ? 0x01 : 0x02;
        wr16(p + 2, a->port ^ (uint16_t)(FZD_STUN_MAGIC >> 16));
        for (size_t i = 0; i < n; i++)
                p[4 + i] = a->ip[i] ^ mask[i];
}

void fzd_stun_put_error(FzdStunBuilder *b, int code, const char *reason) {
        size_t n = reason ? strlen(reason) : 0;
        uint8_t *p;

        if (n > 763)
                n = 763;
        p = reserve(b, FZD_STUN_ATTR_ERROR_CODE, 4 + n);
        if (!p)
                return;
        p[0] = p[1] = 0;
        p[2] = (uint8_t)((code / 100) & 0x07);
        p[3] = (uint8_t)(code % 100);
        if (n)
                memcpy(p + 4, reason, n);
}

void fzd_stun_put_integrity(FzdStunBuilder *b, const uint8_t *key, size_t key_len) {
        uint8_t mac[HMAC_SHA1_SIZE];
        size_t at = b->len;
        uint8_t *p;
        int r;

        if (b->err)
                return;
        r = stun_hmac(key, key_len, b->buf, at, (uint16_t)(at + 4 + HMAC_SHA1_SIZE - FZD_STUN_HEADER_SIZE),
                      mac);
        if (r < 0) {
                b->err = r;
                return;
        }
        p = reserve(b, FZD_STUN_ATTR_MESSAGE_INTEGRITY, HMAC_SHA1_SIZE);
        if (p)
                memcpy(p, mac, HMAC_SHA1_SIZE);
}

void fzd_stun_put_fingerprint(FzdStunBuilder *b) {
        uint8_t *p;
        size_t at = b->len;

        if (b->err)
                return;
        p = reserve(b, FZD_STUN_ATTR_FINGERPRINT, 4);
        if (p)
                wr32(p, crc32_update(0, b->buf, at) ^ FINGERPRINT_XOR);
}

int fzd_stun_finish(FzdStunBuilder *b) {
        return b->err ? b->err : (int)b->len;
}

const char *fzd_stun_reason(int code) {
        switch (code) {
        case 400:
                return "Bad Request";
        case 401:
                return "Unauthenticated";
        case 403:
                return "Forbidden";
        case 420:
                return "Unknown Attribute";
        case 437:
                return "Allocation Mismatch";
        case 438:
                return "Stale Nonce";
        case 440:
                return "Address Family not Supported";
        case 441:
                return "Wrong Credentials";
        case 442:
                return "Unsupported Transport Protocol";
        case 486:
                return "Allocation Quota Reached";
        case 487:
                return "Role Conflict";
        case 500:
                return "Server Error";
        case 508:
                return "Insufficient Capacity";
        default:
                return "Error";
        }
}

const char *fzd_stun_method_name(uint16_t method) {
        switch (method) {
        case FZD_STUN_BINDING:
                return "Binding";
        case FZD_STUN_ALLOCATE:
                return "Allocate";
        case FZD_STUN_REFRESH:
                return "Refresh";
        case FZD_STUN_SEND:
                return "Send";
        case FZD_STUN_DATA:
                return "Data";
        case FZD_STUN_CREATE_PERMISSION:
                return "CreatePermission";
        case FZD_STUN_CHANNEL_BIND:
                return "ChannelBind";
        default:
                return "unknown";
        }
}
