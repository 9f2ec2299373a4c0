/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-id128.h>

#include "device-id.h"
#include "fileio.h"
#include "log.h"

/* Application id of firezone-client-tunnel (random, fixed forever). */
#define FZD_APP_ID SD_ID128_MAKE(6d, 1f, 3a, 52, 0e, 8b, 4c, 97, a2, 5d, 71, 0c, 3e, 9f, 44, 18)

static int format_uuid(sd_id128_t id, char **ret) {
        char *s = malloc(SD_ID128_UUID_STRING_MAX);
        if (!s)
                return -ENOMEM;
        sd_id128_to_uuid_string(id, s);
        *ret = s;
        return 0;
}

static int persisted_id(const char *state_dir, sd_id128_t *ret) {
        char path[4096], buf[SD_ID128_STRING_MAX + 2];
        _cleanup_(closep) int fd = -EBADF;
        size_t len = 0;
        int r;

        (void) snprintf(path, sizeof path, "%s/device-id", state_dir);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd >= 0) {
                r = fzd_read_fd_bounded(fd, buf, sizeof buf - 1, &len);
                if (r >= 0 && len >= 32) {
                        buf[32] = 0;
                        if (sd_id128_from_string(buf, ret) >= 0)
                                return 0;
                }
                log_warning("%s is corrupt, writing a new device id.", path);
        }

        r = sd_id128_randomize(ret);
        if (r < 0)
                return r;
        if (mkdir(state_dir, 0755) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create %s: %m", state_dir);
        sd_id128_to_string(*ret, buf);
        strcat(buf, "\n");
        /* Atomically: a crash never leaves a half-written id that would be replaced. */
        r = fzd_write_file_atomic(state_dir, "device-id", buf, strlen(buf), 0644);
        if (r < 0)
                return log_error_errno(r, "Failed to write %s: %m", path);
        return 0;
}

int fzd_device_id_get(const char *state_dir, char **ret) {
        sd_id128_t id;
        int r;

        r = sd_id128_get_machine_app_specific(FZD_APP_ID, &id);
        if (r < 0) {
                log_notice_errno(r, "No usable /etc/machine-id (%m); using a device id stored in %s.", state_dir);
                r = persisted_id(state_dir, &id);
                if (r < 0)
                        return r;
        }
        return format_uuid(id, ret);
}
