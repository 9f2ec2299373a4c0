/* SPDX-License-Identifier: Apache-2.0 */
/* The Noise IKpsk2 code against the published test vector for exactly WireGuard's
 * protocol, Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s (cacophony's vectors, as shipped in
 * snow's tests/vectors/cacophony.txt): both handshake messages byte for byte, the
 * handshake hash, and four transport messages with the split keys. The same functions
 * build WireGuard's initiation and response (wg.c), with WireGuard's prologue and payloads. */
#include <errno.h>

#include "fz-check.h"
#include "wg-noise.h"
#include "wg-test-util.h"

#define PROLOGUE        "4a6f686e2047616c74"
#define PSK             "54686973206973206d7920417573747269616e20706572737065637469766521"
#define INIT_STATIC     "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1"
#define INIT_EPHEMERAL  "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a"
#define RESP_STATIC     "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893"
#define RESP_EPHEMERAL  "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b"
#define REMOTE_STATIC   "31e0303fd6418d2f8c0e78b91f22e8caed0fbe48656dcf4767e4834f701b8f62"
#define HANDSHAKE_HASH  "f5191b875290abcd41347ac3622d9679688a7e980229cb937ef748336cfde0e5"

static const struct {
        const char *payload, *ciphertext;
} messages[] = {
        { "4c756477696720766f6e204d69736573",
          "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944001e21de9f98ddd8e2ad57527207feb56253c9c94a9e"
          "496782ecfcb2a75fbcaf1b52948cc48daefe660c62119ab5000980c84831215f2441eba616548e832985464cf17e51ee93109008399a"
          "21f7e13f" },
        { "4d757272617920526f746862617264",
          "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843cb765f2caef0751b8f007572dab0322217755c0632f3"
          "65717edbf34d33e87a" },
        { "462e20412e20486179656b", "8153ca9833bc3c1b91a7e66e5f4d4f5b59bf9e64c2f20d15f0bba7" },
        { "4361726c204d656e676572", "07af0c9c86e1b4e80f36b04ff7688d51141af3debd0332f0a705ef" },
        { "4a65616e2d426170746973746520536179", "6ab1467c0448cc78394494abaaf23afce0e234315d6e2624dcbfa8a21c1c4d073d" },
        { "457567656e2042f6686d20766f6e2042617765726b",
          "dfc346c0d2296ae6cf1acf6f12b8456a1dba228cf8d8b774aacf1c47fc53aa80ebc7a4c292" },
};

typedef struct Keys {
        uint8_t prologue[16], psk[32], is[32], ie[32], rs[32], re[32], is_pub[32], rs_pub[32];
        size_t prologue_len;
} Keys;

static void load(Keys *k) {
        k->prologue_len = unhex(PROLOGUE, k->prologue, sizeof k->prologue);
        unhex(PSK, k->psk, 32);
        unhex(INIT_STATIC, k->is, 32);
        unhex(INIT_EPHEMERAL, k->ie, 32);
        unhex(RESP_STATIC, k->rs, 32);
        unhex(RESP_EPHEMERAL, k->re, 32);
        ck_assert_int_eq(fzd_wg_pubkey(k->is_pub, k->is), 0);
        ck_assert_int_eq(fzd_wg_pubkey(k->rs_pub, k->rs), 0);
        /* The vector's init_remote_static is the responder's public key. */
        ck_assert_hex(k->rs_pub, 32, REMOTE_STATIC);
}

START_TEST(test_cacophony_ikpsk2) {
        FzdWgAead *aead = fzd_wg_aead_new();
        FzdNoise ini, res;
        Keys k;
        uint8_t payload[64], msg[256], got[256], re_got[32], rs_got[32], ie_pub[32];
        uint8_t i2r_i[32], r2i_i[32], i2r_r[32], r2i_r[32];
        size_t plen, mlen;

        load(&k);
        fzd_noise_init(&ini, k.prologue, k.prologue_len, k.rs_pub);
        fzd_noise_init(&res, k.prologue, k.prologue_len, k.rs_pub);

        /* -> e, es, s, ss, {payload} */
        plen = unhex(messages[0].payload, payload, sizeof payload);
        ck_assert_int_eq(fzd_noise_write_initiation(&ini, aead, k.ie, k.is, k.is_pub, k.rs_pub, NULL, payload, plen, msg),
                         0);
        mlen = 32 + 48 + plen + 16;
        ck_assert_hex(msg, mlen, messages[0].ciphertext);

        ck_assert_int_eq(fzd_noise_read_initiation_static(&res, aead, k.rs, msg, re_got, rs_got), 0);
        ck_assert_mem_eq(rs_got, k.is_pub, 32);
        ck_assert_int_eq(fzd_wg_pubkey(ie_pub, k.ie), 0);
        ck_assert_mem_eq(re_got, ie_pub, 32);
        {
                /* The responder's side of ss, as wg.c precomputes it per peer. */
                uint8_t ss[32];
                ck_assert_int_eq(fzd_wg_dh(ss, k.rs, rs_got), 0);
                ck_assert_int_eq(fzd_noise_read_initiation_payload(&res, aead, ss, msg, plen, got), 0);
        }
        ck_assert_mem_eq(got, payload, plen);

        /* <- e, ee, se, psk, {payload} */
        plen = unhex(messages[1].payload, payload, sizeof payload);
        ck_assert_int_eq(fzd_noise_write_response(&res, aead, k.re, re_got, rs_got, k.psk, payload, plen, msg), 0);
        mlen = 32 + plen + 16;
        ck_assert_hex(msg, mlen, messages[1].ciphertext);
        ck_assert_int_eq(fzd_noise_read_response(&ini, aead, k.ie, k.is, k.psk, msg, plen, got), 0);
        ck_assert_mem_eq(got, payload, plen);

        ck_assert_hex(ini.h, 32, HANDSHAKE_HASH);
        ck_assert_hex(res.h, 32, HANDSHAKE_HASH);

        /* Transport: initiator→responder with i2r, responder→initiator with r2i, each
         * direction's nonce counting from 0. */
        fzd_noise_split(&ini, i2r_i, r2i_i);
        fzd_noise_split(&res, i2r_r, r2i_r);
        ck_assert_mem_eq(i2r_i, i2r_r, 32);
        ck_assert_mem_eq(r2i_i, r2i_r, 32);
        for (size_t i = 2; i < ELEMENTSOF(messages); i++) {
                bool from_initiator = i % 2 == 0;
                uint64_t nonce = (i - 2) / 2;
                plen = unhex(messages[i].payload, payload, sizeof payload);
                ck_assert_int_eq(fzd_wg_aead_seal(aead, from_initiator ? i2r_i : r2i_r, nonce, NULL, 0, payload, plen, msg),
                                 0);
                ck_assert_hex(msg, plen + 16, messages[i].ciphertext);
                ck_assert_int_eq(
                        fzd_wg_aead_open(aead, from_initiator ? i2r_r : r2i_i, nonce, NULL, 0, msg, plen + 16, got), 0);
                ck_assert_mem_eq(got, payload, plen);
        }
        fzd_wg_aead_free(aead);
}
END_TEST

