// UI tests from a user's point of view: the real workbench in Chromium, driven by keyboard and mouse.
import { strict as assert } from 'node:assert';
import { choose, FLAVOUR, launch, screenshot, showAttentionOnFirstSentence, VSIX } from './workbench.mjs';

const SENTENCE = "The animal didn't cross the street because it was too tired.";

describe(`Show Attention in the real VS Code UI (${FLAVOUR})`, function () {
  this.timeout(180_000);
  let vscode;
  let page;
  let panel;

  before(async () => {
    vscode = await launch();
    page = vscode.page;
  });

  after(async () => {
    await screenshot(page, 'show-attention');
    await vscode?.close();
  });

  it('opens the file, selects the sentence and runs Show Attention from the command palette', async () => {
    panel = await showAttentionOnFirstSentence(page);
    await panel.locator('.token').nth(5).waitFor({ timeout: 120_000 });
    const devHost = /Extension Development Host/.test(await page.title());
    assert.equal(devHost, !VSIX, VSIX ? 'the installed extension runs, not a development folder' : 'development mode');
  });

  it('shows the tokens of the sentence', async () => {
    const tokens = await panel.locator('.token').allTextContents();
    assert.deepEqual(tokens.slice(0, 3), ['[CLS]', 'The', 'animal']);
    assert.ok(tokens.includes('it'));
    assert.equal(tokens.at(-1), '[SEP]');
    const rebuilt = tokens.filter((t) => !/^\[(CLS|SEP)\]$/.test(t)).join('');
    assert.equal(rebuilt, SENTENCE.replace(/\s/g, ''), 'the chips carry the original text');
  });

  it('hovering "it" shades the other tokens in proportion to its attention row', async () => {
    await panel.locator('.token', { hasText: /^it$/ }).first().hover();
    await panel.locator('.token[data-weight]').first().waitFor();
    const chips = await panel.locator('.token').evaluateAll((els) =>
      els.map((e) => ({
        text: e.textContent,
        weight: Number(e.getAttribute('data-weight')),
        bg: getComputedStyle(e).backgroundColor,
      })),
    );
    const sum = chips.reduce((a, c) => a + c.weight, 0);
    assert.ok(Math.abs(sum - 1) < 1e-4, `the row sums to 1 (got ${sum})`);
    const max = Math.max(...chips.map((c) => c.weight));
    for (const c of chips) {
      const parts = /rgba?\(([^)]*)\)/.exec(c.bg)?.[1].split(',').map(Number) ?? [];
      const a = parts.length === 4 ? parts[3] : 1;
      assert.ok(Math.abs(a - c.weight / max) < 0.02, `${c.text}: shade ${a} vs weight ${c.weight / max}`);
    }
    assert.ok(new Set(chips.map((c) => c.weight.toFixed(3))).size > 3, 'shades differ between tokens');
    const bars = await panel.locator('.barlist .pct').allTextContents();
    assert.ok(bars.length >= 3);
    // Heat in the editor: the source sentence gets shaded token backgrounds while "it" is focused.
    const shaded = page.locator('.monaco-editor .view-overlays .cdr');
    await shaded.first().waitFor({ timeout: 10_000 });
    assert.ok((await shaded.count()) >= 2, 'several tokens shaded in the editor');
  });

  it('rollout and head search work in the real panel', async () => {
    await choose(panel, 'layer', 'r1');
    await panel.locator('#heatmap[aria-label*="rollout through layer 2"]').waitFor({ timeout: 20_000 });
    const tokens = await panel.locator('.token').allTextContents();
    await choose(panel, 'search-from', String(tokens.indexOf('it')));
    await choose(panel, 'search-to', String(tokens.indexOf('animal')));
    await panel.locator('#search-go').click();
    await panel.locator('.rank').first().waitFor({ timeout: 20_000 });
    assert.equal(await panel.locator('.rank').count(), 6, 'every layer × head of the fixture ranked');
    await panel.locator('.search').scrollIntoViewIfNeeded();
    await screenshot(page, 'head-search');
    await panel.locator('.rank').first().click();
    await panel.locator('#heatmap[aria-label*="head"]').waitFor({ timeout: 20_000 });
    await panel.locator('#heatmap').scrollIntoViewIfNeeded();
  });

  it('draws a heatmap that is not blank', async () => {
    const colours = await panel.locator('#heatmap').evaluate((c) => {
      const ctx = c.getContext('2d');
      const { data } = ctx.getImageData(0, 0, c.width, c.height);
      const seen = new Set();
      for (let i = 0; i < data.length; i += 4 * 7) seen.add(`${data[i]},${data[i + 1]},${data[i + 2]},${data[i + 3]}`);
      return seen.size;
    });
    assert.ok(colours > 5, `heatmap has ${colours} distinct colours`);
  });

  it('shows the attention cost in the status bar', async () => {
    // The item belongs to text editors: focus the editor again after working in the panel.
    await page.locator('.view-line', { hasText: 'The animal' }).first().click();
    const item = page.locator('.statusbar-item', { hasText: 'tok · N²' }).first();
    await item.waitFor({ timeout: 30_000 });
    assert.match(await item.textContent(), /\d+ tok · N² = \d+/);
  });
});
