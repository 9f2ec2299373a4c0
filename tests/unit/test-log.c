/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fz-check.h"
#include "log.h"
#include "text.h"

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

/* Under systemd (JOURNAL_STREAM names stderr), as the journal reads it: each line its
 * own entry, with the level in its "<N>" prefix. */
static char *capture_journal_stream(const char *msg) {
        static char buf[8192];
        char env[64];
        struct stat st;
        FILE *f = tmpfile();
        int saved = dup(STDERR_FILENO);
        size_t n;

        ck_assert_ptr_nonnull(f);
        dup2(fileno(f), STDERR_FILENO);
        ck_assert_int_eq(fstat(STDERR_FILENO, &st), 0);
        snprintf(env, sizeof env, "%llu:%llu", (unsigned long long) st.st_dev, (unsigned long long) st.st_ino);
        setenv("JOURNAL_STREAM", env, 1);
        fzd_log_open();
        log_warning("The portal refused this client (%s).", msg);
        fflush(stderr);
        dup2(saved, STDERR_FILENO);
        close(saved);
        unsetenv("JOURNAL_STREAM");
        fzd_log_open();
        rewind(f);
        n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = 0;
        fclose(f);
        return buf;
}

START_TEST(test_hostile_text_cannot_forge_lines) {
        char *out;

        fzd_log_set_max_level(LOG_INFO);
        /* A portal's refusal reason that tries to add an emergency-level journal entry. */
        out = capture_journal_stream("bye\n<0>Emergency: forged\r\n<3>also forged");
        ck_assert_str_eq(out, "<4>The portal refused this client (bye\\n<0>Emergency: forged\\r\\n<3>also "
                              "forged).\n");
        /* Terminal escapes: ESC (C0), DEL, and CSI as C1 in UTF-8; other UTF-8 stays. */
        out = capture_journal_stream("\x1b[2J\x7f\xc2\x9b" "31m caf\xc3\xa9 \xe2\x80\x94");
        ck_assert_str_eq(out, "<4>The portal refused this client (\\x1b[2J\\x7f\\u009b31m caf\xc3\xa9 "
                              "\xe2\x80\x94).\n");
}
END_TEST

START_TEST(test_escape_cuts_before_an_escape) {
        char buf[5];

        ck_assert_uint_eq(fzd_text_escape("ab\ncd", buf, sizeof buf), 4);
        ck_assert_str_eq(buf, "ab\\n");
        ck_assert_uint_eq(fzd_text_escape("abcd\x01", buf, sizeof buf), 4);
        ck_assert_str_eq(buf, "abcd");
        ck_assert(fzd_text_is_clean("tab\tis fine, caf\xc3\xa9 too"));
        ck_assert(!fzd_text_is_clean("new\nline"));
        ck_assert(!fzd_text_is_clean("del\x7f"));
        ck_assert(!fzd_text_is_clean("csi\xc2\x9b"));
        ck_assert(fzd_text_is_clean("nbsp\xc2\xa0"));
}
END_TEST

static Suite *log_suite(void) {
        Suite *s = suite_create("log");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_levels_roundtrip);
        tcase_add_test(tc, test_errno_returned_and_printed);
        tcase_add_test(tc, test_filtered_by_level);
        tcase_add_test(tc, test_hostile_text_cannot_forge_lines);
        tcase_add_test(tc, test_escape_cuts_before_an_escape);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(log_suite)
