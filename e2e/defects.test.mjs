// Issue 29: the terminal's defects that lost or doubled data, each reproduced in Chromium
// against a real `tills serve --demo`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Tills, launch, login as signIn, scan, waitingRefs, COLA, COLA_SIX } from './lib.mjs';

const tills = new Tills();
let browser;
const login = (page, email) => signIn(page, tills, email);
const BANANAS = '4006000028002';

before(async () => {
  await tills.start();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await tills.cleanup();
});

async function salesWith(ref) {
  const r = await tills.call('manager@demo.tills', 'GET', '/sales?limit=200');
  return r.data.items.filter((s) => s.clientRef === ref);
}

async function allSales() {
  return (await tills.call('manager@demo.tills', 'GET', '/sales?limit=200')).data.items;
}

// Fails the test on any uncaught error in the page.
function watchErrors(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return errors;
}

// Answers the terminal's own confirmation dialog.
async function answer(page, ok) {
  await page.waitForSelector('#ask[open]');
  const message = await page.textContent('#ask-message');
  await page.click(ok ? '#ask-ok' : '#ask-cancel');
  await page.waitForSelector('#ask:not([open])', { state: 'attached' });
  return message;
}

test('double-clicking "Complete sale" records one sale', async () => {
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await login(page, 'cashier@demo.tills');
  const before = (await allSales()).length;
  await scan(page, BANANAS);
  await page.waitForFunction(() => document.querySelector('#total')?.textContent.includes('0.39'));
  await page.click('text=Cash: exact');
  await page.dblclick('#complete');
  await page.waitForSelector('#receipt #invoice');
  // A third click on a stale button, had it stayed: nothing more either.
  await new Promise((r) => setTimeout(r, 500));
  const after = await allSales();
  assert.equal(after.length, before + 1, 'one sale for one cart');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a category, brand or unit is added to a non-empty list; deleting one asks and names it', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = watchErrors(page);
  await login(page, 'manager@demo.tills');
  await page.click('#nav button[data-screen=products]');
  for (const kind of ['categories', 'brands', 'units']) {
    const box = page.locator(`form[data-kind=${kind}]`);
    await box.locator('li').first().waitFor();
    const before = await box.locator('li .name').allTextContents();
    assert.ok(before.length > 0, `the demo has ${kind}`);
    await box.locator('input[name=name]').fill('Zz Browser ' + kind);
    await box.locator('input[name=name]').press('Enter');
    await page.waitForFunction((k) => [...document.querySelectorAll(`form[data-kind=${k}] li .name`)].some((e) => e.textContent === 'Zz Browser ' + k), kind);
    const after = await box.locator('li .name').allTextContents();
    for (const name of before) assert.ok(after.includes(name), `${name} is still there`);
    assert.equal(after.length, before.length + 1);
    // Delete asks first, naming what goes; "Cancel" keeps it.
    const item = box.locator('li', { hasText: 'Zz Browser ' + kind });
    await item.locator('button.delete').click();
    assert.match(await answer(page, false), new RegExp(`Zz Browser ${kind}`));
    assert.equal(await box.locator('li .name').count(), before.length + 1);
    await item.locator('button.delete').click();
    await answer(page, true);
    await page.waitForFunction(([k, n]) => document.querySelectorAll(`form[data-kind=${k}] li .name`).length === n, [kind, before.length]);
    assert.deepEqual(await box.locator('li .name').allTextContents(), before);
  }
  // A product's delete asks too, with its name.
  await page.click('#new-product');
  await page.fill('#product-form input[name=name]', 'Zz Doomed Product');
  await page.fill('#product-form input[name=price]', '1.00');
  await page.click('#product-form button[type=submit]');
  await page.click('tr:has-text("Zz Doomed Product") >> text=Edit');
  await page.click('#product-form button.danger');
  assert.match(await answer(page, true), /Zz Doomed Product/);
  await page.waitForSelector('#new-product');
  assert.equal(await page.locator('tr:has-text("Zz Doomed Product")').count(), 0);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a hung server (SIGSTOP): the till says it is offline and keeps selling', async () => {
  const page = await browser.newPage();
  await login(page, 'cashier@demo.tills');
  await scan(page, COLA);
  await page.waitForFunction(() => document.querySelector('#total')?.textContent.includes('1.50'));
  await page.click('#cart button[aria-label^=Remove]');
  tills.freeze();
  try {
    const started = Date.now();
    await scan(page, COLA);
    await page.waitForSelector('#cart tr[data-line]', { timeout: 15_000 });
    await page.waitForSelector('#net-state:not([hidden])', { timeout: 15_000 });
    assert.match(await page.textContent('#net-state'), /offline/i);
    assert.ok(Date.now() - started < 15_000);
    // A second scan answers at once from what the till knows: no wait for another timeout.
    const second = Date.now();
    await scan(page, COLA);
    await page.waitForFunction(() => document.querySelector('#cart input.qty')?.value === '2');
    assert.ok(Date.now() - second < 2_000, `the second scan took ${Date.now() - second} ms`);
    await page.fill('#cash', '5');
    await page.click('#complete');
    await page.waitForSelector('#provisional-ref', { timeout: 15_000 });
  } finally {
    tills.thaw();
  }
  // Back online: the waiting sale goes, and the till says so.
  await page.waitForSelector('#net-state[hidden]', { state: 'attached', timeout: 20_000 });
  await page.waitForFunction(() => document.querySelector('#outbox-badge')?.hidden === true, null, { timeout: 20_000 });
  await page.close();
});

