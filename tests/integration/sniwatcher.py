#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A stand-in for a desktop's org.kde.StatusNotifierWatcher (what GNOME's AppIndicator
extension or KDE's Plasma provide), with a host registered. It prints one line per
registered item ("registered SERVICE by SENDER"), which the GUI tests wait for."""

import sys

from gi.repository import Gio, GLib

XML = '''
<node>
  <interface name="org.kde.StatusNotifierWatcher">
    <method name="RegisterStatusNotifierItem"><arg name="service" type="s" direction="in"/></method>
    <method name="RegisterStatusNotifierHost"><arg name="service" type="s" direction="in"/></method>
    <property name="RegisteredStatusNotifierItems" type="as" access="read"/>
    <property name="IsStatusNotifierHostRegistered" type="b" access="read"/>
    <property name="ProtocolVersion" type="i" access="read"/>
    <signal name="StatusNotifierItemRegistered"><arg type="s"/></signal>
    <signal name="StatusNotifierItemUnregistered"><arg type="s"/></signal>
    <signal name="StatusNotifierHostRegistered"/>
    <signal name="StatusNotifierHostUnregistered"/>
  </interface>
</node>'''

items = []


def on_call(conn, sender, path, iface, method, params, invocation):
    if method == 'RegisterStatusNotifierItem':
        service = params.unpack()[0]
        items.append(service)
        print(f'registered {service} by {sender}', flush=True)
        conn.emit_signal(None, path, iface, 'StatusNotifierItemRegistered', GLib.Variant('(s)', (service,)))
    invocation.return_value(None)


def on_get(conn, sender, path, iface, name):
    if name == 'RegisteredStatusNotifierItems':
        return GLib.Variant('as', items)
    if name == 'IsStatusNotifierHostRegistered':
        return GLib.Variant('b', True)
    if name == 'ProtocolVersion':
        return GLib.Variant('i', 0)
    return None


def main():
    conn = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    info = Gio.DBusNodeInfo.new_for_xml(XML)
    conn.register_object('/StatusNotifierWatcher', info.interfaces[0], on_call, on_get, None)
    loop = GLib.MainLoop()
    Gio.bus_own_name_on_connection(conn, 'org.kde.StatusNotifierWatcher', Gio.BusNameOwnerFlags.NONE,
                                   lambda *a: print('watcher ready', flush=True), lambda *a: loop.quit())
    loop.run()
    return 1


if __name__ == '__main__':
    sys.exit(main())
