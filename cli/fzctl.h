/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by firezonectl's subcommands (one file each, cmd-*.c, behind the table in
 * firezonectl.c). Subcommands talk to the daemon only through libfirezone-client. */
#pragma once

#include <firezone-client.h>

#include "fzctl-output.h"
#include "fzctl-records.h"

/* Exit codes: fixed, documented in --help and firezonectl(1), asserted by the tests. */
typedef enum {
        FZCTL_EXIT_SUCCESS = 0,
        FZCTL_EXIT_FAILURE = 1, /* anything else; the message says what to do */
        FZCTL_EXIT_USAGE = 2,   /* bad command line (a token in it included) */
        FZCTL_EXIT_PERMISSION_DENIED =
                3,                  /* not in group firezone, refused by polkit, or managed by an admin */
        FZCTL_EXIT_NOT_RUNNING = 4, /* the tunnel service is not running */
} FzctlExit;

typedef struct {
        gboolean ask_password; /* polkit may ask (interactive authorization) */
} FzctlGlobal;

typedef struct {
        const char *name;
        int (*run)(FzctlGlobal *global, int argc, char **argv);
        const char *summary;
} FzctlCommand;

int fzctl_cmd_status(FzctlGlobal *global, int argc, char **argv);
int fzctl_cmd_sign_in(FzctlGlobal *global, int argc, char **argv);
int fzctl_cmd_sign_out(FzctlGlobal *global, int argc, char **argv);
int fzctl_cmd_reconnect(FzctlGlobal *global, int argc, char **argv);
int fzctl_cmd_resources(FzctlGlobal *global, int argc, char **argv);
int fzctl_cmd_monitor(FzctlGlobal *global, int argc, char **argv);
int fzctl_cmd_internet_resource(FzctlGlobal *global, int argc, char **argv);

/* A GOptionContext for "firezonectl NAME [OPTION…]" with the common help text. */
GOptionContext *fzctl_option_context_new(const char *name, const char *summary, const GOptionEntry *entries);
/* The same for a command that takes arguments: "firezonectl NAME [OPTION…] PARAMETERS". */
GOptionContext *fzctl_option_context_new_full(const char *name, const char *parameters, const char *summary,
                                              const GOptionEntry *entries);
/* Parses; on error prints it with a hint and returns FALSE (exit FZCTL_EXIT_USAGE). */
gboolean fzctl_parse(GOptionContext *context, int *argc, char ***argv);
/* For commands that take no arguments: a leftover one is a usage error. */
gboolean fzctl_no_arguments(const char *name, int argc, char **argv);

/* The client, or NULL after printing why (*ret_exit set). */
FzClient *fzctl_client_new(FzctlGlobal *global, int *ret_exit);

/* Prints "firezonectl: MESSAGE" and returns the exit code for the error. */
int fzctl_report_error(const GError *error);
int fzctl_exit_code(const GError *error);

/* Running an async call to completion: pass fzctl_result_cb with &result, then
 * fzctl_wait(&result) iterates the default main context until it is set. */
void fzctl_result_cb(GObject *source, GAsyncResult *result, gpointer user_data);
GAsyncResult *fzctl_wait(GAsyncResult **result);

/* Writes a rendering to stdout and flushes (monitor's lines must go out as they happen). */
void fzctl_print(FzctlNode *node, FzctlOutput output);
