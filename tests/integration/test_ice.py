# SPDX-License-Identifier: Apache-2.0
"""daemon/ice against real peers: the TURN client against coturn (realm firezone, REST-API
credentials as Firezone's portal mints them), and the ICE agent against python3-aioice, an
independent implementation, in both roles, over host candidates and through coturn.

Each case runs in its own bed; the namespaces are made inside it (icebed.py)."""

import os
import select
import signal
import socket
import sys
import time

from fzbed import BedTestCase
from icebed import BED_ADDR, BED_ADDR6, AioicePeer, Coturn, IceNet, IceTool


def figure(name, value):
    """Measured figures go to the test log (meson keeps it) in one greppable form."""
    sys.stderr.write(f'FIGURE {name}: {value}\n')


class _IceCase(BedTestCase):
    START_DAEMON = False

    def make_tool(self, *args, **kw):
        """An fzd-ice-tool that must exit cleanly at the end of the test."""
        t = IceTool(self.bed, *args, **kw)
        self.addCleanup(lambda: self.assertEqual(t.close(), 0, f'{t.name} did not exit cleanly:\n{t.p.output()[-3000:]}'))
        return t


class TurnCoturn(_IceCase):
    """One allocation on coturn, driven through the node as the daemon will."""

    def start(self, coturn_args=(), tool_args=(), ttl=3600, expiry=None, relay=True, ipv6=False):
        self.net = IceNet(['client', 'relay'])
        self.coturn = Coturn(self.bed, self.net, 'relay', extra=coturn_args, ipv6=ipv6)
        self.tool = self.make_tool(self.net, 'client', *tool_args)
        self.user, self.pw = self.coturn.credentials(ttl=ttl, expiry=expiry)
        if relay:
            self.tool.request(op='relay', id='r1', addr=self.coturn.addr, username=self.user, password=self.pw,
                              **({'expires_at': expiry} if expiry else {}))

    def peer_socket(self, ipv6=False):
        s = socket.socket(socket.AF_INET6 if ipv6 else socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((BED_ADDR6 if ipv6 else BED_ADDR, 0))
        self.addCleanup(s.close)
        return s

    def recv(self, s, timeout=10):
        r, _, _ = select.select([s], [], [], timeout)
        self.assertTrue(r, 'nothing arrived at the peer')
        return s.recvfrom(65536)

    def test_allocate_with_401_challenge(self):
        self.start()
        ready = self.tool.wait('relay_ready')
        self.assertEqual(ready['id'], 'r1')
        self.assertTrue(ready['addr'].startswith(self.coturn.ip + ':'), ready)
        stats = self.tool.turn_stats(lambda s: s['allocations'] >= 1)
        # Allocate without credentials, 401 with realm and nonce, Allocate with them.
        self.assertEqual(stats['unauthorized'], 1)
        self.assertEqual(stats['state'], 'ready')
        self.assertEqual(stats['bad_integrity'], 0)
        self.assertEqual(stats['lifetime'], 600)  # coturn's default
        # The server-reflexive candidate learned on the way is our own address (no NAT here).
        self.assertEqual(stats['mapped'].split(':')[0], self.net.addr['client'])
        figure('turn allocate (Binding+Allocate+401+Allocate) ms', ready['elapsed_ms'])

    def test_refresh_at_half_life(self):
        # A 6 s allocation (coturn's --max-allocate-lifetime, and our LIFETIME): the Refresh
        # comes at half of it, ~3 s. (coturn grants 600 s to that Refresh whatever it asked, so
        # the next one would be 5 minutes away: the unit tests cover the repetition.)
        self.start(coturn_args=['--max-allocate-lifetime=6'], tool_args=['--turn-lifetime=6'])
        first = self.tool.turn_stats(lambda s: s['allocations'] >= 1)
        self.assertEqual(first['lifetime'], 6)
        t0 = time.monotonic()
        refreshed = self.tool.turn_stats(lambda s: s['refreshes'] >= 1, timeout=10)
        dt = time.monotonic() - t0
        self.assertGreater(dt, 2.5)
        self.assertLess(dt, 4.0)
        self.assertEqual(refreshed['state'], 'ready')
        self.assertEqual(refreshed['retransmits'], 0)
        figure('turn refresh of a 6 s allocation after s', round(dt, 2))

    def test_stale_nonce(self):
        # Nonces live 2 s, the allocation 6 s: the refresh at 3 s meets 438 and is retried.
        self.start(coturn_args=['--max-allocate-lifetime=6', '--stale-nonce=2'], tool_args=['--turn-lifetime=6'])
        stats = self.tool.turn_stats(lambda s: s['refreshes'] >= 1, timeout=15)
        self.assertGreaterEqual(stats['stale_nonces'], 1)
        self.assertEqual(stats['state'], 'ready')

    def test_channel_data_both_ways(self):
        self.start()
        relayed = self.tool.wait('relay_ready')['addr']
        rip, rport = relayed.rsplit(':', 1)
        s = self.peer_socket()
        peer = f'{BED_ADDR}:{s.getsockname()[1]}'
        self.tool.request(op='turn_peer', id='r1', peer=peer)
        stats = self.tool.turn_stats(lambda st: st['channel_binds'] >= 1)
        self.assertEqual(stats['state'], 'ready')
        # Peer → relay → us: coturn sends ChannelData unpadded (9-byte payload → 13 bytes).
        s.sendto(b'to-client', (rip, int(rport)))
        data = self.tool.wait('data', lambda m: m['data'] == 'to-client')
        self.assertTrue(data['via_relay'])
        self.assertEqual(data['from'], peer)
        self.assertEqual(data['relay'], self.coturn.addr)
        self.assertEqual(data['raw_len'], 4 + 9)
        # Us → relay → peer, as unpadded ChannelData.
        self.tool.request(op='turn_send', id='r1', peer=peer, data='to-peer')
        got, src = self.recv(s)
        self.assertEqual(got, b'to-peer')
        self.assertEqual(f'{src[0]}:{src[1]}', relayed)

    def test_ipv6_relay(self):
        # A relay entry with an IPv6 address: an IPv6 allocation (REQUESTED-ADDRESS-FAMILY),
        # ChannelData both ways with an IPv6 peer.
        self.start(ipv6=True, tool_args=['--bind=[::]:0'])
        relayed = self.tool.wait('relay_ready')['addr']
        self.assertTrue(relayed.startswith(f'[{self.coturn.ip}]:'), relayed)
        rip, rport = relayed[1:].split(']:')
        s = self.peer_socket(ipv6=True)
        peer = f'[{BED_ADDR6}]:{s.getsockname()[1]}'
        self.tool.request(op='turn_peer', id='r1', peer=peer)
        self.tool.turn_stats(lambda st: st['channel_binds'] >= 1)
        s.sendto(b'to-client-6', (rip, int(rport)))
        data = self.tool.wait('data', lambda m: m['data'] == 'to-client-6')
        self.assertTrue(data['via_relay'])
        self.assertEqual(data['from'], peer)
        self.tool.request(op='turn_send', id='r1', peer=peer, data='to-peer-6')
        got, src = self.recv(s)
        self.assertEqual(got, b'to-peer-6')
        self.assertEqual(f'[{src[0]}]:{src[1]}', relayed)

    def test_permission_needed(self):
        # Without a permission coturn drops what a stranger sends to our relayed address.
        self.start()
        relayed = self.tool.wait('relay_ready')['addr']
        rip, rport = relayed.rsplit(':', 1)
        s = self.peer_socket()
        s.sendto(b'unsolicited', (rip, int(rport)))
        # Then a peer with a channel: its datagram arrives, the stranger's never did.
        t = self.peer_socket()
        self.tool.request(op='turn_peer', id='r1', peer=f'{BED_ADDR}:{t.getsockname()[1]}')
        self.tool.turn_stats(lambda st: st['channel_binds'] >= 1)
        t.sendto(b'welcome', (rip, int(rport)))
        self.tool.wait('data', lambda m: m['data'] == 'welcome')
        self.assertEqual([m for m in self.tool.all('data') if m['data'] == 'unsolicited'], [])

    def test_wrong_password_fails(self):
        self.start(relay=False)
        self.tool.request(op='relay', id='r1', addr=self.coturn.addr, username=self.user, password='bm90IGl0')
        failed = self.tool.wait('relay_failed')
        self.assertEqual(failed['reason'], 'credentials refused')
        self.assertEqual(failed['error'], 401)
        self.tool.wait('no_relays')

    def test_expired_credentials_refused(self):
        # Credentials whose time has passed: coturn refuses the Allocate even with the nonce
        # (401 twice): the relay fails at once, and it was the last one.
        self.start(expiry=int(time.time()) - 10)
        failed = self.tool.wait('relay_failed', timeout=15)
        self.assertEqual(failed['reason'], 'credentials refused')
        self.assertEqual(failed['error'], 401)
        self.tool.wait('no_relays')

    def test_credentials_expire_during_allocation(self):
        # Credentials valid for 3 s. The portal's expires_at passing is an event (the client
        # state asks for fresh ones). coturn, unlike a new Allocate, keeps accepting requests
        # within the allocation after that (it checks the REST timestamp when the allocation is
        # made): a ChannelBind still works. Fresh credentials then replace the allocation.
        expiry = int(time.time()) + 3
        self.start(expiry=expiry)
        self.tool.turn_stats(lambda s: s['allocations'] >= 1)
        self.tool.wait('relay_credentials_expired', timeout=10)
        self.assertGreaterEqual(time.time(), expiry - 0.01)
        self.tool.request(op='turn_peer', id='r1', peer=f'{BED_ADDR}:9')
        stats = self.tool.turn_stats(lambda s: s['channel_binds'] >= 1 or s['state'] == 'failed')
        self.assertEqual(stats['state'], 'ready')
        user, pw = self.coturn.credentials(ttl=3600)
        self.tool.request(op='relay', id='r1', addr=self.coturn.addr, username=user, password=pw)
        stats = self.tool.turn_stats(lambda s: s['allocations'] >= 2, timeout=30)
        self.assertEqual(stats['state'], 'ready')
        self.assertEqual(self.tool.all('relay_failed'), [])

    def test_new_credentials_before_expiry(self):
        # relays_presence with new credentials while the old ones still work: the allocation is
        # deleted with the old ones and made again with the new ones.
        self.start()
        first = self.tool.wait('relay_ready')['addr']
        user, pw = self.coturn.credentials(ttl=7200)
        self.assertNotEqual(user, self.user)
        self.tool.request(op='relay', id='r1', addr=self.coturn.addr, username=user, password=pw)
        again = self.tool.wait('relay_ready')
        stats = self.tool.turn_stats(lambda s: s['allocations'] >= 2)
        self.assertEqual(stats['state'], 'ready')
        self.assertNotEqual(again['addr'], '')
        figure('turn re-allocation with new credentials ms', again['elapsed_ms'])
        self.assertTrue(first)

    def test_relays_presence_removes_relay(self):
        # relays_presence names the relay among disconnected_ids: its relayed candidate is
        # withdrawn from every connection (to be signalled with invalidate_ice_candidates).
        self.start()
        self.tool.wait('relay_ready')
        self.tool.request(op='agent', id='gw', controlling=True, local_ufrag='cli', local_pwd='client-password',
                          remote_ufrag='gw', remote_pwd='gateway-password')
        relay = self.tool.wait('candidate', lambda m: ' typ relay' in m['candidate'])['candidate']
        self.tool.request(op='remove_relay', id='r1')
        gone = self.tool.wait('candidate_invalidated')
        self.assertEqual(gone['candidate'], relay)
        stats = self.tool.request(op='stats') and self.tool.wait('stats')
        self.assertEqual(stats['relays'], {})
        self.assertEqual(self.tool.all('no_relays'), [])  # removed by the portal: not a failure

    def test_relay_dies(self):
        # The relay goes silent: the keepalive Binding (every 25 s) goes unanswered for 8 s and
        # the relay is given up — about 33 s, waited for as an event.
        self.start()
        self.tool.wait('relay_ready')
        self.coturn.proc.stop(signal.SIGKILL)
        t0 = time.monotonic()
        failed = self.tool.wait('relay_failed', timeout=60)
        self.assertEqual(failed['reason'], 'no response')
        self.tool.wait('no_relays')
        self.assertLess(time.monotonic() - t0, 25 + 8 + 2)


class IceAioice(_IceCase):
    """Our agent against aioice: both roles; host candidates, and relayed through coturn with
    the direct path blocked."""

    def connect(self, controlling, relayed, ipv6=False):
        net = IceNet(['client', 'peer', 'relay'])
        coturn = Coturn(self.bed, net, 'relay') if relayed else None
        if relayed:
            net.block('client', 'peer')
        tool = self.make_tool(net, 'client', '--bind=[::]:0' if ipv6 else '--bind=0.0.0.0:0')
        peer = AioicePeer(self.bed, net, 'peer')
        if relayed:
            user, pw = coturn.credentials()
            tool.request(op='relay', id='r1', addr=coturn.addr, username=user, password=pw)
            tool.wait('relay_ready')
            puser, ppw = coturn.credentials()
            peer.send(op='start', controlling=not controlling, turn=[coturn.ip, 3478, puser, ppw])
        else:
            tool.request(op='hosts', addrs='auto')
            peer.send(op='start', controlling=not controlling, ipv6=ipv6)
        theirs = peer.wait('candidates', timeout=30)
        if relayed:
            self.assertTrue(any(' typ relay' in c for c in theirs['candidates']), theirs)

        ufrag, pwd = 'fzcli' + os.urandom(3).hex(), os.urandom(16).hex()
        t0 = time.monotonic()
        tool.request(op='agent', id='gw', controlling=controlling, local_ufrag=ufrag, local_pwd=pwd,
                     remote_ufrag=theirs['ufrag'], remote_pwd=theirs['pwd'])
        ours = [tool.wait('candidate', lambda m: ' typ host' in m['candidate'])['candidate']]
        if relayed:
            ours.append(tool.wait('candidate', lambda m: ' typ relay' in m['candidate'])['candidate'])
        ours += [m['candidate'] for m in tool.all('candidate')]
        for c in ours:
            self.assertTrue(c.startswith('candidate:') and f' ufrag {ufrag}' in c, c)
        peer.send(op='remote', ufrag=ufrag, pwd=pwd, candidates=ours)
        for c in theirs['candidates']:
            tool.request(op='candidate', agent='gw', candidate=c)

        connected = tool.wait('connected', timeout=30)
        t_ours = time.monotonic() - t0
        theirs_connected = peer.wait('connected', timeout=30)
        path = connected['path']
        if relayed:
            self.assertIn('relay', (path['local_type'], path['remote_type']), path)
        else:
            self.assertEqual((path['local_type'], path['remote_type']), ('host', 'host'), path)
            self.assertEqual(path['channel'], 0)
        if ipv6:
            self.assertTrue(path['dest'].startswith('[fd77::'), path)
        kind = ('relay' if relayed else 'host') + (' controlling' if controlling else ' controlled') + (' ipv6' if ipv6 else '')
        figure(f'ICE connected ({kind}, ours) ms', round(connected['elapsed_ms'], 1))
        figure(f'ICE connected ({kind}, aioice) ms', round(theirs_connected['elapsed_ms'], 1))
        figure(f'ICE connected ({kind}, wall clock from agent creation) ms', round(t_ours * 1000, 1))

        # Data after connect, both ways, on the selected pairs.
        tool.request(op='send', agent='gw', data='hello from fzd')
        self.assertEqual(peer.wait('data')['data'], 'hello from fzd')
        peer.send(op='send', data='hello from aioice')
        got = tool.wait('data', lambda m: m['data'] == 'hello from aioice')
        if relayed:
            self.assertTrue(got['via_relay'] or got['from'].startswith(coturn.ip), got)
        # Both stay up through a few consent/keepalive rounds (aioice checks every ~5 s).
        tool.request(op='path', agent='gw')
        self.assertEqual(tool.all('failed'), [])
        if os.environ.get('FZ_ICE_DEBUG'):  # the whole exchange, for whoever tunes timings
            sys.stderr.write(tool.p.output() + peer.p.output())
        return tool, peer, path

    def test_host_controlling(self):
        self.connect(controlling=True, relayed=False)

    def test_host_controlled(self):
        self.connect(controlling=False, relayed=False)

    def test_host_ipv6(self):
        self.connect(controlling=True, relayed=False, ipv6=True)

    def test_relay_controlling(self):
        self.connect(controlling=True, relayed=True)

    def test_relay_controlled(self):
        self.connect(controlling=False, relayed=True)
