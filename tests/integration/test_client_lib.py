# SPDX-License-Identifier: Apache-2.0
"""libfirezone-client against the real daemon, bus policy and polkitd: every public async
entry point, as fz-member, root and fz-outsider, with cancellation, the daemon not running,
and the daemon restarted mid-session. The library is driven through its typelib from
Debian's /usr/bin/python3 (libagent.py), which also proves the bindings work.

Without a portal the daemon stays "connecting" after SignIn; tests that need "connected"
or resources get them from the local portal under tests/portal/ once it exists."""

import signal

from clientbed import (BUS_REFUSAL, GROUP_ADVICE, MANAGED_ADVICE, NOT_RUNNING_ADVICE, STATUS_TYPES, ClientTestCase,
                       ServiceAccountTestCase, library_env)

ASYNC_METHODS = ('get_status', 'list_resources', 'sign_in', 'sign_out', 'reconnect', 'set_internet_resource_enabled')


def call_args(test, method):
    """Arguments that would make `method` succeed."""
    if method == 'sign_in':
        return {'token': test.secret(test.TOKEN)}
    if method == 'set_internet_resource_enabled':
        return {'enabled': True}
    return {}


class Typelib(ClientTestCase):
    def test_python_imports_the_typelib_and_gets_the_status(self):
        script = '''
import gi, json
gi.require_version('FirezoneClient', '1')
from gi.repository import FirezoneClient, GLib
client = FirezoneClient.Client.new_sync(None)
loop = GLib.MainLoop()
out = {}
def done(c, res):
    s = c.get_status_finish(res)
    out['state'] = FirezoneClient.client_state_to_string(s.get_state())
    out['version'] = s.get_version()
    loop.quit()
client.get_status_async(None, done)
loop.run()
print(json.dumps(out))
'''
        r = self.bed.run_as('fz-member', ['/usr/bin/python3', '-c', script], env=library_env(self.bed))
        self.assertEqual(r.returncode, 0, r.stderr)
        import json
        out = json.loads(r.stdout)
        self.assertEqual(out, {'state': 'signed-out', 'version': self.status()['version']})


class Construction(ClientTestCase):
    def test_new_async_reads_the_daemon(self):
        props = self.assertLibOk(self.libagent(new=None).new('async'))
        self.assertEqual(props['state'], 'signed-out')
        self.assertEqual(props['mode'], 'interactive')
        self.assertTrue(props['daemon-running'])
        self.assertEqual(props['daemon-version'], self.status()['version'])
        self.assertFalse(props['requires-sign-in'])

    def test_new_sync_reads_the_daemon(self):
        props = self.assertLibOk(self.libagent(new=None).new('sync'))
        self.assertEqual((props['state'], props['mode'], props['daemon-running']),
                         ('signed-out', 'interactive', True))

    def test_new_sync_client_follows_the_daemon_afterwards(self):
        # The sync constructor initializes on a private main context; the client's signals
        # must still reach the caller's context after it returns.
        a = self.libagent(new='sync')
        self.assertLibOk(self.libagent().call('sign_in', token=self.secret(self.TOKEN), account_slug='acme'))
        ev = self.assertLibOk(a.wait_event('state-changed', state='connecting'))
        self.assertEqual((ev['reason'], ev['props']['account-slug']), ('sign-in', 'acme'))
        self.assertLibOk(a.wait_event('notify', property='account-slug', value='acme'))
        self.assertEqual(self.assertLibOk(a.call('get_status'))['state'], 'connecting')
        self.assertIs(self.assertLibOk(a.call('sign_out')), True)
        self.assertLibOk(a.wait_event('state-changed', state='signed-out'))

    def test_new_reads_a_session_in_progress(self):
        self.assertLibOk(self.libagent().call('sign_in', token=self.secret(self.TOKEN), account_slug='acme',
                                              actor_name='Ada Lovelace'))
        for how in ('async', 'sync'):
            props = self.assertLibOk(self.libagent(new=None).new(how))
            self.assertEqual((props['state'], props['account-slug'], props['actor-name']),
                             ('connecting', 'acme', 'Ada Lovelace'), how)

    def test_new_while_daemon_not_running(self):
        self.bed.stop_daemon()
        for how in ('async', 'sync'):
            props = self.assertLibOk(self.libagent(new=None).new(how))
            self.assertEqual((props['state'], props['mode'], props['daemon-running'], props['daemon-version']),
                             ('unknown', 'unknown', False, ''), how)

    def test_new_as_outsider_succeeds_but_reads_nothing(self):
        # The bus refuses the reads; the client exists, and each call reports the refusal.
        props = self.assertLibOk(self.libagent('fz-outsider', new=None).new('async'))
        self.assertEqual(props['state'], 'unknown')
        self.assertTrue(props['daemon-running'])


