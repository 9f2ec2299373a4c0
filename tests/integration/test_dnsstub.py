# SPDX-License-Identifier: Apache-2.0
"""The DNS stub (issue #11, DESIGN §7.1) end to end: the real daemon signed in to the local
portal, a real upstream resolver (dnsmasq, whose query log shows what reached it), dig and
getent as clients, in both DNS control modes (/etc/resolv.conf, and the real
systemd-resolved, which binds its sockets to the link). Every case runs in its own bed; the
extra network namespaces are created inside it."""

import copy
import os
import selectors
import socket
import time

import dnsbed
import stubbed
from portalbed import LocalPortal
from stubbed import SENTINEL4, SENTINEL6, UPSTREAM4, UPSTREAM6, Dig, Dnsmasq, getent, is_proxy4, is_proxy6
from test_api import ApiTestCase

TOKEN = 'stub-token-0123456789'
TUN = 'tun-firezone'


def rid(n):
    return f'd0000000-0000-4000-8000-{n:012d}'


SITE = [{'id': 'bf56f32d-7b2c-4f5d-a784-788977d014a4', 'name': 'Headquarters'}]
RESOURCES = [
    {'id': rid(1), 'type': 'dns', 'name': 'GitLab', 'address': 'gitlab.corp.example.com', 'gateway_groups': SITE},
    {'id': rid(2), 'type': 'dns', 'name': 'Wiki', 'address': '*.wiki.corp.example.com', 'gateway_groups': SITE},
    {'id': rid(3), 'type': 'dns', 'name': 'Builders', 'address': 'build?.corp.example.com', 'gateway_groups': SITE},
    {'id': rid(4), 'type': 'dns', 'name': 'Lab', 'address': '**.lab.corp.example.com', 'gateway_groups': SITE},
    {'id': rid(5), 'type': 'dns', 'name': 'Legacy', 'address': 'legacy.corp.example.com', 'ip_stack': 'ipv4_only',
     'gateway_groups': SITE},
    {'id': rid(6), 'type': 'dns', 'name': 'New', 'address': 'new.corp.example.com', 'ip_stack': 'ipv6_only',
     'gateway_groups': SITE},
    {'id': rid(7), 'type': 'cidr', 'name': 'Office LAN', 'address': '172.16.10.0/24', 'gateway_groups': SITE},
]
# Names each resource kind answers for, and names next to them that are not resources.
RESOURCE_NAMES = ['gitlab.corp.example.com', 'GitLab.Corp.Example.COM', 'wiki.corp.example.com',
                  'app.wiki.corp.example.com', 'build7.corp.example.com', 'lab.corp.example.com',
                  'a.b.c.lab.corp.example.com']
NOT_RESOURCES = ['a.b.wiki.corp.example.com', 'build77.corp.example.com', 'www.corp.example.com']


def account(upstreams=True, resources=RESOURCES, do53=(UPSTREAM4, UPSTREAM6)):
    iface = {'ipv4': '100.72.112.111', 'ipv6': 'fd00:2021:1111::13:efb9', 'search_domain': 'corp.example.com'}
    if upstreams:
        iface['upstream_do53'] = [{'ip': a} for a in do53]
    return {'token': TOKEN, 'interface': iface, 'resources': copy.deepcopy(resources)}


def upstream_records():
    """The upstream knows the resource names too (with other addresses): an answer that
    came from it could not pass for the stub's."""
    return {'www.example.org': ['192.0.2.80', '2001:db8::80'], 'gitlab.corp.example.com': '192.0.2.99',
            'app.wiki.corp.example.com': '192.0.2.98'}


