// Tills terminal: the cashier's sale screen and the back office, in plain JavaScript.
// Talks only to the HTTP API (/api/v1). Totals always come from POST /sales/quote: the server
// rounds, never the browser. Every sale is written to IndexedDB with its clientRef before it is
// sent, and re-sent with the same clientRef until the server answers.

const $ = (sel, el = document) => el.querySelector(sel);
const h = (tag, attrs = {}, ...children) => {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else if (v !== false && v != null) el.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) if (c != null && c !== false) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
};

// ---------- session and API ----------

const session = {
  get token() { return localStorage.getItem('tills.token'); },
  set token(t) { t ? localStorage.setItem('tills.token', t) : localStorage.removeItem('tills.token'); },
  me: null,
  store: null,
};

class Offline extends Error {}

async function api(method, path, body) {
  let res;
  try {
    res = await fetch('/api/v1' + path, {
      method,
      headers: { 'content-type': 'application/json', ...(session.token ? { authorization: 'Bearer ' + session.token } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new Offline('the server cannot be reached');
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (res.status === 401 && path !== '/auth/login') { logout(); }
  if (res.status >= 500) throw new Offline(data?.error?.message || 'server error ' + res.status);
  return { status: res.status, ok: res.ok, data };
}

function errorOf(r) {
  return r?.data?.error || { code: 'error', message: 'unexpected answer ' + r?.status };
}

function toast(msg, bad = false) {
  const t = $('#toast');
  t.textContent = msg;
  t.className = 'show' + (bad ? ' bad' : '');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (t.className = ''), bad ? 4000 : 2500);
}

// Shows an API error beside the input whose data-field is the error's field.
function showFieldError(form, err) {
  form.querySelectorAll('.field-error').forEach((e) => e.remove());
  const input = err.field && form.querySelector(`[data-field="${CSS.escape(err.field)}"]`);
  const note = h('div', { class: 'field-error' }, err.message);
  if (input) input.after(note);
  else form.append(note);
}

// ---------- money, quantities, dates ----------

function money(minor) {
  const d = session.store?.currencyDecimals ?? 2;
  const cur = session.store?.currency ?? 'USD';
  const neg = minor < 0;
  const abs = String(Math.abs(minor)).padStart(d + 1, '0');
  const text = d ? abs.slice(0, -d) + '.' + abs.slice(-d) : abs;
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency: cur, minimumFractionDigits: d, maximumFractionDigits: d }).format((neg ? '-' : '') + text);
  } catch {
    return (neg ? '-' : '') + text + ' ' + cur;
  }
}

// "12.34" in major units → minor units, exactly (no float arithmetic).
function parseMoney(text) {
  const d = session.store?.currencyDecimals ?? 2;
  const m = String(text).trim().replace(',', '.').match(/^(\d+)(?:\.(\d*))?$/);
  if (!m) return null;
  const frac = (m[2] || '').padEnd(d, '0');
  if (frac.length > d) return null;
  return Number(m[1]) * 10 ** d + Number(frac || 0);
}

const qtyText = (q) => String(q);
const validQty = (s) => /^\d+(\.\d{1,3})?$/.test(String(s).trim()) && Number(s) > 0;

function localDate(iso) {
  return new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short', timeZone: session.store?.timezone || 'UTC' }).format(new Date(iso));
}

function today() {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: session.store?.timezone || 'UTC', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
  return parts; // YYYY-MM-DD
}

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

// ---------- the outbox: sales waiting for the server (IndexedDB) ----------

const outbox = {
  db: null,
  async open() {
    if (this.db) return this.db;
    this.db = await new Promise((resolve, reject) => {
      const req = indexedDB.open('tills', 1);
      req.onupgradeneeded = () => req.result.createObjectStore('outbox', { keyPath: 'clientRef' });
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    if (navigator.storage?.persist) navigator.storage.persist().catch(() => {});
    return this.db;
  },
  async tx(mode, fn) {
    const db = await this.open();
    return new Promise((resolve, reject) => {
      const t = db.transaction('outbox', mode);
      const result = fn(t.objectStore('outbox'));
      t.oncomplete = () => resolve(result?.result ?? result);
      t.onerror = () => reject(t.error);
    });
  },
  put(item) { return this.tx('readwrite', (s) => s.put(item)); },
  remove(ref) { return this.tx('readwrite', (s) => s.delete(ref)); },
  async all() { const r = await this.tx('readonly', (s) => s.getAll()); return r || []; },
};

async function refreshBadge() {
  const items = (await outbox.all()).filter((i) => i.store === session.me?.storeId);
  const badge = $('#outbox-badge');
  badge.hidden = items.length === 0;
  badge.textContent = `${items.length} waiting`;
}

// Sends one waiting sale. Returns the sale when the server took it (201 or 200).
async function sendSale(item) {
  const r = await api('POST', '/sales', item.body);
  if (r.status === 201 || r.status === 200) {
    await outbox.remove(item.clientRef);
    return r.data;
  }
  // The server answered and refused it: keep it visible, never drop it silently.
  item.error = errorOf(r).message;
  await outbox.put(item);
  throw new Error(item.error);
}

let flushing = false;
async function flushOutbox() {
  if (flushing || !session.me) return;
  flushing = true;
  try {
    for (const item of await outbox.all()) {
      if (item.store !== session.me.storeId || item.error) continue;
      try {
        const sale = await sendSale(item);
        if (currentReceiptRef === item.clientRef) showReceipt(sale);
        toast(`Waiting sale sent: ${sale.invoiceNumber}`);
      } catch (e) {
        if (e instanceof Offline) break;
      }
    }
  } finally {
    flushing = false;
    refreshBadge();
  }
}
setInterval(flushOutbox, 3000);
window.addEventListener('online', flushOutbox);

// ---------- login ----------

function logout() {
  session.token = null;
  session.me = null;
  render();
}

function loginView() {
  const form = h('form', { class: 'card login' },
    h('h1', {}, 'Tills'),
    h('label', {}, 'Store'), h('input', { name: 'store', autocomplete: 'organization', 'data-field': 'store', value: localStorage.getItem('tills.store') || '' }),
    h('label', {}, 'Email'), h('input', { name: 'email', type: 'email', autocomplete: 'username', required: true }),
    h('label', {}, 'Password'), h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    h('p', {}, h('button', { class: 'primary', type: 'submit' }, 'Log in')),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const body = { email: f.get('email'), password: f.get('password') };
    if (f.get('store')) body.store = f.get('store');
    try {
      const r = await api('POST', '/auth/login', body);
      if (!r.ok) return showFieldError(form, errorOf(r));
      localStorage.setItem('tills.store', f.get('store') || '');
      session.token = r.data.token;
      render();
    } catch (e) {
      showFieldError(form, { message: e.message });
    }
  });
  return form;
}

// ---------- the sale screen ----------

// `tendered`: what the cashier typed in the payment fields, kept when a quote redraws them.
const cart = { lines: [], quote: null, error: null, customer: null, offline: false, tendered: {} };
const seen = new Map(); // barcode → last scan answer, for selling while the server is away
let currentReceiptRef = null;

function lineKey(l) { return l.embedded ? l.barcode + ':' + Math.random() : l.productId + ':' + (l.unitId || ''); }

function addScanned(code, found) {
  const p = found.product;
  if (p.status !== 'active') toast(`${p.name} is inactive and cannot be sold`, true);
  const unit = found.unit;
  const line = {
    productId: p.id,
    unitId: unit?.unitId || null,
    barcode: code,
    name: p.name + (unit ? ` ×${unit.factor}` : ''),
    price: unit ? unit.price : p.price,
    qty: '1',
    embedded: found.embedded || null,
  };
  if (line.embedded) {
    line.qty = line.embedded.kind === 'weight' ? qtyText(line.embedded.quantity) : '';
    line.key = lineKey(line);
    cart.lines.push(line);
  } else {
    line.key = lineKey(line);
    const existing = cart.lines.find((l) => l.key === line.key);
    if (existing) existing.qty = String(Math.round((Number(existing.qty) + 1) * 1000) / 1000);
    else cart.lines.push(line);
  }
  requote();
}

// Scans are looked up at once but added to the cart in the order they were scanned.
let scanChain = Promise.resolve();
function scan(code) {
  code = code.trim();
  if (!code) return;
  const answer = api('GET', '/products/barcode/' + encodeURIComponent(code)).then((r) => ({ r }), (e) => ({ e }));
  scanChain = scanChain.then(async () => addAnswer(code, await answer)).catch((e) => toast(String(e.message || e), true));
}

function addAnswer(code, { r, e }) {
  if (r) {
    if (r.status === 404) return toast(`Unknown barcode ${code}`, true);
    if (!r.ok) return toast(errorOf(r).message, true);
    seen.set(code, r.data);
    cart.offline = false;
    return addScanned(code, r.data);
  }
  if (!(e instanceof Offline)) throw e;
  const known = seen.get(code);
  if (!known) return toast(`Offline: ${code} was not scanned before, sell it by search later`, true);
  cart.offline = true;
  addScanned(code, known);
}

function saleLines(withPrices) {
  return cart.lines.map((l) => {
    if (l.embedded) return withPrices ? { barcode: l.barcode } : { barcode: l.barcode };
    const line = { productId: l.productId, quantity: Number(l.qty) };
    if (l.unitId) line.unitId = l.unitId;
    if (withPrices) line.price = l.price;
    return line;
  });
}

let quoteTimer = null;
let quoteSeq = 0;
function requote() {
  renderCart();
  clearTimeout(quoteTimer);
  quoteTimer = setTimeout(async () => {
    // Only the newest quote is shown: an older one that answers late is dropped.
    const seq = ++quoteSeq;
    if (!cart.lines.length) { cart.quote = null; cart.error = null; return renderCart(); }
    if (cart.lines.some((l) => !l.embedded && !validQty(l.qty))) { cart.error = 'a quantity is a number above 0 with at most 3 decimals'; return renderCart(); }
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
  }, 120);
}

function offlineTotal() {
  // Shown only while the server is away; the receipt's total comes from the server.
  let sum = 0;
  for (const l of cart.lines) sum += l.embedded?.kind === 'price' ? l.embedded.price : Math.round(l.price * Number(l.qty || 0));
  return sum;
}

function saleView() {
  const scanInput = h('input', { id: 'scan', placeholder: 'Scan or type a barcode, Enter', autocomplete: 'off', inputmode: 'numeric' });
  scanInput.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') { ev.preventDefault(); const v = scanInput.value; scanInput.value = ''; scan(v); }
  });
  const search = h('input', { id: 'search', placeholder: 'Search products by name', autocomplete: 'off' });
  const results = h('div', { class: 'results' });
  let searchTimer;
  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(async () => {
      results.replaceChildren();
      if (!search.value.trim()) return;
      try {
        const r = await api('GET', '/products?limit=8&status=active&q=' + encodeURIComponent(search.value.trim()));
        for (const p of r.data?.items || []) {
          results.append(h('button', { onclick: () => { addScanned(p.barcode || '', { product: p, unit: null }); search.value = ''; results.replaceChildren(); focusScan(); } }, `${p.name} — ${money(p.price)}`));
        }
      } catch { /* offline: nothing to search */ }
    }, 200);
  });
  const quick = h('div', { class: 'quick', id: 'quick' });
  api('GET', '/products?quick=true&status=active&limit=50').then((r) => {
    for (const p of r.data?.items || []) {
      if (p.barcode) seen.set(p.barcode, { product: p, unit: null });
      quick.append(h('button', { onclick: () => { addScanned(p.barcode || '', { product: p, unit: null }); focusScan(); } }, p.name));
    }
  }).catch(() => {});

  const left = h('section', { class: 'card' },
    scanInput,
    h('table', { id: 'cart' }),
    h('div', { class: 'row no-print', style: 'margin-top:.75rem' }, h('div', {}, search, results)),
    quick,
  );
  const right = h('section', { class: 'card', id: 'pay' });
  const view = h('div', { class: 'sale' }, left, right);
  // The scan field keeps the focus, unless the cashier is typing somewhere else.
  view.addEventListener('click', (ev) => { if (!ev.target.closest('input,select,button,textarea')) focusScan(); });
  setTimeout(() => { renderCart(); focusScan(); });
  return view;
}

