# SPDX-License-Identifier: Apache-2.0
"""The D-Bus API v1 of firezone-client-tunnel against the real bus policy and real polkitd."""

import os
import xml.etree.ElementTree as ET

from fzbed import BUS_NAME, BedTestCase, SOURCE_ROOT

TOKEN = 'fz-test-token.SFMyNTY.g2gDaANtAAAAJGFiY2RlZmdo'
STATUS_TYPES = {
    'state': str, 'mode': str, 'account-slug': str, 'actor-name': str, 'interface': str, 'ipv4': str,
    'ipv6': str, 'dns-control': str, 'last-error': str, 'requires-sign-in': bool, 'connected-since': int,
    'resource-count': int, 'version': str, 'internet-resource-enabled': bool, 'gateways': int, 'rx-bytes': int,
    'tx-bytes': int,
}
LEGAL_STATES = {'signed-out', 'connecting', 'connected', 'reconnecting'}

ERR = 'dev.firezone.Client1.Error.'
ACCESS_DENIED = 'org.freedesktop.DBus.Error.AccessDenied'


def sign_in_args(token, options=None):
    """GVariant text for SignIn's (sa{sv}); options values are GVariant text too."""
    opts = ', '.join(f"'{k}': <{v}>" for k, v in (options or {}).items())
    return f"({token}, @a{{sv}} {{{opts}}})"


def quote(s):
    return "'" + s.replace('\\', '\\\\').replace("'", "\\'") + "'"


class ApiTestCase(BedTestCase):
    def status(self, user='root'):
        return self.assertOk(self.agent(user).call('Status'))[0]

    def agent(self, user):
        cache = self.__dict__.setdefault('_agents', {})
        if user not in cache:
            cache[user] = self.bed.agent(user)
        return cache[user]

    def state(self):
        return self.status()['state']

    def sign_in(self, user='fz-member', token=None, options=None, **kw):
        token = self.secret(token or TOKEN)
        return self.agent(user).call('SignIn', sign_in_args(quote(token), options), '(sa{sv})', **kw)


def _interface_signature(xml_text):
    """What a client can rely on: members, argument names/types/directions, property
    types/access and change notification. Doc comments do not matter."""
    root = ET.fromstring(xml_text)
    iface = next(i for i in root.iter('interface') if i.get('name') == 'dev.firezone.Client1')
    out = set()
    for el in iface:
        if el.tag == 'method':
            out.add(('method', el.get('name'),
                     tuple((a.get('name'), a.get('type'), a.get('direction', 'in')) for a in el.iter('arg'))))
        elif el.tag == 'signal':
            out.add(('signal', el.get('name'), tuple((a.get('name'), a.get('type')) for a in el.iter('arg'))))
        elif el.tag == 'property':
            emits = 'true'
            for a in el.iter('annotation'):
                if a.get('name') == 'org.freedesktop.DBus.Property.EmitsChangedSignal':
                    emits = a.get('value')
            out.add(('property', el.get('name'), el.get('type'), el.get('access'), emits))
    return out


class Introspection(ApiTestCase):
    def test_interface_xml_matches_live_introspection(self):
        live = self.assertOk(self.agent('fz-member').call('Introspect', iface='org.freedesktop.DBus.Introspectable'))[0]
        with open(os.path.join(SOURCE_ROOT, 'dbus', 'dev.firezone.Client1.xml')) as f:
            documented = f.read()
        want, got = _interface_signature(documented), _interface_signature(live)
        self.assertEqual(want, got, f'missing from daemon: {want - got}; undocumented: {got - want}')

    def test_interface_xml_documents_every_member(self):
        with open(os.path.join(SOURCE_ROOT, 'dbus', 'dev.firezone.Client1.xml')) as f:
            text = f.read()
        for kind, name, *_ in _interface_signature(text):
            self.assertRegex(text, rf'<!--\s*{name}:', f'{kind} {name} has no doc comment')


