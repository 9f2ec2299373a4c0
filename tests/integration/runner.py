#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Runs one integration test case in its own bed, and proves the host was left alone.

  runner.py --list                     print every test id (module.Class.test), for meson
  runner.py MODULE.CLASS.TEST          run one test: fork a child that enters a private
                                       mount + network namespace, sets up the bed, runs the
                                       test and tears everything down; then compare the
                                       host's fingerprint before and after
  runner.py --snapshot FILE            write the host fingerprint (first test of a run)
  runner.py --compare FILE             compare against it (last test of a run)

Exit codes follow meson: 0 pass, 1 fail, 77 skip (CI treats a skip as a failure).
"""

import ast
import ctypes
import glob
import json
import os
import shutil
import signal
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import hostcheck  # noqa: E402

PR_SET_CHILD_SUBREAPER = 36


def list_tests():
    ids = []
    for path in sorted(glob.glob(os.path.join(HERE, 'test_*.py'))):
        module = os.path.splitext(os.path.basename(path))[0]
        tree = ast.parse(open(path).read(), path)
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith('_'):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and item.name.startswith('test'):
                        ids.append(f'{module}.{node.name}.{item.name}')
    return ids


def reap_descendants():
    """We are a subreaper: kill whatever is left of the bed and reap it."""
    me = os.getpid()
    while True:
        kids = []
        for d in os.listdir('/proc'):
            if not d.isdigit():
                continue
            try:
                with open(f'/proc/{d}/stat') as f:
                    ppid = int(f.read().rsplit(')', 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == me:
                kids.append(int(d))
        if not kids:
            return
        for pid in kids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in kids:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


SANITIZER_MARKERS = (b'ERROR: AddressSanitizer', b'ERROR: LeakSanitizer', b': runtime error: ')


def sanitizer_reports(workdir):
    """In a sanitizer build every program of the bed (the daemon, the tools, the drivers) logs
    under the bed's directory; a report in any of those logs (a leak at exit included, which
    does not fail the test case itself) fails the test. Prints each report found."""
    found = False
    for root, _, files in os.walk(workdir):
        for name in files:
            if not name.endswith('.log'):
                continue
            path = os.path.join(root, name)
            try:
                with open(path, 'rb') as f:
                    data = f.read()
            except OSError:
                continue
            for marker in SANITIZER_MARKERS:
                at = data.find(marker)
                if at >= 0:
                    found = True
                    sys.stderr.write(f'sanitizer report in {name}:\n'
                                     f'{data[max(0, at - 200):at + 6000].decode("utf-8", "replace")}\n')
                    break
    return found


def run_in_bed(test_id, workdir):
    """Child side: namespace, bed, one test."""
    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    import sandbox
    sandbox.enter(workdir)

    import fzbed
    bed = fzbed.Bed(workdir)
    fzbed.BED = bed
    try:
        bed.setup()
    except Exception:
        bed.teardown()
        sys.stderr.write(bed.logs() + '\n')
        raise

    suite = unittest.defaultTestLoader.loadTestsFromName(test_id)
    result = unittest.TextTestRunner(stream=sys.stderr, verbosity=2).run(suite)
    bed.teardown()
    reap_descendants()
    if result.testsRun == 0:
        sys.stderr.write(f'no test named {test_id}\n')
        return 1
    if not result.wasSuccessful():
        return 1
    if sanitizer_reports(workdir):
        return 1
    if result.skipped:
        return 77
    return 0


def run_bench(mode, path):
    """A benchmark module's main(bed, build_root) runs in a bed like a test does."""
    if mode == '--bench':
        before = json.loads(json.dumps(hostcheck.snapshot()))
        workdir = tempfile.mkdtemp(prefix='fz-bench-')
        import subprocess
        try:
            rc = subprocess.run([sys.executable, os.path.abspath(__file__), '--bench-in-bed', path],
                                env=dict(os.environ, FZ_BED_DIR=workdir)).returncode
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        changes = hostcheck.diff(before, json.loads(json.dumps(hostcheck.snapshot())))
        if changes:
            print('THE HOST WAS CHANGED:', *changes, sep='\n  ', file=sys.stderr)
            return 1
        return rc
    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    import sandbox
    workdir = os.environ['FZ_BED_DIR']
    sandbox.enter(workdir)
    import fzbed
    import importlib.util
    spec = importlib.util.spec_from_file_location('bench', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    bed = fzbed.Bed(workdir)
    fzbed.BED = bed
    try:
        bed.setup()
        return mod.main(bed, fzbed.BUILD_ROOT)
    finally:
        bed.teardown()
        sys.stdout.flush()
        reap_descendants()


def main():
    if len(sys.argv) == 2 and sys.argv[1] == '--list':
        print('\n'.join(list_tests()))
        return 0
    if len(sys.argv) == 3 and sys.argv[1] == '--snapshot':
        with open(sys.argv[2], 'w') as f:
            json.dump(hostcheck.snapshot(), f)
        return 0
    if len(sys.argv) == 3 and sys.argv[1] == '--compare':
        with open(sys.argv[2]) as f:
            before = json.load(f)
        changes = hostcheck.diff(before, json.loads(json.dumps(hostcheck.snapshot())))
        for c in changes:
            print('host changed:', c)
        print('host unchanged by the test run' if not changes else f'{len(changes)} host change(s)')
        return 1 if changes else 0
    if len(sys.argv) == 3 and sys.argv[1] in ('--bench', '--bench-in-bed'):
        return run_bench(sys.argv[1], sys.argv[2])
    if len(sys.argv) == 3 and sys.argv[1] == '--in-bed':
        workdir = os.environ['FZ_BED_DIR']
        return run_in_bed(sys.argv[2], workdir)
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2

    test_id = sys.argv[1]
    if os.geteuid() != 0:
        print('integration tests need root (namespaces, mounts); run them as root', file=sys.stderr)
        return 1
    before = json.loads(json.dumps(hostcheck.snapshot()))
    workdir = tempfile.mkdtemp(prefix='fz-bed-')
    env = dict(os.environ, FZ_BED_DIR=workdir, PYTHONDONTWRITEBYTECODE='1')
    import subprocess
    child = subprocess.Popen([sys.executable, os.path.abspath(__file__), '--in-bed', test_id], env=env)
    try:
        rc = child.wait()
    except BaseException:
        child.kill()
        child.wait()
        raise
    finally:
        # The namespace (and every mount in it) died with the child: this only removes
        # the bed's own files.
        shutil.rmtree(workdir, ignore_errors=True)
    changes = hostcheck.diff(before, json.loads(json.dumps(hostcheck.snapshot())))
    if changes:
        print('THE HOST WAS CHANGED by this test:', *changes, sep='\n  ', file=sys.stderr)
        return 1
    return rc


if __name__ == '__main__':
    sys.exit(main())