function focusScan() { $('#scan')?.focus(); }

function renderCart() {
  const table = $('#cart');
  if (!table) return;
  const q = cart.quote;
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
      h('td', {}, h('button', { class: 'link', 'aria-label': 'Remove ' + l.name, onclick: () => { cart.lines.splice(i, 1); requote(); focusScan(); } }, '✕')),
    ));
  });
  renderPay();
}

function renderPay() {
  const pane = $('#pay');
  if (!pane) return;
  const q = cart.quote;
  const total = q ? q.total : cart.offline ? offlineTotal() : null;
  const cash = h('input', { id: 'cash', inputmode: 'decimal', placeholder: '0.00', 'data-field': 'payments' });
  const card = h('input', { id: 'card', inputmode: 'decimal', placeholder: '0.00' });
  const mobile = h('input', { id: 'mobile', inputmode: 'decimal', placeholder: '0.00' });
  const voucher = h('input', { id: 'voucher', inputmode: 'decimal', placeholder: '0.00' });
  const change = h('div', { id: 'change', class: 'totals' });
  const updateChange = () => {
    const amounts = [cash, card, mobile, voucher].map((i) => (i.value.trim() ? parseMoney(i.value) : 0));
    if (amounts.some((a) => a == null) || total == null) return change.replaceChildren();
    const paid = amounts.reduce((a, b) => a + b, 0);
    change.replaceChildren(h('div', {}, h('span', {}, paid >= total ? 'Change' : 'Still due'), h('strong', {}, money(Math.abs(paid - total)))));
  };
  // A quote (or going offline) redraws this pane: what the cashier already typed stays.
  const inputs = { cash, card, mobile, voucher };
  for (const [method, input] of Object.entries(inputs)) {
    input.value = cart.tendered[method] || '';
    input.addEventListener('input', () => { cart.tendered[method] = input.value; updateChange(); });
  }
  updateChange();
  const phone = h('input', { id: 'customer-phone', placeholder: 'Customer phone (optional)', inputmode: 'tel' });
  const customerLine = h('div', { class: 'muted' }, cart.customer ? `Customer: ${cart.customer.name} (${cart.customer.phone})` : '');
  phone.addEventListener('keydown', async (ev) => {
    if (ev.key !== 'Enter') return;
    ev.preventDefault();
    const r = await api('GET', '/customers?phone=' + encodeURIComponent(phone.value.trim())).catch(() => null);
    if (r?.status === 400) return toast(errorOf(r).message, true);
    let c = r?.data?.items?.[0];
    if (!c) {
      const name = prompt('New customer: name?');
      if (!name) return;
      const created = await api('POST', '/customers', { name, phone: phone.value.trim() });
      if (!created.ok) return toast(errorOf(created).message, true);
      c = created.data;
    }
    cart.customer = c;
    requote();
  });
  const form = h('form', { id: 'pay-form' },
    h('div', { class: 'totals' },
      q ? [h('div', {}, h('span', {}, 'Subtotal'), h('span', {}, money(q.subtotal))),
        q.discountTotal ? h('div', {}, h('span', {}, 'Discounts'), h('span', {}, '−' + money(q.discountTotal))) : null,
        ...q.taxBreakdown.map((b) => h('div', { class: 'muted' }, h('span', {}, `Tax ${b.rate / 100}%`), h('span', {}, money(b.tax))))] : null,
      h('div', { class: 'grand' }, h('span', {}, 'Total'), h('span', { id: 'total' }, total == null ? '—' : money(total))),
      cart.offline ? h('div', { class: 'error' }, 'Offline: the sale will be sent when the server is back.') : null,
      cart.error ? h('div', { class: 'error', id: 'cart-error' }, cart.error) : null,
    ),
    h('div', { class: 'pay-row' },
      h('div', {}, h('label', { for: 'cash' }, 'Cash tendered'), cash),
      h('div', {}, h('label', { for: 'card' }, 'Card'), card),
      h('div', {}, h('label', { for: 'mobile' }, 'Mobile'), mobile),
      h('div', {}, h('label', { for: 'voucher' }, 'Voucher'), voucher),
    ),
    change,
    h('div', { class: 'row', style: 'margin-top:.5rem' },
      h('button', { type: 'button', onclick: () => { if (total != null) { cash.value = ''; card.value = moneyInput(total); cart.tendered.cash = ''; cart.tendered.card = card.value; updateChange(); } } }, 'Card: exact'),
      h('button', { type: 'button', onclick: () => { if (total != null) { cash.value = moneyInput(total); cart.tendered.cash = cash.value; updateChange(); } } }, 'Cash: exact'),
    ),
    h('label', {}, 'Customer'), phone, customerLine,
    h('p', {}, h('button', { class: 'primary', type: 'submit', id: 'complete', disabled: !cart.lines.length || !!cart.error }, 'Complete sale')),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const payments = [];
    for (const [method, input] of [['cash', cash], ['card', card], ['mobile', mobile], ['voucher', voucher]]) {
      if (!input.value.trim()) continue;
      const amount = parseMoney(input.value);
      if (amount == null) return showFieldError(form, { field: 'payments', message: `${method}: not an amount` });
      if (amount > 0) payments.push({ method, amount });
    }
    await completeSale(payments, form);
  });
  pane.replaceChildren(form);
}

