/* SPDX-License-Identifier: Apache-2.0 */
#include "fz-autostart.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

gchar *fz_autostart_path(void) {
        return g_build_filename(g_get_user_config_dir(), "autostart", "firezone-gui.desktop", NULL);
}

gboolean fz_autostart_register(const gchar *contents, GError **error) {
        g_autofree gchar *path = fz_autostart_path();
        g_autofree gchar *dir = g_path_get_dirname(path);

        if (g_mkdir_with_parents(dir, 0700) < 0) {
                int e = errno;
                g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), _("Could not create %s: %s"),
                            dir, g_strerror(e));
                return FALSE;
        }
        return g_file_set_contents_full(path, contents, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, error);
}

gboolean fz_autostart_unregister(GError **error) {
        g_autofree gchar *path = fz_autostart_path();

        if (g_unlink(path) < 0 && errno != ENOENT) {
                int e = errno;
                g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), _("Could not remove %s: %s"),
                            path, g_strerror(e));
                return FALSE;
        }
        return TRUE;
}

gboolean fz_autostart_is_registered(void) {
        g_autofree gchar *path = fz_autostart_path();

        return g_file_test(path, G_FILE_TEST_IS_REGULAR);
}
