# SPDX-License-Identifier: Apache-2.0
"""Helpers for the tunnel tests: the fzd-tunnel-tool driver (commands on stdin, one JSON
reply line per command, JSON event lines) and `ip -j` readers for the bed's private netns.

Waiting is on real events: a reply or event line becoming readable on the tool's stdout
(select on the pipe), or the tool's exit (pidfd), never a sleep."""

import json
import os
import select
import signal
import subprocess
import time

import fzbed

TOOL = os.path.join(fzbed.BUILD_ROOT, 'tests', 'tools', 'fzd-tunnel-tool')
TABLE = '7946'
MARK = '0x1f0a'
PRIORITY = 5200
TUN = 'tun-firezone'
BASE4 = {'100.64.0.0/11', '100.96.0.0/11', '100.100.111.0/24'}
BASE6 = {'fd00:2021:1111::/107', 'fd00:2021:1111:8000::/107', 'fd00:2021:1111:8000:100:100:111:0/120'}


class ToolError(Exception):
    pass


class TunnelTool:
    """One fzd-tunnel-tool process. FZ_TUNNEL_TOOL_WRAPPER (e.g. "valgrind --leak-check=full
    --error-exitcode=99") runs it under a wrapper."""

    def __init__(self, workdir, args=(), wrapper=None):
        self.log_path = os.path.join(workdir, f'tunnel-tool-{time.monotonic_ns()}.log')
        self.log = open(self.log_path, 'wb')
        argv = [TOOL, *args]
        wrapper = wrapper if wrapper is not None else os.environ.get('FZ_TUNNEL_TOOL_WRAPPER')
        if wrapper:
            argv = wrapper.split() + argv
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                     start_new_session=True)
        self.pidfd = os.pidfd_open(self.proc.pid)
        self.buf = b''
        self.events = []
        self.wait_event(kind='ready', timeout=60)

    def _read_line(self, timeout):
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b'\n' not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ToolError(f'timed out waiting for output of fzd-tunnel-tool:\n{self.output()}')
            r, _, _ = select.select([fd, self.pidfd], [], [], left)
            if fd in r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise ToolError(f'fzd-tunnel-tool exited (code {self.proc.wait()}):\n{self.output()}')
                self.buf += chunk
            elif self.pidfd in r:
                # Exited: whatever it wrote is still in the pipe.
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise ToolError(f'fzd-tunnel-tool exited (code {self.proc.wait()}):\n{self.output()}')
                self.buf += chunk
        line, self.buf = self.buf.split(b'\n', 1)
        return json.loads(line)

    def cmd(self, line, timeout=60):
        """Send one command, return its reply (a dict); events read meanwhile are queued."""
        self.proc.stdin.write(line.encode() + b'\n')
        self.proc.stdin.flush()
        while True:
            msg = self._read_line(timeout)
            if 'reply' in msg:
                return msg
            self.events.append(msg)

    def ok(self, line, timeout=60):
        r = self.cmd(line, timeout)
        if not r['ok']:
            raise ToolError(f'{line!r} failed: {r}\n{self.output()}')
        return r

    def wait_event(self, kind='network-changed', timeout=20):
        while True:
            for i, e in enumerate(self.events):
                if e.get('event') == kind:
                    return self.events.pop(i)
            self.events.append(self._read_line(timeout))

    def pending_events(self):
        """Events already written, without waiting for any."""
        while True:
            r, _, _ = select.select([self.proc.stdout.fileno()], [], [], 0)
            if not r and b'\n' not in self.buf:
                break
            self.events.append(self._read_line(1))
        return [e for e in self.events if e.get('event') == 'network-changed']

    def output(self):
        with open(self.log_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def quit(self, timeout=120):
        """Ask it to exit (it tears the tunnel down); returns the exit code."""
        if self.proc.poll() is None:
            self.proc.stdin.write(b'quit\n')
            self.proc.stdin.flush()
        rc = self.proc.wait(timeout=timeout)
        self.close()
        return rc

    def kill9(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        rc = self.proc.wait(timeout=30)
        self.close()
        return rc

    def finish(self, timeout=300):
        """End it the way the daemon ends (EOF: tear down, free everything, exit) and
        return the exit code; a process already gone keeps its code (-9 after kill9())."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def close(self):
        self.finish()
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1
        self.log.close()


# ---- ip -j readers --------------------------------------------------------------------------

def ip_json(*args):
    r = subprocess.run(['ip', '-j', *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise ToolError(f'ip {" ".join(args)} failed: {r.stderr}')
    return json.loads(r.stdout or '[]')


def ip(*args, check=True):
    return subprocess.run(['ip', *args], capture_output=True, text=True, check=check)


def normalize_dst(dst, family):
    if dst == 'default':
        return '0.0.0.0/0' if family == 4 else '::/0'
    if '/' not in dst:
        return dst + ('/32' if family == 4 else '/128')
    return dst


def table_routes(family):
    """{dst: route} of our table ({} if the kernel has no such table (yet, or any more))."""
    r = subprocess.run(['ip', '-j', f'-{family}', 'route', 'show', 'table', TABLE], capture_output=True, text=True)
    if r.returncode != 0:
        if 'FIB table does not exist' in r.stderr:
            return {}
        raise ToolError(f'ip route show table {TABLE} failed: {r.stderr}')
    return {normalize_dst(x['dst'], family): x for x in json.loads(r.stdout or '[]')}


def our_rules(family):
    return [r for r in ip_json(f'-{family}', 'rule', 'show') if r.get('table') == TABLE]


def link():
    """Our TUN (ip -d link), or None."""
    r = subprocess.run(['ip', '-j', '-d', 'link', 'show', TUN], capture_output=True, text=True)
    if r.returncode != 0:
        return None
    return json.loads(r.stdout)[0]


def global_addresses():
    entries = ip_json('addr', 'show', 'dev', TUN)
    return {f"{a['local']}/{a['prefixlen']}" for e in entries for a in e.get('addr_info', [])
            if a.get('scope') == 'global'}


def write_lines(path, lines):
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path
