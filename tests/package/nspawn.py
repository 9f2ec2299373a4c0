# SPDX-License-Identifier: Apache-2.0
"""The built packages under a real systemd: a Debian 12 root (an overlay over the cached
base root, see debroot.py) booted with `systemd-nspawn -b` inside the test's private mount
and PID namespace, on a network namespace the test made and holds (TestNet).

Everything here runs inside pkgtest.py's namespace: the overlay, the container, the
network namespace and its helpers (the local portal, dnsmasq) die with it. The one thing
outside it is the cgroup tree that systemd-nspawn and the container's systemd build: it
goes into a cgroup made for this run (PrivateCgroup), never into another run's, and is
removed when the container has stopped.

Readiness is always an event: systemd-nspawn's sd_notify (READY=1 once the container's
systemd is up, X_NSPAWN_LEADER_PID= its PID), `systemctl is-system-running --wait`, a
helper's ready line, a process exit.
"""

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import time

import debroot

SOURCE_ROOT = os.environ.get('FZ_SOURCE_ROOT', os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

# What a booted Debian needs besides what our packages pull in. systemd-sysv gives
# /sbin/init; libpam-systemd gives logind (polkit's sessions); procps and iproute2 are
# for the checks inside.
BOOT_PACKAGES = ['systemd', 'systemd-sysv', 'dbus', 'libpam-systemd', 'polkitd', 'procps', 'iproute2']


def log(*args):
    print(*args, flush=True)


def children_of(pid):
    """PIDs whose parent is pid (this kernel has no /proc/PID/task/TID/children)."""
    out = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat') as f:
                if int(f.read().rsplit(')', 1)[1].split()[1]) == pid:
                    out.append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    return out


class PrivateCgroup:
    """Moves this process into a fresh cgroup in each writable hierarchy that
    systemd-nspawn uses (cgroup2, and the named v1 "systemd" one), so that the container's
    cgroups live below it; restore() moves back and removes the whole subtree."""

    def __init__(self, name):
        self.dirs = []   # (original cgroup dir, our dir)
        for mount_point, path in self._hierarchies():
            origin = os.path.join(mount_point, path.lstrip('/'))
            mine = os.path.join(origin, name)
            os.mkdir(mine)
            self.dirs.append((origin, mine))
            with open(os.path.join(mine, 'cgroup.procs'), 'w') as f:
                f.write('0')   # this process

    @staticmethod
    def _hierarchies():
        with open('/proc/self/cgroup') as f:
            mine = {}
            for line in f:
                hid, controllers, path = line.rstrip('\n').split(':', 2)
                mine[controllers] = path
        out = []
        with open('/proc/self/mountinfo') as f:
            for line in f:
                fields = line.split()
                sep = fields.index('-')
                fstype, options = fields[sep + 1], fields[sep + 3]
                if fstype == 'cgroup2' and '' in mine:
                    out.append((fields[4], mine['']))
                elif fstype == 'cgroup' and 'name=systemd' in options.split(',') and 'name=systemd' in mine:
                    out.append((fields[4], mine['name=systemd']))
        return out

    def restore(self):
        left = []
        for origin, mine in self.dirs:
            with open(os.path.join(origin, 'cgroup.procs'), 'w') as f:
                f.write('0')
            for dirpath, dirnames, _ in os.walk(mine, topdown=False):
                try:
                    os.rmdir(dirpath)
                except OSError as e:
                    left.append(f'{dirpath}: {e.strerror}')
        self.dirs = []
        if left:
            raise RuntimeError(f'cgroups left behind: {left}')


class TestNet:
    """A network namespace held by a child process (`unshare --net cat`, which lives as
    long as its stdin is open), with lo up and a veth pair for addresses that are not
    loopback. Helpers run in it through nsenter."""

    UPSTREAM = '10.0.53.1'   # dnsmasq, the system's resolver in the container

    def __init__(self, workdir):
        self.workdir = workdir
        self.procs = []
        self.holder = subprocess.Popen(['unshare', '--net', '--', 'cat'], stdin=subprocess.PIPE,
                                       stdout=subprocess.DEVNULL)
        self.path = f'/proc/{self.holder.pid}/ns/net'
        # unshare(2) happens before cat is exec'd: cat running means the namespace is there.
        self._wait_exec(self.holder.pid, b'cat')
        self.run('ip', 'link', 'set', 'lo', 'up')
        self.run('ip', 'link', 'add', 'fzup0', 'type', 'veth', 'peer', 'name', 'fzup1')
        self.run('ip', 'addr', 'add', f'{self.UPSTREAM}/24', 'dev', 'fzup0')
        self.run('ip', 'addr', 'add', '10.0.53.2/24', 'dev', 'fzup1')
        self.run('ip', 'link', 'set', 'fzup0', 'up')
        self.run('ip', 'link', 'set', 'fzup1', 'up')

    @staticmethod
    def _wait_exec(pid, comm):
        # The one poll in this file: a process's exec has no event to wait on from here
        # (and it takes microseconds).
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with open(f'/proc/{pid}/cmdline', 'rb') as f:
                if f.read().split(b'\0')[0].endswith(comm):
                    return
            time.sleep(0.005)
        raise RuntimeError(f'process {pid} did not exec {comm!r}')

    def argv(self, *argv):
        return ['nsenter', f'--net={self.path}', '--', *argv]

    def run(self, *argv, check=True):
        return subprocess.run(self.argv(*argv), check=check, capture_output=True, text=True)

    def ip_json(self, *args):
        r = self.run('ip', '-j', *args, check=False)
        return json.loads(r.stdout) if r.stdout.strip() else []

    def spawn(self, name, argv, **kw):
        log_path = os.path.join(self.workdir, f'{name}.log')
        p = subprocess.Popen(self.argv(*argv), stdin=subprocess.DEVNULL, stdout=kw.pop('stdout', None) or
                             open(log_path, 'ab'), stderr=subprocess.STDOUT, **kw)
        p.fz_name, p.fz_log = name, log_path
        self.procs.append(p)
        return p

    def start_dnsmasq(self, records):
        """dnsmasq on UPSTREAM answering `records` ({name: IPv4}); ready once it says so
        (it logs "started" after its sockets are bound)."""
        argv = ['dnsmasq', '--keep-in-foreground', '--no-resolv', '--no-hosts', '--bind-interfaces',
                f'--listen-address={self.UPSTREAM}', '--user=root', '--log-queries', '--log-facility=-',
                '--pid-file=']
        argv += [f'--address=/{name}/{ip}' for name, ip in records.items()]
        p = subprocess.Popen(self.argv(*argv), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        p.fz_name, p.fz_log = 'dnsmasq', None
        self.procs.append(p)
        seen = b''
        while b'started, version' not in seen:
            chunk = p.stderr.readline()
            if not chunk:
                raise RuntimeError(f'dnsmasq exited: {seen.decode(errors="replace")}')
            seen += chunk
        self.dnsmasq = p
        return p

    def close(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.holder.stdin.close()
        self.holder.wait()


class LocalPortal:
    """tests/portal/portal.py in the test's network namespace; ready when it prints its
    ready line."""

    def __init__(self, net, account, token):
        script = os.path.join(SOURCE_ROOT, 'tests', 'portal', 'portal.py')
        self.account_path = os.path.join(net.workdir, 'portal-account.json')
        with open(self.account_path, 'w') as f:
            json.dump(account, f)
        self.log_path = os.path.join(net.workdir, 'portal.log')
        self.proc = subprocess.Popen(net.argv('/usr/bin/python3', script, '--account', self.account_path,
                                              '--token', token, '--tls-dir', os.path.join(net.workdir, 'tls')),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=open(self.log_path, 'ab'), text=True)
        self.proc.fz_name, self.proc.fz_log = 'portal', self.log_path
        net.procs.append(self.proc)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f'the local portal did not start:\n{self.output()}')
        self.ready = json.loads(line)
        self.ws_port = self.ready['ws_port']

    def control(self, **order):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(30)
            s.connect(self.ready['control'])
            s.sendall((json.dumps(order) + '\n').encode())
            buf = b''
            while not buf.endswith(b'\n'):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        reply = json.loads(buf)
        if 'error' in reply:
            raise RuntimeError(f'portal control {order.get("op")}: {reply["error"]}')
        return reply['ok']

    def output(self):
        with open(self.log_path, errors='replace') as f:
            return f.read()


class Container:
    """systemd-nspawn -b of a root directory, in `net`'s network namespace."""

    def __init__(self, root_path, net, workdir):
        self.root = root_path
        self.net = net
        self.workdir = workdir
        self.proc = None
        self.leader = None
        self.cgroup = None
        self.boots = 0

    def boot(self):
        self.boots += 1
        notify_path = os.path.join(self.workdir, f'nspawn-notify-{self.boots}')
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(notify_path)
        self.console_log = os.path.join(self.workdir, f'console-{self.boots}.log')
        self.cgroup = PrivateCgroup(f'fz-pkgtest-{os.getpid()}-{time.monotonic_ns()}')
        argv = ['systemd-nspawn', '--quiet', f'--directory={self.root}', '--register=no', '--keep-unit',
                '--boot', '--console=pipe', '--notify-ready=yes', f'--network-namespace-path={self.net.path}',
                # As for any container with a network of its own (--private-network implies it;
                # --network-namespace-path does not): the tunnel service needs it.
                '--capability=CAP_NET_ADMIN',
                '--resolv-conf=off', '--timezone=off', '--link-journal=no',
                f'--machine=fz-pkgtest-{os.getpid()}']
        start = time.monotonic()
        self.proc = subprocess.Popen(argv, env=dict(os.environ, NOTIFY_SOCKET=notify_path),
                                     stdin=subprocess.DEVNULL, stdout=open(self.console_log, 'ab'),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        pidfd = os.pidfd_open(self.proc.pid)
        ready = False
        try:
            deadline = time.monotonic() + 120
            while not ready:
                r, _, _ = select.select([sock, pidfd], [], [], max(0, deadline - time.monotonic()))
                if not r:
                    raise RuntimeError(f'the container did not become ready:\n{self.console()}')
                if sock in r:
                    for line in sock.recv(4096).decode().splitlines():
                        if line.startswith('X_NSPAWN_LEADER_PID='):
                            self.leader = int(line.split('=', 1)[1])
                        elif line == 'READY=1':
                            ready = True
                elif pidfd in r:
                    raise RuntimeError(f'systemd-nspawn exited ({self.proc.wait()}):\n{self.console()}')
        finally:
            os.close(pidfd)
            sock.close()
            os.unlink(notify_path)
        state = self.run('systemctl', 'is-system-running', '--wait', check=False).stdout.strip()
        log(f'container: booted in {time.monotonic() - start:.1f} s (leader PID {self.leader}); '
            f'system {state}')
        if state not in ('running', 'degraded'):
            raise RuntimeError(f'the container\'s system is {state}:\n{self.console()}')
        if state == 'degraded':
            log(self.run('systemctl', '--failed', '--no-pager', check=False).stdout)

    def console(self):
        with open(self.console_log, errors='replace') as f:
            return f.read()[-6000:]

    def argv(self, *argv, user=None, env=None):
        inner = list(argv)
        if user:
            inner = ['runuser', '-u', user, '--', *inner]
        full_env = dict(debroot.CHROOT_ENV, **(env or {}))
        return ['nsenter', '-t', str(self.leader), '-a', '--', 'env', '-i',
                *[f'{k}={v}' for k, v in full_env.items()], *inner]

    def run(self, *argv, user=None, env=None, input=None, check=True, quiet=False, timeout=120):
        start = time.monotonic()
        r = subprocess.run(self.argv(*argv, user=user, env=env), input=input, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        if not quiet or (check and r.returncode != 0):
            log(f"# {'(' + user + ') ' if user else ''}{' '.join(argv)}  "
                f"[{time.monotonic() - start:.1f} s, exit {r.returncode}]")
            for text in (r.stdout, r.stderr):
                if text.strip():
                    log(text.rstrip())
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} failed with exit code {r.returncode}:\n{r.stderr}")
        return r

    def stop_command(self, p, timeout=10):
        """Ends a command started through argv() that runs until stopped (monitor). nsenter
        forks into the container and waits, runuser too: SIGTERM goes to the innermost
        process, so that each parent reaps its child. Killing nsenter instead would leave a
        zombie whose parent is this process's namespace's reaper (us), which the container's
        systemd then waits for at shutdown."""
        leaf = p.pid
        while True:
            kids = children_of(leaf)
            if not kids:
                break
            leaf = kids[0]
        try:
            os.kill(leaf, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    def journal(self, *args):
        """The container's journal as a list of entries (journalctl -o json)."""
        r = self.run('journalctl', '--no-pager', '-o', 'json', *args, check=False, quiet=True)
        return [json.loads(line) for line in r.stdout.splitlines() if line.startswith('{')]

    def unit_log(self, unit='firezone-client.service'):
        return self.run('journalctl', '--no-pager', '-o', 'cat', '-u', unit, check=False, quiet=True).stdout

    def poweroff(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            # SIGTERM asks the container's systemd to shut down cleanly.
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                log(f'container: no clean shutdown within 60 s; killing it. Console:\n{self.console()}')
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None
        if self.cgroup:
            self.cgroup.restore()
            self.cgroup = None


def copy_debs(root, debs):
    os.makedirs(root.host('/debs'), exist_ok=True)
    paths = []
    for p in debs:
        shutil.copyfile(p, root.host('/debs/' + os.path.basename(p)))
        paths.append('/debs/' + os.path.basename(p))
    return paths
