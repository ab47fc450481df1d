#!/usr/bin/python3
"""The desktop shell's stand-ins for the desktop E2E, on the test's private session bus.

  sni.py serve DIR     a minimal org.kde.StatusNotifierWatcher (where AppIndicator registers
                       its icon) and org.freedesktop.Notifications (records each notification
                       in DIR/notifications.jsonl; `invoke` makes it report an action)
  sni.py menu DIR      the registered tray menu's items, as JSON [{id, label}], read over
                       the real com.canonical.dbusmenu interface the app exports
  sni.py click DIR PREFIX   sends "clicked" to the item whose label starts with PREFIX (prints
                       the item, with `at`: the time of the click, ns since the epoch)
  sni.py invoke ID ACTION   the notification server reports ACTION on notification ID
  sni.py close WINDOW  asks the X window to close, as a window manager's close button does
                       (WM_DELETE_WINDOW; xdotool 3.2016 can only destroy a window)

Only registration and notifications are stand-ins: the menu and its events are the app's own
(libayatana-appindicator's dbusmenu export).
"""
import json
import os
import sys
import time

import dbus
import dbus.service

WATCHER = 'org.kde.StatusNotifierWatcher'
NOTIFICATIONS = 'org.freedesktop.Notifications'
TEST_IFACE = 'dev.latchkey.Test'


def serve(out):
    from dbus.mainloop.glib import DBusGMainLoop
    from gi.repository import GLib

    DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    items_file = os.path.join(out, 'items')
    notes_file = os.path.join(out, 'notifications.jsonl')

    class Watcher(dbus.service.Object):
        def __init__(self):
            self.items = []
            super().__init__(dbus.service.BusName(WATCHER, bus), '/StatusNotifierWatcher')

        @dbus.service.method(WATCHER, in_signature='s', sender_keyword='sender')
        def RegisterStatusNotifierItem(self, service, sender=None):
            # AppIndicator passes its object path; others pass a bus name.
            name, path = (sender, service) if service.startswith('/') else (service, '/StatusNotifierItem')
            self.items.append(f'{name}{path}')
            with open(items_file, 'a') as f:
                f.write(f'{name} {path}\n')
            self.StatusNotifierItemRegistered(f'{name}{path}')

        @dbus.service.method(WATCHER, in_signature='s')
        def RegisterStatusNotifierHost(self, service):
            pass

        @dbus.service.signal(WATCHER, signature='s')
        def StatusNotifierItemRegistered(self, item):
            pass

        @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature='ss', out_signature='v')
        def Get(self, iface, prop):
            return self.GetAll(iface)[prop]

        @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature='s', out_signature='a{sv}')
        def GetAll(self, iface):
            return {
                'RegisteredStatusNotifierItems': dbus.Array(self.items, signature='s'),
                'IsStatusNotifierHostRegistered': True,
                'ProtocolVersion': dbus.Int32(0),
            }

    class Notifications(dbus.service.Object):
        def __init__(self):
            self.next = 0
            super().__init__(dbus.service.BusName(NOTIFICATIONS, bus), '/org/freedesktop/Notifications')

        @dbus.service.method(NOTIFICATIONS, in_signature='susssasa{sv}i', out_signature='u')
        def Notify(self, app, replaces, icon, summary, body, actions, hints, timeout):
            self.next += 1
            with open(notes_file, 'a') as f:
                f.write(json.dumps({'id': self.next, 'app': str(app), 'summary': str(summary),
                                    'body': str(body), 'actions': [str(a) for a in actions]}) + '\n')
            return self.next

        @dbus.service.method(NOTIFICATIONS, out_signature='as')
        def GetCapabilities(self):
            return ['body', 'actions']

        @dbus.service.method(NOTIFICATIONS, out_signature='ssss')
        def GetServerInformation(self):
            return ('latchkey-test', 'latchkey', '1', '1.2')

        @dbus.service.method(NOTIFICATIONS, in_signature='u')
        def CloseNotification(self, nid):
            self.NotificationClosed(nid, 3)

        @dbus.service.signal(NOTIFICATIONS, signature='us')
        def ActionInvoked(self, nid, action):
            pass

        @dbus.service.signal(NOTIFICATIONS, signature='uu')
        def NotificationClosed(self, nid, reason):
            pass

        @dbus.service.method(TEST_IFACE, in_signature='us')
        def Invoke(self, nid, action):
            self.ActionInvoked(nid, action)
            self.NotificationClosed(nid, 2)

    Watcher()
    Notifications()
    print('READY', flush=True)
    GLib.MainLoop().run()


