#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Probes for the test world's own tests: what a NAT maps a UDP socket to, and whether a TURN
relay grants an allocation. Run inside a namespace with `ip netns exec`; every mode prints
JSON on stdout.

  stunprobe.py whoami --bind IP --port P [--port P ...]
        UDP servers that answer every datagram with the sender's address as JSON
        {"ip": …, "port": …}; print {"ready": true} once bound. Stop with SIGTERM.
  stunprobe.py ask --port LOCAL HOST:PORT [HOST:PORT ...]
        from one socket bound to LOCAL, ask each server; print [{"server", "ip", "port"}, …]
  stunprobe.py allocate --server HOST:PORT --username U --password P [--bind IP] [--relay-family 6]
        a TURN Allocate with long-term credentials (RFC 8656: 401 with realm and nonce,
        then the authenticated request); print {"ok": true, "relayed": [ip, port],
        "mapped": [ip, port], "lifetime": s, "realm": …} or {"ok": false, "error": code,
        "reason": …}. The allocation is released (Refresh, lifetime 0) before exit.
  stunprobe.py binding --server HOST:PORT
        a STUN Binding request; print {"mapped": [ip, port]}
  stunprobe.py blast --count N HOST:PORT
        send N small datagrams as fast as possible (for the loss knob's counters); print
        {"sent": N}

The STUN code is the minimum these probes need (RFC 8489 §5–§14): it is a test tool, not the
client's implementation, which lives in daemon/ice.
"""

import argparse
import hashlib
import hmac
import ipaddress
import json
import os
import select
import signal
import socket
import struct
import sys
import time

MAGIC = 0x2112A442
BINDING, ALLOCATE, REFRESH = 0x001, 0x003, 0x004
SUCCESS, ERROR = 0x100, 0x110
A_MAPPED, A_USERNAME, A_INTEGRITY, A_ERROR, A_LIFETIME, A_XOR_PEER = 0x0001, 0x0006, 0x0008, 0x0009, 0x000D, 0x0012
A_REALM, A_NONCE, A_XOR_RELAYED, A_FAMILY, A_TRANSPORT, A_XOR_MAPPED = 0x0014, 0x0015, 0x0016, 0x0017, 0x0019, 0x0020


def split_hostport(s):
    host, _, port = s.rpartition(':')
    return host.strip('[]'), int(port)


def family_of(ip):
    return socket.AF_INET6 if ipaddress.ip_address(ip).version == 6 else socket.AF_INET


def attr(kind, value):
    pad = (4 - len(value) % 4) % 4
    return struct.pack('!HH', kind, len(value)) + value + b'\0' * pad


def message(method, txid, attrs, key=None):
    body = b''.join(attrs)
    if key is not None:
        # MESSAGE-INTEGRITY covers the header with a length that already counts it (§14.5).
        head = struct.pack('!HHI', method, len(body) + 24, MAGIC) + txid
        mac = hmac.new(key, head + body, hashlib.sha1).digest()
        body += attr(A_INTEGRITY, mac)
    return struct.pack('!HHI', method, len(body), MAGIC) + txid + body


def parse(data):
    if len(data) < 20:
        return None
    mtype, length, cookie = struct.unpack('!HHI', data[:8])
    if cookie != MAGIC or len(data) < 20 + length:
        return None
    attrs, off = {}, 20
    while off + 4 <= 20 + length:
        kind, alen = struct.unpack('!HH', data[off:off + 4])
        attrs.setdefault(kind, data[off + 4:off + 4 + alen])
        off += 4 + alen + (4 - alen % 4) % 4
    return mtype, data[8:20], attrs


def xor_address(value, txid):
    fam, xport = struct.unpack('!xBH', value[:4])
    port = xport ^ (MAGIC >> 16)
    if fam == 1:
        ip = bytes(a ^ b for a, b in zip(value[4:8], struct.pack('!I', MAGIC)))
        return [str(ipaddress.IPv4Address(ip)), port]
    ip = bytes(a ^ b for a, b in zip(value[4:20], struct.pack('!I', MAGIC) + txid))
    return [str(ipaddress.IPv6Address(ip)), port]


def transact(sock, server, build, timeout=5.0):
    """Send a request (built fresh by build(txid)) with RFC 8489 retransmissions (RTO 500 ms,
    doubling) until its response arrives; returns (type, attrs) or None after `timeout`."""
    txid = os.urandom(12)
    data = build(txid)
    deadline = time.monotonic() + timeout
    rto = 0.5
    sock.sendto(data, server)
    next_send = time.monotonic() + rto
    while True:
        now = time.monotonic()
        if now >= deadline:
            return None
        r, _, _ = select.select([sock], [], [], min(next_send, deadline) - now)
        if r:
            reply, _ = sock.recvfrom(65535)
            m = parse(reply)
            if m and m[1] == txid:
                return m[0], m[2], txid
        elif time.monotonic() >= next_send:
            rto *= 2
            next_send = time.monotonic() + rto
            sock.sendto(data, server)


def error_of(attrs):
    v = attrs.get(A_ERROR, b'\0\0\0\0')
    return (v[2] & 7) * 100 + v[3], v[4:].decode('utf-8', 'replace')


def allocate(server, username, password, bind=None, relay_family=None, timeout=5.0):
    """relay_family 6 asks for an IPv6 relayed address (REQUESTED-ADDRESS-FAMILY): without
    it a TURN server allocates IPv4 whatever the transport (RFC 8656 §7.1)."""
    host, port = split_hostport(server)
    sock = socket.socket(family_of(host), socket.SOCK_DGRAM)
    sock.bind((bind or ('::' if ':' in host else '0.0.0.0'), 0))
    dest = (host, port)
    transport = [attr(A_TRANSPORT, bytes([17, 0, 0, 0]))]
    if relay_family == 6:
        transport.append(attr(A_FAMILY, bytes([2, 0, 0, 0])))
    r = transact(sock, dest, lambda t: message(ALLOCATE, t, transport), timeout)
    if r is None:
        return {'ok': False, 'error': 'timeout'}
    mtype, attrs, _ = r
    if mtype != ALLOCATE | ERROR or error_of(attrs)[0] != 401:
        return {'ok': False, 'error': 'expected a 401 challenge', 'type': mtype}
    realm, nonce = attrs.get(A_REALM, b''), attrs.get(A_NONCE, b'')
    key = hashlib.md5(f'{username}:{realm.decode()}:{password}'.encode()).digest()
    auth = [attr(A_USERNAME, username.encode()), attr(A_REALM, realm), attr(A_NONCE, nonce)]
    r = transact(sock, dest, lambda t: message(ALLOCATE, t, [*transport, *auth], key), timeout)
    if r is None:
        return {'ok': False, 'error': 'timeout', 'realm': realm.decode()}
    mtype, attrs, txid = r
    if mtype != ALLOCATE | SUCCESS:
        code, reason = error_of(attrs)
        return {'ok': False, 'error': code, 'reason': reason, 'realm': realm.decode()}
    out = {'ok': True, 'realm': realm.decode(), 'relayed': xor_address(attrs[A_XOR_RELAYED], txid),
           'mapped': xor_address(attrs[A_XOR_MAPPED], txid),
           'lifetime': struct.unpack('!I', attrs[A_LIFETIME])[0] if A_LIFETIME in attrs else None}
    # Release it: Refresh with lifetime 0 (§7.2).
    transact(sock, dest, lambda t: message(REFRESH, t, [attr(A_LIFETIME, struct.pack('!I', 0)), *auth], key),
             timeout)
    sock.close()
    return out


def binding(server, timeout=5.0):
    host, port = split_hostport(server)
    sock = socket.socket(family_of(host), socket.SOCK_DGRAM)
    r = transact(sock, (host, port), lambda t: message(BINDING, t, []), timeout)
    sock.close()
    if r is None or r[0] != BINDING | SUCCESS:
        return {'error': 'no answer' if r is None else f'type {r[0]:#x}'}
    return {'mapped': xor_address(r[1][A_XOR_MAPPED], r[2])}


def whoami(bind, ports):
    socks = []
    for p in ports:
        s = socket.socket(family_of(bind), socket.SOCK_DGRAM)
        s.bind((bind, p))
        socks.append(s)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    print(json.dumps({'ready': True, 'ports': ports}), flush=True)
    while True:
        r, _, _ = select.select(socks, [], [])
        for s in r:
            data, addr = s.recvfrom(2048)
            s.sendto(json.dumps({'ip': addr[0], 'port': addr[1], 'probe': data.decode('ascii', 'replace')}).encode(),
                     addr)


def ask(local_port, servers, timeout=5.0):
    fam = family_of(split_hostport(servers[0])[0])
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind(('::' if fam == socket.AF_INET6 else '0.0.0.0', local_port))
    out = []
    for server in servers:
        dest = split_hostport(server)
        tag = os.urandom(6).hex()
        deadline = time.monotonic() + timeout
        s.sendto(tag.encode(), dest)
        answer = None
        while answer is None and time.monotonic() < deadline:
            r, _, _ = select.select([s], [], [], min(0.5, deadline - time.monotonic()))
            if not r:
                s.sendto(tag.encode(), dest)  # UDP: ask again (the loss knob may be on)
                continue
            data, _ = s.recvfrom(2048)
            reply = json.loads(data)
            if reply.get('probe') == tag:
                answer = reply
        out.append({'server': server, **({'ip': answer['ip'], 'port': answer['port']} if answer else
                                         {'error': 'no answer'})})
    return out


def blast(server, count):
    host, port = split_hostport(server)
    s = socket.socket(family_of(host), socket.SOCK_DGRAM)
    for i in range(count):
        s.sendto(b'blast %d' % i, (host, port))  # unconnected: ICMP errors are not reported
    return {'sent': count}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='mode', required=True)
    w = sub.add_parser('whoami')
    w.add_argument('--bind', required=True)
    w.add_argument('--port', type=int, action='append', required=True)
    a = sub.add_parser('ask')
    a.add_argument('--port', type=int, default=0)
    a.add_argument('servers', nargs='+')
    t = sub.add_parser('allocate')
    t.add_argument('--server', required=True)
    t.add_argument('--username', required=True)
    t.add_argument('--password', required=True)
    t.add_argument('--bind')
    t.add_argument('--relay-family', type=int, choices=(4, 6))
    b = sub.add_parser('binding')
    b.add_argument('--server', required=True)
    x = sub.add_parser('blast')
    x.add_argument('--count', type=int, required=True)
    x.add_argument('server')
    args = ap.parse_args()
    if args.mode == 'whoami':
        whoami(args.bind, args.port)
    elif args.mode == 'ask':
        print(json.dumps(ask(args.port, args.servers)))
    elif args.mode == 'allocate':
        print(json.dumps(allocate(args.server, args.username, args.password, args.bind, args.relay_family)))
    elif args.mode == 'blast':
        print(json.dumps(blast(args.server, args.count)))
    else:
        print(json.dumps(binding(args.server)))


if __name__ == '__main__':
    main()
