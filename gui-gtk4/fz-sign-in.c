/* SPDX-License-Identifier: Apache-2.0 */
#include "fz-sign-in.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <gio/gio.h>
#include <glib/gi18n.h>

G_DEFINE_QUARK(fz - sign - in - error - quark, fz_sign_in_error)

static gboolean random_hex(gchar out[FZ_SIGN_IN_SECRET_HEX_LEN + 1], GError **error) {
        static const gchar digits[] = "0123456789abcdef";
        guint8 bytes[FZ_SIGN_IN_SECRET_HEX_LEN / 2];
        gsize done = 0;

        while (done < sizeof(bytes)) {
                /* Blocks only before the kernel's pool is initialised, never after. */
                ssize_t n = getrandom(bytes + done, sizeof(bytes) - done, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        g_set_error(error, FZ_SIGN_IN_ERROR, FZ_SIGN_IN_ERROR_RANDOM,
                                    _("Could not get random numbers from the kernel: %s"),
                                    g_strerror(errno));
                        return FALSE;
                }
                done += (gsize)n;
        }
        for (gsize i = 0; i < sizeof(bytes); i++) {
                out[2 * i] = digits[bytes[i] >> 4];
                out[2 * i + 1] = digits[bytes[i] & 0xf];
        }
        out[FZ_SIGN_IN_SECRET_HEX_LEN] = '\0';
        explicit_bzero(bytes, sizeof(bytes));
        return TRUE;
}

FzSignInRequest *fz_sign_in_request_new(GError **error) {
        g_autoptr(FzSignInRequest) req = g_new0(FzSignInRequest, 1);

        if (!random_hex(req->nonce, error) || !random_hex(req->state, error))
                return NULL;
        return g_steal_pointer(&req);
}

void fz_sign_in_request_free(FzSignInRequest *req) {
        if (req == NULL)
                return;
        explicit_bzero(req, sizeof(*req));
        g_free(req);
}

gboolean fz_sign_in_slug_is_valid(const gchar *slug) {
        gsize len;

        if (slug == NULL)
                return FALSE;
        len = strlen(slug);
        if (len > FZ_SIGN_IN_MAX_SLUG_LEN)
                return FALSE;
        for (gsize i = 0; i < len; i++)
                if (!g_ascii_isalnum(slug[i]) && slug[i] != '_' && slug[i] != '-')
                        return FALSE;
        return TRUE;
}

static gboolean printable_ascii(const gchar *s) {
        for (; *s; s++)
                if (*s < 0x21 || *s > 0x7e)
                        return FALSE;
        return TRUE;
}

static gboolean host_is_loopback(const gchar *host) {
        g_autoptr(GInetAddress) addr = NULL;

        if (host == NULL)
                return FALSE;
        if (g_ascii_strcasecmp(host, "localhost") == 0)
                return TRUE;
        addr = g_inet_address_new_from_string(host);
        return addr != NULL && g_inet_address_get_is_loopback(addr);
}

gchar *fz_sign_in_build_url(const gchar *auth_url, const gchar *account_slug, const FzSignInRequest *req,
                            GError **error) {
        g_autoptr(GUri) uri = NULL;
        g_autoptr(GError) local_error = NULL;
        g_autofree gchar *path = NULL;
        g_autofree gchar *query = NULL;
        g_autoptr(GUri) built = NULL;
        const gchar *scheme, *base_path;
        gsize base_len;

        g_return_val_if_fail(req != NULL, NULL);

        if (auth_url == NULL || *auth_url == '\0') {
                g_set_error_literal(error, FZ_SIGN_IN_ERROR, FZ_SIGN_IN_ERROR_BAD_SETTINGS,
                                    _("No sign-in address is set. Set one in the settings."));
                return NULL;
        }
        /* GLib's ENCODED parsing lets spaces and the like through: refuse them first. */
        uri = printable_ascii(auth_url) ? g_uri_parse(auth_url, G_URI_FLAGS_ENCODED, &local_error) : NULL;
        if (uri == NULL) {
                g_set_error(error, FZ_SIGN_IN_ERROR, FZ_SIGN_IN_ERROR_BAD_SETTINGS,
                            _("The sign-in address “%s” is not a valid URL. Correct it in the settings."),
                            auth_url);
                return NULL;
        }
        scheme = g_uri_get_scheme(uri);
        if (g_uri_get_host(uri) == NULL || *g_uri_get_host(uri) == '\0' ||
            !(g_ascii_strcasecmp(scheme, "https") == 0 ||
              (g_ascii_strcasecmp(scheme, "http") == 0 && host_is_loopback(g_uri_get_host(uri))))) {
                g_set_error(
                        error, FZ_SIGN_IN_ERROR, FZ_SIGN_IN_ERROR_BAD_SETTINGS,
                        _("The sign-in address “%s” must start with https:// (plain http:// is allowed only "
                          "for this computer). Correct it in the settings."),
                        auth_url);
                return NULL;
        }
        if (g_uri_get_query(uri) != NULL || g_uri_get_fragment(uri) != NULL ||
            g_uri_get_userinfo(uri) != NULL) {
                g_set_error(error, FZ_SIGN_IN_ERROR, FZ_SIGN_IN_ERROR_BAD_SETTINGS,
                            _("The sign-in address “%s” must not carry a query, fragment or user name. "
                              "Correct it "
                              "in the settings."),
                            auth_url);
                return NULL;
        }
        if (!fz_sign_in_slug_is_valid(account_slug)) {
                g_set_error_literal(
                        error, FZ_SIGN_IN_ERROR, FZ_SIGN_IN_ERROR_BAD_SETTINGS,
                        _("The account ID in the settings may only contain letters, digits, “_” and "
                          "“-”. Correct it in the settings."));
                return NULL;
        }

        base_path = g_uri_get_path(uri);
        base_len = strlen(base_path);
        while (base_len > 0 && base_path[base_len - 1] == '/')
                base_len--;
        /* The slug's characters need no escaping (checked above). */
        path = g_strdup_printf("%.*s/%s", (int)base_len, base_path, account_slug);
        query = g_strdup_printf("as=gui-client&nonce=%s&state=%s", req->nonce, req->state);
        built = g_uri_build(G_URI_FLAGS_ENCODED, scheme, NULL, g_uri_get_host(uri), g_uri_get_port(uri),
                            path, query, NULL);
        explicit_bzero(query, strlen(query));
        return g_uri_to_string(built);
}

