# SPDX-License-Identifier: Apache-2.0
"""The portal connection (engine) against the local portal, through the engine test driver:
connect over ws and wss, resources, updates, restarts, 401, token expiry, heartbeat silence,
malformed and oversized frames, Retry-After, untrusted certificates, and no token in logs."""

import copy
import json
import os
import re
import subprocess

from fzbed import BedTestCase
from portalbed import EngineDriver, LocalPortal, demo_account, portal_view

TOKEN = 'demo-token-0123456789'


def by_id(resources):
    return {r['id']: r for r in resources}


class _PortalCase(BedTestCase):
    START_DAEMON = False
    DRIVER_ARGS = ()

    def setUp(self):
        super().setUp()
        self.portal = LocalPortal(self.bed)
        self.drivers = []

    def tearDown(self):
        # The driver exits 0 only if it shut down cleanly (under ASan/valgrind: no errors, no leaks).
        codes = [d.close() for d in self.drivers]
        self.portal.stop()
        self.assertEqual(codes, [0] * len(codes), 'the engine driver did not exit cleanly')

    def driver(self, env=None, args=None, prefix=()):
        d = EngineDriver(self.bed, env=env, args=args if args is not None else self.DRIVER_ARGS,
                         name=f'driver-{len(self.drivers)}', prefix=prefix)
        self.drivers.append(d)
        return d

    def connected_driver(self, tls=False, args=None):
        d = self.driver(env={'SSL_CERT_FILE': self.portal.ca_file} if tls else None, args=args)
        d.start(self.portal.wss_url if tls else self.portal.ws_url, TOKEN)
        init = d.wait('init')
        return d, init

    def assertResourcesMatchPortal(self, d, account_resources):
        got = by_id(d.dump()['resources'])
        want = {r['id']: portal_view(r) for r in account_resources}
        self.assertEqual(set(got), set(want))
        for rid, w in want.items():
            g = got[rid]
            self.assertEqual({k: g[k] for k in w}, w, rid)


