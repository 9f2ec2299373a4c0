# SPDX-License-Identifier: Apache-2.0
"""The tunnel on the host (issue 6, TUN and routes): tun-firezone, its addresses, our
table's routes and the policy rules, driven through fzd-tunnel-tool (the fzd_tunnel_* API)
in the bed's private network namespace and read back with `ip -j`."""

import os
import socket

from fzbed import BedTestCase
from tunnelbed import (BASE4, BASE6, MARK, PRIORITY, TABLE, TUN, TunnelTool, global_addresses, ip, ip_json,
                       link, our_rules, table_routes, write_lines)

V4 = '100.64.0.2'
V6 = 'fd00:2021:1111::2'
SO_MARK = 36


class TunnelCase(BedTestCase):
    START_DAEMON = False

    def setUp(self):
        super().setUp()
        # No duplicate address detection in the bed's netns: a link-local address that
        # turns valid a second later would be an address event no test asked for.
        for conf in ('all', 'default'):
            with open(f'/proc/sys/net/ipv6/conf/{conf}/accept_dad', 'w') as f:
                f.write('0')

    def tool(self, *args, wrapper=None):
        t = TunnelTool(self.bed.dir, args, wrapper=wrapper)
        self.addCleanup(t.close)
        self.addCleanup(lambda: self._print_log_on_failure(t))
        if os.environ.get('FZ_TUNNEL_TOOL_WRAPPER'):
            # Under valgrind (--error-exitcode): every tool must end cleanly.
            self.addCleanup(lambda: self.assertIn(t.finish(), (0, -9), 'tool exited with an error (see its log)'))
        return t

    def _print_log_on_failure(self, t):
        self._tool_logs = getattr(self, '_tool_logs', [])
        self._tool_logs.append(t.output)

    def run(self, result=None):
        result = result if result is not None else self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        super().run(result)
        if len(result.failures) + len(result.errors) > before:
            import sys
            for out in getattr(self, '_tool_logs', []):
                sys.stderr.write('\n===== fzd-tunnel-tool log =====\n' + out() + '\n')
        return result

    def file(self, name, lines):
        return write_lines(os.path.join(self.bed.dir, name), lines)

    def uplink(self):
        """A veth pair standing in for the host's real network, with default routes."""
        ip('link', 'add', 'uplink0', 'type', 'veth', 'peer', 'name', 'uplink1')
        ip('link', 'set', 'uplink0', 'up')
        ip('link', 'set', 'uplink1', 'up')
        ip('addr', 'add', '192.0.2.1/24', 'dev', 'uplink0')
        ip('-6', 'addr', 'add', '2001:db8::1/64', 'dev', 'uplink0', 'nodad')
        ip('route', 'add', 'default', 'via', '192.0.2.254')
        ip('-6', 'route', 'add', 'default', 'via', '2001:db8::ffff')

    # ---- assertions ----

    def assertTunnelState(self, v4=V4, v6=V6, routes4=(), routes6=(), internet=False):
        l = link()
        self.assertIsNotNone(l, f'{TUN} does not exist')
        self.assertEqual(l['mtu'], 1280)
        self.assertIn('UP', l['flags'])
        self.assertEqual(l['linkinfo']['info_kind'], 'tun')
        data = l['linkinfo']['info_data']
        self.assertEqual((data['type'], data['pi'], data['persist']), ('tun', False, False))

        want_addrs = set()
        if v4:
            want_addrs.add(f'{v4}/32')
        if v6:
            want_addrs.add(f'{v6}/128')
        self.assertEqual(global_addresses(), want_addrs)

        for family, on, base, extra, default in ((4, v4, BASE4, routes4, '0.0.0.0/0'),
                                                 (6, v6, BASE6, routes6, '::/0')):
            want = set()
            if on:
                want = set(base) | set(extra) | ({default} if internet else set())
            routes = table_routes(family)
            self.assertEqual(set(routes), want, f'IPv{family} routes of table {TABLE}')
            for dst, r in routes.items():
                self.assertEqual((r['dev'], r['protocol']), (TUN, 'static'), dst)
            rules = our_rules(family)
            if on:
                self.assertEqual(len(rules), 1, rules)
                self.assertEqual((rules[0]['priority'], rules[0]['fwmark'], rules[0]['src']), (PRIORITY, MARK, 'all'))
                self.assertIn('not', rules[0])  # not fwmark …: marked packets skip the table
            else:
                self.assertEqual(rules, [])

    def assertNothingLeft(self):
        self.assertIsNone(link())
        self.assertEqual(table_routes(4), {})
        self.assertEqual(table_routes(6), {})
        self.assertEqual(our_rules(4), [])
        self.assertEqual(our_rules(6), [])


