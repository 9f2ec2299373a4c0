# SPDX-License-Identifier: Apache-2.0
"""One bad message never costs the tunnel (issue 16; docs/portal-protocol.md, "Limits and bad
input"): the real daemon, signed in to the local portal in the bed, gets one bad element of
each kind in init and in each event, and unusable events and frames; after each, the tunnel's
state, its routes, resolv.conf, the resource list and the portal's count of joins (no
reconnect) are checked, and the daemon's log must name what was skipped."""

import copy
import re

from portalbed import demo_account
from test_daemon_tunnel import BASE_RANGES, RESOLV_CONF, TUN, _TunnelE2E, read, table_routes, tun_state

SITE = {'id': 'bf56f32d-7b2c-4f5d-a784-788977d014a4', 'name': 'Headquarters'}

# (why it is bad, the element); each is skipped on its own.
BAD_RESOURCES = [
    ('id of the wrong type', {'id': 7, 'type': 'cidr', 'name': 'n', 'address': '10.91.0.0/16'}),
    ('unusable id', {'id': 'has space', 'type': 'cidr', 'name': 'n', 'address': '10.91.0.0/16'}),
    ('no type', {'id': 'bad-0003', 'name': 'n', 'address': '10.91.0.0/16'}),
    ('type of the wrong type', {'id': 'bad-0004', 'type': 3, 'name': 'n', 'address': '10.91.0.0/16'}),
    ('name of the wrong type', {'id': 'bad-0005', 'type': 'dns', 'name': 1, 'address': 'x.example.com'}),
    ('no name', {'id': 'bad-0006', 'type': 'dns', 'address': 'x.example.com'}),
    ('control character in the name', {'id': 'bad-0007', 'type': 'dns', 'name': 'a\u0007b',
                                       'address': 'x.example.com'}),
    ('not a prefix', {'id': 'bad-0008', 'type': 'cidr', 'name': 'n', 'address': '10.91.0.0/33'}),
    ('not a name pattern', {'id': 'bad-0009', 'type': 'dns', 'name': 'n', 'address': 'not a name'}),
    ('address of the wrong type', {'id': 'bad-0010', 'type': 'dns', 'name': 'n', 'address': ['x.example.com']}),
    ('description of the wrong type', {'id': 'bad-0011', 'type': 'dns', 'name': 'n', 'address': 'x.example.com',
                                       'address_description': 5}),
    ('sites not a list', {'id': 'bad-0012', 'type': 'dns', 'name': 'n', 'address': 'x.example.com',
                          'gateway_groups': {'id': 's'}}),
    ('status of the wrong type', {'id': 'bad-0013', 'type': 'dns', 'name': 'n', 'address': 'x.example.com',
                                  'status': {}}),
    ('a number', 42),
    ('a string', 'resource'),
    ('null', None),
    ('a list', []),
]
# Skipped quietly (a newer portal's kind), not counted as bad.
UNKNOWN = {'id': 'bad-0100', 'type': 'site_to_site', 'anything': {'x': 1}}


def good_resources():
    return [
        {'id': 'good-cidr-1', 'type': 'cidr', 'name': 'Lab', 'address': '10.90.0.0/16', 'gateway_groups': [SITE]},
        {'id': 'good-dns-1', 'type': 'dns', 'name': 'Wiki', 'address': 'wiki.corp.example.com',
         # one usable site among bad ones: the resource stays, the bad sites go
         'gateway_groups': [SITE, {'name': 'no id'}, {'id': 9}, 'site', {'id': 'bad site'}]},
        {'id': 'good-internet-1', 'type': 'internet', 'gateway_groups': [SITE]},
    ]


class _Tolerance(_TunnelE2E):
    def list_resources(self):
        return {r['id']: r for r in self.assertOk(self.agent('fz-member').call('ListResources'))[0]}

    def joins(self):
        return self.portal.control(op='status')['joins']

    def settle(self, n):
        """Everything the portal pushed before is handled once a marker pushed after it shows
        up in ResourcesChanged (frames are handled in order)."""
        marker = {'id': f'marker-{n}', 'type': 'dns', 'name': 'Marker', 'address': f'marker{n}.example.com'}
        self.portal.control(op='upsert', resource=marker)
        self.wait_resources(lambda rs: marker['id'] in rs)
        return marker['id']

    def assertStillConnected(self, joins=1):
        self.assertEqual(self.status()['state'], 'connected')
        self.assertEqual(self.joins(), joins, 'the connection was reset')
        # (A config change re-applies DNS, which the manager shows as a short "reconnecting"
        # with reason config-changed; that is no reset.)
        self.assertEqual([s for s in self.watcher.signals()
                          if s['member'] == 'StateChanged' and s['args'][0] == 'reconnecting'
                          and s['args'][1].get('reason') != 'config-changed'], [])
        self.assertTrue(self.bed.daemon.running())

    def skip_lines(self):
        return re.findall(r'Portal: skipping (.*?) of ([a-z_]+): ', self.bed.daemon.output())