class Connect(_PortalCase):
    def test_ws_connects_and_resources_equal_the_portals(self):
        d, init = self.connected_driver()
        account = demo_account()
        self.assertEqual(init['count'], len(account['resources']))
        self.assertEqual(init['config']['ipv4'], account['interface']['ipv4'])
        self.assertEqual(init['config']['ipv6'], account['interface']['ipv6'])
        self.assertEqual(init['config']['search_domain'], 'corp.example.com')
        self.assertEqual(init['config']['upstream_dns'], ['1.1.1.1:53', '[2606:4700:4700::1111]:53'])
        self.assertResourcesMatchPortal(d, account['resources'])

        st = self.portal.control(op='status')
        q = st['last_query']
        self.assertRegex(q['external_id'], r'^[0-9a-f]{32,}$')
        self.assertTrue(q['name'])
        self.assertEqual(len(q['public_key']), 44)
        self.assertNotIn('token', q)
        self.assertTrue(st['auth_header_seen'])
        self.assertRegex(st['last_user_agent'], r'^\S+/\S+ firezone-client-tunnel/\d+\.\d+\.\d+ \(.+; .+\)$')
        self.assertEqual(st['joins'], 1)

    def portal_socket_rcvbuf(self, d):
        """The kernel's receive buffer (ss: skmem rb) of the driver's connection to the portal."""
        out = subprocess.run(['ss', '-tmnpH', 'state', 'established', 'dport', '=', f':{self.portal.ws_port}'],
                             check=True, capture_output=True, text=True).stdout
        # One entry per socket: its line, then a continuation line with skmem:(…).
        entries = re.split(r'\n(?=\S)', out.strip())
        mine = [e for e in entries if f'pid={d.proc.pid},' in e]
        self.assertEqual(len(mine), 1, out)
        return int(re.search(r'skmem:\(r\d+,rb(\d+),', mine[0]).group(1))

    def test_the_receive_window_holds_an_init_from_the_first_byte(self):
        # 4 MiB asked for before connect() (the kernel doubles it for its bookkeeping), past
        # net.core.rmem_max as CAP_NET_ADMIN allows, so that a large init comes in one burst
        # instead of six (bench/portal-connect.py).
        d, _ = self.connected_driver()
        self.assertGreaterEqual(self.portal_socket_rcvbuf(d), 8 << 20)
        # The control: without the capability the kernel's autotuning stays (a buffer capped at
        # rmem_max would be smaller than it grows to), and the log says so.
        d2 = self.driver(prefix=['setpriv', '--bounding-set=-net_admin', '--'])
        d2.start(self.portal.ws_url, TOKEN)
        d2.wait('init')
        self.assertLess(self.portal_socket_rcvbuf(d2), 4 << 20)
        self.assertIn("keeping the kernel's receive buffer autotuning (SO_RCVBUFFORCE: Operation not permitted)",
                      d2.stderr())

    def test_wss_with_the_test_ca(self):
        d, init = self.connected_driver(tls=True)
        self.assertEqual(init['count'], len(demo_account()['resources']))
        self.assertEqual(self.portal.control(op='status')['joins'], 1)

    def test_wss_untrusted_certificate_is_refused(self):
        d = self.driver()  # the system trust store does not know the test CA
        d.start(self.portal.wss_url, TOKEN)
        ev = d.wait('reconnecting')
        self.assertIn('TLS certificate of the Firezone portal at localhost:', ev['error'])
        self.assertIn('could not be verified', ev['error'])
        self.assertRegex(ev['error'], r'retrying in [0-9.]+ s\.$')
        st = self.portal.control(op='status')
        self.assertEqual(st['upgrades'], 0)
        self.assertEqual(st['connects'], 0)  # no HTTP request was ever sent

    def add_host(self, name, address):
        # The bed's own /etc (an overlay): the system resolver answers the name so.
        with open('/etc/hosts', 'a') as f:
            f.write(f'{address} {name}\n')

    def test_wss_certificate_for_another_name_is_refused(self):
        # The test CA is trusted; the certificate is good for localhost, 127.0.0.1 and ::1,
        # not for the name the client asked for, which resolves to the same portal.
        self.add_host('portal.example.test', '127.0.0.1')
        d = self.driver(env={'SSL_CERT_FILE': self.portal.ca_file})
        d.start(f'wss://portal.example.test:{self.portal.wss_port}/', TOKEN)
        ev = d.wait('reconnecting')
        self.assertIn('TLS certificate of the Firezone portal at portal.example.test:', ev['error'])
        self.assertIn('could not be verified (hostname mismatch)', ev['error'])
        st = self.portal.control(op='status')
        self.assertEqual((st['connects'], st['upgrades']), (0, 0))  # the token was never sent
        # The control: the same portal and trust, by a name the certificate has.
        d2 = self.driver(env={'SSL_CERT_FILE': self.portal.ca_file})
        d2.start(self.portal.wss_url, TOKEN)
        d2.wait('init')

    def test_plain_ws_to_a_name_that_is_not_loopback_is_refused(self):
        # ws:// carries the token in clear text: only to this machine. A name (even
        # "localhost", in a tampered hosts file) that resolves elsewhere is refused before
        # anything is sent.
        for name in ('portal.example.test', 'localhost'):
            self.add_host(name, '192.0.2.10')
        for name in ('portal.example.test', 'localhost'):
            d = self.driver()
            d.start(f'ws://{name}:{self.portal.ws_port}/', TOKEN)
            ev = d.wait('session_ended')
            self.assertIn('does not resolve to a loopback address', ev['error'])
            self.assertIn('Use wss://', ev['error'])
            self.assertFalse(ev['running'])
        self.assertEqual(self.portal.control(op='status')['connects'], 0)

    def test_one_key_per_session(self):
        # Gateways know the client by its key: reconnecting keeps it, a new session has a new one.
        d, _ = self.connected_driver()
        first = self.portal.control(op='status')['last_query']['public_key']
        d.call('reconnect')
        d.wait('init')
        self.assertEqual(self.portal.control(op='status')['last_query']['public_key'], first)
        d.call('stop')
        d.start(self.portal.ws_url, TOKEN)
        d.wait('init')
        self.assertNotEqual(self.portal.control(op='status')['last_query']['public_key'], first)

    def test_a_large_init_is_read_whole_and_again(self):
        # 5,000 generated resources: an init of 1.4 MB, read in the WebSocket's own buffer and
        # parsed into a mapped chunk (big-alloc.c), each faulted in by a helper thread while
        # the engine receives and parses — in the sanitizer stage too, where a helper still at
        # work when its mapping goes would show. Twice: the second sign-in gets new mappings.
        big = LocalPortal(self.bed, generate=5000, name='portal-big')
        self.addCleanup(big.stop)
        d = self.driver()
        for _ in range(2):
            d.start(big.ws_url, TOKEN)
            self.assertEqual(d.wait('init', timeout=60)['count'], 5000)
            got = by_id(d.dump()['resources'])
            self.assertEqual(len(got), 5000)
            for i, address in ((0, '10.0.0.0/32'), (1, 'host1.bench.example.com'),
                               (2048, '10.0.8.0/32'), (4999, 'host4999.bench.example.com')):
                r = got[f'00000000-0000-4000-8000-{i:012d}']
                self.assertEqual((r['name'], r['address']), (f'Resource {i:05d}', address))
            d.call('stop')

    def test_stop_disconnects_and_stays_down(self):
        d, _ = self.connected_driver()
        d.call('stop')
        self.assertFalse(d.dump()['running'])
        # Another client's join proves the portal is serving while ours stays away.
        d2, _ = self.connected_driver()
        self.assertEqual(self.portal.control(op='status')['joins'], 2)
        self.assertEqual(d.pending('init'), [])
        self.assertEqual(d.pending('reconnecting'), [])


