# SPDX-License-Identifier: Apache-2.0
"""Bed helpers for the DNS stub (issue #11): a real upstream resolver (dnsmasq, with its query
log), dig and getent as the system's clients, and a second network namespace that routes the
sentinel ranges to the bed, as a machine next to ours would.

dnsmasq runs inside the bed's network namespace on an address of the bed's own loopback
link (192.0.2.53, 2001:db8::53), or in a namespace of its own behind a veth pair. Readiness
is its "started" line in its log; its query log ("query[A] name from ...") is what proves
which names reached it. Nothing here touches the host: every namespace is created inside the
bed's, every file lives in the bed's dir or its private /etc and /run.
"""

import os
import re
import subprocess

import fzbed

UPSTREAM4 = '192.0.2.53'
UPSTREAM6 = '2001:db8::53'
SENTINEL4 = '100.100.111.1'
SENTINEL6 = 'fd00:2021:1111:8000:100:100:111:1'
PROXY4 = re.compile(r'^100\.(9[6-9]|1[01][0-9]|12[0-7])\.\d+\.\d+$')  # 100.96.0.0/11
PROXY6_PREFIX = 'fd00:2021:1111:8000::'


def is_proxy4(a):
    return bool(PROXY4.match(a))


def is_proxy6(a):
    import ipaddress
    return ipaddress.ip_address(a) in ipaddress.ip_network('fd00:2021:1111:8000::/107')


def run(*argv, check=True, timeout=30, netns=None):
    if netns:
        argv = ('ip', 'netns', 'exec', netns) + argv
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise fzbed.BedError(f'{" ".join(argv)} failed ({r.returncode}): {r.stdout}{r.stderr}')
    return r


