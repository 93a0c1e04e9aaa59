// The service worker keeps every file of the terminal: one missing from its list would not open
// offline. No browser needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './lib.mjs';

test('the service worker\'s shell lists every file of the terminal', () => {
  const dir = join(root, 'crates/server/web');
  const sw = readFileSync(join(dir, 'sw.js'), 'utf8');
  const listed = JSON.parse(sw.match(/const SHELL = (\[[^\]]*\])/s)[1].replace(/'/g, '"'));
  const files = readdirSync(dir).filter((f) => f !== 'sw.js').map((f) => '/' + f);
  assert.deepEqual([...listed].filter((f) => f !== '/').sort(), files.sort());
  assert.ok(listed.includes('/'), 'the page itself');
});
