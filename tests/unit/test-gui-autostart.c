/* SPDX-License-Identifier: Apache-2.0 */
/* firezone-gui --register-auto-start / --unregister-auto-start: the per-user autostart
 * file, in a temporary XDG_CONFIG_HOME. */
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fz-autostart.h"
#include "fz-check.h"

static gchar *config_home;
static pid_t main_pid;

static void rm_rf(const gchar *path);

/* Check runs each test in a child: only the parent removes the directory, at the end. */
static void cleanup(void) {
        if (getpid() == main_pid)
                rm_rf(config_home);
}

static void setup(void) {
        /* Before anything asks GLib for the config dir (it is read once). */
        config_home = g_dir_make_tmp("fz-autostart-XXXXXX", NULL);
        g_setenv("XDG_CONFIG_HOME", config_home, TRUE);
        main_pid = getpid();
        atexit(cleanup);
}

static void rm_rf(const gchar *path) {
        g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
        const gchar *name;

        while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
                g_autofree gchar *child = g_build_filename(path, name, NULL);
                if (g_file_test(child, G_FILE_TEST_IS_DIR) && !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
                        rm_rf(child);
                else
                        g_unlink(child);
        }
        g_rmdir(path);
}

START_TEST(test_register_unregister) {
        g_autofree gchar *path = fz_autostart_path();
        g_autofree gchar *expected =
                g_build_filename(config_home, "autostart", "firezone-gui.desktop", NULL);
        g_autofree gchar *contents = NULL;
        g_autoptr(GError) error = NULL;
        struct stat st;

        ck_assert_str_eq(path, expected);
        ck_assert(!fz_autostart_is_registered());
        ck_assert(fz_autostart_register("[Desktop Entry]\nType=Application\nName=A\nExec=a\n", &error));
        ck_assert_ptr_null(error);
        ck_assert(fz_autostart_is_registered());
        ck_assert_int_eq(g_stat(path, &st), 0);
        ck_assert_uint_eq(st.st_mode & 0777, 0644);

        /* Again: replaced, not appended. */
        ck_assert(fz_autostart_register("[Desktop Entry]\nName=B\n", NULL));
        ck_assert(g_file_get_contents(path, &contents, NULL, NULL));
        ck_assert_str_eq(contents, "[Desktop Entry]\nName=B\n");

        ck_assert(fz_autostart_unregister(&error));
        ck_assert(!fz_autostart_is_registered());
        /* Twice is fine. */
        ck_assert(fz_autostart_unregister(&error));
        ck_assert_ptr_null(error);
}
END_TEST

START_TEST(test_errors_are_clear) {
        g_autofree gchar *dir = g_build_filename(config_home, "autostart", NULL);
        g_autofree gchar *path = fz_autostart_path();
        g_autoptr(GError) e1 = NULL, e2 = NULL;

        /* "autostart" is a file, not a directory: cannot create the entry. */
        rm_rf(dir);
        ck_assert(g_file_set_contents(dir, "x", -1, NULL));
        ck_assert(!fz_autostart_register("[Desktop Entry]\n", &e1));
        ck_assert_ptr_nonnull(e1);
        ck_assert_msg(strstr(e1->message, dir) != NULL, "%s", e1->message);
        g_unlink(dir);

        /* The entry is a directory: cannot remove it, and says which. */
        ck_assert_int_eq(g_mkdir_with_parents(path, 0700), 0);
        ck_assert(!fz_autostart_unregister(&e2));
        ck_assert_msg(strstr(e2->message, path) != NULL, "%s", e2->message);
        rm_rf(dir);
}
END_TEST

static Suite *autostart_suite(void) {
        Suite *s = suite_create("gui-autostart");
        TCase *tc = tcase_create("core");

        setup();
        tcase_add_test(tc, test_register_unregister);
        tcase_add_test(tc, test_errors_are_clear);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(autostart_suite)
