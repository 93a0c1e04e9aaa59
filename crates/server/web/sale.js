// The sale screen: scan, cart, quote, payment, and completing the sale.
//
// One cart is one sale: it gets its clientRef at its first attempt and keeps it until the
// server has the sale or the cart is abandoned, and "Complete sale" is disabled while the sale
// is on its way, so no click, double click or retry can make a second sale of one cart.

import { $, h, toast, showFieldError, ask, nav } from './dom.js';
import { api, errorOf, net, Offline, session, TIMEOUT_MS } from './api.js';
import { money, parseMoney, moneyInput, validQty } from './format.js';
import { outbox, sendSale, uuid, nextSeq } from './outbox.js';
import { catalog, openCatalog } from './catalog.js';
import { price as priceCart, quantityForPriceLabel, toMilli } from './pricing.js';
import { showReceipt, showProvisional } from './receipt.js';
import { shift, needsShift, openShiftForm } from './shift.js';
import { openSaleForRefund } from './sales.js';

export const saleState = { currentReceiptRef: null, refreshBadge: () => {} };

// `tendered`: what the cashier typed in the payment fields, kept when a quote redraws them.
const emptyCart = () => ({ lines: [], quote: null, error: null, customer: null, offline: false, tendered: {}, clientRef: null, sending: false });
export const cart = emptyCart();

let quoteTimer = null;
let quoteSeq = 0;
// Bumped when a cart ends: a scan answered after that belongs to no cart.
let cartGeneration = 0;

export function resetCart() {
  clearTimeout(quoteTimer);
  settleQuote();
  quotePending = false;
  quoteSeq++;
  cartGeneration++;
  Object.assign(cart, emptyCart());
}

function lineKey(l) { return l.embedded ? l.barcode + ':' + Math.random() : l.productId + ':' + (l.unitId || ''); }

// `qty`: how many (a parked cart's line comes back with its quantity; a scan adds one).
function addScanned(code, found, qty = '1') {
  const p = found.product;
  if (p.status !== 'active') toast(`${p.name} is inactive and cannot be sold`, true);
  const unit = found.unit;
  const packName = unit ? catalog.unitNames().get(unit.unitId) : null;
  const line = {
    productId: p.id,
    unitId: unit?.unitId || null,
    barcode: code,
    name: p.name + (unit ? ` — ${packName || 'pack'} ×${unit.factor}` : ''),
    price: unit ? unit.price : p.price,
    taxRate: p.taxRate,
    qty: String(qty),
    embedded: found.embedded || null,
  };
  if (line.embedded) {
    line.qty = line.embedded.kind === 'weight' ? String(line.embedded.quantity) : '';
    line.key = lineKey(line);
    cart.lines.push(line);
  } else {
    line.key = lineKey(line);
    const existing = cart.lines.find((l) => l.key === line.key);
    if (existing) existing.qty = String(((toMilli(existing.qty) ?? 0) + (toMilli(line.qty) ?? 1000)) / 1000);
    else cart.lines.push(line);
  }
  requote();
}

// Scans are looked up at once but added to the cart in the order they were scanned. While the
// till is offline they answer from what it knows, without waiting for a server that is away.
let scanChain = Promise.resolve();
function scan(code) {
  code = code.trim();
  if (!code) return;
  // A receipt's barcode (its invoice number): that sale opens for a refund.
  const prefix = session.store?.invoicePrefix;
  if (prefix && code.toUpperCase().startsWith(prefix.toUpperCase()) && !/^\d+$/.test(code)) {
    if (!net.online) return toast('Offline: a receipt can be refunded when the server is back', true);
    return openSaleForRefund(code.toUpperCase());
  }
  const answer = net.online
    ? api('GET', '/products/barcode/' + encodeURIComponent(code)).then((r) => ({ r }), (e) => ({ e }))
    : openCatalog().then(() => ({ e: new Offline(net.reason) }));
  const generation = cartGeneration;
  scanChain = scanChain.then(async () => {
    const a = await answer;
    if (generation === cartGeneration) addAnswer(code, a);
  }).catch((e) => toast(String(e.message || e), true));
}

