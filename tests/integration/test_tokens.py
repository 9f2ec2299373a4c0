# SPDX-License-Identifier: Apache-2.0
"""Token sources (DESIGN §4): the environment, a systemd credential, the service-account token
file, --no-ipc."""

import os
import signal

from fzbed import BUS_NAME
from test_api import ApiTestCase, ERR, TOKEN, quote, sign_in_args

TOKEN_PATH = '/etc/dev.firezone.client/token'
SA_TOKEN = 'fz-service-account.SFMyNTY.c2VydmljZS1hY2NvdW50LXRva2Vu'


def proc_file(pid, name):
    with open(f'/proc/{pid}/{name}', 'rb') as f:
        return f.read()


class EnvironmentToken(ApiTestCase):
    START_DAEMON = False

    def setUp(self):
        super().setUp()
        self.bed.start_daemon(env={'FIREZONE_TOKEN': self.secret(SA_TOKEN), 'OTHER_VARIABLE': 'kept'})

    def test_token_is_erased_from_proc_environ(self):
        pid = self.bed.daemon.pid
        environ = proc_file(pid, 'environ')
        self.assertNotIn(SA_TOKEN.encode(), environ)
        self.assertNotIn(SA_TOKEN[:12].encode(), environ)
        self.assertNotIn(b'FIREZONE_TOKEN=', environ)
        self.assertIn(b'OTHER_VARIABLE=kept', environ)  # the rest of the environment is intact
        self.assertNotIn(SA_TOKEN.encode(), proc_file(pid, 'cmdline'))

    def test_service_account_mode(self):
        st = self.status()
        self.assertEqual((st['mode'], st['state']), ('service-account', 'connecting'))
        self.assertEqual(self.assertOk(self.agent('fz-member').get_property('Mode')), 'service-account')
        self.assertIn('Using the service-account token from $FIREZONE_TOKEN', self.bed.daemon.output())

    def test_mutating_calls_answer_managed_by_service_account(self):
        for user in ('fz-member', 'root'):
            a = self.agent(user)
            r = a.call('SignIn', sign_in_args(quote(self.secret(TOKEN))), '(sa{sv})')
            self.assertDBusError(r, ERR + 'ManagedByServiceAccount')
            self.assertIn('administrator', r['message'])
            self.assertDBusError(a.call('SignOut'), ERR + 'ManagedByServiceAccount')
            self.assertDBusError(a.call('Reconnect'), ERR + 'ManagedByServiceAccount')
        self.assertEqual(self.status()['state'], 'connecting')

    def test_read_only_calls_work(self):
        self.assertOk(self.agent('fz-member').call('ListResources'))
        self.assertDBusError(self.agent('fz-outsider').call('Status'), 'org.freedesktop.DBus.Error.AccessDenied')

    def test_env_token_wins_over_file(self):
        self.bed.stop_daemon()
        self.bed.write_token_file(self.secret(SA_TOKEN + 'file'))
        self.bed.start_daemon(env={'FIREZONE_TOKEN': SA_TOKEN})
        self.bed.wait_for_log(self.bed.daemon, 'Using the service-account token from $FIREZONE_TOKEN')