class BadElementsInInit(_Tolerance):
    ACCOUNT = copy.deepcopy(demo_account())
    ACCOUNT['interface'] = {
        'ipv4': '100.72.112.111', 'ipv6': 'fd00:2021:1111::13:efb9',
        'search_domain': 'not a domain',
        'upstream_do53': [{'ip': '192.0.2.53'}, {'ip': 5}, 'x', {'ip': 'nope'}, {'ip': '2001:db8::53'}],
    }
    ACCOUNT['resources'] = (good_resources()[:1] + [r for _, r in BAD_RESOURCES] + [UNKNOWN] +
                            good_resources()[1:])

    def test_each_bad_element_is_skipped_and_the_rest_applied(self):
        self.connect()
        resources = self.list_resources()
        self.assertEqual(set(resources), {'good-cidr-1', 'good-dns-1', 'good-internet-1'})
        self.assertEqual([list(s) for s in resources['good-dns-1']['sites']], [[SITE['id'], SITE['name']]])
        self.assertEqual(table_routes(), BASE_RANGES | {'10.90.0.0/16'})
        st = self.status()
        self.assertEqual((st['ipv4'], st['ipv6']), ('100.72.112.111', 'fd00:2021:1111::13:efb9'))
        # Two usable upstream servers: one sentinel each; the bad search domain is left out.
        text = read(RESOLV_CONF).decode()
        self.assertIn('nameserver 100.100.111.1\n', text)
        self.assertIn('nameserver fd00:2021:1111:8000:100:100:111:1\n', text)
        self.assertNotIn('100.100.111.2', text)
        self.assertNotIn('search', text)
        self.assertStillConnected()

        # One line per bad element, naming it (by position, and by id where it has a valid one).
        skipped = self.skip_lines()
        for i, (why, r) in enumerate(BAD_RESOURCES, start=1):
            rid = r.get('id') if isinstance(r, dict) else None
            name = f'resource {i} ({rid})' if isinstance(rid, str) and ' ' not in rid else f'resource {i}'
            self.assertIn((name, 'init'), skipped, why)
        for site in (1, 2, 3, 4):
            self.assertIn((f'site {site} of resource good-dns-1', 'init'), skipped)
        for server in (1, 2, 3):
            self.assertIn((f'upstream_do53 server {server}', 'init'), skipped)
        self.assertIn(('search domain', 'init'), skipped)
        self.assertEqual(len(skipped), len(BAD_RESOURCES) + 4 + 3 + 1)
        log = self.bed.daemon.output()
        self.assertIn('a kind this client does not know', log)  # the unknown type, at debug level
        self.assertRegex(log, r'Portal: skipped \d+ more elements of init \(only the first 10 are logged\)')
        self.assertIn('Connected to the Firezone portal', log)


