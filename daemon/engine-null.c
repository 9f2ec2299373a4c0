/* SPDX-License-Identifier: Apache-2.0 */
/* Placeholder engine until the portal connection (daemon/portal/) is linked in: it takes
 * the token, keeps it in locked memory and never reports a connection, so the daemon
 * stays honestly in "connecting". */
#include <errno.h>
#include <stdlib.h>

#include "engine.h"
#include "log.h"

struct FzdEngine {
        FzdSecret *token;
};

int fzd_engine_new(sd_event *event, const FzdEngineEvents *events, void *userdata, FzdEngine **ret) {
        FzdEngine *e = calloc(1, sizeof *e);
        if (!e)
                return -ENOMEM;
        *ret = e;
        return 0;
}

FzdEngine *fzd_engine_free(FzdEngine *e) {
        if (!e)
                return NULL;
        fzd_engine_stop(e);
        free(e);
        return NULL;
}

int fzd_engine_start(FzdEngine *e, const FzdEngineParams *params, FzdSecret **token) {
        fzd_secret_free(e->token);
        e->token = TAKE_PTR(*token);
        log_notice("This build has no portal connection; staying in \"connecting\".");
        return 0;
}

void fzd_engine_stop(FzdEngine *e) {
        e->token = fzd_secret_free(e->token);
}

int fzd_engine_reconnect(FzdEngine *e) {
        return e->token ? 0 : -ENOTCONN;
}

int fzd_engine_replace_token(FzdEngine *e, FzdSecret **token) {
        fzd_secret_free(e->token);
        e->token = TAKE_PTR(*token);
        return 0;
}

bool fzd_engine_is_running(const FzdEngine *e) {
        return e->token != NULL;
}