class Updates(_PortalCase):
    def test_update_and_delete_are_reflected(self):
        d, _ = self.connected_driver()
        account = demo_account()
        resources = copy.deepcopy(account['resources'])

        new = {'id': 'aaaaaaaa-0000-4000-8000-000000000001', 'type': 'cidr', 'name': 'New subnet',
               'address': '192.168.77.0/24', 'address_description': 'added live',
               'gateway_groups': [{'id': 'bf56f32d-7b2c-4f5d-a784-788977d014a4', 'name': 'Headquarters'}]}
        self.assertEqual(self.portal.control(op='upsert', resource=new)['sent'], 1)
        ev = d.wait('upserted')
        self.assertEqual(ev['resource']['id'], new['id'])
        resources.append(new)

        changed = copy.deepcopy(resources[0])
        changed['name'] = 'GitLab (renamed)'
        changed['address'] = 'code.corp.example.com'
        self.portal.control(op='upsert', resource=changed)
        ev = d.wait('upserted')
        self.assertEqual(ev['resource']['name'], 'GitLab (renamed)')
        resources[0] = changed

        gone = resources.pop(2)
        self.portal.control(op='delete', id=gone['id'])
        self.assertEqual(d.wait('deleted')['id'], gone['id'])
        self.assertResourcesMatchPortal(d, resources)

        self.portal.control(op='config_changed', interface={'ipv4': '100.64.9.9', 'ipv6': 'fd00:2021:1111::9',
                                                            'upstream_do53': [{'ip': '9.9.9.9'}]})
        ev = d.wait('config_changed')
        self.assertEqual(ev['config']['ipv4'], '100.64.9.9')
        self.assertEqual(ev['config']['upstream_dns'], ['9.9.9.9:53'])
        self.assertEqual(d.pending('reconnecting'), [])

    def test_unknown_events_and_resource_types_are_ignored(self):
        d, _ = self.connected_driver()
        self.portal.control(op='push', event='relays_presence', payload={'connected': [], 'disconnected_ids': []})
        self.portal.control(op='push', event='some_future_event', payload=[1, 2, 3])
        self.portal.control(op='upsert', resource={'id': 'f-1', 'type': 'future_kind', 'whatever': {}})
        marker = {'id': 'marker-1', 'type': 'dns', 'name': 'Marker', 'address': 'marker.example.com'}
        self.portal.control(op='upsert', resource=marker)
        # The marker arrives on the same connection: nothing before it broke anything.
        self.assertEqual(d.wait('upserted')['resource']['id'], 'marker-1')
        self.assertEqual(d.pending('reconnecting'), [])
        self.assertNotIn('f-1', by_id(d.dump()['resources']))
        self.assertEqual(self.portal.control(op='status')['joins'], 1)