class Dnsmasq:
    """dnsmasq as the upstream resolver. `records` are its own data: name → address(es)
    (A and AAAA), `txt` name → text; every other name under example.org is NXDOMAIN."""

    def __init__(self, bed, name='dnsmasq', addresses=(UPSTREAM4, UPSTREAM6), netns=None, records=None,
                 txt=None, extra=(), add_addresses=True, log_queries=True):
        self.bed = bed
        self.add_addresses = add_addresses
        self.name = name
        self.addresses = addresses
        self.netns = netns
        self.log_path = os.path.join(bed.dir, f'{name}-queries.log')
        self.conf = os.path.join(bed.dir, f'{name}.conf')
        records = records if records is not None else {'www.example.org': ['192.0.2.80', '2001:db8::80']}
        txt = txt if txt is not None else {'txt.example.org': 'hello from the upstream'}
        lines = ['no-resolv', 'no-hosts', 'bind-interfaces', 'user=root', 'group=root', 'port=53',
                 f'log-facility={self.log_path}', 'local=/example.org/', 'cache-size=0', 'dns-forward-max=10000']
        if log_queries:
            lines.append('log-queries=extra')
        lines += [f'listen-address={a}' for a in addresses]
        for host, addrs in records.items():
            for a in ([addrs] if isinstance(addrs, str) else addrs):
                lines.append(f'address=/{host}/{a}')
        for host, text in txt.items():
            lines.append(f'txt-record={host},"{text}"')
        lines += list(extra)
        with open(self.conf, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        self.proc = None
        self.start()

    def start(self):
        for a in (self.addresses if self.add_addresses else ()):
            fam = '-6' if ':' in a else '-4'
            prefix = '128' if ':' in a else '32'
            r = run('ip', fam, 'addr', 'add', f'{a}/{prefix}', 'dev', 'lo', *(['nodad'] if ':' in a else []),
                    check=False, netns=self.netns)
            if r.returncode != 0 and 'File exists' not in r.stderr:
                raise fzbed.BedError(f'cannot put {a} on lo: {r.stderr}')
        open(self.log_path, 'a').close()
        argv = ['dnsmasq', '--keep-in-foreground', f'--conf-file={self.conf}', '--pid-file=']
        if self.netns:
            argv = ['ip', 'netns', 'exec', self.netns] + argv
        self.proc = self.bed._spawn(f'{self.name}-{len(self.bed.processes)}', argv)
        # "started, version …" is written once its sockets are bound.
        self.bed._wait_until(lambda: 'started, version' in self.log(), what=f'{self.name} to start',
                             proc=self.proc, watch_file=self.log_path)

    def stop(self):
        if self.proc:
            self.proc.stop()
            self.proc = None

    def log(self):
        with open(self.log_path, errors='replace') as f:
            return f.read()

    def queries(self):
        """(type, name) of every query that reached it, in order."""
        return [(m.group(1), m.group(2).lower().rstrip('.'))
                for m in re.finditer(r'query\[(\w+)\] (\S+) from', self.log())]

    def names(self):
        return {name for _, name in self.queries()}


class Dig:
    """One dig run: status (NOERROR, NXDOMAIN, SERVFAIL, … or None when nothing came
    back), flags, and the answer section as (name, ttl, type, data) tuples."""

    def __init__(self, server, name, qtype='A', tcp=False, timeout=3, tries=1, netns=None, extra=(), reverse=None):
        question = ['-x', reverse] if reverse else [name, qtype]
        argv = ['dig', f'@{server}', *question, '+noall', '+comments', '+answer', f'+time={timeout}',
                f'+tries={tries}', '+retry=0'] + (['+tcp'] if tcp else []) + list(extra)
        r = run(*argv, check=False, timeout=timeout * tries + 10, netns=netns)
        self.output = r.stdout + r.stderr
        self.exit = r.returncode
        m = re.search(r'status: (\w+),', r.stdout)
        self.status = m.group(1) if m else None
        m = re.search(r';; flags: ([a-z ]*);', r.stdout)
        self.flags = set(m.group(1).split()) if m else set()
        self.answers = []
        for line in r.stdout.splitlines():
            if not line or line.startswith(';'):
                continue
            f = line.split(None, 4)
            if len(f) == 5:
                self.answers.append((f[0].rstrip('.').lower(), int(f[1]), f[3], f[4]))

    def data(self, qtype=None):
        return [d for _, _, t, d in self.answers if qtype is None or t == qtype]

    def __repr__(self):
        return f'<dig {self.status} {self.answers} exit {self.exit}: {self.output.strip()[:300]}>'


def getent(*args, timeout=20):
    """getent through the system's own resolver (nss "dns": /etc/resolv.conf). Returns
    (exit code, [addresses])."""
    r = subprocess.run(['getent', *args], capture_output=True, text=True, timeout=timeout)
    return r.returncode, [line.split()[0] for line in r.stdout.splitlines() if line.strip()]


def write_resolv_conf(*nameservers, extra=''):
    """The bed's /etc/resolv.conf (its private /etc), and a plain nsswitch.conf so that
    getent asks DNS and nothing else."""
    if os.path.lexists('/etc/resolv.conf'):
        os.unlink('/etc/resolv.conf')
    with open('/etc/resolv.conf', 'w') as f:
        f.write(''.join(f'nameserver {n}\n' for n in nameservers) + extra)
    with open('/etc/nsswitch.conf', 'w') as f:
        f.write('passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n')


def read(path):
    with open(path, 'rb') as f:
        return f.read()


class Neighbour:
    """Another machine on a link of ours: network namespace `name` joined to the bed's by a
    veth pair (bed side 198.51.100.1 / 2001:db8:1::1, its side .2 / ::2). With
    route_sentinels, it sends the sentinel ranges to us — what a hostile neighbour would do."""

    def __init__(self, name='neighbour', route_sentinels=True):
        self.name = name
        run('ip', 'netns', 'add', name)
        run('ip', 'link', 'add', 'vnb0', 'type', 'veth', 'peer', 'name', 'vnb1', 'netns', name)
        run('ip', 'addr', 'add', '198.51.100.1/24', 'dev', 'vnb0')
        run('ip', '-6', 'addr', 'add', '2001:db8:1::1/64', 'dev', 'vnb0', 'nodad')
        run('ip', 'link', 'set', 'vnb0', 'up')
        for cmd in (('ip', 'link', 'set', 'lo', 'up'),
                    ('ip', 'addr', 'add', '198.51.100.2/24', 'dev', 'vnb1'),
                    ('ip', '-6', 'addr', 'add', '2001:db8:1::2/64', 'dev', 'vnb1', 'nodad'),
                    ('ip', 'link', 'set', 'vnb1', 'up')):
            run(*cmd, netns=name)
        if route_sentinels:
            run('ip', 'route', 'add', '100.100.111.0/24', 'via', '198.51.100.1', netns=name)
            run('ip', '-6', 'route', 'add', 'fd00:2021:1111:8000:100:100:111:0/120', 'via', '2001:db8:1::1',
                netns=name)

    def python(self, code, timeout=30):
        return run('/usr/bin/python3', '-c', code, timeout=timeout, netns=self.name)

    def delete(self):
        run('ip', 'netns', 'delete', self.name, check=False)
