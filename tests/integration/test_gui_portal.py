# SPDX-License-Identifier: Apache-2.0
"""firezone-gui end to end with the real daemon connected to the local portal
(tests/portal/portal.py): the browser sign-in's deep link, the keyring, the notification,
the window and the tray with the portal's resources — status, copy an address, favourites
— names and texts from outside shown as text (markup, bidi controls and long non-ASCII
text included), and the session ending for good (requires-sign-in)."""

import json
import os

from fzbed import SOURCE_ROOT
from portalbed import LocalPortal
from test_gui import FRAGMENT, _Gui, callback

with open(os.path.join(SOURCE_ROOT, 'tests', 'portal', 'demo-account.json')) as f:
    DEMO = json.load(f)
NAMED = [r for r in DEMO['resources'] if r.get('address')]
GITLAB = next(r for r in NAMED if r['name'] == 'GitLab')

RLO = '\u202e'
# (Single quotes: dbusmock's log does not escape double ones.)
HOSTILE_ACTOR = "<b>Jane</b> & <a href='https://evil.example'>Co</a> " + RLO + 'gnp.exe'
# What a window or a tray shows of it: the same characters, as text, without the override.
HOSTILE_ACTOR_SHOWN = "<b>Jane</b> & <a href='https://evil.example'>Co</a> gnp.exe"


class _Portal(_Gui):
    START_DAEMON = False

    def setUp(self):
        super().setUp()
        # The token is nonce ‖ fragment, known only once the browser is opened: the portal
        # is told it then (set_token), as a real portal would have minted it.
        self.portal = LocalPortal(self.bed, token='not-yet-known-' + '0' * 20)
        self.addCleanup(self.portal.stop)
        self.bed.start_daemon(env={'FIREZONE_API_URL': self.portal.ws_url})

    def connect(self, actor_name='Jane Doe'):
        self.desktop.start_gui(status='Signed out')
        _url, nonce, state = self.start_sign_in()
        token = self.secret(nonce + FRAGMENT)
        self.portal.control(op='set_token', token=token)
        self.feed(callback(state, actor_name=actor_name))
        self.desktop.wait_log('Stored the token in the keyring')
        self.desktop.wait_status('Connected', timeout=30)
        return token

    def row(self, name):
        """A resource's row, found by its name as assistive technology reads it."""
        return self.desktop.wait_shown(name=name, role='list item')[0]


class PortalE2E(_Portal):
    def test_deep_link_connects_and_shows_the_resources(self):
        token = self.connect()
        self.assertEqual(self.desktop.stored_token(), token)
        st = self.status()
        self.assertEqual(st['state'], 'connected')
        self.assertEqual((st['account-slug'], st['actor-name']), ('acme', 'Jane Doe'))
        self.desktop.wait_shown(role='label', name='Signed in as Jane Doe (acme)')
        # "Connected", and only then, in the window, the tray and the notification — which
        # does not pretend the resources are reachable before their gateways are.
        summary, body = self.desktop.wait_notification('Connected', timeout=30)
        self.assertEqual(body, 'Signed in as Jane Doe (acme). Each resource connects when you first use it.')
        for r in NAMED:
            self.row(r['name'])
            self.desktop.wait_shown(role='label', name=r['address'])
        # The daemon reports no resource status until gateways do: the window says so.
        self.assertGreaterEqual(len(self.desktop.find(role='label', name='Status unknown')), len(NAMED))
        self.desktop.wait_shown(role='list item', name='Internet Resource')
        self.shot('connected')
        labels = self.desktop.wait_tray_labels(['Connected', 'Signed in as Jane Doe (acme)', 'Resources'])
        for r in NAMED:
            self.assertIn(r['name'], labels)
            self.assertIn(r['address'], labels)
        self.assertIn('Status: Status unknown', labels)
        self.assertIn('Site: Headquarters (Status unknown)', labels)
        self.assertEqual(self.desktop.tray_property('IconName'), 'dev.firezone.Client-connected-symbolic')

    def test_copy_an_address_from_the_window(self):
        self.connect()
        self.row('GitLab')
        self.desktop.press('Copy the address of GitLab')
        # A paste gives the address (a toast says so on screen; libadwaita 1.2 does not
        # expose toasts to assistive technology).
        self.desktop.wait_log('Copied to the clipboard: Copied “gitlab.corp.example.com” to the clipboard.')
        self.assertEqual(self.desktop.clipboard_text(), GITLAB['address'])
        self.shot('copied')

    def test_copy_an_address_from_the_tray(self):
        self.connect()
        self.desktop.wait_tray_labels(['GitLab'])
        item = self.desktop.tray_item('Copy Address', self.desktop.tray_item('GitLab')[3])
        self.desktop.tray_item_click(item)
        self.desktop.wait_log('Copied to the clipboard: Copied “gitlab.corp.example.com” to the clipboard.')
        self.assertEqual(self.desktop.clipboard_text(), GITLAB['address'])

    def test_favorites_come_first_in_the_window_and_the_tray(self):
        self.connect()
        self.row('GitLab')
        self.assertEqual(self.desktop.find(role='label', name='Favorites'), [])
        self.desktop.press('Favorite: GitLab')
        # Stored in the settings by id, shown first in the window and in the tray.
        self.desktop.wait_setting('favorite-resources', 'as', [GITLAB['id']])
        self.desktop.wait_shown(role='label', name='Favorites')
        # A toggle, pressed: what assistive technology reads of it.
        self.desktop.wait_shown(role='push button', name='Favorite: GitLab', states=['pressed'])
        favorites = self.desktop.find(role='list', name='Favorites')
        self.assertEqual(len(favorites), 1)
        labels = self.desktop.wait_tray_labels(['Favorite Resources', 'Other Resources', 'Remove from Favorites'])
        self.assertLess(labels.index('GitLab'), labels.index('Other Resources'))
        self.shot('favorites')
        # And back, from the tray.
        self.desktop.tray_item_click(self.desktop.tray_item('Remove from Favorites', self.desktop.tray_item('GitLab')[3]))
        self.desktop.wait_setting('favorite-resources', 'as', [])
        self.desktop.wait_gone(role='label', name='Favorites')
        self.desktop.wait_tray_labels(['Resources'], absent=['Favorite Resources', 'Other Resources'])

    def test_requires_sign_in_deletes_the_stored_token(self):
        self.connect()
        self.assertIsNotNone(self.desktop.stored_token())
        self.portal.control(op='disconnect', reason='token_expired')
        self.desktop.wait_log('Deleted the stored token: the daemon requires a new sign-in')
        self.assertIsNone(self.desktop.stored_token())
        summary, body = self.desktop.wait_notification('Signed out')
        self.assertEqual(body, 'Your Firezone session has ended. Sign in again to reach your resources.')
        self.desktop.wait_status('Signed out')
        self.desktop.wait_shown(role='alert', name='Your Firezone session has ended. Sign in again to reach your '
                                                  'resources.')
        self.shot('requires-sign-in')
        st = self.status()
        self.assertEqual(st['state'], 'signed-out')
        self.assertTrue(st['requires-sign-in'])


