#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A UDP middlebox for the WireGuard tests: forwards between two fixed endpoints and
injects what an attacker on the path could: every transport-data packet is followed by
a replayed copy and a copy with one bit flipped in its ciphertext; every handshake
initiation is sent twice.

  udp-mangler.py DOWN_BIND DOWN_PEER UP_BIND UP_PEER
      DOWN_BIND (ip:port) faces DOWN_PEER (the engine under test), UP_BIND faces UP_PEER.

Prints {"ready": true} once bound; on SIGTERM prints what it injected towards each side:
{"to_down": {"replayed": n, "flipped": n, "initiations_replayed": n}, "to_up": {…}}."""

import json
import select
import signal
import socket
import sys


def addr(s):
    host, port = s.rsplit(':', 1)
    return host.strip('[]'), int(port)


def main():
    down_bind, down_peer, up_bind, up_peer = map(addr, sys.argv[1:5])
    down = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    down.bind(down_bind)
    up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    up.bind(up_bind)
    counts = {'to_down': {'replayed': 0, 'flipped': 0, 'initiations_replayed': 0, 'forwarded': 0},
              'to_up': {'replayed': 0, 'flipped': 0, 'initiations_replayed': 0, 'forwarded': 0}}
    done = []
    signal.signal(signal.SIGTERM, lambda *a: done.append(True))
    print(json.dumps({'ready': True}), flush=True)

    while not done:
        try:
            r, _, _ = select.select([down, up], [], [], 0.5)
        except InterruptedError:
            continue
        for s in r:
            data = s.recv(65536)
            out, to, c = (up, up_peer, counts['to_up']) if s is down else (down, down_peer, counts['to_down'])
            out.sendto(data, to)
            c['forwarded'] += 1
            if len(data) >= 32 and data[:4] == b'\x04\x00\x00\x00':
                out.sendto(data, to)
                c['replayed'] += 1
                flipped = bytearray(data)
                flipped[20] ^= 0x10
                out.sendto(bytes(flipped), to)
                c['flipped'] += 1
            elif len(data) == 148 and data[:4] == b'\x01\x00\x00\x00':
                out.sendto(data, to)
                c['initiations_replayed'] += 1
    print(json.dumps(counts), flush=True)


if __name__ == '__main__':
    main()
