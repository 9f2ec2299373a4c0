/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The data plane: fast packet I/O around the WireGuard core (daemon/wireguard).
 *
 * Threads (docs/data-plane.md; chosen by measurement, see bench/bench_wireguard.py):
 *   - the caller's main loop (sd-event) owns the control side: the WireGuard state
 *     machine (handshakes, cookies, timers), this API, and the callbacks below;
 *   - worker threads run the fast path of established sessions: by default one reads
 *     the TUN, splits super-packets, encrypts straight into its send buffers and sends
 *     with sendmmsg + UDP GSO; one receives with recvmmsg + UDP GRO, decrypts in place
 *     and writes coalesced TCP super-packets to the TUN.
 * Everything the fast path cannot handle goes to the main loop through one bounded queue
 * and an eventfd (overflow is counted, never waited for): WireGuard handshake messages
 * (handled here), STUN, TURN responses, ChannelData on unbound channels, and TUN packets
 * without a route or without a session (handed to the callbacks). The main loop sends on
 * the same sockets and writes to the same TUN (both atomic per packet). Routes, paths and
 * sessions reach the workers under short locks, never held across a system call.
 *
 * What #13 (connections through ICE and TURN) builds on:
 *   - a peer's path (socket family + destination, optionally a TURN channel to prefix as
 *     ChannelData, the destination then being the relay), settable at run time;
 *   - relays and bound channels, for demultiplexing as DESIGN §7.3 says;
 *   - a routing table of prefixes → peer with an opaque cookie per route;
 *   - control-side datagram sends and TUN writes.
 * It does not run ICE or TURN itself. */

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "wg.h"

typedef struct FzdDataplane FzdDataplane;
typedef struct FzdDpPeer FzdDpPeer;

/* A socket address of either family. */
typedef union FzdDpAddr {
        struct sockaddr sa;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
} FzdDpAddr;

/* How to reach a peer: through the socket of `family` to `dst`; with a TURN channel
 * (0x4000–0x4FFF, 0 = none) each datagram gets a 4-byte ChannelData header and `dst` is
 * the relay. What comes back through a channel is only unwrapped on the fast path if the
 * relay was added and the channel bound (fzd_dataplane_relay_add(), _channel_bind()). */
typedef struct FzdDpPath {
        int family;
        FzdDpAddr dst;
        uint16_t channel;
} FzdDpPath;

typedef enum FzdDpThreading {
        FZD_DP_THREADS_SPLIT,      /* default: one TUN→UDP worker, one UDP→TUN worker */
        FZD_DP_THREADS_ONE,        /* one worker for both directions */
        FZD_DP_THREADS_PER_SOCKET, /* one TUN→UDP worker, one UDP→TUN worker per socket */
} FzdDpThreading;

/* A datagram for the control side (STUN, TURN, unknown ChannelData). */
typedef struct FzdDpDatagram {
        int family;       /* which socket it came in on */
        FzdDpAddr from;   /* the sender (the relay, for ChannelData) */
        uint16_t channel; /* the ChannelData channel it came through, or 0 */
        bool from_relay;  /* from an address registered with fzd_dataplane_relay_add() */
        /* The local address it was sent to (IP_PKTINFO; port 0), for ICE host candidates on
         * multi-homed hosts; family AF_UNSPEC if the socket does not report it. */
        FzdDpAddr local;
        const uint8_t *data;
        size_t len;
} FzdDpDatagram;

typedef enum FzdDpPeerEvent {
        FZD_DP_PEER_HANDSHAKE_COMPLETE, /* a session is up (either role) */
        FZD_DP_PEER_HANDSHAKE_FAILED,   /* gave up after rekey_attempt_time */
        FZD_DP_PEER_KEYS_EXPIRED,       /* no session left (all passed reject_after_time) */
        FZD_DP_PEER_PATH_CHANGED,       /* learned a new endpoint (roaming) */
} FzdDpPeerEvent;

/* Why a TUN packet was handed to the control side. */
typedef enum FzdDpPacketReason {
        FZD_DP_PACKET_NO_ROUTE,   /* no route: peer is NULL (authorization, #13) */
        FZD_DP_PACKET_NO_SESSION, /* the route's peer has no usable session or no path yet */
        FZD_DP_PACKET_FILTERED,   /* the filter refused it (answer with ICMP, never send it) */
} FzdDpPacketReason;

