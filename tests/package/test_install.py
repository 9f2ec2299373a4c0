# SPDX-License-Identifier: Apache-2.0
"""The built .debs, installed into a fresh Debian 12 root with apt, then removed and
purged (pkgtest.py runs one class per meson test, in its own overlay root).

Both scenarios first install the dependencies apt resolves for our packages, take a
snapshot of the root (the reference), then install our packages, so that what install,
remove and purge leave behind is exactly the difference to that reference.

  NoSystemd    systemd is not running (no /run/systemd/system): the service is enabled
               but nothing tries to start it. The installing user comes from SUDO_USER.
               No Recommends. The admin writes the token after installation.
  WithSystemd  /run/systemd/system exists and systemctl is a stub that logs its calls:
               postinst starts the unit (after enabling it), prerm stops it. The
               installing user comes from PKEXEC_UID. Recommends are installed. The
               token directory and token were provisioned before installation.
"""

import glob
import os
import re
import shutil
import stat
import unittest

import debroot

ROOT = None    # debroot.Root, mounted (set by pkgtest.py)
DEBDIR = None  # where tools/build-debs put the packages
SOURCE_ROOT = os.environ.get('FZ_SOURCE_ROOT', os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

UNIT = 'firezone-client.service'
ENABLE_LINKS = {
    '/etc/systemd/system/multi-user.target.wants/firezone-client.service',
    '/etc/systemd/system/dbus-dev.firezone.Client1.service',   # Alias=, for bus activation
}
# deb-systemd-helper's memory of what it enabled, removed on purge.
DSH_STATE = {
    '/var/lib/systemd/deb-systemd-helper-enabled/firezone-client.service.dsh-also',
    '/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/firezone-client.service',
    '/var/lib/systemd/deb-systemd-helper-enabled/dbus-dev.firezone.Client1.service',
}
CONFDIR = '/etc/dev.firezone.client'
TOKEN = CONFDIR + '/token'
STATEDIR = '/var/lib/dev.firezone.client'
RESOLV_BACKUP = STATEDIR + '/resolv.conf.backup'
GROUP = 'firezone'
# The group outlives the package (Debian does not delete system groups: files may
# still belong to them); its lines in these files are checked on their own.
GROUP_FILES = {'/etc/group', '/etc/gshadow', '/etc/group-', '/etc/gshadow-'}
# Caches that other packages' triggers rebuild when ours add or remove files: after a
# removal they must be back to their old bytes (their mtimes are new, of course).
TRIGGER_CACHES = (
    '/usr/share/glib-2.0/schemas/gschemas.compiled',
    '/usr/share/icons/hicolor/icon-theme.cache',
    '/usr/share/applications/mimeinfo.cache',
    # journalctl --update-catalog (systemd's trigger on /usr/lib/systemd/catalog, where our
    # catalog goes)
    '/var/lib/systemd/catalog/database',
)

# DESIGN §5: what firezone-client-tunnel must ship, with modes.
DAEMON_FILES = {
    '/usr/bin/firezone-client-tunnel': 0o755,
    '/usr/lib/systemd/system/firezone-client.service': 0o644,
    '/usr/share/dbus-1/system.d/dev.firezone.Client1.conf': 0o644,
    '/usr/share/dbus-1/system-services/dev.firezone.Client1.service': 0o644,
    '/usr/share/dbus-1/interfaces/dev.firezone.Client1.xml': 0o644,
    '/usr/share/polkit-1/actions/dev.firezone.client1.policy': 0o644,
    '/usr/share/polkit-1/rules.d/50-dev.firezone.client1.rules': 0o644,
    '/usr/lib/sysusers.d/firezone.conf': 0o644,
    '/usr/share/man/man8/firezone-client-tunnel.8.gz': 0o644,
    '/usr/lib/NetworkManager/conf.d/90-firezone.conf': 0o644,
    '/usr/lib/systemd/catalog/firezone-client.catalog': 0o644,
}
CLIENT_FILES = {
    '/usr/bin/firezonectl': 0o755,
    '/usr/share/man/man1/firezonectl.1.gz': 0o644,
    '/usr/share/bash-completion/completions/firezonectl': 0o644,
    '/usr/lib/x86_64-linux-gnu/libfirezone-client-1.so.0': None,   # symlink
    '/usr/lib/x86_64-linux-gnu/libfirezone-client-1.so.0.2.0': 0o644,
    '/usr/lib/x86_64-linux-gnu/libfirezone-client-1.so': None,
    '/usr/lib/x86_64-linux-gnu/pkgconfig/firezone-client-1.pc': 0o644,
    '/usr/include/firezone-client-1/firezone-client.h': 0o644,
    '/usr/lib/x86_64-linux-gnu/girepository-1.0/FirezoneClient-1.typelib': 0o644,
    '/usr/share/gir-1.0/FirezoneClient-1.gir': 0o644,
}
GUI_FILES = {
    '/usr/bin/firezone-gui': 0o755,
    '/usr/share/applications/dev.firezone.Client.desktop': 0o644,
    '/usr/share/metainfo/dev.firezone.Client.metainfo.xml': 0o644,
    '/usr/share/glib-2.0/schemas/dev.firezone.Client.gschema.xml': 0o644,
    '/usr/share/man/man1/firezone-gui.1.gz': 0o644,
    '/usr/share/locale/de/LC_MESSAGES/firezone-gui.mo': 0o644,
}

# apt runs dpkg with PATH=/usr/sbin:/usr/bin:/sbin:/bin (DPkg::Path); the real one is
# /usr/bin/systemctl.
STUB_SYSTEMCTL_PATH = '/usr/sbin/systemctl'
STUB_SYSTEMCTL = '''#!/bin/sh
# Test stand-in for systemctl, as if systemd were running: logs every call, answers
# those that need a running manager (start, stop, daemon-reload, is-active, ...) as
# systemd would for an inactive unit, and hands the unit-file ones (preset, enable,
# is-enabled, ...) to the real systemctl, which does them on the files offline.
printf '%s\\n' "$*" >> /run/fz-systemctl.log
verb=
for arg; do
        case "$arg" in
        -*) ;;
        *) verb=$arg; break ;;
        esac
done
case "$verb" in
is-active) exit 3 ;;
start | stop | restart | try-restart | reload | reload-or-restart | try-reload-or-restart | \\
        daemon-reload | daemon-reexec | reset-failed | kill) exit 0 ;;
esac
exec /usr/bin/systemctl "$@"
'''
# Only our unit may be started or stopped (through deb-systemd-invoke / invoke-rc.d):
# no dependency's daemon ever runs in the test root.
POLICY_RC_D = '''#!/bin/sh
case "$1" in
firezone-client.service) exit 0 ;;
*) exit 101 ;;
esac
'''


def meson_version():
    with open(os.path.join(SOURCE_ROOT, 'meson.build')) as f:
        return re.search(r"(?m)^\s*version:\s*'([^']+)'", f.read()).group(1)


def resolv_conf_marker():
    """The first line of the resolv.conf the daemon writes, from its source."""
    with open(os.path.join(SOURCE_ROOT, 'daemon/dns/dns-resolvconf-parse.h')) as f:
        return re.search(r'#define FZD_RESOLV_CONF_MARKER "([^"]+)"', f.read()).group(1)


NOGUI = 'pkg.firezone-linux-client.nogui'


def expected_packages():
    """All packages, but the GUI if tools/build-debs was asked for the nogui profile."""
    with open(os.path.join(DEBDIR, 'build-profiles')) as f:
        profiles = set(filter(None, f.read().strip().split(',')))
    pkgs = {'firezone-client-tunnel', 'firezonectl', 'libfirezone-client-1-0', 'libfirezone-client-dev',
            'gir1.2-firezoneclient-1'}
    if NOGUI not in profiles:
        pkgs.add('firezone-gui')
    return pkgs


def built_debs():
    """{package: path} of the built .debs, debug symbols left out."""
    debs = {}
    for path in glob.glob(os.path.join(DEBDIR, '*.deb')):
        name = os.path.basename(path).split('_')[0]
        if not name.endswith('-dbgsym'):
            debs[name] = path
    return debs


class _Scenario(unittest.TestCase):
    recommends = False
    env = {}
    extra_packages = []   # installed with the dependencies, for checks

    # --- helpers -------------------------------------------------------------------
    def run_in_root(self, *argv, **kw):
        return ROOT.run(*argv, **kw)

    def apt(self, *args, env=None):
        flags = [] if self.recommends else ['--no-install-recommends']
        return ROOT.run('apt-get', '-y', '-o', 'Dpkg::Use-Pty=0', *flags, *args, env=env)

    def stat(self, path):
        return os.lstat(ROOT.host(path))

    def exists(self, path):
        return os.path.lexists(ROOT.host(path))

    def assertMode(self, path, mode, uid=0, gid=0):
        st = self.stat(path)
        self.assertEqual((stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid), (mode, uid, gid),
                         f'{path}: mode/uid/gid {stat.S_IMODE(st.st_mode):o} {st.st_uid} {st.st_gid}, '
                         f'expected {mode:o} {uid} {gid}')

    def groups_of(self, user):
        return self.run_in_root('id', '-nG', '--', user, quiet=True).stdout.split()

    def group_line(self):
        r = self.run_in_root('getent', 'group', GROUP, check=False, quiet=True)
        return r.stdout.strip() if r.returncode == 0 else None

    def package_state(self, pkg):
        r = self.run_in_root('dpkg-query', '-W', '-f', '${db:Status-Status}', pkg, check=False, quiet=True)
        return r.stdout.strip() if r.returncode == 0 else 'not-installed'

    def systemctl_log(self):
        try:
            with open(ROOT.host('/run/fz-systemctl.log')) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def unit_calls(self, *verbs):
        """Logged systemctl calls that act on our unit with one of verbs."""
        return [c for c in self.systemctl_log()
                if UNIT in c.split() and any(v in c.split() for v in verbs)]

    def leftovers(self, reference):
        added, removed, changed = debroot.diff(reference, ROOT.snapshot(by_content=TRIGGER_CACHES))
        return (added | removed | changed) - GROUP_FILES

    # --- steps ---------------------------------------------------------------------
    def prepare(self):
        """Scenario-specific set-up before anything is installed."""

    def step_dependencies(self):
        """Resolve our packages' dependencies with apt and install them alone."""
        self.debs = built_debs()
        self.assertEqual(set(self.debs), expected_packages(),
                         'tools/build-debs did not make the packages this tree should give')
        self.deb_args = [f'/debs/{os.path.basename(p)}' for p in sorted(self.debs.values())]
        os.makedirs(ROOT.host('/debs'))
        for p in self.debs.values():
            with open(p, 'rb') as src, open(ROOT.host('/debs/' + os.path.basename(p)), 'wb') as dst:
                dst.write(src.read())
        self.apt('update')
        sim = self.apt('install', '-s', *self.deb_args)
        planned = set(re.findall(r'^Inst (\S+)', sim.stdout, re.M))
        self.assertEqual(planned & set(self.debs), set(self.debs))
        self.deps = sorted(planned - set(self.debs))
        self.check_planned_dependencies(set(self.deps))
        if self.deps or self.extra_packages:
            self.apt('install', *self.deps, *self.extra_packages)
        # Everything below is compared with this.
        self.reference = ROOT.snapshot(by_content=TRIGGER_CACHES)

    def check_planned_dependencies(self, deps):
        # The sysusers snippet needs systemd-sysusers; the unit's ExecReload needs kill.
        self.assertIn('systemd', deps)
        self.assertIn('procps', deps)

    def step_install(self):
        r = self.apt('install', *self.deb_args, env=self.env)
        self.install_output = r.stdout
        installed = {p.split(':')[0] for p in re.findall(r'^Setting up (\S+) ', r.stdout, re.M)}
        self.assertEqual(installed, set(self.debs), 'apt installed more than our packages: '
                         'the dependency step missed some')

    def check_files(self):
        listed = {}
        for pkg in sorted(self.debs):
            conffiles = self.run_in_root('dpkg-query', '-W', '-f', '${Conffiles}', pkg, quiet=True).stdout
            self.assertEqual(conffiles.strip(), '', f'{pkg} ships conffiles: adjust the remove checks')
            paths = self.run_in_root('dpkg-query', '-L', pkg, quiet=True).stdout.split('\n')
            for path in filter(None, (p.strip() for p in paths)):
                listed[path] = pkg
                st = self.stat(path)   # raises if missing
                if stat.S_ISLNK(st.st_mode):
                    continue
                if stat.S_ISDIR(st.st_mode) and path in self.reference:
                    continue   # shared with packages installed before (e.g. polkitd's rules.d)
                self.assertEqual((st.st_uid, st.st_gid), (0, 0), f'{path} of {pkg} is not root:root')
                if stat.S_ISDIR(st.st_mode):
                    want = 0o755
                elif path.startswith('/usr/bin/'):
                    want = 0o755
                else:
                    want = 0o644
                self.assertEqual(stat.S_IMODE(st.st_mode), want, f'{path} of {pkg}: mode {st.st_mode:o}')
        wanted = dict(DAEMON_FILES)
        if 'firezonectl' in self.debs:
            wanted.update(CLIENT_FILES)
        if 'firezone-gui' in self.debs:
            wanted.update(GUI_FILES)
        for path, mode in wanted.items():
            self.assertIn(path, listed, f'{path} is in no package')
            if mode is not None:
                self.assertMode(path, mode)
        print(f'ok: {len(listed)} paths of {len(self.debs)} packages present, root-owned, with the '
              f'expected modes; all {len(wanted)} files the test names (DESIGN §5 and more) among them')

    def check_programs_run(self):
        """Each program starts in the fresh root (its libraries resolve) and is this
        version; the library's pkg-config file and typelib load."""
        version = meson_version()
        programs = ['firezone-client-tunnel', 'firezonectl', 'firezone-gui']
        for prog in (p for p in programs if p in self.debs or p == 'firezone-client-tunnel'):
            # The GUI refuses to run as root.
            as_user = ['runuser', '-u', self.user, '--'] if prog == 'firezone-gui' else []
            r = self.run_in_root(*as_user, prog, '--version', check=False)
            self.assertEqual(r.returncode, 0, f'{prog} --version failed')
            self.assertIn(version, r.stdout)
        checked = 'the programs start and report ' + version
        if 'libfirezone-client-dev' in self.debs:
            r = self.run_in_root('pkg-config', '--print-errors', '--modversion', 'firezone-client-1')
            self.assertEqual(r.stdout.strip(), version)
            checked += '; pkg-config finds firezone-client-1'
        if 'gir1.2-firezoneclient-1' in self.debs and self.exists('/usr/lib/python3/dist-packages/gi'):
            self.run_in_root('python3', '-c', "import gi; gi.require_version('FirezoneClient', '1'); "
                             "from gi.repository import FirezoneClient; print(FirezoneClient.Client)")
            checked += '; the typelib loads (python3-gi)'
        print('ok:', checked)

    def check_group_and_user(self, user):
        line = self.group_line()
        self.assertIsNotNone(line, f'group {GROUP} was not created')
        gid = int(line.split(':')[2])
        self.assertLess(gid, 1000, f'{GROUP} is not a system group: {line}')
        self.assertIn(GROUP, self.groups_of(user), f'{user} was not added to {GROUP}')
        self.assertIn(f"added user '{user}' to the group '{GROUP}'", self.install_output)
        self.assertIn('next login', self.install_output)
        print(f'ok: group {line!r}; {user} added, and told that it takes a new login')

    def check_enabled(self):
        for link in ENABLE_LINKS:
            self.assertTrue(self.exists(link), f'{link} missing: the unit was not enabled')
            target = os.readlink(ROOT.host(link))
            self.assertIn(target, ('/lib/systemd/system/' + UNIT, '/usr/lib/systemd/system/' + UNIT))
        print('ok: unit enabled (multi-user.target.wants and the D-Bus activation alias)')

    def check_unit_verifies(self):
        r = self.run_in_root('systemd-analyze', 'verify', '/usr/lib/systemd/system/' + UNIT, check=False)
        self.assertEqual(r.returncode, 0, 'systemd-analyze verify rejected the unit')
        self.assertEqual(r.stdout.strip(), '', 'systemd-analyze verify had complaints')
        print('ok: systemd-analyze verify accepts the unit (ExecStart, ExecReload, man page found)')

    def check_confdir(self):
        self.assertTrue(stat.S_ISDIR(self.stat(CONFDIR).st_mode))
        self.assertMode(CONFDIR, 0o700)
        print(f'ok: {CONFDIR} root:root 0700')

    def nm_config(self, admin_snippet=None):
        """NetworkManager's merged configuration as {section: text}, optionally with an
        admin's snippet in /etc/NetworkManager/conf.d."""
        admin = '/etc/NetworkManager/conf.d/50-admin.conf'
        if admin_snippet:
            ROOT.write(admin, admin_snippet)
        try:
            # Its internal state file goes to /run, outside the before/after comparison.
            out = self.run_in_root('NetworkManager', '--print-config',
                                   '--intern-config=/run/fz-nm-intern.conf').stdout
        finally:
            if admin_snippet:
                os.unlink(ROOT.host(admin))
        sections = {}
        for block in re.split(r'(?m)^(?=\[)', out):
            m = re.match(r'\[([^\]]+)\]\n', block)
            if m:
                sections[m.group(1)] = block[m.end():]
        return sections

    def unmanaged_devices(self, config):
        m = re.search(r'(?m)^unmanaged-devices=(.*)$', config.get('keyfile', ''))
        return re.split(r'[;,]', m.group(1)) if m else []

    def check_networkmanager_snippet(self):
        """NetworkManager itself reads the snippet: tun-firezone is in the strict
        unmanaged list, also next to an admin's "+=", and the device section that keeps
        it unmanaged survives an admin's plain "unmanaged-devices=" too."""
        ours = 'interface-name:tun-firezone'
        device = re.compile(r'(?m)^match-device=interface-name:tun-firezone\n(?:.*\n)*?managed=(false|0)$')
        config = self.nm_config()
        self.assertIn(ours, self.unmanaged_devices(config))
        self.assertRegex(config.get('device-firezone', ''), device)
        config = self.nm_config('[keyfile]\nunmanaged-devices+=interface-name:veth*\n')
        self.assertEqual(sorted(self.unmanaged_devices(config)), sorted([ours, 'interface-name:veth*']))
        config = self.nm_config('[keyfile]\nunmanaged-devices=interface-name:veth*\n')
        self.assertNotIn(ours, self.unmanaged_devices(config))   # as the snippet says
        self.assertRegex(config.get('device-firezone', ''), device)
        print('ok: NetworkManager --print-config: tun-firezone in keyfile.unmanaged-devices (also with '
              'an admin\'s "+="), and [device-firezone] managed=0 (also with an admin\'s plain "=")')

    def step_daemon_ran(self):
        """What a run of the daemon and an admin leave: state, and (here) a token."""
        ROOT.write(STATEDIR + '/device-id', 'not a real id\n', 0o600)
        os.chmod(ROOT.host(STATEDIR), 0o700)

    def step_remove(self):
        r = self.run_in_root('apt-get', '-y', '-o', 'Dpkg::Use-Pty=0', 'remove', *sorted(self.debs))
        self.remove_output = r.stdout
        states = {pkg: self.package_state(pkg) for pkg in sorted(self.debs)}
        for pkg, state in states.items():
            self.assertIn(state, ('config-files', 'not-installed'), f'{pkg}: {state}')
        allowed = ENABLE_LINKS | DSH_STATE | {CONFDIR, TOKEN, STATEDIR, STATEDIR + '/device-id', RESOLV_BACKUP}
        left = self.leftovers(self.reference)
        self.assertLessEqual(left, allowed, f'left behind after remove: {sorted(left - allowed)}')
        for path in (TOKEN, STATEDIR + '/device-id'):
            self.assertTrue(self.exists(path), f'remove deleted {path}')
        self.assertIsNotNone(self.group_line())
        print(f'ok: removed ({states}); left only the admin\'s token, the daemon\'s state and the '
              f'unit\'s enablement (kept until purge): {sorted(left)}')

    def step_purge(self):
        # Packages without maintainer scripts are gone for good after remove; apt no longer
        # knows them (they came from files, not from a repository).
        left = [pkg for pkg in sorted(self.debs) if self.package_state(pkg) == 'config-files']
        self.assertIn('firezone-client-tunnel', left)
        self.run_in_root('apt-get', '-y', '-o', 'Dpkg::Use-Pty=0', 'purge', *left)
        for pkg in sorted(self.debs):
            self.assertEqual(self.package_state(pkg), 'not-installed', f'{pkg} still known to dpkg')
        self.assertFalse(self.exists(STATEDIR), f'purge left {STATEDIR}')
        self.assertTrue(self.exists(TOKEN), f'purge deleted {TOKEN}')
        left = self.leftovers(self.reference)
        self.assertLessEqual(left, {CONFDIR, TOKEN}, f'left behind after purge: {sorted(left - {CONFDIR, TOKEN})}')
        print(f'ok: purge removed {STATEDIR} and the enablement; the token stays; '
              f'left: {sorted(left) or "nothing"}')


class NoSystemd(_Scenario):
    user = 'some.user'

    @property
    def extra_packages(self):
        # To load the typelib with.
        return ['python3-gi'] if 'gir1.2-firezoneclient-1' in built_debs() else []

    def prepare(self):
        self.run_in_root('useradd', '--create-home', self.user)
        ROOT.write(STUB_SYSTEMCTL_PATH, STUB_SYSTEMCTL, 0o755)
        ROOT.write('/usr/sbin/policy-rc.d', POLICY_RC_D, 0o755)
        self.assertFalse(self.exists('/run/systemd/system'))
        self.env = {'SUDO_USER': self.user, 'SUDO_UID': self.uid_of(self.user)}

    def uid_of(self, user):
        return self.run_in_root('id', '-u', '--', user, quiet=True).stdout.strip()

    def test_install_remove_purge(self):
        self.prepare()
        self.step_dependencies()
        self.step_install()

        self.check_files()
        self.check_programs_run()
        self.check_confdir()
        self.check_group_and_user(self.user)
        self.check_enabled()
        self.assertEqual(self.unit_calls('start', 'restart', 'stop', 'reload'), [],
                         'the unit was acted on although systemd is not running')
        print('ok: systemd not running: nothing tried to start the unit')
        self.check_unit_verifies()

        # Upgrades (here: a reinstall, configure with the old version) never re-add a
        # user the admin took out of the group.
        self.run_in_root('gpasswd', '--delete', self.user, GROUP)
        r = self.apt('install', '--reinstall', *self.deb_args, env=self.env)
        self.assertNotIn(GROUP, self.groups_of(self.user))
        self.assertNotIn('added user', r.stdout)
        print('ok: a reinstall did not re-add the user the admin removed')

        # The admin provisions a token after installation; the daemon has run, and was
        # killed while /etc/resolv.conf pointed at its resolvers.
        ROOT.write(TOKEN, 'fake-token\n', 0o600)
        self.step_daemon_ran()
        with open(ROOT.host('/etc/resolv.conf')) as f:
            original = f.read()
        shutil.copy2(ROOT.host('/etc/resolv.conf'), ROOT.host(RESOLV_BACKUP))
        ROOT.write('/etc/resolv.conf', f'{resolv_conf_marker()}\nnameserver 100.100.111.1\n')
        self.step_remove()
        with open(ROOT.host('/etc/resolv.conf')) as f:
            self.assertEqual(f.read(), original, 'remove did not put /etc/resolv.conf back')
        self.assertFalse(self.exists(RESOLV_BACKUP))
        self.assertIn('restored /etc/resolv.conf', self.remove_output)
        print('ok: remove restored the /etc/resolv.conf a killed daemon had left')
        self.step_purge()


class WithSystemd(_Scenario):
    user = 'pk.user'
    recommends = True
    extra_packages = ['network-manager']

    def prepare(self):
        self.run_in_root('useradd', '--create-home', self.user)
        uid = self.run_in_root('id', '-u', '--', self.user, quiet=True).stdout.strip()
        ROOT.write(STUB_SYSTEMCTL_PATH, STUB_SYSTEMCTL, 0o755)
        ROOT.write('/usr/sbin/policy-rc.d', POLICY_RC_D, 0o755)
        os.makedirs(ROOT.host('/run/systemd/system'))
        # Provisioned (e.g. by MDM) before the package: kept as it is, and kept on purge.
        os.makedirs(ROOT.host(CONFDIR), mode=0o700)
        os.chmod(ROOT.host(CONFDIR), 0o700)
        ROOT.write(TOKEN, 'fake-token\n', 0o600)
        self.env = {'PKEXEC_UID': uid}

    def check_planned_dependencies(self, deps):
        super().check_planned_dependencies(deps)
        for pkg in ('dbus', 'polkitd', 'systemd-resolved'):
            self.assertIn(pkg, deps, f'{pkg} is not pulled in by Recommends')

    def test_install_remove_purge(self):
        self.prepare()
        self.step_dependencies()
        calls_before = len(self.systemctl_log())
        self.step_install()

        self.check_files()
        self.check_programs_run()
        self.check_confdir()
        self.check_group_and_user(self.user)
        self.check_enabled()
        calls = self.systemctl_log()[calls_before:]
        self.assertIn('--system daemon-reload', calls)
        starts = [c for c in calls if c.split()[-1:] == [UNIT] and 'start' in c.split()]
        self.assertEqual(len(starts), 1, f'expected one start of {UNIT}; systemctl calls: {calls}')
        enabled_check = [c for c in calls if 'is-enabled' in c.split() and UNIT in c.split()]
        self.assertTrue(enabled_check and calls.index(enabled_check[0]) < calls.index(starts[0]))
        print(f'ok: systemd running: daemon-reload, then {starts[0]!r} once the unit was enabled')
        self.check_unit_verifies()
        self.check_networkmanager_snippet()
        self.assertTrue(self.exists(TOKEN))
        with open(ROOT.host(TOKEN)) as f:
            self.assertEqual(f.read(), 'fake-token\n')

        calls_before = len(self.systemctl_log())
        self.step_daemon_ran()
        # A backup the daemon left, but resolv.conf is another program's now
        # (systemd-resolved's symlink): it stays as it is.
        resolv_before = os.readlink(ROOT.host('/etc/resolv.conf'))
        ROOT.write(RESOLV_BACKUP, 'nameserver 192.0.2.1\n', 0o644)
        self.step_remove()
        self.assertEqual(os.readlink(ROOT.host('/etc/resolv.conf')), resolv_before)
        self.assertNotIn('restored /etc/resolv.conf', self.remove_output)
        print(f'ok: remove left resolved\'s /etc/resolv.conf -> {resolv_before} alone')
        stops = [c for c in self.systemctl_log()[calls_before:] if c.split()[-1:] == [UNIT] and 'stop' in c.split()]
        self.assertEqual(len(stops), 1, f'prerm did not stop {UNIT}: {self.systemctl_log()[calls_before:]}')
        print(f'ok: remove stopped the unit: {stops[0]!r}')
        self.step_purge()
        self.assertMode(CONFDIR, 0o700)
        self.assertMode(TOKEN, 0o600)
