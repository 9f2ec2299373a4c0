# SPDX-License-Identifier: Apache-2.0
"""firezonectl from the build tree, run as fz-member, root and fz-outsider against the real
daemon: text and JSON output (parsed, keys and types asserted, and checked to carry the
same fields), exit codes for every failure case, tokens only from stdin or a file."""

import json
import os
import re
import signal

from clientbed import (EXIT_FAILURE, EXIT_NOT_RUNNING, EXIT_PERMISSION_DENIED, EXIT_SUCCESS, EXIT_USAGE,
                       BUS_REFUSAL, GROUP_ADVICE, MANAGED_ADVICE, NOT_RUNNING_ADVICE, RESOURCE_TYPES, STATUS_TYPES,
                       ClientTestCase, ServiceAccountTestCase)

# Text labels of `status`, in order, for the JSON keys (the codec's one table).
STATUS_LABELS = ['State', 'Mode', 'Account', 'Signed in as', 'Interface', 'IPv4', 'IPv6', 'DNS control',
                 'Connected since', 'Resources', 'Internet resource', 'Gateways', 'Received', 'Sent', 'Needs sign-in',
                 'Last error', 'Service version']
STATUS_KEYS = ['state', 'mode', 'account-slug', 'actor-name', 'interface', 'ipv4', 'ipv6', 'dns-control',
               'connected-since', 'resource-count', 'internet-resource-enabled', 'gateways', 'rx-bytes', 'tx-bytes',
               'requires-sign-in', 'last-error', 'version']


def parse_text_block(text):
    """'Label:   value' lines → [(label, value)] in order."""
    out = []
    for line in text.splitlines():
        m = re.match(r'^([^:]+):\s+(.*)$', line)
        assert m, f'not a "Label: value" line: {line!r}'
        out.append((m.group(1), m.group(2)))
    return out


def text_of(value, key=None):
    """How the text output shows a JSON value."""
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    if key == 'connected-since' and value == 0:
        return 'never'
    if value == '':
        return '-'
    return str(value)


def parse_line(line):
    """A monitor text line, key=value pairs (values may be "quoted")."""
    out = []
    for m in re.finditer(r'([\w-]+)=("(?:[^"\\]|\\.)*"|\S*)', line):
        v = m.group(2)
        if v.startswith('"'):
            v = re.sub(r'\\(.)', r'\1', v[1:-1])
        out.append((m.group(1), v))
    return out


class Status(ClientTestCase):
    def test_json_keys_types_and_values(self):
        r = self.firezonectl('status', '--json')
        self.assertExit(r, EXIT_SUCCESS)
        st = json.loads(r.stdout)
        self.assertEqual(list(st), STATUS_KEYS)
        for key, typ in STATUS_TYPES.items():
            self.assertIs(type(st[key]), typ, key)
        # The same values the daemon gives over the bus.
        self.assertEqual(st, self.status())

    def test_text_and_json_carry_the_same_fields(self):
        self.assertExit(self.firezonectl('sign-in', '--account-slug', 'acme', '--actor-name', 'Ada Lovelace',
                                         input=self.secret(self.TOKEN)), EXIT_SUCCESS)
        text = self.firezonectl('status')
        self.assertExit(text, EXIT_SUCCESS)
        st = json.loads(self.firezonectl('status', '--json').stdout)
        lines = parse_text_block(text.stdout)
        self.assertEqual([label for label, _ in lines], STATUS_LABELS)
        for (label, shown), key in zip(lines, STATUS_KEYS):
            self.assertEqual(shown, text_of(st[key], key), f'{label} vs {key}')
        self.assertEqual(dict(lines)['Signed in as'], 'Ada Lovelace')

    def test_root_and_member_see_the_same(self):
        a = json.loads(self.firezonectl('status', '--json').stdout)
        b = json.loads(self.firezonectl('status', '--json', user='root').stdout)
        self.assertEqual(a, b)

    def test_outsider_is_told_to_join_the_group(self):
        for args in (('status',), ('status', '--json'), ('resources',), ('sign-out',), ('reconnect',)):
            r = self.firezonectl(*args, user='fz-outsider')
            self.assertExit(r, EXIT_PERMISSION_DENIED)
            self.assertIn(BUS_REFUSAL, r.stderr)
            self.assertIn(GROUP_ADVICE, r.stderr)
            self.assertEqual(r.stdout, '')
        r = self.firezonectl('sign-in', user='fz-outsider', input=self.secret(self.TOKEN))
        self.assertExit(r, EXIT_PERMISSION_DENIED)
        self.assertEqual(self.status()['state'], 'signed-out')


