# SPDX-License-Identifier: Apache-2.0
"""firezone-gui on a headless desktop (guibed.py) against the real daemon, bus and polkitd
of the bed: the window for each situation, browser sign-in through the deep link, the
keyring, notifications, settings, the tray's lifecycle and auto-start. The window is read
through the accessibility tree (status line by role and name, pages by their headings).
Screenshots of the main states go to meson-logs/gui-screenshots/ and must not be blank."""

import os
import subprocess
import urllib.parse

from fzbed import BedTestCase
from guibed import CALLBACK, Desktop

FRAGMENT = 'SFMyNTY.g2gDbQAAAAQxMjM0bgYA-fragment_from-the-portal'
SETTINGS = {'auth-url': 'https://auth.example.test', 'account-slug': 'acme'}


def callback(state, fragment=FRAGMENT, account_slug='acme', actor_name='Jane Doe'):
    return CALLBACK + '?' + urllib.parse.urlencode(
        {'account_slug': account_slug, 'actor_name': actor_name, 'fragment': fragment, 'state': state})


class _Gui(BedTestCase):
    USER = 'fz-member'
    DESKTOP = {}
    SETTINGS = SETTINGS

    def setUp(self):
        super().setUp()
        self.desktop = Desktop(self.bed, user=self.USER, settings=self.SETTINGS, **self.DESKTOP)

    def shot(self, name, window=None):
        path, deviation = self.desktop.screenshot(name, window=window)
        # A blank (or all-black) screen has no variance; a drawn window has plenty.
        self.assertGreater(deviation, 0.02, f'{path} looks blank (deviation {deviation})')
        return path

    def status(self):
        return self.assertOk(self.bed.agent('root').call('Status'))[0]

    def label(self, name, **kw):
        """Wait until a label @name is on screen (a heading, a line of text)."""
        return self.desktop.wait_shown(role='label', name=name, **kw)[0]

    def start_sign_in(self, count=1, press=False):
        """Click Sign In (the app action the button triggers, or the button itself through
        the accessibility tree); returns (url, nonce, state)."""
        if press:
            self.desktop.press('Sign In')
        else:
            self.desktop.activate_action('sign-in')
        url = self.desktop.wait_browser(count)
        parts = urllib.parse.urlsplit(url)
        query = urllib.parse.parse_qs(parts.query, strict_parsing=True)
        # Each half of the token is a secret too: no log may show either.
        self.secret(query['nonce'][0])
        self.secret(FRAGMENT)
        return url, query['nonce'][0], query['state'][0]

    def feed(self, link):
        """Open the link as a browser would: a second `firezone-gui LINK`."""
        r = self.desktop.run_gui([link])
        self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def sign_in(self, actor_name='Jane Doe'):
        self.desktop.start_gui(status='Signed out')
        _url, nonce, state = self.start_sign_in()
        token = self.secret(nonce + FRAGMENT)
        self.feed(callback(state, actor_name=actor_name))
        self.desktop.wait_log('The daemon accepted the sign-in')
        return token


class NoDaemon(_Gui):
    START_DAEMON = False

    def test_daemon_absent_shows_how_to_start_it(self):
        self.desktop.start_gui(status='Firezone service not running')
        self.label('The Firezone service is not running')
        self.label('sudo systemctl enable --now firezone-client.service')
        self.shot('no-daemon')
        # The window follows the daemon: once it runs, the sign-in page appears by itself.
        self.bed.start_daemon()
        self.desktop.wait_status('Signed out')
        self.label('Account: acme')
        self.assertTrue(self.desktop.gui.running())


