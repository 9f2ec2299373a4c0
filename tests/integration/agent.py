# SPDX-License-Identifier: Apache-2.0
"""A D-Bus client that runs as a test user and takes orders as JSON lines on stdin.

The bed starts it with setpriv as root, fz-member or fz-outsider, so that calls carry
that user's real credentials and supplementary groups (the bus policy checks
SO_PEERGROUPS). It is passed to python with -c, so it works even when the source tree
is not readable by the test user. Replies are JSON lines on stdout:
  {"ok": <result>} or {"error": "<D-Bus error name>", "message": "..."}

Orders:
  {"op": "call", "dest", "path", "iface", "method", "args": "<GVariant text>",
   "sig": "<tuple signature>", "interactive": bool, "timeout_ms": int}
  {"op": "own", "name"}                       request a well-known name
  {"op": "subscribe", "sender", "path", "iface", "member"}
  {"op": "wait_signal", "member", "timeout_ms", "match": {index: value}}
  {"op": "signals"}                           all signals received so far
  {"op": "unique_name"}
"""

import json
import sys

import gi
gi.require_version('Gio', '2.0')
from gi.repository import Gio, GLib  # noqa: E402


def to_json(value):
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.decode('utf-8', 'replace')
    return value


def error_reply(e):
    name = Gio.DBusError.get_remote_error(e) if Gio.DBusError.is_remote_error(e) else None
    if not name:
        name = f'{e.domain}.{e.code}'
    msg = e.message
    if Gio.DBusError.is_remote_error(e):
        Gio.DBusError.strip_remote_error(e)
        msg = e.message
    return {'error': name, 'message': msg}