class Status(ApiTestCase):
    def test_status_keys_and_types(self):
        st = self.status('fz-member')
        self.assertEqual(set(st), set(STATUS_TYPES))
        for key, typ in STATUS_TYPES.items():
            self.assertIsInstance(st[key], typ, key)
        self.assertEqual(st['state'], 'signed-out')
        self.assertEqual(st['mode'], 'interactive')
        self.assertEqual(st['connected-since'], 0)
        self.assertEqual(st['resource-count'], 0)
        self.assertFalse(st['requires-sign-in'])

    def test_status_outsider_refused(self):
        self.assertDBusError(self.agent('fz-outsider').call('Status'), ACCESS_DENIED)

    def test_list_resources_empty_when_signed_out(self):
        r = self.agent('fz-member').call('ListResources')
        self.assertEqual(self.assertOk(r), [[]])

    def test_properties(self):
        a = self.agent('fz-member')
        props = self.assertOk(a.call('GetAll', "('dev.firezone.Client1',)", '(s)',
                                     iface='org.freedesktop.DBus.Properties'))[0]
        self.assertEqual(set(props), {'State', 'Mode', 'AccountSlug', 'ActorName', 'InterfaceName', 'LastError',
                                      'Version', 'InternetResourceEnabled'})
        self.assertIs(props['InternetResourceEnabled'], False)
        self.assertEqual(props['State'], 'signed-out')
        self.assertEqual(props['Version'], self.status()['version'])

    def test_properties_are_read_only(self):
        r = self.agent('root').call('Set', "('dev.firezone.Client1', 'State', <'connected'>)", '(ssv)',
                                    iface='org.freedesktop.DBus.Properties')
        self.assertIn('error', r)
        self.assertEqual(self.state(), 'signed-out')

    def test_properties_outsider_refused(self):
        self.assertDBusError(self.agent('fz-outsider').get_property('State'), ACCESS_DENIED)


class SignIn(ApiTestCase):
    def test_member_signs_in_and_out(self):
        watcher = self.agent('root')
        watcher.subscribe('StateChanged')
        self.assertOk(self.sign_in(options={'account-slug': "'acme'", 'actor-name': "'Ada Lovelace'"}))
        sig = self.assertOk(watcher.wait_signal('StateChanged'))
        self.assertEqual(sig['args'][0], 'connecting')
        self.assertEqual(sig['args'][1]['reason'], 'sign-in')
        self.assertFalse(sig['args'][1]['requires-sign-in'])
        st = self.status()
        self.assertEqual((st['state'], st['mode'], st['account-slug'], st['actor-name']),
                         ('connecting', 'interactive', 'acme', 'Ada Lovelace'))
        self.assertEqual(self.assertOk(self.agent('fz-member').get_property('AccountSlug')), 'acme')

        self.assertOk(self.agent('fz-member').call('SignOut'))
        sig = self.assertOk(watcher.wait_signal('StateChanged'))
        self.assertEqual((sig['args'][0], sig['args'][1]['reason']), ('signed-out', 'sign-out'))
        st = self.status()
        self.assertEqual((st['state'], st['account-slug'], st['actor-name']), ('signed-out', '', ''))

    def test_properties_changed_is_emitted(self):
        watcher = self.agent('fz-member')
        watcher.subscribe('PropertiesChanged', iface='org.freedesktop.DBus.Properties')
        self.assertOk(self.sign_in(options={'account-slug': "'acme'"}))
        sig = self.assertOk(watcher.wait_signal('PropertiesChanged'))
        iface, changed, invalidated = sig['args']
        self.assertEqual(iface, 'dev.firezone.Client1')
        self.assertEqual(changed.get('State'), 'connecting')
        self.assertEqual(changed.get('AccountSlug'), 'acme')

    def test_sign_in_never_pretends_to_be_connected(self):
        self.assertOk(self.sign_in())
        st = self.status()
        self.assertEqual(st['state'], 'connecting')
        self.assertEqual(st['connected-since'], 0)

    def test_sign_in_replaces_previous_session(self):
        self.assertOk(self.sign_in(options={'account-slug': "'first'"}))
        self.assertOk(self.sign_in(token=TOKEN + 'x', options={'account-slug': "'second'"}))
        st = self.status()
        self.assertEqual((st['state'], st['account-slug']), ('connecting', 'second'))

    def test_sign_out_is_idempotent(self):
        for _ in range(2):
            self.assertOk(self.agent('fz-member').call('SignOut'))
            self.assertEqual(self.state(), 'signed-out')

    def test_root_may_sign_in(self):
        self.assertOk(self.sign_in('root'))
        self.assertEqual(self.state(), 'connecting')

    def test_outsider_refused_and_nothing_changes(self):
        self.assertDBusError(self.sign_in('fz-outsider'), ACCESS_DENIED)
        self.assertEqual(self.state(), 'signed-out')
        self.assertOk(self.sign_in())
        for method in ('SignOut', 'Reconnect'):
            self.assertDBusError(self.agent('fz-outsider').call(method), ACCESS_DENIED)
        self.assertEqual(self.state(), 'connecting')

    def test_outsider_receives_no_signals(self):
        outsider, member = self.agent('fz-outsider'), self.agent('fz-member')
        outsider.subscribe('StateChanged')
        member.subscribe('StateChanged')
        self.assertOk(self.sign_in())
        self.assertOk(member.wait_signal('StateChanged'))
        # The member got it; the bus (which delivers in order) must not have given it to the outsider.
        self.assertEqual([s for s in outsider.signals() if s['member'] == 'StateChanged'], [])

    def test_reconnect_needs_a_session(self):
        self.assertDBusError(self.agent('fz-member').call('Reconnect'), ERR + 'NotSignedIn')
        self.assertOk(self.sign_in())
        self.assertOk(self.agent('fz-member').call('Reconnect'))
        self.assertEqual(self.state(), 'connecting')

    def test_api_url_needs_configure_permission(self):
        # configure is auth_admin: group membership is not enough.
        r = self.sign_in(options={'api-url': "'wss://portal.example.com/'"})
        self.assertDBusError(r, ERR[:0] + 'org.freedesktop.DBus.Error.InteractiveAuthorizationRequired')
        self.assertEqual(self.state(), 'signed-out')
        # root passes polkit for both actions.
        self.assertOk(self.sign_in('root', options={'api-url': "'wss://portal.example.com/'"}))
        self.assertEqual(self.state(), 'connecting')
        self.assertIn('portal.example.com', self.bed.daemon.output())


