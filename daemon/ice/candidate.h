/* SPDX-License-Identifier: Apache-2.0 */
/* ICE candidates in the SDP `candidate:` attribute form Firezone signals through the portal
 * (str0m's format): "candidate:<foundation> 1 udp <priority> <ip> <port> typ host|srflx|prflx|relay
 * [raddr <ip> rport <port>] [ufrag <ufrag>]". Parsing refuses anything else with a reason. */
#pragma once

#include <stdint.h>

#include "addr.h"

#define FZD_ICE_FOUNDATION_MAX 32
#define FZD_ICE_UFRAG_MAX      256
/* A candidate line we accept or produce is at most this long (ours are < 200). */
#define FZD_ICE_CANDIDATE_MAX 512

typedef enum FzdIceCandidateType {
        FZD_ICE_CANDIDATE_HOST,
        FZD_ICE_CANDIDATE_SRFLX,
        FZD_ICE_CANDIDATE_PRFLX,
        FZD_ICE_CANDIDATE_RELAY,
        _FZD_ICE_CANDIDATE_TYPE_MAX,
} FzdIceCandidateType;

typedef struct FzdIceCandidate {
        FzdIceCandidateType type;
        FzdAddr addr;
        FzdAddr related; /* raddr/rport; family 0 when absent */
        uint32_t priority;
        uint16_t component;
        char foundation[FZD_ICE_FOUNDATION_MAX + 1];
        char ufrag[FZD_ICE_UFRAG_MAX + 1]; /* the "ufrag" extension, "" when absent */
} FzdIceCandidate;

/* 0, or -EINVAL with *ret_reason set to a static sentence saying what is wrong. */
int fzd_ice_candidate_parse(const char *s, FzdIceCandidate *ret, const char **ret_reason);
/* Formats c (its ufrag field is ignored; ufrag, if not NULL, is appended). Returns the length,
 * or -ENOBUFS. Related addresses of srflx/relay/prflx candidates are always written as the
 * unspecified address and port 0, as str0m does: the private address is nobody's business. */
int fzd_ice_candidate_format(const FzdIceCandidate *c, const char *ufrag, char *buf, size_t size);

const char *fzd_ice_candidate_type_to_string(FzdIceCandidateType t);

/* RFC 8445 §5.1.2.1: (2^24)·type preference + (2^8)·local preference + (256 − component),
 * with the recommended type preferences (host 126, prflx 110, srflx 100, relay 0). */
uint32_t fzd_ice_candidate_priority(FzdIceCandidateType type, uint16_t local_preference, uint16_t component);
/* RFC 8445 §5.1.1.3: equal for equal type, base IP, server IP (srflx/relay) and transport. */
void fzd_ice_candidate_foundation(FzdIceCandidateType type, const FzdAddr *base, const FzdAddr *server,
                                  char ret[static FZD_ICE_FOUNDATION_MAX + 1]);
/* ALPHA / DIGIT / "+" / "/" (RFC 8839 ice-char), 1..max characters. */
bool fzd_ice_chars_valid(const char *s, size_t max);
