#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Benchmark: portal sign-in → connected, and memory with many resources.

Starts the local portal (tests/portal/portal.py --generate N) on loopback and the engine test
driver (build/tests/tools/fzd-portal-driver), then for N = 1, 100, 10,000 resources measures
the time from fzd_engine_start() to the "init" event (TCP connect, HTTP upgrade, join, init
frame, JSON parse, resource table filled), and the driver's RSS with 10,000 resources.

Reference, side by side: a minimal Python client (python3-websockets + json) doing the same
handshake, join and init parse against the same portal.

  bench/portal-connect.py [--build DIR] [--runs N] [--tls]
Targets (issue 5): ≤ 50 ms for 100 resources on loopback; RSS ≤ 16 MiB with 10,000; (issue
16) the engine ≤ 0.5x the reference's median with 10,000 (the ratio column: medians)."""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TOKEN = 'bench-token-0123456789'


def start_portal(n, tmp):
    ready = os.path.join(tmp, f'ready-{n}.json')
    p = subprocess.Popen(['/usr/bin/python3', os.path.join(ROOT, 'tests', 'portal', 'portal.py'),
                          '--token', TOKEN, '--generate', str(n), '--tls-dir', os.path.join(tmp, 'tls'),
                          '--control', os.path.join(tmp, f'ctl-{n}.sock'), '--ready-file', ready],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    info = json.loads(p.stdout.readline())  # the ready line: an event, not a sleep
    return p, info


class Driver:
    def __init__(self, exe, env):
        self.p = subprocess.Popen([exe, '--log-level=warning'], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True, env=env)
        self.wait('ready')

    def send(self, **o):
        self.p.stdin.write(json.dumps(o) + '\n')
        self.p.stdin.flush()

    def wait(self, name):
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise RuntimeError('driver exited')
            ev = json.loads(line)
            if ev['event'] == name:
                return ev
            if ev['event'] in ('reconnecting', 'session_ended'):
                raise RuntimeError(ev['error'])

    def close(self):
        self.send(op='quit')
        self.p.wait()


async def python_reference(url, ssl_ctx):
    import websockets
    t0 = time.perf_counter()
    async with websockets.connect(url + 'client/v2/websocket?external_id=bench&name=bench&public_key=' +
                                  'A' * 43 + '=', extra_headers={'X-Authorization': 'Bearer ' + TOKEN},
                                  ssl=ssl_ctx, max_size=2 ** 24, compression=None) as ws:
        await ws.send(json.dumps({'topic': 'client', 'event': 'phx_join', 'payload': {}, 'ref': 1}))
        while True:
            msg = json.loads(await ws.recv())
            if msg['event'] == 'init':
                table = {r['id']: r for r in msg['payload']['resources']}
                return time.perf_counter() - t0, len(table)


def summary(xs):
    xs = sorted(xs)
    return statistics.median(xs), xs[min(len(xs) - 1, int(len(xs) * 0.9))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', default=os.path.join(ROOT, 'build'))
    ap.add_argument('--runs', type=int, default=0, help='runs per size (default 30/30/20)')
    ap.add_argument('--tls', action='store_true', help='use wss:// with the test CA')
    args = ap.parse_args()
    exe = os.path.join(args.build, 'tests', 'tools', 'fzd-portal-driver')

    tmp = tempfile.mkdtemp(prefix='fz-bench-')
    rows = []
    rss = None
    for n, runs in ((1, 30), (100, 30), (10000, 20)):
        runs = args.runs or runs
        portal, info = start_portal(n, tmp)
        url = info['wss_url'] if args.tls else info['ws_url']
        env = dict(os.environ, SSL_CERT_FILE=info['ca_file'])
        d = Driver(exe, env)
        ssl_ctx = None
        if args.tls:
            import ssl
            ssl_ctx = ssl.create_default_context(cafile=info['ca_file'])
        # Side by side: one run of each in turn, so that what else the machine does falls on
        # both alike.
        ours, ref = [], []
        for _ in range(runs):
            d.send(op='start', api_url=url, token=TOKEN)
            ev = d.wait('init')
            assert ev['count'] == n, ev
            ours.append(ev['elapsed_usec'] / 1000)
            d.send(op='stop')
            d.wait('ok')
            t, count = asyncio.run(python_reference(url, ssl_ctx))
            assert count == n
            ref.append(t * 1000)
        if n == 10000:
            d.send(op='start', api_url=url, token=TOKEN)
            d.wait('init')
            # Twice: the engine hands freed heap back from the loop right after init, so the
            # second answer is the steady state once the loop went idle.
            d.send(op='stats')
            d.wait('stats')
            d.send(op='stats')
            rss = d.wait('stats')
        d.close()
        portal.terminate()
        portal.wait()
        rows.append((n, runs, summary(ours), summary(ref)))

    scheme = 'wss' if args.tls else 'ws'
    print(f'portal sign-in -> connected on loopback ({scheme}), ms: median / p90')
    print(f'{"resources":>10} {"runs":>5} {"engine (C)":>20} {"python3-websockets":>22} {"ratio":>7}')
    for n, runs, (m, p), (rm, rp) in rows:
        print(f'{n:>10} {runs:>5} {m:>9.2f} / {p:>7.2f} {rm:>11.2f} / {rp:>7.2f} {m / rm:>6.2f}x')
    print('targets: <= 50 ms for 100 resources; engine <= 0.5x the reference with 10,000 (issue 16)')
    print(f'driver RSS with 10,000 resources after init: {rss["vm_rss_kib"] / 1024:.1f} MiB '
          f'(peak {rss["vm_hwm_kib"] / 1024:.1f} MiB); target <= 16 MiB')
    subprocess.run(['rm', '-rf', tmp])


if __name__ == '__main__':
    sys.exit(main())
