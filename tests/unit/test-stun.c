/* SPDX-License-Identifier: Apache-2.0 */
/* STUN codec (daemon/ice/stun.c) against the RFC 5769 test vectors, plus the ChannelData
 * framing and the socket demultiplexer of DESIGN §7.3. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "channel-data.h"
#include "fz-check.h"
#include "stun.h"

/* RFC 5769 §2.1: short-term credentials, password "VOkJxbRl1RmTxUk/WvJxBt". */
static const uint8_t sample_request[] = {
        0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
        0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
        0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
        0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
        0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
        0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
        0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
};

/* §2.2: IPv4 response, 192.0.2.1:32853. */
static const uint8_t sample_response_v4[] = {
        0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
        0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
        0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
        0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
        0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};

/* §2.3: IPv6 response, [2001:db8:1234:5678:11:2233:4455:6677]:32853. */
static const uint8_t sample_response_v6[] = {
        0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
        0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
        0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
        0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14,
        0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75,
        0xbf, 0xe3, 0xed, 0x41, 0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
};

/* §2.4: long-term credentials; username "マトリックス", realm "example.org", password
 * "The<U+00AD>M<U+00AA>tr<U+2168>", which SASLprep makes "TheMatrIX". */
static const uint8_t sample_long_term[] = {
        0x00, 0x01, 0x00, 0x60, 0x21, 0x12, 0xa4, 0x42, 0x78, 0xad, 0x34, 0x33, 0xc6, 0xad, 0x72, 0xc0, 0x29,
        0xda, 0x41, 0x2e, 0x00, 0x06, 0x00, 0x12, 0xe3, 0x83, 0x9e, 0xe3, 0x83, 0x88, 0xe3, 0x83, 0xaa, 0xe3,
        0x83, 0x83, 0xe3, 0x82, 0xaf, 0xe3, 0x82, 0xb9, 0x00, 0x00, 0x00, 0x15, 0x00, 0x1c, 0x66, 0x2f, 0x2f,
        0x34, 0x39, 0x39, 0x6b, 0x39, 0x35, 0x34, 0x64, 0x36, 0x4f, 0x4c, 0x33, 0x34, 0x6f, 0x4c, 0x39, 0x46,
        0x53, 0x54, 0x76, 0x79, 0x36, 0x34, 0x73, 0x41, 0x00, 0x14, 0x00, 0x0b, 0x65, 0x78, 0x61, 0x6d, 0x70,
        0x6c, 0x65, 0x2e, 0x6f, 0x72, 0x67, 0x00, 0x00, 0x08, 0x00, 0x14, 0xf6, 0x70, 0x24, 0x65, 0x6d, 0xd6,
        0x4a, 0x3e, 0x02, 0xb8, 0xe0, 0x71, 0x2e, 0x85, 0xc9, 0xa2, 0x8c, 0xa8, 0x96, 0x66,
};

static const char short_term_pwd[] = "VOkJxbRl1RmTxUk/WvJxBt";

START_TEST(test_rfc5769_request) {
        FzdStunMsg m;
        const uint8_t *v;
        size_t n;
        uint32_t prio;
        uint64_t tie;

        ck_assert_int_eq(fzd_stun_parse(sample_request, sizeof(sample_request), &m), 0);
        ck_assert_uint_eq(m.method, FZD_STUN_BINDING);
        ck_assert_uint_eq(m.cls, FZD_STUN_REQUEST);
        ck_assert_int_ge(m.fingerprint, 0);
        ck_assert(fzd_stun_check_integrity(&m, (const uint8_t *)short_term_pwd, strlen(short_term_pwd)));
        ck_assert(!fzd_stun_check_integrity(&m, (const uint8_t *)"VOkJxbRl1RmTxUk/WvJxBT", 22));
        ck_assert_int_eq(fzd_stun_get_bytes(&m, FZD_STUN_ATTR_USERNAME, &v, &n), 0);
        ck_assert_uint_eq(n, 9);
        ck_assert(memcmp(v, "evtj:h6vY", 9) == 0);
        ck_assert_int_eq(fzd_stun_get_u32(&m, FZD_STUN_ATTR_PRIORITY, &prio), 0);
        ck_assert_uint_eq(prio, 0x6e0001ff);
        ck_assert_int_eq(fzd_stun_get_u64(&m, FZD_STUN_ATTR_ICE_CONTROLLED, &tie), 0);
        ck_assert_uint_eq(tie, 0x932ff9b151263b36ULL);
        ck_assert_uint_eq(m.n_unknown, 0);
}
END_TEST

