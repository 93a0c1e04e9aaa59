// End-to-end tests of the terminal: a real `tills serve --demo` on SQLite, Debian's Chromium
// driven by playwright-core. Run by scripts/test.sh (the README's test command).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Tills, launch, login as signIn, scan, waitingRefs, shots, COLA, COLA_SIX } from './lib.mjs';

const tills = new Tills();
let browser;
const login = (page, email) => signIn(page, tills, email);

before(async () => {
  mkdirSync(shots, { recursive: true });
  await tills.start();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await tills.cleanup();
});

test('a cashier scans a product and a pack, changes a quantity, pays cash and gets a receipt', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await login(page, 'cashier@demo.tills');
  await page.screenshot({ path: join(shots, 'sale-empty.png') });
  await scan(page, COLA);
  await scan(page, COLA);
  await scan(page, COLA_SIX);
  await scan(page, '0000000000000');
  // The toast of the shift's opening may still show: wait for this scan's own.
  await page.locator('#toast.show', { hasText: 'Unknown barcode 0000000000000' }).waitFor({ timeout: 5000 });
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
  assert.deepEqual(nav, ['Sale', 'Sales', 'Drawer', 'Customers']);
  await page.goto(`${tills.url}/#products`);
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
  await tills.stop();
  await scan(page, COLA);
  await page.waitForSelector('text=Offline: the sale will be sent');
  await page.fill('#cash', '5');
  await page.click('#complete');
  await page.waitForSelector('#provisional-ref');
  await page.waitForFunction(() => document.querySelector('#outbox-badge')?.textContent === '1 waiting');
  const ref = (await waitingRefs(page))[0];
  assert.ok(ref, 'the sale waits in IndexedDB');
  await page.screenshot({ path: join(shots, 'offline-waiting.png') });
  await tills.start();
  await page.waitForFunction(() => document.querySelector('#outbox-badge')?.hidden === true, null, { timeout: 20_000 });
  const r = await tills.call('manager@demo.tills', 'GET', '/sales?limit=200');
  const sales = r.data.items.filter((s) => s.clientRef === ref);
  assert.equal(sales.length, 1, 'exactly one sale for the waiting clientRef');
  assert.equal(sales[0].offline, true);
  // It belongs to the shift it was made in, although it reached the server later.
  const shift = await tills.call('cashier@demo.tills', 'GET', '/shifts/current');
  assert.equal(shift.status, 200);
  const sale = await tills.call('manager@demo.tills', 'GET', `/sales/${sales[0].id}`);
  assert.equal(sale.data.shiftId, shift.data.id);
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
