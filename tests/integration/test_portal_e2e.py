# SPDX-License-Identifier: Apache-2.0
"""End to end through D-Bus: the real daemon, signed in with SignIn, against the local
portal (tests/portal/portal.py) on the bed's loopback — connected, resources, updates,
restarts, 401, token expiry, heartbeat silence, bad frames, untrusted certificates, and no
token in any log."""

import copy

from portalbed import LocalPortal, demo_account, portal_view
from test_api import ApiTestCase

TOKEN = 'demo-token-0123456789'


class _E2E(ApiTestCase):
    TLS = False

    def setUp(self):
        self.bed = __import__('fzbed').BED
        # The portal first: the daemon's FIREZONE_API_URL needs its port.
        self.portal = LocalPortal(self.bed, token=TOKEN)
        env = {'FIREZONE_API_URL': self.portal.wss_url if self.TLS else self.portal.ws_url}
        if self.TLS:
            env['SSL_CERT_FILE'] = self.portal.ca_file
        self.DAEMON_ENV = env
        super().setUp()
        self.addCleanup(self.portal.stop)
        self.secret(TOKEN)  # checked against every log of the bed at cleanup
        self.watcher = self.agent('root')
        self.watcher.subscribe('StateChanged')
        self.watcher.subscribe('ResourcesChanged')

    def wait_state(self, state, timeout_ms=20000):
        return self.assertOk(self.watcher.wait_signal('StateChanged', timeout_ms=timeout_ms, match={0: state}))

    def wait_resources(self, pred, what):
        """The first ResourcesChanged whose list satisfies pred (the one for init may still be
        on its way when a test pushes an update)."""
        for _ in range(5):
            sig = self.assertOk(self.watcher.wait_signal('ResourcesChanged'))
            ids = {r['id'] for r in sig['args'][0]}
            if pred(ids):
                return ids
        self.fail(f'no ResourcesChanged {what}')

    def list_resources(self):
        return self.assertOk(self.agent('fz-member').call('ListResources'))[0]

    def assertResourcesEqualPortal(self, resources):
        got = {r['id']: r for r in self.list_resources()}
        want = {r['id']: portal_view(r) for r in resources}
        self.assertEqual(set(got), set(want))
        for rid, w in want.items():
            g = got[rid]
            self.assertEqual({k: (list(map(list, g[k])) if k == 'sites' else g[k]) for k in w}, w, rid)

    def connect(self):
        self.assertOk(self.sign_in(token=TOKEN))
        sig = self.wait_state('connected')
        st = self.status()
        self.assertEqual(st['state'], 'connected')
        self.assertEqual(st['last-error'], '')
        self.assertGreater(st['connected-since'], 0)
        return sig


class Connected(_E2E):
    def test_sign_in_connects_and_lists_the_portals_resources(self):
        self.connect()
        account = demo_account()
        self.assertEqual(self.status()['resource-count'], len(account['resources']))
        self.assertResourcesEqualPortal(account['resources'])
        self.assertNoSecretsLogged()

    def test_update_and_delete_are_reflected(self):
        self.connect()
        resources = copy.deepcopy(demo_account()['resources'])
        new = {'id': 'aaaaaaaa-0000-4000-8000-000000000002', 'type': 'dns', 'name': 'New app',
               'address': 'app.corp.example.com', 'address_description': 'live',
               'gateway_groups': [{'id': 'bf56f32d-7b2c-4f5d-a784-788977d014a4', 'name': 'Headquarters'}]}
        self.portal.control(op='upsert', resource=new)
        self.wait_resources(lambda ids: new['id'] in ids, 'with the new resource')
        resources.append(new)
        gone = resources.pop(0)
        self.portal.control(op='delete', id=gone['id'])
        self.wait_resources(lambda ids: gone['id'] not in ids, 'without the deleted resource')
        self.assertResourcesEqualPortal(resources)

    def test_portal_restart_reconnecting_then_connected(self):
        self.connect()
        self.portal.restart()
        sig = self.wait_state('reconnecting')
        self.assertIn('Firezone portal', sig['args'][1]['last-error'])
        self.wait_state('connected', timeout_ms=30000)
        self.assertEqual(self.status()['last-error'], '')
        self.assertResourcesEqualPortal(demo_account()['resources'])

    def test_malformed_frame_is_dropped_and_the_connection_stays(self):
        self.connect()
        self.portal.control(op='send_raw', text='{"topic":"client","event":')
        # An update after it arrives on the same connection, and nothing was reset.
        marker = {'id': 'aaaaaaaa-0000-4000-8000-0000000000ff', 'type': 'dns', 'name': 'Marker',
                  'address': 'marker.corp.example.com'}
        self.portal.control(op='upsert', resource=marker)
        self.wait_resources(lambda ids: marker['id'] in ids, 'with the marker')
        self.assertEqual(self.status()['state'], 'connected')
        self.assertEqual([s for s in self.watcher.signals() if s['member'] == 'StateChanged'
                          and s['args'][0] == 'reconnecting'], [])
        self.assertEqual(self.portal.control(op='status')['joins'], 1)
        self.assertIn('Portal: ignoring a frame that cannot be read (the frame is not valid JSON)',
                      self.bed.daemon.output())

    def test_heartbeat_silence_reconnects(self):
        # Real timing: a heartbeat every 10 s, three unanswered drop the connection.
        self.connect()
        self.portal.control(op='heartbeats', answer=False)
        sig = self.wait_state('reconnecting', timeout_ms=60000)
        self.assertIn('stopped answering', sig['args'][1]['last-error'])
        self.portal.control(op='heartbeats', answer=True)
        self.wait_state('connected', timeout_ms=30000)


class SessionEnd(_E2E):
    def test_401_signs_out_and_requires_sign_in(self):
        self.assertOk(self.sign_in(token='wrong-' + TOKEN))
        sig = self.wait_state('signed-out')
        self.assertTrue(sig['args'][1]['requires-sign-in'])
        st = self.status()
        self.assertEqual(st['state'], 'signed-out')
        self.assertTrue(st['requires-sign-in'])
        self.assertIn('Sign in again', st['last-error'])
        self.assertNoSecretsLogged()

    def test_token_expired_signs_out(self):
        self.connect()
        self.portal.control(op='disconnect', reason='token_expired')
        sig = self.wait_state('signed-out')
        self.assertTrue(sig['args'][1]['requires-sign-in'])
        self.assertEqual(self.list_resources(), [])


class Tls(_E2E):
    TLS = True

    def test_wss_with_a_trusted_ca_connects(self):
        self.connect()
        self.assertResourcesEqualPortal(demo_account()['resources'])


class UntrustedTls(_E2E):
    def setUp(self):
        super().setUp()
        # The daemon does not trust the test CA: point it at the wss port anyway.
        self.bed.stop_daemon()
        self.bed.start_daemon(env={'FIREZONE_API_URL': self.portal.wss_url})

    def test_untrusted_certificate_is_refused_with_a_clear_error(self):
        self.assertOk(self.sign_in(token=TOKEN))
        self.wait_state('connecting')  # SignIn
        sig = self.wait_state('connecting')  # the failed attempt, with its last-error
        self.assertIn('TLS certificate of the Firezone portal', sig['args'][1]['last-error'])
        st = self.status()
        self.assertIn('TLS certificate of the Firezone portal', st['last-error'])
        self.assertIn('could not be verified', st['last-error'])
        self.assertNotEqual(st['state'], 'connected')
        self.assertEqual(self.portal.control(op='status')['connects'], 0)