/* Our builder reproduces the vector byte for byte (with the vector's space padding): proof that
 * MESSAGE-INTEGRITY and FINGERPRINT are computed the way everybody else computes them. */
START_TEST(test_rfc5769_request_built) {
        uint8_t buf[256];
        FzdStunBuilder b;

        fzd_stun_begin(&b, buf, sizeof(buf), FZD_STUN_BINDING, FZD_STUN_REQUEST, sample_request + 8);
        b.pad_byte = ' ';
        fzd_stun_put_str(&b, FZD_STUN_ATTR_SOFTWARE, "STUN test client");
        fzd_stun_put_u32(&b, FZD_STUN_ATTR_PRIORITY, 0x6e0001ff);
        fzd_stun_put_u64(&b, FZD_STUN_ATTR_ICE_CONTROLLED, 0x932ff9b151263b36ULL);
        fzd_stun_put_str(&b, FZD_STUN_ATTR_USERNAME, "evtj:h6vY");
        fzd_stun_put_integrity(&b, (const uint8_t *)short_term_pwd, strlen(short_term_pwd));
        fzd_stun_put_fingerprint(&b);
        ck_assert_int_eq(fzd_stun_finish(&b), (int)sizeof(sample_request));
        ck_assert(memcmp(buf, sample_request, sizeof(sample_request)) == 0);
}
END_TEST

START_TEST(test_rfc5769_responses) {
        FzdStunMsg m;
        FzdAddr a, want;
        char s[FZD_ADDR_STRLEN];

        ck_assert_int_eq(fzd_stun_parse(sample_response_v4, sizeof(sample_response_v4), &m), 0);
        ck_assert_uint_eq(m.cls, FZD_STUN_SUCCESS);
        ck_assert(fzd_stun_check_integrity(&m, (const uint8_t *)short_term_pwd, strlen(short_term_pwd)));
        ck_assert_int_eq(fzd_stun_get_xor_addr(&m, FZD_STUN_ATTR_XOR_MAPPED_ADDRESS, &a), 0);
        ck_assert_int_eq(fzd_addr_parse("192.0.2.1:32853", &want), 0);
        ck_assert_msg(fzd_addr_eq(&a, &want), "got %s", fzd_addr_format(&a, s));

        ck_assert_int_eq(fzd_stun_parse(sample_response_v6, sizeof(sample_response_v6), &m), 0);
        ck_assert(fzd_stun_check_integrity(&m, (const uint8_t *)short_term_pwd, strlen(short_term_pwd)));
        ck_assert_int_eq(fzd_stun_get_xor_addr(&m, FZD_STUN_ATTR_XOR_MAPPED_ADDRESS, &a), 0);
        ck_assert_int_eq(fzd_addr_parse("[2001:db8:1234:5678:11:2233:4455:6677]:32853", &want), 0);
        ck_assert_msg(fzd_addr_eq(&a, &want), "got %s", fzd_addr_format(&a, s));
}
END_TEST

START_TEST(test_rfc5769_long_term) {
        FzdStunMsg m;
        uint8_t key[16];
        const char *user = "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9";

        ck_assert_int_eq(fzd_stun_parse(sample_long_term, sizeof(sample_long_term), &m), 0);
        ck_assert_int_eq(m.fingerprint, -1);
        ck_assert_int_eq(fzd_stun_long_term_key(user, "example.org", "TheMatrIX", key), 0);
        ck_assert(fzd_stun_check_integrity(&m, key, sizeof(key)));
        ck_assert_int_eq(fzd_stun_long_term_key(user, "example.org", "TheMatrix", key), 0);
        ck_assert(!fzd_stun_check_integrity(&m, key, sizeof(key)));
}
END_TEST

/* Every single-bit flip up to the FINGERPRINT attribute is refused by the parser or fails
 * integrity; one in the FINGERPRINT value is refused by the parser. (A flip in FINGERPRINT's
 * type makes it an unknown attribute after MESSAGE-INTEGRITY, which RFC 8489 says to ignore.) */
