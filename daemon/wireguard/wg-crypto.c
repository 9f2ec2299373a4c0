/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <sodium.h>
#include <string.h>

#include "macro.h"
#include "wg-crypto.h"

/* Algorithms are fetched once: an implicit fetch per call would cost a provider lookup on
 * every packet. They live as long as the process. */
static EVP_MD *md_blake2s;
static EVP_MAC *mac_blake2s;
static EVP_MAC *mac_hmac;
static EVP_CIPHER *cipher_chachapoly;
static int init_result = -EAGAIN;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void do_init(void) {
        md_blake2s = EVP_MD_fetch(NULL, "BLAKE2S-256", NULL);
        mac_blake2s = EVP_MAC_fetch(NULL, "BLAKE2SMAC", NULL);
        mac_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        cipher_chachapoly = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
        if (!md_blake2s || !mac_blake2s || !mac_hmac || !cipher_chachapoly) {
                init_result = -ENOTSUP;
                return;
        }
        init_result = sodium_init() < 0 ? -EIO : 0;
}

int fzd_wg_crypto_init(void) {
        (void) pthread_once(&init_once, do_init);
        return init_result;
}

/* The primitives below cannot fail once init succeeded, short of memory exhaustion inside
 * OpenSSL. A silent wrong answer would be a security bug, so failure aborts. */
static void check(int ok) {
        if (_unlikely_(!ok))
                abort();
}

static void ensure_init(void) {
        check(fzd_wg_crypto_init() == 0);
}

void fzd_wg_hash(uint8_t out[FZD_WG_HASH_LEN], const void *a, size_t alen, const void *b, size_t blen) {
        EVP_MD_CTX *ctx;
        unsigned n = 0;

        ensure_init();
        ctx = EVP_MD_CTX_new();
        check(ctx != NULL);
        check(EVP_DigestInit_ex2(ctx, md_blake2s, NULL));
        check(EVP_DigestUpdate(ctx, a, alen));
        if (blen > 0)
                check(EVP_DigestUpdate(ctx, b, blen));
        check(EVP_DigestFinal_ex(ctx, out, &n));
        check(n == FZD_WG_HASH_LEN);
        EVP_MD_CTX_free(ctx);
}

static void mac_run(EVP_MAC *alg, const OSSL_PARAM *params, uint8_t *out, size_t outlen, const uint8_t *key,
                    size_t keylen, const void *in, size_t len) {
        EVP_MAC_CTX *ctx;
        size_t n = 0;

        ctx = EVP_MAC_CTX_new(alg);
        check(ctx != NULL);
        check(EVP_MAC_init(ctx, key, keylen, params));
        check(EVP_MAC_update(ctx, in, len));
        check(EVP_MAC_final(ctx, out, &n, outlen));
        check(n == outlen);
        EVP_MAC_CTX_free(ctx);
}

void fzd_wg_mac(uint8_t out[FZD_WG_MAC_LEN], const uint8_t *key, size_t keylen, const void *in, size_t len) {
        size_t size = FZD_WG_MAC_LEN;
        OSSL_PARAM params[] = {
                OSSL_PARAM_size_t(OSSL_MAC_PARAM_SIZE, &size),
                OSSL_PARAM_END,
        };

        ensure_init();
        check(keylen >= 1 && keylen <= FZD_WG_KEY_LEN);
        mac_run(mac_blake2s, params, out, FZD_WG_MAC_LEN, key, keylen, in, len);
}

void fzd_wg_hmac(uint8_t out[FZD_WG_HASH_LEN], const uint8_t key[FZD_WG_HASH_LEN], const void *in, size_t len) {
        char digest[] = "BLAKE2S-256";
        OSSL_PARAM params[] = {
                OSSL_PARAM_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                OSSL_PARAM_END,
        };

        ensure_init();
        mac_run(mac_hmac, params, out, FZD_WG_HASH_LEN, key, FZD_WG_HASH_LEN, in, len);
}