function moneyInput(minor) {
  const d = session.store?.currencyDecimals ?? 2;
  const s = String(minor).padStart(d + 1, '0');
  return d ? s.slice(0, -d) + '.' + s.slice(-d) : s;
}

async function completeSale(payments, form) {
  const offline = cart.offline;
  const body = { clientRef: uuid(), lines: saleLines(offline), payments };
  if (cart.customer) body.customerId = cart.customer.id;
  if (offline) { body.offline = true; body.soldAt = new Date().toISOString(); }
  const item = { clientRef: body.clientRef, store: session.me.storeId, body, createdAt: new Date().toISOString(), lines: cart.lines.map((l) => ({ name: l.name, qty: l.qty, price: l.price })), offline };
  // Written down before the request leaves: a sale is never lost.
  await outbox.put(item);
  refreshBadge();
  currentReceiptRef = item.clientRef;
  try {
    const sale = await sendSale(item);
    resetCart();
    showReceipt(sale);
  } catch (e) {
    if (e instanceof Offline) {
      resetCart();
      showProvisional(item);
    } else {
      await outbox.remove(item.clientRef);
      showFieldError(form, { field: 'payments', message: e.message });
    }
  } finally {
    refreshBadge();
  }
}

function resetCart() {
  cart.lines = []; cart.quote = null; cart.error = null; cart.customer = null; cart.tendered = {};
}