START_TEST(test_bit_flips_detected) {
        uint8_t buf[sizeof(sample_request)];
        const size_t fp_value = sizeof(buf) - 4;

        for (size_t i = fp_value * 8; i < sizeof(buf) * 8; i++) {
                FzdStunMsg m;
                memcpy(buf, sample_request, sizeof(buf));
                buf[i / 8] ^= (uint8_t)(1u << (i % 8));
                ck_assert_int_lt(fzd_stun_parse(buf, sizeof(buf), &m), 0);
        }
        for (size_t i = 0; i < (fp_value - 4) * 8; i++) {
                FzdStunMsg m;
                memcpy(buf, sample_request, sizeof(buf));
                buf[i / 8] ^= (uint8_t)(1u << (i % 8));
                if (fzd_stun_parse(buf, sizeof(buf), &m) < 0)
                        continue;
                ck_assert_msg(!fzd_stun_check_integrity(&m, (const uint8_t *)short_term_pwd,
                                                        strlen(short_term_pwd)),
                              "bit %zu flipped and still verified", i);
        }
}
END_TEST

START_TEST(test_malformed_refused) {
        uint8_t buf[64];
        FzdStunMsg m;
        FzdStunBuilder b;
        uint8_t txid[12] = {1};
        int n;

        /* Truncated, wrong cookie, length not matching, top bits set. */
        ck_assert_int_lt(fzd_stun_parse(sample_request, 19, &m), 0);
        memcpy(buf, sample_response_v4, 20);
        buf[4] = 0;
        ck_assert_int_lt(fzd_stun_parse(buf, 20, &m), 0);
        ck_assert_int_lt(fzd_stun_parse(sample_request, sizeof(sample_request) - 4, &m), 0);
        memcpy(buf, sample_response_v4, 20);
        buf[0] |= 0x80;
        ck_assert_int_lt(fzd_stun_parse(buf, 20, &m), 0);

        /* An attribute running past the end. */
        fzd_stun_begin(&b, buf, sizeof(buf), FZD_STUN_BINDING, FZD_STUN_REQUEST, txid);
        fzd_stun_put_u32(&b, FZD_STUN_ATTR_PRIORITY, 1);
        n = fzd_stun_finish(&b);
        ck_assert_int_eq(n, 28);
        buf[23] = 8; /* PRIORITY says 8 bytes */
        ck_assert_int_lt(fzd_stun_parse(buf, (size_t)n, &m), 0);

        /* Something after FINGERPRINT. */
        fzd_stun_begin(&b, buf, sizeof(buf), FZD_STUN_BINDING, FZD_STUN_REQUEST, txid);
        fzd_stun_put_fingerprint(&b);
        fzd_stun_put_u32(&b, FZD_STUN_ATTR_PRIORITY, 1);
        n = fzd_stun_finish(&b);
        ck_assert_int_lt(fzd_stun_parse(buf, (size_t)n, &m), 0);

        /* A wrong FINGERPRINT. */
        fzd_stun_begin(&b, buf, sizeof(buf), FZD_STUN_BINDING, FZD_STUN_REQUEST, txid);
        fzd_stun_put_fingerprint(&b);
        n = fzd_stun_finish(&b);
        ck_assert_int_eq(fzd_stun_parse(buf, (size_t)n, &m), 0);
        buf[n - 1] ^= 1;
        ck_assert_int_lt(fzd_stun_parse(buf, (size_t)n, &m), 0);
}
END_TEST

START_TEST(test_attribute_count_bounded) {
        uint8_t buf[4096];
        FzdStunBuilder b;
        uint8_t txid[12] = {2};
        FzdStunMsg m;
        int n;

        fzd_stun_begin(&b, buf, sizeof(buf), FZD_STUN_BINDING, FZD_STUN_REQUEST, txid);
        for (int i = 0; i < FZD_STUN_MAX_ATTRS; i++)
                fzd_stun_put_u32(&b, FZD_STUN_ATTR_PRIORITY, (uint32_t)i);
        n = fzd_stun_finish(&b);
        ck_assert_int_eq(fzd_stun_parse(buf, (size_t)n, &m), 0);
        fzd_stun_put_u32(&b, FZD_STUN_ATTR_PRIORITY, 99);
        n = fzd_stun_finish(&b);
        ck_assert_int_eq(fzd_stun_parse(buf, (size_t)n, &m), -EBADMSG);
}
END_TEST

