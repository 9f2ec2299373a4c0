/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "dns-resolvconf.h"
#include "log.h"
#include "macro.h"

#define BACKUP_TMP_NAME FZD_RESOLV_CONF_BACKUP_NAME ".tmp"

/* One directory entry as found: a regular file (with its bytes) or a symlink (with its
 * target). */
typedef struct Entry {
        mode_t type; /* S_IFREG or S_IFLNK */
        struct stat st;
        char *data; /* file bytes, or the symlink target (NUL-terminated either way) */
        size_t size;
} Entry;

static void entry_done(Entry *e) {
        e->data = mfree(e->data);
        e->size = 0;
}

static int split_path(const char *path, char **ret_dir, const char **ret_base) {
        const char *slash;
        char *dir;

        if (isempty(path) || path[strlen(path) - 1] == '/')
                return -EINVAL;
        slash = strrchr(path, '/');
        if (!slash)
                dir = strdup(".");
        else if (slash == path)
                dir = strdup("/");
        else
                dir = strndup(path, (size_t)(slash - path));
        if (!dir)
                return -ENOMEM;
        *ret_dir = dir;
        *ret_base = slash ? slash + 1 : path;
        return 0;
}

/* A read-only mount (not permissions: we are root). */
static bool dir_is_read_only(int dirfd) {
        return faccessat(dirfd, ".", W_OK, AT_EACCESS) < 0 && errno == EROFS;
}

static int open_dir(const char *path) {
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

/* The state dir is ours: create it if needed, and refuse a symlink in its place. */
static int open_state_dir(const char *state_dir, bool create) {
        int fd;

        if (create && mkdir(state_dir, 0755) < 0 && errno != EEXIST)
                return -errno;
        fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

#define IN_SET_NOTDIR(r) ((r) == -ENOTDIR || (r) == -ELOOP)

static int read_fd(int fd, size_t max, char **ret, size_t *ret_size) {
        _cleanup_(freep) char *buf = NULL;
        size_t size = 0;

        buf = malloc(max + 2);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, buf + size, max + 1 - size);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                size += (size_t)k;
                if (size > max)
                        return -EFBIG;
        }
        buf[size] = 0;
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

/* Never follows a symlink: a link is reported as one. -ENOENT if there is nothing. */
static int entry_load(int dirfd, const char *name, Entry *ret) {
        Entry e = {};
        _cleanup_(closep) int fd = -EBADF;
        int r;

        if (fstatat(dirfd, name, &e.st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;

        if (S_ISLNK(e.st.st_mode)) {
                char target[PATH_MAX];
                ssize_t k = readlinkat(dirfd, name, target, sizeof target - 1);

                if (k < 0)
                        return -errno;
                target[k] = 0;
                e.type = S_IFLNK;
                e.data = strdup(target);
                if (!e.data)
                        return -ENOMEM;
                e.size = (size_t)k;
                *ret = e;
                return 0;
        }
        if (!S_ISREG(e.st.st_mode))
                return -EBADFD; /* a directory, device, FIFO…: not something we replace */

        fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &e.st) < 0)
                return -errno;
        if (!S_ISREG(e.st.st_mode))
                return -EBADFD;
        r = read_fd(fd, FZD_RESOLV_CONF_MAX_SIZE, &e.data, &e.size);
        if (r < 0)
                return r;
        e.type = S_IFREG;
        *ret = e;
        return 0;
}

static int write_all_at(int fd, const char *data, size_t size) {
        size_t done = 0;

        while (done < size) {
                ssize_t k = pwrite(fd, data + done, size - done, (off_t)done);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                done += (size_t)k;
        }
        return 0;
}

static int fsync_dir(int dirfd) {
        return fsync(dirfd) < 0 ? -errno : 0;
}

/* For a file that is a mount point (a container's bind-mounted resolv.conf), which
 * rename cannot replace. New bytes go over the old ones before the length is cut, so
 * that a crash in between leaves our marker at the start, never an empty file. */
static int write_in_place(int dirfd, const char *name, const char *data, size_t size) {
        _cleanup_(closep) int fd = -EBADF;
        struct stat st;
        int r;

        fd = openat(dirfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        r = write_all_at(fd, data, size);
        if (r < 0)
                return r;
        if (ftruncate(fd, (off_t)size) < 0)
                return -errno;
        if (fsync(fd) < 0)
                return -errno;
        return 0;
}

/* The new file belongs to us (root), and so does almost every resolv.conf: chown only
 * when the original's owner differs. The shipped unit forbids chown altogether
 * (SystemCallFilter=~@privileged, SystemCallErrorNumber=EPERM); then the file keeps our
 * owner, which changes no one's access to it (it stays world-readable, root-writable). */
static int set_owner(int fd, const char *name, const struct stat *like) {
        struct stat st;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_uid == like->st_uid && st.st_gid == like->st_gid)
                return 0;
        if (fchown(fd, like->st_uid, like->st_gid) >= 0)
                return 0;
        if (errno != EPERM)
                return -errno;
        log_notice("Cannot give %s the owner %u:%u of the file it replaces (chown is not allowed to this "
                   "service), keeping %u:%u.",
                   name, (unsigned) like->st_uid, (unsigned) like->st_gid, (unsigned) st.st_uid,
                   (unsigned) st.st_gid);
        return 0;
}

/* temp file + fsync + rename + fsync(dir). The temp name is fixed so that a crash leaves
 * no litter that the next run does not know to remove. */
static int write_atomic(int dirfd, const char *name, const char *tmp_name, const char *data, size_t size,
                        const struct stat *like, bool in_place_ok) {
        _cleanup_(closep) int fd = -EBADF;
        int r;

        if (unlinkat(dirfd, tmp_name, 0) < 0 && errno != ENOENT && errno != EROFS)
                return -errno;
        fd = openat(dirfd, tmp_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) {
                /* A read-only directory with a writable file in it: the file is a mount point of
                 * its own (systemd's ProtectSystem=strict with ReadWritePaths=/etc/resolv.conf). */
                if (in_place_ok && (errno == EROFS || errno == EACCES || errno == EPERM)) {
                        log_debug_errno(errno, "Cannot create %s (%m); rewriting %s in place.", tmp_name,
                                        name);
                        return write_in_place(dirfd, name, data, size);
                }
                return -errno;
        }

        r = write_all_at(fd, data, size);
        if (r >= 0)
                r = set_owner(fd, tmp_name, like);
        if (r >= 0 && fchmod(fd, like->st_mode & 07777) < 0)
                r = -errno;
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && renameat(dirfd, tmp_name, dirfd, name) < 0) {
                r = -errno;
                if (r == -EBUSY && in_place_ok) {
                        (void)unlinkat(dirfd, tmp_name, 0);
                        log_debug("%s is a mount point; rewriting it in place.", name);
                        return write_in_place(dirfd, name, data, size);
                }
        }
        if (r < 0) {
                (void)unlinkat(dirfd, tmp_name, 0);
                return r;
        }
        return fsync_dir(dirfd);
}

