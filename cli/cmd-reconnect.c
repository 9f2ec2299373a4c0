/* SPDX-License-Identifier: Apache-2.0 */
/* firezonectl reconnect */
#include <stdio.h>

#include "fzctl.h"

int fzctl_cmd_reconnect(FzctlGlobal *global, int argc, char **argv) {
        g_autoptr(GOptionContext) context = NULL;
        g_autoptr(FzClient) client = NULL;
        g_autoptr(GAsyncResult) result = NULL;
        g_autoptr(GError) error = NULL;
        int rc;

        context = fzctl_option_context_new(
                "reconnect", "Drop and re-establish the connections to the portal and the gateways.", NULL);
        if (!fzctl_parse(context, &argc, &argv) || !fzctl_no_arguments("reconnect", argc, argv))
                return FZCTL_EXIT_USAGE;

        client = fzctl_client_new(global, &rc);
        if (client == NULL)
                return rc;
        fz_client_reconnect_async(client, NULL, fzctl_result_cb, &result);
        if (!fz_client_reconnect_finish(client, fzctl_wait(&result), &error))
                return fzctl_report_error(error);
        printf("Reconnecting.\n");
        return FZCTL_EXIT_SUCCESS;
}
