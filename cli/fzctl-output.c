/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "fzctl-output.h"

typedef enum {
        NODE_OBJECT,
        NODE_ARRAY,
        NODE_STRING,
        NODE_BOOL,
        NODE_UINT,
        NODE_TIME,
} NodeType;

typedef struct {
        char *key;
        char *label;
        FzctlNode *value;
} Field;

struct FzctlNode {
        NodeType type;
        char *string;     /* NODE_STRING; NODE_ARRAY: text when empty */
        guint64 number;   /* NODE_BOOL, NODE_UINT, NODE_TIME; NODE_ARRAY: 1 if inline */
        GPtrArray *items; /* NODE_OBJECT: Field*; NODE_ARRAY: FzctlNode* */
};

static void field_free(Field *f) {
        g_free(f->key);
        g_free(f->label);
        fzctl_node_free(f->value);
        g_free(f);
}

static FzctlNode *node_new(NodeType type) {
        FzctlNode *n = g_new0(FzctlNode, 1);
        n->type = type;
        return n;
}

FzctlNode *fzctl_object_new(void) {
        FzctlNode *n = node_new(NODE_OBJECT);
        n->items = g_ptr_array_new_with_free_func((GDestroyNotify)field_free);
        return n;
}

FzctlNode *fzctl_array_new(const char *empty_text) {
        FzctlNode *n = node_new(NODE_ARRAY);
        n->items = g_ptr_array_new_with_free_func((GDestroyNotify)fzctl_node_free);
        n->string = g_strdup(empty_text);
        return n;
}

FzctlNode *fzctl_list_new(void) {
        FzctlNode *n = fzctl_array_new(NULL);
        n->number = 1;
        return n;
}

void fzctl_node_free(FzctlNode *node) {
        if (node == NULL)
                return;
        g_free(node->string);
        if (node->items != NULL)
                g_ptr_array_unref(node->items);
        g_free(node);
}

void fzctl_object_add_node(FzctlNode *object, const char *key, const char *label, FzctlNode *child) {
        Field *f;

        g_return_if_fail(object != NULL && object->type == NODE_OBJECT);
        f = g_new0(Field, 1);
        f->key = g_strdup(key);
        f->label = g_strdup(label);
        f->value = child;
        g_ptr_array_add(object->items, f);
}

void fzctl_object_add_string(FzctlNode *object, const char *key, const char *label, const char *value) {
        FzctlNode *n = node_new(NODE_STRING);
        n->string = g_strdup(value != NULL ? value : "");
        fzctl_object_add_node(object, key, label, n);
}

void fzctl_object_add_bool(FzctlNode *object, const char *key, const char *label, gboolean value) {
        FzctlNode *n = node_new(NODE_BOOL);
        n->number = !!value;
        fzctl_object_add_node(object, key, label, n);
}

void fzctl_object_add_uint(FzctlNode *object, const char *key, const char *label, guint64 value) {
        FzctlNode *n = node_new(NODE_UINT);
        n->number = value;
        fzctl_object_add_node(object, key, label, n);
}

void fzctl_object_add_time_usec(FzctlNode *object, const char *key, const char *label, guint64 usec) {
        FzctlNode *n = node_new(NODE_TIME);
        n->number = usec;
        fzctl_object_add_node(object, key, label, n);
}

void fzctl_array_add(FzctlNode *array, FzctlNode *child) {
        g_return_if_fail(array != NULL && array->type == NODE_ARRAY);
        g_ptr_array_add(array->items, child);
}

/* ---- control characters ---------------------------------------------------------------- */

/* Text from the daemon comes from the portal and from other users (account, actor name,
 * resource names, errors). On a terminal, ESC or CSI in it would be a command, and a
 * newline a line of its own. Control characters: C0 but tab, DEL, and C1 (U+0080-U+009F,
 * in UTF-8 C2 80 to C2 9F). */
static gboolean is_c1(const unsigned char *p) {
        return p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f;
}

/* Appends one character of s at *p; if it is a control character, as an escape in the
 * style of C and JSON (\n, \r, \t where allowed, \u00XX otherwise). Advances *p. */
static void append_char(GString *out, const unsigned char **p, gboolean keep_tab) {
        const unsigned char *c = *p;

        if (*c == '\n')
                g_string_append(out, "\\n");
        else if (*c == '\r')
                g_string_append(out, "\\r");
        else if (*c == '\t')
                g_string_append(out, keep_tab ? "\t" : "\\t");
        else if (*c < 0x20 || *c == 0x7f)
                g_string_append_printf(out, "\\u%04x", *c);
        else if (is_c1(c)) {
                g_string_append_printf(out, "\\u%04x", c[1]);
                c++;
        } else
                g_string_append_c(out, (char)*c);
        *p = c + 1;
}

