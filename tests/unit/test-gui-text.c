/* SPDX-License-Identifier: Apache-2.0 */
/* fz-text: outside text made fit to show (issues #15 and #18): hostile strings in, valid,
 * bounded, control-free UTF-8 out. */
#include <string.h>

#include "fz-check.h"
#include "fz-text.h"

static void assert_shown(const gchar *in, gsize max, const gchar *want) {
        g_autofree gchar *got = fz_text_sanitize(in, max);
        ck_assert_msg(g_strcmp0(got, want) == 0, "sanitize(%s, %zu) = “%s”, want “%s”", in ? in : "NULL", max, got,
                      want);
}

/* What every result must be, whatever went in. */
static void assert_fit(const gchar *out, gsize max) {
        ck_assert(g_utf8_validate(out, -1, NULL));
        if (max > 0)
                ck_assert_uint_le(g_utf8_strlen(out, -1), max);
        for (const gchar *p = out; *p; p = g_utf8_next_char(p)) {
                gunichar c = g_utf8_get_char(p);
                ck_assert_msg(!g_unichar_iscntrl(c), "control U+%04X left in “%s”", c, out);
                ck_assert_msg(!((c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069)),
                              "bidi control U+%04X left", c);
        }
}

static void on_text(GMarkupParseContext *ctx, const gchar *text, gsize len, gpointer user_data,
                    GError **error) {
        g_string_append_len(user_data, text, (gssize)len);
}

/* The text a markup string shows (it must be well-formed). Returns a static buffer. */
static const gchar *markup_text(const gchar *markup) {
        static gchar *last;
        static const GMarkupParser parser = {NULL, NULL, on_text, NULL, NULL};
        g_autoptr(GString) text = g_string_new(NULL);
        g_autoptr(GMarkupParseContext) ctx = g_markup_parse_context_new(&parser, 0, text, NULL);
        g_autofree gchar *doc = g_strconcat("<t>", markup, "</t>", NULL);
        g_autoptr(GError) error = NULL;

        ck_assert_msg(g_markup_parse_context_parse(ctx, doc, -1, &error) &&
                              g_markup_parse_context_end_parse(ctx, &error),
                      "not well-formed: %s", error ? error->message : "?");
        g_free(last);
        last = g_strdup(text->str);
        return last;
}

START_TEST(test_plain_text_unchanged) {
        assert_shown("Jane Doe", 0, "Jane Doe");
        assert_shown("Jane Doe", 8, "Jane Doe");
        assert_shown("Zoë Ångström — 東京 — ‏مرحبا", 0, "Zoë Ångström — 東京 — مرحبا");
        assert_shown(NULL, 10, "");
        assert_shown("", 10, "");
        ck_assert(fz_text_is_clean("GitLab (Headquarters)"));
        ck_assert(!fz_text_is_clean("a\nb"));
}
END_TEST

START_TEST(test_invalid_utf8_is_replaced) {
        assert_shown("a\xff" "b", 0, "a\xef\xbf\xbd" "b");
        /* A character cut in half at the end (what a byte-wise %.64s leaves). */
        assert_shown("abc\xc3", 0, "abc\xef\xbf\xbd");
        assert_shown("\xe2\x82", 0, "\xef\xbf\xbd\xef\xbf\xbd");
        /* Overlong encoding of "/" and an encoded surrogate: not UTF-8. */
        {
                g_autofree gchar *a = fz_text_sanitize("\xc0\xaf", 0);
                g_autofree gchar *b = fz_text_sanitize("\xed\xa0\x80", 0);
                assert_fit(a, 0);
                assert_fit(b, 0);
                ck_assert(strchr(a, '/') == NULL);
        }
}
END_TEST

START_TEST(test_control_characters) {
        /* A terminal escape, a NUL-free C0 mix, DEL and C1. */
        assert_shown("red\x1b[31mtext", 0, "red[31mtext");
        assert_shown("a\x01\x02\x7f" "b\xc2\x9b" "c", 0, "abc");
        /* Line breaks become one space; none at the ends. */
        assert_shown("\n\nline one\r\n\tline two\n", 0, "line one line two");
        assert_shown("a\xe2\x80\xa8" "b\xe2\x80\xa9" "c", 0, "a b c");
        /* A forged log line stays on one line. */
        assert_shown("refused\n<0>EMERGENCY", 0, "refused <0>EMERGENCY");
}
END_TEST

START_TEST(test_bidi_controls) {
        /* RLO would show "exe.gnp" as "png.exe". */
        assert_shown("\xe2\x80\xae" "gnp.exe", 0, "gnp.exe");
        /* LRE RLE PDF LRO, isolates, marks, ALM: all go. */
        assert_shown("\xe2\x80\xaa" "a\xe2\x80\xab" "b\xe2\x80\xac" "c\xe2\x80\xad" "d", 0, "abcd");
        assert_shown("\xe2\x81\xa6" "x\xe2\x81\xa7" "y\xe2\x81\xa8" "z\xe2\x81\xa9", 0, "xyz");
        assert_shown("\xe2\x80\x8e" "a\xe2\x80\x8f" "b\xd8\x9c" "c", 0, "abc");
        /* The BOM, too. */
        assert_shown("\xef\xbb\xbf" "name", 0, "name");
}
END_TEST

