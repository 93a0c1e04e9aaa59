// API.md's "Money rules", the same as the server's (crates/domain/src/pricing.rs), for totals
// the till shows while the server is away. Integers only: BigInt inside, so no figure the
// server accepts can lose a digit. Pure: no DOM, no API; Node runs it against the shared test
// vectors (crates/domain/tests/vectors/pricing.json) that the Rust tests run too.

const LIMIT = 10_000_000_000_000n;

// num / den rounded to the nearest integer, halves away from zero; den > 0. BigInt in, BigInt out.
export function divRoundHalfUp(num, den) {
  const q = num / den;
  const r = num % den;
  const abs = r < 0n ? -r : r;
  if (2n * abs >= den) return q + (num < 0n ? -1n : 1n);
  return q;
}

function fits(v) {
  if ((v < 0n ? -v : v) > LIMIT) throw new PricingError('too_large', 'a figure beyond what Tills accepts');
  return Number(v);
}

export class PricingError extends Error {
  constructor(code, message, line) {
    super(message);
    this.code = code;
    this.line = line;
  }
}

// Spreads `amount` over `weights` in proportion, largest remainders first (ties: the earlier line).
export function spread(amount, weights) {
  const total = weights.reduce((a, w) => a + BigInt(w), 0n);
  if (amount === 0 || total === 0n) return weights.map(() => 0);
  const shares = [];
  const remainders = [];
  weights.forEach((w, i) => {
    const exact = BigInt(amount) * BigInt(w);
    shares.push(exact / total);
    remainders.push([exact % total, i]);
  });
  let left = BigInt(amount) - shares.reduce((a, s) => a + s, 0n);
  remainders.sort((a, b) => (a[0] === b[0] ? a[1] - b[1] : a[0] > b[0] ? -1 : 1));
  for (const [, i] of remainders) {
    if (left === 0n) break;
    shares[i] += 1n;
    left -= 1n;
  }
  return shares.map(Number);
}

// Prices a cart. lines: [{ price, quantityMilli, discount = 0, taxRate, grossOverride = null }]
// (minor units, thousandths, basis points). Answers { lines: [{gross, discount, net, tax,
// total}], subtotal, discountTotal, taxTotal, total, taxBreakdown: [{rate, base, tax}] }.
export function price(lines, saleDiscount, pricesIncludeTax) {
  const gross = [];
  const net = [];
  lines.forEach((l, i) => {
    const g = fits(l.grossOverride != null ? BigInt(l.grossOverride) : divRoundHalfUp(BigInt(l.price) * BigInt(l.quantityMilli), 1000n));
    const d = l.discount || 0;
    if (d > g) throw new PricingError('line_discount_too_large', 'a line discount above its gross', i);
    gross.push(g);
    net.push(g - d);
  });
  if (BigInt(saleDiscount) > net.reduce((a, n) => a + BigInt(n), 0n)) {
    throw new PricingError('sale_discount_too_large', 'the sale discount is above what the lines come to');
  }
  const shares = spread(saleDiscount, net);
  const out = [];
  const bands = new Map();
  lines.forEach((l, i) => {
    const n = net[i] - shares[i];
    const rate = BigInt(l.taxRate);
    const tax = fits(pricesIncludeTax ? divRoundHalfUp(BigInt(n) * rate, 10000n + rate) : divRoundHalfUp(BigInt(n) * rate, 10000n));
    const total = pricesIncludeTax ? n : fits(BigInt(n) + BigInt(tax));
    const base = pricesIncludeTax ? n - tax : n;
    const band = bands.get(l.taxRate) || { base: 0n, tax: 0n };
    band.base += BigInt(base);
    band.tax += BigInt(tax);
    bands.set(l.taxRate, band);
    out.push({ gross: gross[i], discount: (l.discount || 0) + shares[i], net: n, tax, total });
  });
  const sum = (f) => fits(out.reduce((a, x) => a + BigInt(f(x)), 0n));
  return {
    lines: out,
    subtotal: sum((x) => x.gross),
    discountTotal: sum((x) => x.discount),
    taxTotal: sum((x) => x.tax),
    total: sum((x) => x.total),
    taxBreakdown: [...bands.entries()].sort((a, b) => a[0] - b[0]).map(([rate, b]) => ({ rate, base: fits(b.base), tax: fits(b.tax) })),
  };
}

// The quantity (thousandths) a price label sells: round_half_up(label × 1000 / unit price); 1000
// when the product has no price.
export function quantityForPriceLabel(labelPrice, unitPrice) {
  if (unitPrice <= 0) return 1000;
  return Number(divRoundHalfUp(BigInt(labelPrice) * 1000n, BigInt(unitPrice)));
}

// What a refund of `refundMilli` of a line gives back: total × refunded ÷ sold, half up; the
// refund that completes the line takes exactly what remains.
export function refundAmount(lineTotal, soldMilli, alreadyMilli, alreadyAmount, refundMilli) {
  if (alreadyMilli + refundMilli >= soldMilli) return lineTotal - alreadyAmount;
  return Number(divRoundHalfUp(BigInt(lineTotal) * BigInt(refundMilli), BigInt(soldMilli)));
}

// "1.5" or 1.5 → 1500 thousandths, exactly from the text; null when it has more than 3 decimals.
export function toMilli(q) {
  const m = String(q).trim().match(/^(\d+)(?:\.(\d{0,3}))?$/);
  if (!m) return null;
  return Number(m[1]) * 1000 + Number((m[2] || '').padEnd(3, '0'));
}
