/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include "log.h"
#include "text.h"

static int max_level = LOG_INFO;
static bool use_prefix = false;

static const char *const level_names[] = {
        [LOG_ERR] = "error",
        [LOG_WARNING] = "warning",
        [LOG_NOTICE] = "notice",
        [LOG_INFO] = "info",
        [LOG_DEBUG] = "debug",
};

int fzd_log_level_from_string(const char *s) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
                if (level_names[i] && streq(level_names[i], s))
                        return (int) i;
        /* systemd spellings, so that LogLevelMax-style values work too. */
        if (streq(s, "err"))
                return LOG_ERR;
        if (streq(s, "warn"))
                return LOG_WARNING;
        return -EINVAL;
}

const char *fzd_log_level_to_string(int level) {
        if (level < 0 || (size_t) level >= ELEMENTSOF(level_names) || !level_names[level])
                return "error";
        return level_names[level];
}

void fzd_log_set_max_level(int level) {
        max_level = level;
}

int fzd_log_get_max_level(void) {
        return max_level;
}

void fzd_log_open(void) {
        /* JOURNAL_STREAM is "dev:ino" of the journal stream stderr was connected to. */
        const char *e = getenv("JOURNAL_STREAM");
        struct stat st;
        unsigned long long dev, ino;

        use_prefix = false;
        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return;
        if (fstat(STDERR_FILENO, &st) < 0)
                return;
        use_prefix = (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

#define MESSAGE_MAX 2048

static void write_line(int level, const char *file, int line, const char *func, const char *text) {
        if (use_prefix)
                fprintf(stderr, "<%d>%s\n", level, text);
        else if (max_level >= LOG_DEBUG)
                fprintf(stderr, "firezone-client-tunnel[%s] %s:%d %s: %s\n", fzd_log_level_to_string(level), file, line,
                        func, text);
        else
                fprintf(stderr, "firezone-client-tunnel[%s]: %s\n", fzd_log_level_to_string(level), text);
}

/* One message, one line: text from the portal or a bus caller must not start a line of its
 * own ("\n<0>…" would be an emergency in the journal) or drive the terminal that shows the
 * log. errno is the error %m prints. */
static void format_escaped(char *ret, size_t size, int error, const char *format, va_list ap) _printf_(4, 0);
static void format_escaped(char *ret, size_t size, int error, const char *format, va_list ap) {
        char buf[MESSAGE_MAX];

        errno = error;
        (void) vsnprintf(buf, sizeof buf, format, ap);
        (void) fzd_text_escape(buf, ret, size);
}

int fzd_log_internal(int level, int error, const char *file, int line, const char *func, const char *format, ...) {
        va_list ap;
        int saved_errno = errno;

        if (error < 0)
                error = -error;

        if (level <= max_level) {
                char text[FZD_TEXT_ESCAPED_MAX(MESSAGE_MAX)];

                va_start(ap, format);
                format_escaped(text, sizeof text, error, format, ap);
                va_end(ap);
                write_line(level, file, line, func, text);
        }

        errno = saved_errno;
        return error == 0 ? 0 : -error;
}

/* Field values are short (states, reasons, account slugs). */
#define FIELD_MAX 512
#define FIELDS_MAX 8

int fzd_log_struct_internal(int level, const char *message_id, const FzdLogField *fields, size_t n_fields,
                            const char *file, int line, const char *func, const char *format, ...) {
        char text[FZD_TEXT_ESCAPED_MAX(MESSAGE_MAX)];
        va_list ap;
        int saved_errno = errno;

        if (level > max_level)
                return 0;
        va_start(ap, format);
        format_escaped(text, sizeof text, 0, format, ap);
        va_end(ap);

        if (use_prefix && n_fields <= FIELDS_MAX) {
                /* The journal is where stderr goes: the same entry, with its fields. */
                char head[6][FIELD_MAX + 32];
                char values[FIELDS_MAX][FZD_TEXT_ESCAPED_MAX(FIELD_MAX) + 64];
                struct iovec iov[ELEMENTSOF(head) + FIELDS_MAX + 1];
                size_t n = 0;
                int r;

                snprintf(head[0], sizeof head[0], "PRIORITY=%d", level);
                snprintf(head[1], sizeof head[1], "MESSAGE_ID=%s", message_id);
                snprintf(head[2], sizeof head[2], "SYSLOG_IDENTIFIER=firezone-client-tunnel");
                snprintf(head[3], sizeof head[3], "CODE_FILE=%s", file);
                snprintf(head[4], sizeof head[4], "CODE_LINE=%d", line);
                snprintf(head[5], sizeof head[5], "CODE_FUNC=%s", func);
                for (size_t i = 0; i < ELEMENTSOF(head); i++)
                        iov[n++] = (struct iovec){ .iov_base = head[i], .iov_len = strlen(head[i]) };
                for (size_t i = 0; i < n_fields; i++) {
                        char value[FZD_TEXT_ESCAPED_MAX(FIELD_MAX)];

                        if (isempty(fields[i].value))
                                continue;
                        (void) fzd_text_escape(fields[i].value, value, sizeof value);
                        snprintf(values[i], sizeof values[i], "%.48s=%s", fields[i].name, value);
                        iov[n++] = (struct iovec){ .iov_base = values[i], .iov_len = strlen(values[i]) };
                }
                /* MESSAGE= last: its text may be long, the rest never is. */
                char message[sizeof "MESSAGE=" + sizeof text];
                snprintf(message, sizeof message, "MESSAGE=%s", text);
                iov[n++] = (struct iovec){ .iov_base = message, .iov_len = strlen(message) };
                r = sd_journal_sendv(iov, (int) n);
                if (r >= 0) {
                        errno = saved_errno;
                        return 0;
                }
        }
        write_line(level, file, line, func, text);
        errno = saved_errno;
        return 0;
}
