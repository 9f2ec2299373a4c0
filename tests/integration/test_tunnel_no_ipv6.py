# SPDX-License-Identifier: Apache-2.0
"""Hosts without IPv6 (issue 16): with net.ipv6.conf.all.disable_ipv6=1 in the bed's network
namespace (as on a host that turned IPv6 off), the real daemon signed in to the local portal
brings the tunnel up IPv4-only with a log line, instead of failing; DNS points only at IPv4
sentinels; sign-out removes everything."""

import subprocess

from portalbed import demo_account
from test_daemon_tunnel import RESOLV_CONF, _TunnelE2E, our_rules, read, table_routes, tun_state

V4_RANGES = {'100.64.0.0/11', '100.96.0.0/11', '100.100.111.0/24'}


def sysctl(key, value):
    subprocess.run(['sysctl', '-q', '-w', f'{key}={value}'], check=True)


class _NoIPv6(_TunnelE2E):
    DEFAULT_TOO = False

    def setUp(self):
        # The bed's own network namespace: the host's sysctls stay as they are.
        sysctl('net.ipv6.conf.all.disable_ipv6', 1)
        if self.DEFAULT_TOO:
            sysctl('net.ipv6.conf.default.disable_ipv6', 1)
        super().setUp()

    def check_tunnel_comes_up_ipv4_only(self):
        st = self.connect()
        account = demo_account()
        self.assertEqual(st['ipv4'], account['interface']['ipv4'])
        # IPv4 only: the address and the DNS stub's sentinel.
        self.assertEqual(tun_state(), {'mtu': 1280, 'up': True, 'addresses': {account['interface']['ipv4'] + '/32'},
                                       'sentinels': {'100.100.111.1/32'}})
        cidrs = {r['address'] for r in account['resources'] if r['type'] == 'cidr' and ':' not in r['address']}
        self.assertEqual(table_routes(), V4_RANGES | cidrs)
        self.assertEqual(sorted(f for f, _ in our_rules()), ['-4'])
        text = read(RESOLV_CONF).decode()
        self.assertIn('nameserver 100.100.111.1', text)
        self.assertNotIn('fd00:', text)
        log = self.bed.daemon.output()
        self.assertIn('IPv6 is disabled on this host', log)
        self.assertEqual(log.count('IPv6 is disabled on this host'), 1)
        # Updates keep working, IPv6 resources are listed but not routed.
        new = {'id': 'bbbbbbbb-0000-4000-8000-000000000011', 'type': 'cidr', 'name': 'v6 lab', 'address': 'fd77::/64'}
        self.portal.control(op='upsert', resource=new)
        self.wait_resources(lambda rs: new['id'] in rs)
        self.assertEqual(table_routes(), V4_RANGES | cidrs)
        self.assertEqual(self.status()['state'], 'connected')

        self.assertOk(self.agent('fz-member').call('SignOut'))
        self.assertIsNone(tun_state())
        self.assertEqual(table_routes(), set())
        self.assertEqual(our_rules(), [])
        self.assertEqual(self.bed.stop_daemon(), 0)
        self.assertEqual(read(RESOLV_CONF), self.original_resolv_conf)


# Each class names its test itself: runner.py --list reads test methods from the class body.
class AllDisabled(_NoIPv6):
    """Only net.ipv6.conf.all: interfaces created later still get the default (enabled)."""

    def test_tunnel_comes_up_ipv4_only(self):
        self.check_tunnel_comes_up_ipv4_only()


class AllAndDefaultDisabled(_NoIPv6):
    """Both, as sysctl.d snippets that turn IPv6 off usually do."""
    DEFAULT_TOO = True

    def test_tunnel_comes_up_ipv4_only(self):
        self.check_tunnel_comes_up_ipv4_only()