START_TEST(test_unknown_and_after_integrity) {
        uint8_t buf[256];
        FzdStunBuilder b;
        uint8_t txid[12] = {3};
        FzdStunMsg m;
        int n;

        fzd_stun_begin(&b, buf, sizeof(buf), FZD_STUN_BINDING, FZD_STUN_REQUEST, txid);
        fzd_stun_put_u32(&b, 0x7777, 1); /* comprehension-required, unknown */
        fzd_stun_put_u32(&b, 0xC001, 1); /* comprehension-optional */
        fzd_stun_put_integrity(&b, (const uint8_t *)"k", 1);
        fzd_stun_put_u32(&b, FZD_STUN_ATTR_PRIORITY, 5); /* after MESSAGE-INTEGRITY: ignored */
        fzd_stun_put_fingerprint(&b);
        n = fzd_stun_finish(&b);
        ck_assert_int_gt(n, 0);
        ck_assert_int_eq(fzd_stun_parse(buf, (size_t)n, &m), 0);
        ck_assert_uint_eq(m.n_unknown, 1);
        ck_assert_uint_eq(m.unknown[0], 0x7777);
        ck_assert(!fzd_stun_has(&m, FZD_STUN_ATTR_PRIORITY));
        ck_assert(fzd_stun_check_integrity(&m, (const uint8_t *)"k", 1));
        ck_assert_int_ge(m.fingerprint, 0);
}
END_TEST

START_TEST(test_error_code_and_addresses) {
        uint8_t buf[256];
        FzdStunBuilder b;
        uint8_t txid[12];
        FzdStunMsg m;
        FzdAddr a, got;
        int code, n;
        const char *reason;
        size_t rlen;

        ck_assert_int_eq(fzd_stun_new_txid(txid), 0);
        ck_assert_int_eq(fzd_addr_parse("[2001:db8::5]:3478", &a), 0);
        fzd_stun_begin(&b, buf, sizeof(buf), FZD_STUN_ALLOCATE, FZD_STUN_ERROR, txid);
        fzd_stun_put_error(&b, 438, "Stale Nonce");
        fzd_stun_put_xor_addr(&b, FZD_STUN_ATTR_XOR_PEER_ADDRESS, &a);
        n = fzd_stun_finish(&b);
        ck_assert_int_eq(fzd_stun_parse(buf, (size_t)n, &m), 0);
        ck_assert_uint_eq(m.method, FZD_STUN_ALLOCATE);
        ck_assert_uint_eq(m.cls, FZD_STUN_ERROR);
        ck_assert_int_eq(fzd_stun_get_error(&m, &code, &reason, &rlen), 0);
        ck_assert_int_eq(code, 438);
        ck_assert_uint_eq(rlen, 11);
        ck_assert_int_eq(fzd_stun_get_xor_addr(&m, FZD_STUN_ATTR_XOR_PEER_ADDRESS, &got), 0);
        ck_assert(fzd_addr_eq(&a, &got));
        ck_assert_int_eq(fzd_stun_get_xor_addr(&m, FZD_STUN_ATTR_XOR_RELAYED_ADDRESS, &got), -ENOENT);
        /* The type encoding of every method and class round-trips. */
        for (uint16_t meth = 1; meth < 0x10; meth++)
                for (uint8_t cls = 0; cls < 4; cls++) {
                        fzd_stun_begin(&b, buf, sizeof(buf), meth, cls, txid);
                        n = fzd_stun_finish(&b);
                        ck_assert_int_eq(fzd_stun_parse(buf, (size_t)n, &m), 0);
                        ck_assert_uint_eq(m.method, meth);
                        ck_assert_uint_eq(m.cls, cls);
                }
}
END_TEST

START_TEST(test_builder_overflow) {
        uint8_t buf[30];
        FzdStunBuilder b;
        uint8_t txid[12] = {0};

        fzd_stun_begin(&b, buf, sizeof(buf), FZD_STUN_BINDING, FZD_STUN_REQUEST, txid);
        fzd_stun_put_u32(&b, FZD_STUN_ATTR_PRIORITY, 1);
        fzd_stun_put_u32(&b, FZD_STUN_ATTR_PRIORITY, 2);
        ck_assert_int_eq(fzd_stun_finish(&b), -ENOBUFS);
}
END_TEST

START_TEST(test_txids_random) {
        uint8_t a[12], b[12];

        ck_assert_int_eq(fzd_stun_new_txid(a), 0);
        ck_assert_int_eq(fzd_stun_new_txid(b), 0);
        ck_assert(memcmp(a, b, 12) != 0);
}
END_TEST