class Calls(ClientTestCase):
    def test_get_status(self):
        st = self.assertLibOk(self.libagent().call('get_status'))
        self.assertEqual(set(st), set(STATUS_TYPES))
        self.assertEqual(st, self.status())

    def test_list_resources_without_a_portal_is_empty(self):
        self.assertEqual(self.assertLibOk(self.libagent().call('list_resources')), [])

    def test_sign_in_and_out_with_signals_and_properties(self):
        a = self.libagent()
        token = self.secret(self.TOKEN)
        self.assertIs(self.assertLibOk(a.call('sign_in', token=token, account_slug='acme', actor_name='Ada')), True)
        ev = self.assertLibOk(a.wait_event('state-changed', state='connecting'))
        self.assertEqual(ev['reason'], 'sign-in')
        # Properties are up to date when the signal is emitted.
        self.assertEqual((ev['props']['state'], ev['props']['account-slug'], ev['props']['actor-name']),
                         ('connecting', 'acme', 'Ada'))
        self.assertLibOk(a.wait_event('notify', property='state', value='connecting'))
        self.assertLibOk(a.wait_event('notify', property='account-slug', value='acme'))
        self.assertEqual(self.status()['state'], 'connecting')

        self.assertIs(self.assertLibOk(a.call('sign_out')), True)
        ev = self.assertLibOk(a.wait_event('state-changed', state='signed-out'))
        self.assertEqual(ev['reason'], 'sign-out')
        self.assertEqual(ev['props']['account-slug'], '')
        self.assertEqual(self.status()['state'], 'signed-out')

    def test_sign_out_is_idempotent(self):
        a = self.libagent()
        for _ in range(2):
            self.assertIs(self.assertLibOk(a.call('sign_out')), True)

    def test_reconnect(self):
        a = self.libagent()
        msg = self.assertLibError(a.call('reconnect'), 'not-signed-in')
        self.assertIn('Sign in first', msg)
        self.assertLibOk(a.call('sign_in', token=self.secret(self.TOKEN)))
        self.assertIs(self.assertLibOk(a.call('reconnect')), True)
        self.assertEqual(self.status()['state'], 'connecting')

    def test_root_may_do_everything(self):
        a = self.libagent('root')
        self.assertLibOk(a.call('sign_in', token=self.secret(self.TOKEN)))
        self.assertLibOk(a.call('reconnect'))
        self.assertEqual(self.assertLibOk(a.call('get_status'))['state'], 'connecting')
        self.assertEqual(self.assertLibOk(a.call('list_resources')), [])
        self.assertLibOk(a.call('sign_out'))

    def test_get_status_updates_the_properties(self):
        a = self.libagent()
        self.assertLibOk(a.call('sign_in', token=self.secret(self.TOKEN), account_slug='acme'))
        st = self.assertLibOk(a.call('get_status'))
        props = a.props()
        self.assertEqual((props['state'], props['account-slug']), (st['state'], st['account-slug']))


