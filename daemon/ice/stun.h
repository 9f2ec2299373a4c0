/* SPDX-License-Identifier: Apache-2.0 */
/* STUN messages (RFC 8489) with the attributes of TURN (RFC 8656) and ICE (RFC 8445).
 *
 * Parsing never copies: an FzdStunMsg points into the caller's buffer and lists at most
 * FZD_STUN_MAX_ATTRS attributes; a message with more is refused, as is anything malformed.
 * Building writes into a caller buffer; MESSAGE-INTEGRITY is HMAC-SHA1 (OpenSSL), checked in
 * constant time; FINGERPRINT is CRC-32 xor 0x5354554e; transaction ids come from OpenSSL's CSPRNG. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define FZD_STUN_HEADER_SIZE 20
#define FZD_STUN_MAGIC       0x2112A442u
#define FZD_STUN_TXID_SIZE   12
/* More attributes than this in one message is not something a peer or relay of ours sends. */
#define FZD_STUN_MAX_ATTRS   32
#define FZD_STUN_MAX_UNKNOWN 8

/* Methods */
enum {
        FZD_STUN_BINDING = 0x001,
        FZD_STUN_ALLOCATE = 0x003,
        FZD_STUN_REFRESH = 0x004,
        FZD_STUN_SEND = 0x006,
        FZD_STUN_DATA = 0x007,
        FZD_STUN_CREATE_PERMISSION = 0x008,
        FZD_STUN_CHANNEL_BIND = 0x009,
};

/* Classes */
enum {
        FZD_STUN_REQUEST = 0,
        FZD_STUN_INDICATION = 1,
        FZD_STUN_SUCCESS = 2,
        FZD_STUN_ERROR = 3,
};

/* Attributes */
enum {
        FZD_STUN_ATTR_MAPPED_ADDRESS = 0x0001,
        FZD_STUN_ATTR_USERNAME = 0x0006,
        FZD_STUN_ATTR_MESSAGE_INTEGRITY = 0x0008,
        FZD_STUN_ATTR_ERROR_CODE = 0x0009,
        FZD_STUN_ATTR_UNKNOWN_ATTRIBUTES = 0x000A,
        FZD_STUN_ATTR_CHANNEL_NUMBER = 0x000C,
        FZD_STUN_ATTR_LIFETIME = 0x000D,
        FZD_STUN_ATTR_XOR_PEER_ADDRESS = 0x0012,
        FZD_STUN_ATTR_DATA = 0x0013,
        FZD_STUN_ATTR_REALM = 0x0014,
        FZD_STUN_ATTR_NONCE = 0x0015,
        FZD_STUN_ATTR_XOR_RELAYED_ADDRESS = 0x0016,
        FZD_STUN_ATTR_REQUESTED_ADDRESS_FAMILY = 0x0017,
        FZD_STUN_ATTR_EVEN_PORT = 0x0018,
        FZD_STUN_ATTR_REQUESTED_TRANSPORT = 0x0019,
        FZD_STUN_ATTR_DONT_FRAGMENT = 0x001A,
        FZD_STUN_ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001C,
        FZD_STUN_ATTR_PASSWORD_ALGORITHM = 0x001D,
        FZD_STUN_ATTR_USERHASH = 0x001E,
        FZD_STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
        FZD_STUN_ATTR_RESERVATION_TOKEN = 0x0022,
        FZD_STUN_ATTR_PRIORITY = 0x0024,
        FZD_STUN_ATTR_USE_CANDIDATE = 0x0025,
        FZD_STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY = 0x8000,
        FZD_STUN_ATTR_ADDRESS_ERROR_CODE = 0x8001,
        FZD_STUN_ATTR_PASSWORD_ALGORITHMS = 0x8002,
        FZD_STUN_ATTR_ALTERNATE_DOMAIN = 0x8003,
        FZD_STUN_ATTR_ICMP = 0x8004,
        FZD_STUN_ATTR_SOFTWARE = 0x8022,
        FZD_STUN_ATTR_ALTERNATE_SERVER = 0x8023,
        FZD_STUN_ATTR_FINGERPRINT = 0x8028,
        FZD_STUN_ATTR_ICE_CONTROLLED = 0x8029,
        FZD_STUN_ATTR_ICE_CONTROLLING = 0x802A,
        FZD_STUN_ATTR_RESPONSE_ORIGIN = 0x802B,
        FZD_STUN_ATTR_OTHER_ADDRESS = 0x802C,
};

/* Error codes */
enum {
        FZD_STUN_ERR_BAD_REQUEST = 400,
        FZD_STUN_ERR_UNAUTHORIZED = 401,
        FZD_STUN_ERR_FORBIDDEN = 403,
        FZD_STUN_ERR_UNKNOWN_ATTRIBUTE = 420,
        FZD_STUN_ERR_ALLOCATION_MISMATCH = 437,
        FZD_STUN_ERR_STALE_NONCE = 438,
        FZD_STUN_ERR_ADDRESS_FAMILY = 440,
        FZD_STUN_ERR_WRONG_CREDENTIALS = 441,
        FZD_STUN_ERR_UNSUPPORTED_TRANSPORT = 442,
        FZD_STUN_ERR_ALLOCATION_QUOTA = 486,
        FZD_STUN_ERR_ROLE_CONFLICT = 487,
        FZD_STUN_ERR_INSUFFICIENT_CAPACITY = 508,
};

typedef struct FzdStunAttr {
        uint16_t type;
        uint16_t len;    /* value length, without padding */
        uint32_t offset; /* of the value, from the start of the message */
} FzdStunAttr;

