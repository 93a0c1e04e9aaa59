// Issue 27: the installable, offline-first till. A real `tills serve --demo`, Chromium with a
// profile directory of its own (a "reboot" is a new browser on the same directory).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tills, launch, launchPersistent, login as signIn, root, scan, waitingRefs } from './lib.mjs';

const tills = new Tills();
const profiles = [];
let browser;

// The EAN-13 of the demo's nth product (demo.rs: 4006 + n as six digits + 00 + check).
function ean13(twelve) {
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(twelve[i]) * (i % 2 === 0 ? 1 : 3);
  return twelve + ((10 - (sum % 10)) % 10);
}
const demo = (n) => ean13(`4006${String(n).padStart(6, '0')}00`);

function profileDir() {
  const dir = mkdtempSync(join(tmpdir(), 'tills-profile-'));
  profiles.push(dir);
  return dir;
}

before(async () => {
  await tills.start();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await tills.cleanup();
  for (const dir of profiles) rmSync(dir, { recursive: true, force: true });
});

// Signed in, the service worker in control and the catalog copied.
async function readyTill(page, email) {
  await signIn(page, tills, email);
  await page.waitForFunction(() => navigator.serviceWorker?.controller != null, null, { timeout: 20_000 }).catch(async () => {
    await page.reload();
    await page.waitForFunction(() => navigator.serviceWorker?.controller != null, null, { timeout: 20_000 });
  });
  await page.waitForFunction(() => new Promise((resolve) => {
    const req = indexedDB.open('tills-catalog-demo');
    req.onsuccess = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains('meta')) return resolve(false);
      const t = db.transaction(['meta', 'chunks']);
      const next = t.objectStore('meta').get('next');
      const chunks = t.objectStore('chunks').getAll();
      t.oncomplete = () => { db.close(); resolve(next.result != null && !String(next.result).startsWith('copy') && chunks.result.flat().length > 50); };
    };
    req.onerror = () => resolve(false);
  }), null, { timeout: 30_000, polling: 250 });
}

test('offline after a reload and a reboot: unseen products sell by barcode, scale label, search and quick button; the sale is sent once', async () => {
  const dir = profileDir();
  let context = await launchPersistent(dir);
  let page = context.pages()[0] || await context.newPage();
  await readyTill(page, 'cashier@demo.tills');
  // The network goes; the tab is reloaded: the till opens on its sale screen and says so.
  await context.setOffline(true);
  await page.reload();
  await page.waitForSelector('#scan');
  await page.waitForSelector('#net-state:not([hidden])');
  assert.match(await page.textContent('#net-state'), /Offline — 0 sales waiting/);
  // Never scanned on this till: by barcode, by a deli scale label, by search, by quick button.
  await scan(page, demo(7)); // Orange Juice 1l
  await page.waitForFunction(() => document.querySelector('#cart')?.textContent.includes('Orange Juice 1l'));
  await scan(page, '2100001005351'); // 0.535 kg of Emmental
  await page.waitForFunction(() => document.querySelector('#cart')?.textContent.includes('Emmental'));
  await page.fill('#search', 'penne');
  await page.click('.results button:has-text("Penne 500g")');
  await page.click('#quick button:has-text("Bananas")');
  await page.waitForFunction(() => document.querySelectorAll('#cart tr[data-line]').length === 4);
  // 2.49 + round(19.99 × 0.535) = 10.69 + 1.29 + 0.39, by the server's money rules.
  await page.waitForFunction(() => document.querySelector('#total')?.textContent.includes('14.86'));
  await page.fill('#cash', '20');
  await page.click('#complete');
  await page.waitForSelector('#provisional-ref');
  assert.match(await page.textContent('#provisional-total'), /14\.86/);
  assert.match(await page.textContent('#provisional-change'), /5\.14/);
  const [ref] = await waitingRefs(page);
  assert.ok(ref);
  await page.click('#next-sale');
  await page.waitForFunction(() => /1 sale waiting/.test(document.querySelector('#net-state')?.textContent));

  // A power cut: the browser goes, and comes back on the same profile, still offline.
  await context.close();
  context = await launchPersistent(dir, { offline: true });
  page = context.pages()[0] || await context.newPage();
  await page.goto(`${tills.url}/`);
  await page.waitForSelector('#scan');
  await page.waitForFunction(() => /1 sale waiting/.test(document.querySelector('#net-state')?.textContent));
  // The network returns: the waiting sale goes once.
  await context.setOffline(false);
  await page.waitForSelector('#net-state[hidden]', { state: 'attached', timeout: 20_000 });
  await page.waitForFunction(() => document.querySelector('#outbox-badge')?.hidden === true, null, { timeout: 20_000 });
  const sales = (await tills.call('manager@demo.tills', 'GET', '/sales?limit=200')).data.items.filter((s) => s.clientRef === ref);
  assert.equal(sales.length, 1, 'exactly one sale for the waiting clientRef');
  assert.equal(sales[0].total, 1486);
  assert.equal(sales[0].offline, true);
  await context.close();
});

