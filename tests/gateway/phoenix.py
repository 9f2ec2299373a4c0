# SPDX-License-Identifier: Apache-2.0
"""A small Phoenix channel client over WebSocket (python3-websockets), for the test gateway's
controller and the test world's scripted peers. One channel per connection, as Firezone's
devices use it (docs/portal-protocol.md)."""

import asyncio
import base64
import itertools
import json
import ssl
import urllib.parse

import websockets

HEARTBEAT_INTERVAL = 30  # Firezone's devices; the portal's idle timeout is 37 s


class ChannelError(Exception):
    pass


class Channel:
    """Connect, join `topic`, then push events and read what the portal sends.

    Pushes from the portal (init, create_authorization, ice_candidates, …) are queued and read
    with recv(); replies to our pushes complete call()."""

    def __init__(self, ws, topic):
        self.ws = ws
        self.topic = topic
        self.refs = itertools.count(1)
        self.replies = {}  # ref -> future
        self.queue = asyncio.Queue()
        self.reader = asyncio.ensure_future(self._read())
        self.heart = asyncio.ensure_future(self._heartbeat())

    @classmethod
    async def connect(cls, api_url, path, token, params, topic, ca_file=None, user_agent=None, timeout=10):
        """api_url: ws(s)://host:port/ ; path: 'gateway/v2/websocket' or 'client/v2/websocket'."""
        base = api_url if api_url.endswith('/') else api_url + '/'
        url = base + path + '?' + urllib.parse.urlencode(params)
        ctx = None
        if url.startswith('wss://'):
            ctx = ssl.create_default_context(cafile=ca_file)
        headers = {'X-Authorization': f'Bearer {token}'}
        if user_agent:
            headers['User-Agent'] = user_agent
        ws = await asyncio.wait_for(websockets.connect(url, ssl=ctx, extra_headers=headers, ping_interval=None,
                                                       max_size=2 ** 24, compression=None), timeout)
        ch = cls(ws, topic)
        reply = await ch.call('phx_join', {}, timeout=timeout)
        if reply.get('status') != 'ok':
            await ch.close()
            raise ChannelError(f'join refused: {reply}')
        return ch

    async def _read(self):
        try:
            async for text in self.ws:
                msg = json.loads(text)
                if msg.get('event') == 'phx_reply':
                    fut = self.replies.pop(str(msg.get('ref')), None)
                    if fut is not None and not fut.done():
                        fut.set_result(msg.get('payload') or {})
                    continue
                if msg.get('topic') != self.topic:
                    continue
                await self.queue.put((msg['event'], msg.get('payload')))
        except websockets.ConnectionClosed:
            pass
        finally:
            await self.queue.put(None)  # end of stream
            for fut in self.replies.values():
                if not fut.done():
                    fut.set_exception(ChannelError('connection closed'))

    async def _heartbeat(self):
        while True:
            await asyncio.sleep(HEARTBEAT_INTERVAL)
            try:
                await self.ws.send(json.dumps({'topic': 'phoenix', 'event': 'heartbeat', 'payload': {},
                                               'ref': str(next(self.refs))}))
            except websockets.ConnectionClosed:
                return

    async def push(self, event, payload):
        ref = str(next(self.refs))
        await self.ws.send(json.dumps({'topic': self.topic, 'event': event, 'payload': payload, 'ref': ref}))
        return ref

    async def call(self, event, payload, timeout=10):
        ref = str(next(self.refs))
        fut = asyncio.get_running_loop().create_future()
        self.replies[ref] = fut
        await self.ws.send(json.dumps({'topic': self.topic, 'event': event, 'payload': payload, 'ref': ref}))
        return await asyncio.wait_for(fut, timeout)

    async def recv(self, timeout=None):
        """The next (event, payload) the portal pushed, or None once the connection is gone."""
        item = await asyncio.wait_for(self.queue.get(), timeout)
        if item is None:
            await self.queue.put(None)  # stay at end of stream
        return item

    async def close(self):
        self.heart.cancel()
        await self.ws.close()
        await self.reader


def valid_public_key(key):
    try:
        return len(key) == 44 and len(base64.b64decode(key, validate=True)) == 32
    except ValueError:
        return False
