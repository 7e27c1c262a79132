// app.js - the facility page (SPEC §11): worklist, person, check without
// storing, import and print, routed by the URL's #fragment.
import { el, clear, announce } from './dom.js';
import { t, tv, setLang, getLang, advicePhrase } from './i18n.js';
import { api, upload, session, loadSession, signIn, signOut, canWrite, setUnauthorizedHandler } from './api.js';
import { decisionView, factsForm, formFacts, showErrors } from './views.js';

const main = () => document.getElementById('main');
const params = new URLSearchParams(location.search);
let facility = params.get('facility_id');

export function todayTokyo() {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Tokyo' }).format(new Date());
}
function daysBetween(a, b) { return Math.round((Date.parse(b) - Date.parse(a)) / 86400000); }

function translateStatic() {
  for (const n of document.querySelectorAll('[data-t]')) n.textContent = t(n.dataset.t);
  const lb = document.getElementById('lang');
  lb.textContent = getLang() === 'ja' ? 'English' : '日本語';
  lb.lang = getLang() === 'ja' ? 'en' : 'ja';
  document.title = t('brand') + ' — shikaku';
  const who = document.getElementById('who');
  who.textContent = session.open ? '' : `${t('role_' + session.role)}${session.facility ? ' · ' + session.facility : ''}`;
  document.getElementById('signout').hidden = session.open || !session.csrf;
  for (const n of document.querySelectorAll('.w-only')) n.hidden = !canWrite();
}

function problemText(r) {
  if (r.data && r.data.detail) return r.data.detail;
  return `${t('error')} (${r.status}). ${t('retry_later')}`;
}
function errorBox(r) { return el('p', { class: 'alert', role: 'alert' }, problemText(r)); }

