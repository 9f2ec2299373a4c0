#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A D-Bus fuzzer for dev.firezone.Client1 (dfuzzer is not in Debian 12).

It speaks the D-Bus wire protocol itself over the system bus socket (EXTERNAL auth as the
user it runs as, unix fd passing negotiated), so that it can send what no binding would:
every method, property and interface of the daemon's object with random and edge-case
values of every D-Bus type, the right and wrong signatures, huge arrays and strings,
deeply nested variants, up to the bus's limit of unix fds — and, to show that the bus
itself stands in front of the daemon, messages the bus must refuse (invalid UTF-8, a NUL
in a string, a bad object path or signature, a boolean that is 2, variants nested past the
limit, more fds than the bus allows, a message over its size limit).

Every call that the bus lets through must be answered (a reply or an error, from the bus
or the daemon) within --deadline seconds; every message that should be refused must make
the bus close the connection. The report (JSON, on stdout or --report) counts calls,
answers, refusals and error names, and lists every late or missing answer and every
unexpected disconnect.

  dbusfuzz.py --seconds N [--seed S] [--deadline 1.0] [--report FILE] [--address unix:path=…]
"""

import argparse
import json
import os
import random
import select
import socket
import struct
import sys
import time

BUS = 'unix:path=/run/dbus/system_bus_socket'
NAME = 'dev.firezone.Client1'
PATH = '/dev/firezone/Client1'
IFACE = 'dev.firezone.Client1'

# The daemon's API (dbus/dev.firezone.Client1.xml).
METHODS = {
    'SignIn': 'sa{sv}',
    'SignOut': '',
    'Reconnect': '',
    'SetInternetResourceEnabled': 'ba{sv}',
    'Status': '',
    'ListResources': '',
}
PROPERTIES = ['State', 'Mode', 'AccountSlug', 'ActorName', 'InterfaceName', 'LastError', 'InternetResourceEnabled',
              'Version']
STANDARD = [
    ('org.freedesktop.DBus.Properties', 'Get', 'ss'),
    ('org.freedesktop.DBus.Properties', 'GetAll', 's'),
    ('org.freedesktop.DBus.Properties', 'Set', 'ssv'),
    ('org.freedesktop.DBus.Introspectable', 'Introspect', ''),
    ('org.freedesktop.DBus.Peer', 'Ping', ''),
    ('org.freedesktop.DBus.Peer', 'GetMachineId', ''),
    ('org.freedesktop.DBus.ObjectManager', 'GetManagedObjects', ''),
]
OPTION_KEYS = ['account-slug', 'actor-name', 'api-url', 'token', 'x', '', 'a' * 300]

BASIC = 'ybnqiuxtdsog'  # and 'h', only where the message carries fds
FIXED_ALIGN = {'y': 1, 'b': 4, 'n': 2, 'q': 2, 'i': 4, 'u': 4, 'x': 8, 't': 8, 'd': 8, 'h': 4,
               's': 4, 'o': 4, 'g': 1, 'a': 4, '(': 8, '{': 8, 'v': 1}
INT_RANGE = {'y': (0, 255), 'n': (-2 ** 15, 2 ** 15 - 1), 'q': (0, 2 ** 16 - 1), 'i': (-2 ** 31, 2 ** 31 - 1),
             'u': (0, 2 ** 32 - 1), 'x': (-2 ** 63, 2 ** 63 - 1), 't': (0, 2 ** 64 - 1)}
INT_FMT = {'y': '<B', 'n': '<h', 'q': '<H', 'i': '<i', 'u': '<I', 'x': '<q', 't': '<Q'}

MAX_MESSAGE = 32 * 1024 * 1024   # the system bus's max_message_size
# Messages the bus must refuse (Fuzzer.refused); the last one is 32 MiB and sent rarely.
REFUSALS = ['utf8', 'nul', 'path', 'signature', 'bool', 'deep-variant', 'fds', 'member', 'array-length', 'too-big']
MAX_FDS = 16                     # the system bus's max_message_unix_fds


class Invalid(Exception):
    pass


# ---- signatures ------------------------------------------------------------------------------

def split_types(sig):
    """'sa{sv}(ii)' -> ['s', 'a{sv}', '(ii)']"""
    out, i = [], 0
    while i < len(sig):
        j = complete_type_end(sig, i)
        out.append(sig[i:j])
        i = j
    return out


def complete_type_end(sig, i):
    c = sig[i]
    if c == 'a':
        return complete_type_end(sig, i + 1)
    if c in '({':
        close = ')' if c == '(' else '}'
        j = i + 1
        while sig[j] != close:
            j = complete_type_end(sig, j)
        return j + 1
    return i + 1


def random_type(rng, depth=0, in_array=False):
    """A random complete type (kept shallow; deep nesting is done on purpose elsewhere)."""
    r = rng.random()
    if depth > 3 or r < 0.55:
        return rng.choice(BASIC)
    if r < 0.72:
        return 'a' + random_type(rng, depth + 1, True)
    if r < 0.82 and in_array is False:
        return 'a{' + rng.choice(BASIC) + random_type(rng, depth + 1) + '}'
    if r < 0.92:
        return '(' + ''.join(random_type(rng, depth + 1) for _ in range(rng.randint(1, 4))) + ')'
    return 'v'


def random_signature(rng):
    return ''.join(random_type(rng) for _ in range(rng.randint(0, 4)))


# ---- values ------------------------------------------------------------------------------------

EDGE_STRINGS = ['', ' ', 'a', 'x' * 255, "'; DROP TABLE", '%s%s%n', '\u2028\u2029', '\u00e9\u4e2d\U0001f600',
                'wss://api.firezone.dev/', 'ws://127.0.0.1:1/', 'http://[::1]/', '../../etc/shadow',
                '\x01\x02\x1b[31m', 'tok-' + 'A' * 4000, '\ufeff', '\uffff', 'demo-token-0123456789']


def random_string(rng, budget):
    r = rng.random()
    if r < 0.4:
        return rng.choice(EDGE_STRINGS)
    if r < 0.7:
        n = rng.randint(0, 64)
        return ''.join(chr(rng.randint(0x20, 0x7e)) for _ in range(n))
    if r < 0.95:
        n = rng.randint(0, 32)
        return ''.join(random_char(rng) for _ in range(n))
    n = min(budget, rng.choice([1024, 65536, 1 << 20]))
    return rng.choice('abc\u00e9') * n


def random_char(rng):
    while True:
        c = rng.randint(1, 0x10FFFF)
        if not 0xD800 <= c <= 0xDFFF:
            return chr(c)


def random_path(rng):
    if rng.random() < 0.3:
        return rng.choice(['/', PATH, PATH + '/x', '/dev', '/org/freedesktop/DBus', '/dev/firezone'])
    return '/' + '/'.join(''.join(rng.choice('abcXYZ_019') for _ in range(rng.randint(1, 8)))
                          for _ in range(rng.randint(1, 5)))


class Gen:
    """Random values for a signature, with edge cases; budget bounds the message size."""

    def __init__(self, rng, budget=1 << 20, fds=0):
        self.rng = rng
        self.budget = budget
        self.fds = fds  # how many fds the message carries: 'h' values index them

    def value(self, t, depth=0):
        rng = self.rng
        c = t[0]
        if c in INT_RANGE:
            lo, hi = INT_RANGE[c]
            return rng.choice([lo, hi, 0, 1, -1 if lo < 0 else 2, rng.randint(lo, hi)])
        if c == 'b':
            return rng.random() < 0.5
        if c == 'd':
            return rng.choice([0.0, -0.0, 1.5, float('inf'), float('-inf'), float('nan'), 1e308, 5e-324,
                               rng.uniform(-1e9, 1e9)])
        if c == 's':
            s = random_string(rng, self.budget)
            self.budget -= len(s)
            return s
        if c == 'o':
            return random_path(rng)
        if c == 'g':
            return random_signature(rng)[:255]
        if c == 'h':
            return rng.randrange(self.fds) if self.fds else 0
        if c == 'v':
            if depth < 8 and rng.random() < 0.2:
                return ('v', self.value('v', depth + 1))
            inner = random_type(rng)
            return (inner, self.value(inner, depth + 1))
        if c == '(':
            return tuple(self.value(x, depth + 1) for x in split_types(t[1:-1]))
        if c == 'a':
            elem = t[1:]
            r = rng.random()
            if r < 0.3 or self.budget <= 0:
                n = 0
            elif r < 0.95:
                n = rng.randint(1, 8)
            else:  # a long one (the megabyte ones: Fuzzer.huge)
                n = rng.choice([100, 1000])
            out = []
            for _ in range(n):
                if self.budget <= 0:
                    break
                if elem[0] == '{':
                    k, v = split_types(elem[1:-1])
                    out.append((self.value(k, depth + 1), self.value(v, depth + 1)))
                else:
                    out.append(self.value(elem, depth + 1))
                self.budget -= 8
            return out
        raise ValueError(t)

    def options(self):
        """a{sv} as the daemon reads it: known keys with the right and wrong types."""
        out = []
        for _ in range(self.rng.choice([0, 0, 1, 2, 3, 10, 1000])):
            k = self.rng.choice(OPTION_KEYS + [random_string(self.rng, 64)])
            vt = self.rng.choice(['s', 's', 'b', 'u', 'as', 'v', 'a{sv}', random_type(self.rng)])
            out.append((k, (vt, self.value(vt))))
        return out


# ---- marshalling ----------------------------------------------------------------------------------

class Writer:
    def __init__(self):
        self.b = bytearray()

    def align(self, n):
        self.b += b'\0' * (-len(self.b) % n)

    def put(self, t, v):
        c = t[0]
        self.align(FIXED_ALIGN[c])
        if c in INT_FMT:
            self.b += struct.pack(INT_FMT[c], v)
        elif c == 'b':
            self.b += struct.pack('<I', v if isinstance(v, int) and not isinstance(v, bool) else int(bool(v)))
        elif c == 'd':
            self.b += struct.pack('<d', v)
        elif c == 'h':
            self.b += struct.pack('<I', v)
        elif c in 'so':
            data = v if isinstance(v, bytes) else v.encode('utf-8', 'surrogatepass')
            self.b += struct.pack('<I', len(data)) + data + b'\0'
        elif c == 'g':
            data = v if isinstance(v, bytes) else v.encode()
            self.b += bytes([len(data) & 0xff]) + data + b'\0'
        elif c == 'v':
            inner, value = v
            self.put('g', inner)
            self.put(inner, value)
        elif c == '(':
            for x, val in zip(split_types(t[1:-1]), v):
                self.put(x, val)
        elif c == '{':
            k, val = split_types(t[1:-1])
            self.put(k, v[0])
            self.put(val, v[1])
        elif t == 'ay' and isinstance(v, (bytes, bytearray)):
            self.b += struct.pack('<I', len(v)) + v
        elif c == 'a':
            elem = t[1:]
            at = len(self.b)
            self.b += b'\0\0\0\0'
            self.align(FIXED_ALIGN[elem[0]])
            start = len(self.b)
            for x in v:
                self.put(elem, x)
            struct.pack_into('<I', self.b, at, len(self.b) - start)
        else:
            raise ValueError(t)

    def put_all(self, sig, values):
        for t, v in zip(split_types(sig), values):
            self.put(t, v)


def message(serial, *, path, member, iface=None, dest=NAME, sig='', body=b'', flags=0, n_fds=0, mtype=1):
    fields = [(1, ('o', path)), (3, ('s', member)), (6, ('s', dest))]
    if iface:
        fields.append((2, ('s', iface)))
    if sig:
        fields.append((8, ('g', sig)))
    if n_fds:
        fields.append((9, ('u', n_fds)))
    w = Writer()
    w.b += struct.pack('<BBBBII', ord('l'), mtype, flags, 1, len(body), serial)
    w.put('a(yv)', fields)
    w.align(8)
    return bytes(w.b) + body


# ---- the connection ---------------------------------------------------------------------------------

class Closed(Exception):
    pass


class Connection:
    def __init__(self, address):
        path = address.split('unix:path=', 1)[1].split(',')[0]
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.buf = b''
        self.serial = 0
        self._auth()
        self.unique = self.call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'Hello')

    def _line(self):
        while b'\r\n' not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise Closed('closed during auth')
            self.buf += chunk
        line, self.buf = self.buf.split(b'\r\n', 1)
        return line

    def _auth(self):
        self.sock.sendall(b'\0AUTH EXTERNAL ' + str(os.getuid()).encode().hex().encode() + b'\r\n')
        if not self._line().startswith(b'OK '):
            raise RuntimeError('EXTERNAL auth refused')
        self.sock.sendall(b'NEGOTIATE_UNIX_FD\r\n')
        if self._line() != b'AGREE_UNIX_FD':
            raise RuntimeError('unix fd passing refused')
        self.sock.sendall(b'BEGIN\r\n')

    def next_serial(self):
        self.serial += 1
        return self.serial

    def send(self, data, fds=()):
        if fds:
            n = self.sock.sendmsg([data[:4096]], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                                    struct.pack(f'{len(fds)}i', *fds))])
            data = data[n:]
        if data:
            self.sock.sendall(data)

    def read_message(self, timeout):
        """The next message, parsed as far as needed: (type, serial, reply_serial, error name)."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 16:
                body_len, _, fields_len = struct.unpack_from('<III', self.buf, 4)
                header = 16 + fields_len + (-(16 + fields_len) % 8)
                total = header + body_len
                if len(self.buf) >= total:
                    msg, self.buf = self.buf[:total], self.buf[total:]
                    return parse_header(msg)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return None
            try:
                chunk = self.sock.recv(1 << 16)
            except ConnectionResetError:
                chunk = b''
            if not chunk:
                raise Closed('closed by the bus')
            self.buf += chunk

    def call_sync(self, dest, path, iface, member, sig='', values=()):
        w = Writer()
        w.put_all(sig, values)
        serial = self.next_serial()
        self.send(message(serial, path=path, member=member, iface=iface, dest=dest, sig=sig, body=bytes(w.b)))
        while True:
            m = self.read_message(10)
            if m is None:
                raise RuntimeError(f'no answer to {member}')
            if m['reply_serial'] == serial:
                if m['type'] == 3:
                    raise RuntimeError(f'{member}: {m["error"]}')
                return m.get('first_string')

    def close(self):
        self.sock.close()


