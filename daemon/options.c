/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fz-names.h"
#include "log.h"
#include "options.h"
#include "url.h"

void fzd_options_init(FzdOptions *o) {
        *o = (FzdOptions) {
                .action = FZD_ACTION_RUN,
                .dns_control = FZD_DNS_CONTROL_AUTO,
                .log_level = LOG_INFO,
        };
}

void fzd_options_done(FzdOptions *o) {
        o->api_url = mfree(o->api_url);
}

static int set_dns_control(FzdOptions *o, const char *v, const char *origin) {
        int c = fzd_dns_control_from_string(v);
        if (c < 0 || c == FZD_DNS_CONTROL_AUTO)
                return log_error_errno(EINVAL,
                                       "Invalid DNS control mode \"%s\" in %s. Use systemd-resolved, etc-resolv-conf or disabled.",
                                       v, origin);
        o->dns_control = c;
        return 0;
}

static int set_log_level(FzdOptions *o, const char *v, const char *origin) {
        int l = fzd_log_level_from_string(v);
        if (l < 0)
                return log_error_errno(EINVAL, "Invalid log level \"%s\" in %s. Use error, warning, notice, info or debug.",
                                       v, origin);
        o->log_level = l;
        return 0;
}

static int set_api_url(FzdOptions *o, const char *v, const char *origin) {
        const char *reason;

        if (fzd_api_url_check(v, &reason) < 0)
                return log_error_errno(EINVAL, "Invalid portal URL in %s: %s.", origin, reason);
        if (free_and_strdup(&o->api_url, v) < 0)
                return log_oom();
        return 0;
}

static int set_internet_resource(FzdOptions *o, const char *v, const char *origin) {
        static const char *const yes[] = { "1", "yes", "true", "on" }, *const no[] = { "0", "no", "false",
                                                                                       "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(v, yes[i]) == 0) {
                        o->activate_internet_resource = true;
                        return 0;
                }
                if (strcasecmp(v, no[i]) == 0) {
                        o->activate_internet_resource = false;
                        return 0;
                }
        }
        return log_error_errno(EINVAL, "Invalid value in %s: use true or false.", origin);
}

static char *strip(char *s) {
        char *e;

        while (*s && isspace((unsigned char) *s))
                s++;
        e = s + strlen(s);
        while (e > s && isspace((unsigned char) e[-1]))
                *--e = 0;
        return s;
}