// ---- sign in ------------------------------------------------------------
function signInView() {
  const m = clear(main());
  const input = el('input', { id: 'key', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const msg = el('p', { class: 'alert', role: 'alert', hidden: true });
  const form = el('form', { class: 'card narrow' },
    el('h2', {}, t('signin_title')), el('p', {}, t('signin_help')),
    el('label', { for: 'key' }, t('key')), input, msg,
    el('button', { type: 'submit', class: 'primary' }, t('signin')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const ok = await signIn(input.value.trim());
    input.value = '';
    if (!ok) { msg.hidden = false; msg.textContent = t('signin_failed'); input.focus(); return; }
    translateStatic();
    route();
  });
  m.append(form);
  input.focus();
}

// ---- worklist -----------------------------------------------------------
async function facilities() {
  const r = await api('GET', '/v1/persons?limit=1000');
  const set = new Set();
  if (r.ok) for (const i of r.data.items) if (i.facility_id) set.add(i.facility_id);
  return [...set].sort();
}

function facilityChooser(list) {
  const sel = el('select', { id: 'facility' }, list.map((f) => el('option', { value: f }, f)));
  const form = el('form', { class: 'card narrow' }, el('h2', {}, t('choose_facility')),
    el('label', { for: 'facility' }, t('facility')), sel,
    el('button', { type: 'submit', class: 'primary' }, t('open')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    facility = sel.value;
    const u = new URL(location.href);
    u.searchParams.set('facility_id', facility);
    history.replaceState(null, '', u);
    route();
  });
  return form;
}

async function pickFacility() {
  if (session.facility) return session.facility;
  if (facility) return facility;
  const list = await facilities();
  if (list.length === 1) { facility = list[0]; return facility; }
  if (list.length === 0) return '';
  clear(main()).append(facilityChooser(list));
  return null;
}

const filters = { needs_action: false, entitlement: '', due_before: '', sort: false };

function needsAction(i) { return i.application_required || i.entitlement === 'undetermined' || i.stale; }

function badge(ent) { return el('span', { class: `badge ent-${ent || 'unknown'}` }, tv('ent_', ent)); }

function deadlineCell(apply_by) {
  if (!apply_by) return el('td', {}, '—');
  const n = daysBetween(todayTokyo(), apply_by);
  const cls = n < 0 ? 'due past' : n < 14 ? 'due soon' : 'due';
  return el('td', { class: cls }, el('span', {}, apply_by), ' ', el('small', {}, `(${t('days_left', n)})`));
}

// The date of the decision's next change (worklist items' next_change_date).
function nextChangeCell(date) {
  if (!date) return el('td', {}, '—');
  return el('td', { class: 'next' }, el('span', {}, date), ' ', el('small', {}, `(${t('days_left', daysBetween(todayTokyo(), date))})`));
}

async function worklistView() {
  const f = await pickFacility();
  if (f === null) return;
  const m = clear(main());
  const q = new URLSearchParams();
  if (f) q.set('facility_id', f);
  if (filters.needs_action) q.set('needs_action', 'true');
  if (filters.entitlement) q.set('entitlement', filters.entitlement);
  if (filters.due_before) q.set('due_before', filters.due_before);
  q.set('limit', '100');
  const items = [];
  const title = el('h2', {}, `${t('nav_worklist')}${f ? ' — ' + f : ''}`);
  const counts = el('p', { class: 'counts' });
  const tbody = el('tbody');
  const more = el('button', { type: 'button', hidden: true }, t('more'));
  const hasNext = () => items.some((i) => i.next_change_date);
  const head = el('thead');
  const table = el('table', { class: 'worklist' }, el('caption', { class: 'sr' }, t('nav_worklist')), head, tbody);
  let cursor = null;

  const ent = el('select', { id: 'f-ent' }, el('option', { value: '' }, t('any')),
    ['ex_officio', 'provisional', 'on_application', 'not_entitled', 'undetermined'].map((v) =>
      el('option', { value: v, selected: filters.entitlement === v }, tv('ent_', v))));
  const na = el('input', { type: 'checkbox', id: 'f-na', checked: filters.needs_action });
  const due = el('input', { type: 'date', id: 'f-due', value: filters.due_before });
  const sort = el('input', { type: 'checkbox', id: 'f-sort', checked: filters.sort });
  const form = el('form', { class: 'filters' },
    el('span', { class: 'fld' }, na, el('label', { for: 'f-na' }, t('needs_action'))),
    el('span', { class: 'fld' }, el('label', { for: 'f-ent' }, t('entitlement')), ent),
    el('span', { class: 'fld' }, el('label', { for: 'f-due' }, t('due_before')), due),
    el('span', { class: 'fld' }, sort, el('label', { for: 'f-sort' }, t('sort_deadline'))),
    el('button', { type: 'submit' }, t('apply')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    Object.assign(filters, { needs_action: na.checked, entitlement: ent.value, due_before: due.value, sort: sort.checked });
    worklistView();
  });

  function render() {
    const a = items.filter((i) => i.application_required).length;
    const u = items.filter((i) => i.entitlement === 'undetermined').length;
    const s = items.filter((i) => i.stale).length;
    counts.textContent = t('counts', a, u, s);
    const cols = [t('name'), t('id'), t('entitlement'), t('app_required'), t('apply_by'), t('stale')];
    if (hasNext()) cols.push(t('next_change'));
    cols.push(t('advice'));
    clear(head).append(el('tr', {}, cols.map((c) => el('th', { scope: 'col' }, c))));
    const rows = [...items];
    if (filters.sort) rows.sort((x, y) => (x.apply_by || '9999') < (y.apply_by || '9999') ? -1 : (x.apply_by || '9999') > (y.apply_by || '9999') ? 1 : 0);
    else rows.sort((x, y) => (needsAction(y) ? 1 : 0) - (needsAction(x) ? 1 : 0));
    clear(tbody);
    if (!rows.length) tbody.append(el('tr', {}, el('td', { colspan: cols.length }, t('empty'))));
    for (const i of rows) {
      const tr = el('tr', { class: needsAction(i) ? 'act' : '' },
        el('td', {}, el('a', { href: '#/person/' + encodeURIComponent(i.person_id) }, i.display_name || i.person_id)),
        el('td', {}, i.person_id),
        el('td', {}, badge(i.entitlement)),
        el('td', {}, i.application_required ? el('strong', {}, t('yes')) : t('no')),
        deadlineCell(i.apply_by),
        el('td', {}, i.stale ? el('span', { class: 'badge stale' }, t('stale_yes')) : ''));
      if (hasNext()) tr.append(nextChangeCell(i.next_change_date));
      tr.append(el('td', {}, el('ul', { class: 'phrases' }, (i.actions || []).slice(0, 3).map((c) => el('li', {}, advicePhrase(c))))));
      tbody.append(tr);
    }
    more.hidden = !cursor;
  }
  async function load() {
    const qq = new URLSearchParams(q);
    if (cursor) qq.set('cursor', cursor);
    const r = await api('GET', '/v1/persons?' + qq);
    if (!r.ok) { m.append(errorBox(r)); return; }
    items.push(...r.data.items);
    cursor = r.data.next_cursor;
    render();
  }
  more.addEventListener('click', load);
  m.append(title, form, counts, el('div', { class: 'scroll' }, table), more);
  await load();
  announce(counts.textContent);
}

// ---- person -------------------------------------------------------------
async function personView(id) {
  const m = clear(main());
  const [rec, dec] = await Promise.all([
    api('GET', '/v1/persons/' + encodeURIComponent(id)),
    api('GET', '/v1/persons/' + encodeURIComponent(id) + '/eligibility'),
  ]);
  m.append(el('p', {}, el('a', { href: '#/' }, t('back'))));
  if (rec.status === 404) { m.append(el('p', { role: 'alert' }, t('not_found'))); return; }
  if (!rec.ok) { m.append(errorBox(rec)); return; }
  const p = rec.data;
  m.append(el('h2', {}, p.display_name || p.person_id, ' ', el('small', {}, p.person_id)));
  if (dec.ok) m.append(decisionView(dec.data));
  else m.append(errorBox(dec));
  if (!canWrite()) { m.append(el('p', { class: 'note' }, t('readonly'))); return; }

  const form = factsForm(p, false);
  const msg = el('div', { class: 'msg', 'aria-live': 'polite' });
  const save = el('button', { type: 'submit', class: 'primary' }, t('save'));
  const del = el('button', { type: 'button', class: 'danger' }, t('delete'));
  form.append(msg, el('div', { class: 'buttons' }, save, del));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear(msg);
    const body = { ...p };
    delete body.person_id; delete body.updated_at;
    Object.assign(body, formFacts(form, body));
    for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
    const r = await api('PUT', '/v1/persons/' + encodeURIComponent(id), { json: body, headers: { 'If-Match': rec.etag || '*' } });
    if (r.status === 412) {
      const b = el('button', { type: 'button', onclick: () => personView(id) }, t('reload'));
      msg.append(el('p', { class: 'alert', role: 'alert' }, t('conflict')), b);
      b.focus();
      return;
    }
    if (r.status === 422 && r.data && r.data.errors) {
      showErrors(form, r.data.errors, '');
      msg.append(el('p', { class: 'alert', role: 'alert' }, t('errors_found')));
      return;
    }
    if (!r.ok) { msg.append(errorBox(r)); return; }
    announce(t('saved'));
    await personView(id);
    const s = document.querySelector('.msg');
    if (s) s.append(el('p', { class: 'ok' }, t('saved'))); // announced by #status
  });
  del.addEventListener('click', async () => {
    if (!window.confirm(t('confirm_delete', p.display_name || p.person_id))) return;
    const r = await api('DELETE', '/v1/persons/' + encodeURIComponent(id), { headers: { 'If-Match': rec.etag || '*' } });
    if (r.status === 204) { announce(t('deleted')); location.hash = '#/'; return; }
    if (r.status === 412) { msg.append(el('p', { class: 'alert', role: 'alert' }, t('conflict'))); return; }
    msg.append(errorBox(r));
  });
  m.append(el('section', { class: 'card' }, el('h3', {}, t('record_check')), form));
}

