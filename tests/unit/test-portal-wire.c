/* SPDX-License-Identifier: Apache-2.0 */
/* URL handling, the HTTP upgrade, Phoenix encoding, backoff and Retry-After. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backoff.h"
#include "fz-check.h"
#include "http-upgrade.h"
#include "phoenix.h"
#include "portal-url.h"

START_TEST(test_url_parse) {
        FzdUrl u;
        char *t = NULL;

        ck_assert_int_eq(fzd_url_parse("wss://api.firezone.dev/", &u, NULL), 0);
        ck_assert(u.tls);
        ck_assert_str_eq(u.host, "api.firezone.dev");
        ck_assert_uint_eq(u.port, 443);
        ck_assert_str_eq(u.base_path, "/");
        ck_assert_str_eq(u.host_header, "api.firezone.dev");
        ck_assert(!u.host_is_ip);
        ck_assert_int_eq(fzd_portal_url_request_target(&u, "abc", "my laptop/1", "AB+/c=", &t), 0);
        ck_assert_str_eq(t, "/client/v2/websocket?external_id=abc&name=my%20laptop%2F1&public_key=AB%2B%2Fc%3D");
        free(t);
        fzd_url_done(&u);

        ck_assert_int_eq(fzd_url_parse("ws://127.0.0.1:8080/portal", &u, NULL), 0);
        ck_assert(!u.tls);
        ck_assert(u.host_is_ip);
        ck_assert_uint_eq(u.port, 8080);
        ck_assert_str_eq(u.base_path, "/portal/");
        ck_assert_str_eq(u.host_header, "127.0.0.1:8080");
        fzd_url_done(&u);

        ck_assert_int_eq(fzd_url_parse("wss://[::1]:4443", &u, NULL), 0);
        ck_assert_str_eq(u.host, "::1");
        ck_assert(u.host_is_ip);
        ck_assert_str_eq(u.host_header, "[::1]:4443");
        ck_assert_str_eq(u.base_path, "/");
        fzd_url_done(&u);

        ck_assert_int_eq(fzd_url_parse("https://x/", &u, NULL), -EINVAL);
        ck_assert_int_eq(fzd_url_parse("wss://", &u, NULL), -EINVAL);
        ck_assert_int_eq(fzd_url_parse("wss://a:0/", &u, NULL), -EINVAL);
        ck_assert_int_eq(fzd_url_parse("wss://a:65536/", &u, NULL), -EINVAL);
        ck_assert_int_eq(fzd_url_parse("wss://a:12x/", &u, NULL), -EINVAL);
        ck_assert_int_eq(fzd_url_parse("wss://[::1/", &u, NULL), -EINVAL);
        ck_assert_int_eq(fzd_url_parse("wss://[nothex]/", &u, NULL), -EINVAL);
        ck_assert_int_eq(fzd_url_parse("wss://a b/", &u, NULL), -EINVAL);
        ck_assert_int_eq(fzd_url_parse(NULL, &u, NULL), -EINVAL);
}
END_TEST

START_TEST(test_websocket_accept) {
        char accept[29], key[25];

        /* RFC 6455 §1.3 */
        ck_assert_int_eq(fzd_websocket_accept_for_key("dGhlIHNhbXBsZSBub25jZQ==", accept), 0);
        ck_assert_str_eq(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        ck_assert_int_eq(fzd_websocket_new_key(key), 0);
        ck_assert_uint_eq(strlen(key), 24);
}
END_TEST

/* The VmFlags of the mapping that holds p, from /proc/self/smaps ("" if not found). */
static void vm_flags_of(const void *p, char *ret, size_t size) {
        FILE *f = fopen("/proc/self/smaps", "re");
        char line[512];
        bool inside = false;

        ret[0] = 0;
        ck_assert_ptr_nonnull(f);
        while (fgets(line, sizeof line, f)) {
                unsigned long lo, hi;
                if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
                        inside = (uintptr_t) p >= lo && (uintptr_t) p < hi;
                else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
                        snprintf(ret, size, "%.200s", line + 8);
                        break;
                }
        }
        fclose(f);
}

