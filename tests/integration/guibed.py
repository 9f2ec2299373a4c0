# SPDX-License-Identifier: Apache-2.0
"""A headless desktop session for the GUI tests, inside the bed (fzbed.py): Xvfb, a
private session bus, an unlocked gnome-keyring, python3-dbusmock's notification daemon
(logging every Notify), a StatusNotifierWatcher stand-in (sniwatcher.py) and a "browser"
that only records the URLs it is asked to open. Everything runs as the desktop user
(fz-member unless told otherwise) with HOME and XDG_RUNTIME_DIR in the bed's temp dir.

Waiting is on events only: a name on the session bus (NameOwnerChanged), a line in a log
(inotify), a process exit. The GUI logs what its window shows ("Window drawn: PAGE …")
after the frame is painted; screenshots are taken after that and must not be blank."""

import json
import os
import pwd
import re
import subprocess

import fzbed

GUI_REL = 'gui-gtk4/firezone-gui'
KEYRING_PASSWORD = 'bed-keyring-password'
SCREENSHOT_DIR = os.path.join(fzbed.BUILD_ROOT, 'meson-logs', 'gui-screenshots')
CALLBACK = 'firezone-fd0020211111://handle_client_sign_in_callback/'


def session_bus_config(path, listen):
    with open(path, 'w') as f:
        f.write(f'''<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>{listen}</listen>
  <auth>EXTERNAL</auth>
  <!-- No service dirs: nothing is activated behind the test's back (e.g. a keyring). -->
  <policy context="default">
    <!-- The harness (root) inspects the bus too. -->
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
''')