class Resources(ClientTestCase):
    def test_json_without_a_portal_is_an_empty_array(self):
        r = self.firezonectl('resources', '--json')
        self.assertExit(r, EXIT_SUCCESS)
        self.assertEqual(json.loads(r.stdout), [])

    def test_text_says_there_are_none(self):
        r = self.firezonectl('resources')
        self.assertExit(r, EXIT_SUCCESS)
        self.assertEqual(r.stdout, 'No resources.\n')

    def check_resources_json(self, resources):
        """For when a portal grants resources: keys and types of each entry."""
        for res in resources:
            self.assertEqual(list(res), list(RESOURCE_TYPES))
            for key, typ in RESOURCE_TYPES.items():
                self.assertIs(type(res[key]), typ, key)
            for site in res['sites']:
                self.assertEqual(list(site), ['name', 'id'])


class InternetResource(ClientTestCase):
    def switch(self, *args, user='fz-member'):
        return self.firezonectl('internet-resource', *args, user=user)

    def test_show_and_switch_text_and_json(self):
        r = self.switch()
        self.assertExit(r, EXIT_SUCCESS)
        self.assertEqual(r.stdout, 'Internet resource: no\n')
        self.assertEqual(json.loads(self.switch('--json').stdout), {'internet-resource-enabled': False})

        r = self.switch('on')
        self.assertExit(r, EXIT_SUCCESS)
        self.assertEqual(r.stdout, 'Internet resource: yes\n')
        self.assertIs(self.status()['internet-resource-enabled'], True)
        self.assertEqual(json.loads(self.switch('--json').stdout), {'internet-resource-enabled': True})
        st = json.loads(self.firezonectl('status', '--json').stdout)
        self.assertIs(st['internet-resource-enabled'], True)
        self.assertIn('Internet resource: yes', self.firezonectl('status').stdout)

        r = self.switch('--json', 'off')
        self.assertExit(r, EXIT_SUCCESS)
        self.assertEqual(json.loads(r.stdout), {'internet-resource-enabled': False})
        self.assertIs(self.status()['internet-resource-enabled'], False)

    def test_outsider_is_refused_and_nothing_changes(self):
        for args in ((), ('on',)):
            r = self.switch(*args, user='fz-outsider')
            self.assertExit(r, EXIT_PERMISSION_DENIED)
            self.assertIn(BUS_REFUSAL, r.stderr)
            self.assertEqual(r.stdout, '')
        self.assertIs(self.status()['internet-resource-enabled'], False)

    def test_no_ask_password_when_polkit_wants_one(self):
        self.add_polkit_result('dev.firezone.client1.set-internet-resource', 'AUTH_ADMIN')
        r = self.firezonectl('--no-ask-password', 'internet-resource', 'on')
        self.assertExit(r, EXIT_PERMISSION_DENIED)
        self.assertIn('polkit', r.stderr)
        self.assertIs(self.status()['internet-resource-enabled'], False)


class InternetResourceServiceAccount(ServiceAccountTestCase):
    DAEMON_ARGS = ('--activate-internet-resource',)

    def test_shown_but_not_switched(self):
        r = self.firezonectl('internet-resource', '--json')
        self.assertExit(r, EXIT_SUCCESS)
        self.assertEqual(json.loads(r.stdout), {'internet-resource-enabled': True})
        r = self.firezonectl('internet-resource', 'off')
        self.assertExit(r, EXIT_PERMISSION_DENIED)
        self.assertIn(MANAGED_ADVICE, r.stderr)
        self.assertEqual(r.stdout, '')
        self.assertIs(self.status()['internet-resource-enabled'], True)


