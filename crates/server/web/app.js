// Tills terminal: the cashier's sale screen and the back office, in plain JavaScript modules
// without a build step. This module signs in and out, keeps the header (who, offline, waiting
// sales) and moves between screens; each screen lives in its own module (sale.js, sales.js,
// shift.js, backoffice.js), every API call goes through api.js (a manager's approval through
// approval.js), and sales wait for the server in outbox.js (IndexedDB).

import { $, h, showFieldError, toast, nav, closeAsk } from './dom.js';
import { api, auth, errorOf, net, Offline, probe, session } from './api.js';
import { outbox, flushOutbox, outboxEvents } from './outbox.js';
import { catalog, openCatalog, syncCatalog } from './catalog.js';
import { saleView, saleState, resetCart } from './sale.js';
import { showReceipt } from './receipt.js';
import { salesView } from './sales.js';
import { drawerView, loadShift, forgetShift } from './shift.js';
import { reportView, productsView, customersView, usersView, settingsView } from './backoffice.js';

// ---------- the header: offline state and waiting sales ----------

async function refreshBadge() {
  const badge = $('#outbox-badge');
  const { waiting, refused } = session.me?.storeId ? await outbox.counts() : { waiting: 0, refused: 0 };
  const parts = [];
  if (waiting) parts.push(`${waiting} waiting`);
  if (refused) parts.push(`${refused} needs a manager`);
  badge.hidden = parts.length === 0;
  badge.textContent = parts.join(' · ');
  badge.classList.toggle('bad', refused > 0);
  badge.title = refused ? 'The server refused a sale: a manager resolves it under Sales' : 'Sales waiting for the server';
  const state = $('#net-state');
  state.hidden = net.online || !session.me;
  state.textContent = `Offline — ${waiting} sale${waiting === 1 ? '' : 's'} waiting`;
  state.title = net.reason ? `Offline: ${net.reason}. Sales are kept on this till and sent when the server is back.` : '';
}

net.listeners.add((online) => {
  refreshBadge();
  if (online) { flushOutbox(); syncCatalog().catch(() => {}); }
});

// ---------- login and logout ----------

// Forgets everything of the user who leaves: token, user, store, cart, screen, dialogs.
function logout() {
  session.token = null;
  session.me = null;
  session.store = null;
  localStorage.removeItem('tills.me');
  localStorage.removeItem('tills.storeSettings');
  forgetShift();
  resetCart();
  catalog.clear();
  saleState.currentReceiptRef = null;
  closeAsk();
  history.replaceState(null, '', location.pathname);
  render();
}

