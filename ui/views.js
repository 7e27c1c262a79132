// views.js - the decision in full, and the form of facts a check records.
import { el, clear } from './dom.js';
import { t, tv, getLang } from './i18n.js';

const today = () => new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Tokyo' }).format(new Date());
function row(label, ...value) { return [el('dt', {}, label), el('dd', {}, ...value)]; }
const yn = (b) => (b === null || b === undefined ? t('unknown') : b ? '✓ ' + (getLang() === 'en' ? 'yes' : 'はい') : '✗ ' + (getLang() === 'en' ? 'no' : 'いいえ'));

export function decisionView(d) {
  const c = d.certificate || {}, r = d.registration || {}, ins = d.insurer || {};
  const box = el('div', { class: 'decision' });
  if (d.stale) box.append(el('p', { class: 'alert' }, t('stale_warning')));
  box.append(el('section', { class: 'card' }, el('h3', {}, t('certificate')),
    el('dl', {}, row(t('entitlement'), entBadge(c.entitlement)),
      row(t('app_required'), c.application_required ? t('yes') : t('no')),
      row(t('may_apply'), yn(c.may_apply)),
      row(t('apply_by'), c.apply_by || '—'),
      row(t('recommended_apply_by'), c.recommended_apply_by || '—'),
      row(t('applicants'), (c.applicants || []).map((a) => tv('app_', a)).join('、') || '—'),
      d.data_as_of !== undefined ? row(t('data_as_of'), d.data_as_of || t('unknown')) : null)));
  box.append(el('section', { class: 'card' }, el('h3', {}, t('registration')),
    el('dl', {}, row(t('insurance_registration'), tv('reg_', r.status)), row(t('usable'), yn(r.usable)))));
  box.append(el('section', { class: 'card' }, el('h3', {}, t('insurer')),
    el('dl', {}, row(t('insurer_number'), ins.number || '—'), row(t('insurer'), ins.name || '—'),
      row(t('prefecture'), (getLang() === 'en' ? ins.prefecture_en : ins.prefecture) || '—'),
      row(t('counter'), ins.channel ? tv('ch_', ins.channel) : '—'))));
  box.append(nextChangeView(d));
  if (d.missing_facts && d.missing_facts.length)
    box.append(el('section', { class: 'card' }, el('h3', {}, t('missing_facts')), el('ul', {}, d.missing_facts.map((f) => el('li', {}, f)))));
  box.append(el('section', { class: 'card' }, el('h3', {}, t('reasons')),
    el('ul', { class: 'texts' }, (d.reasons || []).map((x) => el('li', {}, x.source ? el('span', { class: 'src' }, x.source) : null, ' ', x.text)))));
  box.append(el('section', { class: 'card' }, el('h3', {}, t('advice')),
    el('ul', { class: 'texts' }, (d.advice || []).map((x) => el('li', {}, x.source ? el('span', { class: 'src' }, x.source) : null, ' ', x.text)))));
  return box;
}

// next_change (SPEC §6, openapi NextChange): null, or the first date on which
// the registration status, the entitlement or application_required would
// differ for the same facts, with that date's values and deciding rule.
function nextChangeView(d) {
  const n = d.next_change, c = d.certificate || {}, r = d.registration || {};
  const sec = el('section', { class: 'card next-change' }, el('h3', {}, t('next_change')));
  if (!n) { sec.append(el('p', {}, t('nc_none'))); return sec; }
  const left = Math.round((Date.parse(n.date) - Date.parse(today())) / 86400000);
  const req = n.application_required === c.application_required
    ? (n.application_required ? t('nc_app_still') : t('nc_app_still_not'))
    : (n.application_required ? t('nc_app_becomes') : t('nc_app_ends'));
  const ent = n.entitlement === c.entitlement
    ? [entBadge(n.entitlement), ' ', t('nc_same')]
    : [entBadge(c.entitlement), ' → ', entBadge(n.entitlement)];
  sec.append(el('p', { class: 'lead' }, t('nc_lead', n.date, tv('ent_', n.entitlement), left)),
    el('dl', {}, row(t('nc_date'), n.date, ' ', el('small', {}, `(${t('days_left', left)})`)),
      row(t('entitlement'), ...ent),
      row(t('app_required'), n.application_required ? el('strong', {}, req) : req),
      row(t('insurance_registration'), n.registration_status === r.status
        ? tv('reg_', n.registration_status) : `${tv('reg_', r.status)} → ${tv('reg_', n.registration_status)}`),
      row(t('nc_reason'), tv('rs_', n.reason))));
  return sec;
}
function entBadge(e) { return el('span', { class: `badge ent-${e || 'unknown'}` }, tv('ent_', e)); }

