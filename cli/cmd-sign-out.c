/* SPDX-License-Identifier: Apache-2.0 */
/* firezonectl sign-out */
#include <stdio.h>

#include "fzctl.h"

int fzctl_cmd_sign_out(FzctlGlobal *global, int argc, char **argv) {
        g_autoptr(GOptionContext) context = NULL;
        g_autoptr(FzClient) client = NULL;
        g_autoptr(GAsyncResult) result = NULL;
        g_autoptr(GError) error = NULL;
        int rc;

        context = fzctl_option_context_new("sign-out",
                                           "Sign out: the tunnel goes down and the service forgets "
                                           "the token. Signing out while signed out succeeds.",
                                           NULL);
        if (!fzctl_parse(context, &argc, &argv) || !fzctl_no_arguments("sign-out", argc, argv))
                return FZCTL_EXIT_USAGE;

        client = fzctl_client_new(global, &rc);
        if (client == NULL)
                return rc;
        fz_client_sign_out_async(client, NULL, fzctl_result_cb, &result);
        if (!fz_client_sign_out_finish(client, fzctl_wait(&result), &error))
                return fzctl_report_error(error);
        printf("Signed out.\n");
        return FZCTL_EXIT_SUCCESS;
}
