# SPDX-License-Identifier: Apache-2.0
"""The tunnel on the host, driven by the real daemon signed in to the local portal: the TUN,
its addresses, our routing table and policy rules, DNS control (resolv.conf and the real
systemd-resolved), incremental resource routes, crash recovery and bad portal data. Read
back with `ip -j` in the bed's network namespace."""

import copy
import json
import os
import signal
import subprocess

import dnsbed
from portalbed import LocalPortal, demo_account
from test_api import ApiTestCase

TOKEN = 'demo-token-0123456789'
TABLE = '7946'
TUN = 'tun-firezone'
BASE_RANGES = {'100.64.0.0/11', '100.96.0.0/11', '100.100.111.0/24', 'fd00:2021:1111::/107',
               'fd00:2021:1111:8000::/107', 'fd00:2021:1111:8000:100:100:111:0/120'}
RESOLV_CONF = '/etc/resolv.conf'
BACKUP = '/var/lib/dev.firezone.client/resolv.conf.backup'


def ip_json(*args):
    r = subprocess.run(['ip', '-j', *args], capture_output=True, text=True)
    if r.returncode != 0 and 'table does not exist' in r.stderr:
        return []  # a routing table never used (e.g. IPv6 routes on a host without IPv6)
    return json.loads(r.stdout) if r.stdout.strip() else []


def table_routes():
    """Prefixes in our table, as 'dst' strings ('default' for /0)."""
    out = set()
    for fam in ('-4', '-6'):
        for r in ip_json(fam, 'route', 'show', 'table', TABLE):
            dst = r['dst']
            if dst == 'default':
                dst = '0.0.0.0/0' if fam == '-4' else '::/0'
            elif '/' not in dst:
                dst += '/32' if fam == '-4' else '/128'
            out.add(dst)
            assert r.get('dev') == TUN, r
    return out


def our_rules():
    rules = []
    for fam in ('-4', '-6'):
        rules += [(fam, r) for r in ip_json(fam, 'rule', 'show') if str(r.get('table')) == TABLE]
    return rules


def tun_state():
    """The TUN's interface addresses, and apart from them the DNS sentinels the stub serves
    on (IPv4 with scope host, IPv6 deprecated, so neither is ever picked as a source)."""
    links = [l for l in ip_json('link', 'show') if l['ifname'] == TUN]
    if not links:
        return None
    addrs, sentinels = set(), set()
    for l in ip_json('addr', 'show', 'dev', TUN):
        for a in l.get('addr_info', []):
            if a.get('scope') == 'link':
                continue
            sentinel = a.get('scope') == 'host' or a.get('preferred_life_time') == 0
            (sentinels if sentinel else addrs).add(f"{a['local']}/{a['prefixlen']}")
    return {'mtu': links[0]['mtu'], 'up': 'UP' in links[0]['flags'], 'addresses': addrs, 'sentinels': sentinels}


def read(path):
    with open(path, 'rb') as f:
        return f.read()


class _TunnelE2E(ApiTestCase):
    START_DAEMON = False
    DAEMON_ARGS = ('--dns-control=etc-resolv-conf',)
    ACCOUNT = None

    def setUp(self):
        super().setUp()
        self.original_resolv_conf = read(RESOLV_CONF)
        self.portal = LocalPortal(self.bed, account=self.ACCOUNT, token=TOKEN)
        self.addCleanup(self.portal.stop)
        self.secret(TOKEN)
        self.start_daemon()

    def start_daemon(self):
        self.bed.start_daemon(self.DAEMON_ARGS, env={'FIREZONE_API_URL': self.portal.ws_url})
        self.__dict__.pop('_agents', None)  # fresh connections for a fresh daemon
        self.watcher = self.agent('root')
        self.watcher.subscribe('StateChanged')
        self.watcher.subscribe('ResourcesChanged')

    def connect(self):
        self.assertOk(self.sign_in(token=TOKEN))
        self.assertOk(self.watcher.wait_signal('StateChanged', timeout_ms=20000, match={0: 'connected'}))
        st = self.status()
        self.assertEqual((st['state'], st['interface']), ('connected', TUN), st)
        return st

    def wait_resources(self, pred):
        for _ in range(6):
            sig = self.assertOk(self.watcher.wait_signal('ResourcesChanged'))
            if pred({r['id']: r for r in sig['args'][0]}):
                return
        self.fail('no matching ResourcesChanged')

    def expected_routes(self, account, internet=False):
        routes = set(BASE_RANGES)
        for r in account['resources']:
            if r['type'] == 'cidr':
                routes.add(r['address'])
            if r['type'] == 'internet' and internet:
                routes |= {'0.0.0.0/0', '::/0'}
        return routes


