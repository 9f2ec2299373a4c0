# SPDX-License-Identifier: Apache-2.0
"""Bed helpers for DNS control: the real systemd-resolved (unpacked by fetch-resolved into
the build dir, never installed), and fzd-dns-tool, which drives daemon/dns like the daemon.

resolved runs inside the bed: its user is created in the bed's /etc overlay, its bus
policy is added to the bed's bus (which reloads before we go on), and its runtime dir
lives in the bed's private /run. Readiness is its name appearing on the bus.
"""

import json
import os
import select
import subprocess
import time

import fzbed

RESOLVED_ROOT = os.path.join(fzbed.BUILD_ROOT, 'tests', 'integration', 'systemd-resolved')
RESOLVED_NAME = 'org.freedesktop.resolve1'
RESOLVED_PATH = '/org/freedesktop/resolve1'
MANAGER = 'org.freedesktop.resolve1.Manager'
LINK = 'org.freedesktop.resolve1.Link'
TOOL = os.path.join(fzbed.BUILD_ROOT, 'tests', 'tools', 'fzd-dns-tool')
STATE_DIR = '/var/lib/dev.firezone.client'
BACKUP = os.path.join(STATE_DIR, 'resolv.conf.backup')
STUB = '/run/systemd/resolve/stub-resolv.conf'


def resolvectl(*args, check=True, timeout=20):
    r = subprocess.run([os.path.join(RESOLVED_ROOT, 'usr', 'bin', 'resolvectl'), *args], capture_output=True,
                       text=True, timeout=timeout, env=fzbed.BED.env())
    if check and r.returncode != 0:
        raise fzbed.BedError(f'resolvectl {" ".join(args)} failed ({r.returncode}): {r.stdout}{r.stderr}')
    return r


class Resolved:
    """The real systemd-resolved on the bed's bus."""

    def __init__(self, bed):
        self.bed = bed
        self.proc = None
        binary = os.path.join(RESOLVED_ROOT, 'lib', 'systemd', 'systemd-resolved')
        if not os.access(binary, os.X_OK):
            raise fzbed.BedError(f'{binary} is missing: build the systemd-resolved-tree target '
                                 '(meson test does; it needs apt lists, see fetch-resolved)')
        self.binary = binary

    def prepare(self):
        """User and bus policy: once per bed."""
        subprocess.run(['systemd-sysusers',
                        os.path.join(RESOLVED_ROOT, 'usr', 'lib', 'sysusers.d', 'systemd-resolve.conf')],
                       check=True, capture_output=True)
        self.bed.add_bus_policy(os.path.join(RESOLVED_ROOT, 'usr', 'share', 'dbus-1', 'system.d',
                                             'org.freedesktop.resolve1.conf'))
        os.makedirs('/run/systemd', exist_ok=True)

    def start(self):
        self.proc = self.bed._spawn('systemd-resolved', [self.binary],
                                    env=self.bed.env(SYSTEMD_LOG_LEVEL='debug'))
        self.bed.wait_for_name(RESOLVED_NAME, self.proc)
        return self

    def stop(self):
        if self.proc:
            self.proc.stop()
            self.bed.wait_for_name_gone(RESOLVED_NAME)
            self.proc = None

    # ---- reading resolved's state over D-Bus ----------------------------------------

    def _call(self, path, iface, method, args=None, sig=None):
        from gi.repository import Gio, GLib
        v = GLib.Variant(sig, args) if sig else None
        return self.bed.connection().call_sync(RESOLVED_NAME, path, iface, method, v, None, Gio.DBusCallFlags.NONE,
                                               10000, None).unpack()

    def link_path(self, ifindex):
        return self._call(RESOLVED_PATH, MANAGER, 'GetLink', (ifindex,), '(i)')[0]

    def link_property(self, ifindex, name):
        return self._call(self.link_path(ifindex), 'org.freedesktop.DBus.Properties', 'Get', (LINK, name), '(ss)')[0]

    def manager_property(self, name):
        return self._call(RESOLVED_PATH, 'org.freedesktop.DBus.Properties', 'Get', (MANAGER, name), '(ss)')[0]


