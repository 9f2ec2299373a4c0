# SPDX-License-Identifier: Apache-2.0
"""The test world itself (worldbed.py): its NATs, relay, resource network, loss knob, roaming
and address-family variants, and the local portal brokering between a scripted client and a
scripted gateway through it. The scenarios of issue #13 build on these facts; each test here
can fail on its own if the world stops being what the scenarios assume."""

import json
import os
import sys
import time

import fzbed
import worldbed
from worldbed import INET, RES, RESOURCE_NET, SITE

sys.path.insert(0, os.path.join(fzbed.SOURCE_ROOT, 'tests', 'portal'))
import credentials  # noqa: E402


class _World(fzbed.BedTestCase):
    START_DAEMON = False
    WORLD = {}

    def setUp(self):
        super().setUp()
        self.world = worldbed.World(self.bed, **self.WORLD)
        self.addCleanup(self.world.close)
        self.secret(self.world.token)
        self.secret(self.world.gateway_token)

    def global_addresses(self, role):
        r = self.world.run(role, ['ip', '-j', 'address', 'show'])
        return {a['local'] for link in json.loads(r.stdout) for a in link.get('addr_info', [])
                if a.get('scope') == 'global'}

    def ask(self, role, port, servers):
        return self.world.probe(role, ['ask', '--port', str(port), *servers])


class Nat(_World):
    def test_cone_nat_shows_the_router_and_keeps_the_port(self):
        w = self.world
        w.whoami_server((7000, 7001), '4')
        w.whoami_server((7000, 7001), '6')
        for fam, inet in (('4', INET['inet'][0]), ('6', f'[{INET["inet"][1]}]')):
            for role, router in (('client', 'crouter'), ('gateway', 'grouter')):
                seen = self.ask(role, 5555, [f'{inet}:7000', f'{inet}:7001'])
                self.assertEqual([(s['ip'], s['port']) for s in seen], [(w.addr(router, fam), 5555)] * 2,
                                 f'IPv{fam} from {role}: the router, endpoint-independent, port kept')

    def test_lans_are_private(self):
        # Nothing on the Internet reaches the hosts behind the routers.
        for target in (self.world.addr('client'), self.world.addr('gateway')):
            r = self.world.run('inet', ['ping', '-c', '1', '-W', '2', target], check=False)
            self.assertNotEqual(r.returncode, 0, f'{target} answered from the Internet')


class SymmetricNat(_World):
    WORLD = {'client_nat': 'symmetric', 'gateway_nat': 'symmetric'}

    def test_symmetric_nat_maps_each_destination_to_a_new_port(self):
        w = self.world
        w.whoami_server((7000, 7001))
        for role, router in (('client', 'crouter'), ('gateway', 'grouter')):
            seen = self.ask(role, 5555, ['203.0.113.1:7000', '203.0.113.1:7001'])
            self.assertEqual({s['ip'] for s in seen}, {w.addr(router)})
            self.assertNotEqual(seen[0]['port'], seen[1]['port'], f'{router} should map per destination')
        # The knob turns it back into a cone NAT (for new flows).
        w.set_nat('crouter', 'cone')
        seen = self.ask('client', 5556, ['203.0.113.1:7000', '203.0.113.1:7001'])
        self.assertEqual({(s['ip'], s['port']) for s in seen}, {(w.addr('crouter'), 5556)})


class Relay(_World):
    def allocate(self, role, server, username, password, relay_family=4):
        return self.world.probe(role, ['allocate', '--server', server, '--username', username, '--password', password,
                                       '--relay-family', str(relay_family)])

    def test_coturn_allocates_through_the_nat_with_minted_credentials(self):
        w = self.world
        user, password = credentials.turn_credentials(w.relay_secret, 'k' * 43 + '=', int(time.time()) + 600)
        for fam, server in (('4', f'{INET["relay"][0]}:3478'), ('6', f'[{INET["relay"][1]}]:3478')):
            for role, router in (('client', 'crouter'), ('gateway', 'grouter')):
                got = self.allocate(role, server, user, password, int(fam))
                self.assertTrue(got['ok'], got)
                self.assertEqual(got['realm'], 'firezone')
                self.assertEqual(got['mapped'][0], w.addr(router, fam), 'coturn saw the router (NAT)')
                self.assertEqual(got['relayed'][0], w.addr('relay', fam))
                self.assertGreater(got['lifetime'], 0)

    def test_coturn_refuses_expired_and_forged_credentials(self):
        w = self.world
        server = f'{INET["relay"][0]}:3478'
        expired = credentials.turn_credentials(w.relay_secret, 'k' * 43 + '=', int(time.time()) - 60)
        forged = credentials.turn_credentials('not-the-secret', 'k' * 43 + '=', int(time.time()) + 600)
        for user, password in (expired, forged):
            got = self.allocate('client', server, user, password)
            self.assertFalse(got['ok'], got)
            self.assertEqual(got['error'], 401, got)