// ---------- receipts ----------

function receiptView(sale) {
  const s = session.store;
  return h('div', { class: 'receipt', id: 'receipt' },
    h('h2', {}, s.name),
    s.address ? h('div', { class: 'center' }, s.address) : null,
    s.taxId ? h('div', { class: 'center' }, 'Tax id ' + s.taxId) : null,
    h('hr'),
    h('div', {}, 'Invoice ', h('strong', { id: 'invoice' }, sale.invoiceNumber)),
    h('div', {}, localDate(sale.soldAt)),
    sale.status !== 'completed' ? h('div', {}, h('strong', {}, sale.status.toUpperCase())) : null,
    h('hr'),
    h('table', {}, sale.lines.map((l) => [
      h('tr', {}, h('td', { colspan: 2 }, l.name)),
      h('tr', {}, h('td', {}, `  ${l.quantity} × ${money(l.price)}`), h('td', { class: 'num' }, money(l.total))),
      l.discount ? h('tr', {}, h('td', {}, '  discount'), h('td', { class: 'num' }, '−' + money(l.discount))) : null,
    ])),
    h('hr'),
    h('table', {},
      sale.taxBreakdown.map((b) => h('tr', {}, h('td', {}, `Tax ${b.rate / 100}% on ${money(b.base)}`), h('td', { class: 'num' }, money(b.tax)))),
      h('tr', {}, h('td', {}, h('strong', {}, 'TOTAL')), h('td', { class: 'num' }, h('strong', {}, money(sale.total)))),
      sale.payments.map((p) => h('tr', {}, h('td', {}, p.method), h('td', { class: 'num' }, money(p.amount)))),
      sale.change ? h('tr', {}, h('td', {}, 'Change'), h('td', { class: 'num', id: 'receipt-change' }, money(sale.change))) : null,
    ),
    s.receiptFooter ? [h('hr'), h('div', { class: 'center' }, s.receiptFooter)] : null,
  );
}

function showReceipt(sale) {
  currentReceiptRef = null;
  const view = $('#view');
  view.replaceChildren(
    receiptView(sale),
    h('p', { class: 'no-print center', style: 'text-align:center' },
      h('button', { onclick: () => window.print() }, 'Print'), ' ',
      h('button', { class: 'primary', id: 'next-sale', onclick: () => go('sale') }, 'Next sale')),
  );
  $('#next-sale').focus();
}

