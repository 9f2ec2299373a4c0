# SPDX-License-Identifier: Apache-2.0
"""An assistive-technology client for the GUI tests: it reads and operates applications
through the real AT-SPI stack (at-spi2-core's registry on the accessibility bus, libatspi
through GObject introspection), the way a screen reader does. It runs as the desktop user
and takes orders as JSON lines on stdin (passed to python with -c, like agent.py); replies
are JSON lines: {"ok": …} or {"error": "…"}.

A node is matched by a dict with any of:
  app       the application's accessible name (e.g. "firezone-gui", "xfce4-panel"), or a
            list of names
  role      AT-SPI role name ("push button", "label", "toggle button", "menu item", …);
            roles: any of a list
  named     true: only nodes with a name
  name      accessible name, exactly;  name_prefix / name_contains: part of it
  showing   true: only nodes that are visible, and so are their ancestors up to the
            window (GTK 4.8 sets "showing" on windows only, so "visible" is what counts)
  states    AT-SPI state names the node must have (e.g. ["checked"])

Orders:
  {"op": "find", "match": {…}}                   every matching node, as records
  {"op": "wait", "match": {…}, "timeout": s, "gone": bool}
                                                 wait (on AT-SPI events, not by polling on a
                                                 timer) until a node matches — or none does
  {"op": "action", "match": {…}, "action": "click"|index}
                                                 run an action of the first match
  {"op": "focused", "app": …}                    the node that has the keyboard focus
  {"op": "forget_focus"}                         forget the focus and events seen so far
  {"op": "wait_focus", "match": {…}}             wait for a focus event on a node that matches
  {"op": "wait_event", "type", "role", "detail1"}
                                                 wait for an event (e.g. a menu shown)
  {"op": "set_text", "match": {…}, "text": "…"}  type into an editable text
  {"op": "tree", "app": …}                       the whole tree, for debugging
A record: {"role", "name", "description", "states": [...], "text", "extents": [x, y, w, h],
"actions": [...], "path": "app/…"}.
"""

import json
import sys

import gi
gi.require_version('Atspi', '2.0')
from gi.repository import Atspi, GLib  # noqa: E402

EVENTS = ('object:state-changed:showing', 'object:state-changed:visible', 'object:state-changed:checked',
          'object:state-changed:focused', 'object:state-changed:sensitive', 'object:state-changed:enabled',
          'object:property-change:accessible-name', 'object:children-changed', 'object:text-changed',
          'window:create', 'window:destroy', 'window:activate')


def states_of(acc):
    ss = acc.get_state_set()
    return sorted(Atspi.StateType(s).value_nick for s in ss.get_states())


def text_of(acc):
    try:
        t = acc.get_text_iface()
        if t is None:
            return None
        return t.get_text(0, t.get_character_count())
    except GLib.Error:
        return None


def actions_of(acc):
    try:
        a = acc.get_action_iface()
        if a is None:
            return []
        return [a.get_action_name(i) for i in range(a.get_n_actions())]
    except GLib.Error:
        return []


def extents_of(acc):
    try:
        c = acc.get_component_iface()
        if c is None:
            return None
        # GTK 4 has no screen coordinates on X11 (and warns when asked): window ones.
        gtk4 = acc.get_toolkit_name() == 'GTK' and (acc.get_toolkit_version() or '').startswith('4.')
        r = c.get_extents(Atspi.CoordType.WINDOW if gtk4 else Atspi.CoordType.SCREEN)
        return [r.x, r.y, r.width, r.height]
    except GLib.Error:
        return None


