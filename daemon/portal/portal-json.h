/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Parsing of the portal's Phoenix frames and of the client payloads (init, resources,
 * interface) into the engine's types. Everything here reads untrusted input: every type is
 * checked before use, sizes and counts are capped, and errors say which field was wrong
 * (the text goes to the log, so it never quotes the input itself; ids are quoted only once
 * they passed the id check).
 *
 * Bad input is handled at the smallest level that can be dropped (docs/portal-protocol.md,
 * "Limits and bad input"):
 *   element  a resource, site, filter, upstream server, relay, candidate… that cannot be
 *            used is skipped with one log line (fzd_portal_skip) and the rest of the
 *            message applies; fzd_portal_each() walks a list that way;
 *   event    a payload that cannot be used as a whole is dropped by the engine with one
 *            log line; the connection stays up;
 *   session  only an init that cannot be applied, or the channel's own state going astray
 *            (join reply, phx_close), resets the connection.
 *
 * The JSON reader is our own (json-reader.h: one pass into an arena, five times json-parser's
 * speed on an init); everything reads a parsed document through the FzdJson accessors. */

#include <stdbool.h>
#include <stdint.h>

#include "engine.h"
#include "json-reader.h"
#include "macro.h"
#include "resource.h"

/* The largest frame we accept. The portal sends every resource in one "init" frame; a
 * resource renders to 300–500 bytes (ids, name, address, description, one site, filters),
 * so 8 MiB holds 10,000 resources with room to spare while bounding what a hostile server
 * can make us buffer and parse. */
#define FZD_PORTAL_MAX_FRAME        (8U * 1024U * 1024U)
/* What the parsed form of one frame may take, with the reader's scratch space (checked before
 * each allocation, see json-reader.c). A real init needs about three times its size;
 * millions of tiny values (e.g. 8 MiB of "0,0,0") would need far more: refused. */
#define FZD_PORTAL_MAX_PARSED       (8U * FZD_PORTAL_MAX_FRAME)
#define FZD_PORTAL_MAX_RESOURCES    50000U /* per init; FZD_RESOURCE_TABLE_MAX in all */
#define FZD_PORTAL_MAX_SITES        64U
#define FZD_PORTAL_MAX_UPSTREAMS    64U /* looked at; FZD_MAX_UPSTREAM_DNS are kept */
#define FZD_PORTAL_MAX_ID           128U
#define FZD_PORTAL_MAX_NAME         1024U
#define FZD_PORTAL_MAX_ADDRESS      1024U
#define FZD_PORTAL_MAX_DESCRIPTION  4096U
/* Skip lines written per message at warning level; the rest are counted in one line. */
#define FZD_PORTAL_SKIPS_LOGGED     10U

/* ---- JSON documents ------------------------------------------------------------------------- */

/* One parsed JSON text: every value lives in one arena, freed at once. */
typedef struct FzdPortalDoc {
        FzdJsonArena *arena; /* owns everything below */
        const FzdJson *root;
        char *text; /* the text it was read from in place, if it owns it (else NULL) */
} FzdPortalDoc;

/* Parses a JSON text of at most FZD_PORTAL_MAX_FRAME bytes. Returns 0, or -EMSGSIZE (too
 * large), -EBADMSG (empty, not JSON, a NUL byte, nested deeper than
 * FZD_JSON_MAX_DEPTH, too much to hold) or -ENOMEM, with a static
 * reason in *ret_reason. The text is not modified; the document does not point into it.
 * The reader does not check UTF-8 (the WebSocket layer refuses text frames that are not
 * UTF-8): whatever reaches display text or D-Bus is checked again (fzd_portal_text_ok). */
int fzd_portal_doc_parse(const char *data, size_t len, FzdPortalDoc *ret, const char **ret_reason);
void fzd_portal_doc_done(FzdPortalDoc *d);

/* ---- frames ---------------------------------------------------------------------------------- */

/* A Phoenix frame: {"topic": s, "event": s, "payload": any, "ref": null|int|"int"}. */
typedef struct FzdPortalFrame {
        FzdPortalDoc doc; /* owns everything below */
        const char *topic;
        const char *event;
        const FzdJson *payload; /* NULL if absent or JSON null */
        bool has_ref;
        uint64_t ref;
} FzdPortalFrame;

