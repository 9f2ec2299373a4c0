# SPDX-License-Identifier: Apache-2.0
"""Connections to gateways (issue #13), in the test world (tests/integration/worldbed.py:
client and gateway each behind a NAT router, coturn and the local portal on an "Internet"
bridge, a resource network behind the gateway), with the real daemon and the test gateway's
data plane (tests/gateway/fzgw-dataplane, the same engine). Figures, side by side with a
named reference in the same run:

  - first packet → first byte: curl to the resource right after Reconnect() (no connection
    yet: the SYN is held, the portal authorizes, ICE, the WireGuard handshake, the SYN goes)
    vs the same request over the connection once it is up, and vs curl from the gateway's own
    namespace (no tunnel);
  - TCP throughput (iperf3, FZ_BENCH_SECONDS each way) through the gateway on the direct path
    and relayed through coturn (both NATs symmetric), vs wireguard-go ↔ wireguard-go (Debian's)
    from the client's namespace to the gateway's on the same topology (a port forward on the
    gateway's router; kernel forwarding to the resource as for ours), MTU 1280 for both;
  - idle cost with FZ_BENCH_CONNECTIONS (100) connections, one per gateway (each gateway its own
    site, its own data-plane process and UDP port): packets per minute per connection through
    the client's router once idle, and the daemon's RSS before and after, vs wireguard-go's RSS
    with the same number of peers configured.
Run: tools/bench gateway"""

import os
import signal
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'integration'))

import worldbed  # noqa: E402
from wgbed import Keys, WireguardGo  # noqa: E402
from worldbed import GATEWAY_DATAPLANE, GATEWAY_LAN, INET, NS, RESOURCE_NET  # noqa: E402

SECONDS = int(os.environ.get('FZ_BENCH_SECONDS', '5'))
ROUNDS = int(os.environ.get('FZ_BENCH_ROUNDS', '5'))
CONNECTIONS = int(os.environ.get('FZ_BENCH_CONNECTIONS', '100'))
IDLE_SECONDS = int(os.environ.get('FZ_BENCH_IDLE_SECONDS', '60'))
REF_PORT = 51820


