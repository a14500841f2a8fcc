// Opens the built webview bundle in headless Chromium, like VS Code hosts it: its own origin, a strict CSP
// with a nonce, and a stand-in host (test/webview/fake-host.ts) answering from real attention data.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import esbuild from 'esbuild';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Starts Chromium once; call `open(fixture)` for each page and `close()` at the end. */
export async function startPanelBrowser() {
  const webview = join(root, 'dist', 'webview.js');
  for (const [p, what] of [
    [CHROMIUM, 'Chromium (run npm run setup)'],
    [webview, 'dist/webview.js (run npm run build)'],
  ]) {
    if (!existsSync(p)) throw new Error(`missing ${what}: ${p}`);
  }
  const fake = await esbuild.build({
    entryPoints: [join(root, 'test', 'webview', 'fake-host.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    write: false,
  });
  const files = {
    '/fake-host.js': ['text/javascript', fake.outputFiles[0].contents],
    '/webview.js': ['text/javascript', readFileSync(webview)],
    '/panel.css': ['text/css', readFileSync(join(root, 'media', 'panel.css'))],
  };
  let nonce = '';
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/') {
      nonce = randomBytes(16).toString('base64');
      // The same policy the extension's webviewHtml sets, with this server standing in for the webview origin.
      const csp = `default-src 'none'; img-src 'self' data: blob:; style-src 'self'; font-src 'self'; script-src 'nonce-${nonce}'`;
      res.writeHead(200, { 'content-type': 'text/html', 'content-security-policy': csp });
      res.end(`<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8"><link rel="stylesheet" href="/panel.css"><title>panel</title></head>
<body><div id="app" role="application" aria-label="Attention Lens"></div>
<script nonce="${nonce}" src="/fake-host.js"></script><script nonce="${nonce}" src="/webview.js"></script></body></html>`);
      return;
    }
    const file = files[path];
    if (!file) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': file[0] });
    res.end(file[1]);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });

  return {
    /** A fresh page with `fixture` as window.__fixture; collects page errors, CSP violations and dialogs. */
    async open(fixture, viewport = { width: 1200, height: 900 }, beforeLoad = async (_page) => {}) {
      const page = await browser.newPage({ viewport });
      await beforeLoad(page);
      const problems = [];
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      page.on('dialog', (d) => {
        problems.push(`dialog: ${d.message()}`);
        void d.dismiss();
      });
      page.on('console', (m) => {
        if (/Content Security Policy|Refused/.test(m.text())) problems.push(`csp: ${m.text()}`);
      });
      await page.addInitScript((f) => {
        window.__fixture = f;
      }, fixture);
      await page.goto(url);
      return { page, problems };
    },
    async close() {
      await browser.close();
      server.close();
    },
  };
}