/* The precomputed-ss path of the initiator gives the same bytes as computing it inline. */
START_TEST(test_precomputed_ss) {
        FzdWgAead *aead = fzd_wg_aead_new();
        FzdNoise a, b;
        Keys k;
        uint8_t ss[32], m1[256], m2[256], payload[12] = { 1, 2, 3 };

        load(&k);
        ck_assert_int_eq(fzd_wg_dh(ss, k.is, k.rs_pub), 0);
        fzd_noise_init(&a, k.prologue, k.prologue_len, k.rs_pub);
        fzd_noise_init(&b, k.prologue, k.prologue_len, k.rs_pub);
        ck_assert_int_eq(fzd_noise_write_initiation(&a, aead, k.ie, k.is, k.is_pub, k.rs_pub, NULL, payload, 12, m1), 0);
        ck_assert_int_eq(fzd_noise_write_initiation(&b, aead, k.ie, k.is, k.is_pub, k.rs_pub, ss, payload, 12, m2), 0);
        ck_assert_mem_eq(m1, m2, 32 + 48 + 12 + 16);
        ck_assert_mem_eq(a.ck, b.ck, 32);
        fzd_wg_aead_free(aead);
}
END_TEST

/* A flipped bit anywhere in either message, or a wrong PSK, makes the reader fail. */
START_TEST(test_tamper) {
        FzdWgAead *aead = fzd_wg_aead_new();
        Keys k;
        uint8_t m1[256], m2[256], t[256], re[32], rs[32], ss[32], payload[12] = { 9 }, got[64];
        const size_t l1 = 32 + 48 + 12 + 16, l2 = 32 + 16;
        FzdNoise ini, res, base_ini;

        load(&k);
        ck_assert_int_eq(fzd_wg_dh(ss, k.rs, k.is_pub), 0);
        fzd_noise_init(&ini, k.prologue, k.prologue_len, k.rs_pub);
        ck_assert_int_eq(fzd_noise_write_initiation(&ini, aead, k.ie, k.is, k.is_pub, k.rs_pub, NULL, payload, 12, m1), 0);
        base_ini = ini;

        for (size_t bit = 0; bit < l1 * 8; bit += 7) {
                int r;
                memcpy(t, m1, l1);
                t[bit / 8] ^= (uint8_t) (1u << (bit % 8));
                fzd_noise_init(&res, k.prologue, k.prologue_len, k.rs_pub);
                r = fzd_noise_read_initiation_static(&res, aead, k.rs, t, re, rs);
                if (r == 0)
                        r = fzd_noise_read_initiation_payload(&res, aead, ss, t, 12, got);
                ck_assert_msg(r < 0, "flipped bit %zu of the initiation went unnoticed", bit);
        }

        fzd_noise_init(&res, k.prologue, k.prologue_len, k.rs_pub);
        ck_assert_int_eq(fzd_noise_read_initiation_static(&res, aead, k.rs, m1, re, rs), 0);
        ck_assert_int_eq(fzd_noise_read_initiation_payload(&res, aead, ss, m1, 12, got), 0);
        ck_assert_int_eq(fzd_noise_write_response(&res, aead, k.re, re, rs, k.psk, NULL, 0, m2), 0);
        for (size_t bit = 0; bit < l2 * 8; bit += 3) {
                memcpy(t, m2, l2);
                t[bit / 8] ^= (uint8_t) (1u << (bit % 8));
                ini = base_ini;
                ck_assert_msg(fzd_noise_read_response(&ini, aead, k.ie, k.is, k.psk, t, 0, NULL) < 0,
                              "flipped bit %zu of the response went unnoticed", bit);
        }
        ini = base_ini;
        k.psk[0] ^= 1;
        ck_assert_int_eq(fzd_noise_read_response(&ini, aead, k.ie, k.is, k.psk, m2, 0, NULL), -EBADMSG);
        k.psk[0] ^= 1;
        ini = base_ini;
        ck_assert_int_eq(fzd_noise_read_response(&ini, aead, k.ie, k.is, k.psk, m2, 0, NULL), 0);
        fzd_wg_aead_free(aead);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("wg-noise");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_cacophony_ikpsk2);
        tcase_add_test(tc, test_precomputed_ss);
        tcase_add_test(tc, test_tamper);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(suite)
