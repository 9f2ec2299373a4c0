#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""An independent ICE agent for interop tests: python3-aioice behind JSON lines.

  stdin  {"op": "start", "controlling": bool, "turn": [ip, port, username, password]?, "ipv6": bool?}
         {"op": "remote", "ufrag": …, "pwd": …, "candidates": ["candidate:…", …]}
         {"op": "send", "data": "…"}   {"op": "quit"}
  stdout {"event": "candidates", "ufrag", "pwd", "candidates": ["candidate:…"]}
         {"event": "connected", "elapsed_ms", "pair": [local, remote]}  {"event": "failed", "error"}
         {"event": "data", "data": "…"}  {"event": "error", "error": "…"}

Candidates carry the `candidate:` prefix of Firezone's wire form. Logs go to stderr.
"""

import asyncio
import json
import logging
import sys

import aioice


def emit(**kw):
    sys.stdout.write(json.dumps(kw) + '\n')
    sys.stdout.flush()


async def main():
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    conn = None
    tasks = []

    async def receive():
        while True:
            try:
                data = await conn.recv()
            except ConnectionError as e:
                emit(event='closed', error=str(e))
                return
            emit(event='data', data=data.decode('utf-8', 'replace'))

    async def connect():
        t0 = loop.time()
        try:
            await conn.connect()
        except ConnectionError as e:
            emit(event='failed', error=str(e))
            return
        pair = conn._nominated.get(1)
        emit(event='connected', elapsed_ms=(loop.time() - t0) * 1000,
             pair=[pair.local_candidate.to_sdp(), pair.remote_candidate.to_sdp()] if pair else None)
        tasks.append(asyncio.ensure_future(receive()))

    while True:
        line = await reader.readline()
        if not line:
            break
        order = json.loads(line)
        op = order.get('op')
        try:
            if op == 'start':
                v6 = order.get('ipv6', False)
                kw = dict(ice_controlling=order['controlling'], use_ipv4=not v6, use_ipv6=v6)
                turn = order.get('turn')
                if turn:
                    kw.update(turn_server=(turn[0], turn[1]), turn_username=turn[2], turn_password=turn[3])
                conn = aioice.Connection(**kw)
                await conn.gather_candidates()
                emit(event='candidates', ufrag=conn.local_username, pwd=conn.local_password,
                     candidates=['candidate:' + c.to_sdp() for c in conn.local_candidates])
            elif op == 'remote':
                conn.remote_username = order['ufrag']
                conn.remote_password = order['pwd']
                for c in order['candidates']:
                    await conn.add_remote_candidate(aioice.Candidate.from_sdp(c.split(':', 1)[1]))
                await conn.add_remote_candidate(None)
                tasks.append(asyncio.ensure_future(connect()))
            elif op == 'send':
                await conn.send(order['data'].encode())
            elif op == 'quit':
                break
        except Exception as e:  # report, keep serving: the test decides
            emit(event='error', error=f'{type(e).__name__}: {e}')
    for t in tasks:
        t.cancel()
    if conn:
        await conn.close()


if __name__ == '__main__':
    asyncio.run(main())
