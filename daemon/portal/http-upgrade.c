/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http-upgrade.h"
#include "macro.h"

int fzd_websocket_new_key(char ret[25]) {
        unsigned char raw[16];

        if (RAND_bytes(raw, sizeof(raw)) != 1)
                return -EIO;
        if (EVP_EncodeBlock((unsigned char *) ret, raw, sizeof(raw)) != 24)
                return -EIO;
        return 0;
}

int fzd_websocket_accept_for_key(const char *key, char ret[29]) {
        static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
        unsigned char digest[SHA_DIGEST_LENGTH];
        char buf[64 + sizeof(guid)];
        size_t key_len = strlen(key);

        if (key_len > 64)
                return -EINVAL;
        memcpy(buf, key, key_len);
        memcpy(buf + key_len, guid, sizeof(guid) - 1);
        if (!EVP_Digest(buf, key_len + sizeof(guid) - 1, digest, NULL, EVP_sha1(), NULL))
                return -EIO;
        if (EVP_EncodeBlock((unsigned char *) ret, digest, sizeof(digest)) != 28)
                return -EIO;
        return 0;
}

static bool header_value_ok(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || (unsigned char) *s == 0x7f)
                        return false;
        return true;
}

int fzd_http_upgrade_request(const char *target, const char *host_header, const char *user_agent, const char *key,
                             const char *token, FzdSecret **ret) {
        /* The request in pieces, to be measured first and then copied once into locked
         * memory: no printf buffer or realloc'd copy of the token is ever left behind in
         * the heap or on the stack. */
        const char *const parts[] = {
                "GET ", target, " HTTP/1.1\r\n"
                "Host: ", host_header, "\r\n"
                "Upgrade: websocket\r\n"
                "Connection: Upgrade\r\n"
                "Sec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Key: ", key, "\r\n"
                "User-Agent: ", user_agent, "\r\n"
                "X-Authorization: Bearer ", token, "\r\n"
                "\r\n",
        };
        _cleanup_(fzd_secret_freep) FzdSecret *request = NULL;
        size_t size = 0;
        int r;

        if (!header_value_ok(target) || strchr(target, ' ') || !header_value_ok(host_header) ||
            !header_value_ok(user_agent) || !header_value_ok(key) || !header_value_ok(token) || isempty(token))
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(parts); i++)
                size += strlen(parts[i]);
        r = fzd_secret_new_empty(size, &request);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
                r = fzd_secret_append(request, parts[i], strlen(parts[i]));
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(request);
        return 0;
}

/* Does the comma-separated header value contain token (case-insensitively)? */
static bool has_token(const char *value, size_t len, const char *token) {
        size_t tlen = strlen(token), i = 0;

        while (i < len) {
                size_t start, end;
                while (i < len && (value[i] == ' ' || value[i] == '\t' || value[i] == ','))
                        i++;
                start = i;
                while (i < len && value[i] != ',')
                        i++;
                end = i;
                while (end > start && (value[end - 1] == ' ' || value[end - 1] == '\t'))
                        end--;
                if (end - start == tlen && strncasecmp(value + start, token, tlen) == 0)
                        return true;
        }
        return false;
}

int fzd_http_response_parse(const char *buf, size_t len, const char *expected_accept, FzdHttpResponse *ret) {
        FzdHttpResponse resp = {};
        const char *end = NULL, *line, *p;
        bool upgrade = false, connection = false, accept = false;
        size_t scan = len < FZD_HTTP_MAX_HEADER ? len : FZD_HTTP_MAX_HEADER;

        for (size_t i = 0; i + 3 < scan; i++)
                if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
                        end = buf + i + 4;
                        break;
                }
        if (!end)
                return len >= FZD_HTTP_MAX_HEADER ? -E2BIG : -EAGAIN;
        resp.header_len = (size_t) (end - buf);

        /* Status line: HTTP/1.x SP 3DIGIT [SP reason] CRLF */
        if (resp.header_len < 14 || strncmp(buf, "HTTP/1.", 7) != 0 || (buf[7] != '0' && buf[7] != '1') ||
            buf[8] != ' ')
                return -EBADMSG;
        for (int i = 9; i < 12; i++)
                if (buf[i] < '0' || buf[i] > '9')
                        return -EBADMSG;
        if (buf[12] != ' ' && buf[12] != '\r')
                return -EBADMSG;
        resp.status = (unsigned) (buf[9] - '0') * 100 + (unsigned) (buf[10] - '0') * 10 + (unsigned) (buf[11] - '0');

        p = memchr(buf, '\n', resp.header_len);
        if (!p || p[-1] != '\r')
                return -EBADMSG;
        line = p + 1;
        while (line < end - 2) {
                const char *eol = memchr(line, '\n', (size_t) (end - line));
                const char *colon, *value, *value_end;
                size_t name_len;

                if (!eol || eol == line || eol[-1] != '\r')
                        return -EBADMSG;
                value_end = eol - 1;
                colon = memchr(line, ':', (size_t) (value_end - line));
                if (!colon || colon == line)
                        return -EBADMSG;
                name_len = (size_t) (colon - line);
                for (const char *c = line; c < colon; c++)
                        if (*c <= 0x20 || *c >= 0x7f)
                                return -EBADMSG;
                value = colon + 1;
                while (value < value_end && (*value == ' ' || *value == '\t'))
                        value++;
                while (value_end > value && (value_end[-1] == ' ' || value_end[-1] == '\t'))
                        value_end--;

#define IS(name) (name_len == sizeof(name) - 1 && strncasecmp(line, name, name_len) == 0)
                if (IS("Upgrade"))
                        upgrade = has_token(value, (size_t) (value_end - value), "websocket");
                else if (IS("Connection"))
                        connection = has_token(value, (size_t) (value_end - value), "upgrade");
                else if (IS("Sec-WebSocket-Accept"))
                        accept = expected_accept && (size_t) (value_end - value) == strlen(expected_accept) &&
                                 memcmp(value, expected_accept, strlen(expected_accept)) == 0;
                else if (IS("Retry-After")) {
                        size_t n = (size_t) (value_end - value);
                        if (n > 0 && n < sizeof(resp.retry_after)) {
                                memcpy(resp.retry_after, value, n);
                                resp.retry_after[n] = 0;
                                resp.has_retry_after = header_value_ok(resp.retry_after);
                        }
                }
#undef IS
                line = eol + 1;
        }

        resp.upgraded = resp.status == 101 && upgrade && connection && accept;
        *ret = resp;
        return 0;
}