class NotInGroup(_Gui):
    USER = 'fz-outsider'

    def test_outsider_sees_the_group_screen(self):
        self.desktop.start_gui(status='Not allowed to use Firezone')
        self.label('You are not allowed to use Firezone')
        self.label('sudo usermod -aG firezone fz-outsider')
        self.shot('not-in-group')
        self.assertTrue(self.desktop.gui.running())

    def test_added_but_not_logged_in_again(self):
        # /etc/group lists the user, but this "login session" predates it.
        subprocess.run(['usermod', '-aG', 'firezone', 'fz-outsider'], check=True)
        self.desktop.start_gui(status='Not allowed to use Firezone', stale_groups=True)
        self.label('Log out and in again to use Firezone')
        self.assertEqual(self.desktop.find(role='label', name_prefix='sudo usermod'), [])
        self.shot('not-in-group-relogin')


class ServiceAccount(_Gui):
    START_DAEMON = False

    def test_managed_device_screen(self):
        self.bed.write_token_file(self.secret('service-account-token-0123456789'))
        self.bed.start_daemon()
        self.desktop.start_gui(status='Connecting…')
        self.label('Managed by your organization')
        self.assertEqual(self.status()['mode'], 'service-account')
        # Signing out is the administrator's: no button for it.
        self.assertEqual(self.desktop.find(role='push button', name='Sign Out'), [])
        self.shot('service-account')
        labels = self.desktop.wait_tray_labels(['Connecting…', 'Managed by your organization'])
        self.assertNotIn('Sign In', labels)
        self.assertNotIn('Sign Out', labels)


class AdminNeeded(_Gui):
    def test_sign_in_page_says_an_administrator_is_needed(self):
        # A fleet admin's rule: even group members need an administrator to sign in.
        self.bed.add_polkit_rule('10-admin-sign-in.rules', '''
polkit.addRule(function(action, subject) {
    if (action.id == "dev.firezone.client1.sign-in") return polkit.Result.AUTH_ADMIN;
});''')
        self.desktop.start_gui(status='Signed out')
        self.label('Signing in needs an administrator’s password on this computer.')
        self.shot('sign-in-needs-admin')

    def test_member_needs_no_administrator(self):
        self.desktop.start_gui(status='Signed out')
        self.desktop.wait_log('Signing in does not need an administrator')
        self.assertEqual(self.desktop.find(role='label', name_prefix='Signing in needs an administrator'), [])


