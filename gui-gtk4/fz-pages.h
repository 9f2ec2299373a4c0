/* SPDX-License-Identifier: Apache-2.0 */
/* The window's pages, one per phase (fz-wording.h), each a view of the model with its own
 * template in data/ui/. */
#pragma once

#include "fz-page.h"

G_BEGIN_DECLS

/* The Firezone service is not running: how to start it. */
#define FZ_TYPE_NO_DAEMON_PAGE (fz_no_daemon_page_get_type())
G_DECLARE_FINAL_TYPE(FzNoDaemonPage, fz_no_daemon_page, FZ, NO_DAEMON_PAGE, FzPage)

/* Not in group firezone: how to be added, or that a new login is needed. */
#define FZ_TYPE_NOT_IN_GROUP_PAGE (fz_not_in_group_page_get_type())
G_DECLARE_FINAL_TYPE(FzNotInGroupPage, fz_not_in_group_page, FZ, NOT_IN_GROUP_PAGE, FzPage)

#define FZ_TYPE_SIGNED_OUT_PAGE (fz_signed_out_page_get_type())
G_DECLARE_FINAL_TYPE(FzSignedOutPage, fz_signed_out_page, FZ, SIGNED_OUT_PAGE, FzPage)

/* The browser is open: finish there, open it again, or cancel. */
#define FZ_TYPE_SIGNING_IN_PAGE (fz_signing_in_page_get_type())
G_DECLARE_FINAL_TYPE(FzSigningInPage, fz_signing_in_page, FZ, SIGNING_IN_PAGE, FzPage)

/* Connecting, connected or reconnecting: who is signed in, and the resources. */
#define FZ_TYPE_SESSION_PAGE (fz_session_page_get_type())
G_DECLARE_FINAL_TYPE(FzSessionPage, fz_session_page, FZ, SESSION_PAGE, FzPage)

G_END_DECLS
