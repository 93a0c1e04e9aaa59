// After the sale: today's sales, the sales this till keeps for the server (waiting, refused,
// resolved), a sale's receipt, voids and refunds.

import { $, h, toast, nav, ask } from './dom.js';
import { api, errorOf, Offline, session } from './api.js';
import { money, moneyInput, parseMoney, localDate, today } from './format.js';
import { outbox, sendSale, uuid, Refused } from './outbox.js';
import { refundAmount, toMilli } from './pricing.js';
import { receiptView, refundSlip } from './receipt.js';
import { isManager, withApproval } from './approval.js';

const PAYOUT_ORDER = ['card', 'mobile', 'voucher', 'cash'];

export async function salesView() {
  const box = h('div', { class: 'card' }, h('h2', {}, 'Sales today'));
  const kept = await outbox.all();
  const waiting = kept.filter((i) => !i.error && !i.resolved);
  const refused = kept.filter((i) => i.error && !i.resolved);
  const resolved = kept.filter((i) => i.resolved);
  if (refused.length) {
    box.append(h('h3', {}, 'Refused by the server: a manager decides'),
      h('table', { id: 'refused' }, refused.map((w) => h('tr', { class: 'refused' },
        h('td', {}, w.clientRef.slice(0, 8).toUpperCase(), h('div', { class: 'muted' }, localDate(w.createdAt))),
        h('td', {}, w.lines.map((l) => h('div', {}, `${l.qty || 1} × ${l.name}`))),
        h('td', { class: 'num' }, w.total != null ? money(w.total) : ''),
        h('td', { class: 'error reason' }, w.error.message),
        h('td', {}, isManager()
          ? [h('button', { type: 'button', class: 'sell-rest', onclick: () => sellWhatIsLeft(w) }, 'Sell what is left'), ' ',
            h('button', { type: 'button', class: 'danger refund-all', onclick: () => refundWhole(w) }, 'Refund to customer')]
          : h('span', { class: 'muted' }, 'Ask a manager'))))));
  }
  if (waiting.length) {
    box.append(h('h3', {}, 'Waiting for the server'), h('table', { id: 'waiting' }, waiting.map((w) => h('tr', {},
      h('td', {}, w.clientRef.slice(0, 8).toUpperCase()), h('td', {}, localDate(w.createdAt)),
      h('td', { class: 'num' }, w.total != null ? money(w.total) : ''), h('td', { class: 'muted' }, 'waiting')))));
  }
  const d = today();
  let list = null;
  try {
    list = await api('GET', `/sales?from=${d}&to=${d}&limit=200`);
  } catch (e) {
    if (!(e instanceof Offline)) throw e;
    box.append(h('p', { class: 'error' }, 'Offline: the sales on the server show when it is back.'));
  }
  if (list) {
    const table = h('table', {}, h('tr', {}, h('th', {}, 'Invoice'), h('th', {}, 'Time'), h('th', {}, 'Status'), h('th', { class: 'num' }, 'Total'), h('th', {})));
    for (const s of list.data?.items || []) {
      table.append(h('tr', {}, h('td', {}, s.invoiceNumber), h('td', {}, localDate(s.soldAt)), h('td', {}, s.status.replace('_', ' ')), h('td', { class: 'num' }, money(s.total)),
        h('td', {}, h('button', { type: 'button', onclick: () => openSale(s.id) }, 'Open'))));
    }
    box.append(table);
  }
  if (resolved.length) {
    box.append(h('h3', {}, 'Resolved on this till'), h('table', { id: 'resolved' }, resolved.map((w) => h('tr', {},
      h('td', {}, w.clientRef.slice(0, 8).toUpperCase()), h('td', {}, localDate(w.createdAt)), h('td', { class: 'num' }, w.total != null ? money(w.total) : ''),
      h('td', {}, `${w.resolved.how} by ${w.resolved.by}, ${localDate(w.resolved.at)}`), h('td', { class: 'muted' }, w.error?.message || '')))));
  }
  return box;
}

// The line indexes a refusal names (`lines[2].productId` → 2); the customer when it names it.
function refusedParts(item) {
  const field = item.error?.field || '';
  const m = field.match(/^lines\[(\d+)\]/);
  return { lines: m ? [Number(m[1])] : [], customer: field.startsWith('customerId') };
}

