# SPDX-License-Identifier: Apache-2.0
"""Drives libfirezone-client through its typelib (FirezoneClient-1) as a test user.

Like agent.py, the bed runs it with setpriv as root, fz-member or fz-outsider and passes it
with -c; GI_TYPELIB_PATH and LD_LIBRARY_PATH point into the build tree. It takes orders as
JSON lines on stdin and answers one JSON line each:
  {"ok": <result>} or {"error": {"domain", "code", "nick", "message"}}

Orders:
  {"op": "new", "how": "async"|"sync", "interactive": bool}
  {"op": "new_cancelled", "how"}         construct with a cancellable cancelled before
  {"op": "new_cancel_on_order", "how"}   construct; the next order, {"op": "cancel"},
                                         cancels it from another thread
  {"op": "props"}                        the client's properties
  {"op": "call", "method", "args": {...}, "cancel": null|"before"|"after-send"}
                                         method: get_status, list_resources, sign_in,
                                         sign_out, reconnect, set_internet_resource_enabled
                                         (each an _async/_finish pair)
  {"op": "start_call", "method", "args"} returns an id; {"op": "finish_call", "id"}
  {"op": "wait_event", "kind", "match": {...}, "timeout_ms"}
                                         consume the first matching event, now or later
  {"op": "events"}                       every event so far (after a bus round trip)
  {"op": "drop"}                         unref the client

Events: {"kind": "state-changed", "state", "reason", "props"},
        {"kind": "resources-changed", "resources"}, {"kind": "notify", "property", "value"}.
"""

import json
import sys
import threading

import gi
gi.require_version('Gio', '2.0')
gi.require_version('FirezoneClient', '1')
from gi.repository import FirezoneClient as Fz  # noqa: E402
from gi.repository import Gio, GLib  # noqa: E402

PROPS = ('state', 'mode', 'account-slug', 'actor-name', 'interface-name', 'last-error', 'daemon-version',
         'requires-sign-in', 'daemon-running', 'interactive', 'internet-resource-enabled')


def value_json(v):
    if isinstance(v, Fz.ClientState):
        return Fz.client_state_to_string(v)
    if isinstance(v, Fz.ClientMode):
        return Fz.client_mode_to_string(v)
    return v


def status_json(s):
    return {
        'state': Fz.client_state_to_string(s.get_state()),
        'mode': Fz.client_mode_to_string(s.get_mode()),
        'account-slug': s.get_account_slug(), 'actor-name': s.get_actor_name(),
        'interface': s.get_interface_name(), 'ipv4': s.get_ipv4(), 'ipv6': s.get_ipv6(),
        'dns-control': s.get_dns_control(), 'last-error': s.get_last_error(),
        'requires-sign-in': s.get_requires_sign_in(), 'connected-since': s.get_connected_since(),
        'resource-count': s.get_resource_count(), 'version': s.get_version(),
        'internet-resource-enabled': s.get_internet_resource_enabled(),
        'gateways': s.get_gateways(), 'rx-bytes': s.get_rx_bytes(), 'tx-bytes': s.get_tx_bytes(),
    }


def resource_json(r):
    return {
        'id': r.get_id(), 'type': Fz.resource_type_to_string(r.get_resource_type()), 'name': r.get_name(),
        'address': r.get_address(), 'description': r.get_description(),
        'status': Fz.resource_status_to_string(r.get_status()),
        'sites': [[s.get_id(), s.get_name()] for s in r.get_sites()],
    }


def error_json(e):
    nick = None
    if e.domain == 'fz-client-error-quark':
        nick = Fz.ClientError(e.code).value_nick
    elif e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED):
        nick = 'cancelled'
    return {'error': {'domain': e.domain, 'code': e.code, 'nick': nick, 'message': e.message}}


