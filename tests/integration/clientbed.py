# SPDX-License-Identifier: Apache-2.0
"""Bed helpers for the client side: libfirezone-client driven through its typelib as a
test user (libagent.py), and firezonectl from the build tree run as a test user.

Programs run as fz-member/fz-outsider reach the build tree through bed.build_path() (the
bed bind-mounts it under a world-traversable directory)."""

import json
import os
import signal
import subprocess

import fzbed
from fzbed import BedTestCase

LIBAGENT_CODE = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'libagent.py')).read()

# The sentences the library promises (asserted on, because they tell users what to do).
NOT_RUNNING_ADVICE = 'Start it with: sudo systemctl start firezone-client'
GROUP_ADVICE = 'sudo usermod -aG firezone $USER'
BUS_REFUSAL = 'You are not allowed to use Firezone: add yourself to group firezone'
MANAGED_ADVICE = 'managed by an administrator'

EXIT_SUCCESS, EXIT_FAILURE, EXIT_USAGE, EXIT_PERMISSION_DENIED, EXIT_NOT_RUNNING = 0, 1, 2, 3, 4

STATUS_TYPES = {
    'state': str, 'mode': str, 'account-slug': str, 'actor-name': str, 'interface': str, 'ipv4': str,
    'ipv6': str, 'dns-control': str, 'last-error': str, 'requires-sign-in': bool, 'connected-since': int,
    'resource-count': int, 'version': str, 'internet-resource-enabled': bool, 'gateways': int, 'rx-bytes': int,
    'tx-bytes': int,
}
RESOURCE_TYPES = {'name': str, 'id': str, 'type': str, 'address': str, 'status': str, 'description': str,
                  'sites': list}


def local_portal(bed):
    """The local portal of tests/portal (portalbed.LocalPortal) if this tree has it, else None.

    Tests that need a portal use it to assert "connected" and the portal's resources, and
    without it assert what is true then (the daemon stays "connecting" and has no
    resources): they never skip."""
    try:
        import portalbed
    except ImportError:
        return None
    return portalbed.LocalPortal(bed)


def portal_resources(portal):
    """The resources the local portal grants, as ListResources() shows them, sorted by name."""
    import portalbed
    with open(portal.account_path) as f:
        account = json.load(f)
    return sorted((portalbed.portal_view(r) for r in account['resources']), key=lambda r: r['name'])


def library_env(bed):
    d = bed.build_path('libfirezone-client')
    return {'GI_TYPELIB_PATH': d, 'LD_LIBRARY_PATH': d}


class LibAgent(fzbed.Agent):
    """libagent.py running as `user`; see its docstring for the orders."""

    def __init__(self, bed, user):
        super().__init__(bed, user, code=LIBAGENT_CODE, name='libagent', env=library_env(bed))
        bed.agents.append(self)  # closed by the bed's teardown

    def new(self, how='async', interactive=False):
        return self.request(op='new', how=how, interactive=interactive)

    def props(self):
        return self.request(op='props')['ok']

    def call(self, method, cancel=None, **args):
        return self.request(op='call', method=method, args=args, cancel=cancel)

    def start_call(self, method, **args):
        return self.request(op='start_call', method=method, args=args)['ok']

    def finish_call(self, cid, timeout_ms=20000):
        return self.request(op='finish_call', id=cid, timeout_ms=timeout_ms)

    def wait_event(self, kind, timeout_ms=10000, **match):
        return self.request(op='wait_event', kind=kind, match=match, timeout_ms=timeout_ms)

    def events(self):
        return self.request(op='events')['ok']


