// The built webview bundle in headless Chromium, under the real CSP, fed with attention recorded from the
// engine on the fixture models: numbers under hover, keyboard, masking, hiding, threshold, hostile text.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import type {
  AnalysisSummary,
  AttentionFamily,
  GenerateReply,
  NextToken,
  Seq2SeqReply,
} from '../../src/protocol/messages';
import { Engine } from '../../src/worker/engine';
import { everyHead } from '../every-head';
import { FIXTURES, SENTENCE } from '../unit/fixtures';

interface Recording {
  summary: AnalysisSummary;
  layers: number[][];
  sourceText: string;
}
interface Browser {
  open(f: unknown): Promise<{ page: Page; problems: string[] }>;
  close(): Promise<void>;
}

async function record(folder: string, text: string): Promise<Recording> {
  const engine = new Engine();
  try {
    const summary = await engine.analyze({ model: join(FIXTURES, folder), dtype: 'fp32', text, allowRemote: false });
    const layers: number[][] = summary.model.heads.map(() => []);
    for (const { layer, head } of everyHead(summary.model.heads)) {
      layers[layer].push(
        ...new Float32Array((await engine.slice({ analysisId: summary.analysisId, layer, head })).buffer),
      );
    }
    return { summary, layers, sourceText: text };
  } finally {
    await engine.dispose();
  }
}

/** Row `i` of head `h` in layer `l` of a recording. */
function row(r: Recording, l: number, h: number, i: number): number[] {
  const n = r.summary.n;
  return r.layers[l].slice(h * n * n + i * n, h * n * n + (i + 1) * n);
}

async function chips(page: Page) {
  return page.locator('.token').evaluateAll((els) =>
    els.map((e) => {
      const bg = getComputedStyle(e).backgroundColor;
      const parts = /rgba?\(([^)]*)\)/.exec(bg)?.[1].split(',').map(Number) ?? [];
      return {
        index: Number((e as HTMLElement).dataset.index),
        text: e.textContent ?? '',
        weight: Number(e.getAttribute('data-weight')),
        weights: (e.getAttribute('data-weights') ?? '').split(',').filter(Boolean).map(Number),
        alpha: parts.length === 4 ? parts[3] : parts.length === 3 ? 1 : 0,
        focus: e.classList.contains('focus'),
      };
    }),
  );
}

async function choose(page: Page, id: string, value: string): Promise<void> {
  await page.locator(`#${id}`).evaluate((sel, v) => {
    (sel as HTMLSelectElement).value = v;
    sel.dispatchEvent(new Event('change'));
  }, value);
}

async function ready(page: Page): Promise<void> {
  await page.waitForFunction(
    () => document.body.dataset.painted !== undefined && document.querySelectorAll('.thumb').length > 0,
  );
}