typedef struct FzdDpCallbacks {
        /* Main loop. Not WireGuard: STUN, TURN, ChannelData on unbound channels. */
        void (*datagram)(void *userdata, const FzdDpDatagram *d);
        /* Main loop. A packet read from the TUN that the fast path did not send, and why.
         * NO_SESSION: pass it to fzd_dataplane_peer_send() to stage it and start a
         * handshake, or drop it. */
        void (*packet)(void *userdata, FzdDpPeer *peer, uint64_t cookie, FzdDpPacketReason reason,
                       const uint8_t *packet, size_t len);
        /* Main loop. */
        void (*peer_event)(void *userdata, FzdDpPeer *peer, FzdDpPeerEvent event);
        /* Worker threads (thread-safe, fast, no blocking): may this packet, routed with
         * this cookie, go out? false: it is handed to packet() instead. NULL: all may. */
        bool (*filter)(void *userdata, uint64_t cookie, const uint8_t *packet, size_t len);
        /* Main loop. A decrypted packet of Firezone's in-tunnel control protocol from a peer
         * (fzd_dp_is_p2p_control(): DESIGN §7.4). It never reaches the TUN. NULL: dropped. */
        void (*p2p_control)(void *userdata, FzdDpPeer *peer, const uint8_t *packet, size_t len);
        /* Worker threads (same rules as filter), optional: a TUN packet routed with this
         * cookie that filter() let through, before it is encrypted (or handed to packet() as
         * NO_SESSION). It may be rewritten in place without changing its length (a gateway's
         * NAT; the callee fixes checksums). Not called for fzd_dataplane_peer_send(). */
        void (*outbound)(void *userdata, uint64_t cookie, uint8_t *packet, size_t len);
        /* Worker threads (same rules), optional: a packet decrypted from peer whose source
         * routes back to it (cookie: of that route), before it is written to the TUN. It may
         * be rewritten in place without changing its length. false: refused, never written;
         * it goes to inbound_refused() instead (a gateway's authorization and filters). */
        bool (*inbound)(void *userdata, FzdDpPeer *peer, uint64_t cookie, uint8_t *packet, size_t len);
        /* Main loop. A packet inbound() refused (e.g. to answer it with an ICMP error). */
        void (*inbound_refused)(void *userdata, FzdDpPeer *peer, uint64_t cookie, const uint8_t *packet,
                                size_t len);
} FzdDpCallbacks;

typedef struct FzdDataplaneConfig {
        /* The TUN (IFF_TUN|IFF_NO_PI, and IFF_VNET_HDR if tun_vnet_hdr), O_NONBLOCK; kept
         * by the caller. Offloads are probed and enabled on it here (TUNSETOFFLOAD). */
        int tun_fd;
        bool tun_vnet_hdr;
        /* UDP sockets from fzd_dp_udp_open() (or any bound, non-blocking UDP socket of that
         * family); -1 for a family not in use. Kept by the caller. */
        int udp4_fd, udp6_fd;
        uint8_t private_key[FZD_WG_KEY_LEN];
        FzdWgTimers timers; /* fzd_wg_timers_default(), then rekey_attempt_time = 20 s for Firezone */
        size_t mtu;         /* of the TUN: 1280 */
        FzdDpThreading threading;
        /* Test hooks: force the handshake "under load" state; disable offloads. */
        bool force_under_load;
        bool disable_offloads;
} FzdDataplaneConfig;

/* Creates the data plane and attaches its control side to `event` (required: an io source
 * on the queue's eventfd, a CLOCK_BOOTTIME timer for the WireGuard timers). Workers start
 * with fzd_dataplane_start(). */
int fzd_dataplane_new(sd_event *event, const FzdDataplaneConfig *config, const FzdDpCallbacks *callbacks,
                      void *userdata, FzdDataplane **ret);
int fzd_dataplane_start(FzdDataplane *dp);
/* Stops and joins the workers, removes every peer and route, detaches from the loop. */
FzdDataplane *fzd_dataplane_free(FzdDataplane *dp);
DEFINE_POINTER_CLEANUP_FUNC(FzdDataplane, fzd_dataplane_free);

const uint8_t *fzd_dataplane_public_key(const FzdDataplane *dp);
FzdWg *fzd_dataplane_wireguard(FzdDataplane *dp); /* for tests and stats; main loop only */

/* ---- peers (main loop) ----------------------------------------------------------------- */

/* Adds a WireGuard peer. roaming: learn the peer's endpoint from authenticated packets
 * (plain WireGuard); false when ICE owns the path. -EEXIST, -EINVAL as fzd_wg_peer_new(). */
int fzd_dataplane_peer_add(FzdDataplane *dp, const uint8_t public_key[FZD_WG_KEY_LEN],
                           const uint8_t psk[FZD_WG_KEY_LEN], bool roaming, void *userdata, FzdDpPeer **ret);
/* Removes the peer, its routes and sessions. The handle is invalid afterwards. */
void fzd_dataplane_peer_remove(FzdDataplane *dp, FzdDpPeer *peer);
FzdDpPeer *fzd_dataplane_peer_find(FzdDataplane *dp, const uint8_t public_key[FZD_WG_KEY_LEN]);
void *fzd_dp_peer_userdata(const FzdDpPeer *peer);
FzdWgPeer *fzd_dp_peer_wireguard(const FzdDpPeer *peer);
/* Sets (or with NULL clears) the path; takes effect for the next packet on any thread. */
int fzd_dataplane_peer_set_path(FzdDataplane *dp, FzdDpPeer *peer, const FzdDpPath *path);
bool fzd_dataplane_peer_get_path(FzdDataplane *dp, FzdDpPeer *peer, FzdDpPath *ret);
/* Starts a handshake now (e.g. once ICE nominated a pair). */
void fzd_dataplane_peer_initiate(FzdDataplane *dp, FzdDpPeer *peer);
/* The peer has a new path: a handshake that went nowhere is resent now (fzd_wg_peer_path_ready). */
void fzd_dataplane_peer_path_ready(FzdDataplane *dp, FzdDpPeer *peer);
/* Sends a packet to the peer from the main loop: at once if it has a session, else
 * staged (128 at most) while a handshake runs. Returns 1 sent, 0 staged, < 0 error. */