// ---- check without storing ----------------------------------------------
function checkView() {
  const m = clear(main());
  const form = factsForm({}, true);
  const out = el('div', { 'aria-live': 'polite' });
  form.append(el('div', { class: 'buttons' }, el('button', { type: 'submit', class: 'primary' }, t('evaluate'))));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear(out);
    const facts = formFacts(form, {});
    for (const k of Object.keys(facts)) if (facts[k] === undefined) delete facts[k];
    const r = await api('POST', '/v1/eligibility:evaluate', { json: { person: facts } });
    if (r.status === 422 && r.data && r.data.errors) { showErrors(form, r.data.errors, '/person'); out.append(el('p', { class: 'alert', role: 'alert' }, t('errors_found'))); return; }
    if (!r.ok) { out.append(errorBox(r)); return; }
    out.append(decisionView(r.data));
  });
  m.append(el('h2', {}, t('check_title')), el('p', {}, t('check_help')), el('section', { class: 'card' }, form), out);
}

// ---- import -------------------------------------------------------------
function importView() {
  const m = clear(main());
  const file = el('input', { type: 'file', id: 'i-file', accept: '.csv,.ndjson,.jsonl,text/csv', required: true });
  const enc = el('select', { id: 'i-enc' }, el('option', { value: 'utf-8' }, 'UTF-8'), el('option', { value: 'shift_jis' }, 'Shift_JIS (Excel)'));
  const mode = el('select', { id: 'i-mode' }, el('option', { value: 'all_or_nothing' }, t('mode_all')), el('option', { value: 'best_effort' }, t('mode_best')));
  const prog = el('progress', { max: 100, value: 0, hidden: true, 'aria-label': t('uploading') });
  const out = el('div', { 'aria-live': 'polite' });
  const form = el('form', { class: 'card' },
    el('div', { class: 'fld' }, el('label', { for: 'i-file' }, t('file')), file),
    el('div', { class: 'fld' }, el('label', { for: 'i-enc' }, t('encoding')), enc),
    el('div', { class: 'fld' }, el('label', { for: 'i-mode' }, t('mode')), mode),
    prog, el('div', { class: 'buttons' }, el('button', { type: 'submit', class: 'primary' }, t('upload'))));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = file.files[0];
    if (!f) return;
    clear(out);
    const nd = /\.(ndjson|jsonl)$/i.test(f.name);
    const type = nd ? 'application/x-ndjson' : `text/csv; charset=${enc.value}`;
    prog.hidden = false; prog.value = 0;
    const r = await upload('/v1/persons:import?mode=' + mode.value, f, type, (a, b) => { prog.value = Math.round((a / b) * 100); });
    prog.value = 100;
    if (!r.data || (r.status !== 200 && r.status !== 422) || r.data.inserted === undefined) { out.append(errorBox(r)); return; }
    const d = r.data;
    out.append(el('dl', { class: 'counts-dl' },
      el('dt', {}, t('inserted')), el('dd', {}, d.inserted), el('dt', {}, t('updated')), el('dd', {}, d.updated),
      el('dt', {}, t('unchanged')), el('dd', {}, d.unchanged), el('dt', {}, t('rejected')), el('dd', {}, d.rejected.length)));
    if (r.status === 422) out.append(el('p', { class: 'alert', role: 'alert' }, t('nothing_stored')));
    if (d.rejected.length) {
      out.append(el('h3', {}, t('rejected')), el('div', { class: 'scroll' }, el('table', { class: 'rejected' },
        el('thead', {}, el('tr', {}, [t('line'), t('id'), t('errors')].map((c) => el('th', { scope: 'col' }, c)))),
        el('tbody', {}, d.rejected.map((x) => el('tr', {}, el('td', {}, x.line), el('td', {}, x.person_id || ''),
          el('td', {}, el('ul', {}, (x.errors || []).map((er) => el('li', {}, `${er.field}: ${er.message}`))))))))));
    }
    announce(`${t('inserted')} ${d.inserted}, ${t('rejected')} ${d.rejected.length}`);
  });
  m.append(el('h2', {}, t('import_title')), el('p', {}, t('import_help')), form, out);
}