function addAnswer(code, { r, e }) {
  if (!$('#scan')) return; // the cashier left the sale screen (or logged out) meanwhile
  if (r) {
    if (r.status === 404) return toast(`Unknown barcode ${code}`, true);
    if (!r.ok) return toast(errorOf(r).message, true);
    catalog.remember(code, r.data);
    cart.offline = false;
    return addScanned(code, r.data);
  }
  if (!(e instanceof Offline)) throw e;
  const known = catalog.lookup(code);
  cart.offline = true;
  if (!known) { renderPay(); return toast(`Offline: ${code} is not in this till's copy of the catalog`, true); }
  addScanned(code, known);
}

function saleLines(withPrices) {
  return cart.lines.map((l) => {
    if (l.embedded) return { barcode: l.barcode };
    const line = { productId: l.productId, quantity: Number(l.qty) };
    if (l.unitId) line.unitId = l.unitId;
    if (withPrices) line.price = l.price;
    return line;
  });
}

// Resolves when the newest quote asked for has answered (or was dropped).
let quoteSettled = Promise.resolve();
let settleQuote = () => {};
let quotePending = false;

function requote() {
  renderCart();
  clearTimeout(quoteTimer);
  settleQuote(); // a quote superseded is settled too: nobody waits for it for ever
  let settle;
  quoteSettled = new Promise((resolve) => { settle = resolve; });
  settleQuote = settle;
  quotePending = true;
  const mine = quoteSettled;
  quoteTimer = setTimeout(() => runQuote().finally(() => { if (quoteSettled === mine) quotePending = false; settle(); }), 120);
}

async function runQuote() {
  // Only the newest quote is shown: an older one that answers late is dropped.
  const seq = ++quoteSeq;
  if (!cart.lines.length) { cart.quote = null; cart.error = null; return renderCart(); }
  if (cart.lines.some((l) => !l.embedded && !validQty(l.qty))) { cart.error = 'a quantity is a number above 0 with at most 3 decimals'; return renderCart(); }
  cart.error = null;
  if (!net.online) { cart.offline = true; cart.quote = null; return renderCart(); }
  try {
    const body = { lines: saleLines(false) };
    if (cart.customer) body.customerId = cart.customer.id;
    const r = await api('POST', '/sales/quote', body);
    if (seq !== quoteSeq) return;
    if (r.ok) { cart.quote = r.data; cart.error = null; cart.offline = false; }
    else { cart.quote = null; cart.error = errorOf(r).message; }
  } catch (e) {
    if (!(e instanceof Offline)) throw e;
    if (seq !== quoteSeq) return;
    cart.offline = true;
    cart.quote = null;
  }
  renderCart();
}

// The cart priced on the till by the server's money rules: shown only while the server is away.
function offlineTotals() {
  const lines = cart.lines.map((l) => {
    if (l.embedded?.kind === 'price') return { price: l.price, quantityMilli: quantityForPriceLabel(l.embedded.price, l.price), taxRate: l.taxRate ?? 0, grossOverride: l.embedded.price };
    return { price: l.price, quantityMilli: toMilli(l.qty) ?? 0, taxRate: l.taxRate ?? 0 };
  });
  try { return priceCart(lines, 0, !!session.store?.pricesIncludeTax); } catch { return null; }
}

function currentTotals() {
  if (cart.quote) return cart.quote;
  if (cart.offline && cart.lines.length) return offlineTotals();
  return null;
}

