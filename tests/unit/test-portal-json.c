/* SPDX-License-Identifier: Apache-2.0 */
/* The portal message parser (portal-json.c, portal-gateway.c) against Firezone's real
 * message shapes, and against bad input at each level: a bad element is skipped (and
 * counted), a bad payload is refused as a whole, a bad frame is refused before any payload
 * parser sees it. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fz-check.h"
#include "portal-gateway.h"
#include "portal-json.h"

static const FzdJson *payload_of(const char *text, FzdPortalFrame *f) {
        const char *why = NULL;
        ck_assert_int_eq(fzd_portal_frame_parse(text, strlen(text), f, &why), 0);
        return f->payload;
}

static int frame_error_why(const char *text, size_t len, const char **ret_why) {
        FzdPortalFrame f;
        const char *why = NULL;
        int r = fzd_portal_frame_parse(text, len, &f, &why);
        if (r == 0)
                fzd_portal_frame_done(&f);
        else
                ck_assert_ptr_nonnull(why);
        if (ret_why)
                *ret_why = why;
        return r;
}

static int frame_error(const char *text) {
        return frame_error_why(text, strlen(text), NULL);
}

/* A JSON text as a document (for the payload parsers); its root. */
static FzdPortalDoc doc;

static const FzdJson *doc_of(const char *json) {
        const char *why = NULL;
        fzd_portal_doc_done(&doc);
        ck_assert_msg(fzd_portal_doc_parse(json, strlen(json), &doc, &why) == 0, "test JSON does not parse: %s", json);
        return doc.root;
}

static void doc_done(void) {
        fzd_portal_doc_done(&doc);
}

/* From connlib's messages/client.rs tests (init_phoenix_message). */
static const char init_msg[] =
        "{\"event\":\"init\",\"payload\":{\"interface\":{\"ipv4\":\"100.72.112.111\",\"ipv6\":\"fd00:2021:1111::13:efb9\","
        "\"upstream_dns\":[],\"extra_config\":\"foo\"},\"resources\":["
        "{\"address\":\"172.172.0.0/16\",\"id\":\"73037362-715d-4a83-a749-f18eadd970e6\",\"name\":\"172.172.0.0/16\","
        "\"address_description\":\"cidr resource\",\"gateway_groups\":[{\"name\":\"test\",\"id\":"
        "\"bf56f32d-7b2c-4f5d-a784-788977d014a4\"}],\"type\":\"cidr\",\"not\":\"relevant\"},"
        "{\"address\":\"172.173.0.0/16\",\"id\":\"73037362-715d-4a83-a749-f18eadd970e7\",\"name\":\"172.173.0.0/16\","
        "\"address_description\":null,\"gateway_groups\":[{\"name\":\"test\",\"id\":\"bf56f32d-7b2c-4f5d-a784-788977d014a4\"}],"
        "\"type\":\"cidr\"},"
        "{\"address\":\"gitlab.mycorp.com\",\"id\":\"03000143-e25e-45c7-aafb-144990e57dcd\",\"ipv4\":\"100.126.44.50\","
        "\"name\":\"gitlab.mycorp.com\",\"address_description\":\"dns resource\",\"gateway_groups\":[{\"name\":\"test\","
        "\"id\":\"bf56f32d-7b2c-4f5d-a784-788977d014a4\"}],\"type\":\"dns\"},"
        "{\"id\":\"1106047c-cd5d-4151-b679-96b93da7383b\",\"type\":\"internet\",\"gateway_groups\":[{\"name\":\"test\","
        "\"id\":\"eb94482a-94f4-47cb-8127-14fb3afa5516\"}],\"can_be_disabled\":true},"
        "{\"id\":\"99999999-e25e-45c7-aafb-144990e57dcd\",\"type\":\"future_kind\",\"whatever\":[1,2]}"
        "]},\"ref\":null,\"topic\":\"client\"}";

START_TEST(test_init_real_shape) {
        FzdPortalFrame f;
        FzdInterfaceConfig c;
        FzdResource **rs = NULL;
        FzdPortalSkips skips = FZD_PORTAL_SKIPS("init");
        size_t n = 0;
        char err[200] = "", buf[64];

        payload_of(init_msg, &f);
        ck_assert_str_eq(f.topic, "client");
        ck_assert_str_eq(f.event, "init");
        ck_assert(!f.has_ref);
        ck_assert_int_eq(fzd_portal_init_parse(f.payload, &skips, &c, &rs, &n, err, sizeof err), 0);
        ck_assert_uint_eq(n, 4); /* the unknown type is skipped, quietly */
        ck_assert_uint_eq(skips.unknown, 1);
        ck_assert_uint_eq(skips.skipped, 0);
        ck_assert(c.has_ipv4 && c.has_ipv6);
        ck_assert_str_eq(inet_ntop(AF_INET, &c.ipv4, buf, sizeof buf), "100.72.112.111");
        ck_assert_str_eq(inet_ntop(AF_INET6, &c.ipv6, buf, sizeof buf), "fd00:2021:1111::13:efb9");
        ck_assert_uint_eq(c.n_upstream_dns, 0);
        ck_assert_str_eq(rs[0]->id, "73037362-715d-4a83-a749-f18eadd970e6");
        ck_assert_int_eq(rs[0]->type, FZD_RESOURCE_CIDR);
        ck_assert_str_eq(rs[0]->description, "cidr resource");
        ck_assert_uint_eq(rs[0]->n_sites, 1);
        ck_assert_str_eq(rs[0]->sites[0].name, "test");
        ck_assert_str_eq(rs[1]->description, "");
        ck_assert_int_eq(rs[2]->type, FZD_RESOURCE_DNS);
        ck_assert_str_eq(rs[2]->address, "gitlab.mycorp.com");
        ck_assert_int_eq(rs[3]->type, FZD_RESOURCE_INTERNET);
        ck_assert_str_eq(rs[3]->name, "Internet Resource");
        ck_assert_str_eq(rs[3]->address, "");
        fzd_resources_free(rs, n);
        fzd_portal_frame_done(&f);
}
END_TEST

START_TEST(test_interface_dns_variants) {
        FzdPortalFrame f;
        FzdInterfaceConfig c;
        FzdPortalSkips skips = FZD_PORTAL_SKIPS("config_changed");
        char err[200] = "", buf[64];

        /* config_changed from connlib's tests: legacy upstream_dns with ip_port */
        payload_of("{\"event\":\"config_changed\",\"ref\":null,\"topic\":\"client\",\"payload\":{\"interface\":{"
                   "\"ipv6\":\"fd00:2021:1111::e:65ea\",\"upstream_dns\":[{\"protocol\":\"ip_port\",\"address\":"
                   "\"1.1.1.1:53\"},{\"protocol\":\"ip_port\",\"address\":\"[2606:4700::1111]:5353\"},{\"protocol\":"
                   "\"doh\",\"address\":\"https://x\"}],\"ipv4\":\"100.67.138.25\",\"search_domain\":\"corp.example\"}}}",
                   &f);
        ck_assert_int_eq(fzd_portal_config_changed_parse(f.payload, &skips, &c, err, sizeof err), 0);
        ck_assert_uint_eq(c.n_upstream_dns, 2);
        ck_assert_uint_eq(skips.unknown, 1); /* the doh server */
        ck_assert_uint_eq(skips.skipped, 0);
        ck_assert_int_eq(c.upstream_dns[0].family, AF_INET);
        ck_assert_uint_eq(c.upstream_dns[0].port, 53);
        ck_assert_int_eq(c.upstream_dns[1].family, AF_INET6);
        ck_assert_uint_eq(c.upstream_dns[1].port, 5353);
        ck_assert_str_eq(inet_ntop(AF_INET6, &c.upstream_dns[1].addr.in6, buf, sizeof buf), "2606:4700::1111");
        ck_assert_str_eq(c.search_domain, "corp.example");
        fzd_portal_frame_done(&f);

        /* newer portals: upstream_do53 wins over the legacy field */
        payload_of("{\"topic\":\"client\",\"event\":\"config_changed\",\"payload\":{\"interface\":{\"ipv4\":\"100.64.0.1\","
                   "\"upstream_do53\":[{\"ip\":\"9.9.9.9\"}],\"upstream_dns\":[{\"protocol\":\"ip_port\",\"address\":"
                   "\"1.1.1.1:53\"}],\"search_domain\":null}}}",
                   &f);
        ck_assert_int_eq(fzd_portal_config_changed_parse(f.payload, &skips, &c, err, sizeof err), 0);
        ck_assert_uint_eq(c.n_upstream_dns, 1);
        ck_assert_str_eq(inet_ntop(AF_INET, &c.upstream_dns[0].addr.in, buf, sizeof buf), "9.9.9.9");
        ck_assert(!c.has_ipv6);
        ck_assert_str_eq(c.search_domain, "");
        fzd_portal_frame_done(&f);
}
END_TEST

START_TEST(test_refs_and_replies) {
        FzdPortalFrame f;
        bool ok = false;
        const char *reason = NULL;

        payload_of("{\"event\":\"phx_reply\",\"ref\":\"12\",\"topic\":\"client\",\"payload\":{\"status\":\"error\","
                   "\"response\":{\"reason\":\"unmatched topic\"}}}",
                   &f);
        ck_assert(f.has_ref);
        ck_assert_uint_eq(f.ref, 12);
        ck_assert_int_eq(fzd_portal_reply_parse(f.payload, &ok, &reason), 0);
        ck_assert(!ok);
        ck_assert_str_eq(reason, "unmatched topic");
        fzd_portal_frame_done(&f);

        payload_of("{\"event\":\"phx_reply\",\"ref\":7,\"topic\":\"phoenix\",\"payload\":{\"status\":\"ok\",\"response\":{}}}",
                   &f);
        ck_assert_uint_eq(f.ref, 7);
        ck_assert_int_eq(fzd_portal_reply_parse(f.payload, &ok, &reason), 0);
        ck_assert(ok);
        fzd_portal_frame_done(&f);

        payload_of("{\"event\":\"disconnect\",\"ref\":null,\"topic\":\"client\",\"payload\":{\"reason\":\"token_expired\"}}",
                   &f);
        ck_assert_int_eq(fzd_portal_disconnect_reason(f.payload, &reason), 0);
        ck_assert_str_eq(reason, "token_expired");
        fzd_portal_frame_done(&f);

        payload_of("{\"event\":\"resource_deleted\",\"ref\":null,\"topic\":\"client\",\"payload\":\"73037362-715d-4a83\"}", &f);
        {
                const char *id = NULL;
                char err[100];
                ck_assert_int_eq(fzd_portal_resource_deleted_parse(f.payload, &id, err, sizeof err), 0);
                ck_assert_str_eq(id, "73037362-715d-4a83");
        }
        fzd_portal_frame_done(&f);
}
END_TEST


