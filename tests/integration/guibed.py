# SPDX-License-Identifier: Apache-2.0
"""A headless desktop session for the GUI tests, inside the bed (fzbed.py): Xvfb, a private
session bus, the accessibility bus (at-spi2-core), an unlocked gnome-keyring,
python3-dbusmock's notification daemon (logging every Notify), a real StatusNotifierItem
host — Xfce's panel with its system tray — and a "browser" that only records the URLs it
is asked to open. Everything runs as the desktop user (fz-member unless told otherwise)
with HOME and XDG_RUNTIME_DIR in the bed's temp dir, and a /tmp of the bed's own.

The tests read and operate the GUI the way assistive technology does, through AT-SPI
(a11yagent.py): they wait for a node with a role and a name to be shown, press buttons
by name, and read the state from the window's status line. Waiting is on events only: an
AT-SPI event, a name on the session bus (NameOwnerChanged), a line in a log (inotify), a
process exit. Input that must come from a user (a click on the tray icon, keys) goes
through the X server (XTEST). Screenshots are taken once the screen is still."""

import hashlib
import json
import os
import pwd
import re
import shutil
import subprocess

import fzbed
import sandbox

GUI_REL = 'gui-gtk4/firezone-gui'
APP = 'firezone-gui'
KEYRING_PASSWORD = 'bed-keyring-password'
SCREENSHOT_DIR = os.path.join(fzbed.BUILD_ROOT, 'meson-logs', 'gui-screenshots')
CALLBACK = 'firezone-fd0020211111://handle_client_sign_in_callback/'

XFCE_PANEL_XML = '''<?xml version="1.0" encoding="UTF-8"?>
<channel name="xfce4-panel" version="1.0">
  <property name="configver" type="int" value="2"/>
  <property name="panels" type="array">
    <value type="int" value="1"/>
    <property name="panel-1" type="empty">
      <property name="position" type="string" value="p=8;x=512;y=752"/>
      <property name="length" type="uint" value="100"/>
      <property name="position-locked" type="bool" value="true"/>
      <property name="size" type="uint" value="32"/>
      <property name="plugin-ids" type="array">
        <value type="int" value="1"/>
      </property>
    </property>
  </property>
  <property name="plugins" type="empty">
    <property name="plugin-1" type="string" value="systray"/>
  </property>
</channel>
'''


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


def gvariant_text(v):
    if isinstance(v, bool):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return '[' + ', '.join(gvariant_text(x) for x in v) + ']'
    return repr(v)


