#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The test gateway's controller: the portal side of a Firezone gateway, driving a data-plane
process over JSON lines (tests/gateway/README.md).

It connects to the portal as a gateway (/gateway/v2/websocket, topic `gateway`, the site's
token in X-Authorization), forwards what the portal says (init, create_authorization,
ice_candidates, reject_access, relays_presence, resource_updated) to the data plane as orders,
answers create_authorization with authorization_created{ref} once the data plane has taken
the authorization, and sends the data plane's ICE candidates to the portal. It reconnects to
the portal with backoff; the data plane (and every connection it holds) stays up meanwhile.

  FIREZONE_TOKEN=<gateway token> gateway.py --api-url wss://HOST:PORT/ [--ca-file CA]
      --external-id ID [--name NAME] [--control PATH] -- DATAPLANE [ARGS...]

The token is read from the environment and removed from it before the data plane starts.
Logs go to stderr ("gateway: …"). Stop it with SIGTERM: the data plane gets EOF on stdin and
tears everything down. The controller exits with the data plane's exit code if that ends
first.
"""

import argparse
import asyncio
import itertools
import json
import os
import random
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import phoenix  # noqa: E402

PATH = 'gateway/v2/websocket'
JOURNAL_MAX = 20000


def log(*args):
    print('gateway:', *args, file=sys.stderr, flush=True)


class Controller:
    def __init__(self, args, token):
        self.args = args
        self.token = token
        self.dp = None
        self.public_key = None
        self.channel = None
        self.ids = itertools.count(1)
        self.answers = {}  # order id -> future
        self.portal_wanted = asyncio.Event()
        self.portal_wanted.set()
        self.joined = asyncio.Event()
        self.done = asyncio.Event()
        self.exit_code = 0
        self.journal = []
        self.seq = itertools.count(1)
        self.changed = asyncio.Condition()
        self.stats = {'portal_connects': 0, 'portal_joins': 0, 'authorizations': 0, 'authorization_errors': 0}
        self.unsent = []  # (event, payload) for the portal while it is away
        # Candidates go to the portal only after authorization_created for that client, so
        # that the client knows the gateway before its candidates arrive.
        self.announced = set()  # client ids
        self.held = {}  # client id -> [(event, payload)]

    # ---- the data plane ------------------------------------------------------------------
    async def start_dataplane(self):
        env = {k: v for k, v in os.environ.items() if k != 'FIREZONE_TOKEN'}
        self.dp = await asyncio.create_subprocess_exec(*self.args.dataplane, stdin=asyncio.subprocess.PIPE,
                                                       stdout=asyncio.subprocess.PIPE, env=env, limit=2 ** 24)
        first = await self.dp.stdout.readline()
        if not first:
            raise RuntimeError(f'the data plane exited before it was ready (code {await self.dp.wait()})')
        ready = json.loads(first)
        if ready.get('event') != 'ready' or not phoenix.valid_public_key(ready.get('public_key', '')):
            raise RuntimeError(f'the data plane\'s first line is not a valid ready event: {first!r}')
        await self.record('dataplane', 'in', ready)
        self.public_key = ready['public_key']
        log(f'data plane ready (pid {self.dp.pid})')

    async def order(self, op, wait=True, **fields):
        """Send an order; with wait, return its answer (ok or error event)."""
        o = {'op': op, **fields}
        fut = None
        if wait:
            o['id'] = next(self.ids)
            fut = asyncio.get_running_loop().create_future()
            self.answers[o['id']] = fut
        await self.record('dataplane', 'out', o)
        self.dp.stdin.write((json.dumps(o) + '\n').encode())
        await self.dp.stdin.drain()
        return await fut if fut else None

    async def read_dataplane(self):
        while True:
            line = await self.dp.stdout.readline()
            if not line:
                break
            try:
                ev = json.loads(line)
                name = ev['event']
            except (ValueError, KeyError, TypeError):
                log(f'ignoring a malformed line from the data plane: {line[:200]!r}')
                continue
            await self.record('dataplane', 'in', ev)
            if name in ('ok', 'error') and ev.get('id') in self.answers:
                self.answers.pop(ev['id']).set_result(ev)
            elif name in ('candidates', 'invalidated_candidates'):
                # DESIGN §7.5 names these ice_candidates/invalidate_ice_candidates; Firezone's
                # gateways send broadcast_(invalidated_)ice_candidates. The local portal takes both.
                out = 'ice_candidates' if name == 'candidates' else 'invalidate_ice_candidates'
                msg = (out, {'client_ids': [ev['client_id']], 'candidates': ev['candidates']})
                if ev['client_id'] in self.announced:
                    await self.to_portal(*msg)
                else:
                    self.held.setdefault(ev['client_id'], []).append(msg)
            elif name == 'no_relays':
                await self.to_portal('no_relays', {})
            elif name == 'connection':
                log(f'client {ev.get("client_id")}: {ev.get("state")}')
        code = await self.dp.wait()
        log(f'the data plane exited with code {code}')
        self.exit_code = code if code >= 0 else 128 - code
        for fut in self.answers.values():
            fut.set_result({'event': 'error', 'message': 'the data plane exited'})
        self.done.set()

    # ---- the portal ----------------------------------------------------------------------
    async def to_portal(self, event, payload):
        await self.record('portal', 'out', {'event': event, 'payload': payload})
        if self.channel is None:
            self.unsent.append((event, payload))
            return
        try:
            await self.channel.push(event, payload)
        except Exception as e:  # the connection went away: send it after the next join
            log(f'could not send {event} ({type(e).__name__}); queued')
            self.unsent.append((event, payload))

    async def portal_loop(self):
        delay = 0.5  # Firezone's backoff: 0.5 s, ×1.5, at most 60 s, ±50 %
        while not self.done.is_set():
            await self.portal_wanted.wait()
            params = {'external_id': self.args.external_id, 'name': self.args.name or self.args.external_id,
                      'public_key': self.public_key}
            self.stats['portal_connects'] += 1
            try:
                ch = await phoenix.Channel.connect(self.args.api_url, PATH, self.token, params, 'gateway',
                                                   ca_file=self.args.ca_file,
                                                   user_agent='Debian/12 fz-test-gateway/0.1.0')
            except Exception as e:
                if '401' in str(e):
                    log('the portal refused the token (401); giving up')
                    self.exit_code = 2
                    self.done.set()
                    return
                wait = delay * random.uniform(0.5, 1.5)
                log(f'could not connect to the portal ({type(e).__name__}: {e}); retrying in {wait:.1f} s')
                await asyncio.sleep(wait)  # backoff between attempts, not synchronisation
                delay = min(delay * 1.5, 60)
                continue
            self.channel = ch
            delay = 0.5
            try:
                await self.serve_portal(ch)
            finally:
                self.channel = None
                self.joined.clear()
                await ch.close()
            log('disconnected from the portal')

    async def serve_portal(self, ch):
        while True:
            item = await ch.recv()
            if item is None or not self.portal_wanted.is_set():
                return
            event, payload = item
            await self.record('portal', 'in', {'event': event, 'payload': payload})
            p = payload if isinstance(payload, dict) else {}
            if event == 'init':
                answer = await self.order('init', interface=p.get('interface'), config=p.get('config'),
                                          relays=p.get('relays', []), authorizations=p.get('authorizations', []))
                if answer['event'] != 'ok':
                    log(f'the data plane refused init: {answer.get("message")}')
                if not self.joined.is_set():
                    self.stats['portal_joins'] += 1
                    self.joined.set()
                    log(f'joined the portal as {self.args.external_id}')
                    unsent, self.unsent = self.unsent, []
                    for e, pl in unsent:
                        await self.to_portal(e, pl)
                    await self.bump()
            elif event == 'create_authorization':
                asyncio.ensure_future(self.authorize(ch, p))
            elif event == 'ice_candidates':
                await self.order('remote_candidates', wait=False, client_id=p.get('client_id'),
                                 candidates=p.get('candidates', []))
            elif event == 'invalidate_ice_candidates':
                await self.order('invalidate_remote_candidates', wait=False, client_id=p.get('client_id'),
                                 candidates=p.get('candidates', []))
            elif event == 'reject_access':
                await self.order('reject_access', client_id=p.get('client_id'), resource_id=p.get('resource_id'))
            elif event == 'resource_updated':
                await self.order('resource_updated', resource=payload)
            elif event == 'relays_presence':
                await self.order('relays', connected=p.get('connected', []),
                                 disconnected_ids=p.get('disconnected_ids', []))
            elif event == 'disconnect':
                log(f'the portal ended the session ({p.get("reason")}); exiting')
                self.exit_code = 3
                self.done.set()
                return
            else:
                log(f'ignoring portal event {event!r}')

    async def authorize(self, ch, p):
        """create_authorization → the data plane's `authorize` → authorization_created{ref}.
        A refused authorization gets no answer: the portal times the client out (as Firezone).
        Candidates the data plane announces meanwhile wait for authorization_created, also for a
        client we know: one that reset has no connection to us until then, and would drop
        them (the data plane re-announces them for a reused connection, as Firezone's do)."""
        cid = (p.get('client') or {}).get('id')
        was_announced = cid in self.announced
        self.announced.discard(cid)
        answer = await self.order('authorize', client=p.get('client'), resource=p.get('resource'),
                                  local_ice=p.get('gateway_ice_credentials'),
                                  remote_ice=p.get('client_ice_credentials'),
                                  expires_at=p.get('expires_at'), use_iceless=p.get('use_iceless', False))
        if answer['event'] != 'ok':
            self.stats['authorization_errors'] += 1
            log(f'the data plane refused an authorization: {answer.get("message")}')
            if was_announced:  # the existing connection goes on
                self.announced.add(cid)
                for msg in self.held.pop(cid, []):
                    await self.to_portal(*msg)
            await self.bump()
            return
        self.stats['authorizations'] += 1
        await self.record('portal', 'out', {'event': 'authorization_created', 'payload': {'ref': p.get('ref')}})
        try:
            reply = await ch.call('authorization_created', {'ref': p.get('ref')})
            if reply.get('status') != 'ok':
                log(f'the portal refused authorization_created: {reply}')
        except Exception as e:
            log(f'could not answer create_authorization ({type(e).__name__})')
        self.announced.add(cid)
        for msg in self.held.pop(cid, []):
            await self.to_portal(*msg)
        await self.bump()

    # ---- control (tests) -----------------------------------------------------------------
    async def bump(self):
        async with self.changed:
            self.changed.notify_all()

    async def record(self, peer, direction, msg):
        async with self.changed:
            self.journal.append({'seq': next(self.seq), 'peer': peer, 'direction': direction,
                                 'event': msg.get('event') or msg.get('op'), 'message': msg})
            if len(self.journal) > JOURNAL_MAX:
                del self.journal[:len(self.journal) - JOURNAL_MAX]
            self.changed.notify_all()

    def find(self, o):
        out = []
        match = o.get('match') or {}
        for m in self.journal:
            if m['seq'] <= int(o.get('after', 0)):
                continue
            if any(o.get(k) is not None and m[k] != o[k] for k in ('peer', 'direction', 'event')):
                continue
            body = m['message'].get('payload', m['message']) if m['peer'] == 'portal' else m['message']
            if isinstance(body, dict) and all(body.get(k) == v for k, v in match.items()):
                out.append(m)
        return out

    async def control(self, o):
        op = o.get('op')
        if op == 'status':
            return {'joined': self.joined.is_set(), 'public_key': self.public_key, 'dataplane_pid': self.dp.pid,
                    **self.stats, 'last_seq': self.journal[-1]['seq'] if self.journal else 0}
        if op in ('wait_event', 'events'):
            count = int(o.get('count', 1))
            if op == 'wait_event':
                async with self.changed:
                    try:
                        await asyncio.wait_for(self.changed.wait_for(lambda: len(self.find(o)) >= count),
                                               float(o.get('timeout', 20)))
                    except asyncio.TimeoutError:
                        raise TimeoutError(f'no {count} event(s) matching {o}; last: '
                                           f'{[(m["peer"], m["direction"], m["event"]) for m in self.journal[-20:]]}')
                return {'events': self.find(o)[:count]}
            return {'events': self.find(o)}
        if op == 'dataplane':
            order = dict(o['order'])
            return await self.order(order.pop('op'), **order)
        if op == 'portal_disconnect':
            self.portal_wanted.clear()
            if self.channel:
                await self.channel.close()
            return {}
        if op == 'portal_connect':
            self.portal_wanted.set()
            return {}
        if op == 'stop':
            self.done.set()
            return {}
        raise ValueError(f'unknown op {op!r}')

    async def control_client(self, reader, writer):
        while True:
            line = await reader.readline()
            if not line:
                break
            try:
                reply = {'ok': await self.control(json.loads(line))}
            except Exception as e:
                reply = {'error': f'{type(e).__name__}: {e}'}
            writer.write((json.dumps(reply) + '\n').encode())
            await writer.drain()
        writer.close()


async def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--api-url', required=True)
    ap.add_argument('--ca-file')
    ap.add_argument('--external-id', required=True)
    ap.add_argument('--name')
    ap.add_argument('--control', help='control socket for tests (JSON lines)')
    ap.add_argument('dataplane', nargs='+', help='the data-plane program and its arguments (after --)')
    args = ap.parse_args()
    token = os.environ.get('FIREZONE_TOKEN')
    if not token:
        ap.error('FIREZONE_TOKEN (the gateway token) is not set')

    c = Controller(args, token)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, c.done.set)
    await c.start_dataplane()
    reader = asyncio.ensure_future(c.read_dataplane())
    server = None
    if args.control:
        if os.path.exists(args.control):
            os.unlink(args.control)
        server = await asyncio.start_unix_server(c.control_client, args.control)
    log(f'control socket {args.control}' if args.control else 'no control socket')
    portal = asyncio.ensure_future(c.portal_loop())
    await c.done.wait()
    portal.cancel()
    if c.channel:
        await c.channel.close()
    if server:
        server.close()
    if c.dp.returncode is None:
        c.dp.stdin.close()  # EOF: the data plane tears down and exits
        try:
            await asyncio.wait_for(c.dp.wait(), 20)
        except asyncio.TimeoutError:
            c.dp.kill()
    await reader
    return c.exit_code


if __name__ == '__main__':
    sys.exit(asyncio.run(main()))
