# SPDX-License-Identifier: Apache-2.0
"""The Internet resource switched on and off from the window and the tray, end to end:
the GUI → libfirezone-client (fz_client_set_internet_resource_enabled_async) → the daemon
(SetInternetResourceEnabled) → its InternetResourceEnabled property → back to the switch
and the tray's check item. Registered by tests/integration/meson.build only once the
library declares the call (until then the GUI's adapter reports "not supported", which
test_gui_portal.py shows)."""

from test_gui_portal import _Portal


class InternetResource(_Portal):
    def daemon_enabled(self):
        return self.assertOk(self.bed.agent('root').get_property('InternetResourceEnabled'))

    def wait_switch(self, on):
        states = {'states': ['checked']} if on else {'not_states': ['checked']}
        return self.desktop.wait_shown(role='check box', name='Use Internet Resource', **states)[0]

    def tray_check_state(self):
        item = self.desktop.tray_item('Use the Internet Resource', self.desktop.tray_item('Internet Resource')[3])
        return item[4].get('toggle-type'), item[4].get('toggle-state')

    def test_switch_and_tray_follow_the_daemon(self):
        self.connect()
        self.desktop.wait_shown(role='list item', name='Internet Resource')
        start = self.daemon_enabled()
        self.wait_switch(start)
        self.assertEqual(self.tray_check_state(), ('checkmark', 1 if start else 0))

        # The window's switch asks the daemon; the switch shows what the daemon then says.
        self.desktop.press('Use Internet Resource', role='check box')
        self.desktop.wait_log('The daemon changed the Internet resource')
        self.assertEqual(self.daemon_enabled(), not start)
        self.wait_switch(not start)
        self.desktop.wait_tray_labels(['Use the Internet Resource'])
        self.assertEqual(self.tray_check_state(), ('checkmark', 0 if start else 1))

        # And the tray's check item, back.
        self.desktop.tray_item_click(self.desktop.tray_item('Use the Internet Resource',
                                                            self.desktop.tray_item('Internet Resource')[3]))
        self.wait_switch(start)
        self.assertEqual(self.daemon_enabled(), start)
