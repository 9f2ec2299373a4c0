# SPDX-License-Identifier: Apache-2.0
"""A whole session through the client side: sign in, get connected, see the resources, see
them change, sign out; through firezonectl and through the library.

With the local portal of tests/portal (clientbed.local_portal()) the daemon connects and the
tests assert "connected" and the portal's resources, with keys and types. Without it (a tree
where the portal work has not landed) the daemon stays "connecting" with no resources, and
the tests assert exactly that: they never skip."""

import json

from clientbed import (EXIT_FAILURE, EXIT_SUCCESS, RESOURCE_TYPES, ClientTestCase, local_portal,
                       portal_resources)


class Session(ClientTestCase):
    START_DAEMON = False

    def setUp(self):
        super().setUp()
        self.portal = local_portal(self.bed)
        env = {'FIREZONE_API_URL': self.portal.ws_url} if self.portal else None
        self.bed.start_daemon(env=env)
        self.token = self.secret(self.portal.token if self.portal else self.TOKEN)

    def expected_resources(self):
        return portal_resources(self.portal) if self.portal else []

    def assertResourcesJson(self, resources):
        """Keys and types of `resources --json` entries, and the portal's data in them."""
        for res in resources:
            self.assertEqual(list(res), list(RESOURCE_TYPES))
            for key, typ in RESOURCE_TYPES.items():
                self.assertIs(type(res[key]), typ, key)
            for site in res['sites']:
                self.assertEqual(list(site), ['name', 'id'])
            self.assertIn(res['status'], ('unknown', 'online', 'offline'))
        got = [{'id': r['id'], 'type': r['type'], 'name': r['name'], 'address': r['address'],
                'description': r['description'], 'sites': [[s['id'], s['name']] for s in r['sites']]}
               for r in resources]
        self.assertEqual(got, self.expected_resources())

    def test_firezonectl_session(self):
        r = self.firezonectl('sign-in', '--wait', '--timeout', '30' if self.portal else '0.5', input=self.token)
        st = json.loads(self.firezonectl('status', '--json').stdout)
        resources = json.loads(self.firezonectl('resources', '--json').stdout)
        if self.portal:
            self.assertExit(r, EXIT_SUCCESS)
            self.assertEqual(r.stdout, 'Connected.\n')
            self.assertEqual(st['state'], 'connected')
            self.assertGreater(st['connected-since'], 0)
            self.assertEqual(st['resource-count'], len(self.expected_resources()))
            self.assertGreater(len(resources), 0)
        else:
            self.assertExit(r, EXIT_FAILURE)
            self.assertIn('not connected after 0.5 s: the service is connecting', r.stderr)
            self.assertEqual((st['state'], st['connected-since'], st['resource-count']), ('connecting', 0, 0))
        self.assertResourcesJson(resources)
        text = self.firezonectl('resources')
        self.assertExit(text, EXIT_SUCCESS)
        for res in resources:
            self.assertIn(f'Name:        {res["name"] or "-"}\n', text.stdout)
        if not resources:
            self.assertEqual(text.stdout, 'No resources.\n')

        self.assertExit(self.firezonectl('sign-out'), EXIT_SUCCESS)
        self.assertEqual(json.loads(self.firezonectl('resources', '--json').stdout), [])

    def test_library_session(self):
        a = self.libagent()
        self.assertLibOk(a.call('sign_in', token=self.token))
        self.assertLibOk(a.wait_event('state-changed', state='connecting'))
        if self.portal:
            self.assertLibOk(a.wait_event('state-changed', state='connected', timeout_ms=30000))
            ev = self.assertLibOk(a.wait_event('resources-changed', timeout_ms=30000))
            self.assertGreater(len(ev['resources']), 0)
        listed = self.assertLibOk(a.call('list_resources'))
        self.assertEqual([{k: r[k] for k in ('id', 'type', 'name', 'address', 'description', 'sites')}
                          for r in listed], self.expected_resources())
        self.assertEqual(self.assertLibOk(a.request(op='resources')), listed)
        st = self.assertLibOk(a.call('get_status'))
        self.assertEqual(st['state'], 'connected' if self.portal else 'connecting')
        self.assertEqual(st['resource-count'], len(listed))

        if self.portal:
            # A change at the portal reaches the library as one resources-changed.
            self.portal.control(op='upsert', resource={'id': 'client-test-res', 'type': 'cidr',
                                                       'name': 'Added by the client test',
                                                       'address': '10.99.0.0/16', 'gateway_groups': []})
            ev = self.assertLibOk(a.wait_event('resources-changed', timeout_ms=30000))
            self.assertIn('client-test-res', [r['id'] for r in ev['resources']])

        self.assertLibOk(a.call('sign_out'))
        self.assertLibOk(a.wait_event('state-changed', state='signed-out'))
        self.assertEqual(self.assertLibOk(a.call('list_resources')), [])

    def test_monitor_shows_the_session(self):
        p = self.spawn_firezonectl('monitor', '--json')
        self.assertEqual(json.loads(self.read_line(p))['event'], 'status')
        self.assertExit(self.firezonectl('sign-in', input=self.token), EXIT_SUCCESS)
        ev = json.loads(self.read_line(p))
        self.assertEqual((ev['event'], ev['state'], ev['reason']), ('state-changed', 'connecting', 'sign-in'))
        if self.portal:
            seen = set()
            while not {'connected', 'resources'} <= seen:
                ev = json.loads(self.read_line(p, timeout=30))
                if ev['event'] == 'state-changed' and ev['state'] == 'connected':
                    seen.add('connected')
                if ev['event'] == 'resources-changed' and ev['resources']:
                    self.assertResourcesJson(ev['resources'])
                    seen.add('resources')
        self.assertExit(self.firezonectl('sign-out'), EXIT_SUCCESS)
        while True:
            ev = json.loads(self.read_line(p))
            if ev['event'] == 'state-changed' and ev['state'] == 'signed-out':
                break
        self.assertEqual(ev['reason'], 'sign-out')
