# SPDX-License-Identifier: Apache-2.0
"""The integration test bed: real dbus-daemon with the project's policy file, real polkitd
with the project's actions and rules, the daemon from the build tree, and clients that run
as root, fz-member (in group firezone) and fz-outsider.

Each test runs in its own mount + network namespace (see sandbox.py and runner.py); the
bed never writes outside its temp dir and the namespace's private /etc, /var and /run.
Readiness is always an event (a name appearing on the bus, a process exiting), never a
sleep: see wait_for_name().
"""

import json
import os
import pwd
import grp
import signal
import subprocess
import sys
import time
import unittest
import xml.etree.ElementTree as ET

import sandbox

BUS_NAME = 'dev.firezone.Client1'
BUS_PATH = '/dev/firezone/Client1'
BUS_IFACE = 'dev.firezone.Client1'
POLKIT_NAME = 'org.freedesktop.PolicyKit1'
SYSTEM_BUS_SOCKET = '/run/dbus/system_bus_socket'
SYSTEM_BUS_ADDRESS = 'unix:path=' + SYSTEM_BUS_SOCKET

USERS = {
    # name: supplementary groups
    'fz-member': ['firezone'],
    'fz-outsider': [],
}

SOURCE_ROOT = os.environ.get('FZ_SOURCE_ROOT') or os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
BUILD_ROOT = os.environ.get('FZ_BUILD_ROOT') or os.path.join(SOURCE_ROOT, 'build')
DAEMON = os.path.join(BUILD_ROOT, 'daemon', 'firezone-client-tunnel')
AGENT_CODE = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'agent.py')).read()

# Set by runner.py once the namespace is entered.
BED = None


class BedError(Exception):
    pass


def _pidfd_wait(pidfd, timeout):
    import select
    r, _, _ = select.select([pidfd], [], [], timeout)
    return bool(r)


class Process:
    """A child of the harness with its output in a log file. With pipes=True its stdin and
    stdout are pipes (a tool that takes orders) and only stderr goes to the log."""

    def __init__(self, name, argv, log_path, env=None, stdin=None, pass_fds=(), pipes=False):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.log = open(log_path, 'ab', buffering=0)
        if pipes:
            stdin, stdout, stderr = subprocess.PIPE, subprocess.PIPE, self.log
        else:
            stdin = stdin if stdin is not None else subprocess.DEVNULL
            stdout, stderr = self.log, subprocess.STDOUT
        self.proc = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=stderr, env=env, pass_fds=pass_fds,
                                     start_new_session=True)
        self.pid = self.proc.pid
        self.pidfd = os.pidfd_open(self.pid)

    def running(self):
        return self.proc.poll() is None

    def wait_exit(self, timeout=10):
        """Wait for the process to exit on its own; returns the exit code."""
        return self.proc.wait(timeout=timeout)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait()
        os.close(self.pidfd) if self.pidfd >= 0 else None
        self.pidfd = -1
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close() if f else None
            except (OSError, ValueError):
                pass
        self.log.close()
        return self.proc.returncode

    def output(self):
        with open(self.log_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')


class Agent:
    """A long-lived D-Bus client running as a given user (see agent.py)."""

    def __init__(self, bed, user, code=AGENT_CODE, name='agent', env=None):
        self.user = user
        self.name = name
        self.stderr_path = os.path.join(bed.dir, f'{name}-{user}-{len(bed.agents)}.log')
        argv = bed.as_user_argv(user, ['/usr/bin/python3', '-c', code])
        e = bed.client_env(user)
        e.update(env or {})
        self.stderr = open(self.stderr_path, 'wb')
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
                                     env=e, text=True, bufsize=1)

    def request(self, **order):
        self.send(**order)
        return self.receive()

    def send(self, **order):
        self.proc.stdin.write(json.dumps(order) + '\n')
        self.proc.stdin.flush()

    def receive(self):
        line = self.proc.stdout.readline()
        if not line:
            with open(self.stderr_path) as f:
                raise BedError(f'{self.name} for {self.user} died: {f.read()}')
        return json.loads(line)

    def call(self, method, args=None, sig='()', iface=BUS_IFACE, path=BUS_PATH, dest=BUS_NAME,
             interactive=False, timeout_ms=25000):
        return self.request(op='call', dest=dest, path=path, iface=iface, method=method, args=args, sig=sig,
                            interactive=interactive, timeout_ms=timeout_ms)

    def get_property(self, name, iface=BUS_IFACE):
        r = self.call('Get', f"('{iface}', '{name}')", '(ss)', iface='org.freedesktop.DBus.Properties')
        if 'ok' in r:
            r['ok'] = r['ok'][0]
        return r

    def ping(self, dest=BUS_NAME):
        return self.call('Ping', iface='org.freedesktop.DBus.Peer', dest=dest)

    def subscribe(self, member=None, iface=BUS_IFACE, sender=BUS_NAME, path=BUS_PATH):
        return self.request(op='subscribe', sender=sender, iface=iface, member=member, path=path)

    def start_call(self, method, args=None, sig='()', **kw):
        return self.request(op='start_call', method=method, args=args, sig=sig, **kw)['ok']

    def finish_call(self, cid):
        return self.request(op='finish_call', id=cid)

    def become_monitor(self, rules):
        return self.request(op='become_monitor', rules=rules)

    def monitored(self, member=None, count=0, timeout_ms=10000):
        """Captured method calls, once at least `count` calls of `member` have been seen."""
        return self.request(op='monitored', member=member, count=count, timeout_ms=timeout_ms)

    def wait_signal(self, member, timeout_ms=10000, match=None):
        return self.request(op='wait_signal', member=member, timeout_ms=timeout_ms, match=match or {})

    def signals(self):
        return self.request(op='signals')['ok']

    def call_many(self, calls, timeout_ms=25000):
        """Issue several calls at once on this connection; returns their replies in order."""
        return self.request(op='call_many', calls=calls, timeout_ms=timeout_ms)['ok']

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.stderr.close()


