/* SPDX-License-Identifier: Apache-2.0 */
/* firezonectl sign-in [--token-file PATH] [--account-slug S] [--actor-name N] [--api-url URL]
 *                     [--wait [--timeout S]]
 * The token comes from standard input or a file, never from the command line. */
#include <stdio.h>
#include <string.h>

#include "fzctl-token.h"
#include "fzctl.h"

#define REFUSE_ARGV_TOKEN                                                                                   \
        "firezonectl: refusing a token on the command line: every user can read the arguments of a "        \
        "running program (ps, /proc/PID/cmdline) and the shell keeps them in its history. Pipe the token "  \
        "in (firezonectl sign-in < FILE), paste it when asked, or use --token-file PATH.\n"

typedef struct {
        FzClient *client;
        GMainLoop *loop;
        double timeout;
        gboolean replied; /* SignIn returned: from now on, state changes are the new session's */
        int exit_code;
} Wait;

static void finish(Wait *w, int exit_code) {
        w->exit_code = exit_code;
        g_main_loop_quit(w->loop);
}

/* Has the new session got anywhere final? */
static void evaluate(Wait *w, FzClientState state, const char *reason) {
        const char *last_error = fz_client_get_last_error(w->client);

        switch (state) {
        case FZ_CLIENT_STATE_CONNECTED:
                printf("Connected.\n");
                finish(w, FZCTL_EXIT_SUCCESS);
                break;
        case FZ_CLIENT_STATE_SIGNED_OUT: {
                g_autofree char *why = fzctl_escape(reason != NULL && *reason ? reason : "unknown");
                g_autofree char *error = fzctl_escape(last_error);

                fprintf(stderr, "firezonectl: not connected: the service signed out (reason: %s)%s%s\n", why,
                        *error ? ". " : ".", error);
                finish(w, FZCTL_EXIT_FAILURE);
                break;
        }
        case FZ_CLIENT_STATE_UNKNOWN:
                if (!fz_client_get_daemon_running(w->client)) {
                        fprintf(stderr, "firezonectl: The Firezone tunnel service stopped while connecting. "
                                        "Start it with: sudo systemctl start firezone-client\n");
                        finish(w, FZCTL_EXIT_NOT_RUNNING);
                }
                break;
        case FZ_CLIENT_STATE_CONNECTING:
        case FZ_CLIENT_STATE_RECONNECTING:
        default:
                break;
        }
}

static void on_state_changed(FzClient *client, FzClientState state, const char *reason, gpointer user_data) {
        Wait *w = user_data;

        if (w->replied)
                evaluate(w, state, reason);
}

static gboolean on_timeout(gpointer user_data) {
        Wait *w = user_data;
        g_autofree char *last_error = fzctl_escape(fz_client_get_last_error(w->client));

        fprintf(stderr, "firezonectl: not connected after %g s: the service is %s%s%s\n", w->timeout,
                fz_client_state_to_string(fz_client_get_state(w->client)),
                *last_error ? ". Last error: " : ".", last_error);
        finish(w, FZCTL_EXIT_FAILURE);
        return G_SOURCE_REMOVE;
}

static void on_signed_in(GObject *source, GAsyncResult *result, gpointer user_data) {
        Wait *w = user_data;
        g_autoptr(GError) error = NULL;

        if (!fz_client_sign_in_finish(w->client, result, &error)) {
                finish(w, fzctl_report_error(error));
                return;
        }
        w->replied = TRUE;
        if (w->timeout <= 0) {
                printf("Signed in: connecting (see firezonectl status).\n");
                finish(w, FZCTL_EXIT_SUCCESS);
                return;
        }
        g_timeout_add((guint)(w->timeout * 1000), on_timeout, w);
        /* It may have connected before the reply came. */
        evaluate(w, fz_client_get_state(w->client), "sign-in");
}

/* The token, if any, in what the user typed: wipe it where /proc/PID/cmdline shows it. */
static void wipe_argv_token(int argc, char **argv) {
        for (int i = 1; i < argc; i++) {
                if (g_str_has_prefix(argv[i], "--token="))
                        explicit_bzero(argv[i] + strlen("--token="), strlen(argv[i] + strlen("--token=")));
                else if (strcmp(argv[i], "--token") == 0 && i + 1 < argc)
                        explicit_bzero(argv[i + 1], strlen(argv[i + 1]));
        }
}