test('logout clears the screen, the cart and the user; the next user starts clean', async () => {
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await login(page, 'cashier@demo.tills');
  await scan(page, COLA);
  await page.waitForSelector('#cart tr[data-line]');
  await page.fill('#cash', '3');
  await page.click('#logout');
  await page.waitForSelector('input[name=email]');
  assert.equal(await page.isVisible('#top'), false, 'no header on the login page');
  assert.equal(await page.isVisible('#logout'), false);
  await page.fill('input[name=store]', 'demo');
  await page.fill('input[name=email]', 'manager@demo.tills');
  await page.fill('input[name=password]', 'tills-demo-1');
  await page.click('button[type=submit]');
  await page.waitForSelector('#scan');
  assert.equal(await page.locator('#cart tr[data-line]').count(), 0, 'the cashier\'s cart is gone');
  assert.equal(await page.inputValue('#cash'), '');
  assert.match(await page.textContent('#who'), /manager/i);
  // A platform admin signs in and out without the store's screens.
  await page.click('#logout');
  await page.waitForSelector('input[name=email]');
  await page.fill('input[name=store]', '');
  await page.fill('input[name=email]', 'platform@tills.local');
  await page.fill('input[name=password]', 'tills-demo-1');
  await page.click('button[type=submit]');
  await page.waitForSelector('text=Platform admins');
  assert.equal(await page.locator('#nav button').count(), 0);
  await page.click('text=Log out >> visible=true');
  await page.waitForSelector('input[name=email]');
  assert.equal(await page.isVisible('#top'), false);
  assert.deepEqual(errors, []);
  await page.close();
});

// Sells the cart offline with `cash` tendered and answers the provisional receipt's reference.
async function sellOffline(page, codes, cash) {
  for (const code of codes) await scan(page, code);
  await page.waitForFunction((n) => document.querySelectorAll('#cart tr[data-line]').length === n, new Set(codes).size);
  await page.waitForSelector('text=Offline: the sale will be sent');
  await page.fill('#cash', cash);
  await page.click('#complete');
  await page.waitForSelector('#provisional-ref');
  const receipt = {
    total: await page.textContent('#provisional-total'),
    change: await page.textContent('#provisional-change'),
    text: await page.textContent('#receipt'),
  };
  await page.click('#next-sale');
  await page.waitForSelector('#scan');
  return receipt;
}

