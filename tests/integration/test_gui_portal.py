# SPDX-License-Identifier: Apache-2.0
"""firezone-gui end to end: the browser sign-in's deep link, the keyring, the real daemon
connecting to the local portal (tests/portal/portal.py), the notification, the window and
the tray with the portal's resources; and the session ending for good (requires-sign-in)."""

import json
import os

from fzbed import SOURCE_ROOT
from guibed import Desktop  # noqa: F401  (the bed the base class sets up)
from portalbed import LocalPortal
from test_gui import FRAGMENT, _Gui, callback

with open(os.path.join(SOURCE_ROOT, 'tests', 'portal', 'demo-account.json')) as f:
    DEMO = json.load(f)
NAMED = [r for r in DEMO['resources'] if r.get('address')]


class PortalE2E(_Gui):
    START_DAEMON = False

    def setUp(self):
        super().setUp()
        # The token is nonce ‖ fragment, known only once the browser is opened: the portal
        # is told it then (set_token), as a real portal would have minted it.
        self.portal = LocalPortal(self.bed, token='not-yet-known-' + '0' * 20)
        self.addCleanup(self.portal.stop)
        self.bed.start_daemon(env={'FIREZONE_API_URL': self.portal.ws_url})

    def connect(self):
        self.desktop.start_gui(page='signed-out')
        _url, nonce, state = self.start_sign_in()
        token = self.secret(nonce + FRAGMENT)
        self.portal.control(op='set_token', token=token)
        self.feed(callback(state))
        self.desktop.wait_log('Stored the token in the keyring')
        summary, body = self.desktop.wait_notification('Connected to Firezone', timeout=30)
        self.assertIn('Jane Doe', body)
        return token

    def test_deep_link_connects_and_shows_the_resources(self):
        token = self.connect()
        self.assertEqual(self.desktop.stored_token(), token)
        st = self.status()
        self.assertEqual(st['state'], 'connected')
        self.assertEqual((st['account-slug'], st['actor-name']), ('acme', 'Jane Doe'))
        self.desktop.wait_drawn('session: Connected — Signed in as Jane Doe · account acme')
        for r in NAMED:
            self.desktop.wait_log(f'Window shows resource: {r["name"]} {r["address"]}')
        self.shot('connected')
        labels = self.desktop.tray_labels()
        self.assertIn('Signed in as Jane Doe (acme)', labels)
        for r in NAMED:
            self.assertIn(r['name'], labels)
            self.assertIn(f'Copy address: {r["address"]}', labels)
        self.assertEqual(self.desktop.tray_property('IconName'), 'dev.firezone.Client-connected-symbolic')
        # Copying an address from the tray says so in the window.
        first = NAMED[0]['address']
        self.desktop.tray_click(f'Copy address: {first}')
        self.desktop.wait_log(f'[banner: Copied “{first}” to the clipboard.]')

    def test_requires_sign_in_deletes_the_stored_token(self):
        self.connect()
        self.assertIsNotNone(self.desktop.stored_token())
        mark = self.desktop.log_mark()
        self.portal.control(op='disconnect', reason='token_expired')
        self.desktop.wait_log('Deleted the stored token: the daemon requires a new sign-in')
        self.assertIsNone(self.desktop.stored_token())
        self.assertEqual(self.desktop.wait_notification('Sign in to Firezone again')[0], 'Sign in to Firezone again')
        summary, body = self.desktop.wait_notification('Disconnected from Firezone')
        self.assertIn('Your session expired', body)
        self.desktop.wait_log_after(mark, 'Window drawn: signed-out: Account: acme [banner: Your Firezone session has ended')
        self.shot('requires-sign-in')
        st = self.status()
        self.assertEqual(st['state'], 'signed-out')
        self.assertTrue(st['requires-sign-in'])
