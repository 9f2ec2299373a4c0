/* SPDX-License-Identifier: Apache-2.0 */
/* The portal message parser against Firezone's real message shapes and against bad input. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fz-check.h"
#include "portal-json.h"

static json_object *payload_of(const char *text, FzdPortalFrame *f) {
        const char *why = NULL;
        ck_assert_int_eq(fzd_portal_frame_parse(text, strlen(text), f, &why), 0);
        return f->payload;
}

static int frame_error(const char *text) {
        FzdPortalFrame f;
        const char *why = NULL;
        int r = fzd_portal_frame_parse(text, strlen(text), &f, &why);
        if (r == 0)
                fzd_portal_frame_done(&f);
        else
                ck_assert_ptr_nonnull(why);
        return r;
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
        size_t n = 0;
        char err[200] = "", buf[64];

        payload_of(init_msg, &f);
        ck_assert_str_eq(f.topic, "client");
        ck_assert_str_eq(f.event, "init");
        ck_assert(!f.has_ref);
        ck_assert_int_eq(fzd_portal_init_parse(f.payload, &c, &rs, &n, err, sizeof err), 0);
        ck_assert_uint_eq(n, 4); /* the unknown type is skipped */
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
        char err[200] = "", buf[64];

        /* config_changed from connlib's tests: legacy upstream_dns with ip_port */
        payload_of("{\"event\":\"config_changed\",\"ref\":null,\"topic\":\"client\",\"payload\":{\"interface\":{"
                   "\"ipv6\":\"fd00:2021:1111::e:65ea\",\"upstream_dns\":[{\"protocol\":\"ip_port\",\"address\":"
                   "\"1.1.1.1:53\"},{\"protocol\":\"ip_port\",\"address\":\"[2606:4700::1111]:5353\"},{\"protocol\":"
                   "\"doh\",\"address\":\"https://x\"}],\"ipv4\":\"100.67.138.25\",\"search_domain\":\"corp.example\"}}}",
                   &f);
        ck_assert_int_eq(fzd_portal_config_changed_parse(f.payload, &c, err, sizeof err), 0);
        ck_assert_uint_eq(c.n_upstream_dns, 2);
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
        ck_assert_int_eq(fzd_portal_config_changed_parse(f.payload, &c, err, sizeof err), 0);
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
        ck_assert_int_eq(frame_error(""), -EBADMSG);
        ck_assert_int_eq(frame_error("{"), -EBADMSG);
        ck_assert_int_eq(frame_error("not json"), -EBADMSG);
        ck_assert_int_eq(frame_error("{\"topic\":\"client\",\"event\":\"x\"} trailing"), -EBADMSG);
        ck_assert_int_eq(frame_error("[1,2,3]"), -EINVAL);
        ck_assert_int_eq(frame_error("{\"topic\":1,\"event\":\"x\"}"), -EINVAL);
        ck_assert_int_eq(frame_error("{\"topic\":\"client\"}"), -EINVAL);
        ck_assert_int_eq(frame_error("{\"topic\":\"client\",\"event\":\"x\",\"ref\":-1}"), -EINVAL);
        ck_assert_int_eq(frame_error("{\"topic\":\"client\",\"event\":\"x\",\"ref\":\"1x\"}"), -EINVAL);
        ck_assert_int_eq(frame_error("{\"topic\":\"client\",\"event\":\"x\",\"ref\":\"99999999999999999999\"}"), -EINVAL);
        ck_assert_int_eq(frame_error("{\"topic\":\"client\",\"event\":\"x\",\"ref\":[]}"), -EINVAL);
        ck_assert_int_eq(frame_error("{\"topic\":\"cl\\u0000ient\",\"event\":\"x\"}"), -EINVAL);
        ck_assert_int_eq(frame_error("{\"topic\":\"client\",\"event\":\"\xff\xfe\"}"), -EBADMSG);
        ck_assert_int_eq(frame_error("{\"topic\":\"client\",\"event\":\"x\",\"ref\":3}"), 0);

        /* nesting beyond the depth limit */
        {
                char deep[200] = "{\"topic\":\"client\",\"event\":\"x\",\"payload\":";
                for (int i = 0; i < 40; i++)
                        strcat(deep, "[");
                ck_assert_int_eq(frame_error(deep), -EBADMSG);
        }
        /* over the size limit: refused before parsing */
        {
                FzdPortalFrame f;
                const char *why = NULL;
                ck_assert_int_eq(fzd_portal_frame_parse("{}", FZD_PORTAL_MAX_FRAME + 1, &f, &why), -EMSGSIZE);
        }
}
END_TEST

