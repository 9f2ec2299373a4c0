#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A TCP transfer with a checksum, for the WireGuard tests and benchmarks.

  tcp-blob.py server ADDR PORT          accept one connection, read to EOF
  tcp-blob.py client ADDR PORT BYTES [SECONDS]
                                        send BYTES of random data (spread over SECONDS if given)

The server prints {"listening": true} once it listens; both print
{"bytes": N, "sha256": "…", "seconds": S} when done."""

import hashlib
import json
import os
import socket
import sys
import time


def family_of(addr):
    return socket.AF_INET6 if ':' in addr else socket.AF_INET


def server(addr, port):
    s = socket.socket(family_of(addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(1)
    print(json.dumps({'listening': True}), flush=True)
    c, _ = s.accept()
    h = hashlib.sha256()
    n = 0
    start = time.monotonic()
    while True:
        b = c.recv(1 << 20)
        if not b:
            break
        h.update(b)
        n += len(b)
    print(json.dumps({'bytes': n, 'sha256': h.hexdigest(), 'seconds': time.monotonic() - start}), flush=True)


def client(addr, port, total, seconds):
    c = socket.create_connection((addr, port), timeout=60)
    h = hashlib.sha256()
    sent = 0
    start = time.monotonic()
    while sent < total:
        chunk = os.urandom(min(1 << 18, total - sent))
        h.update(chunk)
        c.sendall(chunk)
        sent += len(chunk)
        if seconds:
            # Pace the transfer so that it spans the given time (rekey tests).
            ahead = sent / total * seconds - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
    c.shutdown(socket.SHUT_WR)
    c.recv(1)  # the server closes once it has read everything
    print(json.dumps({'bytes': sent, 'sha256': h.hexdigest(), 'seconds': time.monotonic() - start}), flush=True)


if __name__ == '__main__':
    if sys.argv[1] == 'server':
        server(sys.argv[2], int(sys.argv[3]))
    else:
        client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]) if len(sys.argv) > 5 else 0)
