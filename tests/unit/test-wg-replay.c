/* SPDX-License-Identifier: Apache-2.0 */
/* The replay window against the kernel's counter selftest sequence (as wireguard-go's
 * replay_test.go ports it, "ported from the linux kernel implementation"): the window's
 * edges, wrap-around of the ring, the message limit, and six bulk runs. */
#include "fz-check.h"
#include "wg-replay.h"

#define REJECT_AFTER_MESSAGES (UINT64_MAX - (UINT64_C(1) << 13))
#define WINDOW                FZD_WG_REPLAY_WINDOW
#define T_LIM                 (WINDOW + 1)

static FzdWgReplay f;
static unsigned test_number;

static void T(uint64_t n, bool expected) {
        test_number++;
        ck_assert_msg(fzd_wg_replay_check_and_set(&f, n, REJECT_AFTER_MESSAGES) == expected,
                      "test %u: counter %llu should be %s", test_number, (unsigned long long) n,
                      expected ? "accepted" : "rejected");
}

START_TEST(test_window_is_the_kernels) {
        ck_assert_uint_eq(WINDOW, 8128);
        ck_assert_uint_eq(sizeof f.ring * 8, 8192);
}
END_TEST

START_TEST(test_kernel_sequence) {
        fzd_wg_replay_reset(&f);
        test_number = 0;
        T(0, true);
        T(1, true);
        T(1, false);
        T(9, true);
        T(8, true);
        T(7, true);
        T(7, false);
        T(T_LIM, true);
        T(T_LIM - 1, true);
        T(T_LIM - 1, false);
        T(T_LIM - 2, true);
        T(2, true);
        T(2, false);
        T(T_LIM + 16, true);
        T(3, false);
        T(T_LIM + 16, false);
        T(T_LIM * 4, true);
        T(T_LIM * 4 - (T_LIM - 1), true);
        T(10, false);
        T(T_LIM * 4 - T_LIM, false);
        T(T_LIM * 4 - (T_LIM + 1), false);
        T(T_LIM * 4 - (T_LIM - 2), true);
        T(T_LIM * 4 + 1 - T_LIM, false);
        T(0, false);
        T(REJECT_AFTER_MESSAGES, false);
        T(REJECT_AFTER_MESSAGES - 1, true);
        T(REJECT_AFTER_MESSAGES, false);
        T(REJECT_AFTER_MESSAGES - 1, false);
        T(REJECT_AFTER_MESSAGES - 2, true);
        T(REJECT_AFTER_MESSAGES + 1, false);
        T(REJECT_AFTER_MESSAGES + 2, false);
        T(REJECT_AFTER_MESSAGES - 2, false);
        T(REJECT_AFTER_MESSAGES - 3, true);
        T(0, false);
}
END_TEST

START_TEST(test_bulk) {
        /* 1: ascending within the window, then the oldest. */
        fzd_wg_replay_reset(&f);
        for (uint64_t i = 1; i <= WINDOW; i++)
                T(i, true);
        T(0, true);
        T(0, false);

        /* 2: one past: 0 falls out. */
        fzd_wg_replay_reset(&f);
        for (uint64_t i = 2; i <= WINDOW + 1; i++)
                T(i, true);
        T(1, true);
        T(0, false);

        /* 3: descending. */
        fzd_wg_replay_reset(&f);
        for (uint64_t i = WINDOW + 1; i > 0; i--)
                T(i, true);

        /* 4 */
        fzd_wg_replay_reset(&f);
        for (uint64_t i = WINDOW + 2; i > 1; i--)
                T(i, true);
        T(0, false);

        /* 5 */
        fzd_wg_replay_reset(&f);
        for (uint64_t i = WINDOW; i > 0; i--)
                T(i, true);
        T(WINDOW + 1, true);
        T(0, false);

        /* 6 */
        fzd_wg_replay_reset(&f);
        for (uint64_t i = WINDOW; i > 0; i--)
                T(i, true);
        T(0, true);
        T(WINDOW + 1, true);
}
END_TEST

/* A jump far ahead clears the whole ring: nothing old may survive as "seen". */
START_TEST(test_far_jump) {
        fzd_wg_replay_reset(&f);
        for (uint64_t i = 0; i < 500; i++)
                T(i, true);
        T(1000000, true);
        T(1000000 - WINDOW, true);
        T(1000000 - WINDOW - 1, false);
        T(1000000 - 64, true);
        T(1000000 - 64, false);
        T(999, false);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("wg-replay");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_window_is_the_kernels);
        tcase_add_test(tc, test_kernel_sequence);
        tcase_add_test(tc, test_bulk);
        tcase_add_test(tc, test_far_jump);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(suite)
