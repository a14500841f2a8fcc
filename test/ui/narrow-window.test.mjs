// The first screen at 1000×700 (issue 21): after Show Attention and a click on "it", the tokens, the focus token's
// bars and the first five rows of the heatmap are all in the panel's view without scrolling. Checked against their
// bounding rectangles inside the real webview.
import { strict as assert } from 'node:assert';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startVSCode } from '../../scripts/harness/vscode.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const VSIX = process.env.ATTENTION_LENS_VSIX;

describe(`the panel in a 1000×700 window (${VSIX ? 'installed .vsix' : 'development folder'})`, function () {
  this.timeout(180_000);
  let vscode;
  let page;

  before(async () => {
    vscode = await startVSCode({
      ...(VSIX ? { installVsix: VSIX } : { extensionDevelopmentPath: root }),
      folder: join(root, 'test', 'fixtures', 'workspace'),
      viewport: { width: 1000, height: 700 },
      settings: {
        'attentionLens.model': join(root, 'test', 'fixtures', 'models', 'bert-tiny'),
        'attentionLens.dtype': 'fp32',
        'attentionLens.allowRemoteModels': false,
      },
    });
    page = vscode.page;
    await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
  });

  after(async () => {
    if (page) {
      mkdirSync(join(root, 'test-results'), { recursive: true });
      await page
        .screenshot({ path: join(root, 'test-results', VSIX ? 'narrow-window-vsix.png' : 'narrow-window.png') })
        .catch(() => undefined);
    }
    await vscode?.close();
  });

  it('shows the tokens, the focus bars and the first 5 heatmap rows without scrolling', async () => {
    await page.keyboard.press('Control+P');
    await page.locator('.quick-input-widget input').waitFor();
    await page.keyboard.type('sentences.txt');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'sentences.txt' }).first().click();
    await page.locator('.monaco-editor .view-lines').waitFor({ timeout: 30_000 });
    await page.locator('.view-line', { hasText: 'The animal' }).first().click();
    await page.keyboard.press('Home');
    await page.keyboard.press('Shift+End');
    await page.keyboard.press('F1');
    await page.locator('.quick-input-widget input').waitFor();
    await page.keyboard.type('Attention Lens: Show Attention');
    await page
      .locator('.quick-input-list .monaco-list-row', { hasText: 'Show Attention' })
      .first()
      .waitFor({ timeout: 30_000 });
    await page.keyboard.press('Enter');
    const panel = page.frameLocator('iframe.webview.ready').first().frameLocator('iframe#active-frame');
    await panel.locator('.token', { hasText: /^it$/ }).first().click({ timeout: 120_000 });
    await panel.locator('.barlist li').first().waitFor({ timeout: 20_000 });
    const layout = await panel.locator('body').evaluate(() => {
      const rect = (q) => document.querySelector(q).getBoundingClientRect();
      const canvas = document.querySelector('#heatmap');
      const n = document.querySelectorAll('.token').length;
      const top = canvas.getBoundingClientRect().top;
      const margin = Number(canvas.dataset.margin);
      const cell = Number(canvas.dataset.plot) / n;
      return {
        viewport: { width: window.innerWidth, height: window.innerHeight },
        scrolled: window.scrollY,
        tokens: rect('.tokens').bottom,
        bars: rect('.barlist').bottom,
        fiveRows: top + margin + 5 * cell,
      };
    });
    const h = layout.viewport.height;
    assert.equal(layout.scrolled, 0);
    assert.ok(layout.tokens <= h, `tokens end at ${layout.tokens} of ${h}: ${JSON.stringify(layout)}`);
    assert.ok(layout.bars <= h, `the focus bars end at ${layout.bars} of ${h}: ${JSON.stringify(layout)}`);
    assert.ok(layout.fiveRows <= h, `heatmap row 5 ends at ${layout.fiveRows} of ${h}: ${JSON.stringify(layout)}`);
  });
});
