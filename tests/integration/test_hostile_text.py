# SPDX-License-Identifier: Apache-2.0
"""Every method call gets an answer, whatever text it carries (#18).

sd-bus refuses to send a message that is not valid UTF-8; an error sentence cut inside a
character once left SignIn callers without any reply. Here every method gets hostile
strings — long non-ASCII keys and values cut at every byte offset, combining marks, RTL
overrides, control characters — as a member and as root, and must answer within 1 s with
a reply or a D-Bus error whose text is valid UTF-8 (GDBus would fail the call otherwise)."""

from fzbed import BedTestCase
from test_api import ERR, TOKEN, quote, sign_in_args

TIMEOUT_MS = 1000
# What GDBus reports when no reply came in time (G_IO_ERROR_TIMED_OUT), or the bus did.
NO_ANSWER = ('g-io-error-quark.24', 'org.freedesktop.DBus.Error.NoReply', 'org.freedesktop.DBus.Error.Timeout')

# Multi-byte characters of 2, 3 and 4 bytes, shifted by 0..3 ASCII bytes so that any byte
# limit falls inside a character for some of them.
PIECES = ['é', '€', '𝄞', 'é\u0301\u0301', '\u202eevil\u202c', 'اختبار', '\u200b\u200d']
HOSTILE = [prefix + piece * n for prefix in ('', 'a', 'ab', 'abc') for piece in PIECES for n in (1, 40, 300)]
CONTROL = ['a\x01b', 'tab\tin', 'new\nline', 'esc\x1b[31mred', 'del\x7f', 'c1\u0085x']


def variant_text(s):
    return quote(s)


class HostileText(BedTestCase):
    def agent(self, user):
        cache = self.__dict__.setdefault('_agents', {})
        if user not in cache:
            cache[user] = self.bed.agent(user)
        return cache[user]

    def call(self, user, method, args=None, sig='()', **kw):
        r = self.agent(user).call(method, args, sig, timeout_ms=TIMEOUT_MS, **kw)
        self.assertNotIn(r.get('error'), NO_ANSWER, f'{method} from {user} got no answer within 1 s: {args!r:.200}')
        if 'error' in r:
            self.assertIsInstance(r['message'], str)
            r['message'].encode('utf-8')  # valid: GDBus decoded it
        return r

    def sign_in_with(self, user, options):
        token = self.secret(TOKEN)
        return self.call(user, 'SignIn', sign_in_args(quote(token), options), '(sa{sv})')

    def test_sign_in_with_hostile_option_keys(self):
        for user in ('fz-member', 'root'):
            for key in HOSTILE + CONTROL:
                r = self.sign_in_with(user, {key: "'x'"})
                self.assertEqual(r.get('error'), ERR + 'InvalidArgument', key)
                self.assertIn('Unknown option', r['message'])
                # The quoted key is cut to at most 64 bytes plus an ellipsis, never mid-character.
                quoted = r['message'].split('"')[1]
                self.assertLessEqual(len(quoted.encode()), 64 + len('…'.encode()))

    def test_sign_in_with_hostile_option_values(self):
        for user in ('fz-member', 'root'):
            for value in [c for c in CONTROL if '\t' not in c]:  # a tab is display text
                for key in ('account-slug', 'actor-name', 'api-url'):
                    r = self.sign_in_with(user, {key: variant_text(value)})
                    self.assertEqual(r.get('error'), ERR + 'InvalidArgument', (key, value))
            for value in HOSTILE:
                r = self.sign_in_with(user, {'actor-name': variant_text(value)})
                if len(value.encode()) > 256:
                    self.assertEqual(r.get('error'), ERR + 'InvalidArgument')
                else:
                    # Printable, if odd, Unicode is a valid display name.
                    self.assertIn('ok', r, r)
                    st = self.call(user, 'Status')['ok'][0]
                    self.assertEqual(st['actor-name'], value)
                r = self.sign_in_with(user, {'api-url': variant_text('wss://' + value)})
                self.assertEqual(r.get('error'), ERR + 'InvalidArgument')
                # A value of the wrong type, with a hostile type-name, answers too.
                r = self.sign_in_with(user, {'account-slug': '@as [' + variant_text(value) + ']'})
                self.assertEqual(r.get('error'), ERR + 'InvalidArgument')
            self.call('root', 'SignOut')

    def test_hostile_tokens(self):
        for user in ('fz-member', 'root'):
            for value in HOSTILE + CONTROL:
                r = self.call(user, 'SignIn', sign_in_args(quote(value)), '(sa{sv})')
                self.assertEqual(r.get('error'), ERR + 'InvalidToken', value)

    def test_every_method_with_unexpected_hostile_arguments(self):
        for user in ('fz-member', 'root'):
            for method in ('SignOut', 'Reconnect', 'Status', 'ListResources'):
                for value in HOSTILE[::5] + CONTROL:
                    r = self.call(user, method, f'({quote(value)},)', '(s)')
                    self.assertEqual(r.get('error'), 'org.freedesktop.DBus.Error.InvalidArgs', method)
                # and the plain call still works
                r = self.call(user, method)
                self.assertTrue('ok' in r or r.get('error', '').startswith(ERR), r)

    def test_properties_with_hostile_names(self):
        for user in ('fz-member', 'root'):
            for value in HOSTILE[::5] + CONTROL:
                r = self.call(user, 'Get', f"('dev.firezone.Client1', {quote(value)})", '(ss)',
                              iface='org.freedesktop.DBus.Properties')
                self.assertIn('error', r)
