# SPDX-License-Identifier: Apache-2.0
"""The DNS stub (issue #11) under dnsperf, in the bed, side by side in one run:

  resource names   the stub answering them  vs  dnsmasq answering the same names from its
                   own local data (target: the stub ≥ 1.5× dnsmasq's queries per second)
  forwarded names  through the stub to dnsmasq  vs  straight to dnsmasq (targets: ≥ 0.8× the
                   direct rate, median latency ≤ +50 µs)

Throughput: dnsperf -c 4 -q 100 -l SECONDS over 100 names, UDP. Latency: bench/dns-latency,
one query in flight, stub and reference interleaved query by query (so both see the same
moment of a shared machine), median and p90 over 2,000 each (dnsperf -q 1 sleeps in its own
timer ticks between queries: tens of ms here). Each throughput comparison alternates stub
and reference, ROUNDS times, and prints every round, so the noise shows; the CPU time the
daemon and dnsmasq spent per query is measured from /proc. The daemon runs with --dns-control=disabled (the stub serves the sentinels in
every mode) and without debug logging.

Environment: FZ_BENCH_DNS_ROUNDS (default 3), FZ_BENCH_DNS_SECONDS (default 5)."""

import os
import re
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'integration'))
from portalbed import LocalPortal  # noqa: E402
from stubbed import SENTINEL4, UPSTREAM4, Dig, Dnsmasq  # noqa: E402

TOKEN = 'bench-token-0123456789'
ROUNDS = int(os.environ.get('FZ_BENCH_DNS_ROUNDS', '3'))
SECONDS = int(os.environ.get('FZ_BENCH_DNS_SECONDS', '5'))
NAMES = 100
RESOURCES = 1000  # the stub matches against a realistic list, not just the names asked


def cpu_ticks(pid):
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def loadavg():
    with open('/proc/loadavg') as f:
        return f.read().split()[0]


def dnsperf(server, datafile, *args):
    r = subprocess.run(['dnsperf', '-s', server, '-d', datafile, *args], capture_output=True, text=True,
                       timeout=SECONDS + 60)
    return r.stdout + r.stderr


def throughput(server, datafile, pids):
    before = {p: cpu_ticks(p) for p in pids}
    out = dnsperf(server, datafile, '-c', '4', '-q', '100', '-l', str(SECONDS))
    spent = {p: cpu_ticks(p) - before[p] for p in pids}
    qps = float(re.search(r'Queries per second:\s+([\d.]+)', out).group(1))
    completed = int(re.search(r'Queries completed:\s+(\d+)', out).group(1))
    lost = int(re.search(r'Queries lost:\s+(\d+)', out).group(1))
    codes = re.search(r'Response codes:\s+(.*)', out).group(1)
    tick = os.sysconf('SC_CLK_TCK')
    cpu_us = {p: spent[p] / tick * 1e6 / max(completed, 1) for p in pids}
    return qps, lost, codes, cpu_us


