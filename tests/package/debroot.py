# SPDX-License-Identifier: Apache-2.0
"""A throwaway Debian 12 root to install the built packages into.

The base root (debootstrap --variant=minbase bookworm, plus man-db so that
`systemd-analyze verify` can check the unit's Documentation=) is made once per build
dir and cached there. Each test works on an overlay over it, inside a private mount +
PID namespace (see enter_namespace), with its own /proc and an empty /run: nothing
reaches the host, the cached base stays pristine, and every process a maintainer
script might leave behind dies with the namespace. Downloaded .debs are kept in a
shared cache in the build dir, so dependencies are fetched once.
"""

import fcntl
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import time

SUITE = 'bookworm'
MIRROR = os.environ.get('FZ_DEBIAN_MIRROR', 'http://deb.debian.org/debian')
SECURITY_MIRROR = os.environ.get('FZ_DEBIAN_SECURITY_MIRROR', 'http://deb.debian.org/debian-security')
BASE_SPEC = {
    'suite': SUITE,
    'variant': 'minbase',
    'include': ['man-db'],
    'mirror': MIRROR,
    'security-mirror': SECURITY_MIRROR,
    'version': 1,  # bump when the recipe below changes
}
CHROOT_ENV = {
    'PATH': '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'HOME': '/root',
    'LANG': 'C.UTF-8',
    'LC_ALL': 'C.UTF-8',
    'DEBIAN_FRONTEND': 'noninteractive',
    'TERM': 'dumb',
}
# Never part of a before/after comparison: package manager databases, caches and
# logs, and the pseudo file systems.
SNAPSHOT_SKIP = (
    '/proc', '/sys', '/dev', '/run', '/tmp', '/var/tmp',
    '/var/cache', '/var/log', '/var/lib/apt', '/var/lib/dpkg',
    '/etc/ld.so.cache',
)


def log(*args):
    print(*args, flush=True)


def cache_dir():
    build_root = os.environ.get('FZ_BUILD_ROOT')
    if not build_root:
        raise RuntimeError('FZ_BUILD_ROOT is not set (run through meson test)')
    d = os.path.join(build_root, 'package-root')
    os.makedirs(d, exist_ok=True)
    return d


def _locked(path):
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def ensure_base():
    """The cached base root; made with debootstrap if missing or made by another recipe."""
    cache = cache_dir()
    base = os.path.join(cache, 'base')
    stamp = os.path.join(cache, 'base.json')
    lock = _locked(os.path.join(cache, 'lock'))
    try:
        try:
            with open(stamp) as f:
                have = json.load(f)
        except (OSError, ValueError):
            have = {}
        if have.get('spec') == BASE_SPEC and os.path.exists(os.path.join(base, 'usr/bin/apt-get')):
            log(f"base root: cached in {base} (debootstrap took {have.get('seconds', '?')} s)")
            return base
        tmp = base + '.tmp'
        for d in (tmp, base):
            if os.path.lexists(d):
                shutil.rmtree(d)
        if os.path.exists(stamp):
            os.unlink(stamp)
        # In a private mount namespace: debootstrap mounts /proc and /sys inside the target
        # while it works, and those must never show up in the host's mount table.
        argv = ['unshare', '--mount', '--propagation', 'private', '--',
                'debootstrap', f"--variant={BASE_SPEC['variant']}",
                f"--include={','.join(BASE_SPEC['include'])}", SUITE, tmp, MIRROR]
        log('base root:', ' '.join(argv))
        start = time.monotonic()
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        seconds = round(time.monotonic() - start, 1)
        if r.returncode != 0:
            sys.stdout.write(r.stdout[-4000:])
            raise RuntimeError(f'debootstrap failed ({r.returncode})')
        with open(os.path.join(tmp, 'etc/apt/sources.list'), 'w') as f:
            f.write(f'deb {MIRROR} {SUITE} main\n'
                    f'deb {MIRROR} {SUITE}-updates main\n'
                    f'deb {SECURITY_MIRROR} {SUITE}-security main\n')
        # Downloads go to the shared cache (bind-mounted at run time).
        shutil.rmtree(os.path.join(tmp, 'var/cache/apt/archives'), ignore_errors=True)
        os.makedirs(os.path.join(tmp, 'var/cache/apt/archives'))
        os.rename(tmp, base)
        with open(stamp, 'w') as f:
            json.dump({'spec': BASE_SPEC, 'seconds': seconds, 'made': time.time()}, f)
        log(f'base root: debootstrap took {seconds} s')
        return base
    finally:
        os.close(lock)


def enter_namespace(argv, env, mount_proc=False):
    """Run argv in a new mount + PID namespace (it becomes its PID 1). Returns its exit
    code; all its mounts and processes are gone when this returns. mount_proc: a /proc of
    the new PID namespace, for tests that look up their own children's PIDs."""
    return subprocess.run(['unshare', '--mount', '--pid', '--fork', '--kill-child',
                           *(['--mount-proc'] if mount_proc else []),
                           '--propagation', 'private', '--', *argv], env=env).returncode