class Resources(_World):
    def test_http_and_iperf3_reachable_from_the_gateway_only(self):
        w = self.world
        for fam in ('4', '6'):
            got = w.fetch(w.url(family=fam), role='gateway')
            self.assertTrue(got['ok'], got)
            self.assertEqual(got['bytes'], w.file_size)
        data = w.iperf('gateway', seconds=1)
        self.assertGreater(data['end']['sum_received']['bits_per_second'], 0)
        # The file answers to its SHA-256 only: a different file would not pass.
        self.assertEqual(len(w.file_sha256), 64)
        for role in ('client', 'crouter', 'grouter', 'inet', 'portal', 'relay'):
            for fam in ('4', '6'):
                got = w.fetch(w.url(family=fam), role=role, timeout=5, extra=('--connect-timeout', '3'))
                self.assertFalse(got['ok'], f'the resource answered {role} over IPv{fam}')
            with self.assertRaises(worldbed.WorldError, msg=f'iperf3 reached the resource from {role}'):
                w.iperf(role, seconds=1, extra=('--connect-timeout', '3000'))

    def test_the_gateway_resolves_dns_resources_in_the_resource_network(self):
        w = self.world
        for name in (worldbed.DNS_NAME, worldbed.WILDCARD_EXAMPLE):
            r = w.run('gateway', ['getent', 'ahosts', name])
            self.assertEqual({line.split()[0] for line in r.stdout.splitlines()}, set(RESOURCE_NET['server']), name)
        # The client's upstream (public DNS on the Internet) does not know them.
        r = w.run('client', ['dig', '+short', '+time=3', '+tries=1', f'@{INET["inet"][0]}', worldbed.DNS_NAME])
        self.assertEqual(r.stdout.strip(), '')
        r = w.run('client', ['dig', '+short', '+time=3', '+tries=1', f'@{INET["inet"][0]}', 'portal.fz.test'])
        self.assertEqual(r.stdout.strip(), INET['portal'][0])


class Loss(_World):
    def test_loss_knob_drops_the_given_share(self):
        w = self.world
        w.set_loss('crouter', 30)
        w.probe('client', ['blast', '--count', '3000', '203.0.113.1:9'])
        c = w.router_counters('crouter')
        self.assertGreaterEqual(c['forwarded'], 2900, c)
        share = c['lost'] / c['forwarded']
        self.assertTrue(0.24 < share < 0.36, f'{share:.3f} of the packets lost for a 30 % knob: {c}')
        w.set_loss('crouter', 0)  # off: a fresh count loses nothing
        w.probe('client', ['blast', '--count', '500', '203.0.113.1:9'])
        c = w.router_counters('crouter')
        self.assertEqual(c['lost'], 0, c)
        self.assertGreaterEqual(c['forwarded'], 490, c)


class Roaming(_World):
    def test_roaming_changes_the_address_and_the_mapping(self):
        w = self.world
        w.whoami_server((7000,))
        before = self.ask('client', 5555, ['203.0.113.1:7000'])[0]
        old = w.addr('client')
        new = w.roam_client()
        self.assertNotEqual(old, new)
        addrs = self.global_addresses('client')
        self.assertIn(new, addrs)
        self.assertNotIn(old, addrs)
        self.assertIn(w.addr('client', '6'), addrs)
        after = self.ask('client', 5555, ['203.0.113.1:7000'])[0]
        self.assertEqual(after['ip'], before['ip'], 'still behind the same router')
        self.assertNotEqual(after['port'], before['port'], 'a new flow in the NAT')


class Ipv4Only(_World):
    WORLD = {'families': ('4',)}

    def test_no_ipv6_anywhere_and_relays_offer_ipv4_only(self):
        w = self.world
        for role in worldbed.NS:
            self.assertFalse({a for a in self.global_addresses(role) if ':' in a}, role)
        self.assertNotIn('IPv6. UDP listener', w.coturn.output())
        client = w.peer('client')
        client.connect('client', w.token, 'v4-client')
        init = client.portal('init')
        self.assertEqual([r['addr'] for r in init['relays']], [f'{INET["relay"][0]}:3478'])
        self.assertTrue(w.fetch(role='gateway')['ok'])