class Reconnect(_PortalCase):
    def test_portal_restart_reconnecting_then_connected(self):
        d, _ = self.connected_driver()
        self.portal.restart()  # same ports
        ev = d.wait('reconnecting')
        self.assertIn('127.0.0.1:', ev['error'])
        self.assertRegex(ev['error'], r'(reconnecting|retrying) in [0-9.]+ s\.$')
        init = d.wait('init', timeout=30)
        self.assertEqual(init['count'], len(demo_account()['resources']))

    def test_dropped_connection_keeps_resources_and_reconnects(self):
        d, _ = self.connected_driver()
        self.assertEqual(self.portal.control(op='drop')['dropped'], 1)
        ev = d.wait('reconnecting')
        self.assertIn('Lost the connection to the Firezone portal', ev['error'])
        self.assertEqual(len(d.dump()['resources']), len(demo_account()['resources']))
        d.wait('init', timeout=30)

    def test_unreachable_portal_keeps_retrying_with_backoff(self):
        port = self.portal.ws_port
        self.portal.stop()
        d = self.driver()
        d.start(f'ws://127.0.0.1:{port}/', TOKEN)
        delays = []
        for _ in range(3):
            ev = d.wait('reconnecting')
            self.assertRegex(ev['error'], r'^Could not reach the Firezone portal at 127\.0\.0\.1:\d+: connection '
                                          r'refused\. Check your network; retrying in [0-9.]+ s\.$')
            delays.append(float(re.search(r'in ([0-9.]+) s', ev['error']).group(1)))
        self.assertTrue(all(0.2 <= x <= 60 for x in delays), delays)
        self.portal.start()
        d.wait('init', timeout=30)

    def test_retry_after_is_honoured(self):
        self.portal.control(op='fail_next', status=503, retry_after=1)
        d = self.driver()
        d.start(self.portal.ws_url, TOKEN)
        ev = d.wait('reconnecting')
        self.assertIn('busy (HTTP 503)', ev['error'])
        self.assertTrue(ev['error'].endswith('retrying in 1.0 s.'), ev['error'])
        init = d.wait('init')
        self.assertGreaterEqual(init['elapsed_usec'], 1_000_000)

    def test_retry_after_zero_is_not_a_tight_loop(self):
        # A busy (or hostile) portal that says "come back at once", again and again: at least
        # a second between attempts, and the backoff still grows underneath.
        self.portal.control(op='fail_next', status=429, retry_after=0, count=3)
        d = self.driver()
        d.start(self.portal.ws_url, TOKEN)
        delays = []
        for _ in range(3):
            ev = d.wait('reconnecting')
            self.assertIn('busy (HTTP 429)', ev['error'])
            delays.append(float(re.search(r'retrying in ([0-9.]+) s\.$', ev['error']).group(1)))
        self.assertTrue(all(x >= 1.0 for x in delays), delays)
        init = d.wait('init', timeout=30)
        self.assertGreaterEqual(init['elapsed_usec'], 3_000_000)
        self.assertEqual(self.portal.control(op='status')['rejected'], 3)

    def test_server_error_is_transient(self):
        self.portal.control(op='fail_next', status=502)
        d = self.driver()
        d.start(self.portal.ws_url, TOKEN)
        self.assertIn('answered HTTP 502', d.wait('reconnecting')['error'])
        d.wait('init')


