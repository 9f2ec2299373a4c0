/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib-object.h>

#include "fz-client-macros.h"

G_BEGIN_DECLS

/**
 * FzResourceType:
 * @FZ_RESOURCE_TYPE_UNKNOWN: A type this library does not know.
 * @FZ_RESOURCE_TYPE_DNS: A DNS name (may contain wildcards).
 * @FZ_RESOURCE_TYPE_CIDR: An IP address range.
 * @FZ_RESOURCE_TYPE_INTERNET: The Internet resource (full tunnel).
 *
 * What kind of address a resource has.
 *
 * Since: 0.1
 */
typedef enum {
        FZ_RESOURCE_TYPE_UNKNOWN,
        FZ_RESOURCE_TYPE_DNS,
        FZ_RESOURCE_TYPE_CIDR,
        FZ_RESOURCE_TYPE_INTERNET,
} FzResourceType;

/**
 * FzResourceStatus:
 * @FZ_RESOURCE_STATUS_UNKNOWN: Not known yet (or a status this library does not know).
 * @FZ_RESOURCE_STATUS_ONLINE: A gateway for the resource is reachable.
 * @FZ_RESOURCE_STATUS_OFFLINE: No gateway for the resource is reachable.
 *
 * Whether a resource can be reached.
 *
 * Since: 0.1
 */
typedef enum {
        FZ_RESOURCE_STATUS_UNKNOWN,
        FZ_RESOURCE_STATUS_ONLINE,
        FZ_RESOURCE_STATUS_OFFLINE,
} FzResourceStatus;

FZ_CLIENT_EXPORT const gchar *fz_resource_type_to_string(FzResourceType type);
FZ_CLIENT_EXPORT FzResourceType fz_resource_type_from_string(const gchar *type);
FZ_CLIENT_EXPORT const gchar *fz_resource_status_to_string(FzResourceStatus status);
FZ_CLIENT_EXPORT FzResourceStatus fz_resource_status_from_string(const gchar *status);

/**
 * FzResourceSite:
 *
 * A site (a group of gateways) that serves a resource. An opaque, immutable boxed type.
 *
 * Since: 0.1
 */
typedef struct _FzResourceSite FzResourceSite;

#define FZ_TYPE_RESOURCE_SITE (fz_resource_site_get_type())
FZ_CLIENT_EXPORT GType fz_resource_site_get_type(void);
FZ_CLIENT_EXPORT FzResourceSite *fz_resource_site_copy(const FzResourceSite *site);
FZ_CLIENT_EXPORT void fz_resource_site_free(FzResourceSite *site);
FZ_CLIENT_EXPORT const gchar *fz_resource_site_get_id(const FzResourceSite *site);
FZ_CLIENT_EXPORT const gchar *fz_resource_site_get_name(const FzResourceSite *site);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FzResourceSite, fz_resource_site_free)

#define FZ_TYPE_RESOURCE (fz_resource_get_type())
FZ_CLIENT_EXPORT G_DECLARE_FINAL_TYPE(FzResource, fz_resource, FZ, RESOURCE, GObject)

FZ_CLIENT_EXPORT const gchar *fz_resource_get_id(FzResource *self);
FZ_CLIENT_EXPORT FzResourceType fz_resource_get_resource_type(FzResource *self);
FZ_CLIENT_EXPORT const gchar *fz_resource_get_name(FzResource *self);
FZ_CLIENT_EXPORT const gchar *fz_resource_get_address(FzResource *self);
FZ_CLIENT_EXPORT const gchar *fz_resource_get_description(FzResource *self);
FZ_CLIENT_EXPORT FzResourceStatus fz_resource_get_status(FzResource *self);
FZ_CLIENT_EXPORT GPtrArray *fz_resource_get_sites(FzResource *self);

G_END_DECLS