static int symlink_atomic(int dirfd, const char *name, const char *tmp_name, const char *target) {
        if (unlinkat(dirfd, tmp_name, 0) < 0 && errno != ENOENT)
                return -errno;
        if (symlinkat(target, dirfd, tmp_name) < 0)
                return -errno;
        if (renameat(dirfd, tmp_name, dirfd, name) < 0) {
                int r = -errno;
                (void)unlinkat(dirfd, tmp_name, 0);
                return r;
        }
        return fsync_dir(dirfd);
}

static int entry_store(int dirfd, const char *name, const char *tmp_name, const Entry *e, bool in_place_ok) {
        if (e->type == S_IFLNK)
                return symlink_atomic(dirfd, name, tmp_name, e->data);
        return write_atomic(dirfd, name, tmp_name, e->data, e->size, &e->st, in_place_ok);
}

static char *tmp_name_for(const char *base) {
        char *s = NULL;

        if (asprintf(&s, ".%s.firezone-tmp", base) < 0)
                return NULL;
        return s;
}

static char *memdup_nul(const char *p, size_t size) {
        char *s = malloc(size + 1);

        if (s) {
                memcpy(s, p, size);
                s[size] = 0;
        }
        return s;
}

static bool entry_is_ours(const Entry *e) {
        return e->type == S_IFREG && fzd_resolv_conf_is_ours(e->data, e->size);
}

static int append(char **buf, size_t *len, const char *fmt, ...) _printf_(3, 4);
static int append(char **buf, size_t *len, const char *fmt, ...) {
        va_list ap;
        char *s = NULL;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        char *b = realloc(*buf, *len + (size_t)n + 1);
        if (!b) {
                free(s);
                return -ENOMEM;
        }
        memcpy(b + *len, s, (size_t)n + 1);
        *len += (size_t)n;
        *buf = b;
        free(s);
        return 0;
}

