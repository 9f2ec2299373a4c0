/* SPDX-License-Identifier: Apache-2.0 */
/* Reading a sign-in token from a pipe or a file: good input, and every kind of bad input. */
#include <check.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fz-check.h"
#include "fzctl-token.h"

/* Runs the reader over @len bytes of @data through a pipe (written by a child-free
 * helper: the data fits the pipe buffer). */
static gboolean read_through_pipe(const char *data, size_t len, FzctlSecret *s, GError **error) {
        int p[2];
        gboolean ok;

        ck_assert_int_eq(pipe(p), 0);
        ck_assert_int_eq(fcntl(p[1], F_SETPIPE_SZ, 1 << 16) > 0, 1);
        ck_assert_int_eq(write(p[1], data, len), (ssize_t)len);
        close(p[1]);
        ok = fzctl_token_read_fd(p[0], "the test", s, error);
        close(p[0]);
        return ok;
}

START_TEST(test_plain_and_trimmed) {
        static const char *inputs[] = {"tok.en-1", "tok.en-1\n", "tok.en-1\r\n", "  tok.en-1 \n\n"};

        for (size_t i = 0; i < G_N_ELEMENTS(inputs); i++) {
                g_autoptr(FzctlSecret) s = fzctl_secret_new();
                g_autoptr(GError) error = NULL;

                ck_assert_msg(read_through_pipe(inputs[i], strlen(inputs[i]), s, &error), "%s",
                              error ? error->message : "");
                ck_assert_str_eq(s->data, "tok.en-1");
                ck_assert_uint_eq(s->len, 8);
                /* Nothing of the input is left after the token. */
                for (size_t j = s->len; j < s->size; j++)
                        ck_assert_int_eq(s->data[j], 0);
        }
}
END_TEST

START_TEST(test_limit) {
        g_autoptr(FzctlSecret) ok = fzctl_secret_new();
        g_autoptr(FzctlSecret) over = fzctl_secret_new();
        g_autoptr(FzctlSecret) huge = fzctl_secret_new();
        g_autoptr(GError) e1 = NULL, e2 = NULL;
        g_autofree char *at = g_strnfill(FZCTL_TOKEN_MAX, 'a');
        g_autofree char *above = g_strnfill(FZCTL_TOKEN_MAX + 1, 'a');
        g_autofree char *lots = g_strnfill(60000, 'a');

        ck_assert(read_through_pipe(at, strlen(at), ok, NULL));
        ck_assert_uint_eq(ok->len, FZCTL_TOKEN_MAX);
        ck_assert(!read_through_pipe(above, strlen(above), over, &e1));
        ck_assert(g_error_matches(e1, G_IO_ERROR, G_IO_ERROR_INVALID_DATA));
        ck_assert_ptr_nonnull(strstr(e1->message, "longer than 4096 bytes"));
        ck_assert(!read_through_pipe(lots, strlen(lots), huge, &e2));
        ck_assert_ptr_nonnull(strstr(e2->message, "longer than 4096 bytes"));
}
END_TEST

START_TEST(test_bad_input) {
        static const struct {
                const char *data;
                size_t len;
                const char *why;
        } table[] = {
                {"", 0, "No token on the test"},      {" \n\t\r\n", 5, "No token on the test"},
                {"two\nlines\n", 10, "not one line"}, {"nul\0inside", 10, "not one line"},
                {"esc\033[0m", 8, "not one line"},    {"del\177", 4, "not one line"},
        };

        for (size_t i = 0; i < G_N_ELEMENTS(table); i++) {
                g_autoptr(FzctlSecret) s = fzctl_secret_new();
                g_autoptr(GError) error = NULL;

                ck_assert_msg(!read_through_pipe(table[i].data, table[i].len, s, &error), "case %zu", i);
                ck_assert(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA));
                ck_assert_msg(strstr(error->message, table[i].why) != NULL, "%s", error->message);
                /* The message never repeats the input. */
                ck_assert_ptr_null(strstr(error->message, "lines"));
        }
}
END_TEST

START_TEST(test_file) {
        g_autoptr(FzctlSecret) s = fzctl_secret_new();
        g_autoptr(GError) error = NULL, missing = NULL;
        g_autofree char *path = NULL;
        int fd = g_file_open_tmp("fzctl-token-XXXXXX", &path, NULL);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, "from-a-file\n", 12), 12);
        close(fd);
        ck_assert(fzctl_token_read_file(path, s, &error));
        ck_assert_str_eq(s->data, "from-a-file");
        unlink(path);
        ck_assert(!fzctl_token_read_file(path, s, &missing));
        ck_assert(g_error_matches(missing, G_IO_ERROR, G_IO_ERROR_NOT_FOUND));
        ck_assert_ptr_nonnull(strstr(missing->message, path));
}
END_TEST

START_TEST(test_free_accepts_null) {
        fzctl_secret_free(NULL);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("fzctl-token");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_plain_and_trimmed);
        tcase_add_test(tc, test_limit);
        tcase_add_test(tc, test_bad_input);
        tcase_add_test(tc, test_file);
        tcase_add_test(tc, test_free_accepts_null);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(suite)
