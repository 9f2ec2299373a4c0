# SPDX-License-Identifier: Apache-2.0
"""Soak (issue 16): the real daemon, signed in to the local portal, through rounds of
sign-in/sign-out, portal restarts and dropped connections (flaps), resource churn (upserts
and deletes; FZ_SOAK_UPDATES in all, 1,000 by default), address and default-route changes on
a veth link, SIGHUP, and concurrent D-Bus clients calling Status all along. The daemon's RSS
and fd count are sampled every 0.5 s.

Asserted: every round reaches `connected` again with the portal's resources, the fd count
after the run is the one after the warm-up round, the RSS is flat (not in a sanitizer build,
whose quarantine keeps freed memory), the daemon exits cleanly and - in the sanitizer build
(tools/soak, and tools/run-tests' suite "asan") - LeakSanitizer reports nothing (runner.py
fails a test on any sanitizer report in the bed's logs).

FZ_SOAK_SECONDS (default 60) bounds the time; FZ_SOAK_REPORT names a directory for the
report (report.json, samples.csv and, with python3-matplotlib, soak.png). tools/soak runs
this for minutes in the ASan build."""

import csv
import json
import os
import signal
import subprocess
import time

from portalbed import LocalPortal
from procwatch import Sampler, fd_count, rss_kib
from test_api import ApiTestCase

TOKEN = 'demo-token-0123456789'
SECONDS = float(os.environ.get('FZ_SOAK_SECONDS', '60'))
UPDATES = int(os.environ.get('FZ_SOAK_UPDATES', '1000'))
REPORT = os.environ.get('FZ_SOAK_REPORT')
GROUP = 'bf56f32d-7b2c-4f5d-a784-788977d014a4'


def ip(*args):
    subprocess.run(['ip', *args], check=True, capture_output=True)


