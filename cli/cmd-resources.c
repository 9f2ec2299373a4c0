/* SPDX-License-Identifier: Apache-2.0 */
/* firezonectl resources [--json] */
#include "fzctl.h"

int fzctl_cmd_resources(FzctlGlobal *global, int argc, char **argv) {
        g_autoptr(GOptionContext) context = NULL;
        g_autoptr(FzClient) client = NULL;
        g_autoptr(GAsyncResult) result = NULL;
        g_autoptr(GPtrArray) resources = NULL;
        g_autoptr(FzctlNode) node = NULL;
        g_autoptr(GError) error = NULL;
        gboolean json = FALSE;
        int rc;
        const GOptionEntry entries[] = {
                {"json", 0, 0, G_OPTION_ARG_NONE, &json, "Print a JSON array", NULL},
                {NULL},
        };

        context =
                fzctl_option_context_new("resources", "List the resources this device may reach.", entries);
        if (!fzctl_parse(context, &argc, &argv) || !fzctl_no_arguments("resources", argc, argv))
                return FZCTL_EXIT_USAGE;

        client = fzctl_client_new(global, &rc);
        if (client == NULL)
                return rc;
        fz_client_list_resources_async(client, NULL, fzctl_result_cb, &result);
        resources = fz_client_list_resources_finish(client, fzctl_wait(&result), &error);
        if (resources == NULL)
                return fzctl_report_error(error);

        node = fzctl_resources_node(resources);
        fzctl_print(node, json ? FZCTL_OUTPUT_JSON : FZCTL_OUTPUT_TEXT);
        return FZCTL_EXIT_SUCCESS;
}
