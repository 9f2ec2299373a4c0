#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A local Firezone portal for tests, demos and benchmarks.

Speaks both sides of Firezone's portal protocol (Phoenix channels over WebSocket, see
docs/portal-protocol.md): clients on /client/v2/websocket and gateways on
/gateway/v2/websocket, over ws:// and over wss:// with a test CA generated at start. Serves
one account from a JSON file (tests/portal/README.md), brokers authorizations between
clients and the gateways of a resource's site, relays ICE candidates both ways, mints relay
(coturn) credentials, and takes orders on a control socket (JSON lines) to push updates,
drop connections, take gateways offline, rotate relay credentials, answer errors, etc.

  portal.py [--account FILE] [--token TOKEN] [--host ADDR]... [--ws-port N] [--wss-port N]
            [--tls-dir DIR] [--tls-name NAME]... [--control PATH] [--ready-file PATH]
            [--state FILE] [--generate N]

When ready it prints one JSON line on stdout (and writes it to --ready-file):
  {"ready": true, "ws_url": "ws://127.0.0.1:P/", "wss_url": "wss://localhost:Q/",
   "ca_file": ".../ca.crt", "control": ".../control.sock", "pid": N}
Stop it with SIGTERM or {"op": "stop"}.
"""

import argparse
import asyncio
import base64
import http
import ipaddress
import itertools
import json
import os
import re
import secrets
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid

import websockets
import websockets.frames
import websockets.server

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import credentials  # noqa: E402

WS_PATH = '/client/v2/websocket'
GATEWAY_WS_PATH = '/gateway/v2/websocket'
# Device ids are derived from what a device reports (its external_id), so a device that
# reconnects keeps its id, as in Firezone's portal.
ID_NAMESPACE = uuid.UUID('5d7b0f8e-7e55-4a34-9d3e-1f6a3bc0c0de')
# Firezone: authorization_creation_timeout_ms, 15 s (client/channel/shared.ex).
AUTHORIZATION_TIMEOUT = 15.0
CLIENT_RELAY_LIFETIME = 7 * 86400
AUTHORIZATION_LIFETIME = 7 * 86400
FLOW_LOGS = {'api_url': 'http://127.0.0.1:9/', 'upload_interval_secs': 0, 'upload_batch_size': 0}
INGEST_TOKEN = 'local-portal-flow-logs-ingest-token'
JOURNAL_MAX = 20000


def log(*args):
    print('portal:', *args, file=sys.stderr, flush=True)


def make_tls(dir_, names=()):
    """A CA and a server certificate for localhost/127.0.0.1/::1 (and the extra names or
    addresses given), made with the openssl CLI."""
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
        sans = ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1']
        for n in names:
            try:
                ipaddress.ip_address(n)
                sans.append(f'IP:{n}')
            except ValueError:
                sans.append(f'DNS:{n}')
        ext = os.path.join(dir_, 'server.ext')
        with open(ext, 'w') as f:
            f.write(f'subjectAltName={",".join(sans)}\n'
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


def resource_sites(resource):
    return [s.get('id') for s in resource.get('gateway_groups', resource.get('sites', [])) or []
            if isinstance(s, dict)]


def gateway_view(resource):
    """A resource as Firezone's portal renders it for a gateway (gateway/views/resource.ex)."""
    if resource.get('type') == 'internet':
        return {'id': resource['id'], 'type': 'internet'}
    return {'id': resource['id'], 'type': resource.get('type'), 'address': resource.get('address'),
            'name': resource.get('name'), 'filters': resource.get('filters', [])}


def parse_user_agent(ua):
    """Firezone's Views.Client.parse_user_agent: "OS/version app/version ..." → (os, os version, app version)."""
    m = re.match(r'^([^/]+)/(\S+) [^/]+/(\S+)', ua or '')
    return m.groups() if m else (ua, None, None)


def payload_matches(payload, match):
    if not match:
        return True
    if not isinstance(payload, dict):
        return False
    return all(payload.get(k) == v for k, v in match.items())


class Session:
    """One WebSocket connection of a client or a gateway."""

    def __init__(self, kind, ws, query, headers, site_id=None):
        self.kind = kind
        self.ws = ws
        self.external_id = query.get('external_id', '')
        self.name = query.get('name', '')
        self.public_key = query.get('public_key', '')
        self.user_agent = headers.get('User-Agent')
        self.site_id = site_id
        prefix = f'gateway:{site_id}:' if kind == 'gateway' else 'client:'
        self.id = str(uuid.uuid5(ID_NAMESPACE, prefix + self.external_id))
        self.joined = False
        self.iceless = False
        self.ipv4 = self.ipv6 = None

    def describe(self):
        return {'id': self.id, 'external_id': self.external_id, 'name': self.name, 'public_key': self.public_key,
                'site_id': self.site_id, 'ipv4': self.ipv4, 'ipv6': self.ipv6, 'joined': self.joined,
                'iceless': self.iceless, 'user_agent': self.user_agent}


