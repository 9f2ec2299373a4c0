# SPDX-License-Identifier: Apache-2.0
"""A fingerprint of the host state the integration tests must never change."""

import hashlib
import json
import os
import subprocess

WATCHED_FILES = [
    '/etc/passwd', '/etc/group', '/etc/shadow', '/etc/gshadow',
    '/etc/resolv.conf', '/etc/machine-id',
]
WATCHED_TREES = [
    '/etc/polkit-1', '/usr/share/polkit-1', '/etc/dbus-1', '/usr/share/dbus-1/system.d',
    '/etc/dev.firezone.client', '/var/lib/dev.firezone.client', '/run/netns',
]


def _file_id(path):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if os.path.islink(path):
        return {'link': os.readlink(path)}
    entry = {'mode': oct(st.st_mode), 'uid': st.st_uid, 'gid': st.st_gid}
    if os.path.isfile(path):
        try:
            with open(path, 'rb') as f:
                entry['sha256'] = hashlib.sha256(f.read()).hexdigest()
        except PermissionError:
            entry['sha256'] = 'unreadable'
    return entry


def _tree(root):
    if not os.path.lexists(root):
        return None
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            p = os.path.join(dirpath, name)
            out[os.path.relpath(p, root)] = _file_id(p)
    return out


def _ip_json(*args):
    r = subprocess.run(['ip', '-j', *args], capture_output=True, text=True)
    try:
        return json.loads(r.stdout or '[]')
    except ValueError:
        return r.stdout


def snapshot():
    links = [(l.get('ifname'), l.get('flags')) for l in _ip_json('link', 'show')]
    addrs = sorted((a.get('ifname'), i.get('local'), i.get('prefixlen'))
                   for a in _ip_json('addr', 'show') for i in a.get('addr_info', []))
    routes = sorted(json.dumps(r, sort_keys=True) for r in _ip_json('route', 'show', 'table', 'all'))
    routes6 = sorted(json.dumps(r, sort_keys=True) for r in _ip_json('-6', 'route', 'show', 'table', 'all'))
    rules = sorted(json.dumps(r, sort_keys=True) for r in _ip_json('rule', 'show'))
    netns = subprocess.run(['ip', 'netns', 'list'], capture_output=True, text=True).stdout.splitlines()
    with open('/proc/self/mountinfo') as f:
        mounts = sorted(' '.join(l.split()[3:5]) for l in f)
    return {
        'files': {p: _file_id(p) for p in WATCHED_FILES},
        'trees': {p: _tree(p) for p in WATCHED_TREES},
        'netns': sorted(netns),
        'links': links,
        'addresses': addrs,
        'routes': routes + routes6,
        'rules': rules,
        'mounts': mounts,
    }


def diff(before, after):
    """Human-readable list of what changed (empty if nothing)."""
    changes = []
    for key in before:
        if before[key] == after.get(key):
            continue
        if isinstance(before[key], dict):
            for sub in sorted(set(before[key]) | set(after[key])):
                if before[key].get(sub) != after[key].get(sub):
                    changes.append(f'{key}: {sub}: {before[key].get(sub)!r} -> {after[key].get(sub)!r}')
        else:
            changes.append(f'{key}: {before[key]!r} -> {after.get(key)!r}')
    return changes