class Tunnel(_TunnelE2E):
    def test_connect_builds_exactly_the_tunnel_and_sign_out_removes_it(self):
        st = self.connect()
        account = demo_account()
        iface = account['interface']
        self.assertEqual((st['ipv4'], st['ipv6'], st['dns-control']),
                         (iface['ipv4'], iface['ipv6'], 'etc-resolv-conf'))
        self.assertEqual(tun_state(), {'mtu': 1280, 'up': True,
                                       'addresses': {iface['ipv4'] + '/32', iface['ipv6'] + '/128'},
                                       'sentinels': {'100.100.111.1/32', 'fd00:2021:1111:8000:100:100:111:1/128'}})
        self.assertEqual(table_routes(), self.expected_routes(account))
        # The Internet resource routes the default route only once switched on, and off again.
        self.assertTrue(any(r['type'] == 'internet' for r in account['resources']))
        for on in (True, False):
            self.assertOk(self.agent('fz-member').call('SetInternetResourceEnabled',
                                                       f"({'true' if on else 'false'}, @a{{sv}} {{}})", '(ba{sv})'))
            self.assertEqual(table_routes(), self.expected_routes(account, internet=on))
        rules = our_rules()
        self.assertEqual(sorted(f for f, _ in rules), ['-4', '-6'])
        for _, r in rules:
            self.assertEqual((r.get('priority'), r.get('not'), r.get('fwmark')), (5200, None, '0x1f0a'), r)
        # DNS: resolv.conf points at the sentinels (one per upstream of the portal) with the search domain.
        text = read(RESOLV_CONF).decode()
        self.assertIn('nameserver 100.100.111.1', text)
        self.assertIn('nameserver fd00:2021:1111:8000:100:100:111:1', text)
        self.assertIn('search corp.example.com', text)
        self.assertEqual(read(BACKUP), self.original_resolv_conf)
        # The daemon's own (marked) traffic bypasses our table; everything else is looked up there first.
        self.assertIn(f'dev {TUN}', subprocess.run(['ip', 'route', 'get', '172.16.10.7'], capture_output=True,
                                                    text=True).stdout)
        self.assertNotIn(TUN, subprocess.run(['ip', 'route', 'get', '172.16.10.7', 'mark', '0x1f0a'],
                                             capture_output=True, text=True).stdout)

        self.assertOk(self.agent('fz-member').call('SignOut'))
        self.assertIsNone(tun_state())
        self.assertEqual(table_routes(), set())
        self.assertEqual(our_rules(), [])
        self.assertEqual(self.status()['interface'], '')
        # The DNS revert is asynchronous; the daemon exiting waits for nothing and reverts too.
        self.assertEqual(self.bed.stop_daemon(), 0)
        self.assertEqual(read(RESOLV_CONF), self.original_resolv_conf)
        self.assertFalse(os.path.exists(BACKUP))

    def test_resource_added_and_deleted_changes_exactly_that_route(self):
        self.connect()
        before = table_routes()
        new = {'id': 'bbbbbbbb-0000-4000-8000-000000000001', 'type': 'cidr', 'name': 'Lab',
               'address': '10.77.0.0/16', 'gateway_groups': []}
        self.portal.control(op='upsert', resource=new)
        self.wait_resources(lambda rs: new['id'] in rs)
        self.assertEqual(table_routes(), before | {'10.77.0.0/16'})

        moved = dict(new, address='10.78.0.0/16')
        self.portal.control(op='upsert', resource=moved)
        self.wait_resources(lambda rs: rs.get(new['id'], {}).get('address') == '10.78.0.0/16')
        self.assertEqual(table_routes(), before | {'10.78.0.0/16'})

        self.portal.control(op='delete', id=new['id'])
        self.wait_resources(lambda rs: new['id'] not in rs)
        self.assertEqual(table_routes(), before)

        # A DNS resource has no route of its own.
        dns = {'id': 'bbbbbbbb-0000-4000-8000-000000000002', 'type': 'dns', 'name': 'Wiki',
               'address': 'wiki.corp.example.com', 'gateway_groups': []}
        self.portal.control(op='upsert', resource=dns)
        self.wait_resources(lambda rs: dns['id'] in rs)
        self.assertEqual(table_routes(), before)

    def test_clean_exit_restores_resolv_conf_byte_for_byte(self):
        self.connect()
        self.assertNotEqual(read(RESOLV_CONF), self.original_resolv_conf)
        self.assertEqual(self.bed.stop_daemon(signal.SIGTERM), 0)
        self.assertEqual(read(RESOLV_CONF), self.original_resolv_conf)
        self.assertIsNone(tun_state())
        self.assertEqual(our_rules(), [])

    def test_kill9_then_restart_cleans_up_and_rebuilds(self):
        self.connect()
        expected = table_routes()
        self.bed.stop_daemon(signal.SIGKILL)
        # What a crash leaves: our rules and resolv.conf with its backup (the TUN went with
        # the daemon's fd, and its routes with it).
        self.assertEqual(len(our_rules()), 2)
        self.assertNotEqual(read(RESOLV_CONF), self.original_resolv_conf)
        self.assertTrue(os.path.exists(BACKUP))

        self.start_daemon()  # returns once the name is owned: cleanup is done before that
        self.assertEqual(our_rules(), [])
        self.assertEqual(table_routes(), set())
        self.assertEqual(read(RESOLV_CONF), self.original_resolv_conf)
        self.assertFalse(os.path.exists(BACKUP))

        self.connect()
        self.assertEqual(table_routes(), expected)
        self.assertEqual(len(our_rules()), 2)