function showProvisional(item) {
  const view = $('#view');
  view.replaceChildren(
    h('div', { class: 'receipt', id: 'receipt' },
      h('h2', {}, session.store.name),
      h('div', { class: 'center' }, 'PROVISIONAL — waiting for the server'),
      h('div', {}, 'Reference ', h('strong', { id: 'provisional-ref' }, item.clientRef.slice(0, 8).toUpperCase())),
      h('div', {}, localDate(item.createdAt)),
      h('hr'),
      h('table', {}, item.lines.map((l) => h('tr', {}, h('td', {}, `${l.name} × ${l.qty}`), h('td', { class: 'num' }, money(l.price))))),
      h('p', {}, 'The invoice number arrives when the sale reaches the server.'),
    ),
    h('p', { class: 'no-print' }, h('button', { class: 'primary', id: 'next-sale', onclick: () => go('sale') }, 'Next sale')),
  );
}

// ---------- after the sale: today's sales, the daily report ----------

async function salesView() {
  const box = h('div', { class: 'card' }, h('h2', {}, 'Sales today'));
  const waiting = (await outbox.all()).filter((i) => i.store === session.me.storeId);
  if (waiting.length) {
    box.append(h('h3', {}, 'Waiting for the server'), h('table', {}, waiting.map((w) => h('tr', {},
      h('td', {}, w.clientRef.slice(0, 8).toUpperCase()), h('td', {}, localDate(w.createdAt)), h('td', { class: 'error' }, w.error || 'waiting'),
      w.error ? h('td', {}, h('button', { class: 'danger', onclick: async () => { if (confirm('Discard this refused sale?')) { await outbox.remove(w.clientRef); go('sales'); } } }, 'Discard')) : h('td', {}),
    ))));
  }
  const d = today();
  const r = await api('GET', `/sales?from=${d}&to=${d}&limit=200`);
  const table = h('table', {}, h('tr', {}, h('th', {}, 'Invoice'), h('th', {}, 'Time'), h('th', {}, 'Status'), h('th', { class: 'num' }, 'Total'), h('th', {})));
  for (const s of r.data?.items || []) {
    table.append(h('tr', {}, h('td', {}, s.invoiceNumber), h('td', {}, localDate(s.soldAt)), h('td', {}, s.status), h('td', { class: 'num' }, money(s.total)),
      h('td', {}, h('button', { onclick: () => openSale(s.id) }, 'Open'))));
  }
  box.append(table);
  return box;
}

async function openSale(id) {
  const r = await api('GET', '/sales/' + id);
  if (!r.ok) return toast(errorOf(r).message, true);
  const sale = r.data;
  const manager = ['admin', 'manager'].includes(session.me.role);
  $('#view').replaceChildren(receiptView(sale), h('p', { class: 'no-print' },
    h('button', { onclick: () => window.print() }, 'Reprint'), ' ',
    manager && sale.status === 'completed' ? h('button', { class: 'danger', onclick: async () => {
      if (!confirm('Void this sale? Stock comes back.')) return;
      const v = await api('POST', `/sales/${id}/void`, {});
      v.ok ? openSale(id) : toast(errorOf(v).message, true);
    } }, 'Void') : null, ' ',
    manager && sale.status !== 'voided' && sale.status !== 'refunded' ? h('button', { onclick: () => refundAll(sale) }, 'Refund remaining (cash)') : null, ' ',
    h('button', { onclick: () => go('sales') }, 'Back')));
}

async function refundAll(sale) {
  const refunded = new Map();
  for (const rf of sale.refunds) for (const l of rf.lines) refunded.set(l.lineId, (refunded.get(l.lineId) || 0) + Math.round(l.quantity * 1000));
  const lines = sale.lines.map((l) => ({ lineId: l.id, quantity: (Math.round(l.quantity * 1000) - (refunded.get(l.id) || 0)) / 1000 })).filter((l) => l.quantity > 0);
  if (!lines.length) return;
  const refundedAmount = sale.refunds.reduce((a, r) => a + r.total, 0);
  const amount = sale.total - refundedAmount;
  if (!confirm(`Refund ${money(amount)} in cash?`)) return;
  const r = await api('POST', `/sales/${sale.id}/refunds`, { clientRef: uuid(), lines, payments: amount ? [{ method: 'cash', amount }] : [] });
  r.ok ? openSale(sale.id) : toast(errorOf(r).message, true);
}

async function reportView() {
  const input = h('input', { type: 'date', value: today() });
  const out = h('div');
  const load = async () => {
    const r = await api('GET', '/reports/daily?date=' + input.value);
    if (!r.ok) return out.replaceChildren(h('div', { class: 'error' }, errorOf(r).message));
    const x = r.data;
    out.replaceChildren(h('div', { class: 'receipt', id: 'report' },
      h('h2', {}, `${session.store.name} — ${x.date}`),
      h('table', {},
        [['Sales', x.salesCount], ['Gross', money(x.grossSales)], ['Discounts', money(x.discounts)], ['Tax', money(x.tax)], ['Refunds', money(x.refunds)], ['Net', money(x.netSales)],
          ...Object.entries(x.byPaymentMethod).map(([m, v]) => [m, money(v)]),
          ['Voids', `${x.voids.count} (${money(x.voids.total)})`], ['Offline price differences', x.offlinePriceDifferences],
          ['First invoice', x.firstInvoice || '—'], ['Last invoice', x.lastInvoice || '—']].map(([k, v]) => h('tr', {}, h('td', {}, k), h('td', { class: 'num' }, v)))),
    ), h('p', { class: 'no-print' }, h('button', { onclick: () => window.print() }, 'Print')));
  };
  input.addEventListener('change', load);
  load();
  return h('div', { class: 'card' }, h('h2', {}, 'Daily report'), h('div', { class: 'no-print' }, input), out);
}