export function saleView() {
  const scanInput = h('input', { id: 'scan', placeholder: 'Scan or type a barcode, Enter', autocomplete: 'off', inputmode: 'numeric', 'aria-label': 'Barcode' });
  scanInput.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') { ev.preventDefault(); const v = scanInput.value; scanInput.value = ''; scan(v); }
  });
  const search = h('input', { id: 'search', placeholder: 'Search products by name', autocomplete: 'off', 'aria-label': 'Search products' });
  const results = h('div', { class: 'results' });
  let searchTimer;
  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(async () => {
      const q = search.value.trim();
      const draw = (items) => results.replaceChildren(...items.map((p) => h('button', { type: 'button', onclick: () => { addScanned(p.barcode || '', { product: p, unit: null }); search.value = ''; results.replaceChildren(); focusScan(); } }, `${p.name} — ${money(p.price)}`)));
      if (!q) return results.replaceChildren();
      if (!net.online) return draw(catalog.search(q));
      try {
        const r = await api('GET', '/products?limit=8&status=active&q=' + encodeURIComponent(q));
        if (search.value.trim() === q) draw(r.data?.items || []);
      } catch {
        if (search.value.trim() === q) draw(catalog.search(q)); // offline: the till's copy
      }
    }, 200);
  });
  const quick = h('div', { class: 'quick', id: 'quick' });
  const drawQuick = (products) => quick.replaceChildren(...products.map((p) => h('button', { type: 'button', onclick: () => { addScanned(p.barcode || '', { product: p, unit: null }); focusScan(); } }, p.name)));
  // What the till kept from the last time, at once; the server's list when it answers.
  drawQuick(catalog.quick());
  openCatalog().then(() => { if (quick.isConnected || !quick.parentNode) drawQuick(catalog.quick()); });
  if (net.online) {
    api('GET', '/products?quick=true&status=active&limit=50').then((r) => {
      if (!r.ok) return;
      catalog.setQuick(r.data.items);
      drawQuick(r.data.items);
    }).catch(() => {});
  }

  // From the search field, ↓ moves into the results; ↑/↓ between them, Enter takes one.
  search.addEventListener('keydown', (ev) => {
    if (ev.key === 'ArrowDown') { ev.preventDefault(); results.querySelector('button')?.focus(); }
    if (ev.key === 'Enter') { ev.preventDefault(); results.querySelector('button')?.click(); }
  });
  results.addEventListener('keydown', (ev) => {
    const b = ev.target.closest('button');
    if (!b) return;
    if (ev.key === 'ArrowDown') { ev.preventDefault(); (b.nextElementSibling || b).focus(); }
    if (ev.key === 'ArrowUp') { ev.preventDefault(); (b.previousElementSibling || search).focus(); }
  });
  const left = h('section', { class: 'card' },
    scanInput,
    h('table', { id: 'cart' }),
    h('div', { class: 'row no-print', style: 'margin-top:.75rem' }, h('div', {}, search, results)),
    quick,
    h('div', { class: 'row no-print', style: 'margin-top:.75rem' },
      h('button', { type: 'button', id: 'park', onclick: park }, h('kbd', {}, 'F6'), ' Park cart'),
      h('button', { type: 'button', id: 'parked', onclick: parkedCarts }, h('kbd', {}, 'F7'), ' Parked carts')),
    h('div', { class: 'shortcuts muted no-print', id: 'shortcuts' }, SHORTCUTS.map(([k, what]) => h('span', {}, h('kbd', {}, k), ' ', what))),
  );
  const right = h('section', { class: 'card', id: 'pay' });
  const grid = h('div', { class: 'sale' }, left, right);
  // A store that sells only in a shift: the till says so and opens one here.
  const banner = needsShift() ? h('div', { class: 'banner no-print', id: 'shift-banner' },
    h('strong', {}, 'No open shift. '), 'This store sells in a cash-drawer shift: open one to start.',
    openShiftForm(() => { $('#shift-banner')?.remove(); focusScan(); })) : null;
  const view = h('div', {}, banner, grid);
  // The scan field keeps the focus, unless the cashier is typing somewhere else.
  view.addEventListener('click', (ev) => { if (!ev.target.closest('input,select,button,textarea')) focusScan(); });
  setTimeout(() => { renderCart(); focusScan(); });
  return view;
}

function focusScan() { $('#scan')?.focus(); }