START_TEST(test_upgrade_request) {
        FzdSecret *req = NULL;
        const char *text;
        char flags[256];

        ck_assert_int_eq(fzd_http_upgrade_request("/client/v2/websocket?a=b", "h:1", "UA/1", "k", "tok", &req), 0);
        text = fzd_secret_get(req);
        ck_assert_uint_eq(fzd_secret_len(req), strlen(text));
        ck_assert_ptr_nonnull(strstr(text, "GET /client/v2/websocket?a=b HTTP/1.1\r\n"));
        ck_assert_ptr_nonnull(strstr(text, "\r\nX-Authorization: Bearer tok\r\n"));
        ck_assert_ptr_nonnull(strstr(text, "\r\nUser-Agent: UA/1\r\n"));
        ck_assert_ptr_null(strstr(text, "token="));
        ck_assert(strstr(text, "\r\n\r\n") == text + fzd_secret_len(req) - 4);
        /* It holds the token: in pages left out of core dumps, and locked (as root, that is
         * without an RLIMIT_MEMLOCK in the way; ASan makes mlock() a no-op). */
        vm_flags_of(text, flags, sizeof flags);
        ck_assert_msg(strstr(flags, " dd"), "the request is in a mapping with VmFlags%s", flags);
#ifndef __SANITIZE_ADDRESS__
        if (geteuid() == 0)
                ck_assert_msg(strstr(flags, " lo"), "the request is in a mapping with VmFlags%s", flags);
#endif
        fzd_secret_free(req);
        /* header injection through any value is refused */
        req = NULL;
        ck_assert_int_eq(fzd_http_upgrade_request("/", "h", "UA", "k", "tok\r\nEvil: 1", &req), -EINVAL);
        ck_assert_int_eq(fzd_http_upgrade_request("/", "h", "UA\n", "k", "tok", &req), -EINVAL);
        ck_assert_int_eq(fzd_http_upgrade_request("/ x", "h", "UA", "k", "tok", &req), -EINVAL);
        ck_assert_int_eq(fzd_http_upgrade_request("/", "h", "UA", "k", "", &req), -EINVAL);
        ck_assert_ptr_null(req);
}
END_TEST