test('a price changed on the server reaches an online till\'s copy within one sync', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await readyTill(page, 'cashier@demo.tills');
  const juice = (await tills.call('manager@demo.tills', 'GET', `/products/barcode/${demo(6)}`)).data.product; // Apple Juice 1l
  assert.equal((await tills.call('manager@demo.tills', 'PATCH', `/products/${juice.id}`, { price: 333 })).status, 200);
  // One sync: the one every sign-in and reload makes.
  const synced = page.waitForResponse((r) => r.url().includes('/catalog/changes?') && r.url().includes('since='));
  await page.reload();
  const answer = await (await synced).json();
  assert.ok(answer.products.some((p) => p.id === juice.id && p.price === 333), 'the change came in one request');
  await context.setOffline(true);
  await page.reload();
  await page.waitForSelector('#net-state:not([hidden])');
  await scan(page, demo(6));
  await page.waitForFunction(() => document.querySelector('#total')?.textContent.includes('3.33'));
  await context.close();
});

test('benchmark: scan to line from the local copy (prints numbers)', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await readyTill(page, 'cashier@demo.tills');
  await context.setOffline(true);
  await page.reload();
  await page.waitForSelector('#net-state:not([hidden])');
  const codes = Array.from({ length: 40 }, (_, i) => demo(i + 1));
  const times = await page.evaluate(async (list) => {
    const input = document.querySelector('#scan');
    const out = [];
    for (const code of list) {
      const rows = () => document.querySelectorAll('#cart tr[data-line]').length;
      const before = rows();
      const t0 = performance.now();
      input.value = code;
      input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
      while (rows() === before) await new Promise((r) => setTimeout(r, 0));
      out.push(performance.now() - t0);
    }
    return out;
  }, codes);
  times.sort((a, b) => a - b);
  const p = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(1);
  console.log(`scan-to-line from the local copy, ${times.length} scans: median ${p(0.5)} ms, p95 ${p(0.95)} ms, max ${times.at(-1).toFixed(1)} ms`);
  assert.equal(times.length, codes.length);
  await context.close();
});

test('the whole sale from the keyboard, shortcuts on screen', async () => {
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
  const page = await context.newPage();
  await signIn(page, tills, 'cashier@demo.tills');
  assert.match(await page.textContent('#shortcuts'), /F12.*complete sale/);
  const key = (k) => page.keyboard.press(k);
  await page.keyboard.type(demo(1)); // a cola
  await key('Enter');
  await page.keyboard.type(demo(28)); // bananas
  await key('Enter');
  await page.keyboard.type(demo(19)); // a pretzel, then taken off again
  await key('Enter');
  await page.waitForFunction(() => document.querySelectorAll('#cart tr[data-line]').length === 3);
  await key('F8');
  await page.waitForFunction(() => document.querySelectorAll('#cart tr[data-line]').length === 2);
  await key('F4'); // the bananas' quantity
  await page.keyboard.type('3');
  await key('Enter');
  // 1.50 + 3 × 0.39
  await page.waitForFunction(() => document.querySelector('#total')?.textContent.includes('2.67'));
  assert.equal(await page.evaluate(() => document.activeElement.id), 'scan');
  await key('F2');
  await page.keyboard.type('pretz');
  await page.waitForSelector('.results button');
  await key('ArrowDown');
  await key('Enter');
  await page.waitForFunction(() => document.querySelector('#total')?.textContent.includes('3.46'));
  await key('F9');
  await page.keyboard.type('5');
  await key('F12');
  await page.waitForSelector('#receipt #invoice');
  assert.match(await page.textContent('#receipt-change'), /1\.54/);
  // The next customer: Enter on the focused "Next sale".
  await key('Enter');
  await page.waitForSelector('#scan');
  await page.waitForFunction(() => document.activeElement?.id === 'scan');
  await context.close();
});

