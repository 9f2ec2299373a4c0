/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s, the handshake WireGuard is built on:
 *
 *   <- s
 *   ...
 *   -> e, es, s, ss, {payload}
 *   <- e, ee, se, psk, {payload}
 *
 * with the Noise spec's symmetric state (ck, h, k). Prologue and payloads are parameters,
 * so the same code runs WireGuard's handshake (prologue "WireGuard v1 zx2c4
 * Jason@zx2c4.com", a TAI64N timestamp and an empty payload) and the published Noise test
 * vectors (cacophony's Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s). Each message key encrypts
 * once, so the nonce of handshake encryption is always 0. Pure functions: no clock, no
 * randomness (ephemeral keys come in), no allocation. */

#include <stddef.h>
#include <stdint.h>

#include "wg-crypto.h"

typedef struct FzdNoise {
        uint8_t ck[FZD_WG_HASH_LEN]; /* chaining key */
        uint8_t h[FZD_WG_HASH_LEN];  /* handshake hash */
        uint8_t k[FZD_WG_KEY_LEN];   /* current message key (valid after a MixKey) */
} FzdNoise;

/* InitializeSymmetric("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"), MixHash(prologue),
 * MixHash(responder static) — the state both sides start from. */
void fzd_noise_init(FzdNoise *n, const void *prologue, size_t prologue_len, const uint8_t responder_static[32]);

void fzd_noise_mix_hash(FzdNoise *n, const void *data, size_t len);
void fzd_noise_mix_key(FzdNoise *n, const void *ikm, size_t len);
/* DH, then MixKey; -EINVAL for a low-order point. */
int fzd_noise_mix_dh(FzdNoise *n, const uint8_t priv[32], const uint8_t pub[32]);
void fzd_noise_mix_key_and_hash(FzdNoise *n, const uint8_t psk[32]);
/* out gets len + 16 bytes. */
int fzd_noise_encrypt_and_hash(FzdNoise *n, FzdWgAead *aead, const uint8_t *in, size_t len, uint8_t *out);
/* in has len bytes including the tag; out gets len - 16. -EBADMSG if it does not verify. */
int fzd_noise_decrypt_and_hash(FzdNoise *n, FzdWgAead *aead, const uint8_t *in, size_t len, uint8_t *out);
/* Split(): (initiator→responder key, responder→initiator key). */
void fzd_noise_split(const FzdNoise *n, uint8_t i2r[32], uint8_t r2i[32]);
void fzd_noise_wipe(FzdNoise *n);

/* Message 1, written by the initiator: e (32) || s (32+16) || payload (len+16) into out.
 * `n` must come from fzd_noise_init(); ss is DH(s_i, s_r), precomputed per peer (NULL:
 * compute it here). */
int fzd_noise_write_initiation(FzdNoise *n, FzdWgAead *aead, const uint8_t e_priv[32], const uint8_t s_priv[32],
                               const uint8_t s_pub[32], const uint8_t rs[32], const uint8_t *ss,
                               const uint8_t *payload, size_t payload_len, uint8_t *out);
/* Message 1, read by the responder in two steps: the static key first (so the caller can
 * find the peer, its PSK and its precomputed ss), then the payload. */
int fzd_noise_read_initiation_static(FzdNoise *n, FzdWgAead *aead, const uint8_t s_priv[32], const uint8_t *msg,
                                     uint8_t ret_re[32], uint8_t ret_rs[32]);
int fzd_noise_read_initiation_payload(FzdNoise *n, FzdWgAead *aead, const uint8_t ss[32], const uint8_t *msg,
                                      size_t payload_len, uint8_t *ret_payload);
/* Message 2: e (32) || payload (len+16). */
int fzd_noise_write_response(FzdNoise *n, FzdWgAead *aead, const uint8_t e_priv[32], const uint8_t re[32],
                             const uint8_t rs[32], const uint8_t psk[32], const uint8_t *payload, size_t payload_len,
                             uint8_t *out);
int fzd_noise_read_response(FzdNoise *n, FzdWgAead *aead, const uint8_t e_priv[32], const uint8_t s_priv[32],
                            const uint8_t psk[32], const uint8_t *msg, size_t payload_len, uint8_t *ret_payload);