void fzd_wg_kdf(uint8_t *t1, uint8_t *t2, uint8_t *t3, const uint8_t key[FZD_WG_HASH_LEN], const void *in, size_t len) {
        uint8_t prk[FZD_WG_HASH_LEN], buf[FZD_WG_HASH_LEN + 1], t[FZD_WG_HASH_LEN];

        fzd_wg_hmac(prk, key, in, len);

        buf[0] = 1;
        fzd_wg_hmac(t, prk, buf, 1);
        memcpy(t1, t, sizeof t);
        if (t2 || t3) {
                memcpy(buf, t, sizeof t);
                buf[FZD_WG_HASH_LEN] = 2;
                fzd_wg_hmac(t, prk, buf, sizeof buf);
                if (t2)
                        memcpy(t2, t, sizeof t);
        }
        if (t3) {
                memcpy(buf, t, sizeof t);
                buf[FZD_WG_HASH_LEN] = 3;
                fzd_wg_hmac(t, prk, buf, sizeof buf);
                memcpy(t3, t, sizeof t);
        }
        fzd_wg_wipe(prk, sizeof prk);
        fzd_wg_wipe(buf, sizeof buf);
        fzd_wg_wipe(t, sizeof t);
}

int fzd_wg_dh(uint8_t out[FZD_WG_KEY_LEN], const uint8_t priv[FZD_WG_KEY_LEN], const uint8_t pub[FZD_WG_KEY_LEN]) {
        EVP_PKEY *k = NULL, *p = NULL;
        EVP_PKEY_CTX *ctx = NULL;
        size_t n = FZD_WG_KEY_LEN;
        int r = -EINVAL;

        ensure_init();
        k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, FZD_WG_KEY_LEN);
        p = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, pub, FZD_WG_KEY_LEN);
        if (!k || !p)
                goto finish;
        ctx = EVP_PKEY_CTX_new(k, NULL);
        if (!ctx || EVP_PKEY_derive_init(ctx) <= 0 || EVP_PKEY_derive_set_peer(ctx, p) <= 0)
                goto finish;
        /* OpenSSL refuses an all-zero result itself; the check below keeps that promise
         * independent of the library version. */
        if (EVP_PKEY_derive(ctx, out, &n) <= 0 || n != FZD_WG_KEY_LEN || fzd_wg_is_zero(out, FZD_WG_KEY_LEN)) {
                fzd_wg_wipe(out, FZD_WG_KEY_LEN);
                goto finish;
        }
        r = 0;
finish:
        EVP_PKEY_CTX_free(ctx);
        EVP_PKEY_free(p);
        EVP_PKEY_free(k);
        return r;
}

int fzd_wg_pubkey(uint8_t pub[FZD_WG_KEY_LEN], const uint8_t priv[FZD_WG_KEY_LEN]) {
        EVP_PKEY *k;
        size_t n = FZD_WG_KEY_LEN;
        int r;

        ensure_init();
        k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, FZD_WG_KEY_LEN);
        if (!k)
                return -EINVAL;
        r = EVP_PKEY_get_raw_public_key(k, pub, &n) > 0 && n == FZD_WG_KEY_LEN ? 0 : -EINVAL;
        EVP_PKEY_free(k);
        return r;
}

void fzd_wg_clamp(uint8_t priv[FZD_WG_KEY_LEN]) {
        priv[0] &= 248;
        priv[31] = (priv[31] & 127) | 64;
}

struct FzdWgAead {
        EVP_CIPHER_CTX *enc, *dec;
        uint8_t enc_key[FZD_WG_KEY_LEN], dec_key[FZD_WG_KEY_LEN];
        bool enc_keyed, dec_keyed;
};

