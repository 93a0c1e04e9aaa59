// A day at the till in a real browser: a cashier opens a shift with a float, sells, refunds by
// scanning the receipt with a manager's approval given on the same till, pays out, reads the
// X report, counts the drawer short and closes (Z) with the manager's approval; carts are parked
// on one till and resumed on another; a manager closes a forgotten shift.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Tills, launch, login, openShift, scan, shots, PASSWORD, COLA, COLA_SIX } from './lib.mjs';

const tills = new Tills();
let browser;

before(async () => {
  await tills.start();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await tills.cleanup();
});

async function approveAsManager(page) {
  await page.waitForSelector('#approval-form');
  await page.fill('#approval-email', 'manager@demo.tills');
  await page.fill('#approval-secret', '2468');
  await page.press('#approval-secret', 'Enter');
  await page.waitForSelector('#approval-form', { state: 'hidden' });
}

const text = async (page, sel) => (await page.textContent(sel)).replace(/\s+/g, ' ').trim();

test('a whole shift from the opening float to the Z report: a sale, a refund by receipt, a pay-out, a short count', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${tills.url}/`);
  await page.fill('input[name=store]', 'demo');
  await page.fill('input[name=email]', 'cashier@demo.tills');
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
  // No shift yet: the sale screen says so and opens one.
  await page.waitForSelector('#shift-banner');
  assert.match(await text(page, '#shift-banner'), /No open shift/);
  await page.screenshot({ path: join(shots, 'shift-open.png') });
  await openShift(page, '100.00');

  // A sale: two colas (2 × 1.50), 10.00 cash, 7.00 change.
  await scan(page, COLA);
  await scan(page, COLA);
  await page.waitForFunction(() => document.querySelector('#total')?.textContent.includes('3.00'));
  await page.fill('#cash', '10');
  await page.click('#complete');
  await page.waitForSelector('#receipt #invoice');
  const invoice = await page.textContent('#invoice');
  // The receipt prints its invoice number as a Code 128 barcode.
  assert.equal(await page.getAttribute('#invoice-barcode', 'data-code'), invoice);
  assert.ok(await page.locator('#invoice-barcode svg rect').count() > 20, 'the barcode has bars');
  await page.click('#next-sale');

  // The customer brings the receipt back: scanning it opens the sale with its lines preselected.
  await scan(page, invoice);
  await page.waitForSelector('#refund-form');
  assert.equal(await page.inputValue('#refund-form input.refund-qty'), '2');
  await page.fill('#refund-form input.refund-qty', '1');
  await page.locator('#refund-form input.refund-qty').dispatchEvent('input');
  await page.waitForFunction(() => document.querySelector('#refund-total')?.textContent.includes('1.50'));
  await page.click('#refund-submit');
  // A cashier's refund needs a manager: approved on this till with the manager's PIN.
  await approveAsManager(page);
  await page.waitForSelector('#refund-slip');
  assert.match(await text(page, '#refund-amount'), /1\.50/);
  // The cashier is still the one signed in.
  assert.match(await text(page, '#who'), /Cara Cashier/);

  // The drawer: a pay-out of 20.00 for the window cleaner, from the keyboard.
  await page.click('#nav button[data-screen=drawer]');
  await page.waitForSelector('#x-report');
  // 100.00 float + 10.00 cash − 7.00 change − 1.50 refunded.
  assert.match(await text(page, '#report-expected'), /101\.50/);
  await page.keyboard.press('o');
  await page.waitForSelector('#movement-form');
  await page.fill('#movement-amount', '20.00');
  await page.fill('#movement-reason', 'window cleaner');
  await page.press('#movement-reason', 'Enter');
  await page.waitForFunction(() => document.querySelector('#report-expected')?.textContent.includes('81.50'));
  assert.match(await text(page, '#report-pay-outs'), /20\.00/);
  assert.match(await text(page, '#report-sales-count'), /^1$/);
  assert.match(await text(page, '#report-refunds'), /1\.50/);
  assert.match(await text(page, '#report-movements'), /window cleaner/);
  await page.screenshot({ path: join(shots, 'shift-x-report.png') });

  // The close: one 50, one 20 and one 10 counted = 80.00, 1.50 short, beyond the store's 1.00
  // tolerance: the manager approves on this till.
  await page.keyboard.press('z');
  await page.waitForSelector('#close-form');
  await page.fill('input[data-denomination="5000"]', '1');
  await page.fill('input[data-denomination="2000"]', '1');
  await page.fill('input[data-denomination="1000"]', '1');
  assert.equal(await page.inputValue('#counted-cash'), '80.00');
  assert.match(await text(page, '#close-difference'), /short .*1\.50/);
  await page.screenshot({ path: join(shots, 'shift-close.png') });
  await page.click('#close-submit');
  await approveAsManager(page);
  await page.waitForSelector('#z-report');
  assert.match(await text(page, '#z-report h2'), /Z REPORT #1/);
  assert.match(await text(page, '#report-counted'), /80\.00/);
  assert.match(await text(page, '#report-difference'), /1\.50/);
  assert.match(await text(page, '#z-report'), /Short/);
  await page.screenshot({ path: join(shots, 'shift-z-report.png') });

  // The server has the close as counted, and it is final.
  const shifts = await tills.call('manager@demo.tills', 'GET', '/shifts?status=closed');
  assert.equal(shifts.status, 200);
  const closed = shifts.data.items[0];
  assert.equal(closed.zNumber, 1);
  assert.equal(closed.expectedCash, 8150);
  assert.equal(closed.countedCash, 8000);
  assert.equal(closed.difference, -150);
  assert.deepEqual(closed.denominations, { 5000: 1, 2000: 1, 1000: 1 });
  const again = await tills.call('manager@demo.tills', 'POST', `/shifts/${closed.id}/close`, { countedCash: 8150 });
  assert.equal(again.status, 409);

  // No shift now: the sale screen asks for one again.
  await page.click('#after-close');
  await page.click('#nav button[data-screen=sale]');
  await page.waitForSelector('#shift-banner');
  await page.close();
});

test('a cart parked on one till is resumed on another, once', async () => {
  const one = await browser.newPage();
  const two = await browser.newPage();
  await login(one, tills, 'cashier@demo.tills');
  await login(two, tills, 'manager@demo.tills');
  await scan(one, COLA);
  await scan(one, COLA_SIX);
  await scan(one, COLA);
  await one.waitForFunction(() => document.querySelector('#cart input.qty')?.value === '2');
  await one.keyboard.press('F6');
  await one.waitForSelector('#ask-input');
  await one.fill('#ask-input', 'red coat');
  await one.press('#ask-input', 'Enter');
  await one.waitForFunction(() => document.querySelectorAll('#cart tr[data-line]').length === 0);

  await two.keyboard.press('F7');
  await two.waitForSelector('#parked-list');
  assert.match(await text(two, '#parked-list'), /red coat — 2 lines/);
  await two.click('.parked-cart');
  await two.waitForFunction(() => document.querySelectorAll('#cart tr[data-line]').length === 2);
  assert.equal(await two.locator('#cart input.qty').first().inputValue(), '2');
  // 2 × 1.50 + 8.49.
  await two.waitForFunction(() => document.querySelector('#total')?.textContent.includes('11.49'));

  // Taken: the first till finds no parked cart left.
  await one.keyboard.press('F7');
  await one.waitForSelector('#parked-list');
  assert.match(await text(one, '#parked-list'), /No cart is parked/);
  await one.keyboard.press('Escape');

  // The resumed cart sells like any other.
  await two.click('button:text("Card: exact")');
  await two.click('#complete');
  await two.waitForSelector('#receipt #invoice');
  await one.close();
  await two.close();
});

test('a manager closes a cashier\'s forgotten shift from the drawer screen', async () => {
  const token = await tills.token('cashier@demo.tills');
  const current = await fetch(`${tills.url}/api/v1/shifts/current`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(current.status, 200, 'the cashier\'s shift of the parked-cart test is still open');
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await login(page, tills, 'manager@demo.tills');
  await page.click('#nav button[data-screen=drawer]');
  await page.waitForSelector('#open-shifts .close-other');
  await page.click('#open-shifts .close-other');
  await page.waitForSelector('#close-form');
  const expected = await text(page, '#close-expected');
  await page.fill('#counted-cash', expected.replace(/[^0-9.]/g, ''));
  await page.locator('#counted-cash').dispatchEvent('input');
  assert.match(await text(page, '#close-difference'), /exact/);
  await page.click('#close-submit');
  await page.waitForSelector('#z-report');
  const after = await fetch(`${tills.url}/api/v1/shifts/current`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(after.status, 404);
  await page.close();
});