def internet_args(enabled, options=''):
    return f"({'true' if enabled else 'false'}, @a{{sv}} {{{options}}})"


class InternetResource(ApiTestCase):
    def set(self, user, enabled, options=''):
        return self.agent(user).call('SetInternetResourceEnabled', internet_args(enabled, options), '(ba{sv})')

    def enabled(self):
        return self.status()['internet-resource-enabled']

    def test_member_switches_it_on_and_off(self):
        watcher = self.agent('fz-member')
        watcher.subscribe('PropertiesChanged', iface='org.freedesktop.DBus.Properties')
        self.assertOk(self.set('fz-member', True))
        sig = self.assertOk(watcher.wait_signal('PropertiesChanged'))
        self.assertEqual(sig['args'][1], {'InternetResourceEnabled': True})
        self.assertIs(self.enabled(), True)
        self.assertIs(self.assertOk(watcher.get_property('InternetResourceEnabled')), True)
        # It holds across sessions: sign in and out.
        self.assertOk(self.sign_in())
        self.assertOk(self.agent('fz-member').call('SignOut'))
        self.assertIs(self.enabled(), True)
        self.assertOk(self.set('fz-member', False))
        self.assertIs(self.enabled(), False)

    def test_outsider_refused_and_nothing_changes(self):
        self.assertDBusError(self.set('fz-outsider', True), ACCESS_DENIED)
        self.assertIs(self.enabled(), False)

    def test_fleet_rule_keeps_it_on(self):
        self.assertOk(self.set('fz-member', True))
        self.bed.add_polkit_rule('10-always-on.rules', '''
polkit.addRule(function(action, subject) {
    if (action.id == "dev.firezone.client1.set-internet-resource" && subject.user == "fz-member")
        return polkit.Result.NO;
});
''')
        self.assertDBusError(self.set('fz-member', False), ACCESS_DENIED)
        self.assertIs(self.enabled(), True)
        self.assertOk(self.set('root', False))
        self.assertIs(self.enabled(), False)

    def test_unknown_option_refused(self):
        r = self.set('fz-member', True, "'force': <true>")
        self.assertDBusError(r, ERR + 'InvalidArgument')
        self.assertIn('"force"', r['message'])
        self.assertIs(self.enabled(), False)


class InternetResourceServiceAccount(ApiTestCase):
    START_DAEMON = False

    def test_options_decide_and_the_method_is_refused(self):
        self.bed.start_daemon(args=['--activate-internet-resource'], env={'FIREZONE_TOKEN': self.secret(TOKEN)})
        self.assertIs(self.status()['internet-resource-enabled'], True)
        r = self.agent('fz-member').call('SetInternetResourceEnabled', internet_args(False), '(ba{sv})')
        self.assertDBusError(r, ERR + 'ManagedByServiceAccount')
        self.assertIs(self.status()['internet-resource-enabled'], True)