class BadPortalData(_TunnelE2E):
    ACCOUNT = copy.deepcopy(demo_account())
    ACCOUNT['resources'] = [
        {'id': 'c0000000-0000-4000-8000-000000000001', 'type': 'cidr', 'name': 'good', 'address': '10.30.0.0/16'},
        {'id': 'c0000000-0000-4000-8000-000000000002', 'type': 'cidr', 'name': 'prefix too long',
         'address': '10.0.0.0/33'},
        {'id': 'c0000000-0000-4000-8000-000000000003', 'type': 'cidr', 'name': 'not an address',
         'address': 'ten.zero/8'},
        {'id': 'c0000000-0000-4000-8000-000000000004', 'type': 'cidr', 'name': 'default route',
         'address': '0.0.0.0/0'},
        {'id': 'c0000000-0000-4000-8000-000000000005', 'type': 'cidr', 'name': 'host bits',
         'address': '10.1.2.3/8'},
        {'id': 'c0000000-0000-4000-8000-000000000006', 'type': 'cidr', 'name': 'loopback',
         'address': '127.0.0.0/8'},
        {'id': 'c0000000-0000-4000-8000-000000000007', 'type': 'cidr', 'name': 'good v6',
         'address': 'fd99::/64'},
    ]

    def test_bad_addresses_are_skipped_and_the_rest_applied(self):
        self.connect()
        self.assertEqual(table_routes(), BASE_RANGES | {'10.30.0.0/16', 'fd99::/64'})
        self.assertTrue(self.bed.daemon.running())
        log = self.bed.daemon.output()
        # Not an address at all: the resource itself is skipped (logged), the rest applied.
        self.assertIn('Portal: skipping resource 1 (c0000000-0000-4000-8000-000000000002) of init: "address" is not '
                      'an IP address or prefix.', log)
        self.assertIn('Portal: skipping resource 2 (c0000000-0000-4000-8000-000000000003) of init', log)
        # Valid syntax the tunnel must not route: listed, but its route refused with a log line.
        self.assertIn('c0000000-0000-4000-8000-000000000005 has an invalid address, skipping its route', log)
        self.assertIn('0.0.0.0/0', log)    # a default route outside the Internet resource
        self.assertIn('127.0.0.0/8', log)  # loopback
        ids = {r['id'][-1] for r in self.assertOk(self.agent('fz-member').call('ListResources'))[0]}
        self.assertEqual(ids, {'1', '4', '5', '6', '7'})