class Errors(ClientTestCase):
    def test_invalid_token_from_the_daemon(self):
        msg = self.assertLibError(self.libagent().call('sign_in', token='has a space'), 'invalid-token')
        self.assertTrue(msg.endswith('.'), msg)
        self.assertEqual(self.status()['state'], 'signed-out')

    def test_empty_token_is_refused_without_a_call(self):
        self.assertLibError(self.libagent().call('sign_in', token=''), 'invalid-token')

    def test_invalid_argument(self):
        msg = self.assertLibError(self.libagent().call('sign_in', token=self.secret(self.TOKEN),
                                                        api_url='http://portal.example.com/'), 'invalid-argument')
        self.assertIn('api-url', msg)

    def test_authorization_required_and_interactive(self):
        # configure is auth_admin: without interactive authorization polkit cannot ask.
        url = 'wss://portal.example.com/'
        a = self.libagent()
        msg = self.assertLibError(a.call('sign_in', token=self.secret(self.TOKEN), api_url=url),
                                  'authorization-required')
        self.assertIn('polkit', msg)
        # Interactive: polkit would ask, but there is no agent in the bed, so it says no. That
        # refusal comes from the daemon, so the advice is not about group membership.
        b = self.libagent(interactive=True)
        msg = self.assertLibError(b.call('sign_in', token=self.secret(self.TOKEN), api_url=url),
                                  'permission-denied')
        self.assertIn('polkit', msg)
        self.assertNotIn(BUS_REFUSAL, msg)
        self.assertEqual(self.status()['state'], 'signed-out')

    def test_polkit_refusal_keeps_the_daemons_reason(self):
        a = self.libagent()
        self.assertLibOk(a.call('sign_in', token=self.secret(self.TOKEN)))
        self.bed.add_polkit_rule('10-always-on.rules', '''
polkit.addRule(function(action, subject) {
    if (action.id == "dev.firezone.client1.sign-out") return polkit.Result.NO;
});
''')
        msg = self.assertLibError(a.call('sign_out'), 'permission-denied')
        # The daemon's sentence (it names the action), not the library's one for the bus.
        self.assertIn('dev.firezone.client1.sign-out', msg)
        self.assertNotIn(BUS_REFUSAL, msg)
        self.assertEqual(self.status()['state'], 'connecting')

    def test_outsider_is_refused_by_the_bus_for_every_call(self):
        a = self.libagent('fz-outsider')
        for method in ASYNC_METHODS:
            args = call_args(self, method)
            msg = self.assertLibError(a.call(method, **args), 'permission-denied')
            self.assertIn(BUS_REFUSAL, msg, method)
            self.assertIn(GROUP_ADVICE, msg, method)
        self.assertEqual(self.status()['state'], 'signed-out')

    def test_outsider_gets_no_signals(self):
        outsider = self.libagent('fz-outsider')
        member = self.libagent()
        self.assertLibOk(member.call('sign_in', token=self.secret(self.TOKEN)))
        self.assertLibOk(member.wait_event('state-changed', state='connecting'))
        self.assertEqual([e for e in outsider.events() if e['kind'] == 'state-changed'], [])


class DaemonNotRunning(ClientTestCase):
    def test_every_call_says_how_to_start_it(self):
        a = self.libagent()
        self.bed.stop_daemon()
        ev = self.assertLibOk(a.wait_event('state-changed', state='unknown'))
        self.assertEqual(ev['reason'], 'daemon-stopped')
        self.assertFalse(ev['props']['daemon-running'])
        for method in ASYNC_METHODS:
            args = call_args(self, method)
            msg = self.assertLibError(a.call(method, **args), 'daemon-not-running')
            self.assertIn(NOT_RUNNING_ADVICE, msg, method)

    def test_daemon_dying_during_a_call(self):
        a = self.libagent()
        # A bus monitor sees the call when the bus hands it to the (stopped) daemon: from then
        # on the bus owes the caller an answer, and sends NoReply when the daemon dies.
        monitor = self.bed.agent('root')
        self.assertOk(monitor.become_monitor(["type='method_call',interface='dev.firezone.Client1'"]))
        self.freeze_daemon()
        cid = a.start_call('get_status')
        self.assertOk(monitor.monitored('Status', count=1))
        self.bed.daemon.stop(signal.SIGKILL)
        msg = self.assertLibError(a.finish_call(cid), 'daemon-not-running')
        self.assertIn('stopped before it answered', msg)
        self.assertIn(NOT_RUNNING_ADVICE, msg)


