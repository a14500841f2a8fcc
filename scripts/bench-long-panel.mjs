#!/usr/bin/env node
// `npm run bench:long-panel`: exact rows and tiles of a long analysis as the user gets them, in the real VS Code
// (code-server + Chromium) on the SmolLM2-shaped fixture (fp32) and a ~4,096-token file: Show Attention for This
// File, then hover → exact row painted (40 hovers: from the mouse event's own time to the frame that shows the row's
// bars) and a 256 × 256 window → exact tile painted (24 pans: from the window's move to its pixels drawn). Rows and
// tiles come from the layer's operands in the panel when the engine hands them out (which source served each hover
// is recorded), else from the engine, round trip included. Before that, the command's start → first overview painted
// and → grid drawn, cold and warm. Merged into bench/results.json as longContext.n4096.panel*.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { longSource } from './harness/long-source.mjs';
import { sampleStats } from './harness/sample-stats.mjs';
import { panelFrame, startVSCode } from './harness/vscode.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const folder = mkdtempSync(join(tmpdir(), 'al-long-panel-'));
// About 23 tokens a line with the GPT-2 vocabulary: ~4,100 tokens.
const text = longSource(178);
writeFileSync(join(folder, 'steps.js'), text);

const p95 = (a) => +[...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(a.length * 0.95))].toFixed(1);

const vscode = await startVSCode({
  extensionDevelopmentPath: root,
  folder,
  settings: {
    'attentionLens.model': join(root, 'test', 'fixtures', 'models', 'smollm2-shaped'),
    'attentionLens.dtype': 'fp32',
    'attentionLens.allowRemoteModels': false,
    'attentionLens.memoryBudgetMB': 4096,
  },
});
const { page } = vscode;
try {
  await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
  await page.keyboard.press('Control+P');
  await page.locator('.quick-input-widget input').waitFor();
  await page.keyboard.type('steps.js');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'steps.js' }).first().click();
  await page.locator('.view-line', { hasText: 'function step0' }).first().click();
  const showFile = async () => {
    await page.keyboard.press('F1');
    await page.keyboard.type('Attention Lens: Show Attention for This File');
    await page
      .locator('.quick-input-list .monaco-list-row', { hasText: 'Show Attention for This File' })
      .first()
      .click();
  };
  await showFile();
  const frame = await panelFrame(page);
  // More room for the panel: the side bar closed.
  await page.keyboard.press('Control+B');
  // From the command's start in the extension host to the first overview painted, and to the grid (the whole pass):
  // cold (the model loads), then again warm on the same file.
  const firstAndGrid = async () => {
    await frame.waitForFunction(() => document.body.dataset.fromCommandMs !== undefined, undefined, {
      timeout: 600_000,
    });
    await frame.waitForFunction(() => document.body.dataset.gridFromCommandMs !== undefined, undefined, {
      timeout: 600_000,
    });
    const got = await frame.evaluate(() => [
      document.body.dataset.fromCommandMs,
      document.body.dataset.gridFromCommandMs,
    ]);
    await frame.evaluate(() => {
      delete document.body.dataset.fromCommandMs;
      delete document.body.dataset.gridFromCommandMs;
    });
    return got.map(Number);
  };
  const [coldFirstMs, coldGridMs] = await firstAndGrid();
  await page.locator('.view-line', { hasText: 'function step0' }).first().click();
  await showFile();
  const [firstOverviewMs, gridMs] = await firstAndGrid();
  const n = Number(
    /([\d,]+) tokens/.exec((await frame.locator('#long-caption').textContent()) ?? '')?.[1].replace(/,/g, ''),
  );
  // The rows graphs are built and run once per layer right after the whole pass (the grid); hovers start once they are.
  await new Promise((r) => setTimeout(r, 15_000));
  // Layer 0's operands (exact rows computed in the panel) or the engine's reason why not.
  await frame.waitForFunction(() => document.body.dataset.localRows !== undefined, undefined, { timeout: 120_000 });
  const localRows = await frame.evaluate(() => document.body.dataset.localRows);
  const canvas = frame.locator('#long-heatmap');
  await canvas.scrollIntoViewIfNeeded();
  const box = await canvas.boundingBox();
  const rows = [];
  const sources = {};
  const arrived = [];
  const sync = [];
  for (let k = 0; k < 40; k++) {
    await frame.evaluate(() => {
      delete document.body.dataset.rowPaintMs;
    });
    await page.mouse.move(box.x + box.width * (0.2 + 0.02 * k), box.y + box.height * (0.8 - 0.02 * k));
    await frame.waitForFunction(() => document.body.dataset.rowPaintMs !== undefined, undefined, { timeout: 30_000 });
    rows.push(Number(await frame.evaluate(() => document.body.dataset.rowPaintMs)));
    arrived.push(Number(await frame.evaluate(() => document.body.dataset.rowArrivedMs)));
    sync.push(Number(await frame.evaluate(() => document.body.dataset.rowSyncMs)));
    const source = await frame.evaluate(() => document.body.dataset.rowSource);
    sources[source] = (sources[source] ?? 0) + 1;
  }
  // Zoom to a 256-token window (one cell per 2 px at least): every pan paints a new exact tile.
  await canvas.focus();
  for (let z = 0; z < 4; z++) await page.keyboard.press('+');
  const tiles = [];
  for (let k = 0; k < 24; k++) {
    await frame.evaluate(() => {
      delete document.body.dataset.tilePaintMs;
    });
    await page.keyboard.press(k % 2 ? 'ArrowDown' : 'ArrowRight');
    await frame.waitForFunction(() => document.body.dataset.tilePaintMs !== undefined, undefined, { timeout: 30_000 });
    tiles.push(Number(await frame.evaluate(() => document.body.dataset.tilePaintMs)));
  }
  const view = await canvas.getAttribute('data-view');
  const result = {
    n,
    firstOverviewMs,
    gridMs,
    coldFirstMs,
    coldGridMs,
    view,
    rowMs: sampleStats(rows),
    rowP95: p95(rows),
    rowArrivedMs: sampleStats(arrived),
    rowSyncMs: sampleStats(sync),
    localRows,
    rowSources: sources,
    tileMs: sampleStats(tiles),
    tileP95: p95(tiles),
  };
  console.log(JSON.stringify(result));
  const file = join(root, 'bench', 'results.json');
  const all = JSON.parse(readFileSync(file, 'utf8'));
  all.longContext ??= {};
  all.longContext.n4096 = {
    ...all.longContext.n4096,
    panelRowMs: result.rowP95,
    panelRowSources: sources,
    panelTileMs: result.tileP95,
    panelN: n,
    // Show Attention for This File (warm, the second run) → first overview painted / grid drawn, from the command's
    // start in the extension host; ÷ the plain forward pass at 4,096 from `npm run bench:long` (another process).
    panelFirstOverviewMs: firstOverviewMs,
    panelGridMs: gridMs,
    panelFirstOverviewRatio: all.longContext.n4096?.plainMs
      ? +(firstOverviewMs / all.longContext.n4096.plainMs).toFixed(3)
      : undefined,
  };
  writeFileSync(file, `${JSON.stringify(all, null, 2)}\n`);
} catch (error) {
  await page.screenshot({ path: join(root, 'test-results', 'bench-long-panel.png') }).catch(() => undefined);
  throw error;
} finally {
  await vscode.close();
}
process.exit(0);
