#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A scripted portal peer for the test world's own tests: a client or a gateway made of a
Phoenix channel (tests/gateway/phoenix.py) and, on order, an aioice agent (iceagent.py). Run
it inside a namespace (`ip netns exec fzw-client worldpeer.py`); it takes one JSON order per
line on stdin and writes one JSON event per line on stdout (worldbed.Peer drives it).

Orders (every order is answered by {"event": "ok", "op": …} or {"event": "error", "op": …,
"message": …}, after the events it causes):
  {"op": "connect", "api_url", "path", "token", "topic", "params": {external_id, name,
   public_key?}, "ca_file"?}          join; then every push arrives as
                                      {"event": "portal", "name": …, "payload": …}
  {"op": "push", "event", "payload"}  send an event
  {"op": "call", "event", "payload"}  send and wait for the reply: {"event": "reply", "payload"}
  {"op": "ice_start", "controlling", "local", "remote", "relays", "relay_only"?, "ignore_nets"?}
                                      gather: {"event": "local_candidates", "candidates": [...]}
  {"op": "ice_remote", "candidates"}  add remote candidates
  {"op": "ice_connect", "timeout"?}   {"event": "ice_connected", "local", "remote", "relayed"}
  {"op": "ice_send", "data"}          a datagram on the nominated pair
  {"op": "ice_recv", "timeout"?}      {"event": "ice_data", "data"}
  {"op": "close"}                     leave the portal, close the agent
"""

import asyncio
import base64
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', 'gateway'))
import iceagent  # noqa: E402
import phoenix  # noqa: E402


def emit(**event):
    sys.stdout.write(json.dumps(event) + '\n')
    sys.stdout.flush()


class Peer:
    def __init__(self):
        self.channel = None
        self.agent = None
        self.forwarder = None

    async def forward(self):
        while True:
            item = await self.channel.recv()
            if item is None:
                emit(event='closed')
                return
            emit(event='portal', name=item[0], payload=item[1])

    async def order(self, o):
        op = o['op']
        if op == 'connect':
            params = dict(o['params'])
            params.setdefault('public_key', base64.b64encode(os.urandom(32)).decode())
            self.channel = await phoenix.Channel.connect(o['api_url'], o['path'], o['token'], params, o['topic'],
                                                         ca_file=o.get('ca_file'),
                                                         user_agent=o.get('user_agent', 'Debian/12 worldpeer/1.0.0'))
            emit(event='joined', public_key=params['public_key'])
            self.forwarder = asyncio.ensure_future(self.forward())
        elif op == 'push':
            await self.channel.push(o['event'], o.get('payload', {}))
        elif op == 'call':
            emit(event='reply', payload=await self.channel.call(o['event'], o.get('payload', {})))
        elif op == 'ice_start':
            iceagent.ignore_networks(o.get('ignore_nets', []))
            self.agent = iceagent.Agent(o['controlling'], o['local'], o['remote'], o.get('relays', []),
                                        relay_only=o.get('relay_only', False))
            emit(event='local_candidates', candidates=await self.agent.gather())
        elif op == 'ice_remote':
            emit(event='remote_added', count=await self.agent.add_remote(o['candidates']))
        elif op == 'ice_connect':
            try:
                emit(event='ice_connected', **await self.agent.connect(o.get('timeout', 30)))
            except (ConnectionError, asyncio.TimeoutError) as e:
                emit(event='ice_failed', message=str(e) or type(e).__name__)
        elif op == 'ice_send':
            await self.agent.send(o['data'].encode())
        elif op == 'ice_recv':
            data = await self.agent.recv(o.get('timeout', 10))
            emit(event='ice_data', data=data.decode('utf-8', 'replace'))
        elif op == 'close':
            if self.channel:
                await self.channel.close()
            if self.agent:
                await self.agent.close()
        else:
            raise ValueError(f'unknown op {op!r}')


async def main():
    if os.environ.get('FZ_AIOICE_DEBUG'):
        # aioice only: websockets' debug log would show the X-Authorization header.
        import logging
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
        logging.getLogger('aioice').setLevel(logging.DEBUG)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    peer = Peer()
    emit(event='ready')
    while True:
        line = await reader.readline()
        if not line:
            break
        o = json.loads(line)
        try:
            await peer.order(o)
            emit(event='ok', op=o.get('op'))
        except Exception as e:  # report and keep going: the test decides
            emit(event='error', op=o.get('op'), message=f'{type(e).__name__}: {e}')
    if peer.agent:
        await peer.agent.close()


if __name__ == '__main__':
    asyncio.run(main())