class PortalRefuses(_Portal):
    def test_why_the_session_ended_is_shown(self):
        # The portal refuses the client's connection: the daemon ends the session with a
        # sentence that says what to do; the window, back on the sign-in page, shows it.
        self.portal.control(op='fail_next', status=404, count=1)
        self.desktop.start_gui(status='Signed out')
        _url, nonce, state = self.start_sign_in()
        self.secret(nonce + FRAGMENT)
        self.feed(callback(state))
        self.desktop.wait_log('The daemon accepted the sign-in')
        error = self.desktop.wait_shown(role='label', name_prefix='The Firezone portal at ')[0]['name']
        self.assertIn('refused the client connection (HTTP 404)', error)
        self.desktop.wait_status('Signed out')
        _summary, body = self.desktop.wait_notification('Signed out')
        self.assertIn('refused the client connection (HTTP 404)', body)
        self.shot('session-refused')


class HostileText(_Portal):
    """Texts from the portal and from a sign-in link are shown as text: never markup, never
    reordered by bidi controls, bounded, cut between characters (#15, #18)."""

    def test_actor_name_in_window_tray_and_notification(self):
        self.connect(actor_name=HOSTILE_ACTOR)
        identity = f'Signed in as {HOSTILE_ACTOR_SHOWN} (acme)'
        self.desktop.wait_shown(role='label', name=identity)
        self.desktop.wait_tray_labels([identity])
        # The notification server reads markup in bodies (dbusmock says "body-markup"):
        # the name arrives escaped, so it shows as the characters it is.
        _summary, body = self.desktop.wait_notification('Connected', timeout=30)
        self.assertIn('Signed in as &lt;b&gt;Jane&lt;/b&gt; &amp; &lt;a href=&apos;https://evil.example&apos;&gt;'
                      'Co&lt;/a&gt; gnp.exe (acme).', body)
        self.assertNotIn('<', body)
        self.assertNotIn(RLO, body)

    def test_resource_names_from_the_portal(self):
        self.connect()
        long_name = 'Ωμέγα δίκτυο ' * 20
        hostile = dict(GITLAB, id='f0000000-0000-4000-8000-000000000001',
                       name='<span foreground="red">My_DB</span> & ' + RLO + 'gnp.exe ' + 'e\u0301' * 3,
                       address='db.corp.example.com')
        long = dict(GITLAB, id='f0000000-0000-4000-8000-000000000002', name=long_name,
                    address='long.corp.example.com')
        self.portal.control(op='upsert', resource=hostile)
        self.portal.control(op='upsert', resource=long)
        shown = '<span foreground="red">My_DB</span> & gnp.exe ' + 'e\u0301' * 3
        self.row(shown)
        # A long name is cut to 120 characters, between characters, with an ellipsis.
        cut = self.desktop.wait_shown(role='list item', name_prefix='Ωμέγα δίκτυο Ωμέγα')[0]['name']
        self.assertTrue(cut.endswith('…'), cut)
        self.assertEqual(len(cut), 120)
        self.assertTrue(long_name.startswith(cut[:-1].rstrip()), cut)
        # In the tray, "_" would be a mnemonic: doubled, so the host shows it as it is.
        labels = self.desktop.wait_tray_labels([shown.replace('_', '__')])
        self.assertIn(cut.replace('_', '__'), labels)
        self.shot('hostile-names')


class PlainNotifications(_Portal):
    """A notification server without "body-markup" shows bodies as they come: nothing to
    escape (escaping would show "&amp;"), still sanitized."""
    DESKTOP = {'notification_caps': ['body', 'actions']}

    def test_body_is_plain_text(self):
        self.connect(actor_name=HOSTILE_ACTOR)
        _summary, body = self.desktop.wait_notification('Connected', timeout=30)
        self.assertIn(f'Signed in as {HOSTILE_ACTOR_SHOWN} (acme).', body)
        self.assertNotIn('&amp;', body)
        self.assertNotIn(RLO, body)
