/* SPDX-License-Identifier: Apache-2.0 */
/* firezone-gui: see fz-app.c. */
#include <locale.h>
#include <stdio.h>
#include <unistd.h>

#include "fz-app.h"

int main(int argc, char **argv) {
        g_autoptr(FzApp) app = NULL;

        setlocale(LC_ALL, "");
        /* The GUI is the desktop user's; root talks to the daemon with firezonectl. A GUI
         * running as root would also put root's keyring and X access in play. */
        if (geteuid() == 0) {
                fprintf(stderr,
                        "firezone-gui: do not run the Firezone GUI as root. Run it as your own user (in "
                        "group “firezone”); for root, use firezonectl.\n");
                return 1;
        }
        g_set_prgname("firezone-gui");
        g_set_application_name("Firezone");
        app = fz_app_new();
        return g_application_run(G_APPLICATION(app), argc, argv);
}