START_TEST(test_response_parse) {
        FzdHttpResponse r;
        static const char ok[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
                                 "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\x81\x02hi";
        static const char unauth[] = "HTTP/1.1 401 Unauthorized\r\ncontent-length: 13\r\n\r\nInvalid token";
        static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nretry-after:  7 \r\n\r\n";

        ck_assert_int_eq(fzd_http_response_parse(ok, sizeof(ok) - 1, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", &r), 0);
        ck_assert(r.upgraded);
        ck_assert_uint_eq(r.status, 101);
        ck_assert_uint_eq(sizeof(ok) - 1 - r.header_len, 4);
        ck_assert_int_eq(fzd_http_response_parse(ok, sizeof(ok) - 1, "wrongwrongwrongwrongwrongwro", &r), 0);
        ck_assert(!r.upgraded);
        ck_assert_int_eq(fzd_http_response_parse(ok, 20, "x", &r), -EAGAIN);
        ck_assert_int_eq(fzd_http_response_parse(unauth, sizeof(unauth) - 1, "x", &r), 0);
        ck_assert_uint_eq(r.status, 401);
        ck_assert(!r.upgraded);
        ck_assert_int_eq(fzd_http_response_parse(busy, sizeof(busy) - 1, "x", &r), 0);
        ck_assert_uint_eq(r.status, 503);
        ck_assert(r.has_retry_after);
        ck_assert_str_eq(r.retry_after, "7");

        ck_assert_int_eq(fzd_http_response_parse("SSH-2.0-OpenSSH\r\n\r\n", 19, "x", &r), -EBADMSG);
        ck_assert_int_eq(fzd_http_response_parse("HTTP/1.1 1x1 X\r\n\r\n", 18, "x", &r), -EBADMSG);
        ck_assert_int_eq(fzd_http_response_parse("HTTP/1.1 200 OK\r\nno colon\r\n\r\n", 29, "x", &r), -EBADMSG);
        ck_assert_int_eq(fzd_http_response_parse("HTTP/1.1 200 OK\nA: b\r\n\r\n", 24, "x", &r), -EBADMSG);
        {
                char *big = malloc(FZD_HTTP_MAX_HEADER + 10);
                memset(big, 'a', FZD_HTTP_MAX_HEADER + 10);
                ck_assert_int_eq(fzd_http_response_parse(big, FZD_HTTP_MAX_HEADER + 10, "x", &r), -E2BIG);
                free(big);
        }
}
END_TEST

START_TEST(test_phoenix_encode) {
        char *s = NULL;

        ck_assert_int_eq(fzd_phoenix_encode("client", "phx_join", "{}", 1, &s), 0);
        ck_assert_str_eq(s, "{\"topic\":\"client\",\"event\":\"phx_join\",\"payload\":{},\"ref\":1}");
        free(s);
        ck_assert_int_eq(fzd_phoenix_encode("cli\"ent", "x", "{}", 1, &s), -EINVAL);
        ck_assert_int_eq(fzd_phoenix_encode("client", "x", "", 1, &s), -EINVAL);
}
END_TEST

START_TEST(test_backoff) {
        FzdBackoff b;
        uint64_t d, prev_interval = 0;

        fzd_backoff_reset(&b);
        /* factor exactly 1.0 (random % 65536 == 32768) */
        ck_assert_uint_eq(fzd_backoff_next(&b, 32768), 500000);
        ck_assert_uint_eq(fzd_backoff_next(&b, 32768), 750000);
        ck_assert_uint_eq(fzd_backoff_next(&b, 32768), 1125000);
        /* jitter stays within ±50 % and the cap holds */
        for (int i = 0; i < 40; i++) {
                prev_interval = b.interval_usec;
                d = fzd_backoff_next(&b, (uint64_t) i * 7919);
                ck_assert_uint_le(d, FZD_BACKOFF_MAX_USEC);
                ck_assert_uint_ge(d, prev_interval / 2);
        }
        ck_assert_uint_eq(b.interval_usec, FZD_BACKOFF_MAX_USEC);
        ck_assert_uint_eq(fzd_backoff_next(&b, 0), FZD_BACKOFF_MAX_USEC / 2);
        fzd_backoff_reset(&b);
        ck_assert_uint_eq(fzd_backoff_next(&b, 0), 250000);
}
END_TEST

START_TEST(test_retry_after) {
        uint64_t d = 0;
        const uint64_t now = 1445412480ULL * 1000000ULL; /* 2015-10-21 07:28:00 GMT */

        ck_assert_int_eq(fzd_retry_after_parse("120", now, &d), 0);
        ck_assert_uint_eq(d, 120000000ULL);
        ck_assert_int_eq(fzd_retry_after_parse(" 0 ", now, &d), 0);
        ck_assert_uint_eq(d, 0);
        ck_assert_int_eq(fzd_retry_after_parse("99999999999999999999999", now, &d), 0);
        ck_assert_uint_eq(d, FZD_RETRY_AFTER_MAX_USEC);
        ck_assert_int_eq(fzd_retry_after_parse("Wed, 21 Oct 2015 07:29:00 GMT", now, &d), 0);
        ck_assert_uint_eq(d, 60000000ULL);
        ck_assert_int_eq(fzd_retry_after_parse("Wed, 21 Oct 2015 07:00:00 GMT", now, &d), 0);
        ck_assert_uint_eq(d, 0);
        ck_assert_int_eq(fzd_retry_after_parse("-1", now, &d), -EINVAL);
        ck_assert_int_eq(fzd_retry_after_parse("12.5", now, &d), -EINVAL);
        ck_assert_int_eq(fzd_retry_after_parse("", now, &d), -EINVAL);
        ck_assert_int_eq(fzd_retry_after_parse("soon", now, &d), -EINVAL);
        ck_assert_int_eq(fzd_retry_after_parse(NULL, now, &d), -EINVAL);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("portal-wire");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_url_parse);
        tcase_add_test(tc, test_websocket_accept);
        tcase_add_test(tc, test_upgrade_request);
        tcase_add_test(tc, test_response_parse);
        tcase_add_test(tc, test_phoenix_encode);
        tcase_add_test(tc, test_backoff);
        tcase_add_test(tc, test_retry_after);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(suite)
