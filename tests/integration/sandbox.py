# SPDX-License-Identifier: Apache-2.0
"""Private mount + network namespace for one test, so that nothing on the host changes.

Must be called before any thread exists in the process (unshare(CLONE_NEWNS) fails
in a multi-threaded process), i.e. before the first GDBus connection.

Inside the namespace:
  /etc, /var  overlay mounts whose upper layers live in the bed's temp dir: every
              write (users and groups, token files, resolv.conf, polkit rules, daemon
              state) lands in the copy and vanishes with the namespace.
  /run        a fresh tmpfs (the private system bus socket lives at its usual path).
  network     a new netns with only `lo`, brought up.
"""

import ctypes
import os
import subprocess

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MS_BIND = 4096

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]


def _check(ret, what):
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f'{what}: {os.strerror(err)}')


def mount(source, target, fstype=None, flags=0, data=None):
    enc = lambda s: s.encode() if s is not None else None
    _check(_libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f'mount {target}')


def bind(source, target):
    """Recursive bind, so mounts below source (e.g. bind-mounted files) come along."""
    mount(source, target, None, MS_BIND | MS_REC)


def umount(target):
    _check(_libc.umount2(target.encode(), 0), f'umount {target}')


def _mount_points():
    with open('/proc/self/mountinfo') as f:
        return [line.split()[4] for line in f]


def enter(workdir):
    """Unshare mount + net namespaces and cover /etc, /var, /run. Raises on any failure
    *before* the caller could write anything to the host."""
    if os.geteuid() != 0:
        raise PermissionError('the integration bed needs root (it creates namespaces and mounts)')
    if os.path.realpath('/etc') != '/etc' or os.path.realpath('/var') != '/var':
        raise RuntimeError('/etc or /var is a symlink; the bed cannot cover it')

    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWNET), 'unshare(CLONE_NEWNS|CLONE_NEWNET)')
    # Nothing we mount from here on may propagate back to the host.
    mount(None, '/', None, MS_REC | MS_PRIVATE)

    for top in ('etc', 'var'):
        upper = os.path.join(workdir, f'{top}-upper')
        work = os.path.join(workdir, f'{top}-work')
        os.mkdir(upper)
        os.mkdir(work)
        mount('overlay', f'/{top}', 'overlay', 0, f'lowerdir=/{top},upperdir={upper},workdir={work}')
    mount('tmpfs', '/run', 'tmpfs', 0, 'mode=0755')

    # Belt and braces: refuse to go on unless the covers are really in place.
    mounted = _mount_points()
    for top in ('/etc', '/var', '/run'):
        if top not in mounted:
            raise RuntimeError(f'{top} is not covered by a private mount; refusing to continue')

    subprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=True)
