# SPDX-License-Identifier: Apache-2.0
"""Client-side benchmarks in the integration bed (private bus with the project's policy, real
polkitd, the build-tree daemon at log level info):

  1. bench-client, as fz-member: libfirezone-client's get-status round trip next to raw
     sd-bus and GDBus calls to the same daemon (Peer.Ping and Status()), interleaved.
     Target: get-status ≤ 1.5× sd-bus Peer.Ping.
  2. hyperfine, as fz-member: `firezonectl status` whole-process wall time next to busctl
     making the same Status() call and /usr/bin/true (the cost of starting a process).
     Target: ≤ 15 ms.

Run: tools/bench client   (or: meson test -C build --benchmark client)
FZ_BENCH_CALLS sets the number of calls of each kind (default 5000)."""

import json
import os
import shutil


def hyperfine(bed, runs):
    out = os.path.join(bed.dir, 'hyperfine')
    os.mkdir(out)
    os.chmod(out, 0o777)
    fzctl = bed.build_path('cli/firezonectl')
    commands = [
        ('firezonectl status', f'{fzctl} status'),
        ('firezonectl status --json', f'{fzctl} status --json'),
        ('reference: busctl call … Status() (sd-bus)',
         'busctl --system call dev.firezone.Client1 /dev/firezone/Client1 dev.firezone.Client1 Status'),
        ('reference: firezonectl --version (no D-Bus)', f'{fzctl} --version'),
        ('reference: /usr/bin/true (process start)', '/usr/bin/true'),
    ]
    for i, (label, command) in enumerate(commands):
        path = os.path.join(out, f'{i}.json')
        r = bed.run_as('fz-member', ['hyperfine', '-N', '--style', 'none', '--warmup', '20', '--runs', str(runs),
                                     '--export-json', path, command], timeout=900)
        if r.returncode != 0:
            print(f'hyperfine failed for {label}: {r.stderr}')
            return 1
        res = json.load(open(path))['results'][0]
        times = sorted(res['times'])
        print(f'{label:48s} median {res["median"] * 1e3:6.2f} ms  mean {res["mean"] * 1e3:6.2f} ms '
              f'± {res["stddev"] * 1e3:5.2f}  min {res["min"] * 1e3:6.2f} ms  '
              f'p95 {times[int(len(times) * 0.95)] * 1e3:6.2f} ms')
    print('target: firezonectl status ≤ 15 ms')
    return 0


def main(bed, build_root):
    bed.start_daemon(debug=False)
    print('== libfirezone-client get-status vs raw sd-bus and GDBus, as fz-member ==')
    r = bed.run_as('fz-member', [bed.build_path('bench/bench-client'), os.environ.get('FZ_BENCH_CALLS', '5000')],
                   timeout=900)
    print(r.stdout, r.stderr, end='')
    if r.returncode != 0:
        return r.returncode
    print('== whole-process wall time, as fz-member (hyperfine -N, 300 runs each) ==')
    if not shutil.which('hyperfine'):
        print('hyperfine is not installed (apt-get install hyperfine): no process timings')
        return 1
    return hyperfine(bed, 300)
