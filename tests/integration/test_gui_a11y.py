# SPDX-License-Identifier: Apache-2.0
"""firezone-gui as assistive technology and keyboard users meet it: through the real
AT-SPI stack (at-spi2-core's registry, libatspi — the way Orca reads an application) and
keys typed into the X server. Find the sign-in button by role and name and press it; read
the state from the status line; reach everything with the keyboard, the main menu too;
every control has a name."""

from test_gui import _Gui

# AT-SPI roles of the controls a user operates (GTK 4.8's mapping).
CONTROL_ROLES = {'push button', 'toggle button', 'check box', 'radio button', 'menu item', 'check menu item',
                 'text', 'entry', 'password text', 'combo box', 'slider', 'spin button', 'link'}


class Accessibility(_Gui):
    def controls(self, app_frame='Firezone'):
        """The operable nodes shown in a window, as an AT lists them."""
        return [n for n in self.desktop.a11y(op='tree', app='firezone-gui', showing=True)
                if n['role'] in CONTROL_ROLES and f'frame:{app_frame}' in n['path']]

    def assert_named(self, nodes):
        for n in nodes:
            name = n['name'] or ''
            # Unnamed, or named after its widget class (what GTK says of an icon-only button).
            self.assertTrue(name.strip() and not name.startswith(('Gtk', 'Adw')),
                            f'{n["role"]} without a name: {n["path"]}')
            # GTK 4.8's doubled names ("Sign In Sign In") read badly.
            half = len(name) // 2
            self.assertFalse(len(name) > 1 and name[:half].strip() == name[half:].strip(),
                             f'doubled name "{name}": {n["path"]}')

    def test_sign_in_button_found_and_pressed_by_role_and_name(self):
        self.desktop.start_gui()
        # The state, read from the status line by role and name.
        status = self.desktop.wait_status('Signed out')
        self.assertEqual(status['role'], 'status bar')
        button = self.desktop.wait_shown(role='push button', name='Sign In')[0]
        self.assertIn('sensitive', button['states'])
        self.assertIn('click', button['actions'])
        self.assertEqual(button['description'], 'Opens the sign-in page in your web browser')
        self.desktop.press('Sign In')
        self.desktop.wait_browser()
        self.desktop.wait_status('Signing in…')
        # The page that replaced it is what an AT finds now; the old one is hidden from it.
        self.desktop.wait_shown(role='push button', name='Open the Page Again')
        self.assertEqual(self.desktop.find(role='push button', name='Sign In'), [])

    def test_every_control_is_named(self):
        self.desktop.start_gui(status='Signed out')
        self.desktop.wait_shown(role='push button', name='Sign In')
        signed_out = self.controls()
        self.assertGreaterEqual(len(signed_out), 5)  # menu, minimize, maximize, close, sign in, settings
        self.assert_named(signed_out)
        self.desktop.press('Sign In')
        self.desktop.wait_shown(role='push button', name='Cancel Sign-in')
        self.assert_named(self.controls())
        self.desktop.activate_action('preferences')
        self.desktop.wait_shown(role='frame', name='Settings')
        self.desktop.wait_shown(role='check box', name='Connect on start')
        prefs = [n for n in self.controls('Settings') if n['role'] in ('check box', 'text')]
        self.assertEqual(sorted(n['name'] for n in prefs),
                         ['Account ID (empty: the page asks)', 'Connect on start', 'Sign-in address',
                          'Start at log-in', 'Start minimized'])
        self.assert_named(prefs)

    def test_keyboard_alone_signs_in(self):
        self.desktop.start_gui(status='Signed out')
        # The page puts the keyboard focus on what it is for.
        focused = self.wait_focus('Sign In')
        self.assertEqual(focused['role'], 'push button')
        # Tab moves on, Shift+Tab comes back, Return presses.
        self.desktop.keys('Tab')
        self.wait_focus('Sign-in Settings')
        self.desktop.keys(('Shift_L', 'Tab'))
        self.wait_focus('Sign In')
        self.desktop.keys('Return')
        self.desktop.wait_browser()
        self.desktop.wait_status('Signing in…')
        # The next page takes the focus too: Escape-free cancel with Tab and Return.
        self.wait_focus('Open the Page Again')
        self.desktop.keys('Tab')
        self.wait_focus('Cancel Sign-in')
        self.desktop.keys('Return')
        self.desktop.wait_status('Signed out')

    def test_keyboard_opens_the_main_menu(self):
        self.desktop.start_gui(status='Signed out')
        self.wait_focus('Sign In')
        # F10 opens the primary menu; arrows move; Return chooses.
        self.desktop.keys('F10')
        self.desktop.wait_shown(role='menu item', name='About Firezone')
        names = [n['name'] for n in self.desktop.find(role='menu item')]
        self.assertEqual(names, ['Settings', 'About Firezone', 'Quit'])
        self.wait_focus('Settings')
        self.desktop.keys('Down')
        self.wait_focus('About Firezone')
        self.desktop.keys('Return')
        self.desktop.wait_shown(role='frame', name='About')
        path, deviation = self.desktop.screenshot('about', window='About')
        self.assertGreater(deviation, 0.02, path)
        # Ctrl+Q quits from the keyboard.
        self.desktop.keys('Escape')
        self.desktop.wait_gone(role='frame', name='About')
        self.desktop.keys(('Control_L', 'q'))
        self.assertEqual(self.desktop.gui.wait_exit(20), 0)

    def wait_focus(self, name):
        """Wait until the node with the keyboard focus is @name."""
        return self.desktop.wait_shown(name=name, states=['focused'])[0]
