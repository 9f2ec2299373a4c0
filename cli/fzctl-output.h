/* SPDX-License-Identifier: Apache-2.0 */
/* The output codec of firezonectl: a command builds one tree of fields, and the same tree
 * is rendered as text or as JSON. Text and JSON therefore always carry the same fields in
 * the same order; only the presentation differs (labels vs keys, "yes" vs true). */
#pragma once

#include <glib.h>

typedef enum {
        FZCTL_OUTPUT_TEXT, /* aligned "Label: value" blocks, for people */
        FZCTL_OUTPUT_LINE, /* one line of key=value pairs per node (monitor) */
        FZCTL_OUTPUT_JSON, /* one JSON value on one line */
} FzctlOutput;

typedef struct FzctlNode FzctlNode;

FzctlNode *fzctl_object_new(void);
/* A list of records, shown as blocks in text. @empty_text: what the text output says
 * when it is empty, e.g. "No resources." */
FzctlNode *fzctl_array_new(const char *empty_text);
/* A short list, shown on one line in text ("HQ (site-1), Branch (site-2)"). */
FzctlNode *fzctl_list_new(void);
void fzctl_node_free(FzctlNode *node);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FzctlNode, fzctl_node_free)

/* Fields of an object, in output order. @key names it in JSON and line output, @label
 * in text output. Strings may be NULL (rendered as ""). */
void fzctl_object_add_string(FzctlNode *object, const char *key, const char *label, const char *value);
void fzctl_object_add_bool(FzctlNode *object, const char *key, const char *label, gboolean value);
void fzctl_object_add_uint(FzctlNode *object, const char *key, const char *label, guint64 value);
/* Microseconds since the epoch: an integer in JSON, a local date in text; 0 is "never". */
void fzctl_object_add_time_usec(FzctlNode *object, const char *key, const char *label, guint64 usec);
/* Takes ownership of @child. */
void fzctl_object_add_node(FzctlNode *object, const char *key, const char *label, FzctlNode *child);
void fzctl_array_add(FzctlNode *array, FzctlNode *child);

/* s with its control characters escaped (C0 but tab, DEL, C1: see fzctl-output.c), for
 * text from the daemon that a command prints itself. Free with g_free(). The renderings
 * below do the same to every string they print. */
char *fzctl_escape(const char *s);

/* Returns the rendering, ending in a newline. */
char *fzctl_render(FzctlNode *node, FzctlOutput output);
