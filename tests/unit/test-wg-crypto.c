/* SPDX-License-Identifier: Apache-2.0 */
/* The crypto adapters against published known answers: BLAKE2s (RFC 7693 App. B),
 * WireGuard's KDF (wireguard-go device/kdf_test.go, which exercises HMAC-BLAKE2s),
 * X25519 (RFC 7748 §6.1), ChaCha20-Poly1305 with a WireGuard-shaped nonce (RFC 8439
 * A.5: its nonce has four zero bytes first), XChaCha20-Poly1305
 * (draft-irtf-cfrg-xchacha-03 A.3.1). The 16-byte keyed BLAKE2s values come from
 * CPython's hashlib (the BLAKE2 authors' reference code), an independent implementation. */
#include <errno.h>

#include "fz-check.h"
#include "wg-crypto.h"
#include "wg-test-util.h"

START_TEST(test_blake2s) {
        uint8_t h[32];

        ck_assert_int_eq(fzd_wg_crypto_init(), 0);
        fzd_wg_hash(h, "abc", 3, NULL, 0);
        ck_assert_hex(h, 32, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
        fzd_wg_hash(h, "", 0, NULL, 0);
        ck_assert_hex(h, 32, "69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9");
        /* HASH(a || b) is one hash over the concatenation. */
        fzd_wg_hash(h, "a", 1, "bc", 2);
        ck_assert_hex(h, 32, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
}
END_TEST

START_TEST(test_mac) {
        uint8_t key[32], in[64], mac[16];

        for (unsigned i = 0; i < 64; i++)
                in[i] = (uint8_t) i;
        for (unsigned i = 0; i < 32; i++)
                key[i] = (uint8_t) i;
        fzd_wg_mac(mac, key, 32, in, 64);
        ck_assert_hex(mac, 16, "f1efa90d2547036841ecd3627fafbc36");
        /* A cookie (16 bytes) keys mac2. */
        fzd_wg_mac(mac, key, 16, "WireGuard", 9);
        ck_assert_hex(mac, 16, "d1e1bb5b57bb4d87292940c814de9239");
}
END_TEST

START_TEST(test_kdf) {
        static const struct {
                const char *key, *input, *t0, *t1, *t2;
        } v[] = {
                { "746573742d6b6579", "746573742d696e707574",
                  "6f0e5ad38daba1bea8a0d213688736f19763239305e0f58aba697f9ffc41c633",
                  "df1194df20802a4fe594cde27e92991c8cae66c366e8106aaa937a55fa371e8a",
                  "fac6e2745a325f5dc5d11a5b165aad08b0ada28e7b4e666b7c077934a4d76c24" },
                { "776972656775617264", "776972656775617264",
                  "491d43bbfdaa8750aaf535e334ecbfe5129967cd64635101c566d4caefda96e8",
                  "1e71a379baefd8a79aa4662212fcafe19a23e2b609a3db7d6bcba8f560e3d25f",
                  "31e1ae48bddfbe5de38f295e5452b1909a1b4e38e183926af3780b0c1e1f0160" },
                { "", "", "8387b46bf43eccfcf349552a095d8315c4055beb90208fb1be23b894bc2ed5d0",
                  "58a0e5f6faefccf4807bff1f05fa8a9217945762040bcec2f4b4a62bdfe0e86e",
                  "0ce6ea98ec548f8e281e93e32db65621c45eb18dc6f0a7ad94178610a2f7338e" },
        };

        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                /* wireguard-go's KDF takes a key of any length; ours is always a 32-byte
                 * chaining key, so these short keys are zero-padded the way HMAC pads them. */
                uint8_t key[32] = {}, in[64], t0[32], t1[32], t2[32];
                size_t inlen;

                (void) unhex(v[i].key, key, sizeof key);
                inlen = unhex(v[i].input, in, sizeof in);
                fzd_wg_kdf(t0, t1, t2, key, in, inlen);
                ck_assert_hex(t0, 32, v[i].t0);
                ck_assert_hex(t1, 32, v[i].t1);
                ck_assert_hex(t2, 32, v[i].t2);
                memset(t1, 0, 32);
                fzd_wg_kdf(t0, t1, NULL, key, in, inlen);
                ck_assert_hex(t1, 32, v[i].t1);
                fzd_wg_kdf(t0, NULL, NULL, key, in, inlen);
                ck_assert_hex(t0, 32, v[i].t0);
        }
}
END_TEST

START_TEST(test_x25519) {
        uint8_t a[32], b[32], pub[32], shared[32], zero[32] = {};

        unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", a, 32);
        unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", b, 32);
        ck_assert_int_eq(fzd_wg_pubkey(pub, a), 0);
        ck_assert_hex(pub, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
        ck_assert_int_eq(fzd_wg_pubkey(pub, b), 0);
        ck_assert_hex(pub, 32, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
        ck_assert_int_eq(fzd_wg_dh(shared, a, pub), 0);
        ck_assert_hex(shared, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
        /* A low-order point gives an all-zero secret: refused. */
        ck_assert_int_eq(fzd_wg_dh(shared, a, zero), -EINVAL);
        ck_assert(fzd_wg_is_zero(shared, 32));
}
END_TEST

static const char ietf_plain[] =
        "Internet-Drafts are draft documents valid for a maximum of six months and may be updated, replaced, or "
        "obsoleted by other documents at any time. It is inappropriate to use Internet-Drafts as reference material "
        "or to cite them other than as /\xe2\x80\x9cwork in progress./\xe2\x80\x9d";
static const char ietf_sealed[] =
        "64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb24c6cfc18755d43eea09ee94e382d26b0bdb7b73c3"
        "21b0100d4f03b7f355894cf332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c8559797a06ef4f0ef61c18"
        "6324e2b3506383606907b6a7c02b0f9f6157b53c867e4b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c"
        "523eaf4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a0bb2316053fa76991955ebd63159434ecebb4"
        "e466dae5a1073a6727627097a1049e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29a6ad5cb4022b02"
        "709beead9d67890cbb22392336fea1851f38";

START_TEST(test_chacha20poly1305) {
        FzdWgAead *a = fzd_wg_aead_new();
        uint8_t key[32], ad[12], buf[512], out[512];
        size_t n = sizeof ietf_plain - 1;
        /* RFC 8439 A.5's nonce is 00000000 0102030405060708: our 64-bit counter, LE. */
        uint64_t counter = 0x0807060504030201ULL;

        ck_assert_ptr_nonnull(a);
        unhex("1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0", key, 32);
        unhex("f33388860000000000004e91", ad, 12);
        ck_assert_int_eq(fzd_wg_aead_seal(a, key, counter, ad, 12, (const uint8_t *) ietf_plain, n, out), 0);
        ck_assert_hex(out, n + 16, ietf_sealed);
        /* In place, twice with the same key (the cached key schedule must not go stale). */
        for (int round = 0; round < 2; round++) {
                memcpy(buf, out, n + 16);
                ck_assert_int_eq(fzd_wg_aead_open(a, key, counter, ad, 12, buf, n + 16, buf), 0);
                ck_assert_mem_eq(buf, ietf_plain, n);
        }
        /* Any flipped bit, a wrong counter, a wrong key or wrong data: refused. */
        memcpy(buf, out, n + 16);
        buf[100] ^= 0x04;
        ck_assert_int_eq(fzd_wg_aead_open(a, key, counter, ad, 12, buf, n + 16, buf), -EBADMSG);
        memcpy(buf, out, n + 16);
        buf[n + 15] ^= 0x80;
        ck_assert_int_eq(fzd_wg_aead_open(a, key, counter, ad, 12, buf, n + 16, buf), -EBADMSG);
        memcpy(buf, out, n + 16);
        ck_assert_int_eq(fzd_wg_aead_open(a, key, counter + 1, ad, 12, buf, n + 16, buf), -EBADMSG);
        ad[0] ^= 1;
        memcpy(buf, out, n + 16);
        ck_assert_int_eq(fzd_wg_aead_open(a, key, counter, ad, 12, buf, n + 16, buf), -EBADMSG);
        ad[0] ^= 1;
        key[31] ^= 1;
        memcpy(buf, out, n + 16);
        ck_assert_int_eq(fzd_wg_aead_open(a, key, counter, ad, 12, buf, n + 16, buf), -EBADMSG);
        key[31] ^= 1;
        /* And the right key again after a wrong one (the cache follows the key). */
        memcpy(buf, out, n + 16);
        ck_assert_int_eq(fzd_wg_aead_open(a, key, counter, ad, 12, buf, n + 16, buf), 0);
        ck_assert_int_eq(fzd_wg_aead_open(a, key, counter, ad, 12, buf, 15, buf), -EINVAL);
        /* An empty message (a keepalive) is just a tag; with associated data too (the
         * handshake response's empty payload is authenticated against the hash). */
        ck_assert_int_eq(fzd_wg_aead_seal(a, key, 7, NULL, 0, NULL, 0, out), 0);
        ck_assert_int_eq(fzd_wg_aead_open(a, key, 7, NULL, 0, out, 16, buf), 0);
        ck_assert_int_eq(fzd_wg_aead_seal(a, key, 0, ad, 12, NULL, 0, out), 0);
        ck_assert_int_eq(fzd_wg_aead_open(a, key, 0, ad, 12, out, 16, buf), 0);
        ck_assert_int_eq(fzd_wg_aead_open(a, key, 0, ad, 11, out, 16, buf), -EBADMSG);
        fzd_wg_aead_free(a);
}
END_TEST

START_TEST(test_xchacha20poly1305) {
        static const char plain[] = "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for "
                                    "the future, sunscreen would be it.";
        uint8_t key[32], nonce[24], ad[12], out[256], back[256];
        size_t n = sizeof plain - 1;

        unhex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f", key, 32);
        unhex("404142434445464748494a4b4c4d4e4f5051525354555657", nonce, 24);
        unhex("50515253c0c1c2c3c4c5c6c7", ad, 12);
        ck_assert_int_eq(fzd_wg_xaead_seal(out, key, nonce, (const uint8_t *) plain, n, ad, 12), 0);
        ck_assert_hex(out, n + 16,
                      "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e3"
                      "9ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff"
                      "921f9664c97637da9768812f615c68b13b52ec0875924c1c7987947deafd8780acf49");
        ck_assert_int_eq(fzd_wg_xaead_open(back, key, nonce, out, n + 16, ad, 12), 0);
        ck_assert_mem_eq(back, plain, n);
        out[0] ^= 1;
        ck_assert_int_eq(fzd_wg_xaead_open(back, key, nonce, out, n + 16, ad, 12), -EBADMSG);
}
END_TEST

START_TEST(test_base64) {
        uint8_t key[32], back[32];
        char s[FZD_WG_KEY_B64_LEN];

        for (unsigned i = 0; i < 32; i++)
                key[i] = (uint8_t) (i * 7 + 1);
        fzd_wg_key_to_base64(s, key);
        ck_assert_uint_eq(strlen(s), 44);
        ck_assert_int_eq(fzd_wg_key_from_base64(back, s), 0);
        ck_assert_mem_eq(back, key, 32);
        /* wg's own example: an all-zero key. */
        ck_assert_int_eq(fzd_wg_key_from_base64(back, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="), 0);
        ck_assert(fzd_wg_is_zero(back, 32));

        static const char *const bad[] = {
                "", "AAAA", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA*=",
                /* non-canonical: the unused low bits of the last character set */
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(fzd_wg_key_from_base64(back, bad[i]) == -EINVAL, "accepted '%s'", bad[i]);
        ck_assert_int_eq(fzd_wg_key_from_base64(back, NULL), -EINVAL);
}
END_TEST

START_TEST(test_equal_wipe) {
        uint8_t a[16] = { 1, 2, 3 }, b[16] = { 1, 2, 3 };

        ck_assert(fzd_wg_equal(a, b, 16));
        b[15] = 1;
        ck_assert(!fzd_wg_equal(a, b, 16));
        fzd_wg_wipe(b, 16);
        ck_assert(fzd_wg_is_zero(b, 16));
        ck_assert(!fzd_wg_is_zero(a, 16));
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("wg-crypto");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_blake2s);
        tcase_add_test(tc, test_mac);
        tcase_add_test(tc, test_kdf);
        tcase_add_test(tc, test_x25519);
        tcase_add_test(tc, test_chacha20poly1305);
        tcase_add_test(tc, test_xchacha20poly1305);
        tcase_add_test(tc, test_base64);
        tcase_add_test(tc, test_equal_wipe);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(suite)
