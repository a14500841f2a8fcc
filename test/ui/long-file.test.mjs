// Show Attention for This File in the real workbench (issue 17): a ~3,000-token source file and the tiny Llama that
// reads 8,192 positions. The whole file becomes one long analysis; the panel shows the overview, says which
// characters it covers, and hovering the matrix gives the exact row — checked against the command line's --row.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { longSource } from '../../scripts/harness/long-source.mjs';
import { FLAVOUR, launch, root, runCommand, screenshot } from './workbench.mjs';

/** About 3,000 tokens (131 lines of about 23). */
const TEXT = longSource(131);

// Plain attention (MatMul → Softmax → MatMul) and one GroupQueryAttention per layer (long-fused.ts).
for (const [folder, label] of [
  ['llama-tiny-long', ''],
  ['llama-tiny-long-gqa', ', GroupQueryAttention'],
]) {
  const MODEL = join(root, 'test', 'fixtures', 'models', folder);
  describe(`Show Attention for This File on a long document (${FLAVOUR}${label})`, function () {
    this.timeout(240_000);
    let vscode;
    let page;
    let file;

    before(async () => {
      const folder = mkdtempSync(join(tmpdir(), 'al-long-file-'));
      cpSync(join(root, 'test', 'fixtures', 'workspace'), folder, { recursive: true });
      file = join(folder, 'steps.js');
      writeFileSync(file, TEXT);
      vscode = await launch({ folder, settings: { 'attentionLens.model': MODEL } });
      page = vscode.page;
    });

    after(async () => {
      await screenshot(page, `long-file${label ? '-gqa' : ''}`);
      await vscode?.close();
    });

    it('analyses the whole file as a long analysis; hovering gives the exact row', async () => {
      await page.keyboard.press('Control+P');
      await page.locator('.quick-input-widget input').waitFor();
      await page.keyboard.type('steps.js');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'steps.js' }).first().click();
      await page.locator('.view-line', { hasText: 'function step0' }).first().click();
      await runCommand(page, 'Attention Lens: Show Attention for This File', 'Show Attention for This File');
      const panel = page.frameLocator('iframe.webview.ready').first().frameLocator('iframe#active-frame');
      await panel.locator('body[data-long-painted^="overview:"]').waitFor({ timeout: 120_000 });
      const cli = (...args) => {
        const r = spawnSync(
          process.execPath,
          [join(root, 'dist', 'cli.js'), 'analyze', '--model', MODEL, '--file', file, '--offline', ...args],
          { encoding: 'utf8' },
        );
        assert.equal(r.status, 0, r.stderr);
        return JSON.parse(r.stdout);
      };
      const n = cli('--overview', '4096').n;
      assert.ok(n >= 2900 && n <= 3300, `about 3,000 tokens (${n})`);
      assert.match(
        (await panel.locator('#long-caption').textContent()) ?? '',
        new RegExp(`${n.toLocaleString('en-US')} tokens`),
      );
      assert.match((await panel.locator('.status').textContent()) ?? '', /Analysed the whole text/);
      assert.ok((await panel.locator('.long-token').count()) < 60, 'the token list is virtualised');
      // Hover a cell: its query's exact row arrives; the top focus bar is that row's largest weight.
      await panel.locator('#long-heatmap').scrollIntoViewIfNeeded();
      const box = await panel.locator('#long-heatmap').boundingBox();
      await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.8);
      await panel.locator('body[data-long-row]').waitFor({ timeout: 30_000 });
      const at = (await panel.locator('body').getAttribute('data-long-row')).split(':').map(Number);
      const row = cli('--row', String(at[1]), '--layer', '0', '--head', '0').attention.weights;
      const pct = parseFloat((await panel.locator('#long-bars .pct').first().textContent()) ?? '');
      assert.ok(
        Math.abs(pct - Math.max(...row) * 100) < 0.06,
        `top bar ${pct}% vs the CLI's ${Math.max(...row) * 100}%`,
      );
      await screenshot(page, `long-file-hover${label ? '-gqa' : ''}`);
    });
  });
}
