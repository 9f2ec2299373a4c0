# SPDX-License-Identifier: Apache-2.0
"""The token in the daemon's memory (issue #15, finding 5): only in locked pages that core
dumps leave out, and the process is not dumpable, so that neither a core (gcore) nor
/proc/PID/mem read by anyone without CAP_SYS_PTRACE finds it."""

import hashlib
import os
import subprocess

from fzbed import BedTestCase
from portalbed import LocalPortal

# Long (the HTTP upgrade request that carries it is built past any small first buffer)
# and without repeats, so that any piece of it found in memory is a copy of it.
TOKEN = 'fz-sa.' + ''.join(hashlib.sha256(str(i).encode()).hexdigest() for i in range(40))
PIECE = 24


def pieces(token):
    return {token[i:i + PIECE].encode() for i in range(0, len(token) - PIECE + 1, 4)}


class TokenMemory(BedTestCase):
    START_DAEMON = False

    def setUp(self):
        super().setUp()
        self.secret(TOKEN)
        self.portal = LocalPortal(self.bed, token=TOKEN)
        self.addCleanup(self.portal.stop)
        self.bed.write_token_file(TOKEN)

    def start(self, wrapper=()):
        """The daemon in service-account mode, connected to the portal (joined), after one
        reconnect: two upgrade requests built and sent."""
        env = self.bed.daemon_env({'FIREZONE_API_URL': self.portal.ws_url})
        self.bed._daemon_count += 1
        self.bed.daemon = self.bed._spawn(f'daemon-{self.bed._daemon_count}',
                                          [*wrapper, *self.bed.daemon_argv([])], env=env)
        self.bed.wait_for_name('dev.firezone.Client1', self.bed.daemon)
        self.portal.control(op='wait_stat', key='joins', count=1)
        self.portal.control(op='drop')
        self.portal.control(op='wait_stat', key='joins', count=2)
        self.bed.wait_for_log(self.bed.daemon, 'Connected to the Firezone portal')
        return self.bed.daemon.pid

    def core(self, pid):
        prefix = os.path.join(self.bed.dir, f'core-{len(os.listdir(self.bed.dir))}')
        r = subprocess.run(['gcore', '-o', prefix, str(pid)], capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(f'{prefix}.{pid}', 'rb') as f:
            core = f.read()
        os.unlink(f'{prefix}.{pid}')
        # The dump does hold the daemon's heap: the User-Agent it built is there.
        self.assertIn(b' firezone-client-tunnel/', core)
        return core

    def assertNoTokenIn(self, core):
        found = [p for p in pieces(TOKEN) if p in core]
        self.assertEqual(found, [], f'{len(found)} pieces of the token in a core of the daemon')

    def test_core_right_after_the_upgrade_request_holds_no_token(self):
        # The portal refuses the upgrade and asks for a minute's pause: the core is taken
        # while what building and sending the request left in the heap is still there.
        self.portal.control(op='fail_next', status=503, retry_after=60)
        env = self.bed.daemon_env({'FIREZONE_API_URL': self.portal.ws_url})
        self.bed.start_daemon(env=env)
        self.bed.wait_for_log(self.bed.daemon, 'is busy (HTTP 503)')
        self.assertNoTokenIn(self.core(self.bed.daemon.pid))

    def test_core_of_a_connected_daemon_holds_no_token(self):
        pid = self.start()
        self.assertNoTokenIn(self.core(pid))
        self.assertTrue(self.bed.daemon.running())

    @staticmethod
    def try_open(pid, name, prefix):
        """Open /proc/PID/NAME through prefix; the outcome's name."""
        code = (f"try:\n f = open('/proc/{pid}/{name}', 'rb')\n"
                "except OSError as e:\n print(type(e).__name__)\nelse:\n print('opened')")
        r = subprocess.run([*prefix, '/usr/bin/python3', '-c', code], capture_output=True, text=True)
        return r.stdout.strip() or r.stderr

    def test_proc_mem_is_closed_to_others(self):
        # As under the unit: root with CAP_NET_ADMIN only. A root process without
        # CAP_SYS_PTRACE whose capabilities include the daemon's may read a dumpable
        # daemon's memory and environment; a non-dumpable one's, not.
        pid = self.start(wrapper=['setpriv', '--bounding-set=-all,+net_admin', '--inh-caps=-all', '--'])
        r = self.try_open(pid, 'mem', ['setpriv', '--bounding-set=-sys_ptrace', '--inh-caps=-sys_ptrace', '--'])
        self.assertEqual(r, 'PermissionError', f'/proc/{pid}/mem opened without CAP_SYS_PTRACE')
        for name in ('mem', 'environ', 'maps'):
            r = self.try_open(pid, name, self.bed.as_user_argv('fz-outsider', []))
            self.assertEqual(r, 'PermissionError', f'/proc/{pid}/{name} opened by another user')
        # ... while the same reader may read a dumpable process of the same kind (the
        # control: it proves the refusal above comes from the daemon not being dumpable).
        helper = subprocess.Popen(['setpriv', '--bounding-set=-all,+net_admin', '--inh-caps=-all', '--',
                                   'sh', '-c', 'echo ready; read x'],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(helper.stdout.readline(), 'ready\n')
            r = self.try_open(helper.pid, 'mem',
                              ['setpriv', '--bounding-set=-sys_ptrace', '--inh-caps=-sys_ptrace', '--'])
            self.assertEqual(r, 'opened')
        finally:
            helper.stdin.close()
            helper.wait()
