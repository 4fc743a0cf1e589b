#!/usr/bin/python3
"""Checks imaptrace's html reports, statically and in headless Chromium.

    html_check.py IMAPTRACE WORKDIR CAPTURE...      samples: counts, clicks
    html_check.py --hostile IMAPTRACE WORKDIR CAPTURE   no script may run
    html_check.py --screenshot PNG IMAPTRACE WORKDIR CAPTURE
    html_check.py --time REPORT.html                  load and draw time only

Prints "ok ..." / "FAIL ..." lines (tests/run.sh counts them).  The
expected numbers come from the NDJSON output of the same capture, not
from the report: sessions, commands and findings per session.
"""
import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cdp  # noqa: E402

LADDER_ROWS = 600          # IMT_HTML_LADDER_ROWS
TABLE_ROWS = 5000          # IMT_HTML_TABLE_ROWS
PAGE = 100                 # rows per page of the session table (out_html.js)

failures = 0


def ok(cond, name, why=''):
    global failures
    if cond:
        print('ok ' + name)
    else:
        failures += 1
        print('FAIL %s%s' % (name, ': ' + why if why else ''))
    return cond


def run(imaptrace, fmt, cap, out=None):
    args = [imaptrace, '-q', '-F', fmt] + (['-o', out] if out else []) + [cap]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode not in (0, 1):
        raise RuntimeError('%s: exit %d: %s' % (' '.join(args), p.returncode,
                                               p.stderr.decode()[:300]))
    return p.stdout


def expected(imaptrace, cap):
    """Sessions, and commands and findings per session, from the NDJSON."""
    per = {}
    for line in run(imaptrace, 'ndjson', cap).decode().splitlines():
        ev = json.loads(line)
        s = per.setdefault(ev['session'], {'commands': 0, 'findings': 0, 'end': False})
        if ev['type'] == 'command':
            s['commands'] += 1
        elif ev['type'] == 'violation':
            s['findings'] += 1
        elif ev['type'] == 'session_end':
            s['end'] = True
    return {k: v for k, v in per.items() if k != 0 and v['end']}


def static_checks(name, html):
    """The file alone: self-contained, one script, CSP hashes that match."""
    ok(html.startswith('<!DOCTYPE html>'), name + ': a complete html document')
    m = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', html)
    if not ok(m is not None, name + ': has a Content-Security-Policy'):
        return
    csp = m.group(1)
    scripts = re.findall(r'<script>(.*?)</script>', html, re.S)
    styles = re.findall(r'<style>(.*?)</style>', html, re.S)
    ok(len(scripts) == 1 and len(styles) == 1, name + ': one inline script and one style',
       '%d scripts, %d styles' % (len(scripts), len(styles)))
    want = ["default-src 'none'"] + [
        "%s 'sha256-%s'" % (kind, base64.b64encode(hashlib.sha256(body.encode()).digest()).decode())
        for kind, body in (('script-src', scripts[0] if scripts else ''),
                           ('style-src', styles[0] if styles else ''))]
    ok(all(w in csp for w in want) and 'unsafe' not in csp,
       name + ': CSP allows only the page\'s own script and style by hash', csp)
    data = re.findall(r'<script type="application/json" id="[a-z-]+">(.*?)</script>', html, re.S)
    ok(len(data) == 3 and all('<' not in d and '>' not in d and '&' not in d for d in data),
       name + ': data blocks hold no markup characters')
    ok(len(re.findall(r'<script\b', html)) == 4, name + ': no other script element')
    code = re.sub(r'<script type="application/json".*?</script>', '', html, flags=re.S)
    ok(not re.search(r'\b(src|href)\s*=|<link\b|@import|url\(', code),
       name + ': fetches nothing (no src, href, link, import or url())')