class Lifecycle(TunnelCase):
    def test_up_creates_exactly_the_expected_state(self):
        t = self.tool()
        r = t.ok(f'up {V4} {V6}')
        # Link, two addresses, six base routes, two rules: one batch, one sendmsg.
        self.assertEqual((r['requests'], r['sends']), (11, 1))
        self.assertGreater(r['ifindex'], 0)
        self.assertTunnelState()
        self.assertIn(f'Created {TUN}', t.output())

    def test_down_removes_everything_and_up_rebuilds(self):
        t = self.tool()
        t.ok(f'up {V4} {V6}')
        t.ok('add 10.0.0.0/8 fd12:3456::/48')
        t.ok('internet on')
        self.assertTunnelState(routes4={'10.0.0.0/8'}, routes6={'fd12:3456::/48'}, internet=True)
        t.ok('down')
        self.assertNothingLeft()
        t.ok('down')  # idempotent
        t.ok(f'up {V4} {V6}')
        self.assertTunnelState()  # down forgot the resources and the Internet resource

    def test_exit_removes_everything(self):
        t = self.tool()
        t.ok(f'up {V4} {V6}')
        t.ok('add 10.0.0.0/8')
        self.assertEqual(t.quit(), 0)
        self.assertNothingLeft()

    def test_readdressing_changes_only_the_address(self):
        t = self.tool()
        t.ok(f'up {V4} {V6}')
        t.ok('add 10.0.0.0/8')
        r = t.ok(f'up 100.64.0.9 {V6}')
        self.assertEqual(r['requests'], 2)  # delete the old /32, add the new one
        self.assertTunnelState(v4='100.64.0.9', routes4={'10.0.0.0/8'})
        # Losing a family takes its rule and routes along; getting it back restores them.
        t.ok('up - ' + V6)
        self.assertTunnelState(v4=None)
        t.ok(f'up {V4} {V6}')
        self.assertTunnelState(routes4={'10.0.0.0/8'})


class Routes(TunnelCase):
    def test_one_resource_changes_exactly_one_route(self):
        t = self.tool()
        t.ok(f'up {V4} {V6}')
        many = [f'10.{i // 256}.{i % 256}.0/24' for i in range(200)]
        t.ok('add-file ' + self.file('many', many))
        before4, before6 = table_routes(4), table_routes(6)

        r = t.ok('add 198.51.100.0/24')
        self.assertEqual((r['requests'], r['sends']), (1, 1))
        self.assertEqual(set(table_routes(4)) - set(before4), {'198.51.100.0/24'})
        self.assertEqual(set(before4) - set(table_routes(4)), set())
        self.assertEqual(table_routes(6), before6)

        r = t.ok('add fd12:3456::/48')
        self.assertEqual(r['requests'], 1)
        self.assertEqual(set(table_routes(6)) - set(before6), {'fd12:3456::/48'})

        r = t.ok('remove 198.51.100.0/24')
        self.assertEqual((r['requests'], r['sends']), (1, 1))
        self.assertEqual(table_routes(4), before4)
        r = t.ok('remove fd12:3456::/48')
        self.assertEqual(r['requests'], 1)
        self.assertEqual(table_routes(6), before6)

    def test_shared_prefix_stays_until_the_last_resource_goes(self):
        t = self.tool()
        t.ok(f'up {V4} {V6}')
        self.assertEqual(t.ok('add 10.0.0.0/8')['requests'], 1)
        self.assertEqual(t.ok('add 10.0.0.0/8')['requests'], 0)
        self.assertEqual(t.ok('remove 10.0.0.0/8')['requests'], 0)
        self.assertIn('10.0.0.0/8', table_routes(4))
        self.assertEqual(t.ok('remove 10.0.0.0/8')['requests'], 1)
        self.assertNotIn('10.0.0.0/8', table_routes(4))
        r = t.cmd('remove 10.0.0.0/8')  # never added (any more)
        self.assertEqual((r['ok'], r['requests']), (False, 0))
        # A resource equal to a base range does not remove the base range with it.
        self.assertEqual(t.ok('add 100.64.0.0/11')['requests'], 0)
        self.assertEqual(t.ok('remove 100.64.0.0/11')['requests'], 0)
        self.assertTunnelState()

    def test_routes_added_while_down_are_installed_at_up(self):
        t = self.tool()
        self.assertEqual(t.ok('add 10.0.0.0/8 fd12::/64')['requests'], 0)
        self.assertIsNone(link())
        r = t.ok(f'up {V4} {V6}')
        self.assertEqual((r['requests'], r['sends']), (13, 1))
        self.assertTunnelState(routes4={'10.0.0.0/8'}, routes6={'fd12::/64'})

    def test_ten_thousand_routes_are_batched(self):
        t = self.tool()
        t.ok(f'up {V4} {V6}')
        many = [f'10.{i // 256}.{i % 256}.0/24' for i in range(10000)]
        path = self.file('many', many)
        r = t.ok('add-file ' + path)
        self.assertEqual(r['requests'], 10000)
        self.assertLessEqual(r['sends'], 20)
        self.assertEqual(r['routes'], 10000)
        self.assertEqual(set(table_routes(4)), BASE4 | set(many))
        r = t.ok('remove-file ' + path)
        self.assertEqual(r['requests'], 10000)
        self.assertLessEqual(r['sends'], 20)
        self.assertTunnelState()

    def test_internet_resource(self):
        t = self.tool()
        t.ok(f'up {V4} {V6}')
        r = t.ok('internet on')
        self.assertEqual(r['requests'], 2)
        self.assertTunnelState(internet=True)
        self.assertEqual(t.ok('internet on')['requests'], 0)
        t.ok('internet off')
        self.assertTunnelState()