for (const [name, viewport] of [['1024×768', { width: 1024, height: 768 }], ['a 10-inch tablet in portrait (800×1280)', { width: 800, height: 1280 }]]) {
  test(`the sale screen works at ${name}`, async () => {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    await signIn(page, tills, 'cashier@demo.tills');
    for (let i = 20; i <= 25; i++) await scan(page, demo(i));
    await page.waitForFunction(() => document.querySelectorAll('#cart tr[data-line]').length === 6);
    // 2.79 + 1.29 + 1.49 + 1.89 + 1.89 + 1.69
    await page.waitForFunction(() => document.querySelector('#total')?.textContent.includes('11.04'));
    const layout = await page.evaluate(() => {
      const r = (s) => document.querySelector(s).getBoundingClientRect();
      return { complete: r('#complete'), scan: r('#scan'), width: document.documentElement.scrollWidth };
    });
    assert.ok(layout.width <= viewport.width, `no sideways scrolling: ${layout.width}`);
    assert.ok(layout.complete.bottom <= viewport.height && layout.complete.top >= 0, `Complete sale on screen: ${JSON.stringify(layout.complete)}`);
    assert.ok(layout.scan.top >= 0 && layout.scan.bottom <= viewport.height);
    await page.click('text=Cash: exact');
    await page.click('#complete');
    await page.waitForSelector('#receipt #invoice');
    await context.close();
  });
}

test('a new release of the app shell replaces the old one whole', async () => {
  // A server whose terminal files are a folder (TILLS_WEB_DIR): a release is new files in it.
  const web = mkdtempSync(join(tmpdir(), 'tills-web-'));
  profiles.push(web);
  cpSync(join(root, 'crates/server/web'), web, { recursive: true });
  const released = new Tills();
  await released.start({ TILLS_WEB_DIR: web });
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await signIn(page, released, 'cashier@demo.tills');
    await page.waitForFunction(() => navigator.serviceWorker?.controller != null, null, { timeout: 20_000 });
    const version = () => page.evaluate(() => new Promise((resolve) => {
      navigator.serviceWorker.addEventListener('message', (e) => resolve(e.data.version), { once: true });
      navigator.serviceWorker.controller.postMessage('version');
    }));
    const first = await version();
    assert.match(first, /^[0-9a-f]{16}$/);
    assert.deepEqual(await page.evaluate(() => caches.keys()), [`tills-shell-${first}`]);
    assert.equal(await page.evaluate(() => window.tillsRelease), undefined);
    // The next release changes app.js: the browser finds a new worker, which takes the new shell
    // whole, removes the old one, and the page reloads once onto it.
    appendFileSync(join(web, 'app.js'), '\nwindow.tillsRelease = 2;\n');
    const reloaded = page.waitForEvent('framenavigated');
    await page.evaluate(() => navigator.serviceWorker.getRegistration().then((r) => r.update()));
    await reloaded;
    await page.waitForSelector('#scan');
    await page.waitForFunction(() => window.tillsRelease === 2, null, { timeout: 20_000 });
    const second = await version();
    assert.notEqual(second, first);
    assert.deepEqual(await page.evaluate(() => caches.keys()), [`tills-shell-${second}`], 'the old release is gone');
    // Offline, the new release is what opens.
    await context.setOffline(true);
    await page.reload();
    await page.waitForSelector('#scan');
    assert.equal(await page.evaluate(() => window.tillsRelease), 2);
  } finally {
    await context.close();
    await released.cleanup();
  }
});
