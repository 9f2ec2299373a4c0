# SPDX-License-Identifier: Apache-2.0
"""The test gateway's controller (tests/gateway/gateway.py) in the test world: the portal side
of a gateway and the JSON-lines protocol to its data plane (tests/gateway/README.md).

Behind the controller runs icepeer.py, an ICE-only stand-in that speaks the protocol's ICE
part with python3-aioice (no WireGuard, no forwarding): what these tests prove is the
controller's half — what it forwards, in what order, and that the connection it sets up
through the portal really connects (through symmetric NATs, so via the relay)."""

import fzbed
import gatewaybed
import worldbed
from worldbed import RES


class _Gateway(fzbed.BedTestCase):
    START_DAEMON = False
    WORLD = {'client_nat': 'symmetric', 'gateway_nat': 'symmetric'}

    def setUp(self):
        super().setUp()
        self.world = worldbed.World(self.bed, **self.WORLD)
        self.addCleanup(self.world.close)
        self.secret(self.world.token)
        self.secret(self.world.gateway_token)
        self.gw = self.world.start_gateway(dataplane=['/usr/bin/python3', gatewaybed.ICEPEER,
                                                      '--ignore-net', '10.20.0.0/24', '--ignore-net', 'fd00:20::/64'])

    def dp_orders(self, op):
        return [e['message'] for e in self.gw.events('dataplane', 'out', op)]

    def authorize_and_connect(self, external_id='scripted-client-1'):
        """A scripted client asks for the CIDR resource and connects to the gateway over ICE."""
        w = self.world
        cl = w.peer('client', external_id)
        pk = cl.connect('client', w.token, external_id)['public_key']
        init = cl.portal('init')
        cl.order('push', event='request_authorization', payload={'resource_id': RES['cidr4'],
                                                                 'connected_gateway_ids': []})
        ac = cl.portal('authorization_created')
        cl.send(op='ice_start', controlling=True, local=ac['client_ice_credentials'],
                remote=ac['gateway_ice_credentials'], relays=init['relays'])
        cands = cl.wait('local_candidates')['candidates']
        cl.order('push', event='new_gateway_ice_candidates', payload={'gateway_id': ac['gateway_id'],
                                                                      'candidates': cands})
        gcands = cl.portal('ice_candidates')
        self.assertEqual(gcands['gateway_id'], ac['gateway_id'])
        cl.order('ice_remote', candidates=gcands['candidates'])
        cl.send(op='ice_connect', timeout=30)
        path = cl.wait('ice_connected', timeout=40)
        return cl, pk, ac, cands, path

    def echo(self, cl, text):
        cl.order('ice_send', data='fzw-echo:' + text)
        cl.send(op='ice_recv', timeout=10)
        return cl.wait('ice_data')['data']


class Controller(_Gateway):
    def test_authorization_reaches_the_data_plane_and_the_path_connects(self):
        cl, pk, ac, cands, path = self.authorize_and_connect()
        self.assertTrue(path['relayed'], path)
        self.assertEqual(self.echo(cl, 'hello'), 'fzw-echo:hello')

        init, = self.dp_orders('init')
        self.assertEqual(set(init['interface']), {'ipv4', 'ipv6'})
        self.assertEqual(len(init['relays']), 2)
        auth, = self.dp_orders('authorize')
        self.assertEqual((auth['client']['public_key'], auth['resource']['id']), (pk, RES['cidr4']))
        self.assertEqual(auth['local_ice'], ac['gateway_ice_credentials'])
        self.assertEqual(auth['remote_ice'], ac['client_ice_credentials'])
        self.assertEqual(len(auth['client']['preshared_key']), 44)
        remote, = self.dp_orders('remote_candidates')
        self.assertEqual((remote['client_id'], remote['candidates']), (auth['client']['id'], cands))
        connected = self.gw.wait_event('dataplane', 'in', 'connection', match={'state': 'ice-connected'})
        self.assertTrue(connected[0]['message']['path']['relayed'])
        # The portal heard authorization_created before any of the gateway's candidates.
        out = [e['event'] for e in self.gw.events('portal', 'out')]
        self.assertLess(out.index('authorization_created'), out.index('ice_candidates'))
        got = self.world.portal.control(op='messages', side='gateway', direction='in')['messages']
        events = [m['event'] for m in got]
        self.assertLess(events.index('authorization_created'), events.index('ice_candidates'))

    def test_portal_outage_keeps_the_connection_and_the_controller_rejoins(self):
        cl, pk, ac, cands, path = self.authorize_and_connect()
        pid = self.gw.control(op='status')['dataplane_pid']
        self.world.portal.stop()
        # Established traffic keeps flowing without the portal.
        self.assertEqual(self.echo(cl, 'during the outage'), 'fzw-echo:during the outage')
        self.world.portal.start()
        self.gw.wait_joined(count=2)
        st = self.gw.control(op='status')
        self.assertEqual((st['dataplane_pid'], st['joined']), (pid, True))
        inits = self.dp_orders('init')
        self.assertEqual(len(inits), 2)
        # The restarted portal still lists the authorization (the gateway keeps only those).
        self.assertEqual([(a['client_id'], a['resource_id']) for a in inits[1]['authorizations']],
                         [(self.dp_orders('authorize')[0]['client']['id'], RES['cidr4'])])
        self.assertEqual(inits[1]['interface'], inits[0]['interface'])
        self.assertEqual([e for e in self.gw.events('dataplane', 'in', 'connection')
                          if e['message']['state'] == 'closed'], [])
        self.assertEqual(self.echo(cl, 'after'), 'fzw-echo:after')

    def test_reject_access_relays_and_candidates_reach_the_data_plane(self):
        cl, pk, ac, cands, path = self.authorize_and_connect()
        client_id = self.dp_orders('authorize')[0]['client']['id']
        w = self.world
        w.portal.control(op='rotate_relay_credentials', side='gateway', expires_in=600)
        relays = self.gw.wait_event('dataplane', 'out', 'relays')[0]['message']
        self.assertEqual((relays['disconnected_ids'], len(relays['connected'])), ([], 2))
        cl.order('push', event='invalidate_gateway_ice_candidates',
                 payload={'gateway_id': ac['gateway_id'], 'candidates': cands[:1]})
        inv = self.gw.wait_event('dataplane', 'out', 'invalidate_remote_candidates')[0]['message']
        self.assertEqual((inv['client_id'], inv['candidates']), (client_id, cands[:1]))
        self.assertEqual(w.portal.control(op='reject_access', client_id=client_id)['sent'], 1)
        rej = self.gw.wait_event('dataplane', 'out', 'reject_access')[0]['message']
        self.assertEqual((rej['client_id'], rej['resource_id']), (client_id, RES['cidr4']))
        self.gw.wait_event('dataplane', 'in', 'connection', match={'client_id': client_id, 'state': 'closed'})

    def test_sigterm_ends_the_data_plane_with_eof(self):
        self.assertEqual(self.gw.stop(), 0)
        self.assertIn('the data plane exited with code 0', self.gw.output())
