#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Benchmark of the client side, in the integration bed (private namespaces, private
dbus-daemon with the project's policy, real polkitd, the daemon from the build tree):

  1. bench-client as fz-member: libfirezone-client's get-status round trip next to raw
     sd-bus calls to the same daemon (Peer.Ping and Status()). Target: ≤ 1.5× Peer.Ping.
  2. hyperfine as fz-member: `firezonectl status` whole-process wall time next to busctl
     making the same Status() call and /usr/bin/true (the cost of starting a process).
     Target: ≤ 15 ms.

Figures go to stdout and bench/results/client.txt. Needs root (it builds the bed); the
host is left as it was. usage: run-client-bench.py [ITERATIONS]"""

import ctypes
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.environ.get('FZ_SOURCE_ROOT') or os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SOURCE_ROOT, 'tests', 'integration'))


def hyperfine(bed, workdir, runs):
    out = os.path.join(workdir, 'hyperfine')
    os.mkdir(out)
    os.chmod(out, 0o777)
    fzctl = bed.build_path('cli/firezonectl')
    commands = [
        ('firezonectl status', [fzctl, 'status']),
        ('firezonectl status --json', [fzctl, 'status', '--json']),
        ('reference: busctl call … Status (sd-bus)',
         ['busctl', '--system', 'call', 'dev.firezone.Client1', '/dev/firezone/Client1', 'dev.firezone.Client1',
          'Status']),
        ('reference: /usr/bin/true (process start)', ['/usr/bin/true']),
    ]
    lines = []
    for label, argv in commands:
        path = os.path.join(out, f'{len(lines)}.json')
        r = bed.run_as('fz-member', ['hyperfine', '-N', '--style', 'none', '--warmup', '20', '--runs', str(runs),
                                     '--export-json', path, ' '.join(argv)], timeout=600)
        if r.returncode != 0:
            raise RuntimeError(f'hyperfine failed for {label}: {r.stderr}')
        res = json.load(open(path))['results'][0]
        times = sorted(res['times'])
        lines.append(f'{label:44s} median {res["median"] * 1e3:6.2f} ms  mean {res["mean"] * 1e3:6.2f} ms '
                     f'± {res["stddev"] * 1e3:5.2f}  min {res["min"] * 1e3:6.2f} ms  '
                     f'p95 {times[int(len(times) * 0.95)] * 1e3:6.2f} ms')
    return lines


def in_bed(workdir, iterations):
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: the bed's helpers are ours to reap
    import sandbox
    sandbox.enter(workdir)
    import fzbed
    bed = fzbed.Bed(workdir)
    fzbed.BED = bed
    bed.setup()
    report = []
    try:
        # info, not the bed's usual debug: the daemon should not spend the round trip logging.
        bed.start_daemon(['--log-level=info'])
        r = bed.run_as('fz-member', [bed.build_path('bench/bench-client'), str(iterations)], timeout=900)
        if r.returncode != 0:
            raise RuntimeError(f'bench-client failed: {r.stderr}')
        report.append('== libfirezone-client round trip vs raw sd-bus ==')
        report += r.stdout.rstrip('\n').split('\n')
        if shutil.which('hyperfine'):
            report.append('')
            report.append('== whole-process wall time, as fz-member (hyperfine -N, 300 runs) ==')
            report += hyperfine(bed, workdir, 300)
            report.append('target: firezonectl status ≤ 15 ms')
        else:
            report.append('hyperfine is not installed: no process timings (apt-get install hyperfine)')
    finally:
        bed.teardown()
        import runner
        runner.reap_descendants()
    return report


def main():
    if os.geteuid() != 0:
        print('run-client-bench: run as root (it builds the test bed in private namespaces)', file=sys.stderr)
        return 1
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    workdir = tempfile.mkdtemp(prefix='fz-bench-')
    os.environ.setdefault('FZ_SOURCE_ROOT', SOURCE_ROOT)
    rpipe, wpipe = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rpipe)
        code = 0
        try:
            report = in_bed(workdir, iterations)
            os.write(wpipe, json.dumps(report).encode())
        except Exception as e:  # report and fail
            import traceback
            traceback.print_exc()
            code = 1
        os._exit(code)
    os.close(wpipe)
    data = b''
    while True:
        chunk = os.read(rpipe, 65536)
        if not chunk:
            break
        data += chunk
    _, status = os.waitpid(pid, 0)
    shutil.rmtree(workdir, ignore_errors=True)
    if os.waitstatus_to_exitcode(status) != 0 or not data:
        return 1
    report = '\n'.join(json.loads(data)) + '\n'
    sys.stdout.write(report)
    results = os.path.join(SOURCE_ROOT, 'bench', 'results')
    os.makedirs(results, exist_ok=True)
    with open(os.path.join(results, 'client.txt'), 'w') as f:
        f.write(report)
    return 0


if __name__ == '__main__':
    sys.exit(main())