function loginView() {
  const remembered = localStorage.getItem('tills.store') || '';
  const field = (id, label, attrs) => [h('label', { for: id }, label), h('input', { id, ...attrs })];
  const form = h('form', { class: 'card login' },
    h('h1', {}, 'Tills'),
    field('login-store', 'Store', { name: 'store', autocomplete: 'organization', 'data-field': 'store', value: remembered }),
    field('login-email', 'Email', { name: 'email', type: 'email', autocomplete: 'username', required: true }),
    field('login-password', 'Password', { name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
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
  // The first field to fill has the focus: the store, or the email when the store is known.
  setTimeout(() => (remembered ? form.elements.email : form.elements.store).focus());
  return form;
}

// ---------- navigation ----------

const screens = {
  sale: { title: 'Sale', roles: ['admin', 'manager', 'cashier'], view: saleView },
  sales: { title: 'Sales', roles: ['admin', 'manager', 'cashier'], view: salesView },
  drawer: { title: 'Drawer', roles: ['admin', 'manager', 'cashier'], view: drawerView },
  report: { title: 'Report', roles: ['admin', 'manager'], view: reportView },
  products: { title: 'Products', roles: ['admin', 'manager'], view: productsView },
  customers: { title: 'Customers', roles: ['admin', 'manager', 'cashier'], view: customersView },
  users: { title: 'Users', roles: ['admin'], view: usersView },
  settings: { title: 'Settings', roles: ['admin'], view: settingsView },
};

async function go(name) {
  if (!session.me?.storeId) return;
  const screen = screens[name];
  if (!screen || !screen.roles.includes(session.me.role)) return go('sale');
  if (location.hash !== '#' + name) history.replaceState(null, '', '#' + name);
  document.querySelectorAll('#nav button').forEach((b) => b.classList.toggle('active', b.dataset.screen === name));
  const me = session.me;
  try {
    const view = await screen.view();
    if (session.me === me) $('#view').replaceChildren(view);
  } catch (e) {
    if (session.me !== me) return;
    $('#view').replaceChildren(h('div', { class: 'card error' }, e instanceof Offline ? 'The server cannot be reached. The sale screen keeps working.' : String(e)));
  }
}

function showHeader(show) {
  $('#top').hidden = !show;
  if (!show) { $('#nav').replaceChildren(); $('#who').textContent = ''; }
}

async function render() {
  if (!session.token) {
    showHeader(false);
    $('#view').replaceChildren(loginView());
    refreshBadge();
    return;
  }
  const token = session.token;
  try {
    const me = await api('GET', '/auth/me');
    if (session.token !== token) return;
    if (!me.ok) return logout();
    session.me = me.data;
    if (!session.me.storeId) {
      showHeader(false);
      $('#view').replaceChildren(h('div', { class: 'card' }, 'Platform admins manage stores through the API; the terminal is for store accounts.', h('p', {}, h('button', { type: 'button', onclick: logout }, 'Log out'))));
      return;
    }
    const store = await api('GET', '/store');
    if (session.token !== token) return;
    session.store = store.data;
    localStorage.setItem('tills.me', JSON.stringify(session.me));
    localStorage.setItem('tills.storeSettings', JSON.stringify(session.store));
    await loadShift();
    if (session.token !== token) return;
    api('GET', '/units?limit=200').then((r) => { if (r.ok && session.token === token) catalog.setUnits(r.data.items); }).catch(() => {});
  } catch (e) {
    if (!(e instanceof Offline)) throw e;
    // Offline at start-up: keep selling with what this terminal knew.
    session.me = JSON.parse(localStorage.getItem('tills.me') || 'null');
    session.store = JSON.parse(localStorage.getItem('tills.storeSettings') || 'null');
    if (!session.me || !session.store) { showHeader(false); return $('#view').replaceChildren(h('div', { class: 'card error' }, 'The server cannot be reached.')); }
  }
  showHeader(true);
  $('#store-name').textContent = session.store.name;
  $('#who').textContent = `${session.me.name} (${session.me.role})`;
  $('#nav').replaceChildren(...Object.entries(screens).filter(([, s]) => s.roles.includes(session.me.role))
    .map(([k, s]) => h('button', { type: 'button', 'data-screen': k, onclick: () => go(k) }, s.title)));
  refreshBadge();
  openCatalog();
  if (net.online) { flushOutbox(); syncCatalog().catch(() => {}); }
  go(location.hash.slice(1) || 'sale');
}

// ---------- wiring ----------

auth.onUnauthorized = logout;
saleState.refreshBadge = refreshBadge;
nav.go = go;
nav.refreshBadge = refreshBadge;
outboxEvents.sent = (item, sale) => {
  if (saleState.currentReceiptRef === item.clientRef && $('#provisional-ref')) {
    saleState.currentReceiptRef = null;
    showReceipt(sale, { customer: item.customer });
  }
  toast(`Waiting sale sent: ${sale.invoiceNumber}`);
};
outboxEvents.changed = refreshBadge;

// Every 3 s: a till that is offline asks whether the server is back; one that is online sends
// what waits.
setInterval(async () => {
  if (!session.me?.storeId) return;
  if (!net.online) await probe();
  if (net.online) flushOutbox();
}, 3000);
window.addEventListener('online', () => probe());
// The catalog copy follows the server's changes: one small request a minute when nothing changed.
setInterval(() => { if (session.me?.storeId && net.online) syncCatalog().catch(() => {}); }, 60_000);

// Installable and offline: the service worker keeps the app shell. A new release's worker takes
// over and the page reloads once, so the screen never runs files of two versions.
if ('serviceWorker' in navigator) {
  // The first worker takes a page that had none: nothing to reload. A later one replaces a release.
  let controller = navigator.serviceWorker.controller;
  navigator.serviceWorker.register('/sw.js').catch((e) => console.warn('no service worker', e));
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (controller) location.reload();
    controller = navigator.serviceWorker.controller;
  });
}

$('#logout').addEventListener('click', logout);
render();
