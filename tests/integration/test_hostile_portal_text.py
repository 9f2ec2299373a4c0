# SPDX-License-Identifier: Apache-2.0
"""Hostile text at each edge (issue #15, finding 3): what a portal or a group member sends
reaches the daemon's log, firezonectl's output and the bus only as inert text. Control
characters are refused where portal text enters the daemon, escaped by the daemon's logger,
and escaped by firezonectl."""

import json

from clientbed import EXIT_FAILURE, EXIT_SUCCESS, ClientTestCase
from portalbed import LocalPortal

# A newline and a journal priority (a forged emergency-level line), an OSC title and a
# screen clear (ESC), DEL, and CSI as a C1 character.
HOSTILE = 'nope\n<0>Emergency: forged\x1b]0;owned\x07\x1b[2J\x7f\u009b31m'
CONTROL = ['\n<0>', '\x1b', '\x07', '\x7f', '\u009b']


class HostileText(ClientTestCase):
    START_DAEMON = False

    def setUp(self):
        super().setUp()
        self.portal = LocalPortal(self.bed)
        self.addCleanup(self.portal.stop)
        self.token = self.secret(self.portal.token)
        self.bed.start_daemon(env={'FIREZONE_API_URL': self.portal.ws_url})

    def assertInert(self, text, where):
        for c in CONTROL:
            self.assertNotIn(c, text, f'{where} carries {c!r}: {text!r}')

    def test_portal_refusal_reason(self):
        self.portal.control(op='refuse_join', reason=HOSTILE)
        r = self.firezonectl('sign-in', '--wait', '--timeout', '30', input=self.token)
        self.assertExit(r, EXIT_FAILURE)
        self.assertIn('refused this client', r.stderr)
        self.assertInert(r.stderr, 'firezonectl sign-in')
        st = json.loads(self.firezonectl('status', '--json').stdout)
        self.assertEqual(st['state'], 'signed-out')
        self.assertIn('a reason with control characters, not shown', st['last-error'])
        self.assertInert(self.firezonectl('status').stdout, 'firezonectl status')
        log = self.bed.daemon.output()
        self.assertIn('The Firezone portal refused this client (a reason with control characters', log)
        self.assertInert(log, 'the daemon log')
        self.assertNotIn('forged', log)

    def test_portal_resource_names_and_events(self):
        r = self.firezonectl('sign-in', '--wait', '--timeout', '30', input=self.token)
        self.assertExit(r, EXIT_SUCCESS)
        ids = {res['id'] for res in json.loads(self.firezonectl('resources', '--json').stdout)}
        bad = {'id': 'eeeeeeee-0000-4000-8000-000000000001', 'type': 'cidr', 'name': HOSTILE,
               'address': '10.99.0.0/16', 'address_description': 'ok', 'gateway_groups': []}
        self.portal.control(op='upsert', resource=bad)
        # Skipped with one log line that does not carry the name (docs/portal-protocol.md,
        # "Tolerance"); the rest stays.
        self.bed.wait_for_log(self.bed.daemon, 'Portal: skipping resource')
        # An event name is logged when unknown: a frame whose name has control characters
        # cannot be read, so it is dropped (one log line) and the connection stays up.
        watcher = self.bed.agent('root')
        watcher.subscribe('StateChanged')
        self.portal.control(op='push', event=HOSTILE, payload={})
        self.bed.wait_for_log(self.bed.daemon, 'contains control characters')
        self.assertEqual(json.loads(self.firezonectl('status', '--json').stdout)['state'], 'connected')
        self.assertEqual([s for s in watcher.signals() if s['member'] == 'StateChanged'], [])
        self.assertEqual(self.portal.control(op='status')['joins'], 1)
        self.assertEqual({res['id'] for res in json.loads(self.firezonectl('resources', '--json').stdout)}, ids)
        self.assertInert(self.firezonectl('resources').stdout, 'firezonectl resources')
        log = self.bed.daemon.output()
        self.assertInert(log, 'the daemon log')
        self.assertNotIn('forged', log)

    def test_member_supplied_names_with_control_characters_are_refused(self):
        # The bus API refuses C0, DEL and C1 in the display options (firezonectl's escaping
        # of what the daemon says is covered by unit-fzctl-output).
        for actor in ('Eve\u009b2J\u009b31m', 'Eve\x1b[2J', 'Eve\n<0>'):
            r = self.firezonectl('sign-in', '--wait', '--timeout', '30', f'--actor-name={actor}', input=self.token)
            self.assertNotEqual(r.returncode, EXIT_SUCCESS, actor)
            self.assertInert(r.stderr, 'firezonectl sign-in')
            st = json.loads(self.firezonectl('status', '--json').stdout)
            self.assertEqual((st['state'], st['actor-name']), ('signed-out', ''))