class SignIn(ClientTestCase):
    def test_token_from_stdin(self):
        r = self.firezonectl('sign-in', '--account-slug', 'acme', input=self.secret(self.TOKEN) + '\n')
        self.assertExit(r, EXIT_SUCCESS)
        self.assertIn('Signed in', r.stdout)
        st = self.status()
        self.assertEqual((st['state'], st['account-slug']), ('connecting', 'acme'))

    def test_token_from_a_file(self):
        r = self.firezonectl('sign-in', '--token-file', self.token_file())
        self.assertExit(r, EXIT_SUCCESS)
        self.assertEqual(self.status()['state'], 'connecting')

    def test_token_on_the_command_line_is_refused(self):
        token = self.secret(self.TOKEN)
        for args in (('sign-in', token), (f'--token={token}',), ('--token', token), ('--wait', token)):
            if args[0] != 'sign-in':
                args = ('sign-in',) + args
            r = self.firezonectl(*args)
            self.assertExit(r, EXIT_USAGE)
            self.assertIn('refusing a token on the command line', r.stderr)
            self.assertIn('/proc/PID/cmdline', r.stderr)  # says why
            self.assertNotIn(token, r.stdout + r.stderr)
        self.assertEqual(self.status()['state'], 'signed-out')

    def test_token_typed_at_the_terminal_is_not_echoed(self):
        import pty
        import select
        import subprocess
        master, slave = pty.openpty()
        p = subprocess.Popen(self.bed.as_user_argv('fz-member', self.firezonectl_argv('sign-in')), stdin=slave,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.bed.client_env('fz-member'))
        self.addCleanup(os.close, master)
        os.close(slave)
        # The prompt comes once echo is off; then the token is typed.
        prompt = b''
        while b'Enter' not in prompt:
            r, _, _ = select.select([p.stderr], [], [], 10)
            self.assertTrue(r, 'no prompt')
            prompt += os.read(p.stderr.fileno(), 1024)
        token = self.secret(self.TOKEN)
        os.write(master, token.encode() + b'\n')
        out, err = p.communicate(timeout=20)
        self.assertEqual(p.returncode, EXIT_SUCCESS, err)
        self.assertIn(b'Signed in', out)
        echoed = b''
        while select.select([master], [], [], 0)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the other side is closed
                break
            if not chunk:
                break
            echoed += chunk
        self.assertNotIn(token.encode(), echoed)
        self.assertEqual(self.status()['state'], 'connecting')

    def test_bad_token_input_is_a_usage_error(self):
        for data, why in (('', 'No token'), ('\n  \n', 'No token'), ('a' * 5000, 'longer than 4096'),
                          ('first\nsecond\n', 'not one line')):
            r = self.firezonectl('sign-in', input=data)
            self.assertExit(r, EXIT_USAGE)
            self.assertIn(why, r.stderr)
        r = self.firezonectl('sign-in', '--token-file', '/nonexistent/token')
        self.assertExit(r, EXIT_USAGE)
        self.assertIn('/nonexistent/token', r.stderr)
        self.assertEqual(self.status()['state'], 'signed-out')

    def test_token_refused_by_the_daemon(self):
        r = self.firezonectl('sign-in', input='has a space')
        self.assertExit(r, EXIT_FAILURE)
        self.assertIn('token', r.stderr)

    def test_wait_times_out_with_the_reason(self):
        # Without a portal the daemon stays "connecting": --wait must give up and say so.
        r = self.firezonectl('sign-in', '--wait', '--timeout', '0.5', input=self.secret(self.TOKEN))
        self.assertExit(r, EXIT_FAILURE)
        self.assertIn('not connected after 0.5 s: the service is connecting', r.stderr)

    def token_file(self, user='fz-member'):
        path = os.path.join(self.bed.dir, f'token-of-{user}')
        with open(path, 'w') as f:
            f.write(self.secret(self.TOKEN) + '\n')
        os.chown(path, self.bed.uid(user), -1)
        os.chmod(path, 0o600)
        return path

    def test_wait_reports_a_sign_out(self):
        watcher = self.bed.agent('root')
        watcher.subscribe('StateChanged')
        p = self.spawn_firezonectl('sign-in', '--token-file', self.token_file(), '--wait', '--timeout', '60')
        self.assertOk(watcher.wait_signal('StateChanged', match={'0': 'connecting'}))
        self.assertExit(self.firezonectl('sign-out', user='root'), EXIT_SUCCESS)
        self.assertEqual(p.wait(timeout=20), EXIT_FAILURE)
        self.assertIn('not connected: the service signed out (reason: sign-out)', p.stderr.read())

    def test_wait_reports_the_daemon_stopping(self):
        watcher = self.bed.agent('root')
        watcher.subscribe('StateChanged')
        p = self.spawn_firezonectl('sign-in', '--token-file', self.token_file(), '--wait')
        self.assertOk(watcher.wait_signal('StateChanged', match={'0': 'connecting'}))
        self.bed.stop_daemon()
        self.assertEqual(p.wait(timeout=20), EXIT_NOT_RUNNING)
        self.assertIn(NOT_RUNNING_ADVICE, p.stderr.read())

    def test_api_url_needs_an_administrator(self):
        r = self.firezonectl('--no-ask-password', 'sign-in', '--api-url', 'wss://portal.example.com/',
                             input=self.secret(self.TOKEN))
        self.assertExit(r, EXIT_PERMISSION_DENIED)
        self.assertIn('polkit', r.stderr)


