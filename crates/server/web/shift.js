// The cash drawer: opening a shift with its float, pay-ins, pay-outs and no-sales, the X report
// at any time, and the close (Z) with a denomination counter. A manager also closes another
// cashier's forgotten shift. The open shift is remembered on the till, so a sale made offline
// carries the shift it was made in.

import { $, h, toast, nav, showFieldError } from './dom.js';
import { api, errorOf, Offline, session } from './api.js';
import { money, moneyInput, parseMoney, localDate } from './format.js';
import { isManager, withApproval } from './approval.js';

const KEY = 'tills.shift';

// The caller's open shift, or null. `current` is what the server said last (kept for offline).
export const shift = {
  get current() {
    const kept = JSON.parse(localStorage.getItem(KEY) || 'null');
    return kept && kept.cashierId === session.me?.id ? kept : null;
  },
  set current(s) { s ? localStorage.setItem(KEY, JSON.stringify(s)) : localStorage.removeItem(KEY); },
  listeners: new Set(),
  changed() { for (const f of this.listeners) f(this.current); },
};

// Asks the server for the caller's open shift (kept as it was when the server is away).
export async function loadShift() {
  try {
    const r = await api('GET', '/shifts/current');
    if (r.ok) shift.current = r.data;
    else if (r.status === 404) shift.current = null;
  } catch (e) {
    if (!(e instanceof Offline)) throw e;
  }
  shift.changed();
  return shift.current;
}

export function forgetShift() { localStorage.removeItem(KEY); }

// Whether this till may sell: a store that requires a shift needs one open.
export const needsShift = () => !!session.store?.requireShift && !shift.current;

// The form that opens a shift: the terminal's name (remembered on this till) and the float.
export function openShiftForm(onOpened) {
  const terminal = h('input', { id: 'shift-terminal', 'data-field': 'terminal', value: localStorage.getItem('tills.terminal') || 'till-1', autocomplete: 'off' });
  const float = h('input', { id: 'opening-float', 'data-field': 'openingFloat', inputmode: 'decimal', placeholder: '0.00', autocomplete: 'off' });
  const form = h('form', { id: 'open-shift', class: 'card' },
    h('h2', {}, 'Open a shift'),
    h('p', { class: 'muted' }, 'Count the cash you put in the drawer to start with.'),
    h('label', { for: 'shift-terminal' }, 'Terminal'), terminal,
    h('label', { for: 'opening-float' }, 'Opening float'), float,
    h('p', {}, h('button', { type: 'submit', class: 'primary', id: 'open-shift-submit' }, 'Open shift')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const amount = parseMoney(float.value || '0');
    if (amount == null) return showFieldError(form, { field: 'openingFloat', message: 'The float is an amount, like 100.00.' });
    try {
      const r = await api('POST', '/shifts', { terminal: terminal.value.trim(), openingFloat: amount });
      if (!r.ok) return showFieldError(form, errorOf(r));
      localStorage.setItem('tills.terminal', terminal.value.trim());
      shift.current = r.data;
      shift.changed();
      toast(`Shift open on ${r.data.terminal} with ${money(amount)}`);
      onOpened?.(r.data);
    } catch (e) {
      showFieldError(form, { message: e.message });
    }
  });
  setTimeout(() => float.focus());
  return form;
}

// ---------- the drawer screen ----------

export async function drawerView() {
  const current = await loadShift();
  const box = h('div', { id: 'drawer', class: 'grid2' });
  if (!current) {
    box.append(openShiftForm(() => nav.go('drawer')));
  } else {
    const r = await api('GET', `/shifts/${current.id}/report`);
    if (!r.ok) throw new Error(errorOf(r).message);
    box.append(h('section', { class: 'card' }, reportView(r.data), drawerActions(current, r.data)));
  }
  if (isManager()) box.append(await openShiftsCard(current));
  return box;
}