class Heartbeat(_PortalCase):
    DRIVER_ARGS = ('--heartbeat-ms=200',)

    def test_heartbeat_silence_reconnects(self):
        d, _ = self.connected_driver()
        self.portal.control(op='heartbeats', answer=False)
        ev = d.wait('reconnecting', timeout=10)
        self.assertIn('stopped answering (no heartbeat reply for 0.6 s)', ev['error'])
        self.assertGreaterEqual(self.portal.control(op='status')['heartbeats'], 3)
        self.portal.control(op='heartbeats', answer=True)
        d.wait('init', timeout=30)

    def test_answered_heartbeats_keep_the_connection(self):
        d, _ = self.connected_driver()
        # 6 answered heartbeats at 200 ms: twice the 3-heartbeat limit, still one connection.
        self.portal.control(op='wait_stat', key='heartbeats_answered', count=6)
        marker = {'id': 'hb-marker', 'type': 'dns', 'name': 'M', 'address': 'm.example.com'}
        self.portal.control(op='upsert', resource=marker)
        d.wait('upserted')
        self.assertEqual(d.pending('reconnecting'), [])
        self.assertEqual(self.portal.control(op='status')['joins'], 1)


class SessionEnd(_PortalCase):
    def test_401_ends_the_session_and_requires_sign_in(self):
        d = self.driver()
        d.start(self.portal.ws_url, 'not-the-right-token')
        ev = d.wait('session_ended')
        self.assertTrue(ev['requires_sign_in'])
        self.assertFalse(ev['running'])
        self.assertIn('HTTP 401', ev['error'])
        self.assertIn('Sign in again', ev['error'])
        self.assertEqual(d.pending('reconnecting'), [])
        self.assertEqual(self.portal.control(op='status')['connects'], 1)  # no retry

    def test_disconnect_token_expired_ends_the_session(self):
        d, _ = self.connected_driver()
        self.portal.control(op='disconnect', reason='token_expired')
        ev = d.wait('session_ended')
        self.assertTrue(ev['requires_sign_in'])
        self.assertIn('token_expired', ev['error'])
        self.assertIn('Sign in again', ev['error'])
        self.assertFalse(d.dump()['running'])

    def test_404_is_a_configuration_error(self):
        self.portal.control(op='fail_next', status=404)
        d = self.driver()
        d.start(self.portal.ws_url, TOKEN)
        ev = d.wait('session_ended')
        self.assertFalse(ev['requires_sign_in'])
        self.assertIn('HTTP 404', ev['error'])
        self.assertIn('portal URL', ev['error'])

    def test_token_never_appears_in_logs(self):
        secret = 'tok-' + os.urandom(12).hex()
        self.portal.control(op='set_token', token=secret)
        d = self.driver()
        d.start(self.portal.ws_url, secret)
        d.wait('init')
        self.portal.control(op='drop')
        d.wait('reconnecting')
        d.wait('init', timeout=30)
        d.call('replace_token', token='wrong-' + secret)
        d.wait('session_ended')
        d.close()
        for text in (d.stderr(), self.portal.output(), json.dumps(d.events)):
            self.assertNotIn(secret, text)
        self.assertIn('Connecting to the Firezone portal', d.stderr())  # the log was captured


