/* The logs page (/logs): follows /api/logs/stream with the page's filters and appends each new entry, with pause and auto-scroll. Without it the page is a form and a table. */
(() => {
  'use strict';
  const d = document, $ = id => d.getElementById(id);
  const table = $('log-table'), rows = $('log-rows');
  if (!table || !rows || !window.EventSource) return;
  const controls = $('log-controls'), pauseBtn = $('log-pause'), follow = $('log-follow'), status = $('log-status');
  const limit = Math.max(1, +table.dataset.rows || 200);
  const CLASS = { ERROR: 'st-CRIT', WARN: 'st-WARN', INFO: 'st-OK' };
  let paused = false, held = [], es = null;
  controls.hidden = false;

  const cell = (cls, child) => { const td = d.createElement('td'); td.className = cls; td.append(child); return td; };
  // Built with text nodes only: a log line is never HTML.
  function row(r) {
    const tr = d.createElement('tr');
    tr.id = 'log-' + r._seq;
    const ts = String(r.ts || ''), t = d.createElement('time');
    t.dateTime = ts; t.title = ts; t.textContent = (ts.split('T')[1] || ts).replace(/Z$/, '');
    const b = d.createElement('span');
    b.className = 'badge ' + (CLASS[r.level] || 'st-NONE'); b.textContent = r.level;
    const msg = cell('log-msg', String(r.message || ''));
    Object.entries(r.fields || {}).forEach(([k, v]) => {
      const c = d.createElement('code'); c.className = 'log-field'; c.textContent = k + '=' + v;
      msg.append(' ', c);
    });
    tr.append(cell('log-time', t), cell('log-level', b), cell('log-logger', String(r.logger || '')), msg);
    return tr;
  }
  const atBottom = () => innerHeight + scrollY >= d.documentElement.scrollHeight - 80;
  function add(list) {
    if (!list.length) return;
    const stick = follow.checked && atBottom();
    const empty = $('log-empty');
    if (empty) empty.remove();
    list.forEach(r => { if (!$('log-' + r._seq)) rows.append(row(r)); });
    // The table keeps the page's row count, oldest dropped first, so a long session stays light.
    while (rows.children.length > limit) rows.firstElementChild.remove();
    if (stick) scrollTo(0, d.documentElement.scrollHeight);
  }
  const say = t => { status.textContent = t; };
  function open() {
    es = new EventSource(table.dataset.stream);
    es.onopen = () => say(paused ? 'paused' : 'live');
    es.onmessage = e => {
      let r;
      try { r = JSON.parse(e.data); } catch (err) { return; }
      // The server refuses a stream past its limit with one error event: stop, do not retry.
      if (r && r.error) { es.close(); say(r.error); return; }
      if (paused) { held.push(r); if (held.length > limit) held.shift(); say('paused, ' + held.length + ' new'); return; }
      add([r]);
    };
    es.onerror = () => say(es.readyState === 2 ? 'disconnected; Refresh to reconnect' : 'reconnecting…');
  }
  pauseBtn.addEventListener('click', () => {
    paused = !paused;
    pauseBtn.setAttribute('aria-pressed', paused ? 'true' : 'false');
    pauseBtn.textContent = paused ? 'Resume' : 'Pause';
    if (!paused) { add(held); held = []; }
    say(paused ? 'paused' : 'live');
  });
  follow.addEventListener('change', () => { if (follow.checked) scrollTo(0, d.documentElement.scrollHeight); });
  if (location.hash === '#log-end' || follow.checked) scrollTo(0, d.documentElement.scrollHeight);
  open();
})();