class Desktop:
    """tray: True for Xfce's panel (a real StatusNotifierItem host), False for none.
    notification_caps: what the notification server says it can do (default: dbusmock's,
    with body-markup). settings: dev.firezone.Client keys. dark: the desktop prefers the
    dark style. language: a locale such as "de_DE.UTF-8" (compiled into the bed)."""

    def __init__(self, bed, user='fz-member', keyring=True, keyring_locked=False, notifications=True,
                 notification_caps=None, tray=True, settings=None, dark=False, language=None):
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
        self.settings_path = os.path.join(self.config, 'glib-2.0', 'settings', 'keyfile')
        self.locale_env = {}
        self._conn = None
        self._a11y = None
        self.gui = None
        self._gui_count = 0

        self._write_user_files(settings or {}, dark)
        if tray:
            self._write_panel_files()
        if language:
            self._compile_locale(language)
        for dirpath, dirnames, filenames in os.walk(self.root):
            for n in dirnames + filenames:
                os.lchown(os.path.join(dirpath, n), self.pw.pw_uid, self.pw.pw_gid)
        os.lchown(self.root, self.pw.pw_uid, self.pw.pw_gid)

        self._private_tmp()
        if language:
            sandbox.bind(*self._catalogue_mount)
        self._start_xvfb()
        self._start_session_bus()
        self._start_accessibility_bus()
        if keyring:
            self._start_keyring(locked=keyring_locked)
        if notifications:
            argv = ['/usr/bin/python3', '-m', 'dbusmock', '--session', '-t', 'notification_daemon', '-l',
                    self.notify_log]
            if notification_caps is not None:
                argv += ['-p', json.dumps({'capabilities': ' '.join(notification_caps)})]
            self.notifyd = self._spawn_user('notifyd', argv)
            self.wait_for_name('org.freedesktop.Notifications', self.notifyd)
        if tray:
            self._start_xfce_panel()

    # ---- set-up ------------------------------------------------------------------------------

    def _write_user_files(self, settings, dark):
        # No animations: a page is final when it is first drawn (screenshots).
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
        # GSettings through the keyfile backend, in this HOME. The desktop's colour scheme
        # is where libadwaita reads it without a settings portal.
        os.makedirs(os.path.dirname(self.settings_path), exist_ok=True)
        with open(self.settings_path, 'w') as f:
            f.write('[dev/firezone/Client]\n')
            for k, v in settings.items():
                f.write(f'{k}={gvariant_text(v)}\n')
            f.write('\n[org/gnome/desktop/interface]\n')
            f.write(f"color-scheme={'prefer-dark' if dark else 'default'!r}\n")
        # The app's icons where a package puts them for the desktop: the tray host (another
        # process) finds the status icons by name there.
        icons = os.path.join(self.bed.source_root, 'gui-gtk4', 'data', 'icons', 'hicolor')
        shutil.copytree(icons, os.path.join(self.data, 'icons', 'hicolor'), dirs_exist_ok=True)

    def _write_panel_files(self):
        d = os.path.join(self.config, 'xfce4', 'xfconf', 'xfce-perchannel-xml')
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, 'xfce4-panel.xml'), 'w') as f:
            f.write(XFCE_PANEL_XML)

    def _compile_locale(self, language):
        """A locale for the GUI without touching the system's: compiled into the bed and
        found through LOCPATH; and the GUI's catalogue from the build tree where the
        package installs it, /usr/share/locale/LANG/LC_MESSAGES — a copy of that directory
        with it added, bound over it in the bed's mount namespace only."""
        locpath = os.path.join(self.root, 'locale')
        os.makedirs(locpath, exist_ok=True)
        name, _, charset = language.partition('.')
        r = subprocess.run(['localedef', '-i', name, '-f', charset or 'UTF-8', os.path.join(locpath, language)],
                           capture_output=True, text=True)
        if r.returncode not in (0, 1):  # 1: compiled, with warnings
            raise fzbed.BedError(f'localedef {language} failed: {r.stderr}')
        lang = name.split('_')[0]
        self.locale_env = {'LOCPATH': locpath, 'LANG': language, 'LANGUAGE': lang, 'LC_ALL': language}
        system = f'/usr/share/locale/{lang}/LC_MESSAGES'
        catalogue = os.path.join(self.root, f'messages-{lang}')
        shutil.copytree(system, catalogue)
        shutil.copy(os.path.join(fzbed.BUILD_ROOT, 'po', lang, 'LC_MESSAGES', 'firezone-gui.mo'), catalogue)
        self._catalogue_mount = (catalogue, system)

    def env(self, **extra):
        e = self.bed.env(
            HOME=self.home, USER=self.user, LOGNAME=self.user, XDG_RUNTIME_DIR=self.runtime,
            XDG_CONFIG_HOME=self.config, XDG_DATA_HOME=self.data, XDG_CACHE_HOME=os.path.join(self.home, '.cache'),
            XDG_DATA_DIRS='/usr/local/share:/usr/share', DISPLAY=self.display,
            DBUS_SESSION_BUS_ADDRESS=self.session_address, GDK_BACKEND='x11', GSK_RENDERER='cairo',
            GTK_A11Y='atspi', GSETTINGS_BACKEND='keyfile',
            GSETTINGS_SCHEMA_DIR=self.bed.build_path('gui-gtk4/data'),
        )
        e.update({k: v for k, v in extra.items() if v is not None})
        return e

    def gui_env(self, **extra):
        e = self.env(G_MESSAGES_DEBUG='firezone-gui',
                     # A GTK or GLib critical in the GUI is a bug: make it crash the test.
                     G_DEBUG='fatal-criticals', **self.locale_env)
        e.update({k: v for k, v in extra.items() if v is not None})
        return e

    def _spawn_user(self, name, argv, env=None, stdin=None, pass_fds=()):
        argv = self.bed.as_user_argv(self.user, argv)
        p = fzbed.Process(name, argv, os.path.join(self.bed.dir, f'{name}.log'), env=env or self.env(), stdin=stdin,
                          pass_fds=pass_fds)
        self.bed.processes.append(p)
        return p

    def _private_tmp(self):
        """A /tmp of this bed's own: X's sockets and lock file, and the accessibility bus
        (at-spi2's bus configuration listens in /tmp), never touch the host's. The bed's
        directory may live in /tmp, and so may the checkout and its build tree (a mktemp -d
        clone, as in CI): each is bound back at its path."""
        roots = []
        for path in (self.bed.dir, fzbed.SOURCE_ROOT, fzbed.BUILD_ROOT):
            path = os.path.realpath(path)
            if path.startswith('/tmp/') and not any(path == r or path.startswith(r + '/') for r in roots):
                roots = [r for r in roots if not r.startswith(path + '/')] + [path]
        keeps = []
        for i, path in enumerate(roots):
            keep = f'/run/fz-bed-keep-{i}'  # /run is the bed's own tmpfs
            os.mkdir(keep)
            sandbox.bind(path, keep)
            keeps.append((keep, path))
        sandbox.mount('tmpfs', '/tmp', 'tmpfs', 0, 'mode=1777')
        for keep, path in keeps:
            os.makedirs(path)
            sandbox.bind(keep, path)

    def _start_xvfb(self):
        # X sockets: the abstract one lives in the bed's network namespace; the file socket
        # and lock file in the bed's private /tmp.
        r, w = os.pipe()
        argv = ['Xvfb', self.display, '-screen', '0', '1024x768x24', '-nolisten', 'tcp', '-displayfd', str(w)]
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

    def _start_accessibility_bus(self):
        """at-spi2-core's launcher: owns org.a11y.Bus on the session bus and starts the
        accessibility bus, where the registry is activated. Applications find it there."""
        self.a11y_launcher = self._spawn_user('at-spi-bus-launcher',
                                              ['/usr/libexec/at-spi-bus-launcher', '--launch-immediately'])
        self.wait_for_name('org.a11y.Bus', self.a11y_launcher)
        # The registry is activated on the accessibility bus by its first client. Have it
        # running before any application registers (the tray host, the GUI): seen with
        # xfce4-panel, an application that races its activation may keep a subtree out of it.
        code = "import gi; gi.require_version('Atspi', '2.0'); from gi.repository import Atspi; " \
               "Atspi.get_desktop(0).get_child_count()"
        r = subprocess.run(self.bed.as_user_argv(self.user, ['/usr/bin/python3', '-c', code]), env=self.env(),
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise fzbed.BedError(f'the accessibility registry did not start: {r.stderr}')

    def _start_xfce_panel(self):
        """Xfce's panel with one plugin, the system tray, which hosts StatusNotifierItems
        (it owns org.kde.StatusNotifierWatcher) and is accessible through GTK 3's AT-SPI
        bridge. Its settings come from xfconfd, started here: the session bus activates
        nothing."""
        self.xfconfd = self._spawn_user('xfconfd', ['/usr/lib/x86_64-linux-gnu/xfce4/xfconf/xfconfd'])
        self.wait_for_name('org.xfce.Xfconf', self.xfconfd)
        self.panel = self._spawn_user('xfce4-panel', ['xfce4-panel', '--disable-wm-check'])
        self.wait_for_name('org.kde.StatusNotifierWatcher', self.panel)

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

    # ---- the accessibility tree --------------------------------------------------------------

    def a11y(self, **order):
        """One order to the assistive-technology client (a11yagent.py), started on first use."""
        if self._a11y is None:
            code = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'a11yagent.py')).read()
            self._a11y = fzbed.Agent(self.bed, self.user, code=code, name='a11y', env=self.env())
            self.bed.agents.append(self._a11y)
        r = self._a11y.request(**order)
        if 'error' in r:
            raise fzbed.BedError(f'a11y {order}: {r["error"]}' +
                                 (f'\n--- GUI log ---\n{self.gui.output()}' if self.gui is not None else ''))
        return r['ok']

    @staticmethod
    def _match(app, showing, match):
        m = {'showing': showing, **match}
        if app is not None:
            m['app'] = app
        return m

    def find(self, app=APP, showing=True, **match):
        """Nodes of the GUI (or of @app) shown on screen that match role=, name=, …"""
        return self.a11y(op='find', match=self._match(app, showing, match))

    def wait_shown(self, timeout=30, app=APP, **match):
        """Wait until a node that matches is on screen; returns the matches."""
        return self.a11y(op='wait', match=self._match(app, True, match), timeout=timeout)

    def wait_gone(self, timeout=30, app=APP, **match):
        self.a11y(op='wait', match=self._match(app, True, match), timeout=timeout, gone=True)

    def wait_status(self, text, timeout=30):
        """The window's status line says @text (read as assistive technology reads it: the
        node with role "status bar")."""
        return self.wait_shown(role='status bar', name=text, timeout=timeout)[0]

    def status(self):
        found = self.find(role='status bar')
        return found[0]['name'] if found else None

    def press(self, name, role='push button', app=APP, timeout=30):
        """Press the control named @name (its first action, "click"), once it is shown and
        sensitive."""
        self.wait_shown(role=role, name=name, states=['sensitive'], app=app, timeout=timeout)
        return self.a11y(op='action', match=self._match(app, True, {'role': role, 'name': name,
                                                                    'states': ['sensitive']}))

    def focused(self, app=APP):
        return self.a11y(op='focused', app=app)

    # ---- the GUI -----------------------------------------------------------------------------

    def gui_argv(self, args=()):
        return [self.bed.build_path(GUI_REL), *args]

    def start_gui(self, args=(), status=None, env=None, stale_groups=False):
        """Start the primary instance; with @status, wait until its window says it.
        stale_groups: run it with only the user's own group, like a login session older
        than a group change."""
        self._gui_count += 1
        name = f'gui-{self._gui_count}'
        if stale_groups:
            argv = ['setpriv', f'--reuid={self.pw.pw_uid}', f'--regid={self.pw.pw_gid}', '--clear-groups', '--',
                    *self.gui_argv(args)]
            p = fzbed.Process(name, argv, os.path.join(self.bed.dir, f'{name}.log'), env=self.gui_env(**(env or {})))
            self.bed.processes.append(p)
            self.gui = p
        else:
            self.gui = self._spawn_user(name, self.gui_argv(args), env=self.gui_env(**(env or {})))
        if status is not None:
            self.wait_status(status)
        return self.gui

    def wait_log(self, text, proc=None, timeout=30):
        proc = proc or self.gui
        self.bed.wait_for_log(proc, text, timeout=timeout)

    def log_mark(self):
        return len(self.gui.output())

    def wait_log_after(self, mark, text, timeout=30):
        self.bed._wait_until(lambda: text in self.gui.output()[mark:], what=f'"{text}" in the GUI log',
                             proc=self.gui, watch_file=self.gui.log_path, timeout=timeout)

    def run_gui(self, args=(), timeout=30, env=None):
        """A second `firezone-gui …`: GApplication hands its arguments to the primary."""
        return subprocess.run(self.bed.as_user_argv(self.user, self.gui_argv(args)), env=self.gui_env(**(env or {})),
                              capture_output=True, text=True, timeout=timeout)

    def activate_action(self, name, param=None):
        """Activate one of the GUI's GActions over org.gtk.Actions (as a desktop shell would)."""
        from gi.repository import GLib
        params = [param] if param is not None else []
        self.call('dev.firezone.Client', '/dev/firezone/Client', 'org.gtk.Actions', 'Activate',
                  GLib.Variant('(sava{sv})', (name, params, {})))

    def wait_in_dir(self, predicate, what, directory, timeout=20):
        """Wait until @predicate holds, re-checking whenever a file in @directory is created,
        replaced or written (inotify: GSettings and GLib write files by renaming a new one
        over the old, which a watch on the file itself would miss)."""
        import ctypes
        import select
        import time
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.inotify_init1(os.O_CLOEXEC | os.O_NONBLOCK)
        # IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE
        libc.inotify_add_watch(fd, directory.encode(), 0x2 | 0x8 | 0x80 | 0x100)
        deadline = time.monotonic() + timeout
        try:
            while not predicate():
                if self.gui is not None and not self.gui.running():
                    raise fzbed.BedError(f'the GUI exited while waiting for {what}:\n{self.gui.output()}')
                left = deadline - time.monotonic()
                if left <= 0:
                    raise fzbed.BedError(f'timed out waiting for {what}')
                r, _, _ = select.select([fd] + ([self.gui.pidfd] if self.gui is not None else []), [], [], left)
                if fd in r:
                    os.read(fd, 4096)
        finally:
            os.close(fd)

    def setting(self, key, type_string):
        """A GUI setting as the keyfile backend stored it, as a Python value, or None."""
        from gi.repository import GLib
        text = self.settings().get(key)
        return GLib.Variant.parse(GLib.VariantType(type_string), text, None, None).unpack() if text else None

    def wait_setting(self, key, type_string, value, timeout=20):
        """Wait until the GUI stored @key = @value in its settings."""
        self.wait_in_dir(lambda: self.setting(key, type_string) == value, f'setting {key}={value!r}',
                         os.path.dirname(self.settings_path), timeout)

    def set_color_scheme(self, dark):
        """What the desktop's appearance settings do: switch org.gnome.desktop.interface
        color-scheme (libadwaita follows it while it runs)."""
        from gi.repository import GLib
        kf = GLib.KeyFile()
        kf.load_from_file(self.settings_path, GLib.KeyFileFlags.KEEP_COMMENTS)
        kf.set_string('org/gnome/desktop/interface', 'color-scheme', "'prefer-dark'" if dark else "'default'")
        tmp = self.settings_path + '.new'
        kf.save_to_file(tmp)
        os.chown(tmp, self.pw.pw_uid, self.pw.pw_gid)
        os.rename(tmp, self.settings_path)

    def settings(self):
        """The GUI's GSettings as the keyfile backend stored them: {key: GVariant text}."""
        out, section = {}, None
        with open(self.settings_path) as f:
            for line in f:
                line = line.strip()
                if line.startswith('['):
                    section = line
                elif '=' in line and section == '[dev/firezone/Client]':
                    k, _, v = line.partition('=')
                    out[k] = v
        return out

    # ---- X: windows, input, the clipboard ----------------------------------------------------

    def _xdisplay(self):
        from Xlib import display
        return display.Display(self.display)

    def _windows(self, d, title):
        from Xlib import X
        found = []

        def walk(w):
            try:
                if w.get_wm_name() == title:
                    found.append((w, w.get_attributes().map_state == X.IsViewable))
                for c in w.query_tree().children:
                    walk(c)
            except Exception:
                pass
        walk(d.screen().root)
        return found

    def window_mapped(self, title='Firezone'):
        d = self._xdisplay()
        try:
            return any(mapped for _w, mapped in self._windows(d, title))
        finally:
            d.close()

    def wait_window_mapped(self, title, timeout=20):
        """Wait (on the X server's MapNotify events) until a window titled @title is viewable."""
        import select
        import time
        from Xlib import X
        d = self._xdisplay()
        try:
            root = d.screen().root
            root.change_attributes(event_mask=X.SubstructureNotifyMask)
            d.sync()
            deadline = time.monotonic() + timeout
            while not any(mapped for _w, mapped in self._windows(d, title)):
                while d.pending_events():
                    d.next_event()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise fzbed.BedError(f'no window titled {title!r} was mapped')
                r, _, _ = select.select([d.fileno()], [], [], left)
                if r:
                    d.next_event()
        finally:
            d.close()

    def close_window(self, title='Firezone'):
        """What a window manager does when the user clicks the close button: send
        WM_DELETE_WINDOW to the window."""
        from Xlib import X, protocol
        d = self._xdisplay()
        try:
            wm_protocols = d.intern_atom('WM_PROTOCOLS')
            wm_delete = d.intern_atom('WM_DELETE_WINDOW')
            found = [w for w, mapped in self._windows(d, title) if mapped]
            if not found:
                raise fzbed.BedError(f'no mapped window titled {title!r}')
            for w in found:
                ev = protocol.event.ClientMessage(window=w, client_type=wm_protocols,
                                                  data=(32, [wm_delete, X.CurrentTime, 0, 0, 0]))
                w.send_event(ev)
            # A round trip, so the server has the messages before the connection closes.
            d.sync()
        finally:
            d.close()

    def click(self, x, y, button=1):
        """Move the pointer to (x, y) and click: real input events through the X server."""
        from Xlib import X
        from Xlib.ext import xtest
        d = self._xdisplay()
        try:
            xtest.fake_input(d, X.MotionNotify, x=int(x), y=int(y))
            xtest.fake_input(d, X.ButtonPress, button)
            xtest.fake_input(d, X.ButtonRelease, button)
            d.sync()
        finally:
            d.close()

    def click_node(self, node, button=1):
        x, y, w, h = node['extents']
        self.click(x + w // 2, y + h // 2, button)

    def keys(self, *names):
        """Press and release keys (X keysym names: 'Tab', 'Return', 'F10', 'Down'; a tuple
        such as ('Control_L', 'q') is a chord)."""
        from Xlib import X, XK
        from Xlib.ext import xtest
        d = self._xdisplay()
        try:
            for k in names:
                chord = k if isinstance(k, tuple) else (k,)
                codes = [d.keysym_to_keycode(XK.string_to_keysym(c)) for c in chord]
                if 0 in codes:
                    raise fzbed.BedError(f'no keycode for {chord}')
                for c in codes:
                    xtest.fake_input(d, X.KeyPress, c)
                for c in reversed(codes):
                    xtest.fake_input(d, X.KeyRelease, c)
            d.sync()
        finally:
            d.close()

    def clipboard_text(self, timeout=10):
        """What a paste would give: the CLIPBOARD selection as UTF-8, asked of its owner
        through the X server (ConvertSelection, then the SelectionNotify event)."""
        import select
        from Xlib import X
        d = self._xdisplay()
        try:
            clipboard = d.intern_atom('CLIPBOARD')
            utf8 = d.intern_atom('UTF8_STRING')
            prop = d.intern_atom('FZ_TEST_PASTE')
            w = d.screen().root.create_window(0, 0, 1, 1, 0, d.screen().root_depth, event_mask=X.PropertyChangeMask)
            w.convert_selection(clipboard, utf8, prop, X.CurrentTime)
            d.flush()
            while True:
                if not d.pending_events():
                    r, _, _ = select.select([d.fileno()], [], [], timeout)
                    if not r:
                        raise fzbed.BedError('no answer from the clipboard owner')
                ev = d.next_event()
                if ev.type == X.SelectionNotify:
                    if ev.property == X.NONE:
                        return None
                    data = w.get_full_property(prop, X.AnyPropertyType)
                    return data.value.decode('utf-8') if data is not None else None
        finally:
            d.close()

    # ---- the tray: the host's side (what a user sees and clicks) ------------------------------

    def tray_button(self, timeout=30):
        """Where the GUI's icon is in the panel: {'extents': [x, y, w, h]} on the screen.

        The system tray runs in a plugin process (wrapper-2.0) whose window is plugged into
        the panel's; its accessibility subtree joins the panel's only when the plugin's
        AT-SPI bridge is ready in time (seen missing under load), so the icon is found on
        the X server instead: the plug window, once the host has made room for an icon in
        it (it is 1 pixel wide while the tray is empty). The menu it opens is read through
        AT-SPI events, which do not depend on that embedding."""
        import select
        import time
        from Xlib import X
        d = self._xdisplay()
        try:
            root = d.screen().root
            deadline = time.monotonic() + timeout
            watched = set()
            while True:
                for w, mapped in self._windows(d, 'wrapper-2.0'):
                    geo = w.get_geometry()
                    parent = w.query_tree().parent
                    if not mapped or parent == root or geo.width <= 1:
                        if w.id not in watched:
                            w.change_attributes(event_mask=X.StructureNotifyMask)
                            watched.add(w.id)
                        continue
                    pos = w.translate_coords(root, 0, 0)
                    return {'extents': [-pos.x, -pos.y, geo.width, geo.height]}
                d.sync()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise fzbed.BedError('no tray icon in the panel')
                # ConfigureNotify/MapNotify of the plug: the host resized it for an icon.
                r, _, _ = select.select([d.fileno()], [], [], left)
                while d.pending_events():
                    d.next_event()
        finally:
            d.close()

    # GTK 3 exposes an item with a submenu as a "menu"; the menu itself is an unnamed one.
    MENU_ITEM = {'roles': ['menu item', 'check menu item', 'menu'], 'named': True}

    def open_tray_menu(self):
        """Right-click the tray icon, then press Down: the host opens the menu it read over
        DBusMenu and puts the focus on its first item. Returns the menu's items as the host
        shows them (records of role "menu item")."""
        button = self.tray_button()
        self.a11y(op='forget_focus')
        self.click_node(button, button=3)
        # The host builds the menu (reading the layout over DBusMenu) and pops it up: keys
        # typed before it holds the keyboard would be lost.
        self.a11y(op='wait_event', type='object:state-changed:showing', detail1=1, role='menu item', timeout=20)
        self.keys('Down')
        return self.a11y(op='wait_focus', match=self.MENU_ITEM, timeout=20)['siblings']

    def _move_in_tray_menu(self, label):
        seen = []
        for _ in range(40):
            try:
                focused = self.a11y(op='wait_focus', match=self.MENU_ITEM, timeout=10)['focused']
            except fzbed.BedError as e:
                raise fzbed.BedError(f'the tray menu stopped moving after {seen}: {e}')
            if focused['name'] == label:
                return
            seen.append(focused['name'])
            self.a11y(op='forget_focus')
            self.keys('Down')
        raise fzbed.BedError(f'no item {label!r} in the tray menu (went through {seen})')

    def choose_in_tray_menu(self, label):
        """With the tray menu open: move down to @label with the keyboard, press Return."""
        self._move_in_tray_menu(label)
        self.keys('Return')

    def choose_in_tray_menu_path(self, labels):
        """With the tray menu open: down to each label of @labels in turn, Right into its
        submenu, Return on the last."""
        for label in labels[:-1]:
            self._move_in_tray_menu(label)
            self.a11y(op='forget_focus')
            self.keys('Right')
        self.choose_in_tray_menu(labels[-1])

    # ---- the tray: the D-Bus side (what the GUI serves) -----------------------------------------

    def tray_service(self):
        """The bus name the GUI registered with the StatusNotifierWatcher."""
        from gi.repository import GLib
        items = self.call('org.kde.StatusNotifierWatcher', '/StatusNotifierWatcher', 'org.freedesktop.DBus.Properties',
                          'Get', GLib.Variant('(ss)', ('org.kde.StatusNotifierWatcher',
                                                       'RegisteredStatusNotifierItems')))[0]
        if not items:
            raise fzbed.BedError('no StatusNotifierItem registered')
        # xfce4-panel lists "SERVICE/PATH" or "SERVICE".
        return items[-1].split('/')[0]

    def tray_property(self, name):
        from gi.repository import GLib
        return self.call(self.tray_service(), '/StatusNotifierItem', 'org.freedesktop.DBus.Properties', 'Get',
                         GLib.Variant('(ss)', ('org.kde.StatusNotifierItem', name)))[0]

    def tray_menu(self):
        """The DBusMenu as nested (id, label, enabled, children, properties) tuples."""
        from gi.repository import GLib
        rev, layout = self.call(self.tray_service(), '/MenuBar', 'com.canonical.dbusmenu', 'GetLayout',
                                GLib.Variant('(iias)', (0, -1, [])))

        def conv(node):
            item_id, props, children = node
            if props.get('type') == 'separator':
                return (item_id, '---', False, [], props)
            return (item_id, props.get('label', ''), props.get('enabled', True), [conv(c) for c in children], props)
        return conv(layout)[3]

    def tray_labels(self, items=None):
        items = self.tray_menu() if items is None else items
        out = []
        for _id, label, _en, children, _props in items:
            out.append(label)
            out += self.tray_labels(children)
        return out

    def tray_item(self, label, items=None):
        for item in self.tray_menu() if items is None else items:
            if item[1] == label:
                return item
            found = self.tray_item(label, item[3])
            if found is not None:
                return found
        return None

    def wait_tray_labels(self, want, absent=(), timeout=20):
        """Wait (on the menu's LayoutUpdated signal) until the menu has every label of @want
        and none of @absent."""
        from gi.repository import Gio, GLib
        conn = self.connection()
        loop = GLib.MainLoop()
        timed_out = []

        def ok():
            labels = self.tray_labels()
            return all(w in labels for w in want) and not any(a in labels for a in absent)

        sub = conn.signal_subscribe(None, 'com.canonical.dbusmenu', None, '/MenuBar', None, Gio.DBusSignalFlags.NONE,
                                    lambda *a: loop.quit())
        timer = GLib.timeout_add(int(timeout * 1000), lambda: timed_out.append(1) or loop.quit() or False)
        try:
            while not ok():
                if timed_out:
                    raise fzbed.BedError(f'tray menu never had {want} without {absent}: {self.tray_labels()}')
                loop.run()
        finally:
            conn.signal_unsubscribe(sub)
            if not timed_out:
                GLib.source_remove(timer)
        return self.tray_labels()

    def tray_item_click(self, item):
        """The host's "clicked" event for @item (from tray_menu()), sent over DBusMenu."""
        from gi.repository import GLib
        if item is None:
            raise fzbed.BedError(f'no such tray menu item: {self.tray_labels()}')
        self.call(self.tray_service(), '/MenuBar', 'com.canonical.dbusmenu', 'Event',
                  GLib.Variant('(isvu)', (item[0], 'clicked', GLib.Variant('i', 0), 0)))

    def tray_click(self, label):
        """Click the (first) item labelled @label."""
        self.tray_item_click(self.tray_item(label))

    # ---- the browser and the desktop's URI handling -------------------------------------------

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
        return subprocess.run(self.bed.as_user_argv(self.user, ['gio', 'open', uri]), env=self.gui_env(),
                              capture_output=True, text=True, timeout=30)

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
        """(summary, body) of every Notify call the mock saw, as the GUI sent them."""
        out = []
        try:
            with open(self.notify_log, encoding='utf-8', errors='replace') as f:
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

    def _window_id(self, title):
        """The X id of the mapped window @title (GTK also names its 1×1 leader window)."""
        d = self._xdisplay()
        try:
            for w, mapped in self._windows(d, title):
                if mapped and w.get_geometry().width > 1:
                    return w.id
            raise fzbed.BedError(f'no mapped window {title!r}')
        finally:
            d.close()

    def _grab(self, window=None):
        env = dict(self.bed.env(), DISPLAY=self.display)
        target = ['-id', str(self._window_id(window))] if window is not None else ['-root']
        return subprocess.run(['xwd', *target, '-silent'], env=env, check=True, timeout=30,
                              capture_output=True).stdout

    def screenshot(self, name, directory=SCREENSHOT_DIR, crop=None, window=None):
        """Save the screen as DIRECTORY/NAME.png once it is still (three grabs in a row the
        same), and return (path, deviation): a blank or black screen has none. Call it
        after the state to show was read from the accessibility tree (which a toolkit
        updates before it paints). @window: grab that window alone, once it is mapped (a new
        one is in the tree before it is on screen; and without a window manager, nothing
        keeps a dialog above its parent). @crop: (w, h, x, y)."""
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, f'{name}.png')
        if window is not None:
            self.wait_window_mapped(window)
        previous, same = None, 0
        for _ in range(200):
            raw = self._grab(window)
            digest = hashlib.sha256(raw).digest()
            same = same + 1 if digest == previous else 0
            if same == 2:
                break
            previous = digest
        else:
            raise fzbed.BedError('the screen never came to rest')
        argv = ['/usr/bin/convert', 'xwd:-']
        if crop is not None:
            argv += ['-crop', '%dx%d+%d+%d' % crop, '+repage']
        subprocess.run(argv + [path], input=raw, check=True, timeout=30, capture_output=True)
        r = subprocess.run(['/usr/bin/convert', path, '-colorspace', 'Gray', '-format', '%[fx:standard_deviation]',
                            'info:'], capture_output=True, text=True, check=True, timeout=30)
        return path, float(r.stdout.strip())

    def window_geometry(self, title='Firezone'):
        """(w, h, x, y) of the mapped window @title on the screen (for a crop)."""
        d = self._xdisplay()
        try:
            for w, mapped in self._windows(d, title):
                geo = w.get_geometry()
                if mapped and geo.width > 1:
                    pos = w.translate_coords(d.screen().root, 0, 0)
                    return (geo.width, geo.height, -pos.x, -pos.y)
            raise fzbed.BedError(f'no mapped window {title!r}')
        finally:
            d.close()

    def wait_window_brightness(self, dark, title='Firezone', timeout=20):
        """Wait until the window @title is drawn dark (mean grey < 0.35) or light (> 0.65):
        grab it until it is — what the eye sees is the event."""
        import time
        deadline = time.monotonic() + timeout
        while True:
            raw = self._grab(title)
            r = subprocess.run(['/usr/bin/convert', 'xwd:-', '-colorspace', 'Gray', '-format', '%[fx:mean]', 'info:'],
                               input=raw, capture_output=True, check=True, timeout=30)
            mean = float(r.stdout.decode().strip())
            if (mean < 0.35) if dark else (mean > 0.65):
                return mean
            if time.monotonic() > deadline:
                raise fzbed.BedError(f'the window stayed {"light" if dark else "dark"} (mean grey {mean:.2f})')

    def mean_brightness(self, path):
        r = subprocess.run(['/usr/bin/convert', path, '-colorspace', 'Gray', '-format', '%[fx:mean]', 'info:'],
                           capture_output=True, text=True, check=True, timeout=30)
        return float(r.stdout.strip())
