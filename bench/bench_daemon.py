# SPDX-License-Identifier: Apache-2.0
"""Daemon benchmarks in the integration bed (private bus, real polkitd, build-tree daemon):
Status() vs Peer.Ping latency over 20,000 calls each, and the idle daemon's RSS.
Run: tools/bench daemon   (or: meson test -C build --benchmark)"""

import os
import subprocess


def rss_kib(pid):
    with open(f'/proc/{pid}/status') as f:
        return {l.split(':')[0]: int(l.split()[1]) for l in f if l.startswith(('VmRSS', 'RssAnon', 'RssFile'))}


def main(bed, build_root):
    daemon = bed.start_daemon(debug=False)  # as shipped: log level info
    idle = rss_kib(daemon.pid)
    print('== firezone-client-tunnel: Status() vs Peer.Ping, same daemon, interleaved ==')
    out = subprocess.run([os.path.join(build_root, 'bench', 'bus-latency'), os.environ.get('FZ_BENCH_CALLS', '20000')],
                         capture_output=True, text=True, env=bed.env())
    print(out.stdout, out.stderr, end='')
    after = rss_kib(daemon.pid)
    print('== idle daemon memory (target RSS ≤ 4 MiB) ==')
    print(f"VmRSS {idle['VmRSS']} KiB (anon {idle['RssAnon']} KiB, file {idle['RssFile']} KiB) at start; "
          f"{after['VmRSS']} KiB after the latency run")
    return out.returncode