class TokenFile(ApiTestCase):
    START_DAEMON = False

    def refused(self, why):
        rc, out = self.bed.run_daemon_to_exit()
        self.assertNotEqual(rc, 0)
        self.assertIn(f'Refusing the token file {TOKEN_PATH}: {why}', out)
        self.assertIn(f'chown root:root {TOKEN_PATH}; chmod 600 {TOKEN_PATH}', out)
        self.assertIn('regenerate the token', out)
        self.assertIsNone(self.bed.name_owner(BUS_NAME))
        return out

    def test_valid_file_means_service_account_mode(self):
        self.bed.write_token_file(self.secret(SA_TOKEN) + '\n')  # a trailing newline is fine
        self.bed.start_daemon()
        st = self.status()  # answered by the event loop, which starts after the log line
        self.assertEqual((st['mode'], st['state']), ('service-account', 'connecting'))
        self.assertIn(f'Using the service-account token from {TOKEN_PATH}', self.bed.daemon.output())

    def test_world_readable_file_is_refused(self):
        self.bed.write_token_file(self.secret(SA_TOKEN), mode=0o644)
        self.refused('group or others have permissions on it')

    def test_group_readable_file_is_refused(self):
        self.bed.write_token_file(self.secret(SA_TOKEN), mode=0o640)
        self.refused('group or others have permissions on it')

    def test_file_owned_by_a_user_is_refused(self):
        self.bed.write_token_file(self.secret(SA_TOKEN), owner='fz-member')
        self.refused('it is not owned by root')

    def test_symlink_is_refused(self):
        target = self.bed.write_token_file(self.secret(SA_TOKEN), path='/etc/dev.firezone.client/real-token')
        os.symlink(target, TOKEN_PATH)
        self.refused('it is a symbolic link')

    def test_directory_is_refused(self):
        os.makedirs(TOKEN_PATH, mode=0o700)
        self.refused('it is not a regular file')

    def test_unusable_contents_are_refused(self):
        for content, why in (('', 'the token is empty'), ('\n', 'the token is empty'),
                             ('a' * 4097, 'longer than 4096 bytes'), ('abc def', 'spaces, control')):
            self.bed.write_token_file(content)
            rc, out = self.bed.run_daemon_to_exit()
            self.assertNotEqual(rc, 0, content)
            self.assertIn(f'The token file {TOKEN_PATH} is unusable', out)
            self.assertIn(why, out)

    def test_sighup_rereads_the_token_file(self):
        self.bed.write_token_file(self.secret(SA_TOKEN))
        self.bed.start_daemon()
        self.bed.write_token_file(self.secret(SA_TOKEN + '-rotated'))
        os.kill(self.bed.daemon.pid, signal.SIGHUP)
        self.bed.wait_for_log(self.bed.daemon, 're-read the token file; reconnecting')
        st = self.status()
        self.assertEqual((st['mode'], st['state'], st['last-error']), ('service-account', 'connecting', ''))

    def test_sighup_with_a_now_unsafe_file_signs_out(self):
        self.bed.write_token_file(self.secret(SA_TOKEN))
        self.bed.start_daemon()
        watcher = self.agent('root')
        watcher.subscribe('StateChanged')
        os.chmod(TOKEN_PATH, 0o644)
        os.kill(self.bed.daemon.pid, signal.SIGHUP)
        sig = self.assertOk(watcher.wait_signal('StateChanged'))
        self.assertEqual(sig['args'][0], 'signed-out')
        self.assertIn(TOKEN_PATH, sig['args'][1]['last-error'])
        self.assertTrue(self.bed.daemon.running())

    def test_sighup_after_the_file_was_removed_signs_out(self):
        self.bed.write_token_file(self.secret(SA_TOKEN))
        self.bed.start_daemon()
        watcher = self.agent('root')
        watcher.subscribe('StateChanged')
        os.unlink(TOKEN_PATH)
        os.kill(self.bed.daemon.pid, signal.SIGHUP)
        sig = self.assertOk(watcher.wait_signal('StateChanged'))
        self.assertEqual(sig['args'][0], 'signed-out')
        self.assertIn('was removed', sig['args'][1]['last-error'])

    def test_sighup_in_interactive_mode_reconnects(self):
        self.bed.start_daemon()
        os.kill(self.bed.daemon.pid, signal.SIGHUP)  # signed out: nothing to do, and no crash
        self.bed.wait_for_log(self.bed.daemon, 'SIGHUP: reconnecting')
        self.assertEqual(self.status()['state'], 'signed-out')


class CredentialToken(ApiTestCase):
    """A systemd credential named firezone-token: what systemd puts in
    $CREDENTIALS_DIRECTORY for LoadCredential=, LoadCredentialEncrypted= or
    SetCredentialEncrypted= (a private directory, files 0400 root). Under the real systemd
    it is tested by the package suite (test_systemd.py)."""
    START_DAEMON = False
    SOURCE = 'Using the service-account token from the systemd credential firezone-token'

    def setUp(self):
        super().setUp()
        self.creds = os.path.join(self.bed.dir, 'credentials', 'firezone-client.service')
        os.makedirs(self.creds, mode=0o700)

    def write_credential(self, content, mode=0o400, name='firezone-token'):
        path = os.path.join(self.creds, name)
        with open(path, 'w') as f:
            f.write(content)
        os.chmod(path, mode)
        return path

    def env(self, **extra):
        return dict({'CREDENTIALS_DIRECTORY': self.creds}, **extra)

    def test_credential_means_service_account_mode(self):
        self.write_credential(self.secret(SA_TOKEN) + '\n')
        self.bed.start_daemon(env=self.env())
        st = self.status()
        self.assertEqual((st['mode'], st['state']), ('service-account', 'connecting'))
        self.bed.wait_for_log(self.bed.daemon, self.SOURCE)
        self.assertDBusError(self.agent('fz-member').call('SignOut'), ERR + 'ManagedByServiceAccount')

    def test_order_environment_credential_file(self):
        self.write_credential(self.secret(SA_TOKEN + 'cred'))
        self.bed.write_token_file(self.secret(SA_TOKEN + 'file'))
        self.bed.start_daemon(env=self.env(FIREZONE_TOKEN=self.secret(SA_TOKEN)))
        self.bed.wait_for_log(self.bed.daemon, 'Using the service-account token from $FIREZONE_TOKEN')
        self.bed.stop_daemon()
        self.bed.start_daemon(env=self.env())
        self.bed.wait_for_log(self.bed.daemon, self.SOURCE)
        self.bed.stop_daemon()
        # A credentials directory without ours (the unit loads others): the file it is.
        os.unlink(os.path.join(self.creds, 'firezone-token'))
        self.write_credential('unrelated', name='other-credential')
        self.bed.start_daemon(env=self.env())
        self.bed.wait_for_log(self.bed.daemon, f'Using the service-account token from {TOKEN_PATH}')

    def test_unsafe_or_unusable_credential_is_refused(self):
        for mode, content, why in ((0o444, SA_TOKEN, 'group or others have permissions on it'),
                                   (0o400, 'two words', 'spaces, control')):
            self.write_credential(self.secret(content), mode=mode)
            rc, out = self.bed.run_daemon_to_exit(env=self.env())
            self.assertNotEqual(rc, 0)
            self.assertIn('systemd credential firezone-token', out)
            self.assertIn(why, out)
            os.unlink(os.path.join(self.creds, 'firezone-token'))
        os.symlink(self.write_credential(self.secret(SA_TOKEN), name='elsewhere'),
                   os.path.join(self.creds, 'firezone-token'))
        rc, out = self.bed.run_daemon_to_exit(env=self.env())
        self.assertNotEqual(rc, 0)
        self.assertIn('it is a symbolic link', out)

    def test_no_ipc_with_a_credential(self):
        self.write_credential(self.secret(SA_TOKEN))
        notify = self.bed.notify_socket()
        daemon = self.bed.start_daemon(args=['--no-ipc'], env=self.env(NOTIFY_SOCKET=notify.path), wait=False)
        notify.wait_for('READY=1', proc=daemon)
        self.assertIn(self.SOURCE, daemon.output())
        self.assertEqual(self.bed.stop_daemon(), 0)


