/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>

#include "dns-control-mode.h"

typedef enum FzdAction {
        FZD_ACTION_RUN,
        FZD_ACTION_HELP,
        FZD_ACTION_VERSION,
} FzdAction;

typedef struct FzdOptions {
        FzdAction action;
        bool no_ipc;
        FzdDnsControl dns_control;
        int log_level;
        char *api_url; /* owned */
        bool activate_internet_resource; /* the Internet resource's first setting */
} FzdOptions;

void fzd_options_init(FzdOptions *o);
void fzd_options_done(FzdOptions *o);

/* Apply settings in order of increasing precedence: the config file (text, may be NULL),
 * then the environment (FIREZONE_DNS_CONTROL, FIREZONE_LOG_LEVEL, FIREZONE_API_URL),
 * then argv. On a bad value prints one line naming the setting and what is accepted,
 * and returns -EINVAL. */
int fzd_options_parse_config(FzdOptions *o, const char *text, const char *origin);
int fzd_options_parse_env(FzdOptions *o);
int fzd_options_parse_argv(FzdOptions *o, int argc, char **argv);

void fzd_options_print_help(void);