gboolean fz_sign_in_is_callback_uri(const gchar *uri) {
        gsize n = strlen(FZ_SIGN_IN_SCHEME);

        return uri != NULL && g_ascii_strncasecmp(uri, FZ_SIGN_IN_SCHEME, n) == 0 && uri[n] == ':';
}

static gboolean bad(GError **error, const gchar *why) {
        g_set_error(error, FZ_SIGN_IN_ERROR, FZ_SIGN_IN_ERROR_BAD_CALLBACK,
                    _("The sign-in link is not valid (%s). Sign in again."), why);
        return FALSE;
}

static gboolean display_text(const gchar *s) {
        if (!g_utf8_validate(s, -1, NULL))
                return FALSE;
        for (const gchar *p = s; *p; p = g_utf8_next_char(p))
                if (g_unichar_iscntrl(g_utf8_get_char(p)))
                        return FALSE;
        return TRUE;
}

/* Stores @value into *@slot, refusing a second occurrence. */
static gboolean take_param(gchar **slot, gchar **value, const gchar *name, GError **error) {
        if (*slot != NULL) {
                g_set_error(error, FZ_SIGN_IN_ERROR, FZ_SIGN_IN_ERROR_BAD_CALLBACK,
                            _("The sign-in link is not valid (“%s” given twice). Sign in again."), name);
                return FALSE;
        }
        *slot = g_steal_pointer(value);
        return TRUE;
}

