// Money, quantities and dates as the store shows them (its currency, decimals and timezone).

import { session } from './api.js';

const decimals = () => session.store?.currencyDecimals ?? 2;

// Minor units → "€12.34" in the store's currency.
export function money(minor) {
  const d = decimals();
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

// "12.34" in major units → minor units, exactly (no float arithmetic); null when not an amount.
export function parseMoney(text) {
  const d = decimals();
  const m = String(text).trim().replace(',', '.').match(/^(\d+)(?:\.(\d*))?$/);
  if (!m) return null;
  const frac = (m[2] || '').padEnd(d, '0');
  if (frac.length > d) return null;
  return Number(m[1]) * 10 ** d + Number(frac || 0);
}

// Minor units → "12.34", as typed in an input.
export function moneyInput(minor) {
  const d = decimals();
  const neg = minor < 0;
  const s = String(Math.abs(minor)).padStart(d + 1, '0');
  return (neg ? '-' : '') + (d ? s.slice(0, -d) + '.' + s.slice(-d) : s);
}

export const validQty = (s) => /^\d+(\.\d{1,3})?$/.test(String(s).trim()) && Number(s) > 0;

export function localDate(iso) {
  return new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short', timeZone: session.store?.timezone || 'UTC' }).format(new Date(iso));
}

// Today in the store's timezone, YYYY-MM-DD.
export function today() {
  return new Intl.DateTimeFormat('en-CA', { timeZone: session.store?.timezone || 'UTC', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
}