char *fzctl_escape(const char *s) {
        GString *out = g_string_sized_new(strlen(s));

        for (const unsigned char *p = (const unsigned char *)s; *p;)
                append_char(out, &p, TRUE);
        return g_string_free(out, FALSE);
}

static void append_escaped(GString *out, const char *s) {
        for (const unsigned char *p = (const unsigned char *)s; *p;)
                append_char(out, &p, TRUE);
}

static gboolean has_control(const char *s) {
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if (*p < 0x20 || *p == 0x7f || is_c1(p))
                        return TRUE;
        return FALSE;
}

/* ---- JSON ------------------------------------------------------------------------------- */

static void json_string(GString *out, const char *s) {
        g_string_append_c(out, '"');
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                switch (*p) {
                case '"':
                        g_string_append(out, "\\\"");
                        break;
                case '\\':
                        g_string_append(out, "\\\\");
                        break;
                case '\n':
                        g_string_append(out, "\\n");
                        break;
                case '\r':
                        g_string_append(out, "\\r");
                        break;
                case '\t':
                        g_string_append(out, "\\t");
                        break;
                default:
                        if (*p < 0x20 || *p == 0x7f)
                                g_string_append_printf(out, "\\u%04x", *p);
                        else if (is_c1(p)) {
                                /* Valid JSON raw, but a terminal showing it would act on it. */
                                g_string_append_printf(out, "\\u%04x", p[1]);
                                p++;
                        } else
                                g_string_append_c(out, (char)*p);
                }
        }
        g_string_append_c(out, '"');
}

static void json_node(GString *out, FzctlNode *n) {
        switch (n->type) {
        case NODE_OBJECT:
                g_string_append_c(out, '{');
                for (guint i = 0; i < n->items->len; i++) {
                        Field *f = g_ptr_array_index(n->items, i);
                        if (i > 0)
                                g_string_append(out, ", ");
                        json_string(out, f->key);
                        g_string_append(out, ": ");
                        json_node(out, f->value);
                }
                g_string_append_c(out, '}');
                break;
        case NODE_ARRAY:
                g_string_append_c(out, '[');
                for (guint i = 0; i < n->items->len; i++) {
                        if (i > 0)
                                g_string_append(out, ", ");
                        json_node(out, g_ptr_array_index(n->items, i));
                }
                g_string_append_c(out, ']');
                break;
        case NODE_STRING:
                json_string(out, n->string);
                break;
        case NODE_BOOL:
                g_string_append(out, n->number ? "true" : "false");
                break;
        case NODE_UINT:
        case NODE_TIME:
                g_string_append_printf(out, "%" G_GUINT64_FORMAT, n->number);
                break;
        }
}

/* ---- text ------------------------------------------------------------------------------- */

static char *time_text(guint64 usec) {
        g_autoptr(GDateTime) t = NULL;

        if (usec == 0)
                return g_strdup("never");
        t = g_date_time_new_from_unix_local((gint64)(usec / G_USEC_PER_SEC));
        if (t == NULL)
                return g_strdup_printf("%" G_GUINT64_FORMAT " µs", usec);
        return g_date_time_format(t, "%Y-%m-%d %H:%M:%S %Z");
}

/* A value on one line: scalars as themselves; an object as its first value, with the
 * others in parentheses; an array as its items joined by ", ". */
static void inline_node(GString *out, FzctlNode *n) {
        g_autofree char *t = NULL;

        switch (n->type) {
        case NODE_STRING:
                if (n->string[0] != '\0')
                        append_escaped(out, n->string);
                else
                        g_string_append(out, "-");
                break;
        case NODE_BOOL:
                g_string_append(out, n->number ? "yes" : "no");
                break;
        case NODE_UINT:
                g_string_append_printf(out, "%" G_GUINT64_FORMAT, n->number);
                break;
        case NODE_TIME:
                t = time_text(n->number);
                g_string_append(out, t);
                break;
        case NODE_ARRAY:
                if (n->items->len == 0)
                        g_string_append(out, "-");
                for (guint i = 0; i < n->items->len; i++) {
                        if (i > 0)
                                g_string_append(out, ", ");
                        inline_node(out, g_ptr_array_index(n->items, i));
                }
                break;
        case NODE_OBJECT:
                for (guint i = 0; i < n->items->len; i++) {
                        Field *f = g_ptr_array_index(n->items, i);
                        if (i == 1)
                                g_string_append(out, " (");
                        else if (i > 1)
                                g_string_append(out, ", ");
                        inline_node(out, f->value);
                }
                if (n->items->len > 1)
                        g_string_append_c(out, ')');
                break;
        }
}