// ---------- back office ----------

async function options(kind) {
  const r = await api('GET', `/${kind}?limit=200`);
  return r.data?.items || [];
}

async function productsView() {
  const search = h('input', { placeholder: 'Search name, sku or barcode' });
  const list = h('table');
  const load = async () => {
    const r = await api('GET', '/products?limit=100' + (search.value.trim() ? '&q=' + encodeURIComponent(search.value.trim()) : ''));
    list.replaceChildren(h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Barcode'), h('th', { class: 'num' }, 'Price'), h('th', { class: 'num' }, 'Stock'), h('th', {}, 'Status'), h('th', {})));
    for (const p of r.data?.items || []) {
      list.append(h('tr', {}, h('td', {}, p.name), h('td', {}, p.barcode || ''), h('td', { class: 'num' }, money(p.price)), h('td', { class: 'num' }, p.stock), h('td', {}, p.status),
        h('td', {}, h('button', { onclick: () => productForm(p) }, 'Edit'))));
    }
  };
  search.addEventListener('input', () => { clearTimeout(search.t); search.t = setTimeout(load, 200); });
  load();
  const named = h('div', { class: 'grid2' }, ...['categories', 'brands', 'units'].map(namedBox));
  return h('div', {}, h('div', { class: 'card' }, h('div', { class: 'row' }, h('h2', {}, 'Products'), h('button', { class: 'primary', id: 'new-product', onclick: () => productForm(null) }, 'New product')), search, list), h('p'), named);
}

function namedBox(kind) {
  const list = h('ul');
  const input = h('input', { placeholder: `New ${kind.replace(/s$/, '').replace(/ie$/, 'y')}`, 'data-field': 'name' });
  const form = h('form', { class: 'card' }, h('h3', {}, kind[0].toUpperCase() + kind.slice(1)), list, input);
  const load = async () => {
    list.replaceChildren(...(await options(kind)).map((x) => h('li', {}, x.name, ' ', h('button', { class: 'link', onclick: async (ev) => {
      ev.preventDefault();
      const r = await api('DELETE', `/${kind}/${x.id}`);
      r.ok ? load() : toast(errorOf(r).message, true);
    } }, 'delete'))));
  };
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await api('POST', '/' + kind, { name: input.value });
    if (!r.ok) return showFieldError(form, errorOf(r));
    input.value = '';
    form.querySelectorAll('.field-error').forEach((e) => e.remove());
    load();
  });
  load();
  return form;
}

