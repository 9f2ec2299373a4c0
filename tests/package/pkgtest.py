#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Tests of the Debian packages that tools/build-debs makes (meson suite "package").

  pkgtest.py changelog-version VERSION   packaging/debian/changelog is at VERSION (meson's)
  pkgtest.py build-depends DEBDIR        every library the package build's meson found comes
                                         from a package named in Build-Depends
  pkgtest.py lintian DEBDIR              lintian on DEBDIR's .changes: no error, no warning
  pkgtest.py root                        make (once per build dir) the cached Debian 12 root
  pkgtest.py install SCENARIO DEBDIR     one class of test_install.py, in a fresh overlay
                                         root in a private mount + PID namespace
  pkgtest.py systemd SCENARIO DEBDIR     one class of test_systemd.py: the same, booted
                                         with systemd-nspawn on a private network

Exit codes follow meson: 0 pass, 1 fail, 77 skip (CI treats a skip as a failure).
"""

import glob
import json
import os
import pwd
import re
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


# Build-Depends never name these (Debian policy 4.2): libc, the compiler, make.
BUILD_ESSENTIAL = {'libc6-dev', 'linux-libc-dev', 'libgcc-12-dev', 'gcc', 'gcc-12', 'make', 'dpkg-dev'}


def _build_depends(dsc, profiles):
    """Package names in the .dsc's Build-Depends whose profile restrictions hold."""
    with open(dsc) as f:
        text = f.read()
    m = re.search(r'(?ms)^Build-Depends:(.*?)(?=^\S)', text)
    names = set()
    for item in m.group(1).replace('\n', ' ').split(','):
        item = item.strip()
        if not item:
            continue
        restrictions = re.findall(r'<([^>]*)>', item)
        # <a b> holds if all of its terms do; several <...> lists are alternatives.
        if restrictions and not any(
                all((t[1:] not in profiles) if t.startswith('!') else (t in profiles) for t in r.split())
                for r in restrictions):
            continue
        for alt in item.split('|'):
            names.add(re.match(r'\s*([^\s(<\[]+)', alt).group(1).split(':')[0])
    return names


def _owner(path):
    """The packages that ship path (dpkg-query -S), without :arch."""
    r = subprocess.run(['dpkg-query', '-S', path], capture_output=True, text=True)
    owners = set()
    for line in r.stdout.splitlines():
        if line.startswith('diversion ') or ': ' not in line:
            continue
        pkgs, _ = line.rsplit(': ', 1)
        owners |= {p.strip().split(':')[0] for p in pkgs.split(',')}
    return owners


def build_depends(debdir):
    dscs = glob.glob(os.path.join(debdir, '*.dsc'))
    if len(dscs) != 1:
        print(f'expected one .dsc in {debdir} (package-build makes it), found {dscs}', file=sys.stderr)
        return 1
    with open(os.path.join(debdir, 'build-profiles')) as f:
        profiles = set(filter(None, f.read().strip().split(',')))
    with open(os.path.join(debdir, 'meson-dependencies.json')) as f:
        deps = json.load(f)
    declared = _build_depends(dscs[0], profiles)
    print(f'profiles: {sorted(profiles) or "none"}; Build-Depends in effect: {sorted(declared)}')
    missing = []
    for dep in deps:
        # Where it came from: its pkg-config file, else the libraries it links.
        r = subprocess.run(['pkg-config', '--path', dep['name']], capture_output=True, text=True)
        paths = [r.stdout.strip()] if r.returncode == 0 else [
            a for a in dep.get('link_args', []) if a.startswith('/')]
        owners = set()
        for path in paths:
            owners |= _owner(path) or _owner(os.path.realpath(path))
        if not paths:
            print(f"{dep['name']}: from the toolchain (no .pc, no library path)")
            continue
        ok = owners & declared
        print(f"{dep['name']} {dep.get('version', '')}: {', '.join(paths)} from {sorted(owners) or '?'}"
              f"{'' if ok else '  <- NOT in Build-Depends'}")
        if not ok:
            missing.append(dep['name'])
    # cc.find_library() results: the package with the library's development link.
    multiarch = subprocess.run(['dpkg-architecture', '-qDEB_HOST_MULTIARCH'], capture_output=True,
                               text=True, check=True).stdout.strip()
    libraries = os.path.join(debdir, 'meson-libraries.txt')
    with open(libraries) as f:
        for name in filter(None, f.read().split()):
            paths = [p for p in (f'/usr/lib/{multiarch}/lib{name}.so', f'/usr/lib/lib{name}.so')
                     if os.path.lexists(p)]
            owners = set().union(*(_owner(p) for p in paths)) if paths else set()
            ok = owners & (declared | BUILD_ESSENTIAL)
            print(f"library {name}: {', '.join(paths) or '?'} from {sorted(owners) or '?'}"
                  f"{'' if ok else '  <- NOT in Build-Depends'}")
            if not ok:
                missing.append(name)
    if missing:
        print(f'add the packages of {missing} to Build-Depends in packaging/debian/control '
              '(this machine has them installed, so the build did not notice)', file=sys.stderr)
        return 1
    return 0


def lintian(debdir):
    changes = sorted(glob.glob(os.path.join(debdir, '*.changes')))
    if len(changes) != 1:
        print(f'expected one .changes in {debdir} (package-build makes it), found {changes}', file=sys.stderr)
        return 1
    # lintian unpacks the packages it checks: not as root. It gets copies in a directory of
    # its own, as the build dir may be in a checkout that nobody else can enter.
    tmp = tempfile.mkdtemp(prefix='fz-lintian-')
    try:
        for path in glob.glob(os.path.join(debdir, '*')):
            if path.endswith(('.changes', '.deb', '.dsc', '.buildinfo')) or '.tar.' in path:
                shutil.copy(path, tmp)
        # Overridden tags stay hidden: with --show-overrides, lintian 2.116 fails on them too.
        argv = ['lintian', '--fail-on', 'error,warning', '--display-info', '--pedantic',
                '--tag-display-limit', '0', os.path.join(tmp, os.path.basename(changes[0]))]
        if os.geteuid() == 0:
            nobody = pwd.getpwnam('nobody')
            for path in [tmp] + glob.glob(os.path.join(tmp, '*')):
                os.chown(path, nobody.pw_uid, nobody.pw_gid)
            argv = ['setpriv', f'--reuid={nobody.pw_uid}', f'--regid={nobody.pw_gid}', '--clear-groups',
                    'env', f'HOME={tmp}', f'TMPDIR={tmp}', *argv]
        print('#', ' '.join(argv), flush=True)
        start = time.monotonic()
        # cwd too: meson starts us in the build dir, which nobody may not be able to enter.
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(r.stdout.rstrip())
    tags = [line for line in r.stdout.splitlines() if line[:2] in ('E:', 'W:', 'I:', 'P:', 'O:', 'X:')]
    errors = [t for t in tags if t.startswith(('E:', 'W:'))]
    print(f'lintian: exit {r.returncode} after {time.monotonic() - start:.1f} s; '
          f'{len(errors)} error/warning tag(s), {len(tags) - len(errors)} other')
    return 0 if r.returncode == 0 and not errors else 1


# What each subcommand runs: test module, and whether its namespace gets its own /proc.
MODULES = {'install': ('test_install', False), 'systemd': ('test_systemd', True)}


def install(kind, scenario, debdir):
    module, mount_proc = MODULES[kind]
    base = debroot.ensure_base()
    runs = os.path.join(debroot.cache_dir(), 'runs')
    os.makedirs(runs, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix=f'{scenario}-', dir=runs)
    start = time.monotonic()
    try:
        return debroot.enter_namespace(
            [sys.executable, os.path.abspath(__file__), '--in-namespace', module, scenario, debdir, base, workdir],
            env=dict(os.environ, FZ_PKGTEST_IN_NAMESPACE='1'), mount_proc=mount_proc)
    finally:
        debroot.remove_workdir(workdir)
        print(f'{kind} {scenario}: {time.monotonic() - start:.1f} s', flush=True)


def install_in_namespace(module_name, scenario, debdir, base, workdir):
    import importlib
    module = importlib.import_module(module_name)
    root = debroot.Root(base, workdir)
    root.mount()
    module.ROOT = root
    module.DEBDIR = os.path.abspath(debdir)
    suite = unittest.defaultTestLoader.loadTestsFromName(scenario, module)
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    if result.testsRun == 0 and result.wasSuccessful():
        print(f'no test class {scenario}', file=sys.stderr)
        return 1
    if not result.wasSuccessful():
        return 1
    return 77 if result.skipped else 0


def main():
    args = sys.argv[1:]
    if args[:1] == ['changelog-version'] and len(args) == 2:
        return changelog_version(args[1])
    if args[:1] == ['build-depends'] and len(args) == 2:
        return build_depends(args[1])
    if os.geteuid() != 0:
        print('package tests need root (debootstrap, chroot, mounts)', file=sys.stderr)
        return 1
    if args[:1] == ['lintian'] and len(args) == 2:
        return lintian(args[1])
    if args == ['root']:
        debroot.ensure_base()
        return 0
    if args[:1] in (['install'], ['systemd']) and len(args) == 3:
        return install(args[0], args[1], args[2])
    if args[:1] == ['--in-namespace'] and len(args) == 6:
        return install_in_namespace(*args[1:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main())