def latency(tool, datafile, servers, rounds=2000):
    """{server: (p50, p90, lost)} in µs, the servers interleaved query by query."""
    out = subprocess.run([tool, '-n', str(rounds), datafile, *servers], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    res = {}
    for m in re.finditer(r'^(\S+) p50 ([\d.]+) p90 ([\d.]+) mean [\d.]+ lost (\d+)$', out, re.M):
        res[m.group(1)] = (float(m.group(2)), float(m.group(3)), int(m.group(4)))
    return res


def main(bed, build_root):
    res_names = [f'host{i}.corp.example.com' for i in range(1, NAMES + 1)]
    fwd_names = [f'fwd{i}.example.org' for i in range(1, NAMES + 1)]
    # The upstream: both sets as its own data (so "dnsmasq answering resource names" and
    # "dnsmasq answering forwarded names" cost it the same), no query log (it costs more
    # than the lookup), no cache to speak of.
    records = {n: f'192.0.2.{1 + i % 250}' for i, n in enumerate(res_names + fwd_names)}
    dnsmasq = Dnsmasq(bed, records=records, txt={}, log_queries=False)
    account = {'token': TOKEN,
               'interface': {'ipv4': '100.72.112.111', 'ipv6': 'fd00:2021:1111::13:efb9',
                             'upstream_do53': [{'ip': UPSTREAM4}]},
               'resources': [{'id': f'e0000000-0000-4000-8000-{i:012d}', 'type': 'dns', 'name': f'Host {i}',
                              'address': f'host{i}.corp.example.com'} for i in range(1, RESOURCES + 1)]}
    portal = LocalPortal(bed, account=account, token=TOKEN)
    daemon = bed.start_daemon(('--dns-control=disabled',), env={'FIREZONE_API_URL': portal.ws_url}, debug=False)
    agent = bed.agent('root')
    agent.subscribe('StateChanged')
    r = agent.call('SignIn', f"('{TOKEN}', @a{{sv}} {{}})", '(sa{sv})')
    assert 'ok' in r, r
    assert 'ok' in agent.wait_signal('StateChanged', match={0: 'connected'}, timeout_ms=60000)

    files = {}
    for label, names in (('res', res_names), ('fwd', fwd_names)):
        files[label] = os.path.join(bed.dir, f'{label}.txt')
        with open(files[label], 'w') as f:
            f.write(''.join(f'{n} A\n' for n in names))
    # Warm up: every resource name gets its proxy IPs; every forwarded name works.
    for n in res_names:
        d = Dig(SENTINEL4, n)
        assert d.status == 'NOERROR' and d.data('A') and d.data('A')[0].startswith('100.'), d
    assert Dig(SENTINEL4, fwd_names[0]).data('A') == [records[fwd_names[0]]]
    assert Dig(UPSTREAM4, res_names[0]).data('A') == [records[res_names[0]]]

    pids = [daemon.pid, dnsmasq.proc.pid]
    cases = [('resource names', 'res', (('stub', SENTINEL4), ('dnsmasq, local data', UPSTREAM4))),
             ('forwarded names', 'fwd', (('through the stub', SENTINEL4), ('straight to dnsmasq', UPSTREAM4)))]
    results, lat = {}, {}
    tool = os.path.join(build_root, 'bench', 'dns-latency')
    r = subprocess.run(['dnsperf', '-h'], capture_output=True, text=True)
    version = re.search(r'Version (\S+)', r.stdout + r.stderr)
    print(f'dnsperf {version.group(1) if version else "?"}, {os.cpu_count()} CPUs, {SECONDS} s per run, '
          f'{ROUNDS} rounds; load average at start {loadavg()}', flush=True)
    for title, label, sides in cases:
        print(f'\n== {title} ({NAMES} names, UDP) ==', flush=True)
        for rnd in range(1, ROUNDS + 1):
            for side, server in (sides if rnd % 2 else sides[::-1]):
                qps, lost, codes, cpu = throughput(server, files[label], pids)
                results.setdefault((label, side), []).append(qps)
                print(f'  round {rnd}  {side:<22} {qps:>9.0f} q/s  lost {lost:<5} cpu/query: daemon '
                      f'{cpu[daemon.pid]:5.1f} µs, dnsmasq {cpu[dnsmasq.proc.pid]:5.1f} µs  '
                      f'[{codes.strip()}] load {loadavg()}', flush=True)
            r = latency(tool, files[label], [server for _, server in sides])
            for side, server in sides:
                p50, p90, lost = r[server]
                lat.setdefault((label, side), []).append((p50, p90))
                print(f'  round {rnd}  {side:<22} latency p50 {p50:6.1f} µs  p90 {p90:6.1f} µs  (lost {lost})',
                      flush=True)

    def med(label, side, k):
        if k == 0:
            return statistics.median(results[(label, side)])
        return statistics.median(x[k - 1] for x in lat[(label, side)])

    def spread(label, side):
        v = results[(label, side)]
        return (max(v) - min(v)) / statistics.median(v) * 100

    def paired(label, a, b):
        """Per round: throughput ratio a/b (adjacent runs), latency p50 difference a-b
        (interleaved query by query)."""
        ratios = [x / y for x, y in zip(results[(label, a)], results[(label, b)])]
        diffs = [x[0] - y[0] for x, y in zip(lat[(label, a)], lat[(label, b)])]
        return ratios, diffs

    print('\n== summary (medians over the rounds; per-round range in brackets) ==')
    (_, _, rs), (_, _, fs) = cases
    stub, ref = rs[0][0], rs[1][0]
    ratios, diffs = paired('res', stub, ref)
    print(f'  resource names: stub {med("res", stub, 0):.0f} q/s vs dnsmasq {med("res", ref, 0):.0f} q/s; '
          f'ratio {statistics.median(ratios):.2f}x [{min(ratios):.2f}-{max(ratios):.2f}] (target >= 1.5x); '
          f'latency p50 {med("res", stub, 1):.1f} vs {med("res", ref, 1):.1f} µs; '
          f'throughput spread between rounds {spread("res", stub):.0f}% / {spread("res", ref):.0f}%')
    via, direct = fs[0][0], fs[1][0]
    ratios, diffs = paired('fwd', via, direct)
    print(f'  forwarded names: through the stub {med("fwd", via, 0):.0f} q/s vs direct {med("fwd", direct, 0):.0f} '
          f'q/s; ratio {statistics.median(ratios):.2f}x [{min(ratios):.2f}-{max(ratios):.2f}] (target >= 0.8x); '
          f'median latency {med("fwd", via, 1):.1f} vs {med("fwd", direct, 1):.1f} µs, added '
          f'{statistics.median(diffs):+.1f} µs [{min(diffs):+.1f} to {max(diffs):+.1f}] (target <= +50 µs); '
          f'throughput spread between rounds {spread("fwd", via):.0f}% / {spread("fwd", direct):.0f}%')
    print(f'  load average at the end {loadavg()} (other work on this machine shows here)')
    bed.stop_daemon()
    portal.stop()
    dnsmasq.stop()
    return 0
