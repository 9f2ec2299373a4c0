# SPDX-License-Identifier: Apache-2.0
"""The test gateway's data plane (tests/gateway/fzgw-dataplane, README there) behind its
controller in the test world, against a scripted client (gwclient.py: aioice for ICE,
WireGuard written in Python, a TUN of its own) — so the gateway is proven on its own,
independently of the daemon and of the engine both are built on.

What each class proves: a download from the resource network through the gateway over a
direct path (cone NATs), through coturn (symmetric NATs) and between host candidates (the
client on the gateway's LAN), with the file's SHA-256; filters and authorization answered
with ICMP "administratively prohibited" and `denied` events, new filters from the portal;
the DNS-resource NAT (proxy IPs → resolved addresses and back, round-robin, Inactive names,
goodbye); reject_access, bad orders, and a clean exit (TUN removed, allocations deleted)."""

import itertools
import os
import time

import fzbed
import gatewaybed
import worldbed
from worldbed import RES, RESOURCE_NET, SITE

PYTHON = '/usr/bin/python3'
CLIENT_TUN = 'fzgwc0'
ROUTES = ['10.20.0.0/24', 'fd00:20::/64', '100.96.0.0/11', 'fd00:2021:1111:8000::/107']
PROXY4 = [f'100.96.0.{i}' for i in range(1, 5)]
PROXY6 = [f'fd00:2021:1111:8000::{i}' for i in range(1, 5)]
NOWHERE = {'id': '11111111-1111-4111-8111-0000000000e0', 'type': 'dns', 'name': 'Nowhere',
           'address': 'nowhere.corp.test', 'gateway_groups': [dict(SITE)], 'filters': []}

# Connects a TCP socket and prints the errno it ends with (0: connected).
CONNECT = '''
import socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
s.settimeout(float(sys.argv[3]))
print(s.connect_ex((sys.argv[1], int(sys.argv[2]))))
'''


class _Dataplane(fzbed.BedTestCase):
    START_DAEMON = False
    WORLD = {}
    counter = itertools.count(1)

    def setUp(self):
        super().setUp()
        self.world = worldbed.World(self.bed, **self.WORLD)
        self.addCleanup(self.world.close)
        self.secret(self.world.token)
        self.secret(self.world.gateway_token)
        # FZGW_DATAPLANE_ARGS="--log-level debug --ice-debug" for the data plane's details;
        # FZGW_DATAPLANE=…/build-asan/tests/gateway/fzgw-dataplane for a sanitizer build.
        self.gw = self.world.start_gateway(
            dataplane=[os.environ.get('FZGW_DATAPLANE', worldbed.GATEWAY_DATAPLANE),
                       *os.environ.get('FZGW_DATAPLANE_ARGS', '').split()])
        self.addCleanup(self.stops_cleanly)
        # Both relay entries (IPv4, IPv6) hold allocations before a client shows up: every
        # candidate of the gateway goes out in its first batch.
        self.gw.wait_event('dataplane', 'in', 'relay', match={'state': 'ready'}, count=2)

    def stops_cleanly(self):
        """Every test ends with EOF to the data plane: it must exit 0 (under a sanitizer
        that includes no leak and no error report)."""
        code = self.gw.stop()
        out = self.gw.output()
        self.assertNotIn('Sanitizer', out)
        self.assertNotIn('runtime error', out)
        self.assertEqual(code, 0, out[-3000:])

    # ---- helpers ------------------------------------------------------------------------------
    def connect_client(self, resources=(RES['cidr4'],), role='client', turn=True, offer=('host', 'srflx', 'relay')):
        """A scripted client in `role`'s namespace, authorized for `resources` (the first one
        opens the connection), connected over ICE and WireGuard, its TUN up. Returns the
        client, its id at the gateway, and the path aioice nominated. aioice nominates the
        first pair that answers (aggressive nomination): to test a kind of path, the client
        goes without TURN (turn=False) and hears only of the gateway's candidates of the
        types in `offer`."""
        w = self.world
        n = next(self.counter)
        cl = gatewaybed.ScriptedPeer(w, role, f'gwclient-{n}', script=gatewaybed.GWCLIENT)
        w.peers.append(cl)
        pk = cl.connect('client', w.token, f'scripted-client-{n}')['public_key']
        init = cl.portal('init')
        grants = []
        for rid in resources:
            cl.order('push', event='request_authorization', payload={'resource_id': rid, 'connected_gateway_ids': []})
            grants.append(cl.portal('authorization_created', pred=lambda p, rid=rid: p['resource_id'] == rid))
        ac = grants[0]
        cl.send(op='ice_start', controlling=True, local=ac['client_ice_credentials'],
                remote=ac['gateway_ice_credentials'], relays=init['relays'], turn=turn)
        cands = cl.wait('local_candidates')['candidates']
        cl.order('push', event='new_gateway_ice_candidates', payload={'gateway_id': ac['gateway_id'],
                                                                      'candidates': cands})
        theirs = cl.portal('ice_candidates')['candidates']
        cl.order('ice_remote', candidates=[c for c in theirs if c.split(' typ ')[1].split()[0] in offer])
        cl.order('ice_connect', timeout=40)  # emits ice_connected or ice_failed before its ok
        failed = [e for e in cl.queue if e['event'] == 'ice_failed']
        self.assertEqual(failed, [], 'aioice did not connect')
        path = cl.wait('ice_connected', timeout=1)
        iface = init['interface']
        cl.order('tunnel', name=CLIENT_TUN, ipv4=iface['ipv4'], ipv6=iface.get('ipv6'), routes=ROUTES)
        cl.order('wg_start', public_key=ac['gateway_public_key'], preshared_key=ac['preshared_key'], timeout=40)
        cid = next(e['message']['client']['id'] for e in self.gw.events('dataplane', 'out', 'authorize')
                   if e['message']['client']['public_key'] == pk)
        self.gw.wait_event('dataplane', 'in', 'connection', match={'client_id': cid, 'state': 'connected'})
        return cl, cid, path

    def connection(self, cid, state):
        return self.gw.wait_event('dataplane', 'in', 'connection', match={'client_id': cid, 'state': state})[0]['message']

    def connect_errno(self, host, port, role='client', timeout=10):
        """How a TCP connect from `role` ends: 0, or the errno (113: EHOSTUNREACH)."""
        start = time.monotonic()
        r = self.world.run(role, [PYTHON, '-c', CONNECT, host, str(port), str(timeout)], timeout=timeout + 20)
        return int(r.stdout.strip()), time.monotonic() - start

    def fetch_ok(self, url, role='client', **kw):
        got = self.world.fetch(url, role=role, **kw)
        self.assertTrue(got['ok'], got)
        self.assertEqual(got['bytes'], self.world.file_size)
        return got

    def stats(self):
        return self.gw.dataplane('stats')