START_TEST(test_bad_frames) {
        const char *why = NULL;

        ck_assert_int_eq(frame_error(""), -EBADMSG);
        ck_assert_int_eq(frame_error("{"), -EBADMSG);
        ck_assert_int_eq(frame_error("not json"), -EBADMSG);
        ck_assert_int_eq(frame_error("{\"topic\":\"client\",\"event\":\"x\"} trailing"), -EBADMSG);
        ck_assert_int_eq(frame_error("{\"topic\":\"client\",\"event\":\"x\"} // comment"), -EBADMSG);
        ck_assert_int_eq(frame_error("{\"topic\":\"client\",\"event\":\"x\",\"payload\":NaN}"), -EBADMSG);
        ck_assert_int_eq(frame_error("{\"topic\":\"client\",\"event\":\"x\",\"payload\":tru}"), -EBADMSG);
        ck_assert_int_eq(frame_error("{\"topic\":\"client\",\"event\":\"x\",\"payload\":[1 2]}"), -EBADMSG);
        ck_assert_int_eq(frame_error("{'topic':'client','event':'x'}"), -EBADMSG); /* JSON5 */
        /* A trailing comma passes, as with json-parser before (docs/portal-protocol.md): harmless. */
        ck_assert_int_eq(frame_error("{\"topic\":\"client\",\"event\":\"x\",}"), 0);
        ck_assert_int_eq(frame_error("[1,2,3]"), -EINVAL);
        ck_assert_int_eq(frame_error("\"client\""), -EINVAL);
        ck_assert_int_eq(frame_error("{\"topic\":1,\"event\":\"x\"}"), -EINVAL);
        ck_assert_int_eq(frame_error("{\"topic\":\"client\"}"), -EINVAL);
        ck_assert_int_eq(frame_error("{\"topic\":\"client\",\"event\":\"x\",\"ref\":-1}"), -EINVAL);
        ck_assert_int_eq(frame_error("{\"topic\":\"client\",\"event\":\"x\",\"ref\":1.5}"), -EINVAL);
        ck_assert_int_eq(frame_error("{\"topic\":\"client\",\"event\":\"x\",\"ref\":\"1x\"}"), -EINVAL);
        ck_assert_int_eq(frame_error("{\"topic\":\"client\",\"event\":\"x\",\"ref\":\"99999999999999999999\"}"), -EINVAL);
        ck_assert_int_eq(frame_error("{\"topic\":\"client\",\"event\":\"x\",\"ref\":18446744073709551616}"), -EINVAL);
        ck_assert_int_eq(frame_error("{\"topic\":\"client\",\"event\":\"x\",\"ref\":9223372036854775807}"), 0);
        ck_assert_int_eq(frame_error("{\"topic\":\"client\",\"event\":\"x\",\"ref\":[]}"), -EINVAL);
        ck_assert_int_eq(frame_error("{\"topic\":\"cl\\u0000ient\",\"event\":\"x\"}"), -EINVAL);
        ck_assert_int_eq(frame_error("{\"topic\":\"client\",\"event\":\"x\",\"ref\":3}"), 0);
        /* A key with a NUL of its own is another key. */
        ck_assert_int_eq(frame_error("{\"topic\\u0000x\":\"client\",\"event\":\"x\"}"), -EINVAL);

        /* Not UTF-8 (a stray byte, an overlong "/", a UTF-16 surrogate in UTF-8), a raw control
         * character: the reader lets them through, the text check does not. A lone surrogate
         * escape the reader refuses itself. */
        ck_assert_int_eq(frame_error("{\"topic\":\"client\",\"event\":\"\xff\xfe\"}"), -EINVAL);
        ck_assert_int_eq(frame_error("{\"topic\":\"client\",\"event\":\"\xc0\xaf\"}"), -EINVAL);
        ck_assert_int_eq(frame_error("{\"topic\":\"client\",\"event\":\"\xed\xa0\x80\"}"), -EINVAL);
        ck_assert_int_eq(frame_error("{\"topic\":\"client\",\"event\":\"a\x01" "b\"}"), -EINVAL);
        ck_assert_int_eq(frame_error("{\"topic\":\"client\",\"event\":\"\\ud800\"}"), -EBADMSG);
        ck_assert_int_eq(frame_error("{\"topic\":\"client\",\"event\":\"\\ud83d\\ude00\"}"), 0);
        /* A NUL byte anywhere. */
        ck_assert_int_eq(frame_error_why("{\"topic\":\"client\",\"event\":\"x\"}\0", 31, &why), -EBADMSG);
        ck_assert_str_eq(why, "the frame contains a NUL byte");
        /* Inside a string, a key, a literal, a number, between tokens: the reader stops at it. */
        {
                static const char *const texts[] = {
                        "{\"topic\":\"cl\0ient\",\"event\":\"x\"}",
                        "{\"to\0pic\":\"client\",\"event\":\"x\"}",
                        "{\"topic\":\"client\",\"event\":\"x\",\"p\":tr\0e}",
                        "{\"topic\":\"client\",\"event\":\"x\",\"p\":12\0}",
                        "{\"topic\":\"client\",\0\"event\":\"x\"}",
                        "{\"topic\":\"client\",\"event\":\"abcdefghijklmnop\0qrstuvwxyz\"}",
                        "{\"topic\":\"client\",\"event\":\"a\\\0b\"}", /* escaped */
                };
                for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                        size_t len = strlen(texts[i]) + 1 + strlen(texts[i] + strlen(texts[i]) + 1);
                        ck_assert_int_eq(frame_error_why(texts[i], len, &why), -EBADMSG);
                        ck_assert_msg(streq(why, "the frame contains a NUL byte"), "text %zu: %s", i, why);
                }
        }
        /* A NUL from \u0000 is a string's own: a field that must be a C string refuses it. */
        ck_assert_int_eq(frame_error("{\"topic\":\"client\",\"event\":\"a\\u0000b\"}"), -EINVAL);

        /* Nesting is fine up to FZD_JSON_MAX_DEPTH (the reader never recurses). */
        {
                char deep[400] = "{\"topic\":\"client\",\"event\":\"x\",\"payload\":";
                for (int i = 0; i < 150; i++)
                        strcat(deep, "[");
                for (int i = 0; i < 150; i++)
                        strcat(deep, "]");
                strcat(deep, "}");
                ck_assert_int_eq(frame_error(deep), 0);
        }
        /* 8 MiB of nothing but nesting: too deep; of tiny values: over the cap on the parsed
         * form (with the reader's scratch space). */
        {
                static const char *const fill[] = { "[]", "0," };
                size_t half = FZD_PORTAL_MAX_FRAME / 2 - 64;
                char *big = malloc(FZD_PORTAL_MAX_FRAME);
                int n = snprintf(big, 64, "{\"topic\":\"client\",\"event\":\"x\",\"payload\":");

                ck_assert_ptr_nonnull(big);
                memset(big + n, '[', half);
                memset(big + n + half, ']', half);
                big[n + 2 * half] = '}';
                ck_assert_int_eq(frame_error_why(big, (size_t) n + 2 * half + 1, &why), -EBADMSG);
                ck_assert_str_eq(why, "the frame is nested too deeply");

                n = snprintf(big, 64, "{\"topic\":\"client\",\"event\":\"x\",\"payload\":[");
                for (size_t i = 0; i < half - 1; i++)
                        memcpy(big + n + 2 * i, fill[1], 2);
                memcpy(big + n + 2 * (half - 1), "0]}", 3);
                ck_assert_int_eq(frame_error_why(big, (size_t) n + 2 * (half - 1) + 3, &why), -EBADMSG);
                ck_assert_str_eq(why, "the frame takes too much memory to parse");
                (void) fill[0];
                free(big);
        }
        /* over the size limit: refused before parsing */
        ck_assert_int_eq(frame_error_why("{}", FZD_PORTAL_MAX_FRAME + 1, &why), -EMSGSIZE);
}
END_TEST

/* The reader on many shapes, for the arena: every value and string where it belongs, nothing
 * leaked or overrun (this test runs under ASan in the sanitizer stage). */
