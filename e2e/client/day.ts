// A day at a till driven through a client generated from the server's OpenAPI document
// (openapi-typescript types, openapi-fetch calls) — code that no one here wrote by hand against
// the server. It type-checks against the document (`tsc --strict`): a field the terminal uses that
// the document lacks, or a body the document describes differently, fails the build. Then it
// runs: login, open a shift, scan, quote, sell, refund, the daily report, the Z close.
import createClient from 'openapi-fetch';
import type { paths } from './tills-api.js';

export interface DayResult {
  invoiceNumber: string;
  total: number;
  refunded: number;
  reportSalesCount: number;
  reportRefunds: number;
  zNumber: number | null | undefined;
}

function must<T>(what: string, r: { data?: T; error?: unknown; response: Response }): T {
  if (r.data === undefined) throw new Error(`${what}: ${r.response.status} ${JSON.stringify(r.error)}`);
  return r.data;
}

export async function day(baseUrl: string, store: string, password: string): Promise<DayResult> {
  const anon = createClient<paths>({ baseUrl });
  const login = async (email: string) => {
    const r = await anon.POST('/api/v1/auth/login', { body: { store, email, password } });
    const token = must('login', r).token;
    return createClient<paths>({ baseUrl, headers: { authorization: `Bearer ${token}` } });
  };
  const cashier = await login('cashier@demo.tills');
  const manager = await login('manager@demo.tills');

  const shift = must('open shift', await cashier.POST('/api/v1/shifts', { body: { terminal: 'client-till', openingFloat: 5000 } }));
  const scanned = must('scan', await cashier.GET('/api/v1/products/barcode/{barcode}', { params: { path: { barcode: '4006000001005' } } }));
  const lines = [{ productId: scanned.product.id, quantity: 3 }];
  const quote = must('quote', await cashier.POST('/api/v1/sales/quote', { body: { lines } }));
  const sale = must('sale', await cashier.POST('/api/v1/sales', {
    body: { clientRef: crypto.randomUUID(), lines, payments: [{ method: 'cash', amount: quote.total + 50 }] },
  }));
  if (sale.total !== quote.total) throw new Error(`the sale (${sale.total}) is not the quote (${quote.total})`);
  const line = sale.lines[0];
  if (!line) throw new Error('the sale has no line');
  const refund = must('refund', await manager.POST('/api/v1/sales/{id}/refunds', {
    params: { path: { id: sale.id } },
    body: { clientRef: crypto.randomUUID(), lines: [{ lineId: line.id, quantity: 1 }], payments: [{ method: 'cash', amount: 150 }] },
  }));
  // The report's day is the store's local day: the sale's instant read in the store's timezone
  // (just before midnight UTC, Berlin is already on the next day).
  const { timezone } = must('store', await manager.GET('/api/v1/store'));
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' })
    .format(new Date(sale.soldAt));
  const report = must('daily report', await manager.GET('/api/v1/reports/daily', { params: { query: { date: today } } }));
  const x = must('X report', await cashier.GET('/api/v1/shifts/{id}/report', { params: { path: { id: shift.id } } }));
  const closed = must('close', await cashier.POST('/api/v1/shifts/{id}/close', {
    params: { path: { id: shift.id } },
    body: { countedCash: x.figures.cash.expected, denominations: { [String(x.figures.cash.expected)]: 1 } },
  }));
  return {
    invoiceNumber: sale.invoiceNumber,
    total: sale.total,
    refunded: refund.total,
    reportSalesCount: report.salesCount,
    reportRefunds: report.refunds,
    zNumber: closed.zNumber,
  };
}
