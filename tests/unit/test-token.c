/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fz-check.h"
#include "secret.h"
#include "token.h"

START_TEST(test_check) {
        static const struct {
                const char *s;
                bool ok;
        } cases[] = {
                { "SFMyNTY.g2gDaANtAAAAJGFi_-", true }, { "", false },         { "a b", false },
                { "a\nb", false },                       { "a\tb", false },     { "a\x7f", false },
                { "\xc3\xa9t\xc3\xa9", false },          { "~!@#$%^&*()", true },
        };
        const char *reason;
        char big[FZD_TOKEN_MAX + 2];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                ck_assert_msg((fzd_token_check(cases[i].s, strlen(cases[i].s), &reason) == 0) == cases[i].ok, "case %zu",
                              i);
        memset(big, 'a', sizeof big);
        ck_assert_int_eq(fzd_token_check(big, FZD_TOKEN_MAX, &reason), 0);
        ck_assert_int_eq(fzd_token_check(big, FZD_TOKEN_MAX + 1, &reason), -EINVAL);
        ck_assert_ptr_nonnull(strstr(reason, "4096"));
        /* An embedded NUL is not a token character. */
        ck_assert_int_eq(fzd_token_check("ab\0cd", 5, &reason), -EINVAL);
}
END_TEST


START_TEST(test_env_is_taken_and_wiped) {
        /* Build an environment like the kernel's: strings in one writable block. */
        static char block[] = "A=1\0FIREZONE_TOKEN=tok-123\0B=2\0FIREZONE_TOKEN=dup-456\0";
        static char *env[] = { block, block + 4, block + 27, block + 31, NULL };
        FzdSecret *s = NULL;

        environ = env;
        ck_assert_int_eq(fzd_token_take_from_env(&s), 1);
        ck_assert_str_eq(fzd_secret_get(s), "tok-123");
        ck_assert_uint_eq(fzd_secret_len(s), 7);
        fzd_secret_free(s);

        ck_assert_ptr_null(getenv("FIREZONE_TOKEN"));
        ck_assert_str_eq(getenv("A"), "1");
        ck_assert_str_eq(getenv("B"), "2");
        /* No trace of either value is left in the block. */
        ck_assert_ptr_null(memmem(block, sizeof block, "tok-123", 7));
        ck_assert_ptr_null(memmem(block, sizeof block, "dup-456", 7));
        ck_assert_ptr_null(memmem(block, sizeof block, "FIREZONE_TOKEN", 14));
}
END_TEST

START_TEST(test_env_absent_or_bad) {
        static char b1[] = "A=1";
        static char *env1[] = { b1, NULL };
        static char b2[] = "FIREZONE_TOKEN=has space";
        static char *env2[] = { b2, NULL };
        static char b3[] = "FIREZONE_TOKEN=";
        static char *env3[] = { b3, NULL };
        FzdSecret *s = (FzdSecret *) 1;

        environ = env1;
        ck_assert_int_eq(fzd_token_take_from_env(&s), 0);
        ck_assert_ptr_null(s);
        environ = env2;
        ck_assert_int_eq(fzd_token_take_from_env(&s), -EINVAL);
        ck_assert_ptr_null(s);
        ck_assert_ptr_null(getenv("FIREZONE_TOKEN")); /* erased even when unusable */
        ck_assert_ptr_null(memmem(b2, sizeof b2, "space", 5));
        environ = env3;
        ck_assert_int_eq(fzd_token_take_from_env(&s), 0);
}
END_TEST

static char dir[] = "/tmp/fz-token-test-XXXXXX";

static const char *path_in_dir(const char *name) {
        static char p[256];
        snprintf(p, sizeof p, "%s/%s", dir, name);
        return p;
}

static void write_file(const char *path, const char *content, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t) strlen(content));
        close(fd);
        ck_assert_int_eq(chmod(path, mode), 0);
}

START_TEST(test_file) {
        FzdSecret *s = NULL;
        const char *p;

        ck_assert_ptr_nonnull(mkdtemp(dir));

        ck_assert_int_eq(fzd_token_read_file(path_in_dir("missing"), &s), 0);

        p = path_in_dir("token");
        write_file(p, "tok-file-1\n", 0600);
        if (geteuid() == 0) {
                ck_assert_int_eq(fzd_token_read_file(p, &s), 1);
                ck_assert_str_eq(fzd_secret_get(s), "tok-file-1");
                s = fzd_secret_free(s);

                write_file(p, "tok-file-1", 0640);
                ck_assert_int_eq(fzd_token_read_file(p, &s), -EPERM);
                write_file(p, "tok-file-1", 0604);
                ck_assert_int_eq(fzd_token_read_file(p, &s), -EPERM);
                write_file(p, "", 0600);
                ck_assert_int_eq(fzd_token_read_file(p, &s), -EINVAL);
                ck_assert_int_eq(chown(p, 65534, 65534), 0);
                ck_assert_int_eq(fzd_token_read_file(p, &s), -EPERM);
        } else
                /* Not root: the file is ours, not root's, which must be refused. */
                ck_assert_int_eq(fzd_token_read_file(p, &s), -EPERM);
        ck_assert_ptr_null(s);

        ck_assert_int_eq(symlink(p, path_in_dir("link")), 0);
        ck_assert_int_eq(fzd_token_read_file(path_in_dir("link"), &s), -EPERM);
        ck_assert_int_eq(mkdir(path_in_dir("dir"), 0700), 0);
        ck_assert_int_eq(fzd_token_read_file(path_in_dir("dir"), &s), -EPERM);
        ck_assert_int_eq(mkfifo(path_in_dir("fifo"), 0600), 0);
        ck_assert_int_eq(fzd_token_read_file(path_in_dir("fifo"), &s), -EPERM); /* and no hang */

        unlink(path_in_dir("fifo"));
        rmdir(path_in_dir("dir"));
        unlink(path_in_dir("link"));
        unlink(p);
        rmdir(dir);
}
END_TEST

START_TEST(test_secret) {
        FzdSecret *a = NULL, *b = NULL;

        ck_assert_int_eq(fzd_secret_new("abcdef", 3, &a), 0);
        ck_assert_str_eq(fzd_secret_get(a), "abc");
        ck_assert_uint_eq(fzd_secret_len(a), 3);
        ck_assert_int_eq(fzd_secret_dup(a, &b), 0);
        ck_assert_ptr_ne(fzd_secret_get(a), fzd_secret_get(b));
        ck_assert_str_eq(fzd_secret_get(b), "abc");
        ck_assert_ptr_null(fzd_secret_free(a));
        ck_assert_ptr_null(fzd_secret_free(b));
        ck_assert_ptr_null(fzd_secret_free(NULL));
        ck_assert_int_eq(fzd_secret_new("x", 2 * 1024 * 1024, &a), -E2BIG);
}
END_TEST

static Suite *token_suite(void) {
        Suite *s = suite_create("token");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_check);
        tcase_add_test(tc, test_env_is_taken_and_wiped);
        tcase_add_test(tc, test_env_absent_or_bad);
        tcase_add_test(tc, test_file);
        tcase_add_test(tc, test_secret);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(token_suite)