FzdWgAead *fzd_wg_aead_new(void) {
        FzdWgAead *a;

        if (fzd_wg_crypto_init() < 0)
                return NULL;
        a = calloc(1, sizeof *a);
        if (!a)
                return NULL;
        a->enc = EVP_CIPHER_CTX_new();
        a->dec = EVP_CIPHER_CTX_new();
        if (!a->enc || !a->dec || !EVP_EncryptInit_ex2(a->enc, cipher_chachapoly, NULL, NULL, NULL) ||
            !EVP_DecryptInit_ex2(a->dec, cipher_chachapoly, NULL, NULL, NULL))
                return fzd_wg_aead_free(a);
        return a;
}

FzdWgAead *fzd_wg_aead_free(FzdWgAead *a) {
        if (!a)
                return NULL;
        EVP_CIPHER_CTX_free(a->enc);
        EVP_CIPHER_CTX_free(a->dec);
        fzd_wg_wipe(a, sizeof *a);
        free(a);
        return NULL;
}

static void make_nonce(uint8_t nonce[12], uint64_t counter) {
        memset(nonce, 0, 4);
        for (unsigned i = 0; i < 8; i++)
                nonce[4 + i] = (uint8_t) (counter >> (8 * i));
}

/* Re-keying an OpenSSL context costs more than the nonce change alone; the fast path
 * mostly encrypts many packets in a row under one key. */
static const uint8_t *key_if_changed(uint8_t cached[FZD_WG_KEY_LEN], bool *keyed, const uint8_t key[FZD_WG_KEY_LEN]) {
        if (*keyed && memcmp(cached, key, FZD_WG_KEY_LEN) == 0)
                return NULL;
        memcpy(cached, key, FZD_WG_KEY_LEN);
        *keyed = true;
        return key;
}

int fzd_wg_aead_seal(FzdWgAead *a, const uint8_t key[FZD_WG_KEY_LEN], uint64_t counter, const void *ad, size_t adlen,
                     const uint8_t *in, size_t len, uint8_t *out) {
        uint8_t nonce[12];
        int n = 0, m = 0;
        OSSL_PARAM params[2] = { OSSL_PARAM_END, OSSL_PARAM_END };

        if (len > INT32_MAX || adlen > INT32_MAX)
                return -EINVAL;
        make_nonce(nonce, counter);
        if (!EVP_EncryptInit_ex2(a->enc, NULL, key_if_changed(a->enc_key, &a->enc_keyed, key), nonce, NULL))
                goto fail;
        if (adlen > 0 && !EVP_EncryptUpdate(a->enc, NULL, &m, ad, (int) adlen))
                goto fail;
        if (len > 0 && !EVP_EncryptUpdate(a->enc, out, &n, in, (int) len))
                goto fail;
        m = 0;
        if (!EVP_EncryptFinal_ex(a->enc, out + n, &m) || (size_t) (n + m) != len)
                goto fail;
        params[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, out + len, FZD_WG_TAG_LEN);
        if (!EVP_CIPHER_CTX_get_params(a->enc, params))
                goto fail;
        return 0;
fail:
        a->enc_keyed = false;
        return -EIO;
}

int fzd_wg_aead_open(FzdWgAead *a, const uint8_t key[FZD_WG_KEY_LEN], uint64_t counter, const void *ad, size_t adlen,
                     const uint8_t *in, size_t len, uint8_t *out) {
        uint8_t nonce[12], tag[FZD_WG_TAG_LEN];
        size_t plen;
        int n = 0, m = 0;
        OSSL_PARAM params[2] = { OSSL_PARAM_END, OSSL_PARAM_END };

        if (len < FZD_WG_TAG_LEN)
                return -EINVAL;
        if (len > INT32_MAX || adlen > INT32_MAX)
                return -EINVAL;
        plen = len - FZD_WG_TAG_LEN;
        memcpy(tag, in + plen, FZD_WG_TAG_LEN); /* in may be out: keep the tag before it is overwritten */
        make_nonce(nonce, counter);
        if (!EVP_DecryptInit_ex2(a->dec, NULL, key_if_changed(a->dec_key, &a->dec_keyed, key), nonce, NULL))
                goto fail;
        params[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, FZD_WG_TAG_LEN);
        if (!EVP_CIPHER_CTX_set_params(a->dec, params))
                goto fail;
        if (adlen > 0 && !EVP_DecryptUpdate(a->dec, NULL, &m, ad, (int) adlen))
                goto fail;
        if (plen > 0 && !EVP_DecryptUpdate(a->dec, out, &n, in, (int) plen))
                goto fail;
        m = 0;
        /* out may be NULL for an empty payload (no pointer arithmetic on it then). */
        if (EVP_DecryptFinal_ex(a->dec, n > 0 ? out + n : out, &m) <= 0)
                return -EBADMSG;
        return (size_t) (n + m) == plen ? 0 : -EBADMSG;
fail:
        a->dec_keyed = false;
        return -EIO;
}