class Desktop:
    def __init__(self, bed, user='fz-member', keyring=True, keyring_locked=False, notifications=True, tray=True,
                 settings=None):
        self.bed = bed
        self.user = user
        self.pw = pwd.getpwnam(user)
        self.root = os.path.join(bed.dir, f'desktop-{user}')
        self.home = os.path.join(self.root, 'home')
        self.runtime = os.path.join(self.root, 'runtime')
        self.config = os.path.join(self.home, '.config')
        self.data = os.path.join(self.home, '.local', 'share')
        for d in (self.root, self.home, self.runtime, self.config, self.data, os.path.join(self.home, '.cache'),
                  os.path.join(self.data, 'applications'), os.path.join(self.config, 'gtk-4.0')):
            os.makedirs(d, exist_ok=True)
        os.chmod(self.runtime, 0o700)
        self.display = ':0'
        self.session_socket = os.path.join(self.runtime, 'bus')
        self.session_address = 'unix:path=' + self.session_socket
        self.browser_log = os.path.join(self.root, 'browser-urls')
        self.notify_log = os.path.join(self.root, 'notifications.log')
        self._conn = None
        self.gui = None
        self._gui_count = 0

        self._write_user_files(settings or {})
        for dirpath, dirnames, filenames in os.walk(self.root):
            for n in dirnames + filenames:
                os.lchown(os.path.join(dirpath, n), self.pw.pw_uid, self.pw.pw_gid)
        os.lchown(self.root, self.pw.pw_uid, self.pw.pw_gid)

        self._start_xvfb()
        self._start_session_bus()
        if keyring:
            self._start_keyring(locked=keyring_locked)
        if notifications:
            self.notifyd = self._spawn_user('notifyd', ['/usr/bin/python3', '-m', 'dbusmock', '--session', '-t',
                                                        'notification_daemon', '-l', self.notify_log])
            self.wait_for_name('org.freedesktop.Notifications', self.notifyd)
        if tray:
            # Through the bed's exposed source tree: the checkout may be under a 0700 directory.
            watcher = os.path.join(self.bed.source_root, 'tests', 'integration', 'sniwatcher.py')
            self.watcher = self._spawn_user('sni-watcher', ['/usr/bin/python3', watcher])
            self.wait_for_name('org.kde.StatusNotifierWatcher', self.watcher)

    # ---- set-up ------------------------------------------------------------------------------

    def _write_user_files(self, settings):
        # No animations: a page is final when it is first drawn (screenshots, logs).
        with open(os.path.join(self.config, 'gtk-4.0', 'settings.ini'), 'w') as f:
            f.write('[Settings]\ngtk-enable-animations=false\n')
        # The "browser": records what it is asked to open, opens nothing.
        browser = os.path.join(self.root, 'fake-browser')
        with open(browser, 'w') as f:
            f.write(f'#!/bin/sh\nprintf "%s\\n" "$1" >> {self.browser_log}\n')
        os.chmod(browser, 0o755)
        open(self.browser_log, 'w').close()
        with open(os.path.join(self.data, 'applications', 'fake-browser.desktop'), 'w') as f:
            f.write('[Desktop Entry]\nType=Application\nName=Fake Browser\n'
                    f'Exec={browser} %u\nMimeType=x-scheme-handler/http;x-scheme-handler/https;\n')
        with open(os.path.join(self.config, 'mimeapps.list'), 'w') as f:
            f.write('[Default Applications]\nx-scheme-handler/http=fake-browser.desktop\n'
                    'x-scheme-handler/https=fake-browser.desktop\n')
        # GSettings through the keyfile backend, in this HOME.
        if settings:
            d = os.path.join(self.config, 'glib-2.0', 'settings')
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, 'keyfile'), 'w') as f:
                f.write('[dev/firezone/Client]\n')
                for k, v in settings.items():
                    # GVariant text: 'string', true/false.
                    f.write(f'{k}={json.dumps(v) if isinstance(v, bool) else repr(v)}\n')
            for dirpath, dirnames, filenames in os.walk(os.path.join(self.config, 'glib-2.0')):
                for n in dirnames + filenames:
                    os.lchown(os.path.join(dirpath, n), self.pw.pw_uid, self.pw.pw_gid)
                os.lchown(dirpath, self.pw.pw_uid, self.pw.pw_gid)

    def env(self, **extra):
        e = self.bed.env(
            HOME=self.home, USER=self.user, LOGNAME=self.user, XDG_RUNTIME_DIR=self.runtime,
            XDG_CONFIG_HOME=self.config, XDG_DATA_HOME=self.data, XDG_CACHE_HOME=os.path.join(self.home, '.cache'),
            XDG_DATA_DIRS='/usr/local/share:/usr/share', DISPLAY=self.display,
            DBUS_SESSION_BUS_ADDRESS=self.session_address, GDK_BACKEND='x11', GSK_RENDERER='cairo',
            GTK_A11Y='none', NO_AT_BRIDGE='1', GSETTINGS_BACKEND='keyfile',
            GSETTINGS_SCHEMA_DIR=self.bed.build_path('gui-gtk4/data'), G_MESSAGES_DEBUG='firezone-gui',
            # A GTK or GLib critical is a bug: make it crash the test.
            G_DEBUG='fatal-criticals',
        )
        e.update({k: v for k, v in extra.items() if v is not None})
        return e

    def _spawn_user(self, name, argv, env=None, stdin=None, pass_fds=()):
        argv = self.bed.as_user_argv(self.user, argv)
        p = fzbed.Process(name, argv, os.path.join(self.bed.dir, f'{name}.log'), env=env or self.env(), stdin=stdin,
                          pass_fds=pass_fds)
        self.bed.processes.append(p)
        return p

    def _start_xvfb(self):
        # X sockets: the abstract one lives in the bed's network namespace; the file socket
        # and lock file go to a /tmp private to Xvfb, so the host's /tmp is never touched.
        r, w = os.pipe()
        argv = ['unshare', '-m', '--propagation', 'private', 'sh', '-c',
                'mount -t tmpfs tmpfs /tmp && exec Xvfb "$@"', 'xvfb', self.display, '-screen', '0',
                '1024x768x24', '-nolisten', 'tcp', '-displayfd', str(w)]
        self.xvfb = self.bed._spawn('xvfb', argv, pass_fds=(w,))
        os.close(w)
        # Xvfb writes the display number once it accepts connections: the readiness event.
        with os.fdopen(r) as f:
            number = f.readline().strip()
        if not number:
            raise fzbed.BedError('Xvfb did not start:\n' + self.xvfb.output())

    def _start_session_bus(self):
        conf = os.path.join(self.root, 'session.conf')
        session_bus_config(conf, self.session_address)
        r, w = os.pipe()
        self.session_bus = self._spawn_user('session-bus', ['dbus-daemon', f'--config-file={conf}', '--nofork',
                                                            '--nopidfile', f'--print-address={w}'], pass_fds=(w,))
        os.close(w)
        with os.fdopen(r) as f:
            if not f.readline().strip():
                raise fzbed.BedError('session dbus-daemon did not start:\n' + self.session_bus.output())

    def _start_keyring(self, locked):
        # --unlock reads the login keyring's password from stdin (and creates the keyring).
        argv = ['gnome-keyring-daemon', '--foreground', '--components=secrets']
        if not locked:
            argv.insert(1, '--unlock')
        self.keyring = self._spawn_user('gnome-keyring', argv, stdin=subprocess.PIPE)
        if not locked:
            self.keyring.proc.stdin.write(KEYRING_PASSWORD.encode())
        self.keyring.proc.stdin.close()
        self.wait_for_name('org.freedesktop.secrets', self.keyring)

    # ---- the session bus ---------------------------------------------------------------------

    def connection(self):
        if self._conn is None:
            from gi.repository import Gio
            self._conn = Gio.DBusConnection.new_for_address_sync(
                self.session_address,
                Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
                None, None)
            self.bed.closers.append(lambda: self._conn.close_sync(None))
        return self._conn

    def call(self, dest, path, iface, method, args=None, reply='', timeout_ms=10000):
        from gi.repository import Gio
        r = self.connection().call_sync(dest, path, iface, method, args, None, Gio.DBusCallFlags.NO_AUTO_START,
                                        timeout_ms, None)
        return r.unpack() if r is not None else None

    def name_owner(self, name):
        from gi.repository import GLib
        try:
            return self.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus',
                             'GetNameOwner', GLib.Variant('(s)', (name,)))[0]
        except GLib.Error:
            return None

    def wait_for_name(self, name, proc=None, timeout=20):
        from gi.repository import Gio, GLib
        conn = self.connection()
        loop = GLib.MainLoop()
        why = []

        def done(w):
            why.append(w)
            loop.quit()

        sub = conn.signal_subscribe('org.freedesktop.DBus', 'org.freedesktop.DBus', 'NameOwnerChanged',
                                    '/org/freedesktop/DBus', name, Gio.DBusSignalFlags.NONE,
                                    lambda *a: done('name') if a[5].unpack()[2] else None)
        sources = [GLib.timeout_add(int(timeout * 1000), lambda: done('timeout') or False)]
        if proc is not None:
            sources.append(GLib.unix_fd_add_full(GLib.PRIORITY_DEFAULT, proc.pidfd, GLib.IOCondition.IN,
                                                 lambda *a: done('exited') or False))
        try:
            if self.name_owner(name) is not None:
                return
            loop.run()
        finally:
            conn.signal_unsubscribe(sub)
            for s in sources:
                if GLib.MainContext.default().find_source_by_id(s):
                    GLib.source_remove(s)
        if why[0] != 'name':
            raise fzbed.BedError(f'{name} did not appear on the session bus ({why[0]})' +
                                 (f':\n{proc.output()}' if proc else ''))

    # ---- the GUI -----------------------------------------------------------------------------

    def gui_argv(self, args=()):
        return [self.bed.build_path(GUI_REL), *args]

    def start_gui(self, args=(), page=None, env=None, stale_groups=False):
        """Start the primary instance; wait until the window drew `page` (a prefix of what
        the GUI logs as "Window drawn: …") unless page is None. stale_groups: run it with
        only the user's own group, like a login session older than a group change."""
        self._gui_count += 1
        name = f'gui-{self._gui_count}'
        if stale_groups:
            argv = ['setpriv', f'--reuid={self.pw.pw_uid}', f'--regid={self.pw.pw_gid}', '--clear-groups', '--',
                    *self.gui_argv(args)]
            p = fzbed.Process(name, argv, os.path.join(self.bed.dir, f'{name}.log'), env=self.env(**(env or {})))
            self.bed.processes.append(p)
            self.gui = p
        else:
            self.gui = self._spawn_user(name, self.gui_argv(args), env=self.env(**(env or {})))
        if page is not None:
            self.wait_drawn(page)
        return self.gui

    def wait_log(self, text, proc=None, timeout=30):
        proc = proc or self.gui
        self.bed.wait_for_log(proc, text, timeout=timeout)

    def wait_drawn(self, page, timeout=30):
        self.wait_log(f'Window drawn: {page}', timeout=timeout)

    def drawn_since(self, mark):
        """Lines "Window drawn: …" logged after offset `mark` of the GUI log."""
        return [m.group(1) for m in re.finditer(r'Window drawn: (.*)', self.gui.output()[mark:])]

    def log_mark(self):
        return len(self.gui.output())

    def wait_log_after(self, mark, text, timeout=30):
        self.bed._wait_until(lambda: text in self.gui.output()[mark:], what=f'"{text}" in the GUI log',
                             proc=self.gui, watch_file=self.gui.log_path, timeout=timeout)

    def run_gui(self, args=(), timeout=30, env=None):
        """A second `firezone-gui …`: GApplication hands its arguments to the primary."""
        return subprocess.run(self.bed.as_user_argv(self.user, self.gui_argv(args)), env=self.env(**(env or {})),
                              capture_output=True, text=True, timeout=timeout)

    def activate_action(self, name, param=None):
        """Activate one of the GUI's GActions over org.gtk.Actions (as a desktop shell would)."""
        from gi.repository import GLib
        params = [param] if param is not None else []
        self.call('dev.firezone.Client', '/dev/firezone/Client', 'org.gtk.Actions', 'Activate',
                  GLib.Variant('(sava{sv})', (name, params, {})))

    def close_window(self, title='Firezone'):
        """What a window manager does when the user clicks the close button: send
        WM_DELETE_WINDOW to the window."""
        from Xlib import X, display, protocol
        d = display.Display(self.display)
        try:
            wm_protocols = d.intern_atom('WM_PROTOCOLS')
            wm_delete = d.intern_atom('WM_DELETE_WINDOW')
            found = []

            def walk(w):
                try:
                    if w.get_wm_name() == title and w.get_attributes().map_state == X.IsViewable:
                        found.append(w)
                    for c in w.query_tree().children:
                        walk(c)
                except Exception:
                    pass

            walk(d.screen().root)
            if not found:
                raise fzbed.BedError(f'no mapped window titled {title!r}')
            for w in found:
                ev = protocol.event.ClientMessage(window=w, client_type=wm_protocols, data=(32, [wm_delete, X.CurrentTime, 0, 0, 0]))
                w.send_event(ev)
            # A round trip, so the server has the messages before the connection closes.
            d.sync()
        finally:
            d.close()

    # ---- the tray ----------------------------------------------------------------------------

    def tray_service(self):
        """The bus name the GUI registered with the watcher (from the watcher's log)."""
        self.bed.wait_for_log(self.watcher, 'registered ')
        return re.findall(r'registered (\S+) by', self.watcher.output())[-1]

    def tray_property(self, name):
        from gi.repository import GLib
        return self.call(self.tray_service(), '/StatusNotifierItem', 'org.freedesktop.DBus.Properties', 'Get',
                         GLib.Variant('(ss)', ('org.kde.StatusNotifierItem', name)))[0]

    def tray_menu(self):
        """The DBusMenu as nested (id, label, enabled, children) tuples, labels only for
        non-separators."""
        from gi.repository import GLib
        rev, layout = self.call(self.tray_service(), '/MenuBar', 'com.canonical.dbusmenu', 'GetLayout',
                                GLib.Variant('(iias)', (0, -1, [])))

        def conv(node):
            item_id, props, children = node
            if props.get('type') == 'separator':
                return (item_id, '---', False, [])
            return (item_id, props.get('label', ''), props.get('enabled', True), [conv(c) for c in children])
        return conv(layout)[3]

    def tray_labels(self, items=None):
        items = self.tray_menu() if items is None else items
        out = []
        for _id, label, _en, children in items:
            out.append(label)
            out += self.tray_labels(children)
        return out

    def tray_click(self, label):
        from gi.repository import GLib

        def find(items):
            for item_id, lab, _en, children in items:
                if lab == label:
                    return item_id
                r = find(children)
                if r is not None:
                    return r
            return None
        item_id = find(self.tray_menu())
        if item_id is None:
            raise fzbed.BedError(f'no tray menu item {label!r}')
        self.call(self.tray_service(), '/MenuBar', 'com.canonical.dbusmenu', 'Event',
                  GLib.Variant('(isvu)', (item_id, 'clicked', GLib.Variant('i', 0), 0)))

    def install_app_desktop_file(self):
        """The app's own desktop file (with its MimeType=x-scheme-handler/firezone-fd0020211111)
        in this user's applications, pointing at the build tree's binary: what a browser uses
        to hand the sign-in link over."""
        with open(os.path.join(fzbed.BUILD_ROOT, 'gui-gtk4', 'dev.firezone.Client.desktop')) as f:
            text = f.read()
        text = re.sub(r'^Exec=\S+', f'Exec={self.bed.build_path(GUI_REL)}', text, flags=re.M)
        apps = os.path.join(self.data, 'applications')
        path = os.path.join(apps, 'dev.firezone.Client.desktop')
        with open(path, 'w') as f:
            f.write(text)
        # As the package's post-install does for /usr/share/applications: GIO finds scheme
        # handlers through mimeinfo.cache.
        subprocess.run(['update-desktop-database', apps], check=True)
        for name in os.listdir(apps):
            os.chown(os.path.join(apps, name), self.pw.pw_uid, self.pw.pw_gid)

    def open_uri(self, uri):
        """Open a URI the way the desktop does (`gio open`: the default handler for its scheme)."""
        return subprocess.run(self.bed.as_user_argv(self.user, ['gio', 'open', uri]), env=self.env(),
                              capture_output=True, text=True, timeout=30)

    # ---- the browser -------------------------------------------------------------------------

    def browser_urls(self):
        with open(self.browser_log) as f:
            return [line.strip() for line in f if line.strip()]

    def wait_browser(self, count=1, timeout=20):
        self.bed._wait_until(lambda: len(self.browser_urls()) >= count, what='the browser to be opened',
                             proc=self.gui, watch_file=self.browser_log, timeout=timeout)
        return self.browser_urls()[count - 1]

    # ---- the keyring -------------------------------------------------------------------------

    def secret_tool(self, *args, input=None):
        return subprocess.run(self.bed.as_user_argv(self.user, ['secret-tool', *args]), env=self.env(),
                              input=input, capture_output=True, text=True, timeout=30)

    def stored_token(self):
        """The GUI's stored token, or None (secret-tool matches attributes, not the schema)."""
        r = self.secret_tool('lookup', 'purpose', 'interactive-token')
        return r.stdout if r.returncode == 0 and r.stdout else None

    def store_token(self, token, account_slug='acme', actor_name='Jane Doe'):
        r = self.secret_tool('store', '--label=Firezone sign-in token', 'xdg:schema', 'dev.firezone.Client.Token',
                             'purpose', 'interactive-token', 'account-slug', account_slug, 'actor-name', actor_name,
                             input=token)
        if r.returncode != 0:
            raise fzbed.BedError(f'secret-tool store failed: {r.stderr}')

    # ---- notifications -----------------------------------------------------------------------

    def notifications(self):
        """(summary, body) of every Notify call the mock saw."""
        out = []
        try:
            with open(self.notify_log) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return out
        for line in lines:
            # dbusmock: TIMESTAMP Notify "app" id "icon" "summary" "body" [actions] {hints} timeout
            m = re.search(r' Notify "((?:[^"\\]|\\.)*)" \d+ "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)" '
                          r'"((?:[^"\\]|\\.)*)"', line)
            if m:
                out.append((m.group(3), m.group(4)))
        return out

    def wait_notification(self, summary, timeout=20):
        if not os.path.exists(self.notify_log):
            open(self.notify_log, 'a').close()
        self.bed._wait_until(lambda: any(s == summary for s, _ in self.notifications()),
                             what=f'notification "{summary}"', proc=self.gui, watch_file=self.notify_log,
                             timeout=timeout)
        return [n for n in self.notifications() if n[0] == summary][-1]

    # ---- screenshots -------------------------------------------------------------------------

    def screenshot(self, name):
        """Save the screen as meson-logs/gui-screenshots/NAME.png and check it is not blank."""
        os.makedirs(SCREENSHOT_DIR, exist_ok=True)
        path = os.path.join(SCREENSHOT_DIR, f'{name}.png')
        env = dict(self.bed.env(), DISPLAY=self.display)
        subprocess.run(['/usr/bin/import', '-window', 'root', path], env=env, check=True, timeout=30,
                       capture_output=True)
        r = subprocess.run(['/usr/bin/convert', path, '-colorspace', 'Gray', '-format', '%[fx:standard_deviation]',
                            'info:'], capture_output=True, text=True, check=True, timeout=30)
        deviation = float(r.stdout.strip())
        return path, deviation
