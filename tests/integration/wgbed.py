# SPDX-License-Identifier: Apache-2.0
"""The WireGuard interoperability bed: inside the test's own network namespace, two more
(`wga` for our engine, `wgb` for Debian's wireguard-go + wg), joined by a veth pair:

    wga: fzd-wg-tool on TUN fzwg0 (10.66.0.1/24, fd66::1/64), UDP 192.0.2.1:51000
      │ veth wga0 ─── wgb0 (192.0.2.0/24)
    wgb: wireguard-go wggo0 (10.66.0.2/24, fd66::2/64), UDP 192.0.2.2:51820

Waiting is on real events: a JSON line from the tool (select on its stdout), a log line
(inotify on the log file), a process's exit, a ping's reply — never a sleep."""

import json
import os
import select
import signal
import subprocess
import time

import fzbed

TOOL = os.path.join(fzbed.BUILD_ROOT, 'tests', 'tools', 'fzd-wg-tool')
HERE = os.path.dirname(os.path.abspath(__file__))
TCP_BLOB = os.path.join(HERE, 'tcp-blob.py')
MANGLER = os.path.join(HERE, 'udp-mangler.py')

A_NS, B_NS = 'wga', 'wgb'
A_UDP, B_UDP = '192.0.2.1', '192.0.2.2'
A_PORT, B_PORT = 51000, 51820
A_TUN4, B_TUN4 = '10.66.0.1', '10.66.0.2'
A_TUN6, B_TUN6 = 'fd66::1', 'fd66::2'
A_IF, B_IF = 'fzwg0', 'wggo0'


class WgBedError(Exception):
    pass


def run(*argv, ns=None, check=True, timeout=60):
    if ns:
        argv = ('ip', 'netns', 'exec', ns, *argv)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise WgBedError(f'{" ".join(argv)} failed ({r.returncode}): {r.stdout}{r.stderr}')
    return r