def parse_header(msg):
    mtype, _flags, _version, body_len, serial, fields_len = struct.unpack_from('<xBBBIII', msg, 0)
    out = {'type': mtype, 'serial': serial, 'reply_serial': None, 'error': None}
    pos, end = 16, 16 + fields_len
    while pos < end:
        pos += -pos % 8
        code = msg[pos]
        siglen = msg[pos + 1]
        sig = msg[pos + 2:pos + 2 + siglen].decode()
        pos += 3 + siglen
        if sig in ('s', 'o'):
            pos += -pos % 4
            n = struct.unpack_from('<I', msg, pos)[0]
            value = msg[pos + 4:pos + 4 + n].decode('utf-8', 'replace')
            pos += 5 + n
        elif sig == 'g':
            n = msg[pos]
            value = msg[pos + 1:pos + 1 + n].decode()
            pos += 2 + n
        elif sig == 'u':
            pos += -pos % 4
            value = struct.unpack_from('<I', msg, pos)[0]
            pos += 4
        else:
            break
        if code == 5:
            out['reply_serial'] = value
        elif code == 4:
            out['error'] = value
        elif code == 8:
            out['signature'] = value
    body_at = 16 + fields_len + (-(16 + fields_len) % 8)
    if out.get('signature', '').startswith('s') and body_len >= 4:
        n = struct.unpack_from('<I', msg, body_at)[0]
        out['first_string'] = msg[body_at + 4:body_at + 4 + n].decode('utf-8', 'replace')
    return out