int fzctl_cmd_sign_in(FzctlGlobal *global, int argc, char **argv) {
        g_autoptr(GOptionContext) context = NULL;
        g_autoptr(FzClient) client = NULL;
        g_autoptr(FzctlSecret) token = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(GMainLoop) loop = NULL;
        g_autofree char **original_argv = g_memdup2(argv, sizeof(char *) * (gsize)(argc + 1));
        int original_argc = argc;
        g_autofree char *token_file = NULL, *account_slug = NULL, *actor_name = NULL, *api_url = NULL;
        char *argv_token = NULL;
        gboolean wait = FALSE;
        double timeout = 0;
        Wait w = {0};
        int rc;
        const GOptionEntry entries[] = {
                {"token-file", 0, 0, G_OPTION_ARG_FILENAME, &token_file,
                 "Read the token from PATH instead of standard input", "PATH"},
                {"account-slug", 0, 0, G_OPTION_ARG_STRING, &account_slug, "The account, for display",
                 "SLUG"},
                {"actor-name", 0, 0, G_OPTION_ARG_STRING, &actor_name, "Who signs in, for display", "NAME"},
                {"api-url", 0, 0, G_OPTION_ARG_STRING, &api_url,
                 "Use another portal (needs administrator rights)", "URL"},
                {"wait", 0, 0, G_OPTION_ARG_NONE, &wait, "Wait until connected; say why not if it fails",
                 NULL},
                {"timeout", 0, 0, G_OPTION_ARG_DOUBLE, &timeout, "With --wait: give up after S seconds (60)",
                 "S"},
                /* Only so that it can be refused with a reason instead of "unknown option". */
                {"token", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &argv_token, NULL, NULL},
                {NULL},
        };

        context = fzctl_option_context_new(
                "sign-in",
                "Sign in to Firezone with a token. The token is read from standard input (a pipe, a file, "
                "or "
                "pasted at the prompt) or from --token-file PATH; a token on the command line is refused, "
                "because every user can read a program's arguments.",
                entries);
        if (!fzctl_parse(context, &argc, &argv)) {
                wipe_argv_token(original_argc, original_argv);
                return FZCTL_EXIT_USAGE;
        }
        if (argv_token != NULL || argc > 1) {
                wipe_argv_token(original_argc, original_argv);
                for (int i = 1; i < argc; i++)
                        explicit_bzero(argv[i], strlen(argv[i]));
                if (argv_token != NULL) {
                        explicit_bzero(argv_token, strlen(argv_token));
                        g_free(argv_token);
                }
                fputs(REFUSE_ARGV_TOKEN, stderr);
                return FZCTL_EXIT_USAGE;
        }
        if (timeout < 0 || (timeout > 0 && !wait)) {
                fprintf(stderr, "firezonectl: --timeout needs --wait and a number of seconds above 0.\n"
                                "Try 'firezonectl sign-in --help'.\n");
                return FZCTL_EXIT_USAGE;
        }
        if (wait && timeout == 0)
                timeout = 60;

        token = fzctl_secret_new();
        if (!(token_file != NULL ? fzctl_token_read_file(token_file, token, &error)
                                 : fzctl_token_read_stdin(token, &error))) {
                fprintf(stderr, "firezonectl: %s\n", error->message);
                return FZCTL_EXIT_USAGE;
        }

        client = fzctl_client_new(global, &rc);
        if (client == NULL)
                return rc;
        loop = g_main_loop_new(NULL, FALSE);
        w.client = client;
        w.loop = loop;
        w.timeout = wait ? timeout : 0;
        /* Before the call, so that no change after the reply is missed. */
        g_signal_connect(client, "state-changed", G_CALLBACK(on_state_changed), &w);

        fz_client_sign_in_async(client, token->data, account_slug, actor_name, api_url, NULL, on_signed_in,
                                &w);
        /* The library has its own copy now. */
        g_clear_pointer(&token, fzctl_secret_free);
        g_main_loop_run(loop);
        g_signal_handlers_disconnect_by_data(client, &w);
        return w.exit_code;
}
