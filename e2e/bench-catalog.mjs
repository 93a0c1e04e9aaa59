// Benchmark (not a test): a store of 50,000 products — its till's first copy of the catalog
// into IndexedDB, and the copy opened again after a reload. Prints numbers.
//
//   cargo build --release --bin tills
//   cd e2e && TILLS_BIN=../target/release/tills node bench-catalog.mjs [products]
//
// Seeds store bench-0001 with `tills seed` on SQLite in a fresh data directory, serves it with
// `tills serve`, signs in its cashier in Chromium and reads the terminal's own timings
// (catalog.js: catalogStats). The targets (issue 27): first copy under 10 s, reopen under 1 s.
import { spawnSync } from 'node:child_process';
import { bin, launch, Tills } from './lib.mjs';

const count = Number(process.argv[2] || 50_000);
const tills = new Tills();
const seeded = spawnSync(bin, ['seed', '--stores', '1', '--products-per-store', String(count), '--customers-per-store', '10'], {
  env: { ...process.env, TILLS_DATA_DIR: tills.dataDir, DATABASE_URL: '', RUST_LOG: 'warn' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
if (seeded.status !== 0) throw new Error('tills seed failed');
await tills.start();
const browser = await launch();
try {
  const page = await browser.newPage();
  await page.goto(`${tills.url}/`);
  await page.fill('input[name=store]', 'bench-0001');
  await page.fill('input[name=email]', 'cashier@bench-0001.test');
  await page.fill('input[name=password]', 'bench-password-1');
  const t0 = Date.now();
  await page.click('button[type=submit]');
  await page.waitForFunction(() => globalThis.tillsCatalogStats?.syncMs != null, null, { timeout: 120_000, polling: 50 });
  const first = await page.evaluate(() => globalThis.tillsCatalogStats);
  const wall = Date.now() - t0;
  const reopen = [];
  for (let i = 0; i < 3; i++) {
    await page.reload();
    await page.waitForFunction(() => globalThis.tillsCatalogStats?.openMs != null, null, { timeout: 60_000, polling: 20 });
    reopen.push(await page.evaluate(() => globalThis.tillsCatalogStats.openMs));
  }
  const ms = (x) => `${(x / 1000).toFixed(2)} s`;
  console.log(`catalog of ${first.products} products (${count} seeded)`);
  console.log(`first copy: ${ms(first.syncMs)} in the page (${first.pages} pages; fetching ${ms(first.fetchMs)}, writing ${ms(first.writeMs)}), ${ms(wall)} from the login click  [target < 10 s]`);
  console.log(`reopen after a reload: ${reopen.map(ms).join(', ')}  [target < 1 s]`);
} finally {
  await browser.close();
  await tills.cleanup();
}