function drawerActions(current, report) {
  const buttons = h('div', { class: 'row no-print', id: 'drawer-actions' },
    h('button', { type: 'button', id: 'pay-in', onclick: () => cashMovement(current, 'pay_in') }, h('kbd', {}, 'I'), ' Pay in'),
    h('button', { type: 'button', id: 'pay-out', onclick: () => cashMovement(current, 'pay_out') }, h('kbd', {}, 'O'), ' Pay out'),
    h('button', { type: 'button', id: 'no-sale', onclick: () => cashMovement(current, 'no_sale') }, h('kbd', {}, 'N'), ' No sale'),
    h('button', { type: 'button', id: 'print-x', onclick: () => window.print() }, h('kbd', {}, 'X'), ' Print X report'),
    h('button', { type: 'button', class: 'primary', id: 'close-shift', onclick: () => closeForm(current, report) }, h('kbd', {}, 'Z'), ' Close shift…'));
  return buttons;
}

// The drawer screen from the keyboard: I, O, N, X and Z when no field has the focus.
document.addEventListener('keydown', (ev) => {
  if (!$('#drawer-actions') || document.querySelector('#ask[open]')) return;
  if (ev.target.closest?.('input,select,textarea') || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const id = { i: 'pay-in', o: 'pay-out', n: 'no-sale', x: 'print-x', z: 'close-shift' }[ev.key.toLowerCase()];
  if (!id) return;
  ev.preventDefault();
  $('#' + id)?.click();
});

const KIND = { pay_in: 'Pay in', pay_out: 'Pay out', no_sale: 'No sale' };

// Pay in, pay out or no sale: an amount (none for a no-sale) and a reason, in the page's dialog.
function cashMovement(current, kind) {
  const dialog = $('#ask');
  const amount = kind === 'no_sale' ? null : h('input', { id: 'movement-amount', inputmode: 'decimal', placeholder: '0.00', autocomplete: 'off', 'data-field': 'amount' });
  const reason = h('input', { id: 'movement-reason', autocomplete: 'off', 'data-field': 'reason', maxlength: 200 });
  const form = h('form', { id: 'movement-form' },
    h('h3', {}, KIND[kind]),
    amount ? [h('label', { for: 'movement-amount' }, 'Amount'), amount] : null,
    h('label', { for: 'movement-reason' }, 'Reason'), reason,
    h('div', { class: 'row' }, h('button', { type: 'button', id: 'movement-cancel', onclick: () => dialog.close() }, 'Cancel'),
      h('button', { type: 'submit', class: 'primary', id: 'movement-ok' }, KIND[kind])));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const minor = amount ? parseMoney(amount.value) : 0;
    if (minor == null || (amount && minor <= 0)) return showFieldError(form, { field: 'amount', message: 'An amount above 0, like 20.00.' });
    if (!reason.value.trim()) return showFieldError(form, { field: 'reason', message: 'Say why: it goes to the audit log.' });
    try {
      const r = await api('POST', `/shifts/${current.id}/cash-movements`, { kind, amount: minor, reason: reason.value.trim() });
      if (!r.ok) return showFieldError(form, errorOf(r));
      dialog.close();
      toast(`${KIND[kind]}${minor ? ' ' + money(minor) : ''} recorded`);
      nav.go('drawer');
    } catch (e) {
      showFieldError(form, { message: e.message });
    }
  });
  dialog.replaceChildren(form);
  dialog.showModal();
  (amount || reason).focus();
}

// The notes and coins of the store's currency, in minor units, largest first.
export function denominations() {
  const d = session.store?.currencyDecimals ?? 2;
  if (d === 0) return [10000, 5000, 2000, 1000, 500, 100, 50, 10, 5, 1];
  const major = [500, 200, 100, 50, 20, 10, 5, 2, 1].map((n) => n * 10 ** d);
  const minor = d === 2 ? [50, 20, 10, 5, 2, 1] : [];
  return [...major, ...minor];
}

