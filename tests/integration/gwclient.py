#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A scripted Firezone client for testing the test gateway's data plane (fzgw-dataplane) on
its own, independent of the daemon and of the engine the data plane is built on: the portal
side and ICE are worldpeer.py's (tests/gateway/phoenix.py, python3-aioice, controlling), the
WireGuard initiator is written here from the whitepaper (Noise IKpsk2 on python3-cryptography
and hashlib), and a TUN in its namespace carries real traffic (curl, sockets) through it.

It speaks worldpeer.py's orders (connect, push, call, ice_start, ice_remote, ice_connect, …)
with its own WireGuard public key in `connect`, and these:
  {"op": "tunnel", "name", "ipv4", "ipv6"?, "routes": [cidr…]}   a TUN with these addresses
                                       and routes, packets from it go through WireGuard
  {"op": "wg_start", "public_key", "preshared_key"}  handshake over the nominated ICE pair;
                                       {"event": "wg_connected", "elapsed_ms"} once it is up
  {"op": "p2p_send", "event", "body"?}  Firezone's in-tunnel control packet (body: JSON)
  {"op": "wg_stats"}                   {"event": "wg_stats", "tx_packets", "rx_packets", …}
and worldpeer's ice_start takes "turn": false (STUN from the relay, no relayed candidate).
Events besides worldpeer's: {"event": "p2p", "type", "body"} for each control packet from the
gateway, {"event": "icmp", "src", "dst", "type", "code", "quoted_dst"} for each ICMP error it
sends (written to the TUN as well).
"""

import asyncio
import base64
import fcntl
import hashlib
import hmac
import ipaddress
import json
import os
import struct
import subprocess
import sys
import time

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import aioice  # noqa: E402
import iceagent  # noqa: E402
import worldpeer  # noqa: E402
from worldpeer import emit  # noqa: E402

CONSTRUCTION = b'Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s'
IDENTIFIER = b'WireGuard v1 zx2c4 Jason@zx2c4.com'
LABEL_MAC1 = b'mac1----'
TUNSETIFF = 0x400454ca
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000


# ---- WireGuard (the initiator's half) -------------------------------------------------------
def blake2s(*parts):
    h = hashlib.blake2s()
    for p in parts:
        h.update(p)
    return h.digest()


def hmac_blake2s(key, data):
    return hmac.new(key, data, hashlib.blake2s).digest()


def kdf(key, data, n):
    t0 = hmac_blake2s(key, data)
    out, t = [], b''
    for i in range(1, n + 1):
        t = hmac_blake2s(t0, t + bytes([i]))
        out.append(t)
    return out


def nonce(counter):
    return b'\0' * 4 + counter.to_bytes(8, 'little')


def raw_public(key):
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def tai64n():
    now = time.time()
    return struct.pack('>QI', 0x400000000000000a + int(now), int((now % 1) * 1e9))


class WireGuard:
    """One session with one responder: initiation, response, transport data."""

    def __init__(self, static, peer_public, psk):
        self.static, self.peer_public, self.psk = static, peer_public, psk
        self.send_key = self.recv_key = None
        self.send_counter = 0
        self.tx_packets = self.rx_packets = self.rx_dropped = 0

    def initiation(self):
        c = blake2s(CONSTRUCTION)
        h = blake2s(c, IDENTIFIER)
        h = blake2s(h, self.peer_public)
        self.ephemeral = X25519PrivateKey.generate()
        epub = raw_public(self.ephemeral)
        c, = kdf(c, epub, 1)
        h = blake2s(h, epub)
        c, k = kdf(c, self.ephemeral.exchange(X25519PublicKey.from_public_bytes(self.peer_public)), 2)
        static = ChaCha20Poly1305(k).encrypt(nonce(0), raw_public(self.static), h)
        h = blake2s(h, static)
        c, k = kdf(c, self.static.exchange(X25519PublicKey.from_public_bytes(self.peer_public)), 2)
        timestamp = ChaCha20Poly1305(k).encrypt(nonce(0), tai64n(), h)
        h = blake2s(h, timestamp)
        self.c, self.h = c, h
        self.index = os.urandom(4)
        msg = struct.pack('<I', 1) + self.index + epub + static + timestamp
        mac1 = hashlib.blake2s(msg, key=blake2s(LABEL_MAC1, self.peer_public), digest_size=16).digest()
        return msg + mac1 + b'\0' * 16

    def response(self, msg):
        """True once the response checks out and the session keys exist."""
        if len(msg) != 92 or msg[:4] != struct.pack('<I', 2) or msg[8:12] != self.index:
            return False
        er = msg[12:44]
        c, = kdf(self.c, er, 1)
        h = blake2s(self.h, er)
        c, = kdf(c, self.ephemeral.exchange(X25519PublicKey.from_public_bytes(er)), 1)
        c, = kdf(c, self.static.exchange(X25519PublicKey.from_public_bytes(er)), 1)
        c, tau, k = kdf(c, self.psk, 3)
        h = blake2s(h, tau)
        ChaCha20Poly1305(k).decrypt(nonce(0), msg[44:60], h)  # raises if the keys do not match
        send, recv = kdf(c, b'', 2)
        self.send_key, self.recv_key = ChaCha20Poly1305(send), ChaCha20Poly1305(recv)
        self.remote_index = msg[4:8]
        return True

    def seal(self, packet):
        padded = packet + b'\0' * (-len(packet) % 16)
        counter = self.send_counter
        self.send_counter += 1
        self.tx_packets += 1
        return (struct.pack('<I', 4) + self.remote_index + counter.to_bytes(8, 'little') +
                self.send_key.encrypt(nonce(counter), padded, b''))

    def open(self, msg):
        """The IP packet in a transport message (padding cut), b'' for a keepalive, or None."""
        if self.recv_key is None or len(msg) < 32 or msg[:4] != struct.pack('<I', 4) or msg[4:8] != self.index:
            return None
        try:
            plain = self.recv_key.decrypt(nonce(int.from_bytes(msg[8:16], 'little')), msg[16:], b'')
        except Exception:
            self.rx_dropped += 1
            return None
        self.rx_packets += 1
        if not plain:
            return b''
        if plain[0] >> 4 == 4:
            return plain[:struct.unpack('>H', plain[2:4])[0]]
        if plain[0] >> 4 == 6:
            return plain[:40 + struct.unpack('>H', plain[4:6])[0]]
        return None


# ---- packets ----------------------------------------------------------------------------------
def p2p_packet(event, body=b''):
    payload = bytes([event]) + b'\0' * 7 + body
    return (bytes([0x60, 0, 0, 0]) + struct.pack('>H', len(payload)) + bytes([0xff, 0]) + b'\0' * 32 + payload)


def p2p_parse(packet):
    if len(packet) >= 48 and packet[0] >> 4 == 6 and packet[6] == 0xff and packet[8:40] == b'\0' * 32:
        return packet[40], packet[48:]
    return None


def icmp_error(packet):
    """(src, dst, type, code, quoted dst) of an ICMP/ICMPv6 error, else None."""
    if packet[0] >> 4 == 4 and len(packet) >= 48 and packet[9] == 1 and packet[20] in (3, 11, 12):
        off = (packet[0] & 15) * 4
        return (str(ipaddress.IPv4Address(packet[12:16])), str(ipaddress.IPv4Address(packet[16:20])),
                packet[off], packet[off + 1], str(ipaddress.IPv4Address(packet[off + 8 + 16:off + 8 + 20])))
    if packet[0] >> 4 == 6 and len(packet) >= 88 and packet[6] == 58 and packet[40] < 128:
        return (str(ipaddress.IPv6Address(packet[8:24])), str(ipaddress.IPv6Address(packet[24:40])),
                packet[40], packet[41], str(ipaddress.IPv6Address(packet[48 + 24:48 + 40])))
    return None


# ---- the client -------------------------------------------------------------------------------
class Client(worldpeer.Peer):
    def __init__(self):
        super().__init__()
        self.static = X25519PrivateKey.generate()
        self.wg = None
        self.tun = None
        self.receiver = None
        self.connected = None

    def public_key(self):
        return base64.b64encode(raw_public(self.static)).decode()

    def tunnel(self, o):
        name = o['name']
        self.tun = os.open('/dev/net/tun', os.O_RDWR | os.O_NONBLOCK)
        fcntl.ioctl(self.tun, TUNSETIFF, struct.pack('16sH', name.encode(), IFF_TUN | IFF_NO_PI))
        cmds = [f'link set {name} mtu 1280 up', f'address add {o["ipv4"]}/32 dev {name}']
        if o.get('ipv6'):
            cmds.append(f'address add {o["ipv6"]}/128 dev {name} nodad')
        cmds += [f'route add {r} dev {name}' for r in o.get('routes', [])]
        subprocess.run(['ip', '-batch', '-'], input='\n'.join(cmds) + '\n', text=True, check=True)
        asyncio.get_running_loop().add_reader(self.tun, self.from_tun)

    def from_tun(self):
        while True:
            try:
                packet = os.read(self.tun, 65536)
            except BlockingIOError:
                return
            if self.wg and self.wg.send_key:
                self.send(self.wg.seal(packet))

    def send(self, datagram):
        asyncio.ensure_future(self.agent.send(datagram))

    async def receive(self):
        while True:
            try:
                data = await self.agent.conn.recv()
            except ConnectionError:
                return
            if not data:
                continue
            if data[0] == 2 and not self.wg.send_key:
                if self.wg.response(data):
                    self.send(self.wg.seal(b''))  # the initiator confirms the session first
                    self.connected.set_result(True)
                continue
            packet = self.wg.open(data)
            if not packet:
                continue
            control = p2p_parse(packet)
            if control:
                body = control[1]
                emit(event='p2p', type=control[0], body=json.loads(body) if body else None)
                continue
            err = icmp_error(packet)
            if err:
                emit(event='icmp', src=err[0], dst=err[1], type=err[2], code=err[3], quoted_dst=err[4])
            if self.tun is not None:
                try:
                    os.write(self.tun, packet)
                except OSError:
                    pass

    async def wg_start(self, o):
        start = time.monotonic()
        self.wg = WireGuard(self.static, base64.b64decode(o['public_key']), base64.b64decode(o['preshared_key']))
        self.connected = asyncio.get_running_loop().create_future()
        if self.receiver is None:
            self.receiver = asyncio.ensure_future(self.receive())
        for _ in range(4):  # WireGuard retries after REKEY_TIMEOUT (5 s)
            self.send(self.wg.initiation())
            try:
                await asyncio.wait_for(asyncio.shield(self.connected), 5)
                break
            except asyncio.TimeoutError:
                continue
        if not self.connected.done():
            raise TimeoutError('no handshake response from the gateway')
        emit(event='wg_connected', elapsed_ms=(time.monotonic() - start) * 1000)

    async def ice_start_without_turn(self, o):
        self.agent = iceagent.Agent(o['controlling'], o['local'], o['remote'], o.get('relays', []))
        if self.agent.turn:
            self.agent.conn = aioice.Connection(ice_controlling=o['controlling'], use_ipv6=True,
                                                stun_server=iceagent.split_addr(self.agent.turn['addr']))
            c = self.agent.conn
            c.local_username, c.local_password = o['local']['username'], o['local']['password']
            c.remote_username, c.remote_password = o['remote']['username'], o['remote']['password']
        emit(event='local_candidates', candidates=await self.agent.gather())

    async def order(self, o):
        op = o['op']
        if op == 'connect':
            o = dict(o, params=dict(o['params'], public_key=self.public_key()))
        elif op == 'ice_start' and o.get('turn') is False:
            return await self.ice_start_without_turn(o)
        elif op == 'tunnel':
            return self.tunnel(o)
        elif op == 'wg_start':
            return await self.wg_start(o)
        elif op == 'p2p_send':
            body = json.dumps(o['body'], separators=(',', ':')).encode() if o.get('body') is not None else b''
            return self.send(self.wg.seal(p2p_packet(int(o['event']), body)))
        elif op == 'wg_stats':
            return emit(event='wg_stats', tx_packets=self.wg.tx_packets, rx_packets=self.wg.rx_packets,
                        rx_dropped=self.wg.rx_dropped)
        return await super().order(o)


async def main():
    if os.environ.get('FZ_AIOICE_DEBUG'):
        # aioice only: websockets' debug log would show the X-Authorization header.
        import logging
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
        logging.getLogger('aioice').setLevel(logging.DEBUG)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    client = Client()
    emit(event='ready', public_key=client.public_key())
    while True:
        line = await reader.readline()
        if not line:
            break
        o = json.loads(line)
        try:
            await client.order(o)
            emit(event='ok', op=o.get('op'))
        except Exception as e:  # report and keep going: the test decides
            emit(event='error', op=o.get('op'), message=f'{type(e).__name__}: {e}')
    if client.agent:
        await client.agent.close()


if __name__ == '__main__':
    asyncio.run(main())