START_TEST(test_documents) {
        const FzdJson *d, *v;
        const char *s;
        size_t len;
        int64_t i;
        bool b;

        d = doc_of("{\"a\":[1,-2,9223372036854775807,9223372036854775808,1.5,true,false,null,\"x\\u00e9\\\"\",{},[]],"
                   "\"\":{\"k\":\"v\"},\"a\":\"second a\",\"n\\u0000\":1}");
        ck_assert_int_eq(fzd_json_type(d), FZD_JSON_OBJECT);
        v = fzd_json_get(d, "a"); /* the first of two */
        ck_assert_int_eq(fzd_json_type(v), FZD_JSON_ARRAY);
        ck_assert_uint_eq(fzd_json_array_size(v), 11);
        ck_assert(fzd_json_int(fzd_json_array_at(v, 0), &i) && i == 1);
        ck_assert(fzd_json_int(fzd_json_array_at(v, 1), &i) && i == -2);
        ck_assert(fzd_json_int(fzd_json_array_at(v, 2), &i) && i == INT64_MAX);
        ck_assert_int_eq(fzd_json_type(fzd_json_array_at(v, 3)), FZD_JSON_DOUBLE); /* past int64_t */
        ck_assert(!fzd_json_int(fzd_json_array_at(v, 3), &i));
        ck_assert_int_eq(fzd_json_type(fzd_json_array_at(v, 4)), FZD_JSON_DOUBLE);
        ck_assert(fzd_json_bool(fzd_json_array_at(v, 5), &b) && b);
        ck_assert(fzd_json_bool(fzd_json_array_at(v, 6), &b) && !b);
        ck_assert(fzd_json_is_null(fzd_json_array_at(v, 7)));
        s = fzd_json_string(fzd_json_array_at(v, 8), &len);
        ck_assert_uint_eq(len, 4);
        ck_assert_str_eq(s, "x\xc3\xa9\"");
        ck_assert_int_eq(fzd_json_type(fzd_json_array_at(v, 9)), FZD_JSON_OBJECT);
        ck_assert_uint_eq(fzd_json_array_size(fzd_json_array_at(v, 10)), 0);
        ck_assert_ptr_null(fzd_json_array_at(v, 11));
        ck_assert_ptr_null(fzd_json_array_at(d, 0));
        ck_assert_str_eq(fzd_json_string(fzd_json_get(fzd_json_get(d, ""), "k"), NULL), "v");
        ck_assert_ptr_null(fzd_json_get(d, "n")); /* "n\u0000" is another key */
        ck_assert_ptr_null(fzd_json_get(v, "a"));
        ck_assert_ptr_null(fzd_json_get(NULL, "a"));
        ck_assert_int_eq(fzd_json_type(NULL), FZD_JSON_NONE);
        ck_assert(fzd_json_is_null(NULL));
        ck_assert_ptr_null(fzd_json_string(d, NULL));

        /* Scalars at the top, and texts large enough to need several arena chunks. */
        d = doc_of("\"top\"");
        ck_assert_str_eq(fzd_json_string(d, NULL), "top");
        d = doc_of(" 42 ");
        ck_assert(fzd_json_int(d, &i) && i == 42);
        for (size_t n = 1; n <= 100000; n *= 10) {
                char *text = malloc(n * 16 + 16), *p = text;

                if (!text)
                        abort();
                p += sprintf(p, "[");
                for (size_t k = 0; k < n; k++)
                        p += sprintf(p, "%s{\"k%zu\":\"%zu\"}", k ? "," : "", k % 7, k);
                strcpy(p, "]");
                d = doc_of(text);
                ck_assert_uint_eq(fzd_json_array_size(d), n);
                {
                        char key[8], value[32];
                        snprintf(key, sizeof key, "k%zu", (n - 1) % 7);
                        snprintf(value, sizeof value, "%zu", n - 1);
                        ck_assert_str_eq(fzd_json_string(fzd_json_get(fzd_json_array_at(d, n - 1), key), NULL), value);
                }
                free(text);
        }
        doc_done();
}
END_TEST

/* The reader itself (json-reader.c): the grammar's corners, numbers, escapes, depth, and a
 * string's end found eight bytes at a time at every offset. */
static int reader_error(const char *text) {
        FzdJsonArena *a = NULL;
        const FzdJson *root = NULL;
        size_t offset = 0;
        int r = fzd_json_parse(text, strlen(text), 1U << 24, &a, &root, &offset);

        if (r == 0)
                fzd_json_arena_free(a);
        return r;
}

START_TEST(test_reader) {
        static const char *const bad[] = {
                "", " ", "[", "]", "{", "}", "[1,,2]", "[,]", "{,}", "{\"a\"}", "{\"a\":}", "{\"a\" 1}", "{1:2}",
                "[1]]", "[1] [2]", "01", "-", "-a", "1.", ".5", "1e", "1e+", "+1", "0x10", "1.5.5", "tru", "nul",
                "falsey", "nan", "\"abc", "\"a\\", "\"\\u12\"", "\"\\u12g4\"", "\"\\udc00\"", "\"\\ud800\\u0041\"",
                "\"\\ud800\"", "[\"a\" \"b\"]", "{\"a\":1 \"b\":2}", "'a'", "[1,]]",
        };
        static const char *const good[] = {
                "0", "-0", "[]", "{}", " [ ] ", "[1,]", "{\"a\":1,}", "\"\\q\"", "\"a\tb\"", "1E5", "1e-5", "-1.25e+3",
                "[[],[{}],{\"\":[]}]", "\"\\ud83d\\ude00\"", "true", "false", "null",
        };
        const FzdJson *d;
        const char *s;
        size_t len;
        int64_t i;

        for (size_t k = 0; k < ELEMENTSOF(bad); k++)
                ck_assert_msg(reader_error(bad[k]) == -EBADMSG, "accepted: %s", bad[k]);
        for (size_t k = 0; k < ELEMENTSOF(good); k++)
                ck_assert_msg(reader_error(good[k]) == 0, "refused: %s", good[k]);

        ck_assert(fzd_json_int(doc_of("-9223372036854775808"), &i) && i == INT64_MIN);
        ck_assert_int_eq(fzd_json_type(doc_of("-9223372036854775809")), FZD_JSON_DOUBLE);
        ck_assert_int_eq(fzd_json_type(doc_of("18446744073709551616")), FZD_JSON_DOUBLE);
        ck_assert(fzd_json_int(doc_of("-0"), &i) && i == 0);
        d = doc_of("-1.25e+3");
        ck_assert(d->type == FZD_JSON_DOUBLE && d->u.d == -1250.0);
        d = doc_of("[0.5, 12345678901234567890123456789012345678901234567890123456789012345678901234567890.0]");
        ck_assert_uint_eq(fzd_json_array_size(d), 2);
        ck_assert(d->u.items[0].type == FZD_JSON_DOUBLE && d->u.items[0].u.d == 0.5);
        ck_assert(d->u.items[1].u.d > 1.2e79 && d->u.items[1].u.d < 1.3e79);

        /* Escapes: every short one, \u in one to four UTF-8 bytes, \u0000 kept with its length. */
        s = fzd_json_string(doc_of("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20ac\\ud83d\\ude00\\u0000z\""), &len);
        ck_assert_uint_eq(len, 8 + 1 + 2 + 3 + 4 + 2);
        ck_assert(memcmp(s, "\"\\/\b\f\n\r\tA\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\0z", len + 1) == 0);
        /* \u0000 marks the string: fzd_json_text() refuses it, fzd_json_string() has its bytes. */
        d = doc_of("[\"a\\u0000b\", \"ab\"]");
        ck_assert_ptr_null(fzd_json_text(fzd_json_array_at(d, 0), NULL));
        ck_assert_ptr_nonnull(fzd_json_string(fzd_json_array_at(d, 0), NULL));
        ck_assert_str_eq(fzd_json_text(fzd_json_array_at(d, 1), &len), "ab");
        ck_assert_uint_eq(len, 2);
        /* A raw control character and an unknown escape pass the reader (the field checks refuse). */
        ck_assert_str_eq(fzd_json_string(doc_of("\"a\x01\\qb\""), NULL), "a\x01qb");

        /* The text is read in a copy: the caller's bytes stay as they were, and the document
         * outlives them. */
        {
                static const char text[] = "{\"k\":\"v\\n\\u00e9\",\"key\":[\"x\",\"\\\"q\"],\"n\":1}";
                char *copy = strdup(text);
                FzdJsonArena *a = NULL;
                const FzdJson *root = NULL;

                ck_assert_int_eq(fzd_json_parse(copy, strlen(copy), 1U << 20, &a, &root, NULL), 0);
                ck_assert_str_eq(copy, text);
                memset(copy, '#', strlen(copy));
                free(copy);
                ck_assert_str_eq(fzd_json_string(fzd_json_get(root, "k"), NULL), "v\n\xc3\xa9");
                ck_assert_str_eq(fzd_json_string(fzd_json_array_at(fzd_json_get(root, "key"), 1), NULL), "\"q");
                fzd_json_arena_free(a);
        }

        /* A NUL byte is an error where it stands, with its offset. */
        {
                static const char text[] = "[\"ab\", \"c\0d\"]";
                FzdJsonArena *a = NULL;
                const FzdJson *root = NULL;
                size_t offset = 0;

                ck_assert_int_eq(fzd_json_parse(text, sizeof text - 1, 1U << 20, &a, &root, &offset), -EBADMSG);
                ck_assert_uint_eq(offset, 9);
        }

        /* Member lookup: by the whole key and its length — a prefix, a longer key, the empty
         * key and one with a NUL of its own are other keys. */
        d = doc_of("{\"i\":1, \"idx\":2, \"\":3, \"id\\u0000\":4, \"id\":5, \"identifier\":6}");
        ck_assert(fzd_json_int(fzd_json_get(d, "id"), &i) && i == 5);
        ck_assert(fzd_json_int(fzd_json_get(d, "i"), &i) && i == 1);
        ck_assert(fzd_json_int(fzd_json_get(d, ""), &i) && i == 3);
        ck_assert(fzd_json_int(fzd_json_get(d, "identifier"), &i) && i == 6);
        ck_assert_ptr_null(fzd_json_get(d, "ident"));
        ck_assert_ptr_null(fzd_json_get(d, "identifiers"));
        ck_assert_ptr_null(fzd_json_get(d, "x"));

        /* The end of a string, and an escape, at every offset of the eight-byte scan. */
        for (size_t n = 0; n < 40; n++) {
                char text[160], want[64];
                memset(want, 'x', n);
                want[n] = '\0';
                snprintf(text, sizeof text, "[\"%s\",\"%s\\\"\"]", want, want);
                d = doc_of(text);
                ck_assert_str_eq(fzd_json_string(fzd_json_array_at(d, 0), &len), want);
                ck_assert_uint_eq(len, n);
                ck_assert_uint_eq(fzd_json_array_size(d), 2);
                ck_assert_uint_eq(d->u.items[1].len, n + 1);
                ck_assert_int_eq(d->u.items[1].u.str[n], '"');
        }

        /* Keys of every length around the eight-byte fast path, plain and with an escape. */
        for (size_t n = 0; n < 24; n++) {
                char text[160], key[32], escaped[40];
                memset(key, 'k', n);
                key[n] = '\0';
                snprintf(text, sizeof text, "{\"%s\":%zu, \"%s\\u0041\":%zu}", key, n, key, n + 100);
                d = doc_of(text);
                ck_assert_msg(fzd_json_int(fzd_json_get(d, key), &i) && i == (int64_t) n, "key of %zu bytes", n);
                snprintf(escaped, sizeof escaped, "%sA", key);
                ck_assert_msg(fzd_json_int(fzd_json_get(d, escaped), &i) && i == (int64_t) n + 100,
                              "escaped key of %zu bytes", n);
        }

        /* Depth: FZD_JSON_MAX_DEPTH nested containers read, one more is refused. */
        for (unsigned depth = FZD_JSON_MAX_DEPTH; depth <= FZD_JSON_MAX_DEPTH + 1; depth++) {
                char *text = malloc(2 * depth + 1);
                FzdJsonArena *a = NULL;
                const FzdJson *root = NULL;
                int r;

                for (unsigned k = 0; k < depth; k++) {
                        text[k] = '[';
                        text[2 * depth - 1 - k] = ']';
                }
                r = fzd_json_parse(text, 2 * depth, 1U << 24, &a, &root, NULL);
                ck_assert_int_eq(r, depth <= FZD_JSON_MAX_DEPTH ? 0 : -ELOOP);
                fzd_json_arena_free(a);
                free(text);
        }
        /* The memory cap: refused, nothing leaked (ASan). */
        {
                FzdJsonArena *a = NULL;
                const FzdJson *root = NULL;
                ck_assert_int_eq(fzd_json_parse("[\"abcdefgh\",1,2,3]", 19, 64, &a, &root, NULL), -E2BIG);
                ck_assert_ptr_null(a);
        }
        doc_done();
}
END_TEST