int fzd_options_parse_config(FzdOptions *o, const char *text, const char *origin) {
        _cleanup_(freep) char *copy = NULL;
        char *saveptr = NULL;
        unsigned line_no = 0;

        if (!text)
                return 0;
        copy = strdup(text);
        if (!copy)
                return log_oom();

        for (char *line = strtok_r(copy, "\n", &saveptr); line; line = strtok_r(NULL, "\n", &saveptr)) {
                char where[256], *eq, *key, *value;
                size_t vlen;
                int r;

                line_no++;
                line = strip(line);
                if (!*line || *line == '#' || *line == ';')
                        continue;

                snprintf(where, sizeof where, "%s line %u", origin, line_no);
                eq = strchr(line, '=');
                if (!eq)
                        return log_error_errno(EINVAL, "%s: expected \"key = value\", got a line without '='.", where);
                *eq = 0;
                key = strip(line);
                value = strip(eq + 1);
                vlen = strlen(value);
                if (vlen >= 2 && (value[0] == '"' || value[0] == '\'') && value[vlen - 1] == value[0]) {
                        value[vlen - 1] = 0;
                        value++;
                }

                if (streq(key, "api-url"))
                        r = set_api_url(o, value, where);
                else if (streq(key, "dns-control"))
                        r = set_dns_control(o, value, where);
                else if (streq(key, "log-level"))
                        r = set_log_level(o, value, where);
                else if (streq(key, "activate-internet-resource"))
                        r = set_internet_resource(o, value, where);
                else {
                        log_warning("%s: unknown setting \"%.64s\", ignoring.", where, key);
                        r = 0;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

int fzd_options_parse_env(FzdOptions *o) {
        const char *v;
        int r;

        v = secure_getenv("FIREZONE_DNS_CONTROL");
        if (!isempty(v)) {
                r = set_dns_control(o, v, "$FIREZONE_DNS_CONTROL");
                if (r < 0)
                        return r;
        }
        v = secure_getenv("FIREZONE_LOG_LEVEL");
        if (!isempty(v)) {
                r = set_log_level(o, v, "$FIREZONE_LOG_LEVEL");
                if (r < 0)
                        return r;
        }
        v = secure_getenv("FIREZONE_API_URL");
        if (!isempty(v)) {
                r = set_api_url(o, v, "$FIREZONE_API_URL");
                if (r < 0)
                        return r;
        }
        v = secure_getenv("FIREZONE_ACTIVATE_INTERNET_RESOURCE");
        if (!isempty(v)) {
                r = set_internet_resource(o, v, "$FIREZONE_ACTIVATE_INTERNET_RESOURCE");
                if (r < 0)
                        return r;
        }
        return 0;
}

void fzd_options_print_help(void) {
        printf("Usage: firezone-client-tunnel [OPTIONS]\n"
               "\n"
               "The privileged part of the Firezone client: owns the tunnel device, routes, DNS\n"
               "control and the portal connection, and serves the D-Bus API %s on the system bus.\n"
               "\n"
               "Options:\n"
               "  -h, --help                 Show this help and exit\n"
               "      --version              Show the version and exit\n"
               "      --no-ipc               Do not use D-Bus; needs a service-account token\n"
               "      --dns-control=MODE     systemd-resolved, etc-resolv-conf or disabled\n"
               "                             (default: detected; env FIREZONE_DNS_CONTROL)\n"
               "      --log-level=LEVEL      error, warning, notice, info or debug\n"
               "                             (default: info; env FIREZONE_LOG_LEVEL)\n"
               "      --activate-internet-resource\n"
               "                             Route Internet traffic through Firezone's Internet\n"
               "                             resource when the portal grants one (default: off;\n"
               "                             env FIREZONE_ACTIVATE_INTERNET_RESOURCE)\n"
               "\n"
               "Token (never on the command line), first found wins:\n"
               "  1. FIREZONE_TOKEN in the environment (erased from the process at start)\n"
               "  2. %s (regular file, owned by root, mode 0600)\n"
               "  3. SignIn over D-Bus from firezone-gui or firezonectl (not with --no-ipc)\n"
               "\n"
               "Portal URL: FIREZONE_API_URL, api-url in %s, or %s.\n"
               "See firezone-client-tunnel(8).\n",
               FZ_BUS_NAME, FZ_TOKEN_PATH, FZ_CONFIG_PATH, FZ_DEFAULT_API_URL);
}

static int option_name_len(const char *arg) {
        size_t n;

        if (!arg || arg[0] != '-')
                return 0;
        n = 1 + strspn(arg + 1, "-abcdefghijklmnopqrstuvwxyz");
        return (int) (n > 32 ? 32 : n);
}

int fzd_options_parse_argv(FzdOptions *o, int argc, char **argv) {
        enum {
                ARG_VERSION = 0x100,
                ARG_NO_IPC,
                ARG_DNS_CONTROL,
                ARG_LOG_LEVEL,
                ARG_INTERNET_RESOURCE,
        };
        static const struct option long_options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "no-ipc", no_argument, NULL, ARG_NO_IPC },
                { "dns-control", required_argument, NULL, ARG_DNS_CONTROL },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "activate-internet-resource", no_argument, NULL, ARG_INTERNET_RESOURCE },
                {},
        };
        int c, r;

        optind = 0; /* reset getopt, so that tests can parse more than once */
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":h", long_options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        o->action = FZD_ACTION_HELP;
                        return 0;
                case ARG_VERSION:
                        o->action = FZD_ACTION_VERSION;
                        return 0;
                case ARG_NO_IPC:
                        o->no_ipc = true;
                        break;
                case ARG_DNS_CONTROL:
                        r = set_dns_control(o, optarg, "--dns-control");
                        if (r < 0)
                                return r;
                        break;
                case ARG_LOG_LEVEL:
                        r = set_log_level(o, optarg, "--log-level");
                        if (r < 0)
                                return r;
                        break;
                case ARG_INTERNET_RESOURCE:
                        o->activate_internet_resource = true;
                        break;
                case '?':
                case ':':
                        /* Echo at most an option *name*: the argument could be a mistyped token. */
                        return log_error_errno(EINVAL, "%s option %.*s. See --help.",
                                               c == ':' ? "Missing value for" : "Unknown or malformed",
                                               option_name_len(argv[optind - 1]), argv[optind - 1]);
                default:
                        return log_error_errno(EINVAL, "Unhandled option.");
                }
        }
        if (optind < argc)
                return log_error_errno(EINVAL,
                                       "Unexpected argument. This program takes no arguments; a token is never passed "
                                       "on the command line (see --help).");
        return 0;
}