static int check_arguments(const FzdDnsAddress *sentinels, size_t n_sentinels, const char *search_domain) {
        if (n_sentinels == 0 || n_sentinels > FZD_DNS_MAX_SENTINELS)
                return log_error_errno(EINVAL, "Refusing to write resolv.conf with %zu nameservers (1..%d).",
                                       n_sentinels, FZD_DNS_MAX_SENTINELS);
        for (size_t i = 0; i < n_sentinels; i++)
                if (sentinels[i].family != AF_INET && sentinels[i].family != AF_INET6)
                        return log_error_errno(EINVAL, "Refusing a nameserver of address family %d.",
                                               sentinels[i].family);
        if (!isempty(search_domain) && fzd_dns_name_check(search_domain) < 0)
                return log_error_errno(EINVAL, "Refusing search domain \"%s\": not a DNS name.",
                                       fzd_dns_printable(search_domain, (char[FZD_DNS_PRINTABLE_MAX]){}));
        return 0;
}

int fzd_resolvconf_format(const FzdResolvConf *original, const FzdDnsAddress *sentinels, size_t n_sentinels,
                          const char *search_domain, const char *backup_path, char **ret) {
        _cleanup_(freep) char *buf = NULL;
        size_t len = 0, n_search = 0;
        int r;

        r = check_arguments(sentinels, n_sentinels, search_domain);
        if (r < 0)
                return r;

        r = append(&buf, &len,
                   "%s\n"
                   "# Firezone controls DNS while its tunnel is up. The original of this file is in\n"
                   "# %s and is put back when the tunnel stops\n"
                   "# (or when firezone-client-tunnel next starts, after a crash). To change DNS for\n"
                   "# good, edit that file; changes made here are lost.\n",
                   FZD_RESOLV_CONF_MARKER, backup_path);
        for (size_t i = 0; r >= 0 && i < n_sentinels; i++) {
                char s[INET6_ADDRSTRLEN];
                r = append(&buf, &len, "nameserver %s\n",
                           fzd_dns_address_to_string(&sentinels[i], s, sizeof s));
        }
        if (r >= 0 && (!isempty(search_domain) || (original && original->n_search > 0))) {
                r = append(&buf, &len, "search");
                if (r >= 0 && !isempty(search_domain)) {
                        r = append(&buf, &len, " %s", search_domain);
                        n_search++;
                }
                for (size_t i = 0; r >= 0 && original && i < original->n_search; i++) {
                        if (!isempty(search_domain) && strcasecmp(original->search[i], search_domain) == 0)
                                continue;
                        if (n_search >= FZD_RESOLV_CONF_MAX_SEARCH)
                                break;
                        r = append(&buf, &len, " %s", original->search[i]);
                        n_search++;
                }
                if (r >= 0)
                        r = append(&buf, &len, "\n");
        }
        if (r >= 0 && original && !isempty(original->options))
                r = append(&buf, &len, "options %s\n", original->options);
        if (r < 0)
                return log_oom();

        *ret = TAKE_PTR(buf);
        return 0;
}

static int backup_path_of(const char *state_dir, char **ret) {
        return asprintf(ret, "%s/%s", state_dir, FZD_RESOLV_CONF_BACKUP_NAME) < 0 ? -ENOMEM : 0;
}

/* The original's content, for its search domains and options: a symlink's target is
 * read (reading through a link is what every program does with resolv.conf). */