int fzd_dataplane_peer_send(FzdDataplane *dp, FzdDpPeer *peer, const uint8_t *packet, size_t len);
/* The peer's WireGuard counters (atomics: safe while the workers run). */
void fzd_dataplane_peer_get_stats(FzdDataplane *dp, FzdDpPeer *peer, FzdWgPeerStats *ret);

/* ---- routes (main loop) ------------------------------------------------------------------ */

/* Packets to addr/prefixlen go to peer (longest prefix wins); cookie is handed to the
 * filter and packet callbacks. Adding an existing prefix replaces it. Packets from the
 * peer are accepted only from addresses that route back to it (WireGuard's cryptokey
 * routing). */
int fzd_dataplane_route_add(FzdDataplane *dp, int family, const void *addr, unsigned prefixlen, FzdDpPeer *peer,
                            uint64_t cookie);
int fzd_dataplane_route_remove(FzdDataplane *dp, int family, const void *addr, unsigned prefixlen);

/* ---- relays (main loop) ------------------------------------------------------------------ */

/* Datagrams from a relay's address are TURN (first byte 0–3) or ChannelData (64–79). */
int fzd_dataplane_relay_add(FzdDataplane *dp, const FzdDpAddr *relay);
int fzd_dataplane_relay_remove(FzdDataplane *dp, const FzdDpAddr *relay);
/* ChannelData on a bound channel is unwrapped by the fast path; on others it goes to the
 * datagram callback. The relay must have been added. */
int fzd_dataplane_channel_bind(FzdDataplane *dp, const FzdDpAddr *relay, uint16_t channel, bool bound);

/* ---- control-side I/O (main loop) -------------------------------------------------------- */

/* Sends one datagram on the socket of `family` (STUN, TURN, ICE). -EAGAIN if the socket's
 * buffer is full (dropped). */
int fzd_dataplane_send_datagram(FzdDataplane *dp, int family, const FzdDpAddr *to, const uint8_t *data, size_t len);
/* The same from a given local address (IP_PKTINFO / IPV6_PKTINFO; port ignored), as ICE asks
 * for its host candidates on multi-homed hosts; from NULL or an unspecified address: the
 * kernel's choice. */
int fzd_dataplane_send_datagram_from(FzdDataplane *dp, int family, const FzdDpAddr *from,
                                     const FzdDpAddr *to, const uint8_t *data, size_t len);
/* Writes one IP packet into the TUN (e.g. an ICMP error for a filtered packet). */
int fzd_dataplane_write_tun(FzdDataplane *dp, const uint8_t *packet, size_t len);
/* A WireGuard datagram that reached the main loop another way — unwrapped from a relay by
 * ICE before the channel was bound here — handled as if a socket had delivered it:
 * handshake messages by the state machine, transport data decrypted, checked against the
 * routes and written into the TUN (or to p2p_control). `from`/`channel` are where it came
 * from (the relay and channel when relayed). Returns 0, or a negative errno if dropped. */
int fzd_dataplane_input(FzdDataplane *dp, int family, const FzdDpAddr *from, uint16_t channel, const uint8_t *data,
                        size_t len);

/* Firezone's in-tunnel control packet: IPv6 from :: to ::, next header 0xFF, hop limit 0. */
bool fzd_dp_is_p2p_control(const uint8_t *packet, size_t len);

/* The data plane's clock (CLOCK_BOOTTIME, ns): the `now` of the WireGuard core. */
uint64_t fzd_dp_now(void);

/* ---- statistics -------------------------------------------------------------------------- */

typedef struct FzdDpStats {
        uint64_t tun_reads, tun_packets;     /* reads, and packets after splitting */
        uint64_t udp_sends, udp_datagrams;   /* sendmmsg calls, datagrams sent */
        uint64_t udp_recvs, udp_rx_datagrams; /* recvmmsg calls, datagrams (GRO segments) received */
        uint64_t tun_writes, tun_rx_packets; /* TUN writes, packets they carried */
        uint64_t tun_tx_bytes, tun_rx_bytes; /* plaintext bytes sent to peers, written to the TUN */
        uint64_t decrypt_failed, replayed, stale, unknown_index, not_allowed, malformed;
        uint64_t no_route, no_session, filtered, queue_overflow, send_errors;
        uint64_t inbound_refused;            /* decrypted packets the inbound callback refused */
        uint64_t control_items;              /* items the main loop handled */
        uint64_t handshakes_under_load;      /* handshake messages seen while under load */
        unsigned tun_offloads;               /* TUN_F_* enabled */
        bool udp_gso, udp_gro;
} FzdDpStats;
void fzd_dataplane_get_stats(FzdDataplane *dp, FzdDpStats *ret);
