/* SPDX-License-Identifier: Apache-2.0 */
/* Runs a libFuzzer target over files (the seed corpus) in builds without libFuzzer, so
 * that every ordinary test run replays the corpus under the normal (or sanitizer) build. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
        for (int i = 1; i < argc; i++) {
                FILE *f = fopen(argv[i], "rb");
                uint8_t *buf;
                long n;

                if (!f || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
                        perror(argv[i]);
                        return EXIT_FAILURE;
                }
                buf = malloc((size_t)n + 1);
                if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
                        perror(argv[i]);
                        return EXIT_FAILURE;
                }
                fclose(f);
                (void)LLVMFuzzerTestOneInput(buf, (size_t)n);
                free(buf);
                printf("ok %d - %s\n", i, argv[i]);
        }
        printf("1..%d\n", argc - 1);
        return EXIT_SUCCESS;
}
