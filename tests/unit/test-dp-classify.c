/* SPDX-License-Identifier: Apache-2.0 */
/* Demultiplexing of the shared UDP socket in DESIGN §7.3's order. */
#include "dp-classify.h"
#include "fz-check.h"
#include "wg-messages.h"

static bool bound_4001(const void *userdata, uint16_t channel) {
        return channel == 0x4001;
}

static const FzdDpRelayView relay = { .from_relay = true, .channel_bound = bound_4001 };
static const FzdDpRelayView other = { .from_relay = false, .channel_bound = bound_4001 };

static size_t stun(uint8_t *p, uint16_t type) {
        memset(p, 0, 20);
        p[0] = (uint8_t) (type >> 8);
        p[1] = (uint8_t) type;
        p[4] = 0x21;
        p[5] = 0x12;
        p[6] = 0xa4;
        p[7] = 0x42;
        return 20;
}

static size_t wg_data(uint8_t *p, size_t len) {
        memset(p, 0, len);
        p[0] = 4;
        return len;
}

static size_t channel(uint8_t *p, uint16_t ch, const uint8_t *inner, size_t len) {
        p[0] = (uint8_t) (ch >> 8);
        p[1] = (uint8_t) ch;
        p[2] = (uint8_t) (len >> 8);
        p[3] = (uint8_t) len;
        memcpy(p + 4, inner, len);
        return 4 + len;
}

START_TEST(test_wireguard) {
        uint8_t p[200] = {};
        FzdDpClassified c;

        c = fzd_dp_classify(p, wg_data(p, 32), &other);
        ck_assert_int_eq(c.class, FZD_DP_WG_DATA);
        ck_assert_uint_eq(c.offset, 0);
        ck_assert_uint_eq(c.len, 32);
        ck_assert_int_eq(fzd_dp_classify(p, 31, &other).class, FZD_DP_DROP); /* shorter than a keepalive */
        p[1] = 1; /* reserved bytes must be zero */
        ck_assert_int_eq(fzd_dp_classify(p, 32, &other).class, FZD_DP_DROP);

        memset(p, 0, sizeof p);
        p[0] = 1;
        ck_assert_int_eq(fzd_dp_classify(p, FZD_WG_INITIATION_LEN, &other).class, FZD_DP_WG_HANDSHAKE);
        ck_assert_int_eq(fzd_dp_classify(p, FZD_WG_INITIATION_LEN + 1, &other).class, FZD_DP_DROP);
        p[0] = 2;
        ck_assert_int_eq(fzd_dp_classify(p, FZD_WG_RESPONSE_LEN, &other).class, FZD_DP_WG_HANDSHAKE);
        p[0] = 3;
        ck_assert_int_eq(fzd_dp_classify(p, FZD_WG_COOKIE_REPLY_LEN, &other).class, FZD_DP_WG_HANDSHAKE);
        p[0] = 5;
        ck_assert_int_eq(fzd_dp_classify(p, 64, &other).class, FZD_DP_DROP);
        ck_assert_int_eq(fzd_dp_classify(p, 0, &other).class, FZD_DP_DROP);
        /* No relay view at all: the same. */
        p[0] = 4;
        ck_assert_int_eq(fzd_dp_classify(p, 48, NULL).class, FZD_DP_WG_DATA);
}
END_TEST

START_TEST(test_stun) {
        uint8_t p[64];
        size_t n = stun(p, 0x0001);

        /* Binding request from a peer: ICE. From a relay: TURN. */
        ck_assert_int_eq(fzd_dp_classify(p, n, &other).class, FZD_DP_STUN);
        ck_assert_int_eq(fzd_dp_classify(p, n, &relay).class, FZD_DP_TURN);
        /* A relay's first byte 0–3 is TURN even without the magic cookie. */
        p[4] = 0;
        ck_assert_int_eq(fzd_dp_classify(p, n, &relay).class, FZD_DP_TURN);
        /* ... but from anyone else it is no STUN (and no WireGuard either). */
        ck_assert_int_eq(fzd_dp_classify(p, n, &other).class, FZD_DP_DROP);
        /* Too short for a STUN header. */
        n = stun(p, 0x0101);
        ck_assert_int_eq(fzd_dp_classify(p, 19, &other).class, FZD_DP_DROP);
}
END_TEST

START_TEST(test_channel_data) {
        uint8_t inner[64], p[128], s[32];
        FzdDpClassified c;
        size_t n;

        wg_data(inner, 48);
        n = channel(p, 0x4001, inner, 48);
        c = fzd_dp_classify(p, n, &relay);
        ck_assert_int_eq(c.class, FZD_DP_WG_DATA);
        ck_assert_uint_eq(c.offset, 4);
        ck_assert_uint_eq(c.len, 48);
        ck_assert_uint_eq(c.channel, 0x4001);
        /* Padding after the payload (allowed over UDP) is ignored. */
        c = fzd_dp_classify(p, n + 3, &relay);
        ck_assert_int_eq(c.class, FZD_DP_WG_DATA);
        ck_assert_uint_eq(c.len, 48);
        /* A length past the datagram: dropped. */
        ck_assert_int_eq(fzd_dp_classify(p, n - 1, &relay).class, FZD_DP_DROP);
        ck_assert_int_eq(fzd_dp_classify(p, 3, &relay).class, FZD_DP_DROP);
        /* An unbound channel: to the control side. */
        n = channel(p, 0x4002, inner, 48);
        c = fzd_dp_classify(p, n, &relay);
        ck_assert_int_eq(c.class, FZD_DP_CHANNEL_UNKNOWN);
        ck_assert_uint_eq(c.channel, 0x4002);
        /* ChannelData-looking bytes from someone who is not a relay: not ours. */
        ck_assert_int_eq(fzd_dp_classify(p, n, &other).class, FZD_DP_DROP);
        /* STUN through the channel (ICE checks over the relay). */
        n = channel(p, 0x4001, s, stun(s, 0x0001));
        c = fzd_dp_classify(p, n, &relay);
        ck_assert_int_eq(c.class, FZD_DP_STUN);
        ck_assert_uint_eq(c.offset, 4);
        ck_assert_uint_eq(c.channel, 0x4001);
        /* A WireGuard handshake through the channel. */
        memset(inner, 0, sizeof inner);
        inner[0] = 3;
        n = channel(p, 0x4001, inner, FZD_WG_COOKIE_REPLY_LEN);
        ck_assert_int_eq(fzd_dp_classify(p, n, &relay).class, FZD_DP_WG_HANDSHAKE);
        /* First bytes 80+ from a relay are neither: WireGuard rules apply (and drop it). */
        p[0] = 0x50;
        ck_assert_int_eq(fzd_dp_classify(p, n, &relay).class, FZD_DP_DROP);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("dp-classify");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_wireguard);
        tcase_add_test(tc, test_stun);
        tcase_add_test(tc, test_channel_data);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(suite)
