# SPDX-License-Identifier: Apache-2.0
"""D-Bus fuzzing of dev.firezone.Client1 (issue 16) with tests/integration/dbusfuzz.py, against
the real daemon on the real bus (dbus-daemon with the project's policy, real polkitd), as
root, as a member of group firezone and as an outsider: random and edge-case values of every
D-Bus type for every method and property, wrong signatures, huge arrays, nested variants,
many fds. Asserted: every call is answered within 1 s (issue 18 made the daemon answer every
call; this holds it to that for every random call), the daemon never dies, an outsider
changes nothing, the daemon's fd count is the same after as before and its RSS flat, and what
the bus must refuse (invalid UTF-8 and the like) never reaches the daemon.

FZ_DBUS_FUZZ_SECONDS (default 12) per user bounds the time in CI; FZ_DBUS_FUZZ_SEED replays
a run (each report prints its seed)."""

import json
import os

from procwatch import Sampler, fd_count, rss_kib
from test_api import ApiTestCase

SECONDS = float(os.environ.get('FZ_DBUS_FUZZ_SECONDS', '12'))
SEED = os.environ.get('FZ_DBUS_FUZZ_SEED')
DEADLINE = 1.0


class DbusFuzz(ApiTestCase):
    def fuzz(self, user, seconds, seed=None, extra=()):
        # The code goes on the command line (as agent.py's does): a test user may not be able to
        # read the checkout, which can live under a 0700 directory (a mktemp -d clone in CI).
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'dbusfuzz.py')) as f:
            code = f.read()
        argv = ['/usr/bin/python3', '-c', code, '--seconds', str(seconds), '--deadline', str(DEADLINE), *extra]
        if seed is not None:
            argv += ['--seed', str(seed)]
        r = self.bed.run_as(user, argv, timeout=seconds + 120)
        self.assertEqual(r.returncode, 0, f'dbusfuzz as {user} failed:\n{r.stderr[-4000:]}')
        return json.loads(r.stdout)

    def snapshot(self):
        """What an outsider must not be able to change."""
        root = self.agent('root')
        props = self.assertOk(root.call('GetAll', "('dev.firezone.Client1',)", '(s)',
                                         iface='org.freedesktop.DBus.Properties'))[0]
        status = self.status()
        status.pop('connected-since', None)
        return {'status': status, 'properties': props,
                'resources': self.assertOk(root.call('ListResources'))[0]}

    def settle(self):
        """Back to a known state: signed out, and the daemon done with it (a round trip)."""
        self.assertOk(self.agent('root').call('SignOut'))
        self.assertEqual(self.state(), 'signed-out')

    def assertClean(self, user, report):
        msg = f'{user}, seed {report["seed"]}: {json.dumps(report)[:3000]}'
        self.assertEqual(report['late'], [], f'{msg}: answers later than {DEADLINE} s')
        self.assertEqual(report['unanswered'], [], f'{msg}: calls never answered')
        self.assertEqual(report['unexpected_disconnects'], [], f'{msg}: the bus dropped a valid message')
        self.assertEqual(report['not_refused'], [], f'{msg}: the bus let an invalid message through')
        self.assertGreater(report['answered'], 100, msg)
        self.assertTrue(self.bed.daemon.running(), f'{msg}: the daemon died:\n{self.bed.daemon.output()[-4000:]}')

    def test_fuzz_every_member_as_root_member_and_outsider(self):
        pid = self.bed.daemon.pid
        seed = int(SEED) if SEED else int.from_bytes(os.urandom(4), 'little')
        # Warm-up: lazily allocated state, polkit's connection and the heap's high-water mark
        # settle (the same mix of calls, huge ones included).
        self.fuzz('root', min(5.0, SECONDS), seed ^ 0x5a5a)
        self.settle()
        fds0, rss0 = fd_count(pid), rss_kib(pid)
        sampler = Sampler(pid, period=0.25)
        reports = {}
        for i, user in enumerate(('root', 'fz-member', 'fz-outsider')):
            before = self.snapshot() if user == 'fz-outsider' else None
            reports[user] = r = self.fuzz(user, SECONDS, seed + i)
            self.assertClean(user, r)
            if user == 'fz-outsider':
                # The bus refuses an outsider everything: nothing reached the daemon.
                self.assertEqual(set(r['errors']), {'org.freedesktop.DBus.Error.AccessDenied'}, r['errors'])
                self.assertEqual(self.snapshot(), before, 'an outsider changed the daemon\'s state')
            self.settle()
        samples = sampler.done()

        fds1, rss1 = fd_count(pid), rss_kib(pid)
        with open(f'/proc/{pid}/maps') as f:
            sanitized = 'libasan' in f.read()
        calls = sum(r['calls'] for r in reports.values())
        print(f'\nD-Bus fuzzing, {SECONDS:.0f} s per user, seed {seed}:', flush=True)
        for user, r in reports.items():
            print(f'  {user:12} {r["calls"]:6} calls ({r["calls"] / r["seconds"]:.0f}/s), {r["answered"]} answered '
                  f'(p50 {r["latency_ms"]["p50"]:.2f} ms, p99 {r["latency_ms"]["p99"]:.2f} ms, max '
                  f'{r["latency_ms"]["max"]:.1f} ms), refused by the bus {r["refused_by_bus"]}, '
                  f'errors {dict(sorted(r["errors"].items(), key=lambda e: -e[1])[:6])}', flush=True)
        print(f'  daemon fds {fds0} -> {fds1} (max {max(s[2] for s in samples)}), RSS {rss0} -> {rss1} KiB '
              f'(max {max(s[1] for s in samples)} KiB), {calls} calls', flush=True)
        self.assertEqual(fds1, fds0, 'the daemon leaked file descriptors')
        if not sanitized:  # ASan's quarantine keeps freed memory on purpose
            self.assertLess(rss1 - rss0, 1024, f'the daemon\'s RSS grew: {samples}')
        # A clean exit; under the sanitizers a leak report fails the test (fzbed).
        self.assertEqual(self.bed.stop_daemon(), 0, self.bed.daemon.output()[-4000:])

    def test_the_bus_refuses_invalid_messages_before_the_daemon_sees_them(self):
        # A monitor sees every call the bus routes to the daemon.
        monitor = self.bed.agent('root')
        self.assertOk(monitor.become_monitor(["type='method_call',destination='dev.firezone.Client1'"]))
        for user in ('root', 'fz-member', 'fz-outsider'):
            r = self.fuzz(user, 0, extra=('--probe-refusals',))
            self.assertEqual(r, {what: 'connection closed by the bus' for what in r}, user)
            self.assertEqual(set(r), {'utf8', 'nul', 'path', 'signature', 'bool', 'deep-variant', 'fds', 'member',
                                      'array-length', 'too-big'})
        # A valid call after them is routed (the monitor works) - and it is the only one.
        self.assertEqual(self.state(), 'signed-out')
        calls = self.assertOk(monitor.monitored('Status', count=1))
        self.assertEqual([c['member'] for c in calls], ['Status'])
        self.assertTrue(self.bed.daemon.running())
