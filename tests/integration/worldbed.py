# SPDX-License-Identifier: Apache-2.0
"""The test world for connections to gateways (issue #13): a small Internet in network
namespaces, built inside the bed's own namespace (runner.py/sandbox.py), so the host never
sees any of it.

                         ┌──────── fzw-inet: bridge br0, 203.0.113.0/24 + 2001:db8:1::/64 ────────┐
                         │  .1 an "Internet host" (public DNS: dnsmasq; probe servers)            │
   fzw-portal .10 ───────┤                                                                       ├─────── fzw-relay .20
   (tests/portal, wss)   │                                                                       │        (coturn, realm firezone)
                  fzw-crouter .101 (NAT)                                           fzw-grouter .102 (NAT)
                         │ 192.168.10.0/24, fd00:c1::/64                                  │ 192.168.20.0/24, fd00:c2::/64
                  fzw-client .2 (the daemon)                                      fzw-gateway .2 (controller + data plane)
                                                                                          │ 10.20.0.0/24, fd00:20::/64 (masquerade)
                                                                                  fzw-resource .10/.11 (HTTP, iperf3, DNS)

Routers masquerade (nftables) onto the bridge: `cone` keeps ports (endpoint-independent
mapping), `symmetric` is `masquerade random` (a new port per destination, which forces
relaying). Each router also has a loss knob (`numgen random mod 100 < N drop`; netem is not
available here). The resource network is reachable from the gateway namespace only.

A scenario test builds a World in setUp, then starts the client daemon in fzw-client
(start_client) and the gateway (start_gateway: tests/gateway/gateway.py driving a data-plane
process) in fzw-gateway, and checks a download (fetch) against the served file's SHA-256.
Everything started here is a child of the harness (bed._spawn) and stops with the bed.
Waiting is on events: ready lines in logs (inotify), the portal's control socket, the bus.

    class Direct(fzbed.BedTestCase):
        START_DAEMON = False

        def test_download_through_the_gateway(self):
            w = worldbed.World(self.bed)                  # or client_nat='symmetric', …
            self.addCleanup(w.close)
            gw = w.start_gateway()                        # controller + data plane, joined
            w.start_client()                              # service-account token, connects
            agent = self.bed.agent('root')                # D-Bus as usual (the bus is shared)
            … wait for StateChanged 'connected' …
            got = w.fetch(w.url())                        # curl in fzw-client, 10.20.0.10
            self.assertTrue(got['ok'], got)               # the served file's SHA-256
            gw.wait_event('dataplane', 'in', 'connection', match={'state': 'connected'})
            w.portal.control(op='wait_message', side='client', direction='in',
                             event='request_authorization')
"""

import hashlib
import json
import os
import subprocess
import time

import fzbed
from portalbed import LocalPortal

SOURCE = fzbed.SOURCE_ROOT
GATEWAY_CONTROLLER = os.path.join(SOURCE, 'tests', 'gateway', 'gateway.py')
# The data-plane process of the test gateway (tests/gateway/README.md), once it is built.
GATEWAY_DATAPLANE = os.path.join(fzbed.BUILD_ROOT, 'tests', 'gateway', 'fzgw-dataplane')
STUNPROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'stunprobe.py')
PYTHON = '/usr/bin/python3'

NS = {role: f'fzw-{role}' for role in ('inet', 'portal', 'relay', 'crouter', 'client', 'grouter', 'gateway',
                                        'resource')}

# Addresses (documentation ranges on the "Internet", private ones behind the routers).
INET = {'inet': ('203.0.113.1', '2001:db8:1::1'), 'portal': ('203.0.113.10', '2001:db8:1::10'),
        'relay': ('203.0.113.20', '2001:db8:1::20'), 'crouter': ('203.0.113.101', '2001:db8:1::101'),
        'grouter': ('203.0.113.102', '2001:db8:1::102')}