int fzd_wg_xaead_seal(uint8_t *out, const uint8_t key[FZD_WG_KEY_LEN], const uint8_t nonce[FZD_WG_XNONCE_LEN],
                      const uint8_t *in, size_t len, const void *ad, size_t adlen) {
        unsigned long long n;

        ensure_init();
        if (crypto_aead_xchacha20poly1305_ietf_encrypt(out, &n, in, len, ad, adlen, NULL, nonce, key) != 0 ||
            n != len + FZD_WG_TAG_LEN)
                return -EIO;
        return 0;
}

int fzd_wg_xaead_open(uint8_t *out, const uint8_t key[FZD_WG_KEY_LEN], const uint8_t nonce[FZD_WG_XNONCE_LEN],
                      const uint8_t *in, size_t len, const void *ad, size_t adlen) {
        unsigned long long n;

        ensure_init();
        if (len < FZD_WG_TAG_LEN)
                return -EINVAL;
        if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &n, NULL, in, len, ad, adlen, nonce, key) != 0 ||
            n != len - FZD_WG_TAG_LEN)
                return -EBADMSG;
        return 0;
}

bool fzd_wg_equal(const void *a, const void *b, size_t len) {
        return CRYPTO_memcmp(a, b, len) == 0;
}

void fzd_wg_wipe(void *p, size_t len) {
        OPENSSL_cleanse(p, len);
}

bool fzd_wg_is_zero(const void *p, size_t len) {
        const uint8_t *b = p;
        uint8_t acc = 0;

        for (size_t i = 0; i < len; i++)
                acc |= b[i];
        return acc == 0;
}

void fzd_wg_key_to_base64(char out[FZD_WG_KEY_B64_LEN], const uint8_t key[FZD_WG_KEY_LEN]) {
        check(EVP_EncodeBlock((unsigned char *) out, key, FZD_WG_KEY_LEN) == FZD_WG_KEY_B64_LEN - 1);
}

int fzd_wg_key_from_base64(uint8_t key[FZD_WG_KEY_LEN], const char *s) {
        uint8_t buf[36];
        char back[FZD_WG_KEY_B64_LEN];

        if (!s || strnlen(s, FZD_WG_KEY_B64_LEN) != FZD_WG_KEY_B64_LEN - 1 || s[43] != '=')
                return -EINVAL;
        /* EVP_DecodeBlock counts the padding as data (33 bytes for one '='). */
        if (EVP_DecodeBlock(buf, (const unsigned char *) s, FZD_WG_KEY_B64_LEN - 1) != 33)
                return -EINVAL;
        /* Only the canonical spelling: the last character's unused bits must be zero. */
        fzd_wg_key_to_base64(back, buf);
        if (memcmp(back, s, FZD_WG_KEY_B64_LEN - 1) != 0) {
                fzd_wg_wipe(buf, sizeof buf);
                return -EINVAL;
        }
        memcpy(key, buf, FZD_WG_KEY_LEN);
        fzd_wg_wipe(buf, sizeof buf);
        return 0;
}