// The whole sale from the keyboard: shown on screen under the cart.
const SHORTCUTS = [['Enter', 'add barcode'], ['F2', 'search'], ['F4', 'quantity of last line'], ['F6', 'park cart'], ['F7', 'parked carts'], ['F8', 'remove last line'],
  ['F9', 'cash'], ['F10', 'card: exact'], ['F12', 'complete sale'], ['Esc', 'back to scan']];

function lastRow() { const rows = document.querySelectorAll('#cart tr[data-line]'); return rows[rows.length - 1] || null; }

document.addEventListener('keydown', (ev) => {
  if (!$('#scan') || document.querySelector('#ask[open]')) return;
  const act = {
    F2: () => $('#search').focus(),
    F4: () => { const q = lastRow()?.querySelector('input.qty:not([disabled])'); if (q) { q.focus(); q.select(); } },
    F6: () => park(),
    F7: () => parkedCarts(),
    F8: () => { if (cart.lines.length) { cart.lines.pop(); requote(); focusScan(); } },
    F9: () => { const c = $('#cash'); c.focus(); c.select(); },
    F10: () => { [...document.querySelectorAll('#pay-form button')].find((b) => b.textContent === 'Card: exact')?.click(); },
    F12: () => { const b = $('#complete'); if (b && !b.disabled) $('#pay-form').requestSubmit(); },
    Escape: () => focusScan(),
  }[ev.key];
  if (!act) return;
  ev.preventDefault();
  act();
});

function renderCart() {
  const table = $('#cart');
  if (!table) return;
  const q = currentTotals();
  const lineTotal = (i) => { const t = q?.lines?.[i]?.total; return t != null ? money(t) : '…'; };
  // Same lines as drawn: only totals and quantities change, in place, so a quote that
  // answers while the cashier types a quantity neither takes the focus nor the digits.
  const keys = cart.lines.map((l) => l.key).join('|');
  if (table.dataset.keys === keys && table.rows.length === cart.lines.length + 1) {
    cart.lines.forEach((l, i) => {
      const row = table.rows[i + 1];
      const qty = row.querySelector('input.qty');
      if (qty !== document.activeElement && qty.value !== l.qty) qty.value = l.qty;
      row.querySelector('td.line-total').textContent = lineTotal(i);
    });
    return renderPay();
  }
  table.dataset.keys = keys;
  table.replaceChildren(h('tr', {}, h('th', {}, 'Item'), h('th', { class: 'num' }, 'Qty'), h('th', { class: 'num' }, 'Price'), h('th', { class: 'num' }, 'Total'), h('th', {})));
  cart.lines.forEach((l, i) => {
    const qty = h('input', { class: 'qty', value: l.qty, inputmode: 'decimal', 'aria-label': 'Quantity of ' + l.name, disabled: !!l.embedded });
    // What is typed is kept at once; the quote is asked for when the quantity is committed.
    qty.addEventListener('input', () => { l.qty = qty.value.trim(); });
    qty.addEventListener('change', () => { l.qty = qty.value.trim(); requote(); focusScan(); });
    qty.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') { qty.blur(); } });
    table.append(h('tr', { 'data-line': i },
      h('td', {}, l.name, l.embedded ? h('div', { class: 'muted' }, l.embedded.kind === 'weight' ? `${l.embedded.quantity} kg label` : `label ${money(l.embedded.price)}`) : null),
      h('td', { class: 'num' }, qty),
      h('td', { class: 'num' }, money(l.price)),
      h('td', { class: 'num line-total' }, lineTotal(i)),
      h('td', {}, h('button', { type: 'button', class: 'link', 'aria-label': 'Remove ' + l.name, onclick: () => { cart.lines.splice(i, 1); requote(); focusScan(); } }, '✕')),
    ));
  });
  renderPay();
}

const METHODS = ['cash', 'card', 'mobile', 'voucher'];

