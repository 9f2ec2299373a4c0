# SPDX-License-Identifier: Apache-2.0
"""WireGuard throughput, CPU, handshake latency and small-packet rate, in the integration
bed: namespace ↔ veth ↔ namespace (tests/integration/wgbed.py), side by side in one run:

    bare veth | wireguard-go ↔ wireguard-go | ours ↔ wireguard-go | ours ↔ ours
    (+ ours ↔ ours with one worker thread instead of two, and without offloads: the
     evidence for the default threading and for the offload work)

  - iperf3 TCP, 10 s each way (FZ_BENCH_SECONDS), and both ways at once (--bidir), with
    pings through the full tunnel (latency under load); FZ_BENCH_REPEAT rounds (median,
    range);
  - CPU: the tunnel processes' own time (utime + stime of every thread, /proc/PID/stat)
    and the whole machine's busy time (/proc/stat), each per Gbit/s carried;
  - handshake latency: from a fresh start, the first ping's round trip (initiation,
    response, data, reply), median of 5; and for ours the core's own initiation → first
    data received;
  - 64-byte packets: iperf3 UDP, 64-byte payloads, unlimited rate, 10 s: what arrives;
  - our main loop's responsiveness under full load: how late a 10 ms timer fires (the
    daemon's D-Bus loop would see the same), p50/p99/max.
All tunnels use MTU 1280 (DESIGN §6). Other jobs on the machine show in the load
averages printed before and after; FZ_BENCH_PERF=1 adds a perf profile of ours ↔ ours.
Run: tools/bench wireguard"""

import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'integration'))

import wgbed  # noqa: E402
from wgbed import A_NS, A_UDP, B_NS, B_UDP, Keys, WgTool, WireguardGo, psk_file, run  # noqa: E402

SECONDS = int(os.environ.get('FZ_BENCH_SECONDS', '10'))
REPEAT = int(os.environ.get('FZ_BENCH_REPEAT', '2'))
A_IP, B_IP = '10.66.0.1', '10.66.0.2'


def load():
    with open('/proc/loadavg') as f:
        return ' '.join(f.read().split()[:3])