def wait_file(path, predicate, what, timeout=30, pidfd=None):
    """Wait until predicate(contents of path) holds; woken by inotify, not a timer."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(os.O_CLOEXEC | os.O_NONBLOCK)
    libc.inotify_add_watch(fd, path.encode(), 0x2)  # IN_MODIFY
    deadline = time.monotonic() + timeout
    try:
        while True:
            with open(path, 'rb') as f:
                text = f.read().decode('utf-8', 'replace')
            if predicate(text):
                return text
            left = deadline - time.monotonic()
            if left <= 0:
                raise WgBedError(f'timed out waiting for {what}; {path}:\n{text[-4000:]}')
            fds = [fd] + ([pidfd] if pidfd is not None else [])
            r, _, _ = select.select(fds, [], [], left)
            if fd in r:
                os.read(fd, 65536)
            elif pidfd is not None and pidfd in r:
                with open(path, 'rb') as f:
                    text = f.read().decode('utf-8', 'replace')
                if predicate(text):
                    return text
                raise WgBedError(f'the process exited while waiting for {what}:\n{text[-4000:]}')
    finally:
        os.close(fd)


class Keys:
    def __init__(self, bed, name):
        self.private = os.path.join(bed.dir, f'{name}.key')
        old = os.umask(0o077)
        try:
            key = run('wg', 'genkey').stdout.strip()
            with open(self.private, 'w') as f:
                f.write(key + '\n')
        finally:
            os.umask(old)
        self.public = subprocess.run(['wg', 'pubkey'], input=key + '\n', capture_output=True, text=True,
                                     check=True).stdout.strip()


def psk_file(bed, name='psk'):
    path = os.path.join(bed.dir, name)
    old = os.umask(0o077)
    try:
        with open(path, 'w') as f:
            f.write(run('wg', 'genpsk').stdout)
    finally:
        os.umask(old)
    return path


def topology():
    for ns in (A_NS, B_NS):
        run('ip', 'netns', 'add', ns)
        run('ip', '-n', ns, 'link', 'set', 'lo', 'up')
        for conf in ('all', 'default'):
            run('sysctl', '-qw', f'net.ipv6.conf.{conf}.accept_dad=0', ns=ns)
    run('ip', 'link', 'add', 'wga0', 'type', 'veth', 'peer', 'name', 'wgb0')
    run('ip', 'link', 'set', 'wga0', 'netns', A_NS)
    run('ip', 'link', 'set', 'wgb0', 'netns', B_NS)
    run('ip', '-n', A_NS, 'addr', 'add', f'{A_UDP}/24', 'dev', 'wga0')
    run('ip', '-n', B_NS, 'addr', 'add', f'{B_UDP}/24', 'dev', 'wgb0')
    run('ip', '-n', A_NS, 'link', 'set', 'wga0', 'up')
    run('ip', '-n', B_NS, 'link', 'set', 'wgb0', 'up')


class WgTool:
    """fzd-wg-tool in a namespace: commands on stdin, one JSON line each; events queued."""

    def __init__(self, bed, ns, args, name='fzd-wg-tool'):
        self.log_path = os.path.join(bed.dir, f'{name}-{time.monotonic_ns()}.log')
        self.log = open(self.log_path, 'wb')
        argv = ['ip', 'netns', 'exec', ns, TOOL, *args]
        wrapper = os.environ.get('FZ_WG_TOOL_WRAPPER')
        if wrapper:
            argv = ['ip', 'netns', 'exec', ns, *wrapper.split(), TOOL, *args]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                     env=bed.env(), start_new_session=True)
        self.pidfd = os.pidfd_open(self.proc.pid)
        self.buf = b''
        self.events = []
        self.ready = self.wait_event('ready', timeout=30)

    def _read_line(self, timeout):
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b'\n' not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WgBedError(f'timed out waiting for fzd-wg-tool:\n{self.output()[-4000:]}')
            r, _, _ = select.select([fd, self.pidfd], [], [], left)
            chunk = os.read(fd, 65536) if fd in r or self.pidfd in r else b''
            if not chunk and (self.pidfd in r or fd in r):
                raise WgBedError(f'fzd-wg-tool exited ({self.proc.wait()}):\n{self.output()[-4000:]}')
            self.buf += chunk
        line, self.buf = self.buf.split(b'\n', 1)
        return json.loads(line)

    def cmd(self, line, timeout=30):
        self.proc.stdin.write(line.encode() + b'\n')
        self.proc.stdin.flush()
        while True:
            msg = self._read_line(timeout)
            if 'reply' in msg:
                return msg
            self.events.append(msg)

    def stats(self):
        return self.cmd('stats')

    def wait_stats(self, predicate, what, timeout=20):
        """Ask for counters until predicate(stats) holds: each ask is a round trip to the
        tool's loop, paced by the loop's answer plus a short pause."""
        deadline = time.monotonic() + timeout
        while True:
            s = self.stats()
            if predicate(s):
                return s
            if time.monotonic() > deadline:
                raise WgBedError(f'timed out waiting for {what}: {s}\n{self.output()[-3000:]}')
            select.select([self.pidfd], [], [], 0.05)

    def wait_event(self, kind, what=None, timeout=30):
        while True:
            for i, e in enumerate(self.events):
                if e.get('event') == kind and (what is None or e.get('what') == what):
                    return self.events.pop(i)
            self.events.append(self._read_line(timeout))

    def has_event(self, kind, what=None):
        """Events written so far (without waiting)."""
        while True:
            r, _, _ = select.select([self.proc.stdout.fileno()], [], [], 0)
            if not r and b'\n' not in self.buf:
                break
            self.events.append(self._read_line(1))
        return any(e.get('event') == kind and (what is None or e.get('what') == what) for e in self.events)

    def wait_log(self, text, timeout=30):
        return wait_file(self.log_path, lambda t: text in t, f'"{text}" in the tool log', timeout, self.pidfd)

    def output(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def close(self):
        """EOF ends it (it frees everything and exits 0)."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1
        self.proc.stdout.close()
        self.log.close()
        return self.proc.returncode