class _StubCase(ApiTestCase):
    START_DAEMON = False
    MODE = 'etc-resolv-conf'
    PORTAL_UPSTREAMS = True
    ACCOUNT = None

    def setUp(self):
        super().setUp()
        self.secret(TOKEN)
        self.dnsmasq = Dnsmasq(self.bed, records=upstream_records(), extra=['local=/corp.example.com/'])
        self.addCleanup(self.dnsmasq.stop)
        if self.MODE == 'systemd-resolved':
            # resolved calls the network down without a link that has a global address and
            # a carrier (the TUN's goes at sign-out): give the bed an uplink, as a real
            # machine has.
            self.uplink = stubbed.Neighbour('uplink', route_sentinels=False)
            self.addCleanup(self.uplink.delete)
            stubbed.run('ip', 'route', 'add', 'default', 'via', '198.51.100.2')
            # resolved's own server is the upstream; the system asks resolved.
            os.makedirs('/etc/systemd', exist_ok=True)
            with open('/etc/systemd/resolved.conf', 'w') as f:
                f.write(f'[Resolve]\nDNS={UPSTREAM4}\nDNSSEC=no\nLLMNR=no\nMulticastDNS=no\n')
            stubbed.write_resolv_conf('127.0.0.53', extra='options edns0 trust-ad\n')
            self.resolved = dnsbed.Resolved(self.bed)
            self.resolved.prepare()
            self.resolved.start()
        else:
            stubbed.write_resolv_conf(UPSTREAM4)
        self.portal = LocalPortal(self.bed, account=self.ACCOUNT or account(self.PORTAL_UPSTREAMS), token=TOKEN)
        self.addCleanup(self.portal.stop)
        self.start_daemon()

    def start_daemon(self):
        self.bed.start_daemon((f'--dns-control={self.MODE}',), env={'FIREZONE_API_URL': self.portal.ws_url})
        self.__dict__.pop('_agents', None)
        self.watcher = self.agent('root')
        self.watcher.subscribe('StateChanged')
        self.watcher.subscribe('ResourcesChanged')

    def connect(self):
        self.assertOk(self.sign_in(token=TOKEN))
        self.assertOk(self.watcher.wait_signal('StateChanged', timeout_ms=30000, match={0: 'connected'}))
        self.assertEqual(self.status()['state'], 'connected')

    def wait_resources(self, pred):
        for _ in range(8):
            sig = self.assertOk(self.watcher.wait_signal('ResourcesChanged'))
            if pred({r['id']: r for r in sig['args'][0]}):
                return
        self.fail('no matching ResourcesChanged')

    def dig(self, name, qtype='A', server=SENTINEL4, **kw):
        return Dig(server, name, qtype, **kw)

    def proxy_ips(self, name, server=SENTINEL4, tcp=False):
        a = self.dig(name, 'A', server=server, tcp=tcp)
        aaaa = self.dig(name, 'AAAA', server=server, tcp=tcp)
        self.assertEqual((a.status, aaaa.status), ('NOERROR', 'NOERROR'), (a, aaaa))
        return sorted(a.data('A')), sorted(aaaa.data('AAAA'))

    def assertResourceAnswer(self, name, server=SENTINEL4, tcp=False):
        v4, v6 = self.proxy_ips(name, server, tcp)
        self.assertEqual(len(v4), 4, v4)
        self.assertEqual(len(v6), 4, v6)
        self.assertTrue(all(map(is_proxy4, v4)), v4)
        self.assertTrue(all(map(is_proxy6, v6)), v6)
        for qtype in ('A', 'AAAA'):
            self.assertEqual({ttl for _, ttl, _, _ in self.dig(name, qtype, server=server, tcp=tcp).answers}, {1})
        return v4, v6

    def assertNeverUpstream(self, names):
        seen = self.dnsmasq.names()
        leaked = {n.lower() for n in names} & seen
        self.assertEqual(leaked, set(), f'resource names reached the upstream: {leaked}')