class Agent:
    def __init__(self):
        self.conn = Gio.bus_get_sync(Gio.BusType.SYSTEM, None)
        self.signals = []
        self.loop = GLib.MainLoop()

    def on_signal(self, conn, sender, path, iface, member, params):
        self.signals.append({'sender': sender, 'path': path, 'iface': iface, 'member': member,
                             'args': to_json(params.unpack())})
        if self.loop.is_running():
            self.loop.quit()

    def round_trip(self):
        # GetId is open to every user by the stock policy (Peer.Ping on the bus is not).
        self.conn.call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'GetId',
                            None, None, Gio.DBusCallFlags.NONE, 5000, None)

    def op_unique_name(self, o):
        return {'ok': self.conn.get_unique_name()}

    def op_call(self, o):
        params = None
        if o.get('args') is not None:
            params = GLib.Variant.parse(GLib.VariantType(o.get('sig', '()')), o['args'], None, None)
        flags = Gio.DBusCallFlags.NONE
        if o.get('interactive'):
            flags |= Gio.DBusCallFlags.ALLOW_INTERACTIVE_AUTHORIZATION
        try:
            r = self.conn.call_sync(o['dest'], o['path'], o['iface'], o['method'], params, None, flags,
                                    o.get('timeout_ms', 25000), None)
        except GLib.Error as e:
            return error_reply(e)
        return {'ok': to_json(r.unpack()), 'sig': r.get_type_string()}

    def op_call_many(self, o):
        """Send all calls before waiting for any reply (concurrent on one connection)."""
        replies = [None] * len(o['calls'])
        pending = [len(o['calls'])]

        def done(conn, res, idx):
            try:
                r = conn.call_finish(res)
                replies[idx] = {'ok': to_json(r.unpack())}
            except GLib.Error as e:
                replies[idx] = error_reply(e)
            pending[0] -= 1
            if pending[0] == 0:
                self.loop.quit()

        for idx, c in enumerate(o['calls']):
            params = None
            if c.get('args') is not None:
                params = GLib.Variant.parse(GLib.VariantType(c.get('sig', '()')), c['args'], None, None)
            self.conn.call(c.get('dest', 'dev.firezone.Client1'), c.get('path', '/dev/firezone/Client1'),
                           c.get('iface', 'dev.firezone.Client1'), c['method'], params, None,
                           Gio.DBusCallFlags.NONE, o.get('timeout_ms', 25000), None, done, idx)
        if pending[0]:
            self.loop.run()
        return {'ok': replies}

    def op_start_call(self, o):
        """Send a call and return at once; op finish_call collects the reply."""
        self.__dict__.setdefault('inflight', {})
        cid = len(self.inflight)
        self.inflight[cid] = None
        params = None
        if o.get('args') is not None:
            params = GLib.Variant.parse(GLib.VariantType(o.get('sig', '()')), o['args'], None, None)

        def done(conn, res, _):
            try:
                self.inflight[cid] = {'ok': to_json(conn.call_finish(res).unpack())}
            except GLib.Error as e:
                self.inflight[cid] = error_reply(e)
            if self.loop.is_running():
                self.loop.quit()

        self.conn.call(o.get('dest', 'dev.firezone.Client1'), o.get('path', '/dev/firezone/Client1'),
                       o.get('iface', 'dev.firezone.Client1'), o['method'], params, None, Gio.DBusCallFlags.NONE,
                       o.get('timeout_ms', 60000), None, done, None)
        return {'ok': cid}

    def op_finish_call(self, o):
        while self.inflight[o['id']] is None:
            self.loop.run()
        return self.inflight[o['id']]

    def op_become_monitor(self, o):
        """Turn this connection into a bus monitor for the given match rules (root only)."""
        import threading
        self.monitored = []
        self.monitor_cond = threading.Condition()

        def filt(conn, msg, incoming):
            if incoming and msg.get_message_type() == Gio.DBusMessageType.METHOD_CALL:
                body = msg.get_body()
                entry = {'sender': msg.get_sender(), 'dest': msg.get_destination(), 'iface': msg.get_interface(),
                         'member': msg.get_member(), 'flags': int(msg.get_flags()),
                         'args': to_json(body.unpack()) if body is not None else []}
                with self.monitor_cond:
                    self.monitored.append(entry)
                    self.monitor_cond.notify_all()
                return None  # a monitor must never answer the calls it watches
            return msg

        self.conn.add_filter(filt)
        # Asynchronously: the filter runs on GDBus's worker thread and needs the GIL, which a
        # blocking call_sync from Python would hold.
        result = []

        def done(conn, res, _):
            try:
                conn.call_finish(res)
                result.append({'ok': True})
            except GLib.Error as e:
                result.append(error_reply(e))
            self.loop.quit()

        self.conn.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.Monitoring',
                       'BecomeMonitor', GLib.Variant('(asu)', (o['rules'], 0)), None, Gio.DBusCallFlags.NONE,
                       5000, None, done, None)
        while not result:
            self.loop.run()
        return result[0]

    def op_monitored(self, o):
        """Wait until `count` captured calls have member `member` (a monitor cannot make a
        round trip, so we wait for the messages themselves), then return all captured."""
        import time
        deadline = time.monotonic() + o.get('timeout_ms', 10000) / 1000
        with self.monitor_cond:
            while sum(1 for m in self.monitored if m['member'] == o.get('member')) < o.get('count', 0):
                left = deadline - time.monotonic()
                if left <= 0:
                    return {'error': 'timeout', 'message': f'saw only {self.monitored}'}
                self.monitor_cond.wait(left)
            return {'ok': list(self.monitored)}

    def op_hammer(self, o):
        """Load: `connections` separate bus connections each call Status back to back, while
        this connection records StateChanged. Writes {"ready": true} once everything runs,
        and stops after `signals` StateChanged signals (or the timeout)."""
        address = Gio.dbus_address_get_for_bus_sync(Gio.BusType.SYSTEM, None)
        flags = Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION
        conns = [Gio.DBusConnection.new_for_address_sync(address, flags, None, None)
                 for _ in range(o['connections'])]
        stats = {'calls': 0, 'errors': [], 'states': {}, 'sequence': []}
        stopping = [False]
        outstanding = [0]
        started = [0]

        def on_state(conn, sender, path, iface, member, params):
            stats['sequence'].append(params.unpack()[0])
            if len(stats['sequence']) >= o['signals']:
                stopping[0] = True

        self.conn.signal_subscribe('dev.firezone.Client1', 'dev.firezone.Client1', 'StateChanged',
                                   '/dev/firezone/Client1', None, Gio.DBusSignalFlags.NONE, on_state)
        self.round_trip()

        def issue(conn):
            outstanding[0] += 1
            conn.call('dev.firezone.Client1', '/dev/firezone/Client1', 'dev.firezone.Client1', 'Status', None,
                      None, Gio.DBusCallFlags.NONE, 25000, None, done, conn)

        def done(conn, res, _):
            outstanding[0] -= 1
            try:
                st = conn.call_finish(res).unpack()[0]['state']
                stats['states'][st] = stats['states'].get(st, 0) + 1
                stats['calls'] += 1
            except GLib.Error as e:
                stats['errors'].append(error_reply(e))
            started[0] += 1
            if started[0] == len(conns):
                sys.stdout.write(json.dumps({'ready': True}) + '\n')
                sys.stdout.flush()
            if not stopping[0]:
                issue(conn)
            elif outstanding[0] == 0:
                self.loop.quit()

        def on_timeout():
            stats['errors'].append({'error': 'timeout'})
            stopping[0] = True
            return GLib.SOURCE_REMOVE

        GLib.timeout_add(o.get('timeout_ms', 120000), on_timeout)
        for c in conns:
            issue(c)
        self.loop.run()
        for c in conns:
            c.close_sync(None)
        return {'ok': stats}

    def op_own(self, o):
        try:
            r = self.conn.call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus',
                                    'RequestName', GLib.Variant('(su)', (o['name'], 4)), None,
                                    Gio.DBusCallFlags.NONE, 5000, None)
        except GLib.Error as e:
            return error_reply(e)
        return {'ok': r.unpack()[0]}

    def op_subscribe(self, o):
        self.conn.signal_subscribe(o.get('sender'), o.get('iface'), o.get('member'), o.get('path'), None,
                                   Gio.DBusSignalFlags.NONE, self.on_signal)
        # A round trip to the bus guarantees the match rule is installed before we answer.
        self.round_trip()
        return {'ok': True}

    def _matches(self, s, o):
        if o.get('member') and s['member'] != o['member']:
            return False
        for idx, value in (o.get('match') or {}).items():
            args = s['args']
            if int(idx) >= len(args) or args[int(idx)] != value:
                return False
        return True

    def op_wait_signal(self, o):
        """Wait for (and consume) the first matching signal, received now or later."""
        timed_out = []

        def on_timeout():
            timed_out.append(True)
            self.loop.quit()
            return GLib.SOURCE_REMOVE

        src = GLib.timeout_add(o.get('timeout_ms', 10000), on_timeout)
        try:
            while True:
                for i, s in enumerate(self.signals):
                    if self._matches(s, o):
                        del self.signals[i]
                        return {'ok': s}
                if timed_out:
                    return {'error': 'timeout', 'message': f'no {o.get("member")} signal within the timeout'}
                self.loop.run()
        finally:
            if not timed_out:
                GLib.source_remove(src)

    def op_flush(self, o):
        """Dispatch everything already received (signals included) and report it."""
        ctx = GLib.MainContext.default()
        self.round_trip()
        while ctx.iteration(False):
            pass
        return {'ok': True}

    def op_signals(self, o):
        self.op_flush(o)
        return {'ok': self.signals}

    def serve(self):
        for line in sys.stdin:
            o = json.loads(line)
            try:
                reply = getattr(self, 'op_' + o['op'])(o)
            except Exception as e:  # report, do not die: the test decides
                import traceback
                traceback.print_exc()
                reply = {'error': 'agent.exception', 'message': repr(e)}
            sys.stdout.write(json.dumps(reply) + '\n')
            sys.stdout.flush()


if __name__ == '__main__':
    Agent().serve()
