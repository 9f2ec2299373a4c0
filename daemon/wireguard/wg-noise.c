/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include "wg-noise.h"

static const char construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";

void fzd_noise_init(FzdNoise *n, const void *prologue, size_t prologue_len, const uint8_t responder_static[32]) {
        /* The protocol name is longer than HASHLEN, so h = HASH(name) (Noise §5.2). */
        memset(n, 0, sizeof *n);
        fzd_wg_hash(n->h, construction, sizeof construction - 1, NULL, 0);
        memcpy(n->ck, n->h, FZD_WG_HASH_LEN);
        fzd_noise_mix_hash(n, prologue, prologue_len);
        fzd_noise_mix_hash(n, responder_static, 32);
}

void fzd_noise_mix_hash(FzdNoise *n, const void *data, size_t len) {
        fzd_wg_hash(n->h, n->h, FZD_WG_HASH_LEN, data, len);
}

void fzd_noise_mix_key(FzdNoise *n, const void *ikm, size_t len) {
        fzd_wg_kdf(n->ck, n->k, NULL, n->ck, ikm, len);
}

int fzd_noise_mix_dh(FzdNoise *n, const uint8_t priv[32], const uint8_t pub[32]) {
        uint8_t shared[32];
        int r;

        r = fzd_wg_dh(shared, priv, pub);
        if (r < 0)
                return r;
        fzd_noise_mix_key(n, shared, sizeof shared);
        fzd_wg_wipe(shared, sizeof shared);
        return 0;
}

void fzd_noise_mix_key_and_hash(FzdNoise *n, const uint8_t psk[32]) {
        uint8_t t[32];

        fzd_wg_kdf(n->ck, t, n->k, n->ck, psk, 32);
        fzd_noise_mix_hash(n, t, sizeof t);
        fzd_wg_wipe(t, sizeof t);
}

int fzd_noise_encrypt_and_hash(FzdNoise *n, FzdWgAead *aead, const uint8_t *in, size_t len, uint8_t *out) {
        int r = fzd_wg_aead_seal(aead, n->k, 0, n->h, FZD_WG_HASH_LEN, in, len, out);
        if (r < 0)
                return r;
        fzd_noise_mix_hash(n, out, len + FZD_WG_TAG_LEN);
        return 0;
}

int fzd_noise_decrypt_and_hash(FzdNoise *n, FzdWgAead *aead, const uint8_t *in, size_t len, uint8_t *out) {
        int r = fzd_wg_aead_open(aead, n->k, 0, n->h, FZD_WG_HASH_LEN, in, len, out);
        if (r < 0)
                return r;
        fzd_noise_mix_hash(n, in, len);
        return 0;
}

void fzd_noise_split(const FzdNoise *n, uint8_t i2r[32], uint8_t r2i[32]) {
        fzd_wg_kdf(i2r, r2i, NULL, n->ck, NULL, 0);
}

void fzd_noise_wipe(FzdNoise *n) {
        fzd_wg_wipe(n, sizeof *n);
}

/* "e" in a PSK handshake: MixHash(e.pub) and MixKey(e.pub) (Noise §9.2). */
static void mix_ephemeral(FzdNoise *n, const uint8_t e_pub[32]) {
        fzd_noise_mix_hash(n, e_pub, 32);
        fzd_noise_mix_key(n, e_pub, 32);
}

int fzd_noise_write_initiation(FzdNoise *n, FzdWgAead *aead, const uint8_t e_priv[32], const uint8_t s_priv[32],
                               const uint8_t s_pub[32], const uint8_t rs[32], const uint8_t *ss,
                               const uint8_t *payload, size_t payload_len, uint8_t *out) {
        uint8_t e_pub[32];
        int r;

        r = fzd_wg_pubkey(e_pub, e_priv);
        if (r < 0)
                return r;
        memcpy(out, e_pub, 32);
        mix_ephemeral(n, e_pub);
        r = fzd_noise_mix_dh(n, e_priv, rs); /* es */
        if (r < 0)
                return r;
        r = fzd_noise_encrypt_and_hash(n, aead, s_pub, 32, out + 32); /* s */
        if (r < 0)
                return r;
        if (ss)
                fzd_noise_mix_key(n, ss, 32);
        else {
                r = fzd_noise_mix_dh(n, s_priv, rs); /* ss */
                if (r < 0)
                        return r;
        }
        return fzd_noise_encrypt_and_hash(n, aead, payload, payload_len, out + 32 + 48);
}

int fzd_noise_read_initiation_static(FzdNoise *n, FzdWgAead *aead, const uint8_t s_priv[32], const uint8_t *msg,
                                     uint8_t ret_re[32], uint8_t ret_rs[32]) {
        int r;

        memcpy(ret_re, msg, 32);
        mix_ephemeral(n, ret_re);
        r = fzd_noise_mix_dh(n, s_priv, ret_re); /* es */
        if (r < 0)
                return r;
        return fzd_noise_decrypt_and_hash(n, aead, msg + 32, 48, ret_rs);
}

int fzd_noise_read_initiation_payload(FzdNoise *n, FzdWgAead *aead, const uint8_t ss[32], const uint8_t *msg,
                                      size_t payload_len, uint8_t *ret_payload) {
        fzd_noise_mix_key(n, ss, 32);
        return fzd_noise_decrypt_and_hash(n, aead, msg + 32 + 48, payload_len + FZD_WG_TAG_LEN, ret_payload);
}

int fzd_noise_write_response(FzdNoise *n, FzdWgAead *aead, const uint8_t e_priv[32], const uint8_t re[32],
                             const uint8_t rs[32], const uint8_t psk[32], const uint8_t *payload, size_t payload_len,
                             uint8_t *out) {
        uint8_t e_pub[32];
        int r;

        r = fzd_wg_pubkey(e_pub, e_priv);
        if (r < 0)
                return r;
        memcpy(out, e_pub, 32);
        mix_ephemeral(n, e_pub);
        r = fzd_noise_mix_dh(n, e_priv, re); /* ee */
        if (r < 0)
                return r;
        r = fzd_noise_mix_dh(n, e_priv, rs); /* se */
        if (r < 0)
                return r;
        fzd_noise_mix_key_and_hash(n, psk);
        return fzd_noise_encrypt_and_hash(n, aead, payload, payload_len, out + 32);
}

int fzd_noise_read_response(FzdNoise *n, FzdWgAead *aead, const uint8_t e_priv[32], const uint8_t s_priv[32],
                            const uint8_t psk[32], const uint8_t *msg, size_t payload_len, uint8_t *ret_payload) {
        int r;

        mix_ephemeral(n, msg);
        r = fzd_noise_mix_dh(n, e_priv, msg); /* ee */
        if (r < 0)
                return r;
        r = fzd_noise_mix_dh(n, s_priv, msg); /* se */
        if (r < 0)
                return r;
        fzd_noise_mix_key_and_hash(n, psk);
        return fzd_noise_decrypt_and_hash(n, aead, msg + 32, payload_len + FZD_WG_TAG_LEN, ret_payload);
}