typedef struct FzdStunMsg {
        const uint8_t *buf;
        size_t len; /* header + body */
        uint16_t method;
        uint8_t cls;
        uint8_t txid[FZD_STUN_TXID_SIZE];
        FzdStunAttr attrs[FZD_STUN_MAX_ATTRS];
        size_t n_attrs;
        int integrity;   /* index in attrs of MESSAGE-INTEGRITY, or -1 */
        int fingerprint; /* index of FINGERPRINT, or -1 (its CRC was checked by the parser) */
        /* Comprehension-required attributes (type < 0x8000) this code does not know: a request
         * carrying them is answered with 420, a response carrying them fails its transaction. */
        uint16_t unknown[FZD_STUN_MAX_UNKNOWN];
        size_t n_unknown;
} FzdStunMsg;

/* A cheap test for the first bytes of a datagram (two zero bits, magic cookie, a length that
 * matches the datagram): "is this STUN at all". fzd_stun_parse() does the full job. */
bool fzd_stun_looks_like(const uint8_t *buf, size_t len);

/* 0, or -EBADMSG for anything malformed (bad header, attribute overrunning the message,
 * attributes after FINGERPRINT, a FINGERPRINT that does not match, too many attributes). */
int fzd_stun_parse(const uint8_t *buf, size_t len, FzdStunMsg *ret);

static inline uint16_t fzd_stun_type(uint16_t method, uint8_t cls) {
        return (uint16_t)((method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) |
                          ((cls & 1) << 4) | ((cls & 2) << 7));
}

const FzdStunAttr *fzd_stun_find(const FzdStunMsg *m, uint16_t type);
const uint8_t *fzd_stun_value(const FzdStunMsg *m, const FzdStunAttr *a);
bool fzd_stun_has(const FzdStunMsg *m, uint16_t type);
/* Typed getters: 0, -ENOENT when missing, -EBADMSG when malformed. */
int fzd_stun_get_xor_addr(const FzdStunMsg *m, uint16_t type, FzdAddr *ret);
int fzd_stun_get_addr(const FzdStunMsg *m, uint16_t type, FzdAddr *ret); /* plain MAPPED-ADDRESS */
int fzd_stun_get_u32(const FzdStunMsg *m, uint16_t type, uint32_t *ret);
int fzd_stun_get_u64(const FzdStunMsg *m, uint16_t type, uint64_t *ret);
/* ERROR-CODE: the code (300-699) and the reason phrase (not terminated). */
int fzd_stun_get_error(const FzdStunMsg *m, int *ret_code, const char **ret_reason, size_t *ret_reason_len);
/* A text attribute (USERNAME, REALM, NONCE, SOFTWARE): pointer and length, not terminated. */
int fzd_stun_get_bytes(const FzdStunMsg *m, uint16_t type, const uint8_t **ret, size_t *ret_len);
/* CHANNEL-NUMBER */
int fzd_stun_get_channel(const FzdStunMsg *m, uint16_t *ret);

/* MESSAGE-INTEGRITY with this key (short-term: the password; long-term: fzd_stun_long_term_key()).
 * False if absent or wrong. Constant time in the key and the MAC. */
bool fzd_stun_check_integrity(const FzdStunMsg *m, const uint8_t *key, size_t key_len);
/* MD5(username ":" realm ":" password), the long-term credential key (RFC 8489 §9.2.2). The
 * strings are used as they are (Firezone's credentials are ASCII, for which SASLprep is the
 * identity). Returns 0, or -EIO if OpenSSL refuses MD5. */
int fzd_stun_long_term_key(const char *username, const char *realm, const char *password, uint8_t ret[16]);

/* A new transaction id from the CSPRNG (RAND_bytes). 0 or -EIO. */
int fzd_stun_new_txid(uint8_t ret[FZD_STUN_TXID_SIZE]);

/* Building. Any overflow sets err (-ENOBUFS) and turns later calls into no-ops, so that a
 * sequence of puts is checked once at the end by fzd_stun_finish(). */
typedef struct FzdStunBuilder {
        uint8_t *buf;
        size_t cap;
        size_t len;
        int err;
        uint8_t pad_byte; /* 0; the RFC 5769 vectors pad with spaces */
} FzdStunBuilder;

void fzd_stun_begin(FzdStunBuilder *b, uint8_t *buf, size_t cap, uint16_t method, uint8_t cls,
                    const uint8_t txid[FZD_STUN_TXID_SIZE]);
void fzd_stun_put(FzdStunBuilder *b, uint16_t type, const void *value, size_t len);
void fzd_stun_put_str(FzdStunBuilder *b, uint16_t type, const char *s);
void fzd_stun_put_u32(FzdStunBuilder *b, uint16_t type, uint32_t v);
void fzd_stun_put_u64(FzdStunBuilder *b, uint16_t type, uint64_t v);
void fzd_stun_put_xor_addr(FzdStunBuilder *b, uint16_t type, const FzdAddr *a);
void fzd_stun_put_error(FzdStunBuilder *b, int code, const char *reason);
/* MESSAGE-INTEGRITY over everything so far (the length field counting it). */
void fzd_stun_put_integrity(FzdStunBuilder *b, const uint8_t *key, size_t key_len);
void fzd_stun_put_fingerprint(FzdStunBuilder *b);
/* The message length, or the first error. */
int fzd_stun_finish(FzdStunBuilder *b);

/* A stock reason phrase for an error code. */
const char *fzd_stun_reason(int code);
const char *fzd_stun_method_name(uint16_t method);
