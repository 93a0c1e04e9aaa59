// Scale labels decoded exactly as the server does (crates/domain/src/barcode.rs): an EAN-13 of
// one of the store's formats, `prefix` + item digits + a value + a check digit. Pure; Node runs
// it against the shared test vectors (crates/domain/tests/vectors/barcodes.json).

export function isValidEan13(code) {
  if (!/^\d{13}$/.test(code)) return false;
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(code[i]) * (i % 2 === 0 ? 1 : 3);
  return Number(code[12]) === (10 - (sum % 10)) % 10;
}

// { itemCode, embedded: { kind: 'weight', quantity } | { kind: 'price', price } } or null.
// `quantity` is a number of at most 3 decimals (kg), `price` minor units, as the scan answers.
export function decodeScaleLabel(formats, code, currencyDecimals) {
  for (const f of formats || []) {
    if (!isValidEan13(code) || !code.startsWith(f.prefix)) continue;
    const itemEnd = f.prefix.length + f.itemDigits;
    if (itemEnd > 11) continue;
    const value = Number(code.slice(itemEnd, 12));
    if (f.kind === 'weight') {
      if (f.decimals > 3) continue;
      const milli = value * 10 ** (3 - f.decimals);
      return { itemCode: code.slice(0, itemEnd), embedded: { kind: 'weight', quantity: milli / 1000 } };
    }
    if (f.decimals > currencyDecimals) continue;
    return { itemCode: code.slice(0, itemEnd), embedded: { kind: 'price', price: value * 10 ** (currencyDecimals - f.decimals) } };
  }
  return null;
}