INET_PREFIX = (24, 64)
CLIENT_LAN = {'router': ('192.168.10.1', 'fd00:c1::1'), 'host': ('192.168.10.{n}', 'fd00:c1::{n:x}')}
GATEWAY_LAN = {'router': ('192.168.20.1', 'fd00:c2::1'), 'host': ('192.168.20.2', 'fd00:c2::2')}
RESOURCE_NET = {'gateway': ('10.20.0.1', 'fd00:20::1'), 'server': ('10.20.0.10', 'fd00:20::10'),
                'filtered': ('10.20.0.11', 'fd00:20::11')}
LAN_PREFIX = (24, 64)

PORTAL_WS_PORT, PORTAL_WSS_PORT = 8080, 8443
RELAY_PORT = 3478
HTTP_PORT = 80
IPERF_PORT = 5201
TOKEN = 'world-client-token-5c1e0b7a'
GATEWAY_TOKEN = 'world-gateway-token-9d24e6f1'
RELAY_SECRET = 'world-relay-secret-3f8a'
RELAY_ID = '2d6c6f3e-2a1b-4c0e-9a6f-7e7a1c3b5d01'

SITE = {'id': '6f4f1d2a-0c55-4b8e-8d0e-5a0f3b9c1e21', 'name': 'World site'}
EMPTY_SITE = {'id': '0b9e1c6d-7f3a-4e2b-9c5d-2a8f6e1b4c73', 'name': 'Site without gateways'}
RES = {
    'cidr4': '11111111-1111-4111-8111-000000000004',
    'cidr6': '11111111-1111-4111-8111-000000000006',
    'dns': '11111111-1111-4111-8111-0000000000d5',
    'wildcard': '11111111-1111-4111-8111-0000000000da',
    'filtered': '11111111-1111-4111-8111-0000000000f1',
    'nogateway': '11111111-1111-4111-8111-0000000000ff',
    'internet': '11111111-1111-4111-8111-00000000001e',
}
DNS_NAME = 'files.corp.test'
WILDCARD = '*.svc.corp.test'
WILDCARD_EXAMPLE = 'app.svc.corp.test'
# Inside Firezone's client ranges (100.64.0.0/11, fd00:2021:1111::/107): the gateway routes only
# those back into its tunnel.
CLIENT_INTERFACE = {'ipv4': '100.72.0.2', 'ipv6': 'fd00:2021:1111::1e:2'}


class WorldError(fzbed.BedError):
    pass


def fmt_addr(ip, port):
    return f'[{ip}]:{port}' if ':' in ip else f'{ip}:{port}'


