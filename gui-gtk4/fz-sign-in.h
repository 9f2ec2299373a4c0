/* SPDX-License-Identifier: Apache-2.0 */
/* Browser sign-in (DESIGN §4): the nonce and state of one attempt, the URL that opens the
 * portal's sign-in page, and the parsing and checking of the deep link the portal sends
 * back. Pure GLib, no I/O besides getrandom(), so that it is unit-tested and fuzzed. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define FZ_SIGN_IN_ERROR (fz_sign_in_error_quark())

typedef enum {
        /* The auth URL or account slug in the settings is unusable. */
        FZ_SIGN_IN_ERROR_BAD_SETTINGS,
        /* The callback is not a well-formed Firezone sign-in deep link. */
        FZ_SIGN_IN_ERROR_BAD_CALLBACK,
        /* The callback's state does not belong to the sign-in in progress (or none is). */
        FZ_SIGN_IN_ERROR_WRONG_STATE,
        /* No randomness from the kernel. */
        FZ_SIGN_IN_ERROR_RANDOM,
} FzSignInError;

GQuark fz_sign_in_error_quark(void);

#define FZ_SIGN_IN_SCHEME        "firezone-fd0020211111"
#define FZ_SIGN_IN_CALLBACK_HOST "handle_client_sign_in_callback"
/* 32 random bytes, hex. */
#define FZ_SIGN_IN_SECRET_HEX_LEN 64
/* Bounds on what the portal may send; far above what it does, far below what hurts. */
#define FZ_SIGN_IN_MAX_URI_LEN      8192
#define FZ_SIGN_IN_MAX_FRAGMENT_LEN 4000
#define FZ_SIGN_IN_MAX_NAME_LEN     256
#define FZ_SIGN_IN_MAX_SLUG_LEN     100

/* One sign-in attempt. The nonce is half of the token: it is wiped on free. */
typedef struct {
        gchar nonce[FZ_SIGN_IN_SECRET_HEX_LEN + 1];
        gchar state[FZ_SIGN_IN_SECRET_HEX_LEN + 1];
} FzSignInRequest;

FzSignInRequest *fz_sign_in_request_new(GError **error);
void fz_sign_in_request_free(FzSignInRequest *req);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FzSignInRequest, fz_sign_in_request_free)

/* {auth_url}/{account_slug}?as=gui-client&nonce=N&state=S. @auth_url must be https://,
 * or http:// to a loopback host (local portals in tests and development). */
gchar *fz_sign_in_build_url(const gchar *auth_url, const gchar *account_slug, const FzSignInRequest *req,
                            GError **error);

/* Whether @slug may be used as an account slug (also used for the settings). An empty
 * slug is valid: the portal then asks for the account. */
gboolean fz_sign_in_slug_is_valid(const gchar *slug);

/* What a deep link carries. The fragment is the other half of the token: wiped on clear. */
typedef struct {
        gchar *account_slug;
        gchar *actor_name;
        gchar *fragment;
        gchar *state;
} FzSignInCallback;

/* Parses firezone-fd0020211111://handle_client_sign_in_callback/?account_slug=…&actor_name=…
 * &fragment=…&state=…; every parameter exactly once (unknown ones are ignored), each
 * within its bounds. Does not look at the state: see fz_sign_in_callback_check(). */
gboolean fz_sign_in_callback_parse(const gchar *uri, FzSignInCallback *ret, GError **error);
void fz_sign_in_callback_clear(FzSignInCallback *cb);

/* Whether @uri looks like a sign-in deep link at all (scheme only), to tell it from
 * other arguments. */
gboolean fz_sign_in_is_callback_uri(const gchar *uri);

/* Constant-time comparison of the callback's state with the request's (or fails with
 * FZ_SIGN_IN_ERROR_WRONG_STATE when @req is NULL: no sign-in in progress). */
gboolean fz_sign_in_callback_check(const FzSignInRequest *req, const FzSignInCallback *cb, GError **error);

/* Constant-time equality of two strings of any length (time depends on the lengths only). */
gboolean fz_sign_in_secret_equal(const gchar *a, const gchar *b);

/* token = nonce ‖ fragment, in memory the caller wipes with fz_sign_in_token_free(). */
gchar *fz_sign_in_make_token(const FzSignInRequest *req, const FzSignInCallback *cb);
void fz_sign_in_token_free(gchar *token);

G_END_DECLS
