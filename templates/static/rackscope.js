/* Rackscope UI behaviour: live refresh of #main, floor-plan rack HUD, keyboard shortcuts and harmless easter eggs. */
(function () {
  'use strict';
  var d = document, root = d.documentElement;
  var reduced = !!(window.matchMedia && matchMedia('(prefers-reduced-motion: reduce)').matches);
  var ICON = { OK: '✔', WARN: '▲', CRIT: '✖', UNKNOWN: '?', NONE: '–' };
  window.rackscopeUpdates = window.rackscopeUpdates || 0;

  function $(id) { return d.getElementById(id); }
  function inField(el) {
    return !!el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  /* ---- Live updates ---- */
  var busy = false, pending = false;
  // Swapping main under someone typing in a filter would eat their input, so wait for blur.
  function blocked() {
    var m = $('main'), a = d.activeElement;
    return !!(m && a && m.contains(a) && inField(a));
  }
  function refresh() {
    if (!$('main')) return;
    if (busy || blocked() || d.hidden) { pending = true; return; }
    busy = true; pending = false;
    fetch(location.href, { headers: { 'X-Rackscope-Fragment': 'main' }, credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html) swap(html); })
      .catch(function () {})
      .then(function () { busy = false; if (pending) setTimeout(refresh, 0); });
  }
  function swap(html) {
    var m = $('main');
    if (!m) return;
    if (blocked()) { pending = true; return; }
    var t = d.createElement('template');
    t.innerHTML = html;
    // querySelector rather than firstElementChild: tolerate a server that answers with the whole page.
    var n = t.content.querySelector('#main');
    if (!n) return;
    var open = [].map.call(m.querySelectorAll('details[open][id]'), function (e) { return e.id; });
    var a = d.activeElement, focusId = a && m.contains(a) && a.id;
    var x = window.scrollX, y = window.scrollY;
    // Panels have no id, so inner scroll offsets are matched by document order.
    var SC = '.panel,.elevations,pre,[id]';
    var scrolled = [].map.call(m.querySelectorAll(SC), function (e, i) { return [i, e.scrollLeft, e.scrollTop]; })
      .filter(function (s) { return s[1] || s[2]; });
    hideHud();
    m.replaceWith(n);
    open.forEach(function (id) { var e = $(id); if (e && e.tagName === 'DETAILS') e.open = true; });
    var after = n.querySelectorAll(SC);
    scrolled.forEach(function (s) { var e = after[s[0]]; if (e) { e.scrollLeft = s[1]; e.scrollTop = s[2]; } });
    if (focusId && $(focusId)) $(focusId).focus({ preventScroll: true });
    window.scrollTo(x, y);
    window.rackscopeUpdates++;
  }
  function startLive() {
    var es, errors = 0, timer;
    function poll() {
      if (timer) return;
      if (es) es.close();
      root.dataset.live = 'poll';
      timer = setInterval(refresh, 15000);
    }
    if (!window.EventSource) return poll();
    try { es = new EventSource('/events'); } catch (e) { return poll(); }
    root.dataset.live = 'sse';
    es.onmessage = function (e) {
      var m = $('main');
      if (m && String(e.data).trim() === m.getAttribute('data-seq')) return;
      refresh();
    };
    // After a reconnect we may have missed snapshots, so catch up once.
    es.onopen = function () { if (errors) refresh(); errors = 0; };
    // A CLOSED source will never retry by itself (e.g. HTTP error status), so fall back at once.
    es.onerror = function () { if (++errors >= 3 || es.readyState === 2) poll(); };
  }
  if ($('main')) {
    startLive();
    d.addEventListener('focusout', function () { setTimeout(function () { if (pending) refresh(); }, 0); });
    d.addEventListener('visibilitychange', function () { if (!d.hidden && pending) refresh(); });
  }

  /* ---- Floor-plan HUD ---- */
  var hud = $('hud'), hudFor = null, armed = null, lastPointer = 'mouse';
  function rackOf(t) { return t && t.closest ? t.closest('.floorplan [data-name]') : null; }
  function hideHud() { if (hud) hud.hidden = true; hudFor = null; }
  function place(x, y) {
    var w = hud.offsetWidth, h = hud.offsetHeight, l = x + 14, t = y + 14;
    if (l + w > innerWidth - 4) l = Math.max(4, x - 14 - w);
    if (t + h > innerHeight - 4) t = Math.max(4, y - 14 - h);
    hud.style.left = l + 'px'; hud.style.top = t + 'px';
  }
  function showHud(el, x, y) {
    if (!hud) return;
    var s = el.getAttribute('data-state');
    if (!ICON[s]) s = 'UNKNOWN';
    var name = d.createElement('strong'), badge = d.createElement('span'), counts = d.createElement('div');
    name.className = 'hud-name'; name.textContent = el.getAttribute('data-name');
    badge.className = 'badge st-' + s; badge.textContent = ICON[s] + ' ' + s;
    counts.className = 'hud-counts';
    counts.textContent = (el.getAttribute('data-crit') || 0) + ' CRIT · ' + (el.getAttribute('data-warn') || 0) + ' WARN';
    hud.replaceChildren(name, badge, counts);
    hud.hidden = false; hudFor = el;
    if (x == null) { var r = el.getBoundingClientRect(); x = r.left; y = r.bottom; }
    place(x, y);
  }
  d.addEventListener('pointerdown', function (e) { lastPointer = e.pointerType; }, true);
  d.addEventListener('pointermove', function (e) {
    if (e.pointerType === 'touch') return;
    var r = rackOf(e.target);
    if (r && r !== hudFor) showHud(r, e.clientX, e.clientY); else if (r) place(e.clientX, e.clientY);
  });
  d.addEventListener('pointerout', function (e) {
    if (e.pointerType === 'touch' || !hudFor) return;
    if (!(e.relatedTarget && hudFor.contains(e.relatedTarget))) hideHud();
  });
  d.addEventListener('focusin', function (e) { var r = rackOf(e.target); if (r) showHud(r); });
  d.addEventListener('focusout', function (e) { if (rackOf(e.target) && lastPointer !== 'touch') hideHud(); });
  // Touch has no hover: the first tap on a rack previews it, a second tap on the same rack navigates.
  d.addEventListener('click', function (e) {
    if (lastPointer !== 'touch') return;
    var r = rackOf(e.target);
    if (r && r !== armed) {
      e.preventDefault(); armed = r;
      var b = r.getBoundingClientRect();
      showHud(r, b.left + b.width / 2, b.top + b.height / 2);
    } else if (!r) { armed = null; hideHud(); }
  }, true);
  window.addEventListener('scroll', function () { if (lastPointer !== 'touch') hideHud(); }, { passive: true });

  /* ---- Keyboard: shortcuts and easter eggs ---- */
  var keys = [], gAt = 0, term = null, timers = [], prevFocus = null;
  var GO = { o: '/', a: '/alerts', c: '/checks', w: '/wallboard' };
  var KONAMI = 'ArrowUp ArrowUp ArrowDown ArrowDown ArrowLeft ArrowRight ArrowLeft ArrowRight b a';

  function toast(text) {
    var t = d.createElement('div');
    t.className = 'toast'; t.setAttribute('role', 'status'); t.textContent = text;
    d.body.appendChild(t);
    setTimeout(function () { t.remove(); }, 4200);
  }
  function konami() {
    d.body.classList.add('konami');
    toast('+30 lives. The racks are still monitored.');
    setTimeout(function () { d.body.classList.remove('konami'); }, 4000);
  }

  function bootLines() {
    var racks = d.querySelectorAll('.floorplan [data-name]').length, l = ['RackBIOS 4.20 (C) 1994-2025 Rackscope Systems Inc.', 'CPU: PromQL co-processor @ 15 s scrape interval', ''];
    for (var k = 0; k <= 65536; k += 8192) l.push((k ? '\r' : '') + 'Memory test: ' + k + 'K' + (k === 65536 ? ' OK' : ''));
    l.push('', 'Detecting racks... ' + (racks ? racks + ' found, ' : '') + '<ok>',
      'Probing devices on the U bus... <ok>', 'Mounting /dev/prometheus... <ok>',
      'Loading physical hierarchy: Site → Room → Aisle → Rack → Device → Instance',
      'Starting state engine [OK WARN CRIT UNKNOWN]... <ok>', '', 'Rackscope tty1', '', 'rackscope login: ');
    for (var j = 1; j <= 4; j++) l.push('\rrackscope login: ' + 'help'.slice(0, j));
    return l.concat(['', 'Keyboard (outside text fields):', '  /      focus search', '  g o    overview',
      '  g a    alerts', '  g c    checks', '  g w    wallboard', '  help   this terminal', '  Esc    close', '']);
  }
  function openTerm() {
    if (term) return;
    prevFocus = d.activeElement;
    term = d.createElement('div');
    term.id = 'terminal'; term.tabIndex = -1;
    term.setAttribute('role', 'dialog'); term.setAttribute('aria-label', 'Rackscope terminal'); term.setAttribute('aria-modal', 'true');
    var pre = d.createElement('pre'), cursor = d.createElement('span');
    cursor.className = 'cursor'; cursor.textContent = '█';
    pre.appendChild(cursor); term.appendChild(pre);
    term.addEventListener('click', closeTerm);
    d.body.appendChild(term); term.focus();
    var lines = bootLines(), i = 0;
    // A line starting with \r overwrites the previous one, like a real counter on a serial console.
    function put(s) {
      if (s[0] === '\r') { s = s.slice(1); if (pre.childNodes.length > 1) pre.removeChild(cursor.previousSibling); }
      var parts = s.split('<ok>'), line = d.createElement('span');
      line.append(parts[0]);
      if (parts.length > 1) { var ok = d.createElement('span'); ok.className = 'ok'; ok.textContent = 'ok'; line.append(ok); }
      if (!(lines[i] && lines[i][0] === '\r')) line.append('\n');
      pre.insertBefore(line, cursor);
    }
    function next() {
      if (!term) return;
      put(lines[i++]);
      term.scrollTop = term.scrollHeight;
      if (i < lines.length) timers.push(setTimeout(next, lines[i][0] === '\r' ? 90 + Math.random() * 80 : 250 + Math.random() * 350));
    }
    if (reduced) { while (i < lines.length) put(lines[i++]); } else next();
  }
  function closeTerm() {
    if (!term) return;
    timers.forEach(clearTimeout); timers = [];
    term.remove(); term = null;
    if (prevFocus && prevFocus.focus) prevFocus.focus();
  }

  d.addEventListener('keydown', function (e) {
    if (e.key === 'Escape') { hideHud(); armed = null; if (term) { closeTerm(); e.preventDefault(); } return; }
    if (term || e.ctrlKey || e.metaKey || e.altKey || inField(e.target) || !e.key) return;
    var k = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    if (/^(Shift|Control|Alt|Meta|CapsLock|AltGraph)$/.test(k)) return;
    keys.push(k); if (keys.length > 10) keys.shift();
    var seq = keys.join(' ');
    if (seq === KONAMI) { keys = []; konami(); return; }
    if (/(^| )h e l p$/.test(seq)) { keys = []; e.preventDefault(); openTerm(); return; }
    if (k === '/') { var q = $('q'); if (q) { e.preventDefault(); q.focus(); q.select(); } return; }
    if (gAt && Date.now() - gAt < 1500 && GO[k]) { gAt = 0; location.href = GO[k]; return; }
    gAt = k === 'g' ? Date.now() : 0;
  });
})();