class BadInput(TunnelCase):
    def test_bad_routes_are_skipped_and_the_rest_applied(self):
        t = self.tool()
        t.ok(f'up {V4} {V6}')
        good4 = ['10.0.0.0/8', '172.16.0.0/12', '198.51.100.7/32', '169.254.169.254/32']
        good6 = ['fd12:3456::/48', '2001:db8:1::/64']
        unparsable = ['bogus', '10.0.0.0/33', '300.1.1.0/24', '10.0.0.1/8', 'fd00::/129', 'fe80::1%eth0/128',
                      '10.0.0.0/8 extra', '::ffff:1.2.3.4.5/128', '10.0.0.0/08']
        refused = ['0.0.0.0/0', '::/0', '127.0.0.0/8', '224.0.0.0/4', 'ff02::/16', 'fe80::/64', '::1/128']
        lines = good4 + unparsable + good6 + refused
        r = t.cmd('add-file ' + self.file('mixed', lines))
        self.assertTrue(r['ok'], r)
        self.assertEqual(r['skipped'], len(unparsable) + len(refused))
        self.assertEqual(r['requests'], len(good4) + len(good6))
        self.assertTunnelState(routes4=set(good4), routes6=set(good6))
        log = t.output()
        for bad in ('bogus', '10.0.0.0/33', '10.0.0.1/8'):
            self.assertIn(f"Ignoring invalid CIDR '{bad}'", log)
        self.assertIn('Ignoring route 0.0.0.0/0 from the portal: a default route is only allowed for the '
                      'Internet resource', log)
        self.assertIn('Ignoring route ::/0 from the portal', log)
        self.assertIn('Ignoring route 127.0.0.0/8 from the portal: loopback range', log)
        self.assertIn('Ignoring route fe80::/64 from the portal: IPv6 link-local range', log)

    def test_single_default_route_is_refused(self):
        t = self.tool()
        t.ok(f'up {V4} {V6}')
        r = t.cmd('add 0.0.0.0/0')
        self.assertEqual((r['ok'], r['requests']), (False, 0))
        self.assertTunnelState()

    def test_bad_interface_address_is_skipped(self):
        t = self.tool()
        r = t.ok(f'up 224.0.0.1 {V6}')
        self.assertIn('Ignoring interface address 224.0.0.1/32 from the portal: multicast or reserved address',
                      t.output())
        self.assertTunnelState(v4=None)

    def test_no_usable_address_creates_nothing(self):
        t = self.tool()
        r = t.cmd('up 0.0.0.0 ::1')
        self.assertFalse(r['ok'])
        self.assertIn('no usable interface address', t.output())
        self.assertNothingLeft()