class WireguardGo:
    """Debian's wireguard-go in the foreground (a child of the harness), configured with wg."""

    def __init__(self, bed, ns, ifname):
        self.ns = ns
        self.ifname = ifname
        self.log_path = os.path.join(bed.dir, f'wireguard-go-{ifname}-{time.monotonic_ns()}.log')
        self.log = open(self.log_path, 'wb')
        self.proc = subprocess.Popen(['ip', 'netns', 'exec', ns, 'wireguard-go', '-f', ifname],
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=bed.env(LOG_LEVEL='verbose'), start_new_session=True)
        self.pidfd = os.pidfd_open(self.proc.pid)
        wait_file(self.log_path, lambda t: 'UAPI listener started' in t, 'wireguard-go to listen', 30, self.pidfd)

    def wg(self, *args):
        return run('wg', *args, ns=self.ns).stdout

    def set(self, *args):
        self.wg('set', self.ifname, *args)

    def latest_handshake(self):
        out = self.wg('show', self.ifname, 'latest-handshakes').split()
        return int(out[1]) if len(out) >= 2 else 0

    def endpoint(self):
        out = self.wg('show', self.ifname, 'endpoints').split()
        return out[1] if len(out) >= 2 else None

    def wait_log(self, text, timeout=30):
        return wait_file(self.log_path, lambda t: text in t, f'"{text}" in the wireguard-go log', timeout, self.pidfd)

    def output(self):
        with open(self.log_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        os.close(self.pidfd)
        self.log.close()


def ping(ns, addr, count=3, interval=0.2, wait=5, check=True):
    """Each ping waits for its reply (up to `wait` s): the reply is the event."""
    six = ':' in addr
    r = run('ping', *(['-6'] if six else []), '-n', '-c', str(count), '-i', str(interval), '-W', str(wait), addr,
            ns=ns, check=False, timeout=count * (interval + wait) + 30)
    if check and r.returncode != 0:
        raise WgBedError(f'ping {addr} from {ns} failed:\n{r.stdout}{r.stderr}')
    return r


def tcp_transfer(server_ns, client_ns, addr, port, size, seconds=0, timeout=120):
    """A TCP transfer with SHA-256 on both ends; returns (server, client) results."""
    srv = subprocess.Popen(['ip', 'netns', 'exec', server_ns, '/usr/bin/python3', TCP_BLOB, 'server', addr, str(port)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        first = srv.stdout.readline()  # {"listening": true}: the server is ready
        if not first:
            raise WgBedError(f'the TCP server did not start: {srv.stderr.read()}')
        cli = subprocess.run(['ip', 'netns', 'exec', client_ns, '/usr/bin/python3', TCP_BLOB, 'client', addr, str(port),
                              str(size), str(seconds)], capture_output=True, text=True, timeout=timeout)
        if cli.returncode != 0:
            raise WgBedError(f'the TCP client failed: {cli.stderr}')
        out, err = srv.communicate(timeout=timeout)
        if srv.returncode != 0:
            raise WgBedError(f'the TCP server failed: {err}')
        return json.loads(out.strip().splitlines()[-1]), json.loads(cli.stdout.strip().splitlines()[-1])
    finally:
        if srv.poll() is None:
            srv.kill()
            srv.wait()


class Mangler:
    """udp-mangler.py in a namespace (see there)."""

    def __init__(self, ns, down_bind, down_peer, up_bind, up_peer):
        self.proc = subprocess.Popen(['ip', 'netns', 'exec', ns, '/usr/bin/python3', MANGLER, down_bind, down_peer,
                                      up_bind, up_peer],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        if not self.proc.stdout.readline():
            raise WgBedError(f'the mangler did not start: {self.proc.stderr.read()}')

    def stop(self):
        """Returns what it injected."""
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=30)
        return json.loads(out.strip().splitlines()[-1])
