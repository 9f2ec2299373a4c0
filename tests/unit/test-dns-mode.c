/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "dns-mode.h"
#include "fz-check.h"
#include "macro.h"

#define STUB    "../run/systemd/resolve/stub-resolv.conf"
#define UPLINK  "../run/systemd/resolve/resolv.conf"
#define NM_LINK "/run/NetworkManager/resolv.conf"

enum { ON = 1, ACT = 2, NOT_ASKED = 4, RO = 8 }; /* resolved on the bus / activatable / --no-ipc: bus
                                                   * not asked / resolv.conf's directory read-only */

typedef struct Row {
        const char *what;
        FzdResolvConfKind kind;
        const char *target;
        FzdResolvConfOwner owner;
        size_t n_nameservers;
        bool only_stub;
        bool ours, backup;
        int resolved;
        FzdDnsControl expect;
        const char *trace_has; /* a piece of the reason */
} Row;

#define O(x) FZD_RESOLV_CONF_OWNER_##x
#define K(x) FZD_RESOLV_CONF_##x
#define M(x) FZD_DNS_CONTROL_##x

static const Row rows[] = {
        /* The common desktop: Ubuntu/Fedora, resolved's stub behind a symlink. */
        {"stub symlink, resolved up", K(SYMLINK), STUB, O(SYSTEMD_RESOLVED), 1, true, false, false, ON,
         M(SYSTEMD_RESOLVED), "libc asks resolved's stub"},
        {"stub symlink, absolute", K(SYMLINK), "/run/systemd/resolve/stub-resolv.conf", O(SYSTEMD_RESOLVED),
         1, true, false, false, ON, M(SYSTEMD_RESOLVED), "resolved's stub"},
        {"stub symlink via /var/run", K(SYMLINK), "/var/run/systemd/resolve/stub-resolv.conf",
         O(SYSTEMD_RESOLVED), 1, true, false, false, ON, M(SYSTEMD_RESOLVED), "resolved's stub"},
        {"stub symlink, resolved only activatable", K(SYMLINK), STUB, O(SYSTEMD_RESOLVED), 1, true, false,
         false, ACT, M(SYSTEMD_RESOLVED), "resolved: activatable"},
        /* Firezone users hit this: the file points at resolved, which is not running. The
         * mode stays resolved so that the error says to start it. */
        {"stub symlink dangling, resolved down", K(SYMLINK), STUB, O(UNKNOWN), 0, false, false, false, 0,
         M(SYSTEMD_RESOLVED), "fails until it is started"},
        {"static file of resolved", K(SYMLINK), "/usr/lib/systemd/resolv.conf", O(SYSTEMD_RESOLVED), 1, true,
         false, false, ON, M(SYSTEMD_RESOLVED), "stub"},
        {"static file of resolved, /lib", K(SYMLINK), "../lib/systemd/resolv.conf", O(SYSTEMD_RESOLVED), 1,
         true, false, false, ON, M(SYSTEMD_RESOLVED), "stub"},
        /* Uplink mode: libc talks to the servers directly; resolved's per-link routing
         * would not apply to it. */
        {"uplink symlink", K(SYMLINK), UPLINK, O(SYSTEMD_RESOLVED), 2, false, false, false, ON,
         M(ETC_RESOLV_CONF), "uplink"},
        {"uplink copy (regular)", K(REGULAR), NULL, O(SYSTEMD_RESOLVED), 2, false, false, false, ON,
         M(ETC_RESOLV_CONF), "copy of resolved's uplink"},
        /* A copy of the stub file, or NetworkManager with the resolved backend. */
        {"stub copy (regular)", K(REGULAR), NULL, O(SYSTEMD_RESOLVED), 1, true, false, false, ON,
         M(SYSTEMD_RESOLVED), "every nameserver is resolved's stub"},
        {"NM with resolved backend", K(REGULAR), NULL, O(NETWORK_MANAGER), 1, true, false, false, ON,
         M(SYSTEMD_RESOLVED), "every nameserver is resolved's stub"},
        {"NM symlink with resolved backend", K(SYMLINK), NM_LINK, O(NETWORK_MANAGER), 1, true, false, false,
         ON, M(SYSTEMD_RESOLVED), "stub"},
        {"stub nameserver but resolved down", K(REGULAR), NULL, O(UNKNOWN), 1, true, false, false, 0,
         M(SYSTEMD_RESOLVED), "not running"},
        /* Files that list the real servers. */
        {"NM writes servers", K(REGULAR), NULL, O(NETWORK_MANAGER), 2, false, false, false, ON,
         M(ETC_RESOLV_CONF), "generator may rewrite"},
        {"NM symlink writes servers", K(SYMLINK), NM_LINK, O(NETWORK_MANAGER), 1, false, false, false, 0,
         M(ETC_RESOLV_CONF), "generator may rewrite"},
        {"resolvconf", K(SYMLINK), "/run/resolvconf/resolv.conf", O(RESOLVCONF), 1, false, false, false, 0,
         M(ETC_RESOLV_CONF), "generator"},
        {"netconfig", K(REGULAR), NULL, O(NETCONFIG), 1, false, false, false, 0, M(ETC_RESOLV_CONF),
         "generator"},
        {"hand-written, resolved up (foreign mode)", K(REGULAR), NULL, O(UNKNOWN), 1, false, false, false,
         ON, M(ETC_RESOLV_CONF), "listed servers directly"},
        {"hand-written, no resolved", K(REGULAR), NULL, O(UNKNOWN), 3, false, false, false, 0,
         M(ETC_RESOLV_CONF), "listed servers directly"},
        {"container (docker)", K(REGULAR), NULL, O(UNKNOWN), 1, false, false, false, 0, M(ETC_RESOLV_CONF),
         "directly"},
        {"empty file", K(REGULAR), NULL, O(UNKNOWN), 0, false, false, false, 0, M(ETC_RESOLV_CONF),
         "directly"},
        {"symlink elsewhere, dangling", K(SYMLINK), "/run/connman/resolv.conf", O(UNKNOWN), 0, false, false,
         false, 0, M(ETC_RESOLV_CONF), "directly"},
        /* Under the shipped unit /etc is read-only (ProtectSystem=strict): a symlink cannot be
         * replaced. Where resolved manages it, resolved it is; elsewhere the resolv.conf mode's
         * error says what to do. A regular file is rewritten in place (ReadWritePaths=). */
        {"read-only: uplink symlink", K(SYMLINK), UPLINK, O(SYSTEMD_RESOLVED), 2, false, false, false, ON | RO,
         M(SYSTEMD_RESOLVED), "cannot replace (read-only /etc)"},
        {"read-only: uplink symlink, resolved down", K(SYMLINK), UPLINK, O(SYSTEMD_RESOLVED), 2, false, false,
         false, RO, M(SYSTEMD_RESOLVED), "fails until it is started"},
        {"read-only: stub symlink", K(SYMLINK), STUB, O(SYSTEMD_RESOLVED), 1, true, false, false, ON | RO,
         M(SYSTEMD_RESOLVED), "libc asks resolved's stub"},
        {"read-only: NM symlink writes servers", K(SYMLINK), NM_LINK, O(NETWORK_MANAGER), 1, false, false, false,
         RO, M(ETC_RESOLV_CONF), "symlink this service cannot replace"},
        {"read-only: NM symlink, resolved backend", K(SYMLINK), NM_LINK, O(NETWORK_MANAGER), 1, true, false,
         false, ON | RO, M(SYSTEMD_RESOLVED), "stub"},
        {"read-only: hand-written file", K(REGULAR), NULL, O(UNKNOWN), 1, false, false, false, RO,
         M(ETC_RESOLV_CONF), "listed servers directly"},
        /* Nothing usable. */
        {"missing, resolved up", K(MISSING), NULL, O(UNKNOWN), 0, false, false, false, ON,
         M(SYSTEMD_RESOLVED), "no usable resolv.conf"},
        {"missing, resolved activatable", K(MISSING), NULL, O(UNKNOWN), 0, false, false, false, ACT,
         M(SYSTEMD_RESOLVED), "no usable resolv.conf"},
        {"missing, no resolved", K(MISSING), NULL, O(UNKNOWN), 0, false, false, false, 0, M(DISABLED),
         "nothing to control"},
        {"directory, no resolved", K(OTHER), NULL, O(UNKNOWN), 0, false, false, false, 0, M(DISABLED),
         "nothing to control"},
        {"unreadable, resolved up", K(UNREADABLE), NULL, O(UNKNOWN), 0, false, false, false, ON,
         M(SYSTEMD_RESOLVED), "no usable"},
        /* A crashed run of ours: decided on the backup. */
        {"ours, backup was the stub symlink", K(SYMLINK), STUB, O(SYSTEMD_RESOLVED), 1, true, true, true, ON,
         M(SYSTEMD_RESOLVED), "ours from a previous run (backup present)"},
        {"ours, backup was a plain file", K(REGULAR), NULL, O(UNKNOWN), 2, false, true, true, 0,
         M(ETC_RESOLV_CONF), "ours from a previous run"},
        {"ours without backup, resolved up", K(REGULAR), NULL, O(FIREZONE), 1, false, true, false, ON,
         M(ETC_RESOLV_CONF), "must be repaired"},
        {"ours without backup, no resolved", K(REGULAR), NULL, O(FIREZONE), 1, false, true, false, 0,
         M(ETC_RESOLV_CONF), "backup MISSING"},
        /* --no-ipc: the bus is not asked; resolv.conf alone says whether resolved is in charge. */
        {"no-ipc, stub symlink", K(SYMLINK), STUB, O(SYSTEMD_RESOLVED), 1, true, false, false, NOT_ASKED,
         M(SYSTEMD_RESOLVED), "not asked (--no-ipc)"},
        {"no-ipc, stub nameserver in a file", K(REGULAR), NULL, O(UNKNOWN), 1, true, false, false, NOT_ASKED,
         M(SYSTEMD_RESOLVED), "not asked"},
        {"no-ipc, hand-written", K(REGULAR), NULL, O(UNKNOWN), 2, false, false, false, NOT_ASKED,
         M(ETC_RESOLV_CONF), "not asked"},
        {"no-ipc, missing", K(MISSING), NULL, O(UNKNOWN), 0, false, false, false, NOT_ASKED, M(DISABLED),
         "nothing to control"},
};