class SignIn(_Gui):
    def test_deep_link_stores_the_token_and_signs_in(self):
        self.desktop.start_gui(status='Signed out')
        self.label('Account: acme')
        self.shot('signed-out')
        # The button itself, pressed as assistive technology presses it.
        url, nonce, state = self.start_sign_in(press=True)
        # DESIGN §4: {auth-url}/{account-slug}?as=gui-client&nonce=N&state=S, 32 random bytes hex.
        parts = urllib.parse.urlsplit(url)
        self.assertEqual((parts.scheme, parts.netloc, parts.path), ('https', 'auth.example.test', '/acme'))
        self.assertEqual(urllib.parse.parse_qs(parts.query)['as'], ['gui-client'])
        for v in (nonce, state):
            self.assertRegex(v, r'^[0-9a-f]{64}$')
        self.assertNotEqual(nonce, state)
        self.desktop.wait_status('Signing in…')
        self.label('Continue in your browser')
        self.shot('signing-in')

        token = self.secret(nonce + FRAGMENT)
        self.feed(callback(state))
        self.desktop.wait_log('Stored the token in the keyring')
        self.desktop.wait_log('The daemon accepted the sign-in')
        # token = nonce ‖ fragment, in the keyring (and nowhere else: see the log check).
        self.assertEqual(self.desktop.stored_token(), token)
        st = self.status()
        self.assertIn(st['state'], ('connecting', 'connected'))
        self.assertEqual(st['account-slug'], 'acme')
        self.assertEqual(st['actor-name'], 'Jane Doe')
        # Honest: the daemon is connecting (no portal answers here), and the window says so.
        self.desktop.wait_status('Connecting…')
        self.label('Signed in as Jane Doe (acme)')
        self.shot('session')
        # The tray follows, in the same words.
        labels = self.desktop.wait_tray_labels(['Connecting…', 'Signed in as Jane Doe (acme)', 'Sign Out'])
        self.assertNotIn('Sign In', labels)
        self.assertNotIn('Connected', labels)
        # One link, one use: replaying it is refused and changes nothing.
        self.feed(callback(state))
        self.desktop.wait_log('no sign-in was started here')

    def test_link_reaches_the_app_through_its_desktop_file(self):
        # The browser's side: the scheme handler registered by the desktop file.
        self.desktop.install_app_desktop_file()
        self.desktop.start_gui(status='Signed out')
        _url, nonce, state = self.start_sign_in()
        self.secret(nonce + FRAGMENT)
        r = self.desktop.open_uri(callback(state))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.desktop.wait_log('The daemon accepted the sign-in')
        self.assertEqual(self.desktop.stored_token(), nonce + FRAGMENT)

    def test_wrong_state_is_rejected_and_nothing_is_stored_or_sent(self):
        self.desktop.start_gui(status='Signed out')
        _url, nonce, state = self.start_sign_in()
        self.secret(nonce + FRAGMENT)
        wrong = ('0' if state[0] != '0' else '1') + state[1:]
        self.feed(callback(wrong))
        # The banner is an alert: assistive technology announces it.
        self.desktop.wait_shown(role='alert', name_prefix='The sign-in link does not belong')
        self.desktop.wait_status('Signing in…')
        self.shot('wrong-state')
        self.assertIn('Rejected a sign-in link: wrong state', self.desktop.gui.output())
        self.assertNotIn('Sending the token', self.desktop.gui.output())
        self.assertIsNone(self.desktop.stored_token())
        self.assertEqual(self.status()['state'], 'signed-out')
        self.assertEqual(self.desktop.wait_notification('Could not sign in')[0], 'Could not sign in')
        # The attempt in progress is still good: its own link goes through.
        self.feed(callback(state))
        self.desktop.wait_log('The daemon accepted the sign-in')
        self.assertEqual(self.desktop.stored_token(), nonce + FRAGMENT)

    def test_link_without_a_sign_in_is_rejected(self):
        self.desktop.start_gui(status='Signed out')
        self.feed(callback('a' * 64))
        self.desktop.wait_log('Rejected a sign-in link: wrong state')
        self.assertIsNone(self.desktop.stored_token())
        self.assertEqual(self.status()['state'], 'signed-out')

    def test_malformed_links_are_rejected_without_a_crash(self):
        self.desktop.start_gui(status='Signed out')
        self.start_sign_in()
        for link in ('firezone-fd0020211111://evil/?state=x', CALLBACK + '?state=' + 'a' * 64,
                     CALLBACK + '?account_slug=a&actor_name=b&fragment=f%00g&state=s', 'https://example.com/'):
            self.feed(link)
        self.desktop.wait_shown(role='alert', name='Firezone can only open its own sign-in links.')
        self.assertEqual(self.desktop.gui.output().count('Rejected a sign-in link'), 3)
        self.assertTrue(self.desktop.gui.running())
        self.assertIsNone(self.desktop.stored_token())
        self.assertEqual(self.status()['state'], 'signed-out')

    def test_cancel_returns_to_the_sign_in_page(self):
        self.desktop.start_gui(status='Signed out')
        _url, _nonce, state = self.start_sign_in()
        self.desktop.wait_status('Signing in…')
        self.desktop.press('Cancel Sign-in')
        self.desktop.wait_status('Signed out')
        self.feed(callback(state))
        self.desktop.wait_log('Rejected a sign-in link: wrong state')
        self.assertEqual(self.status()['state'], 'signed-out')

    def test_sign_out_deletes_the_stored_token(self):
        self.sign_in()
        self.assertIsNotNone(self.desktop.stored_token())
        self.desktop.press('Sign Out')
        self.desktop.wait_log('Deleted the stored token (signed out)')
        self.desktop.wait_status('Signed out')
        self.assertIsNone(self.desktop.stored_token())
        self.assertEqual(self.status()['state'], 'signed-out')
        # The tunnel went down: the notification says so, in the window's words, and why.
        self.assertEqual(self.desktop.wait_notification('Signed out'), ('Signed out', 'You signed out.'))


