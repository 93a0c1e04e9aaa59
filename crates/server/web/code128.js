// Code 128 (code set B) for the invoice number printed on receipts: a scanner at the till reads
// it back as the invoice number followed by Enter, and the sale screen opens that sale for a
// refund. Pure; the browser tests check the bars against an independent encoder (JsBarcode).

// The bar and space widths of each symbol value 0-105 (ISO/IEC 15417), then the stop symbol.
const PATTERNS = [
  '212222', '222122', '222221', '121223', '121322', '131222', '122213', '122312', '132212', '221213',
  '221312', '231212', '112232', '122132', '122231', '113222', '123122', '123221', '223211', '221132',
  '221231', '213212', '223112', '312131', '311222', '321122', '321221', '312212', '322112', '322211',
  '212123', '212321', '232121', '111323', '131123', '131321', '112313', '132113', '132311', '211313',
  '231113', '231311', '112133', '112331', '132131', '113123', '113321', '133121', '313121', '211331',
  '231131', '213113', '213311', '213131', '311123', '311321', '331121', '312113', '312311', '332111',
  '314111', '221411', '431111', '111224', '111422', '121124', '121421', '141122', '141221', '112214',
  '112412', '122114', '122411', '142112', '142211', '241211', '221114', '413111', '241112', '134111',
  '111242', '121142', '121241', '114212', '124112', '124211', '411212', '421112', '421211', '212141',
  '214121', '412121', '111143', '111341', '131141', '114113', '114311', '411113', '411311', '113141',
  '114131', '311141', '411131', '211412', '211214', '211232', '2331112',
];
const START_B = 104;
const STOP = 106;

// The modules of `text` as a string of 1 (bar) and 0 (space), start to stop, without quiet
// zones. Code set B takes the printable ASCII characters (space to ~); others throw.
export function code128Modules(text) {
  const values = [START_B];
  for (const ch of text) {
    const c = ch.codePointAt(0);
    if (c < 32 || c > 126) throw new Error(`Code 128 B cannot encode ${JSON.stringify(ch)}`);
    values.push(c - 32);
  }
  let sum = values[0];
  for (let i = 1; i < values.length; i++) sum += values[i] * i;
  values.push(sum % 103, STOP);
  let bits = '';
  for (const v of values) {
    [...PATTERNS[v]].forEach((w, i) => { bits += (i % 2 === 0 ? '1' : '0').repeat(Number(w)); });
  }
  return bits;
}

// An SVG of the barcode: `module` pixels per module, a quiet zone of ten modules each side.
export function code128Svg(text, { module = 2, height = 48 } = {}) {
  const bits = code128Modules(text);
  const quiet = 10;
  const width = (bits.length + 2 * quiet) * module;
  let rects = '';
  for (let i = 0; i < bits.length;) {
    if (bits[i] === '0') { i++; continue; }
    let j = i;
    while (bits[j] === '1') j++;
    rects += `<rect x="${(quiet + i) * module}" y="0" width="${(j - i) * module}" height="${height}"/>`;
    i = j;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" shape-rendering="crispEdges"><rect width="${width}" height="${height}" fill="#fff"/><g fill="#000">${rects}</g></svg>`;
}
