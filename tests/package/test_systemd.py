# SPDX-License-Identifier: Apache-2.0
"""The built .debs under a real systemd: the shipped unit, run as shipped.

A fresh overlay root gets the dependencies from the network (chroot apt, before the
network goes private), then boots with `systemd-nspawn -b` on a network namespace of the
test that holds the local portal (tests/portal/portal.py, reached as ws://portal.test) and
dnsmasq as the upstream resolver that names it. Inside, apt installs our packages, which
starts firezone-client.service for real, sandbox and all; a member of "firezone" signs in
with firezonectl (the real polkitd decides), and everything a user or admin does next
happens through systemctl, apt, firezonectl and journalctl, as on a machine.

  ResolvedMode    systemd-resolved runs and /etc/resolv.conf is its stub symlink
  ResolvConfMode  no resolved; /etc/resolv.conf is a plain file; also the service-account
                  token from the token file and from systemd credentials

pkgtest.py runs one class per meson test, in its own mount + PID namespace.
"""

import json
import os
import re
import stat
import subprocess
import time
import unittest

import nspawn
from nspawn import log

ROOT = None    # debroot.Root, mounted (set by pkgtest.py)
DEBDIR = None
SOURCE_ROOT = os.environ.get('FZ_SOURCE_ROOT', os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

UNIT = 'firezone-client.service'
BUS_NAME = 'dev.firezone.Client1'
TABLE = '7946'
TUN = 'tun-firezone'
CONFDIR = '/etc/dev.firezone.client'
TOKEN_PATH = CONFDIR + '/token'
STATEDIR = '/var/lib/dev.firezone.client'
RESOLV_BACKUP = STATEDIR + '/resolv.conf.backup'
MEMBER = 'alice'
OUTSIDER = 'mallory'
TOKEN = 'pkgtest-interactive-token-6d1f0c2a'
SA_TOKEN = 'pkgtest-service-account-token-9b7e44d1'
PORTAL_NAME = 'portal.test'
# daemon/message-ids.h
MESSAGE_IDS = dict((name.lower().replace('_', '-'), value) for name, value in re.findall(
    r'#define FZD_MESSAGE_(\w+)\s+"([0-9a-f]{32})"',
    open(os.path.join(SOURCE_ROOT, 'daemon', 'message-ids.h')).read()))
ORIGINAL_RESOLV_CONF = f'# written by the package test\nnameserver {nspawn.TestNet.UPSTREAM}\noptions edns0\n'
OUR_PACKAGES = ('firezone-client-tunnel', 'firezonectl', 'libfirezone-client-1-0')
BASE_RANGES = {'100.64.0.0/11', '100.96.0.0/11', '100.100.111.0/24', 'fd00:2021:1111::/107',
               'fd00:2021:1111:8000::/107', 'fd00:2021:1111:8000:100:100:111:0/120'}


def account():
    """The demo account without its Internet resource (its default route would send the
    netns' own traffic into a tunnel that has no gateway here), with dnsmasq upstream."""
    with open(os.path.join(SOURCE_ROOT, 'tests', 'portal', 'demo-account.json')) as f:
        acc = json.load(f)
    acc['resources'] = [r for r in acc['resources'] if r['type'] != 'internet']
    acc['interface']['upstream_do53'] = [{'ip': nspawn.TestNet.UPSTREAM}]
    acc['interface']['upstream_dns'] = [{'protocol': 'ip_port', 'address': f'{nspawn.TestNet.UPSTREAM}:53'}]
    acc['token'] = TOKEN
    return acc


def built_debs():
    debs = {}
    for name in os.listdir(DEBDIR):
        if name.endswith('.deb') and not name.split('_')[0].endswith('-dbgsym'):
            debs[name.split('_')[0]] = os.path.join(DEBDIR, name)
    return debs


class _Booted(unittest.TestCase):
    """One container per class: set up in setUpClass, each test method a chapter that
    leaves the system as the next one expects it (they run in name order)."""

    RESOLVED = False
    maxDiff = None

    # ---- set-up ------------------------------------------------------------------
    @classmethod
    def setUpClass(cls):
        start = time.monotonic()
        cls.workdir = os.path.join(ROOT.workdir, 'nspawn')
        os.makedirs(cls.workdir)
        cls.net = nspawn.TestNet(cls.workdir)
        cls.container = None
        try:
            cls.prepare_root()
            cls.net.start_dnsmasq({PORTAL_NAME: '127.0.0.1'})
            cls.portal = nspawn.LocalPortal(cls.net, account(), TOKEN)
            cls.write_config()
            cls.container = nspawn.Container(ROOT.path, cls.net, cls.workdir)
            cls.container.boot()
            cls.install()
        except BaseException:
            cls.tearDownClass()
            raise
        log(f'set-up: {time.monotonic() - start:.1f} s')

    @classmethod
    def tearDownClass(cls):
        if cls.container is not None:
            if cls.container.leader:
                log('----- journal of firezone-client.service -----')
                log(cls.container.unit_log()[-8000:])
            cls.container.poweroff()
            cls.container = None
        cls.net.close()

    @classmethod
    def prepare_root(cls):
        """Dependencies from the network into the overlay root (chroot, host network),
        users, the DNS set-up of the scenario; then the chroot's mounts go."""
        debs = built_debs()
        cls.deb_paths = nspawn.copy_debs(ROOT, [debs[p] for p in OUR_PACKAGES])
        # Nothing may start during the chroot installation (no systemd runs yet).
        ROOT.write('/usr/sbin/policy-rc.d', '#!/bin/sh\nexit 101\n', 0o755)
        ROOT.run('apt-get', 'update', quiet=True)
        extra = nspawn.BOOT_PACKAGES + (['systemd-resolved'] if cls.RESOLVED else [])
        sim = ROOT.run('apt-get', '-s', 'install', '--no-install-recommends', *extra, *cls.deb_paths, quiet=True)
        planned = set(re.findall(r'^Inst (\S+)', sim.stdout, re.M)) - set(OUR_PACKAGES)
        start = time.monotonic()
        ROOT.run('apt-get', '-y', '-q', '-o', 'Dpkg::Use-Pty=0', 'install', '--no-install-recommends',
                 *sorted(planned), quiet=True)
        log(f'root: {len(planned)} dependencies installed in {time.monotonic() - start:.1f} s')
        os.unlink(ROOT.host('/usr/sbin/policy-rc.d'))
        # As netbase (not in minbase) would have it; the portal is ws://localhost.
        ROOT.write('/etc/hosts', '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n')
        for user in (MEMBER, OUTSIDER):
            ROOT.run('useradd', '--create-home', '--shell', '/bin/bash', user)
        if cls.RESOLVED:
            ROOT.write('/etc/systemd/resolved.conf.d/50-pkgtest.conf',
                       f'[Resolve]\nDNS={nspawn.TestNet.UPSTREAM}\nLLMNR=no\nMulticastDNS=no\nDNSSEC=no\n')
            if os.path.lexists(ROOT.host('/etc/resolv.conf')):
                os.unlink(ROOT.host('/etc/resolv.conf'))
            os.symlink('../run/systemd/resolve/stub-resolv.conf', ROOT.host('/etc/resolv.conf'))
        else:
            ROOT.write('/etc/resolv.conf', ORIGINAL_RESOLV_CONF)
        ROOT.unmount_helpers()

    @classmethod
    def write_config(cls):
        """What an admin provisions before installing: the portal to use."""
        os.makedirs(ROOT.host(CONFDIR), mode=0o700, exist_ok=True)
        os.chmod(ROOT.host(CONFDIR), 0o700)
        # ws:// is allowed only to this machine; the name localhost is (nss-files).
        ROOT.write(CONFDIR + '/config', f'api-url = ws://localhost:{cls.portal.ws_port}/\n', 0o644)

    @classmethod
    def install(cls):
        """apt inside the booted system: postinst starts the unit for real. SUDO_USER makes
        the member the installing user, whom postinst adds to the group."""
        start = time.monotonic()
        cls.container.run('apt-get', '-y', '-q', '-o', 'Dpkg::Use-Pty=0', 'install', '--no-install-recommends',
                          *cls.deb_paths, env={'SUDO_USER': MEMBER})
        log(f'install: {time.monotonic() - start:.1f} s')

    # ---- helpers -----------------------------------------------------------------
    def run_in(self, *argv, **kw):
        return self.container.run(*argv, **kw)

    def ctl(self, *args, user=MEMBER, check=True, input=None):
        return self.run_in('firezonectl', *args, user=user, check=check, input=input)

    def status(self, user=MEMBER):
        return json.loads(self.ctl('status', '--json', user=user).stdout)

    def sign_in(self, token=TOKEN, user=MEMBER):
        r = self.ctl('sign-in', '--wait', '--timeout=60', '--account-slug=acme', '--actor-name=Alice',
                     user=user, input=token + '\n', check=False)
        self.assertEqual(r.returncode, 0, f'sign-in failed: {r.stdout}{r.stderr}\n{self.container.unit_log()}')
        st = self.status()
        self.assertEqual(st['state'], 'connected', st)
        return st

    def wait_state(self, want, timeout=60):
        """Until the service reports state `want`: firezonectl monitor's lines, as they come."""
        import select
        p = subprocess.Popen(self.container.argv('firezonectl', 'monitor', '--json', user=MEMBER),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        seen, buf = [], b''
        try:
            deadline = time.monotonic() + timeout
            while True:
                while b'\n' in buf:
                    line, buf = buf.split(b'\n', 1)
                    event = json.loads(line)
                    seen.append(event.get('state'))
                    if event.get('state') == want:
                        return event
                left = deadline - time.monotonic()
                r, _, _ = select.select([p.stdout], [], [], max(left, 0))
                chunk = os.read(p.stdout.fileno(), 65536) if r else b''
                if not chunk:
                    self.fail(f'no state {want!r} within {timeout} s (saw {seen}):\n{self.container.unit_log()}')
                buf += chunk
        finally:
            self.container.stop_command(p)

    def write_drop_in(self, text):
        ROOT.write('/etc/systemd/system/firezone-client.service.d/50-pkgtest.conf', text)
        self.run_in('systemctl', 'daemon-reload')

    def unit_property(self, name):
        return self.run_in('systemctl', 'show', '-P', name, UNIT, quiet=True).stdout.strip()

    def restart(self, verb='restart'):
        # Type=notify: systemctl returns once the new daemon said READY=1.
        self.run_in('systemctl', verb, UNIT)
        if verb != 'stop':
            self.assertEqual(self.unit_property('ActiveState'), 'active')

    def table_routes(self):
        out = set()
        for fam in ('-4', '-6'):
            for r in self.net.ip_json(fam, 'route', 'show', 'table', TABLE):
                dst = r['dst']
                if dst == 'default':
                    dst = '0.0.0.0/0' if fam == '-4' else '::/0'
                elif '/' not in dst:
                    dst += '/32' if fam == '-4' else '/128'
                out.add(dst)
        return out

    def our_rules(self):
        return [r for fam in ('-4', '-6') for r in self.net.ip_json(fam, 'rule', 'show')
                if str(r.get('table')) == TABLE]

    def tun_exists(self):
        return any(link['ifname'] == TUN for link in self.net.ip_json('link', 'show'))

    def expected_routes(self):
        return BASE_RANGES | {r['address'] for r in account()['resources'] if r['type'] == 'cidr'}

    def read_root(self, path):
        with open(ROOT.host(path), 'rb') as f:
            return f.read()

    def assertTunnelBuilt(self):
        self.assertTrue(self.tun_exists(), f'{TUN} is missing')
        self.assertEqual(self.table_routes(), self.expected_routes())
        self.assertEqual(len(self.our_rules()), 2)

    def assertNothingLeft(self, what):
        self.assertFalse(self.tun_exists(), f'{what}: {TUN} is still there')
        self.assertEqual(self.table_routes(), set(), f'{what}: routes left in table {TABLE}')
        self.assertEqual(self.our_rules(), [], f'{what}: policy rules left')

    def check_unit_owns_the_name(self):
        self.assertEqual(self.unit_property('ActiveState'), 'active', self.container.unit_log())
        pid = self.unit_property('MainPID')
        owner = self.run_in('busctl', '--system', 'status', '--no-pager', BUS_NAME, quiet=True).stdout
        self.assertRegex(owner, rf'(?m)^PID={pid}$', owner)
        log(f'ok: {UNIT} is active and its main process (PID {pid}) owns {BUS_NAME}')

    def check_outsider_is_refused(self):
        r = self.ctl('status', user=OUTSIDER, check=False)
        self.assertEqual(r.returncode, 3, r.stdout)   # permission denied (firezonectl(1))
        log(f'ok: {OUTSIDER} (not in the group) is refused by the bus: {r.stderr.strip()[:120]}')


class ResolvedMode(_Booted):
    RESOLVED = True

    def test_1_installed_unit_runs_and_member_connects(self):
        self.check_unit_owns_the_name()
        # The system's DNS reaches the test's upstream (dnsmasq) through resolved.
        self.assertIn('127.0.0.1', self.run_in('getent', 'hosts', PORTAL_NAME, quiet=True).stdout)
        self.assertIn('firezone', self.run_in('id', '-nG', MEMBER, quiet=True).stdout.split())
        self.assertEqual(self.status()['state'], 'signed-out')
        self.check_outsider_is_refused()
        st = self.sign_in()
        self.assertEqual((st['dns-control'], st['interface'], st['account-slug']),
                         ('systemd-resolved', TUN, 'acme'))
        self.assertTunnelBuilt()
        dns = self.run_in('resolvectl', 'dns', TUN, quiet=True).stdout
        self.assertIn('100.100.111.1', dns)
        domains = self.run_in('resolvectl', 'domain', TUN, quiet=True).stdout
        self.assertIn('corp.example.com', domains)
        self.assertIn('~.', domains)
        self.assertEqual(os.readlink(ROOT.host('/etc/resolv.conf')), '../run/systemd/resolve/stub-resolv.conf')
        log('ok: connected through the real unit; routes, rules and resolved\'s link DNS as expected')
        # The state changes in the real journal, found by MESSAGE_ID, with their fields.
        entries = self.container.journal('-u', UNIT, f'MESSAGE_ID={MESSAGE_IDS["connected"]}')
        self.assertEqual(len(entries), 1, entries)
        e = entries[0]
        self.assertEqual({k: e.get(k) for k in ('FIREZONE_STATE', 'FIREZONE_PREVIOUS_STATE', 'FIREZONE_ACCOUNT',
                                                'FIREZONE_MODE', 'PRIORITY', '_SYSTEMD_UNIT')},
                         {'FIREZONE_STATE': 'connected', 'FIREZONE_PREVIOUS_STATE': 'connecting',
                          'FIREZONE_ACCOUNT': 'acme', 'FIREZONE_MODE': 'interactive', 'PRIORITY': '6',
                          '_SYSTEMD_UNIT': UNIT})
        self.assertEqual(len(self.container.journal('FIREZONE_STATE=connecting', 'FIREZONE_ACCOUNT=acme')), 1)
        # journalctl -x explains it (the package's catalog, indexed by systemd's trigger).
        explained = self.run_in('journalctl', '--no-pager', '-x', '-u', UNIT,
                                f'MESSAGE_ID={MESSAGE_IDS["connected"]}', quiet=True).stdout
        self.assertIn('Subject: Firezone connected', explained)
        log('ok: the state changes are journal entries with MESSAGE_ID and FIREZONE_* fields, explained by -x')

    def test_2_restart_mid_session(self):
        self.assertEqual(self.status()['state'], 'connected')
        self.restart()
        # An interactive token lives in the daemon's memory only: a restart signs out, and
        # the old daemon took its tunnel and resolved's link settings with it.
        self.assertEqual(self.status()['state'], 'signed-out')
        self.assertNothingLeft('after systemctl restart')
        self.sign_in()
        self.assertTunnelBuilt()
        log('ok: systemctl restart mid-session: the new daemon starts clean; signing in again works')

    def test_3_no_core_dumps_and_no_proc_mem(self):
        self.assertEqual(self.status()['state'], 'connected')
        self.assertEqual(self.unit_property('LimitCORE'), '0')
        pid = self.unit_property('MainPID')
        limits = self.run_in('cat', f'/proc/{pid}/limits', quiet=True).stdout
        self.assertRegex(limits, r'(?m)^Max core file size\s+0\s+0\s')
        # A root process without CAP_SYS_PTRACE has every capability the service has; it
        # could open a dumpable service's memory, not this one's.
        r = self.run_in('setpriv', '--bounding-set=-sys_ptrace', '--inh-caps=-sys_ptrace', '--', 'dd',
                        f'if=/proc/{pid}/mem', 'of=/dev/null', 'count=1', 'status=none', check=False)
        self.assertIn('failed to open', r.stderr)
        self.assertIn('Permission denied', r.stderr)
        log('ok: LimitCORE=0, and /proc/PID/mem of the running service is closed without CAP_SYS_PTRACE')

    def test_4_hostile_refusal_reason_forges_no_journal_entry(self):
        self.ctl('sign-out')
        self.portal.control(op='refuse_join', reason='nope\n<0>Emergency: forged\r\n<2>forged too\x1b[2J')
        try:
            r = self.ctl('sign-in', '--wait', '--timeout=60', input=TOKEN + '\n', check=False)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn('refused this client', r.stderr)
        finally:
            self.portal.control(op='refuse_join', reason=None)
        self.assertEqual(self.container.journal('-u', UNIT, '-p', '0..2'), [])
        unit_entries = self.container.journal('-u', UNIT)
        self.assertEqual([e['MESSAGE'] for e in unit_entries if 'forged' in str(e.get('MESSAGE'))], [])
        self.assertTrue(any('refused this client' in str(e.get('MESSAGE')) and e.get('PRIORITY') == '3'
                            for e in unit_entries))
        self.sign_in()
        log('ok: a portal refusal reason with "\\n<0>" and escapes left no emergency (or any) forged entry')

    def test_9_apt_remove_while_connected(self):
        self.assertEqual(self.status()['state'], 'connected')
        self.run_in('apt-get', '-y', '-q', '-o', 'Dpkg::Use-Pty=0', 'remove', *OUR_PACKAGES)
        self.assertEqual(self.unit_property('LoadState'), 'not-found')
        self.assertNothingLeft('after apt remove')
        self.assertNotIn(TUN, self.run_in('resolvectl', 'status', quiet=True).stdout)
        self.assertEqual(os.readlink(ROOT.host('/etc/resolv.conf')), '../run/systemd/resolve/stub-resolv.conf')
        log('ok: apt remove while connected left no route, rule, link or DNS setting behind')


class ResolvConfMode(_Booted):
    RESOLVED = False

    def assertOriginalResolvConf(self):
        st = os.lstat(ROOT.host('/etc/resolv.conf'))
        self.assertTrue(stat.S_ISREG(st.st_mode))
        self.assertEqual(self.read_root('/etc/resolv.conf').decode(), ORIGINAL_RESOLV_CONF)
        self.assertFalse(os.path.lexists(ROOT.host(RESOLV_BACKUP)), 'the backup outlived the restore')

    def test_1_member_connects_and_resolv_conf_points_at_the_sentinels(self):
        self.check_unit_owns_the_name()
        self.assertIn('127.0.0.1', self.run_in('getent', 'hosts', PORTAL_NAME, quiet=True).stdout)
        st = self.sign_in()
        self.assertEqual((st['dns-control'], st['last-error']), ('etc-resolv-conf', ''), st)
        self.assertTunnelBuilt()
        text = self.read_root('/etc/resolv.conf').decode()
        self.assertTrue(text.startswith('# Generated by firezone-client-tunnel'), text)
        self.assertIn('nameserver 100.100.111.1\n', text)
        self.assertIn('search corp.example.com\n', text)
        self.assertEqual(self.read_root(RESOLV_BACKUP).decode(), ORIGINAL_RESOLV_CONF)
        log('ok: etc-resolv-conf mode under the shipped unit: resolv.conf rewritten, original backed up')

    def test_2_stop_restores_resolv_conf(self):
        self.assertEqual(self.status()['state'], 'connected')
        self.restart('stop')
        self.assertOriginalResolvConf()
        self.assertNothingLeft('after systemctl stop')
        self.restart('start')
        self.assertEqual(self.status()['state'], 'signed-out')
        log('ok: systemctl stop put /etc/resolv.conf back byte for byte')

    def test_3_foreign_symlink_cannot_be_replaced_and_is_left_alone(self):
        # A resolv.conf another program keeps behind a symlink (as NetworkManager or
        # resolvconf do), which the unit's read-only /etc does not let us replace.
        ROOT.write('/run/fz-netconfig/resolv.conf', ORIGINAL_RESOLV_CONF)
        os.unlink(ROOT.host('/etc/resolv.conf'))
        os.symlink('/run/fz-netconfig/resolv.conf', ROOT.host('/etc/resolv.conf'))
        try:
            self.ctl('sign-in', '--wait', '--timeout=60', input=TOKEN + '\n', check=False)
            st = self.status()
            self.assertEqual(st['dns-control'], 'etc-resolv-conf', st)
            self.assertIn('/etc/resolv.conf', st['last-error'])
            unit_log = self.container.unit_log()
            self.assertIn('/etc/resolv.conf is a symlink to /run/fz-netconfig/resolv.conf', unit_log)
            self.assertIn('dns-control=systemd-resolved', unit_log)
            self.assertEqual(os.readlink(ROOT.host('/etc/resolv.conf')), '/run/fz-netconfig/resolv.conf')
            self.assertEqual(self.read_root('/run/fz-netconfig/resolv.conf').decode(), ORIGINAL_RESOLV_CONF)
            self.assertFalse(os.path.lexists(ROOT.host(RESOLV_BACKUP)))
            self.ctl('sign-out')
        finally:
            os.unlink(ROOT.host('/etc/resolv.conf'))
            ROOT.write('/etc/resolv.conf', ORIGINAL_RESOLV_CONF)
        log('ok: a symlinked resolv.conf the unit cannot replace: left alone, and the log says what to do')
        # A resolv.conf replaced while the service runs is not the file its ReadWritePaths=
        # opened: the service says so, and a restart picks the new one up.
        self.ctl('sign-in', '--wait', '--timeout=60', input=TOKEN + '\n', check=False)
        self.assertIn('/etc/resolv.conf', self.status()['last-error'])
        self.assertIn('systemctl restart firezone-client', self.container.unit_log())
        self.assertEqual(self.read_root('/etc/resolv.conf').decode(), ORIGINAL_RESOLV_CONF)
        self.restart()
        log('ok: a resolv.conf replaced under the running service: the log says to restart it')

    def test_4_service_account_token_file(self):
        self.portal.control(op='set_token', token=SA_TOKEN)
        ROOT.write(TOKEN_PATH, SA_TOKEN + '\n', 0o600)
        self.restart()
        self.wait_state('connected')
        self.assertEqual(self.status()['mode'], 'service-account')
        self.assertIn(f'Using the service-account token from {TOKEN_PATH}', self.container.unit_log())
        self.assertTunnelBuilt()
        os.unlink(ROOT.host(TOKEN_PATH))
        log('ok: service-account token from the token file: connected at start')

    def credential_connects(self, drop_in, what):
        self.write_drop_in(drop_in)
        self.restart()
        self.wait_state('connected')
        self.assertEqual(self.status()['mode'], 'service-account')
        unit_log = self.container.unit_log()
        self.assertEqual(unit_log.count('Using the service-account token from the systemd credential '
                                        'firezone-token'), self.credential_starts + 1, unit_log)
        self.credential_starts += 1
        self.assertTunnelBuilt()
        # Not in the unit's properties, which every local user may read.
        self.assertNotIn(SA_TOKEN, self.run_in('systemctl', 'show', UNIT, quiet=True).stdout)
        log(f'ok: service-account token from {what}: connected at start')

    def test_5_credentials(self):
        type(self).credential_starts = 0
        ROOT.write('/etc/fz-pkgtest/sa-token', SA_TOKEN + '\n', 0o600)
        os.chmod(ROOT.host('/etc/fz-pkgtest'), 0o700)
        self.credential_connects('[Service]\nLoadCredential=firezone-token:/etc/fz-pkgtest/sa-token\n',
                                 'LoadCredential=')
        # Encrypted at rest with the machine's credential key (no TPM here).
        self.run_in('systemd-creds', 'encrypt', '--name=firezone-token', '/etc/fz-pkgtest/sa-token',
                    '/etc/fz-pkgtest/sa-token.cred')
        self.assertNotIn(SA_TOKEN.encode(), self.read_root('/etc/fz-pkgtest/sa-token.cred'))
        os.unlink(ROOT.host('/etc/fz-pkgtest/sa-token'))
        self.credential_connects('[Service]\nLoadCredentialEncrypted=firezone-token:/etc/fz-pkgtest/sa-token.cred\n',
                                 'LoadCredentialEncrypted= (systemd-creds encrypt)')
        # ... or inline in the drop-in.
        inline = self.run_in('systemd-creds', 'encrypt', '--name=firezone-token', '--pretty', '-', '-',
                             input=SA_TOKEN, quiet=True).stdout
        self.assertTrue(inline.startswith('SetCredentialEncrypted=firezone-token:'), inline)
        self.credential_connects('[Service]\n' + inline, 'SetCredentialEncrypted=')

    def test_9_apt_remove_while_connected(self):
        if self.status()['state'] != 'connected':
            self.sign_in()
        self.run_in('apt-get', '-y', '-q', '-o', 'Dpkg::Use-Pty=0', 'remove', *OUR_PACKAGES)
        self.assertEqual(self.unit_property('LoadState'), 'not-found')
        self.assertNothingLeft('after apt remove')
        self.assertOriginalResolvConf()
        log('ok: apt remove while connected put resolv.conf back and left no route or rule')
