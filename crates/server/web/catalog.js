// The store's sellable catalog on the till (IndexedDB), to scan, search and sell any product
// while the server is away. A first copy comes in pages from GET /catalog/changes; after that
// the same request with the copy's version brings only what changed (one small request when
// nothing did). Online, the server stays the truth: scans and totals ask it first.
//
// On disk: the first copy's pages as they came, one record each (`chunks`: opening 50,000
// products reads 50 records, not 50,000), and every later change on top, one record per product
// (`overlay`: the product, or { id, deleted: true }). Opening reads the chunks, then the overlay.

import { api, session } from './api.js';
import { decodeScaleLabel } from './barcode.js';

const key = (what) => `tills.${what}.${session.me?.storeId}`;
const read = (what) => { try { return JSON.parse(localStorage.getItem(key(what)) || 'null'); } catch { return null; } };

let db = null; // the open IndexedDB of the signed-in store
let dbStore = null;
const products = new Map(); // id → product
const byBarcode = new Map(); // barcode → { id, unit }
let loaded = null; // the promise of the copy read into memory
// How long the copy took to open and to sync, for the benchmark (e2e/bench-catalog.mjs).
export const catalogStats = { openMs: null, syncMs: null, pages: 0, products: 0, fetchMs: 0, writeMs: 0 };
globalThis.tillsCatalogStats = catalogStats;

function openDb(store) {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open('tills-catalog-' + store, 1);
    req.onupgradeneeded = () => {
      req.result.createObjectStore('chunks');
      req.result.createObjectStore('overlay', { keyPath: 'id' });
      req.result.createObjectStore('meta');
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function request(r) {
  return new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
}

function index(p) {
  const old = products.get(p.id);
  if (old) unindex(old);
  products.set(p.id, p);
  if (p.barcode) byBarcode.set(p.barcode, { id: p.id, unit: null });
  for (const code of p.alternateBarcodes || []) byBarcode.set(code, { id: p.id, unit: null });
  for (const u of p.units || []) if (u.barcode) byBarcode.set(u.barcode, { id: p.id, unit: u });
}

function unindex(p) {
  for (const code of [p.barcode, ...(p.alternateBarcodes || []), ...(p.units || []).map((u) => u.barcode)]) {
    if (code && byBarcode.get(code)?.id === p.id) byBarcode.delete(code);
  }
  products.delete(p.id);
}

// Reads this store's copy into memory (once per sign-in).
export function openCatalog() {
  const store = session.me?.storeId;
  if (!store) return Promise.resolve();
  if (loaded && dbStore === store) return loaded;
  dbStore = store;
  products.clear();
  byBarcode.clear();
  loaded = (async () => {
    const t0 = performance.now();
    db = await openDb(store);
    const t = db.transaction(['chunks', 'overlay']);
    const [chunks, overlay] = await Promise.all([request(t.objectStore('chunks').getAll()), request(t.objectStore('overlay').getAll())]);
    for (const chunk of chunks) for (const p of chunk) index(p);
    for (const p of overlay) {
      if (!p.deleted) index(p);
      else if (products.has(p.id)) unindex(products.get(p.id));
    }
    catalogStats.openMs = performance.now() - t0;
    catalogStats.products = products.size;
  })().catch((e) => { console.warn('catalog copy unavailable', e); });
  return loaded;
}

async function getMeta(name) {
  return request(db.transaction('meta').objectStore('meta').get(name));
}

// A page of the first copy becomes a chunk; a page of changes goes on the overlay. The token
// that follows is written in the same transaction: a copy stopped half-way resumes after it.
function write(firstCopy, changed, deleted, next) {
  return new Promise((resolve, reject) => {
    const t = db.transaction(['chunks', 'overlay', 'meta'], 'readwrite');
    if (firstCopy) {
      const chunks = t.objectStore('chunks');
      const count = chunks.count();
      count.onsuccess = () => { if (changed.length) chunks.put(changed, count.result); };
    } else {
      const overlay = t.objectStore('overlay');
      for (const p of changed) overlay.put(p);
      for (const id of deleted) overlay.put({ id, deleted: true });
    }
    t.objectStore('meta').put(next, 'next');
    t.oncomplete = resolve;
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}

let syncing = null;
// Brings the copy up to date: every page until the server says there is no more. Each page is
// written with the token that follows it, so an interrupted first copy resumes where it stopped.
export function syncCatalog() {
  if (syncing) return syncing;
  const t0 = performance.now();
  syncing = (async () => {
    await openCatalog();
    if (!db) return { pages: 0 };
    const store = dbStore;
    let since = await getMeta('next');
    let pages = 0;
    for (;;) {
      const t1 = performance.now();
      const r = await api('GET', '/catalog/changes?limit=1000' + (since != null ? '&since=' + encodeURIComponent(since) : ''), undefined, { timeout: 15000 });
      if (!r.ok || dbStore !== store) return { pages };
      pages++;
      const t2 = performance.now();
      const firstCopy = since == null || String(since).startsWith('copy:');
      await write(firstCopy, r.data.products, r.data.deleted, r.data.next);
      catalogStats.fetchMs += t2 - t1;
      catalogStats.writeMs += performance.now() - t2;
      for (const p of r.data.products) index(p);
      for (const id of r.data.deleted) { const p = products.get(id); if (p) unindex(p); }
      since = r.data.next;
      if (!r.data.more) {
        Object.assign(catalogStats, { syncMs: performance.now() - t0, pages, products: products.size });
        return { pages, version: since };
      }
    }
  })().finally(() => { syncing = null; });
  return syncing;
}

export const catalog = {
  // A scan answer ({ product, unit, embedded }) from the copy, decoding scale labels as the server does.
  lookup(code) {
    const hit = byBarcode.get(code);
    if (hit) return { product: products.get(hit.id), unit: hit.unit, embedded: null };
    const label = decodeScaleLabel(session.store?.scaleBarcodes, code, session.store?.currencyDecimals ?? 2);
    if (!label) return null;
    const item = byBarcode.get(label.itemCode);
    return item ? { product: products.get(item.id), unit: null, embedded: label.embedded } : null;
  },
  // A server's scan answer keeps the copy current for that product.
  remember(_code, answer) { if (answer?.product && products.has(answer.product.id)) index(answer.product); },
  // Active products whose name contains `q`, or whose sku or a barcode starts with it.
  search(q, limit = 8) {
    const needle = q.trim().toLowerCase();
    const out = [];
    if (!needle) return out;
    for (const p of products.values()) {
      if (p.status !== 'active') continue;
      const codes = [p.barcode, p.sku, ...(p.alternateBarcodes || [])].filter(Boolean).map((c) => c.toLowerCase());
      if (p.name.toLowerCase().includes(needle) || codes.some((c) => c.startsWith(needle))) out.push(p);
    }
    return out.sort((a, b) => a.name.localeCompare(b.name)).slice(0, limit);
  },
  quick() {
    const fromCopy = [...products.values()].filter((p) => p.showInQuickProducts && p.status === 'active').sort((a, b) => a.name.localeCompare(b.name));
    return fromCopy.length ? fromCopy : read('quick') || [];
  },
  setQuick(list) { localStorage.setItem(key('quick'), JSON.stringify(list)); },
  size() { return products.size; },
  unitNames() { return new Map(read('units') || []); },
  setUnits(units) { localStorage.setItem(key('units'), JSON.stringify(units.map((u) => [u.id, u.name]))); },
  // Logout: nothing of this store stays in memory for the next user (the copy stays on disk).
  clear() { products.clear(); byBarcode.clear(); loaded = null; dbStore = null; db?.close(); db = null; },
};
