// The long view (issue 17) in headless Chromium at N = 4,096: the panel asks a real engine in this process (through
// the fake host) for overviews, received sums, exact rows and tiles of a long analysis of the lesson, and the test
// drives zoom (keys, wheel), pan (keys, drag), the minimap and hover, checking the numbers against the engine.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import type { AnalysisReply } from '../../src/protocol/messages';
import { Engine } from '../../src/worker/engine';
import { longSource } from '../long-text';
import { FIXTURES } from '../unit/fixtures';

const N = 4096;

interface Browser {
  open(
    f: unknown,
    viewport?: unknown,
    beforeLoad?: (page: Page) => Promise<void>,
  ): Promise<{ page: Page; problems: string[] }>;
  close(): Promise<void>;
}

describe('long view at N = 4,096 (real engine behind the fake host)', function () {
  this.timeout(180_000);
  let browser: Browser;
  const engine = new Engine();
  let long: AnalysisReply;
  let page: Page;
  let problems: string[];

  const view = async () => (await page.locator('#long-heatmap').getAttribute('data-view'))!.split(',').map(Number);

  before(async () => {
    const { startPanelBrowser } = await import(
      pathToFileURL(join(__dirname, '..', '..', 'scripts', 'harness', 'panel-page.mjs')).href
    );
    browser = await startPanelBrowser();
    long = await engine.analyze({
      model: join(FIXTURES, 'llama-tiny-long'),
      dtype: 'fp32',
      text: longSource(200),
      allowRemote: false,
      maxTokens: N,
    });
    assert.equal(long.n, N);
    assert.ok(long.long, 'a long analysis');
    const bridge = async (method: string, params: unknown) => {
      const r = await (engine as unknown as Record<string, (p: unknown) => Promise<Record<string, unknown>>>)[method](
        params,
      );
      const result: Record<string, unknown> = {};
      const buffers: Record<string, number[]> = {};
      for (const [name, v] of Object.entries(r))
        if (v instanceof ArrayBuffer) buffers[name] = Array.from(new Float32Array(v));
        else result[name] = v;
      return { result, buffers };
    };
    ({ page, problems } = await browser.open(
      { long: { summary: long }, sourceLabel: 'lesson.txt' },
      undefined,
      async (p) => {
        await p.exposeFunction('__engine', bridge);
      },
    ));
    await page.waitForFunction(() => document.body.dataset.longPainted?.startsWith('overview:0:0'));
  });
  after(async () => {
    await browser?.close();
    await engine.dispose();
  });

  it('opens on the whole matrix drawn from the overview, with a virtualised token list', async () => {
    assert.deepEqual(await view(), [0, 0, N]);
    assert.equal(await page.locator('#long-heatmap').getAttribute('data-exact'), 'false');
    const rendered = await page.locator('.long-token').count();
    assert.ok(rendered > 10 && rendered < 60, `only the rows in view are in the DOM (${rendered} of ${N})`);
    assert.match((await page.locator('#long-caption').textContent()) ?? '', /4,096 tokens/);
    // The token list scrolls: the rows in view follow.
    await page.locator('#long-tokens').evaluate((e) => {
      e.scrollTop = 2000 * 18;
    });
    await page.waitForFunction(() => document.querySelector('.long-token[data-index="2005"]') !== null);
    assert.equal(await page.locator('.long-token[data-index="10"]').count(), 0);
    assert.ok((await page.locator('.thumb').count()) === long.model.heads.reduce((a, b) => a + b, 0), 'the grid');
  });

  it('received sums name the tokens that get the most attention', async () => {
    const r = new Float32Array((await engine.received({ analysisId: long.analysisId, layer: 0, head: 0 })).buffer);
    let top = 0;
    for (let j = 1; j < N; j++) if (r[j] > r[top]) top = j;
    const first = (await page.locator('#long-sinks li').first().textContent()) ?? '';
    assert.match(first, new RegExp(`\\(${top}\\) receives ${r[top].toFixed(1)}`));
  });

  it('zooms with keys until cells are pixels, then draws the exact tile; hover reads exact weights', async () => {
    // Layer 0's operands are in the panel: tiles and hovered rows are computed there, with no message to the engine.
    await page.waitForFunction(() => document.body.dataset.localRows === 'ready:0');
    const rowsAsked = await page.evaluate(() => window.__fake.requests('rows').length);
    const tilesAsked = await page.evaluate(() => window.__fake.requests('tile').length);
    await page.locator('#long-heatmap').focus();
    for (const _ of [1, 2, 3]) await page.keyboard.press('+');
    const [r0, c0, span] = await view();
    assert.equal(span, 512);
    await page.waitForFunction(() => document.body.dataset.longPainted?.startsWith('tile:'));
    assert.equal(await page.locator('#long-heatmap').getAttribute('data-exact'), 'true');
    assert.equal(await page.evaluate(() => document.body.dataset.tileSource), 'panel');
    assert.equal(await page.evaluate(() => window.__fake.requests('tile').length), tilesAsked, 'no tile asked');
    // Hover the middle of the canvas: that cell's query row is drawn and the readout gives the exact weight.
    const box = (await page.locator('#long-heatmap').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.25 + 0.5, box.y + box.height * 0.75 + 0.5);
    const q = r0 + Math.floor(0.75 * span);
    const k = c0 + Math.floor(0.25 * span);
    await page.waitForFunction((want) => document.body.dataset.longRow === want, `0:${q}`);
    const row = new Float32Array(
      (await engine.rows({ analysisId: long.analysisId, layer: 0, index: q, direction: 'row' })).buffer,
    ).subarray(0, N);
    const text = (await page.locator('#long-readout').textContent()) ?? '';
    assert.match(text, new RegExp(`\\(${q}\\) → .*\\(${k}\\): ${(row[k] * 100).toFixed(2)}% \\(exact\\)`));
    const pct = parseFloat((await page.locator('#long-bars .pct').first().textContent()) ?? '');
    assert.ok(Math.abs(pct - Math.max(...row) * 100) < 0.06, 'the top focus bar is the row’s largest weight');
    assert.equal(await page.evaluate(() => document.body.dataset.rowSource), 'panel');
    assert.equal(
      await page.evaluate(() => window.__fake.requests('rows').length),
      rowsAsked,
      'no row asked of the engine',
    );
    assert.deepEqual(await page.evaluate(() => window.__fake.requests('layerOperands').at(-1)), {
      analysisId: long.analysisId,
      layer: 0,
    });
    // Once the pointer rests, the editor heat gets the row as float32 bytes.
    const heat = await page.waitForFunction(
      (want) =>
        [...window.__fake.sent]
          .reverse()
          .find((m) => 'type' in m && m.type === 'focusToken' && m.index === want && m.weightsBuffer !== undefined),
      q,
    );
    const sentWeights = await heat.evaluate((m) =>
      Array.from(new Float32Array((m as { weightsBuffer: ArrayBuffer }).weightsBuffer)),
    );
    assert.equal(sentWeights.length, N);
    assert.ok(Math.abs(Math.max(...sentWeights) - Math.max(...row)) < 1e-6, 'the heat reads the exact row');
  });

  it('asks the engine for rows and tiles where the panel cannot compute them', async () => {
    await page.evaluate(() => {
      window.__fixture.long!.refuseOperands = true;
    });
    await page.locator('#long-layer').selectOption({ value: '1' });
    await page.waitForFunction(() => document.body.dataset.localRows === 'unavailable:1: refused by the test');
    await page.waitForFunction(() => document.body.dataset.longPainted?.startsWith('tile:'));
    const [r0, c0, span] = await view();
    assert.equal(await page.evaluate(() => document.body.dataset.tileSource), 'engine');
    assert.deepEqual(await page.evaluate(() => window.__fake.requests('tile').at(-1)), {
      analysisId: long.analysisId,
      layer: 1,
      head: 0,
      row: r0,
      col: c0,
      size: span,
    });
    const box = (await page.locator('#long-heatmap').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.5 + 0.5, box.y + box.height * 0.6 + 0.5);
    const q = r0 + Math.floor(0.6 * span);
    await page.waitForFunction((want) => document.body.dataset.longRow === want, `1:${q}`);
    assert.equal(await page.evaluate(() => document.body.dataset.rowSource), 'engine');
    assert.deepEqual(await page.evaluate(() => window.__fake.requests('rows').at(-1)), {
      analysisId: long.analysisId,
      layer: 1,
      index: q,
      direction: 'row',
    });
    await page.evaluate(() => {
      window.__fixture.long!.refuseOperands = false;
    });
    // Back on layer 0, whose operands the panel kept: hovers are computed there again.
    await page.locator('#long-layer').selectOption({ value: '0' });
    await page.mouse.move(box.x + box.width * 0.4 + 0.5, box.y + box.height * 0.7 + 0.5);
    await page.waitForFunction((want) => document.body.dataset.longRow === want, `0:${r0 + Math.floor(0.7 * span)}`);
    assert.equal(await page.evaluate(() => document.body.dataset.rowSource), 'panel');
  });

  it('pans with arrows and drag, and the minimap moves the window', async () => {
    const [r0, c0, span] = await view();
    await page.locator('#long-heatmap').focus();
    await page.keyboard.press('ArrowRight');
    assert.deepEqual(await view(), [r0, c0 + span / 8, span]);
    const box = (await page.locator('#long-heatmap').boundingBox())!;
    await page.mouse.move(box.x + 200, box.y + 200);
    await page.mouse.down();
    await page.mouse.move(box.x + 200, box.y + 100, { steps: 4 });
    await page.mouse.up();
    const [r1] = await view();
    assert.equal(r1, r0 + Math.round((100 * span) / box.height), 'dragging up moves the window down');
    const mini = (await page.locator('#long-minimap').boundingBox())!;
    await page.mouse.click(mini.x + mini.width / 2, mini.y + mini.height / 2);
    assert.deepEqual(await view(), [N / 2 - span / 2, N / 2 - span / 2, span]);
  });

  it('the wheel zooms around the pointer and 0 shows everything again', async () => {
    const box = (await page.locator('#long-heatmap').boundingBox())!;
    const [r0, c0, span] = await view();
    await page.mouse.move(box.x + box.width / 4, box.y + box.height / 4);
    await page.mouse.wheel(0, 100);
    const [r1, c1, span1] = await view();
    assert.equal(span1, Math.round(span * 1.25));
    // The token under the pointer stays under it (within a cell).
    assert.ok(Math.abs(r1 + span1 / 4 - (r0 + span / 4)) <= 1 && Math.abs(c1 + span1 / 4 - (c0 + span / 4)) <= 1);
    await page.locator('#long-heatmap').focus();
    await page.keyboard.press('0');
    assert.deepEqual(await view(), [0, 0, N]);
    assert.deepEqual(problems, [], 'no CSP violations or page errors');
  });
});
