// Show Attention on an encoder–decoder in the real workbench (issue 15): the T5 fixture translates the lesson's first
// sentence, the panel shows the source and output strips, and hovering an output token shades the source by that
// token's cross-attention row — checked against the command line's JSON for the same text (layer 1, head 1).
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FLAVOUR, launch, root, runCommand, screenshot, showAttentionOnFirstSentence } from './workbench.mjs';

const T5 = join(root, 'test', 'fixtures', 'models', 't5-tiny');
const NLLB = join(root, 'test', 'fixtures', 'models', 'nllb-tiny');
const SENTENCE = "The animal didn't cross the street because it was too tired.";

/** The command line's JSON for the same model and text (the engine without VS Code). */
function cliJson(...args) {
  const model = args[0] === NLLB ? args.shift() : T5;
  const r = spawnSync(
    process.execPath,
    [join(root, 'dist', 'cli.js'), 'analyze', '--model', model, '--text', SENTENCE, ...args, '--json', '--offline'],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** Hovers output token t and checks the source shading against the CLI's cross row for it. */
async function hoverMatchesCrossRow(panel, want, t) {
  await panel.locator('.seq2seq .s2s-tokens.target .token').nth(t).hover();
  const weights = await panel
    .locator('.seq2seq .s2s-tokens.source .token')
    .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-weight'))));
  const row = want.attention.matrix[t];
  assert.equal(weights.length, row.length);
  weights.forEach((w, j) => {
    assert.ok(Math.abs(w - row[j]) < 1e-5, `source token ${j}: ${w} vs ${row[j]}`);
  });
}

describe(`Show Attention on an encoder–decoder (${FLAVOUR})`, function () {
  this.timeout(180_000);
  let vscode;
  let page;

  before(async () => {
    // A copy of the workspace: a test that types must never be able to edit the fixture the other suites read.
    const folder = mkdtempSync(join(tmpdir(), 'al-translate-'));
    cpSync(join(root, 'test', 'fixtures', 'workspace'), folder, { recursive: true });
    vscode = await launch({ folder, settings: { 'attentionLens.model': T5, 'attentionLens.maxNewTokens': 6 } });
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
    const want = cliJson('--generate', '6');
    const source = await panel.locator('.seq2seq .s2s-tokens.source .token').allTextContents();
    const target = await panel.locator('.seq2seq .s2s-tokens.target .token').allTextContents();
    assert.equal(source.length, want.n, 'the source as the encoder read it (task prefix included)');
    assert.equal(target.length, want.targetTokens.length, 'the start token and the generated ones');
    assert.match(source.slice(0, 4).join(' '), /translate\s*English\s*to\s*German/);
    await hoverMatchesCrossRow(panel, want, target.length - 1);
    await screenshot(page, 'translate-hover');
    assert.match(
      (await panel.locator('.seq2seq .hint').textContent()) ?? '',
      /looks in the source \(its cross-attention row\)/,
    );
  });

  it('Show Attention for a Translation… reads the typed translation (teacher forcing)', async () => {
    const target = 'Bonjour, comment allez-vous ?';
    await page.locator('.view-line', { hasText: 'The animal' }).first().click();
    await page.keyboard.press('Home');
    await page.keyboard.press('Shift+End');
    await runCommand(page, 'Attention Lens: Show Attention for a Translation…', 'Show Attention for a Translation…');
    // Type only once the input box (its title) is up, so nothing lands in the editor.
    await page.locator('.quick-input-widget', { hasText: 'Show Attention for a Translation' }).waitFor();
    await page.locator('.quick-input-widget input').fill(target);
    await page.keyboard.press('Enter');
    const panel = page.frameLocator('iframe.webview.ready').first().frameLocator('iframe#active-frame');
    await panel.locator('.status', { hasText: 'read the given translation' }).waitFor({ timeout: 60_000 });
    const want = cliJson('--target', target);
    const shown = await panel.locator('.seq2seq .s2s-tokens.target .token').allTextContents();
    assert.equal(shown.length, want.targetTokens.length, 'the start token and the typed translation, token by token');
    assert.match(shown.join('').replace(/\s/g, ''), /Bonjour,commentallez-vous\?/);
    assert.equal(await panel.locator('.seq2seq .s2s-tokens.target .token.generated').count(), 0, 'nothing generated');
    await screenshot(page, 'translate-given');
  });
});

describe(`Show Attention on a many-to-many translator (${FLAVOUR})`, function () {
  this.timeout(180_000);
  let vscode;

  before(async () => {
    const folder = mkdtempSync(join(tmpdir(), 'al-translate-nllb-'));
    cpSync(join(root, 'test', 'fixtures', 'workspace'), folder, { recursive: true });
    const settings = { 'attentionLens.model': NLLB, 'attentionLens.maxNewTokens': 4 };
    vscode = await launch({ folder, settings: { ...settings, 'attentionLens.targetLanguage': 'deu_Latn' } });
  });

  after(async () => {
    await screenshot(vscode.page, 'translate-nllb');
    await vscode?.close();
  });

  it('translates into the language of attentionLens.targetLanguage and says which; hover follows the cross row', async () => {
    const panel = await showAttentionOnFirstSentence(vscode.page);
    await panel.locator('body[data-seq2seq-painted]').waitFor({ timeout: 120_000 });
    await panel.locator('.status', { hasText: 'from eng_Latn to deu_Latn' }).waitFor({ timeout: 30_000 });
    const source = await panel.locator('.seq2seq .s2s-tokens.source .token').allTextContents();
    const target = await panel.locator('.seq2seq .s2s-tokens.target .token').allTextContents();
    assert.equal(source[0].trim(), 'eng_Latn', 'the source language leads the source');
    assert.equal(target[1].trim(), 'deu_Latn', 'the target language is written first');
    const want = cliJson(NLLB, '--target-lang', 'deu_Latn', '--generate', '4');
    assert.equal(target.length, want.targetTokens.length);
    await hoverMatchesCrossRow(panel, want, target.length - 1);
  });
});