class BadInput(ApiTestCase):
    """Bad arguments get a clear error and change nothing (checked after a sign-in, so a
    change would show)."""

    def setUp(self):
        super().setUp()
        self.assertOk(self.sign_in(options={'account-slug': "'acme'"}))
        self.before = self.status()

    def assertUnchanged(self):
        self.assertEqual(self.status(), self.before)

    def bad_sign_in(self, error, token=None, options=None):
        r = self.agent('fz-member').call('SignIn', sign_in_args(token if token is not None else quote(TOKEN), options),
                                         '(sa{sv})')
        self.assertDBusError(r, error)
        self.assertRegex(r['message'], r'\.\s|\.$', 'the error should be a sentence')
        self.assertUnchanged()
        return r

    def test_empty_token(self):
        self.bad_sign_in(ERR + 'InvalidToken', token="''")

    def test_token_too_long(self):
        self.bad_sign_in(ERR + 'InvalidToken', token=quote('a' * 4097))

    def test_token_at_limit_is_accepted(self):
        self.assertOk(self.sign_in(token='a' * 4096))

    def test_token_with_control_characters(self):
        for bad in ("'abc\\ndef'", "'abc\\tdef'", "'abc\\u0001def'", "'abc def'", "'abc\\u00e9'"):
            self.bad_sign_in(ERR + 'InvalidToken', token=bad)

    def test_option_with_wrong_type(self):
        self.bad_sign_in(ERR + 'InvalidArgument', options={'account-slug': 'uint32 5'})
        self.bad_sign_in(ERR + 'InvalidArgument', options={'api-url': "['wss://x/']"})

    def test_unknown_option(self):
        r = self.bad_sign_in(ERR + 'InvalidArgument', options={'colour': "'blue'"})
        self.assertIn('colour', r['message'])

    def test_invalid_api_url(self):
        for url in ("'http://portal.example.com/'", "'ws://portal.example.com/'", "''"):
            self.bad_sign_in(ERR + 'InvalidArgument', options={'api-url': url})

    def test_display_strings_are_checked(self):
        self.bad_sign_in(ERR + 'InvalidArgument', options={'actor-name': quote('x' * 300)})
        self.bad_sign_in(ERR + 'InvalidArgument', options={'account-slug': "'a\\u0007b'"})

    def test_wrong_signature(self):
        a = self.agent('fz-member')
        self.assertDBusError(a.call('SignIn', "(5,)", '(i)'), 'org.freedesktop.DBus.Error.InvalidArgs')
        self.assertDBusError(a.call('SignIn', "('tok',)", '(s)'), 'org.freedesktop.DBus.Error.InvalidArgs')
        self.assertDBusError(a.call('SignOut', "('x',)", '(s)'), 'org.freedesktop.DBus.Error.InvalidArgs')
        self.assertDBusError(a.call('NoSuchMethod'), 'org.freedesktop.DBus.Error.UnknownMethod')
        self.assertUnchanged()