// What each method took for a sale, net of change: { cash, card, ... }.
function takenBy(payments, change) {
  const taken = {};
  for (const p of payments) taken[p.method] = (taken[p.method] || 0) + p.amount;
  if (change) taken.cash = (taken.cash || 0) - change;
  return taken;
}

// A refused sale sold again without the lines the server refused: the payments cover the new
// total (non-cash first, as paid), and the rest goes back to the customer.
async function sellWhatIsLeft(item) {
  const parts = refusedParts(item);
  const body = structuredClone(item.body);
  const dropped = parts.lines.map((i) => item.lines[i]?.name).filter(Boolean);
  body.lines = body.lines.filter((_, i) => !parts.lines.includes(i));
  if (parts.customer) delete body.customerId;
  if (!body.lines.length) return toast('Nothing is left to sell: refund the customer instead', true);
  if (!parts.lines.length && !parts.customer) return toast(`The server refuses this sale as it is (${item.error.message}): refund the customer instead`, true);
  body.offline = true;
  body.soldAt ||= item.createdAt;
  let quote;
  try {
    quote = await api('POST', '/sales/quote', body);
  } catch (e) {
    return toast('Offline: try again when the server is back', true);
  }
  if (!quote.ok) return toast(`Still refused: ${errorOf(quote).message}`, true);
  const total = quote.data.total;
  const taken = takenBy(item.payments, item.change);
  let left = total;
  const payments = [];
  for (const method of PAYOUT_ORDER) {
    const amount = Math.min(left, Math.max(0, taken[method] || 0));
    if (amount > 0) { payments.push({ method, amount }); left -= amount; }
  }
  if (left > 0) return toast('The payments do not cover what is left: refund the customer instead', true);
  body.payments = payments;
  const giveBack = {};
  for (const [method, amount] of Object.entries(taken)) {
    const back = amount - (payments.find((p) => p.method === method)?.amount || 0);
    if (back > 0) giveBack[method] = back;
  }
  const backTotal = Object.values(giveBack).reduce((a, b) => a + b, 0);
  const what = dropped.length ? `without ${dropped.join(', ')}` : 'without the customer';
  if (!await ask(`Sell this sale ${what} for ${money(total)}, and give the customer back ${money(backTotal)}?`, { ok: 'Sell what is left' })) return;
  const retry = { ...item, body, error: null };
  delete retry.refusedAt;
  await outbox.put(retry);
  try {
    const sale = await sendSale(retry);
    showResolution(item, { sale, giveBack, backTotal, how: `sold ${what}` });
  } catch (e) {
    if (e instanceof Refused) toast(`Still refused: ${e.message}`, true);
    else toast('Offline: it waits and is sent when the server is back', true);
    nav.go('sales');
  } finally {
    nav.refreshBadge?.();
  }
}

// A refused sale given back whole: nothing reaches the server; the till keeps the record.
async function refundWhole(item) {
  const giveBack = {};
  for (const [m, a] of Object.entries(takenBy(item.payments, item.change))) if (a > 0) giveBack[m] = a;
  const backTotal = Object.values(giveBack).reduce((a, b) => a + b, 0);
  if (!await ask(`Give the customer back ${money(backTotal)} for this refused sale? It will not be sent to the server.`, { ok: 'Refund to customer', danger: true })) return;
  item.resolved = { how: 'refunded to the customer', by: session.me.name, at: new Date().toISOString() };
  await outbox.put(item);
  showResolution(item, { sale: null, giveBack, backTotal, how: 'refunded to the customer' });
  nav.refreshBadge?.();
}

function showResolution(item, { sale, giveBack, backTotal, how }) {
  $('#view').replaceChildren(h('div', { class: 'receipt', id: 'resolution' },
    h('h2', {}, session.store.name),
    h('div', { class: 'center' }, h('strong', {}, 'REFUSED SALE RESOLVED')),
    h('div', {}, 'Reference ', item.clientRef.slice(0, 8).toUpperCase(), ' of ', localDate(item.createdAt)),
    h('div', {}, `The server said: ${item.error?.message || ''}`),
    h('div', {}, `Resolved: ${how}, by ${session.me.name}, ${localDate(new Date().toISOString())}`),
    sale ? h('div', {}, 'Invoice ', h('strong', { id: 'invoice' }, sale.invoiceNumber), ' for ', money(sale.total)) : null,
    h('hr'),
    h('table', {},
      h('tr', {}, h('td', {}, h('strong', {}, 'GIVE BACK')), h('td', { class: 'num', id: 'give-back' }, h('strong', {}, money(backTotal)))),
      Object.entries(giveBack).map(([m, a]) => h('tr', {}, h('td', {}, `in ${m}`), h('td', { class: 'num' }, money(a))))),
  ), h('p', { class: 'no-print' }, h('button', { type: 'button', onclick: () => window.print() }, 'Print'), ' ', h('button', { type: 'button', onclick: () => nav.go('sales') }, 'Back')));
}