class Portal:
    def __init__(self, account, token, state_path=None):
        self.state_path = state_path
        self.account = account
        self.token = token
        self.clients = set()  # joined client connections (ws)
        self.connections = set()  # every connection (ws), clients and gateways
        self.sessions = {}  # ws -> Session
        self.by_id = {'client': {}, 'gateway': {}}  # id -> newest joined Session
        self.answer_heartbeats = True
        self.fail_next = {'client': [], 'gateway': []}  # [(status, headers, body)]
        self.join_refusal = None  # a reason: a client's phx_join is answered with an error reply
        self.stats = {'connects': 0, 'upgrades': 0, 'joins': 0, 'heartbeats': 0, 'heartbeats_answered': 0,
                      'rejected': 0, 'gateway_connects': 0, 'gateway_upgrades': 0, 'gateway_joins': 0,
                      'gateway_rejected': 0, 'authorizations_requested': 0, 'authorizations_created': 0,
                      'authorizations_failed': 0,
                      'last_query': None, 'last_user_agent': None, 'auth_header_seen': False,
                      'last_gateway_query': None}
        self.changed = asyncio.Condition()
        # The broker.
        self.gateway_tokens = dict(account.get('gateway_tokens', {}))
        self.psk_base = {}  # device id -> 32 random bytes (Firezone keeps one per device)
        self.gateway_addresses = {}  # gateway id -> (ipv4, ipv6), stable for the portal's life
        self.offline = {'gateways': set(), 'sites': set()}
        self.pending = {}  # (client id, resource id) -> (generation, timer handle)
        self.refs = {}  # ref -> what the gateway's authorization_created completes
        self.generation = itertools.count(1)
        self.round_robin = itertools.count()
        self.authorizations = {}  # (client id, resource id) -> {gateway_id, expires_at}
        self.fail_authorizations = []  # [(reason, extra payload)]
        self.authorization_timeout = float(account.get('authorization_timeout', AUTHORIZATION_TIMEOUT))
        # Relays.
        self.relays = list(account.get('relays', []))
        self.relays_down = set()
        self.relay_expiry = {'client': None, 'gateway': credentials.GATEWAY_RELAY_EXPIRY}
        self.relay_lifetime = int(account.get('relay_credentials_lifetime', CLIENT_RELAY_LIFETIME))
        self.relay_secret_override = None
        # Every message in and out, for tests (wait_message, messages).
        self.journal = []
        self.seq = itertools.count(1)
        self._resources_json = None  # (the list it was rendered from, its JSON)
        self.load_state()

    def resources_json(self):
        """The account's resource list as JSON text, rendered once per change: for 10,000
        resources json.dumps takes ~20 ms, which is the portal's time, not the client's, and
        would swamp what the benchmarks (bench/) measure. Every change replaces the list
        (control ops upsert/delete), so its identity says whether the text is current."""
        resources = self.account.get('resources', [])
        if self._resources_json is None or self._resources_json[0] is not resources:
            self._resources_json = (resources, json.dumps(resources))
        return self._resources_json[1]

    # ---- state kept across restarts (Firezone keeps it in its database) ---------------------
    def load_state(self):
        """A restarted portal still knows its authorizations (a gateway drops every pair that
        a new init does not list), the devices' psk_base and the gateways' addresses."""
        if not self.state_path or not os.path.exists(self.state_path):
            return
        with open(self.state_path) as f:
            st = json.load(f)
        self.authorizations = {(a['client_id'], a['resource_id']): {'gateway_id': a['gateway_id'],
                                                                    'expires_at': a['expires_at']}
                               for a in st.get('authorizations', [])}
        self.psk_base = {k: base64.b64decode(v) for k, v in st.get('psk_base', {}).items()}
        self.gateway_addresses = {k: tuple(v) for k, v in st.get('gateway_addresses', {}).items()}

    def save_state(self):
        if not self.state_path:
            return
        st = {'authorizations': [{'client_id': c, 'resource_id': r, **a} for (c, r), a in self.authorizations.items()],
              'psk_base': {k: base64.b64encode(v).decode() for k, v in self.psk_base.items()},
              'gateway_addresses': self.gateway_addresses}
        with open(self.state_path + '.tmp', 'w') as f:
            json.dump(st, f)
        os.rename(self.state_path + '.tmp', self.state_path)

    # ---- HTTP upgrade --------------------------------------------------------------------
    async def process_request(self, path, headers):
        url = urllib.parse.urlsplit(path)
        query = dict(urllib.parse.parse_qsl(url.query))
        kind = 'gateway' if url.path.startswith('/gateway/') else 'client'
        if kind == 'gateway':
            self.stats['gateway_connects'] += 1
            self.stats['last_gateway_query'] = query
        else:
            self.stats['connects'] += 1
            self.stats['last_query'] = query
            self.stats['last_user_agent'] = headers.get('User-Agent')
        if self.fail_next[kind]:
            status, extra, body = self.fail_next[kind].pop(0)
            self.stats['gateway_rejected' if kind == 'gateway' else 'rejected'] += 1
            log(f'answering {status} to a {kind} as ordered')
            return http.HTTPStatus(status), extra, body.encode()
        if url.path not in (WS_PATH, GATEWAY_WS_PATH):
            return http.HTTPStatus.NOT_FOUND, [], b'Not found\n'
        auth = headers.get('X-Authorization', '')
        if kind == 'client':
            self.stats['auth_header_seen'] = bool(auth)
        if 'token' in query:
            # The token belongs in the header, never in the URL.
            return http.HTTPStatus.BAD_REQUEST, [], b'Token in the query string\n'
        bearer = auth[len('Bearer '):] if auth.startswith('Bearer ') else None
        if kind == 'client' and bearer != self.token:
            self.stats['rejected'] += 1
            log('rejecting a client connection: invalid token')
            return http.HTTPStatus.UNAUTHORIZED, [], b'Invalid token\n'
        if kind == 'gateway' and bearer not in self.gateway_tokens:
            self.stats['gateway_rejected'] += 1
            log('rejecting a gateway connection: invalid token')
            return http.HTTPStatus.UNAUTHORIZED, [], b'Invalid token\n'
        key = query.get('public_key', '')
        try:
            ok = len(key) == 44 and len(base64.b64decode(key, validate=True)) == 32
        except ValueError:
            ok = False
        if not ok or not query.get('external_id') or (kind == 'client' and not query.get('name')):
            return http.HTTPStatus.UNPROCESSABLE_ENTITY, [], b'Invalid or missing connection parameters\n'
        if kind == 'gateway':
            site = self.gateway_tokens[bearer]
            gid = str(uuid.uuid5(ID_NAMESPACE, f'gateway:{site}:{query["external_id"]}'))
            if site in self.offline['sites'] or gid in self.offline['gateways']:
                self.stats['gateway_rejected'] += 1
                log(f'refusing gateway {gid}: taken offline by order')
                return http.HTTPStatus.SERVICE_UNAVAILABLE, [('Retry-After', '1')], b'Offline by order\n'
        return None

    # ---- the channel -----------------------------------------------------------------------
    async def handler(self, ws, path=None):
        url = urllib.parse.urlsplit(ws.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        kind = 'gateway' if url.path == GATEWAY_WS_PATH else 'client'
        site = None
        if kind == 'gateway':
            auth = ws.request_headers.get('X-Authorization', '')
            site = self.gateway_tokens.get(auth[len('Bearer '):])
        self.stats['gateway_upgrades' if kind == 'gateway' else 'upgrades'] += 1
        session = Session(kind, ws, query, ws.request_headers, site)
        self.sessions[ws] = session
        self.connections.add(ws)
        try:
            async for text in ws:
                try:
                    msg = json.loads(text)
                    topic, event, ref = msg['topic'], msg['event'], msg.get('ref')
                    payload = msg.get('payload')
                except (ValueError, KeyError, TypeError):
                    log(f'ignoring a malformed frame from a {kind}')
                    continue
                if topic == 'phoenix' and event == 'heartbeat':
                    if self.answer_heartbeats:
                        await self.send(ws, 'phoenix', 'phx_reply', {'status': 'ok', 'response': {}}, ref)
                        await self.bump('heartbeats_answered')
                    await self.bump('heartbeats')
                    continue
                if topic != kind:
                    log(f'ignoring {kind} event {event!r} on {topic!r}')
                    continue
                await self.record('in', session, event, payload)
                if event == 'phx_join':
                    await self.join(session, ref)
                elif not session.joined:
                    log(f'ignoring {kind} event {event!r} before the join')
                elif kind == 'client':
                    await self.client_event(session, event, payload, ref)
                else:
                    await self.gateway_event(session, event, payload, ref)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.clients.discard(ws)
            self.connections.discard(ws)
            self.sessions.pop(ws, None)
            if self.by_id[kind].get(session.id) is session:
                del self.by_id[kind][session.id]
                log(f'{kind} {session.id} left')
                await self.bump(f'{kind}_leaves')

    async def join(self, s, ref):
        if s.kind == 'client' and self.join_refusal is not None:
            await self.send(s.ws, s.kind, 'phx_reply', {'status': 'error', 'response': {'reason': self.join_refusal}},
                            ref)
            return
        await self.send(s.ws, s.kind, 'phx_reply', {'status': 'ok', 'response': {}}, ref)
        old = self.by_id[s.kind].get(s.id)
        if old is not None and old is not s:
            # A device that reconnects replaces its old connection (Firezone's portal refuses a
            # second gateway connection instead; for tests the newest is the useful one).
            log(f'{s.kind} {s.id} reconnected; closing its old connection')
            old.ws.transport.abort()
        self.by_id[s.kind][s.id] = s
        s.joined = True
        self.psk_base.setdefault(s.id, secrets.token_bytes(32))
        if s.kind == 'gateway':
            self.gateway_address(s.id)
        self.save_state()
        if s.kind == 'client':
            iface = self.account.get('interface', {})
            s.ipv4, s.ipv6 = iface.get('ipv4'), iface.get('ipv6')
            self.clients.add(s.ws)
            payload = {
                'interface': iface,
                'resources': self.account.get('resources', []),
                'relays': self.render_relays(s),
                'authorizations': [],
                'flow_logs': FLOW_LOGS,
            }
            await self.record('out', s, 'init', payload)
            # The same JSON as push() sends, with the resource list rendered once per change.
            text = ('{"topic": "client", "event": "init", "payload": {"interface": %s, "resources": %s, '
                    '"relays": %s, "authorizations": [], "flow_logs": %s}, "ref": null}'
                    % (json.dumps(iface), self.resources_json(), json.dumps(payload['relays']),
                       json.dumps(FLOW_LOGS)))
            try:
                await s.ws.send(text)
            except websockets.ConnectionClosed:
                pass
            await self.bump('joins')
        else:
            s.ipv4, s.ipv6 = self.gateway_address(s.id)
            await self.push(s, 'init', {
                'interface': {'ipv4': s.ipv4, 'ipv6': s.ipv6},
                'config': {'ipv4_masquerade_enabled': True, 'ipv6_masquerade_enabled': True},
                'relays': self.render_relays(s),
                'account_slug': self.account.get('account_slug', 'local'),
                'authorizations': [{'client_id': c, 'resource_id': r, 'expires_at': a['expires_at']}
                                   for (c, r), a in self.authorizations.items() if a['gateway_id'] == s.id],
                'flow_logs': FLOW_LOGS,
            })
            log(f'gateway {s.id} ({s.name}) of site {s.site_id} joined')
            await self.bump('gateway_joins')

    def gateway_address(self, gid):
        if gid not in self.gateway_addresses:
            n = len(self.gateway_addresses) + 1
            self.gateway_addresses[gid] = (f'100.66.{n >> 8}.{n & 255}', f'fd00:2021:1111::66:{n:x}')
        return self.gateway_addresses[gid]

    # ---- client events (client/channel/shared.ex) ---------------------------------------------
    async def client_event(self, s, event, payload, ref):
        p = payload if isinstance(payload, dict) else {}
        if event == 'request_authorization' and isinstance(p.get('resource_id'), str):
            await self.request_authorization(s, p)
        elif event in ('new_gateway_ice_candidates', 'invalidate_gateway_ice_candidates') \
                and isinstance(p.get('gateway_id'), str) and isinstance(p.get('candidates'), list):
            out = 'ice_candidates' if event.startswith('new_') else 'invalidate_ice_candidates'
            await self.to_gateway(p['gateway_id'], out, {'client_id': s.id, 'candidates': p['candidates']})
        elif event in ('broadcast_ice_candidates', 'broadcast_invalidated_ice_candidates') \
                and isinstance(p.get('gateway_ids'), list) and isinstance(p.get('candidates'), list):
            out = 'ice_candidates' if event == 'broadcast_ice_candidates' else 'invalidate_ice_candidates'
            for gid in p['gateway_ids']:
                await self.to_gateway(gid, out, {'client_id': s.id, 'candidates': p['candidates']})
        elif event == 'set_snownet_capabilities' and isinstance(payload, dict):
            s.iceless = payload.get('iceless') is True
        elif event == 'no_relays':
            await self.push(s, 'relays_presence', {'disconnected_ids': [], 'connected': self.render_relays(s)})
        else:
            await self.unknown(s, event, ref)

    async def request_authorization(self, s, p):
        rid = p['resource_id']
        await self.bump('authorizations_requested')
        resource = next((r for r in self.account.get('resources', []) if r.get('id') == rid), None)
        if resource is None:
            return await self.authorization_failed(s, rid, 'not_found')
        if self.fail_authorizations:
            reason, extra = self.fail_authorizations.pop(0)
            return await self.authorization_failed(s, rid, reason, **extra)
        sites = resource_sites(resource)
        gateways = [g for g in self.by_id['gateway'].values()
                    if g.site_id in sites and g.site_id not in self.offline['sites']
                    and g.id not in self.offline['gateways']]
        if not gateways:
            return await self.authorization_failed(s, rid, 'offline')
        connected = [g for g in gateways if g.id in (p.get('connected_gateway_ids') or [])]
        pool = connected or sorted(gateways, key=lambda g: g.id)
        gw = pool[0] if connected else pool[next(self.round_robin) % len(pool)]

        psk = credentials.preshared_key(s.id, s.public_key, self.psk_base[s.id], gw.id, gw.public_key,
                                        self.psk_base[gw.id])
        client_ice, gateway_ice = credentials.ice_credentials(s.id, s.public_key, gw.id, gw.public_key)
        expires_at = int(time.time()) + AUTHORIZATION_LIFETIME
        use_iceless = s.iceless and gw.iceless and bool(self.account.get('iceless_enabled', False))

        key = (s.id, rid)
        old = self.pending.pop(key, None)
        if old:
            old[1].cancel()
        generation = next(self.generation)
        timer = asyncio.get_running_loop().call_later(
            self.authorization_timeout, lambda: asyncio.ensure_future(self.authorization_timed_out(s, rid, generation)))
        self.pending[key] = (generation, timer)
        ref = secrets.token_urlsafe(24)
        self.refs[ref] = {'client': s, 'resource_id': rid, 'generation': generation, 'gateway_id': gw.id,
                          'site_id': gw.site_id, 'psk': psk, 'client_ice': client_ice, 'gateway_ice': gateway_ice,
                          'use_iceless': use_iceless, 'expires_at': expires_at}
        os_name, os_version, version = parse_user_agent(s.user_agent)
        log(f'client {s.id} asks for resource {rid}: asking gateway {gw.id}')
        await self.push(gw, 'create_authorization', {
            'ref': ref,
            'resource': gateway_view(resource),
            'gateway_ice_credentials': gateway_ice,
            'client': {'id': s.id, 'public_key': s.public_key, 'preshared_key': psk, 'ipv4': s.ipv4, 'ipv6': s.ipv6,
                       'version': version, 'device_serial': None, 'device_os_name': os_name,
                       'device_os_version': os_version, 'device_uuid': None, 'firebase_installation_id': None,
                       'identifier_for_vendor': None},
            'client_ice_credentials': client_ice,
            'expires_at': expires_at,
            'subject': {'actor_id': str(uuid.uuid5(ID_NAMESPACE, 'actor:' + s.id)), 'actor_name': 'Local Test User',
                        'actor_email': 'user@example.com', 'actor_type': 'account_user', 'auth_provider_id': None,
                        'ip': None, 'ip_region': None, 'ip_city': None, 'ip_lat': None, 'ip_lon': None,
                        'user_agent': s.user_agent},
            'use_iceless': use_iceless,
            'flow_logs_ingest_token': INGEST_TOKEN,
        })

    async def authorization_failed(self, s, rid, reason, **extra):
        log(f'authorization of resource {rid} for client {s.id} failed: {reason}')
        await self.bump('authorizations_failed')
        await self.push(s, 'authorization_creation_failed', {'resource_id': rid, 'reason': reason, **extra})

    async def authorization_timed_out(self, s, rid, generation):
        entry = self.pending.get((s.id, rid))
        if entry and entry[0] == generation:
            del self.pending[(s.id, rid)]
            if self.by_id['client'].get(s.id) is s:
                await self.authorization_failed(s, rid, 'offline')

    # ---- gateway events (gateway/channel/shared.ex) -------------------------------------------
    async def gateway_event(self, g, event, payload, ref):
        p = payload if isinstance(payload, dict) else {}
        if event == 'authorization_created' and isinstance(p.get('ref'), str):
            await self.authorization_created(g, p['ref'], ref)
        elif event in ('broadcast_ice_candidates', 'broadcast_invalidated_ice_candidates', 'ice_candidates',
                       'invalidate_ice_candidates') and isinstance(p.get('candidates'), list):
            # Firezone's gateways send broadcast_(invalidated_)ice_candidates{client_ids}; DESIGN
            # §7.5 calls them ice_candidates: both are taken, with client_ids or client_id.
            ids = p.get('client_ids') if isinstance(p.get('client_ids'), list) else [p.get('client_id')]
            out = 'invalidate_ice_candidates' if 'invalid' in event else 'ice_candidates'
            for cid in ids:
                if isinstance(cid, str):
                    await self.to_client(cid, out, {'gateway_id': g.id, 'candidates': p['candidates']})
        elif event == 'set_snownet_capabilities' and isinstance(payload, dict):
            g.iceless = payload.get('iceless') is True
        elif event == 'no_relays':
            await self.push(g, 'relays_presence', {'disconnected_ids': [], 'connected': self.render_relays(g)})
        else:
            await self.unknown(g, event, ref)

    async def authorization_created(self, g, signed_ref, ref):
        entry = self.refs.get(signed_ref)
        if entry is None or entry['gateway_id'] != g.id:
            log(f'gateway {g.id} replied with an invalid ref')
            return await self.send(g.ws, 'gateway', 'phx_reply',
                                   {'status': 'error', 'response': {'reason': 'invalid_ref'}}, ref)
        await self.send(g.ws, 'gateway', 'phx_reply', {'status': 'ok', 'response': {}}, ref)
        c, rid = entry['client'], entry['resource_id']
        pending = self.pending.get((c.id, rid))
        if not pending or pending[0] != entry['generation']:
            log(f'late authorization_created for resource {rid} (timed out or superseded); ignored')
            return
        del self.refs[signed_ref]
        pending[1].cancel()
        del self.pending[(c.id, rid)]
        self.authorizations[(c.id, rid)] = {'gateway_id': g.id, 'expires_at': entry['expires_at']}
        self.save_state()
        await self.bump('authorizations_created')
        log(f'gateway {g.id} authorized client {c.id} for resource {rid}')
        await self.push(c, 'authorization_created', {
            'resource_id': rid,
            'preshared_key': entry['psk'],
            'client_ice_credentials': entry['client_ice'],
            'gateway_id': g.id,
            'gateway_public_key': g.public_key,
            'gateway_ipv4': g.ipv4,
            'gateway_ipv6': g.ipv6,
            'gateway_ice_credentials': entry['gateway_ice'],
            'use_iceless': entry['use_iceless'],
            'flow_logs_ingest_token': INGEST_TOKEN,
            'site_id': entry['site_id'],
        })

    async def unknown(self, s, event, ref):
        log(f'unknown {s.kind} message {event!r}')
        if ref is not None:
            await self.send(s.ws, s.kind, 'phx_reply', {'status': 'error', 'response': {'reason': 'unknown_message'}},
                            ref)

    # ---- relays ------------------------------------------------------------------------------
    def relay_expires_at(self, kind):
        fixed = self.relay_expiry[kind]
        return fixed if fixed is not None else int(time.time()) + self.relay_lifetime

    def render_relays(self, s, relays=None):
        out = []
        for r in (relays if relays is not None else self.relays):
            if r['id'] not in self.relays_down:
                out += credentials.relay_entries(r, s.public_key, self.relay_expires_at(s.kind),
                                                 self.relay_secret_override)
        return out

    async def relays_presence(self, kinds, disconnected_ids=()):
        n = 0
        for kind in kinds:
            for s in list(self.by_id[kind].values()):
                await self.push(s, 'relays_presence', {'disconnected_ids': list(disconnected_ids),
                                                       'connected': self.render_relays(s)})
                n += 1
        return n

    # ---- sending -----------------------------------------------------------------------------
    async def record(self, direction, s, event, payload):
        async with self.changed:
            self.journal.append({'seq': next(self.seq), 'direction': direction, 'side': s.kind, 'id': s.id,
                                 'event': event, 'payload': payload})
            if len(self.journal) > JOURNAL_MAX:
                del self.journal[:len(self.journal) - JOURNAL_MAX]
            self.changed.notify_all()

    async def push(self, s, event, payload):
        await self.record('out', s, event, payload)
        try:
            await self.send(s.ws, s.kind, event, payload)
        except websockets.ConnectionClosed:
            pass

    async def to_gateway(self, gid, event, payload):
        g = self.by_id['gateway'].get(gid)
        if g is None:
            log(f'dropping {event} for gateway {gid}: not connected')
            return 0
        await self.push(g, event, payload)
        return 1

    async def to_client(self, cid, event, payload):
        c = self.by_id['client'].get(cid)
        if c is None:
            log(f'dropping {event} for client {cid}: not connected')
            return 0
        await self.push(c, event, payload)
        return 1

    async def bump(self, key):
        async with self.changed:
            self.stats[key] = self.stats.get(key, 0) + 1
            self.changed.notify_all()

    async def send(self, ws, topic, event, payload, ref=None):
        await ws.send(json.dumps({'topic': topic, 'event': event, 'payload': payload, 'ref': ref}))

    def connections_of(self, kind):
        """The WebSocket connections of every joined client, or of every gateway."""
        return list(self.clients) if kind == 'client' else [s.ws for s in self.by_id['gateway'].values()]

    async def broadcast_raw(self, text, kind='client'):
        targets = self.connections_of(kind)
        for ws in targets:
            try:
                await ws.send(text)
            except websockets.ConnectionClosed:
                pass
        return len(targets)

    async def broadcast(self, event, payload, kind='client'):
        for s in list(self.by_id[kind].values()):
            await self.record('out', s, event, payload)
        return await self.broadcast_raw(json.dumps({'topic': kind, 'event': event, 'payload': payload,
                                                    'ref': None}), kind)

    async def reject_pairs(self, pred):
        """reject_access to the gateway of every authorization matching pred, which is dropped."""
        n = 0
        for (cid, rid), a in list(self.authorizations.items()):
            if pred(cid, rid, a):
                del self.authorizations[(cid, rid)]
                n += await self.to_gateway(a['gateway_id'], 'reject_access', {'client_id': cid, 'resource_id': rid})
        self.save_state()
        return n

    def selected_gateways(self, order):
        """Gateways an order names: gateway_id, site_id, or all."""
        gs = list(self.by_id['gateway'].values())
        if order.get('gateway_id'):
            gs = [g for g in gs if g.id == order['gateway_id']]
        if order.get('site_id'):
            gs = [g for g in gs if g.site_id == order['site_id']]
        return gs

    # ---- control -----------------------------------------------------------------------------
    async def control(self, order):
        op = order.get('op')
        side = order.get('side', 'client')
        if op == 'status':
            return {'clients': len(self.clients), 'connections': len(self.connections), **self.stats,
                    'resources': len(self.account.get('resources', [])),
                    'client_sessions': [s.describe() for s in self.by_id['client'].values()],
                    'gateways': [g.describe() for g in self.by_id['gateway'].values()],
                    'pending_authorizations': [{'client_id': c, 'resource_id': r} for c, r in self.pending],
                    'authorizations': [{'client_id': c, 'resource_id': r, **a}
                                       for (c, r), a in self.authorizations.items()],
                    'offline': {k: sorted(v) for k, v in self.offline.items()},
                    'relays': [{**{k: v for k, v in r.items() if k != 'secret'}, 'up': r['id'] not in self.relays_down}
                               for r in self.relays]}
        if op == 'upsert':
            r = order['resource']
            old = next((x for x in self.account.get('resources', []) if x.get('id') == r.get('id')), None)
            res = [x for x in self.account.setdefault('resources', []) if x.get('id') != r.get('id')]
            res.append(r)
            self.account['resources'] = res
            rejected = updated = 0
            if old is not None and any(old.get(k) != r.get(k) for k in ('address', 'type', 'ip_stack')):
                # Firezone: an address/type change resets the gateways' state (reject_access).
                rejected = await self.reject_pairs(lambda c, rid, a: rid == r['id'])
            elif old is not None and old.get('filters') != r.get('filters'):
                sites = resource_sites(r)
                for g in list(self.by_id['gateway'].values()):
                    if g.site_id in sites:
                        await self.push(g, 'resource_updated', gateway_view(r))
                        updated += 1
            return {'sent': await self.broadcast('resource_created_or_updated', r), 'rejected': rejected,
                    'gateways_updated': updated}
        if op == 'delete':
            self.account['resources'] = [x for x in self.account.get('resources', []) if x.get('id') != order['id']]
            rejected = await self.reject_pairs(lambda c, rid, a: rid == order['id'])
            return {'sent': await self.broadcast('resource_deleted', order['id']), 'rejected': rejected}
        if op == 'config_changed':
            self.account['interface'] = order['interface']
            return {'sent': await self.broadcast('config_changed', {'interface': order['interface']})}
        if op == 'push':
            if order.get('id'):
                s = self.by_id[side].get(order['id'])
                if s is None:
                    raise ValueError(f'no {side} {order["id"]} is connected')
                await self.push(s, order['event'], order.get('payload'))
                return {'sent': 1}
            return {'sent': await self.broadcast(order['event'], order.get('payload'), side)}
        if op == 'send_raw':
            return {'sent': await self.broadcast_raw(order['text'], side)}
        if op == 'send_fragmented':
            # One text message in `parts` WebSocket frames (continuation frames), with a ping
            # between the first two if asked: a client must reassemble it.
            parts = int(order.get('parts', 3))
            text = order['text'] if 'text' in order else json.dumps(
                {'topic': side, 'event': 'pad', 'payload': 'y' * int(order['pad_bytes']), 'ref': None})
            size = -(-len(text) // parts)
            targets = self.connections_of(side)

            async def fragments(ws):
                for i in range(0, len(text), size):
                    if i == size and order.get('ping'):
                        await ws.ping()
                    yield text[i:i + size]
            for ws in targets:
                try:
                    await ws.send(fragments(ws))
                except websockets.ConnectionClosed:
                    pass
            return {'sent': len(targets)}
        if op == 'send_text_bytes':
            # A text frame with exactly these bytes (hex), valid UTF-8 or not: a client must
            # refuse one that is not (RFC 6455 §8.1, close code 1007) before parsing it.
            data = bytes.fromhex(order['hex'])
            targets = self.connections_of(side)
            for ws in targets:
                try:
                    await ws.write_frame(True, websockets.frames.OP_TEXT, data)
                except websockets.ConnectionClosed:
                    pass
            return {'sent': len(targets)}
        if op == 'send_frame_bytes':
            # Raw bytes on the connection, below the WebSocket library: frames it would never
            # write (masked, reserved bits, unknown opcodes, a fragmented ping, bad close codes).
            data = bytes.fromhex(order['hex'])
            targets = self.connections_of(side)
            for ws in targets:
                ws.transport.write(data)
            return {'sent': len(targets)}
        if op == 'send_oversized':
            pad = 'x' * int(order['bytes'])
            return {'sent': await self.broadcast_raw(json.dumps({'topic': side, 'event': 'pad',
                                                                 'payload': pad, 'ref': None}), side)}
        if op == 'disconnect':
            n = await self.broadcast('disconnect', {'reason': order.get('reason', 'token_expired')}, side)
            targets = self.connections_of(side)
            for ws in targets:
                await ws.close()
            return {'sent': n}
        if op == 'drop':
            # Default: every connection (clients and gateways). side= narrows it down.
            which = order.get('side', 'all')
            n = 0
            for ws in list(self.connections):
                s = self.sessions.get(ws)
                if which == 'all' or (s is not None and s.kind == which):
                    ws.transport.abort()
                    n += 1
            return {'dropped': n}
        if op == 'fail_next':
            headers = []
            if order.get('retry_after') is not None:
                headers.append(('Retry-After', str(order['retry_after'])))
            for _ in range(int(order.get('count', 1))):
                self.fail_next[side].append((int(order['status']), headers, order.get('body', 'Error\n')))
            return {'queued': len(self.fail_next[side])}
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
        if op == 'add_gateway_token':
            self.gateway_tokens[order['token']] = order['site_id']
            return {}
        if op == 'wait_stat':
            # Blocks until stats[key] >= count (an event, not a poll): e.g. joins, heartbeats.
            key, count = order['key'], int(order['count'])
            async with self.changed:
                await asyncio.wait_for(self.changed.wait_for(lambda: self.stats.get(key, 0) >= count),
                                       float(order.get('timeout', 20)))
            return {key: self.stats.get(key, 0)}
        if op in ('wait_message', 'messages'):
            return await self.find_messages(order, wait=op == 'wait_message')
        if op == 'gateway_offline':
            # Close the gateways' connections and refuse them (503) until gateway_online.
            if order.get('site_id') and not order.get('gateway_id'):
                self.offline['sites'].add(order['site_id'])
            gs = self.selected_gateways(order)
            if order.get('gateway_id'):
                self.offline['gateways'].add(order['gateway_id'])
            elif not order.get('site_id'):
                self.offline['gateways'].update(g.id for g in gs)
            for g in gs:
                g.ws.transport.abort()
            return {'dropped': len(gs)}
        if op == 'gateway_online':
            if order.get('gateway_id'):
                self.offline['gateways'].discard(order['gateway_id'])
            if order.get('site_id'):
                self.offline['sites'].discard(order['site_id'])
            if not order.get('gateway_id') and not order.get('site_id'):
                self.offline = {'gateways': set(), 'sites': set()}
            return {}
        if op == 'fail_authorizations':
            extra = {'violated_properties': order['violated_properties']} if 'violated_properties' in order else {}
            for _ in range(int(order.get('count', 1))):
                self.fail_authorizations.append((order.get('reason', 'offline'), extra))
            return {'queued': len(self.fail_authorizations)}
        if op == 'set_authorization_timeout':
            self.authorization_timeout = float(order['seconds'])
            return {}
        if op == 'reject_access':
            n = await self.reject_pairs(lambda c, r, a: (c == order.get('client_id', c)
                                                         and r == order.get('resource_id', r)
                                                         and a['gateway_id'] == order.get('gateway_id', a['gateway_id'])))
            return {'sent': n}
        if op in ('rotate_relay_credentials', 'expire_relay_credentials'):
            kinds = ['client', 'gateway'] if order.get('side', 'all') == 'all' else [order['side']]
            for kind in kinds:
                if op == 'expire_relay_credentials':
                    self.relay_expiry[kind] = int(time.time()) - int(order.get('ago', 60))
                elif 'expires_at' in order:
                    self.relay_expiry[kind] = int(order['expires_at'])
                elif 'expires_in' in order:
                    self.relay_expiry[kind] = int(time.time()) + int(order['expires_in'])
                else:
                    self.relay_expiry[kind] = None if kind == 'client' else credentials.GATEWAY_RELAY_EXPIRY
            if 'secret' in order:
                self.relay_secret_override = order['secret']
            return {'sent': await self.relays_presence(kinds)}
        if op in ('relay_down', 'relay_up'):
            ids = [order['id']] if order.get('id') else [r['id'] for r in self.relays]
            if op == 'relay_down':
                self.relays_down.update(ids)
            else:
                self.relays_down.difference_update(ids)
            return {'sent': await self.relays_presence(['client', 'gateway'],
                                                       ids if op == 'relay_down' else ())}
        if op == 'set_relays':
            old = {r['id'] for r in self.relays}
            self.relays = list(order['relays'])
            gone = old - {r['id'] for r in self.relays}
            return {'sent': await self.relays_presence(['client', 'gateway'], sorted(gone))}
        if op == 'stop':
            asyncio.get_running_loop().call_soon(stop_event.set)
            return {}
        raise ValueError(f'unknown op {op!r}')

    async def find_messages(self, order, wait):
        """Journal entries matching side/direction/event/id/match (a subset of the payload),
        after seq `after`. wait_message blocks until `count` of them exist."""
        def found():
            out = []
            for m in self.journal:
                if m['seq'] <= int(order.get('after', 0)):
                    continue
                if any(order.get(k) is not None and m[k] != order[k] for k in ('side', 'direction', 'event', 'id')):
                    continue
                if payload_matches(m['payload'], order.get('match')):
                    out.append(m)
            return out
        count = int(order.get('count', 1))
        if wait:
            async with self.changed:
                try:
                    await asyncio.wait_for(self.changed.wait_for(lambda: len(found()) >= count),
                                           float(order.get('timeout', 20)))
                except asyncio.TimeoutError:
                    raise TimeoutError(f'no {count} message(s) matching {order} within the timeout; '
                                       f'seen: {[m["event"] for m in self.journal[-30:]]}')
        msgs = found()
        return {'messages': msgs[:count] if wait else msgs, 'last_seq': self.journal[-1]['seq'] if self.journal else 0}

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


def url_host(host):
    return f'[{host}]' if ':' in host else host


async def main():
    global stop_event
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--account', default=os.path.join(os.path.dirname(os.path.abspath(__file__)), 'demo-account.json'))
    ap.add_argument('--token', help='the accepted bearer token (default: the account file\'s "token")')
    ap.add_argument('--host', action='append', help='listen address (repeat for more; default 127.0.0.1)')
    ap.add_argument('--ws-port', type=int, default=0)
    ap.add_argument('--wss-port', type=int, default=0)
    ap.add_argument('--tls-dir', help='where the test CA lives (made if missing; default: a temp dir)')
    ap.add_argument('--tls-name', action='append', default=[],
                    help='another name or address for the server certificate (repeat for more)')
    ap.add_argument('--control', help='control socket path (default: in the TLS dir)')
    ap.add_argument('--ready-file')
    ap.add_argument('--state', help='keep authorizations, device secrets and gateway addresses in this file '
                                    'across restarts (as Firezone keeps them in its database)')
    ap.add_argument('--generate', type=int, default=0, help='serve N generated resources instead of the file\'s')
    args = ap.parse_args()
    hosts = args.host or ['127.0.0.1']

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
    ssl_ctx, ca_file = make_tls(tls_dir, args.tls_name)
    control_path = args.control or os.path.join(tls_dir, 'control.sock')
    if os.path.exists(control_path):
        os.unlink(control_path)

    portal = Portal(account, token, args.state)
    stop_event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_event.set)

    common = dict(process_request=portal.process_request, ping_interval=None, max_size=2 ** 24,
                  compression=None)
    host = hosts if len(hosts) > 1 else hosts[0]
    ws_server = await websockets.serve(portal.handler, host, args.ws_port, **common)
    wss_server = await websockets.serve(portal.handler, host, args.wss_port, ssl=ssl_ctx, **common)
    ctl = await asyncio.start_unix_server(portal.control_client, control_path, limit=16 << 20)  # big raw frames, in hex
    ws_port = ws_server.sockets[0].getsockname()[1]
    wss_port = wss_server.sockets[0].getsockname()[1]
    ready = {'ready': True, 'ws_url': f'ws://{url_host(hosts[0])}:{ws_port}/', 'wss_url': f'wss://localhost:{wss_port}/',
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