def cpu_of(pids):
    """Seconds of CPU the processes used so far (all their threads)."""
    tick = os.sysconf('SC_CLK_TCK')
    total = 0
    for pid in pids:
        with open(f'/proc/{pid}/stat') as f:
            fields = f.read().rsplit(')', 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / tick


def machine_busy():
    with open('/proc/stat') as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return (sum(v) - idle) / os.sysconf('SC_CLK_TCK')


class Pair:
    """One configuration: two ends in wga/wgb with 10.66.0.1/.2 between them (or the bare
    veth's 192.0.2.1/.2)."""

    def __init__(self, bed, kind_a, kind_b, threading='split'):
        self.bed = bed
        self.kinds = (kind_a, kind_b)
        self.threading = threading
        self.tools, self.gos = [], []
        self.pids = []
        wgbed.topology()
        if kind_a == 'veth':
            self.addrs = (A_UDP, B_UDP)
            return
        self.addrs = (A_IP, B_IP)
        ka, kb = Keys(bed, 'ka'), Keys(bed, 'kb')
        psk = psk_file(bed)
        self._end(A_NS, 'A', kind_a, ka, kb, psk, A_IP, B_IP, B_UDP, 51820)
        self._end(B_NS, 'B', kind_b, kb, ka, psk, B_IP, A_IP, A_UDP, 51820)

    def _end(self, ns, tag, kind, me, other, psk, ip, peer_ip, peer_udp, port):
        if kind == 'ours':
            mode = ['--no-offloads'] if self.threading == 'no-offloads' else ['--threading', self.threading]
            t = WgTool(self.bed, ns, ['--tun', f'fzwg{tag}', '--private-key', me.private, '--listen-port', str(port),
                                      *mode, '--peer', other.public, '--psk', psk,
                                      '--endpoint', f'{peer_udp}:{port}', '--allowed-ip', f'{peer_ip}/32'],
                       name=f'fzd-wg-tool-{tag}')
            self.tools.append(t)
            self.pids.append(t.proc.pid)
            ifname = f'fzwg{tag}'
        else:
            ifname = f'wggo{tag}'
            g = WireguardGo(self.bed, ns, ifname)
            g.set('private-key', me.private, 'listen-port', str(port), 'peer', other.public, 'preshared-key', psk,
                  'allowed-ips', f'{peer_ip}/32', 'endpoint', f'{peer_udp}:{port}')
            run('ip', '-n', ns, 'link', 'set', ifname, 'mtu', '1280', 'up')
            self.gos.append(g)
            self.pids.append(g.proc.pid)
        run('ip', '-n', ns, 'addr', 'add', f'{ip}/24', 'dev', ifname)

    def close(self):
        for t in self.tools:
            t.close()
        for g in self.gos:
            g.close()
        for ns in (A_NS, B_NS):
            run('ip', 'netns', 'del', ns, check=False)

    def first_ping_ms(self):
        r = run('ping', '-n', '-c', '1', '-W', '5', self.addrs[1], ns=A_NS, check=False)
        for line in r.stdout.splitlines():
            if 'time=' in line:
                return float(line.split('time=')[1].split()[0])
        return float('nan')

    def iperf(self, reverse=False, udp=False, bidir=False, ping=False):
        # Line-buffered, so that "Server listening" (the readiness event) is not held back.
        srv = subprocess.Popen(['ip', 'netns', 'exec', B_NS, 'stdbuf', '-oL', 'iperf3', '-s', '-1', '-B', self.addrs[1]],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            while 'listening' not in (srv.stdout.readline() or 'listening'):
                pass
            cpu0, busy0, t0 = cpu_of(self.pids), machine_busy(), time.monotonic()
            args = ['iperf3', '-c', self.addrs[1], '-t', str(SECONDS), '-J']
            if reverse:
                args.append('-R')
            if bidir:
                args.append('--bidir')
            if udp:
                args += ['-u', '-l', '64', '-b', '0']
            pinger = None
            if ping:
                # Latency under load: pings through the same tunnel while it is full.
                count = max(5, SECONDS * 4 - 4)
                pinger = subprocess.Popen(['ip', 'netns', 'exec', A_NS, 'ping', '-n', '-q', '-c', str(count), '-i', '0.25',
                                           self.addrs[1]], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            r = run(*args, ns=A_NS, check=False, timeout=SECONDS + 60)
            cpu1, busy1, t1 = cpu_of(self.pids), machine_busy(), time.monotonic()
            rtt = None
            if pinger:
                out, _ = pinger.communicate(timeout=60)
                for line in out.splitlines():
                    if line.startswith('rtt'):
                        rtt = float(line.split('=')[1].split('/')[1])
        finally:
            try:
                srv.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                srv.kill()
                srv.communicate()
        try:
            j = json.loads(r.stdout)
        except json.JSONDecodeError:
            return {'error': r.stdout[-500:] + r.stderr[-500:]}
        if 'error' in j:
            return {'error': j['error']}
        end = j['end']
        res = {'cpu': cpu1 - cpu0, 'busy': busy1 - busy0, 'wall': t1 - t0}
        if udp:
            s = end['sum']
            res['pps'] = (s['packets'] - s['lost_packets']) / s['seconds']
            res['loss'] = s['lost_percent']
        elif bidir:
            res['mbps'] = (end['sum_received']['bits_per_second'] + end['sum_received_bidir_reverse']['bits_per_second']) / 1e6
        else:
            res['mbps'] = end['sum_received']['bits_per_second'] / 1e6
            res['retr'] = end['sum_sent'].get('retransmits', 0)
        res['rtt'] = rtt
        return res


def fmt_range(values, unit_fmt='{:.0f}'):
    if not values:
        return '-'
    med = statistics.median(values)
    if len(values) == 1:
        return unit_fmt.format(med)
    return f'{unit_fmt.format(med)} ({unit_fmt.format(min(values))}–{unit_fmt.format(max(values))})'


CONFIGS = [
    ('bare veth', 'veth', 'veth', 'split'),
    ('wireguard-go ↔ wireguard-go', 'go', 'go', 'split'),
    ('ours ↔ wireguard-go', 'ours', 'go', 'split'),
    ('ours ↔ ours', 'ours', 'ours', 'split'),
    ('ours ↔ ours, 1 worker', 'ours', 'ours', 'one'),
    ('ours ↔ ours, no offloads', 'ours', 'ours', 'no-offloads'),
]


def throughput(bed):
    results = {name: {'ab': [], 'ba': [], 'bidir': [], 'rtt': [], 'cpu': [], 'busy': [], 'retr': []}
               for name, *_ in CONFIGS}
    loop = {}
    for rnd in range(REPEAT):
        for name, ka, kb, threading in CONFIGS:
            pair = Pair(bed, ka, kb, threading)
            try:
                pair.first_ping_ms()  # handshake out of the way
                if pair.tools and rnd == 0 and name == 'ours ↔ ours':
                    # The loop's lateness with the tunnel idle: what the machine alone does.
                    pair.tools[0].cmd('loop-reset')
                    subprocess.run(['sleep', str(SECONDS)])  # an idle period to sample, not a synchronisation
                    loop['idle (ours ↔ ours, no traffic)'] = [pair.tools[0].stats()['loop']]
                for t in pair.tools:
                    t.cmd('loop-reset')
                for reverse in (False, True):
                    r = pair.iperf(reverse=reverse, ping=not reverse)
                    if 'error' in r:
                        print(f'  {name}: iperf3 failed: {r["error"]}')
                        continue
                    res = results[name]
                    res['ba' if reverse else 'ab'].append(r['mbps'])
                    gbps = r['mbps'] / 1000 * r['wall'] / SECONDS
                    if ka != 'veth' and gbps > 0:
                        res['cpu'].append(r['cpu'] / r['wall'] / (r['mbps'] / 1000))
                    if gbps > 0:
                        res['busy'].append(r['busy'] / r['wall'] / (r['mbps'] / 1000))
                    res['retr'].append(r['retr'])
                    if r['rtt'] is not None:
                        res['rtt'].append(r['rtt'])
                if ka != 'veth':
                    r = pair.iperf(bidir=True)
                    if 'mbps' in r:
                        results[name]['bidir'].append(r['mbps'])
                if pair.tools:
                    lp = pair.tools[0].stats()['loop']
                    loop.setdefault(name, []).append(lp)
            finally:
                pair.close()
        print(f'  round {rnd + 1}/{REPEAT} done (load {load()})', flush=True)
    return results, loop


def handshakes(bed):
    out = {}
    for name, ka, kb, _ in CONFIGS[1:4]:
        rtts, internal = [], []
        for _ in range(5):
            pair = Pair(bed, ka, kb)
            try:
                rtts.append(pair.first_ping_ms())
                if pair.tools:
                    s = pair.tools[0].stats()
                    if s['first_data_ns'] and s['last_attempt_started_ns']:
                        internal.append((s['first_data_ns'] - s['last_attempt_started_ns']) / 1e6)
            finally:
                pair.close()
        out[name] = (rtts, internal)
    return out


def small_packets(bed):
    out = {}
    for name, ka, kb, _ in CONFIGS[:4]:
        vals = []
        for _ in range(REPEAT):
            pair = Pair(bed, ka, kb)
            try:
                pair.first_ping_ms()
                r = pair.iperf(udp=True)
                if 'pps' in r:
                    vals.append(r['pps'])
            finally:
                pair.close()
        out[name] = vals
    return out


def profile(bed):
    pair = Pair(bed, 'ours', 'ours')
    try:
        pair.first_ping_ms()
        data = os.path.join(bed.dir, 'perf.data')
        rec = subprocess.Popen(['perf', 'record', '-q', '-g', '-o', data, '-p', str(pair.pids[0]), '--',
                                'sleep', str(SECONDS)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pair.iperf()
        rec.wait(timeout=SECONDS + 60)
        # By library first (Debian's libcrypto has no symbols: its time is spread over
        # addresses), then the hottest symbols.
        for sort, limit in (('dso', '0.5'), ('dso,sym', '1.5')):
            rep = subprocess.run(['perf', 'report', '-i', data, '--stdio', '--no-children', '--sort', sort,
                                  '--percent-limit', limit, '-g', 'none'], capture_output=True, text=True)
            print('\n'.join(line for line in rep.stdout.splitlines() if line and not line.startswith('#')))
    finally:
        pair.close()


def main(bed, build_root):
    print(f'== WireGuard: namespace ↔ veth ↔ namespace, iperf3 TCP {SECONDS} s each way, {REPEAT} round(s), '
          f'MTU 1280 ==')
    print(f'load average before: {load()} (2 cores; other jobs on this machine add noise)')
    res, loop = throughput(bed)
    print(f'{"":30} {"A→B Mbit/s":>20} {"B→A Mbit/s":>20} {"both ways Mbit/s":>20} {"ping ms, loaded":>18} '
          f'{"tunnel CPU s/Gbit":>18} {"machine CPU s/Gbit":>19}')
    for name, *_ in CONFIGS:
        r = res[name]
        print(f'{name:30} {fmt_range(r["ab"]):>20} {fmt_range(r["ba"]):>20} {fmt_range(r["bidir"]):>20} '
              f'{fmt_range(r["rtt"], "{:.2f}"):>18} {fmt_range(r["cpu"], "{:.2f}"):>18} {fmt_range(r["busy"], "{:.2f}"):>19}')
    ref = res['wireguard-go ↔ wireguard-go']
    for name in ('ours ↔ ours', 'ours ↔ wireguard-go'):
        mine = res[name]
        if ref['ab'] and mine['ab']:
            ratio = statistics.median(mine['ab'] + mine['ba']) / statistics.median(ref['ab'] + ref['ba'])
            print(f'{name} / wireguard-go ↔ wireguard-go: {ratio:.2f}× (target ≥ 1.5×)')
    print('our main loop during the load (a 10 ms timer: how late it fires, µs): ' + '; '.join(
        f'{name}: p50 {fmt_range([x["p50_us"] for x in v])}, p99 {fmt_range([x["p99_us"] for x in v])}, '
        f'max {fmt_range([x["max_us"] for x in v])}' for name, v in loop.items()))

    print('== handshake latency: first ping from a fresh start (initiation → response → data → reply), 5 runs ==')
    for name, (rtts, internal) in handshakes(bed).items():
        extra = f'; initiation → first data (ours, in the core): {fmt_range(internal, "{:.2f}")} ms' if internal else ''
        print(f'{name:30} {fmt_range(rtts, "{:.2f}")} ms{extra}')

    print(f'== 64-byte UDP payloads, unlimited rate, {SECONDS} s, A→B: packets/s that arrive ==')
    for name, vals in small_packets(bed).items():
        print(f'{name:30} {fmt_range(vals)}')

    if os.environ.get('FZ_BENCH_PERF'):
        print('== perf profile: the sender of ours ↔ ours (A→B) ==')
        profile(bed)
    print(f'load average after: {load()}')
    return 0
