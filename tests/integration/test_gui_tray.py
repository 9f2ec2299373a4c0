# SPDX-License-Identifier: Apache-2.0
"""The tray icon in a real StatusNotifierItem host: Xfce's panel with its system tray
(xfce4-panel 4.18, GTK 3, on the bed's Xvfb). The icon appears in the panel; a right
click opens the menu the host built from the GUI's DBusMenu; the keyboard walks it; its
items act; a left click opens the window. What the host shows is read through its own
accessibility tree (GTK 3's AT-SPI bridge), the way a user's screen reader would.
Screenshots of the panel and the open menu go to meson-logs/gui-screenshots/."""

from test_gui import FRAGMENT, _Gui, callback
from test_gui_portal import GITLAB, _Portal

PANEL_HEIGHT = 33
SCREEN = (1024, 768)


class _Tray:
    def panel_shot(self, name, height=PANEL_HEIGHT):
        """The bottom of the screen: the panel, and the menu above it if one is open."""
        w, h = SCREEN
        path, deviation = self.desktop.screenshot(name, crop=(w, height, 0, h - height))
        self.assertGreater(deviation, 0.02, f'{path} looks blank')
        return path

    def icon_shot(self, name):
        """The icon alone, as the host drew it: not blank means the host found the icon
        the GUI named (IconName in the theme's hicolor directories)."""
        x, y, w, h = self.desktop.tray_button()['extents']
        path, deviation = self.desktop.screenshot(name, crop=(w, h, x, y))
        self.assertGreater(deviation, 0.05, f'{path}: no icon drawn')
        return path

    def host_menu(self):
        """Open the menu in the host; returns {label: record} of its items (separators
        left out), in the host's order."""
        return {n['name']: n for n in self.desktop.open_tray_menu() if n['role'] != 'separator'}


class HostTray(_Gui, _Tray):
    def test_icon_appears_and_the_menu_acts(self):
        self.desktop.start_gui(status='Signed out')
        self.icon_shot('tray-icon-signed-out')
        items = self.host_menu()
        # The host shows the state, in the window's words, and what can be done now.
        self.assertEqual(list(items), ['Signed out', 'Sign In', 'Open Firezone', 'Settings', 'Quit'])
        self.assertNotIn('enabled', items['Signed out']['states'])
        self.assertIn('enabled', items['Sign In']['states'])
        self.panel_shot('tray-menu-signed-out', height=230)
        # Down the menu with the keyboard to "Sign In", Return: the browser opens.
        self.desktop.choose_in_tray_menu('Sign In')
        self.desktop.wait_browser()
        self.desktop.wait_status('Signing in…')
        # The host reads the menu again after the change: now it offers to cancel (and to
        # open the page again, as the window does).
        items = self.host_menu()
        self.assertIn('Cancel Sign-in', items)
        self.assertEqual(items['Signing in…']['role'], 'menu item')
        self.assertNotIn('enabled', items['Signing in…']['states'])
        self.desktop.choose_in_tray_menu('Cancel Sign-in')
        self.desktop.wait_status('Signed out')

    def test_left_click_opens_the_window_and_quit_ends(self):
        self.desktop.start_gui(status='Signed out')
        self.desktop.close_window()
        self.desktop.wait_gone(role='frame', name='Firezone')
        self.assertTrue(self.desktop.gui.running())
        # A left click on the icon (StatusNotifierItem.Activate from the host).
        self.desktop.click_node(self.desktop.tray_button(), button=1)
        self.desktop.wait_status('Signed out')
        self.desktop.wait_window_mapped('Firezone')
        self.host_menu()
        self.desktop.choose_in_tray_menu('Quit')
        self.assertEqual(self.desktop.gui.wait_exit(20), 0)

    def test_menu_and_icon_follow_the_session(self):
        self.desktop.start_gui(status='Signed out')
        _url, nonce, state = self.start_sign_in()
        self.secret(nonce + FRAGMENT)
        self.feed(callback(state))
        self.desktop.wait_status('Connecting…')
        self.desktop.wait_tray_labels(['Connecting…', 'Signed in as Jane Doe (acme)', 'Sign Out'])
        self.assertEqual(self.desktop.tray_property('IconName'), 'dev.firezone.Client-busy-symbolic')
        self.icon_shot('tray-icon-connecting')
        items = self.host_menu()
        for want in ('Connecting…', 'Signed in as Jane Doe (acme)', 'Sign Out', 'Open Firezone', 'Quit'):
            self.assertIn(want, items)
        self.assertNotIn('Sign In', items)
        self.desktop.choose_in_tray_menu('Sign Out')
        self.desktop.wait_status('Signed out')
        self.assertEqual(self.status()['state'], 'signed-out')


class HostTrayResources(_Portal, _Tray):
    def test_resources_in_the_host_menu(self):
        self.connect()
        self.desktop.wait_tray_labels(['Resources', 'GitLab'])
        self.icon_shot('tray-icon-connected')
        items = self.host_menu()
        self.assertIn('Resources', items)
        self.assertIn('GitLab', items)
        self.panel_shot('tray-menu-connected', height=360)
        # Into GitLab's submenu (Right opens it), then "Copy Address".
        self.desktop.choose_in_tray_menu_path(['GitLab', 'Copy Address'])
        self.desktop.wait_log('Copied to the clipboard: Copied “gitlab.corp.example.com” to the clipboard.')
        self.assertEqual(self.desktop.clipboard_text(), GITLAB['address'])
