/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the node (daemon/ice/ice.c) with one relay and one agent, fed by a hostile
 * network and portal. The input is a program: raw datagrams from peers and from the relay,
 * connectivity checks and answers built from fuzz bytes but with the right credentials (so
 * the agent's deeper states are reached), candidate strings, invalidations, host address
 * changes, the clock moving. Besides "no crash" and no leak: whatever comes back as WireGuard's
 * lies inside the input buffer, and queues stay bounded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-input.h"
#include "ice.h"
#include "stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LOCAL_PWD  "local-password-0123456789"
#define REMOTE_PWD "remote-password-0123456789"

static FzdAddr relay, host;
static uint8_t last_check[1024], last_turn[2048];
static size_t last_check_len, last_turn_len;
static FzdAddr last_check_dest;

static void drain(FzdIce *ice) {
        FzdIceTransmit tx;
        FzdIceEvent e;
        unsigned n = 0;

        while (fzd_ice_poll_transmit(ice, &tx)) {
                if (tx.source.family != tx.dest.family)
                        abort();
                if (fzd_addr_eq(&tx.dest, &relay) && tx.data[0] <= 3 && tx.len <= sizeof(last_turn)) {
                        memcpy(last_turn, tx.data, tx.len);
                        last_turn_len = tx.len;
                } else if (tx.len <= sizeof(last_check) && tx.data[0] <= 3) {
                        memcpy(last_check, tx.data, tx.len);
                        last_check_len = tx.len;
                        last_check_dest = tx.dest;
                }
                n++;
        }
        while (fzd_ice_poll_event(ice, &e))
                if (e.type >= _FZD_ICE_EVENT_MAX)
                        abort();
        if (n > 2000)
                abort();
}

static FzdAddr fuzz_addr(FuzzInput *in) {
        FzdAddr a = host;
        a.ip[2] = fi_u8(in) & 1;
        a.ip[3] = fi_u8(in);
        a.port = fi_u16(in);
        return a;
}

static void put_fuzz_attrs(FuzzInput *in, FzdStunBuilder *b) {
        uint8_t n = fi_u8(in) % 6;
        for (uint8_t i = 0; i < n; i++) {
                size_t len;
                uint16_t type = fi_u16(in);
                const uint8_t *v = fi_bytes(in, 32, &len);
                fzd_stun_put(b, type, v, len);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FuzzInput in = {data, size};
        FzdIceConfig cfg = {.learn_host_candidates = true};
        FzdIceAgentConfig ac = {
                .local_ufrag = "loc",
                .local_pwd = LOCAL_PWD,
                .remote_ufrag = "rem",
                .remote_pwd = REMOTE_PWD,
        };
        FzdIceRelay r = {.id = "r1", .username = "1700000000:x", .password = "pw"};
        FzdIce *ice;
        FzdIceAgent *agent = NULL;
        uint64_t now = 1000000000ULL;
        uint8_t key[16];
        static uint8_t buf[4096];

        (void)fzd_addr_parse("198.51.100.1:3478", &relay);
        (void)fzd_addr_parse("10.0.0.1:52625", &host);
        (void)fzd_stun_long_term_key("1700000000:x", "firezone", "pw", key);
        last_check_len = last_turn_len = 0;
        if (fzd_ice_new(&cfg, &ice) < 0)
                return 0;
        r.addr = relay;
        ac.controlling = size > 0 && (data[0] & 1);
        (void)fzd_ice_upsert_relay(ice, &r, now);
        (void)fzd_ice_set_host_candidates(ice, &host, 1, now);
        if (fzd_ice_add_agent(ice, &ac, NULL, now, &agent) < 0)
                agent = NULL;
        drain(ice);

        for (unsigned steps = 0; in.n > 0 && steps < 300; steps++) {
                uint8_t op = fi_u8(&in);
                FzdIceUnwrapped u;
                FzdAddr from;
                FzdStunBuilder b;
                size_t len;
                int n;

                switch (op % 10) {
                case 0:
                case 1: { /* raw datagram from a peer, or from the relay */
                        const uint8_t *d = fi_bytes(&in, sizeof(buf), &len);
                        from = op % 10 ? relay : fuzz_addr(&in);
                        memcpy(buf, d, len);
                        if (fzd_ice_handle_input(ice, now, &host, &from, buf, len, &u) ==
                                    FZD_ICE_INPUT_UNWRAPPED &&
                            (u.data < buf || u.data + u.len > buf + len))
                                abort();
                        break;
                }
                case 2: { /* an answer to our last check, from where it went */
                        FzdStunMsg req;
                        uint8_t flags = fi_u8(&in);
                        if (!last_check_len || fzd_stun_parse(last_check, last_check_len, &req) < 0)
                                break;
                        fzd_stun_begin(&b, buf, sizeof(buf), FZD_STUN_BINDING,
                                       flags & 1 ? FZD_STUN_ERROR : FZD_STUN_SUCCESS, req.txid);
                        if (flags & 1)
                                fzd_stun_put_error(&b, flags & 2 ? 487 : 400, "x");
                        else {
                                FzdAddr m = fuzz_addr(&in);
                                fzd_stun_put_xor_addr(&b, FZD_STUN_ATTR_XOR_MAPPED_ADDRESS, &m);
                        }
                        put_fuzz_attrs(&in, &b);
                        fzd_stun_put_integrity(&b, (const uint8_t *)REMOTE_PWD, strlen(REMOTE_PWD));
                        if (flags & 4)
                                fzd_stun_put_fingerprint(&b);
                        n = fzd_stun_finish(&b);
                        if (n > 0)
                                (void)fzd_ice_handle_input(ice, now, &host, &last_check_dest, buf, (size_t)n,
                                                           &u);
                        break;
                }
                case 3: { /* a check to us */
                        uint8_t txid[12], flags = fi_u8(&in);
                        memset(txid, fi_u8(&in), sizeof(txid));
                        from = fuzz_addr(&in);
                        fzd_stun_begin(&b, buf, sizeof(buf), FZD_STUN_BINDING, FZD_STUN_REQUEST, txid);
                        fzd_stun_put_str(&b, FZD_STUN_ATTR_USERNAME, flags & 1 ? "loc:rem" : "loc:xyz");
                        if (flags & 2)
                                fzd_stun_put_u32(&b, FZD_STUN_ATTR_PRIORITY, (uint32_t)fi_u16(&in) << 8 | 1);
                        if (flags & 4)
                                fzd_stun_put_u64(&b,
                                                 flags & 8 ? FZD_STUN_ATTR_ICE_CONTROLLING
                                                           : FZD_STUN_ATTR_ICE_CONTROLLED,
                                                 (uint64_t)fi_u16(&in) << 48 | fi_u16(&in));
                        if (flags & 16)
                                fzd_stun_put(&b, FZD_STUN_ATTR_USE_CANDIDATE, NULL, 0);
                        put_fuzz_attrs(&in, &b);
                        if (!(flags & 32))
                                fzd_stun_put_integrity(&b, (const uint8_t *)LOCAL_PWD, strlen(LOCAL_PWD));
                        fzd_stun_put_fingerprint(&b);
                        n = fzd_stun_finish(&b);
                        if (n > 0)
                                (void)fzd_ice_handle_input(ice, now, &host, &from, buf, (size_t)n, &u);
                        break;
                }
                case 4:
                case 5: { /* a candidate string from the portal: add or invalidate */
                        char s[FZD_ICE_CANDIDATE_MAX + 8];
                        const uint8_t *d = fi_bytes(&in, FZD_ICE_CANDIDATE_MAX + 4, &len);
                        const char *reason;
                        memcpy(s, d, len);
                        s[len] = 0;
                        if (!agent)
                                break;
                        if (op & 0x80) { /* a well-formed one on a fuzzed address */
                                char a[FZD_ADDR_STRLEN];
                                from = fuzz_addr(&in);
                                snprintf(s, sizeof(s), "candidate:f%u 1 udp %u %s %u typ %s", op, 1000u + op,
                                         fzd_addr_format_ip(&from, a), from.port ? from.port : 1u,
                                         op & 0x40 ? "relay" : "host");
                        }
                        if (op % 10 == 4)
                                (void)fzd_ice_add_remote_candidate(ice, agent, s, now, &reason);
                        else
                                (void)fzd_ice_remove_remote_candidate(ice, agent, s, now, &reason);
                        break;
                }
                case 6: { /* time */
                        uint64_t next = fzd_ice_poll_timeout(ice);
                        if (op & 0x80 && next != UINT64_MAX && next > now)
                                now = next;
                        else
                                now += (uint64_t)fi_u16(&in) * 1000ULL * (op & 0x40 ? 100 : 1);
                        fzd_ice_handle_timeout(ice, now);
                        drain(ice);
                        /* Nothing is left due: a timer in the past would spin the daemon's loop. */
                        if (fzd_ice_poll_timeout(ice) <= now)
                                abort();
                        break;
                }
                case 7: { /* an answer to the last TURN request, signed by the relay */
                        FzdStunMsg req;
                        uint8_t flags = fi_u8(&in);
                        if (!last_turn_len || fzd_stun_parse(last_turn, last_turn_len, &req) < 0)
                                break;
                        fzd_stun_begin(&b, buf, sizeof(buf), req.method,
                                       flags & 1 ? FZD_STUN_ERROR : FZD_STUN_SUCCESS, req.txid);
                        if (flags & 1) {
                                fzd_stun_put_error(&b, flags & 2 ? 401 : 438, "x");
                                fzd_stun_put_str(&b, FZD_STUN_ATTR_REALM, "firezone");
                                fzd_stun_put_str(&b, FZD_STUN_ATTR_NONCE, "n");
                        } else {
                                FzdAddr m = relay;
                                m.port = (uint16_t)(40000 + fi_u8(&in));
                                fzd_stun_put_xor_addr(&b, FZD_STUN_ATTR_XOR_MAPPED_ADDRESS, &host);
                                fzd_stun_put_xor_addr(&b, FZD_STUN_ATTR_XOR_RELAYED_ADDRESS, &m);
                                fzd_stun_put_u32(&b, FZD_STUN_ATTR_LIFETIME, 600);
                        }
                        fzd_stun_put_integrity(&b, key, sizeof(key));
                        n = fzd_stun_finish(&b);
                        if (n > 0)
                                (void)fzd_ice_handle_input(ice, now, &host, &relay, buf, (size_t)n, &u);
                        break;
                }
                case 8: { /* host addresses change (roaming) */
                        FzdAddr h[2] = {host, fuzz_addr(&in)};
                        (void)fzd_ice_set_host_candidates(ice, h, op & 0x80 ? 2 : 1, now);
                        break;
                }
                case 9:
                        if (agent && (op & 0x80)) {
                                fzd_ice_remove_agent(ice, agent);
                                agent = NULL;
                        } else if (!agent && fzd_ice_add_agent(ice, &ac, NULL, now, &agent) < 0)
                                agent = NULL;
                        else if (agent)
                                fzd_ice_agent_note_traffic(agent, now);
                        if (op & 0x40)
                                (void)fzd_ice_remove_relay(ice, "r1", now);
                        else if (op & 0x20)
                                (void)fzd_ice_upsert_relay(ice, &r, now);
                        break;
                }
                drain(ice);
        }
        fzd_ice_free(ice);
        return 0;
}