class CrashSafety(TunnelCase):
    def test_kill9_then_cleanup_removes_stale_state_and_up_rebuilds(self):
        self.uplink()
        t = self.tool()
        t.ok(f'up {V4} {V6}')
        t.ok('add 10.0.0.0/8 fd12::/64')
        t.ok('internet on')
        t.kill9()
        # The TUN went with its fd (and its routes with it); the rules stayed behind.
        self.assertIsNone(link())
        self.assertEqual(len(our_rules(4)), 1)
        self.assertEqual(len(our_rules(6)), 1)
        # More stale state than a kill leaves, as a crashed older version might have:
        # a persistent TUN of our name and a route in our table through another device.
        ip('tuntap', 'add', 'dev', TUN, 'mode', 'tun')
        ip('route', 'add', '203.0.113.0/24', 'dev', 'uplink0', 'table', TABLE)

        t2 = self.tool()
        r = t2.cmd(f'up {V4} {V6}')
        self.assertFalse(r['ok'])  # never adopts a device it did not create
        self.assertIn('already exists', t2.output())
        r = t2.ok('cleanup-stale')
        self.assertEqual(r['result'], 4)  # the TUN, two rules, one route
        self.assertNothingLeft()
        self.assertIn('Removed a stale tun-firezone', t2.output())
        self.assertEqual(t2.ok('cleanup-stale')['result'], 0)

        t2.ok(f'up {V4} {V6}')
        t2.ok('add 10.0.0.0/8 fd12::/64')
        self.assertTunnelState(routes4={'10.0.0.0/8'}, routes6={'fd12::/64'})
        # The uplink's own routes were never ours to touch.
        self.assertEqual(ip_json('route', 'show', 'default')[0]['dev'], 'uplink0')

    def test_cleanup_leaves_a_foreign_interface_alone(self):
        ip('link', 'add', TUN, 'type', 'veth', 'peer', 'name', 'fzpeer')
        t = self.tool()
        r = t.cmd('cleanup-stale')
        self.assertFalse(r['ok'])
        self.assertIn('is not a TUN device', t.output())
        self.assertEqual(link()['linkinfo']['info_kind'], 'veth')


class FirewallMark(TunnelCase):
    def route_dev(self, dst, mark=None):
        args = ['route', 'get', dst] + (['mark', mark] if mark else [])
        return ip_json(*args)[0]['dev']

    def source_address(self, family, dst, mark):
        s = socket.socket(family, socket.SOCK_DGRAM)
        try:
            if mark is not None:
                s.setsockopt(socket.SOL_SOCKET, SO_MARK, mark)
            s.connect((dst, 53))  # a route lookup, no packet sent
            return s.getsockname()[0]
        finally:
            s.close()

    def test_marked_sockets_bypass_our_table(self):
        self.uplink()
        t = self.tool()
        t.ok(f'up {V4} {V6}')
        t.ok('add 198.51.100.0/24 2001:db8:77::/48')
        self.assertEqual(self.route_dev('198.51.100.7'), TUN)
        self.assertEqual(self.route_dev('198.51.100.7', MARK), 'uplink0')
        self.assertEqual(self.route_dev('2001:db8:77::1'), TUN)
        self.assertEqual(self.route_dev('2001:db8:77::1', MARK), 'uplink0')
        # Not a resource: not ours either way.
        self.assertEqual(self.route_dev('203.0.113.9'), 'uplink0')

        # Real sockets, as the daemon's portal and DNS sockets use them.
        self.assertEqual(self.source_address(socket.AF_INET, '198.51.100.7', None), V4)
        self.assertEqual(self.source_address(socket.AF_INET, '198.51.100.7', 0x1f0a), '192.0.2.1')
        self.assertEqual(self.source_address(socket.AF_INET6, '2001:db8:77::1', None), V6)
        self.assertEqual(self.source_address(socket.AF_INET6, '2001:db8:77::1', 0x1f0a), '2001:db8::1')

        # With the Internet resource everything goes to the tunnel, except marked traffic.
        t.ok('internet on')
        self.assertEqual(self.source_address(socket.AF_INET, '203.0.113.9', None), V4)
        self.assertEqual(self.source_address(socket.AF_INET, '203.0.113.9', 0x1f0a), '192.0.2.1')
        self.assertEqual(self.source_address(socket.AF_INET6, '2001:db8:99::1', None), V6)
        self.assertEqual(self.source_address(socket.AF_INET6, '2001:db8:99::1', 0x1f0a), '2001:db8::1')


