# SPDX-License-Identifier: Apache-2.0
"""The README's screenshots of firezone-gui, made from the GUI tests' headless desktop (run
by tools/gui-screenshots, in a bed like a test): Xvfb, the real daemon and polkitd, the
local portal serving tests/portal/demo-account.json, the GUI from the build tree. Three
scenes — signed out, connected with resources (one a favourite), and the error shown
when the portal refuses the client — each in the light and the dark style, the latter
switched the way a desktop does (org.gnome.desktop.interface color-scheme). They land in
gui-gtk4/screenshots/, so they follow the GUI as it changes."""

import os
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'integration'))
import fzbed  # noqa: E402
from guibed import CALLBACK, Desktop  # noqa: E402
from portalbed import LocalPortal  # noqa: E402

OUT = os.path.join(fzbed.SOURCE_ROOT, 'gui-gtk4', 'screenshots')
SETTINGS = {'auth-url': 'https://auth.example.test', 'account-slug': 'acme'}
FRAGMENT = 'SFMyNTY.screenshot-fragment'


def shoot(desktop, scene):
    """The window, light then dark; returns to light."""
    for style in ('light', 'dark'):
        desktop.set_color_scheme(dark=style == 'dark')
        desktop.wait_window_brightness(dark=style == 'dark')
        path, deviation = desktop.screenshot(f'{scene}-{style}', directory=OUT, window='Firezone')
        if deviation < 0.02:
            raise fzbed.BedError(f'{path} looks blank')
        print(path, flush=True)
    desktop.set_color_scheme(dark=False)
    desktop.wait_window_brightness(dark=False)


def sign_in(desktop, portal, count):
    """Through the browser, as a user does: the page opens, the portal's link comes back."""
    desktop.activate_action('sign-in')
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(desktop.wait_browser(count)).query)
    portal.control(op='set_token', token=query['nonce'][0] + FRAGMENT)
    link = CALLBACK + '?' + urllib.parse.urlencode({'account_slug': 'acme', 'actor_name': 'Jane Doe',
                                                    'fragment': FRAGMENT, 'state': query['state'][0]})
    r = desktop.run_gui([link])
    if r.returncode != 0:
        raise fzbed.BedError(r.stderr)


def main(bed, build_root):
    os.makedirs(OUT, exist_ok=True)
    portal = LocalPortal(bed, token='not-yet-known-' + '0' * 20)
    bed.start_daemon(env={'FIREZONE_API_URL': portal.ws_url}, debug=False)
    desktop = Desktop(bed, settings=SETTINGS)

    desktop.start_gui(status='Signed out')
    desktop.wait_shown(role='push button', name='Sign In')
    shoot(desktop, 'signed-out')

    # The portal refuses the client once: the session ends with the daemon's sentence.
    portal.control(op='fail_next', status=404, count=1)
    sign_in(desktop, portal, 1)
    desktop.wait_shown(role='label', name_prefix='The Firezone portal at ')
    desktop.wait_status('Signed out')
    shoot(desktop, 'error')

    sign_in(desktop, portal, 2)
    desktop.wait_status('Connected')
    desktop.press('Favorite: GitLab')
    desktop.wait_shown(role='label', name='Favorites')
    desktop.wait_shown(role='list item', name='Office LAN')
    shoot(desktop, 'connected')
    portal.stop()
    return 0
