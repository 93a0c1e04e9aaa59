// The back office: the daily report, products, categories, brands, units, customers, users, settings.

import { $, h, toast, showFieldError, clearFieldErrors, nav, ask } from './dom.js';
import { api, errorOf, Offline, session } from './api.js';
import { money, parseMoney, moneyInput, today } from './format.js';

export async function reportView() {
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

export async function productsView() {
  const search = h('input', { placeholder: 'Search name, sku or barcode', 'aria-label': 'Search products' });
  const list = h('table', { id: 'products' });
  const more = h('button', { type: 'button', id: 'more-products', hidden: true }, 'Show more');
  let cursor = null;
  let generation = 0;
  // A page of 100 at a time; "Show more" follows the server's cursor to the end of the catalog.
  const load = async (next = false) => {
    const mine = next ? generation : ++generation;
    const q = search.value.trim();
    const r = await api('GET', '/products?limit=100' + (q ? '&q=' + encodeURIComponent(q) : '') + (next && cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
    if (mine !== generation) return;
    if (!r.ok) return toast(errorOf(r).message, true);
    if (!next) list.replaceChildren(h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Barcode'), h('th', { class: 'num' }, 'Price'), h('th', { class: 'num' }, 'Stock'), h('th', {}, 'Status'), h('th', {})));
    for (const p of r.data.items) {
      list.append(h('tr', { 'data-product': p.id }, h('td', {}, p.name), h('td', {}, p.barcode || ''), h('td', { class: 'num' }, money(p.price)), h('td', { class: 'num' }, p.stock), h('td', {}, p.status),
        h('td', {}, h('button', { type: 'button', onclick: () => productForm(p) }, 'Edit'))));
    }
    cursor = r.data.nextCursor;
    more.hidden = !cursor;
  };
  more.addEventListener('click', () => load(true));
  search.addEventListener('input', () => { clearTimeout(search.t); search.t = setTimeout(() => load(), 200); });
  load();
  const named = h('div', { class: 'grid2' }, ...['categories', 'brands', 'units'].map(namedBox));
  return h('div', {}, h('div', { class: 'card' }, h('div', { class: 'row' }, h('h2', {}, 'Products'), h('button', { type: 'button', class: 'primary', id: 'new-product', onclick: () => productForm(null) }, 'New product')), search, list, more), h('p'), named);
}

const SINGULAR = { categories: 'category', brands: 'brand', units: 'unit' };

// A list of categories, brands or units: add by name (Enter or "Add"), delete after a question
// that names what goes.
function namedBox(kind) {
  const one = SINGULAR[kind];
  const list = h('ul');
  const input = h('input', { name: 'name', placeholder: `New ${one}`, 'data-field': 'name', autocomplete: 'off', 'aria-label': `New ${one}` });
  const form = h('form', { class: 'card named', 'data-kind': kind }, h('h3', {}, kind[0].toUpperCase() + kind.slice(1)), list,
    h('div', { class: 'row' }, input, h('button', { type: 'submit', class: 'primary', style: 'flex:0 0 auto' }, 'Add')));
  const load = async () => {
    list.replaceChildren(...(await options(kind)).map((x) => h('li', {}, h('span', { class: 'name' }, x.name), h('button', { type: 'button', class: 'link delete', 'aria-label': `Delete ${one} ${x.name}`, onclick: async () => {
      if (!await ask(`Delete the ${one} "${x.name}"?`, { ok: 'Delete', danger: true })) return;
      const r = await api('DELETE', `/${kind}/${x.id}`);
      r.ok ? load() : toast(errorOf(r).message, true);
    } }, 'delete'))));
  };
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await api('POST', '/' + kind, { name: input.value });
    if (!r.ok) return showFieldError(form, errorOf(r));
    input.value = '';
    clearFieldErrors(form);
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
    h('p', {}, h('button', { class: 'primary', type: 'submit' }, 'Save'), ' ', h('button', { type: 'button', onclick: () => nav.go('products') }, 'Cancel'),
      p ? h('button', { type: 'button', class: 'danger', onclick: async () => { if (await ask(`Delete the product "${p.name}"? It is gone from scans and lists; past sales keep their lines.`, { ok: 'Delete', danger: true })) { const r = await api('DELETE', '/products/' + p.id); r.ok ? nav.go('products') : toast(errorOf(r).message, true); } } }, 'Delete') : null),
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
      nav.go('products');
    } catch (err) {
      if (err instanceof Offline) return toast(err.message, true);
      showFieldError(form, err);
    }
  });
  $('#view').replaceChildren(form);
}

export async function customersView() {
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
    form.reset(); clearFieldErrors(form); load();
  });
  load();
  return h('div', { class: 'card' }, h('h2', {}, 'Customers'), form, search, list);
}

export async function usersView() {
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
    form.reset(); clearFieldErrors(form); load();
  });
  load();
  return h('div', { class: 'card' }, h('h2', {}, 'Users'), form, list);
}

export async function settingsView() {
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
    localStorage.setItem('tills.storeSettings', JSON.stringify(r.data));
    clearFieldErrors(form);
    toast('Saved');
  });
  return form;
}

