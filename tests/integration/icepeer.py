#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""An ICE-only peer behind the test gateway's controller, for the test world's own tests and
for ICE interop tests: it speaks the ICE part of the controller ↔ data-plane protocol
(tests/gateway/README.md) with python3-aioice in the controlled role.

It is NOT a data plane: it has no WireGuard, no TUN, no filters, and forwards nothing to the
resource network. Its public key is random bytes. What it does: per authorized client, gather
candidates (host, server-reflexive and relayed through the portal's TURN relay), send them to
the controller, connect once the client's candidates arrive, report the connection's state
and nominated pair, and answer datagrams that start with b"fzw-echo:" on that pair with the
same bytes (so a test can prove the path carries data). Everything else received is dropped.
"""

import argparse
import asyncio
import base64
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import iceagent  # noqa: E402

ECHO = b'fzw-echo:'


def emit(**event):
    sys.stdout.write(json.dumps(event) + '\n')
    sys.stdout.flush()


def log(*args):
    print('icepeer:', *args, file=sys.stderr, flush=True)


class Client:
    def __init__(self, cid, agent):
        self.id = cid
        self.agent = agent
        self.resources = set()
        self.connecting = None
        self.gathered = None
        self.echo = None


class IcePeer:
    def __init__(self):
        self.relays = {}
        self.clients = {}

    def relay_entries(self):
        return [e for entries in self.relays.values() for e in entries]

    def set_relays(self, connected, disconnected_ids=()):
        for rid in disconnected_ids:
            self.relays.pop(rid, None)
        for e in connected:
            self.relays.setdefault(e['id'], [])
            self.relays[e['id']] = [x for x in self.relays[e['id']] if x['addr'] != e['addr']] + [e]

    async def authorize(self, o):
        client, resource = o['client'], o['resource']
        c = self.clients.get(client['id'])
        if c is None:
            agent = iceagent.Agent(False, o['local_ice'], o['remote_ice'], self.relay_entries())
            c = self.clients[client['id']] = Client(client['id'], agent)
            c.gathered = asyncio.ensure_future(self.gather(c))
        c.resources.add(resource['id'])

    async def gather(self, c):
        """In the background: `authorize` is answered at once, candidates follow."""
        emit(event='connection', client_id=c.id, state='connecting')
        emit(event='candidates', client_id=c.id, candidates=await c.agent.gather())

    async def connect(self, c):
        try:
            pair = await c.agent.connect(30)
        except (ConnectionError, asyncio.TimeoutError) as e:
            emit(event='connection', client_id=c.id, state='failed', reason=str(e) or type(e).__name__)
            return
        emit(event='connection', client_id=c.id, state='ice-connected', path=pair)
        c.echo = asyncio.ensure_future(self.echo(c))

    async def echo(self, c):
        while True:
            try:
                data = await c.agent.conn.recv()
            except ConnectionError:
                return
            if data.startswith(ECHO):
                await c.agent.send(data)

    async def order(self, o):
        op = o['op']
        if op == 'init':
            self.set_relays(o.get('relays') or [])
        elif op == 'relays':
            self.set_relays(o.get('connected') or [], o.get('disconnected_ids') or [])
        elif op == 'authorize':
            await self.authorize(o)
        elif op == 'remote_candidates':
            c = self.clients.get(o.get('client_id'))
            if c is None:
                raise ValueError('candidates for an unknown client')
            await c.gathered
            await c.agent.add_remote(o.get('candidates', []))
            if c.connecting is None:
                c.connecting = asyncio.ensure_future(self.connect(c))
        elif op == 'invalidate_remote_candidates':
            pass  # aioice cannot forget a remote candidate
        elif op == 'reject_access':
            c = self.clients.get(o.get('client_id'))
            if c:
                c.resources.discard(o.get('resource_id'))
                if not c.resources:
                    await self.close(c)
        elif op == 'resource_updated':
            pass
        elif op == 'stats':
            return {'clients': sorted(self.clients), 'relays': sorted(self.relays)}
        else:
            raise ValueError(f'unknown op {op!r}')
        return {}

    async def close(self, c):
        self.clients.pop(c.id, None)
        for t in (c.gathered, c.connecting, c.echo):
            if t:
                t.cancel()
        await c.agent.close()
        emit(event='connection', client_id=c.id, state='closed')


async def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--ignore-net', action='append', default=[],
                    help='leave this network out of host candidates (repeat for more)')
    args = ap.parse_args()
    iceagent.ignore_networks(args.ignore_net)
    if os.environ.get('FZ_AIOICE_DEBUG'):
        # aioice only: websockets' debug log would show the X-Authorization header.
        import logging
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
        logging.getLogger('aioice').setLevel(logging.DEBUG)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    peer = IcePeer()
    emit(event='ready', public_key=base64.b64encode(os.urandom(32)).decode(), version='icepeer')
    while True:
        line = await reader.readline()
        if not line:
            break
        o = json.loads(line)
        try:
            result = await peer.order(o)
            if 'id' in o:
                emit(event='ok', id=o['id'], **result)
        except Exception as e:
            log(f'{o.get("op")}: {type(e).__name__}: {e}')
            if 'id' in o:
                emit(event='error', id=o['id'], message=f'{type(e).__name__}: {e}')
    for c in list(peer.clients.values()):
        await peer.close(c)


if __name__ == '__main__':
    asyncio.run(main())
