/* SPDX-License-Identifier: Apache-2.0 */
/* The string map (daemon/dnsstub/strmap.c): removing entries while iterating, as
 * fzd_connections_resources_retain/clear do, sees every entry and stays linear; reserve; the
 * big tables' memory (daemon/table-alloc.h). */
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "big-alloc.h"
#include "fz-check.h"
#include "strmap.h"
#include "table-alloc.h"

#define N 10000

static FzdStrMap *filled(char keys[][16]) {
        FzdStrMap *m = NULL;

        ck_assert_int_eq(fzd_strmap_new(&m), 0);
        for (uintptr_t k = 0; k < N; k++) {
                snprintf(keys[k], 16, "res-%lu", (unsigned long) k);
                ck_assert_int_eq(fzd_strmap_put(m, keys[k], (void *) (k + 1)), 0);
        }
        ck_assert_uint_eq(fzd_strmap_size(m), N);
        return m;
}

START_TEST(test_remove_while_iterating) {
        static char keys[N][16];
        static unsigned seen[N];
        _cleanup_(fzd_strmap_freep) FzdStrMap *m = filled(keys);
        const char *key;
        void *value;
        size_t i = 0, visits = 0;

        /* Drop the odd ones; the even ones stay (each seen at least once). */
        while (fzd_strmap_next(m, &i, &key, &value)) {
                uintptr_t k = (uintptr_t) value - 1;
                visits++;
                seen[k]++;
                if (k % 2 == 0)
                        continue;
                ck_assert_ptr_eq(fzd_strmap_remove(m, key), value);
                i--;
        }
        ck_assert_uint_eq(fzd_strmap_size(m), N / 2);
        for (size_t k = 0; k < N; k++) {
                ck_assert_uint_ge(seen[k], 1);
                ck_assert(!!fzd_strmap_get(m, keys[k]) == (k % 2 == 0));
        }
        ck_assert_uint_le(visits, N + N / 10); /* linear, not a restart per removal */

        /* And remove everything. */
        i = 0;
        while (fzd_strmap_next(m, &i, &key, &value)) {
                ck_assert_ptr_eq(fzd_strmap_remove(m, key), value);
                i--;
        }
        ck_assert_uint_eq(fzd_strmap_size(m), 0);
}
END_TEST

/* Reserved room: every key of a known series fits without the map growing, and the slots
 * (10,000 keys: 384 KiB, a mapping of their own) work like calloc()'s. */
START_TEST(test_reserve_and_big_slots) {
        static char keys[N][16];
        _cleanup_(fzd_strmap_freep) FzdStrMap *m = NULL;

        ck_assert_int_eq(fzd_strmap_new(&m), 0);
        ck_assert_int_eq(fzd_strmap_reserve(m, N), 0);
        for (uintptr_t k = 0; k < N; k++) {
                snprintf(keys[k], 16, "key-%lu", (unsigned long) k);
                ck_assert_int_eq(fzd_strmap_put(m, keys[k], (void *) (k + 1)), 0);
        }
        for (uintptr_t k = 0; k < N; k++)
                ck_assert_ptr_eq(fzd_strmap_get(m, keys[k]), (void *) (k + 1));
        ck_assert_ptr_null(fzd_strmap_get(m, "key-10000"));
        ck_assert_int_eq(fzd_strmap_reserve(m, N / 2), 0); /* never shrinks */
        fzd_strmap_clear(m);
        ck_assert_uint_eq(fzd_strmap_size(m), 0);
        ck_assert_ptr_null(fzd_strmap_get(m, keys[0]));
        ck_assert_int_eq(fzd_strmap_put(m, keys[1], (void *) 2), 0);
        ck_assert_ptr_eq(fzd_strmap_get(m, keys[1]), (void *) 2);
}
END_TEST

/* Both kinds of table memory: zeroed, writable to the last byte, given back (ASan/LSan would
 * see a calloc() block lost; a bad munmap() length shows as a crash on the next mapping). */
START_TEST(test_table_alloc) {
        static const size_t counts[] = { 0, 1, FZD_TABLE_MMAP_MIN / 8 - 1, FZD_TABLE_MMAP_MIN / 8, 100000 };

        for (size_t i = 0; i < ELEMENTSOF(counts); i++) {
                uint64_t *t = fzd_table_alloc(counts[i] ? counts[i] : 1, sizeof *t);
                size_t n = counts[i] ? counts[i] : 1;

                ck_assert_ptr_nonnull(t);
                ck_assert_uint_eq((uintptr_t) t % 16, 0);
                for (size_t k = 0; k < n; k++)
                        ck_assert_uint_eq(t[k], 0);
                t[n - 1] = UINT64_MAX;
                fzd_table_free(t);
        }
        ck_assert_ptr_null(fzd_table_alloc(SIZE_MAX / 2, 4)); /* overflow */
        fzd_table_free(NULL);
}
END_TEST

/* Big buffers (big-alloc.h): either kind holds its bytes to the last, a realloc keeps them
 * across the threshold both ways (malloc() to a mapping, a mapping grown by mremap(), back to
 * malloc()), and everything is given back (ASan/LSan; a bad munmap() length crashes later). */