// A receipt scanned on the sale screen: its sale, with every line left to refund preselected.
export async function openSaleForRefund(invoice) {
  const r = await api('GET', '/sales/invoice/' + encodeURIComponent(invoice)).catch((e) => ({ ok: false, data: { error: { message: e.message } } }));
  if (!r.ok) return toast(r.status === 404 ? `No sale ${invoice} in this store` : errorOf(r).message, true);
  if (r.data.status === 'voided' || r.data.status === 'refunded') return openSale(r.data.id);
  refundForm(r.data, { preselect: true });
}

// A sale's receipt, with what can be done with it. A cashier voids or refunds with a manager's
// approval given on this till.
async function openSale(id) {
  const r = await api('GET', '/sales/' + id);
  if (!r.ok) return toast(errorOf(r).message, true);
  const sale = r.data;
  let customer = null;
  if (sale.customerId) customer = (await api('GET', '/customers/' + sale.customerId).catch(() => null))?.data || null;
  $('#view').replaceChildren(receiptView(sale, { customer }), h('p', { class: 'no-print' },
    h('button', { type: 'button', onclick: () => window.print() }, 'Reprint'), ' ',
    sale.status === 'completed' ? h('button', { type: 'button', class: 'danger', id: 'void', onclick: async () => {
      if (!await ask(`Void sale ${sale.invoiceNumber} of ${money(sale.total)}? Its stock comes back.`, { ok: 'Void', danger: true })) return;
      const v = await withApproval('void', `Voiding ${sale.invoiceNumber} needs a manager.`, (headers) => api('POST', `/sales/${id}/void`, {}, { headers }));
      v.ok ? openSale(id) : toast(errorOf(v).message, true);
    } }, 'Void') : null, ' ',
    sale.status !== 'voided' && sale.status !== 'refunded' ? h('button', { type: 'button', id: 'refund', onclick: () => refundForm(sale) }, 'Refund…') : null, ' ',
    h('button', { type: 'button', onclick: () => nav.go('sales') }, 'Back')));
}