void fzd_portal_frame_done(FzdPortalFrame *f);

/* Parses one text frame. Returns 0, or what fzd_portal_doc_parse() returns, or -EINVAL (not
 * a Phoenix frame: not an object, no usable topic or event, a bad ref), with a static reason
 * in *ret_reason. */
int fzd_portal_frame_parse(const char *data, size_t len, FzdPortalFrame *ret, const char **ret_reason);
/* The same, taking data (len bytes from fzd_big_alloc(), big-alloc.h): it is read in place,
 * without a copy, and freed with the frame — or at once, if the frame cannot be read. For
 * large messages (the WebSocket layer hands its buffer over: fzd_ws_take_message()). */
int fzd_portal_frame_parse_owned(char *data, size_t len, FzdPortalFrame *ret, const char **ret_reason);

/* ---- tolerance: one way to skip what cannot be used -------------------------------------- */

/* The skips of one message: where it came from (the event, for log lines) and counts. */
typedef struct FzdPortalSkips {
        const char *where;  /* "init", "resource_created_or_updated", … */
        unsigned skipped;   /* elements that could not be used */
        unsigned unknown;   /* elements of a kind this client does not know (debug log only) */
        unsigned logged;    /* skip lines written at warning level */
} FzdPortalSkips;

#define FZD_PORTAL_SKIPS(event) ((FzdPortalSkips){ .where = (event) })

/* One element being parsed: its position, its id once known to be valid (for the log
 * line), and what is wrong with it. */
typedef struct FzdPortalElement FzdPortalElement;
struct FzdPortalElement {
        const char *what;                 /* "resource", "site", "relay", … */
        const FzdPortalElement *parent;   /* the element it belongs to (a site's resource), or NULL */
        size_t index;      /* position in its list; FZD_PORTAL_NO_INDEX if not in one */
        const char *id;    /* once known to be valid (a string of the frame), for the log line */
        char why[200];
};

#define FZD_PORTAL_NO_INDEX SIZE_MAX

/* Sets e->why (printf-style); returns -EINVAL, so a parser can `return fzd_portal_bad(e, …)`. */
int fzd_portal_bad(FzdPortalElement *e, const char *format, ...) _printf_(2, 3);

/* Skip an element that cannot be used: one warning line naming the kind of element, its
 * position and id (if valid), what it belongs to, the message and e->why, e.g.
 *   Portal: skipping resource 3 (7f1c…) of init: "address" is not an IP address or prefix.
 *   Portal: skipping site 1 of resource 7f1c… of init: "id" is missing.
 * After FZD_PORTAL_SKIPS_LOGGED lines per message the rest go to the debug level and
 * fzd_portal_skips_done() sums them up in one line. */
void fzd_portal_skip(FzdPortalSkips *s, const FzdPortalElement *e);
/* An element of a kind this client does not know (a newer portal): skipped, debug line. */
void fzd_portal_skip_unknown(FzdPortalSkips *s, const FzdPortalElement *e);
void fzd_portal_skips_done(FzdPortalSkips *s);

/* Parse one element. Returns 0 (used), -EOPNOTSUPP (a kind this client does not know),
 * -EINVAL (unusable: e->why says why), or another negative errno (e.g. -ENOMEM), which
 * stops the walk. */
typedef int (*FzdPortalElementParse)(const FzdJson *v, FzdPortalElement *e, void *userdata);

/* Walk a list of elements: each one goes to parse(); an unusable one is skipped
 * (fzd_portal_skip) and the walk goes on. what names the elements for the log, parent what
 * they belong to (NULL: the message itself). list may be NULL or JSON null (empty). At most
 * max elements are looked at; more are skipped with one line. Returns 0, -EINVAL if list is
 * not an array (nothing was parsed), or what parse() returned to stop the walk. */
int fzd_portal_each(const FzdJson *list, FzdPortalSkips *s, const char *what, const FzdPortalElement *parent,
                    size_t max, FzdPortalElementParse parse, void *userdata);

