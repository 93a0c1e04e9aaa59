// The terminal's service worker: keeps the app shell (HTML, CSS, JavaScript modules, icons) so
// the till opens and sells with the server unreachable. The server stamps SHELL_VERSION with a
// hash of the shell's files: a new release is a new worker with its own cache, which replaces
// the old one whole (the page reloads once), so files of two versions never mix. API requests
// are never cached.
const SHELL_VERSION = '__TILLS_SHELL_VERSION__';
const CACHE = 'tills-shell-' + SHELL_VERSION;
const SHELL = ['/', '/index.html', '/style.css', '/app.js', '/api.js', '/dom.js', '/format.js', '/pricing.js', '/barcode.js',
  '/outbox.js', '/catalog.js', '/sale.js', '/receipt.js', '/sales.js', '/backoffice.js', '/shift.js', '/approval.js', '/code128.js', '/favicon.svg', '/manifest.webmanifest', '/icon.svg'];

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // Fetched past the HTTP cache: the files of this version, not older copies.
    await cache.addAll(SHELL.map((url) => new Request(url, { cache: 'reload' })));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name.startsWith('tills-shell-') && name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/') || ['/healthz', '/readyz', '/metrics', '/sw.js'].includes(url.pathname)) return;
  const path = event.request.mode === 'navigate' ? '/' : url.pathname;
  if (!SHELL.includes(path)) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const hit = await cache.match(path);
    return hit || fetch(event.request);
  })());
});

self.addEventListener('message', (event) => {
  if (event.data === 'version') event.source?.postMessage({ version: SHELL_VERSION });
});
