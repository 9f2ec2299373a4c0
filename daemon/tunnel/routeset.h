/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The CIDR resource routes we want in our table, with a reference count per prefix: two
 * resources may share a prefix, and the route must stay until the last one is gone.
 * Open addressing with a keyed hash (the keys come from the portal). */

#include <stdbool.h>
#include <stddef.h>

#include "cidr.h"
#include "macro.h"

#define FZD_ROUTESET_MAX (256U * 1024U)

typedef struct FzdRouteSet FzdRouteSet;

int fzd_route_set_new(FzdRouteSet **ret);
FzdRouteSet *fzd_route_set_free(FzdRouteSet *s);
DEFINE_POINTER_CLEANUP_FUNC(FzdRouteSet, fzd_route_set_free);

/* Returns the new reference count (1 = newly added), -E2BIG at the limit, -ENOMEM. */
int fzd_route_set_ref(FzdRouteSet *s, const FzdCidr *c);
/* Returns the remaining count (0 = removed), or -ENOENT if absent. */
int fzd_route_set_unref(FzdRouteSet *s, const FzdCidr *c);
/* Removes the prefix whatever its count. */
bool fzd_route_set_remove(FzdRouteSet *s, const FzdCidr *c);
unsigned fzd_route_set_get(const FzdRouteSet *s, const FzdCidr *c);
size_t fzd_route_set_size(const FzdRouteSet *s);
void fzd_route_set_clear(FzdRouteSet *s);

/* Iteration: *i starts at 0; returns false at the end. Do not modify during iteration. */
bool fzd_route_set_next(const FzdRouteSet *s, size_t *i, FzdCidr *ret);
