/* SPDX-License-Identifier: Apache-2.0 */
/* firezone-gui: see fz-application.c. */
#include <glib/gi18n.h>
#include <locale.h>
#include <stdio.h>
#include <unistd.h>

#include "config.h"
#include "fz-application.h"

int main(int argc, char **argv) {
        g_autoptr(FzApplication) app = NULL;

        setlocale(LC_ALL, "");
        bindtextdomain(GETTEXT_PACKAGE, FZ_LOCALEDIR);
        bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
        textdomain(GETTEXT_PACKAGE);
        /* The GUI is the desktop user's; root talks to the daemon with firezonectl. A GUI
         * running as root would also put root's keyring and X access in play. */
        if (geteuid() == 0) {
                fprintf(stderr, "firezone-gui: %s\n",
                        _("do not run the Firezone GUI as root. Run it as your own user (in group "
                          "“firezone”); "
                          "for root, use firezonectl."));
                return 1;
        }
        g_set_prgname("firezone-gui");
        g_set_application_name("Firezone");
        app = fz_application_new();
        return g_application_run(G_APPLICATION(app), argc, argv);
}