START_TEST(test_table) {
        const Row *row = &rows[_i];
        FzdDnsProbes p = {
                .kind = row->kind,
                .symlink_target = row->target,
                .ours = row->ours,
                .backup_exists = row->backup,
                .owner = row->owner,
                .n_nameservers = row->n_nameservers,
                .only_resolved_stub = row->only_stub,
                .resolved_on_bus = row->resolved & ON,
                .resolved_activatable = row->resolved & ACT,
                .bus_not_asked = row->resolved & NOT_ASKED,
                .dir_read_only = row->resolved & RO,
        };
        char trace[512];
        FzdDnsControl m = fzd_dns_mode_decide(&p, trace, sizeof trace);

        ck_assert_msg(m == row->expect, "%s: got %s, want %s (trace: %s)", row->what,
                      fzd_dns_control_to_string(m), fzd_dns_control_to_string(row->expect), trace);
        ck_assert_msg(strstr(trace, row->trace_has), "%s: trace lacks \"%s\": %s", row->what, row->trace_has,
                      trace);
        /* One line, naming the decision. */
        ck_assert_msg(!strchr(trace, '\n'), "%s: trace has a newline", row->what);
        ck_assert_msg(strstr(trace, fzd_dns_control_to_string(m)), "%s: trace does not name the mode",
                      row->what);
        if (row->target && !row->ours)
                ck_assert_msg(strstr(trace, row->target), "%s: trace does not show the target", row->what);
}
END_TEST