function renderPay() {
  const pane = $('#pay');
  if (!pane) return;
  const q = cart.quote;
  const totals = currentTotals();
  const total = totals ? totals.total : null;
  const inputs = {
    cash: h('input', { id: 'cash', inputmode: 'decimal', placeholder: '0.00', 'data-field': 'payments' }),
    card: h('input', { id: 'card', inputmode: 'decimal', placeholder: '0.00' }),
    mobile: h('input', { id: 'mobile', inputmode: 'decimal', placeholder: '0.00' }),
    voucher: h('input', { id: 'voucher', inputmode: 'decimal', placeholder: '0.00' }),
  };
  const change = h('div', { id: 'change', class: 'totals' });
  const updateChange = () => {
    const amounts = METHODS.map((m) => (inputs[m].value.trim() ? parseMoney(inputs[m].value) : 0));
    if (amounts.some((a) => a == null) || total == null) return change.replaceChildren();
    const paid = amounts.reduce((a, b) => a + b, 0);
    change.replaceChildren(h('div', {}, h('span', {}, paid >= total ? 'Change' : 'Still due'), h('strong', {}, money(Math.abs(paid - total)))));
  };
  // A quote (or going offline) redraws this pane: what the cashier already typed stays.
  for (const [method, input] of Object.entries(inputs)) {
    input.value = cart.tendered[method] || '';
    input.addEventListener('input', () => { cart.tendered[method] = input.value; updateChange(); });
  }
  updateChange();
  const exact = (method) => () => {
    if (total == null) return;
    for (const m of METHODS) { inputs[m].value = m === method ? moneyInput(total) : ''; cart.tendered[m] = inputs[m].value; }
    updateChange();
  };
  const phone = h('input', { id: 'customer-phone', placeholder: 'Customer phone (optional)', inputmode: 'tel' });
  const customerLine = h('div', { class: 'muted', id: 'customer' }, cart.customer ? `Customer: ${cart.customer.name} (${cart.customer.phone})` : '');
  phone.addEventListener('keydown', async (ev) => {
    if (ev.key !== 'Enter') return;
    ev.preventDefault();
    const r = await api('GET', '/customers?phone=' + encodeURIComponent(phone.value.trim())).catch(() => null);
    if (!r) return toast('Offline: customers cannot be looked up', true);
    if (r.status === 400) return toast(errorOf(r).message, true);
    let c = r.data?.items?.[0];
    if (!c) {
      const name = await ask('New customer with this phone: their name?', { input: true, ok: 'Add customer' });
      if (!name) return;
      const created = await api('POST', '/customers', { name, phone: phone.value.trim() });
      if (!created.ok) return toast(errorOf(created).message, true);
      c = created.data;
    }
    cart.customer = c;
    requote();
  });
  const complete = h('button', { class: 'primary', type: 'submit', id: 'complete', disabled: !cart.lines.length || !!cart.error || cart.sending }, cart.sending ? 'Sending…' : 'Complete sale');
  const form = h('form', { id: 'pay-form' },
    h('div', { class: 'totals' },
      totals ? [h('div', {}, h('span', {}, 'Subtotal'), h('span', {}, money(totals.subtotal))),
        totals.discountTotal ? h('div', {}, h('span', {}, 'Discounts'), h('span', {}, '−' + money(totals.discountTotal))) : null,
        ...totals.taxBreakdown.map((b) => h('div', { class: 'muted' }, h('span', {}, `Tax ${b.rate / 100}%`), h('span', {}, money(b.tax))))] : null,
      h('div', { class: 'grand' }, h('span', {}, 'Total'), h('span', { id: 'total' }, total == null ? '—' : money(total))),
      cart.offline && !q ? h('div', { class: 'error' }, 'Offline: the sale will be sent when the server is back.') : null,
      cart.error ? h('div', { class: 'error', id: 'cart-error' }, cart.error) : null,
    ),
    h('div', { class: 'pay-row' },
      h('div', {}, h('label', { for: 'cash' }, 'Cash tendered'), inputs.cash),
      h('div', {}, h('label', { for: 'card' }, 'Card'), inputs.card),
      h('div', {}, h('label', { for: 'mobile' }, 'Mobile'), inputs.mobile),
      h('div', {}, h('label', { for: 'voucher' }, 'Voucher'), inputs.voucher),
    ),
    change,
    h('div', { class: 'row', style: 'margin-top:.5rem' },
      h('button', { type: 'button', onclick: exact('card') }, 'Card: exact'),
      h('button', { type: 'button', onclick: exact('cash') }, 'Cash: exact'),
    ),
    h('label', { for: 'customer-phone' }, 'Customer'), phone, customerLine,
    h('p', {}, complete),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submitSale();
  });
  pane.replaceChildren(form);
}