describe('webview panel in headless Chromium', function () {
  this.timeout(60_000);
  let browser: Browser;
  let bert: Recording;
  let gpt2: Recording;

  before(async () => {
    const { startPanelBrowser } = await import(
      pathToFileURL(join(__dirname, '..', '..', 'scripts', 'harness', 'panel-page.mjs')).href
    );
    browser = await startPanelBrowser();
    bert = await record('bert-tiny', SENTENCE);
    gpt2 = await record('gpt2-tiny', SENTENCE);
  });
  after(() => browser?.close());

  async function open(fixture: object) {
    const opened = await browser.open(fixture);
    await ready(opened.page);
    return opened;
  }

  it('hovering "it" shades every token by exactly its attention row', async () => {
    const { page, problems } = await open(bert);
    const it = bert.summary.tokens.findIndex((t) => t.text === 'it');
    await page.locator(`.token[data-index="${it}"]`).hover();
    const got = await chips(page);
    const want = row(bert, 0, 0, it);
    const max = Math.max(...want);
    assert.equal(got.length, bert.summary.n);
    for (const c of got) {
      assert.ok(Math.abs(c.weight - want[c.index]) < 1e-6, `${c.text}: ${c.weight} vs ${want[c.index]}`);
      assert.ok(
        Math.abs(c.alpha - want[c.index] / max) < 0.01,
        `${c.text}: shade ${c.alpha} vs ${want[c.index] / max}`,
      );
    }
    assert.equal(
      got
        .filter((c) => c.focus)
        .map((c) => c.index)
        .join(),
      String(it),
    );
    const pcts = (await page.locator('.barlist .pct').allTextContents()).map((t) => parseFloat(t));
    assert.ok(Math.abs(pcts[0] - Math.max(...want) * 100) < 0.06, 'the top bar is the largest weight');
    assert.match((await page.locator('.sr-only[aria-live]').textContent()) ?? '', /^it: .+%, .+%, .+%$/);
    assert.deepEqual(problems, []);
  });

  it('paints from the data sent with the analysis, without asking again', async () => {
    const { page } = await open({ ...bert, pushFirst: true });
    const asked = await page.evaluate(() => [
      ...window.__fake.requests('slice'),
      ...window.__fake.requests('thumbnails'),
    ]);
    assert.deepEqual(asked, []);
    const it = bert.summary.tokens.findIndex((t) => t.text === 'it');
    await page.locator(`.token[data-index="${it}"]`).hover();
    const want = row(bert, 0, 0, it);
    for (const c of await chips(page)) assert.ok(Math.abs(c.weight - want[c.index]) < 1e-6);
  });

  it('while the rest of the pass runs, the grid says so (not the last analysis’s thumbnails); then it fills in', async () => {
    const { page } = await browser.open({ ...bert, pushFirst: 'slice', thumbnailsAfterMs: 1500 });
    await page.waitForFunction(() => document.body.dataset.painted !== undefined);
    assert.equal(await page.locator('.thumb').count(), 0);
    assert.equal(await page.locator('.grid[aria-busy="true"]').count(), 1);
    assert.match((await page.locator('.grid .note').textContent()) ?? '', /Computing every layer and head/);
    assert.deepEqual(await page.evaluate(() => window.__fake.requests('slice')), [], 'the first slice came along');
    await page.waitForFunction(() => document.querySelectorAll('.thumb').length > 0);
    assert.equal(
      await page.locator('.thumb').count(),
      bert.summary.model.heads.reduce((a, h) => a + h, 0),
    );
    assert.equal(await page.locator('.grid[aria-busy]').count(), 0);
  });

  it('column direction shades by the attention each token receives from the focus', async () => {
    const { page } = await open(bert);
    await choose(page, 'direction', 'column');
    await page.locator('.token[data-index="3"]').hover();
    const n = bert.summary.n;
    const col = Array.from({ length: n }, (_, i) => row(bert, 0, 0, i)[3]);
    const total = col.reduce((a, b) => a + b, 0);
    for (const c of await chips(page)) assert.ok(Math.abs(c.weight - col[c.index] / total) < 1e-6);
  });

  it('click locks the focus, arrows move it, Esc unlocks', async () => {
    const { page } = await open(bert);
    await page.locator('.token[data-index="5"]').click();
    await page.locator('.token[data-index="2"]').hover();
    assert.deepEqual(
      (await chips(page)).filter((c) => c.focus).map((c) => c.index),
      [5],
      'locked: hover elsewhere does not move it',
    );
    await page.keyboard.press('ArrowRight');
    assert.deepEqual(
      (await chips(page)).filter((c) => c.focus).map((c) => c.index),
      [6],
    );
    const want = row(bert, 0, 0, 6);
    assert.ok(
      (await chips(page)).every((c) => Math.abs(c.weight - want[c.index]) < 1e-6),
      'shading follows the moved focus',
    );
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    assert.deepEqual(
      (await chips(page)).filter((c) => c.focus).map((c) => c.index),
      [4],
    );
    await page.keyboard.press('Escape');
    await page.mouse.move(1, 1);
    assert.deepEqual(
      (await chips(page)).filter((c) => c.focus),
      [],
    );
    assert.ok((await chips(page)).every((c) => c.alpha === 0));
  });

  it('walkthrough messages lock a token and step to the next head, then the next layer', async () => {
    const { page } = await open(bert);
    await page.evaluate(() => window.postMessage({ type: 'lockToken', index: 10 }, '*'));
    await page.waitForFunction(() => document.querySelector('.token[data-index="10"]')?.classList.contains('focus'));
    await page.locator('.token[data-index="3"]').hover();
    assert.deepEqual(
      (await chips(page)).filter((c) => c.focus).map((c) => c.index),
      [10],
      'locked',
    );
    for (let i = 0; i < 2; i++) await page.evaluate(() => window.postMessage({ type: 'nextHead' }, '*'));
    await page.waitForFunction(() => window.__fake.requests('slice').some((p) => p.layer === 1 && p.head === 0));
    assert.deepEqual(await page.evaluate(() => window.__fake.requests('slice').map((p) => [p.layer, p.head])), [
      [0, 0],
      [0, 1],
      [1, 0],
    ]);
  });

  it('a causal model shows the upper triangle masked, not as zero weights', async () => {
    const { page } = await open(gpt2);
    const n = gpt2.summary.n;
    // No helper functions inside evaluate: tsx's keepNames would reference a helper the page lacks.
    const [upper, lower] = await page.locator('#heatmap').evaluate(
      (c: HTMLCanvasElement, cells) => {
        const margin = Number(c.dataset.margin);
        const plot = Number(c.dataset.plot);
        const k = c.width / (margin + plot);
        const ctx = c.getContext('2d')!;
        return cells.map(([i, j, size]) =>
          Array.from(
            ctx.getImageData(
              Math.floor((margin + ((j + 0.5) * plot) / size) * k),
              Math.floor((margin + ((i + 0.5) * plot) / size) * k),
              1,
              1,
            ).data,
          ),
        );
      },
      [
        [1, n - 1, n],
        [n - 1, 1, n],
      ],
    );
    const px = { upper, lower };
    assert.ok(
      px.upper[0] === px.upper[1] && px.upper[1] === px.upper[2] && px.upper[3] < 255,
      `masked cell is translucent grey: ${px.upper}`,
    );
    assert.equal(px.lower[3], 255, 'a visible cell is opaque');
    assert.notEqual(px.lower.join(), px.upper.join());
    const box = (await page.locator('#heatmap').boundingBox())!;
    const geo = await page.locator('#heatmap').evaluate((c) => [Number(c.dataset.margin), Number(c.dataset.plot)]);
    const scale = box.width / (geo[0] + geo[1]);
    await page.mouse.move(
      box.x + (geo[0] + ((n - 0.5) * geo[1]) / n) * scale,
      box.y + (geo[0] + (0.5 * geo[1]) / n) * scale,
    );
    assert.match((await page.locator('.tooltip').textContent()) ?? '', /masked/);
    await page.mouse.move(
      box.x + (geo[0] + (0.5 * geo[1]) / n) * scale,
      box.y + (geo[0] + ((n - 0.5) * geo[1]) / n) * scale,
    );
    assert.match((await page.locator('.tooltip').textContent()) ?? '', /%$/);
  });

  it('hiding special tokens removes them and renormalises each row to 1', async () => {
    const { page } = await open(bert);
    await page.locator('#more-toggle').click();
    await page.locator('#hide-special').click();
    const it = bert.summary.tokens.findIndex((t) => t.text === 'it');
    await page.locator(`.token[data-index="${it}"]`).hover();
    const got = await chips(page);
    assert.ok(!got.some((c) => c.text === '[CLS]' || c.text === '[SEP]'));
    const want = row(bert, 0, 0, it);
    const special = new Set(bert.summary.tokens.flatMap((t, i) => (t.special ? [i] : [])));
    const kept = want.reduce((a, w, j) => a + (special.has(j) ? 0 : w), 0);
    assert.ok(Math.abs(got.reduce((a, c) => a + c.weight, 0) - 1) < 1e-5, 'renormalised to 1');
    for (const c of got) assert.ok(Math.abs(c.weight - want[c.index] / kept) < 1e-6);
  });

  it('the threshold keeps the top share of each row and blanks the rest', async () => {
    const { page } = await open(bert);
    await choose(page, 'threshold', '0.5');
    await page.locator('.token[data-index="4"]').hover();
    const want = row(bert, 0, 0, 4);
    const order = want.map((_w, j) => j).sort((a, b) => want[b] - want[a]);
    const keep = new Set<number>();
    let acc = 0;
    for (const j of order) {
      if (acc >= 0.5) break;
      keep.add(j);
      acc += want[j];
    }
    for (const c of await chips(page))
      assert.equal(c.alpha > 0, keep.has(c.index), `${c.text} kept=${keep.has(c.index)} alpha=${c.alpha}`);
    // The bars, the editor heat and the matrix agree with the chips (issue 21: they listed every token).
    const bars = await page
      .locator('.barlist li[data-index]')
      .evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.index)));
    assert.deepEqual(
      bars.sort((a, b) => a - b),
      [...keep].sort((a, b) => a - b),
    );
    assert.match((await page.locator('.bars .hint').textContent()) ?? '', /top 50% of the row's mass/);
    const heat = await page.evaluate(() =>
      window.__fake.sent.filter((m) => 'type' in m && m.type === 'focusToken').at(-1),
    );
    const weights = (heat as { weights: number[] }).weights;
    for (const [j, w] of weights.entries()) assert.equal(w > 0, keep.has(j), `editor weight of token ${j}`);
    const dropped = order.find((j) => !keep.has(j) && want[j] > 0)!;
    const pixel = await page.evaluate(
      ([i, j, n]) => {
        const c = document.querySelector('#heatmap') as HTMLCanvasElement;
        const margin = Number(c.dataset.margin);
        const cell = Number(c.dataset.plot) / n;
        const dpr = c.width / c.getBoundingClientRect().width;
        const x = Math.floor((margin + (j + 0.5) * cell) * dpr);
        const y = Math.floor((margin + (i + 0.5) * cell) * dpr);
        return Array.from(c.getContext('2d')!.getImageData(x, y, 1, 1).data);
      },
      [4, dropped, bert.summary.n],
    );
    assert.ok(pixel[0] === pixel[1] && pixel[1] === pixel[2] && pixel[3] < 255, `blanked cell is grey: ${pixel}`);
  });

  it('"all heads" gives every token one stripe per head, from that head\'s row, with a legend', async () => {
    const { page } = await open(bert);
    await choose(page, 'layer', '1');
    await choose(page, 'head', 'all');
    const heads = bert.summary.model.heads[1];
    assert.equal(await page.locator('.head-key').count(), heads);
    await page.locator('.token[data-index="4"]').hover();
    await page.locator('.token[data-weights]').first().waitFor();
    for (const c of await chips(page)) {
      assert.equal(c.weights.length, heads);
      for (const [k, w] of c.weights.entries())
        assert.ok(Math.abs(w - row(bert, 1, k, 4)[c.index]) < 1e-6, `head ${k} ${c.text}`);
    }
    await choose(page, 'head', '1');
    await page.waitForFunction(() => window.__fake.requests('slice').some((p) => p.head === 1));
    await page.locator('.token[data-index="5"]').hover();
    const stripes = await page
      .locator('.token')
      .evaluateAll((els) => els.filter((e) => getComputedStyle(e).backgroundImage !== 'none').length);
    assert.equal(stripes, 0, 'back on one head, no stripes remain');
  });

  it('a fast mouse does not queue a request per token', async () => {
    const { page } = await open(bert);
    await choose(page, 'head', 'all');
    await page.evaluate(() =>
      document.querySelectorAll('.token').forEach((c) => {
        c.dispatchEvent(new MouseEvent('mouseenter'));
      }),
    );
    const last = bert.summary.n - 1;
    await page.waitForFunction(
      (i) =>
        document.querySelector(`.token[data-index="${i}"]`)?.classList.contains('focus') &&
        document.querySelector('.token[data-weights]'),
      last,
    );
    const sent = await page.evaluate(() => window.__fake.requests('rows').map((p) => p.index));
    assert.ok(sent.length <= 3, `sent ${sent.length} row requests for ${bert.summary.n} hovers`);
    assert.equal(sent.at(-1), last, 'the last request is for the token under the mouse');
  });

  it('clicking a thumbnail selects its layer and head', async () => {
    const { page } = await open(bert);
    await page.locator('.thumb[data-layer="1"][data-head="2"]').click();
    await page.waitForFunction(() => window.__fake.requests('slice').some((p) => p.layer === 1 && p.head === 2));
    assert.equal(await page.locator('#layer').evaluate((s) => (s as HTMLSelectElement).value), '1');
    assert.equal(await page.locator('#head').evaluate((s) => (s as HTMLSelectElement).value), '2');
    assert.equal(await page.locator('.thumb.selected').count(), 1);
    // Keyboard: the grid is one tab stop; arrows move, Enter selects.
    assert.equal(await page.locator('.thumb[tabindex="0"]').count(), 1);
    await page.locator('.thumb.selected').focus();
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => window.__fake.requests('slice').some((p) => p.layer === 0 && p.head === 1));
  });

  it('"rollout through layer 2" shows the rollout matrix: 0.5·mean + 0.5·I multiplied through the layers', async () => {
    const { page } = await open(bert);
    await choose(page, 'layer', 'r1');
    await page.waitForFunction(() =>
      window.__fake.requests('slice').some((p) => p.head === 'rollout' && p.layer === 1),
    );
    assert.equal(
      await page.locator('#head').evaluate((s) => (s as HTMLElement & { disabled: boolean }).disabled),
      true,
      'heads do not apply',
    );
    const n = bert.summary.n;
    const b = [0, 1].map((l) =>
      Array.from({ length: n }, (_, i) =>
        Array.from({ length: n }, (_, j) => {
          const heads = bert.summary.model.heads[l];
          let mean = 0;
          for (let h = 0; h < heads; h++) mean += row(bert, l, h, i)[j] / heads;
          return (mean + (i === j ? 1 : 0)) / 2;
        }),
      ),
    );
    const it = bert.summary.tokens.findIndex((t) => t.text === 'it');
    const want = Array.from({ length: n }, (_, j) => b[1][it].reduce((a, v, k) => a + v * b[0][k][j], 0));
    await page.waitForFunction(() =>
      (document.querySelector('#heatmap')?.getAttribute('aria-label') ?? '').includes('rollout'),
    );
    await page.locator(`.token[data-index="${it}"]`).hover();
    for (const c of await chips(page))
      assert.ok(Math.abs(c.weight - want[c.index]) < 1e-5, `${c.text}: ${c.weight} vs ${want[c.index]}`);
    assert.match((await page.locator('.bars h2').textContent()) ?? '', /rollout through layer 2/);
  });

  it('head search ranks every head by attention from one token to another; a result selects its head', async () => {
    const { page } = await open(bert);
    const it = bert.summary.tokens.findIndex((t) => t.text === 'it');
    const animal = bert.summary.tokens.findIndex((t) => t.text === 'animal');
    await choose(page, 'search-from', String(it));
    await choose(page, 'search-to', String(animal));
    await page.locator('#search-go').click();
    await page.locator('.rank').first().waitFor();
    const got = await page
      .locator('.rank')
      .evaluateAll((els) =>
        els.map((e) => [Number((e as HTMLElement).dataset.layer), Number((e as HTMLElement).dataset.head)]),
      );
    const want = bert.summary.model.heads
      .flatMap((h, l) => Array.from({ length: h }, (_, k) => ({ l, k, w: row(bert, l, k, it)[animal] })))
      .sort((a, b) => b.w - a.w);
    assert.deepEqual(
      got,
      want.map((x) => [x.l, x.k]),
    );
    const pct = parseFloat((await page.locator('.ranklist .pct').first().textContent()) ?? '');
    assert.ok(Math.abs(pct - want[0].w * 100) < 0.06);
    await page.locator('.rank').nth(1).click();
    await page.waitForFunction(
      ([l, k]) => window.__fake.requests('slice').some((p) => p.layer === l && p.head === k),
      [want[1].l, want[1].k],
    );
    await page.locator('vscode-button[data-preset="previous"]').click();
    await page.waitForFunction(() => /previous-token/.test(document.querySelector('.ranking h3')?.textContent ?? ''));
  });

  it('Export PNG sends a PNG of the matrix at the canvas size, with a title above and the colour scale below', async () => {
    const { page } = await open(bert);
    await page.locator('#more-toggle').click();
    await page.locator('#export-png').click();
    await page.waitForFunction(() => window.__fake.sent.some((m) => 'type' in m && m.type === 'exportPng'));
    const [dataUrl, w, h, dpr] = await page.evaluate(() => {
      const m = window.__fake.sent.find((x) => 'type' in x && x.type === 'exportPng') as { dataUrl: string };
      const c = document.querySelector('#heatmap') as HTMLCanvasElement;
      return [m.dataUrl, c.width, c.height, c.width / c.getBoundingClientRect().width] as const;
    });
    const png = Buffer.from(dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64');
    assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'PNG signature');
    assert.equal(png.subarray(12, 16).toString('ascii'), 'IHDR');
    assert.deepEqual(
      [png.readUInt32BE(16), png.readUInt32BE(20)],
      [w, h + Math.round(46 * dpr)],
      'the canvas width; its height plus 24 px of title and 22 px of colour scale',
    );
    await page.locator('#export-json').click();
    await page.waitForFunction(() => window.__fake.sent.some((m) => 'type' in m && m.type === 'exportJson'));
    assert.deepEqual(
      await page.evaluate(() => window.__fake.sent.find((m) => 'type' in m && m.type === 'exportJson')),
      {
        type: 'exportJson',
        analysisId: bert.summary.analysisId,
        layer: 0,
        head: 0,
      },
    );
  });

  it('hostile token text is shown as text and runs nothing', async () => {
    const hostile = structuredClone(bert);
    hostile.summary.tokens[2].text = '<img src=x onerror=alert(1)>';
    hostile.summary.tokens[3].text = '</script><script>alert(2)</script>';
    const { page, problems } = await open(hostile);
    await page.locator('.token[data-index="2"]').hover();
    await page.locator('.token[data-index="3"]').hover();
    assert.equal(await page.locator('.token[data-index="2"]').textContent(), '<img src=x onerror=alert(1)>');
    assert.equal(await page.locator('.token[data-index="3"]').textContent(), '</script><script>alert(2)</script>');
    assert.equal(await page.locator('#app img, #app script').count(), 0);
    await page.waitForTimeout(100);
    assert.deepEqual(problems, []);
  });

  it('the View control switches between the views', async () => {
    const { page } = await open(bert);
    const shown = () =>
      page.evaluate(() =>
        ['.tokens', '.matrix', '.grid', '.bars'].filter((q) => document.querySelector(q)!.checkVisibility()),
      );
    assert.deepEqual(await shown(), ['.tokens', '.matrix', '.grid', '.bars']);
    await choose(page, 'view', 'tokens');
    assert.deepEqual(await shown(), ['.tokens', '.bars']);
    await choose(page, 'view', 'matrix');
    assert.deepEqual(await shown(), ['.matrix', '.bars']);
    await choose(page, 'view', 'grid');
    assert.deepEqual(await shown(), ['.grid']);
    assert.equal(
      (await page.evaluate(() => window.__fake.state as { view: string })).view,
      'grid',
      'kept across reloads',
    );
  });

  it('Tab reaches every control and the tokens (the rest of the row behind More)', async () => {
    const { page } = await open(bert);
    await page.locator('#more-toggle').click();
    assert.equal(await page.locator('#more-toggle').getAttribute('aria-expanded'), 'true');
    await page.mouse.move(1, 1);
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    const seen: string[] = [];
    for (let i = 0; i < 22; i++) {
      await page.keyboard.press('Tab');
      seen.push(await page.evaluate(() => document.activeElement?.id || document.activeElement?.className || ''));
    }
    for (const id of [
      'view',
      'layer',
      'head',
      'direction',
      'threshold',
      'hide-special',
      'export-png',
      'export-json',
      'more-toggle',
      'tokens',
    ])
      assert.ok(seen.includes(id), `${id} in ${seen.join(' → ')}`);
  });

  it('restores layer, head and text after a reload', async () => {
    const state = {
      summary: bert.summary,
      sourceLabel: 'sentences.txt:1',
      sourceText: SENTENCE,
      layer: 1,
      head: 3,
      direction: 'row',
      hideSpecial: false,
      keep: 1,
      locked: null,
    };
    const { page } = await open({ ...bert, state });
    const req = await page.evaluate(() => window.__fake.requests('slice').at(-1));
    assert.deepEqual([req?.layer, req?.head], [1, 3]);
    assert.equal(await page.locator('#head').evaluate((s) => (s as HTMLSelectElement).value), '3');
    assert.equal((await page.evaluate(() => window.__fake.state as { sourceText: string })).sourceText, SENTENCE);
  });

  it('a lock follows its word to a new text (the same occurrence), and goes when the word is not there', async () => {
    const { page } = await open(bert);
    const it = bert.summary.tokens.findIndex((t) => t.text === 'it');
    await page.locator(`.token[data-index="${it}"]`).click();
    const locked = () => page.evaluate(() => (window.__fake.state as { locked: number | null }).locked);
    assert.equal(await locked(), it);
    // The same words in another order: "it" now sits elsewhere (what used to be locked by position was ".").
    const moved = [bert.summary.tokens[0], ...bert.summary.tokens.slice(1, -1).reverse(), bert.summary.tokens.at(-1)!];
    const post = (tokens: typeof moved) =>
      page.evaluate((m) => window.postMessage(m, '*'), {
        type: 'analysis',
        summary: { ...bert.summary, tokens },
        sourceLabel: 'another text',
      });
    await post(moved);
    await page.waitForFunction(() => document.querySelector('h1')?.textContent?.includes('another text'));
    const want = moved.findIndex((t) => t.text === 'it');
    assert.notEqual(want, it);
    assert.equal(await locked(), want);
    assert.equal(await page.locator('.token.focus').getAttribute('data-index'), String(want));
    await post(moved.map((t) => (t.text === 'it' ? { ...t, text: 'she' } : t)));
    await page.waitForFunction(() => (window.__fake.state as { locked: number | null }).locked === null);
  });

  it('a failed run greys what is shown (an earlier text) and its error box offers the ways forward', async () => {
    const { page } = await open(bert);
    await page.evaluate(() =>
      window.postMessage(
        {
          type: 'runFailed',
          title: 'other.txt:3',
          message: 'The model folder /x does not exist.',
          actions: ['selectModel', 'openSettings', 'retry'],
        },
        '*',
      ),
    );
    await page.waitForFunction(() => document.getElementById('app')?.classList.contains('stale'));
    assert.match((await page.locator('.status').textContent()) ?? '', /does not exist/);
    assert.match((await page.locator('h1').textContent()) ?? '', /other\.txt:3/);
    assert.equal(await page.locator('.tokens').evaluate((e) => getComputedStyle(e).pointerEvents), 'none');
    assert.deepEqual(await page.locator('.status vscode-button').allTextContents(), [
      'Select Model…',
      'Open Setting',
      'Try Again',
    ]);
    await page.locator('.status vscode-button', { hasText: 'Select Model…' }).click();
    assert.deepEqual(await page.evaluate(() => window.__fake.sent.filter((m) => 'type' in m && m.type === 'action')), [
      { type: 'action', action: 'selectModel' },
    ]);
    await page.evaluate((m) => window.postMessage(m, '*'), {
      type: 'analysis',
      summary: bert.summary,
      sourceLabel: 'again',
    });
    await page.waitForFunction(() => !document.getElementById('app')?.classList.contains('stale'));
  });

  it("hover glitches: a bar's outline goes with Esc; the tooltip stays inside the panel; locked, it names the crosshair's cell", async () => {
    const { page } = await open(bert);
    const it = bert.summary.tokens.findIndex((t) => t.text === 'it');
    await page.locator(`.token[data-index="${it}"]`).click();
    await page.locator('.barlist li[data-index]').first().hover();
    assert.equal(await page.locator('.token.peer').count(), 1, 'hovering a bar marks its token');
    await page.keyboard.press('Escape');
    await page.mouse.move(1, 1);
    assert.equal(await page.locator('.token.peer').count(), 0, 'no outline left behind');

    // Lock "it", then hover a cell in another row: the crosshair stays on "it"'s row and so does the tooltip.
    await page.locator(`.token[data-index="${it}"]`).click();
    const box = (await page.locator('#heatmap').boundingBox())!;
    const geo = await page.locator('#heatmap').evaluate((c) => [Number(c.dataset.margin), Number(c.dataset.plot)]);
    const n = bert.summary.n;
    const cellAt = (i: number, j: number) => ({
      x: box.x + geo[0] + (j + 0.5) * (geo[1] / n),
      y: box.y + geo[0] + (i + 0.5) * (geo[1] / n),
    });
    const p = cellAt(1, n - 1);
    await page.mouse.move(p.x, p.y);
    const tip = (await page.locator('.tooltip').textContent()) ?? '';
    assert.match(tip, /^query it → key \[SEP\]: /, tip);
    const want = row(bert, 0, 0, it)[n - 1];
    assert.ok(Math.abs(Number.parseFloat(tip.split(': ')[1]) - want * 100) < 0.01, `${tip} vs ${want}`);
    const tipBox = (await page.locator('.tooltip').boundingBox())!;
    const wrap = (await page.locator('.matrix').boundingBox())!;
    assert.ok(tipBox.x + tipBox.width <= wrap.x + wrap.width + 0.5, 'the tooltip is not cut off at the right edge');
  });

  it('Find heads starts on two different words (From = the locked token) and its lists open upwards', async () => {
    const { page } = await open(bert);
    const value = (id: string) => page.locator(`#${id}`).evaluate((e) => (e as HTMLSelectElement).value);
    assert.deepEqual(
      [await value('search-from'), await value('search-to')],
      ['1', '2'],
      'first two words, not "1: The" twice',
    );
    assert.deepEqual(
      await page.evaluate(() =>
        ['search-from', 'search-to'].map(
          (id) => (document.getElementById(id) as unknown as { position: string }).position,
        ),
      ),
      ['above', 'above'],
    );
    const it = bert.summary.tokens.findIndex((t) => t.text === 'it');
    await page.locator(`.token[data-index="${it}"]`).click();
    assert.equal(await value('search-from'), String(it));
  });

  for (const [theme, bg, fg] of [
    ['Dark Modern', '#1f1f1f', '#cccccc'],
    ['Light Modern', '#ffffff', '#3b3b3b'],
    ['High Contrast', '#000000', '#ffffff'],
  ] as const) {
    it(`every shaded chip's text reads at 4.5:1 or better (WCAG) in ${theme}`, async () => {
      const { page } = await open(bert);
      await page.evaluate(
        ([b, f]) => {
          document.body.style.background = b;
          document.body.style.color = f;
        },
        [bg, fg],
      );
      const it = bert.summary.tokens.findIndex((t) => t.text === 'it');
      await page.locator(`.token[data-index="${it}"]`).hover();
      const seen = await page.locator('.token').evaluateAll((els) => ({
        base: getComputedStyle(document.body).backgroundColor,
        chips: els.map((e) => ({
          text: e.textContent,
          bg: getComputedStyle(e).backgroundColor,
          fg: getComputedStyle(e).color,
        })),
      }));
      // WCAG 2 contrast, computed here from the colours the page reports (independent of the panel's own code).
      const rgb = (css: string) => (/rgba?\(([^)]*)\)/.exec(css)?.[1] ?? '0,0,0').split(',').map(Number);
      const lum = (c: number[]) =>
        [0, 1, 2]
          .map((i) => c[i] / 255)
          .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4))
          .reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i], 0);
      const base = rgb(seen.base);
      const ratios = seen.chips.map((c) => {
        const chip = rgb(c.bg);
        const a = chip.length === 4 ? chip[3] : 1;
        const eff = [0, 1, 2].map((i) => chip[i] * a + base[i] * (1 - a));
        const [hi, lo] = [lum(eff), lum(rgb(c.fg))].sort((x, y) => y - x);
        return { text: c.text, alpha: a, ratio: (hi + 0.05) / (lo + 0.05) };
      });
      assert.ok(
        ratios.some((r) => r.alpha > 0.99),
        'the most attended chip is fully shaded',
      );
      for (const r of ratios) assert.ok(r.ratio >= 4.5, `${r.text}: ${r.ratio.toFixed(2)}:1 at shade ${r.alpha}`);
    });
  }

  it('predict first: the row stays hidden until the learner clicks a guess, then says how close it was', async () => {
    const { page } = await open(bert);
    await page.locator('#predict-first').evaluate((box) => {
      (box as HTMLInputElement).checked = true;
      box.dispatchEvent(new Event('change'));
    });
    const it = bert.summary.tokens.findIndex((t) => t.text === 'it');
    const street = bert.summary.tokens.findIndex((t) => t.text === 'street');
    await page.locator(`.token[data-index="${it}"]`).click();
    await page.locator(`.token[data-index="${street - 1}"]`).hover();
    assert.ok(
      (await chips(page)).every((c) => c.alpha === 0),
      'nothing is revealed before the guess, not even on hover',
    );
    assert.match((await page.locator('.bars .prompt').textContent()) ?? '', /Where does "it" look most\?/);
    await page.locator(`.token[data-index="${street}"]`).click();
    const want = row(bert, 0, 0, it);
    const rank = 1 + want.filter((w) => w > want[street]).length;
    const guess = (await page.locator('.bars .guess').textContent()) ?? '';
    assert.match(
      guess,
      new RegExp(
        `"street" gets ${(want[street] * 100).toFixed(1)}% of "it"'s attention: rank ${rank} of ${bert.summary.n}`,
      ),
    );
    assert.ok(
      (await chips(page)).some((c) => c.alpha > 0.99),
      'then the row is shown',
    );
    assert.deepEqual(
      (await chips(page)).filter((c) => c.focus).map((c) => c.index),
      [it],
    );
  });

  it('a comparison from Compare Two Texts lists heads by flip, and a click selects the head', async () => {
    const { page } = await open(bert);
    const heads = [
      { layer: 1, head: 2, score: 0.42, a: 0.4, b: -0.02 },
      { layer: 0, head: 1, score: -0.1, a: 0.05, b: 0.15 },
    ];
    await page.evaluate((m) => window.postMessage(m, '*'), {
      type: 'comparison',
      title: 'Heads whose attention from "it" moves',
      heads,
    });
    await page.locator('.ranklist.comparison .rank').first().waitFor();
    assert.deepEqual(await page.locator('.ranklist.comparison .pct').allTextContents(), [
      '+42.0 pts (A +40.0, B −2.0)',
      '−10.0 pts (A +5.0, B +15.0)',
    ]);
    await page.locator('.ranklist.comparison .rank').first().click();
    await page.waitForFunction(() => window.__fake.requests('slice').some((p) => p.layer === 1 && p.head === 2));
  });

  it('guidance: every control explains itself; no hide-special control without special tokens; rollout says the heads are averaged', async () => {
    const { page } = await open(bert);
    const untitled = await page.evaluate(() =>
      [
        'view',
        'layer',
        'head',
        'direction',
        'threshold',
        'hide-special',
        'predict-first',
        'export-png',
        'export-json',
        'more-toggle',
      ]
        .map((id) => document.getElementById(id)!)
        .filter((e) => !(e.title || e.closest('[title]')?.getAttribute('title')))
        .map((e) => e.id),
    );
    assert.deepEqual(untitled, [], 'controls without a tooltip');
    assert.match((await page.locator('.meta').textContent()) ?? '', /2 layers, 2, 4 heads \(layer by layer\)/);
    // Grouped-query attention: maps per query head, the header names the shared key/value heads and the dtype.
    const llama = await open(await record('llama-tiny', SENTENCE));
    assert.match(
      (await llama.page.locator('.meta').textContent()) ?? '',
      /causal · 2 layers, 4 heads \(2 KV heads\) each · fp32 ·/,
    );
    await choose(page, 'layer', 'r1');
    assert.equal(await page.locator('#head').evaluate((s) => (s as HTMLSelectElement).value), 'rollout');
    assert.match((await page.locator('#head').textContent()) ?? '', /averaged \(rollout\)/);
    const gpt = await open(gpt2);
    assert.equal(
      gpt2.summary.tokens.some((t) => t.special),
      false,
    );
    assert.equal(await gpt.page.locator('#hide-special').evaluate((e) => (e as HTMLElement).hidden), true);
  });

  it("while the model writes, the strip and the watched head's matrix grow a row per token; the analysis replaces them", async () => {
    // Events and reply recorded from the engine continuing a prompt on the Llama fixture, watching layer 1 head 2.
    const engine = new Engine();
    const events: unknown[] = [];
    let reply: GenerateReply;
    try {
      reply = await engine.generate(
        {
          model: join(FIXTURES, 'llama-tiny'),
          dtype: 'fp32',
          text: 'Arjun ate the pizza because',
          allowRemote: false,
          maxNewTokens: 4,
          watch: { layer: 1, head: 2 },
        },
        (e) => {
          if ('live' in e) events.push({ type: 'liveRows', live: e.live });
          else if ('token' in e)
            events.push({ type: 'generating', text: e.token.text, token: { ...e.token, index: e.index } });
        },
      );
    } finally {
      await engine.dispose();
    }
    const { page } = await open(gpt2);
    const P = reply.promptTokens;
    for (const [i, e] of events.entries()) {
      await page.evaluate((m) => window.postMessage(m, '*'), e);
      // The prompt's rows first, then a token and its row, in turn: after each row event the matrix is that tall.
      const rows = P + i / 2;
      if (i % 2 === 0) await page.waitForFunction((n) => document.body.dataset.liveRows === String(n), rows);
    }
    assert.ok(await page.locator('#app').evaluate((e) => e.classList.contains('writing')));
    assert.equal(await page.locator('.token').count(), reply.n);
    assert.equal(await page.locator('.token.generated').count(), reply.generated.length);
    assert.match(
      (await page.locator('#heatmap').getAttribute('aria-label')) ?? '',
      new RegExp(`while the model writes, layer 1, head 2, ${reply.n} by ${reply.n}`),
    );
    assert.match((await page.locator('.status').textContent()) ?? '', /^Writing: /);
    assert.equal(await page.locator('.tokens').evaluate((e) => getComputedStyle(e).pointerEvents), 'none');
    // The finished analysis takes over: hover works again, on the full sequence.
    await page.evaluate((m) => window.postMessage(m, '*'), { type: 'analysis', summary: reply, sourceLabel: 'done' });
    await page.waitForFunction(() => !document.getElementById('app')?.classList.contains('writing'));
    assert.equal(await page.locator('.tokens').evaluate((e) => getComputedStyle(e).pointerEvents), 'auto');
  });

  it("the logit lens of a focused token lists every layer's top tokens, the last marked as the output", async () => {
    const engine = new Engine();
    let fixture: object;
    let lens: NextToken[][];
    try {
      const reply = await engine.generate({
        model: join(FIXTURES, 'gpt2-tiny'),
        dtype: 'fp32',
        text: SENTENCE,
        allowRemote: false,
        maxNewTokens: 3,
      });
      const layers: number[][] = reply.model.heads.map(() => []);
      for (const { layer, head } of everyHead(reply.model.heads))
        layers[layer].push(
          ...new Float32Array((await engine.slice({ analysisId: reply.analysisId, layer, head })).buffer),
        );
      const index = reply.promptTokens - 1;
      lens = (await engine.logitLens({ analysisId: reply.analysisId, index })).layers!;
      fixture = { summary: reply, layers, sourceText: SENTENCE, lens: { [index]: lens } };
      const { page } = await open(fixture);
      await page.locator('.token').nth(index).click();
      await page.locator('.lens vscode-button').click();
      await page.locator('.lens li').first().waitFor();
      const items = await page.locator('.lens li').allTextContents();
      assert.equal(items.length, reply.model.layers);
      assert.match(items.at(-1)!, /^layer \d+ \(output\): /);
      for (const [l, text] of items.entries()) assert.ok(text.includes(`${(lens[l][0].p * 100).toFixed(1)}%`), text);
      assert.deepEqual(await page.evaluate(() => window.__fake.requests('logitLens')), [
        { analysisId: reply.analysisId, index },
      ]);
      // Another token: the engine's answer for a graph without a lens is shown as it is.
      await page.locator('.token').nth(0).click();
      await page.locator('.lens vscode-button').click();
      await page.locator('.lens p', { hasText: 'does not allow a logit lens' }).waitFor();
    } finally {
      await engine.dispose();
    }
  });

  it('an encoder–decoder: hovering an output token shades the source by its cross row, a source token the output by its column', async () => {
    const engine = new Engine();
    let fixture: { reply: Seq2SeqReply; maps: Record<AttentionFamily, number[][]> };
    try {
      const reply = await engine.seq2seq({
        model: join(FIXTURES, 't5-tiny'),
        dtype: 'fp32',
        text: 'Hello, how are you?',
        allowRemote: false,
        maxNewTokens: 5,
      });
      const maps = { encoder: [], decoder: [], cross: [] } as Record<AttentionFamily, number[][]>;
      for (const family of ['encoder', 'decoder', 'cross'] as const)
        for (let layer = 0; layer < 2; layer++) {
          const all: number[] = [];
          for (let head = 0; head < 4; head++) {
            const s = await engine.familySlice({ analysisId: reply.analysisId, family, layer, head });
            all.push(...new Float32Array(s.buffer));
          }
          maps[family].push(all);
        }
      fixture = { reply, maps };
    } finally {
      await engine.dispose();
    }
    const { page, problems } = await browser.open({ seq2seq: fixture, sourceLabel: 'lesson.txt:1' });
    await page.waitForFunction(() => document.body.dataset.seq2seqPainted !== undefined);
    const S = fixture.reply.tokens.length;
    const T = fixture.reply.targetTokens.length;
    assert.equal(await page.locator('.seq2seq .s2s-tokens.source .token').count(), S);
    assert.equal(await page.locator('.seq2seq .s2s-tokens.target .token').count(), T);
    assert.match((await page.locator('#s2s-heatmap').getAttribute('aria-label')) ?? '', new RegExp(`${T} by ${S}`));
    assert.match((await page.locator('.status').textContent()) ?? '', /translated \(with its task prefix/);
    const weights = (strip: string) =>
      page
        .locator(`.seq2seq .s2s-tokens.${strip} .token`)
        .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-weight'))));
    // Layer 1, head 1 (the first of the layer's heads) of the cross family is shown first.
    const cross = fixture.maps.cross[0].slice(0, T * S);
    const t = T - 1;
    await page.locator('.seq2seq .s2s-tokens.target .token').nth(t).hover();
    const row = await weights('source');
    row.forEach((w, j) => {
      assert.ok(Math.abs(w - cross[t * S + j]) < 1e-6, `source ${j}: ${w} vs ${cross[t * S + j]}`);
    });
    // Lines from the hovered output token to the three source tokens it weighs most.
    assert.equal(await page.locator('.s2s-links').getAttribute('data-links'), '3');
    // The focus bars rank that row: the top bar is its largest weight.
    const crossRow = cross.slice(t * S, (t + 1) * S);
    const topPct = parseFloat((await page.locator('#s2s-bars .pct').first().textContent()) ?? '');
    assert.ok(Math.abs(topPct - Math.max(...crossRow) * 100) < 0.06, `top bar ${topPct}`);
    assert.match((await page.locator('#s2s-bars h2').textContent()) ?? '', /looks at/);
    // The family's layer × head grid: every map, and a click selects one.
    await page.waitForFunction(() => document.body.dataset.seq2seqGrid?.endsWith(':cross'));
    assert.equal(await page.locator('#s2s-grid canvas.thumb').count(), 2 * 4);
    assert.equal(await page.locator('#s2s-grid canvas.thumb.selected').getAttribute('data-layer'), '0');
    await page.locator('#s2s-grid canvas.thumb[data-layer="1"][data-head="2"]').click();
    await page.waitForFunction(() => document.body.dataset.seq2seqPainted?.endsWith(':cross:1:2'));
    assert.equal(await page.locator('#s2s-layer').inputValue(), '1');
    assert.equal(await page.locator('#s2s-head').inputValue(), '2');
    await page.locator('#s2s-layer').selectOption('0');
    await page.locator('#s2s-head').selectOption('0');
    await page.waitForFunction(() => document.body.dataset.seq2seqPainted?.endsWith(':cross:0:0'));
    await page.locator('.seq2seq .s2s-tokens.source .token').nth(2).hover();
    const column = await weights('target');
    column.forEach((w, i) => {
      assert.ok(Math.abs(w - cross[i * S + 2]) < 1e-6, `output ${i}`);
    });
    // The encoder family: a source token shades the source by its row.
    await page.locator('#s2s-family').selectOption('encoder');
    await page.waitForFunction(() => document.body.dataset.seq2seqPainted?.includes(':encoder:'));
    await page.locator('.seq2seq .s2s-tokens.source .token').nth(1).hover();
    const enc = fixture.maps.encoder[0].slice(0, S * S);
    (await weights('source')).forEach((w, j) => {
      assert.ok(Math.abs(w - enc[S + j]) < 1e-6, `encoder row 1, key ${j}`);
    });
    // Self-attention families offer rollout through the layer (cross-attention does not).
    await page.locator('#s2s-head').selectOption('rollout');
    await page.waitForFunction(() => document.body.dataset.seq2seqPainted?.endsWith(':encoder:0:rollout'));
    await page.locator('#s2s-family').selectOption('cross');
    await page.waitForFunction(() => document.body.dataset.seq2seqPainted?.endsWith(':cross:0:0'));
    assert.equal(await page.locator('#s2s-head option[value="rollout"]').count(), 0);
    await page.locator('#s2s-family').selectOption('encoder');
    await page.waitForFunction(() => document.body.dataset.seq2seqPainted?.endsWith(':encoder:0:0'));
    assert.match((await page.locator('#s2s-heatmap').getAttribute('aria-label')) ?? '', new RegExp(`${S} by ${S}`));
    // Export: the view on screen goes to the host, which validates it and writes the JSON.
    await page.locator('#s2s-head').selectOption('mean');
    await page.locator('#s2s-export-json').click();
    await page.locator('#s2s-export-png').click();
    const sent = await page.evaluate(() =>
      window.__fake.sent.filter((m) => 'type' in m && (m.type === 'exportSeq2SeqJson' || m.type === 'exportPng')),
    );
    assert.deepEqual(sent[0], {
      type: 'exportSeq2SeqJson',
      analysisId: fixture.reply.analysisId,
      family: 'encoder',
      layer: 0,
      head: 'mean',
    });
    assert.match((sent[1] as { dataUrl: string }).dataUrl, /^data:image\/png;base64,/);
    assert.deepEqual(problems, [], 'no CSP violations or errors');
  });
});
