// The terminal's money rules and scale-label decoding (crates/server/web/pricing.js,
// barcode.js) against the test vectors the server's tests read too
// (crates/domain/tests/vectors.rs): offline totals are the server's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './lib.mjs';

// The browser modules as they are served (no build step): loaded from their text.
const load = (file) => import('data:text/javascript,' + encodeURIComponent(readFileSync(join(root, 'crates/server/web', file), 'utf8')));
const pricing = await load('pricing.js');
const barcode = await load('barcode.js');
const vectors = JSON.parse(readFileSync(join(root, 'crates/domain/tests/vectors/money-and-barcodes.json'), 'utf8'));

test('carts price as the vectors say', () => {
  assert.ok(vectors.pricing.length >= 10);
  for (const c of vectors.pricing) {
    if (c.error) {
      assert.throws(() => pricing.price(c.lines, c.saleDiscount, c.pricesIncludeTax), (e) => e.code === c.error, c.name);
    } else {
      assert.deepEqual(pricing.price(c.lines, c.saleDiscount, c.pricesIncludeTax), c.expect, c.name);
    }
  }
});

test('refunds and price labels as the vectors say', () => {
  for (const c of vectors.refunds) assert.equal(pricing.refundAmount(...c.args), c.expect, `refund ${c.args}`);
  for (const c of vectors.priceLabels) assert.equal(pricing.quantityForPriceLabel(...c.args), c.expect, `label ${c.args}`);
});

test('scale labels decode as the vectors say', () => {
  for (const c of vectors.scaleLabels) {
    const m = barcode.decodeScaleLabel(c.formats, c.code, c.currencyDecimals);
    const got = m && { itemCode: m.itemCode, embedded: m.embedded.kind === 'weight' ? { kind: 'weight', quantityMilli: Math.round(m.embedded.quantity * 1000) } : m.embedded };
    assert.deepEqual(got, c.expect, `${c.code} (${c.currencyDecimals} decimals)`);
  }
});

// The receipt's invoice barcode, bar for bar as JsBarcode (an encoder no one here wrote) draws it.
test('receipt barcodes are Code 128 as an independent encoder draws them', async () => {
  const { code128Modules, code128Svg } = await load('code128.js');
  const { default: JsBarcode } = await import('jsbarcode');
  const printable = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');
  for (const text of ['INV-000042', 'INV-000001', 'A', 'SHOP/2026-12-04 #17', printable]) {
    const theirs = {};
    JsBarcode(theirs, text, { format: 'CODE128B' });
    assert.equal(code128Modules(text), theirs.encodings.map((e) => e.data).join(''), text);
  }
  assert.throws(() => code128Modules('é'), /cannot encode/);
  assert.match(code128Svg('INV-000042'), /^<svg [^>]*width="[0-9]+"/);
});