START_TEST(test_big_alloc) {
        static const size_t sizes[] = { 1, 4096, FZD_BIG_ALLOC_MIN - 1, FZD_BIG_ALLOC_MIN, 3 * FZD_BIG_ALLOC_MIN + 5,
                                        FZD_BIG_ALLOC_MIN + 1, 100, 2 * FZD_BIG_ALLOC_MIN, 7 };
        unsigned char *p = NULL;
        size_t have = 0;

        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                unsigned char *q = fzd_big_realloc(p, sizes[i]);
                size_t keep = have < sizes[i] ? have : sizes[i];

                size_t bad = SIZE_MAX;

                ck_assert_ptr_nonnull(q);
                ck_assert_uint_eq((uintptr_t) q % 16, 0);
                for (size_t k = 0; k < keep && bad == SIZE_MAX; k++)
                        if (q[k] != (unsigned char) (k * 7 + 3))
                                bad = k;
                ck_assert_msg(bad == SIZE_MAX, "byte %zu of %zu after %zu -> %zu", bad, keep, have, sizes[i]);
                for (size_t k = 0; k < sizes[i]; k++)
                        q[k] = (unsigned char) (k * 7 + 3);
                p = q;
                have = sizes[i];
        }
        fzd_big_free(p);
        p = fzd_big_alloc(5 * FZD_BIG_ALLOC_MIN);
        ck_assert_ptr_nonnull(p);
        p[5 * FZD_BIG_ALLOC_MIN - 1] = 1;
        fzd_big_free(p);
        ck_assert_ptr_null(fzd_big_alloc(SIZE_MAX - 8)); /* overflow */
        ck_assert_ptr_null(fzd_big_realloc(NULL, SIZE_MAX - 8));
        fzd_big_free(NULL);
}
END_TEST

/* Pages of [p, p + len) in memory, by mincore() (the buffer is never touched here). */
static size_t resident_pages(const void *p, size_t len) {
        size_t page = (size_t) sysconf(_SC_PAGESIZE);
        uintptr_t start = (uintptr_t) p & ~(uintptr_t) (page - 1);
        size_t n = ((uintptr_t) p + len - start + page - 1) / page, in = 0;
        unsigned char *vec = malloc(n);

        ck_assert_ptr_nonnull(vec);
        ck_assert_int_eq(mincore((void *) start, n * page, vec), 0);
        for (size_t i = 0; i < n; i++)
                in += vec[i] & 1;
        free(vec);
        return in;
}

static size_t pages_of(size_t len) {
        return (len + (size_t) sysconf(_SC_PAGESIZE) - 1) / (size_t) sysconf(_SC_PAGESIZE);
}

/* A big buffer is faulted in ahead of use: by a helper thread where another CPU may run it
 * (settled: every page is in, none touched by us), or at once with one CPU; tables (which
 * fill all over) always at once. Freeing or growing a buffer while its helper runs waits for
 * it (ASan: no use after unmap; the bytes written meanwhile are kept). */
START_TEST(test_big_alloc_prefault) {
        const size_t len = 8 * FZD_BIG_ALLOC_MIN + 123;
        cpu_set_t all, one;
        unsigned char *p;
        void *t;

        ck_assert_int_eq(sched_getaffinity(0, sizeof all, &all), 0);
        if (CPU_COUNT(&all) > 1) {
                p = fzd_big_alloc(len);
                ck_assert_ptr_nonnull(p);
                ck_assert(fzd_big_settle(p)); /* it had a helper */
                ck_assert(!fzd_big_settle(p));
                ck_assert_uint_ge(resident_pages(p, len), pages_of(len) - 1);
                fzd_big_free(p);
        }

        /* One CPU: no helper, all in before fzd_big_alloc() returns. */
        CPU_ZERO(&one);
        for (int c = 0; c < CPU_SETSIZE; c++)
                if (CPU_ISSET(c, &all)) {
                        CPU_SET(c, &one);
                        break;
                }
        ck_assert_int_eq(sched_setaffinity(0, sizeof one, &one), 0);
        p = fzd_big_alloc(len);
        ck_assert_int_eq(sched_setaffinity(0, sizeof all, &all), 0);
        ck_assert_ptr_nonnull(p);
        ck_assert(!fzd_big_settle(p));
        ck_assert_uint_ge(resident_pages(p, len), pages_of(len) - 1);
        fzd_big_free(p);

        /* A table: no helper either way. */
        t = fzd_table_alloc(len / 8, 8);
        ck_assert_ptr_nonnull(t);
        ck_assert(!fzd_big_settle(t));
        ck_assert_uint_ge(resident_pages(t, len / 8 * 8), pages_of(len / 8 * 8) - 1);
        fzd_table_free(t);

        /* Freed, grown and written while the helper runs, many times over. */
        for (int round = 0; round < 50; round++) {
                p = fzd_big_alloc(len);
                ck_assert_ptr_nonnull(p);
                if (round % 2 == 0) {
                        fzd_big_free(p); /* at once */
                        continue;
                }
                for (size_t k = 0; k < len; k += 4096 * 7)
                        p[k] = (unsigned char) (k >> 12);
                p = fzd_big_realloc(p, 2 * len);
                ck_assert_ptr_nonnull(p);
                for (size_t k = 0; k < len; k += 4096 * 7)
                        ck_assert_uint_eq(p[k], (unsigned char) (k >> 12));
                p[2 * len - 1] = 1;
                fzd_big_free(p);
        }
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("strmap");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_remove_while_iterating);
        tcase_add_test(tc, test_reserve_and_big_slots);
        tcase_add_test(tc, test_table_alloc);
        tcase_add_test(tc, test_big_alloc);
        tcase_add_test(tc, test_big_alloc_prefault);
        suite_add_tcase(s, tc);
        return s;
}

FZ_CHECK_MAIN(suite)