class Preferences(_Gui):
    def test_settings_window_changes_the_settings(self):
        self.desktop.start_gui(status='Signed out')
        self.desktop.press('Sign-in Settings')
        self.desktop.wait_shown(role='frame', name='Settings')
        # Every switch is named: assistive technology says which setting it changes.
        for name in ('Connect on start', 'Start minimized', 'Start at log-in'):
            self.desktop.wait_shown(role='check box', name=name)
        self.shot('settings', window='Settings')
        # Flipping a switch changes the setting.
        self.desktop.press('Start minimized', role='check box')
        self.desktop.wait_setting('start-minimized', 'b', True)
        # And start at log-in writes the autostart file.
        autostart = os.path.join(self.desktop.config, 'autostart', 'firezone-gui.desktop')
        os.mkdir(os.path.dirname(autostart))
        os.chown(os.path.dirname(autostart), self.desktop.pw.pw_uid, self.desktop.pw.pw_gid)
        self.desktop.press('Start at log-in', role='check box')
        self.desktop.wait_in_dir(lambda: os.path.exists(autostart), 'the autostart file', os.path.dirname(autostart))


class DarkStyle(_Gui):
    """libadwaita's dark style follows the desktop's preference, at start and live."""
    DESKTOP = {'dark': True}

    def test_follows_the_desktop(self):
        self.desktop.start_gui(status='Signed out')
        self.desktop.wait_shown(role='push button', name='Sign In')
        self.desktop.wait_window_brightness(dark=True)
        self.desktop.screenshot('signed-out-dark', window='Firezone')
        self.desktop.set_color_scheme(dark=False)
        self.desktop.wait_window_brightness(dark=False)
        self.desktop.set_color_scheme(dark=True)
        self.desktop.wait_window_brightness(dark=True)


class ConnectOnStart(_Gui):
    def test_stored_token_is_sent_at_start(self):
        token = self.secret('stored-token-' + '5' * 40)
        self.desktop.store_token(token, account_slug='acme', actor_name='Jane Doe')
        self.desktop.start_gui()
        self.desktop.wait_log('Signing in with the stored token')
        self.desktop.wait_log('The daemon accepted the sign-in')
        st = self.status()
        self.assertEqual((st['account-slug'], st['actor-name']), ('acme', 'Jane Doe'))
        self.desktop.wait_status('Connecting…')


class NoConnectOnStart(_Gui):
    SETTINGS = dict(SETTINGS, **{'connect-on-start': False})

    def test_setting_off_keeps_the_stored_token_unused(self):
        self.desktop.store_token(self.secret('stored-token-' + '6' * 40))
        self.desktop.start_gui(status='Signed out')
        self.desktop.wait_log('Not connecting on start (setting)')
        self.assertEqual(self.status()['state'], 'signed-out')


class NoKeyring(_Gui):
    DESKTOP = {'keyring': False}

    def test_sign_in_goes_on_without_a_keyring(self):
        self.desktop.start_gui(status='Signed out')
        _url, nonce, state = self.start_sign_in()
        self.secret(nonce + FRAGMENT)
        self.feed(callback(state))
        self.desktop.wait_log('Keyring unavailable')
        self.desktop.wait_log('The daemon accepted the sign-in')
        self.desktop.wait_status('Connecting…')
        self.desktop.wait_shown(role='label', name_prefix='Your keyring is locked or not available')
        self.shot('keyring-unavailable')
        self.assertIn(self.status()['state'], ('connecting', 'connected'))


