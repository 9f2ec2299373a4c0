/* SPDX-License-Identifier: Apache-2.0 */
/* firezonectl monitor [--json]: one line per state or resource change until interrupted.
 * The first line is the current status (if the service runs). */
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>

#include "fzctl.h"

typedef struct {
        FzClient *client;
        FzctlOutput output;
} Monitor;

static void on_state_changed(FzClient *client, FzClientState state, const char *reason, gpointer user_data) {
        Monitor *m = user_data;
        g_autoptr(FzctlNode) event = fzctl_event_node("state-changed");

        fzctl_object_add_string(event, "state", "State", fz_client_state_to_string(state));
        fzctl_object_add_string(event, "reason", "Reason", reason);
        fzctl_object_add_string(event, "last-error", "Last error", fz_client_get_last_error(client));
        fzctl_object_add_bool(event, "requires-sign-in", "Needs sign-in",
                              fz_client_get_requires_sign_in(client));
        fzctl_object_add_bool(event, "daemon-running", "Service running",
                              fz_client_get_daemon_running(client));
        fzctl_print(event, m->output);
}

static void on_resources_changed(FzClient *client, GPtrArray *resources, gpointer user_data) {
        Monitor *m = user_data;
        g_autoptr(FzctlNode) event = fzctl_event_node("resources-changed");

        fzctl_object_add_node(event, "resources", "Resources", fzctl_resources_node(resources));
        fzctl_print(event, m->output);
}

static gboolean on_quit_signal(gpointer user_data) {
        g_main_loop_quit(user_data);
        return G_SOURCE_CONTINUE;
}

int fzctl_cmd_monitor(FzctlGlobal *global, int argc, char **argv) {
        g_autoptr(GOptionContext) context = NULL;
        g_autoptr(FzClient) client = NULL;
        g_autoptr(GAsyncResult) result = NULL;
        g_autoptr(FzClientStatus) status = NULL;
        g_autoptr(GMainLoop) loop = NULL;
        g_autoptr(GError) error = NULL;
        gboolean json = FALSE;
        Monitor m = {0};
        guint sigint, sigterm;
        int rc;
        const GOptionEntry entries[] = {
                {"json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object per line", NULL},
                {NULL},
        };

        context =
                fzctl_option_context_new("monitor",
                                         "Print each state change and resource change as it happens, one "
                                         "line each, until interrupted (Ctrl+C). Follows the service across "
                                         "restarts.",
                                         entries);
        if (!fzctl_parse(context, &argc, &argv) || !fzctl_no_arguments("monitor", argc, argv))
                return FZCTL_EXIT_USAGE;

        client = fzctl_client_new(global, &rc);
        if (client == NULL)
                return rc;
        m.client = client;
        m.output = json ? FZCTL_OUTPUT_JSON : FZCTL_OUTPUT_LINE;
        loop = g_main_loop_new(NULL, FALSE);
        sigint = g_unix_signal_add(SIGINT, on_quit_signal, loop);
        sigterm = g_unix_signal_add(SIGTERM, on_quit_signal, loop);
        g_signal_connect(client, "state-changed", G_CALLBACK(on_state_changed), &m);
        g_signal_connect(client, "resources-changed", G_CALLBACK(on_resources_changed), &m);

        fz_client_get_status_async(client, NULL, fzctl_result_cb, &result);
        status = fz_client_get_status_finish(client, fzctl_wait(&result), &error);
        if (status != NULL) {
                g_autoptr(FzctlNode) event = fzctl_event_node("status");
                g_autoptr(GPtrArray) resources = fz_client_get_resources(client);
                fzctl_status_fill(event, status);
                fzctl_object_add_node(event, "resources", "Resources", fzctl_resources_node(resources));
                fzctl_print(event, m.output);
        } else if (g_error_matches(error, FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_DAEMON_NOT_RUNNING)) {
                /* Not fatal: the service may start later, and its start is an event too. */
                g_autofree char *message = fzctl_escape(error->message);

                fprintf(stderr, "firezonectl: %s. Waiting for it to start.\n", message);
        } else {
                rc = fzctl_report_error(error);
                g_source_remove(sigint);
                g_source_remove(sigterm);
                return rc;
        }

        g_main_loop_run(loop);
        g_signal_handlers_disconnect_by_data(client, &m);
        g_source_remove(sigint);
        g_source_remove(sigterm);
        return FZCTL_EXIT_SUCCESS;
}