async function productForm(p) {
  const [cats, brands, units] = await Promise.all([options('categories'), options('brands'), options('units')]);
  const sel = (name, items, value) => h('select', { name, 'data-field': name }, h('option', { value: '' }, '—'), items.map((x) => h('option', { value: x.id, selected: x.id === value }, x.name)));
  const input = (name, value, attrs = {}) => h('input', { name, 'data-field': name, value: value ?? '', ...attrs });
  const packs = h('div', { id: 'packs' });
  const addPack = (u = {}) => {
    const i = packs.children.length;
    packs.append(h('div', { class: 'row pack' },
      h('div', {}, h('label', {}, 'Pack unit'), sel(`units[${i}].unitId`, units, u.unitId)),
      h('div', {}, h('label', {}, 'Barcode'), input(`units[${i}].barcode`, u.barcode)),
      h('div', {}, h('label', {}, 'Factor'), input(`units[${i}].factor`, u.factor ?? 6, { inputmode: 'numeric' })),
      h('div', {}, h('label', {}, 'Price'), input(`units[${i}].price`, u.priceSet ? moneyInput(u.price) : '', { inputmode: 'decimal' }))));
  };
  (p?.units || []).forEach(addPack);
  const form = h('form', { class: 'card', id: 'product-form' },
    h('h2', {}, p ? 'Edit ' + p.name : 'New product'),
    h('label', {}, 'Name'), input('name', p?.name),
    h('div', { class: 'row' },
      h('div', {}, h('label', {}, 'Barcode'), input('barcode', p?.barcode)),
      h('div', {}, h('label', {}, 'Alternate barcodes (comma separated)'), input('alternateBarcodes', (p?.alternateBarcodes || []).join(', '))),
      h('div', {}, h('label', {}, 'SKU'), input('sku', p?.sku))),
    h('div', { class: 'row' },
      h('div', {}, h('label', {}, 'Price'), input('price', p ? moneyInput(p.price) : '', { inputmode: 'decimal' })),
      h('div', {}, h('label', {}, 'Cost'), input('cost', p?.cost != null ? moneyInput(p.cost) : '', { inputmode: 'decimal' })),
      h('div', {}, h('label', {}, 'Tax rate %'), input('taxRate', p ? String(p.taxRate / 100) : '0', { inputmode: 'decimal' })),
      h('div', {}, h('label', {}, p ? 'Stock (a stocktake)' : 'Opening stock'), input('stock', p ? p.stock : '', { inputmode: 'decimal' }))),
    h('div', { class: 'row' },
      h('div', {}, h('label', {}, 'Category'), sel('categoryId', cats, p?.categoryId)),
      h('div', {}, h('label', {}, 'Brand'), sel('brandId', brands, p?.brandId)),
      h('div', {}, h('label', {}, 'Base unit'), sel('unitId', units, p?.unitId)),
      h('div', {}, h('label', {}, 'Status'), h('select', { name: 'status', 'data-field': 'status' }, ['active', 'inactive'].map((s) => h('option', { selected: p?.status === s }, s))))),
    h('label', {}, h('input', { type: 'checkbox', name: 'showInQuickProducts', checked: !!p?.showInQuickProducts, style: 'width:auto;min-height:auto' }), ' Quick product button'),
    h('h3', {}, 'Packs'), packs, h('button', { type: 'button', onclick: () => addPack() }, 'Add pack'),
    h('p', {}, h('button', { class: 'primary', type: 'submit' }, 'Save'), ' ', h('button', { type: 'button', onclick: () => go('products') }, 'Cancel'),
      p ? h('button', { type: 'button', class: 'danger', onclick: async () => { if (confirm('Delete ' + p.name + '?')) { const r = await api('DELETE', '/products/' + p.id); r.ok ? go('products') : toast(errorOf(r).message, true); } } }, 'Delete') : null),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const moneyField = (name) => { const v = String(f.get(name) || '').trim(); if (!v) return null; const m = parseMoney(v); if (m == null) throw { field: name, message: 'not an amount' }; return m; };
    try {
      const tax = String(f.get('taxRate') || '0').trim();
      if (!/^\d+(\.\d{1,2})?$/.test(tax)) throw { field: 'taxRate', message: 'a percentage such as 19 or 7.5' };
      const body = {
        name: f.get('name'), barcode: String(f.get('barcode') || '').trim() || null, sku: String(f.get('sku') || '').trim() || null,
        price: moneyField('price'), cost: moneyField('cost'), taxRate: Math.round(Number(tax) * 100),
        categoryId: f.get('categoryId') || null, brandId: f.get('brandId') || null, unitId: f.get('unitId') || null,
        status: f.get('status'), showInQuickProducts: f.get('showInQuickProducts') === 'on',
        alternateBarcodes: String(f.get('alternateBarcodes') || '').split(',').map((s) => s.trim()).filter(Boolean),
        units: [...packs.children].map((_, i) => ({ unitId: f.get(`units[${i}].unitId`), barcode: String(f.get(`units[${i}].barcode`) || '').trim() || null, factor: Number(f.get(`units[${i}].factor`)), price: moneyField(`units[${i}].price`) })).filter((u) => u.unitId),
      };
      const stock = String(f.get('stock') || '').trim();
      if (stock && (!p || stock !== String(p.stock))) body.stock = Number(stock);
      if (body.price == null) delete body.price;
      const r = p ? await api('PATCH', '/products/' + p.id, body) : await api('POST', '/products', body);
      if (!r.ok) return showFieldError(form, errorOf(r));
      toast('Saved');
      go('products');
    } catch (err) {
      if (err instanceof Offline) return toast(err.message, true);
      showFieldError(form, err);
    }
  });
  $('#view').replaceChildren(form);
}

async function customersView() {
  const search = h('input', { placeholder: 'Search name or phone' });
  const list = h('table');
  const load = async () => {
    const r = await api('GET', '/customers?limit=100' + (search.value.trim() ? '&q=' + encodeURIComponent(search.value.trim()) : ''));
    list.replaceChildren(...(r.data?.items || []).map((c) => h('tr', {}, h('td', {}, c.name), h('td', {}, c.phone), h('td', {}, c.email || ''))));
  };
  search.addEventListener('input', () => { clearTimeout(search.t); search.t = setTimeout(load, 200); });
  const form = h('form', { class: 'row' }, h('input', { name: 'name', placeholder: 'Name', 'data-field': 'name' }), h('input', { name: 'phone', placeholder: 'Phone', 'data-field': 'phone' }), h('input', { name: 'email', placeholder: 'Email', 'data-field': 'email' }), h('button', { class: 'primary' }, 'Add'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const r = await api('POST', '/customers', { name: f.get('name'), phone: f.get('phone'), email: f.get('email') || null });
    if (!r.ok) return showFieldError(form, errorOf(r));
    form.reset(); load();
  });
  load();
  return h('div', { class: 'card' }, h('h2', {}, 'Customers'), form, search, list);
}

