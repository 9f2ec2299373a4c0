#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Tests of the Debian packages that tools/build-debs makes (meson suite "package").

  pkgtest.py changelog-version VERSION   packaging/debian/changelog is at VERSION (meson's)
  pkgtest.py lintian DEBDIR              lintian on DEBDIR's .changes: no error, no warning
  pkgtest.py root                        make (once per build dir) the cached Debian 12 root
  pkgtest.py install SCENARIO DEBDIR     one class of test_install.py, in a fresh overlay
                                         root in a private mount + PID namespace

Exit codes follow meson: 0 pass, 1 fail, 77 skip (CI treats a skip as a failure).
"""

import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import debroot  # noqa: E402

SOURCE_ROOT = os.environ.get('FZ_SOURCE_ROOT', os.path.dirname(os.path.dirname(HERE)))


def changelog_version(version):
    r = subprocess.run(['dpkg-parsechangelog', '-l', os.path.join(SOURCE_ROOT, 'packaging/debian/changelog'),
                        '-S', 'Version'], capture_output=True, text=True, check=True)
    have = r.stdout.strip()
    print(f'packaging/debian/changelog: {have}; meson.build: {version}')
    if have != version:
        print('add a changelog entry for the new version: the packages must carry the version '
              'the program reports', file=sys.stderr)
        return 1
    return 0


def lintian(debdir):
    changes = sorted(glob.glob(os.path.join(debdir, '*.changes')))
    if len(changes) != 1:
        print(f'expected one .changes in {debdir} (package-build makes it), found {changes}', file=sys.stderr)
        return 1
    argv = ['lintian', '--fail-on', 'error,warning', '--display-info', '--pedantic',
            '--show-overrides', '--tag-display-limit', '0', changes[0]]
    # lintian unpacks the packages it checks: not as root. The debs are world-readable.
    tmp = tempfile.mkdtemp(prefix='fz-lintian-')
    try:
        if os.geteuid() == 0:
            nobody = pwd.getpwnam('nobody')
            os.chown(tmp, nobody.pw_uid, nobody.pw_gid)
            argv = ['setpriv', f'--reuid={nobody.pw_uid}', f'--regid={nobody.pw_gid}', '--clear-groups',
                    'env', f'HOME={tmp}', f'TMPDIR={tmp}', *argv]
        print('#', ' '.join(argv), flush=True)
        start = time.monotonic()
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(r.stdout.rstrip())
    tags = [line for line in r.stdout.splitlines() if line[:2] in ('E:', 'W:', 'I:', 'P:', 'O:', 'X:')]
    errors = [t for t in tags if t.startswith(('E:', 'W:'))]
    print(f'lintian: exit {r.returncode} after {time.monotonic() - start:.1f} s; '
          f'{len(errors)} error/warning tag(s), {len(tags) - len(errors)} other')
    return 0 if r.returncode == 0 and not errors else 1


def install(scenario, debdir):
    base = debroot.ensure_base()
    runs = os.path.join(debroot.cache_dir(), 'runs')
    os.makedirs(runs, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix=f'{scenario}-', dir=runs)
    env_argv = [sys.executable, os.path.abspath(__file__), '--in-namespace', scenario, debdir, workdir]
    os.environ['FZ_PKGTEST_IN_NAMESPACE'] = '1'
    try:
        return debroot.enter_namespace(env_argv)
    finally:
        debroot.remove_workdir(workdir)


def install_in_namespace(scenario, debdir, workdir):
    import test_install
    root = debroot.Root(debroot.ensure_base(), workdir)
    root.mount()
    test_install.ROOT = root
    test_install.DEBDIR = os.path.abspath(debdir)
    suite = unittest.defaultTestLoader.loadTestsFromName(scenario, test_install)
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    if result.testsRun == 0:
        print(f'no test class {scenario}', file=sys.stderr)
        return 1
    if not result.wasSuccessful():
        return 1
    return 77 if result.skipped else 0


def main():
    args = sys.argv[1:]
    if args[:1] == ['changelog-version'] and len(args) == 2:
        return changelog_version(args[1])
    if os.geteuid() != 0:
        print('package tests need root (debootstrap, chroot, mounts)', file=sys.stderr)
        return 1
    if args[:1] == ['lintian'] and len(args) == 2:
        return lintian(args[1])
    if args == ['root']:
        debroot.ensure_base()
        return 0
    if args[:1] == ['install'] and len(args) == 3:
        return install(args[1], args[2])
    if args[:1] == ['--in-namespace'] and len(args) == 4:
        return install_in_namespace(*args[1:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main())