static int resource_error(const char *json) {
        json_object *o = json_tokener_parse(json);
        FzdResource *r = NULL;
        char err[200] = "";
        int k;

        ck_assert_ptr_nonnull(o);
        k = fzd_portal_resource_parse(o, &r, err, sizeof err);
        if (k == 0 || k == -EDOM)
                fzd_resource_free(r);
        if (k == -EINVAL || k == -EDOM)
                ck_assert_str_ne(err, "");
        json_object_put(o);
        return k;
}

START_TEST(test_bad_resources) {
        ck_assert_int_eq(resource_error("{\"id\":\"a\",\"type\":\"cidr\",\"name\":\"n\",\"address\":\"10.0.0.0/8\"}"), 0);
        ck_assert_int_eq(resource_error("{\"id\":\"a\",\"type\":\"cidr\",\"name\":\"n\",\"address\":\"10.0.0.0/33\"}"),
                         -EDOM);
        ck_assert_int_eq(resource_error("{\"id\":\"a\",\"type\":\"cidr\",\"name\":\"n\",\"address\":\"fd00::/129\"}"),
                         -EDOM);
        ck_assert_int_eq(resource_error("{\"id\":\"a\",\"type\":\"cidr\",\"name\":\"n\",\"address\":\"example.com\"}"),
                         -EDOM);
        ck_assert_int_eq(resource_error("{\"id\":\"a\",\"type\":\"dns\",\"name\":\"n\",\"address\":\"a b.com\"}"), -EDOM);
        ck_assert_int_eq(resource_error("{\"id\":\"a\",\"type\":\"dns\",\"name\":\"n\",\"address\":\"**.corp\"}"), 0);
        ck_assert_int_eq(resource_error("{\"id\":5,\"type\":\"dns\",\"name\":\"n\",\"address\":\"x.com\"}"), -EINVAL);
        ck_assert_int_eq(resource_error("{\"id\":\"a b\",\"type\":\"dns\",\"name\":\"n\",\"address\":\"x.com\"}"), -EDOM);
        ck_assert_int_eq(resource_error("{\"id\":\"a\",\"type\":\"dns\",\"address\":\"x.com\"}"), -EINVAL);
        ck_assert_int_eq(resource_error("{\"id\":\"a\",\"type\":\"dns\",\"name\":\"n\\u0001\",\"address\":\"x.com\"}"),
                         -EDOM);
        ck_assert_int_eq(resource_error("{\"id\":\"a\",\"type\":\"dns\",\"name\":\"n\",\"address\":\"x.com\","
                                        "\"gateway_groups\":{}}"),
                         -EINVAL);
        ck_assert_int_eq(resource_error("{\"id\":\"a\",\"type\":\"dns\",\"name\":\"n\",\"address\":\"x.com\","
                                        "\"gateway_groups\":[{\"name\":\"s\"}]}"),
                         -EINVAL);
        ck_assert_int_eq(resource_error("{\"id\":\"a\",\"type\":7}"), -EINVAL);
        ck_assert_int_eq(resource_error("{\"id\":\"a\",\"type\":\"site_to_site\"}"), -EOPNOTSUPP);
        ck_assert_int_eq(resource_error("[]"), -EINVAL);
        {
                char big[2100] = "{\"id\":\"";
                memset(big + 7, 'a', 200);
                strcpy(big + 207, "\",\"type\":\"internet\"}");
                ck_assert_int_eq(resource_error(big), -EINVAL);
        }
}
END_TEST

static FzdResourceIpStack ip_stack_of(const char *json) {
        json_object *o = json_tokener_parse(json);
        FzdResource *r = NULL;
        char err[200] = "";
        FzdResourceIpStack stack;

        ck_assert_ptr_nonnull(o);
        ck_assert_int_eq(fzd_portal_resource_parse(o, &r, err, sizeof err), 0);
        stack = r->ip_stack;
        fzd_resource_free(r);
        json_object_put(o);
        return stack;
}

