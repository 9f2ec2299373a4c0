/* SPDX-License-Identifier: Apache-2.0 */
/* libfirezone-client: the client side of the dev.firezone.Client1 D-Bus API.
 * The one header to include: #include <firezone-client.h> */
#pragma once

#define __FIREZONE_CLIENT_H_INSIDE__

#include "fz-client-macros.h"
#include "fz-client-error.h"
#include "fz-client-status.h"
#include "fz-resource.h"
#include "fz-client.h"
#include "fz-client-enum-types.h"

#undef __FIREZONE_CLIENT_H_INSIDE__
