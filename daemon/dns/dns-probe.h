/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Gathers the probes dns-mode.c decides on, from the real system. */

#include <systemd/sd-bus.h>

#include "dns-mode.h"

/* What resolv.conf is, who wrote it, what it lists; if it is ours (a crashed run), the
 * backup is described instead. *ret_target receives the symlink target p points to
 * (free it after p is no longer used). Never fails: what cannot be read is "unreadable". */
void fzd_dns_probe_resolv_conf(const char *path, const char *state_dir, FzdDnsProbes *p, char **ret_target);

/* Is org.freedesktop.resolve1 owned, or activatable? Blocking (start-up only). bus may be
 * NULL: then resolved counts as unreachable. */
void fzd_dns_probe_resolved(sd_bus *bus, FzdDnsProbes *p);