/* One resource through the parser: the result, and for a refused one the reason and the
 * skeleton (the id, when it was valid). */
static int resource_error(const char *json, const char *expect_skeleton_id) {
        const FzdJson *d = doc_of(json);
        FzdPortalSkips s = FZD_PORTAL_SKIPS("test");
        FzdPortalElement e = { .what = "resource", .index = FZD_PORTAL_NO_INDEX };
        FzdResource *r = NULL;
        int k;

        k = fzd_portal_resource_parse(d, &s, &e, &r);
        if (k == -EINVAL)
                ck_assert_str_ne(e.why, "");
        if (k == 0)
                ck_assert_ptr_nonnull(r);
        else if (expect_skeleton_id) {
                ck_assert_ptr_nonnull(r);
                ck_assert_str_eq(r->id, expect_skeleton_id);
                ck_assert_ptr_null(r->address);
        } else
                ck_assert_ptr_null(r);
        fzd_resource_free(r);
        doc_done();
        return k;
}

START_TEST(test_bad_resources) {
        ck_assert_int_eq(resource_error("{\"id\":\"a\",\"type\":\"cidr\",\"name\":\"n\",\"address\":\"10.0.0.0/8\"}", NULL), 0);
        ck_assert_int_eq(resource_error("{\"id\":\"a\",\"type\":\"dns\",\"name\":\"n\",\"address\":\"**.corp\"}", NULL), 0);
        /* bad values */
        ck_assert_int_eq(resource_error("{\"id\":\"a\",\"type\":\"cidr\",\"name\":\"n\",\"address\":\"10.0.0.0/33\"}", "a"),
                         -EINVAL);
        ck_assert_int_eq(resource_error("{\"id\":\"a\",\"type\":\"cidr\",\"name\":\"n\",\"address\":\"fd00::/129\"}", "a"),
                         -EINVAL);
        ck_assert_int_eq(resource_error("{\"id\":\"a\",\"type\":\"cidr\",\"name\":\"n\",\"address\":\"example.com\"}", "a"),
                         -EINVAL);
        ck_assert_int_eq(resource_error("{\"id\":\"a\",\"type\":\"dns\",\"name\":\"n\",\"address\":\"a b.com\"}", "a"),
                         -EINVAL);
        ck_assert_int_eq(resource_error("{\"id\":\"a b\",\"type\":\"dns\",\"name\":\"n\",\"address\":\"x.com\"}", NULL),
                         -EINVAL);
        ck_assert_int_eq(resource_error("{\"id\":\"a\",\"type\":\"dns\",\"name\":\"n\\u0001\",\"address\":\"x.com\"}", "a"),
                         -EINVAL);
        /* wrong types and missing fields: skipped too (no longer a reset), with the id if usable */
        ck_assert_int_eq(resource_error("{\"id\":5,\"type\":\"dns\",\"name\":\"n\",\"address\":\"x.com\"}", NULL), -EINVAL);
        ck_assert_int_eq(resource_error("{\"id\":\"a\",\"type\":\"dns\",\"address\":\"x.com\"}", "a"), -EINVAL);
        ck_assert_int_eq(resource_error("{\"id\":\"a\",\"type\":\"dns\",\"name\":[],\"address\":\"x.com\"}", "a"), -EINVAL);
        ck_assert_int_eq(resource_error("{\"id\":\"a\",\"type\":\"dns\",\"name\":\"n\",\"address\":\"x.com\","
                                        "\"address_description\":7}",
                                        "a"),
                         -EINVAL);
        ck_assert_int_eq(resource_error("{\"id\":\"a\",\"type\":\"dns\",\"name\":\"n\",\"address\":\"x.com\",\"status\":{}}",
                                        "a"),
                         -EINVAL);
        ck_assert_int_eq(resource_error("{\"id\":\"a\",\"type\":\"dns\",\"name\":\"n\",\"address\":\"x.com\","
                                        "\"gateway_groups\":{}}",
                                        "a"),
                         -EINVAL);
        ck_assert_int_eq(resource_error("{\"id\":\"a\",\"type\":7}", "a"), -EINVAL);
        ck_assert_int_eq(resource_error("{\"type\":\"dns\",\"name\":\"n\",\"address\":\"x.com\"}", NULL), -EINVAL);
        ck_assert_int_eq(resource_error("[]", NULL), -EINVAL);
        ck_assert_int_eq(resource_error("\"a\"", NULL), -EINVAL);
        ck_assert_int_eq(resource_error("null", NULL), -EINVAL);
        /* a kind this client does not know: its id still comes back (a type change removes
         * the old copy) */
        ck_assert_int_eq(resource_error("{\"id\":\"a\",\"type\":\"site_to_site\"}", "a"), -EOPNOTSUPP);
        ck_assert_int_eq(resource_error("{\"id\":[],\"type\":\"site_to_site\"}", NULL), -EOPNOTSUPP);
        {
                char big[2100] = "{\"id\":\"";
                memset(big + 7, 'a', 200);
                strcpy(big + 207, "\",\"type\":\"internet\"}");
                ck_assert_int_eq(resource_error(big, NULL), -EINVAL);
        }
        /* an unknown status value is "unknown"; an unknown field is ignored */
        ck_assert_int_eq(resource_error("{\"id\":\"a\",\"type\":\"dns\",\"name\":\"n\",\"address\":\"x.com\","
                                        "\"status\":\"sleepy\",\"filters\":[{\"protocol\":\"tcp\"}]}",
                                        NULL),
                         0);
}
END_TEST

/* init with one bad element of each kind: every good one is kept, each bad one skipped and
 * counted. */
START_TEST(test_init_skips_each_kind_of_bad_element) {
        const FzdJson *d = doc_of(
                "{\"interface\":{\"ipv4\":\"not an address\",\"ipv6\":\"fd00:2021:1111::1\","
                "\"search_domain\":\"bad domain\","
                "\"upstream_do53\":[{\"ip\":\"1.1.1.1\"},{\"ip\":5},\"8.8.8.8\",{\"ip\":\"nope\"},{\"ip\":\"9.9.9.9\"}]},"
                "\"resources\":["
                "{\"id\":\"good-cidr\",\"type\":\"cidr\",\"name\":\"good\",\"address\":\"10.0.0.0/8\"},"
                "{\"id\":7,\"type\":\"cidr\",\"name\":\"id of the wrong type\",\"address\":\"10.0.0.0/8\"},"
                "{\"id\":\"a b\",\"type\":\"cidr\",\"name\":\"unusable id\",\"address\":\"10.0.0.0/8\"},"
                "{\"id\":\"no-type\",\"name\":\"n\",\"address\":\"10.0.0.0/8\"},"
                "{\"id\":\"type-number\",\"type\":3,\"name\":\"n\",\"address\":\"10.0.0.0/8\"},"
                "{\"id\":\"name-number\",\"type\":\"dns\",\"name\":1,\"address\":\"x.example.com\"},"
                "{\"id\":\"no-name\",\"type\":\"dns\",\"address\":\"x.example.com\"},"
                "{\"id\":\"bad-cidr\",\"type\":\"cidr\",\"name\":\"n\",\"address\":\"10.0.0.0/33\"},"
                "{\"id\":\"bad-pattern\",\"type\":\"dns\",\"name\":\"n\",\"address\":\"not a name\"},"
                "{\"id\":\"address-list\",\"type\":\"dns\",\"name\":\"n\",\"address\":[\"x.example.com\"]},"
                "{\"id\":\"description-number\",\"type\":\"dns\",\"name\":\"n\",\"address\":\"x.example.com\","
                "\"address_description\":5},"
                "{\"id\":\"sites-object\",\"type\":\"dns\",\"name\":\"n\",\"address\":\"x.example.com\","
                "\"gateway_groups\":{\"id\":\"s\"}},"
                "{\"id\":\"future\",\"type\":\"future_kind\",\"anything\":{}},"
                "42, \"a string\", null, [],"
                "{\"id\":\"good-dns\",\"type\":\"dns\",\"name\":\"good\",\"address\":\"*.example.com\","
                "\"gateway_groups\":[{\"id\":\"site-1\",\"name\":\"one\"},{\"name\":\"no id\"},{\"id\":9},"
                "{\"id\":\"site-4\",\"name\":\"bad\\u0007name\"},\"site\",{\"id\":\"site-6\"}]},"
                "{\"id\":\"good-internet\",\"type\":\"internet\"}"
                "]}");
        FzdPortalSkips s = FZD_PORTAL_SKIPS("init");
        FzdInterfaceConfig c;
        FzdResource **v = NULL;
        size_t n = 0;
        char err[200] = "", buf[64];

        ck_assert_int_eq(fzd_portal_init_parse(d, &s, &c, &v, &n, err, sizeof err), 0);
        /* The interface: IPv4 skipped, IPv6 kept; the search domain skipped; 2 of 5 servers. */
        ck_assert(!c.has_ipv4);
        ck_assert(c.has_ipv6);
        ck_assert_str_eq(c.search_domain, "");
        ck_assert_uint_eq(c.n_upstream_dns, 2);
        ck_assert_str_eq(inet_ntop(AF_INET, &c.upstream_dns[1].addr.in, buf, sizeof buf), "9.9.9.9");
        /* The resources: the three good ones, in order. */
        ck_assert_uint_eq(n, 3);
        ck_assert_str_eq(v[0]->id, "good-cidr");
        ck_assert_str_eq(v[1]->id, "good-dns");
        ck_assert_str_eq(v[2]->id, "good-internet");
        /* The good DNS resource keeps its two usable sites. */
        ck_assert_uint_eq(v[1]->n_sites, 2);
        ck_assert_str_eq(v[1]->sites[0].id, "site-1");
        ck_assert_str_eq(v[1]->sites[1].id, "site-6");
        ck_assert_str_eq(v[1]->sites[1].name, "");
        /* Counted: ipv4, search domain, 3 servers, 15 resources, 4 sites; the future kind aside. */
        ck_assert_uint_eq(s.skipped, 2 + 3 + 15 + 4);
        ck_assert_uint_eq(s.unknown, 1);
        ck_assert_uint_eq(s.logged, FZD_PORTAL_SKIPS_LOGGED);
        fzd_resources_free(v, n);
        doc_done();
}
END_TEST

