/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The primitives WireGuard's Noise IKpsk2 needs, on OpenSSL (X25519, ChaCha20-Poly1305,
 * BLAKE2s, keyed BLAKE2s, HMAC-BLAKE2s) and libsodium for the one primitive OpenSSL lacks
 * (XChaCha20-Poly1305, used by cookie replies). No cipher is written here: this file only
 * adapts calling conventions and keeps per-thread contexts so the fast path does not
 * allocate per packet. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FZD_WG_KEY_LEN    32
#define FZD_WG_HASH_LEN   32
#define FZD_WG_TAG_LEN    16
#define FZD_WG_MAC_LEN    16
#define FZD_WG_XNONCE_LEN 24

/* Fetches the algorithms once (thread-safe, idempotent). Every other function here calls
 * it; call it early to fail early: -ENOTSUP if this OpenSSL lacks BLAKE2s or
 * ChaCha20-Poly1305, -EIO if libsodium cannot initialise. */
int fzd_wg_crypto_init(void);

/* HASH(a || b) = BLAKE2s-256. b may be NULL with blen 0. */
void fzd_wg_hash(uint8_t out[FZD_WG_HASH_LEN], const void *a, size_t alen, const void *b, size_t blen);
/* MAC(key, in) = keyed BLAKE2s with a 16-byte output; keylen 1..32. */
void fzd_wg_mac(uint8_t out[FZD_WG_MAC_LEN], const uint8_t *key, size_t keylen, const void *in, size_t len);
/* HMAC(key, in) with BLAKE2s-256, key of 32 bytes. */
void fzd_wg_hmac(uint8_t out[FZD_WG_HASH_LEN], const uint8_t key[FZD_WG_HASH_LEN], const void *in, size_t len);
/* KDF_n(key, in) (HKDF on HMAC-BLAKE2s) into t1, t2, t3; t2 and t3 may be NULL. */
void fzd_wg_kdf(uint8_t *t1, uint8_t *t2, uint8_t *t3, const uint8_t key[FZD_WG_HASH_LEN], const void *in, size_t len);

/* X25519. fzd_wg_dh() returns -EINVAL for an all-zero shared secret (a low-order public
 * key), as the Noise spec allows and WireGuard requires. */
int fzd_wg_dh(uint8_t out[FZD_WG_KEY_LEN], const uint8_t priv[FZD_WG_KEY_LEN], const uint8_t pub[FZD_WG_KEY_LEN]);
int fzd_wg_pubkey(uint8_t pub[FZD_WG_KEY_LEN], const uint8_t priv[FZD_WG_KEY_LEN]);
/* Clamps a private key the way `wg genkey` does (X25519 clamps anyway; this keeps the
 * stored form canonical). */
void fzd_wg_clamp(uint8_t priv[FZD_WG_KEY_LEN]);

/* ChaCha20-Poly1305 (RFC 8439) with WireGuard's nonce: 32 zero bits || counter (LE64).
 * One FzdWgAead per thread; it keeps its OpenSSL contexts and skips the key schedule when
 * the key did not change since the last call. in and out may be the same buffer. */
typedef struct FzdWgAead FzdWgAead;
FzdWgAead *fzd_wg_aead_new(void);
FzdWgAead *fzd_wg_aead_free(FzdWgAead *a);
/* out gets len + 16 bytes. Returns 0 or -EIO. */
int fzd_wg_aead_seal(FzdWgAead *a, const uint8_t key[FZD_WG_KEY_LEN], uint64_t counter, const void *ad, size_t adlen,
                     const uint8_t *in, size_t len, uint8_t *out);
/* in has len bytes including the tag; out gets len - 16. Returns 0, -EBADMSG when the tag
 * does not verify (out then holds nothing usable), -EINVAL when len < 16. */
int fzd_wg_aead_open(FzdWgAead *a, const uint8_t key[FZD_WG_KEY_LEN], uint64_t counter, const void *ad, size_t adlen,
                     const uint8_t *in, size_t len, uint8_t *out);

/* XChaCha20-Poly1305 (libsodium): out gets len + 16 / len - 16 bytes. */
int fzd_wg_xaead_seal(uint8_t *out, const uint8_t key[FZD_WG_KEY_LEN], const uint8_t nonce[FZD_WG_XNONCE_LEN],
                      const uint8_t *in, size_t len, const void *ad, size_t adlen);
int fzd_wg_xaead_open(uint8_t *out, const uint8_t key[FZD_WG_KEY_LEN], const uint8_t nonce[FZD_WG_XNONCE_LEN],
                      const uint8_t *in, size_t len, const void *ad, size_t adlen);

/* Constant-time comparison and secure wipe. */
bool fzd_wg_equal(const void *a, const void *b, size_t len);
void fzd_wg_wipe(void *p, size_t len);
bool fzd_wg_is_zero(const void *p, size_t len);

/* Base64 of a 32-byte key (44 characters + NUL) and back (-EINVAL on anything else). */
#define FZD_WG_KEY_B64_LEN 45
void fzd_wg_key_to_base64(char out[FZD_WG_KEY_B64_LEN], const uint8_t key[FZD_WG_KEY_LEN]);
int fzd_wg_key_from_base64(uint8_t key[FZD_WG_KEY_LEN], const char *s);