class ClientTestCase(BedTestCase):
    TOKEN = 'fz-client-test-token.SFMyNTY.g2gDaANtAAAAJGFiY2RlZmdo'

    def libagent(self, user='fz-member', new='async', interactive=False):
        a = LibAgent(self.bed, user)
        if new:
            self.assertOk(a.new(new, interactive))
        return a

    def firezonectl_argv(self, *args):
        return [self.bed.build_path('cli/firezonectl'), *args]

    def firezonectl(self, *args, user='fz-member', input='', env=None, timeout=30):
        """Runs firezonectl to completion; returns the CompletedProcess (text)."""
        return self.bed.run_as(user, self.firezonectl_argv(*args), input=input, timeout=timeout, env=env)

    def spawn_firezonectl(self, *args, user='fz-member'):
        """Starts firezonectl (e.g. monitor) with stdout as a pipe; the caller reads lines."""
        p = subprocess.Popen(self.bed.as_user_argv(user, self.firezonectl_argv(*args)), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
                             env=self.bed.client_env(user))
        self.addCleanup(self._reap, p)
        return p

    def read_line(self, p, timeout=10, stream='stdout'):
        """The next line a spawned program prints; fails (never hangs) if none comes in time.
        Reads the pipe's fd itself: a buffered file object may hold lines select() cannot see."""
        import select
        import time
        fd = getattr(p, stream).fileno()
        buffers = self.__dict__.setdefault('_line_buffers', {})
        buf = buffers.get(fd, b'')
        deadline = time.monotonic() + timeout
        while b'\n' not in buf:
            left = deadline - time.monotonic()
            r, _, _ = select.select([fd], [], [], max(left, 0))
            if not r:
                p.kill()
                self.fail(f'no line on {stream} within {timeout} s (got {buf!r})')
            chunk = os.read(fd, 4096)
            if not chunk:
                self.fail(f'exited ({p.wait()}) before a line on {stream} (got {buf!r})')
            buf += chunk
        line, _, rest = buf.partition(b'\n')
        buffers[fd] = rest
        return line.decode() + '\n'

    @staticmethod
    def _reap(p):
        if p.poll() is None:
            p.kill()
        p.wait()
        p.stdout.close()
        p.stderr.close()

    def add_polkit_result(self, action, result):
        """A fleet admin's rule that answers `result` (NO, AUTH_ADMIN, …) for polkit action
        `action`, for everyone; it comes before the project's own rules."""
        self.bed.add_polkit_rule(f'10-{result.lower()}.rules', f'''
polkit.addRule(function(action, subject) {{
    if (action.id == "{action}") return polkit.Result.{result};
}});
''')

    def assertLibOk(self, reply):
        self.assertIn('ok', reply, f'call failed: {reply}')
        return reply['ok']

    def assertLibError(self, reply, nick):
        self.assertIn('error', reply, f'expected {nick}, got success: {reply}')
        self.assertEqual(reply['error']['nick'], nick, reply['error'])
        return reply['error']['message']

    def assertExit(self, proc, code):
        self.assertEqual(proc.returncode, code,
                         f'exit {proc.returncode}, wanted {code}\nstdout: {proc.stdout}\nstderr: {proc.stderr}')

    def status(self):
        """The daemon's Status() as root sees it, straight from the bus (not through the library)."""
        agent = self.__dict__.get('_raw') or self.bed.agent('root')
        self._raw = agent
        return self.assertOk(agent.call('Status'))[0]

    def restart_daemon(self):
        self.bed.stop_daemon()
        self.bed.start_daemon(self.DAEMON_ARGS, env=self.DAEMON_ENV)

    def freeze_daemon(self):
        """Stop the daemon's process (SIGSTOP): calls to it stay unanswered until thaw_daemon()."""
        os.kill(self.bed.daemon.pid, signal.SIGSTOP)
        self.addCleanup(self.thaw_daemon)

    def thaw_daemon(self):
        if self.bed.daemon is not None and self.bed.daemon.running():
            os.kill(self.bed.daemon.pid, signal.SIGCONT)


class ServiceAccountTestCase(ClientTestCase):
    """The daemon runs in service-account mode: TOKEN in FIREZONE_TOKEN."""

    def setUp(self):
        self.DAEMON_ENV = {'FIREZONE_TOKEN': self.TOKEN}
        super().setUp()
        self.secret(self.TOKEN)
