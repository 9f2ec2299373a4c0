/* SPDX-License-Identifier: Apache-2.0 */
/* Internal: a GSource that runs one GMainContext from another. */
#pragma once

#include <glib.h>

/* A source that, attached to an outer context, prepares, polls, checks and dispatches
 * @inner whenever the outer context is iterated — the way libnm integrates the private
 * context of its sync constructor into the caller's (nm_utils_g_main_context_create_
 * integrate_source()). It acquires @inner for its lifetime, in the calling thread, so that
 * sources attached to @inner from other threads (GDBus's worker) wake the outer context
 * up; use it in that thread only. */
GSource *fz_context_source_new(GMainContext *inner);
