/* Rackscope UI behaviour: live refresh of #main, floor-plan rack HUD, keyboard shortcuts, harmless easter eggs and the editors (gutter, Tab, YAML highlighting). */
(() => {
  'use strict';
  const d = document, root = d.documentElement, $ = id => d.getElementById(id);
  const ICON = { OK: '✔', WARN: '▲', CRIT: '✖', UNKNOWN: '?', NONE: '–' };
  const on = (t, ev, f, o) => t.addEventListener(ev, f, o);
  const inField = el => !!el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  const calm = () => !!(window.matchMedia && matchMedia('(prefers-reduced-motion: reduce)').matches);
  window.rackscopeUpdates = window.rackscopeUpdates || 0;

  /* ---- Live updates ---- */
  let busy = false, pending = false;
  // Swapping main under someone typing in a filter would eat their input, so wait for blur.
  // Nor under a half-filled edit form: the swap would reset what was typed or picked.
  // A select with no option marked selected shows its first: that is not a change.
  const changed = e => {
    if (e.tagName === 'SELECT') { const o = [...e.options]; return e.selectedIndex !== Math.max(0, o.findIndex(x => x.defaultSelected)); }
    if (e.type === 'checkbox' || e.type === 'radio') return e.checked !== e.defaultChecked;
    return e.value !== e.defaultValue;
  };
  const dirty = m => [...m.querySelectorAll('form.edit-form input:not([type=hidden]), form.edit-form select')].some(changed);
  const blocked = () => { const m = $('main'), a = d.activeElement; return !!(m && ((a && m.contains(a) && inField(a)) || dirty(m))); };
  function refresh() {
    const main = $('main');
    // A tester's answer came from a POST: fetching the page again would drop it.
    if (!main || main.querySelector('[data-hold]')) return;
    if (busy || blocked() || d.hidden) { pending = true; return; }
    busy = true; pending = false;
    fetch(location.href, { headers: { 'X-Rackscope-Fragment': 'main' }, cache: 'no-store' })
      // 401: the session ended; the full page will send the browser to sign in.
      .then(r => { if (r.status === 401) { location.reload(); return null; } return r.ok ? r.text() : null; })
      .then(html => { if (html) swap(html); })
      .catch(() => {})
      .then(() => { busy = false; if (pending) setTimeout(refresh, 0); });
  }
  function swap(html) {
    const m = $('main');
    if (!m) return;
    if (blocked()) { pending = true; return; }
    const t = d.createElement('template');
    t.innerHTML = html;
    // querySelector, not firstElementChild: tolerate a server that answers with the whole page.
    const n = t.content.querySelector('#main');
    if (!n) return;
    const open = [...m.querySelectorAll('details[open][id]')].map(e => e.id);
    const a = d.activeElement, focusId = a && m.contains(a) && a.id, x = scrollX, y = scrollY;
    // Panels carry no id, so inner scroll offsets are matched by document order.
    const SC = '.panel,.elevations,pre,[id]';
    const scrolled = [...m.querySelectorAll(SC)].map((e, i) => [i, e.scrollLeft, e.scrollTop]).filter(s => s[1] || s[2]);
    // A rack under the pointer keeps its HUD across the update, with the new state: the pointer has not moved.
    const racks = () => [...d.querySelectorAll('.floorplan [data-name], .rack-svg [data-name]')];
    const held = hudFor && !hud.hidden ? [racks().indexOf(hudFor), hudFor.getAttribute('href'), hud.style.left, hud.style.top] : null;
    hideHud();
    m.replaceWith(n);
    // The sidebar tree's dots follow too; aisles someone folded stay folded.
    const tree = $('tree'), nt = t.content.querySelector('#tree');
    if (tree && nt) {
      const shut = new Set([...tree.querySelectorAll('details:not([open]) > summary')].map(s => s.textContent));
      nt.querySelectorAll('details > summary').forEach(s => { if (shut.has(s.textContent)) s.parentElement.open = false; });
      tree.replaceWith(nt);
    }
    if (held) {
      const r = racks()[held[0]];
      if (r && r.getAttribute('href') === held[1]) { showHud(r); hud.style.left = held[2]; hud.style.top = held[3]; }
    }
    open.forEach(id => { const e = $(id); if (e && e.tagName === 'DETAILS') e.open = true; });
    const after = n.querySelectorAll(SC);
    scrolled.forEach(s => { const e = after[s[0]]; if (e) { e.scrollLeft = s[1]; e.scrollTop = s[2]; } });
    if (focusId && $(focusId)) $(focusId).focus({ preventScroll: true });
    scrollTo(x, y);
    window.rackscopeUpdates++;
    d.dispatchEvent(new CustomEvent('rackscope:swapped'));
  }
  // Each message of the live channel, for notify.js (the bell and toasts): the snapshot's
  // number, or null from the polling fallback.
  const tick = seq => d.dispatchEvent(new CustomEvent('rackscope:tick', { detail: seq }));
  function startLive() {
    let es, errors = 0, timer;
    const poll = () => {
      if (timer) return;
      if (es) es.close();
      root.dataset.live = 'poll';
      timer = setInterval(() => { refresh(); tick(null); }, 15000);
    };
    if (!window.EventSource) return poll();
    try { es = new EventSource('/events'); } catch (e) { return poll(); }
    root.dataset.live = 'sse';
    // Only a delivered message proves the stream healthy; a proxy that accepts and drops still counts as failing.
    es.onmessage = e => { errors = 0; const s = String(e.data).trim(), m = $('main'); tick(s); if (!m || s !== m.getAttribute('data-seq')) refresh(); };
    // After a reconnect we may have missed snapshots, so catch up once.
    es.onopen = () => { if (errors) refresh(); };
    // A CLOSED source never retries by itself (e.g. an HTTP error status), so fall back at once.
    es.onerror = () => { if (++errors >= 3 || es.readyState === 2) poll(); };
  }
  if ($('main')) {
    startLive();
    on(d, 'focusout', () => setTimeout(() => { if (pending) refresh(); }, 0));
    on(d, 'visibilitychange', () => { if (!d.hidden && pending) refresh(); });
  }

  /* ---- Wallboard: countdown, pause, previous and next, full screen ---- */
  // A browser's own playlist (built on /playlist): [{v: path, s: seconds}], played when the
  // URL carries `mine=<index>`; the bar's links and time then come from it.
  const MINE = 'rackscope.playlist.mine';
  const mineList = () => { try { const l = JSON.parse(localStorage.getItem(MINE) || '[]'); return Array.isArray(l) ? l.filter(x => x && typeof x.v === 'string' && x.v[0] === '/' && x.v[1] !== '/') : []; } catch (e) { return []; } };
  const mineUrl = (l, i) => { const v = l[i].v, sep = v.indexOf('?') >= 0 ? '&' : '?'; return v + sep + 'kiosk=1&mine=' + i; };
  const bar = $('pl-bar');
  const mineAt = new URLSearchParams(location.search).get('mine');
  if (bar && mineAt !== null) {
    const l = mineList(), n = l.length, i = Math.min(n - 1, Math.max(0, parseInt(mineAt, 10) || 0));
    if (n) {
      bar.querySelector('.pl-next').href = mineUrl(l, (i + 1) % n);
      bar.querySelector('.pl-prev').href = mineUrl(l, (i + n - 1) % n);
      bar.dataset.seconds = String(Math.max(5, +l[i].s || 30));
      bar.querySelector('.pl-pos').textContent = (i + 1) + ' / ' + n + ' (yours)';
      bar.classList.add('mine');
    }
  }
  const builder = $('my-playlist');
  if (builder) {
    builder.hidden = false;
    const rows = [...builder.querySelectorAll('.pl-pick')], other = builder.querySelector('.pl-other'), said = builder.querySelector('.pl-saved');
    const saved = mineList();
    saved.forEach(x => {
      const r = rows.find(r => r.querySelector('input[type=checkbox]').value === x.v);
      if (r) { r.querySelector('input[type=checkbox]').checked = true; r.querySelector('.pl-secs').value = x.s; } else if (other && !other.value) other.value = x.v;
    });
    if (saved.length) said.textContent = saved.length + ' views saved in this browser.';
    on(builder, 'submit', e => {
      e.preventDefault();
      const l = rows.filter(r => r.querySelector('input[type=checkbox]').checked)
        .map(r => ({ v: r.querySelector('input[type=checkbox]').value, s: Math.max(5, Math.min(3600, +r.querySelector('.pl-secs').value || +builder.dataset.seconds || 30)) }));
      const o = other && other.value.trim();
      if (o && o[0] === '/' && o[1] !== '/') l.push({ v: o, s: +builder.dataset.seconds || 30 });
      if (!l.length) { said.textContent = 'Pick at least one view.'; return; }
      try { localStorage.setItem(MINE, JSON.stringify(l.slice(0, 200))); } catch (x) { said.textContent = 'This browser would not keep it.'; return; }
      location.href = mineUrl(l, 0);
    });
    on(builder.querySelector('.pl-clear'), 'click', () => {
      try { localStorage.removeItem(MINE); } catch (x) { /* nothing kept */ }
      rows.forEach(r => { r.querySelector('input[type=checkbox]').checked = false; });
      said.textContent = 'Forgotten.';
    });
  }
  if (bar) {
    const KEY = 'rackscope.playlist.paused';
    const pauseBtn = bar.querySelector('.pl-pause'), fullBtn = bar.querySelector('.pl-full');
    const count = bar.querySelector('.pl-count');
    let left = Math.max(5, +bar.dataset.seconds || 30);
    let paused = sessionStorage.getItem(KEY) === '1';
    const show = () => {
      count.textContent = paused ? 'paused' : 'next in ' + left + ' s';
      pauseBtn.setAttribute('aria-pressed', paused ? 'true' : 'false');
      bar.classList.toggle('paused', paused);
    };
    const toggle = () => { paused = !paused; try { sessionStorage.setItem(KEY, paused ? '1' : '0'); } catch (e) { /* kept for this page only */ } show(); };
    const go = sel => { const a = bar.querySelector(sel); if (a) location.href = a.href; };
    pauseBtn.hidden = false;
    on(pauseBtn, 'click', toggle);
    if (d.fullscreenEnabled) {
      fullBtn.hidden = false;
      on(fullBtn, 'click', () => (d.fullscreenElement ? d.exitFullscreen() : root.requestFullscreen()).catch(() => {}));
    }
    on(d, 'keydown', e => {
      if (inField(e.target) || e.ctrlKey || e.metaKey || e.altKey) return;
      // Space on a focused control is that control's click, not a second toggle.
      if (e.key === ' ' && !(e.target.closest && e.target.closest('a, button'))) { e.preventDefault(); toggle(); }
      else if (e.key === 'ArrowRight') go('.pl-next');
      else if (e.key === 'ArrowLeft') go('.pl-prev');
      else if (e.key === 'f' && !fullBtn.hidden) fullBtn.click();
    });
    show();
    setInterval(() => { if (paused || d.hidden) return; left -= 1; if (left <= 0) go('.pl-next'); else show(); }, 1000);
  }

  /* ---- Floor-plan HUD ---- */
  const hud = $('hud');
  let hudFor = null, armed = null, lastPointer = 'mouse';
  const rackOf = t => t && t.closest ? t.closest('.floorplan [data-name], .rack-svg [data-name]') : null;
  function hideHud() { if (hud) hud.hidden = true; hudFor = armed = null; }
  function place(x, y) {
    const w = hud.offsetWidth, h = hud.offsetHeight;
    let l = x + 14, t = y + 14;
    if (l + w > innerWidth - 4) l = Math.max(4, x - 14 - w);
    if (t + h > innerHeight - 4) t = Math.max(4, y - 14 - h);
    hud.style.left = l + 'px'; hud.style.top = t + 'px';
  }
  function showHud(el, x, y) {
    if (!hud) return;
    const g = k => el.getAttribute('data-' + k), mk = (tag, cls, text) => {
      const e = d.createElement(tag); e.className = cls; e.textContent = text; return e;
    };
    const s = ICON[g('state')] ? g('state') : 'UNKNOWN';
    const parts = [mk('strong', 'hud-name', g('name')), mk('span', 'badge st-' + s, ICON[s] + ' ' + s)];
    if (g('crit') != null) parts.push(mk('div', 'hud-counts', (g('crit') || 0) + ' CRIT · ' + (g('warn') || 0) + ' WARN'));
    if (g('checks')) parts.push(mk('div', 'hud-checks', g('checks')));
    // Bars: the width is set through the CSSOM, which the page's policy allows (inline style it does not).
    [['temp', 'temp'], ['power', 'power']].forEach(([k, cls]) => {
      if (!g(k)) return;
      const b = mk('div', 'hud-bar ' + cls, g(k)), i = d.createElement('i'), f = d.createElement('b');
      f.style.width = Math.round(Math.max(0, Math.min(1, +g(k + '-f') || 0)) * 100) + '%';
      i.append(f); b.append(i); parts.push(b);
    });
    if (g('maint')) parts.push(mk('div', 'hud-line', '⚒ ' + g('maint')));
    if (g('slurm')) parts.push(mk('div', 'hud-line', 'Slurm: ' + g('slurm')));
    hud.replaceChildren(...parts);
    hud.hidden = false; hudFor = el;
    if (x == null) { const r = el.getBoundingClientRect(); x = r.left; y = r.bottom; }
    place(x, y);
  }
  on(d, 'pointerdown', e => { lastPointer = e.pointerType; }, true);
  on(d, 'pointermove', e => {
    if (e.pointerType === 'touch') return;
    const r = rackOf(e.target);
    if (r && r !== hudFor) showHud(r, e.clientX, e.clientY); else if (r) place(e.clientX, e.clientY);
  });
  on(d, 'pointerout', e => {
    if (e.pointerType !== 'touch' && hudFor && !(e.relatedTarget && hudFor.contains(e.relatedTarget))) hideHud();
  });
  on(d, 'focusin', e => { const r = rackOf(e.target); if (r && r !== hudFor) showHud(r); });
  on(d, 'focusout', e => { if (rackOf(e.target) && lastPointer !== 'touch') hideHud(); });
  // Touch has no hover: the first tap on a rack previews it, a second tap on the same rack navigates.
  on(d, 'click', e => {
    if (lastPointer !== 'touch') return;
    const r = rackOf(e.target);
    if (r && r !== armed) {
      e.preventDefault();
      const b = r.getBoundingClientRect();
      showHud(r, b.left + b.width / 2, b.top + b.height / 2);
      armed = r;
    } else if (!r) hideHud();
  }, true);
  on(window, 'scroll', hideHud, { passive: true });

  /* ---- Zoom and pan of the floor plan and the world map: buttons, wheel, drag, pinch ---- */
  // An SVG with data-zoom-key zooms by its viewBox, from data-home (where it opens) within
  // data-bounds, its width between data-min-w and data-max-w; the view is remembered per
  // page for this tab, so live updates and reloads keep it. Without JavaScript the drawing
  // shows its home view and the buttons stay hidden.
  const nums = s => String(s || '').trim().split(/\s+/).map(Number);
  const zsvg = k => d.querySelector('svg[data-zoom-key="' + k + '"]');
  const zstore = k => 'rackscope.zoom:' + location.pathname + ':' + k;
  const views = {};
  const home = svg => nums(svg.dataset.home);
  const bounds = svg => svg.dataset.bounds ? nums(svg.dataset.bounds) : home(svg);
  function applyView(svg) {
    const k = svg.dataset.zoomKey, v = views[k], h = home(svg);
    svg.setAttribute('viewBox', (v || h).join(' '));
    svg.classList.add('zoomable');
    svg.classList.toggle('zoomed', !!v);
    svg.dataset.zoom = v ? (h[2] / v[2]).toFixed(2) : '1';
    svg.style.setProperty('--zs', v ? Math.sqrt(h[2] / v[2]).toFixed(3) : '1');
    try { if (v) sessionStorage.setItem(zstore(k), JSON.stringify(v)); else sessionStorage.removeItem(zstore(k)); } catch (e) { /* this page only */ }
    const c = d.querySelector('[data-for="' + k + '"]'); if (c) c.hidden = false;
  }
  function clampView(svg, v) {
    const b = bounds(svg), w = v[2], h = v[3];
    const fit = (p, size, lo, span) => size >= span ? lo + (span - size) / 2 : Math.max(lo, Math.min(lo + span - size, p));
    return [fit(v[0], w, b[0], b[2]), fit(v[1], h, b[1], b[3]), w, h];
  }
  // Zoom by `k` (>1 closer) around the point (px, py) in SVG units.
  function zoomBy(svg, k, px, py) {
    const key = svg.dataset.zoomKey, h = home(svg), v = views[key] || h, b = bounds(svg);
    const minW = +svg.dataset.minW || h[2] / 20, maxW = +svg.dataset.maxW || Math.max(h[2], b[2]);
    const w = Math.max(minW, Math.min(maxW, v[2] / k)), hh = w * h[3] / h[2];
    const cx = px == null ? v[0] + v[2] / 2 : px, cy = py == null ? v[1] + v[3] / 2 : py;
    const rx = (cx - v[0]) / v[2], ry = (cy - v[1]) / v[3];
    const n = clampView(svg, [cx - rx * w, cy - ry * hh, w, hh]);
    views[key] = n.every((x, i) => Math.abs(x - h[i]) < 1e-6) ? null : n;
    applyView(svg);
  }
  const toSvg = (svg, x, y) => { const r = svg.getBoundingClientRect(), v = views[svg.dataset.zoomKey] || home(svg); return [v[0] + (x - r.left) / r.width * v[2], v[1] + (y - r.top) / r.height * v[3]]; };
  const zoomables = () => [...d.querySelectorAll('svg[data-zoom-key]')];
  if (zoomables().length) {
    zoomables().forEach(svg => {
      try { views[svg.dataset.zoomKey] = JSON.parse(sessionStorage.getItem(zstore(svg.dataset.zoomKey)) || 'null'); } catch (e) { /* none kept */ }
      applyView(svg);
    });
    on(d, 'rackscope:swapped', () => zoomables().forEach(applyView));
    on(d, 'click', e => {
      const b = e.target.closest && e.target.closest('[data-zoom]'), box = b && b.closest('[data-for]');
      const svg = box && zsvg(box.dataset.for);
      if (!svg) return;
      if (b.dataset.zoom === 'reset') { views[svg.dataset.zoomKey] = null; applyView(svg); } else zoomBy(svg, b.dataset.zoom === 'in' ? 1.5 : 1 / 1.5);
    });
    on(d, 'keydown', e => {
      const svg = zoomables()[0];
      if (!svg || inField(e.target) || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === '+' || e.key === '=') zoomBy(svg, 1.5); else if (e.key === '-') zoomBy(svg, 1 / 1.5); else if (e.key === '0') { views[svg.dataset.zoomKey] = null; applyView(svg); }
    });
    on(d, 'wheel', e => {
      const svg = e.target.closest && e.target.closest('svg[data-zoom-key]');
      if (!svg) return;
      e.preventDefault();
      const [px, py] = toSvg(svg, e.clientX, e.clientY);
      zoomBy(svg, Math.pow(1.0015, -e.deltaY), px, py);
    }, { passive: false });
    // Drag pans (past a few pixels, so a click still opens the rack or site); two touches pinch.
    const pts = new Map();
    let start = null, moved = false, pinch = null, active = null;
    on(d, 'pointerdown', e => {
      const svg = e.target.closest && e.target.closest('svg[data-zoom-key]');
      if (!svg || (e.pointerType === 'mouse' && e.button !== 0)) return;
      active = svg;
      pts.set(e.pointerId, [e.clientX, e.clientY]);
      moved = false;
      const v = views[svg.dataset.zoomKey] || home(svg);
      if (pts.size === 1) start = [e.clientX, e.clientY, v.slice()];
      if (pts.size === 2) { const [a, b] = [...pts.values()]; pinch = [Math.hypot(a[0] - b[0], a[1] - b[1]), v[2]]; }
    });
    on(d, 'pointermove', e => {
      if (!pts.has(e.pointerId) || !active) return;
      const svg = zsvg(active.dataset.zoomKey); if (!svg) return;
      const key = svg.dataset.zoomKey;
      pts.set(e.pointerId, [e.clientX, e.clientY]);
      if (pts.size === 2 && pinch) {
        const [a, b] = [...pts.values()], dist = Math.hypot(a[0] - b[0], a[1] - b[1]);
        const [px, py] = toSvg(svg, (a[0] + b[0]) / 2, (a[1] + b[1]) / 2);
        zoomBy(svg, ((views[key] || home(svg))[2] / pinch[1]) * (dist / Math.max(1, pinch[0])), px, py);
        moved = true; return;
      }
      if (!start || !views[key]) return;
      const dx = e.clientX - start[0], dy = e.clientY - start[1];
      if (!moved && Math.hypot(dx, dy) < 5) return;
      moved = true; svg.classList.add('panning'); hideHud();
      const r = svg.getBoundingClientRect(), v = start[2];
      views[key] = clampView(svg, [v[0] - dx / r.width * v[2], v[1] - dy / r.height * v[3], v[2], v[3]]);
      applyView(svg);
    });
    const end = e => { pts.delete(e.pointerId); if (pts.size < 2) pinch = null; if (!pts.size) { start = null; zoomables().forEach(s => s.classList.remove('panning')); } };
    on(d, 'pointerup', end); on(d, 'pointercancel', end);
    // A drag that panned is not a click on the rack or site it ended over.
    on(d, 'click', e => { if (moved && e.target.closest && e.target.closest('svg[data-zoom-key]')) { e.preventDefault(); e.stopPropagation(); moved = false; } }, true);
  }

  /* ---- Keyboard: shortcuts and easter eggs ---- */
  let keys = [], gAt = 0, term = null, timers = [], prevFocus = null;
  const GO = { o: '/', a: '/alerts', c: '/checks', w: '/wallboard' };
  const KONAMI = 'ArrowUp ArrowUp ArrowDown ArrowDown ArrowLeft ArrowRight ArrowLeft ArrowRight b a';

  function konami() {
    const t = d.createElement('div');
    t.className = 'toast'; t.setAttribute('role', 'status'); t.textContent = '+30 lives. The racks are still monitored.';
    d.body.append(t);
    d.body.classList.add('konami');
    setTimeout(() => { d.body.classList.remove('konami'); t.remove(); }, 4000);
  }
  function bootLines() {
    const n = d.querySelectorAll('.floorplan [data-name]').length;
    const l = ['RackBIOS 4.20 (C) 1994-2025 Rackscope Systems Inc.', 'CPU: PromQL co-processor @ 15 s scrape interval', ''];
    for (let k = 0; k <= 65536; k += 8192) l.push((k ? '\r' : '') + 'Memory test: ' + k + 'K' + (k === 65536 ? ' OK' : ''));
    l.push('', 'Detecting racks... ' + (n ? n + ' found, ' : '') + '<ok>', 'Probing devices on the U bus... <ok>',
      'Mounting /dev/prometheus... <ok>', 'Loading physical hierarchy: Site → Room → Aisle → Rack → Device → Instance',
      'Starting state engine [OK WARN CRIT UNKNOWN]... <ok>', '', 'Rackscope tty1', '', 'rackscope login: ');
    for (let j = 1; j <= 4; j++) l.push('\rrackscope login: ' + 'help'.slice(0, j));
    return l.concat(['', 'Keyboard (outside text fields):', '  /      focus search', '  g o    overview', '  g a    alerts',
      '  g c    checks', '  g w    wallboard', '  help   this terminal', '  Esc    close (or click)', '']);
  }
  function openTerm() {
    if (term) return;
    prevFocus = d.activeElement;
    term = d.createElement('div');
    term.id = 'terminal'; term.tabIndex = -1;
    [['role', 'dialog'], ['aria-label', 'Rackscope terminal'], ['aria-modal', 'true']].forEach(a => term.setAttribute(a[0], a[1]));
    const pre = d.createElement('pre'), cursor = d.createElement('span'), lines = bootLines();
    let i = 0;
    cursor.className = 'cursor'; cursor.textContent = '█';
    pre.append(cursor); term.append(pre);
    on(term, 'click', closeTerm);
    d.body.append(term); term.focus();
    // A line starting with \r overwrites the previous one, like a counter on a serial console.
    const put = s => {
      if (s[0] === '\r') { s = s.slice(1); if (cursor.previousSibling) cursor.previousSibling.remove(); }
      const parts = s.split('<ok>'), line = d.createElement('span');
      line.append(parts[0]);
      if (parts.length > 1) { const ok = d.createElement('span'); ok.className = 'ok'; ok.textContent = 'ok'; line.append(ok); }
      if (!(lines[i] && lines[i][0] === '\r')) line.append('\n');
      pre.insertBefore(line, cursor);
    };
    const next = () => {
      if (!term) return;
      put(lines[i++]);
      term.scrollTop = term.scrollHeight;
      if (i < lines.length) timers.push(setTimeout(next, lines[i][0] === '\r' ? 90 + Math.random() * 80 : 250 + Math.random() * 350));
    };
    if (calm()) while (i < lines.length) put(lines[i++]); else next();
  }
  function closeTerm() {
    if (!term) return;
    timers.forEach(clearTimeout); timers = [];
    term.remove(); term = null;
    if (prevFocus && prevFocus.focus) prevFocus.focus();
  }

  on(d, 'keydown', e => {
    if (e.key === 'Escape') { hideHud(); if (term) { closeTerm(); e.preventDefault(); } return; }
    if (term || e.ctrlKey || e.metaKey || e.altKey || !e.key || inField(e.target)) return;
    const k = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    if (k.length > 1 && !k.startsWith('Arrow')) return; // modifiers etc. must not break a sequence
    keys.push(k); if (keys.length > 10) keys.shift();
    const seq = keys.join(' ');
    if (seq === KONAMI) { keys = []; konami(); return; }
    if (/(^| )h e l p$/.test(seq)) { keys = []; e.preventDefault(); openTerm(); return; }
    if (k === '/') { const q = $('q'); if (q) { e.preventDefault(); q.focus(); q.select(); } return; }
    if (gAt && Date.now() - gAt < 1500 && GO[k]) { gAt = 0; location.href = GO[k]; return; }
    gAt = k === 'g' ? Date.now() : 0;
  });

  /* ---- Editors ---- */
  // The page works without this: the server numbers the gutter and sizes the textarea to
  // its text. Here: follow lines typed beyond that size, Tab inserts two spaces (Escape
  // first lets Tab leave the field, so the keyboard is never trapped), `#L<n>` selects line n,
  // and YAML is highlighted when the page loaded Prism.
  const ed = d.querySelector('textarea.editor-text');
  // Past this many characters a keystroke's full re-highlight would lag: the text stays plain.
  const HL_MAX = 2 * 1024 * 1024;
  // Prism paints a <pre> laid exactly under the textarea, whose text turns transparent
  // (the caret and selection stay): the textarea remains the one field typed in and
  // submitted. Returns the function that schedules a repaint, at most once a frame.
  function highlighter(ed, pane) {
    const P = window.Prism, yaml = P && P.languages && P.languages.yaml;
    if (!yaml || !pane) return () => {};
    const wrap = d.createElement('div'), pre = d.createElement('pre'), code = d.createElement('code');
    wrap.className = 'editor-code'; pre.className = 'editor-hl'; code.className = 'language-yaml';
    pre.setAttribute('aria-hidden', 'true');
    pre.append(code);
    ed.before(wrap);
    wrap.append(pre, ed);
    let queued = false;
    const sync = () => { pre.scrollTop = ed.scrollTop; pre.scrollLeft = ed.scrollLeft; };
    const paint = () => {
      queued = false;
      const fits = ed.value.length <= HL_MAX;
      pane.classList.toggle('hl', fits);
      // Prism escapes the text it returns (& and <), so it is markup of spans only. A <pre>
      // drops a final line break that the textarea shows as an empty line: add one back.
      code.innerHTML = fits ? P.highlight(ed.value, yaml, 'yaml') + '\n' : '';
      sync();
    };
    on(ed, 'scroll', sync);
    paint();
    return () => { if (!queued) { queued = true; requestAnimationFrame(paint); } };
  }
  if (ed) {
    const gutter = d.querySelector('.editor-pane .gutter');
    const pane = ed.closest('.editor-pane');
    const repaint = highlighter(ed, pane);
    let release = false;
    const follow = () => {
      repaint();
      const n = ed.value.split('\n').length;
      if (n + 1 > ed.rows) ed.rows = n + 1;
      if (gutter) {
        for (let i = gutter.children.length + 1; i <= n; i++) {
          const s = d.createElement('span'); s.id = 'L' + i; s.textContent = String(i);
          gutter.appendChild(s); gutter.appendChild(d.createTextNode('\n'));
        }
        gutter.scrollTop = ed.scrollTop;
      }
    };
    on(ed, 'input', follow);
    on(ed, 'scroll', () => { if (gutter) gutter.scrollTop = ed.scrollTop; });
    on(ed, 'keydown', e => {
      if (e.key === 'Escape') { release = true; return; }
      if (e.key !== 'Tab' || e.shiftKey || e.ctrlKey || e.altKey || e.metaKey || release) { release = false; return; }
      e.preventDefault();
      ed.setRangeText('  ', ed.selectionStart, ed.selectionEnd, 'end');
      follow();
    });
    const jump = () => {
      const m = /^#L([0-9]+)$/.exec(location.hash);
      if (!m) return;
      const lines = ed.value.split('\n'), n = Math.max(1, Math.min(+m[1], lines.length));
      let start = 0;
      for (let i = 0; i < n - 1; i++) start += lines[i].length + 1;
      ed.focus({ preventScroll: true });
      ed.setSelectionRange(start, start + lines[n - 1].length);
      const mark = $('L' + n);
      if (mark && pane) pane.scrollTop = Math.max(0, mark.offsetTop - pane.clientHeight / 3);
      ed.scrollIntoView({ block: 'nearest' });
    };
    on(window, 'hashchange', jump);
    // A second click on the same `#L<n>` changes no hash: select the line anyway.
    on(d, 'click', e => { const a = e.target.closest && e.target.closest('a[href^="#L"]'); if (a) setTimeout(jump, 0); });
    jump();
  }
})();
