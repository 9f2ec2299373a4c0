/* SPDX-License-Identifier: Apache-2.0 */
/* Text that comes from outside the GUI (the daemon's errors, the portal's resource names,
 * the account and actor from a sign-in link, the keyring) made fit to show: in a label, a
 * tray menu or a notification. Pure GLib, unit-tested with hostile strings. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Bounds on what one piece of outside text may take on screen, in characters. */
#define FZ_TEXT_NAME_MAX    120
#define FZ_TEXT_ADDRESS_MAX 255
#define FZ_TEXT_MESSAGE_MAX 500

/* @text (NULL is "") as it may be shown: valid UTF-8 (each invalid byte becomes U+FFFD),
 * no control characters (line breaks and tabs become one space; the rest go), no
 * bidirectional embedding, override or isolate controls (they would reorder what follows
 * them on screen), and at most @max_chars characters (0: no bound), cut at a character
 * boundary — never between a character and its combining marks — and ended with "…".
 * Never NULL. */
gchar *fz_text_sanitize(const gchar *text, gsize max_chars);

/* fz_text_sanitize(), then escaped for Pango / notification markup. */
gchar *fz_text_markup(const gchar *text, gsize max_chars);

/* fz_text_sanitize(), then with each "_" doubled: for labels where "_" marks a mnemonic
 * (DBusMenu, GMenu). */
gchar *fz_text_mnemonic_safe(const gchar *text, gsize max_chars);

/* Whether @text is shown unchanged by fz_text_sanitize() with no bound. */
gboolean fz_text_is_clean(const gchar *text);

G_END_DECLS