// ---- print --------------------------------------------------------------
async function printView() {
  const f = await pickFacility();
  if (f === null) return;
  const m = clear(main());
  const items = [];
  let cursor = null;
  do {
    const q = new URLSearchParams({ needs_action: 'true', limit: '1000' });
    if (f) q.set('facility_id', f);
    if (cursor) q.set('cursor', cursor);
    const r = await api('GET', '/v1/persons?' + q);
    if (!r.ok) { m.append(errorBox(r)); return; }
    items.push(...r.data.items.filter((i) => i.application_required));
    cursor = r.data.next_cursor;
  } while (cursor);
  const decisions = {};
  for (let k = 0; k < items.length; k += 1000) {
    const chunk = items.slice(k, k + 1000);
    const r = await api('POST', '/v1/eligibility:batch', { json: { items: chunk.map((i) => ({ person_id: i.person_id })) } });
    if (r.ok) chunk.forEach((i, n) => { decisions[i.person_id] = r.data.results[n]; });
  }
  const groups = new Map();
  for (const i of items) {
    const d = decisions[i.person_id] || {};
    const ins = d.insurer || {};
    const key = `${ins.name || ins.number || t('unknown')} · ${ins.prefecture && getLang() === 'en' ? ins.prefecture_en : ins.prefecture || ''} · ${tv('ch_', ins.channel)}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push([i, d]);
  }
  const doc = el('article', { class: 'print-doc' },
    el('h2', {}, t('print_title')),
    el('p', { class: 'meta' }, `${t('facility')}: ${f || t('all_facilities')} — ${t('print_date')}: ${todayTokyo()}`));
  if (!items.length) doc.append(el('p', {}, t('empty')));
  for (const [key, rows] of [...groups.entries()].sort()) {
    doc.append(el('section', { class: 'group' }, el('h3', {}, `${t('insurer')} / ${t('counter')}: ${key}`),
      el('table', {}, el('thead', {}, el('tr', {}, [t('name'), t('id'), t('apply_by'), t('recommended_apply_by'), t('applicants')].map((c) => el('th', { scope: 'col' }, c)))),
        el('tbody', {}, rows.map(([i, d]) => {
          const c = d.certificate || {};
          return el('tr', {}, el('td', {}, i.display_name || ''), el('td', {}, i.person_id),
            el('td', {}, i.apply_by || '—'), el('td', {}, c.recommended_apply_by || '—'),
            el('td', {}, (c.applicants || []).map((a) => tv('app_', a)).join('、')));
        })))));
  }
  m.append(el('div', { class: 'no-print' }, el('p', {}, t('print_help')),
    el('button', { type: 'button', class: 'primary', onclick: () => window.print() }, t('print_button'))), doc);
}

// ---- routing ------------------------------------------------------------
// One screen at a time: a route asked for while another is still loading
// (a click on the language switch, then a link) waits for it, so the
// last one asked for is the one shown.
let routing = Promise.resolve();
export function route() {
  routing = routing.then(show, show);
  return routing;
}
async function show() {
  translateStatic();
  const h = location.hash || '#/';
  main().setAttribute('aria-busy', 'true');
  try {
    if (h.startsWith('#/person/')) await personView(decodeURIComponent(h.slice(9)));
    else if (h === '#/check') checkView();
    else if (h === '#/import') importView();
    else if (h === '#/print') await printView();
    else await worklistView();
  } catch (e) {
    clear(main()).append(el('p', { class: 'alert', role: 'alert' }, `${t('error')}. ${t('retry_later')}`));
  }
  main().removeAttribute('aria-busy');
}

async function start() {
  setLang(getLang());
  document.getElementById('lang').addEventListener('click', () => { setLang(getLang() === 'ja' ? 'en' : 'ja'); route(); });
  document.getElementById('signout').addEventListener('click', async () => {
    await signOut();
    session.role = 'reader'; session.facility = null;
    translateStatic();
    document.getElementById('signout').hidden = true;
    signInView();
  });
  setUnauthorizedHandler(() => { session.csrf = ''; translateStatic(); signInView(); });
  window.addEventListener('hashchange', () => { if (session.csrf || session.open) route(); });
  if (await loadSession()) route();
  else { translateStatic(); document.getElementById('signout').hidden = true; signInView(); }
}
start();
