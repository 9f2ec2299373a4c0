/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

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

int fzd_log_internal(int level, int error, const char *file, int line, const char *func, const char *format, ...) {
        char buf[2048];
        va_list ap;
        int saved_errno = errno;

        if (error < 0)
                error = -error;

        if (level <= max_level) {
                char text[FZD_TEXT_ESCAPED_MAX(sizeof buf)];

                /* %m prints the error we were handed, not whatever errno happens to be. */
                errno = error;
                va_start(ap, format);
                (void) vsnprintf(buf, sizeof buf, format, ap);
                va_end(ap);
                /* One message, one line: text from the portal or a bus caller must not start
                 * a line of its own ("\n<0>…" would be an emergency in the journal) or drive
                 * the terminal that shows the log. */
                (void) fzd_text_escape(buf, text, sizeof text);

                if (use_prefix)
                        fprintf(stderr, "<%d>%s\n", level, text);
                else if (max_level >= LOG_DEBUG)
                        fprintf(stderr, "firezone-client-tunnel[%s] %s:%d %s: %s\n", fzd_log_level_to_string(level),
                                file, line, func, text);
                else
                        fprintf(stderr, "firezone-client-tunnel[%s]: %s\n", fzd_log_level_to_string(level), text);
        }

        errno = saved_errno;
        return error == 0 ? 0 : -error;
}