static int original_text(int dirfd, const Entry *original, char **ret, size_t *ret_size) {
        _cleanup_(closep) int fd = -EBADF;

        if (original->type == S_IFREG) {
                *ret = memdup_nul(original->data, original->size);
                if (!*ret)
                        return -ENOMEM;
                *ret_size = original->size;
                return 0;
        }
        fd = openat(dirfd, original->data, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        return read_fd(fd, FZD_RESOLV_CONF_MAX_SIZE, ret, ret_size);
}

int fzd_resolvconf_apply(const char *path, const char *state_dir, const FzdDnsAddress *sentinels,
                         size_t n_sentinels, const char *search_domain) {
        _cleanup_(freep) char *dir = NULL, *tmp = NULL, *backup_path = NULL, *text = NULL, *orig_text = NULL;
        _cleanup_(closep) int dirfd = -EBADF, statefd = -EBADF;
        _cleanup_(entry_done) Entry current = {}, backup = {};
        const Entry *original;
        FzdResolvConf parsed = {};
        struct stat like;
        const char *base;
        size_t orig_size = 0;
        int r;

        r = check_arguments(sentinels, n_sentinels, search_domain);
        if (r < 0)
                return r;
        r = split_path(path, &dir, &base);
        if (r < 0)
                return log_error_errno(r, "Invalid resolv.conf path \"%s\".", path);
        tmp = tmp_name_for(base);
        if (!tmp || backup_path_of(state_dir, &backup_path) < 0)
                return log_oom();

        dirfd = open_dir(dir);
        if (dirfd < 0)
                return log_error_errno(dirfd, "Failed to open %s: %m", dir);
        statefd = open_state_dir(state_dir, true);
        if (IN_SET_NOTDIR(statefd))
                return log_error_errno(statefd, "The state directory %s is a symlink or not a directory; "
                                                "refusing to keep the resolv.conf backup there.", state_dir);
        if (statefd < 0)
                return log_error_errno(statefd, "Failed to open the state directory %s: %m", state_dir);

        r = entry_load(dirfd, base, &current);
        if (r == -ENOENT)
                return log_error_errno(r,
                                       "%s does not exist; there is nothing to back up and restore later. "
                                       "Create it, or use dns-control=systemd-resolved or disabled.",
                                       path);
        if (r == -EBADFD)
                return log_error_errno(r, "%s is neither a regular file nor a symlink; not touching it.",
                                       path);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s: %m", path);

        if (entry_is_ours(&current)) {
                /* A run that crashed, or a new configuration: the backup holds the original. */
                r = entry_load(statefd, FZD_RESOLV_CONF_BACKUP_NAME, &backup);
                if (r == -ENOENT)
                        return log_error_errno(r,
                                               "%s was written by Firezone, but the backup %s is missing, "
                                               "so the original cannot be restored later. Put the system's "
                                               "own resolv.conf back (or delete the first line of %s), "
                                               "then start again.",
                                               path, backup_path, path);
                if (r < 0)
                        return log_error_errno(r, "Failed to read the backup %s: %m", backup_path);
                original = &backup;
        } else {
                if (current.type == S_IFLNK && dir_is_read_only(dirfd))
                        /* ReadWritePaths= can open a file in a read-only /etc to us, not a symlink:
                         * the link is replaced by a rename in /etc, which ProtectSystem=strict
                         * forbids, and writing through it would change another program's file. */
                        return log_error_errno(EROFS,
                                               "%s is a symlink to %s, which this service cannot replace: "
                                               "%s is read-only to it (the unit's ProtectSystem=strict). Let "
                                               "systemd-resolved manage DNS (dns-control=systemd-resolved in "
                                               "%s), make %s a regular file, or turn DNS control off "
                                               "(dns-control=disabled).",
                                               path, current.data, dir, FZ_CONFIG_PATH, path);
                if (current.type == S_IFLNK)
                        log_notice("%s is a symlink to %s; replacing the link while the tunnel is up "
                                   "(it is put back afterwards).",
                                   path, current.data);
                r = entry_store(statefd, FZD_RESOLV_CONF_BACKUP_NAME, BACKUP_TMP_NAME, &current, false);
                if (r < 0)
                        return log_error_errno(r, "Failed to back up %s to %s: %m", path, backup_path);
                original = &current;
        }

        r = original_text(dirfd, original, &orig_text, &orig_size);
        if (r < 0)
                log_debug_errno(r, "Cannot read the original resolv.conf for its options (%m), ignoring.");
        else {
                r = fzd_resolv_conf_parse(orig_text, orig_size, &parsed);
                if (r < 0)
                        log_debug_errno(r,
                                        "Cannot parse the original resolv.conf (%m), ignoring its options.");
        }
        r = fzd_resolvconf_format(&parsed, sentinels, n_sentinels, search_domain, backup_path, &text);
        fzd_resolv_conf_done(&parsed);
        if (r < 0)
                return r;

        /* Our file gets the original's owner and mode; a symlink's stand-in gets 0644 root. */
        if (original->type == S_IFREG)
                like = original->st;
        else
                like = (struct stat){.st_mode = S_IFREG | 0644, .st_uid = getuid(), .st_gid = getgid()};

        r = write_atomic(dirfd, base, tmp, text, strlen(text), &like, true);
        if (r == -EROFS)
                /* A file in a read-only /etc that ReadWritePaths= opened to us at start; whoever
                 * replaced it since made a new file, which it did not. */
                return log_error_errno(r,
                                       "%s is read-only to this service: it was replaced after the service "
                                       "started, and the unit lets it write only the file that was there "
                                       "then. Restart the service: systemctl restart firezone-client.",
                                       path);
        if (r < 0)
                return log_error_errno(r, "Failed to write %s: %m", path);
        log_info("DNS: %s now points at the Firezone resolvers (original saved in %s).", path, backup_path);
        return 0;
}

int fzd_resolvconf_restore(const char *path, const char *state_dir, bool *ret_restored) {
        _cleanup_(freep) char *dir = NULL, *tmp = NULL, *backup_path = NULL;
        _cleanup_(closep) int dirfd = -EBADF, statefd = -EBADF;
        _cleanup_(entry_done) Entry current = {}, backup = {};
        bool have_backup, have_current, ours;
        const char *base;
        int r;

        if (ret_restored)
                *ret_restored = false;
        r = split_path(path, &dir, &base);
        if (r < 0)
                return log_error_errno(r, "Invalid resolv.conf path \"%s\".", path);
        tmp = tmp_name_for(base);
        if (!tmp || backup_path_of(state_dir, &backup_path) < 0)
                return log_oom();

        dirfd = open_dir(dir);
        if (dirfd < 0)
                return log_error_errno(dirfd, "Failed to open %s: %m", dir);
        /* Temp files of an interrupted write: never complete, always safe to drop. */
        (void)unlinkat(dirfd, tmp, 0);

        statefd = open_state_dir(state_dir, false);
        if (statefd < 0 && statefd != -ENOENT)
                return log_error_errno(statefd, "Failed to open the state directory %s: %m", state_dir);
        if (statefd >= 0) {
                (void)unlinkat(statefd, BACKUP_TMP_NAME, 0);
                r = entry_load(statefd, FZD_RESOLV_CONF_BACKUP_NAME, &backup);
                if (r < 0 && r != -ENOENT)
                        return log_error_errno(r, "Failed to read the backup %s: %m", backup_path);
                have_backup = r >= 0;
        } else
                have_backup = false;

        r = entry_load(dirfd, base, &current);
        if (r == -EBADFD)
                return log_error_errno(r,
                                       "%s is neither a regular file nor a symlink; leaving it and the "
                                       "backup %s alone.",
                                       path, backup_path);
        if (r < 0 && r != -ENOENT)
                return log_error_errno(r, "Failed to read %s: %m", path);
        have_current = r >= 0;
        ours = have_current && entry_is_ours(&current);

        if (!have_backup) {
                if (ours)
                        return log_error_errno(ENOENT,
                                               "%s was written by Firezone, but the backup %s is "
                                               "missing. Put the system's own resolv.conf back by hand "
                                               "(your network manager can regenerate it).",
                                               path, backup_path);
                return 0;
        }

        if (ours || r == -ENOENT) {
                r = entry_store(dirfd, base, tmp, &backup, true);
                if (r < 0)
                        return log_error_errno(r, "Failed to restore %s from %s: %m", path, backup_path);
                if (ret_restored)
                        *ret_restored = true;
                log_info("DNS: restored %s from %s.", path, backup_path);
        } else
                log_warning("%s was replaced by another program while Firezone controlled DNS; keeping "
                            "that version and dropping the backup %s.",
                            path, backup_path);

        /* Only once the original is back on disk (fsync'd) does the backup go. */
        if (unlinkat(statefd, FZD_RESOLV_CONF_BACKUP_NAME, 0) < 0 && errno != ENOENT)
                return log_error_errno(errno, "Failed to remove %s: %m", backup_path);
        r = fsync_dir(statefd);
        if (r < 0)
                log_warning_errno(r, "Failed to sync %s: %m, ignoring.", state_dir);
        return 0;
}

int fzd_resolvconf_read_original(const char *path, const char *state_dir, char **ret_text,
                                 size_t *ret_size) {
        _cleanup_(freep) char *dir = NULL;
        _cleanup_(closep) int dirfd = -EBADF, statefd = -EBADF;
        _cleanup_(entry_done) Entry current = {}, backup = {};
        const char *base;
        int r;

        r = split_path(path, &dir, &base);
        if (r < 0)
                return r;
        dirfd = open_dir(dir);
        if (dirfd < 0)
                return dirfd;

        r = entry_load(dirfd, base, &current);
        if (r < 0)
                return r;
        if (entry_is_ours(&current)) {
                statefd = open_state_dir(state_dir, false);
                if (statefd < 0)
                        return statefd;
                r = entry_load(statefd, FZD_RESOLV_CONF_BACKUP_NAME, &backup);
                if (r < 0)
                        return r;
                return original_text(dirfd, &backup, ret_text, ret_size);
        }
        return original_text(dirfd, &current, ret_text, ret_size);
}