class Polkit(ApiTestCase):
    def test_fleet_rule_denies_sign_out(self):
        self.assertOk(self.sign_in())
        self.bed.add_polkit_rule('10-always-on.rules', '''
polkit.addRule(function(action, subject) {
    if (action.id == "dev.firezone.client1.sign-out" && subject.user == "fz-member")
        return polkit.Result.NO;
});
''')
        self.assertDBusError(self.agent('fz-member').call('SignOut'), ACCESS_DENIED)
        self.assertEqual(self.state(), 'connecting')
        # Other actions are untouched by that rule.
        self.assertOk(self.agent('fz-member').call('Reconnect'))

    def test_interactive_flag_is_passed_to_polkit(self):
        # auth_admin for the member: without the flag polkit cannot prompt → InteractiveAuthorizationRequired;
        # with it, polkit would prompt (there is no agent here) → plain AccessDenied.
        self.bed.add_polkit_rule('10-admin.rules', '''
polkit.addRule(function(action, subject) {
    if (action.id == "dev.firezone.client1.sign-in" && subject.user == "fz-member")
        return polkit.Result.AUTH_ADMIN;
});
''')
        self.assertDBusError(self.sign_in(), 'org.freedesktop.DBus.Error.InteractiveAuthorizationRequired')
        self.assertDBusError(self.sign_in(interactive=True), ACCESS_DENIED)
        self.assertEqual(self.state(), 'signed-out')

    def test_without_polkitd_only_root_is_allowed(self):
        self.bed.stop_polkitd()
        r = self.sign_in()
        self.assertDBusError(r, ACCESS_DENIED)
        self.assertIn('polkit is not running', r['message'])
        self.assertEqual(self.state(), 'signed-out')
        self.assertOk(self.sign_in('root'))
        self.assertEqual(self.state(), 'connecting')
        self.assertDBusError(self.agent('fz-member').call('SignOut'), ACCESS_DENIED)
        self.assertEqual(self.state(), 'connecting')
        self.assertOk(self.agent('root').call('SignOut'))
        self.assertEqual(self.state(), 'signed-out')

    def test_daemon_asks_polkit_about_the_bus_name(self):
        # Watch what the daemon sends to polkit: a system-bus-name subject with the caller's
        # unique name (never unix-process), the action, and the interactive flag as given.
        monitor = self.bed.agent('root')
        self.assertOk(monitor.become_monitor(["type='method_call',interface='org.freedesktop.PolicyKit1.Authority'"]))
        member = self.agent('fz-member')
        unique = member.request(op='unique_name')['ok']
        self.assertOk(self.sign_in())
        self.assertOk(self.sign_in(interactive=True))
        seen = self.assertOk(monitor.monitored('CheckAuthorization', count=2))
        calls = [c for c in seen if c['member'] == 'CheckAuthorization']
        self.assertEqual(len(calls), 2, calls)
        for call, flags in zip(calls, (0, 1)):
            subject, action, details, pk_flags, cancel = call['args']
            self.assertEqual(subject, ['system-bus-name', {'name': unique}])
            self.assertEqual(action, 'dev.firezone.client1.sign-in')
            self.assertEqual(pk_flags, flags)
        self.assertEqual(calls[0]['sender'], self.bed.name_owner(BUS_NAME))


class PolkitFaults(ApiTestCase):
    """Fault injection with python3-dbusmock's polkitd template (a mock: the real polkitd cannot
    be made to hang). Only used for timing; who-may-do-what is tested against the real one."""

    def test_hanging_polkit_does_not_block_and_pending_checks_are_limited(self):
        mock = self.bed.start_mock_polkitd()
        mock('SimulateHang', '(true,)', '(b)')
        a = self.agent('fz-member')
        first = a.start_call('SignIn', sign_in_args(quote(self.secret(TOKEN))), '(sa{sv})')
        # Calls on one connection are handled in order: once Status answers, the daemon has sent
        # its CheckAuthorization and is waiting for it without blocking.
        self.assertEqual(self.assertOk(a.call('Status'))[0]['state'], 'signed-out')
        self.assertTrue(mock('HaveHangingCalls')[0])
        # Another client is served while polkit hangs.
        self.assertEqual(self.status('fz-member')['state'], 'signed-out')

        # 8 checks may be pending per client; the 9th is refused at once.
        more = [a.start_call('SignIn', sign_in_args(quote(TOKEN)), '(sa{sv})') for _ in range(7)]
        over = a.call('SignIn', sign_in_args(quote(TOKEN)), '(sa{sv})')
        self.assertDBusError(over, 'org.freedesktop.DBus.Error.LimitsExceeded')
        # A different client still gets its own check.
        root_call = self.agent('root').start_call('SignOut')
        self.assertEqual(self.state(), 'signed-out')

        # polkit answers "no": everyone is refused and nothing changed.
        mock('ReleaseHangingCalls')
        for cid in [first] + more:
            self.assertDBusError(a.finish_call(cid), ACCESS_DENIED)
        self.assertDBusError(self.agent('root').finish_call(root_call), ACCESS_DENIED)
        self.assertEqual(self.state(), 'signed-out')

        # And once it says yes, the same call goes through.
        mock('SimulateHang', '(false,)', '(b)')
        mock('SetAllowed', "(['dev.firezone.client1.sign-in'],)", '(as)')
        self.assertOk(self.sign_in())
        self.assertEqual(self.state(), 'connecting')