START_TEST(test_never_auto) {
        /* Every combination of the boolean probes and kinds yields a concrete mode. */
        for (int kind = 0; kind < _FZD_RESOLV_CONF_KIND_MAX; kind++)
                for (int bits = 0; bits < 64; bits++) {
                        FzdDnsProbes p = {
                                .kind = kind,
                                .symlink_target = (bits & 1) ? STUB : NULL,
                                .ours = bits & 2,
                                .backup_exists = bits & 4,
                                .only_resolved_stub = bits & 8,
                                .resolved_on_bus = bits & 16,
                                .resolved_activatable = bits & 32,
                                .owner = (FzdResolvConfOwner)(bits % _FZD_RESOLV_CONF_OWNER_MAX),
                        };
                        char trace[512];
                        FzdDnsControl m = fzd_dns_mode_decide(&p, trace, sizeof trace);
                        ck_assert(m != FZD_DNS_CONTROL_AUTO && m < _FZD_DNS_CONTROL_MAX);
                        ck_assert(strlen(trace) > 0);
                }
}
END_TEST

START_TEST(test_trace_truncates_safely) {
        FzdDnsProbes p = {.kind = FZD_RESOLV_CONF_SYMLINK, .symlink_target = STUB, .resolved_on_bus = true};
        char tiny[16];

        ck_assert_int_eq(fzd_dns_mode_decide(&p, tiny, sizeof tiny), FZD_DNS_CONTROL_SYSTEMD_RESOLVED);
        ck_assert_uint_eq(strlen(tiny), sizeof tiny - 1);
}
END_TEST

START_TEST(test_target_classify) {
        ck_assert_int_eq(fzd_resolv_conf_target_classify(STUB), FZD_RESOLV_CONF_TARGET_RESOLVED_STUB);
        ck_assert_int_eq(fzd_resolv_conf_target_classify("./../run/systemd/resolve/stub-resolv.conf"),
                         FZD_RESOLV_CONF_TARGET_RESOLVED_STUB);
        ck_assert_int_eq(fzd_resolv_conf_target_classify(UPLINK), FZD_RESOLV_CONF_TARGET_RESOLVED_UPLINK);
        ck_assert_int_eq(fzd_resolv_conf_target_classify("/run/systemd/resolve/stub-resolv.conf.bak"),
                         FZD_RESOLV_CONF_TARGET_OTHER);
        ck_assert_int_eq(fzd_resolv_conf_target_classify("/tmp/run/systemd/resolve/stub-resolv.conf"),
                         FZD_RESOLV_CONF_TARGET_OTHER);
        ck_assert_int_eq(fzd_resolv_conf_target_classify(NM_LINK), FZD_RESOLV_CONF_TARGET_OTHER);
        ck_assert_int_eq(fzd_resolv_conf_target_classify(""), FZD_RESOLV_CONF_TARGET_OTHER);
        ck_assert_int_eq(fzd_resolv_conf_target_classify(NULL), FZD_RESOLV_CONF_TARGET_OTHER);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("dns-mode");
        TCase *tc = tcase_create("decide");

        tcase_add_loop_test(tc, test_table, 0, (int)ELEMENTSOF(rows));
        tcase_add_test(tc, test_never_auto);
        tcase_add_test(tc, test_trace_truncates_safely);
        tcase_add_test(tc, test_target_classify);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(suite)