class BadEvents(_Tolerance):
    def setUp(self):
        super().setUp()
        self.connect()
        self.before = table_routes()
        self.resources = set(self.list_resources())

    def test_each_bad_resource_update_is_skipped(self):
        for n, (why, r) in enumerate(BAD_RESOURCES + [('unknown type', UNKNOWN)]):
            self.portal.control(op='push', event='resource_created_or_updated', payload=r)
        marker = self.settle(0)
        self.assertEqual(set(self.list_resources()), self.resources | {marker})
        self.assertEqual(table_routes(), self.before)
        skipped = [s for s in self.skip_lines() if s[1] == 'resource_created_or_updated']
        self.assertEqual(len(skipped), len(BAD_RESOURCES))
        self.assertStillConnected()

    def test_an_update_that_makes_a_resource_unusable_removes_it_and_its_route(self):
        lan = next(r for r in demo_account()['resources'] if r['address'] == '172.16.10.0/24')
        self.assertIn('172.16.10.0/24', self.before)
        self.portal.control(op='push', event='resource_created_or_updated', payload=dict(lan, address='172.16.10.0/33'))
        self.wait_resources(lambda rs: lan['id'] not in rs)
        self.assertEqual(table_routes(), self.before - {'172.16.10.0/24'})
        self.assertIn(('resource ' + lan['id'], 'resource_created_or_updated'), self.skip_lines())
        # A type this client does not know under the id of one it has: the old one goes too.
        gitlab = demo_account()['resources'][0]
        self.portal.control(op='push', event='resource_created_or_updated', payload=dict(gitlab, type='future_kind'))
        self.wait_resources(lambda rs: gitlab['id'] not in rs)
        # And a good update brings it back, routed.
        self.portal.control(op='upsert', resource=lan)
        self.wait_resources(lambda rs: lan['id'] in rs)
        self.assertEqual(table_routes(), self.before)
        self.assertStillConnected()

    def test_a_bad_site_is_skipped_and_the_update_applied(self):
        new = {'id': 'good-cidr-2', 'type': 'cidr', 'name': 'Lab 2', 'address': '10.92.0.0/16',
               'gateway_groups': [{'id': 'a b'}, SITE, {'id': 5}]}
        self.portal.control(op='push', event='resource_created_or_updated', payload=new)
        self.wait_resources(lambda rs: new['id'] in rs)
        self.assertEqual([list(s) for s in self.list_resources()[new['id']]['sites']], [[SITE['id'], SITE['name']]])
        self.assertEqual(table_routes(), self.before | {'10.92.0.0/16'})
        self.assertEqual(len([s for s in self.skip_lines() if s[0].startswith('site ')]), 2)
        self.assertStillConnected()

    def test_an_unreadable_filter_is_left_out_and_a_list_without_a_usable_one_skips_the_resource(self):
        # Filters only narrow what may go out: one this client cannot read goes (the rest still
        # narrow), but leaving none of a non-empty list would allow everything.
        partly = {'id': 'filters-1', 'type': 'cidr', 'name': 'n', 'address': '10.93.0.0/16',
                  'filters': [{'protocol': 'sctp'}, {'protocol': 'tcp', 'port_range_start': 443,
                                                     'port_range_end': 443}]}
        useless = {'id': 'filters-2', 'type': 'cidr', 'name': 'n', 'address': '10.94.0.0/16',
                   'filters': [{'protocol': 'sctp'}, {'protocol': 'udp', 'port_range_start': 9, 'port_range_end': 1}]}
        for r in (partly, useless):
            self.portal.control(op='push', event='resource_created_or_updated', payload=r)
        marker = self.settle(5)
        self.assertEqual(set(self.list_resources()), self.resources | {partly['id'], marker})
        self.assertEqual(table_routes(), self.before | {'10.93.0.0/16'})
        skipped = [s for s in self.skip_lines() if s[1] == 'resource_created_or_updated']
        self.assertEqual(skipped, [('filter 0 of resource filters-1', 'resource_created_or_updated'),
                                   ('filter 0 of resource filters-2', 'resource_created_or_updated'),
                                   ('filter 1 of resource filters-2', 'resource_created_or_updated'),
                                   ('resource filters-2', 'resource_created_or_updated')])
        self.assertIn('Portal: skipping resource filters-2 of resource_created_or_updated: no entry of "filters" '
                      'is usable.', self.bed.daemon.output())
        self.assertStillConnected()

    def test_bad_gateway_messages_skip_the_bad_part_and_keep_the_connection(self):
        # portal-gateway.c follows the same rules: a bad relay, relay id or candidate is skipped
        # with one line and the rest applies; an authorization that cannot be used is dropped
        # with one line (the resource asks again later).
        relay = {'type': 'turn', 'id': 'relay-ok', 'addr': '192.0.2.1:3478', 'username': 'u', 'password': 'p',
                 'expires_at': 2000000000}
        self.portal.control(op='push', event='relays_presence', payload={
            'disconnected_ids': ['relay-gone', 7],
            'connected': [relay, dict(relay, id='relay-bad', addr='nowhere'), 5, dict(relay, id='stun-1', type='stun')]})
        self.portal.control(op='push', event='ice_candidates', payload={
            'gateway_id': 'gateway-unknown',
            'candidates': ['candidate:1 1 UDP 2130706431 192.0.2.7 5000 typ host', 7, 'bad\ncandidate']})
        self.portal.control(op='push', event='invalidate_ice_candidates', payload={'gateway_id': 'a b',
                                                                                    'candidates': []})
        key = 'A' * 43 + '='
        self.portal.control(op='push', event='authorization_created', payload={
            'resource_id': 'r-1', 'gateway_id': 'g-1', 'site_id': 's-1', 'gateway_public_key': 'short',
            'preshared_key': key, 'client_ice_credentials': {'username': 'a', 'password': 'b'},
            'gateway_ice_credentials': {'username': 'c', 'password': 'd'}})
        self.portal.control(op='push', event='authorization_creation_failed', payload={'reason': 'offline'})
        marker = self.settle(6)
        self.assertEqual(set(self.list_resources()), self.resources | {marker})
        self.assertEqual(table_routes(), self.before)
        skipped = self.skip_lines()
        for name, event in (('disconnected relay id 1', 'relays_presence'),
                            ('relay 1 (relay-bad)', 'relays_presence'), ('relay 2', 'relays_presence'),
                            ('candidate 1 of gateway gateway-unknown', 'ice_candidates'),
                            ('candidate 2 of gateway gateway-unknown', 'ice_candidates')):
            self.assertIn((name, event), skipped)
        self.assertEqual(len(skipped), 5)
        log = self.bed.daemon.output()
        self.assertIn('Portal: ignoring a "authorization_created" event: resource r-1: "gateway_public_key" is '
                      'not a 32-byte key in base64.', log)
        self.assertIn('Portal: ignoring a "authorization_creation_failed" event', log)
        self.assertIn('Portal: ignoring a "invalidate_ice_candidates" event', log)
        self.assertStillConnected()

    def test_unusable_deletes_are_dropped(self):
        for payload in (7, None, 'has space', {'id': 3}, ['x'], {}):
            self.portal.control(op='push', event='resource_deleted', payload=payload)
        marker = self.settle(1)
        self.assertEqual(set(self.list_resources()), self.resources | {marker})
        self.assertEqual(table_routes(), self.before)
        self.assertEqual(self.bed.daemon.output().count('Portal: ignoring a "resource_deleted" event'), 6)
        self.assertStillConnected()

    def test_unusable_config_is_dropped_and_a_partly_bad_one_applied(self):
        tun = tun_state()
        resolv = read(RESOLV_CONF)
        for payload in ([], {}, {'interface': 'x'}, {'interface': {'ipv4': 'nope', 'ipv6': 7}}):
            self.portal.control(op='push', event='config_changed', payload=payload)
        self.settle(2)
        self.assertEqual(tun_state(), tun)
        self.assertEqual(read(RESOLV_CONF), resolv)
        self.assertEqual(self.bed.daemon.output().count('Portal: ignoring a "config_changed" event'), 4)

        # New addresses with a bad IPv6 one, a bad server and a bad search domain: the rest applies.
        before = len(self.skip_lines())
        self.portal.control(op='push', event='config_changed', payload={'interface': {
            'ipv4': '100.72.112.200', 'ipv6': 'fd00::zz', 'search_domain': 'bad domain',
            'upstream_do53': [{'ip': 'x'}, {'ip': '192.0.2.54'}]}})
        self.settle(3)
        self.assertEqual(tun_state()['addresses'], {'100.72.112.200/32'})
        self.assertEqual(self.status()['ipv4'], '100.72.112.200')
        text = read(RESOLV_CONF).decode()
        self.assertIn('nameserver 100.100.111.1\n', text)
        self.assertNotIn('search', text)
        skipped = self.skip_lines()[before:]
        self.assertEqual(sorted(skipped), sorted([('IPv6 address of the interface', 'config_changed'),
                                                  ('search domain', 'config_changed'),
                                                  ('upstream_do53 server 0', 'config_changed')]))
        self.assertStillConnected()

    def test_unreadable_frames_and_unknown_events_are_dropped(self):
        for text in ('{"topic":"client","event":', '[1]', '{"topic":"client","event":"init","ref":-1}',
                     '{"topic":"client","event":"\\ud800"}', '{"topic":5,"event":"x"}', 'null',
                     '{"topic":"client","event":"x","payload":' + '[' * 200 + ']' * 200 + '}'):
            self.portal.control(op='send_raw', text=text)
        self.portal.control(op='push', event='some_future_event', payload={'a': [1, 2]})
        self.portal.control(op='push', event='relays_presence', payload='garbage')
        marker = self.settle(4)
        self.assertEqual(set(self.list_resources()), self.resources | {marker})
        self.assertEqual(table_routes(), self.before)
        self.assertEqual(self.bed.daemon.output().count('Portal: ignoring a frame that cannot be read'), 6)
        self.assertStillConnected()