async function usersView() {
  const list = h('table');
  const load = async () => {
    const r = await api('GET', '/users?limit=200');
    list.replaceChildren(...(r.data?.items || []).map((u) => {
      const role = h('select', {}, ['admin', 'manager', 'cashier'].map((x) => h('option', { selected: u.role === x }, x)));
      role.addEventListener('change', async () => { const x = await api('PATCH', '/users/' + u.id, { role: role.value }); x.ok ? toast('Saved') : (toast(errorOf(x).message, true), load()); });
      return h('tr', {}, h('td', {}, u.name), h('td', {}, u.email), h('td', {}, role), h('td', {}, u.active ? 'active' : 'inactive'),
        h('td', {}, h('button', { onclick: async () => { const x = await api('PATCH', '/users/' + u.id, { active: !u.active }); x.ok ? load() : toast(errorOf(x).message, true); } }, u.active ? 'Deactivate' : 'Activate')));
    }));
  };
  const form = h('form', { class: 'row' },
    h('input', { name: 'name', placeholder: 'Name', 'data-field': 'name' }), h('input', { name: 'email', placeholder: 'Email', 'data-field': 'email' }),
    h('select', { name: 'role', 'data-field': 'role' }, ['cashier', 'manager', 'admin'].map((x) => h('option', {}, x))),
    h('input', { name: 'password', type: 'password', placeholder: 'Password (10+)', 'data-field': 'password' }), h('button', { class: 'primary' }, 'Add user'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const r = await api('POST', '/users', Object.fromEntries(f));
    if (!r.ok) return showFieldError(form, errorOf(r));
    form.reset(); load();
  });
  load();
  return h('div', { class: 'card' }, h('h2', {}, 'Users'), form, list);
}

async function settingsView() {
  const s = (await api('GET', '/store')).data;
  const input = (name, value) => h('input', { name, 'data-field': name, value: value ?? '' });
  const form = h('form', { class: 'card' }, h('h2', {}, 'Store settings'),
    h('label', {}, 'Name'), input('name', s.name),
    h('label', {}, 'Timezone'), input('timezone', s.timezone),
    h('label', {}, 'Invoice prefix'), input('invoicePrefix', s.invoicePrefix),
    h('label', {}, 'Address'), input('address', s.address),
    h('label', {}, 'Tax id'), input('taxId', s.taxId),
    h('label', {}, 'Receipt footer'), input('receiptFooter', s.receiptFooter),
    h('label', {}, h('input', { type: 'checkbox', name: 'pricesIncludeTax', checked: s.pricesIncludeTax, style: 'width:auto;min-height:auto' }), ' Prices include tax'),
    h('p', { class: 'muted' }, `Currency ${s.currency} (${s.currencyDecimals} decimals)`),
    h('button', { class: 'primary' }, 'Save'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const body = { name: f.get('name'), timezone: f.get('timezone'), invoicePrefix: f.get('invoicePrefix'), address: f.get('address') || null, taxId: f.get('taxId') || null, receiptFooter: f.get('receiptFooter') || null, pricesIncludeTax: f.get('pricesIncludeTax') === 'on' };
    const r = await api('PATCH', '/store', body);
    if (!r.ok) return showFieldError(form, errorOf(r));
    session.store = r.data;
    toast('Saved');
  });
  return form;
}

// ---------- navigation ----------

const screens = {
  sale: { title: 'Sale', roles: ['admin', 'manager', 'cashier'], view: saleView },
  sales: { title: 'Sales', roles: ['admin', 'manager', 'cashier'], view: salesView },
  report: { title: 'Report', roles: ['admin', 'manager'], view: reportView },
  products: { title: 'Products', roles: ['admin', 'manager'], view: productsView },
  customers: { title: 'Customers', roles: ['admin', 'manager', 'cashier'], view: customersView },
  users: { title: 'Users', roles: ['admin'], view: usersView },
  settings: { title: 'Settings', roles: ['admin'], view: settingsView },
};

async function go(name) {
  const screen = screens[name];
  if (!screen || !screen.roles.includes(session.me.role)) return go('sale');
  location.hash = name;
  document.querySelectorAll('#nav button').forEach((b) => b.classList.toggle('active', b.dataset.screen === name));
  try {
    $('#view').replaceChildren(await screen.view());
  } catch (e) {
    $('#view').replaceChildren(h('div', { class: 'card error' }, e instanceof Offline ? 'The server cannot be reached. The sale screen keeps working.' : String(e)));
  }
}

async function render() {
  const top = $('#top');
  if (!session.token) {
    top.hidden = true;
    $('#view').replaceChildren(loginView());
    return;
  }
  try {
    const me = await api('GET', '/auth/me');
    if (!me.ok) return logout();
    session.me = me.data;
    if (!session.me.storeId) {
      $('#view').replaceChildren(h('div', { class: 'card' }, 'Platform admins manage stores through the API; the terminal is for store accounts.', h('p', {}, h('button', { onclick: logout }, 'Log out'))));
      return;
    }
    session.store = (await api('GET', '/store')).data;
    localStorage.setItem('tills.me', JSON.stringify(session.me));
    localStorage.setItem('tills.storeSettings', JSON.stringify(session.store));
  } catch (e) {
    if (!(e instanceof Offline)) throw e;
    // Offline at start-up: keep selling with what this terminal knew.
    session.me = JSON.parse(localStorage.getItem('tills.me') || 'null');
    session.store = JSON.parse(localStorage.getItem('tills.storeSettings') || 'null');
    if (!session.me || !session.store) return $('#view').replaceChildren(h('div', { class: 'card error' }, 'The server cannot be reached.'));
  }
  top.hidden = false;
  $('#store-name').textContent = session.store.name;
  $('#who').textContent = `${session.me.name} (${session.me.role})`;
  $('#nav').replaceChildren(...Object.entries(screens).filter(([, s]) => s.roles.includes(session.me.role))
    .map(([k, s]) => h('button', { 'data-screen': k, onclick: () => go(k) }, s.title)));
  refreshBadge();
  flushOutbox();
  go(location.hash.slice(1) || 'sale');
}

$('#logout').addEventListener('click', logout);
render();