START_TEST(test_markup_is_escaped) {
        g_autofree gchar *m = fz_text_markup("<b>Jane</b> & <a href='https://evil'>x</a>", 0);
        g_autofree gchar *t = fz_text_markup("<span foreground=\"red\">a\nb</span>", 0);

        ck_assert_str_eq(m, "&lt;b&gt;Jane&lt;/b&gt; &amp; &lt;a href=&apos;https://evil&apos;&gt;x&lt;/a&gt;");
        ck_assert_str_eq(t, "&lt;span foreground=&quot;red&quot;&gt;a b&lt;/span&gt;");
        /* Escaped text is well-formed markup whose text is the original. */
        ck_assert_str_eq(markup_text(m), "<b>Jane</b> & <a href='https://evil'>x</a>");
        ck_assert_str_eq(markup_text(t), "<span foreground=\"red\">a b</span>");
}
END_TEST

START_TEST(test_truncation_at_character_boundaries) {
        g_autoptr(GString) long_text = g_string_new(NULL);
        g_autofree gchar *out = NULL;

        assert_shown("abcdef", 6, "abcdef");
        assert_shown("abcdefg", 6, "abcde…");
        /* Two-byte characters: a byte-wise cut would leave half of one. */
        assert_shown("éééééééé", 5, "éééé…");
        /* Four-byte characters. */
        assert_shown("😀😀😀😀😀😀", 4, "😀😀😀…");
        /* No space right before the ellipsis. */
        assert_shown("ab cdefgh", 4, "ab…");
        /* A base character keeps its combining marks, or goes with them. */
        assert_shown("e\xcc\x81" "e\xcc\x81" "e\xcc\x81" "e\xcc\x81", 6, "e\xcc\x81" "e\xcc\x81" "…");
        assert_shown("ab" "e\xcc\x81\xcc\x82\xcc\x83" "cd", 5, "ab…");
        /* An emoji sequence joined by ZWJ is not split. */
        assert_shown("x" "👩\xe2\x80\x8d👩\xe2\x80\x8d👧" "yz", 4, "x…");
        /* Very long non-ASCII text. */
        for (int i = 0; i < 5000; i++)
                g_string_append(long_text, "Ωμέγα 東京 ");
        out = fz_text_sanitize(long_text->str, FZ_TEXT_MESSAGE_MAX);
        assert_fit(out, FZ_TEXT_MESSAGE_MAX);
        ck_assert(g_str_has_suffix(out, "…"));
        ck_assert_uint_eq(g_utf8_strlen(out, -1), FZ_TEXT_MESSAGE_MAX);
}
END_TEST

START_TEST(test_mnemonic_safe) {
        g_autofree gchar *a = fz_text_mnemonic_safe("my_db_1", 0);
        g_autofree gchar *b = fz_text_mnemonic_safe("__x\n", 0);

        ck_assert_str_eq(a, "my__db__1");
        ck_assert_str_eq(b, "____x");
}
END_TEST

/* Random bytes (a fixed seed, so a failure repeats): whatever goes in, what comes out is
 * valid, bounded, control-free UTF-8. */
START_TEST(test_random_input_always_fits) {
        g_autoptr(GRand) rand = g_rand_new_with_seed(20261203);
        static const guint8 alphabet[][4] = {
                {'a'}, {' '}, {'\n'}, {0x1b}, {0x7f}, {0xc2, 0x9b}, {0xc3, 0xa9}, {0xcc, 0x81},
                {0xe2, 0x80, 0xae}, {0xe2, 0x81, 0xa6}, {0xe2, 0x80, 0x8d}, {0xf0, 0x9f, 0x98, 0x80},
                {0xff}, {0xc3}, {0xe2, 0x82}, {0xed, 0xa0, 0x80},
        };

        for (int round = 0; round < 20000; round++) {
                gsize max = (gsize)g_rand_int_range(rand, 0, 40);
                gint n = g_rand_int_range(rand, 0, 80);
                g_autoptr(GString) in = g_string_new(NULL);
                g_autofree gchar *out = NULL;
                g_autofree gchar *again = NULL;

                for (gint i = 0; i < n; i++) {
                        const guint8 *a = alphabet[g_rand_int_range(rand, 0, G_N_ELEMENTS(alphabet))];
                        for (gint k = 0; k < 4 && (k == 0 || a[k] != 0); k++)
                                g_string_append_c(in, (gchar)a[k]);
                }
                out = fz_text_sanitize(in->str, max);
                assert_fit(out, max);
                /* Clean text stays as it is: sanitizing twice changes nothing. */
                again = fz_text_sanitize(out, max);
                ck_assert_str_eq(again, out);
        }
}
END_TEST

static Suite *text_suite(void) {
        Suite *s = suite_create("gui-text");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_plain_text_unchanged);
        tcase_add_test(tc, test_invalid_utf8_is_replaced);
        tcase_add_test(tc, test_control_characters);
        tcase_add_test(tc, test_bidi_controls);
        tcase_add_test(tc, test_markup_is_escaped);
        tcase_add_test(tc, test_truncation_at_character_boundaries);
        tcase_add_test(tc, test_mnemonic_safe);
        tcase_add_test(tc, test_random_input_always_fits);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(text_suite)