class LibAgent:
    def __init__(self):
        self.client = None
        self.events = []
        self.loop = GLib.MainLoop()
        self.inflight = {}
        self.conn = Gio.bus_get_sync(Gio.BusType.SYSTEM, None)

    # ---- events -----------------------------------------------------------------------------

    def props(self):
        return {p: value_json(self.client.get_property(p)) for p in PROPS}

    def record(self, event):
        self.events.append(event)
        if self.loop.is_running():
            self.loop.quit()

    def on_state_changed(self, client, state, reason):
        self.record({'kind': 'state-changed', 'state': Fz.client_state_to_string(state), 'reason': reason,
                     'props': self.props()})

    def on_resources_changed(self, client, resources):
        self.record({'kind': 'resources-changed', 'resources': [resource_json(r) for r in resources]})

    def on_notify(self, client, pspec):
        self.record({'kind': 'notify', 'property': pspec.name, 'value': value_json(client.get_property(pspec.name))})

    def watch(self):
        self.client.connect('state-changed', self.on_state_changed)
        self.client.connect('resources-changed', self.on_resources_changed)
        self.client.connect('notify', self.on_notify)

    # ---- orders -----------------------------------------------------------------------------

    def construct(self, how, cancellable):
        """Fz.Client.new_sync() or new_async()/new_finish(); the client, or raises GLib.Error."""
        if how == 'sync':
            return Fz.Client.new_sync(cancellable)
        result = []
        Fz.Client.new_async(cancellable, lambda src, res: result.append(res) or self.loop.quit())
        while not result:
            self.loop.run()
        return Fz.Client.new_finish(result[0])

    def op_new(self, o):
        try:
            self.client = self.construct(o.get('how', 'async'), None)
        except GLib.Error as e:
            return error_json(e)
        self.client.set_interactive(bool(o.get('interactive')))
        self.watch()
        return {'ok': self.props()}

    def op_new_cancelled(self, o):
        c = Gio.Cancellable()
        c.cancel()
        try:
            self.construct(o.get('how', 'async'), c)
        except GLib.Error as e:
            return error_json(e)
        return {'ok': 'constructed despite the cancellation'}

    def op_new_cancel_on_order(self, o):
        """Constructs with a cancellable that another thread cancels when the next order
        ({"op": "cancel"}) arrives: the test sends it once it has seen the construction
        reach the daemon. Also for new_sync, which blocks this thread meanwhile."""
        c = Gio.Cancellable()

        def cancel_on_order():
            order = json.loads(sys.stdin.readline())
            assert order['op'] == 'cancel', order
            c.cancel()

        t = threading.Thread(target=cancel_on_order)
        t.start()
        try:
            self.construct(o['how'], c)
            reply = {'ok': 'constructed despite the cancellation'}
        except GLib.Error as e:
            reply = error_json(e)
        t.join()
        return reply

    def op_props(self, o):
        return {'ok': self.props()}

    def op_resources(self, o):
        return {'ok': [resource_json(r) for r in self.client.get_resources()]}

    def start(self, o, done):
        """Start an _async call; done(result_json) is called with its outcome."""
        method = o['method']
        args = o.get('args') or {}
        cancellable = Gio.Cancellable()
        if o.get('cancel') == 'before':
            cancellable.cancel()

        def finish(client, res):
            try:
                r = getattr(client, method + '_finish')(res)
            except GLib.Error as e:
                done(error_json(e))
                return
            if method == 'get_status':
                done({'ok': status_json(r)})
            elif method == 'list_resources':
                done({'ok': [resource_json(x) for x in r]})
            else:
                done({'ok': r})

        fn = getattr(self.client, method + '_async')
        if method == 'sign_in':
            fn(args['token'], args.get('account_slug'), args.get('actor_name'), args.get('api_url'), cancellable,
               finish)
        elif method == 'set_internet_resource_enabled':
            fn(args['enabled'], cancellable, finish)
        else:
            fn(cancellable, finish)
        if o.get('cancel') == 'after-send':
            # From the main loop, after the call has been handed to GDBus: the request is on its
            # way (the test stopped the daemon, so no reply can come first).
            GLib.idle_add(lambda: cancellable.cancel() or False)

    def op_call(self, o):
        result = []

        def done(r):
            result.append(r)
            self.loop.quit()

        self.start(o, done)
        while not result:
            self.loop.run()
        return result[0]

    def op_start_call(self, o):
        cid = len(self.inflight)
        self.inflight[cid] = None

        def done(r):
            self.inflight[cid] = r
            if self.loop.is_running():
                self.loop.quit()

        self.start(o, done)
        # Let GDBus pick the message up before we answer.
        ctx = GLib.MainContext.default()
        while ctx.iteration(False):
            pass
        return {'ok': cid}

    def op_finish_call(self, o):
        timer = GLib.timeout_add(o.get('timeout_ms', 20000), lambda: self.loop.quit() or False)
        while self.inflight[o['id']] is None:
            self.loop.run()
            if self.inflight[o['id']] is None and not GLib.MainContext.default().find_source_by_id(timer):
                return {'error': {'domain': 'agent', 'code': 0, 'nick': 'timeout', 'message': 'no reply'}}
        GLib.source_remove(timer)
        return self.inflight[o['id']]

    def round_trip(self):
        # A call to the bus on our own connection: signals sent before it have arrived after it.
        self.conn.call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'GetId',
                            None, None, Gio.DBusCallFlags.NONE, 5000, None)
        # The client's connection is the same shared system-bus connection.
        ctx = GLib.MainContext.default()
        while ctx.iteration(False):
            pass

    def matches(self, e, o):
        if e['kind'] != o['kind']:
            return False
        return all(e.get(k) == v for k, v in (o.get('match') or {}).items())

    def op_wait_event(self, o):
        timed_out = []

        def on_timeout():
            timed_out.append(True)
            self.loop.quit()
            return GLib.SOURCE_REMOVE

        src = GLib.timeout_add(o.get('timeout_ms', 10000), on_timeout)
        try:
            while True:
                for i, e in enumerate(self.events):
                    if self.matches(e, o):
                        del self.events[i]
                        return {'ok': e}
                if timed_out:
                    return {'error': {'domain': 'agent', 'code': 0, 'nick': 'timeout',
                                      'message': f'no {o} among {self.events}'}}
                self.loop.run()
        finally:
            if not timed_out:
                GLib.source_remove(src)

    def op_events(self, o):
        self.round_trip()
        events, self.events = self.events, []
        return {'ok': events}

    def op_drop(self, o):
        self.client = None
        return {'ok': True}

    def serve(self):
        for line in sys.stdin:
            o = json.loads(line)
            try:
                reply = getattr(self, 'op_' + o['op'])(o)
            except Exception as e:  # report, do not die: the test decides
                import traceback
                traceback.print_exc()
                reply = {'error': {'domain': 'agent', 'code': 0, 'nick': 'exception', 'message': repr(e)}}
            sys.stdout.write(json.dumps(reply) + '\n')
            sys.stdout.flush()


if __name__ == '__main__':
    LibAgent().serve()