class Restart(ClientTestCase):
    def test_restart_mid_session_is_followed(self):
        a = self.libagent()
        self.assertLibOk(a.call('sign_in', token=self.secret(self.TOKEN), account_slug='acme'))
        self.assertLibOk(a.wait_event('state-changed', state='connecting'))

        self.bed.stop_daemon()
        ev = self.assertLibOk(a.wait_event('state-changed', state='unknown'))
        self.assertEqual(ev['reason'], 'daemon-stopped')
        self.assertEqual((ev['props']['daemon-running'], ev['props']['account-slug'], ev['props']['mode']),
                         (False, '', 'unknown'))

        self.bed.start_daemon()
        # The new daemon has no session: the client re-reads it and says so.
        ev = self.assertLibOk(a.wait_event('state-changed', state='signed-out'))
        self.assertEqual(ev['reason'], 'daemon-started')
        self.assertEqual((ev['props']['daemon-running'], ev['props']['mode'], ev['props']['daemon-version']),
                         (True, 'interactive', self.status()['version']))
        self.assertLibOk(a.wait_event('notify', property='daemon-running', value=True))

        # No stale proxy: calls and signals work with the new daemon.
        self.assertEqual(self.assertLibOk(a.call('get_status'))['state'], 'signed-out')
        self.assertLibOk(a.call('sign_in', token=self.secret(self.TOKEN)))
        self.assertEqual(self.assertLibOk(a.wait_event('state-changed', state='connecting'))['reason'], 'sign-in')

    def test_client_made_before_the_daemon_started(self):
        self.bed.stop_daemon()
        agents = {how: self.libagent(new=how) for how in ('async', 'sync')}
        for how, a in agents.items():
            self.assertFalse(a.props()['daemon-running'], how)
        self.bed.start_daemon()
        for how, a in agents.items():
            ev = self.assertLibOk(a.wait_event('state-changed', state='signed-out'))
            self.assertEqual(ev['reason'], 'daemon-started', how)
            self.assertEqual(self.assertLibOk(a.call('get_status'))['state'], 'signed-out', how)

    def test_service_account_daemon_after_restart(self):
        a = self.libagent()
        self.bed.stop_daemon()
        self.bed.write_token_file(self.secret(self.TOKEN))
        self.bed.start_daemon()
        # The new daemon announces its start itself (reason "service-account"); whether that
        # signal or the client's re-read comes first, the client ends up with the new state.
        self.assertLibOk(a.wait_event('state-changed', state='connecting'))
        self.assertLibOk(a.wait_event('notify', property='daemon-version', value=self.status()['version']))
        props = a.props()
        self.assertEqual((props['mode'], props['state'], props['daemon-running']),
                         ('service-account', 'connecting', True))


class ServiceAccount(ServiceAccountTestCase):
    def test_mutating_calls_say_an_administrator_manages_the_device(self):
        a = self.libagent()
        self.assertEqual(a.props()['mode'], 'service-account')
        for method in ('sign_in', 'sign_out', 'reconnect', 'set_internet_resource_enabled'):
            args = {'token': self.TOKEN + 'x'} if method == 'sign_in' else call_args(self, method)
            msg = self.assertLibError(a.call(method, **args), 'managed-by-service-account')
            self.assertIn(MANAGED_ADVICE, msg, method)
        self.assertEqual(self.assertLibOk(a.call('get_status'))['mode'], 'service-account')


class InternetResource(ClientTestCase):
    def enabled(self):
        return self.status()['internet-resource-enabled']

    def test_member_switches_it_on_and_off(self):
        a = self.libagent()
        b = self.libagent(new='sync')  # another client: it learns of it from PropertiesChanged
        self.assertIs(a.props()['internet-resource-enabled'], False)
        for value in (True, False):
            self.assertIs(self.assertLibOk(a.call('set_internet_resource_enabled', enabled=value)), True)
            # Up to date when the call returns (the library's promise), before any wait.
            self.assertIs(a.props()['internet-resource-enabled'], value)
            self.assertIs(self.enabled(), value)
            for client in (a, b):
                self.assertLibOk(client.wait_event('notify', property='internet-resource-enabled', value=value))
            self.assertIs(self.assertLibOk(b.call('get_status'))['internet-resource-enabled'], value)
        # Switching it to what it is already succeeds and notifies nobody.
        self.assertLibOk(a.call('set_internet_resource_enabled', enabled=False))
        self.assertEqual([e for e in a.events() + b.events() if e.get('property') == 'internet-resource-enabled'], [])

    def test_it_holds_across_sign_in_and_out(self):
        a = self.libagent()
        self.assertLibOk(a.call('set_internet_resource_enabled', enabled=True))
        self.assertLibOk(a.call('sign_in', token=self.secret(self.TOKEN)))
        self.assertLibOk(a.call('sign_out'))
        self.assertLibOk(a.wait_event('state-changed', state='signed-out'))
        self.assertIs(a.props()['internet-resource-enabled'], True)
        self.assertIs(self.enabled(), True)

    def test_root_may_switch_it(self):
        a = self.libagent('root')
        self.assertLibOk(a.call('set_internet_resource_enabled', enabled=True))
        self.assertIs(self.enabled(), True)

    def test_outsider_refused_and_nothing_changed(self):
        member = self.libagent()
        msg = self.assertLibError(self.libagent('fz-outsider').call('set_internet_resource_enabled', enabled=True),
                                  'permission-denied')
        self.assertIn(BUS_REFUSAL, msg)
        self.assertIs(self.enabled(), False)
        self.assertEqual([e for e in member.events() if e['kind'] == 'notify'], [])

    def test_fleet_rule_refusal_keeps_the_daemons_reason(self):
        a = self.libagent()
        self.assertLibOk(a.call('set_internet_resource_enabled', enabled=True))
        self.add_polkit_result('dev.firezone.client1.set-internet-resource', 'NO')
        msg = self.assertLibError(a.call('set_internet_resource_enabled', enabled=False), 'permission-denied')
        self.assertIn('dev.firezone.client1.set-internet-resource', msg)
        self.assertNotIn(BUS_REFUSAL, msg)
        self.assertIs(a.props()['internet-resource-enabled'], True)
        self.assertIs(self.enabled(), True)

    def test_authorization_required_unless_interactive(self):
        # A rule that wants a password: without interactive authorization polkit cannot ask;
        # with it, polkit would ask, but the bed has no agent, so the daemon says no.
        self.add_polkit_result('dev.firezone.client1.set-internet-resource', 'AUTH_ADMIN')
        msg = self.assertLibError(self.libagent().call('set_internet_resource_enabled', enabled=True),
                                  'authorization-required')
        self.assertIn('polkit', msg)
        self.assertLibError(self.libagent(interactive=True).call('set_internet_resource_enabled', enabled=True),
                            'permission-denied')
        self.assertIs(self.enabled(), False)