class NotifySocket:
    """A NOTIFY_SOCKET like systemd's: the daemon's sd_notify() messages (READY=1, STATUS=…)
    are the readiness event for runs without D-Bus."""

    def __init__(self, path):
        import socket
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.messages = []

    def wait_for(self, text, proc=None, timeout=20):
        import select
        deadline = time.monotonic() + timeout
        while not any(text in m for m in self.messages):
            fds = [self.sock] + ([proc.pidfd] if proc is not None and proc.pidfd >= 0 else [])
            left = deadline - time.monotonic()
            if left <= 0:
                raise BedError(f'timed out waiting for {text!r} from sd_notify; got {self.messages}')
            r, _, _ = select.select(fds, [], [], left)
            if self.sock in r:
                self.messages.append(self.sock.recv(4096).decode())
            elif r:
                raise BedError(f'{proc.name} exited before sending {text!r}:\n{proc.output()}')
        return self.messages

    def close(self):
        self.sock.close()


class MockControl:
    """Calls on a python3-dbusmock object's org.freedesktop.DBus.Mock interface."""

    def __init__(self, agent, dest, path):
        self.agent, self.dest, self.path = agent, dest, path

    def __call__(self, method, args=None, sig='()'):
        r = self.agent.call(method, args, sig, iface='org.freedesktop.DBus.Mock', path=self.path, dest=self.dest)
        if 'ok' not in r:
            raise BedError(f'mock call {method} failed: {r}')
        return r['ok']