START_TEST(test_init_unusable_as_a_whole) {
        static const char *const bad[] = {
                "[]",
                "{\"resources\":[]}",
                "{\"interface\":[]}",
                "{\"interface\":{}}",
                "{\"interface\":{\"ipv4\":\"1.2.3\"}}",
                "{\"interface\":{\"ipv4\":7,\"ipv6\":\"nope\"}}",
                "{\"interface\":{\"ipv4\":\"1.2.3.4\"},\"resources\":{}}",
                "{\"interface\":{\"ipv4\":\"1.2.3.4\"},\"resources\":\"all\"}",
        };
        FzdInterfaceConfig c;
        FzdResource **rs = NULL;
        size_t n = 0;
        char err[200];

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                const FzdJson *d = doc_of(bad[i]);
                FzdPortalSkips s = FZD_PORTAL_SKIPS("init");

                err[0] = 0;
                ck_assert_msg(fzd_portal_init_parse(d, &s, &c, &rs, &n, err, sizeof err) == -EINVAL,
                              "accepted %s", bad[i]);
                ck_assert_str_ne(err, "");
                doc_done();
        }

        /* more resources than one init may carry */
        {
                size_t count = FZD_PORTAL_MAX_RESOURCES + 1;
                char *json = malloc(64 + 3 * count);
                char *p = json + sprintf(json, "{\"interface\":{\"ipv4\":\"1.2.3.4\"},\"resources\":[");
                FzdPortalSkips s = FZD_PORTAL_SKIPS("init");
                const FzdJson *d;

                for (size_t i = 0; i < count; i++)
                        p += sprintf(p, "%s{}", i ? "," : "");
                strcpy(p, "]}");
                d = doc_of(json);
                ck_assert_int_eq(fzd_portal_init_parse(d, &s, &c, &rs, &n, err, sizeof err), -EINVAL);
                ck_assert_ptr_nonnull(strstr(err, "more than"));
                doc_done();
                free(json);
        }
}
END_TEST

START_TEST(test_interface_tolerance) {
        FzdInterfaceConfig c;
        char err[200];
        struct {
                const char *json;
                unsigned skipped, n_upstream;
                bool v4, v6;
        } cases[] = {
                { "{\"ipv4\":\"1.2.3.4\",\"ipv6\":7}", 1, 0, true, false },
                { "{\"ipv4\":\"1.2.3.4\",\"search_domain\":\"bad domain\"}", 1, 0, true, false },
                { "{\"ipv4\":\"1.2.3.4\",\"search_domain\":[]}", 1, 0, true, false },
                { "{\"ipv4\":\"1.2.3.4\",\"upstream_do53\":[{\"ip\":\"x\"}]}", 1, 0, true, false },
                { "{\"ipv4\":\"1.2.3.4\",\"upstream_do53\":{\"ip\":\"1.1.1.1\"}}", 1, 0, true, false },
                /* the newer list had nothing usable: the legacy one counts */
                { "{\"ipv4\":\"1.2.3.4\",\"upstream_do53\":[{\"ip\":\"x\"}],\"upstream_dns\":[{\"protocol\":"
                  "\"ip_port\",\"address\":\"1.1.1.1:53\"}]}",
                  1, 1, true, false },
                { "{\"ipv4\":\"1.2.3.4\",\"upstream_dns\":[{\"protocol\":\"ip_port\",\"address\":\"1.1.1.1\"}]}", 1, 0,
                  true, false },
                { "{\"ipv4\":\"1.2.3.4\",\"upstream_dns\":[{\"protocol\":\"ip_port\",\"address\":\"1.1.1.1:0\"}]}", 1, 0,
                  true, false },
                { "{\"ipv6\":\"fd00::1\",\"upstream_dns\":[{\"protocol\":7,\"address\":\"1.1.1.1:53\"},{\"address\":"
                  "\"[::1]:53\"}]}",
                  1, 1, false, true },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const FzdJson *d = doc_of(cases[i].json);
                FzdPortalSkips s = FZD_PORTAL_SKIPS("config_changed");

                ck_assert_msg(fzd_portal_interface_parse(d, &s, &c, err, sizeof err) == 0, "%s: %s",
                              cases[i].json, err);
                ck_assert_msg(s.skipped == cases[i].skipped, "%s: %u skipped", cases[i].json, s.skipped);
                ck_assert_uint_eq(c.n_upstream_dns, cases[i].n_upstream);
                ck_assert(c.has_ipv4 == cases[i].v4);
                ck_assert(c.has_ipv6 == cases[i].v6);
                doc_done();
        }
        /* more upstream servers than we keep: the rest is ignored, not an error */
        {
                const FzdJson *d = doc_of(
                        "{\"ipv4\":\"1.2.3.4\",\"upstream_do53\":[{\"ip\":\"1.1.1.1\"},{\"ip\":\"1.1.1.2\"},"
                        "{\"ip\":\"1.1.1.3\"},{\"ip\":\"1.1.1.4\"},{\"ip\":\"1.1.1.5\"},{\"ip\":\"1.1.1.6\"},{\"ip\":"
                        "\"1.1.1.7\"},{\"ip\":\"1.1.1.8\"},{\"ip\":\"1.1.1.9\"}]}");
                FzdPortalSkips s = FZD_PORTAL_SKIPS("init");
                ck_assert_int_eq(fzd_portal_interface_parse(d, &s, &c, err, sizeof err), 0);
                ck_assert_uint_eq(c.n_upstream_dns, FZD_MAX_UPSTREAM_DNS);
                ck_assert_uint_eq(s.skipped, 0);
                doc_done();
        }
}
END_TEST

/* The walker #13's messages will use: a stopping error, the cap, a list of the wrong type. */
static int count_parse(const FzdJson *v, FzdPortalElement *e, void *userdata) {
        unsigned *used = userdata;
        int64_t i;

        if (streq_ptr(fzd_json_string(v, NULL), "oom"))
                return -ENOMEM;
        if (streq_ptr(fzd_json_string(v, NULL), "new"))
                return -EOPNOTSUPP;
        if (!fzd_json_int(v, &i))
                return fzd_portal_bad(e, "it is not a number");
        (*used)++;
        return 0;
}

START_TEST(test_each) {
        const FzdJson *d = doc_of("{\"ok\":[1,\"x\",2,\"new\",3,{},4],\"stop\":[1,\"oom\",2],\"obj\":{},\"big\":"
                               "[1,2,3,4,5,6,7,8,9,10,11,12]}");
        const FzdJson *root = d;
        FzdPortalSkips s = FZD_PORTAL_SKIPS("test");
        unsigned used = 0;

        ck_assert_int_eq(fzd_portal_each(fzd_json_get(root, "ok"), &s, "number", NULL, 100, count_parse, &used), 0);
        ck_assert_uint_eq(used, 4);
        ck_assert_uint_eq(s.skipped, 2);
        ck_assert_uint_eq(s.unknown, 1);

        used = 0;
        ck_assert_int_eq(fzd_portal_each(fzd_json_get(root, "stop"), &s, "number", NULL, 100, count_parse, &used), -ENOMEM);
        ck_assert_uint_eq(used, 1);
        ck_assert_int_eq(fzd_portal_each(fzd_json_get(root, "obj"), &s, "number", NULL, 100, count_parse, &used), -EINVAL);
        ck_assert_int_eq(fzd_portal_each(NULL, &s, "number", NULL, 100, count_parse, &used), 0);

        s = FZD_PORTAL_SKIPS("test");
        used = 0;
        ck_assert_int_eq(fzd_portal_each(fzd_json_get(root, "big"), &s, "number", NULL, 10, count_parse, &used), 0);
        ck_assert_uint_eq(used, 10);
        ck_assert_uint_eq(s.skipped, 1); /* one line for the rest */
        doc_done();
}
END_TEST

/* Ids are checked in blocks of 16 or 8 bytes, the last block overlapping the one before: at
 * every length from 1 to 48, a good id is taken whole and one bad byte anywhere refuses it. */
START_TEST(test_id_check_at_every_length_and_offset) {
        /* Bad bytes: a space, DEL, a quote, a backslash, a control character, bytes from 0x80 up. */
        static const char *const bad[] = { " ", "\\u007f", "\\\"", "\\\\", "\\u0001", "\\u0080", "\\u00ff" };
        const char *id;
        char err[200], json[160], good[49];

        for (size_t len = 1; len <= 48; len++) {
                for (size_t i = 0; i < len; i++) {
                        char c = (char) ('!' + (i * 7 + len) % 94); /* '!' … '~' */
                        good[i] = c == '"' || c == '\\' ? 'x' : c;
                }
                good[len] = '\0';
                (void) snprintf(json, sizeof json, "{\"id\":\"%s\"}", good);
                ck_assert_int_eq(fzd_portal_resource_deleted_parse(doc_of(json), &id, err, sizeof err), 0);
                ck_assert_str_eq(id, good);
                doc_done();
                for (size_t at = 0; at < len; at++)
                        for (size_t b = 0; b < ELEMENTSOF(bad); b++) {
                                (void) snprintf(json, sizeof json, "{\"id\":\"%.*s%s%s\"}", (int) at, good, bad[b],
                                                good + at + 1);
                                err[0] = '\0';
                                ck_assert_msg(fzd_portal_resource_deleted_parse(doc_of(json), &id, err, sizeof err) ==
                                                      -EINVAL,
                                              "%s", json);
                                ck_assert_str_ne(err, "");
                                doc_done();
                        }
        }
}
END_TEST