test('offline sales are sent in the order they were made; the provisional receipt shows total, tenders and change; quick buttons stay', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await login(page, 'cashier@demo.tills');
  await page.waitForSelector('#quick button');
  await scan(page, COLA);
  await page.waitForSelector('#cart tr[data-line]');
  await page.click('#cart button[aria-label^=Remove]');
  await context.setOffline(true);
  // The sale screen drawn again while offline still has its quick buttons.
  await page.click('#nav button[data-screen=sales]');
  await page.click('#nav button[data-screen=sale]');
  await page.waitForSelector('#quick button');
  const receipts = [];
  receipts.push(await sellOffline(page, [COLA], '5'));
  assert.match(receipts[0].total, /1\.50/);
  assert.match(receipts[0].change, /3\.50/);
  assert.match(receipts[0].text, /cash/i);
  assert.match(receipts[0].text, /5\.00/);
  for (let n = 2; n <= 4; n++) {
    for (let i = 0; i < n; i++) await scan(page, COLA);
    await page.waitForFunction((q) => document.querySelector('#cart input.qty')?.value === String(q), n);
    await page.fill('#cash', '10');
    await page.click('#complete');
    await page.waitForSelector('#provisional-ref');
    await page.click('#next-sale');
    await page.waitForSelector('#scan');
  }
  // A quick button sells offline too.
  await page.click('#quick button:has-text("Cola 330ml")');
  await page.waitForSelector('#cart tr[data-line]');
  await page.click('#cart button[aria-label^=Remove]');
  assert.equal(await page.textContent('#outbox-badge'), '4 waiting');
  const waiting = await page.evaluate(() => new Promise((resolve) => {
    const req = indexedDB.open('tills');
    req.onsuccess = () => {
      const all = req.result.transaction('outbox').objectStore('outbox').getAll();
      all.onsuccess = () => resolve(all.result.map((i) => ({ ref: i.clientRef, at: i.createdAt, seq: i.seq })));
    };
  }));
  await context.setOffline(false);
  await page.waitForFunction(() => document.querySelector('#outbox-badge')?.hidden === true, null, { timeout: 30_000 });
  const sales = await allSales();
  const made = [...waiting].sort((a, b) => a.seq - b.seq);
  const numbers = made.map((w) => sales.find((s) => s.clientRef === w.ref).invoiceNumber);
  assert.deepEqual(numbers, [...numbers].sort(), `invoice numbers follow the order of the sales: ${numbers}`);
  const totals = made.map((w) => sales.find((s) => s.clientRef === w.ref).total);
  assert.deepEqual(totals, [150, 300, 450, 600]);
  await context.close();
});

test('a waiting sale the server refuses shows its reason to a manager, who sells what is left', async () => {
  const created = await tills.call('manager@demo.tills', 'POST', '/products', { name: 'Zz Vanishing Soap', barcode: '7770009990001', price: 250, taxRate: 1900 });
  assert.equal(created.status, 201);
  const context = await browser.newContext();
  const page = await context.newPage();
  await login(page, 'cashier@demo.tills');
  for (const code of [COLA, '7770009990001']) await scan(page, code);
  await page.waitForFunction(() => document.querySelectorAll('#cart tr[data-line]').length === 2);
  await page.waitForFunction(() => document.querySelector('#total')?.textContent.includes('4.00'));
  for (let i = 0; i < 2; i++) await page.click('#cart button[aria-label^=Remove]');
  await context.setOffline(true);
  const receipt = await sellOffline(page, [COLA, '7770009990001'], '10');
  assert.match(receipt.total, /4\.00/);
  const [ref] = await waitingRefs(page);
  // Deleted on the server while the till was offline: the sale is refused when it arrives.
  assert.equal((await tills.call('manager@demo.tills', 'DELETE', `/products/${created.data.id}`)).status, 204);
  await context.setOffline(false);
  await page.waitForSelector('#outbox-badge.bad', { timeout: 20_000 });
  assert.match(await page.textContent('#outbox-badge'), /1 needs a manager/);
  // The cashier sees why, but cannot resolve it.
  await page.click('#nav button[data-screen=sales]');
  await page.waitForSelector('#refused tr.refused');
  assert.match(await page.textContent('#refused'), /Zz Vanishing Soap/);
  assert.match(await page.textContent('#refused .reason'), /\S/);
  assert.equal(await page.locator('#refused button.sell-rest').count(), 0);
  await page.click('#logout');
  await login(page, 'manager@demo.tills');
  await page.click('#nav button[data-screen=sales]');
  await page.waitForSelector('#refused button.sell-rest');
  await page.click('#refused button.sell-rest');
  const message = await answer(page, true);
  assert.match(message, /Zz Vanishing Soap/);
  await page.waitForSelector('#resolution');
  assert.match(await page.textContent('#give-back'), /2\.50/);
  const sold = await salesWith(ref);
  assert.equal(sold.length, 1);
  assert.equal(sold[0].total, 150);
  const full = (await tills.call('manager@demo.tills', 'GET', `/sales/${sold[0].id}`)).data;
  assert.deepEqual(full.lines.map((l) => l.name), ['Cola 330ml']);
  assert.deepEqual(await waitingRefs(page), [], 'nothing waits any more');
  await page.click('#nav button[data-screen=sale]');
  await page.waitForFunction(() => document.querySelector('#outbox-badge')?.hidden === true);
  await context.close();
});

