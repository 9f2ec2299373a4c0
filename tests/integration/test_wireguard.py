# SPDX-License-Identifier: Apache-2.0
"""WireGuard in the daemon (issue 12) against stock WireGuard: our data plane and core
(fzd-wg-tool, static keys, a TUN) in one network namespace, Debian's wireguard-go + wg in
another, a veth pair between them (see wgbed.py). Handshakes started by either side, ping
and TCP transfers with checksums both ways over IPv4 and IPv6, rekeying under load
(shortened timers), roaming, replayed and bit-flipped packets, cookies under load, wrong
keys and PSKs."""

from fzbed import BedTestCase
import wgbed
from wgbed import (A_IF, A_NS, A_PORT, A_TUN4, A_TUN6, A_UDP, B_IF, B_NS, B_PORT, B_TUN4, B_TUN6, B_UDP, Keys,
                   Mangler, WgTool, WireguardGo, ping, psk_file, run, tcp_transfer)

MB = 1024 * 1024


class WireGuardInterop(BedTestCase):
    START_DAEMON = False

    def setUp(self):
        super().setUp()
        wgbed.topology()
        self.a = Keys(self.bed, 'a')
        self.b = Keys(self.bed, 'b')
        self.psk = psk_file(self.bed)
        self.tools = []
        self.go = None

    def tearDown(self):
        for t in self.tools:
            rc = t.close()
            # Under valgrind/sanitizers a leak or error shows as the exit code.
            self.assertIn(rc, (0, None), f'fzd-wg-tool exited with {rc}:\n{t.output()[-3000:]}')
        if self.go:
            self.go.close()
        super().tearDown()

    def run(self, result=None):
        result = result if result is not None else self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        super().run(result)
        if len(result.failures) + len(result.errors) > before:
            import sys
            for t in getattr(self, 'tools', []):
                sys.stderr.write('\n===== fzd-wg-tool log =====\n' + t.output()[-20000:] + '\n')
            if getattr(self, 'go', None):
                sys.stderr.write('\n===== wireguard-go log =====\n' + self.go.output()[-20000:] + '\n')
        return result

    # ---- the two ends ----

    def start_ours(self, *extra, peer_key=None, endpoint=f'{B_UDP}:{B_PORT}', psk=None):
        args = ['--tun', A_IF, '--private-key', self.a.private, '--listen-port', str(A_PORT), '--log-level', 'debug',
                *extra, '--peer', peer_key or self.b.public, '--psk', psk or self.psk,
                '--allowed-ip', f'{B_TUN4}/32', '--allowed-ip', f'{B_TUN6}/128']
        if endpoint:
            args += ['--endpoint', endpoint]
        tool = WgTool(self.bed, A_NS, args)
        self.tools.append(tool)
        run('ip', '-n', A_NS, 'addr', 'add', f'{A_TUN4}/24', 'dev', A_IF)
        run('ip', '-n', A_NS, 'addr', 'add', f'{A_TUN6}/64', 'dev', A_IF, 'nodad')
        return tool

    def start_go(self, peer_key=None, psk=None, endpoint=f'{A_UDP}:{A_PORT}'):
        self.go = WireguardGo(self.bed, B_NS, B_IF)
        args = ['private-key', self.b.private, 'listen-port', str(B_PORT), 'peer', peer_key or self.a.public,
                'preshared-key', psk or self.psk, 'allowed-ips', f'{A_TUN4}/32,{A_TUN6}/128']
        if endpoint:
            args += ['endpoint', endpoint]
        self.go.set(*args)
        run('ip', '-n', B_NS, 'addr', 'add', f'{B_TUN4}/24', 'dev', B_IF)
        run('ip', '-n', B_NS, 'addr', 'add', f'{B_TUN6}/64', 'dev', B_IF, 'nodad')
        run('ip', '-n', B_NS, 'link', 'set', B_IF, 'mtu', '1280', 'up')
        return self.go

    def assertNoDuplicates(self, r):
        self.assertNotIn('DUP!', r.stdout)
        self.assertIn(' 0% packet loss', r.stdout)

    def assertTransfers(self, size=16 * MB, port=5201, seconds=0):
        """TCP both ways, IPv4 and IPv6, each checked by SHA-256 at both ends."""
        for srv_ns, cli_ns, addr in ((B_NS, A_NS, B_TUN4), (A_NS, B_NS, A_TUN4), (B_NS, A_NS, B_TUN6),
                                     (A_NS, B_NS, A_TUN6)):
            got, sent = tcp_transfer(srv_ns, cli_ns, addr, port, size, seconds)
            self.assertEqual(got['bytes'], size, f'{cli_ns} → {addr}')
            self.assertEqual(got['sha256'], sent['sha256'], f'{cli_ns} → {addr}: the data changed on the way')
            port += 1

    # ---- tests ----

    def test_we_initiate(self):
        """A packet from our TUN starts the handshake; ping and TCP both ways, IPv4 and IPv6."""
        go = self.start_go()
        ours = self.start_ours()
        r = ping(A_NS, B_TUN4)
        self.assertNoDuplicates(r)
        ours.wait_event('peer', 'handshake-complete')
        ours.wait_log('complete (we initiated)')
        self.assertGreater(go.latest_handshake(), 0)
        self.assertNoDuplicates(ping(B_NS, A_TUN4))
        self.assertNoDuplicates(ping(A_NS, B_TUN6))
        self.assertNoDuplicates(ping(B_NS, A_TUN6))
        self.assertTransfers()
        s = ours.stats()
        self.assertEqual(s['handshakes'], 1)
        self.assertTrue(s['has_session'])
        d = s['dp']
        self.assertEqual(d['decrypt_failed'] + d['replayed'] + d['not_allowed'] + d['queue_overflow'], 0, d)
        # The offloads this kernel has were used: super-packets from the TUN were split and
        # many datagrams went out per sendmmsg().
        self.assertGreater(d['tun_offloads'], 0)
        self.assertGreater(d['tun_packets'], d['tun_reads'])
        self.assertGreater(d['udp_datagrams'], d['udp_sends'])
        # Its sockets carry the daemon's firewall mark (so its own traffic skips the tunnel).
        sockets = run('ss', '-uaneH', f'sport = :{A_PORT}', ns=A_NS).stdout
        self.assertEqual(sockets.count('fwmark:0x1f0a'), 2, sockets)  # IPv4 and IPv6

    def test_peer_initiates(self):
        """wireguard-go starts the handshake; we answer and confirm; traffic both ways."""
        self.start_go()
        ours = self.start_ours(endpoint=None)  # we do not even know where it is: it tells us
        self.assertNoDuplicates(ping(B_NS, A_TUN4))
        ours.wait_event('peer', 'handshake-complete')
        ours.wait_log('complete (the peer initiated)')
        s = ours.stats()
        self.assertEqual(s['endpoint'], f'{B_UDP}:{B_PORT}')
        self.assertEqual(s['initiations'], 0)
        self.assertNoDuplicates(ping(A_NS, B_TUN4))
        self.assertTransfers(size=8 * MB)

    def test_rekey_by_time(self):
        """With REKEY_AFTER_TIME at 1 s (and REKEY_TIMEOUT at 0.5 s) we make a new session
        every second while a paced TCP transfer runs both ways; no byte is lost or changed."""
        go = self.start_go()
        ours = self.start_ours('--rekey-after-time', '1', '--rekey-timeout', '0.5')
        self.assertNoDuplicates(ping(A_NS, B_TUN4))
        first = go.latest_handshake()
        got, sent = tcp_transfer(B_NS, A_NS, B_TUN4, 5301, 24 * MB, seconds=4)
        self.assertEqual(got['sha256'], sent['sha256'])
        got, sent = tcp_transfer(A_NS, B_NS, A_TUN4, 5302, 24 * MB, seconds=4)
        self.assertEqual(got['sha256'], sent['sha256'])
        s = ours.stats()
        self.assertGreaterEqual(s['handshakes'], 5, s)
        self.assertEqual(s['dp']['decrypt_failed'], 0)
        # wireguard-go saw the new sessions too (its clock has seconds).
        self.assertGreater(go.latest_handshake(), first)

    def test_rekey_by_messages(self):
        """REKEY_AFTER_MESSAGES at 5000: a 64 MB transfer rekeys a dozen times, intact.
        Paced over 3 s: a new handshake waits REKEY_TIMEOUT (0.2 s) after the last one, so an
        unpaced transfer on a quiet machine (about a second) leaves room for only five."""
        self.start_go()
        ours = self.start_ours('--rekey-after-messages', '5000', '--rekey-timeout', '0.2')
        self.assertNoDuplicates(ping(A_NS, B_TUN4))
        got, sent = tcp_transfer(B_NS, A_NS, B_TUN4, 5401, 64 * MB, seconds=3)
        self.assertEqual(got['sha256'], sent['sha256'])
        s = ours.stats()
        self.assertGreaterEqual(s['handshakes'], 6, s)

    def test_peer_roams(self):
        """wireguard-go moves to a new address and port; its first authenticated packet
        tells us, and our replies follow it."""
        go = self.start_go()
        ours = self.start_ours()
        self.assertNoDuplicates(ping(A_NS, B_TUN4))
        self.assertEqual(ours.stats()['endpoint'], f'{B_UDP}:{B_PORT}')
        # A second link; the first one goes down; wireguard-go listens on a new port.
        run('ip', 'link', 'add', 'wga1', 'type', 'veth', 'peer', 'name', 'wgb1')
        run('ip', 'link', 'set', 'wga1', 'netns', A_NS)
        run('ip', 'link', 'set', 'wgb1', 'netns', B_NS)
        run('ip', '-n', A_NS, 'addr', 'add', '198.51.100.1/24', 'dev', 'wga1')
        run('ip', '-n', B_NS, 'addr', 'add', '198.51.100.2/24', 'dev', 'wgb1')
        run('ip', '-n', A_NS, 'link', 'set', 'wga1', 'up')
        run('ip', '-n', B_NS, 'link', 'set', 'wgb1', 'up')
        run('ip', '-n', B_NS, 'link', 'set', 'wgb0', 'down')
        run('ip', '-n', B_NS, 'route', 'add', '192.0.2.0/24', 'via', '198.51.100.1')
        go.set('listen-port', '51821')
        self.assertNoDuplicates(ping(B_NS, A_TUN4))
        ours.wait_event('peer', 'path-changed')
        ours.wait_log('is now at 198.51.100.2:51821')
        self.assertEqual(ours.stats()['endpoint'], '198.51.100.2:51821')
        self.assertNoDuplicates(ping(A_NS, B_TUN4))
        got, sent = tcp_transfer(A_NS, B_NS, A_TUN4, 5501, 4 * MB)
        self.assertEqual(got['sha256'], sent['sha256'])

    def test_replayed_and_tampered_packets(self):
        """A middlebox replays every data packet, sends a bit-flipped copy of each, and
        sends every handshake initiation twice, both ways: nothing reaches either side
        twice or altered, and our counters account for every injected packet."""
        go = self.start_go(endpoint='127.0.0.1:40001')
        mangler = Mangler(B_NS, f'{B_UDP}:40000', f'{A_UDP}:{A_PORT}', '127.0.0.1:40001', f'127.0.0.1:{B_PORT}')
        try:
            ours = self.start_ours(endpoint=f'{B_UDP}:40000')
            # wireguard-go initiates (its initiation arrives twice), then ours.
            self.assertNoDuplicates(ping(B_NS, A_TUN4, count=5))
            ours.wait_log('Dropped a replayed handshake initiation from peer')
            self.assertNoDuplicates(ping(A_NS, B_TUN4, count=5))
            got, sent = tcp_transfer(A_NS, B_NS, A_TUN4, 5601, 2 * MB)
            self.assertEqual(got['sha256'], sent['sha256'])
        finally:
            injected = mangler.stop()
        down = injected['to_down']
        self.assertGreater(down['replayed'], 10)
        self.assertGreaterEqual(down['initiations_replayed'], 1)
        s = ours.wait_stats(lambda s: s['dp']['replayed'] >= down['replayed'] and
                            s['dp']['decrypt_failed'] >= down['flipped'], 'every injected packet to be dropped')
        self.assertEqual(s['dp']['replayed'], down['replayed'])
        self.assertEqual(s['dp']['decrypt_failed'], down['flipped'])
        # wireguard-go got its share of replays and flips and still answered everything.
        self.assertGreater(injected['to_up']['replayed'], 10)
        self.assertGreater(go.latest_handshake(), 0)

    def test_cookie_under_load(self):
        """Forced under load, we answer wireguard-go's initiation with a cookie reply (sealed
        with XChaCha20-Poly1305 from libsodium); wireguard-go must accept it and retry with
        mac2, which we then accept: the handshake completes."""
        self.start_go()
        ours = self.start_ours('--under-load', endpoint=None)
        r = ping(B_NS, A_TUN4, count=1, wait=15)  # its retransmission comes after REKEY_TIMEOUT
        self.assertIn(' 0% packet loss', r.stdout)
        ours.wait_log('with a cookie')
        ours.wait_event('peer', 'handshake-complete')
        s = ours.stats()
        self.assertGreaterEqual(s['dp']['handshakes_under_load'], 2)  # the first, and the one with mac2
        self.assertEqual(s['handshakes'], 1)

    def test_wrong_psk(self):
        """Different PSKs: the initiation gets through (the PSK only enters the response),
        the response does not authenticate, and the log says why."""
        other = psk_file(self.bed, 'other-psk')
        self.start_go(psk=other)
        ours = self.start_ours('--rekey-attempt-time', '3', '--rekey-timeout', '1')
        r = ping(A_NS, B_TUN4, count=1, wait=2, check=False)
        self.assertNotEqual(r.returncode, 0)
        ours.wait_log('Handshake response from peer')
        ours.wait_log('failed to authenticate: the preshared key or the keys do not match')
        ours.wait_log('did not complete within 3 s; giving up')
        s = ours.stats()
        self.assertEqual(s['handshakes'], 0)
        self.assertFalse(s['has_session'])
        self.assertFalse(ours.has_event('peer', 'handshake-complete'))

    def test_unknown_peer_key(self):
        """We hold a wrong key for wireguard-go: its initiations carry a static key that is
        no peer of ours, and ours do not get through its mac1 check."""
        wrong = Keys(self.bed, 'wrong')
        self.start_go()
        ours = self.start_ours('--rekey-attempt-time', '2', '--rekey-timeout', '0.5', peer_key=wrong.public)
        ping(B_NS, A_TUN4, count=1, wait=2, check=False)
        ours.wait_log(f'public key {self.b.public} is not a peer')
        ping(A_NS, B_TUN4, count=1, wait=2, check=False)
        ours.wait_log('did not complete within 2 s; giving up')
        self.assertEqual(ours.stats()['handshakes'], 0)

    def test_peer_has_wrong_key(self):
        """wireguard-go holds a wrong key for us: its initiations fail our mac1 check."""
        wrong = Keys(self.bed, 'wrong')
        self.start_go(peer_key=wrong.public)
        ours = self.start_ours()
        ping(B_NS, A_TUN4, count=1, wait=2, check=False)
        ours.wait_log('does not authenticate (mac1): the peer does not have our public key')
        self.assertEqual(ours.stats()['handshakes'], 0)