function field(name, label, control) {
  return el('div', { class: 'fld', 'data-field': name }, el('label', { for: 'f-' + name }, label), control,
    el('span', { class: 'err', id: 'e-' + name }));
}
function select(name, prefix, values, cur) {
  return el('select', { id: 'f-' + name, name, 'aria-describedby': 'e-' + name }, el('option', { value: '' }, '—'),
    values.map((v) => el('option', { value: v, selected: cur === v }, tv(prefix, v))));
}
function date(name, cur) { return el('input', { type: 'date', id: 'f-' + name, name, value: cur || '', 'aria-describedby': 'e-' + name }); }

const CARE = ['elderly', 'dementia', 'disability', 'child', 'illness', 'pin_difficulty', 'face_auth_difficulty', 'other'];

export function factsForm(p, check) {
  const form = el('form', { class: 'facts', novalidate: true });
  if (check) {
    form.append(field('birth_date', t('birth_date'), date('birth_date', '')),
      field('insurer_number', t('insurer_number'), el('input', { id: 'f-insurer_number', name: 'insurer_number', inputmode: 'numeric', 'aria-describedby': 'e-insurer_number' })));
  }
  form.append(
    field('mynumber_card', t('mynumber_card'), select('mynumber_card', 'card_', ['held', 'none', 'lost', 'renewing', 'unknown'], p.mynumber_card)),
    field('insurance_registration', t('insurance_registration'), select('insurance_registration', 'reg_', ['registered', 'unregistered', 'cancelled', 'unknown'], p.insurance_registration)),
    field('ecert_expiry', t('ecert_expiry'), date('ecert_expiry', p.ecert_expiry)));
  const care = el('fieldset', { class: 'fld', 'data-field': 'care_needs' }, el('legend', {}, t('care_needs')),
    CARE.map((c) => el('label', { class: 'chk' }, el('input', { type: 'checkbox', name: 'care_needs', value: c, checked: (p.care_needs || []).includes(c) }), tv('care_', c))),
    el('span', { class: 'err', id: 'e-care_needs' }));
  form.append(care,
    field('setting', t('setting'), select('setting', 'set_', ['home', 'care_facility', 'disability_facility', 'childrens_facility', 'hospital', 'other'], p.setting)),
    field('certificate_status', t('certificate_status'), select('certificate_status', 'cert_', ['none', 'applied', 'issued'], p.certificate && p.certificate.status)));
  if (!check) {
    form.append(field('verified_at', t('verified_at'), date('verified_at', today())),
      field('source', t('src'), select('source', 'src_', ['mynaportal', 'card_reader', 'insurer_notice', 'self_report', 'other'], p.source)));
  }
  return form;
}

// The facts of the form over base: a field left empty becomes undefined
// (absent: SPEC §6 never takes null).
export function formFacts(form, base) {
  const v = (n) => { const e = form.elements.namedItem(n); return e && e.value !== '' ? e.value.trim() : undefined; };
  const out = {};
  for (const n of ['birth_date', 'insurer_number', 'mynumber_card', 'insurance_registration', 'ecert_expiry', 'setting', 'verified_at', 'source'])
    if (form.elements.namedItem(n)) out[n] = v(n);
  const care = [...form.querySelectorAll('input[name=care_needs]:checked')].map((e) => e.value);
  out.care_needs = care.length ? care : undefined;
  const st = v('certificate_status');
  const old = base.certificate || {};
  out.certificate = st === undefined ? undefined : st === old.status ? old : { status: st };
  return out;
}

// The problem's errors[] beside their fields (a JSON Pointer names each).
export function showErrors(form, errors, prefix) {
  for (const e of form.querySelectorAll('.err')) clear(e);
  for (const e of form.querySelectorAll('[aria-invalid]')) e.removeAttribute('aria-invalid');
  let first = null;
  for (const er of errors) {
    let f = (er.field || '').startsWith(prefix) ? er.field.slice(prefix.length) : er.field;
    f = f.replace(/^\//, '').replace(/^certificate\/status$/, 'certificate_status').split('/')[0];
    if (f === 'certificate') f = 'certificate_status';
    const box = form.querySelector('#e-' + CSS.escape(f));
    if (!box) continue;
    box.textContent = er.message;
    const c = form.querySelector('#f-' + CSS.escape(f));
    if (c) { c.setAttribute('aria-invalid', 'true'); if (!first) first = c; }
  }
  if (first) first.focus();
}
