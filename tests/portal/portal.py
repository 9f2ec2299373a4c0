#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A local Firezone portal for tests, demos and benchmarks.

Speaks the client side of Firezone's portal protocol (Phoenix channels over WebSocket, see
docs/portal-protocol.md) on loopback, over ws:// and over wss:// with a test CA generated at
start. Serves one account from a JSON file (tests/portal/README.md) and takes orders on a
control socket (JSON lines) to push updates, drop connections, answer errors, etc.

  portal.py [--account FILE] [--token TOKEN] [--ws-port N] [--wss-port N] [--tls-dir DIR]
            [--control PATH] [--ready-file PATH] [--generate N]

When ready it prints one JSON line on stdout (and writes it to --ready-file):
  {"ready": true, "ws_url": "ws://127.0.0.1:P/", "wss_url": "wss://localhost:Q/",
   "ca_file": ".../ca.crt", "control": ".../control.sock", "pid": N}
Stop it with SIGTERM or {"op": "stop"}.
"""

import argparse
import asyncio
import base64
import http
import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import urllib.parse

import websockets
import websockets.server

WS_PATH = '/client/v2/websocket'


def log(*args):
    print('portal:', *args, file=sys.stderr, flush=True)


def make_tls(dir_):
    """A CA and a server certificate for localhost/127.0.0.1/::1, made with the openssl CLI."""
    ca_key, ca_crt = os.path.join(dir_, 'ca.key'), os.path.join(dir_, 'ca.crt')
    key, csr, crt = (os.path.join(dir_, n) for n in ('server.key', 'server.csr', 'server.crt'))
    if not (os.path.exists(ca_crt) and os.path.exists(crt)):
        def run(*argv):
            subprocess.run(['openssl', *argv], check=True, capture_output=True)
        run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', ca_key,
            '-out', ca_crt, '-days', '2', '-subj', '/CN=Firezone local portal test CA',
            '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
        run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr,
            '-subj', '/CN=localhost')
        ext = os.path.join(dir_, 'server.ext')
        with open(ext, 'w') as f:
            f.write('subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n'
                    'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n')
        run('x509', '-req', '-in', csr, '-CA', ca_crt, '-CAkey', ca_key, '-CAcreateserial', '-out', crt,
            '-days', '2', '-extfile', ext)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    return ctx, ca_crt


def generated_resources(n):
    out = []
    for i in range(n):
        kind = 'dns' if i % 2 else 'cidr'
        rid = f'00000000-0000-4000-8000-{i:012d}'
        if kind == 'cidr':
            address = f'10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}/32'
        else:
            address = f'host{i}.bench.example.com'
        out.append({'id': rid, 'type': kind, 'name': f'Resource {i:05d}', 'address': address,
                    'address_description': f'generated resource {i}',
                    'gateway_groups': [{'id': 'bf56f32d-7b2c-4f5d-a784-788977d014a4', 'name': 'Bench site'}],
                    'filters': []})
    return out


class Portal:
    def __init__(self, account, token):
        self.account = account
        self.token = token
        self.clients = set()  # joined connections
        self.connections = set()
        self.answer_heartbeats = True
        self.fail_next = []  # [(status, headers, body)]
        self.join_refusal = None  # a reason: phx_join is answered with an error reply
        self.stats = {'connects': 0, 'upgrades': 0, 'joins': 0, 'heartbeats': 0, 'heartbeats_answered': 0,
                      'rejected': 0,
                      'last_query': None, 'last_user_agent': None, 'auth_header_seen': False}
        self.changed = asyncio.Condition()

    # ---- HTTP upgrade --------------------------------------------------------------------
    async def process_request(self, path, headers):
        self.stats['connects'] += 1
        url = urllib.parse.urlsplit(path)
        query = dict(urllib.parse.parse_qsl(url.query))
        self.stats['last_query'] = query
        self.stats['last_user_agent'] = headers.get('User-Agent')
        if self.fail_next:
            status, extra, body = self.fail_next.pop(0)
            self.stats['rejected'] += 1
            log(f'answering {status} as ordered')
            return http.HTTPStatus(status), extra, body.encode()
        if url.path != WS_PATH:
            return http.HTTPStatus.NOT_FOUND, [], b'Not found\n'
        auth = headers.get('X-Authorization', '')
        self.stats['auth_header_seen'] = bool(auth)
        if 'token' in query:
            # The token belongs in the header, never in the URL.
            return http.HTTPStatus.BAD_REQUEST, [], b'Token in the query string\n'
        if not auth.startswith('Bearer ') or auth[len('Bearer '):] != self.token:
            self.stats['rejected'] += 1
            log('rejecting a connection: invalid token')
            return http.HTTPStatus.UNAUTHORIZED, [], b'Invalid token\n'
        key = query.get('public_key', '')
        try:
            ok = len(key) == 44 and len(base64.b64decode(key, validate=True)) == 32
        except ValueError:
            ok = False
        if not ok or not query.get('external_id') or not query.get('name'):
            return http.HTTPStatus.UNPROCESSABLE_ENTITY, [], b'Invalid or missing connection parameters\n'
        return None

    # ---- the channel -----------------------------------------------------------------------
    async def handler(self, ws, path=None):
        self.stats['upgrades'] += 1
        self.connections.add(ws)
        try:
            async for text in ws:
                try:
                    msg = json.loads(text)
                    topic, event, ref = msg['topic'], msg['event'], msg.get('ref')
                except (ValueError, KeyError, TypeError):
                    log('ignoring a malformed frame from the client')
                    continue
                if topic == 'phoenix' and event == 'heartbeat':
                    if self.answer_heartbeats:
                        await self.send(ws, 'phoenix', 'phx_reply', {'status': 'ok', 'response': {}}, ref)
                        await self.bump('heartbeats_answered')
                    await self.bump('heartbeats')
                elif topic == 'client' and event == 'phx_join' and self.join_refusal is not None:
                    await self.send(ws, 'client', 'phx_reply',
                                    {'status': 'error', 'response': {'reason': self.join_refusal}}, ref)
                elif topic == 'client' and event == 'phx_join':
                    await self.send(ws, 'client', 'phx_reply', {'status': 'ok', 'response': {}}, ref)
                    self.clients.add(ws)
                    await self.send(ws, 'client', 'init', {
                        'interface': self.account.get('interface', {}),
                        'resources': self.account.get('resources', []),
                        'relays': [],
                    })
                    await self.bump('joins')
                else:
                    log(f'ignoring client event {event!r} on {topic!r}')
        except websockets.ConnectionClosed:
            pass
        finally:
            self.clients.discard(ws)
            self.connections.discard(ws)

    async def bump(self, key):
        async with self.changed:
            self.stats[key] = self.stats.get(key, 0) + 1
            self.changed.notify_all()

    async def send(self, ws, topic, event, payload, ref=None):
        await ws.send(json.dumps({'topic': topic, 'event': event, 'payload': payload, 'ref': ref}))

    async def broadcast_raw(self, text):
        for ws in list(self.clients):
            try:
                await ws.send(text)
            except websockets.ConnectionClosed:
                pass
        return len(self.clients)

    async def broadcast(self, event, payload):
        return await self.broadcast_raw(json.dumps({'topic': 'client', 'event': event, 'payload': payload,
                                                    'ref': None}))

    # ---- control -----------------------------------------------------------------------------
    async def control(self, order):
        op = order.get('op')
        if op == 'status':
            return {'clients': len(self.clients), 'connections': len(self.connections), **self.stats,
                    'resources': len(self.account.get('resources', []))}
        if op == 'upsert':
            r = order['resource']
            res = [x for x in self.account.setdefault('resources', []) if x.get('id') != r.get('id')]
            res.append(r)
            self.account['resources'] = res
            return {'sent': await self.broadcast('resource_created_or_updated', r)}
        if op == 'delete':
            self.account['resources'] = [x for x in self.account.get('resources', []) if x.get('id') != order['id']]
            return {'sent': await self.broadcast('resource_deleted', order['id'])}
        if op == 'config_changed':
            self.account['interface'] = order['interface']
            return {'sent': await self.broadcast('config_changed', {'interface': order['interface']})}
        if op == 'push':
            return {'sent': await self.broadcast(order['event'], order.get('payload'))}
        if op == 'send_raw':
            return {'sent': await self.broadcast_raw(order['text'])}
        if op == 'send_oversized':
            pad = 'x' * int(order['bytes'])
            return {'sent': await self.broadcast_raw(json.dumps({'topic': 'client', 'event': 'pad',
                                                                 'payload': pad, 'ref': None}))}
        if op == 'disconnect':
            n = await self.broadcast('disconnect', {'reason': order.get('reason', 'token_expired')})
            for ws in list(self.clients):
                await ws.close()
            return {'sent': n}
        if op == 'drop':
            n = len(self.connections)
            for ws in list(self.connections):
                ws.transport.abort()
            return {'dropped': n}
        if op == 'fail_next':
            headers = []
            if order.get('retry_after') is not None:
                headers.append(('Retry-After', str(order['retry_after'])))
            for _ in range(int(order.get('count', 1))):
                self.fail_next.append((int(order['status']), headers, order.get('body', 'Error\n')))
            return {'queued': len(self.fail_next)}
        if op == 'refuse_join':
            # Any text, hostile included: what a portal may say when it refuses a client.
            self.join_refusal = order.get('reason')
            return {'reason': self.join_refusal}
        if op == 'heartbeats':
            self.answer_heartbeats = bool(order['answer'])
            return {'answer': self.answer_heartbeats}
        if op == 'set_token':
            self.token = order['token']
            return {}
        if op == 'wait_stat':
            # Blocks until stats[key] >= count (an event, not a poll): e.g. joins, heartbeats.
            key, count = order['key'], int(order['count'])
            async with self.changed:
                await asyncio.wait_for(self.changed.wait_for(lambda: self.stats.get(key, 0) >= count),
                                       float(order.get('timeout', 20)))
            return {key: self.stats.get(key, 0)}
        if op == 'stop':
            asyncio.get_running_loop().call_soon(stop_event.set)
            return {}
        raise ValueError(f'unknown op {op!r}')

    async def control_client(self, reader, writer):
        while True:
            line = await reader.readline()
            if not line:
                break
            try:
                reply = {'ok': await self.control(json.loads(line))}
            except Exception as e:  # report, keep serving
                reply = {'error': f'{type(e).__name__}: {e}'}
            writer.write((json.dumps(reply) + '\n').encode())
            await writer.drain()
        writer.close()


stop_event = None


async def main():
    global stop_event
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--account', default=os.path.join(os.path.dirname(os.path.abspath(__file__)), 'demo-account.json'))
    ap.add_argument('--token', help='the accepted bearer token (default: the account file\'s "token")')
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--ws-port', type=int, default=0)
    ap.add_argument('--wss-port', type=int, default=0)
    ap.add_argument('--tls-dir', help='where the test CA lives (made if missing; default: a temp dir)')
    ap.add_argument('--control', help='control socket path (default: in the TLS dir)')
    ap.add_argument('--ready-file')
    ap.add_argument('--generate', type=int, default=0, help='serve N generated resources instead of the file\'s')
    args = ap.parse_args()

    with open(args.account) as f:
        account = json.load(f)
    if args.generate:
        account['resources'] = generated_resources(args.generate)
    token = args.token or account.pop('token', None)
    account.pop('token', None)
    if not token:
        ap.error('no token: give --token or "token" in the account file')

    tls_dir = args.tls_dir or tempfile.mkdtemp(prefix='fz-portal-')
    os.makedirs(tls_dir, exist_ok=True)
    ssl_ctx, ca_file = make_tls(tls_dir)
    control_path = args.control or os.path.join(tls_dir, 'control.sock')
    if os.path.exists(control_path):
        os.unlink(control_path)

    portal = Portal(account, token)
    stop_event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_event.set)

    common = dict(process_request=portal.process_request, ping_interval=None, max_size=2 ** 24,
                  compression=None)
    ws_server = await websockets.serve(portal.handler, args.host, args.ws_port, **common)
    wss_server = await websockets.serve(portal.handler, args.host, args.wss_port, ssl=ssl_ctx, **common)
    ctl = await asyncio.start_unix_server(portal.control_client, control_path)
    ws_port = ws_server.sockets[0].getsockname()[1]
    wss_port = wss_server.sockets[0].getsockname()[1]
    ready = {'ready': True, 'ws_url': f'ws://{args.host}:{ws_port}/', 'wss_url': f'wss://localhost:{wss_port}/',
             'ws_port': ws_port, 'wss_port': wss_port, 'ca_file': ca_file, 'control': control_path,
             'tls_dir': tls_dir, 'pid': os.getpid(), 'resources': len(account.get('resources', []))}
    if args.ready_file:
        tmp = args.ready_file + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(ready, f)
        os.rename(tmp, args.ready_file)
    print(json.dumps(ready), flush=True)
    log(f'serving {len(account.get("resources", []))} resources on ws port {ws_port} and wss port {wss_port}')

    await stop_event.wait()
    for s in (ws_server, wss_server, ctl):
        s.close()
    for ws in list(portal.connections):
        ws.transport.abort()
    await ws_server.wait_closed()
    await wss_server.wait_closed()
    if os.path.exists(control_path):
        os.unlink(control_path)


if __name__ == '__main__':
    asyncio.run(main())