class LockedKeyring(_Gui):
    DESKTOP = {'keyring_locked': True}

    def test_sign_in_is_never_stuck_on_a_locked_keyring(self):
        self.desktop.start_gui(status='Signed out')
        _url, nonce, state = self.start_sign_in()
        self.secret(nonce + FRAGMENT)
        self.feed(callback(state))
        self.desktop.wait_log('The daemon accepted the sign-in')
        self.assertIn(self.status()['state'], ('connecting', 'connected'))
        # gnome-keyring could not prompt for the password: the GUI said so and went on.
        self.desktop.wait_shown(role='label', name_prefix='Your keyring is locked or not available')


class TrayLifecycle(_Gui):
    def test_closing_the_window_keeps_running_and_quit_ends(self):
        self.desktop.start_gui(status='Signed out')
        self.desktop.close_window()
        self.desktop.wait_gone(role='frame', name='Firezone')
        self.assertFalse(self.desktop.window_mapped())
        self.assertTrue(self.desktop.gui.running())
        self.desktop.tray_click('Open Firezone')
        self.desktop.wait_status('Signed out')
        self.desktop.tray_click('Quit')
        self.assertEqual(self.desktop.gui.wait_exit(20), 0)


class NoTray(_Gui):
    DESKTOP = {'tray': False}

    def test_without_a_tray_closing_the_window_quits(self):
        self.desktop.start_gui(status='Signed out')
        self.desktop.close_window()
        self.assertEqual(self.desktop.gui.wait_exit(20), 0)


class StartMinimized(_Gui):
    SETTINGS = dict(SETTINGS, **{'start-minimized': True})

    def test_starts_in_the_tray_only(self):
        self.desktop.start_gui()
        self.desktop.wait_log('Started minimized to the tray')
        # The menu settles with the state: the daemon read, the keyring asked.
        self.desktop.wait_log('No stored token')
        self.desktop.wait_tray_labels(['Signed out', 'Sign In'])
        self.assertFalse(self.desktop.window_mapped())
        self.assertEqual(self.desktop.find(role='frame'), [])
        self.desktop.tray_click('Open Firezone')
        self.desktop.wait_status('Signed out')


class CommandLine(BedTestCase):
    START_DAEMON = False

    def gui(self, user, *args, home=None):
        env = {'HOME': home} if home else {}
        if user == 'root':
            return subprocess.run([self.bed.build_path('gui-gtk4/firezone-gui'), *args], capture_output=True,
                                  text=True, timeout=30, env=dict(self.bed.env(), **env))
        return self.bed.run_as(user, [self.bed.build_path('gui-gtk4/firezone-gui'), *args], env=env)

    def test_refuses_to_run_as_root(self):
        r = self.gui('root')
        self.assertEqual(r.returncode, 1)
        self.assertIn('do not run the Firezone GUI as root', r.stderr)

    def test_register_and_unregister_auto_start(self):
        home = os.path.join(self.bed.dir, 'home-autostart')
        os.makedirs(home)
        os.chown(home, self.bed.uid('fz-member'), self.bed.gid('fz-member'))
        path = os.path.join(home, '.config', 'autostart', 'firezone-gui.desktop')
        r = self.gui('fz-member', '--register-auto-start', home=home)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(path, r.stdout)
        with open(path) as f:
            text = f.read()
        self.assertIn('Exec=/usr/bin/firezone-gui --autostart', text)
        self.assertEqual(os.stat(path).st_uid, self.bed.uid('fz-member'))
        v = subprocess.run(['desktop-file-validate', path], capture_output=True, text=True)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        # Registering again replaces it; unregistering removes it, twice is fine.
        self.assertEqual(self.gui('fz-member', '--register-auto-start', home=home).returncode, 0)
        r = self.gui('fz-member', '--unregister-auto-start', home=home)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.exists(path))
        self.assertEqual(self.gui('fz-member', '--unregister-auto-start', home=home).returncode, 0)

    def test_help_and_version(self):
        r = self.gui('fz-member', '--help', home=self.bed.dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        for opt in ('--register-auto-start', '--unregister-auto-start', '--minimized'):
            self.assertIn(opt, r.stdout)
        r = self.gui('fz-member', '--version', home=self.bed.dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r'^firezone-gui \d+\.\d+')
