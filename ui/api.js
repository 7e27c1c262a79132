// api.js - the page talks to the /v1 API of SPEC §6 only.  Signed in, the
// session cookie (HttpOnly: never seen here) authenticates; the CSRF token
// from the session answer goes with every change.  No key is ever stored.
import { getLang } from './i18n.js';

export const session = { csrf: '', role: 'admin', facility: null, open: false };
let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

function headers(method, extra) {
  const h = { 'Accept-Language': getLang(), ...extra };
  if (method !== 'GET' && method !== 'HEAD' && session.csrf) h['X-CSRF-Token'] = session.csrf;
  return h;
}

export async function api(method, path, opts = {}) {
  const h = headers(method, opts.headers || {});
  let body;
  if (opts.json !== undefined) { h['Content-Type'] = 'application/json'; body = JSON.stringify(opts.json); }
  const r = await fetch(path, { method, headers: h, body, credentials: 'same-origin', cache: 'no-store' });
  let data = null;
  const ct = r.headers.get('Content-Type') || '';
  if (ct.includes('json')) { try { data = await r.json(); } catch { data = null; } }
  if (r.status === 401 && !opts.noRedirect) onUnauthorized();
  return { status: r.status, ok: r.ok, etag: r.headers.get('ETag'), data };
}

// The upload of an import, with its progress (fetch has no upload events).
export function upload(path, file, contentType, onProgress) {
  return new Promise((resolve) => {
    const x = new XMLHttpRequest();
    x.open('POST', path);
    const h = headers('POST', { 'Content-Type': contentType });
    for (const [k, v] of Object.entries(h)) x.setRequestHeader(k, v);
    x.upload.addEventListener('progress', (e) => { if (e.lengthComputable) onProgress(e.loaded, e.total); });
    x.addEventListener('load', () => {
      let data = null;
      try { data = JSON.parse(x.responseText); } catch { data = null; }
      if (x.status === 401) onUnauthorized();
      resolve({ status: x.status, data });
    });
    x.addEventListener('error', () => resolve({ status: 0, data: null }));
    x.send(file);
  });
}

export async function loadSession() {
  const r = await api('GET', '/v1/sessions/current', { noRedirect: true });
  if (r.status === 200 && r.data) {
    session.csrf = r.data.csrf_token || '';
    session.role = r.data.role;
    session.facility = r.data.facility_id;
    session.open = r.data.csrf_token === '';
    return true;
  }
  return false;
}

export async function signIn(key) {
  const r = await api('POST', '/v1/sessions', { json: { key }, noRedirect: true });
  if (r.status === 201 && r.data) {
    session.csrf = r.data.csrf_token;
    session.role = r.data.role;
    session.facility = r.data.facility_id;
    session.open = false;
    return true;
  }
  return false;
}

export async function signOut() {
  await api('DELETE', '/v1/sessions/current', { noRedirect: true });
  session.csrf = '';
}

export const canWrite = () => session.role === 'writer' || session.role === 'admin';