class Bed:
    def __init__(self, workdir):
        self.dir = workdir
        self.processes = []
        self.agents = []
        self.bus = None
        self.polkitd = None
        self.daemon = None
        self._conn = None
        self._daemon_count = 0
        self.closers = []

    # ---- set-up --------------------------------------------------------------------------

    def setup(self):
        os.chmod(self.dir, 0o755)  # test users (and polkitd) must traverse it
        self._expose_trees()
        self._add_users()
        self._start_bus()
        self._start_polkitd()

    def _expose_trees(self):
        """Bind the build and source trees under the world-traversable bed dir, so that
        test users can run build-tree programs even if the checkout lives under a 0700
        directory (as a mktemp -d clone does)."""
        self.build_root = os.path.join(self.dir, 'build')
        self.source_root = os.path.join(self.dir, 'src')
        for src, dst in ((BUILD_ROOT, self.build_root), (SOURCE_ROOT, self.source_root)):
            os.mkdir(dst)
            if os.path.isdir(src):
                sandbox.bind(src, dst)

    def _add_users(self):
        # /etc is the namespace's overlay copy: these land in the bed's upper layer only.
        subprocess.run(['groupadd', '--system', 'firezone'], check=True)
        for user, groups in USERS.items():
            argv = ['useradd', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin',
                    '--user-group']
            if groups:
                argv += ['--groups', ','.join(groups)]
            subprocess.run(argv + [user], check=True)

    def _bus_config(self):
        """Stock system.conf minus what cannot work here (user switch, fork, pid file,
        syslog, activation helper, stock include dirs), plus one include dir that holds
        the project's own policy file and polkit's stock one."""
        tree = ET.parse('/usr/share/dbus-1/system.conf')
        root = tree.getroot()
        drop = {'user', 'fork', 'pidfile', 'syslog', 'servicehelper', 'standard_system_servicedirs',
                'includedir', 'include', 'listen'}
        for el in list(root):
            if el.tag in drop:
                root.remove(el)
        listen = ET.SubElement(root, 'listen')
        listen.text = SYSTEM_BUS_ADDRESS
        self.bus_policy_dir = os.path.join(self.dir, 'system.d')
        os.mkdir(self.bus_policy_dir)
        for path in (os.path.join(SOURCE_ROOT, 'dbus', 'dev.firezone.Client1.conf'),
                     '/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf'):
            os.symlink(path, os.path.join(self.bus_policy_dir, os.path.basename(path)))
        inc = ET.SubElement(root, 'includedir')
        inc.text = self.bus_policy_dir
        path = os.path.join(self.dir, 'bus.conf')
        with open(path, 'w') as f:
            f.write('<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"\n'
                    ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n')
            f.write(ET.tostring(root, encoding='unicode'))
        return path

    def add_bus_policy(self, path):
        """Add another stock policy file (e.g. resolve1's). Once the bus runs, it reloads
        its configuration before this returns (ReloadConfig answers after the reload), so
        users the file names must exist first."""
        os.symlink(path, os.path.join(self.bus_policy_dir, os.path.basename(path)))
        if self.bus is not None:
            from gi.repository import Gio
            self.connection().call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus',
                                        'ReloadConfig', None, None, Gio.DBusCallFlags.NONE, 10000, None)

    def _start_bus(self):
        os.makedirs(os.path.dirname(SYSTEM_BUS_SOCKET), exist_ok=True)
        conf = self._bus_config()
        r, w = os.pipe()
        self.bus = self._spawn('dbus-daemon', ['dbus-daemon', f'--config-file={conf}', '--nofork', '--nopidfile',
                                               '--print-address=%d' % w], pass_fds=(w,))
        os.close(w)
        # The address is printed once the socket listens: that is the readiness event.
        with os.fdopen(r) as f:
            address = f.readline().strip()
        if not address:
            raise BedError('dbus-daemon did not start:\n' + self.bus.output())
        os.environ['DBUS_SYSTEM_BUS_ADDRESS'] = SYSTEM_BUS_ADDRESS

    def _start_polkitd(self):
        pk = os.path.join(self.dir, 'polkit')
        self.polkit_actions = os.path.join(pk, 'actions')
        self.polkit_rules = os.path.join(pk, 'rules.d')
        self.polkit_etc_rules = os.path.join(pk, 'etc-rules.d')
        for d in (pk, self.polkit_actions, self.polkit_rules, self.polkit_etc_rules):
            os.mkdir(d, 0o755)
        # The project's own files, bind-mounted (not copied) so a test always checks what ships.
        for name, dst in (('dev.firezone.client1.policy', self.polkit_actions),
                          ('50-dev.firezone.client1.rules', self.polkit_rules)):
            target = os.path.join(dst, name)
            open(target, 'w').close()
            sandbox.bind(os.path.join(SOURCE_ROOT, 'polkit', name), target)
        os.makedirs('/etc/polkit-1/rules.d', exist_ok=True)
        for src, dst in ((self.polkit_actions, '/usr/share/polkit-1/actions'),
                         (self.polkit_rules, '/usr/share/polkit-1/rules.d'),
                         (self.polkit_etc_rules, '/etc/polkit-1/rules.d')):
            sandbox.bind(src, dst)
        self.start_polkitd()

    def start_polkitd(self):
        self.polkitd = self._spawn('polkitd', ['/usr/lib/polkit-1/polkitd', '--no-debug'], env=self.env())
        self.wait_for_name(POLKIT_NAME, self.polkitd)

    def stop_polkitd(self):
        if self.polkitd:
            self.polkitd.stop()
            self.wait_for_name_gone(POLKIT_NAME)
            self.polkitd = None

    def start_mock_polkitd(self):
        """Replace the real polkitd by python3-dbusmock's polkitd template (a mock, used only
        for fault injection the real one cannot do: hanging and delayed answers). It runs as
        user polkitd, which the stock bus policy lets own org.freedesktop.PolicyKit1."""
        self.stop_polkitd()
        argv = self.as_user_argv('polkitd', ['/usr/bin/python3', '-m', 'dbusmock', '--system', '-t', 'polkitd'])
        self.polkitd = self._spawn('polkitd-mock', argv)
        self.wait_for_name(POLKIT_NAME, self.polkitd)
        return MockControl(self.agent('root'), POLKIT_NAME, '/org/freedesktop/PolicyKit1/Authority')

    def add_polkit_rule(self, name, js):
        """Drop a fleet admin's rule into /etc/polkit-1/rules.d and wait until polkitd has
        reloaded (it announces that with the Authority's Changed signal)."""
        def write():
            path = os.path.join(self.polkit_etc_rules, name)
            with open(path + '.tmp', 'w') as f:
                f.write(js)
            os.chmod(path + '.tmp', 0o644)
            os.rename(path + '.tmp', path)
        self.wait_for_signal(write, POLKIT_NAME, 'org.freedesktop.PolicyKit1.Authority', 'Changed',
                             proc=self.polkitd)

    def wait_for_signal(self, action, sender, iface, member, proc=None, timeout=20):
        """Subscribe, run action(), then wait for the signal."""
        from gi.repository import Gio, GLib
        conn = self.connection()
        loop = GLib.MainLoop()
        got = []

        def on_signal(*args):
            got.append(args)
            loop.quit()

        sub = conn.signal_subscribe(sender, iface, member, None, None, Gio.DBusSignalFlags.NONE, on_signal)
        # Make sure the match rule is in place before the action.
        conn.call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'GetId', None, None,
                       Gio.DBusCallFlags.NONE, 5000, None)
        timer = GLib.timeout_add(int(timeout * 1000), lambda: loop.quit() or False)
        try:
            action()
            if not got:
                loop.run()
        finally:
            conn.signal_unsubscribe(sub)
            if not got:
                GLib.source_remove(timer) if GLib.MainContext.default().find_source_by_id(timer) else None
        if not got:
            raise BedError(f'timed out waiting for {member} from {sender}' + (f':\n{proc.output()}' if proc else ''))
        GLib.source_remove(timer)
        return got[0]

    # ---- the daemon ------------------------------------------------------------------------

    def env(self, **extra):
        env = {
            'PATH': '/usr/sbin:/usr/bin:/sbin:/bin',
            'DBUS_SYSTEM_BUS_ADDRESS': SYSTEM_BUS_ADDRESS,
            'LANG': 'C.UTF-8',
        }
        for k in ('ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS'):
            if k in os.environ:
                env[k] = os.environ[k]
        env.update({k: v for k, v in extra.items() if v is not None})
        return env

    def daemon_argv(self, args, debug=True):
        argv = [DAEMON, *(['--log-level=debug'] if debug else []), *args]
        wrapper = os.environ.get('FZ_DAEMON_WRAPPER')  # e.g. "valgrind --error-exitcode=99 ..."
        if wrapper:
            argv = wrapper.split() + argv
        return argv

    def daemon_env(self, env):
        """The daemon talks to a portal: unless a test chooses one (FIREZONE_API_URL, e.g. the
        local portal in portalbed.py), it gets a loopback port that accepts connections but
        never answers, so tests about the bus API see no portal events (no DNS, no retries)."""
        env = dict(env or {})
        try:
            with open('/etc/dev.firezone.client/config') as f:  # the bed's /etc copy
                configured = any(line.strip().startswith('api-url') for line in f)
        except OSError:
            configured = False
        if 'FIREZONE_API_URL' not in env and not configured:
            if getattr(self, '_quiet_portal', None) is None:
                import socket
                self._quiet_portal = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                self._quiet_portal.bind(('127.0.0.1', 0))
                self._quiet_portal.listen(1024)
                self.closers.append(self._quiet_portal.close)
            env['FIREZONE_API_URL'] = f'ws://127.0.0.1:{self._quiet_portal.getsockname()[1]}/'
        return self.env(**env)

    def start_daemon(self, args=(), env=None, wait=True, debug=True):
        self._daemon_count += 1
        proc = self._spawn(f'daemon-{self._daemon_count}', self.daemon_argv(args, debug), env=self.daemon_env(env))
        self.daemon = proc
        if wait:
            self.wait_for_name(BUS_NAME, proc)
        return proc

    def notify_socket(self):
        n = NotifySocket(os.path.join(self.dir, f'notify-{self._daemon_count}-{len(self.processes)}'))
        self.closers.append(n.close)
        return n

    def stop_daemon(self, sig=signal.SIGTERM):
        rc = None
        if self.daemon:
            rc = self.daemon.stop(sig)
            if self._conn:
                self.wait_for_name_gone(BUS_NAME)
        return rc

    def run_daemon_to_exit(self, args=(), env=None, timeout=10):
        """Run the daemon expecting it to exit by itself; returns (exit code, output)."""
        self._daemon_count += 1
        proc = self._spawn(f'daemon-{self._daemon_count}', self.daemon_argv(args), env=self.daemon_env(env))
        rc = proc.wait_exit(timeout)
        return rc, proc.output()

    # ---- clients ---------------------------------------------------------------------------

    def client_env(self, user):
        home = '/root' if user == 'root' else '/nonexistent'
        return self.env(HOME=home, USER=user, LOGNAME=user)

    def as_user_argv(self, user, argv):
        if user == 'root':
            return list(argv)
        pw = pwd.getpwnam(user)
        return ['setpriv', f'--reuid={pw.pw_uid}', f'--regid={pw.pw_gid}', '--init-groups', '--', *argv]

    TOKEN_PATH = '/etc/dev.firezone.client/token'

    def write_token_file(self, content, mode=0o600, owner='root', path=None):
        """Write a service-account token file as an admin would (in the bed's /etc copy)."""
        path = path or self.TOKEN_PATH
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        if os.path.lexists(path):
            os.unlink(path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, content.encode() if isinstance(content, str) else content)
        os.close(fd)
        os.chown(path, pwd.getpwnam(owner).pw_uid, -1)
        os.chmod(path, mode)
        return path

    def daemon_pid(self):
        return self.daemon.pid if self.daemon else None

    def build_path(self, rel):
        """A build-tree file as test users can reach it (see _expose_trees)."""
        return os.path.join(self.build_root, rel)

    def agent(self, user):
        a = Agent(self, user)
        self.agents.append(a)
        return a

    def run_as(self, user, argv, input=None, timeout=30, env=None):
        e = self.client_env(user)
        e.update(env or {})
        return subprocess.run(self.as_user_argv(user, argv), input=input, capture_output=True, text=True,
                              timeout=timeout, env=e)

    def uid(self, user):
        return pwd.getpwnam(user).pw_uid

    def gid(self, group):
        return grp.getgrnam(group).gr_gid

    # ---- waiting on real events ------------------------------------------------------------

    def connection(self):
        if self._conn is None:
            from gi.repository import Gio
            self._conn = Gio.DBusConnection.new_for_address_sync(
                SYSTEM_BUS_ADDRESS,
                Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
                None, None)
        return self._conn

    def name_owner(self, name):
        from gi.repository import Gio, GLib
        try:
            r = self.connection().call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus',
                                            'GetNameOwner', GLib.Variant('(s)', (name,)), None,
                                            Gio.DBusCallFlags.NONE, 5000, None)
            return r.unpack()[0]
        except GLib.Error:
            return None

    def _wait_bus(self, name, want_owner, proc, timeout):
        """Block until `name` has (or lost) an owner, `proc` exits, or timeout (a failure).
        Event-driven: NameOwnerChanged from the bus and the process's pidfd."""
        from gi.repository import Gio, GLib
        conn = self.connection()
        loop = GLib.MainLoop()
        state = {'done': False, 'why': None}

        def finish(why):
            state['why'] = why
            loop.quit()

        def on_owner(c, sender, path, iface, member, params):
            _, _, new = params.unpack()
            if bool(new) == want_owner:
                finish('name')

        sub = conn.signal_subscribe('org.freedesktop.DBus', 'org.freedesktop.DBus', 'NameOwnerChanged',
                                    '/org/freedesktop/DBus', name, Gio.DBusSignalFlags.NONE, on_owner)
        sources = [GLib.timeout_add(int(timeout * 1000), lambda: finish('timeout') or False)]
        if proc is not None and proc.pidfd >= 0:
            sources.append(GLib.unix_fd_add_full(GLib.PRIORITY_DEFAULT, proc.pidfd, GLib.IOCondition.IN,
                                                 lambda *a: finish('exited') or False))
        try:
            # Checked after subscribing, so an owner change in between cannot be missed.
            if (self.name_owner(name) is not None) == want_owner:
                return
            loop.run()
        finally:
            conn.signal_unsubscribe(sub)
            for s in sources:
                GLib.source_remove(s) if GLib.MainContext.default().find_source_by_id(s) else None
        if state['why'] == 'name':
            return
        what = f'{name} to {"appear" if want_owner else "disappear"} on the bus'
        if state['why'] == 'exited':
            raise BedError(f'{proc.name} exited (code {proc.proc.wait()}) while waiting for {what}:\n{proc.output()}')
        raise BedError(f'timed out waiting for {what}' + (f':\n{proc.output()}' if proc else ''))

    def wait_for_name(self, name, proc=None, timeout=20):
        self._wait_bus(name, True, proc, timeout)

    def wait_for_name_gone(self, name, timeout=20):
        self._wait_bus(name, False, None, timeout)

    def _wait_until(self, predicate, what, proc=None, watch_file=None, timeout=20):
        """Wait for a condition that is announced by a file growing (a log line) - inotify,
        not polling."""
        import select
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.inotify_init1(os.O_CLOEXEC | os.O_NONBLOCK)
        IN_MODIFY = 0x2
        libc.inotify_add_watch(fd, watch_file.encode(), IN_MODIFY)
        deadline = time.monotonic() + timeout
        try:
            while not predicate():
                if proc is not None and not proc.running():
                    raise BedError(f'{proc.name} exited while waiting for {what}:\n{proc.output()}')
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BedError(f'timed out waiting for {what}')
                # The process's pidfd too: an exit is an event, not a timeout.
                fds = [fd] + ([proc.pidfd] if proc is not None and proc.pidfd >= 0 else [])
                r, _, _ = select.select(fds, [], [], left)
                if fd in r:
                    os.read(fd, 4096)
        finally:
            os.close(fd)

    def wait_for_log(self, proc, text, timeout=20):
        self._wait_until(lambda: text in proc.output(), what=f'"{text}" in the log of {proc.name}', proc=proc,
                         watch_file=proc.log_path, timeout=timeout)

    # ---- tear-down -------------------------------------------------------------------------

    def _spawn(self, name, argv, env=None, pass_fds=()):
        p = Process(name, argv, os.path.join(self.dir, f'{name}.log'), env=env or self.env(), pass_fds=pass_fds)
        self.processes.append(p)
        return p

    def logs(self):
        out = []
        for p in self.processes:
            out.append(f'----- {p.name} ({" ".join(p.argv[:3])}{" ..." if len(p.argv) > 3 else ""}) -----\n'
                       f'{p.output()}')
        return '\n'.join(out)

    def teardown(self):
        for a in self.agents:
            a.close()
        for c in self.closers:
            c()
        if self._conn is not None:
            self._conn.close_sync(None)
            self._conn = None
        # Daemon first, so it can still talk to the bus while it cleans up.
        for p in reversed(self.processes):
            if p.proc.poll() is None or p.pidfd >= 0:
                p.stop()