/* Field readers for element parsers. Absent or JSON null: *ret is NULL (or the value is
 * unset) and 0, or -EINVAL if required. Present with the wrong type or out of bounds:
 * -EINVAL with e->why naming the field. Strings: no NUL, at most max bytes. */
int fzd_portal_field_string(const FzdJson *obj, const char *key, size_t max, bool required, FzdPortalElement *e,
                            const char **ret);
/* A string that is an id (printable ASCII, no spaces or quotes, ≤ FZD_PORTAL_MAX_ID); also
 * e->id for the log line, if that is not set yet. */
int fzd_portal_field_id(const FzdJson *obj, const char *key, FzdPortalElement *e, const char **ret);
/* Display text (≤ max bytes, valid UTF-8, no control characters but tab: see text.h); "" if
 * absent and optional. */
int fzd_portal_field_text(const FzdJson *obj, const char *key, size_t max, bool required, FzdPortalElement *e,
                          const char **ret);
/* An integer in [min, max]; *ret is left alone if the field is absent. */
int fzd_portal_field_int(const FzdJson *obj, const char *key, int64_t min, int64_t max, FzdPortalElement *e,
                         int64_t *ret);
/* An array (NULL if absent or null). */
int fzd_portal_field_array(const FzdJson *obj, const char *key, FzdPortalElement *e, const FzdJson **ret);
/* An object (NULL if absent or null). */
int fzd_portal_field_object(const FzdJson *obj, const char *key, FzdPortalElement *e, const FzdJson **ret);

/* Text from the portal that may be shown or logged: valid UTF-8 without control characters
 * but tab (fzd_text_is_clean). */
bool fzd_portal_text_ok(const char *s);

/* ---- the messages --------------------------------------------------------------------------- */

/* phx_reply payload: {"status": "ok"|"error", "response": {...}}. On "error",
 * *ret_reason is response.reason if it is a usable string (else "unknown"). */
int fzd_portal_reply_parse(const FzdJson *payload, bool *ret_ok, const char **ret_error_reason);

/* disconnect payload: {"reason": s}; *ret is the reason or NULL. */
int fzd_portal_disconnect_reason(const FzdJson *payload, const char **ret);

/* The "interface" object of init and config_changed. A bad address, search domain or
 * upstream server is skipped (its family, the domain, that server); -EINVAL with err only if
 * o is not an object or has no usable address at all. */
int fzd_portal_interface_parse(const FzdJson *o, FzdPortalSkips *s, FzdInterfaceConfig *ret, char *err,
                               size_t err_size);

/* One resource. 0: *ret is the resource. -EOPNOTSUPP: a type this client does not know.
 * -EINVAL: unusable (e->why). -ENOMEM. On -EOPNOTSUPP and -EINVAL, *ret is a skeleton
 * holding just the resource's id if that was valid (else NULL), so that an update that
 * made a resource unusable removes the old copy; the caller frees it. Bad sites and filter
 * entries are skipped (reported to s); a non-empty filter list without one usable entry
 * makes the resource unusable (it would allow everything). */
int fzd_portal_resource_parse(const FzdJson *o, FzdPortalSkips *s, FzdPortalElement *e, FzdResource **ret);

/* init payload: {"interface": {...}, "resources": [...], "relays": […], ...}. Bad
 * resources are skipped (reported to s). -EINVAL with err when the init cannot be applied
 * as a whole: not an object, no usable interface, "resources" not a list or longer than
 * FZD_PORTAL_MAX_RESOURCES. */
int fzd_portal_init_parse(const FzdJson *payload, FzdPortalSkips *s, FzdInterfaceConfig *ret_config,
                          FzdResource ***ret_resources, size_t *ret_n, char *err, size_t err_size);

/* config_changed payload: {"interface": {...}}. */
int fzd_portal_config_changed_parse(const FzdJson *payload, FzdPortalSkips *s, FzdInterfaceConfig *ret, char *err,
                                    size_t err_size);

/* resource_deleted payload: a bare id string (the portal pushes the id itself), or
 * {"id": …}. *ret_id points into the document. */
int fzd_portal_resource_deleted_parse(const FzdJson *payload, const char **ret_id, char *err, size_t err_size);

void fzd_resources_free(FzdResource **resources, size_t n);