// "Complete sale": the cart is marked as sending at once (a second click finds it so). Online,
// a quote still on its way is awaited first: an online sale is never sent at the till's prices.
async function submitSale() {
  if (cart.sending) return;
  cart.sending = true;
  $('#complete').disabled = true;
  // The total the payments are checked against is the newest: a quote on its way is awaited.
  while (net.online && quotePending) await quoteSettled;
  const totals = currentTotals();
  const total = totals ? totals.total : null;
  const fail = (message) => {
    cart.sending = false;
    renderPay();
    showFieldError($('#pay-form'), { field: 'payments', message });
  };
  if (!cart.lines.length || cart.error) return fail(cart.error || 'The cart is empty.');
  const payments = [];
  for (const method of METHODS) {
    const text = (cart.tendered[method] || '').trim();
    if (!text) continue;
    const amount = parseMoney(text);
    if (amount == null) return fail(`${method}: not an amount`);
    if (amount > 0) payments.push({ method, amount });
  }
  const paid = payments.reduce((a, p) => a + p.amount, 0);
  if (total != null && paid < total) return fail(`The payments come to ${money(paid)}, the sale to ${money(total)}.`);
  return completeSale(payments, totals);
}

// Change as the server gives it: what cash was given beyond the total, never more than the cash.
function changeOf(payments, total) {
  const paid = payments.reduce((a, p) => a + p.amount, 0);
  const cash = payments.filter((p) => p.method === 'cash').reduce((a, p) => a + p.amount, 0);
  return Math.max(0, Math.min(cash, paid - total));
}

async function completeSale(payments, totals) {
  cart.clientRef ||= uuid();
  const offline = !cart.quote;
  const body = { clientRef: cart.clientRef, lines: saleLines(offline), payments };
  if (cart.customer) body.customerId = cart.customer.id;
  if (offline) {
    body.offline = true;
    body.soldAt = new Date().toISOString();
    if (shift.current) body.shiftId = shift.current.id; // the shift the sale was made in
  }
  const total = totals?.total ?? null;
  const item = {
    clientRef: body.clientRef, store: session.me.storeId, seq: nextSeq(), body, createdAt: new Date().toISOString(), offline,
    lines: cart.lines.map((l, i) => ({ name: l.name, qty: l.qty, price: l.price, total: totals?.lines?.[i]?.total ?? null })),
    total, taxBreakdown: totals?.taxBreakdown || [], payments, change: total == null ? null : changeOf(payments, total),
    customer: cart.customer ? { id: cart.customer.id, name: cart.customer.name, phone: cart.customer.phone } : null,
    cashier: session.me.name,
  };
  const customer = cart.customer;
  try {
    // Written down before the request leaves: a sale is never lost.
    await outbox.put(item);
    saleState.refreshBadge();
    saleState.currentReceiptRef = item.clientRef;
    const sale = await sendSale(item, TIMEOUT_MS.sale);
    resetCart();
    showReceipt(sale, { customer });
  } catch (e) {
    if (e instanceof Offline) {
      resetCart();
      showProvisional(item);
    } else {
      // Refused (payments, a product changed meanwhile): nothing was taken on the server, so the
      // cart stays as it is, with its clientRef, for the cashier to correct and send again.
      saleState.currentReceiptRef = null;
      await outbox.remove(item.clientRef);
      cart.sending = false;
      renderPay();
      const form = $('#pay-form');
      const err = e.apiError || { message: e.message };
      if (err.code === 'shift_required') {
        // The shift was closed meanwhile (or never opened): the banner offers to open one.
        shift.current = null;
        toast(err.message, true);
        return nav.go('sale');
      }
      // The server's figures are minor units ("the payments come to 0, the sale to 2218"): in money.
      const figures = err.code === 'insufficient_payment' ? String(err.message).match(/(-?\d+)\D+(-?\d+)/) : null;
      const message = figures ? `The payments come to ${money(Number(figures[1]))}, the sale to ${money(Number(figures[2]))}.` : err.message;
      if (form) showFieldError(form, { field: err.field?.startsWith('payments') ? 'payments' : err.field, message });
    }
  } finally {
    saleState.refreshBadge();
  }
}

