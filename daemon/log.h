/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

#include "macro.h"

/* Logging to stderr. Under systemd (JOURNAL_STREAM matches stderr) each line carries
 * a "<N>" syslog priority prefix so the journal records the right level; otherwise
 * lines read "firezone-client-tunnel[level]: message".
 *
 * Never pass a token, or anything that may contain one, to these functions. */

int fzd_log_level_from_string(const char *s); /* → LOG_ERR..LOG_DEBUG, or -EINVAL */
const char *fzd_log_level_to_string(int level);
void fzd_log_set_max_level(int level);
int fzd_log_get_max_level(void);
void fzd_log_open(void); /* detect the journal stream */

/* Returns -abs(error) (or 0 when error == 0), so it can end a function: return log_error_errno(r, …).
 * %m in the format prints strerror(abs(error)). */
int fzd_log_internal(int level, int error, const char *file, int line, const char *func, const char *format, ...)
        _printf_(6, 7);

#define log_full_errno(level, error, ...) \
        fzd_log_internal((level), (error), __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_full(level, ...) (void) log_full_errno((level), 0, __VA_ARGS__)

#define log_debug(...)   log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)    log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...)  log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...)   log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(error, ...)   log_full_errno(LOG_DEBUG, (error), __VA_ARGS__)
#define log_info_errno(error, ...)    log_full_errno(LOG_INFO, (error), __VA_ARGS__)
#define log_notice_errno(error, ...)  log_full_errno(LOG_NOTICE, (error), __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_WARNING, (error), __VA_ARGS__)
#define log_error_errno(error, ...)   log_full_errno(LOG_ERR, (error), __VA_ARGS__)

/* A journal entry with fields of its own (MESSAGE_ID=, FIREZONE_STATE=, …: see
 * message-ids.h), sent over the journal's native protocol when the journal is where the
 * log goes, else the same line as log_full(). Fields with an empty value are left out;
 * values are escaped as messages are. Returns like log_full_errno(). */
typedef struct FzdLogField {
        const char *name; /* upper case, as journal field names are */
        const char *value;
} FzdLogField;

int fzd_log_struct_internal(int level, const char *message_id, const FzdLogField *fields, size_t n_fields,
                            const char *file, int line, const char *func, const char *format, ...)
        _printf_(8, 9);

#define FZD_LOG_FIELDS(...) \
        ((const FzdLogField[]){ __VA_ARGS__ }), (sizeof((const FzdLogField[]){ __VA_ARGS__ }) / sizeof(FzdLogField))
#define log_struct(level, message_id, fields_and_count, ...) \
        (void) fzd_log_struct_internal((level), (message_id), fields_and_count, __FILE__, __LINE__, __func__, __VA_ARGS__)

/* For allocation failures: one fixed message, no allocation. */
#define log_oom() log_error_errno(ENOMEM, "Out of memory.")