START_TEST(test_events_unusable_as_a_whole) {
        static const char *const bad_deleted[] = { "5", "null", "\"a b\"", "{}", "{\"id\":3}", "[\"a\"]", "\"\"" };
        FzdInterfaceConfig c;
        const char *id;
        char err[200];

        for (size_t i = 0; i < ELEMENTSOF(bad_deleted); i++) {
                const FzdJson *d = doc_of(bad_deleted[i]);
                err[0] = 0;
                ck_assert_int_eq(fzd_portal_resource_deleted_parse(d, &id, err, sizeof err), -EINVAL);
                ck_assert_str_ne(err, "");
                doc_done();
        }
        {
                const FzdJson *d = doc_of("{\"id\":\"r-1\"}");
                ck_assert_int_eq(fzd_portal_resource_deleted_parse(d, &id, err, sizeof err), 0);
                ck_assert_str_eq(id, "r-1");
                doc_done();
        }
        {
                static const char *const bad_config[] = { "[]", "{}", "{\"interface\":{\"ipv4\":\"x\"}}" };
                for (size_t i = 0; i < ELEMENTSOF(bad_config); i++) {
                        const FzdJson *d = doc_of(bad_config[i]);
                        FzdPortalSkips s = FZD_PORTAL_SKIPS("config_changed");
                        ck_assert_int_eq(fzd_portal_config_changed_parse(d, &s, &c, err, sizeof err),
                                         -EINVAL);
                        doc_done();
                }
        }
        /* reply and disconnect payloads */
        {
                bool ok;
                const char *reason;
                const FzdJson *d = doc_of("{\"status\":\"maybe\"}");
                ck_assert_int_eq(fzd_portal_reply_parse(d, &ok, &reason), -EINVAL);
                doc_done();
                d = doc_of("{\"status\":\"error\",\"response\":{\"reason\":[1]}}");
                ck_assert_int_eq(fzd_portal_reply_parse(d, &ok, &reason), 0);
                ck_assert(!ok);
                ck_assert_str_eq(reason, "unknown");
                doc_done();
                ck_assert_int_eq(fzd_portal_reply_parse(NULL, &ok, &reason), -EINVAL);
                ck_assert_int_eq(fzd_portal_disconnect_reason(NULL, &reason), -EINVAL);
        }
}
END_TEST

/* 10,000 resources the way the local portal renders them: all parsed, nothing skipped. */
START_TEST(test_large_init) {
        size_t count = 10000, size = 64 + count * 400;
        char *json = malloc(size), *p = json;
        FzdPortalFrame f;
        FzdPortalSkips s = FZD_PORTAL_SKIPS("init");
        FzdInterfaceConfig c;
        FzdResource **v = NULL;
        size_t n = 0;
        char err[200];

        p += sprintf(p, "{\"topic\":\"client\",\"event\":\"init\",\"ref\":null,\"payload\":{\"interface\":{\"ipv4\":"
                        "\"100.64.0.9\"},\"resources\":[");
        for (size_t i = 0; i < count; i++)
                p += sprintf(p,
                             "%s{\"id\":\"00000000-0000-4000-8000-%012zu\",\"type\":\"%s\",\"name\":\"Resource %05zu\","
                             "\"address\":\"%s%zu%s\",\"address_description\":\"generated resource %zu\","
                             "\"gateway_groups\":[{\"id\":\"bf56f32d-7b2c-4f5d-a784-788977d014a4\",\"name\":\"Bench\"}],"
                             "\"filters\":[]}",
                             i ? "," : "", i, i % 2 ? "dns" : "cidr", i, i % 2 ? "host" : "10.0.", i % 2 ? i : i % 256,
                             i % 2 ? ".bench.example.com" : ".0/24", i);
        strcpy(p, "]}}");
        /* The parsed values fit in the first chunk, sized 1.25 times the text: a chunk is a
         * populated mapping, so one that is too large costs page faults for nothing (it was
         * twice the text, 40% of it unused). */
        {
                size_t len = strlen(json);
                char *copy = strdup(json);
                FzdJsonArena *a = NULL;
                const FzdJson *root;

                ck_assert_ptr_nonnull(copy);
                ck_assert_int_eq(fzd_json_parse_in_place(copy, len, 64 << 20, &a, &root, NULL), 0);
                ck_assert_uint_le(fzd_json_arena_bytes(a), len + len / 4 + 64);
                ck_assert_uint_ge(fzd_json_arena_bytes(a), len);
                fzd_json_arena_free(a);
                ck_assert_int_eq(fzd_json_parse(json, len, 64 << 20, &a, &root, NULL), 0);
                ck_assert_uint_le(fzd_json_arena_bytes(a), 2 * len + len / 4 + 64);
                fzd_json_arena_free(a);
                free(copy);
        }
        payload_of(json, &f);
        ck_assert_int_eq(fzd_portal_init_parse(f.payload, &s, &c, &v, &n, err, sizeof err), 0);
        ck_assert_uint_eq(n, count);
        ck_assert_uint_eq(s.skipped, 0);
        ck_assert_str_eq(v[count - 1]->address, "host9999.bench.example.com");
        fzd_resources_free(v, n);
        fzd_portal_frame_done(&f);
        free(json);
}
END_TEST

static const FzdResource *resource_of(const char *json, FzdPortalSkips *s) {
        static FzdResource *r;
        FzdPortalElement e = { .what = "resource", .index = FZD_PORTAL_NO_INDEX };

        r = fzd_resource_free(r);
        ck_assert_msg(fzd_portal_resource_parse(doc_of(json), s, &e, &r) == 0, "%s: %s", json, e.why);
        doc_done();
        return r;
}

/* DNS resources' ip_stack (DESIGN §7.1): the portal's spelling; absent or unknown is dual. */
START_TEST(test_dns_ip_stack) {
        FzdPortalSkips s = FZD_PORTAL_SKIPS("test");
#define DNS_RESOURCE(extra) "{\"id\":\"a\",\"type\":\"dns\",\"name\":\"n\",\"address\":\"x.com\"" extra "}"
        ck_assert_int_eq(resource_of(DNS_RESOURCE(""), &s)->ip_stack, FZD_RESOURCE_IP_STACK_DUAL);
        ck_assert_int_eq(resource_of(DNS_RESOURCE(",\"ip_stack\":\"dual\""), &s)->ip_stack, FZD_RESOURCE_IP_STACK_DUAL);
        ck_assert_int_eq(resource_of(DNS_RESOURCE(",\"ip_stack\":\"ipv4_only\""), &s)->ip_stack,
                         FZD_RESOURCE_IP_STACK_IPV4_ONLY);
        ck_assert_int_eq(resource_of(DNS_RESOURCE(",\"ip_stack\":\"ipv6_only\""), &s)->ip_stack,
                         FZD_RESOURCE_IP_STACK_IPV6_ONLY);
        ck_assert_int_eq(resource_of(DNS_RESOURCE(",\"ip_stack\":\"ipv7_only\""), &s)->ip_stack,
                         FZD_RESOURCE_IP_STACK_DUAL);
        ck_assert_int_eq(resource_of(DNS_RESOURCE(",\"ip_stack\":null"), &s)->ip_stack, FZD_RESOURCE_IP_STACK_DUAL);
        ck_assert_int_eq(resource_error(DNS_RESOURCE(",\"ip_stack\":4"), "a"), -EINVAL);
#undef DNS_RESOURCE
        ck_assert_uint_eq(s.skipped, 0);
}
END_TEST

/* Filters only narrow what may go out: an entry this client cannot read is left out with a
 * line, but a non-empty list with no usable entry would allow everything: the resource is
 * unusable then. */
START_TEST(test_filters) {
        FzdPortalSkips s = FZD_PORTAL_SKIPS("test");
        const FzdResource *r;
#define CIDR_RESOURCE(filters) \
        "{\"id\":\"a\",\"type\":\"cidr\",\"name\":\"n\",\"address\":\"10.0.0.0/8\",\"filters\":" filters "}"

        r = resource_of(CIDR_RESOURCE("[{\"protocol\":\"tcp\",\"port_range_start\":80,\"port_range_end\":443},"
                                      "{\"protocol\":\"udp\",\"port_range_start\":53},{\"protocol\":\"icmp\"},"
                                      "{\"protocol\":\"tcp\",\"port_range_start\":null}]"),
                        &s);
        ck_assert_uint_eq(r->n_filters, 4);
        ck_assert_uint_eq(r->filters[0].protocol, 6);
        ck_assert_uint_eq(r->filters[0].port_start, 80);
        ck_assert_uint_eq(r->filters[0].port_end, 443);
        ck_assert_uint_eq(r->filters[1].protocol, 17);
        ck_assert_uint_eq(r->filters[1].port_end, 65535);
        ck_assert_uint_eq(r->filters[2].protocol, 1);
        ck_assert_uint_eq(r->filters[3].port_start, 0);
        ck_assert_uint_eq(s.skipped, 0);

        /* empty, absent, null: everything allowed */
        ck_assert_uint_eq(resource_of(CIDR_RESOURCE("[]"), &s)->n_filters, 0);
        ck_assert_uint_eq(resource_of(CIDR_RESOURCE("null"), &s)->n_filters, 0);

        /* unreadable entries left out, each with a line */
        r = resource_of(CIDR_RESOURCE("[{\"protocol\":\"sctp\"},{\"protocol\":\"tcp\",\"port_range_start\":90,"
                                      "\"port_range_end\":80},{\"protocol\":\"tcp\",\"port_range_end\":70000},"
                                      "{\"protocol\":\"udp\",\"port_range_start\":\"53\"},{\"protocol\":6},\"tcp\","
                                      "{\"protocol\":\"tcp\",\"port_range_start\":22,\"port_range_end\":22}]"),
                        &s);
        ck_assert_uint_eq(r->n_filters, 1);
        ck_assert_uint_eq(r->filters[0].port_start, 22);
        ck_assert_uint_eq(s.skipped, 6);

        /* nothing usable in a non-empty list, a list of another type, more than we take:
         * the resource is unusable (its id comes back, so an update removes the old copy) */
        ck_assert_int_eq(resource_error(CIDR_RESOURCE("[{\"protocol\":\"sctp\"}]"), "a"), -EINVAL);
        ck_assert_int_eq(resource_error(CIDR_RESOURCE("{\"protocol\":\"tcp\"}"), "a"), -EINVAL);
        {
                char json[8192] = CIDR_RESOURCE("[");
                char *p = json + strlen(json) - 1; /* before the closing brace */
                for (int i = 0; i <= FZD_RESOURCE_MAX_FILTERS; i++)
                        p += sprintf(p, "%s{\"protocol\":\"icmp\"}", i ? "," : "");
                strcpy(p, "]}");
                ck_assert_int_eq(resource_error(json, "a"), -EINVAL);
        }
#undef CIDR_RESOURCE
        resource_of("{\"id\":\"a\",\"type\":\"internet\"}", &s);
}
END_TEST

