/* SPDX-License-Identifier: Apache-2.0 */
/* A TURN server small enough to read, for unit tests of daemon/ice: long-term credentials with
 * a nonce, Allocate/Refresh/CreatePermission/ChannelBind, ChannelData and Send/Data indications
 * between one client and its peers, and knobs to inject what real relays do (stale nonces,
 * errors, silence). The real thing (coturn) is in the integration tests. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"

typedef struct Datagram {
        FzdAddr src, dst;
        uint8_t data[2048];
        size_t len;
} Datagram;

#define FAKE_TURN_MAX_OUT 8

typedef struct FakeTurn {
        FzdAddr server;  /* where clients send */
        FzdAddr relayed; /* the one allocation's relayed address */
        FzdAddr client;  /* who holds it (its source address) */
        FzdAddr mapped;  /* what the server reports as the client's address; unset: the source */
        char realm[32];
        char nonce[32];
        char username[64];
        char password[64];
        uint32_t lifetime;
        bool allocated;
        bool pad_channel_data; /* send ChannelData padded to 4 (coturn does not) */
        bool silent;           /* answer nothing */
        /* Answer the next request of this method with this error (once). */
        uint16_t inject_method;
        int inject_error;
        unsigned stale_nonce_times; /* answer this many authenticated requests with 438 */
        struct {
                uint16_t number;
                FzdAddr peer;
        } channels[16];
        unsigned n_channels;
        FzdAddr perms[16];
        unsigned n_perms;
        /* what it saw */
        unsigned requests[16]; /* by method */
        unsigned unauthenticated;
        unsigned bad_integrity;
        uint32_t last_requested_lifetime; /* UINT32_MAX: none in the last Allocate/Refresh */
        char last_username[64];
        unsigned nonce_counter;
} FakeTurn;

void fake_turn_init(FakeTurn *f, const char *server, const char *relayed, const char *username,
                    const char *password);
/* A datagram from a client to f->server; answers (and relayed data to peers) go to out[].
 * Returns how many. */
unsigned fake_turn_from_client(FakeTurn *f, const FzdAddr *from, const uint8_t *buf, size_t len,
                               Datagram *out);
/* A datagram from a peer to f->relayed; what reaches the client goes to out[]. */
unsigned fake_turn_from_peer(FakeTurn *f, const FzdAddr *from, const uint8_t *buf, size_t len,
                             Datagram *out);
/* Make the current nonce stale: the next authenticated request gets 438. */
void fake_turn_new_nonce(FakeTurn *f);
