/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's small text and file helpers: UTF-8 safety (#18), the error table, the
 * bounded reader and the atomic writer. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "fileio.h"
#include "fz-check.h"
#include "macro.h"
#include "text.h"
#include "utf8.h"

START_TEST(test_utf8_validity) {
        ck_assert(fzd_utf8_is_valid("plain", 5));
        ck_assert(fzd_utf8_is_valid("\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e", 9)); /* é € 𝄞 */
        ck_assert(!fzd_utf8_is_valid("\xc3", 1));                               /* cut */
        ck_assert(!fzd_utf8_is_valid("\xc0\xaf", 2));                           /* overlong */
        ck_assert(!fzd_utf8_is_valid("\xed\xa0\x80", 3));                       /* surrogate */
        ck_assert(!fzd_utf8_is_valid("\xf4\x90\x80\x80", 4));                   /* > U+10FFFF */
        ck_assert(!fzd_utf8_is_valid("\x80", 1));
        /* Long ASCII (the fast paths: 32 and 8 bytes at a time) with one bad byte, or one
         * good multi-byte character, at every offset. */
        for (size_t at = 0; at < 100; at++) {
                char buf[128];

                memset(buf, 'a', sizeof buf);
                buf[at] = (char) 0xff;
                ck_assert_msg(!fzd_utf8_is_valid(buf, sizeof buf), "0xff at %zu", at);
                memset(buf, 'a', sizeof buf);
                memcpy(buf + at, "\xe2\x82\xac", 3);
                ck_assert_msg(fzd_utf8_is_valid(buf, sizeof buf), "euro sign at %zu", at);
                ck_assert_msg(!fzd_utf8_is_valid(buf, at + 2), "euro sign cut at %zu", at);
        }
        ck_assert(!fzd_text_is_clean("a\x01"));
        ck_assert(!fzd_text_is_clean("a\xc2\x85"));      /* C1 NEL */
        ck_assert(fzd_text_is_clean("a\xe2\x80\xae"));  /* RTL override: odd, not control */
}
END_TEST

/* The one-pass check agrees with the two it stands for (and refuses a NUL), for every byte
 * value at every offset of the eight-byte fast path, in ASCII and around multi-byte text. */
START_TEST(test_clean_utf8_is_both_checks) {
        static const char *const around[] = { "", "abcdefghijklmnopq", "\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e",
                                               "tab\there and there\t" };

        ck_assert(fzd_text_is_clean_utf8("", 0));
        ck_assert(fzd_text_is_clean_utf8("tab\tis fine, caf\xc3\xa9 too, nbsp\xc2\xa0", 30));
        ck_assert(!fzd_text_is_clean_utf8("nul\0inside", 11));
        ck_assert(!fzd_text_is_clean_utf8("0123456789abcdef\x7f", 17));
        ck_assert(!fzd_text_is_clean_utf8("0123456789abcdef\xc2\x9b", 18));
        for (size_t k = 0; k < ELEMENTSOF(around); k++)
                for (size_t at = 0; at < 20; at++)
                        for (unsigned c = 0; c < 256; c++) {
                                char buf[64];
                                size_t n = strlen(around[k]), len;
                                bool both;

                                memset(buf, 'x', at);
                                buf[at] = (char) c;
                                memcpy(buf + at + 1, around[k], n);
                                len = at + 1 + n;
                                buf[len] = '\0';
                                both = c != 0 && fzd_utf8_is_valid(buf, len) && fzd_text_is_clean(buf);
                                ck_assert_msg(fzd_text_is_clean_utf8(buf, len) == both, "byte %#x at %zu, text %zu", c,
                                              at, k);
                        }
}
END_TEST

/* Text checked as it arrives, in pieces cut anywhere (the WebSocket receiver's way), ends
 * with the verdict of checking it whole — for valid text of one- to four-byte characters and
 * for text with a bad byte anywhere, cut into pieces of every size. */