class UnusableInit(_Tolerance):
    ACCOUNT = copy.deepcopy(demo_account())
    ACCOUNT['interface'] = {'ipv4': 'not an address', 'ipv6': 7}

    def test_an_init_without_a_usable_interface_resets_until_fixed(self):
        self.assertOk(self.sign_in(token='demo-token-0123456789'))
        sig = self.assertOk(self.watcher.wait_signal('StateChanged', timeout_ms=20000,
                                                     match={0: 'connecting'}))
        while 'usable' not in sig['args'][1]['last-error']:
            sig = self.assertOk(self.watcher.wait_signal('StateChanged', timeout_ms=20000,
                                                         match={0: 'connecting'}))
        self.assertIn('the interface has no usable "ipv4" or "ipv6" address', sig['args'][1]['last-error'])
        self.assertIsNone(tun_state())
        self.assertTrue(self.bed.daemon.running())
        # The portal fixes its data: the next attempt connects.
        self.portal.control(op='config_changed', interface=demo_account()['interface'])
        self.assertOk(self.watcher.wait_signal('StateChanged', timeout_ms=30000, match={0: 'connected'}))
        self.assertEqual(tun_state()['addresses'], {'100.72.112.111/32', 'fd00:2021:1111::13:efb9/128'})
        self.assertEqual(set(self.list_resources()), {r['id'] for r in demo_account()['resources']})
        self.assertEqual(self.status()['interface'], TUN)