test('a split-tender sale is refunded per line and quantity to its payment methods, with a slip; the report\'s tax follows', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await login(page, 'cashier@demo.tills');
  await scan(page, COLA_SIX);
  await scan(page, COLA_SIX);
  await scan(page, COLA);
  await page.waitForFunction(() => document.querySelector('#total')?.textContent.includes('18.48'));
  await page.fill('#cash', '15');
  await page.fill('#card', '5');
  await page.click('#complete');
  await page.waitForSelector('#receipt #invoice');
  const invoice = await page.textContent('#invoice');
  const sale = (await tills.call('manager@demo.tills', 'GET', `/sales/invoice/${invoice}`)).data;
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Berlin' }).format(new Date());
  const reportBefore = (await tills.call('manager@demo.tills', 'GET', `/reports/daily?date=${today}`)).data;
  await page.click('#logout');
  await login(page, 'manager@demo.tills');
  await page.click('#nav button[data-screen=sales]');
  await page.click(`tr:has-text("${invoice}") >> text=Open`);
  await page.click('#refund');
  // One of the two six-packs: 8.49 back, to the card first (5.00), the rest in cash.
  await page.fill('#refund-form input.refund-qty[data-line="0"]', '1');
  await page.waitForFunction(() => document.querySelector('#refund-total')?.textContent.includes('8.49'));
  assert.equal(await page.inputValue('#refund-form input[data-method=card]'), '5.00');
  assert.equal(await page.inputValue('#refund-form input[data-method=cash]'), '3.49');
  await page.click('#refund-submit');
  await page.waitForSelector('#refund-slip');
  assert.match(await page.textContent('#refund-amount'), /8\.49/);
  assert.match(await page.textContent('#refund-slip'), new RegExp(invoice));
  assert.match(await page.textContent('#refund-slip'), /to card/i);
  // The rest: the other six-pack and the cola, all in cash now (the card got its 5.00 back).
  await page.click('#back-to-sale');
  await page.click('#refund');
  await page.fill('#refund-form input.refund-qty[data-line="0"]', '1');
  await page.fill('#refund-form input.refund-qty[data-line="1"]', '1');
  await page.waitForFunction(() => document.querySelector('#refund-total')?.textContent.includes('9.99'));
  assert.equal(await page.inputValue('#refund-form input[data-method=card]'), '0.00');
  assert.equal(await page.inputValue('#refund-form input[data-method=cash]'), '9.99');
  await page.click('#refund-submit');
  await page.waitForSelector('#refund-slip');
  const after = (await tills.call('manager@demo.tills', 'GET', `/sales/${sale.id}`)).data;
  assert.equal(after.status, 'refunded');
  const back = {};
  for (const rf of after.refunds) for (const p of rf.payments) back[p.method] = (back[p.method] || 0) + p.amount;
  assert.deepEqual(back, { card: 500, cash: 1348 }, 'each method got back what it paid');
  const reportAfter = (await tills.call('manager@demo.tills', 'GET', `/reports/daily?date=${today}`)).data;
  assert.equal(reportAfter.refunds - reportBefore.refunds, 1848);
  assert.equal(reportBefore.tax - reportAfter.tax, sale.taxTotal, 'the refunded sale\'s tax leaves the report');
  await page.close();
});