// The close: a count per denomination (or the total typed), expected and difference shown as
// they are typed, a note; beyond the store's tolerance a cashier needs a manager.
function closeForm(current, report) {
  const expected = report.figures.cash.expected;
  const rows = denominations().map((d) => ({ d, input: h('input', { class: 'denomination', 'data-denomination': d, inputmode: 'numeric', placeholder: '0', autocomplete: 'off', 'aria-label': `Count of ${money(d)}` }), total: h('td', { class: 'num' }, '') }));
  const counted = h('input', { id: 'counted-cash', inputmode: 'decimal', 'data-field': 'countedCash', autocomplete: 'off', placeholder: '0.00' });
  const difference = h('strong', { id: 'close-difference' }, '');
  const note = h('input', { id: 'close-note', maxlength: 500, autocomplete: 'off', 'data-field': 'note' });
  let fromCount = false;
  const recount = () => {
    let sum = 0;
    fromCount = false;
    for (const r of rows) {
      const n = r.input.value.trim();
      if (!n) { r.total.textContent = ''; continue; }
      if (!/^\d+$/.test(n)) { r.total.textContent = '?'; continue; }
      fromCount = true;
      sum += Number(n) * r.d;
      r.total.textContent = money(Number(n) * r.d);
    }
    if (fromCount) counted.value = moneyInput(sum);
    counted.readOnly = fromCount;
    showDifference();
  };
  const showDifference = () => {
    const c = parseMoney(counted.value || '0');
    if (c == null) { difference.textContent = ''; return; }
    const diff = c - expected;
    difference.textContent = diff === 0 ? 'exact' : diff > 0 ? `over ${money(diff)}` : `short ${money(-diff)}`;
    difference.className = diff === 0 ? '' : 'error';
  };
  rows.forEach((r) => r.input.addEventListener('input', recount));
  counted.addEventListener('input', showDifference);
  const form = h('form', { class: 'card', id: 'close-form' },
    h('h2', {}, `Close the shift on ${current.terminal}`),
    h('table', { id: 'denominations' }, h('tr', {}, h('th', {}, 'Note or coin'), h('th', { class: 'num' }, 'Count'), h('th', { class: 'num' }, 'Amount')),
      rows.map((r) => h('tr', {}, h('td', {}, money(r.d)), h('td', { class: 'num' }, r.input), r.total))),
    h('label', { for: 'counted-cash' }, 'Counted cash (the sum of the count, or type it)'), counted,
    h('div', { class: 'totals' },
      h('div', {}, h('span', {}, 'Expected in the drawer'), h('span', { id: 'close-expected' }, money(expected))),
      h('div', {}, h('span', {}, 'Difference'), difference)),
    h('label', { for: 'close-note' }, 'Note (optional)'), note,
    h('p', {}, h('button', { type: 'submit', class: 'primary', id: 'close-submit' }, 'Close shift (Z)'), ' ',
      h('button', { type: 'button', onclick: () => nav.go('drawer') }, 'Cancel')));
  let sending = false;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (sending) return;
    const countedCash = parseMoney(counted.value);
    if (countedCash == null) return showFieldError(form, { field: 'countedCash', message: 'Count the drawer: an amount like 123.45.' });
    const body = { countedCash };
    if (fromCount) {
      body.denominations = {};
      for (const r of rows) if (/^\d+$/.test(r.input.value.trim()) && Number(r.input.value) > 0) body.denominations[String(r.d)] = Number(r.input.value);
    }
    if (note.value.trim()) body.note = note.value.trim();
    sending = true;
    $('#close-submit').disabled = true;
    try {
      const r = await withApproval('close_shift', 'The count is beyond the store\'s tolerance.',
        (headers) => api('POST', `/shifts/${current.id}/close`, body, { headers }));
      if (!r.ok) return showFieldError(form, errorOf(r));
      if (shift.current?.id === current.id) { shift.current = null; shift.changed(); }
      const z = await api('GET', `/shifts/${current.id}/report`);
      $('#view').replaceChildren(h('section', { class: 'card' }, reportView(z.data),
        h('p', { class: 'no-print' }, h('button', { type: 'button', id: 'print-z', onclick: () => window.print() }, 'Print Z report'), ' ',
          h('button', { type: 'button', class: 'primary', id: 'after-close', onclick: () => nav.go('drawer') }, 'Done'))));
      $('#print-z').focus();
    } catch (e) {
      showFieldError(form, { message: e.message });
    } finally {
      sending = false;
      const b = $('#close-submit');
      if (b) b.disabled = false;
    }
  });
  $('#view').replaceChildren(form);
  rows[0].input.focus();
}