static void text_node(GString *out, FzctlNode *n, guint indent);

static void text_object(GString *out, FzctlNode *n, guint indent) {
        gsize width = 0;

        for (guint i = 0; i < n->items->len; i++) {
                Field *f = g_ptr_array_index(n->items, i);
                width = MAX(width, (gsize)g_utf8_strlen(f->label, -1));
        }
        for (guint i = 0; i < n->items->len; i++) {
                Field *f = g_ptr_array_index(n->items, i);
                gsize pad = width - (gsize)g_utf8_strlen(f->label, -1);
                gboolean block =
                        f->value->type == NODE_ARRAY && !f->value->number && f->value->items->len > 0;

                g_string_append_printf(out, "%*s%s:", (int)indent, "", f->label);
                if (block) {
                        /* A list of records under a label: each as its own indented block. */
                        g_string_append_c(out, '\n');
                        text_node(out, f->value, indent + 2);
                        continue;
                }
                g_string_append_printf(out, "%*s ", (int)pad, "");
                inline_node(out, f->value);
                g_string_append_c(out, '\n');
        }
}

static void text_node(GString *out, FzctlNode *n, guint indent) {
        switch (n->type) {
        case NODE_OBJECT:
                text_object(out, n, indent);
                break;
        case NODE_ARRAY:
                if (n->items->len == 0 && n->string != NULL) {
                        g_string_append_printf(out, "%*s%s\n", (int)indent, "", n->string);
                        break;
                }
                for (guint i = 0; i < n->items->len; i++) {
                        FzctlNode *item = g_ptr_array_index(n->items, i);
                        if (i > 0 && item->type == NODE_OBJECT)
                                g_string_append_c(out, '\n');
                        if (item->type == NODE_OBJECT)
                                text_object(out, item, indent);
                        else {
                                g_string_append_printf(out, "%*s", (int)indent, "");
                                inline_node(out, item);
                                g_string_append_c(out, '\n');
                        }
                }
                break;
        default:
                g_string_append_printf(out, "%*s", (int)indent, "");
                inline_node(out, n);
                g_string_append_c(out, '\n');
        }
}

/* ---- line (key=value) ------------------------------------------------------------------- */

static void line_value(GString *out, const char *s) {
        gboolean quote = *s == '\0' || has_control(s);

        for (const char *p = s; *p && !quote; p++)
                if (g_ascii_isspace(*p) || *p == '"' || *p == '\\' || *p == '=')
                        quote = TRUE;
        if (!quote) {
                g_string_append(out, s);
                return;
        }
        /* One event, one line: every control character escaped, tab too. */
        g_string_append_c(out, '"');
        for (const unsigned char *p = (const unsigned char *)s; *p;) {
                if (*p == '"' || *p == '\\') {
                        g_string_append_c(out, '\\');
                        g_string_append_c(out, (char)*p++);
                } else
                        append_char(out, &p, FALSE);
        }
        g_string_append_c(out, '"');
}

static void line_node(GString *out, FzctlNode *n) {
        g_autoptr(GString) v = g_string_new(NULL);

        if (n->type != NODE_OBJECT) {
                inline_node(v, n);
                line_value(out, v->str);
                return;
        }
        for (guint i = 0; i < n->items->len; i++) {
                Field *f = g_ptr_array_index(n->items, i);
                if (i > 0)
                        g_string_append_c(out, ' ');
                g_string_append_printf(out, "%s=", f->key);
                g_string_truncate(v, 0);
                if (f->value->type == NODE_STRING)
                        g_string_append(v, f->value->string);
                else if (f->value->type == NODE_ARRAY) {
                        /* Lists by their items' first values: "resources=GitLab,Wiki". */
                        for (guint j = 0; j < f->value->items->len; j++) {
                                FzctlNode *item = g_ptr_array_index(f->value->items, j);
                                if (j > 0)
                                        g_string_append_c(v, ',');
                                if (item->type == NODE_OBJECT && item->items->len > 0)
                                        inline_node(v, ((Field *)g_ptr_array_index(item->items, 0))->value);
                                else
                                        inline_node(v, item);
                        }
                } else
                        inline_node(v, f->value);
                line_value(out, v->str);
        }
}

char *fzctl_render(FzctlNode *node, FzctlOutput output) {
        GString *out = g_string_new(NULL);

        switch (output) {
        case FZCTL_OUTPUT_JSON:
                json_node(out, node);
                g_string_append_c(out, '\n');
                break;
        case FZCTL_OUTPUT_LINE:
                line_node(out, node);
                g_string_append_c(out, '\n');
                break;
        case FZCTL_OUTPUT_TEXT:
                text_node(out, node, 0);
                break;
        }
        return g_string_free(out, FALSE);
}