class NetworkChanges(TunnelCase):
    def changes(self, t):
        return set(t.wait_event()['changes'].split(','))

    def test_default_route_changes_are_reported_debounced(self):
        t = self.tool('--monitor', '--debounce-ms=100')
        ip('link', 'add', 'uplink0', 'type', 'veth', 'peer', 'name', 'uplink1')
        ip('link', 'set', 'uplink0', 'up')
        ip('link', 'set', 'uplink1', 'up')
        ip('addr', 'add', '192.0.2.1/24', 'dev', 'uplink0')
        c = self.changes(t)
        self.assertIn('link', c)
        self.assertNotIn('default-route', c)

        ip('route', 'add', 'default', 'via', '192.0.2.254', 'dev', 'uplink0')
        self.assertIn('default-route', self.changes(t))

        # Our own device, addresses, routes (many) and rules are not news: the next report
        # is exactly the route added after them. (With the Internet resource on, a gateway
        # is resolved through the tunnel unless the device is named, as DHCP clients do.)
        t.ok(f'up {V4} {V6}')
        t.ok('add-file ' + self.file('many', [f'10.{i // 256}.{i % 256}.0/24' for i in range(3000)]))
        t.ok('internet on')
        ip('route', 'add', '198.18.0.0/15', 'via', '192.0.2.254', 'dev', 'uplink0')
        self.assertEqual(self.changes(t), {'route'})

        # A default route that goes and comes back within the window is no change.
        ip('-batch', self.file('flap', ['route del default', 'route add default via 192.0.2.254 dev uplink0']))
        self.assertEqual(self.changes(t), {'route'})

        # A different default route is; so is IPv6's.
        ip('route', 'replace', 'default', 'via', '192.0.2.253', 'dev', 'uplink0')
        self.assertEqual(self.changes(t), {'route', 'default-route'})
        ip('-6', 'addr', 'add', '2001:db8::1/64', 'dev', 'uplink0', 'nodad')
        self.changes(t)
        ip('-6', 'route', 'add', 'default', 'via', '2001:db8::ffff', 'dev', 'uplink0')
        self.assertIn('default-route', self.changes(t))
        self.assertEqual(t.pending_events(), [])

    def test_a_burst_is_one_report(self):
        t = self.tool('--monitor', '--debounce-ms=300')
        ip('link', 'add', 'uplink0', 'type', 'veth', 'peer', 'name', 'uplink1')
        ip('link', 'set', 'uplink0', 'up')
        ip('addr', 'add', '192.0.2.1/24', 'dev', 'uplink0')
        self.changes(t)
        ip('-batch', self.file('burst', [f'route add 198.18.{i}.0/24 via 192.0.2.254' for i in range(50)]))
        self.assertEqual(self.changes(t), {'route'})
        self.assertEqual(t.pending_events(), [])


class Valgrind(TunnelCase):
    def test_tool_session_under_valgrind_has_no_errors_or_leaks(self):
        vg_log = os.path.join(self.bed.dir, 'valgrind.log')
        wrapper = (f'valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect,possible '
                   f'--errors-for-leak-kinds=definite,indirect,possible --track-fds=no --log-file={vg_log}')
        self.uplink()
        t = self.tool('--monitor', '--debounce-ms=50', wrapper=wrapper)
        t.ok(f'up {V4} {V6}')
        many = [f'10.{i // 256}.{i % 256}.0/24' for i in range(1000)] + ['bogus', '0.0.0.0/0', 'fe80::/64']
        t.ok('add-file ' + self.file('many', many))
        t.ok('add fd12::/64')
        t.ok('remove 10.0.0.0/24')
        t.cmd('remove 192.0.2.0/24')
        t.ok('internet on')
        ip('route', 'replace', 'default', 'via', '192.0.2.253', 'dev', 'uplink0')
        self.assertIn('default-route', t.wait_event()['changes'])
        t.ok('internet off')
        t.ok(f'up 100.64.0.9 {V6}')
        t.ok('down')
        t.ok(f'up {V4} -')
        t.ok('down')
        t.ok('cleanup-stale')
        t.cmd('up 0.0.0.0 ::1')
        t.cmd('frobnicate')
        t.ok(f'up {V4} {V6}')
        rc = t.quit(timeout=300)
        with open(vg_log) as f:
            report = f.read()
        self.assertEqual(rc, 0, report)
        self.assertEqual(report.strip(), '', report)
        self.assertNothingLeft()
