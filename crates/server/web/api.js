// The session (token, user, store settings) and every call to the HTTP API (/api/v1), with a
// timeout on each: a server that does not answer in time is treated as unreachable, and the
// till says it works offline until a probe gets an answer again.

export const session = {
  get token() { return localStorage.getItem('tills.token'); },
  set token(t) { t ? localStorage.setItem('tills.token', t) : localStorage.removeItem('tills.token'); },
  me: null,
  store: null,
};

// The server could not be reached, did not answer in time, or answered 5xx.
export class Offline extends Error {}

// How long a request may take. A sale gets longer: it is safe to resend, but a till that gives
// up too soon keeps a sale waiting that the server already has.
export const TIMEOUT_MS = { read: 4000, sale: 8000, probe: 2000 };

// Whether the server answered lately. `listeners` hear every change (the header shows it).
export const net = {
  online: true,
  reason: '',
  listeners: new Set(),
  set(online, reason = '') {
    if (this.online === online && this.reason === reason) return;
    this.online = online;
    this.reason = reason;
    for (const f of this.listeners) f(online);
  },
};

// Called when the server answers 401 to a signed-in request (app.js logs out).
export const auth = { onUnauthorized: () => {} };

export async function api(method, path, body, { timeout = TIMEOUT_MS.read, headers = {} } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeout);
  let res;
  let text;
  try {
    res = await fetch('/api/v1' + path, {
      method,
      headers: { 'content-type': 'application/json', ...(session.token ? { authorization: 'Bearer ' + session.token } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
      cache: 'no-store',
    });
    text = await res.text();
  } catch (e) {
    const reason = controller.signal.aborted ? `the server did not answer within ${timeout / 1000} s` : 'the server cannot be reached';
    net.set(false, reason);
    throw new Offline(reason);
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (res.status >= 500) {
    const reason = data?.error?.message || 'server error ' + res.status;
    net.set(false, reason);
    throw new Offline(reason);
  }
  net.set(true);
  if (res.status === 401 && path !== '/auth/login' && session.token) auth.onUnauthorized();
  return { status: res.status, ok: res.ok, data };
}

// Asks the server whether it is back (a cheap request that needs no token).
export async function probe() {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS.probe);
  try {
    const res = await fetch('/healthz', { signal: controller.signal, cache: 'no-store' });
    await res.text();
    if (res.ok) net.set(true);
    return res.ok;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

export function errorOf(r) {
  return r?.data?.error || { code: 'error', message: 'unexpected answer ' + r?.status };
}
