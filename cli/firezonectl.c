/* SPDX-License-Identifier: Apache-2.0 */
/* firezonectl: control the Firezone tunnel service from a shell. The subcommands live in
 * cmd-*.c, one per file, behind the table below. */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "fzctl.h"

static const FzctlCommand commands[] = {
        {"status", fzctl_cmd_status, "Show the state of the Firezone tunnel service"},
        {"sign-in", fzctl_cmd_sign_in, "Sign in with a token from standard input or --token-file"},
        {"sign-out", fzctl_cmd_sign_out, "Sign out and take the tunnel down"},
        {"reconnect", fzctl_cmd_reconnect, "Reconnect to the portal and the gateways"},
        {"resources", fzctl_cmd_resources, "List the resources this device may reach"},
        {"monitor", fzctl_cmd_monitor, "Print state and resource changes as they happen"},
        {"internet-resource", fzctl_cmd_internet_resource, "Show or switch the Internet resource (on, off)"},
};

static char *commands_summary(void) {
        GString *s = g_string_new("Commands:\n");
        int width = 0;

        for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
                width = MAX(width, (int) strlen(commands[i].name));
        for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
                g_string_append_printf(s, "  %-*s  %s\n", width, commands[i].name, commands[i].summary);
        g_string_append(s, "\nRun 'firezonectl COMMAND --help' for a command's options.");
        return g_string_free(s, FALSE);
}

int main(int argc, char **argv) {
        g_autoptr(GOptionContext) context = NULL;
        g_autoptr(GError) error = NULL;
        g_autofree char *summary = NULL;
        gboolean version = FALSE, no_ask_password = FALSE;
        FzctlGlobal global = {0};
        const GOptionEntry entries[] = {
                {"no-ask-password", 0, 0, G_OPTION_ARG_NONE, &no_ask_password,
                 "Do not let polkit ask for a password", NULL},
                {"version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL},
                {NULL},
        };

        setlocale(LC_ALL, "");
        g_set_prgname("firezonectl");

        context = g_option_context_new("COMMAND [OPTION…]");
        summary = commands_summary();
        g_option_context_set_summary(context, summary);
        g_option_context_set_description(
                context, "Exit status:\n"
                         "  0  success\n"
                         "  1  failure (the message says what to do)\n"
                         "  2  usage error (including a token given on the command line)\n"
                         "  3  permission denied: not in group firezone, refused by polkit, or the "
                         "device is managed by an administrator\n"
                         "  4  the Firezone tunnel service is not running\n"
                         "\nSee firezonectl(1).");
        g_option_context_add_main_entries(context, entries, NULL);
        /* Options after the command belong to the command. */
        g_option_context_set_strict_posix(context, TRUE);
        if (!g_option_context_parse(context, &argc, &argv, &error)) {
                fprintf(stderr, "firezonectl: %s\nTry 'firezonectl --help'.\n", error->message);
                return FZCTL_EXIT_USAGE;
        }
        if (version) {
                printf("firezonectl %s\n", FZ_VERSION);
                return FZCTL_EXIT_SUCCESS;
        }
        if (argc < 2) {
                fprintf(stderr, "firezonectl: no command given.\n%s\n", summary);
                return FZCTL_EXIT_USAGE;
        }
        global.ask_password = !no_ask_password;

        for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
                if (strcmp(argv[1], commands[i].name) == 0)
                        return commands[i].run(&global, argc - 1, argv + 1);

        fprintf(stderr, "firezonectl: unknown command '%s'.\n%s\n", argv[1], summary);
        return FZCTL_EXIT_USAGE;
}