class BadInput(_PortalCase):
    """docs/portal-protocol.md, "Bad input": a bad element is skipped, a bad event or frame
    dropped, each with a log line; only the transport and an unusable init reset."""

    def _bad(self, d, expect, **order):
        self.portal.control(**order)
        ev = d.wait('reconnecting')
        self.assertIn(expect, ev['error'])
        # Nothing else lost: the resources are still there while reconnecting.
        self.assertEqual(len(d.dump()['resources']), len(demo_account()['resources']))
        d.wait('init', timeout=30)

    def _marker(self, d, n):
        """A good update after the bad one arrives on the same connection: nothing broke."""
        marker = {'id': f'marker-{n}', 'type': 'dns', 'name': 'Marker', 'address': 'marker.example.com'}
        self.portal.control(op='upsert', resource=marker)
        self.assertEqual(d.wait('upserted')['resource']['id'], marker['id'])

    def test_unreadable_frames_are_dropped_and_the_connection_stays(self):
        d, _ = self.connected_driver()
        bad = [
            ('the frame is not valid JSON', '{"topic": "client", '),
            ('the frame is not a JSON object', '[1, 2]'),
            ('the frame contains a NUL byte', '{"topic":"client","event":"x"}\x00'),
            ('"event" is missing or not a string', '{"topic":"client","event":5}'),
            ('"ref" is negative', '{"topic":"client","event":"init","ref":-1}'),
            ('the frame is not valid JSON', '{"topic":"client","event":"\\ud800"}'),  # a lone surrogate
            ('"topic" or "event" is not UTF-8 or contains control characters',
             '{"topic":"client","event":"a\\u0007"}'),
        ]
        for i, (why, text) in enumerate(bad):
            self.portal.control(op='send_raw', text=text)
            self._marker(d, i)
            self.assertIn(f'Portal: ignoring a frame that cannot be read ({why}', d.stderr())
        # Deep nesting is no reason to drop anything: an unknown event, ignored.
        self.portal.control(op='send_raw', text='{"topic":"client","event":"x","payload":' + '[' * 64 + ']' * 64 + '}')
        self._marker(d, 'deep')
        self.assertEqual(d.pending('reconnecting'), [])
        self.assertEqual(self.portal.control(op='status')['joins'], 1)
        ids = set(by_id(d.dump()['resources']))
        self.assertEqual(ids, {r['id'] for r in demo_account()['resources']} | {f'marker-{i}' for i in
                                                                                    [*range(len(bad)), 'deep']})

    def test_unusable_events_are_dropped_and_the_connection_stays(self):
        d, _ = self.connected_driver()
        for i, (event, payload, why) in enumerate([
                ('resource_deleted', 7, 'the payload is not a resource id'),
                ('resource_deleted', {'id': 'has space'}, 'the payload is not a resource id'),
                ('config_changed', {'interface': {'ipv4': 'nope'}}, 'the interface has no usable "ipv4" or "ipv6" address'),
                ('config_changed', [], 'the config_changed payload is not an object')]):
            self.portal.control(op='push', event=event, payload=payload)
            self._marker(d, i)
            self.assertIn(f'Portal: ignoring a "{event}" event: {why}', d.stderr())
        self.assertEqual(d.pending('config_changed'), [])
        self.assertEqual(d.pending('deleted'), [])
        self.assertEqual(d.pending('reconnecting'), [])
        self.assertEqual(self.portal.control(op='status')['joins'], 1)

    def test_unusable_resource_is_skipped_without_a_reset(self):
        # A resource that cannot be used (a wrong type or a bad value): only that resource goes
        # (a stale copy under its id is deleted); the connection stays.
        d, _ = self.connected_driver()
        joins = self.portal.control(op='status')['joins']
        self.portal.control(op='push', event='resource_created_or_updated',
                            payload={'id': 'x1', 'type': 'cidr', 'name': 'n', 'address': '10.0.0.0/99'})
        self.assertEqual(d.wait('deleted')['id'], 'x1')
        self.assertIn('Portal: skipping resource x1 of resource_created_or_updated: "address" is not an IP address '
                      'or prefix.', d.stderr())
        # The wrong JSON type, which used to reset the connection (issue 16).
        self.portal.control(op='push', event='resource_created_or_updated',
                            payload={'id': 7, 'type': 'dns', 'name': 'n', 'address': 'a.b'})
        self.portal.control(op='push', event='resource_created_or_updated',
                            payload={'id': 'x3', 'type': 'dns', 'name': 5, 'address': 'a.b'})
        self.assertEqual(d.wait('deleted')['id'], 'x3')
        good = {'id': 'x2', 'type': 'cidr', 'name': 'n', 'address': '10.0.0.0/9'}
        self.portal.control(op='push', event='resource_created_or_updated', payload=good)
        self.assertEqual(d.wait('upserted')['resource']['id'], 'x2')
        log = d.stderr()
        self.assertIn('Portal: skipping resource of resource_created_or_updated: "id" is not a string', log)
        self.assertIn('Portal: skipping resource x3 of resource_created_or_updated: "name" is not a string', log)
        self.assertEqual(d.pending('reconnecting'), [])
        self.assertEqual(self.portal.control(op='status')['joins'], joins)

    def test_fragmented_messages_are_reassembled(self):
        # Continuation frames, a ping between them; then one whose parts are each below the
        # limit but add up to more than 8 MiB.
        d, _ = self.connected_driver()
        r = {'id': 'frag-1', 'type': 'dns', 'name': 'Fragmented', 'address': 'frag.example.com',
             'address_description': 'x' * 3000}
        text = json.dumps({'topic': 'client', 'event': 'resource_created_or_updated', 'payload': r, 'ref': None})
        self.portal.control(op='send_fragmented', text=text, parts=5, ping=True)
        self.assertEqual(d.wait('upserted')['resource']['description'], 'x' * 3000)
        self.portal.control(op='send_fragmented', pad_bytes=9 * 1024 * 1024, parts=3)
        ev = d.wait('reconnecting')
        self.assertIn('larger than 8 MiB', ev['error'])
        d.wait('init', timeout=30)

    def test_frames_against_rfc6455_reset_the_connection(self):
        # The receiver is ours (daemon/portal/websocket.c): each frame a server must not send
        # ends the connection as a protocol error (close 1002), and the next one comes up.
        d, _ = self.connected_driver()

        def frame(first, payload=b'', masked=False):
            n = len(payload)
            head = bytes([first]) + (bytes([0x80 | n]) if masked else bytes([n]))
            return head + (b'\0\0\0\0' if masked else b'') + payload
        bad = {
            'masked': frame(0x81, b'{}', masked=True),
            'reserved bit': frame(0xC1, b'{}'),
            'unknown opcode': frame(0x83, b'{}'),
            'unknown control opcode': frame(0x8B),
            'continuation of nothing': frame(0x80, b'{}'),
            'new message inside one': frame(0x01, b'{"a":') + frame(0x81, b'{}'),
            'fragmented ping': frame(0x09, b'x'),
            'close code 1005': frame(0x88, b'\x03\xed'),
            'close of one byte': frame(0x88, b'\x03'),
            'close reason not UTF-8': frame(0x88, b'\x03\xe8\xff'),
            '64-bit length with the top bit': bytes([0x81, 127, 0x80, 0, 0, 0, 0, 0, 0, 0]),
        }
        for why, data in bad.items():
            self.portal.control(op='send_frame_bytes', hex=data.hex())
            ev = d.wait('reconnecting')
            self.assertIn('WebSocket protocol error', ev['error'], why)
            d.wait('init', timeout=30)
        # A close with a code is a close, reported with its code; a ping between two fragments
        # of a message is answered and the message still arrives whole.
        self.portal.control(op='send_frame_bytes', hex=frame(0x88, b'\x0f\xa1bye').hex())
        ev = d.wait('reconnecting')
        self.assertIn('WebSocket code 4001', ev['error'])
        d.wait('init', timeout=30)
        marker = json.dumps({'topic': 'client', 'event': 'resource_created_or_updated', 'ref': None,
                             'payload': {'id': 'raw-1', 'type': 'dns', 'name': 'Raw', 'address': 'raw.example.com'}})
        raw = marker.encode()
        self.portal.control(op='send_frame_bytes', hex=(frame(0x01, raw[:40]) + frame(0x89, b'hi') +
                                                        bytes([0x80, 126, 0, len(raw) - 40]) + raw[40:]).hex())
        self.assertEqual(d.wait('upserted')['resource']['id'], 'raw-1')
        self.assertEqual(d.pending('reconnecting'), [])

    def test_text_that_is_not_utf8_never_reaches_the_parser(self):
        # The JSON reader does not check UTF-8 itself: the WebSocket layer refuses
        # such a text frame (close 1007), which resets the connection; nothing of it is parsed.
        d, _ = self.connected_driver()
        for n, text in enumerate((b'{"topic":"client","event":"bad \xff byte"}',
                                  b'{"topic":"client","event":"overlong \xc0\xaf"}',
                                  b'{"topic":"client","event":"surrogate \xed\xa0\x80"}',
                                  b'{"topic":"client","event":"cut at the end"}\xc3')):
            self.portal.control(op='send_text_bytes', hex=text.hex())
            ev = d.wait('reconnecting')
            self.assertIn('WebSocket protocol error', ev['error'])
            d.wait('init', timeout=30)
        # Large messages are checked as they arrive, read by read (a character may be cut
        # between two reads): a bad byte early, in the middle or in the last bytes resets
        # the connection all the same.
        filler = ('\u00e9\u20ac\U0001f600 ' * 30000).encode()  # 300 KB of 2-, 3- and 4-byte characters
        for where in (1000, len(filler) // 2, len(filler) - 2):
            big = b'{"topic":"client","event":"big","payload":"' + filler[:where] + b'\xff' + filler[where:] + b'"}'
            self.portal.control(op='send_text_bytes', hex=big.hex())
            ev = d.wait('reconnecting')
            self.assertIn('WebSocket protocol error', ev['error'], where)
            d.wait('init', timeout=30)
        self.assertNotIn('Portal: ignoring a frame that cannot be read', d.stderr())
        # The same bytes as valid UTF-8 are read (and the unknown event ignored): the test
        # can tell the two apart.
        self.portal.control(op='send_text_bytes', hex=b'{"topic":"client","event":"good \xc3\xa9"}'.hex())
        self._marker(d, 'utf8')
        self.portal.control(op='send_text_bytes',
                            hex=(b'{"topic":"client","event":"big","payload":"' + filler + b'"}').hex())
        self._marker(d, 'utf8-big')
        self.assertEqual(d.pending('reconnecting'), [])

    def test_oversized_frame_resets_the_connection(self):
        d, _ = self.connected_driver()
        self._bad(d, 'larger than 8 MiB', op='send_oversized', bytes=9 * 1024 * 1024)
        st = d.stats()
        self.assertLess(st['vm_rss_kib'], 64 * 1024)

    def test_bad_resource_in_init_is_skipped(self):
        account = demo_account()
        account['resources'].append({'id': 'bad', 'type': 'dns', 'name': 5, 'address': 'x.example.com'})
        self.portal.stop()
        self.portal = LocalPortal(self.bed, account=account, name='portal-bad')
        d, init = self.connected_driver()
        self.assertEqual(init['count'], len(demo_account()['resources']))
        self.assertIn('Portal: skipping resource 5 (bad) of init: "name" is not a string', d.stderr())
        self.assertEqual(d.pending('reconnecting'), [])

    def test_unusable_init_resets_without_losing_state(self):
        d, _ = self.connected_driver()
        # The next init has no usable address: nothing to set the tunnel up with.
        self.portal.control(op='config_changed', interface={'ipv4': 'nope', 'ipv6': 7})
        self._marker(d, 0)
        self.assertIn('Portal: ignoring a "config_changed" event', d.stderr())
        d.call('reconnect')
        ev = d.wait('reconnecting')
        self.assertIn('the interface has no usable "ipv4" or "ipv6" address', ev['error'])
        self.assertEqual(len(d.dump()['resources']), len(demo_account()['resources']) + 1)
        self.assertEqual(d.pending('init'), [])