/* DNS resources' ip_stack (DESIGN §7.1): the portal's spelling; absent or unknown is dual. */
START_TEST(test_dns_ip_stack) {
#define DNS_RESOURCE(extra) "{\"id\":\"a\",\"type\":\"dns\",\"name\":\"n\",\"address\":\"x.com\"" extra "}"
        ck_assert_int_eq(ip_stack_of(DNS_RESOURCE("")), FZD_RESOURCE_IP_STACK_DUAL);
        ck_assert_int_eq(ip_stack_of(DNS_RESOURCE(",\"ip_stack\":\"dual\"")), FZD_RESOURCE_IP_STACK_DUAL);
        ck_assert_int_eq(ip_stack_of(DNS_RESOURCE(",\"ip_stack\":\"ipv4_only\"")), FZD_RESOURCE_IP_STACK_IPV4_ONLY);
        ck_assert_int_eq(ip_stack_of(DNS_RESOURCE(",\"ip_stack\":\"ipv6_only\"")), FZD_RESOURCE_IP_STACK_IPV6_ONLY);
        ck_assert_int_eq(ip_stack_of(DNS_RESOURCE(",\"ip_stack\":\"ipv7_only\"")), FZD_RESOURCE_IP_STACK_DUAL);
        ck_assert_int_eq(ip_stack_of(DNS_RESOURCE(",\"ip_stack\":null")), FZD_RESOURCE_IP_STACK_DUAL);
        ck_assert_int_eq(resource_error(DNS_RESOURCE(",\"ip_stack\":4")), -EINVAL);
#undef DNS_RESOURCE
}
END_TEST

