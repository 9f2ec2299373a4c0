/* SPDX-License-Identifier: Apache-2.0 */
/* Runs a fuzz target's LLVMFuzzerTestOneInput over files and directories given on the
 * command line, so every build replays the corpus as a regression test. Builds with
 * -Dfuzzing=true link libFuzzer instead. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
        FILE *f = fopen(path, "rb");
        uint8_t *buf;
        long n;

        if (!f)
                return perror(path), 1;
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        rewind(f);
        buf = malloc(n > 0 ? (size_t) n : 1);
        if (!buf || fread(buf, 1, (size_t) n, f) != (size_t) n) {
                fclose(f);
                free(buf);
                return fprintf(stderr, "%s: read failed\n", path), 1;
        }
        fclose(f);
        LLVMFuzzerTestOneInput(buf, (size_t) n);
        free(buf);
        return 0;
}

int main(int argc, char **argv) {
        int runs = 0, failed = 0;

        for (int i = 1; i < argc; i++) {
                struct stat st;
                if (stat(argv[i], &st) < 0)
                        return perror(argv[i]), 1;
                if (S_ISDIR(st.st_mode)) {
                        DIR *d = opendir(argv[i]);
                        struct dirent *e;
                        while (d && (e = readdir(d))) {
                                char p[4096];
                                if (e->d_name[0] == '.')
                                        continue;
                                snprintf(p, sizeof p, "%s/%s", argv[i], e->d_name);
                                failed += run_file(p);
                                runs++;
                        }
                        if (d)
                                closedir(d);
                } else {
                        failed += run_file(argv[i]);
                        runs++;
                }
        }
        printf("%d inputs replayed\n", runs);
        return failed || runs == 0;
}
