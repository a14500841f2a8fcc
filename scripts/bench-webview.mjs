// `npm run bench:webview`: the panel's heatmap draw and hover update at N = 128 and 512 in headless Chromium,
// with the same bundle and CSP as in VS Code. Writes bench/webview.json and prints the figures.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPanelBrowser } from './harness/panel-page.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const LAYERS = 12;
const HEADS = 12;
const DRAWS = 40;
const HOVERS = 300;

function stats(values) {
  const s = [...values].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return {
    median: +q(0.5).toFixed(3),
    p95: +q(0.95).toFixed(3),
    min: +s[0].toFixed(3),
    max: +s.at(-1).toFixed(3),
    runs: s.length,
  };
}

async function measure(browser, n) {
  const { page, problems } = await browser.open(
    { synthetic: { n, layers: LAYERS, heads: HEADS, causal: false, seed: 7 } },
    { width: 1400, height: 1000 },
  );
  await page.waitForFunction(() => document.body.dataset.painted && document.querySelectorAll('.thumb').length > 0);
  const firstPaintBytes = await page.evaluate(() => window.__fake.delivered.reduce((a, d) => a + d.bytes, 0));
  const thumbBytes = await page.evaluate(() =>
    window.__fake.delivered.filter((d) => d.type === 'thumbnails').reduce((a, d) => a + d.bytes, 0),
  );
  // Full draws: select heads one after another; each slice that arrives is drawn once.
  await page.evaluate(() => performance.clearMeasures('attention-lens:draw'));
  for (let i = 0; i < DRAWS; i++) {
    const before = await page.evaluate(() => performance.getEntriesByName('attention-lens:draw').length);
    await page.locator('#head').evaluate(
      (s, v) => {
        s.value = v;
        s.dispatchEvent(new Event('change'));
      },
      String((i + 1) % HEADS),
    );
    await page.waitForFunction((b) => performance.getEntriesByName('attention-lens:draw').length > b, before);
  }
  const draws = await page.evaluate(() => performance.getEntriesByName('attention-lens:draw').map((e) => e.duration));
  // Hover updates: a mouseenter on a chip, through to styles recomputed (shading, bars, crosshair overlay).
  const hovers = await page.evaluate((count) => {
    const chips = Array.from(document.querySelectorAll('.token'));
    const out = [];
    let seed = 11;
    for (let k = 0; k < count; k++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const c = chips[seed % chips.length];
      const t0 = performance.now();
      c.dispatchEvent(new MouseEvent('mouseenter'));
      void getComputedStyle(c).backgroundColor;
      void document.body.offsetHeight;
      out.push(performance.now() - t0);
    }
    return out;
  }, HOVERS);
  await page.close();
  if (problems.length) throw new Error(`page problems at N=${n}: ${problems.join('; ')}`);
  return {
    drawMs: stats(draws),
    hoverMs: stats(hovers),
    firstPaintBytes,
    firstPaintBudget: Math.round(1.5 * n * n * 4 + thumbBytes),
  };
}

const browser = await startPanelBrowser();
try {
  const result = { n128: await measure(browser, 128), n512: await measure(browser, 512) };
  mkdirSync(join(root, 'bench'), { recursive: true });
  writeFileSync(join(root, 'bench', 'webview.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log('webview (headless Chromium, 12 layers × 12 heads)');
  console.log('N     draw median / p95 (ms)   hover median / p95 (ms)   first-paint bytes / budget');
  for (const [k, r] of Object.entries(result)) {
    console.log(
      `${k.slice(1).padEnd(5)} ${`${r.drawMs.median} / ${r.drawMs.p95}`.padEnd(24)} ${`${r.hoverMs.median} / ${r.hoverMs.p95}`.padEnd(25)} ${r.firstPaintBytes} / ${r.firstPaintBudget}`,
    );
  }
  console.log('goals at N = 512: draw p95 ≤ 16 ms, hover p95 ≤ 4 ms, first-paint bytes ≤ budget');
} finally {
  await browser.close();
}
