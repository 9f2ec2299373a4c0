/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#if !defined(__FIREZONE_CLIENT_H_INSIDE__) && !defined(FZ_CLIENT_COMPILATION)
#error "Only <firezone-client.h> can be included directly."
#endif

/* Marks the public API. The library is built with -fvisibility=hidden and a version
 * script; a symbol is exported only if it carries this and is listed in
 * libfirezone-client.map (a test checks that the two agree). */
#define FZ_CLIENT_EXPORT __attribute__((visibility("default"))) extern