START_TEST(test_unusable_resource_is_skipped_not_fatal) {
        json_object *o = json_tokener_parse(
                "{\"interface\":{\"ipv4\":\"100.64.0.1\"},\"resources\":["
                "{\"id\":\"a\",\"type\":\"cidr\",\"name\":\"good\",\"address\":\"10.0.0.0/8\"},"
                "{\"id\":\"b\",\"type\":\"cidr\",\"name\":\"bad\",\"address\":\"10.0.0.0/33\"},"
                "{\"id\":\"c\",\"type\":\"dns\",\"name\":\"bad\",\"address\":\"not a name\"},"
                "{\"id\":\"d\",\"type\":\"dns\",\"name\":\"good\",\"address\":\"x.example.com\"}]}");
        FzdInterfaceConfig c;
        FzdResource **v = NULL, *r = NULL;
        size_t n = 0;
        char err[200] = "";

        ck_assert_ptr_nonnull(o);
        ck_assert_int_eq(fzd_portal_init_parse(o, &c, &v, &n, err, sizeof err), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_str_eq(v[0]->id, "a");
        ck_assert_str_eq(v[1]->id, "d");
        fzd_resources_free(v, n);
        json_object_put(o);

        /* An update that makes a resource unusable hands back its id (so it can be removed). */
        o = json_tokener_parse("{\"id\":\"b\",\"type\":\"cidr\",\"name\":\"n\",\"address\":\"::/999\"}");
        ck_assert_int_eq(fzd_portal_resource_parse(o, &r, err, sizeof err), -EDOM);
        ck_assert_ptr_nonnull(r);
        ck_assert_str_eq(r->id, "b");
        ck_assert_ptr_null(r->address);
        fzd_resource_free(r);
        json_object_put(o);
}
END_TEST

START_TEST(test_bad_init_and_interface) {
        FzdInterfaceConfig c;
        FzdResource **rs = NULL;
        size_t n = 0;
        char err[200];
        static const char *const bad[] = {
                "[]",
                "{\"resources\":[]}",
                "{\"interface\":{}}",
                "{\"interface\":{\"ipv4\":\"1.2.3\"}}",
                "{\"interface\":{\"ipv4\":\"1.2.3.4\",\"ipv6\":7}}",
                "{\"interface\":{\"ipv4\":\"1.2.3.4\",\"search_domain\":\"bad domain\"}}",
                "{\"interface\":{\"ipv4\":\"1.2.3.4\",\"upstream_do53\":[{\"ip\":\"x\"}]}}",
                "{\"interface\":{\"ipv4\":\"1.2.3.4\",\"upstream_dns\":[{\"protocol\":\"ip_port\",\"address\":\"1.1.1.1\"}]}}",
                "{\"interface\":{\"ipv4\":\"1.2.3.4\",\"upstream_dns\":[{\"protocol\":\"ip_port\",\"address\":\"1.1.1.1:0\"}]}}",
                "{\"interface\":{\"ipv4\":\"1.2.3.4\"},\"resources\":{}}",
                "{\"interface\":{\"ipv4\":\"1.2.3.4\"},\"resources\":[{\"id\":\"a\",\"type\":\"dns\"}]}",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                json_object *o = json_tokener_parse(bad[i]);
                ck_assert_ptr_nonnull(o);
                err[0] = 0;
                ck_assert_msg(fzd_portal_init_parse(o, &c, &rs, &n, err, sizeof err) == -EINVAL, "accepted %s", bad[i]);
                ck_assert_str_ne(err, "");
                json_object_put(o);
        }
        /* more upstream servers than we keep: the rest is ignored, not an error */
        {
                json_object *o = json_tokener_parse(
                        "{\"interface\":{\"ipv4\":\"1.2.3.4\",\"upstream_do53\":[{\"ip\":\"1.1.1.1\"},{\"ip\":\"1.1.1.2\"},"
                        "{\"ip\":\"1.1.1.3\"},{\"ip\":\"1.1.1.4\"},{\"ip\":\"1.1.1.5\"},{\"ip\":\"1.1.1.6\"},{\"ip\":"
                        "\"1.1.1.7\"},{\"ip\":\"1.1.1.8\"},{\"ip\":\"1.1.1.9\"}]}}");
                ck_assert_int_eq(fzd_portal_init_parse(o, &c, &rs, &n, err, sizeof err), 0);
                ck_assert_uint_eq(c.n_upstream_dns, FZD_MAX_UPSTREAM_DNS);
                ck_assert_uint_eq(n, 0);
                fzd_resources_free(rs, n);
                json_object_put(o);
        }
}
END_TEST

/* Text the portal sends that reaches the journal, terminals and notifications: anything
 * with a control character (C0 but tab, DEL, C1) is refused where it enters. */
START_TEST(test_hostile_text_is_refused) {
        static const char *const hostile[] = {
                "line\\n<0>forged",     /* a new journal line */
                "\\u001b]0;title\\u0007", /* ESC: terminal escapes */
                "del\\u007f",
                "csi\\u009b2J", /* C1 CSI */
                "cr\\r",
        };
        char json[512];

        for (size_t i = 0; i < ELEMENTSOF(hostile); i++) {
                FzdPortalFrame f;
                bool ok = true;
                const char *reason = NULL;

                /* names and descriptions of resources and of their sites */
                snprintf(json, sizeof json, "{\"id\":\"a\",\"type\":\"dns\",\"name\":\"%s\",\"address\":\"x.com\"}",
                         hostile[i]);
                ck_assert_int_eq(resource_error(json), -EDOM);
                snprintf(json, sizeof json,
                         "{\"id\":\"a\",\"type\":\"dns\",\"name\":\"n\",\"address\":\"x.com\","
                         "\"address_description\":\"%s\"}",
                         hostile[i]);
                ck_assert_int_eq(resource_error(json), -EDOM);
                snprintf(json, sizeof json,
                         "{\"id\":\"a\",\"type\":\"dns\",\"name\":\"n\",\"address\":\"x.com\","
                         "\"gateway_groups\":[{\"id\":\"s\",\"name\":\"%s\"}]}",
                         hostile[i]);
                ck_assert_int_eq(resource_error(json), -EDOM);
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
                                        "\"address\":\"x.com\"}"),
                         0);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("portal-json");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_init_real_shape);
        tcase_add_test(tc, test_interface_dns_variants);
        tcase_add_test(tc, test_refs_and_replies);
        tcase_add_test(tc, test_bad_frames);
        tcase_add_test(tc, test_bad_resources);
        tcase_add_test(tc, test_hostile_text_is_refused);
        tcase_add_test(tc, test_bad_init_and_interface);
        tcase_add_test(tc, test_unusable_resource_is_skipped_not_fatal);
        tcase_add_test(tc, test_dns_ip_stack);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(suite)
