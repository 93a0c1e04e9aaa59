// End-to-end tests of the terminal: a real `tills serve --demo` on SQLite, Debian's Chromium
// driven by playwright-core. Run by scripts/test.sh (the README's test command).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const bin = process.env.TILLS_BIN || join(process.env.CARGO_TARGET_DIR || join(root, 'target'), 'debug', 'tills');
const shots = join(root, 'docs', 'screenshots');
const dataDir = mkdtempSync(join(tmpdir(), 'tills-e2e-'));
const PASSWORD = 'tills-demo-1';
const COLA = '4006000001005';
const COLA_SIX = '4006000001104';

let port;
let server;
let browser;

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

async function startServer() {
  server = spawn(bin, ['serve', '--demo', '--listen', `127.0.0.1:${port}`], {
    env: { ...process.env, TILLS_DATA_DIR: dataDir, DATABASE_URL: '', REDIS_URL: '', RUST_LOG: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (r.ok) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('tills did not start');
}

async function stopServer() {
  if (!server) return;
  const exited = new Promise((r) => server.once('exit', r));
  server.kill('SIGKILL');
  await exited;
  server = null;
}

async function apiToken(email) {
  const r = await fetch(`http://127.0.0.1:${port}/api/v1/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ store: 'demo', email, password: PASSWORD }),
  });
  return (await r.json()).token;
}

async function login(page, email) {
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.fill('input[name=store]', 'demo');
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForSelector('#scan');
}

async function scan(page, code) {
  await page.fill('#scan', code);
  await page.press('#scan', 'Enter');
}

before(async () => {
  mkdirSync(shots, { recursive: true });
  port = await freePort();
  await startServer();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  await stopServer();
  rmSync(dataDir, { recursive: true, force: true });
});

test('a cashier scans a product and a pack, changes a quantity, pays cash and gets a receipt', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await login(page, 'cashier@demo.tills');
  await page.screenshot({ path: join(shots, 'sale-empty.png') });
  await scan(page, COLA);
  await scan(page, COLA);
  await scan(page, COLA_SIX);
  await scan(page, '0000000000000');
  await page.waitForSelector('#toast.show');
  assert.match(await page.textContent('#toast'), /Unknown barcode 0000000000000/);
  // The scan field kept the focus through the unknown barcode.
  assert.equal(await page.evaluate(() => document.activeElement.id), 'scan');
  const rows = page.locator('#cart tr[data-line]');
  assert.equal(await rows.count(), 2);
  assert.equal(await rows.nth(0).locator('input.qty').inputValue(), '2');
  // A third cola scanned, then the cashier types 4 over it while the quote for three is
  // still on its way: the quote's answer keeps what is typed and where the cursor is.
  await scan(page, COLA);
  const qty = rows.nth(0).locator('input.qty');
  await page.waitForFunction(() => document.querySelector('#cart input.qty')?.value === '3');
  await qty.fill('4');
  // A quote answers: for three (3 × 1.50 + 8.49, prices include tax in the demo store) or
  // already for the four typed so far.
  await page.waitForFunction(() => /12\.99|14\.49/.test(document.querySelector('#total')?.textContent));
  assert.equal(await qty.inputValue(), '4');
  assert.equal(await page.evaluate(() => document.activeElement.className), 'qty');
  await qty.press('Enter');
  await page.locator('#scan').focus();
  // 4 × 1.50 + 8.49.
  await page.waitForFunction(() => document.querySelector('#total')?.textContent.includes('14.49'));
  await page.fill('#cash', '20');
  await page.waitForFunction(() => document.querySelector('#change')?.textContent.includes('5.51'));
  await page.screenshot({ path: join(shots, 'sale-cart.png') });
  await page.click('#complete');
  await page.waitForSelector('#receipt #invoice');
  const invoice = await page.textContent('#invoice');
  assert.match(invoice, /^DEMO-\d{6}$/);
  assert.match(await page.textContent('#receipt-change'), /5\.51/);
  const receipt = await page.textContent('#receipt');
  assert.match(receipt, /Cola 330ml/);
  assert.match(receipt, /4 × €1\.50/);
  assert.doesNotMatch(receipt, /object/);
  await page.emulateMedia({ media: 'print' });
  assert.ok(await page.isVisible('#invoice'), 'the print view shows the invoice number');
  assert.ok(!(await page.isVisible('#next-sale')), 'buttons are not printed');
  await page.screenshot({ path: join(shots, 'receipt-print.png') });
  await page.emulateMedia({ media: 'screen' });
  await page.close();
});

test('a cashier sees no manager actions', async () => {
  const page = await browser.newPage();
  await login(page, 'cashier@demo.tills');
  const nav = await page.locator('#nav button').allTextContents();
  assert.deepEqual(nav, ['Sale', 'Sales', 'Customers']);
  await page.goto(`http://127.0.0.1:${port}/#products`);
  await page.reload();
  await page.waitForSelector('#scan');
  await page.close();
});

test('a sale made while the server is down is sent after it restarts, exactly once', async () => {
  const page = await browser.newPage();
  await login(page, 'cashier@demo.tills');
  // Seen once while online: the terminal can sell it offline.
  await scan(page, COLA);
  await page.waitForFunction(() => document.querySelector('#total')?.textContent.includes('1.50'));
  await page.click('#cart button[aria-label^=Remove]');
  await stopServer();
  await scan(page, COLA);
  await page.waitForSelector('text=Offline: the sale will be sent');
  await page.fill('#cash', '5');
  await page.click('#complete');
  await page.waitForSelector('#provisional-ref');
  await page.waitForFunction(() => document.querySelector('#outbox-badge')?.textContent === '1 waiting');
  const ref = (await page.evaluate(() => new Promise((resolve) => {
    const req = indexedDB.open('tills', 1);
    req.onsuccess = () => {
      const all = req.result.transaction('outbox').objectStore('outbox').getAll();
      all.onsuccess = () => resolve(all.result.map((i) => i.clientRef));
    };
  })))[0];
  assert.ok(ref, 'the sale waits in IndexedDB');
  await page.screenshot({ path: join(shots, 'offline-waiting.png') });
  await startServer();
  await page.waitForFunction(() => document.querySelector('#outbox-badge')?.hidden === true, null, { timeout: 20_000 });
  const token = await apiToken('manager@demo.tills');
  const r = await fetch(`http://127.0.0.1:${port}/api/v1/sales?limit=200`, { headers: { authorization: `Bearer ${token}` } });
  const sales = (await r.json()).items.filter((s) => s.clientRef === ref);
  assert.equal(sales.length, 1, 'exactly one sale for the waiting clientRef');
  assert.equal(sales[0].offline, true);
  await page.close();
});

test('a product created in the back office scans on the sale screen', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await login(page, 'manager@demo.tills');
  await page.click('#nav button[data-screen=products]');
  await page.click('#new-product');
  await page.fill('#product-form input[name=name]', 'Browser Test Tea');
  await page.fill('#product-form input[name=barcode]', '7770001112223');
  await page.fill('#product-form input[name=price]', '2.49');
  await page.fill('#product-form input[name=taxRate]', '7');
  // The API's error shows beside the field it names.
  await page.fill('#product-form input[name=name]', '');
  await page.click('#product-form button[type=submit]');
  await page.waitForSelector('#product-form input[name=name] + .field-error');
  await page.fill('#product-form input[name=name]', 'Browser Test Tea');
  await page.screenshot({ path: join(shots, 'back-office-product.png') });
  await page.click('#product-form button[type=submit]');
  await page.waitForSelector('#new-product');
  await page.click('#nav button[data-screen=sale]');
  await page.waitForSelector('#scan');
  await scan(page, '7770001112223');
  await page.waitForFunction(() => document.querySelector('#cart')?.textContent.includes('Browser Test Tea'));
  await page.waitForFunction(() => document.querySelector('#total')?.textContent.includes('2.49'));
  await page.close();
});
