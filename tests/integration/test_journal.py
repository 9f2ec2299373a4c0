# SPDX-License-Identifier: Apache-2.0
"""Structured journal entries (issue #15): every state change is an entry with a
MESSAGE_ID per state entered and FIREZONE_* fields, sent over the journal's native
protocol when stderr is the journal (JOURNAL_STREAM), as under systemd.

The bed stands in for journald: a datagram socket at /run/systemd/journal/socket (the
bed's private /run) receives what sd_journal_sendv() sends, and the daemon's stderr is a
file that JOURNAL_STREAM names. The package suite reads the real journal
(test_systemd.py)."""

import os
import re
import select
import socket
import struct

from portalbed import LocalPortal
from test_api import ApiTestCase

MESSAGE_IDS = {}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'daemon', 'message-ids.h')) as f:
    for name, value in re.findall(r'#define FZD_MESSAGE_(\w+)\s+"([0-9a-f]{32})"', f.read()):
        MESSAGE_IDS[name.lower().replace('_', '-')] = value
JOURNAL_SOCKET = '/run/systemd/journal/socket'


def parse_native(data):
    """The journal's native protocol: KEY=value lines, or KEY, newline, 64-bit little-endian
    length, the value, newline."""
    fields, i = {}, 0
    while i < len(data):
        nl = data.index(b'\n', i)
        line = data[i:nl]
        if b'=' in line:
            key, value = line.split(b'=', 1)
            i = nl + 1
        else:
            key = line
            (length,) = struct.unpack('<Q', data[nl + 1:nl + 9])
            value = data[nl + 9:nl + 9 + length]
            i = nl + 9 + length + 1
        fields[key.decode()] = value.decode()
    return fields


class Journal(ApiTestCase):
    START_DAEMON = False

    def setUp(self):
        super().setUp()
        os.makedirs(os.path.dirname(JOURNAL_SOCKET), exist_ok=True)
        self.journal = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.journal.bind(JOURNAL_SOCKET)
        self.addCleanup(self.journal.close)
        self.entries = []
        self.portal = LocalPortal(self.bed)
        self.addCleanup(self.portal.stop)
        self.token = self.secret(self.portal.token)
        # stderr goes to a file that JOURNAL_STREAM names, as systemd sets it for a unit.
        self.bed._daemon_count += 1
        name = f'daemon-{self.bed._daemon_count}'
        log_path = os.path.join(self.bed.dir, f'{name}.log')
        open(log_path, 'ab').close()
        st = os.stat(log_path)
        env = self.bed.daemon_env({'FIREZONE_API_URL': self.portal.ws_url,
                                   'JOURNAL_STREAM': f'{st.st_dev}:{st.st_ino}'})
        self.bed.daemon = self.bed._spawn(name, self.bed.daemon_argv([]), env=env)
        self.bed.wait_for_name('dev.firezone.Client1', self.bed.daemon)

    def wait_entry(self, message_id, timeout=20):
        """The next entry with that MESSAGE_ID (earlier ones are kept in self.entries)."""
        for e in self.entries:
            if e.get('MESSAGE_ID') == message_id and not e.get('_seen'):
                e['_seen'] = True
                return e
        while True:
            r, _, _ = select.select([self.journal], [], [], timeout)
            if not r:
                self.fail(f'no journal entry {message_id} within {timeout} s; got {self.entries}')
            e = parse_native(self.journal.recv(1 << 20))
            self.entries.append(e)
            if e.get('MESSAGE_ID') == message_id:
                e['_seen'] = True
                return e

    def test_state_changes_are_structured_entries(self):
        slug = 'acme\tcorp'   # a tab is display text the bus API allows: the field carries it escaped
        self.assertOk(self.sign_in(token=self.token, options={'account-slug': f"'{slug}'"}))
        e = self.wait_entry(MESSAGE_IDS['connecting'])
        self.assertEqual({k: e.get(k) for k in ('FIREZONE_STATE', 'FIREZONE_PREVIOUS_STATE', 'FIREZONE_REASON',
                                                'FIREZONE_MODE', 'FIREZONE_ACCOUNT', 'PRIORITY',
                                                'SYSLOG_IDENTIFIER')},
                         {'FIREZONE_STATE': 'connecting', 'FIREZONE_PREVIOUS_STATE': 'signed-out',
                          'FIREZONE_REASON': 'sign-in', 'FIREZONE_MODE': 'interactive',
                          'FIREZONE_ACCOUNT': 'acme\\tcorp', 'PRIORITY': '6',
                          'SYSLOG_IDENTIFIER': 'firezone-client-tunnel'})
        self.assertEqual(e['MESSAGE'], 'State: signed-out → connecting (sign-in).')
        e = self.wait_entry(MESSAGE_IDS['connected'])
        self.assertEqual((e['FIREZONE_STATE'], e['FIREZONE_PREVIOUS_STATE']), ('connected', 'connecting'))
        self.assertOk(self.agent('fz-member').call('Reconnect'))
        e = self.wait_entry(MESSAGE_IDS['reconnecting'])
        self.assertEqual((e['FIREZONE_STATE'], e['FIREZONE_REASON']), ('reconnecting', 'reconnect'))
        self.wait_entry(MESSAGE_IDS['connected'])
        self.assertOk(self.agent('fz-member').call('SignOut'))
        e = self.wait_entry(MESSAGE_IDS['signed-out'])
        self.assertEqual((e['FIREZONE_STATE'], e['FIREZONE_PREVIOUS_STATE']), ('signed-out', 'connected'))
        # The account that was signed out of.
        self.assertEqual(e.get('FIREZONE_ACCOUNT'), 'acme\\tcorp')
        # The plain lines still go to the stream, with their priority.
        self.assertIn('<6>Connected to the Firezone portal', self.bed.daemon.output())
        self.assertEqual(len(set(MESSAGE_IDS.values())), 4)

    def test_every_message_id_is_documented(self):
        top = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
        docs = {}
        for rel in ('packaging/firezone-client.catalog', 'man/firezone-client-tunnel.8', 'README.md'):
            with open(os.path.join(top, rel)) as f:
                docs[rel] = f.read()
        for name, mid in MESSAGE_IDS.items():
            self.assertRegex(docs['packaging/firezone-client.catalog'], rf'(?m)^-- {mid}\nSubject: ', name)
            self.assertRegex(docs['man/firezone-client-tunnel.8'], rf'(?m)^{mid}\t{name}$', name)
            self.assertRegex(docs['README.md'], rf'(?m)^\| `{mid}` \| {name} \|$', name)
