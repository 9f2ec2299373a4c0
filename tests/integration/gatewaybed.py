# SPDX-License-Identifier: Apache-2.0
"""Bed helpers for the test gateway (tests/gateway/gateway.py and its data plane) and for the
test world's scripted peers (worldpeer.py), each running in a namespace of the world.

Waiting is on real events: a line in a log (inotify), a line on a pipe (select), a reply on a
control socket that itself blocks until an event happened (wait_event)."""

import json
import os
import select
import signal
import socket
import time

import fzbed

HERE = os.path.dirname(os.path.abspath(__file__))
CONTROLLER = os.path.join(fzbed.SOURCE_ROOT, 'tests', 'gateway', 'gateway.py')
ICEPEER = os.path.join(HERE, 'icepeer.py')
WORLDPEER = os.path.join(HERE, 'worldpeer.py')
# A client with WireGuard and a TUN of its own, to drive the gateway's data plane (gwclient.py).
GWCLIENT = os.path.join(HERE, 'gwclient.py')
PYTHON = '/usr/bin/python3'


def unix_request(path, order, timeout=60):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall((json.dumps(order) + '\n').encode())
        buf = b''
        while not buf.endswith(b'\n'):
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            buf += chunk
    reply = json.loads(buf)
    if 'error' in reply:
        raise fzbed.BedError(f'{os.path.basename(path)} {order.get("op")}: {reply["error"]}')
    return reply['ok']


class GatewayController:
    """gateway.py in fzw-gateway with a data plane (argv). control() talks to its control
    socket; wait_event() blocks there until the controller saw a matching message from or to
    the portal or the data plane."""

    count = 0

    def __init__(self, world, dataplane, external_id, name, env=None, wait=True):
        GatewayController.count += 1
        self.world = world
        self.name = f'gateway-{GatewayController.count}'
        self.control_path = os.path.join(world.dir, f'{self.name}.sock')
        argv = [PYTHON, CONTROLLER, '--api-url', world.api_url, '--ca-file', world.ca_file,
                '--external-id', external_id, '--name', name, '--control', self.control_path, '--', *dataplane]
        e = world.bed.env(**{'FIREZONE_TOKEN': world.gateway_token, **(env or {})})
        self.proc = world.spawn('gateway', self.name, argv, env=e)
        world.bed.wait_for_log(self.proc, 'gateway: control socket')
        if wait:
            self.wait_joined()

    def wait_joined(self, count=1, timeout=20):
        """Until the controller has joined the portal `count` times (the data plane took init)."""
        self.world.bed._wait_until(lambda: self.output().count('gateway: joined the portal') >= count,
                                   f'{self.name} to join the portal ({count})', proc=self.proc,
                                   watch_file=self.proc.log_path, timeout=timeout)

    def control(self, **order):
        return unix_request(self.control_path, order)

    def wait_event(self, peer, direction, event, match=None, count=1, after=0, timeout=20):
        return self.control(op='wait_event', peer=peer, direction=direction, event=event, match=match or {},
                            count=count, after=after, timeout=timeout)['events']

    def events(self, peer=None, direction=None, event=None, match=None):
        return self.control(op='events', peer=peer, direction=direction, event=event, match=match or {})['events']

    def wait_path(self, relayed=None, timeout=20):
        """The path the data plane uses now — the newest connection/path event that has one
        (ICE may begin on the relay, the first pair that answers, and move to a better pair
        when its checks succeed) — once there is one and, if `relayed` is given, once it is
        (not) relayed. Waits on the next path event, never a sleep."""
        deadline = time.monotonic() + timeout
        while True:
            seen = [e for e in self.events('dataplane', 'in', 'path') + self.events('dataplane', 'in', 'connection')
                    if e['message'].get('path') is not None or e['event'] == 'path']
            newest = max(seen, key=lambda e: e['seq']) if seen else None
            path = newest['message'].get('path') if newest else None
            if path is not None and (relayed is None or path['relayed'] == relayed):
                return path
            left = deadline - time.monotonic()
            if left <= 0:
                want = 'a path' if relayed is None else 'a relayed path' if relayed else 'a direct path'
                raise fzbed.BedError(f'{self.name}: no {want} within {timeout} s: {seen}')
            self.wait_event('dataplane', 'in', 'path', after=newest['seq'] if newest else 0, timeout=left)

    def dataplane(self, op, **fields):
        return self.control(op='dataplane', order={'op': op, **fields})

    def output(self):
        return self.proc.output()

    def stop(self, sig=signal.SIGTERM):
        if self.proc.running():
            return self.proc.stop(sig)
        return self.proc.proc.returncode


class ScriptedPeer:
    """worldpeer.py (or a script speaking its protocol, e.g. gwclient.py) in a namespace:
    orders in on stdin, events out on stdout."""

    def __init__(self, world, role, name, script=WORLDPEER):
        self.world = world
        self.name = name
        argv = world.exec_argv(role, [PYTHON, script])
        self.proc = fzbed.Process(name, argv, os.path.join(world.bed.dir, f'{name}.log'),
                                  env=world.bed.env(FZ_AIOICE_DEBUG=os.environ.get('FZ_AIOICE_DEBUG')),
                                  pipes=True)
        world.bed.processes.append(self.proc)
        self.buf = b''
        self.events = []
        self.queue = []
        self.wait('ready')

    def send(self, **order):
        self.proc.proc.stdin.write((json.dumps(order) + '\n').encode())
        self.proc.proc.stdin.flush()

    def _read(self, deadline):
        fd = self.proc.proc.stdout.fileno()
        while b'\n' not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                return None
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise fzbed.BedError(f'{self.name} exited:\n{self.proc.output()}')
            self.buf += chunk
        line, self.buf = self.buf.split(b'\n', 1)
        return json.loads(line)

    def wait(self, event, pred=None, timeout=30):
        """The first not yet consumed event named `event` (matching pred); others stay queued."""
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.queue):
                if ev['event'] == event and (pred is None or pred(ev)):
                    return self.queue.pop(i)
            ev = self._read(deadline)
            if ev is None:
                raise fzbed.BedError(f'{self.name}: timed out waiting for {event!r}; queued: '
                                     f'{[(e["event"], e.get("name")) for e in self.queue]}\n{self.proc.output()}')
            if ev['event'] == 'error':
                raise fzbed.BedError(f'{self.name}: {ev.get("op")} failed: {ev.get("message")}')
            self.events.append(ev)
            self.queue.append(ev)

    def portal(self, name, timeout=30, pred=None):
        """The next push from the portal named `name`; returns its payload."""
        return self.wait('portal', lambda e: e['name'] == name and (pred is None or pred(e['payload'])),
                         timeout)['payload']

    def order(self, op, timeout=30, **fields):
        self.send(op=op, **fields)
        return self.wait('ok', lambda e: e['op'] == op, timeout)

    def connect(self, kind, token, external_id, name=None, public_key=None):
        params = {'external_id': external_id, 'name': name or external_id}
        if public_key:
            params['public_key'] = public_key
        self.send(op='connect', api_url=self.world.api_url, path=f'{kind}/v2/websocket', token=token, topic=kind,
                  params=params, ca_file=self.world.ca_file)
        joined = self.wait('joined')
        self.wait('ok', lambda e: e['op'] == 'connect')
        return joined

    def close(self):
        if self.proc.running():
            try:
                self.proc.proc.stdin.close()
            except OSError:
                pass
            self.proc.stop()
