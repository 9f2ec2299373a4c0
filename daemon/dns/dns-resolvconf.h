/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The etc-resolv-conf mode: /etc/resolv.conf is replaced by a file that lists our
 * sentinels, behind FZD_RESOLV_CONF_MARKER, while the tunnel is up; the original is kept
 * in STATE_DIR/resolv.conf.backup and put back, byte for byte, on revert or at the next
 * start after a crash.
 *
 * Crash safety: every step is one fsync'd rename, so after a crash at any point the
 * disk holds either the original alone (plus maybe a backup of it, which the next
 * start drops), or our file and the backup (which the next start restores). The
 * backup is always complete before the original is replaced.
 *
 * Symlinks are never written through. If resolv.conf is a symlink (to resolved's,
 * NetworkManager's or resolvconf's file in /run), the backup is a symlink with the
 * same target and our file replaces the link itself: writing into the target would
 * change another program's file, which that program rewrites at will. Revert puts the
 * link back. If resolv.conf is a mount point (a container runtime bind-mounts it),
 * rename cannot replace it, and the file is rewritten in place instead.
 *
 * Paths are parameters so that tests can point them at a temp dir. */

#include <stdbool.h>
#include <stddef.h>

#include "dns-address.h"
#include "dns-resolvconf-parse.h"

#define FZD_RESOLV_CONF_PATH        "/etc/resolv.conf"
#define FZD_RESOLV_CONF_BACKUP_NAME "resolv.conf.backup"

/* Replace resolv.conf with our file. If it already is ours (a crashed run, or a second
 * apply), the backup is kept and only our file is rewritten. Fails, and changes
 * nothing, if resolv.conf is missing, not a regular file or symlink, ours without a
 * backup, or if the arguments are bad. */
int fzd_resolvconf_apply(const char *path, const char *state_dir, const FzdDnsAddress *sentinels,
                         size_t n_sentinels, const char *search_domain);

/* Put the backup back if resolv.conf is still ours (or gone), then remove the backup.
 * If another program replaced our file meanwhile, its version is kept. No backup and
 * not ours: nothing to do (0). Ours without a backup: an error that says what to do.
 * *ret_restored (may be NULL) tells whether the file was written. */
int fzd_resolvconf_restore(const char *path, const char *state_dir, bool *ret_restored);

/* The resolv.conf the system had before us: the backup while ours is in place, else the
 * current file (through a symlink: reading is harmless). */
int fzd_resolvconf_read_original(const char *path, const char *state_dir, char **ret_text, size_t *ret_size);

/* Builds our file's text (pure). The original's search domains follow ours; its options
 * are carried over. */
int fzd_resolvconf_format(const FzdResolvConf *original, const FzdDnsAddress *sentinels, size_t n_sentinels,
                          const char *search_domain, const char *backup_path, char **ret);
