/* SPDX-License-Identifier: Apache-2.0 */
/* Shared main() for the Check unit tests: TAP on stdout for meson, one suite per file. */
#pragma once

#include <check.h>
#include <stdlib.h>

#define FZ_CHECK_MAIN(suite_fn)                                      \
        int main(void) {                                             \
                SRunner *sr = srunner_create(suite_fn());            \
                int failed;                                          \
                srunner_set_tap(sr, "-");                            \
                srunner_run_all(sr, CK_SILENT);                      \
                failed = srunner_ntests_failed(sr);                  \
                srunner_free(sr);                                    \
                return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;    \
        }
