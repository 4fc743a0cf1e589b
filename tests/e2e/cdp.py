#!/usr/bin/python3
"""A small driver for headless Chromium over the DevTools protocol.

Python standard library only (a minimal WebSocket client), so the html
tests need nothing but python3 and Debian's chromium.

    with Browser() as b:
        page = b.open('file:///tmp/report.html')
        page.eval('document.title')
        page.click_at(x, y)
        page.errors          # console errors, exceptions, CSP reports
"""
import base64
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import time


def find_chromium():
    for name in ('chromium', 'chromium-browser', 'google-chrome'):
        path = shutil.which(name)
        if path:
            return path
    return None


class WebSocket:
    """Client side of RFC 6455, text frames only, enough for DevTools."""

    def __init__(self, url, timeout=60):
        m = re.match(r'ws://([^/:]+):(\d+)(/.*)', url)
        if not m:
            raise ValueError('not a ws:// URL: %r' % url)
        self.sock = socket.create_connection((m.group(1), int(m.group(2))),
                                             timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(('GET %s HTTP/1.1\r\nHost: %s:%s\r\n'
                           'Upgrade: websocket\r\nConnection: Upgrade\r\n'
                           'Sec-WebSocket-Key: %s\r\n'
                           'Sec-WebSocket-Version: 13\r\n\r\n'
                           % (m.group(3), m.group(1), m.group(2), key)).encode())
        head = b''
        while b'\r\n\r\n' not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError('WebSocket handshake: connection closed')
            head += chunk
        head, self.buf = head.split(b'\r\n\r\n', 1)
        if b' 101 ' not in head.split(b'\r\n', 1)[0]:
            raise ConnectionError('WebSocket handshake refused: %r' % head[:80])

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError('WebSocket closed')
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, text):
        data = text.encode()
        mask = os.urandom(4)
        n = len(data)
        if n < 126:
            head = struct.pack('!BB', 0x81, 0x80 | n)
        elif n < 65536:
            head = struct.pack('!BBH', 0x81, 0x80 | 126, n)
        else:
            head = struct.pack('!BBQ', 0x81, 0x80 | 127, n)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.sock.sendall(head + mask + body)

    def recv(self):
        message = b''
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7f
            if n == 126:
                n = struct.unpack('!H', self._read(2))[0]
            elif n == 127:
                n = struct.unpack('!Q', self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            data = self._read(n)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            op = b0 & 0x0f
            if op == 8:
                raise ConnectionError('WebSocket closed by the browser')
            if op in (9, 10):          # ping, pong: nothing to answer here
                continue
            message += data
            if b0 & 0x80:
                return message.decode('utf-8', 'replace')


class Page:
    def __init__(self, browser, session):
        self.b = browser
        self.session = session
        self.errors = []
        self.loaded = False

    def call(self, method, **params):
        return self.b.call(method, params, self.session)

    def event(self, msg):
        m, p = msg.get('method'), msg.get('params', {})
        if m == 'Runtime.exceptionThrown':
            d = p.get('exceptionDetails', {})
            self.errors.append('exception: %s %s' % (
                d.get('text'), d.get('exception', {}).get('description', '')))
        elif m == 'Runtime.consoleAPICalled' and p.get('type') in ('error', 'assert'):
            self.errors.append('console.%s: %s' % (p.get('type'), ' '.join(
                str(a.get('value', a.get('description', ''))) for a in p.get('args', []))))
        elif m == 'Log.entryAdded' and p.get('entry', {}).get('level') == 'error':
            e = p['entry']
            self.errors.append('%s: %s' % (e.get('source'), e.get('text')))
        elif m == 'Page.loadEventFired':
            self.loaded = True

    def eval(self, expr, await_promise=False):
        r = self.call('Runtime.evaluate', expression=expr, returnByValue=True,
                      awaitPromise=await_promise)
        if 'exceptionDetails' in r:
            raise RuntimeError('evaluate %r: %s' % (expr[:60], r['exceptionDetails']))
        return r.get('result', {}).get('value')

    def click_at(self, x, y):
        for kind in ('mousePressed', 'mouseReleased'):
            self.call('Input.dispatchMouseEvent', type=kind, x=x, y=y,
                      button='left', clickCount=1)

    def screenshot(self, path, width, height):
        self.call('Emulation.setDeviceMetricsOverride', width=width,
                  height=height, deviceScaleFactor=1, mobile=False)
        r = self.call('Page.captureScreenshot', format='png',
                      captureBeyondViewport=False)
        with open(path, 'wb') as f:
            f.write(base64.b64decode(r['data']))


class Browser:
    def __init__(self, timeout=60):
        exe = find_chromium()
        if exe is None:
            raise FileNotFoundError('chromium')
        self.profile = tempfile.mkdtemp(prefix='imt-chromium-')
        self.proc = subprocess.Popen(
            [exe, '--headless', '--no-sandbox', '--disable-gpu',
             '--no-first-run', '--no-default-browser-check',
             '--disable-extensions', '--disable-background-networking',
             '--remote-debugging-port=0', '--user-data-dir=' + self.profile,
             '--window-size=1400,1000', 'about:blank'],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        url = None
        deadline = time.time() + timeout
        while url is None and time.time() < deadline:
            line = self.proc.stderr.readline().decode('utf-8', 'replace')
            if not line and self.proc.poll() is not None:
                break
            m = re.search(r'DevTools listening on (ws://\S+)', line)
            if m:
                url = m.group(1)
        if url is None:
            self.close()
            raise RuntimeError('chromium did not start')
        # the rest of stderr (dbus noise) must not fill the pipe
        self.proc.stderr.close()
        self.ws = WebSocket(url, timeout)
        self.next_id = 0
        self.pages = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def call(self, method, params=None, session=None):
        self.next_id += 1
        my = self.next_id
        msg = {'id': my, 'method': method, 'params': params or {}}
        if session:
            msg['sessionId'] = session
        self.ws.send(json.dumps(msg))
        while True:
            r = json.loads(self.ws.recv())
            if r.get('id') == my:
                if 'error' in r:
                    raise RuntimeError('%s: %s' % (method, r['error']))
                return r.get('result', {})
            page = self.pages.get(r.get('sessionId'))
            if page is not None:
                page.event(r)

    def pump(self, page, until, timeout):
        """Handles events until until() is true or timeout seconds pass."""
        deadline = time.time() + timeout
        while not until() and time.time() < deadline:
            page.eval("0")      # a round trip delivers queued events
            time.sleep(0.01)

    def open(self, url, timeout=60):
        """Opens url in a new tab and waits for its load event."""
        target = self.call('Target.createTarget', {'url': 'about:blank'})
        session = self.call('Target.attachToTarget', {
            'targetId': target['targetId'], 'flatten': True})['sessionId']
        page = Page(self, session)
        self.pages[session] = page
        for domain in ('Page', 'Runtime', 'Log'):
            page.call(domain + '.enable')
        t0 = time.time()
        page.call('Page.navigate', url=url)
        self.pump(page, lambda: page.loaded, timeout)
        page.load_s = time.time() - t0
        return page

    def close(self):
        try:
            if getattr(self, 'proc', None) and self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        finally:
            shutil.rmtree(getattr(self, 'profile', ''), ignore_errors=True)
