// What every browser test file needs: its own `tills serve --demo` (SQLite in a fresh data
// directory, on a free port) and Debian's Chromium driven by playwright-core.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..');
export const bin = process.env.TILLS_BIN || join(process.env.CARGO_TARGET_DIR || join(root, 'target'), 'debug', 'tills');
export const shots = join(root, 'docs', 'screenshots');
export const PASSWORD = 'tills-demo-1';
export const COLA = '4006000001005';
export const COLA_SIX = '4006000001104';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
export const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

// One demo server: start() again after stop() serves the same data on the same port.
export class Tills {
  constructor() {
    this.dataDir = mkdtempSync(join(tmpdir(), 'tills-e2e-'));
    this.process = null;
    this.port = null;
  }

  get url() { return `http://127.0.0.1:${this.port}`; }

  async start(extraEnv = {}) {
    this.port ??= await freePort();
    this.process = spawn(bin, ['serve', '--demo', '--listen', `127.0.0.1:${this.port}`], {
      env: { ...process.env, TILLS_DATA_DIR: this.dataDir, DATABASE_URL: '', REDIS_URL: '', RUST_LOG: 'warn', ...extraEnv },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      try {
        const r = await fetch(`${this.url}/healthz`);
        if (r.ok) return;
      } catch { /* not yet */ }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('tills did not start');
  }

  async stop() {
    if (!this.process) return;
    const p = this.process;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGCONT');
    p.kill('SIGKILL');
    await exited;
    this.process = null;
  }

  // The process keeps its socket but answers nothing: a hung server.
  freeze() { this.process.kill('SIGSTOP'); }
  thaw() { this.process.kill('SIGCONT'); }

  async cleanup() {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  async token(email, store = 'demo') {
    const r = await fetch(`${this.url}/api/v1/auth/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ store, email, password: PASSWORD }),
    });
    return (await r.json()).token;
  }

  // A request to the API as `email`; answers { status, data }.
  async call(email, method, path, body) {
    const token = await this.token(email);
    const r = await fetch(`${this.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    return { status: r.status, data: text ? JSON.parse(text) : null };
  }
}

export async function launch() {
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
}

// A browser whose profile (IndexedDB, service worker, local storage) lives in `dir`: closing it
// and launching again on the same dir is a restart of the till's browser.
export async function launchPersistent(dir, options = {}) {
  return chromium.launchPersistentContext(dir, { executablePath, headless: true, args: CHROMIUM_ARGS, ...options });
}

export async function login(page, tills, email) {
  await page.goto(`${tills.url}/`);
  await page.fill('input[name=store]', 'demo');
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForSelector('#scan');
  await openShift(page, '100.00', 'till-' + email.split('@')[0]);
}

// The demo store sells in cash-drawer shifts: a user without an open one opens it from the
// banner of the sale screen, on its own terminal. Nothing to do when one is open.
export async function openShift(page, float = '100.00', terminal = 'till-1') {
  if (!(await page.isVisible('#shift-banner'))) return;
  await page.fill('#shift-terminal', terminal);
  await page.fill('#opening-float', float);
  await page.click('#open-shift-submit');
  await page.waitForSelector('#shift-banner', { state: 'detached' });
}

export async function scan(page, code) {
  await page.fill('#scan', code);
  await page.press('#scan', 'Enter');
}

// The clientRefs of the sales waiting in this page's IndexedDB outbox.
export async function waitingRefs(page) {
  return page.evaluate(() => new Promise((resolve, reject) => {
    const req = indexedDB.open('tills');
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains('outbox')) return resolve([]);
      const all = db.transaction('outbox').objectStore('outbox').getAll();
      all.onsuccess = () => resolve(all.result.map((i) => i.clientRef));
    };
  }));
}
