/* SPDX-License-Identifier: Apache-2.0 */
#include "fz-text.h"

#include <string.h>

#define ELLIPSIS "…"

/* Bidirectional formatting characters: they change the order in which the text after them
 * is displayed (a name could make "moc.elgoog" read as "google.com"). Strong RTL letters
 * are untouched: Arabic and Hebrew still show as they should. */
static gboolean is_bidi_control(gunichar c) {
        return (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069) || c == 0x200E || c == 0x200F ||
               c == 0x061C;
}

static gboolean is_break(gunichar c) {
        return c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f' || c == 0x85 || c == 0x2028 ||
               c == 0x2029;
}

/* Characters that belong to the one before them: a cut must not separate them from it. */
static gboolean is_attached(gunichar c) {
        return g_unichar_ismark(c) || c == 0x200D /* ZWJ */ || (c >= 0xFE00 && c <= 0xFE0F) ||
               (c >= 0xE0100 && c <= 0xE01EF);
}

gchar *fz_text_sanitize(const gchar *text, gsize max_chars) {
        g_autofree gchar *valid = NULL;
        GString *out;
        gsize n_chars = 0, budget, used = 0;
        gboolean space_pending = FALSE;
        const gchar *cut;

        if (text == NULL)
                return g_strdup("");
        valid = g_utf8_make_valid(text, -1);
        out = g_string_sized_new(strlen(valid));
        for (const gchar *p = valid; *p != '\0'; p = g_utf8_next_char(p)) {
                gunichar c = g_utf8_get_char(p);

                if (is_break(c)) {
                        /* Runs of breaks become one space, and none at either end. */
                        space_pending = n_chars > 0;
                        continue;
                }
                if (g_unichar_iscntrl(c) || is_bidi_control(c) || c == 0xFEFF)
                        continue;
                if (space_pending) {
                        g_string_append_c(out, ' ');
                        n_chars++;
                        space_pending = FALSE;
                }
                g_string_append_unichar(out, c);
                n_chars++;
        }
        if (max_chars == 0 || n_chars <= max_chars)
                return g_string_free(out, FALSE);

        /* Keep whole clusters (a character and the marks attached to it) while they fit,
         * leaving room for the ellipsis. */
        budget = max_chars - 1;
        cut = out->str;
        for (const gchar *p = out->str; *p != '\0';) {
                const gchar *q = g_utf8_next_char(p);
                gunichar prev = g_utf8_get_char(p);
                gsize len = 1;

                /* After a zero-width joiner, the next character belongs to the cluster too. */
                while (*q != '\0' && (is_attached(g_utf8_get_char(q)) || prev == 0x200D)) {
                        prev = g_utf8_get_char(q);
                        q = g_utf8_next_char(q);
                        len++;
                }
                if (used + len > budget)
                        break;
                used += len;
                cut = p = q;
        }
        g_string_truncate(out, (gsize)(cut - out->str));
        while (out->len > 0 && out->str[out->len - 1] == ' ')
                g_string_truncate(out, out->len - 1);
        g_string_append(out, ELLIPSIS);
        return g_string_free(out, FALSE);
}

gchar *fz_text_markup(const gchar *text, gsize max_chars) {
        g_autofree gchar *clean = fz_text_sanitize(text, max_chars);

        return g_markup_escape_text(clean, -1);
}

gchar *fz_text_mnemonic_safe(const gchar *text, gsize max_chars) {
        g_autofree gchar *clean = fz_text_sanitize(text, max_chars);
        GString *out = g_string_sized_new(strlen(clean));

        for (const gchar *p = clean; *p != '\0'; p++) {
                if (*p == '_')
                        g_string_append_c(out, '_');
                g_string_append_c(out, *p);
        }
        return g_string_free(out, FALSE);
}

gboolean fz_text_is_clean(const gchar *text) {
        g_autofree gchar *clean = fz_text_sanitize(text, 0);

        return g_strcmp0(clean, text != NULL ? text : "") == 0;
}