class Client:
    """The daemon in fzw-client and a D-Bus agent watching it."""

    def __init__(self, bed, world):
        self.bed = bed
        self.world = world
        world.start_client(debug=bool(os.environ.get('FZ_BENCH_DEBUG')))
        self.agent = bed.agent('root')
        self.agent.subscribe('StateChanged')
        self.agent.subscribe('ResourcesChanged')
        self.wait_connected()

    def status(self):
        reply = self.agent.call('Status')
        if 'ok' not in reply:
            raise RuntimeError(f'Status failed: {reply}')
        return reply['ok'][0]

    def wait_connected(self):
        if self.status()['state'] != 'connected':
            r = self.agent.wait_signal('StateChanged', timeout_ms=30000, match={0: 'connected'})
            if 'ok' not in r:
                raise RuntimeError(f'never connected: {r}')

    def reconnect(self):
        """SIGHUP (a service-account daemon's D-Bus API is read-only): the portal connection
        and every connection to a gateway start over."""
        os.kill(self.bed.daemon.proc.pid, signal.SIGHUP)
        r = self.agent.wait_signal('StateChanged', timeout_ms=30000, match={0: 'connected'})
        if 'ok' not in r:
            raise RuntimeError(f'never connected again: {r}')

    def rss_kib(self):
        with open(f'/proc/{self.bed.daemon.proc.pid}/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
        return 0

    def wait_gateways(self, n, timeout=180):
        """A connection that comes up puts its site online: ResourcesChanged is the event."""
        deadline = time.monotonic() + timeout
        while self.status()['gateways'] < n:
            left = int((deadline - time.monotonic()) * 1000)
            r = self.agent.wait_signal('ResourcesChanged', timeout_ms=max(left, 1))
            if 'ok' not in r:
                raise RuntimeError(f'only {self.status()["gateways"]} of {n} gateways connected')


def curl_times(world, role, url):
    r = world.run(role, ['curl', '-s', '-o', '/dev/null', '--max-time', '30', '-w',
                         '%{time_connect} %{time_starttransfer}', url], check=False, timeout=40)
    if r.returncode != 0:
        raise RuntimeError(f'curl {url} from {role}: exit {r.returncode} {r.stderr}')
    connect, first = (float(x) for x in r.stdout.split())
    return connect * 1000, first * 1000


def stats(v):
    v = sorted(v)
    return f'{statistics.median(v):8.1f} {v[0]:8.1f} {v[-1]:8.1f}'


def first_byte(bed, world, client):
    url = world.url(path='/index.html')
    fresh, cold, warm, bare = [], [], [], []
    for _ in range(ROUNDS):
        # A daemon that just connected (a sign-in): no connection to the gateway yet.
        bed.stop_daemon()
        client = Client(bed, world)
        fresh.append(curl_times(world, 'client', url)[1])
    for _ in range(ROUNDS):
        client.reconnect()  # every connection closed: the next packet asks the portal
        if client.status()['gateways'] != 0:
            raise RuntimeError(f'a connection survived Reconnect(): {client.status()}\n'
                               f'{bed.daemon.output()[-6000:]}')
        cold.append(curl_times(world, 'client', url)[1])
        warm.append(curl_times(world, 'client', url)[1])
        bare.append(curl_times(world, 'gateway', url)[1])
    print(f'\n{"first byte of an HTTP answer, ms (" + str(ROUNDS) + " rounds)":<58} {"p50":>8} {"min":>8} {"max":>8}')
    print(f'{"ours: first packet after sign-in (authorize+ICE+WG)":<58} {stats(fresh)}')
    print(f'{"ours: first packet after Reconnect/SIGHUP":<58} {stats(cold)}')
    print(f'{"ours: the same request, connection up":<58} {stats(warm)}')
    print(f'{"reference: curl from the gateway namespace (no tunnel)":<58} {stats(bare)}')
    if os.environ.get('FZ_BENCH_DEBUG'):
        print(bed.daemon.output()[-30000:])
    return statistics.median(fresh), client


def iperf_pair(world, label):
    up = world.iperf(seconds=SECONDS)['end']['sum_received']['bits_per_second'] / 1e9
    down = world.iperf(seconds=SECONDS, reverse=True)['end']['sum_received']['bits_per_second'] / 1e9
    print(f'{label:<58} {up:8.2f} {down:8.2f}')
    return up, down


def wireguard_go_reference(bed, world):
    """wireguard-go in fzw-client and fzw-gateway, through both routers (a port forward on the
    gateway's), the resource network routed into it; iperf3 to the same server."""
    world.nft('grouter', 'table inet fzw_bench {\n chain prerouting {\n'
              '  type nat hook prerouting priority dstnat; policy accept;\n'
              f'  iifname "wan0" udp dport {REF_PORT} dnat ip to {GATEWAY_LAN["host"][0]}:{REF_PORT}\n }}\n}}\n')
    kc, kg = Keys(bed, 'ref-client'), Keys(bed, 'ref-gateway')
    # Distinct names: the UAPI sockets live in /var/run/wireguard, shared by the namespaces.
    c = WireguardGo(bed, NS['client'], 'wgrefc')
    g = WireguardGo(bed, NS['gateway'], 'wgrefg')
    try:
        g.set('private-key', kg.private, 'listen-port', str(REF_PORT), 'peer', kc.public, 'allowed-ips',
              '10.99.0.1/32')
        c.set('private-key', kc.private, 'peer', kg.public, 'endpoint', f'{INET["grouter"][0]}:{REF_PORT}',
              'allowed-ips', f'10.99.0.2/32,{RESOURCE_NET["server"][0]}/32')
        world._ip_batch('gateway', ['address add 10.99.0.2/24 dev wgrefg', 'link set wgrefg mtu 1280 up'])
        world._ip_batch('client', ['address add 10.99.0.1/24 dev wgrefc', 'link set wgrefc mtu 1280 up',
                                   f'route replace {RESOURCE_NET["server"][0]}/32 dev wgrefc'])
        world.nft('gateway', 'table inet fzw_bench {\n chain postrouting {\n'
                  '  type nat hook postrouting priority srcnat; policy accept;\n'
                  '  oifname "res0" ip saddr 10.99.0.0/24 masquerade\n }\n}\n')
        return iperf_pair(world, 'reference: wireguard-go ↔ wireguard-go, same topology')
    finally:
        c.close()
        g.close()


def throughput(bed, world, client, gw):
    print(f'\n{"TCP through the gateway, Gbit/s (iperf3 " + str(SECONDS) + " s)":<58} {"up":>8} {"down":>8}')
    world.fetch(world.url())  # a connection up
    gw.wait_path(relayed=False)
    direct = iperf_pair(world, 'ours, direct path')
    bed.stop_daemon()  # its routes go; the reference uses the same resource address
    ref = wireguard_go_reference(bed, world)
    return direct, ref


def throughput_relayed(bed):
    # Both NATs symmetric: no pair punches through, the connection goes through coturn.
    world = worldbed.World(bed, client_nat='symmetric', gateway_nat='symmetric')
    try:
        gw = world.start_gateway()
        Client(bed, world)
        world.fetch(world.url())
        gw.wait_path(relayed=True)
        relayed = iperf_pair(world, 'ours, relayed through coturn (symmetric NATs)')
        bed.stop_daemon()
        return relayed
    finally:
        world.close(teardown=True)


def idle_cost(bed, base_world_kw):
    """CONNECTIONS gateways, one site each; one packet from the client to each site's
    resource; then idle."""
    n = CONNECTIONS
    sites = [{'id': f'5ee00000-0000-4000-8000-{i:012x}', 'name': f'Bench site {i}'} for i in range(n)]
    tokens = {f'bench-gateway-token-{i:04d}': sites[i]['id'] for i in range(n)}
    world = worldbed.World(bed, portal=False, **base_world_kw)
    try:
        world.account['gateway_tokens'].update(tokens)
        world.account['resources'] += [
            {'id': f'5e500000-0000-4000-8000-{i:012x}', 'type': 'cidr', 'name': f'Bench {i}',
             'address': f'10.{40 + i // 250}.{i % 250}.0/24', 'gateway_groups': [sites[i]], 'filters': []}
            for i in range(n)]
        world.start_portal()
        t0 = time.monotonic()
        gws = [world.start_gateway(dataplane=[GATEWAY_DATAPLANE, '--port', str(53000 + i), '--tun', f'tgw{i}'],
                                   external_id=f'bench-gateway-{i}', env={'FIREZONE_TOKEN': tok}, wait=False)
               for i, tok in enumerate(tokens)]
        for gw in gws:
            gw.wait_joined(timeout=300)
        started = time.monotonic() - t0
        client = Client(bed, world)
        rss0 = client.rss_kib()
        targets = ' '.join(f'10.{40 + i // 250}.{i % 250}.1' for i in range(n))
        world.run('client', ['/usr/bin/python3', '-c',
                             'import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n'
                             'for a in sys.argv[1:]: s.sendto(b"x",(a,9))', *targets.split()])
        t1 = time.monotonic()
        client.wait_gateways(n)
        connected = time.monotonic() - t1
        rss1 = client.rss_kib()
        time.sleep(25)  # a benchmark's settling time: ICE goes idle after 20 s without traffic
        before = world.router_counters('crouter')['forwarded']
        time.sleep(IDLE_SECONDS)
        after = world.router_counters('crouter')['forwarded']
        rss2 = client.rss_kib()
        per_min = (after - before) / n * 60 / IDLE_SECONDS
        # Reference: wireguard-go with the same number of peers configured.
        ref = WireguardGo(bed, NS['client'], 'wgrss')
        try:
            keys = [Keys(bed, f'rss-peer-{i}').public for i in range(n)]
            ref.set('private-key', Keys(bed, 'rss-own').private, 'listen-port', '51999',
                    *[a for i, k in enumerate(keys) for a in ('peer', k, 'allowed-ips', f'10.98.{i // 250}.{i % 250}/32')])
            with open(f'/proc/{ref.proc.pid}/status') as f:
                ref_rss = next(int(line.split()[1]) for line in f if line.startswith('VmRSS:'))
        finally:
            ref.close()
        print(f'\n{n} connections (one per gateway; {n} gateways joined in {started:.1f} s, '
              f'all connected {connected:.1f} s after the first packets)')
        print(f'{"packets per minute per idle connection (client router, both ways)":<66} {per_min:8.1f}')
        print(f'{"daemon RSS, MiB: signed in / " + str(n) + " connections / after idle":<66} '
              f'{rss0 / 1024:6.1f} / {rss1 / 1024:.1f} / {rss2 / 1024:.1f}')
        print(f'{"daemon RSS per connection, KiB":<66} {(rss1 - rss0) / n:8.1f}')
        print(f'{"reference: wireguard-go RSS with " + str(n) + " peers configured, MiB":<66} {ref_rss / 1024:8.1f}')
        bed.stop_daemon()
    finally:
        world.close(teardown=True)


def main(bed, build_root):
    if not os.path.exists(GATEWAY_DATAPLANE):
        print(f'no {GATEWAY_DATAPLANE}: build with -Dtests=true')
        return 1
    print(f'load average before: {open("/proc/loadavg").read().split()[:3]}')
    # FZ_BENCH_ONLY=first|throughput|idle runs one part.
    only = os.environ.get('FZ_BENCH_ONLY', '')
    if only in ('', 'first', 'throughput'):
        world = worldbed.World(bed)
        try:
            gw = world.start_gateway()
            client = Client(bed, world)
            if only in ('', 'first'):
                cold, client = first_byte(bed, world, client)
                print(f'\nfirst packet → first byte p50 {cold:.0f} ms (target ≤ 50 ms)')
            if only in ('', 'throughput'):
                direct, ref = throughput(bed, world, client, gw)
        finally:
            world.close(teardown=True)
    if only in ('', 'throughput'):
        relayed = throughput_relayed(bed)
        print(f'{"ratio ours direct / wireguard-go":<58} {direct[0] / ref[0]:7.2f}× {direct[1] / ref[1]:7.2f}×')
        print(f'{"ratio ours relayed / wireguard-go":<58} {relayed[0] / ref[0]:7.2f}× {relayed[1] / ref[1]:7.2f}×')
    if only in ('', 'idle'):
        idle_cost(bed, {})
    print(f'load average after: {open("/proc/loadavg").read().split()[:3]}')
    return 0