class EtcResolvConf(_StubCase):
    """--dns-control=etc-resolv-conf, the portal's upstream_do53 pointing at dnsmasq."""

    def test_resource_names_answered_by_the_stub(self):
        self.connect()
        self.assertIn(f'nameserver {SENTINEL4}'.encode(), stubbed.read('/etc/resolv.conf'))
        seen = {}
        for name in RESOURCE_NAMES:
            for server in (SENTINEL4, SENTINEL6):
                for tcp in (False, True):
                    ips = self.assertResourceAnswer(name, server, tcp)
                    seen.setdefault(name.lower(), ips)
                    self.assertEqual(ips, seen[name.lower()], f'{name} over {server} tcp={tcp}')
        # Distinct names, distinct addresses; never 192.0.2.x (the upstream's).
        firsts = [v4[0] for v4, _ in seen.values()]
        self.assertEqual(len(set(firsts)), len(firsts))
        # ip_stack: a family it excludes is an empty NOERROR.
        d = self.dig('legacy.corp.example.com', 'AAAA')
        self.assertEqual((d.status, d.answers), ('NOERROR', []))
        self.assertEqual(len(self.dig('legacy.corp.example.com', 'A').data('A')), 4)
        d = self.dig('new.corp.example.com', 'A')
        self.assertEqual((d.status, d.answers), ('NOERROR', []))
        self.assertEqual(len(self.dig('new.corp.example.com', 'AAAA').data('AAAA')), 4)
        # HTTPS, and any other type of a resource name: empty NOERROR, not sent upstream.
        for qtype in ('HTTPS', 'TXT', 'MX'):
            d = self.dig('gitlab.corp.example.com', qtype)
            self.assertEqual((d.status, d.answers), ('NOERROR', []), d)
        # PTR of a proxy IP: the name.
        v4, v6 = seen['gitlab.corp.example.com']
        ptr = Dig(SENTINEL4, None, reverse=v4[0])
        self.assertEqual(ptr.data('PTR'), ['gitlab.corp.example.com.'], ptr)
        ptr6 = Dig(SENTINEL6, None, reverse=v6[2])
        self.assertEqual(ptr6.data('PTR'), ['gitlab.corp.example.com.'], ptr6)
        # Firefox's DoH canary.
        self.assertEqual(self.dig('use-application-dns.net').status, 'NXDOMAIN')
        # Through the system's resolver (glibc reads our resolv.conf).
        rc, addrs = getent('hosts', 'gitlab.corp.example.com')
        self.assertEqual(rc, 0)
        self.assertIn(addrs[0], v4 + v6)
        rc, addrs = getent('ahostsv4', 'app.wiki.corp.example.com')
        self.assertEqual(rc, 0)
        self.assertTrue(set(addrs) <= set(seen['app.wiki.corp.example.com'][0]), addrs)
        # None of it ever reached the upstream.
        self.assertNeverUpstream(RESOURCE_NAMES + ['legacy.corp.example.com', 'new.corp.example.com',
                                                   'use-application-dns.net'] + v4 + v6)
        self.assertFalse(any('in-addr.arpa' in n or 'ip6.arpa' in n for n in self.dnsmasq.names()))

    def test_other_names_forwarded_to_the_upstream(self):
        self.connect()
        for tcp in (False, True):
            for server, fam in ((SENTINEL4, 'A'), (SENTINEL6, 'AAAA')):
                d = self.dig('www.example.org', fam, server=server, tcp=tcp)
                self.assertEqual(d.status, 'NOERROR', d)
                self.assertEqual(d.data(fam), ['192.0.2.80' if fam == 'A' else '2001:db8::80'])
                d = self.dig('nothing-here.example.org', 'A', server=server, tcp=tcp)
                self.assertEqual((d.status, d.answers), ('NXDOMAIN', []), d)
                d = self.dig('txt.example.org', 'TXT', server=server, tcp=tcp)
                self.assertEqual(d.data('TXT'), ['"hello from the upstream"'], d)
            # Next to resource names, but not one: the upstream's word (here: NXDOMAIN).
            for name in NOT_RESOURCES:
                self.assertEqual(self.dig(name, tcp=tcp).status, 'NXDOMAIN')
        # Sentinel N forwards to upstream N: IPv4 to dnsmasq's IPv4 address, IPv6 to its IPv6.
        log = self.dnsmasq.log()
        self.assertRegex(log, rf'query\[A\] www\.example\.org from {UPSTREAM4}')
        self.assertRegex(log, rf'query\[AAAA\] www\.example\.org from {UPSTREAM6}')
        self.assertTrue({n.lower() for n in NOT_RESOURCES} <= self.dnsmasq.names())
        rc, addrs = getent('hosts', 'www.example.org')
        self.assertEqual((rc, addrs), (0, ['2001:db8::80']))
        rc, addrs = getent('hosts', 'nothing-here.example.org')
        self.assertEqual(rc, 2)

    def test_proxy_ips_stay_across_reconnect_update_and_sign_out(self):
        self.connect()
        before = {n: self.assertResourceAnswer(n) for n in ('gitlab.corp.example.com', 'app.wiki.corp.example.com')}
        taken = {a for v4, v6 in before.values() for a in v4 + v6}

        def check(when, newcomer):
            # A name never asked before goes first: had the table been reset, it would get
            # the addresses the first name had.
            fresh = self.assertResourceAnswer(newcomer)
            self.assertFalse(set(fresh[0] + fresh[1]) & taken, f'{newcomer} {when} got addresses in use')
            taken.update(fresh[0] + fresh[1])
            for n, ips in before.items():
                self.assertEqual(self.assertResourceAnswer(n), ips, f'{n} {when}')

        member = self.agent('fz-member')
        self.assertOk(member.call('Reconnect'))
        self.assertOk(self.watcher.wait_signal('StateChanged', timeout_ms=30000, match={0: 'connected'}))
        check('after Reconnect()', 'n1.lab.corp.example.com')
        # The resource is updated (renamed, its pattern widened): the name keeps its addresses.
        changed = dict(RESOURCES[0], name='GitLab (new)', address='*.gitlab.corp.example.com')
        self.portal.control(op='upsert', resource=changed)
        self.wait_resources(lambda rs: rs.get(rid(1), {}).get('name') == 'GitLab (new)')
        check('after the resource was updated', 'n2.lab.corp.example.com')
        # Deleted: the name is the upstream's again. Back: the same addresses, never reused.
        self.portal.control(op='delete', id=rid(1))
        self.wait_resources(lambda rs: rid(1) not in rs)
        self.assertEqual(self.dig('gitlab.corp.example.com').data('A'), ['192.0.2.99'])
        self.portal.control(op='upsert', resource=RESOURCES[0])
        self.wait_resources(lambda rs: rid(1) in rs)
        check('after the resource was deleted and added again', 'x.wiki.corp.example.com')
        # A new session of the same daemon: still the same.
        self.assertOk(member.call('SignOut'))
        self.connect()
        check('after sign-out and sign-in', 'n3.lab.corp.example.com')
        self.assertNeverUpstream(['app.wiki.corp.example.com', 'x.wiki.corp.example.com', 'n1.lab.corp.example.com',
                                  'n2.lab.corp.example.com', 'n3.lab.corp.example.com'])

    def test_upstream_down_servfail_and_daemon_stays_responsive(self):
        self.connect()
        self.assertEqual(self.dig('www.example.org').status, 'NOERROR')
        # Gone: nothing listens on its address any more (ICMP port unreachable): SERVFAIL.
        self.dnsmasq.stop()
        for tcp in (False, True):
            d = self.dig('www.example.org', tcp=tcp)
            self.assertEqual(d.status, 'SERVFAIL', d)
        # Resource names do not need it.
        self.assertResourceAnswer('gitlab.corp.example.com')
        # Silent: something takes the packets and never answers. SERVFAIL after 5 s, and
        # meanwhile, with a crowd of such queries pending, the daemon answers on the bus.
        silent = []
        for fam, addr, kind in ((socket.AF_INET, UPSTREAM4, socket.SOCK_DGRAM), (socket.AF_INET, UPSTREAM4,
                                                                                  socket.SOCK_STREAM)):
            s = socket.socket(fam, kind)
            s.bind((addr, 53))
            if kind == socket.SOCK_STREAM:
                s.listen(64)
            silent.append(s)
        self.addCleanup(lambda: [s.close() for s in silent])
        # The crowd: 40 queries from 40 sockets of this process (not 40 dig processes, whose
        # own start-up on a loaded machine would eat into the margin), each answer waited for
        # up to 15 s and timed from its own query.
        crowd = []
        for i in range(40):
            c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.addCleanup(c.close)
            c.connect((SENTINEL4, 53))
            crowd.append((f'n{i}.example.org', c))
        sel = selectors.DefaultSelector()
        self.addCleanup(sel.close)
        sent = {}
        for qid, (name, c) in enumerate(crowd):
            c.send(dnsbed.query_message(name, qid))
            sent[name] = time.monotonic()
            sel.register(c, selectors.EVENT_READ, (name, qid))
        st_t0 = time.monotonic()
        st = self.status()
        status_time = time.monotonic() - st_t0
        results = {}
        end = time.monotonic() + 15
        while len(results) < len(crowd) and time.monotonic() < end:
            for key, _ in sel.select(max(0, end - time.monotonic())):
                name, qid = key.data
                data = key.fileobj.recv(4096)
                if len(data) >= 12 and int.from_bytes(data[:2], 'big') == qid:
                    results[name] = (data[3] & 0xf, round(time.monotonic() - sent[name], 2))
                    sel.unregister(key.fileobj)
        self.assertEqual(st['state'], 'connected')
        self.assertLess(status_time, 1.0)
        self.assertEqual(sorted(results), sorted(sent), 'queries without an answer in 15 s')
        self.assertEqual({rcode for rcode, _ in results.values()}, {2}, results)  # SERVFAIL
        # Not before the stub's 5 s upstream timeout (less a margin for the clocks).
        self.assertGreater(min(t for _, t in results.values()), 4.0, results)
        self.assertTrue(self.bed.daemon.running())

    def test_sign_out_resolves_directly_again(self):
        self.connect()
        self.assertEqual(getent('hosts', 'www.example.org'), (0, ['2001:db8::80']))
        self.assertOk(self.agent('fz-member').call('SignOut'))
        self.bed.wait_for_log(self.bed.daemon, 'DNS: restored /etc/resolv.conf')
        self.assertEqual(stubbed.read('/etc/resolv.conf'), f'nameserver {UPSTREAM4}\n'.encode())
        before = len(self.dnsmasq.queries())
        self.assertEqual(getent('hosts', 'www.example.org'), (0, ['2001:db8::80']))
        # Straight from the upstream now (glibc's own source address), and no stub left.
        self.assertGreater(len(self.dnsmasq.queries()), before)
        self.assertIsNone(self.dig('www.example.org', timeout=1).status)
        self.assertIsNone(self.dig('gitlab.corp.example.com', timeout=1).status)

    def test_nothing_outside_the_host_reaches_the_stub(self):
        self.connect()
        nb = stubbed.Neighbour()
        self.addCleanup(nb.delete)
        # The neighbour does reach the sentinel addresses (a test socket without a device
        # binding answers it) ...
        echo = []
        for fam, addr in ((socket.AF_INET, SENTINEL4), (socket.AF_INET6, SENTINEL6)):
            s = socket.socket(fam, socket.SOCK_DGRAM)
            s.bind((addr, 5353))
            echo.append(s)
        self.addCleanup(lambda: [s.close() for s in echo])
        code = ('import socket\n'
                f'for fam, a in ((socket.AF_INET, "{SENTINEL4}"), (socket.AF_INET6, "{SENTINEL6}")):\n'
                '    s = socket.socket(fam, socket.SOCK_DGRAM); s.settimeout(5)\n'
                '    s.sendto(b"ping", (a, 5353))\n')
        nb.python(code)
        for s in echo:
            s.settimeout(5)
            data, peer = s.recvfrom(100)
            self.assertEqual(data, b'ping')
            self.assertIn(peer[0], ('198.51.100.2', '2001:db8:1::2'))
        # ... but never the stub, over UDP or TCP, v4 or v6.
        for server in (SENTINEL4, SENTINEL6):
            for tcp in (False, True):
                d = Dig(server, 'gitlab.corp.example.com', tcp=tcp, timeout=2, netns=nb.name)
                self.assertIsNone(d.status, d)
                self.assertEqual(d.answers, [])
        # While this host is served as ever.
        self.assertResourceAnswer('gitlab.corp.example.com')
        self.assertEqual(self.dig('www.example.org').status, 'NOERROR')