class NoIpc(ApiTestCase):
    START_DAEMON = False

    def test_no_ipc_without_token_fails_clearly(self):
        rc, out = self.bed.run_daemon_to_exit(args=['--no-ipc'])
        self.assertNotEqual(rc, 0)
        self.assertIn('--no-ipc needs a service-account token', out)
        self.assertIn('FIREZONE_TOKEN', out)
        self.assertIn('LoadCredential=firezone-token', out)
        self.assertIn(TOKEN_PATH, out)

    def test_no_ipc_with_token_does_not_touch_dbus(self):
        self.bed.write_token_file(self.secret(SA_TOKEN))
        notify = self.bed.notify_socket()
        daemon = self.bed.start_daemon(args=['--no-ipc'], env={'NOTIFY_SOCKET': notify.path}, wait=False)
        notify.wait_for('READY=1', proc=daemon)
        self.assertIsNone(self.bed.name_owner(BUS_NAME))
        # No connection on the bus belongs to the daemon.
        from gi.repository import GLib
        conn = self.bed.connection()
        names = conn.call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'ListNames',
                               None, None, 0, 5000, None).unpack()[0]
        for name in (n for n in names if n.startswith(':')):
            pid = conn.call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus',
                                 'GetConnectionUnixProcessID', GLib.Variant('(s)', (name,)), None, 0, 5000,
                                 None).unpack()[0]
            self.assertNotEqual(pid, daemon.pid, f'{name} belongs to the daemon')
        self.assertEqual(self.bed.stop_daemon(), 0)

    def test_no_ipc_runs_without_any_bus(self):
        self.bed.write_token_file(self.secret(SA_TOKEN))
        notify = self.bed.notify_socket()
        daemon = self.bed.start_daemon(args=['--no-ipc'], wait=False,
                                       env={'NOTIFY_SOCKET': notify.path,
                                            'DBUS_SYSTEM_BUS_ADDRESS': 'unix:path=/nonexistent/bus'})
        notify.wait_for('READY=1', proc=daemon)
        self.assertTrue(daemon.running())
        self.assertEqual(self.bed.stop_daemon(), 0)


class ConfigFile(ApiTestCase):
    START_DAEMON = False
    CONFIG = '/etc/dev.firezone.client/config'

    def write_config(self, text, mode=0o644):
        os.makedirs(os.path.dirname(self.CONFIG), exist_ok=True)
        with open(self.CONFIG, 'w') as f:
            f.write(text)
        os.chmod(self.CONFIG, mode)

    def test_config_sets_the_portal(self):
        self.write_config('# admin settings\napi-url = wss://portal.example.com/\nlog-level = debug\n')
        self.bed.start_daemon()
        self.assertOk(self.sign_in())
        self.assertIn('connecting to wss://portal.example.com/', self.bed.daemon.output())

    def test_bad_value_is_a_clear_error(self):
        self.write_config('dns-control = sometimes\n')
        rc, out = self.bed.run_daemon_to_exit()
        self.assertNotEqual(rc, 0)
        self.assertIn(f'Invalid DNS control mode "sometimes" in {self.CONFIG} line 1', out)

    def test_writable_config_is_refused(self):
        self.write_config('api-url = wss://evil.example.com/\n', mode=0o666)
        rc, out = self.bed.run_daemon_to_exit()
        self.assertNotEqual(rc, 0)
        self.assertIn('must be owned by root and writable only by root', out)

    def test_unknown_setting_is_ignored_with_a_warning(self):
        self.write_config('future-setting = 1\n')
        self.bed.start_daemon()
        self.assertIn('unknown setting "future-setting", ignoring', self.bed.daemon.output())
