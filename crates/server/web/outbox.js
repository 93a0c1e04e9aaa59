// The outbox: sales waiting for the server, in IndexedDB. A sale is written here with its
// clientRef before its request leaves, and leaves only when the server has it (201, or 200 for
// a clientRef it already had). Waiting sales are sent one at a time in the order they were
// made. One the server refuses stays, with the server's reason, until a manager resolves it.

import { api, errorOf, Offline, session, TIMEOUT_MS } from './api.js';

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

// The order sales were made on this till: increasing, also across reloads and clock changes.
export function nextSeq() {
  const n = Math.max(Number(localStorage.getItem('tills.seq') || 0) + 1, Date.now());
  localStorage.setItem('tills.seq', String(n));
  return n;
}

export const outbox = {
  db: null,
  async open() {
    if (this.db) return this.db;
    this.db = await new Promise((resolve, reject) => {
      const req = indexedDB.open('tills', 1);
      req.onupgradeneeded = () => req.result.createObjectStore('outbox', { keyPath: 'clientRef' });
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    if (navigator.storage?.persist) navigator.storage.persist().catch(() => {});
    return this.db;
  },
  async tx(mode, fn) {
    const db = await this.open();
    return new Promise((resolve, reject) => {
      const t = db.transaction('outbox', mode);
      const result = fn(t.objectStore('outbox'));
      t.oncomplete = () => resolve(result?.result ?? result);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    });
  },
  put(item) { return this.tx('readwrite', (s) => s.put(item)); },
  remove(ref) { return this.tx('readwrite', (s) => s.delete(ref)); },
  get(ref) { return this.tx('readonly', (s) => s.get(ref)); },
  // This store's sales, oldest first.
  async all() {
    const r = (await this.tx('readonly', (s) => s.getAll())) || [];
    return r.filter((i) => i.store === session.me?.storeId).sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0) || String(a.createdAt).localeCompare(String(b.createdAt)));
  },
  // { waiting, refused }: sales still to send, and sales the server refused (for a manager).
  async counts() {
    const all = await this.all();
    return { waiting: all.filter((i) => !i.error && !i.resolved).length, refused: all.filter((i) => i.error && !i.resolved).length };
  },
};

// The server answered and will not take the sale as it is (4xx).
export class Refused extends Error {
  constructor(apiError) {
    super(apiError.message);
    this.apiError = apiError;
  }
}

// Sends one waiting sale. Returns the sale when the server took it (201 or 200); throws Offline
// when it could not tell (the sale stays waiting), Refused when the server said no.
// clientRefs on their way now: the same sale is never sent twice at once.
const inFlight = new Set();

export async function sendSale(item, timeout = TIMEOUT_MS.sale) {
  if (inFlight.has(item.clientRef)) throw new Offline('this sale is being sent');
  inFlight.add(item.clientRef);
  let r;
  try {
    r = await api('POST', '/sales', item.body, { timeout });
  } finally {
    inFlight.delete(item.clientRef);
  }
  if (r.status === 201 || r.status === 200) {
    await outbox.remove(item.clientRef);
    return r.data;
  }
  // Signed out or throttled: not an answer about the sale; it waits for the next sign-in.
  if (r.status === 401 || r.status === 429) throw new Offline(errorOf(r).message);
  // Refused: kept, with the reason, for a manager; never dropped silently.
  item.error = errorOf(r);
  item.refusedAt = new Date().toISOString();
  await outbox.put(item);
  throw new Refused(item.error);
}

export const outboxEvents = { sent: (_item, _sale) => {}, changed: () => {} };

let flushing = false;
export async function flushOutbox() {
  if (flushing || !session.me?.storeId || !session.token) return;
  flushing = true;
  let changed = false;
  try {
    for (const item of await outbox.all()) {
      if (item.error || item.resolved || inFlight.has(item.clientRef)) continue;
      try {
        const sale = await sendSale(item);
        changed = true;
        outboxEvents.sent(item, sale);
      } catch (e) {
        if (e instanceof Offline) break;
        changed = true;
      }
    }
  } finally {
    flushing = false;
    if (changed) outboxEvents.changed();
  }
}