def registered(out):
    with open(os.path.join(out, 'items')) as f:
        name, path = f.read().split('\n')[0].split(' ')
    return name, path


def menu_object(out):
    bus = dbus.SessionBus()
    name, path = registered(out)
    item = bus.get_object(name, path)
    menu_path = item.Get('org.kde.StatusNotifierItem', 'Menu', dbus_interface=dbus.PROPERTIES_IFACE)
    return bus.get_object(name, menu_path)


def items(menu):
    iface = dbus.Interface(menu, 'com.canonical.dbusmenu')
    iface.AboutToShow(0)
    _rev, (_id, _props, children) = iface.GetLayout(0, -1, ['label', 'enabled'])
    out = []
    for child in children:
        cid, props, _ = child
        if 'label' in props:
            out.append({'id': int(cid), 'label': str(props['label']).replace('__', '_'),
                        'enabled': bool(props.get('enabled', True))})
    return out


def close_window(window):
    import ctypes
    import ctypes.util

    x11 = ctypes.cdll.LoadLibrary(ctypes.util.find_library('X11'))
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
    x11.XFlush.argtypes = [ctypes.c_void_p]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]

    class ClientMessage(ctypes.Structure):
        _fields_ = [('type', ctypes.c_int), ('serial', ctypes.c_ulong), ('send_event', ctypes.c_int),
                    ('display', ctypes.c_void_p), ('window', ctypes.c_ulong), ('message_type', ctypes.c_ulong),
                    ('format', ctypes.c_int), ('data', ctypes.c_long * 5), ('pad', ctypes.c_long * 12)]

    display = x11.XOpenDisplay(None)
    if not display:
        sys.exit('cannot open the display')
    event = ClientMessage()
    event.type = 33  # ClientMessage
    event.window = window
    event.message_type = x11.XInternAtom(display, b'WM_PROTOCOLS', 0)
    event.format = 32
    event.data[0] = x11.XInternAtom(display, b'WM_DELETE_WINDOW', 0)
    event.data[1] = 0  # CurrentTime
    if not x11.XSendEvent(display, window, 0, 0, ctypes.byref(event)):
        sys.exit('XSendEvent failed')
    x11.XFlush(display)
    x11.XCloseDisplay(display)


def main():
    cmd = sys.argv[1]
    if cmd == 'serve':
        serve(sys.argv[2])
    elif cmd == 'menu':
        print(json.dumps(items(menu_object(sys.argv[2]))))
    elif cmd == 'click':
        menu = menu_object(sys.argv[2])
        match = [i for i in items(menu) if i['label'].startswith(sys.argv[3])]
        if not match:
            sys.exit(f'no menu item starts with {sys.argv[3]!r}')
        at = time.time_ns()
        dbus.Interface(menu, 'com.canonical.dbusmenu').Event(
            match[0]['id'], 'clicked', dbus.Int32(0, variant_level=1), dbus.UInt32(int(time.time())))
        print(json.dumps({**match[0], 'at': at}))
    elif cmd == 'close':
        close_window(int(sys.argv[2]))
    elif cmd == 'invoke':
        server = dbus.SessionBus().get_object(NOTIFICATIONS, '/org/freedesktop/Notifications')
        dbus.Interface(server, TEST_IFACE).Invoke(dbus.UInt32(int(sys.argv[2])), sys.argv[3])
    else:
        sys.exit(f'unknown command {cmd}')


if __name__ == '__main__':
    main()