class EtcResolvConfSystemUpstream(_StubCase):
    """No upstreams from the portal: the stub forwards to the resolvers resolv.conf had
    before we took it over."""
    PORTAL_UPSTREAMS = False

    def test_forwarded_to_the_system_resolvers(self):
        self.connect()
        text = stubbed.read('/etc/resolv.conf').decode()
        self.assertIn(f'nameserver {SENTINEL4}', text)
        self.assertNotIn(UPSTREAM4, text)
        for tcp in (False, True):
            d = self.dig('www.example.org', tcp=tcp)
            self.assertEqual(d.data('A'), ['192.0.2.80'], d)
            self.assertEqual(self.dig('txt.example.org', 'TXT', tcp=tcp).data('TXT'), ['"hello from the upstream"'])
            self.assertEqual(self.dig('nothing-here.example.org', tcp=tcp).status, 'NXDOMAIN')
        self.assertEqual(getent('hosts', 'www.example.org'), (0, ['2001:db8::80']))
        self.assertResourceAnswer('gitlab.corp.example.com')
        self.assertNeverUpstream(['gitlab.corp.example.com'])
        self.assertIn('www.example.org', self.dnsmasq.names())

    def test_mapping_follows_the_portals_upstreams(self):
        """The portal sends upstreams later (config_changed): the sentinel forwards there."""
        self.connect()
        other = Dnsmasq(self.bed, name='dnsmasq-2', addresses=('192.0.2.54',),
                        records={'www.example.org': '192.0.2.81'})
        self.addCleanup(other.stop)
        iface = account(False)['interface']
        iface['upstream_do53'] = [{'ip': '192.0.2.54'}]
        self.portal.control(op='config_changed', interface=iface)
        self.bed.wait_for_log(self.bed.daemon, 'forwarding to 192.0.2.54:53')
        self.assertEqual(self.dig('www.example.org').data('A'), ['192.0.2.81'])
        self.assertIn('www.example.org', other.names())


