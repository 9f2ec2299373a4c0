/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fz-check.h"
#include "log.h"

/* Capture what the logger writes to stderr. */
static char *capture(int level, int error, const char *msg, int *ret) {
        static char buf[4096];
        FILE *f = tmpfile();
        int saved = dup(STDERR_FILENO);
        size_t n;

        ck_assert_ptr_nonnull(f);
        dup2(fileno(f), STDERR_FILENO);
        *ret = log_full_errno(level, error, "%s: %m", msg);
        fflush(stderr);
        dup2(saved, STDERR_FILENO);
        close(saved);
        rewind(f);
        n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = 0;
        fclose(f);
        return buf;
}

START_TEST(test_levels_roundtrip) {
        static const char *const names[] = { "error", "warning", "notice", "info", "debug" };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                ck_assert_str_eq(fzd_log_level_to_string(fzd_log_level_from_string(names[i])), names[i]);
        ck_assert_int_eq(fzd_log_level_from_string("err"), LOG_ERR);
        ck_assert_int_eq(fzd_log_level_from_string("verbose"), -EINVAL);
        ck_assert_int_eq(fzd_log_level_from_string(NULL), -EINVAL);
}
END_TEST

START_TEST(test_errno_returned_and_printed) {
        int r;
        char *out;

        unsetenv("JOURNAL_STREAM");
        fzd_log_open();
        fzd_log_set_max_level(LOG_INFO);
        errno = 0;
        out = capture(LOG_ERR, ENOENT, "Failed to open", &r);
        ck_assert_int_eq(r, -ENOENT);
        ck_assert_ptr_nonnull(strstr(out, "Failed to open: No such file or directory"));
        ck_assert_ptr_nonnull(strstr(out, "[error]"));
        ck_assert_int_eq(errno, 0); /* logging leaves errno alone */

        /* negative errors are accepted too */
        out = capture(LOG_ERR, -EACCES, "x", &r);
        ck_assert_int_eq(r, -EACCES);
}
END_TEST

START_TEST(test_filtered_by_level) {
        int r;
        char *out;

        unsetenv("JOURNAL_STREAM");
        fzd_log_open();
        fzd_log_set_max_level(LOG_WARNING);
        out = capture(LOG_INFO, EIO, "quiet", &r);
        ck_assert_int_eq(r, -EIO); /* the error is still returned */
        ck_assert_str_eq(out, "");
}
END_TEST

static Suite *log_suite(void) {
        Suite *s = suite_create("log");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_levels_roundtrip);
        tcase_add_test(tc, test_errno_returned_and_printed);
        tcase_add_test(tc, test_filtered_by_level);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(log_suite)
