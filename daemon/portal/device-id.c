/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "device-id.h"
#include "log.h"
#include "macro.h"

/* Firezone's CLIENT_APP_ID (rust/…/device_id.rs): the HMAC key for deriving the id. */
#define FIREZONE_CLIENT_APP_ID "e1e465ce763e4759945c650ac334501f"
#define ID_FILE                "config/firezone-id.json"
#define MAX_FILE               4096

static void hex(const unsigned char *in, size_t n, char *out) {
        static const char digits[] = "0123456789abcdef";
        for (size_t i = 0; i < n; i++) {
                out[2 * i] = digits[in[i] >> 4];
                out[2 * i + 1] = digits[in[i] & 15];
        }
        out[2 * n] = 0;
}

static bool id_ok(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 128)
                return false;
        for (; *s; s++)
                if (*s <= 0x20 || *s >= 0x7f || *s == '"' || *s == '\\')
                        return false;
        return true;
}

static bool is_uuid(const char *s) {
        if (strlen(s) != 36)
                return false;
        for (int i = 0; i < 36; i++) {
                bool dash = i == 8 || i == 13 || i == 18 || i == 23;
                char c = s[i];
                if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
                        return false;
        }
        return true;
}

static int read_small_file(const char *path, char **ret, size_t *ret_len) {
        _cleanup_(closep) int fd = -EBADF;
        _cleanup_(freep) char *buf = NULL;
        size_t len = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return -errno;
        buf = malloc(MAX_FILE + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf + len, MAX_FILE - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len == MAX_FILE)
                        return -EFBIG;
        }
        buf[len] = 0;
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

static int read_id_file(const char *path, char **ret) {
        _cleanup_(freep) char *text = NULL;
        json_object *root, *id = NULL;
        size_t len;
        int r;

        r = read_small_file(path, &text, &len);
        if (r < 0)
                return r;
        root = json_tokener_parse(text);
        if (!root)
                return -EBADMSG;
        if (!json_object_object_get_ex(root, "id", &id) || !json_object_is_type(id, json_type_string) ||
            !id_ok(json_object_get_string(id))) {
                json_object_put(root);
                return -EBADMSG;
        }
        *ret = strdup(json_object_get_string(id));
        json_object_put(root);
        return *ret ? 0 : -ENOMEM;
}

static int derive_from_machine_id(const char *machine_id_path, char **ret) {
        _cleanup_(freep) char *text = NULL;
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned mac_len = 0;
        size_t len;
        int r;

        r = read_small_file(machine_id_path, &text, &len);
        if (r < 0)
                return r;
        if (len < 32)
                return -EBADMSG; /* empty or uninitialised machine-id: not unique */
        /* The reference feeds the file's content as read, trailing newline included. */
        if (!HMAC(EVP_sha256(), FIREZONE_CLIENT_APP_ID, (int) strlen(FIREZONE_CLIENT_APP_ID), (unsigned char *) text,
                  len, mac, &mac_len))
                return -EIO;
        *ret = malloc(2 * mac_len + 1);
        if (!*ret)
                return -ENOMEM;
        hex(mac, mac_len, *ret);
        return 0;
}

static int create_id_file(const char *state_dir, const char *path, char **ret) {
        _cleanup_(freep) char *dir = NULL, *tmp = NULL, *content = NULL;
        _cleanup_(closep) int fd = -EBADF;
        unsigned char raw[32];
        char id[65];
        int n;

        if (RAND_bytes(raw, sizeof(raw)) != 1)
                return -EIO;
        hex(raw, sizeof(raw), id);

        if (asprintf(&dir, "%s/config", state_dir) < 0 || asprintf(&tmp, "%s.tmp", path) < 0) {
                dir = tmp = NULL;
                return -ENOMEM;
        }
        if (mkdir(state_dir, 0755) < 0 && errno != EEXIST)
                return -errno;
        if (mkdir(dir, 0750) < 0 && errno != EEXIST)
                return -errno;
        n = asprintf(&content, "{\"id\":\"%s\"}\n", id);
        if (n < 0) {
                content = NULL;
                return -ENOMEM;
        }
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
        if (fd < 0)
                return -errno;
        if (write(fd, content, (size_t) n) != n || fsync(fd) < 0) {
                int k = errno ? -errno : -EIO;
                (void) unlink(tmp);
                return k;
        }
        /* Do not replace an id another process wrote meanwhile. */
        if (link(tmp, path) < 0) {
                int k = -errno;
                (void) unlink(tmp);
                if (k == -EEXIST)
                        return read_id_file(path, ret);
                return k;
        }
        (void) unlink(tmp);
        *ret = strdup(id);
        return *ret ? 0 : -ENOMEM;
}

int fzd_device_id_get(const char *state_dir, const char *machine_id_path, char **ret) {
        _cleanup_(freep) char *path = NULL, *id = NULL;
        int r;

        if (asprintf(&path, "%s/%s", state_dir, ID_FILE) < 0) {
                path = NULL;
                return -ENOMEM;
        }
        r = read_id_file(path, &id);
        if (r < 0 && r != -ENOENT)
                log_warning_errno(r, "Ignoring the unreadable device id file %s: %m", path);
        if (r < 0)
                r = derive_from_machine_id(machine_id_path ?: "/etc/machine-id", &id);
        if (r < 0) {
                log_notice_errno(r, "Cannot derive the device id from %s (%m); using a saved random one.",
                                 machine_id_path ?: "/etc/machine-id");
                r = create_id_file(state_dir, path, &id);
                if (r < 0)
                        return log_error_errno(r, "Failed to save a device id in %s: %m", path);
        }

        if (is_uuid(id)) {
                unsigned char digest[32];
                char *h = malloc(65);

                if (!h)
                        return -ENOMEM;
                if (!EVP_Digest(id, strlen(id), digest, NULL, EVP_sha256(), NULL)) {
                        free(h);
                        return -EIO;
                }
                hex(digest, sizeof(digest), h);
                free(id);
                id = h;
        }
        *ret = TAKE_PTR(id);
        return 0;
}