// An X or Z report, printable on the receipt printer.
export function reportView(rep) {
  const s = rep.shift;
  const f = rep.figures;
  const row = (label, value, id) => h('tr', {}, h('td', {}, label), h('td', { class: 'num', ...(id ? { id } : {}) }, value));
  const diff = s.difference;
  return h('div', { class: 'receipt', id: rep.kind === 'z' ? 'z-report' : 'x-report' },
    h('h2', {}, rep.kind === 'z' ? `Z REPORT #${s.zNumber}` : 'X REPORT'),
    h('div', { class: 'center' }, session.store?.name || ''),
    h('div', {}, `Terminal ${s.terminal}`),
    h('div', {}, `Opened ${localDate(s.openedAt)}`),
    s.closedAt ? h('div', {}, `Closed ${localDate(s.closedAt)}`) : h('div', {}, `As of ${localDate(new Date().toISOString())}`),
    h('hr'),
    h('table', {},
      row('Sales', f.salesCount, 'report-sales-count'),
      row('Gross', money(f.grossSales)),
      row('Discounts', money(f.discounts)),
      row('Tax', money(f.tax)),
      row(`Refunds (${f.refunds.count})`, money(f.refunds.total), 'report-refunds'),
      row(`Voids (${f.voids.count})`, money(f.voids.total)),
      row('Net sales', money(f.netSales), 'report-net'),
      Object.entries(f.byPaymentMethod).map(([m, a]) => row(`  ${m}`, money(a)))),
    h('hr'),
    h('table', {},
      row('Opening float', money(f.cash.openingFloat)),
      row('Cash taken', money(f.cash.taken)),
      row('Change given', '−' + money(f.cash.change)),
      row('Cash refunded', '−' + money(f.cash.refunded)),
      row('Pay-ins', money(f.cash.payIns)),
      row('Pay-outs', '−' + money(f.cash.payOuts), 'report-pay-outs'),
      row('No-sales', f.cash.noSales),
      h('tr', {}, h('td', {}, h('strong', {}, 'EXPECTED CASH')), h('td', { class: 'num', id: 'report-expected' }, h('strong', {}, money(f.cash.expected))))),
    s.countedCash != null ? [h('hr'), h('table', {},
      row('Counted', money(s.countedCash), 'report-counted'),
      row(diff === 0 ? 'Difference' : diff > 0 ? 'Over' : 'Short', money(Math.abs(diff)), 'report-difference'),
      s.denominations ? Object.entries(s.denominations).sort((a, b) => Number(b[0]) - Number(a[0])).map(([d, n]) => row(`  ${n} × ${money(Number(d))}`, money(n * Number(d)))) : null),
    s.note ? h('div', {}, `Note: ${s.note}`) : null] : null,
    rep.movements.length ? [h('hr'), h('table', { id: 'report-movements' }, rep.movements.map((m) => row(`${KIND[m.kind]}: ${m.reason}`, m.kind === 'no_sale' ? '' : money(m.amount))))] : null,
  );
}

// A manager sees every open shift of the store and closes a forgotten one.
async function openShiftsCard(mine) {
  const card = h('section', { class: 'card no-print', id: 'open-shifts' }, h('h2', {}, 'Open shifts in the store'));
  const r = await api('GET', '/shifts?status=open&limit=50');
  const others = (r.data?.items || []).filter((s) => s.id !== mine?.id);
  if (!others.length) card.append(h('p', { class: 'muted' }, 'No other shift is open.'));
  for (const s of others) {
    card.append(h('div', { class: 'row' }, h('span', {}, `${s.terminal}, opened ${localDate(s.openedAt)}`),
      h('button', { type: 'button', class: 'close-other', onclick: async () => {
        const rep = await api('GET', `/shifts/${s.id}/report`);
        if (!rep.ok) return toast(errorOf(rep).message, true);
        closeForm(s, rep.data);
      } }, 'Close…')));
  }
  return card;
}