class Ipv4OnlyGateway(_World):
    WORLD = {'gateway_families': ('4',)}

    def test_the_gateway_side_has_no_ipv6(self):
        w = self.world
        for role in ('grouter', 'gateway', 'resource'):
            self.assertFalse({a for a in self.global_addresses(role) if ':' in a}, role)
        self.assertTrue({a for a in self.global_addresses('client') if ':' in a})
        self.assertNotIn(RES['cidr6'], {r['id'] for r in w.account['resources']})
        self.assertTrue(w.fetch(role='gateway')['ok'])


class Broker(_World):
    """The portal between a scripted client and a scripted gateway (Python websockets
    clients with aioice), both behind symmetric NATs: only the relay connects them."""
    WORLD = {'client_nat': 'symmetric', 'gateway_nat': 'symmetric'}

    def join_both(self):
        w = self.world
        gw = w.peer('gateway', 'scripted-gateway')
        g = gw.connect('gateway', w.gateway_token, 'scripted-gateway-1')
        ginit = gw.portal('init')
        cl = w.peer('client', 'scripted-client')
        c = cl.connect('client', w.token, 'scripted-client-1')
        cinit = cl.portal('init')
        return gw, g['public_key'], ginit, cl, c['public_key'], cinit

    def check_relays(self, relays, public_key, expires_at=None):
        w = self.world
        self.assertEqual(sorted(r['addr'] for r in relays),
                         sorted([f'{INET["relay"][0]}:3478', f'[{INET["relay"][1]}]:3478']))
        for r in relays:
            self.assertEqual((r['id'], r['type']), (worldbed.RELAY_ID, 'turn'))
            if expires_at is not None:
                self.assertEqual(r['expires_at'], expires_at)
            self.assertEqual((r['username'], r['password']),
                             credentials.turn_credentials(w.relay_secret, public_key, r['expires_at']))

    def test_authorization_candidates_and_a_relayed_path(self):
        w = self.world
        gw, gpk, ginit, cl, cpk, cinit = self.join_both()
        self.assertEqual(set(ginit['interface']), {'ipv4', 'ipv6'})
        self.assertEqual(ginit['config'], {'ipv4_masquerade_enabled': True, 'ipv6_masquerade_enabled': True})
        self.check_relays(ginit['relays'], gpk, credentials.GATEWAY_RELAY_EXPIRY)
        self.check_relays(cinit['relays'], cpk)
        self.assertGreater(cinit['relays'][0]['expires_at'], time.time())
        # The relay accepts what the portal minted, from behind the client's NAT.
        v4 = next(r for r in cinit['relays'] if not r['addr'].startswith('['))
        got = w.probe('client', ['allocate', '--server', v4['addr'], '--username', v4['username'],
                                 '--password', v4['password']])
        self.assertTrue(got['ok'], got)

        cl.order('push', event='request_authorization', payload={'resource_id': RES['cidr4'],
                                                                 'connected_gateway_ids': []})
        ca = gw.portal('create_authorization')
        self.assertEqual(ca['resource'], {'id': RES['cidr4'], 'type': 'cidr', 'address': '10.20.0.0/24',
                                          'name': 'Resource network', 'filters': []})
        self.assertEqual((ca['client']['public_key'], ca['client']['ipv4'], ca['client']['ipv6']),
                         (cpk, worldbed.CLIENT_INTERFACE['ipv4'], worldbed.CLIENT_INTERFACE['ipv6']))
        self.assertEqual(len(ca['client']['preshared_key']), 44)
        self.assertIsInstance(ca['expires_at'], int)
        self.assertIs(ca['use_iceless'], False)
        gw.send(op='call', event='authorization_created', payload={'ref': ca['ref']})
        self.assertEqual(gw.wait('reply')['payload'], {'status': 'ok', 'response': {}})

        ac = cl.portal('authorization_created')
        self.assertEqual(ac['resource_id'], RES['cidr4'])
        self.assertEqual(ac['site_id'], SITE['id'])
        self.assertEqual(ac['gateway_public_key'], gpk)
        self.assertEqual((ac['gateway_ipv4'], ac['gateway_ipv6']),
                         (ginit['interface']['ipv4'], ginit['interface']['ipv6']))
        self.assertEqual(ac['preshared_key'], ca['client']['preshared_key'])
        self.assertEqual(ac['client_ice_credentials'], ca['client_ice_credentials'])
        self.assertEqual(ac['gateway_ice_credentials'], ca['gateway_ice_credentials'])
        self.assertIs(ac['use_iceless'], False)
        expected = credentials.ice_credentials(ca['client']['id'], cpk, ac['gateway_id'], gpk)
        self.assertEqual((ac['client_ice_credentials'], ac['gateway_ice_credentials']), expected)

        # ICE: each side gathers with the relay the portal gave it; candidates cross the portal.
        cl.send(op='ice_start', controlling=True, local=ac['client_ice_credentials'],
                remote=ac['gateway_ice_credentials'], relays=cinit['relays'])
        gw.send(op='ice_start', controlling=False, local=ca['gateway_ice_credentials'],
                remote=ca['client_ice_credentials'], relays=ginit['relays'], ignore_nets=['10.20.0.0/24', 'fd00:20::/64'])
        ccands = cl.wait('local_candidates')['candidates']
        gcands = gw.wait('local_candidates')['candidates']
        self.assertTrue(any(' typ relay ' in c for c in ccands) and any(' typ relay ' in c for c in gcands))
        cl.order('push', event='new_gateway_ice_candidates', payload={'gateway_id': ac['gateway_id'],
                                                                      'candidates': ccands})
        got = gw.portal('ice_candidates')
        self.assertEqual(got, {'client_id': ca['client']['id'], 'candidates': ccands})
        gw.order('push', event='broadcast_ice_candidates', payload={'client_ids': [ca['client']['id']],
                                                                    'candidates': gcands})
        got = cl.portal('ice_candidates')
        self.assertEqual(got, {'gateway_id': ac['gateway_id'], 'candidates': gcands})
        cl.order('ice_remote', candidates=gcands)
        gw.order('ice_remote', candidates=ccands)
        cl.send(op='ice_connect', timeout=30)
        gw.send(op='ice_connect', timeout=30)
        cpath, gpath = cl.wait('ice_connected', timeout=40), gw.wait('ice_connected', timeout=40)
        self.assertTrue(cpath['relayed'] and gpath['relayed'], (cpath, gpath))
        # Data both ways on the relayed path.
        cl.order('ice_send', data='from the client')
        gw.send(op='ice_recv')
        self.assertEqual(gw.wait('ice_data')['data'], 'from the client')
        gw.order('ice_send', data='from the gateway')
        cl.send(op='ice_recv')
        self.assertEqual(cl.wait('ice_data')['data'], 'from the gateway')
        # Invalidations cross too.
        cl.order('push', event='invalidate_gateway_ice_candidates',
                 payload={'gateway_id': ac['gateway_id'], 'candidates': ccands[:1]})
        self.assertEqual(gw.portal('invalidate_ice_candidates')['candidates'], ccands[:1])

    def test_failures_offline_not_found_forbidden_and_timeout(self):
        w = self.world
        gw, gpk, ginit, cl, cpk, cinit = self.join_both()

        def request(rid):
            cl.order('push', event='request_authorization', payload={'resource_id': rid, 'connected_gateway_ids': []})
            return cl.portal('authorization_creation_failed')

        self.assertEqual(request(RES['nogateway']), {'resource_id': RES['nogateway'], 'reason': 'offline'})
        unknown = '99999999-9999-4999-8999-999999999999'
        self.assertEqual(request(unknown), {'resource_id': unknown, 'reason': 'not_found'})
        w.portal.control(op='fail_authorizations', reason='forbidden', violated_properties=['remote_ip'])
        self.assertEqual(request(RES['cidr4']), {'resource_id': RES['cidr4'], 'reason': 'forbidden',
                                                 'violated_properties': ['remote_ip']})
        # A gateway that never answers: offline after the portal's timeout.
        w.portal.control(op='set_authorization_timeout', seconds=1)
        self.assertEqual(request(RES['cidr4']), {'resource_id': RES['cidr4'], 'reason': 'offline'})
        gw.portal('create_authorization')  # it was asked
        # The site's gateways taken offline: refused at once, and the gateway cannot come back.
        self.assertEqual(w.portal.control(op='gateway_offline', site_id=SITE['id'])['dropped'], 1)
        gw.wait('closed')
        self.assertEqual(request(RES['cidr4'])['reason'], 'offline')
        again = w.peer('gateway', 'scripted-gateway-again')
        again.send(op='connect', api_url=w.api_url, path='gateway/v2/websocket', token=w.gateway_token,
                   topic='gateway', params={'external_id': 'scripted-gateway-1', 'name': 'again'}, ca_file=w.ca_file)
        with self.assertRaisesRegex(fzbed.BedError, '503'):
            again.wait('joined')
        w.portal.control(op='gateway_online')
        again.connect('gateway', w.gateway_token, 'scripted-gateway-1')

    def test_relay_rotation_presence_and_resource_changes(self):
        w = self.world
        gw, gpk, ginit, cl, cpk, cinit = self.join_both()
        # Expired credentials are pushed to both sides, and coturn refuses them.
        w.portal.control(op='expire_relay_credentials')
        cp, gp = cl.portal('relays_presence'), gw.portal('relays_presence')
        self.assertEqual(cp['disconnected_ids'], [])
        self.check_relays(cp['connected'], cpk)
        self.check_relays(gp['connected'], gpk)
        v4 = next(r for r in cp['connected'] if not r['addr'].startswith('['))
        self.assertLess(v4['expires_at'], time.time())
        got = w.probe('client', ['allocate', '--server', v4['addr'], '--username', v4['username'],
                                 '--password', v4['password']])
        self.assertEqual(got.get('error'), 401, got)
        # Rotated to fresh ones: accepted again.
        w.portal.control(op='rotate_relay_credentials', expires_in=3600)
        cp = cl.portal('relays_presence')
        gw.portal('relays_presence')
        v4 = next(r for r in cp['connected'] if not r['addr'].startswith('['))
        got = w.probe('client', ['allocate', '--server', v4['addr'], '--username', v4['username'],
                                 '--password', v4['password']])
        self.assertTrue(got['ok'], got)
        # A relay going away and coming back.
        w.portal.control(op='relay_down', id=worldbed.RELAY_ID)
        self.assertEqual(cl.portal('relays_presence'), {'disconnected_ids': [worldbed.RELAY_ID], 'connected': []})
        self.assertEqual(gw.portal('relays_presence')['disconnected_ids'], [worldbed.RELAY_ID])
        w.portal.control(op='relay_up')
        self.assertEqual(len(cl.portal('relays_presence')['connected']), 2)
        # no_relays is answered with the current relays.
        cl.order('push', event='no_relays', payload={})
        self.assertEqual(len(cl.portal('relays_presence')['connected']), 2)

        # Authorize, then change the resource: filters → resource_updated; address → reject_access.
        cl.order('push', event='request_authorization', payload={'resource_id': RES['filtered'],
                                                                 'connected_gateway_ids': []})
        ca = gw.portal('create_authorization')
        gw.send(op='call', event='authorization_created', payload={'ref': ca['ref']})
        self.assertEqual(gw.wait('reply')['payload']['status'], 'ok')
        cl.portal('authorization_created')
        resource = next(r for r in w.account['resources'] if r['id'] == RES['filtered'])
        changed = dict(resource, filters=[{'protocol': 'icmp'}])
        self.assertEqual(w.portal.control(op='upsert', resource=changed)['gateways_updated'], 1)
        self.assertEqual(gw.portal('resource_updated')['filters'], [{'protocol': 'icmp'}])
        self.assertEqual(cl.portal('resource_created_or_updated')['filters'], [{'protocol': 'icmp'}])
        self.assertEqual(w.portal.control(op='delete', id=RES['filtered'])['rejected'], 1)
        self.assertEqual(gw.portal('reject_access'), {'client_id': ca['client']['id'], 'resource_id': RES['filtered']})
        self.assertEqual(cl.portal('resource_deleted'), RES['filtered'])
        # A stale or forged ref is refused.
        gw.send(op='call', event='authorization_created', payload={'ref': 'forged'})
        self.assertEqual(gw.wait('reply')['payload']['status'], 'error')