def wait_for(page, expr, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if page.eval(expr):
            return True
        time.sleep(0.05)
    return False


OPEN_ALL = '''(() => {
  document.querySelectorAll('details.session').forEach((d) => { d.open = true; });
  return new Promise((r) => setTimeout(r, 50));
})()'''

COUNTS = '''JSON.stringify({
  rows: document.querySelectorAll('tr.session-row').length,
  matching: Number(document.getElementById('session-count').dataset.matching),
  card: document.querySelector('#overview .card:nth-child(3) .value').textContent,
  notice: document.getElementById('left-out') !== null,
  ladders: [...document.querySelectorAll('details.session')].map((d) => ({
    id: Number(d.dataset.session),
    drawn: d.querySelector('svg.ladder') !== null,
    commands: d.querySelectorAll('g.row-cmd').length,
    findings: d.querySelectorAll('g.finding-marker').length,
    cut: d.querySelector('p.notice') !== null })) })'''


def report(imaptrace, work, cap):
    """Writes cap's report into work and checks the file; returns its
    name, path and text."""
    name = os.path.basename(cap)
    out = os.path.join(work, name + '.html')
    run(imaptrace, 'html', cap, out)
    with open(out, encoding='utf-8') as f:
        html = f.read()
    static_checks(name, html)
    return name, out, html


def sample_checks(browser, imaptrace, work, cap):
    name, out, html = report(imaptrace, work, cap)
    want = expected(imaptrace, cap)
    page = browser.open('file://' + os.path.abspath(out))
    ok(page.loaded, name + ': loads (%.2f s)' % page.load_s)
    page.eval(OPEN_ALL, await_promise=True)
    got = json.loads(page.eval(COUNTS))
    ok(got['matching'] == min(len(want), TABLE_ROWS) and got['rows'] == min(len(want), PAGE),
       name + ': %d sessions in the table, %d on its first page' % (got['matching'], got['rows']),
       'expected %d' % len(want))
    if len(want) > PAGE:
        page.eval("document.getElementById('page-next').click()")
        rest = page.eval("document.querySelectorAll('tr.session-row').length")
        ok(rest == min(len(want), 2 * PAGE) - PAGE, name + ': the next page has the next %d' % rest)
    ok(got['card'].replace(',', '') == str(len(want)), name + ': overview counts the sessions',
       got['card'])
    bad = []
    for lad in got['ladders']:
        w = want.get(lad['id'])
        if w is None or not lad['drawn']:
            bad.append('session %s not drawn' % lad['id'])
        elif not lad['cut'] and (lad['commands'] != w['commands'] or lad['findings'] != w['findings']):
            bad.append('session %d: %d commands, %d findings drawn; %d, %d in the events' % (
                lad['id'], lad['commands'], lad['findings'], w['commands'], w['findings']))
        elif lad['cut'] and lad['commands'] > min(w['commands'], LADDER_ROWS):
            bad.append('session %d: more commands drawn than sent' % lad['id'])
    ok(not bad and len(got['ladders']) == min(len(want), 100),
       name + ': %d ladders with every command and finding' % len(got['ladders']), '; '.join(bad[:3]))
    nfind = sum(w['findings'] for w in want.values())
    cut = any(lad['cut'] for lad in got['ladders'])
    ok(got['notice'] == (len(want) > 100 or cut),
       name + ': says what was left out exactly when something was')
    if nfind and got['ladders']:
        ok(want[got['ladders'][0]['id']]['findings'] > 0,
           name + ': the first ladder is a session with findings')
    if nfind:
        click_finding(page, name)
    ok(not page.errors, name + ': no console errors', '; '.join(page.errors[:3]))


def click_finding(page, name):
    """A real mouse click on the first finding marker opens its details."""
    where = json.loads(page.eval('''(() => {
      const m = document.querySelector('g.finding-marker');
      m.scrollIntoView({block: 'center'});
      const r = m.querySelector('circle').getBoundingClientRect();
      return JSON.stringify({x: r.x + r.width / 2, y: r.y + r.height / 2, id: m.dataset.id});
    })()'''))
    page.click_at(where['x'], where['y'])
    shown = wait_for(page, '''(() => {
      const m = document.querySelector('g.finding-marker');
      const p = m.closest('details').querySelector('.info');
      return !p.hidden && p.textContent.includes(m.dataset.id);
    })()''', 5)
    text = page.eval('''document.querySelector('g.finding-marker').closest('details')
      .querySelector('.info').textContent''') or ''
    ok(shown and all(k in text for k in ('severity', 'message', 'frame', 'stream offset')),
       name + ': clicking finding %s shows its details' % where['id'], text[:200])


# What each hostile capture must show, as text, somewhere in the page.
SHOWN = {
    'out-hostile-html.pcap': ['<script>', '</script>', '<img src=x onerror=', 'javascript:',
                              '<svg onload=', '\\xFF\\xFE\\xC0\\xAF<'],
    'out-escapes.pcap': ['\\x1B]0;PWNED\\x07', '\\x1B[2J\\x1B[H', '\\xC2\\x9B31m'],
}

HOSTILE_PROBE = '''JSON.stringify({
  pwned: window.__imtPwned === undefined ? null : window.__imtPwned,
  imgs: document.querySelectorAll('img').length,
  scripts: document.querySelectorAll('script').length,
  links: [...document.querySelectorAll('a')].map((a) => a.getAttribute('href'))
         .filter((h) => !/^#s-[0-9]+$/.test(h)),
  handlers: [...document.querySelectorAll('*')].filter((e) =>
         [...e.attributes].some((a) => /^on/i.test(a.name))).length,
  text: document.body.innerText })'''


def hostile_checks(browser, imaptrace, work, cap):
    name, out, html = report(imaptrace, work, cap)
    # The same report without its CSP: the escaping alone must hold.
    bare = os.path.join(work, name + '.nocsp.html')
    with open(bare, 'w', encoding='utf-8') as f:
        f.write(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', '', html))
    for label, path in (('with CSP', out), ('without CSP', bare)):
        page = browser.open('file://' + os.path.abspath(path))
        page.eval(OPEN_ALL, await_promise=True)
        # every ladder row clicked: the details panel is built from the data too
        page.eval('''document.querySelectorAll('svg.ladder g.row').forEach((g) =>
                     g.dispatchEvent(new MouseEvent('click', {bubbles: true})))''')
        time.sleep(0.3)
        got = json.loads(page.eval(HOSTILE_PROBE))
        ok(got['pwned'] is None, '%s %s: no script from the capture ran' % (name, label),
           'window.__imtPwned = %r' % got['pwned'])
        ok(got['imgs'] == 0 and got['scripts'] == 4 and not got['links'] and got['handlers'] == 0,
           '%s %s: no element, link or handler from the capture' % (name, label), repr(got)[:300])
        missing = [s for s in SHOWN.get(name, []) if s not in got['text']]
        ok(name in SHOWN and not missing, '%s %s: the hostile strings are shown as text' % (name, label),
           'missing %r' % missing)
        ok(not page.errors, '%s %s: no console errors' % (name, label), '; '.join(page.errors[:3]))


def main(argv):
    mode = 'samples'
    if argv and argv[0] in ('--hostile', '--screenshot', '--time'):
        mode = argv.pop(0)
    if mode == '--time':
        with cdp.Browser() as b:
            t0 = time.time()
            page = b.open('file://' + os.path.abspath(argv[0]), timeout=120)
            # drawn: the table, and the diagrams that open by themselves
            wait_for(page, """document.querySelector('tr.session-row') !== null &&
                document.querySelectorAll('details.session[open] svg.ladder').length ===
                document.querySelectorAll('details.session[open]').length""", 60)
            print('loaded in %.2f s, drawn in %.2f s, %d errors' % (
                page.load_s, time.time() - t0, len(page.errors)))
            for e in page.errors[:5]:
                print('  ' + e)
        return 0
    png = argv.pop(0) if mode == '--screenshot' else None
    imaptrace, work, caps = argv[0], argv[1], argv[2:]
    with cdp.Browser() as b:
        for cap in caps:
            try:
                if mode == '--hostile':
                    hostile_checks(b, imaptrace, work, cap)
                elif mode == '--screenshot':
                    out = os.path.join(work, 'shot.html')
                    run(imaptrace, 'html', cap, out)
                    page = b.open('file://' + os.path.abspath(out))
                    page.call('Emulation.setDeviceMetricsOverride', width=1280,
                              height=1900, deviceScaleFactor=1, mobile=False)
                    if page.eval("document.querySelector('g.finding-marker') !== null"):
                        click_finding(page, 'screenshot')
                    page.eval('window.scrollTo(0, 0)')
                    page.screenshot(png, 1280, 1900)
                else:
                    sample_checks(b, imaptrace, work, cap)
            except Exception as e:  # one broken capture must not hide the rest
                ok(False, os.path.basename(cap) + ': browser check', repr(e)[:300])
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