class Resolved(_StubCase):
    """--dns-control=systemd-resolved with the real resolved: it sends to the sentinels
    bound to the TUN (SO_BINDTODEVICE / IP_UNICAST_IF); the system asks resolved."""
    MODE = 'systemd-resolved'

    def test_resolved_routes_queries_to_the_stub(self):
        self.connect()
        self.assertEqual(self.status()['dns-control'], 'systemd-resolved')
        ifindex = dnsbed.ifindex(TUN)
        self.assertEqual({bytes(a).hex() for _, a in self.resolved.link_property(ifindex, 'DNS')},
                         {'64646f01', 'fd002021111180000100010001110001'})
        v4, v6 = self.assertResourceAnswer('gitlab.corp.example.com')
        for tcp in (False, True):
            self.assertEqual(self.dig('www.example.org', tcp=tcp).data('A'), ['192.0.2.80'])
        # Through resolved (127.0.0.53), as every program on the machine asks.
        rc, addrs = getent('hosts', 'gitlab.corp.example.com')
        self.assertEqual(rc, 0, addrs)
        self.assertIn(addrs[0], v4 + v6)
        rc, addrs = getent('ahostsv4', 'app.wiki.corp.example.com')
        self.assertEqual(rc, 0)
        self.assertTrue(all(map(is_proxy4, addrs)), addrs)
        self.assertEqual(getent('hosts', 'www.example.org'), (0, ['2001:db8::80']))
        self.assertEqual(getent('hosts', 'nothing-here.example.org')[0], 2)
        out = dnsbed.resolvectl('query', '--legend=no', '-t', 'TXT', 'txt.example.org').stdout
        self.assertIn('hello from the upstream', out)
        rc, addrs = getent('hosts', 'build7.corp.example.com')
        self.assertEqual(rc, 0)
        self.assertTrue(is_proxy6(addrs[0]) or is_proxy4(addrs[0]), addrs)
        self.assertNeverUpstream(RESOURCE_NAMES)
        # Sign-out: resolved asks its own server again.
        self.assertOk(self.agent('fz-member').call('SignOut'))
        self.bed.wait_for_log(self.bed.daemon, 'DNS: reverted link')
        self.assertEqual(getent('hosts', 'www.example.org'), (0, ['2001:db8::80']))
        rc, addrs = getent('ahostsv4', 'gitlab.corp.example.com')
        self.assertEqual((rc, addrs[:1]), (0, ['192.0.2.99']))


