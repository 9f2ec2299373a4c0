# SPDX-License-Identifier: Apache-2.0
"""Bed helpers for daemon/ice: a small network of namespaces on a bridge, a real TURN relay
(coturn, started by hand in its namespace, never as a service), our node (fzd-ice-tool) and an
independent ICE agent (python3-aioice, ice_peer.py), all speaking JSON lines.

Everything lives inside the bed's own network namespace: the bridge is there, the named
namespaces are made with `ip netns add` (their handles live in the bed's private /run), and
coturn keeps its database and pid file in the bed's temp dir. Readiness is always an event: a
line from a tool, a log line (inotify), a process exit.
"""

import base64
import hashlib
import hmac
import json
import os
import select
import subprocess
import time

import fzbed

TOOL = os.path.join(fzbed.BUILD_ROOT, 'tests', 'tools', 'fzd-ice-tool')
PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'ice_peer.py')
SUBNET = '10.77.0'
SUBNET6 = 'fd77::'
BED_ADDR = f'{SUBNET}.254'  # the bed's own address on the bridge (a plain UDP peer for TURN tests)
BED_ADDR6 = f'{SUBNET6}fe'


def run(*argv):
    subprocess.run(argv, check=True, capture_output=True)


class IceNet:
    """Namespaces fzice-<name> on bridge fzbr0, 10.77.0.<n>/24 and fd77::<n>/64 (no duplicate
    address detection: usable at once); the bed is .254 and fd77::fe."""

    def __init__(self, names):
        self.addr = {}
        self.addr6 = {}
        run('ip', 'link', 'add', 'fzbr0', 'type', 'bridge')
        run('ip', 'addr', 'add', f'{BED_ADDR}/24', 'dev', 'fzbr0')
        run('ip', 'addr', 'add', f'{BED_ADDR6}/64', 'dev', 'fzbr0', 'nodad')
        run('ip', 'link', 'set', 'fzbr0', 'up')
        for i, name in enumerate(names, start=1):
            ns = self.ns(name)
            run('ip', 'netns', 'add', ns)
            run('ip', 'link', 'add', f'vx{name}', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns)
            run('ip', 'link', 'set', f'vx{name}', 'master', 'fzbr0', 'up')
            run('ip', '-n', ns, 'link', 'set', 'lo', 'up')
            run('ip', '-n', ns, 'addr', 'add', f'{SUBNET}.{i}/24', 'dev', 'eth0')
            run('ip', '-n', ns, 'addr', 'add', f'{SUBNET6}{i}/64', 'dev', 'eth0', 'nodad')
            run('ip', '-n', ns, 'link', 'set', 'eth0', 'up')
            self.addr[name] = f'{SUBNET}.{i}'
            self.addr6[name] = f'{SUBNET6}{i}'

    @staticmethod
    def ns(name):
        return f'fzice-{name}'

    def block(self, name, other):
        """Drop everything between two namespaces (as a symmetric NAT on both sides would for
        direct paths): only the relay gets through."""
        ns, ip = self.ns(name), self.addr[other]
        rules = (f'table inet fzblock {{\n'
                 f' chain input_block {{\n  type filter hook input priority 0;\n  ip saddr {ip} drop\n }}\n'
                 f' chain output_block {{\n  type filter hook output priority 0;\n  ip daddr {ip} drop\n }}\n'
                 f'}}\n')
        subprocess.run(['ip', 'netns', 'exec', ns, 'nft', '-f', '-'], input=rules, text=True, check=True,
                       capture_output=True)


class Coturn:
    """coturn in namespace `name`, realm firezone, REST-API credentials from a shared secret."""

    def __init__(self, bed, net, name, secret='fz-test-secret', extra=(), ipv6=False):
        self.secret = secret
        self.ip = net.addr6[name] if ipv6 else net.addr[name]
        self.addr = f'[{self.ip}]:3478' if ipv6 else f'{self.ip}:3478'
        d = os.path.join(bed.dir, 'coturn')
        os.makedirs(d, exist_ok=True)
        argv = ['ip', 'netns', 'exec', net.ns(name), 'turnserver', '-n', f'--listening-ip={self.ip}',
                f'--relay-ip={self.ip}', '--listening-port=3478', '--realm=firezone', '--use-auth-secret',
                f'--static-auth-secret={secret}', '--no-tls', '--no-dtls', '--min-port=49152', '--max-port=49300',
                '--no-cli', '--log-file=stdout', '--simple-log', f'--pidfile={d}/turnserver.pid',
                f'--userdb={d}/turndb', *extra]
        self.proc = bed._spawn('coturn', argv)
        bed.wait_for_log(self.proc, 'Total General servers')

    def credentials(self, ttl=3600, expiry=None):
        """Firezone's portal and coturn agree on these: username "<unix expiry>:<salt>",
        password base64(HMAC-SHA1(secret, username))."""
        username = f'{int(expiry if expiry is not None else time.time() + ttl)}:fz'
        password = base64.b64encode(hmac.new(self.secret.encode(), username.encode(), hashlib.sha1).digest()).decode()
        return username, password


