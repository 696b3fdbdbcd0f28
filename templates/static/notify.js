/* Rackscope notifications: the header bell's counts, a toast for each new alert, optional CRIT/WARN sounds, and "new since your last visit" on the alerts page. Driven by rackscope.js's live channel (the `rackscope:tick` event); settings are kept per browser. */
(() => {
  'use strict';
  const d = document, $ = id => d.getElementById(id);
  const box = $('notify');
  if (!box) return;
  const KEY = 'rackscope.notify', VISIT = 'rackscope.alerts.seen';
  const POSITIONS = ['top-right', 'top-left', 'top-center', 'bottom-right', 'bottom-left', 'bottom-center'];
  const store = {
    get(k) { try { return JSON.parse(localStorage.getItem(k) || 'null'); } catch (e) { return null; } },
    set(k, v) { try { localStorage.setItem(k, JSON.stringify(v)); } catch (e) { /* private mode: settings last the page */ } },
  };
  const defaults = { position: box.dataset.position, seconds: +box.dataset.seconds || 8, toasts: true, sound: false, volume: 50 };
  const prefs = Object.assign({}, defaults, store.get(KEY) || {});
  if (!POSITIONS.includes(prefs.position)) prefs.position = defaults.position;
  const max = +box.dataset.max || 10, stack = +box.dataset.stack || 3;

  const toasts = d.createElement('div');
  toasts.className = 'toasts pos-' + prefs.position;
  toasts.setAttribute('role', 'status');
  toasts.setAttribute('aria-live', 'polite');
  d.body.append(toasts);

  const el = (tag, cls, text) => { const e = d.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = text; return e; };
  function toast(state, title, text, url) {
    if (!prefs.toasts) return;
    const t = el(url ? 'a' : 'div', 'alert-toast st-' + state);
    if (url) t.href = url;
    t.append(el('strong', null, (state === 'CRIT' ? '✖ ' : state === 'WARN' ? '▲ ' : '') + title), el('span', null, text));
    const close = el('button', 'alert-toast-close', '×');
    close.type = 'button';
    close.setAttribute('aria-label', 'Dismiss');
    close.addEventListener('click', e => { e.preventDefault(); t.remove(); });
    t.append(close);
    toasts.append(t);
    while (toasts.children.length > max) toasts.firstChild.remove();
    setTimeout(() => t.remove(), prefs.seconds * 1000);
  }

  let audio = null;
  function beep(state) {
    if (!prefs.sound || !(prefs.volume > 0)) return;
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return;
    try {
      audio = audio || new AC();
      // CRIT: two high tones; WARN: one lower tone.
      const tones = state === 'CRIT' ? [[880, 0], [880, 0.25]] : [[520, 0]];
      for (const [f, at] of tones) {
        const o = audio.createOscillator(), g = audio.createGain();
        o.frequency.value = f;
        g.gain.value = Math.min(1, prefs.volume / 100) * 0.25;
        o.connect(g); g.connect(audio.destination);
        o.start(audio.currentTime + at); o.stop(audio.currentTime + at + 0.18);
      }
    } catch (e) { /* no audio device: stay silent */ }
  }

  function bell(f) {
    const c = $('bell-crit'), w = $('bell-warn'), b = $('bell');
    if (c) c.textContent = f.crit;
    if (w) w.textContent = f.warn;
    if (b) {
      b.classList.toggle('has-crit', f.crit > 0);
      b.classList.toggle('has-warn', f.crit === 0 && f.warn > 0);
      b.title = 'Active alerts: ' + f.crit + ' CRIT, ' + f.warn + ' WARN';
    }
  }

  // Ids seen on this page; the first feed only learns them (no toast for what was there).
  let known = null, lastSeq = null, busy = false;
  function feed(seq) {
    if (busy || (seq != null && seq === lastSeq)) return;
    busy = true;
    fetch('/alerts/feed', { cache: 'no-store' })
      .then(r => (r.ok ? r.json() : null))
      .then(f => {
        if (!f) return;
        lastSeq = String(f.seq);
        bell(f);
        const fresh = known ? f.alerts.filter(a => !known.has(a.id)) : [];
        known = known || new Set();
        f.alerts.forEach(a => known.add(a.id));
        if (known.size > 20000) known = new Set(f.alerts.map(a => a.id));
        if (!fresh.length) return;
        const b = $('bell');
        if (b) b.classList.add('ring');
        if (fresh.length > stack) {
          const crit = fresh.filter(a => a.state === 'CRIT').length;
          toast(crit ? 'CRIT' : 'WARN', fresh.length + ' new alerts', crit + ' CRIT, ' + (fresh.length - crit) + ' WARN', '/alerts?sort=since&dir=desc');
        } else {
          fresh.forEach(a => toast(a.state, a.name, a.place + ' — ' + a.checks, a.url));
        }
        beep(fresh.some(a => a.state === 'CRIT') ? 'CRIT' : 'WARN');
      })
      .catch(() => {})
      .then(() => { busy = false; });
  }
  d.addEventListener('rackscope:tick', e => feed(e.detail == null ? null : String(e.detail)));
  feed(null);

  /* The settings panel: hidden without JavaScript, where nothing would read it. */
  const panel = $('notify-settings'), form = $('notify-form');
  if (panel && form) {
    panel.hidden = false;
    const f = form.elements;
    f.position.value = prefs.position; f.seconds.value = prefs.seconds;
    f.toasts.checked = prefs.toasts; f.sound.checked = prefs.sound; f.volume.value = prefs.volume;
    form.addEventListener('change', () => {
      prefs.position = POSITIONS.includes(f.position.value) ? f.position.value : defaults.position;
      prefs.seconds = Math.max(2, Math.min(600, +f.seconds.value || defaults.seconds));
      prefs.toasts = f.toasts.checked; prefs.sound = f.sound.checked;
      prefs.volume = Math.max(0, Math.min(100, +f.volume.value || 0));
      toasts.className = 'toasts pos-' + prefs.position;
      store.set(KEY, prefs);
    });
    form.addEventListener('submit', e => {
      e.preventDefault();
      toast('WARN', 'Test notification', 'This is how a new alert appears.', null);
      beep('CRIT');
    });
  }

  /* The alerts page: rows that went into alert since the last visit are marked, and so
     are those that arrive while it is open. The first visit ever marks only the latter. */
  const table = () => d.querySelector('table.triage[data-now]');
  const last = store.get(VISIT);
  const seen = typeof last === 'number' ? last : table() ? +table().dataset.now : null;
  function mark() {
    const t = table();
    if (!t || typeof seen !== 'number') return;
    t.querySelectorAll('tr[data-since]').forEach(r => {
      if (+r.dataset.since > seen && !r.classList.contains('new')) {
        r.classList.add('new');
        const w = r.cells[1];
        if (w) w.append(' ', el('span', 'badge-new', 'new'));
      }
    });
  }
  if (table()) {
    mark();
    store.set(VISIT, +table().dataset.now);
    d.addEventListener('rackscope:swapped', mark);
  }
})();
