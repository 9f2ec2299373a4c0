# SPDX-License-Identifier: Apache-2.0
"""firezone-gui on a headless desktop (guibed.py) against the real daemon, bus and polkitd
of the bed: the screens for each situation, browser sign-in through the deep link, the
keyring, notifications, the tray (StatusNotifierItem + DBusMenu) and auto-start."""

import os
import re
import signal
import urllib.parse

from fzbed import BUS_NAME, BedTestCase
from guibed import CALLBACK, Desktop

FRAGMENT = 'SFMyNTY.g2gDbQAAAAQxMjM0bgYA-fragment_from-the-portal'


class _Gui(BedTestCase):
    USER = 'fz-member'
    DESKTOP = {}
    SETTINGS = {'auth-url': 'https://auth.example.test', 'account-slug': 'acme'}

    def setUp(self):
        super().setUp()
        self.desktop = Desktop(self.bed, user=self.USER, settings=self.SETTINGS, **self.DESKTOP)

    def shot(self, name):
        path, deviation = self.desktop.screenshot(name)
        # A blank (or black) screen has no variance at all; a drawn window has plenty.
        self.assertGreater(deviation, 0.02, f'{path} looks blank (deviation {deviation})')
        return path

    def status(self):
        return self.assertOk(self.bed.agent('root').call('Status'))[0]


class NoDaemon(_Gui):
    START_DAEMON = False

    def test_daemon_absent_shows_how_to_start_it(self):
        self.desktop.start_gui(page='no-daemon')
        self.shot('no-daemon')
        self.assertIn('The Firezone service is not running', self.desktop.gui.output())
        # The window follows the daemon: once it runs, the sign-in page appears by itself.
        self.bed.start_daemon()
        self.desktop.wait_drawn('signed-out')
        self.assertTrue(self.desktop.gui.running())