class ResolvedSystemUpstream(_StubCase):
    """systemd-resolved, no upstreams from the portal: the stub forwards to resolved's own
    servers (read from its D-Bus properties before we took the link over)."""
    MODE = 'systemd-resolved'
    PORTAL_UPSTREAMS = False

    def test_forwarded_to_resolveds_own_servers(self):
        self.connect()
        self.assertEqual(self.dig('www.example.org').data('A'), ['192.0.2.80'])
        self.assertEqual(getent('hosts', 'www.example.org'), (0, ['2001:db8::80']))
        self.assertResourceAnswer('lab.corp.example.com')
        rc, addrs = getent('hosts', 'x.lab.corp.example.com')
        self.assertEqual(rc, 0)
        self.assertTrue(is_proxy6(addrs[0]) or is_proxy4(addrs[0]), addrs)
        self.assertRegex(self.dnsmasq.log(), rf'query\[\w+\] www\.example\.org from {UPSTREAM4}')
        self.assertNeverUpstream(['lab.corp.example.com', 'x.lab.corp.example.com'])

    def test_upstream_follows_resolveds_servers(self):
        """resolved gets another server while we are connected (one for the uplink):
        resolved's PropertiesChanged reaches the daemon, a second sentinel forwards there."""
        self.connect()
        other = Dnsmasq(self.bed, name='dnsmasq-2', addresses=('192.0.2.54',),
                        records={'www.example.org': '192.0.2.81'})
        self.addCleanup(other.stop)
        dnsbed.resolvectl('dns', 'vnb0', '192.0.2.54')
        self.bed.wait_for_log(self.bed.daemon, 'forwarding to 192.0.2.54:53')
        log = self.bed.daemon.output()
        self.assertIn('DNS: serving 100.100.111.1:53, forwarding to 192.0.2.53:53', log)
        self.assertIn('DNS: serving 100.100.111.2:53, forwarding to 192.0.2.54:53', log)
        self.assertEqual(self.dig('www.example.org', server='100.100.111.2').data('A'), ['192.0.2.81'])
        self.assertEqual(self.dig('www.example.org', server='100.100.111.1').data('A'), ['192.0.2.80'])
        self.assertIn('www.example.org', other.names())
        # resolved is pointed at both sentinels now.
        ifindex = dnsbed.ifindex(TUN)
        self.assertEqual({bytes(a).hex() for _, a in self.resolved.link_property(ifindex, 'DNS')},
                         {'64646f01', '64646f02'})