class Resolved(_TunnelE2E):
    """DNS control through the real systemd-resolved (unpacked, never installed; see dnsbed)."""
    DAEMON_ARGS = ('--dns-control=systemd-resolved',)

    def setUp(self):
        bed = __import__('fzbed').BED
        self.resolved = dnsbed.Resolved(bed)
        self.resolved.prepare()
        self.resolved.start()
        super().setUp()

    def sender_pid(self, unique_name):
        from gi.repository import Gio, GLib
        return self.bed.connection().call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus',
                                               'GetConnectionUnixProcessID', GLib.Variant('(s)', (unique_name,)), None,
                                               Gio.DBusCallFlags.NONE, 5000, None).unpack()[0]

    def link(self, name):
        return self.resolved.link_property(dnsbed.ifindex(TUN), name)

    def test_link_settings_then_revert_link(self):
        st = self.connect()
        self.assertEqual(st['dns-control'], 'systemd-resolved')
        ifindex = dnsbed.ifindex(TUN)
        servers = {bytes(a).hex() for fam, a in self.link('DNS')}
        self.assertEqual(servers, {'64646f01', 'fd002021111180000100010001110001'})
        self.assertEqual(sorted(map(tuple, self.link('Domains'))), [('.', True), ('corp.example.com', False)])
        self.assertTrue(self.link('DefaultRoute'))
        # Where resolved sends a query: to the DNS stub, a local address of the TUN.
        routed = subprocess.run(['ip', 'route', 'get', '100.100.111.1', 'oif', TUN], capture_output=True,
                                text=True).stdout
        self.assertTrue(routed.startswith('local 100.100.111.1 '), routed)
        out = dnsbed.resolvectl('domain', TUN).stdout
        self.assertIn('corp.example.com', out)

        # Watch the daemon's calls to resolved: sign-out must RevertLink the TUN's ifindex.
        monitor = self.bed.agent('root')
        self.assertOk(monitor.become_monitor(
            ["type='method_call',interface='org.freedesktop.resolve1.Manager',member='RevertLink'"]))
        self.assertOk(self.agent('fz-member').call('SignOut'))
        calls = self.assertOk(monitor.monitored('RevertLink', count=1))
        self.assertEqual([c['args'] for c in calls if c['member'] == 'RevertLink'], [[ifindex]])
        # From the daemon (DNS control has a bus connection of its own, see os.c).
        self.assertEqual([self.sender_pid(c['sender']) for c in calls], [self.bed.daemon_pid()])
        self.assertEqual([l for l in ip_json('link', 'show') if l['ifname'] == TUN], [])
        self.assertNotIn(ifindex, [i for i, *_ in self.resolved.manager_property('DNS')])
        self.assertEqual(self.bed.stop_daemon(), 0)