// ---------- parked carts ----------

// Puts the cart aside under a name: it takes no stock and no invoice number, and any till of
// the store resumes it.
async function park() {
  if (!cart.lines.length) return toast('The cart is empty: nothing to park', true);
  if (!net.online) return toast('Offline: a cart can be parked when the server is back', true);
  const label = await ask('Park this cart. A name to find it by?', { input: true, ok: 'Park' });
  if (!label) return focusScan();
  const body = { label, lines: saleLines(false) };
  if (cart.customer) body.customerId = cart.customer.id;
  try {
    const r = await api('POST', '/carts', body);
    if (!r.ok) return toast(errorOf(r).message, true);
    resetCart();
    renderCart();
    toast(`Cart parked: ${label}`);
  } catch (e) {
    toast(e.message, true);
  }
  focusScan();
}

// The store's parked carts, in the page's dialog: Enter or a click resumes one.
async function parkedCarts() {
  let r;
  try { r = await api('GET', '/carts'); } catch (e) { return toast(e.message, true); }
  if (!r.ok) return toast(errorOf(r).message, true);
  const dialog = $('#ask');
  const items = r.data.items;
  dialog.replaceChildren(h('div', { id: 'parked-list' },
    h('h3', {}, 'Parked carts'),
    items.length ? items.map((c) => h('button', { type: 'button', class: 'parked-cart', style: 'display:block;width:100%;text-align:left;margin-top:.25rem', onclick: () => { dialog.close(); resumeCart(c.id); } },
      h('strong', {}, c.label), ` — ${c.lines.length} line${c.lines.length === 1 ? '' : 's'}, ${new Date(c.createdAt).toLocaleTimeString()}`))
      : h('p', { class: 'muted' }, 'No cart is parked.'),
    h('div', { class: 'row' }, h('button', { type: 'button', id: 'parked-close', onclick: () => dialog.close() }, 'Close'))));
  dialog.addEventListener('close', () => focusScan(), { once: true });
  dialog.showModal();
  (dialog.querySelector('.parked-cart') || $('#parked-close')).focus();
}

// Takes a parked cart: exactly one till gets it (the server says 409 to the others).
async function resumeCart(id) {
  if (cart.lines.length) return toast('Finish or park the current cart first', true);
  const r = await api('POST', `/carts/${id}/resume`).catch((e) => ({ ok: false, data: { error: { message: e.message } } }));
  if (!r.ok) return toast(errorOf(r).message, true);
  resetCart();
  const generation = cartGeneration;
  for (const l of r.data.lines) {
    const found = l.barcode
      ? await api('GET', '/products/barcode/' + encodeURIComponent(l.barcode))
      : await api('GET', '/products/' + l.productId).then((p) => (p.ok ? { ok: true, data: { product: p.data, unit: l.unitId ? p.data.units.find((u) => u.unitId === l.unitId) || null : null } } : p));
    if (generation !== cartGeneration) return;
    if (!found.ok) { toast(`A line of the parked cart is no longer sold: ${errorOf(found).message}`, true); continue; }
    const code = l.barcode || found.data.unit?.barcode || found.data.product.barcode || '';
    addScanned(code, found.data, found.data.embedded ? '1' : String(l.quantity ?? 1));
  }
  if (r.data.customerId) {
    const c = await api('GET', '/customers/' + r.data.customerId).catch(() => null);
    if (c?.ok) cart.customer = c.data;
  }
  toast(`Cart resumed: ${r.data.label}`);
  requote();
  focusScan();
}