class BedTestCase(unittest.TestCase):
    """Base for integration tests: self.bed is ready with bus and polkitd; the daemon is
    started by setUp unless START_DAEMON is False. The daemon's log (and every other
    helper's) is printed when a test fails."""

    START_DAEMON = True
    DAEMON_ARGS = ()
    DAEMON_ENV = None

    def setUp(self):
        self.bed = BED
        # Every token a test uses goes here; no log of the bed may ever contain one.
        self.secrets = []
        self.addCleanup(self.assertNoSecretsLogged)
        if self.START_DAEMON:
            self.bed.start_daemon(self.DAEMON_ARGS, env=self.DAEMON_ENV)

    def secret(self, token):
        self.secrets.append(token)
        return token

    def assertNoSecretsLogged(self):
        logs = self.bed.logs()
        for token in self.secrets:
            self.assertNotIn(token, logs, 'a token appeared in a log')

    def run(self, result=None):
        result = result if result is not None else self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        super().run(result)
        if len(result.failures) + len(result.errors) > before and BED is not None:
            sys.stderr.write('\n===== logs of the bed =====\n' + BED.logs() + '\n')
        return result

    # Helpers shared by many tests.
    def assertDBusError(self, reply, name):
        self.assertIn('error', reply, f'expected {name}, got success: {reply}')
        self.assertEqual(reply['error'], name, reply.get('message'))

    def assertOk(self, reply):
        self.assertIn('ok', reply, f'call failed: {reply}')
        return reply['ok']
