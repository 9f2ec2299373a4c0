/* SPDX-License-Identifier: Apache-2.0 */
/* firezonectl status [--json] */
#include "fzctl.h"

int fzctl_cmd_status(FzctlGlobal *global, int argc, char **argv) {
        g_autoptr(GOptionContext) context = NULL;
        g_autoptr(FzClient) client = NULL;
        g_autoptr(GAsyncResult) result = NULL;
        g_autoptr(FzClientStatus) status = NULL;
        g_autoptr(FzctlNode) node = NULL;
        g_autoptr(GError) error = NULL;
        gboolean json = FALSE;
        int rc;
        const GOptionEntry entries[] = {
                {"json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON (the keys of the daemon's Status())",
                 NULL},
                {NULL},
        };

        context = fzctl_option_context_new("status", "Show the state of the Firezone tunnel service.",
                                           entries);
        if (!fzctl_parse(context, &argc, &argv) || !fzctl_no_arguments("status", argc, argv))
                return FZCTL_EXIT_USAGE;

        client = fzctl_client_new(global, &rc);
        if (client == NULL)
                return rc;
        fz_client_get_status_async(client, NULL, fzctl_result_cb, &result);
        status = fz_client_get_status_finish(client, fzctl_wait(&result), &error);
        if (status == NULL)
                return fzctl_report_error(error);

        node = fzctl_status_node(status);
        fzctl_print(node, json ? FZCTL_OUTPUT_JSON : FZCTL_OUTPUT_TEXT);
        return FZCTL_EXIT_SUCCESS;
}
