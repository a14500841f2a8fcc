// Show Attention on an encoder–decoder in the real workbench (issue 15): the T5 fixture translates the lesson's first
// sentence, the panel shows the source and output strips, and hovering an output token shades the source by that
// token's cross-attention row — checked against the command line's JSON for the same text (layer 1, head 1).
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { FLAVOUR, launch, root, screenshot, showAttentionOnFirstSentence } from './workbench.mjs';

const T5 = join(root, 'test', 'fixtures', 'models', 't5-tiny');
const SENTENCE = "The animal didn't cross the street because it was too tired.";

describe(`Show Attention on an encoder–decoder (${FLAVOUR})`, function () {
  this.timeout(180_000);
  let vscode;
  let page;

  before(async () => {
    vscode = await launch({ settings: { 'attentionLens.model': T5, 'attentionLens.maxNewTokens': 6 } });
    page = vscode.page;
  });

  after(async () => {
    await screenshot(page, 'translate');
    await vscode?.close();
  });

  it("translates the selection; an output token's hover shades the source by its cross-attention row", async () => {
    const panel = await showAttentionOnFirstSentence(page);
    await panel.locator('.seq2seq .s2s-tokens.target .token').first().waitFor({ timeout: 120_000 });
    await panel.locator('body[data-seq2seq-painted]').waitFor({ timeout: 30_000 });
    const cli = spawnSync(
      process.execPath,
      [
        join(root, 'dist', 'cli.js'),
        'analyze',
        '--model',
        T5,
        '--text',
        SENTENCE,
        '--generate',
        '6',
        '--json',
        '--offline',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(cli.status, 0, cli.stderr);
    const want = JSON.parse(cli.stdout);
    const source = await panel.locator('.seq2seq .s2s-tokens.source .token').allTextContents();
    const target = await panel.locator('.seq2seq .s2s-tokens.target .token').allTextContents();
    assert.equal(source.length, want.n, 'the source as the encoder read it (task prefix included)');
    assert.equal(target.length, want.targetTokens.length, 'the start token and the generated ones');
    assert.match(source.slice(0, 4).join(' '), /translate\s*English\s*to\s*German/);
    const t = target.length - 1;
    await panel.locator('.seq2seq .s2s-tokens.target .token').nth(t).hover();
    const weights = await panel
      .locator('.seq2seq .s2s-tokens.source .token')
      .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-weight'))));
    const row = want.attention.matrix[t];
    weights.forEach((w, j) => {
      assert.ok(Math.abs(w - row[j]) < 1e-5, `source token ${j}: ${w} vs ${row[j]}`);
    });
    assert.match(
      (await panel.locator('.seq2seq .hint').textContent()) ?? '',
      /looks in the source \(its cross-attention row\)/,
    );
  });
});