class UnitCapabilities(_StubCase):
    """The daemon with no more capabilities than the shipped unit gives it
    (CapabilityBoundingSet= of packaging/firezone-client.service): the stub must still get
    its port-53 sockets and its marked upstream sockets."""

    def unit_caps(self):
        import fzbed
        caps = []
        with open(os.path.join(fzbed.SOURCE_ROOT, 'packaging', 'firezone-client.service')) as f:
            for line in f:
                if line.startswith('CapabilityBoundingSet='):
                    caps += line.split('=', 1)[1].split()
        self.assertTrue(caps)
        return caps

    def start_daemon(self):
        spec = '-all,' + ','.join('+' + c.lower().removeprefix('cap_') for c in self.unit_caps())
        os.environ['FZ_DAEMON_WRAPPER'] = f'setpriv --bounding-set {spec} --inh-caps -all --'
        try:
            super().start_daemon()
        finally:
            del os.environ['FZ_DAEMON_WRAPPER']

    def test_the_stub_works_with_the_units_capabilities(self):
        with open(f'/proc/{self.bed.daemon.pid}/status') as f:
            bounding = int(next(l for l in f if l.startswith('CapBnd:')).split()[1], 16)
        self.assertEqual(bin(bounding).count('1'), len(self.unit_caps()))
        self.connect()
        self.assertResourceAnswer('gitlab.corp.example.com')
        self.assertResourceAnswer('gitlab.corp.example.com', tcp=True)
        self.assertEqual(self.dig('www.example.org').data('A'), ['192.0.2.80'])
        self.assertEqual(self.dig('www.example.org', tcp=True).data('A'), ['192.0.2.80'])
        self.assertNotIn('Failed to serve', self.bed.daemon.output())


class FirewallMark(_StubCase):
    """The Internet resource sends everything unmarked into the tunnel; the stub's upstream
    sockets carry the daemon's mark and still reach an upstream on another machine."""
    ACCOUNT = None

    def setUp(self):
        self.lan = stubbed.Neighbour('lan', route_sentinels=False)
        self.addCleanup(self.lan.delete)
        acc = account(True, RESOURCES + [{'id': rid(9), 'type': 'internet', 'gateway_groups': SITE}],
                      do53=('198.51.100.2',))
        self.ACCOUNT = acc
        super().setUp()
        self.far = Dnsmasq(self.bed, name='dnsmasq-lan', addresses=('198.51.100.2',), netns='lan',
                           records={'www.example.org': '192.0.2.82'}, add_addresses=False)
        self.addCleanup(self.far.stop)

    def test_upstream_sockets_bypass_the_tunnel(self):
        self.assertEqual(self.dig('www.example.org', server='198.51.100.2').data('A'), ['192.0.2.82'])
        self.connect()
        self.assertOk(self.agent('fz-member').call('SetInternetResourceEnabled', '(true, @a{sv} {})', '(ba{sv})'))
        # An unmarked client is sent into the tunnel now (nobody answers there) ...
        self.assertIsNone(self.dig('www.example.org', server='198.51.100.2', timeout=1).status)
        # ... the stub's marked sockets are not.
        for tcp in (False, True):
            self.assertEqual(self.dig('www.example.org', tcp=tcp).data('A'), ['192.0.2.82'])
        self.assertIn('www.example.org', self.far.names())