class Direct(_Dataplane):
    def test_download_over_a_direct_path(self):
        # A client on the Internet itself (no NAT of its own) reaches the gateway behind its
        # NAT through the gateway's server-reflexive candidate.
        cl, cid, path = self.connect_client(resources=(RES['cidr4'], RES['cidr6']), role='inet', turn=False,
                                            offer=('host', 'srflx'))
        self.assertFalse(path['relayed'], path)
        self.assertIn(path['remote']['host'], (self.world.addr('grouter'), self.world.addr('grouter', '6')), path)
        conn = self.connection(cid, 'connected')
        self.assertFalse(conn['path']['relayed'], conn)
        self.assertIn(conn['path']['remote']['host'], (self.world.addr('inet'), self.world.addr('inet', '6')), conn)
        got = self.fetch_ok(self.world.url(), role='inet')
        ipv6 = self.fetch_ok(self.world.url(family='6'), role='inet')
        st = self.stats()
        mine, = st['connections']
        self.assertEqual((mine['client_id'], mine['state'], sorted(mine['authorizations'])),
                         (cid, 'connected', sorted([RES['cidr4'], RES['cidr6']])))
        self.assertGreater(mine['tx_bytes'], 2 * self.world.file_size)
        print(f'\ndirect: connected in {conn["elapsed_ms"]:.0f} ms after the authorization; '
              f'download {got["bytes"] / got["seconds"] / 1e6:.1f} MB/s (IPv6 {ipv6["bytes"] / ipv6["seconds"] / 1e6:.1f})')


class Relayed(_Dataplane):
    WORLD = {'client_nat': 'symmetric', 'gateway_nat': 'symmetric'}

    def test_download_through_the_relay(self):
        cl, cid, path = self.connect_client()
        self.assertTrue(path['relayed'], path)
        conn = self.connection(cid, 'connected')
        self.assertTrue(conn['path']['relayed'], conn)
        self.assertIn('relay', (conn['path']['local']['type'], conn['path']['remote']['type']))
        got = self.fetch_ok(self.world.url())
        print(f'\nrelayed: connected in {conn["elapsed_ms"]:.0f} ms after the authorization; '
              f'download {got["bytes"] / got["seconds"] / 1e6:.1f} MB/s')