class SignOutReconnect(ClientTestCase):
    def test_sign_out(self):
        self.assertExit(self.firezonectl('sign-in', input=self.secret(self.TOKEN)), EXIT_SUCCESS)
        r = self.firezonectl('sign-out')
        self.assertExit(r, EXIT_SUCCESS)
        self.assertEqual(r.stdout, 'Signed out.\n')
        self.assertEqual(self.status()['state'], 'signed-out')
        self.assertExit(self.firezonectl('sign-out'), EXIT_SUCCESS)

    def test_reconnect(self):
        r = self.firezonectl('reconnect')
        self.assertExit(r, EXIT_FAILURE)
        self.assertIn('Sign in first', r.stderr)
        self.assertExit(self.firezonectl('sign-in', input=self.secret(self.TOKEN)), EXIT_SUCCESS)
        r = self.firezonectl('reconnect')
        self.assertExit(r, EXIT_SUCCESS)
        self.assertEqual(r.stdout, 'Reconnecting.\n')

    def test_polkit_refusal_is_permission_denied(self):
        self.assertExit(self.firezonectl('sign-in', input=self.secret(self.TOKEN)), EXIT_SUCCESS)
        self.bed.add_polkit_rule('10-always-on.rules', '''
polkit.addRule(function(action, subject) {
    if (action.id == "dev.firezone.client1.sign-out") return polkit.Result.NO;
});
''')
        r = self.firezonectl('sign-out')
        self.assertExit(r, EXIT_PERMISSION_DENIED)
        self.assertIn('dev.firezone.client1.sign-out', r.stderr)
        self.assertEqual(self.status()['state'], 'connecting')


class DaemonNotRunning(ClientTestCase):
    START_DAEMON = False

    def test_every_command_exits_4_and_says_how_to_start_it(self):
        for args, data in ((('status',), ''), (('status', '--json'), ''), (('resources',), ''),
                           (('resources', '--json'), ''), (('sign-out',), ''), (('reconnect',), ''),
                           (('internet-resource',), ''), (('internet-resource', 'on'), ''),
                           (('sign-in',), self.secret(self.TOKEN))):
            r = self.firezonectl(*args, input=data)
            self.assertExit(r, EXIT_NOT_RUNNING)
            self.assertIn('The Firezone tunnel service is not running. ' + NOT_RUNNING_ADVICE, r.stderr)
            self.assertEqual(r.stdout, '')

    def test_monitor_waits_for_the_daemon(self):
        p = self.spawn_firezonectl('monitor', '--json')
        # It says so on stderr, then waits; the daemon's start is its first event.
        self.assertIn('not running', self.read_line(p, stream='stderr'))
        self.bed.start_daemon()
        ev = json.loads(self.read_line(p))
        self.assertEqual((ev['event'], ev['state'], ev['reason'], ev['daemon-running']),
                         ('state-changed', 'signed-out', 'daemon-started', True))
        p.send_signal(signal.SIGINT)
        self.assertEqual(p.wait(timeout=10), EXIT_SUCCESS)