class World:
    """One world. families: ('4',) or ('4', '6'); gateway_families narrows the gateway side
    (its router, LAN and resource network) for the IPv4-only gateway scenario. client_nat and
    gateway_nat: 'cone' or 'symmetric'. file_size: bytes of the served file."""

    def __init__(self, bed, families=('4', '6'), gateway_families=None, client_nat='cone', gateway_nat='cone',
                 file_size=4 << 20, relay=True, portal=True, internet_resource=False, account_extra=None):
        self.bed = bed
        self.token, self.gateway_token, self.relay_secret = TOKEN, GATEWAY_TOKEN, RELAY_SECRET
        self.families = tuple(families)
        self.gateway_families = tuple(gateway_families or families)
        if not set(self.gateway_families) <= set(self.families):
            raise WorldError('gateway_families must be a subset of families')
        self.dir = os.path.join(bed.dir, 'world')
        os.makedirs(self.dir, exist_ok=True)
        self.v6 = '6' in self.families
        self.client_host = 2
        self.nat = {'crouter': client_nat, 'grouter': gateway_nat}
        self.loss = {}
        self.procs = {}
        self.portal = self.coturn = None
        self.gateways = []
        self.peers = []
        self._build_network()
        self._build_servers(file_size)
        if relay:
            self.start_relay()
        self.account = self._account(internet_resource, account_extra or {})
        if portal:
            self.start_portal()

    # ---- running things in a namespace ---------------------------------------------------
    @staticmethod
    def exec_argv(role, argv=()):
        return ['ip', 'netns', 'exec', NS[role], *argv]

    def run(self, role, argv, check=True, timeout=60, input=None):
        r = subprocess.run(self.exec_argv(role, argv), capture_output=True, text=True, timeout=timeout, input=input)
        if check and r.returncode != 0:
            raise WorldError(f'{" ".join(argv)} in {NS[role]} failed ({r.returncode}): {r.stderr.strip()}')
        return r

    def spawn(self, role, name, argv, env=None, ready=None, timeout=20):
        """A long-running helper in a namespace, child of the harness; `ready`: a text its
        log shows once it is ready (waited for with inotify)."""
        proc = self.bed._spawn(name, self.exec_argv(role, argv), env=env)
        self.procs[name] = proc
        if ready:
            self.bed.wait_for_log(proc, ready, timeout=timeout)
        return proc

    def _ip_batch(self, role, lines):
        r = subprocess.run(['ip', '-n', NS[role], '-batch', '-'], input='\n'.join(lines) + '\n',
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise WorldError(f'ip -batch in {NS[role]} failed: {r.stderr.strip()}\n' + '\n'.join(lines))

    def nft(self, role, script):
        self.run(role, ['nft', '-f', '-'], input=script)

    def addr(self, role, family='4'):
        """The address of a role on its outermost network (the Internet for portal, relay,
        routers, inet; the LAN for client and gateway; the resource network for resource)."""
        i = 0 if family == '4' else 1
        if role in INET:
            return INET[role][i]
        if role == 'client':
            return CLIENT_LAN['host'][i].format(n=self.client_host)
        if role == 'gateway':
            return GATEWAY_LAN['host'][i]
        if role == 'resource':
            return RESOURCE_NET['server'][i]
        raise KeyError(role)

    # ---- the network -----------------------------------------------------------------------
    def _families_of(self, role):
        return self.gateway_families if role in ('grouter', 'gateway', 'resource') else self.families

    def _build_network(self):
        for ns in NS.values():
            subprocess.run(['ip', 'netns', 'add', ns], check=True)
        for role in NS:
            fams = self._families_of(role)
            # fzw-inet routes too: with nowhere to send a packet, it answers "unreachable" (as
            # the Internet does for 10.20.0.0/24) instead of dropping it silently.
            routes = role in ('inet', 'crouter', 'grouter', 'gateway')
            sysctls = ['net.ipv4.ip_forward=1' if routes else None,
                       'net.ipv6.conf.all.forwarding=1' if routes and '6' in fams else None]
            if '6' not in fams:
                sysctls += ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']
            sysctls = [s for s in sysctls if s]
            if sysctls:
                self.run(role, ['sysctl', '-q', '-w', *sysctls])

        def addrs(ip4, ip6, dev, fams, p=(24, 64)):
            out = [f'address add {ip4}/{p[0]} dev {dev}']
            if '6' in fams:
                out.append(f'address add {ip6}/{p[1]} dev {dev} nodad')
            return out

        # The Internet: a bridge in fzw-inet, one veth port per attached namespace.
        inet = ['link add br0 type bridge', 'link set br0 up', 'link set lo up',
                *addrs(*INET['inet'], 'br0', self.families)]
        for role in ('portal', 'relay', 'crouter', 'grouter'):
            dev = 'wan0' if role.endswith('router') else 'eth0'
            inet += [f'link add to-{role} type veth peer name {dev} netns {NS[role]}',
                     f'link set to-{role} master br0', f'link set to-{role} up']
        self._ip_batch('inet', inet)
        for role in ('portal', 'relay'):
            # A default route as on the real Internet: coturn drops an allocation whose relay
            # socket gets ENETUNREACH from sendto (to a peer's private host candidate).
            cmds = ['link set lo up', 'link set eth0 up', *addrs(*INET[role], 'eth0', self.families),
                    f'route add default via {INET["inet"][0]}',
                    *([f'route add ::/0 via {INET["inet"][1]}'] if self.v6 else [])]
            self._ip_batch(role, cmds)
        # Routers and the hosts behind them.
        for router, host, lan in (('crouter', 'client', CLIENT_LAN), ('grouter', 'gateway', GATEWAY_LAN)):
            fams = self._families_of(router)
            host_addr = (lan['host'][0].format(n=self.client_host), lan['host'][1].format(n=self.client_host))
            self._ip_batch(router, [
                'link set lo up', 'link set wan0 up', *addrs(*INET[router], 'wan0', fams),
                f'link add lan0 type veth peer name eth0 netns {NS[host]}', 'link set lan0 up',
                *addrs(*lan['router'], 'lan0', fams),
                f'route add default via {INET["inet"][0]}',
                *([f'route add ::/0 via {INET["inet"][1]}'] if '6' in fams else []),
            ])
            self._ip_batch(host, [
                'link set lo up', 'link set eth0 up', *addrs(*host_addr, 'eth0', fams),
                f'route add default via {lan["router"][0]}',
                *([f'route add ::/0 via {lan["router"][1]}'] if '6' in fams else []),
            ])
            self._router_rules(router)
        # The resource network behind the gateway.
        gf = self.gateway_families
        self._ip_batch('gateway', [f'link add res0 type veth peer name eth0 netns {NS["resource"]}',
                                   'link set res0 up', *addrs(*RESOURCE_NET['gateway'], 'res0', gf)])
        self._ip_batch('resource', ['link set lo up', 'link set eth0 up',
                                    *addrs(*RESOURCE_NET['server'], 'eth0', gf),
                                    *addrs(*RESOURCE_NET['filtered'], 'eth0', gf)])
        # The gateway forwards to the resource network through the kernel, masqueraded (the
        # data plane's TUN is the other side); nothing else may reach the resources.
        self.nft('gateway', 'table inet fzw_gateway {\n chain postrouting {\n'
                 '  type nat hook postrouting priority srcnat; policy accept;\n'
                 '  oifname "res0" masquerade\n'
                 # The Internet resource: clients' traffic leaves through the gateway's NAT.
                 '  oifname "eth0" ip saddr 100.64.0.0/11 masquerade\n'
                 '  oifname "eth0" ip6 saddr fd00:2021:1111::/107 masquerade\n }\n}\n')
        # The gateway's resolver is the resource network's DNS server (DNS resources are
        # resolved there); ip netns exec bind-mounts this over /etc/resolv.conf.
        netns_etc = os.path.join('/etc/netns', NS['gateway'])
        os.makedirs(netns_etc, exist_ok=True)
        with open(os.path.join(netns_etc, 'resolv.conf'), 'w') as f:
            f.write(f'nameserver {RESOURCE_NET["server"][0]}\n' +
                    (f'nameserver {RESOURCE_NET["server"][1]}\n' if '6' in gf else ''))
        # The client host's own resolv.conf (the public resolver), bind-mounted over
        # /etc/resolv.conf in everything run in fzw-client: the daemon's DNS control rewrites
        # this one (in place, as in a container), never the file other namespaces see.
        client_etc = os.path.join('/etc/netns', NS['client'])
        os.makedirs(client_etc, exist_ok=True)
        with open(os.path.join(client_etc, 'resolv.conf'), 'w') as f:
            f.write(f'nameserver {INET["inet"][0]}\n' + (f'nameserver {INET["inet"][1]}\n' if self.v6 else ''))

    def _router_rules(self, router):
        masq = 'masquerade random' if self.nat[router] == 'symmetric' else 'masquerade'
        loss = self.loss.get(router, 0)
        self.run(router, ['nft', 'delete', 'table', 'inet', 'fzw_router'], check=False)
        self.nft(router, 'table inet fzw_router {\n'
                 ' counter forwarded {}\n counter lost {}\n'
                 ' chain postrouting {\n  type nat hook postrouting priority srcnat; policy accept;\n'
                 f'  oifname "wan0" {masq}\n }}\n'
                 # As a home router's firewall does: what comes in on the WAN for the router
                 # itself without a mapping is dropped before conntrack confirms an entry for
                 # it. (Answered with a port-unreachable instead, the packet would leave an
                 # entry that makes the NAT pick another port for the host's own flow to that
                 # peer: a hole-punching peer's first check would turn the cone symmetric.)
                 ' chain input {\n  type filter hook input priority filter; policy accept;\n'
                 '  iifname "wan0" ct state new drop\n }\n'
                 ' chain forward {\n  type filter hook forward priority filter; policy accept;\n'
                 '  counter name "forwarded"\n'
                 + (f'  numgen random mod 100 < {loss} counter name "lost" drop\n' if loss else '') +
                 ' }\n'
                 '}\n')

    def set_nat(self, router, kind):
        """'cone' or 'symmetric' for 'crouter' (the client's) or 'grouter' (the gateway's).
        Existing conntrack entries keep their mapping: set it before the flows start."""
        if kind not in ('cone', 'symmetric'):
            raise WorldError(f'unknown NAT kind {kind!r}')
        self.nat[router] = kind
        self._router_rules(router)

    def set_loss(self, router, percent):
        """Drop `percent` % of the packets the router forwards, both ways (0 turns it off)."""
        self.loss[router] = int(percent)
        self._router_rules(router)
        # A UDP GSO packet (the data planes send ~44 datagrams in one) crosses the veths whole,
        # and the router's rule would drop all of it at once: a burst no real link makes. With
        # the hosts' UDP segmentation offload off, the kernel splits it before it leaves the
        # host, so the loss is per datagram.
        lossy = any(self.loss.values())
        for role in ('client', 'gateway'):
            self.run(role, ['ethtool', '-K', 'eth0', 'tx-udp-segmentation', 'off' if lossy else 'on'])

    def router_counters(self, router):
        """{'forwarded': packets, 'lost': packets} seen by the router's forward chain."""
        r = self.run(router, ['nft', '-j', 'list', 'counters', 'table', 'inet', 'fzw_router'])
        out = {}
        for item in json.loads(r.stdout)['nftables']:
            c = item.get('counter')
            if c:
                out[c['name']] = c['packets']
        return out

    def roam_client(self):
        """Give the client a new address on its LAN (the NAT maps it anew): what a laptop
        sees when it changes networks. Returns the new IPv4 address."""
        old = (self.addr('client', '4'), self.addr('client', '6'))
        self.client_host += 1
        new = (self.addr('client', '4'), self.addr('client', '6'))
        cmds = [f'address add {new[0]}/24 dev eth0', f'address del {old[0]}/24 dev eth0',
                f'route replace default via {CLIENT_LAN["router"][0]}']
        if self.v6:
            cmds += [f'address add {new[1]}/64 dev eth0 nodad', f'address del {old[1]}/64 dev eth0',
                     f'route replace ::/0 via {CLIENT_LAN["router"][1]}']
        # Deleting the primary address would take the new (secondary) one with it.
        self.run('client', ['sysctl', '-q', '-w', 'net.ipv4.conf.eth0.promote_secondaries=1'])
        self._ip_batch('client', cmds)
        return new[0]

    # ---- servers -----------------------------------------------------------------------------
    def _build_servers(self, file_size):
        gf = self.gateway_families
        # The file the scenarios download, and its SHA-256.
        self.www = os.path.join(self.dir, 'www')
        os.makedirs(self.www, exist_ok=True)
        data = os.urandom(file_size)
        with open(os.path.join(self.www, 'file.bin'), 'wb') as f:
            f.write(data)
        with open(os.path.join(self.www, 'index.html'), 'w') as f:
            f.write('<p>Firezone test world resource</p>\n')
        self.file_sha256 = hashlib.sha256(data).hexdigest()
        self.file_size = file_size
        bind = '::' if '6' in gf else '0.0.0.0'  # '::' is dual-stack in http.server
        self.spawn('resource', 'world-http', [PYTHON, '-u', '-m', 'http.server', '--bind', bind, '--directory',
                                               self.www, str(HTTP_PORT)], ready='Serving HTTP')
        self.spawn('resource', 'world-iperf3', ['iperf3', '--server', '--port', str(IPERF_PORT), '--forceflush'],
                   ready='Server listening')
        # DNS of the resource network (the gateway's resolver).
        server4, server6 = RESOURCE_NET['server']
        names = [f'address=/{DNS_NAME}/{server4}', f'address=/{WILDCARD[2:]}/{server4}']
        if '6' in gf:
            names += [f'address=/{DNS_NAME}/{server6}', f'address=/{WILDCARD[2:]}/{server6}']
        self._dnsmasq('resource', 'world-dns-resource', [server4] + ([server6] if '6' in gf else []), names)
        # Public DNS on the Internet host (the client's upstream).
        pub4, pub6 = INET['inet']
        self._dnsmasq('inet', 'world-dns-public', [pub4] + ([pub6] if self.v6 else []),
                      [f'address=/portal.fz.test/{INET["portal"][0]}', f'address=/www.example.test/{pub4}'])

    def _dnsmasq(self, role, name, listen, lines):
        conf = os.path.join(self.dir, f'{name}.conf')
        with open(conf, 'w') as f:
            f.write('\n'.join(['no-resolv', 'no-hosts', 'bind-interfaces', 'user=root', 'log-queries',
                               *[f'listen-address={a}' for a in listen], *lines]) + '\n')
        self.spawn(role, name, ['dnsmasq', '--keep-in-foreground', f'--conf-file={conf}', '--log-facility=-',
                                '--pid-file='], ready='started, version')

    def start_relay(self):
        """coturn with the REST-API shared secret the portal mints credentials with (started
        by hand, never as a system service)."""
        ips = [INET['relay'][0]] + ([INET['relay'][1]] if self.v6 else [])
        argv = ['turnserver', '-n', '--verbose', '--listening-port', str(RELAY_PORT), '--realm=firezone', '--use-auth-secret',
                f'--static-auth-secret={RELAY_SECRET}', '--no-tls', '--no-dtls', '--min-port=49152',
                '--max-port=65535', '--no-cli', '--log-file=stdout', '--simple-log',
                f'--pidfile={os.path.join(self.dir, "turnserver.pid")}',
                f'--userdb={os.path.join(self.dir, "turndb")}', '--no-software-attribute']
        for ip in ips:
            argv += [f'--listening-ip={ip}', f'--relay-ip={ip}']
        self.coturn = self.spawn('relay', 'world-coturn', argv)
        # coturn (--verbose) logs one line per UDP listener once it is bound.
        for ip in ips:
            fam = 'IPv6' if ':' in ip else 'IPv4'
            self.bed.wait_for_log(self.coturn, f'{fam}. UDP listener opened on: {ip}:{RELAY_PORT}')
        return self.coturn

    def stop_relay(self):
        if self.coturn:
            self.coturn.stop()
            self.coturn = None

    # ---- the portal ------------------------------------------------------------------------
    def _account(self, internet_resource, extra):
        site = [dict(SITE)]
        v4, v6 = '4' in self.gateway_families, '6' in self.gateway_families
        resources = [
            {'id': RES['cidr4'], 'type': 'cidr', 'name': 'Resource network', 'address': '10.20.0.0/24',
             'address_description': 'http://10.20.0.10/', 'gateway_groups': site, 'filters': []},
            {'id': RES['dns'], 'type': 'dns', 'name': 'Files', 'address': DNS_NAME,
             'address_description': f'http://{DNS_NAME}/', 'gateway_groups': site, 'filters': [],
             'ip_stack': 'dual' if v6 else 'ipv4_only'},
            {'id': RES['wildcard'], 'type': 'dns', 'name': 'Services', 'address': WILDCARD,
             'address_description': f'http://{WILDCARD_EXAMPLE}/', 'gateway_groups': site, 'filters': [],
             'ip_stack': 'dual' if v6 else 'ipv4_only'},
            {'id': RES['filtered'], 'type': 'cidr', 'name': 'HTTP only', 'address': '10.20.0.11/32',
             'address_description': 'TCP port 80 only', 'gateway_groups': site,
             'filters': [{'protocol': 'tcp', 'port_range_start': HTTP_PORT, 'port_range_end': HTTP_PORT}]},
            {'id': RES['nogateway'], 'type': 'cidr', 'name': 'Nobody serves this', 'address': '10.99.0.0/24',
             'gateway_groups': [dict(EMPTY_SITE)], 'filters': []},
        ]
        if v4 and v6:
            resources.insert(1, {'id': RES['cidr6'], 'type': 'cidr', 'name': 'Resource network (IPv6)',
                                 'address': 'fd00:20::/64', 'gateway_groups': site, 'filters': []})
        if internet_resource:
            resources.append({'id': RES['internet'], 'type': 'internet', 'name': 'Internet Resource',
                              'gateway_groups': site})
        pub4, pub6 = INET['inet']
        account = {
            'token': TOKEN,
            'account_slug': 'world',
            'interface': {**CLIENT_INTERFACE, 'search_domain': 'corp.test',
                          'upstream_do53': [{'ip': pub4}] + ([{'ip': pub6}] if self.v6 else [])},
            'resources': resources,
            'gateway_tokens': {GATEWAY_TOKEN: SITE['id']},
            'relays': [{'id': RELAY_ID, 'ipv4': INET['relay'][0], 'ipv6': INET['relay'][1] if self.v6 else None,
                        'port': RELAY_PORT, 'secret': RELAY_SECRET}],
        }
        account.update(extra)
        return account

    def start_portal(self):
        hosts = ['0.0.0.0'] + (['::'] if self.v6 else [])
        names = [INET['portal'][0], 'portal.fz.test'] + ([INET['portal'][1]] if self.v6 else [])
        extra = [a for h in hosts for a in ('--host', h)] + [a for n in names for a in ('--tls-name', n)]
        extra += ['--state', os.path.join(self.dir, 'portal-state.json')]
        self.portal = LocalPortal(self.bed, account=self.account, token=TOKEN, name='world-portal',
                                  prefix=self.exec_argv('portal'), extra_args=extra)
        self.portal.ws_port, self.portal.wss_port = PORTAL_WS_PORT, PORTAL_WSS_PORT
        self.portal.restart()
        self.api_url = f'wss://{INET["portal"][0]}:{PORTAL_WSS_PORT}/'
        self.ca_file = self.portal.ca_file
        return self.portal

    # ---- the client daemon and the gateway ---------------------------------------------------
    def start_client(self, args=('--dns-control=etc-resolv-conf',), env=None, service_account=True, wait=True,
                     debug=True):
        """The daemon from the build tree in fzw-client, pointed at the world's portal over
        wss:// with the world's CA. service_account: the token comes in FIREZONE_TOKEN and it
        connects at once (else sign in over D-Bus, e.g. with a bed agent)."""
        e = {'FIREZONE_API_URL': self.api_url, 'SSL_CERT_FILE': self.ca_file}
        if service_account:
            e['FIREZONE_TOKEN'] = TOKEN
        e.update(env or {})
        bed = self.bed
        bed._daemon_count += 1
        proc = bed._spawn(f'daemon-{bed._daemon_count}', self.exec_argv('client', bed.daemon_argv(args, debug)),
                          env=bed.daemon_env(e))
        bed.daemon = proc
        if wait:
            bed.wait_for_name(fzbed.BUS_NAME, proc)
        return proc

    def start_gateway(self, dataplane=None, external_id='world-gateway-1', name=None, env=None, wait=True):
        """tests/gateway/gateway.py in fzw-gateway, driving `dataplane` (argv; default: the
        test gateway's data plane from the build tree). Returns a GatewayController."""
        import gatewaybed
        argv = dataplane or [GATEWAY_DATAPLANE]
        if dataplane is None and not os.path.exists(GATEWAY_DATAPLANE):
            raise WorldError(f'no gateway data plane at {GATEWAY_DATAPLANE} (not built yet)')
        gw = gatewaybed.GatewayController(self, argv, external_id=external_id, name=name or external_id, env=env,
                                          wait=wait)
        self.gateways.append(gw)
        return gw

    def peer(self, role, name=None):
        """A scripted portal peer (worldpeer.py) in a namespace: a client or a gateway in
        Python, for tests of the world and of the portal."""
        import gatewaybed
        p = gatewaybed.ScriptedPeer(self, role, name or f'peer-{role}-{len(self.peers) + 1}')
        self.peers.append(p)
        return p

    # ---- checks --------------------------------------------------------------------------------
    def url(self, host=None, path='/file.bin', family='4'):
        if host is None:
            host = RESOURCE_NET['server'][0 if family == '4' else 1]
        return f'http://{f"[{host}]" if ":" in host else host}:{HTTP_PORT}{path}'

    def fetch(self, url=None, role='client', timeout=60, extra=()):
        """Download with curl in a namespace. Returns {'sha256', 'bytes', 'seconds', 'ok'} where
        ok means the bytes are the served file's."""
        out = os.path.join(self.dir, f'fetch-{time.monotonic_ns()}')
        r = self.run(role, ['curl', '--silent', '--show-error', '--fail', '--max-time', str(timeout), '--output', out,
                            '--write-out', '%{size_download} %{time_total}', *extra, url or self.url()],
                     check=False, timeout=timeout + 10)
        if r.returncode != 0:
            return {'ok': False, 'error': r.stderr.strip(), 'curl_exit': r.returncode}
        with open(out, 'rb') as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        os.unlink(out)
        size, seconds = r.stdout.split()
        return {'ok': digest == self.file_sha256, 'sha256': digest, 'bytes': int(size), 'seconds': float(seconds)}

    def iperf(self, role='client', host=None, seconds=2, reverse=False, extra=()):
        """iperf3 against the resource's server; returns the parsed JSON (raises on failure)."""
        host = host or RESOURCE_NET['server'][0]
        r = self.run(role, ['iperf3', '--client', host, '--port', str(IPERF_PORT), '--time', str(seconds), '--json',
                            *(['--reverse'] if reverse else []), *extra], check=False, timeout=seconds + 30)
        data = json.loads(r.stdout or '{}') if r.stdout.strip().startswith('{') else {}
        if r.returncode != 0 or 'error' in data:
            raise WorldError(f'iperf3 from {NS[role]} to {host} failed: {data.get("error") or r.stderr.strip()}')
        return data

    def probe(self, role, argv, timeout=30):
        """stunprobe.py in a namespace; its JSON answer."""
        r = self.run(role, [PYTHON, STUNPROBE, *argv], timeout=timeout)
        return json.loads(r.stdout)

    def whoami_server(self, ports=(7000, 7001), family='4'):
        """UDP servers on the Internet host that answer with the sender's address."""
        name = f'world-whoami-{family}-{len(self.procs)}'
        return self.spawn('inet', name, [PYTHON, '-u', STUNPROBE, 'whoami', '--bind', INET['inet'][int(family == '6')],
                                         *[a for p in ports for a in ('--port', str(p))]], ready='"ready": true')

    def close(self, teardown=False):
        """Stop the peers and gateways (the rest stops with the bed). teardown: also every
        helper, the portal and the namespaces, so that another World can be built in the same
        bed (benchmarks do)."""
        for p in self.peers:
            p.close()
        for gw in reversed(self.gateways):
            gw.stop()
        if not teardown:
            return
        if self.portal:
            self.portal.stop()
        for proc in self.procs.values():
            if proc.running():
                proc.stop()
        for ns in NS.values():
            subprocess.run(['ip', 'netns', 'delete', ns], check=False)