gboolean fz_sign_in_callback_parse(const gchar *uri_string, FzSignInCallback *ret, GError **error) {
        g_autoptr(GUri) uri = NULL;
        FzSignInCallback cb = {};
        GUriParamsIter iter;
        const gchar *path, *query;
        gchar *attr, *value;
        GError *iter_error = NULL;

        g_return_val_if_fail(ret != NULL, FALSE);
        memset(ret, 0, sizeof(*ret));

        if (uri_string == NULL || strlen(uri_string) > FZ_SIGN_IN_MAX_URI_LEN)
                return bad(error, _("too long"));
        if (!fz_sign_in_is_callback_uri(uri_string))
                return bad(error, _("wrong scheme"));
        /* NON_DNS: the "host" is a fixed word with underscores, not a DNS name. */
        uri = g_uri_parse(uri_string, G_URI_FLAGS_ENCODED_QUERY | G_URI_FLAGS_NON_DNS, NULL);
        if (uri == NULL)
                return bad(error, _("malformed"));
        if (g_strcmp0(g_uri_get_host(uri), FZ_SIGN_IN_CALLBACK_HOST) != 0 ||
            g_uri_get_userinfo(uri) != NULL || g_uri_get_port(uri) != -1)
                return bad(error, _("wrong destination"));
        path = g_uri_get_path(uri);
        if (*path != '\0' && strcmp(path, "/") != 0)
                return bad(error, _("wrong path"));
        query = g_uri_get_query(uri);
        if (query == NULL)
                return bad(error, _("no parameters"));

        g_uri_params_iter_init(&iter, query, -1, "&", G_URI_PARAMS_WWW_FORM);
        while (g_uri_params_iter_next(&iter, &attr, &value, &iter_error)) {
                g_autofree gchar *a = attr;
                gchar **slot = NULL;
                gboolean ok = TRUE;

                if (strcmp(a, "account_slug") == 0)
                        slot = &cb.account_slug;
                else if (strcmp(a, "actor_name") == 0)
                        slot = &cb.actor_name;
                else if (strcmp(a, "fragment") == 0)
                        slot = &cb.fragment;
                else if (strcmp(a, "state") == 0)
                        slot = &cb.state;
                if (slot != NULL)
                        ok = take_param(slot, &value, a, error);
                if (value != NULL) {
                        explicit_bzero(value, strlen(value));
                        g_free(value);
                }
                if (!ok) {
                        fz_sign_in_callback_clear(&cb);
                        return FALSE;
                }
        }
        if (iter_error != NULL) {
                g_error_free(iter_error);
                fz_sign_in_callback_clear(&cb);
                return bad(error, _("badly encoded parameters"));
        }

        /* Percent-decoding can yield NULs: the lengths above would then lie, so reject. */
        if (cb.account_slug == NULL || !fz_sign_in_slug_is_valid(cb.account_slug) ||
            *cb.account_slug == '\0') {
                fz_sign_in_callback_clear(&cb);
                return bad(error, _("missing or invalid account_slug"));
        }
        if (cb.actor_name == NULL || strlen(cb.actor_name) > FZ_SIGN_IN_MAX_NAME_LEN ||
            !display_text(cb.actor_name)) {
                fz_sign_in_callback_clear(&cb);
                return bad(error, _("missing or invalid actor_name"));
        }
        if (cb.fragment == NULL || *cb.fragment == '\0' ||
            strlen(cb.fragment) > FZ_SIGN_IN_MAX_FRAGMENT_LEN || !printable_ascii(cb.fragment)) {
                fz_sign_in_callback_clear(&cb);
                return bad(error, _("missing or invalid fragment"));
        }
        if (cb.state == NULL || *cb.state == '\0' || strlen(cb.state) > FZ_SIGN_IN_MAX_NAME_LEN ||
            !printable_ascii(cb.state)) {
                fz_sign_in_callback_clear(&cb);
                return bad(error, _("missing or invalid state"));
        }
        *ret = cb;
        return TRUE;
}

void fz_sign_in_callback_clear(FzSignInCallback *cb) {
        if (cb == NULL)
                return;
        g_clear_pointer(&cb->account_slug, g_free);
        g_clear_pointer(&cb->actor_name, g_free);
        g_clear_pointer(&cb->fragment, fz_sign_in_token_free);
        g_clear_pointer(&cb->state, g_free);
}

gboolean fz_sign_in_secret_equal(const gchar *a, const gchar *b) {
        gsize la = strlen(a), lb = strlen(b);
        /* Walk the longer string entirely, whatever matched so far. */
        gsize n = MAX(la, lb);
        volatile guint8 diff = la != lb;

        for (gsize i = 0; i < n; i++) {
                guint8 ca = i < la ? (guint8)a[i] : 0;
                guint8 cb = i < lb ? (guint8)b[i] : 0;
                diff |= ca ^ cb;
        }
        return diff == 0;
}

gboolean fz_sign_in_callback_check(const FzSignInRequest *req, const FzSignInCallback *cb, GError **error) {
        g_return_val_if_fail(cb != NULL && cb->state != NULL, FALSE);

        if (req == NULL) {
                g_set_error_literal(
                        error, FZ_SIGN_IN_ERROR, FZ_SIGN_IN_ERROR_WRONG_STATE,
                        _("A sign-in link arrived, but no sign-in was started here. If you started one, "
                          "click Sign In again."));
                return FALSE;
        }
        if (!fz_sign_in_secret_equal(req->state, cb->state)) {
                g_set_error_literal(
                        error, FZ_SIGN_IN_ERROR, FZ_SIGN_IN_ERROR_WRONG_STATE,
                        _("The sign-in link does not belong to the sign-in started here, so it was "
                          "ignored. Finish the sign-in in the browser tab Firezone opened, or start "
                          "again."));
                return FALSE;
        }
        return TRUE;
}

gchar *fz_sign_in_make_token(const FzSignInRequest *req, const FzSignInCallback *cb) {
        g_return_val_if_fail(req != NULL && cb != NULL && cb->fragment != NULL, NULL);
        return g_strconcat(req->nonce, cb->fragment, NULL);
}

void fz_sign_in_token_free(gchar *token) {
        if (token == NULL)
                return;
        explicit_bzero(token, strlen(token));
        g_free(token);
}