START_TEST(test_channel_data) {
        uint8_t buf[16] = {0x40, 0x00, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o', 0, 0, 0};
        uint16_t ch;
        const uint8_t *p;
        size_t n;

        /* Unpadded (what coturn sends) and padded (RFC 8656 §12.5 allows it) are both accepted. */
        ck_assert_int_eq(fzd_channel_data_parse(buf, 9, &ch, &p, &n), 0);
        ck_assert_uint_eq(ch, 0x4000);
        ck_assert_uint_eq(n, 5);
        ck_assert(memcmp(p, "hello", 5) == 0);
        ck_assert_int_eq(fzd_channel_data_parse(buf, 12, &ch, &p, &n), 0);
        ck_assert_uint_eq(n, 5);
        /* Short, over-padded, outside 0x4000-0x4FFF. */
        ck_assert_int_lt(fzd_channel_data_parse(buf, 8, &ch, &p, &n), 0);
        ck_assert_int_lt(fzd_channel_data_parse(buf, 13, &ch, &p, &n), 0);
        buf[0] = 0x50;
        ck_assert_int_lt(fzd_channel_data_parse(buf, 9, &ch, &p, &n), 0);
        buf[0] = 0x3f;
        ck_assert_int_lt(fzd_channel_data_parse(buf, 9, &ch, &p, &n), 0);
        fzd_channel_data_header(buf, 0x4fff, 1234);
        ck_assert(buf[0] == 0x4f && buf[1] == 0xff && buf[2] == 0x04 && buf[3] == 0xd2);
}
END_TEST

START_TEST(test_demux_order) {
        uint8_t cd[] = {0x40, 0x01, 0x00, 0x01, 0xaa};
        uint8_t wg_init[148] = {0x01, 0x00, 0x00, 0x00};
        uint8_t wg_data[32] = {0x04};

        ck_assert_int_eq(fzd_demux_classify(sample_response_v4, sizeof(sample_response_v4), true),
                         FZD_DEMUX_RELAY_STUN);
        ck_assert_int_eq(fzd_demux_classify(sample_request, sizeof(sample_request), false), FZD_DEMUX_STUN);
        ck_assert_int_eq(fzd_demux_classify(cd, sizeof(cd), true), FZD_DEMUX_RELAY_CHANNEL_DATA);
        /* ChannelData framing from a non-relay is WireGuard's business. */
        ck_assert_int_eq(fzd_demux_classify(cd, sizeof(cd), false), FZD_DEMUX_OTHER);
        /* WireGuard's handshake initiation starts with 1: not STUN (no cookie, wrong length). */
        ck_assert_int_eq(fzd_demux_classify(wg_init, sizeof(wg_init), true), FZD_DEMUX_OTHER);
        ck_assert_int_eq(fzd_demux_classify(wg_data, sizeof(wg_data), false), FZD_DEMUX_OTHER);
        ck_assert_int_eq(fzd_demux_classify(NULL, 0, false), FZD_DEMUX_OTHER);
}
END_TEST

START_TEST(test_addr) {
        FzdAddr a;
        char s[FZD_ADDR_STRLEN];

        ck_assert_int_eq(fzd_addr_parse("10.1.2.3:52625", &a), 0);
        ck_assert_str_eq(fzd_addr_format(&a, s), "10.1.2.3:52625");
        ck_assert(fzd_addr_is_private(&a));
        ck_assert_int_eq(fzd_addr_parse("[fd00::1]:1", &a), 0);
        ck_assert_str_eq(fzd_addr_format(&a, s), "[fd00::1]:1");
        ck_assert(fzd_addr_is_private(&a));
        ck_assert_int_eq(fzd_addr_parse("203.0.113.9:3478", &a), 0);
        ck_assert(!fzd_addr_is_private(&a));
        ck_assert_int_eq(fzd_addr_parse("100.64.0.1:1", &a), 0);
        ck_assert(fzd_addr_is_private(&a));
        ck_assert_int_lt(fzd_addr_parse("10.1.2.3", &a), 0);
        ck_assert_int_lt(fzd_addr_parse("10.1.2.3:65536", &a), 0);
        ck_assert_int_lt(fzd_addr_parse("[::1:5", &a), 0);
        ck_assert_int_lt(fzd_addr_parse("host:5", &a), 0);
}
END_TEST

static Suite *stun_suite(void) {
        Suite *s = suite_create("stun");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_rfc5769_request);
        tcase_add_test(tc, test_rfc5769_request_built);
        tcase_add_test(tc, test_rfc5769_responses);
        tcase_add_test(tc, test_rfc5769_long_term);
        tcase_add_test(tc, test_bit_flips_detected);
        tcase_add_test(tc, test_malformed_refused);
        tcase_add_test(tc, test_attribute_count_bounded);
        tcase_add_test(tc, test_unknown_and_after_integrity);
        tcase_add_test(tc, test_error_code_and_addresses);
        tcase_add_test(tc, test_builder_overflow);
        tcase_add_test(tc, test_txids_random);
        tcase_add_test(tc, test_channel_data);
        tcase_add_test(tc, test_demux_order);
        tcase_add_test(tc, test_addr);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(stun_suite)