class InternetResourceServiceAccount(ServiceAccountTestCase):
    DAEMON_ARGS = ('--activate-internet-resource',)

    def test_the_administrator_decides(self):
        a = self.libagent()
        props = a.props()
        self.assertEqual((props['mode'], props['internet-resource-enabled']), ('service-account', True))
        msg = self.assertLibError(a.call('set_internet_resource_enabled', enabled=False), 'managed-by-service-account')
        self.assertIn(MANAGED_ADVICE, msg)
        self.assertIn('Internet resource', msg)
        self.assertIs(a.props()['internet-resource-enabled'], True)
        self.assertIs(self.status()['internet-resource-enabled'], True)


class Cancellation(ClientTestCase):
    def test_cancelled_before_the_call_sends_nothing(self):
        a = self.libagent()
        for method in ASYNC_METHODS:
            args = call_args(self, method)
            self.assertLibError(a.call(method, cancel='before', **args), 'cancelled')
        # Nothing reached the daemon: no sign-in happened, nothing was switched, no signal was sent.
        st = self.status()
        self.assertEqual((st['state'], st['internet-resource-enabled']), ('signed-out', False))
        self.assertEqual([e for e in a.events() if e['kind'] in ('state-changed', 'notify')], [])

    def test_cancelled_while_the_daemon_has_not_answered(self):
        a = self.libagent()
        after = {'sign_in': ('connecting', 'sign-in'), 'sign_out': ('signed-out', 'sign-out'),
                 'set_internet_resource_enabled': True}
        for method in ASYNC_METHODS:
            args = call_args(self, method)
            # A stopped daemon cannot answer: the call is surely in flight when it is cancelled.
            self.freeze_daemon()
            self.assertLibError(a.call(method, cancel='after-send', **args), 'cancelled')
            self.thaw_daemon()
            # Cancelling stops the waiting, not the request: the daemon carries out what it
            # got, and the client follows.
            if method == 'set_internet_resource_enabled':
                self.assertLibOk(a.wait_event('notify', property='internet-resource-enabled', value=True))
            elif method in after:
                state, reason = after[method]
                self.assertEqual(self.assertLibOk(a.wait_event('state-changed', state=state))['reason'], reason)
        # The client still works after all that.
        self.assertEqual(self.assertLibOk(a.call('get_status'))['state'], 'signed-out')

    def test_cancelled_new(self):
        for how in ('async', 'sync'):
            r = self.libagent(new=None).request(op='new_cancelled', how=how)
            self.assertLibError(r, 'cancelled')

    def test_new_cancelled_while_reading_the_daemon(self):
        # The daemon is stopped (SIGSTOP), so the constructor's Status() stays unanswered:
        # cancelling must end the construction at once, for both constructors.
        monitor = self.bed.agent('root')
        self.assertOk(monitor.become_monitor(["type='method_call',interface='dev.firezone.Client1'"]))
        status_calls = 0
        for how in ('async', 'sync'):
            self.freeze_daemon()
            a = self.libagent(new=None)
            a.send(op='new_cancel_on_order', how=how)
            status_calls += 1
            self.assertOk(monitor.monitored('Status', count=status_calls))
            a.send(op='cancel')
            self.assertLibError(a.receive(), 'cancelled')
            # The process can make a working client afterwards (nothing was left stuck).
            self.thaw_daemon()
            self.assertEqual(self.assertLibOk(a.new(how))['state'], 'signed-out', how)
            status_calls += 1