class ClientDaemon(_World):
    """start_client(): the daemon from the build tree in fzw-client reaches the world's portal
    over wss:// through the client's NAT, and builds its tunnel in its own namespace."""

    def test_daemon_connects_through_the_nat_and_lists_the_worlds_resources(self):
        w = self.world
        w.start_client()
        watcher = self.bed.agent('root')
        watcher.subscribe('StateChanged')
        st = self.assertOk(watcher.call('Status'))[0]
        if st['state'] != 'connected':
            self.assertOk(watcher.wait_signal('StateChanged', timeout_ms=20000, match={0: 'connected'}))
            st = self.assertOk(watcher.call('Status'))[0]
        self.assertEqual((st['state'], st['mode'], st['ipv4']),
                         ('connected', 'service-account', worldbed.CLIENT_INTERFACE['ipv4']))
        listed = {r['id'] for r in self.assertOk(watcher.call('ListResources'))[0]}
        self.assertEqual(listed, {r['id'] for r in w.account['resources']})
        # The portal saw it come from the client's router, and the TUN is in fzw-client only.
        self.assertEqual(w.portal.control(op='status')['joins'], 1)
        self.assertIn('tun-firezone', w.run('client', ['ip', '-br', 'link']).stdout)
        r = w.run('inet', ['ip', '-br', 'link'])
        self.assertNotIn('tun-firezone', r.stdout)
        conntrack = w.router_counters('crouter')
        self.assertGreater(conntrack['forwarded'], 0, 'the portal connection went through the router')