START_TEST(test_utf8_check_in_parts) {
        static const char *const texts[] = {
                "plain ascii text, long enough for a few pieces",
                "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 mixed \xf0\x9f\x98\x80\xf0\x9f\x98\x80",
                "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac",
                "bad \xff in the middle of \xc3\xa9 text",
                "overlong \xc0\xaf and more text after it",
                "surrogate \xed\xa0\x80 then text",
                "continuations \x80\x80\x80\x80\x80 in a row",
                "cut at the very end \xf0\x9f\x98",
                "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\x80",
        };

        for (size_t t = 0; t < ELEMENTSOF(texts); t++) {
                const char *s = texts[t];
                size_t len = strlen(s);
                bool whole = fzd_utf8_is_valid(s, len);

                for (size_t piece = 1; piece <= len; piece++) {
                        size_t checked = 0;
                        bool bad = false;

                        for (size_t have = piece; have < len && !bad; have += piece) {
                                size_t n = fzd_utf8_check_part(s + checked, have - checked);
                                ck_assert(n == SIZE_MAX || n <= have - checked);
                                if (n == SIZE_MAX)
                                        bad = true;
                                else
                                        checked += n;
                        }
                        ck_assert_msg((!bad && fzd_utf8_is_valid(s + checked, len - checked)) == whole,
                                      "text %zu in pieces of %zu", t, piece);
                        /* Little is held back: at most three bytes and the character before them. */
                        if (whole)
                                ck_assert_uint_ge(checked + 6 + piece, len);
                }
        }
}
END_TEST

/* Every cut of a string of multi-byte characters is valid and no longer than asked. */
START_TEST(test_sanitize_cuts_at_boundaries) {
        const char *s = "a\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e";
        char buf[32];

        for (size_t size = 1; size < sizeof buf; size++) {
                fzd_utf8_sanitize(s, false, buf, size);
                ck_assert_uint_lt(strlen(buf), size);
                ck_assert_msg(fzd_utf8_is_valid(buf, strlen(buf)), "size %zu", size);
                ck_assert_uint_eq(fzd_utf8_prefix(buf, strlen(buf)), strlen(buf));
        }
        fzd_utf8_sanitize("x\ny\x1b[0m\xff", false, buf, sizeof buf);
        ck_assert_str_eq(buf, "x\xef\xbf\xbdy\xef\xbf\xbd[0m\xef\xbf\xbd");
        fzd_utf8_sanitize("x\ny\tz", true, buf, sizeof buf);
        ck_assert_str_eq(buf, "x\ny\tz");
}
END_TEST

/* The logger's escaping: one line, valid UTF-8, at every buffer size. */
START_TEST(test_escape_is_one_valid_line) {
        const char *s = "\xc3\xa9\n<0>x\xff\x1b[2J\xc2\x9b\xe2\x82\xac";
        char buf[64];

        for (size_t size = 1; size < sizeof buf; size++) {
                fzd_text_escape(s, buf, size);
                ck_assert_uint_lt(strlen(buf), size);
                ck_assert(fzd_utf8_is_valid(buf, strlen(buf)));
                ck_assert_ptr_null(strchr(buf, '\n'));
        }
        fzd_text_escape(s, buf, sizeof buf);
        ck_assert_str_eq(buf, "\xc3\xa9\\n<0>x\\xff\\x1b[2J\\u009b\xe2\x82\xac");
}
END_TEST