class DnsToolSession:
    """A `fzd-dns-tool session`: JSON orders in, one reply line each out, and "event"
    lines whenever the watched resolvers change."""

    def __init__(self, bed, *options):
        self.bed = bed
        n = sum(1 for p in bed.processes if p.name.startswith('dns-tool'))
        argv = [TOOL, *options, 'session']
        self.p = fzbed.Process(f'dns-tool-{n}', argv, os.path.join(bed.dir, f'dns-tool-{n}.log'), bed.env(), pipes=True)
        bed.processes.append(self.p)
        self.fd = self.p.proc.stdout.fileno()
        self.buf = b''
        self.events = []
        ready = self._read_line(20)
        if ready != {'ready': True}:
            raise fzbed.BedError(f'fzd-dns-tool did not start: {ready}\n{self.p.output()}')

    def _read_line(self, timeout):
        deadline = time.monotonic() + timeout
        while b'\n' not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise fzbed.BedError(f'timed out waiting for fzd-dns-tool:\n{self.p.output()}')
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    raise fzbed.BedError(f'fzd-dns-tool exited (code {self.p.proc.wait()}):\n{self.p.output()}')
                self.buf += chunk
        line, self.buf = self.buf.split(b'\n', 1)
        return json.loads(line)

    def send(self, **order):
        self.p.proc.stdin.write((json.dumps(order) + '\n').encode())
        self.p.proc.stdin.flush()

    def receive(self, timeout=20):
        """The next reply; events that come first are kept in self.events."""
        while True:
            msg = self._read_line(timeout)
            if 'event' in msg:
                self.events.append(msg)
                continue
            return msg

    def request(self, timeout=20, **order):
        self.send(**order)
        return self.receive(timeout)

    def wait_event(self, timeout=20):
        if self.events:
            return self.events.pop(0)
        msg = self._read_line(timeout)
        if 'event' not in msg:
            raise fzbed.BedError(f'expected an event, got {msg}')
        return msg

    def close(self):
        """End of orders: the tool reverts (blocking) and exits, like the daemon's exit path."""
        self.p.proc.stdin.close()
        return self.p.proc.wait(timeout=20)

    def kill(self):
        """A crash: SIGKILL, nothing cleaned up."""
        self.p.proc.kill()
        return self.p.proc.wait(timeout=20)


def run_tool(bed, *args, timeout=20):
    """A one-shot fzd-dns-tool command; returns (exit code, parsed stdout, stderr)."""
    r = subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=timeout, env=bed.env())
    try:
        out = json.loads(r.stdout) if r.stdout.strip() else None
    except ValueError:
        out = r.stdout
    return r.returncode, out, r.stderr


def ifindex(name):
    out = subprocess.run(['ip', '-j', 'link', 'show', name], capture_output=True, text=True, check=True).stdout
    return json.loads(out)[0]['ifindex']


def query_message(name, qid, qtype=1):
    """A DNS query as a stub resolver sends it (RD set), for the name and type."""
    import struct
    q = struct.pack('!HHHHHH', qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip('.').split('.'):
        q += bytes([len(label)]) + label.encode()
    return q + b'\0' + struct.pack('!HH', qtype, 1)


def dns_query(name, server='127.0.0.53', qtype=1, timeout=10):
    """A plain UDP query, as glibc sends it to the nameserver in resolv.conf. Returns
    (rcode, [IPv4 answers])."""
    import random
    import socket
    import struct
    qid = random.randrange(65536)
    q = query_message(name, qid, qtype)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(q, (server, 53))
        while True:
            data, _ = s.recvfrom(4096)
            if struct.unpack('!H', data[:2])[0] == qid:
                break
    flags, qd, an = struct.unpack('!HHH', data[2:8])
    off = 12
    for _ in range(qd):  # the echoed question is not compressed
        while data[off] != 0:
            off += 1 + data[off]
        off += 1 + 4
    answers = []
    for _ in range(an):
        if data[off] >= 0xc0:
            off += 2
        else:
            while data[off] != 0:
                off += 1 + data[off]
            off += 1
        rtype, _cls, _ttl, rdlen = struct.unpack('!HHIH', data[off:off + 10])
        off += 10
        if rtype == 1 and rdlen == 4:
            answers.append(socket.inet_ntoa(data[off:off + 4]))
        off += rdlen
    return flags & 0xf, answers
