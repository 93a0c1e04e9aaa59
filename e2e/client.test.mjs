// A second client that no one here wrote: types generated from the server's OpenAPI document by
// openapi-typescript, calls made by openapi-fetch, the day's flow in client/day.ts type-checked
// against those types with `tsc --strict`, then run against a demo server. If the generated
// client cannot do what the terminal does, the document is wrong.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Tills, PASSWORD } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const tills = new Tills();

before(async () => { await tills.start(); });
after(async () => { await tills.cleanup(); });

test('a client generated from the OpenAPI document sells, refunds, reports and closes a shift', async () => {
  const doc = await (await fetch(`${tills.url}/api/v1/openapi.json`)).json();
  const out = join(here, 'node_modules', '.tills-client');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'openapi.json'), JSON.stringify(doc));
  const bin = (name) => join(here, 'node_modules', '.bin', name);
  execFileSync(bin('openapi-typescript'), [join(out, 'openapi.json'), '-o', join(here, 'client', 'tills-api.d.ts')], { stdio: 'pipe' });
  try {
    execFileSync(bin('tsc'), ['-p', join(here, 'client', 'tsconfig.json')], { stdio: 'pipe' });
  } catch (e) {
    assert.fail(`the flow does not type-check against the document:\n${e.stdout}${e.stderr}`);
  }
  const { day } = await import(pathToFileURL(join(out, 'day.js')).href);
  const result = await day(tills.url, 'demo', PASSWORD);
  assert.match(result.invoiceNumber, /^DEMO-\d{6}$/);
  assert.equal(result.total, 450);
  assert.equal(result.refunded, 150);
  assert.equal(result.reportSalesCount, 1);
  assert.equal(result.reportRefunds, 150);
  assert.equal(result.zNumber, 1);
});