START_TEST(test_error_text_is_always_valid) {
        char text[FZD_ERROR_TEXT_MAX], long_subject[1000];
        FzdError e = fzd_error_make(FZD_ERR_PORTAL_TLS_VERIFY, 0);

        for (size_t i = 0; i + 2 < sizeof long_subject; i += 2)
                memcpy(long_subject + i, "\xc3\xa9", 2);
        long_subject[sizeof long_subject - 2] = 0;
        fzd_error_set_subject(&e, long_subject);
        fzd_error_set_detail(&e, "bad\n<0>forged");
        ck_assert(fzd_utf8_is_valid(e.subject, strlen(e.subject)));
        fzd_error_format(&e, text, sizeof text);
        ck_assert(fzd_utf8_is_valid(text, strlen(text)));
        ck_assert_ptr_null(strchr(text, '\n'));
        for (size_t size = 1; size < 64; size++) {
                fzd_error_format(&e, text, size);
                ck_assert(fzd_utf8_is_valid(text, strlen(text)));
        }
        e = fzd_error_make(FZD_ERR_PORTAL_UNREACHABLE, ECONNREFUSED);
        fzd_error_set_subject(&e, "portal.example:443");
        e.retry_usec = 1500 * USEC_PER_MSEC;
        ck_assert_str_eq(fzd_error_format(&e, text, sizeof text),
                         "Could not reach the Firezone portal at portal.example:443: connection refused. Check your "
                         "network; retrying in 1.5 s.");
        e = FZD_ERROR_NULL;
        ck_assert_str_eq(fzd_error_format(&e, text, sizeof text), "");
}
END_TEST

START_TEST(test_bounded_reader) {
        char dir[] = "/tmp/fzd-fileio-XXXXXX", path[64], buf[8];
        _cleanup_(freep) char *all = NULL;
        size_t len = 99;
        int fd;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/f", dir);
        for (size_t size = 0; size <= 9; size++) {
                fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
                ck_assert_int_eq(write(fd, "123456789", size), (ssize_t) size);
                ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
                int r = fzd_read_fd_bounded(fd, buf, sizeof buf, &len);
                if (size <= sizeof buf) {
                        ck_assert_int_eq(r, 0);
                        ck_assert_uint_eq(len, size);
                } else
                        ck_assert_int_eq(r, -EFBIG);
                close(fd);
        }
        fd = open(path, O_RDONLY);
        ck_assert_int_eq(fzd_read_fd_alloc(fd, 100, &all, &len), 0);
        ck_assert_str_eq(all, "123456789");
        close(fd);
        unlink(path);
        rmdir(dir);
}
END_TEST

START_TEST(test_atomic_writer_never_follows_a_link) {
        char dir[] = "/tmp/fzd-fileio-XXXXXX", path[64], target[64], buf[16] = "";
        struct stat st;
        int fd;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/id", dir);
        snprintf(target, sizeof target, "%s/target", dir);
        fd = open(target, O_WRONLY | O_CREAT, 0600);
        close(fd);
        ck_assert_int_eq(symlink(target, path), 0);
        ck_assert_int_eq(fzd_write_file_atomic(dir, "id", "new\n", 4, 0644), 0);
        ck_assert_int_eq(lstat(path, &st), 0);
        ck_assert(S_ISREG(st.st_mode));
        ck_assert_uint_eq(st.st_mode & 07777, 0644);
        ck_assert_int_eq(stat(target, &st), 0);
        ck_assert_int_eq(st.st_size, 0); /* the link's target is untouched */
        fd = open(path, O_RDONLY);
        ck_assert_int_eq(read(fd, buf, sizeof buf), 4);
        close(fd);
        ck_assert_str_eq(buf, "new\n");
        unlink(path);
        unlink(target);
        rmdir(dir);
}
END_TEST

static Suite *text_suite(void) {
        Suite *s = suite_create("text");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_utf8_validity);
        tcase_add_test(tc, test_clean_utf8_is_both_checks);
        tcase_add_test(tc, test_utf8_check_in_parts);
        tcase_add_test(tc, test_sanitize_cuts_at_boundaries);
        tcase_add_test(tc, test_escape_is_one_valid_line);
        tcase_add_test(tc, test_error_text_is_always_valid);
        tcase_add_test(tc, test_bounded_reader);
        tcase_add_test(tc, test_atomic_writer_never_follows_a_link);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(text_suite)
