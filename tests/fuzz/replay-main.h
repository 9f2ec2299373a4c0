/* SPDX-License-Identifier: Apache-2.0 */
/* Without libFuzzer (-Dfuzzing=false), a fuzz target is built with this main(): it runs
 * every file named on the command line once, so the seed corpus is a regression test in
 * every build, sanitized ones included. Include it last in a target's source. */
#pragma once

#ifndef FZ_LIBFUZZER
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
        for (int i = 1; i < argc; i++) {
                FILE *fp = fopen(argv[i], "rbe");
                uint8_t *buf;
                long len;

                if (!fp) {
                        perror(argv[i]);
                        return 1;
                }
                if (fseek(fp, 0, SEEK_END) < 0 || (len = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) < 0) {
                        fclose(fp);
                        return 1;
                }
                buf = malloc((size_t) len + 1);
                if (!buf || fread(buf, 1, (size_t) len, fp) != (size_t) len) {
                        fclose(fp);
                        free(buf);
                        return 1;
                }
                fclose(fp);
                (void) LLVMFuzzerTestOneInput(buf, (size_t) len);
                free(buf);
        }
        printf("replayed %d inputs\n", argc - 1);
        return 0;
}
#endif
