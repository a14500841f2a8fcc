// The first screen at 1000×700 (issue 21): after Show Attention and a click on "it", the tokens, the focus token's
// bars and the first five rows of the heatmap are all in the panel's view without scrolling. Checked against their
// bounding rectangles inside the real webview.
import { strict as assert } from 'node:assert';
import { FLAVOUR, launch, screenshot, showAttentionOnFirstSentence } from './workbench.mjs';

describe(`the panel in a 1000×700 window (${FLAVOUR})`, function () {
  this.timeout(180_000);
  let vscode;

  before(async () => {
    vscode = await launch({ viewport: { width: 1000, height: 700 } });
  });

  after(async () => {
    await screenshot(vscode?.page, 'narrow-window');
    await vscode?.close();
  });

  it('shows the tokens, the focus bars and the first 5 heatmap rows without scrolling', async () => {
    const page = vscode.page;
    const panel = await showAttentionOnFirstSentence(page);
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
