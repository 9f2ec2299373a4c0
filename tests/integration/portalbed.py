# SPDX-License-Identifier: Apache-2.0
"""Bed helpers for the portal connection: the local portal (tests/portal/portal.py) and the
engine test driver (build/tests/tools/fzd-portal-driver), both children of the harness.

Waiting is always on a real event: the portal's ready line, a line from the driver's stdout
(select on the pipe), a reply on the portal's control socket."""

import json
import os
import select
import signal
import socket
import subprocess
import time

import fzbed

PORTAL = os.path.join(fzbed.SOURCE_ROOT, 'tests', 'portal', 'portal.py')
DEMO_ACCOUNT = os.path.join(fzbed.SOURCE_ROOT, 'tests', 'portal', 'demo-account.json')
DRIVER = os.path.join(fzbed.BUILD_ROOT, 'tests', 'tools', 'fzd-portal-driver')


def demo_account():
    with open(DEMO_ACCOUNT) as f:
        return json.load(f)


class LocalPortal:
    """One run of the local portal. Restart it on the same ports with restart()."""

    def __init__(self, bed, account=None, token=None, generate=0, name='portal', prefix=(), extra_args=()):
        """prefix: argv to run it under (e.g. `ip netns exec NS`); extra_args: more options
        (--host, --ws-port, --tls-name, …)."""
        self.bed = bed
        self.name = name
        self.prefix = list(prefix)
        self.extra_args = list(extra_args)
        self.runs = 0
        self.tls_dir = os.path.join(bed.dir, f'{name}-tls')
        os.makedirs(self.tls_dir, exist_ok=True)
        self.account_path = os.path.join(bed.dir, f'{name}-account.json')
        acc = account if account is not None else demo_account()
        with open(self.account_path, 'w') as f:
            json.dump(acc, f)
        self.token = token or acc.get('token')
        self.generate = generate
        self.ws_port = self.wss_port = 0
        self.proc = None
        self.start()

    def start(self):
        self.runs += 1
        ready_file = os.path.join(self.bed.dir, f'{self.name}-ready-{self.runs}.json')
        argv = [*self.prefix, '/usr/bin/python3', PORTAL, '--account', self.account_path, '--tls-dir', self.tls_dir,
                '--ws-port', str(self.ws_port), '--wss-port', str(self.wss_port), '--ready-file', ready_file,
                *self.extra_args]
        if self.token:
            argv += ['--token', self.token]
        if self.generate:
            argv += ['--generate', str(self.generate)]
        self.proc = self.bed._spawn(f'{self.name}-{self.runs}', argv)
        # The portal logs "serving" right after it wrote the ready file.
        self.bed.wait_for_log(self.proc, 'portal: serving')
        with open(ready_file) as f:
            self.ready = json.load(f)
        self.ws_port, self.wss_port = self.ready['ws_port'], self.ready['wss_port']
        self.ws_url = self.ready['ws_url']
        self.wss_url = self.ready['wss_url']
        self.ca_file = self.ready['ca_file']
        self.control_path = self.ready['control']

    def stop(self):
        if self.proc:
            self.proc.stop()
            self.proc = None

    def restart(self):
        self.stop()
        self.start()

    def control(self, **order):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(30)
            s.connect(self.control_path)
            s.sendall((json.dumps(order) + '\n').encode())
            buf = b''
            while not buf.endswith(b'\n'):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        reply = json.loads(buf)
        if 'error' in reply:
            raise fzbed.BedError(f'portal control {order.get("op")}: {reply["error"]}')
        return reply['ok']

    def output(self):
        return self.proc.output() if self.proc else ''


class EngineDriver:
    """The engine test driver: orders in on stdin, events out on stdout (JSON lines)."""

    def __init__(self, bed, env=None, args=(), name='driver', prefix=()):
        self.bed = bed
        self.log_path = os.path.join(bed.dir, f'{name}.log')
        self.log = open(self.log_path, 'ab', buffering=0)
        e = bed.env(**(env or {}))
        argv = [DRIVER, '--log-level=debug', *args]
        wrapper = os.environ.get('FZ_DAEMON_WRAPPER')
        if wrapper:
            argv = wrapper.split() + argv
        argv = [*prefix, *argv]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, env=e)
        self.buf = b''
        self.events = []  # everything the driver said
        self.queue = []   # not yet consumed by wait()
        self.wait('ready')

    def send(self, **order):
        self.proc.stdin.write((json.dumps(order) + '\n').encode())
        self.proc.stdin.flush()

    def _read_line(self, deadline):
        while b'\n' not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if not r:
                return None
            chunk = os.read(self.proc.stdout.fileno(), 1 << 20)
            if not chunk:
                raise fzbed.BedError(f'the driver exited (code {self.proc.wait()}):\n{self.stderr()}')
            self.buf += chunk
        line, self.buf = self.buf.split(b'\n', 1)
        return json.loads(line)

    def wait(self, event, timeout=20, pred=None):
        """Consume the first not yet consumed event named `event` (matching pred), waiting for it.
        Other events stay queued, whatever order they came in."""
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.queue):
                if ev['event'] == event and (pred is None or pred(ev)):
                    del self.queue[i]
                    return ev
            ev = self._read_line(deadline)
            if ev is None:
                raise fzbed.BedError(f'timed out waiting for driver event {event!r}; queued: '
                                     f'{[e["event"] for e in self.queue]}\n{self.stderr()}')
            self.events.append(ev)
            self.queue.append(ev)

    def pending(self, event):
        """Events named `event` not consumed yet (reads what is already in the pipe)."""
        while True:
            ev = self._read_line(time.monotonic())
            if ev is None:
                break
            self.events.append(ev)
            self.queue.append(ev)
        return [e for e in self.queue if e['event'] == event]

    def call(self, op, **kw):
        self.send(op=op, **kw)
        return self.wait('ok', pred=lambda e: e.get('op') == op)

    def start(self, url, token, **kw):
        self.send(op='start', api_url=url, token=token, **kw)
        self.wait('ok', pred=lambda e: e.get('op') == 'start')

    def dump(self):
        self.send(op='dump')
        return self.wait('resources')

    def stats(self):
        self.send(op='stats')
        return self.wait('stats')

    def stderr(self):
        with open(self.log_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def close(self):
        if self.proc.poll() is None:
            try:
                self.send(op='quit')
                self.proc.wait(timeout=10)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.send_signal(signal.SIGKILL)
                self.proc.wait()
        self.proc.stdin.close()
        self.proc.stdout.close()
        self.log.close()
        return self.proc.returncode


def portal_view(resource):
    """A portal resource as the daemon should present it (ListResources fields)."""
    kind = resource['type']
    return {
        'id': resource['id'],
        'type': kind,
        'name': resource.get('name') or ('Internet Resource' if kind == 'internet' else ''),
        'address': resource.get('address', '') if kind != 'internet' else '',
        'description': resource.get('address_description') or '',
        'sites': [[s['id'], s.get('name', '')] for s in resource.get('gateway_groups', resource.get('sites', []))],
    }

