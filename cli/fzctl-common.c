/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>

#include "fzctl.h"

GOptionContext *fzctl_option_context_new(const char *name, const char *summary,
                                         const GOptionEntry *entries) {
        return fzctl_option_context_new_full(name, NULL, summary, entries);
}

GOptionContext *fzctl_option_context_new_full(const char *name, const char *parameters, const char *summary,
                                              const GOptionEntry *entries) {
        g_autofree char *prgname = g_strdup_printf("firezonectl %s", name);
        GOptionContext *context = g_option_context_new(parameters);

        g_option_context_set_summary(context, summary);
        g_option_context_set_description(
                context, "Exit status: 0 success, 1 failure, 2 usage error, 3 permission denied, "
                         "4 the Firezone tunnel service is not running.\n"
                         "See firezonectl(1).");
        if (entries != NULL)
                g_option_context_add_main_entries(context, entries, NULL);
        /* --help then says "Usage: firezonectl NAME [OPTION…]". */
        g_set_prgname(prgname);
        return context;
}

gboolean fzctl_parse(GOptionContext *context, int *argc, char ***argv) {
        g_autoptr(GError) error = NULL;
        g_autofree char *message = NULL;

        if (g_option_context_parse(context, argc, argv, &error))
                return TRUE;
        message = fzctl_escape(error->message);
        fprintf(stderr, "firezonectl: %s\nTry '%s --help'.\n", message, g_get_prgname());
        return FALSE;
}

gboolean fzctl_no_arguments(const char *name, int argc, char **argv) {
        if (argc <= 1)
                return TRUE;
        fprintf(stderr, "firezonectl: %s takes no arguments (got '%s').\nTry 'firezonectl %s --help'.\n",
                name, argv[1], name);
        return FALSE;
}

int fzctl_exit_code(const GError *error) {
        if (error->domain != FZ_CLIENT_ERROR)
                return FZCTL_EXIT_FAILURE;
        switch (error->code) {
        case FZ_CLIENT_ERROR_DAEMON_NOT_RUNNING:
                return FZCTL_EXIT_NOT_RUNNING;
        case FZ_CLIENT_ERROR_PERMISSION_DENIED:
        case FZ_CLIENT_ERROR_AUTHORIZATION_REQUIRED:
        case FZ_CLIENT_ERROR_MANAGED_BY_SERVICE_ACCOUNT:
                return FZCTL_EXIT_PERMISSION_DENIED;
        default:
                return FZCTL_EXIT_FAILURE;
        }
}

int fzctl_report_error(const GError *error) {
        /* The daemon's sentences may quote what the portal or another user said. */
        g_autofree char *message = fzctl_escape(error->message);

        fprintf(stderr, "firezonectl: %s\n", message);
        return fzctl_exit_code(error);
}

FzClient *fzctl_client_new(FzctlGlobal *global, int *ret_exit) {
        g_autoptr(GError) error = NULL;
        FzClient *client = fz_client_new_sync(NULL, &error);

        if (client == NULL) {
                *ret_exit = fzctl_report_error(error);
                return NULL;
        }
        fz_client_set_interactive(client, global->ask_password);
        return client;
}

void fzctl_result_cb(GObject *source, GAsyncResult *result, gpointer user_data) {
        GAsyncResult **slot = user_data;
        *slot = g_object_ref(result);
}

GAsyncResult *fzctl_wait(GAsyncResult **result) {
        while (*result == NULL)
                g_main_context_iteration(NULL, TRUE);
        return *result;
}

void fzctl_print(FzctlNode *node, FzctlOutput output) {
        g_autofree char *s = fzctl_render(node, output);

        fputs(s, stdout);
        fflush(stdout);
}
