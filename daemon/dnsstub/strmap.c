/* SPDX-License-Identifier: Apache-2.0 */
/* String-keyed hash map (strmap.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "strmap.h"
#include "table-alloc.h"

/* 24 bytes, filled to at most three quarters (linear probing with backward-shift removal
 * stays short at that load): a map of 10,000 keys takes 384 KiB. */
typedef struct Slot {
        const char *key; /* NULL: empty */
        void *value;
        uint32_t hash; /* the low half of the key's SipHash */
        uint32_t len;
} Slot;

struct FzdStrMap {
        Slot *slots;
        size_t cap; /* a power of two, or 0 */
        size_t n;
        uint64_t k0, k1;
};

/* ---- SipHash-1-3 (Aumasson, Bernstein) ---------------------------------------------------- */

static uint64_t rotl(uint64_t x, int b) {
        return (x << b) | (x >> (64 - b));
}

#define SIPROUND                                                                                            \
        do {                                                                                                \
                v0 += v1, v1 = rotl(v1, 13), v1 ^= v0, v0 = rotl(v0, 32);                                   \
                v2 += v3, v3 = rotl(v3, 16), v3 ^= v2;                                                      \
                v0 += v3, v3 = rotl(v3, 21), v3 ^= v0;                                                      \
                v2 += v1, v1 = rotl(v1, 17), v1 ^= v2, v2 = rotl(v2, 32);                                   \
        } while (0)

static uint64_t siphash13(uint64_t k0, uint64_t k1, const char *data, size_t len) {
        uint64_t v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
        uint64_t v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;
        const unsigned char *p = (const unsigned char *)data;
        uint64_t m, last = (uint64_t)len << 56;
        size_t i;

        for (i = 0; i + 8 <= len; i += 8) {
                memcpy(&m, p + i, 8); /* little-endian hosts; the value only has to be stable */
                v3 ^= m;
                SIPROUND;
                v0 ^= m;
        }
        for (size_t k = 0; i + k < len; k++)
                last |= (uint64_t)p[i + k] << (8 * k);
        v3 ^= last;
        SIPROUND;
        v0 ^= last;
        v2 ^= 0xff;
        SIPROUND;
        SIPROUND;
        SIPROUND;
        return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- the map ------------------------------------------------------------------------------ */

int fzd_strmap_new(FzdStrMap **ret) {
        FzdStrMap *m = calloc(1, sizeof *m);
        uint64_t key[2];

        if (!m)
                return -ENOMEM;
        if (getrandom(key, sizeof key, GRND_NONBLOCK) != (ssize_t)sizeof key) {
                /* No entropy yet (early boot): weaker, but the map still works. */
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                key[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
                key[1] = (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)m;
        }
        m->k0 = key[0];
        m->k1 = key[1];
        *ret = m;
        return 0;
}

FzdStrMap *fzd_strmap_free(FzdStrMap *m) {
        if (!m)
                return NULL;
        fzd_table_free(m->slots);
        free(m);
        return NULL;
}

void fzd_strmap_clear(FzdStrMap *m) {
        fzd_table_free(m->slots);
        m->slots = NULL;
        m->cap = m->n = 0;
}

size_t fzd_strmap_size(const FzdStrMap *m) {
        return m->n;
}

static size_t find(const FzdStrMap *m, const char *key, size_t len, uint32_t hash) {
        size_t mask = m->cap - 1;

        for (size_t i = hash & mask;; i = (i + 1) & mask) {
                const Slot *s = &m->slots[i];
                if (!s->key || (s->hash == hash && s->len == len && memcmp(s->key, key, len) == 0))
                        return i;
        }
}

void *fzd_strmap_getn(const FzdStrMap *m, const char *key, size_t len) {
        uint32_t hash;
        size_t i;

        if (m->n == 0 || len > UINT32_MAX)
                return NULL;
        hash = (uint32_t) siphash13(m->k0, m->k1, key, len);
        i = find(m, key, len, hash);
        return m->slots[i].key ? m->slots[i].value : NULL;
}

static int resize(FzdStrMap *m, size_t cap) {
        Slot *old = m->slots, *slots;
        size_t old_cap = m->cap;

        slots = fzd_table_alloc(cap, sizeof *slots);
        if (!slots)
                return -ENOMEM;
        m->slots = slots;
        m->cap = cap;
        for (size_t i = 0; i < old_cap; i++)
                if (old[i].key)
                        m->slots[find(m, old[i].key, old[i].len, old[i].hash)] = old[i];
        fzd_table_free(old);
        return 0;
}

static int grow(FzdStrMap *m) {
        return resize(m, m->cap ? m->cap * 2 : 16);
}

int fzd_strmap_reserve(FzdStrMap *m, size_t n) {
        size_t cap = m->cap ? m->cap : 16;

        while (n * 4 > cap * 3) {
                if (cap > SIZE_MAX / 64)
                        return -ENOMEM;
                cap *= 2;
        }
        return cap > m->cap ? resize(m, cap) : 0;
}

int fzd_strmap_put(FzdStrMap *m, const char *key, void *value) {
        size_t len = strlen(key), i;
        uint32_t hash;

        if (len > UINT32_MAX)
                return -EINVAL;
        if ((m->n + 1) * 4 > m->cap * 3) {
                int r = grow(m);
                if (r < 0)
                        return r;
        }
        hash = (uint32_t) siphash13(m->k0, m->k1, key, len);
        i = find(m, key, len, hash);
        if (!m->slots[i].key)
                m->n++;
        m->slots[i] = (Slot){.key = key, .value = value, .hash = hash, .len = (uint32_t) len};
        return 0;
}

void *fzd_strmap_remove(FzdStrMap *m, const char *key) {
        size_t len = strlen(key), mask, i, j;
        uint32_t hash;
        void *value;

        if (m->n == 0 || len > UINT32_MAX)
                return NULL;
        hash = (uint32_t) siphash13(m->k0, m->k1, key, len);
        i = find(m, key, len, hash);
        if (!m->slots[i].key)
                return NULL;
        value = m->slots[i].value;
        m->n--;
        /* Backward shift: move later members of the probe run up into the hole. */
        mask = m->cap - 1;
        for (j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
                size_t home = m->slots[j].hash & mask;
                /* Leave j alone if its home lies cyclically in (i, j]. */
                if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
                        m->slots[i] = m->slots[j];
                        i = j;
                }
        }
        m->slots[i] = (Slot){};
        return value;
}

bool fzd_strmap_next(const FzdStrMap *m, size_t *i, const char **ret_key, void **ret_value) {
        for (; *i < m->cap; (*i)++)
                if (m->slots[*i].key) {
                        if (ret_key)
                                *ret_key = m->slots[*i].key;
                        if (ret_value)
                                *ret_value = m->slots[*i].value;
                        (*i)++;
                        return true;
                }
        return false;
}