class HostPath(_Dataplane):
    def test_host_candidates_on_the_gateways_lan(self):
        # The gateway's router stands on the gateway's LAN: a client there reaches the gateway's
        # host candidate directly, without NAT.
        cl, cid, path = self.connect_client(role='grouter', turn=False, offer=('host',))
        conn = self.connection(cid, 'connected')
        self.assertEqual((conn['path']['local']['type'], conn['path']['remote']['type']), ('host', 'host'), conn)
        self.assertIn(conn['path']['local']['host'], (self.world.addr('gateway'), self.world.addr('gateway', '6')))
        self.fetch_ok(self.world.url(), role='grouter')


class Policy(_Dataplane):
    def test_filters_and_authorization_are_answered_with_icmp_prohibited(self):
        cl, cid, _ = self.connect_client(resources=(RES['filtered'],))
        filtered = RESOURCE_NET['filtered'][0]
        # Allowed: TCP port 80 of 10.20.0.11.
        got = self.world.fetch(self.world.url(host=filtered, path='/index.html'))
        self.assertNotIn('error', got)
        # The filter refuses another port: the client's kernel gets "administratively
        # prohibited" at once (EHOSTUNREACH), not a timeout.
        err, took = self.connect_errno(filtered, worldbed.IPERF_PORT)
        self.assertEqual(err, 113)
        self.assertLess(took, 5)
        icmp = cl.wait('icmp')
        self.assertEqual((icmp['type'], icmp['code'], icmp['src'], icmp['quoted_dst']), (3, 13, filtered, filtered))
        denied = self.gw.wait_event('dataplane', 'in', 'denied', match={'reason': 'filter'})[0]['message']
        self.assertEqual((denied['client_id'], denied['resource_id'], denied['protocol'], denied['dst'],
                          denied['dst_port']), (cid, RES['filtered'], 'tcp', filtered, worldbed.IPERF_PORT))
        # 10.20.0.10 is in no resource this client holds.
        err, _ = self.connect_errno(RESOURCE_NET['server'][0], worldbed.HTTP_PORT)
        self.assertEqual(err, 113)
        denied = self.gw.wait_event('dataplane', 'in', 'denied', match={'reason': 'unauthorized'})[0]['message']
        self.assertEqual((denied['client_id'], denied['resource_id'], denied['dst']),
                         (cid, None, RESOURCE_NET['server'][0]))
        # So is IPv6 (ICMPv6 type 1 code 1: EACCES for TCP).
        err, _ = self.connect_errno(RESOURCE_NET['server'][1], worldbed.HTTP_PORT)
        self.assertEqual(err, 13)
        icmp = cl.wait('icmp', lambda e: ':' in e['src'])
        self.assertEqual((icmp['type'], icmp['code'], icmp['src']), (1, 1, RESOURCE_NET['server'][1]))

    def test_new_filters_from_the_portal_apply_to_the_next_packet(self):
        cl, cid, _ = self.connect_client(resources=(RES['filtered'],))
        filtered = RESOURCE_NET['filtered'][0]
        self.assertEqual(self.connect_errno(filtered, worldbed.IPERF_PORT)[0], 113)
        res = next(r for r in self.world.account['resources'] if r['id'] == RES['filtered'])
        res = dict(res, filters=[{'protocol': 'tcp', 'port_range_start': 5000, 'port_range_end': 5300},
                                 {'protocol': 'icmp'}])
        self.assertEqual(self.world.portal.control(op='upsert', resource=res)['gateways_updated'], 1)
        upd = self.gw.wait_event('dataplane', 'out', 'resource_updated')[0]
        self.gw.wait_event('dataplane', 'in', 'ok', match={'id': upd['message']['id']})
        self.assertEqual(self.connect_errno(filtered, worldbed.IPERF_PORT)[0], 0)
        self.assertEqual(self.connect_errno(filtered, worldbed.HTTP_PORT)[0], 113)
        r = self.world.run('client', ['ping', '-c', '1', '-W', '5', filtered], check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


class DnsResource(_Dataplane):
    def setUp(self):
        super().setUp()
        self.world.portal.control(op='upsert', resource=NOWHERE)

    def announce(self, cl, resource, domain, proxies):
        cl.order('p2p_send', event=0, body={'resource': resource, 'domain': domain, 'proxy_ips': proxies})
        status = cl.wait('p2p', lambda e: e['body']['domain'] == domain)
        self.assertEqual((status['type'], status['body']['resource']), (1, resource))
        return status['body']['status']

    def test_proxy_ips_lead_to_the_resolved_address_and_back(self):
        cl, cid, _ = self.connect_client(resources=(RES['dns'],))
        self.assertEqual(self.announce(cl, RES['dns'], worldbed.DNS_NAME, PROXY4 + PROXY6), 'Active')
        ev = self.gw.wait_event('dataplane', 'in', 'dns_resource')[0]['message']
        server4, server6 = RESOURCE_NET['server']
        self.assertEqual((ev['client_id'], ev['resource_id'], ev['domain'], ev['status']),
                         (cid, RES['dns'], worldbed.DNS_NAME, 'Active'))
        self.assertEqual(sorted(ev['addresses']), sorted([server4, server6]))
        # One address per family: every proxy IP of the family leads to it (round-robin).
        self.assertEqual(ev['mapping'], {**{p: server4 for p in PROXY4}, **{p: server6 for p in PROXY6}})
        # TCP only connects if the answers come back from the proxy IP the client used.
        self.fetch_ok(self.world.url(host=PROXY4[0]), extra=('--header', f'Host: {worldbed.DNS_NAME}'))
        self.fetch_ok(self.world.url(host=PROXY6[2]))
        r = self.world.run('client', ['ping', '-c', '1', '-W', '5', PROXY4[1]], check=False)
        self.assertIn(f'from {PROXY4[1]}', r.stdout)
        flow = self.gw.wait_event('dataplane', 'in', 'flow', match={'dst': PROXY4[0], 'state': 'new'})[0]['message']
        self.assertEqual((flow['client_id'], flow['resource_id'], flow['real'], flow['protocol'], flow['dst_port']),
                         (cid, RES['dns'], server4, 'tcp', worldbed.HTTP_PORT))
        # Packets to a proxy IP nobody announced are unauthorized.
        self.assertEqual(self.connect_errno('100.96.0.99', worldbed.HTTP_PORT)[0], 113)

    def test_wildcards_inactive_names_and_goodbye(self):
        cl, cid, _ = self.connect_client(resources=(RES['wildcard'], NOWHERE['id'], RES['dns']))
        # A name the wildcard covers; one it does not; one that does not resolve.
        self.assertEqual(self.announce(cl, RES['wildcard'], worldbed.WILDCARD_EXAMPLE, PROXY4), 'Active')
        self.assertEqual(self.announce(cl, RES['wildcard'], 'svc.example.test', PROXY6), 'Inactive')
        self.assertEqual(self.announce(cl, NOWHERE['id'], NOWHERE['address'], ['100.96.1.1']), 'Inactive')
        ev = self.gw.wait_event('dataplane', 'in', 'dns_resource', match={'domain': NOWHERE['address']})[0]['message']
        self.assertEqual((ev['status'], ev['addresses']), ('Inactive', []))
        self.fetch_ok(self.world.url(host=PROXY4[3]))
        # Asked again (the client does every 2 s while pending): answered again, re-resolved.
        self.assertEqual(self.announce(cl, RES['wildcard'], worldbed.WILDCARD_EXAMPLE, PROXY4), 'Active')
        self.gw.wait_event('dataplane', 'in', 'dns_resource', match={'domain': worldbed.WILDCARD_EXAMPLE}, count=2)
        # Goodbye drops every proxy IP of the client.
        cl.order('p2p_send', event=2)
        self.gw.wait_event('dataplane', 'in', 'goodbye', match={'client_id': cid})
        self.assertEqual(self.connect_errno(PROXY4[3], worldbed.HTTP_PORT)[0], 113)
        self.assertEqual(self.stats()['connections'][0]['proxy_ips'], 0)


class Lifecycle(_Dataplane):
    def test_reject_access_closes_the_connection(self):
        cl, cid, _ = self.connect_client(resources=(RES['cidr4'], RES['filtered']))
        self.assertEqual(sorted(self.stats()['connections'][0]['authorizations']), sorted([RES['cidr4'], RES['filtered']]))
        self.world.portal.control(op='reject_access', client_id=cid, resource_id=RES['cidr4'])
        rej = self.gw.wait_event('dataplane', 'out', 'reject_access')[0]['message']
        self.gw.wait_event('dataplane', 'in', 'ok', match={'id': rej['id']})
        # From the next packet on, 10.20.0.10 is unauthorized; the connection stays for the rest.
        self.assertEqual(self.connect_errno(RESOURCE_NET['server'][0], worldbed.HTTP_PORT)[0], 113)
        self.assertEqual(self.stats()['connections'][0]['authorizations'], [RES['filtered']])
        self.world.portal.control(op='reject_access', client_id=cid, resource_id=RES['filtered'])
        closed = self.connection(cid, 'closed')
        self.assertEqual(closed['reason'], 'access rejected')
        self.assertEqual(self.stats()['connections'], [])

    def test_relays_presence_withdraws_and_restores_relayed_candidates(self):
        # A direct connection survives its relay going away; the relayed candidate does not.
        cl, cid, _ = self.connect_client(role='inet', turn=False, offer=('host', 'srflx'))
        w = self.world
        w.portal.control(op='relay_down', id=worldbed.RELAY_ID)
        order = self.gw.wait_event('dataplane', 'out', 'relays')[0]['message']
        self.assertEqual(order['disconnected_ids'], [worldbed.RELAY_ID])
        gone = self.gw.wait_event('dataplane', 'in', 'invalidated_candidates', match={'client_id': cid})
        self.assertTrue(all(' typ relay' in c for c in gone[0]['message']['candidates']), gone)
        # No relay left: the gateway says so, and the portal hears it.
        self.gw.wait_event('dataplane', 'in', 'no_relays')
        self.gw.wait_event('portal', 'out', 'no_relays')
        self.assertEqual(self.stats()['relays'], [])
        self.fetch_ok(w.url(), role='inet')
        # Back: allocated anew, and the connection gets a relayed candidate again.
        seq = self.gw.control(op='status')['last_seq']
        w.portal.control(op='relay_up', id=worldbed.RELAY_ID)
        self.gw.wait_event('dataplane', 'in', 'relay', match={'state': 'ready'}, after=seq)
        again = self.gw.wait_event('dataplane', 'in', 'candidates', match={'client_id': cid}, after=seq)
        self.assertTrue(any(' typ relay' in c for c in again[0]['message']['candidates']), again)
        self.assertEqual(self.stats()['relays'], [worldbed.RELAY_ID])

    def test_bad_orders_are_answered_and_change_nothing(self):
        bad = [
            {'op': 'no_such_op'},
            {'op': 'authorize', 'client': {'id': 'x'}},
            {'op': 'authorize', 'client': {'id': 'x', 'public_key': 'AAAA', 'preshared_key': 'AAAA'}},
            {'op': 'reject_access', 'client_id': 'nobody', 'resource_id': RES['cidr4']},
            {'op': 'resource_updated', 'resource': {'id': RES['filtered'], 'type': 'cidr', 'address': '10.20.0.11/32',
                                                    'filters': [{'protocol': 'tcp', 'port_range_start': 90,
                                                                 'port_range_end': 80}]}},
            {'op': 'relays', 'connected': [{'id': 'r', 'type': 'turn', 'addr': 'nowhere'}]},
        ]
        for order in bad:
            answer = self.gw.control(op='dataplane', order=order)
            self.assertEqual(answer['event'], 'error', (order, answer))
            self.assertTrue(answer['message'], answer)
        self.assertEqual(self.stats()['event'], 'ok')
        # Orders without an id get no answer, lines that are not JSON neither: the data plane
        # goes on (the controller would log a malformed line from it).
        st = self.gw.control(op='status')
        self.assertEqual(self.stats()['relays'], [worldbed.RELAY_ID])
        self.assertEqual(self.gw.control(op='status')['dataplane_pid'], st['dataplane_pid'])

    def test_eof_closes_connections_removes_the_tun_and_releases_allocations(self):
        cl, cid, _ = self.connect_client()
        self.assertEqual(self.world.run('gateway', ['ip', 'link', 'show', 'tun-firezone'], check=False).returncode, 0)
        self.assertEqual(self.gw.stop(), 0)
        out = self.gw.output()
        self.assertIn('the data plane exited with code 0', out)
        self.assertIn(f'client {cid}: closed', out)
        self.assertNotEqual(self.world.run('gateway', ['ip', 'link', 'show', 'tun-firezone'], check=False).returncode, 0)
        r = self.world.run('gateway', ['ip', 'route', 'show', '100.64.0.0/11'])
        self.assertEqual(r.stdout.strip(), '')
        # coturn saw both allocations deleted (Refresh with lifetime 0).
        self.bed.wait_for_log(self.world.coturn, 'lifetime=0', timeout=10)
        log = self.world.coturn.output()
        self.assertGreaterEqual(log.count('lifetime=0'), 2, log[-3000:])


if __name__ == '__main__':
    import unittest
    unittest.main()
