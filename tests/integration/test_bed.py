# SPDX-License-Identifier: Apache-2.0
"""Acceptance of the foundation: the real bus with the project's policy file, real polkitd
with the project's actions and rules, and the daemon skeleton from the build tree."""

import signal

from fzbed import BUS_NAME, BedTestCase


def check_authorization(bed, agent, action_id):
    """Ask the real polkitd (as root, like the daemon does) about the agent's connection."""
    unique = agent.request(op='unique_name')['ok']
    root = bed.agent('root')
    r = root.call('CheckAuthorization',
                  f"(('system-bus-name', {{'name': <'{unique}'>}}), '{action_id}', @a{{ss}} {{}}, uint32 0, '')",
                  '((sa{sv})sa{ss}us)', iface='org.freedesktop.PolicyKit1.Authority',
                  path='/org/freedesktop/PolicyKit1/Authority', dest='org.freedesktop.PolicyKit1')
    ok = r.get('ok')
    if ok is None:
        raise AssertionError(f'CheckAuthorization failed: {r}')
    is_authorized, is_challenge, _details = ok[0]
    return is_authorized, is_challenge


class BusPolicy(BedTestCase):
    def test_root_can_ping(self):
        self.assertOk(self.bed.agent('root').ping())

    def test_member_can_ping(self):
        self.assertOk(self.bed.agent('fz-member').ping())

    def test_member_can_introspect(self):
        r = self.assertOk(self.bed.agent('fz-member').call('Introspect', iface='org.freedesktop.DBus.Introspectable'))
        self.assertIn('<node', r[0])

    def test_outsider_is_refused_by_the_bus(self):
        a = self.bed.agent('fz-outsider')
        self.assertDBusError(a.ping(), 'org.freedesktop.DBus.Error.AccessDenied')
        self.assertDBusError(a.call('Introspect', iface='org.freedesktop.DBus.Introspectable'),
                             'org.freedesktop.DBus.Error.AccessDenied')

    def test_member_cannot_call_other_interfaces(self):
        # Only our interface, Properties, Introspectable and Peer are open to the group.
        a = self.bed.agent('fz-member')
        self.assertDBusError(a.call('Frobnicate', iface='org.example.NotOurs'), 'org.freedesktop.DBus.Error.AccessDenied')

    def test_only_root_may_own_the_name(self):
        self.bed.stop_daemon()
        for user in ('fz-member', 'fz-outsider'):
            self.assertDBusError(self.bed.agent(user).request(op='own', name=BUS_NAME),
                                 'org.freedesktop.DBus.Error.AccessDenied')
        self.assertIsNone(self.bed.name_owner(BUS_NAME))
        # 1 = DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER
        self.assertEqual(self.assertOk(self.bed.agent('root').request(op='own', name=BUS_NAME)), 1)


class Polkit(BedTestCase):
    START_DAEMON = False

    def test_member_may_sign_in(self):
        self.assertEqual(check_authorization(self.bed, self.bed.agent('fz-member'), 'dev.firezone.client1.sign-in'),
                         (True, False))

    def test_outsider_may_not_sign_in(self):
        # Not authorized; "challenge" because the default is auth_admin_keep: an administrator
        # could approve it through an authentication agent (there is none in the bed).
        self.assertEqual(check_authorization(self.bed, self.bed.agent('fz-outsider'), 'dev.firezone.client1.sign-in'),
                         (False, True))

    def test_member_may_sign_out_and_reconnect(self):
        member = self.bed.agent('fz-member')
        for action in ('dev.firezone.client1.sign-out', 'dev.firezone.client1.reconnect'):
            self.assertEqual(check_authorization(self.bed, member, action), (True, False), action)

    def test_nobody_may_configure_without_admin(self):
        for user in ('fz-member', 'fz-outsider'):
            self.assertEqual(check_authorization(self.bed, self.bed.agent(user), 'dev.firezone.client1.configure'),
                             (False, True), user)


class DaemonSkeleton(BedTestCase):
    def test_name_and_object_are_exported(self):
        self.assertIsNotNone(self.bed.name_owner(BUS_NAME))
        xml = self.assertOk(self.bed.agent('root').call('Introspect', iface='org.freedesktop.DBus.Introspectable',
                                                        path='/dev/firezone'))[0]
        self.assertIn('<node name="Client1"', xml)

    def test_sigterm_exits_cleanly(self):
        self.assertEqual(self.bed.stop_daemon(signal.SIGTERM), 0)
        self.assertIsNone(self.bed.name_owner(BUS_NAME))
        self.assertIn('Exiting', self.bed.daemon.output())

    def test_sigint_exits_cleanly(self):
        self.assertEqual(self.bed.stop_daemon(signal.SIGINT), 0)
        self.assertIsNone(self.bed.name_owner(BUS_NAME))

    def test_name_taken_is_a_clear_error(self):
        first = self.bed.daemon
        rc, out = self.bed.run_daemon_to_exit()
        self.assertNotEqual(rc, 0)
        self.assertIn('already owned by process %d' % first.pid, out)
        self.assertIn('systemctl stop firezone-client', out)
        self.assertTrue(first.running())

    def test_bus_unreachable_is_a_clear_error(self):
        rc, out = self.bed.run_daemon_to_exit(env={'DBUS_SYSTEM_BUS_ADDRESS': 'unix:path=/run/nonexistent/socket'})
        self.assertNotEqual(rc, 0)
        self.assertIn('Failed to connect to the system bus (unix:path=/run/nonexistent/socket)', out)
        self.assertIn('Is dbus running?', out)

    def test_non_root_may_not_own_the_name(self):
        self.bed.stop_daemon()
        r = self.bed.run_as('fz-member', [self.bed.build_path('daemon/firezone-client-tunnel')])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('lets only root own it', r.stderr)

    def test_token_is_not_accepted_in_argv(self):
        rc, out = self.bed.run_daemon_to_exit(args=['--token=s3cr3t-in-argv'])
        self.assertNotEqual(rc, 0)
        self.assertNotIn('s3cr3t', out)
        rc, out = self.bed.run_daemon_to_exit(args=['s3cr3t-positional'])
        self.assertNotEqual(rc, 0)
        self.assertNotIn('s3cr3t', out)
        self.assertIn('never passed on the command line', out)