test('smaller things: money in payment errors, packs and customers on receipts, cleared errors, a disabled look, paging, login labels, favicon, 768×1024', async () => {
  const context = await browser.newContext({ viewport: { width: 768, height: 1024 } });
  const page = await context.newPage();
  await page.goto(`${tills.url}/`);
  // The login form: labels tied to their fields, the first field focused, a favicon.
  await page.waitForSelector('input[name=store]');
  assert.equal(await page.evaluate(() => document.activeElement.name), 'store');
  for (const name of ['store', 'email', 'password']) {
    assert.equal(await page.evaluate((n) => document.querySelector(`input[name=${n}]`).labels.length, name), 1, `${name} has its label`);
  }
  const icon = await page.getAttribute('link[rel=icon]', 'href');
  assert.equal((await fetch(`${tills.url}${icon}`)).status, 200);
  await login(page, 'cashier@demo.tills');
  // An empty cart's "Complete sale" looks disabled.
  const look = () => page.evaluate(() => getComputedStyle(document.querySelector('#complete')).backgroundColor);
  const disabledLook = await look();
  // Five lines at 768×1024: "Complete sale" is on screen without scrolling.
  for (const code of [COLA, COLA_SIX, '4006000028002', '4006000011004', '4006000017006']) await scan(page, code);
  await page.waitForFunction(() => document.querySelectorAll('#cart tr[data-line]').length === 5);
  await page.waitForFunction(() => !document.querySelector('#complete').disabled && document.querySelector('#total').textContent !== '—');
  assert.notEqual(await look(), disabledLook, 'enabled and disabled look different');
  const box = await page.evaluate(() => { const r = document.querySelector('#complete').getBoundingClientRect(); return { top: r.top, bottom: r.bottom, scroll: window.scrollY }; });
  assert.ok(box.bottom <= 1024 && box.top >= 0 && box.scroll === 0, `Complete sale at ${JSON.stringify(box)}`);
  // Too little paid: said in money.
  await page.fill('#cash', '1');
  await page.click('#complete');
  await page.waitForSelector('#pay-form .field-error');
  assert.match(await page.textContent('#pay-form .field-error'), /payments come to €1\.00, the sale to €\d+\.\d\d/);
  // A customer attached by phone, new: named in the dialog; on the receipt with the pack's name.
  await page.fill('#customer-phone', '+49 30 5550101');
  await page.press('#customer-phone', 'Enter');
  await page.waitForSelector('#ask[open] #ask-input');
  await page.fill('#ask-input', 'Rita Receipt');
  await page.press('#ask-input', 'Enter');
  await page.waitForFunction(() => document.querySelector('#customer')?.textContent.includes('Rita Receipt'));
  await page.click('text=Cash: exact');
  await page.click('#complete');
  await page.waitForSelector('#receipt #invoice');
  const receipt = await page.textContent('#receipt');
  assert.match(receipt, /Cola 330ml — 6-pack ×6/);
  assert.match(receipt, /Customer: Rita Receipt/);
  await page.click('#logout');
  await context.close();

  // The product list pages beyond 100; a field error goes once the save succeeds.
  for (let i = 0; i < 60; i++) {
    const r = await tills.call('manager@demo.tills', 'POST', '/products', { name: `Zz Paging ${String(i).padStart(2, '0')}`, price: 100 });
    assert.equal(r.status, 201);
  }
  const wide = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await login(wide, 'manager@demo.tills');
  await wide.click('#nav button[data-screen=products]');
  await wide.waitForSelector('#more-products:not([hidden])');
  assert.equal(await wide.locator('#products tr[data-product]').count(), 100);
  await wide.click('#more-products');
  await wide.waitForFunction(() => document.querySelectorAll('#products tr[data-product]').length > 100);
  await wide.waitForSelector('#more-products[hidden]', { state: 'attached' });
  await wide.click('#nav button[data-screen=customers]');
  await wide.fill('input[name=name]', 'No Phone');
  await wide.click('form.row button.primary');
  await wide.waitForSelector('form.row .field-error');
  await wide.fill('input[name=phone]', '+49 30 5550199');
  await wide.click('form.row button.primary');
  await wide.waitForFunction(() => document.querySelector('input[name=name]').value === '');
  assert.equal(await wide.locator('form.row .field-error').count(), 0, 'the old error is gone');
  await wide.close();
});