/* Text the portal sends that reaches the journal, terminals, notifications and D-Bus: not
 * UTF-8, or with a control character (C0 but tab, DEL, C1): refused where it enters. */
START_TEST(test_hostile_text_is_refused) {
        static const char *const hostile[] = {
                "line\\n<0>forged",       /* a new journal line */
                "\\u001b]0;title\\u0007", /* ESC: terminal escapes */
                "del\\u007f",
                "csi\\u009b2J", /* C1 CSI */
                "cr\\r",
                "raw\x01",
                "not utf-8 \xff",
                "overlong \xc0\xaf",
                "surrogate \xed\xa0\x80",
        };
        char json[512];

        for (size_t i = 0; i < ELEMENTSOF(hostile); i++) {
                FzdPortalFrame f;
                bool ok = true;
                const char *reason = NULL;

                /* names and descriptions of resources and of their sites */
                snprintf(json, sizeof json, "{\"id\":\"a\",\"type\":\"dns\",\"name\":\"%s\",\"address\":\"x.com\"}",
                         hostile[i]);
                ck_assert_int_eq(resource_error(json, "a"), -EINVAL);
                snprintf(json, sizeof json,
                         "{\"id\":\"a\",\"type\":\"dns\",\"name\":\"n\",\"address\":\"x.com\","
                         "\"address_description\":\"%s\"}",
                         hostile[i]);
                ck_assert_int_eq(resource_error(json, "a"), -EINVAL);
                /* a site with such a name is skipped; the resource stays (without it) */
                {
                        FzdPortalSkips s = FZD_PORTAL_SKIPS("test");
                        snprintf(json, sizeof json,
                                 "{\"id\":\"a\",\"type\":\"dns\",\"name\":\"n\",\"address\":\"x.com\","
                                 "\"gateway_groups\":[{\"id\":\"s\",\"name\":\"%s\"},{\"id\":\"t\"}]}",
                                 hostile[i]);
                        ck_assert_uint_eq(resource_of(json, &s)->n_sites, 1);
                        ck_assert_uint_eq(s.skipped, 1);
                }
                /* topics and events, which are logged */
                snprintf(json, sizeof json, "{\"topic\":\"client\",\"event\":\"%s\"}", hostile[i]);
                ck_assert_int_eq(frame_error(json), -EINVAL);
                snprintf(json, sizeof json, "{\"topic\":\"%s\",\"event\":\"x\"}", hostile[i]);
                ck_assert_int_eq(frame_error(json), -EINVAL);
                /* a refusal's reason, which becomes LastError: withheld, not passed on */
                snprintf(json, sizeof json,
                         "{\"event\":\"phx_reply\",\"ref\":1,\"topic\":\"client\",\"payload\":{\"status\":"
                         "\"error\",\"response\":{\"reason\":\"%s\"}}}",
                         hostile[i]);
                payload_of(json, &f);
                ck_assert_int_eq(fzd_portal_reply_parse(f.payload, &ok, &reason), 0);
                ck_assert(!ok);
                ck_assert_str_eq(reason, "a reason with control characters, not shown");
                fzd_portal_frame_done(&f);
        }
        /* Tab and non-ASCII letters are display text. */
        ck_assert_int_eq(resource_error("{\"id\":\"a\",\"type\":\"dns\",\"name\":\"Caf\u00e9\\tBar\","
                                        "\"address\":\"x.com\"}",
                                        NULL),
                         0);
}
END_TEST

/* ---- the gateway messages (portal-gateway.c) ---- */

#define KEY_A "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define KEY_B "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA="

static const char authorization_json[] =
        "{\"resource_id\":\"r-1\",\"gateway_id\":\"g-1\",\"site_id\":\"s-1\",\"gateway_public_key\":\"" KEY_A "\","
        "\"preshared_key\":\"" KEY_B "\",\"gateway_ipv4\":\"100.64.0.2\",\"gateway_ipv6\":\"fd00:2021:1111::2\","
        "\"client_ice_credentials\":{\"username\":\"cu\",\"password\":\"cp\"},"
        "\"gateway_ice_credentials\":{\"username\":\"gu\",\"password\":\"gp\"},\"use_iceless\":false,\"extra\":1}";

/* authorization_created with one field replaced (or removed: value NULL). */
static int authorization_with(const char *key, const char *value, FzdPortalElement *e, FzdAuthorization *a) {
        char json[2048], *at;
        const char *end;

        snprintf(json, sizeof json, "%s", authorization_json);
        if (key) {
                char needle[64];
                snprintf(needle, sizeof needle, "\"%s\":", key);
                at = strstr(json, needle);
                ck_assert_ptr_nonnull(at);
                /* the value ends at the next top-level comma or the closing brace */
                end = at + strlen(needle);
                if (*end == '{')
                        end = strchr(end, '}') + 1;
                else
                        end += strcspn(end, ",}");
                {
                        char rest[2048];
                        snprintf(rest, sizeof rest, "%s", end);
                        if (value)
                                snprintf(at, sizeof json - (size_t) (at - json), "%s%s%s", needle, value, rest);
                        else
                                snprintf(at, sizeof json - (size_t) (at - json), "\"gone\":0%s", rest);
                }
        }
        *e = (FzdPortalElement){ .what = "authorization", .index = FZD_PORTAL_NO_INDEX };
        /* The document stays until the next one: e->id points into it. */
        return fzd_portal_authorization_parse(doc_of(json), e, a);
}

START_TEST(test_authorization) {
        static const struct {
                const char *key, *value;
        } bad[] = {
                { "resource_id", NULL },
                { "resource_id", "7" },
                { "resource_id", "\"a b\"" },
                { "gateway_id", NULL },
                { "gateway_id", "\"\"" },
                { "site_id", "[]" },
                { "site_id", NULL }, /* and no gateway_group_id either */
                { "gateway_public_key", "\"short\"" },
                { "gateway_public_key", "\"" KEY_A "x\"" },
                { "preshared_key", "null" },
                { "gateway_ipv4", "\"fd00::1\"" },
                { "gateway_ipv6", "6" },
                { "client_ice_credentials", "{\"username\":\"u\"}" },
                { "gateway_ice_credentials", "[]" },
                { "gateway_ice_credentials", "{\"username\":\"u u\",\"password\":\"p\"}" },
                { "use_iceless", "\"no\"" },
        };
        FzdPortalElement e;
        FzdAuthorization a;
        char buf[64];

        ck_assert_int_eq(authorization_with(NULL, NULL, &e, &a), 0);
        ck_assert_str_eq(a.resource_id, "r-1");
        ck_assert_str_eq(a.gateway_id, "g-1");
        ck_assert_str_eq(a.site_id, "s-1");
        ck_assert_uint_eq(a.gateway_public_key[0], 0);
        ck_assert_uint_eq(a.preshared_key[0], 0x04);
        ck_assert(a.has_gateway_ipv4 && a.has_gateway_ipv6);
        ck_assert_str_eq(inet_ntop(AF_INET, &a.gateway_ipv4, buf, sizeof buf), "100.64.0.2");
        ck_assert_str_eq(a.client_ice.password, "cp");
        ck_assert_str_eq(a.gateway_ice.username, "gu");
        ck_assert(!a.use_iceless);

        /* older portals: gateway_group_id; the addresses are optional */
        ck_assert_int_eq(authorization_with("site_id", NULL, &e, &a), -EINVAL);
        {
                const char *json = "{\"resource_id\":\"r\",\"gateway_id\":\"g\",\"gateway_group_id\":\"old\","
                                   "\"gateway_public_key\":\"" KEY_A "\",\"preshared_key\":\"" KEY_B "\","
                                   "\"client_ice_credentials\":{\"username\":\"a\",\"password\":\"b\"},"
                                   "\"gateway_ice_credentials\":{\"username\":\"c\",\"password\":\"d\"}}";
                e = (FzdPortalElement){ .what = "authorization", .index = FZD_PORTAL_NO_INDEX };
                ck_assert_int_eq(fzd_portal_authorization_parse(doc_of(json), &e, &a), 0);
                ck_assert_str_eq(a.site_id, "old");
                ck_assert(!a.has_gateway_ipv4 && !a.has_gateway_ipv6);
                doc_done();
        }

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                ck_assert_msg(authorization_with(bad[i].key, bad[i].value, &e, &a) == -EINVAL, "accepted %s: %s",
                              bad[i].key, bad[i].value ?: "(removed)");
                ck_assert_str_ne(e.why, "");
                /* nothing of it stays behind */
                ck_assert_uint_eq(a.client_ice.password[0], 0);
                ck_assert_uint_eq(a.preshared_key[0], 0);
        }
        /* the resource's id names it in the log line, once it is valid */
        ck_assert_int_eq(authorization_with("preshared_key", "1", &e, &a), -EINVAL);
        ck_assert_str_eq(e.id, "r-1");
        e = (FzdPortalElement){};
        ck_assert_int_eq(fzd_portal_authorization_parse(doc_of("[]"), &e, &a), -EINVAL);
        doc_done();
}
END_TEST