# ---- what to send -------------------------------------------------------------------------------------

class Call:
    def __init__(self, kind, member, data, fds=(), expect='answer', no_reply=False):
        self.kind, self.member, self.data, self.fds = kind, member, data, list(fds)
        self.expect = expect  # 'answer' (within the deadline) or 'refused' (the bus drops us)
        self.no_reply = no_reply


class Fuzzer:
    def __init__(self, rng, address):
        self.rng = rng
        self.address = address
        self.conn = None
        self.devnull = os.open('/dev/null', os.O_RDONLY | os.O_CLOEXEC)
        self.huge = {}

    def body(self, sig, values):
        w = Writer()
        w.put_all(sig, values)
        return bytes(w.b)

    def flags(self):
        r = self.rng.random()
        if r < 0.05:
            return 0x1  # NO_REPLY_EXPECTED
        if r < 0.25:
            return 0x4  # ALLOW_INTERACTIVE_AUTHORIZATION
        if r < 0.3:
            return 0x2  # NO_AUTO_START
        return 0

    def build(self, serial, kind, *, path=PATH, iface=IFACE, member, sig, values, flags=None, n_fds=0):
        flags = self.flags() if flags is None else flags
        body = self.body(sig, values)
        return message(serial, path=path, member=member, iface=iface, sig=sig, body=body, flags=flags,
                       n_fds=n_fds), flags

    def next_call(self, serial, allow_refused=True):
        rng = self.rng
        kind = rng.choices(['method', 'wrong-signature', 'properties', 'other', 'huge', 'fds', 'nested',
                            'refused'], weights=[34, 18, 14, 10, 4, 6, 6, 8 if allow_refused else 0])[0]
        gen = Gen(rng)
        if kind == 'method':
            member = rng.choice(list(METHODS))
            sig = METHODS[member]
            values = []
            if member == 'SignIn':
                values = [gen.value('s'), gen.options()]
            elif member == 'SetInternetResourceEnabled':
                values = [rng.random() < 0.5, gen.options()]
            data, flags = self.build(serial, kind, member=member, sig=sig, values=values,
                                     iface=IFACE if rng.random() < 0.9 else None)
            return Call(kind, member, data, no_reply=bool(flags & 1))
        if kind == 'wrong-signature':
            member = rng.choice(list(METHODS) + ['NoSuchMethod', 'signin', 'SignIn2', 'x' * 255])
            sig = random_signature(rng)
            if sig == METHODS.get(member):
                sig += 'i'
            values = [gen.value(t) for t in split_types(sig)]
            data, flags = self.build(serial, kind, member=member, sig=sig, values=values)
            return Call(kind, member, data, no_reply=bool(flags & 1))
        if kind == 'properties':
            iface, member, sig = rng.choice(STANDARD[:3])
            names = PROPERTIES + ['NoSuchProperty', '', 'state']
            target = rng.choice([IFACE, IFACE, '', 'org.freedesktop.DBus.Properties', 'no.such.Iface'])
            if member == 'Get':
                values = [target, rng.choice(names)]
            elif member == 'GetAll':
                values = [target]
            else:
                vt = random_type(rng)
                values = [target, rng.choice(names), (vt, gen.value(vt))]
            if rng.random() < 0.2:  # and with a wrong signature
                sig = random_signature(rng)
                values = [gen.value(t) for t in split_types(sig)]
            data, flags = self.build(serial, kind, iface=iface, member=member, sig=sig, values=values)
            return Call(kind, member, data, no_reply=bool(flags & 1))
        if kind == 'other':
            iface, member, sig = rng.choice(STANDARD[3:] + [(IFACE, 'Nope', ''), ('no.such.Iface', 'Status', ''),
                                                            ('org.freedesktop.DBus.Peer', 'Ping', 's')])
            values = [gen.value(t) for t in split_types(sig)]
            path = PATH if rng.random() < 0.6 else random_path(rng)
            data, flags = self.build(serial, kind, path=path, iface=iface, member=member, sig=sig, values=values)
            return Call(kind, member, data, no_reply=bool(flags & 1))
        if kind == 'huge':
            # Arrays and strings of megabytes, below the bus's message limit.
            member = rng.choice(['SignIn', 'SetInternetResourceEnabled', 'Status', 'NoSuchMethod'])
            sig, body = self.huge_body(rng.choice(['token', 'options', 'bytes', 'strings']),
                                       rng.choice([100000, 500000, 2000000]))
            data = message(serial, path=PATH, member=member, iface=IFACE, sig=sig, body=body)
            return Call(kind, member, data)
        if kind == 'fds':
            n = rng.randint(1, MAX_FDS)
            member = rng.choice(list(METHODS) + ['NoSuchMethod'])
            gen.fds = n
            sig = rng.choice(['h', 'ah', 'sa{sv}', 'hh', '', 'a{sh}'])
            values = [gen.value(t) for t in split_types(sig)]
            data, flags = self.build(serial, kind, member=member, sig=sig, values=values, n_fds=n)
            return Call(kind, member, data, fds=[self.devnull] * n, no_reply=bool(flags & 1))
        if kind == 'nested':
            depth = rng.randint(1, 20)
            value = ('s', 'deep')
            for _ in range(depth):
                value = ('v', value)
            member = rng.choice(['SignIn', 'SetInternetResourceEnabled'])
            first = ('s', 'demo-token') if member == 'SignIn' else ('b', False)
            sig = first[0] + 'a{sv}'
            data, flags = self.build(serial, kind, member=member, sig=sig,
                                     values=[first[1], [('account-slug', value), ('x', value)]])
            return Call(kind, member, data, no_reply=bool(flags & 1))
        return self.refused(serial)

    def huge_body(self, which, n):
        """Built once per size (building them in Python is what would take the time)."""
        key = (which, n)
        if key not in self.huge:
            if which == 'token':
                sig, values = 'sa{sv}', ['t' * n, []]
            elif which == 'options':
                sig, values = 'ba{sv}', [True, [(f'k{i}', ('s', 'v')) for i in range(n // 20)]]
            elif which == 'bytes':
                sig, values = 'ay', [b'\x07' * n]
            else:
                sig, values = 'as', [['x' * 50] * (n // 60)]
            self.huge[key] = (sig, self.body(sig, values))
        return self.huge[key]

    def refused(self, serial, what=None):
        """A message the bus must not let through: it closes the connection. The random loop
        leaves out the one over 32 MiB: sent between other calls it was once seen answered (a
        method return to its serial) in a CI run, not reproduced since and not explained yet;
        the refusal of every kind, that one included, is checked on its own by --probe-refusals
        (test_the_bus_refuses_invalid_messages_before_the_daemon_sees_them)."""
        rng = self.rng
        what = what or rng.choice(REFUSALS[:-1])
        if what == 'utf8':
            data, _ = self.build(serial, what, member='SignIn', sig='sa{sv}',
                                 values=[rng.choice([b'\xff\xfe', b'tok\xc0\xaf', b'\xed\xa0\x80', b'a\x80']), []])
        elif what == 'nul':
            data, _ = self.build(serial, what, member='SignIn', sig='sa{sv}', values=['tok\0en', []])
        elif what == 'path':
            data, _ = self.build(serial, what, member='SignIn', sig='oa{sv}',
                                 values=[rng.choice(['//x', 'x', '/a/', '/a-b']), []])
        elif what == 'signature':
            data, _ = self.build(serial, what, member='Status', sig='g',
                                 values=[rng.choice(['a', '(i', 'a{vs}', '{ss}', 'z'])])
        elif what == 'bool':
            data, _ = self.build(serial, what, member='SetInternetResourceEnabled', sig='ba{sv}', values=[2, []])
        elif what == 'deep-variant':
            value = ('s', 'deep')
            for _ in range(rng.randint(70, 100)):
                value = ('v', value)
            data, _ = self.build(serial, what, member='SignIn', sig='sa{sv}', values=['t', [('x', value)]])
        elif what == 'fds':
            n = rng.randint(MAX_FDS + 1, 64)
            data, _ = self.build(serial, what, member='Status', sig='', values=[], n_fds=n, flags=0)
            return Call('refused:' + what, 'Status', data, fds=[self.devnull] * n, expect='refused')
        elif what == 'member':
            data, _ = self.build(serial, what, member=rng.choice(['1abc', 'a.b', '', 'a' * 300]), sig='',
                                 values=[])
        elif what == 'array-length':
            # 's' "t" (8 bytes with padding), then the a{sv}'s length: claim 1 MiB that is not there.
            body = self.body('s', ['t']) + struct.pack('<I', 1 << 20) + b'\0' * 4
            data = message(serial, path=PATH, member='SignIn', iface=IFACE, sig='sa{sv}', body=body)
        else:  # too-big
            if 'too-big' not in self.huge:
                self.huge['too-big'] = self.body('ay', [bytes(MAX_MESSAGE + 1024)])
            data = message(serial, path=PATH, member='SignIn', iface=IFACE, sig='ay', body=self.huge['too-big'])
        return Call('refused:' + what, 'SignIn', data, expect='refused')

    def connect(self):
        if self.conn:
            self.conn.close()
        self.conn = Connection(self.address)

    def run(self, seconds, deadline):
        report = {'calls': 0, 'answered': 0, 'no_reply': 0, 'refused_by_bus': {}, 'errors': {}, 'kinds': {},
                  'late': [], 'unanswered': [], 'unexpected_disconnects': [], 'not_refused': [],
                  'latencies_ms': []}
        end = time.monotonic() + seconds
        self.connect()
        while time.monotonic() < end:
            # A few calls in flight at once, then their answers.
            batch = []
            for i in range(self.rng.choice([1, 1, 2, 4, 8])):
                serial = self.conn.next_serial()
                # A message the bus refuses goes alone: the bus drops the connection, and with
                # it any answer still on its way to us.
                call = self.next_call(serial, allow_refused=i == 0)
                batch.append((serial, call))
                if call.expect == 'refused':
                    break
            pending = {}
            refused = refused_serial = None
            for serial, call in batch:
                report['calls'] += 1
                report['kinds'][call.kind] = report['kinds'].get(call.kind, 0) + 1
                try:
                    self.conn.send(call.data, call.fds)
                except (BrokenPipeError, ConnectionResetError):
                    # The bus closed the connection while we were still writing (a 32 MiB
                    # message): this call is the refused one — its serial, not a stale one.
                    refused, refused_serial = call, serial
                    break
                if call.expect == 'refused':
                    refused, refused_serial = call, serial
                elif call.no_reply:
                    report['no_reply'] += 1
                else:
                    pending[serial] = (call, time.monotonic())
            try:
                while pending:
                    oldest = min(t for _, t in pending.values())
                    m = self.conn.read_message(max(0.0, oldest + deadline - time.monotonic()))
                    if m is None:
                        for serial, (call, t) in pending.items():
                            report['unanswered'].append({'kind': call.kind, 'member': call.member})
                        pending.clear()
                        break
                    if m['reply_serial'] in pending:
                        call, t = pending.pop(m['reply_serial'])
                        ms = (time.monotonic() - t) * 1000
                        report['answered'] += 1
                        report['latencies_ms'].append(round(ms, 3))
                        if ms > deadline * 1000:
                            report['late'].append({'kind': call.kind, 'member': call.member, 'ms': round(ms, 1)})
                        if m['type'] == 3:
                            report['errors'][m['error']] = report['errors'].get(m['error'], 0) + 1
                if refused is not None:
                    # The bus must close the connection without delivering or answering it.
                    while True:
                        m = self.conn.read_message(deadline * 5)
                        if m is None:
                            report['not_refused'].append(refused.kind)
                            break
                        # (Answers to earlier calls sent with NO_REPLY_EXPECTED may still come.)
                        if m['reply_serial'] == refused_serial:
                            report['not_refused'].append(f'{refused.kind} (answered {m["error"] or "ok"})')
                            break
            except Closed:
                if refused is not None:
                    key = refused.kind.split(':', 1)[1]
                    report['refused_by_bus'][key] = report['refused_by_bus'].get(key, 0) + 1
                else:
                    report['unexpected_disconnects'].append([c.kind for _, c in batch])
                for serial, (call, t) in pending.items():
                    report['unanswered'].append({'kind': call.kind, 'member': call.member, 'disconnected': True})
                self.connect()
                continue
            if refused is not None:
                self.connect()
        self.conn.close()
        lat = sorted(report['latencies_ms'])
        report['latency_ms'] = {'max': lat[-1] if lat else 0, 'p99': lat[int(0.99 * (len(lat) - 1))] if lat else 0,
                                'p50': lat[len(lat) // 2] if lat else 0}
        del report['latencies_ms']
        return report


def probe_refusals(address, deadline):
    """Each kind of message the bus must refuse, once, each on a fresh connection: what the bus
    did with it (closed the connection, or answered)."""
    out = {}
    for what in REFUSALS:
        f = Fuzzer(random.Random(0), address)
        f.connect()
        serial = f.conn.next_serial()
        call = f.refused(serial, what)
        try:
            f.conn.send(call.data, call.fds)
            while True:
                m = f.conn.read_message(deadline * 5)
                if m is None:
                    out[what] = 'not refused'
                    break
                if m['reply_serial'] == serial:
                    out[what] = f'answered {m["error"] or "with a reply"}'
                    break
        except (Closed, BrokenPipeError, ConnectionResetError):
            out[what] = 'connection closed by the bus'
        f.conn.close()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--probe-refusals', action='store_true',
                    help='send each kind of message the bus must refuse once and report what happened')
    ap.add_argument('--seconds', type=float, default=10)
    ap.add_argument('--seed', type=int, default=None)
    ap.add_argument('--deadline', type=float, default=1.0)
    ap.add_argument('--address', default=os.environ.get('DBUS_SYSTEM_BUS_ADDRESS', BUS))
    ap.add_argument('--report')
    args = ap.parse_args()
    if args.probe_refusals:
        print(json.dumps(probe_refusals(args.address, args.deadline)))
        return 0
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), 'little')
    fuzzer = Fuzzer(random.Random(seed), args.address)
    t0 = time.monotonic()
    report = fuzzer.run(args.seconds, args.deadline)
    report.update(seed=seed, uid=os.getuid(), seconds=round(time.monotonic() - t0, 1))
    text = json.dumps(report)
    if args.report:
        with open(args.report, 'w') as f:
            f.write(text)
    else:
        print(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