// A refund of some lines and quantities, paid back to the methods the sale was paid with.
// `preselect`: every line's quantity left to refund is filled in (a receipt scanned at the till).
function refundForm(sale, { preselect = false } = {}) {
  const done = new Map(); // line id → { milli, amount } refunded before
  for (const rf of sale.refunds) for (const l of rf.lines) {
    const d = done.get(l.lineId) || { milli: 0, amount: 0 };
    d.milli += toMilli(l.quantity); d.amount += l.amount;
    done.set(l.lineId, d);
  }
  const back = {};
  for (const rf of sale.refunds) for (const p of rf.payments) back[p.method] = (back[p.method] || 0) + p.amount;
  const taken = takenBy(sale.payments, sale.change);
  const available = Object.fromEntries(PAYOUT_ORDER.map((m) => [m, Math.max(0, (taken[m] || 0) - (back[m] || 0))]));
  const qtyInputs = sale.lines.map((l, i) => {
    const d = done.get(l.id) || { milli: 0, amount: 0 };
    const left = toMilli(l.quantity) - d.milli;
    return { line: l, done: d, left, input: h('input', { class: 'refund-qty', 'data-line': i, inputmode: 'decimal', placeholder: '0', disabled: left <= 0, 'aria-label': 'Quantity of ' + l.name + ' to refund' }) };
  });
  const methodInputs = Object.fromEntries(PAYOUT_ORDER.filter((m) => available[m] > 0 || taken[m]).map((m) => [m, h('input', { 'data-method': m, inputmode: 'decimal', 'aria-label': 'Refund to ' + m })]));
  const total = h('strong', { id: 'refund-total' }, money(0));
  const error = h('div', { class: 'error', id: 'refund-error' });
  const restock = h('input', { type: 'checkbox', checked: true, style: 'width:auto;min-height:auto' });
  let amounts = [];
  const recompute = () => {
    error.textContent = '';
    amounts = qtyInputs.map(({ line, done: d, left, input }) => {
      const text = input.value.trim();
      if (!text) return 0;
      const milli = toMilli(text);
      if (milli == null || milli > left) { error.textContent = `${line.name}: at most ${left / 1000}`; return 0; }
      return refundAmount(line.total, toMilli(line.quantity), d.milli, d.amount, milli);
    });
    const sum = amounts.reduce((a, b) => a + b, 0);
    total.textContent = money(sum);
    // Back where it came from: the non-cash methods first, up to what each took; cash last.
    let left = sum;
    for (const m of PAYOUT_ORDER) {
      if (!methodInputs[m]) continue;
      const a = Math.min(left, available[m]);
      methodInputs[m].value = moneyInput(a);
      left -= a;
    }
    if (left > 0) error.textContent = `${money(left)} more than the sale's payments can take back`;
  };
  qtyInputs.forEach(({ input }) => input.addEventListener('input', recompute));
  if (preselect) for (const q of qtyInputs) if (q.left > 0) q.input.value = String(q.left / 1000);
  const form = h('form', { class: 'card', id: 'refund-form' },
    h('h2', {}, `Refund from ${sale.invoiceNumber}`),
    h('table', {}, h('tr', {}, h('th', {}, 'Item'), h('th', { class: 'num' }, 'Sold'), h('th', { class: 'num' }, 'Refunded'), h('th', { class: 'num' }, 'Total'), h('th', { class: 'num' }, 'Refund qty')),
      qtyInputs.map(({ line, done: d, input }) => h('tr', {}, h('td', {}, line.name), h('td', { class: 'num' }, line.quantity), h('td', { class: 'num' }, d.milli / 1000), h('td', { class: 'num' }, money(line.total)), h('td', { class: 'num' }, input)))),
    h('div', { class: 'totals' }, h('div', { class: 'grand' }, h('span', {}, 'Refund'), total)),
    h('div', { class: 'pay-row' }, Object.entries(methodInputs).map(([m, input]) => h('div', {}, h('label', {}, `To ${m} (up to ${money(available[m])})`), input))),
    h('label', {}, restock, ' Put the items back in stock'),
    error,
    h('p', {}, h('button', { class: 'primary', type: 'submit', id: 'refund-submit' }, 'Refund'), ' ', h('button', { type: 'button', onclick: () => openSale(sale.id) }, 'Cancel')),
  );
  const clientRef = uuid();
  let sending = false;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (sending) return;
    const lines = qtyInputs.map(({ line, input }) => ({ lineId: line.id, quantity: Number(input.value.trim() || 0) })).filter((l) => l.quantity > 0);
    if (!lines.length) { error.textContent = 'Enter a quantity to refund'; return; }
    const payments = [];
    for (const [method, input] of Object.entries(methodInputs)) {
      const a = parseMoney(input.value || '0');
      if (a == null) { error.textContent = `${method}: not an amount`; return; }
      if (a > 0) payments.push({ method, amount: a });
    }
    sending = true;
    $('#refund-submit').disabled = true;
    try {
      const body = { clientRef, restock: restock.checked, lines, payments };
      const r = await withApproval('refund', `A refund from ${sale.invoiceNumber} needs a manager.`,
        (headers) => api('POST', `/sales/${sale.id}/refunds`, body, { timeout: 8000, headers }));
      if (!r.ok) { error.textContent = errorOf(r).message; return; }
      const { sale: after, ...refund } = r.data;
      $('#view').replaceChildren(refundSlip(after, refund), h('p', { class: 'no-print' },
        h('button', { type: 'button', onclick: () => window.print() }, 'Print'), ' ',
        h('button', { type: 'button', id: 'back-to-sale', onclick: () => openSale(sale.id) }, 'Back to the sale')));
    } catch (e) {
      error.textContent = e.message;
    } finally {
      sending = false;
      const b = $('#refund-submit');
      if (b) b.disabled = false;
    }
  });
  recompute();
  $('#view').replaceChildren(form);
  qtyInputs.find((q) => !q.input.disabled)?.input.focus();
}