def _mounts_below(path):
    path = os.path.realpath(path)
    with open('/proc/self/mountinfo') as f:
        points = [line.split()[4] for line in f]
    return [p for p in points if p == path or p.startswith(path + '/')]


def remove_workdir(path):
    """rm -rf a test's overlay dirs, but never through a mount still in place."""
    left = _mounts_below(path)
    if left:
        raise RuntimeError(f'not removing {path}: still mounted: {left}')
    shutil.rmtree(path, ignore_errors=True)


class Root:
    """An overlay root over the base; call mount() inside the private namespace."""

    def __init__(self, base, workdir):
        self.base = base
        self.workdir = workdir
        self.path = os.path.join(workdir, 'root')

    def mount(self):
        if not os.environ.get('FZ_PKGTEST_IN_NAMESPACE'):
            raise RuntimeError('Root.mount() outside the private namespace')
        upper = os.path.join(self.workdir, 'upper')
        work = os.path.join(self.workdir, 'work')
        for d in (upper, work, self.path):
            os.makedirs(d, exist_ok=True)
        self._sh('mount', '-t', 'overlay', 'overlay', '-o',
                 f'lowerdir={self.base},upperdir={upper},workdir={work}', self.path)
        self._sh('mount', '-t', 'proc', 'proc', self.host('/proc'))
        self._sh('mount', '-t', 'tmpfs', '-o', 'mode=0755,nosuid,nodev', 'tmpfs', self.host('/run'))
        archives = os.path.join(cache_dir(), 'archives')
        os.makedirs(os.path.join(archives, 'partial'), exist_ok=True)
        self._sh('mount', '--bind', archives, self.host('/var/cache/apt/archives'))
        # A copy, not a bind mount: a package may replace the root's resolv.conf.
        shutil.copyfile('/etc/resolv.conf', self.host('/etc/resolv.conf'))

    def unmount_helpers(self):
        """Before the root boots (systemd-nspawn mounts its own): the chroot's /proc and
        /run and the shared apt cache go."""
        for path in ('/var/cache/apt/archives', '/run', '/proc'):
            self._sh('umount', self.host(path))

    @staticmethod
    def _sh(*argv):
        subprocess.run(argv, check=True)

    def host(self, path):
        """The host path of a path inside the root."""
        return os.path.join(self.path, path.lstrip('/'))

    def run(self, *argv, env=None, check=True, quiet=False):
        """Run argv chrooted into the root, with a clean environment plus env."""
        full_env = dict(CHROOT_ENV, **(env or {}))
        start = time.monotonic()
        r = subprocess.run(['chroot', self.path, *argv], env=full_env, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        took = time.monotonic() - start
        if not quiet or r.returncode != 0:
            log(f"# {' '.join(argv)}  [{took:.1f} s, exit {r.returncode}]")
            if r.stdout:
                log(r.stdout.rstrip())
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} failed with exit code {r.returncode}")
        return r

    def write(self, path, text, mode=0o644):
        p = self.host(path)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, 'w') as f:
            f.write(text)
        os.chmod(p, mode)

    def snapshot(self, by_content=()):
        """path -> (mode, uid, gid, size, mtime, link target) for the whole root except
        SNAPSHOT_SKIP. A directory changes only with its own mode or owner. Files in
        by_content are compared by their bytes instead of size and mtime (caches that
        triggers rebuild)."""
        out = {}
        for dirpath, dirnames, filenames in os.walk(self.path):
            rel_dir = '/' + os.path.relpath(dirpath, self.path)
            rel_dir = '' if rel_dir == '/.' else rel_dir
            dirnames[:] = [d for d in dirnames if f'{rel_dir}/{d}' not in SNAPSHOT_SKIP]
            for name in dirnames + filenames:
                rel = f'{rel_dir}/{name}'
                if rel in SNAPSHOT_SKIP:
                    continue
                full = os.path.join(dirpath, name)
                st = os.lstat(full)
                if stat.S_ISDIR(st.st_mode):
                    out[rel] = (st.st_mode, st.st_uid, st.st_gid, None, None, None)
                elif rel in by_content and stat.S_ISREG(st.st_mode):
                    with open(full, 'rb') as f:
                        digest = hashlib.sha256(f.read()).hexdigest()
                    out[rel] = (st.st_mode, st.st_uid, st.st_gid, digest, None, None)
                else:
                    target = os.readlink(full) if stat.S_ISLNK(st.st_mode) else None
                    out[rel] = (st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns, target)
        return out


def diff(before, after):
    """(added, removed, changed) path sets between two snapshots."""
    added = set(after) - set(before)
    removed = set(before) - set(after)
    changed = {p for p in set(before) & set(after) if before[p] != after[p]}
    return added, removed, changed
