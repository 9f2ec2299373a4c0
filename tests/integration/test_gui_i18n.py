# SPDX-License-Identifier: Apache-2.0
"""firezone-gui translated: the German catalogue (po/de.po) from the build tree, where the
package installs it, under a German locale compiled into the bed. The window (its code
and its templates), the tray menu, the notifications, the command line, the desktop file
and the metainfo all come from the one catalogue."""

import os
import xml.etree.ElementTree as ET

import fzbed
from test_gui import FRAGMENT, _Gui, callback


class German(_Gui):
    DESKTOP = {'language': 'de_DE.UTF-8'}

    def test_window_tray_and_notifications_in_german(self):
        # The status line (code), the page (template) and its button (accessible name).
        self.desktop.start_gui(status='Abgemeldet')
        self.desktop.wait_shown(role='label', name='Bei Firezone anmelden')
        self.desktop.wait_shown(role='label', name='Konto: acme')
        self.desktop.wait_shown(role='push button', name='Anmelden')
        self.desktop.wait_tray_labels(['Abgemeldet', 'Anmelden', 'Firezone öffnen', 'Einstellungen', 'Beenden'])
        self.shot('signed-out-de')
        # A failure's notification and banner, in German too.
        self.desktop.activate_action('sign-in')
        self.desktop.wait_browser()
        self.desktop.wait_status('Anmeldung läuft …')
        self.feed(callback('0' * 64, fragment=FRAGMENT))
        self.desktop.wait_shown(role='alert', name_prefix='Der Anmeldelink gehört nicht')
        self.assertEqual(self.desktop.wait_notification('Anmeldung fehlgeschlagen')[0], 'Anmeldung fehlgeschlagen')

    def test_command_line_in_german(self):
        r = self.desktop.run_gui(['--help'])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('Version anzeigen und beenden', r.stdout)


class TranslatedData(fzbed.BedTestCase):
    START_DAEMON = False

    def test_desktop_file_and_metainfo_carry_the_translation(self):
        with open(os.path.join(fzbed.BUILD_ROOT, 'gui-gtk4', 'dev.firezone.Client.desktop')) as f:
            desktop = f.read()
        self.assertIn('Comment[de]=Bei Firezone anmelden und die Ressourcen Ihrer Organisation erreichen', desktop)
        tree = ET.parse(os.path.join(fzbed.BUILD_ROOT, 'gui-gtk4', 'dev.firezone.Client.metainfo.xml'))
        lang = '{http://www.w3.org/XML/1998/namespace}lang'
        summaries = {el.get(lang): el.text for el in tree.getroot().findall('summary')}
        self.assertEqual(summaries['de'], 'Die Ressourcen Ihrer Organisation über ein Zero-Trust-VPN erreichen')
