/* SPDX-License-Identifier: Apache-2.0 */
/* firezonectl internet-resource [--json] [on|off]: show the Internet resource switch, or
 * switch it. Either way the command prints the switch as it is afterwards. */
#include <stdio.h>
#include <string.h>

#include "fzctl.h"

/* The switch as the daemon reports it. */
static gboolean read_switch(FzClient *client, gboolean *ret_enabled, GError **error) {
        g_autoptr(GAsyncResult) result = NULL;
        g_autoptr(FzClientStatus) status = NULL;

        fz_client_get_status_async(client, NULL, fzctl_result_cb, &result);
        status = fz_client_get_status_finish(client, fzctl_wait(&result), error);
        if (status == NULL)
                return FALSE;
        *ret_enabled = fz_client_status_get_internet_resource_enabled(status);
        return TRUE;
}

/* Switches it; once that succeeded the client's property is what the daemon has. */
static gboolean write_switch(FzClient *client, gboolean enabled, gboolean *ret_enabled, GError **error) {
        g_autoptr(GAsyncResult) result = NULL;

        fz_client_set_internet_resource_enabled_async(client, enabled, NULL, fzctl_result_cb, &result);
        if (!fz_client_set_internet_resource_enabled_finish(client, fzctl_wait(&result), error))
                return FALSE;
        *ret_enabled = fz_client_get_internet_resource_enabled(client);
        return TRUE;
}

int fzctl_cmd_internet_resource(FzctlGlobal *global, int argc, char **argv) {
        g_autoptr(GOptionContext) context = NULL;
        g_autoptr(FzClient) client = NULL;
        g_autoptr(FzctlNode) switch_node = NULL;
        g_autoptr(GError) error = NULL;
        gboolean json = FALSE, enabled = FALSE, ok;
        int rc;
        const GOptionEntry entries[] = {
                { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON (the key of the daemon's Status())",
                  NULL },
                { NULL },
        };

        context = fzctl_option_context_new_full(
                "internet-resource", "[on|off]",
                "Show whether the Internet resource is switched on, or switch it on or off. While it is on, "
                "and the portal grants an Internet resource, traffic to the Internet goes through Firezone. "
                "The service keeps the choice until it stops.",
                entries);
        if (!fzctl_parse(context, &argc, &argv))
                return FZCTL_EXIT_USAGE;
        if (argc > 2 || (argc == 2 && strcmp(argv[1], "on") != 0 && strcmp(argv[1], "off") != 0)) {
                fprintf(stderr,
                        "firezonectl: internet-resource takes on, off or nothing (got '%s').\n"
                        "Try 'firezonectl internet-resource --help'.\n",
                        argv[argc == 2 ? 1 : 2]);
                return FZCTL_EXIT_USAGE;
        }

        client = fzctl_client_new(global, &rc);
        if (client == NULL)
                return rc;
        if (argc == 2)
                ok = write_switch(client, strcmp(argv[1], "on") == 0, &enabled, &error);
        else
                ok = read_switch(client, &enabled, &error);
        if (!ok)
                return fzctl_report_error(error);

        switch_node = fzctl_object_new();
        fzctl_internet_resource_fill(switch_node, enabled);
        fzctl_print(switch_node, json ? FZCTL_OUTPUT_JSON : FZCTL_OUTPUT_TEXT);
        return FZCTL_EXIT_SUCCESS;
}