class A11y:
    def __init__(self):
        Atspi.init()

        self.loop = GLib.MainLoop()
        self.dirty = False
        self.focused = None
        self.events = []
        self.listener = Atspi.EventListener.new(self.on_event)
        for e in EVENTS:
            self.listener.register(e)

    def on_event(self, event):
        self.dirty = True
        try:
            self.events.append((event.type, event.detail1, event.source.get_role_name(), event.source.get_name()))
        except GLib.Error:
            pass
        del self.events[:-200]
        if event.type.startswith('object:state-changed:focused') and event.detail1 == 1:
            # Popup menus of some toolkits are not children of their application's node
            # (GTK 3 exposes unattached menus only through events): remember the source.
            self.focused = event.source
        if self.loop.is_running():
            self.loop.quit()

    # ---- walking -------------------------------------------------------------------------

    def apps(self, app=None):
        desktop = Atspi.get_desktop(0)
        out = []
        for i in range(desktop.get_child_count()):
            a = desktop.get_child_at_index(i)
            if a is None:
                continue
            try:
                name = a.get_name()
            except GLib.Error:
                continue
            if app is None or name == app or (isinstance(app, list) and name in app):
                # A long-lived client would otherwise miss subtrees GTK 4.8 adds without
                # telling (the content of a new window). GTK 3 keeps libatspi's cache up to
                # date itself, and clearing it there loses children added later.
                if a.get_toolkit_name() == 'GTK':
                    a.clear_cache()
                out.append(a)
        return out

    def walk(self, acc, path, showing_only, depth=0):
        """Yields (acc, path). With showing_only, does not descend into hidden subtrees
        (a GtkStack's other pages, a closed menu)."""
        if depth > 60:
            return
        yield acc, path
        try:
            n = acc.get_child_count()
        except GLib.Error:
            return
        for i in range(n):
            try:
                c = acc.get_child_at_index(i)
            except GLib.Error:
                continue
            if c is None:
                continue
            if showing_only:
                try:
                    ss = c.get_state_set()
                except GLib.Error:
                    continue
                # GTK 4.8 marks only windows "showing"; every toolkit marks "visible".
                if not ss.contains(Atspi.StateType.VISIBLE):
                    continue
            try:
                label = f'{c.get_role_name()}:{c.get_name()}'
            except GLib.Error:
                continue
            yield from self.walk(c, f'{path}/{label}', showing_only, depth + 1)

    def record(self, acc, path):
        try:
            return {'role': acc.get_role_name(), 'name': acc.get_name(), 'description': acc.get_description(),
                    'states': states_of(acc), 'text': text_of(acc), 'extents': extents_of(acc),
                    'actions': actions_of(acc), 'path': path}
        except GLib.Error as e:
            return {'role': '?', 'name': '?', 'error': str(e), 'path': path}

    def matches(self, acc, m):
        try:
            if 'role' in m and acc.get_role_name() != m['role']:
                return False
            if 'roles' in m and acc.get_role_name() not in m['roles']:
                return False
            name = acc.get_name() or ''
            if m.get('named') and not name:
                return False
            if 'name' in m and name != m['name']:
                return False
            if 'name_prefix' in m and not name.startswith(m['name_prefix']):
                return False
            if 'name_contains' in m and m['name_contains'] not in name:
                return False
            if 'states' in m:
                have = set(states_of(acc))
                if not set(m['states']) <= have:
                    return False
            if 'not_states' in m:
                have = set(states_of(acc))
                if set(m['not_states']) & have:
                    return False
            return True
        except GLib.Error:
            return False

    def find_accs(self, m):
        found = []
        for app in self.apps(m.get('app')):
            try:
                app_name = app.get_name()
            except GLib.Error:
                continue
            for acc, path in self.walk(app, app_name, m.get('showing', False)):
                if acc is not app and self.matches(acc, m):
                    found.append((acc, path))
        return found

    # ---- orders ---------------------------------------------------------------------------

    def op_find(self, o):
        return {'ok': [self.record(a, p) for a, p in self.find_accs(o['match'])]}

    def op_wait(self, o):
        """Re-read the tree whenever an AT-SPI event arrived since the last look; the
        timeout only bounds the wait."""
        gone = o.get('gone', False)
        timed_out = []

        def expire():
            timed_out.append(True)
            self.loop.quit()
            return False

        timer = GLib.timeout_add(int(o.get('timeout', 20) * 1000), expire)
        try:
            while True:
                self.dirty = False
                found = self.find_accs(o['match'])
                if bool(found) != gone:
                    return {'ok': [self.record(a, p) for a, p in found]}
                if timed_out:
                    return {'error': f'timed out waiting for {"no " if gone else ""}{o["match"]}'}
                if not self.dirty:
                    self.loop.run()
        finally:
            if not timed_out:
                GLib.source_remove(timer)

    def op_action(self, o):
        found = self.find_accs(o['match'])
        if not found:
            return {'error': f'nothing matches {o["match"]}'}
        acc, path = found[0]
        names = actions_of(acc)
        want = o.get('action', 0)
        idx = want if isinstance(want, int) else (names.index(want) if want in names else None)
        if idx is None or idx >= len(names):
            return {'error': f'{path} has no action {want!r} (has {names})'}
        ok = acc.get_action_iface().do_action(idx)
        return {'ok': {'done': ok, 'path': path, 'action': names[idx]}}

    def op_wait_focus(self, o):
        """Wait until a focus event names a node that matches; replies with it and its
        siblings (the menu around a focused menu item)."""
        timed_out = []

        def expire():
            timed_out.append(True)
            self.loop.quit()
            return False

        timer = GLib.timeout_add(int(o.get('timeout', 20) * 1000), expire)
        try:
            while True:
                acc = self.focused
                if acc is not None and self.matches(acc, o.get('match', {})):
                    parent = acc.get_parent()
                    siblings = []
                    if parent is not None:
                        for i in range(parent.get_child_count()):
                            c = parent.get_child_at_index(i)
                            if c is not None:
                                siblings.append(self.record(c, f'{parent.get_role_name()}/{c.get_role_name()}'))
                    return {'ok': {'focused': self.record(acc, acc.get_role_name()), 'siblings': siblings}}
                if timed_out:
                    return {'error': f'timed out waiting for focus on {o.get("match")}; saw {self.events[-10:]}'}
                self.loop.run()
        finally:
            if not timed_out:
                GLib.source_remove(timer)

    def op_forget_focus(self, o):
        self.focused = None
        self.events = []
        return {'ok': True}

    def op_wait_event(self, o):
        """Wait until an event since the last forget_focus has a type starting with
        o["type"], o["detail1"] (if given) and a source of role o["role"] (if given)."""
        timed_out = []

        def expire():
            timed_out.append(True)
            self.loop.quit()
            return False

        def seen():
            for t, d1, role, name in self.events:
                if t.startswith(o['type']) and o.get('detail1', d1) == d1 and o.get('role', role) == role:
                    return [t, d1, role, name]
            return None

        timer = GLib.timeout_add(int(o.get('timeout', 20) * 1000), expire)
        try:
            while True:
                found = seen()
                if found:
                    return {'ok': found}
                if timed_out:
                    return {'error': f'timed out waiting for an event {o}; saw {self.events[-20:]}'}
                self.loop.run()
        finally:
            if not timed_out:
                GLib.source_remove(timer)

    def op_focused(self, o):
        for app in self.apps(o.get('app')):
            for acc, path in self.walk(app, app.get_name(), True):
                try:
                    if acc.get_state_set().contains(Atspi.StateType.FOCUSED):
                        return {'ok': self.record(acc, path)}
                except GLib.Error:
                    continue
        return {'ok': None}

    def op_set_text(self, o):
        found = self.find_accs(o['match'])
        if not found:
            return {'error': f'nothing matches {o["match"]}'}
        acc, path = found[0]
        e = acc.get_editable_text_iface()
        if e is None:
            return {'error': f'{path} is not editable'}
        return {'ok': e.set_text_contents(o['text'])}

    def op_tree(self, o):
        out = []
        for app in self.apps(o.get('app')):
            for acc, path in self.walk(app, app.get_name(), o.get('showing', False)):
                out.append(self.record(acc, path))
        return {'ok': out}


def main():
    a = A11y()
    for line in sys.stdin:
        order = json.loads(line)
        try:
            reply = getattr(a, 'op_' + order['op'])(order)
        except Exception as e:  # a broken order must not kill the agent
            reply = {'error': f'{type(e).__name__}: {e}'}
        sys.stdout.write(json.dumps(reply) + '\n')
        sys.stdout.flush()


if __name__ == '__main__':
    main()
