// Printed documents: a sale's receipt, the provisional receipt of a sale still waiting for the
// server, and a refund slip. Each has a screen view and an 80 mm print view (style.css).

import { $, h, nav } from './dom.js';
import { session } from './api.js';
import { money, localDate } from './format.js';
import { catalog } from './catalog.js';
import { code128Svg } from './code128.js';

const PAY = { cash: 'Cash', card: 'Card', mobile: 'Mobile', voucher: 'Voucher' };

function header() {
  const s = session.store;
  return [
    h('h2', {}, s.name),
    s.address ? h('div', { class: 'center' }, s.address) : null,
    s.taxId ? h('div', { class: 'center' }, 'Tax id ' + s.taxId) : null,
    h('hr'),
  ];
}

function footer() {
  const s = session.store;
  return s.receiptFooter ? [h('hr'), h('div', { class: 'center' }, s.receiptFooter)] : null;
}

// A line's name as printed: a pack carries its pack's name and how many it holds.
function lineName(l) {
  if (!l.unitId || !l.factor || l.factor === 1) return l.name;
  const pack = catalog.unitNames().get(l.unitId);
  return `${l.name} — ${pack || 'pack'} ×${l.factor}`;
}

const row = (label, value, attrs = {}) => h('tr', {}, h('td', {}, label), h('td', { class: 'num', ...attrs }, value));

// The invoice number as a Code 128 barcode: scanned at the till, it opens the sale for a refund.
function invoiceBarcode(invoice) {
  const box = h('div', { class: 'center barcode', id: 'invoice-barcode', 'data-code': invoice });
  try { box.innerHTML = code128Svg(invoice); } catch { return null; }
  return box;
}

export function receiptView(sale, { customer } = {}) {
  return h('div', { class: 'receipt', id: 'receipt' },
    header(),
    h('div', {}, 'Invoice ', h('strong', { id: 'invoice' }, sale.invoiceNumber)),
    h('div', {}, localDate(sale.soldAt)),
    customer ? h('div', { id: 'receipt-customer' }, `Customer: ${customer.name}${customer.phone ? ' (' + customer.phone + ')' : ''}`) : null,
    sale.status !== 'completed' ? h('div', {}, h('strong', {}, sale.status.toUpperCase().replace('_', ' '))) : null,
    h('hr'),
    h('table', {}, sale.lines.map((l) => [
      h('tr', {}, h('td', { colspan: 2 }, lineName(l))),
      row(`  ${l.quantity} × ${money(l.price)}`, money(l.total)),
      l.discount ? row('  discount', '−' + money(l.discount)) : null,
    ])),
    h('hr'),
    h('table', {},
      sale.taxBreakdown.map((b) => row(`Tax ${b.rate / 100}% on ${money(b.base)}`, money(b.tax))),
      h('tr', {}, h('td', {}, h('strong', {}, 'TOTAL')), h('td', { class: 'num' }, h('strong', {}, money(sale.total)))),
      sale.payments.map((p) => row(PAY[p.method] || p.method, money(p.amount))),
      sale.change ? row('Change', money(sale.change), { id: 'receipt-change' }) : null,
    ),
    (sale.refunds || []).length ? [h('hr'), h('table', {}, sale.refunds.map((r) => row(`Refund ${localDate(r.createdAt)}`, '−' + money(r.total))))] : null,
    footer(),
    invoiceBarcode(sale.invoiceNumber),
  );
}

export function showReceipt(sale, { customer } = {}) {
  $('#view').replaceChildren(
    receiptView(sale, { customer }),
    h('p', { class: 'no-print center' },
      h('button', { type: 'button', onclick: () => window.print() }, 'Print'), ' ',
      h('button', { type: 'button', class: 'primary', id: 'next-sale', onclick: () => nav.go('sale') }, 'Next sale')),
  );
  $('#next-sale').focus();
}

// A sale the server has not got yet: what the customer paid and gets back, with a reference.
export function provisionalView(item) {
  return h('div', { class: 'receipt', id: 'receipt' },
    header(),
    h('div', { class: 'center' }, h('strong', {}, 'PROVISIONAL RECEIPT')),
    h('div', { class: 'center' }, 'The invoice number follows when the sale reaches the server.'),
    h('div', {}, 'Reference ', h('strong', { id: 'provisional-ref' }, item.clientRef.slice(0, 8).toUpperCase())),
    h('div', {}, localDate(item.createdAt)),
    item.customer ? h('div', {}, `Customer: ${item.customer.name}`) : null,
    h('hr'),
    h('table', {}, item.lines.map((l) => [
      h('tr', {}, h('td', { colspan: 2 }, l.name)),
      row(`  ${l.qty || 1} × ${money(l.price)}`, l.total != null ? money(l.total) : ''),
    ])),
    h('hr'),
    h('table', {},
      (item.taxBreakdown || []).map((b) => row(`Tax ${b.rate / 100}% on ${money(b.base)}`, money(b.tax))),
      h('tr', {}, h('td', {}, h('strong', {}, 'TOTAL')), h('td', { class: 'num', id: 'provisional-total' }, h('strong', {}, item.total != null ? money(item.total) : '—'))),
      item.payments.map((p) => row(PAY[p.method] || p.method, money(p.amount))),
      row('Change', item.change != null ? money(item.change) : '—', { id: 'provisional-change' }),
    ),
    footer(),
  );
}

export function showProvisional(item) {
  $('#view').replaceChildren(
    provisionalView(item),
    h('p', { class: 'no-print center' },
      h('button', { type: 'button', onclick: () => window.print() }, 'Print'), ' ',
      h('button', { type: 'button', class: 'primary', id: 'next-sale', onclick: () => nav.go('sale') }, 'Next sale')),
  );
  $('#next-sale').focus();
}

// A refund: what went back, to which payment method, for which invoice, when.
export function refundSlip(sale, refund) {
  const lines = new Map(sale.lines.map((l) => [l.id, l]));
  return h('div', { class: 'receipt', id: 'refund-slip' },
    header(),
    h('div', { class: 'center' }, h('strong', {}, 'REFUND')),
    h('div', {}, 'Invoice ', h('strong', {}, sale.invoiceNumber)),
    h('div', {}, localDate(refund.createdAt)),
    h('hr'),
    h('table', {}, refund.lines.map((rl) => {
      const l = lines.get(rl.lineId);
      return [h('tr', {}, h('td', { colspan: 2 }, l ? lineName(l) : rl.lineId)), row(`  ${rl.quantity} returned`, '−' + money(rl.amount))];
    })),
    h('hr'),
    h('table', {},
      h('tr', {}, h('td', {}, h('strong', {}, 'REFUNDED')), h('td', { class: 'num', id: 'refund-amount' }, h('strong', {}, money(refund.total)))),
      refund.payments.map((p) => row(`to ${PAY[p.method] || p.method}`, money(p.amount))),
    ),
    footer(),
  );
}