class Soak(ApiTestCase):
    START_DAEMON = False
    DAEMON_ARGS = ('--dns-control=etc-resolv-conf',)

    def setUp(self):
        super().setUp()
        self.portal = LocalPortal(self.bed, token=TOKEN)
        self.addCleanup(self.portal.stop)
        self.secret(TOKEN)
        self.bed.start_daemon(self.DAEMON_ARGS, env={'FIREZONE_API_URL': self.portal.ws_url})
        self.watcher = self.bed.agent('root')
        self.watcher.subscribe('StateChanged')
        # A link of our own whose address and default route the soak changes.
        ip('link', 'add', 'soak0', 'type', 'veth', 'peer', 'name', 'soak1')
        ip('link', 'set', 'soak0', 'up')
        ip('link', 'set', 'soak1', 'up')
        self.addCleanup(subprocess.run, ['ip', 'link', 'del', 'soak0'], capture_output=True)
        self.counts = {'rounds': 0, 'sign-ins': 0, 'restarts': 0, 'flaps': 0, 'updates': 0, 'net-changes': 0,
                       'sighups': 0}

    def wait_connected(self, joins_before=None, timeout=30):
        """After a restart, drop or SIGHUP, the portal saw the daemon join again (the portal's
        join count, waited for there); then the daemon says connected. A queued StateChanged
        of an earlier round may end a wait early: Status decides, and the next one is waited for."""
        deadline = time.monotonic() + timeout
        if joins_before is not None:
            self.portal.control(op='wait_stat', key='joins', count=joins_before + 1, timeout=timeout)
        while self.status()['state'] != 'connected':
            left = int((deadline - time.monotonic()) * 1000)
            self.assertGreater(left, 0, f'not connected again: {self.status()}')
            self.assertOk(self.watcher.wait_signal('StateChanged', timeout_ms=left, match={0: 'connected'}))

    def joins(self):
        return self.portal.control(op='status').get('joins', 0)

    def connect(self):
        self.assertOk(self.sign_in(token=TOKEN))
        self.wait_connected()
        self.counts['sign-ins'] += 1

    def sign_out(self):
        self.assertOk(self.agent('fz-member').call('SignOut'))
        self.assertEqual(self.status()['state'], 'signed-out')

    def churn(self, n):
        """n updates: upserts of soak resources, every fourth one deleted again."""
        for i in range(n):
            rid = f'5a0c0000-0000-4000-8000-{(self.counts["updates"] % 4096):012x}'
            if i % 4 == 3:
                self.portal.control(op='delete', id=rid)
            else:
                self.portal.control(op='upsert', resource={
                    'id': rid, 'type': 'cidr', 'name': f'Soak {i}', 'address': f'10.{200 + i % 50}.{i % 256}.0/24',
                    'gateway_groups': [{'id': GROUP, 'name': 'Headquarters'}]})
            self.counts['updates'] += 1

    def network_change(self, i):
        a = f'10.77.{i % 250}.1/24'
        ip('addr', 'replace', a, 'dev', 'soak0')
        ip('route', 'replace', 'default', 'via', f'10.77.{i % 250}.2', 'dev', 'soak0')
        ip('route', 'del', 'default')
        ip('addr', 'del', a, 'dev', 'soak0')
        self.counts['net-changes'] += 1

    def test_soak(self):
        pid = self.bed.daemon.pid
        hammer = self.bed.agent('fz-member')
        # Concurrent clients for the whole run: 4 connections calling Status back to back.
        hammer.send(op='hammer', connections=4, signals=10 ** 9)
        self.assertEqual(hammer.receive(), {'ready': True})

        # Warm-up round: lazily allocated state settles before the baseline.
        self.connect()
        self.churn(8)
        self.sign_out()
        fds0, rss0 = fd_count(pid), rss_kib(pid)
        sampler = Sampler(pid)

        t_end = time.monotonic() + SECONDS
        per_round = 0
        while time.monotonic() < t_end or self.counts['rounds'] == 0:
            i = self.counts['rounds']
            sampler.doing = 'sign-in'
            self.connect()
            sampler.doing = 'churn'
            # Spread the updates over the rounds expected in the time (at least 20 a round).
            left = UPDATES - self.counts['updates']
            if left > 0:
                per_round = per_round or max(20, UPDATES // max(1, int(SECONDS / 2)))
                self.churn(min(left, per_round))
            sampler.doing = 'network'
            self.network_change(i)
            if i % 3 == 0:
                sampler.doing = 'portal restart'
                self.portal.restart()
                self.wait_connected(0)
                self.counts['restarts'] += 1
            elif i % 3 == 1:
                sampler.doing = 'portal flap'
                before = self.joins()
                self.portal.control(op='drop')
                self.wait_connected(before)
                self.counts['flaps'] += 1
            else:
                sampler.doing = 'sighup'
                before = self.joins()
                os.kill(pid, signal.SIGHUP)
                self.wait_connected(before)
                self.counts['sighups'] += 1
            sampler.doing = 'sign-out'
            self.sign_out()
            self.counts['rounds'] += 1
        # The rest of the updates, if the rounds were too few for them.
        if self.counts['updates'] < UPDATES:
            self.connect()
            self.churn(UPDATES - self.counts['updates'])
            self.sign_out()
        samples = sampler.done()

        hammer.close()
        self.assertTrue(self.bed.daemon.running())
        fds1, rss1 = fd_count(pid), rss_kib(pid)
        with open(f'/proc/{pid}/maps') as f:
            sanitized = 'libasan' in f.read()
        rc = self.bed.stop_daemon()
        out = self.bed.daemon.output()
        leaks = out.count('ERROR: LeakSanitizer')
        report = {'seconds': SECONDS, 'sanitized': sanitized, **self.counts,
                  'fds': {'before': fds0, 'after': fds1, 'max': max(s[2] for s in samples)},
                  'rss_kib': {'before': rss0, 'after': rss1, 'max': max(s[1] for s in samples)},
                  'exit_code': rc, 'leak_reports': leaks}
        print(f'\nsoak: {json.dumps(report)}', flush=True)
        if REPORT:
            self.write_report(report, samples)

        self.assertEqual(rc, 0, out[-6000:])
        self.assertEqual(leaks, 0, out[-6000:])
        self.assertNotIn('ERROR: AddressSanitizer', out)
        self.assertNotIn(': runtime error: ', out)
        self.assertGreaterEqual(self.counts['updates'], UPDATES)
        self.assertEqual(fds1, fds0, 'the daemon leaked file descriptors')
        if not sanitized:
            self.assertLess(rss1 - rss0, 2048, 'the daemon\'s RSS grew')

    def write_report(self, report, samples):
        os.makedirs(REPORT, exist_ok=True)
        with open(os.path.join(REPORT, 'report.json'), 'w') as f:
            json.dump(report, f, indent=2)
        with open(os.path.join(REPORT, 'samples.csv'), 'w', newline='') as f:
            w = csv.writer(f)
            w.writerow(['seconds', 'rss_kib', 'fds', 'doing'])
            w.writerows(samples)
        try:
            import matplotlib
            matplotlib.use('Agg')
            import matplotlib.pyplot as plt
        except ImportError:
            return
        fig, ax = plt.subplots(figsize=(9, 4))
        ax.plot([s[0] for s in samples], [s[1] / 1024 for s in samples], label='RSS (MiB)')
        ax2 = ax.twinx()
        ax2.plot([s[0] for s in samples], [s[2] for s in samples], color='tab:orange', label='fds')
        ax.set_xlabel('seconds')
        ax.set_ylabel('RSS (MiB)')
        ax2.set_ylabel('open fds')
        fig.legend(loc='upper left')
        fig.tight_layout()
        fig.savefig(os.path.join(REPORT, 'soak.png'))
