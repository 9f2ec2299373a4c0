# SPDX-License-Identifier: Apache-2.0
"""Load: 50 concurrent clients calling Status while another client flips SignIn/SignOut 200
times. Run in the main build and, with -Db_sanitize=address,undefined, in CI's sanitizer
build (suite "load"), where any ASan/UBSan/LSan report fails the daemon's exit code."""


from procwatch import fd_count, rss_kib
from test_api import ApiTestCase, LEGAL_STATES, TOKEN, quote, sign_in_args

LEGAL_TRANSITIONS = {('signed-out', 'connecting'), ('connecting', 'signed-out'), ('connecting', 'connected'),
                     ('connected', 'reconnecting'), ('reconnecting', 'connected'), ('connected', 'signed-out'),
                     ('reconnecting', 'signed-out'), ('connecting', 'connecting')}
FLIPS = 200


class Load(ApiTestCase):
    def test_status_under_sign_in_sign_out_churn(self):
        pid = self.bed.daemon.pid
        # Warm up once so that lazily allocated state does not count as growth.
        self.assertOk(self.sign_in())
        self.assertOk(self.agent('fz-member').call('SignOut'))
        fds_before, rss_before = fd_count(pid), rss_kib(pid)

        hammer = self.bed.agent('fz-member')
        hammer.send(op='hammer', connections=50, signals=2 * FLIPS)
        self.assertEqual(hammer.receive(), {'ready': True})

        flipper = self.agent('fz-member')
        token = quote(self.secret(TOKEN))
        for _ in range(FLIPS):
            self.assertOk(flipper.call('SignIn', sign_in_args(token, {'account-slug': "'acme'"}), '(sa{sv})'))
            self.assertOk(flipper.call('SignOut'))

        stats = self.assertOk(hammer.receive())
        self.assertEqual(stats['errors'], [])
        self.assertGreater(stats['calls'], 1000)
        self.assertLessEqual(set(stats['states']), LEGAL_STATES, stats['states'])
        self.assertEqual(len(stats['sequence']), 2 * FLIPS)
        previous = 'signed-out'
        for state in stats['sequence']:
            self.assertIn((previous, state), LEGAL_TRANSITIONS)
            previous = state
        self.assertEqual(previous, 'signed-out')

        # The 50 connections are gone again: nothing may have leaked.
        hammer.close()
        self.assertEqual(self.status()['state'], 'signed-out')
        self.assertTrue(self.bed.daemon.running())
        self.assertEqual(fd_count(pid), fds_before)
        growth = rss_kib(pid) - rss_before
        print(f'\n{stats["calls"]} Status calls during {FLIPS} sign-in/sign-out cycles; '
              f'states seen {stats["states"]}; RSS growth {growth} KiB', flush=True)
        with open(f'/proc/{pid}/maps') as f:
            sanitized = 'libasan' in f.read()
        if not sanitized:  # ASan's quarantine keeps freed memory mapped on purpose
            self.assertLess(growth, 2048)

        # A clean exit; under the sanitizers a leak or error report makes this non-zero.
        self.assertEqual(self.bed.stop_daemon(), 0, self.bed.daemon.output()[-4000:])
        self.assertNotIn('ERROR: AddressSanitizer', self.bed.daemon.output())
        self.assertNotIn('runtime error:', self.bed.daemon.output())
