/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Parsing of the portal's Phoenix frames and of the client payloads (init, resources,
 * interface) into the engine's types. Everything here reads untrusted input: every type is
 * checked before use, sizes and counts are capped, and errors say which field was wrong
 * (the text goes to the log and to last-error, so it never quotes the input itself). */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine.h"
#include "resource.h"

/* The largest frame we accept. The portal sends every resource in one "init" frame; a
 * resource renders to 300–500 bytes (ids, name, address, description, one site, filters),
 * so 8 MiB holds 10,000 resources with room to spare while bounding what a hostile server
 * can make us buffer and parse. */
#define FZD_PORTAL_MAX_FRAME        (8U * 1024U * 1024U)
#define FZD_PORTAL_MAX_RESOURCES    50000U /* per init; FZD_RESOURCE_TABLE_MAX in all */
#define FZD_PORTAL_MAX_SITES        64U
#define FZD_PORTAL_MAX_ID           128U
#define FZD_PORTAL_MAX_NAME         1024U
#define FZD_PORTAL_MAX_ADDRESS      1024U
#define FZD_PORTAL_MAX_DESCRIPTION  4096U
#define FZD_PORTAL_MAX_JSON_DEPTH   16

/* A Phoenix frame: {"topic": s, "event": s, "payload": any, "ref": null|int|"int"}. */
typedef struct FzdPortalFrame {
        json_object *root; /* owns everything below */
        const char *topic;
        const char *event;
        json_object *payload; /* may be NULL (JSON null or absent) */
        bool has_ref;
        uint64_t ref;
} FzdPortalFrame;

void fzd_portal_frame_done(FzdPortalFrame *f);

/* Parses one text frame. Returns 0, or -EBADMSG (not JSON, too deep, bad UTF-8) or -EINVAL
 * (wrong shape) with a static reason in *ret_reason. */
int fzd_portal_frame_parse(const char *data, size_t len, FzdPortalFrame *ret, const char **ret_reason);

/* phx_reply payload: {"status": "ok"|"error", "response": {...}}. On "error",
 * *ret_reason is response.reason if it is a string (else "unknown"). */
int fzd_portal_reply_parse(json_object *payload, bool *ret_ok, const char **ret_error_reason);

/* disconnect payload: {"reason": s}; *ret is the reason or NULL. */
int fzd_portal_disconnect_reason(json_object *payload, const char **ret);

/* The "interface" object of init and config_changed. */
int fzd_portal_interface_parse(json_object *o, FzdInterfaceConfig *ret, char *err, size_t err_size);

/* One resource. Returns 0 with *ret set, -EOPNOTSUPP (unknown type: ignore it), or
 * -EINVAL with a reason in err. */
/* 0: *ret is the resource. -EOPNOTSUPP: a type this client does not know (skip it).
 * -EDOM: the right JSON types but an unusable value (skip it); *ret then holds just the
 * resource's id if that was valid (else NULL) and the caller frees it. Other errors:
 * malformed (reset the connection); *ret is untouched. */
int fzd_portal_resource_parse(json_object *o, FzdResource **ret, char *err, size_t err_size);

/* init payload: {"interface": {...}, "resources": [...], ...}. Unknown resource types are
 * skipped; any other bad entry fails the whole message. */
int fzd_portal_init_parse(json_object *payload, FzdInterfaceConfig *ret_config, FzdResource ***ret_resources,
                          size_t *ret_n, char *err, size_t err_size);

/* config_changed payload: {"interface": {...}}. */
int fzd_portal_config_changed_parse(json_object *payload, FzdInterfaceConfig *ret, char *err, size_t err_size);

/* resource_deleted payload: a bare id string (the portal pushes the id itself). */
int fzd_portal_resource_deleted_parse(json_object *payload, const char **ret_id, char *err, size_t err_size);

void fzd_resources_free(FzdResource **resources, size_t n);
