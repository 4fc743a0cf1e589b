'use strict';
/*
 * The imaptrace report: draws the overview, the charts, the session table
 * and the ladder diagrams from the JSON blocks that imaptrace wrote into
 * the page.  Every value from the capture is attacker-controlled: it goes
 * into the page only through text nodes and setAttribute() of plain
 * attributes (class, title, data-*), never as markup, and never into an
 * href or src.
 */
(function () {
  const SVGNS = 'http://www.w3.org/2000/svg';
  const SEV = ['info', 'low', 'medium', 'high'];
  const data = (id) => JSON.parse(document.getElementById(id).textContent);
  const S = data('imt-summary');
  const T = data('imt-sessions');
  const D = data('imt-details');
  const app = document.getElementById('app');

  /* ---- building elements ---------------------------------------------- */
  function add(parent, kids) {
    for (const k of kids) {
      if (k === null || k === undefined || k === false) continue;
      parent.appendChild(typeof k === 'object' ? k : document.createTextNode(String(k)));
    }
    return parent;
  }
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const a in attrs || {}) e.setAttribute(a, attrs[a]);
    return add(e, kids);
  }
  function sv(tag, attrs, ...kids) {
    const e = document.createElementNS(SVGNS, tag);
    for (const a in attrs || {}) e.setAttribute(a, attrs[a]);
    return add(e, kids);
  }
  function tip(node, text) {
    node.appendChild(sv('title', {}, text));
    return node;
  }

  /* ---- numbers for people -------------------------------------------- */
  /* one formatter: toLocaleString() builds a new one per call, and that
     costs seconds over a table of thousands of rows */
  const NF = new Intl.NumberFormat('en-US');
  const int = (n) => NF.format(Number(n || 0));
  function ms(v) {
    v = Number(v || 0);
    const a = Math.abs(v);
    if (a >= 60000) return (v / 60000).toFixed(1) + ' min';
    if (a >= 1000) return (v / 1000).toFixed(a >= 10000 ? 1 : 2) + ' s';
    if (a >= 10) return v.toFixed(1) + ' ms';
    return v.toFixed(3) + ' ms';
  }
  function bytes(n) {
    n = Number(n || 0);
    if (n >= 1e9) return (n / 1e9).toFixed(2) + ' GB';
    if (n >= 1e6) return (n / 1e6).toFixed(1) + ' MB';
    if (n >= 1e3) return (n / 1e3).toFixed(1) + ' kB';
    return n + ' B';
  }
  function cut(s, n) {
    s = String(s === null || s === undefined ? '' : s);
    return s.length > n ? s.slice(0, n - 1) + '\u2026' : s;
  }
  function sevChips(f) {
    const span = el('span', { class: 'chips' });
    for (let i = 3; i >= 0; i--)
      if (f[i] > 0) add(span, [el('span', { class: 'chip sev-' + SEV[i], title: SEV[i] }, int(f[i]) + ' ' + SEV[i])]);
    if (!span.firstChild) add(span, [el('span', { class: 'none' }, '\u2013')]);
    return span;
  }

  /* ---- header and overview -------------------------------------------- */
  const tot = S.totals || {};
  const vio = tot.violations || {};
  const nFind = SEV.reduce((a, s) => a + (vio[s] || 0), 0);
  add(app, [el('header', {},
    el('h1', {}, 'imaptrace report'),
    el('p', { class: 'files' }, (S.captures || []).length === 1 ? 'Capture: ' : 'Captures: ',
      ...(S.captures || []).map((c, i) => el('span', { class: 'file' }, (i ? ', ' : '') + c.file,
        c.error ? el('span', { class: 'error' }, ' (' + c.error + ')') : null))))]);

  function card(label, value, sub) {
    return el('div', { class: 'card' }, el('div', { class: 'label' }, label),
      el('div', { class: 'value' }, value), sub ? el('div', { class: 'sub' }, sub) : null);
  }
  /* first -> last, the date once when both are on the same day */
  function span() {
    if (!S.first) return '';
    const [d1, t1] = S.first.replace('Z', '').split('T'), [d2, t2] = S.last.replace('Z', '').split('T');
    return d1 + ' ' + t1 + ' \u2192 ' + (d1 === d2 ? '' : d2 + ' ') + t2 + ' UTC';
  }
  const res = S.results || [0, 0, 0, 0];
  const findChips = el('div', { class: 'value' });
  for (let i = 3; i >= 0; i--)
    add(findChips, [el('span', { class: 'chip sev-' + SEV[i] }, int(vio[SEV[i]] || 0) + ' ' + SEV[i])]);
  add(app, [el('section', { class: 'cards', id: 'overview' },
    card('Time span', S.span_s !== undefined ? ms(S.span_s * 1000) : '\u2013', span()),
    card('Packets', int(S.frames), bytes(S.bytes) + ' captured'),
    card('Sessions', int(S.sessions), int(tot.ignored_flows || 0) + ' other TCP flows ignored'),
    card('Commands', int(S.commands), int(res[0]) + ' OK \u00b7 ' + int(res[1]) + ' NO \u00b7 ' +
      int(res[2]) + ' BAD' + (res[3] ? ' \u00b7 ' + int(res[3]) + ' other' : '')),
    el('div', { class: 'card wide' }, el('div', { class: 'label' }, 'Findings (' + int(nFind) + ')'), findChips))]);

  /* what the limits left out, said plainly */
  const lim = S.limits || {};
  const notes = [];
  if (S.sessions > T.length)
    notes.push('The session table lists ' + int(T.length) + ' of ' + int(S.sessions) +
      ' sessions: those with findings first, then those with the slowest commands (limit ' +
      int(lim.table_rows) + '). The overview and the charts count every session.');
  if (lim.details_left_out > 0)
    notes.push('Ladder diagrams are drawn for ' + int(D.length) + ' sessions, those with findings first, then the slowest; ' +
      int(lim.details_left_out) + ' sessions are not drawn (limit ' + int(lim.details) + ').');
  const cutLadders = D.filter((d) => d.left_out > 0).length;
  if (cutLadders)
    notes.push(int(cutLadders) + ' ladder diagrams stop after ' + int(lim.ladder_rows) +
      ' rows; each says how many events it leaves out.');
  if (notes.length)
    add(app, [el('section', { class: 'notice', id: 'left-out' }, el('strong', {}, 'Not everything is shown. '),
      ...notes.map((n) => el('p', {}, n)))]);

  /* ---- charts -------------------------------------------------------- */
  const charts = el('section', { class: 'charts', id: 'charts' });
  add(app, [el('h2', {}, 'Charts'), charts]);

  function latencyChart() {
    const rows = (S.latency || []).slice().sort((a, b) => b.n - a.n);
    const edges = S.lat_edges || [];
    const nb = edges.length + 1;
    const cw = 18, rh = 22, left = 150, top = 34, right = 210;
    const w = left + nb * cw + right, h = top + rows.length * rh + 30;
    const svg = sv('svg', { class: 'chart', viewBox: '0 0 ' + w + ' ' + h, width: w, height: h, role: 'img' });
    const elab = (e) => e >= 1000 ? e / 1000 + 's' : e + 'ms';
    for (let i = 0; i < edges.length; i++) {
      if (i % 3 !== 0) continue;
      add(svg, [sv('line', { x1: left + (i + 1) * cw, x2: left + (i + 1) * cw, y1: top - 4, y2: h - 28, class: 'grid' }),
        sv('text', { x: left + (i + 1) * cw, y: top - 8, class: 'axis', 'text-anchor': 'middle' }, elab(edges[i]))]);
    }
    add(svg, [sv('text', { x: left + nb * cw + 8, y: top - 8, class: 'axis' }, 'results \u00b7 mean \u00b7 max')]);
    rows.forEach((r, j) => {
      const y = top + j * rh;
      const peak = Math.max(...r.counts);
      add(svg, [sv('text', { x: left - 8, y: y + 15, class: 'label', 'text-anchor': 'end' }, cut(r.name, 20))]);
      r.counts.forEach((c, i) => {
        if (!c) return;
        const lo = i === 0 ? 0 : edges[i - 1], hi = i < edges.length ? edges[i] : Infinity;
        const cell = sv('rect', { x: left + i * cw + 1, y: y + 2, width: cw - 2, height: rh - 4, rx: 2,
          class: 'heat', 'fill-opacity': (0.15 + 0.85 * c / peak).toFixed(2) });
        tip(cell, r.name + ': ' + int(c) + ' results ' + (hi === Infinity ? 'of ' + elab(lo) + ' or more' :
          'from ' + elab(lo) + ' to ' + elab(hi)));
        add(svg, [cell]);
      });
      add(svg, [sv('text', { x: left + nb * cw + 8, y: y + 15, class: 'label' },
        int(r.n) + ' \u00b7 ' + ms(r.mean) + ' \u00b7 ' + ms(r.max))]);
    });
    add(svg, [sv('text', { x: left, y: h - 8, class: 'axis' }, 'latency from command to tagged result (log scale)')]);
    return el('figure', { id: 'chart-latency' }, el('figcaption', {}, 'Latency by command'),
      rows.length ? svg : el('p', { class: 'empty' }, 'No command was answered.'));
  }

  function activityChart() {
    const a = S.activity || { cmd: [], err: [], find: [] };
    const n = a.cmd.length, w = 1100, h = 220, left = 50, bottom = 28, top = 10;
    const peak = Math.max(1, ...a.cmd, ...a.err, ...a.find);
    const bw = (w - left - 10) / Math.max(n, 1);
    const y = (v) => top + (h - top - bottom) * (1 - v / peak);
    const svg = sv('svg', { class: 'chart', viewBox: '0 0 ' + w + ' ' + h, width: w, height: h, role: 'img' });
    for (const f of [0, 0.5, 1]) {
      const v = Math.round(peak * f);
      add(svg, [sv('line', { x1: left, x2: w - 10, y1: y(v), y2: y(v), class: 'grid' }),
        sv('text', { x: left - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, int(v))]);
    }
    for (let i = 0; i < n; i++) {
      const x = left + i * bw;
      const when = ms(i * a.bucket_s * 1000) + ' to ' + ms((i + 1) * a.bucket_s * 1000);
      if (a.cmd[i]) add(svg, [tip(sv('rect', { x: x + 0.5, y: y(a.cmd[i]), width: Math.max(bw - 1, 1), height: y(0) - y(a.cmd[i]), class: 'bar-cmd' }),
        int(a.cmd[i]) + ' commands, ' + when)]);
      if (a.err[i]) add(svg, [tip(sv('rect', { x: x + 0.5, y: y(a.err[i]), width: Math.max(bw - 1, 1), height: y(0) - y(a.err[i]), class: 'bar-err' }),
        int(a.err[i]) + ' NO/BAD results, ' + when)]);
      if (a.find[i]) add(svg, [tip(sv('circle', { cx: x + bw / 2, cy: y(a.find[i]), r: 3, class: 'dot-find' }),
        int(a.find[i]) + ' findings, ' + when)]);
    }
    const span = n * a.bucket_s * 1000;
    add(svg, [sv('text', { x: left, y: h - 8, class: 'axis' }, '0'),
      sv('text', { x: w - 10, y: h - 8, class: 'axis', 'text-anchor': 'end' }, '+' + ms(span))]);
    return el('figure', { id: 'chart-activity' }, el('figcaption', {}, 'Commands, errors and findings over time'),
      svg, el('p', { class: 'legend' }, el('span', { class: 'key bar-cmd' }), ' commands ',
        el('span', { class: 'key bar-err' }), ' NO/BAD results ', el('span', { class: 'key dot-find' }), ' findings',
        ' (bars of ' + ms(a.bucket_s * 1000) + ')'));
  }

  function findingsChart() {
    const f = Object.entries(S.findings || {}).sort((a, b) => b[1][1] - a[1][1] || b[1][0] - a[1][0]);
    const rh = 22, left = 190, w = 470, h = f.length * rh + 10;
    const peak = Math.max(1, ...f.map((x) => x[1][0]));
    const svg = sv('svg', { class: 'chart', viewBox: '0 0 ' + w + ' ' + h, width: w, height: h, role: 'img' });
    f.forEach(([id, [n, sev]], j) => {
      const y = 4 + j * rh, bw = Math.max(2, (w - left - 60) * n / peak);
      add(svg, [sv('text', { x: left - 8, y: y + 14, class: 'label', 'text-anchor': 'end' }, id),
        tip(sv('rect', { x: left, y: y + 2, width: bw, height: rh - 6, rx: 2, class: 'fill-' + (SEV[sev] || 'info') }),
          id + ': ' + int(n) + ' (' + (SEV[sev] || '?') + ')'),
        sv('text', { x: left + bw + 6, y: y + 14, class: 'label' }, int(n))]);
    });
    return el('figure', { id: 'chart-findings' }, el('figcaption', {}, 'Findings by id'),
      f.length ? svg : el('p', { class: 'empty' }, 'No findings.'));
  }
  add(charts, [latencyChart(), findingsChart(), activityChart()]);

  /* ---- session table ---------------------------------------------------- */
  const drawn = new Set(D.map((d) => d.id));
  const cols = [
    ['#', (r) => Number(r.id)], ['start', (r) => r.start || ''], ['client', (r) => r.client],
    ['server', (r) => r.server], ['user', (r) => r.user || ''], ['TLS', (r) => (r.tls ? 1 : 0)],
    ['state', (r) => r.state], ['end', (r) => r.reason], ['duration', (r) => Number(r.dur)],
    ['slowest', (r) => Number(r.maxlat)], ['cmds', (r) => r.cmds], ['OK', (r) => r.ok],
    ['NO', (r) => r.no], ['BAD', (r) => r.bad],
    ['findings', (r) => r.f[3] * 1e9 + r.f[2] * 1e6 + r.f[1] * 1e3 + r.f[0]],
  ];
  /* A page of rows at a time: a browser lays out a table of thousands of
     rows in seconds, a page of PAGE rows at once. */
  const PAGE = 100;
  let sortCol = 0, sortDir = 1, page = 0;
  const filter = el('input', { type: 'search', id: 'session-filter', placeholder: 'filter: address, user, state\u2026' });
  const onlyFind = el('input', { type: 'checkbox', id: 'only-findings' });
  const tbody = el('tbody');
  const head = el('tr');
  const count = el('span', { class: 'count', id: 'session-count' });
  const prev = el('button', { type: 'button', id: 'page-prev' }, '\u2039 previous');
  const next = el('button', { type: 'button', id: 'page-next' }, 'next \u203a');
  cols.forEach(([name], i) => {
    const th = el('th', { 'data-col': i }, name);
    th.addEventListener('click', () => {
      sortDir = sortCol === i ? -sortDir : (i >= 8 ? -1 : 1);
      sortCol = i;
      page = 0;
      fillTable();
    });
    add(head, [th]);
  });
  function fillTable() {
    const q = filter.value.trim().toLowerCase();
    const key = cols[sortCol][1];
    const rows = T.filter((r) => (!onlyFind.checked || r.f.some((x) => x > 0)) &&
      (!q || [r.id, r.client, r.server, r.user, r.state, r.reason].join(' ').toLowerCase().includes(q)));
    rows.sort((a, b) => { const x = key(a), y = key(b); return (x < y ? -1 : x > y ? 1 : 0) * sortDir || a.id - b.id; });
    page = Math.max(0, Math.min(page, Math.ceil(rows.length / PAGE) - 1));
    tbody.textContent = '';
    for (const r of rows.slice(page * PAGE, (page + 1) * PAGE)) {
      const id = el('td', { class: 'num' });
      add(id, [drawn.has(r.id) ? el('a', { href: '#s-' + Number(r.id) }, String(r.id)) : String(r.id)]);
      add(tbody, [el('tr', { class: 'session-row', 'data-session': r.id }, id,
        el('td', { class: 'ts' }, (r.start || '').replace('T', ' ').replace('Z', '')),
        el('td', {}, r.client), el('td', {}, r.server), el('td', {}, r.user || '\u2013'),
        el('td', {}, r.tls ? 'yes' : 'no'), el('td', {}, r.state), el('td', {}, r.reason),
        el('td', { class: 'num' }, ms(r.dur)), el('td', { class: 'num' }, ms(r.maxlat)),
        el('td', { class: 'num' }, int(r.cmds)), el('td', { class: 'num' }, int(r.ok)),
        el('td', { class: 'num' + (r.no ? ' warn' : '') }, int(r.no)),
        el('td', { class: 'num' + (r.bad ? ' bad' : '') }, int(r.bad)),
        el('td', {}, sevChips(r.f)))]);
    }
    count.textContent = rows.length ? 'sessions ' + int(page * PAGE + 1) + '\u2013' +
      int(Math.min(rows.length, (page + 1) * PAGE)) + ' of ' + int(rows.length) +
      (rows.length < T.length ? ' (filtered from ' + int(T.length) + ')' : '') : 'no session matches';
    count.setAttribute('data-matching', rows.length);
    prev.disabled = page === 0;
    next.disabled = (page + 1) * PAGE >= rows.length;
    head.querySelectorAll('th').forEach((th, i) => th.setAttribute('class', i === sortCol ? (sortDir > 0 ? 'asc' : 'desc') : ''));
  }
  filter.addEventListener('input', () => { page = 0; fillTable(); });
  onlyFind.addEventListener('change', () => { page = 0; fillTable(); });
  prev.addEventListener('click', () => { page--; fillTable(); });
  next.addEventListener('click', () => { page++; fillTable(); });
  add(app, [el('h2', {}, 'Sessions'), el('div', { class: 'controls' }, filter,
    el('label', {}, onlyFind, ' only sessions with findings'), count, prev, next),
  el('div', { class: 'table-wrap' }, el('table', { id: 'sessions' }, el('thead', {}, head), tbody))]);
  fillTable();

  /* findings that belong to no session */
  const G = S.global_findings || [];
  if (G.length) {
    add(app, [el('h2', {}, 'Findings outside any session'),
      el('ul', { class: 'global' }, ...G.map((v) => el('li', {}, el('span', { class: 'chip sev-' + v.sev }, v.sev), ' ',
        el('code', {}, v.id), ' frame ' + v.f + ': ' + (v.msg || '') + (v.detail ? ' \u2014 ' + v.detail : ''))))]);
  }

  /* ---- ladder diagrams -------------------------------------------------- */
  const byId = new Map(T.map((r) => [r.id, r]));
  const W = 1100, XC = 230, XS = 900, TX = 8;

  function info(panel, title, pairs) {
    panel.textContent = '';
    const dl = el('dl');
    for (const [k, v] of pairs)
      if (v !== undefined && v !== null && v !== '') add(dl, [el('dt', {}, k), el('dd', {}, String(v))]);
    add(panel, [el('h4', {}, title), dl]);
    panel.removeAttribute('hidden');
  }
  function litText(l) {
    return l && l.count ? ' {' + l.count + (l.count === 1 ? ' literal, ' : ' literals, ') + bytes(l.bytes) + '}' : '';
  }
  function sampleText(s) {
    return '* ' + (s.num !== undefined ? s.num + ' ' : '') + (s.name || '') +
      (s.code ? ' [' + s.code + (s.ca ? ' ' + s.ca : '') + ']' : '') +
      (s.text ? ' ' + s.text : '') + (s.data ? ' ' + s.data : '') + litText(s.lit);
  }

  function ladder(d, host) {
    const r = byId.get(d.id) || {};
    const panel = el('div', { class: 'info', hidden: '' });
    const svg = sv('svg', { class: 'ladder', width: W });
    const bg = sv('g'), fg = sv('g');
    add(svg, [bg, fg]);
    let y = 64, prevT = null;
    const open = new Map();   /* tag -> [y, command] for IDLE, AUTHENTICATE, ... */
    add(fg, [sv('text', { x: XC, y: 20, class: 'who', 'text-anchor': 'middle' }, 'client ' + (r.client || '')),
      sv('text', { x: XS, y: 20, class: 'who', 'text-anchor': 'middle' }, 'server ' + (r.server || '')),
      sv('text', { x: TX, y: 20, class: 'axis' }, 'time since start')]);

    function clickable(g, title, pairs) {
      g.setAttribute('tabindex', '0');
      const show = () => info(panel, title, pairs);
      g.addEventListener('click', show);
      g.addEventListener('keydown', (e) => { if (e.key === 'Enter') show(); });
      return g;
    }
    function arrow(cls, c2s, label, right, t, dashed) {
      const x1 = c2s ? XC : XS, x2 = c2s ? XS : XC;
      const g = sv('g', { class: 'row ' + cls });
      add(g, [sv('line', { x1: x1, x2: x2 + (c2s ? -7 : 7), y1: y, y2: y, class: 'arrow' + (dashed ? ' dashed' : '') }),
        sv('path', { d: c2s ? 'M' + (x2 - 8) + ' ' + (y - 4) + ' L' + x2 + ' ' + y + ' L' + (x2 - 8) + ' ' + (y + 4) + 'Z'
          : 'M' + (x2 + 8) + ' ' + (y - 4) + ' L' + x2 + ' ' + y + ' L' + (x2 + 8) + ' ' + (y + 4) + 'Z', class: 'head' }),
        tip(sv('text', { x: (XC + XS) / 2, y: y - 5, 'text-anchor': 'middle', class: 'msg' }, cut(label, 90)), label)]);
      if (right) add(g, [right]);
      add(g, [sv('text', { x: TX, y: y + 4, class: 'time' }, '+' + ms(t))]);
      add(fg, [g]);
      return g;
    }
    function band(cls, label, t) {
      const g = sv('g', { class: 'row band ' + cls });
      add(g, [sv('rect', { x: XC - 40, y: y - 10, width: XS - XC + 80, height: 18, rx: 3 }),
        sv('text', { x: (XC + XS) / 2, y: y + 3, 'text-anchor': 'middle' }, label)]);
      if (t !== undefined) add(g, [sv('text', { x: TX, y: y + 4, class: 'time' }, '+' + ms(t))]);
      add(fg, [g]);
      return g;
    }
    for (const it of d.rows) {
      if (prevT !== null && it.t - prevT >= 1000) {
        add(fg, [sv('text', { x: (XC + XS) / 2, y: y - 4, 'text-anchor': 'middle', class: 'pause' },
          '\u22ef ' + ms(it.t - prevT) + ' later \u22ef')]);
        y += 18;
      }
      prevT = it.t;
      const where = [['frame', it.f], ['direction', it.dir], ['stream offset', it.o], ['time since start', ms(it.t)]];
      switch (it.k) {
        case 'c': {
          const label = it.tag + ' ' + it.cmd + (it.args ? ' ' + it.args : '') + (it.args_cut ? ' \u2026' : '') + litText(it.lit);
          const g = clickable(arrow('row-cmd', true, label, null, it.t), 'command ' + it.tag + ' ' + it.cmd,
            [['tag', it.tag], ['command', it.cmd], ['arguments', it.args], ['literals', it.lit ? it.lit.count + ' (' + bytes(it.lit.bytes) + ')' : '']].concat(where));
          g.setAttribute('data-tag', it.tag);
          if (['IDLE', 'AUTHENTICATE', 'STARTTLS', 'COMPRESS'].includes(it.cmd)) open.set(it.tag, [y, it.cmd]);
          if (it.n) {
            y += 16;
            const names = [...new Set(it.rs.map((s) => s.name))].join(', ');
            const fold = sv('g', { class: 'row fold' });
            add(fold, [sv('text', { x: XS - 8, y: y + 2, 'text-anchor': 'end', class: 'folded' },
              '\u21b3 ' + int(it.n) + ' untagged ' + (it.n === 1 ? 'response' : 'responses') + ': ' + cut(names, 60))]);
            add(fg, [clickable(fold, int(it.n) + ' untagged responses to ' + it.tag + (it.n > it.rs.length ? ' (first ' + it.rs.length + ')' : ''),
              it.rs.map((s) => ['frame ' + s.f, sampleText(s)]))]);
          }
          break;
        }
        case 'r': {
          const st = String(it.st || '');
          const cls = st === 'OK' ? 'ok' : st === 'NO' ? 'no' : 'bad';
          let badge = null;
          if (it.lat !== undefined) {
            badge = sv('g', { class: 'lat ' + cls });
            add(badge, [sv('rect', { x: XC + 8, y: y + 3, width: 84, height: 15, rx: 7 }),
              sv('text', { x: XC + 50, y: y + 14, 'text-anchor': 'middle' }, ms(it.lat))]);
          }
          const label = it.tag + ' ' + st + (it.code ? ' [' + it.code + (it.ca ? ' ' + it.ca : '') + ']' : '') + (it.text ? ' ' + it.text : '');
          const g = clickable(arrow('row-result status-' + cls, false, label, badge, it.t), 'result ' + it.tag + ' ' + st,
            [['tag', it.tag], ['command', it.cmd], ['status', st], ['code', it.code ? it.code + (it.ca ? ' ' + it.ca : '') : ''],
              ['text', it.text], ['latency', it.lat !== undefined ? ms(it.lat) : 'none: no command had this tag'], ['command frame', it.cf]].concat(where));
          g.setAttribute('data-tag', it.tag);
          const o = open.get(it.tag);
          if (o) {
            open.delete(it.tag);
            add(bg, [sv('rect', { x: XC + 1, y: o[0], width: XS - XC - 2, height: y - o[0], class: 'span span-' + o[1].toLowerCase() }),
              sv('text', { x: XS + 8, y: o[0] + 14, class: 'span-label' }, o[1])]);
          }
          y += 6;
          break;
        }
        case 'u': {
          const names = [...new Set(it.rs.map((s) => s.name))].join(', ');
          add(fg, [clickable(arrow('row-untagged', false, int(it.n) + ' untagged: ' + (it.n === 1 ? sampleText(it.rs[0]) : names), null, it.t, true),
            int(it.n) + ' untagged responses', it.rs.map((s) => ['frame ' + s.f, sampleText(s)]).concat(where))]);
          break;
        }
        case 'g':
          add(fg, [clickable(arrow('row-greeting', false, 'greeting * ' + it.st + (it.code ? ' [' + it.code + ']' : '') + ' ' + (it.text || ''), null, it.t),
            'greeting', [['status', it.st], ['code', it.code], ['text', it.text]].concat(where))]);
          break;
        case '+':
          add(fg, [clickable(arrow('row-cont', false, '+ ' + (it.text || '') + (it.for ? '  (for ' + it.for + ')' : ''), null, it.t, true),
            'continuation', [['text', it.text], ['for', it.for], ['tag', it.tag]].concat(where))]);
          break;
        case 'd':
          add(fg, [clickable(arrow('row-data', true, '[' + it.kind + '] ' + (it.text || ''), null, it.t, true),
            'client data', [['kind', it.kind], ['text', it.text]].concat(where))]);
          break;
        case 's':
          band('state', 'state ' + it.from + ' \u2192 ' + it.to + (it.cause ? ' (' + it.cause + ')' : ''), it.t);
          break;
        case 'tls':
          band('tls', 'TLS from here' + (it.after ? ' (after ' + it.after + ')' : '') + ': bytes counted, not parsed', it.t);
          break;
        case 'z':
          band('compress', 'COMPRESS ' + (it.mech || '') + ' from here' + (it.after ? ' (after ' + it.after + ')' : ''), it.t);
          break;
        case 'gap':
          clickable(band('gap', 'gap: ' + int(it.bytes) + ' bytes missing ' + (it.dir === 'c2s' ? 'client \u2192 server' : 'server \u2192 client') +
            ', resync ' + it.resync, it.t), 'gap', [['bytes', it.bytes], ['resync', it.resync], ['detail', it.detail]].concat(where));
          break;
        case 'm':
          add(fg, [clickable(arrow('row-data', it.dir === 'c2s', 'message ' + (it.subj || '(no subject)') +
            (it.att && it.att.length ? ' (' + it.att.length + ' attached)' : ''), null, it.t, true),
            'message ' + it.path, [['file', it.path], ['subject', it.subj], ['from', it.from], ['to', it.to], ['SHA-256', it.sha],
              ['attachments', (it.att || []).map((a) => (a.filename || a.part) + ' ' + a.sha256).join(', ')]].concat(where))]);
          break;
        case 'v': {
          const x = it.dir === 's2c' ? XS + 16 : XC - 16;
          const g = sv('g', { class: 'row finding-marker sev-' + it.sev, 'data-id': it.id });
          add(g, [sv('circle', { cx: x, cy: y, r: 7 }),
            sv('text', { x: x, y: y + 4, 'text-anchor': 'middle', class: 'bang' }, '!'),
            sv('text', { x: it.dir === 's2c' ? x + 12 : x - 12, y: y + 4, 'text-anchor': it.dir === 's2c' ? 'start' : 'end', class: 'fid' }, it.id),
            sv('text', { x: TX, y: y + 4, class: 'time' }, '+' + ms(it.t))]);
          tip(g, it.sev + ' ' + it.id + ': ' + it.msg);
          add(fg, [clickable(g, 'finding ' + it.id, [['id', it.id], ['severity', it.sev], ['category', it.cat], ['RFC', it.rfc],
            ['message', it.msg], ['detail', it.detail], ['tag', it.tag], ['first copy in frame', it.other_frame],
            ['limit', it.limit], ['value', it.value]].concat(where))]);
          break;
        }
      }
      y += 26;
    }
    for (const [tag, o] of open)
      add(bg, [sv('rect', { x: XC + 1, y: o[0], width: XS - XC - 2, height: y - o[0] - 10, class: 'span span-' + o[1].toLowerCase() }),
        sv('text', { x: XS + 8, y: o[0] + 14, class: 'span-label' }, o[1] + ' (' + tag + ', no result)')]);
    add(bg, [sv('line', { x1: XC, x2: XC, y1: 30, y2: y, class: 'life' }), sv('line', { x1: XS, x2: XS, y1: 30, y2: y, class: 'life' })]);
    svg.setAttribute('height', y + 4);
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + (y + 4));
    add(host, [el('div', { class: 'ladder-wrap' }, svg), panel]);
    if (d.left_out > 0)
      add(host, [el('p', { class: 'notice' }, int(d.left_out) + ' more events of this session are not drawn (limit: ' +
        int(lim.ladder_rows) + ' rows per session).')]);
  }

  add(app, [el('h2', { id: 'ladders' }, 'Session diagrams'),
    el('p', { class: 'hint' }, D.length ? 'Sessions with findings first, then the slowest. Click an arrow or a finding marker for its details.' :
      'No session to draw.')]);
  D.forEach((d, i) => {
    const r = byId.get(d.id) || { f: [0, 0, 0, 0] };
    const host = el('div', { class: 'ladder-host' });
    const det = el('details', { class: 'session', id: 's-' + Number(d.id), 'data-session': d.id },
      el('summary', {}, el('strong', {}, '#' + d.id), ' ' + (r.client || '') + ' \u2192 ' + (r.server || ''),
        r.user ? el('span', { class: 'user' }, ' user ' + r.user) : null,
        ' \u00b7 ' + int(r.cmds) + ' commands \u00b7 slowest ' + ms(r.maxlat) + ' \u00b7 ', sevChips(r.f || [0, 0, 0, 0])),
      host);
    let drawnOnce = false;
    det.addEventListener('toggle', () => {
      if (det.open && !drawnOnce) { drawnOnce = true; ladder(d, host); }
    });
    if (i < 3) det.setAttribute('open', '');
    add(app, [det]);
  });
  add(app, [el('footer', {}, 'Written by imaptrace. Everything in this page came from the capture and is shown as text.')]);
})();