class JsonLines:
    """A child that takes JSON orders on stdin and writes JSON lines; events that are not
    waited for yet are kept, in order."""

    def __init__(self, bed, name, argv):
        self.name = name
        self.p = fzbed.Process(name, argv, os.path.join(bed.dir, f'{name}.log'), bed.env(), pipes=True)
        bed.processes.append(self.p)
        self.fd = self.p.proc.stdout.fileno()
        self.buf = b''
        self.backlog = []

    def _read(self, deadline):
        while b'\n' not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.fd, self.p.pidfd], [], [], left)
            if self.fd in r:
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    raise fzbed.BedError(f'{self.name} exited (code {self.p.proc.wait()}):\n{self.p.output()}')
                self.buf += chunk
            elif r:
                raise fzbed.BedError(f'{self.name} exited (code {self.p.proc.wait()}):\n{self.p.output()}')
        line, self.buf = self.buf.split(b'\n', 1)
        return json.loads(line)

    def send(self, **order):
        self.p.proc.stdin.write((json.dumps(order) + '\n').encode())
        self.p.proc.stdin.flush()

    def wait(self, event, pred=None, timeout=20):
        """The first event named `event` (and matching pred), earlier ones included."""
        ok = lambda m: m.get('event') == event and (pred is None or pred(m))
        for i, m in enumerate(self.backlog):
            if ok(m):
                return self.backlog.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            m = self._read(deadline)
            if m is None:
                raise fzbed.BedError(f'timed out waiting for {event} from {self.name}; got {self.backlog[-10:]}\n'
                                     f'{self.p.output()[-4000:]}')
            if ok(m):
                return m
            self.backlog.append(m)

    def close(self, timeout=10):
        """End of orders: the tool frees everything and exits (under ASan, a leak makes the
        exit code non-zero). Returns the exit code."""
        try:
            self.p.proc.stdin.close()
        except (OSError, ValueError):
            pass
        return self.p.proc.wait(timeout=timeout)

    def all(self, event):
        """Every kept event of that name (removing them)."""
        got = [m for m in self.backlog if m.get('event') == event]
        self.backlog = [m for m in self.backlog if m.get('event') != event]
        return got


class IceTool(JsonLines):
    """fzd-ice-tool in a namespace."""

    def __init__(self, bed, net, name, *args):
        super().__init__(bed, f'ice-tool-{name}', ['ip', 'netns', 'exec', net.ns(name), TOOL, '--log-level=debug', *args])
        ready = self.wait('ready')
        self.sockets = ready['sockets']

    def request(self, timeout=20, **order):
        self.send(**order)
        op = order['op']
        m = self.wait_any(('ok', 'error'), lambda m: m.get('op') == op, timeout)
        if m['event'] == 'error':
            raise fzbed.BedError(f'{self.name}: {order} failed: {m}')
        return m

    def wait_any(self, events, pred, timeout=20):
        for i, m in enumerate(self.backlog):
            if m.get('event') in events and pred(m):
                return self.backlog.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            m = self._read(deadline)
            if m is None:
                raise fzbed.BedError(f'timed out waiting for {events} from {self.name}\n{self.p.output()[-4000:]}')
            if m.get('event') in events and pred(m):
                return m
            self.backlog.append(m)

    def turn_stats(self, pred, timeout=20):
        """The relay counters once pred(stats) holds (the tool says whenever they move)."""
        return self.wait('turn', lambda m: pred(m['stats']), timeout)['stats']


class AioicePeer(JsonLines):
    def __init__(self, bed, net, name):
        super().__init__(bed, f'aioice-{name}', ['ip', 'netns', 'exec', net.ns(name), '/usr/bin/python3', PEER])