def account_without_upstreams():
    """The demo account with no upstream resolvers of its own (so the sentinels stand for
    the system's) and no Internet resource."""
    acc = copy.deepcopy(demo_account())
    acc['interface'].pop('upstream_do53', None)
    acc['interface'].pop('upstream_dns', None)
    acc['resources'] = [r for r in acc['resources'] if r['type'] != 'internet']
    return acc


def sentinel_hex(*addresses):
    import ipaddress
    return sorted(ipaddress.ip_address(a).packed.hex() for a in addresses)


class ResolvedFollowsTheSystem(_TunnelE2E):
    """The system's resolvers as systemd-resolved has them, followed while connected: the
    daemon hears resolved's PropertiesChanged (which the bus policy must let through to
    it) and re-applies its link's sentinels, one per upstream."""
    DAEMON_ARGS = ('--dns-control=systemd-resolved',)
    ACCOUNT = account_without_upstreams()

    def setUp(self):
        bed = __import__('fzbed').BED
        os.makedirs('/etc/systemd', exist_ok=True)
        with open('/etc/systemd/resolved.conf', 'w') as f:
            f.write('[Resolve]\nDNS=192.0.2.53\nFallbackDNS=\nLLMNR=no\nMulticastDNS=no\n')
        subprocess.run(['ip', 'link', 'add', 'veth-lan', 'type', 'veth', 'peer', 'name', 'veth-peer'], check=True)
        self.resolved = dnsbed.Resolved(bed)
        self.resolved.prepare()
        self.resolved.start()
        super().setUp()

    def link_dns(self):
        return sorted(bytes(a).hex() for fam, a in self.resolved.link_property(dnsbed.ifindex(TUN), 'DNS'))

    def test_sentinels_follow_the_systems_resolvers(self):
        self.connect()
        self.assertEqual(self.link_dns(), sentinel_hex('100.100.111.1'))
        monitor = self.bed.agent('root')
        self.assertOk(monitor.become_monitor(
            ["type='method_call',interface='org.freedesktop.resolve1.Manager',member='SetLinkDNS'"]))
        # The LAN's DHCP hands out two more servers: three upstreams, three sentinels.
        dnsbed.resolvectl('dns', 'veth-lan', '198.51.100.53', '2001:db8::53')
        calls = self.assertOk(monitor.monitored('SetLinkDNS', count=1, timeout_ms=15000))
        self.assertEqual({c['sender'] for c in calls}, {self.bed.name_owner('dev.firezone.Client1')})
        self.assertEqual(self.link_dns(), sentinel_hex('100.100.111.1', '100.100.111.2',
                                                       'fd00:2021:1111:8000:100:100:111:1'))
        self.assertEqual(self.status()['state'], 'connected')

    def emit_forged_properties_changed(self, user):
        """A PropertiesChanged that claims to be resolved's, sent to the daemon (unicast)."""
        r = subprocess.run(self.bed.as_user_argv(user, [
            'busctl', '--system', f'--destination={self.bed.name_owner("dev.firezone.Client1")}', 'emit',
            '/org/freedesktop/resolve1', 'org.freedesktop.DBus.Properties', 'PropertiesChanged', 'sa{sv}as',
            'org.freedesktop.resolve1.Manager', '0', '0']), capture_output=True, text=True, env=self.bed.env())
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_forged_resolved_signal_is_ignored(self):
        self.connect()
        # An outsider's signal addressed to the daemon is refused by the bus (only broadcasts
        # pass). A group member may send to the daemon's Properties interface, signals
        # included: a PropertiesChanged that claims to be resolved's must not be believed.
        self.emit_forged_properties_changed('fz-outsider')
        self.emit_forged_properties_changed('fz-member')
        ignored = 'Ignoring a PropertiesChanged on /org/freedesktop/resolve1 from'
        self.bed.wait_for_log(self.bed.daemon, ignored)
        # Sent after the outsider's and arrived: the outsider's never did.
        self.assertEqual(self.bed.daemon.output().count(ignored), 1, self.bed.daemon.output())