class ServiceAccount(ServiceAccountTestCase):
    def test_an_administrator_manages_the_device(self):
        self.assertEqual(json.loads(self.firezonectl('status', '--json').stdout)['mode'], 'service-account')
        for args, data in ((('sign-in',), self.TOKEN + 'x'), (('sign-out',), ''), (('reconnect',), '')):
            r = self.firezonectl(*args, input=data)
            self.assertExit(r, EXIT_PERMISSION_DENIED)
            self.assertIn(MANAGED_ADVICE, r.stderr)


class Monitor(ClientTestCase):
    def read_json(self, p):
        return json.loads(self.read_line(p))

    def test_json_lines_follow_changes_and_restarts(self):
        p = self.spawn_firezonectl('monitor', '--json')
        first = self.read_json(p)
        self.assertEqual(first['event'], 'status')
        self.assertEqual(list(first), ['time', 'event'] + STATUS_KEYS + ['resources'])
        self.assertEqual((first['state'], first['resources']), ('signed-out', []))

        self.assertExit(self.firezonectl('sign-in', '--account-slug', 'acme', input=self.secret(self.TOKEN)),
                        EXIT_SUCCESS)
        ev = self.read_json(p)
        self.assertEqual(list(ev), ['time', 'event', 'state', 'reason', 'last-error', 'requires-sign-in',
                                    'daemon-running'])
        self.assertEqual((ev['event'], ev['state'], ev['reason']), ('state-changed', 'connecting', 'sign-in'))
        self.assertIs(ev['requires-sign-in'], False)
        self.assertRegex(ev['time'], r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d')

        self.bed.stop_daemon()
        ev = self.read_json(p)
        self.assertEqual((ev['state'], ev['reason'], ev['daemon-running']), ('unknown', 'daemon-stopped', False))
        self.bed.start_daemon()
        ev = self.read_json(p)
        self.assertEqual((ev['state'], ev['reason'], ev['daemon-running']), ('signed-out', 'daemon-started', True))

        p.send_signal(signal.SIGINT)
        self.assertEqual(p.wait(timeout=10), EXIT_SUCCESS)

    def test_text_lines_carry_the_json_fields(self):
        text = self.spawn_firezonectl('monitor')
        js = self.spawn_firezonectl('monitor', '--json')
        t0, j0 = parse_line(self.read_line(text)), json.loads(self.read_line(js))
        self.assertEqual([k for k, _ in t0], list(j0))
        self.assertExit(self.firezonectl('sign-in', input=self.secret(self.TOKEN)), EXIT_SUCCESS)
        t1, j1 = parse_line(self.read_line(text)), json.loads(self.read_line(js))
        self.assertEqual([k for k, _ in t1], list(j1))
        for k, v in t1:
            if k != 'time':
                self.assertEqual(v, text_of(j1[k]) if j1[k] != '' else '', k)
        text.send_signal(signal.SIGTERM)
        js.send_signal(signal.SIGTERM)
        self.assertEqual((text.wait(timeout=10), js.wait(timeout=10)), (EXIT_SUCCESS, EXIT_SUCCESS))

    def test_outsider_is_refused(self):
        p = self.spawn_firezonectl('monitor', user='fz-outsider')
        self.assertEqual(p.wait(timeout=10), EXIT_PERMISSION_DENIED)
        self.assertIn(GROUP_ADVICE, p.stderr.read())


class Usage(ClientTestCase):
    START_DAEMON = False

    def test_usage_errors_exit_2(self):
        for args in ((), ('frobnicate',), ('--frobnicate',), ('status', '--frobnicate'), ('status', 'extra'),
                     ('resources', 'extra'), ('sign-out', 'extra'), ('monitor', 'extra'),
                     ('sign-in', '--timeout', '5'), ('sign-in', '--wait', '--timeout', '-1'),
                     ('sign-in', '--timeout', 'soon'), ('internet-resource', 'maybe'),
                     ('internet-resource', 'on', 'off'), ('internet-resource', '--frobnicate'),
                     ('internet-resource', 'ON')):
            r = self.firezonectl(*args)
            self.assertExit(r, EXIT_USAGE)
            self.assertTrue(r.stderr.startswith('firezonectl: '), r.stderr)

    def test_help_documents_commands_and_exit_codes(self):
        r = self.firezonectl('--help')
        self.assertExit(r, EXIT_SUCCESS)
        for word in ('status', 'sign-in', 'sign-out', 'reconnect', 'resources', 'monitor', 'internet-resource'):
            self.assertIn(f'  {word} ', r.stdout)
        for code in ('0  success', '1  failure', '2  usage', '3  permission denied', '4  the Firezone tunnel '
                     'service is not running'):
            self.assertIn(code, r.stdout)
        r = self.firezonectl('sign-in', '--help')
        self.assertExit(r, EXIT_SUCCESS)
        self.assertIn('--token-file', r.stdout)
        self.assertNotIn('--token ', r.stdout)  # the refusing option is hidden
        self.assertIn('Exit status', r.stdout)

    def test_version(self):
        r = self.firezonectl('--version')
        self.assertExit(r, EXIT_SUCCESS)
        self.assertRegex(r.stdout, r'^firezonectl \d+\.\d+\.\d+\n$')


class Valgrind(ClientTestCase):
    """The library's paths under valgrind: the sync constructor on its private context, the
    context source, reads, a mutating call with its reply, and a failed call."""

    def test_commands_have_no_errors_or_leaks(self):
        import glob
        os.chmod(self.bed.dir, 0o777)  # valgrind writes its logs there as fz-member
        wrapper = ['valgrind', '--quiet', '--error-exitcode=99', '--leak-check=full',
                   '--show-leak-kinds=definite,indirect', '--errors-for-leak-kinds=definite,indirect',
                   '--suppressions=/usr/share/glib-2.0/valgrind/glib.supp',
                   '--log-file=' + os.path.join(self.bed.dir, 'valgrind-%p.log')]
        env = {'G_SLICE': 'always-malloc'}
        exits = {}
        # monitor: signals through the sync client's context source, until SIGTERM.
        import subprocess
        e = self.bed.client_env('fz-member')
        e.update(env)
        p = subprocess.Popen(self.bed.as_user_argv('fz-member', wrapper + self.firezonectl_argv('monitor', '--json')),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=e)
        self.addCleanup(self._reap, p)
        self.assertEqual(json.loads(self.read_line(p, timeout=60))['event'], 'status')
        for args in (('status', '--json'), ('internet-resource', 'on'), ('internet-resource',), ('resources',),
                     ('reconnect',)):
            r = self.bed.run_as('fz-member', wrapper + self.firezonectl_argv(*args), env=env, timeout=120)
            exits[args] = r.returncode
        self.assertExit(self.firezonectl('sign-in', input=self.secret(self.TOKEN)), EXIT_SUCCESS)
        self.assertEqual(json.loads(self.read_line(p, timeout=60))['state'], 'connecting')
        p.send_signal(signal.SIGTERM)
        exits[('monitor',)] = p.wait(timeout=60)
        reports = ''.join(open(p).read() for p in glob.glob(os.path.join(self.bed.dir, 'valgrind-*.log')))
        self.assertEqual(len(glob.glob(os.path.join(self.bed.dir, 'valgrind-*.log'))), len(exits))
        self.assertEqual(reports.strip(), '', reports)
        # reconnect fails (not signed in): a failed call is checked too.
        self.assertEqual(set(exits.values()), {EXIT_SUCCESS, EXIT_FAILURE}, exits)
        self.assertIs(self.status()['internet-resource-enabled'], True)