START_TEST(test_authorization_failed) {
        const char *id, *reason;

        ck_assert_int_eq(fzd_portal_authorization_failed_parse(doc_of("{\"resource_id\":\"r\",\"reason\":\"offline\"}"),
                                                               &id, &reason),
                         0);
        ck_assert_str_eq(id, "r");
        ck_assert_str_eq(reason, "offline");
        ck_assert_int_eq(fzd_portal_authorization_failed_parse(doc_of("{\"resource_id\":\"r\",\"reason\":\"a\\nb\"}"),
                                                               &id, &reason),
                         0);
        ck_assert_str_eq(reason, "unknown");
        ck_assert_int_eq(fzd_portal_authorization_failed_parse(doc_of("{\"resource_id\":\"r\",\"reason\":5}"), &id,
                                                               &reason),
                         0);
        ck_assert_str_eq(reason, "unknown");
        ck_assert_int_eq(fzd_portal_authorization_failed_parse(doc_of("{\"resource_id\":\"a b\"}"), &id, &reason),
                         -EINVAL);
        ck_assert_int_eq(fzd_portal_authorization_failed_parse(doc_of("{\"reason\":\"x\"}"), &id, &reason), -EINVAL);
        ck_assert_int_eq(fzd_portal_authorization_failed_parse(doc_of("\"r\""), &id, &reason), -EINVAL);
        doc_done();
}
END_TEST

START_TEST(test_relays) {
        FzdPortalSkips s = FZD_PORTAL_SKIPS("init");
        FzdRelay relays[4];
        const char *gone[4];
        size_t n, n_gone;
        const FzdJson *d;
        char buf[64];

#define RELAY(id, extra) \
        "{\"type\":\"turn\",\"id\":\"" id "\",\"addr\":\"192.0.2.1:3478\",\"username\":\"u\",\"password\":\"p\"" extra "}"
        d = doc_of("[" RELAY("r1", ",\"expires_at\":1700000000") ","
                   "{\"type\":\"stun\",\"id\":\"s\",\"addr\":\"192.0.2.1:3478\"},"   /* another kind: ignored */
                   RELAY("r2", ",\"addr\":\"[2001:db8::1]:3478\"") ","               /* the first addr counts */
                   "{\"type\":\"turn\",\"id\":\"r3\",\"addr\":\"[2001:db8::1]:3478\",\"username\":\"u\",\"password\":\"p\"},"
                   RELAY("bad-expiry", ",\"expires_at\":\"soon\"") ","
                   "{\"type\":\"turn\",\"id\":\"bad-addr\",\"addr\":\"nowhere\",\"username\":\"u\",\"password\":\"p\"},"
                   "{\"type\":\"turn\",\"id\":\"bad-user\",\"addr\":\"192.0.2.1:1\",\"username\":\"u u\",\"password\":\"p\"},"
                   "7]");
        n = fzd_portal_relays_parse(d, &s, relays, ELEMENTSOF(relays));
        /* 4 looked at (the size): r1, the stun one, r2, r3; the rest in one line */
        ck_assert_uint_eq(n, 3);
        ck_assert_str_eq(relays[0].id, "r1");
        ck_assert_uint_eq(relays[0].expires_at, 1700000000);
        ck_assert_int_eq(relays[0].addr.ss_family, AF_INET);
        ck_assert_str_eq(relays[1].id, "r2");
        ck_assert_str_eq(relays[2].id, "r3");
        ck_assert_int_eq(relays[2].addr.ss_family, AF_INET6);
        ck_assert_str_eq(inet_ntop(AF_INET6, &((struct sockaddr_in6 *) &relays[2].addr)->sin6_addr, buf, sizeof buf),
                         "2001:db8::1");
        ck_assert_uint_eq(s.unknown, 1);
        ck_assert_uint_eq(s.skipped, 1);

        s = FZD_PORTAL_SKIPS("init");
        d = doc_of("[" RELAY("bad-expiry", ",\"expires_at\":\"soon\"") ","
                   "{\"type\":\"turn\",\"id\":\"bad-addr\",\"addr\":\"nowhere\",\"username\":\"u\",\"password\":\"p\"},"
                   "{\"type\":\"turn\",\"id\":\"bad-user\",\"addr\":\"192.0.2.1:1\",\"username\":\"u u\",\"password\":\"p\"},"
                   RELAY("ok", "") "]");
        ck_assert_uint_eq(fzd_portal_relays_parse(d, &s, relays, ELEMENTSOF(relays)), 1);
        ck_assert_str_eq(relays[0].id, "ok");
        ck_assert_uint_eq(s.skipped, 3);
        /* none, null, or a list of another type */
        ck_assert_uint_eq(fzd_portal_relays_parse(NULL, &s, relays, ELEMENTSOF(relays)), 0);
        ck_assert_uint_eq(fzd_portal_relays_parse(doc_of("null"), &s, relays, ELEMENTSOF(relays)), 0);
        s = FZD_PORTAL_SKIPS("init");
        ck_assert_uint_eq(fzd_portal_relays_parse(doc_of("{}"), &s, relays, ELEMENTSOF(relays)), 0);
        ck_assert_uint_eq(s.skipped, 1);

        /* relays_presence: bad ids and relays skipped, the rest applies */
        s = FZD_PORTAL_SKIPS("relays_presence");
        d = doc_of("{\"disconnected_ids\":[\"old-1\",7,\"a b\",\"old-2\"],\"connected\":[" RELAY("new", "") ",5]}");
        ck_assert_int_eq(fzd_portal_relays_presence_parse(d, &s, relays, ELEMENTSOF(relays), &n, gone, ELEMENTSOF(gone),
                                                          &n_gone),
                         0);
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(relays[0].id, "new");
        ck_assert_uint_eq(n_gone, 2);
        ck_assert_str_eq(gone[0], "old-1");
        ck_assert_str_eq(gone[1], "old-2");
        ck_assert_uint_eq(s.skipped, 3);
        s = FZD_PORTAL_SKIPS("relays_presence");
        ck_assert_int_eq(fzd_portal_relays_presence_parse(doc_of("{\"disconnected_ids\":{}}"), &s, relays,
                                                          ELEMENTSOF(relays), &n, gone, ELEMENTSOF(gone), &n_gone),
                         0);
        ck_assert_uint_eq(n + n_gone, 0);
        ck_assert_uint_eq(s.skipped, 1);
        ck_assert_int_eq(fzd_portal_relays_presence_parse(doc_of("[]"), &s, relays, ELEMENTSOF(relays), &n, gone,
                                                          ELEMENTSOF(gone), &n_gone),
                         -EINVAL);
#undef RELAY
        doc_done();
}
END_TEST

START_TEST(test_candidates) {
        FzdPortalSkips s = FZD_PORTAL_SKIPS("ice_candidates");
        const char *id, *cands[3];
        size_t n;
        char json[1024];

        snprintf(json, sizeof json,
                 "{\"gateway_id\":\"g-1\",\"candidates\":[\"candidate:1 1 UDP 1 192.0.2.1 5000 typ host\",5,\"\","
                 "\"bad\\ncandidate\",\"%0600d\",\"candidate:2 1 UDP 1 192.0.2.2 5000 typ srflx\",\"c3\",\"c4\"]}",
                 0);
        ck_assert_int_eq(fzd_portal_candidates_parse(doc_of(json), &s, &id, cands, ELEMENTSOF(cands), &n), 0);
        ck_assert_str_eq(id, "g-1");
        /* 3 looked at: one kept, a number and an empty one skipped */
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(cands[0], "candidate:1 1 UDP 1 192.0.2.1 5000 typ host");
        ck_assert_uint_eq(s.skipped, 3); /* the two, and one line for the rest */

        s = FZD_PORTAL_SKIPS("ice_candidates");
        ck_assert_int_eq(fzd_portal_candidates_parse(doc_of("{\"gateway_id\":\"g\",\"candidates\":[\"x\\ny\",\"ok\"]}"),
                                                     &s, &id, cands, ELEMENTSOF(cands), &n),
                         0);
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(cands[0], "ok");
        ck_assert_uint_eq(s.skipped, 1);

        static const char *const bad[] = {
                "[]", "{\"candidates\":[]}", "{\"gateway_id\":\"a b\",\"candidates\":[]}",
                "{\"gateway_id\":\"g\"}", "{\"gateway_id\":\"g\",\"candidates\":\"c\"}",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(fzd_portal_candidates_parse(doc_of(bad[i]), &s, &id, cands, ELEMENTSOF(cands), &n) ==
                                      -EINVAL,
                              "accepted %s", bad[i]);
        doc_done();
}
END_TEST

START_TEST(test_builders) {
        static const char *const ids[] = { "g-1", "g\"2" };
        _cleanup_(freep) char *a = NULL, *b = NULL;
        const FzdJson *d;

        ck_assert_int_eq(fzd_portal_request_authorization_build("r-1", ids, 2, &a), 0);
        d = doc_of(a);
        ck_assert_str_eq(fzd_json_string(fzd_json_get(d, "resource_id"), NULL), "r-1");
        ck_assert_str_eq(fzd_json_string(fzd_json_array_at(fzd_json_get(d, "connected_gateway_ids"), 1), NULL), "g\"2");
        ck_assert_int_eq(fzd_portal_candidates_build("g-1", ids, 0, &b), 0);
        d = doc_of(b);
        ck_assert_int_eq(fzd_json_type(fzd_json_get(d, "candidates")), FZD_JSON_ARRAY);
        ck_assert_uint_eq(fzd_json_array_size(fzd_json_get(d, "candidates")), 0);
        doc_done();
}
END_TEST


static Suite *suite(void) {
        Suite *s = suite_create("portal-json");
        TCase *tc = tcase_create("core");
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_init_real_shape);
        tcase_add_test(tc, test_interface_dns_variants);
        tcase_add_test(tc, test_refs_and_replies);
        tcase_add_test(tc, test_bad_frames);
        tcase_add_test(tc, test_bad_resources);
        tcase_add_test(tc, test_init_skips_each_kind_of_bad_element);
        tcase_add_test(tc, test_init_unusable_as_a_whole);
        tcase_add_test(tc, test_interface_tolerance);
        tcase_add_test(tc, test_each);
        tcase_add_test(tc, test_events_unusable_as_a_whole);
        tcase_add_test(tc, test_id_check_at_every_length_and_offset);
        tcase_add_test(tc, test_large_init);
        tcase_add_test(tc, test_documents);
        tcase_add_test(tc, test_reader);
        tcase_add_test(tc, test_dns_ip_stack);
        tcase_add_test(tc, test_filters);
        tcase_add_test(tc, test_hostile_text_is_refused);
        tcase_add_test(tc, test_authorization);
        tcase_add_test(tc, test_authorization_failed);
        tcase_add_test(tc, test_relays);
        tcase_add_test(tc, test_candidates);
        tcase_add_test(tc, test_builders);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(suite)
